"""ISO uploads and files inside ISOs (issue 17): mkube's routes, streamed to the ISO folder
with bounded memory, phases on watch, an interrupted upload keeping the previous file, retries,
keepISO, Range reads, and errors that say what to send. Real ISOs built by xorriso."""
import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import Server, wait_for
from bootgate_process import BINARY

ISOS = "/api/v1/iscsi-cdroms"


def build_iso(folder, name, big_mb=0, label="TESTVOL", kernel=b"kernel-bytes\n", efi=True, bios=True):
    """An installer-shaped ISO: /images/pxeboot/{vmlinuz,initrd.img}, boot images, and an
    optional sparse file of big_mb MiB (zeros: xorriso writes it quickly)."""
    src = os.path.join(folder, name + "-src")
    os.makedirs(os.path.join(src, "images/pxeboot"), exist_ok=True)
    os.makedirs(os.path.join(src, "isolinux"), exist_ok=True)
    os.makedirs(os.path.join(src, "EFI/BOOT"), exist_ok=True)
    with open(os.path.join(src, "images/pxeboot/vmlinuz"), "wb") as f:
        f.write(kernel)
    with open(os.path.join(src, "images/pxeboot/initrd.img"), "wb") as f:
        f.write(bytes(range(256)) * 4000)
    with open(os.path.join(src, "isolinux/isolinux.bin"), "wb") as f:
        f.write(b"\xfa" * 2048)
    with open(os.path.join(src, "EFI/BOOT/efiboot.img"), "wb") as f:
        f.truncate(1474560)
    with open(os.path.join(src, "Mixed Case Name.txt"), "wb") as f:
        f.write(b"rock ridge\n")
    if big_mb:
        with open(os.path.join(src, "big.bin"), "wb") as f:
            f.truncate(big_mb << 20)
    out = os.path.join(folder, name + ".iso")
    boot = []
    if bios:
        boot += ["-b", "isolinux/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4"]
    if efi:
        boot += (["-eltorito-alt-boot"] if bios else []) + ["-e", "EFI/BOOT/efiboot.img", "-no-emul-boot"]
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", label, "-o", out] + boot + [src],
                   check=True, capture_output=True)
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def isos(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("isos"))
    return {
        "a": build_iso(folder, "a", label="ALPHA"),
        "b": build_iso(folder, "b", label="BETA", kernel=b"another kernel\n"),
        "bios": build_iso(folder, "bios", efi=False),
        "efi": build_iso(folder, "efi", bios=False),
        "big": build_iso(folder, "big", big_mb=200),
        "folder": folder,
    }


@pytest.fixture
def srv():
    s = Server(examples=False)
    yield s
    s.close()


def iso_dir(s):
    return os.path.join(s.data, "iso")


def create(s, name, **spec):
    r = s.post(ISOS, {"metadata": {"name": name}, "spec": spec})
    assert r.status == 201, r
    return r.body


def curl_form(s, name, path, field="iso", extra=()):
    """mkube's scripts: curl -F iso=@file."""
    p = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-F", f"{field}=@{path}", *extra, f"{s.url}{ISOS}/{name}/upload"],
                       capture_output=True, check=True)
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code), json.loads(body) if body.strip() else None


def raw_upload(s, name, path, content_type="application/octet-stream", chunked=False):
    """The raw body, streamed from the file (with Content-Length, or chunked)."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if chunked:
            conn.putrequest("POST", f"{ISOS}/{name}/upload")
            conn.putheader("Content-Type", content_type)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for chunk in iter(lambda: f.read(1 << 16), b""):
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
        else:
            conn.request("POST", f"{ISOS}/{name}/upload", body=f, headers={"Content-Type": content_type, "Content-Length": str(size)})
        r = conn.getresponse()
        out = (r.status, json.loads(r.read() or b"null"))
    conn.close()
    return out


def partial_upload(s, name, path, fraction=0.5):
    """Starts a raw upload with the whole length declared, sends part of it, and returns the
    open socket (close it to cut the upload off)."""
    size = os.path.getsize(path)
    c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    c.sendall(f"POST {ISOS}/{name}/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
              f"Content-Length: {size}\r\n\r\n".encode())
    with open(path, "rb") as f:
        c.sendall(f.read(int(size * fraction)))
    return c


def rss_kb(s):
    with open(f"/proc/{s.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise KeyError("VmRSS")


def watch_phases(s, name, stop):
    """Phases of ISO `name` seen on a watch, until `stop(obj)` is true."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    conn.request("GET", f"{ISOS}?watch=true&fieldSelector=metadata.name={name}")
    resp = conn.getresponse()
    phases = []
    ready = threading.Event()
    done = threading.Event()

    def run():
        ready.set()
        try:
            while True:
                line = resp.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                obj = json.loads(line)["object"]
                phases.append(obj["status"]["phase"])
                if stop(obj):
                    break
        finally:
            done.set()
            conn.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait()
    return phases, done


# --------------------------------------------------------------------------------------------

def test_multipart_upload_stores_the_file_with_size_hash_and_boot_entries(srv, isos):
    created = create(srv, "alpha")
    assert created["status"]["phase"] == "Pending"
    assert created["status"]["isoPath"] == os.path.join(iso_dir(srv), "alpha.iso")
    code, obj = curl_form(srv, "alpha", isos["a"])
    assert code == 200, obj
    st = obj["status"]
    assert st["phase"] == "Ready" and "message" not in st
    assert st["isoSize"] == os.path.getsize(isos["a"])
    assert st["sha256"] == sha256(isos["a"])
    assert st["bootEntries"] == [{"platform": "bios", "emulation": "none", "bootable": True},
                                 {"platform": "efi", "emulation": "none", "bootable": True}]
    on_disk = os.path.join(iso_dir(srv), "alpha.iso")
    assert sha256(on_disk) == st["sha256"]
    assert os.listdir(iso_dir(srv)) == ["alpha.iso"]  # no temporary file left
    # The stored object says the same after a restart.
    srv.restart()
    assert srv.get(f"{ISOS}/alpha").body["status"]["sha256"] == st["sha256"]


def test_raw_upload_with_length_and_chunked(srv, isos):
    create(srv, "bios-only")
    code, obj = raw_upload(srv, "bios-only", isos["bios"])
    assert code == 200, obj
    assert [e["platform"] for e in obj["status"]["bootEntries"]] == ["bios"]
    code, obj = raw_upload(srv, "bios-only", isos["efi"], content_type="application/x-iso9660-image", chunked=True)
    assert code == 200, obj
    assert [e["platform"] for e in obj["status"]["bootEntries"]] == ["efi"]
    assert obj["status"]["sha256"] == sha256(isos["efi"])


def test_a_200_mb_upload_keeps_memory_bounded_and_shows_uploading_on_watch(srv, isos):
    create(srv, "big")
    size = os.path.getsize(isos["big"])
    assert size > 200 << 20
    phases, done = watch_phases(srv, "big", lambda o: o["status"]["phase"] == "Ready")
    time.sleep(0.3)
    base = rss_kb(srv)
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kb(srv))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code, obj = curl_form(srv, "big", isos["big"])
    stop.set()
    sampler.join()
    assert code == 200, obj
    assert obj["status"]["isoSize"] == size and obj["status"]["sha256"] == sha256(isos["big"])
    grown_mb = (peak[0] - base) / 1024
    print(f"RSS before {base // 1024} MiB, peak during a {size >> 20} MiB upload {peak[0] // 1024} MiB (+{grown_mb:.1f} MiB)")
    assert grown_mb < 48, f"the server grew by {grown_mb:.0f} MiB for a {size >> 20} MiB upload"
    assert done.wait(10)
    # Pending (the watch's first state), then Uploading, then Ready: each a committed write.
    assert phases[0] == "Pending" and "Uploading" in phases and phases[-1] == "Ready", phases
    assert phases.index("Uploading") < phases.index("Ready")


def test_an_interrupted_upload_keeps_the_previous_file_and_can_be_retried(srv, isos):
    create(srv, "alpha")
    assert curl_form(srv, "alpha", isos["a"])[0] == 200
    before = srv.get(f"{ISOS}/alpha").body["status"]
    c = partial_upload(srv, "alpha", isos["b"], 0.5)
    assert wait_for(lambda: srv.get(f"{ISOS}/alpha").body["status"]["phase"] == "Uploading")
    # While it runs the old file still serves, and a second upload is refused.
    assert sha256(os.path.join(iso_dir(srv), "alpha.iso")) == before["sha256"]
    code, obj = raw_upload(srv, "alpha", isos["b"])
    assert code == 409 and "already in progress" in obj["message"], obj
    c.close()  # the client goes away mid-body
    assert wait_for(lambda: srv.get(f"{ISOS}/alpha").body["status"]["phase"] == "Ready")
    after = srv.get(f"{ISOS}/alpha").body["status"]
    assert after["sha256"] == before["sha256"] and after["uploadedAt"] == before["uploadedAt"]
    assert "failed" in after["message"] and "previous file still serves" in after["message"], after["message"]
    assert sha256(os.path.join(iso_dir(srv), "alpha.iso")) == before["sha256"]
    assert wait_for(lambda: os.listdir(iso_dir(srv)) == ["alpha.iso"])
    r = srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot/vmlinuz", raw=True)
    assert r.status == 200 and r.payload == b"kernel-bytes\n"
    # The same upload again works, and the new file replaces the old.
    code, obj = raw_upload(srv, "alpha", isos["b"])
    assert code == 200, obj
    assert obj["status"]["sha256"] == sha256(isos["b"]) and "message" not in obj["status"]
    assert srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot/vmlinuz", raw=True).payload == b"another kernel\n"


def test_a_first_upload_cut_off_is_an_error_with_the_reason(srv, isos):
    create(srv, "fresh")
    c = partial_upload(srv, "fresh", isos["a"], 0.3)
    assert wait_for(lambda: srv.get(f"{ISOS}/fresh").body["status"]["phase"] == "Uploading")
    c.close()
    assert wait_for(lambda: srv.get(f"{ISOS}/fresh").body["status"]["phase"] == "Error")
    st = srv.get(f"{ISOS}/fresh").body["status"]
    assert "cut off" in st["message"], st
    assert not os.path.exists(os.path.join(iso_dir(srv), "fresh.iso"))
    assert curl_form(srv, "fresh", isos["a"])[0] == 200


def test_a_restart_mid_upload_leaves_no_uploading_iso_and_no_temporary_file(srv, isos):
    create(srv, "alpha")
    assert curl_form(srv, "alpha", isos["a"])[0] == 200
    sha = srv.get(f"{ISOS}/alpha").body["status"]["sha256"]
    c = partial_upload(srv, "alpha", isos["big"], 0.2)
    assert wait_for(lambda: srv.get(f"{ISOS}/alpha").body["status"]["phase"] == "Uploading")
    assert wait_for(lambda: any(".upload-" in n for n in os.listdir(iso_dir(srv))))
    srv.kill()
    c.close()
    srv.start()
    st = srv.get(f"{ISOS}/alpha").body["status"]
    assert st["phase"] == "Ready" and st["sha256"] == sha and "restart" in st["message"], st
    assert os.listdir(iso_dir(srv)) == ["alpha.iso"]


def test_delete_removes_the_file_unless_keep_iso(srv, isos):
    create(srv, "alpha")
    assert curl_form(srv, "alpha", isos["a"])[0] == 200
    path = os.path.join(iso_dir(srv), "alpha.iso")
    assert srv.delete(f"{ISOS}/alpha?keepISO=true").status == 200
    assert os.path.exists(path)
    # Created again over the kept file: Ready at once, as mkube does.
    again = create(srv, "alpha")
    assert again["status"]["phase"] == "Ready" and again["status"]["sha256"] == sha256(isos["a"])
    assert srv.delete(f"{ISOS}/alpha").status == 200
    assert not os.path.exists(path)


def test_files_lists_reads_and_serves_ranges(srv, isos):
    create(srv, "alpha")
    r = srv.get(f"{ISOS}/alpha/files?path=/")
    assert r.status == 409 and "is not ready (phase: Pending)" in r.body["message"], r
    assert curl_form(srv, "alpha", isos["a"])[0] == 200
    r = srv.get(f"{ISOS}/alpha/files?path=/&list=true")
    assert r.status == 200
    names = {e["name"]: e for e in r.body}
    assert names["Mixed Case Name.txt"] == {"name": "Mixed Case Name.txt", "size": 11, "isDir": False}
    assert names["images"]["isDir"] is True
    assert srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot&list=true").body == [
        {"name": "initrd.img", "size": 1024000, "isDir": False}, {"name": "vmlinuz", "size": 13, "isDir": False}]
    r = srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot/initrd.img", raw=True)
    assert r.status == 200 and r.payload == bytes(range(256)) * 4000
    assert r.headers["Content-Type"] == "application/octet-stream" and r.headers["Accept-Ranges"] == "bytes"
    r = srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot/initrd.img", raw=True, headers={"Range": "bytes=256-511"})
    assert r.status == 206 and r.payload == bytes(range(256)) and r.headers["Content-Range"] == "bytes 256-511/1024000"
    r = srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot/initrd.img", raw=True, headers={"Range": "bytes=-3"})
    assert r.status == 206 and r.payload == bytes([253, 254, 255])
    r = srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot/vmlinuz", headers={"Range": "bytes=100-"})
    assert r.status == 416 and "outside" in r.body["message"]
    r = srv.get(f"{ISOS}/alpha/files?path=/images/nothing")
    assert r.status == 404 and "/images/nothing does not exist in the ISO" in r.body["message"]
    r = srv.get(f"{ISOS}/alpha/files?path=/images")
    assert r.status == 400 and "list=true" in r.body["message"]
    assert srv.get(f"{ISOS}/nope/files?path=/").status == 404


def test_errors_say_what_to_send(srv, isos):
    create(srv, "alpha")
    code, obj = curl_form(srv, "alpha", isos["a"], field="file")
    assert code == 400 and "no iso field found in multipart form" in obj["message"] and '"file"' in obj["message"], obj
    code, obj = raw_upload(srv, "alpha", os.path.join(isos["folder"], "a-src/images/pxeboot/initrd.img"))
    assert code == 400 and "not an ISO image" in obj["message"], obj
    code, obj = raw_upload(srv, "alpha", isos["a"], content_type="application/x-www-form-urlencoded")
    assert code == 415 and "curl -F iso=@file.iso" in obj["message"], obj
    code, obj = raw_upload(srv, "alpha", isos["a"], content_type="multipart/form-data")
    assert code == 400 and "boundary" in obj["message"], obj
    code, obj = curl_form(srv, "nope", isos["a"])
    assert code == 404 and '"nope" not found' in obj["message"], obj
    # Refused uploads leave no file; the status says why.
    st = srv.get(f"{ISOS}/alpha").body["status"]
    assert st["phase"] == "Error" and "not an ISO image" in st["message"]
    assert os.listdir(iso_dir(srv)) == []
    r = srv.post(ISOS, {"metadata": {"name": "bad"}, "spec": {"isoFile": "../etc/passwd"}})
    assert r.status == 400 and "spec.isoFile" in r.body["message"], r


def test_limit_and_roles(tmp_path, isos):
    file = tmp_path / "tokens"
    tokens = {}
    for role in ("operator", "admin"):
        p = subprocess.run([BINARY, "token", "create", "--role", role, "--name", role, "--file", str(file)], capture_output=True, text=True)
        tokens[role] = p.stdout.strip()
    s = Server(examples=False, extra=["--token-file", str(file), "--max-iso-size", "1"])
    try:
        admin = ["-H", f"Authorization: Bearer {tokens['admin']}"]
        assert s.post(ISOS, {"metadata": {"name": "alpha"}}, headers={"Authorization": f"Bearer {tokens['admin']}"}).status == 201
        code, obj = curl_form(s, "alpha", isos["a"], extra=["-H", f"Authorization: Bearer {tokens['operator']}"])
        assert code == 403 and "needs admin" in obj["message"], obj
        code, obj = curl_form(s, "alpha", isos["a"], extra=admin)
        assert code == 413 and "1 MiB" in obj["message"], obj
        # Files are read without a token (machines fetch kernels), as the ISO is exported.
        assert s.get(f"{ISOS}/alpha/files?path=/").status == 409
    finally:
        s.close()


def test_a_host_whose_firmware_cannot_boot_its_iso_gets_a_warning(srv, isos):
    from conftest import HOSTS, host
    create(srv, "legacy")
    assert raw_upload(srv, "legacy", isos["bios"])[0] == 200
    # A target, so the only warning left is the firmware's (an ISO without one is warned about too).
    target = {"status": {"targetIQN": "iqn.2026-01.io.bootgate:legacy", "portalIP": "127.0.0.1", "portalPort": 3260, "lun": 1}}
    assert srv.patch(f"{ISOS}/legacy", target).status == 200
    r = srv.post(HOSTS, host("uefi1", "52:54:00:00:00:01", image="legacy", firmware="uefi"))
    assert r.status == 201, r
    warning = r.headers.get("Warning") or ""
    assert "spec.firmware uefi" in warning and 'ISO \\"legacy\\" has only bios boot entries' in warning, warning
    assert "cannot boot" in srv.get(HOSTS + "/uefi1").headers.get("Warning", "")
    problems = srv.get(HOSTS + "/uefi1/preview").body["problems"]
    assert any("cannot boot" in p for p in problems), problems
    # A BIOS host on it is fine; re-uploading an EFI-only ISO warns about that one instead.
    assert srv.post(HOSTS, host("bios1", "52:54:00:00:00:02", image="legacy", firmware="bios")).headers.get("Warning") is None
    r = srv.request("POST", f"{ISOS}/legacy/upload", open(isos["efi"], "rb").read(), content_type="application/octet-stream")
    assert r.status == 200
    assert "host default/bios1 has spec.firmware bios" in r.headers.get("Warning", ""), r.headers
    assert "Warning" not in srv.get(HOSTS + "/uefi1").headers


def test_derive_copies_the_iso_with_files_replaced_and_deleted(srv, isos):
    import base64
    create(srv, "alpha")
    r = srv.post(f"{ISOS}/alpha/derive", {"name": "alpha-custom", "operations": []})
    assert r.status == 409 and "is not ready (phase: Pending)" in r.body["message"], r
    assert curl_form(srv, "alpha", isos["a"])[0] == 200
    new_kernel = b"patched kernel line\n" * 300
    r = srv.post(f"{ISOS}/alpha/derive", {"name": "alpha-custom", "description": "patched", "version": "2", "operations": [
        {"op": "replace", "path": "/images/pxeboot/vmlinuz", "content": base64.b64encode(new_kernel).decode()},
        {"op": "delete", "path": "/Mixed Case Name.txt"}]})
    assert r.status == 201, r
    st, spec = r.body["status"], r.body["spec"]
    assert spec["derivedFrom"] == "alpha" and spec["isoFile"] == "alpha-custom.iso" and spec["version"] == "2"
    assert st["phase"] == "Ready" and st["sha256"] == sha256(os.path.join(iso_dir(srv), "alpha-custom.iso"))
    assert [e["platform"] for e in st["bootEntries"]] == ["bios", "efi"]
    got = srv.get(f"{ISOS}/alpha-custom/files?path=/images/pxeboot/vmlinuz", raw=True)
    assert got.status == 200 and got.payload == new_kernel
    names = [e["name"] for e in srv.get(f"{ISOS}/alpha-custom/files?path=/&list=true").body]
    assert "Mixed Case Name.txt" not in names and "images" in names
    # The base is untouched.
    assert srv.get(f"{ISOS}/alpha/files?path=/images/pxeboot/vmlinuz", raw=True).payload == b"kernel-bytes\n"
    assert sha256(os.path.join(iso_dir(srv), "alpha.iso")) == sha256(isos["a"])
    # The copy reads the same in Linux's other view: osirrox (libisofs) sees the Joliet tree too.
    out = os.path.join(isos["folder"], "extracted-vmlinuz")
    for tree in (["-rockridge", "on"], ["-rockridge", "off", "-joliet", "on"]):
        if os.path.exists(out):
            os.unlink(out)
        subprocess.run(["xorriso", "-osirrox", "on", *tree, "-indev", os.path.join(iso_dir(srv), "alpha-custom.iso"),
                        "-extract", "/images/pxeboot/vmlinuz", out], check=True, capture_output=True)
        assert open(out, "rb").read() == new_kernel, tree
    # Errors name what is wrong.
    r = srv.post(f"{ISOS}/alpha/derive", {"name": "alpha-custom", "operations": []})
    assert r.status == 409 and "already exists" in r.body["message"], r
    r = srv.post(f"{ISOS}/alpha/derive", {"name": "x2", "operations": [{"op": "replace", "path": "/nope", "content": "AA=="}]})
    assert r.status == 400 and "/nope does not exist in the ISO" in r.body["message"], r
    r = srv.post(f"{ISOS}/alpha/derive", {"name": "x3", "operations": [{"op": "add", "path": "/new", "content": "AA=="}]})
    assert r.status == 400 and "not supported" in r.body["message"], r
    r = srv.post(f"{ISOS}/alpha/derive", {"name": "x4", "operations": [{"op": "replace", "path": "/images/pxeboot/vmlinuz", "content": "%%%"}]})
    assert r.status == 400 and "base64" in r.body["message"], r
    assert sorted(os.listdir(iso_dir(srv))) == ["alpha-custom.iso", "alpha.iso"]


def test_files_need_a_token_outside_the_boot_networks(tmp_path, isos):
    file = tmp_path / "tokens"
    p = subprocess.run([BINARY, "token", "create", "--role", "viewer", "--name", "v", "--file", str(file)], capture_output=True, text=True)
    viewer = {"Authorization": f"Bearer {p.stdout.strip()}"}
    s = Server(examples=False, extra=["--token-file", str(file), "--boot-network", "192.0.2.0/24"])
    try:
        r = s.get(f"{ISOS}/alpha/files?path=/")
        assert r.status == 401, r  # 127.0.0.1 is not a boot network here
        assert s.get(f"{ISOS}/alpha/files?path=/", headers=viewer).status == 404  # a token lets it through
    finally:
        s.close()


def test_json_rpc_reads_small_files_and_points_uploads_to_rest(srv, isos):
    import base64
    create(srv, "alpha")
    assert curl_form(srv, "alpha", isos["a"])[0] == 200
    call = lambda method, params: srv.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).body
    r = call("iscsicdroms.files", {"name": "alpha", "path": "/images/pxeboot/vmlinuz"})
    assert base64.b64decode(r["result"]["base64"]) == b"kernel-bytes\n" and r["result"]["size"] == 13, r
    r = call("iscsicdroms.upload", {"name": "alpha", "body": {"iso": "AAAA"}})
    assert "POST /api/v1/iscsi-cdroms/alpha/upload" in r["error"]["message"], r
    # HEAD gives the length without the bytes.
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("HEAD", f"{ISOS}/alpha/files?path=/images/pxeboot/initrd.img")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Length") == "1024000" and resp.read() == b""
    conn.close()


def test_the_folder_scan_gives_each_untracked_iso_file_an_iscsicdrom(isos):
    """--iso-scan-interval, as mkube's scanner: a file copied into the folder gets an ISO named
    after it, Ready with its size and hash; a tracked file, a hidden or non-ISO file, and a file
    whose name is taken by another ISO get none (the last is logged)."""
    s = Server(examples=False, extra=["--iso-scan-interval", "1"])
    try:
        folder = iso_dir(s)
        os.makedirs(folder, exist_ok=True)
        create(s, "kept", isoFile="Kept.iso")
        create(s, "taken", isoFile="other.iso")
        for name in ("Fedora_41 (x86).iso", "Kept.iso", ".hidden.iso", "notes.txt", "Taken.iso"):
            with open(isos["a"], "rb") as src, open(os.path.join(folder, name), "wb") as dst:
                dst.write(src.read())
        def ready():
            r = s.get(ISOS + "/fedora-41-x86")
            return r.status == 200 and r.body.get("status", {}).get("phase") == "Ready"
        assert wait_for(ready, 20), s.get(ISOS + "/fedora-41-x86").body
        iso = s.get(ISOS + "/fedora-41-x86").body
        assert iso["spec"]["isoFile"] == "Fedora_41 (x86).iso" and not iso["spec"].get("bootConfigs")
        assert iso["status"]["sha256"] == sha256(isos["a"]) and iso["status"]["isoSize"] == os.path.getsize(isos["a"])
        time.sleep(2.5)  # two more passes
        assert sorted(i["metadata"]["name"] for i in s.get(ISOS).body["items"]) == ["fedora-41-x86", "kept", "taken"]
        assert s.logtext().count("Taken.iso has no ISCSICdrom") == 1, s.logtext()
        audit = s.get("/api/v1/auditevents").body["items"]
        assert any(a["object"]["name"] == "fedora-41-x86" and a["user"]["transport"] == "iso-scan" for a in audit)
    finally:
        s.close()
