// bootgate web page: shared state (three live collections), the router and the live indicator.
import { Collection, askToken } from "./api.js";
import { HostsView } from "./hosts.js";
import { IsosView } from "./isos.js";
import { ConfigsView } from "./configs.js";
import { compare } from "./dom.js";

const hostKey = (o) => `${o.metadata.namespace || ""}/${o.metadata.name}`;
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

const options = { onChange: schedule, onState: showLive };
export const state = {
  hosts: new Collection("/api/v1/baremetalhosts", hostKey, options),
  isos: new Collection("/api/v1/iscsi-cdroms", nameKey, options),
  configs: new Collection("/api/v1/bootconfigs", nameKey, options),
  hostKey,

  sortedHosts() {
    return [...this.hosts.items.values()].sort((a, b) =>
      compare(a.metadata.namespace || "", b.metadata.namespace || "") || compare(a.metadata.name, b.metadata.name));
  },
  isoNames() { return [...this.isos.items.keys()].sort(compare); },
  configNames() { return [...this.configs.items.keys()].sort(compare); },

  /** Configs a host may use with `image`: null = any config (localboot or no ISO), else the ISO's list. */
  allowedConfigs(image) {
    if (!image || image === "localboot") return null;
    const iso = this.isos.items.get(image);
    return iso ? (iso.spec.bootConfigs || []) : null;
  },
};

const views = { hosts: HostsView, isos: IsosView, configs: ConfigsView };

function route() {
  const hash = location.hash;
  if (hash && !hash.startsWith("#/")) return; // in-page anchors (skip link)
  const [name = "hosts", ...rest] = hash.slice(2).split("/");
  const View = views[name] || HostsView;
  const key = views[name] ? name : "hosts";
  const arg = rest.map(decodeURIComponent).join("/");
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.route === key) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (view && view.key === key && view.setArg) {
    view.setArg(arg);
    view.render();
    return;
  }
  const main = document.getElementById("main");
  main.replaceChildren();
  view = new View(main, state, arg);
  view.key = key;
  document.title = `${key === "isos" ? "ISOs" : key[0].toUpperCase() + key.slice(1)} · bootgate`;
  view.render();
}

window.addEventListener("hashchange", route);
document.getElementById("token-button").addEventListener("click", () => askToken());
route();
showLive();
for (const c of [state.hosts, state.isos, state.configs]) c.run();
