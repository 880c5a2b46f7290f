"""Namespace types of ``linux.namespaces`` and the order they are joined or created in.

Namespaces with a ``path`` are joined with setns(2) in runc's order (user, ipc, uts, net,
pid, mnt, cgroup; time last); the others are created with unshare(2): the user namespace
first (so it owns the others), then the rest in one call, except the cgroup namespace,
which the init unshares only after it has been placed in its cgroup (its root must be the
container's cgroup).
"""

from __future__ import annotations

import os

from ociruntime import linux as L
from ociruntime.record import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FLAGS: dict[str, int] = {
    "user": L.CLONE_NEWUSER,
    "ipc": L.CLONE_NEWIPC,
    "uts": L.CLONE_NEWUTS,
    "network": L.CLONE_NEWNET,
    "pid": L.CLONE_NEWPID,
    "mount": L.CLONE_NEWNS,
    "cgroup": L.CLONE_NEWCGROUP,
    "time": L.CLONE_NEWTIME,
}

#: The ``/proc/<pid>/ns/`` entry of each type.
PROC_NAMES: dict[str, str] = {
    "user": "user",
    "ipc": "ipc",
    "uts": "uts",
    "network": "net",
    "pid": "pid",
    "mount": "mnt",
    "cgroup": "cgroup",
    "time": "time",
}

JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "mount", "cgroup", "time")


@dataclass
class NamespacePlan:
    """What the intermediate process does with namespaces."""

    join: list[tuple[str, str]] = field(default_factory=list)  # (type, path), in JOIN_ORDER
    new: set[str] = field(default_factory=set)

    def has(self, ns: str) -> bool:
        """Does the container get its own namespace of this type (new or joined)?"""
        return ns in self.new or any(t == ns for t, _ in self.join)

    @property
    def unshare_flags(self) -> int:
        """Flags for the one unshare after the user namespace (cgroup excluded)."""
        flags = 0
        for ns in self.new:
            if ns not in ("user", "cgroup"):
                flags |= FLAGS[ns]
        return flags


def plan(namespaces: list[dict[str, Any]] | None) -> NamespacePlan:
    """Split ``linux.namespaces`` into namespaces to join and namespaces to create."""
    p = NamespacePlan()
    by_type = {ns["type"]: ns.get("path") or "" for ns in namespaces or []}
    for t in JOIN_ORDER:
        if t not in by_type:
            continue
        if by_type[t]:
            p.join.append((t, by_type[t]))
        else:
            p.new.add(t)
    return p


def join_all(join: list[tuple[str, str]]) -> None:
    """Open every path first, then setns in order (runc's nsexec does the same)."""
    fds = []
    try:
        for t, path in join:
            try:
                fds.append((t, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
            except OSError as exc:
                raise OSError(exc.errno, f"open namespace {t} {path}: {exc.strerror}") from None
        for t, fd in fds:
            try:
                L.setns(fd, FLAGS[t])
            except OSError as exc:
                raise OSError(exc.errno, f"setns {t} {dict(join)[t]}: {exc.strerror}") from None
    finally:
        for _, fd in fds:
            os.close(fd)


def format_id_map(mappings: list[dict[str, Any]] | None) -> bytes:
    """``uid_map``/``gid_map`` text: one ``container host size`` line per mapping."""
    return "".join(
        f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in mappings or []
    ).encode()


def host_id(mappings: list[dict[str, Any]] | None, container_id: int) -> int:
    """The host id that ``container_id`` maps to (itself when there are no mappings)."""
    for m in mappings or []:
        if m["containerID"] <= container_id < m["containerID"] + m["size"]:
            return int(m["hostID"]) + container_id - int(m["containerID"])
    return container_id
