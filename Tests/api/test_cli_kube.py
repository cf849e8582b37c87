"""`bootgate get|describe|delete` and `apply -f` as kubectl's, run as subprocesses against a real
server; and every subcommand's runtime errors as one line."""
import json
import os
import subprocess

from conftest import BINARY, HOSTS, ROOT, host
from bootgate_process import free_port


def bg(*args, stdin=None, env=None):
    return subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True, timeout=60, input=stdin,
                          env=dict(os.environ, **(env or {})))


def ok(*args, **kw):
    p = bg(*args, **kw)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p.stdout


def test_get_lists_kinds_by_any_name_the_discovery_gives(server):
    s = ["--server", server.url]
    table = ok("get", "bmh", *s).splitlines()
    assert table[0].split()[:4] == ["NAME", "MAC", "IP", "ISO"] and table[1].split()[:2] == ["server1", "AC:1F:6B:8A:A7:9C"]
    for word in ("bc", "bootconfigs", "BootConfig", "bootconfig"):
        assert "coreos-builder" in ok("get", word, *s)
    for word in ("iso", "icd", "iscsi-cdroms"):
        assert "fedora-netinst" in ok("get", word, *s)
    wide = ok("get", "bmh", "-o", "wide", *s).splitlines()[0]
    assert "LAST BOOT" in wide and "IPMI" in wide and "LAST BOOT" not in table[0]
    everywhere = ok("get", "bmh", "-A", *s).splitlines()
    assert everywhere[0].split()[0] == "NAMESPACE" and everywhere[1].split()[:2] == ["default", "server1"]
    assert ok("get", "bmh", "-o", "name", *s) == "baremetalhost/server1\n"
    assert ok("get", "bmh/server1", "-o", "name", *s) == "baremetalhost/server1\n"


def test_get_yaml_json_selectors_and_paging(server):
    s = ["--server", server.url]
    for i in range(7):
        body = host(f"g{i}", "52:54:00:00:31:%02x" % i)
        body["metadata"]["labels"] = {"rack": "r%d" % (i % 2)}
        assert server.post(HOSTS, body).status == 201
    one = ok("get", "bmh", "g1", "-o", "json", *s)
    assert json.loads(one)["metadata"]["name"] == "g1" and one.startswith("{\n    \"kind\"")
    listed = json.loads(ok("get", "bmh", "-l", "rack=r1", "-o", "json", "--chunk-size", "2", *s))
    assert listed["kind"] == "List" and [i["metadata"]["name"] for i in listed["items"]] == ["g1", "g3", "g5"]
    # Pages of 2 put together: every host once, in order.
    names = ok("get", "bmh", "--chunk-size", "2", "-o", "name", *s).split()
    assert names == [f"baremetalhost/g{i}" for i in range(7)] + ["baremetalhost/server1"]
    rows = ok("get", "bmh", "--chunk-size", "3", *s).splitlines()
    assert len(rows) == 9
    y = ok("get", "bc", "coreos-builder", "-o", "yaml", *s)
    assert y.startswith("kind: BootConfig\n") and "    config.ign: |\n      {\n" in y
    assert "password" not in ok("get", "bmh", "server1", "-o", "yaml", *s)
    none = bg("get", "bmh", "-l", "rack=none", *s)
    assert none.returncode == 0 and none.stdout == "" and "No resources found in default namespace." in none.stderr


def test_describe_shows_spec_without_password_status_warnings_and_events(server):
    s = ["--server", server.url]
    assert server.get("/ipxe?mac=ac1f6b8aa79c", raw=True).status == 200
    out = ok("describe", "bmh", "server1", *s)
    for part in ("Name:         server1", "Namespace:    default", "Spec:\n", "  bootMACAddress: \"AC:1F:6B:8A:A7:9C\"", "Status:\n",
                 "Warnings:\n", "Events:\n", "ipxe"):
        assert part in out, out
    assert "password" not in out
    # The host cannot boot its ISO (no iSCSI target yet): said under Warnings.
    warnings = out.split("Warnings:\n")[1].split("Events:")[0]
    assert "no iSCSI target" in warnings
    cfg = ok("describe", "bc", "coreos-builder", *s)
    assert "Kind:         BootConfig" in cfg and "format: ignition" in cfg


def test_delete_by_name_and_selector_and_refusals(server):
    s = ["--server", server.url]
    for i in range(3):
        body = host(f"d{i}", "52:54:00:00:32:%02x" % i)
        body["metadata"]["labels"] = {"gone": "yes"}
        assert server.post(HOSTS, body).status == 201
    assert ok("delete", "bmh", "d0", *s) == "baremetalhost \"d0\" deleted\n"
    assert ok("delete", "bmh", "-l", "gone=yes", *s).splitlines() == ["baremetalhost \"d1\" deleted", "baremetalhost \"d2\" deleted"]
    # A config in use is refused: one line, exit 1.
    p = bg("delete", "bc", "coreos-builder", *s)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and "coreos-builder" in p.stderr and "Usage" not in p.stderr
    missing = bg("delete", "bmh", "nope", *s)
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert bg("delete", "bmh", "nope", "--ignore-not-found", *s).returncode == 0
    assert bg("delete", "bmh", *s).returncode == 1


def test_apply_takes_folders_recursively_and_stdin(empty_server, tmp_path):
    s = ["--server", empty_server.url]
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    for name in ("bootconfigs.yaml", "iscsi-cdroms.yaml"):
        (tmp_path / "a" / name).write_text(open(os.path.join(ROOT, "examples", name)).read())
    (nested / "hosts.yml").write_text(open(os.path.join(ROOT, "examples", "baremetalhosts.yaml")).read())
    (nested / "notes.txt").write_text("not a manifest")
    out = ok("apply", "-f", tmp_path, *s)
    assert out.count("created") == 8 and "baremetalhost/server1 created" in out
    again = ok("apply", "-f", "-", *s, stdin=(nested / "hosts.yml").read_text())
    assert again.strip() == "baremetalhost/server1 unchanged"
    # The README's command.
    assert ok("apply", "-f", os.path.join(ROOT, "examples"), *s).count("unchanged") == 8


def test_apply_removes_what_the_manifest_no_longer_has(empty_server, tmp_path):
    s = ["--server", empty_server.url]
    manifest = tmp_path / "h.yaml"
    secret = "apply-secret-pw"
    manifest.write_text(f"""apiVersion: v1
kind: BareMetalHost
metadata:
  name: h1
  labels: {{rack: r1, role: builder}}
spec:
  bootMACAddress: "52:54:00:12:34:56"
  hostname: h1.lab
  bmc: {{address: 127.0.0.1, username: u, password: {secret}}}
""")
    assert ok("apply", "-f", manifest, *s).strip() == "baremetalhost/h1 created"
    # Someone else adds a label; the manifest then drops a label and a field.
    assert empty_server.patch(HOSTS + "/h1", {"metadata": {"labels": {"owner": "ops"}}}).status == 200
    manifest.write_text(manifest.read_text().replace(", role: builder", "").replace("  hostname: h1.lab\n", ""))
    assert ok("apply", "-f", manifest, *s).strip() == "baremetalhost/h1 configured"
    got = empty_server.get(HOSTS + "/h1").body
    assert got["metadata"]["labels"] == {"rack": "r1", "owner": "ops"}
    assert "hostname" not in got["spec"]
    # The password stays, and never sits in the last-applied annotation.
    assert empty_server.get(HOSTS + "/h1?includeSecrets=true").body["spec"]["bmc"]["password"] == secret
    applied = json.loads(got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert "password" not in applied["spec"]["bmc"] and "hostname" not in applied["spec"]
    assert ok("apply", "-f", manifest, *s).strip() == "baremetalhost/h1 unchanged"


def test_every_subcommands_runtime_error_is_one_line(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "h.yaml").write_text("apiVersion: v1\nkind: BootConfig\nmetadata: {name: x}\nspec: {format: custom, data: {a: b}}\n")
    not_running = [
        ["get", "bmh"], ["describe", "bmh", "server1"], ["delete", "bmh", "server1"], ["apply", "-f", tmp_path / "h.yaml"],
        ["render", "--host", "server1"], ["render", "--every-host"], ["validate"],
    ]
    for args in not_running:
        p = bg(*args, "--server", dead)
        assert p.returncode == 1, (args, p.stderr)
        assert p.stderr == f"bootgate: no bootgate server is running at {dead} (connection refused); start one with `bootgate serve` or pass --server\n", (args, p.stderr)
    others = [
        (["apply", "-f", tmp_path / "missing.yaml"], "no such file"),
        (["apply", "-f", tmp_path / "empty-dir-nothing"], "no such file"),
        (["get", "nope", "--server", dead], "no bootgate server"),
        (["render", "--host", "x", "--data", tmp_path], "no bootgate store"),
        (["migrate", "--from", f"sqlite:{tmp_path}/none", "--to", f"sqlite:{tmp_path}/t"], "no bootgate store"),
        (["migrate", "--from", "bogus", "--to", "x"], "a store is"),
        (["token", "list", "--file", tmp_path], "token file"),
        (["token", "create", "--role", "bogus", "--name", "a", "--file", tmp_path / "t"], "--role"),
        (["serve", "--listen", "127.0.0.1:0", "--data", "/proc/nope", "--examples", "none", "--power-control", "false"], "no such file or folder"),
        (["serve", "--store", "bogus"], "--store"),
    ]
    for args, words in others:
        p = bg(*args)
        assert p.returncode == 1, (args, p.stderr)
        last = p.stderr.strip().splitlines()[-1]
        assert last.startswith("bootgate: ") and words in last, (args, p.stderr)
        for noise in ("USAGE", "Usage", "NSCocoaErrorDomain", "NSURLErrorDomain", "Error Domain", 'io("', "Error: "):
            assert noise not in p.stderr, (args, p.stderr)


def test_unknown_kind_names_what_the_server_has(server):
    p = bg("get", "bogus", "--server", server.url)
    assert p.returncode == 1
    assert p.stderr.strip() == ('bootgate: the server has no resource type "bogus"; it has baremetalhosts (bmh), '
                                'bootconfigs (bc), iscsi-cdroms (icd, iso), bootevents (bev), auditevents (aev)')


def test_help_and_usage_errors_still_show_usage():
    for args in (["--help"], ["get", "--help"], ["apply", "--help"], ["help", "describe"]):
        p = bg(*args)
        assert p.returncode == 0 and "USAGE:" in p.stdout, (args, p.stdout, p.stderr)
    p = bg("get", "bmh", "-o", "bad")
    assert p.returncode != 0 and "-o must be wide, yaml, json or name" in p.stderr and "Usage:" in p.stderr
