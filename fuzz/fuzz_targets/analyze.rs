//! Any bytes, as a log stream and (when zip-shaped) as a run-log zip on disk:
//! never a panic, and a result within the options' bounds.
//!
//! `crates/selfheal-analyze/tests/suite/fuzz_regressions.rs` runs the same
//! checks over the found cases on the stable toolchain.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use selfheal_analyze::{AnalyzeOptions, analyze_path, analyze_reader};

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
}

fuzz_target!(|data: &[u8]| {
    let opts = AnalyzeOptions::default();
    if let Ok(a) = analyze_reader(data, "fuzz", &opts) {
        assert!(a.failures.len() <= opts.max_failures);
        assert!(a.excerpt.lines().count() <= 2 * opts.excerpt_budget_lines);
    }
    // Only zip-shaped inputs go to disk: a plain file runs the same engine as
    // above, and a write per run would slow everything else down.
    if data.starts_with(b"PK\x03\x04") {
        let path = scratch().path().join("run.zip");
        std::fs::write(&path, data).expect("write scratch file");
        if let Ok(a) = analyze_path(&path, &opts) {
            assert!(a.failures.len() <= opts.max_failures);
            assert!(a.excerpt.lines().count() <= 2 * opts.excerpt_budget_lines);
        }
    }
});
