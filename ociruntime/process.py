"""Starting the container's init: the runtime side of the channel protocol (see channel.py).

The runtime forks an intermediate process that enters or creates the namespaces, and the
intermediate forks the init, which becomes pid 1 of the new pid namespace (unshare(2) of
CLONE_NEWPID only applies to children). The runtime is a child subreaper, so when the
intermediate exits the init is re-parented to the runtime, and when the runtime exits, to
the caller's subreaper (conmon, the containerd shim): the same process tree runc makes
with CLONE_PARENT.

When the container only gets new namespaces (no joins, no user or time namespace), the
intermediate has nothing to do that the init cannot: the runtime clone3s the init
straight into them (``_spawn_direct``), as crun does, and saves a process.
"""

from __future__ import annotations

import gc
import os

from ociruntime import init as init_mod
from ociruntime import linux as L
from ociruntime import namespaces
from ociruntime.channel import (
    GO,
    MOUNTSOURCES,
    MOUNTSOURCES_DONE,
    PID,
    USERMAP,
    USERMAP_DONE,
    Channel,
)
from ociruntime.errors import CgroupError, InitError

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

if TYPE_CHECKING:
    ChildMain = Callable[[Any, Channel], NoReturn]


def join_cgroups_self(dirs: list[tuple[str, bool]]) -> None:
    """Move the calling (single-threaded) process into each cgroup directory by writing
    ``0`` to its v1 ``tasks`` file, or to ``cgroup.procs`` where there is none (cgroup2).

    The kernel moves another process (any pid but 0, or ``cgroup.procs``) only under its
    global threadgroup lock, whose write side waits for an RCU grace period (~15 ms per
    container here); a thread moving itself through ``tasks`` does not take it. A failure
    in a directory flagged True is ignored (runc's name=systemd and hybrid groups).
    """
    for directory, ignore in dirs:
        try:
            try:
                fd = os.open(directory + "/tasks", os.O_WRONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                fd = os.open(directory + "/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        except OSError as exc:
            if not ignore:
                raise CgroupError(f"unable to apply cgroup configuration: failed to join "
                                  f"{directory}: {(exc.strerror or str(exc)).lower()}") from None


def _first_steps(plan: Any, self_join: list[tuple[str, bool]] | None) -> None:
    """What the first process of a new container does before anything else: the
    intermediate, or the init itself when it is born in its namespaces (``_spawn_direct``)."""
    if self_join:
        # Before anything else, so every process forked from here is born inside.
        join_cgroups_self(self_join)
    # oom_score_adj is set before anything else so the init and its children inherit it.
    adj = (plan.config.get("process") or {}).get("oomScoreAdj")
    if adj is not None:
        with open("/proc/self/oom_score_adj", "wb") as f:
            f.write(str(int(adj)).encode())
    # Joining or creating namespaces must not leave the runtime's memory readable by the
    # container (ptrace, /proc/<pid>/mem, exe): non-dumpable before any setns.
    L.prctl(L.PR_SET_DUMPABLE, 0)


def _open_dir(path: str | None) -> int:
    """An fd of the cgroup2 directory to be born in, or -1 (none, or it cannot be opened:
    then the new process joins it by itself)."""
    if not path:
        return -1
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return -1


def _fork(born_in: str | None) -> tuple[int, bool]:
    """fork(2), into the cgroup2 directory ``born_in`` when given and the kernel can;
    returns (pid, whether the child was born there)."""
    fd = _open_dir(born_in)
    if fd >= 0:
        try:
            return L.clone_fork(cgroup_fd=fd), True
        except OSError:
            pass  # an old kernel or a cgroup that refuses: the child joins it by itself
        finally:
            os.close(fd)
    return os.fork(), False


def _intermediate(plan: Any, chan: Channel, child_main: ChildMain,
                  self_join: list[tuple[str, bool]] | None) -> NoReturn:
    """Stage C: cgroups, namespaces, then fork the init (or the exec'd process). Never
    returns."""
    gc.disable()
    try:
        chan.expect(GO)
        _first_steps(plan, self_join)
        ns = plan.ns
        namespaces.join_all(ns.join)
        if "user" in ns.new:
            L.unshare(L.CLONE_NEWUSER)
            chan.send(USERMAP)
            chan.expect(USERMAP_DONE)
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        flags = ns.unshare_flags
        if flags:
            L.unshare(flags)
        if getattr(plan, "mount_sources", None) is not None and "user" in ns.new \
                and "mount" in ns.new:
            # Container root may not be able to reach a bind source (a 0700 parent dir on
            # the host): the runtime, still host root, opens them for us inside our new
            # mount namespace (runc nsexec's send_mountsources).
            chan.send(MOUNTSOURCES)
            frame, fds = chan.expect_with_fds(MOUNTSOURCES_DONE)
            plan.mount_sources.update(zip(frame["indices"], fds, strict=True))
        if "time" in ns.new:
            offsets = (plan.config.get("linux") or {}).get("timeOffsets") or {}
            text = "".join(
                f"{clock} {int(o.get('secs', 0))} {int(o.get('nanosecs', 0))}\n"
                for clock, o in offsets.items()
            )
            if text:
                fd = os.open("/proc/self/timens_offsets", os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
        pid = os.fork()
        if pid == 0:
            child_main(plan, chan)
        chan.send(PID, pid=pid)
    except BaseException as exc:  # noqa: BLE001
        chan.send_error(init_mod.error_message(exc))
        os._exit(1)
    os._exit(0)


def write_id_maps(pid: int, linux: dict[str, Any]) -> None:
    """Write the intermediate's uid_map and gid_map (it cannot map itself beyond one id)."""
    base = f"/proc/{pid}"
    for name, key in (("uid_map", "uidMappings"), ("gid_map", "gidMappings")):
        data = namespaces.format_id_map(linux.get(key))
        if not data:
            continue
        fd = os.open(f"{base}/{name}", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, data)
        except OSError as exc:
            raise InitError(f"write {name} for {pid}: {exc.strerror}") from None
        finally:
            os.close(fd)


def send_mount_sources(pid: int, config: dict[str, Any], chan: Channel) -> None:
    """Open every bind-mount source inside ``pid``'s mount namespace, as host root, and send
    the ``O_PATH`` fds: a mount can only be bound from a mount in the caller's namespace."""
    from ociruntime import mounts as M

    cwd = os.getcwd()
    todo = []
    for i, entry in enumerate(config.get("mounts") or []):
        if M.parse(entry).is_bind:
            todo.append((i, os.path.join(cwd, entry.get("source") or "")))
    own = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    theirs = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    fds: list[int] = []
    try:
        L.setns(theirs, L.CLONE_NEWNS)
        try:
            for _, src in todo:
                try:
                    fds.append(os.open(src, os.O_PATH | os.O_CLOEXEC))
                except OSError as exc:
                    raise InitError(f"bind source {src}: {exc.strerror}") from None
        finally:
            L.setns(own, L.CLONE_NEWNS)
            os.chdir(cwd)  # setns moved us to the namespace's root
        chan.send_with_fds(MOUNTSOURCES_DONE, fds, indices=[i for i, _ in todo])
    finally:
        for fd in (own, theirs, *fds):
            os.close(fd)


def spawn(
    plan: Any,
    on_intermediate: Callable[[int], None] | None = None,
    child_main: ChildMain = init_mod.run_init,
    self_join: list[tuple[str, bool]] | None = None,
    born_in: str | None = None,
) -> tuple[int, Channel]:
    """Fork the intermediate, do its half of the protocol, return (init pid, channel).

    ``on_intermediate(pid)`` is called right after the fork, before the intermediate may
    go on: this is where the cgroup placement belongs, so every later process is born in
    the container's cgroup. ``self_join`` is the cheaper placement: cgroup directories the
    intermediate joins by itself first thing (``join_cgroups_self``); ``born_in``, one of
    them on cgroup2, is where it is forked straight into. On failure every process made
    here is killed and reaped.
    """
    parent_end, child_end = Channel.pair()
    # The runtime adopts the init when the intermediate exits.
    L.prctl(L.PR_SET_CHILD_SUBREAPER, 1)
    ns = plan.ns
    if on_intermediate is None and not ns.join and not {"user", "time"} & ns.new:
        # Only new namespaces, no user or time one (their ids and offsets must be written
        # between the unshare and the fork) and no placement by the runtime: the init can
        # be born in its namespaces, with no intermediate at all.
        direct = _spawn_direct(plan, parent_end, child_end, child_main, self_join, born_in)
        if direct:
            return direct, parent_end
    pid, born = _fork(born_in)
    if pid == 0:
        parent_end.close()
        if born and self_join:
            self_join = [(d, ignore) for d, ignore in self_join if d != born_in]
        _intermediate(plan, child_end, child_main, self_join)
    child_end.close()
    init_pid = 0
    try:
        if on_intermediate is not None:
            on_intermediate(pid)
        parent_end.send(GO)
        frame = parent_end.recv()
        if frame is not None and frame["type"] == USERMAP:
            write_id_maps(pid, plan.linux)
            parent_end.send(USERMAP_DONE)
            frame = parent_end.recv()
        if frame is not None and frame["type"] == MOUNTSOURCES:
            send_mount_sources(pid, plan.config, parent_end)
            frame = parent_end.recv()
        if frame is None:
            raise InitError("container init exited before it was started")
        if frame["type"] != PID:
            raise InitError(str(frame.get("message") or f"unexpected frame {frame['type']}"))
        init_pid = int(frame["pid"])
        _, status = os.waitpid(pid, 0)
        pid = 0
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            raise InitError("namespace setup process failed")
        parent_end.send(GO)
        return init_pid, parent_end
    except BaseException:
        for p in (init_pid, pid):
            if p:
                kill_and_reap(p)
        parent_end.close()
        raise


def _spawn_direct(plan: Any, parent_end: Channel, child_end: Channel, child_main: ChildMain,
                  self_join: list[tuple[str, bool]] | None, born_in: str | None) -> int:
    """clone3 the init straight into its new namespaces (and its cgroup2 cgroup), as crun
    does; returns its pid, or 0 when the kernel refuses (the caller then forks the
    intermediate). The init does the intermediate's first steps itself, then the init
    sequence, which starts by waiting for ``go``."""
    fd = _open_dir(born_in)
    try:
        try:
            pid = L.clone_fork(plan.ns.unshare_flags, fd)
        except OSError:
            return 0
    finally:
        if fd >= 0:
            os.close(fd)
    if pid == 0:
        parent_end.close()
        try:
            if fd >= 0 and self_join:
                self_join = [(d, ignore) for d, ignore in self_join if d != born_in]
            _first_steps(plan, self_join)
        except BaseException as exc:  # noqa: BLE001
            child_end.send_error(init_mod.error_message(exc))
            os._exit(1)
        child_main(plan, child_end)
    child_end.close()
    try:
        parent_end.send(GO)
    except BaseException:
        kill_and_reap(pid)
        parent_end.close()
        raise
    return pid


def kill_and_reap(pid: int) -> None:
    """SIGKILL a child of ours and reap it."""
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
