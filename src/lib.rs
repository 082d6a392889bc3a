//! Lock-free data structures for multicore hardware, written to be read.
//!
//! | type | what it is | progress |
//! |---|---|---|
//! | [`MsQueue<T>`] | unbounded MPMC FIFO: the Michael–Scott queue, popped nodes recycled through crossbeam-epoch (`shrink_to_fit` frees them) | lock-free push and pop |
//! | [`SegmentedQueue<T>`] | unbounded MPMC FIFO built for throughput: array segments whose slots are claimed by fetch-and-add (FAAArrayQueue/LCRQ family), segments reclaimed through crossbeam-epoch; batch `push_many`/`pop_many` | lock-free push and pop (a pop that meets an unwritten slot waits at most ~2 µs, then poisons it) |
//! | [`RingBuffer<T>`] | bounded MPMC FIFO over a fixed ring of one-word slots naming the cells that hold the values, each operation one compare-and-swap that trades cells; closable, with backpressure: blocking under `std`, async (any executor) everywhere; batch `try_push_many`/`try_pop_many` | linearizable and lock-free, every operation (`force_push` and `close` included): no operation waits for another thread |
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
//! - `portable-atomic` (off by default): atomics from the portable-atomic
//!   crate, for targets without 64-bit atomics or without CAS; see
//!   [Targets](#targets) for what each target then has and what stays
//!   lock-free.
//!
//! Items that need a feature or a target capability are labelled so in
//! these docs (on docs.rs, which renders every feature).
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
//! # Targets
//! The crate needs compare-and-swap on `usize` (every structure is built on
//! it) and, for [`AtomicCounter`], [`ShardedCounter`] and [`RateLimiter`]
//! (with its [`Clock`]s and errors), 64-bit atomics. The optional
//! `portable-atomic` feature takes every atomic from the [portable-atomic]
//! crate instead of `core`, which fills both gaps, at a price this table
//! states:
//!
//! | target | without `portable-atomic` | with `portable-atomic` |
//! |---|---|---|
//! | 64-bit atomics and CAS (x86-64, AArch64, RV64GC, ...) | everything, lock-free as documented per type | the same code: portable-atomic uses the native instructions |
//! | CAS on 32 bits, none on 64 (`thumbv7em-none-eabihf`, Cortex-M3/M4/M7) | everything but the three 64-bit types, which are absent | those three exist too, but their `AtomicU64` is portable-atomic's fallback: a global lock (a seqlock), or interrupts disabled around each access with its `unsafe-assume-single-core` option. Not lock-free: a thread preempted holding the lock stalls the others, and an interrupt handler touching the same word could deadlock |
//! | no CAS at all (`thumbv6m-none-eabi` Cortex-M0/M0+, `riscv32imc-unknown-none-elf`) | does not build | builds once the final binary picks how CAS is emulated: portable-atomic's `unsafe-assume-single-core` (each CAS runs with interrupts disabled: sound on a single core only, never blocks, but every read-modify-write costs an interrupt-latency window) or its `critical-section` feature (a critical section provided by the platform, e.g. an RTOS). Nothing there is lock-free in the multi-core sense; on a single core each operation completes without waiting for another. [`MsQueue`] and [`OwnedPermit`] (with the `_owned` acquires) are absent: crossbeam-epoch and `alloc::sync::Arc` need native CAS |
//!
//! A library must not choose between `unsafe-assume-single-core` and
//! `critical-section` (portable-atomic's README says why), so freelane
//! enables neither; the application does, in its own `Cargo.toml`
//! (`portable-atomic = { version = "1", features = ["critical-section"] }`)
//! or with `RUSTFLAGS="--cfg portable_atomic_unsafe_assume_single_core"`.
//! Without either, the build stops with portable-atomic's message saying so.
//! On a target with native atomics, leave the feature off: it changes
//! nothing there.
//!
//! [portable-atomic]: https://docs.rs/portable-atomic
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
// Test-only pause points (`--cfg freelane_pause`): public and hidden then,
// private and compiled to nothing otherwise.
#[cfg(all(freelane_pause, feature = "std"))]
#[doc(hidden)]
pub mod pause;
#[cfg(not(all(freelane_pause, feature = "std")))]
mod pause;
mod sync;
mod wait;

// Under loom only: the models' switch for the wait queues' SeqCst fences.
#[cfg(freelane_loom)]
#[doc(hidden)]
pub use sync::loom_support;

#[cfg(target_has_atomic = "ptr")]
mod ms_queue;
mod ring_buffer;
#[cfg(target_has_atomic = "ptr")]
mod segmented_queue;
mod semaphore;

#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
mod counter;
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
mod rate_limiter;
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
mod sharded_counter;

pub use error::{AcquireError, CapacityError, PopError, PushError, TryAcquireError};
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
pub use error::{QuotaError, RateLimited};
#[cfg(target_has_atomic = "ptr")]
pub use ms_queue::{MsQueue, MsQueueHandle};
pub use ring_buffer::RingBuffer;
#[cfg(target_has_atomic = "ptr")]
pub use segmented_queue::{SegmentedQueue, SegmentedQueueHandle};
#[cfg(target_has_atomic = "ptr")]
pub use semaphore::OwnedPermit;
pub use semaphore::{Permit, Semaphore};

#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
pub use counter::AtomicCounter;
#[cfg(all(
    any(target_has_atomic = "64", feature = "portable-atomic"),
    feature = "std"
))]
pub use rate_limiter::StdClock;
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
pub use rate_limiter::{Clock, ManualClock, RateLimiter};
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
pub use sharded_counter::ShardedCounter;

/// The README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
