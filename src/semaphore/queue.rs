//! The waiter queue of [`Semaphore`] and the policy that serves it: who is
//! woken to retry, who is handed permits, and when hand-off mode begins and
//! ends. Blocked threads (`blocking.rs`) and pending tasks (`async_waits.rs`)
//! queue here alike, as the same [`Waiter`].
//!
//! The lock-free core (the state word, `try_take`, the release fast path)
//! is in the parent module; the fairness policy this file implements is
//! stated once, on [`Semaphore`] ("Fairness").
//!
//! Everything here runs under the waiters lock, on slow paths only: a
//! release reaches it only when `QUEUED` or `HANDOFF` is set, an acquire only
//! after its fast path failed.
//!
//! Why not the ring buffer's `wait::WaitQueue`: its entries are bare signals
//! woken first in, first out to re-check a condition. Here a waiter carries
//! a request and a permit assignment written under the lock (hand-off is a
//! grant, not a hint to retry); the entries have two modes, and a waiter
//! woken in vain goes back to the front with its arrival time; the queue's
//! state is mirrored in the semaphore's own word (`QUEUED`, `HANDOFF`),
//! changed under the same lock, so that a release learns from its one
//! read-modify-write whether anyone waits and `close` can set `CLOSED` under
//! the lock every grant holds; and a waiter that gives up passes on permits,
//! not just a wake-up. What it shares with the ring is the rest of the wait
//! layer: [`Signal`] (one per waiter, for threads and tasks), `notify_each`,
//! the [`Lock`](crate::wait::Lock), and for threads `block_on_signal` and
//! `with_thread_waker`.
//!
//! # Sections
//! - [`Queue`], [`Entry`], [`Waiter`], [`Arrival`]: what the lock guards.
//! - Release slow paths: `release_slow`, `release_handoff`, `release_wake`.
//! - The locked steps: `settle_locked`, `wake_locked`, `promote_locked`,
//!   `publish_locked`.
//! - Queueing and leaving: `enqueue`, `cancel`, `close_and_drain`.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::Semaphore;
use super::state::{
    self, CLOSED, HANDOFF, PERMIT_SHIFT, QUEUED, Step, available_in, pack, permits_in,
};
use crate::error::TryAcquireError;
use crate::sync;
use crate::sync::atomic::AtomicUsize;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::wait::Signal;
use core::task::Waker;

/// How long a queued single-permit waiter may be overtaken before the
/// semaphore hands permits to it directly, and the least time between two
/// such promotions. parking_lot's mutex makes a fair unlock every 0.5 ms on
/// average (`parking_lot/src/raw_mutex.rs`, "eventual fairness"); 1 ms keeps
/// the forced hand-offs (a context switch each) under about 1% of a
/// contended second on this workload while bounding the wait.
#[cfg(all(feature = "std", not(freelane_loom)))]
pub(super) const FAIR_BOUND: core::time::Duration = core::time::Duration::from_millis(1);

/// What the waiters lock guards: the queue and the hand-off bookkeeping.
#[derive(Debug)]
pub(super) struct Queue {
    /// Queued waiters, oldest first (a waiter woken to retry that has to
    /// queue again goes back to the front: it is older than the rest).
    entries: VecDeque<Entry>,
    /// How many queued entries are in hand-off mode. `HANDOFF` is set in the
    /// word exactly when this is non-zero.
    handoffs: usize,
    /// The earliest time of the next promotion (see [`FAIR_BOUND`]).
    #[cfg(all(feature = "std", not(freelane_loom)))]
    next_fair: Option<Now>,
}

impl Queue {
    pub(super) fn new() -> Self {
        Self {
            entries: VecDeque::new(),
            handoffs: 0,
            #[cfg(all(feature = "std", not(freelane_loom)))]
            next_fair: None,
        }
    }

    /// Whether the front waiter (in barging mode) has waited long enough to
    /// be promoted to hand-off now; takes the turn if so. `now` was read
    /// before the lock ([`fair_now`]): no clock is read under it.
    ///
    /// With a clock: it has been queued (counting from its first enqueue) for
    /// `FAIR_BOUND`, and no promotion happened in the last `FAIR_BOUND`.
    /// Loom has no clock (and `no_std` has none either): there the decision
    /// is "after the first wake-up that did not get it a permit", which loom
    /// can explore deterministically.
    fn take_fair_turn(&mut self, now: Now) -> bool {
        let Some(front) = self.entries.front() else {
            return false;
        };
        debug_assert!(!front.handoff, "called in barging mode only");
        #[cfg(all(feature = "std", not(freelane_loom)))]
        {
            if now.saturating_duration_since(front.arrival.since) < FAIR_BOUND
                || self.next_fair.is_some_and(|next| now < next)
            {
                return false;
            }
            self.next_fair = now.checked_add(FAIR_BOUND);
            true
        }
        #[cfg(not(all(feature = "std", not(freelane_loom))))]
        {
            let () = now;
            front.arrival.failed_wakeups >= 1
        }
    }
}

/// A reading of the fairness clock: quanta's TSC-based `Instant` (about
/// 10 ns a reading here, against 20-27 ns for `std::time::Instant::now()`,
/// see [`StdClock`](crate::StdClock)) where there is a clock; nothing under
/// loom and without `std`. Miri cannot run quanta's `rdtsc`, so there the
/// same decisions are made on `std::time::Instant` (Miri's virtual clock).
#[cfg(all(feature = "std", not(freelane_loom), not(miri)))]
type Now = quanta::Instant;
#[cfg(all(feature = "std", not(freelane_loom), miri))]
type Now = std::time::Instant;
#[cfg(not(all(feature = "std", not(freelane_loom))))]
type Now = ();

/// Reads the fairness clock. Called on slow paths only, and never under the
/// waiter lock (issue 13: the release path used to read `Instant::now()`
/// under it on every contended release).
#[inline]
fn fair_now() -> Now {
    #[cfg(all(feature = "std", not(freelane_loom)))]
    {
        Now::now()
    }
}

/// A queued waiter and how it is served.
#[derive(Debug)]
struct Entry {
    waiter: sync::Arc<Waiter>,
    /// In hand-off mode: released permits are assigned to it (first come,
    /// first served) instead of going into the word.
    handoff: bool,
    /// When it first queued, and how often it was woken in vain since.
    arrival: Arrival,
}

/// When a waiting acquire first queued, kept across its retries.
#[derive(Clone, Copy, Debug)]
pub(super) struct Arrival {
    #[cfg(all(feature = "std", not(freelane_loom)))]
    since: Now,
    /// Wake-ups after which its retry found no permit.
    failed_wakeups: usize,
}

impl Arrival {
    pub(super) fn now() -> Self {
        Self {
            #[cfg(all(feature = "std", not(freelane_loom)))]
            since: fair_now(),
            failed_wakeups: 0,
        }
    }

    /// The same arrival, after one more wake-up that found no permit.
    pub(super) fn after_failed_wakeup(mut self) -> Self {
        self.failed_wakeups += 1;
        self
    }
}

/// A thread or a task waiting for permits.
#[derive(Debug)]
pub(super) struct Waiter {
    /// Notified once the waiter leaves the queue: completed (`assigned ==
    /// needed`), woken to retry, or drained by `close` (both `assigned == 0`).
    pub(super) signal: Signal,
    /// How many permits it asked for; at least 1.
    needed: usize,
    /// How many it has been given so far. Written only under the waiters lock;
    /// read under it, or by the waiter after its signal (whose Release/Acquire
    /// pair publishes the writes).
    assigned: AtomicUsize,
}

impl Waiter {
    /// A waiter for `n` permits with `waker` installed, reusing `spare` (a
    /// waiter of an earlier wait of the same caller, off the queue) when
    /// nobody else holds it: in steady state a retry allocates nothing.
    /// Runs user code (the waker's clone, the old waker's drop): call it
    /// with no lock held.
    fn reuse(spare: Option<sync::Arc<Waiter>>, n: usize, waker: Option<&Waker>) -> sync::Arc<Self> {
        let fresh = Waiter {
            signal: Signal::with_waker(waker),
            needed: n,
            assigned: AtomicUsize::new(0),
        };
        match spare {
            // Unshared: off the queue, and its notifier has dropped its
            // reference (`get_mut` synchronizes with that drop), so nothing
            // can touch the old signal any more.
            Some(mut old) => match sync::Arc::get_mut(&mut old) {
                Some(slot) => {
                    *slot = fresh;
                    old
                }
                None => sync::Arc::new(fresh),
            },
            None => sync::Arc::new(fresh),
        }
    }

    /// Whether it was given all its permits (call under the lock, or after
    /// the signal: no longer queued, nobody writes `assigned`).
    pub(super) fn granted(&self) -> bool {
        // Relaxed: written under the lock; the caller's lock or the signal's
        // Acquire load orders those writes before this read.
        self.assigned.load(Relaxed) == self.needed
    }
}

/// What [`Semaphore::enqueue`] did.
pub(super) enum Enqueued {
    /// The permits were there after all; they are the caller's now.
    Acquired,
    /// The caller must wait on this waiter's signal.
    Waiting(sync::Arc<Waiter>),
    /// The semaphore is closed; nothing was queued.
    Closed,
}

/// Waiters that a locked step took off the queue, to be notified once the
/// lock is released. The first is kept inline: a release usually wakes one
/// waiter, and this path runs on every contended release, so it should not
/// allocate.
#[derive(Default)]
struct Woken {
    first: Option<sync::Arc<Waiter>>,
    rest: Vec<sync::Arc<Waiter>>,
}

impl Woken {
    fn push(&mut self, waiter: sync::Arc<Waiter>) {
        if self.first.is_none() {
            self.first = Some(waiter);
        } else {
            self.rest.push(waiter);
        }
    }
}

impl IntoIterator for Woken {
    type Item = sync::Arc<Waiter>;
    type IntoIter = core::iter::Chain<
        core::option::IntoIter<sync::Arc<Waiter>>,
        alloc::vec::IntoIter<sync::Arc<Waiter>>,
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// Notifies waiters that a locked step took off the queue (call without the
/// lock: a woken thread's first act may be to take it). A waker that panics
/// does not stop the others from being woken (`wait::notify_each`).
fn notify(woken: impl IntoIterator<Item = sync::Arc<Waiter>>) {
    crate::wait::notify_each(woken, |waiter| &waiter.signal);
}

/// [`notify`] for a [`Woken`]: the common case, one waiter, goes straight
/// to its signal (no other waiter to pass a panicking wake-up on to).
fn notify_woken(woken: Woken) {
    if woken.rest.is_empty() {
        if let Some(waiter) = woken.first {
            waiter.signal.notify();
        }
    } else {
        notify(woken);
    }
}

impl Semaphore {
    /// `release` added `n` permits to the word and saw `before` there, with
    /// `HANDOFF` or `QUEUED` set: hands them on or wakes waiters for them.
    #[cold]
    pub(super) fn release_slow(&self, n: usize, before: usize) {
        if before & HANDOFF != 0 {
            self.release_handoff(n);
        } else {
            self.release_wake(n);
        }
    }

    /// `release` added `n` permits to the word in hand-off mode, where the
    /// field offers nothing to acquirers: under the lock, takes whatever the
    /// field holds (ours, and those of other releases that got there before
    /// their lock; each of them finds what is left, perhaps nothing) and
    /// hands it to the queue first come, first served. If hand-off mode
    /// ended before we got the lock, our permits are ordinary ones in the
    /// word by now, put there by the step that ended it: wake waiters for
    /// them as any release does.
    fn release_handoff(&self, n: usize) {
        let mut woken = Woken::default();
        let ended = {
            let mut queue = self.waiters.lock();
            // Relaxed: a guess that the CAS checks.
            let current = self.state.load(Relaxed);
            // Acquire: pairs with the Release `fetch_add` of the releases
            // whose permits we take; their waiters read them after their
            // signal (Release/Acquire), which extends the chain.
            let taken = state::update(&self.state, current, Acquire, Relaxed, false, |current| {
                if current & HANDOFF == 0 {
                    Step::Done(None)
                } else if permits_in(current) == 0 {
                    Step::Done(Some(0))
                } else {
                    Step::Write(pack(0, current), Some(permits_in(current)))
                }
            });
            match taken {
                Some(taken) => {
                    debug_assert!(queue.handoffs > 0, "HANDOFF set under the lock");
                    self.settle_locked(&mut queue, taken, &mut woken);
                    false
                }
                None => true,
            }
        };
        notify_woken(woken);
        if ended {
            self.release_wake(n);
        }
    }

    /// `release` put `n` permits into the word and saw `QUEUED`: wakes up to
    /// `n` waiters to retry, or promotes the front waiter to hand-off if it
    /// has waited too long (then it gets these permits, if still there). A
    /// `QUEUED` bit left over an empty queue (see `wake_locked`) is cleared.
    #[cold]
    pub(super) fn release_wake(&self, n: usize) {
        #[allow(clippy::let_unit_value, reason = "`Now` is `()` without a clock")]
        let now = fair_now();
        let mut woken = Woken::default();
        {
            let mut queue = self.waiters.lock();
            // With hand-offs pending, `HANDOFF` was set after our add, by a
            // CAS that took the word's permits (ours or their successors) and
            // assigned them under this lock: nothing is left for us to do.
            if queue.entries.is_empty() {
                self.publish_locked(&queue, 0);
            } else if queue.handoffs == 0 {
                if queue.take_fair_turn(now) {
                    self.promote_locked(&mut queue, &mut woken);
                } else {
                    self.wake_locked(&mut queue, n, &mut woken);
                }
            }
        }
        notify_woken(woken);
    }

    /// Gives out `permits` that are in nobody's hands and not in the word:
    /// first come, first served to the queue while it has hand-off entries;
    /// once it has none, the rest goes into the word (ending hand-off mode)
    /// and up to that many waiters are woken to retry. Completed waiters are
    /// taken off the queue and pushed to `woken`.
    fn settle_locked(&self, queue: &mut Queue, mut permits: usize, woken: &mut Woken) {
        while permits > 0 && queue.handoffs > 0 {
            let Some(front) = queue.entries.front() else {
                debug_assert!(false, "hand-off entries are queued");
                break;
            };
            // Relaxed: `assigned` is guarded by the lock we hold.
            let assigned = front.waiter.assigned.load(Relaxed);
            let given = (front.waiter.needed - assigned).min(permits);
            front.waiter.assigned.store(assigned + given, Relaxed);
            permits -= given;
            if assigned + given < front.waiter.needed {
                break; // `permits` is 0: all of it went to the front waiter.
            }
            if let Some(done) = queue.entries.pop_front() {
                if done.handoff {
                    queue.handoffs -= 1;
                }
                woken.push(done.waiter);
            }
        }
        if queue.handoffs > 0 {
            debug_assert_eq!(permits, 0, "a hand-off entry absorbs every permit");
            return;
        }
        // Barging mode: the rest goes into the word, with `HANDOFF` cleared
        // and `QUEUED` matching the queue; then waiters retry for it.
        self.publish_locked(queue, permits);
        self.wake_locked(queue, permits, woken);
    }

    /// In barging mode, after `owed` permits reached the word: takes up to
    /// `owed` waiters off the front (no more than the word still holds, nor
    /// than are queued) to be woken to retry. A permit some barger took
    /// meanwhile needs no wake-up: its release will wake somebody.
    ///
    /// `QUEUED` stays set even if this empties the queue: a waiter woken in
    /// vain queues again without a CAS on the word, and the next release
    /// that finds the queue empty clears the bit (`release_wake`).
    fn wake_locked(&self, queue: &mut Queue, owed: usize, woken: &mut Woken) {
        if owed == 0 || queue.entries.is_empty() {
            return;
        }
        // Relaxed: read after our own RMW that added the permits (coherence
        // orders it after that); any later add is followed by its own wake.
        let available = available_in(self.state.load(Relaxed));
        for _ in 0..owed.min(available) {
            let Some(entry) = queue.entries.pop_front() else {
                break;
            };
            debug_assert!(!entry.handoff, "barging mode");
            woken.push(entry.waiter);
        }
    }

    /// Puts the front waiter in hand-off mode: sets `HANDOFF`, takes every
    /// permit from the word and assigns them first come, first served.
    fn promote_locked(&self, queue: &mut Queue, woken: &mut Woken) {
        let Some(front) = queue.entries.front_mut() else {
            return;
        };
        front.handoff = true;
        queue.handoffs += 1;
        // Relaxed: a guess that the CAS checks.
        let current = self.state.load(Relaxed);
        // Acquire: pairs with the Release `fetch_add` of the releases whose permits
        // we take; the waiter they go to reads them after its signal
        // (Release/Acquire), which extends the chain.
        let current = state::update(&self.state, current, Acquire, Relaxed, false, |current| {
            Step::Write(pack(0, current | HANDOFF), current)
        });
        self.settle_locked(queue, permits_in(current), woken);
    }

    /// Adds `permits` to the word and makes its flags match the queue:
    /// `QUEUED` iff it is non-empty (clearing a stale bit), `HANDOFF` iff it has hand-off entries
    /// (then `permits` is 0 and the bit is already set: only a CAS that empties
    /// the field sets it). Returns the new word.
    fn publish_locked(&self, queue: &Queue, permits: usize) -> usize {
        debug_assert!(queue.handoffs == 0 || permits == 0);
        // Relaxed: a guess that the CAS checks.
        let current = self.state.load(Relaxed);
        // Release: pairs with the Acquire CAS that takes these permits (in
        // `try_take`, `enqueue` or `promote_locked`); publishes the writes of
        // their holders, which reached us through the lock.
        state::update(&self.state, current, Release, Relaxed, false, |current| {
            let mut flags = current & CLOSED;
            if queue.handoffs > 0 {
                debug_assert!(current & HANDOFF != 0, "set with the field emptied");
                flags |= HANDOFF;
            }
            if !queue.entries.is_empty() {
                flags |= QUEUED;
            }
            let new = pack(permits_in(current) + permits, flags);
            if new == current {
                Step::Done(new)
            } else {
                Step::Write(new, new)
            }
        })
    }

    /// Takes `n >= 1` permits if the word holds them, else queues a waiter.
    /// A request for one permit queues in barging mode (it will be woken to
    /// retry); a request for more queues in hand-off mode at once, taking the
    /// word's permits for the queue (its first instalment, unless older
    /// waiters come first).
    ///
    /// `spare`, a waiter of an earlier wait of the same caller that has left
    /// the queue, is reused if nobody else holds it (saves an allocation per
    /// retry). `waker`, a task's, is installed in the new waiter's signal
    /// before it is queued (a thread installs its own when it parks).
    pub(super) fn enqueue(
        &self,
        n: usize,
        arrival: Arrival,
        spare: Option<sync::Arc<Waiter>>,
        waker: Option<&Waker>,
    ) -> Enqueued {
        debug_assert!((1..=Self::MAX_PERMITS).contains(&n));
        // The waiter is built before the lock and before the CAS that may
        // take permits for the queue: cloning the waker and dropping the
        // spare's old one run user code, which may panic. A panic here
        // leaves the word and the queue untouched (issue 13).
        let mut waiter = Some(Waiter::reuse(spare, n, waker));
        let handoff = n > 1;
        let mut woken = Woken::default();
        let verdict = {
            let mut queue = self.waiters.lock();
            // Acquire: pairs with the Release `fetch_add` of releases (their permits
            // may become ours below) and the Release `fetch_or` in `close`.
            let current = self.state.load(Acquire);
            // Acquire (success and failure): as for the load above.
            let seen = state::update(&self.state, current, Acquire, Acquire, false, |current| {
                if current & CLOSED != 0 {
                    return Step::Done(None);
                }
                let available = available_in(current); // 0 under HANDOFF
                let new = if available >= n {
                    current - (n << PERMIT_SHIFT)
                } else if handoff {
                    // Takes the field, whatever it holds, for the queue.
                    pack(0, current | HANDOFF | QUEUED)
                } else {
                    current | QUEUED // nothing for us in the field
                };
                if new == current {
                    Step::Done(Some(current))
                } else {
                    Step::Write(new, Some(current))
                }
            });
            // One pass, not a loop: the `break`s below give the verdict.
            #[allow(clippy::never_loop, reason = "a block with early exits")]
            loop {
                let Some(current) = seen else {
                    break Enqueued::Closed;
                };
                if available_in(current) >= n {
                    break Enqueued::Acquired;
                }
                // From here to the end of the critical section nothing runs
                // user code: a `VecDeque` push only allocates (an allocation
                // failure aborts).
                let entry = Entry {
                    waiter: sync::Arc::clone(waiter.as_ref().expect("taken below")),
                    handoff,
                    arrival,
                };
                if handoff {
                    queue.entries.push_back(entry);
                    queue.handoffs += 1;
                    let taken = permits_in(current);
                    if taken > 0 {
                        // We just emptied the field (the word's permits, or
                        // in hand-off mode those releases added before their
                        // lock): they go to the queue first come, first
                        // served (us last).
                        self.settle_locked(&mut queue, taken, &mut woken);
                    }
                } else if arrival.failed_wakeups > 0 && queue.handoffs == 0 {
                    // Back after a wake-up in vain: it is older than the rest.
                    // (Not ahead of a hand-off entry holding a partial grant.)
                    queue.entries.push_front(entry);
                } else {
                    queue.entries.push_back(entry);
                }
                break Enqueued::Waiting(waiter.take().expect("taken once"));
            }
        };
        notify_woken(woken);
        // If we did not queue, the waiter and its waker are dropped here,
        // outside the lock.
        drop(waiter);
        verdict
    }

    /// The waiter gives up (a timeout, or later a cancelled future). Takes it
    /// off the queue and passes its partial assignment on (none is lost). If
    /// it had left the queue already: granted, the permits are the caller's
    /// (a grant is never undone); woken to retry, it retries once, so the
    /// wake-up is not lost; drained by `close`, that retry reports `Closed`.
    pub(super) fn cancel(
        &self,
        waiter: &sync::Arc<Waiter>,
        n: usize,
    ) -> Result<(), TryAcquireError> {
        let mut woken = Woken::default();
        let queued = {
            let mut queue = self.waiters.lock();
            match queue
                .entries
                .iter()
                .position(|entry| sync::Arc::ptr_eq(&entry.waiter, waiter))
            {
                Some(index) => {
                    if let Some(entry) = queue.entries.remove(index)
                        && entry.handoff
                    {
                        queue.handoffs -= 1;
                    }
                    // Relaxed: guarded by the lock we hold.
                    let partial = waiter.assigned.swap(0, Relaxed);
                    // Even with nothing to pass on, this ends hand-off mode
                    // and clears QUEUED if the queue now allows it.
                    self.settle_locked(&mut queue, partial, &mut woken);
                    true
                }
                None => false,
            }
        };
        notify_woken(woken);
        if queued {
            Err(TryAcquireError::NoPermits)
        } else if waiter.granted() {
            Ok(())
        } else {
            self.try_take(n)
        }
    }

    /// `close` with waiters queued: under the waiter lock, sets `CLOSED`,
    /// empties the queue, returns partial assignments to the word (held
    /// permits stay counted on a closed semaphore) and ends hand-off mode;
    /// then, outside the lock, wakes every waiter, whose retry sees `CLOSED`.
    /// Returns whether this call closed the semaphore.
    pub(super) fn close_and_drain(&self) -> bool {
        let drained = {
            let mut queue = self.waiters.lock();
            // Release: pairs with the Acquire loads in `try_take`, `enqueue`
            // and `is_closed`. Under the lock: see `close` for why.
            if self.state.fetch_or(CLOSED, Release) & CLOSED != 0 {
                return false;
            }
            let drained = core::mem::take(&mut queue.entries);
            queue.handoffs = 0;
            let returned = drained
                .iter()
                // Relaxed: under the lock that guards `assigned`.
                .map(|entry| entry.waiter.assigned.swap(0, Relaxed))
                .sum();
            self.publish_locked(&queue, returned);
            drained
        };
        notify(drained.into_iter().map(|entry| entry.waiter));
        true
    }
}
