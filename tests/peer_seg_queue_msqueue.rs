//! crossbeam-queue 0.3.14 `tests/seg_queue.rs` run against `MsQueue` through
//! the renaming shim in `tests/peer_shim/msqueue.rs` (issue 14): upstream's
//! tests of `push`, `pop`, `len` and drops, in `tests/peer_suites/seg_queue.rs`
//! (shared with tests/peer_seg_queue.rs).
//! Upstream file: copyright the crossbeam project developers, MIT OR
//! Apache-2.0 (the licence this crate is under too).

mod peer_shim;
use peer_shim::msqueue::SegQueue;

include!("peer_suites/seg_queue.rs");

// `into_iter`, `into_iter_drop` and `stack_overflow` left out: they consume the
// queue through `IntoIterator`, which `MsQueue` does not implement (drop of the
// remaining elements is checked by `drops` in the suite and by tests/ms_queue.rs).
