"""The systemd driver (runc 1.1.5's ``cgroups/systemd``, v1 "legacy" and v2 "unified").

The container's cgroup is a transient scope unit ``<prefix>-<name>.scope`` (or, when the
name ends in ``.slice``, a slice) that systemd creates through D-Bus
``StartTransientUnit`` with the init's pid in ``PIDs``, ``Delegate=yes``, accounting on,
``DefaultDependencies=no`` and the limits as unit properties; the cgroupfs driver of the
host's kind then writes the same limits to the files (systemd cannot express them all).

``cgroupsPath`` is ``slice:prefix:name`` (``system.slice:docker:1234``); empty means the
default slice, prefix ``runc`` and the container id. The cgroup directory is the slice
expanded into its path (``a-b.slice`` -> ``/a.slice/a-b.slice``) plus the unit, below pid
1's cgroup on v1 and below the root on v2.

Everything that builds names and properties is a pure function (unit-tested); talking to
systemd is ``SystemdClient``. Without systemd (no ``/run/systemd/system``) the driver
refuses to start before touching anything, with runc's message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from ociruntime.cgroups_remove import remove_paths
from ociruntime.errors import CgroupError

from . import dbus
from .base import Manager, OOMNotifier
from .common import (
    CgroupFS,
    NotFoundError,
    find_mount,
    make_dirs,
    parse_cgroup_file,
    write_cgroup_proc,
)
from .devices import Emulator
from .resources import WILDCARD, DeviceRule, Resources, convert_memory_swap_to_v2
from .v1 import HYBRID, FsManager
from .v2 import Fs2Manager

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

SYSTEMD_RUN_DIR = "/run/systemd/system"
NOT_RUNNING = "systemd not running on this host, cannot use systemd cgroups manager"
DEFAULT_CPU_QUOTA_PERIOD = 100000
USEC_INFINITY = 2**64 - 1

#: A unit property: (name, D-Bus signature, value)
if TYPE_CHECKING:
    Property = tuple[str, str, Any]  # (name, D-Bus signature, value)
else:
    Property = tuple

#: runc's ``legacySubsystems`` order (v1 through systemd).
LEGACY_SUBSYSTEMS = ("cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio",
                     "hugetlb", "perf_event", "freezer", "net_prio", "net_cls", "name=systemd",
                     "rdma")


def is_running_systemd(run_dir: str = SYSTEMD_RUN_DIR) -> bool:
    """sd_booted(3): ``/run/systemd/system`` is a directory."""
    return os.path.isdir(run_dir) and not os.path.islink(run_dir)


def parse_cgroups_path(cgroups_path: str | None, container_id: str) -> tuple[str, str, str]:
    """``slice:prefix:name`` -> (parent slice, scope prefix, name); empty -> ("", "runc", id)."""
    if not cgroups_path:
        return "", "runc", container_id
    parts = cgroups_path.split(":")
    if len(parts) != 3:
        raise CgroupError(f'expected cgroupsPath to be of format "slice:prefix:name" for '
                          f'systemd cgroups, got "{cgroups_path}" instead')
    parent, prefix, name = parts
    for what, value in (("slice", parent), ("prefix", prefix), ("name", name)):
        if "/" in value or "\x00" in value or value in (".", ".."):
            raise CgroupError(f"linux.cgroupsPath: invalid systemd {what} {value!r}")
    return parent, prefix, name


def unit_name(prefix: str, name: str) -> str:
    """runc's ``getUnitName``: a scope, unless the name is a slice."""
    if not name.endswith(".slice"):
        return f"{prefix}-{name}.scope"
    return name


def expand_slice(slice_name: str) -> str:
    """runc's ``ExpandSlice``: ``test-a-b.slice`` -> ``/test.slice/test-a.slice/test-a-b.slice``."""
    suffix = ".slice"
    if len(slice_name) < len(suffix) or not slice_name.endswith(suffix) or "/" in slice_name:
        raise CgroupError(f"invalid slice name: {slice_name}")
    base = slice_name[:-len(suffix)]
    if base == "-":
        return "/"
    path, prefix = "", ""
    for comp in base.split("-"):
        if comp == "":
            raise CgroupError(f"invalid slice name: {slice_name}")
        path += "/" + prefix + comp + suffix
        prefix += comp + "-"
    return path


def range_to_bits(text: str) -> bytes:
    """runc's ``RangeToBits``: ``"1,3-5"`` -> the big-endian bitmask bytes systemd wants
    for AllowedCPUs/AllowedMemoryNodes."""
    bits = 0
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo_s, dash, hi_s = part.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if dash else lo
        except ValueError:
            raise CgroupError(f"invalid cpu/memory list {text!r}") from None
        if lo > hi:
            raise CgroupError(f"invalid range: {part}")
        for i in range(lo, hi + 1):
            bits |= 1 << i
    if bits == 0:
        raise CgroupError("empty value")
    return bits.to_bytes((bits.bit_length() + 7) // 8, "big")


def cpu_quota_properties(quota: int, period: int, systemd_version: int) -> list[Property]:
    """runc's ``addCpuQuota``: CPUQuotaPeriodUSec (systemd >= 242) and CPUQuotaPerSecUSec,
    the latter rounded up to whole percents (10 ms per second) as systemd stores it."""
    props: list[Property] = []
    if period != 0:
        if systemd_version >= 242:
            props.append(("CPUQuotaPeriodUSec", "t", period))
    if quota != 0 or period != 0:
        per_sec = USEC_INFINITY
        if quota > 0:
            if period == 0:
                period = DEFAULT_CPU_QUOTA_PERIOD
            per_sec = (quota * 1000000) // period
            if per_sec % 10000 != 0:
                per_sec = (per_sec // 10000 + 1) * 10000
        props.append(("CPUQuotaPerSecUSec", "t", per_sec))
    return props


def cpuset_properties(cpus: str, mems: str, systemd_version: int) -> list[Property]:
    if (not cpus and not mems) or systemd_version < 244:
        return []
    props: list[Property] = []
    if cpus:
        props.append(("AllowedCPUs", "ay", range_to_bits(cpus)))
    if mems:
        props.append(("AllowedMemoryNodes", "ay", range_to_bits(mems)))
    return props


def _device_group(rtype: str, major: int, proc_devices: str) -> str:
    """``char-pts`` style group name of (type, major) from /proc/devices text."""
    prefix = "block-" if rtype == "b" else "char-"
    current = ""
    for line in proc_devices.splitlines():
        line = line.strip()
        if line == "Block devices:":
            current = "b"
            continue
        if line == "Character devices:":
            current = "c"
            continue
        if not line or current != rtype:
            continue
        num, _, name = line.partition(" ")
        if num.isdigit() and int(num) == major:
            return prefix + name.strip()
    return ""


def device_properties(r: Resources, *, proc_devices: str = "",
                      exists: Callable[[str], bool] = os.path.exists,
                      warnings: list[str] | None = None) -> list[Property]:
    """runc's ``generateDeviceProperties``: DevicePolicy=strict plus a DeviceAllow list
    (``/dev/char/1:3``, ``char-pts`` groups, ``char-*``); rules systemd cannot say are
    left to the cgroupfs driver, with a warning."""
    if r.skip_devices:
        return []
    warn = warnings if warnings is not None else []
    props: list[Property] = [("DevicePolicy", "s", "strict"), ("DeviceAllow", "a(ss)", [])]
    emu = Emulator.from_rules(r.devices)
    if emu.is_blacklist():
        if emu.is_allow_all():
            return [("DevicePolicy", "s", "auto"), ("DeviceAllow", "a(ss)", [])]
        warn.append("systemd doesn't support blacklist device rules -- applying temporary "
                    "deny-all rule")
        return props
    allow: list[tuple[str, str]] = []
    for rule in emu.minimal_rules():
        if not rule.allow or rule.type not in ("b", "c"):
            raise CgroupError(f"[internal error] cannot add rule to systemd DeviceAllow "
                              f"list: {rule.cgroup_string()}")
        kind = "block" if rule.type == "b" else "char"
        if rule.major == WILDCARD:
            if rule.minor != WILDCARD:
                warn.append(f"systemd doesn't support '*:n' device rules -- temporarily "
                            f"ignoring rule: {rule.cgroup_string()}")
                continue
            path = kind + "-*"
        elif rule.minor == WILDCARD:
            path = _device_group(rule.type, rule.major, proc_devices)
            if not path:
                warn.append(f"could not find device group for '{rule.type}/{rule.major}' in "
                            f"/proc/devices -- temporarily ignoring rule: "
                            f"{rule.cgroup_string()}")
                continue
        else:
            path = f"/dev/{kind}/{rule.major}:{rule.minor}"
            if not exists(path) and not exists("/sys" + path):
                warn.append(f"skipping device {path} for systemd")
                continue
        allow.append((path, rule.access))
    props.append(("DeviceAllow", "a(ss)", allow))
    return props


def resources_properties(r: Resources, version: str, systemd_version: int,
                         **device_kw: Any) -> list[Property]:
    """runc's ``genV1ResourcesProperties`` / ``genV2ResourcesProperties``."""
    props = device_properties(r, **device_kw)
    if version == "v1":
        if r.memory != 0:
            props.append(("MemoryLimit", "t", r.memory % 2**64))
        if r.cpu_shares != 0:
            props.append(("CPUShares", "t", r.cpu_shares))
        props += cpu_quota_properties(r.cpu_quota, r.cpu_period, systemd_version)
        if r.blkio_weight != 0:
            props.append(("BlockIOWeight", "t", r.blkio_weight))
    else:
        if r.memory != 0:
            props.append(("MemoryMax", "t", r.memory % 2**64))
        if r.memory_reservation != 0:
            props.append(("MemoryLow", "t", r.memory_reservation % 2**64))
        swap = convert_memory_swap_to_v2(r.memory_swap, r.memory)
        if swap != 0:
            props.append(("MemorySwapMax", "t", swap % 2**64))
        if r.cpu_weight != 0:
            props.append(("CPUWeight", "t", r.cpu_weight))
        props += cpu_quota_properties(r.cpu_quota, r.cpu_period, systemd_version)
    if r.pids_limit > 0 or r.pids_limit == -1:
        props.append(("TasksMax", "t", r.pids_limit % 2**64))
    props += cpuset_properties(r.cpuset_cpus, r.cpuset_mems, systemd_version)
    if version == "v2" and r.unified:
        props += unified_properties(r.unified, systemd_version)
    return props


def unified_properties(unified: dict[str, str], systemd_version: int) -> list[Property]:
    """runc's ``unifiedResToSystemdProps``: the keys systemd knows, the rest left to files."""
    props: list[Property] = []
    names = {"memory.high": "MemoryHigh", "memory.low": "MemoryLow",
             "memory.min": "MemoryMin", "memory.max": "MemoryMax",
             "memory.swap.max": "MemorySwapMax"}
    for k, v in unified.items():
        if "/" in k:
            raise CgroupError(f'unified resource "{k}" must be a file name (no slashes)')
        if "." not in k:
            raise CgroupError(f'unified resource "{k}" must be in the form CONTROLLER.PARAMETER')
        v = v.strip()
        try:
            if k == "cpu.max":
                sv = v.split()
                if not 1 <= len(sv) <= 2:
                    raise CgroupError(f'unified resource "{k}" value invalid: "{v}"')
                quota = 0 if sv[0] == "max" else int(sv[0])
                period = int(sv[1]) if len(sv) == 2 else DEFAULT_CPU_QUOTA_PERIOD
                props += cpu_quota_properties(quota, period, systemd_version)
            elif k == "cpu.weight":
                props.append(("CPUWeight", "t", int(v)))
            elif k in ("cpuset.cpus", "cpuset.mems"):
                if systemd_version >= 244:
                    props.append(("AllowedCPUs" if k == "cpuset.cpus" else "AllowedMemoryNodes",
                                  "ay", range_to_bits(v)))
            elif k in names:
                props.append((names[k], "t", USEC_INFINITY if v == "max" else int(v)))
            elif k == "pids.max":
                props.append(("TasksMax", "t", USEC_INFINITY if v == "max" else int(v)))
        except ValueError as exc:
            raise CgroupError(f'unified resource "{k}" value conversion error: {exc}') from None
    return props


def unit_properties(*, name: str, unit: str, parent: str, pid: int, version: str,
                    rootless: bool = False, extra: list[Property] | None = None) -> list[Property]:
    """The properties of ``StartTransientUnit`` (runc's ``Apply``), before the limits."""
    slice_name = parent or ("user.slice" if rootless and version == "v2" else "system.slice")
    props: list[Property] = [("Description", "s", f"libcontainer container {name}")]
    if unit.endswith(".slice"):
        props.append(("Wants", "as", [slice_name]))
    else:
        props.append(("Slice", "s", slice_name))
        props.append(("Delegate", "b", True))
    if pid != -1:
        props.append(("PIDs", "au", [pid]))
    props += [("MemoryAccounting", "b", True), ("CPUAccounting", "b", True),
              ("IOAccounting" if version == "v2" else "BlockIOAccounting", "b", True),
              ("TasksAccounting", "b", True), ("DefaultDependencies", "b", False)]
    return props + list(extra or [])


_PROP_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def annotation_properties(annotations: dict[str, str] | None) -> list[Property]:
    """``org.systemd.property.<Name>`` annotations -> properties (runc's
    ``initSystemdProps``), for the value forms we can type without a GVariant parser:
    ``true``/``false``, integers (``t``; ``*Sec`` values converted to ``*USec``) and
    quoted strings. Anything else is refused with the annotation named."""
    out: list[Property] = []
    prefix = "org.systemd.property."
    for key in sorted(annotations or {}):
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        value = (annotations or {})[key].strip()
        if not _PROP_NAME.match(name):
            raise CgroupError(f"annotation {key} name incorrect: {name!r}")
        sig: str
        val: Any
        if value in ("true", "false"):
            sig, val = "b", value == "true"
        elif re.fullmatch(r"(uint64 )?\d+", value):
            sig, val = "t", int(value.split()[-1])
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            sig, val = "s", value[1:-1]
        else:
            raise CgroupError(f"annotation {key}={value} value parse error: unsupported form")
        if name.endswith("Sec") and len(name) > 3 and name[-4].islower():
            if sig != "t":
                raise CgroupError(f"annotation {key}={value} value parse error: not a number")
            name, val = name[:-3] + "USec", val * 1000000
        out.append((name, sig, val))
    return out


def _variant_props(props: list[Property]) -> list[tuple[str, tuple[str, Any]]]:
    return [(n, (sig, v)) for n, sig, v in props]


class SystemdClient:
    """systemd1.Manager calls over the system bus (or systemd's private socket as root)."""

    DEST = "org.freedesktop.systemd1"
    PATH = "/org/freedesktop/systemd1"
    IFACE = "org.freedesktop.systemd1.Manager"

    def __init__(self, bus_path: str | None = None) -> None:
        addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "")
        if bus_path is None and addr.startswith("unix:path="):
            bus_path = addr[len("unix:path="):].split(",")[0]
        self.bus_path = bus_path or "/run/dbus/system_bus_socket"
        self._version: int | None = None

    def _connect(self) -> dbus.Connection:
        try:
            conn = dbus.Connection(self.bus_path)
        except CgroupError:
            if os.geteuid() != 0 or not os.path.exists("/run/systemd/private"):
                raise
            return dbus.Connection("/run/systemd/private", hello=False)
        conn.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "AddMatch", "s", ["type='signal',interface='org.freedesktop.systemd1."
                                    "Manager',member='JobRemoved'"])
        return conn

    def version(self) -> int:
        if self._version is None:
            with self._connect() as c:
                sig, ver = c.call(self.DEST, self.PATH, "org.freedesktop.DBus.Properties",
                                  "Get", "ss", [self.IFACE, "Version"])[0]
            m = re.search(r"v?([0-9]+)", str(ver))
            self._version = int(m.group(1)) if m else -1
        return self._version

    def _run_job(self, method: str, sig: str, args: list[Any]) -> str:
        with self._connect() as c:
            (job,) = c.call(self.DEST, self.PATH, self.IFACE, method, sig, args)
            msg = c.wait_signal(self.IFACE, "JobRemoved", lambda b: len(b) == 4 and b[1] == job)
            return str(msg["body"][3])

    def start_transient_unit(self, unit: str, props: list[Property]) -> None:
        try:
            result = self._run_job("StartTransientUnit", "ssa(sv)a(sa(sv))",
                                   [unit, "replace", _variant_props(props), []])
        except dbus.DBusError as exc:
            if "org.freedesktop.systemd1.UnitExists" in exc.name:
                return
            raise
        if result != "done":
            self.reset_failed(unit)
            raise CgroupError(f"error creating systemd unit `{unit}`: got `{result}`")

    def stop_unit(self, unit: str) -> str:
        try:
            return self._run_job("StopUnit", "ss", [unit, "replace"])
        except dbus.DBusError as exc:
            if "NoSuchUnit" in exc.name:
                return "done"
            raise

    def reset_failed(self, unit: str) -> None:
        try:
            with self._connect() as c:
                c.call(self.DEST, self.PATH, self.IFACE, "ResetFailedUnit", "s", [unit])
        except CgroupError:
            pass

    def set_unit_properties(self, unit: str, props: list[Property]) -> None:
        with self._connect() as c:
            c.call(self.DEST, self.PATH, self.IFACE, "SetUnitProperties", "sba(sv)",
                   [unit, True, _variant_props(props)])


class SystemdManager(Manager):
    """A container's cgroup as a systemd transient unit; files through ``inner``."""

    driver = "systemd"

    def __init__(self, inner: FsManager | Fs2Manager, *, name: str, unit: str, parent: str,
                 client: SystemdClient, extra_props: list[Property] | None = None) -> None:
        super().__init__(inner.resources, fs=inner.fs, rootless=inner.rootless,
                         default_devices=inner.default_devices)
        self.inner = inner
        self.version = inner.version
        self.name = name
        self.unit = unit
        self.parent = parent
        self.client = client
        self.extra_props = extra_props or []
        self.warnings = inner.warnings

    def paths(self) -> dict[str, str]:
        return self.inner.paths()

    def _properties(self, r: Resources) -> list[Property]:
        try:
            with open("/proc/devices") as f:
                proc_devices = f.read()
        except OSError:
            proc_devices = ""
        return resources_properties(r, self.version, self.client.version(),
                                    proc_devices=proc_devices, warnings=self.warnings)

    def apply(self, pid: int) -> None:
        props = unit_properties(name=self.name, unit=self.unit, parent=self.parent, pid=pid,
                                version=self.version, rootless=self.rootless,
                                extra=self.extra_props)
        try:
            self.client.start_transient_unit(self.unit, props)
        except CgroupError as exc:
            if self.version == "v2":
                raise CgroupError(f'unable to start unit "{self.unit}": {exc}') from None
            raise
        if isinstance(self.inner, Fs2Manager):
            self.inner.create_path()
            return
        # v1: systemd made name=systemd; join the others ourselves (runc's joinCgroups).
        for sub in LEGACY_SUBSYSTEMS:
            path = self.inner.paths().get(sub)
            if not path or sub == "name=systemd":
                continue
            if sub == "cpuset":
                self.inner._cpuset_apply_dir(path, self.inner.resources, pid)
            else:
                make_dirs(path, self.created_dirs)
                write_cgroup_proc(self.fs, path, pid)

    def set(self, resources: dict[str, Any] | Resources | None = None, *,
            skip_devices: bool = False) -> None:
        r = self.inner.to_resources(resources, skip_devices)
        props = self._properties(r)
        frozen_before = False
        if self.version == "v1":
            # systemd rewrites device rules disruptively: freeze around it (runc).
            try:
                frozen_before = self.inner.freezer_state() == "FROZEN"
                if not frozen_before:
                    self.inner.freeze()
            except CgroupError as exc:
                self.warnings.append(f"freeze container before SetUnitProperties failed: {exc}")
        try:
            self.client.set_unit_properties(self.unit, props)
        finally:
            if self.version == "v1" and not frozen_before and r.freezer != "FROZEN":
                try:
                    self.inner.thaw()
                except CgroupError as exc:
                    self.warnings.append(f"thaw container after SetUnitProperties failed: {exc}")
        self.inner.set(r, skip_devices=skip_devices)

    def freeze(self) -> None:
        self.inner.freeze()

    def thaw(self) -> None:
        self.inner.thaw()

    def freezer_state(self) -> str:
        return self.inner.freezer_state()

    def pids(self, recursive: bool = True) -> list[int]:
        return self.inner.pids(recursive)

    def exists(self) -> bool:
        return self.inner.exists()

    def destroy(self) -> None:
        stop_err: CgroupError | None = None
        try:
            result = self.client.stop_unit(self.unit)
            if result != "done":
                self.warnings.append(f"error removing unit `{self.unit}`: got `{result}`. "
                                     f"Continuing...")
        except CgroupError as exc:
            stop_err = exc
        try:
            if isinstance(self.inner, Fs2Manager):
                self.inner.destroy()
            else:
                remove_paths(self.inner.paths())
        except CgroupError:
            if stop_err is None:
                raise
        if stop_err is not None:
            raise stop_err

    def stats(self) -> dict[str, Any]:
        return self.inner.stats()

    def oom_kill_count(self) -> int:
        return self.inner.oom_kill_count()

    def oom_notifier(self) -> OOMNotifier:
        return self.inner.oom_notifier()


def legacy_paths(slice_path: str, unit: str, *, root: str, proc: str,
                 hybrid: bool) -> dict[str, str]:
    """runc's systemd v1 ``initPaths``: mountpoint + pid 1's cgroup (minus ``init.scope``)
    + expanded slice + unit, for every mounted subsystem (devices is mandatory)."""
    init = parse_cgroup_file(os.path.join(proc, "1", "cgroup"))
    paths = {}
    subs = LEGACY_SUBSYSTEMS + ((HYBRID,) if hybrid else ())
    for sub in subs:
        try:
            mnt, _ = find_mount(root, proc, sub)
            if sub in init:
                cg = init[sub]
            elif "name=" + sub in init:
                cg = init["name=" + sub]
            else:
                raise NotFoundError(sub)
        except NotFoundError:
            if sub == "devices":
                raise
            continue
        cg = os.path.normpath(cg)
        if cg.endswith("init.scope"):
            cg = cg[:-len("init.scope")]
        paths[sub] = os.path.normpath(os.path.join(
            mnt, cg.lstrip("/"), slice_path.lstrip("/"), unit))
    return paths


def new_systemd_manager(container_id: str, cgroups_path: str | None, resources: Resources, *,
                        version: str, hybrid: bool, rootless: bool, root: str, proc: str,
                        fs: CgroupFS, default_devices: list[DeviceRule] | None,
                        annotations: dict[str, str] | None, run_dir: str = SYSTEMD_RUN_DIR,
                        client: SystemdClient | None = None,
                        paths: dict[str, str] | None = None) -> SystemdManager:
    """Check systemd first (nothing is created without it), then build the manager."""
    if not is_running_systemd(run_dir):
        raise CgroupError(NOT_RUNNING)
    parent, prefix, name = parse_cgroups_path(cgroups_path, container_id)
    unit = unit_name(prefix, name)
    slice_name = parent or ("user.slice" if rootless and version == "v2" else "system.slice")
    slice_path = expand_slice(slice_name)
    inner: FsManager | Fs2Manager
    if version == "v1":
        if rootless:
            raise CgroupError("cannot use rootless systemd cgroups manager on cgroup v1")
        if resources.unified is not None:
            raise CgroupError("invalid configuration: cannot use unified on cgroup v1")
        if paths is None:
            paths = legacy_paths(slice_path, unit, root=root, proc=proc, hybrid=hybrid)
        inner = FsManager(resources, paths, root=root, proc=proc, fs=fs, rootless=False,
                          default_devices=default_devices)
    else:
        if rootless:
            raise CgroupError("rootless systemd cgroup driver is not supported")
        if paths is None:
            dir_path = os.path.normpath(os.path.join(root, slice_path.lstrip("/"), unit))
        else:
            dir_path = paths.get("", "")
        inner = Fs2Manager(resources, dir_path, root=root, proc=proc, fs=fs,
                           default_devices=default_devices)
    return SystemdManager(inner, name=name, unit=unit, parent=slice_name,
                          client=client or SystemdClient(),
                          extra_props=annotation_properties(annotations))

