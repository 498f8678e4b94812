//! The model tier: the binary against a REAL local model server.
//!
//! Every test is `#[ignore]`d; `tests/model-tier.sh` starts the server
//! (`scripts/local-model.sh start --model 0.5b`) and runs
//! `cargo test -p selfheal-cli --test model_tier -- --ignored` with
//! `SELFHEAL_TEST_MODEL_URL` set to its base URL (`http://127.0.0.1:8089/v1`).
//! Without that variable the tests say so on stderr and pass without running.
//!
//! A 0.5B model's answers are not predictable, so these tests pin the
//! protocol and the loop, not the model's skill: the run ends with exit 0 or
//! 1 (never a usage error or a crash), writes a valid record with at least
//! one attempt and real token counts, every attempt carries a diagnosis or a
//! reason, and a claimed fix is a real branch that left the checkout alone.

mod harness;

use selfheal_types::{Outcome, RepairRecord};

use harness::{SampleRepo, Selfheal, Snapshot, git, prepare, require_docker};

/// The alias `scripts/local-model.sh` serves its model under.
const DEFAULT_MODEL: &str = "local-model";

/// The server's base URL and model name, or `None` (with a loud note) when
/// the tier was not given a server.
#[allow(clippy::print_stderr)] // a skipped tier must be visible in the test output
fn model_server() -> Option<(String, String)> {
    let Ok(url) = std::env::var("SELFHEAL_TEST_MODEL_URL") else {
        eprintln!(
            "SKIPPED: SELFHEAL_TEST_MODEL_URL is not set; hint: run tests/model-tier.sh, \
             or start scripts/local-model.sh and set it to the server's /v1 URL"
        );
        return None;
    };
    let model =
        std::env::var("SELFHEAL_TEST_MODEL_NAME").unwrap_or_else(|_| DEFAULT_MODEL.to_owned());
    Some((url.trim_end_matches('/').to_owned(), model))
}

/// A repair with the real model, checked for everything the loop promises
/// whatever the model says.
async fn repair_with_real_model(sample: &str, url: &str, model: &str) {
    require_docker();
    let repo = prepare(sample);
    // selfheal's own bookkeeping, in its self-ignored folder.
    let ignore = [".selfheal/results", ".selfheal/ledger.jsonl"];
    let before = Snapshot::take(&repo.root, &ignore);

    let out = Selfheal::new(&repo.home())
        .model_at(url, model)
        .args([
            "run",
            "--offline",
            "--yes",
            "--json",
            "--max-attempts",
            "2",
            // The model is what this tier tests, not the remedies.
            "--no-remedies",
            "--repo",
        ])
        .arg(&repo.root)
        .args(["--run-id", &repo.run_id()])
        // A sample whose right fix is in its tests declares it.
        .args(
            (repo.sample.meta["allow_test_edits"] == serde_json::Value::Bool(true))
                .then_some("--allow-test-edits"),
        )
        .run()
        .await;

    assert!(
        matches!(out.code, Some(0 | 1)),
        "a repair ends fixed (0) or not fixed (1), never {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    let record = out.record();
    assert_eq!(record, repo.record(), "stdout and .selfheal/results/ agree");
    check_record(&repo, &record, model);

    let after = Snapshot::take(&repo.root, &ignore);
    match &record.outcome {
        Outcome::Fixed { branch, commit } => {
            assert_eq!(out.code, Some(0));
            assert_eq!(&git(&repo.root, &["rev-parse", branch]), commit);
            assert_eq!(
                git(&repo.root, &["rev-parse", &format!("{branch}^")]),
                repo.broken
            );
            assert_eq!(
                after.without_branches(std::slice::from_ref(branch)),
                before,
                "the checkout is untouched"
            );
        }
        Outcome::NotFixed { reason } => {
            assert_eq!(out.code, Some(1));
            assert!(!reason.trim().is_empty());
            assert!(repo.fix_branches().is_empty());
            assert_eq!(after, before, "the checkout is untouched");
        }
        Outcome::NothingToFix => panic!("the sample's logs show a failure"),
        Outcome::EnvironmentError { reason } => {
            panic!("the sandbox image cannot run the sample's tests: {reason}")
        }
    }
}

fn check_record(repo: &SampleRepo, record: &RepairRecord, model: &str) {
    assert_eq!(record.schema, selfheal_types::REPAIR_SCHEMA);
    assert_eq!(record.model, model);
    assert_eq!(record.base_commit, repo.broken);
    assert!(record.failure.is_some(), "the targeted failure is recorded");
    assert!(
        (1..=2).contains(&record.attempts.len()),
        "{:#?}",
        record.attempts
    );
    assert!(
        record.tokens.total() > 0,
        "the server's token usage is recorded"
    );
    for (i, attempt) in record.attempts.iter().enumerate() {
        assert_eq!(attempt.number as usize, i + 1);
        assert!(
            attempt.diagnosis.is_some() || attempt.reason.is_some(),
            "attempt {} has a diagnosis or a reason: {attempt:#?}",
            attempt.number
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real local model: tests/model-tier.sh"]
async fn real_model_repairs_a_wrong_test_expectation_or_says_why_not() {
    let Some((url, model)) = model_server() else {
        return;
    };
    repair_with_real_model("test-expectation", &url, &model).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real local model: tests/model-tier.sh"]
async fn real_model_repairs_a_bad_import_or_says_why_not() {
    let Some((url, model)) = model_server() else {
        return;
    };
    repair_with_real_model("import-name", &url, &model).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real local model: tests/model-tier.sh"]
async fn check_passes_against_the_real_server() {
    let Some((url, model)) = model_server() else {
        return;
    };
    require_docker();
    let repo = prepare("test-expectation");
    let out = Selfheal::new(&repo.home())
        .model_at(&url, &model)
        .args(["check", "--offline", "--json", "--repo"])
        .arg(&repo.root)
        .run()
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["ok"], true, "{}", out.stdout);
}
