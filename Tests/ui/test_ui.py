"""The web page in a real browser: hosts table, ISO and config dropdowns, refusals, live updates,
reconnect after a restart, ISOs and Configs pages, the token dialog, and the screenshots."""
import os
import time

import pytest
from conftest import SCREENSHOTS, AuthProxy

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

HOSTS = "/api/v1/namespaces/default/baremetalhosts"


def wait_for(condition, timeout=10.0, interval=0.05, message="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as e:  # element not there yet, stale, …
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


def row(browser, key="default/server1"):
    return browser.find_element(By.CSS_SELECTOR, f'tbody[data-host="{key}"]')


def select(browser, name, key="default/server1"):
    return row(browser, key).find_element(By.CSS_SELECTOR, f'select[name="{name}"]')


def value(browser, name, key="default/server1"):
    return select(browser, name, key).get_attribute("value")


def options(browser, name, key="default/server1"):
    return [o.get_attribute("value") for o in select(browser, name, key).find_elements(By.TAG_NAME, "option")]


def live_state(browser):
    return browser.find_element(By.ID, "live").get_attribute("data-state")


def row_error(browser, key="default/server1"):
    err = row(browser, key).find_element(By.CSS_SELECTOR, "tr.row-error")
    return err.text if err.is_displayed() else ""


def open_page(browser, server, route="hosts"):
    browser.get(f"{server.url}/#/{route}")
    wait_for(lambda: live_state(browser) == "live", message="the page to follow the watch streams")


def choose(browser, name, option, key="default/server1"):
    Select(select(browser, name, key)).select_by_value(option)


# --- Hosts table ------------------------------------------------------------------------------

def test_page_loads_with_example_host(browser, server):
    browser.get_log("browser")  # drop what earlier pages logged
    open_page(browser, server)
    wait_for(lambda: value(browser, "image") == "coreos-live", message="server1's ISO")
    r = row(browser)
    assert "server1" in r.text
    assert "AC:1F:6B:8A:A7:9C" in r.text
    assert value(browser, "config") == "coreos-builder"
    # ISO dropdown: every ISCSICdrom plus localboot; Config: only the ISO's bootConfigs.
    assert options(browser, "image") == ["baremetalservices", "coreos-live", "fedora-netinst", "localboot"]
    assert options(browser, "config") == ["", "coreos-builder", "builder-target"]
    headers = [th.text.strip().lower() for th in browser.find_elements(By.CSS_SELECTOR, "table.hosts thead th")]
    # The first column holds the selection checkboxes.
    assert headers == ["", "host", "mac", "iso", "config", "power", "actions", "last boot", "boots"]
    # Every served asset comes from bootgate itself (no CDN).
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(server.url) for u in urls), urls
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_change_iso_and_config(browser, server):
    open_page(browser, server)
    wait_for(lambda: value(browser, "image") == "coreos-live")

    # coreos-builder is not compatible with fedora-netinst: the same PATCH clears it.
    choose(browser, "image", "fedora-netinst")
    wait_for(lambda: server.host("server1")["spec"].get("image") == "fedora-netinst", message="the ISO PATCH")
    assert "bootConfigRef" not in server.host("server1")["spec"]
    wait_for(lambda: options(browser, "config") == ["", "fedora-server", "fedora-builder"], message="filtered configs")
    assert value(browser, "config") == ""

    choose(browser, "config", "fedora-builder")
    wait_for(lambda: server.host("server1")["spec"].get("bootConfigRef") == "fedora-builder", message="the config PATCH")

    # An ISO without bootConfigs: the config dropdown is empty and disabled.
    choose(browser, "image", "baremetalservices")
    wait_for(lambda: server.host("server1")["spec"].get("image") == "baremetalservices")
    assert "bootConfigRef" not in server.host("server1")["spec"]
    wait_for(lambda: not select(browser, "config").is_enabled(), message="a disabled config dropdown")
    assert options(browser, "config") == []

    # localboot: every config; a compatible config survives the next ISO change.
    choose(browser, "image", "localboot")
    wait_for(lambda: options(browser, "config") == ["", "builder-target", "coreos-builder", "fedora-builder", "fedora-server"])
    choose(browser, "config", "builder-target")
    wait_for(lambda: server.host("server1")["spec"].get("bootConfigRef") == "builder-target")
    choose(browser, "image", "coreos-live")
    wait_for(lambda: server.host("server1")["spec"].get("image") == "coreos-live")
    assert server.host("server1")["spec"]["bootConfigRef"] == "builder-target"
    assert value(browser, "config") == "builder-target"
    assert row_error(browser) == ""


def test_keyboard_changes_the_config(browser, server):
    open_page(browser, server)
    wait_for(lambda: value(browser, "config") == "coreos-builder")
    sel = select(browser, "config")
    assert browser.execute_script("return arguments[0].labels.length", sel) == 1
    sel.send_keys(Keys.ARROW_DOWN)  # coreos-builder → builder-target
    wait_for(lambda: server.host("server1")["spec"].get("bootConfigRef") == "builder-target", message="a keyboard change")
    assert browser.switch_to.active_element == select(browser, "config")


def test_refused_choice_shows_server_message(browser, server):
    """A page whose watch is not delivering (here: blocked by DevTools after a server restart)
    still offers builder-target after another client removed it from coreos-live; choosing it is
    refused by the server, the message shows next to the row, and the row returns to the stored value."""
    open_page(browser, server)
    wait_for(lambda: options(browser, "config") == ["", "coreos-builder", "builder-target"])
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*watch=true*"]})
    server.restart()
    wait_for(lambda: live_state(browser) == "reconnecting", message="the page to notice the lost streams")

    status, body = server.patch("/api/v1/iscsi-cdroms/coreos-live", {"spec": {"bootConfigs": ["coreos-builder"]}})
    assert status == 200, body
    assert "builder-target" in options(browser, "config")  # stale on purpose

    choose(browser, "config", "builder-target")
    message = wait_for(lambda: row_error(browser), message="the refusal next to the row")
    assert 'BootConfig "builder-target" is not compatible with ISO "coreos-live"' in message
    assert row(browser).find_element(By.CSS_SELECTOR, "tr.row-error td").get_attribute("role") == "alert"
    wait_for(lambda: value(browser, "config") == "coreos-builder", message="the row to return to the stored value")
    assert server.host("server1")["spec"]["bootConfigRef"] == "coreos-builder"

    # Once the watch gets through again the stale option goes away.
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    wait_for(lambda: live_state(browser) == "live", timeout=15, message="the page to reconnect")
    wait_for(lambda: options(browser, "config") == ["", "coreos-builder"], message="the fresh option list")
    # Dismiss clears the message.
    row(browser).find_element(By.CSS_SELECTOR, "tr.row-error button").click()
    wait_for(lambda: row_error(browser) == "")


def test_change_made_through_api_appears_within_a_second(browser, server):
    open_page(browser, server)
    wait_for(lambda: value(browser, "image") == "coreos-live")
    status, body = server.patch(f"{HOSTS}/server1", {"spec": {"image": "fedora-netinst", "bootConfigRef": "fedora-server"}})
    assert status == 200, body
    start = time.time()
    wait_for(lambda: value(browser, "image") == "fedora-netinst" and value(browser, "config") == "fedora-server",
             timeout=1.0, interval=0.02, message="the REST change in the page within 1 s")
    elapsed = time.time() - start
    assert elapsed < 1.0

    # A host created elsewhere appears in name order; a deleted one goes away.
    for name, mac in [("server10", "AC:1F:6B:00:00:10"), ("server2", "AC:1F:6B:00:00:02")]:
        status, body = server.request("POST", HOSTS, {"metadata": {"name": name},
                                                      "spec": {"bootMACAddress": mac, "image": "localboot"}})
        assert status == 201, body
    wait_for(lambda: [t.get_attribute("data-host") for t in browser.find_elements(By.CSS_SELECTOR, "tbody[data-host]")]
             == ["default/server1", "default/server2", "default/server10"], timeout=1.0, message="new rows in order")
    status, body = server.request("DELETE", f"{HOSTS}/server2")
    assert status == 200, body
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, 'tbody[data-host="default/server2"]')) == 0, timeout=1.0)
    # Status written by others (boot events) shows too.
    server.patch(f"{HOSTS}/server1", {"status": {"lastBoot": "2026-03-04T14:05:39Z", "bootCount": 7, "poweredOn": True}})
    wait_for(lambda: row(browser).find_element(By.CSS_SELECTOR, ".boot-count").text == "7", timeout=1.0)
    assert row(browser).find_element(By.CSS_SELECTOR, ".badge").text == "On"


def test_reconnects_after_server_restart(browser, server):
    open_page(browser, server)
    wait_for(lambda: value(browser, "image") == "coreos-live")
    server.stop()
    wait_for(lambda: live_state(browser) == "reconnecting", message="the page to notice the restart")
    server.start()
    status, body = server.patch(f"{HOSTS}/server1", {"spec": {"image": "localboot", "bootConfigRef": "fedora-builder"}})
    assert status == 200, body
    wait_for(lambda: value(browser, "image") == "localboot" and value(browser, "config") == "fedora-builder",
             timeout=10, message="the change made after the restart")
    # Hosts, ISOs and configs reconnect each on its own backoff (at most 2 s apart).
    wait_for(lambda: live_state(browser) == "live", timeout=5, message="every stream to be live again")


def test_lists_again_after_410_gone(browser, server):
    """A watch answered with 410 Gone (the resourceVersion is no longer kept) makes the page list
    again and watch from the new list; a change made meanwhile shows."""
    proxy = AuthProxy(server.port)
    try:
        browser.get(proxy.url + "/#/hosts")
        wait_for(lambda: live_state(browser) == "live" and value(browser, "image") == "coreos-live")
        hosts = "/api/v1/baremetalhosts"
        proxy.expire_watches([hosts])
        status, body = server.patch(f"{HOSTS}/server1", {"spec": {"image": "fedora-netinst", "bootConfigRef": "fedora-builder"}})
        assert status == 200, body
        wait_for(lambda: value(browser, "image") == "fedora-netinst" and value(browser, "config") == "fedora-builder",
                 message="the change after the re-list")
        wait_for(lambda: live_state(browser) == "live")
        after = proxy.requests[[i for i, (m, p) in enumerate(proxy.requests) if p.startswith(hosts + "?watch=true")][-2]:]
        # Listed again after the 410 (in pages: `?limit=…`).
        assert any(m == "GET" and p.split("?")[0] == hosts and "watch=true" not in p for m, p in after), after
        # …and follows the new watch.
        server.patch(f"{HOSTS}/server1", {"spec": {"bootConfigRef": "fedora-server"}})
        wait_for(lambda: value(browser, "config") == "fedora-server", timeout=1.0)
    finally:
        browser.get("about:blank")
        proxy.close()


def test_power_actions_set_spec_online(browser, server):
    open_page(browser, server)
    r = wait_for(lambda: row(browser))
    r.find_element(By.CSS_SELECTOR, 'button[name="on"]').click()
    wait_for(lambda: server.host("server1")["spec"].get("online") is True, message="online=true")
    wait_for(lambda: not row(browser).find_element(By.CSS_SELECTOR, 'button[name="on"]').is_enabled())
    assert "turning on" in row(browser).text

    row(browser).find_element(By.CSS_SELECTOR, 'button[name="off"]').click()
    alert = wait_for(lambda: browser.switch_to.alert, message="the confirmation")
    assert "Power off default/server1" in alert.text
    alert.accept()
    wait_for(lambda: server.host("server1")["spec"].get("online") is False, message="online=false")

    row(browser).find_element(By.CSS_SELECTOR, 'button[name="restart"]').click()
    wait_for(lambda: browser.switch_to.alert).accept()
    wait_for(lambda: server.host("server1")["spec"].get("online") is True, message="restart: off then on")
    # Cancelling the confirmation changes nothing.
    row(browser).find_element(By.CSS_SELECTOR, 'button[name="off"]').click()
    wait_for(lambda: browser.switch_to.alert).dismiss()
    time.sleep(0.3)
    assert server.host("server1")["spec"].get("online") is True
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text


def test_restart_drives_a_real_bmc(browser):
    """A host behind pyghmi's IPMI BMC on loopback: Restart on the page reaches the BMC through
    bootgate's power controller, and the page shows the new state and when it was read."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
    from bmc_peers import IPMIBmc
    from conftest import Server
    if not os.path.exists("/usr/bin/ipmitool"):
        pytest.skip("ipmitool is not installed (scripts/install-deps.sh test)")
    bmc = IPMIBmc(power="off")
    s = Server(examples=False, power=True, extra=["--power-poll-interval", "1", "--power-timeout", "3"])
    key = "default/rack1"
    try:
        status, body = s.request("POST", HOSTS, {"metadata": {"name": "rack1"}, "spec": {
            "bootMACAddress": "52:54:00:aa:00:01", "bmc": {"address": bmc.address(), "username": "admin", "password": "secret"}}})
        assert status == 201, body
        open_page(browser, s)
        badge = lambda: row(browser, key).find_element(By.CSS_SELECTOR, ".power .badge").text  # noqa: E731
        wait_for(lambda: "read " in row(browser, key).find_element(By.CSS_SELECTOR, ".power-read").text, message="the first power reading")
        assert badge() == "Off"
        row(browser, key).find_element(By.CSS_SELECTOR, 'button[name="restart"]').click()
        alert = wait_for(lambda: browser.switch_to.alert, message="the confirmation")
        assert "Restart default/rack1" in alert.text
        alert.accept()
        wait_for(lambda: bmc.state()["power"] == "on", message="the BMC powered on")
        wait_for(lambda: badge() == "On", message="the page to show On")
        assert s.host("rack1")["spec"]["online"] is True
        assert row(browser, key).find_element(By.CSS_SELECTOR, ".power-error").text == ""
        # Behind bootgate's back the BMC powers off: the page follows within a poll or two.
        bmc.set_power("off")
        wait_for(lambda: badge() == "Off", message="the page to show Off again")
        assert "wanted on" in row(browser, key).text
    finally:
        browser.get("about:blank")
        s.close()
        bmc.close()


# --- ISOs page --------------------------------------------------------------------------------

def iso_box(browser, iso, config):
    return browser.find_element(By.CSS_SELECTOR, f'tbody[data-iso="{iso}"] input[value="{config}"]')


def test_isos_page_edits_boot_configs(browser, server):
    open_page(browser, server, "isos")
    wait_for(lambda: iso_box(browser, "coreos-live", "coreos-builder").is_selected())
    body = browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"]').text
    assert "coreos-live.iso" in body and "Pending" in body and "server1" in body

    iso_box(browser, "coreos-live", "fedora-builder").click()
    wait_for(lambda: server.get("/api/v1/iscsi-cdroms/coreos-live")["spec"]["bootConfigs"]
             == ["coreos-builder", "builder-target", "fedora-builder"], message="the ISO PATCH")

    # server1 uses coreos-builder on coreos-live: removing it is refused (409) with the server's message.
    iso_box(browser, "coreos-live", "coreos-builder").click()
    err = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"] tr.row-error').text,
                   message="the refusal")
    assert "cannot remove configs from ISO" in err and "default/server1" in err
    wait_for(lambda: iso_box(browser, "coreos-live", "coreos-builder").is_selected(), message="the box to return")

    # The target IQN shows when the iSCSI side reports it (live).
    server.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"targetIQN": "iqn.2000-02.com.mikrotik:file1", "phase": "Ready"}})
    wait_for(lambda: "iqn.2000-02.com.mikrotik:file1" in browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"]').text,
             timeout=1.0)

    # And the hosts page offers the newly listed config.
    browser.find_element(By.CSS_SELECTOR, 'nav a[data-route="hosts"]').click()
    wait_for(lambda: options(browser, "config") == ["", "coreos-builder", "builder-target", "fedora-builder"])


def test_isos_page_uploads_an_iso_and_browses_its_files(browser, server, tmp_path):
    import subprocess
    src = tmp_path / "src"
    (src / "images" / "pxeboot").mkdir(parents=True)
    (src / "images" / "pxeboot" / "vmlinuz").write_bytes(b"kernel-bytes\n")
    (src / "isolinux").mkdir()
    (src / "isolinux" / "isolinux.bin").write_bytes(b"\xfa" * 2048)
    (src / "big.bin").write_bytes(b"\0" * (8 << 20))  # enough for the progress bar to move
    iso = tmp_path / "live.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(iso),
                    "-b", "isolinux/isolinux.bin", "-no-emul-boot", str(src)], check=True, capture_output=True)
    open_page(browser, server, "isos")
    tbody = lambda: browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"]')
    wait_for(lambda: "Pending" in tbody().text)
    tbody().find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(iso))
    wait_for(lambda: "stored" in tbody().find_element(By.CSS_SELECTOR, ".upload-text").text, timeout=30, message="the upload")
    status = server.get("/api/v1/iscsi-cdroms/coreos-live")["status"]
    assert status["phase"] == "Ready" and status["isoSize"] == iso.stat().st_size
    text = tbody().text
    assert "Ready" in text and "BIOS" in text and "EFI" not in text
    assert f"sha256 {status['sha256'][:12]}" in text and "MiB" in text
    assert tbody().find_element(By.CSS_SELECTOR, ".sha").get_attribute("title") == status["sha256"]
    # Browse into the ISO; files link to their bytes.
    tbody().find_element(By.CSS_SELECTOR, "button.browse").click()
    wait_for(lambda: "images/" in tbody().find_element(By.CSS_SELECTOR, ".iso-listing").text)
    tbody().find_element(By.XPATH, './/button[text()="images/"]').click()
    wait_for(lambda: "pxeboot/" in tbody().find_element(By.CSS_SELECTOR, ".iso-listing").text)
    tbody().find_element(By.XPATH, './/button[text()="pxeboot/"]').click()
    link = wait_for(lambda: tbody().find_element(By.LINK_TEXT, "vmlinuz"))
    href = link.get_attribute("href")
    assert href.endswith("/api/v1/iscsi-cdroms/coreos-live/files?path=%2Fimages%2Fpxeboot%2Fvmlinuz")
    import urllib.request
    assert urllib.request.urlopen(href).read() == b"kernel-bytes\n"
    assert "coreos-live / images / pxeboot" in tbody().find_element(By.CSS_SELECTOR, "nav.crumbs").text
    # A refused upload shows the server's reason.
    tbody().find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(src / "isolinux" / "isolinux.bin"))
    err = wait_for(lambda: tbody().find_element(By.CSS_SELECTOR, "tr.row-error").text, message="the refusal")
    assert "not an ISO image" in err
    assert server.get("/api/v1/iscsi-cdroms/coreos-live")["status"]["sha256"] == status["sha256"]


# --- Configs page -----------------------------------------------------------------------------

def test_configs_page_shows_files_diagnostics_and_preview(browser, server):
    open_page(browser, server, "configs/fedora-server")
    detail = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".config-detail"))
    wait_for(lambda: "fedora-server" in detail.text and "kickstart" in detail.text)
    assert "ks.cfg" in detail.text and "%packages" in detail.text

    # Edit the file with a mistake: the server refuses and the diagnostics point at the line.
    browser.find_element(By.CSS_SELECTOR, '.file[data-file="ks.cfg"] button[name="edit"]').click()
    area = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, '.file[data-file="ks.cfg"] textarea'))
    original = server.get("/api/v1/bootconfigs/fedora-server")["spec"]["data"]["ks.cfg"]
    browser.execute_script("arguments[0].value = arguments[1]", area,
                           "keyboard us\nbogusdirective --now\n%packages\n@core\n")
    browser.find_element(By.CSS_SELECTOR, '.file[data-file="ks.cfg"] button[name="save"]').click()
    diag = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".diagnostics.bad").text, message="diagnostics")
    assert "line 2" in diag and "bogusdirective" in diag
    assert "%end" in diag
    assert server.get("/api/v1/bootconfigs/fedora-server")["spec"]["data"]["ks.cfg"] == original
    # The line link selects that line in the editor.
    browser.find_element(By.CSS_SELECTOR, ".diagnostics button").click()
    assert browser.execute_script("const t = arguments[0]; return t.value.slice(t.selectionStart, t.selectionEnd)", area) \
        == "bogusdirective --now"

    # Check validates without saving; Save stores.
    browser.execute_script("arguments[0].value = arguments[1]", area, original.replace("timezone UTC", "timezone Europe/Berlin"))
    browser.find_element(By.CSS_SELECTOR, '.file[data-file="ks.cfg"] button[name="check"]').click()
    wait_for(lambda: "Valid" in browser.find_element(By.CSS_SELECTOR, ".diagnostics").text)
    assert server.get("/api/v1/bootconfigs/fedora-server")["spec"]["data"]["ks.cfg"] == original
    browser.find_element(By.CSS_SELECTOR, '.file[data-file="ks.cfg"] button[name="save"]').click()
    wait_for(lambda: "Europe/Berlin" in server.get("/api/v1/bootconfigs/fedora-server")["spec"]["data"]["ks.cfg"])
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".file textarea")) == 0, message="the editor to close")
    assert "Europe/Berlin" in browser.find_element(By.CSS_SELECTOR, '.file[data-file="ks.cfg"] pre').text

    # Preview for a host that uses the config (rendered by the server).
    browser.find_element(By.CSS_SELECTOR, '.config-list a[href="#/configs/coreos-builder"]').click()
    out = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".preview-out").text, message="the preview")
    if "no preview endpoint" in out:
        pytest.skip("this bootgate has no preview endpoint")
    assert Select(browser.find_element(By.ID, "preview-host")).first_selected_option.get_attribute("value") == "default/server1"
    assert "#!ipxe" in out
    wait_for(lambda: "coreos-installer" in browser.find_element(By.CSS_SELECTOR, ".preview-out").text)
    # The {{server.bootconfigURL}} variable is filled in.
    assert "{{" not in browser.find_element(By.CSS_SELECTOR, ".preview-out").text

    # Another config rendered for a host that does not use it (yet): fedora-builder for server1.
    browser.find_element(By.CSS_SELECTOR, '.config-list a[href="#/configs/fedora-builder"]').click()
    wait_for(lambda: "container build host" in browser.find_element(By.CSS_SELECTOR, ".preview-out").text,
             message="fedora-builder rendered for server1")
    text = browser.find_element(By.CSS_SELECTOR, ".preview-out").text
    assert "--hostname=server1" in text and "{{" not in text
    assert "which is served coreos-builder now" in browser.find_element(By.CSS_SELECTOR, ".preview").text


# --- Token ------------------------------------------------------------------------------------

def test_token_dialog_asks_once_and_keeps_the_token(browser, server):
    proxy = AuthProxy(server.port, "s3cret")
    try:
        browser.get(proxy.url + "/#/hosts")
        dialog = wait_for(lambda: browser.find_element(By.ID, "token-dialog"))
        wait_for(lambda: dialog.get_attribute("open") is not None, message="the token dialog")
        assert len(browser.find_elements(By.CSS_SELECTOR, "dialog[open]")) == 1
        field = browser.find_element(By.ID, "token-input")
        assert browser.switch_to.active_element == field
        field.send_keys("s3cret", Keys.ENTER)
        wait_for(lambda: live_state(browser) == "live", message="the page to work with the token")
        wait_for(lambda: value(browser, "image") == "coreos-live")
        assert browser.execute_script("return sessionStorage.getItem('bootgate.token')") == "s3cret"
        refused = proxy.refused
        choose(browser, "config", "builder-target")
        wait_for(lambda: server.host("server1")["spec"].get("bootConfigRef") == "builder-target")
        # A reload in the same tab keeps the token: no dialog, no refused request.
        browser.refresh()
        wait_for(lambda: live_state(browser) == "live")
        assert browser.find_element(By.ID, "token-dialog").get_attribute("open") is None
        assert proxy.refused == refused
    finally:
        browser.get("about:blank")
        proxy.close()


def test_token_dialog_against_a_server_with_tokens(browser, tmp_path):
    """The real check, no proxy: bootgate with a token file asks the page for a token (401),
    the page asks the operator, and an operator token changes a host's config."""
    import json
    import subprocess
    import urllib.request
    from conftest import BINARY, BootgateProcess
    file = tmp_path / "tokens"
    token = subprocess.run([BINARY, "token", "create", "--role", "operator", "--name", "ui", "--file", str(file)],
                           capture_output=True, text=True, check=True).stdout.strip()
    guarded = BootgateProcess(examples=True, extra=["--watch-keepalive", "2", "--token-file", str(file)], prefix="bootgate-ui-")

    def host():
        req = urllib.request.Request(guarded.url + "/api/v1/namespaces/default/baremetalhosts/server1",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    try:
        browser.get(guarded.url + "/#/hosts")
        dialog = wait_for(lambda: browser.find_element(By.ID, "token-dialog"))
        wait_for(lambda: dialog.get_attribute("open") is not None, message="the token dialog")
        browser.find_element(By.ID, "token-input").send_keys(token, Keys.ENTER)
        wait_for(lambda: live_state(browser) == "live", message="the page to work with the token")
        wait_for(lambda: value(browser, "image") == "coreos-live")
        choose(browser, "config", "builder-target")
        wait_for(lambda: host()["spec"].get("bootConfigRef") == "builder-target", message="the operator's change")
    finally:
        browser.get("about:blank")
        guarded.close()


# --- Screenshots ------------------------------------------------------------------------------

def populate(server):
    """A small lab for the screenshots, written through the REST API."""
    hosts = [
        ("server2", "AC:1F:6B:8A:A7:A0", "192.168.10.11", "localboot", "builder-target", True, "2026-03-04T09:12:00Z", 4),
        ("server3", "AC:1F:6B:8A:A7:A4", "192.168.10.12", "fedora-netinst", "fedora-server", False, "2026-03-03T17:40:00Z", 2),
        ("server4", "AC:1F:6B:8A:A7:A8", "192.168.10.13", "baremetalservices", None, True, "2026-03-04T10:02:00Z", 11),
    ]
    for name, mac, ip, image, ref, powered, last, count in hosts:
        spec = {"bootMACAddress": mac, "ip": ip, "image": image, "online": powered}
        if ref:
            spec["bootConfigRef"] = ref
        status, body = server.request("POST", HOSTS, {"metadata": {"name": name}, "spec": spec})
        assert status == 201, body
        server.patch(f"{HOSTS}/{name}", {"status": {"poweredOn": powered, "lastBoot": last, "bootCount": count}})
    server.patch(f"{HOSTS}/server1", {"status": {"lastBoot": "2026-03-04T08:30:00Z", "bootCount": 1}})
    for n, (iso, phase) in enumerate([("coreos-live", "Ready"), ("fedora-netinst", "Ready"), ("baremetalservices", "Ready")], 1):
        server.patch(f"/api/v1/iscsi-cdroms/{iso}", {"status": {
            "phase": phase, "targetIQN": f"iqn.2000-02.com.mikrotik:file{n}", "isoSize": 700 * n << 20,
            "sha256": f"{n}" * 64, "uploadedAt": f"2026-03-0{n}T09:00:00.000Z",
            "bootEntries": [{"platform": "bios", "emulation": "none", "bootable": True}]
            + ([{"platform": "efi", "emulation": "none", "bootable": True}] if n != 3 else [])}})


def test_screenshots(browser, server):
    populate(server)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    shots = []
    for width, height, tag in [(1280, 860, "wide"), (400, 860, "phone")]:
        browser.set_window_size(width, height)
        for page in ["hosts", "isos", "configs/coreos-builder", "host/default/server1"]:
            open_page(browser, server, page)
            name = page.split("/")[0]
            if name == "host":
                wait_for(lambda: "#!ipxe" in browser.find_element(By.CSS_SELECTOR, ".preview-out").text)
            elif name == "hosts":
                wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "tbody[data-host]")) == 4)
            elif name == "isos":
                wait_for(lambda: "file3" in browser.find_element(By.CSS_SELECTOR, "table.isos").text)
            else:
                wait_for(lambda: "#!ipxe" in browser.find_element(By.CSS_SELECTOR, ".preview-out").text
                         or "no preview" in browser.find_element(By.CSS_SELECTOR, ".preview-out").text)
            browser.execute_script("document.activeElement && document.activeElement.blur()")
            if name in ("configs", "host"):  # the whole page: files or facts, and the rendered preview
                full = browser.execute_script("return document.documentElement.scrollHeight")
                browser.set_window_size(width, min(full + 20, 2600))
            time.sleep(0.2)
            path = os.path.join(SCREENSHOTS, f"{name}-{tag}.png")
            assert browser.save_screenshot(path)
            shots.append(path)
            # Readable: nothing wider than the window.
            overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} at {width}px overflows by {overflow}px"
            browser.set_window_size(width, height)
    assert all(os.path.getsize(p) > 10000 for p in shots)
