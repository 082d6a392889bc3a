//! The async layer of [`Semaphore`]: `acquire_async` and its forms, futures
//! that wait for permits under any executor. They need only
//! `core::task::Waker` and `alloc`, so they exist without `std` too.
//!
//! A pending acquire is a [`Waiter`] node in the same queue as a blocked
//! thread's, served by the one fairness policy stated on [`Semaphore`]
//! ("Fairness") under the one ownership protocol ("Waiting"). Two
//! differences from a thread, both on purpose: a task does not spin before
//! it queues (spinning would hold up the other tasks of its executor
//! thread), and it waits by leaving its context's waker in its node and
//! returning `Pending` instead of parking. Its node lives on the heap,
//! allocated at its first enqueue and reused by every retry, so the future
//! may move (it is `Unpin`) while the queue points to the node.
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
//!              enqueue(node)        the waker into the node, then under
//!                                   the lock: takes the permits if a
//!                                   release came meanwhile, else queues
//!              node still queued    Pending
//! later polls: node still queued    under the lock, keep the waker (an
//!                                   older one stays if `will_wake`), Pending
//!              off, granted         Ready(Ok): permits assigned in hand-off
//!              off, not granted     woken to retry (or by `close`): back
//!                                   to try_take, keeping the arrival
//! ```
//! The waker is in the node before the node is queued, and a later poll
//! replaces it under the lock, so a release that takes the node off the
//! queue always finds the newest waker, and a poll that finds the node off
//! the queue needs no waker at all.
//!
//! # Cancellation
//! Dropping a queued future runs the semaphore's `cancel` under the lock, as
//! a timed-out thread does, before the node is freed. Still queued: the waiter leaves the queue and any
//! permits already set aside for it (hand-off) are settled on the next
//! waiters or put back; nothing is lost. Already granted but not polled: the
//! permits were the future's, so they are released, which hands them to the
//! next waiter or wakes one. Woken to retry but not polled: the wake-up must
//! not die with the future, so it retries once and releases what it took,
//! which wakes the next queued waiter (or, if a barger took the permit first,
//! that barger's release will). This is the bug class of tokio's
//! `Acquire::drop` history: a future dropped between its wake-up and its
//! next poll must pass on what it was given.

use alloc::boxed::Box;
#[cfg(target_has_atomic = "ptr")]
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

#[cfg(target_has_atomic = "ptr")]
use super::OwnedPermit;
use super::queue::{Enqueued, Waiter};
use super::{Handle, Permit, Semaphore};
use crate::error::{AcquireError, TryAcquireError};

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
    /// Our waiter node, made at the first enqueue and reused by every retry.
    node: Option<HeapNode>,
    /// Whether the node is queued as far as we know: set when `enqueue`
    /// queued it, cleared once we have seen it off the queue (or cancelled
    /// it). While set, the node must stay alive: our drop cancels it first.
    queued: bool,
}

// Not self-referential, and the node is on the heap: moving the future
// moves a pointer, never the node the queue points to.
impl<H: Handle> Unpin for AcquireAsync<H> {}

/// A waiter node on the heap, owned by one future: its address stays put
/// while the future moves, which a queued node needs (the queue points to
/// it). Freed on drop, when the future has made sure it is off the queue.
struct HeapNode(NonNull<Waiter>);

// SAFETY: the node is `Send + Sync` (`Waiter`'s own impl says why), and this
// owns it as a `Box` would: moving the owner to another thread moves that
// ownership, and a shared `&HeapNode` only hands out `&Waiter`.
unsafe impl Send for HeapNode {}
// SAFETY: as for `Send`.
unsafe impl Sync for HeapNode {}

impl HeapNode {
    fn new(needed: usize) -> Self {
        Self(NonNull::from(Box::leak(Box::new(Waiter::new(needed)))))
    }

    fn get(&self) -> &Waiter {
        // SAFETY: allocated by `new` and freed only by our drop; only shared
        // references to the node are ever made (its mutable parts are
        // atomics and a cell).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for HeapNode {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box::new` in `new`, freed once, here. The
        // node is off the queue: the future's drop cancels a queued one
        // before its fields (this one) are dropped, and a completed future
        // saw it off the queue; so nobody else can reach it any more.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl<H: Handle> AcquireAsync<H> {
    fn new(semaphore: H, needed: usize) -> Self {
        Self {
            semaphore: Some(semaphore),
            state: Acquiring {
                needed,
                node: None,
                queued: false,
            },
        }
    }
}

impl Acquiring {
    fn poll_acquire(
        &mut self,
        semaphore: &Semaphore,
        cx: &Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let n = self.needed;
        if n > Semaphore::MAX_PERMITS {
            return Poll::Ready(Err(AcquireError::TooMany { requested: n }));
        }
        let mut retry = false;
        loop {
            if self.queued {
                let node = self
                    .node
                    .as_ref()
                    .expect("a queued future has its node")
                    .get();
                // Still queued: keep the newest waker (under the lock, so a
                // release either finds it or has taken the node off).
                // SAFETY: our node, queued only in this semaphore.
                if node.is_queued() && unsafe { semaphore.register(node, cx.waker()) } {
                    return Poll::Pending;
                }
                self.queued = false;
                if node.granted() {
                    // Assigned in hand-off mode: the `queued` flag's
                    // Release/Acquire pair published the assignment (and the
                    // releases' writes).
                    return Poll::Ready(Ok(()));
                }
                // Woken to retry (or by `close`, which the retry reports).
                retry = true;
            }
            match semaphore.try_take(n) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError::Closed)),
                Err(TryAcquireError::TooMany { requested }) => {
                    return Poll::Ready(Err(AcquireError::TooMany { requested }));
                }
                Err(TryAcquireError::NoPermits) => {}
            }
            let node = self.node.get_or_insert_with(|| HeapNode::new(n)).get();
            // SAFETY: the node is off the queue (`queued` is clear: never
            // queued, or seen off it above), and it stays on the heap at
            // this address until our drop, which cancels it first if it is
            // still queued (`queued` is set before anything else can fail).
            match unsafe { semaphore.enqueue(node, cx.waker(), retry) } {
                Enqueued::Acquired => return Poll::Ready(Ok(())),
                Enqueued::Closed => return Poll::Ready(Err(AcquireError::Closed)),
                Enqueued::Waiting => {
                    self.queued = true;
                    // The waker went in with the node, before it was queued:
                    // a release finds it there. Pending, unless taken off
                    // the queue already (then the loop handles it).
                    if node.is_queued() {
                        return Poll::Pending;
                    }
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
        if !self.state.queued {
            return; // completed, or not queued: nothing to give back.
        }
        let (Some(semaphore), Some(node)) = (&self.semaphore, &self.state.node) else {
            // Unreachable (a queued future has both). Were it reached, a
            // leaked node is safe where a freed queued one would not be.
            debug_assert!(false, "a queued future has its semaphore and node");
            core::mem::forget(self.state.node.take());
            return;
        };
        // `Ok`: granted before we left, or woken and the retry took the
        // permits; either way they are ours, and releasing them passes them
        // (or a wake-up for them) to the next waiter. Either way the node is
        // off the queue afterwards, and its drop (after this) frees it.
        // SAFETY: our node, queued only in this semaphore.
        if unsafe { semaphore.cancel(node.get()) }.is_ok() {
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
