//! A client that calls a (fake) remote service under a rate limit: 100
//! requests a second with bursts of up to 20, shared by four threads.
//!
//! Each worker sends its requests in bursts: a batch of 8 back to back, then
//! a pause. Essential calls wait for a token (`acquire`, which sleeps, no
//! spinning); optional ones (a cache warm-up) use `try_acquire` and are
//! skipped when the limiter says `RetryAfter`. At the end the example prints
//! the achieved rate and checks it against the quota:
//! `granted ≤ capacity + elapsed / refill_every + 1`.
//!
//! Run with `cargo run --release --example rate_limited_client` (about 2 s).
#![allow(clippy::std_instead_of_core)] // user code spells the `std` paths

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use freelane::{RateLimited, RateLimiter};

/// The service's quota: bursts of this many requests...
const BURST: u32 = 20;
/// ... and one more request every this long (100 a second).
const REFILL_EVERY: Duration = Duration::from_millis(10);
/// Client threads sharing the quota.
const WORKERS: usize = 4;
/// How long the client runs.
const RUN_FOR: Duration = Duration::from_secs(2);
/// Requests a worker sends back to back before it pauses.
const BATCH: usize = 8;

/// The remote service: answers after a short delay.
fn fake_service(request: u64) -> u64 {
    thread::sleep(Duration::from_micros(200));
    request * 2
}

fn main() {
    let start = Instant::now();
    // The first `RateLimiter::new` of a process calibrates its clock
    // (quanta's TSC scaling, up to 200 ms): started before it, `elapsed`
    // below can only overstate the time the limiter has been running.
    let limiter = RateLimiter::new(BURST, REFILL_EVERY);
    let essential = AtomicU64::new(0);
    let optional = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);

    thread::scope(|scope| {
        for worker in 0..WORKERS as u64 {
            let (limiter, essential, optional, skipped) =
                (&limiter, &essential, &optional, &skipped);
            scope.spawn(move || {
                let mut request = worker << 32;
                while start.elapsed() < RUN_FOR {
                    for _ in 0..BATCH {
                        limiter.acquire(); // sleeps until a token is due
                        request += 1;
                        assert_eq!(fake_service(request), request * 2);
                        essential.fetch_add(1, Relaxed);
                    }
                    // An optional call: only if a token is there right now.
                    match limiter.try_acquire() {
                        Ok(()) => {
                            fake_service(request);
                            optional.fetch_add(1, Relaxed);
                        }
                        Err(RateLimited::RetryAfter(_)) => {
                            skipped.fetch_add(1, Relaxed);
                        }
                        Err(RateLimited::ExceedsCapacity) => unreachable!("one token"),
                    }
                    thread::sleep(Duration::from_millis(30)); // think time
                }
            });
        }
    });

    let elapsed = start.elapsed();
    let granted = essential.load(Relaxed) + optional.load(Relaxed);
    let quota = u64::from(BURST) + (elapsed.as_nanos() / REFILL_EVERY.as_nanos()) as u64;
    let rate = granted as f64 / elapsed.as_secs_f64();
    println!(
        "{WORKERS} workers, {:.2} s: {granted} requests ({} essential, {} optional, {} optional skipped)",
        elapsed.as_secs_f64(),
        essential.load(Relaxed),
        optional.load(Relaxed),
        skipped.load(Relaxed),
    );
    println!(
        "achieved {rate:.1} requests/s against a quota of {:.0}/s with bursts of {BURST} (at most {quota} in {:.2} s)",
        1.0 / REFILL_EVERY.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    assert!(
        granted <= quota + 1,
        "granted {granted} requests, more than the quota allows ({quota} + 1)"
    );
    assert!(granted > 0, "no request went through");
    println!("within the quota");
}
