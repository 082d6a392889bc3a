//! The contention workloads behind `cargo bench` and `examples/contention`.
//!
//! Every workload starts its threads together on a [`Barrier`], runs a fixed
//! number of operations ([`Stop::Ops`], what criterion asks for) or a fixed
//! time ([`Stop::Time`], what the report uses), and checks its own result
//! before it returns: no item lost or duplicated, exact counts, permits all
//! returned. A wrong result panics with the structure's name; a benchmark of
//! a broken structure never prints a number.
//!
//! Threads are pinned round-robin to the machine's cores (thread `i` on core
//! `i mod cores`, so the SPSC pair sits on cores 0 and 1) unless the run says
//! `pinned: false`. `FREELANE_THREADS=1,2,8` overrides the thread counts and
//! `FREELANE_UNPINNED=1` unpins, for the benches and the report alike.
//!
//! Included with `#[path]` by each bench in `benches/` and by
//! `examples/contention/main.rs`; each uses a part of it.
//!
//! Sections: machine and settings; the runner; queues (pairs, SPSC, MPMC;
//! blocking pairs and MPMC beside crossbeam-channel bounded); counters; semaphores; physical limits (cache-line ping-pong, rtrb SPSC);
//! the catalog every front end iterates. Two submodules at the end:
//! `rate_limit` (RateLimiter beside governor) and `async_waits` (the async
//! semaphore and ring on tokio's runtime, beside tokio's Semaphore and
//! async-channel).
//! A third, `latency`, times single hand-offs into histograms (push to pop,
//! acquire to grant, wake-up to poll) and a cache line between every pair of
//! cores, for the report's latency sections.
// Each includer (six benches, one example) uses a different part.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::hint::spin_loop;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::{Barrier, Condvar, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use concurrent_queue::ConcurrentQueue;
use crossbeam_queue::{ArrayQueue, SegQueue};
use freelane::{AtomicCounter, MsQueue, RingBuffer, SegmentedQueue, Semaphore, ShardedCounter};

// ---------------------------------------------------------------------------
// Machine and settings
// ---------------------------------------------------------------------------

/// Capacity of every bounded queue (freelane's ring and its peers alike).
pub const CAPACITY: usize = 1024;

/// Logical cores the process may run on (`available_parallelism`), at least 1.
pub fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// The thread counts to measure: `FREELANE_THREADS` (e.g. `1,2,8`) if set,
/// else 1, 2, then powers of two up to 4× the core count.
pub fn thread_counts() -> Vec<usize> {
    if let Ok(list) = std::env::var("FREELANE_THREADS") {
        return parse_thread_list(&list)
            .unwrap_or_else(|err| panic!("FREELANE_THREADS={list:?}: {err}"));
    }
    default_thread_counts(cores())
}

/// 1, 2, 4, ... up to `4 * cores` (at least 1 and 2).
pub fn default_thread_counts(cores: usize) -> Vec<usize> {
    let mut counts = vec![1];
    let mut threads = 2;
    while threads <= (4 * cores).max(2) {
        counts.push(threads);
        threads *= 2;
    }
    counts
}

/// Parses `1,2,8` into sorted, deduplicated, non-zero thread counts.
pub fn parse_thread_list(list: &str) -> Result<Vec<usize>, String> {
    let mut counts = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.parse::<usize>() {
            Ok(0) | Err(_) => return Err(format!("{item:?} is not a thread count (1 or more)")),
            Ok(n) => counts.push(n),
        }
    }
    if counts.is_empty() {
        return Err("no thread count given".into());
    }
    counts.sort_unstable();
    counts.dedup();
    Ok(counts)
}

/// Whether threads are pinned unless told otherwise: `FREELANE_UNPINNED` unset (or `0`).
pub fn pinned_by_default() -> bool {
    std::env::var("FREELANE_UNPINNED").map_or(true, |v| v.is_empty() || v == "0")
}

fn core_ids() -> &'static [core_affinity::CoreId] {
    static IDS: OnceLock<Vec<core_affinity::CoreId>> = OnceLock::new();
    IDS.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
}

/// Keeps what it holds on a cache line (pair) of its own, so the structure
/// under test shares no line with the runner's flags or the stack. 128 bytes:
/// the adjacent-line prefetcher on x86-64 pulls lines in pairs (the size
/// crossbeam-utils' `CachePadded` uses there).
#[repr(align(128))]
pub struct Padded<T>(pub T);

// ---------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------

/// When a run ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many operations in all (shared out between the threads doing them).
    Ops(u64),
    /// After this long (plus the time to drain what is in flight).
    Time(Duration),
}

/// One run of a workload.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Threads in all (for the MPMC workload: half produce, half consume).
    pub threads: usize,
    /// Pin thread `i` to core `i mod cores`.
    pub pinned: bool,
    /// Fixed count or fixed time.
    pub stop: Stop,
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// Operations (elements moved, increments, acquire/release pairs, round trips).
    pub ops: u64,
    /// From the moment the barrier released the threads to the last one's end.
    pub elapsed: Duration,
    /// Each thread's own operations (a producer's pushes, a consumer's pops).
    pub per_thread: Vec<u64>,
}

impl Measurement {
    /// Millions of operations per second.
    pub fn mops(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
    }

    /// min/max of the per-thread operation counts: 1 when every thread got
    /// as much done, near 0 when one starved.
    pub fn fairness(&self) -> f64 {
        let max = self.per_thread.iter().copied().max().unwrap_or(0);
        let min = self.per_thread.iter().copied().min().unwrap_or(0);
        if max == 0 {
            1.0
        } else {
            min as f64 / max as f64
        }
    }
}

/// The shared side of a run: when to stop.
pub struct Control {
    stop: Padded<AtomicBool>,
    total: Option<u64>,
}

impl Control {
    /// The budget of part `part` of `parts` that share the run's operations.
    pub fn budget(&self, part: usize, parts: usize) -> Budget<'_> {
        match self.total {
            Some(total) => Budget {
                limit: share(total, parts, part),
                stop: None,
            },
            None => Budget {
                limit: u64::MAX,
                stop: Some(&self.stop.0),
            },
        }
    }
}

/// Part `part` of `total` split in `parts` as evenly as possible (the parts add up to `total`).
pub fn share(total: u64, parts: usize, part: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((part as u64) < total % parts)
}

/// How much one thread may still do.
pub struct Budget<'a> {
    limit: u64,
    stop: Option<&'a AtomicBool>,
}

impl Budget<'_> {
    /// Whether a thread that has done `done` operations goes on.
    #[inline]
    pub fn more(&self, done: u64) -> bool {
        // Relaxed: the flag is a hint to stop; the results travel through the join.
        done < self.limit && self.stop.is_none_or(|stop| !stop.load(Relaxed))
    }
}

/// Spin, then yield: what a thread does when its queue is full or empty or
/// the permit is taken. Yielding keeps oversubscribed runs (more threads than
/// cores) from burning a time slice while the thread it waits for is off-CPU.
#[derive(Default)]
pub struct Backoff {
    step: u32,
}

impl Backoff {
    /// Exponential spin up to 64 hints, then `yield_now`.
    #[inline]
    pub fn snooze(&mut self) {
        if self.step <= 6 {
            for _ in 0..1u32 << self.step {
                spin_loop();
            }
            self.step += 1;
        } else {
            thread::yield_now();
        }
    }

    /// After progress.
    #[inline]
    pub fn reset(&mut self) {
        self.step = 0;
    }
}

/// Brings a new [`RingBuffer`] to the state a long-running one reaches
/// under more than one producer or more than one consumer, before a run
/// that has them (with one of each it returns at once).
///
/// A new ring's slots name its cells in position order, so that a run of
/// pops reads neighbouring cells; each push and pop trades cells, and with
/// several threads on one end the trades scramble that order within about
/// half a second of traffic (with one producer and one consumer they keep
/// it). A run of 120 ms on a new ring would measure the ordered start, up
/// to twice the rate the ring settles at ("Cost and sizes" on
/// `RingBuffer`). So before such a run four threads push and pop at random
/// (100 000 operations each, a few milliseconds), which leaves the cells in
/// no order, and the ring is emptied. No other structure here keeps state
/// that traffic changes this way, so the others are not aged.
pub fn age_ring(ring: &RingBuffer<u64>, producers: usize, consumers: usize) {
    if producers < 2 && consumers < 2 {
        return;
    }
    thread::scope(|scope| {
        for seed in 1..=4u64 {
            scope.spawn(move || {
                // xorshift64: a push or a pop at random.
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
    assert!(ring.is_empty(), "RingBuffer: aged ring not empty");
}

/// How many times [`drain_epoch_garbage`] flushes: each flush runs up to
/// eight bags of 64 deferred functions once the epoch has moved on (as it
/// does here, with no other thread pinned), so this clears up to ten
/// million; an empty flush costs tens of nanoseconds.
const DRAIN_FLUSHES: usize = 20_000;

/// Runs what earlier runs left behind in crossbeam-epoch's global
/// collector before the next run's clock starts. `MsQueue` (its batches of
/// popped nodes) and `SegmentedQueue` (its drained segments) defer work to
/// that collector, and with more threads than cores a thread preempted
/// while pinned holds the epoch, so a run can end with millions of
/// deferred frees pending. Whichever structure's threads pin next would run
/// them inside its own timed run: measured, `SegmentedQueue`'s `pop-only`
/// at 8 threads fell from 61–69 to rounds of 1–20 million pops a second
/// when it ran after `MsQueue`'s. Work a structure defers during its own
/// run is still collected by its own threads, inside its time.
fn drain_epoch_garbage() {
    for _ in 0..DRAIN_FLUSHES {
        crossbeam_epoch::pin().flush();
    }
}

/// Runs `body(index, control)` on `threads` threads that start together;
/// returns the elapsed time and each thread's result, in thread order.
pub fn run_threads<R, F>(run: &Run, threads: usize, body: F) -> (Duration, Vec<R>)
where
    R: Send,
    F: Fn(usize, &Control) -> R + Sync,
{
    drain_epoch_garbage();
    let control = Control {
        stop: Padded(AtomicBool::new(false)),
        total: match run.stop {
            Stop::Ops(total) => Some(total),
            Stop::Time(_) => None,
        },
    };
    let cores = if run.pinned { core_ids() } else { &[] };
    let barrier = Barrier::new(threads + 1);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let (body, control, barrier) = (&body, &control, &barrier);
                scope.spawn(move || {
                    if !cores.is_empty() {
                        // A refusal (a restricted cpuset) leaves the thread unpinned.
                        core_affinity::set_for_current(cores[index % cores.len()]);
                    }
                    barrier.wait();
                    let result = body(index, control);
                    (result, Instant::now())
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        if let Stop::Time(duration) = run.stop {
            thread::sleep(duration);
            control.stop.0.store(true, Relaxed);
        }
        let mut end = start;
        let results = handles
            .into_iter()
            .map(|handle| {
                let (result, finished) = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                end = end.max(finished);
                result
            })
            .collect();
        (end - start, results)
    })
}

// ---------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------

/// A FIFO of `u64` as the queue workloads drive it.
pub trait BenchQueue: Sync + Sized {
    /// A new queue; `capacity` is `Some` for the bounded group, `None` for the unbounded one.
    fn build(capacity: Option<usize>) -> Self;
    /// Pushes, or gives the value back when full.
    fn try_push(&self, value: u64) -> Result<(), u64>;
    /// The pop of one consumer thread; `sole` says it is the only consumer
    /// (std's receiver then locks once instead of per pop).
    fn consumer(&self, sole: bool) -> impl FnMut() -> Option<u64> + '_;
    /// Prepares a new queue for a run with these many producers and
    /// consumers; only the ring needs it ([`age_ring`]).
    fn age(&self, _producers: usize, _consumers: usize) {}
}

impl BenchQueue for MsQueue<u64> {
    fn build(_: Option<usize>) -> Self {
        MsQueue::new()
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        self.push(value);
        Ok(())
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.pop()
    }
}

impl BenchQueue for SegmentedQueue<u64> {
    fn build(_: Option<usize>) -> Self {
        SegmentedQueue::new()
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        self.push(value);
        Ok(())
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.pop()
    }
}

impl BenchQueue for RingBuffer<u64> {
    fn build(capacity: Option<usize>) -> Self {
        RingBuffer::new(capacity.unwrap_or(CAPACITY))
    }
    fn age(&self, producers: usize, consumers: usize) {
        age_ring(self, producers, consumers);
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        RingBuffer::try_push(self, value).map_err(|err| err.into_inner())
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.try_pop().ok()
    }
}

impl BenchQueue for SegQueue<u64> {
    fn build(_: Option<usize>) -> Self {
        SegQueue::new()
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        self.push(value);
        Ok(())
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.pop()
    }
}

impl BenchQueue for ArrayQueue<u64> {
    fn build(capacity: Option<usize>) -> Self {
        ArrayQueue::new(capacity.unwrap_or(CAPACITY))
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        self.push(value)
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.pop()
    }
}

/// The name of the bounded peer that keeps `RingBuffer`'s promise, lock-free
/// and linearizable: lfqueue's SCQ ring (Nikolaev, DISC 2019). ArrayQueue and
/// concurrent-queue make a pop wait for a producer still writing its slot, so
/// the fastest peer is not a like-for-like one; the README quotes this one
/// beside it.
pub const LOCK_FREE_RING_PEER: &str = "lfqueue (SCQ)";

/// lfqueue's SCQ ring (`AllocBoundedQueue`); power-of-two capacities only.
impl BenchQueue for lfqueue::AllocBoundedQueue<u64> {
    fn build(capacity: Option<usize>) -> Self {
        lfqueue::AllocBoundedQueue::new(capacity.unwrap_or(CAPACITY))
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        self.enqueue(value)
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.dequeue()
    }
}

impl BenchQueue for ConcurrentQueue<u64> {
    fn build(capacity: Option<usize>) -> Self {
        match capacity {
            Some(capacity) => ConcurrentQueue::bounded(capacity),
            None => ConcurrentQueue::unbounded(),
        }
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        self.push(value).map_err(|err| err.into_inner())
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.pop().ok()
    }
}

/// `Mutex<VecDeque>`, bounded when built with a capacity.
pub struct LockedDeque {
    deque: Mutex<VecDeque<u64>>,
    capacity: usize,
}

impl BenchQueue for LockedDeque {
    fn build(capacity: Option<usize>) -> Self {
        LockedDeque {
            deque: Mutex::new(VecDeque::with_capacity(capacity.unwrap_or(CAPACITY))),
            capacity: capacity.unwrap_or(usize::MAX),
        }
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        let mut deque = self.deque.lock().unwrap();
        if deque.len() >= self.capacity {
            return Err(value);
        }
        deque.push_back(value);
        Ok(())
    }
    fn consumer(&self, _: bool) -> impl FnMut() -> Option<u64> + '_ {
        || self.deque.lock().unwrap().pop_front()
    }
}

/// std's bounded channel. Its receiver is single-consumer (`!Sync`), so
/// several consumers share it behind a `Mutex`, as a user of std must; a
/// sole consumer takes the lock once for its whole run.
pub struct SyncChannel {
    sender: mpsc::SyncSender<u64>,
    receiver: Mutex<mpsc::Receiver<u64>>,
}

impl BenchQueue for SyncChannel {
    fn build(capacity: Option<usize>) -> Self {
        let (sender, receiver) = mpsc::sync_channel(capacity.unwrap_or(CAPACITY));
        SyncChannel {
            sender,
            receiver: Mutex::new(receiver),
        }
    }
    fn try_push(&self, value: u64) -> Result<(), u64> {
        self.sender.try_send(value).map_err(|err| match err {
            mpsc::TrySendError::Full(value) | mpsc::TrySendError::Disconnected(value) => value,
        })
    }
    fn consumer(&self, sole: bool) -> impl FnMut() -> Option<u64> + '_ {
        let held = sole.then(|| self.receiver.lock().unwrap());
        move || match &held {
            Some(receiver) => receiver.try_recv().ok(),
            None => self.receiver.lock().unwrap().try_recv().ok(),
        }
    }
}

fn name_of<T>() -> &'static str {
    std::any::type_name::<T>()
}

/// One thread pushes a value and pops it back, over and over: the cost of an
/// uncontended push + pop. One op = one pair.
pub fn pairs<Q: BenchQueue>(run: &Run, capacity: Option<usize>) -> Measurement {
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    let (elapsed, results) = run_threads(run, 1, |_, control| {
        let budget = control.budget(0, 1);
        let mut pop = queue.consumer(true);
        let (mut done, mut wrong) = (0u64, 0u64);
        while budget.more(done) {
            if queue.try_push(done).is_err() {
                wrong += 1;
            }
            if pop() != Some(done) {
                wrong += 1;
            }
            done += 1;
        }
        wrong += u64::from(pop().is_some());
        (done, wrong)
    });
    let (done, wrong) = results[0];
    assert_eq!(
        wrong,
        0,
        "{}: {wrong} push/pop pairs went wrong",
        name_of::<Q>()
    );
    Measurement {
        ops: done,
        elapsed,
        per_thread: vec![done],
    }
}

/// One producer (thread 0, core 0) and one consumer (thread 1, core 1); the
/// consumer checks every value arrives once and in order. One op = one element.
pub fn spsc<Q: BenchQueue>(run: &Run, capacity: Option<usize>) -> Measurement {
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    let finished = Padded(AtomicBool::new(false));
    let (elapsed, results) = run_threads(run, 2, |index, control| {
        if index == 0 {
            let budget = control.budget(0, 1);
            let mut backoff = Backoff::default();
            let mut sent = 0u64;
            while budget.more(sent) {
                let mut value = sent;
                while let Err(back) = queue.try_push(value) {
                    value = back;
                    backoff.snooze();
                }
                backoff.reset();
                sent += 1;
            }
            // Release: pairs with the consumer's Acquire load; every push above
            // happens-before its final pop.
            finished.0.store(true, Release);
            (sent, 0)
        } else {
            let mut pop = queue.consumer(true);
            let mut backoff = Backoff::default();
            let (mut received, mut wrong) = (0u64, 0u64);
            loop {
                match pop() {
                    Some(value) => {
                        wrong += u64::from(value != received);
                        received += 1;
                        backoff.reset();
                    }
                    None if finished.0.load(Acquire) => match pop() {
                        Some(value) => {
                            wrong += u64::from(value != received);
                            received += 1;
                        }
                        None => break,
                    },
                    None => backoff.snooze(),
                }
            }
            (received, wrong)
        }
    });
    let ((sent, _), (received, wrong)) = (results[0], results[1]);
    let name = name_of::<Q>();
    assert_eq!(
        wrong, 0,
        "{name}: {wrong} elements out of order or corrupted"
    );
    assert_eq!(received, sent, "{name}: sent {sent}, received {received}");
    Measurement {
        ops: sent,
        elapsed,
        per_thread: vec![sent, received],
    }
}

/// Bits of an MPMC value holding the sequence number; the producer's index sits above.
const SEQUENCE_BITS: u32 = 40;

/// What one thread of an MPMC workload moved: a producer's count and sum
/// of what it sent, or a consumer's of what it received, with the values
/// it received out of their producer's order.
pub(crate) struct Tally {
    ops: u64,
    sum: u64,
    wrong: u64,
}

impl Tally {
    /// A producer's: `ops` values sent, summing to `sum`.
    pub(crate) fn sent(ops: u64, sum: u64) -> Self {
        Tally { ops, sum, wrong: 0 }
    }

    /// A consumer's, before it receives anything.
    pub(crate) fn receiver() -> Self {
        Tally {
            ops: 0,
            sum: 0,
            wrong: 0,
        }
    }

    /// Counts one received `(producer << SEQUENCE_BITS) | sequence` value;
    /// `next` holds the next sequence this consumer may see from each
    /// producer (values from one producer must arrive in increasing order).
    pub(crate) fn record(&mut self, next: &mut [u64], value: u64) {
        let producer = (value >> SEQUENCE_BITS) as usize;
        let sequence = value & ((1 << SEQUENCE_BITS) - 1);
        match next.get_mut(producer) {
            Some(expected) if sequence >= *expected => *expected = sequence + 1,
            _ => self.wrong += 1,
        }
        self.sum = self.sum.wrapping_add(value);
        self.ops += 1;
    }

    /// Checks a run's tallies (the `producers` first, then the consumers)
    /// and returns its measurement: panics if a value was received out of
    /// its producer's order, lost, duplicated or corrupted.
    pub(crate) fn verify(
        name: &str,
        producers: usize,
        results: Vec<Tally>,
        elapsed: Duration,
    ) -> Measurement {
        let (sent, received) = results.split_at(producers);
        let count = |side: &[Tally]| side.iter().map(|t| t.ops).sum::<u64>();
        let sum = |side: &[Tally]| side.iter().fold(0u64, |acc, t| acc.wrapping_add(t.sum));
        let wrong: u64 = received.iter().map(|t| t.wrong).sum();
        assert_eq!(
            wrong, 0,
            "{name}: {wrong} elements out of per-producer order or corrupted"
        );
        assert_eq!(
            count(received),
            count(sent),
            "{name}: elements lost or duplicated"
        );
        assert_eq!(
            sum(received),
            sum(sent),
            "{name}: elements corrupted or duplicated"
        );
        Measurement {
            ops: count(sent),
            elapsed,
            per_thread: results.iter().map(|t| t.ops).collect(),
        }
    }
}

/// `threads / 2` producers and the rest consumers (at least one of each).
/// Each producer pushes `(producer << 40) | sequence`; each consumer checks
/// that every producer's values reach it in increasing order, and the totals
/// check that every element arrived exactly once (count and sum). One op = one
/// element moved from a producer to a consumer.
pub fn mpmc<Q: BenchQueue>(run: &Run, capacity: Option<usize>) -> Measurement {
    let threads = run.threads.max(2);
    let producers = threads / 2;
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    queue.age(producers, threads - producers);
    let producers_done = Padded(AtomicUsize::new(0));

    let (elapsed, results) = run_threads(run, threads, |index, control| {
        if index < producers {
            let budget = control.budget(index, producers);
            let base = (index as u64) << SEQUENCE_BITS;
            let mut backoff = Backoff::default();
            let (mut sent, mut sum) = (0u64, 0u64);
            while budget.more(sent) {
                let mut value = base | sent;
                while let Err(back) = queue.try_push(value) {
                    value = back;
                    backoff.snooze();
                }
                backoff.reset();
                sum = sum.wrapping_add(base | sent);
                sent += 1;
            }
            // Release: pairs with the consumers' Acquire load; this producer's
            // pushes happen-before the pop that finds the queue empty.
            producers_done.0.fetch_add(1, Release);
            Tally::sent(sent, sum)
        } else {
            let mut pop = queue.consumer(false);
            let mut next = vec![0u64; producers];
            let mut backoff = Backoff::default();
            let mut tally = Tally::receiver();
            loop {
                match pop() {
                    Some(value) => {
                        tally.record(&mut next, value);
                        backoff.reset();
                    }
                    None if producers_done.0.load(Acquire) == producers => match pop() {
                        Some(value) => tally.record(&mut next, value),
                        None => break,
                    },
                    None => backoff.snooze(),
                }
            }
            tally
        }
    });
    Tally::verify(name_of::<Q>(), producers, results, elapsed)
}

/// Pushes into a queue of the unbounded group, which never refuses one: a
/// refusal is a bug in the queue (or a bounded queue in the wrong workload).
fn push_unbounded<Q: BenchQueue>(queue: &Q, value: u64) {
    assert!(
        queue.try_push(value).is_ok(),
        "{}: an unbounded queue refused a push",
        name_of::<Q>()
    );
}

/// `n` threads that only push, into a queue that starts empty: the pushers'
/// contention with each other alone, with no consumer on any line. One op =
/// one push. Afterwards one thread drains the queue and checks that it held
/// every value once, each pusher's in its order.
///
/// With [`pop_only`], it splits the `mpmc` figure into its two ends: a
/// queue whose pushers claim slots by fetch-and-add pays a cache-line
/// transfer on every push once two cores push, where a compare-and-swap
/// that backs off on failure lets one thread run a series of pushes on a
/// line it keeps.
pub fn push_only<Q: BenchQueue>(run: &Run, capacity: Option<usize>) -> Measurement {
    let threads = run.threads.max(1);
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    let (elapsed, mut results) = run_threads(run, threads, |index, control| {
        let budget = control.budget(index, threads);
        let base = (index as u64) << SEQUENCE_BITS;
        let (mut sent, mut sum) = (0u64, 0u64);
        while budget.more(sent) {
            let value = base | sent;
            push_unbounded(queue, value);
            sum = sum.wrapping_add(value);
            sent += 1;
        }
        Tally::sent(sent, sum)
    });
    let mut pop = queue.consumer(true);
    let (mut next, mut drained) = (vec![0u64; threads], Tally::receiver());
    while let Some(value) = pop() {
        drained.record(&mut next, value);
    }
    results.push(drained);
    let mut measured = Tally::verify(name_of::<Q>(), threads, results, elapsed);
    // Fairness is the pushers'; the drain is bookkeeping.
    measured.per_thread.truncate(threads);
    measured
}

/// Elements a [`pop_only`] run puts in the queue before a run that stops
/// after a time: enough for 120 ms at 30 million pops a second (more
/// threads than one contend); a faster run ends when the queue is empty,
/// and its rate is over its own time.
const POP_ONLY_FILL: u64 = 1 << 22;

/// `n` threads that only pop, from a queue filled before the clock starts:
/// the consumers' contention with each other alone. One op = one pop. Each
/// thread stops at its budget, at the run's end, or when the queue is
/// empty; then the rest is drained, and every value must have come out
/// once, each thread's in increasing order (FIFO).
pub fn pop_only<Q: BenchQueue>(run: &Run, capacity: Option<usize>) -> Measurement {
    let threads = run.threads.max(1);
    let fill = match run.stop {
        Stop::Ops(total) => total,
        Stop::Time(_) => POP_ONLY_FILL,
    };
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    for value in 0..fill {
        push_unbounded(queue, value);
    }
    let (elapsed, popped) = run_threads(run, threads, |index, control| {
        let budget = control.budget(index, threads);
        let mut pop = queue.consumer(threads == 1);
        let (mut next, mut tally) = ([0u64], Tally::receiver());
        while budget.more(tally.ops) {
            match pop() {
                Some(value) => tally.record(&mut next, value),
                None => break,
            }
        }
        tally
    });
    let per_thread: Vec<u64> = popped.iter().map(|t| t.ops).collect();
    let mut pop = queue.consumer(true);
    let (mut next, mut rest) = ([0u64], Tally::receiver());
    while let Some(value) = pop() {
        rest.record(&mut next, value);
    }
    let filled = Tally::sent(fill, (0..fill).fold(0u64, u64::wrapping_add));
    let results = core::iter::once(filled)
        .chain(popped)
        .chain([rest])
        .collect();
    Tally::verify(name_of::<Q>(), 1, results, elapsed);
    Measurement {
        ops: per_thread.iter().sum(),
        elapsed,
        per_thread,
    }
}

/// A bounded FIFO of `u64` with waiting `push`/`pop`, as the blocking
/// workloads drive it: freelane's blocking layer beside crossbeam-channel's
/// bounded `send`/`recv` (both spin briefly, then park).
pub trait BlockingQueue: Sync + Sized {
    /// A new queue holding `capacity` elements.
    fn build(capacity: usize) -> Self;
    /// Pushes, waiting while full.
    fn push(&self, value: u64);
    /// Pops, waiting while empty.
    fn pop(&self) -> u64;
    /// As [`BenchQueue::age`].
    fn age(&self, _producers: usize, _consumers: usize) {}
}

impl BlockingQueue for RingBuffer<u64> {
    fn build(capacity: usize) -> Self {
        RingBuffer::new(capacity)
    }
    fn push(&self, value: u64) {
        RingBuffer::push(self, value).expect("RingBuffer: never closed in a run");
    }
    fn pop(&self) -> u64 {
        RingBuffer::pop(self).expect("RingBuffer: never closed in a run")
    }
    fn age(&self, producers: usize, consumers: usize) {
        age_ring(self, producers, consumers);
    }
}

/// crossbeam-channel's bounded channel, both ends kept together (the
/// channel never disconnects during a run).
pub struct CrossbeamBounded {
    sender: crossbeam_channel::Sender<u64>,
    receiver: crossbeam_channel::Receiver<u64>,
}

impl BlockingQueue for CrossbeamBounded {
    fn build(capacity: usize) -> Self {
        let (sender, receiver) = crossbeam_channel::bounded(capacity);
        CrossbeamBounded { sender, receiver }
    }
    fn push(&self, value: u64) {
        self.sender
            .send(value)
            .expect("crossbeam-channel: never disconnected in a run");
    }
    fn pop(&self) -> u64 {
        self.receiver
            .recv()
            .expect("crossbeam-channel: never disconnected in a run")
    }
}

/// One thread: a blocking push then a blocking pop, repeated (neither ever
/// waits: the cost of the blocking entry points on an uncontended queue).
/// One op = one pair.
pub fn blocking_pairs<Q: BlockingQueue>(run: &Run, capacity: usize) -> Measurement {
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    let (elapsed, results) = run_threads(run, 1, |_, control| {
        let budget = control.budget(0, 1);
        let (mut done, mut wrong) = (0u64, 0u64);
        while budget.more(done) {
            queue.push(done);
            wrong += u64::from(queue.pop() != done);
            done += 1;
        }
        (done, wrong)
    });
    let (done, wrong) = results[0];
    assert_eq!(
        wrong,
        0,
        "{}: {wrong} push/pop pairs went wrong",
        name_of::<Q>()
    );
    Measurement {
        ops: done,
        elapsed,
        per_thread: vec![done],
    }
}

/// The value that tells a blocking consumer to stop (never a real element:
/// producer indices stay far below `u64::MAX >> SEQUENCE_BITS`).
const STOP: u64 = u64::MAX;

/// `threads / 2` producers and the rest consumers, all with blocking
/// `push`/`pop` (a full or empty queue parks the thread instead of the
/// runner's spin-then-yield). Values and checks as in [`mpmc`]; the last
/// producer to finish pushes one [`STOP`] per consumer. One op = one element.
pub fn blocking_mpmc<Q: BlockingQueue>(run: &Run, capacity: usize) -> Measurement {
    let threads = run.threads.max(2);
    let producers = threads / 2;
    let consumers = threads - producers;
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    queue.age(producers, consumers);
    let producers_done = Padded(AtomicUsize::new(0));

    let (elapsed, results) = run_threads(run, threads, |index, control| {
        if index < producers {
            let budget = control.budget(index, producers);
            let base = (index as u64) << SEQUENCE_BITS;
            let (mut sent, mut sum) = (0u64, 0u64);
            while budget.more(sent) {
                queue.push(base | sent);
                sum = sum.wrapping_add(base | sent);
                sent += 1;
            }
            // AcqRel: the last producer's increment sees every other's (the
            // stop values go after all of their elements in each producer's
            // own order, and the consumers stop only on them).
            if producers_done.0.fetch_add(1, AcqRel) + 1 == producers {
                for _ in 0..consumers {
                    queue.push(STOP);
                }
            }
            Tally::sent(sent, sum)
        } else {
            let mut next = vec![0u64; producers];
            let mut tally = Tally::receiver();
            loop {
                let value = queue.pop();
                if value == STOP {
                    break;
                }
                tally.record(&mut next, value);
            }
            tally
        }
    });
    Tally::verify(name_of::<Q>(), producers, results, elapsed)
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// A counter as the counting workload drives it.
pub trait BenchCounter: Sync + Default {
    /// Adds one.
    fn bump(&self);
    /// The total once updates have stopped.
    fn total(&self) -> u64;
}

impl BenchCounter for AtomicCounter {
    fn bump(&self) {
        self.increment();
    }
    fn total(&self) -> u64 {
        self.get()
    }
}

impl BenchCounter for ShardedCounter {
    fn bump(&self) {
        self.increment();
    }
    fn total(&self) -> u64 {
        self.sum()
    }
}

impl BenchCounter for AtomicU64 {
    fn bump(&self) {
        self.fetch_add(1, Relaxed);
    }
    fn total(&self) -> u64 {
        self.load(Relaxed)
    }
}

impl BenchCounter for Mutex<u64> {
    fn bump(&self) {
        *self.lock().unwrap() += 1;
    }
    fn total(&self) -> u64 {
        *self.lock().unwrap()
    }
}

/// Every thread increments one shared counter; the total must equal the sum
/// of what each thread did. One op = one increment.
pub fn counting<C: BenchCounter>(run: &Run) -> Measurement {
    let counter = Padded(C::default());
    let counter = &counter.0;
    let (elapsed, per_thread) = run_threads(run, run.threads, |index, control| {
        let budget = control.budget(index, run.threads);
        let mut done = 0u64;
        while budget.more(done) {
            counter.bump();
            done += 1;
        }
        done
    });
    let ops = per_thread.iter().sum();
    assert_eq!(counter.total(), ops, "{}: increments lost", name_of::<C>());
    Measurement {
        ops,
        elapsed,
        per_thread,
    }
}

// ---------------------------------------------------------------------------
// Semaphores
// ---------------------------------------------------------------------------

/// A semaphore as the acquire/release workloads drive it.
pub trait BenchSemaphore: Sync + Sized {
    /// A semaphore holding `permits`.
    fn build(permits: usize) -> Self;
    /// Takes a permit if one is free, runs `inside`, returns it; false if none was free.
    fn try_enter(&self, inside: impl FnOnce()) -> bool;
    /// Permits free now.
    fn available(&self) -> usize;
}

/// A semaphore whose acquire waits.
pub trait BlockingSemaphore: BenchSemaphore {
    /// Waits for a permit, runs `inside`, returns it.
    fn enter(&self, inside: impl FnOnce());
}

impl BenchSemaphore for Semaphore {
    fn build(permits: usize) -> Self {
        Semaphore::new(permits)
    }
    fn try_enter(&self, inside: impl FnOnce()) -> bool {
        match self.try_acquire() {
            Ok(_permit) => {
                inside();
                true
            }
            Err(_) => false,
        }
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

impl BlockingSemaphore for Semaphore {
    fn enter(&self, inside: impl FnOnce()) {
        let _permit = self.acquire().expect("the semaphore is never closed");
        inside();
    }
}

impl BenchSemaphore for tokio::sync::Semaphore {
    fn build(permits: usize) -> Self {
        tokio::sync::Semaphore::new(permits)
    }
    fn try_enter(&self, inside: impl FnOnce()) -> bool {
        match self.try_acquire() {
            Ok(_permit) => {
                inside();
                true
            }
            Err(_) => false,
        }
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

/// The textbook semaphore: a count under a `Mutex`, waiters on a `Condvar`.
pub struct CondvarSemaphore {
    permits: Mutex<usize>,
    freed: Condvar,
}

impl CondvarSemaphore {
    fn release(&self) {
        *self.permits.lock().unwrap() += 1;
        self.freed.notify_one();
    }
}

impl BenchSemaphore for CondvarSemaphore {
    fn build(permits: usize) -> Self {
        CondvarSemaphore {
            permits: Mutex::new(permits),
            freed: Condvar::new(),
        }
    }
    fn try_enter(&self, inside: impl FnOnce()) -> bool {
        {
            let mut permits = self.permits.lock().unwrap();
            if *permits == 0 {
                return false;
            }
            *permits -= 1;
        }
        inside();
        self.release();
        true
    }
    fn available(&self) -> usize {
        *self.permits.lock().unwrap()
    }
}

impl BlockingSemaphore for CondvarSemaphore {
    fn enter(&self, inside: impl FnOnce()) {
        {
            let mut permits = self
                .freed
                .wait_while(self.permits.lock().unwrap(), |permits| *permits == 0)
                .unwrap();
            *permits -= 1;
        }
        inside();
        self.release();
    }
}

/// The permits of a `threads`-thread run: 1, or half the threads (at least 1).
pub fn permits_for(threads: usize, half: bool) -> usize {
    if half { (threads / 2).max(1) } else { 1 }
}

/// Checks after a semaphore run: permits all back; with one permit, a plain
/// (non-atomic read-modify-write) counter bumped inside lost nothing, which
/// it would if two threads were ever inside together.
fn check_semaphore<S: BenchSemaphore>(semaphore: &S, permits: usize, witness: u64, ops: u64) {
    let name = name_of::<S>();
    assert_eq!(
        semaphore.available(),
        permits,
        "{name}: permits not all returned"
    );
    if permits == 1 {
        assert_eq!(
            witness, ops,
            "{name}: two threads held the single permit at once"
        );
    }
}

/// The section the permit guards: a load and a store, not an atomic add, so
/// that broken mutual exclusion loses updates (see [`check_semaphore`]).
#[inline]
fn witness_inside(witness: &AtomicU64) {
    // Relaxed: the semaphore's acquire/release orders these between holders.
    witness.store(witness.load(Relaxed) + 1, Relaxed);
}

/// Each thread loops `try_acquire` + release; a failed try backs off and
/// retries. One op = one successful acquire/release pair.
pub fn try_acquire_release<S: BenchSemaphore>(run: &Run, half: bool) -> Measurement {
    let permits = permits_for(run.threads, half);
    let semaphore = Padded(S::build(permits));
    let semaphore = &semaphore.0;
    let witness = Padded(AtomicU64::new(0));
    let (elapsed, per_thread) = run_threads(run, run.threads, |index, control| {
        let budget = control.budget(index, run.threads);
        let mut backoff = Backoff::default();
        let mut done = 0u64;
        while budget.more(done) {
            if semaphore.try_enter(|| witness_inside(&witness.0)) {
                done += 1;
                backoff.reset();
            } else {
                backoff.snooze();
            }
        }
        done
    });
    let ops = per_thread.iter().sum();
    check_semaphore(semaphore, permits, witness.0.load(Relaxed), ops);
    Measurement {
        ops,
        elapsed,
        per_thread,
    }
}

/// Each thread loops a blocking acquire + release. One op = one pair.
pub fn acquire_release<S: BlockingSemaphore>(run: &Run, half: bool) -> Measurement {
    let permits = permits_for(run.threads, half);
    let semaphore = Padded(S::build(permits));
    let semaphore = &semaphore.0;
    let witness = Padded(AtomicU64::new(0));
    let (elapsed, per_thread) = run_threads(run, run.threads, |index, control| {
        let budget = control.budget(index, run.threads);
        let mut done = 0u64;
        while budget.more(done) {
            semaphore.enter(|| witness_inside(&witness.0));
            done += 1;
        }
        done
    });
    let ops = per_thread.iter().sum();
    check_semaphore(semaphore, permits, witness.0.load(Relaxed), ops);
    Measurement {
        ops,
        elapsed,
        per_thread,
    }
}

// ---------------------------------------------------------------------------
// Physical limits
// ---------------------------------------------------------------------------

/// Written by the pinger to end a ping-pong run.
const PING_PONG_DONE: u64 = u64::MAX;

/// Two threads (cores 0 and 1) bounce one atomic word: the pinger writes an
/// odd value and waits for the next even one, the ponger answers. Each round
/// trip moves the cache line there and back: the floor under any hand-off
/// between two cores. One op = one round trip.
pub fn ping_pong(run: &Run) -> Measurement {
    let line = Padded(AtomicU64::new(0));
    let line = &line.0;
    let (elapsed, results) = run_threads(run, 2, |index, control| {
        let mut backoff = Backoff::default();
        let mut rounds = 0u64;
        if index == 0 {
            let budget = control.budget(0, 1);
            while budget.more(rounds) {
                // Release/Acquire: each side's store publishes the round to the other's load.
                line.store(2 * rounds + 1, Release);
                while line.load(Acquire) != 2 * rounds + 2 {
                    backoff.snooze();
                }
                backoff.reset();
                rounds += 1;
            }
            line.store(PING_PONG_DONE, Release);
        } else {
            loop {
                let value = line.load(Acquire);
                if value == PING_PONG_DONE {
                    break;
                }
                if value == 2 * rounds + 1 {
                    line.store(value + 1, Release);
                    rounds += 1;
                    backoff.reset();
                } else {
                    backoff.snooze();
                }
            }
        }
        rounds
    });
    assert_eq!(
        results[0], results[1],
        "ping-pong: the two sides disagree on the rounds"
    );
    Measurement {
        ops: results[0],
        elapsed,
        per_thread: results,
    }
}

/// The SPSC hand-off through rtrb (a wait-free single-producer
/// single-consumer ring, same capacity): what an MPMC queue is measured
/// against on two cores. Same checks as [`spsc`].
pub fn rtrb_spsc(run: &Run) -> Measurement {
    let (producer, consumer) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    let (producer, consumer) = (Mutex::new(Some(producer)), Mutex::new(Some(consumer)));
    let finished = Padded(AtomicBool::new(false));
    let (elapsed, results) = run_threads(run, 2, |index, control| {
        let mut backoff = Backoff::default();
        if index == 0 {
            let mut producer = producer.lock().unwrap().take().expect("one producer");
            let budget = control.budget(0, 1);
            let mut sent = 0u64;
            while budget.more(sent) {
                while producer.push(sent).is_err() {
                    backoff.snooze();
                }
                backoff.reset();
                sent += 1;
            }
            // Release: pairs with the consumer's Acquire load (as in `spsc`).
            finished.0.store(true, Release);
            (sent, 0)
        } else {
            let mut consumer = consumer.lock().unwrap().take().expect("one consumer");
            let (mut received, mut wrong) = (0u64, 0u64);
            loop {
                match consumer.pop() {
                    Ok(value) => {
                        wrong += u64::from(value != received);
                        received += 1;
                        backoff.reset();
                    }
                    Err(_) if finished.0.load(Acquire) => match consumer.pop() {
                        Ok(value) => {
                            wrong += u64::from(value != received);
                            received += 1;
                        }
                        Err(_) => break,
                    },
                    Err(_) => backoff.snooze(),
                }
            }
            (received, wrong)
        }
    });
    let ((sent, _), (received, wrong)) = (results[0], results[1]);
    assert_eq!(wrong, 0, "rtrb: {wrong} elements out of order");
    assert_eq!(received, sent, "rtrb: sent {sent}, received {received}");
    Measurement {
        ops: sent,
        elapsed,
        per_thread: vec![sent, received],
    }
}

// ---------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------

/// What a structure is in its workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A freelane structure.
    Subject,
    /// What people use today, measured beside it.
    Peer,
    /// A physical limit no MPMC structure reaches (SPSC, one cache line).
    Ceiling,
}

/// The thread counts a workload runs at.
#[derive(Clone, Copy, Debug)]
pub enum ThreadPlan {
    /// Always exactly this many (1 for pairs, 2 for SPSC and the limits).
    Fixed(usize),
    /// Each of the selected counts that is at least this.
    Scaling { min: usize },
}

impl ThreadPlan {
    /// The counts to run, given the selected ones.
    pub fn counts(self, selected: &[usize]) -> Vec<usize> {
        match self {
            ThreadPlan::Fixed(threads) => vec![threads],
            ThreadPlan::Scaling { min } => selected.iter().copied().filter(|&n| n >= min).collect(),
        }
    }
}

/// One structure in one workload.
#[derive(Clone, Copy)]
pub struct Case {
    /// Its name in tables and charts.
    pub structure: &'static str,
    /// Subject, peer or ceiling.
    pub role: Role,
    /// Runs it once (checking the result).
    pub run: fn(&Run) -> Measurement,
}

/// A workload and the structures that run it.
pub struct Workload {
    /// `group/name`, used by filters and file names.
    pub id: &'static str,
    /// One line for the report.
    pub about: &'static str,
    /// Which thread counts.
    pub threads: ThreadPlan,
    /// Subject(s) first, then peers.
    pub cases: Vec<Case>,
}

fn case(structure: &'static str, role: Role, run: fn(&Run) -> Measurement) -> Case {
    Case {
        structure,
        role,
        run,
    }
}

/// Every workload, in report order.
pub fn catalog() -> Vec<Workload> {
    use Role::{Ceiling, Peer, Subject};
    const UNBOUNDED: Option<usize> = None;
    const BOUNDED: Option<usize> = Some(CAPACITY);
    macro_rules! unbounded_queues {
        ($workload:ident) => {
            vec![
                case("MsQueue", Subject, |r| {
                    $workload::<MsQueue<u64>>(r, UNBOUNDED)
                }),
                case("SegmentedQueue", Subject, |r| {
                    $workload::<SegmentedQueue<u64>>(r, UNBOUNDED)
                }),
                case("SegQueue", Peer, |r| {
                    $workload::<SegQueue<u64>>(r, UNBOUNDED)
                }),
                case("concurrent-queue", Peer, |r| {
                    $workload::<ConcurrentQueue<u64>>(r, UNBOUNDED)
                }),
                case("Mutex<VecDeque>", Peer, |r| {
                    $workload::<LockedDeque>(r, UNBOUNDED)
                }),
            ]
        };
    }
    macro_rules! bounded_queues {
        ($workload:ident) => {
            vec![
                case("RingBuffer", Subject, |r| {
                    $workload::<RingBuffer<u64>>(r, BOUNDED)
                }),
                case("ArrayQueue", Peer, |r| {
                    $workload::<ArrayQueue<u64>>(r, BOUNDED)
                }),
                case(LOCK_FREE_RING_PEER, Peer, |r| {
                    $workload::<lfqueue::AllocBoundedQueue<u64>>(r, BOUNDED)
                }),
                case("concurrent-queue", Peer, |r| {
                    $workload::<ConcurrentQueue<u64>>(r, BOUNDED)
                }),
                case("sync_channel", Peer, |r| {
                    $workload::<SyncChannel>(r, BOUNDED)
                }),
                case("Mutex<VecDeque>", Peer, |r| {
                    $workload::<LockedDeque>(r, BOUNDED)
                }),
            ]
        };
    }
    let mut all = vec![
        Workload {
            id: "msqueue/pairs",
            about: "one thread: push then pop, repeated (unbounded queues)",
            threads: ThreadPlan::Fixed(1),
            cases: unbounded_queues!(pairs),
        },
        Workload {
            id: "msqueue/spsc",
            about: "1 producer / 1 consumer on two cores (unbounded queues)",
            threads: ThreadPlan::Fixed(2),
            cases: unbounded_queues!(spsc),
        },
        Workload {
            id: "msqueue/mpmc",
            about: "n/2 producers, n/2 consumers (unbounded queues)",
            threads: ThreadPlan::Scaling { min: 2 },
            cases: unbounded_queues!(mpmc),
        },
        Workload {
            id: "msqueue/push-only",
            about: "n threads push, nobody pops (unbounded queues)",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: unbounded_queues!(push_only),
        },
        Workload {
            id: "msqueue/pop-only",
            about: "n threads pop a queue filled beforehand (unbounded queues)",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: unbounded_queues!(pop_only),
        },
        Workload {
            id: "ring/pairs",
            about: "one thread: push then pop, repeated (bounded queues, capacity 1024)",
            threads: ThreadPlan::Fixed(1),
            cases: bounded_queues!(pairs),
        },
        Workload {
            id: "ring/spsc",
            about: "1 producer / 1 consumer on two cores (bounded queues, capacity 1024)",
            threads: ThreadPlan::Fixed(2),
            cases: bounded_queues!(spsc),
        },
        Workload {
            id: "ring/mpmc",
            about: "n/2 producers, n/2 consumers (bounded queues, capacity 1024)",
            threads: ThreadPlan::Scaling { min: 2 },
            cases: bounded_queues!(mpmc),
        },
        Workload {
            id: "ring-blocking/pairs",
            about: "one thread: blocking push then pop, repeated (capacity 1024)",
            threads: ThreadPlan::Fixed(1),
            cases: vec![
                case("RingBuffer", Subject, |r| {
                    blocking_pairs::<RingBuffer<u64>>(r, CAPACITY)
                }),
                case("crossbeam-channel bounded", Peer, |r| {
                    blocking_pairs::<CrossbeamBounded>(r, CAPACITY)
                }),
            ],
        },
        Workload {
            id: "ring-blocking/mpmc",
            about: "n/2 producers, n/2 consumers, blocking push/pop (capacity 1024)",
            threads: ThreadPlan::Scaling { min: 2 },
            cases: vec![
                case("RingBuffer", Subject, |r| {
                    blocking_mpmc::<RingBuffer<u64>>(r, CAPACITY)
                }),
                case("crossbeam-channel bounded", Peer, |r| {
                    blocking_mpmc::<CrossbeamBounded>(r, CAPACITY)
                }),
            ],
        },
        Workload {
            id: "counter/increment",
            about: "n threads increment one counter",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case("ShardedCounter", Subject, counting::<ShardedCounter>),
                case("AtomicCounter", Subject, counting::<AtomicCounter>),
                case("AtomicU64::fetch_add", Peer, counting::<AtomicU64>),
                case("Mutex<u64>", Peer, counting::<Mutex<u64>>),
            ],
        },
        Workload {
            id: "semaphore/try-1",
            about: "n threads: try_acquire + release, 1 permit",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case("Semaphore", Subject, |r| {
                    try_acquire_release::<Semaphore>(r, false)
                }),
                case("tokio Semaphore", Peer, |r| {
                    try_acquire_release::<tokio::sync::Semaphore>(r, false)
                }),
                case("Mutex+Condvar", Peer, |r| {
                    try_acquire_release::<CondvarSemaphore>(r, false)
                }),
            ],
        },
        Workload {
            id: "semaphore/try-half",
            about: "n threads: try_acquire + release, n/2 permits",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case("Semaphore", Subject, |r| {
                    try_acquire_release::<Semaphore>(r, true)
                }),
                case("tokio Semaphore", Peer, |r| {
                    try_acquire_release::<tokio::sync::Semaphore>(r, true)
                }),
                case("Mutex+Condvar", Peer, |r| {
                    try_acquire_release::<CondvarSemaphore>(r, true)
                }),
            ],
        },
        Workload {
            id: "semaphore/blocking-1",
            about: "n threads: blocking acquire + release, 1 permit",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case("Semaphore", Subject, |r| {
                    acquire_release::<Semaphore>(r, false)
                }),
                case("Mutex+Condvar", Peer, |r| {
                    acquire_release::<CondvarSemaphore>(r, false)
                }),
            ],
        },
        Workload {
            id: "semaphore/blocking-half",
            about: "n threads: blocking acquire + release, n/2 permits",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case("Semaphore", Subject, |r| {
                    acquire_release::<Semaphore>(r, true)
                }),
                case("Mutex+Condvar", Peer, |r| {
                    acquire_release::<CondvarSemaphore>(r, true)
                }),
            ],
        },
        Workload {
            id: "limits/ping-pong",
            about: "one cache line bounced between two cores: round trips",
            threads: ThreadPlan::Fixed(2),
            cases: vec![case("cache-line ping-pong", Ceiling, ping_pong)],
        },
        Workload {
            id: "limits/spsc-handoff",
            about: "SPSC hand-off between two cores through rtrb: the MPMC ceiling",
            threads: ThreadPlan::Fixed(2),
            cases: vec![case("rtrb (SPSC)", Ceiling, rtrb_spsc)],
        },
        Workload {
            id: "ratelimit/granted",
            about: "n threads: try_acquire under a quota that grants every call",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case(
                    "RateLimiter",
                    Subject,
                    rate_limit::granted::<freelane::RateLimiter>,
                ),
                case(
                    "governor",
                    Peer,
                    rate_limit::granted::<governor::DefaultDirectRateLimiter>,
                ),
            ],
        },
        Workload {
            id: "ratelimit/exhausted",
            about: "n threads: try_acquire on an exhausted quota (1000 grants, then denials)",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case(
                    "RateLimiter",
                    Subject,
                    rate_limit::exhausted::<freelane::RateLimiter>,
                ),
                case(
                    "governor",
                    Peer,
                    rate_limit::exhausted::<governor::DefaultDirectRateLimiter>,
                ),
            ],
        },
        Workload {
            id: "async/semaphore",
            about: "tokio runtime, n workers, 2n tasks: acquire().await, yield holding it, release; n permits",
            threads: ThreadPlan::Scaling { min: 1 },
            cases: vec![
                case("Semaphore", Subject, async_waits::semaphore::<Semaphore>),
                case(
                    "tokio Semaphore",
                    Peer,
                    async_waits::semaphore::<tokio::sync::Semaphore>,
                ),
            ],
        },
        Workload {
            id: "async/ring-1p1c",
            about: "tokio runtime: 1 producer task, 1 consumer task (bounded, capacity 1024)",
            threads: ThreadPlan::Fixed(2),
            cases: vec![
                case("RingBuffer", Subject, |r| {
                    async_waits::ring::<RingBuffer<u64>>(r, 1, 1)
                }),
                case("async-channel", Peer, |r| {
                    async_waits::ring::<async_waits::AsyncChannel>(r, 1, 1)
                }),
            ],
        },
        Workload {
            id: "async/ring-2p2c",
            about: "tokio runtime: 2 producer tasks, 2 consumer tasks (bounded, capacity 1024)",
            threads: ThreadPlan::Fixed(4),
            cases: vec![
                case("RingBuffer", Subject, |r| {
                    async_waits::ring::<RingBuffer<u64>>(r, 2, 2)
                }),
                case("async-channel", Peer, |r| {
                    async_waits::ring::<async_waits::AsyncChannel>(r, 2, 2)
                }),
            ],
        },
    ];
    // The batch workloads (batch.rs) follow the ring's, before the counters.
    let at = all
        .iter()
        .position(|w| w.id == "counter/increment")
        .unwrap_or(all.len());
    all.splice(at..at, batch::workloads());
    all
}

pub mod async_waits;
pub mod batch;
pub mod latency;
pub mod rate_limit;
