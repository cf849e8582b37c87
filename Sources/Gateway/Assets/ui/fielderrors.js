// The server's diagnostics in a form: each Status cause at the field it names (the longest
// field path prefixing the cause's), the rest, or the whole message, above the buttons.
import { h } from "./dom.js";
import { describeError } from "./refusals.js";

/** fields: Map of field path → {input, error}; general: the element above the buttons. */
export function clearFieldErrors(fields, general) {
  for (const { error, input } of fields.values()) { error.textContent = ""; input.removeAttribute("aria-invalid"); }
  general.replaceChildren();
}

/** `where(rest)`: what goes before a cause's message, from its path below the field's. */
export function showFieldErrors(fields, general, err, { where = () => "", context = {} } = {}) {
  const placed = [];
  for (const cause of err.causes || []) {
    const field = cause.field || "";
    const match = [...fields.keys()].filter((p) => field === p || field.startsWith(`${p}.`) || field.startsWith(`${p}[`))
      .sort((a, b) => b.length - a.length)[0];
    if (!match) continue;
    const { error, input } = fields.get(match);
    error.append(h("span", { class: "cause" }, where(field.slice(match.length)), cause.message));
    input.setAttribute("aria-invalid", "true");
    placed.push(cause);
  }
  const rest = (err.causes || []).filter((c) => !placed.includes(c));
  if (!placed.length) general.replaceChildren(describeError(err, context));
  else if (rest.length) general.replaceChildren(h("ul", {}, rest.map((c) => h("li", {}, c.field ? `${c.field}: ` : "", c.message))));
  const first = [...fields.values()].find((f) => f.input.getAttribute("aria-invalid"));
  if (first) first.input.focus();
}
