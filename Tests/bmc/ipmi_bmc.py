#!/usr/bin/env python3
"""A simulated IPMI BMC on loopback for bootgate's power tests: pyghmi's BMC server (RMCP+,
the session handshake real BMCs speak, which `ipmitool -I lanplus` talks to), with a small
HTTP side door the tests use to read what the BMC was told and to change its power state
behind bootgate's back.

    ipmi_bmc.py --port 6230 --control-port 6231 --user admin --password secret [--delay 0.5]

Side door (127.0.0.1:CONTROL_PORT): GET /state → {"power", "commands", "bootOptions", ...};
POST /state {"power": "on"|"off"} sets the state; POST /delay {"seconds": s} slows every
power on/off/reset (the BMC answers nothing meanwhile: pyghmi serves one request at a time),
and {"status": s} every power status read. "sessions" counts the RMCP+ sessions open at once
(from a client's first packet to its Close Session; a refused one stays counted until /clear),
"maxSessions" the most seen: how many BMC calls bootgate had going at once.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyghmi.ipmi.bmc as bmc
from pyghmi.ipmi.private import serversession


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.power = "off"
        self.delay = 0.0
        self.status_delay = 0.0
        self.sessions = set()     # client (address, port) pairs with a session open
        self.max_sessions = 0
        self.commands = []        # ["status", "on", "off", "reset", "bootdev"] in order
        self.boot_options = []    # [{"device", "efi", "persistent"}] per set-boot-flags request
        self.resets = 0

    def note(self, command):
        with self.lock:
            self.commands.append(command)

    def snapshot(self):
        with self.lock:
            return {"power": self.power, "commands": list(self.commands), "bootOptions": list(self.boot_options),
                    "resets": self.resets, "delay": self.delay, "statusDelay": self.status_delay,
                    "sessions": len(self.sessions), "maxSessions": self.max_sessions}

    def opened(self, client):
        with self.lock:
            self.sessions.add(client)
            self.max_sessions = max(self.max_sessions, len(self.sessions))

    def closed(self, client):
        with self.lock:
            self.sessions.discard(client)


class SimulatedBmc(bmc.Bmc):
    def __init__(self, authdata, state, **kw):
        super().__init__(authdata, **kw)
        self.state = state

    def _slow(self):
        if self.state.delay:
            time.sleep(self.state.delay)

    def sessionless_data(self, data, sockaddr):
        # A client's first packets (channel auth capabilities, open session) come here.
        self.state.opened(sockaddr)
        return super().sessionless_data(data, sockaddr)

    def get_power_state(self):
        if self.state.status_delay:
            time.sleep(self.state.status_delay)
        self.state.note("status")
        return self.state.power

    def power_on(self):
        self._slow()
        self.state.note("on")
        with self.state.lock:
            self.state.power = "on"

    def power_off(self):
        self._slow()
        self.state.note("off")
        with self.state.lock:
            self.state.power = "off"

    def power_reset(self):
        self._slow()
        self.state.note("reset")
        with self.state.lock:
            # A reset of a host that is off does nothing on most BMCs.
            if self.state.power == "on":
                self.state.resets += 1

    def set_boot_device(self, bootdevice):
        self.state.note("bootdev")

    def set_system_boot_options(self, request, session):
        data = list(request["data"])
        if data and data[0] == 5 and len(data) > 2:
            flags = data[1]
            # IPMI boot flags, byte 1: bit 7 valid, bit 6 persistent (else next boot only), bit 5 EFI.
            with self.state.lock:
                self.state.boot_options.append({"device": {1: "pxe", 2: "disk", 5: "cdrom", 6: "bios"}.get((data[2] >> 2) & 0xF, "other"),
                                                "efi": bool(flags & 0x20), "persistent": bool(flags & 0x40), "valid": bool(flags & 0x80)})
        return super().set_system_boot_options(request, session)


def control_server(state, port):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, obj):
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.reply(state.snapshot())

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with state.lock:
                if self.path == "/state" and body.get("power") in ("on", "off"):
                    state.power = body["power"]
                if self.path == "/delay":
                    state.delay = float(body.get("seconds", state.delay))
                    state.status_delay = float(body.get("status", state.status_delay))
                if self.path == "/clear":
                    state.commands.clear()
                    state.boot_options.clear()
                    state.max_sessions = len(state.sessions)
            self.reply(state.snapshot())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


_close = serversession.ServerSession.close_server_session


def _closing(session):
    session.bmc.state.closed(session.sockaddr)
    return _close(session)


serversession.ServerSession.close_server_session = _closing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--control-port", type=int, required=True)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--power", default="off")
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    state = State()
    state.power = args.power
    state.delay = args.delay
    control_server(state, args.control_port)
    server = SimulatedBmc({args.user: args.password}, state, port=args.port, address="127.0.0.1")
    print("ready", flush=True)
    server.listen()


if __name__ == "__main__":
    main()
