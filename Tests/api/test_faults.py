"""Faults of the machine under the server: a full disk, a read-only data folder (at start and
while running) and the wall clock jumping. Each test runs the real binary on a real file system
it mounts (a size-limited tmpfs, an ext4 image on a loop device), so these need root and skip
without it. SIGKILL during
writes is in test_durability.py."""
import http.client
import json
import os
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import BINARY, Server

HOSTS = "/api/v1/namespaces/default/baremetalhosts"
CONFIGS = "/api/v1/bootconfigs"


def host(i):
    return {"kind": "BareMetalHost", "apiVersion": "v1", "metadata": {"name": f"h{i}", "namespace": "default"},
            "spec": {"bmc": {"address": f"10.99.0.{i + 1}", "username": "ADMIN", "password": f"pw{i}"},
                     "bootMACAddress": f"02:00:00:00:00:{i:02x}", "online": False, "hostname": f"h{i}"}}


@pytest.fixture
def tmpfs():
    """A fresh 24 MiB tmpfs; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tempfile.mkdtemp(prefix="bootgate-fault-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mnt]).returncode != 0:
        os.rmdir(mnt)
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", mnt])
    os.rmdir(mnt)


def remount(mnt, options):
    subprocess.run(["mount", "-o", "remount," + options, mnt], check=True)


def fill_disk(mnt):
    """Writes a file until the disk is full; returns its path."""
    path = os.path.join(mnt, "filler")
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        # The last few bytes too.
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return path


def config(name, size=32768):
    return {"metadata": {"name": name}, "spec": {"format": "custom", "data": {"f": name + "x" * size}}}


def integrity(data):
    db = sqlite3.connect(f"file:{data}/bootgate.sqlite?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def test_disk_full_refuses_writes_clearly_and_recovers(tmpfs, tmp_path):
    data = os.path.join(tmpfs, "data")
    s = Server(examples=False, data=data, log=str(tmp_path / "server.log"))
    try:
        for i in range(5):
            assert s.post(HOSTS, host(i)).status == 201
        acked = [f"c{i}" for i in range(5)]
        for name in acked:
            assert s.post(CONFIGS, config(name)).status == 201
        filler = fill_disk(tmpfs)

        # Writes until one is refused: SQLite may still have a few free pages.
        refused = None
        for i in range(200):
            r = s.post(CONFIGS, config(f"full{i}"))
            if r.status == 201:
                acked.append(f"full{i}")
                continue
            refused = r
            break
        assert refused is not None, "no write was refused on a full disk"
        assert refused.status == 507, refused
        assert "full" in refused.body["message"] and "nothing was written" in refused.body["message"], refused.body
        assert refused.headers.get("Retry-After")
        assert "full" in s.logtext()

        # Reads and boots go on; a patch is refused alike and changes nothing.
        names = {c["metadata"]["name"] for c in s.get(CONFIGS).body["items"]}
        assert set(acked) <= names and f"full{len(acked) - 5}" not in names
        assert s.get("/ipxe?mac=02:00:00:00:00:01", raw=True).status == 200
        r = s.patch(f"{HOSTS}/h1", {"spec": {"online": True}})
        assert r.status == 507, r
        assert s.get(f"{HOSTS}/h1").body["spec"]["online"] is False
        assert s.get("/healthz", raw=True).status == 200

        # Room again: writes work at once, no restart.
        os.unlink(filler)
        r = s.post(CONFIGS, config("after"))
        assert r.status == 201, r
        acked.append("after")
        assert s.patch(f"{HOSTS}/h1", {"spec": {"online": True}}).status == 200

        s.stop()
        assert integrity(data) == "ok"
        s.start()
        names = {c["metadata"]["name"] for c in s.get(CONFIGS).body["items"]}
        assert set(acked) <= names
        assert s.get(f"{HOSTS}/h1").body["spec"]["online"] is True
        assert s.get(f"{HOSTS}/h4?includeSecrets=true").body["spec"]["bmc"]["password"] == "pw4"
    finally:
        s.close()


def test_an_iso_upload_that_fills_the_disk_is_507_and_keeps_the_old_file(tmpfs, tmp_path):
    from test_iso_upload import build_iso, curl_form
    data = os.path.join(tmpfs, "data")
    s = Server(examples=False, data=data, log=str(tmp_path / "server.log"))
    try:
        small, big = build_iso(str(tmp_path), "small"), build_iso(str(tmp_path), "big", big_mb=40)
        assert s.post("/api/v1/iscsi-cdroms", {"metadata": {"name": "os"}, "spec": {"isoFile": "os.iso"}}).status == 201
        assert curl_form(s, "os", small)[0] == 200
        code, body = curl_form(s, "os", big)
        assert code == 507, body
        assert "disk is full" in body["message"] and "not kept" in body["message"], body
        iso = s.get("/api/v1/iscsi-cdroms/os").body
        assert "disk is full" in iso["status"].get("message", ""), iso["status"]
        iso_dir = os.path.join(data, "iso")
        assert os.listdir(iso_dir) == ["os.iso"], os.listdir(iso_dir)  # no partial file left
        assert open(os.path.join(iso_dir, "os.iso"), "rb").read() == open(small, "rb").read()
        assert curl_form(s, "os", small)[0] == 200  # the room came back with the partial file gone
    finally:
        s.close()


def test_read_only_data_folder_at_start_is_one_line_and_exit_1(tmpfs):
    data = os.path.join(tmpfs, "data")
    os.makedirs(data)
    remount(tmpfs, "ro")
    result = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--data", data, "--examples", "none", "--power-control", "false"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result
    # Log lines (a timestamp first) aside, one line says what is wrong.
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line[:4].isdigit()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bootgate: ") and data in lines[0] and "read-only" in lines[0], lines


@pytest.fixture
def ext4():
    """A 32 MiB ext4 on a loop device, mounted errors=remount-ro: the way a data folder turns
    read-only under a running server in life (the kernel does it after an I/O error, with files
    open for writing, which a plain `mount -o remount,ro` refuses)."""
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    image = tempfile.mktemp(prefix="bootgate-ext4-")
    mnt = tempfile.mkdtemp(prefix="bootgate-fault-")
    subprocess.run(["truncate", "-s", "32M", image], check=True)
    if subprocess.run(["mkfs.ext4", "-q", "-F", image]).returncode != 0 or \
       subprocess.run(["mount", "-o", "loop,errors=remount-ro", image, mnt]).returncode != 0:
        os.unlink(image)
        os.rmdir(mnt)
        pytest.skip("cannot mount an ext4 image here")
    yield image, mnt
    subprocess.run(["umount", "-l", mnt])
    os.rmdir(mnt)
    os.unlink(image)


def test_read_only_mid_run_refuses_writes_and_goes_on_serving(ext4, tmp_path):
    image, mnt = ext4
    data = os.path.join(mnt, "data")
    s = Server(examples=False, data=data, log=str(tmp_path / "server.log"))
    try:
        for i in range(3):
            assert s.post(HOSTS, host(i)).status == 201
        assert s.patch(f"{HOSTS}/h0", {"spec": {"online": True}}).status == 200
        device = subprocess.run(["findmnt", "-no", "SOURCE", mnt], capture_output=True, text=True, check=True).stdout.strip()
        with open(f"/sys/fs/ext4/{os.path.basename(device)}/trigger_fs_error", "w") as f:
            f.write("1")
        options = subprocess.run(["findmnt", "-no", "OPTIONS", mnt], capture_output=True, text=True).stdout.strip().split(",")
        assert "ro" in options or "emergency_ro" in options, options

        r = s.post(CONFIGS, config("ro"))
        assert r.status == 503, r
        assert "read-only" in r.body["message"] and data in r.body["message"], r.body
        assert r.headers.get("Retry-After")
        r = s.patch(f"{HOSTS}/h1", {"spec": {"online": True}})
        assert r.status == 503 and "read-only" in r.body["message"], r
        # Reads and boots go on (the boot counters wait).
        assert len(s.get(HOSTS).body["items"]) == 3
        for _ in range(3):
            boot = s.get("/ipxe?mac=02:00:00:00:00:02", raw=True)
            assert boot.status == 200 and boot.payload.startswith(b"#!ipxe"), boot
        assert s.get(f"{HOSTS}/h2?includeSecrets=true").body["spec"]["bmc"]["password"] == "pw2"
        time.sleep(1)  # a boot-counter batch fails meanwhile; the server stays up
        assert s.proc.poll() is None and s.get("/healthz", raw=True).status == 200
        assert s.get(f"{HOSTS}/h1").body["spec"]["online"] is False

        # Repaired (fsck) and mounted again: everything acknowledged is there.
        s.stop()
        subprocess.run(["umount", mnt], check=True)
        subprocess.run(["e2fsck", "-fy", image], capture_output=True)
        subprocess.run(["mount", "-o", "loop,errors=remount-ro", image, mnt], check=True)
        assert integrity(data) == "ok"
        s.start()
        assert s.get(f"{HOSTS}/h0").body["spec"]["online"] is True
        assert len(s.get(HOSTS).body["items"]) == 3
        assert s.get(f"{CONFIGS}/ro").status == 404
        assert s.post(CONFIGS, config("rw")).status == 201
    finally:
        s.close()


LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def test_wall_clock_jumps_break_nothing(tmp_path):
    """The wall clock steps back a day and forward a year under a running server (as a bad NTP
    step does; the monotonic clock does not move, as in life). Revisions, watch order, boot
    events, deadlines and token reloads must not care: they are not read from the wall clock."""
    if not os.path.exists(LIBFAKETIME):
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    offset = tmp_path / "offset"
    offset.write_text("+0\n")
    wrapper = ("env", f"LD_PRELOAD={LIBFAKETIME}", f"FAKETIME_TIMESTAMP_FILE={offset}", "FAKETIME_NO_CACHE=1",
               "DONT_FAKE_MONOTONIC=1")
    s = Server(examples=False, wrapper=wrapper, extra=["--header-timeout", "2"])
    try:
        assert s.post(HOSTS, host(0)).status == 201
        watch = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        rv0 = s.get(HOSTS).body["metadata"]["resourceVersion"]
        watch.request("GET", f"{HOSTS}?watch=true&resourceVersion={rv0}")
        stream = watch.getresponse()
        assert stream.status == 200

        seen_rv, created = [int(rv0)], {}
        for step, jump in enumerate(["-1d", "+365d", "+0"]):
            offset.write_text(jump + "\n")
            time.sleep(0.5)
            name = f"j{step}"
            r = s.post(HOSTS, host(step + 1) | {"metadata": {"name": name, "namespace": "default"}})
            assert r.status == 201, r
            created[name] = r.body["metadata"]["creationTimestamp"]
            seen_rv.append(int(r.body["metadata"]["resourceVersion"]))
            assert s.patch(f"{HOSTS}/{name}", {"spec": {"online": True}}).status == 200
            assert s.get(f"/ipxe?mac=02:00:00:00:00:{step + 1:02x}", raw=True).status == 200
        # The fake clock did move: the day-back object is a year older than the year-on one.
        years = {n: int(t[:4]) for n, t in created.items()}
        assert years["j1"] - years["j0"] == 1 or created["j1"][5:] < created["j0"][5:], created
        assert seen_rv == sorted(seen_rv) and len(set(seen_rv)) == len(seen_rv)

        # The watch got every change, in order, with rising revisions (boot counters and the
        # patches add MODIFIED events between the ADDED ones).
        events = []
        while ("ADDED", "j2") not in [e[:2] for e in events]:
            line = stream.readline()
            assert line, "watch ended"
            if not line.strip():
                continue  # keep-alive
            ev = json.loads(line)
            if ev["type"] in ("ADDED", "MODIFIED"):
                events.append((ev["type"], ev["object"]["metadata"]["name"], int(ev["object"]["metadata"]["resourceVersion"])))
        assert [e[1] for e in events if e[0] == "ADDED"] == ["j0", "j1", "j2"]
        assert [e[2] for e in events] == sorted(e[2] for e in events)

        # Boot events stay, in the order they happened: the step back does not sort j1's and
        # j2's before j0's, and the year forward does not age j0's out (their clock moves on
        # the monotonic clock while running, EventClock).
        items = s.get("/api/v1/events").body["items"]
        macs = [e["mac"] for e in items if e["type"] == "ipxe"]
        assert macs == [f"02:00:00:00:00:{i:02x}" for i in (1, 2, 3)], items
        times = [e["time"] for e in items]
        assert times == sorted(times), times
        # So does the audit trail: every write is there, oldest first.
        audit = s.get("/api/v1/auditevents").body["items"]
        assert [(a["verb"], a["object"]["name"]) for a in audit if a["object"]["name"].startswith("j")] == \
            [(verb, f"j{n}") for n in range(3) for verb in ("create", "patch")], audit

        # A Table's age for an object "from the future" (made a year on, read back now) is 0s.
        table = s.get(f"{HOSTS}/j1", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).body
        assert table["kind"] == "Table"

        # Deadlines are monotonic: a slow head is cut after --header-timeout even across a jump.
        import socket
        slow = socket.create_connection(("127.0.0.1", s.port))
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")
        offset.write_text("-30d\n")
        started = time.time()
        slow.settimeout(20)
        answer = slow.recv(4096)
        assert b"408" in answer, answer
        assert time.time() - started < 10
        slow.close()
        assert s.get("/healthz", raw=True).status == 200
        watch.close()
    finally:
        s.close()


def test_etcd_over_its_quota_is_507_and_recovers_without_a_restart():
    """etcd refuses writes past --quota-backend-bytes (its NOSPACE alarm); bootgate says so with
    507 and what to do, keeps serving reads and boots, and writes again once the operator has
    made room and disarmed the alarm, without a restart of bootgate."""
    import shutil
    import sys
    if not shutil.which("etcd"):
        pytest.skip("etcd is not installed")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
    from etcd_cluster import EtcdCluster
    cluster = EtcdCluster(1, extra=["--quota-backend-bytes", str(4 * 1024 * 1024)])
    s = None
    try:
        s = Server(examples=False, extra=["--store", cluster.store_url])
        assert s.post(HOSTS, host(1)).status == 201
        refused, acked = None, []
        for i in range(400):
            r = s.post(CONFIGS, config(f"q{i}", size=60000))
            if r.status != 201:
                refused = r
                break
            acked.append(f"q{i}")
        assert refused is not None, "etcd never ran out of quota"
        assert refused.status == 507, refused
        assert "quota" in refused.body["message"] and "nothing was written" in refused.body["message"], refused.body
        assert refused.headers.get("Retry-After")
        assert s.get("/ipxe?mac=02:00:00:00:00:01", raw=True).status == 200
        assert s.get(f"{CONFIGS}/{acked[-1]}").status == 200

        # A delete is a write too (its audit record is one), so it waits as well. The operator
        # raises the quota (a restart of etcd, not of bootgate) and disarms the alarm.
        assert s.delete(f"{CONFIGS}/{acked[0]}").status == 507
        m = cluster.names[0]
        cluster.kill(m)
        cluster.extra = ["--quota-backend-bytes", str(64 * 1024 * 1024)]
        cluster.start(m)
        cluster.wait_healthy()
        member = cluster.call(m, "/v3/maintenance/status", {})["header"]["member_id"]
        cluster.call(m, "/v3/maintenance/alarm", {"action": "DEACTIVATE", "memberID": member, "alarm": "NOSPACE"})
        r = s.post(CONFIGS, config("after"))
        assert r.status == 201, r
        assert s.delete(f"{CONFIGS}/{acked[0]}").status == 200
        names = {c["metadata"]["name"] for c in s.get(CONFIGS).body["items"]}
        assert set(acked[1:]) | {"after"} <= names and acked[0] not in names
    finally:
        if s:
            s.close()
        cluster.close()
