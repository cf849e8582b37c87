"""The boot path over HTTP: /ipxe by MAC, configs by source IP (and trusted X-Forwarded-For),
boot-complete, preview, events."""
import json
import os
import time

import pytest

from conftest import HOSTS, Server, host

IQN = "iqn.2000-02.com.mikrotik:file4"


@pytest.fixture
def boot():
    s = Server(examples=True, extra=["--trusted-proxy", "127.0.0.1/32"])
    s.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": IQN, "phase": "Ready"}})
    yield s
    s.close()


def xff(ip):
    return {"X-Forwarded-For": ip}


@pytest.mark.parametrize("mac", ["AC:1F:6B:8A:A7:9C", "ac-1f-6b-8a-a7-9c", "ac1f6b8aa79c", "ac%3A1f%3A6b%3A8a%3Aa7%3A9c"])
def test_ipxe_sanboots_the_iso_for_any_mac_spelling(boot, mac):
    r = boot.get("/ipxe?mac=" + mac, raw=True)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert r.text == f"#!ipxe\necho Booting coreos-live for server1 (AC:1F:6B:8A:A7:9C)\nsanboot iscsi:127.0.0.1::::{IQN}\n"


def test_ipxe_carries_portal_port_and_lun_from_the_iso_status(boot):
    boot.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"portalIP": "10.0.2.2", "portalPort": 3261, "lun": 1}})
    assert boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text.endswith(f"sanboot iscsi:10.0.2.2::3261:1:{IQN}\n")


def test_ipxe_kernel_method_boots_the_isos_kernel_over_http(boot):
    """`bootgate.io/boot-method: kernel` on the ISO (or the host) boots the ISO's own kernel and
    initrd from its files route, with the ISO's kernel arguments and the config URL."""
    r = boot.patch("/api/v1/iscsi-cdroms/coreos-live", {"metadata": {"annotations": {
        "bootgate.io/boot-method": "kernel", "bootgate.io/kernel-args": "console=ttyS0 coreos.inst.insecure",
        "bootgate.io/initrd": "/images/pxeboot/initrd.img,/images/pxeboot/rootfs.img"}}})
    assert r.status == 200, r
    files = boot.url + "/api/v1/iscsi-cdroms/coreos-live/files?path="
    script = boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text
    assert script == ("#!ipxe\necho Booting coreos-live kernel over HTTP for server1 (AC:1F:6B:8A:A7:9C)\n"
                      f"kernel --name vmlinuz {files}/images/pxeboot/vmlinuz initrd=initrd0 initrd=initrd1 console=ttyS0 "
                      f"coreos.inst.insecure ignition.config.url={boot.url}/api/v1/bootconfig\n"
                      f"initrd --name initrd0 {files}/images/pxeboot/initrd.img\n"
                      f"initrd --name initrd1 {files}/images/pxeboot/rootfs.img\nboot\n"), script
    # The host's annotation wins: this one sanboots the same ISO.
    assert boot.patch(HOSTS + "/server1", {"metadata": {"annotations": {"bootgate.io/boot-method": "sanboot"}}}).status == 200
    assert boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text.endswith(f"sanboot iscsi:127.0.0.1::::{IQN}\n")
    # An unknown method is refused when written, naming the ones there are.
    r = boot.patch(HOSTS + "/server1", {"metadata": {"annotations": {"bootgate.io/boot-method": "pxelinux"}}})
    assert r.status in (400, 422) and 'no boot method \\"pxelinux\\"; known: kernel, local, sanboot' in r.text, r
    # The kernel method of an ISO whose file is not in place is refused at boot with the reason.
    boot.patch(HOSTS + "/server1", {"metadata": {"annotations": {"bootgate.io/boot-method": "kernel"}}})
    boot.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"phase": "Pending"}})
    r = boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True)
    assert "has no file in place yet" in r.text and r.text.endswith("exit 1\n") and "shell" not in r.text, r.text


def test_boot_method_annotations_are_checked_when_written(boot):
    for value in ({"bootgate.io/kernel-args": "a=${net0/mac}"}, {"bootgate.io/kernel": "images/vmlinuz"},
                  {"bootgate.io/initrd": "/a b"}, {"bootgate.io/boot-method": "a#b"}):
        r = boot.patch("/api/v1/iscsi-cdroms/coreos-live", {"metadata": {"annotations": value}})
        assert r.status in (400, 422), (value, r)
        assert "metadata.annotations[" + list(value)[0] + "]" in r.text, r
    assert boot.get("/api/v1/iscsi-cdroms/coreos-live").body["metadata"].get("annotations", {}) == {}


def test_ipxe_local_boot_methods(boot):
    boot.patch(HOSTS + "/server1", {"spec": {"image": "localboot"}})
    assert boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text == "#!ipxe\necho Booting local disk for server1 (AC:1F:6B:8A:A7:9C)\nexit\n"
    boot.patch(HOSTS + "/server1", {"spec": {"localBoot": "sanboot-disk"}})
    assert boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text.endswith("sanboot --no-describe --drive 0x80\n")
    r = boot.patch(HOSTS + "/server1", {"spec": {"localBoot": "reboot"}})
    assert r.status == 400 and "spec.localBoot" in r.body["message"]
    boot.patch(HOSTS + "/server1", {"spec": {"image": None, "localBoot": "exit1"}})
    assert boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text.endswith("exit 1\n")


def test_ipxe_explains_what_is_missing_and_exits(boot):
    r = boot.get("/ipxe?mac=52:54:00:00:00:99", raw=True)
    assert r.status == 200 and "no BareMetalHost has MAC 52:54:00:00:00:99" in r.text
    assert r.text.startswith("#!ipxe\necho ") and r.text.endswith("exit 1\n") and "shell" not in r.text
    boot.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": ""}})
    r = boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True)
    assert "no iSCSI target yet" in r.text and r.text.endswith("exit 1\n")
    events = boot.get("/api/v1/events").body["items"]
    assert [e["type"] for e in events][-2:] == ["ipxe-refused", "ipxe-refused"]


def test_ipxe_malformed_mac_is_400(boot):
    assert boot.get("/ipxe?mac=zz:zz", raw=True).status == 400
    assert boot.get("/ipxe", raw=True).status == 400


def test_ipxe_finds_hosts_by_nic_mac(boot):
    boot.patch(HOSTS + "/server1", {"spec": {"nics": [{"mac": "52:54:00:00:10:01", "role": "data"}]}})
    assert "Booting coreos-live for server1 (52:54:00:00:10:01)" in boot.get("/ipxe?mac=52-54-00-00-10-01", raw=True).text


def test_ipxe_echoes_the_mac_as_the_host_stores_it(boot):
    # The NIC that matched, in its own spelling, whatever the firmware sent.
    boot.patch(HOSTS + "/server1", {"spec": {"nics": [{"mac": "52-54-00-AB-10-01", "role": "data"}]}})
    assert "for server1 (52-54-00-AB-10-01)\n" in boot.get("/ipxe?mac=52:54:00:ab:10:01", raw=True).text
    assert "for server1 (AC:1F:6B:8A:A7:9C)\n" in boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text


def test_chain_script_uses_the_public_url(boot):
    assert boot.get("/boot.ipxe", raw=True).text == f"#!ipxe\nisset ${{ip}} || dhcp\nchain {boot.url}/ipxe?mac=${{netX/mac}}\n"


def test_boots_are_counted(boot):
    for _ in range(3):
        boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True)
    deadline = time.time() + 5
    while time.time() < deadline:
        status = boot.get(HOSTS + "/server1").body["status"]
        if status.get("bootCount") == 3:
            break
        time.sleep(0.1)
    assert status["bootCount"] == 3 and status["lastBoot"].endswith("Z")


def test_config_by_source_ip_rendered_for_the_host(boot):
    r = boot.get("/api/v1/bootconfig", headers=xff("192.168.10.10"), raw=True)
    assert r.status == 200 and r.headers["Content-Type"] == "application/vnd.coreos.ignition+json"
    assert f"-X POST {boot.url}/api/v1/boot-complete" in r.text and "{{" not in r.text
    # The installed system's pointer config, percent-encoded in a data URL, names the config URL.
    assert f"{boot.url}/api/v1/bootconfig" in r.text


def test_config_errors(boot):
    r = boot.get("/api/v1/bootconfig", headers=xff("10.9.9.9"))
    assert r.status == 404 and "no BareMetalHost has IP 10.9.9.9" in r.body["message"]
    # Two hosts cannot share spec.ip (refused at write), but NIC addresses still can collide.
    r = boot.post(HOSTS, host("twin", "52:54:00:00:00:05", ip="192.168.10.10"))
    assert r.status == 409 and "IP 192.168.10.10 is already used by host default/server1" in r.body["message"]
    nic = {"spec": {"nics": [{"mac": "52:54:00:00:10:09", "ip": "10.20.0.9", "role": "data"}]}}
    boot.patch(HOSTS + "/server1", nic)
    boot.post(HOSTS, host("twin", "52:54:00:00:00:05", nics=[{"mac": "52:54:00:00:10:0a", "ip": "10.20.0.9", "role": "data"}]))
    r = boot.get("/api/v1/bootconfig", headers=xff("10.20.0.9"))
    assert r.status == 409 and "default/server1" in r.body["message"] and "default/twin" in r.body["message"]
    boot.delete(HOSTS + "/twin")
    boot.patch(HOSTS + "/server1", {"spec": {"bootConfigRef": None}})
    r = boot.get("/api/v1/bootconfig", headers=xff("192.168.10.10"))
    assert r.status == 404 and "has no bootConfigRef" in r.body["message"]


def test_forwarded_for_is_ignored_from_untrusted_peers():
    s = Server(examples=True)  # no --trusted-proxy
    try:
        r = s.get("/api/v1/bootconfig", headers=xff("192.168.10.10"))
        assert r.status == 404 and "127.0.0.1" in r.body["message"]
    finally:
        s.close()


def test_config_by_nic_ip(boot):
    boot.patch(HOSTS + "/server1", {"spec": {"nics": [{"mac": "52:54:00:00:10:01", "ip": "10.20.0.5", "role": "data"}]}})
    assert boot.get("/api/v1/bootconfig", headers=xff("10.20.0.5"), raw=True).status == 200


def test_several_files_need_a_choice(boot):
    boot.post("/api/v1/bootconfigs", {"metadata": {"name": "multi"}, "spec": {"format": "custom", "data": {"a.txt": "A {{host.name}}", "b.txt": "B"}}})
    boot.patch(HOSTS + "/server1", {"spec": {"image": "localboot", "bootConfigRef": "multi"}})
    r = boot.get("/api/v1/bootconfig", headers=xff("192.168.10.10"))
    assert r.status == 400 and "a.txt, b.txt" in r.body["message"]
    assert boot.get("/api/v1/bootconfig?file=a.txt", headers=xff("192.168.10.10"), raw=True).text == "A server1"
    assert boot.get("/api/v1/bootconfigs/multi/files/b.txt", raw=True).text == "B"


def test_ignition_version_negotiation(boot):
    old = {"Accept": "application/vnd.coreos.ignition+json;version=3.2.0, */*;q=0.1"} | xff("192.168.10.10")
    r = boot.get("/api/v1/bootconfig", headers=old)
    assert r.status == 406 and "3.4.0" in r.body["message"]
    new = {"Accept": "application/vnd.coreos.ignition+json;version=3.6.0, */*;q=0.1"} | xff("192.168.10.10")
    assert boot.get("/api/v1/bootconfig", headers=new, raw=True).status == 200


def test_boot_complete_switches_to_localboot_and_next_config(boot):
    r = boot.post("/api/v1/boot-complete", {"nextBootConfig": "builder-target"}, headers=xff("192.168.10.10"))
    assert r.status == 200 and r.body == {"status": "ok", "host": "server1", "image": "localboot", "bootConfigRef": "builder-target"}
    h = boot.get(HOSTS + "/server1").body
    assert h["spec"]["image"] == "localboot" and h["spec"]["bootConfigRef"] == "builder-target"
    rv = h["metadata"]["resourceVersion"]
    # Idempotent: again changes nothing.
    assert boot.post("/api/v1/boot-complete", {"nextBootConfig": "builder-target"}, headers=xff("192.168.10.10")).status == 200
    assert boot.get(HOSTS + "/server1").body["metadata"]["resourceVersion"] == rv
    assert "Booting local disk" in boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True).text
    # The installed system now gets the post-install config.
    assert '"version"' in boot.get("/api/v1/bootconfig", headers=xff("192.168.10.10"), raw=True).text


def test_boot_complete_uses_the_host_annotation_and_accepts_any_body(boot):
    boot.patch(HOSTS + "/server1", {"metadata": {"annotations": {"bootgate.io/next-boot-config": "builder-target"}}})
    r = boot.request("POST", "/api/v1/boot-complete", b"", content_type="application/x-www-form-urlencoded", headers=xff("192.168.10.10"))
    assert r.status == 200 and r.body["bootConfigRef"] == "builder-target"
    r = boot.post("/api/v1/boot-complete", {"nextBootConfig": "nope"}, headers=xff("192.168.10.10"))
    assert r.status == 400 and "nope" in r.body["message"]
    assert boot.post("/api/v1/boot-complete", {}, headers=xff("10.1.1.1")).status == 404


def test_boot_complete_follows_the_installer_configs_declared_follow_up(boot):
    """The examples' flow: coreos-builder declares builder-target as what follows it, so an
    installer that posts nothing hands the host over to it; a retry changes nothing."""
    bc = boot.get("/api/v1/bootconfigs/coreos-builder").body
    assert bc["metadata"]["annotations"]["bootgate.io/next-boot-config"] == "builder-target"
    r = boot.request("POST", "/api/v1/boot-complete", b"", headers=xff("192.168.10.10"))
    assert r.status == 200 and r.body["bootConfigRef"] == "builder-target" and r.body["image"] == "localboot"
    rv = boot.get(HOSTS + "/server1").body["metadata"]["resourceVersion"]
    assert boot.request("POST", "/api/v1/boot-complete", b"", headers=xff("192.168.10.10")).body["bootConfigRef"] == "builder-target"
    assert boot.get(HOSTS + "/server1").body["metadata"]["resourceVersion"] == rv
    # The installed system's first boot fetches the target config, rendered for it.
    cfg = json.loads(boot.get("/api/v1/bootconfig", headers=xff("192.168.10.10"), raw=True).text)
    assert cfg["storage"]["files"][0]["contents"]["source"] == "data:,server1"
    events = boot.get("/api/v1/events?host=default/server1").body["items"]
    assert [e["detail"] for e in events if e["type"] == "boot-complete"] == [
        "image localboot, bootConfigRef builder-target (config annotation)", "image localboot, bootConfigRef builder-target (repeated)"]


def test_boot_complete_without_a_follow_up_leaves_no_installer_config(boot):
    boot.patch("/api/v1/iscsi-cdroms/fedora-netinst", {"status": {"targetIQN": IQN}})
    boot.patch(HOSTS + "/server1", {"spec": {"image": "fedora-netinst", "bootConfigRef": "fedora-server"}})
    r = boot.post("/api/v1/boot-complete", {}, headers=xff("192.168.10.10"))
    assert r.status == 200 and "bootConfigRef" not in r.body
    h = boot.get(HOSTS + "/server1").body
    assert h["spec"]["image"] == "localboot" and "bootConfigRef" not in h["spec"]
    # Asked for: the host keeps its installer config.
    boot.patch(HOSTS + "/server1", {"spec": {"image": "fedora-netinst", "bootConfigRef": "fedora-server"}})
    r = boot.post("/api/v1/boot-complete", {"nextBootConfig": "fedora-server"}, headers=xff("192.168.10.10"))
    assert r.status == 200 and r.body["bootConfigRef"] == "fedora-server"


def _raw_get(sock, path):
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        body += sock.recv(4096)
    return head, body


def test_a_connection_that_got_the_final_script_is_closed_soon(boot):
    """Firmware never closes the connection it fetched its last script on (it sanboots or exits),
    and a VM rebooting within the idle timeout may reuse the source port: through QEMU's
    user-mode NAT its new SYN then hits the dead connection and times out. bootgate closes such
    a connection after 2 s of silence; a connection that only got the chain script stays open
    for the /ipxe request that follows it."""
    import socket
    host_, port = boot.url.split("//")[1].split(":")
    chain = socket.create_connection((host_, int(port)), timeout=10)
    final = socket.create_connection((host_, int(port)), timeout=10)
    try:
        _raw_get(chain, "/boot.ipxe")
        head, body = _raw_get(final, "/boot.ipxe")
        assert body.startswith(b"#!ipxe\nisset ${ip} || dhcp\n")
        head, body = _raw_get(final, "/ipxe?mac=ac:1f:6b:8a:a7:9c")  # as iPXE: keep-alive, same connection
        assert b"sanboot" in body and b"connection: close" not in head.lower()
        t = time.monotonic()
        final.settimeout(8)
        assert final.recv(1) == b""  # closed by bootgate
        waited = time.monotonic() - t
        assert 1.5 <= waited < 4, waited
        # The chain-only connection is still usable after the same wait.
        head, body = _raw_get(chain, "/ipxe?mac=52:54:00:00:00:99")
        assert body.startswith(b"#!ipxe")
    finally:
        chain.close()
        final.close()


def test_host_tables_that_cannot_boot_are_warned_about(boot):
    boot.post(HOSTS, host("bare", "52:54:00:00:00:41", image="coreos-live", ip="10.0.0.41"))
    r = boot.get(HOSTS + "/bare")
    assert "has no spec.bootConfigRef" in r.headers.get("Warning", "")
    r = boot.post(HOSTS, host("nofile", "52:54:00:00:00:42", image="baremetalservices", ip="10.0.0.42"))
    assert r.status == 201 and "no iSCSI target yet" in r.headers.get("Warning", "")
    assert any("no spec.bootConfigRef" in p for p in boot.get(HOSTS + "/bare/preview").body["problems"])
    v = boot.get("/api/v1/violations").body
    assert v["items"] == []  # nothing breaks a rule
    warned = {i["name"]: i["warnings"] for i in v["warnings"]}
    assert "no spec.bootConfigRef" in warned["bare"][0] and "no iSCSI target yet" in warned["nofile"][0]


def test_preview_shows_what_the_host_would_get_without_recording(boot):
    before = len(boot.get("/api/v1/events").body["items"])
    p = boot.get(HOSTS + "/server1/preview").body
    assert p["ipxe"].startswith("#!ipxe\necho Booting coreos-live for server1")
    assert p["config"]["name"] == "coreos-builder" and p["config"]["file"] == "config.ign" and boot.url in p["config"]["body"]
    assert p["problems"] == []
    assert len(boot.get("/api/v1/events").body["items"]) == before
    boot.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": ""}})
    assert any("no iSCSI target" in x for x in boot.get(HOSTS + "/server1/preview").body["problems"])


def test_events_show_each_phase_with_durations(boot):
    boot.get("/ipxe?mac=ac1f6b8aa79c", raw=True)
    boot.get("/api/v1/bootconfig", headers=xff("192.168.10.10"), raw=True)
    boot.post("/api/v1/boot-complete", {}, headers=xff("192.168.10.10"))
    items = boot.get("/api/v1/events?host=default/server1").body["items"]
    assert [e["type"] for e in items] == ["ipxe", "config", "boot-complete"]
    assert all("secondsSincePrevious" in e for e in items[1:])
    assert items[1]["detail"].startswith("coreos-builder/config.ign")


def test_mkube_compat_endpoints(boot):
    assert boot.get("/api/v1/ipxe/localboot", raw=True).text == "#!ipxe\nexit\n"
    assert boot.get("/api/v1/ipxe/boot", raw=True).text == "#!ipxe\nexit\n"  # 127.0.0.1 is no host
    r = boot.get("/api/v1/ipxe/boot", headers=xff("192.168.10.10"), raw=True)
    assert "sanboot iscsi:127.0.0.1::::" + IQN in r.text
    r = boot.get("/api/v1/bootconfigs/coreos-builder/serve", raw=True)
    assert r.status == 200 and "{{server.bootconfigURL}}" in r.text  # stored, not rendered


def test_renderers_list(boot):
    r = boot.get("/api/v1/renderers").body
    formats = {x["format"]: x for x in r["items"]}
    assert formats["ignition"]["contentType"] == "application/vnd.coreos.ignition+json"
    assert formats["kickstart"]["contentType"] == "text/plain"
    assert "cloud-init" in formats
    assert any(v["name"] == "host.name" for v in r["variables"])
    # The iPXE script renderer is in the registry, with its boot methods.
    assert formats["ipxe"]["source"] == "builtin"
    assert {m["name"]: m["source"] for m in formats["ipxe"]["bootMethods"]} == {"kernel": "builtin", "local": "builtin", "sanboot": "builtin"}


def test_configs_are_checked_for_each_host_when_written_and_at_start(boot):
    """A config can pass for one host and break for another (host values go into it): bootgate
    renders it for each host when the host, the config or its ISO is written, and at start,
    and logs the hosts that would be refused at boot."""
    ign = lambda suffix: json.dumps({"ignition": {"version": "3.4.0"}, "storage": {"files": [
        {"path": "/etc/motd", "contents": {"source": "data:,{{host.annotations.motd}}" + suffix}}]}})
    assert boot.post("/api/v1/bootconfigs", {"apiVersion": "v1", "kind": "BootConfig", "metadata": {"name": "motd"},
                                             "spec": {"format": "ignition", "data": {"config.ign": ign("")}}}).status == 201
    for name, motd in [("m1", "hello%20world"), ("m2", "hello world")]:
        body = host(name, f"52:54:00:00:00:3{name[1]}", ref="motd", ip=f"10.0.0.3{name[1]}")
        body["metadata"]["annotations"] = {"motd": motd}
        assert boot.post(HOSTS, body).status == 201
    warning = "host default/m2 would be refused its config at boot: BootConfig \"motd\" file config.ign cannot be served to host default/m2: config.ign#/storage/files/0/contents/source: source URL contains whitespace; percent-encode it"

    def log():
        with open(os.path.join(boot.data, "server.log"), errors="replace") as f:
            return f.read()

    def warnings_once(count):
        deadline = time.time() + 5
        while time.time() < deadline and log().count(warning) < count:
            time.sleep(0.05)
        assert log().count(warning) == count, log()[-2000:]
        assert "host default/m1 would be refused" not in log()

    warnings_once(1)  # the host's write
    boot.patch("/api/v1/bootconfigs/motd", {"spec": {"data": {"config.ign": ign("!")}}})
    warnings_once(2)  # its config's write
    boot.get("/api/v1/bootconfig", headers=xff("10.0.0.31"))  # a boot writes counters, not inputs
    time.sleep(1)
    warnings_once(2)
    boot.restart()
    warnings_once(3)  # the check at start
