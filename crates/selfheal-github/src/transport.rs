//! One request to GitHub, done right: retries with backoff for 5xx and
//! dropped connections, rate limits waited out within the policy, and
//! conditional `GET`s answered from memory on 304.
//!
//! octocrab's own retry layer is switched off ([`RetryConfig::None`]) so
//! that every retry is counted and bounded here, and so that a 403 is told
//! apart from a rate limit by its headers and message, not by its status.
//! octocrab's own HTTP cache is not used either: it would also cache the
//! run-logs zip in memory and add `If-None-Match` to writes.
//!
//! [`RetryConfig::None`]: octocrab::service::middleware::retry::RetryConfig::None

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, HeaderMap, HeaderValue, IF_NONE_MATCH};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use octocrab::Octocrab;
use serde_json::Value;

use crate::{ClientStats, GithubError, RetryPolicy};

/// Largest JSON answer read; GitHub's biggest pages are a few MiB.
const MAX_JSON: usize = 32 << 20;
/// Largest error body read for its message.
const MAX_ERROR_BODY: usize = 64 << 10;
/// Entries, and bytes of bodies, kept for conditional requests before the cache starts over.
const MAX_ETAGS: usize = 512;
const MAX_ETAG_BYTES: usize = 64 << 20;
/// GitHub's advice for a secondary rate limit that names no wait.
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

pub(crate) type Body = BoxBody<Bytes, octocrab::Error>;

/// What a request is for, in the words of messages, and the permission
/// that allows it.
#[derive(Debug, Clone)]
pub(crate) struct Need {
    /// `list workflow runs`, `open a pull request`, ...
    pub action: String,
    /// `actions: read`, `pull-requests: write`, ...
    pub permission: &'static str,
}

impl Need {
    pub fn new(action: impl Into<String>, permission: &'static str) -> Self {
        Self {
            action: action.into(),
            permission,
        }
    }
}

/// A request that GitHub answered with an error status that retrying does not help.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: u16,
    /// GitHub's `message` (and validation `errors`), scrubbed; one line.
    pub message: String,
}

#[derive(Debug)]
pub(crate) enum Failure {
    /// 4xx, for the caller to put in context.
    Refused(Refusal),
    /// Retries and waits used up, or a wait too long: final as it is.
    Final(GithubError),
}

/// A successful answer.
pub(crate) struct Reply<B> {
    pub headers: HeaderMap,
    pub body: B,
}

impl Reply<Bytes> {
    pub fn json(&self, action: &str) -> Result<Value, GithubError> {
        serde_json::from_slice(&self.body).map_err(|e| GithubError::Decode {
            action: action.to_owned(),
            reason: format!("invalid JSON: {e}"),
        })
    }

    /// The `rel="next"` URL of the `Link` header.
    pub fn next_link(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        link.split(',').find_map(|part| {
            let (url, params) = part.split_once(';')?;
            let is_next = params
                .split(';')
                .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
            let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| url.to_owned())
        })
    }
}

struct Cached {
    etag: String,
    body: Bytes,
    headers: HeaderMap,
}

pub(crate) struct Transport {
    octo: Octocrab,
    api_url: String,
    token: Option<String>,
    retry: RetryPolicy,
    etags: Mutex<HashMap<String, Cached>>,
    stats: Mutex<ClientStats>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("api_url", &self.api_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes a query value or path segment (everything but unreserved characters).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// The first non-blank line of `text`, trimmed, at most 300 characters,
/// with ` ...` when something was left out.
fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let mut line: String = first.chars().take(300).collect();
    if line.len() < first.len() || lines.next().is_some() {
        line.push_str(" ...");
    }
    line
}

/// An error and its sources, each said once: `Service Error: client error
/// (Connect): tcp connect error: Connection refused (os error 111)`, where
/// the error alone only says `client error (Connect)`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text.strip_prefix("Service Error: ")
        .map(str::to_owned)
        .unwrap_or(text)
}

/// GitHub's error message from an error body: `message`, plus what the
/// validation `errors` say; the start of the body when it is not JSON.
fn github_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = one_line(&text);
        return if text.is_empty() {
            "no message".to_owned()
        } else {
            text
        };
    };
    let mut message = value
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned();
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        let details: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                if let Some(text) = e.as_str() {
                    return Some(text.to_owned());
                }
                if let Some(text) = e.get("message").and_then(Value::as_str) {
                    return Some(text.to_owned());
                }
                let field = e.get("field").and_then(Value::as_str)?;
                let code = e.get("code").and_then(Value::as_str).unwrap_or("invalid");
                Some(format!("{field} {code}"))
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    one_line(&message)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD HH:MM:SS UTC`, `secs` from now.
pub(crate) fn utc_after(secs: u64) -> String {
    let at = i64::try_from(now_unix().saturating_add(secs)).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{secs} seconds from now"))
}

impl Transport {
    pub fn new(octo: Octocrab, api_url: String, token: Option<String>, retry: RetryPolicy) -> Self {
        Self {
            octo,
            api_url,
            token,
            retry,
            etags: Mutex::new(HashMap::new()),
            stats: Mutex::new(ClientStats::default()),
        }
    }

    pub fn max_retries(&self) -> u32 {
        self.retry.max_retries
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn stats(&self) -> ClientStats {
        *self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self, update: impl FnOnce(&mut ClientStats)) {
        update(
            &mut self
                .stats
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }

    /// `text` with the token cut out, for anything that came from outside.
    pub fn scrub(&self, text: &str) -> String {
        match self.token.as_deref() {
            Some(token) if !token.is_empty() => text.replace(token, "<redacted>"),
            _ => text.to_owned(),
        }
    }

    /// The wait before retry number `attempt` (from 1): 1 s, 2 s, 4 s, ...
    /// never longer than the policy's longest wait.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = Duration::from_secs(1u64 << attempt.saturating_sub(1).min(16));
        exp.min(self.retry.max_wait)
    }

    /// How long a 403 or 429 asks to wait, or `None` when it is not a rate limit.
    fn rate_limit_wait(
        &self,
        status: u16,
        headers: &HeaderMap,
        message: &str,
        attempt: u32,
    ) -> Option<Duration> {
        if let Some(secs) = header_u64(headers, "retry-after") {
            return Some(Duration::from_secs(secs));
        }
        if header_u64(headers, "x-ratelimit-remaining") == Some(0)
            && let Some(reset) = header_u64(headers, "x-ratelimit-reset")
        {
            // One second more, so the retry lands after the reset, not on it.
            return Some(Duration::from_secs(reset.saturating_sub(now_unix()) + 1));
        }
        if status == 429 {
            return Some(self.backoff(attempt));
        }
        if message.to_ascii_lowercase().contains("rate limit") {
            return Some(SECONDARY_LIMIT_WAIT);
        }
        None
    }

    fn build(
        &self,
        method: &Method,
        uri: &str,
        body: Option<&Value>,
        etag: Option<&str>,
    ) -> Result<http::Request<octocrab::OctoBody>, GithubError> {
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(ACCEPT, "application/vnd.github+json");
        if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
            builder = builder.header(IF_NONE_MATCH, etag);
        }
        self.octo
            .build_request(builder, body)
            .map_err(|e| GithubError::Settings {
                setting: "api_url",
                reason: self.scrub(&format!("cannot build a request for {uri}: {e}")),
                hint: "check GITHUB_API_URL",
            })
    }

    /// Sends until GitHub answers 2xx (or 304 from the cache), retrying as
    /// the policy allows. `collect`: read the whole body (inside the retry
    /// loop, so a connection dropped mid-body is retried too).
    async fn exchange(
        &self,
        method: &Method,
        uri: &str,
        body: Option<&Value>,
        need: &Need,
        conditional: bool,
    ) -> Result<Reply<Body>, Failure> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let may_retry = attempt <= self.retry.max_retries;
            let etag = if conditional {
                self.etags
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(uri)
                    .map(|c| c.etag.clone())
            } else {
                None
            };
            let request = self
                .build(method, uri, body, etag.as_deref())
                .map_err(Failure::Final)?;
            self.count(|s| s.requests += 1);
            tracing::debug!(%method, uri, attempt, "github request");
            let response = match self.octo.execute(request).await {
                Ok(response) => response,
                Err(e) => {
                    let reason = self.scrub(&one_line(&error_chain(&e)));
                    if may_retry {
                        let wait = self.backoff(attempt);
                        tracing::warn!(uri, %reason, ?wait, "github unreachable; retrying");
                        self.count(|s| s.retries += 1);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(Failure::Final(GithubError::Connection {
                        action: need.action.clone(),
                        api_url: self.api_url.clone(),
                        reason,
                        attempts: attempt,
                    }));
                }
            };
            let status = response.status();
            if status == StatusCode::NOT_MODIFIED
                && let Some(reply) = self.cached_reply(uri)
            {
                self.count(|s| s.not_modified += 1);
                return Ok(reply);
            }
            if status.is_success() {
                let (parts, body) = response.into_parts();
                return Ok(Reply {
                    headers: parts.headers,
                    body,
                });
            }
            let code = status.as_u16();
            let headers = response.headers().clone();
            let error_body = read_limited(response.into_body(), MAX_ERROR_BODY, true)
                .await
                .unwrap_or_default();
            let message = self.scrub(&github_message(&error_body));
            if matches!(code, 403 | 429)
                && let Some(wait) = self.rate_limit_wait(code, &headers, &message, attempt)
            {
                if wait > self.retry.max_wait || !may_retry {
                    return Err(Failure::Final(GithubError::RateLimited {
                        action: need.action.clone(),
                        status: code,
                        retry_at: utc_after(wait.as_secs().max(1)),
                        wait_secs: wait.as_secs(),
                    }));
                }
                tracing::warn!(uri, status = code, ?wait, "github rate limit; waiting");
                self.count(|s| {
                    s.retries += 1;
                    s.rate_limit_waits += 1;
                    s.waited += wait;
                });
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                if may_retry {
                    let wait = self.backoff(attempt);
                    tracing::warn!(uri, status = code, ?wait, "github server error; retrying");
                    self.count(|s| s.retries += 1);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(Failure::Final(GithubError::Server {
                    action: need.action.clone(),
                    status: code,
                    attempts: attempt,
                }));
            }
            return Err(Failure::Refused(Refusal {
                status: code,
                message,
            }));
        }
    }

    fn cached_reply(&self, uri: &str) -> Option<Reply<Body>> {
        let etags = self
            .etags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cached = etags.get(uri)?;
        let body = http_body_util::Full::new(cached.body.clone())
            .map_err(|never| match never {})
            .boxed();
        Some(Reply {
            headers: cached.headers.clone(),
            body,
        })
    }

    /// A `GET` whose JSON answer is read whole; conditional on the last `ETag` for `uri`.
    pub async fn get(&self, uri: &str, need: &Need) -> Result<Reply<Bytes>, Failure> {
        self.collect(&Method::GET, uri, None, need).await
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        body: &Value,
        need: &Need,
    ) -> Result<Reply<Bytes>, Failure> {
        self.collect(&method, uri, Some(body), need).await
    }

    async fn collect(
        &self,
        method: &Method,
        uri: &str,
        body: Option<&Value>,
        need: &Need,
    ) -> Result<Reply<Bytes>, Failure> {
        let conditional = *method == Method::GET;
        // A body cut off mid-way is a dropped connection: retried like one,
        // within the same budget.
        let mut broken: u32 = 0;
        loop {
            let reply = self.exchange(method, uri, body, need, conditional).await?;
            match read_limited(reply.body, MAX_JSON, false).await {
                Ok(bytes) => {
                    if conditional
                        && let Some(etag) = reply.headers.get("etag").and_then(|e| e.to_str().ok())
                    {
                        let mut etags = self
                            .etags
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        let held: usize = etags.values().map(|c| c.body.len()).sum();
                        if etags.len() >= MAX_ETAGS || held + bytes.len() > MAX_ETAG_BYTES {
                            etags.clear();
                        }
                        etags.insert(
                            uri.to_owned(),
                            Cached {
                                etag: etag.to_owned(),
                                body: bytes.clone(),
                                headers: reply.headers.clone(),
                            },
                        );
                    }
                    return Ok(Reply {
                        headers: reply.headers,
                        body: bytes,
                    });
                }
                Err(reason) => {
                    broken += 1;
                    if broken > self.retry.max_retries {
                        return Err(Failure::Final(GithubError::Connection {
                            action: need.action.clone(),
                            api_url: self.api_url.clone(),
                            reason: self.scrub(&reason),
                            attempts: broken,
                        }));
                    }
                    self.count(|s| s.retries += 1);
                    tokio::time::sleep(self.backoff(broken)).await;
                }
            }
        }
    }

    /// A `GET` whose body is handed over unread (the run-logs zip).
    pub async fn get_stream(&self, uri: &str, need: &Need) -> Result<Reply<Body>, Failure> {
        self.exchange(&Method::GET, uri, None, need, false).await
    }
}

/// Reads `body` whole, failing past `limit` bytes (or, with `truncate`, stopping there).
async fn read_limited(mut body: Body, limit: usize, truncate: bool) -> Result<Bytes, String> {
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| one_line(&e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                if truncate {
                    let room = limit - out.len();
                    out.extend_from_slice(&data[..room]);
                    break;
                }
                return Err(format!("answer larger than {} MiB", limit >> 20));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("feat/x y&z~._-"), "feat%2Fx%20y%26z~._-");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn github_message_joins_validation_errors() {
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for o:b."},{"field":"head","code":"invalid"}]}"#;
        assert_eq!(
            github_message(body),
            "Validation Failed: A pull request already exists for o:b.; head invalid"
        );
        assert_eq!(
            github_message(b"<html>\n<h1>502 Bad Gateway</h1>\n</html>"),
            "<html> ..."
        );
        assert_eq!(github_message(b""), "no message");
    }

    #[test]
    fn next_link_finds_rel_next_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static(
                "<http://h/r?page=1>; rel=\"prev\", <http://h/r?per_page=2&page=3>; rel=\"next\", <http://h/r?page=9>; rel=\"last\"",
            ),
        );
        let reply = Reply {
            headers,
            body: Bytes::new(),
        };
        assert_eq!(
            reply.next_link().as_deref(),
            Some("http://h/r?per_page=2&page=3")
        );
        let none = Reply {
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        assert_eq!(none.next_link(), None);
    }

    #[test]
    fn utc_after_formats_a_wall_clock_time() {
        let text = utc_after(0);
        assert_eq!(text.len(), "2026-01-01 00:00:00 UTC".len(), "{text}");
        assert!(text.ends_with(" UTC"));
    }
}
