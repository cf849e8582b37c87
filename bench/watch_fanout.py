#!/usr/bin/env python3
"""Watch fan-out: N concurrent watchers of BareMetalHosts, one PATCH at a time.

    watch_fanout.py --url http://127.0.0.1:PORT [--watchers 1000 --rounds 20] [--json OUT]

Each round PATCHes one host (a new annotation value, a token unique to the round), notes when
the PATCH is sent and when its 200 arrives (the acknowledgement), and when each watcher's
stream carries the token. Reported per round: ack time, time from ack until the last watcher
has the event; pooled over rounds: every watcher's latency after the ack (and after the send).

One process, one epoll loop, non-blocking sockets: the client's own time to read 1,000
events (a few ms of Python) is included in the figures, so they are an upper bound.
"""
import argparse
import json
import resource
import selectors
import socket
import statistics
import sys
import time
import urllib.parse
import uuid


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def http_get_json(host, port, path):
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        body = out
    return json.loads(body)


class Watcher:
    __slots__ = ("sock", "tail", "headers_ok", "seen", "buf")

    def __init__(self, sock):
        self.sock = sock
        self.tail = b""
        self.headers_ok = False
        self.seen = None
        self.buf = b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--watchers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--host", default="h1", help="namespace default; the host PATCHed each round")
    ap.add_argument("--json", help="write the raw results here")
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    assert u.hostname in ("127.0.0.1", "localhost"), "loopback only"
    host, port = u.hostname, u.port

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.watchers + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))

    rv = http_get_json(host, port, "/api/v1/iscsi-cdroms")["metadata"]["resourceVersion"]
    sel = selectors.EpollSelector()
    watchers = []
    req = (f"GET /api/v1/baremetalhosts?watch=true&resourceVersion={rv} HTTP/1.1\r\n"
           f"Host: {host}:{port}\r\nAccept: application/json\r\n\r\n").encode()
    t0 = time.monotonic()
    for i in range(a.watchers):
        for attempt in range(20):
            try:
                s = socket.create_connection((host, port), timeout=10)
                break
            except OSError:
                time.sleep(0.05 * (attempt + 1))
        else:
            sys.exit("watch: cannot connect watcher %d" % i)
        s.sendall(req)
        s.setblocking(False)
        w = Watcher(s)
        watchers.append(w)
        sel.register(s, selectors.EVENT_READ, w)

    # Wait for every watcher's 200.
    pending_headers = len(watchers)
    deadline = time.monotonic() + 30
    while pending_headers and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            w = key.data
            if not isinstance(w, Watcher):
                continue
            data = w.sock.recv(65536)
            if not data:
                sys.exit("watch: a watcher was closed before its headers")
            if not w.headers_ok:
                w.buf += data
                if b"\r\n\r\n" in w.buf:
                    if not w.buf.startswith(b"HTTP/1.1 200"):
                        sys.exit("watch: watcher got %r" % w.buf[:200])
                    w.headers_ok = True
                    w.buf = b""
                    pending_headers -= 1
    if pending_headers:
        sys.exit(f"watch: {pending_headers} watchers never got their headers")
    setup_s = time.monotonic() - t0
    print(f"watch: {len(watchers)} watchers connected in {setup_s:.1f} s", flush=True)

    patcher = socket.create_connection((host, port), timeout=10)
    patcher.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    patcher.setblocking(False)
    sel.register(patcher, selectors.EVENT_READ, "patch")

    rounds = []
    pooled_ack, pooled_send = [], []
    missing_total = 0
    for r in range(a.rounds):
        token = f"fanout-{r}-{uuid.uuid4().hex[:12]}"
        needle = token.encode()
        for w in watchers:
            w.seen = None
            w.tail = b""
        body = json.dumps({"metadata": {"annotations": {"bench/fanout": token}}}).encode()
        msg = (f"PATCH /api/v1/namespaces/default/baremetalhosts/{a.host} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Content-Type: application/merge-patch+json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        ack_buf = b""
        t_ack = None
        ack_status = None
        t_send = time.monotonic()
        patcher.sendall(msg)
        remaining = len(watchers)
        deadline = t_send + 10
        while (remaining or t_ack is None) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                now = time.monotonic()
                if key.data == "patch":
                    ack_buf += patcher.recv(1 << 20)
                    head, sep, rest = ack_buf.partition(b"\r\n\r\n")
                    if sep:
                        length = None
                        for line in head.split(b"\r\n")[1:]:
                            k, _, v = line.partition(b":")
                            if k.strip().lower() == b"content-length":
                                length = int(v.strip())
                        done = (len(rest) >= length) if length is not None else rest.endswith(b"0\r\n\r\n")
                        if done and t_ack is None:
                            t_ack = now
                            ack_status = int(head.split(b" ")[1])
                    continue
                w = key.data
                data = w.sock.recv(1 << 20)
                if not data:
                    sel.unregister(w.sock)
                    continue
                if w.seen is None:
                    hay = w.tail + data
                    if needle in hay:
                        w.seen = now
                        remaining -= 1
                    else:
                        w.tail = hay[-len(needle):]
        if ack_status != 200:
            sys.exit(f"watch: PATCH answered {ack_status}: {ack_buf[:300]!r}")
        seen = [w.seen for w in watchers if w.seen is not None]
        missing = len(watchers) - len(seen)
        missing_total += missing
        lat_ack = [(t - t_ack) * 1000 for t in seen]
        lat_send = [(t - t_send) * 1000 for t in seen]
        pooled_ack += lat_ack
        pooled_send += lat_send
        rr = {"round": r, "ack_ms": round((t_ack - t_send) * 1000, 3),
              "last_after_ack_ms": round(max(lat_ack), 3) if lat_ack else None,
              "last_after_send_ms": round(max(lat_send), 3) if lat_send else None,
              "first_after_send_ms": round(min(lat_send), 3) if lat_send else None,
              "p50_after_ack_ms": round(pct(lat_ack, 50), 3) if lat_ack else None,
              "missing": missing}
        rounds.append(rr)
        print("watch: round %2d: ack %.1f ms, first watcher %.1f ms after send, last %.1f ms after ack%s" % (
            r, rr["ack_ms"], rr["first_after_send_ms"] or -1, rr["last_after_ack_ms"] or -1,
            f", {missing} MISSING" if missing else ""), flush=True)
        time.sleep(0.2)

    last = [r["last_after_ack_ms"] for r in rounds if r["last_after_ack_ms"] is not None]
    last_send = [r["last_after_send_ms"] for r in rounds if r["last_after_send_ms"] is not None]
    result = {
        "watchers": len(watchers), "rounds": a.rounds, "missing_events": missing_total,
        "connect_seconds": round(setup_s, 3),
        "ack_ms": {"p50": pct([r["ack_ms"] for r in rounds], 50), "max": max(r["ack_ms"] for r in rounds)},
        "last_watcher_after_ack_ms": {"p50": pct(last, 50), "p99": pct(last, 99), "max": max(last),
                                      "mean": round(statistics.mean(last), 3)},
        "last_watcher_after_send_ms": {"p50": pct(last_send, 50), "p99": pct(last_send, 99), "max": max(last_send)},
        "per_watcher_after_ack_ms": {p: round(pct(pooled_ack, int(p[1:])), 3) for p in ("p50", "p90", "p99")}
        | {"min": round(min(pooled_ack), 3), "max": round(max(pooled_ack), 3)},
        "per_watcher_after_send_ms": {p: round(pct(pooled_send, int(p[1:])), 3) for p in ("p50", "p90", "p99")}
        | {"min": round(min(pooled_send), 3), "max": round(max(pooled_send), 3)},
        "per_round": rounds,
    }
    for w in watchers:
        w.sock.close()
    patcher.close()
    print("WATCHJSON " + json.dumps({k: v for k, v in result.items() if k != "per_round"}), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    if missing_total:
        sys.exit(f"watch: {missing_total} events never reached their watcher")


if __name__ == "__main__":
    main()
