//! `check_access`: what each kind of token may do, found out without writing anything.

use selfheal_fakehub::{FakeToken, Permissions};
use selfheal_github::AccessReport;

use super::{ACTIONS, FULL, NO_ACTIONS, READ_ONLY, client, hub};

#[tokio::test]
async fn a_full_classic_token_may_do_everything() {
    let hub = hub()
        .workflow_permissions("write", true)
        .start()
        .expect("the fake starts");
    let report = client(&hub, FULL)
        .check_access(true)
        .await
        .expect("checked");
    assert_eq!(
        report,
        AccessReport {
            login: Some("mona".to_owned()),
            can_read_actions: true,
            can_push: Some(true),
            can_open_pull_requests: Some(true),
            workflows_can_create_prs: Some(true),
            problems: Vec::new(),
        }
    );
    // Nothing was written.
    assert!(hub.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn a_read_only_token_can_read_runs_but_not_publish() {
    let hub = hub().start().expect("the fake starts");
    let client = client(&hub, READ_ONLY);
    let reading = client.check_access(false).await.expect("checked");
    assert_eq!(
        reading,
        AccessReport {
            login: Some("reader".to_owned()),
            can_read_actions: true,
            can_push: Some(false),
            can_open_pull_requests: Some(false),
            workflows_can_create_prs: Some(false),
            problems: Vec::new(),
        }
    );
    let publishing = client.check_access(true).await.expect("checked");
    assert_eq!(
        publishing.problems,
        vec![
            "the token cannot push to octo/widgets: it needs `contents: write` (classic tokens: the `repo` scope)"
                .to_owned()
        ]
    );
}

#[tokio::test]
async fn a_token_without_actions_read_is_told_so() {
    let hub = hub().start().expect("the fake starts");
    let report = client(&hub, NO_ACTIONS)
        .check_access(false)
        .await
        .expect("checked");
    assert!(!report.can_read_actions);
    assert_eq!(
        report.problems,
        vec![
            "the token cannot list workflow runs of octo/widgets (403: Resource not accessible by personal access token): it needs `actions: read` (classic tokens: the `repo` scope)"
                .to_owned()
        ]
    );
}

#[tokio::test]
async fn the_actions_token_has_no_user_and_may_be_barred_from_pull_requests() {
    let hub = hub().start().expect("the fake starts");
    let report = client(&hub, ACTIONS)
        .check_access(true)
        .await
        .expect("checked");
    assert_eq!(
        report,
        AccessReport {
            login: None,
            can_read_actions: true,
            can_push: None,
            can_open_pull_requests: Some(false),
            workflows_can_create_prs: Some(false),
            problems: vec![
                "workflows may not create pull requests in octo/widgets: enable \"Allow GitHub Actions to create and approve pull requests\" in Settings > Actions > General, or publish with a personal access token (`pull-requests: write`)"
                    .to_owned()
            ],
        }
    );
    let allowed = super::hub()
        .workflow_permissions("write", true)
        .start()
        .expect("the fake starts");
    let report = client(&allowed, ACTIONS)
        .check_access(true)
        .await
        .expect("checked");
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.can_open_pull_requests, None);
    assert_eq!(report.workflows_can_create_prs, Some(true));
}

#[tokio::test]
async fn a_classic_token_without_the_workflow_scope_cannot_push_workflow_fixes() {
    let hub = super::hub()
        .token("ghp_RepoOnly", FakeToken::classic("mona", &["repo"]))
        .token("ghp_Nothing", FakeToken::classic("mona", &["read:org"]))
        .start()
        .expect("the fake starts");
    let report = client(&hub, "ghp_RepoOnly")
        .check_access(true)
        .await
        .expect("checked");
    assert_eq!(
        report.problems,
        vec![
            "the classic token lacks the `workflow` scope: fixes that change .github/workflows/ cannot be pushed"
                .to_owned()
        ]
    );
    let report = client(&hub, "ghp_Nothing")
        .check_access(true)
        .await
        .expect("checked");
    assert_eq!(report.can_open_pull_requests, Some(false));
    assert!(
        report.problems.contains(
            &"the classic token lacks the `repo` scope: it cannot push or open pull requests"
                .to_owned()
        ),
        "{:?}",
        report.problems
    );
    // Not publishing, none of that matters.
    let report = client(&hub, "ghp_Nothing")
        .check_access(false)
        .await
        .expect("checked");
    assert_eq!(report.problems, Vec::<String>::new());
}

#[tokio::test]
async fn an_invalid_token_fails_the_check() {
    let hub = hub().start().expect("the fake starts");
    let error = client(&hub, "ghp_Invalid0123456789abcdefABCDEFGHIJ")
        .check_access(false)
        .await
        .expect_err("401");
    assert_eq!(
        error.to_string(),
        "github rejected the token (401) while trying to read the repository; hint: the token is invalid, expired or revoked: create a new one and set GITHUB_TOKEN"
    );
    assert_eq!(error.status(), Some(401));
    assert!(!error.retryable());
}

#[tokio::test]
async fn anonymous_access_to_a_public_repository_reads_runs_but_cannot_download_logs() {
    let hub = super::hub()
        .anonymous(Permissions::actions_read())
        .start()
        .expect("the fake starts");
    let client = super::client_for(
        &hub,
        None,
        super::quick(1),
        std::path::Path::new("/nonexistent"),
    );
    let report = client.check_access(false).await.expect("checked");
    assert_eq!(
        report,
        AccessReport {
            login: None,
            can_read_actions: true,
            can_push: None,
            can_open_pull_requests: Some(false),
            workflows_can_create_prs: None,
            problems: vec![
                "no token: downloading run logs needs one with `actions: read`".to_owned()
            ],
        }
    );
}
