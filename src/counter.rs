//! [`AtomicCounter`]: one 64-bit word, counted with fetch-and-add and updated
//! under conditions with the compare-and-swap loop.
//!
//! Unconditional updates (`increment`, `fetch_add`, `swap`, ...) are single
//! hardware read-modify-writes. Conditional ones (`fetch_update`,
//! `checked_*`, `saturating_*`) are the CAS loop: read the word, compute the
//! new value from it, compare-exchange it in, and if another thread changed
//! the word in between, compute again from the value the failure reported.
//! That loop is the smallest case of Herlihy's result that compare-and-swap
//! can build any object lock-free (M. Herlihy, "Wait-free synchronization",
//! ACM TOPLAS 13(1), 1991, <https://doi.org/10.1145/114005.102808>); Mara Bos,
//! *Rust Atomics and Locks*, ch. 2-3 (<https://marabos.nl/atomics/>) walks
//! through it in Rust.
//!
//! Sections: the CAS loop (weak or strong; orderings on success and on
//! failure; check before commit; backoff), state, linearization points, ABA,
//! progress, why 64-bit only, references. The memory-ordering contract users
//! may rely on is on [`AtomicCounter`] itself.
//!
//! # The CAS loop
//!
//! ```text
//! current = load(Acquire)
//! loop {
//!     new = f(current)            // None: give up; nothing was written
//!     match compare_exchange_weak(current, new, AcqRel, Acquire) {
//!         Ok(_)       => return Ok(current)   // nobody wrote in between: committed
//!         Err(actual) => { current = actual; backoff.spin() }   // lost a race: recompute
//!     }
//! }
//! ```
//!
//! `new` is computed from a value that may be stale by the time it is
//! written. The compare-exchange is what makes that safe: it stores `new` only
//! if the word still holds `current`, so a commit always replaces exactly the
//! value the computation started from.
//!
//! ## Weak or strong
//! A strong `compare_exchange` fails only when the word differs from
//! `current`. A weak one may also fail when it does not. On x86-64 both are
//! the same `lock cmpxchg`. On load-linked/store-conditional machines (Arm
//! without the LSE atomics, RISC-V, POWER) the store-conditional fails when
//! the core loses its reservation on the cache line (an interrupt, a context
//! switch, another core writing anywhere in that line), and the strong form
//! hides this behind a retry loop of its own. Inside a loop that retries
//! anyway that inner loop buys nothing, so the loop uses the weak form: a
//! spurious failure reports the unchanged value and goes round once more,
//! calling `f` again on the same input. The public
//! [`compare_exchange`](AtomicCounter::compare_exchange) is strong, because
//! its caller reads `Err` as "the value was not `current`".
//!
//! ## Orderings on success and on failure
//! On success the compare-exchange is `AcqRel`: its Release half publishes
//! what the caller wrote before the update to every later reader of the
//! counter, and its Acquire half makes the caller see what the writer of the
//! replaced value published. The failure ordering governs only the load that
//! reports the competing value. If that value only fed the next attempt,
//! `Relaxed` would do: the next compare-exchange re-validates it. Here it can
//! escape: `f` may refuse it, and `fetch_update` returns it as `Err`, and the
//! contract promises that every value handed to the caller was read with
//! Acquire. So failure is `Acquire` too (on x86-64 this costs nothing; on
//! aarch64 it selects the acquiring form of the load).
//!
//! ## Check before commit
//! `f` sees the value before anything is written, and returning `None` leaves
//! the loop before any compare-exchange: a refused update never writes. No
//! other thread ever sees an out-of-range value, and a refusal leaves the
//! cache line shared instead of taking it exclusive. The alternative, "add,
//! then undo if it overflowed", shows the wrapped value to every thread that
//! reads between the add and the undo (the ID-allocation example in *Rust
//! Atomics and Locks*, ch. 2, makes the same point). `checked_add` is
//! `fetch_update(|v| v.checked_add(n))`; `saturating_add` also refuses when
//! the clamped result equals the current value, so a counter pinned at its
//! limit is only read, never written.
//!
//! ## Backoff
//! A failed compare-exchange means another thread's update just won, so the
//! cache line has just moved to that core. Retrying at once pulls it straight
//! back, and with many contenders most attempts then fail. After each failure
//! the loop calls crossbeam-utils' [`Backoff::spin`]: 1, 2, 4, ... up to 64
//! spin-loop hints (`pause` on x86), doubling per failure. It never yields
//! the thread: a lock-free loop is not waiting for anyone, only stepping out
//! of the way. Each call starts a fresh `Backoff`, so an uncontended update
//! pays nothing for it.
//!
//! # State
//! ```text
//! value: AtomicU64
//!  63                                0
//! +-----------------------------------+
//! |            the count              |
//! +-----------------------------------+
//! ```
//! Every `u64` is a valid state; there is no other word and no invariant.
//! The type is this one word (8 bytes, align 8), unpadded: if neighbouring
//! data is written by other cores, put the counter in a
//! `crossbeam_utils::CachePadded`, or count with
//! [`ShardedCounter`](crate::ShardedCounter).
//!
//! # Linearization points
//! - `get`: its load. `set`: its store.
//! - `swap`, `increment`, `decrement`, `fetch_add`, `fetch_sub`: their single
//!   read-modify-write.
//! - `compare_exchange`: the compare-exchange, on success (its write) and on
//!   failure (its read of the differing value).
//! - `fetch_update`, `checked_*`, `saturating_*`: on success, the
//!   compare-exchange that committed; on refusal, the read (the first load or
//!   a failed compare-exchange) that produced the value `f` refused. Failed
//!   attempts before either have no effect.
//!
//! # ABA
//! The loop compares values, not versions: between the read of `A` and the
//! compare-exchange the word may go `A -> B -> A`, and the commit succeeds.
//! For a counter that is harmless, because the new value is computed from
//! the old value alone and the word names nothing (no pointer, no slot) that
//! the detour could have invalidated: the result is `f(A)` applied after the
//! intervening updates, exactly what a lock would give with those updates
//! ordered first. It matters only to an `f` that reads state besides its
//! argument; guarding that state is then the caller's business.
//!
//! # Progress
//! - The single read-modify-writes are one instruction where the hardware
//!   has them (`lock xadd` and `xchg` on x86-64, `ldadd`/`swp` with Arm's
//!   LSE): wait-free. On LL/SC hardware they compile to a short retry loop
//!   that retries only when another core wrote the line: lock-free.
//! - The CAS loops are lock-free, not wait-free: an attempt fails only
//!   because another thread's update succeeded (or the reservation was lost,
//!   above), so the system always progresses, but one thread can lose
//!   repeatedly under sustained contention, and `f` runs once per attempt.
//!
//! # Targets without 64-bit atomics
//! The type exists where `target_has_atomic = "64"`, and elsewhere only with
//! the `portable-atomic` feature. Cortex-M has 32-bit atomics at most, and
//! portable-atomic's `AtomicU64` there guards the word with a global lock
//! (or disables interrupts, with its `unsafe-assume-single-core` option): not
//! lock-free, since a thread preempted inside it stalls every other, and an
//! interrupt handler that touched the counter could deadlock on the lock.
//! Without the feature the type is absent there, so code that needs it fails
//! to build rather than silently blocking; with it, the choice is the
//! user's, made knowingly (the crate docs, "Targets").
//!
//! # References
//! - M. Herlihy, "Wait-free synchronization", 1991 (above): CAS is universal.
//! - M. Bos, *Rust Atomics and Locks*, 2023, ch. 2 (compare-and-exchange,
//!   weak vs strong, ID allocation without overflow) and ch. 3 (orderings).
//! - The `compare_exchange_weak` docs of [`core::sync::atomic::AtomicU64`].
//! - crossbeam-utils' `Backoff` (`crossbeam-utils/src/backoff.rs`).

use core::fmt;

use crate::sync::Backoff;
use crate::sync::atomic::AtomicU64;
use crate::sync::atomic::Ordering::{AcqRel, Acquire, Release};

/// A 64-bit counter with wait-free increments and lock-free conditional
/// updates (compare-and-swap loops).
///
/// Unconditional updates wrap around at `u64::MAX` and 0, as `u64`'s
/// `wrapping_*` methods do; [`checked_add`](Self::checked_add) and
/// [`saturating_add`](Self::saturating_add) (and their `_sub` twins) never
/// wrap. Every method returning a `u64` returns the value before the update.
///
/// # Memory ordering
/// Strong enough for the counter to publish data, like a Release/Acquire
/// flag:
/// - every write is a **Release**: `set`, and every read-modify-write that
///   succeeds (`swap`, `increment`, `decrement`, `fetch_add`, `fetch_sub`,
///   `compare_exchange`, `fetch_update`, `checked_*`, `saturating_*`);
/// - every read is an **Acquire**: `get`, every read-modify-write, and the
///   read behind every refusal (`compare_exchange`'s `Err`, a refused
///   `fetch_update`, `checked_*`).
///
/// So whatever a thread wrote before an update is visible to any thread that
/// reads the value that update wrote, or any later value: each
/// read-modify-write continues the release sequence of the writes before it.
/// The read-modify-writes are `AcqRel`, so they are totally ordered by
/// happens-before, each after the one whose value it read.
///
/// Two things it does not give:
/// - no single order across *several* atomics (that would need `SeqCst`):
///   two threads reading two counters may see their updates in different
///   orders;
/// - a refusal writes nothing, so it releases nothing: a refused
///   `fetch_update` or `checked_*`, and a `saturating_*` that changes nothing
///   (`n == 0`, or already at the limit), act as an Acquire load only.
///
/// On x86-64 these orderings cost nothing over `Relaxed` (every locked
/// instruction is a full barrier, every load acquires, every store
/// releases); on aarch64 they select the acquire/release instruction forms.
/// For pure statistics bumped by many cores, where contention rather than
/// ordering is the cost, use [`ShardedCounter`](crate::ShardedCounter).
///
/// # Size
/// One `AtomicU64`: 8 bytes, unpadded (see the module docs on false sharing).
///
/// # Examples
/// Publishing data through the counter:
/// ```
/// use freelane::AtomicCounter;
/// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
///
/// let published = AtomicCounter::new(0);
/// let data = AtomicU64::new(0);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         data.store(42, Relaxed);
///         published.increment(); // Release: publishes the store above
///     });
///     s.spawn(|| {
///         if published.get() == 1 {
///             // Acquire: the increment's Release makes the store visible.
///             assert_eq!(data.load(Relaxed), 42);
///         }
///     });
/// });
/// ```
pub struct AtomicCounter {
    /// The count. Every `u64` is a valid state (see the module's "State").
    value: AtomicU64,
}

impl AtomicCounter {
    /// Creates a counter holding `initial`.
    ///
    /// `const` except under the loom model checker, whose atomics cannot be
    /// built in a constant.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// static REQUESTS: AtomicCounter = AtomicCounter::new(0);
    /// REQUESTS.increment();
    /// assert_eq!(REQUESTS.get(), 1);
    /// ```
    #[cfg(not(freelane_loom))]
    #[must_use]
    #[inline]
    pub const fn new(initial: u64) -> Self {
        Self {
            value: AtomicU64::new(initial),
        }
    }

    /// Creates a counter holding `initial` (loom build: not `const`).
    #[cfg(freelane_loom)]
    #[must_use]
    pub fn new(initial: u64) -> Self {
        Self {
            value: AtomicU64::new(initial),
        }
    }

    /// Returns the current value.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// assert_eq!(AtomicCounter::new(7).get(), 7);
    /// ```
    #[must_use]
    #[inline]
    pub fn get(&self) -> u64 {
        // Acquire: pairs with the Release of the write that stored this value
        // (and the release sequence before it); receives what was published.
        self.value.load(Acquire)
    }

    /// Stores `value`, replacing whatever was there.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(7);
    /// counter.set(3);
    /// assert_eq!(counter.get(), 3);
    /// ```
    #[inline]
    pub fn set(&self, value: u64) {
        // Release: pairs with the Acquire of any later read of this value;
        // publishes the caller's earlier writes.
        self.value.store(value, Release);
    }

    /// Stores `value` and returns the value it replaced.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(7);
    /// assert_eq!(counter.swap(3), 7);
    /// assert_eq!(counter.get(), 3);
    /// ```
    #[inline]
    pub fn swap(&self, value: u64) -> u64 {
        // AcqRel: acquires from the write it replaces, releases to later
        // readers (the contract on the type).
        self.value.swap(value, AcqRel)
    }

    /// Adds one, wrapping from `u64::MAX` to 0; returns the previous value.
    ///
    /// A single fetch-and-add: wait-free where the hardware has one.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(u64::MAX);
    /// assert_eq!(counter.increment(), u64::MAX);
    /// assert_eq!(counter.get(), 0);
    /// ```
    #[inline]
    pub fn increment(&self) -> u64 {
        // AcqRel: acquires from the write it replaces, releases to later
        // readers (the contract on the type).
        self.value.fetch_add(1, AcqRel)
    }

    /// Subtracts one, wrapping from 0 to `u64::MAX`; returns the previous
    /// value.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(0);
    /// assert_eq!(counter.decrement(), 0);
    /// assert_eq!(counter.get(), u64::MAX);
    /// ```
    #[inline]
    pub fn decrement(&self) -> u64 {
        // AcqRel: acquires from the write it replaces, releases to later
        // readers (the contract on the type).
        self.value.fetch_sub(1, AcqRel)
    }

    /// Adds `n`, wrapping around at `u64::MAX`; returns the previous value.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(u64::MAX - 1);
    /// assert_eq!(counter.fetch_add(3), u64::MAX - 1);
    /// assert_eq!(counter.get(), 1);
    /// ```
    #[inline]
    pub fn fetch_add(&self, n: u64) -> u64 {
        // AcqRel: acquires from the write it replaces, releases to later
        // readers (the contract on the type).
        self.value.fetch_add(n, AcqRel)
    }

    /// Subtracts `n`, wrapping around at 0; returns the previous value.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(1);
    /// assert_eq!(counter.fetch_sub(3), 1);
    /// assert_eq!(counter.get(), u64::MAX - 1);
    /// ```
    #[inline]
    pub fn fetch_sub(&self, n: u64) -> u64 {
        // AcqRel: acquires from the write it replaces, releases to later
        // readers (the contract on the type).
        self.value.fetch_sub(n, AcqRel)
    }

    /// Stores `new` if the counter holds `current`.
    ///
    /// Returns `Ok(current)` if it stored, or `Err(actual)` with the value
    /// that differed, leaving it unchanged. This is the strong form: `Err`
    /// always means the value was not `current` (the module docs say why the
    /// loops inside use the weak one).
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(5);
    /// assert_eq!(counter.compare_exchange(5, 6), Ok(5));
    /// assert_eq!(counter.compare_exchange(5, 7), Err(6));
    /// assert_eq!(counter.get(), 6);
    /// ```
    #[inline]
    pub fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        // Success AcqRel: acquires from the replaced write, releases to later
        // readers. Failure Acquire: `Err(actual)` goes to the caller, and
        // pairs with the Release of the write that stored `actual`.
        self.value.compare_exchange(current, new, AcqRel, Acquire)
    }

    /// Updates the value with `f`, in a compare-and-swap loop.
    ///
    /// `f` gets the current value and returns the new one, or `None` to
    /// refuse. Returns `Ok(previous)` once a new value is stored, or
    /// `Err(current)` with the value `f` refused, in which case nothing was
    /// written. If another thread changes the value between the read and the
    /// store, `f` runs again on the newer value, so it may run many times:
    /// keep it cheap and free of side effects. Lock-free; failed attempts
    /// back off with crossbeam-utils' `Backoff::spin`.
    ///
    /// # Examples
    /// An update that doubles, but never past 100:
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(40);
    /// let double = |v: u64| v.checked_mul(2).filter(|&d| d <= 100);
    /// assert_eq!(counter.fetch_update(double), Ok(40));
    /// assert_eq!(counter.fetch_update(double), Err(80));
    /// assert_eq!(counter.get(), 80);
    /// ```
    pub fn fetch_update(&self, mut f: impl FnMut(u64) -> Option<u64>) -> Result<u64, u64> {
        let backoff = Backoff::new();
        // Acquire: pairs with the Release of the write that stored this
        // value; needed because a refusal hands the value to the caller.
        let mut current = self.value.load(Acquire);
        loop {
            // Check before commit: a refusal leaves before any write.
            let Some(new) = f(current) else {
                return Err(current);
            };
            // Weak: a spurious failure just goes round this loop once more.
            // Success AcqRel: acquires from the replaced write, releases to
            // later readers. Failure Acquire: as for the first load, the
            // value may end up refused and returned.
            match self
                .value
                .compare_exchange_weak(current, new, AcqRel, Acquire)
            {
                Ok(previous) => return Ok(previous),
                Err(actual) => {
                    current = actual;
                    backoff.spin();
                }
            }
        }
    }

    /// Adds `n` unless that would pass `u64::MAX`.
    ///
    /// Returns `Some(previous)` if it added, or `None` if the sum would
    /// overflow, leaving the value unchanged (nothing is written).
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(u64::MAX - 2);
    /// assert_eq!(counter.checked_add(2), Some(u64::MAX - 2));
    /// assert_eq!(counter.checked_add(1), None);
    /// assert_eq!(counter.get(), u64::MAX);
    /// ```
    #[inline]
    pub fn checked_add(&self, n: u64) -> Option<u64> {
        self.fetch_update(|current| current.checked_add(n)).ok()
    }

    /// Subtracts `n` unless that would go below 0.
    ///
    /// Returns `Some(previous)` if it subtracted, or `None` if the value is
    /// less than `n`, leaving it unchanged (nothing is written).
    ///
    /// # Examples
    /// A budget that never goes negative:
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let budget = AtomicCounter::new(10);
    /// assert_eq!(budget.checked_sub(3), Some(10));
    /// assert_eq!(budget.checked_sub(8), None);
    /// assert_eq!(budget.get(), 7);
    /// ```
    #[inline]
    pub fn checked_sub(&self, n: u64) -> Option<u64> {
        self.fetch_update(|current| current.checked_sub(n)).ok()
    }

    /// Adds `n`, stopping at `u64::MAX`; returns the previous value.
    ///
    /// If the result equals the current value (`n == 0`, or already at
    /// `u64::MAX`) nothing is written, and the call is an Acquire read.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(u64::MAX - 1);
    /// assert_eq!(counter.saturating_add(5), u64::MAX - 1);
    /// assert_eq!(counter.saturating_add(5), u64::MAX);
    /// assert_eq!(counter.get(), u64::MAX);
    /// ```
    #[inline]
    pub fn saturating_add(&self, n: u64) -> u64 {
        let update = self.fetch_update(|current| {
            let new = current.saturating_add(n);
            // Refuse a no-op: a counter pinned at the limit is never written.
            (new != current).then_some(new)
        });
        match update {
            Ok(previous) | Err(previous) => previous,
        }
    }

    /// Subtracts `n`, stopping at 0; returns the previous value.
    ///
    /// If the result equals the current value (`n == 0`, or already 0)
    /// nothing is written, and the call is an Acquire read.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// let counter = AtomicCounter::new(3);
    /// assert_eq!(counter.saturating_sub(5), 3);
    /// assert_eq!(counter.saturating_sub(5), 0);
    /// assert_eq!(counter.get(), 0);
    /// ```
    #[inline]
    pub fn saturating_sub(&self, n: u64) -> u64 {
        let update = self.fetch_update(|current| {
            let new = current.saturating_sub(n);
            // Refuse a no-op: a counter pinned at zero is never written.
            (new != current).then_some(new)
        });
        match update {
            Ok(previous) | Err(previous) => previous,
        }
    }
}

impl Default for AtomicCounter {
    /// A counter holding 0.
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// assert_eq!(AtomicCounter::default().get(), 0);
    /// ```
    #[inline]
    fn default() -> Self {
        Self::new(0)
    }
}

impl fmt::Debug for AtomicCounter {
    /// Shows the current value (read with [`get`](AtomicCounter::get)).
    ///
    /// # Examples
    /// ```
    /// use freelane::AtomicCounter;
    ///
    /// assert_eq!(format!("{:?}", AtomicCounter::new(3)), "AtomicCounter(3)");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AtomicCounter").field(&self.get()).finish()
    }
}
