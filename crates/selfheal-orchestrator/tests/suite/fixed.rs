//! Repairs that end with a fix on a branch, and what stops one before it starts.

use selfheal_orchestrator::{OrchestratorError, commit_message};
use selfheal_reason::RepairRequest;
use selfheal_types::{
    Attempt, AttemptOutcome, Category, Event, Outcome, REPAIR_SCHEMA, RepairRecord, Stage,
};

use super::{
    Events, OPS_BROKEN, OPS_FIXED, Result, ScriptedModel, ScriptedSandbox, Setup, Validation,
    WHOLE_FIX_DIFF, branch_tip, ci_analysis, diagnosis, fix_branch, fix_branches, passed, plan,
    project, read_tree, run_info, stages, tokens, tree_with, whole_fix, without_times,
};

/// One line per event, without the payloads that carry times.
fn tags(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::RunSelected { run, .. } => format!("run {}", run.id),
            Event::Analyzed { failures, .. } => format!("analyzed {failures}"),
            Event::AttemptStarted { number, max } => format!("attempt {number}/{max}"),
            Event::StageStarted { number, stage } => format!("{number} {stage:?}"),
            Event::Diagnosed { number, .. } => format!("{number} diagnosed"),
            Event::PatchReady { number, files, .. } => format!("{number} patch {files:?}"),
            Event::Validated { number, report } => {
                format!("{number} validated {:?}", report.outcome)
            }
            Event::AttemptFinished { attempt } => {
                format!("{} finished {:?}", attempt.number, attempt.outcome)
            }
            Event::Committed { branch, .. } => format!("committed {branch}"),
            Event::Finished { outcome } => format!("finished {outcome:?}"),
            Event::Published { .. } => "published".to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn a_first_attempt_that_validates_is_committed_on_a_fix_branch() -> Result<()> {
    let project = project()?;
    let (analysis, failure) = ci_analysis(&project)?;
    assert_eq!(
        (
            failure.category,
            failure.test.as_deref(),
            failure.message.as_str()
        ),
        (
            Category::CompileError,
            Some("tests/test_calc.py::test_add"),
            "NameError: name 'bb' is not defined"
        )
    );
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    let branch = fix_branch(&failure);
    let tip = branch_tip(&project, &branch)?;
    assert_eq!(
        without_times(record),
        RepairRecord {
            schema: REPAIR_SCHEMA.to_owned(),
            run: run_info(),
            base_commit: project.base.clone(),
            started_at: String::new(),
            model: "scripted".to_owned(),
            failure: Some(failure.clone()),
            attempts: vec![Attempt {
                number: 1,
                outcome: AttemptOutcome::Validated,
                diagnosis: Some(diagnosis("Return a + b from add()")),
                diff: Some(WHOLE_FIX_DIFF.to_owned()),
                files: vec!["calc/ops.py".to_owned()],
                validation: Some(passed()),
                reason: None,
                tokens: tokens(300, 40),
                timings_ms: stages(&[
                    Stage::Context,
                    Stage::Reason,
                    Stage::Patch,
                    Stage::Approve,
                    Stage::Validate
                ]),
                test_change: None,
                candidates: None,
                model: None,
                prompt_ms: None,
                remedy: None,
            }],
            outcome: Outcome::Fixed {
                branch: branch.clone(),
                commit: tip.sha.clone(),
            },
            tokens: tokens(300, 40),
            timings_ms: stages(&[Stage::Analyze, Stage::Checkout, Stage::Commit]),
            duration_ms: 0,
            publication: None,
        }
    );
    assert_eq!(
        tip,
        super::BranchTip {
            sha: tip.sha.clone(),
            parents: vec![project.base.clone()],
            message: commit_message(&run_info(), &failure, &diagnosis("Return a + b from add()")),
            ops: OPS_FIXED.to_owned(),
            changed: vec!["calc/ops.py".to_owned()],
        }
    );
    // The model saw the failing commit as CI did; the sandbox saw the fix.
    assert_eq!(
        model.requests(),
        [RepairRequest {
            failure: failure.clone(),
            excerpt: analysis.excerpt.clone(),
            files: selfheal_reason::collect_context(&project.root, &failure, 4000),
            previous: vec![],
            recent_change: None,
            temperature: None,
        }]
    );
    assert_eq!(
        sandbox.seen(),
        [Validation {
            plan: plan(),
            files: tree_with(OPS_FIXED),
        }]
    );
    // The user's checkout is left alone.
    assert_eq!(read_tree(&project.root.join("calc"))?["ops.py"], OPS_BROKEN);
    assert_eq!(
        tags(&events.all()),
        [
            "run 42",
            "analyzed 1",
            "attempt 1/3",
            "1 Context",
            "1 Reason",
            "1 diagnosed",
            "1 Patch",
            "1 patch [\"calc/ops.py\"]",
            "1 Approve",
            "1 Validate",
            "1 validated Passed",
            "1 finished Validated",
            &format!("committed {branch}"),
            &format!(
                "finished {:?}",
                Outcome::Fixed {
                    branch: branch.clone(),
                    commit: tip.sha.clone()
                }
            ),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn an_analysis_from_the_caller_is_used_instead_of_the_logs() -> Result<()> {
    let project = project()?;
    let (mut analysis, failure) = ci_analysis(&project)?;
    analysis.excerpt = "the caller's excerpt".to_owned();
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    // Reading the logs again would fail: they are gone.
    setup.job.logs = project.root.join("no-such-log.txt");
    setup.job.analysis = Some(analysis);

    let record = setup.run().await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(record.failure, Some(failure));
    assert_eq!(
        without_times(record).timings_ms,
        stages(&[Stage::Checkout, Stage::Commit])
    );
    assert_eq!(
        model
            .requests()
            .iter()
            .map(|r| r.excerpt.as_str())
            .collect::<Vec<_>>(),
        ["the caller's excerpt"]
    );
    Ok(())
}

#[tokio::test]
async fn an_existing_fix_branch_is_left_alone() -> Result<()> {
    let project = project()?;
    let (_, failure) = ci_analysis(&project)?;
    let branch = fix_branch(&failure);
    {
        let repo = git2::Repository::open(&project.root)?;
        let head = repo.head()?.peel_to_commit()?;
        repo.branch(&branch, &head, false)?;
    }
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([]);
    let events = Events::default();

    let err = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await
        .expect_err("the branch exists");

    assert!(
        matches!(&err, OrchestratorError::BranchExists(b) if *b == branch),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "branch {branch} already exists; hint: a fix for this failure was made before (delete the branch to redo it)"
        )
    );
    assert_eq!(model.requests(), []);
    let repo = git2::Repository::open(&project.root)?;
    let tip = repo.refname_to_id(&format!("refs/heads/{branch}"))?;
    assert_eq!(tip.to_string(), project.base);
    Ok(())
}

#[tokio::test]
async fn a_redo_goes_to_the_next_free_branch_and_leaves_the_old_one() -> Result<()> {
    let project = project()?;
    let (_, failure) = ci_analysis(&project)?;
    let branch = fix_branch(&failure);
    {
        let repo = git2::Repository::open(&project.root)?;
        let head = repo.head()?.peel_to_commit()?;
        repo.branch(&branch, &head, false)?;
        repo.branch(&format!("{branch}-2"), &head, false)?;
    }
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.job.redo = true;

    let record = setup.run().await?;

    let Outcome::Fixed { branch: fixed, .. } = &record.outcome else {
        panic!("not fixed: {:?}", record.outcome);
    };
    assert_eq!(*fixed, format!("{branch}-3"));
    let repo = git2::Repository::open(&project.root)?;
    for old in [branch.clone(), format!("{branch}-2")] {
        let tip = repo.refname_to_id(&format!("refs/heads/{old}"))?;
        assert_eq!(tip.to_string(), project.base, "{old} was overwritten");
    }
    Ok(())
}

#[tokio::test]
async fn logs_without_a_failure_leave_nothing_to_fix() -> Result<()> {
    let project = project()?;
    std::fs::write(
        &project.logs,
        "2026-11-21T07:31:26.6637944Z collecting ... collected 2 items\n\
         2026-11-21T07:31:26.9010924Z ============================== 2 passed in 0.04s ===============================\n",
    )?;
    let model = ScriptedModel::new([]);
    let sandbox = ScriptedSandbox::new([]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    assert_eq!(
        without_times(record),
        RepairRecord {
            schema: REPAIR_SCHEMA.to_owned(),
            run: run_info(),
            base_commit: project.base.clone(),
            started_at: String::new(),
            model: "scripted".to_owned(),
            failure: None,
            attempts: vec![],
            outcome: Outcome::NothingToFix,
            tokens: tokens(0, 0),
            timings_ms: stages(&[Stage::Analyze]),
            duration_ms: 0,
            publication: None,
        }
    );
    assert_eq!(model.requests(), []);
    assert_eq!(fix_branches(&project)?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn without_a_failing_test_command_the_full_suite_alone_validates() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.failing_test_command = String::new();

    let record = setup.run().await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    let seen = sandbox.seen();
    assert_eq!(seen.len(), 1);
    let steps: Vec<&str> = seen[0].plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, ["full suite"]);
    Ok(())
}

#[tokio::test]
async fn the_model_is_shown_what_the_tested_commit_changed() -> Result<()> {
    let project = super::project_from(&[
        ("Add calc", OPS_FIXED),
        (
            "Read b from the environment\n\nThe body stays out.",
            super::OPS_BROKEN,
        ),
    ])?;
    let model = ScriptedModel::new([Ok(whole_fix(tokens(300, 40)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;
    assert!(
        matches!(record.outcome, Outcome::Fixed { .. }),
        "{:?}",
        record.outcome
    );

    let requests = model.requests();
    let change = requests[0]
        .recent_change
        .as_ref()
        .expect("the commit has a parent, so its change is shown");
    assert_eq!(change.commit, project.base[..7]);
    assert_eq!(change.subject, "Read b from the environment");
    assert!(
        change
            .diff
            .starts_with("diff --git a/calc/ops.py b/calc/ops.py\n"),
        "{}",
        change.diff
    );
    assert!(
        change
            .diff
            .contains("-    return a + b\n+    return a + bb - 1\n"),
        "{}",
        change.diff
    );
    assert!(change.not_shown.is_empty());
    // The prompt carries it, fenced as untrusted data, between the log
    // excerpt and the source files.
    let (_, user) = selfheal_reason::Prompts::builtin().render(&requests[0])?;
    let excerpt_at = user.find("Log excerpt").expect("excerpt section");
    let files_at = user.find("Source files").expect("files section");
    let change_at = user
        .find(&format!("The commit CI tested, {}", change.commit))
        .expect("change section");
    assert!(excerpt_at < change_at && change_at < files_at);
    assert!(user[change_at..].contains("```diff\ndiff --git a/calc/ops.py"));
    Ok(())
}
