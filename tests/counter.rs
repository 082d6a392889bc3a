//! Tests of `AtomicCounter`: every method against a plain `u64` model over
//! random operation sequences, the overflow edges, and concurrent runs whose
//! totals must come out exact.
mod support;

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Barrier;
use std::thread;

use freelane::AtomicCounter;
use rand::{RngExt, SeedableRng, rngs::StdRng};

use support::scaled;

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AtomicCounter>();
};

const THREAD_COUNTS: [usize; 3] = [2, 4, 8];

/// A value near an edge half the time, anything the other half.
fn edgy(rng: &mut StdRng) -> u64 {
    const EDGES: [u64; 7] = [0, 1, 2, u64::MAX / 2, u64::MAX - 2, u64::MAX - 1, u64::MAX];
    if rng.random_range(0..2) == 0 {
        EDGES[rng.random_range(0..EDGES.len())]
    } else {
        rng.random::<u64>()
    }
}

/// Applies one random operation to both the counter and the model, and
/// checks they agree on the result and the new value.
fn step(rng: &mut StdRng, counter: &AtomicCounter, model: &mut u64) {
    let n = edgy(rng);
    let op = rng.random_range(0..14);
    let before = *model;
    match op {
        0 => assert_eq!(counter.get(), before),
        1 => {
            counter.set(n);
            *model = n;
        }
        2 => {
            assert_eq!(counter.swap(n), before);
            *model = n;
        }
        3 => {
            assert_eq!(counter.increment(), before);
            *model = before.wrapping_add(1);
        }
        4 => {
            assert_eq!(counter.decrement(), before);
            *model = before.wrapping_sub(1);
        }
        5 => {
            assert_eq!(counter.fetch_add(n), before);
            *model = before.wrapping_add(n);
        }
        6 => {
            assert_eq!(counter.fetch_sub(n), before);
            *model = before.wrapping_sub(n);
        }
        7 => {
            // Half the time with the right expected value.
            let current = if rng.random_range(0..2) == 0 {
                before
            } else {
                edgy(rng)
            };
            let result = counter.compare_exchange(current, n);
            if current == before {
                assert_eq!(result, Ok(before));
                *model = n;
            } else {
                assert_eq!(result, Err(before));
            }
        }
        8 => {
            // An update that refuses odd values: both outcomes get exercised.
            let mut calls = 0;
            let result = counter.fetch_update(|value| {
                calls += 1;
                assert_eq!(value, before, "f sees the current value, every time");
                (value % 2 == 0).then(|| value.wrapping_mul(3).wrapping_add(n))
            });
            if before % 2 == 0 {
                // More than one call only after a spurious weak-CAS failure
                // (Miri injects them), always on the same value.
                assert_eq!(result, Ok(before));
                *model = before.wrapping_mul(3).wrapping_add(n);
            } else {
                assert_eq!(result, Err(before));
                assert_eq!(calls, 1, "a refusal returns at once");
            }
        }
        9 => {
            let result = counter.checked_add(n);
            match before.checked_add(n) {
                Some(sum) => {
                    assert_eq!(result, Some(before));
                    *model = sum;
                }
                None => assert_eq!(result, None),
            }
        }
        10 => {
            let result = counter.checked_sub(n);
            match before.checked_sub(n) {
                Some(difference) => {
                    assert_eq!(result, Some(before));
                    *model = difference;
                }
                None => assert_eq!(result, None),
            }
        }
        11 => {
            assert_eq!(counter.saturating_add(n), before);
            *model = before.saturating_add(n);
        }
        12 => {
            assert_eq!(counter.saturating_sub(n), before);
            *model = before.saturating_sub(n);
        }
        _ => assert_eq!(format!("{counter:?}"), format!("AtomicCounter({before})")),
    }
    assert_eq!(
        counter.get(),
        *model,
        "after op {op} with n = {n}, from {before}"
    );
}

#[test]
fn sequential_ops_match_a_u64_model() {
    for seed in 0..scaled(50) as u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let initial = edgy(&mut rng);
        let counter = AtomicCounter::new(initial);
        let mut model = initial;
        for _ in 0..scaled(2_000) {
            step(&mut rng, &counter, &mut model);
        }
    }
}

#[test]
fn new_and_default() {
    assert_eq!(AtomicCounter::default().get(), 0);
    assert_eq!(AtomicCounter::new(u64::MAX).get(), u64::MAX);
    static GLOBAL: AtomicCounter = AtomicCounter::new(5);
    assert_eq!(GLOBAL.increment(), 5);
}

#[test]
fn checked_add_at_the_limit() {
    let counter = AtomicCounter::new(u64::MAX - 1);
    assert_eq!(counter.checked_add(2), None);
    assert_eq!(
        counter.get(),
        u64::MAX - 1,
        "a refused add leaves the value"
    );
    assert_eq!(counter.checked_add(1), Some(u64::MAX - 1));
    assert_eq!(counter.get(), u64::MAX);
    assert_eq!(counter.checked_add(1), None);
    assert_eq!(counter.checked_add(u64::MAX), None);
    assert_eq!(counter.get(), u64::MAX);
    assert_eq!(counter.checked_add(0), Some(u64::MAX));
    assert_eq!(counter.get(), u64::MAX);
}

#[test]
fn checked_sub_at_zero() {
    let counter = AtomicCounter::new(1);
    assert_eq!(counter.checked_sub(2), None);
    assert_eq!(counter.get(), 1, "a refused subtraction leaves the value");
    assert_eq!(counter.checked_sub(1), Some(1));
    assert_eq!(counter.get(), 0);
    assert_eq!(counter.checked_sub(1), None);
    assert_eq!(counter.checked_sub(u64::MAX), None);
    assert_eq!(counter.checked_sub(0), Some(0));
    assert_eq!(counter.get(), 0);
    counter.set(u64::MAX);
    assert_eq!(counter.checked_sub(u64::MAX), Some(u64::MAX));
    assert_eq!(counter.get(), 0);
}

#[test]
fn saturating_ops_clamp_and_return_the_previous_value() {
    let counter = AtomicCounter::new(u64::MAX - 1);
    assert_eq!(counter.saturating_add(1), u64::MAX - 1);
    assert_eq!(counter.get(), u64::MAX);
    assert_eq!(counter.saturating_add(1), u64::MAX, "already at the limit");
    assert_eq!(counter.saturating_add(u64::MAX), u64::MAX);
    assert_eq!(counter.get(), u64::MAX);

    counter.set(u64::MAX - 5);
    assert_eq!(counter.saturating_add(10), u64::MAX - 5);
    assert_eq!(counter.get(), u64::MAX);

    counter.set(1);
    assert_eq!(counter.saturating_sub(1), 1);
    assert_eq!(counter.get(), 0);
    assert_eq!(counter.saturating_sub(1), 0, "already at zero");
    assert_eq!(counter.saturating_sub(u64::MAX), 0);
    assert_eq!(counter.get(), 0);

    counter.set(5);
    assert_eq!(counter.saturating_sub(10), 5);
    assert_eq!(counter.get(), 0);

    counter.set(42);
    assert_eq!(counter.saturating_add(0), 42);
    assert_eq!(counter.saturating_sub(0), 42);
    assert_eq!(counter.get(), 42);
}

#[test]
fn increment_and_decrement_wrap() {
    let counter = AtomicCounter::new(u64::MAX);
    assert_eq!(counter.increment(), u64::MAX);
    assert_eq!(counter.get(), 0);
    assert_eq!(counter.decrement(), 0);
    assert_eq!(counter.get(), u64::MAX);
    assert_eq!(counter.fetch_add(2), u64::MAX);
    assert_eq!(counter.get(), 1);
    assert_eq!(counter.fetch_sub(3), 1);
    assert_eq!(counter.get(), u64::MAX - 1);
}

#[test]
fn fetch_update_refusal_writes_nothing() {
    let counter = AtomicCounter::new(9);
    assert_eq!(counter.fetch_update(|_| None), Err(9));
    assert_eq!(counter.get(), 9);
    assert_eq!(counter.fetch_update(|value| Some(value + 1)), Ok(9));
    assert_eq!(counter.get(), 10);
}

#[test]
fn concurrent_increments_and_decrements_are_exact() {
    for threads in THREAD_COUNTS {
        let per_thread = scaled(20_000);
        let counter = AtomicCounter::new(0);
        let barrier = Barrier::new(threads);
        thread::scope(|scope| {
            for index in 0..threads {
                let (counter, barrier) = (&counter, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    for _ in 0..per_thread {
                        counter.increment();
                        counter.fetch_add(3);
                        // Odd threads also take some back: wrapping below zero
                        // along the way is fine, the total must still agree.
                        if index % 2 == 1 {
                            counter.decrement();
                            counter.fetch_sub(2);
                        }
                    }
                });
            }
        });
        let odd_threads = threads / 2;
        let expected = (threads * per_thread * 4 - odd_threads * per_thread * 3) as u64;
        assert_eq!(counter.get(), expected, "{threads} threads");
    }
}

#[test]
fn concurrent_compare_exchange_increments_are_exact() {
    for threads in THREAD_COUNTS {
        let per_thread = scaled(5_000);
        let counter = AtomicCounter::new(0);
        let barrier = Barrier::new(threads);
        thread::scope(|scope| {
            for _ in 0..threads {
                let (counter, barrier) = (&counter, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    for _ in 0..per_thread {
                        // A hand-written CAS loop through the public method.
                        let mut current = counter.get();
                        while let Err(actual) = counter.compare_exchange(current, current + 1) {
                            current = actual;
                        }
                    }
                });
            }
        });
        assert_eq!(
            counter.get(),
            (threads * per_thread) as u64,
            "{threads} threads"
        );
    }
}

/// Runs `threads` threads that each try `attempts` times to take one unit with
/// `take` (returning whether it succeeded) while `watch` reads the counter;
/// returns the number of successes.
fn race(
    threads: usize,
    attempts: usize,
    counter: &AtomicCounter,
    take: impl Fn(&AtomicCounter) -> bool + Sync,
    watch: impl Fn(u64) + Sync,
) -> usize {
    let successes = AtomicUsize::new(0);
    let barrier = Barrier::new(threads);
    thread::scope(|scope| {
        for _ in 0..threads {
            let (successes, barrier, take, watch) = (&successes, &barrier, &take, &watch);
            scope.spawn(move || {
                barrier.wait();
                for _ in 0..attempts {
                    if take(counter) {
                        successes.fetch_add(1, Relaxed);
                    }
                    watch(counter.get());
                }
            });
        }
    });
    successes.into_inner()
}

#[test]
fn fetch_update_with_a_cap_never_exceeds_it() {
    for threads in THREAD_COUNTS {
        let cap = scaled(10_000) as u64;
        // Twice as many attempts as the cap allows: some must be refused.
        let attempts = 2 * cap as usize / threads + 1;
        let counter = AtomicCounter::new(0);
        let successes = race(
            threads,
            attempts,
            &counter,
            |counter| {
                counter
                    .fetch_update(|value| (value < cap).then_some(value + 1))
                    .is_ok()
            },
            |value| assert!(value <= cap, "{value} passed the cap {cap}"),
        );
        assert_eq!(
            successes as u64, cap,
            "{threads} threads: one success per unit"
        );
        assert_eq!(counter.get(), cap);
    }
}

#[test]
fn checked_add_racing_at_u64_max_never_wraps() {
    for threads in THREAD_COUNTS {
        let room = scaled(10_000) as u64;
        let attempts = 2 * room as usize / threads + 1;
        let counter = AtomicCounter::new(u64::MAX - room);
        let successes = race(
            threads,
            attempts,
            &counter,
            |counter| counter.checked_add(1).is_some(),
            |value| assert!(value >= u64::MAX - room, "{value} wrapped"),
        );
        assert_eq!(successes as u64, room, "{threads} threads");
        assert_eq!(counter.get(), u64::MAX);
    }
}

#[test]
fn checked_sub_racing_at_zero_never_wraps() {
    for threads in THREAD_COUNTS {
        let budget = scaled(10_000) as u64;
        let attempts = 2 * budget as usize / threads + 1;
        let counter = AtomicCounter::new(budget);
        let successes = race(
            threads,
            attempts,
            &counter,
            |counter| counter.checked_sub(1).is_some(),
            |value| assert!(value <= budget, "{value} wrapped below zero"),
        );
        assert_eq!(successes as u64, budget, "{threads} threads");
        assert_eq!(counter.get(), 0);
    }
}

#[test]
fn saturating_ops_racing_clamp() {
    for threads in THREAD_COUNTS {
        let room = scaled(5_000) as u64;
        let attempts = 2 * room as usize / threads + 1;
        let counter = AtomicCounter::new(u64::MAX - room);
        // Each success returns a distinct previous value below the limit.
        let below_limit = race(
            threads,
            attempts,
            &counter,
            |counter| counter.saturating_add(1) < u64::MAX,
            |value| assert!(value >= u64::MAX - room),
        );
        assert_eq!(below_limit as u64, room, "{threads} threads");
        assert_eq!(counter.get(), u64::MAX);

        counter.set(room);
        let above_zero = race(
            threads,
            attempts,
            &counter,
            |counter| counter.saturating_sub(1) > 0,
            |value| assert!(value <= room),
        );
        assert_eq!(above_zero as u64, room, "{threads} threads");
        assert_eq!(counter.get(), 0);
    }
}

/// The ordering contract: an increment publishes the writes before it to a
/// thread that reads its value. On x86-64 hardware this would hold even with
/// Relaxed; Miri's weak-memory emulation is what can catch a missing
/// Release/Acquire pair here.
#[test]
fn an_increment_publishes_earlier_writes() {
    let items = scaled(2_000);
    let data: Vec<AtomicU64> = (0..items).map(|_| AtomicU64::new(0)).collect();
    let published = AtomicCounter::new(0);
    thread::scope(|scope| {
        scope.spawn(|| {
            for (index, slot) in data.iter().enumerate() {
                slot.store(index as u64 + 1, Relaxed);
                published.increment();
            }
        });
        scope.spawn(|| {
            let mut checked = 0;
            while checked < items {
                let seen = published.get() as usize;
                for (index, slot) in data.iter().enumerate().take(seen).skip(checked) {
                    assert_eq!(
                        slot.load(Relaxed),
                        index as u64 + 1,
                        "item {index} of {seen} not visible"
                    );
                }
                checked = seen;
                thread::yield_now();
            }
        });
    });
}
