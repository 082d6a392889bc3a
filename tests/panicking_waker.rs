//! Wakers that panic (user code) leave no ghost waiter and lose no element,
//! permit or wake-up (issues 12 and 13).
//!
//! Each test polls a future with a waker whose `clone` panics (so the panic
//! fires where the wait layer stores the waker), catches the panic, drops
//! the future and then checks that the structure is exact: the permits all
//! available, every element still there, later waits still woken. The
//! semaphore's also have wakers whose `wake` panics, in a release and in
//! `close`.
// Test code uses the `std` paths users write.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};

use freelane::{RingBuffer, Semaphore};

/// A waker whose `clone` panics; waking and dropping it do nothing.
fn panicking_clone_waker() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        panic!("waker clone panics (on purpose)");
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable's functions ignore the data pointer, which is null.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

/// Polls `future` once with `waker`; returns whether the poll panicked.
fn poll_panics<F: Future>(future: F, waker: &Waker) -> bool {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(waker);
    catch_unwind(AssertUnwindSafe(|| {
        let _ = future.as_mut().poll(&mut cx);
    }))
    .is_err()
}

#[test]
fn semaphore_acquire_many_with_panicking_waker_loses_no_permit() {
    let sem = Semaphore::new(1);
    // Two permits asked of one: the future must queue, which clones the
    // waker: the clone panics before the permit is taken for the queue.
    assert!(poll_panics(
        sem.acquire_many_async(2),
        &panicking_clone_waker()
    ));
    assert_eq!(sem.available_permits(), 1, "a permit was lost");
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, waiters: false, closed: false }",
        "a ghost waiter is queued"
    );
    // Acquires still work, including many-permit hand-off.
    sem.add_permits(1);
    assert_eq!(sem.acquire_many(2).unwrap().permits(), 2);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn semaphore_queued_future_repolled_with_panicking_waker_is_cancelled() {
    let sem = Semaphore::new(0);
    let mut future = Box::pin(sem.acquire_async());
    let noop = Waker::noop();
    assert!(
        future
            .as_mut()
            .poll(&mut Context::from_waker(noop))
            .is_pending()
    );
    // The second poll stores a new waker: its clone panics while queued.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let _ = future
            .as_mut()
            .poll(&mut Context::from_waker(&panicking_clone_waker()));
    }))
    .is_err();
    assert!(panicked);
    drop(future); // must still cancel the queued waiter
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 0, waiters: false, closed: false }",
        "a ghost waiter is queued"
    );
    sem.add_permits(1);
    assert!(sem.try_acquire().is_ok());
}

/// The same for a waiter in hand-off mode that already holds part of its
/// request: the future's drop must still cancel it and pass the assigned
/// permit on (issue 13, item 3: a poll that panicked used to leave the
/// future without its semaphore handle, so the drop skipped the cancel).
#[test]
fn semaphore_handoff_head_repolled_with_panicking_waker_returns_its_permits() {
    let sem = Semaphore::new(1);
    let mut future = Box::pin(sem.acquire_many_async(3));
    let noop = Waker::noop();
    assert!(
        future
            .as_mut()
            .poll(&mut Context::from_waker(noop))
            .is_pending()
    );
    // Queued in hand-off mode, the one permit assigned to it.
    assert_eq!(sem.available_permits(), 0);
    assert!(poll_panics(future.as_mut(), &panicking_clone_waker()));
    drop(future);
    assert_eq!(sem.available_permits(), 1, "the assigned permit was lost");
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, waiters: false, closed: false }",
        "a ghost waiter is queued"
    );
    sem.add_permits(2);
    assert_eq!(sem.try_acquire_many(3).unwrap().permits(), 3);
}

/// A waker that counts its wakes.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A waker whose `wake` panics (cloning and dropping it work).
struct PanicOnWake;

impl Wake for PanicOnWake {
    fn wake(self: Arc<Self>) {
        panic!("waker wake panics (on purpose)");
    }
}

/// `close` wakes every queued waiter after its critical section; a `wake`
/// that panics there must not strand the waiters after it, nor leave the
/// semaphore half closed.
#[test]
fn semaphore_close_with_panicking_wake_still_wakes_the_rest() {
    let sem = Semaphore::new(0);
    let bad = Waker::from(Arc::new(PanicOnWake));
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let good = Waker::from(Arc::clone(&counter));
    let mut first = Box::pin(sem.acquire_async());
    let mut second = Box::pin(sem.acquire_many_async(2));
    assert!(
        first
            .as_mut()
            .poll(&mut Context::from_waker(&bad))
            .is_pending()
    );
    assert!(
        second
            .as_mut()
            .poll(&mut Context::from_waker(&good))
            .is_pending()
    );
    // Oldest first: the first wake panics, the second must still happen.
    assert!(catch_unwind(AssertUnwindSafe(|| sem.close())).is_err());
    assert_eq!(
        counter.0.load(SeqCst),
        1,
        "the waiter after the panic was not woken"
    );
    assert!(sem.is_closed());
    let noop = Waker::noop();
    assert!(matches!(
        first.as_mut().poll(&mut Context::from_waker(noop)),
        Poll::Ready(Err(_))
    ));
    assert!(matches!(
        second.as_mut().poll(&mut Context::from_waker(noop)),
        Poll::Ready(Err(_))
    ));
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 0, waiters: false, closed: true }",
        "a ghost waiter is queued"
    );
}

/// A release whose wake-up panics has already taken the waiter off the
/// queue, with its permit in the word (or, past the fairness bound, assigned
/// to the waiter): the permit is not lost, and the waiter (polled again, as
/// its executor may still do) gets it.
#[test]
fn semaphore_release_with_panicking_wake_loses_no_permit() {
    let sem = Semaphore::new(0);
    let bad = Waker::from(Arc::new(PanicOnWake));
    let mut waiter = Box::pin(sem.acquire_async());
    assert!(
        waiter
            .as_mut()
            .poll(&mut Context::from_waker(&bad))
            .is_pending()
    );
    assert!(catch_unwind(AssertUnwindSafe(|| sem.add_permits(1))).is_err());
    let Poll::Ready(Ok(permit)) = waiter
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        panic!("the woken waiter takes the permit");
    };
    drop(permit);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, waiters: false, closed: false }",
        "a ghost waiter is queued"
    );
}

#[test]
fn ring_pop_async_with_panicking_waker_leaves_no_ghost() {
    let ring = RingBuffer::<u32>::new(2);
    assert!(poll_panics(ring.pop_async(), &panicking_clone_waker()));
    // A second, well-behaved pop waits; the push must wake it, not a ghost
    // left at the front of `not_empty` by the first.
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    let mut pop = Box::pin(ring.pop_async());
    assert!(
        pop.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    ring.try_push(7).unwrap();
    assert_eq!(counter.0.load(SeqCst), 1, "the wake-up went to a ghost");
    assert_eq!(
        pop.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(Some(7))
    );
}

#[test]
fn ring_push_async_with_panicking_waker_loses_no_element() {
    let ring = RingBuffer::new(1);
    ring.try_push(1).unwrap();
    // Full: the push must queue, and its waker clone panics. The value it
    // carried is dropped with the future; the one inside stays.
    assert!(poll_panics(ring.push_async(2), &panicking_clone_waker()));
    assert_eq!(ring.len(), 1);
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    let mut push = Box::pin(ring.push_async(3));
    assert!(
        push.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    assert_eq!(ring.try_pop(), Ok(1));
    assert_eq!(counter.0.load(SeqCst), 1, "the wake-up went to a ghost");
    assert_eq!(
        push.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(Ok(()))
    );
    assert_eq!(ring.try_pop(), Ok(3));
}
