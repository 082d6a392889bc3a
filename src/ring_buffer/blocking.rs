//! The blocking layer of [`RingBuffer`] (`std` only): `push`, `pop` and their
//! `_timeout` forms wait for room or for a value, spinning briefly and then
//! parking the thread.
//!
//! Each wait is the no-lost-wake-up protocol of `crate::wait`
//! (`block_until`, shared with the async layer) on one of two queues, each
//! on its own cache lines: `not_full` (blocked pushes) and `not_empty`
//! (blocked pops).
//! The lock-free core notifies them: every successful push (`try_push`,
//! `force_push`, `push`, a batch) calls `not_empty.notify_one()`, every
//! successful pop calls `not_full.notify_one()`, and `close` calls
//! `notify_all()` on both, after marking the ring closed. When nobody waits a notify costs one plain
//! load; no fence, no lock and no waiter list on the fast path.
//!
//! Sections: **Protocol**, **Runs**, **Progress and fairness**, **Cost**.
//!
//! # Protocol
//!
//! ```text
//! waiter (pop; push is symmetric)           notifier (a push)
//! 0. try_pop; done unless Empty             a. publish: the SeqCst
//! 1. spin: retry with backoff (spins,          compare-and-swap on the slot
//!    then a few yields); done on success       (close: the SeqCst CAS that
//! 2. register a signal on not_empty            marks the tail slot)
//!    (a SeqCst increment of its count)      b. not_empty.notify_one(): SeqCst
//! 3. try_pop again; if done, unregister        load of the count; if non-zero,
//!    and go                                    pop the oldest signal, notify
//! 4. a few spins on the signal, then park
//! 5. notified: back to 0
//!    timed out: unregister and return Empty
//! ```
//!
//! Steps 2, 3 (its verdict is a SeqCst load of the head slot), a and b are
//! SeqCst, so they are totally ordered (see `crate::wait`). If the retry (3)
//! did not see the publish (a), it precedes it, so the registration (2)
//! precedes the count load (b), which sees the waiter and wakes somebody. If
//! it did see it, the waiter takes the value and does not park. Nothing is
//! ever in flight in a way the retry must wait out: the core is lock-free,
//! and an operation that has not done its compare-and-swap has not happened.
//! A waiter that leaves after a notifier has already dequeued its signal
//! (its retry succeeded, or it timed out) has swallowed a wake-up meant for
//! the room or value somebody else may be waiting for: its registration
//! guard's drop sees this and passes the wake-up on with `notify_one`.
//! Surplus wake-ups are harmless (the woken thread retries); a lost one
//! would strand a waiter.
//!
//! `close` marks the tail slot before it wakes everybody, so a woken or
//! retrying waiter sees `Closed`: a push returns it at once, a pop first
//! drains what is left.
//!
//! # Runs
//!
//! A `push` that found the buffer full, or a `pop` that found it empty,
//! does not retry the moment one slot changes: it first waits, polling the
//! head and tail hints, until the other end has freed a run of slots (push)
//! or filled one (pop), of up to 32 (`RUN`; a quarter of the slots in
//! rings below 128, none below 8). Retrying at once puts the two ends on
//! the same slot words and cells: each element then moves its lines from
//! one core to the other and back, and the end that was ahead is slowed by
//! the one chasing it. After the wait the two ends work a run apart, each
//! on lines the other has left. The wait only reads the two hints: it
//! changes nothing and registers nothing, and the retry after it decides
//! as any retry does, so the protocol below is untouched.
//!
//! The wait is bounded, and its two ends differ. A push polls at most 8
//! times, each after a `yield_now`: with more threads than cores (two
//! producers and two consumers on two cores, say) the consumers may need
//! this very core, and a spin would keep them off it; with the core to
//! itself a yield returns at once (about 160 ns where measured). Its
//! element waits behind a full buffer anyway, so the wait costs it nothing
//! it would not have spent. A pop polls at most 16 times, 4 pauses apart
//! (about 0.6 µs in all where measured), and stops as soon as the tail
//! hint stands still for one poll: the producers are idle (or held back,
//! as by a window of elements in flight), so no run is coming. Its value
//! is the one a waiting consumer wants soon, so its wait is short and
//! spins: a yield may hand the core away for a whole time slice. The
//! `_timeout` forms skip the wait (their deadline stays exact), as do the
//! async futures (a poll never spins on an executor's thread) and `try_*`.
//!
//! Measured on the 2-vCPU VM (capacity 1024, `u64`). Throughput: the
//! contention report's `ring-blocking/mpmc`, six processes of 3 rounds of
//! each build alternating, ratio to crossbeam-channel's bounded
//! `send`/`recv`, median (range). Latency: its `latency/ring-blocking`
//! (blocking push to blocking pop, at most 8 elements in flight per
//! producer), two runs of each build, p50 of the ring (crossbeam-channel's
//! p50 in the same runs was 0.81–1.22 µs):
//!
//! | | 1p1c | 2p2c | 4p4c | p50 1p1c | p50 2p2c |
//! |---|---|---|---|---|---|
//! | retry at once (before) | 0.89 (0.76–0.96) | 0.73 (0.64–0.85) | 0.86 (0.71–1.06) | 393–513 ns | 428–496 ns |
//! | run wait, yields at both ends | 1.36 (1.19–1.62) | 1.19 (1.04–1.27) | 1.38 (1.18–1.53) | 691–778 ns | 1.03–3.04 µs |
//! | run wait (now) | 1.20 (1.05–1.55) | 1.02 (0.78–1.16) | 1.10 (0.86–1.37) | 586–595 ns | 446–476 ns |
//!
//! Yielding pops bought throughput with latency: a window of elements
//! never makes a run, so the pops waited all 16 polls, each a yield that
//! could give the core to another thread. Spinning 16 pauses between a
//! push's polls (up to 64 of them) instead of yielding gave 0.98 at 2p2c;
//! a push polling up to 16 times, 0.98 too; a pop without a run wait (the
//! push's alone), 0.76 at 1p1c.
//!
//! # Progress and fairness
//!
//! Waiters are woken oldest first, but a woken thread competes with threads
//! arriving on the fast path and may lose (it then waits again at the back
//! of the queue). A waiter parks only while the buffer is full (push) or
//! empty (pop); no stalled thread can make it wait longer (beyond the
//! bounded run wait). A timeout that
//! overflows the clock means "no deadline".
//!
//! # Cost
//!
//! Step 0 is inline in `push`, `pop` and their `_timeout` forms (which read
//! the clock only after it failed); the rest is out of line. A call that
//! succeeds at once therefore costs what `try_push`/`try_pop` cost ("Cost
//! and sizes" on [`RingBuffer`]): when this was measured, 146 instructions
//! per `push` + `pop` pair on one thread (callgrind), where entering the
//! shared wait function first cost 263. Side by side in the
//! contention report (`--filter ring-blocking/ --threads 1,2,4,8`, three
//! runs of each build alternating, 5 rounds each; measured at ae01e66, with
//! the ring's stride of 17 then: README "Performance" has today's), against
//! crossbeam-channel's bounded `send`/`recv`: one thread 0.98× to 1.14–1.15×,
//! 1p1c 0.39–0.44× to 0.52–0.54×, 2p2c 0.32–0.41× to 0.50–0.52×, 4p4c
//! 0.49–0.53× to 0.60–0.70×.
//!
//! When nobody waits, the notify is one plain load (a SeqCst load is a
//! `mov` on x86-64), because the operation's own compare-and-swap is the
//! SeqCst step the protocol needs; a fence-based version (`fence(SeqCst)`,
//! then a Relaxed load) cost an `mfence` per operation, about half an
//! uncontended push + pop pair. A waiter spins before it registers (step
//! 1): while it is registered, every notifier takes the queue's lock, and
//! waking a parked thread is a system call, so a consumer that registers
//! whenever it finds the buffer empty for a moment makes the producer pay
//! for it on every push.

#[cfg(not(freelane_loom))]
use core::sync::atomic::Ordering::Relaxed;
use core::time::Duration;
use std::time::Instant;

use super::RingBuffer;
use crate::error::{PopError, PushError};
use crate::wait::{block_until, deadline_after};

impl<T> RingBuffer<T> {
    /// Pushes `value` at the back, waiting while the buffer is full
    /// (backpressure): it spins briefly, then parks until a pop makes room.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`] with `value` if the buffer is or becomes closed
    /// while waiting; never `Full`.
    ///
    /// ```
    /// use std::thread;
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(1);
    /// ring.push(1).unwrap();
    /// thread::scope(|s| {
    ///     s.spawn(|| assert_eq!(ring.pop(), Some(1)));
    ///     ring.push(2).unwrap(); // waits for the pop above
    /// });
    /// assert_eq!(ring.pop(), Some(2));
    /// ```
    #[inline]
    pub fn push(&self, value: T) -> Result<(), PushError<T>> {
        match self.try_push(value) {
            Err(PushError::Full(value)) => self.push_until(value, None),
            done => done,
        }
    }

    /// Pushes `value` at the back, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] if the buffer was still full when `timeout` had
    /// passed (never earlier); [`PushError::Closed`] if it is or becomes
    /// closed. Both give `value` back. A `timeout` too long for the clock
    /// means no deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(1);
    /// ring.push_timeout('a', Duration::from_millis(10)).unwrap();
    /// let err = ring.push_timeout('b', Duration::from_millis(10)).unwrap_err();
    /// assert!(err.is_full());
    /// ```
    #[inline]
    pub fn push_timeout(&self, value: T, timeout: Duration) -> Result<(), PushError<T>> {
        match self.try_push(value) {
            // The clock is read only once the buffer was found full.
            Err(PushError::Full(value)) => self.push_until(value, deadline_after(timeout)),
            done => done,
        }
    }

    /// Takes the value at the front, waiting while the buffer is empty: it
    /// spins briefly, then parks until a push (or `close`) wakes it.
    ///
    /// Returns `None` once the buffer is closed and drained.
    ///
    /// ```
    /// use std::thread;
    /// use freelane::RingBuffer;
    ///
    /// let ring = RingBuffer::new(4);
    /// thread::scope(|s| {
    ///     s.spawn(|| {
    ///         ring.push("job").unwrap();
    ///         ring.close();
    ///     });
    ///     assert_eq!(ring.pop(), Some("job"));
    ///     assert_eq!(ring.pop(), None); // closed and drained
    /// });
    /// ```
    #[inline]
    pub fn pop(&self) -> Option<T> {
        match self.try_pop() {
            Ok(value) => Some(value),
            Err(PopError::Empty) => self.pop_until(None).ok(),
            Err(PopError::Closed) => None,
        }
    }

    /// Takes the value at the front, waiting at most `timeout` for one.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] if the buffer was still empty when `timeout` had
    /// passed (never earlier); [`PopError::Closed`] once it is closed and
    /// drained. A `timeout` too long for the clock means no deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use freelane::{PopError, RingBuffer};
    ///
    /// let ring = RingBuffer::new(1);
    /// ring.push(5).unwrap();
    /// assert_eq!(ring.pop_timeout(Duration::from_millis(10)), Ok(5));
    /// assert_eq!(ring.pop_timeout(Duration::from_millis(10)), Err(PopError::Empty));
    /// ```
    #[inline]
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, PopError> {
        match self.try_pop() {
            Err(PopError::Empty) => self.pop_until(deadline_after(timeout)),
            done => done,
        }
    }

    /// `push` with an optional deadline (`None`: wait for room or close),
    /// after a first `try_push` (inline, in the caller) found the buffer
    /// full.
    #[cold]
    fn push_until(&self, value: T, deadline: Option<Instant>) -> Result<(), PushError<T>> {
        if deadline.is_none() {
            self.wait_for_run(End::Push);
        }
        let attempt = |value| match self.try_push(value) {
            Ok(()) => Ok(Ok(())),
            Err(PushError::Closed(value)) => Ok(Err(PushError::Closed(value))),
            Err(PushError::Full(value)) => Err(value),
        };
        block_until(&self.waiters.not_full, deadline, value, attempt)
            .unwrap_or_else(|value| Err(PushError::Full(value)))
    }

    /// `pop` with an optional deadline (`None`: wait for a value or close),
    /// after a first `try_pop` (inline, in the caller) found the buffer
    /// empty.
    #[cold]
    fn pop_until(&self, deadline: Option<Instant>) -> Result<T, PopError> {
        if deadline.is_none() {
            self.wait_for_run(End::Pop);
        }
        let attempt = |()| match self.try_pop() {
            Ok(value) => Ok(Ok(value)),
            Err(PopError::Closed) => Ok(Err(PopError::Closed)),
            Err(PopError::Empty) => Err(()),
        };
        block_until(&self.waiters.not_empty, deadline, (), attempt).unwrap_or(Err(PopError::Empty))
    }

    /// The run wait before a `push` that found the buffer full
    /// (`End::Push`) or a `pop` that found it empty (`End::Pop`) retries:
    /// see "Runs" in the module docs.
    #[cfg_attr(freelane_loom, allow(unused_variables))]
    fn wait_for_run(&self, end: End) {
        #[cfg(not(freelane_loom))]
        {
            let capacity = self.capacity();
            let run = RUN.min(capacity / 4);
            if run < 2 {
                return;
            }
            let polls = match end {
                End::Push => PUSH_POLLS,
                End::Pop => POP_POLLS,
            };
            // The hint word the other end moves: a pop watches the pushes'.
            let moving = |head, tail| match end {
                End::Push => head,
                End::Pop => tail,
            };
            // Relaxed: the hints only steer this wait; the retry after it
            // reads the slots with its own orderings.
            let mut last = moving(self.head.load(Relaxed), self.tail.load(Relaxed));
            for _ in 0..polls {
                match end {
                    // A yield, not a spin: with more threads than cores,
                    // the consumers may be waiting for this core.
                    End::Push => crate::sync::thread::yield_now(),
                    // Short spins: a pop must notice idle producers soon (a
                    // yield may hand the core away for a whole time slice).
                    End::Pop => crate::sync::back_off(POP_POLL_PAUSES),
                }
                // Relaxed: as above. Hints lag, so a head hint may be read
                // past the tail hint; the count is then meaningless, and
                // can only end the wait early or leave it to its bound.
                let (head, tail) = (self.head.load(Relaxed), self.tail.load(Relaxed));
                let values = self
                    .layout
                    .positions_between(self.layout.position(head), self.layout.position(tail))
                    .min(capacity);
                let now = moving(head, tail);
                match end {
                    End::Push if capacity - values >= run => return,
                    End::Pop if values >= run || now == last => return,
                    _ => last = now,
                }
            }
        }
    }
}

/// Which end a run wait is for.
#[derive(Clone, Copy)]
enum End {
    Push,
    Pop,
}

/// The longest run a waiting push or pop waits for (see "Runs").
#[cfg(not(freelane_loom))]
const RUN: usize = 32;

/// Polls of a push's run wait at most.
#[cfg(not(freelane_loom))]
const PUSH_POLLS: usize = 8;

/// Polls of a pop's run wait at most.
#[cfg(not(freelane_loom))]
const POP_POLLS: usize = 16;

/// Pauses between two polls of a pop's run wait.
#[cfg(not(freelane_loom))]
const POP_POLL_PAUSES: usize = 4;
