//! Limit concurrent work to `LIMIT` across many threads with a semaphore.
//!
//! Each job holds a permit while it runs (`let _permit = sem.acquire()?;`),
//! so however many threads want to work, at most `LIMIT` do at once. The
//! example counts the jobs running at each moment and checks the maximum.
//!
//! Run with `cargo run --example limit_concurrency`.
#![allow(clippy::std_instead_of_core)] // user code spells the `std` paths

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Instant;

use freelane::{AcquireError, Semaphore};

/// Jobs allowed to run at once.
const LIMIT: usize = 4;
/// Threads competing for the permits.
const THREADS: usize = 16;
/// Jobs each thread runs.
const JOBS_PER_THREAD: usize = 200;

/// Bookkeeping shared by the workers.
struct Stats {
    running: AtomicUsize,
    most_running: AtomicUsize,
    jobs_done: AtomicUsize,
}

fn main() -> Result<(), AcquireError> {
    let sem = Semaphore::new(LIMIT);
    let stats = Stats {
        running: AtomicUsize::new(0),
        most_running: AtomicUsize::new(0),
        jobs_done: AtomicUsize::new(0),
    };
    let start = Instant::now();

    thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|worker| {
                let (sem, stats) = (&sem, &stats);
                scope.spawn(move || -> Result<(), AcquireError> {
                    for job in 0..JOBS_PER_THREAD {
                        let _permit = sem.acquire()?;
                        run_job(stats, worker * JOBS_PER_THREAD + job);
                    } // `_permit` drops here: the next job may start
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|worker| worker.join().expect("a worker panicked"))
    })?;

    let most = stats.most_running.load(SeqCst);
    let done = stats.jobs_done.load(SeqCst);
    println!(
        "{done} jobs on {THREADS} threads in {:?}; at most {most} ran at once (limit {LIMIT})",
        start.elapsed()
    );
    assert!(
        most <= LIMIT,
        "{most} jobs ran at once, past the limit of {LIMIT}"
    );
    assert_eq!(done, THREADS * JOBS_PER_THREAD);
    assert_eq!(sem.available_permits(), LIMIT, "every permit came back");
    Ok(())
}

/// One unit of work, done while holding a permit.
fn run_job(stats: &Stats, job: usize) {
    let now = stats.running.fetch_add(1, SeqCst) + 1;
    stats.most_running.fetch_max(now, SeqCst);
    // Some computation, then a yield so that other threads get to contend.
    let mut hash = job as u64;
    for _ in 0..1_000 {
        hash = black_box(hash.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(7));
    }
    thread::yield_now();
    stats.running.fetch_sub(1, SeqCst);
    stats.jobs_done.fetch_add(1, SeqCst);
}
