"""bootgate in front of an upstream that speaks mkube's API (`serve --upstream URL`).

Here the upstream is a second bootgate on its own store (mkube's wire format, with full objects);
Tests/mkube has the emulator of mkube itself with its quirks. Everything is on 127.0.0.1."""
import json
import threading
import time
import urllib.request

import pytest

from conftest import HOSTS, Server, host, wait_for



@pytest.fixture
def pair():
    upstream = Server(examples=True)
    gateway = Server(examples=True, extra=["--upstream", upstream.url])
    yield upstream, gateway
    gateway.close()
    upstream.close()


def names(server, path=HOSTS):
    return sorted(o["metadata"]["name"] for o in server.get(path).body["items"])


def test_reads_come_from_the_upstream_with_the_gateways_own_revisions(pair):
    upstream, gateway = pair
    # The gateway loads no examples of its own: what it serves is the upstream's.
    assert names(gateway) == names(upstream)
    assert names(gateway, "/api/v1/bootconfigs") == names(upstream, "/api/v1/bootconfigs")
    listed = gateway.get(HOSTS).body
    assert int(listed["metadata"]["resourceVersion"]) > 10**12  # wall-clock milliseconds at start
    h = gateway.get(HOSTS + "/server1").body
    assert h["spec"] == {k: v for k, v in upstream.get(HOSTS + "/server1").body["spec"].items() if k != "bmc"} | {"bmc": h["spec"]["bmc"]}
    assert "password" not in h["spec"]["bmc"]
    # The boot path answers from the gateway's cache.
    r = gateway.get("/ipxe?mac=ac:1f:6b:8a:a7:9c", raw=True)
    assert r.status == 200 and b"#!ipxe" in r.payload


def test_writes_are_checked_then_sent_upstream(pair):
    upstream, gateway = pair
    r = gateway.patch(HOSTS + "/server1", {"spec": {"image": "no-such-iso"}})
    assert r.status == 400 and "no-such-iso" in r.body["message"]
    assert upstream.get(HOSTS + "/server1").body["spec"]["image"] != "no-such-iso"
    r = gateway.patch(HOSTS + "/server1", {"metadata": {"labels": {"rack": "r9"}}}, content_type="application/json")
    assert r.status == 200, r
    assert upstream.get(HOSTS + "/server1").body["metadata"]["labels"]["rack"] == "r9"
    # The answer is the gateway's view, and a read right after sees it.
    rv = r.body["metadata"]["resourceVersion"]
    assert gateway.get(HOSTS + "/server1").body["metadata"]["resourceVersion"] == rv
    # A stale resourceVersion is a conflict against the last state seen.
    stale = gateway.patch(HOSTS + "/server1", {"metadata": {"resourceVersion": str(int(rv) - 1), "labels": {"x": "y"}}})
    assert stale.status == 409
    created = gateway.post(HOSTS, host("via-gateway", "52:54:00:77:00:01"))
    assert created.status == 201, created
    assert upstream.get(HOSTS + "/via-gateway").status == 200
    assert gateway.delete(HOSTS + "/via-gateway").status == 200
    assert upstream.get(HOSTS + "/via-gateway").status == 404
    assert gateway.get(HOSTS + "/via-gateway").status == 404


def test_changes_made_upstream_reach_the_gateways_watchers(pair):
    upstream, gateway = pair
    rv = gateway.get(HOSTS).body["metadata"]["resourceVersion"]
    seen = []
    req = urllib.request.Request(gateway.url + HOSTS + "?watch=true&resourceVersion=" + rv)
    resp = urllib.request.urlopen(req, timeout=20)

    def read():
        try:
            for line in resp:
                if line.strip():
                    seen.append(json.loads(line))
        except (OSError, ValueError):  # closed at the end of the test
            pass

    threading.Thread(target=read, daemon=True).start()
    assert upstream.post(HOSTS, host("made-upstream", "52:54:00:77:00:02")).status == 201
    assert upstream.patch(HOSTS + "/made-upstream", {"metadata": {"labels": {"a": "b"}}}).status == 200
    assert upstream.delete(HOSTS + "/made-upstream").status == 200
    assert wait_for(lambda: [e["type"] for e in seen if e["object"]["metadata"]["name"] == "made-upstream"] == ["ADDED", "MODIFIED", "DELETED"])
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in seen]
    assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)
    resp.close()


def test_upstream_gone_then_back(pair):
    upstream, gateway = pair
    upstream.stop()
    assert wait_for(lambda: "unreachable" in gateway.get("/healthz", raw=True).text, 15), gateway.get("/healthz", raw=True).text
    # Reads and the boot path go on from the cache; writes wait with the reason.
    assert "server1" in names(gateway)
    assert gateway.get("/ipxe?mac=ac:1f:6b:8a:a7:9c", raw=True).status == 200
    r = gateway.patch(HOSTS + "/server1", {"metadata": {"labels": {"down": "yes"}}})
    assert r.status == 503 and "unreachable" in r.body["message"], r
    upstream.start()
    assert wait_for(lambda: "unreachable" not in gateway.get("/healthz", raw=True).text, 30)
    # A change made while the gateway was reconnecting is there once it has relisted.
    assert upstream.post(HOSTS, host("after-restart", "52:54:00:77:00:03")).status == 201
    assert wait_for(lambda: gateway.get(HOSTS + "/after-restart").status == 200)
    assert gateway.patch(HOSTS + "/server1", {"metadata": {"labels": {"down": "no"}}}).status == 200
    assert names(gateway) == names(upstream)


def test_an_upstream_that_wants_a_token_gets_it_from_a_file(tmp_path):
    """An upstream bootgate with a token file: without --upstream-token-file the gateway is
    refused and says so in /healthz; with it, reads, watch and writes go through. The token never
    shows in the gateway's log or answers."""
    from test_security import token
    tokens = tmp_path / "tokens"
    admin = token(tokens, "admin", "gateway")
    upstream = Server(examples=True, extra=["--token-file", str(tokens)])
    refused = Server(examples=False, extra=["--upstream", upstream.url])
    token_file = tmp_path / "upstream-token"
    token_file.write_text(admin + "\n")
    gateway = Server(examples=False, extra=["--upstream", upstream.url, "--upstream-token-file", str(token_file)])
    try:
        health = lambda s: s.get("/healthz", raw=True).payload.decode()
        assert wait_for(lambda: "HTTP 401 (it wants a token: --upstream-token-file)" in health(refused), 20), health(refused)
        assert refused.post(HOSTS, host("refused", "52:54:00:77:00:09")).status == 503

        assert wait_for(lambda: "server1" in names(gateway), 20)
        r = gateway.patch(HOSTS + "/server1", {"metadata": {"labels": {"via": "token"}}})
        assert r.status == 200, r
        seen = upstream.get(HOSTS + "/server1", headers={"Authorization": f"Bearer {admin}"}).body
        assert seen["metadata"]["labels"]["via"] == "token"
        for s in (gateway, refused):
            assert admin not in s.logtext()
        assert admin not in health(gateway) and "unreachable" not in health(gateway)
    finally:
        gateway.close()
        refused.close()
        upstream.close()
