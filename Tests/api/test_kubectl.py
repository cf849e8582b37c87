"""The real kubectl against bootgate, as mkube users' `oc` alias is used against mkube."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ROOT

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
