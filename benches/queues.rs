//! MsQueue, SegmentedQueue and RingBuffer beside their peers.
//!
//! Push/pop pairs on one thread, 1 producer / 1 consumer on two cores, and
//! n/2 producers with n/2 consumers. MsQueue and SegmentedQueue (the
//! `msqueue/*` groups, one benchmark per structure) against crossbeam's `SegQueue`,
//! concurrent-queue (unbounded) and `Mutex<VecDeque>`; RingBuffer against
//! `ArrayQueue`, concurrent-queue (bounded), std's `sync_channel` and a
//! bounded `Mutex<VecDeque>`.
//!
//! `cargo bench --bench queues`; `FREELANE_THREADS=1,2,8` picks the thread
//! counts and `FREELANE_UNPINNED=1` unpins the threads. The workloads are in
//! `benches/workloads/mod.rs`, shared with `examples/contention`.

#[path = "workloads/mod.rs"]
mod workloads;

#[path = "workloads/criterion.rs"]
mod glue;

fn benches(c: &mut criterion::Criterion) {
    glue::bench_workloads(c, "msqueue/");
    glue::bench_workloads(c, "ring/");
}

criterion::criterion_group! {
    name = group;
    config = glue::criterion();
    targets = benches
}
criterion::criterion_main!(group);
