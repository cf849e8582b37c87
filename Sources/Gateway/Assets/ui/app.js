// bootgate web page: shared state (three live collections and what the views derive from them),
// the router and the live indicator.
import { Collection, askToken } from "./api.js";
import { HostsView } from "./hosts.js";
import { HostView } from "./host.js";
import { IsosView } from "./isos.js";
import { ConfigsView } from "./configs.js";
import { compare } from "./dom.js";

const hostKey = (o) => `${o.metadata.namespace || "default"}/${o.metadata.name}`;
const nameKey = (o) => o.metadata.name;

let view = null;
let scheduled = false;

/** Re-renders the current view once per burst of changes. */
function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => { scheduled = false; if (view) view.render(); }, 0);
}

function showLive() {
  const el = document.getElementById("live");
  const all = [state.hosts, state.isos, state.configs];
  const live = all.every((c) => c.live);
  const loaded = all.every((c) => c.loaded);
  const s = live ? "live" : loaded ? "reconnecting" : "connecting";
  if (el.dataset.state === s) return;
  el.dataset.state = s;
  el.textContent = live ? "Live" : loaded ? "Reconnecting…" : "Connecting…";
  el.title = live ? "Following the watch streams" : "The watch streams are down; retrying";
}

/** `fn()` recomputed only when one of `sources` (collections) changed since the last call. */
function derived(sources, fn) {
  let stamp = null;
  let value;
  return () => {
    const now = sources().map((c) => c.version).join(",");
    if (now !== stamp) { stamp = now; value = fn(); }
    return value;
  };
}

const options = { onChange: schedule, onState: showLive };
export const state = {
  hosts: new Collection("/api/v1/baremetalhosts", hostKey, { ...options, pageSize: 2000 }),
  isos: new Collection("/api/v1/iscsi-cdroms", nameKey, options),
  configs: new Collection("/api/v1/bootconfigs", nameKey, options),
  hostKey,

  /** Every host key in namespace/name order: sorted again only when a host comes or goes. */
  sortedKeys: (() => {
    let stamp = -1;
    let keys = [];
    return () => {
      if (state.hosts.membership !== stamp) {
        stamp = state.hosts.membership;
        keys = [...state.hosts.items.values()].sort((a, b) =>
          compare(a.metadata.namespace || "", b.metadata.namespace || "") || compare(a.metadata.name, b.metadata.name)).map(hostKey);
      }
      return keys;
    };
  })(),
  /** Every host in namespace/name order (cached until a host changes). */
  sortedHosts: derived(() => [state.hosts], () => state.sortedKeys().map((k) => state.hosts.items.get(k)).filter(Boolean)),
  isoNames: derived(() => [state.isos], () => [...state.isos.items.keys()].sort(compare)),
  configNames: derived(() => [state.configs], () => [...state.configs.items.keys()].sort(compare)),
  namespaces: derived(() => [state.hosts], () => [...new Set([...state.hosts.items.values()].map((o) => o.metadata.namespace || "default"))].sort(compare)),

  /** IP → host keys with it (spec.ip and the NICs' IPs): duplicates are a warning on each. */
  hostsByIP: derived(() => [state.hosts], () => {
    const map = new Map();
    for (const host of state.hosts.items.values()) {
      const ips = new Set([host.spec.ip, ...((host.spec.nics || []).map((n) => n.ip))].filter(Boolean));
      for (const ip of ips) {
        const list = map.get(ip);
        if (list) list.push(hostKey(host)); else map.set(ip, [hostKey(host)]);
      }
    }
    return map;
  }),
  /** Per host object, its problems (see hostProblems); dropped whenever anything changes. */
  problemCache: derived(() => [state.hosts, state.isos, state.configs], () => new WeakMap()),

  /** Configs a host may use with `image`: null = any config (localboot or no ISO), else the ISO's list. */
  allowedConfigs(image) {
    if (!image || image === "localboot") return null;
    const iso = this.isos.items.get(image);
    return iso ? (iso.spec.bootConfigs || []) : null;
  },

  /**
   * What stands between a host and a good boot, as the page can tell from the objects:
   * `bad` ones make /ipxe or the config fetch refuse it ("cannot boot"), `warn` ones are worth a look.
   */
  hostProblems(host) {
    const cache = this.problemCache();
    const hit = cache.get(host);
    if (hit) return hit;
    const out = [];
    const bad = (code, text) => out.push({ level: "bad", code, text });
    const warn = (code, text) => out.push({ level: "warn", code, text });
    const spec = host.spec || {};
    const image = spec.image || "";
    const ref = spec.bootConfigRef || "";
    if (!spec.bootMACAddress) bad("no-mac", "No boot MAC (spec.bootMACAddress): /ipxe cannot find this host.");
    let iso = null;
    if (image && image !== "localboot") {
      iso = this.isos.items.get(image);
      if (!iso && this.isos.loaded) bad("no-iso", `ISO ${image} does not exist: /ipxe refuses this host.`);
      else if (iso && !(iso.status && iso.status.targetIQN)) bad("no-target", `No target: ISO ${image} has no iSCSI target yet (status.targetIQN is empty), so this host cannot sanboot it.`);
    }
    if (ref && !this.configs.items.has(ref) && this.configs.loaded) bad("no-config", `Config ${ref} does not exist: the installer's config fetch is refused.`);
    else if (ref && iso && !(iso.spec.bootConfigs || []).includes(ref)) bad("config-not-allowed", `Config ${ref} is not listed by ISO ${image}.`);
    if (!ref && iso && (iso.spec.bootConfigs || []).length) warn("no-config", `No config: ISO ${image} takes one of ${(iso.spec.bootConfigs || []).join(", ")}, and none is chosen.`);
    const ips = [spec.ip, ...((spec.nics || []).map((n) => n.ip))].filter(Boolean);
    if (ref && ips.length === 0) warn("no-ip", "No IP (spec.ip): the installer cannot be recognised by its source address, so it gets no config.");
    const key = hostKey(host);
    for (const ip of new Set(ips)) {
      const others = (this.hostsByIP().get(ip) || []).filter((k) => k !== key);
      if (others.length) {
        warn("duplicate-ip", `Duplicate IP: ${ip} is also the IP of ${others.slice(0, 3).join(", ")}${others.length > 3 ? ` and ${others.length - 3} more` : ""}; a config fetch from it cannot tell the hosts apart.`);
      }
    }
    cache.set(host, out);
    return out;
  },
  cannotBoot(host) { return this.hostProblems(host).some((p) => p.level === "bad"); },
};

const views = { hosts: HostsView, host: HostView, isos: IsosView, configs: ConfigsView };
const titles = { hosts: "Hosts", host: "Host", isos: "ISOs", configs: "Configs" };

/** `#/name/arg/more?query` → {name, arg, query}. */
function parseHash(hash) {
  const [path, query = ""] = hash.slice(2).split("?");
  const [name = "hosts", ...rest] = path.split("/");
  return { name, arg: rest.map(decodeURIComponent).join("/"), query: new URLSearchParams(query) };
}

function route() {
  const hash = location.hash;
  if (hash && !hash.startsWith("#/")) return; // in-page anchors (skip link)
  const parsed = parseHash(hash || "#/hosts");
  const key = views[parsed.name] ? parsed.name : "hosts";
  const View = views[key];
  const section = key === "host" ? "hosts" : key;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.route === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (view && view.key === key && view.setArg) {
    view.setArg(parsed.arg, parsed.query);
    view.render();
    return;
  }
  if (view && view.leave) view.leave();
  const main = document.getElementById("main");
  main.replaceChildren();
  view = new View(main, state, parsed.arg, parsed.query);
  view.key = key;
  document.title = `${key === "host" && parsed.arg ? parsed.arg : titles[key]} · bootgate`;
  view.render();
}

window.addEventListener("hashchange", route);
document.getElementById("token-button").addEventListener("click", () => askToken());
route();
showLive();
for (const c of [state.hosts, state.isos, state.configs]) c.run();
// A page left open in the back-forward cache would hold its three streams (of a browser's six
// connections to this server); end them when the page is hidden, resume if it comes back.
window.addEventListener("pagehide", () => { for (const c of [state.hosts, state.isos, state.configs]) c.stop(); });
window.addEventListener("pageshow", (e) => { if (e.persisted) for (const c of [state.hosts, state.isos, state.configs]) c.run(); });
