#!/bin/sh
# Prepare what test/ship/systemd.test.js needs: systemd-nspawn pinned to the host's systemd
# version (an unpinned install would upgrade the host's systemd), debootstrap, and a Debian
# bookworm rootfs with systemd as its init, cached (about 55 s and 260 MB the first time).
#   scripts/ci-systemd-setup.sh [ROOTFS]     default /var/cache/srs-test-rootfs
# Needs root and Debian's apt repositories. Idempotent: a finished rootfs is reused.
set -eu
ROOTFS=${1:-${SRS_TEST_ROOTFS:-/var/cache/srs-test-rootfs}}

need=""
command -v systemd-nspawn >/dev/null 2>&1 || need="$need systemd-container=$(dpkg-query -W -f '${Version}' systemd)"
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
if [ -n "$need" ]; then
    apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi

if [ -f "$ROOTFS/.srs-rootfs-complete" ]; then
    echo "rootfs ready: $ROOTFS"
    exit 0
fi
rm -rf "$ROOTFS.partial"
mkdir -p "$(dirname "$ROOTFS")"
# procps: /bin/kill; python3-minimal is not needed by srs but keeps the measured recipe.
# the mirror this machine's apt already uses (debootstrap's own default otherwise)
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
# shellcheck disable=SC2086
debootstrap --variant=minbase --include=systemd,dbus,systemd-sysv,procps,libstdc++6 \
    bookworm "$ROOTFS.partial" $mirror
rm -rf "$ROOTFS"
mv "$ROOTFS.partial" "$ROOTFS"
touch "$ROOTFS/.srs-rootfs-complete"
echo "rootfs ready: $ROOTFS"
