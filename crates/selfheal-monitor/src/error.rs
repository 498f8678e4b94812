use std::path::PathBuf;

/// Everything that can go wrong finding runs and their logs.
///
/// Retrying: only [`MonitorError::Provider`] with `retryable` set (429, 5xx,
/// lost connections) is worth trying again as is; every other variant is
/// about local files or an archive the user has to add or fix.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(
        "no cached run logs: {} does not exist\nhint: pass --logs PATH, or put a run's logs in {}/<run-id>/",
        dir.display(),
        dir.display()
    )]
    NoCache { dir: PathBuf },

    #[error(
        "no cached run logs in {}\nhint: pass --logs PATH, or put a run's logs in {}/<run-id>/",
        dir.display(),
        dir.display()
    )]
    EmptyCache { dir: PathBuf },

    #[error(
        "no cached run `{id}` in {}; cached runs: {}\nhint: pick one of those, or cache the run's logs in {}/{id}/",
        dir.display(),
        known.join(", "),
        dir.display()
    )]
    UnknownRun {
        id: String,
        dir: PathBuf,
        /// The ids that are cached, newest first.
        known: Vec<String>,
    },

    #[error(
        "no logs at {}\nhint: pass a log file, a run-logs zip as GitHub serves it, or its unpacked folder",
        path.display()
    )]
    LogsNotFound { path: PathBuf },

    #[error(
        "cannot read run metadata {}: {reason}\nhint: fix or delete the file; it is optional",
        path.display()
    )]
    BadRunJson { path: PathBuf, reason: String },

    #[error("cannot read zip {}: {source}", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },

    /// A CI provider or forge failed (HTTP, authentication, permissions,
    /// rate limits). `message` is one line, with a `hint:` where the user can act.
    #[error("{provider}: {message}")]
    Provider {
        provider: &'static str,
        message: String,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// Whether trying again later may succeed (5xx, 429, connection errors).
        retryable: bool,
    },

    /// A run-logs archive that would write outside the cache, holds links,
    /// or is too big; or a run id that cannot name a folder in the cache.
    #[error("refusing run-logs archive {source_name}: {reason}")]
    UnsafeArchive { source_name: String, reason: String },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl MonitorError {
    pub(crate) fn io(action: &'static str, path: PathBuf) -> impl FnOnce(std::io::Error) -> Self {
        move |source| MonitorError::Io {
            action,
            path,
            source,
        }
    }
}
