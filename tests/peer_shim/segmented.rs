//! Renaming shims over [`SegmentedQueue`]: crossbeam-queue's `SegQueue` and
//! concurrent-queue's unbounded `ConcurrentQueue`, for tests/peer_seg_queue.rs
//! and tests/peer_concurrent_queue_unbounded.rs. Every method is a one-line
//! rename; the two that freelane has no counterpart for say what they map to.

use freelane::SegmentedQueue;
pub use freelane::{PopError, PushError};

/// crossbeam-queue's `SegQueue` API over `SegmentedQueue`.
pub struct SegQueue<T>(SegmentedQueue<T>);

impl<T> SegQueue<T> {
    pub fn new() -> Self {
        Self(SegmentedQueue::new())
    }
    pub fn push(&self, value: T) {
        self.0.push(value)
    }
    pub fn pop(&self) -> Option<T> {
        self.0.pop()
    }
    /// freelane has no `&mut` fast path: the shared `push`.
    pub fn push_mut(&mut self, value: T) {
        self.0.push(value)
    }
    /// freelane has no `&mut` fast path: the shared `pop`.
    pub fn pop_mut(&mut self) -> Option<T> {
        self.0.pop()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// freelane has no `IntoIterator`: pops until empty; what is not
    /// iterated is dropped with the queue.
    pub fn into_iter(self) -> impl Iterator<Item = T> {
        core::iter::from_fn(move || self.0.pop())
    }
}

/// concurrent-queue's unbounded `ConcurrentQueue` API over `SegmentedQueue`
/// (which cannot be closed: the suite's `close` test is left out).
pub struct ConcurrentQueue<T>(SegmentedQueue<T>);

impl<T> ConcurrentQueue<T> {
    pub fn unbounded() -> Self {
        Self(SegmentedQueue::new())
    }
    pub fn push(&self, value: T) -> Result<(), PushError<T>> {
        self.0.push(value);
        Ok(())
    }
    pub fn pop(&self) -> Result<T, PopError> {
        self.0.pop().ok_or(PopError::Empty)
    }
    pub fn capacity(&self) -> Option<usize> {
        None
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn is_full(&self) -> bool {
        false
    }
}
