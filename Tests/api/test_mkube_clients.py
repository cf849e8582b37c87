"""mkube's real clients, pointed at bootgate: each one's exact requests (mkube-clients.md), on the
embedded store and with bootgate in front of an upstream (here a second bootgate)."""
import http.client
import json
import time

import pytest

from conftest import HOSTS, Server


@pytest.fixture(params=["own-store", "in-front"])
def target(request):
    if request.param == "own-store":
        s = Server(examples=True)
        yield s
        s.close()
    else:
        upstream = Server(examples=True)
        gateway = Server(examples=True, extra=["--upstream", upstream.url])
        yield gateway
        gateway.close()
        upstream.close()


class WatchLines:
    """A watch read as the Go clients read it: bufio.Scanner lines, blank ones skipped."""

    def __init__(self, server, path):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        self.conn.request("GET", path)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200

    def next(self):
        while True:
            line = self.resp.readline()
            assert line, "the watch ended"
            if line.strip():
                return json.loads(line)

    def until(self, predicate, limit=200):
        for _ in range(limit):
            e = self.next()
            if predicate(e):
                return e
        raise AssertionError("no such event")

    def close(self):
        self.conn.close()


def plain_patch(server, path, body):
    """What pxemanager sends: PATCH with Content-Type application/json."""
    return server.request("PATCH", path, body, content_type="application/json")


def test_pxemanager(target):
    hosts = target.get("/api/v1/baremetalhosts").body["items"]
    server1 = next(h for h in hosts if h["metadata"]["name"] == "server1")
    for key in ("name", "namespace"):
        assert server1["metadata"][key]
    for key in ("bootMACAddress", "image", "bootConfigRef", "ip"):
        assert key in server1["spec"]
    assert "phase" in server1["status"] and "poweredOn" in server1["status"]
    isos = target.get("/api/v1/iscsi-cdroms").body["items"]
    assert all("isoFile" in i["spec"] and "targetIQN" in i["status"] for i in isos)

    watch = WatchLines(target, "/api/v1/baremetalhosts?watch=true")
    path = "/api/v1/namespaces/default/baremetalhosts/server1"
    assert plain_patch(target, path, {"spec": {"image": "localboot"}}).status < 300
    e = watch.until(lambda e: e["object"]["metadata"]["name"] == "server1" and e["object"]["spec"].get("image") == "localboot")
    assert e["type"] in ("ADDED", "MODIFIED")
    # "" clears the ref.
    assert plain_patch(target, path, {"spec": {"bootConfigRef": ""}}).status < 300
    assert target.get(path).body["spec"].get("bootConfigRef", "") == ""
    assert plain_patch(target, path, {"status": {"poweredOn": True}}).status < 300
    assert target.get(path).body["status"]["poweredOn"] is True
    watch.close()


def test_ipmiserial_gets_credentials_on_list_and_watch(target):
    hosts = target.get("/api/v1/baremetalhosts?includeSecrets=true").body["items"]
    server1 = next(h for h in hosts if h["metadata"]["name"] == "server1")
    assert server1["spec"]["bmc"]["address"] and server1["spec"]["bmc"]["username"] and server1["spec"]["bmc"]["password"]
    assert "password" not in next(h for h in target.get("/api/v1/baremetalhosts").body["items"]
                                  if h["metadata"]["name"] == "server1")["spec"]["bmc"]
    watch = WatchLines(target, "/api/v1/baremetalhosts?watch=true&includeSecrets=true")
    e = watch.until(lambda e: e["object"]["metadata"]["name"] == "server1")
    assert e["object"]["spec"]["bmc"]["password"]
    watch.close()
    # A client that writes back a redacted host keeps the stored password.
    path = HOSTS + "/server1"
    redacted = target.get(path).body
    assert target.put(path, redacted).status == 200
    assert target.get(path + "?includeSecrets=true").body["spec"]["bmc"]["password"] == server1["spec"]["bmc"]["password"]


def test_cloudid_namespaced_list_joins_networks_and_never_says_null(target):
    # A host that lives in default on network g10: mkube's join lists it under g10 too.
    body = {"metadata": {"name": "rack-node", "namespace": "default"},
            "spec": {"bootMACAddress": "52:54:00:99:00:01", "network": "g10", "ip": "10.9.0.1"}}
    assert target.post(HOSTS, body).status == 201
    g10 = target.get("/api/v1/namespaces/g10/baremetalhosts")
    assert g10.status == 200 and [h["metadata"]["name"] for h in g10.body["items"]] == ["rack-node"]
    empty = target.get("/api/v1/namespaces/nowhere/baremetalhosts", raw=True)
    assert empty.status == 200 and b'"items":[]' in empty.payload
    h = g10.body["items"][0]
    assert h["metadata"]["name"] and isinstance(h["spec"], dict)
