//! Sequential differential target: see `freelane_fuzz::rate_limiter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::rate_limiter::Input| {
    freelane_fuzz::rate_limiter::check_sequential(&input)
});
