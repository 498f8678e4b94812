use std::time::Duration;

/// One command of a validation, run with `sh -c` in the project root inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestStep {
    /// What the step is for (`failing tests`, `full suite`); shown to users and to the model.
    pub name: String,
    pub command: String,
}

impl TestStep {
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            command: command.into(),
        }
    }
}

/// What to run to prove a patch, in order; every step must exit 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationPlan {
    pub steps: Vec<TestStep>,
    /// For the whole validation, not per step: a step gets whatever is left.
    pub timeout: Duration,
}

/// Name of the step that reruns the tests the CI run saw fail.
pub const FAILING_STEP: &str = "failing tests";
/// Name of the step that runs the whole suite.
pub const FULL_STEP: &str = "full suite";

impl ValidationPlan {
    /// The time a validation gets unless the user says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    pub fn new(steps: Vec<TestStep>, timeout: Duration) -> Self {
        Self { steps, timeout }
    }

    /// The default policy: the failing tests first (if any are known), then the whole suite;
    /// both must pass.
    ///
    /// Running the failing tests first gives a fast, focused answer when the patch
    /// does not fix them; the full suite then catches a fix that breaks something
    /// else. `failing_command` contains `{tests}`, replaced by the shell-quoted test
    /// ids, e.g. `python -m pytest -q {tests}` and `python -m pytest -q`.
    pub fn failing_then_full(
        failing_tests: &[String],
        failing_command: &str,
        full_command: &str,
        timeout: Duration,
    ) -> Self {
        let mut steps = Vec::with_capacity(2);
        if !failing_tests.is_empty() {
            let quoted = failing_tests
                .iter()
                .map(|t| shell_quote(t))
                .collect::<Vec<_>>()
                .join(" ");
            // Lenient toward configuration that forgot the placeholder: the ids are
            // appended, which is what every common test runner expects anyway.
            let command = if failing_command.contains("{tests}") {
                failing_command.replace("{tests}", &quoted)
            } else {
                format!("{} {quoted}", failing_command.trim_end())
            };
            steps.push(TestStep::new(FAILING_STEP, command));
        }
        steps.push(TestStep::new(FULL_STEP, full_command));
        Self { steps, timeout }
    }
}

/// Quotes `s` for POSIX `sh` so that it stays one word whatever it holds.
///
/// Test ids come from CI logs, which a pull request author controls: quoting
/// is what keeps `tests/x.py::test[$(rm -rf ~)]` a test id.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'/' | b'.' | b'_' | b'-' | b':' | b'=' | b',' | b'+' | b'@'
                )
        });
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_stay_unquoted_and_others_are_single_quoted() {
        assert_eq!(
            shell_quote("tests/test_x.py::test_y"),
            "tests/test_x.py::test_y"
        );
        assert_eq!(shell_quote("t.py::test[a b]"), "'t.py::test[a b]'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn failing_tests_run_first_then_the_full_suite() {
        let plan = ValidationPlan::failing_then_full(
            &[
                "tests/test_a.py::test_one".into(),
                "tests/test_a.py::test[x y]".into(),
            ],
            "python -m pytest -q {tests}",
            "python -m pytest -q",
            Duration::from_secs(60),
        );
        assert_eq!(
            plan,
            ValidationPlan {
                steps: vec![
                    TestStep::new(
                        FAILING_STEP,
                        "python -m pytest -q tests/test_a.py::test_one 'tests/test_a.py::test[x y]'"
                    ),
                    TestStep::new(FULL_STEP, "python -m pytest -q"),
                ],
                timeout: Duration::from_secs(60),
            }
        );
    }

    #[test]
    fn no_known_failing_tests_means_only_the_full_suite() {
        let plan = ValidationPlan::failing_then_full(
            &[],
            "pytest {tests}",
            "pytest",
            ValidationPlan::DEFAULT_TIMEOUT,
        );
        assert_eq!(plan.steps, vec![TestStep::new(FULL_STEP, "pytest")]);
        assert_eq!(plan.timeout, Duration::from_secs(300));
    }

    #[test]
    fn ids_are_appended_when_the_placeholder_is_missing() {
        let plan = ValidationPlan::failing_then_full(
            &["t.py::a".into()],
            "pytest -q ",
            "pytest -q",
            Duration::from_secs(1),
        );
        assert_eq!(plan.steps[0].command, "pytest -q t.py::a");
    }
}
