//! The crate's one error type. None of these is retryable: each says what
//! is wrong with the suite, a case, the machine or the arguments, and the
//! harness stops (exit 2) rather than report a rate it did not measure.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The suite folder, or the case filter, is unusable.
    #[error("suite {path}: {message}")]
    Suite { path: PathBuf, message: String },
    /// A case folder is malformed (missing or invalid files).
    #[error("case {case}: {message}")]
    Case { case: String, message: String },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A git operation on a prepared or captured repository failed.
    #[error("{context}: {source}")]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    /// The `git` command (bundles) or the `selfheal` binary could not run, or failed.
    #[error("{command}: {message}")]
    Command { command: String, message: String },
    /// Docker, the sandbox image, the model server or the configuration is
    /// not ready, so no case can run.
    #[error("not ready to bench: {0}")]
    Preflight(String),
    /// The arguments contradict each other or name nothing.
    #[error("{0}")]
    Usage(String),
}

impl BenchError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BenchError {
        let path = path.into();
        move |source| BenchError::Io { path, source }
    }

    pub(crate) fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> BenchError {
        let context = context.into();
        move |source| BenchError::Git { context, source }
    }

    pub(crate) fn case(case: &str, message: impl Into<String>) -> BenchError {
        BenchError::Case {
            case: case.to_owned(),
            message: message.into(),
        }
    }
}
