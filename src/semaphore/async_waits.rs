//! The async layer of [`Semaphore`]: `acquire_async` and its forms, futures
//! that wait for permits under any executor. They need only
//! `core::task::Waker` and `alloc`, so they exist without `std` too.
//!
//! A pending acquire is the same [`Waiter`] in the same queue as a blocked
//! thread, served by the one fairness policy stated on [`Semaphore`]
//! ("Fairness"). Two differences from a thread, both on purpose: a task does
//! not spin before it queues (spinning would hold up the other tasks of its
//! executor thread), and it waits by storing its context's waker in the
//! waiter's signal and returning `Pending` instead of parking.
//!
//! One more difference from runtime-bound semaphores: the futures know no
//! executor, so they take no part in a runtime's cooperative scheduling
//! (tokio's task budget). A loop that acquires and releases while permits are
//! free completes every `acquire_async().await` at once, never returning
//! `Pending`, and so never yields its worker thread to other tasks. Put a
//! yield point in such a loop (`tokio::task::yield_now().await`, or any real
//! await) if other tasks share the thread; the contention benchmark does.
//!
//! Sections: **Poll**, **Cancellation**.
//!
//! # Poll
//! ```text
//! first poll:  try_take(n)          the fast path: no lock, no list
//!              enqueue(n)           under the lock: takes the permits if a
//!                                   release came meanwhile, else queues
//!              store waker, re-check the signal, Pending
//! later polls: signal not notified  store the waker (replacing an older one
//!                                   unless `will_wake`), re-check, Pending
//!              notified, granted    Ready(Ok): permits assigned in hand-off
//!              notified, not granted   woken to retry (or by `close`):
//!                                   back to try_take, keeping the arrival
//! ```
//! The waker is stored after the waiter is queued, so a notifier may run
//! first: it then finds no waker, and the re-check of the signal, ordered
//! after its swap by the signal's lock (see `crate::wait`), sees it notified.
//!
//! # Cancellation
//! Dropping the future runs the semaphore's `cancel` under the lock, as a
//! timed-out thread does. Still queued: the waiter leaves the queue and any
//! permits already set aside for it (hand-off) are settled on the next
//! waiters or put back; nothing is lost. Already granted but not polled: the
//! permits were the future's, so they are released, which hands them to the
//! next waiter or wakes one. Woken to retry but not polled: the wake-up must
//! not die with the future, so it retries once and releases what it took,
//! which wakes the next queued waiter (or, if a barger took the permit first,
//! that barger's release will). This is the bug class of tokio's
//! `Acquire::drop` history: a future dropped between its wake-up and its
//! next poll must pass on what it was given.

#[cfg(target_has_atomic = "ptr")]
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

#[cfg(target_has_atomic = "ptr")]
use super::OwnedPermit;
use super::queue::{Arrival, Enqueued, Waiter};
use super::{Handle, Permit, Semaphore};
use crate::error::{AcquireError, TryAcquireError};
use crate::sync;

/// The future behind every `acquire*_async`.
struct AcquireAsync<H: Handle> {
    /// `None` once the future has completed.
    semaphore: Option<H>,
    /// Where the acquire stands.
    state: Acquiring,
}

/// The waiting state of an [`AcquireAsync`], apart from its handle so that
/// a poll can borrow both.
struct Acquiring {
    /// How many permits it asks for.
    needed: usize,
    /// When it first queued, kept across retries (the fairness clock).
    arrival: Option<Arrival>,
    /// Our waiter while it is queued, or until we see its notification.
    waiter: Option<sync::Arc<Waiter>>,
    /// A waiter that left the queue, kept for reuse by the next enqueue.
    spare: Option<sync::Arc<Waiter>>,
}

// Not self-referential: nothing is borrowed across a poll.
impl<H: Handle> Unpin for AcquireAsync<H> {}

impl<H: Handle> AcquireAsync<H> {
    fn new(semaphore: H, needed: usize) -> Self {
        Self {
            semaphore: Some(semaphore),
            state: Acquiring {
                needed,
                arrival: None,
                waiter: None,
                spare: None,
            },
        }
    }
}

impl Acquiring {
    /// Stores the waker in our waiter's signal and re-checks it: `true`
    /// means stay pending, `false` that it has been notified (and is off the
    /// queue).
    fn still_waiting(waiter: &Waiter, cx: &Context<'_>) -> bool {
        if waiter.signal.is_notified() {
            return false;
        }
        waiter.signal.register(cx.waker());
        // Re-check after storing: a notify that ran before the store found
        // no waker (see `crate::wait`).
        !waiter.signal.is_notified()
    }

    fn poll_acquire(
        &mut self,
        semaphore: &Semaphore,
        cx: &Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let n = self.needed;
        if n > Semaphore::MAX_PERMITS {
            return Poll::Ready(Err(AcquireError::TooMany { requested: n }));
        }
        loop {
            if let Some(waiter) = &self.waiter {
                if Self::still_waiting(waiter, cx) {
                    return Poll::Pending;
                }
                let granted = waiter.granted();
                self.spare = self.waiter.take();
                if granted {
                    // Assigned in hand-off mode: the signal's Release/Acquire
                    // pair published the assignment (and the releases' writes).
                    return Poll::Ready(Ok(()));
                }
                // Woken to retry (or by `close`, which the retry reports).
                self.arrival = self.arrival.map(Arrival::after_failed_wakeup);
            }
            match semaphore.try_take(n) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError::Closed)),
                Err(TryAcquireError::TooMany { requested }) => {
                    return Poll::Ready(Err(AcquireError::TooMany { requested }));
                }
                Err(TryAcquireError::NoPermits) => {}
            }
            let arrival = *self.arrival.get_or_insert_with(Arrival::now);
            match semaphore.enqueue(n, arrival, self.spare.take(), Some(cx.waker())) {
                Enqueued::Acquired => return Poll::Ready(Ok(())),
                Enqueued::Closed => return Poll::Ready(Err(AcquireError::Closed)),
                Enqueued::Waiting(waiter) => {
                    // The waker went in with the waiter, before it was
                    // queued: a notifier finds it there. Pending, unless
                    // notified already (then the loop handles it).
                    if !waiter.signal.is_notified() {
                        self.waiter = Some(waiter);
                        return Poll::Pending;
                    }
                    self.waiter = Some(waiter);
                }
            }
        }
    }
}

impl<H: Handle> Future for AcquireAsync<H> {
    type Output = Result<H::Permit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Borrowed, not taken, while the poll runs: a waker whose clone
        // panics inside `poll_acquire` must leave the handle in place, so
        // that the future's drop still cancels a queued waiter (which may be
        // the hand-off head, holding permits). Issue 13.
        let semaphore = this
            .semaphore
            .as_ref()
            .expect("`acquire_async` future polled after completion");
        match this.state.poll_acquire(semaphore, cx) {
            Poll::Ready(result) => {
                let semaphore = this.semaphore.take().expect("checked above");
                Poll::Ready(result.map(|()| semaphore.into_permit(this.state.needed)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<H: Handle> Drop for AcquireAsync<H> {
    fn drop(&mut self) {
        let (Some(semaphore), Some(waiter)) = (&self.semaphore, self.state.waiter.take()) else {
            return; // completed, or never queued: nothing to give back.
        };
        // `Ok`: granted before we left, or woken and the retry took the
        // permits; either way they are ours, and releasing them passes them
        // (or a wake-up for them) to the next waiter.
        if semaphore.cancel(&waiter, self.state.needed).is_ok() {
            semaphore.release(self.state.needed);
        }
    }
}

impl Semaphore {
    /// Takes one permit, waiting for one without blocking the thread: the
    /// future is pending until a release wakes it (or hands it a permit), or
    /// the semaphore is closed ([`AcquireError::Closed`]).
    ///
    /// Works under any executor (tokio, smol, embassy, a hand-written
    /// `block_on`) and without `std`. A pending acquire queues with blocked
    /// threads under one [fairness policy](Semaphore#fairness); unlike a
    /// thread it does not spin before queueing. The first poll tries the
    /// lock-free fast path and touches no waiter list if it succeeds. The
    /// future is `Send`.
    ///
    /// # Cancel safety
    /// Dropping the future loses no permit and no wake-up: still queued, it
    /// leaves the queue; handed its permit (or woken to retry) but not polled
    /// since, it releases what it was given, which passes the permit on to
    /// the next waiter. Polling it again with another waker replaces the
    /// stored one: the newest waker is woken.
    ///
    /// ```
    /// use freelane::Semaphore;
    /// # use std::{future::Future, pin::pin, sync::Arc, task::{Context, Poll, Wake, Waker}};
    /// # struct Unpark(std::thread::Thread);
    /// # impl Wake for Unpark { fn wake(self: Arc<Self>) { self.0.unpark() } }
    /// # fn block_on<F: Future>(future: F) -> F::Output {
    /// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    /// #     let mut future = pin!(future);
    /// #     loop {
    /// #         match future.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(output) => return output,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    ///
    /// let sem = Semaphore::new(1);
    /// let held = block_on(sem.acquire_async()).unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || drop(held)); // wakes the waiter below
    ///     let permit = block_on(sem.acquire_async()).unwrap();
    ///     assert_eq!(permit.permits(), 1);
    /// });
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn acquire_async(&self) -> impl Future<Output = Result<Permit<'_>, AcquireError>> {
        self.acquire_many_async(1)
    }

    /// Takes `n` permits at once, waiting without blocking the thread until
    /// all of them are available.
    ///
    /// Once queued, nobody overtakes it, thread or task (see
    /// [Fairness](Semaphore#fairness)). Resolves at once to [`AcquireError::TooMany`] if `n` exceeds
    /// [`MAX_PERMITS`](Semaphore::MAX_PERMITS), and to
    /// [`AcquireError::Closed`] if the semaphore is or becomes closed while
    /// it waits (any permits set aside for it go back).
    ///
    /// # Cancel safety
    /// As for [`acquire_async`](Semaphore::acquire_async): dropping the
    /// future hands the permits set aside for it so far to the next waiter
    /// (or back to the semaphore), and a future dropped after it was granted
    /// all `n` but before it was polled releases them. None is lost.
    ///
    /// ```
    /// use freelane::{AcquireError, Semaphore};
    /// # use std::{future::Future, pin::pin, sync::Arc, task::{Context, Poll, Wake, Waker}};
    /// # struct Unpark(std::thread::Thread);
    /// # impl Wake for Unpark { fn wake(self: Arc<Self>) { self.0.unpark() } }
    /// # fn block_on<F: Future>(future: F) -> F::Output {
    /// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    /// #     let mut future = pin!(future);
    /// #     loop {
    /// #         match future.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(output) => return output,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    ///
    /// let sem = Semaphore::new(3);
    /// let two = block_on(sem.acquire_many_async(2)).unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || drop(two));
    ///     assert_eq!(block_on(sem.acquire_many_async(3)).unwrap().permits(), 3);
    /// });
    /// assert_eq!(
    ///     block_on(sem.acquire_many_async(usize::MAX)).unwrap_err(),
    ///     AcquireError::TooMany { requested: usize::MAX }
    /// );
    /// ```
    pub fn acquire_many_async(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<Permit<'_>, AcquireError>> {
        AcquireAsync::new(self, n)
    }

    /// Takes one permit as [`acquire_async`](Semaphore::acquire_async) does,
    /// into a permit that owns a reference to the semaphore (for a spawned
    /// task, which cannot borrow). Same waiting, fairness and cancel safety.
    ///
    /// ```
    /// use freelane::Semaphore;
    /// use std::sync::Arc;
    /// # use std::{future::Future, pin::pin, task::{Context, Poll, Wake, Waker}};
    /// # struct Unpark(std::thread::Thread);
    /// # impl Wake for Unpark { fn wake(self: Arc<Self>) { self.0.unpark() } }
    /// # fn block_on<F: Future>(future: F) -> F::Output {
    /// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    /// #     let mut future = pin!(future);
    /// #     loop {
    /// #         match future.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(output) => return output,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = block_on(Arc::clone(&sem).acquire_owned_async()).unwrap();
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[cfg(target_has_atomic = "ptr")]
    pub fn acquire_owned_async(
        self: Arc<Self>,
    ) -> impl Future<Output = Result<OwnedPermit, AcquireError>> {
        self.acquire_many_owned_async(1)
    }

    /// Takes `n` permits as [`acquire_many_async`](Semaphore::acquire_many_async)
    /// does, into an [`OwnedPermit`]. Same waiting, fairness and cancel
    /// safety.
    ///
    /// ```
    /// use freelane::Semaphore;
    /// use std::sync::Arc;
    /// # use std::{future::Future, pin::pin, task::{Context, Poll, Wake, Waker}};
    /// # struct Unpark(std::thread::Thread);
    /// # impl Wake for Unpark { fn wake(self: Arc<Self>) { self.0.unpark() } }
    /// # fn block_on<F: Future>(future: F) -> F::Output {
    /// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    /// #     let mut future = pin!(future);
    /// #     loop {
    /// #         match future.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(output) => return output,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    ///
    /// let sem = Arc::new(Semaphore::new(3));
    /// let permit = block_on(Arc::clone(&sem).acquire_many_owned_async(2)).unwrap();
    /// assert_eq!((permit.permits(), sem.available_permits()), (2, 1));
    /// ```
    #[cfg(target_has_atomic = "ptr")]
    pub fn acquire_many_owned_async(
        self: Arc<Self>,
        n: usize,
    ) -> impl Future<Output = Result<OwnedPermit, AcquireError>> {
        AcquireAsync::new(self, n)
    }
}
