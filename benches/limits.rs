//! The physical limits any MPMC structure is measured against.
//!
//! One cache line's round trip between two pinned cores (ping-pong on one
//! atomic), and an SPSC hand-off between them through rtrb; and the
//! core-to-core CAS ping-pong of the report's core-to-core section, on the
//! first two cores (`workloads::latency::core_to_core`, the same code), one
//! criterion iteration per round trip.
//!
//! `cargo bench --bench limits`; `FREELANE_THREADS=1,2,8` picks the thread
//! counts and `FREELANE_UNPINNED=1` unpins the threads. The workloads are in
//! `benches/workloads/mod.rs`, shared with `examples/contention`.

#[path = "workloads/mod.rs"]
mod workloads;

#[path = "workloads/criterion.rs"]
mod glue;

fn benches(c: &mut criterion::Criterion) {
    glue::bench_workloads(c, "limits/");
    core_to_core(c);
}

/// The core-to-core section's CAS ping-pong between the first two cores.
fn core_to_core(c: &mut criterion::Criterion) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let [a, b, ..] = cores[..] else {
        eprintln!("limits/core-to-core: fewer than two cores to pin to, skipped");
        return;
    };
    let mut group = c.benchmark_group("limits/core-to-core");
    group.throughput(criterion::Throughput::Elements(1));
    let id = format!("CAS round trip, cores {} and {}", a.id, b.id);
    group.bench_function(id, |bencher| {
        bencher.iter_custom(|iters| {
            // One sample of `iters` round trips; it returns half a round trip in ns.
            let half = workloads::latency::core_to_core(a, b, iters.max(1), 1)[0];
            std::time::Duration::from_nanos((half * 2.0 * iters as f64) as u64)
        })
    });
    group.finish();
}

criterion::criterion_group! {
    name = group;
    config = glue::criterion();
    targets = benches
}
criterion::criterion_main!(group);
