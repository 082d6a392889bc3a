#!/usr/bin/env bash
# ThreadSanitizer over the concurrency tests: std is rebuilt instrumented
# (-Zbuild-std), so races through std's primitives (Mutex, park/unpark,
# Arc) are seen too.
#
# No suppressions are needed, so none is passed:
# - crossbeam-epoch 0.9.21 turns itself TSan-aware: its build script sets
#   `crossbeam_sanitize_thread` when CARGO_CFG_SANITIZE contains "thread",
#   which swaps the fences TSan cannot model in `Global::try_advance` for
#   Acquire loads of each participant's epoch (src/internal.rs:229-272). The
#   `race:crossbeam_epoch` suppressions of older crossbeam/tokio CI predate
#   that. `--cfg crossbeam_sanitize` additionally makes it seal a bag every
#   4 retired objects and collect every expired bag on each collection, so
#   MsQueue nodes are freed far more often while other threads run: more
#   chances for TSan to see a use racing a free.
# - The ring buffer has no fences: its values travel through the SeqCst
#   compare-and-swaps on its slot words, which TSan models. The SeqCst steps
#   of the wait queues' sleep/wake handshake order a store before a later
#   load; that is not a happens-before edge, so TSan neither reports nor
#   checks it (Miri and loom do).
#
# tokio's own semaphore suite (peer_tokio_semaphore) runs here for its
# cross-thread cases (a thread blocked in `acquire` woken by `add_permits`,
# wakers that release permits while `close` wakes them); its owned twin is
# single-threaded and adds nothing TSan could see.
#
# The RingBuffer histories of tests/linearizability.rs run here too, under
# the strict checker: TSan's slowdown often preempts a thread in the middle
# of an operation, where a ring that gave up on an in-flight operation (or
# waited for it) would go wrong.
#
# Two cfgs: `freelane_pause` compiles in the ring's test-only pause points,
# for tests/ring_buffer_lock_free.rs (a thread stopped inside a push or a
# pop while others finish theirs); `freelane_spare_pool` makes the ring take
# each operation's spare cell from its pool, as it does without `std`, so
# that path runs natively under TSan (Miri and loom run the `std` one, a
# spare kept per thread).
#
# allocator_may_return_null=1: `try_new_reports_allocation_failure_as_error`
# asks for an impossible allocation; TSan's allocator would abort the process
# instead of returning null to `try_reserve_exact`.
set -euo pipefail
cd "$(dirname "$0")/../.."

STAGE_START=$SECONDS
STAGE=tsan
# shellcheck source=lib.sh
source .ci/stages/lib.sh

# The files whose threads share data through our unsafe code or our
# orderings. Left out (CI time: each file is a TSan build and run): the
# counter and rate limiter files (one atomic word each, read-modify-writes
# only: no data for TSan to see raced) and the two memory files (allocation
# counts under a counting allocator; the queues' own files run here).
TESTS=(sharded_counter semaphore ring_buffer ms_queue linearizability
    async_semaphore async_ring_buffer
    ring_buffer_put_back panicking_waker ring_buffer_batch ring_buffer_lock_free
    segmented_queue segmented_queue_linearizability
    peer_tokio_semaphore)
# Tests to leave out, each by full name with a reason above (none now).
SKIP=()

# freelane_sanitize: the tests' iteration counts a tenth (`support::scaled`).
# freelane_checker: the build leaves out the benches' dev-dependencies
# (Cargo.toml), which no test file uses.
export RUSTFLAGS="-Zsanitizer=thread --cfg crossbeam_sanitize --cfg freelane_pause --cfg freelane_spare_pool --cfg freelane_sanitize --cfg freelane_checker"
export TSAN_OPTIONS="allocator_may_return_null=1"
TARGET=x86_64-unknown-linux-gnu

cargo_tsan() {
    local args=() name
    for name in "${TESTS[@]}"; do args+=(--test "$name"); done
    cargo +nightly test -Zbuild-std --target "$TARGET" --target-dir target/tsan \
        "${args[@]}" "$@"
}

setup() {
    rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
    rustup component add rust-src --toolchain nightly
}

build() { cargo_tsan --no-run; }

run() {
    local skips=() name
    for name in "${SKIP[@]}"; do skips+=(--skip "$name"); done
    # --exact: each skip names one test in full.
    cargo_tsan --no-fail-fast -- --exact "${skips[@]}"
}

step setup setup
step build build
step test run
echo "--- tsan: all steps passed in $((SECONDS - STAGE_START)) s"
