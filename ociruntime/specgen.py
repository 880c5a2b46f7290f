"""The ``spec`` command: the example ``config.json`` that ``runc spec`` writes.

``default_spec()`` mirrors runc's ``specconv.Example()`` (plus ``ToRootless()`` for
``--rootless``) field for field and in runc's key order, so that ``write_spec()`` produces the
same bytes as ``runc spec`` except for ``ociVersion``, which is ours (``SPEC_VERSION``).
"""

from __future__ import annotations

import errno
import json
import os

from ociruntime import SPEC_VERSION
from ociruntime.errors import OCIRuntimeError, SyscallError

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

#: statfs(2) magic of a cgroup v2 filesystem (``CGROUP2_SUPER_MAGIC``).
CGROUP2_SUPER_MAGIC = 0x63677270

_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
_SYS_RO_OPTIONS = ["nosuid", "noexec", "nodev", "ro"]


def cgroup2_unified(path: str = "/sys/fs/cgroup") -> bool:
    """True when ``path`` is a cgroup v2 mount (runc's ``cgroups.IsCgroup2UnifiedMode``)."""
    from ociruntime import linux  # lazy: loads libc through ctypes

    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return linux.fs_type(fd) == CGROUP2_SUPER_MAGIC
    except OSError:
        return False
    finally:
        os.close(fd)


def _mount(destination: str, mtype: str, source: str, options: list[str] | None) -> dict[str, Any]:
    """One ``mounts[]`` entry in runc's key order, ``options`` left out when ``None``."""
    m: dict[str, Any] = {"destination": destination, "type": mtype, "source": source}
    if options is not None:
        m["options"] = options
    return m


def default_spec(rootless: bool = False, cgroupns: bool | None = None) -> dict[str, Any]:
    """Return the spec ``runc spec`` (``--rootless`` when ``rootless``) writes, as a dict.

    ``cgroupns`` forces the trailing ``cgroup`` namespace on or off; by default it is added,
    like runc does, only on a host whose ``/sys/fs/cgroup`` is cgroup v2. The rootless variant
    maps container root to the calling process's effective uid/gid.
    """
    if cgroupns is None:
        cgroupns = cgroup2_unified()
    mounts = [
        _mount("/proc", "proc", "proc", None),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        _mount(
            "/dev/pts",
            "devpts",
            "devpts",
            ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        _mount(
            "/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
        ),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount("/sys", "sysfs", "sysfs", list(_SYS_RO_OPTIONS)),
        _mount(
            "/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]
        ),
    ]
    namespaces = ["pid", "network", "ipc", "uts", "mount"]
    if cgroupns:
        namespaces.append("cgroup")

    linux: dict[str, Any] = {}
    if rootless:
        # specconv.ToRootless: rbind /sys, drop uid=/gid= options, no netns, add userns,
        # single-id mappings for the caller, no cgroup resources.
        for i, m in enumerate(mounts):
            if os.path.normpath(m["destination"]) == "/sys":
                mounts[i] = _mount("/sys", "none", "/sys", ["rbind", *_SYS_RO_OPTIONS])
            elif m.get("options") is not None:
                opts = [o for o in m["options"] if not o.startswith(("gid=", "uid="))]
                if opts:
                    m["options"] = opts
                else:
                    del m["options"]
        namespaces = [ns for ns in namespaces if ns not in ("network", "user")] + ["user"]
        linux["uidMappings"] = [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    else:
        linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    linux["namespaces"] = [{"type": ns} for ns in namespaces]
    linux["maskedPaths"] = [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
    ]
    linux["readonlyPaths"] = [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]

    return {
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": list(_DEFAULT_CAPS),
                "effective": list(_DEFAULT_CAPS),
                "permitted": list(_DEFAULT_CAPS),
                "ambient": list(_DEFAULT_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": mounts,
        "linux": linux,
    }


def dumps_spec(spec: dict[str, Any]) -> str:
    """Serialise like Go's ``json.MarshalIndent(spec, "", "\\t")``: tabs, no trailing newline."""
    return json.dumps(spec, indent="\t")


def write_spec(bundle: str, rootless: bool) -> None:
    """Write ``default_spec(rootless)`` to ``<bundle>/config.json`` (``bundle`` "" = cwd).

    Raises ``OCIRuntimeError("File config.json exists. Remove it first")`` when the file is
    already there (runc's wording, exit status 1) and ``SyscallError`` (``chdir <bundle>: ...``,
    as runc reports it) when the bundle directory is not usable. The file is created with mode
    0666 less the umask, like runc's ``os.WriteFile``.
    """
    directory = bundle or "."
    if not os.path.isdir(directory):
        err = errno.ENOTDIR if os.path.exists(directory) else errno.ENOENT
        raise SyscallError("chdir", err, bundle)
    path = os.path.join(directory, "config.json")
    data = dumps_spec(default_spec(rootless)).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        raise OCIRuntimeError("File config.json exists. Remove it first") from None
    except OSError as exc:
        raise SyscallError.from_oserror("open", exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise SyscallError.from_oserror("write", exc, path) from None
