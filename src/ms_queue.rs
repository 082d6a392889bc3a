//! [`MsQueue`]: an unbounded lock-free MPMC FIFO, the Michael–Scott queue.
//!
//! The queue is a singly linked list that always starts with a *sentinel*
//! node whose value has already been taken. `head` points at the sentinel,
//! `tail` at the last node or the one before it. A push links a new node after
//! the last one with one CAS on that node's `next`, then swings `tail` to it;
//! a pop moves `head` one node on with one CAS and takes the value out of the
//! node it moved to, which becomes the new sentinel. Any thread that finds
//! `tail` lagging swings it forward itself (helping), so a stalled pusher
//! cannot block anyone. Popped nodes are retired to crossbeam-epoch and freed
//! once no pinned thread can still hold them. Source: M. M. Michael and
//! M. L. Scott, "Simple, Fast, and Practical Non-Blocking and Blocking
//! Concurrent Queue Algorithms", PODC 1996,
//! <https://www.cs.rochester.edu/~scott/papers/1996_PODC_queues.pdf>.
//!
//! Sections: State, Linearization points, ABA, Reclamation, Progress,
//! Memory orderings, Collectors (`std` and without it), References. The
//! user-facing contract (what happens-before what) is on [`MsQueue`] itself.
//!
//! # State
//!
//! ```text
//!   head (CachePadded)                     tail (CachePadded)
//!    |                                      |
//!    v                                      v
//!  +----------+ next +----------+ next +----------+ next
//!  | sentinel |----->| value a  |----->| value b  |-----> null
//!  | index i  |      | index i+1|      | index i+2|
//!  +----------+      +----------+      +----------+
//!  value taken       the queue holds a, b: len = (i+2) - i
//! ```
//!
//! Three kinds of atomic word, each an `Atomic<Node<T>>` (a pointer):
//! - `head`: the sentinel. Never null. Written only by a pop's CAS, one node
//!   forward at a time.
//! - `tail`: the last node, or the node just before it while a push is between
//!   its two steps. Never null. Written only by CAS, one node forward at a time
//!   (by the pusher or by a thread helping it).
//! - `node.next`: null while the node is last; set once by the push that links
//!   the next node, never changed again.
//!
//! Each node also carries a plain `index`, written before the node is
//! published and never again: the sentinel made by [`MsQueue::new`] has 0,
//! every linked node its predecessor's index plus one (wrapping).
//!
//! Invariants:
//! 1. Following `next` from `head` reaches `tail`, and from `tail` the last
//!    node in at most one step (`head ≤ tail ≤ last`, in list order).
//! 2. The queue's elements are the values of the nodes after `head`, oldest
//!    first; there are `last.index − head.index` of them (wrapping arithmetic,
//!    exact because fewer than `usize::MAX` nodes fit in memory).
//! 3. Only nodes before `head` are retired, and `tail` never points at one: a
//!    pop moves `tail` past the sentinel before it moves `head` past it.
//!
//! # Linearization points
//! - `push`: the successful CAS of the last node's `next` from null to the new
//!   node. The later swing of `tail` is bookkeeping anyone may do.
//! - `pop` returning a value: its successful CAS of `head` from the sentinel to
//!   the sentinel's successor.
//! - `pop` returning `None`: its load of the sentinel's `next` that returned
//!   null. `next` is set once and `head` only leaves a node whose `next` is
//!   set, so the node was still the sentinel at that load and had no
//!   successor: the queue was empty at that instant.
//! - `is_empty`: the same load of the sentinel's `next`. When it is non-null
//!   the queue held an element at some instant of the call: at the load if the
//!   node was still the sentinel, else just before the pop that moved `head`
//!   past it.
//! - `len`: not linearizable under concurrency; it reads `head`, then `tail`,
//!   and subtracts their indexes (a snapshot, like crossbeam's `SegQueue`).
//!   Exact when no push or pop runs at the same time. Never negative: the pop
//!   that moved `head` to the node `len` reads had already seen `tail` past it,
//!   and `len` reads `head` with Acquire, so its later `tail` load sees that
//!   `tail` or a newer one. Every push and pop that returned before the call
//!   is counted; a push whose `tail` swing is still pending may be missed.
//!
//! # ABA
//! A CAS compares addresses, so a freed node whose address came back as a new
//! node could make a stale CAS succeed. The bug, if nodes were freed at once:
//!
//! ```text
//! T1 (pop)                          T2
//! load head = A, A.next = B
//!                                   pop: head A -> B, free(A)
//!                                   pop: head B -> C, free(B)
//!                                   push: the allocator returns A again;
//!                                   pops until the new A is the sentinel
//! CAS head A -> B succeeds:
//! head now points at freed B
//! ```
//!
//! The fix: every operation is pinned from its first load to its last CAS, and
//! a popped sentinel is only *retired* (`defer_destroy`). crossbeam-epoch frees
//! it after every thread that was pinned when it was retired has unpinned, so
//! while T1 holds `A`, `A`'s memory cannot be handed out again and T1's CAS
//! fails as it should. The same argument covers the CASes on `tail` and
//! `next`. No tags or counters are needed.
//!
//! # Reclamation
//! - A successful pop moves the value out of the new sentinel (a bitwise read:
//!   the popper owns it from then on) and retires the old sentinel. Nodes hold
//!   their value in a `MaybeUninit`, so freeing a node never drops a `T`.
//! - A retired node is freed by crossbeam-epoch, in batches, once the global
//!   epoch has advanced past every guard that could see it. Freeing happens
//!   during later pins by any thread of the same collector, so memory stays
//!   bounded while the queue is in use.
//! - A guard held for a long time (any `crossbeam_epoch::pin()` under `std`,
//!   shared by every user of the default collector) stops the epoch and delays
//!   all freeing until it is dropped. A thread keeps up to one batch (64 nodes)
//!   of retired nodes locally until it pins again or exits.
//! - Dropping the queue frees the nodes still linked and drops their values.
//!   Retired nodes of the default collector may be freed after the queue is
//!   gone; that only deallocates memory. Without `std`, the queue's own
//!   collector frees what it still holds when the queue drops.
//!
//! # Progress
//! Lock-free: a push or pop retries only because another thread's CAS on the
//! same word succeeded, so some operation always completes. A pusher stalled
//! between linking its node and swinging `tail` blocks nobody: the next thread
//! to see `tail.next` non-null swings `tail` itself. Allocation in `push` is
//! only as non-blocking as the global allocator; epoch pinning never waits.
//!
//! # Memory orderings
//! - The CAS of `next` is Release, and every load of `next` whose node may be
//!   dereferenced is Acquire: this publishes a new node's value and index.
//! - The CASes of `head` and `tail` are Release, their loads Acquire: a thread
//!   that reads a node's address from `head` or `tail` got it from somebody's
//!   Acquire load of `next`, and the Release passes the node's contents on.
//! - Nothing needs SeqCst: each step depends on one word at a time.
//!
//! # Collectors
//! A queue never mixes collectors: its nodes are retired only to the collector
//! its operations pin.
//! - With `std`, `MsQueue::push` and `MsQueue::pop` pin crossbeam-epoch's
//!   global default collector through the thread's own participant, and
//!   [`MsQueue::handle`] registers a participant with that same collector.
//! - Without `std` there are no thread-locals to hold a participant, so the
//!   queue owns a `Collector`; [`MsQueue::handle`] registers with it, and the
//!   handle is the way to push and pop. `len`, `is_empty` and `Debug` on the
//!   queue itself register a temporary participant per call (an allocation of
//!   about 2 KiB); the handle's own `len` and `is_empty` avoid that.
//!
//! # References
//! - Michael & Scott, PODC 1996 (above): the algorithm, its helping step and
//!   its linearizability argument.
//! - crossbeam-rs/crossbeam, `crossbeam-epoch/src/sync/queue.rs`: an MS queue
//!   inside the epoch crate (it swings `tail` after the `head` CAS; this one
//!   before, so that `head ≤ tail` always holds and `len` cannot underflow).
//! - crossbeam-rs/crossbeam, `crossbeam-queue/src/seg_queue.rs`: the `len`
//!   snapshot as `tail − head` indexes.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crossbeam_epoch::{Atomic, Guard, LocalHandle, Owned, Shared};

use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::{Backoff, CachePadded, UnsafeCell};

/// A list node. The sentinel's `value` is uninitialized (already taken);
/// every other node's holds the value pushed with it.
struct Node<T> {
    /// The pushed value; moved out by the pop that makes this node the
    /// sentinel, so it is never dropped through the node.
    value: UnsafeCell<MaybeUninit<T>>,
    /// Null while this is the last node; set once by the push that links the
    /// next one.
    next: Atomic<Node<T>>,
    /// Position in the stream of pushes (sentinel of a new queue: 0). Written
    /// before the node is published, never after.
    index: usize,
}

impl<T> Node<T> {
    /// The first sentinel: no value, index 0.
    fn sentinel() -> Self {
        Self {
            value: UnsafeCell::new(MaybeUninit::uninit()),
            next: Atomic::null(),
            index: 0,
        }
    }
}

/// An unbounded lock-free multi-producer multi-consumer FIFO queue: the
/// Michael–Scott queue with crossbeam-epoch reclamation.
///
/// Each push allocates one node; each pop retires one, and retired nodes are
/// freed while the queue is in use, so memory follows the queue's length.
///
/// # Memory ordering
/// - A push happens-before the pop that returns its value: everything the
///   pushing thread did before `push` is visible to the popping thread after
///   `pop` returns.
/// - Pushes from one thread come out in the order they were made (FIFO), and
///   a push that happens-before another comes out before it.
/// - [`len`](MsQueue::len) and [`is_empty`](MsQueue::is_empty) are snapshots
///   and create no happens-before edge a program could rely on.
///
/// # `std` and `no_std`
/// With the `std` feature, `push` and `pop` pin crossbeam-epoch's global
/// collector. Without it, the queue owns its own collector and each thread
/// pushes and pops through a registered [`MsQueueHandle`]
/// ([`handle`](MsQueue::handle)), which also works under `std`.
///
/// # Examples
/// ```
/// use freelane::MsQueue;
///
/// let queue = MsQueue::new();
/// std::thread::scope(|scope| {
///     for producer in 0..4 {
///         let queue = &queue;
///         scope.spawn(move || {
///             for i in 0..100 {
///                 queue.push(producer * 100 + i);
///             }
///         });
///     }
/// });
/// assert_eq!(queue.len(), 400);
/// let mut all: Vec<i32> = std::iter::from_fn(|| queue.pop()).collect();
/// all.sort();
/// assert_eq!(all, (0..400).collect::<Vec<_>>());
/// ```
pub struct MsQueue<T> {
    /// The sentinel node; padded because poppers write it and pushers write
    /// `tail` (128 B on x86-64 and aarch64, 32 B on Cortex-M; the sizes are
    /// crossbeam-utils' `CachePadded`).
    head: CachePadded<Atomic<Node<T>>>,
    /// The last node or the one before it; padded like `head`.
    tail: CachePadded<Atomic<Node<T>>>,
    /// Without `std`: the collector that every handle of this queue registers
    /// with, and that retired nodes go to.
    #[cfg(not(feature = "std"))]
    collector: crossbeam_epoch::Collector,
    /// The queue owns the `T`s in its nodes (for drop check).
    _owns: PhantomData<T>,
}

// SAFETY: the queue owns its `T`s and hands each one to exactly one thread (a
// pop moves it out), so sending the queue, or sharing it so that other
// threads push and pop, only ever moves `T`s between threads: `T: Send` is
// enough. No `&T` is ever shared. The node pointers are only dereferenced
// under a guard (see the ABA and Reclamation sections), and the collector
// (without `std`) is `Send + Sync`.
unsafe impl<T: Send> Send for MsQueue<T> {}
// SAFETY: as for `Send` above: through `&MsQueue`, threads only move `T`s in
// and out, each value by exactly one thread.
unsafe impl<T: Send> Sync for MsQueue<T> {}

impl<T> MsQueue<T> {
    /// Creates an empty queue (it allocates its sentinel node).
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::<String>::new();
    /// assert!(queue.is_empty());
    /// ```
    pub fn new() -> Self {
        let sentinel = Owned::new(Node::sentinel()).into_shared(
            // SAFETY: the guard is only used to turn a fresh node, which no
            // other thread can see yet, into a pointer; nothing is read.
            unsafe { crossbeam_epoch::unprotected() },
        );
        Self {
            head: CachePadded::new(Atomic::from(sentinel)),
            tail: CachePadded::new(Atomic::from(sentinel)),
            #[cfg(not(feature = "std"))]
            collector: crossbeam_epoch::Collector::new(),
            _owns: PhantomData,
        }
    }

    /// Adds `value` at the back of the queue. Never blocks and never fails
    /// (it allocates one node).
    ///
    /// Pins crossbeam-epoch's global collector, so it needs the `std`
    /// feature; without it, push through a [`handle`](MsQueue::handle).
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// queue.push(1);
    /// queue.push(2);
    /// assert_eq!(queue.pop(), Some(1));
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn push(&self, value: T) {
        self.push_pinned(value, &crossbeam_epoch::pin());
    }

    /// Removes the value at the front of the queue, or returns `None` if the
    /// queue is empty. Never blocks.
    ///
    /// Pins crossbeam-epoch's global collector, so it needs the `std`
    /// feature; without it, pop through a [`handle`](MsQueue::handle).
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// assert_eq!(queue.pop(), None);
    /// queue.push("a");
    /// assert_eq!(queue.pop(), Some("a"));
    /// assert_eq!(queue.pop(), None);
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn pop(&self) -> Option<T> {
        self.pop_pinned(&crossbeam_epoch::pin())
    }

    /// Whether the queue was empty at some instant during the call (a
    /// snapshot; see the type's docs).
    ///
    /// Without `std` this registers a temporary epoch participant per call;
    /// prefer [`MsQueueHandle::is_empty`] there.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// assert!(queue.is_empty());
    /// queue.push(());
    /// assert!(!queue.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.with_guard(|guard| self.is_empty_pinned(guard))
    }

    /// The number of values in the queue: exact when no push or pop runs at
    /// the same time, otherwise a snapshot that may be slightly stale (never
    /// negative, never garbage). Reads two words and writes nothing shared.
    ///
    /// Without `std` this registers a temporary epoch participant per call;
    /// prefer [`MsQueueHandle::len`] there.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// queue.push('x');
    /// queue.push('y');
    /// assert_eq!(queue.len(), 2);
    /// queue.pop();
    /// assert_eq!(queue.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.with_guard(|guard| self.len_pinned(guard))
    }

    /// Registers a new epoch participant for the calling thread and returns a
    /// handle that pushes and pops through it.
    ///
    /// This is the way to use the queue without `std`. Under `std` it
    /// registers with crossbeam-epoch's default collector (the one `push` and
    /// `pop` use), so handles and plain calls mix freely; without `std` it
    /// registers with the queue's own collector. Registering allocates, so
    /// make one handle per thread and keep it rather than one per operation.
    /// The handle is neither `Send` nor `Sync`: a participant belongs to one
    /// thread.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// let handle = queue.handle();
    /// handle.push(7);
    /// assert_eq!(handle.len(), 1);
    /// assert_eq!(handle.pop(), Some(7));
    /// assert!(handle.is_empty());
    /// ```
    pub fn handle(&self) -> MsQueueHandle<'_, T> {
        MsQueueHandle {
            queue: self,
            local: self.register(),
        }
    }

    /// Registers a participant with the collector this queue retires to.
    fn register(&self) -> LocalHandle {
        #[cfg(feature = "std")]
        let local = crossbeam_epoch::default_collector().register();
        #[cfg(not(feature = "std"))]
        let local = self.collector.register();
        local
    }

    /// Runs `f` pinned: under `std` on the thread's participant of the
    /// default collector, without it on a temporary participant.
    fn with_guard<R>(&self, f: impl FnOnce(&Guard) -> R) -> R {
        #[cfg(feature = "std")]
        let result = f(&crossbeam_epoch::pin());
        #[cfg(not(feature = "std"))]
        let result = f(&self.register().pin());
        result
    }

    /// The push algorithm; `guard` must be pinned on this queue's collector.
    fn push_pinned(&self, value: T, guard: &Guard) {
        let mut node = Owned::new(Node {
            value: UnsafeCell::new(MaybeUninit::new(value)),
            next: Atomic::null(),
            index: 0,
        });
        let backoff = Backoff::new();
        loop {
            // Acquire: pairs with the Release CASes of `tail` (here and in
            // `pop_pinned`); publishes the node's `index` and `next` to us.
            let tail = self.tail.load(Acquire, guard);
            // SAFETY: (1) `tail` is never null (invariant 1); (2) it points at
            // a node that is not retired (invariant 3), or that was retired
            // after we pinned, which cannot be freed while `guard` lives.
            let last = unsafe { tail.deref() };
            // Acquire: pairs with the Release CAS of `next` below; publishes
            // the successor's contents before we hand it to `tail`.
            let next = last.next.load(Acquire, guard);
            if !next.is_null() {
                // `tail` lags: help the pusher that linked `next`. Release:
                // pairs with the Acquire loads of `tail`; passes on the node's
                // contents we acquired above. Failure: someone else helped.
                let _ = self
                    .tail
                    .compare_exchange(tail, next, Release, Relaxed, guard);
                continue;
            }
            node.index = last.index.wrapping_add(1);
            // Release: pairs with the Acquire loads of `next` in pop and push;
            // publishes the value and index written into `node`. Linearization
            // point. Failure is Relaxed: we retry with fresh Acquire loads.
            match last
                .next
                .compare_exchange(Shared::null(), node, Release, Relaxed, guard)
            {
                Ok(linked) => {
                    // Release: as for the helping CAS above. Failure means a
                    // helper already moved `tail` on.
                    let _ = self
                        .tail
                        .compare_exchange(tail, linked, Release, Relaxed, guard);
                    return;
                }
                Err(lost) => {
                    node = lost.new;
                    backoff.spin();
                }
            }
        }
    }

    /// The pop algorithm; `guard` must be pinned on this queue's collector.
    fn pop_pinned(&self, guard: &Guard) -> Option<T> {
        let backoff = Backoff::new();
        loop {
            // Acquire: pairs with the Release CAS of `head` below; publishes
            // the sentinel's contents (and the `tail` that the pop which made
            // it sentinel had seen, for `len`).
            let head = self.head.load(Acquire, guard);
            // SAFETY: (1) `head` is never null (invariant 1); (2) a node
            // retired after we pinned is not freed while `guard` lives, and
            // `head` never points at one retired earlier.
            let sentinel = unsafe { head.deref() };
            // Acquire: pairs with the Release CAS of `next` in `push_pinned`;
            // publishes the value we are about to read. Null: the empty
            // linearization point.
            let next = sentinel.next.load(Acquire, guard);
            // SAFETY: a non-null `next` was published by the Acquire load
            // above and is freed only after `head` moves past it and `guard`
            // is dropped.
            let first = unsafe { next.as_ref() }?;
            // Relaxed: only compared, never dereferenced. It cannot be older
            // than the `tail` seen by the pop that made `head` the sentinel
            // (coherence after the Acquire load of `head`), and that was at or
            // past `head`.
            let tail = self.tail.load(Relaxed, guard);
            if tail == head {
                // `tail` still points at the sentinel we are about to retire:
                // move it on first (invariant 3). Release: as in
                // `push_pinned`; passes on `first`'s contents. On failure
                // another thread has already moved it past `head`.
                let _ = self
                    .tail
                    .compare_exchange(tail, next, Release, Relaxed, guard);
            }
            // Release: pairs with the Acquire loads of `head`; publishes
            // `first`'s contents and the `tail` move above. Linearization
            // point. Failure: another pop won; retry.
            if self
                .head
                .compare_exchange(head, next, Release, Relaxed, guard)
                .is_ok()
            {
                // SAFETY: (1) `first` was not the sentinel, so its value is
                // initialized (written before its Release publication, seen
                // through our Acquire load of `next`); (2) our CAS made
                // `first` the sentinel, so no other pop will read the value,
                // and from now on it counts as uninitialized.
                let value = first
                    .value
                    .with(|slot| unsafe { slot.read().assume_init() });
                // SAFETY: (1) `head` is unlinked: `head` and `tail` are past
                // it (invariant 3), and no new pointer to it can be made;
                // (2) our CAS succeeded, so no other thread retires it;
                // (3) its value was taken by an earlier pop (or it is the
                // first sentinel), and freeing a node never drops a `T`.
                unsafe { guard.defer_destroy(head) };
                return Some(value);
            }
            backoff.spin();
        }
    }

    /// `is_empty` under a guard pinned on this queue's collector.
    fn is_empty_pinned(&self, guard: &Guard) -> bool {
        // Acquire: pairs with the Release CAS of `head` in `pop_pinned`;
        // publishes the sentinel's contents.
        let head = self.head.load(Acquire, guard);
        // SAFETY: as for the sentinel in `pop_pinned`.
        let sentinel = unsafe { head.deref() };
        // Relaxed: only compared with null, never dereferenced. The
        // linearization point of `is_empty`.
        sentinel.next.load(Relaxed, guard).is_null()
    }

    /// `len` under a guard pinned on this queue's collector.
    fn len_pinned(&self, guard: &Guard) -> usize {
        // Head first, then tail: the pop that made this node the sentinel had
        // already seen `tail` at or past it, and this Acquire (pairing with
        // the Release CAS of `head`) makes our `tail` load see that `tail` or
        // a newer one. So `tail.index − head.index` is never negative. The
        // Acquire also publishes the node's `index`.
        let head = self.head.load(Acquire, guard);
        // Acquire: pairs with the Release CASes of `tail`; publishes `index`.
        let tail = self.tail.load(Acquire, guard);
        // SAFETY: neither is null (invariant 1), and neither can be freed
        // while `guard` lives (as in `pop_pinned`).
        let (head, tail) = unsafe { (head.deref(), tail.deref()) };
        let len = tail.index.wrapping_sub(head.index);
        debug_assert!(
            len <= isize::MAX as usize,
            "MsQueue::len underflowed: head is past tail"
        );
        len
    }
}

impl<T> Default for MsQueue<T> {
    /// Same as [`MsQueue::new`].
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue: MsQueue<u8> = Default::default();
    /// assert_eq!(queue.len(), 0);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for MsQueue<T> {
    /// Shows the queue's length (a snapshot); `T` need not be `Debug`.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// queue.push(1);
    /// assert_eq!(format!("{queue:?}"), "MsQueue { len: 1, .. }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsQueue")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T> Drop for MsQueue<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can touch the nodes, so no
        // guard is needed to read or free them.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        let mut node = self.head.load(Relaxed, guard);
        let mut is_sentinel = true;
        // SAFETY: every linked node is live: only nodes before `head` were
        // retired, and we start at `head`.
        while let Some(current) = unsafe { node.as_ref() } {
            let next = current.next.load(Relaxed, guard);
            if !is_sentinel {
                // SAFETY: a node after the sentinel holds an initialized value
                // that no pop took; it is dropped here exactly once.
                current
                    .value
                    .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
            }
            // SAFETY: the node is linked, so not retired: we free it exactly
            // once, and nothing refers to it after this loop.
            drop(unsafe { node.into_owned() });
            is_sentinel = false;
            node = next;
        }
    }
}

/// A thread's registered epoch participant for one [`MsQueue`], through which
/// it pushes and pops: the way to use the queue without `std`.
///
/// Made by [`MsQueue::handle`]. Each operation pins the handle's own
/// participant instead of a thread-local one, so it works where there are no
/// thread-locals. Create one per thread and keep it: registering allocates.
/// The handle is neither `Send` nor `Sync`; the queue's memory ordering
/// contract holds for operations through handles as well.
///
/// ```
/// use freelane::MsQueue;
///
/// let queue = MsQueue::new();
/// std::thread::scope(|scope| {
///     scope.spawn(|| {
///         let handle = queue.handle();
///         for i in 0..10 {
///             handle.push(i);
///         }
///     });
/// });
/// let handle = queue.handle();
/// assert_eq!(handle.pop(), Some(0));
/// ```
///
/// A participant belongs to one thread, so the handle cannot move:
///
/// ```compile_fail,E0277
/// let queue = freelane::MsQueue::<u8>::new();
/// let handle = queue.handle();
/// std::thread::scope(|scope| {
///     scope.spawn(move || handle.push(1));
/// });
/// ```
pub struct MsQueueHandle<'a, T> {
    /// The queue this handle operates on.
    queue: &'a MsQueue<T>,
    /// The participant, registered with the collector `queue` retires to.
    local: LocalHandle,
}

impl<T> MsQueueHandle<'_, T> {
    /// Adds `value` at the back of the queue, as `MsQueue::push` does.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// let handle = queue.handle();
    /// handle.push("job");
    /// assert_eq!(handle.pop(), Some("job"));
    /// ```
    pub fn push(&self, value: T) {
        self.queue.push_pinned(value, &self.local.pin());
    }

    /// Removes the value at the front of the queue, or returns `None` if it is
    /// empty, as `MsQueue::pop` does.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// let handle = queue.handle();
    /// assert_eq!(handle.pop(), None::<u8>);
    /// handle.push(3);
    /// assert_eq!(handle.pop(), Some(3));
    /// ```
    pub fn pop(&self) -> Option<T> {
        self.queue.pop_pinned(&self.local.pin())
    }

    /// Whether the queue was empty at some instant during the call, as
    /// [`MsQueue::is_empty`] (without its temporary registration).
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// let handle = queue.handle();
    /// assert!(handle.is_empty());
    /// handle.push(1);
    /// assert!(!handle.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty_pinned(&self.local.pin())
    }

    /// The number of values in the queue, a snapshot as [`MsQueue::len`]
    /// (without its temporary registration).
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// let handle = queue.handle();
    /// handle.push(1);
    /// handle.push(2);
    /// assert_eq!(handle.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.queue.len_pinned(&self.local.pin())
    }
}

impl<T> fmt::Debug for MsQueueHandle<'_, T> {
    /// Shows the queue's length (a snapshot); `T` need not be `Debug`.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::<u8>::new();
    /// assert_eq!(format!("{:?}", queue.handle()), "MsQueueHandle { len: 0, .. }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsQueueHandle")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
