"""The cgroup v1 driver (runc 1.1.5's ``cgroups/fs``): one directory per hierarchy.

Subsystems are handled in runc's order (``fs.go``)::

    cpuset devices memory cpu cpuacct pids blkio hugetlb net_cls net_prio perf_event
    freezer rdma name=systemd [""]

``""`` is the unified (cgroup2) hierarchy of a hybrid host: runc joins it too, without
touching any file but ``cgroup.procs``, so a hybrid host's container also shows up in
``0::/…``. A subsystem that is not mounted is skipped, except ``devices`` (fatal, for
security), and any limit for a skipped subsystem fails ``set`` with runc's
``cannot set <name> limit: container could not join or create cgroup``.

Paths (runc's ``paths.go``): an absolute cgroupsPath is taken from each hierarchy's root
(``<root>/<mount>/<path>``), a relative one from the caller's own cgroup in that hierarchy
(``/proc/self/cgroup``); the unified entry of a relative path is taken from the hybrid
mount's root, as runc's ``GetOwnCgroupPath("")`` does.
"""

from __future__ import annotations

import errno as _errno
import os
import time

from ociruntime.cgroups_remove import remove_paths
from ociruntime.errors import CgroupError

from . import stats as S
from .base import Manager, OOMNotifier, OOMNotifierV1
from .common import (
    FROZEN,
    THAWED,
    UNDEFINED,
    CgroupFileError,
    CgroupFS,
    NotFoundError,
    find_mount,
    get_all_pids,
    huge_page_sizes,
    is_within,
    make_dirs,
    parse_cgroup_file,
    parse_key_value,
    read_procs,
    strerror,
    write_cgroup_proc,
)
from .devices import Emulator
from .resources import DeviceRule, Resources

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

SUBSYSTEMS = ("cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb",
              "net_cls", "net_prio", "perf_event", "freezer", "rdma", "name=systemd")
HYBRID = ""  # the unified hierarchy's key in paths()


def subsystems(hybrid: bool) -> tuple[str, ...]:
    return SUBSYSTEMS + ((HYBRID,) if hybrid else ())


def subsys_path(root: str, proc: str, inner: str, name: str,
                own: dict[str, str] | None = None) -> str:
    """runc's ``subsysPath`` for one subsystem (raises NotFoundError when not mounted);
    ``own`` is the caller's parsed ``/proc/self/cgroup``, read here when not given."""
    if inner.startswith("/"):
        mnt, _ = find_mount(root, proc, name)
        return os.path.normpath(os.path.join(root, os.path.basename(mnt), inner.lstrip("/")))
    if own is None:
        own = parse_cgroup_file(os.path.join(proc, "self", "cgroup"))
    if name in own:
        cg = own[name]
    elif "name=" + name in own:
        cg = own["name=" + name]
    else:
        raise NotFoundError(name)
    mnt, mroot = find_mount(root, proc, name)
    if name == HYBRID:
        return os.path.normpath(os.path.join(mnt, inner))
    base = os.path.normpath(os.path.join(mnt, os.path.relpath(cg, mroot)))
    if not is_within(base, mnt):
        raise CgroupError(f"own cgroup {cg} of {name} is outside its mount {mnt}")
    return os.path.normpath(os.path.join(base, inner))


def init_paths(inner: str, *, root: str, proc: str, hybrid: bool,
               skip_devices: bool = False) -> dict[str, str]:
    """runc's ``initPaths``: every mounted subsystem's directory for ``inner``."""
    paths = {}
    own = None if inner.startswith("/") else parse_cgroup_file(os.path.join(proc, "self",
                                                                            "cgroup"))
    for name in subsystems(hybrid):
        try:
            paths[name] = subsys_path(root, proc, inner, name, own)
        except NotFoundError:
            if skip_devices or name != "devices":
                continue
            raise
    return paths


def _running_in_userns(proc: str) -> bool:
    try:
        with open(os.path.join(proc, "self", "uid_map")) as f:
            fields = f.read().split()
    except OSError:
        return False
    return fields[:3] != ["0", "0", "4294967295"]


def _ignorable(rootless: bool, exc: BaseException) -> bool:
    """runc's ``isIgnorableError``: EPERM/EACCES/EROFS when rootless."""
    if not rootless:
        return False
    err = getattr(exc, "errno", None)
    return err in (_errno.EPERM, _errno.EACCES, _errno.EROFS)


class FsManager(Manager):
    """cgroup v1 through cgroupfs (runc's ``fs.manager``)."""

    driver = "fs"
    version = "v1"

    def __init__(self, resources: Resources, paths: dict[str, str], *, root: str, proc: str,
                 fs: CgroupFS, rootless: bool = False, explicit_path: bool = True,
                 default_devices: list[DeviceRule] | None = None,
                 hugepages_dir: str | None = None) -> None:
        super().__init__(resources, fs=fs, rootless=rootless, default_devices=default_devices)
        if resources.unified is not None:
            raise CgroupError("invalid configuration: cannot use unified on cgroup v1")
        self._paths = dict(paths)
        self.root = root
        self.proc = proc
        #: runc's ``c.Path != ""``: rootless errors are only ignored without an explicit path
        self.explicit_path = explicit_path
        self.hugepages_dir = hugepages_dir
        self._blkio_weight_files: tuple[str, str] | None = None

    # --- placement ---------------------------------------------------------------------------

    def paths(self) -> dict[str, str]:
        return dict(self._paths)

    def apply(self, pid: int) -> None:
        r = self.resources
        for name in subsystems(True):
            if name not in self._paths:
                continue
            p = self._paths[name]
            try:
                self._apply_one(name, p, r, pid)
            except CgroupError as exc:
                if _ignorable(self.rootless, exc) and not self.explicit_path:
                    del self._paths[name]
                    continue
                raise

    def self_join_dirs(self) -> list[tuple[str, bool]] | None:
        if self.rootless:
            return None  # rootless join errors drop the hierarchy: the runtime decides
        dirs: list[tuple[str, bool]] = []
        for name in subsystems(True):
            path = self._paths.get(name, "")
            if path == "" or (name == "devices" and self.resources.skip_devices):
                continue
            # runc's NameGroup ignores errors
            dirs.append((path, name in ("name=systemd", HYBRID)))
        return dirs

    def birth_dir(self) -> str | None:
        # The hybrid cgroup2 hierarchy: the one join that a v1 tasks file cannot make cheap.
        return None if self.rootless else (self._paths.get(HYBRID) or None)

    def _apply_one(self, name: str, path: str, r: Resources, pid: int) -> None:
        if name == "cpuset":
            self._cpuset_apply_dir(path, r, pid)
        elif name == "devices":
            if r.skip_devices:
                return
            if path == "":
                raise CgroupError("cgroup: subsystem does not exist")
            self._join(path, pid)
        elif name == "cpu":
            make_dirs(path, self.created_dirs)
            # Real-time bandwidth first: a SCHED_RR task cannot join a cgroup without it.
            self._set_rt_sched(path, r)
            write_cgroup_proc(self.fs, path, pid)
        elif name in ("name=systemd", HYBRID):
            try:
                self._join(path, pid)
            except CgroupError:
                pass  # runc's NameGroup ignores errors
        else:
            self._join(path, pid)

    def _join(self, path: str, pid: int) -> None:
        if path == "":
            return
        make_dirs(path, self.created_dirs)
        write_cgroup_proc(self.fs, path, pid)

    def _mount_dir(self, name: str, path: str) -> str:
        """The hierarchy root that contains ``path`` (where cpuset inheritance stops)."""
        try:
            mnt, _ = find_mount(self.root, self.proc, name)
            top = os.path.join(self.root, os.path.basename(mnt))
            if is_within(path, top):
                return top
        except NotFoundError:
            pass
        return os.path.dirname(path)

    def _cpuset_apply_dir(self, path: str, r: Resources, pid: int) -> None:
        """runc's ``CpusetGroup.ApplyDir``: parents get their cpus/mems copied down before
        the container's directory is made, since an empty cpuset takes no task."""
        if path == "":
            return
        top = self._mount_dir("cpuset", path)
        chain = []
        p = os.path.dirname(path)
        while p != top and is_within(p, top):
            chain.append(p)
            p = os.path.dirname(p)
        for d in reversed(chain):
            self._mkdir(d)
            self._cpuset_copy_if_needed(d, os.path.dirname(d))
        self._mkdir(path)
        self._cpuset_set(path, r)
        self._cpuset_copy_if_needed(path, os.path.dirname(path))
        write_cgroup_proc(self.fs, path, pid)

    def _mkdir(self, d: str) -> None:
        try:
            os.mkdir(d, 0o755)
        except FileExistsError:
            return
        except OSError as exc:
            err = exc.errno or _errno.EIO
            raise CgroupFileError(f"mkdir {d}: {strerror(err)}", err) from None
        self.created_dirs.append(d)

    def _cpuset_copy_if_needed(self, current: str, parent: str) -> None:
        cur_cpus = self.fs.read(current, "cpuset.cpus")
        cur_mems = self.fs.read(current, "cpuset.mems")
        par_cpus = self.fs.read(parent, "cpuset.cpus")
        par_mems = self.fs.read(parent, "cpuset.mems")
        if cur_cpus in ("", "\n"):
            self.fs.write(current, "cpuset.cpus", par_cpus)
        if cur_mems in ("", "\n"):
            self.fs.write(current, "cpuset.mems", par_mems)

    # --- limits -------------------------------------------------------------------------------

    def set(self, resources: dict[str, Any] | Resources | None = None, *,
            skip_devices: bool = False) -> None:
        r = self.to_resources(resources, skip_devices)
        if r.unified is not None:
            raise CgroupError("invalid configuration: cannot use unified on cgroup v1")
        for name in subsystems(True):
            path = self._paths.get(name, "")
            try:
                self._set_one(name, path, r)
            except CgroupError:
                if self.rootless and name == "devices":
                    continue
                if path == "":
                    raise CgroupError(f"cannot set {name} limit: container could not join "
                                      f"or create cgroup") from None
                raise
        if not skip_devices:
            self.resources = r

    def _set_one(self, name: str, path: str, r: Resources) -> None:
        fn = {
            "cpuset": self._cpuset_set,
            "devices": self._devices_set,
            "memory": self._memory_set,
            "cpu": self._cpu_set,
            "pids": self._pids_set,
            "blkio": self._blkio_set,
            "hugetlb": self._hugetlb_set,
            "net_cls": self._net_cls_set,
            "net_prio": self._net_prio_set,
            "freezer": self._freezer_set,
            "rdma": self._rdma_set,
        }.get(name)
        if fn is not None:
            fn(path, r)

    def _cpuset_set(self, path: str, r: Resources) -> None:
        if r.cpuset_cpus:
            self.fs.write(path, "cpuset.cpus", r.cpuset_cpus)
        if r.cpuset_mems:
            self.fs.write(path, "cpuset.mems", r.cpuset_mems)

    def _devices_set(self, path: str, r: Resources) -> None:
        """Move ``devices.list`` to the rules with the fewest writes (runc's emulator)."""
        if r.skip_devices or _running_in_userns(self.proc):
            return
        current = Emulator.from_list(self.fs.read(path, "devices.list"))
        target = Emulator.from_rules(r.devices)
        # Each write(2) is one rule to the kernel, so a run of rules for the same file
        # shares one open (a container's default rules are a dozen allows in a row).
        fd, fd_name = -1, ""
        try:
            for rule in current.transition(target):
                name = "devices.allow" if rule.allow else "devices.deny"
                if name != fd_name:
                    if fd >= 0:
                        os.close(fd)
                        fd = -1
                    fd, fd_name = self.fs.open(path, name, os.O_WRONLY), name
                self.fs.write_fd(fd, os.path.join(path, name), rule.cgroup_string())
        finally:
            if fd >= 0:
                os.close(fd)
        if not self.fs.check_fs:
            return  # a fake tree's devices.list does not follow the writes
        after = Emulator.from_list(self.fs.read(path, "devices.list"))
        if not target.is_blacklist() and after != target:
            raise CgroupError("resulting devices cgroup doesn't precisely match target")
        if target.is_blacklist() != after.is_blacklist():
            raise CgroupError("resulting devices cgroup doesn't match target mode")

    def _memory_set(self, path: str, r: Resources) -> None:
        memory, swap = r.memory, r.memory_swap
        # memory -1 with no swap given means unlimited memory+swap too (if swap accounting).
        if memory == -1 and swap == 0 and os.path.exists(
                os.path.join(path, "memory.memsw.limit_in_bytes")):
            swap = -1
        done = False
        if memory != 0 and swap != 0:
            cur = self.fs.param_uint(path, "memory.limit_in_bytes")
            # Raising: swap first, or the kernel refuses memory > memsw.
            if swap == -1 or cur < swap:
                self._set_swap(path, swap)
                self._set_memory(path, memory)
                done = True
        if not done:
            self._set_memory(path, memory)
            self._set_swap(path, swap)
        # memory.kernel / kernelTCP are ignored (runc 1.1.5).
        if r.memory_reservation != 0:
            self.fs.write(path, "memory.soft_limit_in_bytes", str(r.memory_reservation))
        if r.oom_kill_disable:
            self.fs.write(path, "memory.oom_control", "1")
        sw = r.memory_swappiness
        if sw is None or sw == -1:
            return
        if sw <= 100:
            self.fs.write(path, "memory.swappiness", str(sw))
        else:
            raise CgroupError(
                f"invalid memory swappiness value: {sw} (valid range is 0-100)")

    def _set_memory(self, path: str, val: int) -> None:
        if val == 0:
            return
        try:
            self.fs.write(path, "memory.limit_in_bytes", str(val))
        except CgroupFileError as exc:
            if exc.errno != _errno.EBUSY:
                raise
            usage = self.fs.param_uint(path, "memory.usage_in_bytes")
            peak = self.fs.param_uint(path, "memory.max_usage_in_bytes")
            raise CgroupError(f"unable to set memory limit to {val} (current usage: {usage}, "
                              f"peak usage: {peak})") from None

    def _set_swap(self, path: str, val: int) -> None:
        if val != 0:
            self.fs.write(path, "memory.memsw.limit_in_bytes", str(val))

    def _set_rt_sched(self, path: str, r: Resources) -> None:
        if r.cpu_rt_period != 0:
            self.fs.write(path, "cpu.rt_period_us", str(r.cpu_rt_period))
        if r.cpu_rt_runtime != 0:
            self.fs.write(path, "cpu.rt_runtime_us", str(r.cpu_rt_runtime))

    def _cpu_set(self, path: str, r: Resources) -> None:
        if r.cpu_shares != 0:
            self.fs.write(path, "cpu.shares", str(r.cpu_shares))
            got = self.fs.param_uint(path, "cpu.shares")
            if r.cpu_shares > got:
                raise CgroupError(f"the maximum allowed cpu-shares is {got}")
            if r.cpu_shares < got:
                raise CgroupError(f"the minimum allowed cpu-shares is {got}")
        period = ""
        if r.cpu_period != 0:
            period = str(r.cpu_period)
            try:
                self.fs.write(path, "cpu.cfs_period_us", period)
                period = ""
            except CgroupFileError as exc:
                # A smaller period can be refused (EINVAL) until the quota is set; retried.
                if exc.errno != _errno.EINVAL or r.cpu_quota == 0:
                    raise
        burst = ""
        if r.cpu_burst is not None:
            burst = str(r.cpu_burst)
            try:
                self.fs.write(path, "cpu.cfs_burst_us", burst)
                burst = ""
            except CgroupFileError as exc:
                if exc.errno == _errno.ENOENT:
                    burst = ""  # older kernel: no burst knob
                elif exc.errno != _errno.EINVAL or r.cpu_quota == 0:
                    raise
        if r.cpu_quota != 0:
            self.fs.write(path, "cpu.cfs_quota_us", str(r.cpu_quota))
            if period:
                self.fs.write(path, "cpu.cfs_period_us", period)
            if burst:
                self.fs.write(path, "cpu.cfs_burst_us", burst)
        if r.cpu_idle is not None:
            self.fs.write(path, "cpu.idle", str(r.cpu_idle))
        self._set_rt_sched(path, r)

    def _pids_set(self, path: str, r: Resources) -> None:
        if r.pids_limit != 0:
            self.fs.write(path, "pids.max", str(r.pids_limit) if r.pids_limit > 0 else "max")

    def _blkio_set(self, path: str, r: Resources) -> None:
        if self._blkio_weight_files is None:
            if os.path.exists(os.path.join(path, "blkio.weight")):
                self._blkio_weight_files = ("blkio.weight", "blkio.weight_device")
            else:
                self._blkio_weight_files = ("blkio.bfq.weight", "blkio.bfq.weight_device")
        weight_file, weight_device_file = self._blkio_weight_files
        wants_weight = r.blkio_weight != 0 or any(wd.weight != 0 for wd in r.blkio_weight_device)
        missing = not os.path.exists(os.path.join(path, weight_file))
        if wants_weight and self.fs.check_fs and missing:
            # A limit that can not be applied is an error (config-linux.md#control-groups),
            # not a silent no-op: neither CFQ's nor BFQ's weight files exist here.
            raise CgroupError("linux.resources.blockIO: weights are not supported by this "
                              "host's blkio controller (no blkio.weight or blkio.bfq.weight)")
        if r.blkio_weight != 0:
            self.fs.write(path, weight_file, str(r.blkio_weight))
        if r.blkio_leaf_weight != 0:
            self.fs.write(path, "blkio.leaf_weight", str(r.blkio_leaf_weight))
        for wd in r.blkio_weight_device:
            if wd.weight != 0:
                self.fs.write(path, weight_device_file, wd.weight_string())
            if wd.leaf_weight != 0:
                self.fs.write(path, "blkio.leaf_weight_device", wd.leaf_weight_string())
        for name, devs in (("blkio.throttle.read_bps_device", r.blkio_throttle_read_bps_device),
                           ("blkio.throttle.write_bps_device", r.blkio_throttle_write_bps_device),
                           ("blkio.throttle.read_iops_device", r.blkio_throttle_read_iops_device),
                           ("blkio.throttle.write_iops_device",
                            r.blkio_throttle_write_iops_device)):
            for td in devs:
                self.fs.write(path, name, td.string())

    def _hugetlb_set(self, path: str, r: Resources) -> None:
        for size, limit in r.hugetlb_limit:
            self.fs.write(path, f"hugetlb.{size}.limit_in_bytes", str(limit))

    def _net_cls_set(self, path: str, r: Resources) -> None:
        if r.net_cls_classid != 0:
            self.fs.write(path, "net_cls.classid", str(r.net_cls_classid))

    def _net_prio_set(self, path: str, r: Resources) -> None:
        for iface, prio in r.net_prio_ifpriomap:
            self.fs.write(path, "net_prio.ifpriomap", f"{iface} {prio}")

    def _freezer_set(self, path: str, r: Resources) -> None:
        if r.freezer == FROZEN:
            self._freeze(path)
        elif r.freezer == THAWED:
            self.fs.write(path, "freezer.state", THAWED)
        elif r.freezer != UNDEFINED:
            raise CgroupError(f"Invalid argument '{r.freezer}' to freezer.state")

    def _rdma_set(self, path: str, r: Resources) -> None:
        for dev in sorted(r.rdma):
            handles, objects = r.rdma[dev]
            cmd = dev
            if handles is not None:
                cmd += f" hca_handle={handles}"
            if objects is not None:
                cmd += f" hca_object={objects}"
            self.fs.write(path, "rdma.max", cmd)

    # --- freezer --------------------------------------------------------------------------------

    def _freezer_path(self) -> str:
        path = self._paths.get("freezer", "")
        if path == "":
            raise CgroupError("cannot toggle freezer: cgroups not configured for container")
        return path

    def freeze(self) -> None:
        self._freeze(self._freezer_path())

    def _freeze(self, path: str) -> None:
        """runc's ``FreezerGroup.Set(FROZEN)``: write FROZEN and read back until the state
        leaves FREEZING (a v1 cgroup can stay FREEZING while tasks keep forking); thaw and
        retry every 50 rounds; on failure thaw rather than leave it half frozen."""
        try:
            for i in range(1000):
                if i % 50 == 49:
                    self._write_quiet(path, THAWED)
                    time.sleep(0.01)
                self.fs.write(path, "freezer.state", FROZEN)
                if i % 25 == 24:
                    time.sleep(0.00001)
                state = self.fs.read(path, "freezer.state").strip()
                if state == "FREEZING":
                    continue
                if state == FROZEN:
                    return
                raise CgroupError(f"unexpected state {state} while freezing")
            raise CgroupError("unable to freeze")
        except CgroupError:
            self._write_quiet(path, THAWED)
            raise

    def _write_quiet(self, path: str, state: str) -> None:
        try:
            self.fs.write(path, "freezer.state", state)
        except CgroupError:
            pass

    def thaw(self) -> None:
        self.fs.write(self._freezer_path(), "freezer.state", THAWED)

    def freezer_state(self) -> str:
        path = self._paths.get("freezer", "")
        if path == "":
            return UNDEFINED
        while True:
            try:
                state = self.fs.read(path, "freezer.state").strip()
            except CgroupFileError as exc:
                if exc.errno in (_errno.ENOENT, _errno.ENODEV):
                    return UNDEFINED
                raise
            if state == THAWED:
                return THAWED
            if state == FROZEN:
                # Frozen by itself, or only through a frozen ancestor?
                try:
                    own = self.fs.read(path, "freezer.self_freezing")
                except CgroupFileError as exc:
                    if exc.errno in (_errno.ENOENT, _errno.ENODEV):
                        return FROZEN
                    raise
                if own == "0\n":
                    return THAWED
                if own == "1\n":
                    return FROZEN
                raise CgroupError(f'unknown "freezer.self_freezing" state: {own!r}')
            if state == "FREEZING":
                time.sleep(0.001)
                continue
            raise CgroupError(f"unknown freezer.state {state!r}")

    # --- queries ----------------------------------------------------------------------------------

    def pids(self, recursive: bool = True) -> list[int]:
        path = self._paths.get("devices", "")
        if recursive:
            return get_all_pids(self.fs, path)
        return read_procs(self.fs, path)

    def exists(self) -> bool:
        path = self._paths.get("devices", "")
        return bool(path) and os.path.exists(path)

    def destroy(self) -> None:
        remove_paths(self._paths)

    def oom_kill_count(self) -> int:
        try:
            return self.fs.value_by_key(self._paths.get("memory", ""), "memory.oom_control",
                                        "oom_kill")
        except CgroupFileError as exc:
            if self.rootless and exc.errno == _errno.ENOENT:
                return 0
            raise

    def oom_notifier(self) -> OOMNotifier:
        return OOMNotifierV1(self._paths.get("memory", ""))

    def stats(self) -> dict[str, Any]:
        return S.events_data(self.raw_stats())

    def raw_stats(self) -> S.CgroupStats:
        st = S.CgroupStats()
        for name in subsystems(True):
            path = self._paths.get(name, "")
            if not path:
                continue
            fn = {
                "cpuset": self._cpuset_stats,
                "memory": self._memory_stats,
                "cpu": self._cpu_stats,
                "cpuacct": self._cpuacct_stats,
                "pids": self._pids_stats,
                "blkio": self._blkio_stats,
                "hugetlb": self._hugetlb_stats,
                "rdma": self._rdma_stats,
            }.get(name)
            if fn is not None:
                fn(path, st)
        return st

    def _opt(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except CgroupFileError as exc:
            if exc.errno == _errno.ENOENT:
                return None
            raise

    def _cpuset_stats(self, path: str, st: S.CgroupStats) -> None:
        for attr, name in (("cpuset_cpus", "cpuset.cpus"), ("cpuset_mems", "cpuset.mems")):
            text = self._opt(self.fs.param_string, path, name)
            if text is not None:
                setattr(st, attr, parse_cpuset_list(text, os.path.join(path, name)))
        for key, name in S.CPUSET_SCALARS:
            fn = self.fs.param_int if key == "sched_relax_domain_level" else self.fs.param_uint
            v = self._opt(fn, path, name)
            if v is not None:
                st.cpuset[key] = v

    def _memory_stats(self, path: str, st: S.CgroupStats) -> None:
        text = self._opt(self.fs.read, path, "memory.stat")
        if text is None:
            return
        for line in text.splitlines():
            try:
                k, v = parse_key_value(line)
            except ValueError as exc:
                raise CgroupError(f"unable to parse {path}/memory.stat: {exc}") from None
            st.memory_raw[k] = v
        st.memory_cache = st.memory_raw.get("cache", 0)
        st.memory_usage = self._memory_data(path, "")
        st.memory_swap = self._memory_data(path, "memsw")
        st.memory_kernel = self._memory_data(path, "kmem")
        st.memory_kernel_tcp = self._memory_data(path, "kmem.tcp")
        st.memory_use_hierarchy = self.fs.param_uint(path, "memory.use_hierarchy") == 1

    def _memory_data(self, path: str, name: str) -> S.MemoryData:
        prefix = "memory." + name if name else "memory"
        try:
            usage = self.fs.param_uint(path, prefix + ".usage_in_bytes")
        except CgroupFileError as exc:
            if name and exc.errno == _errno.ENOENT:
                return S.MemoryData()  # swap and kmem accounting are optional
            raise
        return S.MemoryData(
            usage=usage,
            max_usage=self.fs.param_uint(path, prefix + ".max_usage_in_bytes"),
            failcnt=self.fs.param_uint(path, prefix + ".failcnt"),
            limit=self.fs.param_uint(path, prefix + ".limit_in_bytes"))

    def _cpu_stats(self, path: str, st: S.CgroupStats) -> None:
        text = self._opt(self.fs.read, path, "cpu.stat")
        if text is None:
            return
        for line in text.splitlines():
            try:
                k, v = parse_key_value(line)
            except ValueError as exc:
                raise CgroupError(f"unable to parse {path}/cpu.stat: {exc}") from None
            if k == "nr_periods":
                st.throttling_periods = v
            elif k == "nr_throttled":
                st.throttled_periods = v
            elif k == "throttled_time":
                st.throttled_time = v

    def _cpuacct_stats(self, path: str, st: S.CgroupStats) -> None:
        if not os.path.exists(path):
            return
        fields = self.fs.read(path, "cpuacct.stat").split()
        if len(fields) < 4 or fields[0] != "user" or fields[2] != "system":
            raise CgroupError(f"unable to parse {path}/cpuacct.stat: malformed")
        ticks = 100  # USER_HZ, a constant on Linux
        st.cpu_user = int(fields[1]) * 1_000_000_000 // ticks
        st.cpu_kernel = int(fields[3]) * 1_000_000_000 // ticks
        st.cpu_total = self.fs.param_uint(path, "cpuacct.usage")
        st.percpu = [int(x) for x in self.fs.read(path, "cpuacct.usage_percpu").split()]
        text = self._opt(self.fs.read, path, "cpuacct.usage_all")
        st.percpu_kernel, st.percpu_user = [], []
        if text is not None:
            for line in text.splitlines()[1:]:
                cols = line.split(" ")
                if len(cols) != 3:
                    continue
                st.percpu_kernel.append(int(cols[2]))
                st.percpu_user.append(int(cols[1]))

    def _pids_stats(self, path: str, st: S.CgroupStats) -> None:
        if not os.path.exists(path):
            return
        st.pids_current = self.fs.param_uint(path, "pids.current")
        limit = self.fs.param_uint(path, "pids.max")
        st.pids_limit = 0 if limit == 2**64 - 1 else limit

    def _blkio_stats(self, path: str, st: S.CgroupStats) -> None:
        groups = [
            # BFQ with CONFIG_BFQ_CGROUP_DEBUG, BFQ, CFQ, throttle (recursive), throttle
            [("sectors_recursive", "blkio.bfq.sectors_recursive"),
             ("io_service_time_recursive", "blkio.bfq.io_service_time_recursive"),
             ("io_wait_time_recursive", "blkio.bfq.io_wait_time_recursive"),
             ("io_merged_recursive", "blkio.bfq.io_merged_recursive"),
             ("io_queued_recursive", "blkio.bfq.io_queued_recursive"),
             ("io_time_recursive", "blkio.bfq.time_recursive"),
             ("io_serviced_recursive", "blkio.bfq.io_serviced_recursive"),
             ("io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive")],
            [("io_serviced_recursive", "blkio.bfq.io_serviced_recursive"),
             ("io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive")],
            [("sectors_recursive", "blkio.sectors_recursive"),
             ("io_service_time_recursive", "blkio.io_service_time_recursive"),
             ("io_wait_time_recursive", "blkio.io_wait_time_recursive"),
             ("io_merged_recursive", "blkio.io_merged_recursive"),
             ("io_queued_recursive", "blkio.io_queued_recursive"),
             ("io_time_recursive", "blkio.time_recursive"),
             ("io_serviced_recursive", "blkio.io_serviced_recursive"),
             ("io_service_bytes_recursive", "blkio.io_service_bytes_recursive")],
            [("io_serviced_recursive", "blkio.throttle.io_serviced_recursive"),
             ("io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive")],
            [("io_serviced_recursive", "blkio.throttle.io_serviced"),
             ("io_service_bytes_recursive", "blkio.throttle.io_service_bytes")],
        ]
        for group in groups:
            for i, (key, name) in enumerate(group):
                entries = self._blkio_file(path, name)
                if entries is None:
                    if i == 0:
                        break  # this kind of statistics is absent: try the next group
                    return
                st.blkio[key] = entries
                if i == len(group) - 1:
                    return

    def _blkio_file(self, path: str, name: str) -> list[S.BlkioEntry] | None:
        """Entries of one blkio stat file; None when the file is absent (runc: nil)."""
        text = self._opt(self.fs.read, path, name)
        if text is None:
            return None
        out = []
        for line in text.splitlines():
            fields = line.replace(":", " ").split()
            if len(fields) < 3:
                if len(fields) == 2 and fields[0] == "Total":
                    continue
                raise CgroupError(f"unable to parse {path}/{name}: malformed line {line!r}")
            op, value = ("", fields[2]) if len(fields) == 3 else (fields[2], fields[3])
            out.append(S.BlkioEntry(int(fields[0]), int(fields[1]), op, int(value)))
        return out or None

    def _hugetlb_stats(self, path: str, st: S.CgroupStats) -> None:
        if not os.path.exists(path):
            return
        sizes = (huge_page_sizes(self.hugepages_dir) if self.hugepages_dir
                 else huge_page_sizes())
        for size in sizes:
            st.hugetlb[size] = S.MemoryData(
                usage=self.fs.param_uint(path, f"hugetlb.{size}.usage_in_bytes"),
                max_usage=self.fs.param_uint(path, f"hugetlb.{size}.max_usage_in_bytes"),
                failcnt=self.fs.param_uint(path, f"hugetlb.{size}.failcnt"))

    def _rdma_stats(self, path: str, st: S.CgroupStats) -> None:
        rdma_stats(self.fs, path, st)


def rdma_stats(fs: CgroupFS, path: str, st: S.CgroupStats) -> None:
    """``rdma.current``/``rdma.max`` (same files on v1 and v2)."""
    def entries(name: str) -> list[tuple[str, int, int]]:
        out = []
        for line in fs.read(path, name).splitlines():
            parts = line.split(" ")
            if len(parts) != 3:
                continue
            vals = {"hca_handle": 0, "hca_object": 0}
            ok = True
            for kv in parts[1:]:
                k, _, v = kv.partition("=")
                if not _ or not (v == "max" or v.isdigit()):
                    ok = False
                    break
                vals[k] = 2**32 - 1 if v == "max" else int(v)
            if ok:
                out.append((parts[0], vals["hca_handle"], vals["hca_object"]))
        return out
    try:
        current = entries("rdma.current")
    except CgroupFileError as exc:
        if exc.errno == _errno.ENOENT:
            return
        raise
    limit = entries("rdma.max")
    if len(current) == len(limit):
        st.rdma_current, st.rdma_limit = current, limit


def parse_cpuset_list(text: str, where: str) -> list[int]:
    """``0-2,4`` -> [0, 1, 2, 4] (runc's ``getCpusetStat``)."""
    if text == "":
        raise CgroupError(f"unable to parse {where}: empty file")
    out: list[int] = []
    for part in text.split(","):
        bounds = part.split("-")
        try:
            if len(bounds) > 2:
                raise CgroupError(f"unable to parse {where}: extra dash")
            if len(bounds) == 2:
                lo, hi = int(bounds[0]), int(bounds[1])
                if lo > hi:
                    raise CgroupError(f"unable to parse {where}: invalid values, min > max")
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise CgroupError(f"unable to parse {where}: invalid syntax") from None
    return out
