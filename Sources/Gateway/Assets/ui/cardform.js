// A small form for configs and ISOs: labelled fields named by their API field path, so the
// server's diagnostics (Status causes with a field) land at the field they name.
import { h } from "./dom.js";
import { clearFieldErrors, showFieldErrors } from "./fielderrors.js";

export class CardForm {
  /**
   * fields: [{path, label, value, type ("text" | "textarea" | "select"), options, disabled, hint}].
   * submit(values) saves and resolves, or throws an APIError; done(result) after a save, done(null) on cancel.
   */
  constructor({ title, name, fields, submitLabel, submit, done, errorContext = () => ({}) }) {
    this.fields = new Map();
    this.submit = submit;
    this.done = done;
    this.errorContext = errorContext;
    const grid = h("div", { class: "form-grid" }, fields.map((f) => this.field(name, f)));
    this.general = h("div", { class: "form-error", role: "alert" });
    this.root = h("form", { class: "card card-form", novalidate: true, "aria-label": title, dataset: { form: name },
      onsubmit: (e) => { e.preventDefault(); this.save(); } },
      h("h2", {}, title), grid, this.extra = h("div", { class: "form-extra" }), this.general,
      h("div", { class: "buttons" },
        h("button", { type: "button", name: "cancel", onclick: () => this.done(null) }, "Cancel"),
        h("button", { type: "submit", name: "save", class: "primary" }, submitLabel)));
  }

  field(form, f) {
    const id = `${form}-${f.path.replace(/[^A-Za-z0-9]/g, "-")}`;
    let input;
    if (f.type === "textarea") input = h("textarea", { id, name: f.path, rows: f.rows || 4, spellcheck: "false", class: f.code ? "code" : null }, f.value || "");
    else if (f.type === "select") {
      input = h("select", { id, name: f.path, disabled: f.disabled || false }, (f.options || []).map((o) => h("option", { value: o }, o)));
      input.value = f.value || "";
    } else input = h("input", { id, name: f.path, type: "text", value: f.value || "", autocomplete: "off", spellcheck: "false", disabled: f.disabled || false, placeholder: f.placeholder || "" });
    const error = h("span", { class: "field-error", id: `${id}-error`, role: "alert" });
    input.setAttribute("aria-describedby", `${id}-error`);
    this.fields.set(f.path, { input, error });
    return h("div", { class: `field${f.wide ? " wide" : ""}`, dataset: { field: f.path } }, h("label", { for: id }, f.label), input,
      f.hint ? h("span", { class: "sub" }, f.hint) : null, error);
  }

  values() {
    const out = {};
    for (const [path, { input }] of this.fields) out[path] = input.value;
    return out;
  }

  focus() { [...this.fields.values()].find((f) => !f.input.disabled)?.input.focus(); }

  clearErrors() { clearFieldErrors(this.fields, this.general); }

  /** "spec.data[ks.cfg]:12" at field "spec.data" says "ks.cfg line 12: …". */
  showError(err) {
    showFieldErrors(this.fields, this.general, err, { context: this.errorContext(), where: (rest) => {
      const file = /^\[(.+)\](?::(\d+))?/.exec(rest);
      return file ? `${file[1]}${file[2] ? ` line ${file[2]}` : ""}: ` : rest ? `${rest.replace(/^\./, "")}: ` : "";
    } });
  }

  async save() {
    this.clearErrors();
    let result;
    try {
      result = await this.submit(this.values());
    } catch (err) {
      this.showError(err);
      return;
    }
    this.done(result);
  }
}
