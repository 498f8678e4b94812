//! Attempts that fail without ending the repair: what stays in the tree, and
//! what the next request tells the model.

use selfheal_orchestrator::commit_message;
use selfheal_reason::{PreviousAttempt, Proposal, ReasonError, RepairRequest};
use selfheal_types::{Attempt, AttemptOutcome, CandidateCounts, Category, Outcome, Stage};

use super::{
    BranchTip, Events, FIRST_FIX_DIFF, FURTHER_FAILURE_OUTPUT, OPS_BROKEN, OPS_FIXED,
    OPS_HALF_FIXED, Result, SAME_FAILURE_OUTPUT, SECOND_FIX_DIFF, ScriptedModel, ScriptedSandbox,
    Setup, TESTS, Validation, WHOLE_FIX_DIFF, branch_tip, ci_analysis, diagnosis, excerpt_of,
    failed, first_fix, fix_branch, passed, plan, project, proposal, second_fix, stages, tokens,
    tree_with, whole_fix, without_times,
};

/// Still a `NameError`: the attempt gets nowhere.
const OPS_INT_BB: &str =
    "def add(a, b):\n    return a + int(bb) - 1\n\n\ndef mul(a, b):\n    return a * b\n";

fn int_bb(used: selfheal_types::TokenUsage) -> Proposal {
    proposal(
        "Convert bb to an int in add()",
        &[("calc/ops.py", "a + bb - 1", "a + int(bb) - 1")],
        used,
    )
}

const INT_BB_DIFF: &str = "\
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a + bb - 1
+    return a + int(bb) - 1
 
 
 def mul(a, b):
";

/// `calc/ops.py` as the context of `request` shows it.
fn ops_shown(request: &RepairRequest) -> Option<&str> {
    request
        .files
        .iter()
        .find(|f| f.path == "calc/ops.py")
        .map(|f| f.content.as_str())
}

const ALL_STAGES: [Stage; 5] = [
    Stage::Context,
    Stage::Reason,
    Stage::Patch,
    Stage::Approve,
    Stage::Validate,
];

#[tokio::test]
async fn an_attempt_without_progress_is_reverted_and_the_model_told_why() -> Result<()> {
    let project = project()?;
    let (analysis, failure) = ci_analysis(&project)?;
    let model = ScriptedModel::new([Ok(int_bb(tokens(300, 40))), Ok(whole_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(failed(SAME_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    let reason = "failing tests failed (exit code 1): NameError: name 'bb' is not defined";
    let excerpt = excerpt_of(SAME_FAILURE_OUTPUT)?;
    assert!(excerpt.contains("E   NameError"), "{excerpt}");
    assert_eq!(
        record.attempts,
        [
            Attempt {
                number: 1,
                outcome: AttemptOutcome::ValidationFailed,
                diagnosis: Some(diagnosis("Convert bb to an int in add()")),
                diff: Some(INT_BB_DIFF.to_owned()),
                files: vec!["calc/ops.py".to_owned()],
                validation: Some(failed(SAME_FAILURE_OUTPUT)),
                reason: Some(reason.to_owned()),
                tokens: tokens(300, 40),
                timings_ms: stages(&ALL_STAGES),
                test_change: None,
                candidates: None,
                model: None,
                prompt_ms: None,
                remedy: None,
            },
            Attempt {
                number: 2,
                outcome: AttemptOutcome::Validated,
                diagnosis: Some(diagnosis("Return a + b from add()")),
                diff: Some(WHOLE_FIX_DIFF.to_owned()),
                files: vec!["calc/ops.py".to_owned()],
                validation: Some(passed()),
                reason: None,
                tokens: tokens(400, 50),
                timings_ms: stages(&ALL_STAGES),
                test_change: None,
                candidates: None,
                model: None,
                prompt_ms: None,
                remedy: None,
            },
        ]
    );
    assert_eq!(record.tokens, tokens(700, 90));
    // The second attempt started from the failing commit again.
    assert_eq!(
        sandbox.seen(),
        [
            Validation {
                plan: plan(),
                files: tree_with(OPS_INT_BB),
            },
            Validation {
                plan: plan(),
                files: tree_with(OPS_FIXED),
            },
        ]
    );
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (
            &requests[1].failure,
            requests[1].excerpt.as_str(),
            ops_shown(&requests[1])
        ),
        (&failure, analysis.excerpt.as_str(), Some(OPS_BROKEN))
    );
    assert_eq!(
        requests[1].previous,
        [PreviousAttempt {
            number: 1,
            diff: Some(INT_BB_DIFF.to_owned()),
            outcome: reason.to_owned(),
            validation_excerpt: Some(excerpt),
            kept: false,
        }]
    );
    let branch = fix_branch(&failure);
    let tip = branch_tip(&project, &branch)?;
    assert_eq!(
        record.outcome,
        Outcome::Fixed {
            branch,
            commit: tip.sha.clone()
        }
    );
    assert_eq!(
        (tip.ops.as_str(), tip.changed),
        (OPS_FIXED, vec!["calc/ops.py".to_owned()])
    );
    Ok(())
}

#[tokio::test]
async fn an_attempt_that_makes_progress_is_kept_and_built_on() -> Result<()> {
    let project = project()?;
    let (_, ci_failure) = ci_analysis(&project)?;
    let model = ScriptedModel::new([
        Ok(first_fix(tokens(300, 40))),
        Ok(second_fix(tokens(400, 50))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(failed(FURTHER_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    let reason = "failing tests failed (exit code 1): assert 4 == 5";
    let excerpt = excerpt_of(FURTHER_FAILURE_OUTPUT)?;
    assert_eq!(
        record.attempts,
        [
            Attempt {
                number: 1,
                outcome: AttemptOutcome::ValidationFailed,
                diagnosis: Some(diagnosis("Use the parameter b in add()")),
                diff: Some(FIRST_FIX_DIFF.to_owned()),
                files: vec!["calc/ops.py".to_owned()],
                validation: Some(failed(FURTHER_FAILURE_OUTPUT)),
                reason: Some(reason.to_owned()),
                tokens: tokens(300, 40),
                timings_ms: stages(&ALL_STAGES),
                test_change: None,
                candidates: None,
                model: None,
                prompt_ms: None,
                remedy: None,
            },
            Attempt {
                number: 2,
                outcome: AttemptOutcome::Validated,
                diagnosis: Some(diagnosis("Drop the stray - 1 in add()")),
                diff: Some(SECOND_FIX_DIFF.to_owned()),
                files: vec!["calc/ops.py".to_owned()],
                validation: Some(passed()),
                reason: None,
                tokens: tokens(400, 50),
                timings_ms: stages(&ALL_STAGES),
                test_change: None,
                candidates: None,
                model: None,
                prompt_ms: None,
                remedy: None,
            },
        ]
    );
    // The second attempt validated both changes together.
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
    // The model was shown the kept change and pointed at what failed next.
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let next = &requests[1].failure;
    assert_eq!(
        (
            next.category,
            next.test.as_deref(),
            next.message.as_str(),
            requests[1].excerpt.as_str(),
            ops_shown(&requests[1]),
        ),
        (
            Category::TestFailure,
            Some("tests/test_calc.py::test_add"),
            "assert 4 == 5",
            excerpt.as_str(),
            Some(OPS_HALF_FIXED),
        )
    );
    assert_eq!(
        requests[1].previous,
        [PreviousAttempt {
            number: 1,
            diff: Some(FIRST_FIX_DIFF.to_owned()),
            outcome: reason.to_owned(),
            validation_excerpt: Some(excerpt),
            // The model is told its change stayed.
            kept: true,
        }]
    );
    // The record, the branch and the commit all name the failure CI saw.
    assert_eq!(record.failure.as_ref(), Some(&ci_failure));
    let branch = fix_branch(&ci_failure);
    let tip = branch_tip(&project, &branch)?;
    assert_eq!(
        record.outcome,
        Outcome::Fixed {
            branch,
            commit: tip.sha.clone()
        }
    );
    assert_eq!(
        tip,
        BranchTip {
            sha: tip.sha.clone(),
            parents: vec![project.base.clone()],
            message: commit_message(
                &super::run_info(),
                &ci_failure,
                &diagnosis("Drop the stray - 1 in add()")
            ),
            ops: OPS_FIXED.to_owned(),
            changed: vec!["calc/ops.py".to_owned()],
        }
    );
    Ok(())
}

#[tokio::test]
async fn a_reply_without_a_usable_edit_counts_as_an_attempt() -> Result<()> {
    let project = project()?;
    let prose = Proposal {
        diagnosis: diagnosis("Something is off in add()"),
        reply: "Something is off in add(), but I cannot tell what.".to_owned(),
        tokens: tokens(300, 15),
        prompt_ms: None,
    };
    // What the patch parser says about it is its business; the loop passes it on.
    let reason = selfheal_patch::parse_reply(&prose.reply)
        .expect_err("prose holds no edit")
        .to_string();
    assert!(
        reason.starts_with("no usable edit in the reply: "),
        "{reason}"
    );
    // The answer is asked for once more, sampled, within the attempt; the
    // second is no better, so the attempt is spent.
    let model = ScriptedModel::new([Ok(prose.clone()), Ok(prose), Ok(whole_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    assert_eq!(
        record.attempts[0],
        Attempt {
            number: 1,
            outcome: AttemptOutcome::NoUsableEdit,
            diagnosis: Some(diagnosis("Something is off in add()")),
            diff: None,
            files: vec![],
            validation: None,
            reason: Some(reason.clone()),
            tokens: tokens(600, 30),
            timings_ms: stages(&[Stage::Context, Stage::Reason, Stage::Patch]),
            test_change: None,
            candidates: Some(CandidateCounts {
                asked: 2,
                usable: 0,
                validated: 0,
            }),
            model: None,
            prompt_ms: None,
            remedy: None,
        }
    );
    assert_eq!(
        (record.attempts.len(), record.attempts[1].outcome),
        (2, AttemptOutcome::Validated)
    );
    assert_eq!(record.tokens, tokens(1000, 80));
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    let requests = model.requests();
    assert_eq!(
        (requests[0].temperature, requests[1].temperature),
        (None, Some(0.7))
    );
    assert_eq!(requests[1].previous, []);
    assert_eq!(
        requests[2].previous,
        [PreviousAttempt {
            number: 1,
            diff: None,
            outcome: reason,
            validation_excerpt: None,
            kept: false,
        }]
    );
    assert_eq!(sandbox.seen().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_retryable_model_error_moves_on_to_the_next_attempt() -> Result<()> {
    let project = project()?;
    let timeout = ReasonError::Timeout {
        url: "http://127.0.0.1:9/v1".to_owned(),
        secs: 5,
    };
    let model = ScriptedModel::new([Err(timeout), Ok(whole_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    let reason = "model: model server at http://127.0.0.1:9/v1 did not answer within 5s; hint: raise [llm] timeout_secs or use a smaller model";
    assert_eq!(
        record.attempts[0],
        Attempt {
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
        }
    );
    assert_eq!(
        (record.attempts.len(), record.attempts[1].outcome),
        (2, AttemptOutcome::Validated)
    );
    assert_eq!(record.tokens, tokens(400, 50));
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(
        model.requests()[1].previous,
        [PreviousAttempt {
            number: 1,
            diff: None,
            outcome: reason.to_owned(),
            validation_excerpt: None,
            kept: false,
        }]
    );
    Ok(())
}

#[tokio::test]
async fn a_test_weakening_edit_is_refused_and_never_validated() -> Result<()> {
    let project = project()?;
    let weaken = proposal(
        "The add test is wrong",
        &[(
            "tests/test_calc.py",
            "    assert add(2, 3) == 5\n",
            "    add(2, 3)\n",
        )],
        tokens(300, 30),
    );
    let model = ScriptedModel::new([Ok(weaken), Ok(whole_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    let reason = "refused: the change removes assertions from tests/test_calc.py (2 before, 1 after); fix the code, not the test";
    let weakening_diff = "\
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -2,7 +2,7 @@
 
 
 def test_add():
-    assert add(2, 3) == 5
+    add(2, 3)
 
 
 def test_mul():
";
    assert_eq!(
        record.attempts[0],
        Attempt {
            number: 1,
            outcome: AttemptOutcome::NoUsableEdit,
            diagnosis: Some(diagnosis("The add test is wrong")),
            diff: Some(weakening_diff.to_owned()),
            files: vec!["tests/test_calc.py".to_owned()],
            validation: None,
            reason: Some(reason.to_owned()),
            tokens: tokens(300, 30),
            timings_ms: stages(&[Stage::Context, Stage::Reason, Stage::Patch]),
            test_change: None,
            candidates: None,
            model: None,
            prompt_ms: None,
            remedy: None,
        }
    );
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    // The only validation ran on intact tests.
    let seen = sandbox.seen();
    assert_eq!(
        seen.iter()
            .map(|v| v.files["tests/test_calc.py"].as_str())
            .collect::<Vec<_>>(),
        [TESTS]
    );
    assert_eq!(
        model.requests()[1].previous,
        [PreviousAttempt {
            number: 1,
            diff: Some(weakening_diff.to_owned()),
            outcome: reason.to_owned(),
            validation_excerpt: None,
            kept: false,
        }]
    );
    let (_, failure) = ci_analysis(&project)?;
    assert_eq!(
        branch_tip(&project, &fix_branch(&failure))?.changed,
        ["calc/ops.py"]
    );
    Ok(())
}

/// `--candidates 3`: one round asks three times (the later two sampled),
/// validates the distinct usable answers smallest first, undoes the one that
/// fails, and commits the one that passes, all in one attempt.
#[tokio::test]
async fn candidates_are_validated_in_turn_within_one_attempt() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Ok(int_bb(tokens(300, 40))),
        Ok(int_bb(tokens(300, 41))),
        Ok(whole_fix(tokens(300, 42))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(failed(SAME_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.candidates = 3;
    let record = setup.run().await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(record.attempts.len(), 1, "{:#?}", record.attempts);
    let attempt = &record.attempts[0];
    assert_eq!(attempt.outcome, AttemptOutcome::Validated);
    assert_eq!(
        attempt.candidates,
        Some(selfheal_types::CandidateCounts {
            asked: 3,
            usable: 2,
            validated: 2
        })
    );
    assert_eq!(
        attempt.tokens,
        tokens(900, 123),
        "every answer's tokens count"
    );
    let temperatures: Vec<Option<f32>> = model.requests().iter().map(|r| r.temperature).collect();
    assert_eq!(temperatures, [None, Some(0.7), Some(0.7)]);
    // The failed candidate was undone before the next was tried.
    let seen = sandbox.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].files["calc/ops.py"].contains("int(bb)"));
    assert_eq!(seen[1].files["calc/ops.py"], super::OPS_FIXED);
    Ok(())
}

/// When every candidate fails, the round counts as one failed attempt whose
/// story is a validated candidate's, and the tree is back where it was.
#[tokio::test]
async fn a_round_of_failing_candidates_is_one_failed_attempt() -> Result<()> {
    let project = project()?;
    let unusable = proposal("Nothing to change", &[], tokens(10, 1));
    let model = ScriptedModel::new([
        Ok(int_bb(tokens(300, 40))),
        Ok(unusable),
        Ok(whole_fix(tokens(400, 50))),
        Ok(whole_fix(tokens(400, 51))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(failed(SAME_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.candidates = 2;
    let record = setup.run().await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(record.attempts.len(), 2, "{:#?}", record.attempts);
    let first = &record.attempts[0];
    assert_eq!(first.outcome, AttemptOutcome::ValidationFailed);
    assert_eq!(first.diff.as_deref(), Some(INT_BB_DIFF));
    assert_eq!(
        first.candidates,
        Some(selfheal_types::CandidateCounts {
            asked: 2,
            usable: 1,
            validated: 1
        })
    );
    // The second attempt's tree started clean: only the whole fix is in it.
    assert_eq!(sandbox.seen()[1].files["calc/ops.py"], super::OPS_FIXED);
    Ok(())
}

#[tokio::test]
async fn an_answer_that_quotes_the_undone_change_is_applied_on_top_of_it() -> Result<()> {
    let project = project()?;
    // Attempt 2 quotes attempt 1's text as if its change had stayed: small
    // models read the last diff in the prompt as the file's content.
    let builds_on_it = proposal(
        "Return a + b from add()",
        &[("calc/ops.py", "a + int(bb) - 1", "a + b")],
        tokens(400, 50),
    );
    let model = ScriptedModel::new([Ok(int_bb(tokens(300, 40))), Ok(builds_on_it)]);
    let sandbox = ScriptedSandbox::new([Ok(failed(SAME_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    let outcomes: Vec<_> = record.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [AttemptOutcome::ValidationFailed, AttemptOutcome::Validated]
    );
    // The combined change, measured against the failing commit's file.
    assert_eq!(record.attempts[1].diff.as_deref(), Some(WHOLE_FIX_DIFF));
    assert_eq!(
        sandbox.seen().last().map(|v| v.files.clone()),
        Some(tree_with(OPS_FIXED))
    );
    let tip = branch_tip(&project, &fix_branch(&ci_analysis(&project)?.1))?;
    assert_eq!(tip.ops, OPS_FIXED);
    Ok(())
}

/// A first answer that the cheap checks refuse is asked for again within
/// the attempt, and only the second, whole fix reaches the sandbox.
async fn refused_before_validation_then_asked_again(first: &str, new: &str) -> Result<()> {
    let project = project()?;
    let refused = proposal(
        first,
        &[("calc/ops.py", "a + bb - 1", new)],
        tokens(300, 40),
    );
    let model = ScriptedModel::new([Ok(refused), Ok(whole_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    // One attempt: the refused answer never reached the sandbox.
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].outcome, AttemptOutcome::Validated);
    assert_eq!(
        record.attempts[0].candidates,
        Some(CandidateCounts {
            asked: 2,
            usable: 1,
            validated: 1,
        })
    );
    assert_eq!(sandbox.seen().len(), 1);
    assert_eq!(sandbox.seen()[0].files, tree_with(OPS_FIXED));
    Ok(())
}

#[tokio::test]
async fn an_answer_that_uses_a_name_the_file_lacks_is_asked_for_again_before_any_validation()
-> Result<()> {
    // off-by-one: the 1.5B model's `math.ceil` without `import math`.
    refused_before_validation_then_asked_again("Round b up in add()", "a + math.ceil(b)").await
}

#[tokio::test]
async fn an_answer_that_breaks_parsing_is_asked_for_again_before_any_validation() -> Result<()> {
    refused_before_validation_then_asked_again("Return a + b from add()", "(a + b").await
}
