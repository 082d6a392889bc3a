//! Loom models of the async waits: the waker hand-off (register, re-check,
//! wake) and cancellation racing a wake-up.
//!
//! Built only with `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom"`
//! (see tests/loom.rs for what that switches). Futures are driven by
//! `loom::future::block_on`, whose waker is a loom notification: a wake-up
//! that is lost leaves its thread waiting forever, which loom reports as a
//! deadlock. A future that only needs to be polled once, to put its waiter in
//! the queue, is polled by hand with `Waker::noop()`.
//!
//! The cancellation models are the point of this file: a future polled once
//! (so queued), then dropped while another thread's release or push wakes
//! it. If the drop does not pass the wake-up on, the next waiter (a second
//! thread in `block_on`) never wakes. Removing the forwarding (the
//! `release` in the semaphore future's drop, or `leave`'s `notify_one` for
//! the ring) makes these models fail.
//!
//! Run: `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom" cargo test
//! --release --test loom_async` (see `.ci/stages/loom.sh`).
#![cfg(freelane_loom)]
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use freelane::{RingBuffer, Semaphore};
use loom::cell::UnsafeCell;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::model;

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

// -------------------------------------------------------------- Semaphore --

/// A pending `acquire_async` is woken by a release on another thread: the
/// waker is stored after the waiter queues, so the release may come first;
/// either the notifier finds the waker or the re-check finds the signal set.
#[test]
fn semaphore_async_release_wakes_pending_acquire() {
    model(2, 2, |order| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                block_on(sem.acquire_async()).map(|permit| permit.permits())
            })
        };
        order.start(0);
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(1));
        assert_eq!(sem.available_permits(), 1);
    });
}

/// A queued future is dropped while a release races to wake it; a second
/// waiter, queued behind it or not yet, must still get the permit (its
/// thread would deadlock otherwise), and no permit is lost.
#[test]
fn semaphore_async_cancel_races_release() {
    model(3, 3, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let mut first = sem.acquire_async();
        assert!(poll_once(&mut first).is_pending());
        let second = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                block_on(sem.acquire_async()).map(|permit| permit.permits())
            })
        };
        let releaser = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(2);
                sem.add_permits(1);
            })
        };
        order.start(0);
        drop(first);
        releaser.join().unwrap();
        assert_eq!(second.join().unwrap(), Ok(1));
        assert_eq!(sem.available_permits(), 1);
    });
}

/// A many-permit future (queued in hand-off mode) is dropped while a release
/// grants it its permits: the permits pass on to the single-permit waiter on
/// another thread, and all of them are back at the end.
#[test]
fn semaphore_async_granted_then_dropped() {
    model(2, 3, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let mut big = sem.acquire_many_async(2);
        assert!(poll_once(&mut big).is_pending());
        let small = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                block_on(sem.acquire_async()).map(|permit| permit.permits())
            })
        };
        let releaser = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(2);
                sem.add_permits(2);
            })
        };
        order.start(0);
        drop(big);
        releaser.join().unwrap();
        assert_eq!(small.join().unwrap(), Ok(1));
        assert_eq!(sem.available_permits(), 2);
    });
}

/// A future polled with one waker and then with another (`block_on`'s)
/// must be woken through the newest; a release racing the re-poll must not
/// be lost.
#[test]
fn semaphore_async_repoll_with_new_waker() {
    model(2, 2, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                let mut future = sem.acquire_async();
                if let Poll::Ready(permit) = poll_once(&mut future) {
                    return permit.map(|permit| permit.permits());
                }
                block_on(future).map(|permit| permit.permits())
            })
        };
        order.start(0);
        sem.add_permits(1);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    });
}

/// A many-permit future, polled with a waker that does nothing until it is
/// ready, is granted its permits by a release on another thread (hand-off):
/// it learns of the grant only from its node leaving the queue, with no
/// wake-up to order anything. The releaser wrote a plain cell before
/// releasing; the waiter reads it once it holds the permits. With the
/// Release store that takes the node off the queue (`dequeue_locked`)
/// weakened to Relaxed, loom reports that read as a race.
#[test]
fn semaphore_async_grant_is_published_by_the_node() {
    model(2, 2, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let cell = Arc::new(UnsafeCell::new(0_usize));
        let releaser = {
            let (sem, cell) = (Arc::clone(&sem), Arc::clone(&cell));
            thread::spawn(move || {
                order.start(1);
                // SAFETY: the waiter reads the cell only once it holds the
                // permits released below.
                cell.with_mut(|value| unsafe { *value = 7 });
                sem.add_permits(2);
            })
        };
        order.start(0);
        let mut future = sem.acquire_many_async(2);
        let permit = loop {
            match poll_once(&mut future) {
                Poll::Ready(permit) => break permit.unwrap(),
                Poll::Pending => thread::yield_now(),
            }
        };
        // SAFETY: we hold the permits the releaser released after writing.
        assert_eq!(cell.with(|value| unsafe { *value }), 7);
        assert_eq!(permit.permits(), 2);
        drop(permit);
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 2);
    });
}

/// A future woken in vain queues again with the same node, while the
/// release that woke it may still be finishing: the node's waker slot is
/// the releaser's until the node is seen off the queue, then the owner's. A
/// third thread barges for the permit, so the retry may fail and re-store a
/// waker in the node. Loom watches the slot (a loom cell) for a race.
#[test]
fn semaphore_async_node_reused_after_wake_in_vain() {
    model(2, 3, |order| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        let barger = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                // Takes the released permit if it comes first, and gives it
                // back at once: its release wakes the waiter again.
                drop(sem.try_acquire());
            })
        };
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(2);
                block_on(sem.acquire_async()).map(|permit| permit.permits())
            })
        };
        order.start(0);
        drop(held);
        barger.join().unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(1));
        assert_eq!(sem.available_permits(), 1);
    });
}

// ------------------------------------------------------------- RingBuffer --

/// A pending `pop_async` is woken by a push on another thread.
#[test]
fn ring_async_pop_woken_by_push() {
    freelane::loom_support::model_waiters();
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                block_on(ring.pop_async())
            })
        };
        order.start(0);
        ring.try_push(7).unwrap();
        assert_eq!(popper.join().unwrap(), Some(7));
    });
}

/// A pending `push_async` on a full ring is woken by a pop.
#[test]
fn ring_async_push_woken_by_pop() {
    freelane::loom_support::model_waiters();
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        ring.try_push(1).unwrap();
        let pusher = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                block_on(ring.push_async(2))
            })
        };
        order.start(0);
        assert_eq!(ring.try_pop(), Ok(1));
        pusher.join().unwrap().unwrap();
        assert_eq!(ring.try_pop(), Ok(2));
    });
}

/// A queued `pop_async` is dropped while a push races to wake it; the pop
/// on the other thread must still get the value.
#[test]
fn ring_async_cancel_races_push() {
    freelane::loom_support::model_waiters();
    model(3, 3, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        let mut first = ring.pop_async();
        assert!(poll_once(&mut first).is_pending());
        let second = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                block_on(ring.pop_async())
            })
        };
        let pusher = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(2);
                ring.try_push(5).unwrap();
            })
        };
        order.start(0);
        drop(first);
        pusher.join().unwrap();
        assert_eq!(second.join().unwrap(), Some(5));
    });
}

/// A queued `push_async` on a full ring is dropped while a pop races to
/// wake it; the push on the other thread must still get the room.
#[test]
fn ring_async_push_cancel_races_pop() {
    freelane::loom_support::model_waiters();
    model(2, 3, |order| {
        let ring = Arc::new(RingBuffer::new(1));
        ring.try_push(0).unwrap();
        let mut first = ring.push_async(1);
        assert!(poll_once(&mut first).is_pending());
        let second = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                block_on(ring.push_async(2))
            })
        };
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(2);
                ring.try_pop()
            })
        };
        order.start(0);
        drop(first);
        assert_eq!(popper.join().unwrap(), Ok(0));
        second.join().unwrap().unwrap();
        assert_eq!(ring.try_pop(), Ok(2));
    });
}

/// `close` wakes a pending pop, which resolves to `None`.
#[test]
fn ring_async_close_wakes_pending_pop() {
    freelane::loom_support::model_waiters();
    model(2, 2, |order| {
        let ring = Arc::new(RingBuffer::<u8>::new(1));
        let popper = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                order.start(1);
                block_on(ring.pop_async())
            })
        };
        order.start(0);
        ring.close();
        assert_eq!(popper.join().unwrap(), None);
    });
}
