//! 401, 403 and 404 say what went wrong and what to do, and never show the token.

use std::path::Path;

use selfheal_fakehub::{FakePull, FakeRun, Fault};
use selfheal_monitor::{CiProvider, Forge, MonitorError, NewPullRequest, RunFilter};

use super::{FULL, NO_ACTIONS, READ_ONLY, client, client_for, hub, quick};

fn new_pull() -> NewPullRequest {
    NewPullRequest {
        title: "Fix the build".to_owned(),
        body: "<!-- selfheal -->".to_owned(),
        head_branch: "selfheal/fix-1".to_owned(),
        base_branch: "main".to_owned(),
        draft: false,
        labels: Vec::new(),
    }
}

#[tokio::test]
async fn a_bad_token_is_a_401_with_a_hint() {
    let hub = hub().start().expect("the fake starts");
    let error = client(&hub, "ghp_NotAKnownToken000000000000000000000")
        .failed_runs(&RunFilter::default())
        .await
        .expect_err("401");
    assert_eq!(
        error.to_string(),
        "github: rejected the token (401) while trying to list workflow runs; hint: the token is invalid, expired or revoked: create a new one and set GITHUB_TOKEN"
    );
    assert!(matches!(
        error,
        MonitorError::Provider {
            status: Some(401),
            retryable: false,
            ..
        }
    ));
}

#[tokio::test]
async fn no_token_at_all_says_which_permission_to_give_one() {
    let hub = hub().start().expect("the fake starts");
    let error = client_for(&hub, None, quick(1), Path::new("/nonexistent"))
        .run("1")
        .await
        .expect_err("401");
    assert_eq!(
        error.to_string(),
        "github: requires a token to read run 1 (401); hint: set GITHUB_TOKEN to a token with actions: read"
    );
}

#[tokio::test]
async fn a_403_names_the_permission_the_attempt_needs() {
    let hub = hub()
        .run(FakeRun::new(1))
        .pull_request(FakePull::new(3, "fix"))
        .start()
        .expect("the fake starts");
    let runs = client(&hub, NO_ACTIONS)
        .failed_runs(&RunFilter::default())
        .await
        .expect_err("no actions: read");
    assert_eq!(
        runs.to_string(),
        "github: refused to list workflow runs (403: Resource not accessible by personal access token); hint: the token needs `actions: read` on this repository (classic tokens: the `repo` scope; in a workflow: a `permissions:` entry)"
    );
    let reader = client(&hub, READ_ONLY);
    let open = reader
        .open_pull_request(&new_pull())
        .await
        .expect_err("read-only");
    assert!(
        open.to_string().contains(
            "refused to open a pull request from selfheal/fix-1 into main (403: Resource not accessible by personal access token); hint: the token needs `pull-requests: write`"
        ),
        "{open}"
    );
    let comment = reader
        .upsert_comment(3, "<!-- m -->", "hello")
        .await
        .expect_err("read-only");
    assert!(
        comment
            .to_string()
            .contains("hint: the token needs `issues: write or pull-requests: write`"),
        "{comment}"
    );
    for error in [&runs, &open, &comment] {
        assert!(matches!(
            error,
            MonitorError::Provider {
                status: Some(403),
                retryable: false,
                ..
            }
        ));
    }
}

#[tokio::test]
async fn actions_forbidden_to_create_pull_requests_says_where_to_allow_it() {
    let hub = hub().start().expect("the fake starts");
    let error = client(&hub, super::ACTIONS)
        .open_pull_request(&new_pull())
        .await
        .expect_err("the repository forbids it");
    assert!(
        error.to_string().contains(
            "(403: GitHub Actions is not permitted to create or approve pull requests.); hint: allow it in the repository's Settings > Actions > General > Workflow permissions"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_repository_is_told_apart_from_a_missing_run() {
    let gone = hub().repository_missing().start().expect("the fake starts");
    let error = client(&gone, FULL).run("5").await.expect_err("404");
    assert_eq!(
        error.to_string(),
        "github: repository octo/widgets not found or the token cannot see it (404); hint: check the owner/name and that the token has access to this repository"
    );
    let hub = hub().start().expect("the fake starts");
    let error = client(&hub, FULL).run("5").await.expect_err("404");
    assert_eq!(
        error.to_string(),
        "github: has no run 5 in octo/widgets (404) while trying to read run 5"
    );
    assert!(matches!(
        error,
        MonitorError::Provider {
            status: Some(404),
            retryable: false,
            ..
        }
    ));
}

#[tokio::test]
async fn the_token_never_appears_in_any_error() {
    // The fake echoes the token in its messages here; the client must cut it out.
    let echo: &'static str = Box::leak(format!("Bad credentials for {FULL}").into_boxed_str());
    let hub = hub()
        .run(FakeRun::new(1))
        .pull_request(FakePull::new(3, "fix"))
        .start()
        .expect("the fake starts");
    hub.fail_next(
        "/repos/octo/widgets/pulls",
        1,
        Fault::Message {
            status: 422,
            message: echo,
        },
    );
    hub.fail_next(
        "/repos/octo/widgets/actions/runs",
        1,
        Fault::Message {
            status: 403,
            message: echo,
        },
    );
    let client = client(&hub, FULL);
    let mut errors: Vec<MonitorError> = vec![
        client
            .open_pull_request(&new_pull())
            .await
            .expect_err("422"),
        client
            .failed_runs(&RunFilter::default())
            .await
            .expect_err("403"),
    ];
    let gone = super::hub()
        .repository_missing()
        .start()
        .expect("the fake starts");
    errors.push(super::client(&gone, FULL).run("1").await.expect_err("404"));
    let bad = super::client(&hub, READ_ONLY);
    errors.push(bad.open_pull_request(&new_pull()).await.expect_err("403"));
    let texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}")])
        .collect();
    assert_eq!(texts.len(), 8);
    assert!(
        texts[0].contains("Bad credentials for <redacted>"),
        "{}",
        texts[0]
    );
    for text in &texts {
        assert!(!text.contains(FULL), "{text}");
        assert!(!text.contains(READ_ONLY), "{text}");
    }
    assert!(!format!("{client:?}").contains(FULL));

    // `check_access` errors are `GithubError`s: the same holds for them.
    let invalid = super::client(&hub, "ghp_Invalid0123456789abcdefABCDEFGHIJ");
    let error = invalid.check_access(true).await.expect_err("401");
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(
            !text.contains("ghp_Invalid0123456789abcdefABCDEFGHIJ"),
            "{text}"
        );
    }
}
