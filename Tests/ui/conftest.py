"""Browser tests of the web page: the real bootgate binary on 127.0.0.1 with a temporary data
folder and the repository's examples, driven by headless Debian chromium through chromedriver.
Nothing here contacts any address but 127.0.0.1 (Selenium Manager is bypassed: the driver and
browser paths are given explicitly)."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from bootgate_process import BINARY, ROOT, BootgateProcess, free_port  # noqa: E402
CHROMIUM = os.environ.get("CHROMIUM_BIN", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", shutil.which("chromedriver") or "/usr/bin/chromedriver")
SCREENSHOTS = os.path.join(ROOT, "docs", "screenshots")

# Selenium must not look for drivers or send statistics over the network.
os.environ.setdefault("SE_AVOID_STATS", "true")
os.environ.setdefault("SE_OFFLINE", "true")


class Server(BootgateProcess):
    """A bootgate process (frequent keep-alives, so the page notices a dead stream quickly)
    with REST helpers returning (status, parsed JSON body)."""

    def __init__(self, examples=True, power=False, extra=()):
        super().__init__(examples=examples, extra=["--watch-keepalive", "2", *extra], prefix="bootgate-ui-", power=power)

    # REST through urllib: returns (status, parsed JSON body).
    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def get(self, path):
        status, body = self.request("GET", path)
        assert status == 200, body
        return body

    def patch(self, path, body):
        return self.request("PATCH", path, body, "application/merge-patch+json")

    def host(self, name, ns="default"):
        return self.get(f"/api/v1/namespaces/{ns}/baremetalhosts/{name}")


class AuthProxy:
    """A loopback reverse proxy in front of bootgate. With a token it demands
    `Authorization: Bearer <token>` on /api/ (bootgate itself needs no token yet), which lets
    the test see the page's token dialog. `expire_watches()` cuts the open watch streams and
    answers the next watch of each collection with 410 Gone, as a server that no longer has that
    resourceVersion would."""

    def __init__(self, upstream_port, token=None):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes: fine for streams

            def log_message(self, *args):
                pass

            def forward(self):
                base, _, query = self.path.partition("?")
                watch = "watch=true" in query
                proxy.requests.append((self.command, self.path))
                if watch and base in proxy.gone:
                    proxy.gone.discard(base)
                    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                       "message": "too old resource version", "reason": "Expired", "code": 410}).encode()
                    self.send_response(410)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.startswith("/api/") and token is not None:
                    proxy.api_requests += 1
                    if self.headers.get("Authorization") != f"Bearer {token}":
                        proxy.refused += 1
                        body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                           "message": "Unauthorized", "reason": "Unauthorized", "code": 401}).encode()
                        self.send_response(401)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
                # The Host the browser used goes on, as a reverse proxy passing `Host` does:
                # bootgate compares it with the page's Origin (same-origin check).
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "authorization")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                if watch:
                    proxy.streams.add(conn)
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.end_headers()
                try:
                    while True:
                        chunk = resp.read1(65536)
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    proxy.streams.discard(conn)
                    conn.close()

            do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = forward

        self.api_requests = 0
        self.refused = 0
        self.requests = []
        self.gone = set()
        self.streams = set()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def expire_watches(self, paths):
        self.gone = set(paths)
        for conn in list(self.streams):
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        for conn in list(self.streams):
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    if not os.access(BINARY, os.X_OK):
        pytest.skip(f"no bootgate binary at {BINARY} (run `swift build` or set BOOTGATE_BIN)")
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope="session")
def driver():
    """One headless chromium for the whole run (the CI machine is small)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("chromium and chromedriver are needed: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--force-device-scale-factor=1", "--lang=en-US", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    d.set_script_timeout(30)
    yield d
    d.quit()


@pytest.fixture
def browser(driver):
    """The shared chromium, reset to a 1280 px window with no blocked URLs and no session token."""
    driver.set_window_size(1280, 900)
    yield driver
    try:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        driver.get("about:blank")
        driver.delete_all_cookies()
    except Exception:
        pass
