//! Tests of `ShardedCounter`: sequences of adds, sums and resets against a
//! plain `u64` model, wrap-around, exact sums after concurrent adds, and
//! resets racing with adds losing nothing.
mod support;

use core::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Barrier;
use std::thread;

use freelane::ShardedCounter;
use rand::{RngExt, SeedableRng, rngs::StdRng};

use support::scaled;

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ShardedCounter>();
};

const THREAD_COUNTS: [usize; 3] = [2, 4, 8];

/// Shard counts worth testing: one cell (all threads collide), a few, and
/// whatever the machine gives `new`.
fn counters() -> Vec<ShardedCounter> {
    vec![
        ShardedCounter::with_shards(1),
        ShardedCounter::with_shards(2),
        ShardedCounter::with_shards(8),
        ShardedCounter::new(),
    ]
}

#[test]
fn sequential_ops_match_a_u64_model() {
    for seed in 0..scaled(40) as u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        for counter in counters() {
            let mut model = 0_u64;
            for _ in 0..scaled(2_000) {
                match rng.random_range(0..10) {
                    0..=3 => {
                        counter.increment();
                        model = model.wrapping_add(1);
                    }
                    4..=6 => {
                        // Mostly small, sometimes huge so the sum wraps.
                        let n = if rng.random_range(0..4) == 0 {
                            rng.random::<u64>()
                        } else {
                            rng.random_range(0..1_000)
                        };
                        counter.add(n);
                        model = model.wrapping_add(n);
                    }
                    7 | 8 => assert_eq!(counter.sum(), model),
                    _ => {
                        assert_eq!(counter.reset(), model);
                        model = 0;
                    }
                }
            }
            assert_eq!(
                counter.sum(),
                model,
                "seed {seed}, {} shards",
                counter.shard_count()
            );
        }
    }
}

#[test]
fn shard_counts_are_powers_of_two_within_limits() {
    for asked in [0, 1, 2, 3, 5, 8, 63, 64, 65, 1000, usize::MAX] {
        let shards = ShardedCounter::with_shards(asked).shard_count();
        assert!(shards.is_power_of_two(), "{asked} -> {shards}");
        assert!(
            shards >= asked.clamp(1, ShardedCounter::MAX_SHARDS),
            "{asked} -> {shards}"
        );
        assert!(shards <= ShardedCounter::MAX_SHARDS, "{asked} -> {shards}");
    }
    let machine = ShardedCounter::new().shard_count();
    assert!(machine.is_power_of_two() && machine <= ShardedCounter::MAX_SHARDS);
    assert_eq!(ShardedCounter::default().shard_count(), machine);
}

#[test]
fn adds_wrap_modulo_2_pow_64() {
    let counter = ShardedCounter::with_shards(4);
    counter.add(u64::MAX);
    counter.increment();
    assert_eq!(counter.sum(), 0);
    counter.add(u64::MAX);
    counter.add(u64::MAX);
    assert_eq!(counter.sum(), u64::MAX - 1);
    assert_eq!(counter.reset(), u64::MAX - 1);
    assert_eq!(counter.sum(), 0);
}

#[test]
fn debug_shows_sum_and_shards() {
    let counter = ShardedCounter::with_shards(4);
    counter.add(10);
    assert_eq!(
        format!("{counter:?}"),
        "ShardedCounter { sum: 10, shards: 4 }"
    );
}

#[test]
fn concurrent_adds_sum_exactly_after_join() {
    for threads in THREAD_COUNTS {
        for counter in counters() {
            let per_thread = scaled(20_000);
            let barrier = Barrier::new(threads);
            thread::scope(|scope| {
                for index in 0..threads {
                    let (counter, barrier) = (&counter, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        for _ in 0..per_thread {
                            counter.increment();
                            counter.add(index as u64);
                        }
                    });
                }
            });
            let expected = (per_thread * (threads + threads * (threads - 1) / 2)) as u64;
            assert_eq!(
                counter.sum(),
                expected,
                "{threads} threads, {} shards",
                counter.shard_count()
            );
        }
    }
}

#[test]
fn sums_during_adds_never_decrease_nor_pass_the_total() {
    for threads in THREAD_COUNTS {
        let counter = ShardedCounter::new();
        let per_thread = scaled(20_000);
        let total = (threads * per_thread) as u64;
        let barrier = Barrier::new(threads + 1);
        let done = AtomicBool::new(false);
        thread::scope(|scope| {
            let adders: Vec<_> = (0..threads)
                .map(|_| {
                    let (counter, barrier) = (&counter, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        for _ in 0..per_thread {
                            counter.increment();
                        }
                    })
                })
                .collect();
            scope.spawn(|| {
                barrier.wait();
                let mut last = 0;
                loop {
                    // Read `done` first: if it was set, every add is in.
                    let finished = done.load(SeqCst);
                    let sum = counter.sum();
                    assert!(sum >= last, "sum went down: {last} then {sum}");
                    assert!(sum <= total, "sum {sum} passed the total {total}");
                    last = sum;
                    if finished {
                        assert_eq!(sum, total);
                        break;
                    }
                }
            });
            for adder in adders {
                adder.join().unwrap();
            }
            done.store(true, SeqCst);
        });
    }
}

#[test]
fn resets_racing_with_adds_lose_nothing() {
    for threads in THREAD_COUNTS {
        for counter in counters() {
            // One resetting thread per three adders, at least one.
            let resetters = threads.div_ceil(4);
            let adders = threads - resetters;
            let per_thread = scaled(20_000);
            let barrier = Barrier::new(threads);
            let done = AtomicBool::new(false);
            let reset_total: u64 = thread::scope(|scope| {
                let adding: Vec<_> = (0..adders)
                    .map(|index| {
                        let (counter, barrier) = (&counter, &barrier);
                        scope.spawn(move || {
                            barrier.wait();
                            for step in 0..per_thread {
                                counter.add((index + step % 7) as u64);
                            }
                        })
                    })
                    .collect();
                let resetting: Vec<_> = (0..resetters)
                    .map(|_| {
                        let (counter, barrier, done) = (&counter, &barrier, &done);
                        scope.spawn(move || {
                            barrier.wait();
                            let mut cleared = 0_u64;
                            while !done.load(SeqCst) {
                                cleared += counter.reset();
                            }
                            cleared
                        })
                    })
                    .collect();
                for adder in adding {
                    adder.join().unwrap();
                }
                done.store(true, SeqCst);
                resetting
                    .into_iter()
                    .map(|resetter| resetter.join().unwrap())
                    .sum()
            });
            let added: u64 = (0..adders)
                .flat_map(|index| (0..per_thread).map(move |step| (index + step % 7) as u64))
                .sum();
            assert_eq!(
                reset_total + counter.sum(),
                added,
                "{adders} adders, {resetters} resetters, {} shards",
                counter.shard_count()
            );
        }
    }
}
