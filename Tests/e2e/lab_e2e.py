#!/usr/bin/env python3
"""End-to-end boot on a lab network: DHCP and TFTP from dnsmasq, as `bootgate dnsmasq` prints it.

boot_e2e.py lets QEMU's user-mode network hand out addresses and the first boot file. Here the
VMs sit on a bridge, like servers on a switch, and everything comes from real servers on it:

  namespace SW   (the switch)  bridge br0: tap-bios, tap-uefi (the VMs), p-srv, p-site
  namespace SRV  (bootgate's machine, 192.0.2.1 on eth0): bootgate, tgtd, dnsmasq configured
                 by `bootgate dnsmasq` (proxy-DHCP or a full range), TFTP from /usr/lib/ipxe.
                 This script itself runs in SRV once the network exists.
  namespace SITE (the lab's own DHCP server, 192.0.2.2): a plain dnsmasq handing out addresses
                 only, started in proxy mode.

Per mode (proxy, range) and firmware it runs boot_e2e's case "known MAC -> sanboot -> the ISO's
boot -> config -> boot-complete", then (proxy mode, by default) "the same VM reboots -> local-boot
script":
  - UEFI: OVMF's own PXE on a virtio NIC with no option ROM (romfile=) loads ipxe.efi over TFTP;
  - BIOS: SeaBIOS with the NIC's ROM. QEMU's NIC ROM is iPXE itself, so dnsmasq must recognise it
    and give it /boot.ipxe at once (no TFTP). undionly.kpxe is checked with busybox's DHCP and
    TFTP clients acting as a BIOS PXE client.
dnsmasq's log of every DHCP exchange is then checked: firmware PXE got the iPXE binary for its
architecture, iPXE (user class iPXE) only ever got the boot URL, never the binary again.

192.0.2.0/24 (TEST-NET-1) exists only inside these namespaces; nothing is routed out of them,
and they are deleted on exit, failed or not. Needs root. See README.md.
"""

import argparse
import atexit
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boot_e2e as e2e  # noqa: E402  (its processes, API client, serial console and cases)
from boot_e2e import PROCS, StepFailed, log  # noqa: E402

NET = "192.0.2.0/24"
SRV_IP = "192.0.2.1"
SITE_IP = "192.0.2.2"
VM_IP = "192.0.2.50"          # pinned to KNOWN_MAC by whichever DHCP server hands out addresses
POOL = "192.0.2.100,192.0.2.150"
IPXE_DIR = "/usr/lib/ipxe"
NBP = {"bios": "undionly.kpxe", "uefi": "ipxe.efi"}
CLONE_NEWNET = 0x40000000


def sh(*argv, check=True):
    r = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and r.returncode != 0:
        raise StepFailed("%s failed: %s" % (" ".join(argv), r.stdout.decode(errors="replace").strip()))
    return r


class Lab:
    """The namespaces, bridge, veths and taps; `destroy` removes them (deleting a namespace
    deletes every link in it)."""

    def __init__(self):
        tag = "bg%d" % os.getpid()
        self.sw, self.srv, self.site = tag + "-sw", tag + "-srv", tag + "-site"
        self.made = []

    def create(self):
        for ns in (self.sw, self.srv, self.site):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.sw, "link", "set", "br0", "up")
        for ns, port, addr in ((self.srv, "p-srv", SRV_IP), (self.site, "p-site", SITE_IP)):
            sh("ip", "-n", self.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.sw, "link", "set", port, "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        for fw in ("bios", "uefi"):
            sh("ip", "-n", self.sw, "tuntap", "add", "dev", "tap-" + fw, "mode", "tap")
            sh("ip", "-n", self.sw, "link", "set", "tap-" + fw, "master", "br0", "up")
        log("lab network: namespaces %s (bridge br0), %s (%s), %s (%s)" % (self.sw, self.srv, SRV_IP, self.site, SITE_IP))

    def enter(self, ns):
        """Move this process (its main thread, and so every child it starts) into `ns`."""
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise StepFailed("setns(%s): %s" % (ns, os.strerror(ctypes.get_errno())))
        finally:
            os.close(fd)

    def destroy(self):
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.made = []


class DhcpLog:
    """dnsmasq's log-dhcp output, read as transactions (xid -> lines) and TFTP sends."""

    def __init__(self, path):
        self.path = path

    def text(self):
        try:
            return open(self.path, errors="replace").read()
        except FileNotFoundError:
            return ""

    def transactions(self, start=0):
        xids = {}
        for line in self.text()[start:].splitlines():
            m = re.search(r"dnsmasq-dhcp\[\d+\]: (\d+) (.*)", line)
            if m:
                xids.setdefault(m.group(1), []).append(m.group(2))
        return xids

    def tftp_sends(self, start=0):
        return re.findall(r"dnsmasq-tftp\[\d+\]: sent (\S+) to (\S+)", self.text()[start:])

    def reloads(self, start, mac, ip):
        """TFTP sends to `ip` whose latest DHCP exchange for `mac` was iPXE's: iPXE loading iPXE."""
        last, bad, ipxe_xids = None, [], set()
        for line in self.text()[start:].splitlines():
            m = re.search(r"dnsmasq-dhcp\[\d+\]: (\d+) ", line)
            if m and "user class: iPXE" in line:
                ipxe_xids.add(m.group(1))  # logged before the exchange's line with the MAC
            if m and mac in line.lower():
                last = "ipxe" if m.group(1) in ipxe_xids else "firmware"
            t = re.search(r"dnsmasq-tftp\[\d+\]: sent (\S+) to (\S+)", line)
            if t and t.group(2) == ip and last == "ipxe":
                bad.append(t.group(1))
        return bad


class LabSuite(e2e.Suite):
    listen_addr = SRV_IP
    guest_addr = SRV_IP
    vm_ip = VM_IP
    # Listening beyond loopback needs a token file or --insecure; the lab is a closed namespace.
    serve_extra = ["--insecure"]
    work_prefix = "bootgate-lab-e2e-"

    def __init__(self, args, lab):
        super().__init__(args)
        self.lab = lab
        self.dnsmasq = None
        self.site = None
        self.mode = None
        self.dhcp_log = DhcpLog(os.path.join(self.work, "dnsmasq.log"))
        self.site_log = os.path.join(self.work, "site-dnsmasq.log")

    # ---- DHCP servers
    def start_dhcp(self, mode):
        self.mode = mode
        conf = os.path.join(self.work, "dnsmasq-%s.conf" % mode)
        argv = [self.args.bootgate, "dnsmasq", "--mode", mode, "--interface", "eth0", "--network", NET,
                "--server-url", self.public, "--tftp-root", IPXE_DIR, "--log-dhcp", "--output", conf]
        if mode == "range":
            argv += ["--range", POOL, "--host", "%s=%s" % (e2e.KNOWN_MAC, VM_IP)]
        sh(*argv)
        sh("dnsmasq", "--test", "-C", conf)
        log("bootgate dnsmasq (%s):\n%s" % (mode, open(conf).read()))
        if mode == "proxy":
            # The lab's own DHCP server: addresses only, no boot file.
            site_conf = os.path.join(self.work, "site-dnsmasq.conf")
            with open(site_conf, "w") as f:
                f.write("port=0\ninterface=eth0\nbind-interfaces\nlog-dhcp\n"
                        "dhcp-range=%s,255.255.255.0,1h\ndhcp-host=%s,%s\n" % (POOL, e2e.KNOWN_MAC, VM_IP))
            self.site = PROCS.start("site-dnsmasq", ["ip", "netns", "exec", self.lab.site] + self.dnsmasq_argv(site_conf, "site"),
                                    self.site_log + ".out")
        self.log_start = len(self.dhcp_log.text())
        self.dnsmasq = PROCS.start("dnsmasq", self.dnsmasq_argv(conf, "bootgate"), os.path.join(self.work, "dnsmasq.out"))
        deadline = time.monotonic() + 10
        while "DHCP" not in self.dhcp_log.text()[self.log_start:]:
            if self.dnsmasq.poll() is not None or time.monotonic() > deadline:
                raise StepFailed("dnsmasq (%s) did not start: %s" % (mode, open(os.path.join(self.work, "dnsmasq.out")).read()))
            time.sleep(0.1)

    def dnsmasq_argv(self, conf, who):
        logf = self.dhcp_log.path if who == "bootgate" else self.site_log
        return ["dnsmasq", "--keep-in-foreground", "--conf-file=" + conf, "--log-facility=" + logf,
                "--pid-file=", "--dhcp-leasefile=" + os.path.join(self.work, who + ".leases"), "--user=root"]

    def stop_dhcp(self):
        for p in (self.dnsmasq, self.site):
            if p:
                PROCS.stop(p)
        self.dnsmasq = self.site = None

    def disk_boot(self, fw, qemu, ser, since):
        """UEFI: Debian's ipxe.efi (2019), loaded by OVMF's PXE, never gives control back when
        its script exits: the VM sits silent with no more DHCP (seen for 6 minutes). A UEFI
        lab boots its disk first and PXE once when the BMC asks (bootgate's power control does:
        docs/power.md), so the host is powered on again as a BMC leaves it after that one-shot
        network boot: disk first. BIOS: iPXE exits to the BIOS, which boots the disk."""
        if fw != "uefi":
            return qemu, ser, since
        log("uefi: power-cycling the VM with its disk first (as after a one-shot network boot)")
        PROCS.stop(qemu)
        qemu, ser = self.qemu(fw, e2e.KNOWN_MAC, "disk", disk=True, disk_first=True)
        return qemu, ser, 0

    # ---- QEMU on the bridge
    def qemu(self, fw, mac, tag, disk=False, disk_first=False):
        """`disk`: the installed-system image as the VM's disk, booted after the network (as in
        boot_e2e.py), so the hand-off runs through to the installed system here too."""
        serial = os.path.join(self.work, "serial-%s-%s-%s.log" % (self.mode, fw, tag))
        argv = ["ip", "netns", "exec", self.lab.sw, "nice", "-n", "10", "qemu-system-x86_64", "-machine", "pc"] + self.accel + [
            "-m", "512", "-nographic", "-monitor", "none", "-serial", "file:" + serial,
            "-netdev", "tap,id=n0,ifname=tap-%s,script=no,downscript=no" % fw]
        if fw == "uefi":
            ovmf = next((p for p in e2e.OVMF_CANDIDATES if os.path.exists(p)), None)
            if not ovmf:
                raise StepFailed("no OVMF.fd (apt-get install ovmf)")
            # No option ROM: OVMF's own PXE (it drives virtio NICs, not e1000) loads ipxe.efi.
            argv += ["-bios", ovmf, "-device", "virtio-net-pci,netdev=n0,mac=%s,romfile=,bootindex=%d" % (mac, 2 if disk_first else 1)]
        else:
            argv += ["-device", "e1000,netdev=n0,mac=%s,romfile=%s,bootindex=1" % (mac, e2e.BIOS_ROM)]
        if disk:
            argv += ["-drive", "file=%s,format=raw,if=none,id=d0,snapshot=on" % self.disk,
                     "-device", "ide-hd,drive=d0,bootindex=%d" % (1 if disk_first else 2)]
        log("QEMU %s %s %s: %s" % (self.mode, fw, tag, " ".join(argv)))
        p = PROCS.start("qemu-%s-%s" % (fw, tag), argv, os.path.join(self.work, "qemu-%s-%s-%s.out" % (self.mode, fw, tag)))
        self.last_serial = e2e.Serial(serial)
        return p, self.last_serial

    # ---- what dnsmasq did
    def check_dhcp(self, fw, start):
        """Firmware PXE got the iPXE binary for its architecture; iPXE got only the boot URL."""
        name = "%s %s: firmware PXE -> %s, iPXE -> /boot.ipxe, never the binary again" % (self.mode, fw, NBP[fw])
        boot_url = self.public + "/boot.ipxe"
        firmware, ipxe = [], []
        for xid, lines in self.dhcp_log.transactions(start).items():
            text = "\n".join(lines)
            if e2e.KNOWN_MAC not in text.lower():
                continue
            files = re.findall(r"bootfile-name\s+(\S+)|bootfile name:\s+(\S+)", text)
            files = {next(x for x in f if x) for f in files}
            (ipxe if re.search(r"user class: iPXE", text) else firmware).append((xid, files, text))
        tftp = [f for f, to in self.dhcp_log.tftp_sends(start) if to == VM_IP]
        problems = []
        for xid, files, text in ipxe:
            if files - {boot_url}:
                problems.append("iPXE (xid %s) was offered %s, not only %s" % (xid, sorted(files), boot_url))
        if not any(boot_url in files for _, files, _ in ipxe):
            problems.append("no DHCP answer to iPXE carried %s" % boot_url)
        if fw == "uefi":
            if not any(NBP[fw] in " ".join(files) for _, files, _ in firmware):
                problems.append("OVMF's PXE was never offered %s" % NBP[fw])
            if not tftp or not all(f.endswith("/" + NBP[fw]) for f in tftp):
                problems.append("TFTP sends to the VM: %s (expected %s only)" % (tftp, NBP[fw]))
        elif tftp:
            problems.append("the BIOS NIC's ROM is iPXE and must not load a binary, but TFTP sent %s" % tftp)
        again = self.dhcp_log.reloads(start, e2e.KNOWN_MAC, VM_IP)
        if again:
            problems.append("after iPXE's own DHCP exchange TFTP sent %s: iPXE loaded itself again" % again)
        if problems:
            self.results.append((name, False, "; ".join(problems)))
            print("===== dnsmasq log since this boot =====\n" + self.dhcp_log.text()[start:][-12000:])
        else:
            self.results.append((name, True, "%d firmware and %d iPXE DHCP exchanges, TFTP %s"
                                 % (len(firmware), len(ipxe), [os.path.basename(f) for f in tftp] or "none")))

    def check_bios_pxe_client(self):
        """A BIOS PXE client that is not iPXE (option 93 = 0, PXEClient vendor class, no user class)
        is offered undionly.kpxe and gets it over TFTP, byte for byte (range mode: the offer names it)."""
        name = "%s bios: a plain PXE client is offered undionly.kpxe and loads it over TFTP" % self.mode
        out = os.path.join(self.work, "udhcpc.env")
        script = os.path.join(self.work, "udhcpc.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n[ \"$1\" = bound ] && env > %s\nexit 0\n" % out)
        os.chmod(script, 0o755)
        ns = self.lab.site
        try:
            # A port of its own on the switch, in SITE's namespace.
            sh("ip", "-n", self.lab.sw, "link", "add", "p-pxe", "type", "veth", "peer", "name", "pxe0", "netns", ns)
            sh("ip", "-n", self.lab.sw, "link", "set", "p-pxe", "master", "br0", "up")
            sh("ip", "-n", ns, "link", "set", "pxe0", "address", "52:54:00:0b:00:05", "up")
            r = sh("ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "pxe0", "-n", "-q", "-f", "-t", "5", "-T", "2", "-s", script,
                   "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000", "-O", "bootfile", check=False)
            env = dict(l.split("=", 1) for l in open(out).read().splitlines() if "=" in l) if os.path.exists(out) else {}
            # Option 67 when asked for (-O bootfile), else the BOOTP file field.
            offered = env.get("bootfile") or env.get("boot_file")
            if offered != NBP["bios"]:
                raise StepFailed("offered boot file %r (udhcpc: %s)" % (offered, r.stdout.decode(errors="replace")[-400:]))
            got = os.path.join(self.work, "undionly.got")
            sh("ip", "netns", "exec", ns, "busybox", "tftp", "-g", "-r", NBP["bios"], "-l", got, env.get("siaddr") or SRV_IP)
            if open(got, "rb").read() != open(os.path.join(IPXE_DIR, NBP["bios"]), "rb").read():
                raise StepFailed("the TFTP copy of undionly.kpxe differs from %s" % IPXE_DIR)
            self.results.append((name, True, "address %s, boot file %s, %d bytes over TFTP"
                                 % (env.get("ip"), offered, os.path.getsize(got))))
        except (StepFailed, OSError) as e:
            self.results.append((name, False, str(e)))
        finally:
            sh("ip", "-n", self.lab.sw, "link", "del", "p-pxe", check=False)

    def run(self):
        self.prepare()
        for mode in self.args.modes:
            self.start_dhcp(mode)
            try:
                if mode == "range" and "bios" in self.args.firmware:
                    self.check_bios_pxe_client()
                for fw in self.args.firmware:
                    start = len(self.dhcp_log.text())
                    first = len(self.results)
                    self.case_sanboot_then_local(fw, reboot=mode in self.args.reboot_modes)
                    self.results[first:] = [("%s %s" % (mode, n), ok, d) for n, ok, d in self.results[first:]]
                    self.check_dhcp(fw, start)
            finally:
                self.stop_dhcp()
        ok = all(r[1] for r in self.results)
        print("\n===== bootgate lab e2e summary (%.0fs) =====" % (time.monotonic() - e2e.T0))
        for name, passed, detail in self.results:
            print("%s  %s  (%s)" % ("PASS" if passed else "FAIL", name, detail))
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootgate", default=os.environ.get("BOOTGATE_BIN", os.path.join(e2e.REPO, ".build/debug/bootgate")),
                    help="bootgate binary (env BOOTGATE_BIN; default .build/debug/bootgate)")
    ap.add_argument("--firmware", default="bios,uefi", help="comma list of bios,uefi (default both)")
    ap.add_argument("--modes", default="proxy,range", help="comma list of proxy,range (default both)")
    ap.add_argument("--reboot-modes", default="proxy",
                    help="modes whose VMs also reboot into the local-boot script (boot_e2e's case 2; default proxy)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per case (default 120)")
    ap.add_argument("--accel", default="tcg", choices=["tcg", "kvm", "auto"], help="QEMU accelerator (default tcg)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (ISO, logs, serial consoles, dnsmasq configs)")
    ap.add_argument("--log-chars", type=int, default=20000, help="how much of a serial log to print on failure")
    args = ap.parse_args()
    args.firmware = [f.strip() for f in args.firmware.split(",") if f.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    args.reboot_modes = [m.strip() for m in args.reboot_modes.split(",") if m.strip()]
    if any(f not in ("bios", "uefi") for f in args.firmware) or any(m not in ("proxy", "range") for m in args.modes):
        ap.error("--firmware takes bios,uefi and --modes proxy,range")
    if not os.path.exists(args.bootgate):
        ap.error("bootgate binary not found: %s" % args.bootgate)
    args.bootgate = os.path.abspath(args.bootgate)
    if os.geteuid() != 0:
        ap.error("needs root (network namespaces, tap devices, tgtd)")
    for tool in ("ip", "dnsmasq", "busybox", "qemu-system-x86_64", "tgtd"):
        if not shutil.which(tool):
            ap.error("%s is missing (run Tests/e2e/install-deps.sh)" % tool)

    lab = Lab()
    suite = None

    def cleanup():
        PROCS.stop_all()
        lab.destroy()
        if suite:
            if args.keep:
                print("work dir kept: %s" % suite.work)
            else:
                shutil.rmtree(suite.work, ignore_errors=True)

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        lab.create()
        lab.enter(lab.srv)
        suite = LabSuite(args, lab)  # its free ports and API address are in SRV now
        ok = suite.run()
    except StepFailed as e:
        print("SETUP FAILED: %s" % e)
        if suite:
            for f in (suite.bootgate_log, suite.tgt_log, suite.dhcp_log.path, suite.site_log):
                if os.path.exists(f):
                    print("===== %s =====\n%s" % (f, open(f, errors="replace").read()[-6000:]))
            print("===== API transcript =====\n" + "\n".join(suite.api.transcript[-12:]))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
