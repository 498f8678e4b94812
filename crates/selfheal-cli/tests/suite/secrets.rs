//! Secrets in CI logs and in the environment never reach the model, the
//! record on disk or stdout.

use super::{MODEL, run_args};
use crate::harness::{ModelServer, Selfheal, prepare, require_docker};

const SAMPLE: &str = "test-expectation";

/// A token of GitHub's shape, made at run time (a committed one would trip
/// secret scanners).
fn github_shaped_token() -> String {
    let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let seed = std::process::id() as usize;
    let body: String = (0..36)
        .map(|i| alphabet[(seed.wrapping_mul(31).wrapping_add(i * 17)) % alphabet.len()])
        .collect();
    format!("ghp_{body}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_the_log_and_the_environment_stay_on_the_machine() {
    require_docker();
    let repo = prepare(SAMPLE);
    let token = github_shaped_token();
    let env_secret = "hunter2-but-much-longer-than-eight";
    // The failing step printed both, right inside the failure block.
    let log = repo.cached_logs().join("test/5_Run tests.txt");
    let text = std::fs::read_to_string(&log).expect("step log");
    let marker = "E       AssertionError: assert Decimal('648.00') == Decimal('684.00')";
    assert!(
        text.contains(marker),
        "the sample's log has the assertion line"
    );
    let leaked = text.replace(
        marker,
        &format!(
            "{marker}\n2026-11-16T09:14:16.7099442Z E       debug: GH_TOKEN={token} deploy_secret={env_secret}"
        ),
    );
    std::fs::write(&log, leaked).expect("write the log");
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .env("DEPLOY_SECRET", env_secret)
        .args(run_args(&repo))
        .args(["--yes", "--json"])
        .run()
        .await;

    out.assert_code(0);
    let sent = server.all_requests_text().await;
    assert!(sent.contains("[REDACTED:"), "the model saw placeholders");
    for secret in [token.as_str(), env_secret] {
        assert!(!sent.contains(secret), "{secret} reached the model server");
        assert!(!out.stdout.contains(secret), "{secret} on stdout");
        let results = repo.root.join(".selfheal/results");
        for entry in std::fs::read_dir(&results).expect("results") {
            let path = entry.expect("entry").path();
            let written = std::fs::read_to_string(&path).expect("record");
            assert!(!written.contains(secret), "{secret} in {}", path.display());
        }
    }
}

/// Errors and log lines are printed redacted too: a secret that ends up in
/// a message (here, in a path the user passed) is replaced on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_log_lines_on_stderr_are_redacted() {
    let repo = prepare(SAMPLE);
    let token = github_shaped_token();
    let env_secret = "hunter2-but-much-longer-than-eight";
    let out = Selfheal::new(&repo.home())
        .env("DEPLOY_PASSWORD", env_secret)
        .env("SELFHEAL_LOG", "debug")
        .args(run_args(&repo))
        .args(["--yes", "--logs"])
        .arg(format!("/nonexistent/{token}/{env_secret}.log"))
        .run()
        .await;
    out.assert_code(2);
    assert!(out.stderr.contains("error: "), "{}", out.stderr);
    assert!(!out.stderr.contains(&token), "{}", out.stderr);
    assert!(!out.stderr.contains(env_secret), "{}", out.stderr);
    assert!(out.stderr.contains("[REDACTED"), "{}", out.stderr);
}
