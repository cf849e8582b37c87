"""Hostile clients, cross-site pages and weak roles against the real binary on 127.0.0.1
(issue 15). Each test here failed against the server before its fix."""
import base64
import json
import os
import socket
import stat
import subprocess
import time

import pytest

from conftest import HOSTS, Server, host

SECRET = "S3cret-BMC-pw"
MAC = "AC:1F:6B:8A:A7:9C"


def proc_status(server, field):
    """A /proc/<pid>/status figure in kB (VmRSS now, VmHWM the peak)."""
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(server):
    with open(f"/proc/{server.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw(server, payload, timeout=5):
    """Sends bytes on a fresh connection; returns (first answer bytes, closed afterwards?)."""
    c = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    try:
        c.sendall(payload)
        data = c.recv(65536)
        try:
            rest = c.recv(65536)
        except socket.timeout:
            rest = None
        return data, rest == b""
    finally:
        c.close()


def set_password(server):
    r = server.patch(HOSTS + "/server1", {"metadata": {"annotations": {"note": "x"}},
                                          "spec": {"bmc": {"address": "10.0.0.9", "username": "ADMIN", "password": SECRET}}})
    assert r.status == 200, r
    assert SECRET not in r.text


# --- cross-site requests ----------------------------------------------------------------

def test_no_cors_by_default_and_foreign_origins_are_refused(server):
    r = server.get("/api/v1/bootconfigs")
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] is None
    for path in ("/api/v1/bootconfigs", "/ipxe?mac=" + MAC, "/version"):
        r = server.get(path, headers={"Origin": "http://evil.example"})
        assert r.status == 403 and "cross-origin" in r.body["message"], (path, r)
        assert r.headers["Access-Control-Allow-Origin"] is None
    r = server.request("DELETE", "/api/v1/iscsi-cdroms/baremetalservices", headers={"Origin": "http://evil.example"})
    assert r.status == 403
    # The page bootgate serves itself is same-origin.
    r = server.get("/api/v1/bootconfigs", headers={"Origin": server.url})
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] is None
    r = server.request("OPTIONS", "/api/v1/bootconfigs", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "DELETE"})
    assert r.status == 403 and r.headers["Access-Control-Allow-Origin"] is None


def test_cors_origin_names_the_only_pages_allowed():
    s = Server(extra=["--cors-origin", "http://ui.example:8443", "--cors-origin", "https://ops.example"])
    try:
        r = s.request("OPTIONS", HOSTS + "/server1", headers={"Origin": "http://ui.example:8443", "Access-Control-Request-Method": "PATCH",
                                                               "Access-Control-Request-Headers": "authorization,content-type"})
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "http://ui.example:8443"
        assert "PATCH" in r.headers["Access-Control-Allow-Methods"] and "Authorization" in r.headers["Access-Control-Allow-Headers"]
        assert "Origin" in r.headers["Vary"]
        r = s.get(HOSTS, headers={"Origin": "https://ops.example"})
        assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "https://ops.example"
        r = s.get(HOSTS, headers={"Origin": "http://ui.example:8444"})
        assert r.status == 403 and r.headers["Access-Control-Allow-Origin"] is None
    finally:
        s.close()


def test_form_or_text_posts_to_rpc_run_nothing(server):
    call = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "iscsicdroms.delete", "params": {"name": "baremetalservices"}})
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""):
        r = server.post("/rpc", call, content_type=content_type)
        assert r.status == 415, (content_type, r)
    assert server.get("/api/v1/iscsi-cdroms/baremetalservices").status == 200
    r = server.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "system.version"})
    assert r.status == 200 and r.body["result"]["server"] == "bootgate"


def websocket_handshake(server, origin=None, token=None):
    head = (f"GET /rpc/ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n")
    if origin:
        head += f"Origin: {origin}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    data, _ = raw(server, (head + "\r\n").encode(), timeout=3)
    return int(data.split(b" ")[1])


def test_websocket_upgrades_check_the_origin(server):
    assert websocket_handshake(server) == 101  # no Origin: not a browser
    assert websocket_handshake(server, origin=server.url) == 101
    # Refused before the upgrade; Hummingbird answers a declined upgrade with 400.
    assert websocket_handshake(server, origin="http://evil.example") == 400


# --- YAML aliases -------------------------------------------------------------------------

def billion_laughs():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_billion_laughs_is_refused_fast_with_bounded_memory(server):
    doc = billion_laughs()
    assert len(doc) < 600
    before = proc_status(server, "VmRSS")
    started = time.time()
    r = server.post("/api/v1/bootconfigs", doc, content_type="application/yaml")
    elapsed = time.time() - started
    assert r.status == 400 and "aliases are not supported" in r.body["message"], r
    assert elapsed < 0.5, elapsed
    # An alias as a mapping key: Yams hashes keys while composing (7 levels took 4.5 s).
    keyed = "\n".join(doc.splitlines()[:7]) + "\nz: {? *g : 1}\n"
    started = time.time()
    r = server.post("/api/v1/bootconfigs", keyed, content_type="application/yaml")
    assert r.status == 400 and time.time() - started < 0.5
    assert proc_status(server, "VmRSS") - before < 20_000
    # Anchors without aliases stay fine.
    r = server.post("/api/v1/bootconfigs", "kind: BootConfig\nmetadata: {name: anchored}\nspec: &s {format: custom, data: {a.txt: hi}}\n",
                    content_type="application/yaml")
    assert r.status == 201, r


# --- watchers that never read ----------------------------------------------------------------

def test_watchers_that_never_read_are_cut_off_with_bounded_memory(server):
    rv = server.get(HOSTS).body["metadata"]["resourceVersion"]
    sleepers = []
    for _ in range(20):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", server.port))
        c.sendall(f"GET {HOSTS}?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sleepers.append(c)
    time.sleep(0.5)
    before = proc_status(server, "VmRSS")
    filler = "x" * 2000
    for batch in range(15):
        calls = [{"jsonrpc": "2.0", "id": i, "method": "baremetalhosts.patch",
                  "params": {"namespace": "default", "name": "server1", "body": {"metadata": {"annotations": {"n": f"{batch}-{i}-{filler}"}}}}}
                 for i in range(1000)]
        r = server.post("/rpc", calls)
        assert r.status == 200 and all("result" in x for x in r.body)
    grown = proc_status(server, "VmRSS") - before
    assert grown < 100_000, f"{grown} kB"
    # Each was disconnected: what reached its socket drains, then the connection ends.
    for c in sleepers:
        c.settimeout(10)
        while c.recv(1 << 20):
            pass
        c.close()
    # A watcher that reads is unaffected.
    r = server.get(HOSTS + "?watch=true&timeoutSeconds=1")
    assert r.status == 200 and b"ADDED" in r.payload


# --- JSON-RPC batch answers -----------------------------------------------------------------

def test_rpc_batch_answer_is_capped(server):
    big = "#!/bin/sh\n" + ("echo " + "y" * 90 + "\n") * 40_000  # ~3.8 MB
    r = server.post("/api/v1/bootconfigs", {"kind": "BootConfig", "metadata": {"name": "big"}, "spec": {"format": "custom", "data": {"run.sh": big}}})
    assert r.status == 201, r
    calls = [{"jsonrpc": "2.0", "id": i, "method": "bootconfigs.get", "params": {"name": "big"}} for i in range(100)]
    body = json.dumps(calls)
    assert len(body) < 9000
    peak_before = proc_status(server, "VmHWM")
    r = server.post("/rpc", body)
    assert r.status == 200
    answered = [x for x in r.body if "result" in x]
    refused = [x for x in r.body if "error" in x]
    assert len(r.body) == 100 and 1 <= len(answered) <= 5
    assert all(x["error"]["code"] == -32001 and "too large" in x["error"]["message"] for x in refused)
    assert len(r.payload) < 24 * 1024 * 1024
    assert proc_status(server, "VmHWM") - peak_before < 300_000


# --- secrets through JSON Patch and kubectl's annotation ------------------------------------

def test_json_patch_cannot_copy_move_or_test_a_secret(server):
    set_password(server)
    attempts = [
        [{"op": "copy", "from": "/spec/bmc/password", "path": "/metadata/annotations/leak"}],
        [{"op": "move", "from": "/spec/bmc/password", "path": "/metadata/annotations/leak"}],
        [{"op": "copy", "from": "/spec/bmc", "path": "/spec/ignition"}],
        [{"op": "copy", "from": "/spec", "path": "/spec/ignition"}],
        [{"op": "copy", "from": "/spec/bmc/password", "path": "/spec/ip"}],
        [{"op": "test", "path": "/spec/bmc/password", "value": SECRET}],
        [{"op": "test", "path": "/spec/bmc", "value": {"address": "10.0.0.9", "username": "ADMIN", "password": SECRET}}],
    ]
    for ops in attempts:
        r = server.patch(HOSTS + "/server1", ops, content_type="application/json-patch+json")
        assert r.status == 400, (ops, r)
        assert SECRET not in r.text and "secret field" in r.body["message"]
        r = server.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "baremetalhosts.patch",
                                 "params": {"namespace": "default", "name": "server1", "patchType": "json", "body": ops}})
        assert "error" in r.body and SECRET not in r.text
    # Nothing was changed, and the password is where it was.
    assert SECRET not in server.get(HOSTS + "/server1").text
    assert server.get(HOSTS + "/server1?includeSecrets=true").body["spec"]["bmc"]["password"] == SECRET
    # Writing the password itself stays possible.
    r = server.patch(HOSTS + "/server1", [{"op": "replace", "path": "/spec/bmc/password", "value": "new-pw"}], content_type="application/json-patch+json")
    assert r.status == 200 and "new-pw" not in r.text


def test_last_applied_annotation_never_holds_the_password(server):
    manifest = host("applied", "52:54:00:aa:00:01", bmc={"address": "10.0.0.7", "username": "ADMIN", "password": SECRET})
    annotated = json.loads(json.dumps(manifest))
    annotated["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(manifest)}
    r = server.post(HOSTS, annotated)
    assert r.status == 201 and SECRET not in r.text
    got = server.get(HOSTS + "/applied")
    applied = json.loads(got.body["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["bmc"] == {"address": "10.0.0.7", "username": "ADMIN"}
    assert SECRET not in got.text and SECRET not in server.get(HOSTS).text
    assert server.get(HOSTS + "/applied?includeSecrets=true").body["spec"]["bmc"]["password"] == SECRET
    for name in ("bootgate.sqlite", "bootgate.sqlite-wal"):
        path = os.path.join(server.data, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                assert SECRET.encode() not in f.read(), name


# --- the data folder ---------------------------------------------------------------------------

def modes(folder):
    return {name: stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode)
            for name in ("bootgate.sqlite", "bootgate.sqlite-wal", "bootgate.sqlite-shm", "secret.key", "bootgate.lock")
            if os.path.exists(os.path.join(folder, name))}


def test_data_folder_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        data = str(tmp_path / "fresh" / "data")
        s = Server(examples=True, data=data)
        try:
            assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
            found = modes(data)
            assert set(found) >= {"bootgate.sqlite", "bootgate.sqlite-wal", "secret.key", "bootgate.lock"}
            assert all(m == 0o600 for m in found.values()), found
            # A folder left open by an earlier version is fixed at start.
            s.stop()
            os.chmod(data, 0o755)
            for name in modes(data):
                os.chmod(os.path.join(data, name), 0o644)
            s.start()
            assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
            assert all(m == 0o600 for m in modes(data).values()), modes(data)
        finally:
            s.close()
    finally:
        os.umask(old)


# --- connections ---------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b"GARBAGE\r\n\r\n", b"GET /ipxe HTTP/1.1\r\nBad Header\r\n\r\n",
                                     b"GET /ipxe HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                                     b"\x16\x03\x01\x00\x05hello\r\n\r\n"])
def test_malformed_requests_get_400_and_are_closed(server, payload):
    data, closed = raw(server, payload)
    assert data.startswith(b"HTTP/1.1 400 "), data
    assert closed


SMUGGLING = {
    "CL+TE": b"POST /api/v1/boot-complete HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
             b"GET /ipxe?mac=AC:1F:6B:8A:A7:9C HTTP/1.1\r\nHost: x\r\n\r\n",
    "TE+CL": b"POST /api/v1/boot-complete HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
    "TE not chunked": b"POST /rpc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Type: application/json\r\n\r\n{}",
    "obs-fold": b"GET /ipxe?mac=AC:1F:6B:8A:A7:9C HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "bare LF, boot lane": b"GET /ipxe?mac=AC:1F:6B:8A:A7:9C HTTP/1.1\nHost: x\n\n",
    "bare LF, API": b"GET /version HTTP/1.1\nHost: x\n\n",
    "space before colon": b"GET /ipxe?mac=AC:1F:6B:8A:A7:9C HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
}


@pytest.mark.parametrize("name", SMUGGLING)
def test_ambiguous_framing_is_refused_never_split(server, name):
    """Request smuggling: whatever the boot lane does not take as a plain GET goes to NIO's
    decoder, which refuses every ambiguous framing; exactly one answer, a 400, then close."""
    c = socket.create_connection(("127.0.0.1", server.port), timeout=3)
    c.sendall(SMUGGLING[name])
    out = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        out += chunk
    c.close()
    assert out.startswith(b"HTTP/1.1 400 ") and out.count(b"HTTP/1.1 ") == 1, out[:200]


def slowloris(server, head, gap=0.1, limit=30):
    """Sends a head a byte at a time; returns the seconds until the server closed, or None."""
    c = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    started = time.time()
    try:
        for b in head:
            c.sendall(bytes([b]))
            time.sleep(gap)
            if time.time() - started > limit:
                return None
    except OSError:
        return time.time() - started
    finally:
        c.close()
    return None


def test_slowloris_is_closed_after_the_header_deadline():
    s = Server(extra=["--header-timeout", "2"])
    try:
        for head in (b"GET /ipxe?mac=" + MAC.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 300,
                     b"POST /rpc HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 300):
            closed = slowloris(s, head)
            assert closed is not None and 1.5 < closed < 5, closed
        # A slow but complete request still gets its answer.
        data, _ = raw(s, b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 200 ")
    finally:
        s.close()


def test_connections_handed_to_the_api_have_an_idle_timeout():
    s = Server(extra=["--idle-timeout", "2"])
    try:
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(65536).startswith(b"HTTP/1.1 200 ")
        started = time.time()
        assert c.recv(65536) == b""
        assert time.time() - started < 6
        # A watch is an answer in progress: it is not cut by the idle timeout.
        w = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        w.sendall(f"GET {HOSTS}?watch=true&timeoutSeconds=5 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        started = time.time()
        while True:
            chunk = w.recv(65536)
            if not chunk or b"0\r\n\r\n" in chunk:
                break
            got += chunk
        assert time.time() - started > 4.5 and b"ADDED" in got
    finally:
        s.close()


def test_out_of_descriptors_ipxe_still_answers_and_nothing_spins():
    """300 silent and slow connections against a 256-descriptor limit: the server caps its
    connections below the limit and sheds the longest-waiting idle ones, so /ipxe answers."""
    s = Server(wrapper=["prlimit", "--nofile=256:256", "--"])
    held = []
    try:
        for i in range(300):
            c = socket.socket()
            c.settimeout(5)
            c.connect(("127.0.0.1", s.port))
            c.sendall(b"GET /ipxe?mac=" if i % 2 else b"G")
            held.append(c)
        time.sleep(1)
        fds = len(os.listdir(f"/proc/{s.proc.pid}/fd"))
        assert fds < 256
        spent = cpu_seconds(s)
        time.sleep(2)
        assert cpu_seconds(s) - spent < 0.3
        started = time.time()
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert c.recv(65536).startswith(b"HTTP/1.1 200 ") and time.time() - started < 1
        c.close()
        r = s.get("/healthz")
        assert r.status == 200
    finally:
        for c in held:
            c.close()
        s.close()


# --- safe defaults ---------------------------------------------------------------------------------

def serve_args(tmp_path, *extra):
    from conftest import BINARY
    return [BINARY, "serve", "--data", str(tmp_path / "data"), "--examples", "none", *extra]


def test_serve_defaults_to_loopback(tmp_path):
    from conftest import BINARY
    out = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True).stdout
    assert "default: 127.0.0.1:8082" in out
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "Makefile")) as f:
        assert "LISTEN ?= 127.0.0.1:8082" in f.read()


def test_a_wider_address_needs_a_token_file_or_insecure(tmp_path):
    # Refused before anything binds: nothing listens beyond loopback during this test.
    for address in ("0.0.0.0:18082", "[::]:18082", "192.0.2.1:18082"):
        p = subprocess.run(serve_args(tmp_path, "--listen", address), capture_output=True, text=True, timeout=30)
        assert p.returncode != 0
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "--token-file" in lines[0] and "--insecure" in lines[0], p.stderr
    # With --insecure it goes on (and fails to bind 192.0.2.1, an address this machine lacks).
    p = subprocess.run(serve_args(tmp_path, "--listen", "192.0.2.1:18082", "--insecure"), capture_output=True, text=True, timeout=30)
    assert "--token-file" not in p.stderr and "refusing" not in p.stderr


# --- tokens and roles ---------------------------------------------------------------------------------

def token(file, role, name):
    from conftest import BINARY
    p = subprocess.run([BINARY, "token", "create", "--role", role, "--name", name, "--file", str(file)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A server with a token file holding one token per role."""
    folder = tmp_path_factory.mktemp("tokens")
    file = folder / "tokens"
    tokens = {role: token(file, role, f"t-{role}") for role in ("viewer", "operator", "bmc-agent", "admin")}
    s = Server(extra=["--token-file", str(file)])
    s.tokens = tokens
    s.token_file = file
    r = s.patch(HOSTS + "/server1", {"spec": {"bmc": {"address": "10.0.0.9", "username": "ADMIN", "password": SECRET}}},
                headers=auth(tokens["admin"]))
    assert r.status == 200, r
    yield s
    s.close()


def auth(tok):
    return {"Authorization": f"Bearer {tok}"}


def test_token_file_holds_digests_only(guarded):
    from conftest import BINARY
    text = open(guarded.token_file).read()
    assert all(t not in text for t in guarded.tokens.values())
    assert stat.S_IMODE(os.stat(guarded.token_file).st_mode) == 0o600
    listed = subprocess.run([BINARY, "token", "list", "--file", str(guarded.token_file)], capture_output=True, text=True).stdout
    assert "t-viewer\tviewer" in listed and "t-bmc-agent\tbmc-agent" in listed


def test_tokens_are_picked_up_and_revoked_without_restart(guarded):
    from conftest import BINARY
    fresh = token(guarded.token_file, "viewer", "t-late")
    deadline = time.time() + 5
    while guarded.get(HOSTS, headers=auth(fresh)).status != 200:
        assert time.time() < deadline, "a new token is not picked up"
        time.sleep(0.2)
    subprocess.run([BINARY, "token", "revoke", "t-late", "--file", str(guarded.token_file)], check=True)
    deadline = time.time() + 5
    while guarded.get(HOSTS, headers=auth(fresh)).status != 401:
        assert time.time() < deadline, "a revoked token still works"
        time.sleep(0.2)


def operations(guarded):
    """Every operation of the table, as the OpenAPI document generated from it lists them."""
    doc = guarded.get("/openapi.json", headers=auth(guarded.tokens["viewer"])).body
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                concrete = path.replace("{namespace}", "default").replace("{name}", "server1").replace("{filename}", "x")
                ops.append((method.upper(), concrete, op["operationId"]))
    assert len(ops) >= 40
    return ops


BOOT = {"boot.chain", "boot.ipxe", "boot.config", "boot.complete", "boot.ipxeBySourceIP", "boot.localboot",
        # Files inside ISOs: machines fetch kernels and initrds without a token, as they read the
        # ISO itself over iSCSI (AccessPolicy.Need.bootOrRead; --boot-network limits who).
        "iscsicdroms.files"}


def test_no_operation_bypasses_the_check(guarded):
    """401 without a token and 403 for a role too weak, on REST and JSON-RPC, for every operation
    but the boot path and /healthz."""
    viewer = auth(guarded.tokens["viewer"])
    for method, path, op_id in operations(guarded):
        # /metrics is open to a scraper on loopback by design (a token of any role elsewhere:
        # AccessTests.metricsNeedATokenOffLoopback); this client is on loopback.
        if op_id in BOOT or op_id == "system.health" or op_id == "system.metrics" or path == "/rpc":
            continue
        body = {} if method in ("POST", "PUT", "PATCH") else None
        r = guarded.request(method, path, body, headers={"Accept": "application/json"})
        assert r.status == 401, (op_id, r)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        r = guarded.request(method, path, body, headers={"Authorization": "Bearer not-a-token"})
        assert r.status == 401, (op_id, r)
        rpc = guarded.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": op_id, "params": {}})
        assert rpc.status == 200 and rpc.body["error"]["code"] in (401, -32602), (op_id, rpc)
        if method != "GET":
            r = guarded.request(method, path, body, headers=viewer)
            assert r.status == 403, (op_id, r)
        if "includeSecrets" in path or method == "GET":
            r = guarded.request(method, path + ("&" if "?" in path else "?") + "includeSecrets=true", headers=viewer)
            assert r.status == 403 or op_id in ("system.health",), (op_id, r)
    # JSON-RPC with every parameter right: still 401 without a token.
    rpc = guarded.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "bootconfigs.get", "params": {"name": "coreos-builder"}})
    assert rpc.body["error"]["code"] == 401
    rpc = guarded.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"})
    assert rpc.body["error"]["code"] == 401


def test_the_boot_path_stays_open_and_healthz_too(guarded):
    r = guarded.get("/ipxe?mac=" + MAC)
    assert r.status == 200 and r.text.startswith("#!ipxe")
    assert guarded.get("/boot.ipxe").status == 200
    assert guarded.get("/healthz").status == 200
    # boot-complete needs no token and changes only the host whose address calls it.
    admin = auth(guarded.tokens["admin"])
    assert guarded.post("/api/v1/boot-complete", {}).status == 404  # 127.0.0.1 is no host's yet
    r = guarded.post(HOSTS, host("caller", "52:54:00:aa:00:09", image="coreos-live", ref="coreos-builder", ip="127.0.0.1"), headers=admin)
    assert r.status == 201, r
    before = guarded.get(HOSTS + "/server1", headers=admin).body["spec"]
    r = guarded.post("/api/v1/boot-complete", {})
    assert r.status == 200 and r.body["host"] == "caller", r
    assert guarded.get(HOSTS + "/caller", headers=admin).body["spec"]["image"] == "localboot"
    assert guarded.get(HOSTS + "/server1", headers=admin).body["spec"] == before
    assert guarded.delete(HOSTS + "/caller", headers=admin).status == 200


def test_pages_are_open_and_everything_else_is_not(guarded):
    """The web page's files are the only open routes besides the boot path and /healthz: a
    browser cannot send a token with a page load, and they hold no data."""
    from conftest import ROOT
    assets = os.path.join(ROOT, "Sources", "Gateway", "Assets", "ui")
    files = ["/" + os.path.relpath(os.path.join(d, f), assets) for d, _, fs in os.walk(assets) for f in fs]
    assert "/index.html" in files and len(files) >= 5
    for path in ["/"] + files:
        r = guarded.get(path, raw=True)
        assert r.status == 200 and b"server1" not in r.payload and SECRET.encode() not in r.payload, path
        assert guarded.request("HEAD", path).status == 200, path
        # Only reads: a write to a page path is not a page.
        assert guarded.request("POST", path, {}).status == 401, path
    for path in ("/nope", "/api/v1/nope", "/rpc/ws", "/.env"):
        assert guarded.get(path).status == 401, path
    # Rendered configs (root passwords, keys) are data like any other: the boot lane checks too.
    for path in ("/api/v1/bootconfigs/coreos-builder/serve", "/api/v1/namespaces/default/baremetalhosts/server1/preview"):
        assert guarded.get(path).status == 401, path
        assert guarded.get(path, headers=auth(guarded.tokens["viewer"])).status == 200, path


def test_roles(guarded):
    t = guarded.tokens
    h = HOSTS + "/server1"
    # Secrets: bmc-agent and admin only, in get, list and watch.
    for role in ("viewer", "operator"):
        assert guarded.get(h + "?includeSecrets=true", headers=auth(t[role])).status == 403
        r = guarded.get(h, headers=auth(t[role]))
        assert r.status == 200 and SECRET not in r.text
    for role in ("bmc-agent", "admin"):
        assert guarded.get(h + "?includeSecrets=true", headers=auth(t[role])).body["spec"]["bmc"]["password"] == SECRET
        assert SECRET in guarded.get(HOSTS + "?includeSecrets=true", headers=auth(t[role])).text
    r = guarded.get(HOSTS + "?watch=true&timeoutSeconds=1&includeSecrets=true", headers=auth(t["bmc-agent"]))
    assert r.status == 200 and SECRET in r.text
    assert guarded.get(HOSTS + "?watch=true&timeoutSeconds=1&includeSecrets=true", headers=auth(t["viewer"])).status == 403
    # Operator: image, config, power; nothing else of a host, nothing of other kinds.
    op = auth(t["operator"])
    assert guarded.patch(h, {"spec": {"image": "localboot"}}, headers=op).status == 200
    assert guarded.patch(h, {"spec": {"image": "coreos-live", "bootConfigRef": "coreos-builder", "online": True}}, headers=op).status == 200
    assert guarded.patch(h, {"status": {"poweredOn": True}}, headers=op).status == 200
    for change in ({"spec": {"ip": "192.168.10.99"}}, {"spec": {"bootMACAddress": "52:54:00:00:00:99"}},
                   {"spec": {"bmc": {"password": "x"}}}, {"metadata": {"labels": {"a": "b"}}}):
        r = guarded.patch(h, change, headers=op)
        assert r.status == 403 and "may change only" in r.body["message"], (change, r)
    r = guarded.patch(h, [{"op": "replace", "path": "/spec/ip", "value": "10.9.9.9"}], content_type="application/json-patch+json", headers=op)
    assert r.status == 403
    assert guarded.post(HOSTS, host("op-made", "52:54:00:00:00:98"), headers=op).status == 403
    assert guarded.delete(h, headers=op).status == 403
    assert guarded.patch("/api/v1/bootconfigs/coreos-builder", {"spec": {"description": "x"}}, headers=op).status == 403
    assert guarded.post(h + "/refresh", {}, headers=op).status == 200
    rpc = guarded.post("/rpc", [{"jsonrpc": "2.0", "id": 1, "method": "baremetalhosts.patch",
                                 "params": {"namespace": "default", "name": "server1", "body": {"spec": {"image": "localboot"}}}},
                                {"jsonrpc": "2.0", "id": 2, "method": "iscsicdroms.delete", "params": {"name": "baremetalservices"}}], headers=op)
    assert "result" in rpc.body[0] and rpc.body[1]["error"]["code"] == 403
    # BMC agent: reports power, changes nothing an operator decides.
    agent = auth(t["bmc-agent"])
    assert guarded.patch(h, {"status": {"poweredOn": False}}, headers=agent).status == 200
    assert guarded.patch(h, {"spec": {"image": "coreos-live"}}, headers=agent).status == 403
    # Admin: anything.
    assert guarded.patch(h, {"spec": {"ip": "192.168.10.10"}}, headers=auth(t["admin"])).status == 200
    assert guarded.post(HOSTS, host("admin-made", "52:54:00:00:00:97"), headers=auth(t["admin"])).status == 201
    assert guarded.delete(HOSTS + "/admin-made", headers=auth(t["admin"])).status == 200


def test_websocket_needs_a_token_and_checks_each_method(guarded):
    assert websocket_handshake(guarded) == 400
    assert websocket_handshake(guarded, token="not-a-token") == 400
    assert websocket_handshake(guarded, token=guarded.tokens["viewer"]) == 101
    # Per method over the socket: a viewer may watch but not delete, nor read secrets.
    c = socket.create_connection(("127.0.0.1", guarded.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    c.sendall((f"GET /rpc/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {guarded.tokens['viewer']}\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += c.recv(4096)
    buf = buf.split(b"\r\n\r\n", 1)[1]

    def send(obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        header = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big"))
        c.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def receive():
        nonlocal buf
        while True:
            if len(buf) >= 2:
                n, start = buf[1] & 0x7F, 2
                if n == 126:
                    n, start = int.from_bytes(buf[2:4], "big"), 4
                elif n == 127:
                    n, start = int.from_bytes(buf[2:10], "big"), 10
                if len(buf) >= start + n:
                    payload, buf = buf[start:start + n], buf[start + n:]
                    return json.loads(payload)
            buf += c.recv(65536)

    send({"jsonrpc": "2.0", "id": 1, "method": "iscsicdroms.delete", "params": {"name": "baremetalservices"}})
    assert receive()["error"]["code"] == 403
    send({"jsonrpc": "2.0", "id": 2, "method": "baremetalhosts.listAllNamespaces", "params": {"watch": True, "includeSecrets": True}})
    assert receive()["error"]["code"] == 403
    send({"jsonrpc": "2.0", "id": 3, "method": "baremetalhosts.listAllNamespaces", "params": {"watch": True}})
    assert "subscription" in receive()["result"]
    c.close()


def test_boot_network_limits_the_boot_endpoints():
    s = Server(extra=["--boot-network", "10.0.0.0/8"])
    try:
        r = s.get("/ipxe?mac=" + MAC)
        assert r.status == 403 and "boot networks" in r.body["message"]
        assert s.get("/api/v1/bootconfig").status == 403
        assert s.post("/api/v1/boot-complete", {}).status == 403
        assert s.get("/api/v1/bootconfigs").status == 200  # the API is not the boot path
    finally:
        s.close()
    s = Server(extra=["--boot-network", "127.0.0.0/8", "--boot-network", "10.0.0.0/8"])
    try:
        assert s.get("/ipxe?mac=" + MAC).status == 200
    finally:
        s.close()


@pytest.fixture(scope="module")
def tls_guarded(tmp_path_factory):
    """A server with tokens behind HTTPS (a self-signed certificate for 127.0.0.1)."""
    import ssl
    folder = tmp_path_factory.mktemp("tls")
    cert, key, file = folder / "cert.pem", folder / "key.pem", folder / "tokens"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    tokens = {role: token(file, role, f"t-{role}") for role in ("viewer", "admin")}
    context = ssl.create_default_context(cafile=str(cert))
    s = Server(extra=["--token-file", str(file), "--tls-cert", str(cert), "--tls-key", str(key)], ssl_context=context)
    s.tokens, s.cert = tokens, cert
    yield s
    s.close()


def test_tls_serves_the_api_and_the_boot_lane(tls_guarded):
    s = tls_guarded
    assert s.get("/ipxe?mac=" + MAC).text.startswith("#!ipxe")
    assert s.get(HOSTS).status == 401
    assert s.get(HOSTS, headers=auth(s.tokens["viewer"])).status == 200
    # Plain HTTP on the TLS port gets nowhere.
    data, closed = raw(s, b"GET /ipxe HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not data.startswith(b"HTTP/1.1 200")


@pytest.mark.skipif(not __import__("shutil").which("kubectl"), reason="kubectl not installed")
def test_kubectl_with_a_token_in_its_kubeconfig(tls_guarded, tmp_path):
    """kubectl sends a token only over HTTPS (kubernetes/kubectl#744), hence TLS here."""
    guarded = tls_guarded

    def kubectl(tok, *args):
        config = tmp_path / "kubeconfig"
        user = f"{{token: {tok}}}" if tok else "{}"
        config.write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster: {{server: "{guarded.url}", certificate-authority: "{guarded.cert}"}}
  name: bootgate
contexts:
- context: {{cluster: bootgate, user: u, namespace: default}}
  name: bootgate
current-context: bootgate
users:
- name: u
  user: {user}
""")
        env = dict(os.environ, KUBECONFIG=str(config), HOME=str(tmp_path))
        return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60)

    p = kubectl(None, "get", "bmh")
    assert p.returncode != 0  # kubectl asks for a username on 401 and gets EOF
    p = kubectl(guarded.tokens["viewer"], "get", "bmh")
    assert p.returncode == 0 and "server1" in p.stdout, p.stderr
    p = kubectl(guarded.tokens["viewer"], "delete", "icd", "baremetalservices")
    assert p.returncode != 0 and "forbidden" in p.stderr.lower(), p.stderr
    # kubectl apply as admin: the password stays out of the last-applied annotation.
    manifest = tmp_path / "h.yaml"
    manifest.write_text(f"""apiVersion: v1
kind: BareMetalHost
metadata: {{name: kubectl-applied, namespace: default}}
spec:
  bootMACAddress: "52:54:00:aa:00:02"
  bmc: {{address: 10.0.0.8, username: ADMIN, password: {SECRET}}}
""")
    p = kubectl(guarded.tokens["admin"], "apply", "-f", str(manifest))
    assert p.returncode == 0, p.stderr
    p = kubectl(guarded.tokens["admin"], "get", "bmh", "kubectl-applied", "-o", "yaml")
    assert p.returncode == 0 and "last-applied-configuration" in p.stdout and SECRET not in p.stdout
    p = kubectl(guarded.tokens["admin"], "apply", "-f", str(manifest))
    assert p.returncode == 0, p.stderr
    r = guarded.get(HOSTS + "/kubectl-applied?includeSecrets=true", headers=auth(guarded.tokens["admin"]))
    assert r.body["spec"]["bmc"]["password"] == SECRET


# --- limits ------------------------------------------------------------------------------------------

def test_body_header_and_url_limits(server):
    r = server.post("/api/v1/bootconfigs", b"{" + b" " * (17 * 1024 * 1024) + b"}")
    assert r.status == 413
    many = "".join(f"X-H{i}: v\r\n" for i in range(150))
    for path in ("/ipxe?mac=" + MAC, "/version"):
        data, closed = raw(server, f"GET {path} HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
        assert data.startswith(b"HTTP/1.1 400 ") and closed, (path, data[:40])
        data, closed = raw(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 20000}\r\n\r\n".encode())
        assert data.startswith(b"HTTP/1.1 400 ") and closed, (path, data[:40])
        r = server.get(path + ("&" if "?" in path else "?") + "pad=" + "p" * 9000)
        assert r.status == 414, (path, r)


def test_body_deadline_cuts_slow_uploads_but_not_watches():
    s = Server(extra=["--body-timeout", "2"])
    try:
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(b"POST /api/v1/bootconfigs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        started = time.time()
        answer = b""
        try:
            for _ in range(100):
                c.sendall(b" ")
                time.sleep(0.1)
        except OSError:
            pass
        try:
            answer = c.recv(65536)
        except OSError:
            pass
        assert time.time() - started < 6
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer
        r = s.get(HOSTS + "?watch=true&timeoutSeconds=4")
        assert r.status == 200 and r.text.count("ADDED") == 1
    finally:
        s.close()


def test_watches_per_client_are_capped():
    s = Server(extra=["--max-watches-per-client", "3"])
    try:
        held = []
        for _ in range(3):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(f"GET {HOSTS}?watch=true HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert c.recv(65536).startswith(b"HTTP/1.1 200 ")
            held.append(c)
        r = s.get(HOSTS + "?watch=true")
        assert r.status == 429 and r.headers["Retry-After"] == "5" and "watches open" in r.body["message"]
        held.pop().close()
        deadline = time.time() + 5
        while s.get(HOSTS + "?watch=true&timeoutSeconds=1").status != 200:
            assert time.time() < deadline
            time.sleep(0.2)
        for c in held:
            c.close()
    finally:
        s.close()


def test_descriptors_run_out_anyway_no_spin_and_one_log_line():
    """A cap above the descriptor limit (descriptors taken elsewhere): accept fails with EMFILE.
    NIO would retry at once forever; each failure sheds idle connections instead, and says so
    once a minute."""
    s = Server(wrapper=["prlimit", "--nofile=256:256", "--"], extra=["--max-connections", "1000"])
    held = []
    try:
        for _ in range(300):
            c = socket.socket()
            c.settimeout(5)
            c.connect(("127.0.0.1", s.port))
            c.sendall(b"G")
            held.append(c)
        time.sleep(1)
        spent = cpu_seconds(s)
        time.sleep(2)
        assert cpu_seconds(s) - spent < 0.3
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(f"GET /ipxe?mac={MAC} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert c.recv(65536).startswith(b"HTTP/1.1 200 ")
        c.close()
        lines = [l for l in s.logtext().splitlines() if "accepting connections fails" in l]
        assert len(lines) == 1 and "Too many open files" in lines[0]
    finally:
        for c in held:
            c.close()
        s.close()


class WebSocketClient:
    """A minimal RFC 6455 client for /rpc/ws: text frames out (masked), frames in."""

    def __init__(self, server, token=None):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET /rpc/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        status, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in status.split(b"\r\n")[0], status
        self.texts = []

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def receive(self):
        while True:
            if len(self.buf) >= 2:
                n, start = self.buf[1] & 0x7F, 2
                if n == 126:
                    n, start = int.from_bytes(self.buf[2:4], "big"), 4
                elif n == 127:
                    n, start = int.from_bytes(self.buf[2:10], "big"), 10
                if len(self.buf) >= start + n:
                    payload, self.buf = self.buf[start:start + n], self.buf[start + n:]
                    self.texts.append(payload.decode())
                    return json.loads(payload)
            self.buf += self.sock.recv(65536)

    def close(self):
        self.sock.close()


def test_no_password_anywhere_a_role_may_not_see_it(tmp_path):
    """A full scenario per role that may not read secrets: every response, watch event, Table,
    preview, boot event, error, JSON-RPC and WebSocket message it gets, and the server's log,
    searched for the BMC passwords."""
    file = tmp_path / "tokens"
    tokens = {role: token(file, role, f"t-{role}") for role in ("viewer", "operator", "admin")}
    s = Server(extra=["--token-file", str(file)])
    other = "Other-" + SECRET
    try:
        admin = auth(tokens["admin"])
        assert s.patch(HOSTS + "/server1", {"spec": {"bmc": {"address": "10.0.0.9", "username": "ADMIN", "password": SECRET}}}, headers=admin).status == 200
        manifest = host("second", "52:54:00:aa:00:03", ip="192.168.10.11", bmc={"address": "10.0.0.10", "username": "root", "password": other})
        manifest["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(manifest)}
        assert s.post(HOSTS, manifest, headers=admin).status == 201
        for role in ("viewer", "operator"):
            h = auth(tokens[role])
            seen = []
            table = dict(h, Accept="application/json;as=Table;v=1;g=meta.k8s.io")
            rv = s.get(HOSTS, headers=h).body["metadata"]["resourceVersion"]
            for path, headers in [(HOSTS, h), ("/api/v1/baremetalhosts", h), (HOSTS + "/server1", h), (HOSTS, table), (HOSTS + "/second", table),
                                  (HOSTS + "/server1/preview", h), (HOSTS + "/second/preview", h), ("/api/v1/events", h),
                                  ("/api/v1/events?host=default/server1", h), (HOSTS + "?includeSecrets=true", h),
                                  (HOSTS + "/server1?includeSecrets=true", h), ("/api/v1/bootconfigs", h)]:
                seen.append(s.get(path, headers=headers).text)
            # Writes the role may and may not make, and their errors.
            for body, ctype in [({"spec": {"image": "localboot"}}, "application/merge-patch+json"),
                                ({"spec": {"ip": "not-an-ip"}}, "application/merge-patch+json"),
                                ([{"op": "copy", "from": "/spec/bmc/password", "path": "/spec/ip"}], "application/json-patch+json"),
                                ([{"op": "test", "path": "/spec/bmc/password", "value": SECRET}], "application/json-patch+json"),
                                ([{"op": "replace", "path": "/spec/image", "value": "nope"}], "application/json-patch+json")]:
                seen.append(s.patch(HOSTS + "/server1", body, content_type=ctype, headers=h).text)
            seen.append(s.put(HOSTS + "/second", s.get(HOSTS + "/second", headers=h).body, headers=h).text)
            # JSON-RPC, one call and a batch.
            seen.append(s.post("/rpc", [{"jsonrpc": "2.0", "id": 1, "method": "baremetalhosts.listAllNamespaces"},
                                        {"jsonrpc": "2.0", "id": 2, "method": "baremetalhosts.get", "params": {"namespace": "default", "name": "second", "includeSecrets": True}},
                                        {"jsonrpc": "2.0", "id": 3, "method": "baremetalhosts.preview", "params": {"namespace": "default", "name": "second"}}],
                               headers=h).text)
            # Watches: REST (JSON and Table) and WebSocket, while an admin changes both hosts.
            ws = WebSocketClient(s, tokens[role])
            ws.send({"jsonrpc": "2.0", "id": 1, "method": "baremetalhosts.listAllNamespaces", "params": {"watch": True}})
            while ws.receive().get("id") != 1:
                pass
            ws.send({"jsonrpc": "2.0", "id": 2, "method": "baremetalhosts.listAllNamespaces", "params": {"watch": True, "includeSecrets": True}})
            while True:
                reply = ws.receive()
                if reply.get("id") == 2:
                    assert reply["error"]["code"] == 403
                    break
            for name in ("server1", "second"):
                assert s.patch(HOSTS + "/" + name, {"metadata": {"labels": {"scan": role}}}, headers=admin).status == 200
            seen.append(s.get(HOSTS + f"?watch=true&timeoutSeconds=1&resourceVersion={rv}", headers=h).text)
            seen.append(s.get(HOSTS + f"?watch=true&timeoutSeconds=1&resourceVersion={rv}", headers=table).text)
            deadline = time.time() + 5
            while sum('"watch.event"' in t for t in ws.texts) < 4 and time.time() < deadline:
                ws.receive()
            ws.close()
            seen.extend(ws.texts)
            assert sum('"watch.event"' in t for t in ws.texts) >= 4
            for text in seen:
                assert SECRET not in text and other not in text, (role, text[:300])
        # The admin does see them (the scan would find them if they leaked).
        assert SECRET in s.get(HOSTS + "/server1?includeSecrets=true", headers=admin).text
        assert other in s.get(HOSTS + "?includeSecrets=true", headers=admin).text
        with open(os.path.join(s.data, "server.log"), errors="replace") as f:
            log = f.read()
        assert SECRET not in log and other not in log
        assert all(t not in log for t in tokens.values())
    finally:
        s.close()


def test_cli_clients_send_the_token_from_the_environment(guarded):
    from conftest import BINARY, ROOT
    manifest = os.path.join(ROOT, "examples", sorted(f for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".yaml"))[0])
    env = {k: v for k, v in os.environ.items() if k != "BOOTGATE_TOKEN"}
    p = subprocess.run([BINARY, "apply", "-f", manifest, "--server", guarded.url], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode != 0 and ("401" in p.stdout + p.stderr or "token" in p.stdout + p.stderr), p.stdout + p.stderr
    env["BOOTGATE_TOKEN"] = guarded.tokens["admin"]
    p = subprocess.run([BINARY, "apply", "-f", manifest, "--server", guarded.url], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert guarded.tokens["admin"] not in p.stdout + p.stderr


def test_revoking_a_token_ends_its_open_watches(tmp_path):
    """A BMC agent's watch carries passwords and lives for days: revoking its token ends it
    (REST and WebSocket) within a couple of seconds, while other tokens' watches go on."""
    from conftest import BINARY
    file = tmp_path / "tokens"
    agent, other, admin = token(file, "bmc-agent", "agent"), token(file, "viewer", "dashboard"), token(file, "admin", "admin")
    s = Server(extra=["--token-file", str(file)])
    try:
        def rest_watch(tok, secrets):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            c.sendall(f"GET {HOSTS}?watch=true{'&includeSecrets=true' if secrets else ''} HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {tok}\r\n\r\n".encode())
            assert c.recv(65536).startswith(b"HTTP/1.1 200 ")
            return c
        revoked, kept = rest_watch(agent, True), rest_watch(other, False)
        ws = WebSocketClient(s, agent)
        ws.send({"jsonrpc": "2.0", "id": 1, "method": "baremetalhosts.listAllNamespaces", "params": {"watch": True, "includeSecrets": True}})
        assert "subscription" in ws.receive()["result"]
        subprocess.run([BINARY, "token", "revoke", "agent", "--file", str(file)], check=True)
        started = time.time()
        got = b""
        while not got.endswith(b"0\r\n\r\n"):
            chunk = revoked.recv(65536)
            assert chunk, "closed instead of ending the stream"
            got += chunk
        assert time.time() - started < 5
        while True:
            message = ws.receive()
            if message.get("method") == "watch.end":
                break
        assert time.time() - started < 5
        # The viewer's watch still streams.
        assert s.patch(HOSTS + "/server1", {"spec": {"image": "localboot"}}, headers=auth(admin)).status == 200
        kept.settimeout(5)
        assert b"server1" in kept.recv(65536)
        for c in (revoked, kept):
            c.close()
        ws.close()
    finally:
        s.close()
