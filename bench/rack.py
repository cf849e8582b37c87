#!/usr/bin/env python3
"""The common real shape: a whole rack on one ISO and one config, imported through the API.

    rack.py --url http://127.0.0.1:PORT --pid SERVER_PID --mode concurrent|sequential|apply
            [--hosts 10000 --clients 4 --bin BOOTGATE --json OUT]

concurrent: HOSTS creates from CLIENTS keep-alive clients; then a label PATCH on the config
            and a content PATCH on it, with the server CPU each one costs.
sequential: HOSTS creates from one client.
apply:      one manifest holding HOSTS hosts, applied with `bootgate apply -f`.

Throughout, the server's resident memory is sampled every 20 ms (its peak *during* the import,
not only after) and a probe asks /ipxe for a host of the rack every 10 ms, so the boot path's
latency while the import runs is reported beside the idle one. Only 127.0.0.1 is contacted.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from fill import Client, host_ip, host_mac, ignition  # noqa: E402

CONFIG = "coreos-builder"
ISO = "coreos-live"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Sampler(threading.Thread):
    """Peak resident memory of the server, and /ipxe latencies, until stopped."""

    def __init__(self, url, pid, mac):
        super().__init__(daemon=True)
        self.url, self.pid, self.mac = url, pid, mac
        self.stop = threading.Event()
        self.peak = 0
        self.latencies = []

    def run(self):
        u = urllib.parse.urlparse(self.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        next_rss = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_rss:
                self.peak = max(self.peak, rss_kib(self.pid))
                next_rss = now + 0.02
            t0 = time.monotonic()
            conn.request("GET", f"/ipxe?mac={self.mac}")
            r = conn.getresponse()
            body = r.read()
            if r.status == 200 and b"sanboot" in body:
                self.latencies.append(time.monotonic() - t0)
            time.sleep(0.01)
        self.peak = max(self.peak, rss_kib(self.pid))


def ms(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 2)


def host_doc(i, kind=False):
    doc = {"metadata": {"name": f"r{i}", "labels": {"rack": "r1"}},
           "spec": {"bootMACAddress": host_mac(i), "ip": host_ip(i), "image": ISO, "bootConfigRef": CONFIG, "online": True}}
    if kind:
        doc = {"apiVersion": "v1", "kind": "BareMetalHost", **doc}
    return doc


def create_hosts(url, indices, clients):
    """Creates the hosts; returns per-create (completion time, latency)."""
    lock = threading.Lock()
    it = iter(indices)
    done, errors = [], []

    def worker():
        c = Client(url)
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            t0 = time.monotonic()
            status, payload = c.call("POST", "/api/v1/namespaces/default/baremetalhosts", host_doc(i))
            t1 = time.monotonic()
            with lock:
                if status != 201:
                    errors.append(f"r{i}: {status} {payload[:200]!r}")
                done.append((t1, t1 - t0))

    ts = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit(f"rack: {len(errors)} creates failed, first: {errors[0]}")
    return sorted(done)


def settle(pid, limit=60):
    """Waits until the server has used no CPU for half a second; returns the CPU seconds spent."""
    start = cpu_s(pid)
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        a = cpu_s(pid)
        time.sleep(0.5)
        if cpu_s(pid) - a < 0.02:
            break
    return round(cpu_s(pid) - start, 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--mode", choices=["concurrent", "sequential", "apply"], required=True)
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--bin", default="")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    assert urllib.parse.urlparse(a.url).hostname in ("127.0.0.1", "localhost"), "loopback only"
    c = Client(a.url)
    status, payload = c.call("POST", "/api/v1/bootconfigs", {"metadata": {"name": CONFIG},
                                                            "spec": {"format": "ignition", "data": {"config.ign": ignition(CONFIG)}}})
    assert status == 201, payload
    status, payload = c.call("POST", "/api/v1/iscsi-cdroms", {"metadata": {"name": ISO}, "spec": {"bootConfigs": [CONFIG]}})
    assert status == 201, payload
    status, payload = c.call("PATCH", f"/api/v1/iscsi-cdroms/{ISO}", {"status": {"targetIQN": "iqn.2026-01.lo.bench:live", "phase": "Ready", "lun": 1}},
                             "application/merge-patch+json")
    assert status == 200, payload
    # The probe's host exists before the import starts.
    create_hosts(a.url, [0], 1)
    settle(a.pid)
    idle = Sampler(a.url, a.pid, host_mac(0))
    idle.start()
    time.sleep(2)
    idle.stop.set()
    idle.join()

    out = {"mode": a.mode, "hosts": a.hosts, "rss_before_kib": rss_kib(a.pid),
           "ipxe_idle_ms": {"p50": ms(idle.latencies, 0.5), "p99": ms(idle.latencies, 0.99), "n": len(idle.latencies)}}
    sampler = Sampler(a.url, a.pid, host_mac(0))
    sampler.start()
    cpu0 = cpu_s(a.pid)
    t0 = time.monotonic()
    indices = list(range(1, a.hosts + 1))
    if a.mode == "apply":
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            for i in indices:
                f.write("---\n" + json.dumps(host_doc(i, kind=True)) + "\n")
            manifest = f.name
        r = subprocess.run([a.bin, "apply", "-f", manifest, "--server", a.url], capture_output=True, text=True)
        os.unlink(manifest)
        if r.returncode != 0:
            sys.exit(f"rack: apply failed: {r.stdout[-500:]} {r.stderr[-500:]}")
        elapsed = time.monotonic() - t0
        out["apply_s"] = round(elapsed, 2)
        print(f"rack: apply -f of {a.hosts} hosts: {elapsed:.1f} s", flush=True)
    else:
        clients = a.clients if a.mode == "concurrent" else 1
        done = create_hosts(a.url, indices, clients)
        elapsed = time.monotonic() - t0
        first = [l for _, l in done[:1000]]
        last = [l for _, l in done[-1000:]]
        out.update({"clients": clients, "seconds": round(elapsed, 2), "creates_per_s": round(a.hosts / elapsed),
                    "first_1000_mean_ms": round(statistics.mean(first) * 1000, 3),
                    "last_1000_mean_ms": round(statistics.mean(last) * 1000, 3)})
        print(f"rack: {a.hosts} creates from {clients} client(s): {elapsed:.1f} s, {a.hosts / elapsed:.0f}/s; "
              f"mean create {out['first_1000_mean_ms']} ms (first 1,000), {out['last_1000_mean_ms']} ms (last 1,000)", flush=True)
    out["import_cpu_s"] = round(cpu_s(a.pid) - cpu0, 2)
    out["cpu_after_last_ack_s"] = settle(a.pid, 10)
    sampler.stop.set()
    sampler.join()
    out["rss_peak_during_import_kib"] = sampler.peak
    out["ipxe_during_import_ms"] = {"p50": ms(sampler.latencies, 0.5), "p99": ms(sampler.latencies, 0.99), "n": len(sampler.latencies)}
    time.sleep(1)
    out["rss_after_import_kib"] = rss_kib(a.pid)
    print(f"rack: peak resident during import {sampler.peak / 1024:.1f} MiB, after {out['rss_after_import_kib'] / 1024:.1f} MiB; "
          f"CPU after the last ack {out['cpu_after_last_ack_s']} s; /ipxe p50/p99 idle {out['ipxe_idle_ms']['p50']}/{out['ipxe_idle_ms']['p99']} ms, "
          f"during import {out['ipxe_during_import_ms']['p50']}/{out['ipxe_during_import_ms']['p99']} ms", flush=True)

    if a.mode == "concurrent":
        for name, patch in [("label", {"metadata": {"labels": {"rack": "r1"}}, "spec": {"description": "installer for rack r1"}}),
                            ("content", {"spec": {"data": {"config.ign": ignition(CONFIG + "-v2")}}})]:
            cpu0 = cpu_s(a.pid)
            status, payload = c.call("PATCH", f"/api/v1/bootconfigs/{CONFIG}", patch, "application/merge-patch+json")
            assert status == 200, payload
            settle(a.pid, 30)
            out[f"config_{name}_patch_cpu_s"] = round(cpu_s(a.pid) - cpu0, 3)
            print(f"rack: a {name} PATCH on {CONFIG} with {a.hosts + 1} hosts on it cost {out[f'config_{name}_patch_cpu_s']} s of server CPU", flush=True)
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
