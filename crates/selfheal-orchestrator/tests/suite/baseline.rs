//! Suites that were already red for other reasons: when the targeted tests
//! pass but the full suite fails, the full suite runs once on the unpatched
//! commit, and only tests that passed there count as broken by the change.

use std::fmt::Write as _;

use selfheal_types::{AttemptOutcome, Category, Outcome};
use selfheal_validate::{FULL_STEP, ValidationPlan};

use super::{
    Events, OPS_BROKEN, OPS_FIXED, Project, Result, ScriptedModel, ScriptedSandbox, Setup,
    baseline_report, branch_tip, ci_analysis, fix_branch, passed, plan, project, proposal,
    suite_failed, tokens, tree_with, whole_fix,
};

/// pytest `-q` output in which `failed` (id, message) fail.
fn pytest_output(failed: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "=================================== FAILURES ===================================\n",
    );
    for (id, message) in failed {
        let (file, name) = id.split_once("::").expect("a pytest id");
        writeln!(
            out,
            "___________________________________ {name} ___________________________________\n{file}:2: in {name}\n    assert False\nE   {message}"
        )
        .expect("writes to a string");
    }
    out.push_str(
        "=========================== short test summary info ============================\n",
    );
    for (id, message) in failed {
        writeln!(out, "FAILED {id} - {message}").expect("writes to a string");
    }
    writeln!(out, "{} failed, 3 passed in 0.05s", failed.len()).expect("writes to a string");
    out
}

const ADD: (&str, &str) = (
    "tests/test_calc.py::test_add",
    "NameError: name 'bb' is not defined",
);
const FLAKY_A: (&str, &str) = ("tests/test_other.py::test_flaky_a", "assert False");
const FLAKY_B: (&str, &str) = ("tests/test_other.py::test_flaky_b", "AssertionError: x");
const MUL: (&str, &str) = ("tests/test_calc.py::test_mul", "assert 7 == 6");

/// The repair, with CI having got as far as running the tests: the targeted
/// failure is a test failure, so a red full suite after the change is a
/// regression unless the baseline says otherwise.
fn setup<'a>(
    project: &'a Project,
    model: &'a ScriptedModel,
    sandbox: &'a ScriptedSandbox,
    events: &'a Events,
) -> Result<Setup<'a>> {
    let (mut analysis, _) = ci_analysis(project)?;
    for failure in &mut analysis.failures {
        failure.category = Category::TestFailure;
    }
    let mut setup = Setup::new(project, model, sandbox, events);
    setup.job.analysis = Some(analysis);
    Ok(setup)
}

/// The plan with only its full-suite step: what the baseline runs.
fn baseline_plan() -> ValidationPlan {
    let full = plan();
    ValidationPlan::new(
        full.steps
            .into_iter()
            .filter(|s| s.name == FULL_STEP)
            .collect(),
        full.timeout,
    )
}

#[tokio::test]
async fn failures_that_were_there_before_the_change_do_not_stop_the_fix() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([
        Ok(suite_failed(&pytest_output(&[FLAKY_A, FLAKY_B]))),
        Ok(baseline_report(1, &pytest_output(&[ADD, FLAKY_A, FLAKY_B]))),
    ]);
    let events = Events::default();

    let setup = setup(&project, &model, &sandbox, &events)?;
    let failure = setup
        .job
        .analysis
        .as_ref()
        .and_then(|a| a.failures.first().cloned())
        .expect("a failure");
    let record = setup.run().await?;

    let attempt = &record.attempts[0];
    assert_eq!(
        (attempt.outcome, attempt.reason.as_deref()),
        (
            AttemptOutcome::Validated,
            Some(
                "validated against the baseline: 2 tests already failed at the failing commit and still fail (tests/test_other.py::test_flaky_a, tests/test_other.py::test_flaky_b)"
            )
        )
    );
    let branch = fix_branch(&failure);
    assert!(
        matches!(&record.outcome, Outcome::Fixed { branch: b, .. } if *b == branch),
        "{:?}",
        record.outcome
    );
    assert_eq!(branch_tip(&project, &branch)?.ops, OPS_FIXED);
    // The baseline ran the full suite alone, on the unpatched commit.
    let seen = sandbox.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (&seen[0].plan, &seen[0].files),
        (&plan(), &tree_with(OPS_FIXED))
    );
    assert_eq!(
        (&seen[1].plan, &seen[1].files),
        (&baseline_plan(), &tree_with(OPS_BROKEN))
    );
    Ok(())
}

#[tokio::test]
async fn a_new_failure_beside_old_ones_is_a_regression_that_names_it() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Ok(whole_fix(tokens(300, 40))),
        Ok(proposal(
            "Return b + a from add()",
            &[("calc/ops.py", "a + bb - 1", "b + a")],
            tokens(300, 40),
        )),
    ]);
    let after = pytest_output(&[FLAKY_A, MUL]);
    // No third report: the second attempt reuses the baseline.
    let sandbox = ScriptedSandbox::new([
        Ok(suite_failed(&after)),
        Ok(baseline_report(1, &pytest_output(&[ADD, FLAKY_A]))),
        Ok(suite_failed(&after)),
    ]);
    let events = Events::default();
    let mut setup = setup(&project, &model, &sandbox, &events)?;
    setup.settings.max_attempts = 2;

    let record = setup.run().await?;

    let regression = "the failing tests pass, but the change breaks 1 test that passed at the failing commit (tests/test_calc.py::test_mul)";
    let attempts: Vec<_> = record
        .attempts
        .iter()
        .map(|a| (a.outcome, a.reason.as_deref()))
        .collect();
    assert_eq!(
        attempts,
        [
            (AttemptOutcome::ValidationFailed, Some(regression)),
            (AttemptOutcome::ValidationFailed, Some(regression)),
        ]
    );
    assert!(
        matches!(&record.outcome, Outcome::NotFixed { .. }),
        "{:?}",
        record.outcome
    );
    let plans: Vec<_> = sandbox.seen().into_iter().map(|v| v.plan).collect();
    assert_eq!(plans, [plan(), baseline_plan(), plan()]);
    // Reverted: the tree the baseline saw was the unpatched one.
    assert_eq!(sandbox.seen()[1].files, tree_with(OPS_BROKEN));
    Ok(())
}

#[tokio::test]
async fn a_baseline_that_cannot_be_read_leaves_the_regression_as_it_was() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([
        Ok(suite_failed(&pytest_output(&[FLAKY_A]))),
        Ok(baseline_report(139, "Segmentation fault (core dumped)\n")),
    ]);
    let events = Events::default();
    let mut setup = setup(&project, &model, &sandbox, &events)?;
    setup.settings.max_attempts = 1;

    let record = setup.run().await?;

    assert_eq!(
        (
            record.attempts[0].outcome,
            record.attempts[0].reason.as_deref()
        ),
        (
            AttemptOutcome::ValidationFailed,
            Some("the failing tests pass, but the change breaks other tests: assert False")
        )
    );
    assert_eq!(sandbox.seen().len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_passing_suite_needs_no_baseline() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    // One report: a baseline run would find the queue empty and panic.
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = setup(&project, &model, &sandbox, &events)?.run().await?;

    assert_eq!(
        (
            record.attempts[0].outcome,
            record.attempts[0].reason.as_deref()
        ),
        (AttemptOutcome::Validated, None)
    );
    assert!(matches!(record.outcome, Outcome::Fixed { .. }));
    assert_eq!(sandbox.seen().len(), 1);
    Ok(())
}
