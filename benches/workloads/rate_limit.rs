//! Rate limiters: n threads call `try_acquire` on one shared limiter.
//!
//! freelane's [`RateLimiter`] on its default clock (quanta's TSC) beside
//! governor's direct limiter on its default clock (also quanta), both GCRA
//! on one `AtomicU64`. Two quotas, each with an exact check:
//!
//! - **granted**: a burst of 10⁹ tokens and one more per nanosecond, far
//!   above what any thread count here can take: every call must be granted
//!   (a spurious denial fails the run). Measures the grant path: a clock
//!   read, a load and a compare-exchange on a shared line.
//! - **exhausted**: a burst of 1 000 tokens and one more per hour: exactly
//!   1 000 calls are granted in a run shorter than an hour, the rest denied
//!   (an over-grant or a lost grant fails the run). Measures the denial
//!   path: a clock read and a load, no write.
//!
//! One op = one `try_acquire` call, granted or not.

use std::num::NonZeroU32;
use std::time::Duration;

use freelane::RateLimiter;

use super::{Measurement, Padded, Run, name_of, run_threads};

/// Burst of the `granted` quota: more than a run can take.
pub const GRANTED_BURST: u32 = 1_000_000_000;
/// Burst of the `exhausted` quota.
pub const EXHAUSTED_BURST: u32 = 1_000;

/// A rate limiter as the workloads drive it.
pub trait BenchLimiter: Sync + Sized {
    /// A limiter allowing bursts of `capacity` and one token per `refill_every`, full.
    fn build(capacity: u32, refill_every: Duration) -> Self;
    /// Takes one token if there is one.
    fn try_take(&self) -> bool;
}

impl BenchLimiter for RateLimiter {
    fn build(capacity: u32, refill_every: Duration) -> Self {
        RateLimiter::new(capacity, refill_every)
    }
    #[inline]
    fn try_take(&self) -> bool {
        self.try_acquire().is_ok()
    }
}

impl BenchLimiter for governor::DefaultDirectRateLimiter {
    fn build(capacity: u32, refill_every: Duration) -> Self {
        let quota = governor::Quota::with_period(refill_every)
            .expect("a non-zero period")
            .allow_burst(NonZeroU32::new(capacity).expect("a non-zero burst"));
        governor::RateLimiter::direct(quota)
    }
    #[inline]
    fn try_take(&self) -> bool {
        self.check().is_ok()
    }
}

/// Every thread calls `try_take` in a loop; returns (calls, grants) per thread.
fn hammer<L: BenchLimiter>(run: &Run, limiter: &L) -> (Duration, Vec<(u64, u64)>) {
    run_threads(run, run.threads, |index, control| {
        let budget = control.budget(index, run.threads);
        let (mut calls, mut granted) = (0u64, 0u64);
        while budget.more(calls) {
            granted += u64::from(limiter.try_take());
            calls += 1;
        }
        (calls, granted)
    })
}

/// The `granted` quota: every call must be granted.
pub fn granted<L: BenchLimiter>(run: &Run) -> Measurement {
    let limiter = Padded(L::build(GRANTED_BURST, Duration::from_nanos(1)));
    let (elapsed, results) = hammer(run, &limiter.0);
    let calls: u64 = results.iter().map(|r| r.0).sum();
    let granted: u64 = results.iter().map(|r| r.1).sum();
    assert_eq!(
        granted,
        calls,
        "{}: {} of {calls} calls denied under a quota nobody can exhaust",
        name_of::<L>(),
        calls - granted
    );
    Measurement {
        ops: calls,
        elapsed,
        per_thread: results.iter().map(|r| r.0).collect(),
    }
}

/// The `exhausted` quota: exactly the burst is granted.
pub fn exhausted<L: BenchLimiter>(run: &Run) -> Measurement {
    let limiter = Padded(L::build(EXHAUSTED_BURST, Duration::from_secs(3600)));
    let (elapsed, results) = hammer(run, &limiter.0);
    let calls: u64 = results.iter().map(|r| r.0).sum();
    let granted: u64 = results.iter().map(|r| r.1).sum();
    assert!(
        elapsed < Duration::from_secs(3600),
        "a run past the refill interval proves nothing"
    );
    assert_eq!(
        granted,
        u64::from(EXHAUSTED_BURST).min(calls),
        "{}: {granted} grants of a burst of {EXHAUSTED_BURST} in {calls} calls",
        name_of::<L>()
    );
    Measurement {
        ops: calls,
        elapsed,
        per_thread: results.iter().map(|r| r.0).collect(),
    }
}
