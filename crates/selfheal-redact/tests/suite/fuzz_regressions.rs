//! Hostile text never panics the redactor, and redaction is idempotent: the
//! checks of the `redact` fuzz target (`fuzz/fuzz_targets/redact.rs`) over
//! every case in `tests/fixtures/fuzz/` (crashes it found, minimised, and
//! hand-made oddities), on stable.

use std::path::{Path, PathBuf};

use selfheal_redact::Redactor;

/// What the fuzz target does with one input.
fn check(r: &Redactor, data: &[u8], what: &str) {
    let text = String::from_utf8_lossy(data);
    let once = r.redact(&text);
    let mut at = 0;
    for f in &once.findings {
        assert!(
            at <= f.start && f.start < f.end && f.end <= text.len(),
            "{what}: {f:?}"
        );
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        at = f.end;
    }
    let twice = r.redact(&once.text);
    assert_eq!(
        twice.text, once.text,
        "{what}: a second pass changed the output: {:?}",
        twice.findings
    );
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/fixtures/fuzz")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn every_found_case_replays_idempotently() {
    let r = Redactor::builtin();
    let files = cases();
    assert!(!files.is_empty(), "no cases in tests/fixtures/fuzz");
    for file in files {
        let data = std::fs::read(&file).expect("read case");
        check(&r, &data, &file.display().to_string());
    }
}

#[test]
fn invalid_utf8_nuls_cr_only_and_a_megabyte_line() {
    let r = Redactor::builtin();
    check(
        &r,
        b"\xff\xfepassword=\x80hunter2hunter2\n",
        "invalid utf-8",
    );
    check(&r, b"ghp_\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0", "NULs");
    check(
        &r,
        b"token: abcdef0123456789abcdef\rpassword=s3cretvalue\r\r",
        "CR-only",
    );
    let mut long = b"AWS_SECRET_ACCESS_KEY=".to_vec();
    long.resize(1 << 20, b'A');
    check(&r, &long, "1 MB line");
}
