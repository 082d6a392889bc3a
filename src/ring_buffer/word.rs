//! The bit layout of the ring's atomic words: the slot words and the two
//! position hints. The meaning of each field is on
//! [`RingBuffer`](super::RingBuffer) ("State"); this file is the arithmetic.
//!
//! A position and a slot word share their top bits: both keep the lap there,
//! at the same offset, so the stamp a slot should have for a position is the
//! position with its index bits cleared (plus the full bit), and comparing a
//! slot word with it is one subtraction and one shift.

/// An atomic word as wide as the target can compare-and-swap natively: 64
/// bits where it has 64-bit atomics, else 32 (Cortex-M3/M4/M7, RV32). The
/// lap counter lives in what the cell index leaves (see `Layout`).
#[cfg(target_has_atomic = "64")]
pub(super) type Word = u64;
#[cfg(target_has_atomic = "64")]
pub(super) type AtomicWord = crate::sync::atomic::AtomicU64;
#[cfg(target_has_atomic = "64")]
type SignedWord = i64;

#[cfg(not(target_has_atomic = "64"))]
pub(super) type Word = u32;
#[cfg(not(target_has_atomic = "64"))]
pub(super) type AtomicWord = crate::sync::atomic::AtomicU32;
#[cfg(not(target_has_atomic = "64"))]
type SignedWord = i32;

/// How many cells a ring may add to its `capacity` ones, one for each
/// thread that holds a spare (see `cells`): 2^20 on 64-bit targets, 2^10 on
/// 32-bit ones. It fixes the width of the cell field, so it is a limit on
/// the number of threads that use one ring at the same moment.
#[cfg(target_has_atomic = "64")]
pub(super) const MAX_SPARES: usize = 1 << 20;
#[cfg(not(target_has_atomic = "64"))]
pub(super) const MAX_SPARES: usize = 1 << 10;

/// The fewest lap bits a ring accepts: with fewer, a thread stalled between
/// a load and its compare-and-swap would not need to be stalled long for the
/// stamp to come round (see "ABA" on the type). Bounds the capacity on
/// 32-bit targets; on 64-bit ones memory runs out first.
const MIN_LAP_BITS: u32 = 12;

/// Bits in a [`Word`].
const WORD_BITS: u32 = Word::BITS;

/// The largest capacity whose words keep [`MIN_LAP_BITS`] lap bits.
pub(super) const MAX_CAPACITY_BY_LAYOUT: usize = {
    // cell bits + closed bit + full bit + lap bits <= WORD_BITS
    let cell_bits = WORD_BITS - 2 - MIN_LAP_BITS;
    let cells = if cell_bits >= usize::BITS {
        usize::MAX
    } else {
        1usize << cell_bits
    };
    cells - MAX_SPARES
};

/// A position in the stream of pushes (or pops): `[ lap | slot index ]`,
/// the lap in the same bits as a slot word's (see `Layout`). Position `p`
/// of the stream is in lap `p / capacity` at slot `(p % capacity) * stride
/// % capacity` (see `stride`), laps counted
/// modulo the lap field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Position(Word);

/// Where a slot word stands relative to an expected stamp: the distance, in
/// stamps, from the expected one (see [`Layout::distance`]).
pub(super) type Distance = SignedWord;

/// The fields of the slot words and positions of one ring, fixed at
/// creation. With `C` = `cell_bits`:
///
/// ```text
///   slot word:  [ lap ........ | full | closed | cell ]
///   position:   [ lap ........ | slot index .......... ]
///                 W - C - 2       1      1       C bits
/// ```
///
/// The *stamp* of a slot word is its top `W - C - 1` bits, `2 * lap +
/// full`: it only ever grows (modulo the field), by one per push or pop
/// and two per replacing `force_push`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    /// Slots in the ring.
    pub(super) capacity: usize,
    /// `2 << cell_bits`: the full bit, the stamp's low bit, where `cell_bits`
    /// is the width of the cell field (enough for `capacity + MAX_SPARES`
    /// cells).
    full_bit: Word,
    /// `full_bit << 1 - 1`: a position's index bits (everything below the
    /// lap). The masks are kept rather than derived from `full_bit` at each
    /// use: every operation's fast path applies several of them, and each
    /// derivation is a few instructions more.
    index_mask: Word,
    /// `full_bit / 2 - 1`: a slot word's cell field.
    cell_mask: Word,
    /// How far apart consecutive positions' slots are (see `stride`).
    stride: usize,
    /// The last slot of a lap, `capacity - stride`: the one after it is
    /// slot 0 of the next lap.
    last: usize,
    /// `stride`'s inverse modulo `capacity`: a slot's place in its lap
    /// (for `len`).
    stride_inverse: usize,
}

/// The fewest slots between consecutive positions: 5 slot words are 40
/// bytes, so that a 64-byte line holds one or two consecutive positions. A
/// consumer one position behind a producer (or two pushers side by side)
/// then mostly works on another line, and a run of operations still finds
/// the next position's slot on the line it has just used, or the next one.
/// Chosen on the contention report's ring workloads (capacity 1024, `u64`,
/// four runs of 5 rounds of each build alternating, ratios to `ArrayQueue`
/// for `try_*` and to crossbeam-channel for the blocking calls):
///
/// | stride | `try_*` 1p1c | 2p2c | 4p4c | blocking 1p1c | 2p2c | 4p4c |
/// |---|---|---|---|---|---|---|
/// | 17 (before) | 0.63–0.80 | 0.62–0.66 | 0.68–0.88 | 0.52–0.68 | 0.68–0.77 | 0.84–0.94 |
/// | 3 | 0.61–0.89 | 0.83–1.17 | 1.15–1.35 | 0.57–0.67 | 0.96–1.06 | 1.02–1.14 |
/// | 5 (now) | 0.89–1.07 | 0.88–1.07 | 0.87–1.06 | 0.75–0.99 | 0.86–1.02 | 0.93–1.20 |
///
/// Two runs each of strides 1, 7 and 9: 1 swung between the best and the
/// worst (`ring/mpmc` 1p1c 21.9–37.7 million elements a second,
/// `batch/ring` 8.7–9.8 against 19.1–20.6 at 17), 7 fell between 5 and 17,
/// and 9 was no better than 17. 3 won with four threads or more, 5 with one
/// producer and one consumer; 5 is the one without a bad case. The price is
/// latency when the two ends are close: the report's push-to-pop latency
/// (at most 8 elements in flight per producer, one run of each build) went
/// from a median of 242 to 363 ns with one producer and one consumer and
/// from 278 to 373 ns with two of each, its 99th percentile from 400 to 744
/// ns with one of each (`ArrayQueue`'s median there: 819 ns). Rings below
/// four times this keep stride 1 (for them the stride and the wrap-around
/// step could not both be this far). Checked again once the cells were put
/// in position order (`RingBuffer`'s "Cost and sizes"), two runs of
/// `ring/mpmc` with one producer and one consumer, then two of each
/// (million elements a second): stride 1 26.3–30.3 and 25.0, 3 26.0–28.1
/// and 34.0–34.4, 5 39.6–39.9 and 41.2–49.8, 7 43.1–44.5 and 35.1–45.4.
/// Those ran on new rings; on aged ones (the cells' order scrambled, as
/// the report now runs them), two runs of `ring/mpmc` with two producers
/// and two consumers: stride 1 19.9–29.1, 3 24.9–26.1, 5 28.1–29.2, 9
/// 19.4–21.2, 17 16.6–20.5; with one of each 5 was ahead too (36.8–38.5
/// against 23.3–36.1).
const MIN_STRIDE: usize = 5;

/// The step between consecutive positions' slots for a ring of `capacity`:
/// the first number from [`MIN_STRIDE`] up with no factor in common with
/// `capacity`, so that a lap visits every slot exactly once; 1 for small
/// rings.
const fn stride(capacity: usize) -> usize {
    if capacity < 4 * MIN_STRIDE {
        return 1;
    }
    let mut stride = MIN_STRIDE;
    while gcd(stride, capacity) != 1 {
        stride += 1;
    }
    stride
}

const fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let rest = a % b;
        a = b;
        b = rest;
    }
    a
}

/// `value`'s inverse modulo `modulus` (they are coprime), by the extended
/// Euclidean algorithm.
const fn inverse(value: usize, modulus: usize) -> usize {
    if modulus == 1 {
        return 0;
    }
    let (mut old_r, mut r) = (value as i128, modulus as i128);
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let quotient = old_r / r;
        let next_r = old_r - quotient * r;
        old_r = r;
        r = next_r;
        let next_s = old_s - quotient * s;
        old_s = s;
        s = next_s;
    }
    old_s.rem_euclid(modulus as i128) as usize
}

impl Layout {
    /// The layout for `capacity` slots, or `None` if the words cannot hold
    /// it with [`MIN_LAP_BITS`] lap bits (`capacity` above
    /// [`MAX_CAPACITY_BY_LAYOUT`]). `capacity` must be at least 1.
    pub(super) const fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 || capacity > MAX_CAPACITY_BY_LAYOUT {
            return None;
        }
        let cells = capacity + MAX_SPARES;
        // Bits for indices 0..cells (cells >= 2).
        let cell_bits = usize::BITS - (cells - 1).leading_zeros();
        let full_bit: Word = 2 << cell_bits;
        let stride = stride(capacity);
        Some(Self {
            capacity,
            full_bit,
            index_mask: (full_bit << 1) - 1,
            cell_mask: (full_bit >> 1) - 1,
            stride,
            last: capacity - stride,
            stride_inverse: inverse(stride, capacity),
        })
    }

    /// How many cells the cell field can name: `capacity + MAX_SPARES`
    /// rounded up to a power of two.
    pub(super) fn cell_limit(&self) -> usize {
        (self.closed_bit()) as usize
    }

    /// The closed bit of a slot word, just above the cell field.
    #[inline(always)]
    fn closed_bit(&self) -> Word {
        self.cell_mask + 1
    }

    /// One lap, as a position or slot-word increment.
    #[inline(always)]
    fn one_lap(&self) -> Word {
        self.index_mask + 1
    }

    /// The index bits of a position (everything below the lap).
    #[inline(always)]
    fn index_mask(&self) -> Word {
        self.index_mask
    }

    // ---- slot words ----------------------------------------------------

    /// The slot word for `position`'s lap, full or empty, with `cell`.
    #[inline(always)]
    pub(super) fn word(&self, position: Position, full: bool, closed: bool, cell: usize) -> Word {
        debug_assert!(cell < self.cell_limit());
        (position.0 & !self.index_mask())
            | (Word::from(full) * self.full_bit)
            | (Word::from(closed) * self.closed_bit())
            | cell as Word
    }

    /// The cell a slot word names.
    #[inline(always)]
    pub(super) fn cell(&self, word: Word) -> usize {
        (word & self.cell_mask) as usize
    }

    /// Whether `word` is "empty for the push at `position`", without the
    /// closed mark: the fast path's one comparison (the general case is
    /// [`distance`](Layout::distance)).
    #[inline(always)]
    pub(super) fn is_empty_for(&self, word: Word, position: Position) -> bool {
        word & !self.cell_mask == position.0 & !self.index_mask
    }

    /// Whether `word` is "full with the value pushed at `position`" (the
    /// closed mark may be set): the pop fast path's one comparison.
    #[inline(always)]
    pub(super) fn is_full_at(&self, word: Word, position: Position) -> bool {
        word & !(self.cell_mask | self.closed_bit())
            == (position.0 & !self.index_mask) | self.full_bit
    }

    /// Whether a slot word holds a value (its stamp is odd).
    #[inline(always)]
    pub(super) fn holds_value(&self, word: Word) -> bool {
        word & self.full_bit != 0
    }

    /// Whether a slot word carries the closed mark.
    #[inline(always)]
    pub(super) fn is_closed(&self, word: Word) -> bool {
        word & self.closed_bit() != 0
    }

    /// `word` with the closed mark set.
    #[inline(always)]
    pub(super) fn with_closed(&self, word: Word) -> Word {
        word | self.closed_bit()
    }

    /// Where `word` stands against the stamp "empty for `position`"
    /// (`empty_for`) or "full at `position`" (`!empty_for`): how many stamps
    /// past it, in the stamps' modular arithmetic, as a signed number. `0`
    /// when equal, `1` one step on (empty became full, or full became empty
    /// for the next lap), `-1` one step behind. Correct while the two are
    /// within half the stamp space of each other (see "ABA" on the type).
    ///
    /// The stamps occupy the top bits, so the subtraction wraps exactly as
    /// they do; the closed bit and the cell below are non-negative and never
    /// reach the full bit. The three cases the fast path meets are
    /// comparisons; only a jump over several laps divides.
    #[inline(always)]
    pub(super) fn distance(&self, word: Word, position: Position, empty_for: bool) -> Distance {
        let expected = self.word(position, !empty_for, false, 0);
        let diff = word.wrapping_sub(expected) as Distance;
        let step = self.full_bit as Distance;
        if (0..step).contains(&diff) {
            0
        } else if (-step..0).contains(&diff) {
            -1
        } else if (step..2 * step).contains(&diff) {
            1
        } else {
            diff.div_euclid(step)
        }
    }

    // ---- positions -----------------------------------------------------

    /// The slot of a position.
    #[inline(always)]
    pub(super) fn index(&self, position: Position) -> usize {
        (position.0 & self.index_mask()) as usize
    }

    /// The position after `position`: the slot `stride` further on
    /// (modulo the capacity), or slot 0 of the next lap after the lap's
    /// last slot. With the stride coprime to the capacity, a lap visits
    /// every slot once, and neighbouring positions sit on different cache
    /// lines (SCQ remaps its indices for the same reason).
    #[inline(always)]
    pub(super) fn next(&self, position: Position) -> Position {
        let slot = self.index(position);
        // `slot + stride < capacity` is `slot < last`: one comparison.
        if slot < self.last {
            Position(position.0 + self.stride as Word)
        } else if slot == self.last {
            // Slot 0 of the next lap; the lap wraps with the word.
            Position((position.0 & !self.index_mask).wrapping_add(self.one_lap()))
        } else {
            Position(position.0 + self.stride as Word - self.capacity as Word)
        }
    }

    /// Where `slot` comes in its lap: its position's ordinal within the lap.
    pub(super) fn ordinal(&self, slot: usize) -> usize {
        ((slot as u128 * self.stride_inverse as u128) % self.capacity as u128) as usize
    }

    /// The position `laps` laps after `position` (any sign, modular).
    #[inline(always)]
    pub(super) fn laps_after(&self, position: Position, laps: Distance) -> Position {
        Position(
            position
                .0
                .wrapping_add((laps as Word).wrapping_mul(self.one_lap())),
        )
    }

    /// How many positions `to` is after `from`, assuming it is not before
    /// it and less than a lap count away.
    pub(super) fn positions_between(&self, from: Position, to: Position) -> usize {
        let laps =
            (to.0 & !self.index_mask()).wrapping_sub(from.0 & !self.index_mask()) / self.one_lap();
        (laps as usize)
            .wrapping_mul(self.capacity)
            .wrapping_add(self.ordinal(self.index(to)))
            .wrapping_sub(self.ordinal(self.index(from)))
    }

    /// A hint word for `position`.
    #[inline(always)]
    pub(super) fn hint(&self, position: Position) -> Word {
        position.0
    }

    /// The position a hint word holds.
    #[inline(always)]
    pub(super) fn position(&self, hint: Word) -> Position {
        Position(hint)
    }

    /// Position 0: slot 0 in lap 0.
    pub(super) fn start(&self) -> Position {
        Position(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(layout: &Layout, lap: Word, index: usize) -> Position {
        Position(lap * layout.one_lap() + index as Word)
    }

    #[test]
    fn fields_do_not_overlap() {
        for capacity in [1, 2, 3, 7, 1024, 1 << 20] {
            let layout = Layout::new(capacity).unwrap();
            let top = at(&layout, Word::MAX / layout.one_lap(), capacity - 1);
            let cell = layout.cell_limit() - 1;
            let word = layout.word(top, true, true, cell);
            assert_eq!(layout.cell(word), cell);
            assert!(layout.is_closed(word));
            assert!(layout.holds_value(word));
            assert_eq!(layout.distance(word, top, false), 0);
            assert_eq!(layout.distance(word, top, true), 1);
            assert_eq!(layout.index(top), capacity - 1);
            assert_eq!(layout.position(layout.hint(top)), top);
        }
    }

    #[test]
    fn laps_wrap_with_the_word() {
        let layout = Layout::new(3).unwrap();
        let last = at(&layout, Word::MAX / layout.one_lap(), 2);
        let first = layout.next(last);
        assert_eq!(first, layout.start());
        // Full at the last lap, seen from the empty stamp of the same slot
        // one lap later (lap 0 after the wrap): one step behind.
        let word = layout.word(last, true, false, 5);
        let same_slot_next_lap = layout.laps_after(last, 1);
        assert_eq!(layout.index(same_slot_next_lap), 2);
        assert_eq!(layout.distance(word, same_slot_next_lap, true), -1);
        assert_eq!(layout.distance(word, last, true), 1);
        assert_eq!(layout.positions_between(last, first), 1);
        assert_eq!(
            layout.positions_between(layout.laps_after(first, -1), first),
            3
        );
    }

    #[test]
    fn a_lap_visits_every_slot_once_neighbours_a_stride_apart() {
        for capacity in [
            1, 2, 3, 19, 20, 25, 30, 33, 63, 64, 65, 100, 1000, 1024, 4099,
        ] {
            let layout = Layout::new(capacity).unwrap();
            let mut seen = alloc::vec![false; capacity];
            let mut position = layout.start();
            for ordinal in 0..capacity {
                let slot = layout.index(position);
                assert!(
                    !seen[slot],
                    "capacity {capacity}: slot {slot} twice in a lap"
                );
                seen[slot] = true;
                assert_eq!(layout.ordinal(slot), ordinal);
                let next = layout.next(position);
                if capacity >= 4 * MIN_STRIDE && ordinal + 1 < capacity {
                    let apart = layout.index(next).abs_diff(slot);
                    assert!(apart >= MIN_STRIDE, "capacity {capacity}: {apart} apart");
                }
                position = next;
            }
            assert_eq!(
                position,
                layout.laps_after(layout.start(), 1),
                "one lap later"
            );
            assert_eq!(layout.positions_between(layout.start(), position), capacity);
        }
    }

    #[test]
    fn limits() {
        assert!(Layout::new(0).is_none());
        assert!(Layout::new(MAX_CAPACITY_BY_LAYOUT).is_some());
        assert!(Layout::new(MAX_CAPACITY_BY_LAYOUT + 1).is_none());
    }
}
