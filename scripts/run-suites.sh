#!/usr/bin/env bash
# Runs the test suites in two lanes side by side, so CI stays well under its time limit on two
# cores: most suites wait on processes, sockets and VMs more than they compute. Each lane stops
# at its first failure; every lane's log is printed when it ends, and any failure fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
# fuzz (a niced build of the libFuzzer harness, then 20,000 inputs per target) goes last in the
# lane that ends first.
lanes=("unit api mkube ui kickstart" "contract e2e lab fuzz")

run_lane() {
    local log=$1; shift
    for target in "$@"; do
        echo "=== make $target ($(date +%T))" >>"$log"
        if ! make --no-print-directory "$target" >>"$log" 2>&1; then
            echo "=== FAILED: make $target" >>"$log"
            return 1
        fi
    done
}

pids=()
for i in "${!lanes[@]}"; do
    run_lane "$logs/lane$i.log" ${lanes[$i]} &
    pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || status=1
    echo "##### lane $i: ${lanes[$i]}"
    cat "$logs/lane$i.log"
done
[ $status -eq 0 ] && echo "all suites passed" || echo "a suite failed (see FAILED above)"
exit $status
