mod categories;
mod corpora;
mod fallback;
mod flaky;
mod fuzz_regressions;
mod inputs;
mod snapshots;

use std::path::PathBuf;

pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
