//! Stopping selfheal mid-repair (SIGINT, SIGTERM) loses nothing and leaves
//! nothing: no container, no temporary tree, the checkout as it was, and a
//! record of what the attempt had proposed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use selfheal_types::Outcome;

use super::{MODEL, run_args};
use crate::harness::{ModelServer, Snapshot, prepare, require_docker};

const SAMPLE: &str = "test-expectation";

fn containers_of(pid: u32) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=org.selfheal.validation={pid}"),
        ])
        .output()
        .expect("docker ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `selfheal run` of `repo` as a child process with its own `TMPDIR`, so
/// scratch trees left behind would show.
fn spawn_selfheal(
    repo: &crate::harness::SampleRepo,
    tmp: &std::path::Path,
    base_url: &str,
    extra: &[&str],
) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", repo.home())
        .env("NO_COLOR", "1")
        .env("TMPDIR", tmp)
        .env("OPENAI_BASE_URL", base_url)
        .env("OPENAI_API_KEY", "sk-e2e-test")
        .env("SELFHEAL_MODEL", MODEL)
        .args(run_args(repo))
        .args(["--yes", "--json"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("selfheal starts")
}

/// Sends `signal` to `pid`.
fn send(signal: &str, pid: u32) {
    let sent = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

/// Exit 130, no scratch tree in `tmp`, the checkout as `before`, no fix
/// branch, and a record that says the repair was interrupted.
#[track_caller]
fn assert_interrupted_cleanly(
    repo: &crate::harness::SampleRepo,
    out: &std::process::Output,
    tmp: &std::path::Path,
    before: &Snapshot,
    ignore: &[&str],
) -> selfheal_types::RepairRecord {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp)
        .expect("tmp")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    assert_eq!(
        left,
        Vec::<std::path::PathBuf>::new(),
        "no scratch tree left"
    );
    assert_eq!(
        &Snapshot::take(&repo.root, ignore),
        before,
        "the checkout is as it was"
    );
    assert!(repo.fix_branches().is_empty());
    let record = repo.record();
    assert!(
        matches!(&record.outcome, Outcome::NotFixed { reason } if reason.starts_with("interrupted")),
        "{:?}",
        record.outcome
    );
    record
}

async fn interrupt_during_validation(signal: &str) {
    require_docker();
    let repo = prepare(SAMPLE);
    let ignore = [".selfheal/results", ".selfheal/ledger.jsonl"];
    let before = Snapshot::take(&repo.root, &ignore);
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
    // A temp dir of its own, so scratch trees left behind would show.
    let tmp = repo.outside().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");

    let child = spawn_selfheal(
        &repo,
        &tmp,
        &server.base_url(),
        &["--test-command", "sleep 120"],
    );
    let pid = child.id().expect("a pid");

    // Wait until the tests run in their container, then ask it to stop.
    let started = Instant::now();
    while containers_of(pid).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no validation container appeared"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    send(signal, pid);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("selfheal stops within a minute of the signal")
        .expect("selfheal exits");
    assert_eq!(
        containers_of(pid),
        Vec::<String>::new(),
        "no container left"
    );
    // The attempt's proposal survives in the record.
    let record = assert_interrupted_cleanly(&repo, &out, &tmp, &before, &ignore);
    assert_eq!(record.attempts.len(), 1);
    assert!(record.attempts[0].diff.is_some(), "the diff is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_validation_leaves_nothing_behind_and_keeps_the_record() {
    interrupt_during_validation("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_validation_leaves_nothing_behind_and_keeps_the_record() {
    interrupt_during_validation("-INT").await;
}

/// While the model is thinking (a server that takes a minute to answer):
/// the signal stops selfheal at once, with the same guarantees.
async fn interrupt_while_the_model_thinks(signal: &str) {
    require_docker();
    let repo = prepare(SAMPLE);
    let ignore = [".selfheal/results", ".selfheal/ledger.jsonl"];
    let before = Snapshot::take(&repo.root, &ignore);
    let slow = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(90))
                .set_body_string("{}"),
        )
        .mount(&slow)
        .await;
    let tmp = repo.outside().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");

    let child = spawn_selfheal(&repo, &tmp, &format!("{}/v1", slow.uri()), &[]);
    let pid = child.id().expect("a pid");
    let started = Instant::now();
    while slow
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the model was never asked"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send(signal, pid);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("selfheal stops without waiting for the model")
        .expect("selfheal exits");
    assert_interrupted_cleanly(&repo, &out, &tmp, &before, &ignore);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_the_model_thinks_leaves_nothing_behind() {
    interrupt_while_the_model_thinks("-INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_model_thinks_leaves_nothing_behind() {
    interrupt_while_the_model_thinks("-TERM").await;
}
