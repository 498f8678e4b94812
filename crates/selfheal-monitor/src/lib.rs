//! Where failed runs come from.
//!
//! The repair loop asks a [`CiProvider`] for failed runs and for a local copy
//! of one run's logs; it never cares where they came from. Today there is
//! one provider, the [`OfflineCache`] of logs kept under
//! `<repo>/.selfheal/logs/`, which makes every repair reproducible without a
//! network. GitHub Actions comes next behind the same trait: its
//! `fetch_logs` will download the run-logs zip into that same cache (with a
//! `run.json` beside the logs), so a run fetched once replays offline.
//!
//! Logs are handed on as paths, not parsed: a folder in GitHub's run-log
//! layout, a zip, or a single file are all things the analyser reads.
//! [`run_from_logs_path`] covers the `--logs PATH` case where the user names
//! the logs directly, and [`ensure_self_ignored`] keeps selfheal's own files
//! out of the user's `git status`.

mod cache;
mod error;
mod run_json;

use std::path::PathBuf;

use selfheal_types::RunInfo;

pub use cache::{CachedRun, OfflineCache, ensure_self_ignored, run_from_logs_path};
pub use error::MonitorError;

/// A source of failed CI runs and their logs.
#[async_trait::async_trait]
pub trait CiProvider: Send + Sync {
    /// Runs that failed, newest first.
    async fn failed_runs(&self) -> Result<Vec<RunInfo>, MonitorError>;

    /// Makes the run's logs available locally and returns where they are (a
    /// folder in GitHub's run-log layout, a zip, or a file).
    async fn fetch_logs(&self, run: &RunInfo) -> Result<PathBuf, MonitorError>;
}
