//! A tour of freelane: every structure driven from several threads, with
//! what happened printed and checked.
//!
//! Run with `cargo run --release --example tour`. Each section asserts the
//! property it shows (nothing lost, nothing duplicated, limits respected), so
//! a wrong result ends the tour with a panic rather than a pretty number.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use freelane::{AtomicCounter, MsQueue, RingBuffer, Semaphore, ShardedCounter};

/// Threads per side: the machine's cores, at least 2, so the tour contends
/// on any machine.
fn threads() -> usize {
    thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2)
}

fn main() {
    let started = Instant::now();
    let threads = threads();
    println!("freelane tour: {threads} threads per side\n");
    ms_queue(threads);
    ring_buffer(threads);
    counters(threads);
    semaphore(threads);
    println!("\nall checks passed in {:.2?}", started.elapsed());
}

/// MsQueue: producers push disjoint ranges, consumers pop until all arrive.
fn ms_queue(threads: usize) {
    const PER_PRODUCER: usize = 200_000;
    let queue = MsQueue::new();
    let total = threads * PER_PRODUCER;
    let popped = AtomicUsize::new(0);
    let start = Instant::now();
    let sums: Vec<usize> = thread::scope(|scope| {
        for producer in 0..threads {
            let queue = &queue;
            scope.spawn(move || {
                for i in 0..PER_PRODUCER {
                    queue.push(producer * PER_PRODUCER + i);
                }
            });
        }
        let consumers: Vec<_> = (0..threads)
            .map(|_| {
                let (queue, popped) = (&queue, &popped);
                scope.spawn(move || {
                    let mut sum = 0;
                    while popped.load(SeqCst) < total {
                        if let Some(value) = queue.pop() {
                            sum += value;
                            popped.fetch_add(1, SeqCst);
                        } else {
                            thread::yield_now();
                        }
                    }
                    sum
                })
            })
            .collect();
        consumers
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let elapsed = start.elapsed();
    let sum: usize = sums.iter().sum();
    assert_eq!(
        sum,
        total * (total - 1) / 2,
        "MsQueue lost or duplicated an element"
    );
    assert!(queue.is_empty());
    println!(
        "MsQueue      {threads}p/{threads}c moved {total} elements, each exactly once, in {elapsed:.2?} ({:.1} M/s)",
        total as f64 / elapsed.as_secs_f64() / 1e6
    );
}

/// RingBuffer: a bounded pipeline with backpressure, shut down by close.
fn ring_buffer(threads: usize) {
    const PER_PRODUCER: usize = 200_000;
    let ring = RingBuffer::new(64);
    let start = Instant::now();
    let (sum, count) = thread::scope(|scope| {
        let producers: Vec<_> = (0..threads)
            .map(|producer| {
                let ring = &ring;
                scope.spawn(move || {
                    for i in 0..PER_PRODUCER {
                        ring.push(producer * PER_PRODUCER + i)
                            .expect("closed only after producers finish");
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..threads)
            .map(|_| {
                let ring = &ring;
                scope.spawn(move || {
                    let (mut sum, mut count) = (0usize, 0usize);
                    // `pop` blocks while empty and returns None once the ring
                    // is closed and drained: no poison pill needed.
                    while let Some(value) = ring.pop() {
                        sum += value;
                        count += 1;
                    }
                    (sum, count)
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        assert!(
            ring.close(),
            "the first close reports that it closed the ring"
        );
        consumers
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .fold((0, 0), |(s, c), (sum, count)| (s + sum, c + count))
    });
    let elapsed = start.elapsed();
    let total = threads * PER_PRODUCER;
    assert_eq!(count, total, "RingBuffer lost or duplicated an element");
    assert_eq!(sum, total * (total - 1) / 2);
    println!(
        "RingBuffer   {threads}p/{threads}c through 64 slots: {total} elements, each exactly once, in {elapsed:.2?} ({:.1} M/s)",
        total as f64 / elapsed.as_secs_f64() / 1e6
    );
    let (replaced, kept) = {
        let ring = RingBuffer::new(3);
        let replaced: Vec<_> = (0..5).filter_map(|i| ring.force_push(i).unwrap()).collect();
        (
            replaced,
            std::iter::from_fn(|| ring.try_pop().ok()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        (replaced.as_slice(), kept.as_slice()),
        (&[0, 1][..], &[2, 3, 4][..])
    );
    println!("RingBuffer   force_push of 0..5 into 3 slots replaced {replaced:?}, kept {kept:?}");
}

/// Counters: every increment from every thread accounted for.
fn counters(threads: usize) {
    const PER_THREAD: u64 = 1_000_000;
    let single = AtomicCounter::new(0);
    let sharded = ShardedCounter::new();
    let start = Instant::now();
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..PER_THREAD {
                    single.increment();
                    sharded.increment();
                }
            });
        }
    });
    let expected = threads as u64 * PER_THREAD;
    assert_eq!(single.get(), expected, "AtomicCounter lost an increment");
    assert_eq!(sharded.sum(), expected, "ShardedCounter lost an increment");
    println!(
        "Counters     {threads} threads x {PER_THREAD} increments: AtomicCounter = ShardedCounter = {expected} ({:.2?})",
        start.elapsed()
    );
    let capped = AtomicCounter::new(u64::MAX - 2);
    assert_eq!(capped.checked_add(5), None);
    assert_eq!(
        capped.get(),
        u64::MAX - 2,
        "a refused checked_add leaves the value as it was"
    );
    assert_eq!(capped.saturating_add(5), u64::MAX - 2);
    assert_eq!(capped.get(), u64::MAX);
    println!(
        "Counters     checked_add past u64::MAX refused, value unchanged; saturating_add clamped at u64::MAX"
    );
}

/// Semaphore: N permits bound the number of threads inside at once.
fn semaphore(threads: usize) {
    const PERMITS: usize = 2;
    const ROUNDS: usize = 2_000;
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let inside = AtomicUsize::new(0);
    let most_inside = AtomicUsize::new(0);
    let start = Instant::now();
    let workers = threads * 2;
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                for _ in 0..ROUNDS {
                    let _permit = semaphore.acquire().expect("never closed here");
                    let now = inside.fetch_add(1, SeqCst) + 1;
                    most_inside.fetch_max(now, SeqCst);
                    std::hint::spin_loop();
                    inside.fetch_sub(1, SeqCst);
                }
            });
        }
    });
    let most = most_inside.load(SeqCst);
    assert!(
        most <= PERMITS,
        "{most} threads held a permit at once, more than {PERMITS}"
    );
    assert_eq!(
        semaphore.available_permits(),
        PERMITS,
        "every permit came back"
    );
    println!(
        "Semaphore    {workers} threads x {ROUNDS} acquires of {PERMITS} permits: at most {most} inside at once, all permits back ({:.2?})",
        start.elapsed()
    );
    semaphore.close();
    let timed = semaphore.acquire_timeout(Duration::from_millis(10));
    assert!(timed.is_err(), "a closed semaphore gives no permit");
    println!(
        "Semaphore    after close: acquire_timeout -> {:?}",
        timed.map(|permit| permit.permits())
    );
}
