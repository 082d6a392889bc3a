//! Checks that hold alike for the two unbounded MPMC queues, `MsQueue` and
//! `SegmentedQueue`, written once over [`UnboundedQueue`]. The `#[test]`
//! functions stay in tests/ms_queue.rs, tests/segmented_queue.rs and their
//! `_memory` files and call in here; what differs between the queues
//! (segment boundaries, batches, handles, node pools) stays there.

use std::iter;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Instant;

use freelane::{MsQueue, SegmentedQueue};

use super::{DropCounter, STALL_LIMIT};

/// The operations both queues have, with the same meaning.
pub trait UnboundedQueue<T> {
    fn new() -> Self;
    fn push(&self, value: T);
    fn pop(&self) -> Option<T>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
}

/// Implements [`UnboundedQueue`] for each named queue by calling its
/// inherent methods.
macro_rules! impl_unbounded_queue {
    ($($queue:ident),+) => {$(
        impl<T> UnboundedQueue<T> for $queue<T> {
            fn new() -> Self {
                $queue::new()
            }
            fn push(&self, value: T) {
                $queue::push(self, value);
            }
            fn pop(&self) -> Option<T> {
                $queue::pop(self)
            }
            fn len(&self) -> usize {
                $queue::len(self)
            }
            fn is_empty(&self) -> bool {
                $queue::is_empty(self)
            }
        }
    )+};
}

impl_unbounded_queue!(MsQueue, SegmentedQueue);

/// A new queue is empty and pops `None`; ten values pushed come out in
/// order, and `len` and `is_empty` are right before and after.
pub fn smoke_fifo<Q: UnboundedQueue<i32>>() {
    let queue = Q::new();
    assert!(queue.is_empty());
    assert_eq!(queue.len(), 0);
    assert_eq!(queue.pop(), None);
    for i in 0..10 {
        queue.push(i);
    }
    assert_eq!(queue.len(), 10);
    assert!(!queue.is_empty());
    for i in 0..10 {
        assert_eq!(queue.pop(), Some(i));
    }
    assert_eq!(queue.pop(), None);
    assert!(queue.is_empty());
    assert_eq!(queue.len(), 0);
}

/// [`check_mpmc_conservation`](super::check_mpmc_conservation) on a new
/// queue, which is empty afterwards.
pub fn mpmc_conservation<Q: UnboundedQueue<u64> + Sync>(
    producers: usize,
    consumers: usize,
    per_producer: usize,
) {
    let queue = Q::new();
    super::check_mpmc_conservation(
        producers,
        consumers,
        per_producer,
        |item| queue.push(item),
        || queue.pop(),
    );
    assert!(queue.is_empty());
    assert_eq!(queue.len(), 0);
}

/// Four threads push and pop about a third back, leaving values inside:
/// only the popped values have been dropped, `len` counts the rest, and
/// dropping the queue drops each of them once.
pub fn drop_after_concurrent_use_drops_each_element_once<Q>()
where
    Q: UnboundedQueue<DropCounter> + Sync,
{
    const THREADS: usize = 4;
    let per_thread = super::scaled(5_000);
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = Q::new();
    let popped = AtomicUsize::new(0);
    thread::scope(|scope| {
        for thread_id in 0..THREADS {
            let (queue, drops, popped) = (&queue, &drops, &popped);
            scope.spawn(move || {
                for i in 0..per_thread {
                    queue.push(DropCounter::new(thread_id * per_thread + i, drops));
                    // Pop about a third, so values are left inside.
                    if i % 3 == 0 && queue.pop().is_some() {
                        popped.fetch_add(1, SeqCst);
                    }
                }
            });
        }
    });
    let popped = popped.load(SeqCst);
    assert_eq!(drops.load(SeqCst), popped);
    assert_eq!(queue.len(), THREADS * per_thread - popped);
    drop(queue);
    assert_eq!(drops.load(SeqCst), THREADS * per_thread);
}

/// One thread pushes `total` values and another pops them all while a third
/// reads `len` and `is_empty` until the popper is done, passing each `len`
/// it read to `check`. The queue is empty afterwards.
pub fn len_under_concurrency<Q, C>(total: usize, check: C)
where
    Q: UnboundedQueue<usize> + Sync,
    C: Fn(usize) + Sync,
{
    let queue = Q::new();
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..total {
                queue.push(i);
            }
        });
        scope.spawn(|| {
            let mut received = 0;
            while received < total {
                if queue.pop().is_some() {
                    received += 1;
                }
            }
            done.store(true, SeqCst);
        });
        scope.spawn(|| {
            while !done.load(SeqCst) {
                check(queue.len());
                let _ = queue.is_empty();
            }
        });
    });
    assert_eq!(queue.len(), 0);
    assert!(queue.is_empty());
}

/// `count` unit values: `len` counts them, and all of them come out.
pub fn unit_values<Q: UnboundedQueue<()>>(count: usize) {
    let units = Q::new();
    for _ in 0..count {
        units.push(());
    }
    assert_eq!(units.len(), count);
    assert_eq!(iter::from_fn(|| units.pop()).count(), count);
    assert!(units.is_empty());
}

/// One pusher and one popper stream `pushes` values through `queue`, the
/// pusher waiting while the queue holds more than `depth_limit`. The popper
/// checks FIFO order; either side waiting past [`STALL_LIMIT`] fails. The
/// queue is empty afterwards.
pub fn stream<Q: UnboundedQueue<u64> + Sync>(queue: &Q, pushes: usize, depth_limit: usize) {
    let start = Instant::now();
    thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..pushes as u64 {
                while queue.len() > depth_limit {
                    assert!(start.elapsed() < STALL_LIMIT, "popper stalled");
                    thread::yield_now();
                }
                queue.push(i);
            }
        });
        scope.spawn(|| {
            let mut expected = 0u64;
            while expected < pushes as u64 {
                match queue.pop() {
                    Some(value) => {
                        assert_eq!(value, expected, "FIFO order with one pusher");
                        expected += 1;
                    }
                    None => {
                        assert!(start.elapsed() < STALL_LIMIT, "pusher stalled");
                        thread::yield_now();
                    }
                }
            }
        });
    });
    assert!(queue.is_empty());
}

/// Push+pop pairs on the calling thread, each value checked: they let the
/// epoch advance and the deferred frees and returns of popped memory run.
pub fn push_pop_pairs<Q: UnboundedQueue<u64>>(queue: &Q, pairs: usize) {
    for i in 0..pairs as u64 {
        queue.push(i);
        assert_eq!(queue.pop(), Some(i));
    }
}
