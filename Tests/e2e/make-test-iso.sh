#!/bin/sh
# make-test-iso.sh OUT.iso — builds the small bootable ISO the end-to-end suite sanboots.
#
# The ISO is a miniature "installer": it boots with its own boot loader (ISOLINUX for BIOS,
# a standalone GRUB EFI image for UEFI, both El Torito entries), starts a Debian kernel with a
# busybox initramfs, brings up the NIC with DHCP, fetches $BOOTGATE_URL/api/v1/bootconfig,
# prints it to the serial console between markers (with its size and sha256), POSTs
# $BOOTGATE_URL/api/v1/boot-complete and then reboots (or powers off).
#
# Like a real installer ISO, the server URL is baked into the boot loader's kernel command
# line (bootgate.url=…), so the config request carries no host identity: the server must find
# the host by the request's source address.
#
# Environment:
#   BOOTGATE_URL      base URL the ISO talks to (default http://10.0.2.2:8082; QEMU user-net's
#                     alias of the host loopback — the ISO must never talk to anything else;
#                     or http://192.0.2.x, TEST-NET-1, which exists only in lab_e2e.py's namespaces)
#   NEXT_BOOT_CONFIG  if set, boot-complete is sent with {"nextBootConfig": "<value>"};
#                     otherwise it is sent with no body
#   AFTER             reboot (default) | poweroff — what the ISO does when it is done
#   ROLE              installer (default) | installed. `installed` builds the "installed
#                     system" instead: a hybrid image to attach as the VM's disk (BIOS through
#                     its MBR, UEFI through its EFI partition) that fetches its config and powers
#                     off, without calling boot-complete. Its markers say DISK / INSTALLED.
#   E2E_KERNEL_DIR    directory with vmlinuz, e1000.ko and virtio/*.ko (default /var/cache/bootgate-e2e/kernel,
#                     filled by install-deps.sh)
#   BUSYBOX           a static busybox (default /bin/busybox from busybox-static)
#
# Serial markers (one line each):
#   BOOTGATE-TEST-ISO stage1 bios|uefi       the ISO's own boot loader runs
#   BOOTGATE-TEST-ISO stage2 linux <release> the ISO's kernel ran its init
#   BOOTGATE-TEST-ISO net ip=<ip>            network is up
#   BOOTGATE-CONFIG-BEGIN status=<http> size=<n> sha256=<hex>   then the body, then
#   BOOTGATE-CONFIG-END
#   BOOTGATE-BOOT-COMPLETE status=<http> body=<response on one line>
#   BOOTGATE-TEST-ISO done, <after>
#   BOOTGATE-TEST-ISO FAILED: <why>          (then it powers off)
# With ROLE=installed: BOOTGATE-TEST-DISK stage1 bios|uefi, BOOTGATE-TEST-DISK stage2 …,
#   BOOTGATE-INSTALLED-CONFIG-BEGIN status=… size=… sha256=…, the body, BOOTGATE-INSTALLED-CONFIG-END,
#   BOOTGATE-TEST-DISK done, poweroff
set -eu

OUT=${1:?usage: make-test-iso.sh OUT.iso}
BOOTGATE_URL=${BOOTGATE_URL:-http://10.0.2.2:8082}
NEXT_BOOT_CONFIG=${NEXT_BOOT_CONFIG:-}
AFTER=${AFTER:-reboot}
ROLE=${ROLE:-installer}
case "$ROLE" in
    installer) TAG=BOOTGATE-TEST-ISO ID=bootgate-test-iso.id CFG=BOOTGATE-CONFIG ;;
    # Its own id file: GRUB finds its root by it, and the installer ISO's GRUB must not pick the disk.
    installed) TAG=BOOTGATE-TEST-DISK ID=bootgate-test-disk.id CFG=BOOTGATE-INSTALLED-CONFIG AFTER=poweroff ;;
    *) echo "ROLE must be installer or installed" >&2; exit 2 ;;
esac
E2E_KERNEL_DIR=${E2E_KERNEL_DIR:-/var/cache/bootgate-e2e/kernel}
BUSYBOX=${BUSYBOX:-/bin/busybox}
KERNEL=${KERNEL:-$E2E_KERNEL_DIR/vmlinuz}
E1000_KO=${E1000_KO:-$E2E_KERNEL_DIR/e1000.ko}
ISOLINUX_BIN=${ISOLINUX_BIN:-/usr/lib/ISOLINUX/isolinux.bin}
LDLINUX_C32=${LDLINUX_C32:-/usr/lib/syslinux/modules/bios/ldlinux.c32}

case "$BOOTGATE_URL" in
    http://10.0.2.2:*|http://10.0.2.2/*|http://10.0.2.2) ;;
    http://192.0.2.*) ;;
    *) echo "BOOTGATE_URL must point at 10.0.2.2 (QEMU user-net's host alias) or 192.0.2.x (lab_e2e.py's namespaces): $BOOTGATE_URL" >&2; exit 2 ;;
esac
case "$NEXT_BOOT_CONFIG" in *[!A-Za-z0-9._-]*) echo "bad NEXT_BOOT_CONFIG" >&2; exit 2 ;; esac
case "$AFTER" in reboot|poweroff) ;; *) echo "AFTER must be reboot or poweroff" >&2; exit 2 ;; esac
for f in "$KERNEL" "$E1000_KO" "$BUSYBOX" "$ISOLINUX_BIN" "$LDLINUX_C32"; do
    [ -s "$f" ] || { echo "missing $f (run Tests/e2e/install-deps.sh)" >&2; exit 1; }
done
for t in xorriso grub-mkstandalone mkfs.vfat mmd mcopy cpio gzip; do
    command -v "$t" >/dev/null || { echo "missing tool $t (run Tests/e2e/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
iso="$work/iso"
mkdir -p "$iso/isolinux" "$iso/boot"

# ---------------------------------------------------------------- initramfs (the "installer")
rd="$work/initramfs"
mkdir -p "$rd/bin" "$rd/dev" "$rd/proc" "$rd/sys" "$rd/tmp" "$rd/etc" "$rd/lib/modules"
cp "$BUSYBOX" "$rd/bin/busybox"
cp "$E1000_KO" "$rd/lib/modules/e1000.ko"
# virtio_net for the UEFI VM of lab_e2e.py (OVMF's own PXE drives only virtio NICs).
if [ -s "$E2E_KERNEL_DIR/virtio/ORDER" ]; then
    mkdir -p "$rd/lib/modules/virtio"
    cp "$E2E_KERNEL_DIR"/virtio/*.ko "$E2E_KERNEL_DIR/virtio/ORDER" "$rd/lib/modules/virtio/"
fi
cat > "$rd/etc/udhcpc.script" <<'EOF'
#!/bin/busybox sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        for r in $router; do ip route add default via "$r" dev "$interface"; break; done
        echo "$ip" > /tmp/ip ;;
esac
exit 0
EOF
cat > "$rd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

URL= NEXT= AFTER=reboot ROLE=installer
for w in $(cat /proc/cmdline); do
    case "$w" in
        bootgate.url=*) URL=${w#bootgate.url=} ;;
        bootgate.next=*) NEXT=${w#bootgate.next=} ;;
        bootgate.after=*) AFTER=${w#bootgate.after=} ;;
        bootgate.role=*) ROLE=${w#bootgate.role=} ;;
    esac
done
TAG=BOOTGATE-TEST-ISO CFG=BOOTGATE-CONFIG
[ "$ROLE" = installed ] && TAG=BOOTGATE-TEST-DISK CFG=BOOTGATE-INSTALLED-CONFIG
echo "$TAG stage2 linux $(uname -r) url=$URL"

finish() { sync; if [ "$AFTER" = poweroff ]; then poweroff -f; else reboot -f; fi; sleep 30; }
fail() { echo "$TAG FAILED: $*"; sleep 1; poweroff -f; sleep 30; }

insmod /lib/modules/e1000.ko || fail "insmod e1000"
if [ -f /lib/modules/virtio/ORDER ]; then
    for m in $(cat /lib/modules/virtio/ORDER); do insmod /lib/modules/virtio/$m.ko || fail "insmod $m"; done
fi
ip link set lo up
i=0
while ! ip link show eth0 >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 50 ] && fail "no eth0"; sleep 0.2; done
ip link set eth0 up
udhcpc -i eth0 -s /etc/udhcpc.script -n -q -t 8 -T 2 >/tmp/udhcpc.log 2>&1 || { cat /tmp/udhcpc.log; fail "dhcp"; }
echo "$TAG net ip=$(cat /tmp/ip)"

# Fetch the config the way an installer would: one GET, no host identity in the URL.
status=$(wget -S -O /tmp/config "$URL/api/v1/bootconfig" 2>&1 | sed -n 's/^ *HTTP\/1\.[01] \([0-9]*\).*/\1/p' | tail -n1)
[ -f /tmp/config ] || : > /tmp/config
echo "$CFG-BEGIN status=${status:-none} size=$(wc -c < /tmp/config) sha256=$(sha256sum /tmp/config | cut -d' ' -f1)"
cat /tmp/config
echo
echo "$CFG-END"
case "$status" in 2??) ;; *) fail "bootconfig status ${status:-none}" ;; esac

# The installed system only reads its config (as Ignition does on a first disk boot).
if [ "$ROLE" = installed ]; then echo "$TAG done, $AFTER"; finish; fi

# Report the installation as done.
if [ -n "$NEXT" ]; then
    body="{\"nextBootConfig\":\"$NEXT\"}"
    resp=$(wget -S -O - --header 'Content-Type: application/json' --post-data "$body" "$URL/api/v1/boot-complete" 2>/tmp/bc.err)
else
    resp=$(wget -S -O - --post-data '' "$URL/api/v1/boot-complete" 2>/tmp/bc.err)
fi
status=$(sed -n 's/^ *HTTP\/1\.[01] \([0-9]*\).*/\1/p' /tmp/bc.err | tail -n1)
echo "BOOTGATE-BOOT-COMPLETE status=${status:-none} body=$(echo "$resp" | tr '\n' ' ')"
case "$status" in 2??) ;; *) cat /tmp/bc.err; fail "boot-complete status ${status:-none}" ;; esac
echo "BOOTGATE-TEST-ISO done, $AFTER"
finish
EOF
chmod 755 "$rd/init" "$rd/etc/udhcpc.script"
(cd "$rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$iso/boot/initrd.gz"
cp "$KERNEL" "$iso/boot/vmlinuz"
echo "bootgate e2e test $ROLE" > "$iso/boot/$ID"

CMDLINE="console=ttyS0,115200 loglevel=4 panic=-1 bootgate.url=$BOOTGATE_URL bootgate.after=$AFTER bootgate.role=$ROLE"
[ -n "$NEXT_BOOT_CONFIG" ] && CMDLINE="$CMDLINE bootgate.next=$NEXT_BOOT_CONFIG"

# ---------------------------------------------------------------- BIOS: ISOLINUX
cp "$ISOLINUX_BIN" "$iso/isolinux/isolinux.bin"
cp "$LDLINUX_C32" "$iso/isolinux/ldlinux.c32"
cat > "$iso/isolinux/isolinux.cfg" <<EOF
SAY $TAG stage1 bios (isolinux)
PROMPT 0
TIMEOUT 0
DEFAULT bootgate
LABEL bootgate
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.gz
  APPEND $CMDLINE
EOF

# ---------------------------------------------------------------- UEFI: standalone GRUB in a FAT El Torito image
cat > "$work/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_output serial
terminal_input serial
echo "$TAG stage1 uefi (grub)"
search --no-floppy --file /boot/$ID --set=root
echo "$TAG grub root=\$root"
linux /boot/vmlinuz $CMDLINE
initrd /boot/initrd.gz
boot
EOF
grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" \
    --install-modules="normal configfile echo search search_fs_file serial terminal linux gzio iso9660 fat part_msdos part_gpt efi_gop all_video test" \
    --modules="serial terminal echo search search_fs_file linux gzio iso9660 fat part_msdos part_gpt efi_gop" \
    --locales= --fonts= --themes= \
    "boot/grub/grub.cfg=$work/grub.cfg"
efisize_kb=$(( ( $(stat -c %s "$work/BOOTX64.EFI") / 1024 ) + 512 ))
mkfs.vfat -C -n BOOTGATEEFI "$iso/efi.img" "$efisize_kb" >/dev/null
mmd -i "$iso/efi.img" ::/EFI ::/EFI/BOOT
mcopy -i "$iso/efi.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

# ---------------------------------------------------------------- the ISO
# The installed system is the same layout made hybrid (an MBR for BIOS, a GPT EFI partition
# for UEFI), so a disk holding its bytes boots like an installed disk.
hybrid=
[ "$ROLE" = installed ] && hybrid="-isohybrid-mbr ${ISOHYBRID_MBR:-/usr/lib/ISOLINUX/isohdpfx.bin} -isohybrid-gpt-basdat"
# shellcheck disable=SC2086
xorriso -as mkisofs -quiet -o "$OUT" -V BOOTGATE_TEST -R -J $hybrid \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    -eltorito-alt-boot -e efi.img -no-emul-boot \
    "$iso"
echo "built $OUT ($(stat -c %s "$OUT") bytes) for $BOOTGATE_URL"
