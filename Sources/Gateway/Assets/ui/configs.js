// The Configs page: every BootConfig with its format and files; a file can be edited (the server
// validates: refused edits show its diagnostics per line), and the rendered preview for a host.
import { api, patch } from "./api.js";
import { h, setOptions, compare, announce, hostsLink } from "./dom.js";
import { describeError } from "./refusals.js";
import { CardForm } from "./cardform.js";

const FORMATS = ["ignition", "kickstart", "cloud-init", "custom"];
const PREVIEW_HOSTS = 200; // hosts offered in the preview's dropdown (a rack has thousands)
const USERS_SHOWN = 3;

const configURL = (name) => `/api/v1/bootconfigs/${encodeURIComponent(name)}`;

/** "spec.data[ks.cfg]:12" → {file: "ks.cfg", line: 12}; other fields → {file: null}. */
function parseField(field) {
  const m = /^spec\.data\[(.+)\](?::(\d+))?/.exec(field || "");
  return m ? { file: m[1], line: m[2] ? Number(m[2]) : null } : { file: null, line: null };
}

export class ConfigsView {
  constructor(root, state, arg) {
    this.state = state;
    this.selected = arg || "";
    this.editors = new Map(); // file → {draft, causes, error, checked}
    this.detailSignature = "";
    this.listSignature = "";
    this.preview = { host: "", signature: "", timer: null, seq: 0 };

    this.list = h("ul", { class: "config-list" });
    this.detail = h("div", { class: "config-detail" });
    this.previewHost = h("select", { id: "preview-host", name: "preview-host", onchange: () => this.loadPreview(true) });
    this.previewOut = h("div", { class: "preview-out", "aria-live": "polite" });
    this.previewNote = h("p", { class: "hint" });
    this.previewSection = h("section", { class: "card preview", "aria-labelledby": "preview-title" },
      h("h2", { id: "preview-title" }, "Rendered preview"),
      h("div", { class: "toolbar" },
        h("label", { for: "preview-host" }, "Host"), this.previewHost,
        h("button", { type: "button", onclick: () => this.loadPreview(true) }, "Refresh")),
      this.previewNote, this.previewOut);
    this.formSlot = h("div", { class: "form-slot" });
    this.detailError = h("div", { class: "form-error", role: "alert" });
    this.formats = FORMATS;
    api("GET", "/api/v1/renderers").then((r) => { this.formats = [...new Set([...(r.items || []).map((i) => i.format), ...FORMATS])]; }, () => {});
    root.append(
      h("div", { class: "page-head with-actions" },
        h("div", {},
          h("h1", {}, "Configs"),
          h("p", { class: "hint" }, "BootConfigs served to booting hosts. bootgate checks every file on save and refuses invalid ones.")),
        h("button", { type: "button", name: "new-config", class: "primary", onclick: () => this.openForm(null) }, "New config")),
      this.formSlot, this.detailError,
      h("div", { class: "split" },
        h("nav", { "aria-label": "Configs", class: "card list-card" }, this.list),
        h("div", { class: "detail-col" }, this.detail, this.previewSection)));
  }

  setArg(arg) {
    if (arg !== this.selected) { this.selected = arg; this.editors.clear(); this.forceDetail = true; }
  }

  /** Hosts using each config (one pass over the hosts, cached until a host changes). */
  hostsUsing(name) {
    const { state } = this;
    if (this.usersStamp !== state.hosts.version) {
      this.usersStamp = state.hosts.version;
      this.users = new Map();
      for (const host of state.sortedHosts()) {
        const ref = host.spec.bootConfigRef;
        if (!ref) continue;
        const list = this.users.get(ref);
        if (list) list.push(host); else this.users.set(ref, [host]);
      }
    }
    return this.users.get(name) || [];
  }

  /** The create form (config null), or the edit form of a config's format and description. */
  openForm(config) {
    const { state } = this;
    const spec = (config && config.spec) || {};
    const fields = [
      { path: "metadata.name", label: "Name", value: config ? config.metadata.name : "", disabled: !!config, placeholder: "fedora-server" },
      { path: "spec.format", label: "Format", type: "select", options: this.formats, value: spec.format || "ignition" },
      { path: "spec.description", label: "Description", value: spec.description },
    ];
    if (!config) {
      fields.push({ path: "file", label: "File name", value: "", placeholder: "config.ign, ks.cfg, user-data" },
        { path: "spec.data", label: "Content", type: "textarea", rows: 10, code: true, wide: true });
    }
    const form = new CardForm({
      title: config ? `Edit config ${config.metadata.name}` : "New config", name: "config-form", submitLabel: config ? "Save" : "Create",
      fields,
      submit: async (v) => {
        const body = { format: v["spec.format"], description: v["spec.description"].trim() || null };
        if (config) return patch(`/api/v1/bootconfigs/${encodeURIComponent(config.metadata.name)}`, { spec: body });
        if (!body.description) delete body.description;
        const file = v.file.trim();
        body.data = file ? { [file]: v["spec.data"] } : {};
        return api("POST", "/api/v1/bootconfigs", { apiVersion: "v1", kind: "BootConfig", metadata: { name: v["metadata.name"].trim() }, spec: body });
      },
      done: (saved) => {
        this.formSlot.replaceChildren();
        if (!saved) return;
        state.configs.accept(saved);
        announce(`config ${saved.metadata.name} ${config ? "saved" : "created"}`);
        this.forceDetail = true;
        if (!config) location.hash = `#/configs/${encodeURIComponent(saved.metadata.name)}`;
        else this.render();
      },
    });
    this.formSlot.replaceChildren(form.root);
    form.focus();
  }

  /** A new file in a config (the server validates it with the config's format). */
  addFile(config) {
    const name = config.metadata.name;
    const form = new CardForm({
      title: `Add a file to ${name}`, name: "file-form", submitLabel: "Add file",
      fields: [{ path: "file", label: "File name", value: "" }, { path: "spec.data", label: "Content", type: "textarea", rows: 10, code: true, wide: true }],
      submit: (v) => {
        const file = v.file.trim();
        if (!file) throw { message: "a file needs a name", causes: [{ field: "file", message: "a file needs a name" }] };
        return patch(`/api/v1/bootconfigs/${encodeURIComponent(name)}`, { spec: { data: { [file]: v["spec.data"] } } });
      },
      done: (saved) => {
        this.formSlot.replaceChildren();
        if (saved) { this.state.configs.accept(saved); this.forceDetail = true; this.render(); announce(`${name}: file added`); }
      },
    });
    this.formSlot.replaceChildren(form.root);
    form.focus();
  }

  async removeFile(name, file) {
    if (!confirm(`Remove ${file} from ${name}?`)) return;
    try {
      const saved = await patch(`/api/v1/bootconfigs/${encodeURIComponent(name)}`, { spec: { data: { [file]: null } } });
      this.state.configs.accept(saved);
      this.forceDetail = true;
      this.detailError.replaceChildren();
      announce(`${name}: ${file} removed`);
    } catch (err) {
      this.detailError.replaceChildren(describeError(err));
    }
  }

  async remove(name) {
    if (!confirm(`Delete config ${name}?`)) return;
    const users = this.hostsUsing(name).length;
    try {
      await api("DELETE", `/api/v1/bootconfigs/${encodeURIComponent(name)}`);
      this.detailError.replaceChildren();
      announce(`config ${name} deleted`);
      location.hash = "#/configs";
    } catch (err) {
      this.detailError.replaceChildren(describeError(err, { filter: { config: name }, count: users || null }));
    }
  }

  render() {
    const { state } = this;
    const names = state.configNames();
    const current = names.includes(this.selected) ? this.selected : names[0] || "";
    this.renderList(names, current);
    this.renderDetail(current);
    this.renderPreviewControls(current);
  }

  renderList(names, current) {
    const { state } = this;
    const rows = names.map((n) => [n, state.configs.items.get(n).spec.format || "custom", this.hostsUsing(n).length]);
    const signature = JSON.stringify([rows, current]);
    if (signature === this.listSignature) return;
    this.listSignature = signature;
    const focused = this.list.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
    this.list.replaceChildren(...rows.map(([n, format, used]) =>
      h("li", {}, h("a", { href: `#/configs/${encodeURIComponent(n)}`, "aria-current": n === current ? "true" : null },
        h("span", { class: "name" }, n),
        h("span", { class: `badge fmt-${format}` }, format),
        h("span", { class: "sub inline" }, used === 1 ? "1 host" : `${used} hosts`)))));
    if (!rows.length) this.list.append(h("li", { class: "muted" }, state.configs.loaded ? "No configs yet" : "Loading…"));
    if (focused) this.list.querySelector(`a[href="${CSS.escape(focused)}"]`)?.focus();
  }

  renderDetail(name) {
    const { state } = this;
    const config = state.configs.items.get(name);
    if (!config) {
      this.detail.replaceChildren(h("p", { class: "empty" }, state.configs.loaded ? "No config selected." : "Loading…"));
      this.detailSignature = "";
      return;
    }
    const using = this.hostsUsing(name);
    const users = using.slice(0, USERS_SHOWN).map(this.state.hostKey);
    const isos = state.isoNames().filter((n) => (state.isos.items.get(n).spec.bootConfigs || []).includes(name));
    const signature = JSON.stringify([name, config.metadata.resourceVersion, users, using.length, isos, [...this.editors.keys()]]);
    const force = this.forceDetail;
    this.forceDetail = false;
    // An open editor is never redrawn under the operator's hands: only its notice changes.
    const editorsShown = this.editors.size > 0 && [...this.editors.values()].every((ed) => ed.textarea && ed.textarea.isConnected);
    if (!force && this.renderedName === name && editorsShown) {
      for (const ed of this.editors.values()) {
        ed.notice.textContent = ed.baseRV === config.metadata.resourceVersion ? "" :
          "This config changed elsewhere since you started editing; saving overwrites this file.";
      }
      return;
    }
    if (!force && signature === this.detailSignature) return;
    this.renderedName = name;
    this.detailSignature = signature;
    const spec = config.spec || {};
    const files = Object.keys(spec.data || {}).sort(compare);
    this.detail.replaceChildren(h("section", { class: "card", "aria-labelledby": "config-title" },
      h("div", { class: "config-head" },
        h("h2", { id: "config-title" }, name),
        h("span", { class: `badge fmt-${spec.format || "custom"}` }, spec.format || "custom"),
        h("div", { class: "actions push" },
          h("button", { type: "button", name: "edit-config", onclick: () => this.openForm(config) }, "Edit details"),
          h("button", { type: "button", name: "add-file", onclick: () => this.addFile(config) }, "Add file"),
          h("button", { type: "button", name: "delete-config", class: "danger", onclick: () => this.remove(name) }, "Delete"))),
      spec.description ? h("p", {}, spec.description) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Used by"), h("dd", { class: "used-by" }, using.length === 0 ? "no host" : [
          h("a", { href: hostsLink({ config: name }) }, using.length === 1 ? "1 host" : `${using.length.toLocaleString("en")} hosts`), ": ",
          users.join(", "), using.length > USERS_SHOWN ? ", …" : ""]),
        h("dt", {}, "Listed by ISOs"), h("dd", {}, isos.length ? isos.join(", ") : "none (only hosts on localboot can use it)")),
      h("h3", {}, files.length === 1 ? "File" : `Files (${files.length})`),
      files.length ? files.map((file) => this.fileBlock(name, file, spec.data[file], config)) : h("p", { class: "muted" }, "No files.")));
  }

  fileBlock(name, file, content, config) {
    const ed = this.editors.get(file);
    const head = h("div", { class: "file-head" }, h("h4", {}, file));
    const block = h("div", { class: "file", dataset: { file } }, head);
    if (!ed) {
      head.append(h("div", { class: "actions" },
        h("button", { type: "button", name: "edit", onclick: () => this.edit(file, content, config) }, "Edit"),
        h("button", { type: "button", name: "remove-file", class: "danger", onclick: () => this.removeFile(name, file) }, "Remove")));
      const lines = String(content).split("\n");
      if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
      block.append(h("pre", { class: "code", tabindex: 0, "aria-label": `${file} content` },
        lines.map((line, i) => h("span", { class: "line", dataset: { n: i + 1 } }, line, "\n"))));
      return block;
    }
    const id = `edit-${file.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    ed.textarea = ed.textarea || h("textarea", { id, class: "code", spellcheck: "false", "aria-describedby": `${id}-diag`,
      rows: Math.min(Math.max(ed.draft.split("\n").length + 1, 8), 24) }, ed.draft);
    ed.notice = ed.notice || h("p", { class: "notice" });
    ed.diag = ed.diag || h("div", { id: `${id}-diag`, class: "diagnostics", role: "alert" });
    head.append(h("div", { class: "actions" },
      h("button", { type: "button", name: "check", onclick: () => this.save(name, file, true) }, "Check"),
      h("button", { type: "button", name: "save", class: "primary", onclick: () => this.save(name, file, false) }, "Save"),
      h("button", { type: "button", name: "cancel", onclick: () => { this.editors.delete(file); this.forceDetail = true; this.render(); } }, "Cancel")));
    block.append(ed.notice, ed.diag, h("label", { for: id, class: "visually-hidden" }, `Edit ${file}`), ed.textarea);
    this.showDiagnostics(file, ed);
    return block;
  }

  showDiagnostics(file, ed) {
    if (!ed.diag) return;
    const items = [];
    if (ed.checked) items.push(h("li", { class: "ok" }, "Valid: the server accepts this file."));
    for (const cause of ed.causes || []) {
      const where = parseField(cause.field);
      const label = where.file === file && where.line ? `line ${where.line}` : cause.field || "";
      items.push(h("li", {},
        where.file === file && where.line
          ? h("button", { type: "button", class: "link", onclick: () => this.jump(ed.textarea, where.line) }, label)
          : h("span", { class: "field" }, label),
        ": ", cause.message));
    }
    if (ed.error && !(ed.causes || []).length) items.push(h("li", {}, ed.error));
    ed.diag.replaceChildren(items.length ? h("ul", {}, items) : "");
    ed.diag.classList.toggle("bad", !!(ed.error || (ed.causes || []).length));
  }

  jump(textarea, line) {
    const lines = textarea.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    textarea.focus();
    textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
    textarea.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  edit(file, content, config) {
    this.editors.set(file, { draft: content, causes: [], error: null, checked: false, baseRV: config.metadata.resourceVersion });
    this.forceDetail = true;
    this.render();
    this.editors.get(file)?.textarea?.focus();
  }

  async save(name, file, dryRun) {
    const ed = this.editors.get(file);
    if (!ed) return;
    const body = { spec: { data: { [file]: ed.textarea.value } } };
    ed.checked = false;
    try {
      const updated = await patch(configURL(name) + (dryRun ? "?dryRun=All" : ""), body);
      if (dryRun) {
        ed.causes = []; ed.error = null; ed.checked = true;
        this.showDiagnostics(file, ed);
        announce(`${file} is valid`);
        return;
      }
      this.editors.delete(file);
      this.forceDetail = true;
      this.state.configs.accept(updated);
      announce(`${name}: ${file} saved`);
      this.render();
    } catch (err) {
      ed.causes = err.causes.filter((c) => { const w = parseField(c.field); return !w.file || w.file === file; });
      ed.error = err.message;
      this.showDiagnostics(file, ed);
    }
  }

  renderPreviewControls(name) {
    const { state } = this;
    const hosts = state.sortedHosts();
    const users = this.hostsUsing(name);
    const others = [];
    for (const host of hosts) {
      if (others.length >= PREVIEW_HOSTS) break;
      if (host.spec.bootConfigRef !== name) others.push(host);
    }
    const label = (host) => {
      const ref = host.spec.bootConfigRef;
      return `${state.hostKey(host)}${ref && ref !== name ? ` (uses ${ref})` : !ref ? " (no config)" : ""}`;
    };
    if (!state.hosts.items.has(this.preview.host) || this.preview.config !== name) {
      this.preview.host = users.length ? state.hostKey(users[0]) : hosts.length ? state.hostKey(hosts[0]) : "";
      this.preview.config = name;
    }
    // Users first; a rack's thousands of hosts are capped (the current one always stays).
    let offered = [...users, ...others].slice(0, PREVIEW_HOSTS);
    const chosen = state.hosts.items.get(this.preview.host);
    if (chosen && !offered.includes(chosen)) offered = [...offered, chosen];
    setOptions(this.previewHost, offered.map((host) => ({ value: state.hostKey(host), label: label(host) })));
    this.previewHost.value = this.preview.host;
    this.previewSection.hidden = !name;
    const host = state.hosts.items.get(this.preview.host);
    const ref = host && host.spec.bootConfigRef;
    this.previewNote.textContent = !host ? "No host to preview for." :
      ref === name ? `What ${state.hostKey(host)} is served now, with its variables filled in.` :
      `${name} rendered for ${state.hostKey(host)}, which is served ${ref || "no config"} now. The iPXE script is what it boots now.`;
    // Fetch again when the host or the config changed (live).
    const config = state.configs.items.get(name);
    const signature = JSON.stringify([this.preview.host, host?.metadata.resourceVersion, config?.metadata.resourceVersion,
      ref ? state.configs.items.get(ref)?.metadata.resourceVersion : null]);
    if (signature !== this.preview.signature) {
      this.preview.signature = signature;
      clearTimeout(this.preview.timer);
      this.preview.timer = setTimeout(() => this.loadPreview(false), 150);
    }
  }

  async loadPreview(fromControl) {
    if (fromControl) this.preview.host = this.previewHost.value;
    const key = this.preview.host;
    if (!key) { this.previewOut.replaceChildren(); return; }
    if (fromControl) this.render();
    const [ns, name] = key.split("/");
    const seq = ++this.preview.seq;
    let result;
    try {
      result = await api("GET", `/api/v1/namespaces/${encodeURIComponent(ns)}/baremetalhosts/${encodeURIComponent(name)}/preview` +
        `?config=${encodeURIComponent(this.preview.config)}`);
    } catch (err) {
      if (seq !== this.preview.seq) return;
      const missing = err.status === 404 && /could not find the requested resource/.test(err.message);
      this.previewOut.replaceChildren(h("p", { class: "muted" },
        missing ? "This bootgate has no preview endpoint yet." : `Preview unavailable: ${err.message}`));
      return;
    }
    if (seq !== this.preview.seq) return;
    const out = [];
    const problems = result.problems || [];
    if (problems.length) out.push(h("ul", { class: "problems" }, problems.map((p) => h("li", {}, p))));
    out.push(h("h3", {}, "iPXE script"), h("pre", { class: "code", tabindex: 0 }, result.ipxe || ""));
    if (result.config) {
      const c = result.config;
      out.push(h("h3", {}, `Config ${c.name}: ${c.file}`, h("span", { class: "sub inline" }, c.contentType || "")),
        h("pre", { class: "code", tabindex: 0 }, c.body || ""));
    } else {
      out.push(h("p", { class: "muted" }, "No config is served to this host."));
    }
    this.previewOut.replaceChildren(...out);
  }
}
