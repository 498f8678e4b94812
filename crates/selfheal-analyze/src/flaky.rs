//! The `flaky` hint: signs in the log that a failure may pass on a rerun.
//!
//! Kept apart from the category: a flaky test is still a `test_failure`,
//! and triage weighs this hint with the run history before it reruns or
//! quarantines anything. The signs are of three kinds, each one a runner
//! or a test framework prints the same way in every project:
//!
//! - the runner retried the test and it passed: pytest-rerunfailures'
//!   `RERUN` then `PASSED`, the `flaky` plugin's report, surefire's `Flakes:`
//!   section (`Run 1: ...` failed, `Run 2: PASS`), `go test -count` or a
//!   rerunning wrapper (`--- FAIL` then `--- PASS`), a `flaky` marker in the
//!   failure's own text; a test retried that failed every time is the
//!   opposite sign, `Some(false)`;
//! - the assertion is about time (`timed out waiting for`, `expected ...
//!   within 5s`, `Timeout of 2000ms exceeded`, `deadline exceeded`), a race
//!   (`DATA RACE`), or a network the test reached out to (a 503, a reset);
//! - the failure is transient infrastructure: a network, registry or
//!   runner hiccup (not a full disk or memory, which recur), or a link
//!   check that timed out or got a 5xx; the parsers that recognise these
//!   set [`Candidate::flaky`] themselves.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::Category;

use crate::parsers::Candidate;

/// Time and nondeterminism in a failing test's own text.
static TIMING: LazyLock<Regex> = LazyLock::new(|| {
    crate::parsers::re(
        r"(?i)\btimed? ?out (?:while )?waiting\b|\bwaiting for .* timed out|\bexpected .* within \d|\bdid not (?:complete|finish|happen) within\b|\bTimeout of \d+ ?ms exceeded|\bdeadline exceeded\b|\bTimeoutException\b|\bTimeoutError\b|\btimetrap_timeout\b|\bWARNING: DATA RACE\b|\brace condition\b|\bflaky\b|\bflake\b|\b50[234] (?:Service Unavailable|Bad Gateway|Gateway Time-?out)\b|\bConnection reset by peer\b|\bECONNRESET\b|\bTemporary failure in name resolution\b",
    )
    .expect("valid regex")
});

/// pytest's per-test status, as `-v` prints it while running
/// (`tests/test_a.py::test_b RERUN`) or `-r` in the short summary
/// (`RERUN tests/test_a.py::test_b`). pytest-rerunfailures adds `RERUN`.
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    crate::parsers::re(
        r"^(?:(RERUN|PASSED|FAILED|ERROR)\s+(\S+::\S+)|(\S+::\S+)\s+(RERUN|PASSED|FAILED|ERROR)\b)",
    )
    .expect("valid regex")
});

/// `test_x passed 1 out of the required 1 times. Success!` or
/// `test_x failed; it passed 0 out of the required 1 times.`
static FLAKY_REPORT: LazyLock<Regex> = LazyLock::new(|| {
    crate::parsers::re(r"^(\S+) (passed|failed; it passed) (\d+) out of the required \d+ times?\b")
        .expect("valid regex")
});

/// What became of a test the runner retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Retried; no verdict after the retry seen yet.
    Retried,
    /// Failed, then passed: the sign of a flaky test.
    PassedOnRetry,
    /// Failed on every attempt: the failure is real.
    FailedEveryTime,
}

/// Retries seen in one stream, bounded.
#[derive(Debug, Default)]
pub(crate) struct Reruns {
    tests: Vec<(String, Outcome)>,
    /// surefire's `Flakes:` section: the tests under it failed, then passed.
    in_flakes: bool,
}

const MAX_RERUNS: usize = 256;

impl Reruns {
    /// Looks at one line that may matter (see [`Self::wants`]).
    pub(crate) fn feed(&mut self, text: &str) {
        let t = text.trim();
        // Maven prefixes each line with its level: `[WARNING] Flakes: `.
        let body = t
            .strip_prefix("[WARNING]")
            .or_else(|| t.strip_prefix("[ERROR]"))
            .or_else(|| t.strip_prefix("[INFO]"))
            .map_or(t, str::trim);
        if body.starts_with("Flakes:") {
            self.in_flakes = true;
            return;
        }
        if self.in_flakes {
            if body.is_empty() || body.starts_with("Tests run:") {
                self.in_flakes = false;
            } else if !body.starts_with("Run ") {
                // `com.acme.CalcTest.divides(com.acme.CalcTest)` or `CalcTest.divides`.
                let name = body.split('(').next().unwrap_or(body);
                self.set(
                    name.rsplit('.').next().unwrap_or(name),
                    Outcome::PassedOnRetry,
                );
            }
            return;
        }
        // go test prints a verdict per run: with `-count=N` or a rerunning
        // wrapper (gotestsum --rerun-fails) one test may fail, then pass.
        if let Some(name) = t
            .strip_prefix("--- FAIL: ")
            .and_then(|r| r.split(' ').next())
        {
            let outcome = match self.outcome(name) {
                None => Outcome::Retried,
                Some(Outcome::Retried | Outcome::FailedEveryTime) => Outcome::FailedEveryTime,
                Some(Outcome::PassedOnRetry) => Outcome::PassedOnRetry,
            };
            self.set(name, outcome);
            return;
        }
        if let Some(name) = t
            .strip_prefix("--- PASS: ")
            .and_then(|r| r.split(' ').next())
        {
            self.settle(name, Outcome::PassedOnRetry);
            return;
        }
        // The `flaky` plugin for pytest (and nose) reports each retried test.
        if t.contains(" out of the required ")
            && let Some(c) = FLAKY_REPORT.captures(t)
        {
            let name = &c[1];
            let passes: u32 = c[3].parse().unwrap_or(0);
            let outcome = if &c[2] == "passed" || passes > 0 {
                Outcome::PassedOnRetry
            } else {
                Outcome::FailedEveryTime
            };
            self.set(name, outcome);
            return;
        }
        if let Some(c) = STATUS.captures(t) {
            let (status, id) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                (Some(s), Some(id), _, _) | (_, _, Some(id), Some(s)) => (s.as_str(), id.as_str()),
                _ => return,
            };
            let name = id.rsplit("::").next().unwrap_or(id);
            match status {
                "RERUN" => self.set(name, Outcome::Retried),
                "PASSED" => self.settle(name, Outcome::PassedOnRetry),
                _ => self.settle(name, Outcome::FailedEveryTime),
            }
        }
    }

    /// Inside surefire's `Flakes:` section: every line matters.
    pub(crate) fn active(&self) -> bool {
        self.in_flakes
    }

    /// Whether a line may matter to [`Self::feed`]; the rest skip it.
    /// `retried`: the engine's scan saw `RERUN`, `Flakes:` or `--- FAIL` in
    /// it (in any case), which spares every other line a search.
    pub(crate) fn wants(&self, text: &str, retried: bool) -> bool {
        self.in_flakes
            || retried
            || (self.watching() && (text.contains("PASS") || text.contains("FAIL")))
    }

    /// Whether some retried test still waits for its verdict.
    pub(crate) fn watching(&self) -> bool {
        self.tests.iter().any(|(_, o)| *o == Outcome::Retried)
    }

    fn outcome(&self, name: &str) -> Option<Outcome> {
        let name = last_part(name.trim());
        self.tests.iter().find(|(t, _)| t == name).map(|(_, o)| *o)
    }

    fn set(&mut self, name: &str, outcome: Outcome) {
        let name = last_part(name.trim());
        if name.is_empty() {
            return;
        }
        if let Some(t) = self.tests.iter_mut().find(|(t, _)| t == name) {
            t.1 = outcome;
        } else if self.tests.len() < MAX_RERUNS {
            self.tests.push((name.to_owned(), outcome));
        }
    }

    /// A verdict after a retry; tests never retried are none of our business.
    fn settle(&mut self, name: &str, outcome: Outcome) {
        let name = last_part(name.trim());
        if let Some(t) = self.tests.iter_mut().find(|(t, _)| t == name) {
            t.1 = outcome;
        }
    }

    /// Gives the failures whose test was retried what the retries showed:
    /// flaky when it passed on a retry, not flaky when it failed every time.
    pub(crate) fn mark(&self, candidates: &mut [Candidate]) {
        if self.tests.is_empty() {
            return;
        }
        for c in candidates {
            let Some(test) = &c.test else { continue };
            match self.outcome(test) {
                Some(Outcome::PassedOnRetry) => c.flaky = Some(true),
                Some(Outcome::FailedEveryTime) => c.flaky = Some(false),
                Some(Outcome::Retried) | None => {}
            }
        }
    }
}

/// Test ids differ by runner (`pkg.Class#method`, `file::name`,
/// `pkg.TestX/sub`): the last part names the test.
fn last_part(id: &str) -> &str {
    id.rsplit(['#', ':', '.', '/']).next().unwrap_or(id)
}

/// The hint for one ranked failure.
pub(crate) fn hint(c: &Candidate) -> Option<bool> {
    if c.flaky.is_some() {
        return c.flaky;
    }
    let test = matches!(c.category, Category::TestFailure | Category::TestError);
    let timing =
        test && (TIMING.is_match(&c.message) || c.snippet.iter().any(|(_, l)| TIMING.is_match(l)));
    timing.then_some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(category: Category, tool: &'static str, message: &str) -> Candidate {
        Candidate::new(category, tool, message)
    }

    #[test]
    fn timing_assertions_and_transient_infra_are_flaky() {
        for message in [
            "AssertionError: timed out waiting for the server to start",
            "Error: Timeout of 2000ms exceeded. For async tests and hooks, ensure \"done()\" is called",
            "expected event within 5s",
            "context deadline exceeded",
            "java.util.concurrent.TimeoutException: Futures timed out after [30 seconds]",
        ] {
            assert_eq!(
                hint(&failure(Category::TestFailure, "pytest", message)),
                Some(true),
                "{message}"
            );
        }
        assert_eq!(
            hint(&failure(Category::TestFailure, "pytest", "assert 1 == 2")),
            None
        );
        // A compile error that mentions a timeout is not a flaky test.
        assert_eq!(
            hint(&failure(
                Category::CompileError,
                "rustc",
                "cannot find value `timed_out_waiting`"
            )),
            None
        );
    }

    #[test]
    fn retried_tests_are_flaky_when_they_pass_and_not_when_they_never_do() {
        let mut reruns = Reruns::default();
        for line in [
            "tests/test_api.py RRFR.                                                  [100%]",
            "RERUN tests/test_api.py::test_total",
            "RERUN tests/test_api.py::test_total",
            "FAILED tests/test_api.py::test_total",
            "RERUN tests/test_api.py::test_upload",
            "PASSED tests/test_api.py::test_upload",
            "[WARNING] Flakes: ",
            "[WARNING] com.acme.CalcTest.divides(com.acme.CalcTest)",
            "[ERROR]   Run 1: CalcTest.divides:21 expected:<2> but was:<3>",
            "[INFO]   Run 2: PASS",
            "[INFO] ",
        ] {
            if reruns.wants(line, true) {
                reruns.feed(line);
            }
        }
        let mut failures = vec![
            failure(Category::TestFailure, "pytest", "assert 3 == 4"),
            failure(Category::TestFailure, "pytest", "server answered 503"),
            failure(Category::TestFailure, "maven", "expected:<2> but was:<3>"),
            failure(Category::TestFailure, "maven", "expected:<4> but was:<5>"),
        ];
        for (f, id) in failures.iter_mut().zip([
            "tests/test_api.py::test_total",
            "tests/test_api.py::test_upload",
            "com.acme.CalcTest#divides",
            "com.acme.CalcTest#multiplies",
        ]) {
            f.test = Some(id.into());
        }
        reruns.mark(&mut failures);
        let flaky: Vec<Option<bool>> = failures.iter().map(hint).collect();
        assert_eq!(flaky, [Some(false), Some(true), Some(true), None]);
    }
}
