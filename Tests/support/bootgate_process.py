"""One bootgate process on 127.0.0.1 with a temporary data folder, shared by the API and the
browser test suites. `restart()` keeps the data folder and the port; `kill()` is SIGKILL."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("BOOTGATE_BIN", os.path.join(ROOT, ".build", "debug", "bootgate"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BootgateProcess:
    # Seconds a start may take (a suite loading a large store raises it).
    start_timeout = 30

    def __init__(self, examples=True, extra=(), prefix="bootgate-test-", key_from=None, power=False, wrapper=(), data=None, ssl_context=None,
                 log=None):
        self.data = data or tempfile.mkdtemp(prefix=prefix)
        os.makedirs(self.data, exist_ok=True)
        if key_from:  # replicas of one store seal secrets with one key
            shutil.copy(key_from, os.path.join(self.data, "secret.key"))
        # A command the binary runs under, e.g. ("prlimit", "--nofile=256:256", "--").
        self.wrapper = list(wrapper)
        # Set for a server started with --tls-cert: https, trusting that certificate.
        self.ssl_context = ssl_context
        self.port = free_port()
        self.examples = examples
        # Power control drives the BMCs hosts name; the examples name 192.168.x addresses, which
        # tests must never send to. Suites that test power turn it on with BMCs on loopback.
        self.extra = list(extra) + ([] if power else ["--power-control", "false"])
        self.proc = None
        # The log lives in the data folder unless a test needs that folder full or read-only.
        self.log_path = log or os.path.join(self.data, "server.log")
        self.log = open(self.log_path, "ab")
        self.start()

    @property
    def url(self):
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        args = self.wrapper + [BINARY, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", self.data,
                "--examples", os.path.join(ROOT, "examples") if self.examples else "none",
                "--public-url", self.url, "--iscsi-portal", "127.0.0.1"] + self.extra
        for attempt in range(40):
            try:
                self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
                break
            except OSError as e:  # ETXTBSY: `swift build` is rewriting the binary right now
                if e.errno != 26 or attempt == 39:
                    raise
                time.sleep(0.5)
        deadline = time.time() + self.start_timeout
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1, context=self.ssl_context).read()
                return
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError("bootgate exited: " + self.logtext())
                time.sleep(0.05)
        raise RuntimeError("bootgate did not start: " + self.logtext())

    def logtext(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        """SIGTERM: bootgate ends open watches and exits; SIGKILL if it has not after 5 s."""
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
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)
