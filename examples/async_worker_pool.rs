//! An async worker pool on tokio: jobs flow through a bounded `RingBuffer`
//! with backpressure (`push_async` waits while the ring is full), and a
//! `Semaphore` caps how many jobs may run their "I/O" phase at once (say, a
//! connection limit), whatever the number of workers.
//!
//! The producer task pushes every job, then closes the ring; each worker
//! pops with `pop_async` until it resolves to `None` (closed *and* drained),
//! so no job is left behind and no worker waits forever. Main then checks
//! that every job was done exactly once, that the concurrency cap was never
//! exceeded, and that every permit came back.
//!
//! Run with `cargo run --example async_worker_pool`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use freelane::{RingBuffer, Semaphore};

const JOBS: usize = 2_000;
const WORKERS: usize = 16;
/// Small on purpose, so the producer meets backpressure often.
const CAPACITY: usize = 8;
/// At most this many jobs in their I/O phase at once.
const IO_LIMIT: usize = 3;

struct Job {
    id: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let ring = Arc::new(RingBuffer::<Job>::new(CAPACITY));
    let io_slots = Arc::new(Semaphore::new(IO_LIMIT));
    let in_io = Arc::new(AtomicUsize::new(0));
    let most_in_io = Arc::new(AtomicUsize::new(0));
    // done[id] counts how often job `id` was done: each must end at 1.
    let done: Arc<Vec<AtomicUsize>> = Arc::new((0..JOBS).map(|_| AtomicUsize::new(0)).collect());
    // How often the producer found the ring full before its push completed.
    let full_waits = Arc::new(AtomicUsize::new(0));

    let producer = {
        let (ring, full_waits) = (Arc::clone(&ring), Arc::clone(&full_waits));
        tokio::spawn(async move {
            for id in 0..JOBS {
                if ring.is_full() {
                    full_waits.fetch_add(1, SeqCst);
                }
                // Waits (without blocking the worker thread) while full.
                if ring.push_async(Job { id }).await.is_err() {
                    unreachable!("only the producer closes the ring");
                }
            }
            ring.close(); // workers drain what is left, then see None
        })
    };

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (ring, io_slots, in_io, most_in_io, done) = (
                Arc::clone(&ring),
                Arc::clone(&io_slots),
                Arc::clone(&in_io),
                Arc::clone(&most_in_io),
                Arc::clone(&done),
            );
            tokio::spawn(async move {
                let mut jobs = 0;
                while let Some(job) = ring.pop_async().await {
                    // The I/O phase: at most IO_LIMIT jobs at once.
                    let permit = io_slots.acquire_async().await.expect("never closed");
                    let now = in_io.fetch_add(1, SeqCst) + 1;
                    most_in_io.fetch_max(now, SeqCst);
                    tokio::time::sleep(Duration::from_micros(50)).await;
                    in_io.fetch_sub(1, SeqCst);
                    drop(permit);
                    done[job.id].fetch_add(1, SeqCst);
                    jobs += 1;
                }
                jobs
            })
        })
        .collect();

    producer.await.expect("producer panicked");
    let mut per_worker = Vec::new();
    for worker in workers {
        per_worker.push(worker.await.expect("worker panicked"));
    }

    assert!(
        done.iter().all(|count| count.load(SeqCst) == 1),
        "a job was lost or done twice"
    );
    assert_eq!(per_worker.iter().sum::<usize>(), JOBS);
    let most = most_in_io.load(SeqCst);
    assert!(
        most <= IO_LIMIT,
        "{most} jobs in I/O at once, limit {IO_LIMIT}"
    );
    assert_eq!(
        io_slots.available_permits(),
        IO_LIMIT,
        "a permit was not returned"
    );
    assert!(ring.is_closed() && ring.is_empty());
    println!(
        "{JOBS} jobs done exactly once by {WORKERS} async workers (per worker: {per_worker:?}); \
         at most {most} in I/O at once (limit {IO_LIMIT}); the producer met a full ring {} times",
        full_waits.load(SeqCst)
    );
}
