//! [`RingBuffer<T>`]: a bounded, closable MPMC FIFO over a fixed array of stamped slots.
//!
//! The algorithm is Dmitry Vyukov's bounded MPMC queue: every slot carries a
//! sequence *stamp* that says whether it is free for the push of the current
//! lap or holds a value for the pop of the current lap. A push claims a slot by
//! a compare-and-swap on `tail`, writes the value and publishes it by storing
//! the stamp; a pop does the same on `head`. Positions are `index + lap` as in
//! crossbeam-queue's `ArrayQueue`, so the capacity is exact and need not be a
//! power of two; closing sets a mark bit in `tail`, as std's `mpmc::array`
//! does, so a push sees it in the load it already makes. Source:
//! <http://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>.
//!
//! Sections: **State** (the words and their bit layout), **Linearization
//! points**, **ABA**, **Progress** (where a stalled thread holds others up),
//! **Memory ordering** (on [`RingBuffer`]), **Sizes and padding**,
//! **References**. The blocking layer (`push`, `pop`, `_timeout`, under `std`)
//! lives in `blocking.rs` and documents its wait protocol there; the async
//! layer (`push_async`, `pop_async`, with or without `std`) runs the same
//! protocol on the same queues from `async_waits.rs`.
//!
//! Reclamation needs no scheme: slots live as long as the buffer, and a value
//! is moved out of its slot before the slot is handed to the next push.
//!
//! # State
//!
//! Three kinds of word. `head` and `tail` are *positions*; each slot has a
//! *stamp*. With `capacity` slots, `MARK = (capacity + 1).next_power_of_two()`
//! and `ONE_LAP = 2 * MARK`:
//!
//! ```text
//!   tail:  [ lap ............ | M | index ]     head: [ lap ............ | 0 | index ]
//!            multiples of       ^   0..capacity
//!            ONE_LAP            mark bit (closed); always 0 in head
//! ```
//!
//! A position `lap + index` names slot `index` during lap `lap`. Advancing a
//! position adds one to `index`, or, past the last slot, clears it and adds
//! `ONE_LAP` to `lap` (wrapping: laps count modulo the word). The index field
//! has room for `capacity` itself, which a stamp needs (below).
//!
//! Slot `index`'s stamp, for the lap `lap`, is one of:
//!
//! | stamp | meaning |
//! |---|---|
//! | `lap + index` | empty; the push at position `lap + index` may claim it |
//! | `lap + index + 1` | holds the value pushed at `lap + index`; the pop at that position may take it |
//! | `lap + ONE_LAP + index` | emptied by that pop; free for the push of the next lap |
//!
//! Invariants: `head <= tail <= head + capacity` (counting positions, without
//! the mark bit), except for the few instructions of a `force_push` that has
//! moved `head` and not yet `tail`; every slot between `head` and `tail` holds
//! a value or is being written by the push that claimed it; every other slot
//! is empty or being read by the pop that claimed it.
//!
//! # Linearization points
//!
//! - `try_push` → `Ok`: the successful `tail` CAS. → `Full`: the load of
//!   `head` that finds `head + ONE_LAP == tail` (after a SeqCst fence; the
//!   slot's stamp had shown the previous lap's value). → `Closed`: the load of
//!   `tail` that shows the mark bit.
//! - `try_pop` → `Ok`: the successful `head` CAS. → `Empty`/`Closed`: the load
//!   of `tail` that finds it equal to `head` (after a SeqCst fence; the slot's
//!   stamp had shown it empty), `Closed` when that load also shows the mark.
//! - `force_push` → `Ok(None)`: as `try_push`. → `Ok(Some(old))`: the load of
//!   `tail` (unmarked) that preceded the successful `head` CAS. That CAS
//!   succeeding from `tail − ONE_LAP` proves the buffer was full, and neither
//!   `head` nor `tail` moved, between the two: the operation removes the oldest
//!   value and appends the new one at that load. → `Err`: the load of `tail`
//!   that shows the mark.
//! - `close`: its `fetch_or` on `tail`. `is_closed`: its load of `tail`.
//! - `len`, `is_empty`, `is_full`: the load of `head` between two equal loads of
//!   `tail` (`len`) or the load of `tail` after `head` (the others): the two
//!   words held those values together at that moment. While a `force_push`
//!   is between its `head` CAS and its `tail` update the words show one value
//!   fewer than the buffer holds (with capacity 1, an empty buffer).
//! - A `try_push`/`try_pop` that meets a slot claimed by another thread that
//!   has not finished with it (see **Progress**) spins a bounded while and then
//!   reports `Full`/`Empty`. That verdict is *not* linearizable: the in-flight
//!   operation has not completed, and values pushed after it, complete or
//!   not, queue behind it.
//!
//! # ABA
//!
//! Positions never repeat until the lap counter wraps the word, and a stamp
//! holds a full position, so a stale load cannot match a recycled slot: a
//! push's `tail` CAS succeeds only if `tail` still holds the exact position
//! (lap included) whose stamp it just read. A false match needs a thread to
//! stall between its load and its CAS while `tail` moves through exactly a
//! whole multiple of `usize::MAX / ONE_LAP + 1` laps, at least `2^62`
//! operations on a 64-bit target and `2^30` on a 32-bit one (the lap field
//! has `usize::BITS − log2(ONE_LAP)` bits), and then to resume on the same
//! position. crossbeam's `ArrayQueue` accepts the same bound.
//!
//! # Progress
//!
//! Claiming is lock-free: a failed CAS means another thread's succeeded. But a
//! slot is claimed (CAS) before it is written and published (stamp store), so
//! a thread stalled between the two holds that slot. A producer preempted
//! after its `tail` CAS keeps consumers from the slot *and from every value
//! behind it* until it resumes: `try_pop` then returns `Empty` although later
//! pushes have completed (crossbeam#675 and heapless#583 are users surprised
//! by this). A consumer preempted after its `head` CAS keeps producers from
//! that slot one lap later: `try_push` returns `Full` although later pops have
//! completed. So no `try_` operation ever waits on another thread for more
//! than a short bounded spin (about ten backoff steps, the last few yielding),
//! but the *buffer* is not lock-free in the strict sense: a stalled thread can
//! stop all progress through its slot. `force_push` cannot report `Full`, so
//! when the slot it needs is held by a stalled pop (or by a stalled push still
//! writing the value it would replace), it waits (spins, then yields) until
//! that thread finishes: it is blocking in exactly that case. The blocking layer parks
//! instead and is woken when the stalled operation completes.
//!
//! # Sizes and padding
//!
//! `head` and `tail` each sit in a `CachePadded` (128 bytes on x86-64 and
//! aarch64, 32 on Cortex-M) so producers and consumers do not false-share.
//! Slots are not padded (the choice crossbeam's `ArrayQueue` makes too): a
//! slot is the stamp plus `T`, 16 bytes for a `u64`, and padding would
//! multiply a small-`T` buffer's memory by up to 8. The measurement is
//! recorded on `Slot`; the benchmark issue should revisit it on a quiet
//! machine with more cores.
//!
//! # References
//!
//! - D. Vyukov, *Bounded MPMC queue*, 1024cores.net (the algorithm).
//! - crossbeam-queue `ArrayQueue` (`index + lap` positions, stamp notation).
//! - Rust std `sync::mpmc::array` (the mark bit for disconnection).
//! - heapless `mpmc` (an honest account of the progress caveat).

mod async_waits;
#[cfg(feature = "std")]
mod blocking;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::mem::{MaybeUninit, size_of};

use crate::error::{CapacityError, PopError, PushError};
use crate::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
    fence,
};
use crate::sync::{Backoff, CachePadded, UnsafeCell};
use crate::wait::RingWaiters;

/// One slot of the array: a stamp and room for one value.
///
/// Not padded to a cache line. Consecutive positions use neighbouring slots,
/// so a producer and a consumer share a line only when the buffer is nearly
/// empty or nearly full, where they already meet on the value itself.
///
/// Measured (x86-64, 2 shared vCPUs, `u64`, capacity 1024, release): an
/// uncontended `try_push` + `try_pop` pair took 11.0–12.6 ns unpadded and
/// 11.1–11.4 ns with `#[repr(align(128))]` slots, i.e. no difference;
/// contended runs (1+1 and 2+2 threads) varied tenfold from run to run on
/// that machine for both layouts and for crossbeam's `ArrayQueue`, so they
/// decided nothing. Without evidence that it pays, the 8× memory cost wins:
/// no padding.
struct Slot<T> {
    /// A position (see the module docs): `lap + index` when empty for that
    /// lap's push, `lap + index + 1` when full for that lap's pop.
    stamp: AtomicUsize,
    /// The value; initialized exactly while the stamp says "full".
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded multi-producer multi-consumer FIFO of fixed capacity, lock-free
/// to claim, closable, with backpressure: blocking (under `std`) or async.
///
/// It holds exactly [`capacity`](RingBuffer::capacity) values; the capacity
/// need not be a power of two. Non-blocking operations: [`try_push`],
/// [`try_pop`], [`force_push`] (overwrite the oldest when full), [`close`].
/// Under `std`, `push`, `pop`, `push_timeout` and `pop_timeout` wait, first
/// spinning briefly and then parking the thread. With or without `std`,
/// [`push_async`](RingBuffer::push_async) and
/// [`pop_async`](RingBuffer::pop_async) wait as futures under any executor;
/// blocked threads and pending tasks share the same two wait queues, and
/// dropping a pending future loses no value and no wake-up.
///
/// The algorithm is Vyukov's bounded MPMC queue: each slot carries a stamp
/// saying which lap's push or pop it is ready for, and a push or pop claims a
/// slot with one CAS on `tail` or `head`. The module docs in
/// `src/ring_buffer/mod.rs` give its state, linearization points and ABA
/// argument.
///
/// # Progress
///
/// Claims are lock-free, and no `try_` operation waits on another thread for
/// more than a short bounded spin. But a slot is claimed before it is written
/// (or read), so a thread stalled between the two holds that slot: a
/// preempted producer keeps consumers from its slot *and from every value
/// behind it* (`try_pop` reports `Empty` meanwhile, though later pushes have
/// completed); a preempted consumer likewise makes `try_push` report `Full`
/// one lap later. [`force_push`], which cannot report `Full`, waits for such
/// a thread when it holds the slot `force_push` needs. Blocking calls park
/// and are woken when the stalled operation finishes.
///
/// # Memory ordering
///
/// - A push happens-before the pop that returns its value (and a
///   `force_push` that returns it as `Some(old)`): everything the pusher wrote
///   before pushing is visible to the thread that received the value.
/// - A pop happens-before the push that later reuses its slot, so a value is
///   always moved out before it is overwritten.
/// - [`close`](RingBuffer::close) happens-before every push that fails with
///   `Closed`, every pop that returns `Closed` (or `None`), and every
///   [`is_closed`](RingBuffer::is_closed) that returns `true`.
/// - `Full`, `Empty`, `len` and the other snapshots publish nothing.
///
/// ```
/// use freelane::{PopError, RingBuffer};
///
/// let ring = RingBuffer::new(3);
/// ring.try_push(1).unwrap();
/// ring.try_push(2).unwrap();
/// assert_eq!(ring.try_pop(), Ok(1));
/// ring.close();
/// assert!(ring.try_push(3).unwrap_err().is_closed());
/// assert_eq!(ring.try_pop(), Ok(2));
/// assert_eq!(ring.try_pop(), Err(PopError::Closed));
/// ```
///
/// [`try_push`]: RingBuffer::try_push
/// [`try_pop`]: RingBuffer::try_pop
/// [`force_push`]: RingBuffer::force_push
/// [`close`]: RingBuffer::close
pub struct RingBuffer<T> {
    /// The position of the next pop: `[ lap | 0 | index ]` (the mark bit is
    /// never set here). Written by pops (CAS) and by `force_push` (CAS).
    head: CachePadded<AtomicUsize>,
    /// The position of the next push, with the closed mark:
    /// `[ lap | mark | index ]`. Written by pushes (CAS), `force_push`
    /// (`fetch_add`, preserving the mark) and `close` (`fetch_or`).
    tail: CachePadded<AtomicUsize>,
    /// The slots; `slots.len()` is the capacity.
    slots: Box<[Slot<T>]>,
    /// The mark bit of `tail`: `(capacity + 1).next_power_of_two()`. Also one
    /// more than the largest index field value; `mark_bit - 1` masks the index.
    mark_bit: usize,
    /// `2 * mark_bit`: adding it to a position moves it one lap on.
    one_lap: usize,
    /// Blocked and pending pops and pushes (threads and tasks), each queue
    /// on its own cache lines; woken through the `notify_*` hooks below.
    waiters: RingWaiters,
}

// SAFETY: the buffer owns its values (it moves them in and out and drops the
// rest), so sending it sends `T`s: `T: Send` suffices. The other fields are
// atomics and wait queues, which are `Send`.
unsafe impl<T: Send> Send for RingBuffer<T> {}

// SAFETY: through `&RingBuffer` a thread can only move values in (push) and
// out (pop); it never gets a `&T`. Each slot's value is accessed by one thread
// at a time: the one whose CAS on `tail` or `head` claimed the slot, until it
// stores the stamp (see the module docs). So sharing the buffer only moves
// `T`s between threads, which `T: Send` permits; `T: Sync` is not needed.
unsafe impl<T: Send> Sync for RingBuffer<T> {}

impl<T> RingBuffer<T> {
    /// The largest capacity [`try_new`](RingBuffer::try_new) accepts for this
    /// element type.
    ///
    /// Two limits, the smaller wins: the slot array must fit in `isize::MAX`
    /// bytes (Rust's limit for one allocation), and the position encoding
    /// needs `2 * (capacity + 1).next_power_of_two()` to fit in a `usize` with
    /// at least one lap bit left, i.e. `capacity <= usize::MAX >> 2`. A slot
    /// holds a `usize` stamp besides the value, so even a zero-sized `T` is
    /// bound by memory first.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// assert!(RingBuffer::<u64>::MAX_CAPACITY < usize::MAX >> 2);
    /// assert!(RingBuffer::<[u8; 1024]>::MAX_CAPACITY < RingBuffer::<u8>::MAX_CAPACITY);
    /// ```
    pub const MAX_CAPACITY: usize = {
        let by_encoding = usize::MAX >> 2;
        let by_memory = isize::MAX as usize / size_of::<Slot<T>>();
        if by_memory < by_encoding {
            by_memory
        } else {
            by_encoding
        }
    };

    /// Creates a buffer that holds exactly `capacity` values.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 or more than [`MAX_CAPACITY`](RingBuffer::MAX_CAPACITY),
    /// or if the slot array cannot be allocated; the message names the limit
    /// and the capacity asked for. [`try_new`](RingBuffer::try_new) reports
    /// the same cases as errors instead.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::<String>::new(5);
    /// assert_eq!(ring.capacity(), 5);
    /// ```
    ///
    /// ```should_panic
    /// # use freelane::RingBuffer;
    /// // panics: "RingBuffer::new(0): ring buffer capacity must be at least 1"
    /// let _ring = RingBuffer::<u8>::new(0);
    /// ```
    #[track_caller]
    pub fn new(capacity: usize) -> Self {
        match Self::try_new(capacity) {
            Ok(ring) => ring,
            Err(err) => panic!("RingBuffer::new({capacity}): {err}"),
        }
    }

    /// Creates a buffer that holds exactly `capacity` values, or reports why
    /// it cannot. Never panics and never aborts on allocation failure.
    ///
    /// # Errors
    ///
    /// - [`CapacityError::Zero`] if `capacity` is 0.
    /// - [`CapacityError::TooLarge`] if `capacity` exceeds
    ///   [`MAX_CAPACITY`](RingBuffer::MAX_CAPACITY) (then `requested > max`),
    ///   or if the allocator refuses the slot array (then `requested <= max`:
    ///   the capacity is representable, the memory is not there). The array is
    ///   reserved with `Vec::try_reserve_exact`, so a failed allocation becomes
    ///   this error rather than an abort. (On systems that overcommit memory
    ///   an oversized request may still succeed here and fail later, when the
    ///   stamps are written.)
    ///
    /// ```
    /// use freelane::{CapacityError, RingBuffer};
    ///
    /// assert_eq!(RingBuffer::<u32>::try_new(0).unwrap_err(), CapacityError::Zero);
    /// let max = RingBuffer::<u32>::MAX_CAPACITY;
    /// assert_eq!(
    ///     RingBuffer::<u32>::try_new(max + 1).unwrap_err(),
    ///     CapacityError::TooLarge { requested: max + 1, max },
    /// );
    /// assert_eq!(RingBuffer::<u32>::try_new(7).unwrap().capacity(), 7);
    /// ```
    pub fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        let max = Self::MAX_CAPACITY;
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        if capacity > max {
            return Err(CapacityError::TooLarge {
                requested: capacity,
                max,
            });
        }
        let mut slots = Vec::new();
        slots
            .try_reserve_exact(capacity)
            .map_err(|_| CapacityError::TooLarge {
                requested: capacity,
                max,
            })?;
        // Slot `index` starts empty for the push of lap 0: stamp = index.
        slots.extend((0..capacity).map(|index| Slot {
            stamp: AtomicUsize::new(index),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        // `capacity <= usize::MAX >> 2`, so `capacity + 1` does not overflow,
        // its next power of two is at most `2^(BITS-2)`, and `one_lap` at
        // most `2^(BITS-1)`: all representable.
        let mark_bit = (capacity + 1).next_power_of_two();
        Ok(Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            // Length equals the exact reservation, so this does not reallocate.
            slots: slots.into_boxed_slice(),
            mark_bit,
            one_lap: mark_bit << 1,
            waiters: RingWaiters::new(),
        })
    }

    /// Pushes `value` at the back if there is room and the buffer is open.
    /// Never waits (see the module docs on a slot held by a stalled thread).
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] if the buffer holds `capacity` values,
    /// [`PushError::Closed`] if it has been closed; both give `value` back.
    ///
    /// ```
    /// use freelane::{PushError, RingBuffer};
    ///
    /// let ring = RingBuffer::new(1);
    /// assert_eq!(ring.try_push('a'), Ok(()));
    /// assert_eq!(ring.try_push('b'), Err(PushError::Full('b')));
    /// ```
    #[inline]
    pub fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        let backoff = Backoff::new();
        // Relaxed: a hint; the stamp check and the CAS below validate it.
        let mut tail = self.tail.load(Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(self.closed_push(value));
            }
            let slot = self.slot(tail);
            // Acquire: pairs with the Release stamp store in `try_pop`; the
            // previous lap's pop has moved the old value out before we write.
            let stamp = slot.stamp.load(Acquire);
            if stamp == tail {
                let new_tail = self.advance(tail);
                // SeqCst: the claim needs no ordering (the stamp publishes the
                // value), but pops' Empty check (SeqCst fence, then a load of
                // `tail`) must see every completed claim, and mark-bit CAS
                // failures must not be missed; see `try_pop`.
                match self
                    .tail
                    .compare_exchange_weak(tail, new_tail, SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS claimed position `tail`; the stamp
                        // said the slot is empty for it. See `write_claimed`.
                        unsafe { self.write_claimed(slot, tail, value) };
                        return Ok(());
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds the previous lap's value: full, unless
                // a pop has already claimed it and is moving it out.
                // SeqCst: pairs with the SeqCst `head` CAS in `try_pop`; a
                // completed pop's claim is visible to the load below, so Full
                // is reported only while `head` really is a lap behind.
                fence(SeqCst);
                let head = self.head.load(Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(PushError::Full(value));
                }
                // A pop of this slot is in flight (or `tail` is stale).
                if backoff.is_completed() {
                    return Err(PushError::Full(value));
                }
                backoff.snooze();
                tail = self.tail.load(Relaxed);
            } else {
                // Usually `tail` is stale: another push claimed this position
                // and the fresh `tail` is elsewhere. If `tail` has not moved,
                // the slot is still being written by the push of the previous
                // lap (stamp `tail - ONE_LAP`), or refilled by a `force_push`:
                // in flight, as above.
                // Relaxed: a hint, as at the top.
                let current = self.tail.load(Relaxed);
                if current == tail {
                    if backoff.is_completed() {
                        return Err(PushError::Full(value));
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                tail = current;
            }
        }
    }

    /// Takes the value at the front, if any. Never waits (see the module
    /// docs on a slot held by a stalled thread).
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] if there is no value; [`PopError::Closed`] if there
    /// is none and the buffer is closed, so none will ever come.
    ///
    /// ```
    /// use freelane::{PopError, RingBuffer};
    ///
    /// let ring = RingBuffer::new(2);
    /// ring.try_push(7).unwrap();
    /// assert_eq!(ring.try_pop(), Ok(7));
    /// assert_eq!(ring.try_pop(), Err(PopError::Empty));
    /// ```
    #[inline]
    pub fn try_pop(&self) -> Result<T, PopError> {
        let backoff = Backoff::new();
        // Relaxed: a hint; the stamp check and the CAS below validate it.
        let mut head = self.head.load(Relaxed);
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the Release stamp store in `write_claimed`;
            // makes the pushed value visible before we read it.
            let stamp = slot.stamp.load(Acquire);
            if stamp == head + 1 {
                let new_head = self.advance(head);
                // SeqCst: the claim needs no ordering (the stamp published
                // the value), but pushes' Full check (SeqCst fence, then a load
                // of `head`) must see every completed claim.
                match self
                    .head
                    .compare_exchange_weak(head, new_head, SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS claimed position `head`; the stamp
                        // said the slot holds its value. See `read_claimed`.
                        return Ok(unsafe { self.read_claimed(slot, head) });
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // The slot has not been filled for this lap: empty, unless a
                // push has claimed it and is still writing.
                // SeqCst: pairs with the SeqCst `tail` CAS in the pushes and
                // the `fetch_or` in `close`; a completed claim or close is
                // visible to the load below, so Empty is reported only while
                // `tail` really equals `head`.
                fence(SeqCst);
                let tail = self.tail.load(Relaxed);
                if tail & !self.mark_bit == head {
                    if tail & self.mark_bit != 0 {
                        // Acquire: pairs with the release half of the SeqCst
                        // `fetch_or` in `close`; close happens-before Closed.
                        fence(Acquire);
                        return Err(PopError::Closed);
                    }
                    return Err(PopError::Empty);
                }
                // A push of this slot is in flight: wait a bounded while.
                if backoff.is_completed() {
                    return Err(PopError::Empty);
                }
                backoff.snooze();
                head = self.head.load(Relaxed);
            } else {
                // Usually `head` is stale: another pop took this position and
                // the fresh `head` is elsewhere. If `head` has not moved, a
                // `force_push` has taken this slot's old value and not yet
                // stored its own (every older value has been popped since):
                // in flight, as above.
                // Relaxed: a hint, as at the top.
                let current = self.head.load(Relaxed);
                if current == head {
                    if backoff.is_completed() {
                        return Err(PopError::Empty);
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                head = current;
            }
        }
    }

    /// Pushes `value` at the back; if the buffer is full, first removes the
    /// oldest value and returns it. The buffer never rejects a value for
    /// lack of room.
    ///
    /// When the slot it needs is held by another thread that claimed it and
    /// has not finished (a pop still reading it, or a push still writing the
    /// value it would replace), this waits for that thread, spinning and then
    /// yielding: it cannot report `Full`. See the type's docs on progress.
    ///
    /// # Errors
    ///
    /// `Err(value)` if the buffer is closed.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(2);
    /// assert_eq!(ring.force_push(1), Ok(None));
    /// assert_eq!(ring.force_push(2), Ok(None));
    /// assert_eq!(ring.force_push(3), Ok(Some(1)));
    /// assert_eq!(ring.try_pop(), Ok(2));
    /// ring.close();
    /// assert_eq!(ring.force_push(4), Err(4));
    /// ```
    pub fn force_push(&self, value: T) -> Result<Option<T>, T> {
        let backoff = Backoff::new();
        // Relaxed: a hint; the stamp check and the CASes below validate it.
        let mut tail = self.tail.load(Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(self.closed_push(value).into_inner());
            }
            let slot = self.slot(tail);
            // Acquire: pairs with the Release stamp stores in `try_pop` (the
            // old value is gone before we write) and in `write_claimed` (the
            // value we may take out below is visible).
            let stamp = slot.stamp.load(Acquire);
            if stamp == tail {
                let new_tail = self.advance(tail);
                // SeqCst: as in `try_push`.
                match self
                    .tail
                    .compare_exchange_weak(tail, new_tail, SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS claimed position `tail`; the stamp
                        // said the slot is empty for it. See `write_claimed`.
                        unsafe { self.write_claimed(slot, tail, value) };
                        return Ok(None);
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot holds the previous lap's value, pushed at `head`.
                // If `head` is there the buffer is full and that value is the
                // oldest: claim it by moving `head` on. While the CAS below
                // can succeed, `tail` cannot move (its slot is full and only
                // this CAS frees it), so the unmarked `tail` read above is
                // still current: that load is the linearization point.
                let head = tail.wrapping_sub(self.one_lap);
                let new_head = self.advance(head);
                // SeqCst: as the `head` CAS in `try_pop`.
                if self
                    .head
                    .compare_exchange(head, new_head, SeqCst, Relaxed)
                    .is_ok()
                {
                    // Move `tail` on too. Only `close` can have changed it
                    // since (no push can claim a full slot; another
                    // force_push's `head` CAS would have failed), so adding
                    // the distance keeps a concurrent mark bit.
                    // SeqCst: as the `tail` CAS in `try_push`.
                    let new_tail = self.advance(tail);
                    self.tail.fetch_add(new_tail.wrapping_sub(tail), SeqCst);
                    let old = slot.value.with_mut(|value_ptr| {
                        // SAFETY: (1) the `head` CAS gave this thread the
                        // position `head`, whose value the stamp (Acquire)
                        // showed published, and nobody else can claim the
                        // slot until we store the stamp below; (2) the value
                        // is initialized (stamp "full"), and `replace` moves
                        // it out exactly once while writing the new one.
                        unsafe { value_ptr.replace(MaybeUninit::new(value)).assume_init() }
                    });
                    // Release: pairs with the Acquire stamp load in `try_pop`;
                    // publishes the value written above for position `tail`.
                    slot.stamp.store(tail + 1, Release);
                    self.notify_pushed();
                    return Ok(Some(old));
                }
                // A pop claimed this slot (or `tail` is stale): wait for it to
                // finish; then the slot is free for a plain push.
                backoff.snooze();
                tail = self.tail.load(Relaxed);
            } else {
                backoff.spin();
                tail = self.tail.load(Relaxed);
            }
        }
    }

    /// Closes the buffer: from now on pushes fail with `Closed`, pops drain
    /// what is left and then report `Closed`, and every blocked thread is
    /// woken. Returns `true` for the call that closed it, `false` if it was
    /// already closed.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::<u8>::new(1);
    /// assert!(ring.close());
    /// assert!(!ring.close());
    /// assert!(ring.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        // SeqCst: pairs with the SeqCst fence in `try_pop`'s Empty check (a
        // pop that starts after close returns sees the mark) and, through its
        // release half, with the Acquire fences before every `Closed` result.
        let tail = self.tail.fetch_or(self.mark_bit, SeqCst);
        let closed_now = tail & self.mark_bit == 0;
        // Mark first, then wake: a waiter's re-check after registering must
        // find the mark, or the notify below must find the waiter.
        if closed_now {
            self.notify_closed();
        }
        closed_now
    }

    /// Whether [`close`](RingBuffer::close) has been called. Once `true`,
    /// always `true`.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::<u8>::new(1);
    /// assert!(!ring.is_closed());
    /// ring.close();
    /// assert!(ring.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the release half of `close`'s `fetch_or`.
        self.tail.load(Acquire) & self.mark_bit != 0
    }

    /// The number of values the buffer holds, exactly as given to
    /// [`new`](RingBuffer::new).
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// assert_eq!(RingBuffer::<u8>::new(7).capacity(), 7);
    /// ```
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// How many values the buffer holds: a snapshot, which concurrent pushes
    /// and pops may have changed by the time it is returned. Values claimed
    /// by an in-flight push count; values claimed by an in-flight pop do not.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(3);
    /// ring.try_push(1).unwrap();
    /// ring.try_push(2).unwrap();
    /// assert_eq!(ring.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        loop {
            // SeqCst (all three loads): a single total order with the claims,
            // so equal `tail` loads around the `head` load mean `tail` held
            // that value when `head` was read.
            let tail = self.tail.load(SeqCst) & !self.mark_bit;
            let head = self.head.load(SeqCst);
            if self.tail.load(SeqCst) & !self.mark_bit == tail {
                return self.distance(head, tail);
            }
        }
    }

    /// Whether the buffer holds no value (a snapshot).
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(1);
    /// assert!(ring.is_empty());
    /// ring.try_push(()).unwrap();
    /// assert!(!ring.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        // SeqCst: both loads in the total order of the claims; `head` never
        // passes `tail`, so equal values were equal at the `tail` load.
        let head = self.head.load(SeqCst);
        let tail = self.tail.load(SeqCst) & !self.mark_bit;
        head == tail
    }

    /// Whether the buffer holds `capacity` values (a snapshot).
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(1);
    /// ring.try_push(()).unwrap();
    /// assert!(ring.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        // SeqCst: as in `is_empty`; `tail` never gets more than a lap ahead.
        let tail = self.tail.load(SeqCst) & !self.mark_bit;
        let head = self.head.load(SeqCst);
        head.wrapping_add(self.one_lap) == tail
    }

    /// The slot that `position` (a head or tail word) refers to.
    #[inline(always)]
    fn slot(&self, position: usize) -> &Slot<T> {
        let index = position & (self.mark_bit - 1);
        debug_assert!(
            index < self.slots.len(),
            "index {index} past capacity {}",
            self.slots.len()
        );
        // SAFETY: `head` and `tail` start at index 0, and `advance` is the
        // only way they move (`force_push` moves them by `advance` too): it
        // raises the index by one while that stays below the capacity and
        // resets it to 0 otherwise. So every position's index is in bounds.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// The position after `position` (which has no mark bit): the next index,
    /// or index 0 of the next lap after the last slot. Laps wrap.
    #[inline(always)]
    fn advance(&self, position: usize) -> usize {
        let index = position & (self.mark_bit - 1);
        if index + 1 < self.slots.len() {
            position + 1
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// The number of positions from `head` to `tail` (both unmarked), given
    /// that `tail` is at most one lap ahead.
    fn distance(&self, head: usize, tail: usize) -> usize {
        let head_index = head & (self.mark_bit - 1);
        let tail_index = tail & (self.mark_bit - 1);
        if head_index < tail_index {
            tail_index - head_index
        } else if head_index > tail_index {
            self.slots.len() - head_index + tail_index
        } else if head == tail {
            0
        } else {
            self.slots.len()
        }
    }

    /// Writes `value` into a slot claimed for push position `tail`, publishes
    /// it and wakes a blocked pop.
    ///
    /// # Safety
    ///
    /// The caller's CAS moved `tail` from `tail` on, and before it an Acquire
    /// load of `slot.stamp` returned `tail` (the slot is empty and its last
    /// reader is done). Then no other thread touches `slot.value` until the
    /// stamp store here.
    #[inline(always)]
    unsafe fn write_claimed(&self, slot: &Slot<T>, tail: usize, value: T) {
        slot.value.with_mut(|value_ptr| {
            // SAFETY: the caller's claim makes this thread the only one with
            // access to the slot, and the slot holds no value to overwrite.
            unsafe { value_ptr.write(MaybeUninit::new(value)) };
        });
        // Release: pairs with the Acquire stamp load in `try_pop` (and
        // `force_push`); publishes the value written above.
        slot.stamp.store(tail + 1, Release);
        self.notify_pushed();
    }

    /// Moves the value out of a slot claimed for pop position `head`, frees
    /// the slot for the next lap's push and wakes a blocked push.
    ///
    /// # Safety
    ///
    /// The caller's CAS moved `head` from `head` on, and before it an Acquire
    /// load of `slot.stamp` returned `head + 1` (the slot holds the value
    /// pushed at `head`, and its write is visible). Then no other thread
    /// touches `slot.value` until the stamp store here.
    #[inline(always)]
    unsafe fn read_claimed(&self, slot: &Slot<T>, head: usize) -> T {
        let value = slot.value.with(|value_ptr| {
            // SAFETY: the caller's claim makes this thread the only one with
            // access to the slot; the value is initialized and, as the stamp
            // store below marks the slot empty, it is moved out exactly once.
            unsafe { value_ptr.read().assume_init() }
        });
        // Release: pairs with the Acquire stamp load in the pushes; the read
        // above happens-before the next lap's write to this slot.
        slot.stamp.store(head.wrapping_add(self.one_lap), Release);
        self.notify_popped();
        value
    }

    /// The `Closed` error for a push that saw the mark bit in a load of
    /// `tail`, after making `close` happen-before the caller's return.
    #[cold]
    fn closed_push(&self, value: T) -> PushError<T> {
        // Acquire: with the Relaxed `tail` load that saw the mark, pairs with
        // the release half of `close`'s `fetch_or`.
        fence(Acquire);
        PushError::Closed(value)
    }

    /// Step 3 for a push: whether the positions say full and open, read with
    /// the SeqCst loads the protocol needs. `false` means room exists or is
    /// being made (a pop has claimed), or the buffer is closed.
    fn push_must_wait(&self) -> bool {
        // SeqCst: pairs with the SeqCst `head` claim CAS of pops followed by
        // their SeqCst count load in `notify_one` (see the module docs).
        let head = self.head.load(SeqCst);
        // SeqCst: orders this after the registration, as above; sees the
        // mark set by `close`'s SeqCst `fetch_or`.
        let tail = self.tail.load(SeqCst);
        tail & self.mark_bit == 0 && head.wrapping_add(self.one_lap) == tail
    }

    /// Step 3 for a pop: whether the positions say empty and open. `false`
    /// means a value is there or being written, or the buffer is closed.
    fn pop_must_wait(&self) -> bool {
        // SeqCst: pairs with the SeqCst `tail` claim CAS (or `close`'s
        // `fetch_or`) followed by the SeqCst count load in `notify_one`.
        let tail = self.tail.load(SeqCst);
        // Any `head` not older than this one will do: a stale one can only
        // make us retry instead of park.
        let head = self.head.load(SeqCst);
        tail & self.mark_bit == 0 && head == tail
    }

    /// Wakes one blocked pop, if any: one load when none waits. Must follow
    /// the SeqCst claim of the push (see `blocking`).
    #[inline(always)]
    fn notify_pushed(&self) {
        self.waiters.not_empty.notify_one();
    }

    /// Wakes one blocked push, if any: one load when none waits. Must follow
    /// the SeqCst claim of the pop (see `blocking`).
    #[inline(always)]
    fn notify_popped(&self) {
        self.waiters.not_full.notify_one();
    }

    /// Wakes every blocked push and pop. Must follow the SeqCst RMW that set
    /// the mark bit (see `blocking`).
    fn notify_closed(&self) {
        self.waiters.not_empty.notify_all();
        self.waiters.not_full.notify_all();
    }
}

impl<T> fmt::Debug for RingBuffer<T> {
    /// Shows the capacity, a `len` snapshot and whether it is closed; not the
    /// values (which may be moving, and need not be `Debug`).
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(2);
    /// ring.try_push(1).unwrap();
    /// assert_eq!(
    ///     format!("{ring:?}"),
    ///     "RingBuffer { capacity: 2, len: 1, closed: false, .. }",
    /// );
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<T> Drop for RingBuffer<T> {
    /// Drops every value still in the buffer, exactly once.
    fn drop(&mut self) {
        // Relaxed: `&mut self` means no other thread is using the buffer, and
        // whatever handed it to us (a join, an Arc drop) synchronized.
        let head = self.head.load(Relaxed);
        let tail = self.tail.load(Relaxed) & !self.mark_bit;
        let len = self.distance(head, tail);
        let head_index = head & (self.mark_bit - 1);
        for offset in 0..len {
            let index = (head_index + offset) % self.slots.len();
            self.slots[index].value.with_mut(|value_ptr| {
                // SAFETY: with no operation in flight, exactly the `len` slots
                // from `head` on hold values; each is dropped once here and the
                // buffer is never used again.
                unsafe { (*value_ptr).assume_init_drop() }
            });
        }
    }
}
