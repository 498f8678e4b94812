//! Pull requests and comments: the [`Forge`] side of GitHub.

use ::http::Method;
use selfheal_monitor::{Comment, Forge, MonitorError, NewPullRequest, PullRequest};
use serde_json::{Value, json};

use crate::transport::{Failure, Need, encode};
use crate::{GithubClient, GithubError, decode, model, perm};

/// An empty marker would match every pull request and comment.
fn check_marker(marker: &str) -> Result<(), GithubError> {
    if marker.trim().is_empty() {
        return Err(GithubError::Settings {
            setting: "marker",
            reason: "the marker that identifies selfheal's pull requests and comments is empty"
                .to_owned(),
            hint: "pass a marker such as `<!-- selfheal -->`",
        });
    }
    Ok(())
}

impl GithubClient {
    async fn open_pulls(&self, query: &str) -> Result<Vec<(String, PullRequest)>, GithubError> {
        let need = Need::new("list open pull requests", perm::PULLS_READ);
        let mut pulls = Vec::new();
        self.each_page(
            self.repo_path(&format!("/pulls?state=open{query}&per_page=100")),
            &need,
            Some("pull requests"),
            |value| {
                let page: Vec<model::Pull> = decode(value, &need)?;
                let more = !page.is_empty();
                pulls.extend(page.into_iter().filter_map(|p| {
                    let created = p.created_at.clone().unwrap_or_default();
                    p.into_pull_request().map(|pr| (created, pr))
                }));
                Ok(more)
            },
        )
        .await?;
        Ok(pulls)
    }

    async fn find_marked_pulls(&self, marker: &str) -> Result<Vec<PullRequest>, GithubError> {
        check_marker(marker)?;
        let mut pulls: Vec<(String, PullRequest)> = self
            .open_pulls("&sort=created&direction=desc")
            .await?
            .into_iter()
            .filter(|(_, pr)| pr.body.contains(marker))
            .collect();
        pulls.sort_by(|(a, x), (b, y)| b.cmp(a).then_with(|| y.number.cmp(&x.number)));
        Ok(pulls.into_iter().map(|(_, pr)| pr).collect())
    }

    async fn pull_for_branch(
        &self,
        head_owner: &str,
        branch: &str,
    ) -> Result<Option<PullRequest>, GithubError> {
        let head = format!("{head_owner}:{branch}");
        let pulls = self.open_pulls(&format!("&head={}", encode(&head))).await?;
        // GitHub ignores a `head` it cannot parse and lists every pull
        // request, so the answer is checked, not trusted.
        Ok(pulls.into_iter().map(|(_, pr)| pr).find(|pr| {
            pr.head_branch == branch
                && pr.head_repository.as_deref().is_none_or(|r| {
                    r.split('/')
                        .next()
                        .is_some_and(|owner| owner.eq_ignore_ascii_case(head_owner))
                })
        }))
    }

    async fn create_pull(&self, pr: &NewPullRequest) -> Result<PullRequest, GithubError> {
        let need = Need::new(
            format!(
                "open a pull request from {} into {}",
                pr.head_branch, pr.base_branch
            ),
            perm::PULLS_WRITE,
        );
        let uri = self.repo_path("/pulls");
        let mut body = json!({
            "title": pr.title,
            "body": pr.body,
            "head": pr.head_branch,
            "base": pr.base_branch,
            "draft": pr.draft,
        });
        let value = match self.transport.send(Method::POST, &uri, &body, &need).await {
            Ok(reply) => reply.json(&need.action)?,
            // Draft pull requests need a paid plan on private repositories:
            // an ordinary one proposes the fix just as well.
            Err(Failure::Refused(refusal))
                if pr.draft
                    && refusal.status == 422
                    && refusal.message.to_ascii_lowercase().contains("draft") =>
            {
                tracing::warn!(message = %refusal.message, "draft pull requests refused; opening a ready one");
                body["draft"] = Value::Bool(false);
                self.send_json(Method::POST, &uri, &body, &need, Some("base branch"))
                    .await?
            }
            Err(failure) => return Err(self.fail(failure, &need, Some("base branch")).await),
        };
        let pull: model::Pull = decode(value, &need)?;
        let created = pull
            .into_pull_request()
            .ok_or_else(|| GithubError::Decode {
                action: need.action.clone(),
                reason: "the pull request has no number".to_owned(),
            })?;
        if !pr.labels.is_empty() {
            self.add_labels(created.number, &pr.labels).await;
        }
        Ok(created)
    }

    /// Labels help people find selfheal's pull requests, but the fix is
    /// proposed without them: a failure is logged, not returned.
    async fn add_labels(&self, number: u64, labels: &[String]) {
        let need = Need::new(format!("label #{number}"), perm::COMMENTS_WRITE);
        let uri = self.repo_path(&format!("/issues/{number}/labels"));
        let body = json!({ "labels": labels });
        if let Err(failure) = self.transport.send(Method::POST, &uri, &body, &need).await {
            let error = self.fail(failure, &need, Some("pull request")).await;
            tracing::warn!(%error, "could not label the pull request");
        }
    }

    async fn edit_pull(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GithubError> {
        let need = Need::new(format!("update pull request #{number}"), perm::PULLS_WRITE);
        let value = self
            .send_json(
                Method::PATCH,
                &self.repo_path(&format!("/pulls/{number}")),
                &json!({ "title": title, "body": body }),
                &need,
                Some(&format!("pull request #{number}")),
            )
            .await?;
        let pull: model::Pull = decode(value, &need)?;
        pull.into_pull_request().ok_or_else(|| GithubError::Decode {
            action: need.action.clone(),
            reason: "the pull request has no number".to_owned(),
        })
    }

    async fn comment(&self, number: u64, marker: &str, body: &str) -> Result<Comment, GithubError> {
        check_marker(marker)?;
        // The marker is what finds this comment next time; without it every
        // run would add another.
        let body = if body.contains(marker) {
            body.to_owned()
        } else {
            format!("{body}\n\n{marker}")
        };
        let what = format!("pull request or issue #{number}");
        let read = Need::new(
            format!("list the comments on #{number}"),
            perm::COMMENTS_READ,
        );
        let mut existing: Option<Comment> = None;
        self.each_page(
            self.repo_path(&format!("/issues/{number}/comments?per_page=100")),
            &read,
            Some(&what),
            |value| {
                let page: Vec<model::IssueComment> = decode(value, &read)?;
                let more = !page.is_empty();
                existing = page
                    .into_iter()
                    .filter_map(model::IssueComment::into_comment)
                    .find(|c| c.body.contains(marker));
                Ok(more && existing.is_none())
            },
        )
        .await?;
        let write = Need::new(format!("comment on #{number}"), perm::COMMENTS_WRITE);
        let value = match existing {
            Some(comment) if comment.body == body => return Ok(comment),
            Some(comment) => {
                self.send_json(
                    Method::PATCH,
                    &self.repo_path(&format!("/issues/comments/{}", comment.id)),
                    &json!({ "body": body }),
                    &write,
                    Some(&format!("comment {}", comment.id)),
                )
                .await?
            }
            None => {
                self.send_json(
                    Method::POST,
                    &self.repo_path(&format!("/issues/{number}/comments")),
                    &json!({ "body": body }),
                    &write,
                    Some(&what),
                )
                .await?
            }
        };
        let comment: model::IssueComment = decode(value, &write)?;
        comment.into_comment().ok_or_else(|| GithubError::Decode {
            action: write.action.clone(),
            reason: "the comment has no id".to_owned(),
        })
    }

    pub(crate) async fn default_branch_name(&self) -> Result<String, GithubError> {
        let (value, _) = self.repository_json().await?;
        let repo: model::Repo = decode(
            value,
            &Need::new("read the repository", perm::METADATA_READ),
        )?;
        repo.default_branch
            .filter(|b| !b.is_empty())
            .ok_or_else(|| GithubError::Decode {
                action: "read the repository".to_owned(),
                reason: "no default_branch in the answer".to_owned(),
            })
    }
}

#[async_trait::async_trait]
impl Forge for GithubClient {
    async fn find_open_pull_requests(
        &self,
        marker: &str,
    ) -> Result<Vec<PullRequest>, MonitorError> {
        Ok(self.find_marked_pulls(marker).await?)
    }

    async fn pull_request_for_branch(
        &self,
        head_owner: &str,
        branch: &str,
    ) -> Result<Option<PullRequest>, MonitorError> {
        Ok(self.pull_for_branch(head_owner, branch).await?)
    }

    async fn open_pull_request(&self, pr: &NewPullRequest) -> Result<PullRequest, MonitorError> {
        Ok(self.create_pull(pr).await?)
    }

    async fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, MonitorError> {
        Ok(self.edit_pull(number, title, body).await?)
    }

    async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<Comment, MonitorError> {
        Ok(self.comment(number, marker, body).await?)
    }

    async fn default_branch(&self) -> Result<String, MonitorError> {
        Ok(self.default_branch_name().await?)
    }
}
