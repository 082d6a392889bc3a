//! Loom models of the [`Semaphore`]: mutual exclusion and the permit's
//! happens-before, wake-ups, timeouts racing grants, `close` (linearizable:
//! the issue 13 interleaving), many-permit hand-off, and releases racing in
//! hand-off mode.
//!
//! Built only with `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom"`;
//! see `tests/loom.rs` for what loom checks and `.ci/stages/loom.sh` for the
//! run. Each model sets its own preemption bound.
#![cfg(freelane_loom)]
// Test code uses the `std` paths users write.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::time::Duration;

use freelane::{AcquireError, Semaphore, TryAcquireError};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use loom::thread;

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::model;

// -------------------------------------------------------------- Semaphore --

/// One permit, two blocking acquirers and a `try_acquire` from the main
/// thread. At most one holder at a time (counted with a loom atomic), and the
/// permit orders the critical sections as a mutex does: each holder
/// increments a plain cell that loom watches for data races, so a missing
/// Release/Acquire pair between a release and the next acquire fails here.
/// At the end the permit is back.
#[test]
fn semaphore_holders_never_exceed_permits() {
    model(2, 3, |order| {
        let sem = Arc::new(Semaphore::new(1));
        let holders = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(UnsafeCell::new(0_usize));
        let critical = {
            let holders = Arc::clone(&holders);
            let cell = Arc::clone(&cell);
            move || {
                let inside = holders.fetch_add(1, Relaxed) + 1;
                assert!(inside <= 1, "{inside} holders of 1 permit");
                // SAFETY: under the semaphore's one permit (checked above);
                // loom reports a race if the permit's hand-over is unordered.
                cell.with_mut(|count| unsafe { *count += 1 });
                holders.fetch_sub(1, Relaxed);
            }
        };
        let acquirers: Vec<_> = (1..=2)
            .map(|me| {
                let sem = Arc::clone(&sem);
                let critical = critical.clone();
                thread::spawn(move || {
                    order.start(me);
                    let _permit = sem.acquire().unwrap();
                    critical();
                })
            })
            .collect();
        order.start(0);
        let mut entered = 2;
        if let Ok(_permit) = sem.try_acquire() {
            critical();
            entered += 1;
        }
        for acquirer in acquirers {
            acquirer.join().unwrap();
        }
        // SAFETY: every other thread has been joined.
        assert_eq!(cell.with(|count| unsafe { *count }), entered);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// A blocking `acquire` on an empty semaphore is woken by the release of the
/// permit the main thread holds (no lost wake-up), and the permit is back
/// once the waiter drops it.
#[test]
fn semaphore_release_wakes_acquire() {
    model(2, 2, |order| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                sem.acquire().map(|permit| permit.permits())
            })
        };
        order.start(0);
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(1));
        assert_eq!(sem.available_permits(), 1);
    });
}

/// A waiter whose zero timeout expires races the release of the only
/// permit. Under loom the timed park is a spurious wake-up and the deadline
/// has passed at once, so the waiter queues, may be granted the permit, and
/// cancels. Either it got the permit (and returns it) or it did not; in both
/// cases the permit must not vanish: one permit is available at the end.
#[test]
fn semaphore_timeout_races_release() {
    model(2, 2, |order| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                match sem.acquire_timeout(Duration::ZERO) {
                    Ok(permit) => assert_eq!(permit.permits(), 1),
                    Err(error) => assert_eq!(error, TryAcquireError::NoPermits),
                }
            })
        };
        order.start(0);
        drop(held);
        waiter.join().unwrap();
        assert_eq!(sem.available_permits(), 1, "a permit vanished");
        assert!(sem.try_acquire().is_ok());
    });
}

/// `close` wakes a blocked `acquire` with `Closed`; afterwards `try_acquire`
/// reports `Closed` and the held permit still returns to the count.
#[test]
fn semaphore_close_wakes_waiter() {
    model(2, 2, |order| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                sem.acquire().map(|permit| permit.permits())
            })
        };
        order.start(0);
        assert!(sem.close());
        assert_eq!(waiter.join().unwrap(), Err(AcquireError::Closed));
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        drop(held);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// `close` racing a release and an acquire: the waiter either got the
/// released permit or saw `Closed`, never sleeps forever, and no permit is
/// lost whichever comes first. If the releasing thread saw the semaphore
/// closed before it released, the waiter must report `Closed`.
#[test]
fn semaphore_close_races_release_and_acquire() {
    model(2, 3, |order| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                sem.acquire().map(|permit| permit.permits())
            })
        };
        let closer = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(2);
                sem.close()
            })
        };
        order.start(0);
        // Looked at before the release: if this thread has seen the
        // semaphore closed, the permit it releases next must not reach the
        // waiter (close is linearizable: once anybody has seen it closed, no
        // acquire succeeds). Tightened from accepting any `Ok` (issue 13).
        let saw_closed = sem.is_closed();
        drop(held);
        let verdict = waiter.join().unwrap();
        assert!(closer.join().unwrap());
        if saw_closed {
            assert_eq!(
                verdict,
                Err(AcquireError::Closed),
                "Ok after close was seen"
            );
        } else {
            assert!(matches!(verdict, Ok(1) | Err(AcquireError::Closed)));
        }
        assert_eq!(sem.available_permits(), 1, "a permit vanished");
    });
}

/// FIFO across sizes: a waiter for two permits and a waiter for one, on an
/// empty semaphore, while the main thread adds two permits. Both finish (no
/// lost wake-up, no permit stranded in a partial assignment), never more
/// than two permits are held at once, and all are back at the end.
///
/// Bound 1: three threads through the waiter lock; bound 2 is much slower
/// and adds little over the two-thread wake-up models.
#[test]
fn semaphore_big_and_small_waiters() {
    model(1, 3, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = [(1, 2), (2, 1)]
            .into_iter()
            .map(|(me, n)| {
                let sem = Arc::clone(&sem);
                let held = Arc::clone(&held);
                thread::spawn(move || {
                    order.start(me);
                    let permit = sem.acquire_many(n).unwrap();
                    let now = held.fetch_add(n, Relaxed) + n;
                    assert!(now <= 2, "{now} permits held of 2");
                    held.fetch_sub(n, Relaxed);
                    drop(permit);
                })
            })
            .collect();
        order.start(0);
        sem.add_permits(2);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 2);
    });
}

/// The interleaving of issue 13, on `Semaphore::new(0)`: W asks for two
/// permits and queues (hand-off mode); C closes; T's `try_acquire` reports
/// `Closed`, and T then adds two permits. Before the fix, C's `fetch_or`
/// landed outside the waiter lock and the hand-off in T's `add_permits`
/// (under the lock, before C drained the queue) completed W with `Ok`
/// although T had already seen the semaphore closed. Now close sets the bit
/// under the lock whenever anyone is queued: W must report `Closed` whenever
/// T saw it, and the two permits are all back at the end.
#[test]
fn semaphore_close_is_linearizable() {
    model(2, 3, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                sem.acquire_many(2).map(|permit| permit.permits())
            })
        };
        let closer = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(2);
                sem.close()
            })
        };
        order.start(0);
        let saw_closed = sem.try_acquire().err() == Some(TryAcquireError::Closed);
        if saw_closed {
            sem.add_permits(2);
        }
        let verdict = waiter.join().unwrap();
        assert!(closer.join().unwrap());
        if saw_closed {
            assert_eq!(
                verdict,
                Err(AcquireError::Closed),
                "Ok after close was seen"
            );
            assert_eq!(sem.available_permits(), 2, "a permit vanished");
        } else {
            // Nobody added permits: W cannot have been granted any.
            assert_eq!(verdict, Err(AcquireError::Closed));
        }
    });
}

/// Two releases racing in hand-off mode: a waiter for two permits is queued
/// (hand-off) while two threads add one permit each. A release is one
/// `fetch_add`, so in hand-off mode its permit lands in the field, which
/// offers nothing to acquirers, and the release moves what it finds there to
/// the queue under the lock; the other may find the field empty, or hand-off
/// mode over and its permit an ordinary one. Whatever the order: the waiter
/// gets both permits, and none is lost or counted twice.
#[test]
fn semaphore_releases_race_in_handoff_mode() {
    model(2, 3, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                order.start(1);
                sem.acquire_many(2).map(|permit| permit.permits())
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
        sem.add_permits(1);
        releaser.join().unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(2));
        assert_eq!(sem.available_permits(), 2, "a permit vanished or doubled");
        assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    });
}

/// A blocking `acquire_many` granted its permits in hand-off mode learns of
/// the grant from its node leaving the queue, possibly before the releaser
/// unparks it (its check before parking): the Release store that takes the
/// node off the queue must publish the releaser's writes. The releaser
/// writes a plain cell before releasing, the waiter reads it once it holds
/// the permits; with that store weakened to Relaxed, loom reports the read
/// as a race.
#[test]
fn semaphore_grant_is_published_by_the_node() {
    model(2, 2, |order| {
        let sem = Arc::new(Semaphore::new(0));
        let cell = Arc::new(UnsafeCell::new(0_usize));
        let waiter = {
            let (sem, cell) = (Arc::clone(&sem), Arc::clone(&cell));
            thread::spawn(move || {
                order.start(1);
                let permit = sem.acquire_many(2).unwrap();
                // SAFETY: we hold the permits the main thread released after
                // writing.
                let value = cell.with(|value| unsafe { *value });
                (permit.permits(), value)
            })
        };
        order.start(0);
        // SAFETY: the waiter reads the cell only once it holds the permits
        // released below.
        cell.with_mut(|value| unsafe { *value = 7 });
        sem.add_permits(2);
        assert_eq!(waiter.join().unwrap(), (2, 7));
        assert_eq!(sem.available_permits(), 2);
    });
}
