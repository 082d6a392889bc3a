#!/usr/bin/env bash
# Fuzz stage: builds every cargo-fuzz target in fuzz/ and runs each for a
# bounded time (FUZZ_SECONDS, default 30) on a copy of the committed seed
# corpus, so CI never grows the repository. A crash fails the stage and
# prints the input (path, `cargo fuzz fmt` hint, hex dump and base64).
#
# Usage: .ci/stages/fuzz.sh [target...]   (default: every target)
#        FUZZ_SECONDS=60 FUZZ_JOBS=1 .ci/stages/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
STAGE_START=$SECONDS

# cargo-fuzz: about a minute to build from source (52 s measured on a
# 2-core machine).
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "--- installing cargo-fuzz"
    start=$SECONDS
    cargo install cargo-fuzz --locked
    echo "--- cargo-fuzz installed in $((SECONDS - start)) s"
fi
# libFuzzer's instrumentation (-Zsanitizer) needs nightly.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

cd fuzz
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "--- building ${#targets[@]} targets"
start=$SECONDS
# Default cargo-fuzz build: optimized, with debug assertions, overflow
# checks and AddressSanitizer.
cargo +nightly fuzz build
echo "--- built in $((SECONDS - start)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One target's run, on its own copy of the seed corpus; its output goes to
# $work/<target>.log and its exit status to $work/<target>.status.
run_target() {
    local target=$1 corpus="$work/corpus/$1" artifacts="$work/artifacts/$1"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "corpus/$target" ]; then
        cp -R "corpus/$target/." "$corpus/"
    fi
    local extra=()
    case $target in
        # crossbeam-epoch frees popped nodes later, on another input's time:
        # LeakSanitizer's check after every input would flag them (and slow
        # the run 60x). Payload drops are counted by the harness instead.
        ms_queue*|segmented_queue*) extra+=(-detect_leaks=0) ;;
    esac
    local start=$SECONDS status=0
    cargo +nightly fuzz run "$target" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${extra[@]}" >"$work/$target.log" 2>&1 || status=$?
    echo "$status $((SECONDS - start))" >"$work/$target.status"
}

# A libFuzzer run is one thread: FUZZ_JOBS of them at a time (default 2, the
# cores of the machine CI runs on; in CI one of them shares its core with
# Miri until Miri ends). The binaries are built already, so the runs do not
# contend for cargo's lock.
FUZZ_JOBS=${FUZZ_JOBS:-2}
echo "--- running ${#targets[@]} targets, ${FUZZ_SECONDS} s each, $FUZZ_JOBS at a time"
start=$SECONDS
running=0
for target in "${targets[@]}"; do
    if [ "$running" -ge "$FUZZ_JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    run_target "$target" &
    running=$((running + 1))
done
wait
echo "--- ran in $((SECONDS - start)) s"

failed=()
for target in "${targets[@]}"; do
    artifacts="$work/artifacts/$target"
    read -r status seconds <"$work/$target.status" || { status=1; seconds=?; }
    echo
    echo "--- fuzz: $target, ${FUZZ_SECONDS} s"
    # libFuzzer's final line (`#runs DONE cov: .. ft: ..`) and run count.
    grep -E '^(#[0-9]+[[:space:]]+DONE|Done|stat::number_of_executed_units)' "$work/$target.log" || true
    echo "--- fuzz: $target finished in $seconds s (exit $status)"
    if [ "$status" -ne 0 ] || [ -n "$(ls -A "$artifacts")" ]; then
        failed+=("$target")
        echo "!!! $target failed; its log:"
        tail -n 60 "$work/$target.log"
        for artifact in "$artifacts"/*; do
            [ -e "$artifact" ] || continue
            # Kept under fuzz/artifacts/ (ignored by git) for a local rerun.
            mkdir -p "artifacts/$target"
            cp "$artifact" "artifacts/$target/"
            kept="fuzz/artifacts/$target/$(basename "$artifact")"
            echo "!!! input $kept ($(wc -c <"$artifact") bytes)"
            echo "!!! decode: cd fuzz && cargo +nightly fuzz fmt $target ${kept#fuzz/}"
            echo "!!! rerun:  cd fuzz && cargo +nightly fuzz run $target ${kept#fuzz/}"
            echo "!!! hex:"
            xxd "$artifact" | head -n 64
            echo "!!! base64 (save with: base64 -d > crash):"
            base64 -w 0 "$artifact"
            echo
        done
    fi
done

echo
echo "--- fuzz stage: ${#targets[@]} targets in $((SECONDS - STAGE_START)) s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "!!! failing targets: ${failed[*]}"
    exit 1
fi
