//! Loom models: every structure explored interleaving by interleaving.
//!
//! Built only with `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom"`,
//! under which the crate's `sync` module re-exports loom's atomics, cells,
//! `Arc`, mutex and park/unpark, and crossbeam-epoch models its own epoch
//! machinery, so MsQueue's reclamation runs inside the model too. Loom runs
//! each model body once per interleaving (up to a preemption bound) and per
//! permitted weak-memory outcome; it fails a model on a failed assertion, a
//! data race on a loom `UnsafeCell` (a missing Release/Acquire pair shows up
//! here: the ring and the queue move values through such cells), a leak of a
//! loom `Arc`, or a deadlock (a parked thread nobody wakes: a lost wake-up).
//!
//! Each model: 2-3 threads, capacity 1-2, a few operations, at least one
//! assertion that an incorrect implementation can fail, and a preemption
//! bound chosen so the whole file runs in a few minutes in release mode. The
//! bound is set per model ([`model`]); `LOOM_MAX_PREEMPTIONS`, if set, can
//! only lower it (a quick smoke pass), never raise it past what CI can afford.
//!
//! Sections: MsQueue; counters. The RingBuffer's models are in
//! `tests/loom_ring.rs`, the semaphore's in `tests/loom_semaphore.rs`.
//!
//! Run: `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom" cargo test
//! --release --test loom` (see `.ci/stages/loom.sh`).
#![cfg(freelane_loom)]
// Test code uses the `std` paths users write.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use freelane::{AtomicCounter, MsQueue, ShardedCounter};
use loom::sync::Arc;
use loom::thread;

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::{assert_each_dropped_once, drop_counters, model, model_heavy, tracked};

// ---------------------------------------------------------------- MsQueue --

/// Two pushers and a popper: pusher 1 pushes 0 then 1, pusher 2 pushes 2,
/// the main thread pops once meanwhile, then drains. A pusher that finds the
/// tail lagging (another pusher linked its node but has not swung the tail
/// yet) must help it along; a popper about to pass the tail helps too.
/// Asserts conservation (each item exactly once), pusher 1's items in its
/// order, and `len` never above the number of items pushed.
///
/// Bound 1, and only two starting orders (main first, pushers first): three
/// threads pinning through the epoch machinery take minutes at bound 2. One
/// preemption still covers a pusher stopped between linking its node and
/// swinging the tail (the helping case). CI explores main first (about
/// 160 000 executions); pushers first adds 850 000 (about two minutes on
/// two cores) and runs with `FREELANE_LOOM_FULL=1`. Two pushers racing, with
/// the helping case, stay in CI through
/// `ms_queue_cached_nodes_go_back_through_the_epoch`.
#[test]
fn ms_queue_two_pushers_one_popper_fifo_per_producer() {
    model_heavy(1, 2, &[0], |order| {
        let queue = Arc::new(MsQueue::new());
        let pusher_1 = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                order.start(1);
                queue.push(0);
                queue.push(1);
            })
        };
        let pusher_2 = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                order.start(1);
                queue.push(2);
            })
        };
        order.start(0);
        let mut popped = Vec::new();
        popped.extend(queue.pop());
        assert!(queue.len() <= 3, "len {} with 3 pushed", queue.len());
        pusher_1.join().unwrap();
        pusher_2.join().unwrap();
        popped.extend(std::iter::from_fn(|| queue.pop()));
        assert_eq!(queue.len(), 0);

        let ones: Vec<_> = popped.iter().copied().filter(|&item| item < 2).collect();
        assert_eq!(ones, [0, 1], "pusher 1's items out of order: {popped:?}");
        popped.sort_unstable();
        assert_eq!(popped, [0, 1, 2], "items lost or duplicated");
    });
}

/// Two poppers race for the one element in the queue: exactly one gets it,
/// and the queue is empty afterwards.
///
/// The element is pushed before the popper is spawned: with the push racing
/// too (three threads) the model took minutes even at bound 1. The
/// push-versus-pop race is covered by the models around this one.
#[test]
fn ms_queue_two_poppers_one_element() {
    model(2, 2, |order| {
        let queue = Arc::new(MsQueue::new());
        queue.push(7);
        let popper = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                order.start(1);
                queue.pop()
            })
        };
        order.start(0);
        let mine = queue.pop();
        let theirs = popper.join().unwrap();
        let all: Vec<_> = mine.into_iter().chain(theirs).collect();
        assert_eq!(all, [7], "popped {mine:?} and {theirs:?}");
        assert!(queue.is_empty());
        assert_eq!(queue.len(), 0);
    });
}

/// Reclamation: a pusher pushes two droppable payloads while a popper pops
/// (and drops) one. Popped nodes go to the epoch collector, whose deferred
/// destruction runs inside the model (crossbeam-epoch is loom-aware here);
/// the queue, dropped at the end of the model, drops what is left. Asserts
/// FIFO for the popped one and each payload dropped exactly once; loom checks
/// the node's value cell, so a pop that read a value without the push's
/// Release, or a node freed while still read, fails here too.
#[test]
fn ms_queue_reclamation_drops_each_payload_once() {
    model(2, 2, |order| {
        let drops = drop_counters(2);
        let queue = Arc::new(MsQueue::new());
        let pusher = {
            let queue = Arc::clone(&queue);
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                order.start(1);
                queue.push(tracked(0, &drops));
                queue.push(tracked(1, &drops));
            })
        };
        order.start(0);
        let popped = queue.pop();
        if let Some(first) = &popped {
            assert_eq!(first.id, 0, "FIFO: the first pop returns the first push");
        }
        drop(popped);
        pusher.join().unwrap();
        drop(queue);
        assert_each_dropped_once(&drops);
    });
}

/// Recycling: popped nodes go back to the queue's pool a batch at a time
/// (two nodes per batch under loom) once the epoch has moved past every pin
/// that could see them, and pushes take their nodes from there. The prelude,
/// on the main thread alone, retires one batch and flushes the collector
/// until the epoch has advanced far enough for the batch to reach the pool.
/// Then two pushers race to take those two nodes (main only waits: with it
/// popping too the model took over a minute).
/// Loom checks each node's value cell: two pushers handed the same node, or
/// a pusher writing a value before the node's previous pop finished reading
/// it, is a data race here. Asserts every value comes out exactly once.
#[test]
fn ms_queue_recycled_nodes_carry_each_value_once() {
    model(1, 3, |order| {
        let queue = Arc::new(MsQueue::new());
        // The sentinel (index 0) and the node of 10 (index 1) form the first
        // batch; the second pop unlinks its last node and defers it.
        queue.push(10);
        queue.push(11);
        assert_eq!(queue.pop(), Some(10));
        assert_eq!(queue.pop(), Some(11));
        for _ in 0..3 {
            crossbeam_epoch::pin().flush();
        }
        let pushers: Vec<_> = [20, 30]
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || {
                    order.start(i + 1);
                    queue.push(value);
                })
            })
            .collect();
        for pusher in pushers {
            pusher.join().unwrap();
        }
        let mut popped: Vec<i32> = std::iter::from_fn(|| queue.pop()).collect();
        popped.sort_unstable();
        assert_eq!(popped, [20, 30], "values lost or duplicated");
    });
}

/// The pushers' caches of free nodes. The prelude retires two batches (two
/// nodes each under loom) and flushes until both are in the pool. Then one
/// thread pushes three values through a handle (the first takes a chain and
/// keeps its second node, the second uses that node from the cache, the
/// third takes the other chain) and drops the handle, which hands the node
/// it still keeps back through the epoch; meanwhile another thread pushes
/// with plain `push` (under loom, a cache for that one call: it takes a
/// chain if one is left, else allocates, and hands the rest back at once).
/// Main then flushes, so that the returned nodes can reach the pool, and
/// pushes once more. Loom checks each node's value cell: a node handed to
/// two pushers, or written while an earlier user still reads it, is a data
/// race here. Asserts every value comes out exactly once.
#[test]
fn ms_queue_cached_nodes_go_back_through_the_epoch() {
    model(1, 3, |order| {
        let queue = Arc::new(MsQueue::new());
        for value in 10..14 {
            queue.push(value);
        }
        for value in 10..14 {
            assert_eq!(queue.pop(), Some(value));
        }
        for _ in 0..3 {
            crossbeam_epoch::pin().flush();
        }
        let through_handle = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                order.start(1);
                let handle = queue.handle();
                for value in 20..23 {
                    handle.push(value);
                }
            })
        };
        let plain = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                order.start(2);
                queue.push(30);
            })
        };
        through_handle.join().unwrap();
        plain.join().unwrap();
        for _ in 0..3 {
            crossbeam_epoch::pin().flush();
        }
        queue.push(40);
        let mut popped: Vec<i32> = std::iter::from_fn(|| queue.pop()).collect();
        popped.sort_unstable();
        assert_eq!(popped, [20, 21, 22, 30, 40], "values lost or duplicated");
    });
}

// --------------------------------------------------------------- counters --

/// Two `checked_sub(1)` on a counter of 1 race an `increment`: a subtraction
/// never takes the counter below zero, each success subtracted from a value
/// that was really there, and the final value accounts for every success.
#[test]
fn atomic_counter_checked_sub_races_increment() {
    model(2, 3, |order| {
        let counter = Arc::new(AtomicCounter::new(1));
        let subtractors: Vec<_> = (1..=2)
            .map(|me| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    order.start(me);
                    counter.checked_sub(1)
                })
            })
            .collect();
        order.start(0);
        let before = counter.increment();
        assert!(before <= 1, "increment saw {before}");
        let results: Vec<_> = subtractors.into_iter().map(|s| s.join().unwrap()).collect();
        let successes = results.iter().flatten().count() as u64;
        assert!(successes >= 1, "the initial 1 was there for the first");
        for previous in results.iter().flatten() {
            assert!((1..=2).contains(previous), "subtracted from {previous}");
        }
        assert_eq!(counter.get(), 2 - successes, "results {results:?}");
    });
}

/// Two incrementers and a `fetch_add(2)`: no increment is lost, and the
/// values returned are those of one order of the three updates.
#[test]
fn atomic_counter_concurrent_increments() {
    model(2, 3, |order| {
        let counter = Arc::new(AtomicCounter::new(0));
        let incrementers: Vec<_> = (1..=2)
            .map(|me| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    order.start(me);
                    counter.increment()
                })
            })
            .collect();
        order.start(0);
        let mut seen = vec![counter.fetch_add(2)];
        seen.extend(incrementers.into_iter().map(|i| i.join().unwrap()));
        assert_eq!(counter.get(), 4);
        seen.sort_unstable();
        assert!(
            seen == [0, 1, 2] || seen == [0, 1, 3] || seen == [0, 2, 3],
            "returned {seen:?}"
        );
    });
}

/// Two shards, two adders (one per thread, so possibly on different shards)
/// and a `reset` from the main thread: what `reset` returned plus what is
/// left always equals everything added. An add is never lost nor counted
/// twice, though it may land on either side of the reset.
#[test]
fn sharded_counter_reset_conserves_adds() {
    model(2, 3, |order| {
        let counter = Arc::new(ShardedCounter::with_shards(2));
        let adders: Vec<_> = [(1, 1), (2, 10)]
            .into_iter()
            .map(|(me, n)| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    order.start(me);
                    counter.add(n);
                    counter.add(n);
                })
            })
            .collect();
        order.start(0);
        let taken = counter.reset();
        assert!(
            [0, 1, 2, 10, 11, 12, 20, 21, 22].contains(&taken),
            "reset took {taken}, not a sum of whole adds"
        );
        for adder in adders {
            adder.join().unwrap();
        }
        assert_eq!(taken + counter.sum(), 22);
    });
}
