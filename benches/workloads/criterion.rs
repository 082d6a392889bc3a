//! Criterion glue: every workload of the catalog whose id starts with a
//! prefix, as one criterion group per workload and one benchmark per
//! structure and thread count.
//!
//! One criterion iteration is one operation of the workload (a pair, an
//! element moved, an increment, an acquire/release, a round trip), so the
//! reported throughput is in those per second. Runs are short by default
//! (10 samples, 0.8 s each benchmark) so `cargo bench` finishes in a few
//! minutes on 2 cores; criterion's own `--measurement-time` and
//! `--sample-size` flags lengthen them.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};

use crate::workloads::{Run, Stop, catalog, pinned_by_default, thread_counts};

/// Criterion with the short defaults, then the command line's flags.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(800))
        .configure_from_args()
}

/// Benchmarks every workload whose id starts with `prefix`.
pub fn bench_workloads(c: &mut Criterion, prefix: &str) {
    let selected = thread_counts();
    let pinned = pinned_by_default();
    for workload in catalog().into_iter().filter(|w| w.id.starts_with(prefix)) {
        let mut group = c.benchmark_group(workload.id);
        group.throughput(Throughput::Elements(1));
        for threads in workload.threads.counts(&selected) {
            for case in &workload.cases {
                let id = BenchmarkId::new(case.structure, threads);
                group.bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        let run = Run {
                            threads,
                            pinned,
                            stop: Stop::Ops(iters),
                        };
                        (case.run)(&run).elapsed
                    })
                });
            }
        }
        group.finish();
    }
}
