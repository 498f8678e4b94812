//! GitHub Actions as a [`CiProvider`], and GitHub as a [`Forge`].
//!
//! # Design
//!
//! [`GithubClient`] speaks GitHub's REST API through octocrab's raw
//! `build_request`/`execute`, not its typed API: selfheal needs the status
//! and headers of every answer (rate limits, `Link`, `ETag`,
//! `X-OAuth-Scopes`) and a lenient reading of payloads, where octocrab's
//! models reject a whole page for one field GitHub left `null`. The JSON
//! selfheal reads is declared in `model.rs`, every field optional.
//!
//! **Respecting the API.** Every request goes through one loop (`http.rs`):
//! 5xx answers and dropped connections are retried with exponential backoff
//! (1 s, 2 s, 4 s, ...); 429s and rate-limit 403s are waited out as GitHub
//! asks (`Retry-After`, or `X-RateLimit-Reset` once `X-RateLimit-Remaining`
//! is 0, or a minute for a secondary limit that names no wait). Both are
//! bounded by [`RetryPolicy`]: at most `max_retries` retries, and no single
//! wait longer than `max_wait`; a rate limit that would need longer fails at
//! once, saying when to retry. `GET`s are conditional: the `ETag` of the
//! last identical request goes out as `If-None-Match`, and a 304 (which
//! GitHub does not count against the rate limit) is answered from memory.
//! octocrab's own retry layer and HTTP cache are off, so that each retry is
//! counted ([`GithubClient::stats`]) and each wait is bounded here.
//!
//! **Errors** are one line each, say what was being attempted, and name
//! what the user can change: 401 says the token is bad, 403 names the
//! permission the attempt needs (`actions: read` for runs and logs,
//! `pull-requests: write` to open pull requests, `issues: write` or
//! `pull-requests: write` to comment), and a 404 is checked against the
//! repository itself, so "repository not found or the token cannot see it"
//! is told apart from "no such run". They become
//! [`MonitorError::Provider`] at the trait boundary, with the HTTP status and
//! whether a retry may help.
//!
//! **The token** is sent only to the API host: octocrab adds it only to
//! requests for the base URL's authority, and its redirect policy drops
//! credentials on a redirect to another origin, so the short-lived URL the
//! run-logs endpoint redirects to is fetched without it (the tests check
//! this against a second listener). It is never logged and never part of an
//! error: texts that come from outside are scrubbed of it, and
//! [`GithubSettings`]'s `Debug` redacts it.
//!
//! **Logs** are streamed to a hidden file in `<repo>/.selfheal/logs/`, then
//! unpacked by [`OfflineCache::store_zip_file`] into `<run-id>/` with a
//! `run.json`, so a run fetched once replays offline exactly.
//!
//! **Finding failed runs** asks GitHub for completed runs (with the
//! branch, event and commit filters applied server-side) and keeps those whose conclusion
//! is repairable or reported and that [`RunFilter::matches`]; pages are
//! followed by their `Link` headers until `filter.limit` runs are found.
//! Listing by conclusion instead would take one query per conclusion, and
//! `startup_failure` is not among the values GitHub documents for its
//! `status` filter. Jobs are read by [`CiProvider::run`] only (`filter=latest`:
//! the jobs of the run's latest attempt), as listing them costs a request per run.

mod access;
mod error;
mod forge;
mod logs;
mod model;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use selfheal_monitor::{
    CiProvider, MonitorError, OfflineCache, REPAIRABLE_CONCLUSIONS, REPORTED_CONCLUSIONS, RunFilter,
};
use selfheal_types::RunInfo;
use serde_json::Value;

pub use access::AccessReport;
pub use error::GithubError;

use crate::transport::{Failure, Need, Reply, Transport, encode};

/// Permissions, in GitHub's fine-grained words, that requests need.
pub(crate) mod perm {
    pub const METADATA_READ: &str = "metadata: read";
    pub const ACTIONS_READ: &str = "actions: read";
    pub const PULLS_READ: &str = "pull-requests: read";
    pub const PULLS_WRITE: &str = "pull-requests: write";
    pub const COMMENTS_READ: &str = "issues: read or pull-requests: read";
    pub const COMMENTS_WRITE: &str = "issues: write or pull-requests: write";
    pub const ADMIN_READ: &str = "administration: read";
}

/// Most pages followed for one list; GitHub itself stops at 1000 results.
const MAX_PAGES: usize = 200;

/// How hard to try before giving up on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt, for 5xx, dropped connections and rate limits together.
    pub max_retries: u32,
    /// The longest single wait: backoff is capped at it, and a rate limit
    /// that asks for longer fails at once with the time to retry.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// Where GitHub is, which repository, and with what token.
#[derive(Clone)]
pub struct GithubSettings {
    /// `GITHUB_API_URL`: `https://api.github.com`, or a GHES URL with its
    /// path prefix (`https://ghe.example.com/api/v3`).
    pub api_url: String,
    /// `owner/name`.
    pub repository: String,
    pub token: Option<String>,
    /// The repository root: logs go to `OfflineCache::new(cache_root)`.
    pub cache_root: PathBuf,
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for GithubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubSettings")
            .field("api_url", &self.api_url)
            .field("repository", &self.repository)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cache_root", &self.cache_root)
            .field("retry", &self.retry)
            .finish()
    }
}

/// What the client has done so far, for progress lines and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Retries, for any reason.
    pub retries: u64,
    /// Retries that waited out a rate limit.
    pub rate_limit_waits: u64,
    /// Time spent waiting for rate limits.
    pub waited: Duration,
    /// `GET`s answered 304 and served from memory.
    pub not_modified: u64,
}

/// GitHub, for one repository.
pub struct GithubClient {
    transport: Transport,
    owner: String,
    name: String,
    /// `owner/name`, as given.
    repository: String,
    has_token: bool,
    cache: OfflineCache,
    cache_root: PathBuf,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient")
            .field("repository", &self.repository)
            .field("transport", &self.transport)
            .field("has_token", &self.has_token)
            .field("cache_root", &self.cache_root)
            .finish_non_exhaustive()
    }
}

fn valid_name_part(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A GitHub run id: digits only (it goes into URLs and file names).
pub(crate) fn check_run_id(id: &str) -> Result<(), GithubError> {
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(GithubError::Settings {
            setting: "run id",
            reason: format!("`{}` is not a GitHub run id", id.escape_debug()),
            hint: "pass the number from the run's URL (.../actions/runs/<id>)",
        })
    }
}

impl GithubClient {
    /// Checks the settings and prepares the HTTP client; nothing is sent
    /// yet. Must be called within a Tokio runtime (octocrab starts a
    /// background task for its connection pool).
    pub fn new(settings: GithubSettings) -> Result<Self, GithubError> {
        let (owner, name) = settings
            .repository
            .trim()
            .split_once('/')
            .filter(|(o, n)| valid_name_part(o) && valid_name_part(n))
            .ok_or_else(|| GithubError::Settings {
                setting: "repository",
                reason: format!("`{}` is not owner/name", settings.repository.escape_debug()),
                hint: "give the repository as owner/name, e.g. octo-org/widgets",
            })?;
        let api_url = settings.api_url.trim().trim_end_matches('/').to_owned();
        let bad_url = |reason: String| GithubError::Settings {
            setting: "api_url",
            reason,
            hint: "set GITHUB_API_URL to https://api.github.com, or to your GHES URL ending in /api/v3",
        };
        let uri: ::http::Uri = api_url
            .parse()
            .map_err(|e| bad_url(format!("`{api_url}` is not a URL: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(bad_url(format!("`{api_url}` is not an http(s) URL")));
        }
        if uri.query().is_some() {
            return Err(bad_url(format!("`{api_url}` has a query string")));
        }
        let token = settings
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if let Some(token) = &token {
            // octocrab would panic on a token that cannot be a header value.
            let printable = token.bytes().all(|b| b.is_ascii_graphic());
            if !printable {
                return Err(GithubError::Settings {
                    setting: "token",
                    reason: "the token contains spaces, line breaks or non-ASCII characters"
                        .to_owned(),
                    hint: "copy the token again, without surrounding text",
                });
            }
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(GithubError::Settings {
                setting: "runtime",
                reason: "the GitHub client must be created inside a Tokio runtime".to_owned(),
                hint: "create it from async code",
            });
        }
        let scrub = |text: String| match &token {
            Some(t) => text.replace(t.as_str(), "<redacted>"),
            None => text,
        };
        let mut builder = Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|e| bad_url(scrub(format!("`{api_url}`: {e}"))))?
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(15)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .set_write_timeout(Some(Duration::from_secs(60)));
        if let Some(token) = &token {
            builder = builder.personal_token(token.clone());
        }
        let octo = builder.build().map_err(|e| GithubError::Settings {
            setting: "api_url",
            reason: scrub(format!("cannot prepare the HTTP client: {e}")),
            hint: "check GITHUB_API_URL",
        })?;
        Ok(Self {
            transport: Transport::new(octo, api_url, token.clone(), settings.retry),
            owner: owner.to_owned(),
            name: name.to_owned(),
            repository: format!("{owner}/{name}"),
            has_token: token.is_some(),
            cache: OfflineCache::new(&settings.cache_root),
            cache_root: settings.cache_root,
        })
    }

    /// Downloaded logs go through `filter` before they land in the offline
    /// cache (the CLI redacts secrets there).
    #[must_use]
    pub fn with_log_filter(mut self, filter: selfheal_monitor::TextFilter) -> Self {
        self.cache = self.cache.with_filter(filter);
        self
    }

    /// `owner/name`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Requests, retries and waits so far.
    pub fn stats(&self) -> ClientStats {
        self.transport.stats()
    }

    /// `/repos/{owner}/{name}` followed by `rest`.
    fn repo_path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}{rest}",
            encode(&self.owner),
            encode(&self.name)
        )
    }

    /// Turns a failed request into an error that says what to do. `missing`
    /// names what a 404 means when the repository itself exists; `None`
    /// when the request was for the repository.
    async fn fail(&self, failure: Failure, need: &Need, missing: Option<&str>) -> GithubError {
        let refusal = match failure {
            Failure::Final(error) => return error,
            Failure::Refused(refusal) => refusal,
        };
        match refusal.status {
            401 if self.has_token => GithubError::Unauthorized {
                action: need.action.clone(),
            },
            401 => GithubError::TokenMissing {
                action: need.action.clone(),
                permission: need.permission,
            },
            403 => GithubError::Forbidden {
                action: need.action.clone(),
                hint: forbidden_hint(need, &refusal.message),
                message: refusal.message,
            },
            404 => match missing {
                Some(what) if self.repository_visible().await != Some(false) => {
                    GithubError::NotFound {
                        action: need.action.clone(),
                        what: what.to_owned(),
                    }
                }
                _ => GithubError::RepoNotFound {
                    repository: self.repository.clone(),
                },
            },
            status => GithubError::Rejected {
                action: need.action.clone(),
                status,
                message: refusal.message,
            },
        }
    }

    /// Whether the token can see the repository: `None` when that cannot be told.
    async fn repository_visible(&self) -> Option<bool> {
        let need = Need::new("read the repository", perm::METADATA_READ);
        match self.transport.get(&self.repo_path(""), &need).await {
            Ok(_) => Some(true),
            Err(Failure::Refused(r)) if r.status == 404 => Some(false),
            Err(_) => None,
        }
    }

    /// A `GET` of one JSON document.
    async fn get_json(
        &self,
        uri: &str,
        need: &Need,
        missing: Option<&str>,
    ) -> Result<(Value, Reply<bytes::Bytes>), GithubError> {
        match self.transport.get(uri, need).await {
            Ok(reply) => Ok((reply.json(&need.action)?, reply)),
            Err(failure) => Err(self.fail(failure, need, missing).await),
        }
    }

    /// A write with a JSON body, answered with one JSON document.
    async fn send_json(
        &self,
        method: ::http::Method,
        uri: &str,
        body: &Value,
        need: &Need,
        missing: Option<&str>,
    ) -> Result<Value, GithubError> {
        match self.transport.send(method, uri, body, need).await {
            Ok(reply) => reply.json(&need.action),
            Err(failure) => Err(self.fail(failure, need, missing).await),
        }
    }

    /// Every page of a list, from `first` on by the `Link` headers.
    /// `on_page` gets each page's JSON and says whether to go on.
    async fn each_page(
        &self,
        first: String,
        need: &Need,
        missing: Option<&str>,
        mut on_page: impl FnMut(Value) -> Result<bool, GithubError>,
    ) -> Result<(), GithubError> {
        let mut uri = first;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            if !seen.insert(uri.clone()) {
                break;
            }
            let (value, reply) = self.get_json(&uri, need, missing).await?;
            if !on_page(value)? {
                break;
            }
            match reply.next_link() {
                Some(next) => uri = next,
                None => break,
            }
        }
        Ok(())
    }

    /// The repository payload (`GET /repos/{o}/{r}`) and the headers it came with.
    async fn repository_json(&self) -> Result<(Value, Reply<bytes::Bytes>), GithubError> {
        let need = Need::new("read the repository", perm::METADATA_READ);
        self.get_json(&self.repo_path(""), &need, None).await
    }

    async fn run_info(&self, id: &str) -> Result<RunInfo, GithubError> {
        check_run_id(id)?;
        let need = Need::new(format!("read run {id}"), perm::ACTIONS_READ);
        let what = format!("run {id} in {}", self.repository);
        let (value, _) = self
            .get_json(
                &self.repo_path(&format!("/actions/runs/{id}")),
                &need,
                Some(&what),
            )
            .await?;
        let run: model::Run = decode(value, &need)?;
        let mut info = run.into_info().ok_or_else(|| GithubError::Decode {
            action: need.action.clone(),
            reason: "the run has no id".to_owned(),
        })?;
        let need = Need::new(format!("list the jobs of run {id}"), perm::ACTIONS_READ);
        let mut jobs = Vec::new();
        self.each_page(
            self.repo_path(&format!(
                "/actions/runs/{id}/jobs?filter=latest&per_page=100"
            )),
            &need,
            Some(&what),
            |value| {
                let page: model::JobList = decode(value, &need)?;
                let more = !page.jobs.is_empty();
                jobs.extend(page.jobs.into_iter().filter_map(model::Job::into_info));
                Ok(more)
            },
        )
        .await?;
        info.jobs = jobs;
        Ok(info)
    }

    async fn list_failed_runs(&self, filter: &RunFilter) -> Result<Vec<RunInfo>, GithubError> {
        let mut query = String::from("?status=completed&per_page=100");
        for (key, value) in [
            ("branch", &filter.branch),
            ("event", &filter.event),
            ("head_sha", &filter.head_sha),
        ] {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                query = query + "&" + key + "=" + &encode(value);
            }
        }
        let need = Need::new("list workflow runs", perm::ACTIONS_READ);
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut runs: Vec<RunInfo> = Vec::new();
        if limit == 0 {
            return Ok(runs);
        }
        self.each_page(
            self.repo_path(&format!("/actions/runs{query}")),
            &need,
            Some("workflow runs"),
            |value| {
                let page: model::RunList = decode(value, &need)?;
                let more = !page.workflow_runs.is_empty();
                for run in page.workflow_runs {
                    let Some(info) = run.into_info() else {
                        continue;
                    };
                    let wanted = info.conclusion.as_deref().is_some_and(|c| {
                        REPAIRABLE_CONCLUSIONS.contains(&c) || REPORTED_CONCLUSIONS.contains(&c)
                    });
                    if wanted && filter.matches(&info) && !runs.iter().any(|r| r.id == info.id) {
                        runs.push(info);
                    }
                }
                // Pages come newest first: once `limit` runs are in, later pages hold older ones.
                Ok(more && runs.len() < limit)
            },
        )
        .await?;
        sort_newest_first(&mut runs);
        runs.truncate(limit);
        Ok(runs)
    }
}

/// Newest first: later `created_at`, then the larger run id (GitHub's ids grow with time).
fn sort_newest_first(runs: &mut [RunInfo]) {
    runs.sort_by(|a, b| {
        b.created_at.cmp(&a.created_at).then_with(|| {
            let (x, y) = (a.id.parse::<u64>().ok(), b.id.parse::<u64>().ok());
            y.cmp(&x)
        })
    });
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    value: Value,
    need: &Need,
) -> Result<T, GithubError> {
    serde_json::from_value(value).map_err(|e| GithubError::Decode {
        action: need.action.clone(),
        reason: e.to_string(),
    })
}

/// What to do about a 403 that is not a rate limit.
fn forbidden_hint(need: &Need, message: &str) -> String {
    if message
        .to_ascii_lowercase()
        .contains("not permitted to create or approve pull requests")
    {
        return "allow it in the repository's Settings > Actions > General > Workflow permissions (\"Allow GitHub Actions to create and approve pull requests\"), or publish with a personal access token".to_owned();
    }
    format!(
        "the token needs `{}` on this repository (classic tokens: the `repo` scope; in a workflow: a `permissions:` entry)",
        need.permission
    )
}

#[async_trait::async_trait]
impl CiProvider for GithubClient {
    fn name(&self) -> &'static str {
        "github"
    }

    async fn failed_runs(&self, filter: &RunFilter) -> Result<Vec<RunInfo>, MonitorError> {
        Ok(self.list_failed_runs(filter).await?)
    }

    async fn run(&self, id: &str) -> Result<RunInfo, MonitorError> {
        Ok(self.run_info(id.trim()).await?)
    }

    async fn fetch_logs(&self, run: &RunInfo) -> Result<PathBuf, MonitorError> {
        Ok(self.download_logs(run).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(repository: &str, token: Option<&str>) -> GithubSettings {
        GithubSettings {
            api_url: "https://api.github.com".to_owned(),
            repository: repository.to_owned(),
            token: token.map(str::to_owned),
            cache_root: PathBuf::from("/nonexistent"),
            retry: RetryPolicy::default(),
        }
    }

    #[test]
    fn debug_of_settings_redacts_the_token() {
        let text = format!("{:?}", settings("o/r", Some("ghp_secret123")));
        assert!(!text.contains("ghp_secret123"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[tokio::test]
    async fn settings_are_checked_before_anything_is_sent() {
        for bad in ["widgets", "o/r/x", "/r", "o/", "o r/x", "../x"] {
            let error = GithubClient::new(settings(bad, None)).expect_err(bad);
            assert!(
                error
                    .to_string()
                    .starts_with("invalid github setting repository:"),
                "{error}"
            );
        }
        let mut s = settings("o/r", None);
        s.api_url = "ftp://example.com".to_owned();
        assert!(GithubClient::new(s).is_err());
        let error = GithubClient::new(settings("o/r", Some("ghp_a b\n"))).expect_err("spaces");
        assert!(!error.to_string().contains("ghp_a"), "{error}");
        assert!(GithubClient::new(settings("octo-org/my.repo_1", Some(" ghp_ok "))).is_ok());
    }

    #[test]
    fn run_ids_are_digits_only() {
        assert!(check_run_id("123").is_ok());
        for bad in ["", "12a", "../1", "1/2", "１２"] {
            assert!(check_run_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn newest_first_by_time_then_id() {
        let run = |id: &str, at: &str| RunInfo {
            id: id.to_owned(),
            created_at: Some(at.to_owned()),
            ..RunInfo::default()
        };
        let mut runs = vec![
            run("9", "2026-01-01T00:00:00Z"),
            run("10", "2026-01-01T00:00:00Z"),
            run("2", "2026-02-01T00:00:00Z"),
        ];
        sort_newest_first(&mut runs);
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["2", "10", "9"]);
    }
}
