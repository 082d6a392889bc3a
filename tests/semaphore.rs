//! Tests for `Semaphore`: a sequential model, limits, the holder bound under
//! contention, fairness (no starvation of a many-permit waiter), every wake-up
//! source of a blocked acquire, timeouts, and permit conservation when a
//! timeout races a release.
// Test code uses the `std` paths users write.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use freelane::{AcquireError, OwnedPermit, Permit, Semaphore, TryAcquireError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use support::{STALL_LIMIT, scaled};

const MAX: usize = Semaphore::MAX_PERMITS;

/// Waits (yielding, never sleeping) until some thread is queued on `sem`, as
/// its `Debug` snapshot shows. Panics past the stall limit.
fn wait_until_queued(sem: &Semaphore) {
    let start = Instant::now();
    while !format!("{sem:?}").contains("waiters: true") {
        assert!(start.elapsed() < STALL_LIMIT, "no waiter queued: {sem:?}");
        thread::yield_now();
    }
}

#[test]
fn smoke_take_and_return() {
    let sem = Semaphore::new(3);
    let a = sem.try_acquire().unwrap();
    let b = sem.try_acquire_many(2).unwrap();
    assert_eq!((a.permits(), b.permits()), (1, 2));
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    drop(b);
    assert_eq!(sem.available_permits(), 2);
    drop(a);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn zero_permits_requests_succeed_unless_closed() {
    let sem = Semaphore::new(0);
    assert_eq!(sem.try_acquire_many(0).unwrap().permits(), 0);
    assert_eq!(sem.acquire_many(0).unwrap().permits(), 0);
    sem.close();
    assert_eq!(
        sem.try_acquire_many(0).unwrap_err(),
        TryAcquireError::Closed
    );
    assert_eq!(sem.acquire_many(0).unwrap_err(), AcquireError::Closed);
}

/// Random sequences of non-blocking operations against a plain count.
#[test]
fn sequential_model_matches_plain_count() {
    for seed in 0..scaled(200) as u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let initial = rng.random_range(0..6);
        let sem = Semaphore::new(initial);
        let mut model = initial;
        let mut closed = false;
        let mut held: Vec<Permit<'_>> = Vec::new();
        for step in 0..200 {
            let context = format!("seed {seed}, step {step}");
            match rng.random_range(0..100) {
                0..40 => {
                    let n = rng.random_range(0..5);
                    let expected = if closed {
                        Err(TryAcquireError::Closed)
                    } else if n > model {
                        Err(TryAcquireError::NoPermits)
                    } else {
                        Ok(n)
                    };
                    let got = sem.try_acquire_many(n);
                    assert_eq!(
                        got.as_ref().map(Permit::permits).map_err(|e| *e),
                        expected,
                        "{context}"
                    );
                    if let Ok(permit) = got {
                        model -= n;
                        held.push(permit);
                    }
                }
                40..65 if !held.is_empty() => {
                    let permit = held.swap_remove(rng.random_range(0..held.len()));
                    model += permit.permits();
                    drop(permit);
                }
                65..72 if !held.is_empty() => {
                    held.swap_remove(rng.random_range(0..held.len())).forget();
                }
                72..80 if !held.is_empty() => {
                    let index = rng.random_range(0..held.len());
                    let n = rng.random_range(0..4);
                    let before = held[index].permits();
                    match held[index].split(n) {
                        Some(part) => {
                            assert_eq!(
                                (held[index].permits(), part.permits()),
                                (before - n, n),
                                "{context}"
                            );
                            held.push(part);
                        }
                        None => assert!(n > before, "{context}"),
                    }
                }
                80..85 if held.len() >= 2 => {
                    let other = held.pop().unwrap();
                    let n = other.permits();
                    let last = held.last_mut().unwrap();
                    let before = last.permits();
                    last.merge(other);
                    assert_eq!(last.permits(), before + n, "{context}");
                }
                85..97 => {
                    let n = rng.random_range(0..4);
                    sem.add_permits(n);
                    model += n;
                }
                97..100 => {
                    assert_eq!(sem.close(), !closed, "{context}");
                    closed = true;
                }
                _ => {}
            }
            assert_eq!(sem.available_permits(), model, "{context}");
            assert_eq!(sem.is_closed(), closed, "{context}");
        }
        let returned: usize = held.iter().map(Permit::permits).sum();
        drop(held);
        assert_eq!(sem.available_permits(), model + returned, "seed {seed}");
    }
}

#[test]
fn max_permits_fits() {
    const { assert!(MAX >= usize::MAX >> 3) };
    let sem = Semaphore::new(MAX);
    let all = sem.try_acquire_many(MAX).unwrap();
    assert_eq!(all.permits(), MAX);
    drop(all);
    assert_eq!(sem.available_permits(), MAX);
}

#[test]
#[should_panic(expected = "more than Semaphore::MAX_PERMITS")]
fn new_past_max_panics() {
    let _ = Semaphore::new(MAX + 1);
}

#[test]
fn add_permits_past_max_panics_and_leaves_count() {
    let sem = Semaphore::new(MAX - 1);
    let result = catch_unwind(AssertUnwindSafe(|| sem.add_permits(2)));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("MAX_PERMITS"), "{message}");
    assert_eq!(sem.available_permits(), MAX - 1);
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), MAX);

    // Held permits count towards the limit too: their return cannot overflow.
    let sem = Semaphore::new(3);
    let held = sem.try_acquire_many(3).unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| sem.add_permits(MAX - 2))).is_err());
    assert_eq!(sem.available_permits(), 0);
    sem.add_permits(MAX - 3);
    drop(held);
    assert_eq!(sem.available_permits(), MAX);

    // Far past the limit, where the sum itself would overflow.
    let sem = Semaphore::new(5);
    assert!(catch_unwind(AssertUnwindSafe(|| sem.add_permits(usize::MAX))).is_err());
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn forget_frees_room_under_the_limit() {
    let sem = Semaphore::new(MAX);
    sem.try_acquire_many(10).unwrap().forget();
    sem.add_permits(10);
    assert_eq!(sem.available_permits(), MAX);
}

#[test]
fn requests_past_max_fail_at_once() {
    let sem = Semaphore::new(1);
    assert_eq!(
        sem.try_acquire_many(MAX + 1).unwrap_err(),
        TryAcquireError::TooMany { requested: MAX + 1 }
    );
    assert_eq!(
        sem.acquire_many(MAX + 1).unwrap_err(),
        AcquireError::TooMany { requested: MAX + 1 }
    );
    assert_eq!(
        sem.acquire_many(usize::MAX).unwrap_err(),
        AcquireError::TooMany {
            requested: usize::MAX
        }
    );
    assert_eq!(
        sem.acquire_many_timeout(MAX + 1, Duration::from_secs(3600))
            .unwrap_err(),
        TryAcquireError::TooMany { requested: MAX + 1 }
    );
    let sem = Arc::new(sem);
    assert!(matches!(
        Arc::clone(&sem).acquire_many_owned(MAX + 1),
        Err(AcquireError::TooMany { .. })
    ));
    assert_eq!(sem.available_permits(), 1);
}

/// Runs `threads` threads that each take a permit `rounds` times with
/// `take`, and checks that the holders never outnumber the permits.
fn check_holders_bounded(permits: usize, take: impl Fn(&Semaphore) -> Option<Permit<'_>> + Sync) {
    const THREADS: usize = 8;
    let rounds = scaled(2_000);
    let sem = Semaphore::new(permits);
    let holders = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let taken = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..rounds {
                    let Some(permit) = take(&sem) else { continue };
                    let now = holders.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    taken.fetch_add(1, SeqCst);
                    thread::yield_now();
                    holders.fetch_sub(1, SeqCst);
                    drop(permit);
                }
            });
        }
    });
    let most = most.load(SeqCst);
    assert!(most <= permits, "{most} holders of {permits} permits");
    assert!(taken.load(SeqCst) > 0);
    assert_eq!(sem.available_permits(), permits);
}

#[test]
fn holders_never_exceed_permits_try_acquire() {
    check_holders_bounded(3, |sem| sem.try_acquire().ok());
}

#[test]
fn holders_never_exceed_permits_acquire() {
    check_holders_bounded(3, |sem| Some(sem.acquire().unwrap()));
}

#[test]
fn holders_never_exceed_permits_mixed_sizes() {
    // Each holder counts as the permits it holds.
    const THREADS: usize = 8;
    let permits = 5;
    let sem = Semaphore::new(permits);
    let held = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        for thread_index in 0..THREADS {
            let (sem, held, barrier) = (&sem, &held, &barrier);
            scope.spawn(move || {
                let mut rng = StdRng::seed_from_u64(thread_index as u64);
                barrier.wait();
                for _ in 0..scaled(1_000) {
                    let n = rng.random_range(1..=permits);
                    let permit = if rng.random_bool(0.5) {
                        sem.acquire_many(n).unwrap()
                    } else {
                        match sem.acquire_many_timeout(
                            n,
                            Duration::from_micros(rng.random_range(0..100)),
                        ) {
                            Ok(permit) => permit,
                            Err(error) => {
                                assert_eq!(error, TryAcquireError::NoPermits);
                                continue;
                            }
                        }
                    };
                    let now = held.fetch_add(n, SeqCst) + n;
                    assert!(now <= permits, "{now} permits held of {permits}");
                    thread::yield_now();
                    held.fetch_sub(n, SeqCst);
                    drop(permit);
                }
            });
        }
    });
    assert_eq!(sem.available_permits(), permits);
}

/// A waiter for all permits gets them while single-permit acquirers keep
/// taking and returning permits around it.
#[test]
fn many_permit_waiter_is_not_starved_by_single_acquirers() {
    const PERMITS: usize = 4;
    const SINGLES: usize = 6;
    let sem = Semaphore::new(PERMITS);
    let stop = AtomicBool::new(false);
    let single_rounds = AtomicUsize::new(0);
    let barrier = Barrier::new(SINGLES + 1);
    thread::scope(|scope| {
        for index in 0..SINGLES {
            let (sem, stop, single_rounds, barrier) = (&sem, &stop, &single_rounds, &barrier);
            scope.spawn(move || {
                barrier.wait();
                while !stop.load(SeqCst) {
                    // Half block, half try: neither may overtake the big waiter.
                    let permit = if index % 2 == 0 {
                        sem.acquire().ok()
                    } else {
                        sem.try_acquire().ok()
                    };
                    if permit.is_some() {
                        single_rounds.fetch_add(1, SeqCst);
                    }
                    thread::yield_now();
                    drop(permit);
                }
            });
        }
        barrier.wait();
        for round in 0..scaled(50) {
            // Let the single acquirers get going before the big request.
            let seen = single_rounds.load(SeqCst);
            while single_rounds.load(SeqCst) < seen + SINGLES {
                thread::yield_now();
            }
            let start = Instant::now();
            let all = sem.acquire_many_timeout(PERMITS, Duration::from_secs(60));
            let all = all.unwrap_or_else(|error| {
                panic!("round {round}: starved for {:?}: {error}", start.elapsed())
            });
            assert_eq!(all.permits(), PERMITS);
            drop(all);
        }
        stop.store(true, SeqCst);
    });
    assert_eq!(sem.available_permits(), PERMITS);
}

/// A waiter for one permit that has been queued past the fairness bound
/// (1 ms) is handed the next released permit under the lock: nobody can take
/// it in between, not even the releasing thread's own `try_acquire`.
#[test]
fn single_permit_waiter_past_the_bound_is_handed_the_permit() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let checked = Barrier::new(2);
    thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let permit = sem.acquire().unwrap();
            checked.wait(); // hold it until the main thread has looked
            permit.permits()
        });
        wait_until_queued(&sem);
        thread::sleep(Duration::from_millis(20));
        drop(held);
        // Looked at before the barrier, asserted after: a failure must not
        // leave the waiter stuck at the barrier.
        let taken = sem.try_acquire().map(|permit| permit.permits());
        let available = sem.available_permits();
        checked.wait();
        assert_eq!(taken, Err(TryAcquireError::NoPermits), "overtaken");
        assert_eq!(available, 0);
        assert_eq!(waiter.join().unwrap(), 1);
    });
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, waiters: false, closed: false }"
    );
}

/// Waiters are served in arrival order, and a later try_acquire does not
/// overtake a waiter that holds part of its request.
#[test]
fn waiters_served_in_order_without_overtaking() {
    let sem = Semaphore::new(0);
    let (done_tx, done_rx) = mpsc::channel();
    thread::scope(|scope| {
        let first_done = done_tx.clone();
        let sem = &sem;
        scope.spawn(move || {
            let permit = sem.acquire_many(2).unwrap();
            first_done.send(("first", permit.permits())).unwrap();
        });
        wait_until_queued(sem);
        sem.add_permits(1); // set aside for the first waiter
        assert_eq!(sem.available_permits(), 0);
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        scope.spawn(move || {
            let permit = sem.acquire().unwrap();
            done_tx.send(("second", permit.permits())).unwrap();
        });
        sem.add_permits(1); // completes the first waiter, whoever queued since
        assert_eq!(done_rx.recv().unwrap(), ("first", 2));
        sem.add_permits(1);
        assert_eq!(done_rx.recv().unwrap(), ("second", 1));
    });
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn acquire_woken_by_release() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    thread::scope(|scope| {
        let waiter = scope.spawn(|| sem.acquire().map(|permit| permit.permits()));
        wait_until_queued(&sem);
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    });
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn acquire_woken_by_add_permits() {
    let sem = Semaphore::new(0);
    thread::scope(|scope| {
        let waiter = scope.spawn(|| sem.acquire().map(|permit| permit.permits()));
        wait_until_queued(&sem);
        sem.add_permits(1);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    });
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn acquire_many_woken_by_several_releases() {
    let sem = Semaphore::new(3);
    let (first, second) = (sem.try_acquire().unwrap(), sem.try_acquire().unwrap());
    thread::scope(|scope| {
        // Takes the one free permit as a first instalment, waits for two more.
        let waiter = scope.spawn(|| sem_acquire_many(&sem, 3));
        wait_until_queued(&sem);
        drop(first);
        assert_eq!(
            sem.available_permits(),
            0,
            "the released permit is set aside"
        );
        assert!(!waiter.is_finished(), "completed with 2 of 3 permits");
        drop(second);
        assert_eq!(waiter.join().unwrap(), Ok(3));
    });
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn acquire_woken_by_close() {
    let sem = Semaphore::new(0);
    thread::scope(|scope| {
        let sem = &sem;
        let waiters: Vec<_> = (0..4)
            .map(|n| scope.spawn(move || sem_acquire_many(sem, n + 1)))
            .collect();
        wait_until_queued(sem);
        assert!(sem.close());
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Err(AcquireError::Closed));
        }
    });
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.acquire().unwrap_err(), AcquireError::Closed);
}

fn sem_acquire_many(sem: &Semaphore, n: usize) -> Result<usize, AcquireError> {
    sem.acquire_many(n).map(|permit| permit.permits())
}

#[test]
fn close_returns_partial_assignment() {
    let sem = Semaphore::new(2);
    thread::scope(|scope| {
        let waiter = scope.spawn(|| sem_acquire_many(&sem, 5));
        wait_until_queued(&sem);
        sem.add_permits(1); // now 3 of 5 set aside
        sem.close();
        assert_eq!(waiter.join().unwrap(), Err(AcquireError::Closed));
    });
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn acquire_timeout_woken_by_release_and_by_close() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            sem.acquire_timeout(Duration::from_secs(3600))
                .map(|p| p.permits())
        });
        wait_until_queued(&sem);
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    });
    let held = sem.try_acquire().unwrap();
    thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            sem.acquire_timeout(Duration::from_secs(3600))
                .map(|p| p.permits())
        });
        wait_until_queued(&sem);
        sem.close();
        assert_eq!(waiter.join().unwrap(), Err(TryAcquireError::Closed));
    });
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn overflowing_timeout_means_no_deadline() {
    let sem = Semaphore::new(0);
    thread::scope(|scope| {
        let waiter = scope.spawn(|| sem.acquire_timeout(Duration::MAX).map(|p| p.permits()));
        wait_until_queued(&sem);
        sem.add_permits(1);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    });
}

#[test]
fn timeouts_return_after_their_duration() {
    let sem = Semaphore::new(1);
    let _held = sem.try_acquire().unwrap();
    for millis in [0, 1, 20, 50] {
        let timeout = Duration::from_millis(millis);
        let start = Instant::now();
        assert_eq!(
            sem.acquire_timeout(timeout).unwrap_err(),
            TryAcquireError::NoPermits
        );
        let elapsed = start.elapsed();
        assert!(
            elapsed >= timeout,
            "returned after {elapsed:?} of {timeout:?}"
        );
        let start = Instant::now();
        assert_eq!(
            sem.acquire_many_timeout(2, timeout).unwrap_err(),
            TryAcquireError::NoPermits
        );
        let elapsed = start.elapsed();
        assert!(
            elapsed >= timeout,
            "returned after {elapsed:?} of {timeout:?}"
        );
    }
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn timed_out_waiter_passes_its_partial_assignment_on() {
    let sem = Semaphore::new(2);
    // Miri's virtual clock advances 5 µs per interpreted basic block
    // (miri/src/clock.rs), so 50 ms can pass before `wait_until_queued` first
    // looks; a longer wait is free there (the clock jumps ahead when every
    // thread is blocked). Natively, 500 ms leaves a loaded (or sanitized)
    // machine ample time to see the waiter queued before it gives up.
    let timeout = Duration::from_millis(if cfg!(miri) { 5_000 } else { 500 });
    thread::scope(|scope| {
        // Takes both permits as a first instalment of 3, then gives up.
        let big = scope.spawn(|| sem.acquire_many_timeout(3, timeout).map(|p| p.permits()));
        wait_until_queued(&sem);
        // Queues behind `big` (nothing is available while it waits).
        let small = scope.spawn(|| sem.acquire_many(2).map(|p| p.permits()));
        assert_eq!(big.join().unwrap(), Err(TryAcquireError::NoPermits));
        assert_eq!(small.join().unwrap(), Ok(2));
    });
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 2, waiters: false, closed: false }"
    );
}

/// A waiter whose deadline passes just as a release hands it a permit
/// either gets the permit or returns it: none is lost or duplicated.
#[test]
fn timed_out_waiter_racing_release_conserves_permits() {
    let rounds = scaled(3_000);
    for round in 0..rounds {
        let initial = 1 + round % 3;
        let sem = Semaphore::new(initial);
        let held = sem.try_acquire_many(initial).unwrap();
        let barrier = Barrier::new(3);
        thread::scope(|scope| {
            for waiter_index in 0..2 {
                let (sem, barrier) = (&sem, &barrier);
                scope.spawn(move || {
                    let timeout = Duration::from_micros(((round + waiter_index * 7) % 40) as u64);
                    let n = 1 + (round + waiter_index) % initial;
                    barrier.wait();
                    if let Ok(permit) = sem.acquire_many_timeout(n, timeout) {
                        assert_eq!(permit.permits(), n);
                    }
                });
            }
            barrier.wait();
            for _ in 0..round % 64 {
                std::hint::spin_loop();
            }
            drop(held);
        });
        assert_eq!(sem.available_permits(), initial, "round {round}");
        assert!(
            sem.try_acquire_many(initial).is_ok(),
            "round {round}: waiter flag left set"
        );
    }
}

#[test]
fn owned_permit_moves_across_threads() {
    let sem = Arc::new(Semaphore::new(2));
    let permit: OwnedPermit = Arc::clone(&sem).try_acquire_owned().unwrap();
    let two = Arc::clone(&sem).try_acquire_many_owned(1).unwrap();
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(
        Arc::clone(&sem).try_acquire_owned().map(|p| p.permits()),
        Err(TryAcquireError::NoPermits)
    );
    thread::spawn(move || {
        assert_eq!(permit.permits(), 1);
        drop(permit);
    })
    .join()
    .unwrap();
    assert_eq!(sem.available_permits(), 1);
    two.forget();
    assert_eq!(sem.available_permits(), 1);

    // Blocking owned acquire, completed by a permit dropped on another thread.
    let held = Arc::clone(&sem).acquire_owned().unwrap();
    let waiter = {
        let sem = Arc::clone(&sem);
        thread::spawn(move || sem.acquire_owned().map(|permit| permit.permits()))
    };
    wait_until_queued(&sem);
    thread::spawn(move || drop(held)).join().unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(1));
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(Arc::strong_count(&sem), 1);
}

#[test]
fn forget_keeps_permits_taken() {
    let sem = Semaphore::new(3);
    sem.try_acquire_many(2).unwrap().forget();
    assert_eq!(sem.available_permits(), 1);
    let mut permit = sem.try_acquire().unwrap();
    let part = permit.split(1).unwrap();
    part.forget();
    assert_eq!(permit.permits(), 0);
    drop(permit);
    assert_eq!(sem.available_permits(), 0);
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merge_across_semaphores_panics() {
    let (a, b) = (Semaphore::new(1), Semaphore::new(1));
    let mut permit = a.try_acquire().unwrap();
    permit.merge(b.try_acquire().unwrap());
}

#[test]
fn send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Semaphore>();
    assert_send_sync::<Permit<'static>>();
    assert_send_sync::<OwnedPermit>();

    let sem = Semaphore::new(2);
    let permit = sem.try_acquire().unwrap();
    assert_eq!(format!("{permit:?}"), "Permit { permits: 1, .. }");
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, waiters: false, closed: false }"
    );
    drop(permit);
    sem.close();
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 2, waiters: false, closed: true }"
    );
    let owned = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
    assert_eq!(format!("{owned:?}"), "OwnedPermit { permits: 1, .. }");
}

#[test]
fn error_messages() {
    assert_eq!(
        TryAcquireError::NoPermits.to_string(),
        "no permits available"
    );
    let too_many = AcquireError::TooMany {
        requested: usize::MAX,
    }
    .to_string();
    assert!(too_many.contains(&MAX.to_string()), "{too_many}");
}
