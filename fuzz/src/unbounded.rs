//! The checks shared by the two unbounded FIFO queues, `MsQueue` and
//! `SegmentedQueue`, written once over the [`UnboundedQueue`] trait.
//!
//! - [`check_sequential`] runs a sequential input against the queue and a
//!   `VecDeque` model: every `pop` must return the model's front, `len` and
//!   `is_empty` must match it, and every payload must be dropped exactly once
//!   by the end.
//! - [`check_concurrent`] runs per-thread scripts against one queue, drains
//!   it, and checks the history with [`check_fifo_history`] (conservation,
//!   per-producer order, FIFO prefix) and the drops with the [`Ledger`].
//!
//! Each queue's module keeps its own operation enums (so that the committed
//! seed corpora decode as before) and the operations only it has
//! (`shrink_to_fit`, `push_many`/`pop_many`, a second queue); the operations
//! both have are the methods of [`SequentialRun`] and [`ThreadRun`].

use std::collections::VecDeque;
use std::sync::Arc;

use arbitrary::Arbitrary;
use freelane::{MsQueue, MsQueueHandle, SegmentedQueue, SegmentedQueueHandle};

use crate::{Ledger, MAX_THREAD_OPS, Scripts, Tag, Tracked, bounded_ops, check_fifo_history};

/// The calls the shared checks make on a queue and on its handle.
pub trait Fifo<T> {
    /// Appends `value` at the back.
    fn push(&self, value: T);
    /// Takes the front value, if any.
    fn pop(&self) -> Option<T>;
    /// The number of values in the queue.
    fn len(&self) -> usize;
    /// Whether the queue holds no value.
    fn is_empty(&self) -> bool;
}

/// An unbounded FIFO queue with a handle (the explicit-participant path)
/// that offers the same [`Fifo`] calls.
pub trait UnboundedQueue<T>: Fifo<T> {
    /// What [`UnboundedQueue::handle`] returns.
    type Handle<'a>: Fifo<T>
    where
        Self: 'a;
    /// An empty queue.
    fn new() -> Self;
    /// A handle on this queue.
    fn handle(&self) -> Self::Handle<'_>;
}

/// Implements [`Fifo`] for each type given (generic over `T`), each call
/// forwarding to the type's inherent method of that name.
macro_rules! fifo {
    ($($fifo:ty),+) => {$(
        impl<T> Fifo<T> for $fifo {
            fn push(&self, value: T) {
                <$fifo>::push(self, value)
            }
            fn pop(&self) -> Option<T> {
                <$fifo>::pop(self)
            }
            fn len(&self) -> usize {
                <$fifo>::len(self)
            }
            fn is_empty(&self) -> bool {
                <$fifo>::is_empty(self)
            }
        }
    )+};
}

/// Implements [`UnboundedQueue`] for a queue whose handle is `$handle`.
macro_rules! unbounded_queue {
    ($queue:ident, $handle:ident) => {
        impl<T> UnboundedQueue<T> for $queue<T> {
            type Handle<'a>
                = $handle<'a, T>
            where
                T: 'a;
            fn new() -> Self {
                $queue::new()
            }
            fn handle(&self) -> $handle<'_, T> {
                $queue::handle(self)
            }
        }
    };
}

fifo!(
    MsQueue<T>,
    MsQueueHandle<'_, T>,
    SegmentedQueue<T>,
    SegmentedQueueHandle<'_, T>
);
unbounded_queue!(MsQueue, MsQueueHandle);
unbounded_queue!(SegmentedQueue, SegmentedQueueHandle);

/// A sequential input: the ops, and whether to drain before dropping
/// (otherwise the queue's `Drop` frees what is left).
#[derive(Arbitrary, Debug)]
pub struct Input<Op> {
    /// Operations, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
    /// Pop everything before the drop.
    pub drain: bool,
}

/// A sequential run: the queue, its `VecDeque` model of the payloads'
/// sequence numbers, and the ledger that counts the payloads' drops.
pub struct SequentialRun<Q> {
    queue: Q,
    model: VecDeque<usize>,
    next: usize,
    ledger: Arc<Ledger>,
}

impl<Q: UnboundedQueue<Tracked>> SequentialRun<Q> {
    /// The queue under test.
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// The number of values the model holds.
    pub fn model_len(&self) -> usize {
        self.model.len()
    }

    /// A fresh payload, already appended to the model: the caller must put
    /// it into the queue.
    pub fn fresh(&mut self) -> Tracked {
        let value = self.ledger.payload(Tag {
            producer: 0,
            seq: self.next,
        });
        self.model.push_back(self.next);
        self.next += 1;
        value
    }

    /// Checks a value the queue gave out (or its `None`) against the
    /// model's front, which it removes.
    pub fn check_pop(&mut self, popped: Option<Tracked>) {
        pop_model(&mut self.model, popped);
    }

    /// `push` of a fresh payload.
    pub fn push(&mut self) {
        let value = self.fresh();
        self.queue.push(value);
    }

    /// `push` of `1 + count % 16` fresh payloads in a row.
    pub fn push_repeated(&mut self, count: u8) {
        for _ in 0..=count % 16 {
            self.push();
        }
    }

    /// `pop`, checked against the model.
    pub fn pop(&mut self) {
        let popped = self.queue.pop();
        self.check_pop(popped);
    }

    /// `pop` `1 + count % 16` times in a row, each checked.
    pub fn pop_repeated(&mut self, count: u8) {
        for _ in 0..=count % 16 {
            self.pop();
        }
    }

    /// `len` and `is_empty`, against the model.
    pub fn check_len(&self) {
        assert_eq!(self.queue.len(), self.model.len(), "len");
        assert_eq!(self.queue.is_empty(), self.model.is_empty(), "is_empty");
    }

    /// Through a new `handle()`: a push, `len`, a pop, `is_empty`, each
    /// checked against the model.
    pub fn handle_push_pop(&mut self) {
        let value = self.fresh();
        let handle = self.queue.handle();
        handle.push(value);
        assert_eq!(handle.len(), self.model.len(), "handle len");
        pop_model(&mut self.model, handle.pop());
        assert_eq!(handle.is_empty(), self.model.is_empty(), "handle is_empty");
    }
}

/// Checks `popped` against the front of `model`, which it removes.
fn pop_model(model: &mut VecDeque<usize>, popped: Option<Tracked>) {
    assert_eq!(
        popped.map(|value| value.tag.seq),
        model.pop_front(),
        "pop disagrees with the model"
    );
}

/// Applies `input`'s operations to a fresh queue `Q` through `apply`, which
/// drives the [`SequentialRun`] (each result checked against the model).
/// Then, if `input.drain`, pops everything (each checked) and asserts that
/// the model is empty too; last, drops the queue and asserts that every
/// payload was dropped exactly once.
///
/// `payloads_per_op` bounds how many payloads one operation may create.
pub fn check_sequential<Q: UnboundedQueue<Tracked>, Op>(
    input: &Input<Op>,
    payloads_per_op: usize,
    mut apply: impl FnMut(&mut SequentialRun<Q>, &Op),
) {
    let ops = bounded_ops(&input.ops);
    let mut run = SequentialRun {
        queue: Q::new(),
        model: VecDeque::new(),
        next: 0,
        ledger: Ledger::new(ops.len() * payloads_per_op + 1),
    };
    for op in ops {
        apply(&mut run, op);
    }
    if input.drain {
        while let Some(value) = run.queue.pop() {
            run.check_pop(Some(value));
        }
        assert!(run.model.is_empty(), "queue ran dry before the model");
    }
    let SequentialRun { queue, ledger, .. } = run;
    drop(queue);
    ledger.assert_all_dropped();
}

/// One thread's part of a concurrent run: what it pushed (its sequence
/// numbers, in order) and the tags of what it popped, in order.
pub struct ThreadRun<'a, Q> {
    queue: &'a Q,
    ledger: &'a Arc<Ledger>,
    /// The bound on `len`: every payload the ledger can hand out.
    max_len: usize,
    producer: usize,
    pushed: Vec<usize>,
    popped: Vec<Tag>,
}

impl<'a, Q: UnboundedQueue<Tracked>> ThreadRun<'a, Q> {
    /// The queue under test.
    pub fn queue(&self) -> &'a Q {
        self.queue
    }

    /// This thread's next payload, recorded as pushed: the caller must put
    /// it into the queue.
    pub fn payload(&mut self) -> Tracked {
        let seq = self.pushed.len();
        self.pushed.push(seq);
        self.ledger.payload(Tag {
            producer: self.producer,
            seq,
        })
    }

    /// Records values taken out of the queue, in the order taken.
    pub fn took(&mut self, values: impl IntoIterator<Item = Tracked>) {
        self.popped
            .extend(values.into_iter().map(|value| value.tag));
    }

    /// `push` of this thread's next payload.
    pub fn push(&mut self) {
        let value = self.payload();
        self.queue.push(value);
    }

    /// `pop`, recording what came out.
    pub fn pop(&mut self) {
        let popped = self.queue.pop();
        self.took(popped);
    }

    /// `len`, which can never exceed every payload the run may create.
    pub fn check_len(&self) {
        let len = self.queue.len();
        assert!(len <= self.max_len, "len {len} beyond every push");
    }
}

/// Runs the scripts on real threads against one queue `Q`, each operation
/// through `step` on that thread's [`ThreadRun`]. Then drains the queue,
/// asserts it reports empty (`is_empty` and `len` 0), checks the history
/// with [`check_fifo_history`] (conservation, per-producer order, FIFO
/// prefix), drops the queue and asserts that every payload was dropped
/// exactly once.
///
/// `payloads_per_op` bounds how many payloads one operation may create.
pub fn check_concurrent<Q, Op>(
    input: &Scripts<Op>,
    payloads_per_op: usize,
    step: impl Fn(&mut ThreadRun<'_, Q>, &Op) + Sync,
) where
    Q: UnboundedQueue<Tracked> + Sync,
    Op: Sync,
{
    let max_len = MAX_THREAD_OPS * payloads_per_op * 3;
    let ledger = Ledger::new(max_len);
    let queue = Q::new();
    let results = input.run(|producer, script| {
        let mut thread = ThreadRun {
            queue: &queue,
            ledger: &ledger,
            max_len,
            producer,
            pushed: Vec::new(),
            popped: Vec::new(),
        };
        for op in script {
            step(&mut thread, op);
        }
        (thread.pushed, thread.popped)
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
