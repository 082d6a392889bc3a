#!/usr/bin/env bash
# Loom model checks: every structure through the `sync` shim, with
# crossbeam-epoch's own loom mode so MsQueue's reclamation is modelled.
# Its own target dir: the cfg'd build must not invalidate the normal one.
#
# Each model sets its own preemption bound (at most 2); LOOM_MAX_PREEMPTIONS
# is a ceiling on those, so LOOM_MAX_PREEMPTIONS=1 gives a quick smoke pass.
#
# Usage: .ci/stages/loom.sh            (every file in LOOM_TESTS)
#        .ci/stages/loom.sh loom_async (one file)
#        FREELANE_LOOM_FULL=1 .ci/stages/loom.sh
#            (also the starting orders CI leaves out of the few models
#            marked `model_heavy`, for time: a few minutes more)
set -euo pipefail
cd "$(dirname "$0")/../.."

STAGE_START=$SECONDS
STAGE=loom
# shellcheck source=lib.sh
source .ci/stages/lib.sh

# The loom test files (`#![cfg(freelane_loom)]`), built by one cargo call and
# run one after another. A new loom file goes here.
LOOM_TESTS=(
    loom              # every structure, reclamation included
    loom_rate_limiter # the GCRA compare-exchange at a frozen clock
    loom_async        # waker hand-off, cancellation racing a wake-up
    loom_semaphore    # permits, hand-off, the linearizable close
    loom_segmented_queue # FAA claims, poisoned slots, segment linking
    loom_ring         # the ring: operations, batches, blocking, lock-freedom
)
if [ "$#" -gt 0 ]; then LOOM_TESTS=("$@"); fi

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
# freelane_pause: the pause points the lock-freedom models stop threads at.
export RUSTFLAGS="--cfg freelane_loom --cfg crossbeam_loom --cfg freelane_pause"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}"

# A loom file must be run here on purpose, not silently skipped.
check_every_loom_file_is_listed() {
    local file name
    for file in tests/loom*.rs; do
        name=$(basename "$file" .rs)
        if [[ ! " ${LOOM_TESTS[*]} " =~ " $name " ]] && [ "$#" -eq 0 ]; then
            echo "tests/$name.rs is not in LOOM_TESTS of .ci/stages/loom.sh" >&2
            return 1
        fi
    done
}

cargo_loom() {
    local args=() name
    for name in "${LOOM_TESTS[@]}"; do args+=(--test "$name"); done
    cargo test --release "${args[@]}" "$@"
}

step check-files check_every_loom_file_is_listed "$@"
step build cargo_loom --no-run
step models cargo_loom --no-fail-fast
echo "--- loom: all steps passed in $((SECONDS - STAGE_START)) s"
