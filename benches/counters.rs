//! Counters beside their peers: n threads increment one counter.
//!
//! `AtomicCounter` and `ShardedCounter` beside `AtomicU64::fetch_add` and
//! `Mutex<u64>`.
//!
//! `cargo bench --bench counters`; `FREELANE_THREADS=1,2,8` picks the thread
//! counts and `FREELANE_UNPINNED=1` unpins the threads. The workloads are in
//! `benches/workloads/mod.rs`, shared with `examples/contention`.

#[path = "workloads/mod.rs"]
mod workloads;

#[path = "workloads/criterion.rs"]
mod glue;

fn benches(c: &mut criterion::Criterion) {
    glue::bench_workloads(c, "counter/");
}

criterion::criterion_group! {
    name = group;
    config = glue::criterion();
    targets = benches
}
criterion::criterion_main!(group);
