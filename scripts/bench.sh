#!/usr/bin/env bash
# make bench: a rack powering on at once, measured on loopback against nginx on the same machine.
#
#   scripts/bench.sh
#
# Builds bootgate in release mode (.build-release), fills a fresh store through the REST API
# with 10,000 hosts, 500 ISOs and 1,000 templated Ignition configs, then measures with wrk:
#   1. GET /ipxe?mac=<random known MAC>
#   2. GET /api/v1/bootconfig for a random host (X-Forwarded-For from the trusted 127.0.0.1)
#   3. GET /api/v1/baremetalhosts (all 10,000 hosts)
#   4. 1,000 concurrent watchers: PATCH acknowledged -> last watcher has the event
#   5. validated, durable merge PATCHes per second (concurrent and single-client)
#   6. start-up time and resident memory on the filled store
#   7. the common real shape: 10,000 hosts created on one ISO and one config (4 clients, 1 client,
#      one `bootgate apply -f` manifest), each on a fresh store, with memory sampled during the import
#   8. two replicas on a three-member etcd cluster: durable writes through one and through two,
#      /ipxe on a replica and the etcd revisions its boot counters cost
# and, in the same run, nginx serving static files of the same sizes as 1-3 (the limit).
# Prints a summary table; raw results go to bench/results/latest.json (and the logs beside it).
#
# Knobs (environment): BENCH_HOSTS=10000 BENCH_ISOS=500 BENCH_CONFIGS=1000 BENCH_DURATION=10s
#   BENCH_CONNECTIONS=256 BENCH_LIST_CONNECTIONS=16 BENCH_WRITE_CONNECTIONS=16 BENCH_WATCHERS=1000
#   BENCH_ROUNDS=20 BENCH_RACK_HOSTS=10000 BENCH_PORT=18570 BENCH_NGINX_PORT=18571 BENCH_SKIP_BUILD=1
#   BENCH_BIN=PATH (measure another bootgate binary, e.g. a build with a proposed fix)
#   BENCH_DATA=DIR (reuse a store filled by an earlier run with the same sizes; kept afterwards)
#   BENCH_ONLY="floor ipxe bootconfig list writes watch rack etcd" (subset; startup and memory always run)
# Only 127.0.0.1 is ever contacted. Every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

hosts=${BENCH_HOSTS:-10000}
isos=${BENCH_ISOS:-500}
configs=${BENCH_CONFIGS:-1000}
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-256}
# 1b: each connection waits this long after every answer, so the load stays below saturation.
pace_ms=${BENCH_PACE_MS:-10}
list_conns=${BENCH_LIST_CONNECTIONS:-16}
write_conns=${BENCH_WRITE_CONNECTIONS:-16}
watchers=${BENCH_WATCHERS:-1000}
rounds=${BENCH_ROUNDS:-20}
rack_hosts=${BENCH_RACK_HOSTS:-10000}
port=${BENCH_PORT:-18570}
nginx_port=${BENCH_NGINX_PORT:-18571}
only=${BENCH_ONLY:-floor ipxe bootconfig list writes watch rack etcd}
threads=2 # wrk threads: the machine's cores are shared between wrk and the server under test

results=$root/bench/results
mkdir -p "$results"
work=$(mktemp -d /tmp/bootgate-bench.XXXXXX)
raw=$work/raw
mkdir -p "$raw"
keep_data=0
if [ -n "${BENCH_DATA:-}" ]; then
    data=$BENCH_DATA
    keep_data=1
else
    data=$work/data
fi
url=http://127.0.0.1:$port
nurl=http://127.0.0.1:$nginx_port

server_pid=""
nginx_pid=""
cleanup() {
    local rc=$?
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    cp -f "$work"/*.log "$results"/ 2>/dev/null || true
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s (load average %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
want() { case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# --- tools ------------------------------------------------------------------------------------
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# --- build ------------------------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    say "building bootgate (release, .build-release)"
    scripts/install-deps.sh build
    swift build -c release --scratch-path .build-release 2>&1 | tail -n 3
fi
bin=${BENCH_BIN:-$root/.build-release/release/bootgate}
[ -x "$bin" ] || { echo "bench: $bin is missing (build failed?)" >&2; exit 1; }

# --- machine ------------------------------------------------------------------------------------
python3 - "$raw/machine.json" <<'EOF'
import json, os, platform, subprocess, sys
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception: return ""
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
json.dump({"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 1048576, 1),
           "kernel": platform.release(), "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
           "swift": sh("swift --version 2>&1 | head -n1"), "wrk": sh("wrk -v 2>&1 | head -n1"),
           "nginx": sh("nginx -v 2>&1"), "python": platform.python_version(),
           "loadavg_start": open("/proc/loadavg").read().split()[:3]}, open(sys.argv[1], "w"), indent=1)
EOF

# --- helpers ----------------------------------------------------------------------------------
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
tree_rss_kib() { # a process and its children (nginx master + workers)
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do total=$((total + $(rss_kib "$p"))); done
    echo $total
}

start_server() { # sets server_pid and startup_s (seconds from exec until /healthz answers)
    local t0 t1
    t0=$EPOCHREALTIME
    "$bin" serve --listen 127.0.0.1:$port --data "$data" --examples none --public-url "$url" \
        --trusted-proxy 127.0.0.1/32 --iscsi-portal 127.0.0.1 --power-control false >>"$work/server.log" 2>&1 &
    server_pid=$!
    t1=$(python3 bench/wait_http.py "$url/healthz" 120) || { echo "bench: bootgate did not start" >&2; tail -n 20 "$work/server.log" >&2; exit 1; }
    startup_s=$(python3 -c "print(round($t1 - $t0, 3))")
}

stop_server() {
    [ -n "$server_pid" ] || return 0
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

cpu_ticks() { # user+system clock ticks of a process and its children (nginx: master + workers)
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo $total
}

wrk_run() { # name url connections duration lua [args...]: raw output in $raw/NAME.txt, NAME.json
    local name=$1 target=$2 c=$3 d=$4 lua=$5
    shift 5
    local t=$threads pid=${measure_pid:-$server_pid}
    [ "$c" -lt "$t" ] && t=$c
    local cpu0 cpu1
    cpu0=$(cpu_ticks "$pid")
    WRK_THREADS=$t wrk -t"$t" -c"$c" -d"$d" --latency --timeout 10s -s "bench/wrk/$lua" "$target" -- "$@" >"$raw/$name.txt" 2>&1 || true
    cpu1=$(cpu_ticks "$pid")
    grep '^WRKJSON ' "$raw/$name.txt" | sed 's/^WRKJSON //' >"$raw/$name.json" || true
    [ -s "$raw/$name.json" ] || { echo "bench: wrk $name failed:" >&2; cat "$raw/$name.txt" >&2; exit 1; }
    # Server CPU per request (all cores) and resident memory after the run.
    python3 bench/wrk_annotate.py "$raw/$name.json" "$name" "$((cpu1 - cpu0))" "$(getconf CLK_TCK)" "$(tree_rss_kib "$pid")"
    sleep 1
}

nginx_run() { measure_pid=$nginx_pid wrk_run "$@"; }

wait_quiet() { # until bootgate has used no CPU for a second (its boot counters are written after a run), at most 15 s
    local before after i
    for i in $(seq 1 15); do
        before=$(cpu_ticks "$server_pid"); sleep 1; after=$(cpu_ticks "$server_pid")
        [ $((after - before)) -le 1 ] && return 0
    done
}

revision() { curl -sf "$url/api/v1/iscsi-cdroms" | python3 -c "import json,sys; print(json.load(sys.stdin)['metadata']['resourceVersion'])"; }

# --- fill ---------------------------------------------------------------------------------------
mkdir -p "$data"
say "starting bootgate on $url (data $data)"
start_server
first_start=$startup_s
echo "   up in ${first_start}s"
if [ -s "$data/bench-fill/fill.json" ] && [ "$(python3 -c "import json;d=json.load(open('$data/bench-fill/fill.json'));print(d['hosts'],d['isos'],d['configs'])")" = "$hosts $isos $configs" ]; then
    say "reusing the filled store in $data"
    cp "$data/bench-fill/fill.json" "$raw/fill.json"
else
    say "filling: $configs configs, $isos ISOs, $hosts hosts (REST, 8 keep-alive clients)"
    python3 bench/fill.py --url "$url" --out "$data/bench-fill" --hosts "$hosts" --isos "$isos" --configs "$configs"
    cp "$data/bench-fill/fill.json" "$raw/fill.json"
fi
lists=$data/bench-fill

# --- 6. start-up and memory -------------------------------------------------------------------
say "restart on the filled store"
stop_server
start_server
startup=$startup_s
sleep 1
rss_start=$(rss_kib "$server_pid")
echo "   start-up ${startup}s, resident ${rss_start} KiB"

# --- response samples, nginx's static twins ---------------------------------------------------
www=$work/www
mkdir -p "$www" "$work/nginx"
mac1=$(head -n1 "$lists/macs.txt")
ip1=$(head -n1 "$lists/ips.txt")
curl -sf "$url/ipxe?mac=$mac1" -o "$www/ipxe.txt"
grep -q sanboot "$www/ipxe.txt" || { echo "bench: /ipxe did not answer a sanboot script:" >&2; cat "$www/ipxe.txt" >&2; exit 1; }
curl -sf -H "X-Forwarded-For: $ip1" "$url/api/v1/bootconfig" -o "$www/bootconfig.ign"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['ignition']['version']=='3.4.0'" "$www/bootconfig.ign"
curl -sf "$url/api/v1/baremetalhosts" -o "$www/hosts.json"
python3 -c "import json,sys; n=len(json.load(open(sys.argv[1]))['items']); assert n==int(sys.argv[2]), n" "$www/hosts.json" "$hosts"
chmod -R a+rX "$work"
python3 - "$raw/sizes.json" "$www" <<'EOF'
import json, os, sys
w = sys.argv[2]
json.dump({n: os.path.getsize(os.path.join(w, f)) for n, f in
           [("ipxe", "ipxe.txt"), ("bootconfig", "bootconfig.ign"), ("list", "hosts.json")]}, open(sys.argv[1], "w"))
EOF
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    types { text/plain txt; application/json json ign; }
    server {
        listen 127.0.0.1:$nginx_port;
        root $www;
        # The same paths bootgate answers, so wrk can drive both with the same script.
        location = /ipxe { default_type text/plain; alias $www/ipxe.txt; }
        location = /api/v1/bootconfig { default_type application/json; alias $www/bootconfig.ign; }
    }
}
EOF

# nginx runs beside bootgate from here on, idle but for its own runs: the runs the targets are
# judged on alternate (bootgate, then nginx with the same script), so a machine whose speed
# drifts over the minutes of a run skews neither side.
say "nginx $(nginx -v 2>&1 | sed 's/.*\///'), static files of the same sizes on $nurl"
t0=$EPOCHREALTIME
"$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" >"$work/nginx.log" 2>&1 &
nginx_pid=$!
t1=$(python3 bench/wait_http.py "$nurl/ipxe.txt" 30) || { echo "bench: nginx did not start" >&2; cat "$work/nginx.log" "$work/nginx/error.log" >&2; exit 1; }
nginx_startup=$(python3 -c "print(round($t1 - $t0, 3))")
sleep 1
nginx_rss=$(tree_rss_kib "$nginx_pid")
nginx_run nginx-warmup "$nurl/ipxe.txt" 64 3s plain.lua

# --- 1-3: read paths ----------------------------------------------------------------------------
say "warm-up"
wrk_run warmup-ipxe "$url" 64 3s ipxe.lua "$lists/macs.txt"
wrk_run warmup-bootconfig "$url" 64 3s bootconfig.lua "$lists/ips.txt"
if want floor; then
    say "0. bootgate's HTTP floor: a constant 12-byte script (/api/v1/ipxe/localboot) and a stored 4 KB file (/api/v1/bootconfigs/c1/serve) on the inline boot lane, and /healthz through Hummingbird's async responder, $conns connections, $duration"
    wrk_run floor-small "$url/api/v1/ipxe/localboot" "$conns" "$duration" plain.lua
    wrk_run floor-4k "$url/api/v1/bootconfigs/c1/serve" "$conns" "$duration" plain.lua
    wrk_run floor-async "$url/healthz" "$conns" "$duration" plain.lua
fi
if want ipxe; then
    say "1. /ipxe?mac=<random of $hosts>, $conns connections, $duration"
    wrk_run ipxe "$url" "$conns" "$duration" ipxe.lua "$lists/macs.txt"
    wait_quiet
    # The same wrk script (a random MAC per request): the client's own cost per request is
    # then the same on both sides of the ratio.
    nginx_run nginx-ipxe-script "$nurl" "$conns" "$duration" ipxe.lua "$lists/macs.txt"
    # wrk keeps every connection busy, so at saturation the latency is the queue it builds
    # (connections / rate, Little's law), not the server's. Below saturation it is the server's.
    say "1b. /ipxe below saturation: $conns connections, each waiting $pace_ms ms after every answer (at most $((conns * 1000 / pace_ms)) req/s), $duration"
    export WRK_PACE_MS=$pace_ms
    wait_quiet
    wrk_run ipxe-paced "$url" "$conns" "$duration" ipxe-paced.lua "$lists/macs.txt"
    wait_quiet
    nginx_run nginx-ipxe-paced "$nurl" "$conns" "$duration" ipxe-paced.lua "$lists/macs.txt"
    unset WRK_PACE_MS
fi
if want bootconfig; then
    say "2. /api/v1/bootconfig (X-Forwarded-For: random host IP), $conns connections, $duration"
    wrk_run bootconfig "$url" "$conns" "$duration" bootconfig.lua "$lists/ips.txt"
    wait_quiet
    nginx_run nginx-bootconfig-script "$nurl" "$conns" "$duration" bootconfig.lua "$lists/ips.txt"
fi
if want list; then
    say "3. /api/v1/baremetalhosts ($hosts hosts), $list_conns connections, $duration"
    wrk_run list "$url/api/v1/baremetalhosts" "$list_conns" "$duration" plain.lua
fi
sleep 1 # the last /ipxe boot counters are flushed 200 ms after the run

# --- 5. writes ------------------------------------------------------------------------------------
if want writes; then
    say "5. validated merge PATCHes, $write_conns connections, $duration"
    rev0=$(revision)
    wrk_run writes "$url" "$write_conns" "$duration" patch.lua "$lists/hosts.txt"
    rev1=$(revision)
    say "5b. validated merge PATCHes, 1 connection (sequential), 5s"
    wrk_run writes-sequential "$url" 1 5s patch.lua "$lists/hosts.txt"
    rev2=$(revision)
    echo "{\"revisions_concurrent\": $((rev1 - rev0)), \"revisions_sequential\": $((rev2 - rev1))}" >"$raw/writes-revisions.json"
    echo "   store revisions: +$((rev1 - rev0)) concurrent, +$((rev2 - rev1)) sequential"
fi

# --- 4. watch fan-out -----------------------------------------------------------------------------
if want watch; then
    say "4. watch fan-out: $watchers watchers, $rounds PATCHes"
    python3 bench/watch_fanout.py --url "$url" --watchers "$watchers" --rounds "$rounds" --json "$raw/watch.json" | grep -v '^WATCHJSON'
fi

rss_end=$(rss_kib "$server_pid")
hwm_end=$(hwm_kib "$server_pid")
# Once quiet, bootgate hands freed pages back (MemoryTrimmer): the size it settles at.
sleep 10
rss_settled=$(rss_kib "$server_pid")
echo "{\"startup_s\": $startup, \"first_start_empty_s\": $first_start, \"rss_after_start_kib\": $rss_start, \"rss_after_load_kib\": $rss_end, \"rss_settled_kib\": $rss_settled, \"hwm_kib\": $hwm_end}" >"$raw/server.json"
echo "   resident after load ${rss_end} KiB (peak ${hwm_end} KiB), 10 s later ${rss_settled} KiB"
stop_server

# --- nginx, the limit: the fixed-URL runs and the list ------------------------------------------
say "nginx at fixed URLs (wrk's own pre-built request)"
want ipxe && nginx_run nginx-ipxe "$nurl/ipxe.txt" "$conns" "$duration" plain.lua
want bootconfig && nginx_run nginx-bootconfig "$nurl/bootconfig.ign" "$conns" "$duration" plain.lua
want list && nginx_run nginx-list "$nurl/hosts.json" "$list_conns" "$duration" plain.lua
echo "{\"startup_s\": $nginx_startup, \"rss_kib\": $nginx_rss}" >"$raw/nginx.json"
kill "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""

# --- 7. a rack on one ISO and one config ------------------------------------------------------
# Each import on a fresh store: 4 clients, 1 client, and one manifest through `bootgate apply -f`.
if want rack; then
    for mode in concurrent sequential apply; do
        say "7. rack: $rack_hosts hosts on one ISO and one config, $mode, fresh store"
        data=$work/rack-$mode
        mkdir -p "$data"
        start_server
        python3 bench/rack.py --url "$url" --pid "$server_pid" --mode "$mode" --hosts "$rack_hosts" --bin "$bin" --json "$raw/rack-$mode.json"
        stop_server
        rm -rf "$data"
    done
fi

# --- 8. replicas on etcd ------------------------------------------------------------------------
if want etcd; then
    say "8. two replicas on a three-member etcd cluster on loopback"
    command -v etcd >/dev/null || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get install -y -qq --no-install-recommends etcd-server etcd-client; }
    python3 bench/etcd.py --bin "$bin" --json "$raw/etcd.json" --duration "$duration" --conns "$conns" --write-conns "$write_conns"
fi

# --- summary ------------------------------------------------------------------------------------
python3 - "$raw/machine.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
json.dump(d, open(sys.argv[1], "w"), indent=1)
EOF
python3 bench/report.py "$raw" --json "$results/latest.json" --config "hosts=$hosts isos=$isos configs=$configs duration=$duration connections=$conns pace_ms=$pace_ms list_connections=$list_conns write_connections=$write_conns watchers=$watchers rounds=$rounds"
cp "$raw"/*.txt "$results"/ 2>/dev/null || true
echo "raw results: $results/latest.json"
