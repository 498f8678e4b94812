//! Where failed runs come from, and where fixes go.
//!
//! The CLI asks a [`CiProvider`] for failed runs and for a local copy of one
//! run's logs; the repair never cares where they came from. Two providers
//! exist: the [`OfflineCache`] of logs kept under `<repo>/.selfheal/logs/`,
//! which makes every repair reproducible without a network, and GitHub
//! Actions (`selfheal-github`), whose `fetch_logs` downloads the run-logs zip
//! and hands it to [`OfflineCache::store_zip_file`]. That unpacks it into the
//! cache with a `run.json` beside the logs, so a run fetched once replays
//! offline exactly, and it trusts nothing in the zip: names that could
//! escape the run's folder, links, and more entries or inflated bytes than
//! [`ArchiveLimits`] allow are refused. A later GitLab provider is one more impl.
//!
//! Which runs to look at is decided here once for every provider:
//! [`RunFilter::matches`] narrows by workflow, branch, event and commit, and
//! [`skip_reason`] says why a run is not one to repair (selfheal's own fix
//! branches and commits per [`OwnWork`], workflows that did not start,
//! conclusions no code change repairs). A provider's own query may narrow
//! first; these rules are the definition.
//!
//! [`Forge`] is the other direction: the pull requests and comments that
//! propose a validated fix. The [`Ledger`] remembers what was handled, so the
//! same failure is never repaired twice.
//!
//! Logs are handed on as paths, not parsed: a folder in GitHub's run-log
//! layout, a zip, or a single file are all things the analyser reads.
//! [`run_from_logs_path`] covers the `--logs PATH` case where the user names
//! the logs directly, and [`ensure_self_ignored`] keeps selfheal's own files
//! out of the user's `git status`.

mod archive;
mod cache;
mod error;
mod filter;
mod forge;
mod ledger;
mod run_json;

use std::path::PathBuf;

use selfheal_types::RunInfo;

pub use archive::ArchiveLimits;
pub use cache::{CachedRun, OfflineCache, TextFilter, ensure_self_ignored, run_from_logs_path};
pub use error::MonitorError;
pub use filter::{OwnWork, skip_reason};
pub use forge::{Comment, Forge, NewPullRequest, PullRequest};
pub use ledger::{Ledger, LedgerEntry, LedgerOutcome, now_rfc3339};

/// Conclusions of runs that a code change may repair.
pub const REPAIRABLE_CONCLUSIONS: &[&str] = &["failure", "timed_out"];
/// Conclusions that are reported but never repaired: the workflow did not start.
pub const REPORTED_CONCLUSIONS: &[&str] = &["startup_failure"];

/// Which runs to look at; every field narrows, empty ones do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Workflow names or file names (`CI`, `ci.yml`); empty: every workflow.
    pub workflows: Vec<String>,
    /// Workflow names or file names to leave out.
    pub exclude_workflows: Vec<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    pub head_sha: Option<String>,
    /// At most this many runs, newest first; `None`: all of them.
    pub limit: Option<usize>,
}

/// A source of failed CI runs and their logs.
#[async_trait::async_trait]
pub trait CiProvider: Send + Sync {
    /// A short name for messages (`github`, `offline cache`).
    fn name(&self) -> &'static str;

    /// Runs that [`RunFilter::matches`] and whose conclusion is in
    /// [`REPAIRABLE_CONCLUSIONS`] or [`REPORTED_CONCLUSIONS`], newest first,
    /// at most `filter.limit` of them. Whether to repair each is
    /// [`skip_reason`]'s call, not the provider's.
    async fn failed_runs(&self, filter: &RunFilter) -> Result<Vec<RunInfo>, MonitorError>;

    /// One run by id, with its jobs where the provider knows them.
    async fn run(&self, id: &str) -> Result<RunInfo, MonitorError>;

    /// Makes the run's logs available locally and returns where they are (a
    /// folder in GitHub's run-log layout, a zip, or a file).
    async fn fetch_logs(&self, run: &RunInfo) -> Result<PathBuf, MonitorError>;
}
