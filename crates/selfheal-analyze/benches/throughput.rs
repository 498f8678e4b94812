//! Throughput of `analyze_reader` on generated GitHub Actions logs: a large
//! one (the failure at the very end, after a long build) and a typical 5 MB
//! job log. Compare with `grep -ciE 'error|fail|exception'` on the same
//! bytes (see the crate README figures in the closing report).

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selfheal_analyze::{AnalyzeOptions, analyze_reader};

/// Lines a busy CI job prints; a few mention errors without failing.
const NOISE: &[&str] = &[
    "Collecting requests>=2.31 (from shop==0.1.0)",
    "  Downloading requests-2.31.0-py3-none-any.whl.metadata (4.6 kB)",
    "tests/test_cart.py::test_add_item PASSED                                  [ 12%]",
    "   Compiling serde_json v1.0.120",
    "[INFO] Building jar: /home/runner/work/app/app/target/app-1.0.jar",
    "ok  \tgithub.com/acme/app/internal/store\t0.412s",
    "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
    "gcc -O2 -Wall -Werror -c src/parser.c -o build/parser.o",
    "  \u{2713} renders the error banner when the request fails (12 ms)",
    "DEBUG: retrying connection to cache server (attempt 1)",
    "Requirement already satisfied: idna<4,>=2.5 in /opt/hostedtoolcache/Python/3.12.3/x64/lib/python3.12/site-packages",
    "test result: ok. 42 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.31s",
];

const FAILURE: &str =
    "=================================== FAILURES ===================================
_________________________________ test_discount _________________________________

    def test_discount():
>       assert apply_discount(100, 0.1) == 90
E       assert 90.00000000000001 == 90

tests/test_discount.py:5: AssertionError
=========================== short test summary info ============================
FAILED tests/test_discount.py::test_discount - assert 90.00000000000001 == 90
1 failed, 2 passed in 0.04s
##[error]Process completed with exit code 1.
";

/// A GitHub Actions job log of about `bytes` bytes ending in a pytest failure.
fn job_log(bytes: usize) -> Vec<u8> {
    let mut out = String::with_capacity(bytes + 4096);
    out.push_str("2026-11-25T10:00:00.0000000Z ##[group]Run make test\n");
    // A fixed-step generator, not a random one: the bench must be reproducible.
    let mut i = 0usize;
    while out.len() < bytes {
        let line = NOISE[(i * 7 + i / 13) % NOISE.len()];
        let _ = writeln!(
            out,
            "2026-11-25T10:{:02}:{:02}.{:07}Z {line}",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            i % 10_000_000
        );
        i += 1;
    }
    for line in FAILURE.lines() {
        let _ = writeln!(out, "2026-11-25T11:00:00.0000000Z {line}");
    }
    out.into_bytes()
}

fn throughput(c: &mut Criterion) {
    let opts = AnalyzeOptions::default();
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    for (name, size) in [("typical_5mb", 5 << 20), ("large_64mb", 64 << 20)] {
        let log = job_log(size);
        group.throughput(Throughput::Bytes(log.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let a = analyze_reader(&log[..], name, &opts).expect("in-memory read");
                assert_eq!(a.failures.len(), 1);
                a
            });
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
