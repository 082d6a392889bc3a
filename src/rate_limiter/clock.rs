//! Time for the [`RateLimiter`](super::RateLimiter): the [`Clock`] trait,
//! the [`ManualClock`] tests drive by hand, and `StdClock`, the default (the
//! CPU's cycle counter through quanta, under `std`).
//!
//! The limiter reads its clock once per call, before it loads the TAT; a
//! clock that goes backwards can make it deny, never over-grant (see the
//! parent module's "Stale clocks").

use core::time::Duration;

use crate::sync::atomic::AtomicU64;
use crate::sync::atomic::Ordering::Relaxed;

/// A source of monotonic time for a [`RateLimiter`](super::RateLimiter), in
/// nanoseconds.
///
/// `now` should not go backwards; if it does (a clock source that jumps, or
/// a [`ManualClock`] set back), the limiter grants nothing extra, it waits
/// until the clock has caught up. The origin is arbitrary.
///
/// Implemented for `StdClock` (under `std`), [`ManualClock`], and for
/// references, `Box`es and `Arc`s of clocks, so one clock can be shared.
///
/// # Examples
/// A clock of one's own (on `no_std`, a hardware timer):
/// ```
/// use freelane::{Clock, RateLimiter};
/// use std::time::Duration;
///
/// struct Ticks; // a 1 MHz timer, say
/// impl Clock for Ticks {
///     fn now(&self) -> u64 {
///         42 * 1_000 // the timer's count × 1000 ns
///     }
/// }
///
/// let limiter = RateLimiter::with_clock(2, Duration::from_millis(10), Ticks);
/// assert!(limiter.try_acquire().is_ok());
/// ```
pub trait Clock {
    /// The current time in nanoseconds since an arbitrary origin.
    fn now(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for alloc::boxed::Box<C> {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }
}

// The user's `Arc`, not the crate's `sync::Arc` (loom's under the model
// checker): this is a public impl for the type users hold.
#[cfg(target_has_atomic = "ptr")]
impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C> {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// A clock that moves only when told to: for tests of code that uses a
/// [`RateLimiter`](super::RateLimiter), deterministic to the nanosecond.
///
/// Share it by reference (`&ManualClock` is a [`Clock`]) or in an `Arc`.
/// [`advance`](Self::advance) and [`set`](Self::set) may be called from any
/// thread; a reader sees the new time once it is synchronized with the
/// writer (a join, a barrier, a channel): the clock is a Relaxed atomic,
/// it orders nothing else.
///
/// # Examples
/// ```
/// use freelane::{ManualClock, RateLimiter, RateLimited};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(0);
/// let limiter = RateLimiter::with_clock(1, Duration::from_secs(1), &clock);
/// assert!(limiter.try_acquire().is_ok());
/// assert_eq!(
///     limiter.try_acquire(),
///     Err(RateLimited::RetryAfter(Duration::from_secs(1)))
/// );
/// clock.advance(Duration::from_millis(400));
/// assert_eq!(
///     limiter.try_acquire(),
///     Err(RateLimited::RetryAfter(Duration::from_millis(600)))
/// );
/// clock.advance(Duration::from_millis(600));
/// assert!(limiter.try_acquire().is_ok());
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    /// Nanoseconds since the clock's origin.
    now: AtomicU64,
}

impl ManualClock {
    /// A clock that reads `start` nanoseconds.
    ///
    /// `const` except under the loom model checker.
    ///
    /// # Examples
    /// ```
    /// use freelane::ManualClock;
    ///
    /// static CLOCK: ManualClock = ManualClock::new(5);
    /// assert_eq!(CLOCK.now(), 5);
    /// ```
    #[cfg(not(any(freelane_loom, miri)))]
    #[must_use]
    pub const fn new(start: u64) -> Self {
        Self {
            now: AtomicU64::new(start),
        }
    }

    /// A clock that reads `start` nanoseconds (loom build: not `const`).
    #[cfg(any(freelane_loom, miri))]
    #[must_use]
    pub fn new(start: u64) -> Self {
        Self {
            now: AtomicU64::new(start),
        }
    }

    /// The time it reads, in nanoseconds.
    ///
    /// # Examples
    /// ```
    /// use freelane::ManualClock;
    ///
    /// assert_eq!(ManualClock::new(7).now(), 7);
    /// ```
    #[must_use]
    #[inline]
    pub fn now(&self) -> u64 {
        // Relaxed: the clock publishes no data (see the type's docs).
        self.now.load(Relaxed)
    }

    /// Moves the clock forward by `by`, stopping at `u64::MAX` nanoseconds.
    ///
    /// # Examples
    /// ```
    /// use freelane::ManualClock;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(0);
    /// clock.advance(Duration::from_micros(3));
    /// assert_eq!(clock.now(), 3_000);
    /// clock.advance(Duration::MAX);
    /// assert_eq!(clock.now(), u64::MAX);
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = nanos_saturating(by);
        // Relaxed: as in `now`; the read-modify-write keeps concurrent
        // advances from losing each other.
        let _ = self
            .now
            .fetch_update(Relaxed, Relaxed, |now| Some(now.saturating_add(by)));
    }

    /// Sets the clock to `now` nanoseconds, which may be earlier than before
    /// (to test a clock that goes backwards).
    ///
    /// # Examples
    /// ```
    /// use freelane::ManualClock;
    ///
    /// let clock = ManualClock::new(100);
    /// clock.set(40);
    /// assert_eq!(clock.now(), 40);
    /// ```
    pub fn set(&self, now: u64) {
        // Relaxed: as in `now`.
        self.now.store(now, Relaxed);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> u64 {
        ManualClock::now(self)
    }
}

/// The default clock: the cheapest monotonic time source of the platform,
/// through the [`quanta`](https://docs.rs/quanta) crate (`std` only).
///
/// On x86-64 with an invariant TSC, and on aarch64, it reads the CPU's
/// cycle counter (`rdtsc`, `cntvct_el0`) and scales it to nanoseconds with
/// one multiply and shift, calibrated once per process against the OS
/// clock. On the machine the benchmarks ran on (a 2-core x86-64 VM) a
/// reading costs about 10 ns, where `std::time::Instant::now()` costs 20 to
/// 27 ns (the vDSO's `clock_gettime`, which reads the same counter inside a
/// seqlock and converts it in more steps). Elsewhere it falls back to the OS
/// monotonic clock.
///
/// The first `StdClock` of a process runs that calibration, up to 200 ms
/// (quanta's bound); later ones copy its result.
///
/// A counter that is not perfectly synchronized between cores can read a
/// few nanoseconds backwards when a thread migrates; the limiter is safe
/// against that (see [`Clock`]): it can only deny, never over-grant.
///
/// # Examples
/// ```
/// use freelane::{Clock, StdClock};
///
/// let clock = StdClock::new();
/// let (first, second) = (clock.now(), clock.now());
/// assert!(second >= first);
/// ```
#[cfg(feature = "std")]
#[derive(Clone, Debug)]
pub struct StdClock {
    #[cfg(not(any(freelane_loom, miri)))]
    clock: quanta::Clock,
    /// Under loom (where quanta does not build: it needs crossbeam-utils'
    /// `AtomicCell`, which crossbeam's loom mode removes) the models use
    /// [`ManualClock`]; this stand-in only keeps the type there.
    #[cfg(any(freelane_loom, miri))]
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock reading the platform's cheapest monotonic source.
    ///
    /// # Examples
    /// ```
    /// use freelane::{RateLimiter, StdClock};
    /// use std::time::Duration;
    ///
    /// let limiter = RateLimiter::with_clock(5, Duration::from_millis(1), StdClock::new());
    /// assert_eq!(limiter.available(), 5);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            #[cfg(not(any(freelane_loom, miri)))]
            clock: quanta::Clock::new(),
            #[cfg(any(freelane_loom, miri))]
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Clock for StdClock {
    #[inline]
    fn now(&self) -> u64 {
        // The raw counter scaled to nanoseconds since the counter's own
        // origin: one read and a multiply-shift.
        #[cfg(not(any(freelane_loom, miri)))]
        let now = self.clock.delta_as_nanos(0, self.clock.raw());
        #[cfg(any(freelane_loom, miri))]
        let now = nanos_saturating(self.origin.elapsed());
        now
    }
}

/// `duration` in nanoseconds, `u64::MAX` if it has more.
fn nanos_saturating(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
