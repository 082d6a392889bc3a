//! The loom models' driver, shared by `tests/loom*.rs` (included with
//! `#[path]`; it needs loom, so it is not part of `tests/support/mod.rs`).

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use loom::thread;

/// A payload that records its drops, one counter per id, in loom atomics.
///
/// The counters are bumped with `Relaxed`: a read-modify-write never loses an
/// increment whatever its ordering, and a stronger ordering here would add
/// happens-before edges that could hide a missing one in the structure.
pub struct Tracked {
    pub id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Relaxed);
    }
}

/// Drop counters for `n` payloads with ids `0..n`.
#[allow(dead_code)]
pub fn drop_counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// Asserts that every payload was dropped exactly once.
#[allow(dead_code)]
pub fn assert_each_dropped_once(drops: &[AtomicUsize]) {
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(
            count.load(Relaxed),
            1,
            "payload {id} dropped {count:?} times"
        );
    }
}

/// Payload `id`, counting its drop in `drops[id]`.
#[allow(dead_code)]
pub fn tracked(id: usize, drops: &Arc<Vec<AtomicUsize>>) -> Tracked {
    Tracked {
        id,
        drops: Arc::clone(drops),
    }
}

/// Which thread of a model runs its operations first.
///
/// Loom's partial-order reduction remembers only the last access to each
/// atomic, so a load can hide an earlier load by another thread from a later
/// write (loom issues #166 and #392): if the thread that runs first only
/// *reads* a word that a later thread reads and then writes (every CAS loop
/// does), loom never tries the later thread first, and explores that model in
/// one interleaving. Letting each thread in turn run first closes the gap:
/// from the reversed start, the reads find a write to race with and loom
/// backtracks as it should. (Found while writing these models: a pop racing a
/// push with the slot stamp store weakened to Relaxed passed with main first
/// and fails with the pusher first.)
#[derive(Clone, Copy, Debug)]
pub struct Order {
    first: usize,
}

impl Order {
    /// Called by thread `me` before its first operation (0 is the main
    /// thread, after spawning; spawned threads are numbered from 1): every
    /// thread but the chosen one steps aside once. A yield is not a
    /// preemption, so this costs no preemption budget.
    pub fn start(self, me: usize) {
        if me != self.first {
            thread::yield_now();
        }
    }
}

/// Explores `body` once per choice of first thread (`threads` of them,
/// including main), each with at most `bound` preemptions per interleaving,
/// lowered to `LOOM_MAX_PREEMPTIONS` if that is set and smaller.
pub fn model(bound: usize, threads: usize, body: impl Fn(Order) + Sync + Send + 'static) {
    explore(bound, 0..threads, body);
}

/// [`model`] for the few models whose every starting order takes minutes:
/// CI explores only the orders in `quick`; with `FREELANE_LOOM_FULL=1` set,
/// every one (`FREELANE_LOOM_FULL=1 .ci/stages/loom.sh loom`). Each use says
/// which interleavings another model covers instead.
#[allow(dead_code)]
pub fn model_heavy(
    bound: usize,
    threads: usize,
    quick: &[usize],
    body: impl Fn(Order) + Sync + Send + 'static,
) {
    if std::env::var_os("FREELANE_LOOM_FULL").is_some() {
        explore(bound, 0..threads, body);
    } else {
        explore(bound, quick.iter().copied(), body);
    }
}

fn explore(
    bound: usize,
    firsts: impl Iterator<Item = usize>,
    body: impl Fn(Order) + Sync + Send + 'static,
) {
    let body = std::sync::Arc::new(body);
    for first in firsts {
        let mut builder = loom::model::Builder::new();
        let ceiling = builder.preemption_bound.unwrap_or(usize::MAX);
        builder.preemption_bound = Some(bound.min(ceiling));
        let body = std::sync::Arc::clone(&body);
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&runs);
        builder.check(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            body(Order { first });
        });
        // Shown with `--nocapture`: a model that explores a handful of
        // executions checks little, whatever its assertions say.
        eprintln!(
            "thread {first} first: {} executions",
            runs.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}
