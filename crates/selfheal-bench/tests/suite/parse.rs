//! Reading suites: the bundled one, and bad ones, each a one-line error
//! naming the case and what is wrong.

use std::collections::BTreeSet;
use std::path::Path;

use selfheal_bench::suite::{CaseSource, Suite};

use super::harness::samples_dir;

fn error_of(dir: &Path) -> String {
    Suite::load(dir).expect_err("a bad suite").to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn the_bundled_suite_has_every_sample_with_its_known_fix() {
    let suite = Suite::load(&samples_dir()).expect("loads");
    let names: Vec<&str> = suite.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 17, "{names:?}");
    assert!(!names.contains(&"tools"), "tools/ is not a case");
    let allowed: Vec<&str> = suite
        .cases
        .iter()
        .filter(|c| c.allow_test_edits)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(allowed, ["fixture-not-found", "test-expectation"]);
    let masked = suite
        .cases
        .iter()
        .find(|c| c.name == "masked-import-then-rounding")
        .expect("sample");
    assert_eq!(
        masked.known_fix_files,
        Some(BTreeSet::from([
            "src/ledger/export.py".to_owned(),
            "src/ledger/money.py".to_owned()
        ]))
    );
    assert_eq!(masked.run_id, "11873501542");
    assert!(matches!(masked.source, CaseSource::Sample { .. }));
}

#[test]
fn a_case_folder_alone_is_a_suite_of_one() {
    let suite = Suite::load(&samples_dir().join("logic-bug")).expect("loads");
    assert_eq!(suite.cases.len(), 1);
    assert_eq!(suite.cases[0].name, "logic-bug");
}

#[test]
fn selecting_cases_by_name_and_glob() {
    let mut suite = Suite::load(&samples_dir()).expect("loads");
    suite.select("syntax-error, masked-*").expect("matches");
    let names: Vec<&str> = suite.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "masked-import-then-rounding",
            "masked-nameerror-then-range",
            "syntax-error"
        ]
    );
    let err = suite.select("nope").expect_err("no match").to_string();
    assert_eq!(
        err,
        format!(
            "suite {}: no case matches --cases nope; hint: the cases are the folder names",
            samples_dir().display()
        )
    );
}

#[test]
fn bad_suites_are_one_line_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");

    let missing = root.join("missing");
    assert_eq!(
        error_of(&missing),
        format!(
            "suite {}: is not a folder; hint: pass a suite folder (see SUITE.md)",
            missing.display()
        )
    );

    let empty = root.join("empty");
    std::fs::create_dir_all(empty.join("tools")).expect("mkdir");
    assert_eq!(
        error_of(&empty),
        format!(
            "suite {}: holds no case; hint: a case is a folder with sample.json or case.json (see SUITE.md)",
            empty.display()
        )
    );

    let cases = [
        (
            "not-json",
            "sample.json",
            "{",
            "case not-json: sample.json is not valid: EOF while parsing an object at line 1 column 1",
        ),
        (
            "no-project",
            "sample.json",
            r#"{"kind": "x", "ci": {"run_id": 1}}"#,
            "case no-project: has sample.json but no project/ folder",
        ),
        (
            "bad-run-id",
            "sample.json",
            r#"{"ci": {"run_id": [1]}}"#,
            "case bad-run-id: sample.json: ci.run_id must be a string or number, not [1]",
        ),
        (
            "short-sha",
            "case.json",
            r#"{"run_id": "5", "commit": "abc"}"#,
            "case short-sha: case.json: commit must be a full 40-digit sha, not \"abc\"",
        ),
        (
            "no-bundle",
            "case.json",
            r#"{"run_id": "5", "commit": "0123456789012345678901234567890123456789"}"#,
            "case no-bundle: has case.json but no repository snapshot repo.bundle",
        ),
    ];
    for (name, file, text, expected) in cases {
        let suite = root.join(format!("suite-{name}"));
        write(&suite.join(name).join(file), text);
        let err = error_of(&suite);
        assert_eq!(err, expected);
        assert_eq!(err.lines().count(), 1);
    }

    // A sample with everything but its logs.
    let suite = root.join("suite-no-logs");
    let case = suite.join("no-logs");
    write(
        &case.join("sample.json"),
        r#"{"kind": "x", "ci": {"run_id": "42"}}"#,
    );
    write(&case.join("project/a.py"), "x = 1\n");
    write(&case.join("break.patch"), "");
    assert_eq!(
        error_of(&suite),
        "case no-logs: no cached logs of run 42: expected logs/42/ or logs/42.zip"
    );
}
