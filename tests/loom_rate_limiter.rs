//! Loom models of the RateLimiter's GCRA compare-exchange: three threads
//! racing for two tokens at a frozen `ManualClock`.
//!
//! Built only with `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom"`
//! (see `.ci/stages/loom.sh`), under which the limiter's TAT word and the
//! manual clock are loom atomics. Each model asserts what a lost update would
//! break: exactly `capacity` tokens granted in all, and each denial's
//! `RetryAfter` exact for the state it saw. Replacing the CAS with a load and
//! a store makes `three_threads_race_for_two_tokens` fail (three grants).
//!
//! As in `tests/loom.rs`, each model is explored once per choice of first
//! thread (loom's reduction can hide a race behind a first thread that only
//! reads; see `Order` there), with a preemption bound of 2, lowered by
//! `LOOM_MAX_PREEMPTIONS` if that is set and smaller. Runs in seconds.
#![cfg(freelane_loom)]
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::time::Duration;

use freelane::{ManualClock, RateLimited, RateLimiter};
use loom::sync::Arc;
use loom::thread;

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::model;

const T: Duration = Duration::from_millis(1);

/// One grant or the exact denial for a frozen clock with the bucket empty.
fn check_outcome(outcome: Result<(), RateLimited>) -> usize {
    match outcome {
        Ok(()) => 1,
        // At a frozen clock the only possible denial is "empty": the TAT is
        // `capacity × T` ahead, so one token is exactly `T` away.
        Err(err) => {
            assert_eq!(err, RateLimited::RetryAfter(T));
            0
        }
    }
}

#[test]
fn three_threads_race_for_two_tokens() {
    model(2, 3, |order| {
        let limiter = Arc::new(RateLimiter::with_clock(2, T, ManualClock::new(0)));
        let spawned: Vec<_> = (1..3)
            .map(|me| {
                let limiter = Arc::clone(&limiter);
                thread::spawn(move || {
                    order.start(me);
                    check_outcome(limiter.try_acquire())
                })
            })
            .collect();
        order.start(0);
        let mut granted = check_outcome(limiter.try_acquire());
        for handle in spawned {
            granted += handle.join().unwrap();
        }
        assert_eq!(granted, 2, "exactly the capacity is granted");
        assert_eq!(limiter.available(), 0);
        assert_eq!(limiter.try_acquire(), Err(RateLimited::RetryAfter(T)));
    });
}

#[test]
fn many_and_one_race_for_two_tokens() {
    // try_acquire_many(2) against two single acquires: either the pair wins
    // (and both singles are denied) or a single wins first (and the pair is
    // denied); never more than two tokens in all.
    model(2, 3, |order| {
        let limiter = Arc::new(RateLimiter::with_clock(2, T, ManualClock::new(0)));
        let single = |me: usize| {
            let limiter = Arc::clone(&limiter);
            thread::spawn(move || {
                order.start(me);
                u32::from(limiter.try_acquire().is_ok())
            })
        };
        let (one, two) = (single(1), single(2));
        order.start(0);
        let pair = match limiter.try_acquire_many(2) {
            Ok(()) => 2,
            Err(RateLimited::RetryAfter(wait)) => {
                // One or two singles took theirs first: 1 or 2 tokens short.
                assert!(wait == T || wait == 2 * T, "{wait:?}");
                0
            }
            Err(err) => panic!("{err:?}"),
        };
        let singles = one.join().unwrap() + two.join().unwrap();
        // Whoever goes first is granted, and what it leaves is always taken
        // by a single: exactly two tokens in all, in every interleaving.
        assert_eq!(pair + singles, 2, "pair {pair} + singles {singles}");
        assert_eq!(limiter.available(), 0);
    });
}
