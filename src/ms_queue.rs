//! [`MsQueue`]: an unbounded lock-free MPMC FIFO, the Michael–Scott queue.
//!
//! The queue is a singly linked list that always starts with a *sentinel*
//! node whose value has already been taken. `head` points at the sentinel,
//! `tail` at the last node or the one before it. A push links a new node after
//! the last one with one CAS on that node's `next`, then swings `tail` to it;
//! a pop moves `head` one node on with one CAS and takes the value out of the
//! node it moved to, which becomes the new sentinel. Any thread that finds
//! `tail` lagging swings it forward itself (helping), so a stalled pusher
//! cannot block anyone. Popped nodes are retired to crossbeam-epoch and
//! recycled for later pushes once no pinned thread can still hold them.
//! Source: M. M. Michael and M. L. Scott, "Simple, Fast, and Practical
//! Non-Blocking and Blocking Concurrent Queue Algorithms", PODC 1996,
//! <https://www.cs.rochester.edu/~scott/papers/1996_PODC_queues.pdf>.
//!
//! Sections: State, Linearization points, ABA, Progress, Memory orderings,
//! Collectors (`std` and without it), References. The user-facing contract
//! (what happens-before what) and the reclamation and recycling of nodes
//! (batches, the pool, the pushers' caches, their ABA argument, what a
//! preempted thread costs, instructions per operation) are on [`MsQueue`]
//! itself, in the rendered docs.
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
//! Three kinds of atomic word carry the algorithm, each an `Atomic<Node<T>>`
//! (a pointer):
//! - `head`: the sentinel. Never null. Written only by a pop's CAS, one node
//!   forward at a time.
//! - `tail`: the last node, or the node just before it while a push is between
//!   its two steps. Never null. Written only by CAS, one node forward at a time
//!   (by the pusher or by a thread helping it).
//! - `node.next`: null while the node is last; set once by the push that links
//!   the next node, never changed again while the node is in the queue.
//!
//! Each node also carries an `index`, written before the node is published
//! and never while it is linked: the sentinel made by [`MsQueue::new`] has 0,
//! every linked node its predecessor's index plus one (wrapping). And a
//! `batch` pointer to the first node of its batch, the node whose index is
//! its own rounded down to a multiple of 32, also written before the node is
//! published (see recycling on [`MsQueue`]; it is atomic because in the pool
//! the same word links chains, and a stale pusher may load it there).
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
//! a popped sentinel is only *retired*. It is reused (or freed) only by a
//! function deferred to crossbeam-epoch, which runs after every thread that
//! was pinned at its retirement has unpinned, so while T1 holds `A`, `A`
//! cannot come back as a new node and T1's CAS fails as it should. The same
//! argument covers the CASes on `tail` and `next`. No tags or counters are
//! needed.
//!
//! The pool of free nodes and the pushers' caches have an ABA problem of
//! their own; [`MsQueue`]'s docs give it with its fix ("ABA of the pool").
//!
//! # Progress
//! Lock-free: a push or pop retries only because another thread's CAS on the
//! same word succeeded, so some operation always completes. A pusher stalled
//! between linking its node and swinging `tail` blocks nobody: the next thread
//! to see `tail.next` non-null swings `tail` itself. Allocation in `push` is
//! only as non-blocking as the global allocator; epoch pinning never waits.
//! A stalled thread holds up only reclamation (memory, not operations): see
//! "A preempted thread" on [`MsQueue`]. A push or pop whose CAS lost spins a
//! bounded while before it retries ("Back-off" on [`MsQueue`]), unpinned;
//! the spin delays that thread only.
//!
//! # Memory orderings
//! - The CAS of `next` is Release, and every load of `next` whose node may be
//!   dereferenced is Acquire (including the push CAS's failure, which hands
//!   the successor it found to `tail`): this publishes a new node's value,
//!   index and batch.
//! - The CASes of `head` and `tail` are Release, their loads Acquire: a thread
//!   that reads a node's address from `head` or `tail` got it from somebody's
//!   Acquire load of `next`, and the Release passes the node's contents on.
//! - The pool: a chain is pushed with a Release CAS and taken whole with an
//!   Acquire CAS, so everything its nodes' previous users did (they
//!   happen-before the deferred return, by crossbeam-epoch's guarantee)
//!   happens-before the push that writes a value into one of them. A cache
//!   is one thread's (or one handle's), so using it needs no ordering.
//! - Nothing needs SeqCst: each step depends on one word at a time.
//!
//! # Collectors
//! A queue never mixes collectors: its nodes are retired only to the collector
//! its operations pin.
//! - With `std`, `MsQueue::push` and `MsQueue::pop` (and `len`, `is_empty`,
//!   `shrink_to_fit`) pin crossbeam-epoch's global default collector
//!   through a participant the thread keeps beside its node cache
//!   (registered at its first call; crossbeam-epoch's own thread-local
//!   participant if that one is gone at thread exit, and under loom). One
//!   thread-local read then gives a push both its participant and its
//!   cache. [`MsQueue::handle`] registers a participant with that same
//!   collector.
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
//! - R. K. Treiber, "Systems Programming: Coping with Parallelism", IBM
//!   Research Report RJ 5118, 1986: the lock-free stack the pool of free
//!   chains is.
//! - J. Bonwick and J. Adams, "Magazines and Vmem", USENIX 2001: per-CPU
//!   caches of free objects exchanged whole with a shared depot, as the
//!   pushers' caches take whole chains from the pool.

use alloc::boxed::Box;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crossbeam_epoch::{Atomic, Guard, LocalHandle, Shared};

use crate::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicBool, AtomicUsize};
use crate::sync::{Backoff, CachePadded, UnsafeCell, back_off, back_off_and_yield};

/// A list node. The sentinel's `value` is uninitialized (already taken);
/// every other node's holds the value pushed with it.
///
/// Nodes are recycled (see "Reclamation and recycling" on [`MsQueue`]): the same allocation is
/// linked, popped, rests in the [`Pool`] or in a pusher's cache and is
/// linked again. `index` is written only by the thread that owns the node at
/// the time (a pusher before publishing it), hence a cell; `next` and
/// `batch` are atomic because a stale pool reader may load them at any time.
struct Node<T> {
    /// The pushed value; moved out by the pop that makes this node the
    /// sentinel, so it is never dropped through the node.
    value: UnsafeCell<MaybeUninit<T>>,
    /// In the queue: null while this is the last node; set once by the push
    /// that links the next one. In a free chain: the next free node of the
    /// chain, null at its end.
    next: Atomic<Node<T>>,
    /// Position in the stream of pushes (sentinel of a new queue: 0). Written
    /// before the node is published, never while it is linked.
    index: UnsafeCell<usize>,
    /// In the queue: the first node of this node's batch, the linked node
    /// whose index is this one's rounded down to a multiple of [`BATCH`]
    /// (set with `index`). On the first node of a chain in the [`Pool`]: the
    /// next chain down the stack.
    batch: Atomic<Node<T>>,
}

impl<T> Node<T> {
    /// A fresh allocation holding `value` (uninitialized for a sentinel); its
    /// `index` and `batch` are set by whoever links it.
    fn alloc(value: MaybeUninit<T>) -> *mut Self {
        Box::into_raw(Box::new(Self {
            value: UnsafeCell::new(value),
            next: Atomic::null(),
            index: UnsafeCell::new(0),
            batch: Atomic::null(),
        }))
    }

    /// Frees a node that is linked nowhere and that no thread can reach.
    ///
    /// # Safety
    /// `node` came from [`Node::alloc`], is not freed yet, and no other
    /// thread holds or can obtain a pointer to it. Its value is not dropped.
    unsafe fn free(node: *mut Self) {
        // SAFETY: by the caller's contract the allocation is ours alone and
        // was made by `Box` in `Node::alloc`; a `MaybeUninit` value is never
        // dropped.
        drop(unsafe { Box::from_raw(node) });
    }

    /// The node after `node` through `next` (null at a chain's end).
    ///
    /// # Safety
    /// `node` is live and its `next` was last written by a store that
    /// happens-before this call (the node is the caller's).
    unsafe fn next_raw(node: *mut Self) -> *mut Self {
        // SAFETY: nothing dereferences through this guard.
        let unprotected = unsafe { crossbeam_epoch::unprotected() };
        // SAFETY: live by the caller's contract. Relaxed: the caller is
        // already synchronized with the link's write.
        let next = unsafe { &*node }.next.load(Relaxed, unprotected);
        next.as_raw().cast_mut()
    }

    /// Frees `first` and every node after it through `next`, to null.
    ///
    /// # Safety
    /// As for [`Node::free`], for every node of the chain.
    unsafe fn free_chain(first: *mut Self) {
        let mut node = first;
        while !node.is_null() {
            // SAFETY: the chain is the caller's; read the link, then free.
            let next = unsafe { Self::next_raw(node) };
            // SAFETY: as above, once per node.
            unsafe { Self::free(node) };
            node = next;
        }
    }

    /// Frees a stack of chains as the [`Pool`] holds them: chains linked
    /// through their first node's `batch`, each chain through `next`.
    ///
    /// # Safety
    /// As for [`Node::free`], for every node of every chain.
    unsafe fn free_chains(top: *mut Self) {
        // SAFETY: nothing dereferences through this guard.
        let unprotected = unsafe { crossbeam_epoch::unprotected() };
        let mut first = top;
        while !first.is_null() {
            // SAFETY: the stack is the caller's. Relaxed: as in `next_raw`.
            let below = unsafe { &*first }.batch.load(Relaxed, unprotected);
            // SAFETY: one chain of the caller's stack, freed once.
            unsafe { Self::free_chain(first) };
            first = below.as_raw().cast_mut();
        }
    }

    /// This node's `index`.
    ///
    /// # Safety
    /// The caller must be synchronized with the node's last `index` write
    /// (through its publication or the pool) and no thread may write it now.
    unsafe fn index(&self) -> usize {
        // SAFETY: by the caller's contract no write races with this read.
        self.index.with(|index| unsafe { *index })
    }
}

/// How many `pause`s a push or pop spins after its compare-and-swap lost to
/// another operation on the same end (a push: its first loss only), before
/// it tries again ([`back_off`]; "Back-off" on [`MsQueue`]): about 40 µs
/// on this project's 2-core VM.
/// Chosen on the contention report's `msqueue/mpmc` workload, two runs of
/// 5 rounds of each build alternating: 2p2c 17.9–22.9 million elements a
/// second at 4096 (pushes only backing off: 9.4–16.4; neither: 6.6–6.7),
/// 19.2–20.1 at 8192 and 17.2–19.5 at 16384; 4p4c 16.0–22.2, 16.2–16.3
/// and 17.6–18.0.
const BACK_OFF_PAUSES: usize = 1 << 12;

/// The back-off after a lost CAS ([`BACK_OFF_PAUSES`]), with the thread
/// unpinned meanwhile: a pinned spin would hold the epoch, and so the
/// recycling of every retired node, for its whole length. Taking the guard
/// mutably lets the borrow checker refuse any `Shared` loaded through it
/// that is still in use across the spin; the one pointer the caller keeps
/// without the guard is its own unpublished node. Without `std` and under
/// loom there is no spin (`back_off` does nothing there), so no repinning
/// either.
///
/// With `YIELD` (a pop) the thread yields its core after the spin
/// ([`back_off_and_yield`]; "Back-off" on [`MsQueue`]).
#[inline]
fn back_off_unpinned<const YIELD: bool>(guard: &mut Guard) {
    if cfg!(all(feature = "std", not(freelane_loom))) {
        if YIELD {
            guard.repin_after(|| back_off_and_yield(BACK_OFF_PAUSES));
        } else {
            guard.repin_after(|| back_off(BACK_OFF_PAUSES));
        }
    }
}

/// Nodes per reclamation batch: one deferred return to the [`Pool`] (and one
/// reference count update) per `BATCH` pops, and so the length of the chain
/// a pusher takes from the pool at once. A power of two, so that index
/// arithmetic stays exact when `index` wraps. Small under loom, so that the
/// models see batches complete.
#[cfg(not(freelane_loom))]
const BATCH: usize = 32;
#[cfg(freelane_loom)]
const BATCH: usize = 2;

/// Free nodes of one queue, returned a chain at a time after a grace period
/// and taken a chain at a time by pushers: a Treiber stack of chains, linked
/// through each chain's first node's `batch`; a chain is linked through
/// `next` and ends in null.
///
/// Shared by the queue, by every deferred chain return (which may run after
/// the queue is gone, on the global collector) and by every thread cache
/// holding one of its chains, so it counts its owners and the last one
/// frees it with the nodes it holds.
struct Pool<T> {
    /// The top chain's first node, or null. Pushers pop chains; returns push
    /// them. Padded: pushers of every thread CAS it, once per chain.
    top: CachePadded<Atomic<Node<T>>>,
    /// One for the queue, one per chain whose return is deferred, one per
    /// thread cache holding (or last holding) a chain of this pool.
    owners: AtomicUsize,
    /// Set when the queue drops: from then on a returned chain is freed
    /// instead of kept.
    queue_gone: AtomicBool,
}

impl<T> Pool<T> {
    /// A new, empty pool owned by one queue.
    fn new() -> *const Self {
        Box::into_raw(Box::new(Self {
            top: CachePadded::new(Atomic::null()),
            owners: AtomicUsize::new(1),
            queue_gone: AtomicBool::new(false),
        }))
    }

    /// Takes a whole chain of free nodes, if any, and returns its first node
    /// (the rest follow through `next`). `guard` must be pinned on the
    /// collector that retires this pool's nodes.
    fn take_chain(&self, guard: &Guard) -> Option<*mut Node<T>> {
        // Acquire: pairs with the Release CAS in `give_back`; makes the
        // chain's links (and everything its nodes' last users did) visible.
        let mut top = self.top.load(Acquire, guard);
        loop {
            // SAFETY: a node that leaves the pool is freed only after a grace
            // period that began after it left (every route back to the pool
            // or to the allocator goes through a deferred function), or when
            // no thread can be here (the queue's drop, the last owner). While
            // `guard` is pinned, `top` is therefore live, if not ours.
            let first = unsafe { top.as_ref() }?;
            // Relaxed: if another pusher took this chain meanwhile, the value
            // is stale, but then `top` has moved and the CAS below fails.
            // `first` cannot come back to the top while we are pinned (ABA,
            // in the type docs), so success means `below` was read while
            // `first` was on top.
            let below = first.batch.load(Relaxed, guard);
            // Acquire on success: as for the load above; the chain is ours.
            // Acquire on failure too: the new `top` is dereferenced on the
            // next turn, so its links must be visible as the load's were.
            match self
                .top
                .compare_exchange_weak(top, below, Acquire, Acquire, guard)
            {
                Ok(_) => return Some(top.as_raw().cast_mut()),
                Err(lost) => top = lost.current,
            }
        }
    }

    /// Returns the chain `first ..= last` (linked through `next`; `last`
    /// null: the chain already ends in null) to the pool, or frees it if the
    /// queue is gone, then drops the chain's ownership of the pool. Runs as
    /// a deferred function once no thread can hold a pointer to any node of
    /// the chain.
    ///
    /// # Safety
    /// `pool` is live and this call owns one of its `owners` counts; the
    /// chain is unlinked, every node in it is unreachable by any thread,
    /// its values have been taken, and nobody else frees or returns it.
    unsafe fn give_back(pool: *const Self, first: *mut Node<T>, last: *mut Node<T>) {
        // SAFETY: the caller owns a count, so the pool is live.
        let this = unsafe { &*pool };
        // Relaxed: a hint. A chain that races with the queue's drop and is
        // kept is freed with the pool by its last owner.
        if this.queue_gone.load(Relaxed) {
            if !last.is_null() {
                // SAFETY: the chain is ours (contract); cut it after `last`.
                unsafe { &*last }.next.store(Shared::null(), Relaxed);
            }
            // SAFETY: the chain is ours and unreachable (contract).
            unsafe { Node::free_chain(first) };
        } else {
            // SAFETY: the chain is ours (contract).
            unsafe { this.push_chain(first, last) };
        }
        // SAFETY: the count this call owned is given up exactly once.
        unsafe { Self::release(pool) };
    }

    /// Pushes the chain `first ..= last` (as in [`Pool::give_back`]) onto
    /// the stack with one CAS.
    ///
    /// # Safety
    /// The chain is the caller's, unreachable by any other thread.
    unsafe fn push_chain(&self, first: *mut Node<T>, last: *mut Node<T>) {
        // SAFETY: nothing dereferences through this guard; it is only the
        // handle crossbeam's `Atomic` wants for loads and CASes.
        let unprotected = unsafe { crossbeam_epoch::unprotected() };
        if !last.is_null() {
            // SAFETY: the chain is ours (contract). Relaxed: published by
            // the Release CAS below.
            unsafe { &*last }.next.store(Shared::null(), Relaxed);
        }
        // SAFETY: the chain is ours (contract), so `first` is live.
        let head = unsafe { &*first };
        // Relaxed: only a guess for the CAS below, which checks it; nothing
        // is read through it.
        let mut top = self.top.load(Relaxed, unprotected);
        loop {
            // Relaxed: published by the Release CAS below.
            head.batch.store(top, Relaxed);
            // Release: pairs with the Acquire in `take_chain`; publishes the
            // chain's links and hands over every access its previous users
            // made (they happen-before this deferred call).
            match self.top.compare_exchange_weak(
                top,
                Shared::from(first.cast_const()),
                Release,
                Relaxed,
                unprotected,
            ) {
                Ok(_) => return,
                Err(lost) => top = lost.current,
            }
        }
    }

    /// Detaches every free chain and frees them after a grace period.
    /// `guard` must be pinned on the collector that retires this pool's
    /// nodes.
    fn shrink(&self, guard: &Guard) {
        // Acquire: pairs with the Release CAS in `push_chain`; the links of
        // the chains we walk later were written before it.
        let stack = self.top.swap(Shared::null(), Acquire, guard);
        if stack.is_null() {
            return;
        }
        let top = stack.as_raw().cast_mut();
        // SAFETY: (1) the detached stack is ours: never pushed back, its
        // values taken; (2) a pusher that loaded one of its chains as `top`
        // before our swap was pinned, so the deferred free waits for it, and
        // its CAS fails (the chain cannot be `top` again); (3) the closure
        // touches no `T`, so it may run on any thread, after `T`'s lifetime.
        // One word: stored inline, no allocation.
        unsafe { guard.defer_unchecked(move || Node::free_chains(top)) };
    }

    /// Drops one owner's count; the last one frees the pool and its nodes.
    ///
    /// # Safety
    /// The caller owns one count of `pool` and does not use `pool` after.
    unsafe fn release(pool: *const Self) {
        // SAFETY: the caller's count keeps the pool alive until here.
        let this = unsafe { &*pool };
        // AcqRel: the Release half makes our uses of the pool happen-before
        // whichever owner frees it; the Acquire half, for that last owner,
        // takes in everyone else's (the decrements form one release
        // sequence). Once per chain, so an RMW rather than `Arc`'s
        // fetch_sub-then-fence, which ThreadSanitizer cannot see.
        if this.owners.fetch_sub(1, AcqRel) != 1 {
            return;
        }
        // SAFETY: no owner is left: no pusher and no pending return can
        // touch the pool or its nodes, so no guard is needed.
        let unprotected = unsafe { crossbeam_epoch::unprotected() };
        // Relaxed: the AcqRel decrement above already made every owner's
        // writes (the links included) visible to us.
        let top = this.top.load(Relaxed, unprotected).as_raw().cast_mut();
        // SAFETY: the pool's nodes are live until freed here, once; their
        // values were taken before they were retired.
        unsafe { Node::free_chains(top) };
        // SAFETY: made by `Box::into_raw` in `Pool::new`; last owner.
        drop(unsafe { Box::from_raw(pool.cast_mut()) });
    }

    /// Hands a pusher cache's chain back (through the epoch: a stale pusher
    /// may still read its first node, see ABA) and gives up the count the
    /// cache held. `guard` must be pinned on the collector that retires this
    /// pool's nodes.
    ///
    /// # Safety
    /// The caller owns one count of `pool` (given up here) and the chain from
    /// `first` (null: empty), which ends in null and was taken whole or in
    /// part from this pool; neither is used after.
    unsafe fn return_cache(pool: *const Self, first: *mut Node<T>, guard: &Guard) {
        if first.is_null() {
            // SAFETY: the caller's count, given up once. If it is the last,
            // no pusher can be reading the pool (the queue holds a count
            // while it lives), so freeing it at once is safe.
            unsafe { Self::release(pool) };
            return;
        }
        // SAFETY: (1) the chain and the count are ours (contract) and move
        // into the closure, which gives both up once; (2) it runs after the
        // grace period a stale reader of `first` needs; (3) the closure
        // touches no `T` (only nodes whose values were taken), so it may run
        // on any thread, after `T`'s lifetime. Two words: stored inline.
        unsafe {
            guard.defer_unchecked(move || Self::give_back(pool, first, core::ptr::null_mut()));
        }
    }

    /// [`Pool::return_cache`] with its types erased, for the thread cache.
    ///
    /// # Safety
    /// As for [`Pool::return_cache`], `pool` being a `*const Pool<T>` and
    /// `first` a `*mut Node<T>`.
    #[cfg(feature = "std")]
    unsafe fn return_cache_erased(pool: *const (), first: *mut (), guard: &Guard) {
        // SAFETY: the caller's contract, with the types restored.
        unsafe { Self::return_cache(pool.cast(), first.cast(), guard) };
    }

    /// Takes a node from a pusher's cache (the chain from `*first`),
    /// refilling it with a chain from this pool when it is empty. `None`:
    /// both are empty, allocate.
    ///
    /// # Safety
    /// `*first` is null or a chain of this pool's nodes owned by the caller
    /// (taken by earlier calls with this pool); `guard` is pinned on the
    /// collector that retires this pool's nodes.
    unsafe fn take_cached(
        &self,
        first: &Cell<*mut Node<T>>,
        guard: &Guard,
    ) -> Option<*mut Node<T>> {
        let mut node = first.get();
        if node.is_null() {
            node = self.take_chain(guard)?;
        }
        // SAFETY: `node` heads a chain that is ours (contract, or just taken
        // whole by the Acquire CAS in `take_chain`).
        first.set(unsafe { Node::next_raw(node) });
        Some(node)
    }
}

/// The thread's cache of free nodes for plain [`MsQueue::push`]: a chain of
/// nodes taken whole from one queue's [`Pool`], used one per push. Types
/// are erased: one cache serves queues of every `T`, one queue at a time.
///
/// While it holds (or last held) a chain of a pool, it owns one of that
/// pool's counts, which keeps the pool's address from being reused by
/// another queue's pool while `pool` still names it.
#[cfg(feature = "std")]
struct ThreadCache {
    /// The pool the chain came from, or null.
    pool: Cell<*const ()>,
    /// The chain's first node, or null (a `*mut Node<T>` for that pool's
    /// `T`).
    first: Cell<*mut ()>,
    /// `Pool::<T>::return_cache_erased` for that pool's `T`.
    give_back: Cell<Option<ReturnCache>>,
    /// This thread's participant in the default collector for `push` and
    /// `pop`, registered at the first of them: pinning it here saves the
    /// lookup of crossbeam-epoch's own thread-local participant.
    local: core::cell::OnceCell<LocalHandle>,
}

/// How a [`ThreadCache`] hands its chain back: `Pool::<T>::return_cache`
/// with `T` erased.
#[cfg(feature = "std")]
type ReturnCache = unsafe fn(*const (), *mut (), &Guard);

#[cfg(feature = "std")]
impl ThreadCache {
    /// Pins this thread's participant (registering it on first use).
    #[cfg(not(freelane_loom))]
    #[inline]
    fn pin(&self) -> Guard {
        self.local
            .get_or_init(|| crossbeam_epoch::default_collector().register())
            .pin()
    }

    /// An empty cache.
    const fn new() -> Self {
        Self {
            pool: Cell::new(core::ptr::null()),
            first: Cell::new(core::ptr::null_mut()),
            give_back: Cell::new(None),
            local: core::cell::OnceCell::new(),
        }
    }

    /// A free node of `pool` for the calling push, from this cache or from a
    /// chain taken from `pool`; `None`: allocate. A cache holding another
    /// pool's chain hands it back through the epoch first. `guard` is pinned
    /// on the default collector, which every queue using this cache retires
    /// to (`std`). `pool` is the queue's own pointer (`MsQueue::pool`,
    /// from `Box::into_raw`), live while the caller's `&MsQueue` is: kept
    /// here, it is the one the pool may be freed through.
    #[inline]
    fn take<T>(&self, pool: *const Pool<T>, guard: &Guard) -> Option<*mut Node<T>> {
        let first = self.first.get().cast::<Node<T>>();
        if first.is_null() || self.pool.get() != pool.cast::<()>() {
            return self.refill(pool, guard);
        }
        // SAFETY: `first` heads this cache's chain of `pool`'s nodes (the
        // cache names `pool`), which only this thread touches.
        self.first.set(unsafe { Node::next_raw(first) }.cast());
        Some(first)
    }

    /// `take` when the cache is empty or holds another pool's chain: switch
    /// to `pool` if needed, then take a chain from it.
    #[cold]
    fn refill<T>(&self, pool_ptr: *const Pool<T>, guard: &Guard) -> Option<*mut Node<T>> {
        // SAFETY: live while the caller's `&MsQueue` is (see `take`).
        let pool = unsafe { &*pool_ptr };
        let pool_ptr = pool_ptr.cast::<()>();
        if self.pool.get() != pool_ptr {
            self.flush(guard);
            // Relaxed: the caller's `&MsQueue` keeps the pool alive while we
            // take the count, as in `Arc::clone`.
            pool.owners.fetch_add(1, Relaxed);
            self.pool.set(pool_ptr);
            self.give_back.set(Some(Pool::<T>::return_cache_erased));
        }
        let first = Cell::new(self.first.get().cast::<Node<T>>());
        // SAFETY: `first` is null or this cache's chain of `pool`'s nodes
        // (the cache names `pool`), and `guard` is on its collector.
        let node = unsafe { pool.take_cached(&first, guard) };
        self.first.set(first.get().cast());
        node
    }

    /// Hands the chain back to its pool through the epoch and gives up the
    /// pool's count, leaving the cache empty. `guard` is pinned on the
    /// default collector.
    fn flush(&self, guard: &Guard) {
        if let Some(give_back) = self.give_back.take() {
            let pool = self.pool.replace(core::ptr::null());
            let first = self.first.replace(core::ptr::null_mut());
            // SAFETY: this cache owned a count of `pool` and its chain (taken
            // by `take`); both are handed over once, as the fields are reset.
            unsafe { give_back(pool, first, guard) };
        }
    }

    /// Hands this cache's chain back if it came from `pool`, to be freed
    /// with `pool`'s free nodes (`shrink_to_fit`). `guard` as for `take`.
    #[cfg(not(freelane_loom))]
    fn shrink<T>(&self, pool: *const Pool<T>, guard: &Guard) {
        let first = self.first.get().cast::<Node<T>>();
        if self.pool.get() == pool.cast::<()>() && !first.is_null() {
            self.first.set(core::ptr::null_mut());
            // SAFETY: the chain is this cache's, taken from `pool`, and no
            // longer named by it; a stale pool reader may still load its
            // first node, so the free waits for a grace period. One word.
            unsafe { guard.defer_unchecked(move || Node::free_chain(first)) };
        }
    }
}

#[cfg(feature = "std")]
impl Drop for ThreadCache {
    /// The thread exits: hand the chain back and give up the count.
    fn drop(&mut self) {
        if let Some(local) = self.local.get() {
            self.flush(&local.pin());
        }
    }
}

/// Pins the calling thread's participant in the default collector: the
/// one in [`THREAD_CACHE`] (crossbeam-epoch's own if that thread-local is
/// gone, at thread exit, and under loom).
#[cfg(feature = "std")]
#[inline]
fn pin_thread() -> Guard {
    #[cfg(not(freelane_loom))]
    let guard = THREAD_CACHE
        .try_with(ThreadCache::pin)
        .unwrap_or_else(|_| crossbeam_epoch::pin());
    #[cfg(freelane_loom)]
    let guard = crossbeam_epoch::pin();
    guard
}

// Not under loom: loom drops a thread's locals in an unspecified order (a
// `HashMap`'s), and this destructor pins, as crossbeam-epoch's own does, so
// the explored executions would differ from run to run. Under loom each
// plain push uses a cache for the one call instead (`MsQueue::push`).
#[cfg(all(feature = "std", not(freelane_loom)))]
crate::sync::thread_local! {
    /// This thread's cache of free nodes for plain `push`.
    static THREAD_CACHE: ThreadCache = const { ThreadCache::new() };
}

/// An unbounded lock-free multi-producer multi-consumer FIFO queue: the
/// Michael–Scott queue with crossbeam-epoch reclamation.
///
/// Each element lives in a node of a linked list. A pop retires its node and
/// the queue recycles it (in batches, after a grace period) for later pushes,
/// which allocate only when no recycled node is at hand. Memory therefore
/// follows the queue's peak length, as a `Vec`'s capacity does;
/// [`shrink_to_fit`](MsQueue::shrink_to_fit) gives it back.
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
/// # Reclamation and recycling
/// A pop *retires* the node it moves `head` past (the old sentinel). The
/// node is reused only after a grace period of crossbeam-epoch: once every
/// thread that was pinned when it was retired has unpinned, none can still
/// hold its address (the module's ABA section says why that matters).
///
/// - **Values.** A pop moves the value out of the new sentinel (a bitwise
///   read: the popper owns it from then on). Nodes hold their value in a
///   `MaybeUninit`, so recycling or freeing a node never drops a `T`.
/// - **Batches.** `head` moves one node at a time, so the pop that retires
///   the last of 32 consecutive nodes (a *batch*, found through each node's
///   pointer to its batch's first node) knows all 32 are unlinked, and defers
///   one function for them: one deferral and one reference count update per
///   32 pops, and the closure's three words fit in crossbeam-epoch's inline
///   slot, so retiring allocates nothing.
/// - **Pool.** After the grace period the function pushes the batch, still
///   linked, onto the queue's pool of free nodes: a Treiber stack of chains,
///   one CAS per chain.
/// - **Caches.** A pusher takes a whole chain off the pool with one CAS and
///   then uses it one node per push from a private cache: the thread's own
///   for the plain `push` (under `std`; one queue at a time, pushing to another
///   queue hands the rest back), the handle's for [`MsQueueHandle::push`].
///   The pool was a third contended CAS per push beside `next` and `tail`
///   (a quarter of the push's profile samples at 2p2c); now it is one per 32
///   pushes. Only when cache and pool are both empty does a push allocate.
///   A thread's cache goes back when the thread exits or switches queues, a
///   handle's when the handle drops.
/// - **ABA of the pool.** A pusher P loads the top chain `A` and the chain
///   under it, `B`, and is about to CAS the top from `A` to `B`. If `A` could
///   leave and come back meanwhile, P's stale CAS would succeed:
///
///   ```text
///   P (pinned)                    Q
///   load top = A, A.below = B
///                                 take A (top = B), take B (top = C)
///                                 hand A straight back (top = A)
///   CAS top A -> B succeeds:
///   B is on top and in Q's hands
///   ```
///
///   So nothing ever goes straight back: every way back to the pool (a
///   popped batch, a cache handed back at a switch, a thread exit or a
///   handle's drop) and every free of a node that was in the pool
///   ([`shrink_to_fit`](MsQueue::shrink_to_fit), a queue that is gone) is a
///   function deferred to crossbeam-epoch after the node left the pool,
///   which cannot run while P, pinned since before `A` left, is still
///   pinned. Then `top == A` at P's CAS means `A` never left, and `A.below`
///   is still `B`. No tags or counters are needed.
/// - **Memory.** The pool keeps every node it gets back, so memory follows
///   the queue's peak length, plus the batches still in their grace period
///   and up to 31 nodes in each thread's or handle's cache; a run of pushes
///   and pops of any length holds bounded memory. `shrink_to_fit` frees the
///   pool and the calling thread's (or handle's) cache. A cap on the pool
///   (freeing batches beyond 8192 nodes) was tried: the oversubscribed
///   benchmark's queue swings by more than 100 000 elements, and freeing and
///   reallocating the swing put `malloc`/`free` back at half the profile.
///   Dropping the queue frees its nodes and its pool at once; chains still
///   in other threads' caches or in their grace period are freed when they
///   come back (the pool's header, a few hundred bytes, waits for the last).
/// - **A preempted thread.** A thread descheduled while pinned (in any
///   user of the default collector) stops the epoch: no retired batch comes
///   back until it runs again. In a tight loop of pushes and pops a thread is
///   pinned nearly all the time, so most preemptions land there. The pool
///   then runs dry and pushes allocate; once the stall ends, the pool keeps
///   those nodes, so a later stall allocates only beyond the longest one so
///   far. Measured on 2 cores (x86-64, glibc), one thread pinned for 20 ms
///   while another ran push+pop pairs: nearly every push of the first stall
///   allocated (140 557 allocations in 143 000 pairs, under a counting
///   allocator), and a pair took about twice the CPU time (83 to 108 ns
///   against 44 to 55 ns unstalled, without it); the next stall allocated
///   only its excess over the first. With 4 and 8 threads on 2 cores (half
///   pushing, half popping, 2 M pushes each), the nodes allocated reached 2
///   to 3.6 times the largest queue length seen: the rest were waiting for
///   preempted threads.
///   crossbeam's `SegQueue` frees its blocks without a grace period and
///   does not pay this.
/// - **Cost.** Instructions per push+pop pair on one thread (callgrind,
///   x86-64, glibc, steady state, one loop calling `push` then `pop`), and
///   the locked instructions (CAS, fetch-add, pin) among them:
///
///   | version | `push`/`pop` | through a handle | locked |
///   |---|---|---|---|
///   | pool CAS per push, crossbeam's thread-local participant | 160 | 149 | 6 + 3/32 |
///   | chain caches, the thread's own participant (now) | 180 | 143 | 5 + 4/32 |
///   | crossbeam `SegQueue` (no epoch) | 144 | – | 4 |
///
///   A pair on the plain path reads two thread-locals either way (before,
///   crossbeam-epoch's participant in each `pin`; now the thread cache,
///   which holds the participant, in each call), and the cache's checks
///   (which queue, lazy registration) cost more instructions than the pool's
///   CAS did; the handle reads none. Fewer locked instructions matter more:
///   thread CPU time per pair went from 54 to 44 ns (median of 8 runs;
///   `SegQueue` 39 ns). The two pins stay: each operation must be pinned
///   from its first load to its last CAS, and a pin is a SeqCst
///   compare-exchange on the thread's participant.
///
/// # Back-off
/// A push whose CAS of `next` fails, or a pop whose CAS of `head` fails, has
/// lost to another operation on the same end. Under `std` it then spins
/// 4096 `pause`s (about 40 µs on this project's 2-core VM) before it tries
/// again, so that the winner runs a series of operations with `tail` (or
/// `head`) and the last (or first) node in its own cache, instead of the
/// two threads handing those lines over on every operation. A push spins
/// so at its first loss only; if it loses again it retries after
/// crossbeam's short `Backoff`, so that no push waits more than one long
/// spin. A pop spins at every loss, except one whose loss left the queue
/// empty, which retries at once (and reports it empty): its spin would only
/// delay that answer. After its spin a pop yields its core
/// (`std::thread::yield_now`), as `SegmentedQueue`'s pops do and for the
/// same reason ("Both ends back off" there): two pops race only while both
/// run, so with more threads than cores the pushers are the ones waiting
/// for a core. Two runs of 5 rounds of each build alternating: two pushers
/// and two pops 21.0–21.6 million elements a second before the yield,
/// 31.3–32.7 after (0.53–0.64× `SegQueue` to 0.65–0.76×), four and four
/// 21.6–23.9 and 27.5–28.8; pop-only throughput unchanged (62–68 at 2, 4
/// and 8 threads), its fairness at 8 threads 0.05–0.19 against 0.25–0.30,
/// and the push-to-pop latency unchanged (p50 456–459 ns at two and two,
/// against 454–463).
///
/// The spin holds no lock and nothing another operation waits for, so the
/// queue stays lock-free: it delays the losing thread only. The thread
/// unpins for the spin (it dereferences nothing it loaded before, and its
/// new node is still its own), so that the spin does not hold back the
/// epoch and with it the recycling of retired nodes. Against a pinned spin
/// this measured no difference in throughput, nor in allocations under a
/// counting allocator (2p2c and 4p4c, 2 M pushes per producer: 1.3–1.9
/// allocations per node of the largest queue length seen, either way).
/// Without `std` (where an operation may run in an interrupt handler) and
/// under loom it retries at once.
///
/// Measured side by side with the build that spun crossbeam's short
/// `Backoff` instead (`cargo run --release --example contention --
/// --throughput --filter msqueue/ --threads 1,2,4,8`, two runs of 5 rounds
/// of each build alternating), in million elements a second:
///
/// | workload | before | after |
/// |---|---|---|
/// | mpmc, 2 pushers and 2 pops | 6.5–6.8 (0.17–0.20× `SegQueue`) | 22.0–22.4 (0.53–0.63×) |
/// | mpmc, 4 and 4 | 8.6–9.1 | 20.8–22.3 |
/// | push-only, 2 / 4 / 8 threads | 4.9–6.4 | 24.1–27.5 |
/// | pop-only, 2 / 4 / 8 threads | 11.5–16.1 | 57.1–82.1 |
///
/// One thread, and one pusher with one pop, never lose such a race and ran
/// as before; so did the latency section's push-to-pop times (p50 480 and
/// 493 ns at 1p1c). The price is fairness: the losers wait while the winner
/// runs, so with 8 threads popping the thread that popped least got 0.15×
/// what the one that popped most got (0.55–0.75× before), the report's
/// fairness column. Only the pushes backing off gave 9.4–16.4 at 2p2c; a
/// spin after a push that had lost and then succeeded, tried earlier, made
/// things worse (push-only 5.0–5.6 to 2.2–2.5). Limiting the long spin to
/// a push's first loss kept its throughput and lifted push-only fairness
/// from 0.32–0.92 to 0.77–0.98 (2, 4, 8 threads, two runs of 5 rounds of
/// each build alternating, mpmc unchanged within its spread); the same
/// limit on pops cut pop-only at 4 and 8 threads from 57–65 to 15–28
/// million pops a second (for fairness 0.80–0.95 against 0.23–0.68), so
/// pops keep the spin at every loss. Skipping the pop's spin when the queue
/// is left empty made no difference there (mpmc 2p2c 22.3–24.9 against
/// 23.1–23.5, two runs each).
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
    /// Recycled nodes; this queue owns one of its counts.
    pool: *const Pool<T>,
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
// under a guard (see the module's ABA section and the type's "Reclamation
// and recycling"), the pool is only
// touched through atomics and by owners of the nodes it hands out, and the
// collector (without `std`) is `Send + Sync`.
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
        let sentinel = Node::<T>::alloc(MaybeUninit::uninit());
        let sentinel = Shared::from(sentinel.cast_const());
        // SAFETY: the node is fresh and ours alone.
        let node = unsafe { sentinel.deref() };
        // Index 0 starts a batch, so the sentinel is its own batch's first
        // node. Relaxed: published with the queue itself.
        node.batch.store(sentinel, Relaxed);
        Self {
            head: CachePadded::new(Atomic::from(sentinel)),
            tail: CachePadded::new(Atomic::from(sentinel)),
            pool: Pool::new(),
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
    #[inline]
    pub fn push(&self, value: T) {
        // Pinned on this thread's participant, with a node from its cache
        // (no shared write) or `None`: allocate. If the thread-local is gone
        // (a push from another thread-local's destructor at thread exit),
        // crossbeam-epoch's `pin` and a fresh node.
        #[cfg(not(freelane_loom))]
        let (guard, node) = THREAD_CACHE
            .try_with(|cache| {
                let guard = cache.pin();
                let node = cache.take(self.pool, &guard);
                (guard, node)
            })
            .unwrap_or_else(|_| (crossbeam_epoch::pin(), None));
        // Under loom, a cache for this call only (see `THREAD_CACHE`): the
        // same take, then the rest of the chain handed back at once.
        #[cfg(freelane_loom)]
        let (guard, node) = {
            let guard = crossbeam_epoch::pin();
            let cache = ThreadCache::new();
            let node = cache.take(self.pool, &guard);
            cache.flush(&guard);
            (guard, node)
        };
        let mut guard = guard;
        self.push_pinned(node, value, &mut guard);
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
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.pop_pinned(&mut pin_thread())
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

    /// Frees the nodes the queue keeps for reuse.
    ///
    /// Popped nodes are not freed but recycled: they return to the queue's
    /// pool (after a grace period) and later pushes take them instead of
    /// allocating. So after a burst the queue keeps memory for its peak
    /// length, as a `Vec` keeps its capacity; this gives that memory back.
    /// The nodes are freed once no thread can still be reading them (a
    /// grace period, as for any retired node), and nodes still on their way
    /// back to the pool are kept. Values in the queue are not touched.
    ///
    /// Without `std` this registers a temporary epoch participant; prefer
    /// [`MsQueueHandle::shrink_to_fit`] there.
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// for i in 0..10_000 {
    ///     queue.push(i);
    /// }
    /// while queue.pop().is_some() {}
    /// queue.shrink_to_fit();
    /// queue.push(1); // allocates a node again
    /// assert_eq!(queue.pop(), Some(1));
    /// ```
    pub fn shrink_to_fit(&self) {
        self.with_guard(|guard| {
            self.pool().shrink(guard);
            #[cfg(all(feature = "std", not(freelane_loom)))]
            let _ = THREAD_CACHE.try_with(|cache| cache.shrink(self.pool, guard));
        });
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
            cache: Cell::new(core::ptr::null_mut()),
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
        let result = f(&pin_thread());
        #[cfg(not(feature = "std"))]
        let result = f(&self.register().pin());
        result
    }

    /// The pool of recycled nodes.
    fn pool(&self) -> &Pool<T> {
        // SAFETY: the queue owns a count of its pool until it drops.
        unsafe { &*self.pool }
    }

    /// Hands the batch `first ..= last` of retired nodes back to the pool
    /// once no thread pinned now can still hold one of them.
    ///
    /// `last` was just unlinked by the caller's `head` CAS, and every node
    /// before it in its batch by earlier `head` CASes (head moves one node
    /// at a time, in index order). A thread that can reach one of them was
    /// pinned before its unlinking, so before this call, and crossbeam-epoch
    /// runs the deferred function only after every such thread unpinned.
    #[cold]
    fn retire_batch(&self, first: *mut Node<T>, last: *mut Node<T>, guard: &Guard) {
        // Relaxed: the queue's own count keeps the pool alive here, as in
        // `Arc::clone`.
        self.pool().owners.fetch_add(1, Relaxed);
        let pool = self.pool;
        // SAFETY: (1) the closure touches only the pool (kept alive by the
        // count just taken, which it gives up) and nodes whose values were
        // taken, never a `T`, so it may run after `T`'s lifetime and on any
        // thread; (2) the chain is unlinked, each node retired exactly once
        // by the pop that unlinked it and returned only here; (3) it runs
        // after the grace period argued above. Three words: crossbeam-epoch
        // stores it inline, without allocating.
        unsafe { guard.defer_unchecked(move || Pool::give_back(pool, first, last)) };
    }

    /// The push algorithm: links `node` (a free node of this queue's pool,
    /// owned by the caller; `None`: allocate one) holding `value`. `guard`
    /// must be pinned on this queue's collector.
    #[inline]
    fn push_pinned(&self, node: Option<*mut Node<T>>, value: T, guard: &mut Guard) {
        let node = match node {
            Some(node) => {
                // SAFETY: the caller's node: unlinked, its old value taken,
                // and no other thread writes it (stale pool readers only
                // load its atomic `next` and `batch`).
                unsafe { (*node).value.with_mut(|slot| (*slot).write(value)) };
                node
            }
            None => Node::alloc(MaybeUninit::new(value)),
        };
        // SAFETY: ours until published (see above).
        let node_ref = unsafe { &*node };
        // Relaxed: published by the Release CAS of `next` below. A pool
        // node's `next` still names the next free node.
        node_ref.next.store(Shared::null(), Relaxed);
        let node = Shared::from(node.cast_const());
        // Whether this push has already lost a race, and backed off long.
        let mut lost_before = false;
        let backoff = Backoff::new();
        loop {
            // Acquire: pairs with the Release CASes of `tail` (here and in
            // `pop_pinned`); publishes the node's `index` and `batch`.
            let tail = self.tail.load(Acquire, guard);
            // SAFETY: (1) `tail` is never null (invariant 1); (2) it points at
            // a node that is not retired (invariant 3), or that was retired
            // after we pinned, which cannot be freed or reused while `guard`
            // lives.
            let last = unsafe { tail.deref() };
            // SAFETY: `last` was published before we loaded it and its
            // `index` and `batch` are not written while it is reachable.
            let index = unsafe { last.index() }.wrapping_add(1);
            let batch = if index % BATCH == 0 {
                node
            } else {
                // Relaxed: written before `last` was published, which our
                // Acquire load of `tail` synchronized with.
                last.batch.load(Relaxed, guard)
            };
            // SAFETY: the node is still ours: only the CAS below publishes it.
            node_ref.index.with_mut(|slot| unsafe { *slot = index });
            // Relaxed: published by the Release CAS below.
            node_ref.batch.store(batch, Relaxed);
            // The CAS goes straight at `last.next`, without loading it first:
            // a load would fetch the cache line shared and the CAS then own
            // it, two transfers where one will do. If `tail` lags, the CAS
            // fails and returns the successor to help with.
            //
            // Release: pairs with the Acquire loads of `next` in pop and the
            // Acquire failure here; publishes the value, index and batch
            // written into the node. Linearization point. Acquire on failure:
            // we pass the successor on to `tail` below, so we must have
            // acquired its contents.
            match last
                .next
                .compare_exchange(Shared::null(), node, Release, Acquire, guard)
            {
                Ok(linked) => {
                    // Release: pairs with the Acquire loads of `tail`; passes
                    // on the node's contents. Failure means a helper already
                    // moved `tail` on.
                    let _ = self
                        .tail
                        .compare_exchange(tail, linked, Release, Relaxed, guard);
                    return;
                }
                Err(lost) => {
                    // `tail` lags: help the pusher that linked `lost.current`.
                    // Release: as above. Failure: someone else helped.
                    let _ = self
                        .tail
                        .compare_exchange(tail, lost.current, Release, Relaxed, guard);
                    // Another push linked first: let it run a series of
                    // pushes before trying again (`BACK_OFF_PAUSES`), once
                    // per push; after that, crossbeam's short spin (see
                    // "Back-off" on `MsQueue`). The node is still ours, and
                    // nothing loaded above is used after the spin.
                    if lost_before {
                        backoff.spin();
                    } else {
                        back_off_unpinned::<false>(guard);
                        lost_before = true;
                    }
                }
            }
        }
    }

    /// The pop algorithm; `guard` must be pinned on this queue's collector.
    #[inline]
    fn pop_pinned(&self, guard: &mut Guard) -> Option<T> {
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
            // Invariant 3 wants `tail` past `head` before our CAS retires
            // `head`. If `first` already has a successor, it is: the push
            // that linked it had loaded `tail == first`, and that `tail`
            // store happens-before this Acquire load (Release CAS of `tail`,
            // Acquire load in that push, Release CAS of `next`, here). Then
            // we need not touch `tail` at all, which keeps consumers of a
            // queue that is not nearly empty off the producers' cache line.
            if first.next.load(Acquire, guard).is_null() {
                // Relaxed: only compared, never dereferenced. It cannot be
                // older than the `tail` seen by the pop that made `head` the
                // sentinel (coherence after the Acquire load of `head`), and
                // that was at or past `head`.
                let tail = self.tail.load(Relaxed, guard);
                if tail == head {
                    // `tail` still points at the sentinel we are about to
                    // retire: move it on first (invariant 3). Release: as in
                    // `push_pinned`; passes on `first`'s contents. On failure
                    // another thread has already moved it past `head`.
                    let _ = self
                        .tail
                        .compare_exchange(tail, next, Release, Relaxed, guard);
                }
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
                // SAFETY: `head` is unlinked (`head` and `tail` are past it,
                // invariant 3) by our CAS, so it is retired; we only read its
                // `index` and `batch`, fixed since it was published.
                if unsafe { sentinel.index() } % BATCH == BATCH - 1 {
                    // Relaxed: written before `head` was published, which our
                    // Acquire load of `head` synchronized with.
                    let first = sentinel.batch.load(Relaxed, guard);
                    self.retire_batch(first.as_raw().cast_mut(), head.as_raw().cast_mut(), guard);
                }
                return Some(value);
            }
            // Another pop moved `head` first: as in `push_pinned`, unless
            // that emptied the queue (the retry will then report it at once;
            // a spin would only delay the answer, and keep pushers off the
            // core when threads outnumber cores).
            if !self.is_empty_pinned(guard) {
                // Nothing loaded above is used after the spin.
                back_off_unpinned::<true>(guard);
            }
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
        // SAFETY: both nodes are reachable or were retired after we pinned,
        // so their `index` is not being rewritten.
        let len = unsafe { tail.index().wrapping_sub(head.index()) };
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
        // Relaxed here and below: `&mut self` means every other thread's
        // use of the queue happens-before this drop.
        let head = self.head.load(Relaxed, guard).as_raw().cast_mut();
        // The nodes of the sentinel's batch before it were unlinked but
        // their batch was never handed back (that waits for the batch's last
        // node): free them here. They are linked through `next` up to `head`.
        // SAFETY: `head` is live; its `batch` was set when it was linked.
        let mut node = unsafe { &*head }
            .batch
            .load(Relaxed, guard)
            .as_raw()
            .cast_mut();
        while node != head {
            // SAFETY: a node of this partial batch: unlinked, not handed
            // back, reachable by no one (`&mut self`); freed once here.
            let next = unsafe { &*node }.next.load(Relaxed, guard);
            // SAFETY: as above.
            unsafe { Node::free(node) };
            node = next.as_raw().cast_mut();
        }
        let mut is_sentinel = true;
        while !node.is_null() {
            // SAFETY: every linked node is live: we start at `head`.
            let next = unsafe { &*node }.next.load(Relaxed, guard);
            if !is_sentinel {
                // SAFETY: a node after the sentinel holds an initialized value
                // that no pop took; it is dropped here exactly once.
                unsafe { &*node }
                    .value
                    .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
            }
            // SAFETY: the node is linked, so not retired: we free it exactly
            // once, and nothing refers to it after this loop.
            unsafe { Node::free(node) };
            is_sentinel = false;
            node = next.as_raw().cast_mut();
        }
        let pool = self.pool();
        // Chains returned from now on are freed, not kept: a thread cache
        // may keep the pool itself alive for a while. Relaxed: a hint (see
        // `Pool::give_back`).
        pool.queue_gone.store(true, Relaxed);
        // Acquire: pairs with the Release CAS in `push_chain`; a chain may
        // have been returned by a deferred function on another thread.
        let free = pool.top.swap(Shared::null(), Acquire, guard);
        // SAFETY: the pool's free chains are reachable by no one: a stale
        // pool reader is a push on this queue, and none runs (`&mut self`).
        unsafe { Node::free_chains(free.as_raw().cast_mut()) };
        // SAFETY: the queue's own count, given up once; chains still on
        // their way back and thread caches keep the pool alive until they
        // give theirs up.
        unsafe { Pool::release(self.pool) };
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
    /// This handle's free nodes: a chain taken whole from the queue's pool,
    /// used one per push; null when empty.
    cache: Cell<*mut Node<T>>,
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
        let mut guard = self.local.pin();
        // SAFETY: the cache holds only chains taken from this queue's pool
        // (here), and `guard` is on the queue's collector.
        let node = unsafe { self.queue.pool().take_cached(&self.cache, &guard) };
        self.queue.push_pinned(node, value, &mut guard);
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
        self.queue.pop_pinned(&mut self.local.pin())
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

    /// Frees the nodes the queue keeps for reuse, as
    /// [`MsQueue::shrink_to_fit`] (without its temporary registration).
    ///
    /// ```
    /// use freelane::MsQueue;
    ///
    /// let queue = MsQueue::new();
    /// let handle = queue.handle();
    /// handle.push(1);
    /// assert_eq!(handle.pop(), Some(1));
    /// handle.shrink_to_fit();
    /// assert!(handle.is_empty());
    /// ```
    pub fn shrink_to_fit(&self) {
        let guard = self.local.pin();
        self.queue.pool().shrink(&guard);
        let first = self.cache.replace(core::ptr::null_mut());
        if !first.is_null() {
            // SAFETY: the chain was this handle's, taken from the queue's
            // pool; a stale pool reader may still load its first node, so the
            // free waits for a grace period. The closure touches no `T`.
            unsafe { guard.defer_unchecked(move || Node::free_chain(first)) };
        }
    }
}

impl<T> Drop for MsQueueHandle<'_, T> {
    /// Hands the handle's cached nodes back to the queue's pool, through the
    /// epoch (before the participant itself unregisters).
    fn drop(&mut self) {
        let first = self.cache.replace(core::ptr::null_mut());
        if first.is_null() {
            return;
        }
        // Relaxed: the queue, alive while the handle borrows it, keeps the
        // pool alive while we take the count, as in `Arc::clone`.
        self.queue.pool().owners.fetch_add(1, Relaxed);
        // SAFETY: the count just taken and the handle's chain of the queue's
        // pool, handed over once (the cache was emptied above); the guard is
        // on the queue's collector.
        unsafe { Pool::return_cache(self.queue.pool, first, &self.local.pin()) };
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
