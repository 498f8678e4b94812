//! GitHub-shaped payloads, field for field as GitHub's REST reference documents them.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{FakeComment, FakeJob, FakePull, FakeRun, Permissions, State, WorkflowPermissions};

const HTML: &str = "https://github.com";
/// 2026-01-01T00:00:00Z: the fake's epoch for defaults derived from ids.
const EPOCH_2026: i64 = 1_767_225_600;

/// A stable 64-bit hash (FNV-1a), for ids and `ETag`s that must not change between runs.
pub(crate) fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A 40-hex-digit commit id derived from `seed`.
pub(crate) fn fake_sha(seed: u64) -> String {
    let a = stable_hash(&seed.to_le_bytes());
    let b = stable_hash(&a.to_le_bytes());
    let c = stable_hash(&b.to_le_bytes());
    format!("{a:016x}{b:016x}{:08x}", c >> 32)
}

pub(crate) fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".to_owned())
}

/// `seed` seconds after 2026-01-01, as RFC 3339.
pub(crate) fn time_from_seed(seed: u64) -> String {
    rfc3339(EPOCH_2026.saturating_add(i64::try_from(seed).unwrap_or(i64::MAX / 2)))
}

pub(crate) fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn now() -> String {
    rfc3339(now_unix())
}

fn id_of(text: &str) -> u64 {
    // Below 2^31 so that every client's integer type holds it.
    stable_hash(text.as_bytes()) % 2_000_000_000 + 1000
}

fn node_id(kind: &str, id: u64) -> String {
    format!("{kind}_kw{id:x}")
}

/// A user as GitHub embeds one (`simple-user`).
pub(crate) fn user(api: &str, login: &str) -> Value {
    let id = id_of(login);
    let bot = login.ends_with("[bot]");
    json!({
        "login": login,
        "id": id,
        "node_id": node_id("U", id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{api}/users/{login}"),
        "html_url": format!("{HTML}/{login}"),
        "followers_url": format!("{api}/users/{login}/followers"),
        "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
        "organizations_url": format!("{api}/users/{login}/orgs"),
        "repos_url": format!("{api}/users/{login}/repos"),
        "events_url": format!("{api}/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("{api}/users/{login}/received_events"),
        "type": if bot { "Bot" } else { "User" },
        "user_view_type": "public",
        "site_admin": false
    })
}

/// The authenticated user (`GET /user`, `private-user`).
pub(crate) fn authenticated_user(api: &str, login: &str) -> Value {
    let mut value = user(api, login);
    if let Value::Object(map) = &mut value {
        let extra = json!({
            "name": "Mona Octocat",
            "company": null,
            "blog": "",
            "location": null,
            "email": null,
            "hireable": null,
            "bio": null,
            "twitter_username": null,
            "notification_email": null,
            "public_repos": 2,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2011-01-25T18:44:36Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "private_gists": 0,
            "total_private_repos": 1,
            "owned_private_repos": 1,
            "disk_usage": 100,
            "collaborators": 0,
            "two_factor_authentication": true,
            "plan": {"name": "pro", "space": 976_562_499, "private_repos": 9999, "collaborators": 0}
        });
        if let Value::Object(extra) = extra {
            map.extend(extra);
        }
    }
    value
}

/// The URL fields every repository payload has.
fn repo_urls(api: &str, full: &str) -> Value {
    let u = format!("{api}/repos/{full}");
    json!({
        "html_url": format!("{HTML}/{full}"),
        "url": u,
        "forks_url": format!("{u}/forks"),
        "keys_url": format!("{u}/keys{{/key_id}}"),
        "collaborators_url": format!("{u}/collaborators{{/collaborator}}"),
        "teams_url": format!("{u}/teams"),
        "hooks_url": format!("{u}/hooks"),
        "issue_events_url": format!("{u}/issues/events{{/number}}"),
        "events_url": format!("{u}/events"),
        "assignees_url": format!("{u}/assignees{{/user}}"),
        "branches_url": format!("{u}/branches{{/branch}}"),
        "tags_url": format!("{u}/tags"),
        "blobs_url": format!("{u}/git/blobs{{/sha}}"),
        "git_tags_url": format!("{u}/git/tags{{/sha}}"),
        "git_refs_url": format!("{u}/git/refs{{/sha}}"),
        "trees_url": format!("{u}/git/trees{{/sha}}"),
        "statuses_url": format!("{u}/statuses/{{sha}}"),
        "languages_url": format!("{u}/languages"),
        "stargazers_url": format!("{u}/stargazers"),
        "contributors_url": format!("{u}/contributors"),
        "subscribers_url": format!("{u}/subscribers"),
        "subscription_url": format!("{u}/subscription"),
        "commits_url": format!("{u}/commits{{/sha}}"),
        "git_commits_url": format!("{u}/git/commits{{/sha}}"),
        "comments_url": format!("{u}/comments{{/number}}"),
        "issue_comment_url": format!("{u}/issues/comments{{/number}}"),
        "contents_url": format!("{u}/contents/{{+path}}"),
        "compare_url": format!("{u}/compare/{{base}}...{{head}}"),
        "merges_url": format!("{u}/merges"),
        "archive_url": format!("{u}/{{archive_format}}{{/ref}}"),
        "downloads_url": format!("{u}/downloads"),
        "issues_url": format!("{u}/issues{{/number}}"),
        "pulls_url": format!("{u}/pulls{{/number}}"),
        "milestones_url": format!("{u}/milestones{{/number}}"),
        "notifications_url": format!("{u}/notifications{{?since,all,participating}}"),
        "labels_url": format!("{u}/labels{{/name}}"),
        "releases_url": format!("{u}/releases{{/id}}"),
        "deployments_url": format!("{u}/deployments")
    })
}

fn merge(mut base: Value, more: Value) -> Value {
    if let (Value::Object(base_map), Value::Object(more)) = (&mut base, more) {
        base_map.extend(more);
    }
    base
}

/// A repository as runs embed it (`minimal-repository`).
pub(crate) fn minimal_repo(api: &str, full: &str, private: bool, fork: bool) -> Value {
    let (owner, name) = full.split_once('/').unwrap_or((full, full));
    let id = id_of(full);
    merge(
        json!({
            "id": id,
            "node_id": node_id("R", id),
            "name": name,
            "full_name": full,
            "owner": user(api, owner),
            "private": private,
            "description": "A repository selfheal repairs",
            "fork": fork
        }),
        repo_urls(api, full),
    )
}

/// The repository itself (`GET /repos/{o}/{r}`, `full-repository`); `permissions` only where GitHub gives them.
pub(crate) fn full_repo(api: &str, state: &State, permissions: Option<&Permissions>) -> Value {
    let full = format!("{}/{}", state.owner, state.name);
    let mut value = merge(
        minimal_repo(api, &full, state.private, false),
        json!({
            "created_at": "2020-01-26T19:01:12Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "pushed_at": "2026-01-01T00:00:00Z",
            "git_url": format!("git://github.com/{full}.git"),
            "ssh_url": format!("git@github.com:{full}.git"),
            "clone_url": format!("{HTML}/{full}.git"),
            "svn_url": format!("{HTML}/{full}"),
            "mirror_url": null,
            "homepage": null,
            "size": 108,
            "stargazers_count": 3,
            "watchers_count": 3,
            "language": "Python",
            "has_issues": true,
            "has_projects": true,
            "has_downloads": true,
            "has_wiki": true,
            "has_pages": false,
            "has_discussions": false,
            "forks_count": 1,
            "archived": false,
            "disabled": false,
            "open_issues_count": state.pulls.iter().filter(|p| p.state == "open").count(),
            "license": null,
            "allow_forking": true,
            "is_template": false,
            "web_commit_signoff_required": false,
            "topics": [],
            "visibility": if state.private { "private" } else { "public" },
            "forks": 1,
            "open_issues": state.pulls.iter().filter(|p| p.state == "open").count(),
            "watchers": 3,
            "default_branch": state.default_branch,
            "allow_squash_merge": true,
            "allow_merge_commit": true,
            "allow_rebase_merge": true,
            "allow_auto_merge": false,
            "delete_branch_on_merge": false,
            "allow_update_branch": false,
            "use_squash_pr_title_as_default": false,
            "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
            "squash_merge_commit_message": "COMMIT_MESSAGES",
            "merge_commit_title": "MERGE_MESSAGE",
            "merge_commit_message": "PR_TITLE",
            "network_count": 1,
            "subscribers_count": 1
        }),
    );
    if let (Some(p), Value::Object(map)) = (permissions, &mut value) {
        use crate::Access;
        map.insert(
            "permissions".to_owned(),
            json!({
                "admin": p.administration == Access::Write,
                "maintain": p.administration == Access::Write,
                "push": p.contents == Access::Write,
                "triage": p.issues >= Access::Write || p.pull_requests >= Access::Write,
                "pull": true
            }),
        );
    }
    value
}

fn run_url(api: &str, state: &State, id: u64) -> String {
    format!(
        "{api}/repos/{}/{}/actions/runs/{id}",
        state.owner, state.name
    )
}

/// A workflow run (`workflow-run`).
pub(crate) fn run(api: &str, state: &State, run: &FakeRun) -> Value {
    let full = format!("{}/{}", state.owner, state.name);
    let repo_api = format!("{api}/repos/{full}");
    let url = run_url(api, state, run.id);
    let workflow_id = id_of(&run.path);
    let head_full = run.head_repository.clone().unwrap_or_else(|| full.clone());
    let head_repo_api = format!("{api}/repos/{head_full}");
    let actor = user(api, "mona");
    let pull_requests: Vec<Value> = run
        .pull_requests
        .iter()
        .map(|p| {
            json!({
                "url": format!("{repo_api}/pulls/{}", p.number),
                "id": id_of(&format!("pr{}", p.number)),
                "number": p.number,
                "head": {
                    "ref": p.head_branch,
                    "sha": run.head_sha,
                    "repo": {"id": id_of(&head_full), "url": head_repo_api, "name": head_full.split('/').nth(1).unwrap_or_default()}
                },
                "base": {
                    "ref": p.base_branch,
                    "sha": fake_sha(run.id ^ 0xba5e),
                    "repo": {"id": id_of(&full), "url": repo_api, "name": state.name}
                }
            })
        })
        .collect();
    json!({
        "id": run.id,
        "name": run.name,
        "node_id": node_id("WFR", run.id),
        "check_suite_id": run.id + 7,
        "check_suite_node_id": node_id("CS", run.id + 7),
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": run.path,
        "run_number": run.run_number,
        "event": run.event,
        "display_title": run.commit_message.lines().next().unwrap_or_default(),
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": workflow_id,
        "url": url,
        "html_url": format!("{HTML}/{full}/actions/runs/{}", run.id),
        "pull_requests": pull_requests,
        "created_at": run.created_at,
        "updated_at": run.created_at,
        "actor": actor,
        "run_attempt": run.run_attempt,
        "referenced_workflows": [],
        "run_started_at": run.created_at,
        "triggering_actor": actor,
        "jobs_url": format!("{url}/jobs"),
        "logs_url": format!("{url}/logs"),
        "check_suite_url": format!("{repo_api}/check-suites/{}", run.id + 7),
        "artifacts_url": format!("{url}/artifacts"),
        "cancel_url": format!("{url}/cancel"),
        "rerun_url": format!("{url}/rerun"),
        "previous_attempt_url": if run.run_attempt > 1 { Value::String(format!("{url}/attempts/{}", run.run_attempt - 1)) } else { Value::Null },
        "workflow_url": format!("{repo_api}/actions/workflows/{workflow_id}"),
        "head_commit": {
            "id": run.head_sha,
            "tree_id": fake_sha(run.id ^ 0x7eee),
            "message": run.commit_message,
            "timestamp": run.created_at,
            "author": {"name": run.author_name, "email": run.author_email},
            "committer": {"name": run.author_name, "email": run.author_email}
        },
        "repository": minimal_repo(api, &full, state.private, false),
        "head_repository": minimal_repo(api, &head_full, state.private, run.head_repository.is_some())
    })
}

/// A job of a run (`job`).
pub(crate) fn job(api: &str, state: &State, run: &FakeRun, job: &FakeJob) -> Value {
    let full = format!("{}/{}", state.owner, state.name);
    let repo_api = format!("{api}/repos/{full}");
    let completed = job.status == "completed";
    let steps: Vec<Value> = job
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "name": s.name,
                "status": s.status,
                "conclusion": s.conclusion,
                "number": i + 1,
                "started_at": run.created_at,
                "completed_at": if s.status == "completed" { Value::String(run.created_at.clone()) } else { Value::Null }
            })
        })
        .collect();
    json!({
        "id": job.id,
        "run_id": run.id,
        "run_url": run_url(api, state, run.id),
        "run_attempt": run.run_attempt,
        "node_id": node_id("CR", job.id),
        "head_sha": run.head_sha,
        "url": format!("{repo_api}/actions/jobs/{}", job.id),
        "html_url": format!("{HTML}/{full}/actions/runs/{}/job/{}", run.id, job.id),
        "status": job.status,
        "conclusion": job.conclusion,
        "created_at": run.created_at,
        "started_at": run.created_at,
        "completed_at": if completed { Value::String(run.created_at.clone()) } else { Value::Null },
        "name": job.name,
        "steps": steps,
        "check_run_url": format!("{repo_api}/check-runs/{}", job.id),
        "labels": ["ubuntu-latest"],
        "runner_id": 1,
        "runner_name": "GitHub Actions 1",
        "runner_group_id": 1,
        "runner_group_name": "GitHub Actions",
        "workflow_name": run.name,
        "head_branch": run.head_branch
    })
}

pub(crate) fn label(api: &str, state: &State, name: &str) -> Value {
    let id = id_of(&format!("label:{name}"));
    json!({
        "id": id,
        "node_id": node_id("LA", id),
        "url": format!("{api}/repos/{}/{}/labels/{name}", state.owner, state.name),
        "name": name,
        "description": null,
        "color": "ededed",
        "default": false
    })
}

fn branch_ref(api: &str, state: &State, full: &str, branch: &str, sha: &str, fork: bool) -> Value {
    let owner = full.split('/').next().unwrap_or(full);
    let mut repo = merge(
        minimal_repo(api, full, state.private, fork),
        json!({
            "created_at": "2020-01-26T19:01:12Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "pushed_at": "2026-01-01T00:00:00Z",
            "git_url": format!("git://github.com/{full}.git"),
            "ssh_url": format!("git@github.com:{full}.git"),
            "clone_url": format!("{HTML}/{full}.git"),
            "svn_url": format!("{HTML}/{full}"),
            "homepage": null,
            "size": 108,
            "stargazers_count": 3,
            "watchers_count": 3,
            "language": "Python",
            "has_issues": true,
            "has_projects": true,
            "has_downloads": true,
            "has_wiki": true,
            "has_pages": false,
            "forks_count": 1,
            "mirror_url": null,
            "archived": false,
            "disabled": false,
            "open_issues_count": 0,
            "license": null,
            "forks": 1,
            "open_issues": 0,
            "watchers": 3,
            "default_branch": state.default_branch,
            "topics": [],
            "visibility": if state.private { "private" } else { "public" }
        }),
    );
    if let Value::Object(map) = &mut repo {
        map.insert("allow_forking".to_owned(), Value::Bool(true));
    }
    json!({
        "label": format!("{owner}:{branch}"),
        "ref": branch,
        "sha": sha,
        "user": user(api, owner),
        "repo": repo
    })
}

/// A pull request (`pull-request`, the full form that `GET .../pulls/{n}` returns).
pub(crate) fn pull(api: &str, state: &State, pull: &FakePull) -> Value {
    let full = format!("{}/{}", state.owner, state.name);
    let repo_api = format!("{api}/repos/{full}");
    let n = pull.number;
    let id = id_of(&format!("pr{n}"));
    let url = format!("{repo_api}/pulls/{n}");
    let html = format!("{HTML}/{full}/pull/{n}");
    let head_full = pull.head_repository.clone().unwrap_or_else(|| full.clone());
    let closed = pull.state == "closed";
    let labels: Vec<Value> = pull.labels.iter().map(|l| label(api, state, l)).collect();
    let comments = state.comments.iter().filter(|c| c.issue == n).count();
    json!({
        "url": url,
        "id": id,
        "node_id": node_id("PR", id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": format!("{repo_api}/issues/{n}"),
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{repo_api}/pulls/comments{{/number}}"),
        "comments_url": format!("{repo_api}/issues/{n}/comments"),
        "statuses_url": format!("{repo_api}/statuses/{}", pull.head_sha),
        "number": n,
        "state": pull.state,
        "locked": false,
        "title": pull.title,
        "user": user(api, &pull.author),
        "body": pull.body,
        "labels": labels,
        "milestone": null,
        "active_lock_reason": null,
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "closed_at": if closed { Value::String(pull.updated_at.clone()) } else { Value::Null },
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": branch_ref(api, state, &head_full, &pull.head_branch, &pull.head_sha, pull.head_repository.is_some()),
        "base": branch_ref(api, state, &full, &pull.base_branch, &fake_sha(n ^ 0xba5e), false),
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": format!("{repo_api}/issues/{n}")},
            "comments": {"href": format!("{repo_api}/issues/{n}/comments")},
            "review_comments": {"href": format!("{url}/comments")},
            "review_comment": {"href": format!("{repo_api}/pulls/comments{{/number}}")},
            "commits": {"href": format!("{url}/commits")},
            "statuses": {"href": format!("{repo_api}/statuses/{}", pull.head_sha)}
        },
        "author_association": "OWNER",
        "auto_merge": null,
        "draft": pull.draft,
        "merged": false,
        "mergeable": true,
        "rebaseable": true,
        "mergeable_state": "clean",
        "merged_by": null,
        "comments": comments,
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 1,
        "deletions": 1,
        "changed_files": 1
    })
}

/// An issue comment (`issue-comment`).
pub(crate) fn comment(api: &str, state: &State, comment: &FakeComment) -> Value {
    let full = format!("{}/{}", state.owner, state.name);
    let repo_api = format!("{api}/repos/{full}");
    let is_pull = state.pulls.iter().any(|p| p.number == comment.issue);
    let kind = if is_pull { "pull" } else { "issues" };
    let id = comment.id;
    json!({
        "id": id,
        "node_id": node_id("IC", id),
        "url": format!("{repo_api}/issues/comments/{id}"),
        "html_url": format!("{HTML}/{full}/{kind}/{}#issuecomment-{id}", comment.issue),
        "body": comment.body,
        "user": user(api, &comment.author),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "issue_url": format!("{repo_api}/issues/{}", comment.issue),
        "author_association": "OWNER",
        "performed_via_github_app": null,
        "reactions": {
            "url": format!("{repo_api}/issues/comments/{id}/reactions"),
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0
        }
    })
}

pub(crate) fn workflow_permissions(p: &WorkflowPermissions) -> Value {
    json!({
        "default_workflow_permissions": p.default_workflow_permissions,
        "can_approve_pull_request_reviews": p.can_approve_pull_request_reviews
    })
}

/// GitHub's error body.
pub(crate) fn error(message: &str, documentation_url: &str, status: u16) -> Value {
    json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.to_string()
    })
}
