"""BMC power (issue 16) against real protocol peers on loopback: pyghmi's IPMI BMC (driven by
Debian's ipmitool from bootgate) and sushy-tools' Redfish emulator with its fake driver.
No traffic leaves 127.0.0.1: every host here names an emulator's loopback port."""
import os
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from bmc_peers import IPMIBmc, RedfishBmc, free_udp_port  # noqa: E402
from conftest import HOSTS, Server  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/ipmitool"), reason="ipmitool is not installed (scripts/install-deps.sh test)")

# The BMC call timeout is roomy: sushy-tools is a Python process that a busy CI machine (QEMU
# boots in the other lane) can hold up for seconds. The silent-BMC test sets its own, short one.
POLL = ["--power-poll-interval", "1", "--power-timeout", "10"]


def wait_for(fn, timeout=45, step=0.1, what="condition", explain=None):
    """Returns fn()'s first true value. The deadline only bounds a failure; nothing waits longer."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    extra = f"; {explain()!r}" if explain else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}{extra}")


def power_server_with(*extra):
    s = Server(examples=False, extra=list(extra), power=True)
    yield s
    s.close()


@pytest.fixture
def power_server():
    yield from power_server_with(*POLL)


@pytest.fixture
def impatient_server():
    yield from power_server_with("--power-poll-interval", "1", "--power-timeout", "3")


@pytest.fixture
def ipmi():
    b = IPMIBmc()
    yield b
    b.close()


@pytest.fixture
def redfish():
    b = RedfishBmc(systems=2)
    yield b
    b.close()


def add_host(server, name, address, password="secret", user="admin", **spec):
    body = {"metadata": {"name": name}, "spec": {"bootMACAddress": "52:54:00:12:34:%02x" % (sum(map(ord, name)) % 256),
                                                 "bmc": {"address": address, "username": user, "password": password}, **spec}}
    r = server.post(HOSTS, body)
    assert r.status == 201, r
    return r.body


def get_host(server, name):
    return server.get(f"{HOSTS}/{name}").body


def power(server, name, action):
    r = server.post(f"{HOSTS}/{name}/power", {"action": action})
    assert r.status == 202, r
    return r.body


def rpc(server, method, **params):
    r = server.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert r.status == 200, r
    assert "error" not in r.body, r.body
    return r.body["result"]


def condition(host):
    for c in host.get("status", {}).get("conditions", []):
        if c["type"] == "BMCConnected":
            return c
    return None


def events(server, name, type_prefix="power"):
    items = server.get(f"/api/v1/events?host=default/{name}").body["items"]
    return [e for e in items if e["type"].startswith(type_prefix)]


def reading(server, name):
    return server.get(f"{HOSTS}/{name}/power").body


# --- actions reach the BMC ---------------------------------------------------------------

def test_ipmi_on_off_restart_over_rest_and_jsonrpc(power_server, ipmi):
    s = power_server
    add_host(s, "h1", ipmi.address(scheme=False))  # a bare address is IPMI, as in mkube
    wait_for(lambda: reading(s, "h1").get("poweredOn") is False, what="first read")
    assert reading(s, "h1")["protocol"] == "IPMI"

    answer = power(s, "h1", "on")
    assert answer["powerControl"] is True and answer["action"] == "on"
    wait_for(lambda: ipmi.state()["power"] == "on", what="BMC on")
    wait_for(lambda: get_host(s, "h1")["status"]["poweredOn"] is True, what="status on")
    assert get_host(s, "h1")["spec"]["online"] is True

    result = rpc(s, "baremetalhosts.power", namespace="default", name="h1", body={"action": "off"})
    assert result["action"] == "off"
    wait_for(lambda: ipmi.state()["power"] == "off", what="BMC off")
    wait_for(lambda: get_host(s, "h1")["status"]["poweredOn"] is False, what="status off")
    assert get_host(s, "h1")["spec"]["online"] is False

    # Restart of a host that is off powers it on and leaves it wanted on, once.
    ipmi.clear()
    power(s, "h1", "restart")
    wait_for(lambda: ipmi.state()["power"] == "on", what="restart from off")
    time.sleep(1.5)
    assert ipmi.state()["commands"].count("on") == 1, ipmi.state()["commands"]
    assert get_host(s, "h1")["spec"]["online"] is True
    # Restart of a host that is on is a reset.
    rpc(s, "baremetalhosts.power", namespace="default", name="h1", body={"action": "restart"})
    wait_for(lambda: ipmi.state()["resets"] == 1, what="reset")
    details = [e["detail"] for e in events(s, "h1")]
    assert any(d.startswith("on over IPMI") and "powered on" in d for d in details), details
    assert any(d.startswith("off over IPMI") and "powered off" in d for d in details), details
    assert any(d.startswith("restart over IPMI") and d.endswith("reset") for d in details), details
    assert condition(get_host(s, "h1"))["status"] == "True"


def test_redfish_on_off_restart(power_server, redfish):
    s = power_server
    add_host(s, "r1", redfish.address(0))
    wait_for(lambda: reading(s, "r1").get("poweredOn") is False, what="first read")
    assert reading(s, "r1")["protocol"] == "Redfish"
    redfish.clear()
    rpc(s, "baremetalhosts.power", namespace="default", name="r1", body={"action": "on"})
    wait_for(lambda: redfish.power_state(0) == "On", what="Redfish on")
    resets = lambda: [r["body"]["ResetType"] for r in redfish.side()["requests"] if r["path"].endswith("ComputerSystem.Reset")]  # noqa: E731
    assert resets() == ["On"]
    power(s, "r1", "restart")
    wait_for(lambda: "ForceRestart" in resets(), what="ForceRestart")
    power(s, "r1", "off")
    wait_for(lambda: "ForceOff" in resets(), what="ForceOff")
    wait_for(lambda: get_host(s, "r1")["status"]["poweredOn"] is False, what="status off")
    assert all(r["authorized"] for r in redfish.side()["requests"])
    # The other system on that BMC was never touched.
    assert redfish.power_state(1) == "Off"


def test_status_follows_the_bmc_and_writes_only_changes(power_server, ipmi):
    s = power_server
    add_host(s, "h2", ipmi.address())
    wait_for(lambda: condition(get_host(s, "h2")), what="condition")
    first = reading(s, "h2")
    # Behind bootgate's back: someone powers the host on at its BMC.
    ipmi.set_power("on")
    wait_for(lambda: get_host(s, "h2")["status"]["poweredOn"] is True, what="poll sees on")
    rv = get_host(s, "h2")["metadata"]["resourceVersion"]
    time.sleep(3.5)  # three more rounds of polling, nothing changed
    assert get_host(s, "h2")["metadata"]["resourceVersion"] == rv
    later = reading(s, "h2")
    assert later["readAt"] > first["readAt"] and later["poweredOn"] is True and later["error"] is None
    ipmi.set_power("off")
    wait_for(lambda: get_host(s, "h2")["status"]["poweredOn"] is False, what="poll sees off")
    # A host powered off at its BMC is not fought: spec.online was never set, nothing acts.
    assert "on" not in ipmi.state()["commands"]
    all_readings = s.get("/api/v1/baremetalhosts/power").body
    assert all_readings["powerControl"] is True
    assert [i["host"] for i in all_readings["items"]] == ["default/h2"]


def test_on_for_a_host_wanted_on_but_off_at_its_bmc_powers_it_on(power_server, ipmi):
    """spec.online is already true, so "on" changes nothing there: it is a power request
    (the bootgate.io/power-request annotation), acted on once."""
    s = power_server
    add_host(s, "h3", ipmi.address(), online=True)
    wait_for(lambda: get_host(s, "h3")["status"].get("poweredOn") is False, what="first read: off")
    ipmi.clear()
    power(s, "h3", "on")
    wait_for(lambda: ipmi.state()["power"] == "on", what="BMC on", explain=lambda: events(s, "h3"))
    time.sleep(1.5)
    assert ipmi.state()["commands"].count("on") == 1, ipmi.state()["commands"]
    assert get_host(s, "h3")["metadata"]["annotations"]["bootgate.io/power-request"].startswith("on/")


def test_a_request_no_replica_answered_is_done_at_the_next_start_once(ipmi):
    """A power request stored while nothing drove the BMCs (the leader had died, or bootgate
    was stopped before it acted) is done when power control starts, once; one too old is
    dropped with an event; an answered one is not done again at a restart."""
    s = Server(examples=False, extra=POLL, power=False)
    try:
        add_host(s, "late", ipmi.address())
        add_host(s, "stale", ipmi.address())
        now_ms = int(time.time() * 1000)
        for name, made in (("late", now_ms), ("stale", now_ms - 3_600_000)):
            r = s.patch(f"{HOSTS}/{name}", {"metadata": {"annotations": {"bootgate.io/power-request": f"on/{made}-0badc0de"}}})
            assert r.status == 200, r
        s.stop()
        ipmi.clear()
        s.extra = [a for a in s.extra if a not in ("--power-control", "false")]
        s.start()
        wait_for(lambda: "on" in ipmi.state()["commands"], what="the late request done", explain=lambda: events(s, "late"))
        done = lambda name: get_host(s, name)["metadata"]["annotations"].get("bootgate.io/power-request-done")
        wait_for(lambda: done("late") == f"on/{now_ms}-0badc0de", what="the late request noted as answered")
        wait_for(lambda: done("stale"), what="the stale request noted as answered")
        assert any("dropped" in e["detail"] for e in events(s, "stale")), events(s, "stale")
        time.sleep(1.5)
        assert ipmi.state()["commands"].count("on") == 1, ipmi.state()["commands"]

        # Answered: a restart does not do it again.
        s.restart()
        time.sleep(3)
        assert ipmi.state()["commands"].count("on") == 1, ipmi.state()["commands"]
    finally:
        s.close()


# --- one-shot network boot into an install image ------------------------------------------

def test_one_shot_pxe_before_power_on_into_an_install_image(power_server, ipmi, redfish):
    s = power_server
    assert s.post("/api/v1/iscsi-cdroms", {"metadata": {"name": "fedora"}, "spec": {"isoFile": "fedora.iso", "readOnly": True}}).status == 201
    add_host(s, "uefi", ipmi.address(), image="fedora", firmware="uefi")
    power(s, "uefi", "on")
    wait_for(lambda: ipmi.state()["power"] == "on", what="on")
    st = ipmi.state()
    assert st["bootOptions"][-1] == {"device": "pxe", "efi": True, "persistent": False, "valid": True}
    assert st["commands"].index("bootdev") < st["commands"].index("on")
    assert any("next boot from the network, once (UEFI)" in e["detail"] for e in events(s, "uefi"))

    # The same BMC, now a BIOS host restarting into the ISO: one-shot, no EFI bit.
    ipmi.clear()
    s.patch(f"{HOSTS}/uefi", {"spec": {"firmware": "bios"}})
    power(s, "uefi", "restart")
    wait_for(lambda: "reset" in ipmi.state()["commands"], what="reset")
    st = ipmi.state()
    assert st["bootOptions"][-1] == {"device": "pxe", "efi": False, "persistent": False, "valid": True}
    assert st["commands"].index("bootdev") < st["commands"].index("reset")

    # localboot: no boot override at all.
    ipmi.clear()
    s.patch(f"{HOSTS}/uefi", {"spec": {"image": "localboot"}})
    power(s, "uefi", "restart")
    wait_for(lambda: "reset" in ipmi.state()["commands"], what="reset")
    assert ipmi.state()["bootOptions"] == []

    # Redfish: BootSourceOverrideEnabled Once, target Pxe, mode UEFI, before the reset.
    add_host(s, "rf", redfish.address(1), image="fedora", firmware="uefi")
    redfish.clear()
    power(s, "rf", "on")
    wait_for(lambda: redfish.power_state(1) == "On", what="Redfish on", explain=lambda: events(s, "rf"))
    reqs = [r for r in redfish.side()["requests"] if r["method"] in ("PATCH", "POST")]
    assert reqs[0]["method"] == "PATCH"
    assert reqs[0]["body"] == {"Boot": {"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "Pxe", "BootSourceOverrideMode": "UEFI"}}
    assert reqs[1]["body"] == {"ResetType": "On"}


# --- failures ------------------------------------------------------------------------------

def test_a_bmc_that_does_not_answer(impatient_server, ipmi):
    s = impatient_server
    # A bound UDP socket that never answers: the BMC's address is there, nothing speaks.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        add_host(s, "silent", f"127.0.0.1:{silent.getsockname()[1]}")
        add_host(s, "fine", ipmi.address())
        c = wait_for(lambda: condition(get_host(s, "silent")), timeout=20, what="condition on the silent host")
        assert c["status"] == "False" and c["reason"] == "Unreachable", c
        assert "no answer" in c["message"] and c["lastTransitionTime"]
        assert reading(s, "silent")["error"]["reason"] == "Unreachable"
        # The other host is read on every round meanwhile, not held behind the silent one.
        fine = condition(get_host(s, "fine"))
        assert fine["status"] == "True"
        t0 = reading(s, "fine")["readAt"]
        wait_for(lambda: reading(s, "fine")["readAt"] > t0, timeout=15, what="the fine host read again")
        # An action on the silent host fails with an event, and the fine host still acts.
        power(s, "silent", "on")
        power(s, "fine", "on")
        wait_for(lambda: ipmi.state()["power"] == "on", timeout=15, what="the fine host on")
        failed = wait_for(lambda: events(s, "silent", "power-failed"), timeout=20, what="power-failed event")
        assert "on failed" in failed[-1]["detail"] and "no answer" in failed[-1]["detail"]
    finally:
        silent.close()


def test_wrong_credentials_never_show_the_password(power_server, ipmi, redfish):
    s = power_server
    secret = "Hunter2-not-the-password"
    add_host(s, "badipmi", ipmi.address(), password=secret)
    add_host(s, "badrf", redfish.address(0), password=secret)
    for name in ("badipmi", "badrf"):
        c = wait_for(lambda: condition(get_host(s, name)), what=f"condition on {name}")
        assert c["status"] == "False" and c["reason"] == "AuthenticationFailed", c
        assert "refused the credentials" in c["message"]
        power(s, name, "on")
    wait_for(lambda: events(s, "badipmi", "power-failed") and events(s, "badrf", "power-failed"), what="failed actions")
    assert ipmi.state()["power"] == "off" and redfish.power_state(0) == "Off"
    seen = [s.get(HOSTS).text, s.get(f"{HOSTS}/badipmi").text, s.get("/api/v1/baremetalhosts/power").text,
            s.get("/api/v1/events").text, s.get(f"{HOSTS}/badrf/power").text,
            s.post("/rpc", {"jsonrpc": "2.0", "id": 1, "method": "baremetalhosts.get", "params": {"namespace": "default", "name": "badrf"}}).text]
    s.stop()  # the whole log, flushed
    seen.append(open(os.path.join(s.data, "server.log"), errors="replace").read())
    for text in seen:
        assert secret not in text
    # Stored sealed, too.
    import glob
    for path in glob.glob(os.path.join(s.data, "*")):
        if os.path.isfile(path):
            assert secret.encode() not in open(path, "rb").read(), path


def test_a_power_action_during_a_restart(power_server, ipmi):
    s = power_server
    add_host(s, "busy", ipmi.address())
    power(s, "busy", "on")
    wait_for(lambda: get_host(s, "busy")["status"]["poweredOn"] is True, what="on")
    # Each power on/off/reset now takes 0.6 s at the BMC (under ipmitool's 2 s retransmission
    # interval at this deadline: a slower answer gets the command sent, and done, twice).
    ipmi.set_delay(0.6)
    ipmi.clear()
    power(s, "busy", "restart")
    wait_for(lambda: reading(s, "busy")["action"] == "restart", timeout=5, what="restart running")
    # Off arrives while the restart is still at the BMC: it waits its turn, then wins.
    power(s, "busy", "off")
    assert get_host(s, "busy")["spec"]["online"] is False
    wait_for(lambda: ipmi.state()["power"] == "off", timeout=20, what="off after the restart")
    cmds = [c for c in ipmi.state()["commands"] if c != "status"]
    # On a loaded machine the emulated BMC can answer after ipmitool's retransmission interval,
    # and the transport sends the same command again; the order bootgate chose is what counts.
    sent = [c for i, c in enumerate(cmds) if i == 0 or c != cmds[i - 1]]
    assert sent == ["reset", "off"], ipmi.state()["commands"]
    wait_for(lambda: reading(s, "busy")["action"] is None, timeout=10, what="lane idle")
    wait_for(lambda: get_host(s, "busy")["status"]["poweredOn"] is False, timeout=10, what="status off")
    details = [e["detail"] for e in events(s, "busy")]
    assert details[-2].startswith("restart over IPMI") and details[-1].startswith("off over IPMI"), details


def test_200_hosts_against_a_slow_bmc_are_polled_with_bounded_concurrency():
    bound, hosts = 16, 200
    bmc = RedfishBmc(systems=hosts, delay=0.25)
    s = Server(examples=False, extra=["--power-poll-interval", "1", "--power-timeout", "5", "--power-concurrency", str(bound)], power=True)
    try:
        for i in range(hosts):
            r = s.post(HOSTS, {"metadata": {"name": f"n{i:03d}"}, "spec": {"bootMACAddress": "52:54:01:00:%02x:%02x" % (i >> 8, i & 255),
                                                                           "bmc": {"address": bmc.address(i), "username": "admin", "password": "secret"}}})
            assert r.status == 201
        bmc.clear()
        started = time.time()
        # Every host gets a state read after this point within a bound: 200 × 0.25 s / 16 ≈ 3.2 s a
        # round, plus the wait between rounds; one host at a time would take 50 s.
        def all_read():
            items = s.get("/api/v1/baremetalhosts/power").body["items"]
            fresh = [i for i in items if i["poweredOn"] is False and i["error"] is None and i["readAt"] and i["readAt"] >= stamp]
            return len(fresh) == hosts
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started))
        wait_for(all_read, timeout=20, step=0.5, what="200 fresh readings")
        elapsed = time.time() - started
        side = bmc.side()
        print(f"200 hosts: every one read within {elapsed:.1f}s, at most {side['maxInFlight']} requests in flight")
        assert side["maxInFlight"] <= bound, side["maxInFlight"]
        assert side["maxInFlight"] >= bound * 3 // 4, side["maxInFlight"]  # it really is concurrent
        assert elapsed < 15, elapsed
        hosts_json = s.get(HOSTS).body["items"]
        assert all(condition(h)["status"] == "True" and h["status"]["poweredOn"] is False for h in hosts_json)
    finally:
        s.close()
        bmc.close()


def test_200_hosts_against_a_slow_ipmi_bmc_are_polled_with_bounded_concurrency():
    """The same over IPMI: 200 hosts on one pyghmi BMC that takes 40 ms per power status (and
    serves one request at a time, as small BMCs do): never more than 16 RMCP+ sessions open."""
    bound, hosts = 16, 200
    bmc = IPMIBmc()
    bmc.set_delay(status=0.04)
    s = Server(examples=False, extra=["--power-poll-interval", "1", "--power-timeout", "10", "--power-concurrency", str(bound)], power=True)
    try:
        for i in range(hosts):
            r = s.post(HOSTS, {"metadata": {"name": f"i{i:03d}"}, "spec": {"bootMACAddress": "52:54:02:00:%02x:%02x" % (i >> 8, i & 255),
                                                                           "bmc": {"address": bmc.address(), "username": "admin", "password": "secret"}}})
            assert r.status == 201
        bmc.clear()
        started = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started))

        def all_read():
            items = s.get("/api/v1/baremetalhosts/power").body["items"]
            return sum(1 for i in items if i["poweredOn"] is False and i["error"] is None and (i["readAt"] or "") >= stamp) == hosts
        wait_for(all_read, timeout=45, step=0.5, what="200 fresh readings over IPMI")
        elapsed = time.time() - started
        st = bmc.state()
        print(f"200 IPMI hosts: every one read within {elapsed:.1f}s, at most {st['maxSessions']} sessions open")
        assert st["maxSessions"] <= bound, st["maxSessions"]
        assert st["maxSessions"] >= bound // 2, st["maxSessions"]
    finally:
        s.close()
        bmc.close()


# --- API shape and settings ------------------------------------------------------------------

def test_power_requests_are_checked(power_server):
    s = power_server
    s.post(HOSTS, {"metadata": {"name": "nobmc"}, "spec": {"bootMACAddress": "52:54:00:00:00:99"}})
    r = s.post(f"{HOSTS}/nobmc/power", {"action": "reboot"})
    assert r.status == 400 and "on, off, restart" in r.body["message"]
    r = s.post(f"{HOSTS}/nobmc/power", {"action": "restart"})
    assert r.status == 400 and "no spec.bmc.address" in r.body["message"]
    assert s.post(f"{HOSTS}/missing/power", {"action": "on"}).status == 404
    # On without a BMC only records the wish.
    assert power(s, "nobmc", "on")["powerControl"] is True
    assert get_host(s, "nobmc")["spec"]["online"] is True
    r = s.post(f"{HOSTS}/nobmc/power", {"action": "on", "extra": 1})
    assert r.status == 202
    bad = s.patch(f"{HOSTS}/nobmc", {"spec": {"firmware": "efi"}})
    assert bad.status == 422 or bad.status == 400, bad


def test_power_control_off_only_writes_spec_online(ipmi):
    s = Server(examples=False, extra=POLL)  # power=False: --power-control false
    try:
        add_host(s, "h", ipmi.address())
        assert power(s, "h", "on")["powerControl"] is False
        assert get_host(s, "h")["spec"]["online"] is True
        answer = power(s, "h", "restart")
        assert "power control is off" in answer["message"]
        assert get_host(s, "h")["spec"]["online"] is True
        time.sleep(2)
        assert ipmi.state()["commands"] == []  # no BMC traffic at all
        assert s.get("/api/v1/baremetalhosts/power").body == {"powerControl": False, "items": []}
    finally:
        s.close()


def test_redfish_over_https_with_a_self_signed_certificate(power_server):
    bmc = RedfishBmc(systems=1, tls=True)
    try:
        s = power_server
        add_host(s, "tls-checked", bmc.address(0, scheme="redfish"))
        add_host(s, "tls-trusting", bmc.address(0, scheme="redfish+https"), password="secret")
        s.patch(f"{HOSTS}/tls-trusting", {"spec": {"bmc": {"disableCertificateVerification": True}}})
        c = wait_for(lambda: condition(get_host(s, "tls-checked")), what="condition")
        assert c["status"] == "False" and "TLS" in c["message"], c
        wait_for(lambda: (condition(get_host(s, "tls-trusting")) or {}).get("status") == "True", what="trusting host reads")
        assert reading(s, "tls-trusting")["poweredOn"] is False
    finally:
        bmc.close()
