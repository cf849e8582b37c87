#!/usr/bin/env bash
# libFuzzer runs of the parsers and validators that read untrusted bytes (Sources/BootgateFuzz):
#   scripts/fuzz.sh [target|all] [runs]        e.g. scripts/fuzz.sh json 1000000
# Targets: raw-request-head json ignition kickstart ipxe template jsonrpc. Default: all, 20000 runs.
#
# Builds the harness with BOOTGATE_FUZZ=1 in its own scratch path (.build-fuzz; Gateway and
# Renderers instrumented, dependencies not), then runs each target from the committed seeds
# (Tests/fuzz/corpus/<target>) plus the corpus it grew before (.build-fuzz/corpus/<target>).
# Any crash, failed invariant, input slower than FUZZ_TIMEOUT seconds or RSS over FUZZ_RSS_MB
# fails the run; libFuzzer writes the input to .build-fuzz/crashes/<target>-… (reproduce with
# `BOOTGATE_FUZZ_TARGET=<target> .build-fuzz/debug/BootgateFuzz <file>`).
# Environment: FUZZ_TIMEOUT (10), FUZZ_RSS_MB (2048), FUZZ_MAX_LEN (16384), FUZZ_NO_BUILD=1,
# FUZZ_LOGS (folder for each target's full log; default .build-fuzz/logs).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

targets=(raw-request-head json ignition kickstart ipxe template jsonrpc)
which=${1:-all}
runs=${2:-20000}
scratch=.build-fuzz
logs=${FUZZ_LOGS:-$scratch/logs}
if [ "$which" != all ]; then
    [[ " ${targets[*]} " == *" $which "* ]] || { echo "fuzz.sh: unknown target $which (${targets[*]} or all)" >&2; exit 2; }
    targets=("$which")
fi

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    start=$SECONDS
    BOOTGATE_FUZZ=1 swift build --scratch-path "$scratch" --product BootgateFuzz || exit 1
    echo "fuzz.sh: build took $((SECONDS - start)) s"
fi
binary=$scratch/debug/BootgateFuzz
mkdir -p "$logs" "$scratch/crashes"

# Swift's backtracer would take over the crash signal before libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
status=0
printf '%-17s %10s %8s %7s %7s %6s %8s %6s %s\n' target inputs exec/s cov ft corpus rss_mb wall_s result
for target in "${targets[@]}"; do
    grown=$scratch/corpus/$target
    mkdir -p "$grown"
    log=$logs/$target.log
    start=$SECONDS
    BOOTGATE_FUZZ_TARGET=$target "$binary" \
        -runs="$runs" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -max_len="${FUZZ_MAX_LEN:-16384}" -print_final_stats=1 \
        -artifact_prefix="$scratch/crashes/$target-" \
        "$grown" "Tests/fuzz/corpus/$target" >"$log" 2>&1
    rc=$?
    wall=$((SECONDS - start))
    stat() { grep -o "^stat::$1: *[0-9]*" "$log" | grep -o '[0-9]*$' | tail -1; }
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*$')
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*$')
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*$')
    result=ok
    if [ $rc -ne 0 ]; then
        result="FAILED (exit $rc): see $log"
        status=1
    fi
    printf '%-17s %10s %8s %7s %7s %6s %8s %6s %s\n' "$target" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$(stat peak_rss_mb)" "$wall" "$result"
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR: libFuzzer|Fatal error|SUMMARY|Test unit written|deadly signal|timeout' "$log" | head -8
    fi
done
exit $status
