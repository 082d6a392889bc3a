//! The async layer of [`RingBuffer`]: `push_async` and `pop_async`, futures
//! that wait for room or for a value under any executor. They need only
//! `core::task::Waker` and `alloc`, so they exist without `std` too.
//!
//! Each future runs the protocol of `crate::wait` through
//! [`AsyncWait`], the same code path as the blocking
//! layer up to the last step, on the same two queues, so blocked threads and
//! pending tasks are woken from one FIFO, oldest first. Only the last step
//! differs: instead of parking, the future stores its context's waker in its
//! signal, re-checks the signal, and returns `Pending`.
//!
//! The futures take no part in a runtime's cooperative scheduling (tokio's
//! task budget): a producer that always finds room, or a consumer that
//! always finds an element, completes every await at once and keeps its
//! worker thread. Loops that may run long that way need a yield point if
//! other tasks share the thread.
//!
//! Sections: **Poll**, **Cancellation**.
//!
//! # Poll
//! ```text
//! 0. registered and not notified: store the waker (replacing an older
//!    one that would not wake this task), re-check, Pending
//! 1. try_push / try_pop: done unless Full / Empty   (the fast path: the
//!    first poll of an uncontended call touches no waiter list)
//! 2. register a signal on the queue (a SeqCst increment of its count)
//! 3. try again (the re-check); if done, leave the queue and return
//! 4. store the waker in the signal, re-check the signal, Pending
//! ```
//! A notified signal has been dequeued by its notifier: the next poll drops
//! it and goes back to 1.
//!
//! # Cancellation
//! Dropping a future is always safe. A pending `push_async` gives up its
//! value (it is dropped with the future, never half-pushed: a value is in the
//! buffer only once a poll returned `Ready(Ok)`); a pending `pop_async` has
//! taken nothing. A future dropped while its signal is queued takes it off
//! the queue; one dropped after a notifier dequeued its signal (it was woken
//! but not polled again) passes the wake-up on with `notify_one` (the drop
//! of its `Registration` guard), so the room or value it announced reaches
//! another waiter.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::RingBuffer;
use crate::error::{PopError, PushError};
use crate::wait::AsyncWait;

/// The future of [`RingBuffer::push_async`].
struct PushAsync<'a, T> {
    ring: &'a RingBuffer<T>,
    /// The value to push; `None` once the future has completed.
    value: Option<T>,
    /// Our place on `not_full`; its drop leaves the queue (cancellation).
    wait: AsyncWait<'a>,
}

/// The future of [`RingBuffer::pop_async`].
struct PopAsync<'a, T> {
    ring: &'a RingBuffer<T>,
    /// Our place on `not_empty`; its drop leaves the queue (cancellation).
    wait: AsyncWait<'a>,
    /// Set once the future has returned `Ready`.
    done: bool,
}

// Neither future is self-referential: the value, if any, is moved in and out
// by value, never borrowed across a poll.
impl<T> Unpin for PushAsync<'_, T> {}
impl<T> Unpin for PopAsync<'_, T> {}

impl<T> Future for PushAsync<'_, T> {
    type Output = Result<(), PushError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let ring = this.ring;
        let value = this
            .value
            .take()
            .expect("`push_async` future polled after completion");
        let attempt = |value| match ring.try_push_backing_off::<false>(value) {
            Ok(()) => Ok(Ok(())),
            Err(PushError::Closed(value)) => Ok(Err(PushError::Closed(value))),
            Err(PushError::Full(value)) => Err(value),
        };
        // The value is moved into `attempt` and handed back on every path
        // that does not push it; a panic (a waker's clone) drops it with the
        // poll, as a cancellation would.
        match this.wait.poll(cx, value, attempt) {
            Ok(done) => Poll::Ready(done),
            Err(value) => {
                this.value = Some(value);
                Poll::Pending
            }
        }
    }
}

impl<T> Future for PopAsync<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`pop_async` future polled after completion");
        let ring = this.ring;
        let attempt = |()| match ring.try_pop_backing_off::<false>() {
            Ok(value) => Ok(Some(value)),
            Err(PopError::Closed) => Ok(None),
            Err(PopError::Empty) => Err(()),
        };
        match this.wait.poll(cx, (), attempt) {
            Ok(done) => {
                this.done = true;
                Poll::Ready(done)
            }
            Err(()) => Poll::Pending,
        }
    }
}

impl<T> RingBuffer<T> {
    /// Pushes `value` at the back, waiting while the buffer is full
    /// (backpressure), without blocking the thread: the future is pending
    /// until a pop makes room (or `close`), then pushes.
    ///
    /// Works under any executor (tokio, smol, embassy, a hand-written
    /// `block_on`) and without `std`. Pending pushes and pops are woken from
    /// the same oldest-first queues as blocked threads' (see the module docs
    /// of the blocking layer); a woken push competes with pushes on the fast
    /// path and waits again if it loses. The future is `Send` if `T` is.
    ///
    /// # Errors
    /// [`PushError::Closed`] with `value` if the buffer is or becomes closed
    /// while waiting; never `Full`.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes drops `value` with it and
    /// pushes nothing (the value is in the buffer only once the future
    /// returned `Ok`); if it had been woken for room and not polled since,
    /// the wake-up passes on to the next waiting push, so no room goes
    /// unannounced. Polling it again with another waker replaces the stored
    /// one: the newest waker is woken.
    ///
    /// ```
    /// use freelane::RingBuffer;
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
    /// let ring = RingBuffer::new(1);
    /// block_on(ring.push_async(1)).unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert_eq!(ring.pop(), Some(1)));
    ///     block_on(ring.push_async(2)).unwrap(); // pending until the pop
    /// });
    /// ring.close();
    /// assert_eq!(block_on(ring.push_async(3)).unwrap_err().into_inner(), 3);
    /// ```
    pub fn push_async(&self, value: T) -> impl Future<Output = Result<(), PushError<T>>> + '_ {
        PushAsync {
            ring: self,
            value: Some(value),
            wait: AsyncWait::new(&self.waiters.not_full),
        }
    }

    /// Takes the value at the front, waiting while the buffer is empty,
    /// without blocking the thread: the future is pending until a push (or
    /// `close`) wakes it. Resolves to `None` once the buffer is closed and
    /// drained.
    ///
    /// Works under any executor and without `std`; pending pops share the
    /// oldest-first queue with blocked threads. The future is `Send` if `T`
    /// is.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes takes nothing from the buffer
    /// (a value leaves the buffer only in the poll that returns it); if it had
    /// been woken for a value and not polled since, the wake-up passes on to
    /// the next waiting pop, so no value is left unannounced. Polling it
    /// again with another waker replaces the stored one.
    ///
    /// ```
    /// use freelane::RingBuffer;
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
    /// let ring = RingBuffer::new(4);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         ring.push("job").unwrap();
    ///         ring.close();
    ///     });
    ///     assert_eq!(block_on(ring.pop_async()), Some("job"));
    ///     assert_eq!(block_on(ring.pop_async()), None); // closed and drained
    /// });
    /// ```
    pub fn pop_async(&self) -> impl Future<Output = Option<T>> + '_ {
        PopAsync {
            ring: self,
            wait: AsyncWait::new(&self.waiters.not_empty),
            done: false,
        }
    }
}
