//! [`SegmentedQueue`]: an unbounded lock-free MPMC FIFO built for throughput,
//! a linked list of fixed-size array segments whose slots are claimed by
//! fetch-and-add.
//!
//! A push takes the next slot of the last segment with one fetch-and-add on
//! its `enq` counter, writes its value and sets the slot's bit in a shared
//! state word with one atomic `or`; a pop takes the next slot of the first
//! segment with one fetch-and-add on its `deq` counter and reads it. A pop
//! that reaches a slot before its pusher has spins briefly, then sets the
//! bit itself (*poisons* the slot): the pusher sees the bit already set and
//! pushes again elsewhere, so nobody waits for a stalled thread. Each thread
//! keeps a counted reference to the segments it pushes into and pops from,
//! so the common operation touches no epoch at all; crossbeam-epoch is
//! pinned only when a thread moves to another segment, and frees segments
//! nobody references. Sources: FAAArrayQueue, P. Ramalhete and A. Correia,
//! 2016; LCRQ, A. Morrison and Y. Afek, PPoPP 2013.
//!
//! The explanation (layout, linearization points, the poisoned slot, the
//! cached segments, reclamation, progress, memory ordering) is on
//! [`SegmentedQueue`] itself, so that it renders in the crate's
//! documentation. This file is laid out as: constants, `Group` and
//! `Segment` (the slot protocol), the queue and its pinned algorithms, the
//! batch cursor, `Drop`, the handle, the per-thread segment cache.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;

use crossbeam_epoch::{Atomic, Guard, LocalHandle, Owned, Shared};

use crate::sync::atomic::AtomicUsize;
use crate::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::sync::{CachePadded, UnsafeCell, back_off, back_off_and_yield, spin_loop};

/// Slots per state word: a group is one `AtomicUsize` and this many value
/// cells, so that for word-sized `T` a group is exactly one 64-byte cache
/// line (8 + 7 × 8 bytes; the groups start 128-byte aligned): a slot's value
/// and its bit arrive together, and a batch publishes up to seven values
/// with one compare-and-swap. Eight slots (72 bytes, shifts instead of a
/// division) put the value on another line than its bit for over half the
/// slots.
#[cfg(not(any(freelane_loom, miri)))]
const GROUP: usize = 7;
/// Under Miri, smaller groups so that its short tests cross group and
/// segment boundaries.
#[cfg(all(miri, not(freelane_loom)))]
const GROUP: usize = 4;
/// Under loom, two slots share one word: the race between a pusher's and
/// another slot's pop on that word is in every model.
#[cfg(freelane_loom)]
const GROUP: usize = 2;

/// Slots per segment.
///
/// 1029 (1024 rounded up to whole groups), chosen by measurement (the table
/// is on [`SegmentedQueue::SEGMENT_LEN`]); `FREELANE_SEGMENT_LEN=n` at build
/// time overrides the 1024, for repeating that measurement only. Small under
/// loom and Miri, so that the models and the interpreted tests cross segment
/// boundaries.
#[cfg(not(any(freelane_loom, miri)))]
pub(crate) const SEGMENT: usize = {
    let requested = match option_env!("FREELANE_SEGMENT_LEN") {
        Some(len) => parse_segment_len(len),
        None => 1024,
    };
    requested.div_ceil(GROUP) * GROUP
};

/// Parses the `FREELANE_SEGMENT_LEN` build-time override (a number of slots
/// from 1 to 65536, rounded up to whole groups), the knob of the
/// segment-size measurement; anything else fails the build.
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
    assert!(value >= 1, "FREELANE_SEGMENT_LEN must be at least 1");
    value
}
#[cfg(all(miri, not(freelane_loom)))]
pub(crate) const SEGMENT: usize = 8;
#[cfg(freelane_loom)]
pub(crate) const SEGMENT: usize = 2;

/// State words per segment.
const GROUPS: usize = SEGMENT / GROUP;

const _: () = assert!(GROUP >= 1 && GROUP < usize::BITS as usize);
const _: () = assert!(SEGMENT % GROUP == 0 && GROUPS >= 1);

/// How many more times a pop re-reads a slot it claimed before the pusher
/// wrote it (after the wait of [`CAUGHT_UP_PAUSES`]), before poisoning the
/// slot: at most about a microsecond of `pause`s
/// on this project's 2-core Xeon VM (a `pause` took about 35 ns on one of
/// its hosts and 10 ns on another, measured on 2026-12-07; a few ns on
/// pre-Skylake cores). Long enough for a running pusher between its
/// fetch-and-add and its `or` (nanoseconds), short against a preempted one
/// (a scheduler tick).
#[cfg(not(freelane_loom))]
const SPIN_LIMIT: usize = 32;
/// Zero under loom: a spin there is a yield, after which loom runs the other
/// threads before the spinning one again, so the pusher always publishes
/// before the pop looks a second time and the models would never reach the
/// poisoning path (checked: with one spin, no model reaches it).
#[cfg(freelane_loom)]
const SPIN_LIMIT: usize = 0;

/// How many `pause`s a pop waits, before it looks at its slot a second
/// time, when the first look found the slot claimed but not yet written: its
/// pusher is between its fetch-and-add and its `or`, so the pop is right
/// behind the pushers ("A pop that catches up" on [`SegmentedQueue`]).
/// Looking again at once would pull the group's line back from the pusher
/// about to write it; waiting lets the pushers get a few groups ahead, so
/// that the following pops read lines already complete. About 1.3 µs on this
/// project's 2-core VM. Chosen on the report's `msqueue/spsc` workload (1p1c,
/// two runs of 7 rounds of each build alternating, ratios to `SegQueue`):
/// none 1.20–1.21×, 64 pauses 1.50–1.56×, 128 1.67–1.78×, 256 1.76× (11
/// rounds), where the 1p1c latency's 99th percentile went from 1.07–1.09 µs
/// to 1.07–1.12 (64), 1.21–1.23 (128) and 2.36 µs (256).
#[cfg(not(freelane_loom))]
const CAUGHT_UP_PAUSES: usize = 128;

/// How many `pause`s a push or pop spins after losing its claim race
/// ([`back_off`]; "Both ends back off" on [`SegmentedQueue`]): about 40 µs
/// on this project's 2-core VM. Chosen on the contention report's
/// `msqueue/mpmc` workload, three runs of each build alternating: 2p2c at
/// 1024 pauses 0.83–0.85× `SegQueue`, at 2048 0.85–0.98×, at 4096
/// 1.06–1.29×; 4p4c 0.77–1.06×, 0.77–1.07×, 1.03–1.31×.
const BACK_OFF_PAUSES: usize = 1 << 12;

/// [`GROUP`] slots and their shared state word.
///
/// ```text
///   done: bit j set  <=>  slot j is finished for its pusher: either the
///         pusher wrote its value there (the bit set by the pusher), or the
///         slot's pop gave up on it first (set by the pop: "poisoned").
///   A bit is set once, by whichever of the two gets there first; the atomic
///   `or` that sets it tells each whether it was first.
/// ```
///
/// Each slot index is claimed by at most one pusher and one pop (the
/// fetch-and-adds hand out each index once), so the only race on a slot's
/// bit is between those two. Other slots' pushers and pops update other
/// bits of the same word, which only ever grows.
struct Group<T> {
    /// One bit per slot, as above. Only atomic read-modify-writes change it
    /// after the segment is published, so an Acquire load that sees a bit
    /// synchronizes with the `or` that set it (release sequence).
    done: AtomicUsize,
    /// The values: slot j's cell is written by its pusher before the `or`
    /// that sets bit j, and moved out by its pop after it saw the bit set by
    /// the pusher. Never dropped through the cell (queue drop excepted).
    values: [UnsafeCell<MaybeUninit<T>>; GROUP],
}

/// The link fields of a segment, on one cache line: written once per
/// segment (`next`) or once per thread that starts or stops using the
/// segment (`refs`).
struct Link<T> {
    /// Null while this is the last segment; set once, by the push that
    /// links the next one.
    next: Atomic<Segment<T>>,
    /// Counted references: one for being in the list (from the moment it is
    /// linked until `head` moves past it), plus one for every thread cache
    /// or handle that keeps the segment for its next operation. The segment
    /// is handed to crossbeam-epoch when the count reaches zero.
    refs: AtomicUsize,
    /// Position of slot 0 in the stream of slots (wrapping): the previous
    /// segment's `base + SEGMENT`. Written before publication; read by `len`.
    base: usize,
}

/// A fixed array of [`SEGMENT`] slots in [`GROUPS`] groups, with its two
/// claim counters and its link.
///
/// ```text
///  +------------------- Segment (one allocation) -----------------------+
///  | deq  (CachePadded): next slot index for pops   (may pass SEGMENT)  |
///  | enq  (CachePadded): next slot index for pushes (may pass SEGMENT)  |
///  | link (CachePadded): next, refs, base                               |
///  | groups[0 .. SEGMENT / GROUP]: { done word, GROUP value cells }      |
///  +--------------------------------------------------------------------+
///   slot i = groups[i / GROUP].values[i % GROUP], bit i % GROUP of the
///   group's `done`
/// ```
#[repr(C)]
struct Segment<T> {
    /// Pops claim slot `deq` with a fetch-and-add; values at or past
    /// `SEGMENT` mean the segment is drained. Padded: every pop writes it.
    deq: CachePadded<AtomicUsize>,
    /// Pushes claim slot `enq` with a fetch-and-add; values at or past
    /// `SEGMENT` mean the segment is full. Padded: every push writes it.
    enq: CachePadded<AtomicUsize>,
    /// `next`, `refs`, `base`. Padded, so that the reference counting at
    /// segment changes does not disturb the slots.
    link: CachePadded<Link<T>>,
    /// The slots.
    groups: [Group<T>; GROUPS],
}

/// What a pop found in a slot it claimed without checking first.
enum Taken<T> {
    /// A value.
    Value(T),
    /// Its pusher was too slow: the pop poisoned the slot.
    Poisoned,
    /// No pusher had claimed the slot: the queue was empty.
    Overshot,
}

/// What a pop in one segment found.
enum Popped<T> {
    /// A value.
    Value(T),
    /// The queue was empty (see "Linearization points" on the queue).
    Empty,
    /// Every slot of the segment has been claimed by a pop: go on to the
    /// next segment.
    Drained,
}

impl<T> Segment<T> {
    /// A new segment starting at stream position `base`, every slot empty,
    /// with `refs` counted references.
    ///
    /// Built in place on the heap: a segment is kilobytes, too much to
    /// assemble on the stack and move.
    fn new(base: usize, refs: usize) -> Owned<Self> {
        let mut boxed = Box::<Self>::new_uninit();
        let segment = boxed.as_mut_ptr();
        // SAFETY: every field of the uninitialized allocation is written
        // exactly once below, through raw pointers (no reference to
        // uninitialized memory is made), before `assume_init`; the value
        // cells are `MaybeUninit` and need no writing.
        unsafe {
            ptr::addr_of_mut!((*segment).deq).write(CachePadded::new(AtomicUsize::new(0)));
            ptr::addr_of_mut!((*segment).enq).write(CachePadded::new(AtomicUsize::new(0)));
            ptr::addr_of_mut!((*segment).link).write(CachePadded::new(Link {
                next: Atomic::null(),
                refs: AtomicUsize::new(refs),
                base,
            }));
            let groups = ptr::addr_of_mut!((*segment).groups).cast::<Group<T>>();
            for index in 0..GROUPS {
                let group = groups.add(index);
                ptr::addr_of_mut!((*group).done).write(AtomicUsize::new(0));
                let cells = ptr::addr_of_mut!((*group).values).cast::<UnsafeCell<MaybeUninit<T>>>();
                for slot in 0..GROUP {
                    cells
                        .add(slot)
                        .write(UnsafeCell::new(MaybeUninit::uninit()));
                }
            }
        }
        // SAFETY: fully initialized above.
        Owned::from(unsafe { boxed.assume_init() })
    }

    /// Slot `index` (`< SEGMENT`): its group's word, its bit there, its
    /// cell. The division by [`GROUP`] happens here, once per access.
    #[inline(always)]
    fn slot(&self, index: usize) -> Slot<'_, T> {
        debug_assert!(index < SEGMENT);
        // In 32 bits (`SEGMENT` is at most 65542): a cheaper multiply for
        // the division by the constant.
        let number = (index as u32 / GROUP as u32) as usize;
        let offset = index - number * GROUP;
        // SAFETY: `index < SEGMENT` (the caller's check, asserted above in
        // debug builds), so `number < GROUPS` and `offset < GROUP`.
        let group = unsafe { self.groups.get_unchecked(number) };
        Slot {
            done: &group.done,
            bit: 1 << offset,
            // SAFETY: as above.
            cell: unsafe { group.values.get_unchecked(offset) },
        }
    }

    /// Puts `value` in slot 0 of a segment nobody else can see yet, as if
    /// pushed: the first push of a segment needs no claim.
    fn put_first(&mut self, value: T) {
        let slot = self.slot(0);
        // SAFETY: unpublished: we are the only user of the cell.
        slot.cell.with_mut(|cell| unsafe { (*cell).write(value) });
        // Relaxed: published by the Release compare-and-swap that links the
        // segment.
        slot.done.store(slot.bit, Relaxed);
        self.enq.store(1, Relaxed);
    }

    /// Moves slot 0's value back out of a segment that failed to link.
    fn take_first(&mut self) -> T {
        let slot = self.slot(0);
        // Relaxed: the segment is still ours alone.
        slot.done.store(0, Relaxed);
        self.enq.store(0, Relaxed);
        // SAFETY: unpublished; `put_first` wrote the value.
        slot.cell.with(|cell| unsafe { (*cell).assume_init_read() })
    }

    /// The pusher's step on a claimed slot: writes `value` and publishes it,
    /// or gives it back if the slot's pop poisoned it first.
    ///
    /// # Safety
    /// The caller claimed slot `index` (`< SEGMENT`) with a fetch-and-add of
    /// `enq` (so no other pusher writes it), and keeps the segment alive (a
    /// guard or a counted reference).
    #[inline]
    unsafe fn publish(&self, index: usize, value: T) -> Result<(), T> {
        let slot = self.slot(index);
        // SAFETY: only this slot's pusher (us) writes the cell, and its pop
        // reads it only after seeing the bit set by us, below.
        slot.cell.with_mut(|cell| unsafe { (*cell).write(value) });
        // Release: pairs with the Acquire load and `or` of `done` in `take`
        // (directly or through later `or`s on the word, a release sequence);
        // publishes the value just written. Linearization point of the push.
        if slot.done.fetch_or(slot.bit, Release) & slot.bit == 0 {
            return Ok(());
        }
        // SAFETY: the pop that set the bit first never reads the cell, so
        // the value we wrote is still ours alone; we move it back.
        Err(slot.cell.with(|cell| unsafe { (*cell).assume_init_read() }))
    }

    /// The pop's step on a claimed slot: the value, or `None` if the slot
    /// was poisoned (by this call, after spinning: only a slot's own pop
    /// poisons it).
    ///
    /// # Safety
    /// The caller claimed slot `index` (`< SEGMENT`) with a fetch-and-add of
    /// `deq` (so no other pop reads it), and keeps the segment alive.
    #[inline]
    unsafe fn take(&self, index: usize) -> Option<T> {
        // SAFETY: the caller's contract.
        unsafe { self.slot(index).take() }
    }
}

/// One slot of a segment, located: see [`Segment::slot`].
struct Slot<'a, T> {
    /// Its group's state word.
    done: &'a AtomicUsize,
    /// Its bit in `done`.
    bit: usize,
    /// Its value cell.
    cell: &'a UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<'_, T> {
    /// [`Segment::take`] on this slot.
    ///
    /// # Safety
    /// As for [`Segment::take`].
    #[inline]
    unsafe fn take(&self) -> Option<T> {
        let (done, bit) = (self.done, self.bit);
        // Acquire: pairs with the Release `or` in `publish` (or in a batch's
        // compare-and-swap); makes the value visible before we read it.
        let mut word = done.load(Acquire);
        // Not under loom, whose models reach the poisoning path only
        // without a second look (see `SPIN_LIMIT`).
        #[cfg(not(freelane_loom))]
        if word & bit == 0 {
            // Caught up with the pushers: let them get ahead before looking
            // again (`CAUGHT_UP_PAUSES`; no wait without `std`).
            back_off(CAUGHT_UP_PAUSES);
            // Acquire: as above.
            word = done.load(Acquire);
        }
        let mut spins = 0;
        while word & bit == 0 && spins < SPIN_LIMIT {
            spin_loop();
            spins += 1;
            // Acquire: as above.
            word = done.load(Acquire);
        }
        // Acquire: if the pusher won after all, its value is read below.
        if word & bit == 0 && done.fetch_or(bit, Acquire) & bit == 0 {
            // We set the bit first: the slot is poisoned; its pusher will
            // see the bit and push its value again elsewhere.
            return None;
        }
        // SAFETY: the bit was set by the pusher (we did not set it), and seen
        // with Acquire, so its write is visible; we are the slot's only pop,
        // so the value is moved out exactly once, and the pusher never
        // touches the cell again.
        Some(self.cell.with(|cell| unsafe { (*cell).assume_init_read() }))
    }
}

impl<T> Segment<T> {
    /// One pop in this segment: claims the next slot and takes it, or
    /// reports the queue empty or the segment drained.
    ///
    /// `checked`: read `deq` and `enq` before claiming, and report the queue
    /// empty without claiming when `deq ≥ enq`. Otherwise (the thread's last
    /// pop here found a value) claim without reading `enq`, which keeps the
    /// pop off the pushers' line; a claim that overshot the pushers (see
    /// [`take_claimed`]) then reports the queue empty, at the cost of one
    /// slot. Either way `deq` is read just before the claim: a claim that
    /// returns another index lost a race with another pop, and the pop backs
    /// off once it has its value ([`back_off`]).
    ///
    /// [`take_claimed`]: Self::take_claimed
    ///
    /// # Safety
    /// The caller keeps the segment alive, and either holds `head` pinned at
    /// it or got it from `head` earlier (a segment never comes back after
    /// `head` passes it, see "Linearization points").
    #[inline]
    unsafe fn pop_here(&self, checked: bool) -> Popped<T> {
        let mut checked = checked;
        loop {
            // `deq` just before the claim: a claim that returns anything
            // else lost a race with another pop (see "Both ends back off" on
            // `SegmentedQueue`).
            let seen;
            if checked {
                // Acquire: keeps the `enq` load below after this one; the
                // empty check needs `deq` read first (see Linearization
                // points).
                let claimed = self.deq.load(Acquire);
                seen = claimed;
                if claimed >= SEGMENT {
                    return Popped::Drained;
                }
                // Only `enq`, not the slot: a poll of an empty queue then takes
                // one line from the pushers, not two (the slot's is read once
                // claimed). Relaxed: a count compared, nothing read through
                // it; the Acquire above orders it after `deq`.
                if claimed >= self.enq.load(Relaxed) {
                    return Popped::Empty;
                }
            } else {
                // Relaxed: compared with the claim below, nothing read
                // through it.
                seen = self.deq.load(Relaxed);
            }
            // Acquire: keeps `take_claimed`'s `enq` load after the claim (its
            // empty verdict needs `deq` past the slot first); the value comes
            // through the slot's own Acquire read.
            let index = self.deq.fetch_add(1, Acquire);
            if index >= SEGMENT {
                return Popped::Drained;
            }
            // SAFETY: slot claimed by the fetch-and-add above; the caller
            // keeps the segment alive.
            match unsafe { self.take_claimed(index) } {
                Taken::Value(value) => {
                    if index != seen {
                        back_off_and_yield(BACK_OFF_PAUSES);
                    }
                    return Popped::Value(value);
                }
                Taken::Poisoned => {}
                Taken::Overshot => return Popped::Empty,
            }
            // After a poisoned slot, check before claiming again: the queue
            // may be running dry.
            checked = true;
        }
    }

    /// [`take`](Self::take) for a slot claimed without checking `enq` first:
    /// if no pusher has claimed the slot yet (`index ≥ enq`), poisons it at
    /// once rather than waiting for one, and reports [`Taken::Overshot`]:
    /// at that `enq` load every element pushed so far sat in a slot below
    /// `index`, all claimed by pops, so the queue was empty (the same
    /// argument as the checked path's).
    ///
    /// # Safety
    /// As for [`take`](Self::take).
    #[inline]
    unsafe fn take_claimed(&self, index: usize) -> Taken<T> {
        let slot = self.slot(index);
        // Acquire: as in `take`.
        if slot.done.load(Acquire) & slot.bit == 0 && index >= self.enq.load(Relaxed) {
            // Relaxed above: a count compared; the Acquire claim orders it.
            // Acquire: if a pusher got here first after all, its value is
            // read below.
            if slot.done.fetch_or(slot.bit, Acquire) & slot.bit == 0 {
                return Taken::Overshot;
            }
        }
        // SAFETY: the caller's contract, as for `take`.
        match unsafe { slot.take() } {
            Some(value) => Taken::Value(value),
            None => Taken::Poisoned,
        }
    }

    /// One push in this segment: claims slots until one takes the value, or
    /// gives the value back when the segment is full. A push whose claim
    /// returned another index than the `enq` it read just before backs off
    /// once its value is in (see "Both ends back off" on `SegmentedQueue`).
    ///
    /// # Safety
    /// The caller keeps the segment alive.
    #[inline]
    unsafe fn push_here(&self, mut value: T) -> Result<(), T> {
        loop {
            // `enq` just before the claim, as in `pop_here`: a claim that
            // returns anything else lost a race with another push. Relaxed:
            // compared with the claim, nothing read through it.
            let seen = self.enq.load(Relaxed);
            // Relaxed: the claim only needs atomicity; the value travels
            // through the slot's Release `or`.
            let index = self.enq.fetch_add(1, Relaxed);
            if index >= SEGMENT {
                return Err(value);
            }
            // SAFETY: slot claimed by the fetch-and-add above; the caller
            // keeps the segment alive.
            match unsafe { self.publish(index, value) } {
                Ok(()) => {
                    if index != seen {
                        back_off(BACK_OFF_PAUSES);
                    }
                    return Ok(());
                }
                Err(back) => value = back,
            }
        }
    }

    /// Pushes from the front of `pending` into this segment, a run of slots
    /// per fetch-and-add, until `pending` is empty (`true`) or the segment
    /// is full (`false`).
    ///
    /// # Safety
    /// The caller keeps the segment alive.
    unsafe fn push_runs(&self, pending: &mut Pending<'_, T>) -> bool {
        while !pending.is_empty() {
            let run = pending.len().min(SEGMENT);
            // Relaxed: as in `push_here`.
            let first = self.enq.fetch_add(run, Relaxed);
            if first >= SEGMENT {
                return false;
            }
            // SAFETY: slots `first..` claimed above; the caller keeps the
            // segment alive.
            unsafe { self.fill(first, (first + run).min(SEGMENT), pending) };
        }
        true
    }

    /// Fills the claimed slots `first..end` with values from the front of
    /// `pending`, in order, and publishes them a group at a time with one
    /// compare-and-swap per group.
    ///
    /// A slot a pop has already poisoned is skipped (its value goes to the
    /// next slot). If a pop poisons a slot after we wrote it but before the
    /// group's compare-and-swap, the slots before it are published, the
    /// values from it on go back to the front of `pending` and the group is
    /// filled again from the slot after it: the values land in increasing
    /// slot order (FIFO kept), and every claimed slot ends up written or
    /// poisoned. Values left over when the run is used up (one per skipped
    /// slot) stay in `pending` for the caller's next run.
    ///
    /// # Safety
    /// The caller claimed slots `first..end` (`end <= SEGMENT`) with a
    /// fetch-and-add of `enq` and keeps the segment alive.
    unsafe fn fill(&self, first: usize, end: usize, pending: &mut Pending<'_, T>) {
        let mut index = first;
        while index < end {
            let group_start = index / GROUP * GROUP;
            let group = &self.groups[index / GROUP];
            // Our slots of this group, as offsets in it.
            let (from, to) = (
                index - group_start,
                end.min(group_start + GROUP) - group_start,
            );
            // Relaxed: we only read which of our slots are poisoned; the
            // compare-and-swap below re-checks.
            let mut word = group.done.load(Relaxed);
            let mut written = 0;
            for offset in from..to {
                if word & (1 << offset) != 0 {
                    continue;
                }
                let Some(value) = pending.take() else { break };
                // SAFETY: our claimed slot, not yet published: no pop reads
                // the cell until its bit is set by us.
                group.values[offset].with_mut(|cell| unsafe { (*cell).write(value) });
                written |= 1 << offset;
            }
            if written == 0 {
                index = group_start + to;
                continue;
            }
            loop {
                let lost = word & written;
                // Our written slots below the first one a pop gave up on.
                let publish = if lost == 0 {
                    written
                } else {
                    written & ((lost & lost.wrapping_neg()) - 1)
                };
                // Release: pairs with the Acquire load and `or` in `take`;
                // publishes the values written above. Linearization point of
                // these pushes, in slot order. Relaxed on failure: we only
                // look at the bits again.
                match group
                    .done
                    .compare_exchange(word, word | publish, Release, Relaxed)
                {
                    Ok(_) if lost == 0 => {
                        index = group_start + to;
                        break;
                    }
                    Ok(_) => {
                        // Take back, last first, the values from the first
                        // poisoned slot on (unpublished, so still ours).
                        let taken_back = written & !publish;
                        for offset in (from..to).rev() {
                            if taken_back & (1 << offset) != 0 {
                                // SAFETY: we wrote this cell and never set
                                // its bit (a poisoned slot's pop does not
                                // read it): the value is ours.
                                let value = group.values[offset]
                                    .with(|cell| unsafe { (*cell).assume_init_read() });
                                // SAFETY: values go back in the reverse order
                                // they were taken, each to its own position.
                                unsafe { pending.put_back(value) };
                            }
                        }
                        index = group_start + lost.trailing_zeros() as usize + 1;
                        break;
                    }
                    Err(now) => word = now,
                }
            }
        }
    }
}

/// The queue's segment references, as kept by a thread cache or a handle:
/// a segment pointer that owns one count of the segment's `refs`.
type Counted<T> = *const Segment<T>;

/// A thread's kept pop segment, as the thread cache finds it.
#[cfg(feature = "std")]
struct KeptPop<T> {
    /// One count, owned by the cache.
    segment: Counted<T>,
    /// Its cache entry.
    entry: usize,
    /// Whether to check for an empty queue before claiming.
    checked: bool,
}

/// Takes a counted reference to `segment`, unless its count has reached
/// zero (it is being retired). `true` if taken.
///
/// # Safety
/// `segment` is live under `_guard` (loaded from the queue while pinned).
unsafe fn acquire_ref<T>(segment: &Segment<T>, _guard: &Guard) -> bool {
    let refs = &segment.link.refs;
    // Relaxed: the count only keeps the memory; the segment's contents were
    // published by the Acquire load that found it.
    let mut count = refs.load(Relaxed);
    loop {
        if count == 0 {
            return false;
        }
        // Relaxed: as above.
        match refs.compare_exchange_weak(count, count + 1, Relaxed, Relaxed) {
            Ok(_) => return true,
            Err(now) => count = now,
        }
    }
}

/// Gives back one counted reference to `segment`; the last one retires the
/// segment to crossbeam-epoch through `guard`.
///
/// # Safety
/// The caller owns one count of `segment`'s references (and gives it up).
unsafe fn release_ref<T>(segment: Counted<T>, guard: &Guard) {
    // SAFETY: our count keeps the segment alive until this decrement (the
    // reference is not used after it, as in `Arc`'s drop).
    let refs = unsafe { &(&*segment).link.refs };
    // AcqRel: Release passes our accesses to the segment on to whoever frees
    // it; Acquire (on the last decrement) takes every other holder's. An RMW
    // rather than a fence, which ThreadSanitizer does not model.
    if refs.fetch_sub(1, AcqRel) == 1 {
        let segment = segment.cast_mut();
        // SAFETY: (1) the count is zero: no cache, handle or list holds the
        // segment, and nobody can take a new reference (`acquire_ref` never
        // counts up from zero); (2) a thread that loaded the pointer from the
        // queue while pinned and is about to try `acquire_ref` was pinned
        // before this defer, and crossbeam-epoch frees only after it unpins;
        // (3) the segment holds no element (every slot of a retired segment
        // was claimed by a pop, which took or poisoned it; a segment freed by
        // the queue's drop was emptied first), so freeing it drops no `T` and
        // may run on any thread, at any later time.
        unsafe { guard.defer_unchecked(move || free_segment(segment)) };
        // Hands the segment to the global garbage list now, rather than
        // after 64 more deferrals: threads here pin only at segment changes,
        // so a local bag would hold retired segments a long time.
        guard.flush();
    }
}

/// Frees a segment's memory.
///
/// # Safety
/// `segment` came from `Segment::new` and is referenced by nothing; it
/// holds no value that needs dropping.
unsafe fn free_segment<T>(segment: *mut Segment<T>) {
    // Under loom, a write access to every value cell first, so that the
    // model checks that every push's and pop's access to them happens-before
    // the free (the reference counting's Release/Acquire, and the epoch's).
    #[cfg(freelane_loom)]
    {
        // SAFETY: the caller's contract: the segment is still allocated.
        let segment = unsafe { &*segment };
        for group in &segment.groups {
            for cell in &group.values {
                cell.with_mut(|_| ());
            }
        }
    }
    // SAFETY: allocated as a `Box<Segment<T>>` by `Segment::new`; dropping it
    // runs no `T` drop (the cells are `MaybeUninit`).
    drop(unsafe { Box::from_raw(segment) });
}

/// An unbounded lock-free multi-producer multi-consumer FIFO queue built for
/// throughput: a linked list of fixed-size array segments whose slots are
/// claimed by fetch-and-add, each thread keeping its current segments, and
/// segments reclaimed through crossbeam-epoch.
///
/// Pick this one for speed; [`MsQueue`](crate::MsQueue) is the textbook
/// Michael–Scott queue. In the common case a push is a fetch-and-add and an
/// atomic `or`, a pop a fetch-and-add and a load, with no epoch pin and no
/// retry loop; one allocation serves
/// [`SEGMENT_LEN`](SegmentedQueue::SEGMENT_LEN) pushes.
/// [`push_many`](SegmentedQueueHandle::push_many) and
/// [`pop_many`](SegmentedQueueHandle::pop_many) claim a run of slots with a
/// single fetch-and-add and publish up to seven values with one
/// compare-and-swap.
///
/// # Algorithm
/// The family of FAAArrayQueue (P. Ramalhete and A. Correia, 2016,
/// <https://github.com/pramalhe/ConcurrencyFreaks/blob/master/papers/faaarrayqueue-2016.pdf>),
/// itself a simplification of LCRQ (A. Morrison and Y. Afek, "Fast
/// Concurrent Queues for x86 Processors", PPoPP 2013) without its
/// double-width compare-and-swap. Single-word atomics only.
///
/// ```text
///  head ---------------------.            tail ------------------------.
///                            v                                         v
///  (retired, in the epoch) -> +-----------------+ next +-----------------+ next
///                             | deq = 3         |----->| deq = 0         |----> null
///                             | enq = SEGMENT+2 |      | enq = 2         |
///                             | slots: T T T D D|      | slots: D D E E E|
///                             | refs = 1 + 2    |      | refs = 1 + 3    |
///                             +-----------------+      +-----------------+
///     T = taken by a pop, D = done (a value waiting), E = empty;
///     refs = 1 for the list + the threads that keep the segment
/// ```
///
/// Each segment has [`SEGMENT_LEN`](SegmentedQueue::SEGMENT_LEN) slots, a
/// `deq` and an `enq` counter (each on its own cache line), and a link line
/// (`next`, a reference count, and `base`, the stream position of its first
/// slot). Slots come in groups of seven value cells sharing one state word,
/// one bit per slot, so that a slot's value and its bit share a cache line
/// for word-sized `T`. A slot's bit is set once: by its pusher after writing
/// the value, or by its pop giving up on it ("poisoned", below); the atomic
/// `or` that sets it tells each of the two whether it was first.
///
/// - **push**: `i = segment.enq.fetch_add(1)` on the thread's current push
///   segment. If `i` is inside the segment, write the value into slot `i`
///   and `or` its bit in; if the bit was clear, done. If the segment is
///   full, pin, load `tail`, move it on to `next` if there is one, or else
///   allocate a segment with the value already in slot 0 and link it with
///   one compare-and-swap on `next` (the loser takes its value back and
///   keeps the allocation for its next try); the segment the push landed in
///   becomes the thread's push segment. A push whose claim returned another
///   index than the `enq` it read just before lost a race with another
///   push: once its value is in, it backs off (below, under "Speed").
/// - **pop**: on the thread's current pop segment, `i =
///   deq.fetch_add(1)` and take slot `i`. While the thread's last pop found
///   the queue empty, it first reads `deq` and `enq` and reports the queue
///   empty without claiming if `deq ≥ enq`; after a value, it claims
///   without reading `enq` (the pushers' line), and a claim that
///   overshot the pushers (`i ≥ enq`, read after the claim) poisons slot `i`
///   at once and reports the queue empty. A pop whose claim returned
///   another index than the `deq` it read just before lost a race with
///   another pop: once it has its value it backs off (below, under "Speed").
///   If the segment is drained (`i` past
///   its end), pin, load `head`, and if the head segment is drained and
///   `next` exists, move `head` on (moving `tail` first if it still points
///   there); the head segment becomes the pop segment.
/// - **push_many** claims `min(remaining, SEGMENT_LEN)` slots with one
///   fetch-and-add, writes a group's values and publishes them with one
///   compare-and-swap on the group's word; **pop_many** claims at most the
///   slots already claimed by pushers, with one fetch-and-add, and reads
///   each group's word once.
///
/// Every slot index is handed to exactly one pusher and one pop by the two
/// fetch-and-adds, so the only race on a slot is between that pair.
///
/// # A slot claimed before its pusher wrote it
/// The counters are independent, so a pop can claim slot `i` while the
/// pusher holding `i` is between its fetch-and-add and its `or`, or before a
/// pusher has even claimed `i`. The pop waits 128 `pause`s, then re-reads
/// the state word up to 32 times (about 2 µs in all here; a running pusher
/// finishes long before; "A pop that catches up" below says why it waits
/// first), then sets the slot's bit itself and goes on to the next slot. If the bit was
/// already set, the pusher won and the pop takes its value. If not, the
/// pusher's own `or` finds the bit set; the pusher, which wrote its value
/// into a cell nobody else will read, moves it back out and pushes it again
/// into a fresh slot (a batch puts it back in front of the rest of its
/// values). Safe because (1) a value cell is read only by the slot's pop
/// after seeing the bit set by the pusher, never for a slot it poisoned
/// itself, so no one reads a half-written or absent value; (2) each index
/// has one pusher and one pop, and the bit is set once, so the first `or`
/// decides their race for good; (3) the pusher keeps ownership of a value it
/// could not publish, so nothing is lost or duplicated. A poisoned slot is
/// simply never used again.
///
/// # Linearization points
/// - `push`: its `or` that found the slot's bit clear (or, for the push that
///   creates a segment, the compare-and-swap that links it). Elements leave
///   in the order of their slots' stream positions; a push poisoned out of
///   slot `i` retries at a later position, so it takes effect after
///   everything published there. That slot order with these points is a
///   legal FIFO order is argued by Morrison and Afek (LCRQ, section 4) for
///   the same fetch-and-add/poison protocol.
/// - `pop` returning a value: its read of the bit set by the pusher (the
///   load, or its own `or` finding the bit set).
/// - `pop` returning `None`: it read `enq` of a segment after `deq` (or
///   after its own claim of slot `deq`) and found `deq ≥ enq` (or the head
///   segment drained with a null `next`). A segment whose `deq` is below its
///   end is the head segment (`head` moves past a segment only once its
///   `deq` has passed the end, and a thread's pop segment is one it read
///   from `head`), so at the `enq` load every slot below `enq` in the queue
///   had been claimed by a pop: those pops
///   either took their element, or are still running and will, or poisoned
///   their slot (whose push had then not taken effect). The queue was empty
///   at that instant except for elements already promised to running pops,
///   whose pops are linearized before it.
/// - `push_many` / `pop_many`: each element is its own push or pop, with the
///   points above; a batch's compare-and-swap on a group publishes its
///   values at one instant, in slot order.
/// - `is_empty`: `true` at the same check as `pop`'s `None`. `false` means
///   some pusher had claimed a slot no pop had claimed; that push may still
///   have been in flight (a snapshot in that direction).
/// - `len`: a snapshot, as for crossbeam's `SegQueue`: (`tail`'s `base` +
///   `enq`) − (`head`'s `base` + `deq`), each counter capped at the segment
///   length, never negative. Exact when no push or pop runs at the same
///   time; it adds no shared write to push or pop.
///
/// # ABA
/// The compare-and-swaps on `head`, `tail` and `next` compare addresses. A
/// segment is freed only when no thread holds a counted reference to it and
/// after a grace period of crossbeam-epoch; every thread that loads an
/// address from `head`, `tail` or `next` does so pinned, and keeps using it
/// afterwards only with a counted reference. So an address a thread holds
/// cannot come back as a new segment while it holds it. The state bits need
/// no tags: each is set once.
///
/// # Segments kept by each thread
/// Under `std`, each thread keeps, per queue, the segment it last pushed
/// into and the one it last popped from, for up to four queues (a fifth
/// takes the place of one of them, in turn), and each
/// [`SegmentedQueueHandle`] keeps its own pair; each kept segment holds one
/// count of its `refs`. That count is what makes the common path safe with
/// no epoch pin: a kept segment cannot be freed, so the fetch-and-add on its
/// counter and the slot access need no protection. A thread pins only when
/// its kept segment is full or drained (once per `SEGMENT_LEN` operations):
/// it loads `head` or `tail` pinned, does the operation there, takes a count
/// on that segment and gives up its old one. A kept segment that the queue
/// has since moved past is harmless: its counters are past the end, so the
/// next operation goes to the slow path and moves on.
///
/// # Reclamation
/// `head` leaves a segment only when its `deq` has passed the end, so every
/// slot in it has been claimed by some pop (and every element in it is owned
/// by one). The pop that moves `head` gives up the segment's list
/// reference; `tail` is moved past a segment before `head` is, so `tail`
/// never points at a segment without its list reference. When the last
/// reference goes (the list's or a thread's), the segment is retired to
/// crossbeam-epoch, which frees it once every thread pinned at that moment
/// has unpinned.
///
/// Memory held is therefore the live segments (about length /
/// `SEGMENT_LEN` + 1), plus at most two segments per thread and queue kept
/// as above (a thread that stops using a queue keeps them until it has
/// started on four other queues, or exits, even after the queue is dropped;
/// a handle until it is dropped), plus retired segments awaiting their grace
/// period. A long push/pop run holds bounded
/// memory (tested with a counting allocator). A guard held for a long time
/// (any `crossbeam_epoch::pin()` on the default collector) delays freeing,
/// not progress. Dropping the queue drops the elements still in it, each
/// once; its segments are freed then, or when the last thread keeping one
/// lets it go.
///
/// # Progress
/// Lock-free, pops and pushes alike, because of the poisoning: no operation
/// waits for another thread to take a step.
///
/// - A **pop** that claims a slot whose pusher has not written it (stalled
///   between its fetch-and-add and its `or`, or not yet arrived) waits
///   128 `pause`s (under `std`; see "A pop that catches up" below), re-reads
///   it at most 32 more times (about 2 µs in all here), then poisons the
///   slot and moves on (a pop whose slot no pusher has claimed yet poisons
///   it without waiting, and reports the queue empty). A stalled pusher
///   therefore holds up nothing but the one pop that meets its slot, for
///   that bounded wait: every later pop goes past. Without the poison a pop would have to wait
///   for the pusher (as crossbeam's `SegQueue` pops do), and a preempted
///   pusher would block every pop behind its slot.
/// - A **push** whose slot was poisoned claims another one. Pops can keep
///   poisoning its slots while the queue looks empty to them, so one push
///   can be overtaken again and again (push is lock-free, not wait-free);
///   each such round is a pop that completed. A batch's compare-and-swap on
///   a group fails only when another thread changed that word (a pusher or
///   a pop of another slot finished), and it retries.
/// - **Segment changes**: anyone who finds `tail` or `head` lagging moves it
///   on with one compare-and-swap; a pusher stalled while linking a segment
///   holds up no one (others link their own segment, the loser keeps its
///   value). Taking a counted reference is a compare-and-swap loop that
///   fails only when another thread changed the count.
/// - A thread stalled while pinned (which here means: while changing
///   segments) delays the freeing of retired segments, never an operation.
///   A thread stalled anywhere keeps at most its own kept segments alive.
/// - Allocation (one segment per `SEGMENT_LEN` pushes) is as non-blocking as
///   the global allocator.
/// - The **back-off** of a push or pop after a lost claim race (under `std`
///   only) is a bounded spin (4096 `pause`s) taken once its value is in the
///   queue (push) or out of it (pop), a pop's followed by a yield of its
///   core, holding no slot and no lock: it delays that thread's return,
///   never another thread's operation. On the paths that pin (a segment
///   change; every call on targets without 64-bit atomics) the spin runs
///   pinned, so it can hold back the freeing of retired segments by that
///   long, as any pinned stall does (above).
///
/// # Memory ordering
/// - A push happens-before the pop that returns its value (the slot's
///   Release `or` or compare-and-swap pairs with the pop's Acquire read of
///   the bit): what the pushing thread did before `push` is visible after
///   `pop` returns.
/// - Pushes from one thread come out in the order they were made, and so do
///   the elements of one `push_many`.
/// - `len` and `is_empty` create no happens-before edge to rely on.
///
/// # `std` and `no_std`
/// With `std`, `push`, `pop`, `push_many` and `pop_many` keep their segments
/// in a thread-local cache and pin crossbeam-epoch's global collector when
/// they change segments (on targets without 64-bit atomics, which the cache's
/// never-reused queue identities need, they pin on every call instead).
/// Without `std`, the queue owns a collector, and threads push and pop
/// through a [`SegmentedQueueHandle`] ([`handle`](SegmentedQueue::handle)),
/// which keeps its own segments and also works under `std`.
///
/// # Speed beside crossbeam's `SegQueue`, and where it falls behind
/// On one thread (push then pop) this queue runs 1.2–1.6× `SegQueue` (two
/// hosts of the same VM). With a pusher and a pop on two cores it ran at
/// 0.5–1.05× `SegQueue`'s rate on a 2-core machine whose cores pass a cache
/// line in about 60 ns (median of four runs 0.75×; as SMT siblings of one
/// core, 7 ns, it measured 1.1×: the report prints which; 0.87–1.14× in
/// three runs on 2026-12-07; 1.57–1.72× since the pop waits when it
/// catches up, below, and 1.76× and 1.86× in two `--publish` runs, at
/// `71a3f4f` and at `a0fd10e`, the README's), and with two or four of each
/// at 0.3–0.5× until both ends backed off after a lost race (since then
/// 1.16× and 0.97× in the run at `71a3f4f`, 0.90× and 0.93× in the one at
/// `a0fd10e`: ratios are medians of per-round ratios, and these rounds
/// spread widely, 35.6–53.7 million elements a second at two and two in the
/// second run against `SegQueue`'s 40.9–52.0), for the reasons below. All
/// were measured on this project's 2-vCPU Xeon VM (`cargo run --release
/// --example contention -- --throughput --filter msqueue/ --threads
/// 1,2,4,8`, ratios of medians taken side by side) and profiled with
/// `perf`.
///
/// - **A pop that catches up.** A pop costs one locked instruction (the
///   claim), a push two (the claim and the `or`), so a lone pop soon catches
///   up with a lone pusher and then reads the lines that pusher is writing:
///   `enq` when it checks for an empty queue and the slot's group when it
///   claims. Each element then crosses between the cores twice, and the
///   pusher's rate drops to a third. A `SegQueue` pop takes two locked
///   instructions, stays behind its pusher and never shares a line with it.
///   Letting the pusher get ahead is the cure: a pop that waits (up to about
///   17 µs) for the pushers to get 56 slots ahead after it caught up
///   ("temporal slipping", FastForward, Giacomoni et al., PPoPP 2008) took
///   the 1p1c ratio from 0.52 to 1.35–1.55× `SegQueue`, but the median time
///   from push to pop (the report's latency section, 1p1c) went from 263 to
///   622 ns: the waiting pop holds elements back. What this queue does
///   instead is shorter and rarer: a pop whose slot is claimed but not yet
///   written (its pusher is between the fetch-and-add and the `or`, so the
///   pop is right behind) waits 128 `pause`s, about 1.3 µs, before it looks
///   again (`CAUGHT_UP_PAUSES` in the source). Meanwhile the pushers get a
///   few groups ahead, and the pops that follow read finished lines. Only
///   the element that was not there yet waits. Two runs of each build
///   alternating (`--filter msqueue/ --threads 1,2,4,8`, 5 rounds): 1p1c
///   from 0.81–1.49× to 1.57–1.72× `SegQueue`, and 1.68–1.73× against
///   0.91–0.99× in the mpmc workload at 2 threads; the 1p1c latency's
///   median from 363–393 to 384–399 ns, its 99th percentile from 1.07–1.09
///   to 1.21–1.23 µs (two runs each).
/// - **Claims handed over on every operation.** With two threads pushing
///   on two cores and none popping (the report's `msqueue/push-only`
///   workload), each push takes `enq`'s line and the group's line from the
///   other core (`perf` put 44% of the time on the fetch-and-add and 44% on
///   the `or`): 12.6 million pushes a second against `SegQueue`'s 56.0
///   (0.23×; on one thread 59 against 74). `SegQueue`'s compare-and-swap
///   fails, backs off and lets the other pusher make a series of pushes
///   with both lines in its cache: its fairness column (the fewest pushes
///   of a thread over the most) reads 0.47 there. Two threads popping a
///   filled queue (`msqueue/pop-only`) lost the same way (0.54×).
///   Fetch-and-add's gain over a compare-and-swap loop grows with the
///   number of cores contending (FAAArrayQueue's and LCRQ's published
///   figures are at 16 and more); this machine has two. The cure is below.
/// - **Both ends back off after a lost race.** A push reads `enq`, and a
///   pop `deq`, just before its fetch-and-add; when the claim returns
///   another index, another thread claimed on the same end in between, and
///   once its own element is in (or out) the thread spins 4096 `pause`s
///   (about 40 µs here), so that the other runs a series of claims on lines
///   it keeps, as `SegQueue`'s backed-off loser lets its winner do. One
///   pusher or one pop alone never loses such a race and never backs off.
///   The figures that follow were measured with 1024 `pause`s; 4096 gained
///   another 40–70% at two and two (`BACK_OFF_PAUSES` in the source gives
///   the comparison), and the latency figures below did not move with it.
///   Pops first (medians of three runs of 5 rounds):
///   pop-only 0.91×, 1.09×, 1.08× `SegQueue` at 2, 4, 8 threads
///   (before: 0.54, 0.55, 0.56×). Then pushes (four runs of
///   each build alternating, ratios to `SegQueue` in the same run):
///   push-only 0.99–1.17× at 2, 4 and 8 threads (before 0.20–0.28×); two
///   pushers and two pops (`msqueue/mpmc`, 4 threads) 34.7–36.2 million
///   elements a second, 0.75–1.10× (before 12.2–17.4, 0.36–0.46×); four and
///   four 0.71–1.06× (before 0.51–0.85×); one and one unchanged or better
///   (1.02–1.2× against 0.91–1.07×, three runs of 9 rounds). The cost is
///   in the report's push-to-pop latency (each producer at most 8 elements
///   ahead): its median went from 335–357 to 563–566 ns with one producer
///   and one consumer (three runs of each build), where the back-off never
///   fires (counted), and from 290–304 to 501–593 ns at two and two, while
///   the 99th percentile stayed at 2.6–3.4 µs. The load before the claim
///   moves the 1p1c balance described above towards the pusher running
///   ahead: more elements in flight, each waiting longer, and 30–40% more
///   of them handed over per second (3.1–3.4 million against 2.4–2.6).
///   A push back-off tried earlier, taken when the group word showed the
///   slot before the push's own still unwritten, cut the 1p1c rate to
///   0.42–0.47× without ever firing there (at 1p1c the queue settles either
///   with the pusher ahead, fast, or with the pop caught up, slow, above,
///   and a nanosecond more per push tipped it); the test on the claim's
///   result did not.
/// - **A pop that lost also yields its core** after its spin
///   (`std::thread::yield_now`; a push does not). Two pops race only while
///   both run; with more threads than cores that means the pushers are
///   waiting for a core, and the loser hands its core on after its spin,
///   where without the yield it kept it until the scheduler's tick. With no
///   other thread waiting for the core the yield returns at once. Two runs
///   of 5 rounds of each build alternating (`--throughput --filter msqueue/
///   --threads 1,2,4,8`), million elements a second: two pushers and two
///   pops 43.9–47.0 before, 81.4–82.8 after (1.19–1.32× `SegQueue` to
///   1.67–1.98×), four and four 60.1–65.7 and 74.6–78.7 (1.16–1.32× to
///   1.30–1.36×); pop-only, push-only, one pusher with one pop, and one
///   thread unchanged within their spread (pop-only 57.4–62.3
///   against 52.9–53.2 at 4 threads, 57.9–60.3 against 57.3–57.8 at 8); the
///   push-to-pop latency at two and two unchanged (p50 564–612 ns against
///   564–644, p99 2.06–2.08 µs against 2.06–2.16). Pushes yielding too gave
///   63.7–65.0 at two and two and 59.6–64.6 at four and four, beside
///   84.7–85.7 and 76.6–81.5 with pops alone yielding (two runs each), so
///   a push keeps to the spin.
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
    /// (once per segment) and threads changing segments read it (128 B on
    /// x86-64 and aarch64, 32 B on Cortex-M: crossbeam-utils' `CachePadded`).
    head: CachePadded<Atomic<Segment<T>>>,
    /// The last segment or the one before it; pushes claim its slots.
    /// Padded like `head`.
    tail: CachePadded<Atomic<Segment<T>>>,
    /// This queue's key in the thread caches: never reused in the process
    /// (64 bits), so a cache entry of a dropped queue never matches another.
    #[cfg(all(
        feature = "std",
        any(target_has_atomic = "64", feature = "portable-atomic")
    ))]
    id: u64,
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
// pointers are dereferenced only pinned or through a counted reference (see
// ABA and Reclamation), and the collector (without `std`) is `Send + Sync`.
unsafe impl<T: Send> Send for SegmentedQueue<T> {}
// SAFETY: as for `Send`: through `&SegmentedQueue`, threads only move `T`s in
// and out, each value by exactly one thread.
unsafe impl<T: Send> Sync for SegmentedQueue<T> {}

/// Which of a thread's two kept segments (the thread cache's; a handle
/// keeps its own pair).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The segment its pushes go to.
    Push,
    /// The segment its pops read.
    Pop,
}

/// How a run of pops in one segment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunEnd {
    /// Took as many as asked.
    Full,
    /// The queue was empty.
    Empty,
    /// Every slot of the segment has been claimed: go on to the next.
    Drained,
}

impl<T> Segment<T> {
    /// Pops up to `max` values from this segment into `out`, a run of slots
    /// per fetch-and-add; returns how many and why it stopped.
    ///
    /// # Safety
    /// As for [`pop_here`](Self::pop_here).
    unsafe fn pop_runs(&self, out: &mut Vec<T>, max: usize) -> (usize, RunEnd) {
        let mut taken = 0;
        while taken < max {
            // Acquire: as in `pop_here`.
            let claimed = self.deq.load(Acquire);
            if claimed >= SEGMENT {
                return (taken, RunEnd::Drained);
            }
            // Relaxed: as in `pop_here`.
            let published = self.enq.load(Relaxed).min(SEGMENT);
            if claimed >= published {
                return (taken, RunEnd::Empty);
            }
            // Claim no more than pushers had claimed when we looked, so that
            // a batch does not poison slots ahead of the pushers.
            let run = (max - taken).min(published - claimed);
            // Before claiming: a capacity panic must not lose elements.
            out.reserve(run);
            // Relaxed: as in `pop_here`.
            let first = self.deq.fetch_add(run, Relaxed);
            if first >= SEGMENT {
                return (taken, RunEnd::Drained);
            }
            let end = (first + run).min(SEGMENT);
            let mut index = first;
            while index < end {
                let group_start = index / GROUP * GROUP;
                let group = &self.groups[index / GROUP];
                let to = end.min(group_start + GROUP) - group_start;
                // Acquire: as in `take`; one load for the group's values.
                let word = group.done.load(Acquire);
                for offset in index - group_start..to {
                    let value = if word & (1 << offset) != 0 {
                        // SAFETY: our claimed slot, its bit seen with Acquire
                        // and set by its pusher (only we could poison it): as
                        // in `take`.
                        Some(
                            group.values[offset].with(|cell| unsafe { (*cell).assume_init_read() }),
                        )
                    } else {
                        // SAFETY: our claimed slot; alive as the caller says.
                        unsafe { self.take(group_start + offset) }
                    };
                    if let Some(value) = value {
                        out.push(value);
                        taken += 1;
                    }
                }
                index = group_start + to;
            }
        }
        (taken, RunEnd::Full)
    }
}

impl<T> SegmentedQueue<T> {
    /// Slots per segment: pushes allocate one segment per this many
    /// elements, and an empty queue holds one segment.
    ///
    /// 1029 on ordinary targets (1024 rounded up to whole groups of seven
    /// slots: 9.6 KiB for `u64`); smaller under loom and Miri so that their
    /// runs cross segment boundaries.
    ///
    /// Chosen by measurement: median Mops/s over 5 rounds of 100 ms, and the
    /// median of the per-round ratios to crossbeam's `SegQueue` run beside
    /// it, on a 2-core Xeon VM shared with other builds (another 1.5–2 cores
    /// of load during these runs, so the spread between rounds is wide;
    /// compare the ratios, and only differences well above 0.2):
    ///
    /// | slots | pairs (1 thread) | spsc 1p1c    | mpmc 1p1c    | mpmc 2p2c    | mpmc 4p4c    |
    /// |-------|------------------|--------------|--------------|--------------|--------------|
    /// | 70    | 13.7 (1.11×)     | 9.39 (0.95×) | 10.2 (0.83×) | 9.82 (0.65×) | 10.1 (0.70×) |
    /// | 259   | 16.9 (1.24×)     | 10.1 (1.26×) | 9.38 (0.79×) | 10.5 (0.57×) | 14.0 (0.64×) |
    /// | 1029  | 25.2 (1.45×)     | 15.2 (1.16×) | 13.5 (0.97×) | 18.0 (0.86×) | 16.5 (0.64×) |
    /// | 4102  | 27.1 (1.24×)     | 12.0 (0.60×) | 18.0 (0.96×) | 17.0 (0.58×) | 20.4 (0.84×) |
    ///
    /// 1029 is the best in three columns and within the noise (0.2 or less)
    /// of the best in the other two.
    /// Smaller segments change segments (a pin, two counted references, an
    /// allocation) more often; larger ones cost more memory per thread that
    /// keeps one (see "Segments kept by each thread") without a measurable
    /// gain. To repeat, for each size `n` (slots, rounded up to whole
    /// groups): `FREELANE_SEGMENT_LEN=n cargo run --release --example
    /// contention -- --throughput --filter msqueue/pairs/Seg --filter
    /// msqueue/spsc/Seg --filter msqueue/mpmc/Seg --threads 1,2,4,8 --rounds
    /// 5 --duration-ms 100`.
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
        // One reference: the list's.
        let first = Segment::<T>::new(0, 1).into_shared(
            // SAFETY: nothing is dereferenced through this guard; the
            // segment is not shared yet.
            unsafe { crossbeam_epoch::unprotected() },
        );
        Self {
            head: CachePadded::new(Atomic::from(first)),
            tail: CachePadded::new(Atomic::from(first)),
            #[cfg(all(
                feature = "std",
                any(target_has_atomic = "64", feature = "portable-atomic")
            ))]
            id: thread_cache::next_queue_id(),
            #[cfg(not(feature = "std"))]
            collector: crossbeam_epoch::Collector::new(),
            _owns: PhantomData,
        }
    }

    /// Adds `value` at the back of the queue. Never blocks and never fails
    /// (one push in [`SEGMENT_LEN`](Self::SEGMENT_LEN) allocates a segment).
    ///
    /// Keeps the thread's current segment in a thread-local, so it needs
    /// `std`; without it, push through a [`handle`](Self::handle).
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
        let kept = self.kept(Side::Push);
        let value = if kept.is_null() {
            value
        } else {
            // SAFETY: a kept segment holds one of our counted references.
            match unsafe { (*kept).push_here(value) } {
                Ok(()) => return,
                Err(back) => back,
            }
        };
        self.push_slow(value);
    }

    /// `push` when the kept segment is full (or there is none): pinned.
    #[cfg(feature = "std")]
    #[cold]
    fn push_slow(&self, value: T) {
        let guard = crossbeam_epoch::pin();
        let landed = self.push_pinned(value, &guard);
        self.keep(Side::Push, landed, &guard);
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
        if let Some(kept) = self.kept_pop() {
            // SAFETY: a kept segment holds one of our counted references, and
            // was read from `head` (see "Segments kept by each thread").
            match unsafe { (*kept.segment).pop_here(kept.checked) } {
                Popped::Value(value) => {
                    if kept.checked {
                        self.set_checked(kept.entry, false);
                    }
                    return Some(value);
                }
                Popped::Empty => {
                    if !kept.checked {
                        self.set_checked(kept.entry, true);
                    }
                    return None;
                }
                Popped::Drained => {}
            }
        }
        self.pop_slow()
    }

    /// `pop` when the kept segment is drained (or there is none): pinned.
    #[cfg(feature = "std")]
    #[cold]
    fn pop_slow(&self) -> Option<T> {
        let guard = crossbeam_epoch::pin();
        let (popped, head) = self.pop_pinned(&guard);
        self.keep(Side::Pop, head, &guard);
        popped
    }

    /// Pushes every element of `items`, front first, and leaves `items`
    /// empty (its capacity is kept). Each element is its own push, in order;
    /// runs of slots are claimed with one fetch-and-add each and published a
    /// group of seven at a time.
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
        let mut pending = Pending::new(items);
        let kept = self.kept(Side::Push);
        // SAFETY: a kept segment holds one of our counted references.
        if pending.is_empty() || (!kept.is_null() && unsafe { (*kept).push_runs(&mut pending) }) {
            return;
        }
        let guard = crossbeam_epoch::pin();
        let landed = self.push_many_pinned(&mut pending, &guard);
        self.keep(Side::Push, landed, &guard);
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
        let mut taken = 0;
        let kept = self.kept(Side::Pop);
        if !kept.is_null() {
            // SAFETY: as in `pop`.
            let (count, end) = unsafe { (*kept).pop_runs(out, max) };
            taken = count;
            if end != RunEnd::Drained {
                return taken;
            }
        }
        if max == 0 {
            return 0;
        }
        let guard = crossbeam_epoch::pin();
        let (count, head) = self.pop_many_pinned(out, max - taken, &guard);
        self.keep(Side::Pop, head, &guard);
        taken + count
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
    /// make one handle per thread and keep it. The handle keeps its own
    /// current segments (see "Segments kept by each thread"), and is neither
    /// `Send` nor `Sync`.
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
            push_segment: Cell::new(ptr::null()),
            pop_segment: Cell::new(ptr::null()),
            pop_checked: Cell::new(true),
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

    /// The calling thread's kept segment for this queue on `side`, or null.
    #[cfg(all(
        feature = "std",
        any(target_has_atomic = "64", feature = "portable-atomic")
    ))]
    #[inline(always)]
    fn kept(&self, side: Side) -> Counted<T> {
        thread_cache::kept(self.id, side)
    }

    /// The calling thread's kept pop segment for this queue, if any.
    #[cfg(all(
        feature = "std",
        any(target_has_atomic = "64", feature = "portable-atomic")
    ))]
    #[inline(always)]
    fn kept_pop(&self) -> Option<KeptPop<T>> {
        thread_cache::kept_pop(self.id)
    }

    /// Sets whether the thread's next pop in its kept segment (cache entry
    /// `entry`) checks for an empty queue before claiming.
    #[cfg(all(
        feature = "std",
        any(target_has_atomic = "64", feature = "portable-atomic")
    ))]
    #[inline(always)]
    fn set_checked(&self, entry: usize, checked: bool) {
        thread_cache::set_checked(entry, checked);
    }

    /// Makes `segment` the calling thread's kept segment on `side` (if it
    /// can still be counted), giving up the one it replaces.
    #[cfg(all(
        feature = "std",
        any(target_has_atomic = "64", feature = "portable-atomic")
    ))]
    fn keep(&self, side: Side, segment: Shared<'_, Segment<T>>, guard: &Guard) {
        thread_cache::keep(self.id, side, segment, guard);
    }

    /// Without 64-bit atomics there are no never-reused queue identities
    /// for a thread cache: nothing is kept, and every call pins.
    #[cfg(all(
        feature = "std",
        not(any(target_has_atomic = "64", feature = "portable-atomic"))
    ))]
    #[inline(always)]
    fn kept(&self, _side: Side) -> Counted<T> {
        ptr::null()
    }

    /// See the other `kept`: nothing kept here.
    #[cfg(all(
        feature = "std",
        not(any(target_has_atomic = "64", feature = "portable-atomic"))
    ))]
    #[inline(always)]
    fn kept_pop(&self) -> Option<KeptPop<T>> {
        None
    }

    /// Unreachable: nothing is kept here.
    #[cfg(all(
        feature = "std",
        not(any(target_has_atomic = "64", feature = "portable-atomic"))
    ))]
    fn set_checked(&self, _entry: usize, _checked: bool) {}

    /// See the other `keep`: nothing to keep here.
    #[cfg(all(
        feature = "std",
        not(any(target_has_atomic = "64", feature = "portable-atomic"))
    ))]
    fn keep(&self, _side: Side, _segment: Shared<'_, Segment<T>>, _guard: &Guard) {}

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

    /// Moves `head` from the drained `segment` to `next` and gives up the
    /// segment's list reference.
    #[cold]
    fn advance_head(
        &self,
        segment: Shared<'_, Segment<T>>,
        next: Shared<'_, Segment<T>>,
        guard: &Guard,
    ) {
        // `tail` first, so that it never points at a segment without its
        // list reference. Acquire: the segment `tail` names is compared, not
        // read; but the CAS below passes `next` on, which we acquired.
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
            // SAFETY: the list's reference, given up once, by the one
            // successful CAS; `head` and `tail` are past the segment, so no
            // new thread can reach it.
            unsafe { release_ref(segment.as_raw(), guard) };
        }
    }

    /// The pinned push: into `tail`'s segment, moving on as needed; returns
    /// the segment it landed in. `guard` must be pinned on this queue's
    /// collector.
    fn push_pinned<'g>(&self, mut value: T, guard: &'g Guard) -> Shared<'g, Segment<T>> {
        // A segment made for a lost linking race, kept for the next try.
        let mut spare: Option<Owned<Segment<T>>> = None;
        loop {
            // Acquire: pairs with the Release CASes of `tail`; makes the
            // segment's initial contents visible.
            let tail = self.tail.load(Acquire, guard);
            // SAFETY: `tail` is never null and always holds the list's
            // reference (see Reclamation); we are pinned, so it lives while
            // we use it.
            match unsafe { tail.deref().push_here(value) } {
                Ok(()) => return tail,
                Err(back) => value = back,
            }
            match self.append(tail, value, &mut spare, guard) {
                Ok(linked) => return linked,
                Err(back) => value = back,
            }
        }
    }

    /// The slow path of a push into the full segment `tail`: move `tail`
    /// on, or link a new segment holding `value` (returned). Gives `value`
    /// back if it was not pushed (the caller retries).
    #[cold]
    fn append<'g>(
        &self,
        tail: Shared<'g, Segment<T>>,
        value: T,
        spare: &mut Option<Owned<Segment<T>>>,
        guard: &'g Guard,
    ) -> Result<Shared<'g, Segment<T>>, T> {
        // SAFETY: as in `push_pinned`, the caller holds `tail` pinned.
        let segment = unsafe { tail.deref() };
        // Acquire: pairs with the Release CAS that linked it; the new
        // segment's contents (first value included) are read through it.
        let next = segment.link.next.load(Acquire, guard);
        if !next.is_null() {
            self.help_tail(tail, next, guard);
            return Err(value);
        }
        let base = segment.link.base.wrapping_add(SEGMENT);
        // One reference: the list's, once linked.
        let mut new = spare.take().unwrap_or_else(|| Segment::new(base, 1));
        new.link.base = base;
        new.put_first(value);
        // Release: pairs with the Acquire loads of `next`; publishes the new
        // segment and its first value. Linearization point of this push.
        // Acquire on failure: we pass the winner's segment on to `tail`.
        match segment
            .link
            .next
            .compare_exchange(Shared::null(), new, Release, Acquire, guard)
        {
            Ok(linked) => {
                self.help_tail(tail, linked, guard);
                Ok(linked)
            }
            Err(mut lost) => {
                let value = lost.new.take_first();
                *spare = Some(lost.new);
                self.help_tail(tail, lost.current, guard);
                Err(value)
            }
        }
    }

    /// `push_many` pinned on this queue's collector, for what `pending`
    /// still holds; returns the segment it ended in.
    fn push_many_pinned<'g>(
        &self,
        pending: &mut Pending<'_, T>,
        guard: &'g Guard,
    ) -> Shared<'g, Segment<T>> {
        let mut spare: Option<Owned<Segment<T>>> = None;
        loop {
            // Acquire: as in `push_pinned`.
            let tail = self.tail.load(Acquire, guard);
            // SAFETY: as in `push_pinned`.
            if unsafe { tail.deref().push_runs(pending) } {
                return tail;
            }
            let Some(value) = pending.take() else {
                return tail;
            };
            match self.append(tail, value, &mut spare, guard) {
                Ok(linked) if pending.is_empty() => return linked,
                Ok(_) => {}
                // SAFETY: the value just taken goes back to its position.
                Err(back) => unsafe { pending.put_back(back) },
            }
        }
    }

    /// The pinned pop: from `head`'s segment, moving `head` on as needed;
    /// returns the value (or `None`) and the head segment it ended in.
    fn pop_pinned<'g>(&self, guard: &'g Guard) -> (Option<T>, Shared<'g, Segment<T>>) {
        loop {
            // Acquire: pairs with the Release CASes of `head`.
            let head = self.head.load(Acquire, guard);
            // SAFETY: `head` is never null and holds the list's reference
            // until it moves on; a segment retired after we pinned is not
            // freed while `guard` lives; we read it from `head`.
            let segment = unsafe { head.deref() };
            // SAFETY: as above.
            match unsafe { segment.pop_here(true) } {
                Popped::Value(value) => return (Some(value), head),
                Popped::Empty => return (None, head),
                Popped::Drained => {}
            }
            // Drained. Acquire: pairs with the Release CAS linking `next`.
            let next = segment.link.next.load(Acquire, guard);
            if next.is_null() {
                return (None, head);
            }
            self.advance_head(head, next, guard);
        }
    }

    /// `pop_many` pinned on this queue's collector; returns how many it took
    /// and the head segment it ended in.
    fn pop_many_pinned<'g>(
        &self,
        out: &mut Vec<T>,
        max: usize,
        guard: &'g Guard,
    ) -> (usize, Shared<'g, Segment<T>>) {
        let mut taken = 0;
        loop {
            // Acquire: as in `pop_pinned`.
            let head = self.head.load(Acquire, guard);
            // SAFETY: as in `pop_pinned`.
            let segment = unsafe { head.deref() };
            // SAFETY: as in `pop_pinned`.
            let (count, end) = unsafe { segment.pop_runs(out, max - taken) };
            taken += count;
            if end != RunEnd::Drained {
                return (taken, head);
            }
            // Acquire: as in `pop_pinned`.
            let next = segment.link.next.load(Acquire, guard);
            if next.is_null() {
                return (taken, head);
            }
            self.advance_head(head, next, guard);
        }
    }

    /// `is_empty` pinned on this queue's collector: `pop`'s empty check,
    /// without claiming.
    fn is_empty_pinned(&self, guard: &Guard) -> bool {
        // Acquire: as in `pop_pinned`.
        let mut current = self.head.load(Acquire, guard);
        loop {
            // SAFETY: as in `pop_pinned`; segments after `head` keep their
            // list reference until `head` passes them, which waits for our
            // guard to free them.
            let segment = unsafe { current.deref() };
            // Acquire: as in `pop_here`.
            let claimed = segment.deq.load(Acquire);
            if claimed < SEGMENT {
                // Relaxed: as in `pop_here`.
                return claimed >= segment.enq.load(Relaxed);
            }
            // Acquire: as in `pop_pinned`.
            current = segment.link.next.load(Acquire, guard);
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
        let front = head
            .link
            .base
            .wrapping_add(head.deq.load(Relaxed).min(SEGMENT));
        // Acquire: as in `push_pinned`.
        let tail = self.tail.load(Acquire, guard);
        // SAFETY: as in `push_pinned`.
        let tail = unsafe { tail.deref() };
        // Relaxed: as above.
        let back = tail
            .link
            .base
            .wrapping_add(tail.enq.load(Relaxed).min(SEGMENT));
        // Wrapping difference, read as signed: `front` may pass `back` when
        // pops claimed slots past the pushes (they poison them), and the
        // queue then holds nothing in that segment.
        let len = back.wrapping_sub(front);
        if len > usize::MAX / 2 { 0 } else { len }
    }
}

/// The values of a `push_many` not yet in the queue: the caller's `Vec`
/// buffer, taken from the front.
///
/// The `Vec`'s length is set to zero first, so it owns no element while the
/// values are moved out one by one; a value the queue cannot place yet (a
/// lost linking race, a slot poisoned after it was written) is put back
/// where it came from, in front of the rest, so the order is kept. Whatever
/// is left when this is dropped (only on a panic) is dropped here.
struct Pending<'a, T> {
    /// The buffer of the borrowed `Vec`.
    base: *mut T,
    /// The first value still here.
    next: usize,
    /// One past the last value.
    end: usize,
    /// Borrows the `Vec` for as long as its buffer is used.
    _items: PhantomData<&'a mut Vec<T>>,
}

impl<'a, T> Pending<'a, T> {
    /// Takes over the elements of `items`, leaving it empty (capacity kept).
    fn new(items: &'a mut Vec<T>) -> Self {
        let end = items.len();
        // SAFETY: the elements are now owned by `Pending` (it moves each out
        // once, or drops it); the `Vec` keeps only its buffer.
        unsafe { items.set_len(0) };
        Self {
            base: items.as_mut_ptr(),
            next: 0,
            end,
            _items: PhantomData,
        }
    }

    /// How many values are still here.
    #[inline]
    fn len(&self) -> usize {
        self.end - self.next
    }

    /// Whether all values have been taken.
    #[inline]
    fn is_empty(&self) -> bool {
        self.next == self.end
    }

    /// Moves the front value out.
    #[inline]
    fn take(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        // SAFETY: `next < end`: an initialized element of the buffer, not
        // moved out yet; `next` moves past it, so it is read once.
        let value = unsafe { self.base.add(self.next).read() };
        self.next += 1;
        Some(value)
    }

    /// Puts `value` back in front of the rest.
    ///
    /// # Safety
    /// A value was taken and not yet put back at the position before `next`
    /// (values go back in the reverse order they were taken).
    #[inline]
    unsafe fn put_back(&mut self, value: T) {
        debug_assert!(self.next > 0);
        self.next -= 1;
        // SAFETY: position `next` was read out by `take` (the caller's
        // contract), so it is vacant: the write overwrites nothing live.
        unsafe { self.base.add(self.next).write(value) };
    }
}

impl<T> Drop for Pending<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `next..end` are the values still owned here, each dropped
        // once; the `Vec`'s length is zero, so it will not drop them again.
        unsafe {
            ptr::slice_from_raw_parts_mut(self.base.add(self.next), self.len()).drop_in_place();
        }
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
        // SAFETY: `&mut self`: no operation on this queue is running, so no
        // thread is reading a segment pinned; segments kept by threads are
        // only counted, not read, until those threads' next operation on
        // this queue, which cannot come. No guard is needed.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        // Relaxed here and below: `&mut self` means every other thread's
        // operations happen-before this call (the queue was moved here or its
        // sharing scope ended).
        let mut current = self.head.load(Relaxed, guard);
        while !current.is_null() {
            // SAFETY: a linked segment holds the list's reference, which we
            // give up below, once.
            let segment = unsafe { current.deref() };
            // With no operation running, every slot below `deq` was claimed
            // by a pop that took or poisoned it, and every slot from `deq` to
            // `enq` holds a value (a claimed push slot is written unless
            // poisoned, and poisoning needs a pop's claim). Only the head
            // segment has a non-zero `deq`.
            let start = segment.deq.load(Relaxed).min(SEGMENT);
            let end = segment.enq.load(Relaxed).min(SEGMENT);
            for index in start..end {
                let slot = segment.slot(index);
                // Relaxed: as above.
                if slot.done.load(Relaxed) & slot.bit != 0 {
                    // SAFETY: written by its pusher and unclaimed by any pop:
                    // the value is in the cell and nobody else will take it;
                    // dropped once.
                    slot.cell
                        .with_mut(|cell| unsafe { (*cell).assume_init_drop() });
                }
            }
            let next = segment.link.next.load(Relaxed, guard);
            // AcqRel: as in `release_ref`.
            if segment.link.refs.fetch_sub(1, AcqRel) == 1 {
                // SAFETY: the last reference: no thread keeps the segment, and
                // none can reach it (`&mut self`); made by `Segment::new`,
                // freed once, and emptied of values above.
                unsafe { free_segment(current.as_raw().cast_mut()) };
            }
            // Otherwise a thread keeps it; its memory goes when that thread
            // lets it go (`release_ref`).
            current = next;
        }
    }
}

/// A thread's registered epoch participant for one [`SegmentedQueue`],
/// through which it pushes and pops: the way to use the queue without
/// `std`.
///
/// Made by [`SegmentedQueue::handle`]. It keeps its own current segments
/// (see the queue's "Segments kept by each thread") and pins its own
/// participant when it changes segments, so it works where there are no
/// thread-locals. Create one per thread and keep it: registering allocates.
/// Dropping it lets its segments go. The handle is neither `Send` nor
/// `Sync`; the queue's memory ordering contract holds through handles.
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
    /// The segment this handle pushes into: null, or one counted reference.
    push_segment: Cell<Counted<T>>,
    /// The segment this handle pops from: null, or one counted reference.
    pop_segment: Cell<Counted<T>>,
    /// Whether its next pop there checks for an empty queue before claiming
    /// (see `Segment::pop_here`): after an empty result, until a value.
    pop_checked: Cell<bool>,
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
        let kept = self.push_segment.get();
        let value = if kept.is_null() {
            value
        } else {
            // SAFETY: a kept segment holds one of our counted references.
            match unsafe { (*kept).push_here(value) } {
                Ok(()) => return,
                Err(back) => back,
            }
        };
        let guard = self.local.pin();
        let landed = self.queue.push_pinned(value, &guard);
        keep_in(&self.push_segment, landed, &guard);
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
        let kept = self.pop_segment.get();
        if !kept.is_null() {
            let checked = self.pop_checked.get();
            // SAFETY: a kept segment holds one of our counted references, and
            // was read from `head`.
            match unsafe { (*kept).pop_here(checked) } {
                Popped::Value(value) => {
                    self.pop_checked.set(false);
                    return Some(value);
                }
                Popped::Empty => {
                    self.pop_checked.set(true);
                    return None;
                }
                Popped::Drained => {}
            }
        }
        let guard = self.local.pin();
        let (popped, head) = self.queue.pop_pinned(&guard);
        keep_in(&self.pop_segment, head, &guard);
        popped
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
        let mut pending = Pending::new(items);
        let kept = self.push_segment.get();
        // SAFETY: a kept segment holds one of our counted references.
        if pending.is_empty() || (!kept.is_null() && unsafe { (*kept).push_runs(&mut pending) }) {
            return;
        }
        let guard = self.local.pin();
        let landed = self.queue.push_many_pinned(&mut pending, &guard);
        keep_in(&self.push_segment, landed, &guard);
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
        let mut taken = 0;
        let kept = self.pop_segment.get();
        if !kept.is_null() {
            // SAFETY: as in `pop`.
            let (count, end) = unsafe { (*kept).pop_runs(out, max) };
            taken = count;
            if end != RunEnd::Drained {
                return taken;
            }
        }
        if max == 0 {
            return 0;
        }
        let guard = self.local.pin();
        let (count, head) = self.queue.pop_many_pinned(out, max - taken, &guard);
        keep_in(&self.pop_segment, head, &guard);
        taken + count
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

/// Makes `segment` the one `slot` keeps, if it can still be counted (else
/// `slot` keeps nothing), and gives up the one it kept before.
fn keep_in<T>(slot: &Cell<Counted<T>>, segment: Shared<'_, Segment<T>>, guard: &Guard) {
    // SAFETY: `segment` was loaded from the queue under `guard`.
    let counted = unsafe { acquire_ref(segment.deref(), guard) };
    let new = if counted {
        segment.as_raw()
    } else {
        ptr::null()
    };
    let old = slot.replace(new);
    if !old.is_null() {
        // SAFETY: `slot` owned one count of `old`, now given up.
        unsafe { release_ref(old, guard) };
    }
}

impl<T> Drop for SegmentedQueueHandle<'_, T> {
    fn drop(&mut self) {
        let guard = self.local.pin();
        for slot in [&self.push_segment, &self.pop_segment] {
            let kept = slot.replace(ptr::null());
            if !kept.is_null() {
                // SAFETY: the handle owned one count of `kept`.
                unsafe { release_ref(kept, &guard) };
            }
        }
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

/// The per-thread cache of kept segments behind `SegmentedQueue::push`,
/// `pop`, `push_many` and `pop_many` (see "Segments kept by each thread").
///
/// One small table per thread: for each of up to `ENTRIES` queues (by
/// their never-reused 64-bit identity), the counted segment its pushes go to
/// and the one its pops read, and the function that gives a count back (the
/// table holds segments of any `T`). Every access is a `Cell` read or write
/// with no borrow held across a call, so a crossbeam-epoch deferred function
/// that runs during a pin and uses a queue on this thread finds the table in
/// a consistent state. The thread's exit gives its counts back.
#[cfg(all(
    feature = "std",
    any(target_has_atomic = "64", feature = "portable-atomic")
))]
mod thread_cache {
    use core::cell::Cell;
    use core::ptr;

    #[cfg(not(freelane_loom))]
    use crossbeam_epoch::LocalHandle;
    use crossbeam_epoch::{Guard, Shared};

    use super::{Counted, KeptPop, Segment, Side, acquire_ref, release_ref};
    use crate::sync::atomic::AtomicU64;
    use crate::sync::atomic::Ordering::Relaxed;

    /// Queues a thread keeps segments for at once: a thread that pops from
    /// one queue and pushes to another, or works on a few, stays on the fast
    /// path; one that cycles through more takes the pinned path on each
    /// change.
    const ENTRIES: usize = 4;

    /// The next queue identity. Starts at 1: 0 marks a free cache entry.
    /// 64 bits never wrap (a new queue every nanosecond for 500 years), so
    /// an identity is never reused and a cache entry of a dropped queue never
    /// matches a new one.
    #[cfg(not(freelane_loom))]
    static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);
    #[cfg(freelane_loom)]
    crate::sync::lazy_static! {
        static ref NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);
    }

    /// A fresh queue identity.
    pub(super) fn next_queue_id() -> u64 {
        // Relaxed: only uniqueness is needed, which the RMW gives.
        NEXT_QUEUE_ID.fetch_add(1, Relaxed)
    }

    /// Gives back one count of a segment of some `T`.
    type Release = unsafe fn(*const (), &Guard);

    /// `release_ref` for segments of `T`, behind a type-erased pointer.
    ///
    /// # Safety
    /// As for `release_ref`; `segment` points to a `Segment<T>`.
    unsafe fn release_erased<T>(segment: *const (), guard: &Guard) {
        // SAFETY: the caller's contract.
        unsafe { release_ref::<T>(segment.cast(), guard) };
    }

    /// Does nothing: the release function of a free entry.
    ///
    /// # Safety
    /// None; `unsafe` only to have the `Release` type.
    unsafe fn release_nothing(_segment: *const (), _guard: &Guard) {}

    /// One thread's table.
    struct Cache {
        /// Queue identity per entry, 0 when free.
        ids: [Cell<u64>; ENTRIES],
        /// The kept push segment per entry: null or one counted reference.
        push: [Cell<*const ()>; ENTRIES],
        /// The kept pop segment per entry: null or one counted reference.
        pop: [Cell<*const ()>; ENTRIES],
        /// How to give back the counts of each entry's segments.
        release: [Cell<Release>; ENTRIES],
        /// Whether the entry's next pop checks for an empty queue before
        /// claiming (see `Segment::pop_here`).
        checked: [Cell<bool>; ENTRIES],
        /// The entry a new queue takes next when none is free.
        victim: Cell<usize>,
        /// A participant of the default collector, registered with the
        /// table, for giving back the counts when the thread exits: by then
        /// crossbeam-epoch's own thread-local participant may be gone
        /// already. Not under loom (see `Drop`).
        #[cfg(not(freelane_loom))]
        local: LocalHandle,
    }

    impl Cache {
        fn new() -> Self {
            Self {
                ids: [const { Cell::new(0) }; ENTRIES],
                push: [const { Cell::new(ptr::null()) }; ENTRIES],
                pop: [const { Cell::new(ptr::null()) }; ENTRIES],
                release: [const { Cell::new(release_nothing as Release) }; ENTRIES],
                checked: [const { Cell::new(true) }; ENTRIES],
                victim: Cell::new(0),
                #[cfg(not(freelane_loom))]
                local: crossbeam_epoch::default_collector().register(),
            }
        }

        /// The kept segments of `side`.
        fn side(&self, side: Side) -> &[Cell<*const ()>; ENTRIES] {
            match side {
                Side::Push => &self.push,
                Side::Pop => &self.pop,
            }
        }
    }

    /// Gives the counts back: a thread's kept segments are let go when it
    /// exits.
    ///
    /// Not under loom, where the table's counts are left as they are: loom
    /// drops a thread's locals in hash-map order, so two locals whose
    /// destructors touch modelled atomics (this table and crossbeam-epoch's
    /// own participant) make an execution nondeterministic, which loom
    /// rejects. The models cover giving counts back through `keep` and the
    /// handle's drop; what is left is memory of the model's own run.
    #[cfg(not(freelane_loom))]
    impl Drop for Cache {
        fn drop(&mut self) {
            let guard = self.local.pin();
            for entry in 0..ENTRIES {
                let release = self.release[entry].get();
                for kept in [self.push[entry].take(), self.pop[entry].take()] {
                    if !kept.is_null() {
                        // SAFETY: the entry owned one count of `kept`, a
                        // segment of the type `release` was made for.
                        unsafe { release(kept, &guard) };
                    }
                }
            }
        }
    }

    crate::sync::thread_local! {
        static CACHE: Cache = Cache::new();
    }

    /// The calling thread's kept segment of queue `id` on `side`, or null
    /// (none yet, or the thread's table is gone: its exit has begun).
    #[inline(always)]
    pub(super) fn kept<T>(id: u64, side: Side) -> Counted<T> {
        CACHE
            .try_with(|cache| {
                for entry in 0..ENTRIES {
                    if cache.ids[entry].get() == id {
                        return cache.side(side)[entry].get();
                    }
                }
                ptr::null()
            })
            .unwrap_or(ptr::null())
            .cast()
    }

    /// The calling thread's kept pop segment of queue `id`, with its cache
    /// entry and check mode, if there is one.
    #[inline(always)]
    pub(super) fn kept_pop<T>(id: u64) -> Option<KeptPop<T>> {
        CACHE
            .try_with(|cache| {
                let entry = (0..ENTRIES).find(|&entry| cache.ids[entry].get() == id)?;
                let segment = cache.pop[entry].get();
                (!segment.is_null()).then(|| KeptPop {
                    segment: segment.cast(),
                    entry,
                    checked: cache.checked[entry].get(),
                })
            })
            .ok()
            .flatten()
    }

    /// Sets entry `entry`'s pop check mode (the entry `kept_pop` just
    /// returned: nothing ran on this thread since).
    #[inline(always)]
    pub(super) fn set_checked(entry: usize, checked: bool) {
        let _ = CACHE.try_with(|cache| cache.checked[entry].set(checked));
    }

    /// Makes `segment` the calling thread's kept segment of queue `id` on
    /// `side`, if it can still be counted; gives up what that replaces (and
    /// an evicted entry's segments). `segment` was loaded under `guard`.
    pub(super) fn keep<T>(id: u64, side: Side, segment: Shared<'_, Segment<T>>, guard: &Guard) {
        // SAFETY: `segment` was loaded from the queue under `guard`.
        let counted = unsafe { acquire_ref(segment.deref(), guard) };
        let new: *const () = if counted {
            segment.as_raw().cast()
        } else {
            ptr::null()
        };
        // Counts to give back once the table is consistent again.
        let mut give_back: [(*const (), Release); 3] = [(ptr::null(), release_nothing); 3];
        let stored = CACHE.try_with(|cache| {
            let entry = match (0..ENTRIES).find(|&entry| cache.ids[entry].get() == id) {
                Some(entry) => entry,
                None => {
                    let entry = (0..ENTRIES)
                        .find(|&entry| cache.ids[entry].get() == 0)
                        .unwrap_or_else(|| {
                            let victim = cache.victim.get();
                            cache.victim.set((victim + 1) % ENTRIES);
                            victim
                        });
                    let release = cache.release[entry].replace(release_erased::<T>);
                    give_back[1] = (cache.push[entry].replace(ptr::null()), release);
                    give_back[2] = (cache.pop[entry].replace(ptr::null()), release);
                    cache.ids[entry].set(id);
                    cache.checked[entry].set(true);
                    entry
                }
            };
            give_back[0] = (cache.side(side)[entry].replace(new), release_erased::<T>);
        });
        if stored.is_err() {
            // The thread's table is gone: keep nothing.
            give_back[0] = (new, release_erased::<T>);
        }
        for (kept, release) in give_back {
            if !kept.is_null() {
                // SAFETY: each was one count owned by the table (or just
                // taken above), of a segment of the type `release` is for.
                unsafe { release(kept, guard) };
            }
        }
    }
}
