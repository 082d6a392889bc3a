//! Batches: `RingBuffer::try_push_many`/`try_pop_many` and
//! `SegmentedQueue::push_many`/`pop_many` in runs of [`BATCH`], beside the
//! same structure driven element by element and beside the peer a user would
//! otherwise pick (crossbeam's `ArrayQueue` / `SegQueue`, which have no batch
//! form, so element by element).
//!
//! One workload shape, [`mpmc`]: `threads / 2` producers and the rest
//! consumers. Producers hand over `(producer << 40) | sequence` values;
//! consumers check every producer's values arrive in increasing order, and
//! the totals check each element arrived exactly once (count and sum). One op
//! = one element, so the batch and single rows compare per element.

use super::{Backoff, Padded, Run, SEQUENCE_BITS, Tally, name_of, run_threads};
use super::{Measurement, Role, Workload, case};
use crossbeam_queue::{ArrayQueue, SegQueue};
use freelane::{RingBuffer, SegmentedQueue};
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Release},
};

/// Elements per batch call.
pub const BATCH: usize = 32;

/// A FIFO of `u64` driven in runs: `push` takes from the front of `items` as
/// many as fit and returns how many; `pop` appends up to `max` to `out`.
pub trait BatchQueue: Sync + Sized {
    /// A new queue; `capacity` for the bounded ones.
    fn build(capacity: usize) -> Self;
    /// Pushes from the front of `items`; returns how many left the Vec.
    fn push(&self, items: &mut Vec<u64>) -> usize;
    /// Appends up to `max` elements to `out`; returns how many.
    fn pop(&self, out: &mut Vec<u64>, max: usize) -> usize;
    /// As [`super::BenchQueue::age`].
    fn age(&self, _producers: usize, _consumers: usize) {}
}

/// The ring with its batch calls.
pub struct RingBatch(RingBuffer<u64>);
/// The same ring, one `try_push`/`try_pop` per element.
pub struct RingSingle(RingBuffer<u64>);
/// The unbounded queue with its batch calls.
pub struct SegmentedBatch(SegmentedQueue<u64>);
/// The same queue, one `push`/`pop` per element.
pub struct SegmentedSingle(SegmentedQueue<u64>);

impl BatchQueue for RingBatch {
    fn build(capacity: usize) -> Self {
        RingBatch(RingBuffer::new(capacity))
    }
    fn age(&self, producers: usize, consumers: usize) {
        super::age_ring(&self.0, producers, consumers);
    }
    fn push(&self, items: &mut Vec<u64>) -> usize {
        self.0.try_push_many(items)
    }
    fn pop(&self, out: &mut Vec<u64>, max: usize) -> usize {
        self.0.try_pop_many(out, max)
    }
}

/// Element-by-element drivers share one shape: push from the front until the
/// first refusal, pop until the first empty.
fn push_each(items: &mut Vec<u64>, mut push: impl FnMut(u64) -> Result<(), u64>) -> usize {
    let mut pushed = 0;
    for &value in items.iter() {
        if push(value).is_err() {
            break;
        }
        pushed += 1;
    }
    items.drain(..pushed);
    pushed
}

fn pop_each(out: &mut Vec<u64>, max: usize, mut pop: impl FnMut() -> Option<u64>) -> usize {
    let mut popped = 0;
    while popped < max {
        match pop() {
            Some(value) => out.push(value),
            None => break,
        }
        popped += 1;
    }
    popped
}

impl BatchQueue for RingSingle {
    fn build(capacity: usize) -> Self {
        RingSingle(RingBuffer::new(capacity))
    }
    fn age(&self, producers: usize, consumers: usize) {
        super::age_ring(&self.0, producers, consumers);
    }
    fn push(&self, items: &mut Vec<u64>) -> usize {
        push_each(items, |v| self.0.try_push(v).map_err(|e| e.into_inner()))
    }
    fn pop(&self, out: &mut Vec<u64>, max: usize) -> usize {
        pop_each(out, max, || self.0.try_pop().ok())
    }
}

impl BatchQueue for ArrayQueue<u64> {
    fn build(capacity: usize) -> Self {
        ArrayQueue::new(capacity)
    }
    fn push(&self, items: &mut Vec<u64>) -> usize {
        push_each(items, |v| ArrayQueue::push(self, v))
    }
    fn pop(&self, out: &mut Vec<u64>, max: usize) -> usize {
        pop_each(out, max, || ArrayQueue::pop(self))
    }
}

impl BatchQueue for SegmentedBatch {
    fn build(_: usize) -> Self {
        SegmentedBatch(SegmentedQueue::new())
    }
    fn push(&self, items: &mut Vec<u64>) -> usize {
        let pushed = items.len();
        self.0.push_many(items);
        pushed
    }
    fn pop(&self, out: &mut Vec<u64>, max: usize) -> usize {
        self.0.pop_many(out, max)
    }
}

impl BatchQueue for SegmentedSingle {
    fn build(_: usize) -> Self {
        SegmentedSingle(SegmentedQueue::new())
    }
    fn push(&self, items: &mut Vec<u64>) -> usize {
        push_each(items, |v| {
            self.0.push(v);
            Ok(())
        })
    }
    fn pop(&self, out: &mut Vec<u64>, max: usize) -> usize {
        pop_each(out, max, || self.0.pop())
    }
}

impl BatchQueue for SegQueue<u64> {
    fn build(_: usize) -> Self {
        SegQueue::new()
    }
    fn push(&self, items: &mut Vec<u64>) -> usize {
        push_each(items, |v| {
            SegQueue::push(self, v);
            Ok(())
        })
    }
    fn pop(&self, out: &mut Vec<u64>, max: usize) -> usize {
        pop_each(out, max, || SegQueue::pop(self))
    }
}

/// `threads / 2` producers, the rest consumers, every call moving up to
/// [`BATCH`] elements; checked like `super::mpmc`.
pub fn mpmc<Q: BatchQueue>(run: &Run, capacity: usize) -> Measurement {
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
            let mut items = Vec::with_capacity(BATCH);
            let (mut sent, mut sum) = (0u64, 0u64);
            let mut next = 0u64;
            while budget.more(sent) {
                while items.len() < BATCH {
                    items.push(base | next);
                    next += 1;
                }
                let pushed = queue.push(&mut items);
                if pushed == 0 {
                    backoff.snooze();
                    continue;
                }
                backoff.reset();
                // The first `sent..sent + pushed` sequence numbers left the Vec.
                for sequence in sent..sent + pushed as u64 {
                    sum = sum.wrapping_add(base | sequence);
                }
                sent += pushed as u64;
            }
            // The rest of the Vec never entered the queue: drain it whole so
            // nothing is half-sent.
            while !items.is_empty() {
                let pushed = queue.push(&mut items);
                for sequence in sent..sent + pushed as u64 {
                    sum = sum.wrapping_add(base | sequence);
                }
                sent += pushed as u64;
                if pushed == 0 {
                    backoff.snooze();
                }
            }
            // Release: pairs with the consumers' Acquire load; this producer's
            // pushes happen-before the pop that finds the queue empty.
            producers_done.0.fetch_add(1, Release);
            Tally::sent(sent, sum)
        } else {
            let mut next = vec![0u64; producers];
            let mut out = Vec::with_capacity(BATCH);
            let mut backoff = Backoff::default();
            let mut tally = Tally::receiver();
            let mut take = |out: &mut Vec<u64>, tally: &mut Tally| {
                for value in out.drain(..) {
                    tally.record(&mut next, value);
                }
            };
            loop {
                if queue.pop(&mut out, BATCH) > 0 {
                    take(&mut out, &mut tally);
                    backoff.reset();
                } else if producers_done.0.load(Acquire) == producers {
                    if queue.pop(&mut out, BATCH) == 0 {
                        break;
                    }
                    take(&mut out, &mut tally);
                } else {
                    backoff.snooze();
                }
            }
            tally
        }
    });
    Tally::verify(name_of::<Q>(), producers, results, elapsed)
}

/// The batch workloads, at 2, 4, ... threads (1p1c, 2p2c, ...).
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "batch/ring",
            about: "n/2 producers, n/2 consumers, 32 elements per call (capacity 1024)",
            threads: super::ThreadPlan::Scaling { min: 2 },
            cases: vec![
                case("RingBuffer batch 32", Role::Subject, |r| {
                    mpmc::<RingBatch>(r, super::CAPACITY)
                }),
                case("RingBuffer single", Role::Peer, |r| {
                    mpmc::<RingSingle>(r, super::CAPACITY)
                }),
                case("ArrayQueue", Role::Peer, |r| {
                    mpmc::<ArrayQueue<u64>>(r, super::CAPACITY)
                }),
            ],
        },
        Workload {
            id: "batch/unbounded",
            about: "n/2 producers, n/2 consumers, 32 elements per call (unbounded)",
            threads: super::ThreadPlan::Scaling { min: 2 },
            cases: vec![
                case("SegmentedQueue batch 32", Role::Subject, |r| {
                    mpmc::<SegmentedBatch>(r, 0)
                }),
                case("SegmentedQueue single", Role::Peer, |r| {
                    mpmc::<SegmentedSingle>(r, 0)
                }),
                case("SegQueue", Role::Peer, |r| mpmc::<SegQueue<u64>>(r, 0)),
            ],
        },
    ]
}
