"""`bootgate key rotate`: every BMC password re-sealed under a new key while the server serves,
safe to stop with kill -9 and run again, and the old key opening nothing afterwards."""
import base64
import glob
import hashlib
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import BINARY, Server

HOSTS = "/api/v1/namespaces/default/baremetalhosts"
SEALED = re.compile(rb"sealed:v(\d):(?:([0-9a-f]{16}):)?([A-Za-z0-9+/=]+)")


def host(i, password):
    return {"kind": "BareMetalHost", "apiVersion": "v1", "metadata": {"name": f"h{i}", "namespace": "default"},
            "spec": {"bmc": {"address": f"10.99.{i // 250}.{i % 250 + 1}", "username": "ADMIN", "password": password},
                     "bootMACAddress": f"02:00:00:00:{i // 256:02x}:{i % 256:02x}", "online": False, "hostname": f"h{i}"}}


def key_id(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]


def sealed_values(data):
    """(key id or None, ciphertext) of every sealed value in the folder's SQLite files."""
    out = []
    for path in glob.glob(os.path.join(data, "bootgate.sqlite*")):
        for m in SEALED.finditer(open(path, "rb").read()):
            out.append(((m.group(2) or b"").decode() or None, m.group(3)))
    return out


def opens(key, blob):
    try:
        raw = base64.b64decode(blob + b"=" * (-len(blob) % 4))
        AESGCM(key).decrypt(raw[:12], raw[12:], None)
        return True
    except Exception:
        return False


def fill(s, n):
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    for i in range(n):
        conn.request("POST", HOSTS, json.dumps(host(i, f"pw-{i}-0")), {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 201, r.status
    conn.close()


def passwords(s):
    items = s.get(HOSTS + "?includeSecrets=true").body["items"]
    return {h["metadata"]["name"]: h["spec"]["bmc"]["password"] for h in items}


def rotate(data, *extra, **kw):
    return subprocess.run([BINARY, "key", "rotate", "--data", data, *extra], capture_output=True, text=True, timeout=kw.get("timeout", 300))


def test_rotate_while_a_client_writes_and_reads():
    s = Server(examples=False)
    try:
        fill(s, 200)
        old_key = open(os.path.join(s.data, "secret.key"), "rb").read()
        latest = {f"h{i}": f"pw-{i}-0" for i in range(200)}
        problems, done, stop = [], [0, 0], threading.Event()

        def client():
            # Changes one password, then reads another host back, over and over: every answer
            # must be 2xx and every password the last one acknowledged.
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            n = 0
            while not stop.is_set():
                n += 1
                i = n % 200
                pw = f"pw-{i}-{n}"
                conn.request("PATCH", f"{HOSTS}/h{i}", json.dumps({"spec": {"bmc": {"password": pw}}}),
                             {"Content-Type": "application/merge-patch+json"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    problems.append(("patch", r.status))
                    continue
                latest[f"h{i}"] = pw
                done[0] += 1
                j = (n * 7) % 200
                conn.request("GET", f"{HOSTS}/h{j}?includeSecrets=true")
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or json.loads(body)["spec"]["bmc"]["password"] != latest[f"h{j}"]:
                    problems.append(("get", r.status, body[:200]))
                done[1] += 1

        t = threading.Thread(target=client)
        t.start()
        time.sleep(0.5)
        before = list(done)
        result = rotate(s.data)
        during = [done[0] - before[0], done[1] - before[1]]
        time.sleep(0.3)
        stop.set()
        t.join()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "a server has" in result.stdout and "done:" in result.stdout, result.stdout
        assert not problems, problems[:5]
        assert during[0] > 0 and during[1] > 0, f"the client got nothing done during the rotation: {during}"

        new_key = open(os.path.join(s.data, "secret.key"), "rb").read()
        assert new_key != old_key and len(new_key) == 32
        assert not os.path.exists(os.path.join(s.data, "secret.key.next"))
        assert "secret key rotation: re-sealed" in s.logtext()
        assert passwords(s) == latest

        # Everything on disk is sealed under the new key, and the old key opens none of it.
        values = sealed_values(s.data)
        assert len(values) >= 200
        assert {kid for kid, _ in values} == {key_id(os.path.join(s.data, "secret.key"))}
        assert all(opens(new_key, blob) and not opens(old_key, blob) for _, blob in values)

        # A copy of the store with the old key file back gets sealed values, not passwords.
        s.stop()
        copy = s.data + "-oldkey"
        shutil.copytree(s.data, copy)
        open(os.path.join(copy, "secret.key"), "wb").write(old_key)
        old = Server(examples=False, data=copy)
        try:
            assert all(pw.startswith("sealed:v2:") for pw in passwords(old).values())
        finally:
            old.close()
        s.start()
        assert passwords(s) == latest
    finally:
        s.close()


def test_kill_9_during_rotation_then_run_again():
    s = Server(examples=False)
    fill(s, 300)
    want = passwords(s)
    s.stop()
    data = s.data
    old_id = key_id(os.path.join(data, "secret.key"))
    try:
        for attempt in range(3):
            # One row per transaction, each synced: slow enough to be caught half-way.
            proc = subprocess.Popen([BINARY, "key", "rotate", "--data", data, "--batch-size", "1"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            nxt = os.path.join(data, "secret.key.next")
            deadline = time.time() + 60
            resealed = 0
            while time.time() < deadline and proc.poll() is None:
                if os.path.exists(nxt):
                    db = sqlite3.connect(f"file:{data}/bootgate.sqlite?mode=ro", uri=True)
                    resealed = db.execute("SELECT count(*) FROM objects WHERE instr(json, ?) > 0",
                                          (f"sealed:v2:{key_id(nxt)}:",)).fetchone()[0]
                    db.close()
                    if resealed >= 30:
                        break
                time.sleep(0.01)
            proc.kill()
            proc.wait()
            if resealed >= 30 and resealed < 300:
                break
        else:
            raise AssertionError("could not catch the rotation half-way")
        new_id = key_id(nxt)
        kids = {kid for kid, _ in sealed_values(data)}
        assert {old_id, new_id} <= kids, kids  # half and half: both keys kept
        assert open(os.path.join(data, "secret.key"), "rb").read() != open(nxt, "rb").read()

        # Half-way, a server reads every password (both keys open), and it finishes the job.
        s.start()
        assert passwords(s) == want
        deadline = time.time() + 60
        while os.path.exists(nxt) and time.time() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(nxt), s.logtext()
        assert key_id(os.path.join(data, "secret.key")) == new_id
        assert passwords(s) == want
        s.stop()

        # Killed again half-way through the next rotation, then run again: it finishes, with the key it began.
        proc = subprocess.Popen([BINARY, "key", "rotate", "--data", data, "--batch-size", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(nxt) and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(0.2)
        proc.kill()
        proc.wait()
        assert os.path.exists(nxt)
        third_id = key_id(nxt)
        result = rotate(data)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"under key {third_id}" in result.stdout, result.stdout
        assert not os.path.exists(nxt)
        assert {kid for kid, _ in sealed_values(data)} == {third_id}
        s.start()
        assert passwords(s) == want
    finally:
        s.close()


def test_rotate_refuses_a_folder_without_a_store(tmp_path):
    result = rotate(str(tmp_path))
    assert result.returncode != 0
    assert "no SQLite store in" in result.stderr and "etcd" in result.stderr, result.stderr
    assert not os.path.exists(tmp_path / "secret.key.next")
