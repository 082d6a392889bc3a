//! [`SegmentedQueue`]: an unbounded lock-free MPMC FIFO built for throughput,
//! a linked list of fixed-size array segments whose slots are claimed by
//! fetch-and-add.
//!
//! Each segment holds [`SEGMENT`] slots and two claim counters. A push takes
//! the next slot of the last segment with one fetch-and-add on its `enq`
//! counter and publishes its value there with one CAS; a pop takes the next
//! slot of the first segment with one fetch-and-add on its `deq` counter and
//! reads it. A pop that reaches a slot before its pusher has written it
//! spins briefly and then *poisons* it (the pusher's CAS fails and it takes
//! another slot), so nobody ever waits for a stalled thread. A full segment
//! is followed by a new one that its creator links with its own value in
//! place; drained segments go to crossbeam-epoch. Sources: FAAArrayQueue,
//! P. Ramalhete and A. Correia, 2016; LCRQ, A. Morrison and Y. Afek,
//! PPoPP 2013; LPRQ, R. Romanov and N. Koval, PPoPP 2023.
//!
//! The full explanation (segment layout, linearization points, the poisoned
//! slot, reclamation, progress, memory ordering) is on [`SegmentedQueue`]
//! itself, so that it renders in the crate's documentation. This file is
//! laid out as: `Slot`, `Segment`, the queue and its algorithms, `Drop`, the
//! handle.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;

use crossbeam_epoch::{Atomic, Guard, LocalHandle, Owned, Shared};

use crate::sync::atomic::AtomicUsize;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::{CachePadded, UnsafeCell, spin_loop};

/// Slots per segment.
///
/// 1024, chosen by measurement (below); `FREELANE_SEGMENT_LEN=n` at build
/// time overrides it, for repeating that measurement only. Larger segments
/// amortize the segment allocation, the `head`/`tail` CASes and the epoch
/// deferral over more operations, and cost memory (a segment of `u64`s is
/// about 16 KiB at 1024 slots). Small under loom and Miri, so that the
/// models and the interpreted tests cross segment boundaries. The table is
/// on [`SegmentedQueue::SEGMENT_LEN`].
#[cfg(not(any(freelane_loom, miri)))]
pub(crate) const SEGMENT: usize = match option_env!("FREELANE_SEGMENT_LEN") {
    Some(len) => parse_segment_len(len),
    None => 1024,
};

/// Parses the `FREELANE_SEGMENT_LEN` build-time override (a power of two
/// from 2 to 65536), the knob of the segment-size measurement; anything else
/// fails the build.
#[cfg(not(any(freelane_loom, miri)))]
const fn parse_segment_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut value = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        let digit = bytes[at];
        assert!(
            digit.is_ascii_digit(),
            "FREELANE_SEGMENT_LEN must be a decimal number"
        );
        value = value * 10 + (digit - b'0') as usize;
        assert!(value <= 65536, "FREELANE_SEGMENT_LEN must be at most 65536");
        at += 1;
    }
    assert!(
        value >= 2 && value.is_power_of_two(),
        "FREELANE_SEGMENT_LEN must be a power of two, at least 2"
    );
    value
}
#[cfg(all(miri, not(freelane_loom)))]
pub(crate) const SEGMENT: usize = 8;
#[cfg(freelane_loom)]
pub(crate) const SEGMENT: usize = 2;

/// How many times a pop re-reads a slot it claimed before the pusher wrote
/// it, before poisoning the slot. About a microsecond of `pause`s on x86-64:
/// long enough for a running pusher between its fetch-and-add and its CAS
/// (a few nanoseconds), short against a preempted one (a scheduler tick).
/// One under loom, which turns each spin into a yield.
#[cfg(not(freelane_loom))]
const SPIN_LIMIT: usize = 128;
#[cfg(freelane_loom)]
const SPIN_LIMIT: usize = 1;

/// `Slot::state`: no value yet, and no pop has given up on the slot.
const EMPTY: usize = 0;
/// `Slot::state`: the pusher's value is in the slot.
const FULL: usize = 1;
/// `Slot::state`: a pop claimed the slot before its pusher wrote it and gave
/// up on it; the pusher's CAS fails and it takes another slot.
const POISONED: usize = 2;

/// One cell of a segment: a value and its state.
///
/// ```text
///   state: EMPTY --(pusher's CAS)--> FULL
///            \
///             `---(pop's CAS)-----> POISONED
/// ```
///
/// Each slot index is claimed by at most one pusher and one pop (the
/// fetch-and-adds hand out each index once), so the only race on a slot is
/// between those two, over `state`.
struct Slot<T> {
    /// [`EMPTY`], [`FULL`] or [`POISONED`]; changes at most once.
    state: AtomicUsize,
    /// The value, written by the slot's pusher before its CAS to `FULL` and
    /// moved out by the slot's pop after it read `FULL`. Never dropped
    /// through the slot (queue drop excepted).
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    /// The pusher's step: writes `value` and publishes it, or gives it back
    /// if a pop poisoned the slot first.
    ///
    /// # Safety
    /// The caller claimed this slot with a fetch-and-add of its segment's
    /// `enq` (so no other pusher writes it), and is pinned so the segment
    /// lives.
    #[inline]
    unsafe fn put(&self, value: T) -> Result<(), T> {
        // SAFETY: only this slot's pusher (us) writes the cell, and its pop
        // reads it only after seeing `FULL`, which our CAS below sets.
        self.value.with_mut(|cell| unsafe { (*cell).write(value) });
        // Release: pairs with the Acquire loads and CAS failure in `take`;
        // publishes the value just written. Linearization point of the push.
        // Relaxed on failure: the slot is poisoned, nothing is read from it.
        match self.state.compare_exchange(EMPTY, FULL, Release, Relaxed) {
            Ok(_) => Ok(()),
            // SAFETY: the pop that poisoned the slot never reads the cell,
            // so the value we wrote is still ours alone; we move it back.
            Err(_) => Err(self
                .value
                .with(|cell| unsafe { (*cell).assume_init_read() })),
        }
    }

    /// The pop's step: the value, or `None` if the slot was poisoned (by
    /// this call, after spinning, or by nobody else: only its pop poisons).
    ///
    /// # Safety
    /// The caller claimed this slot with a fetch-and-add of its segment's
    /// `deq` (so no other pop reads it), and is pinned so the segment lives.
    #[inline]
    unsafe fn take(&self) -> Option<T> {
        // Acquire: pairs with the Release CAS in `put`; makes the value
        // visible before we read it.
        let mut state = self.state.load(Acquire);
        let mut spins = 0;
        while state == EMPTY && spins < SPIN_LIMIT {
            spin_loop();
            spins += 1;
            // Acquire: as above.
            state = self.state.load(Acquire);
        }
        if state == EMPTY {
            // The pusher is slow (or has not even claimed the slot yet):
            // give up on the slot so that neither of us waits for the other.
            // Acquire on failure: the pusher won, and its value is read below.
            match self
                .state
                .compare_exchange(EMPTY, POISONED, Relaxed, Acquire)
            {
                Ok(_) => return None,
                Err(now) => state = now,
            }
        }
        debug_assert_eq!(state, FULL, "only a slot's own pop poisons it");
        // SAFETY: `FULL` was read with Acquire, so the pusher's write is
        // visible; we are the slot's only pop, so the value is moved out
        // exactly once, and the pusher never touches a `FULL` slot again.
        Some(
            self.value
                .with(|cell| unsafe { (*cell).assume_init_read() }),
        )
    }
}

/// A fixed array of [`SEGMENT`] slots with its two claim counters and the
/// link to the next segment.
///
/// ```text
///  +--------------------- Segment (one allocation) -------------------+
///  | deq  (CachePadded): next slot index for pops   (may pass SEGMENT)|
///  | enq  (CachePadded): next slot index for pushes (may pass SEGMENT)|
///  | next: the following segment, null while this is the last one     |
///  | base: the stream position of slot 0 (segment number × SEGMENT)   |
///  | slots[0 .. SEGMENT]: { state, value }                            |
///  +------------------------------------------------------------------+
/// ```
struct Segment<T> {
    /// Pops claim `slots[deq]` with a fetch-and-add; values past `SEGMENT`
    /// mean the segment is drained. Padded: every pop writes it.
    deq: CachePadded<AtomicUsize>,
    /// Pushes claim `slots[enq]` with a fetch-and-add; values past
    /// `SEGMENT` mean the segment is full. Padded: every push writes it.
    enq: CachePadded<AtomicUsize>,
    /// Null while this is the last segment; set once, by the push that
    /// links the next one.
    next: Atomic<Segment<T>>,
    /// Position of `slots[0]` in the stream of slots (wrapping): the
    /// previous segment's `base + SEGMENT`. Written before publication.
    base: usize,
    /// The slots.
    slots: [Slot<T>; SEGMENT],
}

impl<T> Segment<T> {
    /// A new segment starting at stream position `base`, every slot empty.
    ///
    /// Built in place on the heap: a segment is kilobytes, too much to
    /// assemble on the stack and move.
    fn new(base: usize) -> Owned<Self> {
        let mut boxed = Box::<Self>::new_uninit();
        let segment = boxed.as_mut_ptr();
        // SAFETY: every field of the uninitialized allocation is written
        // exactly once below, through raw pointers (no reference to
        // uninitialized memory is made), before `assume_init`.
        unsafe {
            ptr::addr_of_mut!((*segment).deq).write(CachePadded::new(AtomicUsize::new(0)));
            ptr::addr_of_mut!((*segment).enq).write(CachePadded::new(AtomicUsize::new(0)));
            ptr::addr_of_mut!((*segment).next).write(Atomic::null());
            ptr::addr_of_mut!((*segment).base).write(base);
            let slots = ptr::addr_of_mut!((*segment).slots).cast::<Slot<T>>();
            for index in 0..SEGMENT {
                slots.add(index).write(Slot {
                    state: AtomicUsize::new(EMPTY),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                });
            }
        }
        // SAFETY: fully initialized above.
        Owned::from(unsafe { boxed.assume_init() })
    }

    /// A new segment at `base` holding `value` in slot 0 (already `FULL`,
    /// `enq` already 1): the first push of a segment needs no claim.
    fn with_first(base: usize, value: T) -> Owned<Self> {
        let segment = Self::new(base);
        segment.put_first(value);
        segment
    }

    /// Puts `value` in slot 0 of a segment nobody else can see yet.
    fn put_first(&self, value: T) {
        // SAFETY: the segment is unpublished: we are its only user.
        self.slots[0]
            .value
            .with_mut(|cell| unsafe { (*cell).write(value) });
        // Relaxed: published by the Release CAS that links the segment.
        self.slots[0].state.store(FULL, Relaxed);
        self.enq.store(1, Relaxed);
    }

    /// Moves slot 0's value back out of a segment that failed to link.
    fn take_first(&self) -> T {
        // Relaxed: the segment is still ours alone.
        self.slots[0].state.store(EMPTY, Relaxed);
        self.enq.store(0, Relaxed);
        // SAFETY: unpublished; `put_first` wrote the value.
        self.slots[0]
            .value
            .with(|cell| unsafe { (*cell).assume_init_read() })
    }

    /// The slot at `index`, which the caller has checked is `< SEGMENT`.
    #[inline]
    fn slot(&self, index: usize) -> &Slot<T> {
        debug_assert!(index < SEGMENT);
        &self.slots[index]
    }
}

/// An unbounded lock-free multi-producer multi-consumer FIFO queue built for
/// throughput: a linked list of fixed-size array segments whose slots are
/// claimed by fetch-and-add, reclaimed through crossbeam-epoch.
///
/// Pick this one for speed; [`MsQueue`](crate::MsQueue) is the textbook
/// Michael–Scott queue. A push or pop costs one fetch-and-add on a counter
/// and one access to a slot; nothing is retried in a CAS loop unless a
/// segment boundary or a poisoned slot (below) comes in the way, and one
/// allocation serves [`SEGMENT_LEN`](SegmentedQueue::SEGMENT_LEN) pushes.
/// [`push_many`](SegmentedQueueHandle::push_many) and
/// [`pop_many`](SegmentedQueueHandle::pop_many) claim a run of slots with a single
/// fetch-and-add.
///
/// # Algorithm
/// The family of FAAArrayQueue (P. Ramalhete and A. Correia, 2016,
/// <https://github.com/pramalhe/ConcurrencyFreaks/blob/master/papers/faaarrayqueue-2016.pdf>),
/// itself a simplification of LCRQ (A. Morrison and Y. Afek, "Fast
/// Concurrent Queues for x86 Processors", PPoPP 2013) without its
/// double-width CAS; LPRQ (R. Romanov and N. Koval, "The State-of-the-Art
/// LCRQ Concurrent Queue Algorithm Does NOT Require CAS2", PPoPP 2023)
/// shows the same for rings. Single-word atomics only.
///
/// ```text
///  head ---------------------.            tail ------------------------.
///                            v                                         v
///  (retired, in the epoch) -> +-----------------+ next +-----------------+ next
///                             | deq = 3         |----->| deq = 0         |----> null
///                             | enq = SEGMENT+2 |      | enq = 2         |
///                             | slots: T T T F F|      | slots: F F E E E|
///                             +-----------------+      +-----------------+
///        T = taken by a pop, F = FULL (a value waiting), E = EMPTY
/// ```
///
/// Each segment has [`SEGMENT_LEN`](SegmentedQueue::SEGMENT_LEN) slots, a
/// `deq` and an `enq` counter (each on its own cache line), a `next` link
/// and its `base`, the stream position of its first slot. A slot is a value
/// cell and a `state` word: `EMPTY`, then either `FULL` (the pusher wrote
/// it) or `POISONED` (a pop gave up on it); it changes once.
///
/// - **push**: load `tail`; `i = tail.enq.fetch_add(1)`. If `i` is inside
///   the segment, write the value into `slots[i]` and CAS its state
///   `EMPTY → FULL`; done. If the segment is full, move `tail` on to
///   `next` if there is one, or else allocate a segment with the value
///   already in slot 0 and CAS it into `next` (the loser takes its value
///   back and keeps the allocation for its next try).
/// - **pop**: load `head`; if `deq ≥ enq` the queue is empty (below).
///   Otherwise `i = head.deq.fetch_add(1)` and read `slots[i]`. If the
///   segment is drained (`i` past its end) and `next` exists, move `head` on
///   (moving `tail` first if it still points here) and retire the segment.
///
/// Every slot index is handed to exactly one pusher and one pop by the two
/// fetch-and-adds, so the only race on a slot is between that pair.
///
/// # A slot claimed before its pusher wrote it
/// The counters are independent, so a pop can claim slot `i` while the
/// pusher holding `i` is between its fetch-and-add and its CAS, or before a
/// pusher has even claimed `i`. The pop re-reads the state for about a
/// microsecond (the usual case, a running pusher, ends here); then it CASes
/// the state `EMPTY → POISONED` and goes on to the next slot. If that CAS
/// fails, the pusher won and the pop takes its value. If it succeeds, the
/// pusher's CAS `EMPTY → FULL` fails; the pusher, which wrote its value into
/// a cell nobody else will read, moves it back out and pushes again into a
/// fresh slot. Safe because (1) the value cell is read only after `FULL` is
/// seen, and a poisoned slot is never `FULL`, so no one reads a half-written
/// or absent value; (2) each index has one pusher and one pop, so the CAS on
/// `state` decides their race once and for all; (3) the pusher keeps
/// ownership of a value it could not publish, so nothing is lost or
/// duplicated. A poisoned slot is simply never used.
///
/// # Linearization points
/// - `push`: its successful CAS `EMPTY → FULL` (or, for the push that
///   creates a segment, the CAS that links it). Elements leave in the order
///   of their slots' stream positions; a push poisoned out of slot `i`
///   retries at a later position, so it takes effect after everything
///   published there. The argument that slot order with these points is a
///   legal FIFO order is the one of Morrison and Afek (LCRQ, section 4) for
///   the same fetch-and-add/poison protocol.
/// - `pop` returning a value: the read of `FULL` (or the failed poisoning
///   CAS) on its slot.
/// - `pop` returning `None`: it read `deq`, then `enq` of the first segment,
///   and found `deq ≥ enq` (or a drained segment with a null `next`). At the
///   `enq` load every slot below it had been claimed by a pop; those pops
///   either took their element, or are still running and will, or poisoned
///   their slot (whose push had then not taken effect): the queue was empty
///   at that instant except for elements already promised to running pops,
///   whose pops are linearized before it.
/// - `push_many` / `pop_many`: each element is its own push or pop, with the
///   points above; the run of slots is claimed together.
/// - `is_empty`: `true` at the same check as `pop`'s `None`. `false` means
///   some pusher had claimed a slot no pop had claimed; that push may still
///   have been in flight (a snapshot in that direction).
/// - `len`: a snapshot, as for crossbeam's `SegQueue`: (`tail`'s `base` +
///   `enq`) − (`head`'s `base` + `deq`), each counter capped at the segment
///   length, never negative. Exact when no push or pop runs at the same
///   time; it adds no shared write to push or pop.
///
/// # ABA
/// The CASes on `head`, `tail` and `next` compare addresses. A segment is
/// freed only after a grace period of crossbeam-epoch, and every operation is
/// pinned from its first load to its last access, so an address an operation
/// holds cannot come back as a new segment while it holds it. The slot states
/// need no tags: each changes at most once.
///
/// # Reclamation
/// `head` leaves a segment only when its `deq` has passed the end, so every
/// slot in it has been claimed by some pop (and every element in it is
/// owned by one); the pop that moves `head` retires the segment to
/// crossbeam-epoch, which frees it once every thread pinned at that moment
/// has unpinned (pops still reading their slot, pushers whose value is
/// being handed back). `tail` is moved past a segment before `head` is, so
/// `tail` never points at a retired segment. Memory held is therefore the
/// live segments (about length / `SEGMENT_LEN` + 1) plus those awaiting
/// their grace period; a long push/pop run holds bounded memory (tested
/// with a counting allocator). A guard held for a long time (any
/// `crossbeam_epoch::pin()` on the default collector) delays freeing, not
/// progress. Dropping the queue drops the elements still in it, each once,
/// and frees its segments.
///
/// # Progress
/// Lock-free, pops and pushes alike, because of the poisoning: no operation
/// waits for another thread to take a step.
///
/// - A **pop** that claims a slot whose pusher has not written it (stalled
///   between its fetch-and-add and its CAS, or not yet arrived) spins at
///   most 128 re-reads of the slot (about a microsecond), then
///   poisons the slot and moves on. A stalled pusher therefore holds up
///   nothing but the one pop that meets its slot, for that bounded spin:
///   every later pop goes past. This is what makes pops lock-free; without
///   the poison, a pop would have to wait for the pusher (as crossbeam's
///   `SegQueue` pops do), and a preempted pusher would block every pop
///   behind its slot.
/// - A **push** whose slot was poisoned claims another one. Pops can keep
///   poisoning its slots while the queue looks empty to them, so one push
///   can be overtaken again and again (push is lock-free, not wait-free);
///   each such round is a pop that completed, so the system progresses.
/// - **Segment boundaries**: anyone who finds `tail` or `head` lagging moves
///   it on with one CAS; a pusher stalled while linking a segment holds up
///   no one (others link their own segment, the loser keeps its value).
/// - A thread stalled while pinned (mid-operation) delays the freeing of
///   retired segments, never an operation: memory grows by the segments
///   drained meanwhile until it resumes.
/// - Allocation (one segment per `SEGMENT_LEN` pushes) is as non-blocking as
///   the global allocator.
///
/// # Memory ordering
/// - A push happens-before the pop that returns its value (the slot's
///   Release CAS to `FULL` pairs with the pop's Acquire read of it): what
///   the pushing thread did before `push` is visible after `pop` returns.
/// - Pushes from one thread come out in the order they were made, and so do
///   the elements of one `push_many`.
/// - `len` and `is_empty` create no happens-before edge to rely on.
///
/// # `std` and `no_std`
/// With `std`, every operation pins crossbeam-epoch's global collector
/// through the thread's participant. Without it, the queue owns a
/// collector, and threads push and pop through a
/// [`SegmentedQueueHandle`] ([`handle`](SegmentedQueue::handle)), which also
/// works under `std`.
///
/// # References
/// - P. Ramalhete and A. Correia, FAAArrayQueue (2016, above): the segment
///   list, the slot claim by fetch-and-add, the poisoned ("taken") slot, a
///   new segment created with its first item in place.
/// - A. Morrison and Y. Afek, LCRQ (PPoPP 2013): the fetch-and-add ring and
///   its linearizability proof; R. Romanov and N. Koval, LPRQ (PPoPP 2023).
/// - crossbeam-rs/crossbeam, `crossbeam-queue/src/seg_queue.rs`: the `len`
///   snapshot and the in-place construction of a large block.
///
/// # Examples
/// ```
/// use freelane::SegmentedQueue;
///
/// let queue = SegmentedQueue::new();
/// std::thread::scope(|scope| {
///     for producer in 0..4 {
///         let queue = &queue;
///         scope.spawn(move || {
///             for i in 0..1000 {
///                 queue.push(producer * 1000 + i);
///             }
///         });
///     }
/// });
/// assert_eq!(queue.len(), 4000);
/// let mut all = Vec::new();
/// assert_eq!(queue.pop_many(&mut all, usize::MAX), 4000);
/// all.sort();
/// assert_eq!(all, (0..4000).collect::<Vec<_>>());
/// ```
pub struct SegmentedQueue<T> {
    /// The first live segment; pops claim its slots. Padded: pops CAS it
    /// (once per segment) and everyone reads it (128 B on x86-64 and
    /// aarch64, 32 B on Cortex-M: crossbeam-utils' `CachePadded`).
    head: CachePadded<Atomic<Segment<T>>>,
    /// The last segment or the one before it; pushes claim its slots.
    /// Padded like `head`.
    tail: CachePadded<Atomic<Segment<T>>>,
    /// Without `std`: the collector every handle registers with and that
    /// retired segments go to.
    #[cfg(not(feature = "std"))]
    collector: crossbeam_epoch::Collector,
    /// The queue owns the `T`s in its slots (for drop check).
    _owns: PhantomData<T>,
}

// SAFETY: the queue owns its `T`s and hands each to exactly one thread (a pop
// moves it out), so sending or sharing the queue only moves `T`s between
// threads: `T: Send` is enough, and no `&T` is ever shared. Segment
// pointers are dereferenced only under a guard (see ABA and Reclamation),
// and the collector (without `std`) is `Send + Sync`.
unsafe impl<T: Send> Send for SegmentedQueue<T> {}
// SAFETY: as for `Send`: through `&SegmentedQueue`, threads only move `T`s in
// and out, each value by exactly one thread.
unsafe impl<T: Send> Sync for SegmentedQueue<T> {}

impl<T> SegmentedQueue<T> {
    /// Slots per segment: pushes allocate one segment per this many
    /// elements, and an empty queue holds one segment.
    ///
    /// 1024 on ordinary targets; smaller under loom and Miri so that their
    /// runs cross segment boundaries.
    ///
    /// Chosen by measurement: median Mops/s over 5 rounds of 100 ms, and the
    /// ratio to crossbeam's `SegQueue` measured in the same rounds, on a
    /// 2-core Xeon VM shared with other builds (load average 1.2–3.9, so
    /// the spread between rounds is wide; ratios are what to compare):
    ///
    /// | slots | pairs (1 thread) | 1p1c         | 2p2c (4 threads) |
    /// |-------|------------------|--------------|------------------|
    /// | 32    | 30.2 (0.80×)     | 17.8 (0.73×) | 13.5 (0.39×)     |
    /// | 128   | 33.2 (0.91×)     | 11.8 (0.45×) | 6.35 (0.23×)     |
    /// | 512   | 35.5 (0.92×)     | 11.5 (0.64×) | 6.76 (0.21×)     |
    /// | 1024  | 24.2 (0.84×)     | 17.1 (0.71×) | 19.1 (0.51×)     |
    /// | 4096  | 18.4 (0.77×)     | 9.86 (0.59×) | 10.1 (0.30×)     |
    ///
    /// 1024 has the best ratio where contention is highest (2p2c) and is
    /// within the noise of the best elsewhere. To repeat, for each size `n`:
    /// `FREELANE_SEGMENT_LEN=n cargo run --release --example contention --
    /// --throughput --filter msqueue/pairs/Seg --filter msqueue/spsc/Seg
    /// --filter msqueue/mpmc/Seg --threads 4 --rounds 5 --duration-ms 100`.
    ///
    /// ```
    /// assert!(freelane::SegmentedQueue::<u8>::SEGMENT_LEN >= 2);
    /// ```
    pub const SEGMENT_LEN: usize = SEGMENT;

    /// Creates an empty queue (it allocates one segment).
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::<String>::new();
    /// assert!(queue.is_empty());
    /// ```
    pub fn new() -> Self {
        let first = Segment::<T>::new(0).into_shared(
            // SAFETY: nothing is dereferenced through this guard; the
            // segment is not shared yet.
            unsafe { crossbeam_epoch::unprotected() },
        );
        Self {
            head: CachePadded::new(Atomic::from(first)),
            tail: CachePadded::new(Atomic::from(first)),
            #[cfg(not(feature = "std"))]
            collector: crossbeam_epoch::Collector::new(),
            _owns: PhantomData,
        }
    }

    /// Adds `value` at the back of the queue. Never blocks and never fails
    /// (one push in [`SEGMENT_LEN`](Self::SEGMENT_LEN) allocates a segment).
    ///
    /// Pins crossbeam-epoch's global collector, so it needs `std`; without
    /// it, push through a [`handle`](Self::handle).
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// queue.push(1);
    /// queue.push(2);
    /// assert_eq!(queue.pop(), Some(1));
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    #[inline]
    pub fn push(&self, value: T) {
        self.push_pinned(value, &crossbeam_epoch::pin());
    }

    /// Removes the value at the front of the queue, or returns `None` if the
    /// queue is empty. Never blocks.
    ///
    /// Needs `std` (see [`push`](Self::push)).
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// assert_eq!(queue.pop(), None);
    /// queue.push("a");
    /// assert_eq!(queue.pop(), Some("a"));
    /// assert_eq!(queue.pop(), None);
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.pop_pinned(&crossbeam_epoch::pin())
    }

    /// Pushes every element of `items`, front first, and leaves `items`
    /// empty (its capacity is kept). Each element is its own push, in order;
    /// runs of slots are claimed with one fetch-and-add each.
    ///
    /// Needs `std` (see [`push`](Self::push)).
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let mut batch = vec![1, 2, 3];
    /// queue.push_many(&mut batch);
    /// assert!(batch.is_empty());
    /// assert_eq!(queue.pop(), Some(1));
    /// assert_eq!(queue.len(), 2);
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn push_many(&self, items: &mut Vec<T>) {
        self.push_many_pinned(items, &crossbeam_epoch::pin());
    }

    /// Appends up to `max` elements to `out`, oldest first, and returns how
    /// many. Each element is its own pop; runs of slots are claimed with one
    /// fetch-and-add each. Returns 0 when the queue is empty (or `max` is 0).
    ///
    /// Needs `std` (see [`push`](Self::push)).
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// for i in 0..5 {
    ///     queue.push(i);
    /// }
    /// let mut out = Vec::new();
    /// assert_eq!(queue.pop_many(&mut out, 3), 3);
    /// assert_eq!(out, [0, 1, 2]);
    /// assert_eq!(queue.pop_many(&mut out, 10), 2);
    /// assert_eq!(out, [0, 1, 2, 3, 4]);
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn pop_many(&self, out: &mut Vec<T>, max: usize) -> usize {
        self.pop_many_pinned(out, max, &crossbeam_epoch::pin())
    }

    /// Whether the queue was empty at some instant during the call, when it
    /// returns `true`; `false` may count a push still in flight (see the
    /// type's "Linearization points").
    ///
    /// Without `std` this registers a temporary epoch participant per call;
    /// prefer [`SegmentedQueueHandle::is_empty`] there.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// assert!(queue.is_empty());
    /// queue.push(());
    /// assert!(!queue.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.with_guard(|guard| self.is_empty_pinned(guard))
    }

    /// The number of elements: exact when no push or pop runs at the same
    /// time, otherwise a snapshot (never negative). Reads four words and
    /// writes nothing shared.
    ///
    /// Without `std` this registers a temporary epoch participant per call;
    /// prefer [`SegmentedQueueHandle::len`] there.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// queue.push('x');
    /// queue.push('y');
    /// assert_eq!(queue.len(), 2);
    /// queue.pop();
    /// assert_eq!(queue.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.with_guard(|guard| self.len_pinned(guard))
    }

    /// Registers a new epoch participant for the calling thread and returns a
    /// handle that pushes and pops through it: the way to use the queue
    /// without `std`.
    ///
    /// Under `std` it registers with crossbeam-epoch's default collector
    /// (the one `push` and `pop` use), so handles and plain calls mix;
    /// without `std`, with the queue's own collector. Registering allocates:
    /// make one handle per thread and keep it. The handle is neither `Send`
    /// nor `Sync`.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let handle = queue.handle();
    /// handle.push(7);
    /// assert_eq!(handle.len(), 1);
    /// assert_eq!(handle.pop(), Some(7));
    /// assert!(handle.is_empty());
    /// ```
    pub fn handle(&self) -> SegmentedQueueHandle<'_, T> {
        SegmentedQueueHandle {
            queue: self,
            local: self.register(),
        }
    }

    /// Registers a participant with the collector this queue retires to.
    fn register(&self) -> LocalHandle {
        #[cfg(feature = "std")]
        let local = crossbeam_epoch::default_collector().register();
        #[cfg(not(feature = "std"))]
        let local = self.collector.register();
        local
    }

    /// Runs `f` pinned: under `std` on the thread's participant of the
    /// default collector, without it on a temporary participant.
    fn with_guard<R>(&self, f: impl FnOnce(&Guard) -> R) -> R {
        #[cfg(feature = "std")]
        let result = f(&crossbeam_epoch::pin());
        #[cfg(not(feature = "std"))]
        let result = f(&self.register().pin());
        result
    }

    /// Makes `tail` point past `segment` if it still points at it.
    #[inline]
    fn help_tail(
        &self,
        segment: Shared<'_, Segment<T>>,
        next: Shared<'_, Segment<T>>,
        guard: &Guard,
    ) {
        // Release: pairs with the Acquire loads of `tail`; passes on the
        // contents of `next` (we acquired them from its link). Failure
        // means `tail` already moved on (it only moves forward).
        let _ = self
            .tail
            .compare_exchange(segment, next, Release, Relaxed, guard);
    }

    /// Moves `head` from the drained `segment` to `next` and retires it.
    #[cold]
    fn advance_head(
        &self,
        segment: Shared<'_, Segment<T>>,
        next: Shared<'_, Segment<T>>,
        guard: &Guard,
    ) {
        // `tail` first, so that it never points at a retired segment.
        // Acquire: the segment `tail` names may be compared, not read; but
        // the CAS below passes `next` on, which we acquired.
        if self.tail.load(Acquire, guard) == segment {
            self.help_tail(segment, next, guard);
        }
        // Release: pairs with the Acquire loads of `head`; passes on the
        // contents of `next`. Failure: another pop moved it.
        if self
            .head
            .compare_exchange(segment, next, Release, Relaxed, guard)
            .is_ok()
        {
            // SAFETY: (1) unlinked from `head` by our CAS, and `tail` is past
            // it, so no new operation can reach it; (2) every thread that
            // still holds it was pinned before our CAS, and crossbeam-epoch
            // frees it only after they unpin; (3) retired once, by the one
            // successful CAS; (4) dropping a segment drops no `T` (the
            // cells are `MaybeUninit`, and every element in it belongs to a
            // pop already), so it may run on any thread, at any later time.
            unsafe { guard.defer_destroy(segment) };
        }
    }

    /// The push algorithm; `guard` must be pinned on this queue's collector.
    #[inline]
    fn push_pinned(&self, mut value: T, guard: &Guard) {
        // A segment made for a lost linking race, kept for the next try.
        let mut spare: Option<Owned<Segment<T>>> = None;
        loop {
            // Acquire: pairs with the Release CASes of `tail`; makes the
            // segment's initial contents visible.
            let tail = self.tail.load(Acquire, guard);
            // SAFETY: `tail` is never null and never retired (see
            // Reclamation); we are pinned, so it lives while we use it.
            let segment = unsafe { tail.deref() };
            // Relaxed: the claim only needs atomicity; the value travels
            // through the slot's Release CAS.
            let index = segment.enq.fetch_add(1, Relaxed);
            if index < SEGMENT {
                // SAFETY: slot claimed by the fetch-and-add above; pinned.
                match unsafe { segment.slot(index).put(value) } {
                    Ok(()) => return,
                    Err(back) => {
                        value = back;
                        continue;
                    }
                }
            }
            match self.append(tail, value, &mut spare, guard) {
                Ok(()) => return,
                Err(back) => value = back,
            }
        }
    }

    /// The slow path of a push into the full segment `tail`: move `tail`
    /// on, or link a new segment holding `value`. Gives `value` back if it
    /// was not pushed (the caller retries).
    #[cold]
    fn append(
        &self,
        tail: Shared<'_, Segment<T>>,
        value: T,
        spare: &mut Option<Owned<Segment<T>>>,
        guard: &Guard,
    ) -> Result<(), T> {
        // SAFETY: as in `push_pinned`, the caller holds `tail` pinned.
        let segment = unsafe { tail.deref() };
        // Acquire: pairs with the Release CAS that linked it; the new
        // segment's contents (first value included) are read through it.
        let next = segment.next.load(Acquire, guard);
        if !next.is_null() {
            self.help_tail(tail, next, guard);
            return Err(value);
        }
        let base = segment.base.wrapping_add(SEGMENT);
        let new = match spare.take() {
            Some(mut reused) => {
                reused.base = base;
                reused.put_first(value);
                reused
            }
            None => Segment::with_first(base, value),
        };
        // Release: pairs with the Acquire loads of `next`; publishes the new
        // segment and its first value. Linearization point of this push.
        // Acquire on failure: we pass the winner's segment on to `tail`.
        match segment
            .next
            .compare_exchange(Shared::null(), new, Release, Acquire, guard)
        {
            Ok(linked) => {
                self.help_tail(tail, linked, guard);
                Ok(())
            }
            Err(lost) => {
                let value = lost.new.take_first();
                *spare = Some(lost.new);
                self.help_tail(tail, lost.current, guard);
                Err(value)
            }
        }
    }

    /// `push_many` pinned on this queue's collector.
    fn push_many_pinned(&self, items: &mut Vec<T>, guard: &Guard) {
        let mut spare: Option<Owned<Segment<T>>> = None;
        let mut values = items.drain(..);
        let Some(mut value) = values.next() else {
            return;
        };
        loop {
            // Acquire: as in `push_pinned`.
            let tail = self.tail.load(Acquire, guard);
            // SAFETY: as in `push_pinned`.
            let segment = unsafe { tail.deref() };
            // Claim as many slots as values remain, at most a segment: one
            // fetch-and-add for the run. Relaxed as in `push_pinned`.
            let run = (values.len() + 1).min(SEGMENT);
            let first = segment.enq.fetch_add(run, Relaxed);
            if first < SEGMENT {
                // Every claimed slot gets the next value in order, or, when
                // a pop poisoned it, is skipped and the same value goes to
                // the next slot; so the values land at increasing stream
                // positions (FIFO kept) and no claimed slot stays EMPTY.
                for index in first..(first + run).min(SEGMENT) {
                    // SAFETY: claimed by the fetch-and-add above; pinned.
                    match unsafe { segment.slot(index).put(value) } {
                        Ok(()) => match values.next() {
                            Some(following) => value = following,
                            None => return,
                        },
                        Err(back) => value = back,
                    }
                }
                continue;
            }
            match self.append(tail, value, &mut spare, guard) {
                Ok(()) => match values.next() {
                    Some(following) => value = following,
                    None => return,
                },
                Err(back) => value = back,
            }
        }
    }

    /// The pop algorithm; `guard` must be pinned on this queue's collector.
    #[inline]
    fn pop_pinned(&self, guard: &Guard) -> Option<T> {
        loop {
            // Acquire: pairs with the Release CASes of `head`.
            let head = self.head.load(Acquire, guard);
            // SAFETY: `head` is never null; a segment retired after we
            // pinned is not freed while `guard` lives.
            let segment = unsafe { head.deref() };
            // Acquire: keeps the `enq` load below after this one; the empty
            // check needs `deq` read first (see Linearization points).
            let claimed = segment.deq.load(Acquire);
            if claimed < SEGMENT {
                // A `FULL` slot at `deq` shows the queue is not empty without
                // reading `enq`, the pushers' line: a consumer that keeps up
                // then leaves that line to them. Relaxed: a hint only; the
                // claim below re-decides, and the value is read through the
                // slot's Acquire load in `take`.
                if segment.slot(claimed).state.load(Relaxed) != FULL {
                    // Relaxed: a count compared, nothing read through it;
                    // the Acquire above orders it after `deq`.
                    let published = segment.enq.load(Relaxed);
                    if claimed >= published {
                        return None;
                    }
                }
                // Relaxed: the claim only needs atomicity; the value comes
                // through the slot's Acquire read.
                let index = segment.deq.fetch_add(1, Relaxed);
                if index < SEGMENT {
                    // SAFETY: claimed by the fetch-and-add above; pinned.
                    if let Some(value) = unsafe { segment.slot(index).take() } {
                        return Some(value);
                    }
                    continue;
                }
            }
            // Drained. Acquire: pairs with the Release CAS linking `next`.
            let next = segment.next.load(Acquire, guard);
            if next.is_null() {
                return None;
            }
            self.advance_head(head, next, guard);
        }
    }

    /// `pop_many` pinned on this queue's collector.
    fn pop_many_pinned(&self, out: &mut Vec<T>, max: usize, guard: &Guard) -> usize {
        let mut taken = 0;
        while taken < max {
            // Acquire: as in `pop_pinned`.
            let head = self.head.load(Acquire, guard);
            // SAFETY: as in `pop_pinned`.
            let segment = unsafe { head.deref() };
            // Acquire: as in `pop_pinned`.
            let claimed = segment.deq.load(Acquire);
            if claimed < SEGMENT {
                // Relaxed: as in `pop_pinned`.
                let published = segment.enq.load(Relaxed).min(SEGMENT);
                if claimed >= published {
                    break;
                }
                // Claim no more than was published when we looked, so that a
                // batch does not poison slots ahead of the pushers.
                let run = (max - taken).min(published - claimed);
                // Before claiming: a capacity panic must not lose elements.
                out.reserve(run);
                // Relaxed: as in `pop_pinned`.
                let first = segment.deq.fetch_add(run, Relaxed);
                if first < SEGMENT {
                    for index in first..(first + run).min(SEGMENT) {
                        // SAFETY: claimed above; pinned.
                        if let Some(value) = unsafe { segment.slot(index).take() } {
                            out.push(value);
                            taken += 1;
                        }
                    }
                    continue;
                }
            }
            // Acquire: as in `pop_pinned`.
            let next = segment.next.load(Acquire, guard);
            if next.is_null() {
                break;
            }
            self.advance_head(head, next, guard);
        }
        taken
    }

    /// `is_empty` pinned on this queue's collector: `pop`'s empty check,
    /// without claiming.
    fn is_empty_pinned(&self, guard: &Guard) -> bool {
        // Acquire: as in `pop_pinned`.
        let mut current = self.head.load(Acquire, guard);
        loop {
            // SAFETY: as in `pop_pinned`; segments after `head` are not
            // retired before `head` passes them, which waits for our guard.
            let segment = unsafe { current.deref() };
            // Acquire: as in `pop_pinned`.
            let claimed = segment.deq.load(Acquire);
            if claimed < SEGMENT {
                // Relaxed: as in `pop_pinned`.
                return claimed >= segment.enq.load(Relaxed);
            }
            // Acquire: as in `pop_pinned`.
            current = segment.next.load(Acquire, guard);
            if current.is_null() {
                return true;
            }
        }
    }

    /// `len` pinned on this queue's collector.
    fn len_pinned(&self, guard: &Guard) -> usize {
        // Acquire: as in `pop_pinned`; `head` first, so that the `tail` read
        // after it is at or past it (tail moves past a segment before head).
        let head = self.head.load(Acquire, guard);
        // SAFETY: as in `pop_pinned`.
        let head = unsafe { head.deref() };
        // Relaxed: a snapshot; the Acquire above orders the loads after it.
        let front = head.base.wrapping_add(head.deq.load(Relaxed).min(SEGMENT));
        // Acquire: as in `push_pinned`.
        let tail = self.tail.load(Acquire, guard);
        // SAFETY: as in `push_pinned`.
        let tail = unsafe { tail.deref() };
        // Relaxed: as above.
        let back = tail.base.wrapping_add(tail.enq.load(Relaxed).min(SEGMENT));
        // Wrapping difference, read as signed: `front` may pass `back` when
        // pops claimed slots past the pushes (they poison them), and the
        // queue then holds nothing in that segment.
        let len = back.wrapping_sub(front);
        if len > usize::MAX / 2 { 0 } else { len }
    }
}

impl<T> Default for SegmentedQueue<T> {
    /// Same as [`SegmentedQueue::new`].
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue: SegmentedQueue<u8> = Default::default();
    /// assert_eq!(queue.len(), 0);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for SegmentedQueue<T> {
    /// Shows the queue's length (a snapshot); `T` need not be `Debug`.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// queue.push(1);
    /// assert_eq!(format!("{queue:?}"), "SegmentedQueue { len: 1, .. }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentedQueue")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T> Drop for SegmentedQueue<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no operation is running, so nothing else can
        // touch the segments; no guard is needed to read or free them.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        // Relaxed here and below: `&mut self` means every other thread's
        // accesses happen-before this call (the queue was moved here or its
        // sharing scope ended).
        let mut current = self.head.load(Relaxed, guard);
        while !current.is_null() {
            // SAFETY: a linked segment, live until freed below, once.
            let segment = unsafe { current.deref() };
            // With no operation running, every slot below `deq` was claimed
            // by a pop that took or poisoned it, and every slot from `deq`
            // to `enq` holds a value (a claimed push slot is written unless
            // poisoned, and poisoning needs a pop's claim). Only the head
            // segment has a non-zero `deq`.
            let start = segment.deq.load(Relaxed).min(SEGMENT);
            let end = segment.enq.load(Relaxed).min(SEGMENT);
            for index in start..end {
                let slot = segment.slot(index);
                if slot.state.load(Relaxed) == FULL {
                    // SAFETY: `FULL` and unclaimed: the value is in the cell
                    // and nobody else will take it; dropped once.
                    slot.value
                        .with_mut(|cell| unsafe { (*cell).assume_init_drop() });
                }
            }
            let next = segment.next.load(Relaxed, guard);
            // SAFETY: made by `Owned` in `Segment::new`, linked once, and
            // never retired (only segments before `head` are): freed once.
            drop(unsafe { current.into_owned() });
            current = next;
        }
    }
}

/// A thread's registered epoch participant for one [`SegmentedQueue`],
/// through which it pushes and pops: the way to use the queue without
/// `std`.
///
/// Made by [`SegmentedQueue::handle`]. Each operation pins the handle's own
/// participant, so it works where there are no thread-locals. Create one per
/// thread and keep it: registering allocates. The handle is neither `Send`
/// nor `Sync`; the queue's memory ordering contract holds through handles.
///
/// ```
/// use freelane::SegmentedQueue;
///
/// let queue = SegmentedQueue::new();
/// std::thread::scope(|scope| {
///     scope.spawn(|| {
///         let handle = queue.handle();
///         handle.push_many(&mut (0..10).collect());
///     });
/// });
/// let handle = queue.handle();
/// assert_eq!(handle.pop(), Some(0));
/// ```
///
/// A participant belongs to one thread, so the handle cannot move:
///
/// ```compile_fail,E0277
/// let queue = freelane::SegmentedQueue::<u8>::new();
/// let handle = queue.handle();
/// std::thread::scope(|scope| {
///     scope.spawn(move || handle.push(1));
/// });
/// ```
pub struct SegmentedQueueHandle<'a, T> {
    /// The queue this handle operates on.
    queue: &'a SegmentedQueue<T>,
    /// The participant, registered with the collector `queue` retires to.
    local: LocalHandle,
}

impl<T> SegmentedQueueHandle<'_, T> {
    /// Adds `value` at the back, as `SegmentedQueue::push` does.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let handle = queue.handle();
    /// handle.push("job");
    /// assert_eq!(handle.pop(), Some("job"));
    /// ```
    pub fn push(&self, value: T) {
        self.queue.push_pinned(value, &self.local.pin());
    }

    /// Removes the front value, or `None` if empty, as `SegmentedQueue::pop`.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let handle = queue.handle();
    /// assert_eq!(handle.pop(), None::<u8>);
    /// handle.push(3);
    /// assert_eq!(handle.pop(), Some(3));
    /// ```
    pub fn pop(&self) -> Option<T> {
        self.queue.pop_pinned(&self.local.pin())
    }

    /// Pushes every element of `items` in order and leaves it empty, as
    /// `SegmentedQueue::push_many`.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let handle = queue.handle();
    /// handle.push_many(&mut vec![1, 2]);
    /// assert_eq!(handle.len(), 2);
    /// ```
    pub fn push_many(&self, items: &mut Vec<T>) {
        self.queue.push_many_pinned(items, &self.local.pin());
    }

    /// Appends up to `max` elements to `out`, oldest first, as
    /// `SegmentedQueue::pop_many`.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let handle = queue.handle();
    /// handle.push_many(&mut vec![1, 2, 3]);
    /// let mut out = Vec::new();
    /// assert_eq!(handle.pop_many(&mut out, 2), 2);
    /// assert_eq!(out, [1, 2]);
    /// ```
    pub fn pop_many(&self, out: &mut Vec<T>, max: usize) -> usize {
        self.queue.pop_many_pinned(out, max, &self.local.pin())
    }

    /// As [`SegmentedQueue::is_empty`], without its temporary registration.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let handle = queue.handle();
    /// assert!(handle.is_empty());
    /// handle.push(1);
    /// assert!(!handle.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty_pinned(&self.local.pin())
    }

    /// As [`SegmentedQueue::len`], without its temporary registration.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::new();
    /// let handle = queue.handle();
    /// handle.push(1);
    /// handle.push(2);
    /// assert_eq!(handle.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.queue.len_pinned(&self.local.pin())
    }
}

impl<T> fmt::Debug for SegmentedQueueHandle<'_, T> {
    /// Shows the queue's length (a snapshot); `T` need not be `Debug`.
    ///
    /// ```
    /// use freelane::SegmentedQueue;
    ///
    /// let queue = SegmentedQueue::<u8>::new();
    /// assert_eq!(
    ///     format!("{:?}", queue.handle()),
    ///     "SegmentedQueueHandle { len: 0, .. }"
    /// );
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentedQueueHandle")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
