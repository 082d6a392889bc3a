//! A worker pool fed through a bounded `RingBuffer`, with backpressure and a
//! clean shutdown by `close` (no poison pills).
//!
//! The producer pushes jobs with the blocking `push`: when the workers fall
//! behind and the ring is full, it waits instead of queueing without bound.
//! When it has pushed every job it closes the ring; each worker pops until
//! `pop` returns `None` (closed *and* drained), so no job is left behind and
//! no worker waits forever. Main then checks that every job was done exactly
//! once.
//!
//! Run with `cargo run --example worker_pool`.

use core::hint::black_box;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::Instant;

use freelane::RingBuffer;

/// A unit of work: sum the integers below `n`, one by one (a stand-in for
/// real work that takes some microseconds).
struct Job {
    id: usize,
    n: u64,
}

const JOBS: usize = 5_000;
const WORKERS: usize = 4;
/// Small on purpose, so the producer meets backpressure often.
const CAPACITY: usize = 8;

/// The size of job `id`: uneven, so the workers' loads differ.
fn job_size(id: usize) -> u64 {
    (id % 100 * 200) as u64
}

fn main() {
    let ring = RingBuffer::<Job>::new(CAPACITY);
    // How often the producer found the ring full (it then waited in `push`).
    let full_waits = AtomicUsize::new(0);
    let start = Instant::now();

    let results: Vec<Vec<(usize, u64)>> = thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let ring = &ring;
                s.spawn(move || {
                    let mut done = Vec::new();
                    // `None` only once the ring is closed and empty.
                    while let Some(job) = ring.pop() {
                        done.push((job.id, (0..job.n).map(black_box).sum::<u64>()));
                    }
                    done
                })
            })
            .collect();

        s.spawn(|| {
            for id in 0..JOBS {
                let job = Job {
                    id,
                    n: job_size(id),
                };
                if ring.is_full() {
                    full_waits.fetch_add(1, Relaxed);
                }
                if ring.push(job).is_err() {
                    unreachable!("only this thread closes the ring");
                }
            }
            // Shut down: workers drain what is left, then see `None`.
            assert!(ring.close());
        });

        workers
            .into_iter()
            .map(|worker| worker.join().expect("worker panicked"))
            .collect()
    });

    let mut done_count = vec![0u32; JOBS];
    for &(id, sum) in results.iter().flatten() {
        let n = job_size(id);
        assert_eq!(
            sum,
            n * n.saturating_sub(1) / 2,
            "job {id} computed a wrong sum"
        );
        done_count[id] += 1;
    }
    for (id, &count) in done_count.iter().enumerate() {
        assert_eq!(count, 1, "job {id} was done {count} times");
    }
    assert!(ring.is_empty() && ring.is_closed());

    println!(
        "{JOBS} jobs done exactly once by {WORKERS} workers through a ring of {CAPACITY} in {:.1?}",
        start.elapsed()
    );
    for (worker, done) in results.iter().enumerate() {
        println!("  worker {worker}: {} jobs", done.len());
    }
    println!(
        "  the producer found the ring full {} times and waited",
        full_waits.load(Relaxed)
    );
}
