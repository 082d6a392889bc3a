//! `MsQueue`: sequential model (`VecDeque`) and concurrent history check.

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use freelane::MsQueue;

use crate::{Ledger, Scripts, Tag, Tracked, bounded_ops, check_fifo_history};

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

/// A sequential input: the ops, and whether to drain before dropping
/// (otherwise the queue's `Drop` frees what is left).
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Operations, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
    /// Pop everything before the drop.
    pub drain: bool,
}

/// Applies `input` to an `MsQueue` and a `VecDeque`; every result must match.
pub fn check_sequential(input: &Input) {
    let ops = bounded_ops(&input.ops);
    let ledger = Ledger::new(ops.len() * 16 + 1);
    let queue = MsQueue::new();
    let other = MsQueue::new();
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
            Op::Pop => pop(queue.pop(), &mut model),
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
            Op::Shrink => queue.shrink_to_fit(),
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
    /// `len` (checked against the pushes so far).
    Len,
    /// `shrink_to_fit`, racing the other threads' pushes and pops.
    Shrink,
}

/// A concurrent input: two or three scripts.
pub type ConcurrentInput = Scripts<ThreadOp>;

/// Runs the scripts on real threads against one queue, then drains it and
/// checks conservation, per-producer order, the FIFO prefix and drops.
pub fn check_concurrent(input: &ConcurrentInput) {
    let ledger = Ledger::new(crate::MAX_THREAD_OPS * 3);
    let queue = MsQueue::new();
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
                ThreadOp::Shrink => queue.shrink_to_fit(),
                ThreadOp::Len => {
                    let len = queue.len();
                    assert!(
                        len <= crate::MAX_THREAD_OPS * 3,
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
