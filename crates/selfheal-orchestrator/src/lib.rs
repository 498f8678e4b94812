//! The repair loop.
//!
//! One [`Orchestrator::repair`] call takes a failed run's logs and the commit it
//! tested, and drives the agents in order: analyse the logs
//! (`selfheal-analyze`; skipped when the caller passes its own
//! [`RepairJob::analysis`]), pick the failure to target ([`target_failure`]),
//! materialise the failing commit in a temporary tree (`selfheal-git`), then
//! up to `max_attempts` times: gather context and ask the model (any
//! [`RepairModel`]), turn the reply into a change (`selfheal-patch`), refuse
//! changes that weaken tests ([`policy`]), ask for approval ([`Approver`]),
//! and prove the change in a [`Sandbox`]. A validated change becomes a commit
//! on a fresh branch; every attempt, good or bad, is kept in the returned
//! [`RepairRecord`].
//!
//! The loop never prints. It reports progress as [`Event`]s to an
//! [`EventSink`], so the CLI's human printer and its `--json` mode are two
//! consumers of the same stream. Only the CLI picks concrete parts: the model,
//! the sandbox and the approver are traits, so tests and future front ends
//! swap them freely.
//!
//! Each attempt ends in one of three moves, decided by pure functions in
//! `decide.rs` and carried out here:
//!
//! - **commit**: the change passed validation;
//! - **retry**: another attempt may do better: a model error that
//!   [`is_retryable`](selfheal_reason::ReasonError::is_retryable), a reply
//!   with no usable edit (including one the policy refused), or a failed
//!   validation;
//! - **stop**: nothing later could do better: a model error that is not
//!   retryable, a declined change, nobody to ask, a change that could not be
//!   written, or a sandbox that could not run.
//!
//! Before every model call the loop also stops when the call could go over a
//! cap: the tokens the calls so far used, plus an estimate of this call's
//! prompt ([`estimate_prompt_tokens`]), against `total_token_budget`, and
//! their price against the optional [`CostLimit`].
//!
//! A model server that answers with a rate limit or a server error (429,
//! 5xx) is asked the same request again after a back-off
//! ([`ModelRetry`]); that does not use up an attempt. Only when those
//! retries run out does the attempt fail, and the next one begins.
//!
//! Before approval and the sandbox, each answer is checked cheaply: its
//! edits apply, it is not a change already tried, and it leaves Python
//! code parseable and using no name the file does not define ([`syntax`]).
//! An answer that fails these is asked for once more, sampled, within the
//! attempt.
//!
//! A target with a remedy (`selfheal-remedy`: a missing name the failing
//! commit renamed, an import it removed, a module it moved, the name
//! Python's "Did you mean" rule picks; else the revert of the tested
//! commit's lines that the failure runs through) has it tried first, once,
//! as an attempt that asks no model: it goes through the same checks,
//! approval and sandbox, and when it fails the model is told what it tried.
//! A revert that fails is always undone, even when it got past the failure:
//! what broke instead is something the commit wanted.
//!
//! The loop stops early when it is stuck: an attempt proposes the change an
//! earlier attempt on the same tree already tried (caught before it is
//! validated again), or two reverted attempts in a row fail with the same
//! first failure at the same place. A new failure after a kept attempt is
//! progress, and starts both checks afresh.
//!
//! Attempts build on each other only when they made progress: if the
//! validation output no longer shows the failure the attempt targeted, its
//! change is kept and the next attempt chases what failed next (two bugs, one
//! masking the other); otherwise the attempt's change is undone, so the next
//! one starts from the same tree, and the model is told what did not work.
//! The commit still names the failure CI saw, as the branch does.
//!
//! A suite that was already red for other reasons (a flaky or broken test
//! unrelated to the failure) is judged against a baseline: when the
//! targeted tests pass but the full suite fails, which would otherwise count
//! as a regression, the full suite runs once on the unpatched failing commit
//! (cached per repository, commit and command for the life of the process).
//! If every test that fails after the change already failed there, the
//! change is validated and its reason names those tests; if a test that
//! passed there fails now, it is a regression that names it. Where either
//! run cannot be read into test ids, the failures count as before.

mod baseline;
mod changes;
mod decide;
mod manifests;
pub mod policy;
mod recent;
mod record;
mod syntax;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_git::{Repo, Signature, Worktree};
use selfheal_patch::ChangeSet;
use selfheal_reason::{PreviousAttempt, Proposal, RepairModel, RepairRequest};
use selfheal_types::{
    Analysis, Attempt, AttemptOutcome, CandidateCounts, Diagnosis, Event, Failure, Outcome,
    RepairRecord, RunInfo, Stage, TestChange, TestEditConsent, TokenUsage,
};
use selfheal_validate::{Sandbox, ValidationPlan};

use changes::BaseContents;
use decide::{
    FailureSpot, Next, StuckCheck, Target, after_model_error, ask_again, budget_stop, caps_stop,
    judge_failed_validation, model_backoff, pick_target,
};

pub use decide::{estimate_prompt_tokens, target_failure};
pub use record::write_record;

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

    /// Whether the change may edit tests: `changes` names each one (a line
    /// per file or changed expectation) and `reason` is the model's word that
    /// the test itself is wrong. Asked after the diff was shown and before
    /// [`Self::approve`], unless the user consented beforehand
    /// ([`policy::Policy::allow_test_edits`]). By default nobody consents:
    /// approving every diff (`--yes`) is not consent to changing tests.
    async fn approve_test_edits(&self, changes: &[String], reason: &str) -> Approval {
        let _ = (changes, reason);
        Approval::Unattended {
            hint: "changing tests needs --allow-test-edits".to_owned(),
        }
    }
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
    /// The loop stops before a model call when the calls so far plus the
    /// call's estimated prompt would use more tokens than this.
    pub total_token_budget: u64,
    /// How often, and after how long, a rate-limited or failing model
    /// server is asked again before the attempt counts as failed.
    pub model_retry: ModelRetry,
    /// `None`: no limit but the token budget.
    pub cost: Option<CostLimit>,
    /// Runs the failing tests; `{tests}` is replaced by their ids. Empty:
    /// no such step, the full suite alone decides.
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
    /// The project's test runner, when known: the failing tests' ids are
    /// turned into the arguments it wants (`go test -run` takes one regex).
    /// `None`: the ids are passed as the log names them.
    pub ecosystem: Option<selfheal_validate::Ecosystem>,
    /// What a change may touch, and whether the user consented to changes to tests.
    pub policy: policy::Policy,
    /// Variables every test command gets (the failing CI step's `env:`).
    pub test_env: Vec<(String, String)>,
    /// The folder the failing CI step ran in, repo-relative (`""`: the
    /// root): paths and test ids in its log are relative to it.
    pub workdir: String,
    /// Answers asked for per attempt (`--candidates`); 1 asks once.
    pub candidates: u32,
    /// The temperature candidates after the first are sampled at.
    pub candidate_temperature: f32,
    /// Before the model is asked about a target, try its remedy
    /// (`selfheal-remedy`) once, when there is one.
    pub remedies: bool,
    /// Among the remedies, the revert of the tested commit's lines that the
    /// failure runs through, where no rule for a missing name applies.
    pub reverts: bool,
}

/// Asking a busy model server again: up to `max_retries` more times per
/// attempt, waiting `base_delay`, then twice as long each time (capped at 30 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelRetry {
    pub max_retries: u32,
    pub base_delay: Duration,
}

impl Default for ModelRetry {
    /// Three more tries, after 1, 2 and 4 seconds.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
        }
    }
}

/// A ceiling on what the model calls of one repair may cost, from the
/// model's prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostLimit {
    pub max_usd: f64,
    pub usd_per_million_prompt: f64,
    pub usd_per_million_completion: f64,
}

impl CostLimit {
    /// What `tokens` cost at these prices.
    pub fn usd(&self, tokens: TokenUsage) -> f64 {
        (tokens.prompt as f64 * self.usd_per_million_prompt
            + tokens.completion as f64 * self.usd_per_million_completion)
            / 1_000_000.0
    }
}

/// One failed run to repair.
#[derive(Debug, Clone)]
pub struct RepairJob {
    pub run: RunInfo,
    /// The run's logs: a file, a run-log zip or an unpacked run-log folder.
    pub logs: PathBuf,
    /// The commit the run tested, resolved to a full sha.
    pub base_commit: String,
    /// The logs' analysis when the caller already made it (to check the
    /// failure against what was handled before); `None` analyses `logs`.
    pub analysis: Option<Analysis>,
    /// Repair again although a fix branch for this run and failure exists
    /// (`--force`): the new fix goes to the next free name (`…-2`, `…-3`);
    /// an existing branch is never overwritten.
    pub redo: bool,
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

        let analysis = if let Some(analysis) = &job.analysis {
            analysis.clone()
        } else {
            let t = Instant::now();
            let analysis = analyze_path(&job.logs, &self.settings.analyze)?;
            timings.insert(Stage::Analyze, elapsed_ms(t));
            analysis
        };
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
                let branch = self.free_branch(branch, job.redo)?;
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

    /// `branch`, or with `redo` the first of `branch-2`, `branch-3`, ... that
    /// does not exist yet.
    fn free_branch(&self, branch: String, redo: bool) -> Result<String, OrchestratorError> {
        if !self.repo.branch_exists(&branch)? {
            return Ok(branch);
        }
        if !redo {
            return Err(OrchestratorError::BranchExists(branch));
        }
        for n in 2..1000 {
            let candidate = format!("{branch}-{n}");
            if !self.repo.branch_exists(&candidate)? {
                return Ok(candidate);
            }
        }
        Err(OrchestratorError::BranchExists(branch))
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
        // The commit describes the failure CI saw, which the branch is named
        // after, not whatever later attempts chased after making progress.
        let ci_failure = target.failure.clone();
        // Original contents of every file changed by attempts that were kept
        // (`None`: the file did not exist), so the tree can always go back.
        let mut kept = BaseContents::default();
        let mut previous: Vec<PreviousAttempt> = Vec::new();
        let mut last_reason = String::from("no attempt was made");
        let mut stuck = StuckCheck::default();
        // A target's remedy is tried once, before the model is asked about it.
        let mut remedy_tried = false;
        // Changes validated and undone on the tree as it is, newest last:
        // small models often quote their last change's text as if it had
        // stayed, and such an answer is applied on top of it.
        let mut undone: Vec<(u32, ChangeSet)> = Vec::new();
        // Read once: the commit does not change between attempts. Without
        // it (a shallow clone, a root commit) the model sees the rest.
        let commit_change = match self.repo.commit_change(&job.base_commit) {
            Ok(change) => change,
            Err(e) => {
                tracing::warn!("the tested commit's diff is not shown: {e}");
                None
            }
        };

        for number in 1..=max {
            if let Some(outcome) =
                budget_stop(record.tokens, self.settings.total_token_budget, number - 1)
            {
                return Ok(outcome);
            }
            self.events.emit(&Event::AttemptStarted { number, max });
            let remedy = if self.settings.remedies && !remedy_tried {
                remedy_tried = true;
                let (root, workdir, change) = (
                    worktree.path(),
                    self.settings.workdir.as_str(),
                    commit_change.as_ref(),
                );
                selfheal_remedy::remedy_for(root, workdir, &target.failure, change).or_else(|| {
                    self.settings
                        .reverts
                        .then(|| {
                            selfheal_remedy::revert_for(root, workdir, &target.failure, change)
                        })
                        .flatten()
                })
            } else {
                None
            };
            let step = AttemptStep {
                number,
                target: &target,
                worktree,
                previous: &previous,
                stuck: &stuck,
                undone: &undone,
                spent: record.tokens,
                base_commit: &job.base_commit,
                commit_change: commit_change.as_ref(),
                remedy,
            };
            let AttemptResult {
                attempt,
                validation_excerpt,
                spot,
                next,
            } = match self.one_attempt(step, &mut kept).await {
                Ok(result) => result,
                Err(stopped) => return Ok(stopped),
            };
            record.tokens += attempt.tokens;
            self.events.emit(&Event::AttemptFinished {
                attempt: attempt.clone(),
            });
            last_reason = attempt
                .reason
                .clone()
                .unwrap_or_else(|| "attempt failed".to_owned());
            previous.push(PreviousAttempt {
                number,
                diff: attempt.diff.clone(),
                outcome: last_reason.clone(),
                validation_excerpt,
                kept: false,
            });
            let diagnosis = attempt.diagnosis.clone().unwrap_or_default();
            if let Some(diff) = &attempt.diff {
                stuck.tried(number, diff, attempt.outcome);
            }
            let validation_failed = attempt.outcome == AttemptOutcome::ValidationFailed;
            record.attempts.push(attempt);

            match next {
                Next::Commit => {
                    let t = Instant::now();
                    let commit = match self.commit(
                        job,
                        worktree,
                        &kept,
                        branch,
                        &ci_failure,
                        &diagnosis,
                    ) {
                        Ok(commit) => commit,
                        // The validated diff is in the record's last
                        // attempt; losing it to a git error would waste
                        // the whole repair.
                        Err(e) => {
                            return Ok(Outcome::NotFixed {
                                reason: format!(
                                    "the fix validated but could not be committed: {e}; hint: the validated diff is in the record"
                                ),
                            });
                        }
                    };
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
                Next::Stop => {
                    return Ok(Outcome::NotFixed {
                        reason: last_reason,
                    });
                }
                Next::Environment => {
                    return Ok(Outcome::EnvironmentError {
                        reason: last_reason,
                    });
                }
                Next::Retry {
                    progress: Some(next_target),
                } => {
                    if let Some(last) = previous.last_mut() {
                        last.kept = true;
                    }
                    kept.keep_attempt();
                    target = *next_target;
                    remedy_tried = false;
                    stuck.kept();
                    undone.clear();
                }
                Next::Retry { progress: None } => {
                    let change = kept.attempt_change(worktree);
                    // Building on a change that made no progress would
                    // compound the mistake, so failing to undo it ends the repair.
                    if let Err(e) = kept.revert_attempt(worktree) {
                        return Ok(Outcome::NotFixed {
                            reason: format!("could not undo attempt {number}'s change: {e}"),
                        });
                    }
                    if !change.is_empty() {
                        undone.push((number, change));
                    }
                    // Only validations say where an attempt failed; replies
                    // without a usable edit leave the comparison as it was.
                    if validation_failed && let Some(reason) = stuck.reverted(number, spot) {
                        return Ok(Outcome::NotFixed { reason });
                    }
                }
            }
        }
        Ok(Outcome::NotFixed {
            reason: format!("no validated fix after {max} attempts; last: {last_reason}"),
        })
    }

    /// One pass of context → model → patch → policy → approval → validation.
    /// Writes the change into the tree when it gets that far; whether it
    /// stays there is the loop's call, from [`AttemptResult::next`]. `Err`:
    /// the caps stopped the repair before the model was called, so no
    /// attempt was made.
    async fn one_attempt(
        &self,
        step: AttemptStep<'_>,
        kept: &mut BaseContents,
    ) -> Result<AttemptResult, Outcome> {
        let AttemptStep {
            number,
            target,
            worktree,
            previous,
            stuck,
            undone,
            spent,
            base_commit,
            commit_change,
            remedy,
        } = step;
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
            test_change: None,
            candidates: None,
            model: None,
            prompt_ms: None,
            remedy: None,
        };
        let at = CandidateStep {
            number,
            target,
            worktree,
            stuck,
            undone,
            base_commit,
        };
        if let Some(fix) = remedy {
            let rule = fix.rule.as_str();
            let proposal = Proposal {
                diagnosis: fix.diagnosis.clone(),
                reply: fix.reply(),
                tokens: TokenUsage::default(),
                prompt_ms: None,
            };
            if usable(worktree.path(), &proposal, undone, stuck, number) {
                tracing::info!("attempt {number}: trying the remedy ({rule}) before the model");
                attempt.remedy = Some(rule.to_owned());
                let mut result = self.try_candidate(&at, attempt, proposal, kept).await?;
                if fix.rule == selfheal_remedy::Rule::Revert
                    && let Next::Retry { progress } = &mut result.next
                    && progress.is_some()
                {
                    // A revert that gets past the failure but breaks other
                    // tests undid something the commit wanted: building on
                    // it would have the model write the commit again. The
                    // model hears that, to fix forward instead.
                    *progress = None;
                    if let Some(reason) = result.attempt.reason.as_mut() {
                        reason.push_str(
                            "; so the tests want what the commit changed there: fix the code forward, keeping the commit's change",
                        );
                    }
                }
                return Ok(result);
            }
            tracing::info!("attempt {number}: the remedy ({rule}) cannot be tried here");
        }

        self.stage(number, Stage::Context);
        let t = Instant::now();
        let files = selfheal_reason::collect_context_in(
            worktree.path(),
            &self.settings.workdir,
            &target.failure,
            self.settings.context_token_budget,
        );
        attempt.timings_ms.insert(Stage::Context, elapsed_ms(t));

        let recent_change =
            commit_change.map(|c| recent::pick(c, &files, self.settings.context_token_budget));
        let request = RepairRequest {
            failure: target.failure.clone(),
            excerpt: target.excerpt.clone(),
            files,
            previous: previous.to_vec(),
            recent_change,
            temperature: None,
        };
        // Every candidate sends the same prompt.
        let prompts = estimate_prompt_tokens(&request)
            .saturating_mul(u64::from(self.settings.candidates.max(1)));
        if let Some(stopped) = caps_stop(
            spent,
            prompts,
            self.settings.total_token_budget,
            self.settings.cost.as_ref(),
            number - 1,
        ) {
            return Err(stopped);
        }

        self.stage(number, Stage::Reason);
        let t = Instant::now();
        let asked = self.settings.candidates.max(1);
        let mut proposals: Vec<Proposal> = Vec::new();
        let mut model_error = None;
        for i in 0..asked {
            let mut request = request.clone();
            if i > 0 {
                // The first answer is the model's best guess; the others are
                // sampled, so that they differ.
                request.temperature = Some(self.settings.candidate_temperature);
            }
            match self.propose(number, &request).await {
                Ok(p) => proposals.push(p),
                Err(e) => {
                    let hopeless = !e.is_retryable();
                    model_error.get_or_insert(e);
                    if hopeless {
                        break;
                    }
                }
            }
        }
        attempt.timings_ms.insert(Stage::Reason, elapsed_ms(t));
        for p in &proposals {
            attempt.tokens += p.tokens;
        }
        attempt.prompt_ms = proposals.first().and_then(|p| p.prompt_ms);
        if proposals.is_empty() {
            let (reason, next) = match &model_error {
                Some(e) => (format!("model: {e}"), after_model_error(e)),
                None => ("model: no answer".to_owned(), Next::Stop),
            };
            return end(attempt, AttemptOutcome::Error, reason, next);
        }
        if asked == 1 {
            let mut proposal = proposals.remove(0);
            let mut counts = None;
            let one_more = estimate_prompt_tokens(&request);
            let mut spent_now = spent;
            spent_now += attempt.tokens;
            if !usable(worktree.path(), &proposal, undone, stuck, number)
                && caps_stop(
                    spent_now,
                    one_more,
                    self.settings.total_token_budget,
                    self.settings.cost.as_ref(),
                    number - 1,
                )
                .is_none()
            {
                // An answer that cannot be tried (its edits do not apply or
                // change nothing) or would fail again (a change already
                // tried) is asked for once more, sampled, before it costs an
                // attempt: at temperature 0 a small model tends to give the
                // same answer to nearly the same question, and the server's
                // prompt cache makes the second question cheap.
                let mut again = request.clone();
                again.temperature = Some(self.settings.candidate_temperature);
                let mut asked_again = CandidateCounts {
                    asked: 2,
                    usable: 0,
                    validated: 0,
                };
                if let Ok(other) = self.propose(number, &again).await {
                    attempt.tokens += other.tokens;
                    if usable(worktree.path(), &other, undone, stuck, number) {
                        asked_again.usable = 1;
                        proposal = other;
                    }
                }
                counts = Some(asked_again);
            }
            let mut result = self.try_candidate(&at, attempt, proposal, kept).await?;
            if let Some(mut counts) = counts {
                counts.validated = u32::from(result.attempt.validation.is_some());
                result.attempt.candidates = Some(counts);
            }
            return Ok(result);
        }

        let (ordered, usable) = order_candidates(worktree.path(), undone, proposals);
        let mut counts = CandidateCounts {
            asked,
            usable,
            validated: 0,
        };
        let total = ordered.len();
        let mut fallback: Option<AttemptResult> = None;
        for (i, proposal) in ordered.into_iter().enumerate() {
            let mut result = self
                .try_candidate(&at, attempt.clone(), proposal, kept)
                .await?;
            let validated = result.attempt.validation.is_some();
            if validated {
                counts.validated += 1;
            }
            let settled = match &result.next {
                Next::Commit | Next::Environment | Next::Retry { progress: Some(_) } => true,
                // A repeated change only ends this candidate; a declined
                // change or a broken sandbox ends the round.
                Next::Stop => result.attempt.outcome != AttemptOutcome::NoUsableEdit,
                Next::Retry { progress: None } => false,
            };
            if settled || i + 1 == total {
                if !settled
                    && !validated
                    && let Some(earlier) = fallback.take()
                {
                    // The last candidate was unusable: the round's story is
                    // the first one that was validated (already undone).
                    result = earlier;
                }
                result.attempt.candidates = Some(counts);
                return Ok(result);
            }
            // The next candidate starts from the same tree as this one did.
            if let Err(e) = kept.revert_attempt(worktree) {
                return end(
                    result.attempt,
                    AttemptOutcome::Error,
                    format!("could not undo a candidate's change: {e}"),
                    Next::Stop,
                );
            }
            if validated && fallback.is_none() {
                fallback = Some(result);
            }
        }
        // `ordered` is never empty: there was at least one proposal.
        end(
            attempt,
            AttemptOutcome::Error,
            "no candidate to try".to_owned(),
            Next::Stop,
        )
    }

    /// Patch, policy, approval and validation of one proposal on the tree
    /// as the attempt found it; `attempt` already holds the round's tokens.
    async fn try_candidate(
        &self,
        at: &CandidateStep<'_>,
        mut attempt: Attempt,
        proposal: Proposal,
        kept: &mut BaseContents,
    ) -> Result<AttemptResult, Outcome> {
        let CandidateStep {
            number,
            target,
            worktree,
            stuck,
            undone,
            base_commit,
        } = *at;
        let retry = Next::Retry { progress: None };
        attempt.diagnosis = Some(proposal.diagnosis.clone());
        self.events.emit(&Event::Diagnosed {
            number,
            diagnosis: proposal.diagnosis.clone(),
            tokens: proposal.tokens,
            remedy: attempt.remedy.clone(),
        });

        self.stage(number, Stage::Patch);
        let t = Instant::now();
        let change = plan_reply(worktree.path(), &proposal.reply, undone);
        attempt.timings_ms.insert(Stage::Patch, elapsed_ms(t));
        // A reply without a usable edit says nothing about the next one:
        // models answer differently when told why this one failed.
        let change = match change {
            Ok((c, _)) if c.is_empty() => {
                return end(
                    attempt,
                    AttemptOutcome::NoUsableEdit,
                    "the reply's edits change nothing".to_owned(),
                    retry,
                );
            }
            Ok(c) => c,
            Err(e) => {
                return end(attempt, AttemptOutcome::NoUsableEdit, e.to_string(), retry);
            }
        };
        let (change, built_on) = change;
        if let Some(earlier) = built_on {
            tracing::info!(
                "attempt {number}: the answer quotes attempt {earlier}'s undone change; applied on top of it"
            );
        }
        let (diff, files) = (change.unified_diff(), change.paths());
        attempt.diff = Some(diff.clone());
        attempt.files.clone_from(&files);
        // Before the policy, approval and the sandbox: the same change on
        // the same tree ends the same way, and asking or validating again
        // would only cost time.
        if let Some(reason) = stuck.repeated_change(number, &diff) {
            return end(attempt, AttemptOutcome::NoUsableEdit, reason, Next::Stop);
        }
        if let Err(reason) = syntax::check(&change) {
            return end(attempt, AttemptOutcome::NoUsableEdit, reason, retry);
        }
        if let Err(reason) = policy::check_with(&change, &self.settings.policy) {
            return end(attempt, AttemptOutcome::NoUsableEdit, reason, retry);
        }
        let test_edits: Vec<String> = policy::consent_needed(&change)
            .iter()
            .map(ToString::to_string)
            .collect();
        let test_reason = proposal
            .diagnosis
            .test_is_wrong
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if !test_edits.is_empty() && test_reason.is_none() {
            return end(
                attempt,
                AttemptOutcome::NoUsableEdit,
                format!(
                    "refused: the change edits tests ({}) but the reply does not say why the test is wrong; fix the code under test, or, if the test itself is wrong, say why in diagnosis.test_is_wrong",
                    edited_files(&test_edits)
                ),
                retry,
            );
        }
        self.events.emit(&Event::PatchReady {
            number,
            diff,
            files,
        });
        if let Some(reason) = test_reason.filter(|_| !test_edits.is_empty()) {
            let consent = if self.settings.policy.allow_test_edits {
                Some(TestEditConsent::Flag)
            } else {
                let t = Instant::now();
                let answer = self.approver.approve_test_edits(&test_edits, reason).await;
                attempt.timings_ms.insert(Stage::Approve, elapsed_ms(t));
                match answer {
                    Approval::Approved => Some(TestEditConsent::Confirmed),
                    Approval::Declined | Approval::Unattended { .. } => None,
                }
            };
            let Some(consent) = consent else {
                // The model may still find the fix in the code: tell it so.
                return end(
                    attempt,
                    AttemptOutcome::NoUsableEdit,
                    format!(
                        "refused: the change edits tests ({}), which the user has not allowed (--allow-test-edits); fix the code under test",
                        edited_files(&test_edits)
                    ),
                    retry,
                );
            };
            attempt.test_change = Some(TestChange {
                changes: test_edits.clone(),
                reason: reason.to_owned(),
                consent,
            });
        }

        self.stage(number, Stage::Approve);
        let t = Instant::now();
        let approval = self.approver.approve(&change, &proposal.diagnosis).await;
        *attempt.timings_ms.entry(Stage::Approve).or_default() += elapsed_ms(t);
        match approval {
            Approval::Approved => {}
            Approval::Declined => {
                return end(
                    attempt,
                    AttemptOutcome::Declined,
                    "the change was declined".to_owned(),
                    Next::Stop,
                );
            }
            Approval::Unattended { hint } => {
                return end(attempt, AttemptOutcome::Declined, hint, Next::Stop);
            }
        }

        self.stage(number, Stage::Validate);
        let t = Instant::now();
        if let Err(e) = kept.apply(worktree, &change) {
            return end(
                attempt,
                AttemptOutcome::Error,
                format!("could not write the change: {e}"),
                Next::Stop,
            );
        }
        // Without a command that runs single tests, the full suite alone decides.
        let tests: Vec<String> = if self.settings.failing_test_command.trim().is_empty() {
            Vec::new()
        } else if let Some(ecosystem) = self.settings.ecosystem {
            selfheal_validate::format_test_ids(ecosystem, &target.tests)
        } else {
            target.tests.clone()
        };
        let plan = ValidationPlan::failing_then_full(
            &tests,
            &self.settings.failing_test_command,
            &self.settings.test_command,
            self.settings.validation_timeout,
        )
        .with_env(self.settings.test_env.clone());
        let report = self.sandbox.validate(worktree.path(), &plan).await;
        attempt.timings_ms.insert(Stage::Validate, elapsed_ms(t));
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                // The sandbox itself failed: no verdict on the change, and
                // nothing later attempts could do better.
                return end(
                    attempt,
                    AttemptOutcome::Error,
                    format!("sandbox: {e}"),
                    Next::Stop,
                );
            }
        };
        self.events.emit(&Event::Validated {
            number,
            report: report.clone(),
        });
        attempt.validation = Some(report.clone());
        if let Some(missing) = report.environment_error() {
            // Not the patch's failure, nor progress: nothing any attempt
            // changes can make the tests run.
            return end(
                attempt,
                AttemptOutcome::Error,
                format!(
                    "the sandbox cannot run the tests: {missing}; hint: pass --image with the project's toolchain, or set [validate] test_command"
                ),
                Next::Environment,
            );
        }
        if report.passed() {
            attempt.outcome = AttemptOutcome::Validated;
            return Ok(AttemptResult {
                attempt,
                validation_excerpt: None,
                spot: None,
                next: Next::Commit,
            });
        }

        let mut judgement = judge_failed_validation(&report, target, &self.settings.analyze);
        if judgement.regressed {
            let t = Instant::now();
            let verdict = self.against_baseline(base_commit, &plan, &report).await;
            if let Some(ms) = attempt.timings_ms.get_mut(&Stage::Validate) {
                *ms += elapsed_ms(t);
            }
            match verdict {
                Some(verdict @ baseline::Verdict::PreExisting(_)) => {
                    attempt.outcome = AttemptOutcome::Validated;
                    attempt.reason = Some(verdict.reason());
                    return Ok(AttemptResult {
                        attempt,
                        validation_excerpt: None,
                        spot: None,
                        next: Next::Commit,
                    });
                }
                Some(verdict @ baseline::Verdict::New(_)) => judgement.reason = verdict.reason(),
                None => {}
            }
        }
        attempt.outcome = AttemptOutcome::ValidationFailed;
        attempt.reason = Some(judgement.reason);
        Ok(AttemptResult {
            attempt,
            validation_excerpt: Some(judgement.excerpt),
            spot: judgement.spot,
            next: Next::Retry {
                progress: judgement.progress.map(Box::new),
            },
        })
    }

    /// How the tests failing in `report`'s full suite compare with the same
    /// suite on the unpatched `base_commit` (the baseline, run at most once
    /// per commit and command, see `baseline.rs`). `None` when either run
    /// cannot be read into test ids, or the baseline cannot be run: the
    /// failures then count as they did without a baseline.
    async fn against_baseline(
        &self,
        base_commit: &str,
        plan: &ValidationPlan,
        report: &selfheal_types::ValidationReport,
    ) -> Option<baseline::Verdict> {
        let after = report
            .steps
            .iter()
            .find(|s| s.name == selfheal_validate::FULL_STEP)
            .and_then(|s| baseline::failed_tests(s, &self.settings.analyze))?;
        let only_full = baseline::plan(plan)?;
        let key = baseline::Key::new(self.repo.root(), base_commit, &only_full);
        let before = if let Some(before) = baseline::cached(&key) {
            before
        } else {
            // A baseline that cannot run is no verdict on the change: the
            // failures count as they did without one, and the next attempt
            // tries again.
            let tree = match self.repo.export_tree(base_commit, None) {
                Ok(tree) => tree,
                Err(e) => {
                    tracing::warn!("could not check out the baseline: {e}");
                    return None;
                }
            };
            let report = match self.sandbox.validate(tree.path(), &only_full).await {
                Ok(report) => report,
                Err(e) => {
                    tracing::warn!("could not run the baseline: {e}");
                    return None;
                }
            };
            let before = baseline::read(&report, &self.settings.analyze);
            baseline::store(key, before.clone());
            before
        };
        match before {
            baseline::Baseline::Failed(before) => Some(baseline::compare(&after, &before)),
            baseline::Baseline::Unreadable => None,
        }
    }

    /// The model's answer to `request`, asking again after a back-off while
    /// the server is rate limiting or failing ([`ask_again`]), up to
    /// [`ModelRetry::max_retries`] more times; the last error is returned.
    async fn propose(
        &self,
        number: u32,
        request: &RepairRequest,
    ) -> Result<selfheal_reason::Proposal, selfheal_reason::ReasonError> {
        let policy = self.settings.model_retry;
        let mut retry = 0;
        loop {
            match self.model.propose(request).await {
                Err(e) if retry < policy.max_retries && ask_again(&e) => {
                    let delay = model_backoff(policy, retry);
                    tracing::warn!(
                        attempt = number,
                        retry = retry + 1,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "model server busy, asking again: {e}"
                    );
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                answer => return answer,
            }
        }
    }

    fn commit(
        &self,
        job: &RepairJob,
        worktree: &Worktree,
        kept: &BaseContents,
        branch: &str,
        failure: &Failure,
        diagnosis: &Diagnosis,
    ) -> Result<String, OrchestratorError> {
        let files = kept.changed_paths(worktree);
        let message = commit_message(&job.run, failure, diagnosis);
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

/// An attempt that ended before its tests ran (or without a verdict on
/// them): `outcome`, why, and what the loop does next.
#[allow(clippy::unnecessary_wraps)] // shaped like the attempt functions' returns
fn end(
    mut attempt: Attempt,
    outcome: AttemptOutcome,
    reason: String,
    next: Next,
) -> Result<AttemptResult, Outcome> {
    attempt.outcome = outcome;
    attempt.reason = Some(reason);
    Ok(AttemptResult {
        attempt,
        validation_excerpt: None,
        spot: None,
        next,
    })
}

/// What each candidate of an attempt starts from.
#[derive(Clone, Copy)]
struct CandidateStep<'a> {
    number: u32,
    target: &'a Target,
    worktree: &'a Worktree,
    stuck: &'a StuckCheck,
    undone: &'a [(u32, ChangeSet)],
    base_commit: &'a str,
}

/// The change a reply's edits make to the tree under `root`, and, when they
/// only apply on top of a change that was undone (the reply quotes that
/// change's text), that attempt's number: the change is then the undone
/// one and the reply's together. The newest undone change is tried first.
fn plan_reply(
    root: &std::path::Path,
    reply: &str,
    undone: &[(u32, ChangeSet)],
) -> Result<(ChangeSet, Option<u32>), selfheal_patch::PatchError> {
    let edits = selfheal_patch::parse_reply(reply)?;
    match selfheal_patch::plan(root, &edits) {
        Err(e @ selfheal_patch::PatchError::Apply { .. }) => undone
            .iter()
            .rev()
            .find_map(|(number, base)| {
                selfheal_patch::plan_over(root, base, &edits)
                    .ok()
                    .map(|change| (change, Some(*number)))
            })
            .ok_or(e),
        other => other.map(|change| (change, None)),
    }
}

/// Whether `proposal`'s edits make a change to the tree under `root` that
/// was not tried on it yet and passes [`syntax::check`].
fn usable(
    root: &std::path::Path,
    proposal: &Proposal,
    undone: &[(u32, ChangeSet)],
    stuck: &StuckCheck,
    number: u32,
) -> bool {
    plan_reply(root, &proposal.reply, undone).is_ok_and(|(change, _)| {
        !change.is_empty()
            && stuck
                .repeated_change(number, &change.unified_diff())
                .is_none()
            && syntax::check(&change).is_ok()
    })
}

/// The candidates in the order they are tried: those whose edits apply to
/// `root`, smallest change first, each distinct change once; then those that
/// do not apply (tried last, so that their refusal can still be the round's
/// story). Returns how many were usable.
fn order_candidates(
    root: &std::path::Path,
    undone: &[(u32, ChangeSet)],
    proposals: Vec<Proposal>,
) -> (Vec<Proposal>, u32) {
    let mut usable: Vec<(usize, String, Proposal)> = Vec::new();
    let mut unusable: Vec<Proposal> = Vec::new();
    for proposal in proposals {
        let change = plan_reply(root, &proposal.reply, undone)
            .ok()
            .map(|(c, _)| c)
            .filter(|c| !c.is_empty() && syntax::check(c).is_ok());
        match change {
            Some(change) => {
                let diff = change.unified_diff();
                if usable.iter().any(|(_, d, _)| *d == diff) {
                    continue;
                }
                let stat = change.stat();
                usable.push((stat.insertions + stat.deletions, diff, proposal));
            }
            None => unusable.push(proposal),
        }
    }
    // Stable: equal sizes keep the order they were asked in.
    usable.sort_by_key(|(size, _, _)| *size);
    let count = u32::try_from(usable.len()).unwrap_or(u32::MAX);
    let ordered = usable
        .into_iter()
        .map(|(_, _, p)| p)
        .chain(unusable)
        .collect();
    (ordered, count)
}

/// What one attempt starts from.
struct AttemptStep<'a> {
    number: u32,
    target: &'a Target,
    worktree: &'a Worktree,
    previous: &'a [PreviousAttempt],
    /// What the stuck checks remember: the changes tried on this tree.
    stuck: &'a StuckCheck,
    /// Changes validated and undone on this tree, oldest first.
    undone: &'a [(u32, ChangeSet)],
    /// Tokens the model calls so far used.
    spent: TokenUsage,
    /// The failing commit, where the baseline runs.
    base_commit: &'a str,
    /// What the failing commit changed, when its parent is known.
    commit_change: Option<&'a selfheal_git::CommitChange>,
    /// The remedy to try instead of asking the model, when there is one.
    remedy: Option<selfheal_remedy::Remedy>,
}

/// How one attempt ended, and what the loop does next.
struct AttemptResult {
    attempt: Attempt,
    /// For the next request's [`PreviousAttempt`], when validation failed.
    validation_excerpt: Option<String>,
    /// Where validation failed first, for the stuck check.
    spot: Option<FailureSpot>,
    next: Next,
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

fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The distinct files named by [`policy::consent_needed`]'s lines, for a refusal.
fn edited_files(changes: &[String]) -> String {
    let mut files: Vec<&str> = changes
        .iter()
        .map(|c| c.split(": ").next().unwrap_or(c))
        .collect();
    files.dedup();
    files.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfheal_types::{Category, LineSpan};

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
            flaky: None,
        }
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
            test_is_wrong: None,
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
}
