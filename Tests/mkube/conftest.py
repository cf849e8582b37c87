"""Fixtures for the mkube emulator tests: an in-process emulator on 127.0.0.1 (random port) and
a raw HTTP client that shows exact bytes, headers and how a stream ended."""
import json
import os
import socket
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from emulator import Emulator  # noqa: E402

FIXTURE = os.path.join(HERE, "fixtures", "site-dump.json")


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode()

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def _read_head(f):
    status_line = f.readline()
    if not status_line:
        raise ConnectionError("closed before a status line")
    status = int(status_line.split()[1])
    headers, order = {}, []
    while True:
        line = f.readline().decode("latin-1").rstrip("\r\n")
        if not line:
            break
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
        order.append(k.strip())
    headers["__order__"] = order
    return status, headers


def _read_chunked(f):
    body = b""
    while True:
        size = int(f.readline().strip() or b"0", 16)
        if size == 0:
            f.readline()
            return body
        body += f.read(size)
        f.readline()


class Client:
    """A bare HTTP/1.1 client over one socket per request (exact bytes, no normalisation)."""

    def __init__(self, url):
        hostport = url.split("//", 1)[1]
        host, port = hostport.split(":")
        self.addr = (host, int(port))

    def raw(self, method, path, body=None, headers=None, timeout=10):
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Host": "%s:%d" % self.addr, "Connection": "close"}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        hdrs.update(headers or {})
        s = socket.create_connection(self.addr, timeout=timeout)
        head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
            "%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
        s.sendall(head.encode() + (body or b""))
        return s

    def request(self, method, path, body=None, headers=None, timeout=10):
        s = self.raw(method, path, body, headers, timeout)
        f = s.makefile("rb")
        try:
            status, h = _read_head(f)
            if method == "HEAD" or status in (204, 304):
                data = b""
            elif h.get("transfer-encoding") == "chunked":
                data = _read_chunked(f)
            elif "content-length" in h:
                data = f.read(int(h["content-length"]))
            else:
                data = f.read()
            return Resp(status, h, data)
        finally:
            f.close()
            s.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def watch(self, path, headers=None):
        return WatchStream(self.raw("GET", path, headers=headers, timeout=5))


class WatchStream:
    """Reads a chunked watch from the raw socket (a timed-out makefile() cannot be read again):
    events as raw lines; `end` is None, "clean" (0-chunk) or "abrupt" (EOF, no terminator)."""

    def __init__(self, sock):
        self.sock = sock
        self.raw = b""
        head = self._until(b"\r\n\r\n", 5.0)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.buf = b""
        self.lines = []
        self.end = None

    def _fill(self, timeout):
        """One recv; False on timeout, sets `end` on EOF/reset."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            self.end = "abrupt"
            return False
        if not data:
            self.end = "abrupt"
            return False
        self.raw += data
        return True

    def _until(self, sep, timeout):
        deadline = time.monotonic() + timeout
        while sep not in self.raw:
            if not self._fill(deadline - time.monotonic()) and (
                    getattr(self, "end", None) or time.monotonic() >= deadline):
                raise ConnectionError("no %r before timeout/EOF" % sep)
        out, _, self.raw = self.raw.partition(sep)
        return out

    def _parse_chunks(self):
        """Consume complete chunks from self.raw; returns True if any data was consumed."""
        progressed = False
        while b"\r\n" in self.raw:
            size_line, _, rest = self.raw.partition(b"\r\n")
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                self.end = "clean"
                self.raw = b""
                progressed = True
                break
            if len(rest) < size + 2:
                break
            self.buf += rest[:size]
            self.raw = rest[size + 2:]
            progressed = True
        *full, self.buf = self.buf.split(b"\n")
        self.lines.extend(full)
        return progressed

    def _pump(self, timeout):
        if self._parse_chunks():
            return True
        if self.end:
            return False
        got = self._fill(timeout)
        if got:
            self._parse_chunks()
        return got

    def read(self, n, timeout=5.0):
        """Wait until at least n lines have arrived (or the stream ends / times out)."""
        deadline = time.monotonic() + timeout
        while len(self.lines) < n and self.end is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._pump(left)
        return [json.loads(x) for x in self.lines[:n]]

    def events(self):
        return [json.loads(x) for x in self.lines]

    def idle(self, seconds):
        """True if nothing at all arrives for `seconds` (and the stream is still open)."""
        return not self._pump(seconds) and self.end is None

    def wait_end(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.end is None and time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        return self.end

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def emu():
    e = Emulator(port=0).start()
    yield e
    e.stop()


@pytest.fixture
def site(emu):
    emu.load_fixture_file(FIXTURE)
    return emu


@pytest.fixture
def client(emu):
    return Client(emu.url)


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    return pred()
