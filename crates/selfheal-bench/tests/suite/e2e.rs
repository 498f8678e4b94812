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

/// Notes that the model was asked, and never answers in time: a run waiting
/// on it ends only when it is stopped.
struct Hanging(Arc<AtomicBool>);

impl wiremock::Respond for Hanging {
    fn respond(&self, _request: &wiremock::Request) -> wiremock::ResponseTemplate {
        self.0.store(true, Ordering::SeqCst);
        wiremock::ResponseTemplate::new(500).set_delay(std::time::Duration::from_secs(900))
    }
}

/// A signal to the bench alone (`INT` as from a script, `TERM` as from a
/// job runner) stops the running case at once, not after it: the bench
/// passes the stop on, the run cleans up, no other case starts, the partial
/// report is printed, the exit code is 130, and nothing is left in the
/// temporary folder, neither the bench's prepared copies nor the run's
/// scratch trees.
async fn a_signal_stops_the_running_case_and_leaves_nothing(signal: &str) {
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
        .respond_with(Hanging(Arc::clone(&asked)))
        .mount(&server)
        .await;
    let home = tempfile::tempdir().expect("home");
    let tmp = tempfile::tempdir().expect("a temporary folder of its own");
    let mut cmd = selfheal(home.path(), &format!("{}/v1", server.uri()), MODEL);
    cmd.current_dir(samples_dir())
        .env("TMPDIR", tmp.path())
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
    // `-s SIG PID`: one positive process id, nothing a kill(1) could read
    // as a process group or as "every process".
    let killed = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let signalled = std::time::Instant::now();
    // The model would not answer for 15 minutes: only a stop passed on to
    // the run ends it this soon.
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the bench stops the running case instead of waiting for it")
        .expect("waiting");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(130),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        signalled.elapsed() < selfheal_bench::runner::GRACE,
        "the run stopped on SIGTERM, it was not killed after the grace period"
    );
    let report: Report = serde_json::from_str(&stdout).expect("the partial report");
    assert!(report.interrupted);
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["logic-bug"], "syntax-error never started");
    let run = &report.cases[0].runs[0];
    assert_eq!(run.status, RunStatus::Error, "{run:?}");
    assert_eq!(run.reason.as_deref(), Some("interrupted"), "{run:?}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    assert_eq!(
        left,
        Vec::<std::path::PathBuf>::new(),
        "nothing left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_stops_the_running_case_and_leaves_nothing() {
    a_signal_stops_the_running_case_and_leaves_nothing("INT").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_running_case_and_leaves_nothing() {
    a_signal_stops_the_running_case_and_leaves_nothing("TERM").await;
}
