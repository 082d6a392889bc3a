//! Sequential differential target: see `freelane_fuzz::counters`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::counters::Input| {
    freelane_fuzz::counters::check_sequential(&input)
});
