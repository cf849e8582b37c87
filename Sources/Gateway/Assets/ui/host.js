// One host's page: its spec (never the BMC password), labels and annotations, NICs, BMC address,
// warnings, what it gets if it boots now (the server's preview), and its boot timeline from the
// boot events (iPXE script → config → boot-complete, with the time each step took).
import { api, hostURL } from "./api.js";
import { h, formatTime, announce } from "./dom.js";
import { HostForm } from "./hostform.js";
import { describeError } from "./refusals.js";

const EVENTS_EVERY_MS = 5000;
const STEP = { ipxe: "iPXE script", config: "config", "boot-complete": "boot complete", "ipxe-refused": "iPXE refused", "config-refused": "config refused" };

/** "1.2 s", "3 min 4 s", "2 h 5 min". */
export function duration(seconds) {
  if (!(seconds >= 0)) return "";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** Events (oldest first) → boots (newest first): a boot starts at each iPXE request. */
export function boots(events) {
  const out = [];
  let current = null;
  for (const e of events) {
    if (e.type === "ipxe" || e.type === "ipxe-refused" || !current) {
      current = { steps: [] };
      out.push(current);
    }
    const at = Date.parse(e.time);
    const prev = current.steps[current.steps.length - 1];
    current.steps.push({ ...e, at, took: prev ? (at - prev.at) / 1000 : null });
  }
  return out.reverse();
}

export class HostView {
  constructor(root, state, arg) {
    this.state = state;
    this.root = root;
    this.key = "host";
    this.setArg(arg);
    this.head = h("div", { class: "page-head with-actions" });
    this.formSlot = h("div", { class: "form-slot" });
    this.warnings = h("section", { class: "warnings", "aria-label": "Warnings" });
    this.facts = h("div", { class: "host-cards" });
    this.previewOut = h("div", { class: "preview-out", "aria-live": "polite" });
    this.timeline = h("div", { class: "timeline-out" });
    this.deleteError = h("div", { class: "form-error", role: "alert" });
    root.append(
      h("p", { class: "crumbs" }, h("a", { href: "#/hosts" }, "← Hosts")),
      this.head, this.deleteError, this.formSlot, this.warnings, this.facts,
      h("section", { class: "card preview", "aria-labelledby": "boot-now" }, h("h2", { id: "boot-now" }, "If it boots now"),
        h("p", { class: "hint" }, "What bootgate would answer this host right now (the preview records nothing)."), this.previewOut),
      h("section", { class: "card", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Boot timeline"), this.timeline));
    this.events = [];
    this.timer = setInterval(() => this.loadEvents(), EVENTS_EVERY_MS);
    this.loadEvents();
  }

  setArg(arg) {
    if (arg === this.hostKey) return;
    this.hostKey = arg.includes("/") ? arg : `default/${arg}`;
    this.signature = "";
    this.previewSignature = "";
    this.events = [];
    if (this.timeline) this.loadEvents();
  }

  leave() { clearInterval(this.timer); }

  host() { return this.state.hosts.items.get(this.hostKey); }

  render() {
    const { state } = this;
    const host = this.host();
    if (!host) {
      this.head.replaceChildren(h("h1", {}, this.hostKey));
      this.facts.replaceChildren(h("p", { class: "empty" }, state.hosts.loaded ? `There is no host ${this.hostKey}.` : "Loading…"));
      this.warnings.replaceChildren();
      return;
    }
    const isoRV = host.spec.image ? state.isos.items.get(host.spec.image)?.metadata.resourceVersion : "";
    const configRV = host.spec.bootConfigRef ? state.configs.items.get(host.spec.bootConfigRef)?.metadata.resourceVersion : "";
    const signature = JSON.stringify([host.metadata.resourceVersion, isoRV, configRV, state.hostsByIP().get(host.spec.ip)?.length,
      this.events.length, this.lastEventTime]);
    if (signature === this.signature) return;
    this.signature = signature;
    this.renderHead(host);
    this.renderWarnings(host);
    this.renderFacts(host);
    this.renderTimeline();
    const previewSignature = JSON.stringify([host.metadata.resourceVersion, isoRV, configRV]);
    if (previewSignature !== this.previewSignature) {
      this.previewSignature = previewSignature;
      clearTimeout(this.previewTimer);
      this.previewTimer = setTimeout(() => this.loadPreview(), 100);
    }
  }

  renderHead(host) {
    const ns = host.metadata.namespace || "default";
    this.head.replaceChildren(
      h("div", {}, h("h1", {}, h("span", { class: "ns" }, ns), host.metadata.name),
        h("p", { class: "hint" }, `BareMetalHost ${ns}/${host.metadata.name}, revision ${host.metadata.resourceVersion}`)),
      h("div", { class: "actions" },
        h("button", { type: "button", name: "edit-host", onclick: () => this.edit() }, "Edit"),
        h("button", { type: "button", name: "delete-host", class: "danger", onclick: () => this.remove() }, "Delete")));
  }

  renderWarnings(host) {
    const items = this.state.hostProblems(host).map((p) => ({ ...p }));
    const refusal = [...this.events].reverse().find((e) => e.type.endsWith("-refused"));
    const lastOK = [...this.events].reverse().find((e) => !e.type.endsWith("-refused"));
    if (refusal && (!lastOK || Date.parse(refusal.time) >= Date.parse(lastOK.time))) {
      items.push({ level: "bad", code: "last-refusal", text: `Last refusal (${formatTime(refusal.time)}, ${STEP[refusal.type]}): ${refusal.detail}` });
    }
    this.warnings.replaceChildren(items.length ? h("ul", {}, items.map((p) => h("li", { class: p.level, dataset: { code: p.code } }, p.text))) : "");
    this.warnings.hidden = items.length === 0;
  }

  renderFacts(host) {
    const spec = host.spec || {};
    const status = host.status || {};
    const meta = host.metadata;
    const dl = (pairs) => h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
      .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    const code = (v) => (v ? h("code", {}, v) : null);
    const chips = (map) => {
      const entries = Object.entries(map || {});
      return entries.length ? h("ul", { class: "chips" }, entries.map(([k, v]) => h("li", {}, h("code", {}, `${k}=${v}`)))) : h("p", { class: "muted" }, "none");
    };
    const bmc = spec.bmc || {};
    const nics = spec.nics || [];
    const cond = (status.conditions || []).map((c) => `${c.type}: ${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}`);
    this.facts.replaceChildren(
      h("section", { class: "card spec", "aria-labelledby": "spec-title" }, h("h2", { id: "spec-title" }, "Spec"),
        dl([["Namespace", meta.namespace || "default"], ["Boot MAC", code(spec.bootMACAddress)], ["IP", code(spec.ip)], ["Hostname", spec.hostname],
          ["ISO", spec.image ? (spec.image === "localboot" ? "localboot" : h("a", { href: "#/isos" }, spec.image)) : "(none: boots the local disk)"],
          ["Config", spec.bootConfigRef ? h("a", { href: `#/configs/${encodeURIComponent(spec.bootConfigRef)}` }, spec.bootConfigRef) : "(none)"],
          ["Online", spec.online === undefined ? "" : String(spec.online)], ["Firmware", spec.firmware], ["Local boot", spec.localBoot],
          ["BMC address", code(bmc.address)], ["BMC user", bmc.username], ["BMC password", bmc.address || bmc.username ? "not shown" : ""]])),
      h("section", { class: "card status", "aria-labelledby": "status-title" }, h("h2", { id: "status-title" }, "Status"),
        dl([["Power", status.poweredOn ? "On" : "Off"], ["Last boot", formatTime(status.lastBoot)], ["Boots", status.bootCount ?? "0"],
          ["Conditions", cond.length ? cond.join("; ") : ""], ["Created", formatTime(meta.creationTimestamp)]])),
      h("section", { class: "card labels", "aria-labelledby": "labels-title" }, h("h2", { id: "labels-title" }, "Labels and annotations"),
        h("h3", {}, "Labels"), chips(meta.labels), h("h3", {}, "Annotations"), chips(meta.annotations)),
      h("section", { class: "card nics", "aria-labelledby": "nics-title" }, h("h2", { id: "nics-title" }, `NICs (${nics.length})`),
        nics.length ? h("table", { class: "grid small" }, h("thead", {}, h("tr", {}, ["MAC", "IP", "Role", "Network", "Hostname"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, nics.map((n) => h("tr", {}, [n.mac, n.ip, n.role, n.network, n.hostname].map((v) => h("td", {}, v || "—"))))))
          : h("p", { class: "muted" }, "Only the boot MAC.")));
  }

  renderTimeline() {
    const list = boots(this.events);
    if (!list.length) {
      this.timeline.replaceChildren(h("p", { class: "muted" }, this.eventsError || "No boot seen since bootgate started."));
      return;
    }
    this.timeline.replaceChildren(h("ol", { class: "boots" }, list.slice(0, 10).map((b) => {
      const first = b.steps[0];
      const last = b.steps[b.steps.length - 1];
      const refused = b.steps.some((s) => s.type.endsWith("-refused"));
      const complete = b.steps.some((s) => s.type === "boot-complete");
      return h("li", { class: `boot ${refused ? "refused" : complete ? "complete" : "open"}` },
        h("div", { class: "boot-head" }, h("strong", {}, formatTime(first.time)),
          h("span", { class: "sub inline" }, refused ? "refused" : complete ? `complete in ${duration((last.at - first.at) / 1000)}` : "in progress or unfinished")),
        h("ol", { class: "steps" }, b.steps.map((s) => h("li", { class: `step ${s.type}`, dataset: { type: s.type } },
          h("span", { class: "step-name" }, STEP[s.type] || s.type),
          s.took !== null ? h("span", { class: "took" }, `+${duration(s.took)}`) : null,
          h("span", { class: "sub inline" }, s.detail)))));
    })));
  }

  async loadEvents() {
    if (!this.timeline || !this.timeline.isConnected) { if (this.rendered) clearInterval(this.timer); }
    this.rendered = true;
    const key = this.hostKey;
    try {
      const body = await api("GET", `/api/v1/events?host=${encodeURIComponent(key)}&limit=200`);
      if (key !== this.hostKey) return;
      this.events = body.items || [];
      this.eventsError = null;
    } catch (err) {
      this.eventsError = `Boot events unavailable: ${err.message}`;
    }
    this.lastEventTime = this.events.length ? this.events[this.events.length - 1].time : null;
    this.render();
  }

  async loadPreview() {
    const host = this.host();
    if (!host) return;
    const seq = (this.previewSeq = (this.previewSeq || 0) + 1);
    let result;
    try {
      result = await api("GET", `${hostURL(host)}/preview`);
    } catch (err) {
      if (seq === this.previewSeq) this.previewOut.replaceChildren(h("p", { class: "muted" }, `Preview unavailable: ${err.message}`));
      return;
    }
    if (seq !== this.previewSeq) return;
    this.serverProblems = result.problems || [];
    const out = [];
    if (this.serverProblems.length) out.push(h("ul", { class: "problems" }, this.serverProblems.map((p) => h("li", {}, p))));
    out.push(h("h3", {}, "iPXE script"), h("pre", { class: "code", tabindex: 0 }, result.ipxe || "(none: the host has no valid MAC)"));
    if (result.config) {
      const c = result.config;
      out.push(h("h3", {}, `Config ${c.name}: ${c.file}`, h("span", { class: "sub inline" }, c.contentType || "")), h("pre", { class: "code", tabindex: 0 }, c.body || ""));
    } else {
      out.push(h("p", { class: "muted" }, "No config is served to this host."));
    }
    this.previewOut.replaceChildren(...out);
  }

  edit() {
    const host = this.host();
    if (!host) return;
    this.form = new HostForm(this.state, host, {
      done: (saved) => { this.formSlot.replaceChildren(); this.facts.hidden = false; if (saved) { announce(`${this.hostKey} saved`); this.signature = ""; this.render(); } },
    });
    this.formSlot.replaceChildren(this.form.root);
    this.facts.hidden = true;
    this.form.focus();
  }

  async remove() {
    const host = this.host();
    if (!host || !confirm(`Delete host ${this.hostKey}? This cannot be undone.`)) return;
    try {
      await api("DELETE", hostURL(host));
    } catch (err) {
      this.deleteError.replaceChildren(describeError(err));
      return;
    }
    announce(`${this.hostKey} deleted`);
    location.hash = "#/hosts";
  }
}
