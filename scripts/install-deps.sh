#!/usr/bin/env bash
# Installs what bootgate needs on Debian 12, only what is missing.
#   scripts/install-deps.sh build   libraries to build and run the server, and ipmitool (the IPMI
#                                   power driver runs it)
#   scripts/install-deps.sh test    plus everything the tests drive: kubectl is expected on the
#                                   machine image; etcd (a cluster per replica test run),
#                                   QEMU/iPXE/OVMF/tgt/xorriso (Tests/e2e; xorriso also builds the ISOs of
#                                   ISO9660ImageTests and Tests/api/test_iso_upload.py), chromium,
#                                   and the Python tools (pytest, schemathesis, pykickstart, selenium,
#                                   and the BMC emulators pyghmi and sushy-tools for Tests/bmc)
set -euo pipefail
mode=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

want=(libjansson-dev libsqlite3-dev libssl-dev pkg-config curl ipmitool)
if [ "$mode" = test ]; then
    # faketime, e2fsprogs: Tests/api/test_faults.py (clock jumps, an ext4 image turned read-only).
    want+=(chromium chromium-driver python3-pip etcd-server etcd-client faketime e2fsprogs)
fi
missing=()
for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    # Another installer may hold the dpkg lock for a while (a fresh CI machine): wait for it.
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6 toolchain expected at /opt/swift)" >&2; exit 1; }

if [ "$mode" = test ]; then
    $sudo "$root/Tests/e2e/install-deps.sh"
    python3 -m pip install -q --disable-pip-version-check pytest requests schemathesis openapi-spec-validator pykickstart selenium websocket-client prometheus-client \
        pyghmi sushy-tools cryptography 2>&1 \
        | grep -v "Running pip as the 'root' user" || true
fi
