//! Concurrent target (real threads): see `freelane_fuzz::ms_queue`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::ms_queue::ConcurrentInput| {
    freelane_fuzz::ms_queue::check_concurrent(&input)
});
