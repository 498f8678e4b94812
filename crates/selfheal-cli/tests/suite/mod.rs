//! The scenarios, grouped by what they pin; shared assertions live here.

mod baseline;
mod cli;
mod github;
mod install;
mod interrupt;
mod models;
mod refusals;
mod repair;
mod sandbox;
mod secrets;
mod toolchains;

use std::path::PathBuf;

use selfheal_types::{AttemptOutcome, Outcome, RepairRecord, ValidationOutcome};

use crate::harness::git::{branches, show};
use crate::harness::sample::SANDBOX_IMAGE;
use crate::harness::{SampleRepo, git, git_ok};

/// The model name the scripted server serves; deliberately not a default, so
/// a test sees whether the binary passed on what it was told.
pub const MODEL: &str = "e2e-scripted-coder";

/// `selfheal run --offline --repo R --run-id ID --no-remedies`, the
/// flags every repair test shares (the scripted model's replies are what
/// they test, so no remedy goes first), and `--allow-test-edits` for a
/// sample whose right fix is in its tests (its `sample.json` says
/// `"allow_test_edits": true`).
pub fn run_args(repo: &SampleRepo) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--offline".into(),
        "--repo".into(),
        repo.root.display().to_string(),
        "--run-id".into(),
        repo.run_id(),
        "--no-remedies".into(),
    ];
    if repo.sample.meta["allow_test_edits"] == serde_json::Value::Bool(true) {
        args.push("--allow-test-edits".into());
    }
    args
}

/// For the `test-expectation` sample: a reply that applies, at a test the
/// model says is wrong, but leaves the failing test failing (one cent off).
pub fn wrong_guess() -> String {
    serde_json::json!({
        "diagnosis": {
            "summary": "Update the expected total",
            "root_cause": "The expected total is off by one cent.",
            "test_is_wrong": "The test expects a total one cent too low.",
        },
        "edits": [{
            "file": "tests/test_cart.py",
            "old": "    assert cart.total() == Decimal(\"684.00\")",
            "new": "    assert cart.total() == Decimal(\"685.00\")",
        }],
    })
    .to_string()
}

/// Checks a fixed outcome against the repository: the branch is named
/// `selfheal/<run-id>-<8 hex>`, exists, is not checked out, holds exactly
/// one commit on top of the broken one, and the user's HEAD did not move.
/// Returns the branch.
#[track_caller]
pub fn assert_fixed(repo: &SampleRepo, record: &RepairRecord) -> String {
    let Outcome::Fixed { branch, commit } = &record.outcome else {
        panic!("expected a fixed outcome, got {:?}", record.outcome);
    };
    assert_eq!(
        record.base_commit, repo.broken,
        "the repair starts from the broken commit"
    );
    let prefix = format!("selfheal/{}-", repo.run_id());
    let fingerprint = branch
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("branch {branch} does not start with {prefix}"));
    assert!(
        fingerprint.len() == 8 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "branch {branch} does not end in 8 hex digits"
    );
    assert!(
        branches(&repo.root).contains(branch),
        "branch {branch} does not exist"
    );
    assert_eq!(&git(&repo.root, &["rev-parse", branch]), commit);
    assert_eq!(
        git(&repo.root, &["rev-parse", &format!("{branch}^")]),
        repo.broken,
        "the fix commit's parent is the broken commit"
    );
    assert!(
        !git_ok(
            &repo.root,
            &["rev-parse", "--verify", "-q", &format!("{branch}^2")]
        ),
        "the fix commit is not a merge"
    );
    assert_eq!(
        git(&repo.root, &["symbolic-ref", "HEAD"]),
        "refs/heads/main",
        "the fix branch is not checked out"
    );
    assert_eq!(git(&repo.root, &["rev-parse", "HEAD"]), repo.broken);
    branch.clone()
}

/// The fix branch's tree equals the broken tree with `fixes` applied by the
/// sample's strict applier, and the commit touches only the sample's files.
#[track_caller]
pub fn assert_branch_has(repo: &SampleRepo, branch: &str, fixes: &[PathBuf]) {
    let expected = repo.expected_tree(fixes);
    let changed = git(&repo.root, &["diff", "--name-only", &repo.broken, branch]);
    let mut changed: Vec<String> = changed.lines().map(str::to_owned).collect();
    changed.sort();
    let touched = repo.sample.files_touched();
    if !touched.is_empty() {
        assert_eq!(changed, touched, "files changed on {branch}");
    }
    for file in &changed {
        let want = std::fs::read_to_string(expected.join(file))
            .unwrap_or_else(|e| panic!("expected tree lacks {file}: {e}"));
        assert_eq!(show(&repo.root, branch, file), want, "{file} on {branch}");
    }
}

/// A validated attempt: the sandbox passed, in the sandbox image.
#[track_caller]
pub fn assert_validated(record: &RepairRecord, index: usize) {
    let attempt = &record.attempts[index];
    assert_eq!(attempt.outcome, AttemptOutcome::Validated, "{attempt:#?}");
    assert_eq!(attempt.number as usize, index + 1);
    let report = attempt
        .validation
        .as_ref()
        .expect("a validated attempt has a report");
    assert_eq!(report.outcome, ValidationOutcome::Passed);
    assert_eq!(report.image, SANDBOX_IMAGE);
    assert!(!report.steps.is_empty(), "validation ran at least one step");
    assert!(
        report
            .steps
            .iter()
            .all(|s| s.exit_code == Some(0) && !s.timed_out)
    );
    assert!(attempt.diagnosis.is_some());
    assert!(attempt.diff.as_deref().is_some_and(|d| !d.is_empty()));
    assert!(attempt.tokens.total() > 0, "the server's usage is recorded");
}

/// Tokens add up, the model and run are recorded as given.
#[track_caller]
pub fn assert_bookkeeping(repo: &SampleRepo, record: &RepairRecord) {
    assert_eq!(record.schema, selfheal_types::REPAIR_SCHEMA);
    assert_eq!(record.model, MODEL);
    assert_eq!(record.run.id, repo.run_id());
    let mut sum = selfheal_types::TokenUsage::default();
    for attempt in &record.attempts {
        sum += attempt.tokens;
    }
    assert_eq!(record.tokens, sum, "record tokens are the attempts' sum");
}

/// Lines of a unified diff that add or remove something (not the headers).
pub fn changed_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect()
}
