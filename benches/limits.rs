//! The physical limits any MPMC structure is measured against.
//!
//! One cache line's round trip between two pinned cores (ping-pong on one
//! atomic), and an SPSC hand-off between them through rtrb.
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
}

criterion::criterion_group! {
    name = group;
    config = glue::criterion();
    targets = benches
}
criterion::criterion_main!(group);
