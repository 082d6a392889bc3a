//! Waiting without burning a core: one-shot signals and a FIFO wait queue.
//!
//! The blocking layer of [`RingBuffer`](crate::RingBuffer) (`push`/`pop`)
//! and its async forms (`push_async`, `pop_async`) share this one
//! mechanism. A
//! waiter is a [`Signal`]: a flag that goes from *waiting* to *notified*
//! exactly once, plus a [`Waker`] slot. A thread waits on a signal by spinning
//! briefly with `Backoff`, then installing a waker that unparks it and
//! parking (under `std`); a task installs its context's
//! waker instead ([`Signal::register`], re-checked with
//! [`Signal::is_notified`] and replaced on every poll whose waker would not
//! wake the same task) and returns `Pending`. Threads and tasks therefore sit
//! in the same queue under the same fairness policy, and none of this needs
//! `std`: the queue's lock is a critical section without it.
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
//! buffer, the compare-and-swap on a slot word that pushes, pops or
//! replaces, and the one with which `close` marks the tail slot), and the
//! waiter re-checks that same word with a SeqCst load.
//! A fence-based form (fence, then a Relaxed load) costs an `mfence` per
//! operation on x86-64, about half the cost of an uncontended push+pop pair.
//!
//! A waiter that gives up (timeout, cancellation, a panic while it is
//! queued) after it was notified has consumed a wake-up meant for somebody.
//! Its [`Registration`] is a guard: dropping it takes the signal off the
//! queue, or, if a notifier already dequeued it, passes the wake-up on with
//! [`WaitQueue::notify_one`]. So a `Waker::clone` that panics (in
//! [`WaitQueue::register`], before anything is queued, or in a later
//! [`Signal::register`] while queued) leaves no ghost waiter behind, and a
//! `wake` that panics in a notifier passes its wake-up on while it unwinds
//! ([`notify_each`], `wake_oldest`). No user code (a waker's clone, wake or
//! drop) ever runs under a lock of this module.
//!
//! # The protocol, once, for threads and tasks
//! [`register_and_check`] is steps 1-2 (register, then the re-check, which
//! is simply the operation tried again); [`block_until`] adds "park" for a
//! thread, [`AsyncWait::poll`] "store the waker and return `Pending`" for a
//! task. The ring buffer's blocking and async layers are thin calls to these
//! two. The semaphore keeps its own queue of waiter nodes (they carry permit
//! assignments, and their wakers sit under the queue's own lock; see
//! [`Semaphore`](crate::Semaphore), "Waiting") and takes from here only the
//! [`Lock`] and, for threads, [`with_thread_waker`] and [`block_on`].
//!
//! # The contract the ring core keeps
//! The re-check is the operation itself (`try_push` / `try_pop`), so the
//! wait layer is correct exactly when:
//! 1. every successful push (`try_push`, `force_push`, a batch) calls
//!    `notify_pushed`, and every successful pop `notify_popped`, after the
//!    SeqCst compare-and-swap on the slot word that made the change;
//! 2. a `Full` or `Empty` verdict comes from a SeqCst load of the slot word
//!    that the push or pop making room (a value) would compare-and-swap:
//!    the tail slot for `Full`, the head slot for `Empty` (the same slot,
//!    since room at the tail is made by popping the value one lap older in
//!    it, and a value at the head is made by filling it). An operation in
//!    flight never makes the verdict wrong: the ring is lock-free, and an
//!    operation that has not done its compare-and-swap has not happened;
//! 3. `close` calls `notify_closed` after the SeqCst compare-and-swap that
//!    sets the closed bit in the tail slot, which the verdicts also read.

//! # Steady state allocates nothing
//! A thread keeps its waker and one spare signal in thread-locals; a future
//! keeps its signal across its retries and gives it back to its queue's
//! pool (at most [`POOL`] kept) when it ends. The queue's `VecDeque` grows
//! to the largest number of concurrent waiters and stays there.
//!
//! # Interrupts (without `std`)
//! Without `std` the [`Lock`] is a `critical-section` critical section: a
//! context holding it cannot be interrupted (on one core) or is running (on
//! another), so nothing ever spins on it waiting for an interrupted holder.
//! Interrupt-safe, therefore, from any context including an interrupt
//! handler: every non-blocking operation (`RingBuffer::try_*`,
//! `force_push`, `close`; `Semaphore::try_acquire*`, `add_permits`,
//! `close`, dropping a permit) and polling an async wait. Each takes the
//! critical section only while somebody waits, for a few instructions;
//! wakers are woken after it ends. The application provides the
//! critical-section implementation.
//!
//! # Sections
//! - [`Signal`]: the one-shot flag and its waker slot; [`notify_each`].
//! - [`WaitQueue`], [`Registration`]: the FIFO of signals and its guard.
//! - [`RingWaiters`]: the ring's two queues, each cache-padded.
//! - [`register_and_check`], [`block_until`], [`AsyncWait`]: the protocol.
//! - [`block_on`], [`with_thread_waker`] (under `std`): park a thread.
//! - [`Lock`]: std's mutex, or a critical section.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::task::{Context, Waker};

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
    /// `WAITING` or `NOTIFIED`; written once by `notify` (and reset by the
    /// owner of an unshared signal, for reuse).
    state: AtomicUsize,
    /// The waker of the thread or task waiting on this signal, if any yet.
    /// Only moved in and out under the lock: no user code runs under it.
    waker: Lock<Option<Waker>>,
}

impl Signal {
    /// A signal holding `waker`.
    fn new(waker: Option<Waker>) -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: Lock::new(waker),
        }
    }

    /// Makes an unshared signal fresh again, with `waker` installed; returns
    /// the old waker, for the caller to drop outside any lock.
    fn reset(&mut self, waker: Option<Waker>) -> Option<Waker> {
        // Relaxed: `&mut self`, nobody else can see the signal.
        self.state.store(WAITING, Relaxed);
        core::mem::replace(&mut *self.waker.lock(), waker)
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
        // Woken with no lock held: `wake` is user code and may panic.
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
    ///
    /// The clone and the old waker's drop (user code, which may panic) run
    /// outside the lock; a panic in either leaves the signal as it was, or
    /// with the new waker installed.
    pub(crate) fn register(&self, waker: &Waker) {
        let same = self
            .waker
            .lock()
            .as_ref()
            .is_some_and(|old| old.will_wake(waker));
        if same {
            return;
        }
        let new = waker.clone();
        let old = self.waker.lock().replace(new);
        drop(old);
    }
}

/// Notifies `waiters[i]`'s signal for each, in order. A `wake` that panics
/// does not strand the rest: while that panic unwinds, the remaining ones
/// are still notified (a second panic among them aborts, as any panic during
/// unwinding does).
pub(crate) fn notify_each<W>(waiters: impl IntoIterator<Item = W>, signal: fn(&W) -> &Signal) {
    struct Rest<I: Iterator<Item = W>, W> {
        waiters: I,
        signal: fn(&W) -> &Signal,
    }
    impl<I: Iterator<Item = W>, W> Drop for Rest<I, W> {
        fn drop(&mut self) {
            // Reached normally (the loop below drained everything, so this
            // is a no-op) or while a `wake` panics.
            for waiter in &mut self.waiters {
                (self.signal)(&waiter).notify();
            }
        }
    }
    let mut rest = Rest {
        waiters: waiters.into_iter(),
        signal,
    };
    let signal = rest.signal;
    for waiter in rest.waiters.by_ref() {
        signal(&waiter).notify();
    }
}

/// What a [`WaitQueue`]'s lock guards.
#[derive(Debug, Default)]
struct List {
    /// The queued signals, oldest first.
    queued: VecDeque<Arc<Signal>>,
    /// Fresh signals for reuse, so that a wait in steady state allocates
    /// nothing (at most [`POOL`] kept).
    pool: Vec<Arc<Signal>>,
}

/// How many spare signals a queue keeps. Each is one small allocation (a
/// state word, a lock and a waker); more concurrent waiters than this
/// allocate for the excess.
const POOL: usize = 32;

/// A FIFO of waiters, each a [`Signal`], with a lock-free "anyone waiting?"
/// check for the notifier's fast path. See the module docs for the protocol.
#[derive(Debug)]
pub(crate) struct WaitQueue {
    /// How many signals are queued. Read without the lock by notifiers; zero
    /// means the notify is one load, nothing more.
    waiting: AtomicUsize,
    /// The queued signals and the spares.
    list: Lock<List>,
}

impl WaitQueue {
    pub(crate) fn new() -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            list: Lock::new(List::default()),
        }
    }

    /// Step 1 of the protocol: queues a fresh signal with `waker` installed
    /// and returns the guard that takes it off again. The caller must then
    /// re-check its condition (step 2, a SeqCst load of the notifier's word)
    /// before it waits.
    ///
    /// `spare` is the caller's own cache of a signal (a future keeps one
    /// across its retries, a thread one per thread); it is used if nobody
    /// else holds it, else one from the queue's pool, else a new one. The
    /// waker is cloned before the lock is taken.
    pub(crate) fn register(
        &self,
        spare: &mut Option<Arc<Signal>>,
        waker: &Waker,
    ) -> Registration<'_> {
        let waker = waker.clone(); // user code: no lock held, nothing queued
        let signal = match spare.take() {
            Some(mut signal) => match Arc::get_mut(&mut signal) {
                Some(unshared) => {
                    // The stale waker's drop is user code: no lock held.
                    drop(unshared.reset(Some(waker)));
                    signal
                }
                None => Arc::new(Signal::new(Some(waker))),
            },
            None => Arc::new(Signal::new(Some(waker))),
        };
        self.enqueue(&signal);
        Registration {
            queue: self,
            signal: Some(signal),
        }
    }

    /// Takes a signal from the pool (or a new one) for a waiter without a
    /// spare; see [`register`](WaitQueue::register).
    pub(crate) fn spare(&self) -> Option<Arc<Signal>> {
        self.list.lock().pool.pop()
    }

    /// Gives an unused signal back to the pool (a future's spare, when the
    /// future is done), if nobody else holds it and the pool has room.
    pub(crate) fn recycle(&self, mut signal: Arc<Signal>) {
        let Some(unshared) = Arc::get_mut(&mut signal) else {
            return; // a notifier still holds it: it is freed with its last reference
        };
        let old = unshared.reset(None);
        drop(old); // user code (the waker's drop): before the lock
        let mut list = self.list.lock();
        if list.pool.len() < POOL {
            list.pool.push(signal);
        }
    }

    /// Pushes `signal` and counts it.
    fn enqueue(&self, signal: &Arc<Signal>) {
        {
            let mut list = self.list.lock();
            list.queued.push_back(Arc::clone(signal));
            // SeqCst: pairs with the SeqCst count load in `notify_one` /
            // `notify_all`; ordered before the caller's SeqCst re-check
            // (store→load), see the module docs.
            self.waiting.fetch_add(1, SeqCst);
        }
        // Under loom only: loom weakens SeqCst accesses to AcqRel.
        crate::sync::sc_order_for_loom();
    }

    /// Removes `signal` if it is still queued and returns `true`. `false`
    /// means a notifier already took it.
    fn unregister(&self, signal: &Arc<Signal>) -> bool {
        let mut list = self.list.lock();
        match list
            .queued
            .iter()
            .position(|queued| Arc::ptr_eq(queued, signal))
        {
            Some(index) => {
                list.queued.remove(index);
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

    /// Wakes the oldest waiter, if any. Call after making the change waiters
    /// wait for, with a SeqCst read-modify-write (see the module docs).
    /// Returns whether a waiter was woken.
    ///
    /// Inlined so that the common case (nobody waits) is one load and a
    /// branch in the caller; the locked part is out of line and cold.
    #[inline(always)]
    pub(crate) fn notify_one(&self) -> bool {
        // SeqCst: pairs with the SeqCst increment in `enqueue`; the caller's
        // SeqCst RMW before this load must not reorder with it (store→load),
        // which SeqCst on both guarantees. (Under loom, which weakens SeqCst
        // accesses, a SeqCst fence stands in for that order.)
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
            let signal = list.queued.pop_front();
            if signal.is_some() {
                // Relaxed: under the lock, as in `unregister`.
                self.waiting.fetch_sub(1, Relaxed);
            }
            signal
        };
        let Some(signal) = signal else {
            return false;
        };
        // Woken outside the lock: the woken thread's first act may be to take
        // this same lock (to re-register). If the waker panics, the wake-up
        // it carried passes on to the next waiter while the panic unwinds, so
        // the change it announced still reaches somebody.
        struct PassOn<'a>(&'a WaitQueue);
        impl Drop for PassOn<'_> {
            fn drop(&mut self) {
                self.0.notify_one();
            }
        }
        let pass_on = PassOn(self);
        let woke = signal.notify();
        core::mem::forget(pass_on);
        woke
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
            core::mem::take(&mut list.queued)
        };
        notify_each(drained, |signal| signal);
    }
}

/// A signal on a [`WaitQueue`], from [`WaitQueue::register`] until the
/// waiter is done with it. Dropping it leaves the queue: if the signal is
/// still queued it is taken off; if a notifier already dequeued it (the
/// waiter swallowed a wake-up it will not act on) the wake-up is passed on
/// with `notify_one`. So a waiter that unwinds (a panicking waker), times
/// out or is cancelled leaves no ghost behind and loses no wake-up.
#[derive(Debug)]
pub(crate) struct Registration<'a> {
    queue: &'a WaitQueue,
    /// `None` only while being taken apart.
    signal: Option<Arc<Signal>>,
}

impl Registration<'_> {
    fn signal(&self) -> &Signal {
        self.signal.as_deref().expect("taken only by `into_spare`")
    }

    /// Whether a notifier has dequeued and notified the signal.
    pub(crate) fn is_notified(&self) -> bool {
        self.signal().is_notified()
    }

    /// Stores a task's newest waker (see [`Signal::register`]), then
    /// re-checks: `true` means still waiting.
    pub(crate) fn still_waiting(&self, waker: &Waker) -> bool {
        if self.is_notified() {
            return false;
        }
        self.signal().register(waker);
        // Re-check after storing: a notify that ran before the store found
        // no waker to wake (see `Signal::notify`).
        !self.is_notified()
    }

    /// Done after a wake-up the waiter acts on (it retries): nothing to pass
    /// on. Returns the signal, to reuse for the next registration.
    pub(crate) fn into_spare(mut self) -> Arc<Signal> {
        debug_assert!(
            self.is_notified(),
            "only a notified signal is off the queue"
        );
        self.signal.take().expect("present until taken")
    }

    /// Leaves the queue (passing on a wake-up already taken, see the type
    /// docs) and returns the signal for reuse.
    pub(crate) fn leave(mut self) -> Arc<Signal> {
        let signal = self.signal.take().expect("present until taken");
        if !self.queue.unregister(&signal) {
            self.queue.notify_one();
        }
        signal
    }

    /// Spins briefly, then parks the thread until notified or `deadline`
    /// passes (`std` only). Returns whether it was notified. The signal was
    /// registered with the thread's waker ([`with_thread_waker`]).
    #[cfg(feature = "std")]
    pub(crate) fn block(&self, deadline: Option<std::time::Instant>) -> bool {
        block_on_signal_after_spin(self.signal(), deadline)
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Some(signal) = self.signal.take()
            && !self.queue.unregister(&signal)
        {
            self.queue.notify_one();
        }
    }
}

/// The two queues of a [`RingBuffer`](crate::RingBuffer): blocked or
/// pending pops wait on `not_empty`, pushes on `not_full`. Each on its own
/// cache lines (a `CachePadded`, 128 bytes on x86-64 and aarch64, 32 on
/// Cortex-M), so that waiters registering and leaving never write a line
/// that the ring's every operation reads (`head`, `tail`, the buffer
/// pointer), nor each other's.
#[derive(Debug)]
pub(crate) struct RingWaiters {
    /// Pops waiting for a value.
    pub(crate) not_empty: crate::sync::CachePadded<WaitQueue>,
    /// Pushes waiting for room.
    pub(crate) not_full: crate::sync::CachePadded<WaitQueue>,
}

impl RingWaiters {
    pub(crate) fn new() -> Self {
        Self {
            not_empty: crate::sync::CachePadded::new(WaitQueue::new()),
            not_full: crate::sync::CachePadded::new(WaitQueue::new()),
        }
    }
}

/// What one attempt of a waiting operation gave: done, or the state to try
/// again with (the value to push, or nothing).
pub(crate) type Attempt<R, S> = Result<R, S>;

/// Steps 1-2 of the protocol, shared by blocked threads and pending tasks:
/// register on `queue` with `waker`, then try `attempt` again.
pub(crate) enum Checked<'a, R, S> {
    /// The retry succeeded (the registration is dropped: left).
    Done(R),
    /// It failed after the registration: safe to sleep on it.
    Sleep(Registration<'a>, S),
}

/// Register, then re-check by retrying (see the module docs).
pub(crate) fn register_and_check<'a, S, R>(
    queue: &'a WaitQueue,
    spare: &mut Option<Arc<Signal>>,
    waker: &Waker,
    state: S,
    attempt: &mut impl FnMut(S) -> Attempt<R, S>,
) -> Checked<'a, R, S> {
    // 1. Register (a SeqCst increment of the waiter count).
    let registration = queue.register(spare, waker);
    // 2. Re-check: the operation again. Its failure comes from a SeqCst load
    // after the registration, so a change it missed is one whose notifier
    // will find us counted.
    match attempt(state) {
        Ok(done) => {
            *spare = Some(registration.leave());
            Checked::Done(done)
        }
        Err(state) => Checked::Sleep(registration, state),
    }
}

/// A blocking wait (`std`): runs `attempt` until it finishes (`Ok`), parking
/// on `queue` between tries, or until `deadline` passes (`Err` with the
/// state handed back).
///
/// The caller has already made the first attempt, inline, and failed: the
/// fast path touches no waiter state and does not enter this function
/// (out of line, it cost a `push` + `pop` pair about 110 instructions more
/// than `try_push` + `try_pop`).
#[cfg(feature = "std")]
#[cold]
pub(crate) fn block_until<S, R>(
    queue: &WaitQueue,
    deadline: Option<std::time::Instant>,
    mut state: S,
    mut attempt: impl FnMut(S) -> Attempt<R, S>,
) -> Result<R, S> {
    // 0. Spin, retrying, before registering: a registered waiter sends
    // every notifier down its locked path (and a parked one costs a futex
    // call to wake), while the room or value is usually a few hundred
    // nanoseconds away when the other side is running. `Backoff`'s spins,
    // then a few `yield_now`s; about what crossbeam-channel spins before it
    // parks, its blocking calls being the ones measured against.
    #[cfg(not(freelane_loom))]
    {
        let backoff = crate::sync::Backoff::new();
        while !backoff.is_completed() {
            backoff.snooze();
            state = match attempt(state) {
                Ok(done) => return Ok(done),
                Err(state) => state,
            };
            if deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
                return Err(state);
            }
        }
    }
    with_thread_waker(|waker, spare| {
        loop {
            if deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
                return Err(state);
            }
            match register_and_check(queue, spare, waker, state, &mut attempt) {
                Checked::Done(done) => return Ok(done),
                Checked::Sleep(registration, again) => {
                    state = again;
                    if !registration.block(deadline) {
                        *spare = Some(registration.leave());
                        return Err(state);
                    }
                    // Notified: the notifier dequeued the signal; try again.
                    *spare = Some(registration.into_spare());
                }
            }
            state = match attempt(state) {
                Ok(done) => return Ok(done),
                Err(state) => state,
            };
        }
    })
}

/// The waiting half of a future: its registration while it is queued, and
/// its spare signal between registrations.
#[derive(Debug)]
pub(crate) struct AsyncWait<'a> {
    queue: &'a WaitQueue,
    registration: Option<Registration<'a>>,
    spare: Option<Arc<Signal>>,
}

impl<'a> AsyncWait<'a> {
    pub(crate) fn new(queue: &'a WaitQueue) -> Self {
        Self {
            queue,
            registration: None,
            spare: None,
        }
    }

    /// One poll of the protocol: runs `attempt` until it finishes (`Ok`) or
    /// the future must stay pending (`Err` with the state). A registered
    /// and not yet notified future only stores its newest waker.
    pub(crate) fn poll<S, R>(
        &mut self,
        cx: &Context<'_>,
        mut state: S,
        mut attempt: impl FnMut(S) -> Attempt<R, S>,
    ) -> Result<R, S> {
        if let Some(registration) = self.registration.take() {
            if registration.still_waiting(cx.waker()) {
                self.registration = Some(registration);
                return Err(state);
            }
            // Notified: the notifier dequeued it; we act on it by retrying.
            self.spare = Some(registration.into_spare());
        }
        loop {
            // The fast path, and the retry after every wake-up.
            state = match attempt(state) {
                Ok(done) => return Ok(done),
                Err(state) => state,
            };
            if self.spare.is_none() {
                self.spare = self.queue.spare();
            }
            match register_and_check(self.queue, &mut self.spare, cx.waker(), state, &mut attempt) {
                Checked::Done(done) => return Ok(done),
                Checked::Sleep(registration, again) => {
                    // The waker went in with the signal, before it was
                    // queued: a notifier finds it there.
                    if registration.is_notified() {
                        self.spare = Some(registration.into_spare());
                        state = again;
                        continue;
                    }
                    self.registration = Some(registration);
                    return Err(again);
                }
            }
        }
    }
}

impl Drop for AsyncWait<'_> {
    fn drop(&mut self) {
        // Cancellation: the registration's own drop leaves the queue,
        // passing on a wake-up already taken.
        if let Some(registration) = self.registration.take() {
            self.spare = Some(registration.leave());
        }
        if let Some(spare) = self.spare.take() {
            self.queue.recycle(spare);
        }
    }
}

/// Runs `f` with the current thread's waker (it unparks this thread) and its
/// spare signal, both cached per thread so that a blocking wait allocates
/// nothing in steady state. Under loom, whose thread-locals would outlive a
/// model's leak check, both are made afresh.
#[cfg(feature = "std")]
pub(crate) fn with_thread_waker<R>(f: impl FnOnce(&Waker, &mut Option<Arc<Signal>>) -> R) -> R {
    #[cfg(not(freelane_loom))]
    {
        use core::cell::{Cell, OnceCell};
        std::thread_local! {
            static WAKER: OnceCell<Waker> = const { OnceCell::new() };
            static SPARE: Cell<Option<Arc<Signal>>> = const { Cell::new(None) };
        }
        let waker = WAKER.with(|waker| waker.get_or_init(thread_waker).clone());
        let mut spare = SPARE.with(Cell::take);
        let result = f(&waker, &mut spare);
        SPARE.with(|cell| cell.set(spare));
        result
    }
    #[cfg(freelane_loom)]
    {
        f(&thread_waker(), &mut None)
    }
}

/// Spins briefly, then parks the current thread until `done()` holds or
/// `deadline` passes; returns whether it holds. The semaphore's blocked
/// threads wait so for their node to leave the queue: the thread's waker
/// ([`with_thread_waker`]) must be installed where the step that makes
/// `done()` true finds it, and that step must make it true before it wakes
/// the waker (park's token covers a wake that comes before the park).
///
/// The spin phase (`Backoff`'s spins and yields) covers the common case of
/// a wake-up that arrives within a microsecond or so without a trip through
/// the OS scheduler. The semaphore's waiters use this whole phase; the
/// ring's spin before they register (`block_until`) and then park after a
/// few spins ([`POST_REGISTER_SPINS`]). Under loom there is no spin phase:
/// each spin hint is a forced yield there, so the 127 of a spin phase would
/// hand every other thread its turn before this one could reach the park
/// path, and hide the races in and after that path (a timed-out waiter
/// racing its grant, for one) beyond any preemption bound.
#[cfg(feature = "std")]
pub(crate) fn block_on(done: impl Fn() -> bool, deadline: Option<std::time::Instant>) -> bool {
    #[cfg(not(freelane_loom))]
    {
        let backoff = crate::sync::Backoff::new();
        while !backoff.is_completed() {
            if done() {
                return true;
            }
            backoff.snooze();
        }
    }
    park_until(done, deadline)
}

/// A few spins, then park: for a waiter that spun before registering.
#[cfg(feature = "std")]
fn block_on_signal_after_spin(signal: &Signal, deadline: Option<std::time::Instant>) -> bool {
    #[cfg(not(freelane_loom))]
    {
        let backoff = crate::sync::Backoff::new();
        for _ in 0..POST_REGISTER_SPINS {
            if signal.is_notified() {
                return true;
            }
            backoff.spin();
        }
    }
    park_on_signal(signal, deadline)
}

/// Parks until `signal` is notified or `deadline` passes.
#[cfg(feature = "std")]
fn park_on_signal(signal: &Signal, deadline: Option<std::time::Instant>) -> bool {
    park_until(|| signal.is_notified(), deadline)
}

/// Parks until `done()` holds or `deadline` passes; returns whether it holds.
#[cfg(feature = "std")]
fn park_until(done: impl Fn() -> bool, deadline: Option<std::time::Instant>) -> bool {
    loop {
        if done() {
            return true;
        }
        match deadline {
            None => crate::sync::thread::park(),
            Some(deadline) => {
                let now = std::time::Instant::now();
                if now >= deadline {
                    return done();
                }
                crate::sync::thread::park_timeout(deadline - now);
            }
        }
    }
}

/// Spin steps of a registered thread before it parks (`Backoff::spin`, 2^k
/// pause instructions at step k: about 250 in all).
#[cfg(all(feature = "std", not(freelane_loom)))]
const POST_REGISTER_SPINS: u32 = 7;

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

/// The waiter lists' lock: std's mutex under `std` (a preempted holder parks
/// its contenders instead of making them spin), a critical section without
/// it. Held only on slow paths, for a few instructions, and never while user
/// code (a waker's clone, wake or drop) runs.
///
/// Without `std` the lock is a [`critical_section`] (interrupts masked on a
/// single core, or the implementation's own cross-core lock): code holding it
/// cannot be interrupted, so an interrupt handler that notifies a waiter (a
/// `try_push` in an ISR, a permit dropped there) never finds the lock held
/// by the context it interrupted, and never spins on it. The application
/// provides the critical-section implementation, as for every embedded crate
/// that uses it (e.g. `cortex-m`'s `critical-section-single-core` feature).
#[derive(Debug, Default)]
pub(crate) struct Lock<T> {
    #[cfg(feature = "std")]
    inner: crate::sync::Mutex<T>,
    #[cfg(not(feature = "std"))]
    inner: cs::CsLock<T>,
}

impl<T> Lock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            #[cfg(feature = "std")]
            inner: crate::sync::Mutex::new(value),
            #[cfg(not(feature = "std"))]
            inner: cs::CsLock::new(value),
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

    /// Locks: enters a critical section.
    #[cfg(not(feature = "std"))]
    pub(crate) fn lock(&self) -> cs::CsGuard<'_, T> {
        self.inner.lock()
    }
}

#[cfg(not(feature = "std"))]
mod cs {
    //! A lock that is a critical section, for `no_std` builds, where there is
    //! no OS to park on and an interrupt may notify a waiter.

    use core::marker::PhantomData;
    use core::ops::{Deref, DerefMut};

    use crate::sync::UnsafeCell;
    use crate::sync::atomic::{AtomicBool, Ordering::Relaxed};

    #[derive(Debug, Default)]
    pub(crate) struct CsLock<T> {
        /// Set while a guard exists: catches a re-entrant `lock` of the same
        /// lock (a critical section nests, so it would not stop it, and two
        /// guards would alias `value`). The crate never does that.
        held: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out access to `value` to one holder at a time
    // (inside a critical section, and `held` rules out a nested second
    // guard), so sharing the lock only ever moves `T` between contexts:
    // `T: Send`.
    unsafe impl<T: Send> Sync for CsLock<T> {}

    impl<T> CsLock<T> {
        pub(crate) fn new(value: T) -> Self {
            Self {
                held: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        pub(crate) fn lock(&self) -> CsGuard<'_, T> {
            // SAFETY: released exactly once, by the guard's drop. Guards are
            // scoped values of this crate, never leaked, and dropped in the
            // reverse order of their creation (critical-section's nesting
            // rule): no two locks' guards are interleaved anywhere.
            let restore = unsafe { critical_section::acquire() };
            // Relaxed: inside the critical section, nothing else runs that
            // could touch this lock.
            assert!(
                !self.held.swap(true, Relaxed),
                "freelane: a waiter lock was taken twice"
            );
            CsGuard {
                lock: self,
                restore,
                _not_send: PhantomData,
            }
        }
    }

    /// Access to a [`CsLock`]'s value for the length of a critical section.
    /// Neither `Send` nor `Sync`: a critical section ends where it began.
    pub(crate) struct CsGuard<'a, T> {
        lock: &'a CsLock<T>,
        restore: critical_section::RestoreState,
        _not_send: PhantomData<*mut T>,
    }

    impl<T> Deref for CsGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard exists only inside our critical section and
            // with `held` set, so no other reference to `value` is live.
            self.lock.value.with(|ptr| unsafe { &*ptr })
        }
    }

    impl<T> DerefMut for CsGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`; `&mut self` makes this the only access
            // through the guard.
            self.lock.value.with_mut(|ptr| unsafe { &mut *ptr })
        }
    }

    impl<T> Drop for CsGuard<'_, T> {
        fn drop(&mut self) {
            // Relaxed: still inside the critical section.
            self.lock.held.store(false, Relaxed);
            // SAFETY: `restore` came from the `acquire` in `lock`, and this
            // guard is the innermost live one (see there).
            unsafe { critical_section::release(self.restore) };
        }
    }
}
