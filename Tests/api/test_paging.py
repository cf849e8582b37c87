"""`limit` and `continue` on every list, as Kubernetes pages: every page of one list shows the
state at the first page's resourceVersion, a watch from that revision picks up what changed
meanwhile, and a token whose state is gone is 410 Expired with a token for the rest. On SQLite,
etcd and in front of mkube (lists are served from the index on every backend)."""
import base64
import json
import os
import sys
import urllib.parse

import pytest

from conftest import Server, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "mkube"))

KINDS = {
    "bmh": "/api/v1/namespaces/default/baremetalhosts",
    "bc": "/api/v1/bootconfigs",
    "iso": "/api/v1/iscsi-cdroms",
}


def bmh(name, i):
    return {"apiVersion": "v1", "kind": "BareMetalHost", "metadata": {"name": name, "namespace": "default", "labels": {"odd": str(i % 2)}},
            "spec": {"bootMACAddress": "52:54:00:aa:%02x:%02x" % (i // 256, i % 256)}}


def bc(name, i):
    return {"apiVersion": "v1", "kind": "BootConfig", "metadata": {"name": name, "labels": {"odd": str(i % 2)}},
            "spec": {"format": "custom", "data": {"x.txt": "n%d" % i}}}


def iso(name, i):
    return {"apiVersion": "v1", "kind": "ISCSICdrom", "metadata": {"name": name, "labels": {"odd": str(i % 2)}},
            "spec": {"isoFile": "%s.iso" % name}}


MAKE = {"bmh": bmh, "bc": bc, "iso": iso}


def populate(s, n=13):
    for kind, path in KINDS.items():
        for i in range(n):
            r = s.post(path, MAKE[kind]("p%02d" % i, i))
            assert r.status == 201, (kind, r)


def pages(s, path, limit, query=""):
    """Every page of a list: (items' names, each page's metadata)."""
    names, metas, token = [], [], None
    while True:
        q = f"?limit={limit}" + (f"&continue={urllib.parse.quote(token)}" if token else "") + query
        r = s.get(path + q)
        assert r.status == 200, r
        names += [i["metadata"]["name"] for i in r.body["items"]]
        metas.append(r.body["metadata"])
        token = r.body["metadata"].get("continue")
        if not token:
            return names, metas
        assert len(metas) < 100


def check_pages_every_kind(s):
    for kind, path in KINDS.items():
        whole = s.get(path).body
        everything = [i["metadata"]["name"] for i in whole["items"]]
        assert "continue" not in whole["metadata"]
        names, metas = pages(s, path, 4)
        assert names == everything, kind
        assert len(metas) == (len(everything) + 3) // 4
        assert {m["resourceVersion"] for m in metas} == {whole["metadata"]["resourceVersion"]}
        # remainingItemCount counts what follows each page; the last page has none.
        for i, m in enumerate(metas[:-1]):
            assert m["remainingItemCount"] == len(everything) - 4 * (i + 1), (kind, metas)
        assert "remainingItemCount" not in metas[-1] and "continue" not in metas[-1]
        # With a selector: full pages of matching items, no count (as Kubernetes: it is unknown).
        odd, ometas = pages(s, path, 3, "&labelSelector=odd%3D1")
        assert odd == [i["metadata"]["name"] for i in s.get(path + "?labelSelector=odd%3D1").body["items"]]
        assert all("remainingItemCount" not in m for m in ometas)
        assert len(ometas) == (len(odd) + 2) // 3


def test_every_kind_pages_in_order_at_one_revision(empty_server):
    populate(empty_server)
    check_pages_every_kind(empty_server)


def test_writes_between_pages_do_not_show_and_a_watch_from_the_list_sees_them(empty_server):
    s = empty_server
    populate(s)
    for kind, path in KINDS.items():
        first = s.get(path + "?limit=5").body
        rv = first["metadata"]["resourceVersion"]
        before = {i["metadata"]["name"]: i for i in s.get(path).body["items"]}
        # Between pages: one created at the end, one deleted and one changed on a later page.
        assert s.post(path, MAKE[kind]("p99", 99)).status == 201
        assert s.delete(path + "/p09").status == 200
        assert s.patch(path + "/p11", {"metadata": {"labels": {"changed": "yes"}}}).status == 200
        names = [i["metadata"]["name"] for i in first["items"]]
        token, seen = first["metadata"]["continue"], {}
        while token:
            r = s.get(path + "?limit=5&continue=" + urllib.parse.quote(token))
            assert r.status == 200, r
            assert r.body["metadata"]["resourceVersion"] == rv
            for i in r.body["items"]:
                seen[i["metadata"]["name"]] = i
            names += [i["metadata"]["name"] for i in r.body["items"]]
            token = r.body["metadata"].get("continue")
        # The list is the state at rv: p09 still there, p99 not yet, p11 as it was.
        assert names == sorted(before), kind
        assert seen["p11"]["metadata"]["resourceVersion"] == before["p11"]["metadata"]["resourceVersion"]
        assert "changed" not in seen["p11"]["metadata"]["labels"]
        # Resuming a watch from the list's revision brings exactly what changed meanwhile.
        events = watch_events(s, path, rv, 3)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "p99"), ("DELETED", "p09"), ("MODIFIED", "p11")]
        # A fresh list sees the new state.
        now = [i["metadata"]["name"] for i in s.get(path).body["items"]]
        assert "p99" in now and "p09" not in now


def watch_events(s, path, rv, n):
    import urllib.request
    events = []
    with urllib.request.urlopen(s.url + path + f"?watch=true&resourceVersion={rv}&timeoutSeconds=3", timeout=10) as r:
        for line in r:
            if line.strip():
                events.append(json.loads(line))
            if len(events) == n:
                break
    return events


def test_an_expired_token_is_410_with_a_token_for_the_rest(empty_server):
    s = empty_server
    populate(s)
    path = KINDS["bmh"]
    first = s.get(path + "?limit=5").body
    token = first["metadata"]["continue"]
    # The server keeps paged states in memory: after a restart with a write since, the token's
    # revision is gone.
    assert s.post(path, bmh("p99", 99)).status == 201
    s.restart()
    r = s.get(path + "?limit=5&continue=" + urllib.parse.quote(token))
    assert r.status == 410, r
    assert r.body["kind"] == "Status" and r.body["reason"] == "Expired" and r.body["code"] == 410
    assert r.body["message"].startswith("The provided continue parameter is too old to display a consistent list result.")
    rest_token = r.body["metadata"]["continue"]
    decoded = json.loads(base64.urlsafe_b64decode(rest_token + "=" * (-len(rest_token) % 4)))
    assert decoded["rv"] == -1 and decoded["v"] == "meta.k8s.io/v1"
    # The rest, from the current state (an inconsistent list, as Kubernetes says), with its revision.
    names = [i["metadata"]["name"] for i in first["items"]]
    token = rest_token
    while token:
        r = s.get(path + "?limit=5&continue=" + urllib.parse.quote(token))
        assert r.status == 200, r
        names += [i["metadata"]["name"] for i in r.body["items"]]
        token = r.body["metadata"].get("continue")
    assert names == ["p%02d" % i for i in range(13)] + ["p99"]


def test_a_token_still_good_after_a_restart_without_writes(empty_server):
    s = empty_server
    populate(s)
    first = s.get(KINDS["iso"] + "?limit=5").body
    s.restart()
    r = s.get(KINDS["iso"] + "?limit=50&continue=" + urllib.parse.quote(first["metadata"]["continue"]))
    assert r.status == 200, r
    assert [i["metadata"]["name"] for i in r.body["items"]] == ["p%02d" % i for i in range(5, 13)]


def test_bad_paging_parameters(empty_server):
    s = empty_server
    path = KINDS["bmh"]
    r = s.get(path + "?limit=-1")
    assert r.status == 400 and "limit" in r.body["message"], r
    r = s.get(path + "?limit=2&continue=garbage")
    assert r.status == 400 and r.body["message"].startswith("continue key is not valid"), r
    good = base64.urlsafe_b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": 1, "start": "default/a\x00"}).encode()).decode().rstrip("=")
    r = s.get(path + "?limit=2&resourceVersion=5&continue=" + good)
    assert r.status == 400 and "resource version" in r.body["message"], r


def test_json_rpc_list_pages_the_same(empty_server):
    s = empty_server
    populate(s, n=7)
    names, token = [], None

    def call(params):
        r = s.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "bootconfigs.list", "params": params})
        assert r.status == 200 and "result" in r.body, r
        return r.body["result"]

    while True:
        res = call({"limit": 3, **({"continue": token} if token else {})})
        names += [i["metadata"]["name"] for i in res["items"]]
        token = res["metadata"].get("continue")
        if not token:
            break
    assert names == [i["metadata"]["name"] for i in call({})["items"]]
    assert len(names) >= 7


def test_openapi_describes_paging(empty_server):
    doc = empty_server.get("/openapi/v3/api/v1").body or {}
    text = json.dumps(doc) if doc else empty_server.get("/openapi.yaml", raw=True).text
    assert "remainingItemCount" in text and "previous page" in text


# Other backends -------------------------------------------------------------------------


def test_paging_on_etcd():
    from etcd_cluster import EtcdCluster
    cluster = EtcdCluster(1)
    try:
        s = Server(examples=False, extra=["--store", cluster.store_url])
        try:
            populate(s, n=9)
            check_pages_every_kind(s)
        finally:
            s.close()
    finally:
        cluster.close()


def test_paging_in_front_of_mkube():
    from emulator import Emulator
    emu = Emulator(port=0, fixture=None, control_port=0, seed=3).start()
    try:
        s = Server(examples=False, extra=["--upstream", emu.url])
        try:
            populate(s, n=9)
            assert wait_for(lambda: len(s.get(KINDS["bmh"]).body["items"]) == 9)
            check_pages_every_kind(s)
        finally:
            s.close()
    finally:
        emu.stop()
