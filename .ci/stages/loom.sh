#!/usr/bin/env bash
# Loom model checks (tests/loom.rs, tests/loom_rate_limiter.rs): every
# structure through the `sync` shim, with crossbeam-epoch's own loom mode so
# MsQueue's reclamation is modelled.
# Its own target dir: the cfg'd build must not invalidate the normal one.
#
# Each model sets its own preemption bound (at most 2); LOOM_MAX_PREEMPTIONS
# is a ceiling on those, so LOOM_MAX_PREEMPTIONS=1 gives a quick smoke pass.
set -euo pipefail
cd "$(dirname "$0")/../.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}"

cargo test --release --test loom
# The rate limiter's models (seconds).
cargo test --release --test loom_rate_limiter
# The async waits: waker hand-off and cancellation racing a wake-up.
cargo test --release --test loom_async
# SegmentedQueue: slot poisoning, segment linking and retirement.
cargo test --release --test loom_segmented_queue
