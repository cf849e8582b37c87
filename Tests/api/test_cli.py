"""`bootgate apply -f`: a multi-document YAML file, create or update, idempotent."""
import json
import os
import subprocess

from conftest import BINARY, HOSTS, ROOT, host


def apply(server, path):
    return subprocess.run([BINARY, "apply", "-f", path, "--server", server.url], capture_output=True, text=True, timeout=60)


def test_apply_creates_then_is_idempotent(empty_server, tmp_path):
    combined = tmp_path / "all.yaml"
    # Hosts first in the file: apply orders documents so references resolve.
    parts = [open(os.path.join(ROOT, "examples", f)).read() for f in ("baremetalhosts.yaml", "iscsi-cdroms.yaml", "bootconfigs.yaml")]
    combined.write_text("\n---\n".join(parts))
    p = apply(empty_server, str(combined))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("created") == 8
    p = apply(empty_server, str(combined))
    assert p.returncode == 0 and p.stdout.count("unchanged") == 8, p.stdout


def test_apply_reports_errors_and_exits_1(empty_server, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: BareMetalHost\nmetadata: {name: h}\nspec: {image: nope, bootMACAddress: '52:54:00:00:00:01'}\n")
    p = apply(empty_server, str(bad))
    assert p.returncode == 1 and "nope" in p.stdout


def test_validate_prints_locations_and_fails(tmp_path):
    ign = tmp_path / "bad.ign"
    ign.write_text('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"etc/x"}]}}')
    ks = tmp_path / "bad.ks"
    ks.write_text("lang en_US\nbogus\n%packages\n@core\n")
    p = subprocess.run([BINARY, "validate", str(ign), str(ks)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "bad.ign#/storage/files/0/path" in p.stdout and "not absolute" in p.stdout
    assert "bad.ks:2: unknown command bogus" in p.stdout and "bad.ks:3:" in p.stdout


def test_validate_accepts_the_examples():
    p = subprocess.run([BINARY, "validate", os.path.join(ROOT, "examples", "bootconfigs.yaml")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout
    assert p.stdout == "1 file checked: valid\n" and p.stderr == ""


def validate(*args):
    return subprocess.run([BINARY, "validate", *map(str, args)], capture_output=True, text=True, timeout=60)


def test_validate_says_what_is_wrong_with_a_file_it_cannot_check(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("lang en_US.UTF-8\n")
    p = validate(notes)
    assert p.returncode == 1
    assert p.stdout.splitlines()[0].startswith(f"{notes}: cannot tell the format") and "--format" in p.stdout
    assert validate("--format", "kickstart", notes).returncode == 0
    missing = validate(tmp_path / "missing.ks")
    assert missing.returncode == 1 and f"{tmp_path / 'missing.ks'}: no such file" in missing.stdout
    folder = validate(tmp_path)
    assert folder.returncode == 1 and "is a folder" in folder.stdout
    wrong = validate("--format", "kickstrt", notes)
    assert wrong.returncode == 1 and wrong.stderr.strip() == 'bootgate: unknown format "kickstrt" for --format; known: cloud-init, custom, ignition, kickstart'
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: BootConfig\nspec: [a\n")
    p = validate(broken)
    assert p.returncode == 1 and p.stdout.splitlines()[0].startswith(f"{broken}:3:1: not valid YAML: "), p.stdout


def test_validate_points_manifest_findings_at_yaml_lines(tmp_path):
    manifest = tmp_path / "configs.yaml"
    manifest.write_text(
        "# two configs\n"
        "apiVersion: v1\nkind: BootConfig\nmetadata:\n  name: ks1\nspec:\n  format: kickstart\n  data:\n"
        "    ks.cfg: |\n      lang en_US.UTF-8\n\n      rootpw --plaintxt x\n"
        "    'extra.ks': \"keyboard\\n\"\n"
        "---\n"
        "apiVersion: v1\nkind: BootConfig\nmetadata: {name: ok}\nspec:\n  format: kickstart\n  data:\n    ks.cfg: |\n      lang en_US.UTF-8\n")
    p = validate(manifest)
    assert p.returncode == 1
    assert p.stdout.splitlines() == [
        f"{manifest}:13: BootConfig ks1, extra.ks:1: keyboard: needs a layout: keyboard us, or --vckeymap=… or --xlayouts=… [error]",
        f"{manifest}:12: BootConfig ks1, ks.cfg:3: rootpw: option --plaintxt is not known; did you mean --plaintext? [error]",
        "1 file checked: 2 errors",
    ], p.stdout


def test_validate_json_prints_one_object_per_file(tmp_path):
    good, bad = tmp_path / "good.ks", tmp_path / "bad.ks"
    good.write_text("lang en_US.UTF-8\n")
    bad.write_text("lang en_US.UTF-8\nautopart --type=lvmm\n")
    p = validate("--json", good, bad)
    assert p.returncode == 1
    reports = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(r["file"], r["errors"]) for r in reports] == [(str(good), 0), (str(bad), 1)]
    assert reports[1]["diagnostics"][0]["line"] == 2 and "lvmm" in reports[1]["diagnostics"][0]["message"]


def test_runtime_errors_are_one_line(tmp_path):
    for args in (["render", "--host", "x", "--server", "http://127.0.0.1:9"], ["render", "--host", "x", "--data", str(tmp_path)]):
        p = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 1, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith("bootgate: "), p.stderr
        for noise in ("Usage", "NSURLErrorDomain", "NSCocoaErrorDomain", "Error Domain", "("+"code:"):
            assert noise not in p.stderr, p.stderr


def test_render_from_a_server_and_offline(server):
    server.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": "iqn.2000-02.com.mikrotik:file4"}})
    online = subprocess.run([BINARY, "render", "--host", "default/server1", "--server", server.url], capture_output=True, text=True, timeout=60)
    assert online.returncode == 0, online.stderr
    assert f"-X POST {server.url}/api/v1/boot-complete" in online.stdout
    script = subprocess.run([BINARY, "render", "--host", "server1", "--ipxe", "--server", server.url], capture_output=True, text=True, timeout=60)
    assert script.stdout.startswith("#!ipxe\necho Booting coreos-live for server1")
    other = subprocess.run([BINARY, "render", "--host", "server1", "--config", "fedora-server", "--server", server.url], capture_output=True, text=True, timeout=60)
    assert other.stdout.startswith("url --url=")
    server.stop()
    offline = subprocess.run([BINARY, "render", "--host", "default/server1", "--data", server.data, "--public-url", server.url],
                             capture_output=True, text=True, timeout=60)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout == online.stdout


def test_render_every_host_lists_the_hosts_that_would_be_refused(server):
    # Host values go into the template at boot time, so one host of a config can be refused
    # (a space in its data URL) while the others are served.
    ign = json.dumps({"ignition": {"version": "3.4.0"},
                      "storage": {"files": [{"path": "/etc/motd", "contents": {"source": "data:,{{host.annotations.motd}}"}}]}})
    assert server.post("/api/v1/bootconfigs", {"apiVersion": "v1", "kind": "BootConfig", "metadata": {"name": "motd"},
                                               "spec": {"format": "ignition", "data": {"config.ign": ign}}}).status == 201
    for name, motd in [("m1", "hello%20world"), ("m2", "hello world")]:
        body = host(name, f"52:54:00:00:00:2{name[1]}", ref="motd", ip=f"10.0.0.2{name[1]}")
        body["metadata"]["annotations"] = {"motd": motd}
        assert server.post(HOSTS, body).status == 201
    hosts_with_configs = sum(1 for h in server.get(HOSTS).body["items"] if h["spec"].get("bootConfigRef"))
    server.stop()
    p = subprocess.run([BINARY, "render", "--every-host", "--rounds", "2", "--data", server.data], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    rounds = p.stdout.splitlines()
    assert len(rounds) == 2 and all(f"{hosts_with_configs - 1} configs rendered, 1 refused" in r for r in rounds), p.stdout
    assert p.stderr.strip() == ("refused: default/m2: BootConfig \"motd\" file config.ign cannot be served to host default/m2: "
                                "config.ign#/storage/files/0/contents/source: source URL contains whitespace; percent-encode it")
    wrong = subprocess.run([BINARY, "render", "--every-host", "--host", "m1", "--data", server.data], capture_output=True, text=True, timeout=60)
    assert wrong.returncode != 0 and "--every-host takes no --host" in wrong.stderr
