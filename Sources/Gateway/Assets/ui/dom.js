// Tiny DOM helpers: every text goes through textContent (no HTML from data).

/** h("tr", {class: "x", dataset: {host: "a"}, onclick: fn}, child, "text", [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces a select's options only when they differ, keeping focus and the open state. */
export function setOptions(select, options) {
  const same = select.options.length === options.length &&
    options.every((o, i) => select.options[i].value === o.value && select.options[i].textContent === o.label);
  if (same) return;
  select.replaceChildren(...options.map((o) => h("option", { value: o.value }, o.label)));
}

const collator = new Intl.Collator("en", { numeric: true });
export const compare = (a, b) => collator.compare(a, b);

export function formatTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (isNaN(d)) return value;
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Says something to screen readers (and keeps the last message in the DOM for tests). */
export function announce(text) {
  const el = document.getElementById("announce");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 30);
}

/** `namespace/name`, the way the page names a host everywhere (the namespace is always shown). */
export const hostName = (host) => `${host.metadata.namespace || "default"}/${host.metadata.name}`;

/** The hash of the hosts list filtered by `filter` ({iso, config, ns, q, power, problem}). */
export function hostsLink(filter) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined && v !== null && v !== "") query.set(k, v);
  const text = query.toString();
  return `#/hosts${text ? `?${text}` : ""}`;
}
