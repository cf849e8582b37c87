"""Watch streams: newline-delimited events, resume from a resourceVersion, selectors,
bookmarks and keep-alives."""
import http.client
import json
import os
import socket
import time

import pytest

from conftest import HOSTS, Server, host


class Watch:
    def __init__(self, server, path, timeout=10):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        self.conn.request("GET", path)
        self.resp = self.conn.getresponse()

    def line(self):
        return self.resp.readline()

    def event(self):
        while True:
            raw = self.line()
            if raw == b"":
                return None
            if raw.strip():
                return json.loads(raw)

    def close(self):
        self.conn.close()


def test_watch_starts_with_state_then_streams_changes(server):
    w = Watch(server, "/api/v1/baremetalhosts?watch=true")
    assert w.resp.status == 200 and w.resp.getheader("Content-Type") == "application/json"
    first = w.event()
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "server1"
    assert "password" not in first["object"]["spec"]["bmc"]
    server.patch(HOSTS + "/server1", {"metadata": {"labels": {"x": "1"}}})
    ev = w.event()
    assert ev["type"] == "MODIFIED" and ev["object"]["metadata"]["labels"] == {"x": "1"}
    server.post(HOSTS, host("h9", "52:54:00:00:00:09"))
    ev = w.event()
    assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "h9"
    server.delete(HOSTS + "/h9")
    ev = w.event()
    # DELETED carries the last full object (mkube's carries none of the spec).
    assert ev["type"] == "DELETED" and ev["object"]["spec"]["bootMACAddress"] == "52:54:00:00:00:09"
    w.close()


def test_watch_resumes_from_a_resource_version(server):
    rv = server.get("/api/v1/bootconfigs").body["metadata"]["resourceVersion"]
    server.patch("/api/v1/bootconfigs/fedora-server", {"spec": {"description": "one"}})
    server.patch("/api/v1/bootconfigs/fedora-server", {"spec": {"description": "two"}})
    w = Watch(server, f"/api/v1/bootconfigs?watch=true&resourceVersion={rv}")
    a, b = w.event(), w.event()
    assert [a["object"]["spec"]["description"], b["object"]["spec"]["description"]] == ["one", "two"]
    assert int(a["object"]["metadata"]["resourceVersion"]) > int(rv)
    w.close()


def test_watch_survives_a_restart_from_the_last_version(server):
    rv = server.get("/api/v1/bootconfigs").body["metadata"]["resourceVersion"]
    server.patch("/api/v1/bootconfigs/fedora-server", {"spec": {"description": "before restart"}})
    server.restart()
    w = Watch(server, f"/api/v1/bootconfigs?watch=true&resourceVersion={rv}")
    assert w.event()["object"]["spec"]["description"] == "before restart"
    w.close()


def test_watch_with_selectors(server):
    w = Watch(server, "/api/v1/baremetalhosts?watch=true&fieldSelector=metadata.name%3Dh2")
    server.post(HOSTS, host("h1", "52:54:00:00:00:01"))
    server.post(HOSTS, host("h2", "52:54:00:00:00:02"))
    ev = w.event()
    assert ev["object"]["metadata"]["name"] == "h2"
    w.close()


def test_namespaced_watch_filters_by_namespace(server):
    w = Watch(server, "/api/v1/namespaces/lab/baremetalhosts?watch=true")
    server.post(HOSTS, host("h1", "52:54:00:00:00:01"))
    server.post("/api/v1/namespaces/lab/baremetalhosts", host("l1", "52:54:00:00:00:02") | {"metadata": {"name": "l1"}})
    assert w.event()["object"]["metadata"]["name"] == "l1"
    w.close()


def test_bookmarks_keepalives_and_timeout():
    s = Server(examples=True, extra=["--watch-keepalive", "1"])
    try:
        w = Watch(s, "/api/v1/iscsi-cdroms?watch=true&allowWatchBookmarks=true&resourceVersion=1000000")
        ev = w.event()
        assert ev["type"] == "BOOKMARK" and ev["object"]["metadata"]["resourceVersion"].isdigit()
        w.close()
        w = Watch(s, "/api/v1/iscsi-cdroms?watch=true&resourceVersion=1000000")
        assert w.line() == b"\n"  # a bare newline keeps idle proxies from cutting the stream
        w.close()
        w = Watch(s, "/api/v1/iscsi-cdroms?watch=true&timeoutSeconds=1&resourceVersion=1000000")
        while w.event() is not None:
            pass  # the stream ends by itself
        w.close()
    finally:
        s.close()


def test_bad_resource_version(server):
    r = server.get("/api/v1/bootconfigs?watch=true&resourceVersion=abc")
    assert r.status == 400


def test_namespaced_watch_starts_with_that_namespace_only(server):
    # The namespaced list joins hosts on a network of that name (mkube); its watch does not.
    server.post("/api/v1/namespaces/lab/baremetalhosts", host("l1", "52:54:00:00:00:02", network="g10") | {"metadata": {"name": "l1"}})
    assert [h["metadata"]["name"] for h in server.get("/api/v1/namespaces/g10/baremetalhosts").body["items"]] == ["l1"]
    w = Watch(server, "/api/v1/namespaces/g10/baremetalhosts?watch=true")
    server.post("/api/v1/namespaces/g10/baremetalhosts", host("g1", "52:54:00:00:00:03") | {"metadata": {"name": "g1"}})
    assert w.event()["object"]["metadata"]["name"] == "g1"
    w.close()


def test_sigterm_ends_open_watches_and_exits(server):
    import time
    w = Watch(server, "/api/v1/baremetalhosts?watch=true")
    assert w.event()["type"] == "ADDED"
    started = time.time()
    server.proc.terminate()
    server.proc.wait(10)
    assert time.time() - started < 5
    while w.event() is not None:
        pass  # the stream ended cleanly
    w.close()
    server.start()  # the data folder is intact
    assert server.get(HOSTS + "/server1").status == 200


def open_sockets(server):
    fd_dir = f"/proc/{server.proc.pid}/fd"
    count = 0
    for fd in os.listdir(fd_dir):
        try:
            count += os.readlink(os.path.join(fd_dir, fd)).startswith("socket:")
        except FileNotFoundError:  # closed while counting
            pass
    return count


def wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_watchers_that_hang_up_are_dropped_at_once(server):
    """A watcher that goes away is let go when it closes, not at the next keep-alive (30 s)."""
    # The start-up /healthz probe's connection may still be closing: count once it has gone.
    wait_for(lambda: open_sockets(server) <= 1, 2)
    before = open_sockets(server)
    watches = [Watch(server, HOSTS + "?watch=true") for _ in range(40)]
    for w in watches:
        assert w.event()["type"] == "ADDED"
    assert open_sockets(server) >= before + 40
    for w in watches:
        w.resp.close()
        w.close()
    assert wait_for(lambda: open_sockets(server) <= before, 5), f"{open_sockets(server)} sockets open, {before} before"
    # One that only closes its sending side (half-close) is let go too.
    half = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    half.sendall(f"GET {HOSTS}?watch=true HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert half.recv(65536).startswith(b"HTTP/1.1 200 ")
    half.shutdown(socket.SHUT_WR)
    started = time.time()
    while half.recv(65536):
        pass
    assert time.time() - started < 5
    # The server still streams to the watchers that stay.
    stay = Watch(server, HOSTS + "?watch=true&resourceVersion=" + server.get(HOSTS).body["metadata"]["resourceVersion"])
    assert server.post(HOSTS, host("after-hangups", "52:54:00:ab:cd:ef")).status == 201
    assert stay.event()["object"]["metadata"]["name"] == "after-hangups"
    stay.close()
