//! Rate limits waited out, server errors and dropped connections retried, within the policy.

use std::path::Path;
use std::time::{Duration, Instant};

use selfheal_fakehub::{FakeRun, Fault};
use selfheal_github::{ClientStats, RetryPolicy};
use selfheal_monitor::{CiProvider, MonitorError, RunFilter};

use super::{FULL, client, client_for, hub};

const RUNS_PATH: &str = "/repos/octo/widgets/actions/runs";

fn statuses(hub: &selfheal_fakehub::FakeHub) -> Vec<u16> {
    hub.requests_to("GET", RUNS_PATH)
        .iter()
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_counted() {
    let hub = hub().run(FakeRun::new(1)).start().expect("the fake starts");
    hub.fail_next(RUNS_PATH, 1, Fault::TooManyRequests { retry_after: 1 });
    let client = client_for(
        &hub,
        Some(FULL),
        RetryPolicy {
            max_retries: 3,
            max_wait: Duration::from_secs(5),
        },
        Path::new("/nonexistent"),
    );
    let started = Instant::now();
    let runs = client
        .failed_runs(&RunFilter::default())
        .await
        .expect("runs after the wait");
    assert_eq!(runs.len(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(statuses(&hub), vec![429, 200]);
    assert_eq!(
        client.stats(),
        ClientStats {
            requests: 2,
            retries: 1,
            rate_limit_waits: 1,
            waited: Duration::from_secs(1),
            not_modified: 0,
        }
    );
}

#[tokio::test]
async fn a_secondary_rate_limit_403_is_a_wait_not_a_permission_problem() {
    let hub = hub().run(FakeRun::new(1)).start().expect("the fake starts");
    hub.fail_next(RUNS_PATH, 1, Fault::SecondaryRateLimit { retry_after: 1 });
    let client = client_for(
        &hub,
        Some(FULL),
        RetryPolicy {
            max_retries: 3,
            max_wait: Duration::from_secs(5),
        },
        Path::new("/nonexistent"),
    );
    let runs = client
        .failed_runs(&RunFilter::default())
        .await
        .expect("runs after the wait");
    assert_eq!(runs.len(), 1);
    assert_eq!(statuses(&hub), vec![403, 200]);
    assert_eq!(client.stats().rate_limit_waits, 1);
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_longest_wait_fails_at_once_saying_when_to_retry() {
    let hub = hub().run(FakeRun::new(1)).start().expect("the fake starts");
    hub.fail_next(RUNS_PATH, 1, Fault::RateLimitExhausted { reset_in: 3600 });
    let started = Instant::now();
    let error = client(&hub, FULL)
        .failed_runs(&RunFilter::default())
        .await
        .expect_err("the wait is too long");
    assert!(started.elapsed() < Duration::from_secs(1));
    let text = error.to_string();
    assert!(
        text.starts_with(
            "github: rate limit reached while trying to list workflow runs (403); retry after 20"
        ),
        "{text}"
    );
    assert!(text.contains(" UTC; hint: wait until then"), "{text}");
    assert!(!text.contains('\n'));
    assert!(matches!(
        error,
        MonitorError::Provider {
            status: Some(403),
            retryable: true,
            ..
        }
    ));
    assert_eq!(statuses(&hub), vec![403]);
}

#[tokio::test]
async fn a_502_is_retried_with_backoff() {
    let hub = hub().run(FakeRun::new(1)).start().expect("the fake starts");
    hub.fail_next(RUNS_PATH, 2, Fault::BadGateway);
    let client = client(&hub, FULL);
    let runs = client
        .failed_runs(&RunFilter::default())
        .await
        .expect("runs after retries");
    assert_eq!(runs.len(), 1);
    assert_eq!(statuses(&hub), vec![502, 502, 200]);
    assert_eq!(client.stats().retries, 2);
    assert_eq!(client.stats().rate_limit_waits, 0);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let hub = hub().run(FakeRun::new(1)).start().expect("the fake starts");
    hub.fail_next(RUNS_PATH, 1, Fault::Disconnect);
    let runs = client(&hub, FULL)
        .failed_runs(&RunFilter::default())
        .await
        .expect("runs after a retry");
    assert_eq!(runs.len(), 1);
    assert_eq!(statuses(&hub), vec![0, 200]);
}

#[tokio::test]
async fn exhausted_retries_give_a_retryable_error() {
    let hub = hub().run(FakeRun::new(1)).start().expect("the fake starts");
    hub.fail_next(RUNS_PATH, 3, Fault::BadGateway);
    let error = client(&hub, FULL)
        .failed_runs(&RunFilter::default())
        .await
        .expect_err("502 three times");
    assert_eq!(
        error.to_string(),
        "github: answered 502 to list workflow runs after 3 attempt(s); hint: GitHub may be having trouble (https://www.githubstatus.com), try again later"
    );
    assert!(matches!(
        error,
        MonitorError::Provider {
            provider: "github",
            status: Some(502),
            retryable: true,
            ..
        }
    ));
    assert_eq!(statuses(&hub), vec![502, 502, 502]);
}

#[tokio::test]
async fn an_unreachable_api_is_a_retryable_connection_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let client = selfheal_github::GithubClient::new(selfheal_github::GithubSettings {
        api_url: format!("http://127.0.0.1:{port}"),
        repository: "octo/widgets".to_owned(),
        token: Some(FULL.to_owned()),
        cache_root: Path::new("/nonexistent").to_path_buf(),
        retry: super::quick(1),
    })
    .expect("valid settings");
    let error = client.run("1").await.expect_err("nothing listens");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "github: cannot reach github at http://127.0.0.1:{port} to read run 1 after 2 attempt(s): "
        )),
        "{text}"
    );
    // The cause, not only octocrab's summary of it.
    assert!(text.contains("Connection refused"), "{text}");
    assert!(
        text.ends_with("; hint: check GITHUB_API_URL and the network"),
        "{text}"
    );
    assert!(matches!(
        error,
        MonitorError::Provider {
            status: None,
            retryable: true,
            ..
        }
    ));
}
