mod categories;
mod corpora;
mod eval_cli;
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

/// `../shared/corpora` beside the checkout, or `SELFHEAL_CORPORA`: the real,
/// hand-labelled logs. Not part of the repository, so a test that needs
/// them fails with a hint when they are missing.
pub(crate) fn corpora() -> PathBuf {
    let path = std::env::var_os("SELFHEAL_CORPORA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    );
    assert!(
        path.is_dir(),
        "corpora folder {} not found\nhint: put the shared corpora beside the checkout or set SELFHEAL_CORPORA",
        path.display()
    );
    path
}
