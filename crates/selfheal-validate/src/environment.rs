//! Telling "the tests could not run here" from "the tests failed".
//!
//! A step that cannot even start its tests (the tool is not in the image, the
//! script is not executable, the test runner is not installed) says nothing
//! about the patch; read as a failing test it would send the model chasing an
//! error no code change can fix. So such a step becomes an environment error.
//!
//! The rule is deliberately conservative, because the opposite mistake hides a
//! real failure from the repair loop. A step is an environment error only when:
//!
//! - it exited 127 (the shell's "command not found") or 126 ("found but not
//!   executable"): the command named in the shell's last complaint, else the
//!   step's first word, is reported;
//! - or it exited non-zero and the *first* line of its output is the shell's own
//!   complaint (`sh: 1: X: not found`, `bash: X: command not found`) or the
//!   engine's (`exec: "X": executable file not found`): nothing ran before it;
//! - or the step runs `python -m M` and the first line of output is Python's
//!   own `python: No module named M`, for that same `M`: the runner itself is
//!   missing. A test that imports a missing module is reported by the runner
//!   (`ModuleNotFoundError: No module named 'M'` inside its output), and stays a
//!   test failure: that is often exactly the bug the patch must fix.
//!
//! Lines from anything but a shell (`ERROR: file or directory not found: t.py`
//! from pytest) never count.

/// Why a step could not run, in one line, or `None` when its result is the tests' own.
/// `place` says where it ran, as the message should name it: `image <name>`
/// for a container, or the local sandbox.
pub(crate) fn classify(
    script: &str,
    exit_code: Option<i64>,
    output: &str,
    place: &str,
) -> Option<String> {
    let code = exit_code?;
    if code == 0 {
        return None;
    }
    let first_line = output.lines().map(str::trim).find(|l| !l.is_empty());
    if code == 127 || code == 126 {
        // The complaint that ended the shell is the last one it printed; look
        // only near the end, where it is.
        let found = output
            .lines()
            .rev()
            .take(50)
            .find_map(|l| complaint(l.trim()).filter(|c| c.kind.is_some()));
        let (name, kind) = match found {
            Some(Complaint {
                name,
                kind: Some(kind),
            }) => (name.to_owned(), kind),
            _ => (
                first_word(script),
                if code == 127 {
                    Kind::NotFound
                } else {
                    Kind::NotExecutable
                },
            ),
        };
        return Some(kind.message(&name, place));
    }
    if let Some(Complaint {
        name,
        kind: Some(kind),
    }) = first_line.and_then(complaint)
    {
        return Some(kind.message(name, place));
    }
    let module = python_runner_module(script)?;
    let line = first_line?;
    let (_, missing) = line.rsplit_once(": No module named ")?;
    (missing == module).then(|| {
        format!("the test runner \"python -m {module}\" is not installed in {place} (No module named {module})")
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NotFound,
    NotExecutable,
}

impl Kind {
    fn message(self, name: &str, place: &str) -> String {
        match self {
            Self::NotFound => format!("the command \"{name}\" was not found in {place}"),
            Self::NotExecutable => format!(
                "the command \"{name}\" could not be executed (not executable, or not a program for this platform) in {place}"
            ),
        }
    }
}

#[derive(Debug)]
struct Complaint<'a> {
    name: &'a str,
    kind: Option<Kind>,
}

/// A shell's or the engine's complaint about a command it could not run.
fn complaint(line: &str) -> Option<Complaint<'_>> {
    if let Some(rest) = line.split_once("exec: \"").map(|(_, r)| r)
        && let Some((name, after)) = rest.split_once('"')
    {
        let kind = if after.starts_with(": executable file not found")
            || after.starts_with(": no such file or directory")
        {
            Some(Kind::NotFound)
        } else if after.starts_with(": permission denied") {
            Some(Kind::NotExecutable)
        } else {
            None
        };
        return Some(Complaint { name, kind });
    }
    // dash: `sh: 1: X: not found`; bash: `bash: X: command not found`,
    // `sh: line 1: X: command not found`, `bash: ./t.sh: Permission denied`.
    let (shell, rest) = line.split_once(": ")?;
    let shell_name = shell.rsplit('/').next().unwrap_or(shell);
    if !matches!(shell_name, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh") {
        return None;
    }
    let rest = match rest.split_once(": ") {
        Some((n, more))
            if !n.is_empty()
                && n.trim_start_matches("line ")
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            more
        }
        _ => rest,
    };
    let (name, reason) = rest.rsplit_once(": ")?;
    let kind = match reason {
        "not found" | "command not found" => Some(Kind::NotFound),
        "Permission denied" => Some(Kind::NotExecutable),
        r if r.starts_with("cannot execute") || r.starts_with("Exec format error") => {
            Some(Kind::NotExecutable)
        }
        _ => None,
    };
    // `bash: cannot execute: ...` puts the reason before the name.
    let name = name.strip_suffix(": cannot execute").unwrap_or(name);
    Some(Complaint { name, kind })
}

/// `M` when the script starts a test runner with `python -m M` (or `python3`, `python3.12`).
fn python_runner_module(script: &str) -> Option<&str> {
    let words: Vec<&str> = script.split_whitespace().collect();
    words.windows(3).find_map(|w| {
        let program = w[0].rsplit('/').next().unwrap_or(w[0]);
        let is_python = program
            .strip_prefix("python")
            .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        (is_python && w[1] == "-m").then_some(w[2])
    })
}

fn first_word(script: &str) -> String {
    script
        .split_whitespace()
        .find(|w| !w.contains('='))
        .unwrap_or(script)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = "image img:1";

    fn check(script: &str, code: i64, output: &str) -> Option<String> {
        classify(script, Some(code), output, IMAGE)
    }

    #[test]
    fn a_missing_command_in_dash_and_bash_words() {
        let want = Some("the command \"cargo\" was not found in image img:1".to_owned());
        assert_eq!(check("cargo test", 127, "sh: 1: cargo: not found\n"), want);
        assert_eq!(
            check("cargo test", 127, "bash: cargo: command not found\n"),
            want
        );
        assert_eq!(
            check("cargo test", 127, "sh: line 1: cargo: command not found\n"),
            want
        );
        // 127 with words we do not know still names the step's command.
        assert_eq!(check("cargo test", 127, ""), want);
        assert_eq!(check("RUST_LOG=1 cargo test", 127, "?"), want);
    }

    #[test]
    fn the_last_complaint_names_the_command_that_ended_the_shell() {
        let out = "2 passed\nsh: 1: coverage: not found\n";
        assert_eq!(
            check("python -m pytest && coverage report", 127, out),
            Some("the command \"coverage\" was not found in image img:1".to_owned())
        );
    }

    #[test]
    fn a_command_that_is_not_executable() {
        assert_eq!(
            check("./run-tests.sh", 126, "sh: 1: ./run-tests.sh: Permission denied\n"),
            Some(
                "the command \"./run-tests.sh\" could not be executed (not executable, or not a program for this platform) in image img:1"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_first_line_complaint_counts_whatever_the_exit_code() {
        assert_eq!(
            check("make test", 2, "sh: 1: make: not found\n"),
            Some("the command \"make\" was not found in image img:1".to_owned())
        );
        assert_eq!(
            check(
                "go test ./...",
                1,
                "OCI runtime exec failed: exec failed: unable to start container process: exec: \"go\": executable file not found in $PATH: unknown\n"
            ),
            Some("the command \"go\" was not found in image img:1".to_owned())
        );
    }

    #[test]
    fn a_missing_test_runner_module_is_an_environment_error() {
        assert_eq!(
            check(
                "python -m pytest -q",
                1,
                "/usr/bin/python: No module named pytest\n"
            ),
            Some(
                "the test runner \"python -m pytest\" is not installed in image img:1 (No module named pytest)"
                    .to_owned()
            )
        );
        assert!(check("python3.12 -m tox", 1, "python3.12: No module named tox\n").is_some());
    }

    #[test]
    fn test_failures_and_runner_errors_stay_test_results() {
        // A test importing a missing module: the runner ran and reported it.
        let import_error = "\
==================================== ERRORS ====================================
_____________________ ERROR collecting tests/test_calc.py ______________________
ImportError while importing test module '/work/tests/test_calc.py'.
E   ModuleNotFoundError: No module named 'requests'
1 error in 0.05s
";
        assert_eq!(check("python -m pytest -q", 2, import_error), None);
        // A script importing one: Python's traceback, not the runner missing.
        let traceback = "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nModuleNotFoundError: No module named 'pytest'\n";
        assert_eq!(check("python -c 'import pytest'", 1, traceback), None);
        // A missing module that is not the one run with -m.
        assert_eq!(
            check(
                "python -m pytest",
                1,
                "/usr/bin/python: No module named foo\n"
            ),
            None
        );
        // pytest's own "not found" and a test's output with shell-like words.
        assert_eq!(
            check(
                "python -m pytest t.py",
                4,
                "ERROR: file or directory not found: t.py\n"
            ),
            None
        );
        assert_eq!(
            check("pytest", 1, "F\nE   AssertionError: sh: 1: x: not found\n"),
            None
        );
        assert_eq!(check("pytest", 1, "1 failed\n"), None);
        assert_eq!(check("pytest", 0, "sh: 1: x: not found\n"), None);
        assert_eq!(classify("sleep 60", None, "", IMAGE), None);
    }
}
