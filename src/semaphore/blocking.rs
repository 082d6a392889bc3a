//! The blocking acquires of [`Semaphore`] (`std` only): a thread spins
//! briefly on the lock-free path, then queues a waiter node (on its own
//! stack) in the waiter queue (`queue.rs`, which also holds the policy that
//! serves it), spins a little more and parks until the node leaves the
//! queue: granted its permits, woken to retry, closed out; or until it times
//! out.

use alloc::sync::Arc;

use super::queue::{Enqueued, Waiter};
use super::{Handle, OwnedPermit, Permit, Semaphore};
use crate::error::{AcquireError, TryAcquireError};

impl Semaphore {
    /// `try_take`, retried with backoff (spinning, then yielding) for a few
    /// microseconds: most waits for a permit end within a holder's short
    /// critical section, without queueing. Not under loom, where each spin is
    /// a forced yield that would hide the queueing races (see
    /// `wait::block_on`).
    fn spin_take(&self, n: usize) -> Result<(), TryAcquireError> {
        #[cfg(not(any(freelane_loom, miri)))]
        {
            let backoff = crate::sync::Backoff::new();
            loop {
                match self.try_take(n) {
                    Err(TryAcquireError::NoPermits) if !backoff.is_completed() => {
                        backoff.snooze();
                    }
                    done => return done,
                }
            }
        }
        #[cfg(any(freelane_loom, miri))]
        self.try_take(n)
    }

    /// Waits for `n <= MAX_PERMITS` permits until `deadline`, if any.
    fn wait_for(
        &self,
        n: usize,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), TryAcquireError> {
        match self.spin_take(n) {
            Err(TryAcquireError::NoPermits) => {}
            done => return done,
        }
        // Our node, on this frame, for every retry of this wait: a blocking
        // wait allocates nothing. Declared before the guard, so dropped
        // after it.
        let node = Waiter::new(n);
        let _unqueue = Unqueue {
            semaphore: self,
            node: &node,
            n,
        };
        let mut retry = false;
        loop {
            // The thread's cached waker goes into the node with it.
            let verdict = crate::wait::with_thread_waker(|waker, _| {
                // SAFETY: the node is off the queue (never queued, or seen
                // off it below), and it stays on this frame until we return,
                // which happens only once it is off the queue again: seen
                // off it, or cancelled; on an unwind, `_unqueue` cancels it
                // before the frame goes.
                unsafe { self.enqueue(&node, waker, retry) }
            });
            match verdict {
                Enqueued::Acquired => return Ok(()),
                Enqueued::Closed => return Err(TryAcquireError::Closed),
                Enqueued::Waiting => {}
            }
            if !crate::wait::block_on(|| !node.is_queued(), deadline) {
                // Timed out, but a release or close may have taken the node
                // off the queue since: `cancel` decides under the lock.
                // SAFETY: our node, queued only here.
                return unsafe { self.cancel(&node) };
            }
            if node.granted() {
                return Ok(());
            }
            // Woken to retry (or by `close`: the retry sees CLOSED).
            retry = true;
            match self.spin_take(n) {
                Err(TryAcquireError::NoPermits) => {}
                done => return done,
            }
        }
    }
}

/// Takes a blocked thread's node off the queue if the thread unwinds while
/// it is queued. Nothing in a blocking wait is expected to panic there, but
/// the node's frame must never go away while the queue points to it.
struct Unqueue<'a> {
    semaphore: &'a Semaphore,
    node: &'a Waiter,
    n: usize,
}

impl Drop for Unqueue<'_> {
    fn drop(&mut self) {
        // Off the queue already on every normal return: one load.
        // SAFETY: the waiting thread's node, queued only in this semaphore.
        if self.node.is_queued() && unsafe { self.semaphore.cancel(self.node) }.is_ok() {
            // Granted meanwhile: the permits go back, with their wake-up.
            self.semaphore.release(self.n);
        }
    }
}

impl Semaphore {
    /// Takes one permit, waiting for one if none is available: the thread
    /// spins briefly, then parks until a release hands it a permit or the
    /// semaphore is closed ([`AcquireError::Closed`]).
    ///
    /// Other callers may take a released permit first, but not for long:
    /// see [Fairness](Semaphore#fairness).
    ///
    /// ```
    /// use freelane::Semaphore;
    /// use std::thread;
    ///
    /// let sem = Semaphore::new(1);
    /// let held = sem.acquire().unwrap();
    /// thread::scope(|scope| {
    ///     let waiter = scope.spawn(|| sem.acquire().map(|permit| permit.permits()));
    ///     drop(held); // wakes the waiter
    ///     assert_eq!(waiter.join().unwrap(), Ok(1));
    /// });
    /// ```
    pub fn acquire(&self) -> Result<Permit<'_>, AcquireError> {
        self.acquire_many(1)
    }

    /// Takes `n` permits at once, waiting until all of them are available.
    ///
    /// Once it queues (after a short spin), nobody overtakes it (see
    /// [Fairness](Semaphore#fairness)). Fails at once with [`AcquireError::TooMany`] if `n` exceeds
    /// [`MAX_PERMITS`](Semaphore::MAX_PERMITS), and with
    /// [`AcquireError::Closed`] if the semaphore is or becomes closed while it
    /// waits (any permits set aside for it go back).
    ///
    /// An `n` no larger than `MAX_PERMITS` but larger than the permits in
    /// existence (available plus held) waits until
    /// [`add_permits`](Semaphore::add_permits) makes up the difference, or
    /// [`close`](Semaphore::close); until then, since nobody overtakes it,
    /// every waiter queued behind it waits too. tokio's semaphore behaves
    /// the same way.
    ///
    /// ```
    /// use freelane::{AcquireError, Semaphore};
    ///
    /// let sem = Semaphore::new(3);
    /// assert_eq!(sem.acquire_many(3).unwrap().permits(), 3);
    /// assert_eq!(
    ///     sem.acquire_many(usize::MAX).unwrap_err(),
    ///     AcquireError::TooMany { requested: usize::MAX }
    /// );
    /// ```
    pub fn acquire_many(&self, n: usize) -> Result<Permit<'_>, AcquireError> {
        self.wait_forever(n)?;
        Ok(self.into_permit(n))
    }

    /// Takes one permit, waiting at most `timeout` for it. Fails with
    /// [`TryAcquireError::NoPermits`] when the timeout passes (never before),
    /// and [`TryAcquireError::Closed`] if the semaphore is or becomes closed. A
    /// timeout too large to represent as a deadline means no deadline.
    ///
    /// ```
    /// use freelane::{Semaphore, TryAcquireError};
    /// use std::time::Duration;
    ///
    /// let sem = Semaphore::new(1);
    /// let _held = sem.acquire_timeout(Duration::from_secs(1)).unwrap();
    /// assert_eq!(
    ///     sem.acquire_timeout(Duration::from_millis(10)).unwrap_err(),
    ///     TryAcquireError::NoPermits
    /// );
    /// ```
    pub fn acquire_timeout(
        &self,
        timeout: core::time::Duration,
    ) -> Result<Permit<'_>, TryAcquireError> {
        self.acquire_many_timeout(1, timeout)
    }

    /// Takes `n` permits at once, waiting at most `timeout` for all of them.
    /// On a timeout, the permits set aside for it so far pass on to the next
    /// waiter or back to the semaphore; none is lost. `n` above
    /// [`MAX_PERMITS`](Semaphore::MAX_PERMITS) fails at once with
    /// [`TryAcquireError::TooMany`], as [`acquire_many`](Semaphore::acquire_many)
    /// does. As there, an `n` above the permits in existence waits the whole
    /// timeout, holding up the waiters behind it meanwhile.
    ///
    /// ```
    /// use freelane::{Semaphore, TryAcquireError};
    /// use std::time::Duration;
    ///
    /// let sem = Semaphore::new(2);
    /// let err = sem.acquire_many_timeout(3, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err, TryAcquireError::NoPermits);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn acquire_many_timeout(
        &self,
        n: usize,
        timeout: core::time::Duration,
    ) -> Result<Permit<'_>, TryAcquireError> {
        if n > Self::MAX_PERMITS {
            return Err(TryAcquireError::TooMany { requested: n });
        }
        let deadline = crate::wait::deadline_after(timeout);
        self.wait_for(n, deadline)?;
        Ok(self.into_permit(n))
    }

    /// Takes one permit, waiting as [`acquire`](Semaphore::acquire) does, into
    /// a permit that owns a reference to the semaphore.
    ///
    /// ```
    /// use freelane::Semaphore;
    /// use std::sync::Arc;
    /// use std::thread;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// let workers: Vec<_> = (0..4)
    ///     .map(|_| {
    ///         let permit = Arc::clone(&sem).acquire_owned();
    ///         thread::spawn(move || drop(permit))
    ///     })
    ///     .collect();
    /// for worker in workers {
    ///     worker.join().unwrap();
    /// }
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn acquire_owned(self: Arc<Self>) -> Result<OwnedPermit, AcquireError> {
        self.acquire_many_owned(1)
    }

    /// Takes `n` permits, waiting as [`acquire_many`](Semaphore::acquire_many)
    /// does, into an [`OwnedPermit`].
    ///
    /// ```
    /// use freelane::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(3));
    /// let permit = Arc::clone(&sem).acquire_many_owned(2).unwrap();
    /// assert_eq!((permit.permits(), sem.available_permits()), (2, 1));
    /// ```
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> Result<OwnedPermit, AcquireError> {
        self.wait_forever(n)?;
        Ok(self.into_permit(n))
    }

    /// `wait_for` without a deadline, with `acquire`'s errors.
    fn wait_forever(&self, n: usize) -> Result<(), AcquireError> {
        if n > Self::MAX_PERMITS {
            return Err(AcquireError::TooMany { requested: n });
        }
        self.wait_for(n, None).map_err(|error| {
            debug_assert_eq!(error, TryAcquireError::Closed, "no deadline, so no timeout");
            AcquireError::Closed
        })
    }
}
