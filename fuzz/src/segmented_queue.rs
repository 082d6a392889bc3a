//! `SegmentedQueue`: the shared unbounded-queue checks
//! ([`crate::unbounded`]) plus the batch calls `push_many` and `pop_many`.

use arbitrary::Arbitrary;
use freelane::SegmentedQueue;

use crate::unbounded;
use crate::{Scripts, Tracked};

/// One operation on the queue.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// `push` a fresh payload.
    Push,
    /// `push` 1 to 16 payloads in a row.
    PushMany(u8),
    /// `push_many` of 0 to 299 payloads (a few cross a segment boundary).
    PushBatch(u16),
    /// `pop`.
    Pop,
    /// `pop` up to 1 to 16 times.
    PopMany(u8),
    /// `pop_many` with `max` 0 to 299.
    PopBatch(u16),
    /// `len` and `is_empty`.
    Len,
    /// Push and pop through `handle()` (the explicit-participant path).
    HandlePushPop,
}

/// A sequential input: the ops, and whether to drain before dropping.
pub type Input = unbounded::Input<Op>;

/// [`unbounded::check_sequential`] on a `SegmentedQueue`, with this queue's
/// operations.
pub fn check_sequential(input: &Input) {
    // At most 299 payloads an operation (`PushBatch`).
    unbounded::check_sequential::<SegmentedQueue<_>, _>(input, 300, |run, op| match *op {
        Op::Push => run.push(),
        Op::PushMany(count) => run.push_repeated(count),
        Op::PushBatch(count) => {
            let mut batch: Vec<Tracked> = (0..count % 300).map(|_| run.fresh()).collect();
            run.queue().push_many(&mut batch);
            assert!(batch.is_empty(), "push_many left elements behind");
        }
        Op::Pop => run.pop(),
        Op::PopBatch(max) => {
            let max = usize::from(max % 300);
            let mut out = Vec::new();
            let taken = run.queue().pop_many(&mut out, max);
            assert_eq!(taken, out.len(), "pop_many count");
            assert_eq!(
                taken,
                max.min(run.model_len()),
                "pop_many took too few or many"
            );
            for value in out {
                run.check_pop(Some(value));
            }
        }
        Op::PopMany(count) => run.pop_repeated(count),
        Op::Len => run.check_len(),
        Op::HandlePushPop => run.handle_push_pop(),
    });
}

/// One operation of a thread's script.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ThreadOp {
    /// `push` this thread's next payload.
    Push,
    /// `pop` and record what came out.
    Pop,
    /// `push_many` of 1 to 8 of this thread's next payloads.
    PushBatch(u8),
    /// `pop_many` of up to 1 to 8, recording what came out.
    PopBatch(u8),
    /// `len` (checked against the pushes so far).
    Len,
}

/// A concurrent input: two or three scripts.
pub type ConcurrentInput = Scripts<ThreadOp>;

/// [`unbounded::check_concurrent`] on a `SegmentedQueue`, with this queue's
/// thread operations.
pub fn check_concurrent(input: &ConcurrentInput) {
    // At most 8 payloads an operation (`PushBatch`).
    unbounded::check_concurrent::<SegmentedQueue<_>, _>(input, 8, |thread, op| match *op {
        ThreadOp::Push => thread.push(),
        ThreadOp::Pop => thread.pop(),
        ThreadOp::PushBatch(count) => {
            let mut batch: Vec<Tracked> = (0..=count % 8).map(|_| thread.payload()).collect();
            thread.queue().push_many(&mut batch);
            assert!(batch.is_empty(), "push_many left elements behind");
        }
        ThreadOp::PopBatch(max) => {
            let mut out = Vec::new();
            let taken = thread.queue().pop_many(&mut out, usize::from(max % 8) + 1);
            assert_eq!(taken, out.len(), "pop_many count");
            thread.took(out);
        }
        ThreadOp::Len => thread.check_len(),
    });
}
