//! [`RateLimiter`]: a token bucket kept as one 64-bit word, the generic cell
//! rate algorithm (GCRA), updated with one compare-exchange per grant.
//!
//! Instead of a token count that a refill step tops up, the limiter stores
//! one timestamp, the *theoretical arrival time* (TAT): the moment at which
//! the bucket would be full again if nobody took anything more. Taking `n`
//! tokens at time `now` moves it to `max(TAT, now) + n × refill_every`, and
//! is allowed while that lands no further than `capacity × refill_every`
//! ahead of `now`. One word read, a few integer operations, one
//! compare-exchange: no lock, no background thread, exact bursts, no drift.
//! The algorithm is the cell-conformance test of ATM networks (ITU-T
//! Recommendation I.371, "Traffic control and congestion control in
//! B-ISDN", which defines the GCRA; ATM Forum, *Traffic Management
//! Specification* 4.0, af-tm-0056.000, 1996), used for rate limiting by the
//! `governor` crate; Brandur Leach's "Rate limiting, cells, and GCRA"
//! (<https://brandur.org/rate-limiting>) is a friendly tour.
//!
//! The full essay (the classic bucket and the GCRA form; why one word needs
//! no lock; state; linearization points; stale clocks; ABA; progress; time
//! and overflow; references) is on [`RateLimiter`], where the rendered docs
//! show it. Files: this one (the algorithm and the lock-free core),
//! `clock.rs` (the [`Clock`] trait, [`ManualClock`], `StdClock`),
//! `waiting.rs` (the blocking and async acquires, built on
//! `try_acquire_many`).

mod clock;
mod waiting;

#[cfg(feature = "std")]
pub use clock::StdClock;
pub use clock::{Clock, ManualClock};

use core::time::Duration;

use crate::error::{QuotaError, RateLimited};
use crate::sync::Backoff;
use crate::sync::atomic::AtomicU64;
use crate::sync::atomic::Ordering::Relaxed;

/// The quota in the limiter's units, `(interval, window)` in nanoseconds,
/// or why it cannot be built.
fn check_quota(capacity: u32, refill_every: Duration) -> Result<(u64, u64), QuotaError> {
    if capacity == 0 {
        return Err(QuotaError::ZeroCapacity);
    }
    if refill_every.is_zero() {
        return Err(QuotaError::ZeroRefill);
    }
    let interval = u64::try_from(refill_every.as_nanos()).ok();
    let window = interval.and_then(|interval| interval.checked_mul(u64::from(capacity)));
    match (interval, window) {
        (Some(interval), Some(window)) => Ok((interval, window)),
        _ => Err(QuotaError::TooLong {
            capacity,
            refill_every,
        }),
    }
}

macro_rules! rate_limiter {
    ($($default:ty)?) => {
        /// A token-bucket rate limiter on one atomic word (GCRA): holds at
        /// most `capacity` tokens, gains one every `refill_every`, starts full.
        ///
        /// Lock-free. Uncontended, a grant is one clock read and one
        /// compare-exchange, a denial one clock read and one load (no
        /// write). No background thread; the refill is computed from the
        /// clock when asked.
        ///
        /// # How it works
        /// A classic token bucket keeps a token count and a last-refill time,
        /// and tops the count up on each request: two words that must change
        /// together, so threads sharing it need a lock. This one keeps a
        /// single timestamp, the *theoretical arrival time* (TAT) of the
        /// generic cell rate algorithm (ITU-T I.371; ATM Forum TM 4.0): the
        /// moment the bucket will be full again. Each `refill_every` by which
        /// the TAT lies ahead of the clock is one token missing. Taking `n`
        /// tokens moves the TAT to `max(TAT, now) + n × refill_every`, and is
        /// allowed while that is at most `capacity × refill_every` ahead of
        /// `now`; otherwise the excess is exactly the wait, returned as
        /// [`RateLimited::RetryAfter`]. A grant is one compare-exchange from
        /// the TAT read to the new one; if it fails, another thread's grant
        /// landed first, and the request is judged again against that newer
        /// TAT. The refill is never stored, so nothing drifts and nothing
        /// needs to run in the background. The sections after "Guarantees"
        /// walk through it in full: the classic bucket and the GCRA form;
        /// why one word needs no lock; state; linearization points; stale
        /// clocks; ABA; progress; waiting (reservation mode); time and
        /// overflow; references.
        ///
        /// # Guarantees
        /// - Requests judged at clock readings within any span of length `d`
        ///   are granted at most `capacity + d / refill_every` tokens in all
        ///   (the bucket starts full), whatever the number of threads, and
        ///   however the clock jumps. (Each call reads the clock once, at
        ///   its start.)
        /// - At a clock that does not move, exactly `capacity` tokens are
        ///   granted, then each `refill_every` one more.
        /// - `RetryAfter(d)` is exact for the clock reading the call took:
        ///   at `now + d` the same request succeeds if nobody else takes
        ///   tokens in between.
        /// - A thread whose clock reading went stale before its
        ///   compare-exchange may be denied although a token has just come
        ///   due; never the reverse.
        ///
        /// # The classic bucket and the GCRA form
        /// The textbook token bucket keeps two numbers, `tokens` and `last_refill`.
        /// A request first refills, `tokens = min(capacity, tokens + (now -
        /// last_refill) / refill_every)`, moves `last_refill` forward by the whole
        /// tokens it credited (or it drifts: the remainder of the division is lost
        /// at every refill), then takes a token if one is there. Two words that must
        /// change together, so concurrent callers need a lock, or a double-width
        /// CAS.
        ///
        /// GCRA folds both numbers into one. Write `T = refill_every` and
        /// `W = capacity × T` (the *window*). The bucket holds
        /// `(now + W - max(TAT, now)) / T` tokens: a TAT at or before `now` means a
        /// full bucket, each `T` the TAT lies ahead of `now` is one token missing.
        /// Taking `n` tokens adds `n × T` to the TAT, so the refill is implicit: as
        /// `now` advances, the distance to the TAT shrinks, and nothing needs to run
        /// to make that happen. In the cell-rate terms of the standard, with the
        /// tolerance `τ = W - T`, a single cell at time `t` conforms iff
        /// `TAT ≤ t + τ`, and then `TAT := max(TAT, t) + T` (the "virtual scheduling"
        /// form of the algorithm). For `n` tokens the test becomes
        /// `max(TAT, now) + n × T ≤ now + W`.
        ///
        /// ```text
        ///            now                       now + W
        ///   ----------|-----------|--------------|------> time
        ///             |<- ahead ->|<-- tokens × T -->|
        ///                        TAT
        /// ```
        ///
        /// Nothing is rounded when a grant is recorded: the TAT advances by whole
        /// multiples of `T` in integer nanoseconds, so after any number of grants
        /// the schedule has not drifted by a single nanosecond. Grants judged at
        /// clock readings within any span of length `d` never exceed
        /// `capacity + d / T`: the first of them leaves the TAT at least one cost
        /// past the span's start, each further one adds its cost, and the last
        /// leaves it at most `W` past the span's end.
        ///
        /// # Why one word needs no lock
        /// The whole state is the TAT, one `AtomicU64`, so an update is the CAS
        /// loop of [`AtomicCounter`](crate::AtomicCounter):
        ///
        /// ```text
        /// now = clock.now()                     // read once per call
        /// tat = TAT.load()
        /// loop {
        ///     base  = max(tat, now)
        ///     ahead = base - now                // how far the schedule runs ahead
        ///     if ahead > W - n×T { return RetryAfter(ahead - (W - n×T)) }   // no write
        ///     match TAT.compare_exchange_weak(tat, base + n×T) {
        ///         Ok(_)       => return Ok(())
        ///         Err(actual) => tat = actual   // somebody else was granted first
        ///     }
        /// }
        /// ```
        ///
        /// The decision and the new TAT are computed from the value read; the CAS
        /// stores the new TAT only if the word still holds that value, so a grant
        /// always extends exactly the schedule it was checked against. A failed CAS
        /// means another thread's grant landed in between (denials never write):
        /// the loop recomputes from the value the failure reports, and may now deny.
        /// Two threads can never both take "the last token": the second CAS sees the
        /// first one's TAT. A denial returns before the CAS, so saying no is a load
        /// and leaves the cache line shared.
        ///
        /// # State
        /// ```text
        /// tat: AtomicU64   (nanoseconds on the limiter's clock)
        ///  63                                0
        /// +-----------------------------------+
        /// |   theoretical arrival time (TAT)  |
        /// +-----------------------------------+
        /// ```
        /// It starts at 0, so a new limiter is full whatever its clock reads. The
        /// constants beside it (`T`, `W`, `W - T`, `capacity`) are fixed at
        /// construction, so the hot path divides nothing. Invariant: after a grant
        /// at clock reading `now`, `TAT ≤ now + W`; after a reservation (see
        /// [Waiting](#waiting-reservation-mode)) whose slot is `s`, `TAT ≤ s + W`,
        /// so queued reservations may push the TAT further ahead, and every
        /// `try_acquire` is denied until the clock has caught up with them.
        ///
        /// # Linearization points
        /// - `try_acquire`, `try_acquire_many`: on a grant, the successful CAS; on a
        ///   denial (`RetryAfter`), the load (first or from a failed CAS) of the TAT
        ///   that was judged; `ExceedsCapacity` touches no state (it depends on
        ///   `capacity` alone). The clock is read once, before; with a clock that
        ///   does not move during the call this makes the limiter linearizable
        ///   (`tests/linearizability_rate_limiter.rs` checks it).
        /// - `available`: its load of the TAT.
        /// - The waiting acquires (`acquire`, `acquire_many`, `acquire_async`,
        ///   `acquire_many_async`): at the successful CAS of their
        ///   reservation, which is where the tokens are taken; the wait that
        ///   follows only delays the return until the clock reaches the slot.
        ///   `ExceedsCapacity` as above.
        ///
        /// # Stale clocks
        /// The clock is read before the TAT, and not again when a CAS fails. A
        /// thread that reads `now`, is delayed, and then judges a TAT that another
        /// thread wrote after `now` may deny although a token has come due in the
        /// meantime; its `RetryAfter` is then too long by at most the delay. The
        /// reverse cannot happen: a stale (smaller) `now` makes `ahead` larger,
        /// never smaller, so a stale reading can only deny, never grant beyond the
        /// quota. A clock that goes backwards is the same case: nothing the limiter
        /// granted is handed out again, it only waits for the clock to catch up.
        ///
        /// # ABA
        /// Cannot happen: every write stores `max(TAT, now) + cost` with a cost of
        /// at least 1 ns, strictly more than the value it replaces, so the word only
        /// grows and never returns to a value a thread has read. (Were it to, the
        /// grant computed from that value would still be right for it: the word
        /// names nothing else that could have changed.)
        ///
        /// # Progress
        /// Lock-free: a CAS fails only because another grant succeeded. A call that
        /// finds too few tokens on its first load returns after that load, whatever
        /// other threads do. After a failed CAS the loop backs off
        /// ([`Backoff::spin`], 1 to 64 spin hints) before retrying, so that a burst
        /// of callers does not keep stealing the cache line from the winner.
        /// That holds where the target has 64-bit atomics; elsewhere (Cortex-M) the
        /// type exists only with the `portable-atomic` feature, whose `AtomicU64`
        /// there takes a lock or disables interrupts (the crate docs, "Targets").
        ///
        /// # Waiting (reservation mode)
        /// The waiting acquires do not retry `try_acquire` after each
        /// `RetryAfter`: with many sleepers, every one of them would wake at the
        /// same moment for the one token that came due (a thundering herd: one
        /// token, a wake-up per sleeper). Instead a waiter *reserves*: one CAS
        /// advances the TAT by its cost from `max(TAT, now)` whatever the
        /// distance, which never fails for want of tokens, and gives it its own
        /// slot, `s = new TAT - W`, the first clock reading at which
        /// `try_acquire_many` would have granted that same request. It then
        /// sleeps until the clock reaches `s` (again, for the rest, if a sleep
        /// ends early) and returns. So each token that comes due wakes the one
        /// waiter it was reserved for, waiters are served in the order of their
        /// reservations, and the quota holds exactly as for `try_acquire`: a
        /// reservation is a grant dated in the future, counted from the moment
        /// it is made (`available` and `try_acquire` see the tokens as taken).
        ///
        /// The price: a reservation cannot be taken back. A blocking acquire
        /// always waits its slot out; an async acquire dropped after its first
        /// poll forfeits its slot (the token counts as taken and serves nobody),
        /// and one dropped before its first poll takes nothing.
        /// `tests/rate_limiter.rs` checks this on a [`ManualClock`]: two
        /// waiters on an empty one-token bucket get slots one `refill_every`
        /// apart, and neither is woken before its own.
        ///
        /// # Time and overflow
        /// Time is `u64` nanoseconds from the [`Clock`]. Construction rejects a
        /// window `capacity × refill_every` that does not fit in `u64` nanoseconds
        /// (about 584 years) with [`QuotaError::TooLong`]. At run time all
        /// arithmetic is checked: a grant whose new TAT would pass `u64::MAX`
        /// (a clock within `n × refill_every` of the end of its range) is denied
        /// with `RetryAfter(Duration::MAX)`, since no later reading can fix it.
        ///
        /// # References
        /// - ITU-T I.371 and the ATM Forum TM 4.0 specification (above): the GCRA,
        ///   virtual scheduling form.
        /// - B. Leach, "Rate limiting, cells, and GCRA" (above).
        /// - The `governor` crate (<https://docs.rs/governor>): GCRA on an
        ///   `AtomicU64`; the benchmark `benches/rate_limiter.rs` compares with it.
        /// - M. Bos, *Rust Atomics and Locks*, ch. 2: check before commit in a CAS
        ///   loop.
        ///
        /// # Memory ordering
        /// The limiter publishes no data: its atomics are `Relaxed`, and a
        /// grant does not happen-before anything in another thread. Use it
        /// to pace work, not to hand data between threads.
        ///
        /// # Size
        /// The TAT word, four constants and the clock; unpadded (the word
        /// and the constants are read together on every call).
        ///
        /// # Examples
        /// ```
        /// use freelane::{ManualClock, RateLimiter, RateLimited};
        /// use std::time::Duration;
        ///
        /// let clock = ManualClock::new(0);
        /// // Bursts of up to 3, then one every 100 ms.
        /// let limiter = RateLimiter::with_clock(3, Duration::from_millis(100), &clock);
        /// for _ in 0..3 {
        ///     assert!(limiter.try_acquire().is_ok());
        /// }
        /// assert_eq!(
        ///     limiter.try_acquire(),
        ///     Err(RateLimited::RetryAfter(Duration::from_millis(100)))
        /// );
        /// clock.advance(Duration::from_millis(250));
        /// assert_eq!(limiter.available(), 2);
        /// assert_eq!(limiter.try_acquire_many(4), Err(RateLimited::ExceedsCapacity));
        /// ```
        pub struct RateLimiter<C: Clock $(= $default)?> {
            /// The theoretical arrival time, in the clock's nanoseconds: the
            /// bucket is full when it is at or before `now`, and holds
            /// `(now + window - max(tat, now)) / interval` tokens. Only
            /// grants and reservations write it (see "State" above).
            tat: AtomicU64,
            /// `refill_every` in nanoseconds (`T`), at least 1.
            interval: u64,
            /// `capacity × interval` (`W`): how far ahead of `now` the TAT
            /// may run after a grant.
            window: u64,
            /// `window - interval` (the standard's `τ`): the slack a single
            /// token's request may find, precomputed for `try_acquire`.
            tolerance: u64,
            /// The burst size, at least 1.
            capacity: u32,
            /// Where time comes from.
            clock: C,
        }
    };
}

#[cfg(feature = "std")]
rate_limiter!(StdClock);
#[cfg(not(feature = "std"))]
rate_limiter!();

impl<C: Clock> core::fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("capacity", &self.capacity)
            .field("refill_every", &self.refill_every())
            .field("tat", &self.tat.load(Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "std")]
impl RateLimiter<StdClock> {
    /// A limiter holding at most `capacity` tokens and gaining one every
    /// `refill_every`, full at the start, on the [`StdClock`].
    ///
    /// # Panics
    /// If `capacity` is 0, `refill_every` is zero, or `capacity ×
    /// refill_every` exceeds `u64::MAX` nanoseconds (about 584 years); the
    /// message is [`QuotaError`]'s. [`try_new`](Self::try_new) never panics.
    ///
    /// # Examples
    /// ```
    /// use freelane::RateLimiter;
    /// use std::time::Duration;
    ///
    /// let limiter = RateLimiter::new(10, Duration::from_millis(100));
    /// assert!(limiter.try_acquire_many(10).is_ok());
    /// assert!(limiter.try_acquire().is_err());
    /// ```
    #[must_use]
    pub fn new(capacity: u32, refill_every: Duration) -> Self {
        match Self::try_new(capacity, refill_every) {
            Ok(limiter) => limiter,
            Err(err) => panic!("{err}"),
        }
    }

    /// [`new`](Self::new) without the panic.
    ///
    /// # Examples
    /// ```
    /// use freelane::{QuotaError, RateLimiter};
    /// use std::time::Duration;
    ///
    /// assert_eq!(
    ///     RateLimiter::try_new(0, Duration::from_secs(1)).unwrap_err(),
    ///     QuotaError::ZeroCapacity
    /// );
    /// assert_eq!(
    ///     RateLimiter::try_new(1, Duration::ZERO).unwrap_err(),
    ///     QuotaError::ZeroRefill
    /// );
    /// assert!(RateLimiter::try_new(4, Duration::from_secs(1)).is_ok());
    /// ```
    pub fn try_new(capacity: u32, refill_every: Duration) -> Result<Self, QuotaError> {
        // The quota first: a bad one must not cost the clock's calibration.
        check_quota(capacity, refill_every)?;
        Self::try_with_clock(capacity, refill_every, StdClock::new())
    }

    /// `n` tokens a second: capacity `n`, one token every `1 s / n`
    /// (rounded down to whole nanoseconds, so the rate is at most a
    /// nanosecond per token faster than asked).
    ///
    /// # Panics
    /// If `n` is 0, or above 1 000 000 000 (the interval would be below one
    /// nanosecond).
    ///
    /// # Examples
    /// ```
    /// use freelane::RateLimiter;
    /// use std::time::Duration;
    ///
    /// let limiter = RateLimiter::per_second(4);
    /// assert_eq!(limiter.capacity(), 4);
    /// assert_eq!(limiter.refill_every(), Duration::from_millis(250));
    /// ```
    #[must_use]
    pub fn per_second(n: u32) -> Self {
        /// One token a nanosecond, the clock's resolution.
        const MAX_PER_SECOND: u32 = 1_000_000_000;
        // Checked here, before the division rounds the interval down to
        // zero, so the message names the cause (issue 13), not its symptom.
        assert!(
            n <= MAX_PER_SECOND,
            "RateLimiter::per_second: {n} tokens a second is more than one a nanosecond, \
             the clock's resolution (at most {MAX_PER_SECOND})"
        );
        let refill_every = match n {
            0 => Duration::ZERO, // rejected below as a zero capacity
            n => Duration::from_secs(1) / n,
        };
        Self::new(n, refill_every)
    }
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter like `RateLimiter::new`'s that reads time from
    /// `clock`: a [`ManualClock`] in tests, a hardware timer without `std`.
    ///
    /// # Panics
    /// As `RateLimiter::new`: on a zero `capacity` or
    /// `refill_every`, or a window beyond `u64::MAX` nanoseconds.
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, RateLimiter};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let clock = Arc::new(ManualClock::new(0));
    /// let limiter = RateLimiter::with_clock(2, Duration::from_secs(1), Arc::clone(&clock));
    /// assert_eq!(limiter.available(), 2);
    /// ```
    #[must_use]
    pub fn with_clock(capacity: u32, refill_every: Duration, clock: C) -> Self {
        match Self::try_with_clock(capacity, refill_every, clock) {
            Ok(limiter) => limiter,
            Err(err) => panic!("{err}"),
        }
    }

    /// [`with_clock`](Self::with_clock) without the panic.
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, QuotaError, RateLimiter};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(0);
    /// assert!(matches!(
    ///     RateLimiter::try_with_clock(2, Duration::MAX, &clock),
    ///     Err(QuotaError::TooLong { capacity: 2, .. })
    /// ));
    /// ```
    pub fn try_with_clock(
        capacity: u32,
        refill_every: Duration,
        clock: C,
    ) -> Result<Self, QuotaError> {
        let (interval, window) = check_quota(capacity, refill_every)?;
        Ok(Self {
            tat: AtomicU64::new(0),
            interval,
            window,
            tolerance: window - interval,
            capacity,
            clock,
        })
    }

    /// Takes one token if one is there; else says when to retry.
    ///
    /// A denial writes nothing. See [`RateLimited`] for the errors
    /// (`ExceedsCapacity` cannot happen here: the capacity is at least 1).
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, RateLimiter, RateLimited};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(0);
    /// let limiter = RateLimiter::with_clock(1, Duration::from_millis(20), &clock);
    /// assert_eq!(limiter.try_acquire(), Ok(()));
    /// assert_eq!(
    ///     limiter.try_acquire(),
    ///     Err(RateLimited::RetryAfter(Duration::from_millis(20)))
    /// );
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<(), RateLimited> {
        self.take(self.interval, self.tolerance)
    }

    /// Takes `n` tokens at once if `n` are there (all or nothing).
    ///
    /// `n == 0` succeeds without touching the state. `n > capacity` fails
    /// at once with [`RateLimited::ExceedsCapacity`]: no wait would help.
    /// Otherwise a shortfall gives `RetryAfter(d)`, the time until `n`
    /// tokens will be there if nobody else takes any.
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, RateLimiter, RateLimited};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(0);
    /// let limiter = RateLimiter::with_clock(4, Duration::from_secs(1), &clock);
    /// assert_eq!(limiter.try_acquire_many(3), Ok(()));
    /// assert_eq!(
    ///     limiter.try_acquire_many(3),
    ///     Err(RateLimited::RetryAfter(Duration::from_secs(2)))
    /// );
    /// assert_eq!(limiter.try_acquire_many(5), Err(RateLimited::ExceedsCapacity));
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<(), RateLimited> {
        if n > self.capacity {
            return Err(RateLimited::ExceedsCapacity);
        }
        if n == 0 {
            return Ok(());
        }
        // Cannot overflow: n ≤ capacity, and capacity × interval fits.
        let cost = u64::from(n) * self.interval;
        self.take(cost, self.window - cost)
    }

    /// The GCRA step: grants `cost` nanoseconds of schedule if the TAT,
    /// after the grant, is at most `window` ahead of now, that is if the
    /// schedule now runs at most `slack = window - cost` ahead.
    #[inline]
    fn take(&self, cost: u64, slack: u64) -> Result<(), RateLimited> {
        let now = self.clock.now();
        // Relaxed: the TAT orders nothing but itself (the type's "Memory
        // ordering"); the CAS below re-validates the value.
        let mut tat = self.tat.load(Relaxed);
        let mut backoff: Option<Backoff> = None;
        loop {
            let base = tat.max(now);
            let ahead = base - now;
            if ahead > slack {
                // Check before commit: a denial returns before any write.
                return Err(RateLimited::RetryAfter(Duration::from_nanos(ahead - slack)));
            }
            let Some(next) = base.checked_add(cost) else {
                // The clock is within `cost` of the end of its range.
                return Err(RateLimited::RetryAfter(Duration::MAX));
            };
            // Relaxed both ways: the grant publishes nothing, and a failure's
            // value only feeds the next attempt (or a denial computed from
            // it, which a Relaxed load would equally have given).
            match self.tat.compare_exchange_weak(tat, next, Relaxed, Relaxed) {
                Ok(_) => return Ok(()),
                Err(actual) => {
                    tat = actual;
                    backoff.get_or_insert_with(Backoff::new).spin();
                }
            }
        }
    }

    /// The reservation step behind the waiting acquires: advances the TAT by
    /// `n` tokens for this caller unconditionally (one CAS, no denial) and
    /// returns the clock reading from which that grant conforms (its own
    /// slot), or `ExceedsCapacity`. Each waiter then sleeps until its own
    /// slot: one token that comes due wakes one sleeper, not every sleeper
    /// (no thundering herd), and waiters are served in reservation order.
    ///
    /// Never beyond the quota: the slot is the first moment `t` at which
    /// `max(TAT, now) + n × T ≤ t + W` holds for the TAT this reservation
    /// wrote, i.e. the moment `try_acquire_many` would have granted it.
    pub(super) fn reserve(&self, n: u32) -> Result<u64, RateLimited> {
        if n > self.capacity {
            return Err(RateLimited::ExceedsCapacity);
        }
        // Cannot overflow: n ≤ capacity, and capacity × interval fits.
        let cost = u64::from(n) * self.interval;
        let now = self.clock.now();
        // Relaxed: as in `take`, the TAT orders nothing but itself.
        let mut tat = self.tat.load(Relaxed);
        loop {
            // Saturating at the end of the clock's range: such a slot never
            // comes, as `take`'s `RetryAfter(Duration::MAX)` says.
            let next = tat.max(now).saturating_add(cost);
            // Relaxed both ways: as in `take`.
            match self.tat.compare_exchange_weak(tat, next, Relaxed, Relaxed) {
                Ok(_) => return Ok(next.saturating_sub(self.window)),
                Err(actual) => tat = actual,
            }
        }
    }

    /// How many tokens a request could take now (a snapshot: other threads
    /// may take them, and time adds more).
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, RateLimiter};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(0);
    /// let limiter = RateLimiter::with_clock(3, Duration::from_secs(1), &clock);
    /// limiter.try_acquire_many(3).unwrap();
    /// assert_eq!(limiter.available(), 0);
    /// clock.advance(Duration::from_millis(2500));
    /// assert_eq!(limiter.available(), 2);
    /// ```
    #[must_use]
    pub fn available(&self) -> u32 {
        let now = self.clock.now();
        // Relaxed: a snapshot of the one word.
        let ahead = self.tat.load(Relaxed).max(now) - now;
        match self.window.checked_sub(ahead) {
            // At most window / interval = capacity, so it fits in a u32.
            Some(room) => (room / self.interval) as u32,
            None => 0,
        }
    }

    /// The most tokens the bucket holds (the burst).
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, RateLimiter};
    /// use std::time::Duration;
    ///
    /// let limiter = RateLimiter::with_clock(8, Duration::from_secs(1), ManualClock::new(0));
    /// assert_eq!(limiter.capacity(), 8);
    /// ```
    #[must_use]
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// How often a token is added.
    ///
    /// # Examples
    /// ```
    /// use freelane::{ManualClock, RateLimiter};
    /// use std::time::Duration;
    ///
    /// let limiter = RateLimiter::with_clock(8, Duration::from_millis(5), ManualClock::new(0));
    /// assert_eq!(limiter.refill_every(), Duration::from_millis(5));
    /// ```
    #[must_use]
    pub fn refill_every(&self) -> Duration {
        Duration::from_nanos(self.interval)
    }

    /// The limiter's clock.
    ///
    /// # Examples
    /// ```
    /// use freelane::{Clock, ManualClock, RateLimiter};
    /// use std::time::Duration;
    ///
    /// let limiter = RateLimiter::with_clock(1, Duration::from_secs(1), ManualClock::new(9));
    /// assert_eq!(limiter.clock().now(), 9);
    /// ```
    #[must_use]
    pub fn clock(&self) -> &C {
        &self.clock
    }
}
