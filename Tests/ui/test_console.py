"""The console at rack scale (issue 19) in a real browser: search, filters, sort and pages over
10,000 hosts, bulk actions with one summary of refusals, a refusal naming thousands of hosts
summarized with a link, the host page (spec, warnings, preview, boot timeline), and creating,
editing and deleting hosts, configs and ISOs with the server's diagnostics at their field.

The 10,000 hosts are a generated manifest that bootgate loads at start (`--examples DIR`), the
quickest way to a store that size (about 10 s for a debug build). The first paint and a filter
keystroke are measured and printed (run with `-s`); the figures go to docs/benchmarks.md. The
tests assert behaviour and structural costs (rows in the DOM), never speed."""
import json
import os
import shutil
import sys
import time
import urllib.request

import pytest
from conftest import ROOT, Server
from test_ui import HOSTS, live_state, wait_for

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

N = 10000
NAMESPACES = ["default", "lab-a", "lab-b"]
ISOS = ["coreos-live", "fedora-netinst", "baremetalservices", "localboot"]
CONFIG_OF = {"coreos-live": "coreos-builder", "fedora-netinst": "fedora-server"}


def generated(i):
    """Host i of the 10,000: namespace, ISO and config by i, 40 hosts a rack, unique MAC and IP."""
    iso = ISOS[i % 4]
    spec = {"bootMACAddress": "02:00:%02X:%02X:%02X:%02X" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255),
            "ip": "10.%d.%d.%d" % (i // 65536, (i // 256) % 256, i % 256), "image": iso}
    if iso in CONFIG_OF:
        spec["bootConfigRef"] = CONFIG_OF[iso]
    return {"apiVersion": "v1", "kind": "BareMetalHost",
            "metadata": {"name": "node%05d" % i, "namespace": NAMESPACES[i % 3], "labels": {"rack": "r%03d" % (i // 40)}},
            "spec": spec}


def count_text(browser):
    return browser.find_element(By.ID, "host-count").text


def rows(browser):
    return browser.find_elements(By.CSS_SELECTOR, "table.hosts tbody[data-host]")


def row_keys(browser):
    return [t.get_attribute("data-host") for t in rows(browser)]


def search(browser, text):
    """Types into the search box the way a keystroke does (one input event) and returns the ms
    the page took to filter and redraw (measured in the page, up to the next frame)."""
    return browser.execute_async_script("""
        const [text, done] = arguments;
        const box = document.getElementById('host-search');
        const t0 = performance.now();
        box.value = text;
        box.dispatchEvent(new Event('input', {bubbles: true}));
        const t1 = performance.now();
        requestAnimationFrame(() => setTimeout(() => done([t1 - t0, performance.now() - t0]), 0));
    """, text)


def click(browser, css, timeout=10):
    """Clicks the element `css` names, finding it again if the page redrew it meanwhile."""
    def attempt():
        browser.find_element(By.CSS_SELECTOR, css).click()
        return True
    wait_for(attempt, timeout=timeout, message=f"a click on {css}")


def choose_filter(browser, name, value):
    Select(browser.find_element(By.ID, f"filter-{name}")).select_by_value(value)


# --- 10,000 hosts ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big(tmp_path_factory):
    from conftest import BINARY
    if not os.access(BINARY, os.X_OK):
        pytest.skip(f"no bootgate binary at {BINARY}")
    folder = tmp_path_factory.mktemp("rack")
    for name in ["bootconfigs.yaml", "iscsi-cdroms.yaml"]:
        shutil.copy(os.path.join(ROOT, "examples", name), folder / name)
    with open(folder / "hosts.yaml", "w") as f:
        f.write("\n---\n".join(json.dumps(generated(i)) for i in range(N)) + "\n")
    class RackServer(Server):
        start_timeout = 180  # loading 10,000 hosts takes 13-24 s on the debug build, more on a busy machine

    start = time.time()
    s = RackServer(extra=["--examples", str(folder)])
    print(f"\n10,000-host store loaded in {time.time() - start:.1f} s", file=sys.stderr)
    # Two of the three ISOs get their iSCSI target: hosts on baremetalservices cannot boot.
    for n, iso in enumerate(["coreos-live", "fedora-netinst"], 1):
        status, body = s.patch(f"/api/v1/iscsi-cdroms/{iso}", {"status": {"phase": "Ready", "targetIQN": f"iqn.2000-02.com.mikrotik:file{n}"}})
        assert status == 200, body
    yield s
    s.close()


def test_ten_thousand_hosts_search_filter_sort_pages(browser, big):
    browser.get(f"{big.url}/#/hosts")
    wait_for(lambda: count_text(browser) == "10,000 hosts", timeout=60, message="10,000 hosts listed")
    wait_for(lambda: live_state(browser) == "live", timeout=30)
    marks = dict(browser.execute_script("return performance.getEntriesByType('mark').map(m => [m.name, m.startTime])"))
    # Only one page of rows is in the DOM, however many hosts there are.
    assert len(rows(browser)) == 100
    assert row_keys(browser)[:3] == ["default/node00000", "default/node00003", "default/node00006"]

    # Search by name: a keystroke filters 10,000 hosts.
    timings = [search(browser, "node0999"), search(browser, "node09990")]
    assert count_text(browser) == "1 of 10,000 hosts"
    search(browser, "node0999")
    wait_for(lambda: count_text(browser) == "10 of 10,000 hosts")
    assert sorted(row_keys(browser)) == sorted(f"{NAMESPACES[i % 3]}/node{i:05d}" for i in range(9990, 10000))
    print(f"\nfirst rows painted at {marks['hosts-first-rows']:.0f} ms, fully listed at {marks['hosts-listed']:.0f} ms "
          f"after navigation; filter keystrokes: first {timings[0][0]:.1f} ms to filter and draw ({timings[0][1]:.1f} ms to the next frame), "
          f"second {timings[1][0]:.1f} ms ({timings[1][1]:.1f} ms)",
          file=sys.stderr)
    # …by MAC in any spelling, by IP, by label.
    search(browser, "02-00-00-00-27-0f")
    assert row_keys(browser) == ["default/node09999"]
    search(browser, "10.0.39.15")
    assert row_keys(browser) == ["default/node09999"]
    search(browser, "rack=r007")
    assert count_text(browser) == "40 of 10,000 hosts"
    assert all(int(k.split("node")[1]) // 40 == 7 for k in row_keys(browser))
    search(browser, "")

    # Filters: namespace and ISO together, and the address bar carries them.
    choose_filter(browser, "ns", "lab-a")
    choose_filter(browser, "iso", "coreos-live")
    expected = sum(1 for i in range(N) if i % 3 == 1 and i % 4 == 0)
    wait_for(lambda: count_text(browser) == f"{expected:,} of 10,000 hosts")
    assert "ns=lab-a" in browser.current_url and "iso=coreos-live" in browser.current_url
    assert all(k.startswith("lab-a/") for k in row_keys(browser))
    # Pages: 100 a page, Next moves on.
    assert f"1–100 of {expected:,}" in browser.find_element(By.ID, "page-info").text
    browser.find_element(By.CSS_SELECTOR, 'button[name="next-page"]').click()
    wait_for(lambda: f"101–200 of {expected:,}" in browser.find_element(By.ID, "page-info").text)
    browser.find_element(By.CSS_SELECTOR, 'button[name="clear-filters"]').click()
    wait_for(lambda: count_text(browser) == "10,000 hosts")

    # "Cannot boot": the hosts on baremetalservices, whose ISO has no iSCSI target.
    browser.find_element(By.ID, "filter-problem").click()
    wait_for(lambda: count_text(browser) == "2,500 of 10,000 hosts")
    first = rows(browser)[0]
    assert "cannot boot" in first.text
    assert "baremetalservices" in first.find_element(By.CSS_SELECTOR, ".flag").get_attribute("title")
    browser.find_element(By.ID, "filter-problem").click()

    # Sort by MAC, descending on the second click.
    mac = browser.find_element(By.CSS_SELECTOR, 'table.hosts th[data-sort="mac"] button')
    mac.click()
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'th[data-sort="mac"]').get_attribute("aria-sort") == "ascending")
    browser.find_element(By.CSS_SELECTOR, 'table.hosts th[data-sort="mac"] button').click()
    wait_for(lambda: row_keys(browser)[0] == "default/node09999")
    assert browser.find_element(By.CSS_SELECTOR, 'th[data-sort="mac"]').get_attribute("aria-sort") == "descending"

    # A link to a filtered list opens it.
    browser.get(f"{big.url}/#/hosts?iso=fedora-netinst&config=fedora-server")
    wait_for(lambda: count_text(browser) == "2,500 of 10,000 hosts", timeout=60)
    assert Select(browser.find_element(By.ID, "filter-iso")).first_selected_option.get_attribute("value") == "fedora-netinst"


def test_bulk_set_config_summarizes_refusals(browser, big):
    """Rack r000 (40 hosts, ten on each ISO): setting config fedora-server on all of them works on
    fedora-netinst and localboot and is refused on the other two, for two reasons, said once each."""
    browser.get(f"{big.url}/#/hosts?q=rack%3Dr000")
    wait_for(lambda: count_text(browser) == "40 of 10,000 hosts", timeout=60)
    rows(browser)[0].find_element(By.CSS_SELECTOR, 'input[name="pick"]').click()
    bulk = browser.find_element(By.CSS_SELECTOR, "section.bulk")
    wait_for(lambda: bulk.is_displayed() and "1 selected" in bulk.text)
    bulk.find_element(By.CSS_SELECTOR, 'button[name="select-matching"]').click()
    wait_for(lambda: "40 selected" in bulk.text)
    Select(browser.find_element(By.ID, "bulk-config")).select_by_value("fedora-server")
    bulk.find_element(By.CSS_SELECTOR, 'button[name="bulk-apply"]').click()
    result = wait_for(lambda: "hosts done" in browser.find_element(By.ID, "bulk-result").text
                      and browser.find_element(By.ID, "bulk-result").text, timeout=30,
                      message=f"the bulk summary ({bulk.get_attribute('textContent')[:300]!r})")
    assert "20 of 40 hosts done, 20 refused" in result
    groups = browser.find_elements(By.CSS_SELECTOR, "#bulk-result .refusals li")
    assert len(groups) == 2, result
    texts = sorted(g.text for g in groups)
    assert all(t.startswith("10 hosts") for t in texts), texts
    assert any('not compatible with ISO "coreos-live"' in t for t in texts), texts
    assert any("takes no boot config" in t for t in texts), texts
    assert big.host("node00001", "lab-a")["spec"]["bootConfigRef"] == "fedora-server"  # fedora-netinst
    assert big.host("node00003")["spec"]["bootConfigRef"] == "fedora-server"  # localboot
    assert big.host("node00000")["spec"]["bootConfigRef"] == "coreos-builder"  # refused, unchanged
    # The refused ones can be picked out in one click.
    bulk.find_element(By.CSS_SELECTOR, 'button[name="select-refused"]').click()
    wait_for(lambda: count_text(browser) == "20 of 10,000 hosts")
    assert "20 selected" in bulk.text


def test_unticking_a_config_a_rack_uses_is_summarized(browser, big):
    browser.get(f"{big.url}/#/isos")
    wait_for(lambda: "2,500 hosts" in browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"] .iso-hosts').text, timeout=60)
    wait_for(lambda: live_state(browser) == "live")
    browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"] input[value="coreos-builder"]').click()
    err = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"] tr.row-error').text, message="the refusal")
    assert "cannot remove configs from ISO" in err and "2,500 hosts" in err, err
    assert len(err) < 400, err  # a summary, not 2,500 names
    link = browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="coreos-live"] tr.row-error a.filter-link')
    assert link.get_attribute("href").endswith("#/hosts?iso=coreos-live&config=coreos-builder")
    link.click()
    wait_for(lambda: count_text(browser) == "2,500 of 10,000 hosts", timeout=30)


# --- one host, forms ---------------------------------------------------------------------------

def boot_request(server, path, method="GET", body=None):
    req = urllib.request.Request(server.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read().decode()


def test_host_page_spec_warnings_preview_and_timeline(browser, server):
    # server1 boots from 127.0.0.1 (its installer's source address here), with labels and a second NIC.
    status, body = server.patch(f"{HOSTS}/server1", {
        "metadata": {"labels": {"rack": "r1"}, "annotations": {"note": "top of rack"}},
        "spec": {"ip": "127.0.0.1", "bmc": {"password": "pw-never-shown"},
                 "nics": [{"mac": "AC:1F:6B:8A:A7:9D", "ip": "10.9.9.9", "role": "data"}]}})
    assert status == 200, body
    # The ISO has no iSCSI target yet: the first iPXE request is refused.
    boot_request(server, "/ipxe?mac=AC:1F:6B:8A:A7:9C")
    browser.get(f"{server.url}/#/host/default/server1")
    warnings = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "section.warnings").text, message="warnings")
    assert "No target" in warnings
    # The page reads the events every 5 s.
    wait_for(lambda: "Last refusal" in browser.find_element(By.CSS_SELECTOR, "section.warnings").text, timeout=15, message="the last refusal")
    page = browser.find_element(By.ID, "main").text
    for text in ["AC:1F:6B:8A:A7:9C", "127.0.0.1", "192.168.11.10", "rack=r1", "note=top of rack", "AC:1F:6B:8A:A7:9D", "10.9.9.9", "default"]:
        assert text in page, text
    assert "pw-never-shown" not in browser.page_source
    preview = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".preview-out").text, message="the preview")
    assert "#!ipxe" in preview and "no iSCSI target" in preview

    # A second host with the same IP is refused when written (the page's duplicate-IP warning is
    # for data that already has one, e.g. from mkube); the page still shows no such warning.
    status, body = server.request("POST", HOSTS, {"metadata": {"name": "twin"}, "spec": {"bootMACAddress": "52:54:00:00:00:02", "ip": "127.0.0.1"}})
    assert status == 409 and "127.0.0.1" in body["message"], body
    assert "Duplicate IP" not in browser.find_element(By.CSS_SELECTOR, "section.warnings").text

    # The target appears; a whole boot: iPXE script, config, boot-complete.
    server.patch("/api/v1/iscsi-cdroms/coreos-live", {"status": {"phase": "Ready", "targetIQN": "iqn.2000-02.com.mikrotik:file1"}})
    wait_for(lambda: "sanboot" in browser.find_element(By.CSS_SELECTOR, ".preview-out").text, message="the preview to sanboot")
    boot_request(server, "/ipxe?mac=AC:1F:6B:8A:A7:9C")
    time.sleep(0.2)
    boot_request(server, "/api/v1/bootconfig")
    time.sleep(0.2)
    boot_request(server, "/api/v1/boot-complete", "POST", {})
    timeline = browser.find_element(By.CSS_SELECTOR, ".timeline-out")
    wait_for(lambda: "boot complete" in timeline.text, timeout=15, message="the boot in the timeline")
    newest = browser.find_elements(By.CSS_SELECTOR, ".timeline-out li.boot")[0]
    steps = [s.get_attribute("data-type") for s in newest.find_elements(By.CSS_SELECTOR, "li.step")]
    assert steps == ["ipxe", "config", "boot-complete"], steps
    assert "complete in" in newest.text
    tooks = [t.text for t in newest.find_elements(By.CSS_SELECTOR, ".took")]
    assert len(tooks) == 2 and all(t.startswith("+") and t.endswith(" s") for t in tooks), tooks
    assert browser.find_elements(By.CSS_SELECTOR, ".timeline-out li.boot.refused"), "the refused boot stays in the timeline"
    wait_for(lambda: "Last refusal" not in browser.find_element(By.CSS_SELECTOR, "section.warnings").text, timeout=15)
    assert "No target" not in browser.find_element(By.CSS_SELECTOR, "section.warnings").text


def test_create_edit_delete_host_with_field_diagnostics(browser, server):
    browser.get(f"{server.url}/#/hosts")
    wait_for(lambda: live_state(browser) == "live")
    click(browser, 'button[name="new-host"]')  # drawn once the route's data has arrived
    form = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "form.host-form"))
    form.find_element(By.NAME, "metadata.namespace").clear()
    form.find_element(By.NAME, "metadata.namespace").send_keys("lab-a")
    form.find_element(By.NAME, "metadata.name").send_keys("rack7-01")
    form.find_element(By.NAME, "spec.bootMACAddress").send_keys("zz:11")
    form.find_element(By.NAME, "metadata.labels").send_keys("rack=r7")
    Select(form.find_element(By.NAME, "spec.image")).select_by_value("fedora-netinst")
    assert [o.get_attribute("value") for o in Select(form.find_element(By.NAME, "spec.bootConfigRef")).options] == ["", "fedora-server", "fedora-builder"]
    Select(form.find_element(By.NAME, "spec.bootConfigRef")).select_by_value("fedora-server")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    # The server's cause lands at the MAC field.
    error = wait_for(lambda: form.find_element(By.CSS_SELECTOR, '[data-field="spec.bootMACAddress"] .field-error').text, message="the MAC diagnostic")
    assert "not a MAC address" in error
    assert form.find_element(By.NAME, "spec.bootMACAddress").get_attribute("aria-invalid") == "true"
    assert server.request("GET", "/api/v1/namespaces/lab-a/baremetalhosts/rack7-01")[0] == 404
    mac = form.find_element(By.NAME, "spec.bootMACAddress")
    mac.clear()
    mac.send_keys("52:54:00:07:00:01")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    wait_for(lambda: server.request("GET", "/api/v1/namespaces/lab-a/baremetalhosts/rack7-01")[0] == 200, message="the new host")
    created = server.host("rack7-01", "lab-a")
    assert created["spec"]["image"] == "fedora-netinst" and created["spec"]["bootConfigRef"] == "fedora-server"
    assert created["metadata"]["labels"] == {"rack": "r7"}
    wait_for(lambda: "lab-a/rack7-01" in row_keys(browser))

    # Edit on its page: a new IP, a label removed and one added, the password set (never shown).
    rows(browser)[row_keys(browser).index("lab-a/rack7-01")].find_element(By.CSS_SELECTOR, "a.name").click()
    click(browser, 'button[name="edit-host"]')
    form = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "form.host-form"))
    form.find_element(By.NAME, "spec.ip").send_keys("10.7.0.1")
    labels = form.find_element(By.NAME, "metadata.labels")
    labels.clear()
    labels.send_keys("role=builder")
    form.find_element(By.NAME, "spec.bmc.password").send_keys("hunter2")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    wait_for(lambda: server.host("rack7-01", "lab-a")["spec"].get("ip") == "10.7.0.1", message="the edit")
    edited = server.host("rack7-01", "lab-a")
    assert edited["metadata"]["labels"] == {"role": "builder"}
    status, secret = server.request("GET", "/api/v1/namespaces/lab-a/baremetalhosts/rack7-01?includeSecrets=true")
    assert secret["spec"]["bmc"].get("password") == "hunter2"
    wait_for(lambda: "role=builder" in browser.find_element(By.ID, "main").text)
    assert "hunter2" not in browser.page_source

    # Delete from its page.
    click(browser, 'button[name="delete-host"]')
    wait_for(lambda: browser.switch_to.alert).accept()
    wait_for(lambda: server.request("GET", "/api/v1/namespaces/lab-a/baremetalhosts/rack7-01")[0] == 404, message="the delete")
    wait_for(lambda: browser.current_url.endswith("#/hosts"))


def test_create_and_delete_config_and_iso_with_diagnostics(browser, server):
    browser.get(f"{server.url}/#/configs")
    wait_for(lambda: live_state(browser) == "live")
    click(browser, 'button[name="new-config"]')  # drawn once the route's data has arrived
    form = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'form[data-form="config-form"]'))
    form.find_element(By.NAME, "metadata.name").send_keys("rack-ks")
    Select(form.find_element(By.NAME, "spec.format")).select_by_value("kickstart")
    form.find_element(By.NAME, "spec.description").send_keys("rack installs")
    form.find_element(By.NAME, "file").send_keys("ks.cfg")
    content = form.find_element(By.NAME, "spec.data")
    browser.execute_script("arguments[0].value = arguments[1]", content, "keyboard us\nbogusdirective --now\n")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    error = wait_for(lambda: form.find_element(By.CSS_SELECTOR, '[data-field="spec.data"] .field-error').text, message="the line diagnostic")
    assert "ks.cfg line 2" in error and "bogusdirective" in error, error
    assert server.request("GET", "/api/v1/bootconfigs/rack-ks")[0] == 404
    browser.execute_script("arguments[0].value = arguments[1]", content, "keyboard us\nlang en_US.UTF-8\ntimezone UTC\n")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    wait_for(lambda: server.request("GET", "/api/v1/bootconfigs/rack-ks")[0] == 200, message="the new config")
    assert server.get("/api/v1/bootconfigs/rack-ks")["spec"]["description"] == "rack installs"
    wait_for(lambda: "rack-ks" in browser.find_element(By.CSS_SELECTOR, ".config-detail").text)

    # Edit details: the description.
    click(browser, 'button[name="edit-config"]')  # drawn once the route's data has arrived
    form = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'form[data-form="config-form"]'))
    desc = form.find_element(By.NAME, "spec.description")
    desc.clear()
    desc.send_keys("rack seven installs")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    wait_for(lambda: server.get("/api/v1/bootconfigs/rack-ks")["spec"].get("description") == "rack seven installs")

    # A config in use cannot be deleted: the server's message, then it can once unused.
    browser.get(f"{server.url}/#/configs/coreos-builder")
    wait_for(lambda: "coreos-builder" in browser.find_element(By.CSS_SELECTOR, ".config-detail h2").text)
    click(browser, 'button[name="delete-config"]')
    wait_for(lambda: browser.switch_to.alert).accept()
    err = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".form-error").text, message="the refusal")
    assert "still referenced by host default/server1" in err
    browser.get(f"{server.url}/#/configs/rack-ks")
    wait_for(lambda: "rack-ks" in browser.find_element(By.CSS_SELECTOR, ".config-detail h2").text)
    click(browser, 'button[name="delete-config"]')
    wait_for(lambda: browser.switch_to.alert).accept()
    wait_for(lambda: server.request("GET", "/api/v1/bootconfigs/rack-ks")[0] == 404, message="the config delete")
    # The page goes back to the list once its delete answers; navigating earlier would be undone.
    wait_for(lambda: browser.execute_script("return location.hash") == "#/configs", message="the page to leave the deleted config")

    # ISOs: create, then delete.
    browser.get(f"{server.url}/#/isos")
    wait_for(lambda: live_state(browser) == "live")
    click(browser, 'button[name="new-iso"]')  # drawn once the route's data has arrived
    form = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'form[data-form="iso-form"]'))
    form.find_element(By.NAME, "metadata.name").send_keys("Bad Name")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    wait_for(lambda: form.find_element(By.CSS_SELECTOR, ".form-error, .field-error").text, message="the name diagnostic")
    name = form.find_element(By.NAME, "metadata.name")
    name.clear()
    name.send_keys("alma-9")
    form.find_element(By.NAME, "spec.isoFile").send_keys("alma-9.iso")
    form.find_element(By.CSS_SELECTOR, 'button[name="save"]').click()
    wait_for(lambda: server.request("GET", "/api/v1/iscsi-cdroms/alma-9")[0] == 200, message="the new ISO")
    assert server.get("/api/v1/iscsi-cdroms/alma-9")["spec"]["isoFile"] == "alma-9.iso"
    row = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tbody[data-iso="alma-9"]'))
    row.find_element(By.CSS_SELECTOR, 'button[name="delete-iso"]').click()
    wait_for(lambda: browser.switch_to.alert).accept()
    wait_for(lambda: server.request("GET", "/api/v1/iscsi-cdroms/alma-9")[0] == 404, message="the ISO delete")


def test_bulk_power_on_and_off(browser, server):
    status, body = server.request("POST", HOSTS, {"metadata": {"name": "server2"}, "spec": {"bootMACAddress": "52:54:00:00:00:22", "image": "localboot"}})
    assert status == 201, body
    browser.get(f"{server.url}/#/hosts")
    wait_for(lambda: len(rows(browser)) == 2 and live_state(browser) == "live")
    browser.find_element(By.CSS_SELECTOR, 'input[name="select-page"]').click()
    bulk = browser.find_element(By.CSS_SELECTOR, "section.bulk")
    wait_for(lambda: "2 selected" in bulk.text)
    bulk.find_element(By.CSS_SELECTOR, 'button[name="bulk-on"]').click()
    wait_for(lambda: "Power on: 2 of 2 hosts done." in browser.find_element(By.ID, "bulk-result").text, message="the power-on summary")
    assert server.host("server1")["spec"].get("online") is True and server.host("server2")["spec"].get("online") is True
    bulk.find_element(By.CSS_SELECTOR, 'button[name="bulk-off"]').click()
    alert = wait_for(lambda: browser.switch_to.alert, message="the confirmation")
    assert "Power off 2 hosts" in alert.text
    alert.accept()
    wait_for(lambda: "Power off: 2 of 2 hosts done." in browser.find_element(By.ID, "bulk-result").text)
    assert server.host("server1")["spec"].get("online") is False and server.host("server2")["spec"].get("online") is False
