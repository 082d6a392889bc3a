//! Sequential differential target: see `freelane_fuzz::ring_buffer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::ring_buffer::Input| {
    freelane_fuzz::ring_buffer::check_sequential(&input)
});
