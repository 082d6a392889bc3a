//! Sequential differential target: see `freelane_fuzz::segmented_queue`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::segmented_queue::Input| {
    freelane_fuzz::segmented_queue::check_sequential(&input)
});
