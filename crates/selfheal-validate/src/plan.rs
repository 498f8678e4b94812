use std::time::Duration;

/// One command of a validation: `sh -c <command> sh <args>...` in the project root
/// inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestStep {
    /// What the step is for (`failing tests`, `full suite`); shown to users and to the model.
    pub name: String,
    /// The script given to `sh -c`. It comes from configuration, never from log
    /// text: anything read from a CI log goes in [`args`](Self::args).
    pub command: String,
    /// The script's positional parameters (`$1`, ..., `"$@"`), each one word
    /// whatever it holds, since the shell never parses them.
    pub args: Vec<String>,
    /// Wall-clock limit of this one command; past it the step is killed and
    /// reported as timed out, and no later step runs.
    pub timeout: Duration,
}

impl TestStep {
    /// A step with no arguments and [`ValidationPlan::DEFAULT_TIMEOUT`].
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            command: command.into(),
            args: Vec::new(),
            timeout: ValidationPlan::DEFAULT_TIMEOUT,
        }
    }

    #[must_use]
    pub fn with_args(mut self, args: Vec<String>) -> Self {
        self.args = args;
        self
    }

    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The step as a person would type it, for reports only (never run): `"$@"`
    /// replaced by the shell-quoted arguments, or the whole `sh -c` line when the
    /// script does not use `"$@"`.
    pub fn display(&self) -> String {
        if self.args.is_empty() {
            return self.command.clone();
        }
        let quoted = self
            .args
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        if self.command.contains(ALL_ARGS) {
            self.command.replace(ALL_ARGS, &quoted)
        } else {
            format!("sh -c {} sh {quoted}", shell_quote(&self.command))
        }
    }
}

/// What the failing-tests script says where `{tests}` stood: all positional parameters.
const ALL_ARGS: &str = "\"$@\"";

/// What to run to prove a patch, in order; every step must exit 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationPlan {
    pub steps: Vec<TestStep>,
    /// The most any one step may run: the limit the constructors give every
    /// step, and a ceiling over a step's own [`TestStep::timeout`]. The whole
    /// validation takes at most the sum of its steps' limits.
    pub timeout: Duration,
    /// Extra environment for every step, as CI set it (the failing step's
    /// `env:` from [`CiStep::env`](crate::CiStep::env)). From configuration or
    /// the workflow file, never from log text; never credentials. A sandbox
    /// keeps its own `HOME`, `TMPDIR` and (locally) `PATH` over these, and
    /// skips a name that is empty or holds `=` or NUL.
    pub env: Vec<(String, String)>,
}

/// Name of the step that reruns the tests the CI run saw fail.
pub const FAILING_STEP: &str = "failing tests";
/// Name of the step that runs the whole suite.
pub const FULL_STEP: &str = "full suite";

impl ValidationPlan {
    /// The time a test command gets unless the user says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    pub fn new(steps: Vec<TestStep>, timeout: Duration) -> Self {
        Self {
            steps,
            timeout,
            env: Vec::new(),
        }
    }

    /// The same plan with `env` set for every step (see [`env`](Self::env)).
    #[must_use]
    pub fn with_env(mut self, env: Vec<(String, String)>) -> Self {
        self.env = env;
        self
    }

    /// The plan's variables a sandbox may set: names that are not empty and
    /// hold neither `=` nor NUL, values without NUL, and none of `reserved`.
    pub(crate) fn usable_env<'a>(
        &'a self,
        reserved: &'a [&str],
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.env.iter().filter_map(move |(k, v)| {
            let ok = !k.is_empty()
                && !k.contains(['=', '\0'])
                && !v.contains('\0')
                && !reserved.contains(&k.as_str());
            if !ok {
                tracing::debug!(name = %k, "plan variable skipped");
            }
            ok.then_some((k.as_str(), v.as_str()))
        })
    }

    /// The default policy: the failing tests first (if any are known), then the whole suite;
    /// both must pass, each within `timeout`.
    ///
    /// Running the failing tests first gives a fast, focused answer when the patch
    /// does not fix them; the full suite then catches a fix that breaks something
    /// else. `failing_command` contains `{tests}`, e.g. `python -m pytest -q {tests}`
    /// and `python -m pytest -q`.
    ///
    /// The test ids come from CI logs, which a pull request author controls, so
    /// they never become script text: `{tests}` becomes `"$@"` and the ids are
    /// the script's positional parameters, one argument each.
    pub fn failing_then_full(
        failing_tests: &[String],
        failing_command: &str,
        full_command: &str,
        timeout: Duration,
    ) -> Self {
        let mut steps = Vec::with_capacity(2);
        if !failing_tests.is_empty() {
            // Lenient toward configuration that forgot the placeholder: the ids are
            // appended, which is what every common test runner expects anyway.
            let script = if failing_command.contains("{tests}") {
                failing_command.replace("{tests}", ALL_ARGS)
            } else {
                format!("{} {ALL_ARGS}", failing_command.trim_end())
            };
            steps.push(
                TestStep::new(FAILING_STEP, script)
                    .with_args(failing_tests.to_vec())
                    .with_timeout(timeout),
            );
        }
        steps.push(TestStep::new(FULL_STEP, full_command).with_timeout(timeout));
        Self::new(steps, timeout)
    }
}

/// Quotes `s` for POSIX `sh` so that it stays one word whatever it holds.
///
/// For display only ([`TestStep::display`]): what is run passes test ids as
/// arguments, never through a shell parser.
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
        let ids = vec![
            "tests/test_a.py::test_one".to_owned(),
            "tests/test_a.py::test[x y]".to_owned(),
        ];
        let plan = ValidationPlan::failing_then_full(
            &ids,
            "python -m pytest -q {tests}",
            "python -m pytest -q",
            Duration::from_secs(60),
        );
        assert_eq!(
            plan,
            ValidationPlan {
                steps: vec![
                    TestStep {
                        name: FAILING_STEP.into(),
                        command: r#"python -m pytest -q "$@""#.into(),
                        args: ids,
                        timeout: Duration::from_secs(60),
                    },
                    TestStep {
                        name: FULL_STEP.into(),
                        command: "python -m pytest -q".into(),
                        args: vec![],
                        timeout: Duration::from_secs(60),
                    },
                ],
                timeout: Duration::from_secs(60),
                env: vec![],
            }
        );
        assert_eq!(
            plan.steps[0].display(),
            "python -m pytest -q tests/test_a.py::test_one 'tests/test_a.py::test[x y]'"
        );
        assert_eq!(plan.steps[1].display(), "python -m pytest -q");
    }

    #[test]
    fn ids_from_logs_never_become_script_text() {
        let hostile = "t.py::test[$(touch /tmp/pwned)]".to_owned();
        let plan = ValidationPlan::failing_then_full(
            std::slice::from_ref(&hostile),
            "pytest {tests} -x",
            "pytest",
            Duration::from_secs(1),
        );
        assert_eq!(plan.steps[0].command, r#"pytest "$@" -x"#);
        assert_eq!(plan.steps[0].args, [hostile]);
        assert_eq!(
            plan.steps[0].display(),
            "pytest 't.py::test[$(touch /tmp/pwned)]' -x"
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
        assert_eq!(plan.steps[0].command, r#"pytest -q "$@""#);
        assert_eq!(plan.steps[0].display(), "pytest -q t.py::a");
    }

    #[test]
    fn a_script_without_all_args_is_displayed_as_the_sh_line_that_runs() {
        let step = TestStep::new("s", "echo $1").with_args(vec!["a b".into()]);
        assert_eq!(step.display(), "sh -c 'echo $1' sh 'a b'");
    }
}
