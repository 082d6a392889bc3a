//! Tests of `RingBuffer`: a sequential model against `VecDeque`, MPMC
//! conservation (try and blocking), `force_push` conservation, drop
//! accounting, blocking wake-ups and timeouts, bad capacities, edges.

mod support;

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use core::time::Duration;
use std::sync::{Barrier, mpsc};
use std::thread;
use std::time::Instant;

use freelane::{CapacityError, PopError, PushError, RingBuffer};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use support::{DropCounter, check_mpmc_conservation, scaled};

// ---------------------------------------------------------------- model

/// Runs `steps` random operations on a ring of `capacity` and on a
/// `VecDeque` model, comparing every result. Closes the ring at a random
/// step (or never) and checks the post-close behaviour too.
fn run_model(capacity: usize, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let ring = RingBuffer::new(capacity);
    let mut model: VecDeque<u64> = VecDeque::new();
    let mut closed = false;
    let close_at = if rng.random_range(0..4) == 0 {
        usize::MAX
    } else {
        rng.random_range(0..steps)
    };
    let mut next = 0u64;
    for step in 0..steps {
        if step == close_at {
            assert!(ring.close(), "first close returns true");
            assert!(!ring.close(), "second close returns false");
            closed = true;
        }
        match rng.random_range(0..7) {
            0 | 1 => {
                next += 1;
                let got = ring.try_push(next);
                if closed {
                    assert_eq!(got, Err(PushError::Closed(next)), "step {step}");
                } else if model.len() == capacity {
                    assert_eq!(got, Err(PushError::Full(next)), "step {step}");
                } else {
                    assert_eq!(got, Ok(()), "step {step}");
                    model.push_back(next);
                }
            }
            2 | 3 => {
                let expected = match model.pop_front() {
                    Some(value) => Ok(value),
                    None if closed => Err(PopError::Closed),
                    None => Err(PopError::Empty),
                };
                assert_eq!(ring.try_pop(), expected, "step {step}");
            }
            4 => {
                next += 1;
                let got = ring.force_push(next);
                if closed {
                    assert_eq!(got, Err(next), "step {step}");
                } else {
                    let replaced = if model.len() == capacity {
                        model.pop_front()
                    } else {
                        None
                    };
                    model.push_back(next);
                    assert_eq!(got, Ok(replaced), "step {step}");
                }
            }
            _ => {}
        }
        assert_eq!(ring.len(), model.len(), "len at step {step}");
        assert_eq!(ring.is_empty(), model.is_empty(), "is_empty at step {step}");
        assert_eq!(
            ring.is_full(),
            model.len() == capacity,
            "is_full at step {step}"
        );
        assert_eq!(ring.is_closed(), closed, "is_closed at step {step}");
        assert_eq!(ring.capacity(), capacity);
    }
}

#[test]
fn sequential_model_matches_vecdeque() {
    // Under Miri, one capacity of each kind (one slot, a power of two, odd).
    let capacities: &[usize] = if cfg!(miri) {
        &[1, 2, 7]
    } else {
        &[1, 2, 3, 4, 7, 8, 16, 31]
    };
    for &capacity in capacities {
        for seed in 0..scaled(20) as u64 {
            run_model(capacity, seed * 1000 + capacity as u64, scaled(2_000));
        }
    }
    // From 20 slots on, consecutive positions' slots are a stride apart
    // (`word.rs`, `stride`): laps still visit every slot once, in order.
    // 25 and 30: the stride passes 5 (a factor) for 6 and 7.
    let strided: &[usize] = if cfg!(miri) {
        &[67]
    } else {
        &[20, 25, 30, 64, 67, 200]
    };
    for &capacity in strided {
        for seed in 0..scaled(4) as u64 {
            run_model(capacity, seed * 1000 + capacity as u64, scaled(20_000));
        }
    }
}

#[test]
fn wraps_around_many_laps() {
    for capacity in [1, 2, 3, 7] {
        let ring = RingBuffer::new(capacity);
        // 8 laps already take every slot round 8 times; Miri cannot afford more.
        let laps = if cfg!(miri) { 8 } else { 10_000 };
        let mut next_pop = 0;
        for value in 0..capacity * laps {
            if ring.is_full() {
                assert_eq!(ring.try_pop(), Ok(next_pop));
                next_pop += 1;
            }
            ring.try_push(value).unwrap();
        }
        while let Ok(value) = ring.try_pop() {
            assert_eq!(value, next_pop);
            next_pop += 1;
        }
        assert_eq!(next_pop, capacity * laps);
    }
}

// ---------------------------------------------------------------- MPMC

/// Items per producer in the conservation runs. Miri's cost grows with items
/// times spinning threads, so under Miri every size moves the same 100 items
/// instead of 8x8 taking 16 times as long as 2x2.
fn conservation_items(threads: usize) -> usize {
    if cfg!(miri) {
        scaled(20_000) / threads
    } else {
        20_000
    }
}

fn conservation_try(threads: usize) {
    // 70: consecutive positions' slots a stride apart (`word.rs`, `stride`).
    for capacity in [16, 70] {
        conservation_try_at(threads, capacity);
    }
}

fn conservation_try_at(threads: usize, capacity: usize) {
    let ring = RingBuffer::new(capacity);
    check_mpmc_conservation(
        threads,
        threads,
        conservation_items(threads),
        |item| {
            let mut item = item;
            loop {
                match ring.try_push(item) {
                    Ok(()) => return,
                    Err(PushError::Full(back)) => {
                        item = back;
                        thread::yield_now();
                    }
                    Err(PushError::Closed(_)) => panic!("never closed"),
                }
            }
        },
        || ring.try_pop().ok(),
    );
    assert!(ring.is_empty());
}

fn conservation_blocking(threads: usize) {
    let ring = RingBuffer::new(7);
    check_mpmc_conservation(
        threads,
        threads,
        conservation_items(threads),
        |item| ring.push(item).unwrap(),
        || ring.pop_timeout(Duration::from_millis(1)).ok(),
    );
    assert!(ring.is_empty());
}

#[test]
fn mpmc_conservation_try_2x2() {
    conservation_try(2);
}

#[test]
fn mpmc_conservation_try_4x4() {
    conservation_try(4);
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "16 threads cost ~15 s under Miri; 2x2 and 4x4 run"
)]
fn mpmc_conservation_try_8x8() {
    conservation_try(8);
}

#[test]
fn mpmc_conservation_blocking_2x2() {
    conservation_blocking(2);
}

#[test]
fn mpmc_conservation_blocking_4x4() {
    conservation_blocking(4);
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "16 threads cost ~15 s under Miri; 2x2 and 4x4 run"
)]
fn mpmc_conservation_blocking_8x8() {
    conservation_blocking(8);
}

/// Blocking `pop` (no timeout) on the consumer side: consumers stop on
/// `None` after the producers are done and the ring is closed.
#[test]
fn mpmc_blocking_pop_until_closed() {
    mpmc_blocking_pop_until_closed_at(5);
}

/// The same on a ring large enough for the blocking calls' run wait
/// (`blocking.rs`, "Runs"): the waits it adds end, and lose nothing.
#[test]
fn mpmc_blocking_pop_until_closed_with_runs() {
    mpmc_blocking_pop_until_closed_at(256);
}

fn mpmc_blocking_pop_until_closed_at(capacity: usize) {
    // Under Miri, 100 items in all, as in the conservation runs.
    let per_producer = if cfg!(miri) {
        scaled(20_000) / 4
    } else {
        20_000
    };
    let (producers, consumers) = (4, 4);
    let ring = RingBuffer::new(capacity);
    let done = AtomicUsize::new(0);
    let per_consumer: Vec<Vec<u64>> = thread::scope(|s| {
        for producer in 0..producers {
            let (ring, done) = (&ring, &done);
            s.spawn(move || {
                for seq in 0..per_producer {
                    ring.push(support::encode(producer, seq)).unwrap();
                }
                if done.fetch_add(1, SeqCst) + 1 == producers {
                    assert!(ring.close());
                }
            });
        }
        let handles: Vec<_> = (0..consumers)
            .map(|_| {
                let ring = &ring;
                s.spawn(move || {
                    let mut got = Vec::new();
                    while let Some(item) = ring.pop() {
                        got.push(item);
                    }
                    got
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = per_consumer.into_iter().flatten().collect();
    all.sort_unstable();
    let mut expected: Vec<u64> = (0..producers)
        .flat_map(|p| (0..per_producer).map(move |q| support::encode(p, q)))
        .collect();
    expected.sort_unstable();
    assert_eq!(all, expected);
}

/// Every item `force_push`ed is either popped by a consumer, handed back by
/// `force_push` as the replaced value, or left in the ring: exactly one of
/// these, never lost.
#[test]
fn force_push_conserves_under_concurrency() {
    // Capacity 1: every replacement's transient (head moved, tail not yet)
    // makes the buffer look empty to pops.
    // Under Miri, the capacity with the most replacements per pop.
    let capacities: &[usize] = if cfg!(miri) { &[1] } else { &[1, 3] };
    for &capacity in capacities {
        force_push_conservation(capacity);
    }
}

fn force_push_conservation(capacity: usize) {
    let (producers, consumers, per_producer) = (4, 2, scaled(20_000));
    let ring = RingBuffer::new(capacity);
    let producers_done = AtomicUsize::new(0);
    let barrier = Barrier::new(producers + consumers);
    let (replaced, popped): (Vec<Vec<u64>>, Vec<Vec<u64>>) = thread::scope(|s| {
        let pushers: Vec<_> = (0..producers)
            .map(|producer| {
                let (ring, barrier, producers_done) = (&ring, &barrier, &producers_done);
                s.spawn(move || {
                    barrier.wait();
                    let mut replaced = Vec::new();
                    for seq in 0..per_producer {
                        if let Some(old) = ring.force_push(support::encode(producer, seq)).unwrap()
                        {
                            replaced.push(old);
                        }
                    }
                    producers_done.fetch_add(1, SeqCst);
                    replaced
                })
            })
            .collect();
        let poppers: Vec<_> = (0..consumers)
            .map(|_| {
                let (ring, barrier, producers_done) = (&ring, &barrier, &producers_done);
                s.spawn(move || {
                    barrier.wait();
                    let mut popped = Vec::new();
                    while producers_done.load(SeqCst) < producers {
                        match ring.try_pop() {
                            Ok(item) => popped.push(item),
                            Err(_) => thread::yield_now(),
                        }
                    }
                    popped
                })
            })
            .collect();
        (
            pushers.into_iter().map(|h| h.join().unwrap()).collect(),
            poppers.into_iter().map(|h| h.join().unwrap()).collect(),
        )
    });
    let mut seen = vec![0u32; producers * per_producer];
    let mut count = |item: u64| {
        let (producer, seq) = support::decode(item);
        seen[producer * per_producer + seq] += 1;
    };
    replaced.iter().flatten().copied().for_each(&mut count);
    popped.iter().flatten().copied().for_each(&mut count);
    while let Ok(item) = ring.try_pop() {
        count(item);
    }
    for (index, &times) in seen.iter().enumerate() {
        assert_eq!(times, 1, "item {index} seen {times} times");
    }
}

// ---------------------------------------------------------------- drops

#[test]
fn drop_drops_remaining_elements_once() {
    for capacity in [1, 3, 8] {
        let drops = Arc::new(AtomicUsize::new(0));
        let ring = RingBuffer::new(capacity);
        // Wrap around first so the remaining elements straddle the end.
        for id in 0..capacity + capacity / 2 {
            if ring.is_full() {
                drop(ring.try_pop().unwrap());
            }
            ring.try_push(DropCounter::new(id, &drops)).unwrap();
        }
        let before = drops.load(SeqCst);
        let left = ring.len();
        assert!(ring.close());
        // Pushes refused after close give the value back; it is dropped here.
        let refused = ring
            .try_push(DropCounter::new(999, &drops))
            .unwrap_err()
            .into_inner();
        drop(refused);
        assert_eq!(drops.load(SeqCst), before + 1);
        drop(ring);
        assert_eq!(drops.load(SeqCst), before + 1 + left);
        assert_eq!(drops.load(SeqCst), capacity + capacity / 2 + 1);
    }
}

#[test]
fn force_push_replacements_drop_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let ring = RingBuffer::new(3);
    let mut replaced = Vec::new();
    for id in 0..10 {
        if let Some(old) = ring.force_push(DropCounter::new(id, &drops)).unwrap() {
            replaced.push(old);
        }
    }
    assert_eq!(drops.load(SeqCst), 0, "nothing dropped while held");
    assert_eq!(
        replaced.iter().map(|d| d.id).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );
    drop(replaced);
    assert_eq!(drops.load(SeqCst), 7);
    assert_eq!(ring.try_pop().unwrap().id, 7);
    assert_eq!(drops.load(SeqCst), 8);
    ring.close();
    let refused = ring.force_push(DropCounter::new(10, &drops)).unwrap_err();
    assert_eq!(refused.id, 10);
    drop(refused);
    drop(ring);
    assert_eq!(drops.load(SeqCst), 11);
}

#[test]
fn concurrent_run_drops_every_element_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let total = scaled(20_000);
    let ring = RingBuffer::new(4);
    let created = thread::scope(|s| {
        let producer = s.spawn(|| {
            let mut created = 0;
            for id in 0..total {
                created += 1;
                // A value refused after close comes back and is dropped here.
                if ring.push(DropCounter::new(id, &drops)).is_err() {
                    break;
                }
            }
            created
        });
        s.spawn(|| {
            for _ in 0..total / 2 {
                drop(ring.pop());
            }
            ring.close();
        });
        producer.join().unwrap()
    });
    drop(ring);
    assert_eq!(drops.load(SeqCst), created);
}

// ---------------------------------------------------------------- blocking

#[test]
fn blocked_pop_is_woken_by_push() {
    let ring = RingBuffer::new(2);
    let barrier = Barrier::new(2);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            barrier.wait();
            ring.pop()
        });
        barrier.wait();
        ring.push(42).unwrap();
        assert_eq!(waiter.join().unwrap(), Some(42));
    });
}

#[test]
fn blocked_push_is_woken_by_pop() {
    let ring = RingBuffer::new(1);
    ring.push(1).unwrap();
    let barrier = Barrier::new(2);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            barrier.wait();
            ring.push(2)
        });
        barrier.wait();
        assert_eq!(ring.pop(), Some(1));
        assert_eq!(waiter.join().unwrap(), Ok(()));
    });
    assert_eq!(ring.try_pop(), Ok(2));
}

/// Closes the ring when dropped: a test thread that fails while another
/// is blocked in `push` or `pop` releases it this way, so the scope joins
/// and the failure is reported instead of hanging.
struct CloseOnExit<'a, T>(&'a RingBuffer<T>);

impl<T> Drop for CloseOnExit<'_, T> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A pop waiting on a ring large enough for a run wait takes a value that
/// arrives alone: no run of values comes, and the wait ends.
#[test]
fn a_lone_value_reaches_a_waiting_pop_on_a_large_ring() {
    let ring = RingBuffer::new(1024);
    let (sent, received) = mpsc::channel();
    thread::scope(|s| {
        let _release = CloseOnExit(&ring);
        s.spawn(|| {
            // The next value is pushed only once this one is back.
            for _ in 0..scaled(200) {
                sent.send(ring.pop()).unwrap();
            }
        });
        for round in 0..scaled(200) as u64 {
            ring.push(round).unwrap();
            let got = received
                .recv_timeout(Duration::from_secs(30))
                .expect("a pop never took a lone value");
            assert_eq!(got, Some(round));
        }
    });
}

/// A push waiting on a full ring large enough for a run wait takes a slot
/// freed alone: no run of room comes, and the wait ends.
#[test]
fn a_lone_free_slot_reaches_a_waiting_push_on_a_large_ring() {
    let capacity = 64;
    let ring = RingBuffer::new(capacity);
    for value in 0..capacity as u64 {
        ring.try_push(value).unwrap();
    }
    let (pushed, confirmed) = mpsc::channel();
    thread::scope(|s| {
        let _release = CloseOnExit(&ring);
        s.spawn(|| {
            for value in capacity as u64..capacity as u64 + scaled(100) as u64 {
                ring.push(value).unwrap();
                pushed.send(value).unwrap();
            }
        });
        for expected in 0..scaled(100) as u64 {
            // One slot freed at a time; the next only after the push into it.
            assert_eq!(ring.pop(), Some(expected));
            let value = confirmed
                .recv_timeout(Duration::from_secs(30))
                .expect("a push never took a lone free slot");
            assert_eq!(value, expected + capacity as u64);
        }
    });
    assert_eq!(ring.len(), capacity);
}

#[test]
fn blocked_pops_are_woken_by_close() {
    let ring = RingBuffer::<u32>::new(2);
    let waiters = 4;
    let barrier = Barrier::new(waiters + 1);
    thread::scope(|s| {
        let handles: Vec<_> = (0..waiters)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    ring.pop()
                })
            })
            .collect();
        barrier.wait();
        assert!(ring.close());
        for handle in handles {
            assert_eq!(handle.join().unwrap(), None);
        }
    });
}

#[test]
fn blocked_pushes_are_woken_by_close() {
    let ring = RingBuffer::new(1);
    ring.push(0).unwrap();
    let waiters = 4;
    let barrier = Barrier::new(waiters + 1);
    thread::scope(|s| {
        let handles: Vec<_> = (1..=waiters)
            .map(|value| {
                let (ring, barrier) = (&ring, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    ring.push(value)
                })
            })
            .collect();
        barrier.wait();
        assert!(ring.close());
        for (value, handle) in (1..=waiters).zip(handles) {
            assert_eq!(handle.join().unwrap(), Err(PushError::Closed(value)));
        }
    });
    // The element pushed before close is still drained.
    assert_eq!(ring.pop(), Some(0));
    assert_eq!(ring.pop(), None);
}

#[test]
fn timed_waits_are_woken_by_events_and_close() {
    let long = Duration::from_secs(60);
    let ring = RingBuffer::new(1);
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            tx.send(()).unwrap();
            let first = ring.pop_timeout(long);
            tx.send(()).unwrap();
            let second = ring.pop_timeout(long);
            (first, second)
        });
        rx.recv().unwrap();
        ring.push_timeout(7, long).unwrap();
        rx.recv().unwrap();
        ring.close();
        assert_eq!(waiter.join().unwrap(), (Ok(7), Err(PopError::Closed)));
    });

    let ring = RingBuffer::new(1);
    ring.push(1).unwrap();
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            tx.send(()).unwrap();
            let first = ring.push_timeout(2, long);
            tx.send(()).unwrap();
            let second = ring.push_timeout(3, long);
            (first, second)
        });
        rx.recv().unwrap();
        assert_eq!(ring.pop_timeout(long), Ok(1));
        rx.recv().unwrap();
        ring.close();
        assert_eq!(waiter.join().unwrap(), (Ok(()), Err(PushError::Closed(3))));
    });
}

#[test]
fn timeouts_return_after_their_duration() {
    let ring = RingBuffer::new(1);
    for timeout in [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_millis(20),
    ] {
        let start = Instant::now();
        assert_eq!(ring.pop_timeout(timeout), Err(PopError::Empty));
        assert!(start.elapsed() >= timeout, "pop_timeout returned early");
    }
    ring.push('x').unwrap();
    for timeout in [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_millis(20),
    ] {
        let start = Instant::now();
        assert_eq!(ring.push_timeout('y', timeout), Err(PushError::Full('y')));
        assert!(start.elapsed() >= timeout, "push_timeout returned early");
    }
}

#[test]
fn overflowing_timeout_means_no_deadline() {
    let ring = RingBuffer::new(1);
    thread::scope(|s| {
        let waiter = s.spawn(|| ring.pop_timeout(Duration::MAX));
        ring.push(3).unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(3));
    });
    thread::scope(|s| {
        s.spawn(|| ring.close());
        assert_eq!(ring.pop_timeout(Duration::MAX), Err(PopError::Closed));
    });
}

/// Many waiters on both sides with short timeouts racing the wake-ups: a
/// waiter that times out after being notified passes the wake-up on, so no
/// item is lost and no waiter strands (the run would then stall).
#[test]
fn timeouts_racing_wakeups_lose_nothing() {
    let (producers, consumers, per_producer) = (3, 3, scaled(4_000));
    let ring = RingBuffer::new(1);
    let mut received: Vec<u64> = thread::scope(|s| {
        let pushers: Vec<_> = (0..producers)
            .map(|producer| {
                let ring = &ring;
                s.spawn(move || {
                    for seq in 0..per_producer {
                        let mut item = support::encode(producer, seq);
                        while let Err(err) = ring.push_timeout(item, Duration::from_micros(50)) {
                            assert!(err.is_full(), "not closed yet");
                            item = err.into_inner();
                        }
                    }
                })
            })
            .collect();
        let poppers: Vec<_> = (0..consumers)
            .map(|_| {
                let ring = &ring;
                s.spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match ring.pop_timeout(Duration::from_micros(50)) {
                            Ok(item) => got.push(item),
                            Err(PopError::Closed) => return got,
                            Err(PopError::Empty) => {}
                        }
                    }
                })
            })
            .collect();
        for pusher in pushers {
            pusher.join().unwrap();
        }
        ring.close();
        poppers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    received.sort_unstable();
    let mut expected: Vec<u64> = (0..producers)
        .flat_map(|p| (0..per_producer).map(move |q| support::encode(p, q)))
        .collect();
    expected.sort_unstable();
    assert_eq!(received, expected);
}

// ---------------------------------------------------------------- capacities

#[test]
fn try_new_rejects_zero() {
    assert_eq!(
        RingBuffer::<u64>::try_new(0).unwrap_err(),
        CapacityError::Zero
    );
}

#[test]
fn try_new_rejects_too_large() {
    let max = RingBuffer::<u64>::MAX_CAPACITY;
    assert_eq!(
        RingBuffer::<u64>::try_new(usize::MAX).unwrap_err(),
        CapacityError::TooLarge {
            requested: usize::MAX,
            max
        }
    );
    assert_eq!(
        RingBuffer::<u64>::try_new(max + 1).unwrap_err(),
        CapacityError::TooLarge {
            requested: max + 1,
            max
        }
    );
    // Zero-sized elements are bounded by the stamps' memory too.
    assert!(RingBuffer::<()>::try_new(usize::MAX).is_err());
    assert!(RingBuffer::<()>::MAX_CAPACITY <= isize::MAX as usize / size_of::<usize>());
}

#[test]
#[cfg_attr(miri, ignore)] // Miri reports huge allocations as errors of its own.
fn try_new_reports_allocation_failure_as_error() {
    // 2^40 slots of 1 MiB each: within MAX_CAPACITY, but 2^60 bytes.
    let requested = 1usize << 40;
    let max = RingBuffer::<[u8; 1 << 20]>::MAX_CAPACITY;
    assert!(requested <= max);
    assert_eq!(
        RingBuffer::<[u8; 1 << 20]>::try_new(requested).unwrap_err(),
        CapacityError::TooLarge { requested, max }
    );
}

#[test]
#[should_panic(expected = "RingBuffer::new(0): ring buffer capacity must be at least 1")]
fn new_panics_on_zero() {
    let _ = RingBuffer::<u8>::new(0);
}

#[test]
#[should_panic(expected = "is too large (the maximum for this element type is")]
fn new_panics_on_too_large() {
    let _ = RingBuffer::<u64>::new(usize::MAX);
}

// ---------------------------------------------------------------- edges

#[test]
fn zero_sized_payload() {
    let ring = RingBuffer::new(3);
    for _ in 0..3 {
        ring.try_push(()).unwrap();
    }
    assert!(ring.is_full());
    assert_eq!(ring.try_push(()), Err(PushError::Full(())));
    assert_eq!(ring.force_push(()), Ok(Some(())));
    assert_eq!(ring.len(), 3);
    for _ in 0..3 {
        ring.try_pop().unwrap();
    }
    assert_eq!(ring.try_pop(), Err(PopError::Empty));

    let drops = Arc::new(AtomicUsize::new(0));
    struct Zst<'a>(&'a AtomicUsize);
    impl Drop for Zst<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let ring = RingBuffer::new(2);
    ring.try_push(Zst(&drops)).unwrap();
    ring.try_push(Zst(&drops)).unwrap();
    drop(ring);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn capacity_one_edges() {
    let ring = RingBuffer::new(1);
    assert!(ring.is_empty() && !ring.is_full());
    ring.try_push(1).unwrap();
    assert!(ring.is_full() && !ring.is_empty());
    assert_eq!(ring.len(), 1);
    assert_eq!(ring.try_push(2), Err(PushError::Full(2)));
    assert_eq!(ring.force_push(3), Ok(Some(1)));
    assert_eq!(ring.force_push(4), Ok(Some(3)));
    assert_eq!(ring.try_pop(), Ok(4));
    assert_eq!(ring.try_pop(), Err(PopError::Empty));
    assert_eq!(ring.force_push(5), Ok(None));
    ring.close();
    assert_eq!(ring.try_push(6), Err(PushError::Closed(6)));
    assert_eq!(ring.force_push(7), Err(7));
    assert_eq!(ring.len(), 1);
    assert!(ring.is_full());
    assert_eq!(ring.try_pop(), Ok(5));
    assert_eq!(ring.try_pop(), Err(PopError::Closed));
    assert_eq!(ring.pop(), None);
}

#[test]
fn close_is_idempotent_and_drains() {
    let ring = RingBuffer::new(3);
    ring.try_push(1).unwrap();
    ring.try_push(2).unwrap();
    assert!(ring.close());
    assert!(!ring.close());
    assert!(ring.is_closed());
    assert_eq!(ring.len(), 2);
    assert_eq!(ring.try_pop(), Ok(1));
    assert_eq!(ring.pop(), Some(2));
    assert_eq!(ring.try_pop(), Err(PopError::Closed));
    assert_eq!(
        ring.pop_timeout(Duration::from_millis(1)),
        Err(PopError::Closed)
    );
    assert_eq!(ring.push(3), Err(PushError::Closed(3)));
    assert_eq!(
        ring.push_timeout(4, Duration::from_millis(1)),
        Err(PushError::Closed(4))
    );
}

/// A pop that finds the head at its own thread's last push tries its
/// compare-and-swap on the word that push wrote, without loading the slot
/// (`try_pop`; "Cost and sizes" on `RingBuffer`). A `close` that marks that
/// slot (the buffer is full, so the tail's slot is the head's) changes the
/// word under it: the pop must still take the value, then report `Closed`.
/// With capacity 1 the push is the only value; with capacity 2 another
/// thread fills the second place.
#[test]
fn a_pop_after_its_own_push_takes_the_value_a_close_marked() {
    let ring = RingBuffer::new(1);
    ring.try_push(1).unwrap();
    assert!(ring.close());
    assert_eq!(ring.try_pop(), Ok(1));
    assert_eq!(ring.try_pop(), Err(PopError::Closed));

    let ring = RingBuffer::new(2);
    ring.try_push(1).unwrap();
    thread::scope(|scope| {
        scope.spawn(|| ring.try_push(2).unwrap());
    });
    assert!(ring.is_full());
    assert!(ring.close());
    assert_eq!(ring.try_pop(), Ok(1));
    assert_eq!(ring.try_pop(), Ok(2));
    assert_eq!(ring.try_pop(), Err(PopError::Closed));
}

#[test]
fn debug_does_not_need_debug_payload() {
    struct Opaque;
    let ring = RingBuffer::new(2);
    ring.try_push(Opaque).unwrap();
    assert_eq!(
        format!("{ring:?}"),
        "RingBuffer { capacity: 2, len: 1, closed: false, .. }"
    );
    ring.close();
    assert_eq!(
        format!("{ring:?}"),
        "RingBuffer { capacity: 2, len: 1, closed: true, .. }"
    );
}

#[test]
fn is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RingBuffer<u64>>();
    // `T: Send` suffices: values are moved, never shared.
    assert_send_sync::<RingBuffer<core::cell::Cell<u64>>>();
    assert_send_sync::<RingBuffer<DropCounter>>();
}

/// A thread remembers where it keeps its spare of the last ring it used
/// (`cells.rs`, `last_spare`): switching between rings at random, with
/// values live in each, and rings dropped and others made in their place
/// (perhaps at the same addresses), each ring must find its own spare. A
/// spare of one ring used in another would overwrite a live value there.
/// Under Miri this also checks that no stale entry is ever followed.
#[test]
fn a_thread_switching_rings_uses_each_rings_own_spare() {
    let mut rng = StdRng::seed_from_u64(0x5a1e);
    for generation in 0..scaled(200) {
        let rings: Vec<RingBuffer<usize>> = [2, 5, 9].into_iter().map(RingBuffer::new).collect();
        let mut models: Vec<VecDeque<usize>> = vec![VecDeque::new(); rings.len()];
        for step in 0..scaled(2_000) {
            let which = rng.random_range(0..rings.len());
            let (ring, model) = (&rings[which], &mut models[which]);
            if rng.random_bool(0.55) {
                let value = generation * 1_000_000 + step;
                match ring.try_push(value) {
                    Ok(()) => model.push_back(value),
                    Err(PushError::Full(_)) => assert_eq!(model.len(), ring.capacity()),
                    Err(other) => panic!("unexpected {other:?}"),
                }
            } else {
                assert_eq!(
                    ring.try_pop().ok(),
                    model.pop_front(),
                    "ring {which}, step {step}"
                );
            }
        }
        // Dropped holding values; the next generation may reuse the memory.
    }
}
