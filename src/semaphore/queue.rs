//! The waiter queue of [`Semaphore`] and the policy that serves it: who is
//! woken to retry, who is handed permits, and when hand-off mode begins and
//! ends. Blocked threads (`blocking.rs`) and pending tasks (`async_waits.rs`)
//! queue here alike, each as a [`Waiter`] node it owns.
//!
//! The lock-free core (the state word, `try_take`, the release fast path)
//! is in the parent module; the fairness policy this file implements is
//! stated once, on [`Semaphore`] ("Fairness"), and the waiter nodes'
//! ownership protocol there too ("Waiting").
//!
//! Everything here runs under the waiters lock, on slow paths only: a
//! release reaches it only when `QUEUED` or `HANDOFF` is set, an acquire only
//! after its fast path failed.
//!
//! Why not the ring buffer's `wait::WaitQueue`: its entries are bare signals
//! woken first in, first out to re-check a condition. Here a waiter carries
//! a request and a permit assignment written under the lock (hand-off is a
//! grant, not a hint to retry); the nodes have two modes, and a waiter
//! woken in vain goes back to the front with its arrival time; the queue's
//! state is mirrored in the semaphore's own word (`QUEUED`, `HANDOFF`),
//! changed under the same lock, so that a release learns from its one
//! read-modify-write whether anyone waits and `close` can set `CLOSED` under
//! the lock every grant holds; and a waiter that gives up passes on permits,
//! not just a wake-up. So the nodes are the semaphore's own: a node's waker
//! and links and its "queued" flag are written under this queue's lock,
//! which spares a wake-up a signal's own lock and reference count. What it
//! shares with the ring is the [`Lock`](crate::wait::Lock) and, for threads,
//! `with_thread_waker`.
//!
//! # Sections
//! - [`Waiter`], [`Links`]: the node, and its ownership protocol.
//! - [`Queue`], [`Arrival`]: what the lock guards, a doubly linked list of
//!   nodes (intrusive: the links are in the nodes, so queueing allocates
//!   nothing and a cancel unlinks its node in constant time).
//! - Release slow paths: `release_slow`, `release_handoff`, `release_wake`.
//! - The locked steps: `settle_locked`, `wake_locked`, `promote_locked`,
//!   `publish_locked`, `dequeue_locked`.
//! - Queueing and leaving: `enqueue`, `register`, `cancel`, `close_and_drain`.

use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;
use core::task::Waker;

use super::Semaphore;
use super::state::{
    self, CLOSED, HANDOFF, PERMIT_SHIFT, QUEUED, Step, available_in, pack, permits_in,
};
use crate::error::TryAcquireError;
use crate::sync::UnsafeCell;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicBool, AtomicUsize};

/// How long a queued single-permit waiter may be overtaken before the
/// semaphore hands permits to it directly, and the least time between two
/// such promotions. parking_lot's mutex makes a fair unlock every 0.5 ms on
/// average (`parking_lot/src/raw_mutex.rs`, "eventual fairness"); 1 ms keeps
/// the forced hand-offs (a context switch each) under about 1% of a
/// contended second on this workload while bounding the wait.
#[cfg(all(feature = "std", not(freelane_loom)))]
pub(super) const FAIR_BOUND: core::time::Duration = core::time::Duration::from_millis(1);

/// What the waiters lock guards: the queue and the hand-off bookkeeping.
///
/// Invariant: every node linked from `head` (through `next`) is queued (its
/// `queued` flag set), so its owner keeps it alive and in place
/// ([`Semaphore::enqueue`]'s contract); and its links are read and written
/// only by the holder of the lock, which is whoever holds `&mut Queue`.
#[derive(Debug)]
pub(super) struct Queue {
    /// The oldest queued node, or `None` for an empty queue (a waiter woken
    /// to retry that has to queue again goes back to the front: it is older
    /// than the rest).
    head: Option<NodePtr>,
    /// The newest queued node.
    tail: Option<NodePtr>,
    /// How many queued nodes are in hand-off mode. `HANDOFF` is set in the
    /// word exactly when this is non-zero.
    handoffs: usize,
    /// When the last promotion happened; the next one waits until
    /// [`FAIR_BOUND`] after it.
    #[cfg(all(feature = "std", not(freelane_loom)))]
    last_fair: Option<Now>,
}

impl Queue {
    pub(super) fn new() -> Self {
        Self {
            head: None,
            tail: None,
            handoffs: 0,
            #[cfg(all(feature = "std", not(freelane_loom)))]
            last_fair: None,
        }
    }

    /// Whether the front waiter (in barging mode) has waited long enough to
    /// be promoted to hand-off now; takes the turn if so. `now` was read
    /// before the lock ([`fair_now`]): no clock is read under it.
    ///
    /// With a clock: it has been queued (counting from its first enqueue) for
    /// `FAIR_BOUND`, and no promotion happened in the last `FAIR_BOUND`.
    /// Loom has no clock (and `no_std` has none either): there the decision
    /// is "after the first wake-up that did not get it a permit", which loom
    /// can explore deterministically.
    #[inline]
    fn take_fair_turn(&mut self, now: Now) -> bool {
        let Some(front) = self.head else {
            return false;
        };
        // SAFETY: linked, so queued (`Queue`'s invariant), and we hold the
        // lock (`&mut self`).
        let (handoff, arrival) = unsafe { front.links(|links| (links.handoff, links.arrival)) };
        debug_assert!(!handoff, "called in barging mode only");
        #[cfg(all(feature = "std", not(freelane_loom)))]
        {
            if !now.bound_passed_since(arrival.since)
                || self
                    .last_fair
                    .is_some_and(|last| !now.bound_passed_since(last))
            {
                return false;
            }
            self.last_fair = Some(now);
            true
        }
        #[cfg(not(all(feature = "std", not(freelane_loom))))]
        {
            let () = now;
            arrival.failed_wakeups >= 1
        }
    }

    /// Whether no node is queued.
    #[inline]
    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Links `node` in at the back (`front == false`) or the front.
    ///
    /// # Safety
    /// `node` must be off the queue (not linked), and its owner must keep it
    /// alive and in place until it has been unlinked again (the contract of
    /// [`Semaphore::enqueue`]); the caller sets its `queued` flag.
    unsafe fn link(&mut self, node: NodePtr, front: bool) {
        let (prev, next) = if front {
            (None, self.head)
        } else {
            (self.tail, None)
        };
        // SAFETY: ours to write: off the queue, its owner handed it to us
        // for this, and we hold the lock.
        unsafe {
            node.links_mut(|links| {
                links.prev = prev;
                links.next = next;
            });
        }
        match prev {
            // SAFETY: linked, so queued and alive (`Queue`'s invariant);
            // we hold the lock.
            Some(prev) => unsafe { prev.links_mut(|links| links.next = Some(node)) },
            None => self.head = Some(node),
        }
        match next {
            // SAFETY: as above.
            Some(next) => unsafe { next.links_mut(|links| links.prev = Some(node)) },
            None => self.tail = Some(node),
        }
    }

    /// Unlinks `node`, which must be linked in this queue.
    fn unlink(&mut self, node: NodePtr) {
        // SAFETY: linked, so queued and alive (`Queue`'s invariant, which
        // the caller's precondition extends to `node`); we hold the lock.
        let (prev, next) = unsafe { node.links(|links| (links.prev, links.next)) };
        match prev {
            // SAFETY: as above, for its neighbours.
            Some(prev) => unsafe { prev.links_mut(|links| links.next = next) },
            None => self.head = next,
        }
        match next {
            // SAFETY: as above.
            Some(next) => unsafe { next.links_mut(|links| links.prev = prev) },
            None => self.tail = prev,
        }
    }

    /// Unlinks the oldest node and returns it, with its hand-off mode.
    #[inline]
    fn pop_front(&mut self) -> Option<NodePtr> {
        let front = self.head?;
        self.unlink(front);
        Some(front)
    }
}

/// A reading of the fairness clock, where there is one (nothing under loom
/// and without `std`): the raw count of quanta's clock, the CPU's cycle
/// counter where it is invariant (an `rdtsc`, about 10 ns here, against
/// 20-27 ns for `std::time::Instant::now()`; see
/// [`StdClock`](crate::StdClock)), scaled to nanoseconds only when two
/// readings are compared. Miri cannot run `rdtsc`, so there the same
/// decisions are made on `std::time::Instant` (Miri's virtual clock).
#[cfg(all(feature = "std", not(freelane_loom), not(miri)))]
#[derive(Clone, Copy, Debug)]
struct Now(u64);

#[cfg(all(feature = "std", not(freelane_loom), not(miri)))]
impl Now {
    /// The clock every reading comes from (one per process, so that raw
    /// counts compare; its calibration runs once, at the first reading), and
    /// [`FAIR_BOUND`] in its raw units.
    fn clock() -> &'static (quanta::Clock, u64) {
        static CLOCK: std::sync::OnceLock<(quanta::Clock, u64)> = std::sync::OnceLock::new();
        CLOCK.get_or_init(|| {
            let clock = quanta::Clock::new();
            let bound = Self::raw_span(&clock, FAIR_BOUND);
            (clock, bound)
        })
    }

    /// The fewest raw units that `clock` scales to at least `span`: a
    /// binary search over `delta_as_nanos`, which grows with the raw span
    /// (searched up to 256 units a nanosecond, far above any clock's rate;
    /// a clock that claimed more would get that ceiling).
    fn raw_span(clock: &quanta::Clock, span: core::time::Duration) -> u64 {
        let nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        let (mut low, mut high) = (1, nanos.saturating_mul(256));
        while low < high {
            let middle = low + (high - low) / 2;
            if clock.delta_as_nanos(0, middle) >= nanos {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        high
    }

    #[inline]
    fn read() -> Self {
        Self(Self::clock().0.raw())
    }

    /// Whether at least [`FAIR_BOUND`] passed from `earlier` to `self`.
    /// A reading that went backwards (a counter a few cycles apart between
    /// cores) counts as no time.
    #[inline]
    fn bound_passed_since(self, earlier: Self) -> bool {
        self.0.saturating_sub(earlier.0) >= Self::clock().1
    }
}

#[cfg(all(feature = "std", not(freelane_loom), miri))]
#[derive(Clone, Copy, Debug)]
struct Now(std::time::Instant);

#[cfg(all(feature = "std", not(freelane_loom), miri))]
impl Now {
    fn read() -> Self {
        Self(std::time::Instant::now())
    }

    fn bound_passed_since(self, earlier: Self) -> bool {
        self.0.saturating_duration_since(earlier.0) >= FAIR_BOUND
    }
}

#[cfg(not(all(feature = "std", not(freelane_loom))))]
type Now = ();

/// Reads the fairness clock. Called on slow paths only, and never under the
/// waiter lock (issue 13: the release path used to read `Instant::now()`
/// under it on every contended release).
#[inline]
fn fair_now() -> Now {
    #[cfg(all(feature = "std", not(freelane_loom)))]
    {
        Now::read()
    }
}

/// When a waiting acquire first queued, kept in its node across its
/// retries.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    #[cfg(all(feature = "std", not(freelane_loom)))]
    since: Now,
    /// Wake-ups after which its retry found no permit.
    failed_wakeups: usize,
}

impl Arrival {
    fn now() -> Self {
        Self {
            #[cfg(all(feature = "std", not(freelane_loom)))]
            since: fair_now(),
            failed_wakeups: 0,
        }
    }
}

/// A thread or a task waiting for permits: a node that the waiter owns (a
/// future keeps it on the heap, a thread on its stack) and that the queue
/// points to while it is queued. Who may touch which field when is the
/// ownership protocol on [`Semaphore`] ("Waiting"); in short, a queued node
/// is the lock holder's, a node off the queue its owner's, and the step
/// between the two is the `queued` flag, cleared as the last access of
/// whoever takes the node off the queue.
pub(super) struct Waiter {
    /// Set while the node is queued. Set by `enqueue` under the lock, cleared
    /// under the lock by whoever takes the node off the queue (a release, a
    /// `close`, a `cancel`), as that step's last access to the node.
    queued: AtomicBool,
    /// How many permits it asks for; at least 1. Never changes.
    needed: usize,
    /// How many it has been given so far. Written only under the waiters
    /// lock while queued; read under it, or by the owner once it saw the node
    /// off the queue (whose Release/Acquire pair publishes the writes).
    assigned: AtomicUsize,
    /// The waker and the queue's bookkeeping: the lock holder's while the
    /// node is queued, its owner's while it is not.
    links: UnsafeCell<Links>,
}

/// The part of a node that the waiters lock guards while it is queued.
#[derive(Debug)]
struct Links {
    /// The waker to wake when the node leaves the queue.
    waker: Option<Waker>,
    /// Its neighbours in the queue (older, newer).
    prev: Option<NodePtr>,
    next: Option<NodePtr>,
    /// In hand-off mode: released permits are assigned to it (first come,
    /// first served) instead of going into the word.
    handoff: bool,
    /// When it first queued, and how often it was woken in vain since.
    arrival: Arrival,
}

// SAFETY: `links`, the one field without synchronization of its own, is
// accessed only under the waiters lock while the node is queued and only by
// its owner while it is not (each access says which, in its `SAFETY`
// comment), and the `queued` flag's Release/Acquire pair orders the hand-over
// between the two. What it holds (a `Waker`, pointers to other nodes, which
// are only followed under the lock, plain values) may be used from any
// thread.
unsafe impl Sync for Waiter {}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("needed", &self.needed)
            // Relaxed: a snapshot for display.
            .field("queued", &self.queued.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl Waiter {
    /// A node for `needed >= 1` permits, not queued, for a wait that begins
    /// now (the fairness clock's reading).
    pub(super) fn new(needed: usize) -> Self {
        Self {
            queued: AtomicBool::new(false),
            needed,
            assigned: AtomicUsize::new(0),
            links: UnsafeCell::new(Links {
                waker: None,
                prev: None,
                next: None,
                handoff: false,
                arrival: Arrival::now(),
            }),
        }
    }

    /// Whether the node is still queued. Once this returns `false`, the node
    /// is its owner's again (nobody else touches it any more) and
    /// [`granted`](Waiter::granted) is final.
    #[inline]
    pub(super) fn is_queued(&self) -> bool {
        // Acquire: pairs with the Release store in `dequeue_locked`;
        // publishes `assigned` and the releases' writes behind a grant.
        self.queued.load(Acquire)
    }

    /// Whether it was given all its permits (call once it is off the queue:
    /// then nobody writes `assigned` any more).
    #[inline]
    pub(super) fn granted(&self) -> bool {
        // Relaxed: written under the lock while queued; the Acquire load
        // that saw the node off the queue orders those writes before us.
        self.assigned.load(Relaxed) == self.needed
    }

    /// Takes the waker out of a node off the queue, to be dropped with no
    /// lock held.
    ///
    /// # Safety
    /// The node must be off the queue, and the caller its owner.
    unsafe fn take_waker_unqueued(&self) -> Option<Waker> {
        // SAFETY: the caller owns the node off the queue: nobody else
        // touches its links.
        self.links
            .with_mut(|links| unsafe { (*links).waker.take() })
    }
}

/// A pointer to a queued node, as the queue keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NodePtr(NonNull<Waiter>);

// SAFETY: the node is `Sync`, and the queue dereferences the pointer only
// under the lock while the node is queued, when its owner keeps it alive at
// this address (the contract of `enqueue`); moving the pointer to another
// thread changes neither.
unsafe impl Send for NodePtr {}

impl NodePtr {
    fn of(waiter: &Waiter) -> Self {
        Self(NonNull::from(waiter))
    }

    /// The node, while it is queued.
    ///
    /// # Safety
    /// The node must be queued, and the caller must hold the waiters lock
    /// and drop the reference before the node leaves the queue (its owner
    /// keeps it alive only until then).
    #[inline]
    unsafe fn node<'a>(self) -> &'a Waiter {
        // SAFETY: the caller's contract; the owner keeps a queued node alive
        // and in place (`enqueue`).
        unsafe { self.0.as_ref() }
    }

    /// Reads the node's links.
    ///
    /// # Safety
    /// As for [`node`](NodePtr::node): queued (or being queued by
    /// `enqueue`), and the caller holds the lock.
    #[inline]
    unsafe fn links<R>(self, read: impl FnOnce(&Links) -> R) -> R {
        // SAFETY: the caller's contract: the lock holder's links, and no
        // `&mut` to them is live (each `links_mut` ends with its closure).
        unsafe { self.node() }
            .links
            .with(|links| read(unsafe { &*links }))
    }

    /// Changes the node's links.
    ///
    /// # Safety
    /// As for [`links`](NodePtr::links).
    #[inline]
    unsafe fn links_mut<R>(self, write: impl FnOnce(&mut Links) -> R) -> R {
        // SAFETY: as in `links`; this is the only reference to them while
        // the closure runs.
        unsafe { self.node() }
            .links
            .with_mut(|links| write(unsafe { &mut *links }))
    }
}

/// What [`Semaphore::enqueue`] did.
pub(super) enum Enqueued {
    /// The permits were there after all; they are the caller's now.
    Acquired,
    /// The node is queued: the caller waits until it leaves the queue.
    Waiting,
    /// The semaphore is closed; nothing was queued.
    Closed,
}

/// The wakers of waiters that a locked step took off the queue, to be woken
/// once the lock is released. The first is kept inline: a release usually
/// wakes one waiter, and this path runs on every contended release, so it
/// should not allocate.
#[derive(Default)]
struct Woken {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Woken {
    fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    /// Wakes them all (call without the lock: `wake` is user code, and a
    /// woken thread's first act may be to take the lock).
    #[inline]
    fn wake_all(self) {
        if self.rest.is_empty() {
            // The common case, none or one: no guard to set up.
            if let Some(first) = self.first {
                first.wake();
            }
        } else {
            self.wake_many();
        }
    }

    /// [`wake_all`](Woken::wake_all) for more than one. A `wake` that panics
    /// does not strand the rest: while that panic unwinds, the remaining ones
    /// are still woken (a second panic among them aborts, as any panic
    /// during unwinding does).
    #[cold]
    #[inline(never)]
    fn wake_many(self) {
        struct Rest(alloc::vec::IntoIter<Waker>);
        impl Drop for Rest {
            fn drop(&mut self) {
                // Reached normally (the loop below drained everything) or
                // while a `wake` panics.
                for waker in &mut self.0 {
                    waker.wake();
                }
            }
        }
        let mut rest = Rest(self.rest.into_iter());
        if let Some(first) = self.first {
            first.wake();
        }
        for waker in &mut rest.0 {
            waker.wake();
        }
    }
}

/// Takes a node off the queue's books, already unlinked: its waker goes to
/// `woken`, and `queued` is cleared, the last access to the node (from then
/// on its owner may reuse or free it). Call under the lock.
fn dequeue_locked(waiter: NodePtr, woken: &mut Woken) {
    // SAFETY: queued until the store below, and we hold the lock.
    woken.push(unsafe { waiter.links_mut(|links| links.waker.take()) });
    // SAFETY: as above; `node` is not used after the store.
    let node = unsafe { waiter.node() };
    // Release: pairs with the Acquire load in `Waiter::is_queued`; publishes
    // `assigned` (and, for a grant, the releases' writes behind it) and ends
    // our use of the node.
    node.queued.store(false, Release);
}

impl Semaphore {
    /// `release` added `n` permits to the word and saw `before` there, with
    /// `HANDOFF` or `QUEUED` set: hands them on or wakes waiters for them.
    #[cold]
    pub(super) fn release_slow(&self, n: usize, before: usize) {
        if before & HANDOFF != 0 {
            self.release_handoff(n);
        } else {
            self.release_wake(n);
        }
    }
    /// `release` added `n` permits to the word in hand-off mode, where the
    /// field offers nothing to acquirers: under the lock, takes whatever the
    /// field holds (ours, and those of other releases that got there before
    /// their lock; each of them finds what is left, perhaps nothing) and
    /// hands it to the queue first come, first served. If hand-off mode
    /// ended before we got the lock, our permits are ordinary ones in the
    /// word by now, put there by the step that ended it: wake waiters for
    /// them as any release does.
    #[cold]
    #[inline(never)]
    fn release_handoff(&self, n: usize) {
        let mut woken = Woken::default();
        let ended = {
            let mut queue = self.waiters.lock();
            // Relaxed: a guess that the CAS checks.
            let current = self.state.load(Relaxed);
            // Acquire: pairs with the Release `fetch_add` of the releases
            // whose permits we take; their waiters read them after seeing
            // their node off the queue (Release/Acquire), which extends the
            // chain.
            let taken = state::update(&self.state, current, Acquire, Relaxed, false, |current| {
                if current & HANDOFF == 0 {
                    Step::Done(None)
                } else if permits_in(current) == 0 {
                    Step::Done(Some(0))
                } else {
                    Step::Write(pack(0, current), Some(permits_in(current)))
                }
            });
            match taken {
                Some(taken) => {
                    debug_assert!(queue.handoffs > 0, "HANDOFF set under the lock");
                    self.settle_locked(&mut queue, taken, &mut woken);
                    false
                }
                None => true,
            }
        };
        woken.wake_all();
        if ended {
            self.release_wake(n);
        }
    }

    /// `release` put `n` permits into the word and saw `QUEUED`: wakes up to
    /// `n` waiters to retry, or promotes the front waiter to hand-off if it
    /// has waited too long (then it gets these permits, if still there). A
    /// `QUEUED` bit left over an empty queue (see `wake_locked`) is cleared.
    #[inline]
    fn release_wake(&self, n: usize) {
        #[allow(clippy::let_unit_value, reason = "`Now` is `()` without a clock")]
        let now = fair_now();
        let mut woken = Woken::default();
        {
            let mut queue = self.waiters.lock();
            // With hand-offs pending, `HANDOFF` was set after our add, by a
            // CAS that took the word's permits (ours or their successors) and
            // assigned them under this lock: nothing is left for us to do.
            if queue.is_empty() {
                self.publish_locked(&queue, 0);
            } else if queue.handoffs == 0 {
                if queue.take_fair_turn(now) {
                    self.promote_locked(&mut queue, &mut woken);
                } else {
                    self.wake_locked(&mut queue, n, &mut woken);
                }
            }
        }
        woken.wake_all();
    }

    /// Gives out `permits` that are in nobody's hands and not in the word:
    /// first come, first served to the queue while it has hand-off nodes;
    /// once it has none, the rest goes into the word (ending hand-off mode)
    /// and up to that many waiters are woken to retry. Completed waiters are
    /// taken off the queue and pushed to `woken`.
    fn settle_locked(&self, queue: &mut Queue, mut permits: usize, woken: &mut Woken) {
        while permits > 0 && queue.handoffs > 0 {
            let Some(front) = queue.head else {
                debug_assert!(false, "hand-off nodes are queued");
                break;
            };
            // SAFETY: queued, and we hold the lock; not used once the node
            // leaves the queue below.
            let node = unsafe { front.node() };
            // Relaxed: `assigned` is guarded by the lock we hold.
            let assigned = node.assigned.load(Relaxed);
            let given = (node.needed - assigned).min(permits);
            node.assigned.store(assigned + given, Relaxed);
            permits -= given;
            if assigned + given < node.needed {
                break; // `permits` is 0: all of it went to the front waiter.
            }
            queue.unlink(front);
            // SAFETY: still queued (unlinked, not yet off the books), and
            // we hold the lock.
            if unsafe { front.links(|links| links.handoff) } {
                queue.handoffs -= 1;
            }
            dequeue_locked(front, woken);
        }
        if queue.handoffs > 0 {
            debug_assert_eq!(permits, 0, "a hand-off entry absorbs every permit");
            return;
        }
        // Barging mode: the rest goes into the word, with `HANDOFF` cleared
        // and `QUEUED` matching the queue; then waiters retry for it.
        self.publish_locked(queue, permits);
        self.wake_locked(queue, permits, woken);
    }

    /// In barging mode, after `owed` permits reached the word: takes up to
    /// `owed` waiters off the front (no more than the word still holds, nor
    /// than are queued) to be woken to retry. A permit some barger took
    /// meanwhile needs no wake-up: its release will wake somebody.
    ///
    /// `QUEUED` stays set even if this empties the queue: a waiter woken in
    /// vain queues again without a CAS on the word, and the next release
    /// that finds the queue empty clears the bit (`release_wake`).
    fn wake_locked(&self, queue: &mut Queue, owed: usize, woken: &mut Woken) {
        if owed == 0 || queue.is_empty() {
            return;
        }
        // Relaxed: read after our own RMW that added the permits (coherence
        // orders it after that); any later add is followed by its own wake.
        let available = available_in(self.state.load(Relaxed));
        for _ in 0..owed.min(available) {
            let Some(node) = queue.pop_front() else {
                break;
            };
            debug_assert!(
                // SAFETY: unlinked but still queued, and we hold the lock.
                !unsafe { node.links(|links| links.handoff) },
                "barging mode"
            );
            dequeue_locked(node, woken);
        }
    }

    /// Puts the front waiter in hand-off mode: sets `HANDOFF`, takes every
    /// permit from the word and assigns them first come, first served.
    fn promote_locked(&self, queue: &mut Queue, woken: &mut Woken) {
        let Some(front) = queue.head else {
            return;
        };
        // SAFETY: linked, so queued; we hold the lock.
        unsafe { front.links_mut(|links| links.handoff = true) };
        queue.handoffs += 1;
        // Relaxed: a guess that the CAS checks.
        let current = self.state.load(Relaxed);
        // Acquire: pairs with the Release `fetch_add` of the releases whose
        // permits we take; the waiter they go to reads them after seeing its
        // node off the queue (Release/Acquire), which extends the chain.
        let current = state::update(&self.state, current, Acquire, Relaxed, false, |current| {
            Step::Write(pack(0, current | HANDOFF), current)
        });
        self.settle_locked(queue, permits_in(current), woken);
    }

    /// Adds `permits` to the word and makes its flags match the queue:
    /// `QUEUED` iff it is non-empty (clearing a stale bit), `HANDOFF` iff it has hand-off nodes
    /// (then `permits` is 0 and the bit is already set: only a CAS that empties
    /// the field sets it). Returns the new word.
    fn publish_locked(&self, queue: &Queue, permits: usize) -> usize {
        debug_assert!(queue.handoffs == 0 || permits == 0);
        // Relaxed: a guess that the CAS checks.
        let current = self.state.load(Relaxed);
        // Release: pairs with the Acquire CAS that takes these permits (in
        // `try_take`, `enqueue` or `promote_locked`); publishes the writes of
        // their holders, which reached us through the lock.
        state::update(&self.state, current, Release, Relaxed, false, |current| {
            let mut flags = current & CLOSED;
            if queue.handoffs > 0 {
                debug_assert!(current & HANDOFF != 0, "set with the field emptied");
                flags |= HANDOFF;
            }
            if !queue.is_empty() {
                flags |= QUEUED;
            }
            let new = pack(permits_in(current) + permits, flags);
            if new == current {
                Step::Done(new)
            } else {
                Step::Write(new, new)
            }
        })
    }

    /// Takes `waiter.needed` permits if the word holds them, else queues the
    /// node. A request for one permit queues in barging mode (it will be
    /// woken to retry); a request for more queues in hand-off mode at once,
    /// taking the word's permits for the queue (its first instalment, unless
    /// older waiters come first). `waker` goes into the node before it is
    /// queued. `retry`: the node was woken to retry and its retry found no
    /// permit (a wake-up in vain: it keeps its arrival time and goes back to
    /// the front).
    ///
    /// # Safety
    /// `waiter` must be off the queue (never queued, or seen off it by
    /// [`Waiter::is_queued`], or returned from [`cancel`](Semaphore::cancel)),
    /// and if this returns [`Enqueued::Waiting`] its owner must keep it
    /// alive at this address until it sees it off the queue again or
    /// `cancel` returns for it: the queue points to it meanwhile.
    pub(super) unsafe fn enqueue(&self, waiter: &Waiter, waker: &Waker, retry: bool) -> Enqueued {
        let n = waiter.needed;
        debug_assert!((1..=Self::MAX_PERMITS).contains(&n));
        // The waker is cloned before the lock and before the CAS that may
        // take permits for the queue: cloning runs user code, which may
        // panic. A panic here leaves the word and the queue untouched
        // (issue 13).
        let waker = waker.clone();
        let handoff = n > 1;
        let (stale, arrival) = waiter.links.with_mut(|links| {
            // SAFETY: off the queue, the node is its owner's (our caller's),
            // and nobody else has a reference to its links.
            let links = unsafe { &mut *links };
            links.handoff = handoff;
            if retry {
                links.arrival.failed_wakeups += 1;
            }
            (links.waker.replace(waker), links.arrival)
        });
        // Dropped outside the lock (user code); in practice `None`, since
        // whoever took the node off the queue took its waker too.
        drop(stale);
        let mut woken = Woken::default();
        let verdict = {
            let mut queue = self.waiters.lock();
            // Acquire: pairs with the Release `fetch_add` of releases (their permits
            // may become ours below) and the Release `fetch_or` in `close`.
            let current = self.state.load(Acquire);
            // Acquire (success and failure): as for the load above.
            let seen = state::update(&self.state, current, Acquire, Acquire, false, |current| {
                if current & CLOSED != 0 {
                    return Step::Done(None);
                }
                let available = available_in(current); // 0 under HANDOFF
                let new = if available >= n {
                    current - (n << PERMIT_SHIFT)
                } else if handoff {
                    // Takes the field, whatever it holds, for the queue.
                    pack(0, current | HANDOFF | QUEUED)
                } else {
                    current | QUEUED // nothing for us in the field
                };
                if new == current {
                    Step::Done(Some(current))
                } else {
                    Step::Write(new, Some(current))
                }
            });
            match seen {
                None => Enqueued::Closed,
                Some(current) if available_in(current) >= n => Enqueued::Acquired,
                Some(current) => {
                    // From here to the end of the critical section nothing
                    // runs user code, nor allocates: linking writes pointers.
                    // Relaxed: the lock publishes it (and the waker stored
                    // above) to the next holder; our own later loads see it
                    // by program order.
                    waiter.queued.store(true, Relaxed);
                    let node = NodePtr::of(waiter);
                    if handoff {
                        // SAFETY: off the queue until now, and kept alive and
                        // in place by its owner until it is off it again (our
                        // contract).
                        unsafe { queue.link(node, false) };
                        queue.handoffs += 1;
                        let taken = permits_in(current);
                        if taken > 0 {
                            // We just emptied the field (the word's permits,
                            // or in hand-off mode those releases added before
                            // their lock): they go to the queue first come,
                            // first served (us last).
                            self.settle_locked(&mut queue, taken, &mut woken);
                        }
                    } else if arrival.failed_wakeups > 0 && queue.handoffs == 0 {
                        // Back after a wake-up in vain: it is older than the
                        // rest. (Not ahead of a hand-off entry holding a
                        // partial grant.)
                        // SAFETY: as above.
                        unsafe { queue.link(node, true) };
                    } else {
                        // SAFETY: as above.
                        unsafe { queue.link(node, false) };
                    }
                    Enqueued::Waiting
                }
            }
        };
        woken.wake_all();
        if !matches!(verdict, Enqueued::Waiting) {
            // Not queued: the waker goes, outside the lock.
            // SAFETY: never queued by this call, and our caller owns it.
            drop(unsafe { waiter.take_waker_unqueued() });
        }
        verdict
    }

    /// A queued task is polled again: keeps the newest waker in its node
    /// (the old one stays if it would wake the same task). Returns whether
    /// the node is still queued; `false` means it left the queue meanwhile,
    /// and the caller goes on as for any node off the queue.
    ///
    /// The waker's clone and the old waker's drop run outside the lock (user
    /// code, which may panic: the node then stays queued with its old
    /// waker, for the future's drop to cancel).
    ///
    /// # Safety
    /// The caller owns `waiter`, which it queued (if at all) only in this
    /// semaphore: its links are then this queue's to guard.
    pub(super) unsafe fn register(&self, waiter: &Waiter, waker: &Waker) -> bool {
        {
            let _queue = self.waiters.lock();
            // Relaxed: the lock orders us after the step that cleared it.
            if !waiter.queued.load(Relaxed) {
                return false;
            }
            // SAFETY: queued, and we hold the lock: the links are ours to
            // read. `will_wake` compares pointers; it runs no user code.
            let same = unsafe {
                NodePtr::of(waiter)
                    .links(|links| links.waker.as_ref().is_some_and(|old| old.will_wake(waker)))
            };
            if same {
                return true;
            }
        }
        let new = waker.clone();
        let (queued, unused) = {
            let _queue = self.waiters.lock();
            // Relaxed: as above.
            if waiter.queued.load(Relaxed) {
                // SAFETY: queued, and we hold the lock.
                let old =
                    unsafe { NodePtr::of(waiter).links_mut(|links| links.waker.replace(new)) };
                (true, old)
            } else {
                (false, Some(new))
            }
        };
        drop(unused);
        queued
    }

    /// The waiter gives up (a timeout, a dropped future, a thread unwinding).
    /// Takes its node off the queue and passes its partial assignment on
    /// (none is lost). If it had left the queue already: granted, the
    /// permits are the caller's (a grant is never undone); woken to retry, it
    /// retries once, so the wake-up is not lost; drained by `close`, that
    /// retry reports `Closed`. Either way the node is off the queue when this
    /// returns, its owner's to reuse or free.
    ///
    /// # Safety
    /// As for [`register`](Semaphore::register): the caller owns `waiter`,
    /// queued (if at all) only in this semaphore.
    pub(super) unsafe fn cancel(&self, waiter: &Waiter) -> Result<(), TryAcquireError> {
        let mut woken = Woken::default();
        let queued = {
            let mut queue = self.waiters.lock();
            // Relaxed: the lock orders us after the step that cleared it, if
            // any; we set it ourselves otherwise.
            if waiter.queued.load(Relaxed) {
                let node = NodePtr::of(waiter);
                queue.unlink(node);
                // SAFETY: ours (we are its owner), and we hold the lock.
                if unsafe { node.links(|links| links.handoff) } {
                    queue.handoffs -= 1;
                }
                // Relaxed: guarded by the lock we hold.
                let partial = waiter.assigned.swap(0, Relaxed);
                // Relaxed: we are the owner; nobody else reads it any more.
                waiter.queued.store(false, Relaxed);
                // Even with nothing to pass on, this ends hand-off mode
                // and clears QUEUED if the queue now allows it.
                self.settle_locked(&mut queue, partial, &mut woken);
                true
            } else {
                false
            }
        };
        woken.wake_all();
        if queued {
            // Our own waker, out of the node now that it is off the queue.
            // SAFETY: we took it off the queue above, and our caller (who
            // gives up waiting) is its owner.
            drop(unsafe { waiter.take_waker_unqueued() });
            Err(TryAcquireError::NoPermits)
        } else if waiter.granted() {
            Ok(())
        } else {
            self.try_take(waiter.needed)
        }
    }

    /// `close` with waiters queued: under the waiter lock, sets `CLOSED`,
    /// empties the queue, returns partial assignments to the word (held
    /// permits stay counted on a closed semaphore) and ends hand-off mode;
    /// then, outside the lock, wakes every waiter, whose retry sees `CLOSED`.
    /// Returns whether this call closed the semaphore.
    pub(super) fn close_and_drain(&self) -> bool {
        let mut woken = Woken::default();
        {
            let mut queue = self.waiters.lock();
            // Release: pairs with the Acquire loads in `try_take`, `enqueue`
            // and `is_closed`. Under the lock: see `close` for why.
            if self.state.fetch_or(CLOSED, Release) & CLOSED != 0 {
                return false;
            }
            queue.handoffs = 0;
            let mut returned = 0;
            while let Some(node) = queue.pop_front() {
                // SAFETY: unlinked but still queued, and we hold the lock;
                // not used once the node leaves the queue (`dequeue_locked`).
                let waiter = unsafe { node.node() };
                // Relaxed: under the lock that guards `assigned`.
                returned += waiter.assigned.swap(0, Relaxed);
                dequeue_locked(node, &mut woken);
            }
            self.publish_locked(&queue, returned);
        }
        woken.wake_all();
        true
    }
}
