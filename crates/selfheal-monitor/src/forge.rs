//! The forge side: where a validated fix is proposed (pull requests and comments).
//!
//! Pushing the fix branch is git's job (`selfheal-git`); everything a user
//! sees on the forge goes through [`Forge`], so the publishing logic can be
//! tested against any implementation and a second forge is one more impl.

use crate::MonitorError;

/// A pull request as the forge reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// The page a person opens.
    pub url: String,
    pub title: String,
    pub body: String,
    /// The branch it proposes, and that branch's newest commit.
    pub head_branch: String,
    pub head_sha: String,
    /// `owner/name` the head branch lives in.
    pub head_repository: Option<String>,
    pub base_branch: String,
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    pub title: String,
    pub body: String,
    /// A branch of the same repository, already pushed.
    pub head_branch: String,
    pub base_branch: String,
    pub draft: bool,
    /// Added after opening; a label the repository lacks is created or skipped, never an error.
    pub labels: Vec<String>,
}

/// A comment on a pull request or issue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub url: String,
    pub body: String,
}

/// Proposes fixes to people: pull requests and comments.
#[async_trait::async_trait]
pub trait Forge: Send + Sync {
    /// Open pull requests whose body contains `marker`, newest first.
    async fn find_open_pull_requests(&self, marker: &str)
    -> Result<Vec<PullRequest>, MonitorError>;

    /// The open pull request whose head is `branch` of `head_owner`'s
    /// repository (a fork's pull requests are not linked from its runs).
    async fn pull_request_for_branch(
        &self,
        head_owner: &str,
        branch: &str,
    ) -> Result<Option<PullRequest>, MonitorError>;

    async fn open_pull_request(&self, pr: &NewPullRequest) -> Result<PullRequest, MonitorError>;

    async fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, MonitorError>;

    /// Edits the comment on `number` that contains `marker`, or creates one
    /// when there is none: one comment per marker, however often this runs.
    async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<Comment, MonitorError>;

    /// The repository's default branch, the base of a fix when the run names none.
    async fn default_branch(&self) -> Result<String, MonitorError>;
}
