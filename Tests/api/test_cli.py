"""`bootgate apply -f`: a multi-document YAML file, create or update, idempotent."""
import os
import subprocess

from conftest import BINARY, ROOT


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
