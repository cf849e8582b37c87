"""What is happening: boot events and audit events as stored resources (survive a restart, list,
watch), /metrics in Prometheus format, and boot-step log lines (rate-limited, optionally JSON)."""
import json
import os
import subprocess
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import BINARY, HOSTS, Server, host, wait_for

MAC = "AC:1F:6B:8A:A7:9C"  # server1 in the examples
SECRET = "s3cret-observe-pw"


def boot_events(s, query=""):
    return s.get("/api/v1/bootevents" + query).body["items"]


def test_boot_events_survive_a_restart_and_are_watchable(server):
    before = server.get("/api/v1/bootevents").body
    rv = before["metadata"]["resourceVersion"]
    assert server.get("/ipxe?mac=" + MAC, raw=True).status == 200
    assert server.get("/ipxe?mac=52:54:00:ff:ff:ff", raw=True).status == 200
    assert wait_for(lambda: len(boot_events(server)) == len(before["items"]) + 2)
    items = boot_events(server)[-2:]
    # server1's ISO has no iSCSI target in the examples: its script explains, and is "refused".
    assert items[0]["type"] in ("ipxe", "ipxe-refused") and items[1]["type"] == "ipxe-refused"
    assert items[0]["host"] == "default/server1" and items[0]["kind"] == "BootEvent"
    assert items[1]["host"] == "" and "no BareMetalHost" in items[1]["detail"]
    assert items[0]["metadata"]["name"] < items[1]["metadata"]["name"], "names sort by time"
    # Field selection by host.
    mine = boot_events(server, "?fieldSelector=host%3Ddefault/server1")
    assert mine and all(e["host"] == "default/server1" for e in mine)
    # A watch resumed from before the boots replays them.
    with urllib.request.urlopen(server.url + f"/api/v1/bootevents?watch=true&resourceVersion={rv}&timeoutSeconds=2", timeout=10) as r:
        lines = [json.loads(l) for l in r.read().splitlines() if l.strip()]
    assert [l["object"]["metadata"]["name"] for l in lines if l["type"] == "ADDED"][-2:] == [e["metadata"]["name"] for e in items]
    names = [e["metadata"]["name"] for e in items]
    server.restart()
    assert [e["metadata"]["name"] for e in boot_events(server)][-2:] == names
    # The summary keeps working, from the store.
    assert server.get("/api/v1/events?host=default/server1").body["items"][-1]["time"] == items[0]["time"]


def test_events_are_read_only(server):
    r = server.post("/api/v1/bootevents", {"metadata": {"name": "x"}, "type": "ipxe"})
    assert r.status in (404, 405), r
    r = server.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "bootevents.create", "params": {}})
    assert "error" in r.body


def test_boot_event_retention_by_count(tmp_path):
    s = Server(extra=["--boot-event-retention", "20"])
    try:
        for _ in range(40):
            s.get("/ipxe?mac=" + MAC, raw=True)
        assert wait_for(lambda: len(boot_events(s)) <= 21 and len(s.get("/api/v1/events?limit=1000").body["items"]) <= 21, seconds=15)
        assert len(boot_events(s)) >= 20
    finally:
        s.close()


def test_bad_retention_flag_is_one_line(tmp_path):
    p = subprocess.run([BINARY, "serve", "--data", str(tmp_path), "--boot-event-max-age", "soon"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "--boot-event-max-age" in p.stderr and "7d" in p.stderr


# --- audit -------------------------------------------------------------------------------------

def token(file, role, name):
    p = subprocess.run([BINARY, "token", "create", "--role", role, "--name", name, "--file", str(file)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def auth(tok):
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    file = tmp_path_factory.mktemp("tokens") / "tokens"
    tokens = {role: token(file, role, f"t-{role}") for role in ("viewer", "operator", "admin")}
    s = Server(extra=["--token-file", str(file)])
    s.tokens = tokens
    yield s
    s.close()


def audit(s, name):
    items = s.get("/api/v1/auditevents?fieldSelector=object.name%3D" + name, headers=auth(s.tokens["admin"])).body["items"]
    return items


def test_every_write_is_audited_with_who_and_redaction(guarded):
    s, t = guarded, guarded.tokens
    before = s.get(HOSTS + "/server1", headers=auth(t["admin"])).body["metadata"]["resourceVersion"]
    r = s.patch(HOSTS + "/server1", {"spec": {"bmc": {"password": SECRET}, "image": "localboot"}}, headers=auth(t["admin"]))
    assert r.status == 200, r
    after = r.body["metadata"]["resourceVersion"]
    r = s.patch(HOSTS + "/server1", {"spec": {"image": "coreos-live"}}, headers=auth(t["operator"]))
    assert r.status == 200, r
    r = s.post("/rpc", {"jsonrpc": "2.0", "id": 7, "method": "baremetalhosts.patch",
                        "params": {"namespace": "default", "name": "server1", "body": {"metadata": {"labels": {"rack": "r9"}}}}},
               headers=auth(t["admin"]))
    assert "result" in r.body, r
    items = audit(s, "server1")[-3:]
    assert [(e["verb"], e["user"]["name"], e["user"]["role"], e["user"]["transport"]) for e in items] == [
        ("patch", "t-admin", "admin", "rest"), ("patch", "t-operator", "operator", "rest"), ("patch", "t-admin", "admin", "jsonrpc")]
    first = items[0]
    assert first["object"] == {"kind": "BareMetalHost", "namespace": "default", "name": "server1", "uid": first["object"]["uid"]}
    assert first["resourceVersionBefore"] == before and first["resourceVersionAfter"] == after
    ops = {op["path"]: op for op in first["patch"]}
    assert ops["/spec/image"]["value"] == "localboot"
    assert ops["/spec/bmc/password"]["value"] == "(redacted)"
    assert {"op": "add", "path": "/metadata/labels/rack", "value": "r9"} in items[2]["patch"] or \
        {"op": "add", "path": "/metadata/labels", "value": {"rack": "r9"}} in items[2]["patch"]
    text = s.get("/api/v1/auditevents", headers=auth(t["admin"])).text
    assert SECRET not in text


def test_audit_records_are_for_admins_only(guarded):
    s, t = guarded, guarded.tokens
    assert s.get("/api/v1/auditevents", headers=auth(t["viewer"])).status == 403
    assert s.get("/api/v1/auditevents", headers=auth(t["operator"])).status == 403
    assert s.get("/api/v1/auditevents").status == 401
    r = s.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "auditevents.list", "params": {}}, headers=auth(t["viewer"]))
    assert "error" in r.body
    # Boot events are for every role.
    assert s.get("/api/v1/bootevents", headers=auth(t["viewer"])).status == 200


def test_anonymous_writes_on_loopback_are_audited(server):
    r = server.post("/api/v1/bootconfigs", {"metadata": {"name": "audited"}, "spec": {"format": "custom", "data": {"x": "y" * 1000}}})
    assert r.status == 201, r
    assert server.delete("/api/v1/bootconfigs/audited").status == 200
    items = server.get("/api/v1/auditevents?fieldSelector=object.name%3Daudited").body["items"]
    assert [(e["verb"], e["user"]["name"]) for e in items] == [("create", "anonymous"), ("delete", "anonymous")]
    assert items[0]["user"]["address"] == "127.0.0.1"
    assert "(1000 bytes)" in json.dumps(items[0]["patch"]), "long values are summarised"
    assert items[1]["patch"] == [{"op": "remove", "path": ""}]


def test_audit_records_survive_a_kill(server):
    r = server.patch(HOSTS + "/server1", {"metadata": {"labels": {"killed": "yes"}}})
    assert r.status == 200
    server.kill()
    server.start()
    items = server.get("/api/v1/auditevents?fieldSelector=object.name%3Dserver1").body["items"]
    assert items[-1]["resourceVersionAfter"] == r.body["metadata"]["resourceVersion"]


# --- metrics -----------------------------------------------------------------------------------

def metrics(s, headers=None):
    r = s.get("/metrics", raw=True, headers=headers)
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_parse_and_count_boot_requests(server):
    assert server.post(HOSTS, host("local1", "52:54:00:aa:bb:01", image="localboot")).status == 201
    m0 = metrics(server)
    for _ in range(3):
        server.get("/ipxe?mac=52:54:00:aa:bb:01", raw=True)
    server.get("/ipxe?mac=52:54:00:ff:ff:ff", raw=True)
    server.get("/ipxe?mac=nonsense", raw=True)
    server.get("/api/v1/bootconfig", raw=True)  # 127.0.0.1 is no host's address: refused
    m = metrics(server)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return m.get(key, 0) - m0.get(key, 0)
    assert delta("bootgate_boot_requests_total", route="ipxe", result="served") == 3
    assert delta("bootgate_boot_requests_total", route="ipxe", result="refused") == 1
    assert delta("bootgate_boot_requests_total", route="ipxe", result="error") == 1
    assert delta("bootgate_boot_requests_total", route="config", result="refused") == 1
    assert m[("bootgate_store_objects", (("kind", "BareMetalHost"),))] >= 1
    assert m[("bootgate_store_reachable", (("backend", "sqlite"),))] == 1
    assert ("bootgate_watchers", ()) in m
    assert any(k[0] == "bootgate_store_commit_duration_seconds_bucket" for k in m)


def test_metrics_count_rendered_configs_by_format(server):
    server.patch(HOSTS + "/server1", {"spec": {"ip": "127.0.0.1"}})
    m0 = metrics(server)
    assert server.get("/api/v1/bootconfig", raw=True).status == 200
    m = metrics(server)
    key = ("bootgate_config_renders_total", (("format", "ignition"),))
    assert m[key] - m0.get(key, 0) == 1
    assert m[("bootgate_config_render_duration_seconds_count", (("format", "ignition"),))] >= 1


def test_metrics_need_a_token_off_loopback_only(guarded):
    # The test client is on loopback: no token needed; a token of any role works too.
    metrics(guarded)
    metrics(guarded, headers=auth(guarded.tokens["viewer"]))


# --- logs --------------------------------------------------------------------------------------

def test_boot_steps_log_one_line_each_as_json(tmp_path):
    s = Server(extra=["--log-format", "json", "--boot-log-rate", "5"])
    try:
        for _ in range(3):
            s.get("/ipxe?mac=" + MAC, raw=True)
        assert wait_for(lambda: s.logtext().count('"event":"ipxe') >= 3)
        for _ in range(40):
            s.get("/ipxe?mac=" + MAC, raw=True)
        s.stop()
        lines = [json.loads(l) for l in open(os.path.join(s.data, "server.log"), errors="replace").read().splitlines() if l.startswith("{")]
        boot = [l for l in lines if l.get("event", "").startswith("ipxe")]
        assert boot and all(l["level"] == "info" and l["host"] == "default/server1" and l["time"].endswith("Z") for l in boot)
        # 43 boots at 5 lines a second: most were held back, and the count is told.
        assert len(boot) < 43
        m = metrics_after_restart(s)
        assert m[("bootgate_log_lines_suppressed_total", ())] == 0  # a new process counts anew
    finally:
        s.close()


def metrics_after_restart(s):
    s.start()
    return metrics(s)


def test_suppressed_lines_are_counted(tmp_path):
    import time
    s = Server(extra=["--boot-log-rate", "2"])
    try:
        for _ in range(10):
            s.get("/ipxe?mac=" + MAC, raw=True)
        m = metrics(s)
        assert m[("bootgate_log_lines_suppressed_total", ())] >= 1
        time.sleep(1.1)
        s.get("/ipxe?mac=" + MAC, raw=True)
        assert wait_for(lambda: "boot log lines suppressed before this one" in s.logtext())
    finally:
        s.close()
