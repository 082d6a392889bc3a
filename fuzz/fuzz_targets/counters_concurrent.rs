//! Concurrent target (real threads): see `freelane_fuzz::counters`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::counters::ConcurrentInput| {
    freelane_fuzz::counters::check_concurrent(&input)
});
