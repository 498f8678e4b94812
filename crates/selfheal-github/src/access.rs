//! `selfheal check`: what the token may do, found out without changing anything.

use crate::transport::{Failure, Need};
use crate::{GithubClient, GithubError, decode, model, perm};

/// What the token can do on the repository, as far as GitHub tells without
/// trying a write. `None`: GitHub does not say for this kind of token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessReport {
    /// The token's user; `None` for app installation tokens (Actions'
    /// `GITHUB_TOKEN`), which may not read `/user`, and without a token.
    pub login: Option<String>,
    /// Whether workflow runs can be listed (`actions: read`).
    pub can_read_actions: bool,
    /// `permissions.push` of the repository, where GitHub reports it.
    pub can_push: Option<bool>,
    pub can_open_pull_requests: Option<bool>,
    /// The repository's "Allow GitHub Actions to create and approve pull
    /// requests" setting, where the token may read it (`administration: read`).
    pub workflows_can_create_prs: Option<bool>,
    /// One line each, naming the missing scope or permission; empty when
    /// everything asked for is possible as far as can be told.
    pub problems: Vec<String>,
}

/// What kind of token GitHub says this is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    None,
    /// Classic personal access token, with its scopes.
    Classic(Vec<String>),
    /// An installation token: `/user` is forbidden to it.
    Installation,
    /// Fine-grained personal access token (or an OAuth app's): no scopes header.
    Other,
}

impl GithubClient {
    /// Checks that the token authenticates, sees the repository and can
    /// list its runs; with `publishing`, also that it can push and open
    /// pull requests, as far as GitHub tells without trying.
    ///
    /// `Err` when the answer is no at the first step (401, the repository
    /// not found) or GitHub cannot be asked (network, rate limit); every
    /// other shortfall is a line in [`AccessReport::problems`].
    pub async fn check_access(&self, publishing: bool) -> Result<AccessReport, GithubError> {
        let (value, reply) = self.repository_json().await?;
        let repo: model::Repo = decode(
            value,
            &Need::new("read the repository", perm::METADATA_READ),
        )?;
        let scopes: Option<Vec<String>> = reply
            .headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            });

        let mut login = None;
        let kind = if !self.has_token {
            Kind::None
        } else if let Some(scopes) = scopes {
            login = self.login().await?;
            Kind::Classic(scopes)
        } else {
            login = self.login().await?;
            if login.is_none() {
                Kind::Installation
            } else {
                Kind::Other
            }
        };

        let mut problems = Vec::new();
        let repository = &self.repository;
        let need = Need::new("list workflow runs", perm::ACTIONS_READ);
        let can_read_actions = match self
            .transport
            .get(&self.repo_path("/actions/runs?per_page=1"), &need)
            .await
        {
            Ok(_) => true,
            Err(Failure::Refused(refusal)) => {
                problems.push(format!(
                    "the token cannot list workflow runs of {repository} ({}: {}): it needs `actions: read` (classic tokens: the `repo` scope)",
                    refusal.status, refusal.message
                ));
                false
            }
            Err(Failure::Final(error)) => return Err(error),
        };
        if kind == Kind::None {
            problems
                .push("no token: downloading run logs needs one with `actions: read`".to_owned());
        }

        let can_push = repo.permissions.as_ref().and_then(|p| p.push);
        let workflows_can_create_prs = self.workflows_can_create_prs().await?;
        let public = scopes_allow_public(&kind) && repo.private == Some(false);
        let can_open_pull_requests = match &kind {
            Kind::None => Some(false),
            Kind::Classic(scopes) => {
                Some((scopes.iter().any(|s| s == "repo") || public) && can_push != Some(false))
            }
            Kind::Installation => workflows_can_create_prs.filter(|allowed| !allowed),
            Kind::Other => can_push.filter(|push| !push),
        };

        if publishing {
            if can_push == Some(false) {
                problems.push(format!(
                    "the token cannot push to {repository}: it needs `contents: write` (classic tokens: the `repo` scope)"
                ));
            }
            match &kind {
                Kind::None => problems.push(
                    "no token: pushing and opening pull requests need one with `contents: write` and `pull-requests: write`".to_owned(),
                ),
                Kind::Classic(scopes) => {
                    if !scopes.iter().any(|s| s == "repo") && !public {
                        problems.push(
                            "the classic token lacks the `repo` scope: it cannot push or open pull requests".to_owned(),
                        );
                    }
                    if !scopes.iter().any(|s| s == "workflow") {
                        problems.push(
                            "the classic token lacks the `workflow` scope: fixes that change .github/workflows/ cannot be pushed".to_owned(),
                        );
                    }
                }
                Kind::Installation if workflows_can_create_prs == Some(false) => {
                    problems.push(format!(
                        "workflows may not create pull requests in {repository}: enable \"Allow GitHub Actions to create and approve pull requests\" in Settings > Actions > General, or publish with a personal access token (`pull-requests: write`)"
                    ));
                }
                Kind::Installation | Kind::Other => {}
            }
        }

        Ok(AccessReport {
            login,
            can_read_actions,
            can_push,
            can_open_pull_requests,
            workflows_can_create_prs,
            problems,
        })
    }

    /// The token's user, or `None` when `/user` is forbidden to it (installation tokens).
    async fn login(&self) -> Result<Option<String>, GithubError> {
        let need = Need::new("read the token's user", perm::METADATA_READ);
        match self.transport.get("/user", &need).await {
            Ok(reply) => {
                let user: model::User = decode(reply.json(&need.action)?, &need)?;
                Ok(user.login)
            }
            Err(Failure::Refused(_)) => Ok(None),
            Err(Failure::Final(error)) => Err(error),
        }
    }

    /// The repository's setting, where the token may read it.
    async fn workflows_can_create_prs(&self) -> Result<Option<bool>, GithubError> {
        let need = Need::new("read the Actions workflow permissions", perm::ADMIN_READ);
        match self
            .transport
            .get(&self.repo_path("/actions/permissions/workflow"), &need)
            .await
        {
            Ok(reply) => {
                let p: model::WorkflowPermissions = decode(reply.json(&need.action)?, &need)?;
                Ok(p.can_approve_pull_request_reviews)
            }
            Err(Failure::Refused(_)) => Ok(None),
            Err(Failure::Final(error)) => Err(error),
        }
    }
}

/// A classic token with only `public_repo` can still push to a public repository.
fn scopes_allow_public(kind: &Kind) -> bool {
    matches!(kind, Kind::Classic(scopes) if scopes.iter().any(|s| s == "public_repo"))
}
