use std::path::PathBuf;

use selfheal_monitor::MonitorError;

/// Everything that can go wrong talking to GitHub.
///
/// Every message is one line, names what was being attempted, and carries a
/// `hint:` where the user can act. No message ever contains the token: the
/// texts that come from outside (GitHub's own messages, transport errors)
/// are scrubbed of it before they are stored here.
///
/// Retrying: [`RateLimited`](Self::RateLimited), [`Server`](Self::Server)
/// and [`Connection`](Self::Connection) may succeed later (the client has
/// already retried them as far as its [`RetryPolicy`](crate::RetryPolicy)
/// allows); every other variant needs a change by the user first. See
/// [`GithubError::retryable`].
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// A setting that cannot work (repository name, API URL, token format).
    #[error("invalid github setting {setting}: {reason}; hint: {hint}")]
    Settings {
        setting: &'static str,
        reason: String,
        hint: &'static str,
    },

    /// 401 with no token at all.
    #[error(
        "github requires a token to {action} (401); hint: set GITHUB_TOKEN to a token with {permission}"
    )]
    TokenMissing {
        action: String,
        permission: &'static str,
    },

    /// 401 with a token: wrong, expired or revoked.
    #[error(
        "github rejected the token (401) while trying to {action}; hint: the token is invalid, expired or revoked: create a new one and set GITHUB_TOKEN"
    )]
    Unauthorized { action: String },

    /// 403 that is not a rate limit: the token lacks a permission.
    #[error("github refused to {action} (403: {message}); hint: {hint}")]
    Forbidden {
        action: String,
        /// GitHub's message, scrubbed.
        message: String,
        hint: String,
    },

    /// 404 on the repository itself.
    #[error(
        "repository {repository} not found or the token cannot see it (404); hint: check the owner/name and that the token has access to this repository"
    )]
    RepoNotFound { repository: String },

    /// 404 on something inside an existing repository.
    #[error("github has no {what} (404) while trying to {action}")]
    NotFound { action: String, what: String },

    /// The run's logs were deleted or expired (404/410 on the logs endpoint).
    #[error(
        "the logs of run {run_id} are gone ({status}): they expired (GitHub keeps them 90 days by default), were deleted, or the run has not finished; hint: pick a newer run, or pass --logs with a saved copy"
    )]
    LogsGone { run_id: String, status: u16 },

    /// A primary or secondary rate limit that lasts longer than the
    /// policy's longest wait, or that outlasted every retry.
    #[error(
        "github rate limit reached while trying to {action} ({status}); retry after {retry_at}; hint: wait until then, or use a token with a higher limit"
    )]
    RateLimited {
        action: String,
        status: u16,
        /// When the limit lifts, as `YYYY-MM-DD HH:MM:SS UTC`.
        retry_at: String,
        /// Seconds from the failure until then.
        wait_secs: u64,
    },

    /// 5xx after every retry.
    #[error(
        "github answered {status} to {action} after {attempts} attempt(s); hint: GitHub may be having trouble (https://www.githubstatus.com), try again later"
    )]
    Server {
        action: String,
        status: u16,
        attempts: u32,
    },

    /// No answer at all after every retry.
    #[error(
        "cannot reach github at {api_url} to {action} after {attempts} attempt(s): {reason}; hint: check GITHUB_API_URL and the network"
    )]
    Connection {
        action: String,
        api_url: String,
        reason: String,
        attempts: u32,
    },

    /// Any other 4xx (422 validation failures and the like).
    #[error("github refused to {action} ({status}: {message})")]
    Rejected {
        action: String,
        status: u16,
        message: String,
    },

    /// A 2xx answer that is not what GitHub documents.
    #[error("unexpected answer from github to {action}: {reason}")]
    Decode { action: String, reason: String },

    #[error("run logs of run {run_id} exceed {limit_mib} MiB; refusing to download more")]
    TooLarge { run_id: String, limit_mib: u64 },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Unpacking the logs into the offline cache failed.
    #[error(transparent)]
    Cache(#[from] MonitorError),
}

impl GithubError {
    /// Whether trying again later, unchanged, may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            GithubError::RateLimited { .. }
            | GithubError::Server { .. }
            | GithubError::Connection { .. } => true,
            GithubError::Cache(e) => matches!(
                e,
                MonitorError::Provider {
                    retryable: true,
                    ..
                }
            ),
            _ => false,
        }
    }

    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubError::TokenMissing { .. } | GithubError::Unauthorized { .. } => Some(401),
            GithubError::Forbidden { .. } => Some(403),
            GithubError::RepoNotFound { .. } | GithubError::NotFound { .. } => Some(404),
            GithubError::LogsGone { status, .. }
            | GithubError::RateLimited { status, .. }
            | GithubError::Server { status, .. }
            | GithubError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<GithubError> for MonitorError {
    fn from(error: GithubError) -> Self {
        match error {
            GithubError::Cache(inner) => inner,
            GithubError::Io {
                action,
                path,
                source,
            } => MonitorError::Io {
                action,
                path,
                source,
            },
            other => {
                let status = other.status();
                let retryable = other.retryable();
                let text = other.to_string();
                // `Provider` prints `github: ...` itself.
                let message = text.strip_prefix("github ").unwrap_or(&text).to_owned();
                MonitorError::Provider {
                    provider: "github",
                    message,
                    status,
                    retryable,
                }
            }
        }
    }
}
