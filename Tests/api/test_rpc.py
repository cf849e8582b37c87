"""JSON-RPC 2.0: the same operations as REST with the same results, batches, notifications,
standard errors, watch over the WebSocket, and a fuzz pass."""
import json
import random

import pytest
import websocket

from conftest import HOSTS

# isoPath: each server has its own ISO folder (<data>/iso).
IGNORED = {"uid", "creationTimestamp", "resourceVersion", "isoPath"}


def rpc(server, method, id=1, **params):
    r = server.post("/rpc", {"jsonrpc": "2.0", "method": method, "params": params, "id": id})
    assert r.status == 200, r
    return r.body


def scrub(v):
    """Drops what differs between two runs of one scenario (ids, times, revisions)."""
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in IGNORED}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v


# The spec's whole flow as (operationId, params, REST method, REST path, REST body).
SCENARIO = [
    ("bootconfigs.create", {"body": {"metadata": {"name": "c-ign"}, "spec": {"format": "ignition", "data": {"config.ign": '{"ignition":{"version":"3.4.0"}}'}}}}, "POST", "/api/v1/bootconfigs"),
    ("bootconfigs.create", {"body": {"metadata": {"name": "c-ks"}, "spec": {"format": "kickstart", "data": {"ks.cfg": "lang en_US.UTF-8\nreboot\n"}}}}, "POST", "/api/v1/bootconfigs"),
    ("bootconfigs.create", {"body": {"metadata": {"name": "c-bad"}, "spec": {"format": "ignition", "data": {"config.ign": '{"ignition":{"version":"3.4.0"},"bogus":1}'}}}}, "POST", "/api/v1/bootconfigs"),
    ("iscsicdroms.create", {"body": {"metadata": {"name": "iso-a"}, "spec": {"bootConfigs": ["c-ign"]}}}, "POST", "/api/v1/iscsi-cdroms"),
    ("iscsicdroms.create", {"body": {"metadata": {"name": "iso-b"}, "spec": {"bootConfigs": ["ghost"]}}}, "POST", "/api/v1/iscsi-cdroms"),
    ("iscsicdroms.create", {"body": {"metadata": {"name": "iso-c"}}}, "POST", "/api/v1/iscsi-cdroms"),
    ("baremetalhosts.create", {"namespace": "default", "body": {"metadata": {"name": "h"}, "spec": {"bootMACAddress": "52:54:00:00:00:01", "image": "iso-a", "bootConfigRef": "c-ks"}}}, "POST", HOSTS),
    ("baremetalhosts.create", {"namespace": "default", "body": {"metadata": {"name": "h"}, "spec": {"bootMACAddress": "52:54:00:00:00:01", "image": "nope"}}}, "POST", HOSTS),
    ("baremetalhosts.create", {"namespace": "default", "body": {"metadata": {"name": "h"}, "spec": {"bootMACAddress": "52:54:00:00:00:01", "image": "iso-c", "bootConfigRef": "c-ign"}}}, "POST", HOSTS),
    ("baremetalhosts.create", {"namespace": "default", "body": {"metadata": {"name": "h"}, "spec": {"bootMACAddress": "52:54:00:00:00:01", "image": "iso-a", "bootConfigRef": "c-ign"}}}, "POST", HOSTS),
    ("baremetalhosts.patch", {"namespace": "default", "name": "h", "body": {"spec": {"image": "localboot", "bootConfigRef": "c-ks"}}}, "PATCH", HOSTS + "/h"),
    ("iscsicdroms.patch", {"name": "iso-a", "body": {"spec": {"bootConfigs": []}}}, "PATCH", "/api/v1/iscsi-cdroms/iso-a"),
    ("bootconfigs.delete", {"name": "c-ks"}, "DELETE", "/api/v1/bootconfigs/c-ks"),
    ("baremetalhosts.get", {"namespace": "default", "name": "h"}, "GET", HOSTS + "/h"),
    ("baremetalhosts.list", {"namespace": "default", "fieldSelector": "spec.image=localboot"}, "GET", HOSTS + "?fieldSelector=spec.image%3Dlocalboot"),
    ("baremetalhosts.delete", {"namespace": "default", "name": "h"}, "DELETE", HOSTS + "/h"),
    ("bootconfigs.delete", {"name": "c-ks"}, "DELETE", "/api/v1/bootconfigs/c-ks"),
    ("iscsicdroms.delete", {"name": "iso-a"}, "DELETE", "/api/v1/iscsi-cdroms/iso-a"),
    ("bootconfigs.list", {}, "GET", "/api/v1/bootconfigs"),
]


def test_one_scenario_gives_identical_results_over_rest_and_rpc(empty_server):
    from conftest import Server
    other = Server(examples=False)
    try:
        for op, params, method, path in SCENARIO:
            body = params.get("body")
            rest = empty_server.request(method, path, body)
            res = rpc(other, op, **params)
            if rest.status < 300:
                assert "result" in res, (op, res)
                assert scrub(res["result"]) == scrub(rest.body), op
            else:
                assert res["error"]["code"] == rest.status, (op, res, rest)
                assert scrub(res["error"]["data"]) == scrub(rest.body), op
                assert res["error"]["message"] == rest.body["message"]
    finally:
        other.close()


def test_batches_notifications_and_standard_errors(server):
    r = server.post("/rpc", [
        {"jsonrpc": "2.0", "method": "bootconfigs.get", "params": {"name": "fedora-server"}, "id": "a"},
        {"jsonrpc": "2.0", "method": "bootconfigs.get", "params": {"name": "nope"}, "id": "b"},
        {"jsonrpc": "2.0", "method": "no.such", "id": "c"},
        {"jsonrpc": "2.0", "method": "bootconfigs.get", "params": {"nmae": "x"}, "id": "d"},
        {"jsonrpc": "2.0", "method": "bootconfigs.get", "params": ["x"], "id": "e"},
        {"jsonrpc": "2.0", "method": "system.version"},
        {"jsonrpc": "1.0", "method": "system.version", "id": "f"},
        42,
    ])
    by_id = {x["id"]: x for x in r.body if x["id"] is not None}
    assert by_id["a"]["result"]["metadata"]["name"] == "fedora-server"
    assert by_id["b"]["error"]["code"] == 404 and by_id["b"]["error"]["data"]["kind"] == "Status"
    assert by_id["c"]["error"]["code"] == -32601
    assert by_id["d"]["error"]["code"] == -32602 and "nmae" in by_id["d"]["error"]["message"]
    assert by_id["e"]["error"]["code"] == -32602
    assert by_id["f"]["error"]["code"] == -32600
    assert len(r.body) == 7  # the notification got no reply; the 42 an Invalid Request with id null
    assert server.post("/rpc", {"jsonrpc": "2.0", "method": "system.version"}).status == 204
    assert server.post("/rpc", b"{nope").body["error"]["code"] == -32700
    assert server.post("/rpc", []).body["error"]["code"] == -32600
    r = rpc(server, "baremetalhosts.get", namespace="default", name="server1", includeSecrets="yes")
    assert r["error"]["code"] == -32602 and "boolean" in r["error"]["message"]


def test_json_patch_over_rpc(server):
    r = rpc(server, "baremetalhosts.patch", namespace="default", name="server1", patchType="json",
            body=[{"op": "replace", "path": "/spec/image", "value": "localboot"}])
    assert r["result"]["spec"]["image"] == "localboot"


def test_rpc_discover_returns_openrpc(server):
    doc = rpc(server, "rpc.discover")["result"]
    assert doc["openrpc"].startswith("1.") and any(m["name"] == "baremetalhosts.patch" for m in doc["methods"])
    assert rpc(server, "baremetalhosts.list", namespace="default", watch=True)["error"]["code"] == -32602


def test_watch_over_websocket(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/rpc/ws", timeout=10)
    try:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "baremetalhosts.listAllNamespaces", "params": {"watch": True}, "id": 1}))
        sub = json.loads(ws.recv())["result"]["subscription"]
        first = json.loads(ws.recv())
        assert first["method"] == "watch.event" and first["params"]["subscription"] == sub
        assert first["params"]["type"] == "ADDED" and first["params"]["object"]["metadata"]["name"] == "server1"
        # Ordinary requests work on the same socket.
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "baremetalhosts.patch", "params": {"namespace": "default", "name": "server1", "body": {"metadata": {"labels": {"x": "1"}}}}, "id": 2}))
        got = [json.loads(ws.recv()), json.loads(ws.recv())]
        reply = next(m for m in got if m.get("id") == 2)
        event = next(m for m in got if m.get("method") == "watch.event")
        assert reply["result"]["metadata"]["labels"] == {"x": "1"}
        assert event["params"]["type"] == "MODIFIED"
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "rpc.unsubscribe", "params": {"subscription": sub}, "id": 3}))
        msgs = [json.loads(ws.recv())]
        while msgs[-1].get("id") != 3:
            msgs.append(json.loads(ws.recv()))
        assert msgs[-1]["result"] is True
        server.patch(HOSTS + "/server1", {"metadata": {"labels": {"x": "2"}}})
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "system.version", "id": 4}))
        rest = []
        while True:
            m = json.loads(ws.recv())
            rest.append(m)
            if m.get("id") == 4:
                break
        assert not any(m.get("method") == "watch.event" and m["params"]["object"]["metadata"].get("labels") == {"x": "2"} for m in rest)
    finally:
        ws.close()


def test_fuzz_never_crashes_and_always_answers_correctly(server):
    rng = random.Random(7)
    methods = ["bootconfigs.get", "baremetalhosts.patch", "iscsicdroms.create", "no.such", "rpc.discover", "events.list", 17, None]
    values = [None, True, 0, -1, 2**70, 1.5, "", "x" * 5000, [], {}, [[[]]], {"a": {"b": {}}}, "\u0000\ud7ff"]
    for i in range(400):
        kind = rng.randrange(6)
        if kind == 0:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif kind == 1:
            payload = ("[" * rng.randrange(1, 3000) + "]" * rng.randrange(0, 3000)).encode()
        elif kind == 2:
            payload = json.dumps([{"jsonrpc": "2.0", "method": "system.version", "id": n} for n in range(rng.randrange(1, 1500))]).encode()
        else:
            req = {"jsonrpc": rng.choice(["2.0", "2.0", "1.0", None]), "method": rng.choice(methods), "id": rng.choice([1, "s", None, [], 2.5])}
            if rng.random() < 0.8:
                req["params"] = rng.choice([{"name": rng.choice(values), "body": rng.choice(values)}, rng.choice(values)])
            payload = json.dumps(req).encode()
        r = server.post("/rpc", payload)
        assert r.status in (200, 204), (payload[:200], r)
        if r.status == 204:
            continue
        replies = r.body if isinstance(r.body, list) else [r.body]
        for reply in replies:
            assert reply["jsonrpc"] == "2.0" and "id" in reply
            assert ("result" in reply) != ("error" in reply)
            if "error" in reply:
                code = reply["error"]["code"]
                assert code in (-32700, -32600, -32601, -32602, -32603) or 400 <= code < 500, reply
                assert code != -32603, reply  # no internal errors from bad input
    assert server.get("/healthz").status == 200
