"""The cgroup v2 driver (runc 1.1.5's ``cgroups/fs2``): one directory in the unified tree.

``apply`` creates the path from the hierarchy root down, enabling every available
controller in each ancestor's ``cgroup.subtree_control`` (a controller is only usable in
a cgroup whose parent delegates it), then writes the pid to ``cgroup.procs``. ``set``
writes, in runc's order: pids, memory, io, cpu, devices (eBPF), cpuset, hugetlb, rdma,
freezer, unified. v1 values are converted as runc does (shares -> ``cpu.weight``,
blkio weight -> ``io.weight``, memory+swap -> ``memory.swap.max``); v1-only knobs
(swappiness, kernel memory, real-time, leaf weights, net_cls/net_prio, disableOOMKiller)
are ignored, as runc ignores them.

Paths: an absolute cgroupsPath is taken from the root of the hierarchy, a relative one (and
the default, the container id) from the *parent* of the caller's cgroup — runc's
``defaultDirPath``: the caller's own cgroup has processes, so no controller could be
enabled below it.
"""

from __future__ import annotations

import errno as _errno
import os
import time

from ociruntime.cgroups_remove import remove_path
from ociruntime.errors import CgroupError

from . import ebpf
from . import stats as S
from .base import Manager, OOMNotifier, OOMNotifierV2
from .common import (
    FROZEN,
    THAWED,
    UNDEFINED,
    CgroupFileError,
    CgroupFS,
    check_file_name,
    get_all_pids,
    huge_page_sizes,
    is_within,
    parse_cgroup_file,
    parse_key_value,
    read_procs,
    strerror,
    write_cgroup_proc,
)
from .resources import DeviceRule, Resources, convert_blkio_to_io_weight, convert_memory_swap_to_v2
from .v1 import _running_in_userns, rdma_stats

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any


def default_dir_path(inner: str, *, root: str, proc: str) -> str:
    """runc's ``_defaultDirPath``: absolute from the root, relative from the parent of the
    caller's cgroup (``0::`` line of /proc/self/cgroup)."""
    if inner.startswith("/"):
        return os.path.normpath(os.path.join(root, inner.lstrip("/")))
    own = parse_cgroup_file(os.path.join(proc, "self", "cgroup"))
    if "" not in own:
        raise CgroupError("cgroup path not found")
    parent = os.path.dirname(own[""]) or "/"
    return os.path.normpath(os.path.join(root, parent.lstrip("/"), inner))


def num_to_str(value: int) -> str:
    """runc's ``numToStr``: 0 -> "" (not set), -1 -> "max"."""
    if value == 0:
        return ""
    if value == -1:
        return "max"
    return str(value)


def _memory_set(r: Resources) -> bool:
    return r.memory_reservation != 0 or r.memory != 0 or r.memory_swap != 0


def _io_set(r: Resources) -> bool:
    return bool(r.blkio_weight or r.blkio_weight_device or r.blkio_throttle_read_bps_device
                or r.blkio_throttle_write_bps_device or r.blkio_throttle_read_iops_device
                or r.blkio_throttle_write_iops_device)


def _cpu_set(r: Resources) -> bool:
    return bool(r.cpu_weight or r.cpu_quota or r.cpu_period or r.cpu_idle is not None
                or r.cpu_burst is not None)


def _contains_domain_controller(r: Resources) -> bool:
    return _memory_set(r) or _io_set(r) or _cpu_set(r) or bool(r.hugetlb_limit)


class Fs2Manager(Manager):
    """cgroup v2 through cgroupfs (runc's ``fs2.manager``); ``root`` is the cgroup2 mount
    (``/sys/fs/cgroup``, or ``/sys/fs/cgroup/unified`` on a hybrid host)."""

    driver = "fs2"
    version = "v2"

    def __init__(self, resources: Resources, dir_path: str, *, root: str, proc: str,
                 fs: CgroupFS, rootless: bool = False, explicit_path: bool = True,
                 default_devices: list[DeviceRule] | None = None,
                 hugepages_dir: str | None = None) -> None:
        super().__init__(resources, fs=fs, rootless=rootless, default_devices=default_devices)
        self.dir = dir_path
        self.root = root
        self.proc = proc
        self.explicit_path = explicit_path
        self.hugepages_dir = hugepages_dir
        self._controllers: set[str] | None = None

    def paths(self) -> dict[str, str]:
        return {"": self.dir}

    # --- placement ---------------------------------------------------------------------------

    def _supported(self) -> list[str]:
        return self.fs.read(self.root, "cgroup.controllers").split()

    def _need_any_controllers(self, r: Resources) -> bool:
        try:
            avail = set(self._supported())
        except CgroupError:
            return False
        return ((r.pids_limit != 0 and "pids" in avail)
                or (_memory_set(r) and "memory" in avail)
                or (_io_set(r) and "io" in avail)
                or (_cpu_set(r) and "cpu" in avail)
                or (bool(r.cpuset_cpus or r.cpuset_mems) and "cpuset" in avail)
                or (bool(r.hugetlb_limit) and "hugetlb" in avail))

    def create_path(self) -> None:
        """runc's ``CreateCgroupPath``: mkdir each level below the root, refusing a level in
        a threaded/invalid mode when domain controllers are wanted, enabling every
        available controller in each parent's ``cgroup.subtree_control``."""
        if not is_within(self.dir, self.root):
            raise CgroupError(f"invalid cgroup path {self.dir}")
        res = "+" + " +".join(self._supported())
        rel = os.path.relpath(self.dir, self.root)
        parts = [] if rel == "." else rel.split("/")
        levels = [self.root] + [os.path.join(self.root, *parts[:i + 1])
                                for i in range(len(parts))]
        made: list[str] = []
        try:
            for i, current in enumerate(levels):
                if i > 0:
                    try:
                        os.mkdir(current, 0o755)
                        made.append(current)
                    except FileExistsError:
                        pass
                    except OSError as exc:
                        err = exc.errno or _errno.EIO
                        raise CgroupFileError(f"mkdir {current}: {strerror(err)}", err) from None
                    try:
                        cg_type = self.fs.read(current, "cgroup.type").strip()
                    except CgroupError:
                        cg_type = ""
                    if cg_type == "domain invalid":
                        if _contains_domain_controller(self.resources):
                            raise CgroupError(f'cannot enter cgroupv2 "{current}" with domain '
                                              f"controllers -- it is in an invalid state")
                        try:
                            self.fs.write(current, "cgroup.type", "threaded")
                        except CgroupError:
                            pass
                    elif cg_type in ("domain threaded", "threaded"):
                        if _contains_domain_controller(self.resources):
                            raise CgroupError(f'cannot enter cgroupv2 "{current}" with domain '
                                              f"controllers -- it is in {cg_type} mode")
                if i < len(levels) - 1:
                    try:
                        self.fs.write(current, "cgroup.subtree_control", res)
                    except CgroupError:
                        # One by one; what cannot be enabled fails later in set().
                        for ctr in res.split(" "):
                            try:
                                self.fs.write(current, "cgroup.subtree_control", ctr)
                            except CgroupError:
                                pass
        except BaseException:
            for d in reversed(made):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            raise
        self.created_dirs.extend(made)

    def apply(self, pid: int) -> None:
        try:
            self.create_path()
        except CgroupError as exc:
            if self.rootless and not self.explicit_path:
                if not self._need_any_controllers(self.resources):
                    return
                raise CgroupError(f"rootless needs no limits + no cgrouppath when no "
                                  f"permission is granted for cgroups: {exc}") from None
            raise
        write_cgroup_proc(self.fs, self.dir, pid)

    def self_join_dirs(self) -> list[tuple[str, bool]] | None:
        # Rootless placement may be skipped altogether (apply): the runtime decides.
        return None if self.rootless else [(self.dir, False)]

    def birth_dir(self) -> str | None:
        return None if self.rootless else self.dir

    # --- limits -------------------------------------------------------------------------------

    def _get_controllers(self) -> set[str]:
        if self._controllers is None:
            try:
                self._controllers = set(self.fs.read(self.dir, "cgroup.controllers").split())
            except CgroupError:
                if self.rootless and not self.explicit_path:
                    return set()
                raise
        return self._controllers

    def set(self, resources: dict[str, Any] | Resources | None = None, *,
            skip_devices: bool = False) -> None:
        r = self.to_resources(resources, skip_devices)
        self._get_controllers()
        self._set_pids(r)
        self._set_memory(r)
        self._set_io(r)
        self._set_cpu(r)
        try:
            self.set_devices(r)
        except CgroupError:
            if not self.rootless:
                raise
        self._set_cpuset(r)
        for size, limit in r.hugetlb_limit:
            self.fs.write(self.dir, f"hugetlb.{size}.max", str(limit))
        for dev in sorted(r.rdma):
            handles, objects = r.rdma[dev]
            cmd = dev
            if handles is not None:
                cmd += f" hca_handle={handles}"
            if objects is not None:
                cmd += f" hca_object={objects}"
            self.fs.write(self.dir, "rdma.max", cmd)
        self._set_freezer(r.freezer)
        self._set_unified(r.unified)
        if not skip_devices:
            self.resources = r

    def _set_pids(self, r: Resources) -> None:
        val = num_to_str(r.pids_limit)
        if val:
            self.fs.write(self.dir, "pids.max", val)

    def _set_memory(self, r: Resources) -> None:
        if not _memory_set(r):
            return
        if r.memory_check_before_update and r.memory > 0:
            # runc 1.2: refuse to set a limit below what is already in use.
            try:
                usage = self.fs.param_uint(self.dir, "memory.current")
            except CgroupError:
                usage = -1
            if usage >= r.memory:
                raise CgroupError(f"rejecting memory limit {r.memory} below usage {usage}")
        swap = convert_memory_swap_to_v2(r.memory_swap, r.memory)
        swap_str = num_to_str(swap)
        if swap_str == "" and swap == 0 and r.memory_swap > 0:
            swap_str = "0"  # memory == memory+swap: no swap at all
        if swap_str:
            self.fs.write(self.dir, "memory.swap.max", swap_str)
        val = num_to_str(r.memory)
        if val:
            self.fs.write(self.dir, "memory.max", val)
        val = num_to_str(r.memory_reservation)
        if val:
            self.fs.write(self.dir, "memory.low", val)

    def _set_io(self, r: Resources) -> None:
        if not _io_set(r):
            return
        bfq = -1
        if r.blkio_weight != 0 or r.blkio_weight_device:
            try:
                bfq = self.fs.open(self.dir, "io.bfq.weight", os.O_RDWR)
            except CgroupFileError as exc:
                if exc.errno != _errno.ENOENT:
                    raise
        bfq_path = os.path.join(self.dir, "io.bfq.weight")
        try:
            if r.blkio_weight != 0:
                if bfq >= 0:
                    self.fs.write_fd(bfq, bfq_path, str(r.blkio_weight))
                else:
                    self.fs.write(self.dir, "io.weight",
                                  str(convert_blkio_to_io_weight(r.blkio_weight)))
            if bfq >= 0 and self._bfq_device_weight_supported(bfq):
                for wd in r.blkio_weight_device:
                    try:
                        self.fs.write_fd(bfq, bfq_path, wd.weight_string() + "\n")
                    except CgroupError as exc:
                        raise CgroupError(
                            f'setting device weight "{wd.weight_string()}": {exc}') from None
        finally:
            if bfq >= 0:
                os.close(bfq)
        for name, devs in (("rbps", r.blkio_throttle_read_bps_device),
                           ("wbps", r.blkio_throttle_write_bps_device),
                           ("riops", r.blkio_throttle_read_iops_device),
                           ("wiops", r.blkio_throttle_write_iops_device)):
            for td in devs:
                self.fs.write(self.dir, "io.max", td.string_name(name))

    @staticmethod
    def _bfq_device_weight_supported(fd: int) -> bool:
        """Kernels >= 5.4 show ``default N`` plus per-device lines, older ones a number."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 32).decode(errors="replace").strip()
        except OSError:
            return False
        try:
            int(text)
        except ValueError:
            return True
        return False

    def _set_cpu(self, r: Resources) -> None:
        if not _cpu_set(r):
            return
        if r.cpu_idle is not None:
            self.fs.write(self.dir, "cpu.idle", str(r.cpu_idle))
        if r.cpu_weight != 0:
            self.fs.write(self.dir, "cpu.weight", str(r.cpu_weight))
        burst = ""
        if r.cpu_burst is not None:
            burst = str(r.cpu_burst)
            try:
                self.fs.write(self.dir, "cpu.max.burst", burst)
                burst = ""
            except CgroupFileError as exc:
                if exc.errno != _errno.EINVAL or r.cpu_quota == 0:
                    raise
        if r.cpu_quota != 0 or r.cpu_period != 0:
            value = str(r.cpu_quota) if r.cpu_quota > 0 else "max"
            value += " " + str(r.cpu_period or 100000)
            self.fs.write(self.dir, "cpu.max", value)
            if burst:
                self.fs.write(self.dir, "cpu.max.burst", burst)

    def _set_cpuset(self, r: Resources) -> None:
        if r.cpuset_cpus:
            self.fs.write(self.dir, "cpuset.cpus", r.cpuset_cpus)
        if r.cpuset_mems:
            self.fs.write(self.dir, "cpuset.mems", r.cpuset_mems)

    def set_devices(self, r: Resources) -> None:
        """Attach the eBPF program for ``r.devices`` to the cgroup (runc's ``setDevices``).

        In a user namespace, or when every rule is an ``rwm`` allow, a bpf(2) failure is
        not fatal (runc's ``canSkipEBPFError``).
        """
        if r.skip_devices:
            return
        code = ebpf.assemble(ebpf.device_filter(r.devices))
        try:
            dirfd = os.open(self.dir, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            raise CgroupError(f"cannot get dir FD for {self.dir}") from None
        try:
            ebpf.load_attach_device_filter(code, dirfd)
        except CgroupError:
            if not self._can_skip_ebpf_error(r):
                raise
        finally:
            os.close(dirfd)

    def _can_skip_ebpf_error(self, r: Resources) -> bool:
        if _running_in_userns(self.proc):
            return True
        return all(d.allow and set(d.access) >= {"r", "w", "m"} for d in r.devices)

    def _set_freezer(self, state: str) -> None:
        if state == UNDEFINED:
            return
        if state not in (FROZEN, THAWED):
            raise CgroupError(f"invalid freezer state {state!r} requested")
        try:
            fd = self.fs.open(self.dir, "cgroup.freeze", os.O_RDWR)
        except CgroupFileError as exc:
            if state != FROZEN:
                return  # no freezer: thawing is a no-op
            raise CgroupError(f"freezer not supported: {exc}") from None
        try:
            self.fs.write_fd(fd, os.path.join(self.dir, "cgroup.freeze"),
                             "1" if state == FROZEN else "0")
            actual = self._read_freezer(fd)
        finally:
            os.close(fd)
        if actual != state:
            raise CgroupError(
                f'expected "cgroup.freeze" to be in state "{state}" but was in "{actual}"')

    def _read_freezer(self, fd: int) -> str:
        os.lseek(fd, 0, os.SEEK_SET)
        state = os.read(fd, 2)
        if state == b"0\n":
            return THAWED
        if state == b"1\n":
            return self._wait_frozen()
        raise CgroupError(f'unknown "cgroup.freeze" state: {state!r}')

    def _wait_frozen(self) -> str:
        """Poll ``cgroup.events`` until ``frozen 1`` (10 ms, at most 1000 times)."""
        for _ in range(1000):
            text = self.fs.read(self.dir, "cgroup.events")
            for line in text.splitlines():
                if line.startswith("frozen "):
                    if line[7:8] == "1":
                        return FROZEN
                    break
            else:
                return UNDEFINED
            time.sleep(0.01)
        raise CgroupError("timeout of 10s reached waiting for the cgroup to freeze")

    def _set_unified(self, res: dict[str, str] | None) -> None:
        for k, v in (res or {}).items():
            check_file_name(f"linux.resources.unified[{k!r}]", k)
            try:
                self.fs.write(self.dir, k, v)
            except CgroupFileError as exc:
                if exc.errno in (_errno.EPERM, _errno.EACCES, _errno.ENOENT):
                    ctrl, dot, _ = k.partition(".")
                    if not dot:
                        raise CgroupError(f'unified resource "{k}" must be in the form '
                                          f"CONTROLLER.PARAMETER") from None
                    if ctrl not in (self._controllers or set()) and ctrl != "cgroup":
                        raise CgroupError(f'unified resource "{k}" can\'t be set: controller '
                                          f'"{ctrl}" not available') from None
                raise CgroupError(f'unable to set unified resource "{k}": {exc}') from None

    # --- freezer --------------------------------------------------------------------------------

    def freeze(self) -> None:
        self._set_freezer(FROZEN)
        self.resources.freezer = FROZEN

    def thaw(self) -> None:
        self._set_freezer(THAWED)
        self.resources.freezer = THAWED

    def freezer_state(self) -> str:
        try:
            fd = self.fs.open(self.dir, "cgroup.freeze", os.O_RDONLY)
        except CgroupFileError as exc:
            if exc.errno in (_errno.ENOENT, _errno.ENODEV):
                return UNDEFINED
            raise
        try:
            return self._read_freezer(fd)
        finally:
            os.close(fd)

    # --- queries ----------------------------------------------------------------------------------

    def pids(self, recursive: bool = True) -> list[int]:
        if recursive:
            return get_all_pids(self.fs, self.dir)
        return read_procs(self.fs, self.dir)

    def exists(self) -> bool:
        return os.path.exists(self.dir)

    def destroy(self) -> None:
        try:
            remove_path(self.dir)
        except OSError as exc:
            raise CgroupError(f"rmdir {self.dir}: {strerror(exc.errno or _errno.EIO)}") from None

    def oom_kill_count(self) -> int:
        try:
            return self.fs.value_by_key(self.dir, "memory.events", "oom_kill")
        except CgroupFileError as exc:
            if self.rootless and exc.errno == _errno.ENOENT:
                return 0
            raise

    def oom_notifier(self) -> OOMNotifier:
        return OOMNotifierV2(self.dir, self.fs)

    def stats(self) -> dict[str, Any]:
        return S.events_data(self.raw_stats())

    def raw_stats(self) -> S.CgroupStats:
        """runc's ``fs2.GetStats``: every stat that can be read; errors are collected."""
        st = S.CgroupStats()
        errs: list[str] = []
        for fn in (self._stat_pids, self._stat_memory, self._stat_io, self._stat_cpu,
                   self._stat_hugetlb, self._stat_rdma):
            try:
                fn(st)
            except CgroupFileError as exc:
                if exc.errno != _errno.ENOENT or fn == self._stat_pids:
                    errs.append(str(exc))
            except CgroupError as exc:
                errs.append(str(exc))
        if errs and not self.rootless:
            raise CgroupError(f"error while statting cgroup v2: [{' '.join(errs)}]")
        return st

    def _stat_pids(self, st: S.CgroupStats) -> None:
        try:
            current = self.fs.param_uint(self.dir, "pids.current")
        except CgroupFileError as exc:
            if exc.errno != _errno.ENOENT:
                raise
            # pids controller not enabled: count cgroup.procs (or cgroup.threads).
            try:
                text = self.fs.read(self.dir, "cgroup.procs")
            except CgroupFileError as exc2:
                if exc2.errno != _errno.ENOTSUP:
                    raise
                text = self.fs.read(self.dir, "cgroup.threads")
            st.pids_current, st.pids_limit = text.count("\n"), 0
            return
        limit = self.fs.param_uint(self.dir, "pids.max")
        st.pids_current = current
        st.pids_limit = 0 if limit == 2**64 - 1 else limit

    def _stat_memory(self, st: S.CgroupStats) -> None:
        text = self.fs.read(self.dir, "memory.stat")
        for line in text.splitlines():
            try:
                k, v = parse_key_value(line)
            except ValueError as exc:
                raise CgroupError(f"unable to parse {self.dir}/memory.stat: {exc}") from None
            st.memory_raw[k] = v
        st.memory_cache = st.memory_raw.get("file", 0)
        st.memory_use_hierarchy = True
        st.memory_usage = self._memory_data("")
        swap = self._memory_data("swap")
        # v1 reports memory+swap; so does runc on v2.
        swap.usage += st.memory_usage.usage
        if swap.limit != 2**64 - 1:
            swap.limit += st.memory_usage.limit
        st.memory_swap = swap

    def _memory_data(self, name: str) -> S.MemoryData:
        prefix = "memory." + name if name else "memory"
        try:
            usage = self.fs.param_uint(self.dir, prefix + ".current")
        except CgroupFileError as exc:
            if name and exc.errno == _errno.ENOENT:
                return S.MemoryData()
            raise
        return S.MemoryData(usage=usage, limit=self.fs.param_uint(self.dir, prefix + ".max"))

    def _stat_io(self, st: S.CgroupStats) -> None:
        text = self.fs.read(self.dir, "io.stat")
        read_bytes: list[S.BlkioEntry] = []
        serviced: list[S.BlkioEntry] = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            dev = parts[0].split(":")
            if len(dev) != 2:
                continue
            major, minor = int(dev[0]), int(dev[1])
            for item in parts[1:]:
                k, eq, v = item.partition("=")
                if not eq:
                    continue
                table = {"rbytes": (read_bytes, "Read"), "wbytes": (read_bytes, "Write"),
                         "rios": (serviced, "Read"), "wios": (serviced, "Write")}.get(k)
                if table is None:
                    continue
                table[0].append(S.BlkioEntry(major, minor, table[1], int(v)))
        st.blkio = {}
        if read_bytes:
            st.blkio["io_service_bytes_recursive"] = read_bytes
        if serviced:
            st.blkio["io_serviced_recursive"] = serviced

    def _stat_cpu(self, st: S.CgroupStats) -> None:
        text = self.fs.read(self.dir, "cpu.stat")
        for line in text.splitlines():
            try:
                k, v = parse_key_value(line)
            except ValueError as exc:
                raise CgroupError(f"unable to parse {self.dir}/cpu.stat: {exc}") from None
            if k == "usage_usec":
                st.cpu_total = v * 1000
            elif k == "user_usec":
                st.cpu_user = v * 1000
            elif k == "system_usec":
                st.cpu_kernel = v * 1000
            elif k == "nr_periods":
                st.throttling_periods = v
            elif k == "nr_throttled":
                st.throttled_periods = v
            elif k == "throttled_usec":
                st.throttled_time = v * 1000

    def _stat_hugetlb(self, st: S.CgroupStats) -> None:
        sizes = (huge_page_sizes(self.hugepages_dir) if self.hugepages_dir
                 else huge_page_sizes())
        for size in sizes:
            usage = self.fs.param_uint(self.dir, f"hugetlb.{size}.current")
            failcnt = self.fs.value_by_key(self.dir, f"hugetlb.{size}.events", "max")
            st.hugetlb[size] = S.MemoryData(usage=usage, failcnt=failcnt)

    def _stat_rdma(self, st: S.CgroupStats) -> None:
        rdma_stats(self.fs, self.dir, st)
