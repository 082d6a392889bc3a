//! Async waits beside their peers on tokio's multi-thread runtime: async
//! acquire + release against tokio's `Semaphore::acquire`, and async ring
//! push/pop against `async-channel` (1 producer / 1 consumer and 2 / 2).
//!
//! `cargo bench --bench async_waits`; `FREELANE_THREADS=1,2,8` picks the
//! thread counts of the semaphore workload. The workloads are in
//! `benches/workloads/async_waits.rs`, shared with `examples/contention`.

#[path = "workloads/mod.rs"]
mod workloads;

#[path = "workloads/criterion.rs"]
mod glue;

fn benches(c: &mut criterion::Criterion) {
    glue::bench_workloads(c, "async/");
}

criterion::criterion_group! {
    name = group;
    config = glue::criterion();
    targets = benches
}
criterion::criterion_main!(group);
