//! Downloading run logs into the offline cache.

use selfheal_fakehub::{FakeRun, logs_zip};
use selfheal_monitor::{CiProvider, MonitorError, OfflineCache};
use selfheal_types::RunInfo;

use super::{FULL, client, client_for, hub, quick};

fn zip() -> Vec<u8> {
    logs_zip(&[
        ("0_build.txt", "2026-01-01T00:00:00Z whole job log\n"),
        (
            "build/1_Set up job.txt",
            "2026-01-01T00:00:00Z setting up\n",
        ),
        (
            "build/2_Run tests.txt",
            "2026-01-01T00:00:01Z FAILED tests/test_x.py::test_y\n",
        ),
    ])
}

#[tokio::test]
async fn logs_are_unpacked_into_the_cache_with_run_json_and_no_token_leaves_the_api_host() {
    let hub = hub()
        .run(
            FakeRun::new(77)
                .workflow("CI", ".github/workflows/ci.yml")
                .logs_zip(zip()),
        )
        .start()
        .expect("the fake starts");
    let root = tempfile::tempdir().expect("a temp dir");
    let client = client_for(&hub, Some(FULL), quick(2), root.path());
    let run = client.run("77").await.expect("the run");
    let folder = client.fetch_logs(&run).await.expect("logs");

    assert_eq!(folder, root.path().join(".selfheal/logs/77"));
    assert_eq!(
        std::fs::read_to_string(folder.join("build/2_Run tests.txt")).expect("a step log"),
        "2026-01-01T00:00:01Z FAILED tests/test_x.py::test_y\n"
    );
    assert!(folder.join("0_build.txt").is_file());
    let saved: RunInfo =
        serde_json::from_str(&std::fs::read_to_string(folder.join("run.json")).expect("run.json"))
            .expect("run.json is a RunInfo");
    assert_eq!(saved, run);
    // The cache lists it, and no half-written download is left beside it.
    let cached = OfflineCache::new(root.path())
        .select(Some("77"))
        .expect("cached");
    assert_eq!(cached.logs, folder);
    let leftovers: Vec<String> = std::fs::read_dir(root.path().join(".selfheal/logs"))
        .expect("the cache folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".download"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());

    let downloads = hub.download_requests();
    assert_eq!(downloads.len(), 1);
    assert_eq!(downloads[0].status, 200);
    assert_eq!(downloads[0].header("authorization"), None);
    assert!(!downloads[0].text().contains(FULL));
    let api = hub.requests_to("GET", "/repos/octo/widgets/actions/runs/77/logs");
    assert_eq!(api[0].status, 302);
    assert_eq!(
        api[0].header("authorization"),
        Some(format!("Bearer {FULL}").as_str())
    );
}

#[tokio::test]
async fn fetching_again_replaces_the_cached_copy() {
    let hub = hub()
        .run(FakeRun::new(5).logs_zip(zip()))
        .start()
        .expect("the fake starts");
    let root = tempfile::tempdir().expect("a temp dir");
    let client = client_for(&hub, Some(FULL), quick(2), root.path());
    let run = RunInfo {
        id: "5".to_owned(),
        ..RunInfo::default()
    };
    let first = client.fetch_logs(&run).await.expect("logs");
    hub.add_run(FakeRun::new(5).logs_zip(logs_zip(&[("0_other.txt", "new\n")])));
    let second = client.fetch_logs(&run).await.expect("logs again");
    assert_eq!(first, second);
    assert!(second.join("0_other.txt").is_file());
    assert!(!second.join("0_build.txt").exists());
}

#[tokio::test]
async fn expired_and_missing_logs_say_so_in_one_line() {
    let hub = hub()
        .run(FakeRun::new(8).logs_expired())
        .run(FakeRun::new(7))
        .start()
        .expect("the fake starts");
    let root = tempfile::tempdir().expect("a temp dir");
    let client = client_for(&hub, Some(FULL), quick(2), root.path());
    for (id, status) in [("8", 410), ("7", 404)] {
        let run = RunInfo {
            id: id.to_owned(),
            ..RunInfo::default()
        };
        let error = client.fetch_logs(&run).await.expect_err("no logs");
        assert_eq!(
            error.to_string(),
            format!(
                "github: the logs of run {id} are gone ({status}): they expired (GitHub keeps them 90 days by default), were deleted, or the run has not finished; hint: pick a newer run, or pass --logs with a saved copy"
            )
        );
        assert!(matches!(
            error,
            MonitorError::Provider {
                retryable: false,
                status: Some(s),
                ..
            } if s == status
        ));
    }
    assert!(!root.path().join(".selfheal/logs/8").exists());
}

#[tokio::test]
async fn a_run_id_that_is_not_a_number_never_reaches_a_url_or_a_path() {
    let hub = hub().start().expect("the fake starts");
    let run = RunInfo {
        id: "../../etc".to_owned(),
        ..RunInfo::default()
    };
    let error = client(&hub, FULL)
        .fetch_logs(&run)
        .await
        .expect_err("refused");
    assert!(
        error.to_string().contains("is not a GitHub run id"),
        "{error}"
    );
    assert_eq!(hub.requests().len(), 0);
}
