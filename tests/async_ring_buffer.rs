//! `RingBuffer`'s `push_async` / `pop_async`: under a hand-written
//! `block_on`, tokio's multi-thread runtime and `futures`' executors; element
//! conservation with drop counting while futures are cancelled at random
//! points (tokio's `timeout` and `select!`); `close`; and, deterministically
//! with counting wakers, a future dropped after its wake-up but before its
//! next poll (the wake-up must pass on) and re-polling with a new waker.
//!
//! Under Miri only the executor-free tests run (see tests/async_semaphore.rs).

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::Poll;
use std::thread;

use freelane::{PushError, RingBuffer};
use support::executor::{CountingWaker, assert_send, block_on};
use support::{DropCounter, scaled};

#[test]
fn futures_are_send() {
    let ring = RingBuffer::<String>::new(1);
    assert_send(&ring.push_async(String::new()));
    assert_send(&ring.pop_async());
}

#[test]
fn uncontended_first_poll_is_ready() {
    let ring = RingBuffer::new(2);
    let waker = CountingWaker::new();
    assert!(matches!(
        waker.poll(&mut ring.push_async(1)),
        Poll::Ready(Ok(()))
    ));
    assert!(matches!(
        waker.poll(&mut ring.pop_async()),
        Poll::Ready(Some(1))
    ));
    assert_eq!(waker.wakes(), 0);
}

#[test]
fn block_on_spsc_and_mpmc_conserve_elements() {
    for (producers, consumers) in [(1, 1), (2, 2)] {
        let per_producer = scaled(2_000);
        let ring = RingBuffer::new(2);
        let received = thread::scope(|scope| {
            let producer_threads: Vec<_> = (0..producers)
                .map(|producer| {
                    let ring = &ring;
                    scope.spawn(move || {
                        for seq in 0..per_producer {
                            block_on(ring.push_async(support::encode(producer, seq))).unwrap();
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..consumers)
                .map(|_| {
                    let ring = &ring;
                    scope.spawn(move || {
                        let mut got = Vec::new();
                        while let Some(item) = block_on(ring.pop_async()) {
                            got.push(item);
                        }
                        got
                    })
                })
                .collect();
            for producer in producer_threads {
                producer.join().unwrap();
            }
            // Every item is in: consumers drain, then see None.
            ring.close();
            consumers
                .into_iter()
                .flat_map(|consumer| consumer.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(received.len(), producers * per_producer);
        let distinct: HashSet<u64> = received.iter().copied().collect();
        assert_eq!(distinct.len(), received.len(), "an element arrived twice");
    }
}

#[test]
fn dropped_pop_after_woken_passes_the_wakeup_on() {
    let ring = RingBuffer::new(2);
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = ring.pop_async();
    let mut second = ring.pop_async();
    assert!(first_waker.poll(&mut first).is_pending());
    assert!(second_waker.poll(&mut second).is_pending());
    ring.try_push(7).unwrap();
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 0));
    drop(first);
    assert_eq!(
        second_waker.wakes(),
        1,
        "the dropped pop passed its wake-up on"
    );
    assert!(matches!(
        second_waker.poll(&mut second),
        Poll::Ready(Some(7))
    ));
}

#[test]
fn dropped_push_after_woken_passes_the_wakeup_on() {
    let drops = Arc::new(AtomicUsize::new(0));
    let ring = RingBuffer::new(1);
    ring.try_push(DropCounter::new(0, &drops)).unwrap();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = ring.push_async(DropCounter::new(1, &drops));
    let mut second = ring.push_async(DropCounter::new(2, &drops));
    assert!(first_waker.poll(&mut first).is_pending());
    assert!(second_waker.poll(&mut second).is_pending());
    assert_eq!(ring.try_pop().unwrap().id, 0); // dropped here: 1 drop
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 0));
    drop(first); // its value is dropped with it: 2 drops
    assert_eq!(drops.load(SeqCst), 2);
    assert_eq!(
        second_waker.wakes(),
        1,
        "the dropped push passed its wake-up on"
    );
    assert!(matches!(
        second_waker.poll(&mut second),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(ring.try_pop().unwrap().id, 2);
    assert_eq!(drops.load(SeqCst), 3);
}

#[test]
fn dropped_while_pending_loses_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let ring = RingBuffer::new(1);
    ring.try_push(DropCounter::new(0, &drops)).unwrap();
    let waker = CountingWaker::new();
    let mut push = ring.push_async(DropCounter::new(1, &drops));
    assert!(waker.poll(&mut push).is_pending());
    drop(push);
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the pending push's value, dropped once"
    );
    assert_eq!(ring.len(), 1);
    assert_eq!(ring.try_pop().unwrap().id, 0);
    let mut pop = ring.pop_async();
    assert!(waker.poll(&mut pop).is_pending());
    drop(pop);
    ring.try_push(DropCounter::new(2, &drops)).unwrap();
    assert_eq!(
        ring.try_pop().unwrap().id,
        2,
        "the dropped pop took nothing"
    );
    assert_eq!(drops.load(SeqCst), 3);
    assert_eq!(waker.wakes(), 0);
}

#[test]
fn repoll_with_new_waker_wakes_the_newest() {
    let ring = RingBuffer::new(1);
    let (old, new) = (CountingWaker::new(), CountingWaker::new());
    let mut pop = ring.pop_async();
    assert!(old.poll(&mut pop).is_pending());
    assert!(new.poll(&mut pop).is_pending());
    ring.try_push('x').unwrap();
    assert_eq!((old.wakes(), new.wakes()), (0, 1));
    assert!(matches!(new.poll(&mut pop), Poll::Ready(Some('x'))));

    ring.try_push('y').unwrap();
    let mut push = ring.push_async('z');
    assert!(old.poll(&mut push).is_pending());
    assert!(new.poll(&mut push).is_pending());
    assert_eq!(ring.try_pop(), Ok('y'));
    assert_eq!((old.wakes(), new.wakes()), (0, 2));
    assert!(matches!(new.poll(&mut push), Poll::Ready(Ok(()))));
}

#[test]
fn close_wakes_every_pending_future() {
    let full = RingBuffer::new(1);
    full.try_push(0).unwrap();
    let empty = RingBuffer::<i32>::new(1);
    let wakers: Vec<CountingWaker> = (0..8).map(|_| CountingWaker::new()).collect();
    let mut pushes: Vec<_> = (1..=4).map(|i| full.push_async(i)).collect();
    let mut pops: Vec<_> = (0..4).map(|_| empty.pop_async()).collect();
    for (push, waker) in pushes.iter_mut().zip(&wakers[..4]) {
        assert!(waker.poll(push).is_pending());
    }
    for (pop, waker) in pops.iter_mut().zip(&wakers[4..]) {
        assert!(waker.poll(pop).is_pending());
    }
    full.close();
    empty.close();
    assert!(wakers.iter().all(|waker| waker.wakes() == 1));
    for (i, (push, waker)) in pushes.iter_mut().zip(&wakers[..4]).enumerate() {
        let Poll::Ready(Err(PushError::Closed(value))) = waker.poll(push) else {
            panic!("a push woken by close fails with Closed");
        };
        assert_eq!(value, i as i32 + 1, "the value comes back");
    }
    for (pop, waker) in pops.iter_mut().zip(&wakers[4..]) {
        assert!(matches!(waker.poll(pop), Poll::Ready(None)));
    }
    assert_eq!(block_on(full.pop_async()), Some(0), "drained after close");
    assert_eq!(block_on(full.pop_async()), None);
}

#[cfg(not(miri))]
mod runtimes {
    use super::*;
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    use std::sync::Mutex;
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
    fn tokio_mpmc_every_element_exactly_once() {
        const PRODUCERS: usize = 4;
        const PER_PRODUCER: usize = 5_000;
        runtime().block_on(async {
            let ring = Arc::new(RingBuffer::new(4));
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|producer| {
                    let ring = Arc::clone(&ring);
                    tokio::spawn(async move {
                        for seq in 0..PER_PRODUCER {
                            ring.push_async(support::encode(producer, seq))
                                .await
                                .unwrap();
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let ring = Arc::clone(&ring);
                    tokio::spawn(async move {
                        let mut got = Vec::new();
                        while let Some(item) = ring.pop_async().await {
                            got.push(item);
                        }
                        got
                    })
                })
                .collect();
            tokio::time::timeout(STALL, async {
                for producer in producers {
                    producer.await.unwrap();
                }
                ring.close();
                let mut seen = HashSet::new();
                for consumer in consumers {
                    let got = consumer.await.unwrap();
                    // Per producer, a consumer sees items in push order.
                    let mut last = [None; PRODUCERS];
                    for item in got {
                        let (producer, seq) = support::decode(item);
                        assert!(last[producer].is_none_or(|prev| prev < seq));
                        last[producer] = Some(seq);
                        assert!(seen.insert(item), "{item:#x} popped twice");
                    }
                }
                assert_eq!(seen.len(), PRODUCERS * PER_PRODUCER);
            })
            .await
            .expect("stalled");
        });
    }

    /// Pushes and pops through `timeout` and `select!` with random deadlines:
    /// every element is popped exactly once or dropped exactly once (with
    /// its cancelled push, or with the buffer).
    #[test]
    fn tokio_cancellation_at_random_points_conserves_elements() {
        runtime().block_on(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let ring = Arc::new(RingBuffer::new(2));
            let created = Arc::new(AtomicUsize::new(0));
            let cancelled_pushes = Arc::new(AtomicUsize::new(0));
            let popped = Arc::new(Mutex::new(Vec::new()));
            let mut tasks = Vec::new();
            for seed in 0..8u64 {
                let (ring, drops, created, cancelled) = (
                    Arc::clone(&ring),
                    Arc::clone(&drops),
                    Arc::clone(&created),
                    Arc::clone(&cancelled_pushes),
                );
                tasks.push(tokio::spawn(async move {
                    let mut rng = StdRng::seed_from_u64(seed);
                    for _ in 0..300 {
                        let id = created.fetch_add(1, SeqCst);
                        let item = DropCounter::new(id, &drops);
                        let wait = Duration::from_micros(rng.random_range(0..100));
                        let pushed = if rng.random_bool(0.5) {
                            tokio::time::timeout(wait, ring.push_async(item)).await.ok()
                        } else {
                            tokio::select! {
                                pushed = ring.push_async(item) => Some(pushed),
                                () = tokio::time::sleep(wait) => None,
                            }
                        };
                        match pushed {
                            Some(result) => assert!(result.is_ok()),
                            None => {
                                cancelled.fetch_add(1, SeqCst);
                            }
                        }
                    }
                }));
            }
            for seed in 100..108u64 {
                let (ring, popped) = (Arc::clone(&ring), Arc::clone(&popped));
                tasks.push(tokio::spawn(async move {
                    let mut rng = StdRng::seed_from_u64(seed);
                    for _ in 0..400 {
                        let wait = Duration::from_micros(rng.random_range(0..100));
                        let item = if rng.random_bool(0.5) {
                            tokio::time::timeout(wait, ring.pop_async()).await.ok()
                        } else {
                            tokio::select! {
                                item = ring.pop_async() => Some(item),
                                () = tokio::time::sleep(wait) => None,
                            }
                        };
                        if let Some(Some(item)) = item {
                            popped.lock().unwrap().push(item.id);
                            yield_now().await;
                        }
                    }
                }));
            }
            tokio::time::timeout(STALL, async {
                for task in tasks {
                    task.await.unwrap();
                }
            })
            .await
            .expect("stalled");
            let created = created.load(SeqCst);
            let popped = popped.lock().unwrap();
            let distinct: HashSet<usize> = popped.iter().copied().collect();
            assert_eq!(distinct.len(), popped.len(), "an element was popped twice");
            let left = ring.len();
            assert_eq!(
                popped.len() + cancelled_pushes.load(SeqCst) + left,
                created,
                "popped + cancelled + left in the buffer"
            );
            drop(popped);
            drop(Arc::into_inner(ring).expect("all tasks done"));
            assert_eq!(
                drops.load(SeqCst),
                created,
                "every element dropped exactly once"
            );
        });
    }

    #[test]
    fn tokio_close_wakes_every_pending_future() {
        runtime().block_on(async {
            let ring = Arc::new(RingBuffer::<usize>::new(1));
            let pops: Vec<_> = (0..20)
                .map(|_| {
                    let ring = Arc::clone(&ring);
                    tokio::spawn(async move { ring.pop_async().await })
                })
                .collect();
            tokio::task::yield_now().await;
            ring.close();
            for pop in pops {
                let popped = tokio::time::timeout(STALL, pop).await.expect("not woken");
                assert_eq!(popped.unwrap(), None);
            }
        });
    }

    #[test]
    fn futures_local_pool_producers_and_consumers() {
        use futures::task::LocalSpawnExt;
        let ring = Arc::new(RingBuffer::new(1));
        let sum = Arc::new(AtomicUsize::new(0));
        let mut pool = futures::executor::LocalPool::new();
        for producer in 0..3 {
            let ring = Arc::clone(&ring);
            pool.spawner()
                .spawn_local(async move {
                    for i in 0..100 {
                        ring.push_async(producer * 1000 + i).await.unwrap();
                    }
                })
                .unwrap();
        }
        for _ in 0..2 {
            let (ring, sum) = (Arc::clone(&ring), Arc::clone(&sum));
            pool.spawner()
                .spawn_local(async move {
                    for _ in 0..150 {
                        sum.fetch_add(ring.pop_async().await.unwrap(), SeqCst);
                    }
                })
                .unwrap();
        }
        pool.run();
        let expected: usize = (0..3)
            .map(|p| (0..100).map(|i| p * 1000 + i).sum::<usize>())
            .sum();
        assert_eq!(sum.load(SeqCst), expected);
        assert!(ring.is_empty());
    }
}
