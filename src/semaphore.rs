//! A counting semaphore on one compare-and-swap word, with a FIFO of waiters.
//!
//! One `AtomicUsize` holds the available permits and two flag bits, `CLOSED`
//! and `WAITERS`. Taking and returning permits is a CAS loop on that word that
//! checks before it commits, so the uncontended paths touch no lock and no
//! list. A caller that must wait (`acquire`, under `std`) queues a waiter node
//! in a lock-protected FIFO and takes whatever the word held as a first
//! instalment. From then on, until the queue empties, the word holds zero
//! permits and the `WAITERS` bit: returned permits are handed, under the lock,
//! to the oldest waiter until its request is complete, then to the next, and
//! only the remainder goes back into the word. Nobody overtakes a queued
//! waiter, so a request for many permits is not starved by a stream of
//! requests for one. The design is tokio's batch semaphore (see References)
//! re-derived for one word and a [`Signal`] per waiter.
//!
//! # Sections
//! State; Linearization points; Fairness; Waiting; Progress; ABA;
//! References. The memory ordering contract is on [`Semaphore`].
//!
//! # State
//! ```text
//!  state: usize   bit  63 ...................... 2      1         0
//!                     [   available permits      |  WAITERS  |  CLOSED  ]
//!  waiters: Lock<VecDeque<Arc<Waiter>>>   oldest first
//!  Waiter { signal, needed, assigned }    assigned < needed while queued
//! ```
//! - `MAX_PERMITS` is `usize::MAX >> 3`: the permit field holds twice that,
//!   which leaves its top bit spare for a future flag.
//! - Under the lock, `WAITERS` is set exactly when the queue is non-empty;
//!   both change only under the lock, in the same critical section.
//! - While `WAITERS` is set the permit field is zero: the enqueue that sets
//!   the bit moves the field into the new waiter's `assigned` with one CAS,
//!   and every release that sees the bit takes the locked path instead of
//!   adding to the word.
//! - Only the front waiter can hold a partial assignment: permits reach a
//!   waiter either at enqueue (only when the queue was empty) or from a
//!   release, which fills the front waiter before it touches the next.
//! - `total` (a second word, off the fast paths) counts the permits in
//!   existence: available, held, or assigned. `add_permits` raises it with a
//!   checked CAS before creating permits and `forget` lowers it after they are
//!   gone, so `total <= MAX_PERMITS` bounds the permit field and a release can
//!   never overflow it.
//!
//! # Linearization points
//! - `try_acquire_many`: success at its successful CAS; `NoPermits` at the
//!   load or failed CAS whose value showed fewer than `n` permits (a set
//!   `WAITERS` bit shows zero); `Closed` at the value that showed `CLOSED`.
//! - Releasing (a permit's drop, `add_permits`): at the successful CAS on the
//!   fast path; on the locked path, at the critical section that assigns the
//!   permits to waiters and puts the rest back in the word. A panicking
//!   `add_permits` takes effect nowhere: it fails at its read of `total`.
//! - `acquire_many`: at its fast-path CAS, or at its CAS under the lock, or,
//!   if it queued, at the releasing critical section that completed its
//!   assignment (the waiter learns of it later, through its signal).
//!   `Closed` at `close`'s drain of the queue, or at the value that showed
//!   `CLOSED`. A timeout at the critical section that takes the waiter off the
//!   queue: a waiter completed before that point keeps its permits.
//! - `close`: at its `fetch_or` of `CLOSED`. `is_closed`, `available_permits`:
//!   at their load (permits assigned to a waiter still waiting are not
//!   counted as available).
//!
//! # Fairness
//! Waiters are served in the order they queued. A non-blocking call never
//! overtakes a queued waiter: while one waits the word holds no permits, so
//! `try_acquire` fails with `NoPermits` even when the released permits would
//! cover it. A blocking call tries the word first, which only succeeds when
//! nobody is queued. Released permits are assigned under the lock at release
//! time, so nobody can take them between a waiter's completion and its
//! wake-up. The price is head-of-line blocking: a waiter for four permits
//! that holds two keeps them from a waiter for one behind it.
//!
//! # Waiting
//! A waiter is a [`Signal`] plus its request. A thread waits on it with
//! `block_on_signal` (spin, then park); a task can register its `Waker` on
//! the same signal, so threads and tasks share one queue and one policy.
//! Whoever gives up waiting (a timeout; a dropped future) calls `cancel`,
//! which under the lock either takes the waiter off the queue and passes its
//! partial assignment on (none is lost), or finds it already completed (then
//! the permits are the caller's: a grant is never undone) or closed.
//!
//! # Progress
//! `try_acquire*`, `available_permits`, `is_closed`, and releases while
//! nobody waits are lock-free: a CAS fails only because another thread's
//! succeeded. While anyone waits, a release takes the waiter lock for a short
//! critical section (it grants at most the waiters it completes); a thread
//! preempted inside it delays other releases, enqueues and timeouts, but never
//! the fast paths of threads that hold permits. A timeout or close searches
//! the queue linearly. Waiting threads spin briefly, then park.
//!
//! # ABA
//! The word holds counts and flags, never pointers: an interleaving that
//! returns it to an old value restores an equivalent state, so a CAS that
//! succeeds on it is correct. Waiter nodes are reference counted and compared
//! by address only while the lock keeps them queued.
//!
//! # References
//! - tokio's `tokio/src/sync/batch_semaphore.rs` (tokio-rs/tokio): permits
//!   assigned to queued waiters under a lock, FIFO across batch sizes.
//! - E. W. Dijkstra, *Over de sequentialiteit van procesbeschrijvingen*
//!   (EWD 35), the P/V operations.
//! - M. Herlihy, N. Shavit, *The Art of Multiprocessor Programming*, ch. 7-8
//!   (spinning versus blocking).

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

#[cfg(feature = "std")]
use crate::error::AcquireError;
use crate::error::TryAcquireError;
use crate::sync::atomic::AtomicUsize;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::{self, Backoff};
use crate::wait::{Lock, Signal};

/// Bit 0 of `state`: set once by `close`, never cleared.
const CLOSED: usize = 0b01;
/// Bit 1 of `state`: set while a waiter is queued (see the module docs).
const WAITERS: usize = 0b10;
/// Both flag bits.
const FLAGS: usize = CLOSED | WAITERS;
/// How far the permit count is shifted past the flag bits.
const PERMIT_SHIFT: u32 = 2;

/// The permit count held in a `state` value.
#[inline]
const fn permits_in(state: usize) -> usize {
    state >> PERMIT_SHIFT
}

/// A `state` value with `permits` available and the flag bits `flags`.
#[inline]
const fn pack(permits: usize, flags: usize) -> usize {
    (permits << PERMIT_SHIFT) | (flags & FLAGS)
}

/// A counting semaphore: [`try_acquire`](Semaphore::try_acquire) takes a
/// permit if one is available, dropping the [`Permit`] returns it, and under
/// `std` [`acquire`](Semaphore::acquire) waits (spins briefly, then parks)
/// until one is.
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
/// Waiting is fair: waiters are served first come, first served, whatever
/// number of permits each asks for, and no call overtakes a queued waiter.
/// See the module source for the algorithm, its linearization points and the
/// progress guarantee: `try_*` calls and releases are lock-free; only while
/// threads wait do releases take a short lock to hand permits over.
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
    /// `available << PERMIT_SHIFT | WAITERS | CLOSED`:
    /// ```text
    /// bit 63 ...................... 2      1         0
    ///    [   available permits      |  WAITERS  |  CLOSED  ]
    /// ```
    /// The only word the fast paths touch. Not cache-padded: it is the one hot
    /// word of the struct (the others are written only on slow paths).
    state: AtomicUsize,
    /// The permits in existence: available, held or assigned to waiters.
    /// Raised by `add_permits` before it creates permits, lowered by `forget`
    /// after they left circulation; at most `MAX_PERMITS`.
    total: AtomicUsize,
    /// Queued waiters, oldest first. The lock also guards the `WAITERS` bit
    /// (set and cleared only while holding it) and each queued waiter's
    /// `assigned`.
    waiters: Lock<VecDeque<sync::Arc<Waiter>>>,
}

/// A thread (or, later, a task) waiting for permits.
#[derive(Debug)]
struct Waiter {
    /// Notified once the waiter leaves the queue for good: completed
    /// (`assigned == needed`) or drained by `close` (`assigned == 0`).
    signal: Signal,
    /// How many permits it asked for; at least 1.
    needed: usize,
    /// How many it has been given so far. Written only under the waiters lock;
    /// read under it, or by the waiter after its signal (whose Release/Acquire
    /// pair publishes the writes).
    assigned: AtomicUsize,
}

impl Waiter {
    /// The verdict for a waiter that is no longer queued (the caller either
    /// saw its signal or holds the lock and did not find it in the queue).
    fn outcome(&self) -> Result<(), TryAcquireError> {
        // Relaxed: written under the lock; the caller's lock or the signal's
        // Acquire load orders those writes before this read.
        if self.assigned.load(Relaxed) == self.needed {
            Ok(())
        } else {
            Err(TryAcquireError::Closed)
        }
    }
}

/// What [`Semaphore::enqueue`] did.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
enum Enqueued {
    /// The permits were there after all; they are the caller's now.
    Acquired,
    /// The caller must wait on this waiter's signal.
    Waiting(sync::Arc<Waiter>),
    /// The semaphore is closed; nothing was queued.
    Closed,
}

#[cfg_attr(not(feature = "std"), allow(dead_code))]
impl Semaphore {
    /// The most permits a semaphore can hold, `usize::MAX >> 3`; the high bits
    /// of the state word hold flags.
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
            waiters: Lock::new(VecDeque::new()),
        }
    }

    /// Takes one permit if one is available and nobody is waiting.
    ///
    /// Fails with [`TryAcquireError::NoPermits`] if none is available (or a
    /// blocked caller is queued for permits: queued waiters come first), and
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

    /// Takes `n` permits at once if that many are available and nobody is
    /// waiting; all or nothing.
    ///
    /// Asking for more than [`MAX_PERMITS`](Semaphore::MAX_PERMITS) fails with
    /// [`TryAcquireError::NoPermits`] (it can never succeed) unless the
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
    ///     TryAcquireError::NoPermits
    /// );
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Result<Permit<'_>, TryAcquireError> {
        self.try_take(n)?;
        Ok(Permit {
            semaphore: self,
            permits: n,
        })
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
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedPermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedPermit {
            semaphore: self,
            permits: n,
        })
    }

    /// Adds `n` permits, handing them to waiters first (oldest first).
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
        // Acquire: pairs with the Release `fetch_sub` in `forget_permits`; the
        // forgotten permits have left `state` before we count their room as
        // free, so the release below cannot push `state` past the bound.
        let mut total = self.total.load(Acquire);
        loop {
            let new_total = match total.checked_add(n) {
                Some(new_total) if new_total <= Self::MAX_PERMITS => new_total,
                _ => panic!(
                    "Semaphore::add_permits: adding {n} permits to the {total} in existence \
                     would exceed Semaphore::MAX_PERMITS ({})",
                    Self::MAX_PERMITS
                ),
            };
            // Acquire: as for the load above (a failure's value is checked again).
            match self
                .total
                .compare_exchange_weak(total, new_total, Acquire, Acquire)
            {
                Ok(_) => break,
                Err(actual) => total = actual,
            }
        }
        self.release(n);
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
        permits_in(self.state.load(Relaxed))
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
        // Release: pairs with the Acquire loads in `try_take`, `enqueue` and
        // `is_closed`; makes what the caller did before closing visible to
        // whoever reads `Closed`.
        let previous = self.state.fetch_or(CLOSED, Release);
        if previous & CLOSED != 0 {
            return false;
        }
        if previous & WAITERS == 0 {
            // Nobody was queued, and nobody can queue now: an `enqueue` sets
            // WAITERS with a CAS, which either came before our `fetch_or`
            // (and `previous` would show the bit) or fails on it and sees
            // CLOSED.
            return true;
        }
        // Step order: the bit is set above before the queue is drained below.
        // `enqueue` checks the bit under the lock, so no waiter can queue after
        // the drain and sleep forever.
        let drained = {
            let mut waiters = self.waiters.lock();
            let drained = core::mem::take(&mut *waiters);
            // Partial assignments go back into the word: held permits stay
            // counted even on a closed semaphore.
            let returned = drained
                .iter()
                // Relaxed: under the lock that guards `assigned`.
                .map(|waiter| waiter.assigned.swap(0, Relaxed))
                .sum();
            let granted = self.assign_locked(&mut waiters, returned);
            debug_assert!(granted.is_empty(), "the queue was empty");
            drained
        };
        // Woken outside the lock: their `assigned` is 0 < `needed`, so each
        // reads `Closed`.
        for waiter in drained {
            waiter.signal.notify();
        }
        true
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
        let mut current = self.state.load(Acquire);
        let backoff = Backoff::new();
        loop {
            if current & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            // A set WAITERS bit means the field is 0: fails here for n >= 1.
            // A request above MAX_PERMITS fails here too, before `n` is shifted.
            if permits_in(current) < n {
                return Err(TryAcquireError::NoPermits);
            }
            if n == 0 {
                return Ok(());
            }
            let new = current - (n << PERMIT_SHIFT);
            // Acquire (success): pairs with the Release CAS of the releases
            // that put these permits in the word (a release sequence of RMWs);
            // publishes the previous holders' writes to us.
            // Acquire (failure): as for the first load.
            match self
                .state
                .compare_exchange_weak(current, new, Acquire, Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => {
                    current = actual;
                    backoff.spin();
                }
            }
        }
    }

    /// Returns `n` permits: into the word if nobody waits, else to the waiters.
    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Relaxed: a guess that the CAS below checks.
        let mut current = self.state.load(Relaxed);
        let backoff = Backoff::new();
        loop {
            if current & WAITERS != 0 {
                return self.release_slow(n);
            }
            debug_assert!(
                permits_in(current) + n <= Self::MAX_PERMITS,
                "bounded by `total`"
            );
            let new = current + (n << PERMIT_SHIFT);
            // Release: pairs with the Acquire CAS in `try_take` or `enqueue`
            // that takes these permits; publishes this holder's writes.
            match self
                .state
                .compare_exchange_weak(current, new, Release, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => {
                    current = actual;
                    backoff.spin();
                }
            }
        }
    }

    /// The locked path of `release`: someone waits (or did when we looked).
    #[cold]
    fn release_slow(&self, n: usize) {
        let granted = {
            let mut waiters = self.waiters.lock();
            self.assign_locked(&mut waiters, n)
        };
        wake(granted);
    }

    /// Hands `permits` to the queued waiters, oldest first, and puts what is
    /// left into the word; clears `WAITERS` if the queue ends up empty.
    /// Returns the waiters it completed (already off the queue), for the
    /// caller to wake once it has dropped the lock.
    fn assign_locked(
        &self,
        waiters: &mut VecDeque<sync::Arc<Waiter>>,
        mut permits: usize,
    ) -> Vec<sync::Arc<Waiter>> {
        let mut granted = Vec::new();
        while permits > 0 {
            let Some(front) = waiters.front() else { break };
            // Relaxed: `assigned` is guarded by the lock we hold.
            let assigned = front.assigned.load(Relaxed);
            let given = (front.needed - assigned).min(permits);
            front.assigned.store(assigned + given, Relaxed);
            permits -= given;
            if assigned + given < front.needed {
                break; // `permits` is 0: all of it went to the front waiter.
            }
            granted.extend(waiters.pop_front());
        }
        if waiters.is_empty() {
            // The queue is empty: the remainder and the end of `WAITERS` go
            // into the word together. (The bit may already be clear if the
            // queue emptied before we took the lock; then this is a plain add.)
            // Relaxed: a guess that the CAS below checks.
            let mut current = self.state.load(Relaxed);
            loop {
                let new = pack(permits_in(current) + permits, current & CLOSED);
                if new == current {
                    break;
                }
                // Release: pairs with the Acquire CAS that takes these permits
                // (in `try_take` or `enqueue`); publishes the writes of their
                // holders, which reached us through the lock.
                match self
                    .state
                    .compare_exchange_weak(current, new, Release, Relaxed)
                {
                    Ok(_) => break,
                    Err(actual) => current = actual,
                }
            }
        } else {
            debug_assert_eq!(permits, 0, "a non-empty queue absorbs every permit");
        }
        granted
    }

    /// Takes `n >= 1` permits if the word holds them, else queues a waiter
    /// holding the word's permits as a first instalment and sets `WAITERS`.
    fn enqueue(&self, n: usize) -> Enqueued {
        debug_assert!((1..=Self::MAX_PERMITS).contains(&n));
        let mut waiters = self.waiters.lock();
        // Acquire: pairs with the Release CAS of releases (their permits may
        // become ours below) and the Release `fetch_or` in `close`.
        let mut current = self.state.load(Acquire);
        loop {
            if current & CLOSED != 0 {
                return Enqueued::Closed;
            }
            let available = permits_in(current);
            let new = if available >= n {
                current - (n << PERMIT_SHIFT)
            } else {
                // All available permits become the new waiter's; `available`
                // is 0 unless the queue is empty (then it is the front waiter).
                pack(0, current | WAITERS)
            };
            if new != current {
                // Acquire (success and failure): as for the load above.
                if let Err(actual) = self
                    .state
                    .compare_exchange_weak(current, new, Acquire, Acquire)
                {
                    current = actual;
                    continue;
                }
            }
            if available >= n {
                return Enqueued::Acquired;
            }
            let waiter = sync::Arc::new(Waiter {
                signal: Signal::new(),
                needed: n,
                assigned: AtomicUsize::new(available),
            });
            waiters.push_back(sync::Arc::clone(&waiter));
            return Enqueued::Waiting(waiter);
        }
    }

    /// Takes `waiter` off the queue (it gives up: a timeout, or later a
    /// cancelled future) and passes its partial assignment on. If it had left
    /// the queue already, returns its verdict instead: `Ok` means it was
    /// completed and now holds its permits.
    fn cancel(&self, waiter: &sync::Arc<Waiter>) -> Result<(), TryAcquireError> {
        let (verdict, granted) = {
            let mut waiters = self.waiters.lock();
            match waiters
                .iter()
                .position(|queued| sync::Arc::ptr_eq(queued, waiter))
            {
                Some(index) => {
                    waiters.remove(index);
                    // Relaxed: guarded by the lock we hold.
                    let partial = waiter.assigned.swap(0, Relaxed);
                    // Even with nothing to pass on, this clears WAITERS if the
                    // queue is now empty.
                    (
                        Err(TryAcquireError::NoPermits),
                        self.assign_locked(&mut waiters, partial),
                    )
                }
                None => (waiter.outcome(), Vec::new()),
            }
        };
        wake(granted);
        verdict
    }

    /// Waits for `n <= MAX_PERMITS` permits until `deadline`, if any.
    #[cfg(feature = "std")]
    fn wait_for(
        &self,
        n: usize,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), TryAcquireError> {
        match self.try_take(n) {
            Err(TryAcquireError::NoPermits) => {}
            done => return done,
        }
        let waiter = match self.enqueue(n) {
            Enqueued::Acquired => return Ok(()),
            Enqueued::Closed => return Err(TryAcquireError::Closed),
            Enqueued::Waiting(waiter) => waiter,
        };
        if crate::wait::block_on_signal(&waiter.signal, deadline) {
            return waiter.outcome();
        }
        // Timed out, but a release or close may have taken the waiter off the
        // queue since: `cancel` decides under the lock.
        self.cancel(&waiter)
    }

    /// Lowers `total` after `n` held permits left circulation for good.
    fn forget_permits(&self, n: usize) {
        if n != 0 {
            // Release: pairs with the Acquire load/CAS in `add_permits`; the
            // permits left `state` before their room is counted as free.
            self.total.fetch_sub(n, Release);
        }
    }
}

/// Wakes waiters that `assign_locked` completed (call without the lock).
fn wake(granted: Vec<sync::Arc<Waiter>>) {
    for waiter in granted {
        waiter.signal.notify();
    }
}

#[cfg(feature = "std")]
impl Semaphore {
    /// Takes one permit, waiting for one if none is available: the thread
    /// spins briefly, then parks until a release hands it a permit or the
    /// semaphore is closed ([`AcquireError::Closed`]).
    ///
    /// Waiters are served in arrival order (see [`Semaphore`]).
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
    /// While it waits, released permits are set aside for it (oldest waiter
    /// first), so callers asking for fewer permits cannot starve it. Fails at
    /// once with [`AcquireError::TooMany`] if `n` exceeds
    /// [`MAX_PERMITS`](Semaphore::MAX_PERMITS), and with
    /// [`AcquireError::Closed`] if the semaphore is or becomes closed while it
    /// waits (any permits set aside for it go back).
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
        Ok(Permit {
            semaphore: self,
            permits: n,
        })
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
    /// [`TryAcquireError::NoPermits`].
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
        let deadline = crate::wait::deadline_after(timeout);
        if n > Self::MAX_PERMITS {
            return Err(TryAcquireError::NoPermits);
        }
        self.wait_for(n, deadline)?;
        Ok(Permit {
            semaphore: self,
            permits: n,
        })
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
        Ok(OwnedPermit {
            semaphore: self,
            permits: n,
        })
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
            .field("available", &permits_in(state))
            .field("waiters", &(state & WAITERS != 0))
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}

/// Permits taken from a [`Semaphore`], returned to it when dropped.
///
/// `Send + Sync`: it may move to another thread, or be held across an
/// `.await`, as long as the semaphore outlives it.
///
/// ```
/// use freelane::Semaphore;
///
/// let sem = Semaphore::new(2);
/// {
///     let permit = sem.try_acquire_many(2).unwrap();
///     assert_eq!(permit.permits(), 2);
///     assert_eq!(sem.available_permits(), 0);
/// } // dropped: both permits return
/// assert_eq!(sem.available_permits(), 2);
/// ```
#[must_use = "dropping a permit returns it to the semaphore at once"]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl<'a> Permit<'a> {
    /// How many permits this holds.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    /// ```
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(std::ptr::eq(permit.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &'a Semaphore {
        self.semaphore
    }

    /// Consumes the permit without returning its permits: the semaphore has
    /// that many fewer from now on.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// sem.try_acquire_many(2).unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.semaphore.forget_permits(self.permits);
        self.permits = 0; // the drop below returns nothing
    }

    /// Splits `n` permits off into a new permit, or returns `None` (changing
    /// nothing) if this one holds fewer than `n`.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// let mut three = sem.try_acquire_many(3).unwrap();
    /// let one = three.split(1).unwrap();
    /// assert_eq!((three.permits(), one.permits()), (2, 1));
    /// assert!(three.split(5).is_none());
    /// drop(one);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(Self {
            semaphore: self.semaphore,
            permits: n,
        })
    }

    /// Moves `other`'s permits into this one.
    ///
    /// # Panics
    /// If the two permits come from different semaphores.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// let mut one = sem.try_acquire().unwrap();
    /// one.merge(sem.try_acquire_many(2).unwrap());
    /// assert_eq!(one.permits(), 3);
    /// ```
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            core::ptr::eq(self.semaphore, other.semaphore),
            "Permit::merge: the permits come from different semaphores"
        );
        self.permits += core::mem::take(&mut other.permits);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

/// Permits taken from a [`Semaphore`] behind an [`Arc`], returned when
/// dropped. It owns a reference to the semaphore, so it can move anywhere
/// (another thread, a spawned task) with no lifetime to satisfy.
///
/// ```
/// use freelane::Semaphore;
/// use std::sync::Arc;
///
/// let sem = Arc::new(Semaphore::new(1));
/// let permit = Arc::clone(&sem).try_acquire_owned().unwrap();
/// assert!(Arc::ptr_eq(permit.semaphore(), &sem));
/// std::thread::spawn(move || drop(permit)).join().unwrap();
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "dropping a permit returns it to the semaphore at once"]
pub struct OwnedPermit {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

impl OwnedPermit {
    /// How many permits this holds.
    ///
    /// ```
    /// let sem = std::sync::Arc::new(freelane::Semaphore::new(3));
    /// assert_eq!(sem.try_acquire_many_owned(2).unwrap().permits(), 2);
    /// ```
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(1));
    /// let permit = Arc::clone(&sem).try_acquire_owned().unwrap();
    /// assert_eq!(permit.semaphore().available_permits(), 0);
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Consumes the permit without returning its permits: the semaphore has
    /// that many fewer from now on.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(2));
    /// Arc::clone(&sem).try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.semaphore.forget_permits(self.permits);
        self.permits = 0; // the drop below returns nothing
    }

    /// Splits `n` permits off into a new permit, or returns `None` (changing
    /// nothing) if this one holds fewer than `n`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(2));
    /// let mut two = sem.try_acquire_many_owned(2).unwrap();
    /// let one = two.split(1).unwrap();
    /// assert_eq!((two.permits(), one.permits()), (1, 1));
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(Self {
            semaphore: Arc::clone(&self.semaphore),
            permits: n,
        })
    }

    /// Moves `other`'s permits into this one.
    ///
    /// # Panics
    /// If the two permits come from different semaphores.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(2));
    /// let mut one = Arc::clone(&sem).try_acquire_owned().unwrap();
    /// one.merge(sem.try_acquire_owned().unwrap());
    /// assert_eq!(one.permits(), 2);
    /// ```
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.semaphore, &other.semaphore),
            "OwnedPermit::merge: the permits come from different semaphores"
        );
        self.permits += core::mem::take(&mut other.permits);
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}
