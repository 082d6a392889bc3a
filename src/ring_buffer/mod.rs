//! [`RingBuffer<T>`]: a bounded, closable MPMC FIFO that is linearizable and
//! lock-free: a ring of one-word slots, each naming the cell that holds its
//! value, updated by one compare-and-swap per operation that trades cells.
//!
//! The algorithm, its state, linearization points, ABA and progress story
//! are documented on [`RingBuffer`] itself, where the rendered docs show
//! them. Files: `word.rs` (the bit layout of the slot words and hints),
//! `cells.rs` (the value cells, their pool and each thread's spare), this
//! file (the operations), `blocking.rs` (`push`, `pop`, `_timeout`, under
//! `std`) and `async_waits.rs` (`push_async`, `pop_async`).

mod async_waits;
#[cfg(feature = "std")]
mod blocking;
mod cells;
mod word;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::mem::{ManuallyDrop, size_of};
use core::ptr;

use self::cells::Cells;
use self::word::{AtomicWord, Layout, MAX_CAPACITY_BY_LAYOUT, Position, Word};
use crate::error::{CapacityError, PopError, PushError};
use crate::pause::{self, PausePoint};
use crate::sync::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};
use crate::sync::{CachePadded, back_off};
use crate::wait::RingWaiters;

/// A bounded multi-producer multi-consumer FIFO of fixed capacity,
/// linearizable and lock-free, closable, with backpressure: blocking (under
/// `std`) or async.
///
/// It holds exactly [`capacity`](RingBuffer::capacity) values; the capacity
/// need not be a power of two. Non-blocking operations: [`try_push`],
/// [`try_pop`], [`force_push`] (overwrite the oldest when full), the batches
/// [`try_push_many`](RingBuffer::try_push_many) and
/// [`try_pop_many`](RingBuffer::try_pop_many), [`close`]. Under `std`,
/// `push`, `pop`, `push_timeout` and `pop_timeout` wait, first spinning
/// briefly and then parking the thread. With or without `std`,
/// [`push_async`](RingBuffer::push_async) and
/// [`pop_async`](RingBuffer::pop_async) wait as futures under any executor;
/// blocked threads and pending tasks share the same two wait queues, and
/// dropping a pending future loses no value and no wake-up.
///
/// **Every operation is linearizable** (`Full` only when the buffer could
/// have been full during the call, `Empty` only when it could have been
/// empty, `force_push` and `close` included) **and lock-free** (a thread
/// stopped anywhere inside an operation does not stop any other from
/// completing its own): no operation ever waits for another thread.
///
/// Sections: **Algorithm**, **State**, **Cells and spares**,
/// **Linearization points**, **Batches**, **ABA**, **Progress**, **Memory
/// ordering**, **Cost and sizes**, **References**.
///
/// # Algorithm
///
/// The ring is `capacity` *slot words*. Position `p` of the stream of pushes
/// (and of pops) is in lap `p / capacity`, at slot `(p % capacity) × stride %
/// capacity`: consecutive positions are `stride` slots apart, so that a
/// consumer one position behind a producer, or two pushers, mostly work on
/// different cache lines, while a run of operations still finds the next slot
/// on a line it has just used (SCQ remaps its indices for the first reason).
/// The stride is the first number from 5 up that shares no factor with the
/// capacity, so a lap still visits every slot once (the choice is measured in
/// `word.rs`, `MIN_STRIDE`); rings under 20 slots keep stride 1. A slot word
/// holds a *stamp* (`2 × lap`, plus 1 while it holds a value) and the index of
/// a *cell*, where values live: the value pushed at position `p` sits in the
/// cell that `p`'s slot names while its stamp says "full at lap `p /
/// capacity`".
///
/// - A **push** finds the *tail*, the first position whose slot is still
///   empty for it, writes its value into a cell it owns (its *spare*), and
///   publishes it with one compare-and-swap on the slot word: "empty at lap
///   L, cell e" becomes "full at lap L, my cell". It takes cell `e` in
///   exchange, as its next spare.
/// - A **pop** finds the *head*, the first position whose value is still
///   there, and takes it with one compare-and-swap: "full at lap L, cell c"
///   becomes "empty at lap L + 1, my spare". It now owns cell `c` alone and
///   moves the value out; `c` is its next spare.
/// - If the slot at the tail still holds the value of the position one lap
///   earlier, the buffer is **full**; if the slot at the head is still empty
///   for this lap, it is **empty**. Both verdicts come from one load of one
///   slot word; no in-flight operation can make them wrong (below).
/// - **`force_push`** on a full buffer replaces "full at lap L − 1, cell c"
///   by "full at lap L, my cell" in one compare-and-swap: the oldest value
///   leaves and the new one arrives in one atomic step.
/// - **`close`** sets a *closed* bit in the slot word at the tail. Pushes
///   that reach it fail with `Closed`, pops that reach it (after taking
///   everything before it) report `Closed`, and a pop that empties a marked
///   full slot carries the bit into the empty word.
///
/// Finding the head and tail needs no shared counter. Two words, `head` and
/// `tail`, are *hints*: each operation starts at its hint and steps over
/// slots whose stamps show them already done, and stores the position after
/// its own when it finishes. A hint is never ahead of the true end (it is
/// only ever set to a position just completed), so the stamps alone decide;
/// a stale hint costs a few extra loads.
///
/// The ring of compare-and-swapped slots with lazily updated ends is the
/// design of Tsigas and Zhang's non-blocking array queue, with Vyukov's lap
/// stamps (as in crossbeam's `ArrayQueue`) against ABA and SCQ's separation
/// of values from the atomic ring (Nikolaev); the cell trade, which lets a
/// value of any type live outside the atomic word without a second queue of
/// free indices, is this crate's. See **References**.
///
/// # State
///
/// With `W` the width of a native atomic word (64 bits, or 32 on targets
/// without 64-bit atomics, such as Cortex-M), `C` the bits to name
/// `capacity + 2^20` cells (`2^10` on 32-bit targets) and `I` the bits to
/// name `capacity` slots:
///
/// ```text
///   slot word:  [ stamp = 2 * lap + full ...... | closed | cell ]
///                 W - C - 1 bits                  1 bit    C bits
///   head, tail: [ lap ......................... | slot index ]
///                 W - I bits                      I bits
///   cells:      capacity + one per thread (std) or per operation in flight
///   closed:     a flag, set once the ring is closed (`is_closed`'s fast path)
/// ```
///
/// The word of the slot of each lap's `k`-th position goes through: empty
/// for the push of lap 0 (stamp 0, holding cell `k`), full at lap 0 (stamp
/// 1), empty for lap 1 (stamp 2), and so on; `force_push` takes it from
/// full at lap L − 1 straight to full at lap L (stamp + 2); `close` sets its
/// closed bit, which stays. Laps count modulo `2^(W - C - 2)`.
///
/// Invariants (positions counted in the stream, without wrapping):
/// 1. *Positions fill in order.* A push publishes at position `p` only
///    after seeing every position below `p` filled (its hint was stored
///    after `p − 1` was filled, and it stepped over the rest).
/// 2. *Positions empty in order*, for the same reason on the pop side.
/// 3. So the values in the buffer are exactly the positions from the head
///    (the first not yet emptied) to the tail (the first not yet filled),
///    and `tail − head ≤ capacity`: position `p` can fill only once its
///    slot is empty for lap `p / capacity`, i.e. once `p − capacity` has
///    been emptied.
/// 4. `head` and `tail` hold positions at or before the true head and tail.
/// 5. Every cell has exactly one owner at any moment: a slot, a thread's
///    spare (between or during operations), or the pool.
///
/// # Cells and spares
///
/// A value of arbitrary `T` cannot be written atomically, and a thread
/// stalled in the middle of writing (or reading) one holds that cell. If
/// cells belonged to slots, the slot would be stuck with it; here the
/// writer owns the cell it writes, and the compare-and-swap that publishes
/// the value hands the cell to the slot and the slot's empty cell to the
/// writer, in one step. A pop does the reverse: its compare-and-swap gives
/// the slot an empty cell and takes the full one, which only then does it
/// read. So a slot is never blocked by a thread, and the buffer needs one
/// cell beyond its capacity per thread caught between its two steps.
///
/// Under `std` each thread keeps one spare per ring between operations, in
/// a per-ring thread-local (the `thread_local` crate's `ThreadLocal`, whose
/// entries are freed with the ring and inherited by later threads that
/// reuse a thread id, each on a cache line of its own), found through a
/// one-entry per-thread cache of the last ring the thread used (keyed by a
/// 64-bit ring number, never reused; on targets without 64-bit atomics
/// every operation looks in the table): an operation touches no shared
/// word besides its slot and its hint. Without `std` there is no
/// thread-local: each operation takes a spare from a pool (a bitmap of free
/// cells) and puts back the cell it received, two more atomic
/// read-modify-writes. (Under loom a loom thread-local stands in for the
/// per-ring one.) The pool starts with four spare cells and grows, a chunk
/// twice the size of the last at a time, when more threads than that are
/// inside operations (`std`: have used the ring) at once.
///
/// # Linearization points
///
/// - `try_push` → `Ok`: its successful compare-and-swap on the tail slot.
///   → `Full`: the load of the tail slot that shows the value of the
///   position one lap earlier: by invariants 1-3 the positions from that
///   one to the tail are all filled and none emptied, `capacity` values.
///   → `Closed`: the load that shows the closed bit at the tail.
/// - `try_pop` → `Ok`: its successful compare-and-swap on the head slot.
///   → `Empty`: the load of the head slot that shows it still empty for this
///   lap (no value at the head, so none at all, by invariant 1), without the
///   closed bit. → `Closed`: the same load, with the closed bit.
/// - `force_push` → `Ok(None)`: as `try_push`. → `Ok(Some(old))`: its
///   compare-and-swap from "full at lap L − 1" to "full at lap L", which
///   removes the oldest value and appends the new one in one step (the
///   buffer was full then, so the oldest is the head). → `Err`: as `Closed`.
/// - `close`: its compare-and-swap setting the closed bit (`true`), or the
///   load that shows the bit already set (`false`). No push after it
///   succeeds (positions fill in order, and the marked one never fills).
/// - `is_closed`: the load of the flag if set (set after the mark), else
///   the load of the tail slot. `is_empty` and `is_full`: the head / tail
///   slot loads, as `Empty` and `Full`. `len`: the load of the head slot,
///   between two searches for the tail that found the same position.
///
/// # Batches
///
/// [`try_push_many`](RingBuffer::try_push_many) and
/// [`try_pop_many`](RingBuffer::try_pop_many) are DPDK `rte_ring`'s burst
/// operations: each element is its own push or pop, linearizable on its
/// own, one compare-and-swap each, in the order of `items` (so a producer's
/// order is kept), stopping at the first `Full`/`Empty`/`Closed` verdict,
/// which is then as linearizable as `try_push`'s and `try_pop`'s. What a
/// batch saves is everything around the compare-and-swaps: one spare
/// lookup, one hint load and store, one wake-up check for the whole run.
/// DPDK claims a run of slots with a single compare-and-swap on its head or
/// tail, and a Vyukov ring can too; both then make the other end wait until
/// every slot of the run is written. A lock-free ring cannot: the run would
/// be one thread's to finish, and a stall in it would hold up the pops
/// behind it.
///
/// So under contention a batch is no faster per element than single operations.
/// Each element still costs its slot word's and its cell's lines crossing
/// between the cores, and with one producer and one consumer `try_pop_many`
/// empties the ring as fast as `try_push_many` fills it, then takes a few
/// elements per call from the slots the producer is still writing. An element
/// that loses its compare-and-swap to another batch (or single operation) on
/// the same end backs off as `try_push` and `try_pop` do (see **Cost and
/// sizes**), so that the winner runs on; before that back-off two producers'
/// batches kept interleaving, slot by slot, and ran at half the speed of single
/// operations. Measured with `cargo run --release --example contention --
/// --throughput --filter batch/ring --threads 2,4,8` on the 2-vCPU VM, two runs
/// of 5 rounds, million elements a second, batches of 32 against single
/// `try_push`/`try_pop` on the same ring, with the stride of 17 then (both ran
/// faster with the stride of 5, README "Performance"): 18.8–19.9 against
/// 18.9–21.1 with one producer and one consumer, 22.9–24.8 against 23.1–23.7
/// with two of each (12.2–13.2 without the back-off), 22.4–22.6 against
/// 20.2–20.4 with four of each.
///
/// # ABA
///
/// A compare-and-swap on a slot word succeeds only if the word is exactly
/// the one the operation read: the same stamp (lap and fullness) and the
/// same cell. Stamps only move forward, so a stale read cannot match unless
/// the slot has gone round the whole lap counter, `2^(W - C - 2)` laps, and
/// come back to the same cell, while one thread was stalled between its
/// load and its compare-and-swap. On 64-bit targets that is at least
/// `2^41` laps of the one slot (half a day at a billion operations per
/// second on a ring of capacity 1, and far more for larger rings: the
/// counter has more bits when the cell field needs fewer, and each lap is
/// `capacity` operations); on 32-bit targets, whose words have 32 bits,
/// at least `2^12` laps, e.g. `2^19` laps at capacity 1000 (half a billion
/// operations). The same bound covers the hints, whose laps are compared
/// with the stamps'. If it were ever reached, a push or pop could land one
/// counter-cycle away from its position, breaking FIFO order; memory safety
/// does not depend on it (a compare-and-swap that succeeds owns the cell it
/// takes, whatever lap it thought it was in).
///
/// The pool of free cells is a bitmap: a cell is taken by clearing its own
/// bit, so there is no list head for ABA to strike.
///
/// # Progress
///
/// **Lock-free, every operation.** An operation reads slot words, steps
/// over positions already done, and tries one compare-and-swap; it fails
/// only because another operation's succeeded on that slot. Nothing
/// spins on a slot, a flag or a lock held by another thread. A thread
/// stopped anywhere holds at most one cell (its spare, with or without its
/// value in it) and delays nobody: a push stopped before its
/// compare-and-swap has not happened yet, one stopped after it is complete
/// except for moving the `tail` hint (the next push steps over its slot),
/// and the same holds for pops, `force_push` and `close`.
/// `tests/ring_buffer_lock_free.rs` stops a thread at each of these points
/// and checks that other threads complete thousands of operations
/// meanwhile, with every value accounted for; `tests/loom_ring.rs` checks
/// the same in every interleaving of a small model.
///
/// No threshold is needed. SCQ's threshold bounds the dequeuers that
/// fetch-and-add the head past the tail of an empty ring (each one spoils
/// an entry a later enqueue then skips, so without the bound they could
/// starve enqueuers). Here a pop that finds the slot at the head empty
/// claims nothing and changes nothing: it reports `Empty`, and pushes
/// never meet a slot a pop has spoiled.
///
/// Under `std`, a `try_push` or `try_pop` (and so a blocking `push` or
/// `pop`) that lost its first compare-and-swap to another operation on the
/// same end spins a bounded while before it tries again (see **Cost and
/// sizes**); it holds nothing then but its own spare cell and value, so the
/// spin delays only the calling thread. The async futures' polls never
/// spin, and without `std` (where an operation may run in an interrupt
/// handler) nothing does.
///
/// Not wait-free: a push can lose its compare-and-swap to other pushes
/// again and again (each loss is another push done). The pool's growth
/// allocates, as does any unbounded number of threads. If more than `2^20`
/// threads (`2^10` on 32-bit targets) use one ring at the same time, the
/// cell field runs out of names and an operation waits for a spare to come
/// back.
///
/// The blocking and async forms wait only while the buffer is full (push)
/// or empty (pop), and are woken by the operation that changes that; a
/// blocking `push` or `pop` without a timeout may first wait a few
/// microseconds more for a run of room or values (see "Runs" in
/// `blocking.rs`).
///
/// # Memory ordering
///
/// - A push happens-before the pop that returns its value (and a
///   `force_push` that returns it as `Some(old)`): everything the pusher wrote
///   before pushing is visible to the thread that received the value.
/// - A pop happens-before every later push that writes into the cell it
///   read, so a value is always moved out before its cell is reused.
/// - [`close`](RingBuffer::close) happens-before every push that fails with
///   `Closed`, every pop that returns `Closed` (or `None`), and every
///   [`is_closed`](RingBuffer::is_closed) that returns `true`.
/// - `Full`, `Empty`, `len` and the other snapshots publish nothing.
///
/// # Cost and sizes
///
/// One compare-and-swap per push or pop, as in Vyukov's ring (whose claim is
/// a compare-and-swap on `tail` or `head`); what lock-freedom adds is the
/// spare: under `std` one lookup of the thread's spare per operation (a
/// thread-local read and a comparison while the thread stays on one ring;
/// the ring's per-thread table when it switches), and a value that lives
/// in a cell apart from its slot word. Measured on the 2-vCPU x86-64 VM
/// this crate is developed on, against crossbeam's `ArrayQueue` (capacity
/// 1024, `u64`, one thread running a loop of `try_push` and `try_pop`; ns
/// are medians of three runs of 2·10^7 pairs side by side):
///
/// | one thread | RingBuffer | ArrayQueue |
/// |---|---|---|
/// | instructions per push + pop pair (callgrind) | 145 | 99 |
/// | ns per pair, push and pop alternating | 12.9 | 12.0 |
/// | ns per pair, 32 pushes then 32 pops | 13.3 | 20.9 |
/// | the same through `try_push_many`/`try_pop_many` | 12.9 | – |
///
/// Both pay two locked instructions per pair, most of the time there; the
/// extra instructions are the spare lookup and the cell indirection.
///
/// **A pop right after its own push.** When a thread pops the value it has
/// just pushed (the table's first row, or a thread that hands work to
/// itself through the ring), its pop would load a slot word that its push
/// has just written with a locked instruction. On the VM such a load costs
/// about 3 ns more than a load of another word (a loop of
/// compare-and-swap, load, compare-and-swap on one word: 15.0 ns; on two
/// words: 12.1 ns). `ArrayQueue` never meets this: its pop loads a stamp
/// that its push wrote with a plain store, which the store buffer forwards.
/// So each thread also remembers its last push (under `std` on targets
/// with 64-bit atomics, in a thread-local beside its cache of the last
/// ring's spare): the ring's 64-bit number, the position and the slot word
/// the push wrote; a `try_pop` that finds the head hint of that ring at
/// that position tries its compare-and-swap on that word instead of loading
/// the slot. The compare-and-swap decides, as it does for a loaded word: if
/// anything changed the slot since (a pop took the value, a `force_push`
/// replaced it, a `close` marked it), it fails and the pop goes the general
/// way; and a remembered word is always a full one, so `Empty` still comes
/// only from a load. Alternating pairs went from 16.2 to 12.5–13.3 ns, and
/// the contention report's `ring/pairs` from 0.71–0.72× `ArrayQueue` to
/// 0.83–0.88× (six runs of 5 rounds of each build, alternating), where
/// `ArrayQueue`'s calls, like the ring's, are not inlined into the loop:
/// the ring's larger fast path pays more for the call.
///
/// Between cores, an element that moves from a producer's core to a
/// consumer's takes two cache lines with it, its slot word's and its
/// cell's, where ArrayQueue's slots hold their values. With a stride of 17
/// (so that no two neighbouring positions shared a line) the ring ran at
/// 0.52–0.86× ArrayQueue with one producer and one consumer on the 2-vCPU
/// VM (60 ns between the cores), and at 0.30–0.38× with two of each, where
/// it also reported `Full` about ten times as often and its threads yielded
/// to each other (after 127 spins without progress) about thirty times as
/// often: the report's `ring/mpmc` and `ring/spsc` workloads, README
/// "Performance". Three changes brought it near ArrayQueue on new rings;
/// the last of them does not last under several producers or consumers.
///
/// The first is the stride of 5, which puts one or two neighbouring
/// positions on a line, so that a run of pops (or pushes) moves fewer lines
/// per element: `ring/mpmc` with two of each went from 21.8–23.2 to
/// 33.1–35.9 million elements a second, with one of each from 20.5–21.7 to
/// 39.7–41.4 (`MIN_STRIDE` in `word.rs` gives the ratios). A stride of 1
/// was worse at one and one (0.6×: the consumer catches up and shares the
/// producer's lines).
///
/// The second is a long spin (a short back-off before retrying a failed
/// compare-and-swap did not change the two-and-two figure): a `try_push` or
/// `try_pop` that lost its compare-and-swap to another on the same end
/// spins about 20 µs (2048 `pause`s) before it tries again, so that the
/// winner runs a series of operations on lines it keeps; it does not spin
/// if the buffer has meanwhile become full (push) or empty (pop), where the
/// contest is for slots only the other end can free and a spin would keep
/// that end off the core whenever threads outnumber cores. First taken after
/// the operation had succeeded, a spin of 1024 `pause`s took `try_*` with
/// two of each on the two cores from 11.0–11.9 to 13.5–13.9 million
/// elements a second (0.25× to 0.28–0.32× ArrayQueue) and the blocking
/// `push`/`pop` from 6.3–6.9 to 11.7–13.6 million (0.13–0.16× to 0.29–0.33×
/// crossbeam-channel), two runs of 9 rounds each, side by side with the
/// build without it; 2048 gained another 10–20%. Taken before the retry
/// instead, as now, 4096 gained another 20–50% at two and two (`try_*`
/// 15.6–19.8 to 23.0–24.0 million, `BACK_OFF_PAUSES` in the source gives
/// the figures), for a 99th percentile of the report's push-to-pop latency
/// at two and two of 2.2–2.3 µs against 0.9–1.2 (median unchanged,
/// 264–283 ns; four runs of each build). With the stride of 5 a shorter
/// spin, 1024, did better on new rings, and 2048 does on aged ones (below;
/// `BACK_OFF_PAUSES`). One producer and one consumer never lose such a race
/// and ran as before.
///
/// The third is the order of the cells, and it holds only while the order
/// lasts. A new ring's slot of lap 0's `k`-th position starts with cell
/// `k`, so that a run of pops reads its values from neighbouring cells,
/// eight `u64`s to a line. Each push and pop trades cells. With one
/// producer and one consumer the trades keep the order: the cell of
/// position `p + capacity` is the one of `p − 2` (a pop leaves the cell of
/// its own previous pop in the slot it empties, and a push fills the cell
/// it found at its own previous position). With more threads on an end
/// they scramble it, since a pusher's previous position is no longer the
/// one before its next: with two producers and two consumers, 84% of
/// neighbouring positions held neighbouring cells after 0.3 s of traffic,
/// 9% after 3 s. From then on each element's cell is a line of its own
/// to move between the cores, besides its slot word's (above), and the
/// ring runs at about half its rate on a new ring. `ring/mpmc` with two
/// producers and two consumers, rounds of 4 s instead of 120 ms, three
/// rounds: 22.5–23.2 million elements a second
/// against ArrayQueue's 36.5–39.3 (0.6×), where 120 ms rounds on new rings
/// read 45–51; with one producer and one consumer nothing decays (43
/// against 37). So the contention report ages every ring it runs with more
/// than one producer or consumer (`age_ring` in `benches/workloads`: four
/// threads pushing and popping at random scramble the cells in a few
/// milliseconds), and its figures for those runs are the settled ones;
/// earlier figures in these notes come from new rings. On a new ring the
/// order gave `ring/mpmc` with two of each 46.5–50.6 against 36.4–39.6 for
/// cells a stride apart, and nothing at one and one or on one thread.
/// Neither padding each cell to a line of its own (settled: 23 either way;
/// new: 32 against 50) nor prefetching the cell before the pop's
/// compare-and-swap (21–22 either way, with the cells scrambled from the
/// start) changed the settled rate; a prefetch for writing of the new spare
/// halved it.
///
/// What would keep the order is a value that stays in its slot's cell,
/// beside the slot word (16-byte entries for `u64`): a push that claims
/// the slot's empty cell with one compare-and-swap, writes it, and
/// publishes it with a second, and a pop that claims the full cell and
/// gives it back the same way, two more locked instructions per pair. To
/// stay lock-free, a push that finds a slot claimed by a stalled push must
/// overtake the claim with a cell of its own (the claimer's publish then
/// fails and it retries), and since positions must fill in order it may
/// not step past the claimed slot. `docs/research/two_step_ring` is a
/// prototype of that (`u64` values, no `close` or `force_push`, the hints
/// and back-off above, a claim overtaken after one back-off of 2048
/// `pause`s) with a harness that runs it beside this ring (aged first when
/// it has two or more producers or consumers) and `ArrayQueue`. Eleven runs
/// of 2 s each, medians of the ratio to `ArrayQueue` with one, two and four
/// producers and consumers: two-step 1.02×, 0.99×, 0.95×; this ring 0.82×,
/// 0.83×, 0.97×. On one thread, a push + pop pair took 26–29 ns against
/// this ring's 12.2–13.2 (six runs) and `ArrayQueue`'s 11.4–12.4. So the
/// two-step core would gain about a fifth with one or two of each, nothing
/// with four, and halve the one-thread rate, and still run at about
/// `ArrayQueue`'s rate rather than above it. Not built. (A first version of
/// the prototype, whose pushes stepped past a slot still being written, read
/// 1.3–1.4× with two and four of each; its pops could then report `Empty`
/// while a later position held a value.) The contention report also runs
/// lfqueue's SCQ, the published bounded queue that is lock-free and
/// linearizable as this one is (Nikolaev, below): README "Performance"
/// gives this ring's rate over it.
///
/// Nobody ever waits for a stalled thread, which is what the ring buys with
/// all this.
///
/// `head` and `tail` each sit in a `CachePadded` (128 bytes on x86-64 and
/// aarch64, 32 on Cortex-M); slot words and cells are not padded, but from
/// 20 slots on consecutive positions are a stride of 5 or more slots apart
/// (see **Algorithm**), so neighbouring operations mostly use different
/// lines. Memory: `capacity` slot words (8 bytes each, 4 on 32-bit
/// targets) and `capacity + 4` cells of `size_of::<T>()`, plus, for each
/// thread that uses the ring (`std`), a cell beyond the first four and an
/// entry on a cache line of its own that names its spare (256 bytes on
/// x86-64).
///
/// # References
///
/// - P. Tsigas and Y. Zhang, *A simple, fast and scalable non-blocking
///   concurrent FIFO queue for shared memory multiprocessor systems*, SPAA
///   2001 (compare-and-swap on array slots, head and tail updated lazily).
/// - D. Vyukov, *Bounded MPMC queue*, 1024cores.net, and crossbeam-queue's
///   `ArrayQueue` (lap stamps, `index + lap` positions, exact capacity).
/// - R. Nikolaev, *A Scalable, Portable, and Memory-Efficient Lock-Free FIFO
///   Queue*, DISC 2019 (SCQ: cycle-tagged entries, values kept apart from
///   the atomic ring).
/// - M. Herlihy and J. Wing, *Linearizability: A Correctness Condition for
///   Concurrent Objects*, TOPLAS 1990 (what "linearizable" promises).
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
    /// Hint: a position at or before the head (the next pop's). Stored by
    /// pops (and `force_push`) after they finish.
    head: CachePadded<AtomicWord>,
    /// Hint: a position at or before the tail (the next push's). Stored by
    /// pushes after they finish.
    tail: CachePadded<AtomicWord>,
    /// The slot words: `[ stamp | closed | cell ]` (see the type docs).
    slots: Box<[AtomicWord]>,
    /// The bit layout of the slot words and hints, fixed by the capacity.
    layout: Layout,
    /// Where values live, the pool of free cells, each thread's spare.
    cells: Cells<T>,
    /// Set by `close` after it marked the tail slot, so that `is_closed`
    /// usually needs one load; the mark is the truth.
    closed: AtomicBool,
    /// Blocked and pending pops and pushes (threads and tasks), each queue
    /// on its own cache lines; woken through the `notify_*` hooks below.
    waiters: RingWaiters,
}

// SAFETY: the buffer owns its values (it moves them in and out and drops the
// rest), so sending it sends `T`s: `T: Send` suffices. The other fields are
// atomics, the cells (uninitialized or holding those `T`s), a per-thread
// table of cell indices, and wait queues, all `Send`.
unsafe impl<T: Send> Send for RingBuffer<T> {}

// SAFETY: through `&RingBuffer` a thread can only move values in (push) and
// out (pop); it never gets a `&T`. A cell is accessed only by its one owner
// (invariant 5 in the type docs): the thread that wrote a value hands the
// cell over with a compare-and-swap, and the thread that takes it is the
// only one to read it. So sharing the buffer only moves `T`s between
// threads, which `T: Send` permits; `T: Sync` is not needed.
unsafe impl<T: Send> Sync for RingBuffer<T> {}

/// How many `pause`s a `try_push`/`try_pop` (or an element of a batch)
/// spins after losing its compare-and-swap to another operation on the same
/// end, before it tries again, if the buffer still has room (push) or values
/// (pop) ([`back_off`]; see "Cost and sizes" on [`RingBuffer`]): about 20 µs
/// on this project's 2-core VM. Chosen on the contention report's `ring/mpmc`
/// and `ring-blocking/mpmc` workloads (2p2c and 4p4c, runs of 5 rounds, each
/// build beside the one before it, million elements a second):
///
/// | spin | `try_*` 2p2c | `try_*` 4p4c | blocking 2p2c | blocking 4p4c |
/// |---|---|---|---|---|
/// | 2048 after the operation succeeded (before; four runs) | 15.6–19.8 | 16.1–18.4 | 18.3–19.7 | 18.6–20.8 |
/// | 2048 before the retry | 22.1–22.7 | 20.6–21.0 | 25.0–25.1 | 23.1–23.3 |
/// | 4096 before the retry | 23.0–23.7 | 21.0–21.2 | 25.7–27.1 | 23.4–24.0 |
/// | 4096 before the retry, with room or values left | 23.4–24.0 | 20.8–21.1 | 26.0–26.8 | 24.5–25.7 |
///
/// Earlier, with the spin after the operation: 1024 pauses gave 14.5–16.2
/// at 2p2c (three runs of 7 rounds), 2048 17.4–18.5, 4096 no better.
///
/// With the stride of 5 (`word.rs`, `MIN_STRIDE`) the spin was measured
/// again, as ratios to `ArrayQueue` (`try_*`) and to crossbeam-channel
/// (blocking), five runs of 5 rounds of each build alternating, medians of
/// the five in brackets:
///
/// | spin | `try_*` 2p2c | `try_*` 4p4c | blocking 2p2c | blocking 4p4c |
/// |---|---|---|---|---|
/// | 4096 | 0.81–0.97 (0.93) | 0.87–1.17 (1.10) | 0.83–0.99 (0.92) | 1.05–1.24 (1.14) |
/// | 1024 | 0.73–0.98 (0.91) | 1.00–1.24 (1.04) | 0.98–1.18 (1.14) | 1.14–1.35 (1.26) |
///
/// 2048 and 8192 (two runs each) were no better than 4096.
///
/// All of the above ran on new rings. On aged ones (the cells' order gone,
/// "Cost and sizes"), as the report now runs them, three runs of each
/// (million elements a second; the same build, the spin set at run time):
///
/// | spin | `try_*` 2p2c | `try_*` 4p4c | blocking 2p2c | blocking 4p4c |
/// |---|---|---|---|---|
/// | 1024 | 20.4–22.8 | 20.9–21.3 | 22.0–23.2 | 22.3–22.7 |
/// | 2048 (now) | 26.1–28.1 | 24.6–27.8 | 26.4–27.1 | 26.1–27.1 |
/// | 4096 | 28.6–31.2 | 22.2–25.1 | 26.9–29.7 | 25.4–27.6 |
///
/// The price is the tail of the push-to-pop latency with two producers and
/// two consumers (the report's `latency/ring`, two runs each): 99th
/// percentile 0.75–1.27 µs at 1024, 1.23–1.42 µs at 2048, 2.19 µs at 4096;
/// the median stayed at 381–421 ns. One producer and one consumer never
/// lose such a race.
const BACK_OFF_PAUSES: usize = 1 << 11;

/// What the search for the tail found.
enum Tail {
    /// The tail slot is empty for the push at this position; the word read.
    Room(Position, Word),
    /// The tail slot holds the value one lap older: the buffer is full.
    Full(Position, Word),
    /// The tail slot carries the closed bit (the word read tells whether the
    /// buffer is also full).
    Closed(Position, Word),
}

/// What the search for the head found.
enum Head {
    /// The head slot holds the value pushed at this position; the word read.
    Value(Position, Word),
    /// The head slot is empty for this lap: the buffer is empty.
    Empty(Position),
    /// Empty, and the closed bit is set: closed and drained.
    Closed(Position),
}

impl<T> RingBuffer<T> {
    /// The largest capacity [`try_new`](RingBuffer::try_new) accepts for this
    /// element type.
    ///
    /// Two limits, the smaller wins: the cells must fit in `isize::MAX`
    /// bytes (Rust's limit for one allocation), and the slot words must hold
    /// a cell index for `capacity + 2^20` cells with enough lap bits left
    /// (see "ABA" on the type). On 64-bit targets memory binds first; on
    /// 32-bit targets without 64-bit atomics the words allow `2^18 − 2^10`
    /// (261 120).
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// assert!(RingBuffer::<u64>::MAX_CAPACITY >= 1 << 16);
    /// assert!(RingBuffer::<[u8; 1024]>::MAX_CAPACITY <= RingBuffer::<u8>::MAX_CAPACITY);
    /// ```
    pub const MAX_CAPACITY: usize = {
        let by_memory = match size_of::<T>() {
            0 => usize::MAX,
            size => isize::MAX as usize / size - 4,
        };
        if by_memory < MAX_CAPACITY_BY_LAYOUT {
            by_memory
        } else {
            MAX_CAPACITY_BY_LAYOUT
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
    ///   or if the allocator refuses the slots or cells (then
    ///   `requested <= max`: the capacity is representable, the memory is not
    ///   there). Both arrays are reserved with `Vec::try_reserve_exact`, so a
    ///   failed allocation becomes this error rather than an abort. (On
    ///   systems that overcommit memory an oversized request may still
    ///   succeed here and fail later, when the slot words are written.)
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
        let too_large = CapacityError::TooLarge {
            requested: capacity,
            max,
        };
        if capacity > max {
            return Err(too_large);
        }
        let layout = Layout::new(capacity).ok_or(too_large)?;
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| too_large)?;
        // Each slot starts empty for the push of lap 0, holding the cell
        // numbered as its position in the lap, so that neighbouring positions
        // name neighbouring cells ("Cost and sizes").
        let start = layout.start();
        slots.extend(
            (0..capacity).map(|slot| {
                AtomicWord::new(layout.word(start, false, false, layout.ordinal(slot)))
            }),
        );
        let cells = Cells::try_new(capacity).ok_or(too_large)?;
        Ok(Self {
            head: CachePadded::new(AtomicWord::new(0)),
            tail: CachePadded::new(AtomicWord::new(0)),
            // Length equals the exact reservation, so this does not reallocate.
            slots: slots.into_boxed_slice(),
            layout,
            cells,
            closed: AtomicBool::new(false),
            waiters: RingWaiters::new(),
        })
    }

    /// Pushes `value` at the back if there is room and the buffer is open.
    ///
    /// Lock-free: it never waits for another thread (see
    /// [Progress](RingBuffer#progress)), and reports `Full` only if the
    /// buffer held `capacity` values at some moment during the call.
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
        self.try_push_backing_off::<true>(value)
    }

    /// `try_push`, with the back-off after a lost race (`BACK_OFF`) or
    /// without it: the async futures' polls run without, so that a poll
    /// never spins on an executor's thread.
    #[inline(always)]
    fn try_push_backing_off<const BACK_OFF: bool>(&self, value: T) -> Result<(), PushError<T>> {
        let layout = &self.layout;
        // The fast path: the hint is the tail and its slot is empty for it.
        // The same steps as `push_or_replace`, straight-line.
        let at = self.tail_hint();
        let word = self.slots[layout.index(at)].load(SeqCst);
        if layout.is_empty_for(word, at) {
            let mut spare = self.cells.spare();
            let cell = spare.get();
            // SAFETY: the spare cell is ours alone (invariant 5) and holds no
            // value; `value` moves into it.
            unsafe { self.cells.cell(cell).with_mut(|slot| (*slot).write(value)) };
            pause::reached(PausePoint::PushBeforePublish);
            if let Some(new) = self.publish(layout, &mut spare, at, word) {
                pause::reached(PausePoint::PushAfterPublish);
                self.cells.pushed(layout.hint(at), new);
                // Release: pairs with the Acquire load in `tail_hint`; every
                // position up to ours is filled (invariant 4).
                self.tail.store(layout.hint(layout.next(at)), Release);
                drop(spare);
                self.notify_pushed();
                return Ok(());
            }
            // Another push got there first: take the value back (the cell is
            // still our spare, untraded), back off if there is still room
            // (see "Cost and sizes") and go the general way.
            // SAFETY: written just above, not published, ours alone.
            let value = unsafe { self.move_out(spare.current()) };
            drop(spare);
            if BACK_OFF {
                self.push_back_off(at);
            }
            return self.try_push_slow(value);
        }
        self.try_push_slow(value)
    }

    /// The back-off of a `try_push` (or an element of `try_push_many`) that
    /// lost its compare-and-swap at `at` to another push: spins
    /// [`BACK_OFF_PAUSES`] if the buffer still has room. When it is full (or
    /// closed) the pushes are contending for slots that only pops can free,
    /// and a spin would keep those pops off the core whenever there are more
    /// threads than cores. The search only decides whether to spin: its
    /// verdict is reported to nobody, so it is no linearization point (the
    /// retry makes its own search). Where `back_off` does nothing (without
    /// `std`, under loom) there is no search either.
    #[cold]
    fn push_back_off(&self, at: Position) {
        if !cfg!(all(feature = "std", not(freelane_loom))) {
            return;
        }
        if let Tail::Room(..) = self.find_tail(at) {
            back_off(BACK_OFF_PAUSES);
        }
    }

    /// `try_push` past its fast path.
    #[cold]
    fn try_push_slow(&self, value: T) -> Result<(), PushError<T>> {
        match self.push_or_replace(value, false) {
            Ok(_) => Ok(()),
            Err(Refused::Full(value)) => Err(PushError::Full(value)),
            Err(Refused::Closed(value)) => Err(PushError::Closed(value)),
        }
    }

    /// Takes the value at the front, if there is one.
    ///
    /// Lock-free: it never waits for another thread, and reports `Empty`
    /// only if the buffer held no value at some moment during the call.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] if the buffer holds no value and is open;
    /// [`PopError::Closed`] if it is closed and holds no value (drained).
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
        self.try_pop_backing_off::<true>()
    }

    /// `try_pop`, with or without the back-off (see
    /// `try_push_backing_off`).
    #[inline(always)]
    fn try_pop_backing_off<const BACK_OFF: bool>(&self) -> Result<T, PopError> {
        let layout = &self.layout;
        // The fast path: the hint is the head and its slot holds the value.
        let at = self.head_hint();
        // If this thread's last push was at the head, the word it wrote
        // there, tried without a load (a load right after the push's
        // compare-and-swap stalls: see "Cost and sizes"); the
        // compare-and-swap in `take` checks it. Else the slot, loaded.
        let word = match self.cells.last_push_at(layout.hint(at)) {
            Some(word) => word,
            None => self.slots[layout.index(at)].load(SeqCst),
        };
        if layout.is_full_at(word, at) {
            let mut spare = self.cells.spare();
            if let Some(value) = self.take(layout, &mut spare, at, word) {
                drop(spare);
                self.notify_popped();
                return Ok(value);
            }
            // Another pop took it first: as in `try_push`, a back-off if
            // there are values left, then the general way.
            drop(spare);
            if BACK_OFF {
                self.pop_back_off(at);
            }
        }
        self.try_pop_slow(at)
    }

    /// The back-off of a `try_pop` (or an element of `try_pop_many`) that
    /// lost its compare-and-swap at `at` to another pop: spins
    /// [`BACK_OFF_PAUSES`] if there are values left (see `push_back_off`).
    #[cold]
    fn pop_back_off(&self, at: Position) {
        if !cfg!(all(feature = "std", not(freelane_loom))) {
            return;
        }
        if let Head::Value(..) = self.find_head(at) {
            back_off(BACK_OFF_PAUSES);
        }
    }

    /// `try_pop` past its fast path, from `at` (the head hint read there).
    #[cold]
    fn try_pop_slow(&self, mut at: Position) -> Result<T, PopError> {
        let layout = self.layout;
        // Looked up only once there is a value to take: an `Empty` verdict
        // (a consumer polling) costs no spare lookup.
        let mut spare = None;
        loop {
            let (position, word) = match self.find_head(at) {
                Head::Value(position, word) => (position, word),
                Head::Empty(_) => return Err(PopError::Empty),
                Head::Closed(_) => return Err(PopError::Closed),
            };
            let held = spare.get_or_insert_with(|| self.cells.spare());
            let Some(value) = self.take(&layout, held, position, word) else {
                at = position;
                continue;
            };
            drop(spare);
            self.notify_popped();
            return Ok(value);
        }
    }

    /// Pushes `value`; if the buffer is full, replaces the oldest value with
    /// it and returns the one replaced.
    ///
    /// Linearizable and lock-free like [`try_push`](RingBuffer::try_push):
    /// the replacement is one atomic step that removes the oldest value and
    /// appends `value`, so no pop can see the buffer without either.
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
    /// assert_eq!(ring.force_push(3), Ok(Some(1))); // the oldest goes
    /// assert_eq!(ring.try_pop(), Ok(2));
    /// assert_eq!(ring.try_pop(), Ok(3));
    /// ring.close();
    /// assert_eq!(ring.force_push(4), Err(4));
    /// ```
    pub fn force_push(&self, value: T) -> Result<Option<T>, T> {
        match self.push_or_replace(value, true) {
            Ok(replaced) => Ok(replaced),
            // A replacing push never reports Full.
            Err(Refused::Full(value) | Refused::Closed(value)) => Err(value),
        }
    }

    /// Pushes values from the front of `items` at the back of the buffer, as
    /// many as fit, removes exactly those from `items` and returns how many.
    /// The rest stay in `items`, in order: nothing is lost when the buffer
    /// fills or closes part-way.
    ///
    /// Each value is its own push, linearizable on its own, one
    /// compare-and-swap each; they take effect in `items`' order, so one
    /// producer's order is kept (see [Batches](RingBuffer#batches)). The run
    /// shares one spare lookup, one hint update and one wake-up check. A
    /// return below `items.len()` means the buffer was full, or closed, at
    /// some moment after the last value went in; `0` with the buffer open
    /// means full. When the buffer is closed, nothing is taken and `0` is
    /// returned ([`is_closed`](RingBuffer::is_closed) tells the two apart).
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(4);
    /// ring.try_push(0).unwrap();
    /// let mut items = vec![1, 2, 3, 4, 5];
    /// assert_eq!(ring.try_push_many(&mut items), 3); // room for three
    /// assert_eq!(items, [4, 5]); // the rest, still in order
    /// assert_eq!(ring.try_push_many(&mut items), 0); // full
    /// ring.close();
    /// assert_eq!(ring.try_pop(), Ok(0));
    /// assert_eq!(ring.try_push_many(&mut items), 0); // closed: nothing taken
    /// assert_eq!(items, [4, 5]);
    /// ```
    pub fn try_push_many(&self, items: &mut Vec<T>) -> usize {
        let layout = self.layout;
        if items.is_empty() {
            return 0;
        }
        let mut spare = self.cells.spare();
        let mut at = self.tail_hint();
        let mut pushed = 0;
        // Whether `items[pushed]` has been copied into the spare cell. The
        // copy is bitwise: the value still belongs to `items` until the
        // compare-and-swap that publishes it succeeds.
        let mut copied = false;
        let base = items.as_ptr();
        while pushed < items.len() {
            // The next slot is usually the tail, empty for it: one load and
            // one comparison, as in `try_push`; else the general search.
            let word = self.slots[layout.index(at)].load(SeqCst);
            let (position, word) = if layout.is_empty_for(word, at) {
                (at, word)
            } else {
                match self.find_tail(at) {
                    Tail::Room(position, word) => (position, word),
                    Tail::Full(..) | Tail::Closed(..) => break,
                }
            };
            let cell = spare.get();
            if !copied {
                // SAFETY: `pushed < len`, so `base + pushed` is an element of
                // `items`; the spare cell is ours alone (invariant 5) and
                // holds no value. A bitwise copy: ownership moves only if
                // the compare-and-swap below succeeds.
                unsafe {
                    self.cells.cell(cell).with_mut(|slot| {
                        ptr::copy_nonoverlapping(base.add(pushed), (*slot).as_mut_ptr(), 1)
                    });
                }
                copied = true;
            }
            pause::reached(PausePoint::PushBeforePublish);
            if let Some(new) = self.publish(&layout, &mut spare, position, word) {
                if pushed == 0 {
                    // The first of the run is the one a pop of this
                    // thread may find at the head (see `try_pop`).
                    self.cells.pushed(layout.hint(position), new);
                }
                pushed += 1;
                copied = false;
                at = layout.next(position);
            } else {
                // Lost to another push: back off as `try_push` does.
                self.push_back_off(position);
                at = position;
            }
        }
        if pushed > 0 {
            pause::reached(PausePoint::PushAfterPublish);
            // Release: pairs with the Acquire load in `tail_hint`; every
            // position before the stored one is filled (invariant 4).
            self.tail.store(layout.hint(at), Release);
            // SAFETY: the first `pushed` elements were moved into the buffer
            // (their bits live on in its cells); shifting the rest down and
            // shortening the Vec forgets them without dropping. Nothing
            // between the copies and here can panic.
            unsafe {
                let rest = items.len() - pushed;
                let start = items.as_mut_ptr();
                ptr::copy(start.add(pushed), start, rest);
                items.set_len(rest);
            }
            drop(spare);
            self.notify_pushed_many(pushed);
        }
        pushed
    }

    /// Takes up to `max` values from the front of the buffer, appends them
    /// to `out` oldest first and returns how many.
    ///
    /// Each value is its own pop, linearizable on its own, in FIFO order
    /// (see [Batches](RingBuffer#batches)); the run shares one spare lookup,
    /// one hint update and one wake-up check. A return below `max` means the
    /// buffer was empty at some moment after the last value came out; `0`
    /// then means empty, or closed and drained
    /// ([`is_closed`](RingBuffer::is_closed) tells).
    ///
    /// `out` is grown before the first pop (by at most `capacity`), so an
    /// allocation failure leaves the buffer untouched.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(8);
    /// let mut items: Vec<u32> = (1..=5).collect();
    /// ring.try_push_many(&mut items);
    /// let mut out = vec![0];
    /// assert_eq!(ring.try_pop_many(&mut out, 3), 3);
    /// assert_eq!(out, [0, 1, 2, 3]); // appended, oldest first
    /// assert_eq!(ring.try_pop_many(&mut out, 10), 2);
    /// assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    /// assert_eq!(ring.try_pop_many(&mut out, 10), 0); // empty
    /// ```
    pub fn try_pop_many(&self, out: &mut Vec<T>, max: usize) -> usize {
        let layout = self.layout;
        let max = max.min(self.capacity());
        if max == 0 {
            return 0;
        }
        out.reserve(max);
        let mut spare = self.cells.spare();
        let mut at = self.head_hint();
        let mut taken = 0;
        while taken < max {
            // As in `try_pop`: the next slot usually holds the next value.
            let word = self.slots[layout.index(at)].load(SeqCst);
            let (position, word) = if layout.is_full_at(word, at) {
                (at, word)
            } else {
                match self.find_head(at) {
                    Head::Value(position, word) => (position, word),
                    Head::Empty(_) | Head::Closed(_) => break,
                }
            };
            match self.take_one(&layout, &mut spare, position, word) {
                Some(value) => {
                    // Reserved above: no reallocation, no panic.
                    out.push(value);
                    taken += 1;
                    at = layout.next(position);
                }
                None => {
                    // Lost to another pop: back off as `try_pop` does.
                    self.pop_back_off(position);
                    at = position;
                }
            }
        }
        if taken > 0 {
            // Release: pairs with the Acquire load in `head_hint`; every
            // position before the stored one is emptied (invariant 4).
            self.head.store(layout.hint(at), Release);
            drop(spare);
            self.notify_popped_many(taken);
        }
        taken
    }

    /// Closes the buffer: later pushes fail with `Closed`, pops drain what is
    /// left and then report `Closed`, and every blocked or pending push and
    /// pop is woken. Returns `true` for the call that closed it.
    ///
    /// Linearizable and lock-free: one compare-and-swap sets the closed bit
    /// in the slot at the tail (see [the type docs](RingBuffer#algorithm)).
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
        let mut at = self.tail_hint();
        loop {
            let (position, word) = match self.find_tail(at) {
                Tail::Room(position, word) | Tail::Full(position, word) => (position, word),
                Tail::Closed(..) => return false,
            };
            // SeqCst: the linearization point of `close`, in the one total
            // order with the pushes' and pops' compare-and-swaps and loads of
            // this slot; and the waiters' protocol (`crate::wait`): the
            // notify below must follow a SeqCst write of the word their
            // re-check reads. Relaxed on failure: we read the slot again.
            let marked = self.slots[self.layout.index(position)]
                .compare_exchange(word, self.layout.with_closed(word), SeqCst, Relaxed)
                .is_ok();
            if marked {
                pause::reached(PausePoint::CloseAfterMark);
                // SeqCst: `is_closed`'s fast path; a reader that sees it
                // sees the mark too (it was set before, in this thread).
                self.closed.store(true, SeqCst);
                // Mark first, then wake: a waiter's re-check after
                // registering must find the mark, or the notify must find
                // the waiter.
                self.notify_closed();
                return true;
            }
            at = position;
        }
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
        // SeqCst: pairs with the store in `close`, made after the mark.
        self.closed.load(SeqCst) || matches!(self.find_tail(self.tail_hint()), Tail::Closed(..))
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
        self.layout.capacity
    }

    /// How many values the buffer holds: a snapshot, which concurrent pushes
    /// and pops may have changed by the time it is returned.
    ///
    /// It finds the tail, then the head, then the tail again, and returns
    /// the distance when both tails agree (the buffer held exactly that many
    /// at the head's load). Under a stream of pushes that never lets two
    /// searches agree it gives up after a few tries and returns the last
    /// distance found (clamped to `0..=capacity`).
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
        /// Double collects tried before settling for an approximate answer.
        const TRIES: usize = 8;
        let mut tail = self.tail_position();
        let mut distance = 0;
        for _ in 0..TRIES {
            let head = self.head_position();
            distance = self.layout.positions_between(head, tail);
            let again = self.tail_position();
            if again == tail {
                break;
            }
            tail = again;
        }
        distance.min(self.capacity())
    }

    /// Whether the buffer holds no value: linearizable, at the load that
    /// `try_pop` would report `Empty` from.
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
        !matches!(self.find_head(self.head_hint()), Head::Value(..))
    }

    /// Whether the buffer holds `capacity` values: linearizable, at the load
    /// that `try_push` would report `Full` from.
    ///
    /// ```
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(1);
    /// ring.try_push(()).unwrap();
    /// assert!(ring.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        match self.find_tail(self.tail_hint()) {
            Tail::Full(..) => true,
            Tail::Room(..) => false,
            Tail::Closed(position, word) => self.layout.distance(word, position, true) == -1,
        }
    }
}

impl<T> RingBuffer<T> {
    /// The `tail` hint.
    #[inline(always)]
    fn tail_hint(&self) -> Position {
        // Acquire: pairs with the Release stores of the hint; the fills of
        // every position before it happen-before what we read next, so no
        // slot load below sees a state older than that (invariant 4).
        self.layout.position(self.tail.load(Acquire))
    }

    /// The `head` hint.
    #[inline(always)]
    fn head_hint(&self) -> Position {
        // Acquire: as in `tail_hint`, for the pops' empties.
        self.layout.position(self.head.load(Acquire))
    }

    /// The tail's slot, from `at` (a position at or before the tail) on.
    #[inline(always)]
    fn find_tail(&self, mut at: Position) -> Tail {
        let layout = self.layout;
        loop {
            // SeqCst: the loads that give `Full`/`Closed` are linearization
            // points, in the one total order with every compare-and-swap on
            // the slot words; and the waiters' re-check (`crate::wait`) is
            // such a load, which must follow their SeqCst registration.
            let word = self.slots[layout.index(at)].load(SeqCst);
            match layout.distance(word, at, true) {
                0 if layout.is_closed(word) => return Tail::Closed(at, word),
                0 => return Tail::Room(at, word),
                -1 if layout.is_closed(word) => return Tail::Closed(at, word),
                -1 => return Tail::Full(at, word),
                // Filled (1: full at this lap; more: later laps too): the
                // tail is past it. Jump to the position after the last one
                // the word shows filled.
                steps if steps > 0 => {
                    at = self.layout.next(layout.laps_after(at, (steps - 1) / 2));
                }
                _ => at = self.behind(at, self.tail_hint()),
            }
        }
    }

    /// The head's slot, from `at` (a position at or before the head) on.
    #[inline(always)]
    fn find_head(&self, mut at: Position) -> Head {
        let layout = self.layout;
        loop {
            // SeqCst: as in `find_tail`, for `Empty`/`Closed`.
            let word = self.slots[layout.index(at)].load(SeqCst);
            match layout.distance(word, at, false) {
                0 => return Head::Value(at, word),
                -1 if layout.is_closed(word) => return Head::Closed(at),
                -1 => return Head::Empty(at),
                // Emptied (1: empty for the next lap; more: later laps):
                // the head is past it.
                steps if steps > 0 => {
                    at = self.layout.next(layout.laps_after(at, (steps - 1) / 2));
                }
                _ => at = self.behind(at, self.head_hint()),
            }
        }
    }

    /// A slot word older than the position being looked at: only a search
    /// that started from a position past the true end can see one, and by
    /// invariant 4 none does, short of a lap-counter wrap (see "ABA" on
    /// the type). Starts over from the hint, which is never ahead.
    #[cold]
    fn behind(&self, at: Position, hint: Position) -> Position {
        debug_assert!(
            false,
            "slot {} is behind position {at:?}",
            self.layout.index(at)
        );
        hint
    }

    /// Where the tail is (for `len`).
    fn tail_position(&self) -> Position {
        match self.find_tail(self.tail_hint()) {
            Tail::Room(position, _) | Tail::Full(position, _) | Tail::Closed(position, _) => {
                position
            }
        }
    }

    /// Where the head is (for `len`).
    fn head_position(&self) -> Position {
        match self.find_head(self.head_hint()) {
            Head::Value(position, _) | Head::Empty(position) | Head::Closed(position) => position,
        }
    }

    /// `try_push`, and `force_push` when `replace`: publishes `value` at the
    /// tail, or (`replace`, buffer full) in place of the oldest value, which
    /// it returns.
    #[inline(always)]
    fn push_or_replace(&self, value: T, replace: bool) -> Result<Option<T>, Refused<T>> {
        let layout = self.layout;
        // Looked up only once there is room (or a value to replace): a
        // `Full` verdict (a producer polling) costs no thread-local access.
        let mut spare = None;
        let mut at = self.tail_hint();
        // The value, until it is copied into the spare cell; `copied` says
        // where it is. `ManuallyDrop`: after the copy, the cell's bits are
        // the value and these are forgotten.
        let value = ManuallyDrop::new(value);
        let mut copied = false;
        loop {
            let (position, word) = match self.find_tail(at) {
                Tail::Room(position, word) => (position, word),
                Tail::Full(position, word) if replace => (position, word),
                Tail::Full(..) => {
                    return Err(Refused::Full(self.value_back(
                        spare.as_ref(),
                        value,
                        copied,
                    )));
                }
                Tail::Closed(..) => {
                    return Err(Refused::Closed(self.value_back(
                        spare.as_ref(),
                        value,
                        copied,
                    )));
                }
            };
            let held = spare.get_or_insert_with(|| self.cells.spare());
            let cell = held.get();
            if !copied {
                // SAFETY: the spare cell is ours alone (invariant 5) and holds
                // no value; the bits of `value` move into it, `value` is
                // forgotten (and read back from the cell if the push fails).
                unsafe {
                    self.cells.cell(cell).with_mut(|slot| {
                        ptr::copy_nonoverlapping(&*value, (*slot).as_mut_ptr(), 1)
                    });
                }
                copied = true;
            }
            pause::reached(PausePoint::PushBeforePublish);
            let replaced = layout.distance(word, position, true) == -1;
            let Some(new) = self.publish(&layout, held, position, word) else {
                at = position;
                continue;
            };
            pause::reached(PausePoint::PushAfterPublish);
            self.cells.pushed(layout.hint(position), new);
            // Release: pairs with the Acquire load in `tail_hint`; every
            // position up to ours is filled (invariant 4).
            self.tail.store(layout.hint(layout.next(position)), Release);
            if !replaced {
                drop(spare);
                self.notify_pushed();
                return Ok(None);
            }
            // The oldest value, at the position one lap before ours, left in
            // the same step: its cell is our spare now.
            // SAFETY: the compare-and-swap that succeeded in `publish` took
            // the slot from "full at the previous lap, cell c" and gave us
            // `c` (now our spare): its value is initialized, published by
            // the push that wrote it (our SeqCst CAS read its word), and
            // ours alone to move out, once.
            let old = unsafe { self.move_out(held.get()) };
            // Release: pairs with the Acquire load in `head_hint`; every
            // position up to the replaced one is emptied.
            let oldest = layout.laps_after(position, -1);
            self.head.store(layout.hint(layout.next(oldest)), Release);
            drop(spare);
            return Ok(Some(old));
        }
    }

    /// The value of a push that did not happen, from wherever it is.
    fn value_back(
        &self,
        spare: Option<&cells::Spare<'_, T>>,
        value: ManuallyDrop<T>,
        copied: bool,
    ) -> T {
        match spare {
            // SAFETY: `copied` means the bits of `value` were moved into the
            // spare cell (still ours: no compare-and-swap gave it away) and
            // `value` is a forgotten copy; the cell's bits are the value.
            Some(spare) if copied => unsafe { self.move_out(spare.current()) },
            _ => ManuallyDrop::into_inner(value),
        }
    }

    /// The compare-and-swap that publishes the value in the spare cell at
    /// `position` (the slot becomes full at its lap), trading the spare for
    /// the slot's cell: the word it wrote, or `None` if the slot word
    /// changed since `word` was read.
    #[inline(always)]
    fn publish(
        &self,
        layout: &Layout,
        spare: &mut cells::Spare<'_, T>,
        position: Position,
        word: Word,
    ) -> Option<Word> {
        let new = layout.word(position, true, false, spare.current());
        // SeqCst: the linearization point of the push, in the one total
        // order with every other access to the slot words (and the waiters'
        // protocol, `crate::wait`). Its release half publishes the value
        // written into the cell to the pop whose compare-and-swap reads this
        // word; its acquire half makes the slot's previous owner's last
        // access to the cell we receive (a pop moving a value out)
        // happen-before our next write into it. Relaxed on failure: we read
        // the slot again.
        match self.slots[layout.index(position)].compare_exchange(word, new, SeqCst, Relaxed) {
            Ok(_) => {
                spare.traded_for(layout.cell(word));
                Some(new)
            }
            Err(_) => None,
        }
    }

    /// `try_pop`'s step: the compare-and-swap that takes the value at
    /// `position` (whose slot word was `word`), trading the spare for its
    /// cell, then the value. `None` if the slot word changed.
    #[inline(always)]
    fn take(
        &self,
        layout: &Layout,
        spare: &mut cells::Spare<'_, T>,
        position: Position,
        word: Word,
    ) -> Option<T> {
        let value = self.take_one(layout, spare, position, word)?;
        // Release: pairs with the Acquire load in `head_hint`; every position
        // up to ours is emptied (invariant 4).
        self.head.store(layout.hint(layout.next(position)), Release);
        Some(value)
    }

    /// The compare-and-swap of a pop and the move out of the value, without
    /// the hint update (batches update it once).
    #[inline(always)]
    fn take_one(
        &self,
        layout: &Layout,
        spare: &mut cells::Spare<'_, T>,
        position: Position,
        word: Word,
    ) -> Option<T> {
        let next_lap = layout.laps_after(position, 1);
        let new = layout.word(next_lap, false, layout.is_closed(word), spare.get());
        pause::reached(PausePoint::PopBeforeTake);
        // SeqCst: the linearization point of the pop, in the one total order
        // with the other accesses to the slot words (and the waiters'
        // protocol). Its acquire half pairs with the release half of the
        // push's compare-and-swap that wrote `word` (or of a later one in
        // its release sequence: only compare-and-swaps modify slot words),
        // so the value in the cell is visible; its release half makes our
        // move out of the cell happen-before its next owner's write (the
        // cell reaches that owner only through later compare-and-swaps or
        // the pool). The closed bit carries over. Relaxed on failure.
        self.slots[layout.index(position)]
            .compare_exchange(word, new, SeqCst, Relaxed)
            .ok()?;
        spare.traded_for(layout.cell(word));
        pause::reached(PausePoint::PopAfterTake);
        // SAFETY: the compare-and-swap took the slot from "full at this
        // position's lap, cell c" and gave us `c` (now our spare): its value
        // is initialized and visible (above), and ours alone to move out,
        // once; the cell leaves our hands only after this read.
        Some(unsafe { self.move_out(spare.current()) })
    }

    /// Moves the value out of `cell`.
    ///
    /// # Safety
    /// The caller owns `cell` (invariant 5), it holds an initialized value
    /// whose write happens-before this call, and the caller treats the cell
    /// as empty afterwards.
    #[inline(always)]
    unsafe fn move_out(&self, cell: usize) -> T {
        // SAFETY: `cell` exists (it came from a slot word or the pool); the
        // caller's contract covers the rest.
        unsafe {
            self.cells
                .cell(cell)
                .with(|slot| (*slot).assume_init_read())
        }
    }

    // ---- the waiters' hooks (see `crate::wait`) -------------------------

    /// Wakes one blocked pop, if any: one load when none waits. Called after
    /// the SeqCst compare-and-swap that published a value.
    #[inline(always)]
    fn notify_pushed(&self) {
        self.waiters.not_empty.notify_one();
    }

    /// Wakes one blocked push, if any: one load when none waits. Called
    /// after the SeqCst compare-and-swap that took a value.
    #[inline(always)]
    fn notify_popped(&self) {
        self.waiters.not_full.notify_one();
    }

    /// Wakes up to `count` blocked pops, after a batch pushed `count`
    /// values: one load when none waits.
    #[inline]
    fn notify_pushed_many(&self, count: usize) {
        for _ in 0..count {
            if !self.waiters.not_empty.notify_one() {
                break;
            }
        }
    }

    /// Wakes up to `count` blocked pushes, after a batch popped `count`
    /// values; as `notify_pushed_many`.
    #[inline]
    fn notify_popped_many(&self, count: usize) {
        for _ in 0..count {
            if !self.waiters.not_full.notify_one() {
                break;
            }
        }
    }

    /// Wakes every blocked push and pop. Called after the SeqCst
    /// compare-and-swap that set the closed bit.
    fn notify_closed(&self) {
        self.waiters.not_empty.notify_all();
        self.waiters.not_full.notify_all();
    }
}

/// Why `push_or_replace` did not push; the value comes back.
enum Refused<T> {
    Full(T),
    Closed(T),
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
    /// Drops every value still in the buffer, exactly once; if one value's
    /// `drop` panics, the others are still dropped (then the panic goes on).
    fn drop(&mut self) {
        /// Drops the values of the slots from `next` on when dropped, so a
        /// panicking `T::drop` does not leak the ones after it.
        struct Rest<'a, T> {
            ring: &'a RingBuffer<T>,
            next: usize,
        }
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                let ring = self.ring;
                while self.next < ring.slots.len() {
                    let index = self.next;
                    self.next += 1;
                    // Relaxed: `&mut` access to the ring (through `Drop`);
                    // whatever handed it to us synchronized.
                    let word = ring.slots[index].load(Relaxed);
                    if ring.layout.holds_value(word) {
                        // SAFETY: no operation runs (we are in `drop`); a
                        // slot word whose stamp is odd names a cell holding
                        // the value pushed there (invariant 5), dropped once
                        // here and never again.
                        drop(unsafe { ring.move_out(ring.layout.cell(word)) });
                    }
                }
            }
        }
        drop(Rest {
            ring: self,
            next: 0,
        });
    }
}

#[cfg(all(test, not(freelane_loom)))]
mod tests {
    use super::RingBuffer;

    /// "Cost and sizes": a new ring's slots name the cells in position order,
    /// so that neighbouring positions' values share lines.
    #[test]
    fn neighbouring_positions_start_with_neighbouring_cells() {
        for capacity in [1, 19, 20, 64, 1000, 1024] {
            let ring = RingBuffer::<u64>::new(capacity);
            let layout = ring.layout;
            let mut position = layout.start();
            for ordinal in 0..capacity {
                let word = ring.slots[layout.index(position)].load(super::Relaxed);
                assert!(layout.is_empty_for(word, position));
                assert_eq!(
                    layout.cell(word),
                    ordinal,
                    "capacity {capacity}: the slot of position {ordinal}"
                );
                position = layout.next(position);
            }
        }
    }
}
