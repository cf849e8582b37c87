// The form that creates a BareMetalHost or edits one. The server validates; its diagnostics
// (Status causes with a field path) are shown at the field they name, the rest above the buttons.
// The BMC password is write-only: never shown, sent only when typed.
import { api, patch, hostURL } from "./api.js";
import { h, setOptions } from "./dom.js";
import { clearFieldErrors, showFieldErrors } from "./fielderrors.js";

/** "a=b" lines ⇄ a map. */
const toLines = (map) => Object.entries(map || {}).map(([k, v]) => `${k}=${v}`).join("\n");
function fromLines(text) {
  const map = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    const eq = t.indexOf("=");
    if (eq < 0) map[t] = ""; else map[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  return map;
}
/** NICs as "MAC IP role" lines ⇄ spec.nics. */
const nicLines = (nics) => (nics || []).map((n) => [n.mac, n.ip || "-", n.role || ""].join(" ").trim()).join("\n");
function nicsFrom(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
    const [mac, ip, role] = l.split(/\s+/);
    const nic = { mac };
    if (ip && ip !== "-") nic.ip = ip;
    nic.role = role || "";
    return nic;
  });
}
/** A merge patch that turns map `before` into `after` (removed keys become null). */
function mapPatch(before, after) {
  const out = {};
  for (const k of Object.keys(before || {})) if (!(k in after)) out[k] = null;
  for (const [k, v] of Object.entries(after)) if ((before || {})[k] !== v) out[k] = v;
  return out;
}

export class HostForm {
  /** `host` null: a new host. `done(saved)` when saved (the stored object) or cancelled (null). */
  constructor(state, host, { done }) {
    this.state = state;
    this.host = host;
    this.done = done;
    this.fields = new Map(); // field path → {input, error}
    const spec = (host && host.spec) || {};
    const meta = (host && host.metadata) || {};
    const input = (path, label, attrs = {}, hint = null) => {
      const id = `hf-${path.replace(/[^A-Za-z0-9]/g, "-")}`;
      const el = attrs.tag === "textarea" ? h("textarea", { id, name: path, rows: attrs.rows || 3, spellcheck: "false" }, attrs.value || "")
        : attrs.tag === "select" ? h("select", { id, name: path, onchange: attrs.onchange })
          : h("input", { id, name: path, type: attrs.type || "text", value: attrs.value || "", autocomplete: "off", spellcheck: "false",
            placeholder: attrs.placeholder || "", disabled: attrs.disabled || false });
      const error = h("span", { class: "field-error", id: `${id}-error`, role: "alert" });
      el.setAttribute("aria-describedby", `${id}-error`);
      this.fields.set(path, { input: el, error });
      return h("div", { class: "field", dataset: { field: path } }, h("label", { for: id }, label), el,
        hint ? h("span", { class: "sub" }, hint) : null, error);
    };
    const editing = !!host;
    this.root = h("form", { class: "card host-form", novalidate: true, "aria-label": editing ? `Edit ${state.hostKey(host)}` : "New host",
      onsubmit: (e) => { e.preventDefault(); this.save(); } },
      h("h2", {}, editing ? `Edit ${state.hostKey(host)}` : "New host"),
      h("div", { class: "form-grid" },
        input("metadata.namespace", "Namespace", { value: meta.namespace || "default", disabled: editing }),
        input("metadata.name", "Name", { value: meta.name || "", disabled: editing, placeholder: "rack1-node07" }),
        input("spec.bootMACAddress", "Boot MAC", { value: spec.bootMACAddress, placeholder: "AC:1F:6B:8A:A7:9C" }),
        input("spec.ip", "IP", { value: spec.ip, placeholder: "the installer's source address" }),
        input("spec.hostname", "Hostname", { value: spec.hostname }),
        input("spec.image", "ISO", { tag: "select", onchange: () => this.syncConfigs() }),
        input("spec.bootConfigRef", "Config", { tag: "select" }),
        input("spec.bmc.address", "BMC address", { value: spec.bmc && spec.bmc.address, placeholder: "ipmi://host or redfish://host/…" }),
        input("spec.bmc.username", "BMC user", { value: spec.bmc && spec.bmc.username }),
        input("spec.bmc.password", "BMC password", { type: "password", placeholder: editing ? "unchanged (never shown)" : "" }),
        input("metadata.labels", "Labels", { tag: "textarea", value: toLines(meta.labels) }, "one key=value a line"),
        input("metadata.annotations", "Annotations", { tag: "textarea", value: toLines(meta.annotations) }, "one key=value a line"),
        input("spec.nics", "NICs", { tag: "textarea", value: nicLines(spec.nics) }, "one NIC a line: MAC IP role (- for no IP)")),
      this.general = h("div", { class: "form-error", role: "alert" }),
      h("div", { class: "buttons" },
        h("button", { type: "button", name: "cancel", onclick: () => this.done(null) }, "Cancel"),
        h("button", { type: "submit", name: "save", class: "primary" }, editing ? "Save" : "Create")));
    const image = this.fields.get("spec.image").input;
    setOptions(image, [{ value: "", label: "(none)" }, ...[...state.isoNames(), "localboot"].map((n) => ({ value: n, label: n }))]);
    image.value = spec.image || "";
    this.syncConfigs();
    this.fields.get("spec.bootConfigRef").input.value = spec.bootConfigRef || "";
  }

  value(path) { return this.fields.get(path).input.value.trim(); }

  focus() { (this.host ? this.fields.get("spec.bootMACAddress") : this.fields.get("metadata.name")).input.focus(); }

  /** The Config choices follow the chosen ISO, as on the hosts list. */
  syncConfigs() {
    const select = this.fields.get("spec.bootConfigRef").input;
    const current = select.value || (this.host && this.host.spec.bootConfigRef) || "";
    const allowed = this.state.allowedConfigs(this.fields.get("spec.image").input.value);
    const names = allowed === null ? this.state.configNames() : allowed;
    setOptions(select, [{ value: "", label: "(none)" }, ...names.map((n) => ({ value: n, label: n }))]);
    select.value = names.includes(current) ? current : "";
  }

  /** The spec the form describes (empty fields left out). */
  spec() {
    const spec = {};
    for (const f of ["bootMACAddress", "ip", "hostname", "image", "bootConfigRef"]) {
      const v = this.value(`spec.${f}`);
      if (v) spec[f] = v;
    }
    const bmc = {};
    for (const f of ["address", "username", "password"]) {
      const v = this.value(`spec.bmc.${f}`);
      if (v) bmc[f] = v;
    }
    if (Object.keys(bmc).length) spec.bmc = bmc;
    const nics = nicsFrom(this.fields.get("spec.nics").input.value);
    if (nics.length) spec.nics = nics;
    return spec;
  }

  clearErrors() { clearFieldErrors(this.fields, this.general); }

  showError(err) { showFieldErrors(this.fields, this.general, err); }

  async save() {
    this.clearErrors();
    const labels = fromLines(this.fields.get("metadata.labels").input.value);
    const annotations = fromLines(this.fields.get("metadata.annotations").input.value);
    const spec = this.spec();
    let saved;
    try {
      if (!this.host) {
        const ns = this.value("metadata.namespace") || "default";
        const metadata = { name: this.value("metadata.name"), namespace: ns };
        if (Object.keys(labels).length) metadata.labels = labels;
        if (Object.keys(annotations).length) metadata.annotations = annotations;
        saved = await api("POST", `/api/v1/namespaces/${encodeURIComponent(ns)}/baremetalhosts`,
          { apiVersion: "v1", kind: "BareMetalHost", metadata, spec });
      } else {
        const old = this.host.spec || {};
        const body = { spec: {} };
        for (const f of ["bootMACAddress", "ip", "hostname", "image", "bootConfigRef"]) {
          if ((old[f] || "") !== (spec[f] || "")) body.spec[f] = spec[f] || null;
        }
        const oldBMC = old.bmc || {};
        const bmc = {};
        for (const f of ["address", "username"]) if ((oldBMC[f] || "") !== ((spec.bmc || {})[f] || "")) bmc[f] = (spec.bmc || {})[f] || null;
        if (spec.bmc && spec.bmc.password) bmc.password = spec.bmc.password;
        if (Object.keys(bmc).length) body.spec.bmc = bmc;
        // Unchanged text keeps the NICs as stored (with fields the form does not show).
        if (this.fields.get("spec.nics").input.value.trim() !== nicLines(old.nics).trim()) body.spec.nics = spec.nics || null;
        const meta = {};
        const lp = mapPatch(this.host.metadata.labels, labels);
        const ap = mapPatch(this.host.metadata.annotations, annotations);
        if (Object.keys(lp).length) meta.labels = lp;
        if (Object.keys(ap).length) meta.annotations = ap;
        if (Object.keys(meta).length) body.metadata = meta;
        saved = await patch(hostURL(this.host), body);
      }
    } catch (err) {
      this.showError(err);
      return;
    }
    this.state.hosts.accept(saved);
    this.done(saved);
  }
}
