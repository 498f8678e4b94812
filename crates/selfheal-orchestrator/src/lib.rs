//! The repair loop.
//!
//! One [`Orchestrator::repair`] call takes a failed run's logs and the commit it
//! tested, and drives the agents in order: analyse the logs
//! (`selfheal-analyze`), materialise the failing commit in a temporary tree
//! (`selfheal-git`), then up to `max_attempts` times: gather context and ask the
//! model (`selfheal-reason`), turn the reply into a change
//! (`selfheal-patch`), refuse changes that weaken tests ([`policy`]), ask for
//! approval ([`Approver`]), and prove the change in the sandbox
//! (`selfheal-validate`). A validated change becomes a commit on a fresh branch;
//! every attempt, good or bad, is kept in the returned [`RepairRecord`].
//!
//! The loop never prints. It reports progress as [`Event`]s to an
//! [`EventSink`], so the CLI's human printer and its `--json` mode are two
//! consumers of the same stream. Only the CLI picks concrete parts: the sandbox
//! and the approver are traits, so tests and future front ends swap them freely.
//!
//! Attempts build on each other only when they made progress: if the
//! validation output no longer shows the failure the attempt targeted, its
//! change is kept and the next attempt chases what failed next (two bugs, one
//! masking the other); otherwise the tree goes back to the failing commit and
//! the model is told what did not work.

pub mod policy;
mod record;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use selfheal_analyze::{AnalyzeOptions, analyze_path, analyze_reader};
use selfheal_git::{Repo, Signature, Worktree};
use selfheal_patch::ChangeSet;
use selfheal_reason::{PreviousAttempt, RepairModel, RepairRequest};
use selfheal_types::{
    Analysis, Attempt, AttemptOutcome, Category, Diagnosis, Event, Failure, Outcome, RepairRecord,
    RunInfo, Stage, TokenUsage, ValidationReport,
};
use selfheal_validate::{Sandbox, ValidationPlan};

pub use record::write_record;

/// How many failing test ids are run before the full suite; more than this
/// and the full suite alone says as much.
const MAX_FAILING_TESTS: usize = 20;

/// Errors that stop a repair before or outside any attempt.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error("could not read the logs: {0}")]
    Analyze(#[from] selfheal_analyze::AnalyzeError),
    #[error(transparent)]
    Git(#[from] selfheal_git::GitError),
    #[error(
        "branch {0} already exists; hint: a fix for this failure was made before (delete the branch to redo it)"
    )]
    BranchExists(String),
    #[error("could not write the result record {path}: {source}")]
    Record {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The answer to "apply this change?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    Approved,
    /// The user said no; the loop stops.
    Declined,
    /// Nobody could be asked (no terminal and no `--yes`); the loop stops.
    Unattended {
        hint: String,
    },
}

/// Decides whether a proposed change may be applied and validated.
#[async_trait::async_trait]
pub trait Approver: Send + Sync {
    async fn approve(&self, change: &ChangeSet, diagnosis: &Diagnosis) -> Approval;
}

/// Approves everything: `--yes`.
pub struct ApproveAll;

#[async_trait::async_trait]
impl Approver for ApproveAll {
    async fn approve(&self, _: &ChangeSet, _: &Diagnosis) -> Approval {
        Approval::Approved
    }
}

/// Receives progress.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
}

/// Ignores progress.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _: &Event) {}
}

/// What the loop may do, resolved from the configuration by the caller.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    pub max_attempts: u32,
    /// Tokens of source context shown to the model per attempt.
    pub context_token_budget: usize,
    /// The loop stops once the model calls have used this many tokens.
    pub total_token_budget: u64,
    /// Runs the failing tests; `{tests}` is replaced by their ids.
    pub failing_test_command: String,
    /// Runs the whole suite.
    pub test_command: String,
    pub validation_timeout: Duration,
    pub branch_prefix: String,
    pub author: Signature,
    pub signoff: bool,
    /// Name of the model, for the record.
    pub model: String,
    pub analyze: AnalyzeOptions,
}

/// One failed run to repair.
#[derive(Debug, Clone)]
pub struct RepairJob {
    pub run: RunInfo,
    /// The run's logs: a file, a run-log zip or an unpacked run-log folder.
    pub logs: PathBuf,
    /// The commit the run tested, resolved to a full sha.
    pub base_commit: String,
}

/// The concrete parts the loop drives.
pub struct Orchestrator<'a> {
    pub repo: &'a Repo,
    pub model: &'a dyn RepairModel,
    pub sandbox: &'a dyn Sandbox,
    pub approver: &'a dyn Approver,
    pub events: &'a dyn EventSink,
    pub settings: LoopSettings,
}

/// The target of the next attempt: the failure and the log lines that show it.
struct Target {
    failure: Failure,
    excerpt: String,
    tests: Vec<String>,
}

impl Orchestrator<'_> {
    /// Runs the whole repair. Returns the record of what happened (also when
    /// nothing could be fixed); errors are reserved for bad input and for
    /// problems outside any attempt.
    pub async fn repair(&self, job: &RepairJob) -> Result<RepairRecord, OrchestratorError> {
        let started = Instant::now();
        let started_at = record::now_rfc3339();
        let mut timings = BTreeMap::new();
        self.events.emit(&Event::RunSelected {
            run: job.run.clone(),
            base_commit: job.base_commit.clone(),
        });

        let t = Instant::now();
        let analysis = analyze_path(&job.logs, &self.settings.analyze)?;
        timings.insert(Stage::Analyze, elapsed_ms(t));
        self.events.emit(&Event::Analyzed {
            failures: analysis.failures.len(),
            primary: analysis.primary().cloned(),
        });

        let mut record = RepairRecord {
            schema: selfheal_types::REPAIR_SCHEMA.to_owned(),
            run: job.run.clone(),
            base_commit: job.base_commit.clone(),
            started_at,
            model: self.settings.model.clone(),
            failure: None,
            attempts: Vec::new(),
            outcome: Outcome::NothingToFix,
            tokens: TokenUsage::default(),
            timings_ms: BTreeMap::new(),
            duration_ms: 0,
            publication: None,
        };

        let outcome = match pick_target(&analysis) {
            Err(outcome) => outcome,
            Ok(target) => {
                record.failure = Some(target.failure.clone());
                let branch = selfheal_git::fix_branch_name(
                    &self.settings.branch_prefix,
                    &job.run.id,
                    target.failure.short_fingerprint(),
                );
                if self.repo.branch_exists(&branch)? {
                    return Err(OrchestratorError::BranchExists(branch));
                }
                let t = Instant::now();
                let worktree = self.repo.export_tree(&job.base_commit, None)?;
                timings.insert(Stage::Checkout, elapsed_ms(t));
                self.attempt_loop(job, target, &worktree, &branch, &mut record, &mut timings)
                    .await?
            }
        };

        record.outcome = outcome.clone();
        record.timings_ms = timings;
        record.duration_ms = elapsed_ms(started);
        self.events.emit(&Event::Finished { outcome });
        Ok(record)
    }

    async fn attempt_loop(
        &self,
        job: &RepairJob,
        mut target: Target,
        worktree: &Worktree,
        branch: &str,
        record: &mut RepairRecord,
        timings: &mut BTreeMap<Stage, u64>,
    ) -> Result<Outcome, OrchestratorError> {
        let max = self.settings.max_attempts.max(1);
        // Original contents of every file changed by attempts that were kept
        // (`None`: the file did not exist), so the tree can always go back.
        let mut kept = BaseContents::default();
        let mut previous: Vec<PreviousAttempt> = Vec::new();
        let mut last_reason = String::from("no attempt was made");

        for number in 1..=max {
            if record.tokens.total() >= self.settings.total_token_budget {
                return Ok(Outcome::NotFixed {
                    reason: format!(
                        "token budget of {} exhausted after {} attempts",
                        self.settings.total_token_budget,
                        number - 1
                    ),
                });
            }
            self.events.emit(&Event::AttemptStarted { number, max });
            let result = self
                .one_attempt(number, &target, worktree, &previous, &mut kept)
                .await;
            record.tokens += result.attempt.tokens;
            self.events.emit(&Event::AttemptFinished {
                attempt: result.attempt.clone(),
            });
            let attempt = result.attempt;
            last_reason = attempt
                .reason
                .clone()
                .unwrap_or_else(|| "attempt failed".to_owned());
            let outcome = attempt.outcome;
            previous.push(PreviousAttempt {
                number,
                diff: attempt.diff.clone(),
                outcome: last_reason.clone(),
                validation_excerpt: result.validation_excerpt.clone(),
            });
            record.attempts.push(attempt);

            match outcome {
                AttemptOutcome::Validated => {
                    let t = Instant::now();
                    let diagnosis = record
                        .attempts
                        .last()
                        .and_then(|a| a.diagnosis.clone())
                        .unwrap_or_default();
                    let commit = self.commit(job, worktree, &kept, branch, &target, &diagnosis)?;
                    timings.insert(Stage::Commit, elapsed_ms(t));
                    self.events.emit(&Event::Committed {
                        branch: branch.to_owned(),
                        commit: commit.clone(),
                    });
                    return Ok(Outcome::Fixed {
                        branch: branch.to_owned(),
                        commit,
                    });
                }
                AttemptOutcome::Declined => {
                    return Ok(Outcome::NotFixed {
                        reason: last_reason,
                    });
                }
                AttemptOutcome::Error if result.fatal => {
                    return Ok(Outcome::NotFixed {
                        reason: last_reason,
                    });
                }
                _ => {}
            }
            if let Some(next) = result.next_target {
                target = next;
            }
        }
        Ok(Outcome::NotFixed {
            reason: format!("no validated fix after {max} attempts; last: {last_reason}"),
        })
    }

    async fn one_attempt(
        &self,
        number: u32,
        target: &Target,
        worktree: &Worktree,
        previous: &[PreviousAttempt],
        kept: &mut BaseContents,
    ) -> AttemptResult {
        let mut attempt = Attempt {
            number,
            outcome: AttemptOutcome::Error,
            diagnosis: None,
            diff: None,
            files: Vec::new(),
            validation: None,
            reason: None,
            tokens: TokenUsage::default(),
            timings_ms: BTreeMap::new(),
        };
        let fail = |mut attempt: Attempt, outcome, reason: String, fatal| {
            attempt.outcome = outcome;
            attempt.reason = Some(reason);
            AttemptResult {
                attempt,
                validation_excerpt: None,
                next_target: None,
                fatal,
            }
        };

        self.stage(number, Stage::Context);
        let t = Instant::now();
        let files = selfheal_reason::collect_context(
            worktree.path(),
            &target.failure,
            self.settings.context_token_budget,
        );
        attempt.timings_ms.insert(Stage::Context, elapsed_ms(t));

        self.stage(number, Stage::Reason);
        let t = Instant::now();
        let request = RepairRequest {
            failure: target.failure.clone(),
            excerpt: target.excerpt.clone(),
            files,
            previous: previous.to_vec(),
        };
        let proposal = self.model.propose(&request).await;
        attempt.timings_ms.insert(Stage::Reason, elapsed_ms(t));
        let proposal = match proposal {
            Ok(p) => p,
            Err(e) => {
                let fatal = !e.is_retryable();
                return fail(attempt, AttemptOutcome::Error, format!("model: {e}"), fatal);
            }
        };
        attempt.tokens = proposal.tokens;
        attempt.diagnosis = Some(proposal.diagnosis.clone());
        self.events.emit(&Event::Diagnosed {
            number,
            diagnosis: proposal.diagnosis.clone(),
            tokens: proposal.tokens,
        });

        self.stage(number, Stage::Patch);
        let t = Instant::now();
        let change = selfheal_patch::parse_reply(&proposal.reply)
            .and_then(|edits| selfheal_patch::plan(worktree.path(), &edits));
        attempt.timings_ms.insert(Stage::Patch, elapsed_ms(t));
        let change = match change {
            Ok(c) if c.is_empty() => {
                return fail(
                    attempt,
                    AttemptOutcome::NoUsableEdit,
                    "the reply's edits change nothing".to_owned(),
                    false,
                );
            }
            Ok(c) => c,
            Err(e) => {
                return fail(attempt, AttemptOutcome::NoUsableEdit, e.to_string(), false);
            }
        };
        let (diff, files) = (change.unified_diff(), change.paths());
        attempt.diff = Some(diff.clone());
        attempt.files.clone_from(&files);
        if let Err(reason) = policy::check(&change) {
            return fail(attempt, AttemptOutcome::NoUsableEdit, reason, false);
        }
        self.events.emit(&Event::PatchReady {
            number,
            diff,
            files,
        });

        self.stage(number, Stage::Approve);
        let t = Instant::now();
        let approval = self.approver.approve(&change, &proposal.diagnosis).await;
        attempt.timings_ms.insert(Stage::Approve, elapsed_ms(t));
        match approval {
            Approval::Approved => {}
            Approval::Declined => {
                return fail(
                    attempt,
                    AttemptOutcome::Declined,
                    "the change was declined".to_owned(),
                    true,
                );
            }
            Approval::Unattended { hint } => {
                return fail(attempt, AttemptOutcome::Declined, hint, true);
            }
        }

        self.stage(number, Stage::Validate);
        let t = Instant::now();
        if let Err(e) = kept.apply(worktree, &change) {
            return fail(
                attempt,
                AttemptOutcome::Error,
                format!("could not write the change: {e}"),
                true,
            );
        }
        let plan = ValidationPlan::failing_then_full(
            &target.tests,
            &self.settings.failing_test_command,
            &self.settings.test_command,
            self.settings.validation_timeout,
        );
        let report = self.sandbox.validate(worktree.path(), &plan).await;
        attempt.timings_ms.insert(Stage::Validate, elapsed_ms(t));
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                // The sandbox itself failed: no verdict on the change, and
                // nothing later attempts could do better.
                let _ = kept.revert_attempt(worktree);
                return fail(
                    attempt,
                    AttemptOutcome::Error,
                    format!("sandbox: {e}"),
                    true,
                );
            }
        };
        self.events.emit(&Event::Validated {
            number,
            report: report.clone(),
        });
        attempt.validation = Some(report.clone());
        if report.passed() {
            attempt.outcome = AttemptOutcome::Validated;
            return AttemptResult {
                attempt,
                validation_excerpt: None,
                next_target: None,
                fatal: false,
            };
        }

        let (reason, excerpt, next_target) = self.judge_failed_validation(&report, target);
        if next_target.is_none() {
            // No progress: the next attempt starts from where this one did.
            let _ = kept.revert_attempt(worktree);
        } else {
            kept.keep_attempt();
        }
        attempt.outcome = AttemptOutcome::ValidationFailed;
        attempt.reason = Some(reason);
        AttemptResult {
            attempt,
            validation_excerpt: Some(excerpt),
            next_target,
            fatal: false,
        }
    }

    /// Reads the failed validation's output with the analyser: did the
    /// targeted failure go away (progress, and a new target) or not?
    fn judge_failed_validation(
        &self,
        report: &ValidationReport,
        target: &Target,
    ) -> (String, String, Option<Target>) {
        let Some(step) = report.failed_step() else {
            return ("validation failed".to_owned(), String::new(), None);
        };
        let what = if step.timed_out {
            format!("{} timed out", step.name)
        } else {
            format!(
                "{} failed (exit code {})",
                step.name,
                step.exit_code
                    .map_or_else(|| "none".to_owned(), |c| c.to_string())
            )
        };
        let analysis = analyze_reader(
            step.output_tail.as_bytes(),
            "validation output",
            &self.settings.analyze,
        )
        .ok();
        let excerpt = analysis
            .as_ref()
            .map(|a| a.excerpt.clone())
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| tail_lines(&step.output_tail, 60));
        let Some(analysis) = analysis else {
            return (what, excerpt, None);
        };
        let still_failing = analysis
            .failures
            .iter()
            .any(|f| still_blocked(f, &target.failure));
        let reason = match analysis.primary() {
            Some(f) => format!("{what}: {}", f.message),
            None => what,
        };
        if still_failing || step.timed_out {
            return (reason, excerpt, None);
        }
        let next = pick_target(&analysis).ok().map(|mut t| {
            // The validation output has no CI job or step; keep the line
            // numbers meaningful only within that output.
            t.excerpt.clone_from(&excerpt);
            t
        });
        (reason, excerpt, next)
    }

    fn commit(
        &self,
        job: &RepairJob,
        worktree: &Worktree,
        kept: &BaseContents,
        branch: &str,
        target: &Target,
        diagnosis: &Diagnosis,
    ) -> Result<String, OrchestratorError> {
        let files = kept.changed_paths(worktree);
        let message = commit_message(&job.run, record_failure(target), diagnosis);
        let message = if self.settings.signoff {
            selfheal_git::with_signoff(&message, &self.settings.author)
        } else {
            message
        };
        Ok(self.repo.commit_fix(
            worktree,
            &job.base_commit,
            &files,
            branch,
            &message,
            &self.settings.author,
        )?)
    }

    fn stage(&self, number: u32, stage: Stage) {
        self.events.emit(&Event::StageStarted { number, stage });
    }
}

struct AttemptResult {
    attempt: Attempt,
    validation_excerpt: Option<String>,
    next_target: Option<Target>,
    /// Later attempts cannot succeed (declined, no terminal, model or sandbox unusable).
    fatal: bool,
}

/// The first failure a code change can fix, or why there is none.
fn pick_target(analysis: &Analysis) -> Result<Target, Outcome> {
    let Some(primary) = analysis.primary() else {
        return Err(Outcome::NothingToFix);
    };
    let Some(failure) = analysis
        .failures
        .iter()
        .find(|f| f.category.is_code_fixable())
    else {
        return Err(Outcome::NotFixed {
            reason: format!(
                "the failure is {} ({}), which a code change cannot fix; hint: rerun the job",
                primary.category, primary.message
            ),
        });
    };
    let mut tests: Vec<String> = Vec::new();
    for test in analysis.failures.iter().filter_map(|f| f.test.as_ref()) {
        if !tests.contains(test) && tests.len() < MAX_FAILING_TESTS {
            tests.push(test.clone());
        }
    }
    Ok(Target {
        failure: failure.clone(),
        excerpt: analysis.excerpt.clone(),
        tests,
    })
}

/// Whether a failure seen in validation output still blocks the one an
/// attempt targeted. Fingerprints differ between a CI log and sandbox output
/// (job and step names, paths), so compare what the failure is about: the
/// same test failing no further than before (a `NameError` turning into an
/// assertion failure means the code now runs further: progress), or, without
/// test ids, the same category and message.
fn still_blocked(seen: &Failure, targeted: &Failure) -> bool {
    match (&seen.test, &targeted.test) {
        (Some(a), Some(b)) => a == b && depth(seen.category) <= depth(targeted.category),
        _ => seen.category == targeted.category && seen.message == targeted.message,
    }
}

/// How far a test got before it failed: not built, crashed, or checked and wrong.
fn depth(category: Category) -> u8 {
    match category {
        Category::TestFailure => 2,
        Category::TestError => 1,
        _ => 0,
    }
}

fn record_failure(target: &Target) -> &Failure {
    &target.failure
}

/// The fix commit's message: the diagnosis as subject, then what failed.
pub fn commit_message(run: &RunInfo, failure: &Failure, diagnosis: &Diagnosis) -> String {
    let subject = first_line(&diagnosis.summary);
    let subject = if subject.is_empty() {
        format!("Fix {}", first_line(&failure.message))
    } else {
        subject.to_owned()
    };
    let mut message = format!("{}\n\n", truncate_chars(&subject, 72));
    if !diagnosis.root_cause.trim().is_empty() {
        message.push_str(diagnosis.root_cause.trim());
        message.push_str("\n\n");
    }
    let _ = writeln!(
        message,
        "Failure: {} ({}, {})",
        first_line(&failure.message),
        failure.category,
        failure.tool
    );
    if let Some(test) = &failure.test {
        let _ = writeln!(message, "Test: {test}");
    }
    let _ = writeln!(message, "CI run: {}", run.id);
    let _ = writeln!(message, "Fingerprint: {}", failure.fingerprint);
    message.push_str("\nRepaired and validated by selfheal.\n");
    message
}

fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Tracks which files attempts have changed and what they held before, so
/// an attempt that made no progress can be undone and the final commit names
/// exactly the files that differ from the failing commit.
#[derive(Default)]
struct BaseContents {
    /// Every file any attempt touched, as it was at the failing commit (`None`: absent).
    base: BTreeMap<String, Option<Vec<u8>>>,
    /// Files touched by the attempt under validation, as they were before it.
    before_attempt: BTreeMap<String, Option<Vec<u8>>>,
}

impl BaseContents {
    fn apply(
        &mut self,
        worktree: &Worktree,
        change: &ChangeSet,
    ) -> Result<(), selfheal_patch::PatchError> {
        for path in change.paths() {
            let current = std::fs::read(worktree.path().join(&path)).ok();
            self.base
                .entry(path.clone())
                .or_insert_with(|| current.clone());
            self.before_attempt.entry(path).or_insert(current);
        }
        change.write_to(worktree.path())
    }

    /// The attempt made progress: its change stays for the next one.
    fn keep_attempt(&mut self) {
        self.before_attempt.clear();
    }

    /// Puts the files the last attempt touched back as they were before it.
    fn revert_attempt(&mut self, worktree: &Worktree) -> std::io::Result<()> {
        for (path, original) in std::mem::take(&mut self.before_attempt) {
            let full = worktree.path().join(&path);
            match original {
                Some(bytes) => std::fs::write(&full, bytes)?,
                None => match std::fs::remove_file(&full) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                },
            }
        }
        Ok(())
    }

    /// Files that now differ from the failing commit.
    fn changed_paths(&self, worktree: &Worktree) -> Vec<String> {
        self.base
            .iter()
            .filter(|(path, original)| std::fs::read(worktree.path().join(path)).ok() != **original)
            .map(|(path, _)| path.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfheal_types::LineSpan;

    fn failure(test: Option<&str>, message: &str) -> Failure {
        Failure {
            category: Category::TestFailure,
            tool: "pytest".into(),
            message: message.into(),
            test: test.map(Into::into),
            locations: vec![],
            job: None,
            step: None,
            log_file: None,
            log_span: LineSpan::new(1, 2),
            fingerprint: "0123456789abcdef".into(),
        }
    }

    #[test]
    fn still_blocked_compares_tests_first() {
        let a = failure(Some("tests/t.py::test_a"), "assert 1 == 2");
        let b = failure(Some("tests/t.py::test_a"), "assert 3 == 2");
        let c = failure(Some("tests/t.py::test_b"), "assert 1 == 2");
        assert!(still_blocked(&a, &b));
        assert!(!still_blocked(&a, &c));
        assert!(still_blocked(&failure(None, "x"), &failure(None, "x")));
    }

    #[test]
    fn a_test_that_gets_further_is_progress() {
        let mut crashed = failure(
            Some("tests/t.py::test_a"),
            "NameError: name 'x' is not defined",
        );
        crashed.category = Category::TestError;
        let asserted = failure(Some("tests/t.py::test_a"), "assert 1 == 2");
        assert!(!still_blocked(&asserted, &crashed));
        assert!(still_blocked(&crashed, &asserted));
    }

    #[test]
    fn commit_message_names_failure_and_diagnosis() {
        let run = RunInfo {
            id: "42".into(),
            ..RunInfo::default()
        };
        let diagnosis = Diagnosis {
            summary: "Use the right operator in add()".into(),
            root_cause: "add() subtracted.".into(),
        };
        let message = commit_message(
            &run,
            &failure(Some("tests/t.py::test_add"), "assert -1 == 3"),
            &diagnosis,
        );
        assert_eq!(
            message,
            "Use the right operator in add()\n\nadd() subtracted.\n\n\
             Failure: assert -1 == 3 (test_failure, pytest)\nTest: tests/t.py::test_add\n\
             CI run: 42\nFingerprint: 0123456789abcdef\n\nRepaired and validated by selfheal.\n"
        );
    }

    #[test]
    fn nothing_to_fix_without_failures() {
        let analysis = Analysis::new("x", vec![], String::new());
        assert!(matches!(pick_target(&analysis), Err(Outcome::NothingToFix)));
    }

    #[test]
    fn infra_failures_are_not_patched() {
        let mut f = failure(None, "No space left on device");
        f.category = Category::Infra;
        let analysis = Analysis::new("x", vec![f], String::new());
        assert!(matches!(
            pick_target(&analysis),
            Err(Outcome::NotFixed { .. })
        ));
    }
}
