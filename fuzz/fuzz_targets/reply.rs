//! Any text as a model reply: parsing never panics, and when it yields edits,
//! planning them against a one-file tree never panics either (an unsafe path
//! or an edit that does not apply is an error, not a crash).
//!
//! `crates/selfheal-patch/tests/suite/fuzz_regressions.rs` runs the same
//! checks over the found cases on the stable toolchain.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// `plan` only reads, so one tree serves every run.
fn tree() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("calc.py"),
            "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
        )
        .expect("write tree");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let reply = String::from_utf8_lossy(data);
    let Ok(edits) = selfheal_patch::parse_reply(&reply) else {
        return;
    };
    if edits.is_empty() {
        return;
    }
    if let Ok(change) = selfheal_patch::plan(tree().path(), &edits) {
        let _ = change.unified_diff();
        let _ = change.stat();
        for p in change.paths() {
            assert!(!p.contains('\0'), "a NUL in a planned path: {p:?}");
            assert!(
                !p.split('/').any(|c| c == ".."),
                "`..` in a planned path: {p:?}"
            );
        }
    }
});
