//! What ends a repair before a fix: the token budget, errors no later
//! attempt can get past, a refusal, and running out of attempts.

use selfheal_reason::ReasonError;
use selfheal_types::{Attempt, AttemptOutcome, Outcome, REPAIR_SCHEMA, RepairRecord, Stage};
use selfheal_validate::ValidateError;

use super::{
    DeclineAll, Events, IMAGE, NO_TERMINAL_HINT, NoTerminal, Result, SAME_FAILURE_OUTPUT,
    ScriptedModel, ScriptedSandbox, Setup, WHOLE_FIX_DIFF, ci_analysis, diagnosis, failed,
    fix_branches, passed, project, proposal, run_info, stages, tokens, whole_fix, without_times,
};

/// A change the sandbox keeps failing: the `NameError` stays.
fn no_progress(used: selfheal_types::TokenUsage) -> selfheal_reason::Proposal {
    proposal(
        "Convert bb to an int in add()",
        &[("calc/ops.py", "a + bb - 1", "a + int(bb) - 1")],
        used,
    )
}

const SAME_REASON: &str = "failing tests failed (exit code 1): NameError: name 'bb' is not defined";

const UP_TO_APPROVAL: [Stage; 4] = [Stage::Context, Stage::Reason, Stage::Patch, Stage::Approve];

/// The one attempt of a repair that stopped after the model's whole fix.
fn stopped_whole_fix(outcome: AttemptOutcome, reason: &str, stages_run: &[Stage]) -> Attempt {
    Attempt {
        number: 1,
        outcome,
        diagnosis: Some(diagnosis("Return a + b from add()")),
        diff: Some(WHOLE_FIX_DIFF.to_owned()),
        files: vec!["calc/ops.py".to_owned()],
        validation: None,
        reason: Some(reason.to_owned()),
        tokens: tokens(300, 40),
        timings_ms: stages(stages_run),
        test_change: None,
        candidates: None,
        model: None,
        prompt_ms: None,
        remedy: None,
    }
}

/// A reply with no edit in it: an attempt that costs tokens, is never
/// validated, and so never looks stuck.
fn prose(used: selfheal_types::TokenUsage) -> selfheal_reason::Proposal {
    selfheal_reason::Proposal {
        diagnosis: diagnosis("Something is off in add()"),
        reply: "Something is off in add(), but I cannot tell what.".to_owned(),
        tokens: used,
        prompt_ms: None,
    }
}

#[tokio::test]
async fn the_token_budget_stops_the_loop_before_the_next_model_call() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new((0..4).map(|_| Ok(prose(tokens(8000, 2000)))));
    let sandbox = ScriptedSandbox::new([]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.max_attempts = 5;
    // 10,000 tokens a call. An answer without an edit is asked for once
    // more: attempt 1 makes two calls (20,000). 20,000 and the next prompt
    // (a few hundred) leave room for attempt 2's call; its second one, and
    // a third attempt, would not fit.
    setup.settings.total_token_budget = 25_000;

    let record = without_times(setup.run().await?);

    assert_eq!(
        record.outcome,
        Outcome::NotFixed {
            reason: "token budget of 25000 exhausted after 2 attempts".to_owned()
        }
    );
    assert_eq!(record.tokens, tokens(24_000, 6000));
    assert_eq!(
        record
            .attempts
            .iter()
            .map(|a| (a.number, a.outcome))
            .collect::<Vec<_>>(),
        [
            (1, AttemptOutcome::NoUsableEdit),
            (2, AttemptOutcome::NoUsableEdit),
        ]
    );
    assert_eq!((model.requests().len(), model.unused()), (3, 1));
    assert_eq!(fix_branches(&project)?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn a_spent_budget_makes_no_model_call_at_all() -> Result<()> {
    let project = project()?;
    let (_, failure) = ci_analysis(&project)?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.total_token_budget = 0;

    let record = without_times(setup.run().await?);

    assert_eq!(
        record,
        RepairRecord {
            schema: REPAIR_SCHEMA.to_owned(),
            run: run_info(),
            base_commit: project.base.clone(),
            started_at: String::new(),
            model: "scripted".to_owned(),
            failure: Some(failure),
            attempts: vec![],
            outcome: Outcome::NotFixed {
                reason: "token budget of 0 exhausted after 0 attempts".to_owned()
            },
            tokens: tokens(0, 0),
            timings_ms: stages(&[Stage::Analyze, Stage::Checkout]),
            duration_ms: 0,
            publication: None,
        }
    );
    assert_eq!(model.requests(), []);
    Ok(())
}

#[tokio::test]
async fn a_model_error_that_will_not_go_away_stops_at_once() -> Result<()> {
    let project = project()?;
    let refused = ReasonError::Refused {
        model: "scripted".to_owned(),
        message: "I will not".to_owned(),
    };
    let model = ScriptedModel::new([Err(refused), Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    let reason = "model: model scripted refused: I will not";
    assert_eq!(
        (record.attempts, record.outcome, record.tokens),
        (
            vec![Attempt {
                number: 1,
                outcome: AttemptOutcome::Error,
                diagnosis: None,
                diff: None,
                files: vec![],
                validation: None,
                reason: Some(reason.to_owned()),
                tokens: tokens(0, 0),
                timings_ms: stages(&[Stage::Context, Stage::Reason]),
                test_change: None,
                candidates: None,
                model: None,
                prompt_ms: None,
                remedy: None,
            }],
            Outcome::NotFixed {
                reason: reason.to_owned()
            },
            tokens(0, 0),
        )
    );
    assert_eq!((model.requests().len(), model.unused()), (1, 1));
    assert_eq!(sandbox.seen(), []);
    Ok(())
}

#[tokio::test]
async fn a_sandbox_error_stops_the_repair() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Ok(whole_fix(tokens(300, 40))),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let missing = ValidateError::ImageMissing {
        image: IMAGE.to_owned(),
    };
    let sandbox = ScriptedSandbox::new([Err(missing), Ok(passed())]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    let reason = "sandbox: sandbox image selfheal-sandbox:test is not in the docker engine; hint: run scripts/build-sandbox-image.sh, or pass another image with --image";
    let mut stages_run = UP_TO_APPROVAL.to_vec();
    stages_run.push(Stage::Validate);
    assert_eq!(
        (record.attempts, record.outcome, record.tokens),
        (
            vec![stopped_whole_fix(
                AttemptOutcome::Error,
                reason,
                &stages_run
            )],
            Outcome::NotFixed {
                reason: reason.to_owned()
            },
            tokens(300, 40),
        )
    );
    assert_eq!((model.unused(), sandbox.seen().len()), (1, 1));
    assert_eq!(fix_branches(&project)?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn a_declined_change_stops_the_repair() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Ok(whole_fix(tokens(300, 40))),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.approver = &DeclineAll;

    let record = without_times(setup.run().await?);

    let reason = "the change was declined";
    assert_eq!(
        (record.attempts, record.outcome),
        (
            vec![stopped_whole_fix(
                AttemptOutcome::Declined,
                reason,
                &UP_TO_APPROVAL
            )],
            Outcome::NotFixed {
                reason: reason.to_owned()
            },
        )
    );
    assert_eq!((model.unused(), sandbox.seen()), (1, vec![]));
    Ok(())
}

#[tokio::test]
async fn nobody_to_approve_stops_the_repair_with_the_hint() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Ok(whole_fix(tokens(300, 40))),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.approver = &NoTerminal;

    let record = without_times(setup.run().await?);

    assert_eq!(
        (record.attempts, record.outcome),
        (
            vec![stopped_whole_fix(
                AttemptOutcome::Declined,
                NO_TERMINAL_HINT,
                &UP_TO_APPROVAL
            )],
            Outcome::NotFixed {
                reason: NO_TERMINAL_HINT.to_owned()
            },
        )
    );
    assert_eq!((model.unused(), sandbox.seen()), (1, vec![]));
    Ok(())
}

#[tokio::test]
async fn running_out_of_attempts_reports_the_last_reason() -> Result<()> {
    let project = project()?;
    // Two different changes failing differently: the same change or the
    // same failure twice would stop the loop as stuck (see loops.rs).
    // (A rename to another undefined name would be refused before
    // validation; see syntax.rs.)
    let attribute = proposal(
        "Read bb from b in add()",
        &[("calc/ops.py", "a + bb - 1", "a + b.bb - 1")],
        tokens(300, 40),
    );
    let attribute_output = SAME_FAILURE_OUTPUT.replace("int(bb)", "b.bb").replace(
        "NameError: name 'bb' is not defined",
        "AttributeError: 'int' object has no attribute 'bb'",
    );
    let model = ScriptedModel::new([Ok(no_progress(tokens(300, 40))), Ok(attribute)]);
    let sandbox = ScriptedSandbox::new([
        Ok(failed(SAME_FAILURE_OUTPUT)),
        Ok(failed(&attribute_output)),
    ]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.max_attempts = 2;

    let record = without_times(setup.run().await?);

    let last_reason =
        "failing tests failed (exit code 1): AttributeError: 'int' object has no attribute 'bb'";
    assert_eq!(
        record.outcome,
        Outcome::NotFixed {
            reason: format!("no validated fix after 2 attempts; last: {last_reason}")
        }
    );
    assert_eq!(
        record
            .attempts
            .iter()
            .map(|a| (a.number, a.outcome, a.reason.as_deref()))
            .collect::<Vec<_>>(),
        [
            (1, AttemptOutcome::ValidationFailed, Some(SAME_REASON)),
            (2, AttemptOutcome::ValidationFailed, Some(last_reason)),
        ]
    );
    assert_eq!(record.tokens, tokens(600, 80));
    // The first change was undone before the second was made.
    let seen = sandbox.seen();
    assert_eq!(
        [&seen[0].files["calc/ops.py"], &seen[1].files["calc/ops.py"]],
        [
            "def add(a, b):\n    return a + int(bb) - 1\n\n\ndef mul(a, b):\n    return a * b\n",
            "def add(a, b):\n    return a + b.bb - 1\n\n\ndef mul(a, b):\n    return a * b\n",
        ]
    );
    assert_eq!(fix_branches(&project)?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn a_sandbox_that_cannot_run_the_tests_is_the_environment_not_the_patch() -> Result<()> {
    let project = project()?;
    let missing = format!("the command \"cargo\" was not found in image {IMAGE}");
    let mut report = failed("sh: 1: cargo: not found\n");
    report.outcome = selfheal_types::ValidationOutcome::EnvironmentError;
    report.steps[0].exit_code = Some(127);
    report.steps[0].environment_error = Some(missing.clone());
    // Two replies queued: a second model call would be a wasted attempt.
    let model = ScriptedModel::new([
        Ok(whole_fix(tokens(300, 40))),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(report)]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    let Outcome::EnvironmentError { reason } = &record.outcome else {
        panic!("not an environment error: {:?}", record.outcome);
    };
    assert!(reason.contains(&missing), "{reason}");
    assert!(reason.contains("hint: pass --image"), "{reason}");
    assert_eq!(model.requests().len(), 1, "no tokens spent on retries");
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].outcome, AttemptOutcome::Error);
    assert_eq!(fix_branches(&project)?, Vec::<String>::new());
    Ok(())
}

/// Creates the fix branch behind the loop's back the moment a validation
/// passes, so the commit that follows fails.
struct BranchThief {
    root: std::path::PathBuf,
    branch: String,
}

impl selfheal_orchestrator::EventSink for BranchThief {
    fn emit(&self, event: &selfheal_types::Event) {
        if let selfheal_types::Event::Validated { report, .. } = event
            && report.passed()
        {
            let repo = git2::Repository::open(&self.root).expect("open");
            let head = repo.head().expect("head").peel_to_commit().expect("commit");
            repo.branch(&self.branch, &head, false).expect("branch");
        }
    }
}

#[tokio::test]
async fn a_validated_fix_that_cannot_be_committed_keeps_its_diff_in_the_record() -> Result<()> {
    let project = project()?;
    let (_, failure) = ci_analysis(&project)?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let thief = BranchThief {
        root: project.root.clone(),
        branch: super::fix_branch(&failure),
    };
    let repo = selfheal_git::Repo::discover(&project.root)?;
    let orchestrator = selfheal_orchestrator::Orchestrator {
        repo: &repo,
        model: &model,
        sandbox: &sandbox,
        approver: &selfheal_orchestrator::ApproveAll,
        events: &thief,
        settings: super::settings(),
    };

    let record = orchestrator.repair(&super::job(&project)).await?;

    let Outcome::NotFixed { reason } = &record.outcome else {
        panic!("not a failed commit: {:?}", record.outcome);
    };
    assert!(
        reason.starts_with("the fix validated but could not be committed"),
        "{reason}"
    );
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].outcome, AttemptOutcome::Validated);
    assert_eq!(record.attempts[0].diff.as_deref(), Some(WHOLE_FIX_DIFF));
    Ok(())
}
