//! Linearizability of `SegmentedQueue`, strict: many short concurrent
//! histories of `push` and `pop` checked against an unbounded FIFO queue
//! with the shared checker (`support/linearizability.rs`). No outcome is
//! relaxed: every `None` must be explainable by an empty queue.
//!
//! Half the histories start a few slots before a segment boundary, so that
//! pushes race to link the next segment and pops race to move `head` on;
//! many pops meet slots whose pushers have claimed but not yet written them
//! (the poisoning path).

mod support;

use std::collections::VecDeque;

use freelane::SegmentedQueue;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use support::linearizability::{Spec, check, record};

const SEGMENT: usize = SegmentedQueue::<u32>::SEGMENT_LEN;

#[derive(Clone, Debug)]
enum QueueOp {
    Push(u32),
    Pop,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum QueueRet {
    Pushed,
    Popped(Option<u32>),
}

/// An unbounded FIFO queue.
struct QueueSpec;

impl Spec for QueueSpec {
    type State = VecDeque<u32>;
    type Op = QueueOp;
    type Ret = QueueRet;

    fn step(state: &mut Self::State, op: &QueueOp, ret: &QueueRet) -> bool {
        match (op, ret) {
            (QueueOp::Push(value), QueueRet::Pushed) => {
                state.push_back(*value);
                true
            }
            (QueueOp::Pop, QueueRet::Popped(got)) => state.pop_front() == *got,
            _ => false,
        }
    }
}

/// Scripts of pushes (of values unique across the history) and pops.
fn queue_scripts(rng: &mut StdRng, threads: usize, ops: usize) -> Vec<Vec<QueueOp>> {
    let mut next_value = 0;
    (0..threads)
        .map(|_| {
            (0..ops)
                .map(|_| {
                    if rng.random_bool(0.5) {
                        next_value += 1;
                        QueueOp::Push(next_value)
                    } else {
                        QueueOp::Pop
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn segmented_queue_histories_are_linearizable() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0014);
    for round in 0..support::scaled(600) {
        let threads = rng.random_range(2..=4);
        let scripts = queue_scripts(&mut rng, threads, 4);
        let queue = SegmentedQueue::new();
        if round % 2 == 1 {
            // Move both counters to just before a segment boundary.
            let offset = SEGMENT - rng.random_range(1..=3.min(SEGMENT));
            for i in 0..offset as u32 {
                queue.push(i);
                assert_eq!(queue.pop(), Some(i));
            }
        }
        let history = record(&scripts, |_, op| match op {
            QueueOp::Push(value) => {
                queue.push(*value);
                QueueRet::Pushed
            }
            QueueOp::Pop => QueueRet::Popped(queue.pop()),
        });
        if let Err(report) = check::<QueueSpec>(&VecDeque::new(), &history) {
            panic!("{report}");
        }
    }
}
