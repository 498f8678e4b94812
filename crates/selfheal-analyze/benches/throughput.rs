//! Throughput of `analyze_reader` on generated GitHub Actions logs: a large
//! one (the failure at the very end, after a long build) and a typical 5 MB
//! job log, both error-dense (a quarter of the lines say "error" or "fail"
//! without failing). The 1 GiB comparison with grep is `selfheal-speed`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selfheal_analyze::{AnalyzeOptions, analyze_reader};

#[path = "support/joblog.rs"]
mod joblog;
use joblog::job_log;

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
