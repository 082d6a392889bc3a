//! A small linearizability checker in the style of Wing & Gong.
//!
//! A concurrent history is *linearizable* if every operation can be given a
//! single instant between its invocation and its response such that, taken
//! in the order of those instants, the operations and their results form a
//! legal run of the sequential specification (Herlihy & Wing, "Linearizability:
//! a correctness condition for concurrent objects", TOPLAS 1990).
//!
//! # How it works
//! - **Recording.** [`record`] runs one script of operations per thread, all
//!   starting on a barrier. Around every call the thread takes a tick from one
//!   shared clock (an `AtomicU64` incremented with SeqCst), so invocation and
//!   response times of different threads are comparable: operation `a`
//!   *precedes* `b` when `a` responded before `b` was invoked.
//! - **Search.** [`check`] is the Wing–Gong search (Wing & Gong, "Testing and
//!   verifying concurrent objects", JPDC 1993): repeatedly pick an operation
//!   that no other pending operation precedes, apply it to the sequential
//!   model, keep it if the model's result matches the recorded one, and
//!   backtrack otherwise. Lowe's memoization ("Testing for linearizability",
//!   CCPE 2017) cuts the search: a (set of done operations, model state) pair
//!   that failed once is never explored again.
//! - **Limits.** Histories of up to 64 operations (a bitmask); the point is
//!   many short histories (3–4 threads, a few operations each), where races
//!   are dense and the search is instant.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::thread;

/// A sequential specification: the model a concurrent object must agree with.
pub trait Spec {
    /// The model's state; cloned at every search step, so keep it small.
    type State: Clone + Eq + Hash + Debug;
    /// An operation as a thread invokes it.
    type Op: Clone + Debug;
    /// An operation's observable result.
    type Ret: Clone + Debug;

    /// Whether the model, in `state`, may answer `op` with `ret`; if so,
    /// `state` is advanced past the step. (Taking the recorded result as an
    /// input lets a result carry data the model cannot predict, such as how
    /// many permits a thread gave back.)
    fn step(state: &mut Self::State, op: &Self::Op, ret: &Self::Ret) -> bool;
}

/// One completed operation of a history.
#[derive(Clone, Debug)]
pub struct Event<Op, Ret> {
    pub thread: usize,
    pub op: Op,
    pub ret: Ret,
    /// Clock tick taken just before the call.
    pub invoked: u64,
    /// Clock tick taken just after the call returned.
    pub responded: u64,
}

/// Runs `scripts[i]` on thread `i` against the shared object through `run`,
/// all threads released together by a barrier, and returns the history.
pub fn record<Op, Ret, F>(scripts: &[Vec<Op>], run: F) -> Vec<Event<Op, Ret>>
where
    Op: Clone + Send + Sync,
    Ret: Send,
    F: Fn(usize, &Op) -> Ret + Sync,
{
    let clock = AtomicU64::new(0);
    let barrier = Barrier::new(scripts.len());
    thread::scope(|scope| {
        let handles: Vec<_> = scripts
            .iter()
            .enumerate()
            .map(|(thread, script)| {
                let (clock, barrier, run) = (&clock, &barrier, &run);
                scope.spawn(move || {
                    barrier.wait();
                    script
                        .iter()
                        .map(|op| {
                            let invoked = clock.fetch_add(1, SeqCst);
                            let ret = run(thread, op);
                            let responded = clock.fetch_add(1, SeqCst);
                            Event {
                                thread,
                                op: op.clone(),
                                ret,
                                invoked,
                                responded,
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    })
}

/// Searches for a linearization of `history` from `initial`. Returns one (the
/// indices of `history` in linearization order) or an error describing the
/// history that has none.
pub fn check<S: Spec>(
    initial: &S::State,
    history: &[Event<S::Op, S::Ret>],
) -> Result<Vec<usize>, String> {
    check_chained::<S>(initial, history, &[])
}

/// [`check`] for histories where some events are parts of one call that
/// takes effect element by element (a batch push or pop: each element its
/// own linearizable operation, all within the call's interval, in the
/// call's order). `after[i] = Some(j)` says event `i` must be linearized
/// after event `j` (the previous element of the same call); an `after`
/// shorter than `history` leaves the rest unconstrained. Nothing else is
/// relaxed: each element is still placed at one instant inside the call.
pub fn check_chained<S: Spec>(
    initial: &S::State,
    history: &[Event<S::Op, S::Ret>],
    after: &[Option<usize>],
) -> Result<Vec<usize>, String> {
    assert!(
        history.len() <= 64,
        "the checker handles at most 64 operations, got {}",
        history.len()
    );
    let mut search = Search::<S> {
        history,
        after,
        failed: HashSet::new(),
        order: Vec::with_capacity(history.len()),
    };
    if search.extend(0, initial) {
        Ok(search.order)
    } else {
        let mut sorted: Vec<_> = history.iter().collect();
        sorted.sort_by_key(|event| event.invoked);
        let mut text = String::from("history is not linearizable:\n");
        for event in sorted {
            text += &format!(
                "  thread {} [{:>3}, {:>3}] {:?} -> {:?}\n",
                event.thread, event.invoked, event.responded, event.op, event.ret
            );
        }
        Err(text)
    }
}

struct Search<'h, S: Spec> {
    history: &'h [Event<S::Op, S::Ret>],
    /// Program order inside a call (see [`check_chained`]).
    after: &'h [Option<usize>],
    /// (done-set, state) pairs known to lead nowhere.
    failed: HashSet<(u64, S::State)>,
    /// The linearization built so far.
    order: Vec<usize>,
}

impl<S: Spec> Search<'_, S> {
    fn extend(&mut self, done: u64, state: &S::State) -> bool {
        let all = if self.history.len() == 64 {
            u64::MAX
        } else {
            (1u64 << self.history.len()) - 1
        };
        if done == all {
            return true;
        }
        if self.failed.contains(&(done, state.clone())) {
            return false;
        }
        // An operation may go next only if no pending operation responded
        // before it was invoked (that one would have to go first).
        let earliest_response = (0..self.history.len())
            .filter(|&index| done & (1 << index) == 0)
            .map(|index| self.history[index].responded)
            .min()
            .expect("not all done, so something is pending");
        for index in 0..self.history.len() {
            let event = &self.history[index];
            if done & (1 << index) != 0 || event.invoked > earliest_response {
                continue;
            }
            if let Some(Some(previous)) = self.after.get(index) {
                if done & (1 << previous) == 0 {
                    continue;
                }
            }
            let mut next = state.clone();
            if !S::step(&mut next, &event.op, &event.ret) {
                continue;
            }
            self.order.push(index);
            if self.extend(done | (1 << index), &next) {
                return true;
            }
            self.order.pop();
        }
        self.failed.insert((done, state.clone()));
        false
    }
}

/// The unbounded FIFO queue's specification and history scripts, shared by
/// the MsQueue and SegmentedQueue histories.
pub mod queue {
    use std::collections::VecDeque;

    use rand::RngExt;
    use rand::rngs::StdRng;

    use super::Spec;

    #[derive(Clone, Debug)]
    pub enum QueueOp {
        Push(u32),
        Pop,
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum QueueRet {
        Pushed,
        Popped(Option<u32>),
    }

    /// An unbounded FIFO queue.
    pub struct QueueSpec;

    impl Spec for QueueSpec {
        type State = VecDeque<u32>;
        type Op = QueueOp;
        type Ret = QueueRet;

        fn step(state: &mut Self::State, op: &QueueOp, ret: &QueueRet) -> bool {
            match (op, ret) {
                (QueueOp::Push(value), QueueRet::Pushed) => {
                    state.push_back(*value);
                    true
                }
                (QueueOp::Pop, QueueRet::Popped(got)) => state.pop_front() == *got,
                _ => false,
            }
        }
    }

    /// Scripts of pushes (of values unique across the history), each op a push
    /// with probability `push_share`, and pops.
    pub fn queue_scripts(
        rng: &mut StdRng,
        threads: usize,
        ops: usize,
        push_share: f64,
    ) -> Vec<Vec<QueueOp>> {
        let mut next_value = 0;
        (0..threads)
            .map(|_| {
                (0..ops)
                    .map(|_| {
                        if rng.random_bool(push_share) {
                            next_value += 1;
                            QueueOp::Push(next_value)
                        } else {
                            QueueOp::Pop
                        }
                    })
                    .collect()
            })
            .collect()
    }
}
