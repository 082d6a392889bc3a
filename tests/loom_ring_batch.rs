//! Loom models of the RingBuffer's batches: `try_push_many` and
//! `try_pop_many` claim a run of slots with one compare-and-swap, then write
//! or read each slot and publish it by its stamp. These models race a run
//! against single operations, another run and `close`, on capacity 2, where
//! a run meets the full and the empty edge within a few steps.
//!
//! What each asserts: every payload exactly once (taken, left in the
//! caller's `Vec`, or drained), every thread's takings in FIFO order, the
//! values left in the `Vec` the unclaimed suffix in order, and each payload
//! dropped exactly once. A run that published a slot before writing it, or
//! claimed a slot still in use, shows up as a loom data race on the slot's
//! cell; a lost value as a failed count.
//!
//! Built only with `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom"`;
//! run: `.ci/stages/loom.sh loom_ring_batch`.
#![cfg(freelane_loom)]
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use freelane::RingBuffer;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use loom::thread;

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::model;

/// A payload that counts its drops (Relaxed: see `tests/loom.rs`).
struct Tracked {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Relaxed);
    }
}

fn batch(ids: core::ops::Range<usize>, drops: &Arc<Vec<AtomicUsize>>) -> Vec<Tracked> {
    ids.map(|id| Tracked {
        id,
        drops: Arc::clone(drops),
    })
    .collect()
}

fn drop_counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn assert_each_dropped_once(drops: &[AtomicUsize]) {
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(
            count.load(Relaxed),
            1,
            "payload {id} dropped {count:?} times"
        );
    }
}

fn ids(values: &[Tracked]) -> Vec<usize> {
    values.iter().map(|value| value.id).collect()
}

/// Capacity 2, empty: a pusher's `try_push_many([0, 1, 2])` races the main
/// thread's `try_pop_many(2)`. The pusher's accepted values are a prefix of
/// its batch (at least 2: the ring starts empty), the rest stay in its `Vec`
/// in order, the pop takes a prefix of what went in, and what is left
/// drains after it, in order.
#[test]
fn ring_push_many_races_pop_many() {
    model(2, 2, |order| {
        let drops = drop_counters(3);
        let ring = Arc::new(RingBuffer::new(2));
        let pusher = {
            let ring = Arc::clone(&ring);
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                order.start(1);
                let mut items = batch(0..3, &drops);
                let pushed = ring.try_push_many(&mut items);
                (pushed, ids(&items))
            })
        };
        order.start(0);
        let mut out = Vec::new();
        let taken = ring.try_pop_many(&mut out, 2);
        assert_eq!(taken, out.len(), "count and appended values disagree");
        let (pushed, left) = pusher.join().unwrap();
        assert!(
            pushed >= 2,
            "an empty ring of capacity 2 took {pushed} of 3"
        );
        assert_eq!(left, (pushed..3).collect::<Vec<_>>(), "the rest, in order");
        let mut rest = Vec::new();
        ring.try_pop_many(&mut rest, 3);
        let all: Vec<usize> = ids(&out).into_iter().chain(ids(&rest)).collect();
        assert_eq!(all, (0..pushed).collect::<Vec<_>>(), "FIFO, each once");
        drop((out, rest, ring));
        assert_each_dropped_once(&drops);
    });
}

/// Capacity 2, full with 0 and 1: two `try_pop_many(2)` race. Each takes a
/// run in FIFO order, together they take both values, and neither takes one
/// twice; then a `try_push_many` refills the ring past the slots the runs
/// emptied.
#[test]
fn ring_two_pop_many_runs_share_a_full_ring() {
    model(2, 2, |order| {
        let drops = drop_counters(4);
        let ring = Arc::new(RingBuffer::new(2));
        assert_eq!(ring.try_push_many(&mut batch(0..2, &drops)), 2);
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                let mut out = Vec::new();
                ring.try_pop_many(&mut out, 2);
                ids(&out)
            })
        };
        order.start(0);
        let mut out = Vec::new();
        ring.try_pop_many(&mut out, 2);
        let mine = ids(&out);
        let theirs = popper.join().unwrap();
        assert!(
            mine.is_sorted() && theirs.is_sorted(),
            "{mine:?} {theirs:?}"
        );
        let mut all: Vec<usize> = mine.iter().chain(&theirs).copied().collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1], "mine {mine:?}, theirs {theirs:?}");
        assert!(ring.is_empty());
        let mut items = batch(2..4, &drops);
        assert_eq!(ring.try_push_many(&mut items), 2, "an emptied ring refused");
        let mut rest = Vec::new();
        assert_eq!(ring.try_pop_many(&mut rest, 2), 2);
        assert_eq!(ids(&rest), [2, 3]);
        drop((out, rest, ring));
        assert_each_dropped_once(&drops);
    });
}

/// Capacity 2: a pusher's `try_push_many([0, 1])` races `close`. Whatever
/// went in is a prefix of the batch and drains after close; the rest stay
/// in the `Vec`; a second `try_push_many` after the join takes nothing.
#[test]
fn ring_push_many_races_close() {
    model(2, 2, |order| {
        let drops = drop_counters(3);
        let ring = Arc::new(RingBuffer::new(2));
        let pusher = {
            let ring = Arc::clone(&ring);
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                order.start(1);
                let mut items = batch(0..2, &drops);
                let pushed = ring.try_push_many(&mut items);
                (pushed, ids(&items))
            })
        };
        order.start(0);
        assert!(ring.close());
        let (pushed, left) = pusher.join().unwrap();
        assert_eq!(left, (pushed..2).collect::<Vec<_>>(), "the rest, in order");
        let mut late = batch(2..3, &drops);
        assert_eq!(ring.try_push_many(&mut late), 0, "took a value after close");
        assert_eq!(ids(&late), [2]);
        let mut out = Vec::new();
        ring.try_pop_many(&mut out, 3);
        assert_eq!(
            ids(&out),
            (0..pushed).collect::<Vec<_>>(),
            "drained in order"
        );
        assert!(matches!(ring.try_pop(), Err(freelane::PopError::Closed)));
        drop((out, late, ring));
        assert_each_dropped_once(&drops);
    });
}
