//! Linearizability of RateLimiter at a frozen clock: many short concurrent
//! histories of `try_acquire`, `try_acquire_many` and `available`, checked
//! against the sequential GCRA specification by the Wing–Gong search of
//! `support/linearizability.rs`; and hand-written histories showing that the
//! checker rejects a limiter that grants beyond its quota.
//!
//! The clock is frozen while a history runs (a `ManualClock` nobody moves):
//! with a moving clock the limiter is linearizable only up to the documented
//! stale-reading allowance (a thread may be denied with a reading taken
//! before a token came due), which this spec does not model. Before each
//! history a random sequential prefix of grants and clock steps puts the
//! limiter in a state whose TAT is not a whole number of intervals ahead.

mod support;

use std::time::Duration;

use freelane::{ManualClock, RateLimited, RateLimiter};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use support::linearizability::{Event, Spec, check, record};

/// How many random histories are checked.
fn histories() -> usize {
    support::scaled(400)
}

#[derive(Clone, Debug)]
enum Op {
    TryAcquire,
    TryAcquireMany(u32),
    Available,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Ret {
    Acquired(Result<(), RateLimited>),
    Available(u32),
}

/// The model: how far (in ns) the TAT runs ahead of the frozen clock, and
/// the quota, `(ahead, capacity, interval)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Model {
    ahead: u64,
    capacity: u32,
    interval: u64,
}

impl Model {
    fn window(&self) -> u64 {
        u64::from(self.capacity) * self.interval
    }
}

/// The sequential GCRA at a fixed time, written from the definition (tokens
/// are `window - ahead` in whole intervals; a grant adds `n × interval`).
struct LimiterSpec;

impl Spec for LimiterSpec {
    type State = Model;
    type Op = Op;
    type Ret = Ret;

    fn step(model: &mut Model, op: &Op, ret: &Ret) -> bool {
        let expected = match *op {
            Op::Available => {
                Ret::Available((model.window().saturating_sub(model.ahead) / model.interval) as u32)
            }
            Op::TryAcquire | Op::TryAcquireMany(_) => {
                let n = match *op {
                    Op::TryAcquireMany(n) => n,
                    _ => 1,
                };
                Ret::Acquired(if n > model.capacity {
                    Err(RateLimited::ExceedsCapacity)
                } else if model.ahead + u64::from(n) * model.interval <= model.window() {
                    model.ahead += u64::from(n) * model.interval;
                    Ok(())
                } else {
                    Err(RateLimited::RetryAfter(Duration::from_nanos(
                        model.ahead + u64::from(n) * model.interval - model.window(),
                    )))
                })
            }
        };
        expected == *ret
    }
}

fn assert_linearizable(initial: &Model, history: &[Event<Op, Ret>]) {
    if let Err(report) = check::<LimiterSpec>(initial, history) {
        panic!("{report}");
    }
}

#[test]
fn rate_limiter_histories_at_a_frozen_clock_are_linearizable() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0301);
    let mut granted_somewhere = 0;
    let mut denied_somewhere = 0;
    for _ in 0..histories() {
        let capacity = rng.random_range(1..=4);
        let interval = rng.random_range(1..=1_000u64);
        let clock = ManualClock::new(rng.random_range(0..1_000_000));
        let limiter = RateLimiter::with_clock(capacity, Duration::from_nanos(interval), &clock);
        // A sequential prefix (some grants, some partial refills), applied
        // to the model as well and checked step by step.
        let mut initial = Model {
            ahead: 0,
            capacity,
            interval,
        };
        for _ in 0..rng.random_range(0..6) {
            if rng.random_bool(0.5) {
                let op = Op::TryAcquireMany(rng.random_range(1..=capacity));
                let Op::TryAcquireMany(n) = op else {
                    unreachable!()
                };
                let ret = Ret::Acquired(limiter.try_acquire_many(n));
                assert!(
                    LimiterSpec::step(&mut initial, &op, &ret),
                    "{op:?} -> {ret:?}"
                );
            } else {
                let step = rng.random_range(0..2 * interval);
                clock.advance(Duration::from_nanos(step));
                initial.ahead = initial.ahead.saturating_sub(step);
            }
        }
        let threads = rng.random_range(2..=4);
        let scripts: Vec<Vec<Op>> = (0..threads)
            .map(|_| {
                (0..4)
                    .map(|_| match rng.random_range(0..100) {
                        0..50 => Op::TryAcquire,
                        50..85 => Op::TryAcquireMany(rng.random_range(0..=capacity + 1)),
                        _ => Op::Available,
                    })
                    .collect()
            })
            .collect();
        let history = record(&scripts, |_, op| match op {
            Op::TryAcquire => Ret::Acquired(limiter.try_acquire()),
            Op::TryAcquireMany(n) => Ret::Acquired(limiter.try_acquire_many(*n)),
            Op::Available => Ret::Available(limiter.available()),
        });
        granted_somewhere += history
            .iter()
            .filter(|e| e.ret == Ret::Acquired(Ok(())))
            .count();
        denied_somewhere += history
            .iter()
            .filter(|e| matches!(e.ret, Ret::Acquired(Err(RateLimited::RetryAfter(_)))))
            .count();
        assert_linearizable(&initial, &history);
    }
    // The histories exercised both outcomes.
    assert!(granted_somewhere > 0 && denied_somewhere > 0);
}

// ------------------------------------------------- the checker can fail --

fn event(thread: usize, invoked: u64, responded: u64, op: Op, ret: Ret) -> Event<Op, Ret> {
    Event {
        thread,
        op,
        ret,
        invoked,
        responded,
    }
}

const FULL_OF_TWO: Model = Model {
    ahead: 0,
    capacity: 2,
    interval: 10,
};

#[test]
fn checker_rejects_a_limiter_that_grants_beyond_its_quota() {
    // Capacity 2 at a frozen clock: three grants, two of them overlapping,
    // have no linearization whatever the order.
    let history = vec![
        event(0, 0, 3, Op::TryAcquire, Ret::Acquired(Ok(()))),
        event(1, 1, 2, Op::TryAcquire, Ret::Acquired(Ok(()))),
        event(2, 4, 5, Op::TryAcquire, Ret::Acquired(Ok(()))),
    ];
    let report = check::<LimiterSpec>(&FULL_OF_TWO, &history).unwrap_err();
    assert!(report.contains("not linearizable"), "{report}");
}

#[test]
fn checker_rejects_a_wrong_retry_after() {
    let history = vec![
        event(0, 0, 1, Op::TryAcquireMany(2), Ret::Acquired(Ok(()))),
        event(
            1,
            2,
            3,
            Op::TryAcquire,
            Ret::Acquired(Err(RateLimited::RetryAfter(Duration::from_nanos(9)))),
        ),
    ];
    assert!(check::<LimiterSpec>(&FULL_OF_TWO, &history).is_err());
}

#[test]
fn checker_accepts_a_denial_that_overlaps_the_grant_it_lost_to() {
    // Two overlapping single acquires on one token: one is granted, the
    // other denied for exactly one interval; either may be first.
    let one_token = Model {
        ahead: 10,
        ..FULL_OF_TWO
    };
    let denied = Ret::Acquired(Err(RateLimited::RetryAfter(Duration::from_nanos(10))));
    let history = vec![
        event(0, 0, 3, Op::TryAcquire, denied.clone()),
        event(1, 1, 2, Op::TryAcquire, Ret::Acquired(Ok(()))),
        event(2, 4, 5, Op::Available, Ret::Available(0)),
    ];
    assert!(check::<LimiterSpec>(&one_token, &history).is_ok());
    // ... but not a denial that came after a check saw the token still there.
    let history = vec![
        event(2, 0, 1, Op::Available, Ret::Available(1)),
        event(0, 2, 3, Op::TryAcquire, denied),
    ];
    assert!(check::<LimiterSpec>(&one_token, &history).is_err());
}
