"""The ``features`` command: what this runtime understands, per runtime-spec ``features.md``.

``features()`` returns the document as a dict whose key order follows the runtime-spec Go
types (``specs-go/features``), so ``features_json()`` prints like ``runc features``: 4-space
indentation and a trailing newline. Fields for support that has not landed yet say
``{"enabled": false}`` rather than being left out (left out means "unknown").
"""

from __future__ import annotations

import json
import os

import ociruntime
from ociruntime.capnames import CAPABILITIES, last_cap
from ociruntime.hooks import HOOK_KINDS
from ociruntime.mounts import all_options

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

#: Lowest runtime-spec version whose configs we accept.
OCI_VERSION_MIN = "1.0.0"

#: Lifecycle hooks, in runc's (lifecycle) order.
HOOKS: tuple[str, ...] = HOOK_KINDS

#: Namespaces ``linux.namespaces[].type`` may name, sorted.
NAMESPACES: tuple[str, ...] = (
    "cgroup",
    "ipc",
    "mount",
    "network",
    "pid",
    "time",
    "user",
    "uts",
)

#: Every ``mounts[].options`` entry this runtime understands: taken from the mount table
#: itself (``mounts.py``), so ``features`` can not claim an option the runtime ignores.
MOUNT_OPTIONS: tuple[str, ...] = tuple(all_options())

#: Annotation keys of ``features().annotations`` (runc: ``org.opencontainers.runc.*``).
ANNOTATION_VERSION = "io.github.ociruntime.version"
ANNOTATION_COMMIT = "io.github.ociruntime.commit"


def known_capabilities(proc: str = "/proc") -> list[str]:
    """Capability names known both to our table and to the running kernel, by number."""
    return list(CAPABILITIES[: last_cap(proc) + 1])


def _git_commit() -> str:
    """Commit of the source tree the package runs from, or ``"unknown"``.

    Uses ``ociruntime.__commit__`` when a build stamped one; otherwise reads ``.git`` next to
    the package directory (no subprocess), resolving a branch through loose refs or
    ``packed-refs``.
    """
    stamped = getattr(ociruntime, "__commit__", None)
    if isinstance(stamped, str) and stamped:
        return stamped
    gitdir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".git")
    try:
        with open(os.path.join(gitdir, "HEAD"), encoding="utf-8") as f:
            head = f.read().strip()
        if not head.startswith("ref: "):
            return head or "unknown"
        ref = head[5:]
        try:
            with open(os.path.join(gitdir, ref), encoding="utf-8") as f:
                return f.read().strip() or "unknown"
        except FileNotFoundError:
            pass
        with open(os.path.join(gitdir, "packed-refs"), encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except OSError:
        pass
    return "unknown"


def features(proc: str = "/proc") -> dict[str, Any]:
    """The ``features`` document (runtime-spec v1.3.0 ``features.md``) as a dict."""
    disabled = {"enabled": False}
    return {
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": ociruntime.SPEC_VERSION,
        "hooks": list(HOOKS),
        "mountOptions": list(MOUNT_OPTIONS),
        "linux": {
            "namespaces": list(NAMESPACES),
            "capabilities": known_capabilities(proc),
            "cgroup": {
                "v1": True,
                "v2": True,
                "systemd": False,
                "systemdUser": False,
                "rdma": False,
            },
            "seccomp": _seccomp_features(),
            "apparmor": dict(disabled),
            "selinux": dict(disabled),
            "intelRdt": dict(disabled),
            "mountExtensions": {"idmap": dict(disabled)},
            "netDevices": {"enabled": True},
        },
        "annotations": {
            ANNOTATION_COMMIT: _git_commit(),
            ANNOTATION_VERSION: ociruntime.__version__,
        },
    }


def _seccomp_features() -> dict[str, Any]:
    from ociruntime import seccomp

    try:
        return seccomp.features_seccomp()
    except Exception:  # noqa: BLE001 - no libseccomp: report it as not available
        return {"enabled": False}


def features_json(proc: str = "/proc") -> str:
    """``features()`` as the CLI prints it: 4-space indent, trailing newline (Go's Encoder)."""
    return json.dumps(features(proc), indent=4) + "\n"
