//! A counting semaphore on one compare-and-swap word, with a queue of
//! waiters that is fair in the end, not at every step.
//!
//! The algorithm, its state, linearization points, fairness policy and
//! progress story are on [`Semaphore`], where the rendered docs show them.

mod async_waits;
#[cfg(feature = "std")]
mod blocking;
mod permit;
mod queue;
mod state;

use permit::Handle;
#[cfg(target_has_atomic = "ptr")]
pub use permit::OwnedPermit;
pub use permit::Permit;

#[cfg(target_has_atomic = "ptr")]
use alloc::sync::Arc;
use core::fmt;

use crate::error::TryAcquireError;
use crate::sync::atomic::AtomicUsize;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::wait::Lock;
use state::{CLOSED, HANDOFF, PERMIT_SHIFT, QUEUED, Step, available_in, pack, permits_in};

/// A counting semaphore: [`try_acquire`](Semaphore::try_acquire) takes a
/// permit if one is available, dropping the [`Permit`] returns it, under
/// `std` `acquire` waits (spins briefly, then parks) until one is, and [`acquire_async`](Semaphore::acquire_async) waits as a
/// future under any executor, with or without `std`.
///
/// Limit concurrent work to `N` by holding a permit around it:
///
/// ```
/// use freelane::{AcquireError, Semaphore};
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::thread;
///
/// fn main() -> Result<(), AcquireError> {
///     let sem = Semaphore::new(2);
///     let inside = AtomicUsize::new(0);
///     thread::scope(|scope| {
///         for _ in 0..8 {
///             scope.spawn(|| -> Result<(), AcquireError> {
///                 let _permit = sem.acquire()?;
///                 // At most 2 threads are here at once.
///                 assert!(inside.fetch_add(1, SeqCst) < 2);
///                 inside.fetch_sub(1, SeqCst);
///                 Ok(())
///             });
///         }
///     });
///     assert_eq!(sem.available_permits(), 2);
///     Ok(())
/// }
/// ```
///
/// Waiting is fair in the end, and fast meanwhile: releases let any caller
/// take a freed permit (barging, which avoids a lock convoy), and switch to
/// first come, first served hand-off before any waiter starves. The policy
/// is stated once, under [Fairness](#fairness) below; every other page
/// links here. `try_*` calls and releases are lock-free; only while threads
/// wait do releases take a short lock to wake or hand over.
///
/// One `AtomicUsize` holds the available permits and three flag bits,
/// `CLOSED`, `HANDOFF` and `QUEUED`. Taking and returning permits is a CAS
/// loop on that word that checks before it commits, so the uncontended paths
/// touch no lock and no list. A caller that must wait first retries with
/// backoff (a thread; a task does not spin), then queues a waiter in a
/// lock-protected queue and parks or returns `Pending`. This is
/// parking_lot's "eventual fairness" applied to tokio's batch semaphore (see
/// References), re-derived for one word, with waiter nodes that the
/// waiters own, linked into an intrusive list (as tokio's are).
///
/// # How it works
/// Sections: State; Linearization points; Fairness; Waiting; Progress; ABA
/// and reclamation; References; then the memory ordering contract and the
/// limits. In the
/// source (`src/semaphore/`): `state.rs` is the state word's bit layout and
/// the one CAS loop every update of it runs through; `mod.rs` the lock-free
/// paths; `permit.rs` the one permit implementation behind [`Permit`] and
/// [`OwnedPermit`]; `queue.rs` the waiter queue and the wake-up and hand-off
/// policy (and why it is not the ring buffer's wait queue); `blocking.rs`
/// the blocking acquires; `async_waits.rs` the futures.
///
/// # State
/// ```text
///  state: usize   bit usize::BITS-1 ... 3     2         1         0
///                    [ available permits | QUEUED | HANDOFF | CLOSED ]
///  waiters: Lock<Queue { head, tail, handoffs, last_fair }>   oldest first
///  Waiter { queued: AtomicBool, needed, assigned,            owned by the waiter
///           links: { waker, prev, next, handoff: bool, arrival } }
/// ```
/// - `MAX_PERMITS` is `usize::MAX >> 3`: exactly what the permit field holds,
///   2^61 - 1 with a 64-bit `usize`, 2^29 - 1 = 536 870 911 with a 32-bit one
///   (thumbv7em, wasm32).
/// - Under the lock, `QUEUED` is set whenever the queue is non-empty, and
///   `HANDOFF` exactly when it holds a node in hand-off mode (`handoffs >
///   0`); both bits change only under the lock. `QUEUED` may also stay set
///   over an empty queue: a release that wakes the last queued waiter to
///   retry leaves it, since that waiter usually finds the permit taken by a
///   barger and queues again (then it needs no CAS to set the bit, and the
///   releaser none to clear it: two fewer read-modify-writes per wake-up in
///   vain, the common case on a one-worker executor). The next release that
///   finds the queue empty clears it. A stale bit only sends a release or a
///   `close` through the lock; it never hides a waiter.
/// - While `HANDOFF` is set the permit field offers nothing to acquirers
///   (they read it as zero): the CAS that sets the bit (an enqueue for
///   several permits, or a promotion) empties the field into the queue's
///   assignments. A release is one `fetch_add` on the word, so a release in
///   hand-off mode does put its permits into the field; seeing the bit in
///   the value its `fetch_add` returned, it takes the lock next and moves
///   whatever the field holds to the queue (another such release finds what
///   is left, perhaps nothing). Every locked step that sets the bit or ends
///   hand-off mode accounts for the field as it finds it, so no permit is
///   lost or offered twice: ended, the field's permits are ordinary ones.
/// - Only hand-off mode assigns permits, and it assigns them to the front
///   waiter until it is complete, so only the front waiter can hold a partial
///   assignment. Waiters in barging mode ask for one permit and hold none.
/// - Every permit that a release adds to the word while `QUEUED` is set comes
///   with one wake-up (fewer only if fewer are queued, or a barger already
///   took it: its own release then wakes). A woken waiter retries, and either
///   takes a permit or saw the field at zero; so no waiter sleeps while a
///   permit meant to wake it lies in the word.
/// - `total` (a second word, off the fast paths) counts the permits in
///   existence: available, held, or assigned. `add_permits` raises it with a
///   checked CAS before creating permits and `forget` lowers it after they are
///   gone, so `total <= MAX_PERMITS` bounds the permit field and a release can
///   never overflow it.
///
/// # Linearization points
/// - `try_acquire_many`: success at its successful CAS; `NoPermits` at the
///   load or failed CAS whose value showed fewer than `n` permits (a set
///   `HANDOFF` bit shows none); `Closed` at the value that showed `CLOSED`.
/// - Releasing (a permit's drop, `add_permits`): at the `fetch_add` that
///   adds to the word (the wake-up that may follow is not part of it); in
///   hand-off mode, where that `fetch_add` is invisible to acquirers, at the
///   critical section that assigns the permits to waiters (its own, or an
///   earlier one that took them from the field first), or, if hand-off
///   mode ends before that, at the critical section that ends it. A panicking `add_permits`
///   takes effect nowhere: it fails at its read of `total`.
/// - `acquire_many`: at the successful CAS of its spin phase or of a retry,
///   or at its CAS under the lock, or, if it was assigned its permits in
///   hand-off mode, at the critical section that completed the assignment
///   (the waiter learns of it later, seeing its node off the queue). `Closed` at the
///   value that showed `CLOSED`. A timeout at the critical section that takes
///   the waiter off the queue: a waiter completed before that point keeps its
///   permits, and one woken to retry makes that one retry first.
/// - `close`: at the RMW that sets `CLOSED`: a CAS when nobody is queued,
///   else a `fetch_or` under the waiter lock, in the critical section that
///   drains the queue. Every grant to a queued waiter happens under that
///   lock too, so it comes wholly before `close` or finds the queue drained:
///   once any thread has seen the semaphore closed, no acquire succeeds. `is_closed`, `available_permits`:
///   at their load (permits assigned to a waiter still waiting are not
///   counted as available).
///
/// # Fairness
/// Two modes, chosen under the lock:
/// - **Barging** (no hand-off waiter queued): any acquire, blocking or not,
///   may take permits from the word ahead of queued waiters. Each release
///   wakes the oldest waiters (one per permit) to retry; a waiter woken in
///   vain queues again at the front, keeping its arrival time.
/// - **Hand-off** (`HANDOFF` set): nobody overtakes. `try_acquire` fails with
///   `NoPermits` even when the released permits would cover it, blocking
///   acquires queue behind, and releases assign permits under the lock to the
///   queue in order, so nobody can take them between a waiter's completion
///   and its wake-up. The mode ends when the last hand-off waiter is complete
///   (or cancelled); its remaining permits go back into the word.
///
/// Who switches to hand-off, and when:
/// - A waiter for more than one permit, as soon as it queues (after its spin
///   phase). Its request can only be met by accumulating permits, which
///   single-permit bargers would otherwise take one by one, so it is never
///   overtaken once queued, and never starved.
/// - A waiter for one permit, once it has been queued for `FAIR_BOUND` (1 ms,
///   counted from its first enqueue across retries) and is the oldest: the
///   next release that finds it at the front promotes it and hands it the
///   permit. At most one such promotion happens per `FAIR_BOUND`, so a busy
///   semaphore spends nearly all its time barging, yet each single-permit
///   waiter is served within about `FAIR_BOUND` times its position in the
///   queue (plus the holders' time), however many bargers there are.
/// - Under loom and without `std` (no clock) the bound is "one wake-up in vain" instead: the
///   front waiter is promoted by the release after its first failed retry.
///
/// The price of hand-off mode is head-of-line blocking: a waiter for four
/// permits that holds two keeps them from a waiter for one behind it.
///
/// Against tokio's `Semaphore`, which is strictly first come, first served:
/// tokio 1.54's own suites, `tests/sync_semaphore.rs` and
/// `tests/sync_semaphore_owned.rs`, pass against this semaphore through a
/// renaming shim (`tests/peer_tokio_semaphore*.rs`; left out are only the
/// tests of behaviour it does not have: a panic for a request above
/// `MAX_PERMITS`, where it returns `TooMany`, and a panic for a blocking
/// acquire inside a runtime, which it does not know). None of those tests
/// relies on strict FIFO. A test that does would fail here: tokio's unit
/// test `poll_acquire_one_unavailable` (in `src/sync/tests/semaphore_batch.rs`)
/// releases a permit while one single-permit waiter is queued and expects
/// `available_permits()` to stay 0, because tokio assigns the permit to that
/// waiter; in barging mode this semaphore puts it into the word and wakes
/// the waiter to take it, so any caller may take it first.
///
/// # Waiting
/// A waiter is a node, `Waiter`, that the waiting thread or task owns: a
/// thread keeps it on its stack for the length of its wait, an
/// `acquire*_async` future on the heap (allocated at its first enqueue and
/// reused by its retries, so moving the future never moves the node). The
/// queue is a doubly linked list through the nodes' own `links`, so
/// queueing allocates nothing, a cancel unlinks its node in constant time,
/// and no reference count changes hands.
/// Threads and tasks share the one queue and the one policy above. A thread
/// spins briefly before it queues and after, then parks; a task does not
/// spin (it would hold up its executor thread's other tasks) and returns
/// `Pending`.
///
/// Who may touch a node when (the ownership protocol; tokio's batch
/// semaphore keeps its waiters' wakers under its queue lock the same way):
/// - Off the queue, the node is its owner's alone. To queue it, the owner
///   stores its waker in it (a clone, made before any lock: user code), then
///   under the lock sets its `queued` flag and links it into the queue.
/// - While queued, the node's `links` (its waker, neighbours, mode and
///   arrival time) and `assigned` are the lock holder's; the
///   owner only reads `queued` (and the constant `needed`), or takes the lock
///   to replace its waker (a task polled again with another one) or to
///   cancel.
/// - Whoever takes it off the queue (a release waking or completing it,
///   `close`, a cancel) does so under the lock: it takes the node's waker
///   there and clears `queued` with a Release store, its last access to the
///   node; it wakes the waker after the lock is released. The owner's
///   Acquire load that sees `queued` clear hands the node back, with its
///   final `assigned`.
///
/// So a woken waiter is off the queue and either complete (`assigned ==
/// needed`: the permits are its own) or woken to retry (a barging wake-up,
/// or `close`: the retry reports `Closed`). Whoever gives up waiting (a
/// timeout; a dropped future; a thread unwinding) calls `cancel`, which under
/// the lock either takes the node off the queue and passes its partial
/// assignment on (none is lost), or finds it already off: completed (then
/// the permits are the caller's: a grant is never undone), or woken to retry
/// (then it retries once, so the wake-up is not lost).
///
/// # Progress
/// `try_acquire*`, `available_permits`, `is_closed`, and releases while
/// nobody waits are lock-free: a CAS fails only because another thread's
/// succeeded. While anyone is queued, a release takes the waiter lock for a
/// short critical section (it wakes or grants at most as many waiters as it
/// releases permits); a thread preempted inside it delays other releases,
/// enqueues and timeouts, but never the fast paths of threads that hold
/// permits, and in barging mode never a `try_acquire`. Each locked step
/// takes constant time per waiter it serves (a `close` walks the whole
/// queue). Waiting threads spin briefly, then park.
///
/// # ABA and reclamation
/// The word holds counts and flags, never pointers: an interleaving that
/// returns it to an old value restores an equivalent state, so a CAS that
/// succeeds on it is correct. The queue holds pointers, but only to queued
/// nodes, and follows them only under the lock: a node's memory can be
/// reused only after it left the queue (unlinked, under the lock), so no
/// link ever names a reused address.
///
/// A node is freed by its owner alone (a future's drop; a thread returning
/// from its wait), and only once it is off the queue: seen off it (the
/// Acquire load of `queued` that the remover's Release store, its last
/// access, makes visible), or taken off by the owner's own `cancel`. A
/// dropped future that is still queued cancels first; a blocked thread that
/// unwinds while queued does the same from a guard. No waiter lingers for
/// others to free, so nothing is deferred.
///
/// # References
/// - tokio's `tokio/src/sync/batch_semaphore.rs` (tokio-rs/tokio): permits
///   assigned to queued waiters under a lock, FIFO across batch sizes.
/// - parking_lot's `src/raw_mutex.rs` (Amanieu/parking_lot): barging with
///   "eventual fairness", a forced fair hand-off every 0.5 ms on average.
/// - E. W. Dijkstra, *Over de sequentialiteit van procesbeschrijvingen*
///   (EWD 35), the P/V operations.
/// - M. Herlihy, N. Shavit, *The Art of Multiprocessor Programming*, ch. 7-8
///   (spinning versus blocking).
///
/// # Memory ordering
/// - Returning permits (dropping a [`Permit`] or [`OwnedPermit`],
///   [`add_permits`](Semaphore::add_permits)) happens-before every acquire
///   that obtains any of those permits. So what a holder wrote before
///   releasing is visible to the next holder of its permits: a semaphore of
///   one permit orders its critical sections as a mutex does.
/// - [`close`](Semaphore::close) happens-before every call that reports
///   `Closed` because of it, and before [`is_closed`](Semaphore::is_closed)
///   returns `true`.
/// - A `NoPermits` result and [`available_permits`](Semaphore::available_permits)
///   synchronize with nothing: they are snapshots.
///
/// # Limits
/// The permits in existence (available, held, or handed to a waiter) never
/// exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS): [`new`](Semaphore::new)
/// and [`add_permits`](Semaphore::add_permits) panic rather than go past it,
/// and leave the semaphore as it was.
pub struct Semaphore {
    /// `available << PERMIT_SHIFT | QUEUED | HANDOFF | CLOSED`:
    /// ```text
    /// bit usize::BITS-1 ... 3     2         1         0
    ///    [ available permits | QUEUED | HANDOFF | CLOSED ]
    /// ```
    /// The only word the fast paths touch. Not cache-padded: it is the one hot
    /// word of the struct (the others are written only on slow paths).
    state: AtomicUsize,
    /// The permits in existence: available, held or assigned to waiters.
    /// Raised by `add_permits` before it creates permits, lowered by `forget`
    /// after they left circulation; at most `MAX_PERMITS`.
    total: AtomicUsize,
    /// Queued waiters, oldest first, and the hand-off bookkeeping. The lock
    /// also guards the `QUEUED` and `HANDOFF` bits (set and cleared only while
    /// holding it) and each queued waiter's `assigned` and `links`.
    waiters: Lock<queue::Queue>,
}

impl Semaphore {
    /// The most permits a semaphore can hold, `usize::MAX >> 3`: 2^61 - 1
    /// with a 64-bit `usize`, 2^29 - 1 (536 870 911) with a 32-bit one such
    /// as thumbv7em's. The low three bits of the state word hold flags.
    ///
    /// ```
    /// use freelane::Semaphore;
    ///
    /// let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    /// assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
    /// ```
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore holding `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    ///
    /// ```
    /// use freelane::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// assert!(std::panic::catch_unwind(|| Semaphore::new(Semaphore::MAX_PERMITS + 1)).is_err());
    /// ```
    pub fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "Semaphore::new: {permits} permits is more than Semaphore::MAX_PERMITS ({})",
            Self::MAX_PERMITS
        );
        Self {
            state: AtomicUsize::new(pack(permits, 0)),
            total: AtomicUsize::new(permits),
            waiters: Lock::new(queue::Queue::new()),
        }
    }

    /// Takes one permit if one is available, possibly ahead of queued waiters
    /// (but not while the semaphore is in hand-off mode for one of them).
    ///
    /// Fails with [`TryAcquireError::NoPermits`] if none is available (or a
    /// waiter is owed the released permits: hand-off mode), and
    /// with [`TryAcquireError::Closed`] once the semaphore is closed. Never
    /// waits; lock-free.
    ///
    /// ```
    /// use freelane::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// drop(permit);
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits at once if that many are available and no waiter is
    /// owed them (hand-off mode); all or nothing.
    ///
    /// Asking for more than [`MAX_PERMITS`](Semaphore::MAX_PERMITS) fails with
    /// [`TryAcquireError::TooMany`] (it can never succeed) unless the
    /// semaphore is closed. Asking for zero succeeds unless it is closed.
    ///
    /// ```
    /// use freelane::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(5);
    /// let three = sem.try_acquire_many(3).unwrap();
    /// assert_eq!(three.permits(), 3);
    /// assert_eq!(sem.try_acquire_many(3).unwrap_err(), TryAcquireError::NoPermits);
    /// assert_eq!(
    ///     sem.try_acquire_many(Semaphore::MAX_PERMITS + 1).unwrap_err(),
    ///     TryAcquireError::TooMany { requested: Semaphore::MAX_PERMITS + 1 }
    /// );
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Result<Permit<'_>, TryAcquireError> {
        self.try_take(n)?;
        Ok(self.into_permit(n))
    }

    /// Takes one permit, as [`try_acquire`](Semaphore::try_acquire) does, into
    /// a permit that owns a reference to the semaphore and can move freely
    /// between threads.
    ///
    /// ```
    /// use freelane::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = Arc::clone(&sem).try_acquire_owned().unwrap();
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[cfg(target_has_atomic = "ptr")]
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedPermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits, as [`try_acquire_many`](Semaphore::try_acquire_many)
    /// does, into an [`OwnedPermit`].
    ///
    /// ```
    /// use freelane::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(4));
    /// let permit = Arc::clone(&sem).try_acquire_many_owned(3).unwrap();
    /// assert_eq!((permit.permits(), sem.available_permits()), (3, 1));
    /// ```
    #[cfg(target_has_atomic = "ptr")]
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedPermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(self.into_permit(n))
    }

    /// Adds `n` permits: to the waiters first (oldest first) in hand-off mode,
    /// else into the semaphore, waking up to `n` waiters to take them.
    ///
    /// # Panics
    /// If the permits in existence (available, held, or handed to a waiter)
    /// would exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS). The semaphore is
    /// then left exactly as it was.
    ///
    /// ```
    /// use freelane::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 3);
    /// let too_many = std::panic::catch_unwind(|| sem.add_permits(Semaphore::MAX_PERMITS));
    /// assert!(too_many.is_err());
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn add_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Check before commit: the panic below fires before any write, so it
        // leaves both words as they were.
        // Acquire: pairs with the Release `fetch_sub` in `retire`; the
        // forgotten permits have left `state` before we count their room as
        // free, so the release below cannot push `state` past the bound.
        let total = self.total.load(Acquire);
        // Acquire (success and failure): as for the load above (a failure's
        // value is checked again).
        state::update(
            &self.total,
            total,
            Acquire,
            Acquire,
            false,
            |total| match total.checked_add(n) {
                Some(new_total) if new_total <= Self::MAX_PERMITS => Step::Write(new_total, ()),
                _ => panic!(
                    "Semaphore::add_permits: adding {n} permits to the {total} in existence \
                     would exceed Semaphore::MAX_PERMITS ({})",
                    Self::MAX_PERMITS
                ),
            },
        );
        self.release(n);
    }

    /// Takes up to `n` of the available permits out of circulation for good
    /// and returns how many it took (fewer than `n` if fewer are available;
    /// none in hand-off mode, where released permits belong to the waiters).
    /// Works on a closed semaphore too. tokio's `forget_permits`.
    ///
    /// Linearizes at its successful CAS on the state word, or at the load
    /// that showed no permit.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// assert_eq!(sem.forget_permits(2), 2);
    /// assert_eq!(sem.forget_permits(5), 1);
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.add_permits(1);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        // Relaxed: a guess that the CAS checks.
        let current = self.state.load(Relaxed);
        // Acquire (success): pairs with the Release `fetch_add` of the releases that
        // put these permits in the word, as in `try_take`.
        let taken = state::update(&self.state, current, Acquire, Relaxed, true, |current| {
            match available_in(current).min(n) {
                0 => Step::Done(0),
                taken => Step::Write(current - (taken << PERMIT_SHIFT), taken),
            }
        });
        self.retire(taken);
        taken
    }

    /// The permits available right now (a snapshot). Permits already handed to
    /// a waiter that is still waiting for more are not counted.
    ///
    /// ```
    /// use freelane::Semaphore;
    ///
    /// let sem = Semaphore::new(2);
    /// let _one = sem.try_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        // Relaxed: a snapshot; it publishes and is published nothing.
        available_in(self.state.load(Relaxed))
    }

    /// Closes the semaphore: every later acquire fails with `Closed`, and every
    /// waiting one wakes with `Closed`. Permits already held stay valid and
    /// are still returned on drop; [`add_permits`](Semaphore::add_permits)
    /// still works. Returns `true` for the call that closed it, `false` if it
    /// was closed already.
    ///
    /// ```
    /// use freelane::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(1);
    /// let held = sem.try_acquire().unwrap();
    /// assert!(sem.close());
    /// assert!(!sem.close());
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    /// drop(held);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn close(&self) -> bool {
        // Relaxed: a guess that the CAS checks.
        let current = self.state.load(Relaxed);
        // Nobody is queued, so no grant is pending: every grant happens
        // under the waiter lock to a queued waiter, and the CAS that clears
        // QUEUED after it comes before this one in the word's modification
        // order. An `enqueue` that would queue after us fails its CAS on the
        // bit we set and sees CLOSED.
        // Release: pairs with the Acquire loads in `try_take`, `enqueue` and
        // `is_closed`; publishes what the caller did before closing.
        let closed = state::update(&self.state, current, Release, Relaxed, false, |current| {
            if current & CLOSED != 0 {
                Step::Done(Some(false))
            } else if current & QUEUED != 0 {
                // Somebody is queued: close under the waiter lock (below).
                Step::Done(None)
            } else {
                Step::Write(current | CLOSED, Some(true))
            }
        });
        if let Some(closed) = closed {
            return closed;
        }
        // Step order: the bit is set *under the lock* that every grant to a
        // queued waiter holds (a release hand-off, a promotion, a cancel
        // passing its partial on), then the queue is drained in the same
        // critical section. A grant therefore comes entirely before the bit
        // (its waiter's `Ok` is linearized before `close`) or finds the queue
        // drained: no waiter completes with `Ok` after anybody has seen
        // `Closed` (issue 13, the `close_is_linearizable` loom model).
        self.close_and_drain()
    }

    /// Whether [`close`](Semaphore::close) has been called.
    ///
    /// ```
    /// use freelane::Semaphore;
    ///
    /// let sem = Semaphore::new(0);
    /// assert!(!sem.is_closed());
    /// sem.close();
    /// assert!(sem.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release `fetch_or` in `close`.
        self.state.load(Acquire) & CLOSED != 0
    }

    /// The lock-free attempt behind every acquire: takes `n` permits from the
    /// word if it holds them.
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        // Acquire: pairs with the Release `fetch_or` in `close`, for a
        // `Closed` verdict; a stale value only costs a failed CAS.
        let current = self.state.load(Acquire);
        // Acquire (success): pairs with the Release `fetch_add` of the releases that
        // put these permits in the word (a release sequence of RMWs);
        // publishes the previous holders' writes to us.
        // Acquire (failure): as for the first load.
        state::update(&self.state, current, Acquire, Acquire, true, |current| {
            if current & CLOSED != 0 {
                Step::Done(Err(TryAcquireError::Closed))
            } else if n > Self::MAX_PERMITS {
                Step::Done(Err(TryAcquireError::TooMany { requested: n }))
            } else if available_in(current) < n {
                // A set HANDOFF bit offers nothing: fails here for n >= 1. A
                // set QUEUED bit alone does not stop us: barging is allowed.
                Step::Done(Err(TryAcquireError::NoPermits))
            } else if n == 0 {
                Step::Done(Ok(()))
            } else {
                Step::Write(current - (n << PERMIT_SHIFT), Ok(()))
            }
        })
    }

    /// Returns `n` permits: into the word (waking a queued waiter to retry,
    /// if any), or, in hand-off mode, to the queued waiters directly.
    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        // One read-modify-write, not a load and a CAS: under contention a
        // load fetches the cache line shared and the CAS then has to fetch it
        // again for writing. Cannot overflow: `total` bounds the field.
        // Release: pairs with the Acquire CAS in `try_take`, `enqueue` or
        // `promote_locked` that takes these permits; publishes this holder's
        // writes.
        let before = self.state.fetch_add(n << PERMIT_SHIFT, Release);
        debug_assert!(
            permits_in(before) + n <= Self::MAX_PERMITS,
            "bounded by `total`"
        );
        if before & (HANDOFF | QUEUED) != 0 {
            self.release_slow(n, before);
        }
    }

    /// Lowers `total` after `n` held permits left circulation for good.
    fn retire(&self, n: usize) {
        if n != 0 {
            // Release: pairs with the Acquire load/CAS in `add_permits`; the
            // permits left `state` before their room is counted as free.
            self.total.fetch_sub(n, Release);
        }
    }
}

impl fmt::Debug for Semaphore {
    /// Shows a snapshot of the state word.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(2);
    /// assert_eq!(
    ///     format!("{sem:?}"),
    ///     "Semaphore { available: 2, waiters: false, closed: false }"
    /// );
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let state = self.state.load(Relaxed);
        f.debug_struct("Semaphore")
            .field("available", &available_in(state))
            // `QUEUED`: waiters queued, or just woken and not yet back.
            .field("waiters", &(state & QUEUED != 0))
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}
