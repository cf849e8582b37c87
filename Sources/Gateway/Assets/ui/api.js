// bootgate web page: the REST client and the watch streams.
// The page only uses the public API: lists, watches, GET and merge-PATCH.

const TOKEN_KEY = "bootgate.token";
let tokenPrompt = null; // one dialog at a time, shared by every request that got a 401
let declined = false; // the operator cancelled the dialog: don't nag, offer a button instead

/** An API error carrying the server's Kubernetes Status (message, code, causes). */
export class APIError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
    this.causes = (body && body.details && body.details.causes) || [];
  }
}

export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Asks for a bearer token once (the dialog in index.html); resolves true when one was given. */
export function askToken() {
  if (tokenPrompt) return tokenPrompt;
  const button = document.getElementById("token-button");
  const dialog = document.getElementById("token-dialog");
  const input = dialog.querySelector("input");
  dialog.querySelector("#token-cancel").onclick = () => dialog.close("cancel");
  tokenPrompt = new Promise((resolve) => {
    input.value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", () => {
      const token = input.value.trim();
      tokenPrompt = null;
      if (dialog.returnValue === "ok" && token) {
        sessionStorage.setItem(TOKEN_KEY, token);
        declined = false;
        button.hidden = true;
        resolve(true);
      } else {
        declined = true;
        button.hidden = false;
        resolve(false);
      }
    }, { once: true });
    dialog.showModal();
    input.focus();
  });
  return tokenPrompt;
}

/** fetch() with the session's token; on 401 asks for a token once and retries. */
export async function rawFetch(url, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
    if (res.status !== 401 || attempt > 0) return res;
    sessionStorage.removeItem(TOKEN_KEY);
    if (declined || !(await askToken())) return res;
  }
}

/** A JSON request; resolves with the parsed body or throws an APIError. */
export async function api(method, url, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = method === "PATCH" ? "application/merge-patch+json" : "application/json";
  }
  let res;
  try {
    res = await rawFetch(url, options);
  } catch (err) {
    throw new APIError(0, { message: `cannot reach bootgate (${err.message}); nothing was changed` });
  }
  let parsed = null;
  const text = await res.text();
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { message: text.trim() }; }
  if (!res.ok) throw new APIError(res.status, parsed);
  return parsed;
}

export const patch = (url, body) => api("PATCH", url, body);

/** The API path of a host. */
export const hostURL = (host) =>
  `/api/v1/namespaces/${encodeURIComponent(host.metadata.namespace || "default")}/baremetalhosts/${encodeURIComponent(host.metadata.name)}`;

/** Runs `work(item)` for every item, `width` at a time; `progress(done)` after each. */
export async function eachLimited(items, width, work, progress = () => {}) {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
      progress(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One resource collection kept current by list + watch:
 * list, then watch from the list's resourceVersion; on stream end or error, watch again from the
 * last resourceVersion seen; on 410 Gone, list again. A BOOKMARK (every 30 s) is the heartbeat:
 * with no data for `silenceMs` the stream is considered dead and reopened.
 */
export class Collection {
  constructor(path, keyOf, { onChange, onState, silenceMs = 75000, pageSize = 1000 } = {}) {
    this.path = path;
    this.keyOf = keyOf;
    this.items = new Map();
    this.rv = null;
    this.live = false;
    this.onChange = onChange || (() => {});
    this.onState = onState || (() => {});
    this.silenceMs = silenceMs;
    this.loaded = false;
    /** Bumped on every change: views cache what they derive from the items by it. */
    this.version = 0;
    /** Bumped only when a key comes or goes: an order by name survives every other change. */
    this.membership = 0;
    this.pageSize = pageSize;
  }

  setLive(live) {
    if (this.live !== live) { this.live = live; this.onState(this); }
  }

  /** Applies an object the page got from a write response (newer than what the watch said yet). */
  accept(object) {
    const key = this.keyOf(object);
    const old = this.items.get(key);
    if (old && Number(old.metadata.resourceVersion) > Number(object.metadata.resourceVersion)) return;
    if (!old) this.membership++;
    this.items.set(key, object);
    this.version++;
    this.onChange("MODIFIED", object);
  }

  /**
   * Lists in pages of `pageSize` (`limit` + `continue`, as Kubernetes pages; a server that ignores
   * `limit` answers everything at once). The first page is shown at once; the watch resumes from
   * the first page's resourceVersion, the snapshot every later page is consistent with.
   */
  async list() {
    const fresh = new Map();
    let token = "";
    let rv = null;
    do {
      const query = new URLSearchParams({ limit: String(this.pageSize) });
      if (token) query.set("continue", token);
      const body = await api("GET", `${this.path}?${query}`);
      if (rv === null) rv = body.metadata.resourceVersion;
      for (const o of body.items) fresh.set(this.keyOf(o), o);
      token = (body.metadata && body.metadata.continue) || "";
      if (token) { // a partial list: show what came so far
        this.items = new Map(fresh);
        this.version++;
        this.membership++;
        this.onChange("PAGE", null);
      }
    } while (token);
    this.items = fresh;
    this.rv = rv;
    this.loaded = true;
    this.version++;
    this.membership++;
    this.onChange("LIST", null);
  }

  handle(event) {
    const object = event.object || {};
    if (event.type === "ERROR") {
      if (object.code === 410) { this.rv = null; throw new Error("gone"); }
      throw new Error(object.message || "watch error");
    }
    const rv = object.metadata && object.metadata.resourceVersion;
    if (rv) this.rv = rv;
    if (event.type === "BOOKMARK") return;
    const key = this.keyOf(object);
    if (event.type === "DELETED") {
      if (this.items.delete(key)) this.membership++;
    } else {
      const old = this.items.get(key);
      if (old && Number(old.metadata.resourceVersion) > Number(rv)) return; // already have newer
      if (!old) this.membership++;
      this.items.set(key, object);
    }
    this.version++;
    this.onChange(event.type, object);
  }

  /** Ends the watch stream now (the page is going away: a browser keeps six connections per server). */
  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async run() {
    this.stopped = false;
    let backoff = 250;
    while (!this.stopped) {
      const controller = new AbortController();
      this.controller = controller;
      let watchdog;
      const pet = () => { clearTimeout(watchdog); watchdog = setTimeout(() => controller.abort(), this.silenceMs); };
      try {
        if (this.rv === null) await this.list();
        const url = `${this.path}?watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(this.rv)}`;
        pet();
        const res = await rawFetch(url, { signal: controller.signal, headers: { Accept: "application/json" } });
        if (res.status === 410) { this.rv = null; continue; }
        if (!res.ok || !res.body) throw new Error(`watch: HTTP ${res.status}`);
        this.setLive(true);
        backoff = 250;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pet();
          buffer += decoder.decode(value, { stream: true });
          let nl;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line) this.handle(JSON.parse(line));
          }
        }
        // The server closed the stream (restart, timeout): watch again shortly.
        this.setLive(false);
        await sleep(100);
      } catch (err) {
        if (this.stopped) return;
        this.setLive(false);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      } finally {
        clearTimeout(watchdog);
        controller.abort();
      }
    }
  }
}
