//! Waiting for tokens: the blocking `acquire`/`acquire_many` (under `std`,
//! sleeping the thread) and the executor-agnostic `acquire_async` /
//! `acquire_many_async` (awaiting the caller's sleep future). Both reserve
//! their slot first (`RateLimiter::reserve`) and then sleep until it comes:
//! reservation mode, explained once on [`RateLimiter`] ("Waiting").

use core::future::Future;
use core::time::Duration;

use super::{Clock, RateLimiter};
use crate::error::RateLimited;

impl<C: Clock> RateLimiter<C> {
    /// Waits, through the caller's own sleep, until one token is granted;
    /// works under any executor.
    ///
    /// `sleep(d)` must return a future that completes after about `d`
    /// (`tokio::time::sleep`, `async_io::Timer::after(d)`, an embedded
    /// timer's future...). The first poll reserves this caller's slot on
    /// the schedule, then the future awaits `sleep` until the clock reaches
    /// it, so each token wakes one waiter (see
    /// [Waiting](RateLimiter#waiting-reservation-mode)). Available without
    /// `std`.
    ///
    /// # Cancellation
    /// Dropping the future after its first poll forfeits the slot it
    /// reserved: the token counts as taken (the limiter never goes past its
    /// quota, but that token serves nobody). Dropping it before its first
    /// poll takes nothing.
    ///
    /// # Examples
    /// Driven here by a minimal executor, with a sleep that moves a
    /// [`ManualClock`](super::ManualClock):
    /// ```
    /// use freelane::{ManualClock, RateLimiter};
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    ///
    /// fn block_on<F: Future>(future: F) -> F::Output {
    ///     let mut future = pin!(future);
    ///     let mut cx = Context::from_waker(Waker::noop());
    ///     loop {
    ///         if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
    ///             return out;
    ///         }
    ///     }
    /// }
    ///
    /// let clock = ManualClock::new(0);
    /// let limiter = RateLimiter::with_clock(1, Duration::from_secs(1), &clock);
    /// let sleep = |d| {
    ///     clock.advance(d); // a real timer would wait here
    ///     std::future::ready(())
    /// };
    /// block_on(limiter.acquire_async(sleep));
    /// block_on(limiter.acquire_async(sleep));
    /// assert_eq!(clock.now(), 1_000_000_000); // the second waited 1 s
    /// ```
    pub async fn acquire_async<S, F>(&self, sleep: S)
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        // One token never exceeds a capacity of at least 1.
        let _ = self.acquire_many_async(1, sleep).await;
    }

    /// [`acquire_async`](Self::acquire_async) for `n` tokens at once.
    ///
    /// # Errors
    /// [`RateLimited::ExceedsCapacity`] at once if `n > capacity`; never
    /// `RetryAfter` (it waits instead, through `sleep(Duration::MAX)` if the
    /// clock is at the end of its range).
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, RateLimited, RateLimiter};
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(0);
    /// let limiter = RateLimiter::with_clock(2, Duration::from_secs(1), &clock);
    /// let sleep = |d| {
    ///     clock.advance(d);
    ///     std::future::ready(())
    /// };
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut first = pin!(limiter.acquire_many_async(2, sleep));
    /// assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    /// let mut too_many = pin!(limiter.acquire_many_async(3, sleep));
    /// assert_eq!(
    ///     too_many.as_mut().poll(&mut cx),
    ///     Poll::Ready(Err(RateLimited::ExceedsCapacity))
    /// );
    /// ```
    pub async fn acquire_many_async<S, F>(&self, n: u32, mut sleep: S) -> Result<(), RateLimited>
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        let slot = self.reserve(n)?;
        loop {
            let now = self.clock.now();
            if now >= slot {
                return Ok(());
            }
            sleep(Duration::from_nanos(slot - now)).await;
        }
    }
}

#[cfg(feature = "std")]
impl<C: Clock> RateLimiter<C> {
    /// Waits until one token is granted, sleeping the thread (no spinning)
    /// until the slot it reserved comes due (`std` only; each token wakes one
    /// waiter, see [Waiting](RateLimiter#waiting-reservation-mode)).
    ///
    /// Sleeps in real time whatever the clock, and returns only once the
    /// clock has reached its slot: with a [`ManualClock`](super::ManualClock),
    /// another thread must move the clock for it to return. A clock at the
    /// end of its `u64` range (`RetryAfter(Duration::MAX)`) makes it sleep
    /// for good: no later reading can grant.
    ///
    /// # Examples
    /// ```
    /// use freelane::RateLimiter;
    /// use std::time::{Duration, Instant};
    ///
    /// let limiter = RateLimiter::new(1, Duration::from_millis(5));
    /// let start = Instant::now();
    /// limiter.acquire();
    /// limiter.acquire(); // waits for the refill
    /// assert!(start.elapsed() >= Duration::from_millis(4));
    /// ```
    pub fn acquire(&self) {
        // One token never exceeds a capacity of at least 1.
        let _ = self.acquire_many(1);
    }

    /// Waits until `n` tokens are granted at once, sleeping in between.
    ///
    /// # Errors
    /// [`RateLimited::ExceedsCapacity`] at once if `n > capacity`.
    ///
    /// # Examples
    /// ```
    /// use freelane::{RateLimited, RateLimiter};
    /// use std::time::Duration;
    ///
    /// let limiter = RateLimiter::new(3, Duration::from_millis(1));
    /// assert_eq!(limiter.acquire_many(3), Ok(()));
    /// assert_eq!(limiter.acquire_many(2), Ok(())); // after about 2 ms
    /// assert_eq!(limiter.acquire_many(4), Err(RateLimited::ExceedsCapacity));
    /// ```
    pub fn acquire_many(&self, n: u32) -> Result<(), RateLimited> {
        let slot = self.reserve(n)?;
        loop {
            let now = self.clock.now();
            if now >= slot {
                return Ok(());
            }
            crate::sync::thread::sleep(Duration::from_nanos(slot - now));
        }
    }
}
