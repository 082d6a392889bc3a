//! Async waits under cancellation, against a sequential model: see
//! `freelane_fuzz::async_cancel`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: freelane_fuzz::async_cancel::Input| {
    freelane_fuzz::async_cancel::check(&input)
});
