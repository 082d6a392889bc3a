//! `MsQueue`: the shared unbounded-queue checks ([`crate::unbounded`]) plus
//! `shrink_to_fit` and the node cache moving between two queues.

use arbitrary::Arbitrary;
use freelane::MsQueue;

use crate::Scripts;
use crate::unbounded;

/// One operation on the queue.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// `push` a fresh payload.
    Push,
    /// `push` 1 to 16 payloads in a row.
    PushMany(u8),
    /// `pop`.
    Pop,
    /// `pop` up to 1 to 16 times.
    PopMany(u8),
    /// `len` and `is_empty`.
    Len,
    /// Push and pop through `handle()` (the explicit-participant path, with
    /// the handle's own cache of free nodes).
    HandlePushPop,
    /// `shrink_to_fit` (frees the pool and this thread's cached nodes).
    Shrink,
    /// Push and pop 1 to 16 values on a second queue: this thread's cache of
    /// free nodes moves to that queue's pool and back on the next push here.
    OtherQueue(u8),
}

/// A sequential input: the ops, and whether to drain before dropping.
pub type Input = unbounded::Input<Op>;

/// [`unbounded::check_sequential`] on an `MsQueue`, with this queue's
/// operations.
pub fn check_sequential(input: &Input) {
    let other = MsQueue::new();
    // At most 16 payloads an operation (`PushMany`).
    unbounded::check_sequential::<MsQueue<_>, _>(input, 16, |run, op| match *op {
        Op::Push => run.push(),
        Op::PushMany(count) => run.push_repeated(count),
        Op::Pop => run.pop(),
        Op::PopMany(count) => run.pop_repeated(count),
        Op::Len => run.check_len(),
        Op::HandlePushPop => run.handle_push_pop(),
        Op::Shrink => run.queue().shrink_to_fit(),
        Op::OtherQueue(count) => {
            let count = usize::from(count % 16) + 1;
            for i in 0..count {
                other.push(i);
            }
            for i in 0..count {
                assert_eq!(other.pop(), Some(i), "the second queue's FIFO");
            }
            assert!(other.is_empty(), "the second queue drained");
        }
    });
}

/// One operation of a thread's script.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ThreadOp {
    /// `push` this thread's next payload.
    Push,
    /// `pop` and record what came out.
    Pop,
    /// `len` (checked against the pushes so far).
    Len,
    /// `shrink_to_fit`, racing the other threads' pushes and pops.
    Shrink,
}

/// A concurrent input: two or three scripts.
pub type ConcurrentInput = Scripts<ThreadOp>;

/// [`unbounded::check_concurrent`] on an `MsQueue`, with this queue's
/// thread operations.
pub fn check_concurrent(input: &ConcurrentInput) {
    // One payload an operation (`Push`).
    unbounded::check_concurrent::<MsQueue<_>, _>(input, 1, |thread, op| match *op {
        ThreadOp::Push => thread.push(),
        ThreadOp::Pop => thread.pop(),
        ThreadOp::Shrink => thread.queue().shrink_to_fit(),
        ThreadOp::Len => thread.check_len(),
    });
}
