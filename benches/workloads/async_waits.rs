//! Async workloads: freelane's async waits beside the async primitives
//! people use today, on tokio's multi-thread runtime.
//!
//! - `async/semaphore`: `2n` tasks on `n` worker threads loop
//!   `acquire().await`, a `yield_now` while holding the permit, release, on a
//!   semaphore of `n` permits, so tasks really queue: freelane's
//!   `acquire_async` against tokio's `Semaphore::acquire`.
//! - `async/ring-1p1c`, `async/ring-2p2c`: producer tasks `push_async`,
//!   consumer tasks `pop_async` until the ring is closed and drained, on as
//!   many worker threads as tasks: freelane's `RingBuffer` against
//!   `async-channel`'s bounded channel, both of capacity [`CAPACITY`].
//!
//! Each run builds its own runtime (worker threads are tokio's, not pinned)
//! and checks its result: every permit back and the acquire count exact;
//! every element received exactly once, in order per producer.
//!
//! Declared from `mod.rs` (one `pub mod` line at its end); the catalog
//! entries are appended at the end of `catalog()` there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use freelane::{RingBuffer, Semaphore};

use super::{CAPACITY, Measurement, Run, Stop, share};

/// A runtime with `workers` worker threads.
fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// Per-task operation limit and the shared stop flag of a run.
#[derive(Clone)]
struct Limits {
    /// `Some(n)`: stop after `n` operations in all; `None`: at `stop`.
    total: Option<u64>,
    stop: Arc<AtomicBool>,
}

impl Limits {
    fn new(run: &Run) -> Self {
        Self {
            total: match run.stop {
                Stop::Ops(total) => Some(total),
                Stop::Time(_) => None,
            },
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The operations task `part` of `parts` may do (`u64::MAX` when timed).
    fn budget(&self, part: usize, parts: usize) -> u64 {
        self.total
            .map_or(u64::MAX, |total| share(total, parts, part))
    }

    /// Whether a task that has done `done` of `budget` goes on.
    #[inline]
    fn more(&self, done: u64, budget: u64) -> bool {
        // Relaxed: the flag is a hint to stop; results travel through the joins.
        done < budget && !self.stop.load(Relaxed)
    }
}

/// Runs `spawn_all` on a fresh runtime and waits for its tasks; ends a timed
/// run by setting the stop flag. Returns the elapsed time and each task's
/// result.
fn measure<R: Send + 'static>(
    run: &Run,
    workers: usize,
    limits: &Limits,
    spawn_all: impl FnOnce() -> Vec<tokio::task::JoinHandle<R>>,
) -> (Duration, Vec<R>) {
    let runtime = runtime(workers);
    runtime.block_on(async {
        let start = Instant::now();
        let handles = spawn_all();
        if let Stop::Time(duration) = run.stop {
            // A thread sleep, not tokio's timer: this is the `block_on` thread,
            // not a worker, and the timer is driven by workers, which a task
            // that never returns `Pending` (an uncontended loop on freelane's
            // fast path, which has no tokio coop budget) would not let run.
            std::thread::sleep(duration);
            limits.stop.store(true, Relaxed);
        }
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("a benchmark task panicked"));
        }
        (start.elapsed(), results)
    })
}

// ---------------------------------------------------------------------------
// Semaphores
// ---------------------------------------------------------------------------

/// A semaphore with an async acquire, as the workload drives it.
pub trait AsyncSemaphore: Send + Sync + 'static {
    fn build(permits: usize) -> Self;
    /// Acquires one permit, yields to the runtime while holding it (so the
    /// other tasks must wait), and releases it.
    fn acquire_release(&self) -> impl std::future::Future<Output = ()> + Send;
    fn available(&self) -> usize;
}

impl AsyncSemaphore for Semaphore {
    fn build(permits: usize) -> Self {
        Semaphore::new(permits)
    }
    async fn acquire_release(&self) {
        let permit = self.acquire_async().await.expect("never closed");
        tokio::task::yield_now().await;
        drop(permit);
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

impl AsyncSemaphore for tokio::sync::Semaphore {
    fn build(permits: usize) -> Self {
        tokio::sync::Semaphore::new(permits)
    }
    async fn acquire_release(&self) {
        let permit = self.acquire().await.expect("never closed");
        tokio::task::yield_now().await;
        drop(permit);
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

/// `2n` tasks on `n` workers, `n` permits: acquire + release, repeated.
pub fn semaphore<S: AsyncSemaphore>(run: &Run) -> Measurement {
    let workers = run.threads.max(1);
    let tasks = 2 * workers;
    let permits = workers;
    let semaphore = Arc::new(S::build(permits));
    let limits = Limits::new(run);
    let (elapsed, per_task) = measure(run, workers, &limits, || {
        (0..tasks)
            .map(|task| {
                let (semaphore, limits) = (Arc::clone(&semaphore), limits.clone());
                tokio::spawn(async move {
                    let budget = limits.budget(task, tasks);
                    let mut done = 0;
                    while limits.more(done, budget) {
                        semaphore.acquire_release().await;
                        done += 1;
                    }
                    done
                })
            })
            .collect()
    });
    let ops: u64 = per_task.iter().sum();
    let name = std::any::type_name::<S>();
    assert_eq!(
        semaphore.available(),
        permits,
        "{name}: permits not all returned"
    );
    if let Some(total) = limits.total {
        assert_eq!(ops, total, "{name}: {ops} acquires instead of {total}");
    }
    Measurement {
        ops,
        elapsed,
        per_thread: per_task,
    }
}

// ---------------------------------------------------------------------------
// Rings
// ---------------------------------------------------------------------------

/// A bounded async queue of `u64`, as the workload drives it.
pub trait AsyncQueue: Send + Sync + 'static {
    fn build(capacity: usize) -> Self;
    /// Waits for room; `false` if closed.
    fn push(&self, value: u64) -> impl std::future::Future<Output = bool> + Send;
    /// Waits for a value; `None` once closed and drained.
    fn pop(&self) -> impl std::future::Future<Output = Option<u64>> + Send;
    fn close(&self);
    /// As [`super::BenchQueue::age`].
    fn age(&self, _producers: usize, _consumers: usize) {}
}

impl AsyncQueue for RingBuffer<u64> {
    fn build(capacity: usize) -> Self {
        RingBuffer::new(capacity)
    }
    async fn push(&self, value: u64) -> bool {
        self.push_async(value).await.is_ok()
    }
    async fn pop(&self) -> Option<u64> {
        self.pop_async().await
    }
    fn close(&self) {
        RingBuffer::close(self);
    }
    fn age(&self, producers: usize, consumers: usize) {
        super::age_ring(self, producers, consumers);
    }
}

/// `async-channel`'s bounded channel: one value holds both ends.
pub struct AsyncChannel {
    sender: async_channel::Sender<u64>,
    receiver: async_channel::Receiver<u64>,
}

impl AsyncQueue for AsyncChannel {
    fn build(capacity: usize) -> Self {
        let (sender, receiver) = async_channel::bounded(capacity);
        Self { sender, receiver }
    }
    async fn push(&self, value: u64) -> bool {
        self.sender.send(value).await.is_ok()
    }
    async fn pop(&self) -> Option<u64> {
        self.receiver.recv().await.ok()
    }
    fn close(&self) {
        self.sender.close();
    }
}

/// `producers` tasks push their sequence numbers (tagged with the producer)
/// while `consumers` tasks pop until closed and drained, on one worker per
/// task. Ops: elements received.
pub fn ring<Q: AsyncQueue>(run: &Run, producers: usize, consumers: usize) -> Measurement {
    let queue = Arc::new(Q::build(CAPACITY));
    queue.age(producers, consumers);
    let limits = Limits::new(run);
    let name = std::any::type_name::<Q>();
    let closer = Arc::new(std::sync::atomic::AtomicUsize::new(producers));
    // Each task returns (is producer, elements, sum of sequence numbers).
    let (elapsed, results) = measure(run, producers + consumers, &limits, || {
        let mut handles = Vec::new();
        for producer in 0..producers {
            let (queue, limits, closer) = (Arc::clone(&queue), limits.clone(), Arc::clone(&closer));
            handles.push(tokio::spawn(async move {
                let budget = limits.budget(producer, producers);
                let mut sent = 0;
                while limits.more(sent, budget) {
                    assert!(
                        queue.push((producer as u64) << 40 | sent).await,
                        "{name}: closed early"
                    );
                    sent += 1;
                }
                // The last producer to finish closes: consumers drain, then stop.
                if closer.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
                    queue.close();
                }
                (true, sent, sent * sent.saturating_sub(1) / 2)
            }));
        }
        for _ in 0..consumers {
            let queue = Arc::clone(&queue);
            handles.push(tokio::spawn(async move {
                let mut next = vec![0u64; producers];
                let (mut received, mut sum) = (0, 0);
                while let Some(item) = queue.pop().await {
                    let (producer, seq) = ((item >> 40) as usize, item & ((1 << 40) - 1));
                    assert!(
                        seq >= next[producer],
                        "{name}: producer {producer} out of order"
                    );
                    next[producer] = seq + 1;
                    received += 1;
                    sum += seq;
                }
                (false, received, sum)
            }));
        }
        handles
    });
    let sent: u64 = results.iter().filter(|r| r.0).map(|r| r.1).sum();
    let received: u64 = results.iter().filter(|r| !r.0).map(|r| r.1).sum();
    assert_eq!(received, sent, "{name}: sent {sent}, received {received}");
    let sent_sum: u64 = results.iter().filter(|r| r.0).map(|r| r.2).sum();
    let received_sum: u64 = results.iter().filter(|r| !r.0).map(|r| r.2).sum();
    assert_eq!(
        received_sum, sent_sum,
        "{name}: elements lost or duplicated"
    );
    if let Some(total) = limits.total {
        assert_eq!(sent, total, "{name}: {sent} sent instead of {total}");
    }
    Measurement {
        ops: received,
        elapsed,
        per_thread: results.iter().map(|r| r.1).collect(),
    }
}
