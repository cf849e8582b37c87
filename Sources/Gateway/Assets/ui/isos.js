// The ISOs page: per ISCSICdrom its compatible configs (editable), target IQN, phase and hosts.
import { patch } from "./api.js";
import { h, compare, announce } from "./dom.js";

export class IsosView {
  constructor(root, state) {
    this.state = state;
    this.rows = new Map();
    this.empty = h("p", { class: "empty", hidden: true }, "No ISOs yet. Create ISCSICdrom objects through the API.");
    this.table = h("table", { class: "grid isos" },
      h("caption", { class: "visually-hidden" }, "ISOs and the boot configs compatible with each"),
      h("thead", {}, h("tr", {},
        ["ISO", "File", "Phase", "Target IQN", "Boot configs", "Hosts"].map((t) => h("th", { scope: "col" }, t)))));
    root.append(
      h("div", { class: "page-head" },
        h("h1", {}, "ISOs"),
        h("p", { class: "hint" }, "Tick the configs that work with each ISO: the hosts page offers only these. ",
          "A config still used by a host on that ISO cannot be removed.")),
      this.table, this.empty);
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
      h("th", { scope: "row", "data-label": "ISO" }, row.title, row.description),
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

    const users = state.sortedHosts().filter((host) => (host.spec.image || "") === row.name);
    row.hosts.textContent = users.length ? users.map((host) => host.metadata.name).join(", ") : "—";

    row.errorRow.hidden = !row.error;
    row.message.textContent = row.error ? `${row.name}: ${row.error}` : "";
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
      row.error = err.message;
    } finally {
      row.pending--;
      const now = this.state.isos.items.get(row.name);
      if (now && this.rows.get(row.name) === row) this.updateRow(row, now);
    }
  }
}
