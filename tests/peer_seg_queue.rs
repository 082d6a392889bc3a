//! crossbeam-queue 0.3.14 `tests/seg_queue.rs` run against `SegmentedQueue`
//! through the renaming shim in `tests/peer_shim/segmented.rs` (issue 14).
//! Nothing is left out: upstream's tests of `push`, `pop`, `len` and drops
//! are in `tests/peer_suites/seg_queue.rs` (shared with
//! tests/peer_seg_queue_msqueue.rs), its three `into_iter` tests below
//! (`push_mut`/`pop_mut`/`into_iter` map to the shared operations, see the
//! shim).
//! Upstream file: copyright the crossbeam project developers, MIT OR
//! Apache-2.0 (the licence this crate is under too); kept verbatim below the
//! imports so it stays their test, not ours.

mod peer_shim;
use peer_shim::segmented::SegQueue;

include!("peer_suites/seg_queue.rs");

#[test]
fn into_iter() {
    let q = SegQueue::new();
    for i in 0..100 {
        q.push(i);
    }
    for (i, j) in q.into_iter().enumerate() {
        assert_eq!(i, j);
    }
}

#[test]
fn into_iter_drop() {
    let q = SegQueue::new();
    for i in 0..100 {
        q.push(i);
    }
    for (i, j) in q.into_iter().enumerate().take(50) {
        assert_eq!(i, j);
    }
}

// If `Block` is created on the stack, the array of slots will multiply this `BigStruct` and
// probably overflow the thread stack. It's now directly created on the heap to avoid this.
#[test]
fn stack_overflow() {
    const N: usize = 32_768;
    struct BigStruct {
        _data: [u8; N],
    }

    let q = SegQueue::new();
    q.push(BigStruct { _data: [0u8; N] });

    for _data in q.into_iter() {}
}
