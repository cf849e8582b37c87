// The hosts table: per host an ISO and a Config dropdown, power, actions, last boot, boot count.
// Every change is a merge-PATCH of the BareMetalHost; the table follows the watch. Power
// actions are the host's power operation; the power state comes from status (the watch), and
// when it was last read from the power readings, fetched every few seconds.
import { api, patch } from "./api.js";
import { h, setOptions, formatTime, announce } from "./dom.js";

const READINGS = "/api/v1/baremetalhosts/power";
const READINGS_EVERY_MS = 3000;

/** Local wall-clock time with seconds: how fresh a power reading is. */
function clock(value) {
  const d = new Date(value);
  if (isNaN(d)) return value;
  const p = (n) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const hostURL = (host) =>
  `/api/v1/namespaces/${encodeURIComponent(host.metadata.namespace)}/baremetalhosts/${encodeURIComponent(host.metadata.name)}`;

export class HostsView {
  constructor(root, state) {
    this.state = state;
    this.rows = new Map();
    /** Power readings by host key, and whether bootgate drives BMCs (null until known). */
    this.readings = new Map();
    this.powerControl = null;
    this.empty = h("p", { class: "empty", hidden: true });
    this.table = h("table", { class: "grid hosts" },
      h("caption", { class: "visually-hidden" }, "Hosts: the ISO each one boots and the config it is served"),
      h("thead", {}, h("tr", {},
        ["Host", "MAC", "ISO", "Config", "Power", "Actions", "Last boot", "Boots"].map((t) => h("th", { scope: "col" }, t)))));
    root.append(
      h("div", { class: "page-head" },
        h("h1", {}, "Hosts"),
        h("p", { class: "hint" }, "Pick the ISO each server sanboots and the config it is served. Changes apply at once. On and Off set ",
          h("code", {}, "spec.online"), "; bootgate drives the BMC (IPMI or Redfish) and shows the power state it last read.")),
      this.table, this.empty);
    this.readTimer = setInterval(() => this.refreshReadings(), READINGS_EVERY_MS);
    this.refreshReadings();
  }

  /** Fetches the power readings; stops once this view has left the page. */
  async refreshReadings() {
    if (!this.table.isConnected && this.rendered) { clearInterval(this.readTimer); return; }
    try {
      const body = await api("GET", READINGS);
      this.powerControl = body.powerControl;
      this.readings = new Map(body.items.map((r) => [r.host, r]));
      if (this.table.isConnected) this.render();
    } catch {
      // The live indicator already says when bootgate cannot be reached.
    }
  }

  render() {
    const { state } = this;
    this.rendered = true;
    const hosts = state.sortedHosts();
    const keys = new Set(hosts.map(state.hostKey));
    for (const [key, row] of this.rows) {
      if (!keys.has(key)) { row.tbody.remove(); this.rows.delete(key); }
    }
    let previous = this.table.tHead;
    for (const host of hosts) {
      const key = state.hostKey(host);
      let row = this.rows.get(key);
      if (!row) { row = this.createRow(key); this.rows.set(key, row); }
      this.updateRow(row, host);
      if (previous.nextSibling !== row.tbody) previous.after(row.tbody);
      previous = row.tbody;
    }
    this.empty.hidden = hosts.length > 0 || !state.hosts.loaded;
    this.empty.textContent = "No hosts yet. Create BareMetalHosts through the API or with `bootgate apply -f`.";
    this.table.hidden = hosts.length === 0 && state.hosts.loaded;
  }

  createRow(key) {
    const id = `host-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const row = { key, pending: 0, error: null, id };
    row.name = h("span", { class: "name" });
    row.sub = h("span", { class: "sub" });
    row.mac = h("code");
    row.image = h("select", { name: "image", id: `${id}-image`, onchange: () => this.changeImage(row) });
    row.config = h("select", { name: "config", id: `${id}-config`, onchange: () => this.changeConfig(row) });
    row.imageLabel = h("label", { for: row.image.id, class: "visually-hidden" });
    row.configLabel = h("label", { for: row.config.id, class: "visually-hidden" });
    row.power = h("span", { class: "badge" });
    row.powerNote = h("span", { class: "sub power-note" });
    row.powerRead = h("span", { class: "sub power-read" });
    row.powerError = h("span", { class: "sub power-error" });
    row.on = h("button", { type: "button", name: "on", onclick: () => this.power(row, "on") }, "On");
    row.off = h("button", { type: "button", name: "off", onclick: () => this.power(row, "off") }, "Off");
    row.restart = h("button", { type: "button", name: "restart", title: "Power cycles the host once (powers it on if it is off); into an install image it boots the network once", onclick: () => this.power(row, "restart") }, "Restart");
    row.lastBoot = h("td", { "data-label": "Last boot", class: "last-boot" });
    row.bootCount = h("td", { "data-label": "Boots", class: "boot-count num" });
    row.message = h("span", { class: "message", id: `${id}-error` });
    row.dismiss = h("button", { type: "button", class: "link", onclick: () => { row.error = null; this.render(); } }, "Dismiss");
    row.errorRow = h("tr", { class: "row-error", hidden: true },
      h("td", { colspan: 8, role: "alert" }, h("div", { class: "msg" }, row.message, " ", row.dismiss)));
    row.tr = h("tr", { class: "host" },
      h("th", { scope: "row", "data-label": "Host" }, row.name, row.sub),
      h("td", { "data-label": "MAC" }, row.mac),
      h("td", { "data-label": "ISO" }, row.imageLabel, row.image),
      h("td", { "data-label": "Config" }, row.configLabel, row.config),
      h("td", { "data-label": "Power" }, h("span", { class: "power" }, row.power, row.powerNote, row.powerRead, row.powerError)),
      h("td", { "data-label": "Actions" }, h("div", { class: "actions", role: "group" }, row.on, row.off, row.restart)),
      row.lastBoot, row.bootCount);
    row.tbody = h("tbody", { dataset: { host: key } }, row.tr, row.errorRow);
    return row;
  }

  stored(row) { return this.state.hosts.items.get(row.key); }

  /** Draws a row from the stored host; while a PATCH is in flight the operator's choice stays. */
  updateRow(row, host) {
    const { state } = this;
    const name = host.metadata.name;
    const ns = host.metadata.namespace;
    row.name.textContent = ns && ns !== "default" ? `${ns}/${name}` : name;
    row.sub.textContent = host.spec.ip || "";
    row.mac.textContent = host.spec.bootMACAddress || "—";
    row.imageLabel.textContent = `ISO for ${name}`;
    row.configLabel.textContent = `Config for ${name}`;
    row.tr.querySelector(".actions").setAttribute("aria-label", `Power actions for ${name}`);

    const image = host.spec.image || "";
    const isoOptions = state.isoNames().map((n) => ({ value: n, label: n }));
    isoOptions.push({ value: "localboot", label: "localboot" });
    if (!image) isoOptions.unshift({ value: "", label: "(none)" });
    else if (!isoOptions.some((o) => o.value === image)) isoOptions.push({ value: image, label: `${image} (missing)` });
    setOptions(row.image, isoOptions);
    if (!row.pending) row.image.value = image;

    const shownImage = row.pending ? row.image.value : image;
    const ref = host.spec.bootConfigRef || "";
    const allowed = state.allowedConfigs(shownImage);
    const names = allowed === null ? state.configNames() : allowed;
    let configOptions = [];
    if (names.length > 0) {
      configOptions = [{ value: "", label: "(none)" }, ...names.map((n) => ({
        value: n, label: state.configs.items.has(n) || !state.configs.loaded ? n : `${n} (missing)` }))];
    }
    if (ref && !names.includes(ref)) configOptions.push({ value: ref, label: `${ref} (not allowed)` });
    setOptions(row.config, configOptions);
    row.config.disabled = configOptions.length === 0;
    if (!row.pending) row.config.value = ref;
    row.config.title = row.config.disabled ? `ISO ${shownImage} takes no config` : "";

    const powered = host.status && host.status.poweredOn;
    const online = host.spec.online;
    const reading = this.readings.get(row.key);
    const driven = this.powerControl === true && !!(host.spec.bmc && host.spec.bmc.address);
    // Never read (the BMC has not answered since bootgate started): the stored value is a guess.
    const unknown = driven && reading && reading.poweredOn === null;
    row.power.textContent = unknown ? "Unknown" : powered ? "On" : "Off";
    row.power.className = `badge ${powered && !unknown ? "on" : "off"}`;
    if (driven && reading && reading.action) row.powerNote.textContent = `${reading.action} in progress`;
    else if (driven) row.powerNote.textContent = online === true && !powered ? "wanted on" : online === false && powered ? "wanted off" : "";
    else row.powerNote.textContent = online === true && !powered ? "turning on" : online === false && powered ? "turning off" : "";
    row.powerRead.textContent = driven && reading && reading.readAt ? `read ${clock(reading.readAt)}` : "";
    row.powerRead.title = reading && reading.readAt ? `Power state read from ${reading.protocol} ${reading.address} at ${reading.readAt}` : "";
    // The condition arrives with the watch; the reading may be a few seconds fresher.
    const cond = ((host.status && host.status.conditions) || []).find((c) => c.type === "BMCConnected");
    const failure = driven && reading && reading.error ? reading.error : cond && cond.status === "False" ? cond : null;
    row.powerError.textContent = failure ? `${failure.reason}: ${failure.message}` : "";
    row.powerError.title = cond && cond.status === "False" ? `since ${cond.lastTransitionTime}` : "";
    row.on.disabled = online === true && (powered || !driven);
    row.off.disabled = online === false && !powered;

    const status = host.status || {};
    row.lastBoot.textContent = formatTime(status.lastBoot);
    row.lastBoot.title = status.lastBoot || "";
    row.bootCount.textContent = status.bootCount ?? "—";

    row.errorRow.hidden = !row.error;
    row.message.textContent = row.error ? `${name}: ${row.error}` : "";
    for (const sel of [row.image, row.config]) {
      if (row.error) sel.setAttribute("aria-describedby", row.message.id);
      else sel.removeAttribute("aria-describedby");
    }
    row.tbody.classList.toggle("has-error", !!row.error);
    row.tbody.setAttribute("aria-busy", row.pending ? "true" : "false");
  }

  async send(row, body, what) {
    const host = this.stored(row);
    if (!host) return false;
    row.pending++;
    this.updateRow(row, host);
    let ok = true;
    try {
      const updated = await patch(hostURL(host), body);
      this.state.hosts.accept(updated);
      row.error = null;
      announce(`${host.metadata.name}: ${what}`);
    } catch (err) {
      ok = false;
      row.error = err.message;
    } finally {
      row.pending--;
      const now = this.stored(row);
      if (now && this.rows.get(row.key) === row) this.updateRow(row, now);
    }
    return ok;
  }

  changeImage(row) {
    const host = this.stored(row);
    if (!host) return;
    const image = row.image.value;
    const ref = host.spec.bootConfigRef || "";
    const spec = { image: image || null };
    const allowed = this.state.allowedConfigs(image);
    if (ref && allowed !== null && !allowed.includes(ref)) spec.bootConfigRef = null;
    const what = `ISO set to ${image}` + ("bootConfigRef" in spec ? `, config ${ref} cleared` : "");
    this.send(row, { spec }, what);
  }

  changeConfig(row) {
    const ref = row.config.value;
    this.send(row, { spec: { bootConfigRef: ref || null } }, ref ? `config set to ${ref}` : "config cleared");
  }

  /** On / Off / Restart: the host's power operation (on and off also set spec.online). */
  async power(row, action) {
    const host = this.stored(row);
    if (!host) return;
    const name = host.metadata.name;
    if (action !== "on" && !confirm(`${action === "off" ? "Power off" : "Restart"} ${name}?`)) return;
    row.pending++;
    this.updateRow(row, host);
    try {
      const answer = await api("POST", `${hostURL(host)}/power`, { action });
      row.error = null;
      announce(`${name}: ${answer.message}`);
    } catch (err) {
      row.error = err.message;
    } finally {
      row.pending--;
      const now = this.stored(row);
      if (now && this.rows.get(row.key) === row) this.updateRow(row, now);
    }
    setTimeout(() => this.refreshReadings(), 300);
  }
}
