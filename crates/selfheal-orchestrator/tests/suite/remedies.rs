//! Remedies: tried once per target before the model is asked, at no
//! token cost, validated like any change, and told to the model when they
//! do not work. A revert that gets past the failure but breaks something
//! else is undone all the same.

use selfheal_reason::PreviousAttempt;
use selfheal_types::{AttemptOutcome, Event, Outcome, RepairRecord, TokenUsage};

use super::{
    Events, FIRST_FIX_DIFF, FURTHER_FAILURE_OUTPUT, OPS_FIXED, OPS_HALF_FIXED, Project, Result,
    SAME_FAILURE_OUTPUT, ScriptedModel, ScriptedSandbox, Setup, Validation, excerpt_of, failed,
    passed, plan, project, project_from, proposal, second_fix, tokens, tree_with, whole_fix,
};

/// The repair of `project` with the remedies as given (`reverts`: the
/// revert rule too), and the events it sent.
async fn repair(
    project: &Project,
    model: &ScriptedModel,
    sandbox: &ScriptedSandbox,
    remedies: bool,
    reverts: bool,
) -> Result<(RepairRecord, Events)> {
    let events = Events::default();
    let mut setup = Setup::new(project, model, sandbox, &events);
    setup.settings.remedies = remedies;
    setup.settings.reverts = reverts;
    let record = setup.run().await?;
    Ok((record, events))
}

#[tokio::test]
async fn the_remedy_goes_first_and_the_model_takes_what_is_left() -> Result<()> {
    // `return a + bb - 1` in `add(a, b)`: `b` is the name Python would
    // suggest, which leaves the off-by-one for the model.
    let project = project()?;
    let model = ScriptedModel::new([Ok(second_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(failed(FURTHER_FAILURE_OUTPUT)), Ok(passed())]);
    let (record, events) = repair(&project, &model, &sandbox, true, false).await?;

    assert!(
        matches!(record.outcome, Outcome::Fixed { .. }),
        "{:?}",
        record.outcome
    );
    let first = &record.attempts[0];
    assert_eq!(
        (
            first.remedy.as_deref(),
            first.outcome,
            first.diff.as_deref(),
            first.tokens
        ),
        (
            Some("near-name"),
            AttemptOutcome::ValidationFailed,
            Some(FIRST_FIX_DIFF),
            TokenUsage::default()
        )
    );
    let diagnosis = first.diagnosis.as_ref().expect("a diagnosis");
    assert_eq!(
        diagnosis.summary,
        "Use b instead of the undefined bb in calc/ops.py"
    );
    assert!(
        diagnosis.root_cause.contains("Did you mean"),
        "{}",
        diagnosis.root_cause
    );
    assert_eq!(record.attempts[1].remedy, None);
    assert_eq!(record.tokens, tokens(400, 50), "only the model's tokens");
    assert_eq!(
        sandbox.seen(),
        [
            Validation {
                plan: plan(),
                files: tree_with(OPS_HALF_FIXED),
            },
            Validation {
                plan: plan(),
                files: tree_with(OPS_FIXED),
            },
        ]
    );
    // The model was asked once, about the failure the remedy uncovered,
    // and told that the remedy's change stayed.
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].failure.message, "assert 4 == 5");
    assert_eq!(
        requests[0].previous,
        [PreviousAttempt {
            number: 1,
            diff: Some(FIRST_FIX_DIFF.to_owned()),
            outcome: "failing tests failed (exit code 1): assert 4 == 5".to_owned(),
            validation_excerpt: Some(excerpt_of(FURTHER_FAILURE_OUTPUT)?),
            kept: true,
        }]
    );
    // The printer learns that no model made the first diagnosis.
    let known: Vec<Option<String>> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Event::Diagnosed { remedy, .. } => Some(remedy),
            _ => None,
        })
        .collect();
    assert_eq!(known, [Some("near-name".to_owned()), None]);
    Ok(())
}

#[tokio::test]
async fn a_remedy_that_fails_is_undone_told_to_the_model_and_not_tried_again() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(failed(SAME_FAILURE_OUTPUT)), Ok(passed())]);
    let (record, _) = repair(&project, &model, &sandbox, true, false).await?;

    assert!(
        matches!(record.outcome, Outcome::Fixed { .. }),
        "{:?}",
        record.outcome
    );
    assert_eq!(record.attempts.len(), 2);
    assert_eq!(record.attempts[0].remedy.as_deref(), Some("near-name"));
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    let told = &requests[0].previous;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].diff.as_deref(), Some(FIRST_FIX_DIFF));
    assert!(!told[0].kept, "the failed remedy was undone");
    // The model's change applies to the tree as CI tested it.
    assert_eq!(sandbox.seen()[1].files, tree_with(OPS_FIXED));
    Ok(())
}

#[tokio::test]
async fn without_remedies_the_model_is_asked_first() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let (record, _) = repair(&project, &model, &sandbox, false, false).await?;

    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].remedy, None);
    assert_eq!(model.requests().len(), 1);
    Ok(())
}

/// A project whose tested commit turned `a + b` into `a + b - 1`, and CI's
/// log of the assertion that fails because of it.
fn shifted_project() -> Result<Project> {
    let project = project_from(&[("Add calc", OPS_FIXED), ("Shift add", OPS_HALF_FIXED)])?;
    std::fs::write(
        &project.logs,
        "\
2026-11-21T07:31:26.2317191Z ##[group]Run python -m pytest -v --tb=short
2026-11-21T07:31:26.2332571Z shell: /usr/bin/bash -e {0}
2026-11-21T07:31:26.2417452Z ##[endgroup]
2026-11-21T07:31:26.6559720Z ============================= test session starts ==============================
2026-11-21T07:31:26.6637944Z collecting ... collected 2 items
2026-11-21T07:31:26.6668170Z tests/test_calc.py::test_add FAILED                                      [ 50%]
2026-11-21T07:31:26.6675420Z tests/test_calc.py::test_mul PASSED                                      [100%]
2026-11-21T07:31:26.6848465Z =================================== FAILURES ===================================
2026-11-21T07:31:26.6856983Z ___________________________________ test_add ___________________________________
2026-11-21T07:31:26.6876390Z tests/test_calc.py:5: in test_add
2026-11-21T07:31:26.6886205Z     assert add(2, 3) == 5
2026-11-21T07:31:26.7037858Z E   assert 4 == 5
2026-11-21T07:31:26.7037859Z E    +  where 4 = add(2, 3)
2026-11-21T07:31:26.8855414Z =========================== short test summary info ============================
2026-11-21T07:31:26.8863797Z FAILED tests/test_calc.py::test_add - assert 4 == 5
2026-11-21T07:31:26.9010924Z ========================= 1 failed, 1 passed in 0.04s =========================
2026-11-21T07:31:26.9107655Z ##[error]Process completed with exit code 1.
",
    )?;
    Ok(project)
}

#[tokio::test]
async fn the_lines_the_commit_changed_under_the_failing_test_are_put_back_first() -> Result<()> {
    let project = shifted_project()?;
    let model = ScriptedModel::new([]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let (record, _) = repair(&project, &model, &sandbox, true, true).await?;

    assert!(
        matches!(record.outcome, Outcome::Fixed { .. }),
        "{:?}",
        record.outcome
    );
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].remedy.as_deref(), Some("revert"));
    let diagnosis = record.attempts[0].diagnosis.as_ref().expect("a diagnosis");
    assert!(
        diagnosis.summary.starts_with("Put back what commit ")
            && diagnosis
                .summary
                .ends_with(" changed in add() in calc/ops.py"),
        "{}",
        diagnosis.summary
    );
    assert_eq!(record.tokens, TokenUsage::default());
    assert!(model.requests().is_empty(), "no model was asked");
    assert_eq!(sandbox.seen()[0].files, tree_with(OPS_FIXED));
    Ok(())
}

#[tokio::test]
async fn a_revert_that_gets_further_but_not_through_is_undone_not_built_on() -> Result<()> {
    // The commit wrote `total`, which no name rule can place, where
    // `b` was; putting `b` back gets past the NameError to the assertion.
    let far_name =
        "def add(a, b):\n    return a + total - 1\n\n\ndef mul(a, b):\n    return a * b\n";
    let project = project_from(&[("Add calc", OPS_HALF_FIXED), ("Use the total", far_name)])?;
    let log = std::fs::read_to_string(&project.logs)?.replace("bb", "total");
    std::fs::write(&project.logs, log)?;
    let model = ScriptedModel::new([Ok(proposal(
        "Add the arguments",
        &[("calc/ops.py", "a + total - 1", "a + b")],
        tokens(300, 40),
    ))]);
    // For any other change this would be progress, kept for the next
    // attempt: the test now gets as far as its assertion.
    let sandbox = ScriptedSandbox::new([Ok(failed(FURTHER_FAILURE_OUTPUT)), Ok(passed())]);
    let (record, _) = repair(&project, &model, &sandbox, true, true).await?;

    assert!(
        matches!(record.outcome, Outcome::Fixed { .. }),
        "{:?}",
        record.outcome
    );
    assert_eq!(record.attempts[0].remedy.as_deref(), Some("revert"));
    assert_eq!(record.attempts[0].outcome, AttemptOutcome::ValidationFailed);
    assert_eq!(sandbox.seen()[0].files, tree_with(OPS_HALF_FIXED));
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].previous[0].kept, "the revert was undone");
    assert_eq!(
        requests[0].previous[0].outcome,
        "failing tests failed (exit code 1): assert 4 == 5; so the tests want what the commit changed there: fix the code forward, keeping the commit's change"
    );
    // The model answered about the failure CI saw, on the tree CI tested.
    assert_eq!(
        requests[0].failure.message,
        "NameError: name 'total' is not defined"
    );
    assert_eq!(sandbox.seen()[1].files, tree_with(OPS_FIXED));
    Ok(())
}

#[tokio::test]
async fn with_reverts_off_the_model_is_asked_where_no_name_rule_applies() -> Result<()> {
    let project = shifted_project()?;
    let model = ScriptedModel::new([Ok(second_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let (record, _) = repair(&project, &model, &sandbox, true, false).await?;

    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].remedy, None);
    assert_eq!(model.requests().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_revert_that_does_not_get_past_the_failure_says_nothing_of_what_the_tests_want()
-> Result<()> {
    let project = shifted_project()?;
    let model = ScriptedModel::new([Ok(proposal(
        "Add without the shift",
        &[("calc/ops.py", "a + b - 1", "b + a")],
        tokens(300, 40),
    ))]);
    // The same assertion as in CI: the revert changed nothing that matters.
    let sandbox = ScriptedSandbox::new([Ok(failed(FURTHER_FAILURE_OUTPUT)), Ok(passed())]);
    let (record, _) = repair(&project, &model, &sandbox, true, true).await?;

    assert!(matches!(record.outcome, Outcome::Fixed { .. }));
    assert_eq!(record.attempts[0].remedy.as_deref(), Some("revert"));
    let told = &model.requests()[0].previous[0];
    assert!(!told.kept);
    assert_eq!(
        told.outcome,
        "failing tests failed (exit code 1): assert 4 == 5"
    );
    Ok(())
}
