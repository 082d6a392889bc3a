//! `Semaphore`'s async acquires: under a hand-written `block_on`, tokio's
//! multi-thread runtime and `futures`' executors; cancellation at random
//! points (tokio's `timeout` and `select!`) with exact permit accounting;
//! `close`; and, deterministically with counting wakers, the two cancel cases
//! that lose wake-ups in a careless implementation (a future dropped after it
//! was woken or granted, before its next poll) and re-polling with a new
//! waker.
//!
//! Under Miri only the executor-free tests run (`block_on`, counting
//! wakers): tokio's runtime and timers cost minutes of interpretation there
//! and exercise no unsafe code of ours that these do not.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::Poll;
use std::thread;

use freelane::{AcquireError, Semaphore};
use support::executor::{CountingWaker, assert_send, block_on};
use support::scaled;

#[test]
fn futures_are_send() {
    let sem = Arc::new(Semaphore::new(1));
    assert_send(&sem.acquire_async());
    assert_send(&sem.acquire_many_async(2));
    assert_send(&Arc::clone(&sem).acquire_owned_async());
    assert_send(&Arc::clone(&sem).acquire_many_owned_async(2));
}

#[test]
fn uncontended_first_poll_is_ready() {
    let sem = Semaphore::new(2);
    let waker = CountingWaker::new();
    let mut future = sem.acquire_many_async(2);
    let Poll::Ready(Ok(permit)) = waker.poll(&mut future) else {
        panic!("two free permits: the first poll must take them");
    };
    assert_eq!(permit.permits(), 2);
    drop(permit);
    assert_eq!(sem.available_permits(), 2);
    assert!(!format!("{sem:?}").contains("waiters: true"));
}

#[test]
fn errors_too_many_and_closed() {
    let sem = Semaphore::new(1);
    assert_eq!(
        block_on(sem.acquire_many_async(usize::MAX)).unwrap_err(),
        AcquireError::TooMany {
            requested: usize::MAX
        }
    );
    assert_eq!(block_on(sem.acquire_many_async(0)).unwrap().permits(), 0);
    sem.close();
    assert_eq!(
        block_on(sem.acquire_async()).unwrap_err(),
        AcquireError::Closed
    );
}

#[test]
fn block_on_many_waiters_few_permits_all_finish() {
    let threads = if cfg!(miri) { 4 } else { 16 };
    let rounds = scaled(200);
    let sem = Semaphore::new(2);
    let inside = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for round in 0..rounds {
                    let permit = block_on(sem.acquire_many_async(1 + round % 2)).unwrap();
                    let now = inside.fetch_add(permit.permits(), SeqCst) + permit.permits();
                    assert!(now <= 2, "{now} permits held out of 2");
                    inside.fetch_sub(permit.permits(), SeqCst);
                }
            });
        }
    });
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn threads_and_tasks_share_one_queue() {
    let sem = Semaphore::new(1);
    let rounds = scaled(300);
    thread::scope(|scope| {
        for blocking in [true, false, true, false] {
            let sem = &sem;
            scope.spawn(move || {
                for _ in 0..rounds {
                    let permit = if blocking {
                        sem.acquire()
                    } else {
                        block_on(sem.acquire_async())
                    };
                    drop(permit.unwrap());
                }
            });
        }
    });
    assert_eq!(sem.available_permits(), 1);
}

/// A future woken to retry and dropped before its next poll must pass the
/// wake-up on: the permit sits in the word and the next waiter must hear.
#[test]
fn dropped_after_woken_passes_the_wakeup_on() {
    let sem = Semaphore::new(0);
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = sem.acquire_async();
    let mut second = sem.acquire_async();
    assert!(first_waker.poll(&mut first).is_pending());
    assert!(second_waker.poll(&mut second).is_pending());
    sem.add_permits(1);
    assert_eq!(first_waker.wakes(), 1, "the oldest waiter is woken");
    assert_eq!(second_waker.wakes(), 0, "one permit, one wake-up");
    drop(first);
    assert_eq!(
        second_waker.wakes(),
        1,
        "the dropped future passed its wake-up on"
    );
    let Poll::Ready(Ok(permit)) = second_waker.poll(&mut second) else {
        panic!("the permit is there for the second waiter");
    };
    drop(permit);
    assert_eq!(sem.available_permits(), 1);
}

/// A many-permit waiter is granted its permits in hand-off mode; dropped
/// before it is polled, those permits go to the next waiter.
#[test]
fn dropped_after_granted_hands_the_permits_on() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let (big_waker, small_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut big = sem.acquire_many_async(2);
    let mut small = sem.acquire_async();
    assert!(big_waker.poll(&mut big).is_pending());
    assert!(small_waker.poll(&mut small).is_pending());
    sem.add_permits(1);
    drop(held); // the second permit: the big waiter is complete
    assert_eq!(big_waker.wakes(), 1);
    assert_eq!(small_waker.wakes(), 0, "hand-off: nobody overtakes");
    drop(big);
    assert_eq!(small_waker.wakes(), 1, "the granted permits were passed on");
    let Poll::Ready(Ok(permit)) = small_waker.poll(&mut small) else {
        panic!("the small waiter gets one of the passed-on permits");
    };
    assert_eq!(sem.available_permits(), 1);
    drop(permit);
    assert_eq!(sem.available_permits(), 2);
}

/// A pending many-permit future holding part of its request (hand-off) and
/// dropped gives that part on.
#[test]
fn dropped_while_pending_returns_partial_assignment() {
    let sem = Semaphore::new(1);
    let waker = CountingWaker::new();
    let mut big = sem.acquire_many_async(3);
    assert!(waker.poll(&mut big).is_pending());
    assert_eq!(sem.available_permits(), 0, "the one permit is set aside");
    drop(big);
    assert_eq!(waker.wakes(), 0);
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(block_on(sem.acquire_async()).unwrap().permits(), 1);
}

/// Futures dropped from the middle, the back and the front of the queue
/// leave it intact: the others are still woken one per permit, oldest
/// first, and a waiter that queues afterwards goes behind them.
#[test]
fn dropped_anywhere_in_the_queue_leaves_the_rest_in_order() {
    let sem = Semaphore::new(0);
    let wakers: Vec<CountingWaker> = (0..6).map(|_| CountingWaker::new()).collect();
    let mut futures: Vec<_> = (0..6).map(|_| Some(sem.acquire_async())).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(waker.poll(future.as_mut().unwrap()).is_pending());
    }
    // Middle, back, front: waiters 0..6 become 1, 3, 4.
    for dropped in [2, 5, 0] {
        futures[dropped] = None;
    }
    let late_waker = CountingWaker::new();
    let mut late = sem.acquire_async();
    assert!(late_waker.poll(&mut late).is_pending());
    for expected in [1, 3, 4] {
        sem.add_permits(1);
        let woken: Vec<usize> = (0..6).filter(|&i| wakers[i].wakes() > 0).collect();
        assert_eq!(woken.last(), Some(&expected), "woken so far: {woken:?}");
        assert_eq!(late_waker.wakes(), 0, "the late waiter is last");
        let Poll::Ready(Ok(permit)) = wakers[expected].poll(futures[expected].as_mut().unwrap())
        else {
            panic!("waiter {expected} was woken for a free permit");
        };
        permit.forget();
    }
    sem.add_permits(1);
    assert_eq!(late_waker.wakes(), 1);
    assert!(matches!(late_waker.poll(&mut late), Poll::Ready(Ok(_))));
    for dropped in [0, 2, 5] {
        assert_eq!(
            wakers[dropped].wakes(),
            0,
            "waiter {dropped} left before any release"
        );
    }
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, waiters: false, closed: false }"
    );
}

#[test]
fn repoll_with_new_waker_wakes_the_newest() {
    let sem = Semaphore::new(0);
    let (old, new) = (CountingWaker::new(), CountingWaker::new());
    let mut future = sem.acquire_async();
    assert!(old.poll(&mut future).is_pending());
    assert!(new.poll(&mut future).is_pending());
    assert!(new.poll(&mut future).is_pending()); // same waker: kept
    sem.add_permits(1);
    assert_eq!((old.wakes(), new.wakes()), (0, 1));
    assert!(matches!(new.poll(&mut future), Poll::Ready(Ok(_))));
}

#[test]
fn close_wakes_every_pending_future() {
    let sem = Semaphore::new(0);
    let wakers: Vec<CountingWaker> = (0..6).map(|_| CountingWaker::new()).collect();
    let mut futures: Vec<_> = (0..6).map(|i| sem.acquire_many_async(1 + i % 3)).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(waker.poll(future).is_pending());
    }
    sem.close();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert_eq!(waker.wakes(), 1);
        assert!(matches!(
            waker.poll(future),
            Poll::Ready(Err(AcquireError::Closed))
        ));
    }
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn owned_permit_moves_to_another_thread() {
    let sem = Arc::new(Semaphore::new(1));
    let permit = block_on(Arc::clone(&sem).acquire_owned_async()).unwrap();
    let waiter = {
        let sem = Arc::clone(&sem);
        thread::spawn(move || block_on(sem.acquire_many_owned_async(1)).map(|p| p.permits()))
    };
    thread::spawn(move || drop(permit)).join().unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(1));
    assert_eq!(sem.available_permits(), 1);
}

#[cfg(not(miri))]
mod runtimes {
    use super::*;
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    use std::time::Duration;
    use support::executor::yield_now;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_time()
            .build()
            .unwrap()
    }

    /// Guards a whole test against a hang (not a timing assertion).
    const STALL: Duration = Duration::from_secs(120);

    #[test]
    fn tokio_many_tasks_few_permits_all_finish() {
        runtime().block_on(async {
            let sem = Arc::new(Semaphore::new(3));
            let inside = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..200)
                .map(|task| {
                    let (sem, inside) = (Arc::clone(&sem), Arc::clone(&inside));
                    tokio::spawn(async move {
                        for round in 0..50 {
                            let n = 1 + (task + round) % 3;
                            let permit = sem.acquire_many_async(n).await.unwrap();
                            assert!(inside.fetch_add(n, SeqCst) + n <= 3);
                            tokio::task::yield_now().await;
                            inside.fetch_sub(n, SeqCst);
                            drop(permit);
                        }
                    })
                })
                .collect();
            tokio::time::timeout(STALL, async {
                for task in tasks {
                    task.await.unwrap();
                }
            })
            .await
            .expect("stalled");
            assert_eq!(sem.available_permits(), 3);
        });
    }

    /// A waiter for all the permits is not starved by single-permit tasks
    /// that keep taking and returning them.
    #[test]
    fn tokio_many_permit_waiter_is_not_starved() {
        runtime().block_on(async {
            let sem = Arc::new(Semaphore::new(4));
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let churn: Vec<_> = (0..8)
                .map(|_| {
                    let (sem, stop) = (Arc::clone(&sem), Arc::clone(&stop));
                    tokio::spawn(async move {
                        while !stop.load(SeqCst) {
                            let _permit = sem.acquire_async().await.unwrap();
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            tokio::task::yield_now().await;
            let all = tokio::time::timeout(STALL, sem.acquire_many_async(4))
                .await
                .expect("the many-permit waiter starved")
                .unwrap();
            stop.store(true, SeqCst);
            drop(all);
            for task in churn {
                task.await.unwrap();
            }
            assert_eq!(sem.available_permits(), 4);
        });
    }

    /// Tasks acquire through `timeout` and `select!` with random deadlines,
    /// so futures are dropped at every stage (queued, woken, granted); the
    /// permits must all come back and nobody may be left stranded.
    #[test]
    fn tokio_cancellation_at_random_points_keeps_every_permit() {
        const PERMITS: usize = 4;
        runtime().block_on(async {
            let sem = Arc::new(Semaphore::new(PERMITS));
            let inside = Arc::new(AtomicUsize::new(0));
            let cancelled = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..32u64)
                .map(|seed| {
                    let (sem, inside, cancelled) = (
                        Arc::clone(&sem),
                        Arc::clone(&inside),
                        Arc::clone(&cancelled),
                    );
                    tokio::spawn(async move {
                        let mut rng = StdRng::seed_from_u64(seed);
                        for _ in 0..200 {
                            let n = rng.random_range(1..=PERMITS);
                            let wait = Duration::from_micros(rng.random_range(0..200));
                            let permit = if rng.random_bool(0.5) {
                                tokio::time::timeout(wait, sem.acquire_many_async(n))
                                    .await
                                    .ok()
                            } else {
                                tokio::select! {
                                    permit = sem.acquire_many_async(n) => Some(permit),
                                    () = tokio::time::sleep(wait) => None,
                                }
                            };
                            match permit {
                                Some(permit) => {
                                    let permit = permit.unwrap();
                                    assert!(inside.fetch_add(n, SeqCst) + n <= PERMITS);
                                    tokio::task::yield_now().await;
                                    inside.fetch_sub(n, SeqCst);
                                    drop(permit);
                                }
                                None => {
                                    cancelled.fetch_add(1, SeqCst);
                                }
                            }
                        }
                    })
                })
                .collect();
            tokio::time::timeout(STALL, async {
                for task in tasks {
                    task.await.unwrap();
                }
            })
            .await
            .expect("stalled");
            assert_eq!(sem.available_permits(), PERMITS, "a permit was lost");
            // Nobody is queued or owed permits: everything can be taken at once.
            let all = sem
                .try_acquire_many(PERMITS)
                .expect("hand-off mode left behind");
            drop(all);
            println!("{} acquires cancelled", cancelled.load(SeqCst));
        });
    }

    #[test]
    fn tokio_close_wakes_every_pending_future() {
        runtime().block_on(async {
            let sem = Arc::new(Semaphore::new(0));
            let queued = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..50)
                .map(|i| {
                    let sem = Arc::clone(&sem);
                    let queued = Arc::clone(&queued);
                    tokio::spawn(async move {
                        let mut future = std::pin::pin!(sem.acquire_many_async(1 + i % 3));
                        // Poll once by hand so we know it is queued.
                        std::future::poll_fn(|cx| {
                            assert!(future.as_mut().poll(cx).is_pending());
                            Poll::Ready(())
                        })
                        .await;
                        queued.fetch_add(1, SeqCst);
                        future.await.map(|permit| permit.permits())
                    })
                })
                .collect();
            while queued.load(SeqCst) < 50 {
                tokio::task::yield_now().await;
            }
            sem.close();
            for task in tasks {
                let result = tokio::time::timeout(STALL, task).await.expect("not woken");
                assert_eq!(result.unwrap(), Err(AcquireError::Closed));
            }
        });
    }

    #[test]
    fn futures_local_pool_many_tasks_one_thread() {
        use futures::task::LocalSpawnExt;
        let sem = Arc::new(Semaphore::new(2));
        let done = Arc::new(AtomicUsize::new(0));
        let mut pool = futures::executor::LocalPool::new();
        for i in 0..20 {
            let (sem, done) = (Arc::clone(&sem), Arc::clone(&done));
            pool.spawner()
                .spawn_local(async move {
                    for _ in 0..20 {
                        let permit = sem.acquire_many_async(1 + i % 2).await.unwrap();
                        // Hold the permit across a yield so that others queue.
                        yield_now().await;
                        drop(permit);
                    }
                    done.fetch_add(1, SeqCst);
                })
                .unwrap();
        }
        pool.run();
        assert_eq!(done.load(SeqCst), 20);
        assert_eq!(sem.available_permits(), 2);
    }

    #[test]
    fn futures_block_on_join_all() {
        let sem = Semaphore::new(1);
        let results =
            futures::executor::block_on(futures::future::join_all((0..10).map(|_| async {
                let permit = sem.acquire_async().await?;
                yield_now().await;
                Ok::<_, AcquireError>(permit.permits())
            })));
        assert!(results.iter().all(|result| *result == Ok(1)));
        assert_eq!(sem.available_permits(), 1);
    }
}
