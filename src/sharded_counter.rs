//! [`ShardedCounter`]: increments spread over cache-padded cells, one per
//! thread (or so), and summed on read.
//!
//! One atomic word bumped by every core spends its time moving its cache line
//! from core to core; each increment waits for the line. This counter keeps
//! a power-of-two number of cells, each on its own cache line, and each
//! thread adds to "its" cell (under `std`, picked by a thread-local number
//! handed out once per thread), so adds from different cores touch different
//! lines and do not contend. A read pays instead: `sum` visits every cell,
//! and is exact only once updates have stopped. The design is the
//! statistical counter of P. E. McKenney, *Is Parallel Programming Hard, And,
//! If So, What Can You Do About It?*, chapter "Counting"
//! (<https://mirrors.edge.kernel.org/pub/linux/kernel/people/paulmck/perfbook/perfbook.html>),
//! and of Java's `LongAdder` (D. Lea, JDK 8), without `LongAdder`'s growth on
//! contention: the cell count is fixed when the counter is built.
//!
//! Sections: state, finding a cell (under `std` and without it), how many
//! cells, linearization points (and what `sum` means meanwhile), ABA,
//! progress, size, why 64-bit only, references. The memory-ordering contract
//! users may rely on is on [`ShardedCounter`] itself.
//!
//! # State
//! ```text
//! shards: Box<[CachePadded<AtomicU64>]>, length 2^k
//!
//! | cell 0 ... padding | cell 1 ... padding | ... | cell 2^k - 1 ... padding |
//! |<----- 128 B ------>|<----- 128 B ------>|      (x86-64, aarch64)
//! ```
//! The counter's value is the wrapping sum of the cells; which cell holds
//! which part of it is irrelevant, so any add may go to any cell. The length
//! is a power of two so that `index & (length - 1)` picks a cell. The cells
//! are one allocation, made by the constructor and freed on drop; nothing
//! else is allocated or freed, so there is no reclamation to speak of.
//!
//! # Finding a cell
//! **Under `std`**, each thread has a thread-local number, taken at its first
//! add (to any `ShardedCounter`) from a global counter that hands out 0, 1, 2,
//! ...: one shared write per thread, none per add. The hot path is one
//! thread-local read and one `fetch_add`. The first N threads to add (to any
//! counter) land on N distinct cells of an N-cell counter; threads that come
//! and go keep advancing the numbers, so live threads may come to share a
//! cell. That is correct, just slower for the threads that share.
//!
//! **Without `std`** there are no thread-locals. The cell is picked by hashing
//! the address of a local variable: threads (tasks, cores) run on different
//! stacks, so their addresses differ. The address is first divided by the
//! 4 KiB page, so one thread calling from different depths usually hashes
//! alike, then Fibonacci-hashed (multiplied by 2^64/φ, top bits kept) so that
//! stacks a power of two apart still spread. The trade-off against a single
//! cell: a single cell is simply an `AtomicU64` with all its contention; the
//! hash needs no per-thread state, but two threads may collide (sharing a
//! line: slower, still exact), and a thread whose stack depth crosses a page
//! boundary spreads its adds over two cells (harmless: any cell is correct).
//! On a single core, build the counter with `with_shards(1)`.
//!
//! # How many cells
//! `new()` uses, under `std`, `std::thread::available_parallelism()` rounded
//! up to a power of two (asked once per process, then cached), at most
//! [`MAX_SHARDS`](ShardedCounter::MAX_SHARDS) = 64. At 128 B a cell that is
//! 8 KiB, and a `sum` then touches 64 lines; past that, threads share cells,
//! two or three to a line, which still contends far less than all on one.
//! Without `std` it uses
//! [`SHARDS_WITHOUT_STD`](ShardedCounter::SHARDS_WITHOUT_STD) = 8 (1 KiB at
//! 128 B a cell), enough for the few cores of a typical bare-metal system.
//! `with_shards(n)` picks the count directly.
//!
//! # Linearization points
//! - `add`, `increment`: the `fetch_add` on the thread's cell.
//! - `sum` has none: it reads the cells one after another, each at its own
//!   moment, so it is not a snapshot of the counter at any instant. What is
//!   true, given every add that happens-before the call (`before`) and every
//!   add concurrent with it: `sum` = `before` + the total of *some subset*
//!   of the concurrent adds, each counted whole or not at all. Without
//!   wrap-around, it is thus between `before` and `before` + all concurrent
//!   adds. The subset need not be consistent with any order: it can include
//!   an add and miss another that happened before it (thread A adds to cell
//!   0 after `sum` read it, then tells thread B, which adds to cell 1 before
//!   `sum` reads it), so with adds of different sizes the result can be a
//!   total the counter never held. Two `sum`s by one thread never go down
//!   (without resets or wrap-around): each cell is read no earlier the second
//!   time. Once updates have stopped (and the caller synchronized with them,
//!   for example by joining the threads), `sum` is exact.
//! - `reset` has none either: each cell's `swap` with 0 is its own atomic
//!   step. Each add lands in exactly one place: in the result of the first
//!   reset whose `swap` of that cell follows the add's `fetch_add` in the
//!   cell's modification order, or, if there is none yet, still in the cell,
//!   for a later `sum` or `reset`. So the results of all resets plus the final sum equal
//!   everything added (modulo 2^64), however they interleave. While updates
//!   run, a `sum` concurrent with a `reset` sees each cell either before or
//!   after it was cleared: each cell contributes some value it held during
//!   the call.
//!
//! # ABA
//! Nothing here compares and swaps, so there is nothing for ABA to fool.
//!
//! # Progress
//! Every operation is wait-free: `add` is one `fetch_add` (plus, once per
//! thread, one on the global thread numbering and the thread-local's
//! set-up); `sum` and `reset` are one load or swap per cell, never retried.
//!
//! # Targets without 64-bit atomics
//! The type exists where `target_has_atomic = "64"`, and elsewhere only with
//! the `portable-atomic` feature. Cortex-M has 32-bit atomics at most, and
//! portable-atomic's `AtomicU64` there guards the cells with a global lock
//! (or disables interrupts, with its `unsafe-assume-single-core` option): not
//! lock-free, since a thread preempted inside it stalls every other, and an
//! interrupt handler that touched the counter could deadlock on the lock.
//! Without the feature the type is absent there, so code that needs it fails
//! to build rather than silently blocking; with it, the choice is the
//! user's, made knowingly (the crate docs, "Targets").
//!
//! # References
//! - P. E. McKenney, *perfbook*, "Counting" (above): statistical counters,
//!   and why a read of one cannot be exact while updates run.
//! - D. Lea, `java.util.concurrent.atomic.LongAdder`, JDK 8
//!   (<https://docs.oracle.com/javase/8/docs/api/java/util/concurrent/atomic/LongAdder.html>).
//! - crossbeam-utils' `CachePadded` (`crossbeam-utils/src/cache_padded.rs`)
//!   for the line sizes.
//! - D. E. Knuth, *The Art of Computer Programming*, vol. 3, section 6.4:
//!   multiplicative (Fibonacci) hashing.

use alloc::boxed::Box;
use core::fmt;

use crate::sync::CachePadded;
use crate::sync::atomic::AtomicU64;
#[cfg(feature = "std")]
use crate::sync::atomic::AtomicUsize;
use crate::sync::atomic::Ordering::Relaxed;

/// A counter whose increments from different cores touch different cache
/// lines; reads sum over all of them.
///
/// Use it for counts that many threads bump and few read (statistics, hit
/// counters). [`add`](Self::add) and [`increment`](Self::increment) are
/// wait-free and contention-free when each core's thread has its own cell;
/// [`sum`](Self::sum) and [`reset`](Self::reset) visit every cell. Arithmetic
/// wraps modulo 2^64, as `u64::wrapping_add` does.
///
/// # Memory ordering
/// Every operation is `Relaxed`. A pure counter publishes nothing but the
/// number, and the atomicity of each `fetch_add` alone makes every add land
/// exactly once. "Updates have stopped" must itself be learned through some
/// synchronization (joining the threads, a channel, a Release/Acquire flag),
/// and that gives the happens-before under which `sum` sees every add.
///
/// So **`sum` and `reset` are not synchronization points**: reading a sum of
/// `n` does not make visible what the adding threads wrote before their
/// adds. To publish data with a count, use
/// [`AtomicCounter`](crate::AtomicCounter), whose updates are Release and
/// reads Acquire.
///
/// What `sum` returns while updates run (it is not a snapshot at any
/// instant, but it counts each add whole or not at all, and everything that
/// happened before the call) is spelled out in the module docs.
///
/// # Size
/// The value itself is a boxed slice: two words (16 bytes on 64-bit
/// targets). On the heap, one `CachePadded<AtomicU64>` per cell: 128 B on
/// x86-64, aarch64 and powerpc64 (Intel's spatial prefetcher pulls lines in
/// pairs; big Arm cores have 128 B lines), 256 B on s390x, 64 B on most
/// others, 32 B on 32-bit Arm (Cortex-M has 32 B lines too, but no 64-bit
/// atomics, so the type is absent there). For example, 8 cells on x86-64
/// take 1 KiB. The cells are aligned to that size, so no other data shares
/// their lines.
///
/// # Examples
/// ```
/// use freelane::ShardedCounter;
///
/// let hits = ShardedCounter::new();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             for _ in 0..1000 {
///                 hits.increment();
///             }
///         });
///     }
/// });
/// // The scope joined the threads: updates have stopped, the sum is exact.
/// assert_eq!(hits.sum(), 4000);
/// ```
pub struct ShardedCounter {
    /// The cells; the counter is their wrapping sum. The length is a power of
    /// two, at least 1 and at most `MAX_SHARDS`.
    ///
    /// ```text
    /// | cell 0 ... padding | cell 1 ... padding | ... |
    /// ```
    shards: Box<[CachePadded<AtomicU64>]>,
}

impl ShardedCounter {
    /// The most cells a counter has, whichever constructor built it: 64,
    /// i.e. 8 KiB at 128 B a cell (the module docs give the reasoning).
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// let counter = ShardedCounter::with_shards(1000);
    /// assert_eq!(counter.shard_count(), ShardedCounter::MAX_SHARDS);
    /// ```
    pub const MAX_SHARDS: usize = 64;

    /// The cells [`new`](Self::new) makes without `std`, where the machine
    /// cannot be asked: 8, i.e. 1 KiB at 128 B a cell, enough for the few
    /// cores of a typical bare-metal system.
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// assert!(ShardedCounter::SHARDS_WITHOUT_STD <= ShardedCounter::MAX_SHARDS);
    /// ```
    pub const SHARDS_WITHOUT_STD: usize = 8;

    /// Creates a counter at 0, with one cell per available core (rounded up
    /// to a power of two, at most [`MAX_SHARDS`](Self::MAX_SHARDS)) under
    /// `std`, or [`SHARDS_WITHOUT_STD`](Self::SHARDS_WITHOUT_STD) cells
    /// without it.
    ///
    /// Under `std` the core count is asked of the OS once per process and
    /// cached; later changes to the process's CPU affinity are not seen.
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// let counter = ShardedCounter::new();
    /// assert_eq!(counter.sum(), 0);
    /// assert!(counter.shard_count().is_power_of_two());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_shards(default_shards())
    }

    /// Creates a counter at 0 with `shards` cells, rounded up to a power of
    /// two and kept between 1 and [`MAX_SHARDS`](Self::MAX_SHARDS).
    ///
    /// The count only affects speed, never results: `with_shards(1)` is a
    /// plain atomic counter (right for a single core), more cells spread
    /// more threads.
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// assert_eq!(ShardedCounter::with_shards(0).shard_count(), 1);
    /// assert_eq!(ShardedCounter::with_shards(5).shard_count(), 8);
    /// ```
    #[must_use]
    pub fn with_shards(shards: usize) -> Self {
        let shards = shards.clamp(1, Self::MAX_SHARDS).next_power_of_two();
        Self {
            shards: (0..shards)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
        }
    }

    /// The number of cells (a power of two).
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// assert_eq!(ShardedCounter::with_shards(4).shard_count(), 4);
    /// ```
    #[must_use]
    #[inline]
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Adds `n` (wrapping modulo 2^64) to this thread's cell.
    ///
    /// Wait-free: one thread-local read and one `fetch_add`, on a cache line
    /// that other cores' threads do not write.
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// let bytes = ShardedCounter::new();
    /// bytes.add(1500);
    /// bytes.add(500);
    /// assert_eq!(bytes.sum(), 2000);
    /// ```
    #[inline]
    pub fn add(&self, n: u64) {
        // Relaxed: a pure count; atomicity alone makes the add land exactly
        // once, and the caller's join (or other sync) orders it before `sum`.
        self.cell().fetch_add(n, Relaxed);
    }

    /// Adds one to this thread's cell.
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// let counter = ShardedCounter::new();
    /// counter.increment();
    /// assert_eq!(counter.sum(), 1);
    /// ```
    #[inline]
    pub fn increment(&self) {
        self.add(1);
    }

    /// Returns the sum of all cells (wrapping modulo 2^64).
    ///
    /// Exact once updates have stopped and the caller has synchronized with
    /// them (for example by joining the threads). While updates run it counts
    /// every add that happened before the call and some of those concurrent
    /// with it, each whole or not at all; it is not a snapshot of any single
    /// instant (see the module docs). Not a synchronization point: it reads
    /// with `Relaxed`.
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// let counter = ShardedCounter::new();
    /// counter.add(u64::MAX);
    /// counter.add(2);
    /// assert_eq!(counter.sum(), 1); // wraps, as u64::wrapping_add does
    /// ```
    #[must_use]
    pub fn sum(&self) -> u64 {
        self.shards.iter().fold(0, |total, cell| {
            // Relaxed: not a synchronization point (see the type's docs).
            total.wrapping_add(cell.load(Relaxed))
        })
    }

    /// Sets every cell to 0 and returns the sum of what it cleared.
    ///
    /// No concurrent add is lost: each cell is swapped with 0 atomically, so
    /// every add lands either in this result or stays for a later `sum` or
    /// `reset`, never in both and never in neither. The results of all resets
    /// plus the final `sum` equal everything added. Like `sum`, it is not a
    /// snapshot of one instant and not a synchronization point.
    ///
    /// # Examples
    /// Reporting a rate per interval without losing counts in between:
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// let requests = ShardedCounter::new();
    /// requests.add(7);
    /// assert_eq!(requests.reset(), 7);
    /// requests.add(2);
    /// assert_eq!(requests.reset(), 2);
    /// assert_eq!(requests.sum(), 0);
    /// ```
    pub fn reset(&self) -> u64 {
        self.shards.iter().fold(0, |total, cell| {
            // Relaxed: the swap's atomicity is what splits the adds between
            // this result and the cell; no other memory is published.
            total.wrapping_add(cell.swap(0, Relaxed))
        })
    }

    /// This thread's cell.
    #[inline]
    fn cell(&self) -> &AtomicU64 {
        // The length is a power of two (an invariant of `shards`), so the mask
        // is the remainder and always in bounds.
        &self.shards[thread_index() & (self.shards.len() - 1)]
    }
}

impl Default for ShardedCounter {
    /// The same as [`ShardedCounter::new`].
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// assert_eq!(ShardedCounter::default().sum(), 0);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ShardedCounter {
    /// Shows the current [`sum`](ShardedCounter::sum) and the cell count.
    ///
    /// # Examples
    /// ```
    /// use freelane::ShardedCounter;
    ///
    /// let counter = ShardedCounter::with_shards(2);
    /// counter.add(3);
    /// assert_eq!(format!("{counter:?}"), "ShardedCounter { sum: 3, shards: 2 }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedCounter")
            .field("sum", &self.sum())
            .field("shards", &self.shards.len())
            .finish()
    }
}

/// The next thread number to hand out. Each thread takes one at its first
/// add to any `ShardedCounter`.
#[cfg(all(feature = "std", not(freelane_loom)))]
static NEXT_THREAD_INDEX: AtomicUsize = AtomicUsize::new(0);

/// The cell count for this machine (see "How many cells"), 0 until asked.
#[cfg(all(feature = "std", not(freelane_loom)))]
static MACHINE_SHARDS: AtomicUsize = AtomicUsize::new(0);

// Loom's atomics are not `const`, and loom must reset globals between the
// executions it explores, so under loom both are lazily built statics.
#[cfg(all(feature = "std", freelane_loom))]
crate::sync::lazy_static! {
    static ref NEXT_THREAD_INDEX: AtomicUsize = AtomicUsize::new(0);
    static ref MACHINE_SHARDS: AtomicUsize = AtomicUsize::new(0);
}

#[cfg(feature = "std")]
crate::sync::thread_local! {
    /// This thread's number, which (masked) picks its cell in every counter.
    static THREAD_INDEX: usize = {
        // Relaxed: only uniqueness matters, and the read-modify-write's
        // atomicity gives it; the number publishes nothing.
        NEXT_THREAD_INDEX.fetch_add(1, Relaxed)
    };
}

/// This thread's number (any value; callers mask it to a cell index).
#[cfg(feature = "std")]
#[inline]
fn thread_index() -> usize {
    // If the thread-local is already gone (an add from another thread-local's
    // destructor at thread exit), any cell is correct: take the first.
    THREAD_INDEX.try_with(|index| *index).unwrap_or(0)
}

/// Bits of the address below this are the offset within a 4 KiB page, the
/// smallest page on the 64-bit targets this type exists on.
#[cfg(not(feature = "std"))]
const STACK_PAGE_BITS: u32 = 12;

/// A number for the calling thread, from its stack address (see "Finding a
/// cell" in the module docs); callers mask it to a cell index.
#[cfg(not(feature = "std"))]
#[inline]
fn thread_index() -> usize {
    /// 2^64 / φ, rounded to odd: Knuth's multiplier for Fibonacci hashing.
    const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;
    /// Enough top bits of the hash for `MAX_SHARDS` cells.
    const INDEX_BITS: u32 = ShardedCounter::MAX_SHARDS.trailing_zeros();

    let marker = 0_u8;
    let page = (&raw const marker).addr() >> STACK_PAGE_BITS;
    // The top bits of the product depend on every bit of `page`.
    ((page as u64).wrapping_mul(FIBONACCI) >> (u64::BITS - INDEX_BITS)) as usize
}

/// The cell count for `new`: the core count rounded up to a power of two,
/// at most `MAX_SHARDS`, asked of the OS once and then cached.
#[cfg(feature = "std")]
fn default_shards() -> usize {
    // Relaxed: the cached number is self-contained; threads racing here all
    // compute the same answer, and a miss just asks the OS again.
    let cached = MACHINE_SHARDS.load(Relaxed);
    if cached != 0 {
        return cached;
    }
    let cores = std::thread::available_parallelism().map_or(1, core::num::NonZeroUsize::get);
    let shards = cores
        .clamp(1, ShardedCounter::MAX_SHARDS)
        .next_power_of_two();
    // Relaxed: as for the load above.
    MACHINE_SHARDS.store(shards, Relaxed);
    shards
}

/// The cell count for `new` without `std`.
#[cfg(not(feature = "std"))]
fn default_shards() -> usize {
    ShardedCounter::SHARDS_WITHOUT_STD
}
