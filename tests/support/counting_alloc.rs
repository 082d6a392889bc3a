//! A counting global allocator for the memory tests (tests/*_memory.rs):
//! live bytes, their peak, total bytes and the number of allocations. A test
//! binary installs it with
//! `#[global_allocator] static ALLOCATOR: CountingAllocator = CountingAllocator;`
//! and reads the counters below, directly or around a run with [`measure`];
//! the other binaries only compile it.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::alloc::System;

/// Wraps the system allocator, counting live bytes, their peak and the total
/// ever allocated.
pub struct CountingAllocator;

pub static LIVE: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);
pub static TOTAL: AtomicUsize = AtomicUsize::new(0);
pub static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

impl CountingAllocator {
    fn allocated(size: usize) {
        let live = LIVE.fetch_add(size, SeqCst) + size;
        PEAK.fetch_max(live, SeqCst);
        TOTAL.fetch_add(size, SeqCst);
        ALLOCATIONS.fetch_add(1, SeqCst);
    }

    fn freed(size: usize) {
        LIVE.fetch_sub(size, SeqCst);
    }
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::allocated(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::allocated(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) };
        Self::freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            Self::freed(layout.size());
            Self::allocated(new_size);
        }
        new_ptr
    }
}

/// What [`measure`] read around a run: the live bytes at its start, the
/// peak of live bytes above them, and the number of allocations it made.
pub struct Measured {
    pub live_before: usize,
    pub peak: usize,
    pub allocations: usize,
}

/// Runs `run` and returns what the counters saw of it, the peak reset to the
/// live bytes at its start.
pub fn measure(run: impl FnOnce()) -> Measured {
    let live_before = LIVE.load(SeqCst);
    let allocations_before = ALLOCATIONS.load(SeqCst);
    PEAK.store(live_before, SeqCst);
    run();
    Measured {
        live_before,
        peak: PEAK.load(SeqCst) - live_before,
        allocations: ALLOCATIONS.load(SeqCst) - allocations_before,
    }
}
