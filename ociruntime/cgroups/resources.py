"""``linux.resources`` as the drivers use it, and runc's v1 -> v2 conversions.

``Resources.from_oci`` is runc 1.1.5's ``specconv.CreateCgroupConfig`` (the resources
half): OCI camelCase JSON in, one flat record out, with ``cpu_weight`` computed from the
shares and runc's default device rules appended after the config's own rules (they cannot
be disabled; see ``DEFAULT_DEVICE_RULES``). Every value is checked on the way in and an
error names the field (``linux.resources.memory.limit: ...``).

Beyond runc 1.1.5 (which ignores them) and as runc 1.2 does: ``cpu.burst``
(``cpu.cfs_burst_us`` / ``cpu.max.burst``), ``cpu.idle`` (``cpu.idle``) and
``memory.checkBeforeUpdate`` (v2). ``memory.kernel``/``kernelTCP`` are ignored with runc's
warning; ``memory.useHierarchy`` is ignored as in every runc release (the kernel made
``memory.use_hierarchy`` always 1 and refuses 0).
"""

from __future__ import annotations

from ociruntime.errors import CgroupError
from ociruntime.record import dataclass, field

from .common import check_file_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

WILDCARD = -1
U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1


@dataclass(frozen=True)
class DeviceRule:
    """One device cgroup rule (runc's ``devices.Rule``): type ``a``/``b``/``c``, -1 = ``*``."""

    type: str
    major: int
    minor: int
    access: str
    allow: bool

    def cgroup_string(self) -> str:
        """``c 1:3 rwm`` as written to ``devices.allow``/``devices.deny``."""
        major = "*" if self.major == WILDCARD else str(self.major)
        minor = "*" if self.minor == WILDCARD else str(self.minor)
        return f"{self.type} {major}:{minor} {self.access}"


def _rule(t: str, major: int, minor: int, access: str) -> DeviceRule:
    return DeviceRule(t, major, minor, access, True)


#: runc's ``specconv.AllowedDevices`` in its order: mknod of any char/block device, the six
#: default devices (with their paths), /dev/pts/*, /dev/ptmx and /dev/net/tun. runc appends
#: them after the config's rules, so a config cannot take them away.
DEFAULT_DEVICE_RULES: list[tuple[str | None, DeviceRule]] = [
    (None, _rule("c", WILDCARD, WILDCARD, "m")),
    (None, _rule("b", WILDCARD, WILDCARD, "m")),
    ("/dev/null", _rule("c", 1, 3, "rwm")),
    ("/dev/random", _rule("c", 1, 8, "rwm")),
    ("/dev/full", _rule("c", 1, 7, "rwm")),
    ("/dev/tty", _rule("c", 5, 0, "rwm")),
    ("/dev/zero", _rule("c", 1, 5, "rwm")),
    ("/dev/urandom", _rule("c", 1, 9, "rwm")),
    (None, _rule("c", 136, WILDCARD, "rwm")),
    (None, _rule("c", 5, 2, "rwm")),
    (None, _rule("c", 10, 200, "rwm")),
]


def default_device_rules(linux_devices: list[dict[str, Any]] | None = None) -> list[DeviceRule]:
    """runc's ``createDevices`` dedup: a default device whose path is also in
    ``linux.devices`` is dropped (the config's entry takes priority; runc then adds no
    cgroup rule for it, so ``linux.resources.devices`` must allow it)."""
    paths = {d.get("path") for d in (linux_devices or []) if isinstance(d, dict)}
    return [r for p, r in DEFAULT_DEVICE_RULES if p is None or p not in paths]


@dataclass
class WeightDevice:
    major: int
    minor: int
    weight: int
    leaf_weight: int

    def weight_string(self) -> str:
        return f"{self.major}:{self.minor} {self.weight}"

    def leaf_weight_string(self) -> str:
        return f"{self.major}:{self.minor} {self.leaf_weight}"


@dataclass
class ThrottleDevice:
    major: int
    minor: int
    rate: int

    def string(self) -> str:
        return f"{self.major}:{self.minor} {self.rate}"

    def string_name(self, name: str) -> str:
        return f"{self.major}:{self.minor} {name}={self.rate}"


@dataclass
class Resources:
    """runc's ``configs.Resources`` (snake_case), zero meaning "not set"."""

    devices: list[DeviceRule] = field(default_factory=list)
    memory: int = 0
    memory_reservation: int = 0
    memory_swap: int = 0
    memory_swappiness: int | None = None
    oom_kill_disable: bool = False
    memory_check_before_update: bool = False
    cpu_shares: int = 0
    cpu_weight: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpu_burst: int | None = None
    cpu_idle: int | None = None
    cpu_rt_runtime: int = 0
    cpu_rt_period: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int = 0
    blkio_weight: int = 0
    blkio_leaf_weight: int = 0
    blkio_weight_device: list[WeightDevice] = field(default_factory=list)
    blkio_throttle_read_bps_device: list[ThrottleDevice] = field(default_factory=list)
    blkio_throttle_write_bps_device: list[ThrottleDevice] = field(default_factory=list)
    blkio_throttle_read_iops_device: list[ThrottleDevice] = field(default_factory=list)
    blkio_throttle_write_iops_device: list[ThrottleDevice] = field(default_factory=list)
    hugetlb_limit: list[tuple[str, int]] = field(default_factory=list)
    net_cls_classid: int = 0
    net_prio_ifpriomap: list[tuple[str, int]] = field(default_factory=list)
    rdma: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    unified: dict[str, str] | None = None
    freezer: str = ""
    #: ``update`` never touches device rules (runc sets SkipDevices there).
    skip_devices: bool = False
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_oci(cls, res: dict[str, Any] | None, *,
                 default_devices: list[DeviceRule] | None = None,
                 field_prefix: str = "linux.resources") -> Resources:
        """Build from an OCI ``LinuxResources`` object; errors name the field."""
        return _from_oci(res or {}, default_devices, field_prefix)

    def copy(self) -> Resources:
        import copy  # only update/set-with-defaults paths copy; keep the import off create

        return copy.deepcopy(self)


# --- conversions (runc libcontainer/cgroups/utils.go) -----------------------------------------


def convert_cpu_shares_to_v2(shares: int) -> int:
    """cpu.shares [2-262144] -> cpu.weight [1-10000]: ``1 + ((x - 2) * 9999) / 262142``."""
    if shares == 0:
        return 0
    # uint64 arithmetic, wrapping as Go's does for out-of-range input.
    return (1 + (((shares - 2) % 2**64) * 9999 % 2**64) // 262142) % 2**64


def convert_memory_swap_to_v2(memory_swap: int, memory: int) -> int:
    """memory+swap (v1, OCI) -> swap alone (v2 ``memory.swap.max``), runc 1.1.5's rules."""
    if memory == -1 and memory_swap == 0:
        return -1
    if memory_swap in (-1, 0):
        return memory_swap
    if memory in (0, -1):
        raise CgroupError("unable to set swap limit without memory limit")
    if memory < 0:
        raise CgroupError(f"invalid memory value: {memory}")
    if memory_swap < memory:
        raise CgroupError("memory+swap limit should be >= memory limit")
    return memory_swap - memory


def convert_blkio_to_io_weight(weight: int) -> int:
    """blkio.weight [10-1000] -> io.weight [1-10000]: ``1 + (x - 10) * 9999 / 990``."""
    if weight == 0:
        return 0
    return (1 + (((weight - 10) % 2**64) * 9999 % 2**64) // 990) % 2**64


# --- OCI parsing ------------------------------------------------------------------------------


def _obj(v: Any, fld: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise CgroupError(f"{fld}: must be an object")
    return v


def _list(v: Any, fld: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise CgroupError(f"{fld}: must be an array")
    return v


def _int(v: Any, fld: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise CgroupError(f"{fld}: must be an integer, got {v!r}")
    if not lo <= v <= hi:
        raise CgroupError(f"{fld}: {v} is out of range [{lo}, {hi}]")
    return v


def _opt_int(d: dict[str, Any], key: str, fld: str, lo: int, hi: int) -> int | None:
    v = d.get(key)
    if v is None:
        return None
    return _int(v, f"{fld}.{key}", lo, hi)


def _i64(d: dict[str, Any], key: str, fld: str) -> int:
    v = _opt_int(d, key, fld, -(2**63), I64_MAX)
    return 0 if v is None else v


def _u64(d: dict[str, Any], key: str, fld: str) -> int:
    v = _opt_int(d, key, fld, 0, U64_MAX)
    return 0 if v is None else v


def _str(d: dict[str, Any], key: str, fld: str) -> str:
    v = d.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise CgroupError(f"{fld}.{key}: must be a string")
    if "\x00" in v or "\n" in v:
        raise CgroupError(f"{fld}.{key}: invalid value {v!r}")
    return v


def parse_device_rules(devices: Any, fld: str) -> list[DeviceRule]:
    """``linux.resources.devices`` -> rules (runc: type ``""`` is ``a``, no major = ``*``)."""
    rules = []
    for i, d in enumerate(_list(devices, fld)):
        f = f"{fld}[{i}]"
        d = _obj(d, f)
        t = d.get("type") or "a"
        if t not in ("a", "b", "c"):
            raise CgroupError(f"{f}.type: invalid cgroup device type {t!r}")
        major = d.get("major")
        minor = d.get("minor")
        major = WILDCARD if major is None else _int(major, f"{f}.major", -1, 2**32 - 1)
        minor = WILDCARD if minor is None else _int(minor, f"{f}.minor", -1, 2**32 - 1)
        access = d.get("access")
        if not access:
            raise CgroupError(f"{f}.access: device access at {i} field cannot be empty")
        if not isinstance(access, str) or any(c not in "rwm" for c in access):
            raise CgroupError(f"{f}.access: invalid device access {access!r} (only r, w, m)")
        allow = d.get("allow")
        if not isinstance(allow, bool):
            raise CgroupError(f"{f}.allow: must be a boolean")
        rules.append(DeviceRule(t, major, minor, access, allow))
    return rules


def _from_oci(res: dict[str, Any], default_devices: list[DeviceRule] | None,
              fp: str) -> Resources:
    res = _obj(res, fp)
    r = Resources()
    r.devices = parse_device_rules(res.get("devices"), f"{fp}.devices")

    mem = _obj(res.get("memory"), f"{fp}.memory")
    mf = f"{fp}.memory"
    r.memory = _i64(mem, "limit", mf)
    r.memory_reservation = _i64(mem, "reservation", mf)
    r.memory_swap = _i64(mem, "swap", mf)
    if mem.get("kernel") is not None or mem.get("kernelTCP") is not None:
        _i64(mem, "kernel", mf)
        _i64(mem, "kernelTCP", mf)
        r.warnings.append("Kernel memory settings are ignored and will be removed")
    sw = mem.get("swappiness")
    if sw is not None:
        # -1 (or its uint64 image) means "unset" in runc; above 100 is refused by Set.
        sw = _int(sw, f"{mf}.swappiness", -1, U64_MAX)
        r.memory_swappiness = -1 if sw in (-1, U64_MAX) else sw
    for key in ("disableOOMKiller", "useHierarchy", "checkBeforeUpdate"):
        v = mem.get(key)
        if v is not None and not isinstance(v, bool):
            raise CgroupError(f"{mf}.{key}: must be a boolean")
    r.oom_kill_disable = bool(mem.get("disableOOMKiller"))
    r.memory_check_before_update = bool(mem.get("checkBeforeUpdate"))

    cpu = _obj(res.get("cpu"), f"{fp}.cpu")
    cf = f"{fp}.cpu"
    if cpu.get("shares") is not None:
        r.cpu_shares = _u64(cpu, "shares", cf)
        r.cpu_weight = convert_cpu_shares_to_v2(r.cpu_shares)
    r.cpu_quota = _i64(cpu, "quota", cf)
    r.cpu_period = _u64(cpu, "period", cf)
    r.cpu_burst = _opt_int(cpu, "burst", cf, 0, U64_MAX)
    r.cpu_idle = _opt_int(cpu, "idle", cf, -(2**63), I64_MAX)
    r.cpu_rt_runtime = _i64(cpu, "realtimeRuntime", cf)
    r.cpu_rt_period = _u64(cpu, "realtimePeriod", cf)
    r.cpuset_cpus = _str(cpu, "cpus", cf)
    r.cpuset_mems = _str(cpu, "mems", cf)

    pids = _obj(res.get("pids"), f"{fp}.pids")
    r.pids_limit = _i64(pids, "limit", f"{fp}.pids")

    bio = _obj(res.get("blockIO"), f"{fp}.blockIO")
    bf = f"{fp}.blockIO"
    r.blkio_weight = _opt_int(bio, "weight", bf, 0, 2**16 - 1) or 0
    r.blkio_leaf_weight = _opt_int(bio, "leafWeight", bf, 0, 2**16 - 1) or 0
    for i, wd in enumerate(_list(bio.get("weightDevice"), f"{bf}.weightDevice")):
        f = f"{bf}.weightDevice[{i}]"
        wd = _obj(wd, f)
        r.blkio_weight_device.append(WeightDevice(
            _int(wd.get("major"), f"{f}.major", -(2**63), I64_MAX),
            _int(wd.get("minor"), f"{f}.minor", -(2**63), I64_MAX),
            _opt_int(wd, "weight", f, 0, 2**16 - 1) or 0,
            _opt_int(wd, "leafWeight", f, 0, 2**16 - 1) or 0))
    for key, dest in (("throttleReadBpsDevice", r.blkio_throttle_read_bps_device),
                      ("throttleWriteBpsDevice", r.blkio_throttle_write_bps_device),
                      ("throttleReadIOPSDevice", r.blkio_throttle_read_iops_device),
                      ("throttleWriteIOPSDevice", r.blkio_throttle_write_iops_device)):
        for i, td in enumerate(_list(bio.get(key), f"{bf}.{key}")):
            f = f"{bf}.{key}[{i}]"
            td = _obj(td, f)
            dest.append(ThrottleDevice(
                _int(td.get("major"), f"{f}.major", -(2**63), I64_MAX),
                _int(td.get("minor"), f"{f}.minor", -(2**63), I64_MAX),
                _int(td.get("rate"), f"{f}.rate", 0, U64_MAX)))

    for i, hp in enumerate(_list(res.get("hugepageLimits"), f"{fp}.hugepageLimits")):
        f = f"{fp}.hugepageLimits[{i}]"
        hp = _obj(hp, f)
        size = hp.get("pageSize")
        if not isinstance(size, str):
            raise CgroupError(f"{f}.pageSize: must be a string")
        # The size becomes part of a file name (hugetlb.<size>.limit_in_bytes).
        check_file_name(f"{f}.pageSize", size)
        r.hugetlb_limit.append((size, _int(hp.get("limit"), f"{f}.limit", 0, U64_MAX)))

    net = _obj(res.get("network"), f"{fp}.network")
    nf = f"{fp}.network"
    if net.get("classID") is not None:
        r.net_cls_classid = _int(net.get("classID"), f"{nf}.classID", 0, 2**32 - 1)
    for i, p in enumerate(_list(net.get("priorities"), f"{nf}.priorities")):
        f = f"{nf}.priorities[{i}]"
        p = _obj(p, f)
        name = p.get("name")
        if not isinstance(name, str) or not name or any(c.isspace() or c == "\x00"
                                                        for c in name):
            raise CgroupError(f"{f}.name: invalid interface name {name!r}")
        r.net_prio_ifpriomap.append((name, _int(p.get("priority"), f"{f}.priority",
                                                0, 2**32 - 1)))

    rdma = _obj(res.get("rdma"), f"{fp}.rdma")
    for dev, lim in rdma.items():
        f = f"{fp}.rdma[{dev!r}]"
        if not dev or any(c.isspace() or c == "\x00" for c in dev):
            raise CgroupError(f"{f}: invalid rdma device name")
        lim = _obj(lim, f)
        r.rdma[dev] = (_opt_int(lim, "hcaHandles", f, 0, 2**32 - 1),
                       _opt_int(lim, "hcaObjects", f, 0, 2**32 - 1))

    unified = res.get("unified")
    if unified is not None:
        unified = _obj(unified, f"{fp}.unified")
        r.unified = {}
        for k, v in unified.items():
            check_file_name(f"{fp}.unified[{k!r}]", k)
            if not isinstance(v, str):
                raise CgroupError(f"{fp}.unified[{k!r}]: must be a string")
            r.unified[k] = v
        if not r.unified:
            r.unified = None

    if default_devices:
        r.devices.extend(default_devices)
    return r
