"""Cgroup statistics and their ``runc events`` JSON shape.

The drivers fill a ``CgroupStats`` (runc's ``cgroups.Stats``); ``events_data`` turns it
into the ``data`` object of ``runc events --stats`` (runc's ``types.Stats``, built by
``convertLibcontainerStats`` in ``events.go``), keeping Go's field order and its
``omitempty`` rules: empty lists and zero numbers marked ``omitempty`` are dropped, nested
objects never are (``"throttling":{}``), ``limit``/``failcnt``/``kernel``/``user`` and the
cpuset scalars are always present, map keys are sorted as Go's encoder sorts them.
"""

from __future__ import annotations

from ociruntime.record import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass
class MemoryData:
    usage: int = 0
    max_usage: int = 0
    failcnt: int = 0
    limit: int = 0


@dataclass
class BlkioEntry:
    major: int
    minor: int
    op: str
    value: int


#: ``CgroupStats.blkio`` keys, in types.Blkio's order, with their JSON names.
BLKIO_FIELDS = (
    ("io_service_bytes_recursive", "ioServiceBytesRecursive"),
    ("io_serviced_recursive", "ioServicedRecursive"),
    ("io_queued_recursive", "ioQueueRecursive"),
    ("io_service_time_recursive", "ioServiceTimeRecursive"),
    ("io_wait_time_recursive", "ioWaitTimeRecursive"),
    ("io_merged_recursive", "ioMergedRecursive"),
    ("io_time_recursive", "ioTimeRecursive"),
    ("sectors_recursive", "sectorsRecursive"),
)

#: cpuset scalar files and their JSON names, in types.CPUSet's order (cpus/mems apart).
CPUSET_SCALARS = (
    ("cpu_exclusive", "cpuset.cpu_exclusive"),
    ("mem_hardwall", "cpuset.mem_hardwall"),
    ("mem_exclusive", "cpuset.mem_exclusive"),
    ("memory_migrate", "cpuset.memory_migrate"),
    ("memory_spread_page", "cpuset.memory_spread_page"),
    ("memory_spread_slab", "cpuset.memory_spread_slab"),
    ("memory_pressure", "cpuset.memory_pressure"),
    ("sched_load_balance", "cpuset.sched_load_balance"),
    ("sched_relax_domain_level", "cpuset.sched_relax_domain_level"),
)


@dataclass
class CgroupStats:
    """runc's ``cgroups.Stats``: what the drivers read."""

    cpu_total: int = 0
    percpu: list[int] = field(default_factory=list)
    percpu_kernel: list[int] = field(default_factory=list)
    percpu_user: list[int] = field(default_factory=list)
    cpu_kernel: int = 0
    cpu_user: int = 0
    throttling_periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0
    cpuset_cpus: list[int] = field(default_factory=list)
    cpuset_mems: list[int] = field(default_factory=list)
    cpuset: dict[str, int] = field(default_factory=dict)
    memory_cache: int = 0
    memory_usage: MemoryData = field(default_factory=MemoryData)
    memory_swap: MemoryData = field(default_factory=MemoryData)
    memory_kernel: MemoryData = field(default_factory=MemoryData)
    memory_kernel_tcp: MemoryData = field(default_factory=MemoryData)
    memory_raw: dict[str, int] = field(default_factory=dict)
    memory_use_hierarchy: bool = False
    pids_current: int = 0
    pids_limit: int = 0
    blkio: dict[str, list[BlkioEntry]] = field(default_factory=dict)
    hugetlb: dict[str, MemoryData] = field(default_factory=dict)
    rdma_limit: list[tuple[str, int, int]] = field(default_factory=list)
    rdma_current: list[tuple[str, int, int]] = field(default_factory=list)


def _put(d: dict[str, Any], key: str, value: Any) -> None:
    if value:
        d[key] = value


def _memory_entry(m: MemoryData) -> dict[str, Any]:
    out: dict[str, Any] = {"limit": m.limit}
    _put(out, "usage", m.usage)
    _put(out, "max", m.max_usage)
    out["failcnt"] = m.failcnt
    return out


def events_data(st: CgroupStats) -> dict[str, Any]:
    """The ``data`` object of a ``runc events`` stats record."""
    usage: dict[str, Any] = {}
    _put(usage, "total", st.cpu_total)
    _put(usage, "percpu", list(st.percpu))
    _put(usage, "percpu_kernel", list(st.percpu_kernel))
    _put(usage, "percpu_user", list(st.percpu_user))
    usage["kernel"] = st.cpu_kernel
    usage["user"] = st.cpu_user
    throttling: dict[str, Any] = {}
    _put(throttling, "periods", st.throttling_periods)
    _put(throttling, "throttledPeriods", st.throttled_periods)
    _put(throttling, "throttledTime", st.throttled_time)

    cpuset: dict[str, Any] = {}
    _put(cpuset, "cpus", list(st.cpuset_cpus))
    cpuset["cpu_exclusive"] = st.cpuset.get("cpu_exclusive", 0)
    _put(cpuset, "mems", list(st.cpuset_mems))
    for key, _ in CPUSET_SCALARS[1:]:
        cpuset[key] = st.cpuset.get(key, 0)

    memory: dict[str, Any] = {}
    _put(memory, "cache", st.memory_cache)
    memory["usage"] = _memory_entry(st.memory_usage)
    memory["swap"] = _memory_entry(st.memory_swap)
    memory["kernel"] = _memory_entry(st.memory_kernel)
    memory["kernelTCP"] = _memory_entry(st.memory_kernel_tcp)
    _put(memory, "raw", {k: st.memory_raw[k] for k in sorted(st.memory_raw)})

    pids: dict[str, Any] = {}
    _put(pids, "current", st.pids_current)
    _put(pids, "limit", st.pids_limit)

    blkio: dict[str, Any] = {}
    for key, name in BLKIO_FIELDS:
        entries = []
        for e in st.blkio.get(key, []):
            ent: dict[str, Any] = {}
            _put(ent, "major", e.major)
            _put(ent, "minor", e.minor)
            _put(ent, "op", e.op)
            _put(ent, "value", e.value)
            entries.append(ent)
        _put(blkio, name, entries)

    hugetlb: dict[str, Any] = {}
    for size in sorted(st.hugetlb):
        h = st.hugetlb[size]
        ent = {}
        _put(ent, "usage", h.usage)
        _put(ent, "max", h.max_usage)
        ent["failcnt"] = h.failcnt
        hugetlb[size] = ent

    return {
        "cpu": {"usage": usage, "throttling": throttling},
        "cpuset": cpuset,
        "memory": memory,
        "pids": pids,
        "blkio": blkio,
        "hugetlb": hugetlb,
        "intel_rdt": {},
        "network_interfaces": None,
    }


def format_event(kind: str, container_id: str, data: dict[str, Any] | None = None) -> str:
    """One ``runc events`` line (Go's ``json.Encoder``: compact, newline-terminated).

    ``format_event("stats", id, mgr.stats())`` or ``format_event("oom", id)``.
    """
    ev: dict[str, Any] = {"type": kind, "id": container_id}
    if data:
        ev["data"] = data

    import json

    text = json.dumps(ev, separators=(",", ":"), ensure_ascii=False)
    # Go's encoder escapes these for HTML safety.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text + "\n"
