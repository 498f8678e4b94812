//! Hostile logs never panic: the checks of the `analyze` fuzz target
//! (`fuzz/fuzz_targets/analyze.rs`) over every case in `tests/fixtures/fuzz/`
//! (crashes it found, minimised, and hand-made oddities), on stable.

use std::path::{Path, PathBuf};

use selfheal_analyze::{AnalyzeOptions, analyze_path, analyze_reader};
use selfheal_types::Analysis;

use super::fixture;

fn assert_bounded(a: &Analysis, opts: &AnalyzeOptions, what: &str) {
    assert!(
        a.failures.len() <= opts.max_failures,
        "{what}: {} failures",
        a.failures.len()
    );
    assert!(
        a.excerpt.lines().count() <= 2 * opts.excerpt_budget_lines,
        "{what}: excerpt of {} lines",
        a.excerpt.lines().count()
    );
}

/// What the fuzz target does with one input; an error is a sane answer too.
fn check(data: &[u8], scratch: &Path, what: &str) {
    let opts = AnalyzeOptions::default();
    if let Ok(a) = analyze_reader(data, what, &opts) {
        assert_bounded(&a, &opts, what);
    }
    let path = scratch.join("input.zip");
    std::fs::write(&path, data).expect("write scratch file");
    if let Ok(a) = analyze_path(&path, &opts) {
        assert_bounded(&a, &opts, what);
    }
}

fn cases() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("fuzz"))
        .expect("tests/fixtures/fuzz")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn every_found_case_replays_without_panic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let files = cases();
    assert!(!files.is_empty(), "no cases in tests/fixtures/fuzz");
    for file in files {
        let data = std::fs::read(&file).expect("read case");
        check(&data, tmp.path(), &file.display().to_string());
    }
}

#[test]
fn one_megabyte_line_is_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut data = b"FAILED tests/test_a.py::test_b - ".to_vec();
    data.resize(1 << 20, b'x');
    data.extend_from_slice(b"\nerror: boom\n");
    check(&data, tmp.path(), "1 MB line");
    let a = analyze_reader(&data[..], "1 MB line", &AnalyzeOptions::default()).expect("reads");
    // The excerpt is what the model is shown: one giant line must not pass
    // through whole.
    assert!(
        a.excerpt.len() <= 1 << 20,
        "excerpt of {} bytes",
        a.excerpt.len()
    );
}

#[test]
fn invalid_utf8_nuls_and_cr_only_lines_are_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    check(
        b"\xff\xfe\xc3(error: \x80\x80\n",
        tmp.path(),
        "invalid utf-8",
    );
    check(b"\0\0\0error\0: \0boom\n\0", tmp.path(), "NULs");
    check(
        b"FAILED tests/test_a.py::test_b - assert 1 == 2\r1 failed in 0.01s\r\r\r",
        tmp.path(),
        "CR-only lines",
    );
    check(b"PK\x03\x04", tmp.path(), "zip magic alone");
}
