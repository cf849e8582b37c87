"""Process-level API tests: the real bootgate binary on loopback, a real SQLite store in a
temporary folder, driven over HTTP (and by the real kubectl)."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("BOOTGATE_BIN", os.path.join(ROOT, ".build", "debug", "bootgate"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One bootgate process. `restart()` keeps the data folder; `kill()` is SIGKILL."""

    def __init__(self, examples=True, extra=()):
        self.data = tempfile.mkdtemp(prefix="bootgate-api-")
        self.port = free_port()
        self.examples = examples
        self.extra = list(extra)
        self.proc = None
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        args = [BINARY, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", self.data,
                "--examples", os.path.join(ROOT, "examples") if self.examples else "none",
                "--public-url", f"http://127.0.0.1:{self.port}", "--iscsi-portal", "127.0.0.1"] + self.extra
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError("bootgate exited: " + self.logtext())
                time.sleep(0.05)
        raise RuntimeError("bootgate did not start: " + self.logtext())

    def logtext(self):
        with open(os.path.join(self.data, "server.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    # HTTP helpers -----------------------------------------------------------------------
    def request(self, method, path, body=None, content_type="application/json", headers=None, raw=False):
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                payload = resp.read()
                return Response(resp.status, resp.headers, payload, raw)
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read(), raw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, content_type="application/merge-patch+json", **kw):
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Response:
    def __init__(self, status, headers, payload, raw):
        self.status = status
        self.headers = headers
        self.payload = payload
        self.body = None
        if not raw and payload:
            try:
                self.body = json.loads(payload)
            except ValueError:
                self.body = None

    @property
    def text(self):
        return self.payload.decode(errors="replace")

    def __repr__(self):
        return f"<{self.status} {self.text[:500]}>"


@pytest.fixture
def server():
    s = Server(examples=True)
    yield s
    s.close()


@pytest.fixture
def empty_server():
    s = Server(examples=False)
    yield s
    s.close()


HOSTS = "/api/v1/namespaces/default/baremetalhosts"


def host(name, mac, image="", ref="", ip="", **spec):
    body = {"apiVersion": "v1", "kind": "BareMetalHost", "metadata": {"name": name, "namespace": "default"},
            "spec": {"bootMACAddress": mac, **spec}}
    if image:
        body["spec"]["image"] = image
    if ref:
        body["spec"]["bootConfigRef"] = ref
    if ip:
        body["spec"]["ip"] = ip
    return body
