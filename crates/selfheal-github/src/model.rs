//! The parts of GitHub's payloads selfheal reads, and how they map onto
//! selfheal's types.
//!
//! Every field is optional here on purpose: GitHub leaves fields `null` in
//! corners (a run of a deleted branch, a pull request whose fork is gone),
//! and one odd run must not make a whole list unreadable. What is truly
//! required (a run's id) is checked where it is used.

use selfheal_monitor::{Comment, PullRequest};
use selfheal_types::{CommitAuthor, JobInfo, PullRequestRef, RunInfo};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Repo {
    pub full_name: Option<String>,
    pub html_url: Option<String>,
    pub url: Option<String>,
    pub default_branch: Option<String>,
    pub private: Option<bool>,
    pub permissions: Option<RepoPermissions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RepoPermissions {
    pub admin: Option<bool>,
    pub push: Option<bool>,
    pub pull: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RunList {
    pub workflow_runs: Vec<Run>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(clippy::struct_field_names)] // GitHub's names.
pub(crate) struct Run {
    pub id: Option<u64>,
    pub name: Option<String>,
    pub path: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: Option<String>,
    pub event: Option<String>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub run_attempt: Option<u32>,
    pub head_commit: Option<HeadCommit>,
    pub repository: Option<Repo>,
    pub head_repository: Option<Repo>,
    pub pull_requests: Vec<RunPull>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HeadCommit {
    pub author: Option<Person>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Person {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A pull request as a run lists it: only number, refs and a stub of each repository.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RunPull {
    pub number: Option<u64>,
    pub head: Option<RunPullRef>,
    pub base: Option<RunPullRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RunPullRef {
    #[serde(rename = "ref")]
    pub branch: Option<String>,
    pub sha: Option<String>,
    /// Only `id`, `url` and `name` here: no `full_name`.
    pub repo: Option<Repo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct JobList {
    pub jobs: Vec<Job>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Job {
    pub id: Option<u64>,
    pub name: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Step {
    pub name: Option<String>,
    pub conclusion: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Pull {
    pub number: Option<u64>,
    pub html_url: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub created_at: Option<String>,
    pub head: Option<PullRef>,
    pub base: Option<PullRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PullRef {
    #[serde(rename = "ref")]
    pub branch: Option<String>,
    pub sha: Option<String>,
    pub repo: Option<Repo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct IssueComment {
    pub id: Option<u64>,
    pub html_url: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct User {
    pub login: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WorkflowPermissions {
    pub can_approve_pull_request_reviews: Option<bool>,
}

/// `owner/name` from an API URL ending in `/repos/{owner}/{name}`.
fn full_name_from_api_url(url: &str) -> Option<String> {
    let (_, rest) = url.rsplit_once("/repos/")?;
    let mut parts = rest.trim_end_matches('/').split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    (parts.next().is_none() && !owner.is_empty() && !name.is_empty())
        .then(|| format!("{owner}/{name}"))
}

fn repo_full_name(repo: Option<&Repo>) -> Option<String> {
    let repo = repo?;
    repo.full_name
        .clone()
        .or_else(|| repo.url.as_deref().and_then(full_name_from_api_url))
}

/// Conclusions of a step that count as its failure.
const FAILED_STEP: &[&str] = &["failure", "timed_out"];

impl Run {
    /// `None` for a run without an id, which GitHub never sends.
    pub fn into_info(self) -> Option<RunInfo> {
        let id = self.id?;
        let repository = repo_full_name(self.repository.as_ref());
        let head_repository = repo_full_name(self.head_repository.as_ref());
        let repo_html = self.repository.as_ref().and_then(|r| r.html_url.clone());
        let head_sha = self.head_sha.clone();
        let pull_requests = self
            .pull_requests
            .into_iter()
            .filter_map(|p| {
                let number = p.number?;
                let head = p.head.unwrap_or_default();
                let base = p.base.unwrap_or_default();
                Some(PullRequestRef {
                    number,
                    head_branch: head.branch.unwrap_or_default(),
                    head_sha: head.sha.or_else(|| head_sha.clone()),
                    head_repository: repo_full_name(head.repo.as_ref()),
                    base_branch: base.branch.unwrap_or_default(),
                    html_url: repo_html.as_ref().map(|h| format!("{h}/pull/{number}")),
                })
            })
            .collect();
        Some(RunInfo {
            id: id.to_string(),
            head_sha: self.head_sha,
            head_branch: self.head_branch,
            workflow: self.name,
            repository,
            created_at: self.created_at,
            html_url: self.html_url,
            event: self.event,
            conclusion: self.conclusion,
            head_repository,
            head_author: self
                .head_commit
                .and_then(|c| c.author)
                .map(|a| CommitAuthor {
                    name: a.name,
                    email: a.email,
                }),
            // Reusable and dynamic workflows may name a ref after the path (`ci.yml@main`).
            workflow_path: self.path.map(|p| {
                p.split_once('@')
                    .map_or(p.clone(), |(path, _)| path.to_owned())
            }),
            run_attempt: self.run_attempt,
            jobs: Vec::new(),
            pull_requests,
        })
    }
}

impl Job {
    pub fn into_info(self) -> Option<JobInfo> {
        Some(JobInfo {
            id: self.id?.to_string(),
            name: self.name.unwrap_or_default(),
            conclusion: self.conclusion,
            html_url: self.html_url,
            failed_steps: self
                .steps
                .into_iter()
                .filter(|s| {
                    s.conclusion
                        .as_deref()
                        .is_some_and(|c| FAILED_STEP.contains(&c))
                })
                .filter_map(|s| s.name)
                .collect(),
        })
    }
}

impl Pull {
    pub fn into_pull_request(self) -> Option<PullRequest> {
        let head = self.head.unwrap_or_default();
        let base = self.base.unwrap_or_default();
        Some(PullRequest {
            number: self.number?,
            url: self.html_url.unwrap_or_default(),
            title: self.title.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
            head_branch: head.branch.unwrap_or_default(),
            head_sha: head.sha.unwrap_or_default(),
            head_repository: repo_full_name(head.repo.as_ref()),
            base_branch: base.branch.unwrap_or_default(),
        })
    }
}

impl IssueComment {
    pub fn into_comment(self) -> Option<Comment> {
        Some(Comment {
            id: self.id?,
            url: self.html_url.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_maps_fully_and_reads_fork_repos_from_stub_urls() {
        let json = serde_json::json!({
            "id": 42,
            "name": "CI",
            "path": ".github/workflows/ci.yml@refs/heads/main",
            "head_branch": "fix",
            "head_sha": "abc",
            "event": "pull_request",
            "status": "completed",
            "conclusion": "failure",
            "html_url": "https://github.com/o/r/actions/runs/42",
            "created_at": "2026-01-01T00:00:00Z",
            "run_attempt": 2,
            "head_commit": {"author": {"name": "A", "email": "a@x"}},
            "repository": {"full_name": "o/r", "html_url": "https://github.com/o/r"},
            "head_repository": {"full_name": "f/r"},
            "pull_requests": [{
                "number": 5,
                "head": {"ref": "fix", "sha": "abc", "repo": {"id": 1, "url": "https://api.github.com/repos/f/r", "name": "r"}},
                "base": {"ref": "main", "sha": "def", "repo": {"id": 2, "url": "https://api.github.com/repos/o/r", "name": "r"}}
            }]
        });
        let run: Run = serde_json::from_value(json).expect("a run");
        assert_eq!(
            run.into_info(),
            Some(RunInfo {
                id: "42".to_owned(),
                head_sha: Some("abc".to_owned()),
                head_branch: Some("fix".to_owned()),
                workflow: Some("CI".to_owned()),
                repository: Some("o/r".to_owned()),
                created_at: Some("2026-01-01T00:00:00Z".to_owned()),
                html_url: Some("https://github.com/o/r/actions/runs/42".to_owned()),
                event: Some("pull_request".to_owned()),
                conclusion: Some("failure".to_owned()),
                head_repository: Some("f/r".to_owned()),
                head_author: Some(CommitAuthor {
                    name: Some("A".to_owned()),
                    email: Some("a@x".to_owned()),
                }),
                workflow_path: Some(".github/workflows/ci.yml".to_owned()),
                run_attempt: Some(2),
                jobs: Vec::new(),
                pull_requests: vec![PullRequestRef {
                    number: 5,
                    head_branch: "fix".to_owned(),
                    head_sha: Some("abc".to_owned()),
                    head_repository: Some("f/r".to_owned()),
                    base_branch: "main".to_owned(),
                    html_url: Some("https://github.com/o/r/pull/5".to_owned()),
                }],
            })
        );
    }

    #[test]
    fn nulls_do_not_make_a_run_unreadable() {
        let run: Run = serde_json::from_str(
            r#"{"id": 7, "head_branch": null, "head_commit": null, "pull_requests": [], "repository": null}"#,
        )
        .expect("a run");
        let info = run.into_info().expect("an id");
        assert_eq!(info.id, "7");
        assert_eq!(info.head_branch, None);
        assert_eq!(info.head_author, None);
    }

    #[test]
    fn failed_steps_are_the_failed_and_timed_out_ones_in_order() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": 9, "name": "test", "conclusion": "failure",
            "steps": [
                {"name": "checkout", "conclusion": "success"},
                {"name": "unit", "conclusion": "failure"},
                {"name": "slow", "conclusion": "timed_out"},
                {"name": "cleanup", "conclusion": "skipped"}
            ]
        }))
        .expect("a job");
        assert_eq!(
            job.into_info().map(|j| j.failed_steps),
            Some(vec!["unit".to_owned(), "slow".to_owned()])
        );
    }
}
