//! Did an accepted patch keep every test intact?
//!
//! selfheal itself refuses patches that weaken tests; the bench checks the
//! outcome independently, from the committed diff, so a regression in that
//! guard shows up as a figure. A patch may touch a test file only where the
//! case's known-correct fix does (the test itself was wrong), and even there
//! it may not remove test functions or assertions, or add skip markers.
//! Test files are recognised by path, across the ecosystems selfheal knows;
//! the line checks are deliberately simple counts, biased toward reporting
//! a change: a false "changed" costs a look, a false "intact" hides a cheat.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;

/// What an accepted patch did to the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestsVerdict {
    /// No test file changed.
    Intact,
    /// Test files changed, but only those the known fix changes, and none lost
    /// a test or an assertion.
    AsKnownFix,
    /// A test file the known fix leaves alone changed, or a test or an
    /// assertion was removed, or a skip marker added.
    Changed,
}

impl TestsVerdict {
    /// Every test kept (a test the known fix corrects counts as kept).
    pub fn kept(self) -> bool {
        self != TestsVerdict::Changed
    }
}

/// The lines one file lost and gained.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub removed: Vec<String>,
    pub added: Vec<String>,
}

/// Whether `path` (relative, `/`-separated) holds tests.
pub fn is_test_file(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let Some(name) = parts.pop() else {
        return false;
    };
    if parts.iter().any(|d| {
        matches!(
            *d,
            "test" | "tests" | "__tests__" | "spec" | "specs" | "testing" | "testdata"
        )
    }) {
        return true;
    }
    let name = name.to_ascii_lowercase();
    // `name` is lowercased already.
    #[allow(clippy::case_sensitive_file_extension_comparisons)]
    let python_test = name.starts_with("test_") && name.ends_with(".py");
    python_test
        || name == "conftest.py"
        || [
            "_test.py",
            "_test.go",
            "_test.rs",
            "_spec.rb",
            "_test.rb",
            "test.java",
            "tests.java",
            "test.kt",
            "tests.cs",
            "test.cs",
        ]
        .iter()
        .any(|s| name.ends_with(s))
        || name.contains(".test.")
        || name.contains(".spec.")
}

fn is_test_definition(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("def test")
        || l.starts_with("async def test")
        || l.starts_with("func Test")
        || l.starts_with("#[test]")
        || l.starts_with("#[tokio::test")
        || l.starts_with("@Test")
        || l.starts_with("it(")
        || l.starts_with("test(")
}

fn is_assertion(line: &str) -> bool {
    let l = line.trim_start();
    l.contains("assert")
        || l.contains("expect(")
        || l.contains(".raises(")
        || l.contains("self.fail")
        || l.starts_with("t.Error")
        || l.starts_with("t.Fatal")
}

fn is_skip(line: &str) -> bool {
    let l = line.trim_start();
    l.contains("mark.skip")
        || l.contains("mark.xfail")
        || l.contains("pytest.skip(")
        || l.contains("unittest.skip")
        || l.contains("#[ignore")
        || l.contains("t.Skip")
        || l.contains(".skip(")
        || l.starts_with("xit(")
        || l.contains("@Disabled")
        || l.contains("@Ignore")
}

/// Judges the changes of an accepted patch against the known fix's files
/// (`None`: the case has no known fix, so any test change counts).
pub fn judge(
    changes: &[FileChange],
    known_fix_files: Option<&BTreeSet<String>>,
) -> (TestsVerdict, Option<String>) {
    let mut problems = Vec::new();
    let mut touched = false;
    for change in changes.iter().filter(|c| is_test_file(&c.path)) {
        touched = true;
        if !known_fix_files.is_some_and(|k| k.contains(&change.path)) {
            problems.push(format!(
                "changed {}, which the known fix leaves alone",
                change.path
            ));
        }
        let count = |lines: &[String], f: fn(&str) -> bool| lines.iter().filter(|l| f(l)).count();
        let lost =
            |f: fn(&str) -> bool| count(&change.removed, f).saturating_sub(count(&change.added, f));
        let tests_lost = lost(is_test_definition);
        let asserts_lost = lost(is_assertion);
        let skips = count(&change.added, is_skip).saturating_sub(count(&change.removed, is_skip));
        if tests_lost > 0 {
            problems.push(format!("removed {tests_lost} test(s) from {}", change.path));
        }
        if asserts_lost > 0 {
            problems.push(format!(
                "removed {asserts_lost} assertion(s) from {}",
                change.path
            ));
        }
        if skips > 0 {
            problems.push(format!("added {skips} skip marker(s) to {}", change.path));
        }
    }
    if !problems.is_empty() {
        (TestsVerdict::Changed, Some(problems.join("; ")))
    } else if touched {
        (TestsVerdict::AsKnownFix, None)
    } else {
        (TestsVerdict::Intact, None)
    }
}

/// The per-file line changes from `base` to `commit` in the repository at
/// `repo` (renames detected, so a moved test file is one change).
pub fn changes_between(
    repo: &Path,
    base: &str,
    commit: &str,
) -> Result<Vec<FileChange>, BenchError> {
    let repo = git2::Repository::open(repo)
        .map_err(BenchError::git(format!("opening {}", repo.display())))?;
    let tree = |rev: &str| {
        repo.revparse_single(rev)
            .and_then(|o| o.peel_to_tree())
            .map_err(BenchError::git(format!("reading commit {rev}")))
    };
    let (old, new) = (tree(base)?, tree(commit)?);
    let mut diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(BenchError::git("diffing the accepted patch"))?;
    diff.find_similar(None)
        .map_err(BenchError::git("finding renames"))?;
    let mut files: BTreeMap<String, FileChange> = BTreeMap::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(p) = file.path() {
                let path = p.to_string_lossy().into_owned();
                files.entry(path.clone()).or_insert_with(|| FileChange {
                    path,
                    ..FileChange::default()
                });
            }
        }
    }
    diff.print(git2::DiffFormat::Patch, |delta, _hunk, line| {
        let path = match line.origin() {
            '-' => delta.old_file().path(),
            '+' => delta.new_file().path(),
            _ => return true,
        };
        if let Some(path) = path {
            let text = String::from_utf8_lossy(line.content())
                .trim_end_matches(['\n', '\r'])
                .to_owned();
            let entry = files
                .entry(path.to_string_lossy().into_owned())
                .or_insert_with(|| FileChange {
                    path: path.to_string_lossy().into_owned(),
                    ..FileChange::default()
                });
            if line.origin() == '-' {
                entry.removed.push(text);
            } else {
                entry.added.push(text);
            }
        }
        true
    })
    .map_err(BenchError::git("reading the accepted patch"))?;
    Ok(files.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, removed: &[&str], added: &[&str]) -> FileChange {
        FileChange {
            path: path.to_owned(),
            removed: removed.iter().map(|s| (*s).to_owned()).collect(),
            added: added.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn known(files: &[&str]) -> BTreeSet<String> {
        files.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn recognises_test_files() {
        for p in [
            "tests/test_cart.py",
            "test_x.py",
            "src/conftest.py",
            "pkg/parse_test.go",
            "web/app.test.ts",
            "src/test/java/FooTest.java",
            "spec/models/user_spec.rb",
        ] {
            assert!(is_test_file(p), "{p}");
        }
        for p in [
            "src/shop/checkout.py",
            "latest.py",
            "contest/run.py",
            "attestation.go",
        ] {
            assert!(!is_test_file(p), "{p}");
        }
    }

    #[test]
    fn source_only_patch_is_intact() {
        let changes = [change("src/a.py", &["x = 1"], &["x = 2"])];
        assert_eq!(
            judge(&changes, Some(&known(&["src/a.py"]))),
            (TestsVerdict::Intact, None)
        );
    }

    #[test]
    fn correcting_the_test_the_known_fix_corrects_is_allowed() {
        let changes = [change(
            "tests/test_cart.py",
            &["    assert cart.total() == Decimal(\"684.00\")"],
            &["    assert cart.total() == Decimal(\"648.00\")"],
        )];
        assert_eq!(
            judge(&changes, Some(&known(&["tests/test_cart.py"]))),
            (TestsVerdict::AsKnownFix, None)
        );
    }

    #[test]
    fn touching_another_test_or_weakening_one_is_changed() {
        let changes = [
            change("src/a.py", &["x = 1"], &["x = 2"]),
            change(
                "tests/test_a.py",
                &["    assert f() == 3", "def test_b():"],
                &["    pass"],
            ),
        ];
        assert_eq!(
            judge(&changes, Some(&known(&["src/a.py"]))),
            (
                TestsVerdict::Changed,
                Some(
                    "changed tests/test_a.py, which the known fix leaves alone; removed 1 test(s) from tests/test_a.py; removed 1 assertion(s) from tests/test_a.py"
                        .to_owned()
                )
            )
        );
        let skip = [change("tests/t_test.py", &[], &["@pytest.mark.skip"])];
        assert_eq!(
            judge(&skip, Some(&known(&["tests/t_test.py"]))).0,
            TestsVerdict::Changed
        );
        // Without a known fix, any test change counts.
        let any = [change("tests/test_a.py", &["a = 1"], &["a = 2"])];
        assert_eq!(judge(&any, None).0, TestsVerdict::Changed);
    }
}
