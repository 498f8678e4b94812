mod samples;

use std::path::Path;

use selfheal_reason::{SourceFile, collect_context, collect_context_in};
use selfheal_types::Location;

use super::failure;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn numbered(n: usize, line: impl Fn(usize) -> String) -> String {
    (1..=n).fold(String::new(), |mut text, i| {
        text.push_str(&line(i));
        text.push('\n');
        text
    })
}

const TEST_FILE: &str =
    "from src.calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n";
const CALC: &str = "def add(a, b):\n    return a + b + 1\n";

#[test]
fn test_file_first_then_locations_whole_when_they_fit() {
    let repo = tempfile::tempdir().expect("tempdir");
    write(repo.path(), "tests/test_calc.py", TEST_FILE);
    write(repo.path(), "src/calc.py", CALC);
    let mut f = failure();
    // Duplicates and files that do not exist are dropped.
    f.locations.push(Location {
        file: "./src/calc.py".into(),
        line: Some(1),
        column: None,
    });
    f.locations.push(Location {
        file: "src/gone.py".into(),
        line: Some(1),
        column: None,
    });
    let files = collect_context(repo.path(), &f, 6000);
    assert_eq!(
        files,
        [
            SourceFile {
                path: "tests/test_calc.py".into(),
                content: TEST_FILE.into()
            },
            SourceFile {
                path: "src/calc.py".into(),
                content: CALC.into()
            },
        ]
    );
}

#[test]
fn paths_outside_the_root_are_never_read() {
    let outer = tempfile::tempdir().expect("tempdir");
    let repo = outer.path().join("repo");
    write(&repo, "src/calc.py", CALC);
    write(outer.path(), "secret.py", "TOKEN = 'x'\n");
    let mut f = failure();
    f.test = None;
    f.locations = [
        "../secret.py",
        "/etc/passwd",
        &outer.path().join("secret.py").display().to_string(),
        "src/link.py",
    ]
    .iter()
    .map(|p| Location {
        file: (*p).to_owned(),
        line: Some(1),
        column: None,
    })
    .collect();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outer.path().join("secret.py"), repo.join("src/link.py"))
        .expect("symlink");
    assert_eq!(collect_context(&repo, &f, 6000), []);
}

#[test]
fn big_files_are_trimmed_around_their_locations_within_budget() {
    let repo = tempfile::tempdir().expect("tempdir");
    let big: String = numbered(2000, |i| format!("value_{i} = {i}"));
    write(repo.path(), "src/big.py", &big);
    write(repo.path(), "tests/test_calc.py", TEST_FILE);
    let mut f = failure();
    f.locations = vec![Location {
        file: "src/big.py".into(),
        line: Some(1000),
        column: None,
    }];
    let budget = 500; // tokens, about 2000 characters
    let files = collect_context(repo.path(), &f, budget);
    assert_eq!(files.len(), 2, "{files:#?}");
    assert_eq!(
        files[0].content, TEST_FILE,
        "the small test file fits whole"
    );
    let excerpt = &files[1];
    assert_eq!(excerpt.path, "src/big.py");
    assert!(
        excerpt.content.contains("\nvalue_1000 = 1000\n"),
        "the location is kept"
    );
    assert!(
        excerpt.content.starts_with("... [lines 1-"),
        "{}",
        excerpt.content
    );
    assert!(
        excerpt.content.ends_with("-2000 not shown]"),
        "{}",
        excerpt.content
    );
    let total: usize = files.iter().map(|f| f.content.len()).sum();
    assert!(total <= budget * 4, "within budget: {total} characters");
}

#[test]
fn a_large_test_file_does_not_starve_the_code_under_test() {
    let repo = tempfile::tempdir().expect("tempdir");
    let mut tests: String = numbered(1500, |i| format!("# filler {i}"));
    tests.push_str("def test_add():\n    assert add(2, 2) == 4\n");
    write(repo.path(), "tests/test_calc.py", &tests);
    write(repo.path(), "src/calc.py", CALC);
    let files = collect_context(repo.path(), &failure(), 400);
    assert_eq!(files.len(), 2, "{files:#?}");
    assert!(
        files[0].content.contains("def test_add():"),
        "the test's definition is found by name"
    );
    assert_eq!(files[1].content, CALC);
}

#[test]
fn binary_files_and_a_missing_root_give_nothing() {
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(repo.path().join("src")).expect("mkdir");
    std::fs::write(repo.path().join("src/calc.py"), b"\x00\x01binary").expect("write");
    let mut f = failure();
    f.test = None;
    assert_eq!(collect_context(repo.path(), &f, 6000), []);
    assert_eq!(collect_context(&repo.path().join("nope"), &f, 6000), []);
}

#[test]
fn a_monorepo_step_folder_resolves_the_log_and_paths_stay_repository_relative() {
    let repo = tempfile::tempdir().expect("tempdir");
    write(repo.path(), "services/calc/tests/test_calc.py", TEST_FILE);
    write(repo.path(), "services/calc/src/calc.py", CALC);
    let mut f = failure();
    // As the step printed them: relative to its folder, and from the CI checkout.
    f.locations = vec![
        Location {
            file: "tests/test_calc.py".into(),
            line: Some(5),
            column: None,
        },
        Location {
            file: "/home/runner/work/mono/mono/services/calc/src/calc.py".into(),
            line: Some(2),
            column: None,
        },
    ];
    assert_eq!(
        collect_context_in(repo.path(), "services/calc", &f, 6000),
        [
            SourceFile {
                path: "services/calc/tests/test_calc.py".into(),
                content: TEST_FILE.into()
            },
            SourceFile {
                path: "services/calc/src/calc.py".into(),
                content: CALC.into()
            },
        ]
    );
    assert_eq!(
        collect_context(repo.path(), &f, 6000),
        [SourceFile {
            path: "services/calc/src/calc.py".into(),
            content: CALC.into()
        }],
        "from the root, only the checkout path resolves"
    );
}
