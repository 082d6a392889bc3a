//! Linearizability of MsQueue, RingBuffer and Semaphore, checked on many
//! short concurrent histories against their sequential specifications (see
//! `support/linearizability.rs` for the checker), and checks that the
//! checker itself rejects histories that have no linearization.

mod support;

use std::collections::VecDeque;

use freelane::{MsQueue, PopError, PushError, RingBuffer, Semaphore, TryAcquireError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use support::linearizability::queue::{QueueOp, QueueRet, QueueSpec, queue_scripts};
use support::linearizability::{Event, Spec, check, record};

/// How many random histories each structure is checked on.
fn histories() -> usize {
    support::scaled(400)
}

// ---------------------------------------------------------------- queues --

fn assert_linearizable<S: Spec>(initial: &S::State, history: &[Event<S::Op, S::Ret>]) {
    if let Err(report) = check::<S>(initial, history) {
        panic!("{report}");
    }
}

#[test]
fn ms_queue_histories_are_linearizable() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    for _ in 0..histories() {
        let threads = rng.random_range(2..=4);
        let scripts = queue_scripts(&mut rng, threads, 4, 0.55);
        let queue = MsQueue::new();
        let history = record(&scripts, |_, op| match op {
            QueueOp::Push(value) => {
                queue.push(*value);
                QueueRet::Pushed
            }
            QueueOp::Pop => QueueRet::Popped(queue.pop()),
        });
        assert_linearizable::<QueueSpec>(&VecDeque::new(), &history);
    }
}

// ------------------------------------------------------------ ring buffer --

#[derive(Clone, Debug)]
enum RingOp {
    TryPush(u32),
    TryPop,
    ForcePush(u32),
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum RingRet {
    Push(Result<(), PushError<u32>>),
    Pop(Result<u32, PopError>),
    Force(Result<Option<u32>, u32>),
    Closed(bool),
}

/// A bounded, closable FIFO queue: (contents, capacity, closed).
struct RingSpec;

impl Spec for RingSpec {
    type State = (VecDeque<u32>, usize, bool);
    type Op = RingOp;
    type Ret = RingRet;

    fn step((items, capacity, closed): &mut Self::State, op: &RingOp, ret: &RingRet) -> bool {
        let expected = match op {
            RingOp::TryPush(value) if *closed => RingRet::Push(Err(PushError::Closed(*value))),
            RingOp::TryPush(value) if items.len() == *capacity => {
                RingRet::Push(Err(PushError::Full(*value)))
            }
            RingOp::TryPush(value) => {
                items.push_back(*value);
                RingRet::Push(Ok(()))
            }
            RingOp::TryPop => RingRet::Pop(match items.pop_front() {
                Some(value) => Ok(value),
                None if *closed => Err(PopError::Closed),
                None => Err(PopError::Empty),
            }),
            RingOp::ForcePush(value) if *closed => RingRet::Force(Err(*value)),
            RingOp::ForcePush(value) => {
                let replaced = if items.len() == *capacity {
                    items.pop_front()
                } else {
                    None
                };
                items.push_back(*value);
                RingRet::Force(Ok(replaced))
            }
            RingOp::Close => RingRet::Closed(!std::mem::replace(closed, true)),
        };
        expected == *ret
    }
}

fn ring_scripts(
    rng: &mut StdRng,
    threads: usize,
    ops: usize,
    with_close: bool,
) -> Vec<Vec<RingOp>> {
    let mut next_value = 0;
    (0..threads)
        .map(|_| {
            (0..ops)
                .map(|_| {
                    next_value += 1;
                    match rng.random_range(0..100) {
                        0..40 => RingOp::TryPush(next_value),
                        40..75 => RingOp::TryPop,
                        75..92 => RingOp::ForcePush(next_value),
                        _ if with_close => RingOp::Close,
                        _ => RingOp::TryPop,
                    }
                })
                .collect()
        })
        .collect()
}

fn check_ring(capacity: usize, with_close: bool, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..histories() {
        let threads = rng.random_range(2..=4);
        let scripts = ring_scripts(&mut rng, threads, 4, with_close);
        // Start some histories non-empty, so that Full outcomes are common.
        let prefill = rng.random_range(0..=capacity);
        let ring = RingBuffer::new(capacity);
        let mut initial = VecDeque::new();
        for value in 0..prefill as u32 {
            ring.try_push(1000 + value).unwrap();
            initial.push_back(1000 + value);
        }
        let history = record(&scripts, |_, op| match op {
            RingOp::TryPush(value) => RingRet::Push(ring.try_push(*value)),
            RingOp::TryPop => RingRet::Pop(ring.try_pop()),
            RingOp::ForcePush(value) => RingRet::Force(ring.force_push(*value)),
            RingOp::Close => RingRet::Closed(ring.close()),
        });
        assert_linearizable::<RingSpec>(&(initial, capacity, false), &history);
    }
}

#[test]
fn ring_buffer_capacity_1_histories_are_linearizable() {
    check_ring(1, false, 0x5eed_0101);
}

#[test]
fn ring_buffer_capacity_2_histories_are_linearizable() {
    check_ring(2, false, 0x5eed_0102);
}

#[test]
fn ring_buffer_capacity_4_histories_are_linearizable() {
    check_ring(4, false, 0x5eed_0105);
}

#[test]
fn ring_buffer_histories_with_close_are_linearizable() {
    check_ring(1, true, 0x5eed_0103);
    check_ring(2, true, 0x5eed_0104);
    check_ring(4, true, 0x5eed_0106);
}

// -------------------------------------------------------------- semaphore --

#[derive(Clone, Debug)]
enum SemOp {
    TryAcquire(usize),
    /// Drops the most recent permit this thread holds (if any).
    Release,
    AddPermits(usize),
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum SemRet {
    Acquired(Result<(), TryAcquireError>),
    /// How many permits went back.
    Released(usize),
    Added,
    Closed,
}

/// A counting semaphore: (available permits, closed).
struct SemaphoreSpec;

impl Spec for SemaphoreSpec {
    type State = (usize, bool);
    type Op = SemOp;
    type Ret = SemRet;

    fn step((available, closed): &mut Self::State, op: &SemOp, ret: &SemRet) -> bool {
        match (op, ret) {
            (SemOp::TryAcquire(n), SemRet::Acquired(got)) => {
                let expected = if *closed {
                    Err(TryAcquireError::Closed)
                } else if *available >= *n {
                    *available -= n;
                    Ok(())
                } else {
                    Err(TryAcquireError::NoPermits)
                };
                expected == *got
            }
            (SemOp::Release, SemRet::Released(n)) => {
                *available += n;
                true
            }
            (SemOp::AddPermits(n), SemRet::Added) => {
                *available += n;
                true
            }
            (SemOp::Close, SemRet::Closed) => {
                *closed = true;
                true
            }
            _ => false,
        }
    }
}

#[test]
fn semaphore_histories_are_linearizable() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0201);
    for round in 0..histories() {
        let threads = rng.random_range(2..=4);
        let scripts: Vec<Vec<SemOp>> = (0..threads)
            .map(|_| {
                (0..4)
                    .map(|_| match rng.random_range(0..100) {
                        0..45 => SemOp::TryAcquire(rng.random_range(1..=2)),
                        45..85 => SemOp::Release,
                        85..95 => SemOp::AddPermits(1),
                        _ if round % 4 == 0 => SemOp::Close,
                        _ => SemOp::Release,
                    })
                    .collect()
            })
            .collect();
        let initial = rng.random_range(0..=3);
        let semaphore = Semaphore::new(initial);
        let held: Vec<_> = (0..threads)
            .map(|_| std::sync::Mutex::new(Vec::new()))
            .collect();
        let history = record(&scripts, |thread, op| match op {
            SemOp::TryAcquire(n) => {
                SemRet::Acquired(semaphore.try_acquire_many(*n).map(|permit| {
                    held[thread].lock().unwrap().push(permit);
                }))
            }
            SemOp::Release => {
                SemRet::Released(held[thread].lock().unwrap().pop().map_or(0, |permit| {
                    let n = permit.permits();
                    drop(permit);
                    n
                }))
            }
            SemOp::AddPermits(n) => {
                semaphore.add_permits(*n);
                SemRet::Added
            }
            SemOp::Close => {
                semaphore.close();
                SemRet::Closed
            }
        });
        assert_linearizable::<SemaphoreSpec>(&(initial, false), &history);
    }
}

// ------------------------------------------------- the checker can fail --

/// A history event, for hand-written histories.
fn event<Op, Ret>(thread: usize, invoked: u64, responded: u64, op: Op, ret: Ret) -> Event<Op, Ret> {
    Event {
        thread,
        op,
        ret,
        invoked,
        responded,
    }
}

#[test]
fn checker_rejects_a_pop_that_overtakes_an_earlier_push() {
    // push(1) completes before push(2) starts, so FIFO order is fixed: a
    // later pop returning 2 while 1 is still inside has no linearization.
    let history = vec![
        event(0, 0, 1, QueueOp::Push(1), QueueRet::Pushed),
        event(0, 2, 3, QueueOp::Push(2), QueueRet::Pushed),
        event(1, 4, 5, QueueOp::Pop, QueueRet::Popped(Some(2))),
    ];
    assert!(check::<QueueSpec>(&VecDeque::new(), &history).is_err());
}

#[test]
fn checker_rejects_an_element_popped_twice() {
    let history = vec![
        event(0, 0, 1, QueueOp::Push(7), QueueRet::Pushed),
        event(1, 2, 5, QueueOp::Pop, QueueRet::Popped(Some(7))),
        event(2, 3, 4, QueueOp::Pop, QueueRet::Popped(Some(7))),
    ];
    assert!(check::<QueueSpec>(&VecDeque::new(), &history).is_err());
}

#[test]
fn checker_rejects_empty_reported_while_an_element_was_surely_inside() {
    let history = vec![
        event(0, 0, 1, QueueOp::Push(7), QueueRet::Pushed),
        event(1, 2, 3, QueueOp::Pop, QueueRet::Popped(None)),
    ];
    assert!(check::<QueueSpec>(&VecDeque::new(), &history).is_err());
}

#[test]
fn checker_accepts_overlapping_operations_in_either_order() {
    // push(1) and push(2) overlap, so either may be first; the pops that
    // follow both orders must be accepted, and the order found must respect
    // real time (the pops come after both pushes).
    for (first, second) in [(1, 2), (2, 1)] {
        let history = vec![
            event(0, 0, 3, QueueOp::Push(1), QueueRet::Pushed),
            event(1, 1, 2, QueueOp::Push(2), QueueRet::Pushed),
            event(2, 4, 5, QueueOp::Pop, QueueRet::Popped(Some(first))),
            event(2, 6, 7, QueueOp::Pop, QueueRet::Popped(Some(second))),
        ];
        let order = check::<QueueSpec>(&VecDeque::new(), &history).expect("linearizable");
        assert_eq!(&order[2..], &[2, 3]);
    }
}

#[test]
fn checker_rejects_a_semaphore_that_overdraws() {
    // One permit, two non-overlapping successful acquires, no release.
    let history = vec![
        event(0, 0, 1, SemOp::TryAcquire(1), SemRet::Acquired(Ok(()))),
        event(1, 2, 3, SemOp::TryAcquire(1), SemRet::Acquired(Ok(()))),
    ];
    assert!(check::<SemaphoreSpec>(&(1, false), &history).is_err());
}

/// A deliberately broken "queue": a stack. Recording a real history from it
/// (not a hand-written one) must be rejected.
#[test]
fn checker_rejects_a_recorded_history_of_a_broken_queue() {
    let stack = std::sync::Mutex::new(Vec::new());
    let scripts = vec![
        vec![QueueOp::Push(1), QueueOp::Push(2), QueueOp::Pop],
        vec![],
    ];
    let history = record(&scripts, |_, op| match op {
        QueueOp::Push(value) => {
            stack.lock().unwrap().push(*value);
            QueueRet::Pushed
        }
        QueueOp::Pop => QueueRet::Popped(stack.lock().unwrap().pop()),
    });
    let report = check::<QueueSpec>(&VecDeque::new(), &history).unwrap_err();
    assert!(report.contains("Popped(Some(2))"), "{report}");
}

/// A ring that forgets its capacity (never reports Full) is caught.
#[test]
fn checker_rejects_a_ring_that_overfills() {
    let history = vec![
        event(0, 0, 1, RingOp::TryPush(1), RingRet::Push(Ok(()))),
        event(0, 2, 3, RingOp::TryPush(2), RingRet::Push(Ok(()))),
    ];
    assert!(check::<RingSpec>(&(VecDeque::new(), 1, false), &history).is_err());
}

/// An `Empty` after a push that surely completed is rejected.
#[test]
fn checker_rejects_a_ring_empty_that_overlaps_nothing() {
    let history = vec![
        event(0, 0, 1, RingOp::TryPush(1), RingRet::Push(Ok(()))),
        event(1, 2, 3, RingOp::TryPop, RingRet::Pop(Err(PopError::Empty))),
    ];
    assert!(check::<RingSpec>(&(VecDeque::new(), 2, false), &history).is_err());
}

/// The checker is strict: an `Empty` that overlaps another thread's
/// operation is still rejected when the buffer cannot have been empty at any
/// moment of the call (here a value pushed before it stays in until after
/// it; the old ring's give-up after a bounded spin produced exactly this).
#[test]
fn checker_rejects_a_ring_empty_during_an_overlapping_force_push() {
    let history = vec![
        event(0, 0, 1, RingOp::TryPush(1), RingRet::Push(Ok(()))),
        event(1, 2, 9, RingOp::ForcePush(2), RingRet::Force(Ok(None))),
        event(2, 3, 4, RingOp::TryPop, RingRet::Pop(Err(PopError::Empty))),
        event(2, 10, 11, RingOp::TryPop, RingRet::Pop(Ok(1))),
        event(2, 12, 13, RingOp::TryPop, RingRet::Pop(Ok(2))),
    ];
    assert!(check::<RingSpec>(&(VecDeque::new(), 2, false), &history).is_err());
}

/// Likewise a `Full` that overlaps another thread's operation (issue 12's
/// put-back failure): capacity 1, full; a pop completes, then two
/// overlapping pushes both report Full, though nothing refilled the buffer.
#[test]
fn checker_rejects_a_ring_full_after_room_was_made() {
    let history = vec![
        event(0, 0, 1, RingOp::TryPop, RingRet::Pop(Ok(1000))),
        event(
            1,
            2,
            9,
            RingOp::TryPush(2),
            RingRet::Push(Err(PushError::Full(2))),
        ),
        event(
            2,
            3,
            4,
            RingOp::TryPush(1),
            RingRet::Push(Err(PushError::Full(1))),
        ),
    ];
    let initial = (VecDeque::from([1000]), 1, false);
    assert!(check::<RingSpec>(&initial, &history).is_err());
}

/// The lead's SCQ counterexample (capacity 1): A's push is in flight; B's
/// `try_push` reports Full, then D's `try_pop` reports Empty, both inside A's
/// push. No order has the count go from 1 to 0 without a pop: rejected.
#[test]
fn checker_rejects_full_then_empty_without_a_pop() {
    let history = vec![
        event(0, 0, 9, RingOp::TryPush(1), RingRet::Push(Ok(()))),
        event(
            1,
            1,
            2,
            RingOp::TryPush(2),
            RingRet::Push(Err(PushError::Full(2))),
        ),
        event(2, 3, 4, RingOp::TryPop, RingRet::Pop(Err(PopError::Empty))),
    ];
    assert!(check::<RingSpec>(&(VecDeque::new(), 1, false), &history).is_err());
}

/// ... while the same answers in an order that explains them are accepted:
/// the checker is not rejecting everything.
#[test]
fn checker_accepts_empty_then_full_around_an_overlapping_push() {
    let history = vec![
        event(0, 0, 9, RingOp::TryPush(1), RingRet::Push(Ok(()))),
        event(2, 1, 2, RingOp::TryPop, RingRet::Pop(Err(PopError::Empty))),
        event(
            1,
            3,
            4,
            RingOp::TryPush(2),
            RingRet::Push(Err(PushError::Full(2))),
        ),
    ];
    assert!(check::<RingSpec>(&(VecDeque::new(), 1, false), &history).is_ok());
}
