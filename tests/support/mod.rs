//! Shared test helpers: a drop-counting payload and an MPMC conservation
//! harness. Each test binary includes this with `mod support;` and uses what
//! it needs.
#![allow(dead_code)]

pub mod counting_alloc;
pub mod executor;
pub mod linearizability;
pub mod unbounded;

use std::sync::Arc;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

/// Scales an iteration count down under Miri, which runs code ~1000x
/// slower, and under ThreadSanitizer (`--cfg freelane_sanitize`, set by
/// `.ci/stages/tsan.sh`), ~10x slower, whose value is in the interleavings
/// it watches rather than in their number.
pub fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        (n / 200).max(4)
    } else if cfg!(freelane_sanitize) {
        (n / 10).max(4)
    } else {
        n
    }
}

/// How long a stress test may take before it is declared stalled. Generous:
/// it exists to turn a hang into a failure, never to measure speed.
pub const STALL_LIMIT: Duration = Duration::from_secs(120);

/// A payload that counts its drops in a shared counter.
#[derive(Debug)]
pub struct DropCounter {
    pub id: usize,
    drops: Arc<AtomicUsize>,
}

impl DropCounter {
    pub fn new(id: usize, drops: &Arc<AtomicUsize>) -> Self {
        Self {
            id,
            drops: Arc::clone(drops),
        }
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// An item of the conservation harness: which producer made it, and its
/// sequence number within that producer.
pub fn encode(producer: usize, seq: usize) -> u64 {
    ((producer as u64) << 32) | seq as u64
}

pub fn decode(item: u64) -> (usize, usize) {
    ((item >> 32) as usize, (item & 0xffff_ffff) as usize)
}

/// Runs `producers` threads each pushing `per_producer` items and `consumers`
/// threads popping until every item has arrived, then checks that
/// - every item was received exactly once, and
/// - at each consumer, the items of one producer arrived in the order pushed.
///
/// `push` must not lose the item (a bounded structure retries while full);
/// `pop` returns `None` when it found nothing this time. All threads start on
/// a barrier. Panics with a description if either property fails, or if the
/// run stalls past [`STALL_LIMIT`].
pub fn check_mpmc_conservation<P, C>(
    producers: usize,
    consumers: usize,
    per_producer: usize,
    push: P,
    pop: C,
) where
    P: Fn(u64) + Sync,
    C: Fn() -> Option<u64> + Sync,
{
    let total = producers * per_producer;
    let received = AtomicUsize::new(0);
    let barrier = Barrier::new(producers + consumers);
    let start = Instant::now();
    let per_consumer: Vec<Vec<u64>> = thread::scope(|scope| {
        for producer in 0..producers {
            let (push, barrier) = (&push, &barrier);
            scope.spawn(move || {
                barrier.wait();
                for seq in 0..per_producer {
                    push(encode(producer, seq));
                }
            });
        }
        let handles: Vec<_> = (0..consumers)
            .map(|_| {
                let (pop, barrier, received) = (&pop, &barrier, &received);
                scope.spawn(move || {
                    barrier.wait();
                    let mut got = Vec::new();
                    while received.load(SeqCst) < total {
                        match pop() {
                            Some(item) => {
                                got.push(item);
                                received.fetch_add(1, SeqCst);
                            }
                            None => {
                                assert!(
                                    start.elapsed() < STALL_LIMIT,
                                    "MPMC run stalled: {} of {total} items received",
                                    received.load(SeqCst)
                                );
                                thread::yield_now();
                            }
                        }
                    }
                    got
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });

    let mut seen = vec![0u8; total];
    for got in &per_consumer {
        let mut last_seq = vec![None::<usize>; producers];
        for &item in got {
            let (producer, seq) = decode(item);
            assert!(
                producer < producers && seq < per_producer,
                "item {item:#x} was never pushed"
            );
            if let Some(last) = last_seq[producer] {
                assert!(
                    seq > last,
                    "producer {producer}: item {seq} arrived after item {last} at one consumer"
                );
            }
            last_seq[producer] = Some(seq);
            seen[producer * per_producer + seq] += 1;
        }
    }
    for (index, &count) in seen.iter().enumerate() {
        assert_eq!(
            count,
            1,
            "item {} of producer {} received {count} times",
            index % per_producer,
            index / per_producer
        );
    }
}
