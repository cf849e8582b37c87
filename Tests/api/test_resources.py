"""The resource API through HTTP: mkube compatibility, the seed's validation rules, optimistic
concurrency, patches, field validation, selectors, secrets, YAML."""
import json
import threading

from conftest import HOSTS, host

# mkube's own sample (mkube-boot-api.md §8), posted by an mkube client.
MKUBE_HOST = json.loads("""{"kind":"BareMetalHost","apiVersion":"v1","metadata":{"name":"server7","namespace":"default","creationTimestamp":"2026-03-01T12:00:00Z","annotations":{"bmh.mkube.io/manual-power":"2026-03-04T14:05:39Z"}},"spec":{"bmc":{"address":"192.168.11.17","mac":"ac:1f:6b:8a:a7:7d","hostname":"server7-ipmi","network":"g11","username":"ADMIN","password":"s3cret"},"bootMACAddress":"AC:1F:6B:8A:A7:7C","online":true,"image":"coreos-live","network":"g10","ip":"192.168.10.17","hostname":"server7","bootConfigRef":"coreos-builder","nics":[{"mac":"ac:1f:6b:8a:a7:7e","ip":"192.168.10.117","role":"data","hostname":"server7b"}]},"status":{"phase":"Registering","poweredOn":true,"state":"Ready","ipmiReachable":true}}""")


def subset(expected, actual, path=""):
    """Every key and value of `expected` is in `actual`."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected object, got {actual!r}"
        for k, v in expected.items():
            assert k in actual, f"{path}.{k} missing in {actual!r}"
            subset(v, actual[k], f"{path}.{k}")
    else:
        assert expected == actual, f"{path}: {expected!r} != {actual!r}"


def test_examples_are_loaded_into_an_empty_store(server):
    isos = server.get("/api/v1/iscsi-cdroms").body
    assert isos["kind"] == "ISCSICdromList"
    assert sorted(i["metadata"]["name"] for i in isos["items"]) == ["baremetalservices", "coreos-live", "fedora-netinst"]
    configs = sorted(c["metadata"]["name"] for c in server.get("/api/v1/bootconfigs").body["items"])
    assert configs == ["builder-target", "coreos-builder", "fedora-builder", "fedora-server"]
    s1 = server.get(HOSTS + "/server1").body
    assert s1["spec"]["image"] == "coreos-live" and s1["spec"]["bootConfigRef"] == "coreos-builder"
    # No placeholder IQN: empty until the target reports it.
    assert server.get("/api/v1/iscsi-cdroms/coreos-live").body["status"]["targetIQN"] == ""
    assert server.get("/api/v1/bootconfigs/coreos-builder").body["status"]["assignedTo"] == ["server1"]


def test_an_mkube_object_reads_back_with_the_same_keys_and_values(server):
    r = server.post(HOSTS, MKUBE_HOST)
    assert r.status == 201, r
    got = server.get(HOSTS + "/server7?includeSecrets=true").body
    subset(MKUBE_HOST, got)
    assert list(got.keys()) == ["kind", "apiVersion", "metadata", "spec", "status"]
    meta = got["metadata"]
    assert meta["uid"] and meta["resourceVersion"].isdigit() and meta["generation"] == 1
    # mkube's key order inside spec is kept.
    assert list(got["spec"].keys())[:3] == ["bmc", "bootMACAddress", "online"]


def test_passwords_are_not_returned_unless_asked(server):
    server.post(HOSTS, MKUBE_HOST)
    assert "password" not in server.get(HOSTS + "/server7").body["spec"]["bmc"]
    listed = server.get("/api/v1/baremetalhosts").body["items"]
    assert all("password" not in h["spec"]["bmc"] for h in listed)
    assert b"s3cret" not in server.get("/api/v1/baremetalhosts").payload
    assert server.get(HOSTS + "/server7?includeSecrets=true").body["spec"]["bmc"]["password"] == "s3cret"
    # Writing back a redacted object keeps the stored password.
    obj = server.get(HOSTS + "/server7").body
    obj["metadata"]["labels"] = {"rack": "r1"}
    assert server.put(HOSTS + "/server7", obj).status == 200
    assert server.get(HOSTS + "/server7?includeSecrets=true").body["spec"]["bmc"]["password"] == "s3cret"
    assert b"s3cret" not in open(server.data + "/server.log", "rb").read()


def test_errors_are_status_objects(server):
    r = server.get("/api/v1/bootconfigs/nope")
    assert r.status == 404
    assert r.body["kind"] == "Status" and r.body["code"] == 404 and r.body["reason"] == "NotFound"
    assert "nope" in r.body["message"]
    r = server.post(HOSTS, b"{not json", content_type="application/json")
    assert r.status == 400 and "line 1" in r.body["message"]


# ---- the seed's validation rules -------------------------------------------------------

def test_rule1_image_must_be_an_existing_iso_or_localboot(server):
    r = server.post(HOSTS, host("h1", "52:54:00:00:00:01", image="no-such-iso"))
    assert r.status == 400, r
    assert r.body["details"]["causes"][0]["field"] == "spec.image"
    assert "no-such-iso" in r.body["message"] and "coreos-live" in r.body["message"] and "localboot" in r.body["message"]
    assert server.get(HOSTS + "/h1").status == 404
    assert server.post(HOSTS, host("h1", "52:54:00:00:00:01", image="localboot")).status == 201
    assert server.post(HOSTS, host("h2", "52:54:00:00:00:02")).status == 201


def test_rule2_config_must_exist(server):
    r = server.post(HOSTS, host("h1", "52:54:00:00:00:01", image="localboot", ref="nope"))
    assert r.status == 400
    assert r.body["details"]["causes"][0]["field"] == "spec.bootConfigRef"
    assert "\"nope\" does not exist" in r.body["message"]


def test_rule3_config_must_be_listed_by_the_iso(server):
    r = server.post(HOSTS, host("h1", "52:54:00:00:00:01", image="coreos-live", ref="fedora-server"))
    assert r.status == 400
    msg = r.body["message"]
    assert "fedora-server" in msg and "coreos-live" in msg and "coreos-builder, builder-target" in msg and "h1" in msg
    # Patching an existing host the same way is refused and changes nothing.
    before = server.get(HOSTS + "/server1").body
    r = server.patch(HOSTS + "/server1", {"spec": {"bootConfigRef": "fedora-server"}})
    assert r.status == 400
    assert server.get(HOSTS + "/server1").body == before


def test_rule3_iso_without_configs_takes_no_config(server):
    r = server.post(HOSTS, host("h1", "52:54:00:00:00:01", image="baremetalservices", ref="coreos-builder"))
    assert r.status == 400 and "takes no boot config" in r.body["message"]
    assert server.post(HOSTS, host("h1", "52:54:00:00:00:01", image="baremetalservices")).status == 201


def test_rule4_localboot_takes_any_config(server):
    r = server.patch(HOSTS + "/server1", {"spec": {"image": "localboot", "bootConfigRef": "builder-target"}})
    assert r.status == 200, r
    assert server.patch(HOSTS + "/server1", {"spec": {"bootConfigRef": "fedora-server"}}).status == 200


def test_rule5_referenced_config_cannot_be_deleted(server):
    r = server.delete("/api/v1/bootconfigs/coreos-builder")
    assert r.status == 409
    assert "host default/server1" in r.body["message"] and "ISO coreos-live" in r.body["message"]
    assert server.get("/api/v1/bootconfigs/coreos-builder").status == 200


def test_rule5_booted_iso_cannot_be_deleted(server):
    r = server.delete("/api/v1/iscsi-cdroms/coreos-live")
    assert r.status == 409 and "host default/server1" in r.body["message"]
    assert server.delete("/api/v1/iscsi-cdroms/baremetalservices").status == 200


def test_rule5_config_in_use_cannot_be_unlisted(server):
    r = server.patch("/api/v1/iscsi-cdroms/coreos-live", {"spec": {"bootConfigs": ["builder-target"]}})
    assert r.status == 409
    assert "server1" in r.body["message"] and "coreos-builder" in r.body["message"]
    assert server.get("/api/v1/iscsi-cdroms/coreos-live").body["spec"]["bootConfigs"] == ["coreos-builder", "builder-target"]


def test_rule5_listed_configs_must_exist(server):
    r = server.patch("/api/v1/iscsi-cdroms/fedora-netinst", {"spec": {"bootConfigs": ["fedora-server", "ghost"]}})
    assert r.status == 400 and "\"ghost\"" in r.body["message"]


def test_unreferenced_config_can_be_deleted_after_references_go(server):
    assert server.patch(HOSTS + "/server1", {"spec": {"bootConfigRef": "builder-target"}}).status == 200
    assert server.get("/api/v1/bootconfigs/coreos-builder").body["status"].get("assignedTo") is None
    assert server.get("/api/v1/bootconfigs/builder-target").body["status"]["assignedTo"] == ["server1"]
    assert server.patch("/api/v1/iscsi-cdroms/coreos-live", {"spec": {"bootConfigs": ["builder-target"]}}).status == 200
    r = server.delete("/api/v1/bootconfigs/coreos-builder")
    assert r.status == 200 and r.body["status"] == "Success"


def test_duplicate_boot_mac_is_refused(server):
    r = server.post(HOSTS, host("dup", "ac-1f-6b-8a-a7-9c"))
    assert r.status == 409 and "server1" in r.body["message"]


def test_ipxe_unsafe_values_are_refused(server):
    r = server.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": "iqn.2000-02.com.mikrotik:file 4"}})
    assert r.status == 400 and r.body["details"]["causes"][0]["field"] == "status.targetIQN"
    r = server.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": "iqn.2000-02.com.mikrotik:${x}"}})
    assert r.status == 400
    r = server.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"portalIP": "10.0.0.1#x"}})
    assert r.status == 400
    r = server.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": "iqn.2000-02.com.mikrotik:file4", "phase": "Ready"}})
    assert r.status == 200
    r = server.post(HOSTS, host("badmac", "not-a-mac"))
    assert r.status == 400 and "spec.bootMACAddress" in r.body["message"]


# ---- optimistic concurrency ------------------------------------------------------------

def test_stale_resource_version_is_a_conflict(server):
    cur = server.get(HOSTS + "/server1").body
    rv = cur["metadata"]["resourceVersion"]
    assert server.patch(HOSTS + "/server1", {"metadata": {"resourceVersion": rv, "labels": {"a": "1"}}}).status == 200
    r = server.patch(HOSTS + "/server1", {"metadata": {"resourceVersion": rv, "labels": {"a": "2"}}})
    assert r.status == 409 and "stale" in r.body["message"]
    cur["metadata"]["labels"] = {"a": "3"}
    assert server.put(HOSTS + "/server1", cur).status == 409
    assert server.get(HOSTS + "/server1").body["metadata"]["labels"] == {"a": "1"}


def test_racing_patches_one_wins(server):
    rv = server.get(HOSTS + "/server1").body["metadata"]["resourceVersion"]
    results = []
    barrier = threading.Barrier(2)

    def go(label):
        barrier.wait()
        results.append(server.patch(HOSTS + "/server1", {"metadata": {"resourceVersion": rv, "labels": {"who": label}}}).status)

    threads = [threading.Thread(target=go, args=(x,)) for x in "ab"]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == [200, 409]


def test_resource_version_is_one_increasing_counter(server):
    a = int(server.patch(HOSTS + "/server1", {"metadata": {"labels": {"x": "1"}}}).body["metadata"]["resourceVersion"])
    b = int(server.patch("/api/v1/bootconfigs/fedora-server", {"spec": {"description": "d"}}).body["metadata"]["resourceVersion"])
    c = int(server.get("/api/v1/baremetalhosts").body["metadata"]["resourceVersion"])
    assert a < b <= c


def test_generation_counts_spec_changes_only(server):
    g = server.get(HOSTS + "/server1").body["metadata"]["generation"]
    assert server.patch(HOSTS + "/server1", {"status": {"poweredOn": True}}).body["metadata"]["generation"] == g
    assert server.patch(HOSTS + "/server1", {"spec": {"online": True}}).body["metadata"]["generation"] == g + 1


# ---- patches, PUT, field validation ----------------------------------------------------

def test_merge_patch_with_plain_json_as_pxemanager_sends(server):
    r = server.patch(HOSTS + "/server1", {"spec": {"image": "localboot"}}, content_type="application/json")
    assert r.status == 200 and r.body["spec"]["image"] == "localboot"
    r = server.patch(HOSTS + "/server1", {"status": {"poweredOn": True}}, content_type="application/json")
    assert r.body["status"]["poweredOn"] is True


def test_json_patch(server):
    ops = [{"op": "test", "path": "/spec/image", "value": "coreos-live"},
           {"op": "replace", "path": "/spec/bootConfigRef", "value": "builder-target"}]
    r = server.patch(HOSTS + "/server1", ops, content_type="application/json-patch+json")
    assert r.status == 200 and r.body["spec"]["bootConfigRef"] == "builder-target"
    r = server.patch(HOSTS + "/server1", [{"op": "test", "path": "/spec/image", "value": "x"}], content_type="application/json-patch+json")
    assert r.status == 400 and "test failed" in r.body["message"]


def test_unsupported_patch_type(server):
    r = server.patch(HOSTS + "/server1", "{}", content_type="application/apply-patch+yaml")
    assert r.status == 415


def test_put_keeps_unsent_host_fields_as_mkube_does(server):
    r = server.put(HOSTS + "/server1", {"metadata": {"name": "server1"}, "spec": {"online": True}})
    assert r.status == 200
    assert r.body["spec"]["image"] == "coreos-live" and r.body["spec"]["online"] is True


def test_put_replaces_a_config(server):
    r = server.put("/api/v1/bootconfigs/fedora-server", {"metadata": {"name": "fedora-server"},
                                                          "spec": {"format": "custom", "data": {"x.txt": "hello"}}})
    assert r.status == 200 and r.body["spec"]["data"] == {"x.txt": "hello"}
    assert r.body["status"]["phase"] == "Active"


def test_unknown_fields_strict_warn_ignore(server):
    body = {"spec": {"bootMacAddress": "x"}}
    r = server.patch(HOSTS + "/server1", body)
    assert r.status == 400 and "spec.bootMacAddress" in r.body["message"] and "bootMACAddress" in r.body["message"]
    r = server.patch(HOSTS + "/server1?fieldValidation=Warn", {"spec": {"bogus": 1}})
    assert r.status == 200 and "spec.bogus" in r.headers.get("Warning", "")
    assert "bogus" not in r.body["spec"]
    r = server.patch(HOSTS + "/server1?fieldValidation=Ignore", {"spec": {"bogus": 1}})
    assert r.status == 200 and not r.headers.get("Warning")


def test_type_errors_name_the_field(server):
    r = server.patch(HOSTS + "/server1", {"spec": {"online": "yes"}})
    assert r.status == 400 and "spec.online" in r.body["message"] and "boolean" in r.body["message"]


def test_dry_run_changes_nothing(server):
    before = server.get(HOSTS + "/server1").body
    r = server.patch(HOSTS + "/server1?dryRun=All", {"spec": {"image": "localboot"}})
    assert r.status == 200 and r.body["spec"]["image"] == "localboot"
    assert server.get(HOSTS + "/server1").body == before


def test_yaml_bodies(server):
    doc = "apiVersion: v1\nkind: BootConfig\nmetadata:\n  name: yml\nspec:\n  format: custom\n  data:\n    a.txt: hi\n"
    r = server.post("/api/v1/bootconfigs", doc, content_type="application/yaml")
    assert r.status == 201 and r.body["spec"]["data"] == {"a.txt": "hi"}
    r = server.post("/api/v1/bootconfigs", "a: [1,\n", content_type="application/yaml")
    assert r.status == 400 and "YAML" in r.body["message"]


# ---- lists and selectors ---------------------------------------------------------------

def test_label_and_field_selectors(server):
    server.post(HOSTS, host("a1", "52:54:00:00:00:a1", image="localboot") | {"metadata": {"name": "a1", "labels": {"rack": "r1"}}})
    server.post(HOSTS, host("a2", "52:54:00:00:00:a2") | {"metadata": {"name": "a2", "labels": {"rack": "r2"}}})

    def names(q):
        r = server.get("/api/v1/baremetalhosts?" + q)
        assert r.status == 200, r
        return sorted(h["metadata"]["name"] for h in r.body["items"])

    assert names("labelSelector=rack%3Dr1") == ["a1"]
    assert names("labelSelector=rack+in+(r1,r2)") == ["a1", "a2"]
    assert names("labelSelector=!rack") == ["server1"]
    assert names("fieldSelector=spec.image%3Dlocalboot") == ["a1"]
    assert names("fieldSelector=spec.bootMACAddress%3Dac1f6b8aa79c") == ["server1"]
    assert names("fieldSelector=spec.bootConfigRef%3Dcoreos-builder,metadata.namespace%3Ddefault") == ["server1"]
    assert names("fieldSelector=spec.ip%3D192.168.10.10") == ["server1"]
    r = server.get("/api/v1/baremetalhosts?fieldSelector=spec.nope%3D1")
    assert r.status == 400 and "spec.nope" in r.body["message"]


def test_namespaced_list_joins_networks_like_mkube(server):
    server.post("/api/v1/namespaces/lab/baremetalhosts", host("n1", "52:54:00:00:00:b1", network="g10") | {"metadata": {"name": "n1"}})
    assert [h["metadata"]["name"] for h in server.get("/api/v1/namespaces/lab/baremetalhosts").body["items"]] == ["n1"]
    assert [h["metadata"]["name"] for h in server.get("/api/v1/namespaces/g10/baremetalhosts").body["items"]] == ["n1"]


def test_method_not_allowed_and_unknown_paths(server):
    r = server.put("/api/v1/bootconfigs", {})
    assert r.status == 405 and "GET" in r.headers["Allow"]
    assert server.get("/api/v1/baremetalhosts/server1").status == 404
    r = server.request("OPTIONS", "/api/v1/bootconfigs")
    assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] is None


def test_discovery_and_version(server):
    assert server.get("/api").body["versions"] == ["v1"]
    res = {r["name"]: r for r in server.get("/api/v1").body["resources"]}
    assert res["baremetalhosts"]["shortNames"] == ["bmh"] and res["baremetalhosts"]["namespaced"] is True
    assert res["bootconfigs"]["shortNames"] == ["bc"] and res["iscsi-cdroms"]["shortNames"] == ["icd", "iso"]
    assert server.get("/version").body["server"] == "bootgate"
    assert server.get("/healthz").status == 200
    assert server.get("/openapi.json").body["openapi"] == "3.1.0"


# ---- configs are checked by their format's renderer on write ---------------------------

def config(name, fmt, data):
    return {"apiVersion": "v1", "kind": "BootConfig", "metadata": {"name": name}, "spec": {"format": fmt, "data": data}}


def test_invalid_ignition_is_refused_with_every_diagnostic(server):
    bad = '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"etc/x","mode":"0644"}]},"bogus":1}'
    r = server.post("/api/v1/bootconfigs", config("bad-ign", "ignition", {"config.ign": bad}))
    assert r.status == 400, r
    fields = {c["field"] for c in r.body["details"]["causes"]}
    assert {"spec.data[config.ign]#/storage/files/0/path", "spec.data[config.ign]#/storage/files/0/mode", "spec.data[config.ign]#/bogus"} <= fields
    assert server.get("/api/v1/bootconfigs/bad-ign").status == 404


def test_invalid_kickstart_and_unknown_template_variable_name_their_lines(server):
    r = server.post("/api/v1/bootconfigs", config("bad-ks", "kickstart", {"ks.cfg": "lang en_US.UTF-8\nfrobnicate\n%packages\n@core\n"}))
    assert r.status == 400
    fields = {c["field"] for c in r.body["details"]["causes"]}
    assert "spec.data[ks.cfg]:2" in fields and "spec.data[ks.cfg]:3" in fields
    r = server.post("/api/v1/bootconfigs", config("bad-tpl", "kickstart", {"ks.cfg": "lang en_US.UTF-8\nnetwork --hostname={{host.nmae}}\n"}))
    assert r.status == 400 and "host.nmae" in r.body["message"] and r.body["details"]["causes"][0]["field"] == "spec.data[ks.cfg]:2"


def test_a_change_that_breaks_a_config_is_refused_and_changes_nothing(server):
    before = server.get("/api/v1/bootconfigs/fedora-server").body
    r = server.patch("/api/v1/bootconfigs/fedora-server", {"spec": {"data": {"ks.cfg": "%packages\n"}}})
    assert r.status == 400
    assert server.get("/api/v1/bootconfigs/fedora-server").body == before


def test_unknown_format_lists_the_known_ones(server):
    r = server.post("/api/v1/bootconfigs", config("odd", "yaml-magic", {"a": "b"}))
    assert r.status == 400 and "yaml-magic" in r.body["message"] and "ignition" in r.body["message"]


def test_an_external_plugin_adds_a_format():
    import os
    from conftest import ROOT, Server
    s = Server(examples=False, extra=["--plugin-dir", os.path.join(ROOT, "Tests", "PluginsTests", "Fixtures", "plugins")])
    try:
        formats = {r["format"]: r for r in s.get("/api/v1/renderers").body["items"]}
        assert formats["toml"]["source"] == "external"
        assert s.post("/api/v1/bootconfigs", config("t-ok", "toml", {"config.toml": 'name = "x"\n'})).status == 201
        r = s.post("/api/v1/bootconfigs", config("t-bad", "toml", {"config.toml": "name = \n"}))
        assert r.status == 400 and "config.toml" in r.body["message"]
        assert s.get("/healthz").status == 200
    finally:
        s.close()


def test_mkube_refresh_and_subscribers(server):
    r = server.post(HOSTS + "/server1/refresh", b"")
    assert r.status == 200 and r.body == {"message": "refresh requested for server1", "status": "ok"}
    assert "bmh.mkube.io/refresh" in server.get(HOSTS + "/server1").body["metadata"]["annotations"]
    assert server.post(HOSTS + "/nope/refresh", b"").status == 404
    r = server.post("/api/v1/baremetalhosts/refresh", b"")
    assert r.body["hosts"] == ["server1"]
    r = server.post("/api/v1/iscsi-cdroms/baremetalservices/subscribe", {"name": "lab-pc", "initiatorIQN": "iqn.2026-01.lo.lab:pc"})
    assert r.status == 200 and r.body["portalPort"] == 3260
    assert server.post("/api/v1/iscsi-cdroms/baremetalservices/subscribe", {"name": "lab-pc"}).status == 409
    r = server.delete("/api/v1/iscsi-cdroms/baremetalservices")
    assert r.status == 409 and "subscriber lab-pc" in r.body["message"]
    assert server.post("/api/v1/iscsi-cdroms/baremetalservices/unsubscribe", {"name": "lab-pc"}).status == 200
    assert server.post("/api/v1/iscsi-cdroms/baremetalservices/unsubscribe", {"name": "lab-pc"}).status == 404
    assert server.delete("/api/v1/iscsi-cdroms/baremetalservices").status == 200


def test_bmc_passwords_are_sealed_at_rest(server):
    import glob
    import os
    import stat
    secret = "s3cret-at-rest-4711"
    server.post(HOSTS, MKUBE_HOST | {"spec": MKUBE_HOST["spec"] | {"bmc": MKUBE_HOST["spec"]["bmc"] | {"password": secret}}})
    server.patch(HOSTS + "/server7", {"metadata": {"labels": {"a": "b"}}})
    for path in glob.glob(os.path.join(server.data, "bootgate.sqlite*")):
        assert secret.encode() not in open(path, "rb").read(), path
    key = os.path.join(server.data, "secret.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and os.path.getsize(key) == 32
    server.restart()
    assert server.get(HOSTS + "/server7?includeSecrets=true").body["spec"]["bmc"]["password"] == secret


def test_list_bytes_are_the_same_from_the_encoding_cache(server):
    # Lists are assembled from each object's cached encoding (EncodedObjects); the result must
    # be what encoding the whole list gives, follow every change, and never hold a password.
    first = server.get(HOSTS, raw=True)
    second = server.get(HOSTS, raw=True)
    assert first.status == 200 and first.payload == second.payload
    doc = json.loads(first.payload)
    assert first.payload.endswith(b"]}\n") and doc["kind"] == "BareMetalHostList"
    for item in doc["items"]:
        one = server.get(f"{HOSTS}/{item['metadata']['name']}").body
        assert one == item
    name = doc["items"][0]["metadata"]["name"]
    assert server.patch(f"{HOSTS}/{name}", {"metadata": {"labels": {"cache": "fresh"}}}).status == 200
    after = json.loads(server.get(HOSTS, raw=True).payload)
    changed = next(i for i in after["items"] if i["metadata"]["name"] == name)
    assert changed["metadata"]["labels"]["cache"] == "fresh"
    assert int(after["metadata"]["resourceVersion"]) > int(doc["metadata"]["resourceVersion"])
    with_secrets = server.get(HOSTS + "?includeSecrets=true", raw=True).payload
    plain = server.get(HOSTS, raw=True).payload
    assert b'"password"' not in plain
    if b'"password"' in with_secrets:  # the examples give BMC passwords; the plain list must stay without
        assert server.get(HOSTS, raw=True).payload == plain


def test_concurrent_subscribes_are_all_kept(server):
    """Each subscribe is one read-modify-write under the write gate: racing ones all land."""
    iso = "/api/v1/iscsi-cdroms/baremetalservices"
    statuses = []

    def subscribe(i):
        statuses.append(server.post(iso + "/subscribe", {"name": f"racer-{i}"}).status)

    threads = [threading.Thread(target=subscribe, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 16
    names = {s["name"] for s in server.get(iso).body["status"]["subscribers"]}
    assert {f"racer-{i}" for i in range(16)} <= names
    for i in range(16):
        assert server.post(iso + "/unsubscribe", {"name": f"racer-{i}"}).status == 200
