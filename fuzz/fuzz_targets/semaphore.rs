//! Sequential differential target: see `freelane_fuzz::semaphore`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::semaphore::Input| {
    freelane_fuzz::semaphore::check_sequential(&input)
});
