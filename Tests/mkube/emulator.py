#!/usr/bin/env python3
"""mkube emulator: mkube 6ae4527's BareMetalHost / BootConfig / ISCSICdrom API, with its quirks.

mkube (the retired cluster manager bootgate fronts) cannot be built here, so this is the one
allowed stand-in. It reproduces the wire format of `/work/shared/reference/mkube-boot-api.md`
(section numbers below refer to it): Go ServeMux routing, Go encoding/json bodies, text/plain
errors, random list order, the NATS-KV-backed watch (double replay, creations as MODIFIED,
name-only DELETED, stale tombstones), the source-IP boot endpoints, plus fault knobs for testing
a gateway. Standard library only. See README.md next to this file.

    python3 Tests/mkube/emulator.py --port 0 [--state FILE] [--fixture FILE]
"""
import argparse
import base64
import copy
import http
import json
import os
import queue
import random
import re
import select
import socket
import socketserver
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gojson import (Field, GoJSONError, GoStruct, RawJSON, Str, Struct,  # noqa: E402
                    encode_any, now_rfc3339)
from kinds import BC, BMH, ISO, KINDS, OBJECT_META  # noqa: E402

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
}
SOURCE_IP_HEADER = "X-Emulator-Source-IP"
CONTROL_PREFIX = "/_emulator/"
MANUAL_POWER = "bmh.mkube.io/manual-power"
REFRESH = "bmh.mkube.io/refresh"
NATS_KEY_RE = re.compile(r"^[-/_=.a-zA-Z0-9]+$")
DEFAULT_NETWORKS = [
    {"name": "gt", "gateway": "192.168.200.1"},
    {"name": "g10", "gateway": "192.168.10.1"},
    {"name": "g11", "gateway": "192.168.11.1"},
]


class HTTPError(Exception):
    """An `http.Error(w, msg, code)`: text/plain, nosniff, msg + "\\n"."""

    def __init__(self, code, msg):
        super().__init__(msg)
        self.code, self.msg = code, msg


def valid_nats_key(key):
    """nats.go's KV key rule; mkube's persist fails with `nats: invalid key` otherwise."""
    return bool(NATS_KEY_RE.match(key)) and not key.startswith(".") and not key.endswith(".")


# ============================================================================================
# Store: the NATS KV buckets (revisions, tombstones) and mkube's in-memory maps


class Entry:
    __slots__ = ("rev", "op", "value")

    def __init__(self, rev, op, value):
        self.rev, self.op, self.value = rev, op, value


class Bucket:
    """One KV bucket (history 1): latest entry per key, delete markers kept, one sequence."""

    def __init__(self):
        self.seq = 0
        self.entries = {}   # key -> Entry (op "PUT" with a value, or "DEL" tombstone)
        self.memory = {}    # key -> object (mkube's in-memory map, served by list and get)


class Store:
    """All state, behind one lock (mkube has one mutex per kind; one lock is simpler and
    stricter). Every write goes to the KV bucket and the memory map, then to the WatchHub, then
    to the optional state file, so a restarted emulator keeps its objects as NATS KV would."""

    def __init__(self, hub, state_file=None, rng=None):
        self.lock = threading.RLock()
        self.hub = hub
        self.state_file = state_file
        self.rng = rng or random.Random()
        self.buckets = {}
        self.networks = copy.deepcopy(DEFAULT_NETWORKS)
        self.iso_files = {}         # file name under /raid1/iso -> size
        self.bootconfig_files = {}  # (bootconfig, filename) -> bytes
        self.routeros_counter = 0
        self.clear()

    def clear(self):
        with self.lock:
            self.buckets = {k: Bucket() for k in KINDS}
            self.networks = copy.deepcopy(DEFAULT_NETWORKS)
            self.iso_files, self.bootconfig_files = {}, {}
            self.routeros_counter = 0

    # reads ------------------------------------------------------------------------------
    def get(self, kind, key):
        with self.lock:
            obj = self.buckets[kind.kind].memory.get(key)
            return copy.deepcopy(obj) if obj is not None else None

    def all(self, kind, shuffle=True):
        """Objects in Go map iteration order: random, different on every call."""
        with self.lock:
            objs = [copy.deepcopy(o) for o in self.buckets[kind.kind].memory.values()]
        if shuffle:
            self.rng.shuffle(objs)
        return objs

    # writes -----------------------------------------------------------------------------
    def put(self, kind, obj):
        key = kind.key(obj)
        if not valid_nats_key(key):
            raise ValueError("nats: invalid key")
        obj = copy.deepcopy(obj)
        obj["kind"], obj["apiVersion"] = kind.kind, "v1"
        with self.lock:
            b = self.buckets[kind.kind]
            b.seq += 1
            b.entries[key] = Entry(b.seq, "PUT", obj)
            b.memory[key] = obj
            self.hub.publish(kind, ("ADDED" if b.seq == 1 else "MODIFIED", copy.deepcopy(obj)))
            self.save()
        return copy.deepcopy(obj)

    def delete(self, kind, key):
        with self.lock:
            b = self.buckets[kind.kind]
            b.memory.pop(key, None)
            b.seq += 1
            b.entries[key] = Entry(b.seq, "DEL", None)
            self.hub.publish(kind, ("DELETED", kind.stub(key)))
            self.save()

    def forget_tombstones(self):
        """A purged KV: delete markers gone (no stale DELETED replay any more)."""
        with self.lock:
            for b in self.buckets.values():
                b.entries = {k: e for k, e in b.entries.items() if e.op != "DEL"}
            self.save()

    # watch ------------------------------------------------------------------------------
    def open_watch(self, kind, namespace, replay_tombstones):
        """Atomically: the memory snapshot (ADDED each, random order), the KV `WatchAll`
        replay (latest entry per key in revision order: ADDED only for revision 1, MODIFIED
        otherwise, DELETED for tombstones), and a live subscription."""
        with self.lock:
            b = self.buckets[kind.kind]
            snapshot = [("ADDED", copy.deepcopy(o)) for o in b.memory.values()]
            self.rng.shuffle(snapshot)
            replay = []
            for key, e in sorted(b.entries.items(), key=lambda kv: kv[1].rev):
                if e.op == "DEL":
                    if replay_tombstones:
                        replay.append(("DELETED", kind.stub(key)))
                else:
                    replay.append(("ADDED" if e.rev == 1 else "MODIFIED", copy.deepcopy(e.value)))
            sub = self.hub.subscribe(kind, namespace)
        events = [ev for ev in snapshot + replay if sub.wants(ev[1])]
        return events, sub

    # state file / fixtures --------------------------------------------------------------
    def dump(self, include_tombstones=True):
        """The exact stored objects (as persisted), sorted by key, plus tombstones."""
        with self.lock:
            out = GoStruct()
            for kind in (BMH, BC, ISO):
                b = self.buckets[kind.kind]
                out[kind.resource] = [RawJSON(kind.encode(b.memory[k])) for k in sorted(b.memory)]
            if include_tombstones:
                out["tombstones"] = {kind.resource: sorted(
                    k for k, e in self.buckets[kind.kind].entries.items() if e.op == "DEL")
                    for kind in (BMH, BC, ISO)}
                out["revisions"] = {kind.resource: self.buckets[kind.kind].seq
                                    for kind in (BMH, BC, ISO)}
            return out

    def save(self):
        if not self.state_file:
            return
        with self.lock:
            doc = {
                "version": 1,
                "networks": self.networks,
                "isoFiles": self.iso_files,
                "routerosCounter": self.routeros_counter,
                "bootconfigFiles": [[n, f, base64.b64encode(d).decode()]
                                    for (n, f), d in self.bootconfig_files.items()],
                "buckets": {
                    name: {"seq": b.seq, "entries": [
                        [k, e.rev, e.op, KINDS[name].encode(e.value) if e.value else None]
                        for k, e in b.entries.items()]}
                    for name, b in self.buckets.items()},
            }
            d = os.path.dirname(os.path.abspath(self.state_file))
            fd, tmp = tempfile.mkstemp(dir=d, prefix=".mkube-state-")
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f)
            os.replace(tmp, self.state_file)

    def load_state(self):
        """Reload from the state file (what a restarted mkube finds in NATS KV)."""
        if not self.state_file or not os.path.exists(self.state_file):
            return False
        with open(self.state_file) as f:
            doc = json.load(f)
        with self.lock:
            self.clear()
            self.networks = doc.get("networks") or copy.deepcopy(DEFAULT_NETWORKS)
            self.iso_files = doc.get("isoFiles", {})
            self.routeros_counter = doc.get("routerosCounter", 0)
            self.bootconfig_files = {(n, f): base64.b64decode(d)
                                     for n, f, d in doc.get("bootconfigFiles", [])}
            for name, bd in doc["buckets"].items():
                kind, b = KINDS[name], self.buckets[name]
                b.seq = bd["seq"]
                for key, rev, op, value in bd["entries"]:
                    obj = kind.schema.decode_bytes(value) if value else None
                    b.entries[key] = Entry(rev, op, obj)
                    if obj is not None:
                        b.memory[key] = obj
        return True

    def load_fixture(self, doc):
        """Replace everything with a fixture: `{"networks", "isoFiles", "baremetalhosts",
        "bootconfigs", "iscsi-cdroms", "tombstones"}`. Objects are stored as given (decoded by
        Go rules, no create defaults: this is data already in NATS). In each bucket the first
        object gets revision 1; tombstones come after the objects."""
        with self.lock:
            self.clear()
            if doc.get("networks"):
                self.networks = doc["networks"]
            self.iso_files = dict(doc.get("isoFiles", {}))
            for kind in (BMH, BC, ISO):
                b = self.buckets[kind.kind]
                for raw in doc.get(kind.resource, []):
                    obj = kind.schema.decode_bytes(
                        raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False))
                    obj["kind"], obj["apiVersion"] = kind.kind, "v1"
                    key = kind.key(obj)
                    b.seq += 1
                    b.entries[key] = Entry(b.seq, "PUT", obj)
                    b.memory[key] = obj
                for key in (doc.get("tombstones") or {}).get(kind.resource, []):
                    b.seq += 1
                    b.entries[key] = Entry(b.seq, "DEL", None)
            self.save()

    # helpers used by handlers -----------------------------------------------------------
    def gateway(self, network_name=None):
        """Gateway of a Network CRD, falling back to the first configured network (§4.3)."""
        with self.lock:
            for n in self.networks:
                if network_name and n.get("name") == network_name and n.get("gateway"):
                    return n["gateway"]
            return self.networks[0]["gateway"] if self.networks else ""

    def next_routeros_id(self):
        with self.lock:
            self.routeros_counter += 1
            return self.routeros_counter


# ============================================================================================
# WatchHub: live subscribers


class Subscription:
    CLOSE_ABRUPT = "abrupt"    # TCP close without the chunked terminator (process died)
    CLOSE_CLEAN = "clean"      # chunked terminator (NATS watcher channel closed)

    def __init__(self, hub, kind, namespace):
        self.hub, self.kind, self.namespace = hub, kind, namespace
        self.queue = queue.Queue()

    def wants(self, obj):
        """The namespaced BMH watch filters on metadata.namespace only (no network join)."""
        return self.namespace is None or obj["metadata"]["namespace"] == self.namespace

    def close(self, mode):
        self.queue.put(("__close__", mode))

    def cancel(self):
        self.hub.unsubscribe(self)


class WatchHub:
    """Fans committed KV changes out to open watch streams (the NATS `WatchAll` live part)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.subs = []

    def subscribe(self, kind, namespace):
        sub = Subscription(self, kind, namespace)
        with self.lock:
            self.subs.append(sub)
        return sub

    def unsubscribe(self, sub):
        with self.lock:
            if sub in self.subs:
                self.subs.remove(sub)

    def publish(self, kind, event):
        with self.lock:
            subs = [s for s in self.subs if s.kind is kind]
        for s in subs:
            if s.wants(event[1]):
                s.queue.put(event)

    def close_all(self, mode=Subscription.CLOSE_ABRUPT):
        with self.lock:
            subs, self.subs = self.subs, []
        for s in subs:
            s.close(mode)
        return len(subs)

    def count(self):
        with self.lock:
            return len(self.subs)


# ============================================================================================
# Faults: knobs for testing a gateway in front of mkube


class Faults:
    """Runtime fault knobs (none of them is mkube behaviour, except `stale_tombstones`, which
    is mkube's real behaviour and on by default).

    * `delay`: seconds to sleep before answering each request (watch: before the headers).
    * `garbage`: answer every request with junk instead of doing it: `bytes` (invalid JSON
      bytes), `json` (valid JSON of the wrong shape), `html` (an HTML error page, text/html),
      `truncated` (a Content-Length longer than the body, then close).
      `garbage_status` (default 200) is the status sent with it.
    * `down`: `close` (read the request, close without answering), `reset` (TCP RST),
      `refuse` (listening socket closed: connection refused). Open watch streams are dropped.
    * `stale_tombstones`: replay DELETED for keys deleted earlier on every watch connect.
    * `watch_unavailable`: watches answer 503 `watch requires NATS store`.
    * Every knob may carry an expiry: `"for_seconds": N` in the same POST.
    """

    DEFAULTS = {"delay": 0.0, "garbage": None, "garbage_status": 200, "down": None,
                "stale_tombstones": True, "watch_unavailable": False}
    CHOICES = {"garbage": (None, "bytes", "json", "html", "truncated"),
               "down": (None, "close", "reset", "refuse")}

    def __init__(self):
        self.lock = threading.Lock()
        self.values = dict(self.DEFAULTS)
        self.expiry = {}

    def validate(self, name, value):
        if name not in self.DEFAULTS:
            raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(self.DEFAULTS)))
        if name in self.CHOICES and value not in self.CHOICES[name]:
            raise ValueError("fault %s must be one of %r" % (name, self.CHOICES[name]))
        if name == "delay":
            return float(value or 0)
        if name == "garbage_status":
            return int(value or 200)
        if name in ("stale_tombstones", "watch_unavailable"):
            return bool(value)
        return value

    def set(self, changes, for_seconds=None):
        clean = {k: self.validate(k, v) for k, v in changes.items()}
        with self.lock:
            for k, v in clean.items():
                self.values[k] = v
                if for_seconds:
                    self.expiry[k] = time.monotonic() + float(for_seconds)
                else:
                    self.expiry.pop(k, None)

    def reset(self):
        with self.lock:
            self.values, self.expiry = dict(self.DEFAULTS), {}

    def get(self, name):
        with self.lock:
            exp = self.expiry.get(name)
            if exp is not None and time.monotonic() >= exp:
                self.values[name] = self.DEFAULTS[name]
                del self.expiry[name]
            return self.values[name]

    def snapshot(self):
        return {k: self.get(k) for k in self.DEFAULTS}


# ============================================================================================
# Router: Go 1.22 ServeMux semantics


class Route:
    def __init__(self, method, pattern, handler):
        self.method, self.handler = method, handler
        self.segments = pattern.strip("/").split("/")

    def match(self, segs):
        if len(segs) != len(self.segments):
            return None
        params = {}
        for pat, seg in zip(self.segments, segs):
            if pat.startswith("{"):
                if seg == "":   # a single wildcard never matches an empty/trailing segment
                    return None
                params[pat[1:-1]] = seg
            elif pat != seg:
                return None
        return params


def clean_path(p):
    """Go's cleanPath (path.Clean, keeping a trailing slash)."""
    if not p:
        return "/"
    if not p.startswith("/"):
        p = "/" + p
    parts = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    np = "/" + "/".join(parts)
    if p.endswith("/") and np != "/":
        np += "/"
    return np


class Router:
    """Method + path patterns; unknown path → 404, other method → 405 with Allow (GET implies
    HEAD), unclean path → 301 to the cleaned one."""

    def __init__(self):
        self.routes = []

    def add(self, method, pattern, handler):
        self.routes.append(Route(method, pattern, handler))

    def resolve(self, method, raw_path):
        """Returns (handler, params) or raises HTTPError / Redirect."""
        segs = [urllib.parse.unquote(s) for s in raw_path.split("/")[1:]]
        matches = [(r, r.match(segs)) for r in self.routes]
        matches = [(r, p) for r, p in matches if p is not None]
        if not matches:
            raise HTTPError(404, "404 page not found")
        for r, p in matches:
            if r.method == method or (method == "HEAD" and r.method == "GET"):
                return r.handler, p
        allowed = {r.method for r, _ in matches}
        if "GET" in allowed:
            allowed.add("HEAD")
        raise MethodNotAllowed(", ".join(sorted(allowed)))


class MethodNotAllowed(Exception):
    def __init__(self, allow):
        super().__init__(allow)
        self.allow = allow


# ============================================================================================
# Requests and responses


class Request:
    """What a handler sees: method, path params, query, headers, body, source IP."""

    def __init__(self, method, path, query, headers, body, source_ip, params=None):
        self.method, self.path, self.query, self.headers = method, path, query, headers
        self.body, self.source_ip, self.params = body, source_ip, params or {}

    def q(self, name):
        """url.Values.Get: the first value, "" when absent."""
        vals = self.query.get(name)
        return vals[0] if vals else ""

    def wants_table(self):
        return "as=Table" in (self.headers.get("Accept") or "")


class Response:
    def __init__(self, status, body=b"", content_type=None, headers=None):
        self.status, self.body = status, body if isinstance(body, bytes) else body.encode()
        self.headers = dict(headers or {})
        if content_type:
            self.headers["Content-Type"] = content_type


def json_response(status, text):
    """podWriteJSON: application/json (no charset) + json.Encoder's trailing newline."""
    return Response(status, text + "\n", "application/json")


def status_success(message):
    return json_response(200, encode_any(GoStruct([
        ("kind", "Status"), ("apiVersion", "v1"), ("metadata", GoStruct()),
        ("status", "Success"), ("message", message)])))


class Watch:
    """A handler result asking the HTTP layer to stream a watch."""

    def __init__(self, kind, namespace):
        self.kind, self.namespace = kind, namespace


# ============================================================================================
# mkube's handlers


def human_duration(seconds):
    """k8s.io/apimachinery duration.HumanDuration (kubectl's AGE column)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm" % m if s % 60 == 0 else "%dm%ds" % (m, s % 60)
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh" % h if m % 60 == 0 else "%dh%dm" % (h, m % 60)
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd" % (h // 24) if h % 24 == 0 else "%dd%dh" % (h // 24, h % 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        dy = (h // 24) % 365
        return "%dy" % (h // 24 // 365) if dy == 0 else "%dy%dd" % (h // 24 // 365, dy)
    return "%dy" % (h // 24 // 365)


def natural_key(name):
    """"Natural" sort: server1 … server8, server30."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def age(ts):
    if not ts:
        return "<unknown>"
    t = time.mktime(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    return human_duration(time.time() - t)


def human_size(n):
    if not n:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def _col(name, typ="string", fmt="", desc=""):
    return GoStruct([("name", name), ("type", typ), ("format", fmt),
                     ("description", desc), ("priority", 0)])


class Mkube:
    """The handlers of mkube's routes for the three kinds and the boot endpoints (§2, §4)."""

    def __init__(self, store, rng=None):
        self.store = store
        self.rng = rng or random.Random()
        self.router = Router()
        r = self.router.add
        r("GET", "/api/v1", self.discovery)
        r("GET", "/apis", self.api_groups)
        # BareMetalHost (§2.1)
        r("GET", "/api/v1/baremetalhosts", self.bmh_list_all)
        r("POST", "/api/v1/baremetalhosts/refresh", self.bmh_refresh_all)
        r("GET", "/api/v1/namespaces/{ns}/baremetalhosts", self.bmh_list_ns)
        r("POST", "/api/v1/namespaces/{ns}/baremetalhosts", self.bmh_create)
        r("GET", "/api/v1/namespaces/{ns}/baremetalhosts/{name}", self.bmh_get)
        r("PUT", "/api/v1/namespaces/{ns}/baremetalhosts/{name}", self.bmh_put)
        r("PATCH", "/api/v1/namespaces/{ns}/baremetalhosts/{name}", self.bmh_patch)
        r("DELETE", "/api/v1/namespaces/{ns}/baremetalhosts/{name}", self.bmh_delete)
        r("POST", "/api/v1/namespaces/{ns}/baremetalhosts/{name}/refresh", self.bmh_refresh)
        # BootConfig (§2.2)
        r("GET", "/api/v1/bootconfigs", self.bc_list)
        r("POST", "/api/v1/bootconfigs", self.bc_create)
        r("GET", "/api/v1/bootconfigs/{name}", self.bc_get)
        r("PUT", "/api/v1/bootconfigs/{name}", self.bc_put)
        r("PATCH", "/api/v1/bootconfigs/{name}", self.bc_patch)
        r("DELETE", "/api/v1/bootconfigs/{name}", self.bc_delete)
        r("GET", "/api/v1/bootconfigs/{name}/serve", self.bc_serve)
        r("GET", "/api/v1/bootconfigs/{name}/files/{filename}", self.bc_file_get)
        r("POST", "/api/v1/bootconfigs/{name}/files/{filename}", self.bc_file_post)
        r("GET", "/api/v1/bootconfig", self.bootconfig_by_ip)
        r("POST", "/api/v1/boot-complete", self.boot_complete)
        r("GET", "/api/v1/ipxe/boot", self.ipxe_boot)
        r("GET", "/api/v1/ipxe/localboot", self.ipxe_localboot)
        # ISCSICdrom (§2.3)
        r("GET", "/api/v1/iscsi-cdroms", self.iso_list)
        r("POST", "/api/v1/iscsi-cdroms", self.iso_create)
        r("GET", "/api/v1/iscsi-cdroms/{name}", self.iso_get)
        r("PUT", "/api/v1/iscsi-cdroms/{name}", self.iso_put)
        r("PATCH", "/api/v1/iscsi-cdroms/{name}", self.iso_patch)
        r("DELETE", "/api/v1/iscsi-cdroms/{name}", self.iso_delete)
        r("POST", "/api/v1/iscsi-cdroms/{name}/upload", self.iso_upload)
        r("POST", "/api/v1/iscsi-cdroms/{name}/subscribe", self.iso_subscribe)
        r("POST", "/api/v1/iscsi-cdroms/{name}/unsubscribe", self.iso_unsubscribe)
        r("GET", "/api/v1/iscsi-cdroms/{name}/files", self.iso_files_route)
        r("POST", "/api/v1/iscsi-cdroms/{name}/derive", self.iso_derive)

    # ---------------------------------------------------------------- shared helpers ------
    def _list(self, req, kind, objs):
        if req.wants_table():
            return self.table(kind, objs, single=False)
        items = ",".join(kind.encode(o) for o in objs)
        return json_response(200, '{"kind":"%s","apiVersion":"v1","metadata":{},"items":[%s]}'
                             % (kind.list_kind, items))

    def _object(self, req, kind, obj, status=200):
        if req.wants_table():
            return self.table(kind, [obj], single=True)
        return json_response(status, kind.encode(obj))

    @staticmethod
    def _decode(kind, body, onto=None, mode="decoder", prefix=None):
        try:
            return kind.schema.decode_bytes(body, onto=onto, mode=mode)
        except GoJSONError as e:
            raise HTTPError(400, "%s: %s" % (prefix or "invalid %s JSON" % kind.kind, e))

    def _persist(self, kind, obj, prefix):
        try:
            return self.store.put(kind, obj)
        except ValueError as e:
            raise HTTPError(500, "%s: %s" % (prefix, e))

    # ---------------------------------------------------------------- discovery (§2.5) ----
    def discovery(self, req):
        verbs = ["get", "list", "create", "update", "patch", "delete"]
        res = []
        for kind, short in ((BMH, "bmh"), (BC, "bc"), (ISO, "icd")):
            res.append(GoStruct([("name", kind.resource), ("singularName", ""),
                                 ("namespaced", kind.namespaced), ("kind", kind.kind),
                                 ("verbs", verbs), ("shortNames", [short])]))
        return json_response(200, encode_any(GoStruct([
            ("kind", "APIResourceList"), ("apiVersion", "v1"), ("groupVersion", "v1"),
            ("resources", res)])))

    def api_groups(self, req):
        return json_response(200, encode_any(GoStruct([
            ("kind", "APIGroupList"), ("apiVersion", "v1"), ("groups", [])])))

    # ---------------------------------------------------------------- BareMetalHost -------
    def bmh_list_all(self, req):
        if req.q("watch") == "true":
            return Watch(BMH, None)
        return self._list(req, BMH, self.store.all(BMH))

    @staticmethod
    def bmh_joins(obj, ns):
        """The namespaced list's network join (§2.1)."""
        spec, status = obj["spec"], obj["status"]
        if obj["metadata"]["namespace"] == ns or spec["network"] == ns \
                or spec["bmc"]["network"] == ns:
            return True
        for nic in spec["nics"] or []:
            if (nic["network"] or spec["network"]) == ns:
                return True
        return any(n["network"] == ns for n in (status["networkInterfaces"] or {}).values())

    def bmh_list_ns(self, req):
        ns = req.params["ns"]
        if req.q("watch") == "true":
            return Watch(BMH, ns)
        return self._list(req, BMH, [o for o in self.store.all(BMH) if self.bmh_joins(o, ns)])

    def _bmh_existing(self, ns, name):
        obj = self.store.get(BMH, ns + "." + name)
        if obj is None:
            raise HTTPError(404, "BareMetalHost %s/%s not found" % (ns, name))
        return obj

    def bmh_get(self, req):
        return self._object(req, BMH, self._bmh_existing(req.params["ns"], req.params["name"]))

    def bmh_create(self, req):
        ns = req.params["ns"]
        obj = self._decode(BMH, req.body)
        meta, spec = obj["metadata"], obj["spec"]
        if not meta["name"]:
            raise HTTPError(400, "BareMetalHost name is required")
        meta["namespace"] = ns
        with self.store.lock:
            if self.store.get(BMH, ns + "." + meta["name"]) is not None:
                raise HTTPError(409, "BareMetalHost %s/%s already exists" % (ns, meta["name"]))
            if not meta["creationTimestamp"]:
                meta["creationTimestamp"] = now_rfc3339()
            if not obj["status"]["phase"]:
                obj["status"]["phase"] = "Registering"
            if spec["bmc"]["address"]:
                for cred in ("username", "password"):
                    if not spec["bmc"][cred]:
                        spec["bmc"][cred] = "ADMIN"
            saved = self._persist(BMH, obj, "persisting BMH")
            self.sync_boot_config_ref("", spec["bootConfigRef"], meta["name"])
        return self._object(req, BMH, saved, status=201)

    def _bmh_update(self, req, mode, prefix, persist_prefix):
        ns, name = req.params["ns"], req.params["name"]
        with self.store.lock:
            old = self._bmh_existing(ns, name)
            new = self._decode(BMH, req.body, onto=copy.deepcopy(old), mode=mode, prefix=prefix)
            new["metadata"]["name"], new["metadata"]["namespace"] = name, ns
            for cred in ("username", "password"):   # credentials cannot be cleared (§6)
                if not new["spec"]["bmc"][cred]:
                    new["spec"]["bmc"][cred] = old["spec"]["bmc"][cred]
            self.online_transition(old, new)
            saved = self._persist(BMH, new, persist_prefix)
            self.sync_boot_config_ref(old["spec"]["bootConfigRef"],
                                      new["spec"]["bootConfigRef"], name)
        return self._object(req, BMH, saved)

    def bmh_put(self, req):
        return self._bmh_update(req, "decoder", None, "persisting BMH update")

    def bmh_patch(self, req):
        return self._bmh_update(req, "unmarshal", "invalid patch JSON", "persisting BMH patch")

    @staticmethod
    def online_transition(old, new):
        """`bmh.mkube.io/manual-power`: set on false→true, removed on true→false (nil = false).
        The IPMI power event itself is not emulated (no BMC here)."""
        was, now = old["spec"]["online"] is True, new["spec"]["online"] is True
        ann = new["metadata"]["annotations"]
        if not was and now:
            ann = dict(ann or {})
            ann[MANUAL_POWER] = now_rfc3339()
            new["metadata"]["annotations"] = ann
        elif was and not now and ann and MANUAL_POWER in ann:
            ann = dict(ann)
            del ann[MANUAL_POWER]
            new["metadata"]["annotations"] = ann

    def sync_boot_config_ref(self, old_ref, new_ref, name):
        """syncBootConfigRef (§5): move the BMH *name* from the old BootConfig's assignedTo to
        the new one's, each only if that BootConfig exists now. Unchanged ref: nothing."""
        if old_ref == new_ref:
            return
        if old_ref:
            bc = self.store.get(BC, old_ref)
            if bc is not None and name in (bc["status"]["assignedTo"] or []):
                bc["status"]["assignedTo"] = [n for n in bc["status"]["assignedTo"] if n != name]
                self.store.put(BC, bc)
        if new_ref:
            bc = self.store.get(BC, new_ref)
            if bc is not None and name not in (bc["status"]["assignedTo"] or []):
                bc["status"]["assignedTo"] = (bc["status"]["assignedTo"] or []) + [name]
                self.store.put(BC, bc)

    def bmh_delete(self, req):
        ns, name = req.params["ns"], req.params["name"]
        with self.store.lock:
            old = self._bmh_existing(ns, name)
            self.sync_boot_config_ref(old["spec"]["bootConfigRef"], "", name)
            self.store.delete(BMH, ns + "." + name)
        return status_success('BareMetalHost "%s" deleted' % name)

    def bmh_refresh(self, req):
        ns, name = req.params["ns"], req.params["name"]
        with self.store.lock:
            obj = self.store.get(BMH, ns + "." + name)
            if obj is None:
                raise HTTPError(500, "persisting refresh: BareMetalHost %s/%s not found" % (ns, name))
            self._annotate_refresh(obj)
        return json_response(200, encode_any({"message": "refresh requested for %s" % name,
                                              "status": "ok"}))

    def _annotate_refresh(self, obj):
        ann = dict(obj["metadata"]["annotations"] or {})
        ann[REFRESH] = now_rfc3339()
        obj["metadata"]["annotations"] = ann
        self.store.put(BMH, obj)

    def bmh_refresh_all(self, req):
        with self.store.lock:
            hosts = []
            for obj in self.store.all(BMH):
                self._annotate_refresh(obj)
                hosts.append(obj["metadata"]["name"])
        return json_response(200, encode_any({
            "hosts": hosts or None, "status": "ok",
            "message": "refresh requested for %d hosts" % len(hosts)}))

    # ---------------------------------------------------------------- BootConfig ----------
    def bc_list(self, req):
        if req.q("watch") == "true":
            return Watch(BC, None)
        return self._list(req, BC, self.store.all(BC))

    def _bc_existing(self, name):
        obj = self.store.get(BC, name)
        if obj is None:
            raise HTTPError(404, 'BootConfig "%s" not found' % name)
        return obj

    def bc_get(self, req):
        return self._object(req, BC, self._bc_existing(req.params["name"]))

    def bc_create(self, req):
        obj = self._decode(BC, req.body)
        name = obj["metadata"]["name"]
        if not name:
            raise HTTPError(400, "BootConfig name is required")
        with self.store.lock:
            if self.store.get(BC, name) is not None:
                raise HTTPError(409, 'BootConfig "%s" already exists' % name)
            if not obj["spec"]["format"]:
                obj["spec"]["format"] = "custom"
            if not obj["status"]["phase"]:
                obj["status"]["phase"] = "Active"
            if not obj["metadata"]["creationTimestamp"]:
                obj["metadata"]["creationTimestamp"] = now_rfc3339()
            saved = self._persist(BC, obj, "persisting BootConfig")
        return self._object(req, BC, saved, status=201)

    def bc_put(self, req):
        name = req.params["name"]
        with self.store.lock:
            old = self._bc_existing(name)
            new = self._decode(BC, req.body)
            new["metadata"]["name"] = name
            if not new["metadata"]["creationTimestamp"]:
                new["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            if not new["status"]["phase"]:
                new["status"] = old["status"]
            saved = self._persist(BC, new, "persisting BootConfig update")
        return self._object(req, BC, saved)

    def bc_patch(self, req):
        name = req.params["name"]
        with self.store.lock:
            old = self._bc_existing(name)
            new = self._decode(BC, req.body, onto=copy.deepcopy(old), mode="unmarshal",
                               prefix="invalid patch JSON")
            new["metadata"]["name"] = name
            new["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            saved = self._persist(BC, new, "persisting BootConfig patch")
        return self._object(req, BC, saved)

    def bc_delete(self, req):
        name = req.params["name"]
        with self.store.lock:
            old = self._bc_existing(name)
            assigned = old["status"]["assignedTo"] or []
            if assigned:
                raise HTTPError(409, 'BootConfig "%s" is referenced by %d BMH(s): %s \u2014 '
                                     'remove references first' % (name, len(assigned),
                                                                  ", ".join(assigned)))
            self.store.delete(BC, name)
        return status_success('BootConfig "%s" deleted' % name)

    @staticmethod
    def content_type_for(fmt):
        return {"ignition": "application/vnd.coreos.ignition+json", "cloud-init": "text/yaml",
                "kickstart": "text/plain"}.get(fmt, "application/octet-stream")

    def _serve_one(self, bc):
        """One entry of spec.data, the "first" in Go map order, i.e. a random one."""
        data = bc["spec"]["data"] or {}
        key = self.rng.choice(sorted(data))
        return Response(200, data[key], self.content_type_for(bc["spec"]["format"]))

    def bc_serve(self, req):
        name = req.params["name"]
        bc = self._bc_existing(name)
        if not bc["spec"]["data"]:
            raise HTTPError(404, 'BootConfig "%s" has no data entries' % name)
        return self._serve_one(bc)

    def bc_file_get(self, req):
        name, fn = req.params["name"], req.params["filename"]
        bc = self._bc_existing(name)
        data = bc["spec"]["data"] or {}
        if fn in data:
            return Response(200, data[fn], "application/octet-stream")
        blob = self.store.bootconfig_files.get((name, fn))
        if blob is None:
            raise HTTPError(404, 'file "%s" not found in BootConfig "%s"' % (fn, name))
        return Response(200, blob, "application/octet-stream", {"Accept-Ranges": "bytes"})

    def bc_file_post(self, req):
        name, fn = req.params["name"], req.params["filename"]
        self._bc_existing(name)
        with self.store.lock:
            self.store.bootconfig_files[(name, fn)] = req.body
            self.store.save()
        body = encode_any(GoStruct([("status", "ok"), ("bootconfig", name), ("file", fn),
                                    ("bytes", len(req.body))]))
        return Response(200, body, "application/json")   # no trailing newline (§2.2)

    # ---------------------------------------------------------------- boot endpoints (§4) -
    def bmh_by_ip(self, ip):
        """The first BMH whose spec.ip equals the IP exactly, in random map order."""
        for obj in self.store.all(BMH):
            if obj["spec"]["ip"] == ip:
                return obj
        return None

    def bootconfig_by_ip(self, req):
        host = self.bmh_by_ip(req.source_ip)
        if host is None:
            raise HTTPError(404, "no BareMetalHost found with IP %s" % req.source_ip)
        hname, ref = host["metadata"]["name"], host["spec"]["bootConfigRef"]
        if not ref:
            raise HTTPError(404, 'BareMetalHost "%s" has no bootConfigRef' % hname)
        bc = self.store.get(BC, ref)
        if bc is None:
            raise HTTPError(404, 'BootConfig "%s" not found (referenced by BMH "%s")' % (ref, hname))
        if not bc["spec"]["data"]:
            raise HTTPError(404, 'BootConfig "%s" has no data entries' % ref)
        return self._serve_one(bc)

    def boot_complete(self, req):
        with self.store.lock:
            host = self.bmh_by_ip(req.source_ip)
            if host is None:
                raise HTTPError(404, "no BareMetalHost found with IP %s" % req.source_ip)
            host["spec"]["image"] = "localboot"
            self._persist(BMH, host, "persisting BMH update")
        body = encode_any(GoStruct([("status", "ok"), ("host", host["metadata"]["name"]),
                                    ("image", "localboot")]))
        return Response(200, body, "application/json")   # no trailing newline (§4.3)

    def ipxe_boot(self, req):
        exit_script = Response(200, "#!ipxe\nexit\n", "text/plain")
        host = self.bmh_by_ip(req.source_ip)
        if host is None or host["spec"]["image"] in ("", "localboot"):
            return exit_script
        cd = self.store.get(ISO, host["spec"]["image"])
        if cd is None or not cd["status"]["targetIQN"]:
            return exit_script
        portal = self.store.gateway(host["spec"]["network"])
        resp = Response(200, "#!ipxe\nsanboot iscsi:%s::::%s\n" % (portal, cd["status"]["targetIQN"]),
                        "text/plain")
        if host["spec"]["bootMode"] != "forever":
            key = BMH.key(host)
            resp.after = lambda: self._boot_once(key)
        return resp

    def _boot_once(self, key):
        """The background goroutine of §4.3: image → localboot after an iPXE serve."""
        with self.store.lock:
            host = self.store.get(BMH, key)
            if host is not None:
                host["spec"]["image"] = "localboot"
                self.store.put(BMH, host)

    def ipxe_localboot(self, req):
        return Response(200, "#!ipxe\nexit\n", "text/plain")

    # ---------------------------------------------------------------- ISCSICdrom ----------
    def iso_list(self, req):
        if req.q("watch") == "true":
            return Watch(ISO, None)
        return self._list(req, ISO, self.store.all(ISO))

    def _iso_existing(self, name):
        obj = self.store.get(ISO, name)
        if obj is None:
            raise HTTPError(404, 'iSCSI CDROM "%s" not found' % name)
        return obj

    def iso_get(self, req):
        return self._object(req, ISO, self._iso_existing(req.params["name"]))

    def _export(self, obj):
        """Create the RouterOS target when the ISO file exists: Ready, size, RouterOS IQN."""
        st, iso_file = obj["status"], obj["spec"]["isoFile"]
        if iso_file in self.store.iso_files:
            n = self.store.next_routeros_id()
            st["phase"], st["isoSize"] = "Ready", self.store.iso_files[iso_file]
            st["targetIQN"] = "iqn.2000-02.com.mikrotik:file%d" % n
            st["routerosID"] = "*%X" % n
            return True
        return False

    def iso_create(self, req):
        obj = self._decode(ISO, req.body, prefix="invalid ISCSICdrom JSON")
        name = obj["metadata"]["name"]
        if not name:
            raise HTTPError(400, "iSCSI CDROM name is required")
        with self.store.lock:
            if self.store.get(ISO, name) is not None:
                raise HTTPError(409, 'iSCSI CDROM "%s" already exists' % name)
            spec, st = obj["spec"], obj["status"]
            spec["readOnly"] = True
            if not spec["isoFile"]:
                spec["isoFile"] = name + ".iso"
            if not obj["metadata"]["creationTimestamp"]:
                obj["metadata"]["creationTimestamp"] = now_rfc3339()
            st["phase"], st["isoPath"] = "Pending", "/raid1/iso/" + spec["isoFile"]
            st["targetIQN"], st["portalPort"] = "iqn.2024-01.lo.gt:cdrom-" + name, 3260
            st["portalIP"] = self.store.gateway()
            saved = self._persist(ISO, obj, "persisting iSCSI CDROM")
            if self._export(obj):
                saved = self._persist(ISO, obj, "persisting iSCSI CDROM")
        return self._object(req, ISO, saved, status=201)

    def iso_put(self, req):
        name = req.params["name"]
        with self.store.lock:
            old = self._iso_existing(name)
            new = self._decode(ISO, req.body, prefix="invalid ISCSICdrom JSON")
            new["metadata"]["name"] = name
            if not new["metadata"]["creationTimestamp"]:
                new["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            if not new["status"]["phase"]:
                new["status"] = old["status"]
            if new["spec"]["isoFile"] != old["spec"]["isoFile"]:   # re-target
                st = new["status"]
                st["isoPath"] = "/raid1/iso/" + new["spec"]["isoFile"]
                st["isoSize"] = self.store.iso_files.get(new["spec"]["isoFile"], 0)
                if not self._export(new):
                    st["phase"] = "Error"
            saved = self._persist(ISO, new, "persisting iSCSI CDROM update")
        return self._object(req, ISO, saved)

    def iso_patch(self, req):
        name = req.params["name"]
        with self.store.lock:
            old = self._iso_existing(name)
            new = self._decode(ISO, req.body, onto=copy.deepcopy(old), mode="unmarshal",
                               prefix="invalid patch JSON")
            new["metadata"]["name"] = name
            new["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            saved = self._persist(ISO, new, "persisting iSCSI CDROM patch")
        return self._object(req, ISO, saved)

    def iso_delete(self, req):
        name = req.params["name"]
        with self.store.lock:
            old = self._iso_existing(name)
            subs = old["status"]["subscribers"] or []
            if subs:
                raise HTTPError(409, 'iSCSI CDROM "%s" has %d active subscribers \u2014 '
                                     'unsubscribe all first' % (name, len(subs)))
            if req.q("keepISO") != "true":
                self.store.iso_files.pop(old["spec"]["isoFile"], None)
            self.store.delete(ISO, name)
        return status_success('iSCSI CDROM "%s" deleted' % name)

    def _small_body(self, req, fields):
        """Decode a small request struct (subscribe/unsubscribe bodies)."""
        schema = Struct("request", "provider", [Field(f, Str(), True) for f in fields])
        try:
            return schema.decode_bytes(req.body)
        except GoJSONError as e:
            raise HTTPError(400, "invalid request body: %s" % e)

    def iso_subscribe(self, req):
        name = req.params["name"]
        with self.store.lock:
            cd = self._iso_existing(name)
            body = self._small_body(req, ("name", "initiatorIQN"))
            if not body["name"]:
                raise HTTPError(400, "subscriber name is required")
            subs = cd["status"]["subscribers"] or []
            if any(s["name"] == body["name"] for s in subs):
                raise HTTPError(409, 'subscriber "%s" already subscribed' % body["name"])
            subs.append({"name": body["name"], "initiatorIQN": body["initiatorIQN"],
                         "since": now_rfc3339()})
            cd["status"]["subscribers"] = subs
            saved = self._persist(ISO, cd, "persisting iSCSI CDROM")
        st = saved["status"]
        return json_response(200, encode_any({"portalIP": st["portalIP"],
                                              "portalPort": st["portalPort"],
                                              "targetIQN": st["targetIQN"]}))

    def iso_unsubscribe(self, req):
        name = req.params["name"]
        with self.store.lock:
            cd = self._iso_existing(name)
            body = self._small_body(req, ("name",))
            subs = cd["status"]["subscribers"] or []
            if not any(s["name"] == body["name"] for s in subs):
                raise HTTPError(404, 'subscriber "%s" not found' % body["name"])
            cd["status"]["subscribers"] = [s for s in subs if s["name"] != body["name"]]
            self._persist(ISO, cd, "persisting iSCSI CDROM")
        return status_success('subscriber "%s" removed from iSCSI CDROM "%s"' % (body["name"], name))

    def iso_upload(self, req):
        """Multipart, field `iso` only; the emulated "disk" records the size, then the target
        is created (Ready, RouterOS IQN)."""
        name = req.params["name"]
        ctype = req.headers.get("Content-Type") or ""
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not ctype.lower().startswith("multipart/") or not m:
            raise HTTPError(400, "reading multipart stream: request Content-Type isn't "
                                 "multipart/form-data")
        with self.store.lock:
            cd = self._iso_existing(name)
            size = None
            for part in req.body.split(b"--" + m.group(1).encode())[1:]:
                head, _, data = part.partition(b"\r\n\r\n")
                if re.search(rb'name="iso"', head):
                    size = len(data[:-2] if data.endswith(b"\r\n") else data)
                    break
            iso_file = cd["spec"]["isoFile"]
            if size is not None:
                self.store.iso_files[iso_file] = size
            if not size:
                raise HTTPError(400, "no iso field found in multipart form")
            if not self._export(cd):
                cd["status"]["phase"] = "Error"
            saved = self._persist(ISO, cd, "persisting iSCSI CDROM")
        return json_response(200, ISO.encode(saved))

    def iso_files_route(self, req):
        cd = self._iso_existing(req.params["name"])
        if cd["status"]["phase"] != "Ready":
            raise HTTPError(409, 'iSCSI CDROM "%s" is not ready (phase: %s)'
                            % (cd["metadata"]["name"], cd["status"]["phase"]))
        if req.q("list") == "true":
            return json_response(200, "null")   # the emulator has no ISO contents
        raise HTTPError(404, "emulator: ISO contents are not emulated")

    def iso_derive(self, req):
        base = self._iso_existing(req.params["name"])
        body = self._small_body(req, ("name", "description", "version"))
        with self.store.lock:
            if base["status"]["phase"] != "Ready":
                raise HTTPError(409, 'iSCSI CDROM "%s" is not ready (phase: %s)'
                                % (base["metadata"]["name"], base["status"]["phase"]))
            if not body["name"]:
                raise HTTPError(400, "name is required")
            if self.store.get(ISO, body["name"]) is not None:
                raise HTTPError(409, 'iSCSI CDROM "%s" already exists' % body["name"])
            obj = ISO.schema.zero()
            obj["metadata"]["name"], obj["metadata"]["creationTimestamp"] = body["name"], now_rfc3339()
            spec = obj["spec"]
            spec["isoFile"], spec["description"] = body["name"] + ".iso", body["description"]
            spec["version"], spec["readOnly"] = body["version"], True
            spec["bootConfigs"], spec["derivedFrom"] = base["spec"]["bootConfigs"], base["metadata"]["name"]
            self.store.iso_files[spec["isoFile"]] = self.store.iso_files.get(base["spec"]["isoFile"], 0)
            st = obj["status"]
            st["isoPath"], st["portalPort"] = "/raid1/iso/" + spec["isoFile"], 3260
            st["portalIP"] = self.store.gateway()
            self._export(obj)
            saved = self._persist(ISO, obj, "persisting iSCSI CDROM")
        return self._object(req, ISO, saved, status=201)

    def scan_isos(self):
        """The ISO directory scanner (every 30 s in mkube; on demand here): a CDROM for each
        untracked *.iso, name and version from the file name, no bootConfigs."""
        created = []
        with self.store.lock:
            tracked = {o["spec"]["isoFile"] for o in self.store.all(ISO, shuffle=False)}
            for fn in sorted(self.store.iso_files):
                if fn in tracked or not fn.endswith(".iso"):
                    continue
                parts = fn[:-4].split("-")
                vi = next((i for i, p in enumerate(parts) if p[:1].isdigit()), len(parts))
                name = "-".join(parts[:vi]) or fn[:-4]
                if self.store.get(ISO, name) is not None:
                    continue
                obj = ISO.schema.zero()
                obj["metadata"]["name"], obj["metadata"]["creationTimestamp"] = name, now_rfc3339()
                obj["spec"]["isoFile"], obj["spec"]["readOnly"] = fn, True
                obj["spec"]["version"] = parts[vi] if vi < len(parts) else ""
                st = obj["status"]
                st["isoPath"], st["portalPort"] = "/raid1/iso/" + fn, 3260
                st["portalIP"] = self.store.gateway()
                self._export(obj)
                self.store.put(ISO, obj)
                created.append(name)
        return created

    # ---------------------------------------------------------------- Table (§2.4) --------
    def table(self, kind, objs, single):
        if kind is BMH:
            cols = [_col("Name", fmt="name"), _col("Status"), _col("State"), _col("Power"),
                    _col("Network"), _col("Image"), _col("IP"), _col("IPMI"), _col("Age")]
            if not single:
                objs = sorted(objs, key=lambda o: natural_key(o["metadata"]["name"]))
        elif kind is BC:
            cols = [_col("Name", fmt="name"), _col("Format"), _col("Description"),
                    _col("Assigned", "integer"), _col("Age")]
        else:
            cols = [_col("Name", fmt="name"), _col("Version"), _col("Phase"), _col("ISO Size"),
                    _col("Target IQN"), _col("Subscribers", "integer"), _col("Age")]
        rows = []
        for o in objs:
            meta, spec, st = o["metadata"], o["spec"], o["status"]
            if kind is BMH:
                cells = [meta["name"], st["phase"], st["state"],
                         "on" if st["poweredOn"] else "off", spec["network"],
                         self._bmh_image_cell(spec), spec["ip"] or st["ip"],
                         spec["bmc"]["address"], age(meta["creationTimestamp"])]
            elif kind is BC:
                desc = spec["description"]
                if len(desc.encode()) > 40:
                    desc = desc.encode()[:37].decode("utf-8", "ignore") + "..."
                cells = [meta["name"], spec["format"], desc, len(st["assignedTo"] or []),
                         age(meta["creationTimestamp"])]
            else:
                cells = [meta["name"], spec["version"], st["phase"], human_size(st["isoSize"]),
                         st["targetIQN"], len(st["subscribers"] or []),
                         age(meta["creationTimestamp"])]
            pm = OBJECT_META.zero()
            pm["name"], pm["namespace"] = meta["name"], meta["namespace"]
            pm["creationTimestamp"] = meta["creationTimestamp"]
            partial = RawJSON('{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",'
                              '"metadata":%s}' % OBJECT_META.encode(pm))
            rows.append(GoStruct([("cells", cells), ("object", partial)]))
        return json_response(200, encode_any(GoStruct([
            ("kind", "Table"), ("apiVersion", "meta.k8s.io/v1"), ("metadata", GoStruct()),
            ("columnDefinitions", cols), ("rows", rows)])))

    @staticmethod
    def _bmh_image_cell(spec):
        if spec["disk"]:
            return "disk:" + spec["disk"]
        if spec["template"]:
            return (spec["image"] + " tpl:" if spec["image"] else "tpl:") + spec["template"]
        return spec["image"] or "localboot"


# ============================================================================================
# HTTP layer


GARBAGE = {
    "bytes": (b'\x00\xff\xfe{"kind":"BareMetalHostList","items":[{"metadata":{"name":',
              "application/json"),
    "json": (b'{"kind":"Surprise","apiVersion":7,"metadata":[],"items":{"not":"a list"},'
             b'"spec":"?","status":null}\n', "application/json"),
    "html": (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
             b"Gateway</h1></center><hr><center>nginx</center></body></html>\n",
             "text/html"),
    "truncated": (b'{"kind":"BareMetalHostList","apiVersion":"v1","metadata":{},"items":[{"kind"',
                  "application/json"),
}
GARBAGE_WATCH = {
    "json": b'{"type":"EXPLODED","object":"not an object"}\n'
            b'{"type":"MODIFIED","object":{"kind":"BareMetalHost","metadata":null,"spec":[]}}\n',
}


class Handler(BaseHTTPRequestHandler):
    """One connection. Writes Go-net/http-shaped responses by hand (sorted headers, Date, no
    Server header, Content-Length up to 2048 bytes and chunked above, as Go's response
    buffer does)."""

    protocol_version = "HTTP/1.1"
    timeout = 120   # IdleTimeout
    emulator = None  # set on the subclass by Emulator

    def log_message(self, fmt, *args):
        if self.emulator.verbose:
            sys.stderr.write("mkube-emulator: " + (fmt % args) + "\n")

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.parse_request():
                return
            self.emulator.dispatch(self)
            try:
                self.wfile.flush()
            except OSError:
                self.close_connection = True
        except (TimeoutError, socket.timeout, ConnectionError):
            self.close_connection = True

    # low level --------------------------------------------------------------------------
    def read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def write_head(self, status, headers, length=None, chunked=False):
        lines = ["HTTP/1.1 %d %s" % (status, http.HTTPStatus(status).phrase)]
        for k in sorted(headers):
            lines.append("%s: %s" % (k, headers[k]))
        lines.append("Date: " + formatdate(usegmt=True))
        if length is not None:
            lines.append("Content-Length: %d" % length)
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def send(self, resp):
        headers = dict(CORS)
        headers.update(resp.headers)
        body = resp.body
        if resp.status == 204 or resp.status == 304:
            self.write_head(resp.status, headers)
        elif self.command == "HEAD":
            self.write_head(resp.status, headers, length=len(body) if len(body) <= 2048 else None)
        elif len(body) <= 2048:
            self.write_head(resp.status, headers, length=len(body))
            self.wfile.write(body)
        else:
            self.write_head(resp.status, headers, chunked=True)
            for i in range(0, len(body), 4096):
                self.write_chunk(body[i:i + 4096])
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self, reset=False):
        """Close the TCP connection now (RST with reset=True), answering nothing."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if r:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
        return False


def http_error(code, msg, extra=None):
    h = {"X-Content-Type-Options": "nosniff"}
    h.update(extra or {})
    return Response(code, msg + "\n", "text/plain; charset=utf-8", h)


class ThreadingServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class Emulator:
    """The process: one listening socket for the mkube API (plus `/_emulator/*`), optionally a
    second control-only one; the Store, WatchHub, Faults and Mkube handlers."""

    def __init__(self, port=0, state_file=None, fixture=None, control_port=None, seed=None,
                 verbose=False, host="127.0.0.1"):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the emulator listens on 127.0.0.1 only")
        self.host = "127.0.0.1"
        self.verbose = verbose
        self.rng = random.Random(seed)
        self.hub = WatchHub()
        self.store = Store(self.hub, state_file=state_file, rng=self.rng)
        self.faults = Faults()
        self.mkube = Mkube(self.store, rng=self.rng)
        self.port = port
        self.control_port = control_port
        self.server = None
        self.control_server = None
        self.listen_lock = threading.Lock()
        self.reopen_timer = None
        if not self.store.load_state() and fixture:
            self.load_fixture_file(fixture)

    # lifecycle --------------------------------------------------------------------------
    def _make_server(self, port, control_only=False):
        handler = type("BoundHandler", (Handler,), {"emulator": self})
        srv = ThreadingServer((self.host, port), handler)
        srv.control_only = control_only
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)
        t.start()
        return srv

    def start(self):
        self.server = self._make_server(self.port)
        self.port = self.server.server_address[1]
        if self.control_port is not None:
            self.control_server = self._make_server(self.control_port, control_only=True)
            self.control_port = self.control_server.server_address[1]
        return self

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def control_url(self):
        return "http://%s:%d" % (self.host, self.control_port) if self.control_port else self.url

    def stop(self):
        if self.reopen_timer:
            self.reopen_timer.cancel()
        self.hub.close_all()
        for srv in (self.server, self.control_server):
            if srv:
                srv.shutdown()
                srv.server_close()
        self.server = self.control_server = None

    def stop_listening(self):
        """Connection refused from now on (the port is closed, not just unanswered)."""
        with self.listen_lock:
            if self.server is not None:
                self.server.shutdown()
                self.server.server_close()
                self.server = None

    def resume_listening(self):
        with self.listen_lock:
            if self.server is None:
                for _ in range(50):
                    try:
                        self.server = self._make_server(self.port)
                        break
                    except OSError:
                        time.sleep(0.1)

    def load_fixture_file(self, path):
        with open(path) as f:
            self.store.load_fixture(json.load(f))

    # faults and control -------------------------------------------------------------------
    def set_faults(self, doc):
        doc = dict(doc)
        restart = doc.pop("restart", None)
        for_seconds = doc.pop("for_seconds", None)
        self.faults.set(doc, for_seconds)
        if doc.get("down"):
            self.hub.close_all(Subscription.CLOSE_ABRUPT)
        if doc.get("down") == "refuse":
            threading.Thread(target=self._refuse, args=(for_seconds,), daemon=True).start()
        elif "down" in doc and not doc["down"]:
            self.resume_listening()
        if restart:
            self.restart(restart if isinstance(restart, dict) else {})

    def _refuse(self, for_seconds):
        time.sleep(0.05)   # let the control response go out first
        self.stop_listening()
        if for_seconds:
            self.reopen_timer = threading.Timer(float(for_seconds), self._end_refuse)
            self.reopen_timer.daemon = True
            self.reopen_timer.start()

    def _end_refuse(self):
        if self.faults.get("down") == "refuse":
            self.faults.set({"down": None})
        self.resume_listening()

    def restart(self, opts):
        """As a process restart would: every watch stream dropped (abrupt by default, or
        `"mode": "clean"` for a chunked end as when the NATS watcher closes), optional
        `"downtime"` seconds of connection refused, optional `"forget_tombstones"` (a purged
        KV), and the memory reloaded from the state file when there is one."""
        mode = opts.get("mode", Subscription.CLOSE_ABRUPT)
        dropped = self.hub.close_all(mode)
        if opts.get("forget_tombstones"):
            self.store.forget_tombstones()
        if self.store.state_file:
            self.store.save()
            self.store.load_state()
        downtime = float(opts.get("downtime") or 0)
        if downtime > 0:
            self.faults.set({"down": "refuse"}, downtime)
            threading.Thread(target=self._refuse, args=(downtime,), daemon=True).start()
        return dropped

    def control(self, req):
        """`/_emulator/*`: faults, state, reset/load, restart, scan, watchers."""
        p, m = req.path[len(CONTROL_PREFIX):], req.method

        def body_json():
            return json.loads(req.body or b"{}") if req.body.strip() else {}

        try:
            if p == "faults" and m == "GET":
                return Response(200, json.dumps(self.faults.snapshot()) + "\n", "application/json")
            if p == "faults" and m == "POST":
                self.set_faults(body_json())
                return Response(200, json.dumps(self.faults.snapshot()) + "\n", "application/json")
            if p == "faults" and m == "DELETE":
                was_refusing = self.faults.get("down") == "refuse"
                self.faults.reset()
                if was_refusing or self.server is None:
                    self.resume_listening()
                return Response(200, json.dumps(self.faults.snapshot()) + "\n", "application/json")
            if p == "state" and m == "GET":
                return json_response(200, encode_any(self.store.dump()))
            if p in ("reset", "load") and m == "POST":
                doc = body_json()
                if "fixture" in doc and isinstance(doc["fixture"], str):
                    with open(doc["fixture"]) as f:
                        doc = json.load(f)
                self.hub.close_all(Subscription.CLOSE_ABRUPT)
                self.store.load_fixture(doc)
                return json_response(200, encode_any(self.store.dump()))
            if p == "restart" and m == "POST":
                n = self.restart(body_json())
                return Response(200, json.dumps({"droppedWatches": n}) + "\n", "application/json")
            if p == "scan" and m == "POST":
                return Response(200, json.dumps({"created": self.mkube.scan_isos()}) + "\n",
                                "application/json")
            if p == "isofiles" and m == "POST":
                with self.store.lock:
                    self.store.iso_files.update(body_json())
                    self.store.save()
                return Response(200, json.dumps(self.store.iso_files) + "\n", "application/json")
            if p == "watchers" and m == "GET":
                return Response(200, json.dumps({"watchers": self.hub.count()}) + "\n",
                                "application/json")
        except (ValueError, OSError, GoJSONError) as e:
            return http_error(400, "emulator: %s" % e)
        return http_error(404, "emulator: no control route %s %s" % (m, req.path))

    # request dispatch ---------------------------------------------------------------------
    def dispatch(self, h):
        split = urllib.parse.urlsplit(h.path)
        raw_path, query = split.path or "/", split.query
        is_control = raw_path.startswith(CONTROL_PREFIX)
        if getattr(h.server, "control_only", False) and not is_control:
            h.send(http_error(404, "404 page not found"))
            return
        if not is_control:
            down = self.faults.get("down")
            if down in ("close", "reset", "refuse"):
                h.drop(reset=(down == "reset"))
                return
        body = h.read_body()
        source_ip = h.headers.get(SOURCE_IP_HEADER) or h.client_address[0]
        req = Request(h.command, urllib.parse.unquote(raw_path),
                      urllib.parse.parse_qs(query, keep_blank_values=True), h.headers, body,
                      source_ip)
        if is_control:
            h.send(self.control(req))
            return
        delay = self.faults.get("delay")
        if delay:
            time.sleep(delay)
        garbage = self.faults.get("garbage")
        if garbage:
            self.send_garbage(h, garbage, req)
            return
        resp = self.route(h, req, raw_path, query)
        if isinstance(resp, Watch):
            self.stream_watch(h, resp)
            return
        h.send(resp)
        after = getattr(resp, "after", None)
        if after:
            threading.Thread(target=after, daemon=True).start()

    def route(self, h, req, raw_path, query):
        """The middleware (CORS, OPTIONS 204, panic → 500) around the Go mux."""
        if req.method == "OPTIONS":
            return Response(204)
        cleaned = clean_path(urllib.parse.unquote(raw_path))
        if cleaned != urllib.parse.unquote(raw_path):
            loc = cleaned + ("?" + query if query else "")
            if req.method in ("GET", "HEAD"):
                return Response(301, '<a href="%s">Moved Permanently</a>.\n\n' % loc,
                                "text/html; charset=utf-8", {"Location": loc})
            return Response(301, b"", None, {"Location": loc})
        try:
            handler, params = self.mkube.router.resolve(req.method, raw_path)
            req.params = params
            return handler(req)
        except MethodNotAllowed as e:
            return http_error(405, "Method Not Allowed", {"Allow": e.allow})
        except HTTPError as e:
            return http_error(e.code, e.msg)
        except Exception as e:  # a Go handler panic
            return http_error(500, "internal server error: %s" % e)

    def send_garbage(self, h, mode, req):
        status = self.faults.get("garbage_status")
        body, ctype = GARBAGE[mode]
        if req.q("watch") == "true" and req.method == "GET":
            h.write_head(200, dict(CORS, **{"Content-Type": "application/json"}), chunked=True)
            h.write_chunk(GARBAGE_WATCH.get(mode, body))
            if mode in ("json", "html"):
                h.wfile.write(b"0\r\n\r\n")
                h.wfile.flush()
            else:
                h.drop()
            return
        if mode == "truncated":
            h.write_head(status, dict(CORS, **{"Content-Type": ctype}), length=len(body) + 100)
            h.wfile.write(body)
            h.wfile.flush()
            h.drop()
            return
        h.send(Response(status, body, ctype))

    def stream_watch(self, h, w):
        """§3: headers flushed at once; snapshot ADDED; KV replay; live events. No
        resourceVersion, no BOOKMARK/ERROR, no heartbeat: an idle stream is silent."""
        if self.faults.get("watch_unavailable"):
            h.send(http_error(503, "watch requires NATS store"))
            return
        events, sub = self.store.open_watch(w.kind, w.namespace,
                                            self.faults.get("stale_tombstones"))
        try:
            h.write_head(200, dict(CORS, **{"Content-Type": "application/json",
                                            "Cache-Control": "no-cache",
                                            "Connection": "keep-alive"}), chunked=True)
            h.wfile.flush()
            if h.command == "HEAD":
                return
            for ev in events:
                h.write_chunk(self.encode_event(w.kind, ev))
            while True:
                try:
                    ev = sub.queue.get(timeout=0.25)
                except queue.Empty:
                    if h.client_gone():
                        h.close_connection = True
                        return
                    continue
                if ev[0] == "__close__":
                    if ev[1] == Subscription.CLOSE_CLEAN:
                        h.wfile.write(b"0\r\n\r\n")
                        h.wfile.flush()
                    else:
                        h.drop()
                    return
                h.write_chunk(self.encode_event(w.kind, ev))
        except OSError:
            h.close_connection = True
        finally:
            sub.cancel()

    @staticmethod
    def encode_event(kind, ev):
        return ('{"type":"%s","object":%s}\n' % (ev[0], kind.encode(ev[1]))).encode()


# ============================================================================================
# CLI


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0, help="0 = a random free port")
    ap.add_argument("--host", default="127.0.0.1", help="loopback only")
    ap.add_argument("--state", help="persist the KV to this JSON file (survives restarts)")
    ap.add_argument("--fixture", help="load this fixture when the state file is absent/empty")
    ap.add_argument("--control-port", type=int, help="extra control-only listener "
                                                    "(/_emulator/*), usable while down=refuse")
    ap.add_argument("--seed", type=int, help="seed the random list/serve order")
    ap.add_argument("--delay", type=float, default=0.0, help="fault: seconds per answer")
    ap.add_argument("--garbage", choices=["bytes", "json", "html", "truncated"],
                    help="fault: answer junk")
    ap.add_argument("--down", choices=["close", "reset"], help="fault: drop connections")
    ap.add_argument("--no-stale-tombstones", action="store_true",
                    help="do not replay DELETED for old deletions on watch connect")
    ap.add_argument("--watch-unavailable", action="store_true", help="fault: watch → 503")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    emu = Emulator(port=args.port, state_file=args.state, fixture=args.fixture,
                   control_port=args.control_port, seed=args.seed, verbose=args.verbose,
                   host=args.host)
    emu.faults.set({"delay": args.delay, "garbage": args.garbage, "down": args.down,
                    "stale_tombstones": not args.no_stale_tombstones,
                    "watch_unavailable": args.watch_unavailable})
    emu.start()
    print(emu.url, flush=True)
    if args.control_port is not None:
        print("control " + emu.control_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
