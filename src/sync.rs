//! The one place that names the synchronization primitives.
//!
//! Every atomic, cell, spin hint, `Arc`, lock and thread-park call in the
//! crate goes through this module. Under `--cfg freelane_loom` it re-exports
//! [loom]'s model-checked versions instead, so the same source is both the
//! production code and the model that loom explores, with no edit anywhere
//! else. crossbeam-epoch and crossbeam-utils switch themselves to loom under
//! `--cfg crossbeam_loom` (with crossbeam-epoch's `loom` feature), which the
//! loom runs add as well, so reclamation is modelled too.
//!
//! Contents:
//! - [`atomic`]: the atomic integers, [`Ordering`](atomic::Ordering) and `fence`.
//! - [`UnsafeCell`]: core's cell behind loom's `with`/`with_mut` interface.
//! - [`spin_loop`], [`Backoff`], [`CachePadded`], [`back_off`].
//! - [`Arc`], and under `std` the [`thread`] park/unpark calls and [`Mutex`].
//!
//! [loom]: https://docs.rs/loom

#[cfg(all(not(freelane_loom), not(feature = "portable-atomic")))]
#[allow(unused_imports)]
pub(crate) mod atomic {
    #[cfg(target_has_atomic = "64")]
    pub(crate) use core::sync::atomic::AtomicU64;
    pub(crate) use core::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence,
    };
}

/// The `portable-atomic` feature: the same names from the `portable-atomic`
/// crate. Where the target has the instruction, each is core's (a
/// `#[repr(transparent)]` wrapper, the same code); `AtomicU64` without 64-bit
/// atomics is its lock-based fallback, and compare-and-swap without CAS
/// instructions is provided by disabling interrupts or by the
/// `critical-section` crate, whichever the final binary enables (the crate
/// docs, "Targets", say what that costs). `Ordering` is core's own.
#[cfg(all(not(freelane_loom), feature = "portable-atomic"))]
#[allow(unused_imports)]
pub(crate) mod atomic {
    pub(crate) use portable_atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
}

#[cfg(freelane_loom)]
#[allow(unused_imports)]
pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
}

#[cfg(all(not(freelane_loom), target_has_atomic = "ptr"))]
pub(crate) use alloc::sync::Arc;
#[cfg(freelane_loom)]
pub(crate) use loom::sync::Arc;
/// `alloc` has no `Arc` without compare-and-swap; portable-atomic-util's is
/// the same type over portable-atomic's counters.
#[cfg(all(not(freelane_loom), not(target_has_atomic = "ptr")))]
pub(crate) use portable_atomic_util::Arc;

pub(crate) use crossbeam_utils::{Backoff, CachePadded};

/// The CPU's spin-wait hint (`pause` on x86, `yield` on Arm); a yield under loom.
#[cfg(not(freelane_loom))]
#[allow(unused_imports)]
pub(crate) use core::hint::spin_loop;
#[cfg(freelane_loom)]
#[allow(unused_imports)]
pub(crate) use loom::hint::spin_loop;

/// A bounded spin that lets another thread run a series of operations on cache
/// lines it keeps, instead of two threads handing them over on every operation
/// (what a backed-off compare-and-swap loop, crossbeam's, gets as a side
/// effect). Its callers: a `SegmentedQueue` push or pop whose claim another on
/// the same end beat, once done; a `RingBuffer` push or pop (one element of a
/// batch included) and an `MsQueue` push or pop whose compare-and-swap lost,
/// before it retries; a `SegmentedQueue` pop that finds its slot's pusher
/// mid-flight, before it looks again. The pops of `SegmentedQueue` and
/// `MsQueue` go through [`back_off_and_yield`]. None holds a lock or anything
/// another operation waits for, so it delays the calling thread only. Out of
/// line: an operation that lost no race pays only the test that leads here.
///
/// It spins `pauses` times (`pause` on x86-64): each structure passes the
/// count its contention workloads measured best (the `BACK_OFF_PAUSES` of
/// `SegmentedQueue`, `RingBuffer` and `MsQueue`, `SegmentedQueue`'s
/// `CAUGHT_UP_PAUSES`), about 10 ns a `pause` on this
/// project's 2-core Xeon VM (measured on 2026-12-07) and longer on cores
/// with a slower `pause`. Under Miri at most 4, so that the path runs
/// without the interpreter spending seconds in it.
///
/// Without `std` it does nothing: an operation may run in an interrupt
/// handler there, which must not spin for another thread's throughput.
/// Nor under loom, where a spin is a yield that only multiplies the
/// interleavings (the back-off changes no state).
#[cold]
#[inline(never)]
pub(crate) fn back_off(pauses: usize) {
    #[cfg(all(feature = "std", not(freelane_loom)))]
    {
        #[cfg(miri)]
        let pauses = pauses.min(4);
        for _ in 0..pauses {
            spin_loop();
        }
    }
    #[cfg(not(all(feature = "std", not(freelane_loom))))]
    let _ = pauses;
}

/// [`back_off`], then the thread gives up its core
/// (`std::thread::yield_now`): the back-off of a pop that lost a race to
/// another pop (`SegmentedQueue`, `MsQueue`; "Both ends back off" and
/// "Back-off" on them say why and give the figures). With no other thread
/// waiting for the core the yield returns at once. Does nothing without
/// `std` and under loom, as `back_off`; built only where those two queues
/// are (targets with pointer-width compare-and-swap).
#[cfg(target_has_atomic = "ptr")]
#[cold]
#[inline(never)]
pub(crate) fn back_off_and_yield(pauses: usize) {
    back_off(pauses);
    #[cfg(all(feature = "std", not(freelane_loom)))]
    std::thread::yield_now();
}

/// Thread parking, as `std::thread` has it; loom's under the model checker.
#[cfg(all(feature = "std", not(freelane_loom)))]
pub(crate) mod thread {
    pub(crate) use std::thread::{Thread, current, park, park_timeout, sleep, yield_now};
}

/// Thread parking under loom. Loom has no clock, so a timed park is modelled
/// as a spurious wake-up (which `park_timeout` is allowed to have anyway):
/// every caller re-checks its condition and its deadline after parking.
#[cfg(all(feature = "std", freelane_loom))]
pub(crate) mod thread {
    pub(crate) use loom::thread::{Thread, current, park, yield_now};

    pub(crate) fn park_timeout(_timeout: core::time::Duration) {
        loom::thread::yield_now();
    }

    /// A sleep is a yield under loom, for the same reason.
    #[allow(dead_code)]
    pub(crate) fn sleep(_duration: core::time::Duration) {
        loom::thread::yield_now();
    }
}

#[cfg(all(feature = "std", freelane_loom))]
#[allow(unused_imports)]
pub(crate) use loom::thread_local;
/// Stands in for the total order of SeqCst *accesses* under loom; a no-op in
/// real builds.
///
/// Loom models SeqCst loads, stores and read-modify-writes as AcqRel (its
/// README, "Limitations"; tokio-rs/loom#180), so an argument that rests on
/// the single total order of SeqCst accesses (a SeqCst RMW, then a SeqCst
/// load of another word, on each of two threads) gives false alarms there.
/// Loom does model `fence(SeqCst)`, so under loom this fence, placed between
/// such a pair, restores in the model the order the real code already has.
///
/// But loom's SeqCst fence is stronger than the language's: it joins every
/// fencing thread's causality into one global clock, so each fence
/// synchronizes with every earlier one. Placed on every push and pop (the
/// wait queues' `notify_one`), it would order everything the ring does and
/// hide a missing Release/Acquire pair in the ring itself. So it is off
/// unless a model turns it on for the waiters it has
/// (`loom_support::model_waiters`, which the blocking and async models
/// call): a model of the lock-free operations sees exactly the orderings
/// the code states, and a waiting model that forgot the switch fails loudly
/// (loom reports a deadlock from a wake-up it thinks was lost).
#[inline(always)]
pub(crate) fn sc_order_for_loom() {
    #[cfg(freelane_loom)]
    if loom_support::WAITERS.with(core::cell::Cell::get) {
        atomic::fence(atomic::Ordering::SeqCst);
    }
}

/// The test-side switch for [`sc_order_for_loom`], public (hidden) under
/// loom only as `freelane::loom_support`.
#[cfg(freelane_loom)]
pub mod loom_support {
    std::thread_local! {
        /// A std thread-local, on purpose: loom runs every thread of a model
        /// on the test's own OS thread, so this is per test function.
        pub(super) static WAITERS: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// Makes the wait queues' SeqCst steps fences in this test's loom models
    /// (see `sc_order_for_loom`). Call it at the start of a test whose
    /// models block or wait (outside `loom::model`).
    pub fn model_waiters() {
        WAITERS.with(|waiters| waiters.set(true));
    }
}

/// A number no other call returns (in this process): names a ring buffer in
/// the loom stand-in for its per-thread spares. A plain std atomic even
/// under loom, on purpose: it is bookkeeping outside the model, and a loom
/// atomic would add interleavings that check nothing.
#[cfg(all(feature = "std", freelane_loom))]
#[allow(dead_code)]
pub(crate) fn unique_id() -> usize {
    static NEXT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// Per-thread storage (the sharded counter's shard index).
#[cfg(all(feature = "std", not(freelane_loom)))]
#[allow(unused_imports)]
pub(crate) use std::thread_local;

/// A lazily built static, for the few globals loom cannot build in a `const`
/// (the sharded counter's thread numbering). Outside loom those globals are
/// plain `static`s, so there is no std counterpart.
#[cfg(all(feature = "std", freelane_loom))]
#[allow(unused_imports)]
pub(crate) use loom::lazy_static;

#[cfg(all(feature = "std", freelane_loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard};
/// The blocking layer's lock: std's mutex (it parks, so a preempted holder
/// does not make waiters burn a core), loom's under the model checker.
#[cfg(all(feature = "std", not(freelane_loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// `UnsafeCell` with loom's closure-based access interface.
///
/// Loom tracks every access to detect data races, so it cannot hand out raw
/// pointers freely; wrapping core's cell in the same `with`/`with_mut` shape
/// lets one body of code compile against both.
#[cfg(not(freelane_loom))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(freelane_loom))]
#[allow(dead_code)]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with an exclusive raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(freelane_loom)]
pub(crate) use loom::cell::UnsafeCell;
