#!/bin/sh
# Installs what Tests/e2e needs on Debian 12 (bookworm), as root:
#   - QEMU, iPXE ROMs, OVMF, tgt, xorriso            (the virtual machine, its firmware, the iSCSI target)
#   - iproute2                                        (ss: the suite checks bootgate drops a handed-off connection)
#   - isolinux/syslinux, grub-efi-amd64-bin, mtools,   (boot loaders and tools to build the test ISO)
#     dosfstools, cpio, busybox-static
#   - dnsmasq-base, iproute2                           (the lab network of lab_e2e.py: DHCP/TFTP, namespaces)
#   - a Debian kernel (vmlinuz, e1000.ko, virtio_net.ko and what it needs) for the test ISO's tiny "installer". It is fetched with
#     `apt-get download` and unpacked into $E2E_KERNEL_DIR instead of being installed, so no
#     initramfs hooks run on the host and the host's /boot is left alone.
set -eu

E2E_KERNEL_DIR=${E2E_KERNEL_DIR:-/var/cache/bootgate-e2e/kernel}

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    qemu-system-x86 ipxe ipxe-qemu ovmf tgt xorriso \
    isolinux syslinux-common grub-efi-amd64-bin grub-common mtools dosfstools cpio busybox-static \
    dnsmasq-base iproute2 python3 ca-certificates

# virtio_net and the modules it needs, in load order: OVMF has no e1000 driver, so the UEFI VM
# of lab_e2e.py boots from a virtio NIC with the firmware's own PXE.
VIRTIO_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"

if [ -s "$E2E_KERNEL_DIR/vmlinuz" ] && [ -s "$E2E_KERNEL_DIR/e1000.ko" ] && [ -s "$E2E_KERNEL_DIR/virtio/virtio_net.ko" ]; then
    echo "kernel already in $E2E_KERNEL_DIR"
    exit 0
fi

# linux-image-amd64 is a metapackage; download the versioned image it points at.
pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
[ -n "$pkg" ] || { echo "cannot resolve linux-image-amd64" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 777 "$work"   # apt-get download runs as _apt when it can
(cd "$work" && apt-get download "$pkg")
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x"
mkdir -p "$E2E_KERNEL_DIR"
cp "$work"/x/boot/vmlinuz-* "$E2E_KERNEL_DIR/vmlinuz"
ko=$(find "$work/x/lib/modules" -name 'e1000.ko*' | head -n1)
case "$ko" in
    *.xz) xz -dc "$ko" > "$E2E_KERNEL_DIR/e1000.ko" ;;
    *.zst) zstd -dc "$ko" > "$E2E_KERNEL_DIR/e1000.ko" ;;
    *) cp "$ko" "$E2E_KERNEL_DIR/e1000.ko" ;;
esac
mkdir -p "$E2E_KERNEL_DIR/virtio"
: > "$E2E_KERNEL_DIR/virtio/ORDER"
for m in $VIRTIO_MODULES; do
    ko=$(find "$work/x/lib/modules" -name "$m.ko*" | head -n1)
    [ -n "$ko" ] || { echo "no $m module in $pkg" >&2; exit 1; }
    case "$ko" in
        *.xz) xz -dc "$ko" > "$E2E_KERNEL_DIR/virtio/$m.ko" ;;
        *.zst) zstd -dc "$ko" > "$E2E_KERNEL_DIR/virtio/$m.ko" ;;
        *) cp "$ko" "$E2E_KERNEL_DIR/virtio/$m.ko" ;;
    esac
    echo "$m" >> "$E2E_KERNEL_DIR/virtio/ORDER"
done
echo "$pkg" > "$E2E_KERNEL_DIR/VERSION"
echo "kernel $pkg unpacked into $E2E_KERNEL_DIR"
