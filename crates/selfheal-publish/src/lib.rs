//! Publishing: a validated fix, proposed once.
//!
//! After the repair loop has committed a validated fix on a local
//! `selfheal/*` branch, [`publish`] decides where it goes and does it:
//!
//! - a run of a pull request from a fork: never pushed (selfheal does not
//!   write to other people's repositories); the validated diff is posted as
//!   one comment on that pull request, edited in place on a re-run;
//! - an open pull request already carries this failure's fingerprint marker:
//!   that one is updated (body, and the new commit when it fast-forwards its
//!   branch; never a force-push), and when the branch moved on it says so in
//!   a comment instead;
//! - otherwise the branch is pushed and one pull request is opened against
//!   the run's branch (for a run of a same-repository pull request: that
//!   pull request's head branch, so the fix lands where the failure is);
//! - `dry_run`: nothing is pushed or written to the forge; the would-be pull
//!   request (title, body, diff) goes to `.selfheal/results/`.
//!
//! The forge is the [`Forge`] trait (GitHub today), pushing is
//! `selfheal-git` with a token handed over in a credentials callback. A
//! failure here never loses the fix: the caller gets
//! [`Publication::Failed`] and the record keeps the validated diff.

mod text;

use std::path::{Path, PathBuf};

use selfheal_git::{Credentials, Repo};
use selfheal_monitor::{Forge, MonitorError, NewPullRequest, PullRequest};
use selfheal_types::{Outcome, Publication, RepairRecord};

pub use text::{
    PullRequestText, comment_marker, comment_text, fingerprint_marker, moved_on_text,
    pull_request_text,
};

/// How and where to publish.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// The remote the fix branch is pushed to: a remote name or a URL/path.
    pub remote: String,
    pub credentials: Credentials,
    pub draft: bool,
    pub labels: Vec<String>,
    /// Write the would-be pull request to `results_dir` instead of publishing.
    pub dry_run: bool,
    /// Also keep one comment on the pull request that triggered the failing
    /// run, pointing at the fix.
    pub comment_on_trigger: bool,
    /// Where dry runs write the would-be pull request.
    pub results_dir: PathBuf,
}

/// Errors that stop publishing; the caller turns them into [`Publication::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("nothing to publish: the repair did not produce a validated fix")]
    NotFixed,
    #[error(
        "the run came from a fork and no open pull request for its branch {branch} was found to comment on"
    )]
    NoPullRequestForFork { branch: String },
    #[error(transparent)]
    Forge(#[from] MonitorError),
    #[error(transparent)]
    Git(#[from] selfheal_git::GitError),
    #[error("could not write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Proposes the fix in `record` (whose outcome must be [`Outcome::Fixed`]).
/// `excerpt` is the CI log excerpt shown to reviewers.
pub async fn publish(
    forge: &dyn Forge,
    repo: &Repo,
    record: &RepairRecord,
    excerpt: &str,
    settings: &PublishSettings,
) -> Result<Publication, PublishError> {
    let Outcome::Fixed { branch, commit } = &record.outcome else {
        return Err(PublishError::NotFixed);
    };
    let Some(failure) = &record.failure else {
        return Err(PublishError::NotFixed);
    };
    let run = &record.run;
    let head_sha = run
        .head_sha
        .clone()
        .unwrap_or_else(|| record.base_commit.clone());

    if run.is_from_fork() {
        return comment_on_fork(forge, record, excerpt, &head_sha, settings).await;
    }

    let text = pull_request_text(record, excerpt);
    if settings.dry_run {
        let path = write_dry_run(&settings.results_dir, record, &text)?;
        return Ok(Publication::DryRun {
            path: path.display().to_string(),
        });
    }

    let marker = fingerprint_marker(&failure.fingerprint);
    let existing = forge.find_open_pull_requests(&marker).await?;
    let publication = if let Some(pr) = existing.into_iter().next() {
        update_existing(forge, repo, record, &pr, commit, branch, &text, settings).await?
    } else {
        let base = base_branch(forge, record).await?;
        match repo.push_branch(&settings.remote, branch, None, &settings.credentials) {
            Ok(_) => {}
            // An earlier try pushed this very commit and then failed to open
            // the pull request: the branch is already what it should be.
            Err(selfheal_git::GitError::RemoteBranchExists { sha, .. }) if sha == *commit => {}
            Err(e) => return Err(e.into()),
        }
        let pr = forge
            .open_pull_request(&NewPullRequest {
                title: text.title.clone(),
                body: text.body.clone(),
                head_branch: branch.clone(),
                base_branch: base,
                draft: settings.draft,
                labels: settings.labels.clone(),
            })
            .await?;
        Publication::Opened {
            number: pr.number,
            url: pr.url,
            branch: branch.clone(),
        }
    };

    if settings.comment_on_trigger
        && let Some(trigger) = run.pull_requests.first()
    {
        let fix_url = match &publication {
            Publication::Opened { url, .. } | Publication::Updated { url, .. } => {
                Some(url.as_str())
            }
            _ => None,
        };
        let body = comment_text(record, excerpt, fix_url, &head_sha);
        // The fix itself is published; a comment that could not be written is
        // worth a warning, not a failed publication.
        if let Err(e) = forge
            .upsert_comment(trigger.number, &comment_marker(&head_sha), &body)
            .await
        {
            tracing::warn!("could not comment on pull request #{}: {e}", trigger.number);
        }
    }
    Ok(publication)
}

/// The branch a new fix pull request merges into: the head branch of the
/// same-repository pull request the run tested, else the run's branch, else
/// the default branch.
async fn base_branch(forge: &dyn Forge, record: &RepairRecord) -> Result<String, PublishError> {
    if let Some(pr) = record.run.pull_requests.first() {
        return Ok(pr.head_branch.clone());
    }
    if let Some(branch) = &record.run.head_branch {
        return Ok(branch.clone());
    }
    Ok(forge.default_branch().await?)
}

#[allow(clippy::too_many_arguments)]
async fn update_existing(
    forge: &dyn Forge,
    repo: &Repo,
    record: &RepairRecord,
    pr: &PullRequest,
    commit: &str,
    branch: &str,
    text: &PullRequestText,
    settings: &PublishSettings,
) -> Result<Publication, PublishError> {
    let remote_head =
        repo.remote_branch_head(&settings.remote, &pr.head_branch, &settings.credentials)?;
    let (pushed, note) = match remote_head {
        None => (
            false,
            Some(format!("its branch {} is gone", pr.head_branch)),
        ),
        Some(head) if head == commit => (false, Some("it already holds this fix".to_owned())),
        Some(head) if fast_forwards(repo, &head, commit)? => {
            repo.push_branch_to(
                &settings.remote,
                branch,
                &pr.head_branch,
                Some(&head),
                &settings.credentials,
            )?;
            (true, None)
        }
        Some(_) => (
            false,
            Some(format!(
                "its branch {} has moved on and the new fix does not fast-forward it",
                pr.head_branch
            )),
        ),
    };
    forge
        .update_pull_request(pr.number, &text.title, &text.body)
        .await?;
    if let Some(reason) = &note
        && reason != "it already holds this fix"
    {
        let body = moved_on_text(record, branch, reason);
        let marker = format!(
            "<!-- selfheal:moved-on run={} -->",
            record.run.id.replace("--", "-")
        );
        forge
            .upsert_comment(pr.number, &marker, &format!("{body}\n\n{marker}"))
            .await?;
    }
    Ok(Publication::Updated {
        number: pr.number,
        url: pr.url.clone(),
        branch: pr.head_branch.clone(),
        pushed,
        note,
    })
}

/// Whether `commit` descends from the remote branch's `head`.
fn fast_forwards(repo: &Repo, head: &str, commit: &str) -> Result<bool, PublishError> {
    match repo.is_ancestor(head, commit) {
        Ok(descends) => Ok(descends),
        // A head this clone has never seen was pushed from elsewhere: the
        // fix, committed here on top of commits this clone has, cannot
        // descend from it. (Fetching it just to learn that is not worth a
        // round trip; the branch has moved on either way.)
        Err(selfheal_git::GitError::CommitNotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn comment_on_fork(
    forge: &dyn Forge,
    record: &RepairRecord,
    excerpt: &str,
    head_sha: &str,
    settings: &PublishSettings,
) -> Result<Publication, PublishError> {
    let run = &record.run;
    let branch = run.head_branch.clone().unwrap_or_default();
    let number = if let Some(pr) = run.pull_requests.first() {
        pr.number
    } else {
        let owner = run
            .head_repository
            .as_deref()
            .and_then(|r| r.split('/').next())
            .unwrap_or_default();
        match forge.pull_request_for_branch(owner, &branch).await? {
            Some(pr) => pr.number,
            None => return Err(PublishError::NoPullRequestForFork { branch }),
        }
    };
    let body = comment_text(record, excerpt, None, head_sha);
    if settings.dry_run {
        let text = PullRequestText {
            title: format!("comment on pull request #{number}"),
            body,
        };
        let path = write_dry_run(&settings.results_dir, record, &text)?;
        return Ok(Publication::DryRun {
            path: path.display().to_string(),
        });
    }
    let comment = forge
        .upsert_comment(number, &comment_marker(head_sha), &body)
        .await?;
    Ok(Publication::Commented {
        number,
        url: comment.url,
    })
}

/// `<results>/<run>-<fingerprint>.pr.md`: the title, the body and the diff, as
/// they would have been published.
pub fn write_dry_run(
    dir: &Path,
    record: &RepairRecord,
    text: &PullRequestText,
) -> Result<PathBuf, PublishError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PublishError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let fp = record
        .failure
        .as_ref()
        .map_or("", |f| f.short_fingerprint());
    let name: String = format!("{}-{fp}", record.run.id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.pr.md"));
    let diff = record
        .attempts
        .iter()
        .rev()
        .find_map(|a| a.diff.clone())
        .unwrap_or_default();
    let content = format!(
        "# {}\n\n{}\n\n---\n\n```diff\n{}\n```\n",
        text.title,
        text.body.trim_end(),
        diff.trim_end()
    );
    std::fs::write(&path, content).map_err(write_err(&path))?;
    Ok(path)
}
