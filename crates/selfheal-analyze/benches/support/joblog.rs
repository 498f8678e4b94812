//! The generated GitHub Actions job log that the throughput benchmarks
//! share: a long, error-dense build (a quarter of its lines mention
//! "error" or "fail" without failing) that ends in a pytest failure.
//! Included by `benches/throughput.rs` and `src/bin/selfheal-speed.rs`.

// Each includer uses one of the two functions.
#![allow(dead_code)]

use std::fmt::Write as _;

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

/// Writes a GitHub Actions job log of about `bytes` bytes ending in a
/// pytest failure, line by line (a 1 GiB log never sits in memory).
pub fn write_job_log(out: &mut impl std::io::Write, bytes: u64) -> std::io::Result<()> {
    let header = "2026-11-25T10:00:00.0000000Z ##[group]Run make test\n";
    out.write_all(header.as_bytes())?;
    let mut written = header.len() as u64;
    let mut line = String::new();
    // A fixed-step generator, not a random one: the bench must be reproducible.
    let mut i = 0usize;
    while written < bytes {
        let noise = NOISE[(i * 7 + i / 13) % NOISE.len()];
        line.clear();
        let _ = writeln!(
            line,
            "2026-11-25T10:{:02}:{:02}.{:07}Z {noise}",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            i % 10_000_000
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    for failure in FAILURE.lines() {
        line.clear();
        let _ = writeln!(line, "2026-11-25T11:00:00.0000000Z {failure}");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// [`write_job_log`] into memory.
pub fn job_log(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 4096);
    write_job_log(&mut out, bytes as u64).expect("writing to memory");
    out
}
