//! `MsQueue` reclaims popped nodes while it is in use, not only when dropped,
//! recycles them instead of allocating one per push, and gives memory back
//! on request.
//!
//! Its own test binary because it installs a counting global allocator, and
//! it holds exactly one test so that no other test's allocations run at the
//! same time and blur the numbers.
//!
//! Phase 1: one pusher and one popper stream a million values through the
//! queue, the pusher waiting while the queue is deeper than [`DEPTH_LIMIT`],
//! so the queue itself never holds more than a few KiB. If popped nodes were
//! freed only when the queue is dropped, live memory would grow by one node
//! per push (32 MB for a million `u64` pushes on a 64-bit target); if they
//! were not recycled, there would be one allocation per push.
//!
//! Phase 2: a burst of [`BURST`] pushes, all popped, twice: the second burst
//! takes the first one's nodes from the pool instead of allocating.
//!
//! Phase 3: `shrink_to_fit` frees the pooled nodes, and live memory falls back
//! far below the burst's.
//!
//! Phase 4: a million push+pop pairs in the steady state allocate only
//! crossbeam-epoch's bags (about one per 2048 pops), nothing per element.
//!
//! Phase 5: short-lived threads that push and exit hand their cached nodes
//! back: live memory does not grow with their number.
//!
//! Phase 6: a queue dropped while another thread caches a chain of its nodes
//! frees its pool at once, not when that thread exits.

mod support;

use core::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, mpsc};
use std::thread;

use support::counting_alloc::{self, ALLOCATIONS, CountingAllocator, LIVE, Measured};
use support::unbounded;

use freelane::MsQueue;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The pusher waits while the queue holds more than this many values, so the
/// bound below measures reclamation, not backlog.
const DEPTH_LIMIT: usize = 256;

/// An absolute ceiling on live bytes during the stream, far below the 32 MB
/// that a million unreclaimed nodes would take.
const LIVE_CEILING: usize = 4 << 20;

/// Values pushed at once in phase 2: 6.4 MB of nodes.
const BURST: usize = 200_000;

/// Phase 4's bound: at most one allocation per this many push+pop pairs in
/// the steady state (crossbeam-epoch's sealed bags come one per 2048 pops).
/// Under ThreadSanitizer (`--cfg crossbeam_sanitize`, .ci/stages/tsan.sh)
/// crossbeam-epoch seals a bag every 4 deferred functions instead of 64, and
/// 26 042 allocations per million pairs were measured there: the bound is
/// then one per 16 pairs, still far from one per element.
const STEADY_PAIRS_PER_ALLOCATION: usize = if cfg!(crossbeam_sanitize) { 16 } else { 1024 };

/// Phase 5: threads that push once and exit, one after another.
const THREAD_ROUNDS: usize = 64;

/// Phase 5's bound on live growth over all those threads, a quarter of
/// what their caches would leave behind if they were not handed back at
/// thread exit (64 threads × 31 nodes × 32 B = 62 KiB); measured: 0 B.
const THREADS_CEILING: usize = 16 << 10;

/// Live bytes allowed above the start after `shrink_to_fit`: the batches in
/// flight and crossbeam-epoch's bookkeeping, far below the burst's 6.4 MB.
const AFTER_SHRINK_CEILING: usize = 1 << 20;

// Under Miri, crossbeam-epoch seals a bag every 4 retired nodes (64
// normally) but still frees at most 8 bags per 128 pins, so garbage outpaces
// collection by that configuration's design; the bound is a property of the
// real build. (Miri checks the queue's memory safety in `tests/ms_queue.rs`.)
#[test]
#[cfg_attr(
    miri,
    ignore = "crossbeam-epoch's Miri configuration retires faster than it collects"
)]
fn popped_nodes_are_reclaimed_while_the_queue_is_in_use() {
    let pushes = support::scaled(1_000_000);
    let queue = MsQueue::new();

    let Measured {
        live_before,
        peak,
        allocations,
    } = counting_alloc::measure(|| unbounded::stream(&queue, pushes, DEPTH_LIMIT));
    eprintln!(
        "phase 1: {pushes} pushes, {allocations} allocations, peak {peak} B live above the {live_before} B at the start"
    );
    assert!(
        peak < LIVE_CEILING,
        "peak live memory {peak} B exceeds {LIVE_CEILING} B: popped nodes are not reclaimed during use"
    );
    assert!(
        allocations < pushes / 8,
        "{allocations} allocations for {pushes} pushes: popped nodes are not recycled"
    );

    // Phase 2: a burst, drained, then the same burst again: its nodes are
    // reused, not allocated anew. Pairs in between let the epoch advance and
    // the deferred batch returns run.
    let settle = |queue: &MsQueue<u64>| unbounded::push_pop_pairs(queue, support::scaled(200_000));
    let burst = |queue: &MsQueue<u64>| {
        for i in 0..BURST as u64 {
            queue.push(i);
        }
        for i in 0..BURST as u64 {
            assert_eq!(queue.pop(), Some(i));
        }
    };
    let before_burst = ALLOCATIONS.load(SeqCst);
    burst(&queue);
    let first_burst = ALLOCATIONS.load(SeqCst) - before_burst;
    settle(&queue);
    let kept = LIVE.load(SeqCst).saturating_sub(live_before);
    let before_second = ALLOCATIONS.load(SeqCst);
    burst(&queue);
    let second_burst = ALLOCATIONS.load(SeqCst) - before_second;
    settle(&queue);

    // Phase 3: `shrink_to_fit` gives the pooled nodes back.
    queue.shrink_to_fit();
    settle(&queue);
    let after_shrink = LIVE.load(SeqCst).saturating_sub(live_before);
    eprintln!(
        "phase 2: bursts of {BURST}: {first_burst} then {second_burst} allocations, {kept} B kept; phase 3: {after_shrink} B after shrink_to_fit"
    );
    assert!(
        first_burst >= BURST / 2,
        "{first_burst} allocations for a burst of {BURST}: the counting allocator is not in use"
    );
    assert!(
        second_burst < BURST / 8,
        "{second_burst} allocations for the second burst of {BURST}: the first burst's nodes were not reused"
    );
    assert!(
        after_shrink < AFTER_SHRINK_CEILING,
        "{after_shrink} B still live after shrink_to_fit (ceiling {AFTER_SHRINK_CEILING} B, {kept} B before): the pool was not freed"
    );

    // Phase 4: the steady state allocates nothing of the queue's own: one
    // thread's push+pop pairs take their nodes from the thread's cache and
    // the pool. What remains is crossbeam-epoch's: one allocation per
    // sealed bag of deferred functions (a bag holds 64, and a pop defers
    // one per batch of nodes), about one per 2048 pops.
    let pairs = support::scaled(1_000_000);
    let before_steady = ALLOCATIONS.load(SeqCst);
    unbounded::push_pop_pairs(&queue, pairs);
    let steady = ALLOCATIONS.load(SeqCst) - before_steady;
    eprintln!("phase 4: {pairs} pairs, {steady} allocations");
    assert!(
        steady <= pairs / STEADY_PAIRS_PER_ALLOCATION,
        "{steady} allocations for {pairs} push+pop pairs in the steady state"
    );

    // Phase 5: thread caches. Short-lived threads each take a chain of free
    // nodes into their cache and hand it back when they exit, so live memory
    // does not grow with the number of threads that pushed.
    let before_threads = LIVE.load(SeqCst);
    for round in 0..THREAD_ROUNDS {
        thread::scope(|scope| {
            // Joined explicitly: the scope's own join returns once the
            // closure has, before the thread's thread-local destructors (the
            // cache's hand-back among them) have run, so a thread still
            // exiting, and pinned, could hold the epoch through the
            // measurement below. `join` waits for the thread to be gone.
            scope
                .spawn(|| unbounded::push_pop_pairs(&queue, 8))
                .join()
                .unwrap();
        });
        if round % 8 == 0 {
            settle(&queue);
        }
    }
    settle(&queue);
    let threads_growth = LIVE.load(SeqCst).saturating_sub(before_threads);
    eprintln!("phase 5: {THREAD_ROUNDS} short-lived pushing threads: {threads_growth} B more live");
    assert!(
        threads_growth < THREADS_CEILING,
        "{threads_growth} B more live after {THREAD_ROUNDS} threads pushed and exited: their cached nodes did not come back"
    );

    // Phase 6: a queue dropped while a live thread caches a chain of its
    // nodes. The drop frees the pool's nodes at once; only the cached chain
    // and the pool's header wait for that thread. Then the thread exits and
    // those come back too.
    let before_second = LIVE.load(SeqCst);
    let second = Arc::new(MsQueue::new());
    burst(&second);
    settle(&second);
    let (cached_tx, cached_rx) = mpsc::channel();
    let (exit_tx, exit_rx) = mpsc::channel::<()>();
    let worker = {
        let second = Arc::clone(&second);
        thread::spawn(move || {
            // Takes a chain of the pool's nodes into this thread's cache.
            second.push(7);
            assert_eq!(second.pop(), Some(7));
            drop(second);
            cached_tx.send(()).unwrap();
            exit_rx.recv().unwrap();
        })
    };
    cached_rx.recv().unwrap();
    drop(Arc::into_inner(second).expect("the worker gave its reference up"));
    settle(&queue);
    let while_cached = LIVE.load(SeqCst).saturating_sub(before_second);
    exit_tx.send(()).unwrap();
    worker.join().unwrap();
    settle(&queue);
    let after_exit = LIVE.load(SeqCst).saturating_sub(before_second);
    eprintln!(
        "phase 6: a dropped queue's burst: {while_cached} B live while a thread caches its nodes, {after_exit} B after it exits"
    );
    assert!(
        while_cached < AFTER_SHRINK_CEILING,
        "{while_cached} B live after the queue's drop: its pool waited for the thread caching a chain of it"
    );
    assert!(
        after_exit < AFTER_SHRINK_CEILING,
        "{after_exit} B live after the caching thread exited"
    );
}
