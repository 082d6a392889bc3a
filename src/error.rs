//! The crate's error types.
//!
//! Every error that carries the caller's value hands it back
//! ([`PushError::into_inner`]); none requires `T: Debug` to be `Debug`;
//! `Display` is a short lower-case phrase; each implements `Error`
//! (`core::error::Error`, which `std::error::Error` is).
//!
//! - [`CapacityError`]: a ring buffer capacity that cannot be built.
//! - [`PushError`]: a value the ring buffer could not take, given back.
//! - [`PopError`]: why the ring buffer gave nothing.
//! - [`TryAcquireError`], [`AcquireError`]: why the semaphore gave no permit.
//! - [`QuotaError`]: a rate limiter quota that cannot be built.
//! - [`RateLimited`]: why the rate limiter granted nothing, and when to retry.

use core::fmt;
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
use core::time::Duration;

/// A [`RingBuffer`](crate::RingBuffer) capacity that cannot be built.
///
/// Returned by [`RingBuffer::try_new`](crate::RingBuffer::try_new);
/// [`RingBuffer::new`](crate::RingBuffer::new) panics with the same message.
///
/// ```
/// use freelane::{CapacityError, RingBuffer};
///
/// assert_eq!(RingBuffer::<u8>::try_new(0).unwrap_err(), CapacityError::Zero);
/// assert!(matches!(
///     RingBuffer::<u64>::try_new(usize::MAX),
///     Err(CapacityError::TooLarge { requested: usize::MAX, .. })
/// ));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapacityError {
    /// A capacity of zero was asked for: a buffer that can hold nothing
    /// could never complete a push.
    Zero,
    /// The capacity exceeds what the buffer can index, or its slot array
    /// would not fit in memory (`isize::MAX` bytes).
    TooLarge {
        /// The capacity that was asked for.
        requested: usize,
        /// The largest capacity this element type allows.
        max: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero => f.write_str("ring buffer capacity must be at least 1"),
            Self::TooLarge { requested, max } => write!(
                f,
                "ring buffer capacity {requested} is too large (the maximum for this element type is {max})"
            ),
        }
    }
}

/// A value a [`RingBuffer`](crate::RingBuffer) did not take, handed back.
///
/// ```
/// use freelane::{PushError, RingBuffer};
///
/// let ring = RingBuffer::new(1);
/// ring.try_push("a").unwrap();
/// let err = ring.try_push("b").unwrap_err();
/// assert!(err.is_full());
/// assert_eq!(err.into_inner(), "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushError<T> {
    /// The buffer was full; the value is given back.
    Full(T),
    /// The buffer was closed; the value is given back.
    Closed(T),
}

impl<T> PushError<T> {
    /// Gives back the value that was not pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(value) | Self::Closed(value) => value,
        }
    }

    /// Whether the push failed because the buffer was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the push failed because the buffer was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("pushing into a full ring buffer"),
            Self::Closed(_) => f.write_str("pushing into a closed ring buffer"),
        }
    }
}

/// Why a [`RingBuffer`](crate::RingBuffer) pop returned no value.
///
/// ```
/// use freelane::{PopError, RingBuffer};
///
/// let ring = RingBuffer::<u8>::new(2);
/// assert_eq!(ring.try_pop(), Err(PopError::Empty));
/// ring.close();
/// assert_eq!(ring.try_pop(), Err(PopError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PopError {
    /// The buffer was empty (and, for a timed pop, stayed empty until the
    /// deadline).
    Empty,
    /// The buffer is closed and has been drained: no value will ever come.
    Closed,
}

impl PopError {
    /// Whether the pop failed because the buffer was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether the pop failed because the buffer is closed and drained.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("popping from an empty ring buffer"),
            Self::Closed => f.write_str("popping from a closed and drained ring buffer"),
        }
    }
}

/// Why a [`Semaphore`](crate::Semaphore) gave no permit without waiting
/// (or, from `acquire_timeout`, before its deadline).
///
/// ```
/// use freelane::{Semaphore, TryAcquireError};
///
/// let sem = Semaphore::new(1);
/// let _held = sem.try_acquire().unwrap();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryAcquireError {
    /// Too few permits were available.
    NoPermits,
    /// The semaphore is closed.
    Closed,
    /// More permits were asked for than the semaphore can ever hold
    /// ([`Semaphore::MAX_PERMITS`](crate::Semaphore::MAX_PERMITS)): the
    /// request can never be met. The same answer as
    /// [`AcquireError::TooMany`], from every acquire.
    TooMany {
        /// The number of permits asked for.
        requested: usize,
    },
}

impl TryAcquireError {
    /// Whether the semaphore is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }

    /// Whether too few permits were available.
    pub fn is_no_permits(&self) -> bool {
        matches!(self, Self::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPermits => f.write_str("no permits available"),
            Self::Closed => f.write_str("semaphore closed"),
            Self::TooMany { requested } => write!(
                f,
                "asked for {requested} permits, more than a semaphore can hold ({})",
                crate::Semaphore::MAX_PERMITS
            ),
        }
    }
}

/// Why a waiting [`Semaphore`](crate::Semaphore) acquire gave no permit.
///
/// ```
/// use freelane::{AcquireError, Semaphore};
///
/// let sem = Semaphore::new(1);
/// sem.close();
/// assert_eq!(sem.acquire().unwrap_err(), AcquireError::Closed);
/// assert!(matches!(
///     Semaphore::new(1).acquire_many(usize::MAX),
///     Err(AcquireError::TooMany { .. })
/// ));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AcquireError {
    /// The semaphore was closed before (or while) waiting.
    Closed,
    /// More permits were asked for than the semaphore can ever hold
    /// ([`Semaphore::MAX_PERMITS`](crate::Semaphore::MAX_PERMITS)): waiting
    /// would never end, so the call fails at once.
    TooMany {
        /// The number of permits asked for.
        requested: usize,
    },
}

impl AcquireError {
    /// Whether the semaphore is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("semaphore closed"),
            Self::TooMany { requested } => write!(
                f,
                "asked for {requested} permits, more than a semaphore can hold ({})",
                crate::Semaphore::MAX_PERMITS
            ),
        }
    }
}

#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
/// A [`RateLimiter`](crate::RateLimiter) quota that cannot be built.
///
/// Returned by `RateLimiter::try_new` and
/// [`RateLimiter::try_with_clock`](crate::RateLimiter::try_with_clock);
/// `new` and `with_clock` panic with the same message.
///
/// ```
/// use freelane::{ManualClock, QuotaError, RateLimiter};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(0);
/// let err = RateLimiter::try_with_clock(0, Duration::from_secs(1), &clock).unwrap_err();
/// assert_eq!(err, QuotaError::ZeroCapacity);
/// assert_eq!(err.to_string(), "rate limiter capacity must be at least 1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaError {
    /// A capacity of zero: a bucket that holds nothing could never grant.
    ZeroCapacity,
    /// A zero refill interval: an unlimited rate is no limit.
    ZeroRefill,
    /// `capacity × refill_every` (the time a full bucket takes to refill)
    /// exceeds `u64::MAX` nanoseconds, about 584 years: the limiter's
    /// clock arithmetic is `u64` nanoseconds.
    TooLong {
        /// The capacity asked for.
        capacity: u32,
        /// The refill interval asked for.
        refill_every: Duration,
    },
}

#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCapacity => f.write_str("rate limiter capacity must be at least 1"),
            Self::ZeroRefill => f.write_str("rate limiter refill interval must not be zero"),
            Self::TooLong {
                capacity,
                refill_every,
            } => write!(
                f,
                "rate limiter window of {capacity} tokens x {refill_every:?} exceeds u64::MAX nanoseconds (about 584 years)"
            ),
        }
    }
}

#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
/// Why a [`RateLimiter`](crate::RateLimiter) granted no token.
///
/// ```
/// use freelane::{ManualClock, RateLimited, RateLimiter};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(0);
/// let limiter = RateLimiter::with_clock(2, Duration::from_millis(10), &clock);
/// limiter.try_acquire_many(2).unwrap();
/// let err = limiter.try_acquire().unwrap_err();
/// assert_eq!(err.retry_after(), Some(Duration::from_millis(10)));
/// assert_eq!(limiter.try_acquire_many(3), Err(RateLimited::ExceedsCapacity));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateLimited {
    /// Too few tokens now; the request would succeed after this long, if
    /// nobody else takes tokens in between. `Duration::MAX` means never (the
    /// clock is at the end of its `u64` range).
    RetryAfter(Duration),
    /// More tokens were asked for than the bucket can ever hold: waiting
    /// would never help.
    ExceedsCapacity,
}

#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
impl RateLimited {
    /// The wait a `RetryAfter` carries; `None` for `ExceedsCapacity`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RetryAfter(wait) => Some(*wait),
            Self::ExceedsCapacity => None,
        }
    }

    /// Whether the request can never succeed.
    pub fn is_exceeds_capacity(&self) -> bool {
        matches!(self, Self::ExceedsCapacity)
    }
}

#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RetryAfter(wait) => write!(f, "rate limited; retry after {wait:?}"),
            Self::ExceedsCapacity => {
                f.write_str("more tokens asked for than the rate limiter holds")
            }
        }
    }
}

// `core::error::Error` is the trait `std::error::Error` re-exports, so these
// impls serve `std` users (`Box<dyn std::error::Error>`, `?`) and `no_std`
// users alike.
impl core::error::Error for CapacityError {}
impl<T> core::error::Error for PushError<T> {}
impl core::error::Error for PopError {}
impl core::error::Error for TryAcquireError {}
impl core::error::Error for AcquireError {}
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
impl core::error::Error for QuotaError {}
#[cfg(any(target_has_atomic = "64", feature = "portable-atomic"))]
impl core::error::Error for RateLimited {}
