//! `SegmentedQueue` frees drained segments while it is in use, not only when
//! dropped: a 2 M push/pop stream holds bounded memory.
//!
//! Its own test binary because it installs a counting global allocator, and
//! it holds exactly one test so that no other test's allocations blur the
//! numbers.
//!
//! Phase 1: one pusher and one popper stream two million values through the
//! queue, the pusher waiting while the queue is deeper than [`DEPTH_LIMIT`].
//! If drained segments were freed only when the queue drops, live memory
//! would grow by a segment per `SEGMENT_LEN` pushes (about 32 MB for 2 M
//! `u64`s at 16 bytes a slot); the ceiling is far below that.
//!
//! Phase 2: a burst of [`BURST`] pushes, all popped, then a stream of pairs
//! to let the epoch advance: live memory falls back below
//! [`AFTER_BURST_CEILING`], so the burst's segments were freed.

mod support;

use core::sync::atomic::Ordering::SeqCst;

use support::counting_alloc::{self, CountingAllocator, LIVE, Measured, TOTAL};
use support::unbounded;

use freelane::SegmentedQueue;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The pusher waits while the queue holds more than this many values, so the
/// bound below measures reclamation, not backlog.
const DEPTH_LIMIT: usize = 4096;

/// An absolute ceiling on live bytes during the stream, far below the 32 MB
/// that 2 M unreclaimed slots would take.
const LIVE_CEILING: usize = 4 << 20;

/// Values pushed at once in phase 2: 3.2 MB of slots.
const BURST: usize = 200_000;

/// Live bytes allowed above the start after the burst drained and the epoch
/// moved on: a few segments awaiting their grace period and crossbeam-epoch's
/// bookkeeping, far below the burst's 3.2 MB.
const AFTER_BURST_CEILING: usize = 1 << 20;

// Under Miri, crossbeam-epoch's configuration retires faster than it
// collects (see tests/ms_queue_memory.rs); the bound is a property of the
// real build. Miri checks the queue's memory safety in
// tests/segmented_queue.rs.
#[test]
#[cfg_attr(
    miri,
    ignore = "crossbeam-epoch's Miri configuration retires faster than it collects"
)]
fn drained_segments_are_freed_while_the_queue_is_in_use() {
    let pushes = support::scaled(2_000_000);
    let queue = SegmentedQueue::new();

    let Measured {
        live_before,
        peak,
        allocations,
    } = counting_alloc::measure(|| unbounded::stream(&queue, pushes, DEPTH_LIMIT));
    let total = TOTAL.load(SeqCst);
    eprintln!(
        "phase 1: {pushes} pushes, {allocations} allocations ({total} B in total), peak {peak} B live above the {live_before} B at the start"
    );
    assert!(
        total
            > (pushes / SegmentedQueue::<u64>::SEGMENT_LEN)
                * 8
                * SegmentedQueue::<u64>::SEGMENT_LEN
                / 2,
        "{total} B allocated in all for {pushes} pushes: the counting allocator is not in use"
    );
    assert!(
        peak < LIVE_CEILING,
        "peak live memory {peak} B exceeds {LIVE_CEILING} B: drained segments are not freed during use"
    );

    let settle =
        |queue: &SegmentedQueue<u64>| unbounded::push_pop_pairs(queue, support::scaled(200_000));
    for i in 0..BURST as u64 {
        queue.push(i);
    }
    let during_burst = LIVE.load(SeqCst).saturating_sub(live_before);
    for i in 0..BURST as u64 {
        assert_eq!(queue.pop(), Some(i));
    }
    settle(&queue);
    let after_burst = LIVE.load(SeqCst).saturating_sub(live_before);
    eprintln!("phase 2: {during_burst} B live with {BURST} queued, {after_burst} B after draining");
    assert!(
        during_burst > BURST * 8,
        "{during_burst} B live with {BURST} u64s queued: the counting allocator is not in use"
    );
    assert!(
        after_burst < AFTER_BURST_CEILING,
        "{after_burst} B still live after the burst drained (ceiling {AFTER_BURST_CEILING} B): segments were not freed"
    );
}
