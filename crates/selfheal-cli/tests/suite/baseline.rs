//! A suite that was already red for another reason: a test unrelated to the
//! failure fails at the failing commit too, so a fix that leaves only it
//! failing is validated against the baseline rather than reverted.

use selfheal_types::{AttemptOutcome, ValidationOutcome};

use super::{MODEL, assert_fixed, run_args};
use crate::harness::sample::SampleRepo;
use crate::harness::{ModelServer, Selfheal, prepare, require_docker};

const SAMPLE: &str = "test-expectation";
const UNRELATED: &str = "tests/test_flaky.py::test_unrelated";

/// The sample, plus a commit with a test that always fails; the cached run
/// now tested that commit.
fn with_unrelated_failure() -> SampleRepo {
    let mut repo = prepare(SAMPLE);
    repo.commit_before_the_run(
        &[(
            "tests/test_flaky.py",
            "def test_unrelated():\n    assert False\n",
        )],
        "a test that always fails",
    );
    repo
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_already_failed_at_the_failing_commit_does_not_stop_the_fix() {
    require_docker();
    let repo = with_unrelated_failure();
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json"])
        .run()
        .await;

    out.assert_code(0);
    let record = out.record();
    assert_fixed(&repo, &record);
    assert_eq!(record.attempts.len(), 1, "{:#?}", record.attempts);
    let attempt = &record.attempts[0];
    assert_eq!(attempt.outcome, AttemptOutcome::Validated, "{attempt:#?}");
    // The sandbox's own verdict stays as it was: the full suite failed.
    let report = attempt.validation.as_ref().expect("a report");
    assert_eq!(report.outcome, ValidationOutcome::Failed);
    assert_eq!(
        attempt.reason.as_deref(),
        Some(
            format!(
                "validated against the baseline: 1 test already failed at the failing commit and still fails ({UNRELATED})"
            )
            .as_str()
        )
    );
}
