//! `RingBuffer`: sequential model (`VecDeque` + capacity + closed flag) and
//! concurrent history check.

use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::Arbitrary;
use freelane::{PopError, PushError, RingBuffer};

use crate::{Ledger, Scripts, Tag, Tracked, bounded_ops, check_fifo_history};

/// Largest capacity a sequential input asks for (non-powers of two included).
pub const MAX_CAPACITY: usize = 300;
/// Largest capacity a concurrent input asks for: small, so threads meet at
/// the full and empty edges.
pub const MAX_CONCURRENT_CAPACITY: usize = 24;

/// One operation on the buffer.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// `try_push` a fresh payload.
    TryPush,
    /// `try_push_many` with 1 to 64 payloads.
    TryPushMany(u8),
    /// `force_push`.
    ForcePush,
    /// `try_pop`.
    TryPop,
    /// `try_pop_many` with `max` 0 to 64.
    TryPopMany(u8),
    /// `close`.
    Close,
    /// `len`, `is_empty`, `is_full`, `capacity`, `is_closed`.
    Inspect,
    /// Blocking `push`, only when the model says it will not wait.
    Push,
    /// Blocking `pop`, only when the model says it will not wait.
    Pop,
    /// `push_timeout` with a zero timeout.
    PushTimeout,
    /// `pop_timeout` with a zero timeout.
    PopTimeout,
    /// `try_new` with capacities that must be refused.
    BadCapacity,
}

/// A sequential input.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Capacity is `1 + capacity % MAX_CAPACITY`.
    pub capacity: u16,
    /// Operations, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
}

/// The model: a deque, its capacity and the closed flag.
struct Model {
    values: VecDeque<usize>,
    capacity: usize,
    closed: bool,
}

impl Model {
    fn push(&mut self, seq: usize) -> Result<(), PushError<usize>> {
        if self.closed {
            Err(PushError::Closed(seq))
        } else if self.values.len() == self.capacity {
            Err(PushError::Full(seq))
        } else {
            self.values.push_back(seq);
            Ok(())
        }
    }

    fn pop(&mut self) -> Result<usize, PopError> {
        match self.values.pop_front() {
            Some(seq) => Ok(seq),
            None if self.closed => Err(PopError::Closed),
            None => Err(PopError::Empty),
        }
    }

    fn force_push(&mut self, seq: usize) -> Result<Option<usize>, usize> {
        if self.closed {
            return Err(seq);
        }
        let evicted = if self.values.len() == self.capacity {
            self.values.pop_front()
        } else {
            None
        };
        self.values.push_back(seq);
        Ok(evicted)
    }
}

fn push_tags(result: Result<(), PushError<Tracked>>) -> Result<(), PushError<usize>> {
    result.map_err(|err| match err {
        PushError::Full(value) => PushError::Full(value.tag.seq),
        PushError::Closed(value) => PushError::Closed(value.tag.seq),
    })
}

/// Applies `input` to a `RingBuffer` and the model; every result must match.
pub fn check_sequential(input: &Input) {
    let ops = bounded_ops(&input.ops);
    let capacity = 1 + usize::from(input.capacity) % MAX_CAPACITY;
    let ledger = Ledger::new(ops.len() * 64 + 1);
    let ring = RingBuffer::new(capacity);
    let mut model = Model {
        values: VecDeque::new(),
        capacity,
        closed: false,
    };
    let mut next = 0;
    let mut fresh = || {
        next += 1;
        ledger.payload(Tag {
            producer: 0,
            seq: next - 1,
        })
    };
    for op in ops {
        match *op {
            Op::TryPush => {
                let value = fresh();
                let seq = value.tag.seq;
                assert_eq!(push_tags(ring.try_push(value)), model.push(seq), "try_push");
            }
            Op::TryPushMany(count) => {
                let mut items: Vec<Tracked> =
                    (0..1 + usize::from(count) % 64).map(|_| fresh()).collect();
                let seqs: Vec<usize> = items.iter().map(|value| value.tag.seq).collect();
                let room = if model.closed {
                    0
                } else {
                    capacity - model.values.len()
                };
                let expected = room.min(seqs.len());
                assert_eq!(
                    ring.try_push_many(&mut items),
                    expected,
                    "try_push_many count"
                );
                model.values.extend(&seqs[..expected]);
                let left: Vec<usize> = items.iter().map(|value| value.tag.seq).collect();
                assert_eq!(
                    left,
                    seqs[expected..],
                    "try_push_many left the rest, in order"
                );
                // The rest are dropped here, counted by the ledger.
            }
            Op::ForcePush => {
                let value = fresh();
                let seq = value.tag.seq;
                let got = match ring.force_push(value) {
                    Ok(evicted) => Ok(evicted.map(|value| value.tag.seq)),
                    Err(value) => Err(value.tag.seq),
                };
                assert_eq!(got, model.force_push(seq), "force_push");
            }
            Op::TryPop => {
                let got = ring.try_pop().map(|value| value.tag.seq);
                assert_eq!(got, model.pop(), "try_pop");
            }
            Op::TryPopMany(max) => {
                let max = usize::from(max) % 65;
                let mut out = Vec::new();
                let taken = ring.try_pop_many(&mut out, max);
                let expected: Vec<usize> = (0..max.min(model.values.len()))
                    .filter_map(|_| model.values.pop_front())
                    .collect();
                assert_eq!(taken, expected.len(), "try_pop_many count");
                let got: Vec<usize> = out.iter().map(|value| value.tag.seq).collect();
                assert_eq!(got, expected, "try_pop_many values, oldest first");
            }
            Op::Close => {
                assert_eq!(ring.close(), !model.closed, "close's first-caller flag");
                model.closed = true;
            }
            Op::Inspect => {
                let len = model.values.len();
                assert_eq!(ring.len(), len, "len");
                assert_eq!(ring.is_empty(), len == 0, "is_empty");
                assert_eq!(ring.is_full(), len == capacity, "is_full");
                assert_eq!(ring.capacity(), capacity, "capacity");
                assert_eq!(ring.is_closed(), model.closed, "is_closed");
            }
            Op::Push => {
                if model.closed || model.values.len() < capacity {
                    let value = fresh();
                    let seq = value.tag.seq;
                    assert_eq!(push_tags(ring.push(value)), model.push(seq), "push");
                }
            }
            Op::Pop => {
                if model.closed || !model.values.is_empty() {
                    let got = ring.pop().map(|value| value.tag.seq);
                    assert_eq!(got, model.pop().ok(), "pop");
                }
            }
            Op::PushTimeout => {
                let value = fresh();
                let seq = value.tag.seq;
                let got = push_tags(ring.push_timeout(value, Duration::ZERO));
                assert_eq!(got, model.push(seq), "push_timeout");
            }
            Op::PopTimeout => {
                let got = ring.pop_timeout(Duration::ZERO).map(|value| value.tag.seq);
                assert_eq!(got, model.pop(), "pop_timeout");
            }
            Op::BadCapacity => {
                assert!(RingBuffer::<Tracked>::try_new(0).is_err(), "try_new(0)");
                let too_big = RingBuffer::<Tracked>::MAX_CAPACITY + 1;
                assert!(
                    RingBuffer::<Tracked>::try_new(too_big).is_err(),
                    "try_new(MAX + 1)"
                );
                assert!(
                    RingBuffer::<Tracked>::try_new(usize::MAX).is_err(),
                    "try_new(MAX)"
                );
            }
        }
    }
    // The rest is freed by the buffer's Drop.
    drop(ring);
    ledger.assert_all_dropped();
}

/// One operation of a thread's script.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ThreadOp {
    /// `try_push` this thread's next payload.
    TryPush,
    /// `force_push` it (an evicted value counts as taken by this thread).
    ForcePush,
    /// `try_pop`.
    TryPop,
    /// `try_push_many` with 1 to 8 of this thread's next payloads.
    TryPushMany(u8),
    /// `try_pop_many` with `max` 0 to 8.
    TryPopMany(u8),
    /// `push_timeout` (0 to 31 µs).
    PushTimeout(u8),
    /// `pop_timeout` (0 to 31 µs).
    PopTimeout(u8),
    /// `close`.
    Close,
    /// `len` and `is_closed`.
    Inspect,
}

/// Largest batch a concurrent thread pushes or pops at once.
const MAX_BATCH: usize = 8;

/// A concurrent input: capacity and two or three scripts.
#[derive(Arbitrary, Debug)]
pub struct ConcurrentInput {
    /// Capacity is `1 + capacity % MAX_CONCURRENT_CAPACITY`.
    pub capacity: u8,
    /// The per-thread scripts.
    pub scripts: Scripts<ThreadOp>,
}

/// What one thread saw.
#[derive(Default)]
struct Seen {
    pushed: Vec<usize>,
    taken: Vec<Tag>,
    closed_it: bool,
}

/// Runs the scripts on real threads against one buffer, then drains it and
/// checks conservation, per-producer order, the FIFO prefix, close's
/// one winner and monotone `Closed` results, and drops.
pub fn check_concurrent(input: &ConcurrentInput) {
    let capacity = 1 + usize::from(input.capacity) % MAX_CONCURRENT_CAPACITY;
    let ledger = Ledger::new(crate::MAX_THREAD_OPS * 3 * MAX_BATCH);
    let ring = RingBuffer::new(capacity);
    let results = input.scripts.run(|thread, script| {
        let mut seen = Seen::default();
        let mut next = 0;
        // Once this thread knows the buffer is closed, pushes must say so.
        let mut knows_closed = false;
        // Once a pop said Closed (closed and drained), it stays so.
        let mut knows_drained = false;
        let micros = |k: u8| Duration::from_micros(u64::from(k % 32));
        for op in script {
            let tag = Tag {
                producer: thread,
                seq: next,
            };
            match *op {
                ThreadOp::TryPush | ThreadOp::PushTimeout(_) => {
                    next += 1;
                    let value = ledger.payload(tag);
                    let result = match *op {
                        ThreadOp::PushTimeout(k) => ring.push_timeout(value, micros(k)),
                        _ => ring.try_push(value),
                    };
                    match result {
                        Ok(()) => {
                            assert!(!knows_closed, "push succeeded after close was seen");
                            seen.pushed.push(tag.seq);
                        }
                        Err(PushError::Full(value)) => {
                            assert!(!knows_closed, "push said Full after close was seen");
                            assert_eq!(value.tag, tag, "Full gave back another value");
                        }
                        Err(PushError::Closed(value)) => {
                            knows_closed = true;
                            assert_eq!(value.tag, tag, "Closed gave back another value");
                        }
                    }
                }
                ThreadOp::TryPushMany(count) => {
                    let count = 1 + usize::from(count) % MAX_BATCH;
                    let mut items: Vec<Tracked> = (next..next + count)
                        .map(|seq| {
                            ledger.payload(Tag {
                                producer: thread,
                                seq,
                            })
                        })
                        .collect();
                    next += count;
                    let pushed = ring.try_push_many(&mut items);
                    assert_eq!(pushed + items.len(), count, "try_push_many lost values");
                    if pushed > 0 {
                        assert!(
                            !knows_closed,
                            "try_push_many took values after close was seen"
                        );
                    }
                    // What went in is the front of the batch; the rest are
                    // still here, in order (dropped below, counted).
                    let first_left = next - items.len();
                    seen.pushed.extend(next - count..first_left);
                    for (k, value) in items.iter().enumerate() {
                        assert_eq!(
                            value.tag.seq,
                            first_left + k,
                            "try_push_many reordered the rest"
                        );
                    }
                }
                ThreadOp::TryPopMany(max) => {
                    let max = usize::from(max) % (MAX_BATCH + 1);
                    let mut out = Vec::new();
                    let taken = ring.try_pop_many(&mut out, max);
                    assert_eq!(taken, out.len(), "try_pop_many's count");
                    assert!(taken <= max, "try_pop_many took {taken} > max {max}");
                    if taken > 0 {
                        assert!(!knows_drained, "a value came out after Closed");
                    }
                    seen.taken.extend(out.iter().map(|value| value.tag));
                }
                ThreadOp::ForcePush => {
                    next += 1;
                    match ring.force_push(ledger.payload(tag)) {
                        Ok(evicted) => {
                            assert!(!knows_closed, "force_push succeeded after close was seen");
                            seen.pushed.push(tag.seq);
                            if let Some(old) = evicted {
                                seen.taken.push(old.tag);
                            }
                        }
                        Err(value) => {
                            knows_closed = true;
                            assert_eq!(value.tag, tag, "force_push gave back another value");
                        }
                    }
                }
                ThreadOp::TryPop | ThreadOp::PopTimeout(_) => {
                    let result = match *op {
                        ThreadOp::PopTimeout(k) => ring.pop_timeout(micros(k)),
                        _ => ring.try_pop(),
                    };
                    match result {
                        Ok(value) => {
                            assert!(!knows_drained, "a value came out after Closed");
                            seen.taken.push(value.tag);
                        }
                        Err(PopError::Empty) => {
                            assert!(!knows_drained, "Empty after Closed");
                        }
                        Err(PopError::Closed) => {
                            knows_closed = true;
                            knows_drained = true;
                        }
                    }
                }
                ThreadOp::Close => {
                    seen.closed_it |= ring.close();
                    knows_closed = true;
                }
                ThreadOp::Inspect => {
                    let len = ring.len();
                    assert!(len <= capacity, "len {len} > capacity {capacity}");
                    if ring.is_closed() {
                        knows_closed = true;
                    } else {
                        assert!(!knows_closed, "is_closed went back to false");
                    }
                }
            }
        }
        seen
    });
    let closers = results.iter().filter(|seen| seen.closed_it).count();
    assert!(
        closers <= 1,
        "{closers} threads were told they closed the buffer"
    );
    let mut remaining = Vec::new();
    let end = loop {
        match ring.try_pop() {
            Ok(value) => remaining.push(value.tag),
            Err(err) => break err,
        }
    };
    assert_eq!(
        end.is_closed(),
        ring.is_closed(),
        "drain ended with {end:?}"
    );
    assert_eq!(
        closers == 1,
        ring.is_closed(),
        "closed without a winner, or the reverse"
    );
    assert!(
        remaining.len() <= capacity,
        "drained {} > capacity",
        remaining.len()
    );
    let produced: Vec<_> = results.iter().map(|seen| seen.pushed.clone()).collect();
    let consumed: Vec<_> = results.iter().map(|seen| seen.taken.clone()).collect();
    check_fifo_history(&produced, &consumed, &remaining);
    drop(ring);
    ledger.assert_all_dropped();
}
