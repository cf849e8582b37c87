"""`bootgate apply -f`: a multi-document YAML file, create or update, idempotent."""
import json
import os
import subprocess
import time
import urllib.request

from bootgate_process import free_port
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
    refusal = ("refused: default/m2: BootConfig \"motd\" file config.ign cannot be served to host default/m2: "
               "config.ign#/storage/files/0/contents/source: source URL contains whitespace; percent-encode it")
    # Against the running server: the same verdict.
    live = subprocess.run([BINARY, "render", "--every-host", "--server", server.url], capture_output=True, text=True, timeout=60)
    assert live.returncode == 1, live.stderr
    assert f"{hosts_with_configs - 1} configs rendered, 1 refused" in live.stdout and server.url in live.stdout
    assert live.stderr.strip() == refusal
    server.stop()
    p = subprocess.run([BINARY, "render", "--every-host", "--rounds", "2", "--data", server.data], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    rounds = p.stdout.splitlines()
    assert len(rounds) == 2 and all(f"{hosts_with_configs - 1} configs rendered, 1 refused" in r for r in rounds), p.stdout
    assert p.stderr.strip() == refusal
    wrong = subprocess.run([BINARY, "render", "--every-host", "--host", "m1", "--data", server.data], capture_output=True, text=True, timeout=60)
    assert wrong.returncode != 0 and "--every-host takes no --host" in wrong.stderr


# --------------------------------------------------------------------------- bootgate dnsmasq

def dnsmasq_conf(tmp_path, *flags):
    out = tmp_path / "bootgate.conf"
    p = subprocess.run([BINARY, "dnsmasq", *flags, "--output", str(out)], capture_output=True, text=True, timeout=60)
    return p, out


def test_dnsmasq_configs_pass_dnsmasqs_own_check(tmp_path):
    """Both modes, as printed, are accepted by Debian's dnsmasq itself (`dnsmasq --test`)."""
    for flags in (["--interface", "eth1", "--network", "192.0.2.0/24", "--server-url", "http://192.0.2.1:8082"],
                  ["--mode", "range", "--interface", "eth1", "--network", "192.0.2.0/24", "--range", "192.0.2.100,192.0.2.199",
                   "--router", "192.0.2.254", "--dns", "192.0.2.53", "--host", "52:54:00:12:34:56=192.0.2.50",
                   "--server-url", "http://192.0.2.1:8082", "--log-dhcp"]):
        p, conf = dnsmasq_conf(tmp_path, *flags)
        assert p.returncode == 0, p.stderr
        text = conf.read_text()
        assert "http://192.0.2.1:8082/boot.ipxe" in text and "undionly.kpxe" in text and "ipxe.efi" in text
        check = subprocess.run(["dnsmasq", "--test", "-C", str(conf)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0 and "syntax check OK" in check.stderr, check.stderr + text


def test_dnsmasq_names_every_bad_flag_and_writes_nothing(tmp_path):
    p, conf = dnsmasq_conf(tmp_path, "--mode", "range", "--interface", "eth1", "--network", "192.0.2.1/24",
                           "--server-url", "http://localhost:8082", "--host", "nope")
    assert p.returncode == 2 and not conf.exists()
    for flag in ("--network 192.0.2.1/24", "--mode range needs --range", "--server-url", "--host nope"):
        assert flag in p.stderr, p.stderr


# --------------------------------------------------------------------------- serve's defaults

def serve_log(tmp_path, *extra):
    """Starts `bootgate serve` with only a port, a data folder and `extra`; returns its log and
    the host list it served."""
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--data", str(tmp_path / "data"),
                                 "--power-control", "false", *extra], stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                hosts = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/baremetalhosts", timeout=2))
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, log.read_text()
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
    return log.read_text(), hosts


def test_serve_warns_about_default_addresses_and_loads_no_examples(tmp_path):
    local = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    assert "192.168.200.2/" not in local and "192.168.10.1/" not in local, "this machine holds the defaults"
    text, hosts = serve_log(tmp_path)
    assert hosts["items"] == [], "no --examples: a new store stays empty"
    assert text.count("--public-url is not set") == 1 and "http://192.168.200.2:8082" in text, text
    assert text.count("--iscsi-portal is not set") == 1 and "192.168.10.1" in text, text


def test_serve_is_quiet_when_the_addresses_are_given(tmp_path):
    text, hosts = serve_log(tmp_path, "--public-url", "http://127.0.0.1:1", "--iscsi-portal", "127.0.0.1",
                            "--examples", os.path.join(ROOT, "examples"))
    assert "is not set" not in text, text
    assert len(hosts["items"]) > 0, "--examples given: the examples are loaded"
