//! Sequential differential target: see `freelane_fuzz::ms_queue`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::ms_queue::Input| {
    freelane_fuzz::ms_queue::check_sequential(&input)
});
