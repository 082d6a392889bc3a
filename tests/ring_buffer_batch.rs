//! Tests of `RingBuffer::try_push_many` / `try_pop_many`: a sequential
//! model against `VecDeque` (single and batch operations mixed), MPMC
//! conservation mixing single and batch operations with FIFO per producer,
//! drop accounting and close part-way (`force_push` in the model test).

mod support;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use freelane::{PopError, PushError, RingBuffer};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use support::{DropCounter, check_mpmc_conservation, decode, scaled};

/// Random single and batch operations on a ring of `capacity` and on a
/// `VecDeque` model, every result compared; closes at a random step.
fn run_model(capacity: usize, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let ring = RingBuffer::new(capacity);
    let mut model: VecDeque<u64> = VecDeque::new();
    let close_at = rng.random_range(0..steps * 2);
    let mut closed = false;
    let mut next = 0u64;
    for step in 0..steps {
        if step == close_at {
            assert!(ring.close());
            closed = true;
        }
        match rng.random_range(0..5) {
            0 => {
                next += 1;
                let expected = if closed {
                    Err(PushError::Closed(next))
                } else if model.len() == capacity {
                    Err(PushError::Full(next))
                } else {
                    model.push_back(next);
                    Ok(())
                };
                assert_eq!(ring.try_push(next), expected);
            }
            1 => {
                let expected = match model.pop_front() {
                    Some(value) => Ok(value),
                    None if closed => Err(PopError::Closed),
                    None => Err(PopError::Empty),
                };
                assert_eq!(ring.try_pop(), expected);
            }
            2 => {
                let size = rng.random_range(0..=capacity * 2 + 1);
                let mut items: Vec<u64> = (0..size as u64).map(|i| next + 1 + i).collect();
                next += size as u64;
                let before = items.clone();
                let fit = if closed {
                    0
                } else {
                    size.min(capacity - model.len())
                };
                assert_eq!(ring.try_push_many(&mut items), fit, "step {step}");
                model.extend(&before[..fit]);
                assert_eq!(items, before[fit..], "the rest stay, in order");
            }
            3 => {
                let max = rng.random_range(0..=capacity * 2 + 1);
                let mut out = vec![u64::MAX];
                let count = max.min(model.len());
                assert_eq!(ring.try_pop_many(&mut out, max), count, "step {step}");
                let expected: Vec<u64> = std::iter::once(u64::MAX)
                    .chain(model.drain(..count))
                    .collect();
                assert_eq!(out, expected);
            }
            _ => {
                next += 1;
                let expected = if closed {
                    Err(next)
                } else if model.len() == capacity {
                    let old = model.pop_front();
                    model.push_back(next);
                    Ok(old)
                } else {
                    model.push_back(next);
                    Ok(None)
                };
                assert_eq!(ring.force_push(next), expected);
            }
        }
        assert_eq!(ring.len(), model.len());
    }
}

#[test]
fn batches_match_a_vecdeque_model() {
    // Under Miri, one capacity of each kind (one slot, odd, a power of two,
    // strided).
    let capacities: &[usize] = if cfg!(miri) {
        &[1, 3, 8, 97]
    } else {
        &[1, 2, 3, 5, 7, 8, 16, 64, 97]
    };
    for (index, &capacity) in capacities.iter().enumerate() {
        for seed in 0..scaled(20) as u64 {
            run_model(capacity, seed * 31 + index as u64, scaled(2_000));
        }
    }
}

#[test]
fn batches_conserve_and_keep_producer_order() {
    let cases: &[(usize, usize, usize)] = if cfg!(miri) {
        &[(1, 2, 2), (100, 2, 3)]
    } else {
        &[(1, 2, 2), (7, 2, 2), (32, 3, 2), (100, 2, 3)]
    };
    for &(capacity, producers, consumers) in cases {
        let ring = RingBuffer::new(capacity);
        let per_producer = scaled(20_000);
        thread_local! {
            static PENDING: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
            static READY: std::cell::RefCell<VecDeque<u64>> = const { std::cell::RefCell::new(VecDeque::new()) };
        }
        check_mpmc_conservation(
            producers,
            consumers,
            per_producer,
            |item| {
                let (producer, seq) = decode(item);
                if producer == 0 {
                    // Producer 0 pushes one by one; the others in batches.
                    while ring.try_push(item).is_err() {
                        thread::yield_now();
                    }
                    return;
                }
                PENDING.with(|pending| {
                    let mut pending = pending.borrow_mut();
                    pending.push(item);
                    if pending.len() == 1 + seq % 9 || seq + 1 == per_producer {
                        while !pending.is_empty() {
                            if ring.try_push_many(&mut pending) == 0 {
                                thread::yield_now();
                            }
                        }
                    }
                });
            },
            || {
                READY.with(|ready| {
                    let mut ready = ready.borrow_mut();
                    if let Some(item) = ready.pop_front() {
                        return Some(item);
                    }
                    let mut out = Vec::new();
                    if ring.try_pop_many(&mut out, 5) == 0 {
                        return ring.try_pop().ok();
                    }
                    ready.extend(out);
                    ready.pop_front()
                })
            },
        );
        assert!(ring.is_empty());
    }
}

#[test]
fn values_left_in_the_vec_and_in_the_ring_are_dropped_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let ring = RingBuffer::new(5);
        // Wrap around first.
        let mut items: Vec<_> = (0..3).map(|id| DropCounter::new(id, &drops)).collect();
        assert_eq!(ring.try_push_many(&mut items), 3);
        let mut out = Vec::new();
        assert_eq!(ring.try_pop_many(&mut out, 2), 2);
        drop(out);
        assert_eq!(drops.load(SeqCst), 2);
        let mut items: Vec<_> = (3..10).map(|id| DropCounter::new(id, &drops)).collect();
        assert_eq!(ring.try_push_many(&mut items), 4);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].id, 7);
        drop(items);
        assert_eq!(drops.load(SeqCst), 5);
    }
    assert_eq!(
        drops.load(SeqCst),
        10,
        "the ring dropped its 5 exactly once"
    );
}

#[test]
fn a_closed_ring_takes_nothing_and_drains() {
    let ring = RingBuffer::new(4);
    let mut items = vec![1, 2, 3];
    assert_eq!(ring.try_push_many(&mut items), 3);
    ring.close();
    let mut rest = vec![4, 5];
    assert_eq!(ring.try_push_many(&mut rest), 0);
    assert_eq!(rest, [4, 5]);
    let mut out = Vec::new();
    assert_eq!(ring.try_pop_many(&mut out, 2), 2);
    assert_eq!(ring.try_pop_many(&mut out, 2), 1);
    assert_eq!(ring.try_pop_many(&mut out, 2), 0);
    assert_eq!(out, [1, 2, 3]);
    assert_eq!(ring.try_pop(), Err(PopError::Closed));
}

/// A producer pushes batches while another thread closes the ring: what
/// went in plus what stayed in the Vec is everything, in order.
#[test]
fn close_part_way_loses_nothing() {
    for round in 0..scaled(200) {
        let ring = RingBuffer::new(8);
        let total = 64u64;
        let (pushed, left) = thread::scope(|scope| {
            let producer = scope.spawn(|| {
                let mut items: Vec<u64> = (0..total).collect();
                let mut pushed = Vec::new();
                while !items.is_empty() && !ring.is_closed() {
                    ring.try_push_many(&mut items);
                    ring.try_pop_many(&mut pushed, 3);
                }
                (pushed, items)
            });
            for _ in 0..round % 50 {
                std::hint::spin_loop();
            }
            ring.close();
            producer.join().unwrap()
        });
        let mut all = pushed;
        ring.try_pop_many(&mut all, usize::MAX);
        all.extend(left);
        assert_eq!(all, (0..total).collect::<Vec<_>>());
    }
}
