//! Throughput of `Redactor::redact` on a large log: `cargo run --release -p
//! selfheal-redact --example throughput [FILE_OR_DIR] [MB]`.
//!
//! Without an argument it builds a 50 MB log from the shared corpora (or, if
//! they are absent, from synthetic build output), repeating files until the
//! size is reached, and reports MB/s over three rounds.
#![allow(clippy::print_stdout)] // a measuring tool: its output is the point

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use selfheal_redact::Redactor;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let source = args.first().map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    );
    let target_mb: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);
    let target = target_mb * 1024 * 1024;
    let mut files = Vec::new();
    if source.is_dir() {
        collect(&source, &mut files);
    } else if source.is_file() {
        files.push(source.clone());
    }
    files.sort();
    let mut text = String::with_capacity(target + 1024 * 1024);
    let mut i = 0usize;
    while text.len() < target {
        if files.is_empty() {
            let _ = writeln!(
                text,
                "2024-05-01T10:00:{:02}.000Z   Compiling crate-{i} v0.1.{i} (/home/runner/work/app)",
                i % 60
            );
        } else if let Ok(bytes) = std::fs::read(&files[i % files.len()]) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        i += 1;
    }
    let redactor = Redactor::builder()
        .env([(
            "CI_DEPLOY_TOKEN".to_owned(),
            "an-env-secret-value".to_owned(),
        )])
        .build()
        .expect("builds");
    let mb = text.len() as f64 / (1024.0 * 1024.0);
    for round in 0..3 {
        let t = Instant::now();
        let out = redactor.redact(&text);
        let s = t.elapsed().as_secs_f64();
        println!(
            "round {round}: {mb:.1} MB in {s:.3} s = {:.0} MB/s, {} findings",
            mb / s,
            out.findings.len()
        );
    }
}
