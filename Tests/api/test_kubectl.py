"""The real kubectl against bootgate, as mkube users' `oc` alias is used against mkube."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ROOT, wait_for

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None and not os.environ.get("CI"), reason="kubectl not installed")


@pytest.fixture
def kubectl(server, tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster: {{server: "{server.url}"}}
  name: bootgate
contexts:
- context: {{cluster: bootgate, user: anon, namespace: default}}
  name: bootgate
current-context: bootgate
users:
- name: anon
  user: {{}}
""")
    env = dict(os.environ, KUBECONFIG=str(config), HOME=str(tmp_path))

    def run(*args, check=True, timeout=60):
        p = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, f"kubectl {' '.join(args)}: {p.stderr}"
        return p

    run.env = env
    return run


def test_get_all_namespaces_shows_boot_columns(kubectl):
    out = kubectl("get", "bmh", "-A").stdout
    header, row = out.splitlines()[0].split(), out.splitlines()[1].split()
    assert header[:7] == ["NAMESPACE", "NAME", "MAC", "IP", "ISO", "CONFIG", "POWER"]
    assert row[:6] == ["default", "server1", "AC:1F:6B:8A:A7:9C", "192.168.10.10", "coreos-live", "coreos-builder"]
    assert "AGE" in header


def test_short_names_and_yaml(kubectl):
    assert "coreos-builder" in kubectl("get", "bc").stdout
    assert "fedora-netinst" in kubectl("get", "icd").stdout
    y = kubectl("get", "bmh", "server1", "-o", "yaml").stdout
    assert "bootMACAddress: AC:1F:6B:8A:A7:9C" in y and "kind: BareMetalHost" in y
    assert "password" not in y


def test_patch_and_validation_errors(kubectl):
    assert "patched" in kubectl("patch", "bmh", "server1", "--type", "merge", "-p", '{"spec":{"image":"localboot"}}').stdout
    assert "localboot" in kubectl("get", "bmh", "server1").stdout
    p = kubectl("patch", "bmh", "server1", "--type", "merge", "-p", '{"spec":{"image":"coreos-live","bootConfigRef":"fedora-server"}}', check=False)
    assert p.returncode != 0 and "not compatible with ISO" in p.stderr and "coreos-builder, builder-target" in p.stderr
    p = kubectl("delete", "bc", "coreos-builder", check=False)
    assert p.returncode != 0 and "still referenced" in p.stderr


def test_watch_shows_a_change(kubectl, server):
    proc = subprocess.Popen(["kubectl", "get", "bmh", "-w"], env=kubectl.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "NAME" in first
        assert "coreos-live" in proc.stdout.readline()
        time.sleep(0.3)
        kubectl("patch", "bmh", "server1", "--type", "merge", "-p", '{"spec":{"image":"localboot"}}')
        line = proc.stdout.readline()
        assert "server1" in line and "localboot" in line
    finally:
        proc.kill()
        proc.wait()


def test_apply_the_examples_is_idempotent(kubectl, empty_server, tmp_path):
    # kubectl pointed at an empty server: apply creates, apply again changes nothing.
    config = tmp_path / "empty-kubeconfig"
    config.write_text(re.sub(r"http://127.0.0.1:\d+", empty_server.url, open(kubectl.env["KUBECONFIG"]).read()))
    env = dict(kubectl.env, KUBECONFIG=str(config))
    # Apply in dependency order: configs, then ISOs, then hosts.
    files = [os.path.join(ROOT, "examples", f) for f in ("bootconfigs.yaml", "iscsi-cdroms.yaml", "baremetalhosts.yaml")]
    for f in files:
        p = subprocess.run(["kubectl", "apply", "-f", f], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "created" in p.stdout
    rv = empty_server.get("/api/v1/bootconfigs").body["metadata"]["resourceVersion"]
    for f in files:
        p = subprocess.run(["kubectl", "apply", "-f", f], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        if "baremetalhosts" not in f:
            assert "unchanged" in p.stdout and "configured" not in p.stdout, p.stdout
    # The host manifest carries a BMC password that reads never return, so kubectl sends it
    # again ("configured"); the server sees no change and makes no new revision.
    assert empty_server.get("/api/v1/bootconfigs").body["metadata"]["resourceVersion"] == rv


def test_chunk_size_pages_through_every_host(kubectl, server):
    for i in range(5):
        r = server.post("/api/v1/namespaces/default/baremetalhosts", {
            "apiVersion": "v1", "kind": "BareMetalHost", "metadata": {"name": f"chunk{i}", "namespace": "default"},
            "spec": {"bootMACAddress": "52:54:00:cc:00:%02x" % i}})
        assert r.status == 201, r
    p = kubectl("get", "bmh", "--chunk-size=2", "-o", "name", "-v=6")
    assert p.stdout.split() == [f"baremetalhost/chunk{i}" for i in range(5)] + ["baremetalhost/server1"]
    # Three requests, each asking for two, the later ones with the token.
    requests = [line for line in p.stderr.splitlines() if "baremetalhosts?" in line and "limit=2" in line]
    assert len(requests) == 3, p.stderr
    assert sum("continue=" in line for line in requests) == 2
    # The server-side Table too (the default printer).
    rows = kubectl("get", "bmh", "--chunk-size=4").stdout.splitlines()
    assert len(rows) == 7 and rows[0].split()[0] == "NAME"


def test_sort_by_a_status_field(kubectl, server):
    # kubectl asks for rows with their objects (includeObject=Object) and sorts on them.
    for i, boots in enumerate([5, 1, 3]):
        r = server.post("/api/v1/namespaces/default/baremetalhosts", {
            "apiVersion": "v1", "kind": "BareMetalHost", "metadata": {"name": f"sort{i}", "namespace": "default"},
            "spec": {"bootMACAddress": "52:54:00:dd:00:%02x" % i}})
        assert r.status == 201, r
        for _ in range(boots):
            assert server.get(f"/ipxe?mac=52:54:00:dd:00:{i:02x}", raw=True).status == 200
    assert wait_for(lambda: server.get("/api/v1/namespaces/default/baremetalhosts/sort0").body.get("status", {}).get("bootCount") == 5)
    out = kubectl("get", "bmh", "--sort-by=.status.bootCount").stdout
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert [n for n in names if n.startswith("sort")] == ["sort1", "sort2", "sort0"], out
    assert "No resources found" not in out


def test_explain_reads_the_kinds_schemas(kubectl):
    out = kubectl("explain", "bmh").stdout
    assert "KIND:       BareMetalHost" in out and "spec\t<Object>" in out
    bmc = kubectl("explain", "bmh.spec.bmc").stdout
    assert "address\t<string>" in bmc and "IPMI address" in bmc
    assert "format" in kubectl("explain", "bootconfigs.spec").stdout
