//! The ring's value cells: where they live, the pool of free ones, and the
//! spare cell each thread brings to an operation.
//!
//! The ring never moves a value between cells. A push writes its value into
//! a cell it owns (its *spare*), then a compare-and-swap on the slot word
//! trades that cell for the slot's empty one, which becomes its next spare;
//! a pop trades its spare for the slot's full cell and moves the value out.
//! A cell therefore always has exactly one owner: a slot, a thread's spare,
//! or the pool. The design and its invariants are on
//! [`RingBuffer`](super::RingBuffer) ("Cells and spares").
//!
//! Sections: `Chunk` and `Cells` (the arena and its free bitmap, grown a
//! chunk at a time), `Spare` (where a thread keeps its spare: a per-ring
//! thread-local under `std`, the pool otherwise).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem::MaybeUninit;
use core::ptr;

use super::word::{MAX_SPARES, Word};
use crate::sync::UnsafeCell;
use crate::sync::atomic::{
    AtomicPtr, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

/// Spare cells allocated with the ring (beyond its `capacity` slot cells):
/// enough for four threads before the first extra chunk. A power of two;
/// extra chunk `j` holds `FIRST_SPARES << j` cells.
const FIRST_SPARES: usize = 4;

/// Extra chunks, enough to reach [`MAX_SPARES`] spare cells.
const EXTRA_CHUNKS: usize = (MAX_SPARES / FIRST_SPARES).trailing_zeros() as usize;

/// Bits in a word of a free bitmap.
const BITS: usize = usize::BITS as usize;

/// One allocation of cells and its free bitmap (bit set: the cell is in the
/// pool).
struct Chunk<T> {
    cells: Box<[UnsafeCell<MaybeUninit<T>>]>,
    free: Box<[AtomicUsize]>,
}

impl<T> Chunk<T> {
    /// `len` uninitialized cells, the first `pooled` of them free, or `None`
    /// if the allocator refuses.
    fn try_new(len: usize, pooled: core::ops::Range<usize>) -> Option<Self> {
        let mut cells = Vec::new();
        cells.try_reserve_exact(len).ok()?;
        cells.extend((0..len).map(|_| UnsafeCell::new(MaybeUninit::uninit())));
        let words = len.div_ceil(BITS);
        let mut free = Vec::new();
        free.try_reserve_exact(words).ok()?;
        free.extend((0..words).map(|word| {
            // The bits of `pooled` that fall in this word.
            let (low, high) = (word * BITS, (word + 1) * BITS);
            let from = pooled.start.clamp(low, high) - low;
            let to = pooled.end.clamp(low, high) - low;
            let ones = |n: usize| if n == BITS { usize::MAX } else { (1 << n) - 1 };
            AtomicUsize::new(ones(to) & !ones(from))
        }));
        Some(Self {
            cells: cells.into_boxed_slice(),
            free: free.into_boxed_slice(),
        })
    }
}

/// Every cell of one ring: `capacity` for the slots and `FIRST_SPARES`
/// spares in the first chunk, more spares in extra chunks allocated when
/// the pool runs dry, each twice the size of the one before.
///
/// Cell `i < capacity + FIRST_SPARES` is in the first chunk; for larger `i`,
/// with `r = i - capacity`, extra chunk `j = log2(r / FIRST_SPARES)` at
/// offset `r - (FIRST_SPARES << j)`.
pub(super) struct Cells<T> {
    capacity: usize,
    first: Chunk<T>,
    /// Extra chunk `j`, null until allocated; set once (CAS from null), freed
    /// with the ring.
    extra: [AtomicPtr<Chunk<T>>; EXTRA_CHUNKS],
    /// Where the pool's search starts: the last cell put back (a hint).
    search_from: AtomicUsize,
    /// This thread's spare, under `std` (see `Home`, `Spare`).
    #[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
    spares: thread_local::ThreadLocal<crate::sync::CachePadded<Home>>,
    /// This ring's key in the thread's one-entry cache of `spares` lookups
    /// (`last_spare`): never 0, never reused.
    #[cfg(all(
        feature = "std",
        not(freelane_loom),
        not(freelane_spare_pool),
        target_has_atomic = "64"
    ))]
    key: u64,
    /// Under loom, which ring this is, for the stand-in thread-local (see
    /// `Spare`).
    #[cfg(all(feature = "std", freelane_loom, not(freelane_spare_pool)))]
    id: usize,
}

/// "No cell" in a thread's spare slot.
const NO_CELL: usize = usize::MAX;

/// What a thread keeps for one ring between its operations, under `std`:
/// its spare cell. Each sits in a `CachePadded` in `Cells::spares`:
/// `ThreadLocal` keeps the entries of neighbouring thread ids side by side,
/// and every operation writes here, so unpadded, two threads working on the
/// ring shared a written line (no change measured on the 2-vCPU VM, but
/// nothing to gain from it).
#[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
pub(super) struct Home {
    /// The spare cell, or `NO_CELL` before the thread's first operation.
    spare: core::cell::Cell<usize>,
}

impl<T> Cells<T> {
    /// The cells of a ring of `capacity` slots: cells `0..capacity` start in
    /// the slots (cell `k` in the slot of lap 0's `k`-th position), the first
    /// spares in the pool. `None` if the allocator refuses.
    pub(super) fn try_new(capacity: usize) -> Option<Self> {
        let first_len = capacity.checked_add(FIRST_SPARES)?;
        Some(Self {
            capacity,
            first: Chunk::try_new(first_len, capacity..first_len)?,
            extra: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            search_from: AtomicUsize::new(capacity),
            #[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
            spares: thread_local::ThreadLocal::new(),
            #[cfg(all(
                feature = "std",
                not(freelane_loom),
                not(freelane_spare_pool),
                target_has_atomic = "64"
            ))]
            key: last_spare::new_key(),
            #[cfg(all(feature = "std", freelane_loom, not(freelane_spare_pool)))]
            id: crate::sync::unique_id(),
        })
    }

    /// Extra chunk `j`'s cells start at this index.
    fn extra_base(&self, j: usize) -> usize {
        self.capacity + (FIRST_SPARES << j)
    }

    /// The chunk holding cell `index` and the offset in it, or `None` if
    /// that chunk is not allocated.
    #[inline(always)]
    fn locate(&self, index: usize) -> Option<(&Chunk<T>, usize)> {
        if index < self.first.cells.len() {
            return Some((&self.first, index));
        }
        self.locate_extra(index)
    }

    #[cold]
    fn locate_extra(&self, index: usize) -> Option<(&Chunk<T>, usize)> {
        let r = index - self.capacity;
        let j = (r / FIRST_SPARES).ilog2() as usize;
        // Acquire: pairs with the Release CAS in `grow`; the chunk's cells
        // and bitmap are initialized before its pointer is published.
        let chunk = self.extra.get(j)?.load(Acquire);
        // SAFETY: a non-null pointer in `extra` came from `Box::into_raw` in
        // `grow` and is freed only by `drop`, which has `&mut self`.
        let chunk = unsafe { chunk.as_ref() }?;
        Some((chunk, index - self.extra_base(j)))
    }

    /// The cell `index`, for the one thread that owns it.
    ///
    /// # Safety
    /// `index` names a cell of this ring: it was read from a slot word or
    /// taken from the pool (both only ever hold existing cells). The caller
    /// accesses the cell only while it owns it (see the module docs).
    #[inline(always)]
    pub(super) unsafe fn cell(&self, index: usize) -> &UnsafeCell<MaybeUninit<T>> {
        debug_assert!(self.locate(index).is_some(), "cell {index} does not exist");
        match self.locate(index) {
            Some((chunk, offset)) => {
                // SAFETY: `locate` returned an offset inside the chunk.
                unsafe { chunk.cells.get_unchecked(offset) }
            }
            // SAFETY: the caller promises the cell exists, so its chunk is
            // allocated (chunks are never freed while the ring lives).
            None => unsafe { core::hint::unreachable_unchecked() },
        }
    }

    /// Puts the caller's cell `index` back in the pool. (Under `std` a
    /// thread keeps its spare instead, so nothing returns to the pool.)
    #[cfg_attr(all(feature = "std", not(freelane_spare_pool)), allow(dead_code))]
    pub(super) fn put(&self, index: usize) {
        let (chunk, offset) = self.locate(index).expect("a pooled cell exists");
        // Release: pairs with the Acquire `fetch_and` in `take`; the last
        // owner's accesses to the cell (moving a value out) happen-before
        // the next owner's (writing one in).
        chunk.free[offset / BITS].fetch_or(1 << (offset % BITS), Release);
        // Relaxed: only where the next search starts.
        self.search_from.store(index, Relaxed);
    }

    /// Takes a cell out of the pool, growing the arena if the pool is empty.
    /// The caller owns the cell until it gives it away.
    pub(super) fn take(&self) -> usize {
        loop {
            if let Some(index) = self.search() {
                return index;
            }
            if let Some(index) = self.grow() {
                return index;
            }
            // Every spare the cell field can name is held by some thread
            // (`MAX_SPARES` threads at once): wait for one to come back.
            crate::sync::spin_loop();
            #[cfg(feature = "std")]
            crate::sync::thread::yield_now();
        }
    }

    /// One pass over the free bitmaps: the chunk holding the hint from the
    /// hint's word on, then every chunk from the start.
    fn search(&self) -> Option<usize> {
        // Relaxed: a hint; the `fetch_and` in `claim_in` decides.
        let start = self.search_from.load(Relaxed);
        if let Some((chunk, offset)) = self.locate(start) {
            let base = start - offset;
            for word in offset / BITS..chunk.free.len() {
                if let Some(bit) = Self::claim_in(&chunk.free[word]) {
                    return Some(base + word * BITS + bit);
                }
            }
        }
        // Extra chunks are allocated in order (`grow` takes the first
        // empty entry), so the allocated ones are a prefix.
        let chunks = core::iter::once((0, &self.first)).chain((0..EXTRA_CHUNKS).map_while(|j| {
            let base = self.extra_base(j);
            self.locate(base).map(|(chunk, _)| (base, chunk))
        }));
        for (base, chunk) in chunks {
            for (word, free) in chunk.free.iter().enumerate() {
                if let Some(bit) = Self::claim_in(free) {
                    return Some(base + word * BITS + bit);
                }
            }
        }
        None
    }

    /// Claims one set bit of a free word, if it has one.
    fn claim_in(free: &AtomicUsize) -> Option<usize> {
        // Relaxed: a look; the `fetch_and` decides and synchronizes.
        let mut bits = free.load(Relaxed);
        while bits != 0 {
            let bit = bits.trailing_zeros() as usize;
            // Acquire: pairs with the Release `fetch_or` in `put` (or the
            // chunk's publication): the previous owner is done with the cell.
            let before = free.fetch_and(!(1 << bit), Acquire);
            if before & (1 << bit) != 0 {
                return Some(bit);
            }
            bits = before & !(1 << bit);
        }
        None
    }

    /// Allocates the next extra chunk with all its cells pooled but the
    /// first, which it returns. `None` if another thread grew first (search
    /// again) or no chunk is left.
    #[cold]
    fn grow(&self) -> Option<usize> {
        // Acquire: as in `locate_extra`.
        let j = self
            .extra
            .iter()
            .position(|chunk| chunk.load(Acquire).is_null())?;
        let len = FIRST_SPARES << j;
        let chunk = Chunk::try_new(len, 1..len).unwrap_or_else(|| {
            alloc::alloc::handle_alloc_error(core::alloc::Layout::array::<T>(len).unwrap())
        });
        let chunk = Box::into_raw(Box::new(chunk));
        // Release: publishes the chunk's initialized cells and bitmap to the
        // Acquire loads in `locate_extra`. Acquire on failure: nothing read.
        match self.extra[j].compare_exchange(ptr::null_mut(), chunk, AcqRel, Acquire) {
            Ok(_) => Some(self.extra_base(j)),
            Err(_) => {
                // SAFETY: the CAS failed, so the chunk was never published:
                // we still own the allocation made just above.
                drop(unsafe { Box::from_raw(chunk) });
                None
            }
        }
    }

    /// Remembers that this thread's push at the position whose hint word is
    /// `position` wrote `word` into its slot (see "Cost and sizes" on
    /// `RingBuffer`): in `last_spare` under `std` with 64-bit atomics (the
    /// ring's key tells the rings apart), in loom's stand-in under loom;
    /// elsewhere nothing is kept.
    #[inline(always)]
    pub(super) fn pushed(&self, position: Word, word: Word) {
        #[cfg(all(
            feature = "std",
            not(freelane_loom),
            not(freelane_spare_pool),
            target_has_atomic = "64"
        ))]
        last_spare::pushed(self.key, position, word);
        #[cfg(all(feature = "std", freelane_loom, not(freelane_spare_pool)))]
        loom_spares::pushed(self.id, position, word);
        let _ = (position, word);
    }

    /// The slot word this thread's last push wrote, if that push was on
    /// this ring at the position whose hint word is `position` (`None`
    /// where `pushed` keeps nothing). The word may have changed since:
    /// only a compare-and-swap can tell.
    #[inline(always)]
    pub(super) fn last_push_at(&self, position: Word) -> Option<Word> {
        #[cfg(all(
            feature = "std",
            not(freelane_loom),
            not(freelane_spare_pool),
            target_has_atomic = "64"
        ))]
        let found = last_spare::last_push_at(self.key, position);
        #[cfg(all(feature = "std", freelane_loom, not(freelane_spare_pool)))]
        let found =
            loom_spares::last_push(self.id).and_then(|(at, word)| (at == position).then_some(word));
        #[cfg(not(any(
            all(
                feature = "std",
                not(freelane_loom),
                not(freelane_spare_pool),
                target_has_atomic = "64"
            ),
            all(feature = "std", freelane_loom, not(freelane_spare_pool))
        )))]
        let found = {
            let _ = position;
            None
        };
        found
    }

    /// This thread's spare for one operation (see `Spare`).
    #[inline(always)]
    pub(super) fn spare(&self) -> Spare<'_, T> {
        #[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
        {
            let home = self.home();
            Spare {
                cells: self,
                cell: home.spare.get(),
                home,
            }
        }
        #[cfg(all(feature = "std", freelane_loom, not(freelane_spare_pool)))]
        {
            let cell = loom_spares::take(self.id);
            Spare { cells: self, cell }
        }
        #[cfg(not(all(feature = "std", not(freelane_spare_pool))))]
        Spare {
            cells: self,
            cell: NO_CELL,
        }
    }
}

impl<T> Cells<T> {
    /// Where this thread keeps its spare of this ring: its entry in
    /// `spares`, looked up once per thread and ring and then remembered in
    /// the thread's one-entry cache while the thread stays on this ring (a
    /// thread-local read and a comparison instead of the table's lookup).
    #[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
    #[inline(always)]
    fn home(&self) -> &Home {
        #[cfg(target_has_atomic = "64")]
        if let Some(home) = last_spare::get(self.key) {
            // SAFETY: `last_spare` holds pointers that `remember` stored,
            // each to this thread's entry in the `spares` of the ring whose
            // key it is paired with. Keys are never reused, so the ring is
            // `self`, alive for the borrow; `ThreadLocal` never moves or
            // frees an entry while it lives; and the entry is this thread's
            // (the cache is thread-local), so no other thread uses it.
            return unsafe { &*home };
        }
        self.home_slow()
    }

    #[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
    #[cfg_attr(target_has_atomic = "64", cold)] // else every operation's path
    fn home_slow(&self) -> &Home {
        let home = self.spares.get_or(|| {
            crate::sync::CachePadded::new(Home {
                spare: core::cell::Cell::new(NO_CELL),
            })
        });
        #[cfg(target_has_atomic = "64")]
        last_spare::remember(self.key, home);
        home
    }
}

/// The thread's one-entry cache of `Cells::home`: the key of the ring it
/// last used and where it keeps that ring's spare. Keys come from a 64-bit
/// counter (hence the `target_has_atomic` gate: with 32-bit ids a key could
/// come round to a dropped ring's), so a stale entry never matches a live
/// ring.
#[cfg(all(
    feature = "std",
    not(freelane_loom),
    not(freelane_spare_pool),
    target_has_atomic = "64"
))]
mod last_spare {
    use super::{Home, Word};
    use core::cell::Cell;
    use core::ptr;
    use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

    std::thread_local! {
        static LAST: Cell<(u64, *const Home)> = const { Cell::new((0, ptr::null())) };
    }

    /// A fresh ring key, never 0 (the empty cache's key).
    pub(super) fn new_key() -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: only uniqueness matters, which the RMW gives.
        NEXT.fetch_add(1, Relaxed)
    }

    /// The remembered home of ring `key`, if it is the last one.
    #[inline(always)]
    pub(super) fn get(key: u64) -> Option<*const Home> {
        // `try_with`: during thread teardown (a ring used from another
        // thread-local's destructor) the cache may be gone; look up then.
        LAST.try_with(|last| {
            let (last_key, home) = last.get();
            (last_key == key).then_some(home)
        })
        .ok()
        .flatten()
    }

    /// Remembers `home` as ring `key`'s.
    pub(super) fn remember(key: u64, home: &Home) {
        let _ = LAST.try_with(|last| last.set((key, home)));
    }

    std::thread_local! {
        /// The thread's last push, on any ring: the ring's key (0, no
        /// ring's, before the first), the position's hint word and the slot
        /// word the push wrote. One entry: the pop it serves follows a push
        /// on the same ring.
        static LAST_PUSH: Cell<(u64, Word, Word)> = const { Cell::new((0, 0, 0)) };
    }

    /// Remembers the thread's push on ring `key` at `position`, which
    /// wrote `word`.
    #[inline(always)]
    pub(super) fn pushed(key: u64, position: Word, word: Word) {
        let _ = LAST_PUSH.try_with(|last| last.set((key, position, word)));
    }

    /// The word the thread's last push wrote, if it was on ring `key` at
    /// `position`.
    #[inline(always)]
    pub(super) fn last_push_at(key: u64, position: Word) -> Option<Word> {
        LAST_PUSH
            .try_with(|last| {
                let (last_key, at, word) = last.get();
                (last_key == key && at == position).then_some(word)
            })
            .ok()
            .flatten()
    }
}

/// Under loom, a stand-in for the per-ring thread-local: std's thread-locals
/// would be shared by loom's threads, and the `thread_local` crate's table is
/// invisible to loom. A loom thread-local keeps this thread's spare of each
/// ring by ring id, so the models explore the production protocol (a spare
/// kept by its thread, no pool between operations), with the model
/// checker watching every cell hand-over. A dropped ring's entries are
/// dead weight until the thread ends (models are short).
#[cfg(all(feature = "std", freelane_loom, not(freelane_spare_pool)))]
mod loom_spares {
    use super::{NO_CELL, Word};
    use alloc::vec::Vec;
    use core::cell::RefCell;

    crate::sync::thread_local! {
        static SPARES: RefCell<Vec<(usize, usize)>> = RefCell::new(Vec::new());
    }

    /// This thread's spare of ring `id`, removed from the table.
    pub(super) fn take(id: usize) -> usize {
        SPARES.with(|spares| {
            let mut spares = spares.borrow_mut();
            match spares.iter().position(|&(ring, _)| ring == id) {
                Some(at) => spares.swap_remove(at).1,
                None => NO_CELL,
            }
        })
    }

    /// Keeps `cell` as this thread's spare of ring `id`.
    pub(super) fn keep(id: usize, cell: usize) {
        SPARES.with(|spares| spares.borrow_mut().push((id, cell)));
    }

    crate::sync::thread_local! {
        /// This thread's last push on each ring it pushed to: ring id,
        /// position, slot word (production keeps one entry for all rings,
        /// `last_spare::LAST_PUSH`; per ring here, as the spares are).
        static LAST_PUSHES: RefCell<Vec<(usize, Word, Word)>> = RefCell::new(Vec::new());
    }

    /// Remembers this thread's last push on ring `id`.
    pub(super) fn pushed(id: usize, position: Word, word: Word) {
        LAST_PUSHES.with(|pushes| {
            let mut pushes = pushes.borrow_mut();
            match pushes.iter_mut().find(|(ring, ..)| *ring == id) {
                Some(entry) => *entry = (id, position, word),
                None => pushes.push((id, position, word)),
            }
        });
    }

    /// This thread's last push on ring `id`: its position and slot word.
    pub(super) fn last_push(id: usize) -> Option<(Word, Word)> {
        LAST_PUSHES.with(|pushes| {
            let pushes = pushes.borrow();
            let &(_, position, word) = pushes.iter().find(|(ring, ..)| *ring == id)?;
            Some((position, word))
        })
    }
}

impl<T> Drop for Cells<T> {
    fn drop(&mut self) {
        for chunk in &mut self.extra {
            // Relaxed: `&mut self`: whatever published the chunk
            // happened-before this drop (the ring's last user handed it
            // over through a join or the owner's own synchronization).
            let chunk = chunk.load(Relaxed);
            if !chunk.is_null() {
                // SAFETY: published by `grow` from `Box::into_raw`; `&mut
                // self` means no one else uses it; freed once, here. The
                // cells hold no values (the ring dropped them first), and
                // `MaybeUninit` drops nothing.
                drop(unsafe { Box::from_raw(chunk) });
            }
        }
    }
}

/// The cell an operation trades for a slot's: this thread's spare.
///
/// Under `std` each thread keeps one spare per ring, in a per-ring
/// thread-local (the `thread_local` crate's `ThreadLocal`, whose entries
/// die with the ring and are reused by later threads): a push or a pop
/// costs no shared write besides its one compare-and-swap. Without `std`
/// (or built with `--cfg freelane_spare_pool`, which the TSan stage uses to
/// check this path natively) the spare comes from the pool for each
/// operation and the cell the operation got goes back to it: two more
/// atomic read-modify-writes. Under loom, a loom thread-local stands in for
/// the per-ring one (`loom_spares`).
pub(super) struct Spare<'a, T> {
    cells: &'a Cells<T>,
    /// The spare, or `NO_CELL` until `get` takes one from the pool.
    cell: usize,
    /// Where this thread keeps it between operations.
    #[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
    home: &'a Home,
}

impl<T> Spare<'_, T> {
    /// The spare cell, taken from the pool the first time.
    #[inline(always)]
    pub(super) fn get(&mut self) -> usize {
        if self.cell == NO_CELL {
            self.cell = self.cells.take();
        }
        self.cell
    }

    /// The spare cell the operation holds now: the one `get` returned, or
    /// the one `traded_for` gave it.
    #[inline(always)]
    pub(super) fn current(&self) -> usize {
        debug_assert_ne!(self.cell, NO_CELL);
        self.cell
    }

    /// The operation gave the spare to a slot and got `cell` in exchange:
    /// `cell` becomes the spare.
    #[inline(always)]
    pub(super) fn traded_for(&mut self, cell: usize) {
        self.cell = cell;
    }
}

impl<T> Drop for Spare<'_, T> {
    /// Keeps the spare for this thread's next operation (under `std`), or
    /// puts it back in the pool.
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(all(feature = "std", not(freelane_loom), not(freelane_spare_pool)))]
        self.home.spare.set(self.cell);
        #[cfg(all(feature = "std", freelane_loom, not(freelane_spare_pool)))]
        if self.cell != NO_CELL {
            loom_spares::keep(self.cells.id, self.cell);
        }
        #[cfg(not(all(feature = "std", not(freelane_spare_pool))))]
        if self.cell != NO_CELL {
            self.cells.put(self.cell);
        }
    }
}
