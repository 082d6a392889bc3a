//! `SegmentedQueue`: sequential behaviour against a `VecDeque` model (single
//! and batch operations, plain and through a handle), MPMC conservation with
//! FIFO per producer at 2/2, 4/4, 8/8, 1/7 and 7/1 (single and batch),
//! segment boundaries, drop accounting (counted, zero-sized, boxed), `len`
//! under concurrency and the auto traits. Memory reclamation during use is
//! checked in `tests/segmented_queue_memory.rs`, linearizability in
//! `tests/segmented_queue_linearizability.rs`.

extern crate alloc;

mod support;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::any::Any;
use core::cell::Cell;
use core::iter;
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use freelane::{SegmentedQueue, SegmentedQueueHandle};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use support::DropCounter;
use support::unbounded;

const SEGMENT: usize = SegmentedQueue::<u8>::SEGMENT_LEN;

#[test]
fn smoke_fifo() {
    unbounded::smoke_fifo::<SegmentedQueue<_>>();
}

#[test]
fn default_is_empty() {
    let queue: SegmentedQueue<String> = SegmentedQueue::default();
    assert!(queue.is_empty());
    assert_eq!(queue.len(), 0);
}

#[test]
fn debug_shows_len_without_t_debug() {
    struct Opaque;
    let queue = SegmentedQueue::new();
    queue.push(Opaque);
    queue.push(Opaque);
    assert_eq!(format!("{queue:?}"), "SegmentedQueue { len: 2, .. }");
    assert_eq!(
        format!("{:?}", queue.handle()),
        "SegmentedQueueHandle { len: 2, .. }"
    );
}

/// Crosses many segment boundaries one element at a time, with `len` and
/// `is_empty` checked at every step, in both directions.
#[test]
fn crosses_segment_boundaries() {
    let queue = SegmentedQueue::new();
    let total = 3 * SEGMENT + 5;
    for i in 0..total {
        assert_eq!(queue.len(), i);
        queue.push(i);
    }
    for i in 0..total {
        assert_eq!(queue.len(), total - i);
        assert!(!queue.is_empty());
        assert_eq!(queue.pop(), Some(i));
    }
    assert!(queue.is_empty());
    assert_eq!(queue.pop(), None);
    // The queue keeps working after draining past several boundaries.
    queue.push(total);
    assert_eq!(queue.pop(), Some(total));
}

/// A batch larger than a segment, pushed onto a partly filled segment and
/// popped in odd-sized runs: order kept, nothing lost.
#[test]
fn batches_span_segments_in_order() {
    let queue = SegmentedQueue::new();
    queue.push(0usize);
    let mut batch: Vec<usize> = (1..=2 * SEGMENT + 3).collect();
    let capacity = batch.capacity();
    queue.push_many(&mut batch);
    assert!(batch.is_empty());
    assert_eq!(batch.capacity(), capacity, "push_many keeps the capacity");
    assert_eq!(queue.len(), 2 * SEGMENT + 4);
    let mut out = Vec::new();
    while queue.pop_many(&mut out, 7) > 0 {}
    assert_eq!(out, (0..=2 * SEGMENT + 3).collect::<Vec<_>>());
    assert_eq!(queue.pop_many(&mut out, 7), 0);
    assert_eq!(queue.pop_many(&mut out, 0), 0);
    queue.push_many(&mut Vec::new());
    assert!(queue.is_empty());
}

/// One step of the sequential model test.
fn model_step(
    rng: &mut StdRng,
    queue: &SegmentedQueue<u32>,
    handle: &SegmentedQueueHandle<'_, u32>,
    model: &mut VecDeque<u32>,
    step: usize,
) {
    let via_handle = rng.random_bool(0.3);
    match rng.random_range(0..12) {
        0..=3 => {
            let value = rng.random_range(0..u32::MAX);
            if via_handle {
                handle.push(value);
            } else {
                queue.push(value);
            }
            model.push_back(value);
        }
        4..=6 => {
            let got = if via_handle {
                handle.pop()
            } else {
                queue.pop()
            };
            assert_eq!(got, model.pop_front(), "pop at step {step}");
        }
        7 => {
            assert_eq!(queue.len(), model.len(), "len at step {step}");
            assert_eq!(handle.len(), model.len(), "handle len at step {step}");
            assert_eq!(queue.is_empty(), model.is_empty(), "is_empty at {step}");
            assert_eq!(handle.is_empty(), model.is_empty(), "handle is_empty");
        }
        8 => {
            let mut batch: Vec<u32> = (0..rng.random_range(0..40))
                .map(|_| rng.random_range(0..u32::MAX))
                .collect();
            model.extend(batch.iter().copied());
            if via_handle {
                handle.push_many(&mut batch);
            } else {
                queue.push_many(&mut batch);
            }
            assert!(batch.is_empty(), "push_many left values at step {step}");
        }
        9 => {
            let max = rng.random_range(0..40);
            let mut out = vec![7];
            let got = if via_handle {
                handle.pop_many(&mut out, max)
            } else {
                queue.pop_many(&mut out, max)
            };
            let expected: Vec<u32> = model.drain(..max.min(model.len())).collect();
            assert_eq!(got, expected.len(), "pop_many count at step {step}");
            assert_eq!(out[0], 7, "pop_many appends");
            assert_eq!(out[1..], expected[..], "pop_many values at step {step}");
        }
        _ => {
            for _ in 0..rng.random_range(1..8) {
                assert_eq!(queue.pop(), model.pop_front(), "drain at step {step}");
            }
        }
    }
}

#[test]
fn sequential_matches_vecdeque_model() {
    let seeds: &[u64] = if cfg!(miri) {
        &[0, 0x5eed]
    } else {
        &[0, 1, 2, 0x5eed, 0xdead_beef]
    };
    for &seed in seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let queue = SegmentedQueue::new();
        let handle = queue.handle();
        let mut model = VecDeque::new();
        for step in 0..support::scaled(20_000) {
            model_step(&mut rng, &queue, &handle, &mut model, step);
        }
        assert_eq!(queue.len(), model.len(), "final len, seed {seed}");
        let rest: Vec<u32> = iter::from_fn(|| queue.pop()).collect();
        assert_eq!(rest, Vec::from(model), "final contents, seed {seed}");
    }
}

fn conservation(producers: usize, consumers: usize, total: usize) {
    let per_producer = support::scaled(total / producers);
    unbounded::mpmc_conservation::<SegmentedQueue<_>>(producers, consumers, per_producer);
}

#[test]
fn mpmc_conservation_2x2() {
    conservation(2, 2, 100_000);
}

#[test]
fn mpmc_conservation_4x4() {
    conservation(4, 4, 100_000);
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "16 threads cost ~15 s under Miri; 2x2 and 4x4 run"
)]
fn mpmc_conservation_8x8() {
    conservation(8, 8, 100_000);
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "8 threads cost ~10 s under Miri; 2x2 and 4x4 run"
)]
fn mpmc_conservation_1x7() {
    conservation(1, 7, 100_000);
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "8 threads cost ~10 s under Miri; 2x2 and 4x4 run"
)]
fn mpmc_conservation_7x1() {
    conservation(7, 1, 100_000);
}

/// The same harness with batches: each push is buffered per producer thread
/// and sent with `push_many` every few items (and at the end); pops come
/// through `pop_many` into a per-thread buffer. FIFO per producer must hold
/// through both.
fn batch_conservation(producers: usize, consumers: usize, total: usize) {
    thread_local! {
        static PUSH_BUFFER: core::cell::RefCell<Vec<u64>> = const { core::cell::RefCell::new(Vec::new()) };
        static POP_BUFFER: core::cell::RefCell<VecDeque<u64>> = const { core::cell::RefCell::new(VecDeque::new()) };
    }
    let per_producer = support::scaled(total / producers);
    let queue = SegmentedQueue::new();
    support::check_mpmc_conservation(
        producers,
        consumers,
        per_producer,
        |item| {
            PUSH_BUFFER.with_borrow_mut(|buffer| {
                buffer.push(item);
                let seq = support::decode(item).1;
                if buffer.len() == 13 || seq + 1 == per_producer {
                    queue.push_many(buffer);
                }
            });
        },
        || {
            POP_BUFFER.with_borrow_mut(|buffer| {
                if buffer.is_empty() {
                    let mut out = Vec::new();
                    queue.pop_many(&mut out, 11);
                    buffer.extend(out);
                }
                buffer.pop_front()
            })
        },
    );
    assert!(queue.is_empty());
}

#[test]
fn batch_conservation_2x2() {
    batch_conservation(2, 2, 100_000);
}

#[test]
fn batch_conservation_4x4() {
    batch_conservation(4, 4, 100_000);
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "8 threads cost ~10 s under Miri; 2x2 and 4x4 run"
)]
fn batch_conservation_1x7() {
    batch_conservation(1, 7, 70_000);
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "8 threads cost ~10 s under Miri; 2x2 and 4x4 run"
)]
fn batch_conservation_7x1() {
    batch_conservation(7, 1, 70_000);
}

/// Every thread works through its own handle, mixing single and batch
/// operations; each value arrives exactly once.
#[test]
fn handles_on_many_threads_conserve_values() {
    const THREADS: usize = 4;
    let per_thread = support::scaled(10_000);
    let queue = SegmentedQueue::new();
    let popped: Vec<Vec<usize>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread_id| {
                let queue = &queue;
                scope.spawn(move || {
                    let handle = queue.handle();
                    let mut got = Vec::new();
                    let mut batch = Vec::new();
                    for i in 0..per_thread {
                        let value = thread_id * per_thread + i;
                        if i % 5 == 0 {
                            batch.push(value);
                            handle.push_many(&mut batch);
                        } else {
                            handle.push(value);
                        }
                        match i % 4 {
                            0 => got.extend(handle.pop()),
                            1 => {
                                handle.pop_many(&mut got, 3);
                            }
                            _ => {}
                        }
                    }
                    got
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });
    let mut all: Vec<usize> = popped.into_iter().flatten().collect();
    let handle = queue.handle();
    all.extend(iter::from_fn(|| handle.pop()));
    all.sort_unstable();
    assert_eq!(all, (0..THREADS * per_thread).collect::<Vec<_>>());
}

/// Many poppers racing a slow trickle of pushes claim slots before their
/// pushers write them, poisoning some: nothing may be lost or duplicated.
#[test]
fn poppers_outrunning_pushers_lose_nothing() {
    let per_producer = support::scaled(20_000);
    let queue = SegmentedQueue::new();
    support::check_mpmc_conservation(
        2,
        6,
        per_producer,
        |item| {
            queue.push(item);
            if item % 64 == 0 {
                thread::yield_now();
            }
        },
        || queue.pop(),
    );
    assert!(queue.is_empty());
    assert_eq!(queue.len(), 0);
}

/// `len` read while pushes and pops race must stay within what was pushed:
/// an underflow of the position difference would show as a huge number.
#[test]
fn len_under_concurrency_is_never_garbage() {
    let total = support::scaled(100_000);
    unbounded::len_under_concurrency::<SegmentedQueue<_>, _>(total, |len| {
        assert!(len <= total, "len {len} exceeds the {total} values pushed");
    });
}

#[test]
fn drop_drops_remaining_elements_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = SegmentedQueue::new();
    let total = 2 * SEGMENT + 10;
    for id in 0..total {
        queue.push(DropCounter::new(id, &drops));
    }
    let popped = SEGMENT + 3;
    for id in 0..popped {
        let value = queue.pop().unwrap();
        assert_eq!(value.id, id);
        drop(value);
    }
    assert_eq!(drops.load(SeqCst), popped, "only popped values dropped yet");
    drop(queue);
    assert_eq!(drops.load(SeqCst), total);
}

#[test]
fn dropping_an_empty_or_drained_queue_drops_nothing_more() {
    let drops = Arc::new(AtomicUsize::new(0));
    drop(SegmentedQueue::<DropCounter>::new());
    let queue = SegmentedQueue::new();
    queue.push(DropCounter::new(0, &drops));
    drop(queue.pop());
    // A pop on the empty queue, then one past a boundary.
    assert!(queue.pop().is_none());
    assert_eq!(drops.load(SeqCst), 1);
    drop(queue);
    assert_eq!(drops.load(SeqCst), 1, "a taken value must not drop again");
}

#[test]
fn drop_after_concurrent_use_drops_each_element_once() {
    unbounded::drop_after_concurrent_use_drops_each_element_once::<SegmentedQueue<_>>();
}

#[test]
fn zero_sized_values() {
    static ZST_DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Zst;
    impl Drop for Zst {
        fn drop(&mut self) {
            ZST_DROPS.fetch_add(1, SeqCst);
        }
    }
    assert_eq!(size_of::<Zst>(), 0);

    unbounded::unit_values::<SegmentedQueue<_>>(SEGMENT + 10);

    let queue = SegmentedQueue::new();
    let mut batch: Vec<Zst> = (0..SEGMENT + 8).map(|_| Zst).collect();
    queue.push_many(&mut batch);
    drop(queue.pop());
    let mut out = Vec::new();
    assert_eq!(queue.pop_many(&mut out, 3), 3);
    drop(out);
    assert_eq!(ZST_DROPS.load(SeqCst), 4);
    drop(queue);
    assert_eq!(ZST_DROPS.load(SeqCst), SEGMENT + 8);
}

#[test]
fn boxed_values_are_dropped_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = SegmentedQueue::new();
    for id in 0..SEGMENT + 20 {
        queue.push(Box::new(DropCounter::new(id, &drops)));
    }
    for id in 0..15 {
        assert_eq!(queue.pop().unwrap().id, id);
    }
    let mut out = Vec::new();
    queue.pop_many(&mut out, 10);
    assert_eq!(
        out.iter().map(|boxed| boxed.id).collect::<Vec<_>>(),
        (15..25).collect::<Vec<_>>()
    );
    drop(out);
    assert_eq!(drops.load(SeqCst), 25);
    drop(queue);
    assert_eq!(drops.load(SeqCst), SEGMENT + 20);
}

/// 4 KiB inline, no `Box`: segments are built in place on the heap, so a
/// segment of these (4 MiB at 1024 slots) never passes through a stack.
struct Large {
    bytes: [u8; 4096],
}

fn push_pop_large() {
    let queue = SegmentedQueue::new();
    for tag in 0..4u8 {
        let mut large = Large { bytes: [tag; 4096] };
        large.bytes[4095] = tag.wrapping_add(100);
        queue.push(large);
    }
    for tag in 0..4u8 {
        let large = queue.pop().unwrap();
        assert_eq!(large.bytes[0], tag);
        assert_eq!(large.bytes[4095], tag.wrapping_add(100));
    }
    queue.push(Large { bytes: [1; 4096] });
}

#[test]
fn large_payload_on_a_default_stack_thread() {
    thread::spawn(push_pop_large).join().unwrap();
}

/// Under `std`, handles register with the default collector, so plain calls
/// and handle calls mix on one queue.
#[test]
fn handle_path_mixes_with_plain_calls() {
    let queue = SegmentedQueue::new();
    let handle = queue.handle();
    handle.push(1);
    queue.push(2);
    assert_eq!(queue.pop(), Some(1));
    assert_eq!(handle.pop(), Some(2));
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SegmentedQueue<u8>>();
    send_sync::<SegmentedQueue<Box<dyn Any + Send>>>();
    // `Cell` is Send but not Sync: the queue only moves values, so it is
    // still Sync.
    send_sync::<SegmentedQueue<Cell<u8>>>();
}

/// A value pushed from one thread is fully visible to the thread that pops
/// it (the push happens-before the pop).
#[test]
fn push_happens_before_pop() {
    let queue = SegmentedQueue::new();
    let rounds = support::scaled(10_000);
    thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..rounds {
                queue.push(vec![i; 8]);
            }
        });
        scope.spawn(|| {
            let mut next = 0;
            while next < rounds {
                if let Some(values) = queue.pop() {
                    assert_eq!(values, vec![next; 8]);
                    next += 1;
                }
            }
        });
    });
}
