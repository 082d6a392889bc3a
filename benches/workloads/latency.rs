//! Latency workloads: how long one hand-off takes, as a histogram, and how
//! long a cache line takes between every pair of cores.
//!
//! The throughput workloads say how many operations per second move; these
//! say how long one of them waits. Each sample is one event timed from end
//! to end with the TSC through `quanta` (the clock freelane's `StdClock`
//! uses) and recorded in an HdrHistogram (3 significant digits, every sample
//! kept), in nanoseconds:
//!
//! - `latency/ring`, `latency/unbounded`: one element's time from just before
//!   its push to just after the pop that returns it, `n` producers and `n`
//!   consumers (1p1c at `n = 1`). Each producer keeps at most [`WINDOW`]
//!   elements in flight, so the queue never fills or grows without bound and
//!   a sample is the hand-off plus at most `WINDOW * n` elements ahead of it.
//! - `latency/ring-blocking`: the same with the blocking `push` and `pop`
//!   (consumers wait in the queue, not in a spin loop of the runner's),
//!   against crossbeam-channel's bounded `send`/`recv`.
//! - `latency/semaphore`: a blocking acquire's time from its call to the
//!   grant, `2n` threads contending for one permit.
//! - `latency/async-semaphore`, `latency/async-ring`: wake-up to poll on
//!   tokio's runtime: from the release (or push) that wakes a waiting task to
//!   that task's poll returning the permit (or element). Only operations
//!   that returned `Pending` at least once are recorded: a fast-path grant
//!   has no wake-up to time.
//! - [`core_to_core`]: one cache line bounced by compare-exchange between two
//!   threads pinned to two given cores (the measurement
//!   nviennot/core-to-core-latency made popular): half a round trip, per pair.
//!
//! Every run checks its result (each element popped once, permits all back)
//! and panics otherwise, as the throughput workloads do. Declared from
//! `mod.rs` (one `pub mod` line at its end); the latency catalog is
//! [`catalog`] here. Sections: the clock; samples; queues; semaphores; async
//! waits; core to core; the catalog.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_queue::{ArrayQueue, SegQueue};
use freelane::{MsQueue, RingBuffer, SegmentedQueue, Semaphore};
use hdrhistogram::Histogram;

use super::async_waits::{AsyncChannel, AsyncQueue};
use super::{
    Backoff, BenchQueue, BlockingQueue, BlockingSemaphore, CAPACITY, CondvarSemaphore,
    CrossbeamBounded, Padded, Role, Run, STOP, Stop, run_threads,
};

// ---------------------------------------------------------------------------
// The clock
// ---------------------------------------------------------------------------

/// The process's one calibrated `quanta` clock (calibration takes ~10 ms,
/// once).
pub fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// A raw reading (TSC ticks where quanta uses the TSC): the cheapest stamp.
#[inline]
pub fn stamp() -> u64 {
    clock().raw()
}

/// Nanoseconds from stamp `start` to stamp `end`; 0 if `end` is not later
/// (stamps from two cores whose counters disagree by a few ticks).
#[inline]
pub fn nanos_between(start: u64, end: u64) -> u64 {
    clock().delta_as_nanos(start, end)
}

/// What one reading of the clock costs and how fine it is.
#[derive(Clone, Copy, Debug)]
pub struct ClockCost {
    /// Mean cost of one `stamp()`, in ns.
    pub stamp_ns: f64,
    /// Mean cost of one `Instant::now()`, in ns, for comparison.
    pub instant_ns: f64,
    /// The smallest non-zero step between two back-to-back stamps, in ns:
    /// no latency below it can be told apart from zero.
    pub resolution_ns: f64,
}

/// Measures [`ClockCost`] (about 20 ms).
pub fn clock_cost() -> ClockCost {
    const READS: u32 = 1_000_000;
    let clock = clock();
    let started = Instant::now();
    let mut sink = 0u64;
    for _ in 0..READS {
        sink = sink.wrapping_add(std::hint::black_box(clock.raw()));
    }
    let stamp_ns = started.elapsed().as_nanos() as f64 / f64::from(READS);
    let started = Instant::now();
    for _ in 0..READS {
        std::hint::black_box(Instant::now());
    }
    let instant_ns = started.elapsed().as_nanos() as f64 / f64::from(READS);
    std::hint::black_box(sink);
    // The smallest step: the least non-zero difference of consecutive
    // readings, scaled; ticks of a few-GHz TSC are below a nanosecond, so
    // scale a large multiple of the tick count to keep the fraction.
    let mut least_ticks = u64::MAX;
    let mut previous = clock.raw();
    for _ in 0..100_000 {
        let now = clock.raw();
        if now > previous {
            least_ticks = least_ticks.min(now - previous);
        }
        previous = now;
    }
    let resolution_ns = if least_ticks == u64::MAX {
        f64::NAN
    } else {
        const SCALE: u64 = 1 << 20;
        clock.delta_as_nanos(0, least_ticks.saturating_mul(SCALE)) as f64 / SCALE as f64
    };
    ClockCost {
        stamp_ns,
        instant_ns,
        resolution_ns,
    }
}

// ---------------------------------------------------------------------------
// Samples
// ---------------------------------------------------------------------------

/// A histogram of nanoseconds that records anything from 0 to about a
/// minute at 3 significant digits (a sample beyond is clamped to the top).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Records `nanos` (clamped into range).
#[inline]
fn record(histogram: &mut Histogram<u64>, nanos: u64) {
    histogram.saturating_record(nanos);
}

/// One latency run.
#[derive(Clone, Copy, Debug)]
pub struct LatencyRun {
    /// The load: `n` producers and `n` consumers, `2n` threads contending
    /// for one permit, or `n` runtime workers (see each workload).
    pub n: usize,
    /// Pin thread `i` to core `i mod cores` (plain threads; tokio's workers are not pinned).
    pub pinned: bool,
    /// How long it runs.
    pub duration: Duration,
}

impl LatencyRun {
    fn threads(&self, threads: usize) -> Run {
        Run {
            threads,
            pinned: self.pinned,
            stop: Stop::Time(self.duration),
        }
    }
}

// ---------------------------------------------------------------------------
// Queues: push to pop
// ---------------------------------------------------------------------------

/// Elements each producer may have in flight (pushed, not yet popped): the
/// queue holds at most `WINDOW * n`, far below [`CAPACITY`], so a bounded
/// queue never reports full and an unbounded one never builds a backlog; a
/// sample is a hand-off under load, not time spent behind a growing queue.
pub const WINDOW: u64 = 8;

/// Bits of an element that carry the producer's index; the rest carry its
/// push stamp relative to the run's start (2^52 ticks: days at a few GHz).
const PRODUCER_SHIFT: u32 = 52;
const STAMP_MASK: u64 = (1 << PRODUCER_SHIFT) - 1;

/// `n` producers stamp and push, `n` consumers pop and record; returns the
/// histogram of push-to-pop times. Checks every producer's elements all came
/// out exactly once (per-producer counts, and no element left behind).
pub fn push_to_pop<Q: BenchQueue>(run: &LatencyRun, capacity: Option<usize>) -> Histogram<u64> {
    let n = run.n.max(1);
    assert!(n < 1 << (64 - PRODUCER_SHIFT), "too many producers");
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    queue.age(n, n);
    let popped: Vec<Padded<AtomicU64>> = (0..n).map(|_| Padded(AtomicU64::new(0))).collect();
    let producers_done = Padded(AtomicUsize::new(0));
    let base = stamp();
    let (_, results) = run_threads(&run.threads(2 * n), 2 * n, |index, control| {
        let mut backoff = Backoff::default();
        if index < n {
            let budget = control.budget(index, n);
            let tag = (index as u64) << PRODUCER_SHIFT;
            let mut sent = 0u64;
            while budget.more(sent) {
                // Relaxed: flow control only; the element itself travels through the queue.
                while sent - popped[index].0.load(Relaxed) >= WINDOW {
                    backoff.snooze();
                }
                backoff.reset();
                let mut value = tag | (stamp().wrapping_sub(base) & STAMP_MASK);
                while let Err(back) = queue.try_push(value) {
                    value = back; // not with WINDOW * n < capacity, but stay correct
                    backoff.snooze();
                }
                backoff.reset();
                sent += 1;
            }
            // Release: pairs with the consumers' Acquire load; every push above is done.
            producers_done.0.fetch_add(1, Release);
            (sent, None)
        } else {
            let mut pop = queue.consumer(n == 1);
            let mut histogram = histogram();
            loop {
                match pop() {
                    Some(value) => {
                        received(&mut histogram, base, value, &popped);
                        backoff.reset();
                    }
                    // Acquire: pairs with the producers' Release; after it, an
                    // empty pop means nothing is left.
                    None if producers_done.0.load(Acquire) == n => match pop() {
                        Some(value) => {
                            let producer = (value >> PRODUCER_SHIFT) as usize;
                            popped[producer].0.fetch_add(1, Relaxed);
                        }
                        None => break,
                    },
                    None => backoff.snooze(),
                }
            }
            (0, Some(histogram))
        }
    });
    merge_checked::<Q>(&popped, results)
}

/// [`push_to_pop`] with the blocking calls: `push` on the producers' side
/// and `pop` on the consumers', which wait in the queue's own way (for
/// `RingBuffer`, its run wait first: `blocking.rs`, "Runs") instead of the
/// runner's spin-then-yield. The producers' window is as there. The last
/// producer to finish pushes one [`STOP`] per consumer (never a real
/// element: its producer bits are all ones).
pub fn push_to_pop_blocking<Q: BlockingQueue>(run: &LatencyRun, capacity: usize) -> Histogram<u64> {
    let n = run.n.max(1);
    assert!(n < (1 << (64 - PRODUCER_SHIFT)) - 1, "too many producers");
    let queue = Padded(Q::build(capacity));
    let queue = &queue.0;
    queue.age(n, n);
    let popped: Vec<Padded<AtomicU64>> = (0..n).map(|_| Padded(AtomicU64::new(0))).collect();
    let producers_done = Padded(AtomicUsize::new(0));
    let base = stamp();
    let (_, results) = run_threads(&run.threads(2 * n), 2 * n, |index, control| {
        if index < n {
            let budget = control.budget(index, n);
            let tag = (index as u64) << PRODUCER_SHIFT;
            let mut backoff = Backoff::default();
            let mut sent = 0u64;
            while budget.more(sent) {
                // Relaxed: flow control only; the element itself travels through the queue.
                while sent - popped[index].0.load(Relaxed) >= WINDOW {
                    backoff.snooze();
                }
                backoff.reset();
                queue.push(tag | (stamp().wrapping_sub(base) & STAMP_MASK));
                sent += 1;
            }
            // AcqRel: the last producer's increment sees every other's; the
            // stop values go after all of their elements.
            if producers_done.0.fetch_add(1, AcqRel) + 1 == n {
                for _ in 0..n {
                    queue.push(STOP);
                }
            }
            (sent, None)
        } else {
            let mut histogram = histogram();
            loop {
                let value = queue.pop();
                if value == STOP {
                    break;
                }
                received(&mut histogram, base, value, &popped);
            }
            (0, Some(histogram))
        }
    });
    merge_checked::<Q>(&popped, results)
}

/// A consumer's record of one element of [`push_to_pop`] or
/// [`push_to_pop_blocking`]: its push-to-pop time, and one more popped for
/// its producer (the producer's window and the final check read that).
fn received(histogram: &mut Histogram<u64>, base: u64, value: u64, popped: &[Padded<AtomicU64>]) {
    let start = base.wrapping_add(value & STAMP_MASK);
    record(histogram, nanos_between(start, stamp()));
    let producer = (value >> PRODUCER_SHIFT) as usize;
    // Relaxed: a count; the producers use it as flow control only.
    popped[producer].0.fetch_add(1, Relaxed);
}

/// The end of a push-to-pop run: checks that every producer's elements
/// were all popped (`results` are the threads' `(sent, histogram)`,
/// producers first) and merges the consumers' histograms.
fn merge_checked<Q>(
    popped: &[Padded<AtomicU64>],
    results: Vec<(u64, Option<Histogram<u64>>)>,
) -> Histogram<u64> {
    let name = std::any::type_name::<Q>();
    let mut merged = histogram();
    for (index, (sent, histogram)) in results.into_iter().enumerate() {
        if index < popped.len() {
            let got = popped[index].0.load(Relaxed);
            assert_eq!(
                got, sent,
                "{name}: producer {index} pushed {sent}, {got} popped"
            );
        }
        if let Some(histogram) = histogram {
            merged.add(histogram).expect("same bounds");
        }
    }
    merged
}

// ---------------------------------------------------------------------------
// Semaphores: acquire to grant
// ---------------------------------------------------------------------------

/// `2n` threads loop a blocking acquire of the single permit and release it;
/// each acquire is timed from its call to the grant. Checks mutual exclusion
/// (a plain counter bumped inside loses nothing) and that the permit is back.
pub fn acquire_to_grant<S: BlockingSemaphore>(run: &LatencyRun) -> Histogram<u64> {
    let threads = 2 * run.n.max(1);
    let semaphore = Padded(S::build(1));
    let semaphore = &semaphore.0;
    let inside = Padded(AtomicU64::new(0));
    let (_, results) = run_threads(&run.threads(threads), threads, |index, control| {
        let budget = control.budget(index, threads);
        let mut histogram = histogram();
        let mut done = 0u64;
        while budget.more(done) {
            let start = stamp();
            semaphore.enter(|| {
                let end = stamp();
                // Relaxed: the semaphore orders the holders (see check_semaphore in mod.rs).
                inside.0.store(inside.0.load(Relaxed) + 1, Relaxed);
                record(&mut histogram, nanos_between(start, end));
            });
            done += 1;
        }
        (done, histogram)
    });
    let name = std::any::type_name::<S>();
    let mut merged = histogram();
    let mut ops = 0;
    for (done, histogram) in results {
        ops += done;
        merged.add(histogram).expect("same bounds");
    }
    assert_eq!(
        inside.0.load(Relaxed),
        ops,
        "{name}: two threads held the single permit at once"
    );
    assert_eq!(
        semaphore.available(),
        1,
        "{name}: the permit was not returned"
    );
    merged
}

// ---------------------------------------------------------------------------
// Async waits: wake-up to poll
// ---------------------------------------------------------------------------

/// Awaits `future`, counting its polls: more than one means it returned
/// `Pending` and was woken.
async fn counting_polls<F: Future>(future: F) -> (F::Output, u32) {
    let mut future = pin!(future);
    let mut polls = 0;
    let output = poll_fn(|cx| {
        polls += 1;
        future.as_mut().poll(cx)
    })
    .await;
    (output, polls)
}

/// A semaphore with an async acquire, as the wake-up workload drives it.
pub trait AsyncHold: Send + Sync + 'static {
    fn build(permits: usize) -> Self;
    /// Acquires one permit, reports the polls the acquire took to `granted`,
    /// yields to the runtime holding it (so others queue), calls `releasing`
    /// and releases.
    fn hold(
        &self,
        granted: impl FnOnce(u32) + Send,
        releasing: impl FnOnce() + Send,
    ) -> impl Future<Output = ()> + Send;
    fn available(&self) -> usize;
}

impl AsyncHold for Semaphore {
    fn build(permits: usize) -> Self {
        Semaphore::new(permits)
    }
    async fn hold(&self, granted: impl FnOnce(u32) + Send, releasing: impl FnOnce() + Send) {
        let (permit, polls) = counting_polls(self.acquire_async()).await;
        let permit = permit.expect("never closed");
        granted(polls);
        tokio::task::yield_now().await;
        releasing();
        drop(permit);
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

impl AsyncHold for tokio::sync::Semaphore {
    fn build(permits: usize) -> Self {
        tokio::sync::Semaphore::new(permits)
    }
    async fn hold(&self, granted: impl FnOnce(u32) + Send, releasing: impl FnOnce() + Send) {
        let (permit, polls) = counting_polls(self.acquire()).await;
        let permit = permit.expect("never closed");
        granted(polls);
        tokio::task::yield_now().await;
        releasing();
        drop(permit);
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

/// A multi-thread tokio runtime with `workers` workers.
fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .build()
        .expect("tokio runtime")
}

/// Spawns `tasks` on a fresh `workers`-thread runtime, stops them after the
/// run's duration (through `stop`), and returns their results.
fn run_tasks<R, F>(run: &LatencyRun, workers: usize, stop: &Arc<AtomicBool>, spawn: F) -> Vec<R>
where
    R: Send + 'static,
    F: FnOnce() -> Vec<tokio::task::JoinHandle<R>>,
{
    let runtime = runtime(workers);
    runtime.block_on(async {
        let handles = spawn();
        // A thread sleep on the block_on thread (not a worker), as in async_waits.rs.
        thread::sleep(run.duration);
        stop.store(true, Relaxed);
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("a latency task panicked"));
        }
        results
    })
}

/// `2n` tasks on `n` workers share one permit: each acquires, yields while
/// holding it, stamps and releases. A task whose acquire was woken records
/// the time from the last release's stamp to its grant.
pub fn release_to_wake<S: AsyncHold>(run: &LatencyRun) -> Histogram<u64> {
    let workers = run.n.max(1);
    let tasks = 2 * workers;
    let semaphore = Arc::new(S::build(1));
    let released = Arc::new(Padded(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let results = run_tasks(run, workers, &stop, || {
        (0..tasks)
            .map(|_| {
                let (semaphore, released, stop) = (
                    Arc::clone(&semaphore),
                    Arc::clone(&released),
                    Arc::clone(&stop),
                );
                tokio::spawn(async move {
                    let mut histogram = histogram();
                    let mut done = 0u64;
                    // Relaxed: a hint to stop; results travel through the join.
                    while !stop.load(Relaxed) {
                        let mut woken_at = None;
                        semaphore
                            .hold(
                                |polls| {
                                    let end = stamp();
                                    // Acquire: pairs with the Release store below, made
                                    // by the holder whose release granted this permit.
                                    let start = released.0.load(Acquire);
                                    if polls > 1 && start != 0 {
                                        woken_at = Some(nanos_between(start, end));
                                    }
                                },
                                // Release: pairs with the next holder's Acquire load.
                                || released.0.store(stamp(), Release),
                            )
                            .await;
                        if let Some(nanos) = woken_at {
                            record(&mut histogram, nanos);
                        }
                        done += 1;
                    }
                    (done, histogram)
                })
            })
            .collect()
    });
    let name = std::any::type_name::<S>();
    assert_eq!(
        semaphore.available(),
        1,
        "{name}: the permit was not returned"
    );
    let mut merged = histogram();
    for (_, histogram) in results {
        merged.add(histogram).expect("same bounds");
    }
    merged
}

/// `n` producer tasks and `n` consumer tasks on `2n` workers; each producer
/// pushes one stamped element at a time and waits (yielding) until it is
/// popped, so consumers are usually waiting when it lands. A pop that was
/// woken records the time from the element's stamp to the pop's return.
/// Checks every element came out exactly once.
pub fn push_to_wake<Q: AsyncQueue>(run: &LatencyRun) -> Histogram<u64> {
    let n = run.n.max(1);
    let queue = Arc::new(Q::build(CAPACITY));
    queue.age(n, n);
    let popped: Arc<Vec<Padded<AtomicU64>>> =
        Arc::new((0..n).map(|_| Padded(AtomicU64::new(0))).collect());
    let producers_left = Arc::new(AtomicUsize::new(n));
    let stop = Arc::new(AtomicBool::new(false));
    let base = stamp();
    let name = std::any::type_name::<Q>();
    let results = run_tasks(run, 2 * n, &stop, || {
        let mut handles = Vec::new();
        for producer in 0..n {
            let (queue, popped, left, stop) = (
                Arc::clone(&queue),
                Arc::clone(&popped),
                Arc::clone(&producers_left),
                Arc::clone(&stop),
            );
            handles.push(tokio::spawn(async move {
                let tag = (producer as u64) << PRODUCER_SHIFT;
                let mut sent = 0u64;
                // Relaxed: a hint to stop; results travel through the join.
                while !stop.load(Relaxed) {
                    let value = tag | (stamp().wrapping_sub(base) & STAMP_MASK);
                    assert!(queue.push(value).await, "{name}: closed early");
                    sent += 1;
                    // Relaxed: flow control only; the element travelled through the queue.
                    while popped[producer].0.load(Relaxed) < sent && !stop.load(Relaxed) {
                        tokio::task::yield_now().await;
                    }
                }
                // AcqRel: the last producer out closes, after every producer's pushes.
                if left.fetch_sub(1, AcqRel) == 1 {
                    queue.close();
                }
                (sent, None)
            }));
        }
        for _ in 0..n {
            let (queue, popped) = (Arc::clone(&queue), Arc::clone(&popped));
            handles.push(tokio::spawn(async move {
                let mut histogram = histogram();
                loop {
                    let (item, polls) = counting_polls(queue.pop()).await;
                    let Some(value) = item else { break };
                    let end = stamp();
                    if polls > 1 {
                        let start = base.wrapping_add(value & STAMP_MASK);
                        record(&mut histogram, nanos_between(start, end));
                    }
                    let producer = (value >> PRODUCER_SHIFT) as usize;
                    popped[producer].0.fetch_add(1, Relaxed);
                }
                (0, Some(histogram))
            }));
        }
        handles
    });
    let mut merged = histogram();
    for (index, (sent, histogram)) in results.into_iter().enumerate() {
        if index < n {
            let got = popped[index].0.load(Relaxed);
            assert_eq!(
                got, sent,
                "{name}: producer {index} pushed {sent}, {got} popped"
            );
        }
        if let Some(histogram) = histogram {
            merged.add(histogram).expect("same bounds");
        }
    }
    merged
}

// ---------------------------------------------------------------------------
// Core to core
// ---------------------------------------------------------------------------

/// One pair of cores measured: half a compare-exchange round trip, in ns,
/// one figure per sample.
pub fn core_to_core(
    a: core_affinity::CoreId,
    b: core_affinity::CoreId,
    round_trips: u64,
    samples: usize,
) -> Vec<f64> {
    let line = Padded(AtomicU64::new(0));
    let line = &line.0;
    let barrier = Barrier::new(2);
    let figures = Mutex::new(Vec::with_capacity(samples));
    thread::scope(|scope| {
        for (side, core) in [(0u64, a), (1u64, b)] {
            let (barrier, figures) = (&barrier, &figures);
            scope.spawn(move || {
                // A refusal (a restricted cpuset) leaves the thread unpinned.
                core_affinity::set_for_current(core);
                for _ in 0..samples {
                    barrier.wait();
                    let started = Instant::now();
                    // Side 0 turns 2k into 2k+1, side 1 turns 2k+1 into 2k+2:
                    // each success moves the line to the other core and back.
                    for round in 0..round_trips {
                        let (from, to) = (2 * round + side, 2 * round + side + 1);
                        // AcqRel: pairs with the other side's CAS; the line itself is the message.
                        while line.compare_exchange(from, to, AcqRel, Relaxed).is_err() {
                            std::hint::spin_loop();
                        }
                    }
                    if side == 0 {
                        let elapsed = started.elapsed().as_nanos() as f64;
                        figures
                            .lock()
                            .unwrap()
                            .push(elapsed / (2 * round_trips) as f64);
                    }
                    barrier.wait();
                    if side == 0 {
                        line.store(0, Relaxed); // ordered before the next sample by the barrier
                    }
                }
            });
        }
    });
    figures.into_inner().unwrap()
}

// ---------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------

/// One structure in one latency workload.
#[derive(Clone, Copy)]
pub struct LatencyCase {
    /// Its name in tables and charts.
    pub structure: &'static str,
    /// Subject or peer.
    pub role: Role,
    /// Runs it once (checking the result).
    pub run: fn(&LatencyRun) -> Histogram<u64>,
}

/// A latency workload and the structures that run it.
pub struct LatencyWorkload {
    /// `latency/name`, used by filters and file names.
    pub id: &'static str,
    /// One line for the report.
    pub about: &'static str,
    /// How a load `n` reads in tables, e.g. `2p2c`.
    pub load: fn(usize) -> String,
    /// Threads a load `n` runs (for the oversubscription mark).
    pub threads: fn(usize) -> usize,
    /// Subject(s) first, then peers.
    pub cases: Vec<LatencyCase>,
}

fn case(
    structure: &'static str,
    role: Role,
    run: fn(&LatencyRun) -> Histogram<u64>,
) -> LatencyCase {
    LatencyCase {
        structure,
        role,
        run,
    }
}

fn producers_consumers(n: usize) -> String {
    format!("{n}p{n}c")
}

fn double(n: usize) -> usize {
    2 * n
}

/// The loads `n` to run: `FREELANE_LATENCY_N` (e.g. `1,4`) if set, else 1
/// (1p1c), half the cores, and the cores (`2n` threads: oversubscribed 2×).
pub fn loads() -> Vec<usize> {
    if let Ok(list) = std::env::var("FREELANE_LATENCY_N") {
        return super::parse_thread_list(&list)
            .unwrap_or_else(|err| panic!("FREELANE_LATENCY_N={list:?}: {err}"));
    }
    default_loads(super::cores())
}

/// 1, `cores / 2`, `cores`, deduplicated.
pub fn default_loads(cores: usize) -> Vec<usize> {
    let mut loads = vec![1, (cores / 2).max(1), cores.max(1)];
    loads.dedup();
    loads
}

/// Every latency workload, in report order. A new structure is one `case`
/// line in its workload.
pub fn catalog() -> Vec<LatencyWorkload> {
    use Role::{Peer, Subject};
    const UNBOUNDED: Option<usize> = None;
    const BOUNDED: Option<usize> = Some(CAPACITY);
    vec![
        LatencyWorkload {
            id: "latency/ring",
            about: "push to pop, n producers / n consumers, ≤8 in flight each (bounded, capacity 1024)",
            load: producers_consumers,
            threads: double,
            cases: vec![
                case("RingBuffer", Subject, |r| {
                    push_to_pop::<RingBuffer<u64>>(r, BOUNDED)
                }),
                case("ArrayQueue", Peer, |r| {
                    push_to_pop::<ArrayQueue<u64>>(r, BOUNDED)
                }),
            ],
        },
        LatencyWorkload {
            id: "latency/ring-blocking",
            about: "blocking push to blocking pop, n producers / n consumers, ≤8 in flight each (capacity 1024)",
            load: producers_consumers,
            threads: double,
            cases: vec![
                case("RingBuffer", Subject, |r| {
                    push_to_pop_blocking::<RingBuffer<u64>>(r, CAPACITY)
                }),
                case("crossbeam-channel bounded", Peer, |r| {
                    push_to_pop_blocking::<CrossbeamBounded>(r, CAPACITY)
                }),
            ],
        },
        LatencyWorkload {
            id: "latency/unbounded",
            about: "push to pop, n producers / n consumers, ≤8 in flight each (unbounded)",
            load: producers_consumers,
            threads: double,
            cases: vec![
                case("MsQueue", Subject, |r| {
                    push_to_pop::<MsQueue<u64>>(r, UNBOUNDED)
                }),
                case("SegmentedQueue", Subject, |r| {
                    push_to_pop::<SegmentedQueue<u64>>(r, UNBOUNDED)
                }),
                case("SegQueue", Peer, |r| {
                    push_to_pop::<SegQueue<u64>>(r, UNBOUNDED)
                }),
            ],
        },
        LatencyWorkload {
            id: "latency/semaphore",
            about: "blocking acquire, call to grant, 2n threads, 1 permit",
            load: |n| format!("{} threads", 2 * n),
            threads: double,
            cases: vec![
                case("Semaphore", Subject, acquire_to_grant::<Semaphore>),
                case("Mutex+Condvar", Peer, acquire_to_grant::<CondvarSemaphore>),
            ],
        },
        LatencyWorkload {
            id: "latency/async-semaphore",
            about: "async acquire, release to the woken task's grant (tokio, n workers, 2n tasks, 1 permit)",
            load: |n| format!("{n} workers"),
            threads: |n| n,
            cases: vec![
                case("Semaphore", Subject, release_to_wake::<Semaphore>),
                case(
                    "tokio Semaphore",
                    Peer,
                    release_to_wake::<tokio::sync::Semaphore>,
                ),
            ],
        },
        LatencyWorkload {
            id: "latency/async-ring",
            about: "async pop, push to the woken consumer's poll (tokio, n producer / n consumer tasks)",
            load: producers_consumers,
            threads: double,
            cases: vec![
                case("RingBuffer", Subject, push_to_wake::<RingBuffer<u64>>),
                case("async-channel", Peer, push_to_wake::<AsyncChannel>),
            ],
        },
    ]
}
