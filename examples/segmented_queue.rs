//! Log fan-in through an unbounded `SegmentedQueue`: several request
//! handlers emit log records without ever blocking, one writer thread drains
//! them in batches with `pop_many`.
//!
//! This is the shape where an unbounded lock-free queue fits: the handlers
//! must not wait on the writer (a log line must never slow a request), and
//! the writer wants records in large runs to amortize its own work (here a
//! checksum; in life a `write` system call). Each handler also buffers its
//! records locally and hands them over with `push_many`, one claim of a run
//! of slots per batch. Main checks that every record arrived exactly once
//! and, per handler, in the order it was written.
//!
//! Run with `cargo run --release --example segmented_queue`.

use core::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Release};
use std::thread;
use std::time::Instant;

use freelane::SegmentedQueue;

/// One log record: which handler wrote it and its sequence number there.
struct Record {
    handler: usize,
    seq: u64,
    line: String,
}

const HANDLERS: usize = 4;
const RECORDS_PER_HANDLER: u64 = 50_000;
/// Records a handler buffers before handing them over with `push_many`.
const LOCAL_BATCH: usize = 32;
/// Records the writer takes per `pop_many`.
const WRITER_BATCH: usize = 256;

fn main() {
    let queue: SegmentedQueue<Record> = SegmentedQueue::new();
    let handlers_done = AtomicBool::new(false);
    let start = Instant::now();
    let (written, checksum) = thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut next = [0u64; HANDLERS];
            let mut out = Vec::with_capacity(WRITER_BATCH);
            let (mut written, mut checksum) = (0u64, 0u64);
            loop {
                // Acquire: pairs with the Release store below; every push
                // happens-before a drain that starts after seeing it.
                let finished = handlers_done.load(Acquire);
                out.clear();
                if queue.pop_many(&mut out, WRITER_BATCH) == 0 {
                    if finished {
                        break;
                    }
                    thread::yield_now();
                    continue;
                }
                for record in &out {
                    assert_eq!(record.seq, next[record.handler], "reordered");
                    next[record.handler] += 1;
                    checksum = record.line.bytes().fold(checksum, |sum, byte| {
                        sum.wrapping_mul(31).wrapping_add(byte.into())
                    });
                    written += 1;
                }
            }
            (written, checksum)
        });
        let handlers: Vec<_> = (0..HANDLERS)
            .map(|handler| {
                let queue = &queue;
                scope.spawn(move || {
                    let mut local = Vec::with_capacity(LOCAL_BATCH);
                    for seq in 0..RECORDS_PER_HANDLER {
                        local.push(Record {
                            handler,
                            seq,
                            line: format!("handler {handler}: request {seq} served"),
                        });
                        if local.len() == LOCAL_BATCH {
                            // Never blocks; leaves `local` empty for reuse.
                            queue.push_many(&mut local);
                        }
                    }
                    queue.push_many(&mut local);
                })
            })
            .collect();
        for handler in handlers {
            handler.join().unwrap();
        }
        // Release: pairs with the writer's Acquire load above.
        handlers_done.store(true, Release);
        writer.join().unwrap()
    });
    let elapsed = start.elapsed();
    assert_eq!(
        written,
        HANDLERS as u64 * RECORDS_PER_HANDLER,
        "records lost"
    );
    assert!(queue.is_empty());
    println!(
        "{written} records from {HANDLERS} handlers written in order in {elapsed:.2?} \
         ({:.1} M records/s; checksum {checksum:#x})",
        written as f64 / elapsed.as_secs_f64() / 1e6
    );
}
