// The ISOs page: per ISCSICdrom its compatible configs (editable), target IQN, phase and hosts;
// its file (size, SHA-256, El Torito boot entries), an upload with a progress bar, and a browser
// of the files inside it.
import { api, patch, authHeaders } from "./api.js";
import { h, compare, announce, hostsLink, formatTime } from "./dom.js";
import { describeError } from "./refusals.js";
import { CardForm } from "./cardform.js";

const isoURL = (name) => `/api/v1/iscsi-cdroms/${encodeURIComponent(name)}`;
const HOSTS_SHOWN = 3;

function formatSize(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i ? `${v.toFixed(1)} ${units[i]}` : `${n} B`;
}

export class IsosView {
  constructor(root, state) {
    this.state = state;
    this.rows = new Map();
    this.empty = h("p", { class: "empty", hidden: true }, "No ISOs yet. Create ISCSICdrom objects through the API, then upload their files here.");
    this.table = h("table", { class: "grid isos" },
      h("caption", { class: "visually-hidden" }, "ISOs and the boot configs compatible with each"),
      h("thead", {}, h("tr", {},
        ["ISO", "File", "Phase", "Boot", "Target IQN", "Boot configs", "Hosts"].map((t) => h("th", { scope: "col" }, t)))));
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
    row.fileInfo = h("div", { class: "sub iso-file" });
    row.statusMessage = h("div", { class: "sub warn iso-message" });
    row.phase = h("span", { class: "badge" });
    row.boot = h("td", { "data-label": "Boot", class: "iso-boot" });
    // Upload: a file input, its button and a progress bar (XMLHttpRequest reports upload progress; fetch does not).
    row.picker = h("input", { type: "file", accept: ".iso,application/x-iso9660-image", class: "visually-hidden",
      onchange: () => { if (row.picker.files[0]) this.upload(row, row.picker.files[0]); } });
    row.uploadButton = h("button", { type: "button", class: "link upload", onclick: () => row.picker.click() }, "Upload ISO…");
    row.progress = h("progress", { max: 1, value: 0, hidden: true, class: "upload-progress" });
    row.progressText = h("span", { class: "sub inline upload-text" });
    row.browseButton = h("button", { type: "button", class: "link browse", onclick: () => this.browse(row, row.browsing ? null : "/") }, "Browse files");
    row.filesCell = h("td", { colspan: 7 });
    row.filesRow = h("tr", { class: "iso-files", hidden: true }, row.filesCell);
    row.iqn = h("code", { class: "iqn" });
    row.legend = h("legend", { class: "visually-hidden" }, `Boot configs for ${name}`);
    row.boxes = h("div", { class: "checks" });
    row.fieldset = h("fieldset", { class: "configs" }, row.legend, row.boxes);
    row.hosts = h("td", { "data-label": "Hosts", class: "iso-hosts" });
    row.message = h("span", { class: "message", id: `${id}-error` });
    row.errorRow = h("tr", { class: "row-error", hidden: true },
      h("td", { colspan: 7, role: "alert" }, h("div", { class: "msg" }, row.message, " ",
        h("button", { type: "button", class: "link", onclick: () => { row.error = null; this.render(); } }, "Dismiss"))));
    row.tr = h("tr", {},
      h("th", { scope: "row", "data-label": "ISO" }, row.title, row.description, row.actions),
      h("td", { "data-label": "File" }, row.file, row.fileInfo, row.statusMessage,
        h("div", { class: "iso-actions" }, row.picker, row.uploadButton, " ", row.browseButton, " ", row.progress, " ", row.progressText)),
      h("td", { "data-label": "Phase" }, row.phase),
      row.boot,
      h("td", { "data-label": "Target IQN" }, row.iqn),
      h("td", { "data-label": "Boot configs" }, row.fieldset),
      row.hosts);
    row.tbody = h("tbody", { dataset: { iso: name } }, row.tr, row.filesRow, row.errorRow);
    return row;
  }

  updateRow(row, iso) {
    const { state } = this;
    const spec = iso.spec || {};
    const status = iso.status || {};
    row.description.textContent = spec.description || "";
    row.file.textContent = spec.isoFile || "—";
    const facts = [];
    if (status.isoSize !== undefined) facts.push(formatSize(status.isoSize));
    if (status.sha256) facts.push(h("span", { class: "sha", title: status.sha256 }, `sha256 ${status.sha256.slice(0, 12)}…`));
    if (status.uploadedAt) facts.push(`stored ${formatTime(status.uploadedAt)}`);
    row.fileInfo.replaceChildren(...facts.flatMap((f, i) => (i ? [" · ", f] : [f])));
    row.statusMessage.textContent = status.message || "";
    const entries = status.bootEntries;
    row.boot.textContent = entries === undefined ? "—"
      : entries.length ? entries.filter((e) => e.bootable).map((e) => ({ bios: "BIOS", efi: "EFI" }[e.platform] || e.platform)).join(", ") || "none bootable"
        : "not bootable";
    row.browseButton.hidden = status.phase !== "Ready";
    if (row.browsing && status.phase !== "Ready") this.browse(row, null);
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

  /** Sends the file as mkube's scripts do (multipart field `iso`), showing its progress. */
  upload(row, file) {
    row.progress.hidden = false;
    row.progress.value = 0;
    row.progressText.textContent = `uploading ${file.name}…`;
    row.uploadButton.disabled = true;
    const form = new FormData();
    form.append("iso", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${isoURL(row.name)}/upload`);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      row.progress.value = e.loaded / e.total;
      row.progressText.textContent = `${formatSize(e.loaded)} of ${formatSize(e.total)}`;
    };
    const done = (message, error) => {
      row.uploadButton.disabled = false;
      row.progress.hidden = true;
      row.picker.value = "";
      row.progressText.textContent = error ? "" : message;
      row.error = error ? message : null;
      announce(`${row.name}: ${message}`);
      const now = this.state.isos.items.get(row.name);
      if (now && this.rows.get(row.name) === row) this.updateRow(row, now);
    };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = { message: xhr.responseText.trim() }; }
      if (xhr.status === 200) {
        this.state.isos.accept(body);
        done(`${file.name} stored (${formatSize(body.status.isoSize)})`, false);
      } else {
        done((body && body.message) || `HTTP ${xhr.status}`, true);
      }
    };
    xhr.onerror = () => done("the upload was cut off; the previous file, if any, still serves. Try again.", true);
    xhr.send(form);
  }

  /** Lists a folder inside the ISO (null closes the browser); files link to their bytes. */
  async browse(row, path) {
    row.browsing = path;
    row.filesRow.hidden = path === null;
    row.browseButton.textContent = path === null ? "Browse files" : "Close files";
    if (path === null) return;
    const base = `${isoURL(row.name)}/files?path=`;
    let entries;
    try {
      entries = await api("GET", `${base}${encodeURIComponent(path)}&list=true`);
    } catch (err) {
      row.filesCell.replaceChildren(h("p", { class: "warn" }, err.message));
      return;
    }
    if (row.browsing !== path) return;
    const parts = path.split("/").filter(Boolean);
    const crumbs = [h("button", { type: "button", class: "link crumb", onclick: () => this.browse(row, "/") }, row.name)];
    parts.forEach((p, i) => {
      const to = "/" + parts.slice(0, i + 1).join("/");
      crumbs.push(" / ", h("button", { type: "button", class: "link crumb", onclick: () => this.browse(row, to) }, p));
    });
    const join = (name) => (path === "/" ? "" : path) + "/" + name;
    const items = (entries || []).slice().sort((a, b) => (b.isDir - a.isDir) || compare(a.name, b.name)).map((e) =>
      h("li", { class: e.isDir ? "dir" : "file" },
        e.isDir ? h("button", { type: "button", class: "link", onclick: () => this.browse(row, join(e.name)) }, `${e.name}/`)
          : h("a", { href: `${base}${encodeURIComponent(join(e.name))}`, download: e.name }, e.name),
        e.isDir ? null : h("span", { class: "sub inline" }, formatSize(e.size))));
    row.filesCell.replaceChildren(h("nav", { class: "crumbs", "aria-label": `Folder in ${row.name}` }, ...crumbs),
      items.length ? h("ul", { class: "iso-listing" }, ...items) : h("p", { class: "muted" }, "empty folder"));
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
