//! `selfheal bench` end to end: the real binary, real preparation, the real
//! Docker sandbox, and a scripted model that answers each sample with its
//! known fix.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use selfheal_bench::guard::TestsVerdict;
use selfheal_bench::report::{Report, RunStatus};

use super::harness::{ModelServer, require_docker, sample_replies, samples_dir, selfheal};

const MODEL: &str = "bench-model";

/// Every file of the named samples with its bytes: the suite must not change.
fn snapshot(names: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<_> = names.iter().map(|n| samples_dir().join(n)).collect();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.display().to_string(), std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn bench_fixes_two_samples_with_their_known_fixes() {
    require_docker();
    let names = ["syntax-error", "test-expectation"];
    let before = snapshot(&names);
    let server = ModelServer::start(MODEL, names.iter().map(|n| sample_replies(n)).collect()).await;
    let home = tempfile::tempdir().expect("home");
    let records = home.path().join("records");
    let out = selfheal(home.path(), &server.base_url(), MODEL)
        .current_dir(samples_dir())
        .args([
            "bench",
            "--json",
            "--cases",
            "syntax-error,test-expectation",
            "--records",
        ])
        .arg(&records)
        // Passed on to every `selfheal run`.
        .args(["--", "--timeout", "240"])
        .output()
        .await
        .expect("selfheal bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let report: Report =
        serde_json::from_str(&stdout).expect("the report is selfheal.bench/v1 JSON");
    assert_eq!(report.schema, "selfheal.bench/v1");
    assert_eq!(Path::new(&report.suite), samples_dir());

    let names_run: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names_run, ["syntax-error", "test-expectation"]);
    for case in &report.cases {
        assert_eq!(case.runs.len(), 1, "{}", case.name);
        let run = &case.runs[0];
        assert_eq!(
            run.status,
            RunStatus::Fixed,
            "{}: {run:?}\n{stderr}",
            case.name
        );
        assert_eq!(run.attempts, 1, "{}", case.name);
        assert_eq!(run.exit_code, Some(0));
        assert_eq!(run.model.as_deref(), Some(MODEL));
        assert!(
            run.tokens.prompt > 0 && run.tokens.completion > 0,
            "{run:?}"
        );
        assert!(
            run.stages_ms.contains_key(&selfheal_types::Stage::Validate),
            "{run:?}"
        );
        assert!(run.wall_ms > 0);
        assert_eq!(run.per_attempt.len(), 1, "{run:?}");
        assert_eq!(
            run.per_attempt[0].outcome,
            selfheal_types::AttemptOutcome::Validated
        );
        let kept: selfheal_types::RepairRecord = serde_json::from_str(
            &std::fs::read_to_string(records.join(format!("{}-1.json", case.name)))
                .expect("the record was kept"),
        )
        .expect("a repair record");
        assert_eq!(kept.tokens, run.tokens);
        assert!(kept.outcome.is_fixed());
        let validation = kept.attempts[0]
            .validation
            .as_ref()
            .expect("the fix was validated");
        assert!(validation.passed());
        assert!(
            validation.image.starts_with("selfheal-"),
            "validated in the Docker sandbox: {}",
            validation.image
        );
        assert_eq!(case.fixed, 1);
        assert!((case.rate - 1.0).abs() < f64::EPSILON);
    }
    let syntax = &report.cases[0].runs[0];
    assert_eq!(syntax.files, ["csvstats/reader.py"]);
    assert_eq!(syntax.tests, Some(TestsVerdict::Intact));
    let expectation = &report.cases[1];
    assert!(expectation.allow_test_edits);
    assert_eq!(expectation.runs[0].files, ["tests/test_cart.py"]);
    assert_eq!(expectation.runs[0].tests, Some(TestsVerdict::AsKnownFix));
    assert_eq!(report.totals.fixed, 2);
    assert_eq!(report.totals.runs, 2);
    assert_eq!(report.totals.errors, 0);
    assert_eq!(report.totals.tests_changed, 0);

    // Progress went to stderr, one line per run when not at a terminal.
    assert!(
        stderr.contains("syntax-error: fixed in 1 attempt(s), tests intact"),
        "{stderr}"
    );
    assert!(
        stderr.contains("test-expectation: fixed in 1 attempt(s), tests as known fix"),
        "{stderr}"
    );
    assert_eq!(snapshot(&names), before, "the suite was modified");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_never_fixes_is_a_measured_miss_not_a_harness_error() {
    require_docker();
    // The server knows no reply for this sample: every model call fails.
    let server = ModelServer::start(MODEL, Vec::new()).await;
    let home = tempfile::tempdir().expect("home");
    let out = selfheal(home.path(), &server.base_url(), MODEL)
        .current_dir(samples_dir().join("logic-bug"))
        .args(["bench", "--cases", "logic-bug", "--max-attempts", "1"])
        .output()
        .await
        .expect("selfheal bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("case "), "{stdout}");
    assert!(lines[1].starts_with("logic-bug "), "{stdout}");
    assert!(lines[1].contains("  no  "), "{stdout}");
    assert!(lines[2].starts_with("fixed 0/1 (0%)"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_model_server_is_a_one_line_error_and_exit_2() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let home = tempfile::tempdir().expect("home");
    let out = selfheal(home.path(), &format!("http://127.0.0.1:{port}/v1"), MODEL)
        .current_dir(samples_dir())
        .args(["bench", "--cases", "syntax-error"])
        .output()
        .await
        .expect("selfheal bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("error: not ready to bench: llm: http://127.0.0.1:"),
        "{stderr}"
    );
}

/// Notes that the model was asked, and answers 500 a little later.
struct Slow(Arc<AtomicBool>);

impl wiremock::Respond for Slow {
    fn respond(&self, _request: &wiremock::Request) -> wiremock::ResponseTemplate {
        self.0.store(true, Ordering::SeqCst);
        wiremock::ResponseTemplate::new(500).set_delay(std::time::Duration::from_secs(3))
    }
}

/// Ctrl-C (here SIGINT to the bench alone) stops the bench after the
/// running case: it reports what it measured and exits 130.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_bench_after_the_running_case() {
    require_docker();
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v1/models"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "object": "list",
            "data": [{"id": MODEL, "object": "model", "created": 1_790_000_000, "owned_by": "bench"}]
        })))
        .mount(&server)
        .await;
    let asked = Arc::new(AtomicBool::new(false));
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Slow(Arc::clone(&asked)))
        .mount(&server)
        .await;
    let home = tempfile::tempdir().expect("home");
    let mut cmd = selfheal(home.path(), &format!("{}/v1", server.uri()), MODEL);
    cmd.current_dir(samples_dir())
        .args([
            "bench",
            "--json",
            "--max-attempts",
            "1",
            "--cases",
            "logic-bug,syntax-error",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("selfheal bench starts");
    let pid = child.id().expect("a pid");
    assert!(pid > 1, "a real process id");
    // Wait until the first case's run is asking the model.
    let started = std::time::Instant::now();
    while !asked.load(Ordering::SeqCst) {
        assert!(started.elapsed().as_secs() < 120, "no model request came");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // `-s INT PID`: one positive process id, nothing a kill(1) could read
    // as a process group or as "every process".
    let killed = std::process::Command::new("kill")
        .args(["-s", "INT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(240),
        child.wait_with_output(),
    )
    .await
    .expect("the bench stops after the running case")
    .expect("waiting");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(130),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let report: Report = serde_json::from_str(&stdout).expect("the partial report");
    assert!(report.interrupted);
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["logic-bug"], "syntax-error never started");
    assert_eq!(report.cases[0].runs[0].status, RunStatus::NotFixed);
}
