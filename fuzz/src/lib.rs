//! Shared half of freelane's fuzz targets: input decoding, sequential
//! models and the checks run after concurrent scripts.
//!
//! Every target in `fuzz_targets/` is one call into this crate. An input is
//! decoded with `arbitrary` into a list of operations (sequential targets) or
//! into two or three per-thread scripts (concurrent targets).
//!
//! - Sequential targets apply each operation to the structure and to a plain
//!   model (`VecDeque`, a `u64`, a permit count) and assert that every result
//!   matches.
//! - Concurrent targets start the scripts on real threads behind a barrier,
//!   record what each thread saw, and check afterwards what must hold in any
//!   interleaving: every element exactly once, per-producer order, permit
//!   bounds, and that every payload is dropped exactly once.
//!
//! Work per input is bounded ([`MAX_SEQUENTIAL_OPS`], [`MAX_THREAD_OPS`]) and
//! nothing waits without a bound, so each execution is short.
//!
//! Modules: [`ms_queue`] and [`segmented_queue`] (their shared checks in
//! [`unbounded`]), [`ring_buffer`], [`semaphore`], [`counters`],
//! [`rate_limiter`], and [`async_cancel`] (futures polled, woken and dropped
//! by a script); this file holds the pieces they all share ([`Ledger`],
//! [`Scripts`], [`Amount`]).

use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Barrier};

use arbitrary::Arbitrary;

pub mod async_cancel;
pub mod counters;
pub mod ms_queue;
pub mod rate_limiter;
pub mod ring_buffer;
pub mod segmented_queue;
pub mod semaphore;
pub mod unbounded;

/// Operations a sequential input may run (longer inputs are cut).
pub const MAX_SEQUENTIAL_OPS: usize = 1024;
/// Operations each thread of a concurrent input may run.
pub const MAX_THREAD_OPS: usize = 64;

/// Two or three per-thread scripts; each is cut to [`MAX_THREAD_OPS`].
#[derive(Arbitrary, Debug)]
pub struct Scripts<Op> {
    /// Thread 0.
    pub first: Vec<Op>,
    /// Thread 1.
    pub second: Vec<Op>,
    /// Thread 2, if any.
    pub third: Option<Vec<Op>>,
}

impl<Op> Scripts<Op> {
    /// The scripts, one per thread, each at most [`MAX_THREAD_OPS`] long.
    pub fn threads(&self) -> Vec<&[Op]> {
        let mut threads = vec![bounded(&self.first), bounded(&self.second)];
        if let Some(third) = &self.third {
            threads.push(bounded(third));
        }
        threads
    }

    /// Runs `body(thread_index, script)` on one real thread per script, all
    /// released together by a barrier, and returns what each returned, in
    /// thread order.
    pub fn run<R: Send>(&self, body: impl Fn(usize, &[Op]) -> R + Sync) -> Vec<R>
    where
        Op: Sync,
    {
        let threads = self.threads();
        let barrier = Barrier::new(threads.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = threads
                .iter()
                .enumerate()
                .map(|(index, script)| {
                    let (barrier, body) = (&barrier, &body);
                    scope.spawn(move || {
                        barrier.wait();
                        body(index, script)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a fuzz thread panicked"))
                .collect()
        })
    }
}

fn bounded<Op>(script: &[Op]) -> &[Op] {
    &script[..script.len().min(MAX_THREAD_OPS)]
}

/// A sequential input's operations, cut to [`MAX_SEQUENTIAL_OPS`].
pub fn bounded_ops<Op>(ops: &[Op]) -> &[Op] {
    &ops[..ops.len().min(MAX_SEQUENTIAL_OPS)]
}

/// A number that is often at an edge: small, just below a limit, or anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Amount {
    /// 0 to 255.
    Small(u8),
    /// `limit - k`.
    BelowLimit(u8),
    /// `limit + k` (wrapping; `saturating` where a type needs it).
    AboveLimit(u8),
    /// Any value.
    Any(u64),
}

impl Amount {
    /// The value, with `limit` as the edge to cluster around.
    pub fn value(self, limit: u64) -> u64 {
        match self {
            Amount::Small(k) => u64::from(k),
            Amount::BelowLimit(k) => limit.wrapping_sub(u64::from(k)),
            Amount::AboveLimit(k) => limit.saturating_add(u64::from(k)),
            Amount::Any(value) => value,
        }
    }
}

/// Drop accounting: one flag per payload id, counting its drops.
///
/// [`Ledger::payload`] hands out [`Tracked`] values with fresh ids; their
/// drop bumps the flag and panics on a second drop. [`Ledger::assert_all_dropped`]
/// at the end checks that none leaked.
#[derive(Debug)]
pub struct Ledger {
    drops: Vec<AtomicU8>,
    next: std::sync::atomic::AtomicUsize,
}

impl Ledger {
    /// A ledger for at most `capacity` payloads.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            drops: (0..capacity).map(|_| AtomicU8::new(0)).collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// A new payload carrying `tag` (e.g. producer and sequence number).
    pub fn payload(self: &Arc<Self>, tag: Tag) -> Tracked {
        let id = self.next.fetch_add(1, SeqCst);
        assert!(id < self.drops.len(), "ledger too small: the harness's bug");
        Tracked {
            id,
            tag,
            ledger: Arc::clone(self),
        }
    }

    /// Panics unless every payload handed out has been dropped exactly once.
    pub fn assert_all_dropped(&self) {
        let created = self.next.load(SeqCst);
        for (id, drops) in self.drops[..created].iter().enumerate() {
            assert_eq!(
                drops.load(SeqCst),
                1,
                "payload {id} was dropped {} times (leaked if 0)",
                drops.load(SeqCst)
            );
        }
    }
}

/// Who made a payload: producer thread and its sequence number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    /// Producing thread (0 in sequential targets).
    pub producer: usize,
    /// Position among that producer's payloads.
    pub seq: usize,
}

/// A payload whose drop is counted in its [`Ledger`].
#[derive(Debug)]
pub struct Tracked {
    id: usize,
    /// What the harness compares.
    pub tag: Tag,
    ledger: Arc<Ledger>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let before = self.ledger.drops[self.id].fetch_add(1, SeqCst);
        assert_eq!(
            before, 0,
            "payload {} ({:?}) dropped twice",
            self.id, self.tag
        );
    }
}

/// Checks a FIFO's concurrent history: `consumed[t]` is what thread `t` took
/// out during the run, in its order; `produced[p]` how many payloads producer
/// `p` got in (successful pushes, in sequence order 0..n); `remaining` what
/// was drained afterwards, in order.
///
/// - conservation: every produced tag appears exactly once in
///   `consumed ∪ remaining`, and nothing else does;
/// - per-producer order: each consumer sees a producer's tags in increasing
///   order, and so does the drain;
/// - FIFO prefix: what was taken of a producer during the run is a prefix of
///   what it produced (a later element never leaves before an earlier one).
pub fn check_fifo_history(produced: &[Vec<usize>], consumed: &[Vec<Tag>], remaining: &[Tag]) {
    let mut seen: std::collections::HashSet<Tag> = std::collections::HashSet::new();
    for (thread, tags) in consumed.iter().enumerate() {
        let mut last: Vec<Option<usize>> = vec![None; produced.len()];
        for tag in tags {
            assert!(
                seen.insert(*tag),
                "{tag:?} taken out twice (thread {thread})"
            );
            if let Some(previous) = last[tag.producer] {
                assert!(
                    previous < tag.seq,
                    "thread {thread} took producer {}'s #{} after #{previous}",
                    tag.producer,
                    tag.seq
                );
            }
            last[tag.producer] = Some(tag.seq);
        }
    }
    // Per producer, the run took a prefix of its pushes, by sequence order
    // among the successful ones.
    for (producer, pushed) in produced.iter().enumerate() {
        let taken = pushed
            .iter()
            .filter(|&&seq| seen.contains(&Tag { producer, seq }))
            .count();
        for (index, &seq) in pushed.iter().enumerate() {
            let was_taken = seen.contains(&Tag { producer, seq });
            assert_eq!(
                was_taken,
                index < taken,
                "producer {producer}: #{seq} taken during the run is not a FIFO prefix \
                 ({taken} of {} taken)",
                pushed.len()
            );
        }
    }
    let mut last: Vec<Option<usize>> = vec![None; produced.len()];
    for tag in remaining {
        assert!(seen.insert(*tag), "{tag:?} drained but already taken");
        if let Some(previous) = last[tag.producer] {
            assert!(
                previous < tag.seq,
                "drain out of order: {tag:?} after #{previous}"
            );
        }
        last[tag.producer] = Some(tag.seq);
    }
    let total: usize = produced.iter().map(Vec::len).sum();
    for (producer, pushed) in produced.iter().enumerate() {
        for &seq in pushed {
            assert!(
                seen.contains(&Tag { producer, seq }),
                "producer {producer}'s #{seq} was pushed but never came out"
            );
        }
    }
    assert_eq!(seen.len(), total, "more came out than went in");
}
