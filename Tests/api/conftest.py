"""Process-level API tests: the real bootgate binary on loopback, a real SQLite store in a
temporary folder, driven over HTTP (and by the real kubectl)."""
import json
import os
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from bootgate_process import BINARY, ROOT, BootgateProcess  # noqa: E402


class Server(BootgateProcess):
    """A bootgate process with HTTP helpers returning `Response`."""

    def __init__(self, examples=True, extra=(), key_from=None, power=False, wrapper=(), data=None, ssl_context=None, log=None):
        super().__init__(examples=examples, extra=extra, prefix="bootgate-api-", key_from=key_from, power=power,
                         wrapper=wrapper, data=data, ssl_context=ssl_context, log=log)

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
            with urllib.request.urlopen(req, timeout=30, context=self.ssl_context) as resp:
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


def wait_for(predicate, seconds=10, interval=0.05):
    """True once `predicate()` is, polled until `seconds` have passed."""
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


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
