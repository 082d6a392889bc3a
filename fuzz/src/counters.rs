//! `AtomicCounter` and `ShardedCounter`: sequential model (a `u64` each,
//! wrapping as documented) and concurrent conservation check.

use arbitrary::Arbitrary;
use freelane::{AtomicCounter, ShardedCounter};

use crate::{Amount, Scripts, bounded_ops};

/// `amount` clustered around `u64::MAX`.
fn number(amount: Amount) -> u64 {
    amount.value(u64::MAX)
}

/// A function for `fetch_update`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Update {
    /// `v.checked_add(n)`.
    CheckedAdd(Amount),
    /// `2v` while that stays at most `limit`.
    DoubleUpTo(Amount),
    /// Always refuse.
    Refuse,
    /// Always `Some(x)`.
    SetTo(Amount),
}

impl Update {
    /// The closure's result for `value` (pure: it may run many times).
    pub fn apply(self, value: u64) -> Option<u64> {
        match self {
            Update::CheckedAdd(n) => value.checked_add(number(n)),
            Update::DoubleUpTo(limit) => value.checked_mul(2).filter(|&d| d <= number(limit)),
            Update::Refuse => None,
            Update::SetTo(x) => Some(number(x)),
        }
    }
}

/// One `AtomicCounter` operation.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum CounterOp {
    /// `get`.
    Get,
    /// `set`.
    Set(Amount),
    /// `swap`.
    Swap(Amount),
    /// `increment`.
    Increment,
    /// `decrement`.
    Decrement,
    /// `fetch_add`.
    FetchAdd(Amount),
    /// `fetch_sub`.
    FetchSub(Amount),
    /// `compare_exchange`, with the current value or another one.
    CompareExchange {
        /// Pass the current value (else `other`).
        current: bool,
        /// The expected value when not the current one.
        other: Amount,
        /// The new value.
        new: Amount,
    },
    /// `fetch_update`.
    FetchUpdate(Update),
    /// `checked_add`.
    CheckedAdd(Amount),
    /// `checked_sub`.
    CheckedSub(Amount),
    /// `saturating_add`.
    SaturatingAdd(Amount),
    /// `saturating_sub`.
    SaturatingSub(Amount),
}

/// One `ShardedCounter` operation.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ShardedOp {
    /// `add`.
    Add(Amount),
    /// `increment`.
    Increment,
    /// `sum`.
    Sum,
    /// `reset`.
    Reset,
}

/// One operation on either counter.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// On the `AtomicCounter`.
    Atomic(CounterOp),
    /// On the `ShardedCounter`.
    Sharded(ShardedOp),
}

/// A sequential input.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// The `AtomicCounter`'s initial value.
    pub initial: Amount,
    /// `ShardedCounter::with_shards(shards)`; 0 means `new()`.
    pub shards: u8,
    /// Operations, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
}

/// Applies `op` to `counter` and to the model `value`; panics on a mismatch.
fn apply(counter: &AtomicCounter, value: &mut u64, op: CounterOp) {
    let before = *value;
    match op {
        CounterOp::Get => assert_eq!(counter.get(), before, "get"),
        CounterOp::Set(x) => {
            counter.set(number(x));
            *value = number(x);
        }
        CounterOp::Swap(x) => {
            assert_eq!(counter.swap(number(x)), before, "swap");
            *value = number(x);
        }
        CounterOp::Increment => {
            assert_eq!(counter.increment(), before, "increment");
            *value = before.wrapping_add(1);
        }
        CounterOp::Decrement => {
            assert_eq!(counter.decrement(), before, "decrement");
            *value = before.wrapping_sub(1);
        }
        CounterOp::FetchAdd(n) => {
            assert_eq!(counter.fetch_add(number(n)), before, "fetch_add");
            *value = before.wrapping_add(number(n));
        }
        CounterOp::FetchSub(n) => {
            assert_eq!(counter.fetch_sub(number(n)), before, "fetch_sub");
            *value = before.wrapping_sub(number(n));
        }
        CounterOp::CompareExchange {
            current,
            other,
            new,
        } => {
            let expected = if current { before } else { number(other) };
            let got = counter.compare_exchange(expected, number(new));
            if expected == before {
                assert_eq!(got, Ok(before), "compare_exchange({expected}, _)");
                *value = number(new);
            } else {
                assert_eq!(got, Err(before), "compare_exchange({expected}, _)");
            }
        }
        CounterOp::FetchUpdate(update) => {
            let got = counter.fetch_update(|v| update.apply(v));
            match update.apply(before) {
                Some(new) => {
                    assert_eq!(got, Ok(before), "fetch_update({update:?})");
                    *value = new;
                }
                None => assert_eq!(got, Err(before), "fetch_update({update:?})"),
            }
        }
        CounterOp::CheckedAdd(n) => {
            let expected = before.checked_add(number(n)).map(|sum| {
                *value = sum;
                before
            });
            assert_eq!(counter.checked_add(number(n)), expected, "checked_add");
        }
        CounterOp::CheckedSub(n) => {
            let expected = before.checked_sub(number(n)).map(|rest| {
                *value = rest;
                before
            });
            assert_eq!(counter.checked_sub(number(n)), expected, "checked_sub");
        }
        CounterOp::SaturatingAdd(n) => {
            assert_eq!(counter.saturating_add(number(n)), before, "saturating_add");
            *value = before.saturating_add(number(n));
        }
        CounterOp::SaturatingSub(n) => {
            assert_eq!(counter.saturating_sub(number(n)), before, "saturating_sub");
            *value = before.saturating_sub(number(n));
        }
    }
    assert_eq!(counter.get(), *value, "value after {op:?}");
}

/// Applies `input` to both counters and their `u64` models.
pub fn check_sequential(input: &Input) {
    assert_eq!(AtomicCounter::default().get(), 0, "AtomicCounter::default");
    let counter = AtomicCounter::new(number(input.initial));
    let mut value = number(input.initial);
    let sharded = match input.shards {
        0 => ShardedCounter::new(),
        n => ShardedCounter::with_shards(usize::from(n)),
    };
    let shards = sharded.shard_count();
    assert!(
        shards.is_power_of_two() && shards <= ShardedCounter::MAX_SHARDS,
        "shard_count {shards} for {}",
        input.shards
    );
    let mut sum = 0u64;
    for op in bounded_ops(&input.ops) {
        match *op {
            Op::Atomic(op) => apply(&counter, &mut value, op),
            Op::Sharded(ShardedOp::Add(n)) => {
                sharded.add(number(n));
                sum = sum.wrapping_add(number(n));
            }
            Op::Sharded(ShardedOp::Increment) => {
                sharded.increment();
                sum = sum.wrapping_add(1);
            }
            Op::Sharded(ShardedOp::Sum) => assert_eq!(sharded.sum(), sum, "sum"),
            Op::Sharded(ShardedOp::Reset) => {
                assert_eq!(sharded.reset(), sum, "reset");
                sum = 0;
            }
        }
    }
    assert_eq!(counter.get(), value, "final value");
    assert_eq!(sharded.sum(), sum, "final sum");
}

/// One operation of a thread's script.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ThreadOp {
    /// An `AtomicCounter` operation other than `set` and `get` (each
    /// result tells its exact effect on the value).
    Atomic(CounterOp),
    /// A `ShardedCounter` operation.
    Sharded(ShardedOp),
}

/// A concurrent input: the counter's initial value and the scripts.
#[derive(Arbitrary, Debug)]
pub struct ConcurrentInput {
    /// The `AtomicCounter`'s initial value.
    pub initial: Amount,
    /// The per-thread scripts.
    pub scripts: Scripts<ThreadOp>,
}

/// The exact change (wrapping) that `op` made, given what it returned;
/// panics if the result is impossible for the operation.
fn effect(counter: &AtomicCounter, op: CounterOp) -> u64 {
    match op {
        CounterOp::Get => {
            let _ = counter.get();
            0
        }
        // `set` would hide the other threads' effects: a swap instead.
        CounterOp::Set(x) | CounterOp::Swap(x) => number(x).wrapping_sub(counter.swap(number(x))),
        CounterOp::Increment => {
            counter.increment();
            1
        }
        CounterOp::Decrement => {
            counter.decrement();
            u64::MAX // -1
        }
        CounterOp::FetchAdd(n) => {
            counter.fetch_add(number(n));
            number(n)
        }
        CounterOp::FetchSub(n) => {
            counter.fetch_sub(number(n));
            number(n).wrapping_neg()
        }
        CounterOp::CompareExchange {
            current,
            other,
            new,
        } => {
            let expected = if current {
                counter.get()
            } else {
                number(other)
            };
            match counter.compare_exchange(expected, number(new)) {
                Ok(previous) => {
                    assert_eq!(
                        previous, expected,
                        "compare_exchange succeeded on another value"
                    );
                    number(new).wrapping_sub(previous)
                }
                Err(actual) => {
                    assert_ne!(
                        actual, expected,
                        "compare_exchange failed on the expected value"
                    );
                    0
                }
            }
        }
        CounterOp::FetchUpdate(update) => match counter.fetch_update(|v| update.apply(v)) {
            Ok(previous) => {
                let new = update
                    .apply(previous)
                    .expect("fetch_update stored a refused update");
                new.wrapping_sub(previous)
            }
            Err(current) => {
                assert_eq!(
                    update.apply(current),
                    None,
                    "fetch_update refused an allowed update"
                );
                0
            }
        },
        CounterOp::CheckedAdd(n) => match counter.checked_add(number(n)) {
            Some(previous) => {
                assert!(
                    previous.checked_add(number(n)).is_some(),
                    "checked_add wrapped"
                );
                number(n)
            }
            None => 0,
        },
        CounterOp::CheckedSub(n) => match counter.checked_sub(number(n)) {
            Some(previous) => {
                assert!(previous >= number(n), "checked_sub went below 0");
                number(n).wrapping_neg()
            }
            None => 0,
        },
        CounterOp::SaturatingAdd(n) => {
            let previous = counter.saturating_add(number(n));
            previous.saturating_add(number(n)).wrapping_sub(previous)
        }
        CounterOp::SaturatingSub(n) => {
            let previous = counter.saturating_sub(number(n));
            previous.saturating_sub(number(n)).wrapping_sub(previous)
        }
    }
}

/// Runs the scripts on real threads; checks that the `AtomicCounter` ends at
/// its initial value plus every operation's effect, and that the
/// `ShardedCounter`'s final sum plus every reset equals everything added.
pub fn check_concurrent(input: &ConcurrentInput) {
    let initial = number(input.initial);
    let counter = AtomicCounter::new(initial);
    let sharded = ShardedCounter::new();
    let totals = input.scripts.run(|_, script| {
        let (mut change, mut added, mut reset) = (0u64, 0u64, 0u64);
        for op in script {
            match *op {
                ThreadOp::Atomic(op) => change = change.wrapping_add(effect(&counter, op)),
                ThreadOp::Sharded(ShardedOp::Add(n)) => {
                    sharded.add(number(n));
                    added = added.wrapping_add(number(n));
                }
                ThreadOp::Sharded(ShardedOp::Increment) => {
                    sharded.increment();
                    added = added.wrapping_add(1);
                }
                ThreadOp::Sharded(ShardedOp::Sum) => {
                    let _ = sharded.sum();
                }
                ThreadOp::Sharded(ShardedOp::Reset) => reset = reset.wrapping_add(sharded.reset()),
            }
        }
        (change, added, reset)
    });
    let (change, added, reset) = totals.iter().fold((0u64, 0u64, 0u64), |acc, t| {
        (
            acc.0.wrapping_add(t.0),
            acc.1.wrapping_add(t.1),
            acc.2.wrapping_add(t.2),
        )
    });
    assert_eq!(
        counter.get(),
        initial.wrapping_add(change),
        "AtomicCounter lost an update"
    );
    assert_eq!(
        sharded.sum().wrapping_add(reset),
        added,
        "ShardedCounter: final sum + resets != everything added"
    );
}
