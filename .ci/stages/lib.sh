# Sourced by the stage scripts. `step NAME COMMAND...` runs COMMAND between
# two lines that name the step and say how long it took, prefixed with the
# script's STAGE (e.g. "--- miri: build took 41 s").
step() {
    local name=$1
    shift
    echo "--- $STAGE: $name"
    local start=$SECONDS
    "$@"
    echo "--- $STAGE: $name took $((SECONDS - start)) s"
}
