"""A private tgtd on loopback with its own control port (`tgtd -C N`), for the API and e2e
suites. Needs root. `kill()` is SIGKILL (targets are lost, as in a crash); `start()` again
reuses the control port and the iSCSI port."""
import os
import random
import re
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_control_port():
    """A control port no tgtd on this machine uses (their sockets are files in /var/run)."""
    for _ in range(50):
        n = random.randint(100, 9999)
        if not os.path.exists("/var/run/tgtd.ipc_abstract_namespace.%d" % n) and \
                not os.path.exists("/var/run/tgtd.ipc_abstract_namespace.%d.lock" % n):
            return n
    raise RuntimeError("no free tgtd control port")


class Tgtd:
    def __init__(self, log_path, portal="127.0.0.1", port=None):
        if os.geteuid() != 0:
            raise RuntimeError("tgtd needs root")
        self.control = free_control_port()
        self.portal = portal
        self.port = port or free_port()
        self.log_path = log_path
        self.proc = None
        self.start()

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["tgtd", "-f", "-C", str(self.control), "--iscsi",
                                      "portal=%s:%d" % (self.portal, self.port)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while self.tgtadm("--op", "show", "--mode", "target", check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tgtd did not start:\n" + open(self.log_path, errors="replace").read()[-3000:])
            time.sleep(0.1)

    def tgtadm(self, *a, check=True):
        r = subprocess.run(["tgtadm", "-C", str(self.control), "--lld", "iscsi"] + list(a),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if check and r.returncode != 0:
            raise RuntimeError("tgtadm %s failed: %s" % (" ".join(a), r.stdout.decode(errors="replace")))
        return r

    def show(self):
        return self.tgtadm("--op", "show", "--mode", "target").stdout.decode(errors="replace")

    def targets(self):
        """{iqn: {"tid", "luns": [{"lun", "type", "readonly", "path", "size"}]}} from `--op show`."""
        found, current, lun = {}, None, None
        for line in self.show().splitlines():
            m = re.match(r"Target (\d+): (\S+)", line)
            if m:
                current = found[m.group(2)] = {"tid": int(m.group(1)), "luns": []}
                continue
            s = line.strip()
            if current is None:
                continue
            if s.startswith("LUN: "):
                lun = {"lun": int(s[5:])}
                current["luns"].append(lun)
            elif lun is not None and s.startswith("Type: "):
                lun["type"] = s[6:]
            elif lun is not None and s.startswith("Readonly: "):
                lun["readonly"] = s[10:] == "Yes"
            elif lun is not None and s.startswith("Backing store path: "):
                lun["path"] = s[len("Backing store path: "):]
            elif lun is not None and s.startswith("Size: "):
                lun["size"] = s[6:].split(",")[0]
        return found

    def open_files(self):
        """The files tgtd holds open (`(deleted)` marks one renamed over or removed)."""
        out = []
        fd_dir = "/proc/%d/fd" % self.proc.pid
        for fd in os.listdir(fd_dir):
            try:
                out.append(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:
                pass
        return out

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        if self.proc and self.proc.poll() is None:
            # A tgtd with targets ignores SIGTERM; remove them, then stop it.
            for iqn, t in self.targets().items():
                self.tgtadm("--op", "delete", "--mode", "target", "--force", "--tid", str(t["tid"]), check=False)
            self.tgtadm("--op", "delete", "--mode", "system", check=False)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
