//! Lock-freedom, shown: a thread stopped inside a `RingBuffer` operation
//! does not stop the others.
//!
//! Built only with `--cfg freelane_pause`, which compiles in the ring's
//! test-only pause points (`freelane::pause`); CI's TSan and Miri stages
//! build with it. Alone:
//! `RUSTFLAGS="--cfg freelane_pause" cargo test --test ring_buffer_lock_free --target-dir target/pause`.
//!
//! Each test stops one thread at one pause point — inside a push before
//! and after it publishes, inside a pop after it took a value's cell,
//! inside a `force_push`, inside a `close` — and, while it is stopped, has
//! two other threads move thousands of values through the same ring. They
//! must finish (within a generous deadline: a ring that waited for the
//! stopped thread would hang, and the test fails instead), with every value
//! delivered once and in order. Then the stopped thread is let go, and its
//! operation completes with the result it must have.
#![cfg(freelane_pause)]
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use freelane::pause::{PausePoint, with_hook};
use freelane::{PopError, PushError, RingBuffer};

/// Values the other threads move while one is stopped (fewer under Miri).
const MOVED: u64 = if cfg!(miri) { 200 } else { 50_000 };

/// How long the others may take: far more than they need, so that only a
/// ring that waits for the stopped thread runs out of it.
const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 120 });

/// A thread stopped at a pause point until released.
struct Stopped<R> {
    release: mpsc::Sender<()>,
    result: thread::JoinHandle<R>,
}

/// Starts `operation` on a new thread and returns once it is stopped at
/// `point` (its first time there).
fn stop_at<R: Send + 'static>(
    point: PausePoint,
    operation: impl FnOnce() -> R + Send + 'static,
) -> Stopped<R> {
    let (release, released) = mpsc::channel::<()>();
    let arrived = Arc::new(Barrier::new(2));
    let here = Arc::clone(&arrived);
    let result = thread::spawn(move || {
        let mut stopped = false;
        with_hook(
            move |reached| {
                if reached == point && !stopped {
                    stopped = true;
                    here.wait();
                    // Blocks until the test lets it go (or drops the sender).
                    let _ = released.recv();
                }
            },
            operation,
        )
    });
    arrived.wait();
    Stopped { release, result }
}

impl<R> Stopped<R> {
    fn release(self) -> R {
        self.release.send(()).unwrap();
        self.result.join().unwrap()
    }
}

/// One producer pushes `MOVED` values (from `first` on) and one consumer
/// takes them, both with `try_*` and retries, while something else may be
/// stopped; fails if they do not finish by `DEADLINE` or if a value is lost,
/// repeated or out of order.
fn move_values_meanwhile(ring: &Arc<RingBuffer<u64>>, first: u64) {
    let (done, finished) = mpsc::channel();
    let producer = {
        let ring = Arc::clone(ring);
        let done = done.clone();
        thread::spawn(move || {
            for value in first..first + MOVED {
                let mut value = value;
                loop {
                    match ring.try_push(value) {
                        Ok(()) => break,
                        Err(PushError::Full(back)) => {
                            value = back;
                            thread::yield_now();
                        }
                        Err(PushError::Closed(_)) => panic!("not closed"),
                    }
                }
            }
            done.send(()).unwrap();
        })
    };
    let consumer = {
        let ring = Arc::clone(ring);
        thread::spawn(move || {
            let mut expected = first;
            while expected < first + MOVED {
                match ring.try_pop() {
                    Ok(value) => {
                        assert_eq!(value, expected, "out of order or lost");
                        expected += 1;
                    }
                    Err(PopError::Empty) => thread::yield_now(),
                    Err(PopError::Closed) => panic!("not closed"),
                }
            }
            done.send(()).unwrap();
        })
    };
    for _ in 0..2 {
        finished
            .recv_timeout(DEADLINE)
            .expect("the other threads were held up by the stopped one: not lock-free");
    }
    producer.join().unwrap();
    consumer.join().unwrap();
}

#[test]
fn a_push_stopped_before_publishing_holds_up_no_one() {
    let ring = Arc::new(RingBuffer::new(4));
    let stopped = stop_at(PausePoint::PushBeforePublish, {
        let ring = Arc::clone(&ring);
        move || ring.try_push(u64::MAX)
    });
    // Its value is in its own cell, not yet in the ring.
    assert!(ring.is_empty());
    move_values_meanwhile(&ring, 0);
    assert_eq!(stopped.release(), Ok(()));
    assert_eq!(ring.try_pop(), Ok(u64::MAX));
    assert_eq!(ring.try_pop(), Err(PopError::Empty));
}

#[test]
fn a_push_stopped_after_publishing_holds_up_no_one() {
    let ring = Arc::new(RingBuffer::new(4));
    let stopped = stop_at(PausePoint::PushAfterPublish, {
        let ring = Arc::clone(&ring);
        move || ring.try_push(u64::MAX)
    });
    // Published: the value is in; only the `tail` hint lags behind it.
    assert_eq!(ring.len(), 1);
    assert_eq!(ring.try_pop(), Ok(u64::MAX));
    move_values_meanwhile(&ring, 0);
    assert_eq!(stopped.release(), Ok(()));
    assert_eq!(ring.try_pop(), Err(PopError::Empty));
}

#[test]
fn a_pop_stopped_after_taking_its_value_holds_up_no_one() {
    let ring = Arc::new(RingBuffer::new(4));
    ring.try_push(u64::MAX).unwrap();
    let stopped = stop_at(PausePoint::PopAfterTake, {
        let ring = Arc::clone(&ring);
        move || ring.try_pop()
    });
    // Taken: the ring is empty, and the stopped pop holds the value's cell.
    assert!(ring.is_empty());
    // The others fill the ring to its capacity again and again: the cell the
    // stopped pop holds is not needed, a spare is found elsewhere.
    move_values_meanwhile(&ring, 0);
    assert_eq!(stopped.release(), Ok(u64::MAX));
}

#[test]
fn a_pop_stopped_before_taking_holds_up_no_one() {
    let ring = Arc::new(RingBuffer::new(4));
    ring.try_push(u64::MAX).unwrap();
    let stopped = stop_at(PausePoint::PopBeforeTake, {
        let ring = Arc::clone(&ring);
        move || ring.try_pop()
    });
    // Not taken yet: another pop gets the value first; the stopped one's
    // compare-and-swap will fail and it will look again.
    assert_eq!(ring.try_pop(), Ok(u64::MAX));
    move_values_meanwhile(&ring, 0);
    ring.try_push(7).unwrap();
    assert_eq!(stopped.release(), Ok(7));
}

#[test]
fn a_force_push_stopped_before_replacing_holds_up_no_one() {
    let ring = Arc::new(RingBuffer::new(1));
    ring.try_push(1).unwrap();
    let stopped = stop_at(PausePoint::PushBeforePublish, {
        let ring = Arc::clone(&ring);
        move || ring.force_push(u64::MAX)
    });
    assert_eq!(ring.try_pop(), Ok(1));
    move_values_meanwhile(&ring, 10);
    ring.try_push(2).unwrap();
    // The ring is full again with 2: the force_push replaces it.
    assert_eq!(stopped.release(), Ok(Some(2)));
    assert_eq!(ring.try_pop(), Ok(u64::MAX));
}

/// A pop that finds the head at its own thread's last push tries its
/// compare-and-swap on the word that push wrote instead of loading the
/// slot (`try_pop`; "Cost and sizes" on `RingBuffer`). Here another pop has
/// taken that value and is stopped before it moves the `head` hint, so the
/// hint still names the push's position and the remembered word is stale:
/// the pop must find the ring empty.
#[test]
fn a_pop_after_its_own_push_sees_a_stopped_pop_took_it() {
    let ring = Arc::new(RingBuffer::new(4));
    ring.try_push(1).unwrap();
    let stopped = stop_at(PausePoint::PopAfterTake, {
        let ring = Arc::clone(&ring);
        move || ring.try_pop()
    });
    assert_eq!(ring.try_pop(), Err(PopError::Empty));
    ring.try_push(2).unwrap();
    assert_eq!(ring.try_pop(), Ok(2));
    assert_eq!(stopped.release(), Ok(1));
    assert_eq!(ring.try_pop(), Err(PopError::Empty));
}

/// As above, with a `force_push` that replaced the value of this thread's
/// push (capacity 1) and is stopped before it moves the hints: the pop's
/// remembered word is stale, and it must take the new value.
#[test]
fn a_pop_after_its_own_push_sees_a_stopped_force_push_replaced_it() {
    let ring = Arc::new(RingBuffer::new(1));
    ring.try_push(1).unwrap();
    let stopped = stop_at(PausePoint::PushAfterPublish, {
        let ring = Arc::clone(&ring);
        move || ring.force_push(2)
    });
    assert_eq!(ring.try_pop(), Ok(2));
    assert_eq!(stopped.release(), Ok(Some(1)));
    assert_eq!(ring.try_pop(), Err(PopError::Empty));
}

#[test]
fn a_close_stopped_after_marking_holds_up_no_one() {
    let ring = Arc::new(RingBuffer::new(4));
    ring.try_push(1).unwrap();
    let stopped = stop_at(PausePoint::CloseAfterMark, {
        let ring = Arc::clone(&ring);
        move || ring.close()
    });
    // Marked: closed for everyone, although `close` has not returned.
    assert!(ring.is_closed());
    assert_eq!(ring.try_push(2), Err(PushError::Closed(2)));
    let popper = {
        let ring = Arc::clone(&ring);
        thread::spawn(move || (ring.pop(), ring.pop()))
    };
    assert_eq!(popper.join().unwrap(), (Some(1), None));
    assert!(stopped.release(), "the one close reports the change");
}

#[test]
fn blocking_pops_and_pushes_go_on_past_a_stopped_push() {
    let ring = Arc::new(RingBuffer::new(2));
    let stopped = stop_at(PausePoint::PushBeforePublish, {
        let ring = Arc::clone(&ring);
        move || ring.push(u64::MAX)
    });
    let consumer = {
        let ring = Arc::clone(&ring);
        thread::spawn(move || (0..MOVED).map(|_| ring.pop().unwrap()).collect::<Vec<_>>())
    };
    for value in 0..MOVED {
        ring.push(value).unwrap();
    }
    assert_eq!(consumer.join().unwrap(), (0..MOVED).collect::<Vec<_>>());
    assert_eq!(stopped.release(), Ok(()));
    assert_eq!(ring.pop(), Some(u64::MAX));
}
