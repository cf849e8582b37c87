"""A real etcd cluster (Debian's etcd-server) on 127.0.0.1 with free ports and a temporary data
folder per member, for the replica tests. Members can be SIGKILLed and started again."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class EtcdCluster:
    def __init__(self, members=3, extra=()):
        self.extra = list(extra)
        self.dir = tempfile.mkdtemp(prefix="bootgate-etcd-")
        ports = free_ports(2 * members)
        self.names = [f"m{i}" for i in range(members)]
        self.client = dict(zip(self.names, ports[:members]))
        self.peer = dict(zip(self.names, ports[members:]))
        self.procs = {}
        self.initial = ",".join(f"{n}=http://127.0.0.1:{self.peer[n]}" for n in self.names)
        for n in self.names:
            self.start(n, new=True)
        self.wait_healthy()

    @property
    def store_url(self):
        return "etcd://" + ",".join(f"127.0.0.1:{self.client[n]}" for n in self.names)

    def url(self, name):
        return f"http://127.0.0.1:{self.client[name]}"

    def start(self, name, new=False):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen([
            "etcd", "--name", name, "--data-dir", os.path.join(self.dir, name),
            "--listen-client-urls", self.url(name), "--advertise-client-urls", self.url(name),
            "--listen-peer-urls", f"http://127.0.0.1:{self.peer[name]}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer[name]}",
            "--initial-cluster", self.initial, "--initial-cluster-state", "new" if new else "existing",
            "--initial-cluster-token", os.path.basename(self.dir),
            "--heartbeat-interval", "50", "--election-timeout", "500",
        ] + self.extra, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, name):
        self.procs[name].kill()
        self.procs[name].wait()

    def call(self, name, path, body):
        req = urllib.request.Request(self.url(name) + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=2) as r:
            return json.loads(r.read())

    def wait_healthy(self, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if all(self.call(n, "/v3/maintenance/status", {}).get("leader") for n in self.names if self.procs[n].poll() is None):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("etcd cluster did not become healthy: " + open(os.path.join(self.dir, self.names[0] + ".log")).read()[-2000:])

    def compact(self, revision):
        self.call(self.names[0], "/v3/kv/compaction", {"revision": str(revision), "physical": True})

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
