//! The semaphore's state word: its bit layout (drawn on
//! [`Semaphore`](super::Semaphore), "State") and the one compare-and-swap
//! loop every update of it (and of `total`) runs through. The only other
//! writes are a release's one `fetch_add` and, under the waiter lock,
//! `close`'s `fetch_or`.

use crate::sync::Backoff;
use crate::sync::atomic::{AtomicUsize, Ordering};

/// Bit 0 of `state`: set once by `close`, never cleared.
pub(super) const CLOSED: usize = 0b001;
/// Bit 1 of `state`: hand-off mode. Set while some queued waiter is owed
/// permits first come, first served; the permit field then offers nothing
/// ([`available_in`]; see [`Semaphore`](super::Semaphore), "State").
pub(super) const HANDOFF: usize = 0b010;
/// Bit 2 of `state`: set while the waiter queue is non-empty (and possibly
/// a while after: see [`Semaphore`](super::Semaphore), "State").
pub(super) const QUEUED: usize = 0b100;
/// All flag bits.
pub(super) const FLAGS: usize = CLOSED | HANDOFF | QUEUED;
/// How far the permit count is shifted past the flag bits.
pub(super) const PERMIT_SHIFT: u32 = 3;

/// The permit count held in a `state` value.
#[inline]
pub(super) const fn permits_in(state: usize) -> usize {
    state >> PERMIT_SHIFT
}

/// The permits a `state` value offers to acquirers: none in hand-off mode.
/// While `HANDOFF` is set the field may still hold permits that releases
/// added with their `fetch_add` after the bit was set; they belong to the
/// queue, and each such release takes the lock next to hand them over
/// (see [`Semaphore`](super::Semaphore), "State").
#[inline]
pub(super) const fn available_in(state: usize) -> usize {
    if state & HANDOFF != 0 {
        0
    } else {
        permits_in(state)
    }
}

/// A `state` value with `permits` available and the flag bits `flags`.
#[inline]
pub(super) const fn pack(permits: usize, flags: usize) -> usize {
    (permits << PERMIT_SHIFT) | (flags & FLAGS)
}

/// What one step of [`update`] decided about the value it was shown.
pub(super) enum Step<R> {
    /// Replace the value with this one, then return `R` (if the CAS fails,
    /// the step runs again on the value that beat it).
    Write(usize, R),
    /// Leave the word alone and return `R`: check before commit.
    Done(R),
}

/// The CAS loop on the state word (and on `total`, in `add_permits`):
/// shows `step` the value `current` (a load the caller made with the
/// ordering it needs), and writes what it decides with `success`/`failure`
/// orderings (each caller names their partners), retrying on the newer
/// value until a write lands or `step` is done. A
/// failed CAS means another thread's update landed (lock-free). `spin`
/// backs off between retries, for the contended fast paths; the locked
/// slow paths retry at once.
#[inline]
pub(super) fn update<R>(
    word: &AtomicUsize,
    mut current: usize,
    success: Ordering,
    failure: Ordering,
    spin: bool,
    mut step: impl FnMut(usize) -> Step<R>,
) -> R {
    let backoff = Backoff::new();
    loop {
        let (new, result) = match step(current) {
            Step::Done(result) => return result,
            Step::Write(new, result) => (new, result),
        };
        match word.compare_exchange_weak(current, new, success, failure) {
            Ok(_) => return result,
            Err(actual) => {
                current = actual;
                if spin {
                    backoff.spin();
                }
            }
        }
    }
}
