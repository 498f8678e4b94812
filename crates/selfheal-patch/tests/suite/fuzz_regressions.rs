//! Hostile replies never panic: the checks of the `reply` fuzz target
//! (`fuzz/fuzz_targets/reply.rs`) over every case in `tests/fixtures/fuzz/`
//! (crashes it found, minimised, and hand-made oddities), on stable.

use std::path::{Path, PathBuf};

use selfheal_patch::{PatchError, parse_reply, plan};

const CALC: &str = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("calc.py"), CALC).expect("write tree");
    dir
}

/// What the fuzz target does with one input. `Ok(None)`: no edits to plan.
fn check(data: &[u8], root: &Path) -> Option<Result<Vec<String>, PatchError>> {
    let reply = String::from_utf8_lossy(data);
    let edits = parse_reply(&reply).ok()?;
    if edits.is_empty() {
        return None;
    }
    let planned = plan(root, &edits).map(|change| {
        let _ = change.unified_diff();
        let _ = change.stat();
        change.paths()
    });
    if let Ok(paths) = &planned {
        for p in paths {
            assert!(!p.contains('\0'), "a NUL in a planned path: {p:?}");
            assert!(
                !p.split('/').any(|c| c == ".."),
                "`..` in a planned path: {p:?}"
            );
        }
    }
    Some(planned)
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
fn every_found_case_replays_without_panic() {
    let root = tree();
    let files = cases();
    assert!(!files.is_empty(), "no cases in tests/fixtures/fuzz");
    for file in files {
        let data = std::fs::read(&file).expect("read case");
        let _ = check(&data, root.path());
    }
    // Planning only reads.
    assert_eq!(
        std::fs::read_to_string(root.path().join("calc.py")).expect("read"),
        CALC
    );
}

#[test]
fn hunk_header_claiming_a_billion_lines_is_an_error_or_a_small_change() {
    let root = tree();
    let reply = "```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -1,1000000000 +1,1000000000 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n```\n";
    if let Some(Ok(paths)) = check(reply.as_bytes(), root.path()) {
        assert_eq!(paths, ["calc.py"]);
    }
    let huge = "--- a/calc.py\n+++ b/calc.py\n@@ -99999999999999999999999,1 +1,99999999999999999999999 @@\n-    return a - b\n+    return a + b\n";
    let _ = check(huge.as_bytes(), root.path());
}

#[test]
fn paths_with_dotdot_or_nul_are_refused() {
    let root = tree();
    for file in [
        "../calc.py",
        "a/../../calc.py",
        "calc.py\\u0000.txt",
        "..",
        "./../x",
    ] {
        let reply = format!(r#"{{"edits": [{{"file": "{file}", "old": "", "new": "x"}}]}}"#);
        let got = check(reply.as_bytes(), root.path());
        assert!(
            matches!(got, Some(Err(_))),
            "{file:?} was not refused: {got:?}"
        );
    }
}

#[test]
fn invalid_utf8_nuls_cr_only_and_a_megabyte_line_never_panic() {
    let root = tree();
    let _ = check(b"\xff\xfe```diff\n--- a/calc.py\x80\n", root.path());
    let _ = check(
        b"<<<<<<< SEARCH\0\n\0\n=======\n\0\n>>>>>>> REPLACE\0",
        root.path(),
    );
    let _ = check(
        b"calc.py\r<<<<<<< SEARCH\r    return a - b\r=======\r    return a + b\r>>>>>>> REPLACE\r",
        root.path(),
    );
    let mut long = b"calc.py\n```python\n".to_vec();
    long.resize(1 << 20, b'x');
    long.extend_from_slice(b"\n```\n");
    let _ = check(&long, root.path());
}
