//! Rate limiters beside their peer: n threads call `try_acquire` on one
//! limiter.
//!
//! freelane's `RateLimiter` beside governor's direct limiter, under a quota
//! that grants every call and under one that is exhausted (denials only).
//!
//! `cargo bench --bench rate_limiter`; `FREELANE_THREADS=1,2,4` picks the
//! thread counts and `FREELANE_UNPINNED=1` unpins the threads. The workloads
//! are in `benches/workloads/rate_limit.rs`, shared with
//! `examples/contention`.

#[path = "workloads/mod.rs"]
mod workloads;

#[path = "workloads/criterion.rs"]
mod glue;

fn benches(c: &mut criterion::Criterion) {
    glue::bench_workloads(c, "ratelimit/");
}

criterion::criterion_group! {
    name = group;
    config = glue::criterion();
    targets = benches
}
criterion::criterion_main!(group);
