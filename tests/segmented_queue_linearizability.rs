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
use support::linearizability::queue::{QueueOp, QueueRet, QueueSpec, queue_scripts};
use support::linearizability::{check, record};

const SEGMENT: usize = SegmentedQueue::<u32>::SEGMENT_LEN;

#[test]
fn segmented_queue_histories_are_linearizable() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0014);
    for round in 0..support::scaled(600) {
        let threads = rng.random_range(2..=4);
        let scripts = queue_scripts(&mut rng, threads, 4, 0.5);
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
