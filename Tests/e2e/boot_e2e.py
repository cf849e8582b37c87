#!/usr/bin/env python3
"""End-to-end boot proof for bootgate: real firmware, real iPXE, real iSCSI, a real booted ISO.

For each firmware (BIOS = SeaBIOS + iPXE ROM, UEFI = OVMF + iPXE EFI ROM) it boots a QEMU
virtual machine with user-mode networking against bootgate on loopback:

  0. the test ISO is uploaded through the API; bootgate (`serve --export tgt`) exports it on a
     private tgtd (the test makes no target and sets no status) and reports its target;
  1. known MAC: the VM PXE-boots, chains to /boot.ipxe and /ipxe?mac=…, sanboots the test ISO
     from that tgt iSCSI target (LUN 1), the ISO's own boot loader and kernel start, the
     booted system fetches /api/v1/bootconfig, prints what it got (checked against the host's
     expected rendering) and POSTs /api/v1/boot-complete, then reboots;
  2. the same VM's next PXE boot gets the local-boot script (checked on the serial console and
     in bootgate's answer), the firmware falls through to the VM's disk, and the "installed
     system" on it fetches /api/v1/bootconfig and gets the next config that the installer
     config declared (`bootgate.io/next-boot-config`), rendered for the host;
  3. an unknown MAC gets the explaining exit script (the reason is on the serial console, no
     iPXE shell);
  4. the kernel boot method (host annotation bootgate.io/boot-method=kernel): iPXE fetches the
     same ISO's kernel and initrd over HTTP from its files route, no boot loader of the ISO runs,
     and the booted kernel fetches its config and posts boot-complete (--no-kernel skips it).

Everything the VM talks to is 10.0.2.2 (QEMU user-net's alias of the host loopback); tgtd and
bootgate listen on 127.0.0.1 only. Needs root (tgtd). See README.md.
"""

import argparse
import atexit
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "Tests", "support"))
from tgtd import free_control_port  # noqa: E402  (one way to pick a free tgtd control port)

KNOWN_MAC = "52:54:00:12:34:56"
UNKNOWN_MAC = "52:54:00:0b:ad:01"
HOST_NAME = "vm1"
NAMESPACE = "default"
ISO_NAME = "test-iso"
CONFIG_NAME = "test-config"
TARGET_CONFIG_NAME = "test-target"
# bootgate names the target it exports (`serve --export tgt`): <prefix>:<ISO name>.
IQN = "iqn.2026-01.io.bootgate:" + ISO_NAME

DISK_TAG = "BOOTGATE-TEST-DISK"

CONFIG_TEMPLATE = json.dumps(
    {"ignition": {"version": "3.4.0"}, "passwd": {"users": [{"name": "core", "gecos": "{{host.name}}"}]}},
    separators=(",", ":"))
TARGET_TEMPLATE = json.dumps(
    {"ignition": {"version": "3.4.0"}, "passwd": {"users": [{"name": "core", "gecos": "installed {{host.name}}"}]}},
    separators=(",", ":"))

OVMF_CANDIDATES = ["/usr/share/ovmf/OVMF.fd", "/usr/share/qemu/OVMF.fd", "/usr/share/OVMF/OVMF.fd"]
EFI_ROM = "/usr/lib/ipxe/qemu/efi-e1000.rom"
BIOS_ROM = "/usr/lib/ipxe/qemu/pxe-e1000.rom"

ANSI = re.compile(rb"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>cDEHMNOZ78]")


class StepFailed(Exception):
    pass


def log(msg):
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- processes

class Procs:
    """Processes this run started; stopped by pid on exit (never by name)."""

    def __init__(self):
        self.items = []  # (name, Popen, stop_fn)

    def start(self, name, argv, logfile, stop=None, **kw):
        f = open(logfile, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True, **kw)
        self.items.append((name, p, stop))
        return p

    def stop(self, p, timeout=5):
        if p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)  # its own session: it and its children only
        except ProcessLookupError:
            return
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)

    def stop_all(self):
        for name, p, stop in reversed(self.items):
            if p.poll() is None and stop:
                try:
                    stop()
                    p.wait(5)
                except Exception:
                    pass
            self.stop(p)
        self.items = []


PROCS = Procs()


# --------------------------------------------------------------------------- HTTP to bootgate

class Api:
    def __init__(self, base):
        self.base = base
        self.transcript = []

    def call(self, method, path, body=None, ctype="application/json", quiet=False):
        data = None
        headers = {"Accept": "application/json, */*"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                status, rbody, rct = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, rbody, rct = e.code, e.read(), e.headers.get("Content-Type", "")
        except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
            status, rbody, rct = 0, str(e).encode(), ""
        entry = "%s %s %s\n  -> %s %s %s" % (method, path, (data or b"").decode(errors="replace"), status, rct,
                                               rbody.decode(errors="replace")[:1500])
        self.transcript.append(entry)
        if not quiet:
            log("API " + entry.replace("\n", " "))
        return status, rbody

    def json(self, method, path, body=None, ctype="application/json", expect=(200, 201)):
        status, rbody = self.call(method, path, body, ctype)
        if status not in expect:
            raise StepFailed("%s %s answered %s: %s" % (method, path, status, rbody.decode(errors="replace")[:500]))
        try:
            return json.loads(rbody) if rbody.strip() else None
        except ValueError:
            raise StepFailed("%s %s answered non-JSON: %r" % (method, path, rbody[:300]))


# --------------------------------------------------------------------------- serial console

class Serial:
    def __init__(self, path):
        self.path = path

    def raw(self):
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def text(self):
        t = ANSI.sub(b"", self.raw()).replace(b"\r", b"").replace(b"\x08 \x08", b"")
        return t.decode("utf-8", errors="replace")

    def wait_for(self, what, pattern, start, deadline, qemu, fail=()):
        """Wait until `pattern` matches the console text after offset `start`; return the match."""
        rx = re.compile(pattern)
        fails = [re.compile(f) for f in fail]
        while True:
            t = self.text()
            m = rx.search(t, start)
            if m:
                log("serial: %s  [%s]" % (what, m.group(0).strip()[:160]))
                return m
            for f in fails:
                fm = f.search(t, start)
                if fm:
                    raise StepFailed("while waiting for %s the console showed %r" % (what, fm.group(0).strip()))
            if qemu.poll() is not None:
                raise StepFailed("QEMU exited (rc %s) while waiting for %s" % (qemu.returncode, what))
            if time.monotonic() > deadline:
                raise StepFailed("timed out waiting for %s (pattern %r)" % (what, pattern))
            time.sleep(0.3)

    def absent_for(self, what, pattern, start, seconds, qemu):
        """Fail if `pattern` shows up after `start` within `seconds`."""
        rx = re.compile(pattern)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            m = rx.search(self.text(), start)
            if m:
                raise StepFailed("%s: console showed %r" % (what, m.group(0).strip()))
            if qemu.poll() is not None:
                break
            time.sleep(0.3)


# --------------------------------------------------------------------------- the suite

class Suite:
    # Addresses: what bootgate and tgtd listen on, how the VMs reach them, and where the VMs'
    # requests come from (the host's spec.ip). lab_e2e.py's subclass puts them on a bridge.
    listen_addr = "127.0.0.1"
    guest_addr = "10.0.2.2"
    vm_ip = "127.0.0.1"
    serve_extra = []
    work_prefix = "bootgate-e2e-"

    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix=self.work_prefix)
        self.bg_port = free_port()
        self.tgt_port = free_port()
        self.tgt_ctl = None
        self.public = "http://%s:%d" % (self.guest_addr, self.bg_port)
        self.api = Api("http://%s:%d" % (self.listen_addr, self.bg_port))
        self.iso = os.path.join(self.work, "test.iso")
        self.disk = os.path.join(self.work, "installed.img")
        self.tftp = os.path.join(self.work, "tftp")
        self.data = os.path.join(self.work, "data")
        self.bootgate_log = os.path.join(self.work, "bootgate.log")
        self.tgt_log = os.path.join(self.work, "tgtd.log")
        self.results = []
        self.last_serial = None
        self.accel = []
        if args.accel == "kvm" or (args.accel == "auto" and os.access("/dev/kvm", os.R_OK | os.W_OK)):
            self.accel = ["-accel", "kvm"]
        else:
            self.accel = ["-accel", "tcg"]

    # ---- setup
    def build_iso(self):
        # The installer posts boot-complete with no body: the next config comes from the
        # installer config's own bootgate.io/next-boot-config annotation.
        env = dict(os.environ, BOOTGATE_URL=self.public, AFTER="reboot")
        env.pop("NEXT_BOOT_CONFIG", None)
        for role, out in (("installer", self.iso), ("installed", self.disk)):
            t = time.monotonic()
            r = subprocess.run([os.path.join(HERE, "make-test-iso.sh"), out], env=dict(env, ROLE=role),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise StepFailed("make-test-iso.sh (%s) failed:\n%s" % (role, r.stdout.decode(errors="replace")))
            log("built the %s image (%d bytes) in %.1fs" % (role, os.path.getsize(out), time.monotonic() - t))

    def tgtadm(self, *a, check=True):
        r = subprocess.run(["tgtadm", "-C", str(self.tgt_ctl), "--lld", "iscsi"] + list(a),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if check and r.returncode != 0:
            raise StepFailed("tgtadm %s failed: %s" % (" ".join(a), r.stdout.decode(errors="replace")))
        return r

    def start_tgt(self):
        if os.geteuid() != 0:
            raise StepFailed("tgtd needs root")
        try:
            self.tgt_ctl = free_control_port()
        except RuntimeError as e:
            raise StepFailed(str(e))
        def stop():
            # A tgtd with targets ignores SIGTERM and refuses to stop: remove bootgate's first.
            for tid in re.findall(r"^Target (\d+):", self.tgtadm("--op", "show", "--mode", "target", check=False).stdout.decode(), re.M):
                self.tgtadm("--op", "delete", "--mode", "target", "--force", "--tid", tid, check=False)
            self.tgtadm("--op", "delete", "--mode", "system", check=False)
        p = PROCS.start("tgtd", ["tgtd", "-f", "-C", str(self.tgt_ctl), "--iscsi",
                                 "portal=%s:%d" % (self.listen_addr, self.tgt_port)], self.tgt_log, stop=stop)
        deadline = time.monotonic() + 15
        while self.tgtadm("--op", "show", "--mode", "target", check=False).returncode != 0:
            if p.poll() is not None or time.monotonic() > deadline:
                raise StepFailed("tgtd did not start:\n" + open(self.tgt_log, errors="replace").read())
            time.sleep(0.2)
        log("tgtd (control %d) on %s:%d, no targets: bootgate makes them" % (self.tgt_ctl, self.listen_addr, self.tgt_port))

    def start_bootgate(self):
        os.makedirs(self.data, exist_ok=True)
        binary = self.args.bootgate
        argv = [binary] if os.access(binary, os.X_OK) else [sys.executable, binary]
        argv += ["serve", "--data", self.data, "--listen", "%s:%d" % (self.listen_addr, self.bg_port),
                 "--public-url", self.public, "--iscsi-portal", self.guest_addr, "--examples", "none",
                 "--power-control", "false",
                 # bootgate exports uploaded ISOs through this tgtd; the VM reaches it at guest_addr.
                 "--export", "tgt", "--tgt-control-port", str(self.tgt_ctl), "--export-portal", self.guest_addr,
                 "--export-port", str(self.tgt_port), "--export-poll-interval", "1"] + self.serve_extra
        log("starting " + " ".join(argv))
        p = PROCS.start("bootgate", argv, self.bootgate_log)
        deadline = time.monotonic() + 30
        while True:
            status, _ = self.api.call("GET", "/healthz", quiet=True)
            if status == 200:
                break
            if p.poll() is not None or time.monotonic() > deadline:
                raise StepFailed("bootgate did not answer /healthz")
            time.sleep(0.3)
        log("bootgate up on %s:%d (public %s)" % (self.listen_addr, self.bg_port, self.public))

    def upload_and_wait_for_export(self):
        """The ISO goes in through the API (a raw-body upload), and bootgate exports it: the
        test places no file and makes no target."""
        with open(self.iso, "rb") as f:
            body = f.read()
        req = urllib.request.Request(self.api.base + "/api/v1/iscsi-cdroms/%s/upload" % ISO_NAME, data=body, method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                got = json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise StepFailed("upload answered %s: %s" % (e.code, e.read()[:500]))
        st = got["status"]
        if st.get("phase") != "Ready" or st.get("sha256") != hashlib.sha256(body).hexdigest():
            raise StepFailed("upload: status %r" % st)
        deadline = time.monotonic() + 15
        while True:
            st = self.api.json("GET", "/api/v1/iscsi-cdroms/" + ISO_NAME)["status"]
            if st.get("targetIQN") == IQN and st.get("lun") == 1 and st.get("portalPort") == self.tgt_port:
                break
            if time.monotonic() > deadline:
                raise StepFailed("bootgate did not export the ISO: status %r" % st)
            time.sleep(0.3)
        show = self.tgtadm("--op", "show", "--mode", "target").stdout.decode()
        path = os.path.join(self.data, "iso", "test.iso")
        if IQN not in show or "Backing store path: " + path not in show:
            raise StepFailed("tgtadm show has no LUN for %s backed by %s:\n%s" % (IQN, path, show))
        log("uploaded %d bytes; bootgate exported %s as LUN 1 of %s" % (len(body), path, IQN))

    def create_objects(self):
        for name, tpl, meta in ((TARGET_CONFIG_NAME, TARGET_TEMPLATE, {}),
                                (CONFIG_NAME, CONFIG_TEMPLATE, {"annotations": {"bootgate.io/next-boot-config": TARGET_CONFIG_NAME}})):
            self.api.json("POST", "/api/v1/bootconfigs", {
                "apiVersion": "v1", "kind": "BootConfig", "metadata": dict(meta, name=name),
                "spec": {"format": "ignition", "data": {"config.ign": tpl}}})
        self.api.json("POST", "/api/v1/iscsi-cdroms", {
            "apiVersion": "v1", "kind": "ISCSICdrom", "metadata": {"name": ISO_NAME},
            "spec": {"isoFile": "test.iso", "bootConfigs": [CONFIG_NAME, TARGET_CONFIG_NAME]}})
        self.upload_and_wait_for_export()
        # Where the kernel method finds the ISO's kernel, initrd and arguments (the ISO's own
        # boot loaders use the same); they change nothing for sanboot.
        self.api.json("PATCH", "/api/v1/iscsi-cdroms/" + ISO_NAME, {"metadata": {"annotations": {
            "bootgate.io/kernel": "/boot/vmlinuz", "bootgate.io/initrd": "/boot/initrd.gz",
            "bootgate.io/kernel-args": "console=ttyS0,115200 loglevel=4 panic=-1 bootgate.url=%s bootgate.after=reboot "
                                       "bootgate.next=%s" % (self.public, TARGET_CONFIG_NAME)}}},
                      ctype="application/merge-patch+json")
        self.api.json("POST", "/api/v1/namespaces/%s/baremetalhosts" % NAMESPACE, {
            "apiVersion": "v1", "kind": "BareMetalHost", "metadata": {"name": HOST_NAME, "namespace": NAMESPACE},
            "spec": {"bootMACAddress": KNOWN_MAC, "ip": self.vm_ip, "image": ISO_NAME,
                     "bootConfigRef": CONFIG_NAME, "localBoot": "exit"}})
        with open(os.path.join(self.tftp, "chain.ipxe"), "w") as f:
            f.write("#!ipxe\ndhcp\nchain %s/boot.ipxe\n" % self.public)

    def reset_host(self):
        self.api.json("PATCH", "/api/v1/namespaces/%s/baremetalhosts/%s" % (NAMESPACE, HOST_NAME),
                      {"spec": {"image": ISO_NAME, "bootConfigRef": CONFIG_NAME}},
                      ctype="application/merge-patch+json")

    # ---- QEMU
    def qemu(self, fw, mac, tag, disk=False, idle_nic_first=None, bootfile="chain.ipxe"):
        """`disk`: attach the installed-system image as the VM's disk, booted after the network
        (a copy-on-write snapshot: the image is never written). `idle_nic_first`: the MAC of a
        NIC without a ROM or a network, put before the booting one (it becomes iPXE's net0)."""
        serial = os.path.join(self.work, "serial-%s-%s.log" % (fw, tag))
        argv = ["qemu-system-x86_64", "-machine", "pc"] + self.accel + [
            "-m", "512", "-nographic", "-monitor", "none", "-serial", "file:" + serial,
            "-netdev", "user,id=n0,tftp=%s,bootfile=%s" % (self.tftp, bootfile)]
        if idle_nic_first:
            argv += ["-netdev", "hubport,id=idle,hubid=7", "-device", "e1000,netdev=idle,mac=%s,romfile=" % idle_nic_first]
        nic = "e1000,netdev=n0,mac=%s,romfile=%s,bootindex=1" % (mac, EFI_ROM if fw == "uefi" else BIOS_ROM)
        if fw == "uefi":
            ovmf = next((p for p in OVMF_CANDIDATES if os.path.exists(p)), None)
            if not ovmf:
                raise StepFailed("no OVMF.fd (apt-get install ovmf)")
            # No network boot of OVMF's own (PXE and HTTP boot, IPv4 and IPv6) after iPXE's
            # (iPXE has its own stack): once iPXE exits, OVMF goes straight on to the disk instead
            # of fetching chain.ipxe again and waiting for DHCP answers that never come.
            argv += ["-bios", ovmf]
            for knob in ("IPv4PXESupport", "IPv6PXESupport", "IPv4Support", "IPv6Support"):
                argv += ["-fw_cfg", "name=opt/org.tianocore/%s,string=n" % knob]
        argv += ["-device", nic]
        if disk:
            argv += ["-drive", "file=%s,format=raw,if=none,id=d0,snapshot=on" % self.disk,
                     "-device", "ide-hd,drive=d0,bootindex=2"]
        log("QEMU %s %s: %s" % (fw, tag, " ".join(argv)))
        p = PROCS.start("qemu-%s-%s" % (fw, tag), argv, os.path.join(self.work, "qemu-%s-%s.out" % (fw, tag)))
        self.last_serial = Serial(serial)
        return p, self.last_serial

    # ---- checks
    def expected_config(self, tpl):
        return json.loads(tpl.replace("{{host.name}}", HOST_NAME))

    def check_config_block(self, text, start, marker="BOOTGATE-CONFIG", template=CONFIG_TEMPLATE):
        m = re.search(marker + r"-BEGIN status=(\S+) size=(\d+) sha256=([0-9a-f]{64})\n(.*?)\n" + marker + "-END",
                      text[start:], re.S)
        if not m:
            raise StepFailed("config block not found on the console")
        status, size, sha, body = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        if status != "200":
            raise StepFailed("the booted ISO got HTTP %s from /api/v1/bootconfig: %r" % (status, body))
        # The guest printed the body with `cat; echo`; serial adds nothing else once \r is gone.
        got = body.encode()
        if hashlib.sha256(got).hexdigest() != sha and hashlib.sha256(got + b"\n").hexdigest() != sha:
            raise StepFailed("config on the console (%d bytes) does not match the guest's size=%d sha256=%s"
                             % (len(got), size, sha))
        try:
            doc = json.loads(body)
        except ValueError:
            raise StepFailed("the booted ISO got a config that is not JSON: %r" % body[:300])
        want = self.expected_config(template)
        if doc != want:
            raise StepFailed("the booted ISO got\n  %s\nexpected the host's rendering\n  %s"
                             % (json.dumps(doc, sort_keys=True), json.dumps(want, sort_keys=True)))
        log("config received by the booted ISO matches the rendering for %s (%d bytes, sha256 %s…)"
            % (HOST_NAME, size, sha[:12]))

    def events(self):
        status, body = self.api.call("GET", "/api/v1/events?host=%s/%s" % (NAMESPACE, HOST_NAME))
        if status != 200:
            raise StepFailed("GET /api/v1/events answered %s" % status)
        ev = json.loads(body)
        if isinstance(ev, dict):
            ev = ev.get("items") or ev.get("events") or []
        return ev

    def check_events(self, before):
        """The events recorded since `before` (a count) hold an ipxe fetch, then a config fetch,
        then a boot-complete. Event field names are not pinned: each event is matched on its JSON."""
        ev = self.events()
        new = ev[before:] if len(ev) > before else ev
        flat = [str(e.get("type") or e.get("kind") or json.dumps(e)).lower() if isinstance(e, dict)
                else json.dumps(e).lower() for e in new]

        def first(words, after=-1):
            for i, s in enumerate(flat):
                if i > after and any(w in s for w in words):
                    return i
            return None
        i_ipxe = first(("ipxe",))
        i_cfg = first(("bootconfig", "config-fetch", "config_fetch", "configfetch", "config"),
                      -1 if i_ipxe is None else i_ipxe)
        i_done = first(("boot-complete", "bootcomplete", "boot_complete", "complete"),
                       -1 if i_cfg is None else i_cfg)
        if None in (i_ipxe, i_cfg, i_done):
            raise StepFailed("events for %s/%s since this boot lack ipxe fetch -> config fetch -> boot-complete "
                             "in that order (found at %s, %s, %s): %s"
                             % (NAMESPACE, HOST_NAME, i_ipxe, i_cfg, i_done, json.dumps(new)[:2000]))
        log("events: %d new, ipxe fetch #%d -> config fetch #%d -> boot-complete #%d"
            % (len(new), i_ipxe, i_cfg, i_done))

    def host(self):
        return self.api.json("GET", "/api/v1/namespaces/%s/baremetalhosts/%s" % (NAMESPACE, HOST_NAME))

    def wait_config_and_boot_complete(self, ser, at, deadline, qemu, fatal):
        """From the ISO's kernel on: its network, the config it fetched (checked), and its
        boot-complete answered 2xx. Returns the boot-complete match."""
        m = ser.wait_for("the network inside the ISO", r"BOOTGATE-TEST-ISO net ip=[^\n]*", at, deadline, qemu, fatal)
        start = m.end()
        ser.wait_for("the config fetched by the ISO", r"BOOTGATE-CONFIG-END", start, deadline, qemu,
                     [r"BOOTGATE-TEST-ISO FAILED[^\n]*"])
        self.check_config_block(ser.text(), start)
        m = ser.wait_for("boot-complete from the ISO", r"BOOTGATE-BOOT-COMPLETE status=(\d+)[^\n]*", start,
                         deadline, qemu, fatal)
        if not m.group(1).startswith("2"):
            raise StepFailed("boot-complete answered %s" % m.group(1))
        return m

    # ---- cases
    def case_kernel(self, fw):
        """The same unmodified ISO booted without iSCSI: bootgate's kernel method has iPXE fetch
        the ISO's kernel and initrd from its files route over HTTP."""
        name = "%s: known MAC, kernel method -> ISO's kernel over HTTP -> config -> boot-complete" % fw
        t0 = time.monotonic()
        self.reset_host()
        host_path = "/api/v1/namespaces/%s/baremetalhosts/%s" % (NAMESPACE, HOST_NAME)
        self.api.json("PATCH", host_path, {"metadata": {"annotations": {"bootgate.io/boot-method": "kernel"}}},
                      ctype="application/merge-patch+json")
        qemu, ser = self.qemu(fw, KNOWN_MAC, "kernel")
        deadline = time.monotonic() + self.args.timeout
        fatal = [r"BOOTGATE-TEST-ISO FAILED[^\n]*", r"Could not (open|boot|describe)[^\n]*", r"iPXE>",
                 r"No more network devices", r"Kernel panic[^\n]*", r"Booting from SAN device[^\n]*"]
        try:
            m = ser.wait_for("bootgate's kernel script", r"Booting %s kernel over HTTP for %s[^\n]*" % (ISO_NAME, HOST_NAME),
                             0, deadline, qemu, fatal + [r"Booting local disk[^\n]*"])
            t_script = time.monotonic() - t0
            after_script = m.end()
            m = ser.wait_for("the ISO's kernel/init", r"BOOTGATE-TEST-ISO stage2 linux[^\n]*", m.end(), deadline, qemu, fatal)
            if "BOOTGATE-TEST-ISO stage1" in ser.text()[after_script:m.start()]:
                raise StepFailed("the ISO's boot loader ran: the kernel method must start the kernel itself")
            m = self.wait_config_and_boot_complete(ser, m.end(), deadline, qemu, fatal)
            self.results.append((name, True, "kernel script after %.0fs, boot-complete after %.0fs" % (t_script, time.monotonic() - t0)))
        except StepFailed as e:
            self.results.append((name, False, str(e)))
            self.dump(fw, ser)
        finally:
            PROCS.stop(qemu)
            self.api.json("PATCH", host_path, {"metadata": {"annotations": {"bootgate.io/boot-method": None}}},
                          ctype="application/merge-patch+json")

    def disk_boot(self, fw, qemu, ser, since):
        """The VM that boots its disk in case 3, and where its console starts: here the same VM
        after iPXE exited to the firmware."""
        return qemu, ser, since

    def case_sanboot_then_local(self, fw, reboot=True):
        """Case 1, then (if `reboot`) case 2 on the same VM."""
        t0 = time.monotonic()
        self.reset_host()
        try:
            events_before = len(self.events())
        except (StepFailed, ValueError) as e:
            log("events not readable before the boot: %s" % e)
            events_before = 0
        qemu, ser = self.qemu(fw, KNOWN_MAC, "known", disk=True)
        deadline = time.monotonic() + self.args.timeout
        fatal = [r"BOOTGATE-TEST-ISO FAILED[^\n]*", r"Could not (open|boot|describe)[^\n]*", r"iPXE>",
                 r"No more network devices", r"Kernel panic[^\n]*"]
        try:
            m = ser.wait_for("bootgate's sanboot script", r"Booting %s for %s[^\n]*" % (ISO_NAME, HOST_NAME),
                             0, deadline, qemu, fatal + [r"Booting local disk[^\n]*"])
            t_sanboot = time.monotonic() - t0
            m = ser.wait_for("iPXE booting the iSCSI SAN device", r"Booting from SAN device 0x[0-9a-f]+",
                             m.end(), deadline, qemu, fatal)
            self.check_no_connection_left(fw)
            m = ser.wait_for("the ISO's own boot loader", r"BOOTGATE-TEST-ISO stage1 (bios|uefi)[^\n]*",
                             m.end(), deadline, qemu, fatal)
            if m.group(1) != fw:
                raise StepFailed("the ISO booted through its %s entry under %s firmware" % (m.group(1), fw))
            m = ser.wait_for("the ISO's kernel/init", r"BOOTGATE-TEST-ISO stage2 linux[^\n]*", m.end(), deadline, qemu, fatal)
            m = self.wait_config_and_boot_complete(ser, m.end(), deadline, qemu, fatal)
            m = ser.wait_for("the ISO finishing", r"BOOTGATE-TEST-ISO done[^\n]*", m.end(), deadline, qemu, fatal)
            t_done = time.monotonic() - t0
            h = self.host()
            spec, status = h.get("spec", {}), h.get("status", {})
            log("host after boot-complete: spec.image=%r spec.bootConfigRef=%r status=%s"
                % (spec.get("image"), spec.get("bootConfigRef"), json.dumps(status)[:400]))
            if spec.get("image") != "localboot":
                raise StepFailed("after boot-complete spec.image is %r, expected 'localboot'" % spec.get("image"))
            if spec.get("bootConfigRef") != TARGET_CONFIG_NAME:
                raise StepFailed("after boot-complete (no body; %s declares %s as its follow-up) spec.bootConfigRef is %r"
                                 % (CONFIG_NAME, TARGET_CONFIG_NAME, spec.get("bootConfigRef")))
            self.check_events(events_before)
            self.results.append(("%s: known MAC -> sanboot -> ISO boots -> config -> boot-complete" % fw, True,
                                 "sanboot script after %.0fs, ISO done after %.0fs" % (t_sanboot, t_done)))
        except StepFailed as e:
            self.results.append(("%s: known MAC -> sanboot -> ISO boots -> config -> boot-complete" % fw, False, str(e)))
            self.dump(fw, ser)
            PROCS.stop(qemu)
            self.results.append(("%s: same VM reboots -> local-boot script" % fw, False, "skipped (case 1 failed)"))
            return
        if not reboot:
            PROCS.stop(qemu)
            return
        # Case 2: the ISO rebooted the same VM; its next PXE boot must get the local-boot script.
        t1 = time.monotonic()
        try:
            deadline = time.monotonic() + self.args.timeout
            m2 = ser.wait_for("the local-boot script on the next PXE boot",
                              r"Booting local disk for %s[^\n]*" % HOST_NAME, m.end(), deadline, qemu,
                              [r"Booting %s for %s[^\n]*" % (ISO_NAME, HOST_NAME), r"iPXE>"])
            t_local = time.monotonic() - t1
            # Give iPXE time to exit back to the firmware: no shell, no second sanboot.
            ser.absent_for("after the local-boot script", r"iPXE>|BOOTGATE-TEST-ISO stage1|Booting %s for" % ISO_NAME,
                           m2.end(), 6, qemu)
            tail = ser.text()[m2.end():].strip().splitlines()
            log("console after the local-boot script: %r" % [l for l in tail if l.strip()][:6])
            status, body = self.api.call("GET", "/ipxe?mac=" + KNOWN_MAC.replace(":", "%3A"))
            script = body.decode(errors="replace")
            if status != 200 or not script.startswith("#!ipxe") or "sanboot" in script or \
                    not re.search(r"^exit\b", script, re.M):
                raise StepFailed("bootgate's /ipxe answer for %s is not a local-boot script: %s %r"
                                 % (KNOWN_MAC, status, script))
            self.results.append(("%s: same VM reboots -> local-boot script" % fw, True,
                                 "local-boot script %.0fs after the ISO rebooted" % t_local))
        except StepFailed as e:
            self.results.append(("%s: same VM reboots -> local-boot script" % fw, False, str(e)))
            self.dump(fw, ser)
            PROCS.stop(qemu)
            self.results.append(("%s: firmware boots the disk -> installed system gets the next config" % fw, False,
                                 "skipped (case 2 failed)"))
            return
        # Case 3: iPXE exited to the firmware, which boots the disk: the installed system.
        t2 = time.monotonic()
        name = "%s: firmware boots the disk -> installed system gets the next config" % fw
        try:
            qemu, ser, since = self.disk_boot(fw, qemu, ser, m2.end())
            deadline = time.monotonic() + self.args.timeout
            fatal = [DISK_TAG + r" FAILED[^\n]*", r"iPXE>", r"Kernel panic[^\n]*", r"Booting %s for[^\n]*" % ISO_NAME]
            m = ser.wait_for("the disk's own boot loader", DISK_TAG + r" stage1 (bios|uefi)[^\n]*", since, deadline, qemu, fatal)
            m = ser.wait_for("the installed system's network", DISK_TAG + r" net ip=[^\n]*", m.end(), deadline, qemu, fatal)
            start = m.end()
            ser.wait_for("the installed system's config", r"BOOTGATE-INSTALLED-CONFIG-END", start, deadline, qemu, fatal)
            self.check_config_block(ser.text(), start, "BOOTGATE-INSTALLED-CONFIG", TARGET_TEMPLATE)
            ser.wait_for("the installed system finishing", DISK_TAG + r" done[^\n]*", start, deadline, qemu, fatal)
            ev = [e for e in self.events()[events_before:] if isinstance(e, dict)]
            done = [i for i, e in enumerate(ev) if e.get("type") == "boot-complete"]
            fetched = [e for e in ev[(done[0] if done else 0):] if e.get("type") == "config"
                       and str(e.get("detail", "")).startswith(TARGET_CONFIG_NAME + "/")]
            if not done or not fetched:
                raise StepFailed("no fetch of %s recorded after boot-complete: %s" % (TARGET_CONFIG_NAME, json.dumps(ev)[-1500:]))
            self.results.append((name, True, "installed system had its config %.0fs after the local-boot script" % (time.monotonic() - t2)))
        except StepFailed as e:
            self.results.append((name, False, str(e)))
            self.dump(fw, ser)
        finally:
            PROCS.stop(qemu)

    def check_no_connection_left(self, fw):
        """Once iPXE has its final script and sanboots, bootgate must not keep the connection it
        came on: the firmware never closes it, and a rebooted VM that picks the same source port
        (old iPXE's seed is a coarse tick count, so on UEFI it often does) would send its SYN to
        that dead connection through QEMU's NAT and time out. bootgate closes it 2 s after the
        script; this waits up to 8 s for bootgate's port to have no established connection."""
        end = time.monotonic() + 8
        while True:
            r = subprocess.run(["ss", "-Htn", "state", "established", "( sport = :%d )" % self.bg_port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            left = [l for l in r.stdout.decode(errors="replace").splitlines() if l.strip()]
            if r.returncode == 0 and not left:
                log("no connection left open on bootgate's port after the sanboot")
                return
            if time.monotonic() > end:
                raise StepFailed("%s: bootgate still holds the firmware's connection after the sanboot: %s" % (fw, left))
            time.sleep(0.25)

    def case_unknown(self, fw):
        t0 = time.monotonic()
        name = "%s: unknown MAC -> explaining exit script" % fw
        status, body = self.api.call("GET", "/ipxe?mac=" + UNKNOWN_MAC.replace(":", "%3A"))
        script = body.decode(errors="replace")
        reasons = [l[5:].strip() for l in script.splitlines() if l.startswith("echo ") and l[5:].strip()]
        try:
            if status != 200 or not script.startswith("#!ipxe"):
                raise StepFailed("/ipxe for an unknown MAC answered %s %r" % (status, script))
            if "sanboot" in script or not re.search(r"^exit\s+[1-9]", script, re.M) or not reasons:
                raise StepFailed("/ipxe for an unknown MAC is not an explaining exit script: %r" % script)
        except StepFailed as e:
            self.results.append((name, False, str(e)))
            return
        qemu, ser = self.qemu(fw, UNKNOWN_MAC, "unknown")
        try:
            deadline = time.monotonic() + self.args.timeout
            start = 0
            for r in reasons:
                # iPXE expands ${…} in echo text; compare the literal parts. The BIOS console
                # (SeaBIOS serial console, 80 columns) wraps long lines: allow a newline anywhere.
                parts = [r"\n?".join(re.escape(c) for c in p) for p in re.split(r"\$\{[^}]*\}", r)]
                m = ser.wait_for("the reason %r" % r, r"(?:.|\n){0,200}?".join(parts), start, deadline, qemu,
                                 [r"iPXE>", r"Booting \S+ for[^\n]*"])
                start = m.end()
            ser.absent_for("after the exit script", r"iPXE>|sanboot|Booting \S+ for", start, 6, qemu)
            tail = ser.text()[start:].strip().splitlines()
            log("console after the exit script: %r" % [l for l in tail if l.strip()][:6])
            self.results.append((name, True, "reason on the console after %.0fs" % (time.monotonic() - t0)))
        except StepFailed as e:
            self.results.append((name, False, str(e)))
            self.dump(fw, ser)
        finally:
            PROCS.stop(qemu)

    def case_second_nic(self, fw):
        """The machine boots from its second NIC: /boot.ipxe must send that NIC's MAC (iPXE's
        `netX`, the booting one), not the first NIC's (`net0`), or the host is not found."""
        t0 = time.monotonic()
        name = "%s: booting from the second NIC -> that NIC's MAC is asked for" % fw
        self.reset_host()
        idle_mac = "52:54:00:0b:ad:02"
        # iPXE has its address from the boot NIC's DHCP already: straight to /boot.ipxe.
        with open(os.path.join(self.tftp, "second-nic.ipxe"), "w") as f:
            f.write("#!ipxe\nchain %s/boot.ipxe\n" % self.public)
        qemu, ser = self.qemu(fw, KNOWN_MAC, "second-nic", idle_nic_first=idle_mac, bootfile="second-nic.ipxe")
        try:
            ser.wait_for("bootgate's sanboot script for the second NIC's MAC", r"Booting %s for %s[^\n]*" % (ISO_NAME, HOST_NAME),
                         0, time.monotonic() + self.args.timeout, qemu,
                         [r"no BareMetalHost has MAC[^\n]*", r"iPXE>", r"No more network devices"])
            self.results.append((name, True, "sanboot script after %.0fs" % (time.monotonic() - t0)))
        except StepFailed as e:
            self.results.append((name, False, str(e)))
            self.dump(fw, ser)
        finally:
            PROCS.stop(qemu)

    # ---- reporting
    def dump(self, fw, ser):
        print("\n===== serial console (%s, %s) =====" % (fw, ser.path))
        print(ser.text()[-self.args.log_chars:])
        print("===== end of serial console =====\n")
        print("===== bootgate log (%s), last lines =====" % self.bootgate_log)
        try:
            print("".join(open(self.bootgate_log, errors="replace").readlines()[-80:]))
        except OSError:
            pass
        print("===== end of bootgate log =====\n")
        print("===== API transcript, last requests =====")
        print("\n".join(self.api.transcript[-12:]))
        print("===== end of API transcript =====\n", flush=True)

    def prepare(self):
        """The ISO and disk images, tgtd, bootgate and the test's objects (the ISO uploaded)."""
        os.makedirs(self.tftp)
        log("work dir %s" % self.work)
        self.build_iso()
        self.start_tgt()
        self.start_bootgate()
        self.create_objects()

    def run(self):
        self.prepare()
        for fw in self.args.firmware:
            self.case_sanboot_then_local(fw)
            self.case_unknown(fw)
            if fw == "bios":  # the NIC choice is iPXE's, the same under either firmware
                self.case_second_nic(fw)
            if not self.args.no_kernel:
                self.case_kernel(fw)
        ok = all(r[1] for r in self.results)
        print("\n===== bootgate e2e summary (%.0fs) =====" % (time.monotonic() - T0))
        for name, passed, detail in self.results:
            print("%s  %s  (%s)" % ("PASS" if passed else "FAIL", name, detail))
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootgate", default=os.environ.get("BOOTGATE_BIN", os.path.join(REPO, ".build/debug/bootgate")),
                    help="bootgate binary (env BOOTGATE_BIN; default .build/debug/bootgate)")
    ap.add_argument("--firmware", default="bios,uefi", help="comma list of bios,uefi (default both)")
    ap.add_argument("--timeout", type=float, default=90, help="seconds per case (default 90)")
    ap.add_argument("--accel", default="tcg", choices=["tcg", "kvm", "auto"],
                    help="QEMU accelerator (default tcg: software emulation)")
    ap.add_argument("--no-kernel", action="store_true", help="skip the kernel-method case (ISO's kernel over HTTP)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (ISO, logs, serial consoles)")
    ap.add_argument("--log-chars", type=int, default=20000, help="how much of a serial log to print on failure")
    args = ap.parse_args()
    args.firmware = [f.strip() for f in args.firmware.split(",") if f.strip()]
    for f in args.firmware:
        if f not in ("bios", "uefi"):
            ap.error("unknown firmware %r" % f)
    if not os.path.exists(args.bootgate):
        ap.error("bootgate binary not found: %s (build it, or pass --bootgate / BOOTGATE_BIN)" % args.bootgate)
    args.bootgate = os.path.abspath(args.bootgate)

    suite = Suite(args)

    def cleanup():
        PROCS.stop_all()
        if args.keep:
            print("work dir kept: %s" % suite.work)
        else:
            shutil.rmtree(suite.work, ignore_errors=True)

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        ok = suite.run()
    except StepFailed as e:
        print("SETUP FAILED: %s" % e)
        if os.path.exists(suite.bootgate_log):
            print("===== bootgate log =====\n" + open(suite.bootgate_log, errors="replace").read()[-8000:])
        if os.path.exists(suite.tgt_log):
            print("===== tgtd log =====\n" + open(suite.tgt_log, errors="replace").read()[-4000:])
        print("===== API transcript =====\n" + "\n".join(suite.api.transcript[-12:]))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
