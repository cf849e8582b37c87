"""The mkube emulator against the reference (`/work/shared/reference/mkube-boot-api.md`, "§n"
below; `mkube-clients.md` as "clients"). Each test names the claim it pins. Exact bytes are
compared wherever the reference gives them."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import FIXTURE, HERE, Client, wait_for

BMHS = "/api/v1/namespaces/default/baremetalhosts"
SAMPLE_BMH = (
    '{"kind":"BareMetalHost","apiVersion":"v1","metadata":{"name":"server1","namespace":"default",'
    '"creationTimestamp":"2026-03-01T12:00:00Z","annotations":{"bmh.mkube.io/manual-power":'
    '"2026-03-04T14:05:39Z"}},"spec":{"bmc":{"address":"192.168.11.10","mac":"ac:1f:6b:8a:a7:9d",'
    '"hostname":"server1-ipmi","network":"g11","username":"ADMIN","password":"ADMIN"},'
    '"bootMACAddress":"AC:1F:6B:8A:A7:9C","online":true,"image":"coreos-live","network":"g10",'
    '"ip":"192.168.10.10","hostname":"server1","bootConfigRef":"coreos-builder","nics":[{"mac":'
    '"ac:1f:6b:8a:a7:9e","ip":"192.168.10.110","role":"data","hostname":"server1b"}]},"status":'
    '{"phase":"Registering","poweredOn":true,"state":"Ready","ipmiReachable":true}}')
SAMPLE_BC = (
    '{"kind":"BootConfig","apiVersion":"v1","metadata":{"name":"coreos-builder","creationTimestamp":'
    '"2026-03-01T12:00:00Z"},"spec":{"format":"ignition","description":"CoreOS live installer",'
    '"data":{"config.ign":"{\\"ignition\\":{\\"version\\":\\"3.4.0\\"}}"}},"status":{"phase":"Active",'
    '"assignedTo":["server1"]}}')
SAMPLE_ISO = (
    '{"kind":"ISCSICdrom","apiVersion":"v1","metadata":{"name":"coreos-live","creationTimestamp":'
    '"2026-03-01T12:00:00Z"},"spec":{"isoFile":"coreos-live.iso","description":"CoreOS live",'
    '"readOnly":true,"bootConfigs":["coreos-builder","builder-target"]},"status":{"phase":"Ready",'
    '"isoPath":"/raid1/iso/coreos-live.iso","isoSize":1073741824,"targetIQN":'
    '"iqn.2000-02.com.mikrotik:file4","portalIP":"192.168.200.1","portalPort":3260,"routerosID":"*4"}}')
STUB_BMH = ('{"kind":"BareMetalHost","apiVersion":"v1","metadata":{"name":"%s","namespace":"%s",'
            '"creationTimestamp":null},"spec":{"bmc":{},"bootMACAddress":""},"status":{"phase":"",'
            '"poweredOn":false}}')
TEXT = "text/plain; charset=utf-8"


def bmh(name, **spec):
    return {"metadata": {"name": name}, "spec": dict({"bootMACAddress": "aa:bb"}, **spec)}


def assert_text_error(r, status, message):
    """§0: http.Error: text/plain; charset=utf-8, nosniff, message + "\\n"."""
    assert r.status == status, (r.status, r.body)
    assert r.header("Content-Type") == TEXT
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.text == message + "\n"


def assert_cors(r):
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("Access-Control-Allow-Methods") == "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    assert r.header("Access-Control-Allow-Headers") == "Content-Type"


# =============================================================================================
# §0 serving basics


def test_unknown_path_is_go_mux_404(client):
    r = client.get("/api/v1/nothing-here")
    assert_text_error(r, 404, "404 page not found")
    assert_cors(r)


def test_no_cluster_scoped_bmh_get(client):
    """§2.1: there is no GET /api/v1/baremetalhosts/{name}."""
    assert_text_error(client.get("/api/v1/baremetalhosts/server1"), 404, "404 page not found")


def test_trailing_slash_does_not_match_a_name_wildcard(client):
    assert client.get("/api/v1/bootconfigs/").status == 404


def test_405_with_allow_header(client):
    """§0/§2.1: a path that exists for another method → 405 with Allow (GET implies HEAD)."""
    r = client.get("/api/v1/baremetalhosts/refresh")
    assert_text_error(r, 405, "Method Not Allowed")
    assert r.header("Allow") == "POST"
    r = client.delete("/api/v1/bootconfigs")
    assert r.status == 405 and r.header("Allow") == "GET, HEAD, POST"
    assert_cors(r)


def test_head_answers_like_get_without_body(client):
    client.post("/api/v1/bootconfigs", {"metadata": {"name": "a"}})
    g, h = client.get("/api/v1/bootconfigs/a"), client.request("HEAD", "/api/v1/bootconfigs/a")
    assert h.status == 200 and h.body == b""
    assert h.header("Content-Length") == g.header("Content-Length")
    assert h.header("Content-Type") == "application/json"


def test_options_is_204_on_any_path(client):
    for path in ("/api/v1/bootconfigs", "/no/such/path"):
        r = client.request("OPTIONS", path)
        assert r.status == 204 and r.body == b""
        assert_cors(r)


def test_cors_headers_on_every_response(client):
    for r in (client.get("/api/v1/bootconfigs"), client.get("/api/v1/bootconfigs/x"),
              client.post("/api/v1/bootconfigs", "{")):
        assert_cors(r)


def test_unclean_path_redirects(client):
    """§0: the server cleans paths: `..` gets a redirect."""
    r = client.get("/api/v1/x/../bootconfigs?watch=1")
    assert r.status == 301 and r.header("Location") == "/api/v1/bootconfigs?watch=1"


def test_no_authentication_anywhere(client):
    r = client.get("/api/v1/bootconfigs", headers={"Authorization": "Bearer nonsense"})
    assert r.status == 200


def test_success_json_framing_and_sample_bmh_bytes(client):
    """§0 + §8: application/json without charset, json.Encoder newline, Go key order; the
    reference's sample BareMetalHost comes back byte for byte."""
    sample = json.loads(SAMPLE_BMH)
    r = client.post(BMHS, SAMPLE_BMH)
    assert r.status == 201
    r = client.get(BMHS + "/server1")
    assert r.header("Content-Type") == "application/json"
    assert r.text == SAMPLE_BMH + "\n"
    assert list(r.json()) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert r.json() == sample


def test_sample_bootconfig_bytes(client):
    """§8 BootConfig sample; the client's status.assignedTo is accepted as sent (§2.2 POST)."""
    client.post("/api/v1/bootconfigs", SAMPLE_BC)
    assert client.get("/api/v1/bootconfigs/coreos-builder").text == SAMPLE_BC + "\n"


def test_sample_iscsicdrom_bytes(emu, client):
    """§8 ISCSICdrom sample (loaded as stored data: POST would reset the status)."""
    emu.store.load_fixture({"iscsi-cdroms": [json.loads(SAMPLE_ISO)]})
    assert client.get("/api/v1/iscsi-cdroms/coreos-live").text == SAMPLE_ISO + "\n"


def test_html_characters_escaped(client):
    """§0: < > & in strings → \\u003c \\u003e \\u0026 (also inside spec.ignition)."""
    r = client.post(BMHS, {"metadata": {"name": "h", "labels": {"a": "<b>&"}},
                           "spec": {"ignition": {"x": "<y>&"}}})
    assert '"a":"\\u003cb\\u003e\\u0026"' in r.text
    assert '"ignition":{"x":"\\u003cy\\u003e\\u0026"}' in r.text
    assert "<" not in r.text and "&" not in r.text


def test_content_type_is_never_checked(client):
    client.post(BMHS, bmh("h"), headers={"Content-Type": "text/html"})
    for ct in ("application/json", "application/merge-patch+json", "text/plain", "x/y"):
        r = client.patch(BMHS + "/h", {"spec": {"image": ct}}, headers={"Content-Type": ct})
        assert r.status == 200 and r.json()["spec"]["image"] == ct


def test_unknown_fields_dropped_keys_case_insensitive(client):
    """§0: unknown fields ignored silently; key matching case-insensitive."""
    r = client.post(BMHS, {"metadata": {"name": "h", "Surprise": 1},
                           "spec": {"BootMACAddress": "AA", "IMAGE": "x", "gadget": {"a": 1}},
                           "extra": True})
    o = r.json()
    assert o["spec"]["bootMACAddress"] == "AA" and o["spec"]["image"] == "x"
    assert "gadget" not in o["spec"] and "extra" not in o and "Surprise" not in o["metadata"]
    assert "gadget" not in client.get("/_emulator/state").text


def test_ignition_raw_message_verbatim_and_null_kept(client):
    """§1.1: spec.ignition is json.RawMessage: any JSON, echoed (compacted) not as a string;
    a literal null is kept as null."""
    r = client.post(BMHS, '{"metadata":{"name":"h"},"spec":{"ignition": [1, 2.50, "x", {"b":true}]}}')
    assert '"ignition":[1,2.50,"x",{"b":true}]' in r.text
    r = client.patch(BMHS + "/h", '{"spec":{"ignition":null}}')
    assert '"ignition":null' in r.text


def test_post_and_put_read_only_the_first_json_value(client):
    """§0: POST/PUT use json.Decoder.Decode: trailing bytes ignored."""
    assert client.post(BMHS, '{"metadata":{"name":"h"}} trailing garbage {').status == 201
    assert client.put(BMHS + "/h", '{"spec":{"image":"a"}}{"spec":{"image":"b"}}').json()[
        "spec"]["image"] == "a"


def test_patch_trailing_bytes_are_an_error(client):
    """§0: PATCH uses json.Unmarshal on the whole body."""
    client.post(BMHS, bmh("h"))
    assert_text_error(client.patch(BMHS + "/h", '{"spec":{}} x'), 400,
                      "invalid patch JSON: invalid character 'x' after top-level value")


@pytest.mark.parametrize("path,create,typ", [
    (BMHS, bmh("h"), "BareMetalHost"),
    ("/api/v1/bootconfigs", {"metadata": {"name": "h"}}, "BootConfig"),
    ("/api/v1/iscsi-cdroms", {"metadata": {"name": "h"}}, "ISCSICdrom")])
def test_json_patch_array_is_rejected(client, path, create, typ):
    """§7: a JSON Patch array → 400 `invalid patch JSON: json: cannot unmarshal array into Go
    value of type provider.<Type>` (all three kinds)."""
    client.post(path, create)
    r = client.patch(path + "/h", '[{"op":"replace","path":"/spec/image","value":"x"}]',
                     headers={"Content-Type": "application/json-patch+json"})
    assert_text_error(r, 400, "invalid patch JSON: json: cannot unmarshal array into Go value "
                              "of type provider.%s" % typ)


def test_decode_error_messages(client):
    """§2.1: `invalid BareMetalHost JSON: <err>`; an empty PUT body gives `…: EOF`."""
    assert_text_error(client.post(BMHS, "{"), 400, "invalid BareMetalHost JSON: unexpected EOF")
    client.post(BMHS, bmh("h"))
    assert_text_error(client.put(BMHS + "/h", ""), 400, "invalid BareMetalHost JSON: EOF")
    assert_text_error(client.post(BMHS, '{"spec":{"online":"yes"}}'), 400,
                      "invalid BareMetalHost JSON: json: cannot unmarshal string into Go struct "
                      "field BMHSpec.spec.online of type bool")
    assert_text_error(client.patch(BMHS + "/h", ""), 400,
                      "invalid patch JSON: unexpected end of JSON input")
    assert_text_error(client.post("/api/v1/bootconfigs", "nope"), 400,
                      "invalid BootConfig JSON: invalid character 'o' in literal null "
                      "(expecting 'u')")


def test_invalid_nats_key_is_a_500(client):
    """§0: a name outside [-/_=.a-zA-Z0-9] makes the persist fail."""
    assert_text_error(client.post(BMHS, bmh("bad name")), 500, "persisting BMH: nats: invalid key")
    assert_text_error(client.post("/api/v1/bootconfigs", {"metadata": {"name": "x."}}), 500,
                      "persisting BootConfig: nats: invalid key")
    assert client.get("/api/v1/baremetalhosts").json()["items"] == []


def test_handler_panic_is_500_text(emu, client, monkeypatch):
    monkeypatch.setattr(emu.mkube.router.routes[2], "handler",
                        lambda req: (_ for _ in ()).throw(RuntimeError("boom")))
    assert_text_error(client.get("/api/v1/baremetalhosts"), 500, "internal server error: boom")


# =============================================================================================
# Object metadata conventions


def test_creation_timestamp_always_present_null_when_zero(client):
    """metav1.Time: RFC 3339 UTC seconds; null when zero; BMH PATCH can overwrite it."""
    r = client.post(BMHS, {"metadata": {"name": "h", "creationTimestamp": "2026-03-01T13:00:00.75+01:00"}})
    assert r.json()["metadata"]["creationTimestamp"] == "2026-03-01T12:00:00Z"
    r = client.patch(BMHS + "/h", {"metadata": {"creationTimestamp": None}})
    assert '"creationTimestamp":null' in r.text


def test_creation_timestamp_set_on_create(client):
    r = client.post("/api/v1/bootconfigs", {"metadata": {"name": "a"}})
    ts = r.json()["metadata"]["creationTimestamp"]
    assert len(ts) == 20 and ts.endswith("Z") and ts[10] == "T"


def test_uid_resource_version_generation_echoed_never_set(client):
    r = client.post(BMHS, bmh("h"))
    assert set(r.json()["metadata"]) == {"name", "namespace", "creationTimestamp"}
    r = client.patch(BMHS + "/h", {"metadata": {"uid": "u-1", "resourceVersion": "42",
                                                "generation": 3}})
    m = r.json()["metadata"]
    assert (m["uid"], m["resourceVersion"], m["generation"]) == ("u-1", "42", 3)
    assert list(m) == ["name", "namespace", "uid", "resourceVersion", "generation",
                       "creationTimestamp"]
    # no optimistic concurrency: a stale resourceVersion is accepted
    assert client.patch(BMHS + "/h", {"metadata": {"resourceVersion": "1"}}).status == 200


def test_cluster_scoped_namespace_stored_and_echoed(client):
    r = client.post("/api/v1/bootconfigs", {"metadata": {"name": "a", "namespace": "weird"}})
    assert r.json()["metadata"]["namespace"] == "weird"
    r = client.post("/api/v1/iscsi-cdroms", {"metadata": {"name": "i"}})
    assert "namespace" not in r.json()["metadata"]


def test_kind_and_api_version_forced(client):
    r = client.post("/api/v1/bootconfigs", {"kind": "Pod", "apiVersion": "apps/v9",
                                            "metadata": {"name": "a"}})
    assert (r.json()["kind"], r.json()["apiVersion"]) == ("BootConfig", "v1")


# =============================================================================================
# Lists


@pytest.mark.parametrize("path,kind", [("/api/v1/baremetalhosts", "BareMetalHostList"),
                                       (BMHS, "BareMetalHostList"),
                                       ("/api/v1/bootconfigs", "BootConfigList"),
                                       ("/api/v1/iscsi-cdroms", "ISCSICdromList")])
def test_empty_list_exact_bytes(client, path, kind):
    r = client.get(path)
    assert r.text == '{"kind":"%s","apiVersion":"v1","metadata":{},"items":[]}\n' % kind


def test_list_order_is_random(client):
    """§0: lists are served in Go map iteration order, which is random."""
    for i in range(8):
        client.post("/api/v1/bootconfigs", {"metadata": {"name": "c%d" % i}})
    orders = {tuple(o["metadata"]["name"] for o in client.get("/api/v1/bootconfigs").json()["items"])
              for _ in range(15)}
    assert len(orders) > 1
    assert all(sorted(o) == ["c%d" % i for i in range(8)] for o in orders)


def test_namespaced_list_joins_on_networks(site, client):
    """§2.1 join: metadata.namespace, spec.network, bmc.network, nics[].network (empty →
    spec.network), status.networkInterfaces[*].network. CloudID depends on it (clients)."""
    names = lambda ns: sorted(o["metadata"]["name"] for o in client.get(
        "/api/v1/namespaces/%s/baremetalhosts" % ns).json()["items"])
    # g10: spec.network (1,2,3,5,6) + server30's storage NIC on g10
    assert names("g10") == ["server1", "server2", "server3", "server30", "server5", "server6"]
    # g11: server1 bmc.network, server2 bmc + networkInterfaces, server30 spec.network
    assert names("g11") == ["server1", "server2", "server30"]
    assert names("lab") == ["server30"]
    assert names("default") == ["server1", "server2", "server3", "server5", "server6", "server7"]
    assert names("nowhere") == []


def test_nic_without_network_counts_as_spec_network(client):
    client.post(BMHS, bmh("h", network="g10", nics=[{"mac": "m", "role": "data"}]))
    client.post(BMHS, bmh("k", nics=[{"mac": "m", "role": "data", "network": "g12"}]))
    items = client.get("/api/v1/namespaces/g12/baremetalhosts").json()["items"]
    assert [o["metadata"]["name"] for o in items] == ["k"]


def test_query_parameters_ignored_except_watch_true(site, client):
    full = client.get("/api/v1/baremetalhosts").json()["items"]
    for q in ("watch=1", "watch=TRUE", "labelSelector=rack%3Dr1", "fieldSelector=metadata.name%3Dserver1",
              "limit=1", "resourceVersion=99"):
        r = client.get("/api/v1/baremetalhosts?" + q)
        assert r.header("Content-Length") is not None or r.header("Transfer-Encoding") == "chunked"
        assert len(r.json()["items"]) == len(full), q


def test_bmh_list_keeps_credentials_in_clear(site, client):
    """§6: BMC username/password returned unredacted by list (ipmiserial needs them)."""
    items = {o["metadata"]["name"]: o for o in client.get("/api/v1/baremetalhosts").json()["items"]}
    assert items["server2"]["spec"]["bmc"]["password"] == "s3cr<e>t&"
    assert items["server30"]["spec"]["bmc"]["username"] == "root"


def test_large_list_is_chunked_like_go(site, client):
    """Go sets Content-Length up to its 2048-byte buffer and chunks beyond it."""
    r = client.get("/api/v1/baremetalhosts")
    assert r.header("Transfer-Encoding") == "chunked" and r.header("Content-Length") is None
    assert r.body.endswith(b"]}\n")


# =============================================================================================
# BareMetalHost writes (§2.1)


def test_bmh_create_defaults(client):
    r = client.post("/api/v1/namespaces/lab/baremetalhosts",
                    {"metadata": {"name": "h", "namespace": "other"},
                     "spec": {"bmc": {"address": "10.0.0.9", "password": "pw"}, "online": True},
                     "status": {"state": "Ready"}})
    assert r.status == 201
    o = r.json()
    assert o["metadata"]["namespace"] == "lab"
    assert o["status"] == {"phase": "Registering", "poweredOn": False, "state": "Ready"}
    assert o["spec"]["bmc"] == {"address": "10.0.0.9", "username": "ADMIN", "password": "pw"}
    assert "annotations" not in o["metadata"]   # create does not power on / annotate


def test_bmh_create_no_admin_defaults_without_bmc_address(client):
    o = client.post(BMHS, bmh("h")).json()
    assert o["spec"]["bmc"] == {}
    o = client.post(BMHS, {"metadata": {"name": "k"}, "status": {"phase": "Provisioned"}}).json()
    assert o["status"]["phase"] == "Provisioned"


def test_bmh_create_errors(client):
    assert_text_error(client.post(BMHS, {"spec": {}}), 400, "BareMetalHost name is required")
    client.post(BMHS, bmh("h"))
    assert_text_error(client.post(BMHS, bmh("h")), 409, "BareMetalHost default/h already exists")


def test_bmh_put_preserves_fields_like_a_merge(client):
    """§2.1 PUT decodes onto a copy of the existing object (TestBMHPutPreservesFields)."""
    client.post(BMHS, bmh("h", image="a", network="g10", ip="1.2.3.4", template="t"))
    r = client.put(BMHS + "/h", {"metadata": {"name": "other", "namespace": "x"},
                                 "spec": {"image": "b"}})
    o = r.json()
    assert r.status == 200
    assert (o["metadata"]["name"], o["metadata"]["namespace"]) == ("h", "default")
    assert o["spec"]["image"] == "b" and o["spec"]["ip"] == "1.2.3.4" and o["spec"]["template"] == "t"
    assert_text_error(client.put(BMHS + "/nope", {}), 404, "BareMetalHost default/nope not found")


@pytest.mark.parametrize("method", ["put", "patch"])
def test_bmh_credentials_cannot_be_cleared(client, method):
    """§6: empty bmc.username/password are restored from the existing object."""
    client.post(BMHS, bmh("h", bmc={"address": "10.0.0.1", "username": "root", "password": "pw"}))
    o = getattr(client, method)(BMHS + "/h", {"spec": {"bmc": {"username": "", "password": ""}}}).json()
    assert (o["spec"]["bmc"]["username"], o["spec"]["bmc"]["password"]) == ("root", "pw")
    o = getattr(client, method)(BMHS + "/h", {"spec": {"bmc": {"password": "new"}}}).json()
    assert o["spec"]["bmc"]["password"] == "new"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_manual_power_annotation_on_online_transitions(client, method):
    """§0/§7: bmh.mkube.io/manual-power set on false→true, removed on true→false."""
    client.post(BMHS, {"metadata": {"name": "h", "annotations": {"keep": "me"}},
                       "spec": {"online": False}})
    o = getattr(client, method)(BMHS + "/h", {"spec": {"online": True}}).json()
    ts = o["metadata"]["annotations"]["bmh.mkube.io/manual-power"]
    assert ts.endswith("Z") and o["metadata"]["annotations"]["keep"] == "me"
    o = getattr(client, method)(BMHS + "/h", {"spec": {"image": "x"}}).json()   # still on: kept
    assert o["metadata"]["annotations"]["bmh.mkube.io/manual-power"] == ts
    o = getattr(client, method)(BMHS + "/h", {"spec": {"online": False}}).json()
    assert o["metadata"]["annotations"] == {"keep": "me"}


def test_bmh_patch_map_and_null_semantics(client):
    """§7 PATCH in detail: maps merge key by key and never lose a key; {"k":null} → "";
    null on a map/pointer/slice sets nil; null on string/bool/number is a no-op."""
    client.post(BMHS, {"metadata": {"name": "h", "labels": {"a": "1", "b": "2"}},
                       "spec": {"image": "img", "online": True, "nics": [{"mac": "m", "role": "data"}]},
                       "status": {"bootCount": 3, "ipmiReachable": True}})
    o = client.patch(BMHS + "/h", {"metadata": {"labels": {"c": "3", "a": None}}}).json()
    assert o["metadata"]["labels"] == {"a": "", "b": "2", "c": "3"}
    o = client.patch(BMHS + "/h", {"spec": {"image": None}, "status": {"bootCount": None,
                                                                         "ipmiReachable": None}}).json()
    assert o["spec"]["image"] == "img" and o["status"]["bootCount"] == 3
    assert o["status"]["ipmiReachable"] is True
    o = client.patch(BMHS + "/h", {"metadata": {"labels": None}, "spec": {"online": None, "nics": None}}).json()
    assert "labels" not in o["metadata"] and "online" not in o["spec"] and "nics" not in o["spec"]


def test_bmh_patch_arrays_replace_length_elements_decode_onto_old(client):
    """§7: arrays are replaced (new length). Go detail the reference glosses over: element i
    is decoded onto the old element i, so a struct element keeps fields the patch omits."""
    client.post(BMHS, bmh("h", nics=[{"mac": "m1", "ip": "10.0.0.1", "role": "data"},
                                     {"mac": "m2", "role": "mgmt"}]))
    o = client.patch(BMHS + "/h", {"spec": {"nics": [{"mac": "m9"}]}}).json()
    assert o["spec"]["nics"] == [{"mac": "m9", "ip": "10.0.0.1", "role": "data"}]
    o = client.patch(BMHS + "/h", {"spec": {"nics": []}}).json()
    assert "nics" not in o["spec"]


def test_status_network_interfaces_map_entries_replaced_whole(client):
    """Map values are decoded onto a fresh zero value: an entry is replaced, keys kept."""
    client.post(BMHS, {"metadata": {"name": "h"}, "status": {"networkInterfaces": {
        "eth0": {"mac": "m0", "network": "g10", "ip": "1.1.1.1"}, "eth1": {"mac": "m1"}}}})
    o = client.patch(BMHS + "/h", {"status": {"networkInterfaces": {"eth0": {"ip": "2.2.2.2"}}}}).json()
    assert o["status"]["networkInterfaces"] == {"eth0": {"mac": "", "ip": "2.2.2.2"},
                                                "eth1": {"mac": "m1"}}


def test_bmh_patch_errors_and_404(client):
    assert_text_error(client.patch(BMHS + "/nope", {}), 404, "BareMetalHost default/nope not found")
    client.post(BMHS, bmh("h"))
    assert_text_error(client.patch(BMHS + "/h", {"status": {"bootCount": "x"}}), 400,
                      "invalid patch JSON: json: cannot unmarshal string into Go struct field "
                      "BMHStatus.status.bootCount of type int")


def test_bmh_delete_status_body(client):
    client.post(BMHS, bmh("server7"))
    r = client.delete(BMHS + "/server7")
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    assert r.text == ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
                      '"message":"BareMetalHost \\"server7\\" deleted"}\n')
    assert_text_error(client.delete(BMHS + "/server7"), 404, "BareMetalHost default/server7 not found")
    assert_text_error(client.get(BMHS + "/server9"), 404, "BareMetalHost default/server9 not found")


def test_refresh_one_and_all(client):
    assert client.post("/api/v1/baremetalhosts/refresh").text == \
        '{"hosts":null,"message":"refresh requested for 0 hosts","status":"ok"}\n'
    assert_text_error(client.post(BMHS + "/h/refresh"), 500,
                      "persisting refresh: BareMetalHost default/h not found")
    client.post(BMHS, bmh("h"))
    r = client.post(BMHS + "/h/refresh")
    assert r.text == '{"message":"refresh requested for h","status":"ok"}\n'
    assert "bmh.mkube.io/refresh" in client.get(BMHS + "/h").json()["metadata"]["annotations"]
    client.post(BMHS, bmh("k"))
    r = client.post("/api/v1/baremetalhosts/refresh").json()
    assert sorted(r["hosts"]) == ["h", "k"] and r["message"] == "refresh requested for 2 hosts"


# =============================================================================================
# BootConfig (§2.2) and assignedTo (§5)

BCS = "/api/v1/bootconfigs"


def test_bootconfig_create_defaults_and_errors(client):
    o = client.post(BCS, {"metadata": {"name": "a"}}).json()
    assert o["spec"] == {"format": "custom", "data": None} and o["status"] == {"phase": "Active"}
    assert_text_error(client.post(BCS, {"metadata": {"name": "a"}}), 409, 'BootConfig "a" already exists')
    assert_text_error(client.post(BCS, {}), 400, "BootConfig name is required")
    assert_text_error(client.get(BCS + "/nope"), 404, 'BootConfig "nope" not found')


def test_bootconfig_put_full_replace_and_status_rule(client):
    client.post(BCS, {"metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"},
                      "spec": {"format": "ignition", "description": "d", "data": {"x": "1"}},
                      "status": {"assignedTo": ["h1"]}})
    o = client.put(BCS + "/a", {"metadata": {"name": "zzz"}, "spec": {"format": ""}}).json()
    assert o["metadata"] == {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"}
    assert o["spec"] == {"format": "", "data": None}                # no defaulting, data:null
    assert o["status"] == {"phase": "Active", "assignedTo": ["h1"]}  # empty phase: old status
    o = client.put(BCS + "/a", {"status": {"phase": "Inactive"}}).json()
    assert o["status"] == {"phase": "Inactive"}                        # body's status wins
    assert_text_error(client.put(BCS + "/nope", {}), 404, 'BootConfig "nope" not found')


def test_bootconfig_patch_data_merges_and_never_loses_keys(client):
    """§7: {"data":{"x":null}} sets x to ""; {"data":null} sets the map to nil."""
    client.post(BCS, {"metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"},
                      "spec": {"data": {"x": "1", "y": "2"}}})
    o = client.patch(BCS + "/a", {"metadata": {"name": "b", "creationTimestamp": "2030-01-01T00:00:00Z"},
                                  "spec": {"data": {"x": None, "z": "3"}}}).json()
    assert o["spec"]["data"] == {"x": "", "y": "2", "z": "3"}
    assert o["metadata"] == {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"}
    o = client.patch(BCS + "/a", {"spec": {"data": None}}).json()
    assert '"data":null' in json.dumps(o, separators=(",", ":"))


def test_assigned_to_bookkeeping(client):
    """§5 syncBootConfigRef: create adds, ref change moves, delete removes — names only."""
    client.post(BCS, {"metadata": {"name": "c1"}})
    client.post(BCS, {"metadata": {"name": "c2"}})
    client.post(BMHS, bmh("h", bootConfigRef="c1"))
    client.post("/api/v1/namespaces/lab/baremetalhosts", bmh("k", bootConfigRef="c1"))
    assert client.get(BCS + "/c1").json()["status"]["assignedTo"] == ["h", "k"]
    client.patch(BMHS + "/h", {"spec": {"bootConfigRef": "c2"}})
    assert client.get(BCS + "/c1").json()["status"]["assignedTo"] == ["k"]
    assert client.get(BCS + "/c2").json()["status"]["assignedTo"] == ["h"]
    client.put(BMHS + "/h", {"spec": {"bootConfigRef": "c1"}})
    assert "assignedTo" not in client.get(BCS + "/c2").json()["status"]
    client.delete("/api/v1/namespaces/lab/baremetalhosts/k")
    assert client.get(BCS + "/c1").json()["status"]["assignedTo"] == ["h"]
    client.patch(BMHS + "/h", {"spec": {"bootConfigRef": ""}})   # "" clears (pxemanager)
    assert "assignedTo" not in client.get(BCS + "/c1").json()["status"]


def test_assigned_to_gaps(client):
    """§5 gaps: a ref set before its BootConfig exists is never added; clients may overwrite
    assignedTo; names carry no namespace."""
    client.post(BMHS, bmh("h", bootConfigRef="later"))
    client.post(BCS, {"metadata": {"name": "later"}})
    client.patch(BMHS + "/h", {"spec": {"image": "x"}})
    assert "assignedTo" not in client.get(BCS + "/later").json()["status"]
    client.patch(BCS + "/later", {"status": {"assignedTo": ["ghost"]}})
    assert client.get(BCS + "/later").json()["status"]["assignedTo"] == ["ghost"]
    # same name in two namespaces: one delete removes "the" name
    client.post(BCS, {"metadata": {"name": "c"}})
    client.post(BMHS, bmh("s", bootConfigRef="c"))
    client.post("/api/v1/namespaces/lab/baremetalhosts", bmh("s", bootConfigRef="c"))
    assert client.get(BCS + "/c").json()["status"]["assignedTo"] == ["s"]
    client.delete("/api/v1/namespaces/lab/baremetalhosts/s")
    assert "assignedTo" not in client.get(BCS + "/c").json()["status"]


def test_bootconfig_delete_blocked_by_assigned_to_em_dash(client):
    client.post(BCS, {"metadata": {"name": "c"}})
    client.post(BMHS, bmh("a", bootConfigRef="c"))
    client.post(BMHS, bmh("b", bootConfigRef="c"))
    assert_text_error(client.delete(BCS + "/c"), 409,
                      'BootConfig "c" is referenced by 2 BMH(s): a, b \u2014 remove references first')
    client.patch(BMHS + "/a", {"spec": {"bootConfigRef": ""}})
    client.patch(BMHS + "/b", {"spec": {"bootConfigRef": ""}})
    r = client.delete(BCS + "/c")
    assert r.text == ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
                      '"message":"BootConfig \\"c\\" deleted"}\n')
    assert_text_error(client.delete(BCS + "/c"), 404, 'BootConfig "c" not found')


def test_bootconfig_serve_and_files(client):
    client.post(BCS, {"metadata": {"name": "c"}, "spec": {"format": "cloud-init",
                                                          "data": {"user-data": "#cloud-config\n"}}})
    r = client.get(BCS + "/c/serve")
    assert r.status == 200 and r.header("Content-Type") == "text/yaml" and r.text == "#cloud-config\n"
    r = client.get(BCS + "/c/files/user-data")
    assert r.header("Content-Type") == "application/octet-stream" and r.text == "#cloud-config\n"
    assert_text_error(client.get(BCS + "/c/files/vmlinuz"), 404, 'file "vmlinuz" not found in BootConfig "c"')
    r = client.post(BCS + "/c/files/vmlinuz", b"\x7fELF\x00\x01")
    assert r.text == '{"status":"ok","bootconfig":"c","file":"vmlinuz","bytes":6}'
    assert client.get(BCS + "/c/files/vmlinuz").body == b"\x7fELF\x00\x01"
    assert "vmlinuz" not in client.get(BCS + "/c").text                    # data map untouched
    client.post(BCS, {"metadata": {"name": "empty"}})
    assert_text_error(client.get(BCS + "/empty/serve"), 404, 'BootConfig "empty" has no data entries')
    assert_text_error(client.get(BCS + "/nope/serve"), 404, 'BootConfig "nope" not found')
    assert_text_error(client.post(BCS + "/nope/files/x", b"1"), 404, 'BootConfig "nope" not found')


# =============================================================================================
# ISCSICdrom (§2.3)

ISOS = "/api/v1/iscsi-cdroms"


def test_iso_create_defaults(client):
    r = client.post(ISOS, {"metadata": {"name": "fedora"}, "spec": {"readOnly": False},
                           "status": {"phase": "Ready", "targetIQN": "mine"}})
    assert r.status == 201
    o = r.json()
    assert o["spec"] == {"isoFile": "fedora.iso", "readOnly": True}
    assert o["status"] == {"phase": "Pending", "isoPath": "/raid1/iso/fedora.iso",
                           "targetIQN": "iqn.2024-01.lo.gt:cdrom-fedora", "portalIP": "192.168.200.1",
                           "portalPort": 3260}
    assert_text_error(client.post(ISOS, {"metadata": {"name": "fedora"}}), 409,
                      'iSCSI CDROM "fedora" already exists')
    assert_text_error(client.post(ISOS, {}), 400, "iSCSI CDROM name is required")
    assert_text_error(client.get(ISOS + "/x"), 404, 'iSCSI CDROM "x" not found')


def test_iso_create_with_existing_file_is_exported(emu, client):
    client.post("/_emulator/isofiles", {"rocky.iso": 1000})
    o = client.post(ISOS, {"metadata": {"name": "rocky"}}).json()
    assert o["status"]["phase"] == "Ready" and o["status"]["isoSize"] == 1000
    assert o["status"]["targetIQN"].startswith("iqn.2000-02.com.mikrotik:file")
    assert o["status"]["routerosID"].startswith("*")


def test_iso_patch_no_side_effects_put_keeps_status(client):
    client.post(ISOS, {"metadata": {"name": "i"}})
    o = client.patch(ISOS + "/i", {"spec": {"isoFile": "other.iso", "readOnly": False,
                                            "bootConfigs": ["a", "b"]},
                                   "status": {"targetIQN": "patched"}}).json()
    assert o["status"]["isoPath"] == "/raid1/iso/i.iso" and o["status"]["targetIQN"] == "patched"
    assert o["spec"]["readOnly"] is False and o["spec"]["bootConfigs"] == ["a", "b"]
    o = client.put(ISOS + "/i", {"spec": {"isoFile": "other.iso", "description": "d"}}).json()
    assert o["spec"] == {"isoFile": "other.iso", "description": "d", "readOnly": False}
    assert o["status"]["targetIQN"] == "patched"


def test_iso_subscribe_unsubscribe_and_delete_guard(client):
    client.post(ISOS, {"metadata": {"name": "i"}})
    r = client.post(ISOS + "/i/subscribe", {"name": "n1", "initiatorIQN": "iqn.x"})
    assert r.text == ('{"portalIP":"192.168.200.1","portalPort":3260,'
                      '"targetIQN":"iqn.2024-01.lo.gt:cdrom-i"}\n')
    assert_text_error(client.post(ISOS + "/i/subscribe", {"name": "n1"}), 409,
                      'subscriber "n1" already subscribed')
    assert_text_error(client.post(ISOS + "/i/subscribe", {}), 400, "subscriber name is required")
    subs = client.get(ISOS + "/i").json()["status"]["subscribers"]
    assert subs[0]["name"] == "n1" and subs[0]["since"].endswith("Z")
    assert_text_error(client.delete(ISOS + "/i"), 409,
                      'iSCSI CDROM "i" has 1 active subscribers \u2014 unsubscribe all first')
    r = client.post(ISOS + "/i/unsubscribe", {"name": "n1"})
    assert r.json()["message"] == 'subscriber "n1" removed from iSCSI CDROM "i"'
    assert_text_error(client.post(ISOS + "/i/unsubscribe", {"name": "n1"}), 404,
                      'subscriber "n1" not found')
    client.post(ISOS, {"metadata": {"name": "old"}})
    assert client.delete(ISOS + "/old").text == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
        '"message":"iSCSI CDROM \\"old\\" deleted"}\n')


def test_iso_delete_ignores_referencing_hosts_and_keep_iso(site, client):
    """§5: deleting a referenced ISCSICdrom is allowed; keepISO=true + scanner recreates it."""
    assert client.delete(ISOS + "/stormbase?keepISO=true").status == 200
    assert client.get(BMHS + "/server3").json()["spec"]["image"] == "stormbase"
    assert client.post("/_emulator/scan").json() == {"created": ["stormbase"]}
    o = client.get(ISOS + "/stormbase").json()
    assert o["spec"]["version"] == "0.2.3" and "bootConfigs" not in o["spec"]


def test_iso_upload_multipart(client):
    client.post(ISOS, {"metadata": {"name": "up"}})
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"iso\"; filename=\"a.iso\"\r\n\r\n"
            + b"A" * 2048 + b"\r\n--XX--\r\n")
    r = client.post(ISOS + "/up/upload", body, headers={"Content-Type": "multipart/form-data; boundary=XX"})
    assert r.status == 200 and r.json()["status"]["isoSize"] == 2048
    assert r.json()["status"]["phase"] == "Ready"
    r = client.post(ISOS + "/up/upload", b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.text.startswith("reading multipart stream: ")


# =============================================================================================
# Boot endpoints (§4)

IP = {"X-Emulator-Source-IP": "192.168.10.10"}


def test_bootconfig_by_source_ip(site, client):
    r = client.get("/api/v1/bootconfig", headers=IP)
    assert r.status == 200 and r.header("Content-Type") == "application/vnd.coreos.ignition+json"
    assert r.text == '{"ignition":{"version":"3.4.0"}}'
    r = client.get("/api/v1/bootconfig", headers={"X-Emulator-Source-IP": "192.168.10.12"})
    assert r.header("Content-Type") == "text/plain" and r.text == "text\nreboot\n"
    assert_text_error(client.get("/api/v1/bootconfig", headers={"X-Emulator-Source-IP": "10.9.9.9"}),
                      404, "no BareMetalHost found with IP 10.9.9.9")
    assert_text_error(client.get("/api/v1/bootconfig", headers={"X-Emulator-Source-IP": "192.168.10.11"}),
                      404, 'BareMetalHost "server2" has no bootConfigRef')
    # X-Forwarded-For / X-Real-IP are ignored; without the emulator header the peer is 127.0.0.1
    assert_text_error(client.get("/api/v1/bootconfig", headers={"X-Forwarded-For": "192.168.10.10"}),
                      404, "no BareMetalHost found with IP 127.0.0.1")


def test_bootconfig_by_ip_dangling_ref_and_no_data(site, client):
    client.patch(BMHS + "/server1", {"spec": {"bootConfigRef": "gone"}})
    assert_text_error(client.get("/api/v1/bootconfig", headers=IP), 404,
                      'BootConfig "gone" not found (referenced by BMH "server1")')
    client.post(BCS, {"metadata": {"name": "nodata"}})
    client.patch(BMHS + "/server1", {"spec": {"bootConfigRef": "nodata"}})
    assert_text_error(client.get("/api/v1/bootconfig", headers=IP), 404,
                      'BootConfig "nodata" has no data entries')


def test_bootconfig_content_type_mapping_and_random_entry(client):
    for fmt, ct in (("ignition", "application/vnd.coreos.ignition+json"), ("cloud-init", "text/yaml"),
                    ("kickstart", "text/plain"), ("custom", "application/octet-stream"),
                    ("whatever", "application/octet-stream")):
        client.post(BCS, {"metadata": {"name": fmt}, "spec": {"format": fmt, "data": {"a": "A"}}})
        client.post(BMHS, bmh("h-" + fmt, ip="10.1.1.1", bootConfigRef=fmt))
        r = client.get("/api/v1/bootconfig", headers={"X-Emulator-Source-IP": "10.1.1.1"})
        client.delete(BMHS + "/h-" + fmt)
        assert r.header("Content-Type") == ct
    client.post(BCS, {"metadata": {"name": "multi"}, "spec": {"data": {"a": "A", "b": "B", "c": "C"}}})
    bodies = {client.get(BCS + "/multi/serve").text for _ in range(30)}
    assert len(bodies) > 1 and bodies <= {"A", "B", "C"}


def test_boot_complete(site, client):
    w = client.watch("/api/v1/baremetalhosts?watch=true")
    w.read(15)
    r = client.post("/api/v1/boot-complete", "ignored", headers={"X-Emulator-Source-IP": "192.168.10.12"})
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    assert r.text == '{"status":"ok","host":"server3","image":"localboot"}'   # no newline
    o = client.get(BMHS + "/server3").json()
    assert o["spec"]["image"] == "localboot" and o["spec"]["bootConfigRef"] == "install"
    ev = w.read(16)[-1]
    assert ev["type"] == "MODIFIED" and ev["object"]["metadata"]["name"] == "server3"
    w.close()
    assert_text_error(client.post("/api/v1/boot-complete"), 404, "no BareMetalHost found with IP 127.0.0.1")


def test_ipxe_boot(site, client):
    def ipxe(ip):
        r = client.get("/api/v1/ipxe/boot", headers={"X-Emulator-Source-IP": ip})
        assert r.status == 200 and r.header("Content-Type") == "text/plain"
        return r.text
    exit_ = "#!ipxe\nexit\n"
    assert ipxe("10.9.9.9") == exit_                  # no BMH
    assert ipxe("192.168.10.10") == exit_             # localboot
    assert ipxe("192.168.11.30") == exit_             # baremetalservices: targetIQN ""
    # server2: coreos-live, network g10 → gateway 192.168.10.1, bootMode forever keeps image
    assert ipxe("192.168.10.11") == "#!ipxe\nsanboot iscsi:192.168.10.1::::iqn.2000-02.com.mikrotik:file4\n"
    time.sleep(0.2)
    assert client.get(BMHS + "/server2").json()["spec"]["image"] == "coreos-live"
    # server3: stormbase, boot-once → localboot in the background
    assert ipxe("192.168.10.12") == "#!ipxe\nsanboot iscsi:192.168.10.1::::iqn.2000-02.com.mikrotik:file5\n"
    assert wait_for(lambda: client.get(BMHS + "/server3").json()["spec"]["image"] == "localboot")
    # unknown network → first configured network's gateway
    client.patch(BMHS + "/server2", {"spec": {"network": "nope"}})
    assert "sanboot iscsi:192.168.200.1::::" in ipxe("192.168.10.11")
    assert client.get("/api/v1/ipxe/localboot").text == exit_


# =============================================================================================
# Watch (§3)


def test_watch_headers_and_double_replay(site, client):
    w = client.watch("/api/v1/bootconfigs?watch=true")
    assert w.status == 200 and w.headers["content-type"] == "application/json"
    assert w.headers["transfer-encoding"] == "chunked" and w.headers["cache-control"] == "no-cache"
    assert w.headers["connection"] == "keep-alive"
    evs = w.read(6)
    names = lambda evs: sorted(e["object"]["metadata"]["name"] for e in evs)
    assert names(evs[:3]) == names(evs[3:]) == ["cloud-base", "coreos-builder", "install"]
    assert [e["type"] for e in evs[:3]] == ["ADDED"] * 3                  # memory snapshot
    # KV replay in revision order: only revision 1 (first write to the bucket) is ADDED
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs[3:]] == [
        ("ADDED", "coreos-builder"), ("MODIFIED", "install"), ("MODIFIED", "cloud-base")]
    assert list(evs[0]) == ["type", "object"]
    assert w.idle(0.6)    # then silence: no heartbeat, no bookmark
    w.close()


def test_watch_creations_arrive_as_modified_and_deleted_is_a_stub(client):
    client.post(BMHS, bmh("first"))
    w = client.watch("/api/v1/baremetalhosts?watch=true")
    assert [e["type"] for e in w.read(2)] == ["ADDED", "ADDED"]   # snapshot + revision 1
    client.post(BMHS, bmh("server7", image="x"))
    ev = w.read(3)[2]
    assert ev["type"] == "MODIFIED" and ev["object"]["spec"]["image"] == "x"
    client.delete(BMHS + "/server7")
    w.read(4)
    assert w.lines[3].decode() == '{"type":"DELETED","object":%s}' % (STUB_BMH % ("server7", "default"))
    for line in w.lines:
        assert b"resourceVersion" not in line and b"BOOKMARK" not in line and b"ERROR" not in line
    w.close()


def test_watch_stub_for_bootconfig_and_iso(client):
    client.post(BCS, {"metadata": {"name": "c"}})
    client.post(ISOS, {"metadata": {"name": "i"}})
    wb, wi = client.watch(BCS + "?watch=true"), client.watch(ISOS + "?watch=true")
    wb.read(2), wi.read(2)
    client.delete(BCS + "/c")
    client.delete(ISOS + "/i")
    wb.read(3), wi.read(3)
    assert wb.lines[2].decode() == ('{"type":"DELETED","object":{"kind":"BootConfig","apiVersion":"v1",'
                                    '"metadata":{"name":"c","creationTimestamp":null},"spec":{"format":"",'
                                    '"data":null},"status":{"phase":""}}}')
    assert wi.lines[2].decode() == ('{"type":"DELETED","object":{"kind":"ISCSICdrom","apiVersion":"v1",'
                                    '"metadata":{"name":"i","creationTimestamp":null},"spec":{"isoFile":"",'
                                    '"readOnly":false},"status":{"phase":"","isoPath":"","targetIQN":"",'
                                    '"portalIP":"","portalPort":0}}}')
    wb.close(), wi.close()


def test_watch_replays_stale_tombstones_on_every_connect(site, client):
    for _ in range(2):
        w = client.watch("/api/v1/baremetalhosts?watch=true")
        evs = w.read(15)
        assert [e for e in evs if e["type"] == "DELETED"] == [json.loads(
            '{"type":"DELETED","object":%s}' % (STUB_BMH % ("server4", "default")))]
        assert len(evs) == 7 + 7 + 1
        w.close()
    client.post("/_emulator/faults", {"stale_tombstones": False})
    w = client.watch("/api/v1/baremetalhosts?watch=true")
    assert all(e["type"] != "DELETED" for e in w.read(14)) and w.idle(0.3)
    w.close()


def test_namespaced_watch_filters_on_namespace_only(site, client):
    """§2.1: the namespaced watch does not use the join rules."""
    w = client.watch("/api/v1/namespaces/g11/baremetalhosts?watch=true")
    assert w.idle(0.5) and w.lines == []
    client.patch(BMHS + "/server1", {"spec": {"image": "x"}})
    client.post("/api/v1/namespaces/g11/baremetalhosts", bmh("n"))
    ev = w.read(1)[0]
    assert ev["type"] == "MODIFIED" and ev["object"]["metadata"]["name"] == "n"
    w.close()
    w = client.watch("/api/v1/namespaces/lab/baremetalhosts?watch=true&fieldSelector=metadata.name%3Dnope")
    assert [e["object"]["metadata"]["name"] for e in w.read(2)] == ["server30", "server30"]
    w.close()


def test_watch_sees_object_written_after_connect_once(client):
    w = client.watch(BCS + "?watch=true")
    assert w.idle(0.3)
    client.post(BCS, {"metadata": {"name": "a"}})
    client.patch(BCS + "/a", {"spec": {"description": "d"}})
    evs = w.read(2)
    assert [e["type"] for e in evs] == ["ADDED", "MODIFIED"]   # revision 1 is ADDED
    assert w.idle(0.3)
    w.close()


def test_client_disconnect_frees_the_watch(emu, client):
    w = client.watch(BCS + "?watch=true")
    assert wait_for(lambda: emu.hub.count() == 1)
    w.close()
    assert wait_for(lambda: emu.hub.count() == 0)


# =============================================================================================
# Table (§2.4)

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


def test_bmh_table(site, client):
    t = client.get("/api/v1/baremetalhosts", headers=TABLE).json()
    assert (t["kind"], t["apiVersion"], t["metadata"]) == ("Table", "meta.k8s.io/v1", {})
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name", "Status", "State", "Power", "Network", "Image", "IP", "IPMI", "Age"]
    names = [r["cells"][0] for r in t["rows"]]
    assert names == ["server1", "server2", "server3", "server5", "server6", "server7", "server30"]
    rows = {r["cells"][0]: r for r in t["rows"]}
    assert rows["server1"]["cells"][1:8] == ["Registering", "Ready", "on", "g10", "localboot",
                                             "192.168.10.10", "192.168.11.10"]
    assert rows["server2"]["cells"][5] == "coreos-live tpl:coreos-worker"
    assert rows["server7"]["cells"][5] == "localboot" and rows["server7"]["cells"][3] == "off"
    assert rows["server1"]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                         "metadata": {"name": "server1", "namespace": "default",
                                                      "creationTimestamp": "2026-03-01T12:00:00Z"}}
    client.patch(BMHS + "/server2", {"spec": {"ip": ""}})
    t = client.get(BMHS + "/server2", headers=TABLE).json()   # get answers a Table too
    assert len(t["rows"]) == 1 and t["rows"][0]["cells"][6] == "192.168.10.211"   # status.ip


def test_bootconfig_and_iso_tables(site, client):
    t = client.get(BCS, headers=TABLE).json()
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Format", "Description", "Assigned", "Age"]
    rows = {r["cells"][0]: r["cells"] for r in t["rows"]}
    assert rows["cloud-base"][2] == "Base cloud-init for every lab machine..."   # 37 bytes + ...
    assert len(rows["cloud-base"][2]) == 40
    assert rows["install"][2] == "Stormbase kickstart <install> & reboot"      # 38 bytes: kept
    assert rows["install"][3] == 2 and rows["coreos-builder"][3] == 1
    assert "\\u003cinstall\\u003e" in client.get(BCS, headers=TABLE).text
    t = client.get(ISOS, headers=TABLE).json()
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name", "Version", "Phase", "ISO Size", "Target IQN", "Subscribers", "Age"]


# =============================================================================================
# Fixture: real mkube data that breaks the seed's rules (clients)


def test_site_dump_breaks_the_seed_rules(site, client):
    isos = client.get(ISOS).json()["items"]
    assert isos and all("bootConfigs" not in i["spec"] for i in isos)
    hosts = {h["metadata"]["name"]: h for h in client.get("/api/v1/baremetalhosts").json()["items"]}
    assert (hosts["server3"]["spec"]["image"], hosts["server3"]["spec"]["bootConfigRef"]) == ("stormbase", "install")
    assert (hosts["server1"]["spec"]["image"], hosts["server1"]["spec"]["bootConfigRef"]) == (
        "localboot", "coreos-builder")
    assert sum(h["spec"]["bootMACAddress"] == "00:00:00:00:00:00" for h in hosts.values()) >= 3
    assert "install" not in [b["metadata"]["name"] for b in client.get(BCS).json()["items"]
                             if b["spec"].get("data") is None]
    # mkube validates none of it: more of the same is accepted
    assert client.post(BMHS, bmh("server8", bootMACAddress="00:00:00:00:00:00", image="nope",
                                 bootConfigRef="missing")).status == 201


# =============================================================================================
# Control endpoint: state, reset


def test_state_equals_what_mkube_serves(site, client):
    state = client.get("/_emulator/state").json()
    listed = sorted(client.get("/api/v1/baremetalhosts").json()["items"],
                    key=lambda o: o["metadata"]["namespace"] + "." + o["metadata"]["name"])
    assert state["baremetalhosts"] == listed
    assert state["tombstones"]["iscsi-cdroms"] == ["fedora-40"]
    assert state["revisions"] == {"baremetalhosts": 8, "bootconfigs": 3, "iscsi-cdroms": 4}


def test_reset_empty_and_with_fixture(site, client):
    r = client.post("/_emulator/reset")
    assert r.json()["baremetalhosts"] == [] and client.get(BCS).json()["items"] == []
    with open(FIXTURE) as f:
        client.post("/_emulator/reset", f.read())
    assert len(client.get("/api/v1/baremetalhosts").json()["items"]) == 7
    client.post("/_emulator/reset", {"fixture": FIXTURE})
    assert len(client.get(ISOS).json()["items"]) == 3


# =============================================================================================
# Fault knobs


def test_fault_delay(client):
    client.post("/_emulator/faults", {"delay": 0.4})
    t = time.monotonic()
    assert client.get(BCS).status == 200
    assert time.monotonic() - t >= 0.4
    t = time.monotonic()
    client.get("/_emulator/faults")            # the control endpoint is never delayed
    assert time.monotonic() - t < 0.3
    client.delete("/_emulator/faults")
    t = time.monotonic()
    client.get(BCS)
    assert time.monotonic() - t < 0.3


@pytest.mark.parametrize("mode", ["bytes", "json", "html"])
def test_fault_garbage(client, mode):
    client.post("/_emulator/faults", {"garbage": mode})
    r = client.post(BMHS, bmh("h"))
    assert r.status == 200
    if mode == "bytes":
        with pytest.raises(ValueError):
            json.loads(r.body.decode("utf-8", "replace"))
    elif mode == "json":
        assert isinstance(r.json()["items"], dict)
    else:
        assert r.header("Content-Type") == "text/html" and r.text.startswith("<html>")
    client.delete("/_emulator/faults")
    assert client.get(BMHS).json()["items"] == []        # the garbage request was not applied


def test_fault_garbage_truncated_status_and_watch(client):
    client.post("/_emulator/faults", {"garbage": "truncated", "garbage_status": 502})
    s = client.raw("GET", BCS)
    data = s.makefile("rb").read()
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 502") and int(
        [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1]) > len(body)
    client.post("/_emulator/faults", {"garbage": "json", "garbage_status": 200})
    w = client.watch(BCS + "?watch=true")
    assert w.read(2)[0]["type"] == "EXPLODED" and w.wait_end() == "clean"
    w.close()


def test_fault_garbage_expires(client):
    client.post("/_emulator/faults", {"garbage": "html", "for_seconds": 0.3})
    assert client.get(BCS).header("Content-Type") == "text/html"
    time.sleep(0.4)
    assert client.get(BCS).header("Content-Type") == "application/json"


def test_fault_down_close_and_reset(emu, client):
    w = client.watch(BCS + "?watch=true")
    client.post("/_emulator/faults", {"down": "close"})
    assert w.wait_end() == "abrupt"            # open streams dropped
    with pytest.raises((ConnectionError, OSError)):
        client.get(BCS)
    client.post("/_emulator/faults", {"down": "reset"})
    with pytest.raises(ConnectionResetError):
        s = client.raw("GET", BCS)
        s.recv(10)
    client.post("/_emulator/faults", {"down": None})
    assert client.get(BCS).status == 200


def test_fault_down_refuse_for_seconds(emu, client):
    client.post("/_emulator/faults", {"down": "refuse", "for_seconds": 0.6})
    assert wait_for(lambda: emu.server is None, 2)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", emu.port), timeout=1)
    assert wait_for(lambda: emu.server is not None, 3)
    assert client.get(BCS).status == 200
    assert client.get("/_emulator/faults").json()["down"] is None


def test_control_port_works_while_refusing():
    from emulator import Emulator
    e = Emulator(port=0, control_port=0).start()
    try:
        ctl, api = Client(e.control_url), Client(e.url)
        assert ctl.get("/api/v1/bootconfigs").status == 404     # control-only listener
        ctl.post("/_emulator/faults", {"down": "refuse"})
        assert wait_for(lambda: e.server is None, 2)
        with pytest.raises(ConnectionRefusedError):
            api.get(BCS)
        ctl.delete("/_emulator/faults")
        assert wait_for(lambda: e.server is not None, 3)
        assert api.get(BCS).status == 200
    finally:
        e.stop()


def test_fault_restart_drops_watches(site, client, emu):
    w1, w2 = client.watch(BCS + "?watch=true"), client.watch(ISOS + "?watch=true")
    w1.read(6), w2.read(6)
    r = client.post("/_emulator/restart", {})
    assert r.json() == {"droppedWatches": 2}
    assert w1.wait_end() == "abrupt" and w2.wait_end() == "abrupt"
    w = client.watch(BCS + "?watch=true")
    assert len(w.read(6)) == 6                               # objects kept, replayed again
    client.post("/_emulator/faults", {"restart": {"mode": "clean", "forget_tombstones": True}})
    assert w.wait_end() == "clean"
    w = client.watch("/api/v1/baremetalhosts?watch=true")
    assert all(e["type"] != "DELETED" for e in w.read(14)) and w.idle(0.3)
    w.close()


def test_fault_restart_with_downtime(emu, client):
    client.post("/_emulator/restart", {"downtime": 0.5})
    assert wait_for(lambda: emu.server is None, 2)
    assert wait_for(lambda: emu.server is not None, 3)
    assert client.get(BCS).status == 200


def test_fault_watch_unavailable(client):
    client.post("/_emulator/faults", {"watch_unavailable": True})
    assert_text_error(client.get(BCS + "?watch=true"), 503, "watch requires NATS store")
    assert client.get(BCS).status == 200


def test_unknown_fault_is_rejected(client):
    assert client.post("/_emulator/faults", {"explode": 1}).status == 400
    assert client.post("/_emulator/faults", {"down": "sideways"}).status == 400


# =============================================================================================
# The process: CLI, persistence


def _start(*args):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "emulator.py"), "--port", "0", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = p.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), p.stderr.read()
    return p, Client(url)


def test_cli_state_file_survives_a_process_restart(tmp_path):
    state = str(tmp_path / "kv.json")
    p, c = _start("--state", state, "--fixture", FIXTURE)
    try:
        c.post(BMHS, bmh("fresh"))
        c.delete(BMHS + "/server7")
        before = c.get("/_emulator/state").json()
    finally:
        p.kill()
        p.wait()
    p, c = _start("--state", state, "--fixture", FIXTURE)   # the state file wins over the fixture
    try:
        assert c.get("/_emulator/state").json() == before
        w = c.watch("/api/v1/baremetalhosts?watch=true")
        deleted = [e["object"]["metadata"]["name"] for e in w.read(7 + 7 + 2) if e["type"] == "DELETED"]
        assert sorted(deleted) == ["server4", "server7"]
        w.close()
    finally:
        p.kill()
        p.wait()


def test_cli_fault_flags(tmp_path):
    p, c = _start("--garbage", "html", "--no-stale-tombstones")
    try:
        assert c.get(BCS).header("Content-Type") == "text/html"
        f = c.get("/_emulator/faults").json()
        assert f["garbage"] == "html" and f["stale_tombstones"] is False
    finally:
        p.kill()
        p.wait()


# =============================================================================================
# The Go encoding/json model itself (gojson.py)


def test_codec_key_matching_exact_then_folded_last_wins():
    from kinds import BAREMETALHOST
    o = BAREMETALHOST.decode_bytes(b'{"spec":{"Image":"a","image":"b"}}')
    assert o["spec"]["image"] == "b"
    o = BAREMETALHOST.decode_bytes(b'{"spec":{"image":"b","IMAGE":"a","\\u0069mage":"c"}}')
    assert o["spec"]["image"] == "c"


def test_codec_string_escapes_like_go():
    from gojson import encode_string
    assert encode_string('a"\\\b\f\n\r\t\x01<>&\u2028\u2029é') == \
        '"a\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u003c\\u003e\\u0026\\u2028\\u2029é"'


def test_codec_numbers_like_go():
    from gojson import encode_float
    assert [encode_float(x) for x in (64.0, 63.5, 1e21, 1.5e-7, 0.000001, 123456789012.0)] == \
        ["64", "63.5", "1e+21", "1.5e-7", "0.000001", "123456789012"]


def test_codec_syntax_errors_like_go():
    from gojson import parse, SyntaxErr
    cases = {('{"a":1,}', "unmarshal"): "invalid character '}' looking for beginning of object key string",
             ('[1 2]', "unmarshal"): "invalid character '2' after array element",
             ('{"a":01}', "unmarshal"): "invalid character '1' after object key:value pair",
             ('"\x01"', "unmarshal"): "invalid character '\\x01' in string literal",
             ('-x', "unmarshal"): "invalid character 'x' in numeric literal",
             ('{"a":1', "unmarshal"): "unexpected end of JSON input",
             ('{"a":1', "decoder"): "unexpected EOF",
             ('', "decoder"): "EOF"}
    for (text, mode), msg in cases.items():
        with pytest.raises(SyntaxErr) as e:
            parse(text, mode)
        assert str(e.value) == msg, text
