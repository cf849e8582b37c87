"""The inline boot lane: /ipxe, /api/v1/bootconfig and the stored-file routes are answered on the
connection's event loop (Sources/Gateway/REST/InlineRouteHandler.swift). These tests check
what a client can tell apart: headers, order on one connection, Connection: close, errors."""
import re
import socket
import struct
import threading
import time

from conftest import HOSTS, host

MAC = "ac:1f:6b:8a:a7:9c"  # server1 in the examples


def raw_exchange(server, payload, expect, timeout=10):
    """Sends raw bytes on one connection; reads until `expect` responses are complete."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    s.sendall(payload)
    data = b""
    deadline = time.time() + timeout
    while data.count(b"HTTP/1.1 ") < expect or not complete(data, expect):
        if time.time() > deadline:
            break
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return s, data


def complete(data, expect):
    """True when `expect` responses with Content-Length or chunked bodies are all in `data`."""
    rest = data
    for _ in range(expect):
        head_end = rest.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = rest[:head_end].decode("latin-1").lower()
        body = rest[head_end + 4:]
        if "content-length:" in head:
            n = int(head.split("content-length:")[1].split("\r\n")[0])
            if len(body) < n:
                return False
            rest = body[n:]
        elif "transfer-encoding: chunked" in head:
            end = body.find(b"\r\n0\r\n\r\n")
            if not body.startswith(b"0\r\n\r\n") and end < 0:
                return False
            rest = body[5:] if body.startswith(b"0\r\n\r\n") else body[end + 7:]
        else:
            rest = body
    return True


def test_inline_answers_carry_the_same_headers_as_the_api(server):
    ipxe = server.get("/ipxe?mac=" + MAC, raw=True)
    api = server.get("/version")
    assert ipxe.status == 200 and ipxe.text.startswith("#!ipxe\n")
    assert ipxe.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert int(ipxe.headers["Content-Length"]) == len(ipxe.payload)
    for name in ("Server", "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"):
        assert ipxe.headers[name] == api.headers[name], name
    # No CORS without --cors-origin (test_security.py covers the rules).
    assert ipxe.headers["Access-Control-Allow-Origin"] is None
    # Same format and clock as Hummingbird's Date header (IMF-fixdate, GMT).
    assert ipxe.headers["Date"].endswith(" GMT") and len(ipxe.headers["Date"]) == len(api.headers["Date"])


def test_inline_errors_are_status_objects(server):
    r = server.get("/ipxe?mac=not-a-mac")
    assert r.status == 400
    assert r.body["kind"] == "Status" and "not a MAC address" in r.body["message"]
    assert r.headers["Access-Control-Allow-Origin"] is None
    r = server.get("/ipxe")
    assert r.status == 400 and "mac is required" in r.body["message"]


def test_pipelined_requests_are_answered_in_order(server):
    # A watch that ends after 1 s is answered by the async side; the /ipxe behind it on the
    # same connection must not overtake it.
    rv = server.get(HOSTS).body["metadata"]["resourceVersion"]
    payload = (f"GET {HOSTS}?watch=true&resourceVersion={rv}&timeoutSeconds=1 HTTP/1.1\r\nHost: x\r\n\r\n"
               f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\n\r\n"
               f"GET /api/v1/ipxe/localboot HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    s, data = raw_exchange(server, payload, 3)
    s.close()
    first, second, third = data.find(b"application/json"), data.find(b"#!ipxe\necho"), data.find(b"#!ipxe\nexit\n")
    assert data.count(b"HTTP/1.1 200") == 3, data[:2000]
    assert 0 <= first < second < third, data[:2000]


def test_connection_close_is_honoured(server):
    payload = f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    s, data = raw_exchange(server, payload, 1)
    assert b"#!ipxe" in data
    s.settimeout(5)
    assert s.recv(100) == b""  # the server closed its side
    s.close()


def test_keep_alive_connection_serves_many_boots(server):
    one = f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    s, data = raw_exchange(server, one * 50, 50)
    s.close()
    assert data.count(b"HTTP/1.1 200 OK") == 50
    assert data.count(b"sanboot") + data.count(b"exit") >= 50


def test_head_and_post_are_not_inline_but_still_answered(server):
    r = server.request("HEAD", "/ipxe?mac=" + MAC, raw=True)
    assert r.status == 200 and r.payload == b""
    r = server.post("/ipxe?mac=" + MAC, {})
    assert r.status == 405


def test_every_boot_is_recorded(server):
    before = len(server.get("/api/v1/events?host=default/server1").body["items"])
    for _ in range(3):
        assert server.get("/ipxe?mac=" + MAC, raw=True).status == 200
    events = server.get("/api/v1/events?host=default/server1").body["items"]
    assert len(events) == before + 3
    assert all(e["type"] in ("ipxe", "ipxe-refused") for e in events[-3:])


def test_ipxe_style_keep_alive_request_is_answered_and_kept_open(server):
    # iPXE sends Connection: keep-alive; the connection must stay usable afterwards.
    one = f"GET /ipxe?mac={MAC} HTTP/1.1\r\nConnection: keep-alive\r\nHost: x\r\nUser-Agent: iPXE/1.21.1\r\n\r\n".encode()
    s, data = raw_exchange(server, one, 1)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"#!ipxe" in data
    s.sendall(one)
    s.settimeout(5)
    assert b"HTTP/1.1 200 OK" in s.recv(65536)
    s.close()


def test_request_split_across_packets(server):
    request = f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n".encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(request), 7):  # 7-byte pieces, head and all
        s.sendall(request[i:i + 7])
        time.sleep(0.01)
    data = b""
    while not complete(data, 1):
        data += s.recv(65536)
    s.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"#!ipxe" in data


def test_malformed_requests_are_not_answered_as_boots(server):
    # Not the lane's to judge: they go to NIO's decoder, which refuses them (Hummingbird's
    # upgrade-capable channel then sends nothing and leaves the connection; it never answers 200).
    for bad in (b"GET /ipxe?mac=x HTTP/1.1\r\nNo colon here\r\n\r\n",
                b"GET /ipxe?mac=x HTTP/1.1\r\nHost: x\r\n folded: value\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=2)
        s.sendall(bad)
        try:
            data = s.recv(200)
        except socket.timeout:
            data = b""
        s.close()
        assert not data.startswith(b"HTTP/1.1 200"), data[:200]
    # And the server still serves the boot path afterwards.
    assert server.get("/ipxe?mac=" + MAC, raw=True).status == 200


def test_get_with_a_body_is_left_to_hummingbird(server):
    payload = (f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    s, data = raw_exchange(server, payload, 2)
    s.close()
    assert data.count(b"HTTP/1.1 200 OK") == 2


def test_pipelining_without_reading_still_answers_everything_in_order(server):
    # Requests sent before any answer is read: the lane answers until the socket's write
    # buffer fills, then hands the connection to Hummingbird. Every answer must arrive, in
    # order (each names its MAC), and both paths must have answered (their header orders differ).
    count = 30000
    macs = [f"52:54:00:aa:{i // 256 % 256:02x}:{i % 256:02x}" for i in range(count)]
    payload = b"".join(f"GET /ipxe?mac={m} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for m in macs)
    s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sender = threading.Thread(target=s.sendall, args=(payload,))
    sender.start()
    time.sleep(2)  # not reading: the server's writes back up
    data = bytearray()
    deadline = time.time() + 120
    last = macs[-1].encode()
    while not (data.endswith(b"exit 1\n") and last in data[-400:]):  # the last answer is in
        assert time.time() < deadline, f"{data.count(b'HTTP/1.1 200 OK')} answers"
        chunk = s.recv(1 << 22)
        if not chunk:
            break
        data += chunk
    sender.join()
    s.close()
    found = [m.decode() for m in re.findall(rb"no BareMetalHost has MAC ([0-9a-f:]{17})", bytes(data))]
    assert found == macs
    lane, hummingbird = data.count(b"Server: bootgate\r\nContent-Length"), data.count(b"\r\nServer: bootgate\r\n\r\n")
    assert lane > 0 and hummingbird > 0 and lane + hummingbird == count, (lane, hummingbird)


def test_idle_boot_connections_are_closed_and_busy_ones_kept():
    """Firmware that resets never closes its connection: the lane closes one that sends nothing
    for --boot-idle-timeout (to twice that), and keeps one that keeps asking."""
    from conftest import Server
    s = Server(examples=True, extra=("--boot-idle-timeout", "1"))
    try:
        request = f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        idle, data = raw_exchange(s, request, 1)
        assert data.startswith(b"HTTP/1.1 200 ")
        half, _ = raw_exchange(s, b"GET /ipxe?mac=" + MAC.encode(), 0)  # a head that never ends
        busy, _ = raw_exchange(s, request, 1)
        started = time.time()
        for _ in range(8):  # 4 s of a request every half second
            time.sleep(0.5)
            busy.sendall(request)
            assert busy.recv(65536).startswith(b"HTTP/1.1 200 ")
        for conn in (idle, half):
            conn.settimeout(5)
            assert conn.recv(1) == b"", "an idle connection was left open"
        assert time.time() - started < 6
    finally:
        s.close()


def test_connections_served_by_the_lane_close_without_errors_logged(server):
    """A connection the lane served to its end never reached Hummingbird's HTTP handling, and
    its close is not an error."""
    request = f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    for _ in range(10):
        conn, data = raw_exchange(server, request * 3, 3)
        assert data.count(b"HTTP/1.1 200 ") == 3
        conn.close()
        # Reset by the client, as a load generator or a resetting machine does.
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        conn.sendall(request * 3)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        # Opened and closed without a request.
        socket.create_connection(("127.0.0.1", server.port), timeout=10).close()
    # And one passed on to Hummingbird mid-way still works and closes quietly.
    conn, data = raw_exchange(server, request + b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    assert data.count(b"HTTP/1.1 200 ") == 2
    conn.close()
    time.sleep(0.5)
    assert server.get("/healthz", raw=True).status == 200
    assert " error " not in server.logtext(), server.logtext()[-2000:]
