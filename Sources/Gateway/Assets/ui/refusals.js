// Refusals that name many hosts, said in a few lines: the count, the first few, and a link to the
// hosts list filtered to them. A rack on one ISO is hundreds of hosts; a wall of names helps nobody.
import { h, hostsLink } from "./dom.js";

const SHOWN = 3;
const HOST_KEY = /\bhost ([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)/gi;

/** The host keys a server message names, and how many more it says it left out. */
export function hostsNamed(text) {
  const keys = [...new Set([...String(text || "").matchAll(HOST_KEY)].map((m) => m[1]))];
  const more = /\band (\d+) more hosts?\b/.exec(text || "");
  return { keys, more: more ? Number(more[1]) : 0 };
}

/**
 * An API error as a short node. When it names more than a few hosts: what was refused (the
 * message up to its list), "N hosts: a, b, c and K more", and a link to `filter` on the hosts
 * page. `count` (when the page knows it, e.g. hosts on that ISO using that config) wins over the
 * count read from the message.
 */
export function describeError(err, { filter = null, count = null } = {}) {
  const message = err && err.message ? String(err.message) : String(err);
  const texts = [message, ...((err && err.causes) || []).map((c) => c.message || "")];
  const named = hostsNamed(texts.join("\n"));
  const total = count ?? named.keys.length + named.more;
  if (total <= SHOWN) return h("span", { class: "refusal" }, message);
  // The part before the first host name says what was refused and why.
  HOST_KEY.lastIndex = 0;
  const firstHost = HOST_KEY.exec(message);
  HOST_KEY.lastIndex = 0;
  const cut = firstHost ? firstHost.index : -1;
  let head = (cut > 0 ? message.slice(0, cut) : message).replace(/[\s:;,(]+$/, "");
  if (head.length > 200) head = head.slice(0, 200) + "…";
  const first = named.keys.slice(0, SHOWN);
  return h("span", { class: "refusal summarized" },
    head, ". ",
    h("strong", { class: "count" }, `${total.toLocaleString("en")} hosts`), ": ", first.join(", "),
    total > first.length ? ` and ${(total - first.length).toLocaleString("en")} more` : "",
    filter ? [" ", h("a", { href: hostsLink(filter), class: "filter-link" }, "Show them in the hosts list")] : null);
}

/**
 * Many refusals of one bulk action, grouped by reason (the host's own name taken out), largest
 * group first: one line per reason with its count and first few hosts.
 */
export function groupRefusals(failures) {
  const groups = new Map();
  for (const { key, error } of failures) {
    // The causes say why without the "BareMetalHost "x" is invalid" wrapper; the host's own
    // key and name are taken out so that one reason is one group.
    const causes = ((error && error.causes) || []).map((c) => c.message).filter(Boolean);
    const message = causes.length ? causes.join("; ") : error && error.message ? String(error.message) : String(error);
    const name = key.split("/")[1];
    const reason = message.split(key).join("…").split(`"${name}"`).join("…").replace(/^host …: /, "").replace(/(^|; )host …: /g, "$1");
    const group = groups.get(reason) || { reason, keys: [] };
    group.keys.push(key);
    groups.set(reason, group);
  }
  return [...groups.values()].sort((a, b) => b.keys.length - a.keys.length);
}
