//! Loom models of the RingBuffer: its single operations, `force_push`,
//! `close`, the batches, the blocking layer, and its lock-freedom.
//!
//! Built only with `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom
//! --cfg freelane_pause"` (see `.ci/stages/loom.sh`): the crate's `sync`
//! module then re-exports loom's atomics and cells, and the test-only pause
//! points (`freelane::pause`) are compiled in. Under loom each thread keeps
//! its spare cell (and its last push) per ring in a loom thread-local that
//! stands in for the production one (`cells.rs`, `loom_spares`); the pool
//! of free cells that spares come from is modelled too.
//!
//! What the models assert: every payload exactly once (taken, handed back,
//! left in the caller's `Vec`, or dropped with the ring), FIFO order, the
//! verdicts (`Full`, `Empty`, `Closed`) only when true — the put-back model
//! fills a ring and has every thread take a value and put it back, which
//! must never see `Empty` or `Full` — and, in the **lock-freedom** section,
//! that a thread stopped at a pause point inside a push, a pop, a
//! `force_push` or a `close` does not stop another thread from completing
//! its operations: the stopped thread waits on a `loom::sync::Notify` that
//! the other signals only after finishing, so if the other ever needed the
//! stopped one to take a step, loom reports a deadlock. A cell handed over
//! without a Release/Acquire pair shows up as a loom data race on the cell;
//! a missed wake-up in the blocking models as a deadlock.
//!
//! Sections: helpers; core; batches; blocking; lock-freedom.
#![cfg(freelane_loom)]
// Test code uses the `std` paths users write.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use freelane::pause::{PausePoint, with_hook};
use freelane::{PopError, PushError, RingBuffer};
use loom::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Acquire, Release},
};
use loom::sync::{Arc, Notify};
use loom::thread;

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::{Tracked, assert_each_dropped_once, drop_counters, model, tracked};

// ---------------------------------------------------------------- helpers --

fn batch(ids: core::ops::Range<usize>, drops: &Arc<Vec<AtomicUsize>>) -> Vec<Tracked> {
    ids.map(|id| tracked(id, drops)).collect()
}

// ------------------------------------------------------------------- core --

/// Capacity 1, two pushers and a popper with `try_*`. Each pushed payload is
/// either popped, handed back in `Full`, or dropped with the ring: exactly
/// once. The popper sees a payload only once, and `len` stays within 0..=1.
#[test]
fn ring_capacity_1_try_push_try_pop_conserve() {
    model(2, 3, |order| {
        let drops = drop_counters(2);
        let ring = Arc::new(RingBuffer::new(1));
        let pushers: Vec<_> = (0..2)
            .map(|id| {
                let ring = Arc::clone(&ring);
                let drops = Arc::clone(&drops);
                thread::spawn(move || {
                    order.start(id + 1);
                    match ring.try_push(tracked(id, &drops)) {
                        Ok(()) => true,
                        Err(PushError::Full(back)) => {
                            assert_eq!(back.id, id, "Full handed back another payload");
                            false
                        }
                        Err(PushError::Closed(_)) => panic!("never closed"),
                    }
                })
            })
            .collect();
        order.start(0);
        let popped = match ring.try_pop() {
            Ok(item) => Some(item.id),
            Err(PopError::Empty) => None,
            Err(PopError::Closed) => panic!("never closed"),
        };
        assert!(ring.len() <= 1);
        let accepted = pushers
            .into_iter()
            .map(|pusher| usize::from(pusher.join().unwrap()))
            .sum::<usize>();
        // An empty ring of capacity 1 accepts the first push; the second only
        // if the pop came between them.
        assert!(accepted >= 1, "an empty ring of capacity 1 refused both");
        assert_eq!(accepted, usize::from(popped.is_some()) + ring.len());
        drop(ring);
        assert_each_dropped_once(&drops);
    });
}

/// Capacity 2, full with 0 and 1: `force_push(2)` races a `try_pop`. The
/// displaced payload and the popped one are 0 and 1 (the oldest go first,
/// each to exactly one taker), what is left drains in FIFO order, and every
/// payload is dropped exactly once.
#[test]
fn ring_capacity_2_force_push_races_pop() {
    model(2, 2, |order| {
        let drops = drop_counters(3);
        let ring = Arc::new(RingBuffer::new(2));
        assert!(ring.try_push(tracked(0, &drops)).is_ok());
        assert!(ring.try_push(tracked(1, &drops)).is_ok());
        let forcer = {
            let ring = Arc::clone(&ring);
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                order.start(1);
                let displaced = ring.force_push(tracked(2, &drops)).ok().unwrap();
                displaced.map(|item| item.id)
            })
        };
        order.start(0);
        let popped = ring.try_pop().ok().map(|item| item.id);
        let displaced = forcer.join().unwrap();

        let mut rest = Vec::new();
        while let Ok(item) = ring.try_pop() {
            rest.push(item.id);
        }
        assert!(rest.is_sorted(), "drained out of order: {rest:?}");
        let mut all: Vec<_> = popped.into_iter().chain(displaced).chain(rest).collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2], "popped {popped:?}, displaced {displaced:?}");
        // The full ring had 0 at its head: whoever took first took 0.
        assert!(
            popped == Some(0) || displaced == Some(0),
            "payload 0 was not the first out: popped {popped:?}, displaced {displaced:?}"
        );
        drop(ring);
        assert_each_dropped_once(&drops);
    });
}

/// Capacity 2: a pusher pushes twice while the main thread closes the ring.
/// Once a push fails with `Closed` the next fails too (close is sticky);
/// after close every `try_push` and `force_push` fails with `Closed`, pops
/// drain the accepted payloads in order and then report `Closed` (never
/// `Empty`), and every payload is dropped exactly once.
#[test]
fn ring_close_races_pushes() {
    model(2, 2, |order| {
        let drops = drop_counters(4);
        let ring = Arc::new(RingBuffer::new(2));
        let pusher = {
            let ring = Arc::clone(&ring);
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                order.start(1);
                let mut accepted = Vec::new();
                let mut closed = false;
                for id in 0..2 {
                    match ring.try_push(tracked(id, &drops)) {
                        Ok(()) => {
                            assert!(!closed, "push {id} accepted after a push saw Closed");
                            accepted.push(id);
                        }
                        Err(PushError::Closed(back)) => {
                            assert_eq!(back.id, id);
                            closed = true;
                        }
                        Err(PushError::Full(_)) => panic!("capacity 2 never fills here"),
                    }
                }
                accepted
            })
        };
        order.start(0);
        assert!(ring.close(), "the first close reports the change");
        assert!(
            matches!(ring.try_push(tracked(2, &drops)), Err(PushError::Closed(back)) if back.id == 2)
        );
        assert!(matches!(ring.force_push(tracked(3, &drops)), Err(back) if back.id == 3));
        let accepted = pusher.join().unwrap();

        let mut drained = Vec::new();
        let end = loop {
            match ring.try_pop() {
                Ok(item) => drained.push(item.id),
                Err(error) => break error,
            }
        };
        assert_eq!(end, PopError::Closed, "a closed ring ends with Closed");
        assert_eq!(drained, accepted, "pops drain exactly the accepted pushes");
        assert!(!ring.close(), "a second close reports no change");
        drop(ring);
        assert_each_dropped_once(&drops);
    });
}

/// Capacity 1: a `try_pop` races a `try_push` followed by `close`. The
/// popper sees the pushed value or `Empty`, never `Closed` while the value is
/// still in the ring; afterwards the main thread gets whatever the popper
/// did not, then `Closed`.
#[test]
fn ring_capacity_1_pop_races_push_and_close() {
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                ring.try_pop()
            })
        };
        order.start(0);
        ring.try_push(5).unwrap();
        ring.close();
        let raced = popper.join().unwrap();
        match raced {
            Ok(value) => assert_eq!(value, 5),
            Err(error) => assert_eq!(error, PopError::Empty, "Closed before drained"),
        }
        let after = ring.try_pop();
        match raced {
            Ok(_) => assert_eq!(after, Err(PopError::Closed)),
            Err(_) => assert_eq!(after, Ok(5)),
        }
    });
}

/// Capacity 2, full with 0 and 1: two threads each take a value and put it
/// back. At every moment at least one value is inside and at least one slot
/// free, so no `try_pop` may report `Empty` and no `try_push` `Full` — the
/// case a ring that gives up on a slot still in another thread's hands gets
/// wrong (issue 12's put-back check). Afterwards both values are inside.
#[test]
fn ring_put_back_never_sees_empty_or_full() {
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::new(2));
        ring.try_push(0).unwrap();
        ring.try_push(1).unwrap();
        let put_back = |ring: &RingBuffer<u32>| {
            let value = ring.try_pop().expect("Empty with a value inside");
            ring.try_push(value).expect("Full with a slot free");
        };
        let other = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                put_back(&ring);
            })
        };
        order.start(0);
        put_back(&ring);
        other.join().unwrap();
        let mut all = vec![ring.try_pop().unwrap(), ring.try_pop().unwrap()];
        all.sort_unstable();
        assert_eq!(all, [0, 1]);
        assert_eq!(ring.try_pop(), Err(PopError::Empty));
    });
}

/// Capacity 1: a `force_push` races a pop-and-push-back. The `force_push`
/// never fails (the ring is open) and returns a value only if the ring was
/// full at its step; every value ends up exactly once: returned by the
/// `force_push`, or left in the ring.
#[test]
fn ring_capacity_1_force_push_races_put_back() {
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        ring.try_push(0).unwrap();
        let forcer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                ring.force_push(1).expect("the ring is open")
            })
        };
        order.start(0);
        let popped = ring.try_pop().ok();
        let pushed_back = popped.map(|value| ring.try_push(value).is_ok());
        let displaced = forcer.join().unwrap();
        let mut all: Vec<u32> = displaced.into_iter().collect();
        all.extend(popped.filter(|_| pushed_back == Some(false)));
        all.extend(ring.try_pop().ok());
        all.sort_unstable();
        assert_eq!(all, [0, 1], "popped {popped:?}, displaced {displaced:?}");
        assert_eq!(ring.try_pop(), Err(PopError::Empty));
    });
}

/// Capacity 1: one thread pops twice while another pushes three times, each
/// retrying until the ring lets it. Cells go round: the cell a pop read a
/// value from becomes its spare, goes into the slot with its next pop, and
/// is written by a later push on the other thread. That write must come
/// after the read: the pop's compare-and-swap publishes the emptied cell as
/// a push's publishes a written one (a Relaxed pop shows up here as a loom
/// data race on the cell). Values arrive in order, each once.
#[test]
fn ring_cell_is_rewritten_only_after_its_value_was_read() {
    model(1, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        ring.try_push(0).unwrap();
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                let mut got = Vec::new();
                while got.len() < 2 {
                    match ring.try_pop() {
                        Ok(value) => got.push(value),
                        Err(_) => thread::yield_now(),
                    }
                }
                got
            })
        };
        order.start(0);
        let pusher = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                for value in 1..4 {
                    while ring.try_push(value).is_err() {
                        thread::yield_now();
                    }
                }
            })
        };
        let first = popper.join().unwrap();
        let mut rest = Vec::new();
        while rest.len() < 2 {
            match ring.try_pop() {
                Ok(value) => rest.push(value),
                Err(_) => thread::yield_now(),
            }
        }
        pusher.join().unwrap();
        assert_eq!(first, [0, 1]);
        assert_eq!(rest, [2, 3]);
    });
}

/// A pop that finds the head at its own thread's last push tries its
/// compare-and-swap on the word that push wrote, without a load (`try_pop`;
/// "Cost and sizes" on `RingBuffer`; the loom stand-in for the per-ring
/// thread-local remembers it as production does). Main pushes 0 and pops;
/// another thread pops too. Exactly one of the two pops gets 0, and main's
/// pop reports `Empty` only if the other took it.
#[test]
fn ring_pop_after_own_push_races_another_pop() {
    model(2, 2, |order| {
        let drops = drop_counters(1);
        let ring = Arc::new(RingBuffer::<Tracked>::new(2));
        let other = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                ring.try_pop().ok().map(|item| item.id)
            })
        };
        order.start(0);
        assert!(ring.try_push(tracked(0, &drops)).is_ok());
        let mine = ring.try_pop().ok().map(|item| item.id);
        let theirs = other.join().unwrap();
        match (mine, theirs) {
            (Some(0), None) | (None, Some(0)) => {}
            other => panic!("payload 0 taken by not exactly one pop: {other:?}"),
        }
        assert_eq!(ring.try_pop().ok().map(|item| item.id), None);
        drop(ring);
        assert_each_dropped_once(&drops);
    });
}

/// As above, with a `close` and a `force_push` racing the pop after the
/// push, capacity 1. Whatever they do to the slot the push filled (mark it
/// closed, replace its value), main's pop takes a value if the buffer still
/// holds one: 0, or 1 if the `force_push` replaced 0 (which it hands back).
#[test]
fn ring_pop_after_own_push_races_close_and_force_push() {
    model(2, 3, |order| {
        let drops = drop_counters(2);
        let ring = Arc::new(RingBuffer::<Tracked>::new(1));
        let closer = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                ring.close();
            })
        };
        let forcer = {
            let ring = Arc::clone(&ring);
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                order.start(2);
                match ring.force_push(tracked(1, &drops)) {
                    Ok(displaced) => displaced.map(|item| item.id),
                    // Closed: payload 1 comes back, and is dropped here.
                    Err(back) => {
                        assert_eq!(back.id, 1);
                        None
                    }
                }
            })
        };
        order.start(0);
        let pushed = match ring.try_push(tracked(0, &drops)) {
            Ok(()) => true,
            Err(PushError::Full(back) | PushError::Closed(back)) => {
                assert_eq!(back.id, 0);
                false
            }
        };
        let mine = ring.try_pop();
        closer.join().unwrap();
        let displaced = forcer.join().unwrap();
        if pushed && displaced.is_none() {
            // 0 went in and nobody displaced it: main's pop, the only
            // pop, must have taken it, closed ring or not.
            assert_eq!(mine.as_ref().map(|item| item.id), Ok(0));
        }
        if let Ok(item) = &mine {
            assert_ne!(Some(item.id), displaced, "a payload taken twice");
        }
        drop(mine);
        drop(ring);
        assert_each_dropped_once(&drops);
    });
}

// ---------------------------------------------------------------- batches --

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

// --------------------------------------------------------------- blocking --

/// A blocking `pop` on an empty ring is woken by a `try_push` (loom reports
/// a deadlock if the wake-up is lost) and returns the pushed value.
#[test]
fn ring_blocking_pop_woken_by_push() {
    freelane::loom_support::model_waiters();
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                ring.pop()
            })
        };
        order.start(0);
        ring.try_push(9).unwrap();
        assert_eq!(popper.join().unwrap(), Some(9));
        assert!(ring.is_empty());
    });
}

/// Capacity 1, full: a blocking `push` is woken by the `try_pop` that makes
/// room, and its value is the next one out.
#[test]
fn ring_blocking_push_woken_by_pop() {
    freelane::loom_support::model_waiters();
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        ring.try_push(1).unwrap();
        let pusher = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                ring.push(2)
            })
        };
        order.start(0);
        assert_eq!(ring.try_pop(), Ok(1));
        pusher.join().unwrap().unwrap();
        assert_eq!(ring.try_pop(), Ok(2));
    });
}

/// A blocking `pop` on an empty ring is woken by `close` and returns `None`.
#[test]
fn ring_close_wakes_blocked_pop() {
    freelane::loom_support::model_waiters();
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::<u32>::new(1));
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                ring.pop()
            })
        };
        order.start(0);
        assert!(ring.close());
        assert_eq!(popper.join().unwrap(), None);
    });
}

// ----------------------------------------------------------- lock-freedom --

/// A gate a stopped thread waits at until another opens it. (loom's
/// `Notify::wait` may return spuriously, so the flag is the truth.)
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    notify: Notify,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, Release);
        self.notify.notify();
    }

    fn wait(&self) {
        while !self.open.load(Acquire) {
            self.notify.wait();
        }
    }
}

/// Runs `body` on this thread with a hook that stops it at the first pause
/// point equal to `at` until `gate` opens.
fn stopped_at<R>(at: PausePoint, gate: Arc<Gate>, body: impl FnOnce() -> R) -> R {
    let mut waited = false;
    with_hook(
        move |point| {
            if point == at && !waited {
                waited = true;
                gate.wait();
            }
        },
        body,
    )
}

/// A push stopped after writing its value and before publishing it: another
/// thread pushes, pops and finds the ring empty again, all without it (the
/// stopped push has not happened yet); then the stopped push completes.
#[test]
fn ring_push_stopped_before_publish_stops_no_one() {
    model(1, 2, |order| {
        let ring = Arc::new(RingBuffer::new(2));
        let go = Arc::new(Gate::default());
        let stopped = {
            let ring = Arc::clone(&ring);
            let go = Arc::clone(&go);
            thread::spawn(move || {
                order.start(1);
                stopped_at(PausePoint::PushBeforePublish, go, || ring.try_push(1))
            })
        };
        order.start(0);
        ring.try_push(2).unwrap();
        // Stopped already or not started yet: either way not published.
        assert_eq!(ring.try_pop(), Ok(2));
        assert_eq!(ring.try_pop(), Err(PopError::Empty));
        go.open();
        stopped.join().unwrap().unwrap();
        assert_eq!(ring.try_pop(), Ok(1));
    });
}

/// A pop stopped after its compare-and-swap took the value's cell, before
/// moving the value out: another thread pops the next value and pushes a
/// new one (the stopped pop holds a cell; the ring takes another from its
/// pool rather than wait), then the stopped pop completes with its value.
#[test]
fn ring_pop_stopped_after_take_stops_no_one() {
    model(1, 2, |order| {
        let ring = Arc::new(RingBuffer::new(2));
        ring.try_push(1).unwrap();
        ring.try_push(2).unwrap();
        let go = Arc::new(Gate::default());
        let stopped = {
            let ring = Arc::clone(&ring);
            let go = Arc::clone(&go);
            thread::spawn(move || {
                order.start(1);
                stopped_at(PausePoint::PopAfterTake, go, || ring.try_pop())
            })
        };
        order.start(0);
        let mine = ring.try_pop().unwrap();
        ring.try_push(3).unwrap();
        go.open();
        let theirs = stopped.join().unwrap().unwrap();
        // Whoever took first took 1.
        assert!(
            (mine, theirs) == (1, 2) || (mine, theirs) == (2, 1),
            "mine {mine}, theirs {theirs}"
        );
        let mut rest = Vec::new();
        while let Ok(value) = ring.try_pop() {
            rest.push(value);
        }
        assert_eq!(rest, [3]);
    });
}

/// A push stopped after publishing, before moving the `tail` hint on:
/// another thread's push steps over its slot, and pops see both values in
/// the order of their compare-and-swaps.
#[test]
fn ring_push_stopped_after_publish_stops_no_one() {
    model(1, 2, |order| {
        let ring = Arc::new(RingBuffer::new(2));
        let go = Arc::new(Gate::default());
        let stopped = {
            let ring = Arc::clone(&ring);
            let go = Arc::clone(&go);
            thread::spawn(move || {
                order.start(1);
                stopped_at(PausePoint::PushAfterPublish, go, || ring.try_push(1))
            })
        };
        order.start(0);
        ring.try_push(2).unwrap();
        let popped = ring.try_pop().unwrap();
        go.open();
        stopped.join().unwrap().unwrap();
        let rest = ring.try_pop().unwrap();
        let mut both = [popped, rest];
        both.sort_unstable();
        assert_eq!(both, [1, 2]);
        assert_eq!(ring.try_pop(), Err(PopError::Empty));
    });
}

/// A `close` stopped after marking the ring, before setting the flag that
/// `is_closed` reads first: another thread already sees the ring closed
/// everywhere (pushes fail, `is_closed` is true, pops drain and report
/// `Closed`), or, if it ran before the mark, not closed at all — never a
/// mix.
#[test]
fn ring_close_stopped_after_mark_stops_no_one() {
    model(1, 2, |order| {
        let ring = Arc::new(RingBuffer::new(2));
        ring.try_push(1).unwrap();
        let go = Arc::new(Gate::default());
        let stopped = {
            let ring = Arc::clone(&ring);
            let go = Arc::clone(&go);
            thread::spawn(move || {
                order.start(1);
                stopped_at(PausePoint::CloseAfterMark, go, || ring.close())
            })
        };
        order.start(0);
        let pushed = ring.try_push(2);
        let closed = ring.is_closed();
        if pushed.is_err() {
            assert!(closed, "a push saw Closed, then is_closed said no");
            assert!(matches!(pushed, Err(PushError::Closed(2))));
        }
        let mut drained = Vec::new();
        let end = loop {
            match ring.try_pop() {
                Ok(value) => drained.push(value),
                Err(end) => break end,
            }
        };
        if closed {
            assert_eq!(end, PopError::Closed);
        }
        go.open();
        assert!(stopped.join().unwrap(), "the one close reports the change");
        assert!(ring.is_closed());
        assert_eq!(drained, if pushed.is_ok() { vec![1, 2] } else { vec![1] });
    });
}

/// Capacity 1, full: a `force_push` stopped before its compare-and-swap.
/// Another thread pops the value and pushes another without it; when the
/// `force_push` goes on it finds the ring full again and replaces the
/// newer value, returning it.
#[test]
fn ring_force_push_stopped_before_publish_stops_no_one() {
    model(1, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        ring.try_push(1).unwrap();
        let go = Arc::new(Gate::default());
        let stopped = {
            let ring = Arc::clone(&ring);
            let go = Arc::clone(&go);
            thread::spawn(move || {
                order.start(1);
                stopped_at(PausePoint::PushBeforePublish, go, || ring.force_push(3))
            })
        };
        order.start(0);
        let popped = ring.try_pop();
        let pushed = ring.try_push(2);
        go.open();
        let displaced = stopped.join().unwrap().unwrap();
        let left = ring.try_pop().unwrap();
        // Every value once: 1 popped or displaced, 2 displaced or left or
        // refused (Full, if the force_push got in first), 3 left.
        let mut all: Vec<u32> = popped.ok().into_iter().chain(displaced).collect();
        all.push(left);
        if let Err(PushError::Full(back)) = pushed {
            all.push(back);
        }
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3]);
        assert_eq!(left, 3, "the force_push's value is the newest");
    });
}
