//! Changes selfheal refuses to make, whatever the model says.
//!
//! A fix that makes CI green by weakening the tests hides the failure instead
//! of repairing it. These rules look at test files only and compare each
//! before and after the change: fewer assertions, fewer tests, or new skip
//! markers mean the change is rejected, and the reason goes back to the model.
//! Changing what an assertion expects is allowed: sometimes the test is wrong.
//! The rules count tokens rather than parse code, so they hold for every
//! language selfheal validates; a determined model can still get around
//! them, which is why the user approves every diff.

use selfheal_patch::{ChangeSet, FileChange};

/// Tokens that assert something, across test frameworks.
const ASSERTIONS: &[&str] = &[
    "assert", // assert, assertEqual, assert_eq!, assert.equal, assertThat ...
    "expect(",
    "pytest.raises",
    "self.fail(",
    "t.Error",
    "t.Fatal",
    "panic!(",
];

/// Line starts that define a test.
const TEST_DEFINITIONS: &[&str] = &[
    "def test",
    "async def test",
    "#[test]",
    "#[tokio::test]",
    "func Test",
    "it(",
    "test(",
    "@Test",
];

/// Tokens that skip a test or expect it to fail.
const SKIPS: &[&str] = &[
    "pytest.mark.skip",
    "pytest.mark.xfail",
    "pytest.skip(",
    "pytest.xfail(",
    "unittest.skip",
    "unittest.expectedFailure",
    "#[ignore",
    "t.Skip",
    ".skip(",
    "xit(",
    "xdescribe(",
    "@Disabled",
    "@Ignore",
];

/// Assertions that cannot fail.
const TRIVIAL_ASSERTIONS: &[&str] = &[
    "assert True",
    "assert 1\n",
    "assertTrue(True)",
    "expect(true).toBe(true)",
];

/// Whether `path` holds tests, by the naming conventions of the ecosystems selfheal knows.
pub fn is_test_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_test_dir = path
        .split('/')
        .any(|segment| matches!(segment, "tests" | "test" | "__tests__" | "spec" | "testing"));
    in_test_dir
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name.ends_with("_test.go")
        || name.ends_with("_test.rs")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with("Test.java")
        || name.ends_with("Tests.java")
        || name == "conftest.py"
}

/// `Err(reason)` when the change weakens a test file.
pub fn check(change: &ChangeSet) -> Result<(), String> {
    for file in &change.files {
        if is_test_file(&file.path) {
            check_test_file(file)?;
        }
    }
    Ok(())
}

fn check_test_file(file: &FileChange) -> Result<(), String> {
    let before = file.before.as_deref().unwrap_or("");
    let after = file.after.as_str();
    let path = &file.path;
    if file.before.is_some() && after.trim().is_empty() && !before.trim().is_empty() {
        return Err(format!("refused: the change empties test file {path}"));
    }
    let (b, a) = (count(before, ASSERTIONS), count(after, ASSERTIONS));
    if a < b {
        return Err(format!(
            "refused: the change removes assertions from {path} ({b} before, {a} after); fix the code, not the test"
        ));
    }
    let (b, a) = (
        count_starts(before, TEST_DEFINITIONS),
        count_starts(after, TEST_DEFINITIONS),
    );
    if a < b {
        return Err(format!(
            "refused: the change removes tests from {path} ({b} before, {a} after)"
        ));
    }
    if count(after, SKIPS) > count(before, SKIPS) {
        return Err(format!("refused: the change skips a test in {path}"));
    }
    if count(after, TRIVIAL_ASSERTIONS) > count(before, TRIVIAL_ASSERTIONS) {
        return Err(format!(
            "refused: the change adds an assertion that cannot fail to {path}"
        ));
    }
    Ok(())
}

/// Occurrences of any of `tokens` outside comment lines.
fn count(text: &str, tokens: &[&str]) -> usize {
    code_lines(text)
        .map(|line| {
            tokens
                .iter()
                .map(|tok| line.matches(tok).count())
                .sum::<usize>()
        })
        .sum()
}

/// Code lines that start (after indentation) with one of `tokens`.
fn count_starts(text: &str, tokens: &[&str]) -> usize {
    code_lines(text)
        .filter(|line| tokens.iter().any(|tok| line.trim_start().starts_with(tok)))
        .count()
}

/// Lines that are not comments (`#[...]` attributes are code).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n').filter(|line| {
        let t = line.trim_start();
        (!t.starts_with('#') || t.starts_with("#[")) && !t.starts_with("//")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, before: &str, after: &str) -> ChangeSet {
        ChangeSet {
            files: vec![FileChange {
                path: path.into(),
                before: Some(before.into()),
                after: after.into(),
            }],
        }
    }

    const TEST: &str = "def test_add():\n    assert add(1, 2) == 3\n\ndef test_sub():\n    assert sub(3, 2) == 1\n";

    #[test]
    fn fixing_an_expectation_is_allowed() {
        let after = TEST.replace("== 3", "== 4");
        assert_eq!(check(&change("tests/test_calc.py", TEST, &after)), Ok(()));
    }

    #[test]
    fn removing_an_assertion_is_refused() {
        let after = TEST.replace("    assert add(1, 2) == 3\n", "    add(1, 2)\n");
        let err = check(&change("tests/test_calc.py", TEST, &after)).expect_err("weakens");
        assert!(err.contains("removes assertions"), "{err}");
    }

    #[test]
    fn commenting_out_an_assertion_is_refused() {
        let after = TEST.replace("    assert add", "    # assert add");
        assert!(check(&change("tests/test_calc.py", TEST, &after)).is_err());
    }

    #[test]
    fn skipping_a_test_is_refused() {
        let after = format!("import pytest\n\n@pytest.mark.skip\n{TEST}");
        let err = check(&change("tests/test_calc.py", TEST, &after)).expect_err("skips");
        assert!(err.contains("skips"), "{err}");
    }

    #[test]
    fn deleting_a_test_is_refused() {
        let after = "def test_add():\n    assert add(1, 2) == 3\n    assert sub(3, 2) == 1\n";
        let err = check(&change("tests/test_calc.py", TEST, after)).expect_err("removes");
        assert!(err.contains("removes tests"), "{err}");
    }

    #[test]
    fn trivial_assertions_are_refused() {
        let after = TEST.replace("assert add(1, 2) == 3", "assert True");
        assert!(check(&change("tests/test_calc.py", TEST, &after)).is_err());
    }

    #[test]
    fn source_files_are_not_policed() {
        let before = "def f():\n    assert x\n";
        assert_eq!(
            check(&change("src/calc.py", before, "def f():\n    pass\n")),
            Ok(())
        );
    }

    #[test]
    fn test_files_are_recognised_across_ecosystems() {
        for path in [
            "tests/a.py",
            "pkg/test_a.py",
            "a_test.go",
            "src/a.test.ts",
            "src/test/java/ATest.java",
            "conftest.py",
        ] {
            assert!(is_test_file(path), "{path}");
        }
        for path in ["src/calc.py", "src/contest.py", "latest.go"] {
            assert!(!is_test_file(path), "{path}");
        }
    }
}
