#!/usr/bin/env python3
"""Fill a running bootgate with the benchmark store, through its REST API.

    fill.py --url http://127.0.0.1:PORT --out DIR [--hosts 10000 --isos 500 --configs 1000]

Every object is created with an ordinary POST (and each ISO made Ready with a merge PATCH), so
every write is validated and durable exactly as in production; only the client is parallel
(keep-alive http.client connections, one per thread). Writes to the store are serialised by
bootgate anyway, so a handful of threads is enough to keep it busy.

Writes to DIR: macs.txt (one boot MAC a line), ips.txt (one host IP a line), hosts.txt (one host
name a line) and fill.json (counts and timings).

Layout: config cN (N = 1..configs) is an Ignition 3.4.0 document of about 4 KB after rendering,
templated with host.name, host.hostname, host.mac, host.ip, iso.name, iso.targetIQN, server.url.
ISO isoK lists configs c(2K-1) and c(2K) (configs/isos of them); host hM boots ISO iso((M-1) % isos + 1)
with one of that ISO's configs, MAC 52:54:00:xx:xx:xx and IP 10.1.x.y (strings only: nothing is
ever sent to these addresses).
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

UNIT_TEXT = (
    "[Unit]\\n"
    "Description=Bench agent for {{host.name}} (config NAME)\\n"
    "Wants=network-online.target\\n"
    "After=network-online.target\\n"
    "\\n"
    "[Service]\\n"
    "Type=oneshot\\n"
    "RemainAfterExit=yes\\n"
    "Environment=BOOTGATE={{server.url}}\\n"
    "Environment=HOST={{host.name}}\\n"
    "Environment=MAC={{host.mac}}\\n"
    "Environment=IP={{host.ip}}\\n"
    "Environment=ISO={{iso.name}}\\n"
    "Environment=IQN={{iso.targetIQN}}\\n"
    "ExecStartPre=/usr/bin/sh -c 'echo preparing {{host.hostname}} from {{server.url}} > /run/bench-agent.log'\\n"
    "ExecStart=/usr/bin/curl -fsS -X POST {{server.url}}/api/v1/boot-complete\\n"
    "ExecStartPost=/usr/bin/sh -c 'echo done >> /run/bench-agent.log'\\n"
    "\\n"
    "[Install]\\n"
    "WantedBy=multi-user.target\\n"
)


def ignition(name: str) -> str:
    """An Ignition 3.4.0 config with templates, about 4 KB once rendered."""
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + ("b" * 43) + " bench@bootgate"
    files = [
        ('/etc/hostname', 'data:,{{host.hostname}}'),
        ('/etc/bootgate/host', 'data:,{{host.name}}'),
        ('/etc/bootgate/mac', 'data:,{{host.mac}}'),
        ('/etc/bootgate/ip', 'data:,{{host.ip}}'),
        ('/etc/bootgate/iso', 'data:,{{iso.name}}'),
        ('/etc/bootgate/config', 'data:,' + name),
        ('/etc/bootgate/server', 'data:,{{server.url}}'),
        ('/etc/bootgate/iqn', 'data:,{{iso.targetIQN}}'),
        ('/etc/motd.d/bootgate', 'data:,installed%20by%20bootgate%20for%20{{host.name}}%20from%20{{iso.name}}'),
    ]
    file_json = ",".join(
        '{"path":"%s","mode":420,"overwrite":true,"contents":{"source":"%s"}}' % (p, s) for p, s in files)
    units = []
    for u in range(4):
        units.append('{"name":"bench-agent-%d.service","enabled":true,"contents":"%s"}'
                     % (u, UNIT_TEXT.replace("NAME", name)))
    return ('{"ignition":{"version":"3.4.0"},'
            '"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["%s"]}]},'
            '"storage":{"files":[%s]},'
            '"systemd":{"units":[%s]}}') % (key, file_json, ",".join(units))


def host_mac(i: int) -> str:
    return "52:54:00:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def host_ip(i: int) -> str:
    return "10.1.%d.%d" % ((i >> 8) & 255, i & 255)


class Client:
    def __init__(self, url: str):
        u = urllib.parse.urlparse(url)
        assert u.hostname in ("127.0.0.1", "localhost"), "loopback only"
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, method: str, path: str, body=None, ctype="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": ctype} if data is not None else {}
        for attempt in range(5):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                return r.status, payload
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"{method} {path}: connection kept failing")


def run_parallel(url: str, threads: int, jobs, label: str):
    """jobs: list of (method, path, body, content type). Fails loudly on any non-2xx."""
    lock = threading.Lock()
    it = iter(jobs)
    errors = []
    done = [0]

    def worker():
        c = Client(url)
        while True:
            with lock:
                job = next(it, None)
            if job is None:
                return
            method, path, body, ctype = job
            status, payload = c.call(method, path, body, ctype)
            if status == 409 and method == "POST" and b"AlreadyExists" in payload:
                status = 200  # a re-run on a filled store
            if status >= 300:
                with lock:
                    errors.append(f"{method} {path}: {status} {payload[:300]!r}")
            with lock:
                done[0] += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        sys.exit(f"fill: {label}: {len(errors)} failures, first: {errors[0]}")
    print(f"fill: {label}: {done[0]} writes in {dt:.1f} s ({done[0] / dt:.0f}/s)", flush=True)
    return {"writes": done[0], "seconds": round(dt, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--isos", type=int, default=500)
    ap.add_argument("--configs", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=8)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    per_iso = max(1, a.configs // a.isos)

    configs = [("POST", "/api/v1/bootconfigs",
                {"apiVersion": "v1", "kind": "BootConfig", "metadata": {"name": f"c{n}"},
                 "spec": {"format": "ignition", "description": f"bench config {n}",
                          "data": {"config.ign": ignition(f"c{n}")}}}, "application/json")
               for n in range(1, a.configs + 1)]

    def iso_configs(k):
        return [f"c{(k - 1) * per_iso + j + 1}" for j in range(per_iso) if (k - 1) * per_iso + j + 1 <= a.configs]

    isos = [("POST", "/api/v1/iscsi-cdroms",
             {"apiVersion": "v1", "kind": "ISCSICdrom", "metadata": {"name": f"iso{k}"},
              "spec": {"isoFile": f"bench-{k}.iso", "bootConfigs": iso_configs(k)}}, "application/json")
            for k in range(1, a.isos + 1)]
    ready = [("PATCH", f"/api/v1/iscsi-cdroms/iso{k}",
              {"status": {"targetIQN": f"iqn.2026-01.lo.bench:iso{k}", "phase": "Ready", "portalPort": 3260, "lun": 1}},
              "application/merge-patch+json")
             for k in range(1, a.isos + 1)]
    hosts = []
    for m in range(1, a.hosts + 1):
        k = (m - 1) % a.isos + 1
        allowed = iso_configs(k)
        hosts.append(("POST", "/api/v1/namespaces/default/baremetalhosts",
                      {"apiVersion": "v1", "kind": "BareMetalHost",
                       "metadata": {"name": f"h{m}", "labels": {"rack": f"r{(m - 1) // 40 + 1}"}},
                       "spec": {"bootMACAddress": host_mac(m), "ip": host_ip(m), "hostname": f"node{m}.bench.lo",
                                "image": f"iso{k}", "bootConfigRef": allowed[(m - 1) // a.isos % len(allowed)],
                                "online": True,
                                "bmc": {"address": f"10.2.{(m >> 8) & 255}.{m & 255}", "username": "admin", "password": "bench"}}},
                      "application/json"))

    summary = {"hosts": a.hosts, "isos": a.isos, "configs": a.configs, "threads": a.threads}
    summary["configs_fill"] = run_parallel(a.url, a.threads, configs, f"{a.configs} BootConfigs")
    summary["isos_fill"] = run_parallel(a.url, a.threads, isos, f"{a.isos} ISCSICdroms")
    summary["isos_ready"] = run_parallel(a.url, a.threads, ready, f"{a.isos} ISO status patches")
    summary["hosts_fill"] = run_parallel(a.url, a.threads, hosts, f"{a.hosts} BareMetalHosts")

    with open(os.path.join(a.out, "macs.txt"), "w") as f:
        f.writelines(host_mac(m) + "\n" for m in range(1, a.hosts + 1))
    with open(os.path.join(a.out, "ips.txt"), "w") as f:
        f.writelines(host_ip(m) + "\n" for m in range(1, a.hosts + 1))
    with open(os.path.join(a.out, "hosts.txt"), "w") as f:
        f.writelines(f"h{m}\n" for m in range(1, a.hosts + 1))
    with open(os.path.join(a.out, "fill.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
