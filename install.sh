#!/usr/bin/env bash
# Install everything ociruntime needs on a fresh Debian 12 machine (run as root):
#   the Debian packages (runtimes to compare with, engines, busybox for the bundle),
#   a virtualenv in .venv built on the machine's /usr/bin/python3 with the Python deps,
#   the fast launcher .venv/bin/ociruntime, and the default bundle's rootfs.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(pwd)

packages=(runc crun podman conmon buildah containerd busybox-static libseccomp2 gcc libc6-dev bats jq
          iproute2 python3 python3-venv python3-pip golang-go golang-github-opencontainers-runtime-tools-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$stamp" ]; then
    env -u PIP_FIND_LINKS .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
    touch "$stamp"
fi

# The launcher: the interpreter is started isolated (-I: no PYTHON* variables, no user
# site), without site (-S: no .pth processing, ~10 ms less on every call) and with the
# stdlib modules frozen into the binary (-X frozen_modules=on: Debian's build defaults to
# reading them from disk); the paths it needs are written in here at install time, as pip
# does for the interpreter path: the repository first, the venv's site-packages last (where
# site would put it: the stdlib modules are found without listing it, and only create's
# rare paths import from it). The garbage collector is off and cli.run exits without the
# interpreter's teardown: see cli.run.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cat > .venv/bin/ociruntime.new <<LAUNCHER
#!$repo/.venv/bin/python -ISXfrozen_modules=on
import gc, sys
gc.disable()
sys.path.insert(0, "$repo")
sys.path.append("$site")
from ociruntime.cli import run
run()
LAUNCHER
chmod 755 .venv/bin/ociruntime.new
mv .venv/bin/ociruntime.new .venv/bin/ociruntime

bash bundles/build-rootfs.sh bundles/busybox/rootfs >/dev/null
