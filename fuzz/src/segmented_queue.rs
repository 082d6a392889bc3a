//! `SegmentedQueue`: sequential model (`VecDeque`, batches included) and
//! concurrent history check.

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use freelane::SegmentedQueue;

use crate::{Ledger, Scripts, Tag, Tracked, bounded_ops, check_fifo_history};

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

/// A sequential input: the ops, and whether to drain before dropping
/// (otherwise the queue's `Drop` frees what is left).
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Operations, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
    /// Pop everything before the drop.
    pub drain: bool,
}

/// Applies `input` to a `SegmentedQueue` and a `VecDeque`; every result must match.
pub fn check_sequential(input: &Input) {
    let ops = bounded_ops(&input.ops);
    let ledger = Ledger::new(ops.len() * 300 + 1);
    let queue = SegmentedQueue::new();
    let mut model: VecDeque<usize> = VecDeque::new();
    let mut next = 0;
    // A fresh payload, already appended to the model.
    let mut fresh = |model: &mut VecDeque<usize>| -> Tracked {
        let value = ledger.payload(Tag {
            producer: 0,
            seq: next,
        });
        model.push_back(next);
        next += 1;
        value
    };
    let pop = |popped: Option<Tracked>, model: &mut VecDeque<usize>| {
        assert_eq!(
            popped.map(|value| value.tag.seq),
            model.pop_front(),
            "pop disagrees with the model"
        );
    };
    for op in ops {
        match *op {
            Op::Push => queue.push(fresh(&mut model)),
            Op::PushMany(count) => {
                for _ in 0..=count % 16 {
                    queue.push(fresh(&mut model));
                }
            }
            Op::PushBatch(count) => {
                let mut batch: Vec<Tracked> = (0..count % 300).map(|_| fresh(&mut model)).collect();
                queue.push_many(&mut batch);
                assert!(batch.is_empty(), "push_many left elements behind");
            }
            Op::Pop => pop(queue.pop(), &mut model),
            Op::PopBatch(max) => {
                let max = usize::from(max % 300);
                let mut out = Vec::new();
                let taken = queue.pop_many(&mut out, max);
                assert_eq!(taken, out.len(), "pop_many count");
                assert_eq!(taken, max.min(model.len()), "pop_many took too few or many");
                for value in out {
                    pop(Some(value), &mut model);
                }
            }
            Op::PopMany(count) => {
                for _ in 0..=count % 16 {
                    pop(queue.pop(), &mut model);
                }
            }
            Op::Len => {
                assert_eq!(queue.len(), model.len(), "len");
                assert_eq!(queue.is_empty(), model.is_empty(), "is_empty");
            }
            Op::HandlePushPop => {
                let handle = queue.handle();
                handle.push(fresh(&mut model));
                assert_eq!(handle.len(), model.len(), "handle len");
                pop(handle.pop(), &mut model);
                assert_eq!(handle.is_empty(), model.is_empty(), "handle is_empty");
            }
        }
    }
    if input.drain {
        while let Some(value) = queue.pop() {
            pop(Some(value), &mut model);
        }
        assert!(model.is_empty(), "queue ran dry before the model");
    }
    drop(queue);
    ledger.assert_all_dropped();
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

/// Runs the scripts on real threads against one queue, then drains it and
/// checks conservation, per-producer order, the FIFO prefix and drops.
pub fn check_concurrent(input: &ConcurrentInput) {
    let ledger = Ledger::new(crate::MAX_THREAD_OPS * 8 * 3);
    let queue = SegmentedQueue::new();
    let results = input.run(|thread, script| {
        let mut pushed = Vec::new();
        let mut popped = Vec::new();
        for op in script {
            match op {
                ThreadOp::Push => {
                    let seq = pushed.len();
                    queue.push(ledger.payload(Tag {
                        producer: thread,
                        seq,
                    }));
                    pushed.push(seq);
                }
                ThreadOp::Pop => {
                    if let Some(value) = queue.pop() {
                        popped.push(value.tag);
                    }
                }
                ThreadOp::PushBatch(count) => {
                    let mut batch = Vec::new();
                    for _ in 0..=count % 8 {
                        let seq = pushed.len();
                        batch.push(ledger.payload(Tag {
                            producer: thread,
                            seq,
                        }));
                        pushed.push(seq);
                    }
                    queue.push_many(&mut batch);
                    assert!(batch.is_empty(), "push_many left elements behind");
                }
                ThreadOp::PopBatch(max) => {
                    let mut out = Vec::new();
                    let taken = queue.pop_many(&mut out, usize::from(max % 8) + 1);
                    assert_eq!(taken, out.len(), "pop_many count");
                    popped.extend(out.into_iter().map(|value| value.tag));
                }
                ThreadOp::Len => {
                    let len = queue.len();
                    assert!(
                        len <= crate::MAX_THREAD_OPS * 8 * 3,
                        "len {len} beyond every push"
                    );
                }
            }
        }
        (pushed, popped)
    });
    let mut remaining = Vec::new();
    while let Some(value) = queue.pop() {
        remaining.push(value.tag);
    }
    assert!(
        queue.is_empty() && queue.len() == 0,
        "drained queue not empty"
    );
    let (produced, consumed): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    check_fifo_history(&produced, &consumed, &remaining);
    drop(queue);
    ledger.assert_all_dropped();
}
