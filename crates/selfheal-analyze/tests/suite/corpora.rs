//! Accuracy floors on the real, hand-labelled logs of `../shared/corpora`.
//!
//! The corpora are not part of the repository: the path comes from
//! `SELFHEAL_CORPORA` (default: the shared folder next to the checkout) and
//! the tests skip, saying so, when it is absent. The full figures come from
//! `cargo run --release -p selfheal-analyze --bin selfheal-eval`; these
//! floors only catch a regression, on a cheap subset in debug builds.

use std::path::PathBuf;

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_types::LineSpan;

fn corpora() -> Option<PathBuf> {
    let path = std::env::var_os("SELFHEAL_CORPORA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    );
    if path.is_dir() {
        Some(path)
    } else {
        skip(&path);
        None
    }
}

#[allow(clippy::print_stderr)] // the only way a skipped test can say why
fn skip(path: &std::path::Path) {
    eprintln!(
        "skipped: corpora folder {} not found (set SELFHEAL_CORPORA)",
        path.display()
    );
}

fn top_hits(log: &std::path::Path, truth: &[LineSpan]) -> bool {
    let a = analyze_path(log, &AnalyzeOptions::default()).expect("corpus log reads");
    a.primary()
        .is_some_and(|f| truth.iter().any(|t| t.overlaps(&f.log_span)))
}

#[test]
fn cidiff_top_failure_hits_the_marked_error_lines() {
    let Some(root) = corpora() else { return };
    let data = root.join("cidiff/data");
    let mut dirs = vec![data.clone()];
    let (mut n, mut hits) = (0u32, 0u32);
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("readable corpus") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            }
        }
        let Ok(gt) = std::fs::read_to_string(d.join("groundtruth")) else {
            continue;
        };
        let truth: Vec<LineSpan> = gt
            .lines()
            .filter_map(|l| l.strip_prefix("E "))
            .filter_map(|r| {
                let (a, b) = r.trim().split_once('-').unwrap_or((r.trim(), r.trim()));
                Some(LineSpan::new(a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        if truth.is_empty() || !d.join("fail.log").is_file() {
            continue;
        }
        n += 1;
        hits += u32::from(top_hits(&d.join("fail.log"), &truth));
    }
    assert!(n > 50, "expected the CiDiff pairs, found {n}");
    let rate = f64::from(hits) / f64::from(n);
    assert!(rate >= 0.85, "CiDiff hit@1 fell to {rate:.3} ({hits}/{n})");
}

#[test]
fn logchunks_top_failure_hits_the_labelled_chunk() {
    let Some(root) = corpora() else { return };
    let root = root.join("logchunks");
    let labels = std::fs::read_to_string(root.join("labels.jsonl")).expect("labels");
    let (mut n, mut hits) = (0u32, 0u32);
    // Every third log keeps a debug-build run short.
    for line in labels.lines().step_by(3) {
        let row: serde_json::Value = serde_json::from_str(line).expect("label json");
        let log = root.join(row["log_path"].as_str().unwrap_or_default());
        if !log.is_file() {
            continue;
        }
        let span = LineSpan::new(
            row["chunk_start_line"].as_u64().unwrap_or(0),
            row["chunk_end_line"].as_u64().unwrap_or(0),
        );
        n += 1;
        hits += u32::from(top_hits(&log, &[span]));
    }
    assert!(n > 100, "expected LogChunks logs, found {n}");
    let rate = f64::from(hits) / f64::from(n);
    assert!(
        rate >= 0.65,
        "LogChunks hit@1 fell to {rate:.3} ({hits}/{n})"
    );
}
