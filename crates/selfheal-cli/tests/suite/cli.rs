//! `analyze`, `check`, and the input errors that exit 2.

use selfheal_types::Analysis;

use super::{MODEL, run_args};
use crate::harness::sample::Sample;
use crate::harness::{ModelServer, Selfheal, prepare, require_docker};

const SAMPLE: &str = "test-expectation";
const FAILING_TEST: &str = "tests/test_cart.py::test_cart_over_500_gets_ten_percent";

#[tokio::test]
async fn analyze_json_names_the_failing_test_and_file() {
    let sample = Sample::load(SAMPLE);
    let home = tempfile::tempdir().expect("home");
    let out = Selfheal::new(home.path())
        .args(["analyze", "--json"])
        .arg(sample.logs_dir())
        .run()
        .await;

    out.assert_code(0);
    let analysis: Analysis = serde_json::from_value(out.json()).expect("an analysis");
    assert_eq!(analysis.schema, selfheal_types::ANALYSIS_SCHEMA);
    let primary = analysis.primary().expect("a failure is found");
    assert_eq!(primary.category, selfheal_types::Category::TestFailure);
    assert_eq!(primary.test.as_deref(), Some(FAILING_TEST));
    assert!(
        primary
            .locations
            .iter()
            .any(|l| l.file == "tests/test_cart.py"),
        "the failure points at the test file: {primary:#?}"
    );
    assert!(analysis.excerpt.contains("684.00"), "{}", analysis.excerpt);
}

#[tokio::test]
async fn analyze_on_a_missing_path_exits_2() {
    let home = tempfile::tempdir().expect("home");
    let missing = home.path().join("no-such-run");
    let out = Selfheal::new(home.path())
        .args(["analyze", "--json"])
        .arg(&missing)
        .run()
        .await;

    out.assert_code(2);
    assert!(
        out.stdout.trim().is_empty(),
        "no result on stdout: {}",
        out.stdout
    );
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.contains("no-such-run"),
        "{}",
        out.stderr
    );
}

/// `run --offline --run-id <unknown>` against a prepared repository.
async fn run_unknown_run_id() -> crate::harness::Output {
    let repo = prepare(SAMPLE);
    // Any model call would be a bug: the script is empty.
    let server = ModelServer::start(MODEL, Vec::new()).await;
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(["run", "--offline", "--yes", "--repo"])
        .arg(&repo.root)
        .args(["--run-id", "424242"])
        .run()
        .await;
    assert!(server.chat_requests().await.is_empty());
    assert!(repo.fix_branches().is_empty());
    assert!(
        repo.records().is_empty(),
        "no record for a run that was never started"
    );
    out
}

#[tokio::test]
async fn run_offline_with_an_unknown_run_id_exits_2() {
    let out = run_unknown_run_id().await;
    out.assert_code(2);
    assert!(out.stdout.trim().is_empty(), "{}", out.stdout);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("424242"),
        "the error names the run: {}",
        out.stderr
    );
}

#[tokio::test]
async fn run_offline_with_an_unknown_run_id_says_so_on_one_line() {
    let out = run_unknown_run_id().await;
    out.assert_code(2);
    let stderr = out.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr:\n{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("hint:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn offline_mode_from_the_environment_reads_the_cache() {
    let repo = prepare(SAMPLE);
    let server = ModelServer::start(MODEL, Vec::new()).await;
    // Same unknown run, but offline comes from OFFLINE_MODE=true: the error is
    // about the cache, not about GitHub.
    let mut args = run_args(&repo);
    args.retain(|a| a != "--offline");
    if let Some(i) = args.iter().position(|a| a == "--run-id") {
        args[i + 1] = "424242".to_owned();
    }
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .env("OFFLINE_MODE", "true")
        .args(args)
        .arg("--yes")
        .run()
        .await;

    out.assert_code(2);
    assert!(out.stderr.contains("424242"), "{}", out.stderr);
    assert!(!out.stderr.contains("GitHub"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_json_passes_against_the_server_and_docker() {
    require_docker();
    let repo = prepare(SAMPLE);
    let server = ModelServer::start(MODEL, Vec::new()).await;
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(["check", "--offline", "--json", "--repo"])
        .arg(&repo.root)
        .run()
        .await;

    out.assert_code(0);
    let report = out.json();
    assert_eq!(report["ok"], true, "{report:#}");
    let checks = report["checks"].as_array().expect("a list of checks");
    assert!(checks.iter().all(|c| c["ok"] == true), "{report:#}");
    assert!(checks.iter().any(|c| c["name"] == "llm"), "{report:#}");
    assert!(
        server.model_list_requests().await >= 1,
        "check asked /v1/models"
    );
    assert!(
        server.chat_requests().await.is_empty(),
        "check spends no tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_when_the_server_does_not_list_the_model() {
    require_docker();
    let repo = prepare(SAMPLE);
    let server = ModelServer::start_listing(MODEL, &["some-other-model"], Vec::new()).await;
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(["check", "--offline", "--json", "--repo"])
        .arg(&repo.root)
        .run()
        .await;

    out.assert_code(1);
    let report = out.json();
    assert_eq!(report["ok"], false, "{report:#}");
    let llm = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "llm"))
        .unwrap_or_else(|| panic!("an llm check: {report:#}"));
    assert_eq!(llm["ok"], false, "{llm:#}");
    assert!(
        llm["detail"].as_str().is_some_and(|d| d.contains(MODEL)),
        "the failure names the missing model: {llm:#}"
    );
    // Docker itself is fine: only the model check fails.
    let failing: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failing.len(), 1, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_and_clean_removes_containers_of_a_crashed_selfheal() {
    require_docker();
    let repo = prepare(SAMPLE);
    let server = ModelServer::start(MODEL, Vec::new()).await;
    // A validation container whose selfheal died: its pid cannot exist.
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .map_or_else(|_| "4194304".to_owned(), |s| s.trim().to_owned());
    let created = std::process::Command::new("docker")
        .args([
            "create",
            "--label",
            &format!("org.selfheal.validation={pid_max}"),
            "selfheal-sandbox-python:bookworm",
            "true",
        ])
        .output()
        .expect("docker create runs");
    assert!(created.status.success(), "{created:?}");
    let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let short: String = id.chars().take(12).collect();

    let check = Selfheal::new(&repo.home())
        .model(&server)
        .args(["check", "--offline", "--json", "--repo"])
        .arg(&repo.root)
        .run()
        .await;
    let report = check.json();
    let leftovers = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "leftovers"))
        .unwrap_or_else(|| panic!("a leftovers check: {report:#}"))
        .clone();
    assert!(
        leftovers["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&short) && d.contains("selfheal clean")),
        "{leftovers:#}"
    );

    let clean = Selfheal::new(&repo.home())
        .args(["clean", "--json"])
        .run()
        .await;
    clean.assert_code(0);
    let removed = clean.json();
    assert!(
        removed["removed"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|i| i == id.as_str())),
        "{removed:#}"
    );
    let inspect = std::process::Command::new("docker")
        .args(["inspect", &id])
        .output()
        .expect("docker inspect runs");
    assert!(!inspect.status.success(), "the container is gone");
}
