//! Lock-free data structures for multicore hardware, written to be read.
//!
//! | type | what it is | progress |
//! |---|---|---|
//! | [`MsQueue<T>`] | unbounded MPMC FIFO: the Michael–Scott queue, popped nodes recycled through crossbeam-epoch (`shrink_to_fit` frees them) | lock-free push and pop |
//! | [`SegmentedQueue<T>`] | unbounded MPMC FIFO built for throughput: array segments whose slots are claimed by fetch-and-add (FAAArrayQueue/LCRQ family), segments reclaimed through crossbeam-epoch; batch `push_many`/`pop_many` | lock-free push and pop (a pop that meets an unwritten slot spins ~1 µs, then poisons it) |
//! | [`RingBuffer<T>`] | bounded MPMC FIFO over a fixed slot array (Vyukov's stamped slots), closable, with backpressure: blocking under `std`, async (any executor) everywhere | lock-free claims; see its docs for the one place a preempted thread holds others up |
//! | [`AtomicCounter`] | one 64-bit word: fetch-and-add, and the CAS-loop pattern (`fetch_update`, `checked_*`, `saturating_*`) | wait-free increments, lock-free CAS loops |
//! | [`ShardedCounter`] | increments spread over cache-padded cells, summed on read | wait-free updates |
//! | [`RateLimiter`] | token bucket on one 64-bit word (GCRA: a theoretical arrival time, one CAS per grant), exact bursts, no drift, no background thread; blocking and async acquire | lock-free; a denial on the first look is one load, no write |
//! | [`Semaphore`] | counting semaphore on one CAS word, with blocking (parking) acquire under `std` and async acquire everywhere | lock-free `try_acquire`; waiters spin, then park; arrivals may overtake a waiter for at most ~1 ms, a many-permit waiter is served first-come-first-served |
//!
//! Every structure documents, where it lives, its state words, the
//! linearization point of each operation, why ABA cannot bite, how memory is
//! reclaimed, and the ordering each atomic step needs.
//!
//! # Features
//! - `std` (default): blocking waits (spin, then park), crossbeam-epoch's
//!   global collector, `std::error::Error` impls, and the rate limiter's
//!   default clock `StdClock` (the TSC through the `quanta` crate). Without
//!   it a [`RateLimiter`] takes the caller's [`Clock`].
//! - Without default features the crate is `#![no_std]` + `alloc` and builds
//!   for targets such as `thumbv7em-none-eabihf`. Everything that does not
//!   block a thread is there, the async waits included; [`MsQueue`] and [`SegmentedQueue`] are used through an
//!   explicitly registered epoch participant (`MsQueue::handle`,
//!   `SegmentedQueue::handle`).
//!
//! # Async waits
//! [`Semaphore::acquire_async`] (and its `_many` / `_owned` forms),
//! [`RingBuffer::push_async`] and [`RingBuffer::pop_async`] return futures
//! built on [`core::task::Waker`] alone: they run under any executor and
//! need no `std`. A pending future waits in the same queue as a blocked
//! thread (a signal holding either an unparking waker or the task's), under
//! the same fairness policy; the protocol is register, re-check, wake, so no
//! wake-up is lost. Dropping a future is always safe: a pending one loses no
//! element and no permit, and one dropped after it was woken or handed
//! permits passes them on to the next waiter. The futures are `Send` when
//! `T: Send`.
//!
//! # 64-bit atomics
//! [`AtomicCounter`], [`ShardedCounter`] and [`RateLimiter`] (with its
//! [`Clock`]s and errors) exist only where
//! `target_has_atomic = "64"`. Cortex-M has no 64-bit atomic instructions,
//! and a lock-based fallback would not be lock-free, so on such targets these
//! types are absent rather than silently slower and blocking.
//!
//! # Model checking
//! Compiled with `RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom"`, the
//! crate's primitives (the private `sync` module) become [loom]'s, and the
//! tests in `tests/loom.rs` (and the rate limiter's in
//! `tests/loom_rate_limiter.rs`) explore their interleavings.
//!
//! [loom]: https://docs.rs/loom
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]
// The library names `core`/`alloc` wherever they suffice, so that the
// `no_std` build is the same code; tests and examples use `std` freely.
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod error;
mod sync;
mod wait;

mod ms_queue;
mod ring_buffer;
mod segmented_queue;
mod semaphore;

#[cfg(target_has_atomic = "64")]
mod counter;
#[cfg(target_has_atomic = "64")]
mod rate_limiter;
#[cfg(target_has_atomic = "64")]
mod sharded_counter;

pub use error::{AcquireError, CapacityError, PopError, PushError, TryAcquireError};
#[cfg(target_has_atomic = "64")]
pub use error::{QuotaError, RateLimited};
pub use ms_queue::{MsQueue, MsQueueHandle};
pub use ring_buffer::RingBuffer;
pub use segmented_queue::{SegmentedQueue, SegmentedQueueHandle};
pub use semaphore::{OwnedPermit, Permit, Semaphore};

#[cfg(target_has_atomic = "64")]
pub use counter::AtomicCounter;
#[cfg(all(target_has_atomic = "64", feature = "std"))]
pub use rate_limiter::StdClock;
#[cfg(target_has_atomic = "64")]
pub use rate_limiter::{Clock, ManualClock, RateLimiter};
#[cfg(target_has_atomic = "64")]
pub use sharded_counter::ShardedCounter;

/// The README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
