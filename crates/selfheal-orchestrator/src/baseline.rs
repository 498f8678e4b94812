//! The baseline: which tests of the full suite already fail at the failing
//! commit, before any change.
//!
//! A suite can be red for reasons that have nothing to do with the failure
//! being repaired (a flaky or broken test elsewhere). Without a baseline, a
//! change that makes the targeted tests pass would still count as a
//! regression there, because the full suite fails, and such a project could
//! never be repaired. So when the targeted tests pass and only the full suite
//! fails, the loop runs the full suite once on the unpatched commit and
//! compares the failing test ids: a change that leaves only tests failing
//! that already failed is validated; one that breaks a test that passed is a
//! regression, named as such.
//!
//! The baseline is lazy (most repairs never need it: the suite passes, or
//! the targeted tests still fail) and costs a whole suite run, so it is
//! cached by repository, commit and command for the life of the process: a
//! later repair of the same commit reuses it. Where a run cannot be read into
//! test ids (a time-out, a runner the analyser does not know), there is no
//! baseline and the loop judges as it did without one.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use selfheal_analyze::{AnalyzeOptions, analyze_reader};
use selfheal_types::{StepResult, ValidationReport};
use selfheal_validate::{FULL_STEP, ValidationPlan};

/// Test ids named in a reason before the rest is counted.
const NAMED_TESTS: usize = 5;

/// What one baseline run was for: the same repository, commit and full-suite
/// command give the same answer (flaky tests aside, which is the point).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    repo: PathBuf,
    commit: String,
    command: String,
    args: Vec<String>,
}

impl Key {
    pub(crate) fn new(repo: &Path, commit: &str, plan: &ValidationPlan) -> Self {
        let (command, args) = plan
            .steps
            .first()
            .map(|s| (s.command.clone(), s.args.clone()))
            .unwrap_or_default();
        Self {
            repo: repo.to_path_buf(),
            commit: commit.to_owned(),
            command,
            args,
        }
    }
}

/// What a baseline run said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Baseline {
    /// The ids of the tests that failed; empty when the suite passed.
    Failed(Vec<String>),
    /// The run could not be read into test ids: nothing to compare with.
    Unreadable,
}

/// Process-wide rather than on the [`Orchestrator`](crate::Orchestrator):
/// callers build one orchestrator per repair, and a later repair of the same
/// commit should not run the suite again. The key includes the repository's
/// path, so repairs of different checkouts never share an entry.
fn cache() -> &'static Mutex<HashMap<Key, Baseline>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Baseline>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The baseline for `key`, when it was run before.
pub(crate) fn cached(key: &Key) -> Option<Baseline> {
    cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(key)
        .cloned()
}

pub(crate) fn store(key: Key, baseline: Baseline) {
    cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, baseline);
}

/// `plan` with only its full-suite step: what runs on the unpatched commit.
/// `None` when the plan has no such step.
pub(crate) fn plan(full: &ValidationPlan) -> Option<ValidationPlan> {
    let steps: Vec<_> = full
        .steps
        .iter()
        .filter(|s| s.name == FULL_STEP)
        .cloned()
        .collect();
    (!steps.is_empty()).then(|| ValidationPlan::new(steps, full.timeout))
}

/// What a baseline run's report says.
pub(crate) fn read(report: &ValidationReport, options: &AnalyzeOptions) -> Baseline {
    if report.environment_error().is_some() {
        return Baseline::Unreadable;
    }
    report
        .steps
        .iter()
        .find(|s| s.name == FULL_STEP)
        .and_then(|s| failed_tests(s, options))
        .map_or(Baseline::Unreadable, Baseline::Failed)
}

/// The ids of the tests `step` saw fail: none when it passed, `None` when it
/// failed but the analyser finds no test ids in what it printed (the cause
/// is unknown, so nothing can be compared), or when it ran out of time.
/// Both the failure section and the tail are read: the section may be cut
/// when long, while pytest's short summary at the end lists every failure.
pub(crate) fn failed_tests(step: &StepResult, options: &AnalyzeOptions) -> Option<Vec<String>> {
    if step.timed_out || step.environment_error.is_some() {
        return None;
    }
    if step.exit_code == Some(0) {
        return Some(Vec::new());
    }
    let mut tests: Vec<String> = Vec::new();
    for output in [step.failure_section.as_deref(), Some(&step.output_tail)]
        .into_iter()
        .flatten()
    {
        let Ok(analysis) = analyze_reader(output.as_bytes(), "validation output", options) else {
            continue;
        };
        for test in analysis.failures.into_iter().filter_map(|f| f.test) {
            if !tests.contains(&test) {
                tests.push(test);
            }
        }
    }
    (!tests.is_empty()).then_some(tests)
}

/// How the tests failing after a change compare with the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every one already failed at the failing commit.
    PreExisting(Vec<String>),
    /// These passed at the failing commit and fail now.
    New(Vec<String>),
}

pub(crate) fn compare(after: &[String], baseline: &[String]) -> Verdict {
    let new: Vec<String> = after
        .iter()
        .filter(|t| !baseline.contains(t))
        .cloned()
        .collect();
    if new.is_empty() {
        Verdict::PreExisting(after.to_vec())
    } else {
        Verdict::New(new)
    }
}

impl Verdict {
    /// The attempt's reason: why it was validated, or why it regressed.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::PreExisting(tests) => format!(
                "validated against the baseline: {} already failed at the failing commit and still {} ({})",
                count(tests.len()),
                if tests.len() == 1 { "fails" } else { "fail" },
                list(tests)
            ),
            Self::New(tests) => format!(
                "the failing tests pass, but the change breaks {} that passed at the failing commit ({})",
                count(tests.len()),
                list(tests)
            ),
        }
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 test".to_owned()
    } else {
        format!("{n} tests")
    }
}

fn list(tests: &[String]) -> String {
    let mut text = tests
        .iter()
        .take(NAMED_TESTS)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if tests.len() > NAMED_TESTS {
        let _ = write!(text, " and {} more", tests.len() - NAMED_TESTS);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|&n| n.to_owned()).collect()
    }

    #[test]
    fn only_tests_missing_from_the_baseline_are_new() {
        let baseline = ids(&["t.py::a", "t.py::b"]);
        assert_eq!(
            compare(&ids(&["t.py::b"]), &baseline),
            Verdict::PreExisting(ids(&["t.py::b"]))
        );
        assert_eq!(
            compare(&ids(&["t.py::a", "t.py::c"]), &baseline),
            Verdict::New(ids(&["t.py::c"]))
        );
    }

    #[test]
    fn reasons_count_and_name_the_tests() {
        assert_eq!(
            Verdict::PreExisting(ids(&["t.py::a"])).reason(),
            "validated against the baseline: 1 test already failed at the failing commit and still fails (t.py::a)"
        );
        let many: Vec<String> = (1..=7).map(|n| format!("t.py::t{n}")).collect();
        assert_eq!(
            Verdict::New(many).reason(),
            "the failing tests pass, but the change breaks 7 tests that passed at the failing commit (t.py::t1, t.py::t2, t.py::t3, t.py::t4, t.py::t5 and 2 more)"
        );
    }
}
