#!/usr/bin/env python3
"""make bench, step 8: bootgate replicas on a real three-member etcd cluster (127.0.0.1 only).

    etcd.py --bin BOOTGATE --json OUT [--hosts 2000 --duration 10s --conns 256]

Fills the store through replica A (configs and hosts as bench/fill.py makes them), then with wrk:
durable validated merge PATCHes through one replica, then through two at once (half the
connections each), and /ipxe on replica B, while counting the etcd revisions the boot storm's
counters cost.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "support"))
sys.path.insert(0, HERE)
from etcd_cluster import EtcdCluster, free_ports  # noqa: E402


def wait(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def revision(url):
    return int(json.load(urllib.request.urlopen(url + "/api/v1/iscsi-cdroms"))["metadata"]["resourceVersion"])


def wrk(name, url, conns, duration, script, *args, out):
    threads = min(2, conns)
    env = dict(os.environ, WRK_THREADS=str(threads))
    r = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--latency", "--timeout", "10s",
                        "-s", os.path.join(HERE, "wrk", script), url, "--", *args], capture_output=True, text=True, env=env)
    line = next((l for l in r.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        sys.exit(f"etcd bench: wrk {name} failed: {r.stdout}{r.stderr}")
    result = json.loads(line[len("WRKJSON "):])
    out[name] = result
    errors = result["non2xx"] + result["err_connect"] + result["err_read"] + result["err_timeout"]
    print(f"   {name:<28} {result['rps']:>9.0f} req/s  p50 {result['p50_ms']:>8.2f} ms  p99 {result['p99_ms']:>8.2f} ms"
          + (f"  ERRORS {errors}" if errors else ""), flush=True)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--conns", type=int, default=256)
    ap.add_argument("--write-conns", type=int, default=16)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bootgate-bench-etcd-")
    cluster = EtcdCluster(3)
    procs = []
    out = {"hosts": a.hosts}
    try:
        ports = free_ports(2)
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for i, (port, url) in enumerate(zip(ports, urls)):
            data = os.path.join(work, f"r{i}")
            os.makedirs(data)
            if i > 0:
                shutil.copy(os.path.join(work, "r0", "secret.key"), data)
            procs.append(subprocess.Popen([a.bin, "serve", "--listen", f"127.0.0.1:{port}", "--data", data, "--store", cluster.store_url,
                                           "--examples", "none", "--public-url", url, "--trusted-proxy", "127.0.0.1/32", "--iscsi-portal", "127.0.0.1",
                                           "--power-control", "false"],
                                          stdout=open(os.path.join(work, f"r{i}.log"), "wb"), stderr=subprocess.STDOUT))
            wait(url + "/healthz")
        fill_dir = os.path.join(work, "fill")
        isos = max(1, a.hosts // 20)
        subprocess.run([sys.executable, os.path.join(HERE, "fill.py"), "--url", urls[0], "--out", fill_dir,
                        "--hosts", str(a.hosts), "--isos", str(isos), "--configs", str(2 * isos)], check=True)
        out["fill"] = json.load(open(os.path.join(fill_dir, "fill.json")))
        hosts, macs = os.path.join(fill_dir, "hosts.txt"), os.path.join(fill_dir, "macs.txt")
        # Replica B has everything A wrote before it is measured.
        target = revision(urls[0])
        while revision(urls[1]) < target:
            time.sleep(0.05)
        print("== 8. bootgate on etcd (3 members): durable validated PATCHes", flush=True)
        wrk("etcd-writes-one-replica", urls[0], a.write_conns, a.duration, "patch.lua", hosts, out=out)
        r0 = revision(urls[0])
        # Two replicas at once: each half of the connections, its own hosts half.
        lines = open(hosts).read().split()
        halves = [os.path.join(work, f"hosts{i}.txt") for i in range(2)]
        for i, path in enumerate(halves):
            open(path, "w").write("\n".join(lines[i::2]) + "\n")
        ps = []
        for i in range(2):
            env = dict(os.environ, WRK_THREADS="1")
            ps.append(subprocess.Popen(["wrk", "-t1", f"-c{a.write_conns // 2}", f"-d{a.duration}", "--latency", "--timeout", "10s",
                                        "-s", os.path.join(HERE, "wrk", "patch.lua"), urls[i], "--", halves[i]],
                                       stdout=subprocess.PIPE, text=True, env=env))
        both = [json.loads(next(l for l in p.communicate()[0].splitlines() if l.startswith("WRKJSON "))[8:]) for p in ps]
        out["etcd-writes-two-replicas"] = {"rps": round(sum(r["rps"] for r in both)), "per_replica": [round(r["rps"]) for r in both],
                                           "errors": sum(r["non2xx"] + r["err_connect"] + r["err_read"] + r["err_timeout"] for r in both)}
        print(f"   {'etcd-writes-two-replicas':<28} {out['etcd-writes-two-replicas']['rps']:>9} req/s  ({' + '.join(map(str, out['etcd-writes-two-replicas']['per_replica']))})"
              + (f"  ERRORS {out['etcd-writes-two-replicas']['errors']}" if out["etcd-writes-two-replicas"]["errors"] else ""), flush=True)
        print("== 8b. /ipxe on replica B (its index; boot counters batched into etcd)", flush=True)
        time.sleep(1)
        before = revision(urls[1])
        r = wrk("etcd-ipxe-replica", urls[1], a.conns, a.duration, "ipxe.lua", macs, out=out)
        time.sleep(2)  # the last counters are flushed after the run
        after = revision(urls[1])
        out["etcd-ipxe-replica"]["etcd_revisions_for_counters"] = after - before
        print(f"   boot counters of {r['requests']} boots cost {after - before} etcd revisions", flush=True)
        out["revisions_written"] = r0
    finally:
        for p in procs:
            p.kill()
            p.wait()
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
