#!/usr/bin/env python3
"""A Redfish BMC on loopback for bootgate's power tests: sushy-tools' emulator (sushy-emulator)
with its fake driver, configured by a config file as `sushy-emulator --config` reads it, served
by a threaded server, with a test side door in front of it:

    redfish_bmc.py --port 8000 --config emulator.conf [--delay 0.3] [--apply-delay 0]

The side door counts requests in flight (the most seen at once is what the concurrency test
asserts), keeps every Redfish request (method, path, JSON body) and can slow every answer:
GET /_test/state, POST /_test/delay {"seconds": s}, POST /_test/clear.

The fake driver applies a power change 1 to 11 s after it is asked (like hardware);
`--apply-delay` fixes that time so tests are not at the mercy of a random wait.
"""
import argparse
import json
import threading
import time
import types

from sushy_tools.emulator import main as emulator
from sushy_tools.emulator.resources.systems import fakedriver
from werkzeug.serving import run_simple


class SideDoor:
    def __init__(self, app, delay):
        self.app = app
        self.lock = threading.Lock()
        # sushy-tools keeps the fake systems in SQLite and answers 500 "database is locked" when
        # two requests touch it at once: the emulator itself serves one at a time, while the
        # in-flight count and the delay (the slow BMC the concurrency test measures) stay parallel.
        self.emulator = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = delay
        self.requests = []

    def state(self):
        with self.lock:
            return {"inFlight": self.in_flight, "maxInFlight": self.max_in_flight, "delay": self.delay,
                    "requests": list(self.requests)}

    def reply(self, start_response, obj):
        body = json.dumps(obj).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def __call__(self, env, start_response):
        path = env.get("PATH_INFO", "")
        if path.startswith("/_test/"):
            length = int(env.get("CONTENT_LENGTH") or 0)
            body = json.loads(env["wsgi.input"].read(length) or b"{}") if length else {}
            with self.lock:
                if path == "/_test/delay":
                    self.delay = float(body.get("seconds", 0))
                elif path == "/_test/clear":
                    self.requests.clear()
                    self.max_in_flight = self.in_flight
            return self.reply(start_response, self.state())
        length = int(env.get("CONTENT_LENGTH") or 0)
        raw = env["wsgi.input"].read(length) if length else b""
        # Hand the body on: the emulator reads it again.
        import io
        env["wsgi.input"] = io.BytesIO(raw)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append({"method": env.get("REQUEST_METHOD"), "path": path, "body": payload,
                                  "authorized": "HTTP_AUTHORIZATION" in env})
            delay = self.delay
        try:
            if delay:
                time.sleep(delay)
            with self.emulator:
                return list(self.app(env, start_response))
        finally:
            with self.lock:
                self.in_flight -= 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--apply-delay", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    fakedriver.random = types.SimpleNamespace(randint=lambda a, b: args.apply_delay)
    app = emulator.app
    app.configure(config_file=args.config)
    app.config["SUSHY_EMULATOR_FAKE_DRIVER"] = True
    door = SideDoor(app.wsgi_app, args.delay)
    app.wsgi_app = door
    ssl_context = (args.cert, args.key) if args.cert else None
    print("ready", flush=True)
    run_simple("127.0.0.1", args.port, app, threaded=True, ssl_context=ssl_context, request_handler=None)


if __name__ == "__main__":
    main()
