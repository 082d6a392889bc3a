//! Waiting without burning a core: one-shot signals and a FIFO wait queue.
//!
//! The blocking layers ([`RingBuffer`](crate::RingBuffer)'s `push`/`pop`,
//! [`Semaphore`](crate::Semaphore)'s `acquire`) and their async forms
//! (`push_async`, `pop_async`, `acquire_async`) share this one mechanism. A
//! waiter is a [`Signal`]: a flag that goes from *waiting* to *notified*
//! exactly once, plus a [`Waker`] slot. A thread waits on a signal by spinning
//! briefly with `Backoff`, then installing a waker that unparks it and
//! parking (`block_on_signal`, under `std`); a task installs its context's
//! waker instead ([`Signal::register`], re-checked with
//! [`Signal::is_notified`] and replaced on every poll whose waker would not
//! wake the same task) and returns `Pending`. Threads and tasks therefore sit
//! in the same queue under the same fairness policy, and none of this needs
//! `std`: the queue's lock is a spin lock without it.
//!
//! # Registering a waker
//! `notify` swaps the state to *notified*, then takes the waker under the
//! slot's lock; `register` stores the waker under that lock, then the caller
//! re-checks the state. The lock orders the two: either the notifier finds
//! the waker and wakes it, or the waiter's re-check finds *notified* and it
//! does not sleep. A later poll with another waker replaces the stored one
//! (unless [`Waker::will_wake`] says it is the same task), so the newest
//! waker is the one woken.
//!
//! # The no-lost-wake-up protocol
//! A [`WaitQueue`] is a lock-protected FIFO of signals plus an atomic count of
//! registered waiters, so that a notifier on the fast path pays one plain
//! load (a `mov` on x86-64) and touches no lock when nobody waits.
//!
//! ```text
//! waiter                                   notifier
//! 1. register: push signal,                a. make the change with a SeqCst
//!    count += 1 (SeqCst RMW)                  read-modify-write on word W
//! 2. re-check the condition with a SeqCst  b. load count (SeqCst); if 0: done
//!    load of W; if it may hold, leave      c. lock, pop the oldest signal,
//! 3. park until notified (or deadline)        notify it
//! ```
//!
//! All four steps 1, 2, a, b are SeqCst, so they sit in one total order that
//! agrees with each thread's program order. If the re-check (2) reads W from
//! before the change (a), it precedes (a) in that order, so the registration
//! (1) precedes the count load (b), which therefore sees this waiter counted
//! and wakes somebody. Otherwise the re-check saw the change and the waiter
//! does not park. Either way no waiter sleeps through a change made for it.
//!
//! The contract on the notifier is the reason the fast path needs no fence:
//! its change must be a SeqCst RMW sequenced before the notify (for the ring
//! buffer, the `head`/`tail` claim CAS, `force_push`'s moves and `close`'s
//! `fetch_or`), and the waiter re-checks that same word with a SeqCst load.
//! A fence-based form (fence, then a Relaxed load) costs an `mfence` per
//! operation on x86-64, about half the cost of an uncontended push+pop pair.
//!
//! A waiter that gives up (timeout, cancellation) after it was notified has
//! consumed a wake-up meant for somebody; [`WaitQueue::unregister`] tells it
//! so, and it passes the wake-up on with [`WaitQueue::notify_one`].
//!
//! # Sections
//! - [`Signal`]: the one-shot flag and its waker slot.
//! - [`WaitQueue`]: the FIFO of signals, and `notify_one` / `notify_all`.
//! - [`block_on_signal`] (under `std`): spin, then park a thread.

use alloc::collections::VecDeque;
use core::task::Waker;

use crate::sync::Arc;
use crate::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, SeqCst},
};

const WAITING: usize = 0;
const NOTIFIED: usize = 1;

/// A one-shot notification: `WAITING` until [`notify`](Signal::notify) sets
/// it to `NOTIFIED`, waking whatever [`Waker`] is registered at that moment.
#[derive(Debug)]
pub(crate) struct Signal {
    /// `WAITING` or `NOTIFIED`; written once by `notify`.
    state: AtomicUsize,
    /// The waker of the thread or task waiting on this signal, if any yet.
    waker: Lock<Option<Waker>>,
}

impl Signal {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: Lock::new(None),
        }
    }

    /// A signal with `waker` already installed: for a task that creates its
    /// waiter itself, it saves the locked `register` (nobody else can see
    /// the signal yet, so no re-check is needed either).
    pub(crate) fn with_waker(waker: Option<&Waker>) -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: Lock::new(waker.cloned()),
        }
    }

    /// Marks the signal notified and wakes its waiter. Returns `true` for the
    /// call that made the change.
    pub(crate) fn notify(&self) -> bool {
        // AcqRel: Release publishes what the notifier did before (e.g. permits
        // assigned to this waiter) to the Acquire load in `is_notified`.
        if self.state.swap(NOTIFIED, AcqRel) == NOTIFIED {
            return false;
        }
        // Taken under the lock that `register` stores under: either the waker
        // is already here, or `register` runs after us and its re-check of
        // `is_notified` sees the swap above (the lock orders the two).
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Whether [`notify`](Signal::notify) has been called.
    pub(crate) fn is_notified(&self) -> bool {
        // Acquire: pairs with the AcqRel swap in `notify`.
        self.state.load(Acquire) == NOTIFIED
    }

    /// Installs `waker` as the one to wake, replacing an older one unless it
    /// would wake the same task. The caller must re-check
    /// [`is_notified`](Signal::is_notified) afterwards before it sleeps.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        match &*slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

/// A FIFO of waiters, each a [`Signal`], with a lock-free "anyone waiting?"
/// check for the notifier's fast path. See the module docs for the protocol.
#[derive(Debug)]
pub(crate) struct WaitQueue {
    /// How many signals are queued. Read without the lock by notifiers; zero
    /// means the notify is one load, nothing more.
    waiting: AtomicUsize,
    /// The queued signals, oldest first.
    list: Lock<VecDeque<Arc<Signal>>>,
}

impl WaitQueue {
    pub(crate) fn new() -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            list: Lock::new(VecDeque::new()),
        }
    }

    /// Step 1 of the protocol: queues a fresh signal. The caller must then
    /// re-check its condition (step 2, a SeqCst load of the notifier's word)
    /// before waiting on the signal.
    pub(crate) fn register(&self) -> Arc<Signal> {
        let signal = Arc::new(Signal::new());
        self.register_signal(&signal);
        signal
    }

    /// Queues an existing (not yet notified) signal, as `register` does.
    pub(crate) fn register_signal(&self, signal: &Arc<Signal>) {
        {
            let mut list = self.list.lock();
            list.push_back(Arc::clone(signal));
            // SeqCst: pairs with the SeqCst count load in `notify_one` /
            // `notify_all`; ordered before the caller's SeqCst re-check
            // (store→load), see the module docs.
            self.waiting.fetch_add(1, SeqCst);
        }
        // Under loom only: loom weakens SeqCst accesses to AcqRel.
        crate::sync::sc_order_for_loom();
    }

    /// Removes `signal` if it is still queued and returns `true`. `false`
    /// means a notifier already took it: if the caller will not act on that
    /// wake-up, it must pass it on with [`notify_one`](WaitQueue::notify_one).
    pub(crate) fn unregister(&self, signal: &Arc<Signal>) -> bool {
        let mut list = self.list.lock();
        match list.iter().position(|queued| Arc::ptr_eq(queued, signal)) {
            Some(index) => {
                list.remove(index);
                // Relaxed: under the list's lock, which orders it with every
                // other change of the list; an RMW loses no SeqCst increment,
                // and a notifier that still reads the old count only takes
                // the lock and finds the list as it is.
                self.waiting.fetch_sub(1, Relaxed);
                true
            }
            None => false,
        }
    }

    /// Takes `signal` off the queue for a waiter that will not wait on it any
    /// more (it succeeded on a retry, timed out, or its future was dropped).
    /// If a notifier had already dequeued it, the wake-up it carried is passed
    /// on, so the room or value it announced still reaches a waiter.
    pub(crate) fn leave(&self, signal: &Arc<Signal>) {
        if !self.unregister(signal) {
            self.notify_one();
        }
    }

    /// Wakes the oldest waiter, if any. Call after making the change waiters
    /// wait for, with a SeqCst read-modify-write (see the module docs).
    /// Returns whether a waiter was woken.
    ///
    /// Inlined so that the common case (nobody waits) is one load and a
    /// branch in the caller; the locked part is out of line and cold.
    #[inline(always)]
    pub(crate) fn notify_one(&self) -> bool {
        // SeqCst: pairs with the SeqCst increment in `register_signal`; the
        // caller's SeqCst RMW before this load must not reorder with it
        // (store→load), which SeqCst on both guarantees. (Under loom, which
        // weakens SeqCst accesses, a SeqCst fence stands in for that order.)
        crate::sync::sc_order_for_loom();
        if self.waiting.load(SeqCst) == 0 {
            return false;
        }
        self.wake_oldest()
    }

    /// The slow half of `notify_one`: dequeue the oldest signal and notify it.
    #[cold]
    #[inline(never)]
    fn wake_oldest(&self) -> bool {
        let signal = {
            let mut list = self.list.lock();
            let signal = list.pop_front();
            if signal.is_some() {
                // Relaxed: under the lock, as in `unregister`.
                self.waiting.fetch_sub(1, Relaxed);
            }
            signal
        };
        // Woken outside the lock: the woken thread's first act may be to take
        // this same lock (to re-register).
        signal.is_some_and(|signal| signal.notify())
    }

    /// Wakes every queued waiter (used by `close`).
    pub(crate) fn notify_all(&self) {
        // SeqCst: as in `notify_one`.
        crate::sync::sc_order_for_loom();
        if self.waiting.load(SeqCst) == 0 {
            return;
        }
        let drained: VecDeque<Arc<Signal>> = {
            let mut list = self.list.lock();
            // Relaxed: under the lock, as in `unregister`. A plain store is
            // safe because every increment is made under this lock too.
            self.waiting.store(0, Relaxed);
            core::mem::take(&mut *list)
        };
        for signal in drained {
            signal.notify();
        }
    }
}

/// Spins briefly, then parks the current thread until `signal` is notified
/// or `deadline` passes. Returns whether the signal was notified.
///
/// The spin phase covers the common case of a wake-up that arrives within a
/// microsecond or so without a trip through the OS scheduler. Under loom
/// there is none: each spin hint is a forced yield there, so the 127 of a
/// spin phase would hand every other thread its turn before this one could
/// reach the park path, and hide the races in and after that path (a
/// timed-out waiter racing its grant, for one) beyond any preemption bound.
#[cfg(feature = "std")]
pub(crate) fn block_on_signal(signal: &Signal, deadline: Option<std::time::Instant>) -> bool {
    #[cfg(not(freelane_loom))]
    {
        let backoff = crate::sync::Backoff::new();
        while !backoff.is_completed() {
            if signal.is_notified() {
                return true;
            }
            backoff.snooze();
        }
    }
    signal.register(&thread_waker());
    loop {
        if signal.is_notified() {
            return true;
        }
        match deadline {
            None => crate::sync::thread::park(),
            Some(deadline) => {
                let now = std::time::Instant::now();
                if now >= deadline {
                    return signal.is_notified();
                }
                crate::sync::thread::park_timeout(deadline - now);
            }
        }
    }
}

/// A [`Waker`] that unparks the current thread.
#[cfg(feature = "std")]
pub(crate) fn thread_waker() -> Waker {
    struct Unpark(crate::sync::thread::Thread);
    impl alloc::task::Wake for Unpark {
        fn wake(self: alloc::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &alloc::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(alloc::sync::Arc::new(
        Unpark(crate::sync::thread::current()),
    ))
}

/// Converts a timeout into a deadline; one too far away to represent means
/// "no deadline" rather than a panic.
#[cfg(feature = "std")]
pub(crate) fn deadline_after(timeout: core::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(timeout)
}

/// The waiter list's lock: std's mutex under `std` (a preempted holder parks
/// its contenders instead of making them spin), a small spin lock without it.
/// Held only on slow paths, for a few instructions.
#[derive(Debug, Default)]
pub(crate) struct Lock<T> {
    #[cfg(feature = "std")]
    inner: crate::sync::Mutex<T>,
    #[cfg(not(feature = "std"))]
    inner: spin::SpinLock<T>,
}

impl<T> Lock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            #[cfg(feature = "std")]
            inner: crate::sync::Mutex::new(value),
            #[cfg(not(feature = "std"))]
            inner: spin::SpinLock::new(value),
        }
    }

    /// Locks. A poisoned mutex is taken over as is: every critical section in
    /// this crate leaves its data consistent before anything that can panic.
    #[cfg(feature = "std")]
    pub(crate) fn lock(&self) -> crate::sync::MutexGuard<'_, T> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Locks, spinning with backoff while another holder is inside.
    #[cfg(not(feature = "std"))]
    pub(crate) fn lock(&self) -> spin::SpinGuard<'_, T> {
        self.inner.lock()
    }
}

#[cfg(not(feature = "std"))]
mod spin {
    //! A test-and-test-and-set lock for `no_std` builds, where there is no OS
    //! to park on. It guards only short waiter-list edits.

    use core::ops::{Deref, DerefMut};

    use crate::sync::atomic::{
        AtomicBool,
        Ordering::{Acquire, Relaxed, Release},
    };
    use crate::sync::{Backoff, UnsafeCell};

    #[derive(Debug, Default)]
    pub(crate) struct SpinLock<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out access to `value` to one holder at a time,
    // so sharing the lock only ever moves `T` between threads: `T: Send`.
    unsafe impl<T: Send> Sync for SpinLock<T> {}

    impl<T> SpinLock<T> {
        pub(crate) fn new(value: T) -> Self {
            Self {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
            let backoff = Backoff::new();
            loop {
                // Acquire: pairs with the Release store in `SpinGuard::drop`;
                // makes the previous holder's writes to `value` visible.
                if !self.locked.load(Relaxed) && !self.locked.swap(true, Acquire) {
                    return SpinGuard { lock: self };
                }
                backoff.snooze();
            }
        }
    }

    pub(crate) struct SpinGuard<'a, T> {
        lock: &'a SpinLock<T>,
    }

    impl<T> Deref for SpinGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard exists only while `locked` is held by us, so
            // no other reference to `value` is live.
            self.lock.value.with(|ptr| unsafe { &*ptr })
        }
    }

    impl<T> DerefMut for SpinGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`; `&mut self` makes this the only access
            // through the guard.
            self.lock.value.with_mut(|ptr| unsafe { &mut *ptr })
        }
    }

    impl<T> Drop for SpinGuard<'_, T> {
        fn drop(&mut self) {
            // Release: pairs with the Acquire swap in `lock`; publishes this
            // holder's writes to `value` to the next holder.
            self.lock.locked.store(false, Release);
        }
    }
}
