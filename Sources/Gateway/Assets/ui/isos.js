// The ISOs page: per ISCSICdrom its compatible configs (editable), target IQN, phase and hosts.
import { api, patch } from "./api.js";
import { h, compare, announce, hostsLink } from "./dom.js";
import { describeError } from "./refusals.js";
import { CardForm } from "./cardform.js";

const isoURL = (name) => `/api/v1/iscsi-cdroms/${encodeURIComponent(name)}`;
const HOSTS_SHOWN = 3;

export class IsosView {
  constructor(root, state) {
    this.state = state;
    this.rows = new Map();
    this.empty = h("p", { class: "empty", hidden: true }, "No ISOs yet. Create ISCSICdrom objects through the API.");
    this.table = h("table", { class: "grid isos" },
      h("caption", { class: "visually-hidden" }, "ISOs and the boot configs compatible with each"),
      h("thead", {}, h("tr", {},
        ["ISO", "File", "Phase", "Target IQN", "Boot configs", "Hosts"].map((t) => h("th", { scope: "col" }, t)))));
    this.formSlot = h("div", { class: "form-slot" });
    root.append(
      h("div", { class: "page-head with-actions" },
        h("div", {},
          h("h1", {}, "ISOs"),
          h("p", { class: "hint" }, "Tick the configs that work with each ISO: the hosts page offers only these. ",
            "A config still used by a host on that ISO cannot be removed.")),
        h("button", { type: "button", name: "new-iso", class: "primary", onclick: () => this.openForm(null) }, "New ISO")),
      this.formSlot, this.table, this.empty);
  }

  /** Hosts booting each ISO (one pass over the hosts, cached until a host changes). */
  usersByISO() {
    const { state } = this;
    if (this.usersStamp !== state.hosts.version) {
      this.usersStamp = state.hosts.version;
      this.users = new Map();
      for (const host of state.sortedHosts()) {
        const image = host.spec.image || "";
        if (!image) continue;
        const list = this.users.get(image);
        if (list) list.push(host); else this.users.set(image, [host]);
      }
    }
    return this.users;
  }

  /** The create form (iso null) or the edit form of an ISO's file and description. */
  openForm(iso) {
    const { state } = this;
    const spec = (iso && iso.spec) || {};
    const form = new CardForm({
      title: iso ? `Edit ISO ${iso.metadata.name}` : "New ISO", name: "iso-form", submitLabel: iso ? "Save" : "Create",
      fields: [
        { path: "metadata.name", label: "Name", value: iso ? iso.metadata.name : "", disabled: !!iso, placeholder: "coreos-live" },
        { path: "spec.isoFile", label: "ISO file", value: spec.isoFile, placeholder: "coreos-live.iso" },
        { path: "spec.description", label: "Description", value: spec.description },
      ],
      submit: async (v) => {
        const body = { spec: { isoFile: v["spec.isoFile"].trim(), description: v["spec.description"].trim() || null } };
        if (iso) return patch(isoURL(iso.metadata.name), body);
        if (!body.spec.description) delete body.spec.description;
        return api("POST", "/api/v1/iscsi-cdroms", { apiVersion: "v1", kind: "ISCSICdrom", metadata: { name: v["metadata.name"].trim() }, spec: body.spec });
      },
      done: (saved) => {
        this.formSlot.replaceChildren();
        if (saved) { state.isos.accept(saved); announce(`ISO ${saved.metadata.name} ${iso ? "saved" : "created"}`); }
      },
    });
    this.formSlot.replaceChildren(form.root);
    form.focus();
  }

  async remove(row) {
    const users = this.usersByISO().get(row.name) || [];
    if (!confirm(`Delete ISO ${row.name}?`)) return;
    try {
      await api("DELETE", isoURL(row.name));
      announce(`ISO ${row.name} deleted`);
    } catch (err) {
      row.error = err;
      row.errorContext = { filter: { iso: row.name }, count: users.length || null };
      this.render();
    }
  }

  render() {
    const { state } = this;
    const names = state.isoNames();
    for (const [name, row] of this.rows) {
      if (!state.isos.items.has(name)) { row.tbody.remove(); this.rows.delete(name); }
    }
    let previous = this.table.tHead;
    for (const name of names) {
      let row = this.rows.get(name);
      if (!row) { row = this.createRow(name); this.rows.set(name, row); }
      this.updateRow(row, state.isos.items.get(name));
      if (previous.nextSibling !== row.tbody) previous.after(row.tbody);
      previous = row.tbody;
    }
    this.empty.hidden = names.length > 0 || !state.isos.loaded;
    this.table.hidden = names.length === 0 && state.isos.loaded;
  }

  createRow(name) {
    const id = `iso-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const row = { name, id, pending: 0, error: null, signature: "" };
    row.title = h("span", { class: "name" }, name);
    row.actions = h("div", { class: "actions" },
      h("button", { type: "button", name: "edit-iso", class: "link", onclick: () => this.openForm(this.state.isos.items.get(name)) }, "Edit"),
      h("button", { type: "button", name: "delete-iso", class: "link danger", onclick: () => this.remove(row) }, "Delete"));
    row.description = h("span", { class: "sub" });
    row.file = h("code");
    row.phase = h("span", { class: "badge" });
    row.iqn = h("code", { class: "iqn" });
    row.legend = h("legend", { class: "visually-hidden" }, `Boot configs for ${name}`);
    row.boxes = h("div", { class: "checks" });
    row.fieldset = h("fieldset", { class: "configs" }, row.legend, row.boxes);
    row.hosts = h("td", { "data-label": "Hosts", class: "iso-hosts" });
    row.message = h("span", { class: "message", id: `${id}-error` });
    row.errorRow = h("tr", { class: "row-error", hidden: true },
      h("td", { colspan: 6, role: "alert" }, h("div", { class: "msg" }, row.message, " ",
        h("button", { type: "button", class: "link", onclick: () => { row.error = null; this.render(); } }, "Dismiss"))));
    row.tr = h("tr", {},
      h("th", { scope: "row", "data-label": "ISO" }, row.title, row.description, row.actions),
      h("td", { "data-label": "File" }, row.file),
      h("td", { "data-label": "Phase" }, row.phase),
      h("td", { "data-label": "Target IQN" }, row.iqn),
      h("td", { "data-label": "Boot configs" }, row.fieldset),
      row.hosts);
    row.tbody = h("tbody", { dataset: { iso: name } }, row.tr, row.errorRow);
    return row;
  }

  updateRow(row, iso) {
    const { state } = this;
    const spec = iso.spec || {};
    const status = iso.status || {};
    row.description.textContent = spec.description || "";
    row.file.textContent = spec.isoFile || "—";
    row.phase.textContent = status.phase || "—";
    row.phase.className = `badge phase-${(status.phase || "unknown").toLowerCase()}`;
    // Allow line breaks after ":" only (an IQN has no spaces).
    const iqn = status.targetIQN || "";
    row.iqn.replaceChildren(...(iqn ? iqn.split(/(?<=:)/).flatMap((part, i) => [i ? h("wbr") : null, h("span", { class: "nowrap" }, part)]).filter(Boolean) : ["not reported yet"]));
    row.iqn.classList.toggle("muted", !status.targetIQN);

    const listed = spec.bootConfigs || [];
    const all = [...new Set([...state.configNames(), ...listed])].sort(compare);
    const signature = all.join("\n") + (state.configs.loaded ? "" : "\n…");
    if (signature !== row.signature) {
      const focused = row.boxes.contains(document.activeElement) ? document.activeElement.value : null;
      row.signature = signature;
      row.boxes.replaceChildren(...all.map((config) => {
        const format = state.configs.items.get(config)?.spec?.format;
        const box = h("input", { type: "checkbox", value: config, onchange: () => this.toggle(row, config, box.checked) });
        return h("label", { class: "check" }, box, " ", config,
          format ? h("span", { class: "sub inline" }, format)
            : state.configs.loaded ? h("span", { class: "sub inline warn" }, "missing") : null);
      }));
      if (focused) row.boxes.querySelector(`input[value="${CSS.escape(focused)}"]`)?.focus();
    }
    if (!row.pending) {
      for (const box of row.boxes.querySelectorAll("input")) box.checked = listed.includes(box.value);
    }
    if (all.length === 0) row.boxes.replaceChildren(h("span", { class: "muted" }, "No configs exist yet"));

    // A count, the first few, and a link to all of them: an ISO may boot a whole rack.
    const users = this.usersByISO().get(row.name) || [];
    const usersSignature = `${users.length}:${users.slice(0, HOSTS_SHOWN).map(state.hostKey).join(",")}`;
    if (row.usersSignature !== usersSignature) {
      row.usersSignature = usersSignature;
      row.hosts.replaceChildren(...(users.length === 0 ? ["—"] : [
        h("a", { href: hostsLink({ iso: row.name }), class: "host-count" }, users.length === 1 ? "1 host" : `${users.length.toLocaleString("en")} hosts`),
        h("span", { class: "sub" }, users.slice(0, HOSTS_SHOWN).map(state.hostKey).join(", ") + (users.length > HOSTS_SHOWN ? ", …" : ""))]));
    }

    row.errorRow.hidden = !row.error;
    row.message.replaceChildren(...(row.error ? [`${row.name}: `, describeError(row.error, row.errorContext || {})] : []));
    row.tbody.classList.toggle("has-error", !!row.error);
    row.tbody.setAttribute("aria-busy", row.pending ? "true" : "false");
  }

  async toggle(row, config, checked) {
    const iso = this.state.isos.items.get(row.name);
    if (!iso) return;
    const listed = iso.spec.bootConfigs || [];
    const next = checked ? [...listed.filter((n) => n !== config), config] : listed.filter((n) => n !== config);
    row.pending++;
    try {
      const updated = await patch(`/api/v1/iscsi-cdroms/${encodeURIComponent(row.name)}`,
        { spec: { bootConfigs: next.length ? next : null } });
      this.state.isos.accept(updated);
      row.error = null;
      announce(`${row.name}: ${config} ${checked ? "added" : "removed"}`);
    } catch (err) {
      // Unticking a config a rack uses names every host: said as a count and a link.
      const using = (this.usersByISO().get(row.name) || []).filter((host) => host.spec.bootConfigRef === config).length;
      row.error = err;
      row.errorContext = checked ? {} : { filter: { iso: row.name, config }, count: using || null };
    } finally {
      row.pending--;
      const now = this.state.isos.items.get(row.name);
      if (now && this.rows.get(row.name) === row) this.updateRow(row, now);
    }
  }
}
