//! Routing and the endpoints: what GitHub would answer, computed from [`State`].

use serde_json::{Value, json};

use crate::json;
use crate::{
    Access, FakeComment, FakeLogs, FakePull, FakeToken, Fault, Permissions, RecordedRequest,
    Shared, State, TokenKind,
};

const DOCS: &str = "https://docs.github.com/rest";
/// How long a log download link stays valid, as GitHub's do (about a minute).
const LINK_TTL_SECS: i64 = 60;

/// A request, read in full.
pub(crate) struct Incoming {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<String> {
        query_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn json_body(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What to send back.
pub(crate) enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Drop,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Self {
        Reply::Answer {
            status,
            headers: vec![(
                "content-type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            )],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    fn error(status: u16, message: &str, doc: &str) -> Self {
        Reply::json(status, &json::error(message, doc, status))
    }

    fn not_found() -> Self {
        Reply::error(404, "Not Found", DOCS)
    }

    fn status(&self) -> u16 {
        match self {
            Reply::Answer { status, .. } => *status,
            Reply::Drop => 0,
        }
    }

    fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Answer { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// `a=1&b=x%20y` → `[("a","1"),("b","x y")]`, with `+` read as a space.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Who is asking, and what they may do.
struct Caller {
    /// The token as sent; `None` for anonymous requests.
    token: Option<String>,
    spec: Option<FakeToken>,
    permissions: Permissions,
}

impl Caller {
    fn login(&self) -> String {
        self.spec
            .as_ref()
            .map_or_else(|| "ghost".to_owned(), |s| s.login.clone())
    }

    fn is_installation(&self) -> bool {
        matches!(
            self.spec.as_ref().map(|s| &s.kind),
            Some(TokenKind::Installation)
        )
    }

    /// GitHub's wording for a permission the token lacks.
    fn forbidden(&self, accepted: &str) -> Reply {
        let message = if self.is_installation() {
            "Resource not accessible by integration"
        } else {
            "Resource not accessible by personal access token"
        };
        Reply::error(403, message, DOCS).with_header("x-accepted-github-permissions", accepted)
    }
}

fn authenticate(state: &State, req: &Incoming) -> Result<Caller, Reply> {
    let Some(header) = req.header("authorization") else {
        return match state.anonymous {
            Some(permissions) => Ok(Caller {
                token: None,
                spec: None,
                permissions,
            }),
            None => Err(Reply::error(401, "Requires authentication", DOCS)),
        };
    };
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")
        })
        .map(|(_, t)| t.trim().to_owned());
    let known = token
        .as_ref()
        .and_then(|t| state.tokens.iter().find(|(known, _)| known == t));
    match known {
        Some((token, spec)) => Ok(Caller {
            token: Some(token.clone()),
            spec: Some(spec.clone()),
            permissions: spec.permissions,
        }),
        None => Err(Reply::error(401, "Bad credentials", DOCS)),
    }
}

pub(crate) fn push_comment(state: &mut State, issue: u64, author: &str, body: &str) -> u64 {
    let id = state.next_comment_id;
    state.next_comment_id += 1;
    let now = json::now();
    state.comments.push(FakeComment {
        id,
        issue,
        author: author.to_owned(),
        body: body.to_owned(),
        created_at: now.clone(),
        updated_at: now,
    });
    id
}

fn fault_reply(fault: &Fault) -> Reply {
    match fault {
        Fault::TooManyRequests { retry_after } => Reply::error(
            429,
            "Too many requests. Please wait before trying again.",
            "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
        )
        .with_header("retry-after", &retry_after.to_string()),
        Fault::SecondaryRateLimit { retry_after } => Reply::error(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        )
        .with_header("retry-after", &retry_after.to_string()),
        Fault::RateLimitExhausted { reset_in } => {
            let reset = json::now_unix() + i64::try_from(*reset_in).unwrap_or(3600);
            Reply::error(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
            )
            .with_header("x-ratelimit-limit", "5000")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-used", "5000")
            .with_header("x-ratelimit-reset", &reset.to_string())
            .with_header("x-ratelimit-resource", "core")
        }
        Fault::BadGateway => Reply::Answer {
            status: 502,
            headers: vec![("content-type".to_owned(), "text/html".to_owned())],
            body: b"<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n".to_vec(),
        },
        Fault::Status(status) => Reply::error(*status, "Injected failure", DOCS),
        Fault::Message { status, message } => Reply::error(*status, message, DOCS),
        Fault::Disconnect => Reply::Drop,
    }
}

/// The API listener.
pub(crate) fn handle_api(shared: &Shared, req: Incoming) -> Reply {
    let mut state = shared.lock();
    let below = if shared.prefix.is_empty() {
        Some(req.path.clone())
    } else {
        req.path
            .strip_prefix(&shared.prefix)
            .filter(|rest| rest.starts_with('/'))
            .map(str::to_owned)
    };
    let reply = match &below {
        None => Reply::not_found(),
        Some(path) => {
            if let Some(i) = state.faults.iter().position(|(p, _)| p == path) {
                let (_, fault) = state.faults.remove(i);
                fault_reply(&fault)
            } else {
                match authenticate(&state, &req) {
                    Err(reply) => reply,
                    Ok(caller) => {
                        let reply = route(shared, &mut state, &req, path, &caller);
                        finish(&mut state, &req, &caller, reply)
                    }
                }
            }
        }
    };
    let reply = reply
        .with_header("x-github-api-version-selected", "2022-11-28")
        .with_header("x-github-request-id", "0000:0000:0000000:0000000:00000000");
    state.requests.push(RecordedRequest {
        method: req.method,
        path: below.unwrap_or(req.path),
        query: req.query,
        headers: req.headers,
        body: req.body,
        status: reply.status(),
    });
    reply
}

/// Rate-limit and scope headers, and conditional `GET`s.
fn finish(state: &mut State, req: &Incoming, caller: &Caller, reply: Reply) -> Reply {
    let Reply::Answer {
        status,
        mut headers,
        body,
    } = reply
    else {
        return reply;
    };
    if let Some(FakeToken {
        kind: TokenKind::Classic { scopes },
        ..
    }) = &caller.spec
    {
        headers.push(("x-oauth-scopes".to_owned(), scopes.join(", ")));
        headers.push(("x-accepted-oauth-scopes".to_owned(), "repo".to_owned()));
    }
    let mut status = status;
    let mut body = body;
    let mut counts = true;
    if req.method == "GET" && status == 200 {
        let etag = format!("W/\"{:016x}\"", json::stable_hash(&body));
        if req.header("if-none-match") == Some(etag.as_str()) {
            // GitHub does not count a 304 against the rate limit, and sends no body.
            status = 304;
            body = Vec::new();
            counts = false;
            headers.retain(|(n, _)| n != "link" && n != "content-type");
        }
        headers.push(("etag".to_owned(), etag));
    }
    let key = caller.token.clone().unwrap_or_default();
    let used = state.rate_used.entry(key).or_insert(0);
    if counts {
        *used += 1;
    }
    let used = *used;
    headers.push(("x-ratelimit-limit".to_owned(), "5000".to_owned()));
    headers.push((
        "x-ratelimit-remaining".to_owned(),
        5000u32.saturating_sub(used).to_string(),
    ));
    headers.push(("x-ratelimit-used".to_owned(), used.to_string()));
    headers.push((
        "x-ratelimit-reset".to_owned(),
        (json::now_unix() + 3600).to_string(),
    ));
    headers.push(("x-ratelimit-resource".to_owned(), "core".to_owned()));
    Reply::Answer {
        status,
        headers,
        body,
    }
}

fn route(shared: &Shared, state: &mut State, req: &Incoming, path: &str, caller: &Caller) -> Reply {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method.as_str();
    if segments == ["user"] {
        return match method {
            "GET" => get_user(shared, caller),
            _ => Reply::not_found(),
        };
    }
    let ["repos", owner, name, rest @ ..] = segments.as_slice() else {
        return Reply::not_found();
    };
    if state.missing
        || !owner.eq_ignore_ascii_case(&state.owner)
        || !name.eq_ignore_ascii_case(&state.name)
    {
        return Reply::error(
            404,
            "Not Found",
            "https://docs.github.com/rest/repos/repos#get-a-repository",
        );
    }
    let api = shared.api_url.as_str();
    match (method, rest) {
        ("GET", []) => {
            let permissions = if caller.is_installation() || caller.spec.is_none() {
                None
            } else {
                Some(caller.permissions)
            };
            Reply::json(200, &json::full_repo(api, state, permissions.as_ref()))
        }
        ("GET", ["actions", "runs"]) => list_runs(shared, state, req, path, caller),
        ("GET", ["actions", "runs", id]) => with_run(state, id, caller, |state, run| {
            Reply::json(200, &json::run(api, state, run))
        }),
        ("GET", ["actions", "runs", id, "jobs"]) => {
            let Some(run) = find_run(state, id) else {
                return Reply::not_found();
            };
            if caller.permissions.actions < Access::Read {
                return caller.forbidden("actions=read");
            }
            let jobs: Vec<Value> = run
                .jobs
                .iter()
                .map(|j| json::job(api, state, &run, j))
                .collect();
            paginate(
                shared,
                req,
                path,
                jobs,
                |total, page| json!({"total_count": total, "jobs": page}),
            )
        }
        ("GET", ["actions", "runs", id, "logs"]) => run_logs(shared, state, id, caller),
        ("GET", ["actions", "permissions", "workflow"]) => {
            if caller.permissions.administration < Access::Read {
                return caller.forbidden("administration=read");
            }
            Reply::json(
                200,
                &json::workflow_permissions(&state.workflow_permissions),
            )
        }
        ("GET", ["pulls"]) => list_pulls(shared, state, req, path, caller),
        ("POST", ["pulls"]) => create_pull(shared, state, req, caller),
        ("GET", ["pulls", n]) => {
            if caller.permissions.pull_requests < Access::Read {
                return caller.forbidden("pull_requests=read");
            }
            match find_pull(state, n) {
                Some(pull) => Reply::json(200, &json::pull(api, state, &pull)),
                None => Reply::not_found(),
            }
        }
        ("PATCH", ["pulls", n]) => update_pull(shared, state, req, n, caller),
        ("GET", ["issues", n, "comments"]) => list_comments(shared, state, req, path, n, caller),
        ("POST", ["issues", n, "comments"]) => create_comment(shared, state, req, n, caller),
        ("GET" | "PATCH" | "POST", ["issues", "comments", id]) => {
            comment_by_id(shared, state, req, id, caller)
        }
        ("POST", ["issues", n, "labels"]) => add_labels(shared, state, req, n, caller),
        _ => Reply::not_found(),
    }
}

fn get_user(shared: &Shared, caller: &Caller) -> Reply {
    match &caller.spec {
        None => Reply::error(401, "Requires authentication", DOCS),
        Some(spec) if spec.kind == TokenKind::Installation => caller.forbidden(""),
        Some(spec) => Reply::json(200, &json::authenticated_user(&shared.api_url, &spec.login)),
    }
}

fn find_run(state: &State, id: &str) -> Option<crate::FakeRun> {
    let id: u64 = id.parse().ok()?;
    state.runs.iter().find(|r| r.id == id).cloned()
}

fn with_run(
    state: &State,
    id: &str,
    caller: &Caller,
    answer: impl FnOnce(&State, &crate::FakeRun) -> Reply,
) -> Reply {
    let Some(run) = find_run(state, id) else {
        return Reply::not_found();
    };
    if caller.permissions.actions < Access::Read {
        return caller.forbidden("actions=read");
    }
    answer(state, &run)
}

/// `per_page` (default 30, at most 100) and `page` (from 1), with GitHub's `Link` header.
fn paginate(
    shared: &Shared,
    req: &Incoming,
    path: &str,
    items: Vec<Value>,
    wrap: impl FnOnce(usize, Vec<Value>) -> Value,
) -> Reply {
    let per_page = req
        .param("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = req
        .param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let page_items: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let kept: Vec<&str> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .collect();
    let link_to = |n: usize| {
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        format!("<{}{path}?{query}page={n}>", shared.api_url)
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let reply = Reply::json(200, &wrap(total, page_items));
    if links.is_empty() {
        reply
    } else {
        reply.with_header("link", &links.join(", "))
    }
}

fn list_runs(shared: &Shared, state: &State, req: &Incoming, path: &str, caller: &Caller) -> Reply {
    if caller.permissions.actions < Access::Read {
        return caller.forbidden("actions=read");
    }
    let status = req.param("status");
    let branch = req.param("branch");
    let event = req.param("event");
    let head_sha = req.param("head_sha");
    let mut runs: Vec<&crate::FakeRun> = state
        .runs
        .iter()
        .filter(|r| {
            status
                .as_ref()
                .is_none_or(|s| r.status == *s || r.conclusion.as_deref() == Some(s))
        })
        .filter(|r| branch.as_ref().is_none_or(|b| r.head_branch == *b))
        .filter(|r| event.as_ref().is_none_or(|e| r.event == *e))
        .filter(|r| head_sha.as_ref().is_none_or(|s| r.head_sha == *s))
        .collect();
    runs.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    let items: Vec<Value> = runs
        .iter()
        .map(|r| json::run(&shared.api_url, state, r))
        .collect();
    paginate(
        shared,
        req,
        path,
        items,
        |total, page| json!({"total_count": total, "workflow_runs": page}),
    )
}

fn run_logs(shared: &Shared, state: &mut State, id: &str, caller: &Caller) -> Reply {
    let Some(run) = find_run(state, id) else {
        return Reply::not_found();
    };
    if caller.permissions.actions < Access::Read {
        return caller.forbidden("actions=read");
    }
    match run.logs {
        FakeLogs::Missing => Reply::error(
            404,
            "Not Found",
            "https://docs.github.com/rest/actions/workflow-runs#download-workflow-run-logs",
        ),
        FakeLogs::Expired => Reply::error(
            410,
            "Gone",
            "https://docs.github.com/rest/actions/workflow-runs#download-workflow-run-logs",
        ),
        FakeLogs::Zip(_) => {
            state.link_counter += 1;
            let nonce = format!(
                "{:016x}",
                json::stable_hash(format!("{}:{}", run.id, state.link_counter).as_bytes())
            );
            let expiry = json::now_unix() + LINK_TTL_SECS;
            state.download_links.insert(nonce.clone(), (run.id, expiry));
            let location = format!(
                "{}/actions-results/{nonce}/logs_{}.zip?sv=2025-01-05&spr=https&se={expiry}&sr=b&sp=r&sig={nonce}",
                shared.downloads_url, run.id
            );
            Reply::Answer {
                status: 302,
                headers: vec![
                    ("location".to_owned(), location),
                    ("content-length".to_owned(), "0".to_owned()),
                ],
                body: Vec::new(),
            }
        }
    }
}

/// The download host: serves a run's logs zip at a link minted by `run_logs`.
pub(crate) fn handle_download(shared: &Shared, req: Incoming) -> Reply {
    let mut state = shared.lock();
    let azure_error = |status: u16, code: &str, message: &str| {
        Reply::Answer {
        status,
        headers: vec![("content-type".to_owned(), "application/xml".to_owned())],
        body: format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )
        .into_bytes(),
    }
    };
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let reply = match segments.as_slice() {
        ["actions-results", nonce, _file] if req.method == "GET" => {
            match state.download_links.get(*nonce).copied() {
                None => azure_error(404, "BlobNotFound", "The specified blob does not exist."),
                Some((_, expiry)) if json::now_unix() > expiry => azure_error(
                    403,
                    "AuthenticationFailed",
                    "Signed expiry time has to be after signed start time",
                ),
                // A signed URL with an extra Authorization header is refused, as the real blob store does.
                Some(_) if req.header("authorization").is_some() => azure_error(
                    400,
                    "InvalidAuthenticationInfo",
                    "Authentication information is not given in the correct format.",
                ),
                Some((run_id, _)) => match state.runs.iter().find(|r| r.id == run_id) {
                    Some(crate::FakeRun {
                        logs: FakeLogs::Zip(zip),
                        ..
                    }) => Reply::Answer {
                        status: 200,
                        headers: vec![
                            ("content-type".to_owned(), "application/zip".to_owned()),
                            (
                                "content-disposition".to_owned(),
                                format!("attachment; filename=logs_{run_id}.zip"),
                            ),
                        ],
                        body: zip.clone(),
                    },
                    _ => azure_error(404, "BlobNotFound", "The specified blob does not exist."),
                },
            }
        }
        _ => azure_error(
            404,
            "ResourceNotFound",
            "The specified resource does not exist.",
        ),
    };
    state.downloads.push(RecordedRequest {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: req.body,
        status: reply.status(),
    });
    reply
}

fn find_pull(state: &State, n: &str) -> Option<FakePull> {
    let n: u64 = n.parse().ok()?;
    state.pulls.iter().find(|p| p.number == n).cloned()
}

fn owner_of(state: &State, pull: &FakePull) -> String {
    pull.head_repository
        .as_deref()
        .and_then(|r| r.split('/').next())
        .unwrap_or(&state.owner)
        .to_owned()
}

fn list_pulls(
    shared: &Shared,
    state: &State,
    req: &Incoming,
    path: &str,
    caller: &Caller,
) -> Reply {
    if caller.permissions.pull_requests < Access::Read {
        return caller.forbidden("pull_requests=read");
    }
    let wanted_state = req.param("state").unwrap_or_else(|| "open".to_owned());
    let head = req.param("head");
    let base = req.param("base");
    let mut pulls: Vec<&FakePull> = state
        .pulls
        .iter()
        .filter(|p| wanted_state == "all" || p.state == wanted_state)
        .filter(|p| {
            head.as_ref().is_none_or(|h| match h.split_once(':') {
                Some((owner, branch)) => {
                    owner_of(state, p).eq_ignore_ascii_case(owner) && p.head_branch == branch
                }
                None => p.head_branch == *h,
            })
        })
        .filter(|p| base.as_ref().is_none_or(|b| p.base_branch == *b))
        .collect();
    pulls.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.number.cmp(&a.number))
    });
    if req.param("direction").as_deref() == Some("asc") {
        pulls.reverse();
    }
    let items: Vec<Value> = pulls
        .iter()
        .map(|p| json::pull(&shared.api_url, state, p))
        .collect();
    paginate(shared, req, path, items, |_, page| Value::Array(page))
}

fn validation_failed(resource: &str, field: &str, code: &str, message: Option<&str>) -> Reply {
    let mut error = json!({"resource": resource, "field": field, "code": code});
    if let (Some(message), Value::Object(map)) = (message, &mut error) {
        map.insert("message".to_owned(), Value::String(message.to_owned()));
    }
    Reply::json(
        422,
        &json!({
            "message": "Validation Failed",
            "errors": [error],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
            "status": "422"
        }),
    )
}

fn next_number(state: &State) -> u64 {
    let pulls = state.pulls.iter().map(|p| p.number);
    let issues = state.comments.iter().map(|c| c.issue);
    pulls.chain(issues).max().unwrap_or(0) + 1
}

fn create_pull(shared: &Shared, state: &mut State, req: &Incoming, caller: &Caller) -> Reply {
    if caller.permissions.pull_requests < Access::Write {
        return caller.forbidden("pull_requests=write");
    }
    if caller.is_installation() && !state.workflow_permissions.can_approve_pull_request_reviews {
        return Reply::error(
            403,
            "GitHub Actions is not permitted to create or approve pull requests.",
            "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        );
    }
    let Some(body) = req.json_body() else {
        return Reply::error(400, "Problems parsing JSON", DOCS);
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let (Some(title), Some(head), Some(base)) = (text("title"), text("head"), text("base")) else {
        return validation_failed("PullRequest", "title", "missing_field", None);
    };
    let (head_owner, head_branch) = match head.split_once(':') {
        Some((owner, branch)) => (owner.to_owned(), branch.to_owned()),
        None => (state.owner.clone(), head.clone()),
    };
    let head_repository = if head_owner.eq_ignore_ascii_case(&state.owner) {
        None
    } else {
        Some(format!("{head_owner}/{}", state.name))
    };
    if head_repository.is_none() && head_branch == base {
        return validation_failed(
            "PullRequest",
            "base",
            "invalid",
            Some(&format!("No commits between {base} and {head_branch}")),
        );
    }
    let duplicate = state.pulls.iter().any(|p| {
        p.state == "open"
            && p.head_branch == head_branch
            && p.base_branch == base
            && owner_of(state, p).eq_ignore_ascii_case(&head_owner)
    });
    if duplicate {
        return validation_failed(
            "PullRequest",
            "",
            "custom",
            Some(&format!(
                "A pull request already exists for {head_owner}:{head_branch}."
            )),
        );
    }
    let now = json::now();
    let pull = FakePull {
        number: next_number(state),
        title,
        body: text("body").unwrap_or_default(),
        head_sha: json::fake_sha(json::stable_hash(head_branch.as_bytes())),
        head_branch,
        head_repository,
        base_branch: base,
        state: "open".to_owned(),
        draft: body.get("draft").and_then(Value::as_bool).unwrap_or(false),
        labels: Vec::new(),
        author: caller.login(),
        created_at: now.clone(),
        updated_at: now,
    };
    let value = json::pull(&shared.api_url, state, &pull);
    let location = format!(
        "{}/repos/{}/{}/pulls/{}",
        shared.api_url, state.owner, state.name, pull.number
    );
    state.pulls.push(pull);
    Reply::json(201, &value).with_header("location", &location)
}

fn update_pull(
    shared: &Shared,
    state: &mut State,
    req: &Incoming,
    n: &str,
    caller: &Caller,
) -> Reply {
    if caller.permissions.pull_requests < Access::Write {
        return caller.forbidden("pull_requests=write");
    }
    let Some(body) = req.json_body() else {
        return Reply::error(400, "Problems parsing JSON", DOCS);
    };
    let Some(number) = n.parse::<u64>().ok() else {
        return Reply::not_found();
    };
    let Some(pull) = state.pulls.iter_mut().find(|p| p.number == number) else {
        return Reply::not_found();
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    if let Some(title) = text("title") {
        pull.title = title;
    }
    if let Some(b) = text("body") {
        pull.body = b;
    }
    if let Some(s) = text("state") {
        pull.state = s;
    }
    if let Some(base) = text("base") {
        pull.base_branch = base;
    }
    pull.updated_at = json::now();
    let pull = pull.clone();
    Reply::json(200, &json::pull(&shared.api_url, state, &pull))
}

/// Whether `issue` exists, and the permission that covers its comments.
fn issue_area(state: &State, issue: u64) -> Option<bool> {
    if state.pulls.iter().any(|p| p.number == issue) {
        Some(true)
    } else if state.comments.iter().any(|c| c.issue == issue) {
        Some(false)
    } else {
        None
    }
}

/// Comments on a pull request need `issues` or `pull_requests`; on an issue, `issues`.
fn may_comment(caller: &Caller, is_pull: bool, level: Access) -> bool {
    caller.permissions.issues >= level || (is_pull && caller.permissions.pull_requests >= level)
}

fn list_comments(
    shared: &Shared,
    state: &State,
    req: &Incoming,
    path: &str,
    n: &str,
    caller: &Caller,
) -> Reply {
    let Some(issue) = n.parse::<u64>().ok() else {
        return Reply::not_found();
    };
    let Some(is_pull) = issue_area(state, issue) else {
        return Reply::not_found();
    };
    if !may_comment(caller, is_pull, Access::Read) {
        return caller.forbidden("issues=read; pull_requests=read");
    }
    let items: Vec<Value> = state
        .comments
        .iter()
        .filter(|c| c.issue == issue)
        .map(|c| json::comment(&shared.api_url, state, c))
        .collect();
    paginate(shared, req, path, items, |_, page| Value::Array(page))
}

fn create_comment(
    shared: &Shared,
    state: &mut State,
    req: &Incoming,
    n: &str,
    caller: &Caller,
) -> Reply {
    let Some(issue) = n.parse::<u64>().ok() else {
        return Reply::not_found();
    };
    let Some(is_pull) = issue_area(state, issue) else {
        return Reply::not_found();
    };
    if !may_comment(caller, is_pull, Access::Write) {
        return caller.forbidden("issues=write; pull_requests=write");
    }
    let Some(body) = req
        .json_body()
        .and_then(|b| b.get("body").and_then(Value::as_str).map(str::to_owned))
    else {
        return validation_failed("IssueComment", "body", "missing_field", None);
    };
    let id = push_comment(state, issue, &caller.login(), &body);
    let Some(comment) = state.comments.iter().find(|c| c.id == id).cloned() else {
        return Reply::not_found();
    };
    let location = format!(
        "{}/repos/{}/{}/issues/comments/{id}",
        shared.api_url, state.owner, state.name
    );
    Reply::json(201, &json::comment(&shared.api_url, state, &comment))
        .with_header("location", &location)
}

/// `GET`, and `PATCH` (what GitHub documents) or `POST` (what some clients send) to edit.
fn comment_by_id(
    shared: &Shared,
    state: &mut State,
    req: &Incoming,
    id: &str,
    caller: &Caller,
) -> Reply {
    let Some(id) = id.parse::<u64>().ok() else {
        return Reply::not_found();
    };
    let Some(issue) = state.comments.iter().find(|c| c.id == id).map(|c| c.issue) else {
        return Reply::not_found();
    };
    let is_pull = issue_area(state, issue).unwrap_or(false);
    if req.method == "GET" {
        if !may_comment(caller, is_pull, Access::Read) {
            return caller.forbidden("issues=read; pull_requests=read");
        }
    } else {
        if !may_comment(caller, is_pull, Access::Write) {
            return caller.forbidden("issues=write; pull_requests=write");
        }
        let Some(body) = req
            .json_body()
            .and_then(|b| b.get("body").and_then(Value::as_str).map(str::to_owned))
        else {
            return validation_failed("IssueComment", "body", "missing_field", None);
        };
        if let Some(comment) = state.comments.iter_mut().find(|c| c.id == id) {
            comment.body = body;
            comment.updated_at = json::now();
        }
    }
    match state.comments.iter().find(|c| c.id == id).cloned() {
        Some(comment) => Reply::json(200, &json::comment(&shared.api_url, state, &comment)),
        None => Reply::not_found(),
    }
}

fn add_labels(
    shared: &Shared,
    state: &mut State,
    req: &Incoming,
    n: &str,
    caller: &Caller,
) -> Reply {
    let Some(issue) = n.parse::<u64>().ok() else {
        return Reply::not_found();
    };
    let Some(is_pull) = issue_area(state, issue) else {
        return Reply::not_found();
    };
    if !may_comment(caller, is_pull, Access::Write) {
        return caller.forbidden("issues=write; pull_requests=write");
    }
    let names: Option<Vec<String>> = req.json_body().and_then(|b| {
        let list = match &b {
            Value::Array(_) => Some(b.clone()),
            Value::Object(map) => map.get("labels").cloned(),
            _ => None,
        }?;
        list.as_array().map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
    });
    let Some(names) = names else {
        return validation_failed("Label", "labels", "missing_field", None);
    };
    let mut labels = Vec::new();
    if let Some(pull) = state.pulls.iter_mut().find(|p| p.number == issue) {
        for name in names {
            if !pull.labels.contains(&name) {
                pull.labels.push(name);
            }
        }
        labels.clone_from(&pull.labels);
    }
    let values: Vec<Value> = labels
        .iter()
        .map(|l| json::label(&shared.api_url, state, l))
        .collect();
    Reply::json(200, &Value::Array(values))
}
