//! Thin renaming shims: crossbeam-queue's `ArrayQueue` and concurrent-queue's
//! bounded `ConcurrentQueue` names over [`RingBuffer`], plus the two small
//! helpers those suites import (`easy_parallel::Parallel`, rand 0.8's
//! `thread_rng`/`gen_range`), so their own test files run against freelane
//! with only their `use` lines changed (tests/peer_*.rs). Every method is a
//! one-line rename; none adds behaviour.
#![allow(dead_code)]

pub mod msqueue;
pub mod segmented;

use freelane::RingBuffer;
pub use freelane::{PopError, PushError};

/// crossbeam-queue's `ArrayQueue` API over `RingBuffer` (never closed).
pub struct ArrayQueue<T>(RingBuffer<T>);

impl<T> ArrayQueue<T> {
    pub fn new(capacity: usize) -> Self {
        Self(RingBuffer::new(capacity))
    }
    pub fn push(&self, value: T) -> Result<(), T> {
        self.0.try_push(value).map_err(PushError::into_inner)
    }
    pub fn force_push(&self, value: T) -> Option<T> {
        self.0.force_push(value).ok().flatten()
    }
    pub fn pop(&self) -> Option<T> {
        self.0.try_pop().ok()
    }
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn is_full(&self) -> bool {
        self.0.is_full()
    }
}

/// concurrent-queue's `ForcePushError` (only `Closed` exists for it).
#[derive(Debug, PartialEq, Eq)]
pub struct ForcePushError<T>(pub T);

/// concurrent-queue's bounded `ConcurrentQueue` API over `RingBuffer`.
pub struct ConcurrentQueue<T>(RingBuffer<T>);

impl<T> ConcurrentQueue<T> {
    pub fn bounded(capacity: usize) -> Self {
        Self(RingBuffer::new(capacity))
    }
    pub fn push(&self, value: T) -> Result<(), PushError<T>> {
        self.0.try_push(value)
    }
    pub fn force_push(&self, value: T) -> Result<Option<T>, ForcePushError<T>> {
        self.0.force_push(value).map_err(ForcePushError)
    }
    pub fn pop(&self) -> Result<T, PopError> {
        self.0.try_pop()
    }
    pub fn capacity(&self) -> Option<usize> {
        Some(self.0.capacity())
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn is_full(&self) -> bool {
        self.0.is_full()
    }
    pub fn close(&self) -> bool {
        self.0.close()
    }
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// `easy_parallel::Parallel`'s `each`/`add`/`run` on scoped threads.
pub struct Parallel<'a, R> {
    closures: Vec<Box<dyn FnOnce() -> R + Send + 'a>>,
}

impl<'a, R: Send + 'a> Parallel<'a, R> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            closures: Vec::new(),
        }
    }
    pub fn add(mut self, f: impl FnOnce() -> R + Send + 'a) -> Self {
        self.closures.push(Box::new(f));
        self
    }
    pub fn each<A: Send + 'a>(
        mut self,
        args: impl IntoIterator<Item = A>,
        f: impl Fn(A) -> R + Send + Sync + Clone + 'a,
    ) -> Self {
        for arg in args {
            let f = f.clone();
            self.closures.push(Box::new(move || f(arg)));
        }
        self
    }
    pub fn run(self) -> Vec<R> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .closures
                .into_iter()
                .map(|closure| scope.spawn(closure))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        })
    }
}

/// rand 0.8's `thread_rng()` and `Rng::gen_range`, over rand 0.10.
pub struct ThreadRng(rand::rngs::StdRng);

pub fn thread_rng() -> ThreadRng {
    use rand::SeedableRng;
    ThreadRng(rand::rngs::StdRng::seed_from_u64(0x5eed_9ee8))
}

pub trait Rng {
    fn gen_range(&mut self, range: std::ops::Range<usize>) -> usize;
}

impl Rng for ThreadRng {
    fn gen_range(&mut self, range: std::ops::Range<usize>) -> usize {
        use rand::RngExt;
        self.0.random_range(range)
    }
}

/// `fastrand::usize(range)`, over a per-thread rand 0.10 generator.
pub mod fastrand {
    use std::cell::RefCell;
    use std::ops::{Bound, RangeBounds};

    use rand::{RngExt, SeedableRng, rngs::StdRng};

    thread_local! {
        static RNG: RefCell<StdRng> = RefCell::new(StdRng::seed_from_u64(0xfa57_4a9d));
    }

    pub fn usize(range: impl RangeBounds<usize>) -> usize {
        let low = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 0,
        };
        let high = match range.end_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n - 1,
            Bound::Unbounded => usize::MAX,
        };
        RNG.with(|rng| rng.borrow_mut().random_range(low..=high))
    }
}
pub mod tokio_semaphore;
