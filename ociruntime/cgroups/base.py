"""The one interface every cgroup driver implements (runc's ``cgroups.Manager``), the
parts the drivers share (``signal_all``), and OOM notification."""

from __future__ import annotations

import errno as _errno
import os
from abc import ABC, abstractmethod

from ociruntime import ffi
from ociruntime import linux as L
from ociruntime.errors import CgroupError

from .common import THAWED, CgroupFS
from .resources import DeviceRule, Resources

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

PR_GET_CHILD_SUBREAPER = 37


class Manager(ABC):
    """A container's cgroup(s) in one hierarchy kind.

    Lifecycle, as runc drives it: ``apply(pid)`` right after the init is forked (creates
    the directories and moves the pid in, so the init is born limited); ``set()`` once the
    mounts are done (writes every ``linux.resources`` field); ``paths()`` goes into the
    state; ``load_manager(paths)`` rebuilds it for later commands; ``destroy()`` removes the
    directories at ``delete``. Errors are ``CgroupError`` with runc's wording.
    """

    #: "fs" (cgroup v1 files), "fs2" (v2 files), "systemd" (either, through systemd)
    driver: str = ""
    #: "v1" or "v2": which controller files this manager writes
    version: str = ""

    def __init__(self, resources: Resources, *, fs: CgroupFS, rootless: bool,
                 default_devices: list[DeviceRule] | None) -> None:
        self.resources = resources
        self.fs = fs
        self.rootless = rootless
        self.default_devices = default_devices
        #: warnings for the caller's log (runc logs them with logrus.Warn)
        self.warnings: list[str] = list(resources.warnings)
        #: every directory ``apply`` created, outermost first (runc never removes parents
        #: it created for a multi-level cgroupsPath; ``destroy`` does not either)
        self.created_dirs: list[str] = []

    def to_resources(self, resources: dict[str, Any] | Resources | None,
                     skip_devices: bool = False) -> Resources:
        """OCI ``linux.resources`` (or a ``Resources``) -> ``Resources``; None = current."""
        if resources is None and not skip_devices:
            r = self.resources  # drivers only read it; set() stores it back unchanged
        elif resources is None:
            r = self.resources.copy()
        elif isinstance(resources, Resources):
            r = resources.copy()
        else:
            r = Resources.from_oci(resources, default_devices=self.default_devices)
            self.warnings.extend(r.warnings)
        if skip_devices:
            r.skip_devices = True
        return r

    @abstractmethod
    def apply(self, pid: int) -> None:
        """Create the cgroup directories and move ``pid`` in (-1: create only)."""

    def self_join_dirs(self) -> list[tuple[str, bool]] | None:
        """After ``apply(-1)``: the directories the new process joins by itself (see
        ``process.join_cgroups_self``), each with whether a failure is ignored; None when
        the runtime must ``apply(pid)`` instead.

        Why: moving another process (``cgroup.procs``, or any pid but 0) takes the
        kernel's global threadgroup lock, whose write side waits for an RCU grace period
        (~15 ms on this kind of host); a single-threaded process writing ``0`` to a v1
        ``tasks`` file moves only itself and skips that lock (cgroup_procs_write_start).
        """
        return None

    def birth_dir(self) -> str | None:
        """After ``apply(-1)``: the cgroup2 directory among ``self_join_dirs()`` that a new
        process can be born in instead (``linux.clone_fork``), or None."""
        return None

    @abstractmethod
    def set(self, resources: dict[str, Any] | Resources | None = None, *,
            skip_devices: bool = False) -> None:
        """Write every resource (OCI ``linux.resources`` dict; None = the manager's own).

        ``skip_devices=True`` leaves device rules alone, as ``runc update`` does.
        """

    @abstractmethod
    def paths(self) -> dict[str, str]:
        """Controller -> absolute directory (``""`` is the unified hierarchy), for the state."""

    def path(self, subsystem: str) -> str:
        return self.paths().get(subsystem, "")

    @abstractmethod
    def freeze(self) -> None:
        """Freeze every process (v1 ``freezer.state`` polled until FROZEN; v2 ``cgroup.freeze``)."""

    @abstractmethod
    def thaw(self) -> None:
        """Thaw the cgroup."""

    @abstractmethod
    def freezer_state(self) -> str:
        """``FROZEN``, ``THAWED`` or ``""`` (no freezer); a cgroup frozen only through an
        ancestor reads THAWED, as in runc."""

    @abstractmethod
    def pids(self, recursive: bool = True) -> list[int]:
        """Pids in the container's cgroup (v1: the devices hierarchy, as runc), with
        ``recursive`` those of sub-cgroups too (runc's ``GetAllPids``)."""

    @abstractmethod
    def destroy(self) -> None:
        """Remove every directory, sub-cgroups first, with runc's retries; kills nothing."""

    @abstractmethod
    def exists(self) -> bool:
        """Does the container's cgroup still exist (v1: its devices cgroup)?"""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """The ``data`` object of ``runc events --stats``."""

    @abstractmethod
    def oom_kill_count(self) -> int:
        """How many processes the OOM killer killed in the cgroup."""

    @abstractmethod
    def oom_notifier(self) -> OOMNotifier:
        """A pollable source of OOM events for ``events``."""

    def signal_all(self, sig: int, reap: bool = True) -> None:
        """runc's ``signalAllProcesses``: freeze, signal every pid, thaw.

        Freezing first means no process can fork a new one we would miss. Failures to
        freeze or signal one process are warnings, as in runc. With ``reap``, processes
        that are our children are then waited for (after SIGKILL always, otherwise only
        those already exited), unless we are a child subreaper, whose caller reaps.
        """
        try:
            self.freeze()
        except CgroupError as exc:
            self.warnings.append(str(exc))
        try:
            pids = self.pids(recursive=True)
        except CgroupError:
            try:
                self.thaw()
            except CgroupError as exc:
                self.warnings.append(str(exc))
            raise
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
            except OSError as exc:
                self.warnings.append(f"signal {pid}: {os.strerror(exc.errno or 0).lower()}")
        try:
            self.thaw()
        except CgroupError as exc:
            self.warnings.append(str(exc))
        if not reap or _is_subreaper():
            return
        for pid in pids:
            if sig != 9 and not _waitable(pid):  # SIGKILL: no need to look
                continue
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                continue
            except OSError as exc:
                self.warnings.append(f"wait: {exc}")

    def thaw_if_frozen(self) -> None:
        if self.freezer_state() != THAWED:
            self.thaw()


def _is_subreaper() -> bool:
    val = ffi.c_int(0)
    try:
        L.prctl(PR_GET_CHILD_SUBREAPER, ffi.addressof(val))
    except OSError:
        return False
    return val.value != 0


def _waitable(pid: int) -> bool:
    try:
        res = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
    except ChildProcessError:
        return False
    return res is not None


# --- OOM notification -------------------------------------------------------------------------


class OOMNotifier(ABC):
    """OOM events of one cgroup, for ``runc events``.

    ``fileno()`` can go into select/poll; ``read()`` returns how many OOM events arrived
    (0 when the wake-up was not an OOM), or None once the cgroup is gone (or, on v2, has
    no process left) and the notifier is finished.
    """

    @abstractmethod
    def fileno(self) -> int: ...

    @abstractmethod
    def read(self) -> int | None: ...

    @abstractmethod
    def close(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds; 0 if nothing happened."""
        import select  # events only

        ready, _, _ = select.select([self.fileno()], [], [], timeout)
        if not ready:
            return 0
        return self.read()

    def __enter__(self) -> OOMNotifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OOMNotifierV1(OOMNotifier):
    """runc's ``notifyOnOOM``: an eventfd registered on ``memory.oom_control`` through
    ``cgroup.event_control``; the kernel also signals it when the cgroup is removed."""

    def __init__(self, memory_dir: str) -> None:
        if not memory_dir:
            raise CgroupError("memory controller missing")
        self.dir = memory_dir
        self._control = os.path.join(memory_dir, "cgroup.event_control")
        try:
            self._ev = os.open(os.path.join(memory_dir, "memory.oom_control"),
                               os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise CgroupError(f"open {memory_dir}/memory.oom_control: "
                              f"{os.strerror(exc.errno or 0).lower()}") from None
        self._efd = os.eventfd(0, os.EFD_CLOEXEC)
        try:
            with open(self._control, "w") as f:
                f.write(f"{self._efd} {self._ev} ")
        except OSError as exc:
            self.close()
            raise CgroupError(f"open {self._control}: "
                              f"{os.strerror(exc.errno or 0).lower()}") from None

    def fileno(self) -> int:
        return self._efd

    def read(self) -> int | None:
        if self._efd < 0:
            return None
        try:
            n = os.eventfd_read(self._efd)
        except OSError:
            self.close()
            return None
        if not os.path.lexists(self._control):
            self.close()
            return None
        return int(n)

    def close(self) -> None:
        for attr in ("_efd", "_ev"):
            fd = getattr(self, attr, -1)
            if fd >= 0:
                os.close(fd)
                setattr(self, attr, -1)


class OOMNotifierV2(OOMNotifier):
    """runc's ``notifyOnOOMV2``: inotify on ``memory.events`` (an OOM kill bumps
    ``oom_kill``) and ``cgroup.events`` (``populated 0`` ends it). Unlike runc, which
    reports every change of memory.events once an OOM kill happened, only increases of
    ``oom_kill`` count."""

    def __init__(self, directory: str, fs: CgroupFS) -> None:
        self.dir = directory
        self.fs = fs
        self._fd = L.inotify_init1(L.IN_CLOEXEC)
        try:
            self._ev = L.inotify_add_watch(self._fd, os.path.join(directory, "memory.events"),
                                           L.IN_MODIFY)
            self._cg = L.inotify_add_watch(self._fd, os.path.join(directory, "cgroup.events"),
                                           L.IN_MODIFY)
        except OSError as exc:
            os.close(self._fd)
            self._fd = -1
            raise CgroupError(f"unable to add inotify watch: "
                              f"{os.strerror(exc.errno or 0).lower()}") from None
        self._last = self._count()

    def _count(self) -> int:
        try:
            return self.fs.value_by_key(self.dir, "memory.events", "oom_kill")
        except CgroupError:
            return 0

    def fileno(self) -> int:
        return self._fd

    def read(self) -> int | None:
        if self._fd < 0:
            return None
        try:
            buf = os.read(self._fd, 4096)
        except OSError as exc:
            if exc.errno == _errno.EAGAIN:
                return 0
            self.close()
            return None
        import struct  # events only

        events = 0
        off = 0
        while off + 16 <= len(buf):
            wd, mask, _cookie, length = struct.unpack_from("iIII", buf, off)
            off += 16 + length
            if not mask & L.IN_MODIFY:
                continue
            if wd == self._ev:
                now = self._count()
                if now > self._last:
                    events += now - self._last
                self._last = now
            elif wd == self._cg:
                try:
                    populated = self.fs.value_by_key(self.dir, "cgroup.events", "populated")
                except CgroupError:
                    populated = 0
                if populated == 0:
                    self.close()
                    return events or None
        return events

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
