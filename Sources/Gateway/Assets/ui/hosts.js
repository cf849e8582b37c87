// The hosts list: search, filters, sort and pages over every host the watch keeps in memory (only
// one page of rows is in the DOM, so 10,000 hosts cost one filter pass per keystroke), row
// selection with bulk actions, and per row the ISO and Config dropdowns, power and boot counts.
// Every change is a merge-PATCH of the BareMetalHost; the table follows the watch. Power actions
// are the host's power operation; the power state comes from status (the watch), and when it was
// last read from the power readings, fetched every few seconds.
import { api, patch, hostURL, eachLimited } from "./api.js";
import { h, setOptions, formatTime, announce, hostsLink } from "./dom.js";
import { groupRefusals } from "./refusals.js";
import { HostForm } from "./hostform.js";

const READINGS = "/api/v1/baremetalhosts/power";
const READINGS_EVERY_MS = 3000;
const PAGE_SIZES = [50, 100, 250, 500];
const BULK_WIDTH = 8; // requests in flight during a bulk action
const FILTERS = ["q", "ns", "iso", "config", "power", "problem", "sel"];
const NONE = "-"; // the filter value for "no ISO" / "no config"

/** Local wall-clock time with seconds: how fresh a power reading is. */
function clock(value) {
  const d = new Date(value);
  if (isNaN(d)) return value;
  const p = (n) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const COLUMNS = [
  { key: null, label: "" },
  { key: "name", label: "Host" },
  { key: "mac", label: "MAC" },
  { key: "iso", label: "ISO" },
  { key: "config", label: "Config" },
  { key: "power", label: "Power" },
  { key: null, label: "Actions" },
  { key: "lastBoot", label: "Last boot" },
  { key: "boots", label: "Boots" },
];

const sortValue = {
  mac: (o) => (o.spec.bootMACAddress || "").toLowerCase(),
  iso: (o) => o.spec.image || "",
  config: (o) => o.spec.bootConfigRef || "",
  power: (o) => (o.status && o.status.poweredOn ? 0 : 1),
  lastBoot: (o) => (o.status && o.status.lastBoot) || "",
  boots: (o) => (o.status && o.status.bootCount) || 0,
};

/** What a search term is matched against, lowercased once per host revision. */
const haystacks = new WeakMap();
function haystack(host) {
  let text = haystacks.get(host);
  if (text !== undefined) return text;
  const spec = host.spec || {};
  const macs = [spec.bootMACAddress, ...((spec.nics || []).map((n) => n.mac))].filter(Boolean);
  const parts = [`${host.metadata.namespace || "default"}/${host.metadata.name}`, spec.hostname, spec.ip,
    ...macs, ...macs.map((m) => m.replace(/[:-]/g, "")), ...((spec.nics || []).map((n) => n.ip))];
  for (const [k, v] of Object.entries(host.metadata.labels || {})) parts.push(`${k}=${v}`);
  text = parts.filter(Boolean).join(" ").toLowerCase();
  haystacks.set(host, text);
  return text;
}

export class HostsView {
  constructor(root, state, arg, query) {
    this.state = state;
    this.rows = new Map();
    /** Power readings by host key, and whether bootgate drives BMCs (null until known). */
    this.readings = new Map();
    this.powerControl = null;
    this.filter = this.readFilter(query);
    this.sort = { key: "name", dir: 1 };
    this.page = 0;
    this.pageSize = 100;
    this.selected = new Set();
    this.busy = false;
    this.sortedCache = { stamp: null, list: [] };
    this.matchCache = { stamp: null, list: [] };

    this.buildToolbar();
    this.buildBulk();
    this.empty = h("p", { class: "empty", hidden: true });
    this.pageBox = h("input", { type: "checkbox", name: "select-page", "aria-label": "Select every host on this page",
      onchange: () => this.selectPage(this.pageBox.checked) });
    this.table = h("table", { class: "grid hosts" },
      h("caption", { class: "visually-hidden" }, "Hosts: the ISO each one boots and the config it is served"),
      h("thead", {}, h("tr", {}, COLUMNS.map((c, i) => this.headerCell(c, i)))));
    this.buildPager();
    this.formSlot = h("div", { class: "form-slot" });
    root.append(
      h("div", { class: "page-head with-actions" },
        h("div", {},
          h("h1", {}, "Hosts"),
          h("p", { class: "hint" }, "Pick the ISO each server sanboots and the config it is served. Changes apply at once. On and Off set ",
            h("code", {}, "spec.online"), "; bootgate drives the BMC (IPMI or Redfish) and shows the power state it last read.")),
        h("button", { type: "button", name: "new-host", class: "primary", onclick: () => this.newHost() }, "New host")),
      this.formSlot, this.toolbar, this.bulk, this.table, this.pager, this.empty);
    this.readTimer = setInterval(() => this.refreshReadings(), READINGS_EVERY_MS);
    this.refreshReadings();
  }

  leave() { clearInterval(this.readTimer); }

  // --- filter, sort, pages -------------------------------------------------------------------

  readFilter(query) {
    const f = {};
    for (const k of FILTERS) f[k] = (query && query.get(k)) || "";
    return f;
  }

  setArg(arg, query) {
    const next = this.readFilter(query);
    if (FILTERS.some((k) => next[k] !== this.filter[k])) { this.filter = next; this.page = 0; }
    this.syncControls();
  }

  /** Keeps the address bar in step with the filter (a link to this list), without a navigation. */
  filterChanged() {
    this.page = 0;
    history.replaceState(null, "", hostsLink(this.filter));
    this.render();
  }

  buildToolbar() {
    const f = this.filter;
    const on = (key, el, read = () => el.value) => {
      el.addEventListener(el.type === "search" ? "input" : "change", () => { this.filter[key] = read(); this.filterChanged(); });
      return el;
    };
    this.search = on("q", h("input", { type: "search", name: "q", id: "host-search", value: f.q, autocomplete: "off", spellcheck: "false",
      placeholder: "Name, MAC, IP or label (rack=r1)" }));
    this.nsSelect = on("ns", h("select", { name: "ns", id: "filter-ns" }));
    this.isoSelect = on("iso", h("select", { name: "iso", id: "filter-iso" }));
    this.configSelect = on("config", h("select", { name: "config", id: "filter-config" }));
    this.powerSelect = on("power", h("select", { name: "power", id: "filter-power" },
      h("option", { value: "" }, "Any"), h("option", { value: "on" }, "On"), h("option", { value: "off" }, "Off")));
    this.problemBox = on("problem", h("input", { type: "checkbox", name: "problem", id: "filter-problem" }), () => (this.problemBox.checked ? "1" : ""));
    this.selBox = on("sel", h("input", { type: "checkbox", name: "sel", id: "filter-sel" }), () => (this.selBox.checked ? "1" : ""));
    this.count = h("span", { class: "count", id: "host-count", role: "status" });
    this.clearFilters = h("button", { type: "button", class: "link", name: "clear-filters", onclick: () => {
      for (const k of FILTERS) this.filter[k] = "";
      this.syncControls();
      this.filterChanged();
    } }, "Clear filters");
    const field = (label, el) => h("div", { class: "field" }, h("label", { for: el.id }, label), el);
    this.toolbar = h("div", { class: "filters card", role: "search", "aria-label": "Find hosts" },
      h("div", { class: "field grow" }, h("label", { for: "host-search" }, "Search"), this.search),
      field("Namespace", this.nsSelect), field("ISO", this.isoSelect), field("Config", this.configSelect), field("Power", this.powerSelect),
      h("div", { class: "checks" },
        h("label", { class: "check" }, this.problemBox, " Cannot boot"),
        h("label", { class: "check" }, this.selBox, " Selected only")),
      h("div", { class: "field summary" }, this.count, this.clearFilters));
    this.syncControls();
  }

  /** Filter controls from this.filter; their options from the collections. */
  syncControls() {
    const { state, filter } = this;
    if (this.search.value !== filter.q) this.search.value = filter.q;
    const keep = (list, value) => (value && value !== NONE && !list.includes(value) ? [...list, value] : list);
    setOptions(this.nsSelect, [{ value: "", label: "All" }, ...keep(state.namespaces(), filter.ns).map((n) => ({ value: n, label: n }))]);
    setOptions(this.isoSelect, [{ value: "", label: "Any" }, { value: NONE, label: "(none)" },
      ...keep([...state.isoNames(), "localboot"], filter.iso).map((n) => ({ value: n, label: n }))]);
    setOptions(this.configSelect, [{ value: "", label: "Any" }, { value: NONE, label: "(none)" },
      ...keep(state.configNames(), filter.config).map((n) => ({ value: n, label: n }))]);
    for (const [el, key] of [[this.nsSelect, "ns"], [this.isoSelect, "iso"], [this.configSelect, "config"], [this.powerSelect, "power"]]) {
      if (el.value !== filter[key]) el.value = filter[key];
    }
    this.problemBox.checked = filter.problem === "1";
    this.selBox.checked = filter.sel === "1";
    this.clearFilters.hidden = !FILTERS.some((k) => filter[k]);
  }

  headerCell(column, index) {
    if (index === 0) return h("th", { scope: "col", class: "select" }, this.pageBox);
    if (!column.key) return h("th", { scope: "col" }, column.label);
    const button = h("button", { type: "button", class: "sort", dataset: { sort: column.key },
      onclick: () => {
        this.sort = this.sort.key === column.key ? { key: column.key, dir: -this.sort.dir } : { key: column.key, dir: 1 };
        this.page = 0;
        this.render();
      } }, column.label);
    return h("th", { scope: "col", dataset: { sort: column.key } }, button);
  }

  /** Every host in the chosen order (sorted again only when hosts or the order changed). */
  sorted() {
    const { state } = this;
    const stamp = `${state.hosts.version}|${this.sort.key}|${this.sort.dir}`;
    if (this.sortedCache.stamp === stamp) return this.sortedCache.list;
    let list = state.sortedHosts();
    if (this.sort.key !== "name") {
      const value = sortValue[this.sort.key];
      const keyed = list.map((o) => [value(o), o]);
      const numeric = this.sort.key === "power" || this.sort.key === "boots";
      // Stable: ties stay in name order. Empty values go last whichever the direction.
      keyed.sort(numeric ? (a, b) => (a[0] - b[0]) * this.sort.dir
        : (a, b) => (a[0] === "") - (b[0] === "") || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) * this.sort.dir);
      list = keyed.map((p) => p[1]);
    } else if (this.sort.dir < 0) {
      list = [...list].reverse();
    }
    this.sortedCache = { stamp, list };
    return list;
  }

  /** The hosts the filter lets through, in order. */
  matches() {
    const { state, filter } = this;
    const sorted = this.sorted();
    const stamp = [state.hosts.version, state.isos.version, state.configs.version, this.sort.key, this.sort.dir,
      ...FILTERS.map((k) => filter[k]), filter.sel ? this.selectionStamp : ""].join("|");
    if (this.matchCache.stamp === stamp) return this.matchCache.list;
    const terms = filter.q.toLowerCase().split(/\s+/).filter(Boolean)
      .map((t) => (/^[0-9a-f]{2}([:-][0-9a-f]{0,2})+$/.test(t) ? t.replace(/[:-]/g, "") : t));
    const checks = [];
    if (terms.length) checks.push((o) => { const text = haystack(o); return terms.every((t) => text.includes(t)); });
    if (filter.ns) checks.push((o) => (o.metadata.namespace || "default") === filter.ns);
    if (filter.iso) checks.push((o) => (o.spec.image || "") === (filter.iso === NONE ? "" : filter.iso));
    if (filter.config) checks.push((o) => (o.spec.bootConfigRef || "") === (filter.config === NONE ? "" : filter.config));
    if (filter.power) checks.push((o) => !!(o.status && o.status.poweredOn) === (filter.power === "on"));
    if (filter.problem) checks.push((o) => state.cannotBoot(o));
    if (filter.sel) checks.push((o) => this.selected.has(state.hostKey(o)));
    const list = checks.length ? sorted.filter((o) => checks.every((c) => c(o))) : sorted;
    this.matchCache = { stamp, list };
    return list;
  }

  get selectionStamp() { return `${this.selected.size}:${this.selectionVersion || 0}`; }
  selectionChanged() { this.selectionVersion = (this.selectionVersion || 0) + 1; }

  buildPager() {
    this.pageInfo = h("span", { class: "page-info", id: "page-info" });
    this.prev = h("button", { type: "button", name: "prev-page", onclick: () => { this.page--; this.render(); } }, "Previous");
    this.next = h("button", { type: "button", name: "next-page", onclick: () => { this.page++; this.render(); } }, "Next");
    this.first = h("button", { type: "button", name: "first-page", onclick: () => { this.page = 0; this.render(); } }, "First");
    this.last = h("button", { type: "button", name: "last-page", onclick: () => { this.page = Infinity; this.render(); } }, "Last");
    this.sizeSelect = h("select", { name: "page-size", id: "page-size", onchange: () => { this.pageSize = Number(this.sizeSelect.value); this.page = 0; this.render(); } },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === this.pageSize }, String(n))));
    this.pager = h("nav", { class: "pager", "aria-label": "Pages of hosts" },
      this.first, this.prev, this.pageInfo, this.next, this.last,
      h("label", { for: "page-size" }, "Per page"), this.sizeSelect);
  }

  // --- rendering -----------------------------------------------------------------------------

  render() {
    const { state } = this;
    this.rendered = true;
    this.syncControls();
    const all = this.matches();
    const total = state.hosts.items.size;
    const pages = Math.max(1, Math.ceil(all.length / this.pageSize));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const start = this.page * this.pageSize;
    const hosts = all.slice(start, start + this.pageSize);

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
    if (hosts.length && !this.painted) {
      this.painted = true;
      performance.mark("hosts-first-rows");
    }
    if (state.hosts.loaded && !this.markedLoaded) {
      this.markedLoaded = true;
      performance.mark("hosts-listed");
    }

    const n = (x) => x.toLocaleString("en");
    const filtered = FILTERS.some((k) => this.filter[k]);
    this.count.textContent = !state.hosts.loaded && total === 0 ? "Loading…"
      : filtered ? `${n(all.length)} of ${n(total)} hosts` : total === 1 ? "1 host" : `${n(total)} hosts`;
    this.count.dataset.matches = all.length;
    this.pageInfo.textContent = all.length ? `${n(start + 1)}–${n(start + hosts.length)} of ${n(all.length)} · page ${n(this.page + 1)} of ${n(pages)}` : "";
    this.prev.disabled = this.first.disabled = this.page === 0;
    this.next.disabled = this.last.disabled = this.page >= pages - 1;
    this.pager.hidden = all.length <= PAGE_SIZES[0] && this.page === 0;
    const onPage = hosts.map(state.hostKey);
    const picked = onPage.filter((k) => this.selected.has(k)).length;
    this.pageBox.checked = picked > 0 && picked === onPage.length;
    this.pageBox.indeterminate = picked > 0 && picked < onPage.length;
    this.renderBulk(all);
    for (const th of this.table.tHead.querySelectorAll("th[data-sort]")) {
      if (th.dataset.sort === this.sort.key) th.setAttribute("aria-sort", this.sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }

    this.empty.hidden = all.length > 0 || !state.hosts.loaded;
    this.empty.textContent = total === 0
      ? "No hosts yet. Create one with New host, through the API, or with `bootgate apply -f`."
      : "No host matches this search and these filters.";
    this.table.hidden = all.length === 0 && state.hosts.loaded;
  }

  createRow(key) {
    const id = `host-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const row = { key, pending: 0, error: null, id };
    const [ns, name] = key.split("/");
    row.pick = h("input", { type: "checkbox", name: "pick", value: key, "aria-label": `Select ${key}`,
      onchange: () => { if (row.pick.checked) this.selected.add(key); else this.selected.delete(key); this.selectionChanged(); this.render(); } });
    row.name = h("a", { class: "name", href: `#/host/${encodeURIComponent(ns)}/${encodeURIComponent(name)}` });
    row.ns = h("span", { class: "ns", title: "Namespace" });
    row.sub = h("span", { class: "sub" });
    row.flag = h("span", { class: "flag", hidden: true });
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
      h("td", { colspan: COLUMNS.length, role: "alert" }, h("div", { class: "msg" }, row.message, " ", row.dismiss)));
    row.tr = h("tr", { class: "host" },
      h("td", { class: "select" }, row.pick),
      h("th", { scope: "row", "data-label": "Host" }, h("span", { class: "who" }, row.ns, row.name), row.flag, row.sub),
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
    const ns = host.metadata.namespace || "default";
    row.name.textContent = name;
    row.ns.textContent = ns;
    row.pick.checked = this.selected.has(row.key);
    row.sub.textContent = host.spec.ip || "";
    row.mac.textContent = host.spec.bootMACAddress || "—";
    row.imageLabel.textContent = `ISO for ${ns}/${name}`;
    row.configLabel.textContent = `Config for ${ns}/${name}`;
    row.tr.querySelector(".actions").setAttribute("aria-label", `Power actions for ${ns}/${name}`);
    const problems = state.hostProblems(host);
    const bad = problems.filter((p) => p.level === "bad");
    row.flag.hidden = problems.length === 0;
    row.flag.textContent = bad.length ? "cannot boot" : "check";
    row.flag.className = `flag ${bad.length ? "bad" : "warn"}`;
    row.flag.title = problems.map((p) => p.text).join("\n");

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
    // Another replica drives the BMCs: this one knows the state as stored, not when it was read.
    const fromStore = driven && reading && reading.source === "store";
    row.powerRead.textContent = driven && reading && reading.readAt ? `read ${clock(reading.readAt)}` : fromStore ? "as stored" : "";
    row.powerRead.title = reading && reading.readAt ? `Power state read from ${reading.protocol} ${reading.address} at ${reading.readAt}`
      : fromStore ? "Another bootgate replica drives the BMCs; this is the state it stored" : "";
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
    row.message.textContent = row.error ? `${ns}/${name}: ${row.error}` : "";
    for (const sel of [row.image, row.config]) {
      if (row.error) sel.setAttribute("aria-describedby", row.message.id);
      else sel.removeAttribute("aria-describedby");
    }
    row.tbody.classList.toggle("has-error", !!row.error);
    row.tbody.classList.toggle("picked", row.pick.checked);
    row.tbody.setAttribute("aria-busy", row.pending ? "true" : "false");
  }

  // --- one host ------------------------------------------------------------------------------

  /** Fetches the power readings; stops once this view has left the page. */
  async refreshReadings() {
    if (!this.table.isConnected && this.rendered) { clearInterval(this.readTimer); return; }
    try {
      const body = await api("GET", READINGS);
      this.powerControl = body.powerControl;
      this.readings = new Map(body.items.map((r) => [r.host, r]));
      if (this.table.isConnected) {
        for (const row of this.rows.values()) {
          const host = this.stored(row);
          if (host) this.updateRow(row, host);
        }
      }
    } catch {
      // The live indicator already says when bootgate cannot be reached.
    }
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
      announce(`${row.key}: ${what}`);
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

  /** The merge patch that sets `image` on `host`, clearing a config the new ISO does not list. */
  imagePatch(host, image) {
    const ref = host.spec.bootConfigRef || "";
    const spec = { image: image || null };
    const allowed = this.state.allowedConfigs(image);
    if (ref && allowed !== null && !allowed.includes(ref)) spec.bootConfigRef = null;
    return spec;
  }

  changeImage(row) {
    const host = this.stored(row);
    if (!host) return;
    const image = row.image.value;
    const spec = this.imagePatch(host, image);
    const what = `ISO set to ${image}` + ("bootConfigRef" in spec ? `, config ${host.spec.bootConfigRef} cleared` : "");
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
    if (action !== "on" && !confirm(`${action === "off" ? "Power off" : "Restart"} ${row.key}?`)) return;
    row.pending++;
    this.updateRow(row, host);
    try {
      const answer = await api("POST", `${hostURL(host)}/power`, { action });
      row.error = null;
      announce(`${row.key}: ${answer.message}`);
    } catch (err) {
      row.error = err.message;
    } finally {
      row.pending--;
      const now = this.stored(row);
      if (now && this.rows.get(row.key) === row) this.updateRow(row, now);
    }
    setTimeout(() => this.refreshReadings(), 300);
  }

  newHost() {
    if (this.form && this.form.root.isConnected) { this.form.focus(); return; }
    this.form = new HostForm(this.state, null, {
      done: (saved) => { this.formSlot.replaceChildren(); this.form = null; if (saved) announce(`${this.state.hostKey(saved)} created`); },
    });
    this.formSlot.replaceChildren(this.form.root);
    this.form.focus();
  }

  // --- selection and bulk actions ------------------------------------------------------------

  selectPage(on) {
    for (const key of this.rows.keys()) { if (on) this.selected.add(key); else this.selected.delete(key); }
    this.selectionChanged();
    this.render();
  }

  buildBulk() {
    this.selCount = h("strong", { class: "sel-count" });
    this.selectMatching = h("button", { type: "button", class: "link", name: "select-matching", onclick: () => {
      for (const host of this.matches()) this.selected.add(this.state.hostKey(host));
      this.selectionChanged();
      this.render();
    } });
    this.clearSel = h("button", { type: "button", class: "link", name: "clear-selection", onclick: () => {
      this.selected.clear(); this.selectionChanged(); this.render();
    } }, "Clear selection");
    this.bulkImage = h("select", { name: "bulk-image", id: "bulk-image", onchange: () => this.renderBulk(this.matches()) });
    this.bulkConfig = h("select", { name: "bulk-config", id: "bulk-config" });
    this.bulkButtons = [
      h("button", { type: "button", name: "bulk-apply", class: "primary", onclick: () => this.bulkSet() }, "Set ISO and config"),
      h("button", { type: "button", name: "bulk-on", onclick: () => this.bulkPower("on") }, "Power on"),
      h("button", { type: "button", name: "bulk-off", onclick: () => this.bulkPower("off") }, "Power off"),
      h("button", { type: "button", name: "bulk-restart", onclick: () => this.bulkPower("restart") }, "Restart"),
      h("button", { type: "button", name: "bulk-delete", class: "danger", onclick: () => this.bulkDelete() }, "Delete"),
    ];
    this.bulkProgress = h("span", { class: "progress", role: "status" });
    this.bulkResult = h("div", { class: "bulk-result", id: "bulk-result", "aria-live": "polite" });
    this.bulk = h("section", { class: "bulk card", "aria-label": "Bulk actions", hidden: true },
      h("div", { class: "bulk-line" }, this.selCount, this.selectMatching, this.clearSel),
      h("div", { class: "bulk-line" },
        h("label", { for: "bulk-image" }, "ISO"), this.bulkImage,
        h("label", { for: "bulk-config" }, "Config"), this.bulkConfig,
        this.bulkButtons[0], h("span", { class: "sep", "aria-hidden": "true" }), ...this.bulkButtons.slice(1), this.bulkProgress),
      this.bulkResult);
  }

  renderBulk(matching) {
    const { state } = this;
    // Hosts deleted meanwhile leave the selection.
    for (const key of this.selected) if (!state.hosts.items.has(key) && state.hosts.loaded) this.selected.delete(key);
    const n = this.selected.size;
    this.bulk.hidden = n === 0 && !this.bulkResult.childElementCount && !this.busy;
    this.selCount.textContent = `${n.toLocaleString("en")} selected`;
    const unpicked = matching.filter((o) => !this.selected.has(state.hostKey(o))).length;
    this.selectMatching.hidden = unpicked === 0;
    this.selectMatching.textContent = `Select all ${matching.length.toLocaleString("en")} matching`;
    setOptions(this.bulkImage, [{ value: "", label: "(keep)" }, ...[...state.isoNames(), "localboot"].map((v) => ({ value: v, label: v })),
      { value: NONE, label: "(none)" }]);
    const image = this.bulkImage.value;
    const allowed = image && image !== NONE ? state.allowedConfigs(image) : null;
    const names = allowed === null ? state.configNames() : allowed;
    setOptions(this.bulkConfig, [{ value: "", label: "(keep)" }, { value: NONE, label: "(none)" }, ...names.map((v) => ({ value: v, label: v }))]);
    for (const b of this.bulkButtons) b.disabled = this.busy || n === 0;
  }

  selectedHosts() {
    return [...this.selected].map((k) => this.state.hosts.items.get(k)).filter(Boolean);
  }

  /**
   * Runs `work(host)` on every selected host, a few at a time, then says in one place what was
   * done and what was refused, grouped by reason.
   */
  async runBulk(verb, work) {
    const hosts = this.selectedHosts();
    if (!hosts.length || this.busy) return;
    this.busy = true;
    this.bulkResult.replaceChildren();
    this.renderBulk(this.matches());
    const failures = [];
    const notes = [];
    const total = hosts.length.toLocaleString("en");
    this.bulkProgress.textContent = `${verb}: 0 of ${total}`;
    await eachLimited(hosts, BULK_WIDTH, async (host) => {
      const key = this.state.hostKey(host);
      try {
        const note = await work(host);
        if (note) notes.push(note);
      } catch (error) {
        failures.push({ key, error });
      }
    }, (done) => { this.bulkProgress.textContent = `${verb}: ${done.toLocaleString("en")} of ${total}`; });
    this.busy = false;
    this.bulkProgress.textContent = "";
    this.showBulkResult(verb, hosts.length, failures, notes);
    this.render();
  }

  showBulkResult(verb, count, failures, notes) {
    const n = (x) => x.toLocaleString("en");
    const done = count - failures.length;
    const lines = [h("p", { class: failures.length ? "partial" : "ok" },
      `${verb}: ${n(done)} of ${n(count)} hosts done` + (failures.length ? `, ${n(failures.length)} refused.` : "."))];
    if (notes.length) lines.push(h("p", { class: "note" }, notes.length === 1 ? notes[0] : `${notes[0]} (and on ${n(notes.length - 1)} more hosts)`));
    if (failures.length) {
      const groups = groupRefusals(failures);
      lines.push(h("ul", { class: "refusals" }, groups.map((g) => h("li", {},
        h("strong", {}, `${n(g.keys.length)} ${g.keys.length === 1 ? "host" : "hosts"}`), `: ${g.reason} `,
        h("span", { class: "sub inline" }, g.keys.slice(0, 3).join(", ") + (g.keys.length > 3 ? ` and ${n(g.keys.length - 3)} more` : ""))))));
      lines.push(h("button", { type: "button", name: "select-refused", class: "link", onclick: () => {
        this.selected = new Set(failures.map((f) => f.key));
        this.selectionChanged();
        this.filter.sel = "1";
        this.filterChanged();
      } }, `Select and show only the ${n(failures.length)} refused`));
    }
    lines.push(h("button", { type: "button", class: "link", name: "dismiss-result", onclick: () => { this.bulkResult.replaceChildren(); this.render(); } }, "Dismiss"));
    this.bulkResult.replaceChildren(...lines);
    this.bulkResult.classList.toggle("bad", failures.length > 0);
    announce(lines[0].textContent);
  }

  bulkSet() {
    const image = this.bulkImage.value;
    const config = this.bulkConfig.value;
    if (!image && !config) { this.bulkResult.replaceChildren(h("p", {}, "Choose an ISO, a config, or both first.")); this.bulk.hidden = false; return; }
    const what = [image ? `ISO ${image === NONE ? "(none)" : image}` : null, config ? `config ${config === NONE ? "(none)" : config}` : null].filter(Boolean).join(" and ");
    this.runBulk(`Set ${what}`, async (host) => {
      let spec = {};
      let note = null;
      if (image) {
        spec = this.imagePatch(host, image === NONE ? "" : image);
        if ("bootConfigRef" in spec && !config) note = `config ${host.spec.bootConfigRef} cleared on ${this.state.hostKey(host)}: ${image} does not list it`;
      }
      if (config) spec.bootConfigRef = config === NONE ? null : config;
      const updated = await patch(hostURL(host), { spec });
      this.state.hosts.accept(updated);
      return note;
    });
  }

  bulkPower(action) {
    const n = this.selected.size.toLocaleString("en");
    if (action !== "on" && !confirm(`${action === "off" ? "Power off" : "Restart"} ${n} hosts?`)) return;
    this.runBulk(action === "on" ? "Power on" : action === "off" ? "Power off" : "Restart", async (host) => {
      await api("POST", `${hostURL(host)}/power`, { action });
    });
  }

  bulkDelete() {
    const n = this.selected.size.toLocaleString("en");
    if (!confirm(`Delete ${n} hosts? This cannot be undone.`)) return;
    this.runBulk("Delete", async (host) => {
      await api("DELETE", hostURL(host));
    });
  }
}
