//! The loop's decisions, as pure functions: which failure to target, when the
//! token budget or the cost limit stops the loop, when a busy model server is
//! asked again, how an attempt's ending decides the next move (commit, try
//! again keeping or reverting the change, or stop), whether a failed
//! validation still shows the targeted failure (and whether it looks like a
//! regression, which the loop then checks against the baseline), and when
//! the loop is stuck.
//!
//! Nothing here touches the tree, the model or the sandbox; the loop in
//! `lib.rs` carries out what these functions decide.

use std::fmt;
use std::time::Duration;

use selfheal_analyze::{AnalyzeOptions, analyze_reader};
use selfheal_reason::{ReasonError, RepairRequest};
use selfheal_types::{
    Analysis, AttemptOutcome, Category, Failure, Outcome, TokenUsage, ValidationReport,
};

use crate::{CostLimit, ModelRetry};

/// How many failing test ids are run before the full suite; more than this
/// and the full suite alone says as much.
const MAX_FAILING_TESTS: usize = 20;

/// Lines of raw validation output shown to the model when the analyser found
/// nothing to excerpt.
const RAW_EXCERPT_LINES: usize = 60;

/// The longest wait before asking a busy model server again.
const MAX_MODEL_BACKOFF: Duration = Duration::from_secs(30);

/// The target of the next attempt: the failure and the log lines that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub failure: Failure,
    pub excerpt: String,
    /// Failing test ids to run before the full suite.
    pub tests: Vec<String>,
}

/// What the loop does after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// The change passed validation: commit everything kept so far and stop.
    Commit,
    /// Another attempt may do better. With `progress`, the change got past
    /// the targeted failure: it stays in the tree and the next attempt
    /// targets what failed next. Without, the tree goes back to how it was
    /// before the attempt.
    Retry { progress: Option<Box<Target>> },
    /// No later attempt can do better (declined, nobody to ask, the model or
    /// the sandbox unusable): stop with the attempt's reason.
    Stop,
    /// The sandbox cannot run the tests at all (a missing command or runner):
    /// stop, and say it is the environment, not the patch.
    Environment,
}

/// The failure the loop targets: the most relevant one a code change can
/// fix. `Err` is how the repair ends when there is none.
pub fn target_failure(analysis: &Analysis) -> Result<&Failure, Outcome> {
    let Some(primary) = analysis.primary() else {
        return Err(Outcome::NothingToFix);
    };
    analysis
        .failures
        .iter()
        .find(|f| f.category.is_code_fixable())
        .ok_or_else(|| Outcome::NotFixed {
            reason: format!(
                "the failure is {} ({}), which a code change cannot fix; hint: rerun the job",
                primary.category, primary.message
            ),
        })
}

/// [`target_failure`] with the excerpt and the failing tests to rerun.
pub(crate) fn pick_target(analysis: &Analysis) -> Result<Target, Outcome> {
    let failure = target_failure(analysis)?;
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

/// Checked before each model call: `Some` ends the repair once the calls so
/// far have used the whole budget.
pub(crate) fn budget_stop(used: TokenUsage, budget: u64, attempts_made: u32) -> Option<Outcome> {
    (used.total() >= budget).then(|| Outcome::NotFixed {
        reason: format!(
            "token budget of {budget} exhausted after {attempts_made} {}",
            if attempts_made == 1 {
                "attempt"
            } else {
                "attempts"
            }
        ),
    })
}

/// About how many tokens `req` costs as a prompt: a character is about a
/// quarter of a token in code and logs. Counts what the loop controls (the
/// failure, the excerpt, the files, the earlier attempts), not the prompt
/// template around it, which the model client owns; the server's own count,
/// added after each call, corrects the difference.
pub fn estimate_prompt_tokens(req: &RepairRequest) -> u64 {
    let chars = |s: &str| s.chars().count() as u64;
    let mut total = chars(&req.failure.message) + chars(&req.excerpt);
    for file in &req.files {
        total += chars(&file.path) + chars(&file.content);
    }
    if let Some(change) = &req.recent_change {
        total += chars(&change.subject) + chars(&change.diff);
        total += change.not_shown.iter().map(|p| chars(p)).sum::<u64>();
    }
    for previous in &req.previous {
        total += previous.diff.as_deref().map_or(0, chars)
            + chars(&previous.outcome)
            + previous.validation_excerpt.as_deref().map_or(0, chars);
    }
    total.div_ceil(4)
}

/// Checked before each model call, with the call's prompt estimated
/// ([`estimate_prompt_tokens`]): `Some` ends the repair when the tokens spent
/// plus the estimate would go over the token budget or cost more than the
/// cost limit. Only the prompt is estimated: how long the reply gets is the
/// server's business, and the next check counts it.
pub(crate) fn caps_stop(
    spent: TokenUsage,
    estimate: u64,
    budget: u64,
    cost: Option<&CostLimit>,
    attempts_made: u32,
) -> Option<Outcome> {
    if let Some(outcome) = budget_stop(spent, budget, attempts_made) {
        return Some(outcome);
    }
    let next = attempts_made + 1;
    if spent.total() + estimate > budget {
        return Some(Outcome::NotFixed {
            reason: format!(
                "token budget of {budget} would be exceeded by attempt {next}: {} tokens used, and its prompt is about {estimate} more; hint: raise [repair] total_token_budget",
                spent.total()
            ),
        });
    }
    let limit = cost?;
    let spent_usd = limit.usd(spent);
    let next_usd = limit.usd(TokenUsage {
        prompt: estimate,
        completion: 0,
    });
    (spent_usd + next_usd > limit.max_usd).then(|| Outcome::NotFixed {
        reason: format!(
            "cost limit of {} would be exceeded by attempt {next}: {} spent ({} prompt and {} completion tokens), and its prompt costs about {} more; hint: raise [repair] cost_limit_usd",
            usd(limit.max_usd),
            usd(spent_usd),
            spent.prompt,
            spent.completion,
            usd(next_usd)
        ),
    })
}

/// Dollars to at most four decimals and at least two: small models cost
/// fractions of a cent per call, and a limit of $0.135 should not read $0.14.
fn usd(amount: f64) -> String {
    let mut text = format!("{amount:.4}");
    while text.ends_with('0') && text.len() > text.find('.').map_or(0, |dot| dot + 3) {
        text.pop();
    }
    format!("${text}")
}

/// Whether the same request is sent again, after [`model_backoff`], without
/// using up an attempt: the server answered, but was rate limiting or
/// failing (429, 5xx and the like), which says nothing about the request.
/// Other retryable errors (time-outs, empty replies, no connection) move on
/// to the next attempt as before: the client already retried connecting, and
/// a slow or empty answer may go better with another prompt.
pub(crate) fn ask_again(error: &ReasonError) -> bool {
    matches!(error, ReasonError::Status { .. }) && error.is_retryable()
}

/// How long to wait before the `retry`th (0-based) repeat of a request:
/// doubling from `base_delay`, capped at 30 s. A server-given delay
/// (`Retry-After`) was already waited out by the client's own retries.
pub(crate) fn model_backoff(policy: ModelRetry, retry: u32) -> Duration {
    let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
    policy
        .base_delay
        .checked_mul(factor)
        .unwrap_or(MAX_MODEL_BACKOFF)
        .min(MAX_MODEL_BACKOFF)
}

/// The model call failed: another attempt only helps if calling again may.
pub(crate) fn after_model_error(error: &ReasonError) -> Next {
    if error.is_retryable() {
        Next::Retry { progress: None }
    } else {
        Next::Stop
    }
}

/// What a failed validation says, for the record and for the next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Judgement {
    /// One line: what failed.
    pub reason: String,
    /// The part of the output the model is shown next time.
    pub excerpt: String,
    /// `Some` when the targeted failure went away: the next target.
    pub progress: Option<Target>,
    /// The first failure in the output, where the analyser found one.
    pub spot: Option<FailureSpot>,
    /// The targeted tests pass but the full suite fails, after CI ran the
    /// tests: a regression, unless those failures were there before the
    /// change (the loop asks the baseline, `baseline.rs`).
    pub regressed: bool,
}

/// What a failed validation failed on first, and where: two reverted
/// attempts in a row that leave the same spot mean the loop is stuck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailureSpot {
    pub message: String,
    /// `file:line` of the most relevant location, when the output names one.
    pub location: Option<String>,
}

impl FailureSpot {
    fn of(failure: &Failure) -> Self {
        Self {
            message: failure.message.clone(),
            location: failure.locations.first().map(|l| match l.line {
                Some(line) => format!("{}:{line}", l.file),
                None => l.file.clone(),
            }),
        }
    }
}

impl fmt::Display for FailureSpot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{} at {location}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A diff as compared for repeats: the same change with different
/// whitespace at line ends is the same change (models are careless there).
pub(crate) fn normalise_diff(diff: &str) -> String {
    let lines: Vec<&str> = diff.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_owned()
}

const STUCK_HINT: &str =
    "hint: a larger [repair] context_token_budget or another model may get further";

/// What the stuck checks remember between attempts. Both checks hold only
/// while the tree stays as it is: a kept attempt ([`Self::kept`]) changes
/// the tree and the target, so what failed before says nothing about what
/// fails next.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct StuckCheck {
    /// Changes tried on the tree as it is: attempt number, normalised
    /// diff, and how that attempt ended.
    tried: Vec<(u32, String, AttemptOutcome)>,
    /// The last reverted attempt that failed validation, and where.
    last_failure: Option<(u32, FailureSpot)>,
}

impl StuckCheck {
    /// `Some(reason)` when attempt `number`'s `diff` is a change already
    /// tried on this tree: it would fail the same way again, so it is not
    /// worth approving or validating.
    pub(crate) fn repeated_change(&self, number: u32, diff: &str) -> Option<String> {
        let diff = normalise_diff(diff);
        self.tried
            .iter()
            .find(|(_, d, _)| *d == diff)
            .map(|(earlier, _, outcome)| {
                let fate = match outcome {
                    AttemptOutcome::NoUsableEdit => "which was refused before validation",
                    AttemptOutcome::Declined => "which was declined",
                    _ => "which did not work",
                };
                format!(
                    "stuck: attempt {number} proposed the same change as attempt {earlier}, {fate}; {STUCK_HINT}"
                )
            })
    }

    /// Remembers attempt `number`'s change and how the attempt ended.
    pub(crate) fn tried(&mut self, number: u32, diff: &str, outcome: AttemptOutcome) {
        self.tried.push((number, normalise_diff(diff), outcome));
    }

    /// Attempt made progress and its change stays: start afresh.
    pub(crate) fn kept(&mut self) {
        *self = Self::default();
    }

    /// Attempt `number` failed validation at `spot` (`None`: the analyser
    /// found no failure in the output) and was reverted. `Some(reason)` when
    /// the reverted attempt before it failed at the same spot: the model
    /// keeps missing the cause. Attempts that were never validated (no
    /// usable edit, a model error) say nothing about the spot and are not
    /// passed here, so they neither break nor make a repeat.
    pub(crate) fn reverted(&mut self, number: u32, spot: Option<FailureSpot>) -> Option<String> {
        if let (Some((earlier, last)), Some(spot)) = (&self.last_failure, &spot)
            && last == spot
        {
            return Some(format!(
                "stuck: attempts {earlier} and {number} both failed with {spot}; {STUCK_HINT}"
            ));
        }
        self.last_failure = spot.map(|s| (number, s));
        None
    }
}

/// Reads a failed validation's output with the analyser: did the targeted
/// failure go away (progress, and a new target) or not?
pub(crate) fn judge_failed_validation(
    report: &ValidationReport,
    target: &Target,
    options: &AnalyzeOptions,
) -> Judgement {
    let Some(step) = report.failed_step() else {
        return Judgement {
            reason: "validation failed".to_owned(),
            excerpt: String::new(),
            progress: None,
            spot: None,
            regressed: false,
        };
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
    // The runner's own failure section (pytest's FAILURES block, cargo's
    // panics, go's `--- FAIL` blocks), cut from the whole output, says more
    // than the tail when the output was long; the tail is the fallback.
    let output = step
        .failure_section
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(&step.output_tail);
    let analysis = analyze_reader(output.as_bytes(), "validation output", options).ok();
    let excerpt = analysis
        .as_ref()
        .map(|a| a.excerpt.clone())
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| tail_lines(output, RAW_EXCERPT_LINES));
    let Some(analysis) = analysis else {
        return Judgement {
            reason: what,
            excerpt,
            progress: None,
            spot: None,
            regressed: false,
        };
    };
    let still_failing = analysis
        .failures
        .iter()
        .any(|f| still_blocked(f, &target.failure));
    // The tests CI saw fail now pass, yet the suite fails. When CI got as far
    // as running the tests (a test failed, rather than the build or the
    // collection), the others passed there: they broke because of the
    // change, a regression, never progress to build on. When CI stopped
    // before the tests ran (an import error at collection), failures
    // elsewhere may be bugs it masked, and the loop may chase them.
    let tests_ran_in_ci = matches!(
        target.failure.category,
        Category::TestFailure | Category::TestError
    );
    let regressed = tests_ran_in_ci
        && step.name == selfheal_validate::FULL_STEP
        && report.steps.iter().any(|s| {
            s.name == selfheal_validate::FAILING_STEP && s.exit_code == Some(0) && !s.timed_out
        });
    let reason = match (analysis.primary(), regressed) {
        (Some(f), true) => format!(
            "the failing tests pass, but the change breaks other tests: {}",
            f.message
        ),
        (None, true) => "the failing tests pass, but the change breaks other tests".to_owned(),
        (Some(f), false) => format!("{what}: {}", f.message),
        (None, false) => what,
    };
    // A time-out hides whether the targeted failure went away.
    let progress = if still_failing || step.timed_out || regressed {
        None
    } else {
        pick_target(&analysis).ok().map(|mut t| {
            // The validation output has no CI job or step; its excerpt's line
            // numbers are meaningful only within that output.
            t.excerpt.clone_from(&excerpt);
            t
        })
    };
    Judgement {
        reason,
        excerpt,
        progress,
        spot: analysis.primary().map(FailureSpot::of),
        regressed,
    }
}

/// Whether a failure seen in validation output still blocks the one an
/// attempt targeted. Fingerprints differ between a CI log and sandbox output
/// (job and step names, paths), so compare what the failure is about: the
/// same test failing no further than before (a `NameError` turning into an
/// assertion failure means the code now runs further: progress), or, without
/// test ids, the same category and message. A failure that stops the run
/// earlier than the targeted one did (the build or the test collection
/// broke where a test used to fail) blocks it too, whatever it names: the
/// change broke something before the tests could even run, which is never
/// progress to build on.
pub(crate) fn still_blocked(seen: &Failure, targeted: &Failure) -> bool {
    if depth(seen.category) < depth(targeted.category) {
        return true;
    }
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

fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use selfheal_types::{LineSpan, StepResult, ValidationOutcome};

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

    fn target(failure: Failure) -> Target {
        Target {
            tests: failure.test.iter().cloned().collect(),
            failure,
            excerpt: "E   boom".into(),
        }
    }

    fn failed_report(output: &str, timed_out: bool) -> ValidationReport {
        ValidationReport {
            outcome: if timed_out {
                ValidationOutcome::TimedOut
            } else {
                ValidationOutcome::Failed
            },
            image: "img".into(),
            steps: vec![StepResult {
                name: "failing tests".into(),
                command: "python -m pytest -q".into(),
                exit_code: if timed_out { None } else { Some(1) },
                duration_ms: 5,
                timed_out,
                output_tail: output.into(),
                environment_error: None,
                failure_section: None,
            }],
            duration_ms: 5,
        }
    }

    const NAME_ERROR_OUTPUT: &str = "\
=================================== FAILURES ===================================
___________________________________ test_add ___________________________________
tests/test_calc.py:4: in test_add
    assert add(2, 3) == 5
calc/ops.py:2: in add
    return a + bb
E   NameError: name 'bb' is not defined
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - NameError: name 'bb' is not defined
========================= 1 failed, 1 passed in 0.03s ==========================
";

    const MUL_OUTPUT: &str = "\
=================================== FAILURES ===================================
___________________________________ test_mul ___________________________________
tests/test_calc.py:8: in test_mul
    assert mul(2, 3) == 6
E   assert 7 == 6
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_mul - assert 7 == 6
========================= 1 failed, 1 passed in 0.03s ==========================
";

    fn name_error_target() -> Target {
        let mut f = failure(
            Some("tests/test_calc.py::test_add"),
            "NameError: name 'bb' is not defined",
        );
        f.category = Category::CompileError;
        target(f)
    }

    #[test]
    fn still_blocked_compares_tests_first() {
        let a = failure(Some("tests/t.py::test_a"), "assert 1 == 2");
        let b = failure(Some("tests/t.py::test_a"), "assert 3 == 2");
        let c = failure(Some("tests/t.py::test_b"), "assert 1 == 2");
        assert!(still_blocked(&a, &b));
        assert!(!still_blocked(&a, &c));
        assert!(still_blocked(&failure(None, "x"), &failure(None, "x")));
        assert!(!still_blocked(&failure(None, "x"), &failure(None, "y")));
    }

    #[test]
    fn a_change_that_breaks_the_build_is_not_progress() {
        let failing = failure(
            Some("tests/test_version.py::test_two_parts"),
            "IndexError: list index out of range",
        );
        let mut syntax = failure(None, "SyntaxError: invalid syntax");
        syntax.category = Category::CompileError;
        assert!(
            still_blocked(&syntax, &failing),
            "the tests no longer even run"
        );
        // Where CI itself stopped at collection, a test failing now is progress.
        let mut collection = failure(None, "ImportError: cannot import name 'x'");
        collection.category = Category::CompileError;
        let assertion = failure(Some("tests/t.py::test_a"), "assert 1 == 2");
        assert!(!still_blocked(&assertion, &collection));
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
    fn nothing_to_fix_without_failures() {
        let analysis = Analysis::new("x", vec![], String::new());
        assert_eq!(target_failure(&analysis), Err(Outcome::NothingToFix));
        assert_eq!(pick_target(&analysis), Err(Outcome::NothingToFix));
    }

    #[test]
    fn infra_failures_are_not_patched() {
        let mut f = failure(None, "No space left on device");
        f.category = Category::Infra;
        let analysis = Analysis::new("x", vec![f], String::new());
        let expected = Outcome::NotFixed {
            reason: "the failure is infra (No space left on device), which a code change cannot fix; hint: rerun the job".into(),
        };
        assert_eq!(target_failure(&analysis), Err(expected.clone()));
        assert_eq!(pick_target(&analysis), Err(expected));
    }

    #[test]
    fn the_target_is_the_first_fixable_failure_and_every_failing_test_reruns() {
        let mut infra = failure(None, "runner lost");
        infra.category = Category::Infra;
        let a = failure(Some("tests/t.py::test_a"), "assert 1 == 2");
        let b = failure(Some("tests/t.py::test_b"), "assert 3 == 4");
        let analysis = Analysis::new(
            "x",
            vec![infra, a.clone(), b, a.clone()],
            "the excerpt".into(),
        );
        assert_eq!(target_failure(&analysis), Ok(&a));
        assert_eq!(
            pick_target(&analysis),
            Ok(Target {
                failure: a,
                excerpt: "the excerpt".into(),
                tests: vec!["tests/t.py::test_a".into(), "tests/t.py::test_b".into()],
            })
        );
    }

    #[test]
    fn the_budget_stops_the_loop_once_spent() {
        let used = TokenUsage {
            prompt: 90,
            completion: 10,
        };
        assert_eq!(budget_stop(used, 101, 1), None);
        assert_eq!(
            budget_stop(used, 100, 1),
            Some(Outcome::NotFixed {
                reason: "token budget of 100 exhausted after 1 attempt".into()
            })
        );
        assert_eq!(
            budget_stop(TokenUsage::default(), 0, 0),
            Some(Outcome::NotFixed {
                reason: "token budget of 0 exhausted after 0 attempts".into()
            })
        );
    }

    fn request(excerpt: &str, file: &str, previous_diff: &str) -> RepairRequest {
        RepairRequest {
            failure: failure(None, "boom"),
            excerpt: excerpt.into(),
            files: vec![selfheal_reason::SourceFile {
                path: "a.py".into(),
                content: file.into(),
            }],
            previous: vec![selfheal_reason::PreviousAttempt {
                number: 1,
                diff: Some(previous_diff.into()),
                outcome: "no".into(),
                validation_excerpt: Some("é".into()),
                kept: false,
            }],
            recent_change: None,
            temperature: None,
        }
    }

    #[test]
    fn the_prompt_estimate_is_a_quarter_of_its_characters_rounded_up() {
        // 4 (message) + 8 + 4 + 5 + 3 + 2 + 1 (one character, two bytes) = 27.
        assert_eq!(
            estimate_prompt_tokens(&request("excerpt!", "12345", "+x\n")),
            7
        );
        // 28 characters: exactly 7.
        assert_eq!(
            estimate_prompt_tokens(&request("excerpt!", "123456", "+x\n")),
            7
        );
    }

    #[test]
    fn the_caps_count_the_next_prompt_before_the_call() {
        let spent = TokenUsage {
            prompt: 80,
            completion: 20,
        };
        assert_eq!(caps_stop(spent, 50, 150, None, 1), None);
        assert_eq!(
            caps_stop(spent, 51, 150, None, 1),
            Some(Outcome::NotFixed {
                reason: "token budget of 150 would be exceeded by attempt 2: 100 tokens used, and its prompt is about 51 more; hint: raise [repair] total_token_budget".into()
            })
        );
        // Spent already: the budget is exhausted, whatever comes next.
        assert_eq!(
            caps_stop(spent, 0, 100, None, 1),
            budget_stop(spent, 100, 1)
        );
        assert!(caps_stop(spent, 0, 100, None, 1).is_some());
    }

    #[test]
    fn the_cost_limit_counts_what_was_spent_and_the_next_prompt() {
        let limit = CostLimit {
            max_usd: 1.0,
            usd_per_million_prompt: 10.0,
            usd_per_million_completion: 30.0,
        };
        // $0.50 of prompt and $0.30 of completion.
        let spent = TokenUsage {
            prompt: 50_000,
            completion: 10_000,
        };
        assert!((limit.usd(spent) - 0.8).abs() < 1e-9);
        assert_eq!(caps_stop(spent, 10_000, 1_000_000, Some(&limit), 2), None);
        assert_eq!(
            caps_stop(spent, 30_000, 1_000_000, Some(&limit), 2),
            Some(Outcome::NotFixed {
                reason: "cost limit of $1.00 would be exceeded by attempt 3: $0.80 spent (50000 prompt and 10000 completion tokens), and its prompt costs about $0.30 more; hint: raise [repair] cost_limit_usd".into()
            })
        );
        // The token budget is checked first, and names itself.
        let stopped = caps_stop(spent, 30_000, 60_000, Some(&limit), 2);
        assert!(
            matches!(&stopped, Some(Outcome::NotFixed { reason }) if reason.starts_with("token budget of 60000 exhausted")),
            "{stopped:?}"
        );
    }

    #[test]
    fn dollars_show_cents_and_fractions_of_them() {
        let shown: Vec<String> = [0.0, 0.003, 0.13, 0.1305, 1.5, 12.0, 0.000_04]
            .into_iter()
            .map(usd)
            .collect();
        assert_eq!(
            shown,
            [
                "$0.00", "$0.003", "$0.13", "$0.1305", "$1.50", "$12.00", "$0.00"
            ]
        );
    }

    #[test]
    fn a_busy_server_is_asked_again_after_doubling_waits() {
        let status = |status| ReasonError::Status {
            status,
            url: "u".into(),
            body: String::new(),
        };
        assert!(ask_again(&status(429)) && ask_again(&status(503)) && ask_again(&status(408)));
        assert!(!ask_again(&status(400)) && !ask_again(&status(401)));
        // Retryable, but a new attempt is the better retry.
        let timeout = ReasonError::Timeout {
            url: "u".into(),
            secs: 5,
        };
        assert!(timeout.is_retryable() && !ask_again(&timeout));

        let waits: Vec<Duration> = [0, 1, 2, 4, 5, 40]
            .into_iter()
            .map(|n| model_backoff(ModelRetry::default(), n))
            .collect();
        let secs = Duration::from_secs;
        assert_eq!(
            waits,
            [secs(1), secs(2), secs(4), secs(16), secs(30), secs(30)]
        );
    }

    fn spot(message: &str, location: &str) -> FailureSpot {
        FailureSpot {
            message: message.into(),
            location: Some(location.into()),
        }
    }

    #[test]
    fn a_repeat_of_a_refused_change_says_it_was_refused_not_tried() {
        let mut stuck = StuckCheck::default();
        stuck.tried(
            1,
            "--- a/x\n+++ b/x\n-a\n+b\n",
            AttemptOutcome::NoUsableEdit,
        );
        stuck.tried(2, "--- a/y\n+++ b/y\n-a\n+b\n", AttemptOutcome::Declined);
        assert_eq!(
            stuck.repeated_change(3, "--- a/x\n+++ b/x\n-a\n+b\n"),
            Some(format!(
                "stuck: attempt 3 proposed the same change as attempt 1, which was refused before validation; {STUCK_HINT}"
            ))
        );
        assert_eq!(
            stuck.repeated_change(3, "--- a/y\n+++ b/y\n-a\n+b\n"),
            Some(format!(
                "stuck: attempt 3 proposed the same change as attempt 2, which was declined; {STUCK_HINT}"
            ))
        );
    }

    #[test]
    fn the_same_change_on_the_same_tree_is_a_repeat() {
        let mut stuck = StuckCheck::default();
        stuck.tried(
            1,
            "--- a/x\n+++ b/x\n-a\n+b\n",
            AttemptOutcome::ValidationFailed,
        );
        assert_eq!(
            stuck.repeated_change(2, "--- a/x\n+++ b/x\n-a  \n+b\t\n\n"),
            Some(format!(
                "stuck: attempt 2 proposed the same change as attempt 1, which did not work; {STUCK_HINT}"
            ))
        );
        assert_eq!(
            stuck.repeated_change(2, "--- a/x\n+++ b/x\n-a\n+ b\n"),
            None
        );
        // A kept attempt changed the tree: the old change may do otherwise now.
        stuck.kept();
        assert_eq!(stuck.repeated_change(3, "--- a/x\n+++ b/x\n-a\n+b\n"), None);
    }

    #[test]
    fn two_reverted_attempts_failing_at_the_same_spot_are_stuck() {
        let mut stuck = StuckCheck::default();
        assert_eq!(
            stuck.reverted(1, Some(spot("NameError", "calc/ops.py:2"))),
            None
        );
        // Same message elsewhere: another place, not a repeat.
        assert_eq!(
            stuck.reverted(2, Some(spot("NameError", "calc/ops.py:3"))),
            None
        );
        assert_eq!(
            stuck.reverted(3, Some(spot("NameError", "calc/ops.py:3"))),
            Some(format!(
                "stuck: attempts 2 and 3 both failed with NameError at calc/ops.py:3; {STUCK_HINT}"
            ))
        );
    }

    #[test]
    fn a_kept_attempt_or_an_unreadable_failure_breaks_the_repeat() {
        let mut stuck = StuckCheck::default();
        assert_eq!(stuck.reverted(1, Some(spot("E", "a.py:1"))), None);
        stuck.kept();
        assert_eq!(stuck.reverted(2, Some(spot("E", "a.py:1"))), None);
        assert_eq!(stuck.reverted(3, None), None);
        assert_eq!(stuck.reverted(4, Some(spot("E", "a.py:1"))), None);
    }

    #[test]
    fn only_retryable_model_errors_lead_to_another_attempt() {
        let timeout = ReasonError::Timeout {
            url: "http://m/v1".into(),
            secs: 5,
        };
        let refused = ReasonError::Refused {
            model: "m".into(),
            message: "no".into(),
        };
        assert_eq!(after_model_error(&timeout), Next::Retry { progress: None });
        assert_eq!(after_model_error(&refused), Next::Stop);
    }

    #[test]
    fn the_same_failure_again_is_no_progress() {
        let judgement = judge_failed_validation(
            &failed_report(NAME_ERROR_OUTPUT, false),
            &name_error_target(),
            &AnalyzeOptions::default(),
        );
        assert_eq!(
            judgement.reason,
            "failing tests failed (exit code 1): NameError: name 'bb' is not defined"
        );
        assert!(judgement.excerpt.contains("E   NameError"), "{judgement:?}");
        assert_eq!(judgement.progress, None);
    }

    #[test]
    fn another_failure_is_progress_and_the_next_target() {
        let judgement = judge_failed_validation(
            &failed_report(MUL_OUTPUT, false),
            &name_error_target(),
            &AnalyzeOptions::default(),
        );
        assert_eq!(
            judgement.reason,
            "failing tests failed (exit code 1): assert 7 == 6"
        );
        let next = judgement.progress.expect("progress");
        assert_eq!(next.excerpt, judgement.excerpt);
        assert_eq!(next.tests, ["tests/test_calc.py::test_mul"]);
        assert_eq!(
            (next.failure.category, next.failure.message.as_str()),
            (Category::TestFailure, "assert 7 == 6")
        );
    }

    #[test]
    fn a_time_out_is_never_progress() {
        let judgement = judge_failed_validation(
            &failed_report(MUL_OUTPUT, true),
            &name_error_target(),
            &AnalyzeOptions::default(),
        );
        assert_eq!(judgement.reason, "failing tests timed out: assert 7 == 6");
        assert_eq!(judgement.progress, None);
    }

    #[test]
    fn output_the_analyser_cannot_read_is_shown_raw() {
        let mut output = String::new();
        for n in 1..=70 {
            writeln!(output, "line {n}").expect("writes to a string");
        }
        let judgement = judge_failed_validation(
            &failed_report(&output, false),
            &name_error_target(),
            &AnalyzeOptions::default(),
        );
        let expected = (11..=70)
            .map(|n| format!("line {n}"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            judgement,
            Judgement {
                reason: "failing tests failed (exit code 1)".into(),
                excerpt: expected,
                progress: None,
                spot: None,
                regressed: false,
            }
        );
    }
}
