//! Concurrent target (real threads): see `freelane_fuzz::segmented_queue`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::segmented_queue::ConcurrentInput| {
    freelane_fuzz::segmented_queue::check_concurrent(&input)
});
