"""ISOs exported as iSCSI CD-ROMs through a real tgtd (`serve --export tgt`): one target per ISO
with the file as a read-only CD-ROM at LUN 1, the target in the ISO's status, targets put back
after tgtd is killed and restarted, a target of no ISO reported and kept, a new file for the same
ISO re-opened on the same target, and the target removed with its ISO. Needs root (tgtd)."""
import os
import subprocess
import tempfile
import time

import pytest

from conftest import Server, wait_for
from tgtd import Tgtd

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="tgtd needs root")

PREFIX = "iqn.2026-01.io.bootgate"


@pytest.fixture
def lab(tmp_path):
    tgt = Tgtd(str(tmp_path / "tgtd.log"))
    isos = tmp_path / "iso"
    isos.mkdir()
    server = None
    try:
        def start():
            nonlocal server
            server = Server(examples=False, extra=["--export", "tgt", "--tgt-control-port", str(tgt.control),
                                                   "--iso-dir", str(isos), "--export-portal", "10.0.2.2",
                                                   "--export-port", str(tgt.port), "--export-poll-interval", "1"])
            return server
        yield tgt, isos, start
    finally:
        if server:
            server.close()
        tgt.close()


def write_iso(path, megabytes):
    tmp = str(path) + ".part"
    with open(tmp, "wb") as f:
        f.truncate(megabytes * 1024 * 1024)
        f.write(b"CD001")
    os.rename(tmp, path)  # as an upload puts a finished file in place


def make_iso(megabytes):
    """A real ISO 9660 image (uploads are checked) of about `megabytes`."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(d + "/root")
        with open(d + "/root/fill", "wb") as f:
            f.truncate(megabytes * 1024 * 1024)
        subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", d + "/x.iso", d + "/root"], check=True)
        with open(d + "/x.iso", "rb") as f:
            return f.read()


def upload(server, name, megabytes):
    body = make_iso(megabytes)
    r = server.request("POST", "/api/v1/iscsi-cdroms/%s/upload" % name, body, content_type="application/octet-stream")
    assert r.status == 200, r
    return r.body


def cdrom(name, iso_file):
    return {"apiVersion": "v1", "kind": "ISCSICdrom", "metadata": {"name": name}, "spec": {"isoFile": iso_file}}


def status(server, name):
    return server.get("/api/v1/iscsi-cdroms/" + name).body["status"]


def test_export_status_restart_stray_reupload_delete(lab):
    tgt, isos, start = lab
    # A target someone else made: reported, never removed.
    tgt.tgtadm("--op", "new", "--mode", "target", "--tid", "9", "-T", "iqn.2020-01.org.example:stray")
    server = start()
    assert server.post("/api/v1/iscsi-cdroms", cdrom("alpha", "alpha.iso")).status == 201
    assert upload(server, "alpha", 4)["status"]["phase"] == "Ready"
    # An ISO whose file is not there yet gets no target, and says why.
    assert server.post("/api/v1/iscsi-cdroms", cdrom("beta", "beta.iso")).status == 201

    iqn = PREFIX + ":alpha"
    assert wait_for(lambda: status(server, "alpha").get("targetIQN") == iqn, 10), server.logtext()
    st = status(server, "alpha")
    assert (st["portalIP"], st["portalPort"], st["lun"]) == ("10.0.2.2", tgt.port, 1)
    t = tgt.targets()[iqn]
    cd = [l for l in t["luns"] if l["lun"] == 1]
    assert cd and cd[0]["type"] == "cd/dvd" and cd[0]["readonly"] and cd[0]["path"] == str(isos / "alpha.iso")
    first_size = cd[0]["size"]
    assert status(server, "beta").get("targetIQN", "") == ""
    health = server.get("/healthz", raw=True).text
    assert "iqn.2020-01.org.example:stray" in health and "belongs to no ISO" in health
    assert "ISO beta not exported" in health and "beta.iso does not exist" in health
    metrics = server.get("/metrics", raw=True).text.splitlines()
    assert "bootgate_export_stray_targets 1.0" in metrics or "bootgate_export_stray_targets 1" in metrics, [l for l in metrics if "export" in l]
    assert any(l.startswith("bootgate_export_isos_not_exported 1") for l in metrics), [l for l in metrics if "export" in l]

    # The file arrives: exported on the next round.
    write_iso(isos / "beta.iso", 2)
    assert wait_for(lambda: PREFIX + ":beta" in tgt.targets(), 5)

    # tgtd dies and comes back empty: every ISO's target is put back; the stray is not bootgate's.
    tgt.kill()
    assert wait_for(lambda: "unreachable" in server.get("/healthz", raw=True).text, 5)
    tgt.start()
    assert tgt.targets() == {}
    assert wait_for(lambda: {iqn, PREFIX + ":beta"} <= set(tgt.targets()), 10), server.logtext()
    assert "unreachable" not in server.get("/healthz", raw=True).text
    assert "iqn.2020-01.org.example:stray" not in tgt.targets()  # it was lost with tgtd, not recreated
    tgt.tgtadm("--op", "new", "--mode", "target", "--tid", "9", "-T", "iqn.2020-01.org.example:stray")
    time.sleep(2.5)  # two rounds
    assert "iqn.2020-01.org.example:stray" in tgt.targets()
    assert "iqn.2020-01.org.example:stray" in server.get("/healthz", raw=True).text

    # A new upload for the same ISO (renamed over the old file): the same target, one of it, the
    # new file open, the old one let go.
    tid = tgt.targets()[iqn]["tid"]
    upload(server, "alpha", 6)

    def reopened():
        cds = [l for l in tgt.targets()[iqn]["luns"] if l["lun"] == 1]
        return cds and cds[0]["size"] != first_size
    assert wait_for(reopened, 10), tgt.show()
    targets = tgt.targets()
    assert [k for k in targets if k.endswith(":alpha")] == [iqn] and targets[iqn]["tid"] == tid
    assert not [f for f in tgt.open_files() if "alpha.iso" in f and "deleted" in f], tgt.open_files()

    # Deleting the ISO removes its target, and only that one.
    assert server.delete("/api/v1/iscsi-cdroms/alpha").status == 200
    assert wait_for(lambda: iqn not in tgt.targets(), 5)
    assert {PREFIX + ":beta", "iqn.2020-01.org.example:stray"} <= set(tgt.targets())


def test_existing_targets_adopted_on_start_and_no_export_without_flag(lab, tmp_path):
    tgt, isos, start = lab
    write_iso(isos / "gamma.iso", 2)
    data = str(tmp_path / "data")
    # Without --export, nothing is exported (the default).
    plain = Server(examples=False, data=data, extra=["--iso-dir", str(isos)])
    try:
        assert plain.post("/api/v1/iscsi-cdroms", cdrom("gamma", "gamma.iso")).status == 201
        time.sleep(1.5)
        assert tgt.targets() == {}
        assert plain.get("/api/v1/iscsi-cdroms/gamma").body["status"]["targetIQN"] == ""
    finally:
        plain.stop()
        plain.log.close()
    # The same store, with --export: the target is made once and kept across a bootgate restart.
    server = Server(examples=False, data=data, extra=["--export", "tgt", "--tgt-control-port", str(tgt.control),
                                                      "--iso-dir", str(isos), "--export-portal", "127.0.0.1",
                                                      "--export-port", str(tgt.port), "--export-poll-interval", "1"])
    try:
        iqn = PREFIX + ":gamma"
        assert wait_for(lambda: iqn in tgt.targets(), 10), server.logtext()
        tid = tgt.targets()[iqn]["tid"]
        server.stop()
        # Replaced while bootgate is down: found at start, the LUN is re-opened on the new file.
        write_iso(isos / "gamma.iso", 3)
        server.start()
        time.sleep(2)
        assert list(tgt.targets()) == [iqn] and tgt.targets()[iqn]["tid"] == tid
        assert not [f for f in tgt.open_files() if "gamma.iso" in f and "deleted" in f], tgt.open_files()
    finally:
        server.close()


def test_export_is_refused_in_front_of_mkube():
    import subprocess as sp
    from conftest import BINARY
    r = sp.run([BINARY, "serve", "--upstream", "http://127.0.0.1:9", "--export", "tgt"], capture_output=True, timeout=30)
    assert r.returncode != 0 and b"mkube exports ISOs itself" in r.stderr + r.stdout
    r = sp.run([BINARY, "serve", "--export", "iet"], capture_output=True, timeout=30)
    assert r.returncode != 0 and b"--export must be none or tgt" in r.stderr + r.stdout
