#!/usr/bin/env bash
# Samples a running bootgate's stacks while wrk loads one path (perf, software clock: works
# without hardware counters), and prints where the time goes (inclusive %, top frames).
#
#   bench/profile.sh PID URL WRK_SCRIPT [ARG] [SECONDS]
#   PROFILE_CONNECTIONS=N sets wrk's connections (default 64; 8 suits the 5 MB host list).
#   e.g. bench/profile.sh "$(pgrep -n bootgate)" http://127.0.0.1:18570 bootconfig.lua DATA/bench-fill/ips.txt
#        bench/profile.sh PID http://127.0.0.1:18570/api/v1/baremetalhosts plain.lua "" 10
#
# Start a server the way scripts/bench.sh does (BENCH_DATA=DIR keeps a filled store) and point
# this at it. Output: bench/results/profile-<script>.txt (and the perf.data beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
pid=$1 url=$2 script=$3 arg=${4:-} secs=${5:-10}
case "$url" in http://127.0.0.1:*|http://localhost:*) ;; *) echo "loopback only" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
out=bench/results
mkdir -p "$out"
name=profile-${script%.lua}
WRK_THREADS=2 wrk -t2 -c${PROFILE_CONNECTIONS:-64} -d$((secs + 6))s -s "bench/wrk/$script" "$url" -- $arg >"$out/$name-wrk.txt" 2>&1 &
wrk_pid=$!
trap 'kill $wrk_pid 2>/dev/null || true' EXIT
sleep 3
perf record -e cpu-clock -F 499 -g -p "$pid" -o "$out/$name.data" -- sleep "$secs" >/dev/null 2>&1
wait $wrk_pid || true
{
    grep '^WRKJSON' "$out/$name-wrk.txt" || true
    echo "== inclusive time by frame (children), top 60"
    perf report -i "$out/$name.data" --stdio --children --sort symbol 2>/dev/null | grep -E '^ +[0-9]' |
        awk '{print $1, $2, $4}' | head -60 | cut -c1-200
    echo "== self time, top 25"
    perf report -i "$out/$name.data" --stdio --no-children --sort symbol 2>/dev/null | grep -E '^ +[0-9]' |
        awk '{print $1, $3}' | head -25 | cut -c1-200
} | tee "$out/$name.txt"
