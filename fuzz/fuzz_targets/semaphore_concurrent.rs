//! Concurrent target (real threads): see `freelane_fuzz::semaphore`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::semaphore::ConcurrentInput| {
    freelane_fuzz::semaphore::check_concurrent(&input)
});
