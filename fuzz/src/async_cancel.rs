//! Async waits under cancellation: an op script creates `acquire_many_async`,
//! `push_async` and `pop_async` futures, polls them with counting wakers
//! (sometimes a fresh one), drops them at any point, and releases, pushes,
//! pops and closes in between, all on one thread against a sequential model.
//!
//! Checked:
//! - Elements: the ring's contents follow a `VecDeque` model (every
//!   completed push appends, every pop takes the model's front), and every
//!   payload is dropped exactly once (ledger), whether popped, dropped with a
//!   cancelled push, or left in the ring.
//! - Permits: the permits held never exceed those in existence
//!   (`available + held <= total`), and once every future and permit is
//!   dropped all `total` are available again: none lost to a cancelled,
//!   granted or woken future.
//! - Wake-ups: `RunWoken` (and the end of the script) act as an executor
//!   that polls only woken futures until none is; then no pending future
//!   may be able to proceed: an acquire waits only while fewer permits than
//!   it needs are available, a pop only on an empty open ring, a push only on
//!   a full open ring. A wake-up that a dropped future swallowed instead of
//!   passing on leaves a waiter pending while it could proceed, and fails
//!   here. A waker replaced by a re-poll is never woken afterwards.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};

use arbitrary::Arbitrary;
use freelane::{AcquireError, Permit, PushError, RingBuffer, Semaphore};

use crate::{Ledger, Tag, Tracked, bounded_ops};

/// At most this many futures alive at once (more ops are ignored).
const MAX_FUTURES: usize = 12;

/// One step of the script.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// Create `acquire_many_async(1 + n % 4)` (not polled yet).
    Acquire(u8),
    /// Create `push_async` of a fresh payload.
    Push,
    /// Create `pop_async`.
    Pop,
    /// Poll the future at this index (modulo) with its current waker.
    Poll(u8),
    /// Poll it with a fresh waker, retiring the old one.
    PollNewWaker(u8),
    /// Drop the future at this index, whatever its state.
    DropFuture(u8),
    /// Drop the held permit at this index.
    Release(u8),
    /// `add_permits(1 + n % 3)`.
    AddPermits(u8),
    /// `try_push` a fresh payload.
    TryPush,
    /// `try_pop`.
    TryPop,
    /// `close` the semaphore.
    CloseSemaphore,
    /// `close` the ring.
    CloseRing,
    /// Poll woken futures until none is woken, then check liveness.
    RunWoken,
}

/// A script.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Initial permits, `0..=3`.
    pub permits: u8,
    /// Ring capacity, `1..=3`.
    pub capacity: u8,
    /// The steps, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

enum Kind<'a> {
    Acquire(usize, Boxed<'a, Result<Permit<'a>, AcquireError>>),
    Push(Boxed<'a, Result<(), PushError<Tracked>>>),
    Pop(Boxed<'a, Option<Tracked>>),
}

/// A live future, its current waker and the wake count seen at its last poll.
struct Slot<'a> {
    kind: Kind<'a>,
    waker: Arc<Count>,
    seen: usize,
    /// Polled at least once and still pending (so registered somewhere).
    polled: bool,
    /// The payload's tag, for a push.
    tag: Option<Tag>,
}

struct Harness<'a> {
    semaphore: &'a Semaphore,
    ring: &'a RingBuffer<Tracked>,
    ledger: Arc<Ledger>,
    model: VecDeque<Tag>,
    capacity: usize,
    ring_closed: bool,
    total: usize,
    held: Vec<Permit<'a>>,
    futures: Vec<Slot<'a>>,
    /// Wakers replaced by a re-poll, with their count at that moment.
    retired: Vec<(Arc<Count>, usize)>,
    next_seq: usize,
}

impl<'a> Harness<'a> {
    fn payload(&mut self) -> Tracked {
        self.next_seq += 1;
        self.ledger.payload(Tag {
            producer: 0,
            seq: self.next_seq,
        })
    }

    fn pushed(&mut self, tag: Tag) {
        assert!(self.model.len() < self.capacity, "a push past capacity");
        self.model.push_back(tag);
    }

    fn popped(&mut self, value: Option<Tracked>) {
        match value {
            Some(value) => assert_eq!(Some(value.tag), self.model.pop_front(), "FIFO order"),
            None => assert!(
                self.ring_closed && self.model.is_empty(),
                "None before closed and drained"
            ),
        }
    }

    fn held_permits(&self) -> usize {
        self.held.iter().map(Permit::permits).sum()
    }

    fn check_permits(&self) {
        assert!(
            self.semaphore.available_permits() + self.held_permits() <= self.total,
            "more permits than exist"
        );
    }

    /// Polls slot `index`; a finished future is removed and its output
    /// checked. Returns whether it finished.
    fn poll(&mut self, index: usize) -> bool {
        let mut slot = self.futures.remove(index);
        let waker = Waker::from(Arc::clone(&slot.waker));
        let mut cx = Context::from_waker(&waker);
        slot.seen = slot.waker.0.load(SeqCst);
        let finished = match &mut slot.kind {
            Kind::Acquire(n, future) => match future.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(permit)) => {
                    assert_eq!(permit.permits(), *n);
                    self.held.push(permit);
                    true
                }
                Poll::Ready(Err(error)) => {
                    assert_eq!(error, AcquireError::Closed);
                    assert!(self.semaphore.is_closed());
                    true
                }
                Poll::Pending => false,
            },
            Kind::Push(future) => match future.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(())) => {
                    let tag = slot.tag.expect("a push has a tag");
                    self.pushed(tag);
                    true
                }
                Poll::Ready(Err(error)) => {
                    assert!(error.is_closed() && self.ring_closed, "push failed open");
                    assert_eq!(
                        Some(error.into_inner().tag),
                        slot.tag,
                        "its value comes back"
                    );
                    true
                }
                Poll::Pending => false,
            },
            Kind::Pop(future) => match future.as_mut().poll(&mut cx) {
                Poll::Ready(value) => {
                    self.popped(value);
                    true
                }
                Poll::Pending => false,
            },
        };
        if !finished {
            slot.polled = true;
            self.futures.insert(index, slot);
        }
        self.check_permits();
        finished
    }

    /// The executor: poll woken futures until none is woken.
    fn run_woken(&mut self) {
        // Every poll either finishes a future or consumes a wake-up; a
        // generous bound turns a wake-up storm into a failure.
        for _ in 0..10_000 {
            let Some(index) = self
                .futures
                .iter()
                .position(|slot| slot.waker.0.load(SeqCst) != slot.seen)
            else {
                self.check_quiescent();
                return;
            };
            self.poll(index);
        }
        panic!("futures keep waking each other");
    }

    /// No pending future could proceed (see the module docs).
    fn check_quiescent(&self) {
        let available = self.semaphore.available_permits();
        for slot in self.futures.iter().filter(|slot| slot.polled) {
            match &slot.kind {
                Kind::Acquire(n, _) => {
                    assert!(
                        !self.semaphore.is_closed(),
                        "closed, yet an acquire still waits"
                    );
                    assert!(
                        available < *n,
                        "{available} permits free, an acquire of {n} asleep"
                    );
                }
                Kind::Push(_) => {
                    assert!(!self.ring_closed, "closed, yet a push still waits");
                    assert_eq!(self.model.len(), self.capacity, "room, yet a push asleep");
                }
                Kind::Pop(_) => {
                    assert!(!self.ring_closed, "closed, yet a pop still waits");
                    assert!(self.model.is_empty(), "a value, yet a pop asleep");
                }
            }
        }
        for (waker, count) in &self.retired {
            assert_eq!(waker.0.load(SeqCst), *count, "a replaced waker was woken");
        }
    }

    fn add(&mut self, kind: Kind<'a>, tag: Option<Tag>) {
        if self.futures.len() < MAX_FUTURES {
            self.futures.push(Slot {
                kind,
                waker: Arc::default(),
                seen: 0,
                polled: false,
                tag,
            });
        }
    }

    fn step(&mut self, op: Op) {
        let pick = |len: usize, index: u8| (len > 0).then(|| usize::from(index) % len);
        match op {
            Op::Acquire(n) => {
                let n = 1 + usize::from(n % 4);
                let future = Box::pin(self.semaphore.acquire_many_async(n));
                self.add(Kind::Acquire(n, future), None);
            }
            Op::Push => {
                if self.futures.len() < MAX_FUTURES {
                    let value = self.payload();
                    let tag = value.tag;
                    let future = Box::pin(self.ring.push_async(value));
                    self.add(Kind::Push(future), Some(tag));
                }
            }
            Op::Pop => {
                let future = Box::pin(self.ring.pop_async());
                self.add(Kind::Pop(future), None);
            }
            Op::Poll(index) => {
                if let Some(index) = pick(self.futures.len(), index) {
                    self.poll(index);
                }
            }
            Op::PollNewWaker(index) => {
                if let Some(index) = pick(self.futures.len(), index) {
                    let old = std::mem::take(&mut self.futures[index].waker);
                    let count = old.0.load(SeqCst);
                    // Only a stored waker can be woken later; a future never
                    // polled has none, nor one whose last poll finished it.
                    if self.futures[index].polled {
                        self.retired.push((old, count));
                    }
                    self.poll(index);
                }
            }
            Op::DropFuture(index) => {
                if let Some(index) = pick(self.futures.len(), index) {
                    drop(self.futures.remove(index));
                    self.check_permits();
                }
            }
            Op::Release(index) => {
                if let Some(index) = pick(self.held.len(), index) {
                    drop(self.held.remove(index));
                }
            }
            Op::AddPermits(n) => {
                let n = 1 + usize::from(n % 3);
                self.total += n;
                self.semaphore.add_permits(n);
            }
            Op::TryPush => {
                let value = self.payload();
                let tag = value.tag;
                match self.ring.try_push(value) {
                    Ok(()) => self.pushed(tag),
                    Err(error) => {
                        assert_eq!(error.is_closed(), self.ring_closed);
                        assert!(self.ring_closed || self.model.len() == self.capacity);
                    }
                }
            }
            Op::TryPop => match self.ring.try_pop() {
                Ok(value) => self.popped(Some(value)),
                Err(_) => assert!(self.model.is_empty(), "Empty with values in"),
            },
            Op::CloseSemaphore => {
                self.semaphore.close();
            }
            Op::CloseRing => {
                self.ring.close();
                self.ring_closed = true;
            }
            Op::RunWoken => self.run_woken(),
        }
    }
}

/// Runs `input` and checks everything listed in the module docs.
pub fn check(input: &Input) {
    let permits = usize::from(input.permits % 4);
    let capacity = 1 + usize::from(input.capacity % 3);
    let ops = bounded_ops(&input.ops);
    let semaphore = Semaphore::new(permits);
    let ring = RingBuffer::new(capacity);
    let ledger = Ledger::new(ops.len() + 1);
    {
        let mut harness = Harness {
            semaphore: &semaphore,
            ring: &ring,
            ledger: Arc::clone(&ledger),
            model: VecDeque::new(),
            capacity,
            ring_closed: false,
            total: permits,
            held: Vec::new(),
            futures: Vec::new(),
            retired: Vec::new(),
            next_seq: 0,
        };
        for op in ops {
            harness.step(*op);
        }
        harness.run_woken();
        let total = harness.total;
        // Cancel everything still pending, return every permit.
        harness.futures.clear();
        harness.held.clear();
        assert_eq!(semaphore.available_permits(), total, "a permit was lost");
        assert_eq!(ring.len(), harness.model.len(), "elements lost or made up");
    }
    drop(ring);
    ledger.assert_all_dropped();
}
