#!/usr/bin/env bash
# Build a minimal busybox root filesystem for the test bundles.
#
# Usage: bundles/build-rootfs.sh [ROOTFS_DIR]   (default: bundles/busybox/rootfs)
#
# The static busybox comes from Debian's busybox-static package: the installed /bin/busybox
# when the package is installed, otherwise the package is fetched with `apt-get download`
# and unpacked with `dpkg-deb -x` in a temporary directory (nothing is installed).
# Re-running over an existing rootfs refreshes it. Prints the rootfs path on success.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rootfs="${1:-$here/busybox/rootfs}"

tmp=""
cleanup() { if [[ -n "$tmp" ]]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT

installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

busybox=""
if installed busybox-static; then
    for candidate in /bin/busybox /usr/bin/busybox; do
        if [[ -x "$candidate" ]]; then busybox="$candidate"; break; fi
    done
fi
if [[ -z "$busybox" ]]; then
    tmp="$(mktemp -d)"
    # apt warns on stderr when its _apt sandbox user cannot write the private temp dir:
    # keep its output for failures only.
    if ! log="$(cd "$tmp" && apt-get download -qq busybox-static 2>&1)"; then
        printf '%s\n' "$log" >&2
        exit 1
    fi
    dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/root"
    for candidate in "$tmp/root/bin/busybox" "$tmp/root/usr/bin/busybox"; do
        if [[ -x "$candidate" ]]; then busybox="$candidate"; break; fi
    done
    if [[ -z "$busybox" ]]; then
        echo "build-rootfs.sh: no busybox binary in the busybox-static package" >&2
        exit 1
    fi
fi

mkdir -p "$rootfs"
cd "$rootfs"

mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys run var/tmp root home/user tmp
chmod 0755 bin sbin usr usr/bin usr/sbin etc dev proc sys run var home home/user
chmod 0700 root
chmod 1777 tmp var/tmp

rm -f bin/busybox
cp "$busybox" bin/busybox
chmod 0755 bin/busybox

# One symlink per applet, all in /bin (PATH covers /bin; /sbin and /usr/bin stay empty).
while IFS= read -r applet; do
    [[ -z "$applet" || "$applet" == busybox ]] && continue
    ln -sfn busybox "bin/$applet"
done < <(bin/busybox --list)

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
users:x:100:user
user:x:1000:
nogroup:x:65534:
EOF
chmod 0644 etc/passwd etc/group

if [[ "$(id -u)" == 0 ]]; then
    chown 1000:1000 home/user
fi

echo "$rootfs"
