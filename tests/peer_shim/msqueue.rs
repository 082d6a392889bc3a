//! crossbeam-queue's `SegQueue` names over [`MsQueue`], for
//! tests/peer_seg_queue_msqueue.rs (issue 14). Its own module so that the
//! `SegQueue` shim over `SegmentedQueue` (tests/peer_seg_queue.rs) can sit
//! beside it without a name clash. Every method is a one-line rename; none
//! adds behaviour.

use freelane::MsQueue;

/// crossbeam-queue's `SegQueue` API over `MsQueue`.
pub struct SegQueue<T>(MsQueue<T>);

impl<T> SegQueue<T> {
    pub fn new() -> Self {
        Self(MsQueue::new())
    }
    pub fn push(&self, value: T) {
        self.0.push(value);
    }
    pub fn pop(&self) -> Option<T> {
        self.0.pop()
    }
    /// crossbeam's `&mut` fast path; `MsQueue` has one path, so the same call.
    pub fn push_mut(&mut self, value: T) {
        self.0.push(value);
    }
    /// As `push_mut`.
    pub fn pop_mut(&mut self) -> Option<T> {
        self.0.pop()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
