"""runtime-spec v1.3 process placement fields: ``process.ioPriority``, ``process.scheduler``,
``process.execCPUAffinity`` and ``linux.memoryPolicy`` (config.md, config-linux.md).

Each is turned into syscall arguments by a pure function (checked before the fork, so a bad
value fails ``create`` with the field's name) and applied by the init or the exec'd process
just before it execs: all of them are inherited across execve.
"""

from __future__ import annotations

import os

from ociruntime import linux as L
from ociruntime.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
            "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
               "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
MPOL_MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
              "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
MPOL_FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14,
              "MPOL_F_STATIC_NODES": 1 << 15}


def parse_list(text: str, field: str) -> list[int]:
    """A kernel list like ``0-3,7`` (cpus or memory nodes)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ConfigError(f"invalid list {text!r}", field=field) from None
        if a < 0 or b < a:
            raise ConfigError(f"invalid range {part!r}", field=field)
        out.extend(range(a, b + 1))
    return out


def ioprio(process: dict[str, Any]) -> int | None:
    """The ioprio value of ``process.ioPriority``, or None."""
    io = process.get("ioPriority")
    if not io:
        return None
    cls = IOPRIO_CLASSES.get(io.get("class", ""))
    if cls is None:
        raise ConfigError(f"unknown class {io.get('class')!r}", field="process.ioPriority.class")
    prio = int(io.get("priority", 0))
    if not 0 <= prio <= 7:
        raise ConfigError("priority must be 0-7", field="process.ioPriority.priority")
    return (cls << L.IOPRIO_CLASS_SHIFT) | prio


def scheduler(process: dict[str, Any]) -> dict[str, int] | None:
    """sched_setattr arguments for ``process.scheduler``, or None."""
    s = process.get("scheduler")
    if not s:
        return None
    policy = POLICIES.get(s.get("policy", ""))
    if policy is None:
        raise ConfigError(f"unknown policy {s.get('policy')!r}", field="process.scheduler.policy")
    flags = 0
    for name in s.get("flags") or []:
        if name not in SCHED_FLAGS:
            raise ConfigError(f"unknown flag {name!r}", field="process.scheduler.flags")
        flags |= SCHED_FLAGS[name]
    return {"policy": policy, "flags": flags, "nice": int(s.get("nice", 0)),
            "priority": int(s.get("priority", 0)), "runtime": int(s.get("runtime", 0)),
            "deadline": int(s.get("deadline", 0)), "period": int(s.get("period", 0))}


def mempolicy(linux: dict[str, Any]) -> tuple[int, list[int]] | None:
    """(mode | flags, nodes) for ``linux.memoryPolicy``, or None."""
    mp = linux.get("memoryPolicy")
    if not mp:
        return None
    mode = MPOL_MODES.get(mp.get("mode", ""))
    if mode is None:
        raise ConfigError(f"unknown mode {mp.get('mode')!r}", field="linux.memoryPolicy.mode")
    for name in mp.get("flags") or []:
        if name not in MPOL_FLAGS:
            raise ConfigError(f"unknown flag {name!r}", field="linux.memoryPolicy.flags")
        mode |= MPOL_FLAGS[name]
    nodes = parse_list(mp.get("nodes") or "", "linux.memoryPolicy.nodes")
    return mode, nodes


def apply(process: dict[str, Any], linux: dict[str, Any] | None) -> None:
    """Set I/O priority, scheduling and memory policy of the calling process (pre-exec)."""
    prio = ioprio(process)
    if prio is not None:
        L.ioprio_set(L.IOPRIO_WHO_PROCESS, 0, prio)
    sch = scheduler(process)
    if sch is not None:
        L.sched_setattr(**sch)
    if linux is not None:
        mp = mempolicy(linux)
        if mp is not None:
            L.set_mempolicy(*mp)


def set_affinity(cpus: str, field: str, pid: int = 0) -> None:
    """``execCPUAffinity`` ``initial``/``final``: sched_setaffinity."""
    os.sched_setaffinity(pid, parse_list(cpus, field))


def check(process: dict[str, Any], linux: dict[str, Any] | None) -> None:
    """Validate the fields before anything is created (errors name the field)."""
    ioprio(process)
    scheduler(process)
    if linux is not None:
        mempolicy(linux)
    aff = process.get("execCPUAffinity") or {}
    for key in ("initial", "final"):
        if aff.get(key):
            parse_list(aff[key], f"process.execCPUAffinity.{key}")
