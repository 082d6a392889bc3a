//! Concurrent target (real threads): see `freelane_fuzz::ring_buffer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::ring_buffer::ConcurrentInput| {
    freelane_fuzz::ring_buffer::check_concurrent(&input)
});
