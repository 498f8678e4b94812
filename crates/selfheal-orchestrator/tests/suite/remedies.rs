//! Remedies: tried once per target before the model is asked, at no
//! token cost, validated like any change, and told to the model when they
//! do not work.

use selfheal_reason::PreviousAttempt;
use selfheal_types::{AttemptOutcome, Event, Outcome, TokenUsage};

use super::{
    Events, FIRST_FIX_DIFF, FURTHER_FAILURE_OUTPUT, OPS_FIXED, OPS_HALF_FIXED, Result,
    SAME_FAILURE_OUTPUT, ScriptedModel, ScriptedSandbox, Setup, Validation, excerpt_of, failed,
    passed, plan, project, second_fix, tokens, tree_with, whole_fix,
};

#[tokio::test]
async fn the_remedy_goes_first_and_the_model_takes_what_is_left() -> Result<()> {
    // `return a + bb - 1` in `add(a, b)`: `b` is the name Python would
    // suggest, which leaves the off-by-one for the model.
    let project = project()?;
    let model = ScriptedModel::new([Ok(second_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(failed(FURTHER_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.remedies = true;

    let record = setup.run().await?;

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
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.remedies = true;

    let record = setup.run().await?;

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
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.remedies = false;

    let record = setup.run().await?;

    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].remedy, None);
    assert_eq!(model.requests().len(), 1);
    Ok(())
}
