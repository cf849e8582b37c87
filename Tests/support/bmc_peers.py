"""Simulated BMCs on loopback for the power tests (Tests/bmc): pyghmi's IPMI BMC and
sushy-tools' Redfish emulator, each a process on free ports, with helpers for their side doors."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from bootgate_process import ROOT, free_port

BMC_DIR = os.path.join(ROOT, "Tests", "bmc")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _json(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class _Peer:
    def _start(self, args, log):
        self.log_path = log
        self.logfile = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable] + args, stdout=self.logfile, stderr=subprocess.STDOUT)

    def _wait(self, url):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                return _json(url)
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError("BMC emulator exited: " + self.logtext())
                time.sleep(0.1)
        raise RuntimeError("BMC emulator did not start: " + self.logtext())

    def logtext(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logfile.close()


class IPMIBmc(_Peer):
    """pyghmi's BMC server: `address` is what a host's spec.bmc.address says."""

    def __init__(self, user="admin", password="secret", power="off", delay=0.0):
        self.port = free_udp_port()
        self.control = free_port()
        self.user, self.password = user, password
        self.dir = tempfile.mkdtemp(prefix="bmc-ipmi-")
        self._start([os.path.join(BMC_DIR, "ipmi_bmc.py"), "--port", str(self.port), "--control-port", str(self.control),
                     "--user", user, "--password", password, "--power", power, "--delay", str(delay)],
                    os.path.join(self.dir, "bmc.log"))
        self._wait(self.control_url)

    @property
    def control_url(self):
        return f"http://127.0.0.1:{self.control}/state"

    def address(self, scheme=True):
        return f"ipmi://127.0.0.1:{self.port}" if scheme else f"127.0.0.1:{self.port}"

    def state(self):
        return _json(self.control_url)

    def set_power(self, power):
        return _json(self.control_url, {"power": power})

    def set_delay(self, seconds=None, status=None):
        body = {k: v for k, v in (("seconds", seconds), ("status", status)) if v is not None}
        return _json(f"http://127.0.0.1:{self.control}/delay", body)

    def clear(self):
        return _json(f"http://127.0.0.1:{self.control}/clear", {})


class RedfishBmc(_Peer):
    """sushy-tools' emulator with the fake driver and `systems` fake systems (ids sys-0, sys-1, …)."""

    def __init__(self, systems=1, user="admin", password="secret", delay=0.0, power="Off", tls=False):
        import bcrypt
        self.port = free_port()
        self.user, self.password = user, password
        self.dir = tempfile.mkdtemp(prefix="bmc-redfish-")
        htpasswd = os.path.join(self.dir, "htpasswd")
        with open(htpasswd, "w") as f:
            f.write(f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
        self.ids = [f"sys-{i}" for i in range(systems)]
        fake = [{"uuid": i, "name": i, "power_state": power, "nics": [{"mac": "52:54:00:00:00:%02x" % (n % 256), "ip": "127.0.0.1"}]}
                for n, i in enumerate(self.ids)]
        config = os.path.join(self.dir, "emulator.conf")
        with open(config, "w") as f:
            f.write("SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n")
            f.write(f"SUSHY_EMULATOR_LISTEN_PORT = {self.port}\n")
            f.write("SUSHY_EMULATOR_FAKE_DRIVER = True\n")
            f.write(f"SUSHY_EMULATOR_FAKE_SYSTEMS = {fake!r}\n")
            f.write(f"SUSHY_EMULATOR_AUTH_FILE = {htpasswd!r}\n")
            f.write(f"SUSHY_EMULATOR_STATE_DIR = {os.path.join(self.dir, 'state')!r}\n")
        args = [os.path.join(BMC_DIR, "redfish_bmc.py"), "--port", str(self.port), "--config", config, "--delay", str(delay)]
        self.tls = tls
        if tls:
            cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
            args += ["--cert", cert, "--key", key]
        self._start(args, os.path.join(self.dir, "bmc.log"))
        self._wait_side_door()

    def _wait_side_door(self):
        import ssl
        ctx = ssl._create_unverified_context()
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/_test/state", timeout=2, context=ctx).read()
                return
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError("Redfish emulator exited: " + self.logtext())
                time.sleep(0.1)
        raise RuntimeError("Redfish emulator did not start: " + self.logtext())

    @property
    def base(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def address(self, system=0, scheme=None):
        scheme = scheme or ("redfish+https" if self.tls else "redfish+http")
        return f"{scheme}://127.0.0.1:{self.port}/redfish/v1/Systems/{self.ids[system]}"

    def _call(self, path, body=None, method=None, auth=True):
        import base64
        import ssl
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method or ("POST" if data is not None else "GET"))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode())
        with urllib.request.urlopen(req, timeout=10, context=ssl._create_unverified_context()) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def side(self):
        return self._call("/_test/state")

    def set_delay(self, seconds):
        return self._call("/_test/delay", {"seconds": seconds})

    def clear(self):
        return self._call("/_test/clear", {})

    def power_state(self, system=0):
        return self._call(f"/redfish/v1/Systems/{self.ids[system]}")["PowerState"]

    def system(self, system=0):
        return self._call(f"/redfish/v1/Systems/{self.ids[system]}")

    def reset(self, reset_type, system=0):
        """Behind bootgate's back."""
        return self._call(f"/redfish/v1/Systems/{self.ids[system]}/Actions/ComputerSystem.Reset", {"ResetType": reset_type})
