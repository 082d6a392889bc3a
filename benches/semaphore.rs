//! Semaphore beside tokio's and a Mutex+Condvar semaphore.
//!
//! `try_acquire` + release (against tokio's synchronous `try_acquire`) and
//! blocking acquire + release (against Mutex+Condvar) at n threads, with 1
//! permit and with n/2.
//!
//! `cargo bench --bench semaphore`; `FREELANE_THREADS=1,2,8` picks the thread
//! counts and `FREELANE_UNPINNED=1` unpins the threads. The workloads are in
//! `benches/workloads/mod.rs`, shared with `examples/contention`.

#[path = "workloads/mod.rs"]
mod workloads;

#[path = "workloads/criterion.rs"]
mod glue;

fn benches(c: &mut criterion::Criterion) {
    glue::bench_workloads(c, "semaphore/");
}

criterion::criterion_group! {
    name = group;
    config = glue::criterion();
    targets = benches
}
criterion::criterion_main!(group);
