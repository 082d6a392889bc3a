//! RateLimiter: deterministic tests on a `ManualClock` (exact bursts, exact
//! refill, exact `RetryAfter`, long-run rate, a clock going backwards,
//! overflow, bad quotas), the async acquire driven by a hand-written
//! executor, and one real-clock test that asserts only a lower bound.
#![allow(clippy::std_instead_of_core)] // test code spells the `std` paths

mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use freelane::{Clock, ManualClock, QuotaError, RateLimited, RateLimiter};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const MS: Duration = Duration::from_millis(1);

fn retry(d: Duration) -> Result<(), RateLimited> {
    Err(RateLimited::RetryAfter(d))
}

/// Polls `future` to completion with a waker that does nothing: enough for
/// futures whose sleeps are ready at once.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn starts_full_and_grants_exactly_capacity_at_a_frozen_time() {
    let clock = ManualClock::new(1_000);
    let limiter = RateLimiter::with_clock(5, 10 * MS, &clock);
    assert_eq!(limiter.available(), 5);
    for left in (0..5).rev() {
        assert_eq!(limiter.try_acquire(), Ok(()));
        assert_eq!(limiter.available(), left);
    }
    assert_eq!(limiter.try_acquire(), retry(10 * MS));
    // Denials change nothing: the same answer again.
    assert_eq!(limiter.try_acquire(), retry(10 * MS));
    assert_eq!(limiter.available(), 0);
}

#[test]
fn eight_threads_at_a_frozen_time_get_exactly_capacity() {
    const THREADS: usize = 8;
    // Smaller under Miri, which runs each thread's loop ~1000x slower.
    const CAPACITY: u32 = if cfg!(miri) { 16 } else { 100 };
    let rounds = support::scaled(200);
    for _ in 0..rounds {
        let clock = ManualClock::new(0);
        let limiter = RateLimiter::with_clock(CAPACITY, MS, &clock);
        let granted = AtomicUsize::new(0);
        let barrier = Barrier::new(THREADS);
        thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    barrier.wait();
                    // Each thread alone could take them all: 8x oversubscribed.
                    for _ in 0..CAPACITY {
                        match limiter.try_acquire() {
                            Ok(()) => {
                                granted.fetch_add(1, SeqCst);
                            }
                            Err(err) => assert!(err.retry_after().unwrap() <= MS, "{err:?}"),
                        }
                    }
                });
            }
        });
        assert_eq!(granted.load(SeqCst), CAPACITY as usize);
        assert_eq!(limiter.try_acquire(), retry(MS));
        if cfg!(miri) {
            break;
        }
    }
}

#[test]
fn threads_racing_a_moving_clock_never_exceed_the_quota() {
    // Four threads take tokens while a fifth moves the clock: readings go
    // stale between a thread's clock read and its CAS, which may deny but
    // must never grant beyond `capacity + elapsed / refill_every`.
    const CAPACITY: u64 = 10;
    const INTERVAL: u64 = 1_000;
    let mut rng = StdRng::seed_from_u64(0x5eed_c10c);
    // Under Miri the four takers spin ~1000x slower: a few steps suffice.
    let steps: Vec<u64> = (0..if cfg!(miri) { 8 } else { 20_000 })
        .map(|_| rng.random_range(0..3 * INTERVAL))
        .collect();
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(CAPACITY as u32, Duration::from_nanos(INTERVAL), &clock);
    let done = std::sync::atomic::AtomicBool::new(false);
    let granted = AtomicUsize::new(0);
    let barrier = Barrier::new(5);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                barrier.wait();
                while !done.load(SeqCst) {
                    if limiter.try_acquire().is_ok() {
                        granted.fetch_add(1, SeqCst);
                    }
                }
            });
        }
        barrier.wait();
        for &step in &steps {
            clock.advance(Duration::from_nanos(step));
            // Let the takers see this reading for a moment (a yield would
            // cost a time slice per step with four spinning takers).
            for _ in 0..64 {
                std::hint::spin_loop();
            }
        }
        done.store(true, SeqCst);
    });
    let quota = CAPACITY + clock.now() / INTERVAL;
    let granted = granted.load(SeqCst) as u64;
    assert!(granted <= quota, "granted {granted}, quota {quota}");
    // Whatever the threads left is still there, and no more.
    let mut left = 0;
    while limiter.try_acquire().is_ok() {
        left += 1;
    }
    assert!(granted + left <= quota, "{granted} + {left} > {quota}");
    assert!(left <= CAPACITY);
}

#[test]
fn one_more_grant_per_refill_interval() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(3, 10 * MS, &clock);
    limiter.try_acquire_many(3).unwrap();
    for _ in 0..support::scaled(1000) {
        assert_eq!(limiter.try_acquire(), retry(10 * MS));
        clock.advance(9 * MS);
        assert_eq!(limiter.try_acquire(), retry(MS));
        clock.advance(MS);
        assert_eq!(limiter.available(), 1);
        assert_eq!(limiter.try_acquire(), Ok(()));
    }
}

#[test]
fn refill_stops_at_capacity() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(4, MS, &clock);
    limiter.try_acquire_many(4).unwrap();
    clock.advance(Duration::from_secs(3600));
    assert_eq!(limiter.available(), 4);
    assert_eq!(limiter.try_acquire_many(4), Ok(()));
    assert_eq!(limiter.try_acquire(), retry(MS));
}

#[test]
fn retry_after_is_exact_for_many_tokens_and_partial_refills() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(10, Duration::from_nanos(700), &clock);
    limiter.try_acquire_many(10).unwrap();
    clock.advance(Duration::from_nanos(1_000)); // one token and 300 ns towards the next
    assert_eq!(limiter.available(), 1);
    assert_eq!(limiter.try_acquire_many(1), Ok(()));
    // The TAT is now 7 700, 6 700 ahead of the clock; 3 tokens need it at
    // most 7 000 - 2 100 = 4 900 ahead: 1 800 ns more.
    assert_eq!(
        limiter.try_acquire_many(3),
        retry(Duration::from_nanos(1_800))
    );
    clock.advance(Duration::from_nanos(1_799));
    assert_eq!(limiter.try_acquire_many(3), retry(Duration::from_nanos(1)));
    clock.advance(Duration::from_nanos(1));
    assert_eq!(limiter.try_acquire_many(3), Ok(()));
    assert_eq!(limiter.available(), 0);
}

#[test]
fn exceeds_capacity_and_zero_tokens() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(3, MS, &clock);
    assert_eq!(
        limiter.try_acquire_many(4),
        Err(RateLimited::ExceedsCapacity)
    );
    assert_eq!(
        limiter.try_acquire_many(u32::MAX),
        Err(RateLimited::ExceedsCapacity)
    );
    assert_eq!(limiter.available(), 3, "a refusal takes nothing");
    assert_eq!(limiter.try_acquire_many(0), Ok(()));
    assert_eq!(limiter.available(), 3, "zero tokens take nothing");
    assert_eq!(limiter.try_acquire_many(3), Ok(()));
    assert_eq!(limiter.try_acquire_many(0), Ok(()));
    assert!(RateLimited::ExceedsCapacity.is_exceeds_capacity());
    assert_eq!(RateLimited::ExceedsCapacity.retry_after(), None);
}

#[test]
fn long_run_rate_is_within_one_token_of_the_quota() {
    // A greedy caller at random clock steps: the grants must track
    // `capacity + elapsed / refill_every` to within one token, forever.
    let mut rng = StdRng::seed_from_u64(0x5eed_7a7e);
    let interval = Duration::from_nanos(1_234_567);
    let capacity = 7u32;
    let clock = ManualClock::new(42);
    let limiter = RateLimiter::with_clock(capacity, interval, &clock);
    let mut granted = 0u64;
    let steps = if cfg!(miri) { 40 } else { 100_000 };
    for _ in 0..steps {
        while limiter.try_acquire().is_ok() {
            granted += 1;
        }
        clock.advance(Duration::from_nanos(rng.random_range(0..3_000_000)));
    }
    while limiter.try_acquire().is_ok() {
        granted += 1;
    }
    let elapsed = clock.now() - 42;
    let quota = u64::from(capacity) + elapsed / interval.as_nanos() as u64;
    assert!(
        granted == quota || granted + 1 == quota,
        "granted {granted}, quota {quota}"
    );
    // Greedy from the start, so it is in fact exact.
    assert_eq!(granted, quota);
}

#[test]
fn a_clock_going_backwards_grants_nothing_extra() {
    let clock = ManualClock::new(10_000_000);
    let limiter = RateLimiter::with_clock(2, MS, &clock);
    limiter.try_acquire_many(2).unwrap();
    clock.set(5_000_000); // 5 ms back
    assert_eq!(limiter.available(), 0);
    assert_eq!(limiter.try_acquire(), retry(6 * MS));
    clock.set(0); // all the way back
    assert_eq!(limiter.try_acquire(), retry(11 * MS));
    // Once the clock is back where it was and a token further, one token.
    clock.set(11_000_000);
    assert_eq!(limiter.try_acquire(), Ok(()));
    assert_eq!(limiter.try_acquire(), retry(MS));
}

#[test]
fn a_fresh_limiter_is_full_at_any_clock_reading() {
    for start in [0, 1, 1 << 40, u64::MAX / 2] {
        let clock = ManualClock::new(start);
        let limiter = RateLimiter::with_clock(3, MS, &clock);
        assert_eq!(limiter.available(), 3, "start {start}");
        assert_eq!(limiter.try_acquire_many(3), Ok(()));
    }
}

#[test]
fn quota_overflow_is_rejected() {
    let clock = ManualClock::new(0);
    let too_long = RateLimiter::try_with_clock(2, Duration::from_nanos(u64::MAX / 2 + 1), &clock);
    assert_eq!(
        too_long.unwrap_err(),
        QuotaError::TooLong {
            capacity: 2,
            refill_every: Duration::from_nanos(u64::MAX / 2 + 1)
        }
    );
    // Exactly u64::MAX nanoseconds fits.
    let limiter = RateLimiter::with_clock(1, Duration::from_nanos(u64::MAX), &clock);
    assert_eq!(limiter.try_acquire(), Ok(()));
    assert_eq!(limiter.try_acquire(), retry(Duration::from_nanos(u64::MAX)));
    assert!(RateLimiter::try_with_clock(1, Duration::MAX, &clock).is_err());
    assert!(RateLimiter::try_with_clock(u32::MAX, Duration::from_secs(1), &clock).is_ok());
}

#[test]
fn a_clock_at_the_end_of_its_range_never_grants_past_it() {
    let clock = ManualClock::new(u64::MAX - 5);
    let limiter = RateLimiter::with_clock(10, Duration::from_nanos(2), &clock);
    // Room for two grants (TAT up to u64::MAX - 1), then the TAT would
    // overflow: denied for good, not granted from a wrapped-around TAT.
    assert_eq!(limiter.try_acquire(), Ok(()));
    assert_eq!(limiter.try_acquire(), Ok(()));
    assert_eq!(limiter.try_acquire(), retry(Duration::MAX));
    clock.advance(Duration::MAX);
    assert_eq!(clock.now(), u64::MAX);
    assert_eq!(limiter.try_acquire(), retry(Duration::MAX));
    assert!(limiter.available() <= 10);
}

#[test]
fn zero_capacity_and_zero_interval_are_rejected() {
    let clock = ManualClock::new(0);
    assert_eq!(
        RateLimiter::try_with_clock(0, MS, &clock).unwrap_err(),
        QuotaError::ZeroCapacity
    );
    assert_eq!(
        RateLimiter::try_with_clock(1, Duration::ZERO, &clock).unwrap_err(),
        QuotaError::ZeroRefill
    );
}

#[test]
#[should_panic(expected = "rate limiter capacity must be at least 1")]
fn new_panics_on_zero_capacity() {
    let _ = RateLimiter::with_clock(0, MS, ManualClock::new(0));
}

#[test]
#[should_panic(expected = "rate limiter refill interval must not be zero")]
fn new_panics_on_zero_interval() {
    let _ = RateLimiter::with_clock(1, Duration::ZERO, ManualClock::new(0));
}

#[test]
#[should_panic(expected = "exceeds u64::MAX nanoseconds")]
fn new_panics_on_a_window_past_u64_nanoseconds() {
    let _ = RateLimiter::with_clock(3, Duration::from_secs(u64::MAX / 3), ManualClock::new(0));
}

#[test]
#[should_panic(expected = "rate limiter capacity must be at least 1")]
fn per_second_panics_on_zero() {
    // Checked before the StdClock is built (so this runs under Miri too).
    let _ = RateLimiter::per_second(0);
}

#[test]
fn manual_clock_is_shared_across_threads_and_saturates() {
    let clock = std::sync::Arc::new(ManualClock::new(0));
    let limiter = RateLimiter::with_clock(1, MS, std::sync::Arc::clone(&clock));
    limiter.try_acquire().unwrap();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| clock.advance(MS / 4));
        }
    });
    assert_eq!(Clock::now(&clock), 1_000_000);
    assert_eq!(limiter.try_acquire(), Ok(()));
    clock.advance(Duration::MAX);
    assert_eq!(clock.now(), u64::MAX);
}

#[test]
fn async_acquire_waits_exactly_the_retry_after() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(2, 10 * MS, &clock);
    let slept = std::cell::RefCell::new(Vec::new());
    let sleep = |d: Duration| {
        slept.borrow_mut().push(d);
        clock.advance(d);
        std::future::ready(())
    };
    block_on(limiter.acquire_async(sleep));
    block_on(limiter.acquire_async(sleep));
    assert!(slept.borrow().is_empty(), "the burst needs no sleep");
    block_on(limiter.acquire_async(sleep));
    assert_eq!(*slept.borrow(), [10 * MS]);
    assert_eq!(block_on(limiter.acquire_many_async(2, sleep)), Ok(()));
    assert_eq!(*slept.borrow(), [10 * MS, 20 * MS]);
    assert_eq!(
        block_on(limiter.acquire_many_async(3, sleep)),
        Err(RateLimited::ExceedsCapacity)
    );
    assert_eq!(clock.now(), 30_000_000);
}

/// Reservation mode: a future dropped while it sleeps has reserved its slot,
/// which is forfeited (documented on `acquire_async`): the limiter stays
/// within quota and the token after it is free again.
#[test]
fn async_acquire_dropped_while_sleeping_forfeits_its_slot() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(1, MS, &clock);
    limiter.try_acquire().unwrap();
    {
        // A sleep that never completes: the future parks at its first await.
        let mut pending = pin!(limiter.acquire_async(|_| std::future::pending::<()>()));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pending.as_mut().poll(&mut cx).is_pending());
    }
    clock.advance(MS);
    assert_eq!(limiter.available(), 0, "the forfeited slot");
    clock.advance(MS);
    assert_eq!(limiter.available(), 1);
}

#[test]
fn blocking_acquire_returns_once_another_thread_moves_the_clock() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(1, Duration::from_micros(50), &clock);
    limiter.acquire();
    thread::scope(|s| {
        let waiter = s.spawn(|| limiter.acquire());
        // The waiter returns only after the clock has moved: it sleeps and
        // re-tries until then. No timing is asserted, only that it ends.
        clock.advance(Duration::from_micros(50));
        waiter.join().unwrap();
    });
    assert_eq!(limiter.try_acquire(), retry(Duration::from_micros(50)));
}

/// Reservation mode for blocking waiters (issue 13): two threads waiting on
/// an empty 1-token bucket each reserve their own slot up front (the TAT
/// moves two tokens ahead, so `try_acquire` sees them taken), and a token
/// coming due releases exactly one of them. Retrying `try_acquire` after a
/// `RetryAfter` (the old herd) would leave the TAT where it was.
#[test]
fn blocking_acquires_reserve_their_own_slots() {
    let clock = ManualClock::new(0);
    let limiter = RateLimiter::with_clock(1, Duration::from_micros(50), &clock);
    limiter.acquire();
    let (done, returned) = std::sync::mpsc::channel();
    thread::scope(|s| {
        for _ in 0..2 {
            let done = done.clone();
            let limiter = &limiter;
            s.spawn(move || {
                limiter.acquire();
                done.send(()).unwrap();
            });
        }
        // Both reserved: the TAT is three tokens ahead (the one taken above
        // and the two reservations). Polled, with a generous deadline; on a
        // failure the clock jumps ahead first, so that the waiters end and the
        // scope reports it instead of hanging.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut seen = limiter.try_acquire();
        while seen != retry(Duration::from_micros(150)) {
            if std::time::Instant::now() > deadline {
                for _ in 0..2 {
                    clock.advance(Duration::from_secs(1)); // lets one waiter end
                    let _ = returned.recv_timeout(Duration::from_secs(60));
                }
                panic!("the waiters did not reserve their slots: try_acquire says {seen:?}");
            }
            thread::yield_now();
            seen = limiter.try_acquire();
        }
        clock.advance(Duration::from_micros(50));
        returned
            .recv_timeout(Duration::from_secs(60))
            .expect("the first slot came due");
        // The other's slot is 50 µs later on the clock, which does not move:
        // it must still be waiting.
        assert!(
            returned.recv_timeout(Duration::from_millis(20)).is_err(),
            "both returned on one token"
        );
        clock.advance(Duration::from_micros(50));
        returned
            .recv_timeout(Duration::from_secs(60))
            .expect("the second slot came due");
    });
    assert_eq!(limiter.try_acquire(), retry(Duration::from_micros(50)));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "StdClock reads the TSC (cpuid, rdtsc): not supported by Miri"
)]
fn blocking_acquire_on_the_real_clock_waits_at_least_the_refill() {
    let interval = Duration::from_millis(2);
    let (capacity, extra) = (3u32, 5u32);
    let limiter = RateLimiter::new(capacity, interval);
    let start = Instant::now();
    for _ in 0..capacity + extra {
        limiter.acquire();
    }
    // The first `capacity` come from the burst; each further one waits for
    // its refill. A lower bound only (a slow machine may take longer), and
    // `extra - 1` intervals to allow for the two clocks' calibration.
    assert!(
        start.elapsed() >= (extra - 1) * interval,
        "{:?} for {extra} refills of {interval:?}",
        start.elapsed()
    );
    assert_eq!(
        limiter.acquire_many(capacity + 1),
        Err(RateLimited::ExceedsCapacity)
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "StdClock reads the TSC (cpuid, rdtsc): not supported by Miri"
)]
fn per_second_and_std_clock() {
    let limiter = RateLimiter::per_second(1_000);
    assert_eq!(limiter.capacity(), 1_000);
    assert_eq!(limiter.refill_every(), MS);
    assert!(limiter.try_acquire_many(1_000).is_ok());
    assert!(limiter.available() <= 1_000);
    let clock = freelane::StdClock::new();
    let first = clock.now();
    thread::sleep(MS);
    assert!(clock.now() > first);
}

#[test]
fn debug_and_display() {
    let limiter = RateLimiter::with_clock(2, MS, ManualClock::new(0));
    let text = format!("{limiter:?}");
    assert!(text.contains("capacity: 2"), "{text}");
    assert_eq!(
        RateLimited::RetryAfter(MS).to_string(),
        "rate limited; retry after 1ms"
    );
    let err: Box<dyn std::error::Error> = Box::new(QuotaError::ZeroRefill);
    assert_eq!(
        err.to_string(),
        "rate limiter refill interval must not be zero"
    );
}

/// Regression (issue 13): `per_second` above 10^9 used to panic with "refill
/// interval must not be zero", the symptom of a division rounded to zero.
#[test]
fn per_second_above_a_billion_names_the_cause() {
    let panic = std::panic::catch_unwind(|| freelane::RateLimiter::per_second(1_000_000_001))
        .expect_err("more than one token a nanosecond");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains("more than one a nanosecond"), "{message}");
    assert_eq!(
        freelane::RateLimiter::per_second(1_000_000_000).refill_every(),
        std::time::Duration::from_nanos(1)
    );
}

/// A sleep future on a `ManualClock`: ready once the clock reaches `at`.
struct Until<'a> {
    clock: &'a freelane::ManualClock,
    at: u64,
}

impl std::future::Future for Until<'_> {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if freelane::Clock::now(self.clock) >= self.at {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

/// Reservation mode (issue 13): waiters do not all wake at the same
/// `RetryAfter`. Two async acquires on an empty 1-token bucket reserve
/// consecutive slots (1 s and 2 s away); when the first token comes due only
/// the first completes, the second sleeps on for the rest of its own slot,
/// and `try_acquire` sees both reserved tokens as taken.
#[test]
fn waiting_acquires_reserve_their_own_slots() {
    use std::cell::RefCell;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    let clock = freelane::ManualClock::new(0);
    let limiter = freelane::RateLimiter::with_clock(1, Duration::from_secs(1), &clock);
    limiter.try_acquire().unwrap();
    let sleeps = RefCell::new(Vec::new());
    let sleep = |d: Duration| {
        sleeps.borrow_mut().push(d);
        Until {
            clock: &clock,
            at: freelane::Clock::now(&clock) + u64::try_from(d.as_nanos()).unwrap(),
        }
    };
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = Box::pin(limiter.acquire_async(sleep));
    let mut second = Box::pin(limiter.acquire_async(sleep));
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        *sleeps.borrow(),
        [Duration::from_secs(1), Duration::from_secs(2)],
        "each waiter sleeps until its own slot"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(()));
    assert!(
        second.as_mut().poll(&mut cx).is_pending(),
        "a herd: woke early"
    );
    assert!(
        limiter.try_acquire().is_err(),
        "the second's token is reserved"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(second.as_mut().poll(&mut cx), Poll::Ready(()));
    assert!(limiter.try_acquire().is_err(), "no grant beyond the quota");
    clock.advance(Duration::from_secs(1));
    assert!(limiter.try_acquire().is_ok());
}
