//! A stateful fake of GitHub's REST API on loopback, for tests.
//!
//! [`FakeHub`] listens on two ports of 127.0.0.1. The first answers like
//! `api.github.com` (optionally below a GHES-style path prefix such as
//! `/api/v3`); the second plays the blob store that GitHub redirects run-log
//! downloads to, so a test can see which headers reached that other host
//! (GitHub's short-lived log URLs must be fetched without credentials, and a
//! client that forwards its token there leaks it).
//!
//! The server runs on its own thread with its own Tokio runtime. That makes
//! it usable the same way from `#[tokio::test]` functions, from plain
//! `#[test]` functions, and from tests that start the `selfheal` binary as a
//! subprocess with `GITHUB_API_URL` pointing at [`FakeHub::url`]. Dropping
//! the `FakeHub` stops the server.
//!
//! Payloads are complete GitHub-shaped JSON (every URL field, nested
//! `repository`, `head_commit`, users, ...), because clients such as
//! octocrab deserialize strictly; this crate's own tests check them against
//! octocrab's models. State lives behind one mutex: tests set it up with the
//! builder, change it while running ([`FakeHub::add_run`],
//! [`FakeHub::fail_next`]), and read it afterwards ([`FakeHub::pull_requests`],
//! [`FakeHub::comments`], [`FakeHub::requests`]).
//!
//! What is modelled, and how:
//!
//! - **Authentication.** Tokens are configured with [`FakeToken`]; a request
//!   with no or an unknown token gets GitHub's 401 body. Each token has a
//!   [`Permissions`] set (classic tokens derive theirs from their scopes and
//!   report them in `X-OAuth-Scopes`); a write the token may not do answers
//!   403 "Resource not accessible by ...". Installation tokens (the Actions
//!   `GITHUB_TOKEN`) get 403 on `GET /user`, and may not open pull requests
//!   unless the repository's workflow permissions allow it.
//! - **Lists** are paginated (`per_page`, default 30, at most 100; `page`)
//!   with `Link` headers (`next`, `last`, `first`, `prev`), newest first.
//! - **Conditional requests.** Every `GET` answered 200 carries an `ETag`;
//!   a repeat with a matching `If-None-Match` gets 304 with no body.
//! - **Faults.** [`Fault`]s queued for a path answer the next requests to it
//!   (429 with `Retry-After`, secondary-rate-limit 403s, 502, a dropped
//!   connection) before anything else is looked at.

// `json!` of a full repository or pull request nests deeper than the default allows.
#![recursion_limit = "256"]

mod api;
mod json;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// What a token may do to one area of the repository.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    #[default]
    None,
    Read,
    Write,
}

/// A token's permissions on the repository, by area (GitHub's fine-grained names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Runs, jobs and their logs (`actions`).
    pub actions: Access,
    /// Code (`contents`); `Write` shows as `permissions.push` in the repository payload.
    pub contents: Access,
    pub pull_requests: Access,
    /// Issues, and comments on issues (`pull_requests` also allows comments on pull requests).
    pub issues: Access,
    /// Repository settings such as the Actions workflow permissions (`administration`).
    pub administration: Access,
}

impl Permissions {
    /// Everything, written too.
    pub fn all_write() -> Self {
        Self {
            actions: Access::Write,
            contents: Access::Write,
            pull_requests: Access::Write,
            issues: Access::Write,
            administration: Access::Write,
        }
    }

    /// Everything readable, nothing writable.
    pub fn read_only() -> Self {
        Self {
            actions: Access::Read,
            contents: Access::Read,
            pull_requests: Access::Read,
            issues: Access::Read,
            administration: Access::Read,
        }
    }

    /// Only reading Actions runs and logs (plus repository metadata, which every token has).
    pub fn actions_read() -> Self {
        Self {
            actions: Access::Read,
            ..Self::default()
        }
    }
}

/// The kind of token, which decides how GitHub words some answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A classic personal access token: its scopes come back in `X-OAuth-Scopes`.
    Classic { scopes: Vec<String> },
    /// A fine-grained personal access token.
    FineGrained,
    /// A GitHub App installation token, such as Actions' `GITHUB_TOKEN`:
    /// `GET /user` is forbidden to it.
    Installation,
}

/// One accepted token: who it belongs to, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeToken {
    /// The user `GET /user` reports, and the author of what the token creates.
    pub login: String,
    pub kind: TokenKind,
    pub permissions: Permissions,
}

impl FakeToken {
    /// A classic token. With the `repo` scope it may do everything (its
    /// owner is taken to be an admin of the repository); without, it may
    /// only read.
    pub fn classic(login: &str, scopes: &[&str]) -> Self {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let permissions = if scopes.iter().any(|s| s == "repo") {
            Permissions::all_write()
        } else {
            Permissions::read_only()
        };
        Self {
            login: login.to_owned(),
            kind: TokenKind::Classic { scopes },
            permissions,
        }
    }

    pub fn fine_grained(login: &str, permissions: Permissions) -> Self {
        Self {
            login: login.to_owned(),
            kind: TokenKind::FineGrained,
            permissions,
        }
    }

    /// An installation token; what it creates is authored by `github-actions[bot]`.
    pub fn installation(permissions: Permissions) -> Self {
        Self {
            login: "github-actions[bot]".to_owned(),
            kind: TokenKind::Installation,
            permissions,
        }
    }
}

/// A canned failure for the next requests to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: <seconds>`.
    TooManyRequests { retry_after: u64 },
    /// 403 with `retry-after: <seconds>` and GitHub's secondary-rate-limit message.
    SecondaryRateLimit { retry_after: u64 },
    /// 403 with `X-RateLimit-Remaining: 0` and a reset `reset_in` seconds from now.
    RateLimitExhausted { reset_in: u64 },
    /// 502 with GitHub's plain "Bad Gateway" page.
    BadGateway,
    /// Any status, with GitHub's JSON error body.
    Status(u16),
    /// Any status, with GitHub's JSON error body carrying this message.
    Message { status: u16, message: &'static str },
    /// The connection is closed without an answer.
    Disconnect,
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeStep {
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
}

impl FakeStep {
    /// A completed, successful step.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            status: "completed".to_owned(),
            conclusion: Some("success".to_owned()),
        }
    }

    #[must_use]
    pub fn conclusion(mut self, conclusion: &str) -> Self {
        self.conclusion = Some(conclusion.to_owned());
        self
    }

    #[must_use]
    pub fn failed(self) -> Self {
        self.conclusion("failure")
    }
}

/// One job of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeJob {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub steps: Vec<FakeStep>,
}

impl FakeJob {
    /// A completed, successful job with no steps.
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            status: "completed".to_owned(),
            conclusion: Some("success".to_owned()),
            steps: Vec::new(),
        }
    }

    #[must_use]
    pub fn conclusion(mut self, conclusion: &str) -> Self {
        self.conclusion = Some(conclusion.to_owned());
        self
    }

    #[must_use]
    pub fn failed(self) -> Self {
        self.conclusion("failure")
    }

    /// Adds a step; steps are numbered from 1 in the order added.
    #[must_use]
    pub fn step(mut self, step: FakeStep) -> Self {
        self.steps.push(step);
        self
    }
}

/// A pull request a run belongs to, as the run payload lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRunPull {
    pub number: u64,
    pub head_branch: String,
    pub base_branch: String,
}

/// What became of a run's logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeLogs {
    /// Never uploaded: the logs endpoint answers 404.
    Missing,
    /// The run-logs zip GitHub would serve.
    Zip(Vec<u8>),
    /// Past retention: the logs endpoint answers 410.
    Expired,
}

/// A workflow run. Every field has a plausible default; set what the test is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRun {
    pub id: u64,
    /// The workflow's name (`CI`).
    pub name: String,
    /// The workflow file (`.github/workflows/ci.yml`).
    pub path: String,
    pub head_branch: String,
    pub head_sha: String,
    pub event: String,
    /// `queued`, `in_progress`, `completed`, ...
    pub status: String,
    /// `failure`, `success`, ...; `None` until completed.
    pub conclusion: Option<String>,
    /// RFC 3339; runs list newest first by this, then by id.
    pub created_at: String,
    pub run_attempt: u32,
    pub run_number: u64,
    /// `owner/name` of a fork the head commit lives in; `None`: the repository itself.
    pub head_repository: Option<String>,
    pub author_name: String,
    pub author_email: String,
    pub commit_message: String,
    pub pull_requests: Vec<FakeRunPull>,
    pub jobs: Vec<FakeJob>,
    pub logs: FakeLogs,
}

impl FakeRun {
    /// A completed, failed `push` run of `CI` on `main`, created `id`
    /// seconds after 2026-01-01, so that larger ids are newer.
    pub fn new(id: u64) -> Self {
        Self {
            id,
            name: "CI".to_owned(),
            path: ".github/workflows/ci.yml".to_owned(),
            head_branch: "main".to_owned(),
            head_sha: json::fake_sha(id),
            event: "push".to_owned(),
            status: "completed".to_owned(),
            conclusion: Some("failure".to_owned()),
            created_at: json::time_from_seed(id),
            run_attempt: 1,
            run_number: id,
            head_repository: None,
            author_name: "Mona Lisa".to_owned(),
            author_email: "mona@example.com".to_owned(),
            commit_message: "Change things".to_owned(),
            pull_requests: Vec::new(),
            jobs: Vec::new(),
            logs: FakeLogs::Missing,
        }
    }

    /// The workflow's name and file.
    #[must_use]
    pub fn workflow(mut self, name: &str, path: &str) -> Self {
        name.clone_into(&mut self.name);
        path.clone_into(&mut self.path);
        self
    }

    #[must_use]
    pub fn head_branch(mut self, branch: &str) -> Self {
        branch.clone_into(&mut self.head_branch);
        self
    }

    #[must_use]
    pub fn head_sha(mut self, sha: &str) -> Self {
        sha.clone_into(&mut self.head_sha);
        self
    }

    #[must_use]
    pub fn event(mut self, event: &str) -> Self {
        event.clone_into(&mut self.event);
        self
    }

    /// A completed run with this conclusion.
    #[must_use]
    pub fn conclusion(mut self, conclusion: &str) -> Self {
        "completed".clone_into(&mut self.status);
        self.conclusion = Some(conclusion.to_owned());
        self
    }

    /// A run with this status and no conclusion yet (`in_progress`, `queued`).
    #[must_use]
    pub fn pending(mut self, status: &str) -> Self {
        status.clone_into(&mut self.status);
        self.conclusion = None;
        self
    }

    #[must_use]
    pub fn created_at(mut self, rfc3339: &str) -> Self {
        rfc3339.clone_into(&mut self.created_at);
        self
    }

    #[must_use]
    pub fn run_attempt(mut self, attempt: u32) -> Self {
        self.run_attempt = attempt;
        self
    }

    /// The head commit lives in this fork (`owner/name`).
    #[must_use]
    pub fn head_repository(mut self, full_name: &str) -> Self {
        self.head_repository = Some(full_name.to_owned());
        self
    }

    /// The head commit's author.
    #[must_use]
    pub fn author(mut self, name: &str, email: &str) -> Self {
        name.clone_into(&mut self.author_name);
        email.clone_into(&mut self.author_email);
        self
    }

    #[must_use]
    pub fn commit_message(mut self, message: &str) -> Self {
        message.clone_into(&mut self.commit_message);
        self
    }

    /// The run belongs to pull request `number` from `head_branch` into `base_branch`.
    #[must_use]
    pub fn pull_request(mut self, number: u64, head_branch: &str, base_branch: &str) -> Self {
        self.pull_requests.push(FakeRunPull {
            number,
            head_branch: head_branch.to_owned(),
            base_branch: base_branch.to_owned(),
        });
        self
    }

    #[must_use]
    pub fn job(mut self, job: FakeJob) -> Self {
        self.jobs.push(job);
        self
    }

    /// The run-logs zip the logs endpoint serves (see [`logs_zip`]).
    #[must_use]
    pub fn logs_zip(mut self, zip: Vec<u8>) -> Self {
        self.logs = FakeLogs::Zip(zip);
        self
    }

    /// The logs are past retention: 410 Gone.
    #[must_use]
    pub fn logs_expired(mut self) -> Self {
        self.logs = FakeLogs::Expired;
        self
    }
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePull {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head_branch: String,
    pub head_sha: String,
    /// `owner/name` the head branch lives in; `None`: the repository itself.
    pub head_repository: Option<String>,
    pub base_branch: String,
    /// `open` or `closed`.
    pub state: String,
    pub draft: bool,
    pub labels: Vec<String>,
    /// Who opened it.
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
}

impl FakePull {
    /// An open pull request from `head_branch` into `main`.
    pub fn new(number: u64, head_branch: &str) -> Self {
        let created = json::time_from_seed(number * 60);
        Self {
            number,
            title: format!("Pull request {number}"),
            body: String::new(),
            head_branch: head_branch.to_owned(),
            head_sha: json::fake_sha(number.wrapping_mul(7919)),
            head_repository: None,
            base_branch: "main".to_owned(),
            state: "open".to_owned(),
            draft: false,
            labels: Vec::new(),
            author: "octocat".to_owned(),
            created_at: created.clone(),
            updated_at: created,
        }
    }

    #[must_use]
    pub fn title(mut self, title: &str) -> Self {
        title.clone_into(&mut self.title);
        self
    }

    #[must_use]
    pub fn body(mut self, body: &str) -> Self {
        body.clone_into(&mut self.body);
        self
    }

    #[must_use]
    pub fn base(mut self, branch: &str) -> Self {
        branch.clone_into(&mut self.base_branch);
        self
    }

    #[must_use]
    pub fn head_sha(mut self, sha: &str) -> Self {
        sha.clone_into(&mut self.head_sha);
        self
    }

    /// The head branch lives in this fork (`owner/name`).
    #[must_use]
    pub fn head_repository(mut self, full_name: &str) -> Self {
        self.head_repository = Some(full_name.to_owned());
        self
    }

    #[must_use]
    pub fn closed(mut self) -> Self {
        "closed".clone_into(&mut self.state);
        self
    }

    #[must_use]
    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }

    #[must_use]
    pub fn author(mut self, login: &str) -> Self {
        login.clone_into(&mut self.author);
        self
    }

    #[must_use]
    pub fn created_at(mut self, rfc3339: &str) -> Self {
        rfc3339.clone_into(&mut self.created_at);
        rfc3339.clone_into(&mut self.updated_at);
        self
    }
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeComment {
    pub id: u64,
    /// The issue or pull request number.
    pub issue: u64,
    pub author: String,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A request as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path below the API prefix (`/repos/o/r/pulls`); on the download
    /// host, the path as sent.
    pub path: String,
    /// The raw query string, empty when there was none.
    pub query: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status the fake answered with (0: the connection was dropped).
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The decoded value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        api::query_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Everything sent (request line, headers, body) as one lossy string,
    /// for asserting that a secret appears nowhere in it.
    pub fn text(&self) -> String {
        let mut text = format!("{} {}?{}\n", self.method, self.path, self.query);
        for (name, value) in &self.headers {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value);
            text.push('\n');
        }
        text.push_str(&String::from_utf8_lossy(&self.body));
        text
    }
}

/// The repository's Actions workflow permissions
/// (`GET /repos/{o}/{r}/actions/permissions/workflow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowPermissions {
    /// `read` or `write`.
    pub default_workflow_permissions: String,
    /// Whether workflows (their `GITHUB_TOKEN`) may create and approve pull requests.
    pub can_approve_pull_request_reviews: bool,
}

/// Everything the fake knows; one mutex guards it.
#[derive(Debug)]
pub(crate) struct State {
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub private: bool,
    pub missing: bool,
    pub tokens: Vec<(String, FakeToken)>,
    pub anonymous: Option<Permissions>,
    pub workflow_permissions: WorkflowPermissions,
    pub runs: Vec<FakeRun>,
    pub pulls: Vec<FakePull>,
    pub comments: Vec<FakeComment>,
    pub next_comment_id: u64,
    pub faults: Vec<(String, Fault)>,
    pub requests: Vec<RecordedRequest>,
    pub downloads: Vec<RecordedRequest>,
    /// Download nonce → (run id, expiry as Unix seconds).
    pub download_links: HashMap<String, (u64, i64)>,
    pub link_counter: u64,
    pub rate_used: HashMap<String, u32>,
}

/// Sets up a [`FakeHub`]; [`FakeHubBuilder::start`] starts it.
#[derive(Debug)]
pub struct FakeHubBuilder {
    state: State,
    prefix: String,
}

impl FakeHubBuilder {
    #[must_use]
    pub fn default_branch(mut self, branch: &str) -> Self {
        branch.clone_into(&mut self.state.default_branch);
        self
    }

    #[must_use]
    pub fn private(mut self, private: bool) -> Self {
        self.state.private = private;
        self
    }

    /// Serves the API below this path, as GitHub Enterprise Server does (`/api/v3`).
    #[must_use]
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.prefix = format!("/{}", prefix.trim_matches('/'));
        if self.prefix == "/" {
            self.prefix.clear();
        }
        self
    }

    /// Accepts `token` (sent as `Authorization: Bearer <token>` or `token <token>`).
    #[must_use]
    pub fn token(mut self, token: &str, spec: FakeToken) -> Self {
        self.state.tokens.push((token.to_owned(), spec));
        self
    }

    /// Answers requests without a token with these permissions (a public
    /// repository); without this they get 401.
    #[must_use]
    pub fn anonymous(mut self, permissions: Permissions) -> Self {
        self.state.anonymous = Some(permissions);
        self
    }

    /// The repository does not exist: everything below `/repos/{o}/{r}` answers 404.
    #[must_use]
    pub fn repository_missing(mut self) -> Self {
        self.state.missing = true;
        self
    }

    #[must_use]
    pub fn workflow_permissions(mut self, default: &str, can_create_pull_requests: bool) -> Self {
        self.state.workflow_permissions = WorkflowPermissions {
            default_workflow_permissions: default.to_owned(),
            can_approve_pull_request_reviews: can_create_pull_requests,
        };
        self
    }

    #[must_use]
    pub fn run(mut self, run: FakeRun) -> Self {
        self.state.runs.push(run);
        self
    }

    #[must_use]
    pub fn pull_request(mut self, pull: FakePull) -> Self {
        self.state.pulls.push(pull);
        self
    }

    /// A comment by `author` on issue or pull request `issue`.
    #[must_use]
    pub fn comment(mut self, issue: u64, author: &str, body: &str) -> Self {
        api::push_comment(&mut self.state, issue, author, body);
        self
    }

    /// The next `count` requests to `path` (below the prefix, no query) answer with `fault`.
    #[must_use]
    pub fn fault(mut self, path: &str, count: usize, fault: Fault) -> Self {
        for _ in 0..count {
            self.state.faults.push((path.to_owned(), fault));
        }
        self
    }

    /// Binds both listeners on 127.0.0.1 and starts serving.
    pub fn start(self) -> std::io::Result<FakeHub> {
        server::start(self.state, self.prefix)
    }
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    /// `http://127.0.0.1:PORT` + prefix, no trailing slash.
    pub api_url: String,
    pub prefix: String,
    pub downloads_url: String,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide what it recorded.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The running fake; stops when dropped.
pub struct FakeHub {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    downloads_addr: SocketAddr,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeHub")
            .field("api_url", &self.shared.api_url)
            .field("downloads_url", &self.shared.downloads_url)
            .finish_non_exhaustive()
    }
}

impl FakeHub {
    /// A fake of repository `owner/name`, default branch `main`, no tokens yet.
    pub fn builder(repository: &str) -> FakeHubBuilder {
        let (owner, name) = repository.split_once('/').unwrap_or(("octo", repository));
        FakeHubBuilder {
            state: State {
                owner: owner.to_owned(),
                name: name.to_owned(),
                default_branch: "main".to_owned(),
                private: false,
                missing: false,
                tokens: Vec::new(),
                anonymous: None,
                workflow_permissions: WorkflowPermissions {
                    default_workflow_permissions: "read".to_owned(),
                    can_approve_pull_request_reviews: false,
                },
                runs: Vec::new(),
                pulls: Vec::new(),
                comments: Vec::new(),
                next_comment_id: 1_000_001,
                faults: Vec::new(),
                requests: Vec::new(),
                downloads: Vec::new(),
                download_links: HashMap::new(),
                link_counter: 0,
                rate_used: HashMap::new(),
            },
            prefix: String::new(),
        }
    }

    /// The API's base URL (with the prefix, no trailing slash): what `GITHUB_API_URL` should be.
    pub fn url(&self) -> String {
        self.shared.api_url.clone()
    }

    /// The base URL of the download host that log redirects point to.
    pub fn downloads_url(&self) -> String {
        self.shared.downloads_url.clone()
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    pub fn downloads_addr(&self) -> SocketAddr {
        self.downloads_addr
    }

    /// Every request to the API, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests to the API with this method and path (below the prefix).
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .cloned()
            .collect()
    }

    /// Every request to the download host.
    pub fn download_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().downloads.clone()
    }

    /// All pull requests, lowest number first.
    pub fn pull_requests(&self) -> Vec<FakePull> {
        let mut pulls = self.shared.lock().pulls.clone();
        pulls.sort_by_key(|p| p.number);
        pulls
    }

    /// Comments on issue or pull request `issue`, oldest first.
    pub fn comments(&self, issue: u64) -> Vec<FakeComment> {
        self.shared
            .lock()
            .comments
            .iter()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect()
    }

    pub fn runs(&self) -> Vec<FakeRun> {
        self.shared.lock().runs.clone()
    }

    /// Adds a run (or replaces the one with its id).
    pub fn add_run(&self, run: FakeRun) {
        let mut state = self.shared.lock();
        state.runs.retain(|r| r.id != run.id);
        state.runs.push(run);
    }

    /// Adds a pull request (or replaces the one with its number).
    pub fn add_pull_request(&self, pull: FakePull) {
        let mut state = self.shared.lock();
        state.pulls.retain(|p| p.number != pull.number);
        state.pulls.push(pull);
    }

    /// The next `count` requests to `path` (below the prefix, no query) answer with `fault`.
    pub fn fail_next(&self, path: &str, count: usize, fault: Fault) {
        let mut state = self.shared.lock();
        for _ in 0..count {
            state.faults.push((path.to_owned(), fault));
        }
    }

    /// Forgets the recorded requests (API and download host).
    pub fn clear_requests(&self) {
        let mut state = self.shared.lock();
        state.requests.clear();
        state.downloads.clear();
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A run-logs zip in GitHub's layout from `(path, text)` pairs, e.g.
/// `("build/2_Run tests.txt", "...")` and `("0_build.txt", "...")`.
pub fn logs_zip(files: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, text) in files {
        writer
            .start_file(*path, options)
            .expect("writing a zip to memory cannot fail");
        writer
            .write_all(text.as_bytes())
            .expect("writing a zip to memory cannot fail");
    }
    writer
        .finish()
        .expect("writing a zip to memory cannot fail")
        .into_inner()
}
