"""Linux capability names and numbers (``linux/capability.h``).

``CAPABILITIES[n]`` is the OCI name of capability number ``n``: ``CAPABILITIES[0]`` is
``CAP_CHOWN`` and ``CAPABILITIES[40]`` is ``CAP_CHECKPOINT_RESTORE`` (Linux 5.9). The running
kernel may know fewer (or, on a newer kernel, more) capabilities: ``last_cap()`` reads the
highest number it supports. Pure stdlib, safe to import anywhere.
"""

from __future__ import annotations

import os

#: Capability names indexed by capability number.
CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",  # 0
    "CAP_DAC_OVERRIDE",  # 1
    "CAP_DAC_READ_SEARCH",  # 2
    "CAP_FOWNER",  # 3
    "CAP_FSETID",  # 4
    "CAP_KILL",  # 5
    "CAP_SETGID",  # 6
    "CAP_SETUID",  # 7
    "CAP_SETPCAP",  # 8
    "CAP_LINUX_IMMUTABLE",  # 9
    "CAP_NET_BIND_SERVICE",  # 10
    "CAP_NET_BROADCAST",  # 11
    "CAP_NET_ADMIN",  # 12
    "CAP_NET_RAW",  # 13
    "CAP_IPC_LOCK",  # 14
    "CAP_IPC_OWNER",  # 15
    "CAP_SYS_MODULE",  # 16
    "CAP_SYS_RAWIO",  # 17
    "CAP_SYS_CHROOT",  # 18
    "CAP_SYS_PTRACE",  # 19
    "CAP_SYS_PACCT",  # 20
    "CAP_SYS_ADMIN",  # 21
    "CAP_SYS_BOOT",  # 22
    "CAP_SYS_NICE",  # 23
    "CAP_SYS_RESOURCE",  # 24
    "CAP_SYS_TIME",  # 25
    "CAP_SYS_TTY_CONFIG",  # 26
    "CAP_MKNOD",  # 27
    "CAP_LEASE",  # 28
    "CAP_AUDIT_WRITE",  # 29
    "CAP_AUDIT_CONTROL",  # 30
    "CAP_SETFCAP",  # 31
    "CAP_MAC_OVERRIDE",  # 32
    "CAP_MAC_ADMIN",  # 33
    "CAP_SYSLOG",  # 34
    "CAP_WAKE_ALARM",  # 35
    "CAP_BLOCK_SUSPEND",  # 36
    "CAP_AUDIT_READ",  # 37
    "CAP_PERFMON",  # 38
    "CAP_BPF",  # 39
    "CAP_CHECKPOINT_RESTORE",  # 40
)

_NUMBERS: dict[str, int] = {name: i for i, name in enumerate(CAPABILITIES)}


def cap_number(name: str) -> int | None:
    """Number of the capability called ``name`` (exact OCI spelling, e.g. ``CAP_KILL``).

    Returns ``None`` for a name this table does not know; like runc, no case folding and no
    implicit ``CAP_`` prefix.
    """
    return _NUMBERS.get(name)


def last_cap(proc: str = "/proc") -> int:
    """Highest capability number the running kernel supports.

    Reads ``<proc>/sys/kernel/cap_last_cap``; when that file is missing or unreadable (no
    procfs mounted, very old kernel) falls back to the last number in ``CAPABILITIES``.
    """
    try:
        with open(os.path.join(proc, "sys/kernel/cap_last_cap"), "rb") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return len(CAPABILITIES) - 1
