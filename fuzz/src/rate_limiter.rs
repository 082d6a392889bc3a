//! `RateLimiter`: sequential model of the GCRA (in `u128`, so its own
//! arithmetic cannot overflow where the limiter's might), driven by a
//! `ManualClock` that steps forward, backward, and to the ends of its range.
//!
//! Every result must match the model exactly (grants, `RetryAfter` to the
//! nanosecond, `ExceedsCapacity`, `available`, quota errors), and, as a check
//! independent of the model, the tokens granted never exceed
//! `capacity + (latest clock reading - first reading) / refill_every`.

use std::time::Duration;

use arbitrary::Arbitrary;
use freelane::{ManualClock, QuotaError, RateLimited, RateLimiter};

use crate::{Amount, bounded_ops};

/// One operation on the limiter or its clock.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// `try_acquire`.
    TryAcquire,
    /// `try_acquire_many(n)`, `n` clustered around the capacity.
    TryAcquireMany(Amount),
    /// `available`.
    Available,
    /// The clock moves forward by this many nanoseconds (saturating),
    /// clustered around the refill interval.
    Advance(Amount),
    /// The clock moves forward by this many refill intervals.
    AdvanceIntervals(u8),
    /// The clock is set back by this many nanoseconds (saturating at 0).
    Rewind(Amount),
    /// The clock is set to any value, `u64::MAX` included.
    Set(Amount),
}

/// A sequential input: the quota, the clock's start, the operations.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Capacity, clustered around `u32::MAX` (most are small).
    pub capacity: Amount,
    /// Refill interval in nanoseconds, clustered around `u64::MAX`.
    pub interval: Amount,
    /// The clock's first reading.
    pub start: Amount,
    /// Operations, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
}

/// The limiter as the GCRA defines it: the theoretical arrival time and the
/// quota, in `u128` nanoseconds.
struct Model {
    tat: u128,
    capacity: u128,
    interval: u128,
}

impl Model {
    fn window(&self) -> u128 {
        self.capacity * self.interval
    }

    fn acquire(&mut self, n: u32, now: u64) -> Result<(), RateLimited> {
        let (n, now) = (u128::from(n), u128::from(now));
        if n > self.capacity {
            return Err(RateLimited::ExceedsCapacity);
        }
        if n == 0 {
            return Ok(());
        }
        let next = self.tat.max(now) + n * self.interval;
        if next > now + self.window() {
            let wait = next - now - self.window();
            return Err(RateLimited::RetryAfter(Duration::from_nanos(
                u64::try_from(wait).expect("a wait is at most the window"),
            )));
        }
        if next > u128::from(u64::MAX) {
            // The documented end of the clock's range.
            return Err(RateLimited::RetryAfter(Duration::MAX));
        }
        self.tat = next;
        Ok(())
    }

    fn available(&self, now: u64) -> u32 {
        let now = u128::from(now);
        let room = (now + self.window()).saturating_sub(self.tat.max(now));
        u32::try_from(room / self.interval).expect("at most the capacity")
    }
}

/// Applies `input` to a `RateLimiter` on a `ManualClock` and to the model.
pub fn check_sequential(input: &Input) {
    let capacity = u32::try_from(input.capacity.value(u64::from(u32::MAX)) & 0xffff_ffff)
        .expect("masked to 32 bits");
    let interval = input.interval.value(u64::MAX);
    let clock = ManualClock::new(input.start.value(u64::MAX));
    let built = RateLimiter::try_with_clock(capacity, Duration::from_nanos(interval), &clock);
    let expected = if capacity == 0 {
        Err(QuotaError::ZeroCapacity)
    } else if interval == 0 {
        Err(QuotaError::ZeroRefill)
    } else if u128::from(capacity) * u128::from(interval) > u128::from(u64::MAX) {
        Err(QuotaError::TooLong {
            capacity,
            refill_every: Duration::from_nanos(interval),
        })
    } else {
        Ok(())
    };
    let limiter = match (built, expected) {
        (Ok(limiter), Ok(())) => limiter,
        (Err(got), Err(expected)) => return assert_eq!(got, expected),
        (got, expected) => panic!("try_with_clock: {got:?}, expected {expected:?}"),
    };
    assert_eq!(limiter.capacity(), capacity);
    assert_eq!(limiter.refill_every(), Duration::from_nanos(interval));
    let mut model = Model {
        tat: 0,
        capacity: u128::from(capacity),
        interval: u128::from(interval),
    };
    assert_eq!(limiter.available(), capacity, "a new limiter is full");

    // The bound independent of the model: tokens granted since the first
    // grant never exceed the capacity plus what the clock's progress since
    // that grant's reading has refilled.
    let mut first_grant_at: Option<u64> = None;
    let mut latest = clock.now();
    let mut tokens: u128 = 0;
    for op in bounded_ops(&input.ops) {
        let now = clock.now();
        match *op {
            Op::TryAcquire | Op::TryAcquireMany(_) => {
                let (n, got) = match *op {
                    Op::TryAcquireMany(amount) => {
                        let n =
                            u32::try_from(amount.value(u64::from(capacity))).unwrap_or(u32::MAX);
                        (n, limiter.try_acquire_many(n))
                    }
                    _ => (1, limiter.try_acquire()),
                };
                let expected = model.acquire(n, now);
                assert_eq!(got, expected, "{op:?} (n = {n}) at {now}");
                if got.is_ok() && n > 0 {
                    let first = *first_grant_at.get_or_insert(now);
                    tokens += u128::from(n);
                    let refilled = u128::from(latest.saturating_sub(first)) / model.interval;
                    assert!(
                        tokens <= model.capacity + refilled,
                        "{tokens} tokens granted; quota {} + {refilled}",
                        model.capacity
                    );
                }
            }
            Op::Available => {
                assert_eq!(
                    limiter.available(),
                    model.available(now),
                    "available at {now}"
                );
            }
            Op::Advance(amount) => clock.advance(Duration::from_nanos(amount.value(interval))),
            Op::AdvanceIntervals(k) => {
                clock.advance(Duration::from_nanos(interval.saturating_mul(u64::from(k))))
            }
            Op::Rewind(amount) => clock.set(now.saturating_sub(amount.value(interval))),
            Op::Set(amount) => clock.set(amount.value(u64::MAX)),
        }
        latest = latest.max(clock.now());
    }
}
