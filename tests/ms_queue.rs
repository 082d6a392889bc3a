//! `MsQueue`: sequential behaviour against a `VecDeque` model, MPMC
//! conservation, drop accounting, odd payload sizes, the handle path and the
//! auto traits. Memory reclamation during use is checked in
//! `tests/ms_queue_memory.rs` (it needs its own global allocator).

extern crate alloc;

mod support;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::any::Any;
use core::cell::Cell;
use core::iter;
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use freelane::{MsQueue, MsQueueHandle};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use support::DropCounter;
use support::unbounded;

#[test]
fn smoke_fifo() {
    unbounded::smoke_fifo::<MsQueue<_>>();
}

#[test]
fn default_is_empty() {
    let queue: MsQueue<String> = MsQueue::default();
    assert!(queue.is_empty());
    assert_eq!(queue.len(), 0);
}

#[test]
fn debug_shows_len_without_t_debug() {
    struct Opaque;
    let queue = MsQueue::new();
    queue.push(Opaque);
    queue.push(Opaque);
    assert_eq!(format!("{queue:?}"), "MsQueue { len: 2, .. }");
    assert_eq!(
        format!("{:?}", queue.handle()),
        "MsQueueHandle { len: 2, .. }"
    );
}

/// One step of the sequential model test.
fn model_step(
    rng: &mut StdRng,
    queue: &MsQueue<u32>,
    handle: &MsQueueHandle<'_, u32>,
    model: &mut VecDeque<u32>,
    step: usize,
) {
    // Pushes slightly more likely than pops, so the queue grows and shrinks.
    let via_handle = rng.random_bool(0.3);
    match rng.random_range(0..10) {
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
        }
        8 => {
            assert_eq!(
                queue.is_empty(),
                model.is_empty(),
                "is_empty at step {step}"
            );
            assert_eq!(
                handle.is_empty(),
                model.is_empty(),
                "handle is_empty at step {step}"
            );
        }
        _ => {
            // Drain a few in a row, which often empties the queue.
            for _ in 0..rng.random_range(1..8) {
                assert_eq!(queue.pop(), model.pop_front(), "drain at step {step}");
            }
        }
    }
}

#[test]
fn sequential_matches_vecdeque_model() {
    for seed in [0, 1, 2, 0x5eed, 0xdead_beef] {
        let mut rng = StdRng::seed_from_u64(seed);
        let queue = MsQueue::new();
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

#[test]
fn mpmc_conservation_2x2() {
    unbounded::mpmc_conservation::<MsQueue<_>>(2, 2, support::scaled(50_000));
}

/// `shrink_to_fit` detaches the pool of recycled nodes while pushers are
/// taking nodes from it and deferred batches are coming back: every element
/// still arrives exactly once (and Miri and TSan check the memory).
#[test]
fn mpmc_conservation_while_shrinking() {
    let queue = MsQueue::new();
    let pops = std::sync::atomic::AtomicUsize::new(0);
    support::check_mpmc_conservation(
        2,
        2,
        support::scaled(50_000),
        |item| queue.push(item),
        || {
            if pops.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 512 == 0 {
                queue.shrink_to_fit();
            }
            queue.pop()
        },
    );
    assert!(queue.is_empty());
}

#[test]
fn mpmc_conservation_4x4() {
    unbounded::mpmc_conservation::<MsQueue<_>>(4, 4, support::scaled(25_000));
}

#[test]
#[cfg_attr(
    all(miri, not(freelane_miri_full)),
    ignore = "16 threads cost ~15 s under Miri; 2x2 and 4x4 run"
)]
fn mpmc_conservation_8x8() {
    unbounded::mpmc_conservation::<MsQueue<_>>(8, 8, support::scaled(12_500));
}

/// Every thread works through its own handle; checks that each value
/// arrives exactly once.
#[test]
fn handles_on_many_threads_conserve_values() {
    const THREADS: usize = 4;
    let per_thread = support::scaled(10_000);
    let queue = MsQueue::new();
    let popped: Vec<Vec<usize>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread_id| {
                let queue = &queue;
                scope.spawn(move || {
                    let handle = queue.handle();
                    let mut got = Vec::new();
                    for i in 0..per_thread {
                        handle.push(thread_id * per_thread + i);
                        if i % 2 == 0 {
                            got.extend(handle.pop());
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

/// `len` read while pushes and pops race must stay within what was pushed:
/// an underflow of `tail.index − head.index` would show as a huge number.
#[test]
fn len_under_concurrency_is_never_garbage() {
    let total = support::scaled(100_000);
    unbounded::len_under_concurrency::<MsQueue<_>, _>(total, |len| {
        assert!(
            len <= total,
            "len {len} exceeds the {total} values ever pushed"
        );
    });
}

#[test]
fn drop_drops_remaining_elements_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = MsQueue::new();
    for id in 0..100 {
        queue.push(DropCounter::new(id, &drops));
    }
    for id in 0..40 {
        let popped = queue.pop().unwrap();
        assert_eq!(popped.id, id);
        drop(popped);
    }
    assert_eq!(
        drops.load(SeqCst),
        40,
        "only the popped values were dropped so far"
    );
    drop(queue);
    assert_eq!(drops.load(SeqCst), 100);
}

#[test]
fn dropping_an_empty_or_drained_queue_drops_nothing_more() {
    let drops = Arc::new(AtomicUsize::new(0));
    drop(MsQueue::<DropCounter>::new());
    let queue = MsQueue::new();
    queue.push(DropCounter::new(0, &drops));
    drop(queue.pop());
    assert_eq!(drops.load(SeqCst), 1);
    drop(queue);
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the sentinel's taken value must not be dropped again"
    );
}

#[test]
fn drop_after_concurrent_use_drops_each_element_once() {
    unbounded::drop_after_concurrent_use_drops_each_element_once::<MsQueue<_>>();
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

    unbounded::unit_values::<MsQueue<_>>(1000);

    let queue = MsQueue::new();
    for _ in 0..10 {
        queue.push(Zst);
    }
    drop(queue.pop());
    drop(queue.pop());
    assert_eq!(ZST_DROPS.load(SeqCst), 2);
    drop(queue);
    assert_eq!(ZST_DROPS.load(SeqCst), 10);
}

/// 64 KiB inline, no `Box`: pushing and popping it must not overflow a stack.
struct Large {
    bytes: [u8; 65536],
}

fn push_pop_large() {
    let queue = MsQueue::new();
    for tag in 0..4u8 {
        let mut large = Large {
            bytes: [tag; 65536],
        };
        large.bytes[65535] = tag.wrapping_add(100);
        queue.push(large);
    }
    let handle = queue.handle();
    handle.push(Large { bytes: [9; 65536] });
    for tag in 0..4u8 {
        let large = queue.pop().unwrap();
        assert_eq!(large.bytes[0], tag);
        assert_eq!(large.bytes[65535], tag.wrapping_add(100));
    }
    assert_eq!(handle.pop().map(|large| large.bytes[1234]), Some(9));
    // One left inside, dropped with the queue.
    queue.push(Large { bytes: [1; 65536] });
}

#[test]
fn large_payload_on_the_test_thread() {
    push_pop_large();
}

#[test]
fn large_payload_on_a_default_stack_thread() {
    thread::spawn(push_pop_large).join().unwrap();
}

/// Under `std`, handles register with the default collector, so plain calls
/// and handle calls mix on one queue.
#[test]
fn handle_path_mixes_with_plain_calls() {
    let queue = MsQueue::new();
    let handle = queue.handle();
    handle.push(1);
    queue.push(2);
    handle.push(3);
    assert_eq!(handle.len(), 3);
    assert_eq!(queue.pop(), Some(1));
    assert_eq!(handle.pop(), Some(2));
    assert!(!handle.is_empty());
    assert_eq!(queue.pop(), Some(3));
    assert!(handle.is_empty());
    assert_eq!(handle.pop(), None);
    let second = queue.handle();
    second.push(4);
    assert_eq!(handle.pop(), Some(4));
}

#[test]
fn send_and_sync_when_t_is_send() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MsQueue<u64>>();
    assert_send_sync::<MsQueue<String>>();
    // `Cell` is `Send` but not `Sync`: the queue never shares a `&T`.
    assert_send_sync::<MsQueue<Cell<u64>>>();
    assert_send_sync::<MsQueue<Box<dyn Any + Send>>>();
}

#[test]
fn queue_moves_to_another_thread() {
    let queue = MsQueue::new();
    queue.push(String::from("moved"));
    let back = thread::spawn(move || {
        queue.push(String::from("again"));
        queue
    })
    .join()
    .unwrap();
    assert_eq!(back.pop().as_deref(), Some("moved"));
    assert_eq!(back.pop().as_deref(), Some("again"));
}

/// Fills a queue's pool: a burst pushed and popped, then pairs until the
/// deferred batch returns have run, so the next push takes a chain.
fn fill_pool<T>(queue: &MsQueue<T>, make: impl Fn(usize) -> T) {
    // Under Miri, bursts of two reclamation batches (32 nodes each).
    let (rounds, burst) = if cfg!(miri) { (2, 64) } else { (4, 256) };
    for round in 0..rounds {
        for i in 0..burst {
            queue.push(make(round * burst + i));
        }
        while queue.pop().is_some() {}
    }
    for i in 0..support::scaled(4_096) {
        queue.push(make(i));
        drop(queue.pop());
    }
}

/// One thread pushing to two queues in turn (of different element types)
/// moves its cache of free nodes from one queue's pool to the other's at
/// every switch; each queue still returns its own values in order, and
/// every payload is dropped exactly once.
#[test]
fn one_thread_alternating_between_queues_keeps_each_queue_intact() {
    let drops = Arc::new(AtomicUsize::new(0));
    let numbers = MsQueue::new();
    let names = MsQueue::new();
    fill_pool(&numbers, |i| i);
    fill_pool(&names, |i| DropCounter::new(i, &drops));
    let made_in_fill = drops.load(SeqCst);
    let rounds = support::scaled(2_000);
    for i in 0..rounds {
        numbers.push(i);
        names.push(DropCounter::new(i, &drops));
        if i % 3 == 0 {
            assert_eq!(numbers.pop(), Some(i / 3));
            assert_eq!(names.pop().map(|name| name.id), Some(i / 3));
        }
    }
    let popped = rounds.div_ceil(3);
    let rest: Vec<usize> = iter::from_fn(|| numbers.pop()).collect();
    assert_eq!(rest, (popped..rounds).collect::<Vec<_>>());
    assert_eq!(drops.load(SeqCst), made_in_fill + popped, "popped names");
    drop(names);
    assert_eq!(
        drops.load(SeqCst),
        made_in_fill + rounds,
        "the names left in the queue are dropped with it, once each"
    );
}

/// A thread keeps a chain of a queue's free nodes in its cache while
/// another thread drops the queue; the thread then pushes to another queue
/// (handing the old chain back to a pool whose queue is gone) and exits.
/// Values are conserved and dropped once; Miri and TSan check the memory.
#[test]
fn queue_dropped_while_another_thread_caches_its_nodes() {
    let drops = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(MsQueue::new());
    fill_pool(&first, |i| DropCounter::new(i, &drops));
    let second = Arc::new(MsQueue::new());
    let (cached_tx, cached_rx) = std::sync::mpsc::channel();
    let (dropped_tx, dropped_rx) = std::sync::mpsc::channel::<()>();
    let worker = {
        let (first, second, drops) = (Arc::clone(&first), Arc::clone(&second), Arc::clone(&drops));
        thread::spawn(move || {
            // Takes a chain from `first`'s pool and keeps the rest of it.
            first.push(DropCounter::new(1_000_000, &drops));
            drop(first);
            cached_tx.send(()).unwrap();
            dropped_rx.recv().unwrap();
            // Switches the cache to `second`: the old chain goes back
            // through the epoch to a pool whose queue is gone.
            for i in 0..100 {
                second.push(DropCounter::new(2_000_000 + i, &drops));
            }
        })
    };
    cached_rx.recv().unwrap();
    let before_drop = drops.load(SeqCst);
    let first = Arc::into_inner(first).expect("the worker gave its reference up");
    drop(first);
    assert_eq!(
        drops.load(SeqCst),
        before_drop + 1,
        "the dropped queue drops the one value left in it"
    );
    dropped_tx.send(()).unwrap();
    worker.join().unwrap();
    let ids: Vec<usize> = iter::from_fn(|| second.pop())
        .map(|value| value.id)
        .collect();
    assert_eq!(ids, (2_000_000..2_000_100).collect::<Vec<_>>());
}

/// A handle keeps its own cache: it survives `shrink_to_fit` (which frees
/// the handle's cached nodes) and the handle's drop (which hands them back
/// through the epoch), and the values pushed through it all come out.
#[test]
fn handle_cache_survives_shrink_and_drop() {
    let queue = MsQueue::new();
    fill_pool(&queue, |i| i);
    {
        let handle = queue.handle();
        for i in 0..10 {
            handle.push(i);
        }
        handle.shrink_to_fit();
        for i in 10..20 {
            handle.push(i);
        }
        fill_pool(&queue, |i| i + 1_000);
        // `fill_pool` popped everything, so push again, from a refilled
        // cache, and leave the values for after the handle is gone.
        for i in 20..40 {
            handle.push(i);
        }
    }
    let rest: Vec<usize> = iter::from_fn(|| queue.pop()).collect();
    assert_eq!(rest, (20..40).collect::<Vec<_>>());
}
