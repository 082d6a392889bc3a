//! The two-step ring (see README.md): each value stays in its slot's own
//! cell, claimed and published in two compare-and-swaps, with overtaking of
//! stalled claims for lock-freedom. Measured beside crossbeam's `ArrayQueue`.
//!
//! Slot word: `[ lap | state (2 bits) | cell (16 bits) ]`. States for lap L:
//! - `EMPTY`: empty for the push of lap L; the slot owns `cell`.
//! - `CLAIMED`: a push of lap L is writing the slot's cell, which it owns
//!   meanwhile; `cell` is the pusher's spare, lent to the slot.
//! - `FULL`: the value of lap L is in `cell`, which the slot owns.
//! - `TAKEN`: a pop of lap L owns the value's cell and is reading it;
//!   `cell` is the popper's spare, lent to the slot. For the push of lap
//!   L + 1 this slot is empty.
//!
//! Every cell has one owner at a time (a slot or a thread): the
//! compare-and-swaps below hand cells over, and only an owner touches one.

use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

const CAPACITY: usize = 1024;
/// Consecutive positions are this many slots apart, as in RingBuffer.
const STRIDE: usize = 5;
/// Spare cells, one per thread that ever used the ring.
const MAX_THREADS: usize = 64;
/// The pauses a thread spins after losing a race or meeting a claim, as
/// RingBuffer's `BACK_OFF_PAUSES`.
const BACK_OFF: usize = 2048;

const EMPTY: u64 = 0;
const CLAIMED: u64 = 1;
const FULL: u64 = 2;
const TAKEN: u64 = 3;
const CELL_BITS: u32 = 16;
const LAP_SHIFT: u32 = CELL_BITS + 2;

fn word(lap: u64, state: u64, cell: usize) -> u64 {
    (lap << LAP_SHIFT) | (state << CELL_BITS) | cell as u64
}
fn lap_of(word: u64) -> u64 {
    word >> LAP_SHIFT
}
fn state_of(word: u64) -> u64 {
    (word >> CELL_BITS) & 3
}
fn cell_of(word: u64) -> usize {
    (word & ((1 << CELL_BITS) - 1)) as usize
}
fn slot_of(position: u64) -> usize {
    (position as usize % CAPACITY) * STRIDE % CAPACITY
}
fn lap(position: u64) -> u64 {
    position / CAPACITY as u64
}
fn back_off() {
    for _ in 0..BACK_OFF {
        std::hint::spin_loop();
    }
}

/// A slot word and its home cell, on one 16-byte line fragment.
#[repr(C, align(16))]
struct Entry {
    word: AtomicU64,
    home: UnsafeCell<u64>,
}

struct Ring {
    id: usize,
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU64>,
    entries: Box<[Entry]>,
    /// Cells `CAPACITY..CAPACITY + MAX_THREADS`: the threads' spares.
    spares: Box<[UnsafeCell<u64>]>,
    next_spare: AtomicUsize,
}

// SAFETY: a cell is read or written only by its one owner (module docs);
// ownership moves only through the compare-and-swaps on slot words, whose
// SeqCst orders the cell accesses before and after each hand-over.
unsafe impl Sync for Ring {}

static RINGS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's spare: (ring id, cell).
    static SPARE: Cell<(usize, usize)> = const { Cell::new((usize::MAX, 0)) };
}

impl Ring {
    fn new() -> Self {
        Ring {
            id: RINGS.fetch_add(1, Relaxed),
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            entries: (0..CAPACITY)
                .map(|slot| Entry {
                    word: AtomicU64::new(word(0, EMPTY, slot)),
                    home: UnsafeCell::new(0),
                })
                .collect(),
            spares: (0..MAX_THREADS).map(|_| UnsafeCell::new(0)).collect(),
            next_spare: AtomicUsize::new(CAPACITY),
        }
    }

    fn cell(&self, cell: usize) -> *mut u64 {
        match cell.checked_sub(CAPACITY) {
            None => self.entries[cell].home.get(),
            Some(spare) => self.spares[spare].get(),
        }
    }

    fn spare(&self) -> usize {
        SPARE.with(|spare| {
            let (ring, cell) = spare.get();
            if ring == self.id {
                return cell;
            }
            // Relaxed: a counter handing out distinct spare cells.
            let cell = self.next_spare.fetch_add(1, Relaxed);
            assert!(
                cell < CAPACITY + MAX_THREADS,
                "more than {MAX_THREADS} threads"
            );
            spare.set((self.id, cell));
            cell
        })
    }

    fn set_spare(&self, cell: usize) {
        SPARE.with(|spare| spare.set((self.id, cell)));
    }

    fn word(&self, slot: usize) -> &AtomicU64 {
        &self.entries[slot].word
    }

    /// One compare-and-swap on a slot word. SeqCst: each success hands
    /// cells over, and the cell accesses before and after it must not move
    /// across it; a failure only sends the caller round again.
    fn swap_word(&self, slot: usize, current: u64, new: u64) -> bool {
        self.word(slot)
            .compare_exchange(current, new, SeqCst, Relaxed)
            .is_ok()
    }

    /// One step: `value` into this thread's spare, then `seen` → FULL(lap,
    /// spare); on success the cell `seen` named becomes the spare. This is
    /// how a claim left standing is overtaken.
    fn overtake(&self, slot: usize, seen: u64, lap: u64, value: u64) -> bool {
        let spare = self.spare();
        // SAFETY: the spare is this thread's alone (it lends it to a slot
        // only inside `try_push`/`try_pop`, and has it back before they end).
        unsafe { *self.cell(spare) = value };
        let published = self.swap_word(slot, seen, word(lap, FULL, spare));
        if published {
            self.set_spare(cell_of(seen));
        }
        published
    }

    fn try_push(&self, value: u64) -> bool {
        // Acquire/Release on the hints: pairs with the store after a push
        // (pop), so the positions before the hint are seen filled (emptied).
        let mut at = self.tail.load(Acquire);
        loop {
            let slot = slot_of(at);
            let seen = self.word(slot).load(SeqCst);
            let (l, state, mine) = (lap_of(seen), state_of(seen), lap(at));
            if l == mine && state == EMPTY {
                let spare = self.spare();
                let claimed = word(l, CLAIMED, spare);
                if !self.swap_word(slot, seen, claimed) {
                    back_off();
                    continue;
                }
                let home = cell_of(seen);
                // SAFETY: the claim made this thread the owner of `home`.
                unsafe { *self.cell(home) = value };
                let full = word(l, FULL, home);
                if !self.swap_word(slot, claimed, full) {
                    // Overtaken: the overtaker took our spare, we own `home`.
                    self.set_spare(home);
                    at = self.tail.load(Acquire);
                    continue;
                }
            } else if (l == mine && state == CLAIMED) || (l + 1 == mine && state == TAKEN) {
                // A push still writing this slot, or a pop of the lap before
                // still reading it: wait a while, then overtake. Never step
                // past it: positions fill in order.
                back_off();
                let target = if state == CLAIMED { l } else { l + 1 };
                if self.word(slot).load(SeqCst) != seen || !self.overtake(slot, seen, target, value)
                {
                    continue;
                }
            } else if l + 1 == mine && state == FULL {
                return false; // the value of the lap before: the ring is full
            } else if l > mine || state == FULL || state == TAKEN {
                at += 1; // filled at this lap, or a later lap: step over
                continue;
            } else {
                // The lap before, not yet filled: not reached while the hint
                // is at or before the tail; start again from the hint.
                at = self.tail.load(Acquire);
                continue;
            }
            // Published at `at`, by the claim or by an overtake.
            self.tail.store(at + 1, Release);
            return true;
        }
    }

    fn try_pop(&self) -> Option<u64> {
        let mut at = self.head.load(Acquire);
        loop {
            let slot = slot_of(at);
            let seen = self.word(slot).load(SeqCst);
            let (l, state, mine) = (lap_of(seen), state_of(seen), lap(at));
            if l == mine && state == FULL {
                let spare = self.spare();
                let taken = word(l, TAKEN, spare);
                if !self.swap_word(slot, seen, taken) {
                    back_off();
                    continue;
                }
                let cell = cell_of(seen);
                // SAFETY: the claim made this thread the owner of `cell`.
                let value = unsafe { *self.cell(cell) };
                let empty = word(l + 1, EMPTY, cell);
                if !self.swap_word(slot, taken, empty) {
                    // Overtaken by a push of the next lap: it took our spare.
                    self.set_spare(cell);
                }
                self.head.store(at + 1, Release);
                return Some(value);
            }
            if l > mine || (l == mine && state == TAKEN) {
                at += 1; // popped, or a later lap: step over
                continue;
            }
            // EMPTY or CLAIMED of this lap (nothing published here yet), or
            // TAKEN of the lap before (empty for this one).
            return None;
        }
    }
}

/// Runs `pairs` producers and as many consumers on the queue for `ms`;
/// returns the median rate (M elements/s) of the 100 ms windows after 0.5 s.
fn rate(
    push: &(dyn Fn(u64) -> bool + Sync),
    pop: &(dyn Fn() -> Option<u64> + Sync),
    pairs: usize,
    ms: u64,
) -> f64 {
    // Every atomic of the harness is Relaxed: a stop flag and counters,
    // which order nothing; the sums are read after the scope joins.
    let cores = core_affinity::get_core_ids().expect("core ids");
    let stop = AtomicBool::new(false);
    let popped = AtomicU64::new(0);
    let (sent, received) = (AtomicU64::new(0), AtomicU64::new(0));
    let mut rates = Vec::new();
    std::thread::scope(|s| {
        for t in 0..2 * pairs {
            let (stop, popped, sent, received) = (&stop, &popped, &sent, &received);
            let core = cores[t % cores.len()];
            s.spawn(move || {
                core_affinity::set_for_current(core);
                let (mut next, mut sum, mut idle) = (0u64, 0u64, 0u32);
                while !stop.load(Relaxed) {
                    let moved = if t < pairs {
                        push(next).then(|| sum = sum.wrapping_add(next)).is_some()
                    } else {
                        pop().map(|v| sum = sum.wrapping_add(v)).is_some()
                    };
                    if moved {
                        next += 1;
                        idle = 0;
                        if t >= pairs && next % 1024 == 0 {
                            popped.fetch_add(1024, Relaxed);
                        }
                    } else if idle < 7 {
                        (0..1 << idle).for_each(|_| std::hint::spin_loop());
                        idle += 1;
                    } else {
                        std::thread::yield_now();
                    }
                }
                (if t < pairs { sent } else { received }).fetch_add(sum, Relaxed);
            });
        }
        let mut last = 0;
        for window in 0..ms / 100 {
            std::thread::sleep(Duration::from_millis(100));
            let now = popped.load(Relaxed);
            if window >= 5 {
                rates.push((now - last) as f64 / 0.1 / 1e6);
            }
            last = now;
        }
        stop.store(true, Relaxed);
    });
    let mut rest = 0u64;
    while let Some(v) = pop() {
        rest = rest.wrapping_add(v);
    }
    assert_eq!(
        sent.into_inner(),
        received.into_inner().wrapping_add(rest),
        "values lost or duplicated"
    );
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// Nanoseconds per push + pop pair on one thread.
fn pair_ns(push: &dyn Fn(u64) -> bool, pop: &dyn Fn() -> Option<u64>) -> f64 {
    let n = 20_000_000u64;
    let start = Instant::now();
    for i in 0..n {
        assert!(push(std::hint::black_box(i)));
        std::hint::black_box(pop().expect("the value just pushed"));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let loads: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of producer/consumer pairs"))
        .collect();
    let loads = if loads.is_empty() {
        vec![1, 2, 4]
    } else {
        loads
    };
    for pairs in loads {
        let ring = Ring::new();
        let two_step = rate(&|v| ring.try_push(v), &|| ring.try_pop(), pairs, 2000);
        // Aged before runs with several producers or consumers, as the
        // contention report does (its "settled" rate); new for one of each.
        let freelane = freelane::RingBuffer::new(CAPACITY);
        if pairs > 1 {
            age(&freelane);
        }
        let ring_rate = rate(
            &|v| freelane.try_push(v).is_ok(),
            &|| freelane.try_pop().ok(),
            pairs,
            2000,
        );
        let queue = crossbeam_queue::ArrayQueue::new(CAPACITY);
        let array = rate(&|v| queue.push(v).is_ok(), &|| queue.pop(), pairs, 2000);
        println!(
            "{pairs}p{pairs}c, M elements/s: two-step {two_step:.1}, RingBuffer {ring_rate:.1}, \
             ArrayQueue {array:.1}; over ArrayQueue: two-step {:.2}x, RingBuffer {:.2}x",
            two_step / array,
            ring_rate / array
        );
    }
    let ring = Ring::new();
    let two_step = pair_ns(&|v| ring.try_push(v), &|| ring.try_pop());
    let freelane = freelane::RingBuffer::new(CAPACITY);
    let ring_pair = pair_ns(&|v| freelane.try_push(v).is_ok(), &|| {
        freelane.try_pop().ok()
    });
    let queue = crossbeam_queue::ArrayQueue::new(CAPACITY);
    let array = pair_ns(&|v| queue.push(v).is_ok(), &|| queue.pop());
    println!(
        "one thread, ns per push + pop: two-step {two_step:.1}, RingBuffer {ring_pair:.1}, \
         ArrayQueue {array:.1}"
    );
}

/// Scrambles a RingBuffer's cells as long traffic from several threads does
/// (the contention report's `age_ring`): four threads push and pop at random.
fn age(ring: &freelane::RingBuffer<u64>) {
    std::thread::scope(|s| {
        for seed in 1..=4u64 {
            s.spawn(move || {
                let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                for value in 0..100_000 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state & 1 == 0 {
                        let _ = ring.try_push(value);
                    } else {
                        let _ = ring.try_pop();
                    }
                }
            });
        }
    });
    while ring.try_pop().is_ok() {}
}
