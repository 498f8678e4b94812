//! Data shared by every selfheal crate, and nothing else.
//!
//! This crate is the vocabulary of the repair loop: the analyser produces
//! [`Analysis`] and [`Failure`]s, the reasoner a [`Diagnosis`], the sandbox a
//! [`ValidationReport`], and the orchestrator strings them together into
//! [`Attempt`]s and a [`RepairRecord`], announcing progress as [`Event`]s.
//! It holds no logic beyond small constructors and accessors, and the
//! reading of a failure's message into the name it says is missing
//! ([`missing`]), so every other crate can depend on it without pulling
//! anything else in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod missing;

/// Schema tag of the JSON that `selfheal analyze --json` prints.
pub const ANALYSIS_SCHEMA: &str = "selfheal.analysis/v1";
/// Schema tag of the JSON records written to `.selfheal/results/`.
pub const REPAIR_SCHEMA: &str = "selfheal.repair/v1";

/// What kind of failure a log shows; decides how selfheal treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// An assertion in a test failed.
    TestFailure,
    /// A test raised an unexpected exception or panicked.
    TestError,
    /// The code did not compile (including Python syntax and import errors at collection).
    CompileError,
    /// Formatters, linters and type checkers.
    Lint,
    /// Dependency resolution, installation or lockfile problems.
    Dependency,
    /// Build scripts, workflow or tool configuration, missing secrets or env.
    BuildConfig,
    /// Network, lost runners, out of memory or disk, unavailable services.
    Infra,
    /// A time limit was hit.
    Timeout,
    /// Nothing more specific could be said.
    Unknown,
}

impl Category {
    /// The `snake_case` name used in JSON and in human output.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::TestFailure => "test_failure",
            Category::TestError => "test_error",
            Category::CompileError => "compile_error",
            Category::Lint => "lint",
            Category::Dependency => "dependency",
            Category::BuildConfig => "build_config",
            Category::Infra => "infra",
            Category::Timeout => "timeout",
            Category::Unknown => "unknown",
        }
    }

    /// Whether a code change can plausibly repair this kind of failure.
    /// Infrastructure trouble and time-outs call for a rerun, not a patch.
    pub fn is_code_fixable(self) -> bool {
        !matches!(self, Category::Infra | Category::Timeout)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in the source that a failure points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Path as the log prints it, made relative to the checkout where that is possible.
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// A 1-based, inclusive range of lines of one input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineSpan {
    pub start: u64,
    pub end: u64,
}

impl LineSpan {
    pub fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// Whether two spans share at least one line.
    pub fn overlaps(&self, other: &LineSpan) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

/// One failure found in a CI log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub category: Category,
    /// The tool that reported it (`pytest`, `python`, `cargo`, `generic`, ...).
    pub tool: String,
    /// One line saying what went wrong.
    pub message: String,
    /// The failing test's id where there is one (`tests/test_x.py::test_y`).
    pub test: Option<String>,
    /// Source locations, most relevant first (for tracebacks: the innermost project frame first).
    pub locations: Vec<Location>,
    /// The CI job it happened in, where the input says.
    pub job: Option<String>,
    /// The CI step it happened in, where the input says.
    pub step: Option<String>,
    /// For multi-file inputs (a run-log folder or zip): the file, relative to the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
    /// The raw lines of the input that show this failure.
    pub log_span: LineSpan,
    /// Stable across runs: volatile details (times, paths, addresses, ids) are normalised away.
    pub fingerprint: String,
    /// A hint, kept apart from the category: `Some(true)` when the log itself
    /// shows signs of a flaky failure (a test retried and then passed, a
    /// "flaky" marker, a timing assertion), `None` when it shows none. Triage
    /// weighs it together with the run history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flaky: Option<bool>,
}

impl Failure {
    /// The first few hex digits of the fingerprint, for branch names and display.
    pub fn short_fingerprint(&self) -> &str {
        let end = self.fingerprint.len().min(8);
        &self.fingerprint[..end]
    }
}

/// The result of analysing one input (a log file, a run-log zip or folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// Always [`ANALYSIS_SCHEMA`].
    pub schema: String,
    /// The input as the user named it.
    pub source: String,
    /// Ranked, most relevant first.
    pub failures: Vec<Failure>,
    /// The fewest lines that explain the failures, within a line budget: what the model is shown.
    pub excerpt: String,
}

impl Analysis {
    pub fn new(source: impl Into<String>, failures: Vec<Failure>, excerpt: String) -> Self {
        Self {
            schema: ANALYSIS_SCHEMA.to_owned(),
            source: source.into(),
            failures,
            excerpt,
        }
    }

    /// The most relevant failure, if any was found.
    pub fn primary(&self) -> Option<&Failure> {
        self.failures.first()
    }
}

/// What selfheal knows about a CI run, from GitHub or from the offline cache's `run.json`.
///
/// Every field but `id` is optional, so a hand-made `run.json` with only a
/// commit still works; the GitHub provider fills in everything it can, and
/// the cache keeps it so that an offline replay sees the same run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    /// The commit the run tested; the repair starts from it.
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub workflow: Option<String>,
    /// `owner/name` where known.
    #[serde(default)]
    pub repository: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    /// What triggered the run: `push`, `pull_request`, `schedule`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// `failure`, `timed_out`, `startup_failure`, `success`, ... (`None` while running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// `owner/name` of the repository the head commit lives in; differs from
    /// `repository` for a pull request from a fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_repository: Option<String>,
    /// Who the head commit is by, to recognise selfheal's own commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_author: Option<CommitAuthor>,
    /// The workflow file, relative to the repository root (`.github/workflows/ci.yml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobInfo>,
    /// Pull requests the run belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_requests: Vec<PullRequestRef>,
}

impl RunInfo {
    /// Whether the run tested a pull request whose head lives in another repository.
    pub fn is_from_fork(&self) -> bool {
        match (&self.head_repository, &self.repository) {
            (Some(head), Some(base)) => !head.eq_ignore_ascii_case(base),
            _ => false,
        }
    }
}

/// The author of a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAuthor {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// One job of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// Names of the steps that failed, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_steps: Vec<String>,
}

/// A pull request a run belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRef {
    pub number: u64,
    /// The branch the PR proposes.
    pub head_branch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// `owner/name` the head branch lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_repository: Option<String>,
    /// The branch it would merge into.
    pub base_branch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
}

/// The model's explanation of a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// One line, fit for a commit subject.
    pub summary: String,
    /// Why it fails and what the fix changes.
    pub root_cause: String,
    /// Why the failing test itself is wrong, when the model says it is (a
    /// wrong expected value, a fixture the test names wrongly); `None` when
    /// the fix belongs in the code under test. A change to a test is only
    /// considered with this reason, and only with the user's consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_is_wrong: Option<String>,
}

/// Tokens spent on one or more model calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt: u64,
    pub completion: u64,
}

impl TokenUsage {
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, rhs: Self) {
        self.prompt += rhs.prompt;
        self.completion += rhs.completion;
    }
}

/// How one sandboxed validation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationOutcome {
    /// Every step exited 0.
    Passed,
    /// A step exited non-zero.
    Failed,
    /// A step ran past the time limit and was killed.
    TimedOut,
    /// The sandbox lacked what a step needs (the command, or the test runner),
    /// so the tests never ran: no verdict on the code, and no progress by the
    /// patch. [`ValidationReport::environment_error`] says what was missing.
    EnvironmentError,
}

/// One command run in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// What the step is for (`failing tests`, `full suite`).
    pub name: String,
    pub command: String,
    /// `None` when the step was killed before it exited.
    pub exit_code: Option<i64>,
    pub duration_ms: u64,
    pub timed_out: bool,
    /// The end of its combined output: where a test run says what failed.
    pub output_tail: String,
    /// Set when the step could not run its tests at all, in one line: what was
    /// missing and in which image, e.g. `the command "cargo" was not found in
    /// image selfheal-sandbox-python:bookworm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_error: Option<String>,
    /// The test tool's own account of what failed (pytest's `FAILURES` block,
    /// cargo's panics and `failures:` list, go's `--- FAIL` blocks), cut from
    /// the whole output rather than its tail; bounded, `None` when the output
    /// has no such section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_section: Option<String>,
}

/// The result of running a project's tests on a patched tree in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub outcome: ValidationOutcome,
    /// The image the tests ran in.
    pub image: String,
    /// Steps in the order they ran; validation stops at the first that fails.
    pub steps: Vec<StepResult>,
    pub duration_ms: u64,
}

impl ValidationReport {
    pub fn passed(&self) -> bool {
        self.outcome == ValidationOutcome::Passed
    }

    /// What the sandbox lacked, when that is why the validation stopped
    /// ([`ValidationOutcome::EnvironmentError`]).
    pub fn environment_error(&self) -> Option<&str> {
        self.steps
            .iter()
            .find_map(|s| s.environment_error.as_deref())
    }

    /// The step that decided a failed outcome.
    pub fn failed_step(&self) -> Option<&StepResult> {
        self.steps
            .iter()
            .find(|s| s.timed_out || s.exit_code != Some(0))
    }
}

/// A stage of one repair attempt, for timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Downloading the run's logs (and the failing commit, when the clone lacks it).
    Fetch,
    Analyze,
    /// Materialising the failing commit in a temporary tree.
    Checkout,
    /// Installing the project's dependencies into a cached sandbox image.
    Install,
    /// Gathering the source files the model is shown.
    Context,
    Reason,
    Patch,
    Approve,
    Validate,
    Commit,
    /// Pushing the fix branch and opening or updating the pull request.
    Publish,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The patch passed validation.
    Validated,
    /// The patch applied but the tests failed or timed out.
    ValidationFailed,
    /// The reply held no edit that could be applied (or only unsafe ones).
    NoUsableEdit,
    /// The user declined the patch.
    Declined,
    /// The model call or the sandbox failed.
    Error,
}

/// One pass of reason → patch → approve → validate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based.
    pub number: u32,
    pub outcome: AttemptOutcome,
    pub diagnosis: Option<Diagnosis>,
    /// The unified diff of the patch, when one was made.
    pub diff: Option<String>,
    /// Paths the patch changed, relative to the repository root.
    #[serde(default)]
    pub files: Vec<String>,
    pub validation: Option<ValidationReport>,
    /// Why the attempt did not validate, in one line.
    pub reason: Option<String>,
    pub tokens: TokenUsage,
    /// Milliseconds per stage.
    pub timings_ms: BTreeMap<Stage, u64>,
    /// Set when the change edits tests and that was allowed: what changed,
    /// why the model says the tests were wrong, and who consented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_change: Option<TestChange>,
    /// With `--candidates N`: how many answers the round asked for, how many
    /// were usable edits (distinct, applicable, allowed) and how many were validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<CandidateCounts>,
    /// The model that answered, when more than one may (`[llm] escalate_to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Milliseconds the server spent reading the prompt (llama.cpp and vLLM
    /// report it): on a CPU the time to the first token, and what a smaller
    /// prompt saves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_ms: Option<u64>,
    /// The rule that proposed the change when a remedy did, without a
    /// model (`renamed-name`, `removed-import`, `near-name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// One round of candidates, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateCounts {
    pub asked: u32,
    pub usable: u32,
    pub validated: u32,
}

/// A change to tests that the user allowed, for the record and the pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestChange {
    /// One line per changed test file or changed expectation, such as
    /// ``tests/test_x.py: `assert a == 5` became `assert a == 6` ``.
    pub changes: Vec<String>,
    /// The model's reason why the test itself was wrong.
    pub reason: String,
    /// How the user consented.
    pub consent: TestEditConsent,
}

/// How a change to tests was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestEditConsent {
    /// `--allow-test-edits`, `[repair] allow_test_edits`, or a benchmark case that declares it.
    Flag,
    /// Confirmed at the terminal after being shown exactly what changed in the tests.
    Confirmed,
}

/// How a whole repair ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// A validated fix was committed on `branch`.
    Fixed { branch: String, commit: String },
    /// Every attempt failed, or the failure is not one a patch can fix.
    NotFixed { reason: String },
    /// The logs show no failure.
    NothingToFix,
    /// The sandbox cannot run the project's tests at all (a command or
    /// runner missing from the image, a test command that cannot start):
    /// no patch can be judged until the user fixes the image or the command.
    EnvironmentError { reason: String },
}

impl Outcome {
    pub fn is_fixed(&self) -> bool {
        matches!(self, Outcome::Fixed { .. })
    }
}

/// Where a validated fix went after it was committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Publication {
    /// A pull request was opened.
    Opened {
        number: u64,
        url: String,
        branch: String,
    },
    /// An open pull request for the same failure was updated instead.
    Updated {
        number: u64,
        url: String,
        branch: String,
        /// Whether the fix commit was pushed onto its branch (only when that fast-forwards).
        pushed: bool,
        /// Why not, when it was not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The fix was posted as a comment (a pull request from a fork, or `--comment`).
    Commented { number: u64, url: String },
    /// `--dry-run`: what would have been published, written to `path`.
    DryRun { path: String },
    /// Publishing was attempted and failed; the validated fix is still in the record.
    Failed { error: String },
}

/// The record of one `selfheal run`, written to `.selfheal/results/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairRecord {
    /// Always [`REPAIR_SCHEMA`].
    pub schema: String,
    pub run: RunInfo,
    /// The commit the repair started from.
    pub base_commit: String,
    /// RFC 3339.
    pub started_at: String,
    pub model: String,
    /// The failure the repair targeted.
    pub failure: Option<Failure>,
    pub attempts: Vec<Attempt>,
    pub outcome: Outcome,
    pub tokens: TokenUsage,
    /// Milliseconds spent in stages outside the attempts (analysis, checkout, commit).
    pub timings_ms: BTreeMap<Stage, u64>,
    pub duration_ms: u64,
    /// Where the fix went (pull request, comment, dry run); absent when nothing was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<Publication>,
}

/// Progress of a repair, for printers: the human one draws spinners, `--json` stays quiet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    RunSelected {
        run: RunInfo,
        base_commit: String,
    },
    Analyzed {
        failures: usize,
        primary: Option<Failure>,
    },
    AttemptStarted {
        number: u32,
        max: u32,
    },
    StageStarted {
        number: u32,
        stage: Stage,
    },
    Diagnosed {
        number: u32,
        diagnosis: Diagnosis,
        tokens: TokenUsage,
        /// The rule, when a remedy made the diagnosis rather than a model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remedy: Option<String>,
    },
    PatchReady {
        number: u32,
        diff: String,
        files: Vec<String>,
    },
    Validated {
        number: u32,
        report: ValidationReport,
    },
    AttemptFinished {
        attempt: Attempt,
    },
    Committed {
        branch: String,
        commit: String,
    },
    Finished {
        outcome: Outcome,
    },
    Published {
        publication: Publication,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_overlap_inclusively() {
        assert!(LineSpan::new(3, 5).overlaps(&LineSpan::new(5, 9)));
        assert!(!LineSpan::new(3, 4).overlaps(&LineSpan::new(5, 9)));
    }

    #[test]
    fn failure_serializes_in_the_documented_shape() {
        let failure = Failure {
            category: Category::TestFailure,
            tool: "pytest".into(),
            message: "assert 1 == 2".into(),
            test: Some("tests/test_x.py::test_y".into()),
            locations: vec![Location {
                file: "src/x.py".into(),
                line: Some(12),
                column: None,
            }],
            job: Some("tests".into()),
            step: Some("Run pytest".into()),
            log_file: None,
            log_span: LineSpan::new(1201, 1230),
            fingerprint: "abcdef0123".into(),
            flaky: None,
        };
        let json = serde_json::to_value(&failure).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "category": "test_failure", "tool": "pytest", "message": "assert 1 == 2",
                "test": "tests/test_x.py::test_y",
                "locations": [{"file": "src/x.py", "line": 12, "column": null}],
                "job": "tests", "step": "Run pytest",
                "log_span": {"start": 1201, "end": 1230}, "fingerprint": "abcdef0123"
            })
        );
        assert_eq!(failure.short_fingerprint(), "abcdef01");
    }

    #[test]
    fn a_validation_record_from_before_environment_errors_still_parses() {
        let old = r#"{"outcome": "failed", "image": "img", "duration_ms": 7, "steps": [
            {"name": "full suite", "command": "pytest", "exit_code": 1, "duration_ms": 7,
             "timed_out": false, "output_tail": "1 failed"}]}"#;
        let report: ValidationReport = serde_json::from_str(old).expect("parses");
        assert_eq!(
            report,
            ValidationReport {
                outcome: ValidationOutcome::Failed,
                image: "img".into(),
                steps: vec![StepResult {
                    name: "full suite".into(),
                    command: "pytest".into(),
                    exit_code: Some(1),
                    duration_ms: 7,
                    timed_out: false,
                    output_tail: "1 failed".into(),
                    environment_error: None,
                    failure_section: None,
                }],
                duration_ms: 7,
            }
        );
        assert_eq!(report.environment_error(), None);
        // Written back, it has the same shape: absent fields stay absent.
        assert_eq!(
            serde_json::to_value(&report).expect("serializes"),
            serde_json::from_str::<serde_json::Value>(old).expect("json")
        );
    }

    #[test]
    fn an_environment_error_is_not_a_pass_and_says_what_was_missing() {
        let missing = "the command \"cargo\" was not found in image img";
        let report = ValidationReport {
            outcome: ValidationOutcome::EnvironmentError,
            image: "img".into(),
            steps: vec![StepResult {
                name: "full suite".into(),
                command: "cargo test".into(),
                exit_code: Some(127),
                duration_ms: 7,
                timed_out: false,
                output_tail: "sh: 1: cargo: not found\n".into(),
                environment_error: Some(missing.into()),
                failure_section: None,
            }],
            duration_ms: 7,
        };
        assert!(!report.passed());
        assert_eq!(report.environment_error(), Some(missing));
        assert_eq!(
            serde_json::to_value(report.outcome).expect("serializes"),
            "environment_error"
        );
    }

    #[test]
    fn outcome_is_tagged_by_status() {
        let json = serde_json::to_value(Outcome::NotFixed {
            reason: "no edit".into(),
        })
        .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"status": "not_fixed", "reason": "no edit"})
        );
    }
}
