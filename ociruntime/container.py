"""The light lifecycle operations (runtime.md#operations): start, state, kill, delete, list.

Each verb loads the saved state, derives the status, checks that the operation is allowed
in it, acts, and saves. ``create`` is the long path and has its own module, create.py.
These run on every engine call, so this module imports little (not even ``os``: cli.py
says why).
"""

from __future__ import annotations

import posix
import time

from ociruntime import fastjson as json
from ociruntime import state
from ociruntime.errors import (
    ContainerNotFound,
    ContainerNotRunning,
    HookError,
    InvalidStatus,
    OCIRuntimeError,
)
from ociruntime.signals import SIGKILL

TYPE_CHECKING = False  # typing costs ~3 ms to import; this module is on every call
if TYPE_CHECKING:
    from typing import Any

    from ociruntime.log import Logger


def load(root: str, container_id: str) -> tuple[dict[str, Any], str, str]:
    state.check_id(container_id)
    saved = state.load(root, container_id)
    state_dir = f"{root}/{container_id}"
    return saved, state_dir, state.status(saved, state_dir)


def get_saved(root: str, container_id: str) -> dict[str, Any]:
    """The saved state (with the config) of a container that exists."""
    return load(root, container_id)[0]


def get_state(root: str, container_id: str) -> dict[str, Any]:
    """The runtime-spec state of a container (runtime.md#query-state)."""
    saved, _, st = load(root, container_id)
    return state.oci_state(saved, st)


def start(root: str, container_id: str, log: Logger) -> None:
    """Release the init from the exec fifo so it execs the user process (runtime.md#start)."""
    saved, state_dir, st = load(root, container_id)
    if st == state.STOPPED:
        raise InvalidStatus("cannot start a container that has stopped")
    if st == state.RUNNING:
        raise InvalidStatus("cannot start an already running container")
    if st == state.PAUSED:
        raise InvalidStatus("cannot start a container in the paused state")
    import select  # only start polls, and it is a shared library to load

    fifo = f"{state_dir}/{state.EXEC_FIFO}"
    try:
        fd = posix.open(fifo, posix.O_RDONLY | posix.O_NONBLOCK | posix.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidStatus("cannot start an already running container") from None
    try:
        data = b""
        while True:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    data = posix.read(fd, 16)
                except BlockingIOError:
                    data = b""
                if data:
                    break
            if not state.lexists(fifo):
                # A concurrent `start` took the byte and removed the fifo.
                raise InvalidStatus("cannot start an already running container")
            if not state.init_alive(saved):
                try:
                    data = posix.read(fd, 16)
                except BlockingIOError:
                    data = b""
                if not data:
                    raise InvalidStatus("container process is already dead")
                break
        post = None
        failure = b""
        if data:
            posix.unlink(fifo)
            all_hooks = saved.get("config", {}).get("hooks") or {}
            post = all_hooks.get("poststart")
            if post or all_hooks.get("startContainer"):
                # The init's end of the fifo closes at its execve: that EOF means the user
                # process has started (poststart runs after it, runtime.md lifecycle 8);
                # text before it is a startContainer hook or exec failure.
                failure = _read_until_eof(fd, saved)
    finally:
        posix.close(fd)
    if not data:
        raise InvalidStatus("cannot start an already running container")
    if failure:
        # The container is stopped and destroyed, poststop included (lifecycle 7, 12, 13).
        try:
            delete(root, container_id, True, log)
        except OCIRuntimeError as exc:
            log.warning(f"destroy after a failed start: {exc}")
        text = failure[1:] if failure.startswith(b"E") else failure
        raise HookError(text.decode("utf-8", "replace"))
    # A failing poststart hook is only a warning and the others still run (config.md).
    if post:
        from ociruntime import hooks

        hooks.run_hooks_warn(post, state.hook_state(saved, "running", int(saved["pid"])),
                             lambda m: log.warning(f"poststart hook: {m}"),
                             saved.get("bundle"))


def _read_until_eof(fd: int, saved: dict[str, Any]) -> bytes:
    """Read the fifo until no writer holds it (the init exec'd or died); what it said."""
    got = b""
    while True:
        try:
            chunk = posix.read(fd, 4096)
            if chunk == b"":
                return got
            got += chunk
            continue
        except BlockingIOError:
            pass
        if not state.init_alive(saved):
            try:
                got += posix.read(fd, 4096)
            except BlockingIOError:
                pass
            return got
        time.sleep(0.002)


def cgroup_manager(saved: dict[str, Any]) -> Any:
    """The container's cgroup manager, rebuilt from its saved state (None if it has none)."""
    paths = saved.get("cgroup_paths")
    if not paths:
        return None
    from ociruntime import cgroups

    cfg = saved.get("config") or {}
    lx = cfg.get("linux") or {}
    c = saved.get("cgroup") or {}
    return cgroups.load_manager(
        paths, container_id=saved["id"], cgroups_path=lx.get("cgroupsPath"),
        resources=saved.get("resources", lx.get("resources")), systemd=bool(c.get("systemd")),
        rootless=bool(c.get("rootless")), linux_devices=lx.get("devices"),
        annotations=cfg.get("annotations"),
    )


def _private_pidns(saved: dict[str, Any]) -> bool:
    """Does the container have a pid namespace of its own (new, not joined by path)?"""
    for ns in ((saved.get("config") or {}).get("linux") or {}).get("namespaces") or []:
        if ns.get("type") == "pid":
            return not ns.get("path")
    return False


def kill(root: str, container_id: str, sig: int, all_procs: bool = False) -> None:
    """Send ``sig`` to the init (runtime.md#kill), or to every process with ``--all``."""
    saved, _, st = load(root, container_id)
    if all_procs:
        mgr = cgroup_manager(saved)
        if st == state.STOPPED and (mgr is None or not mgr.exists()):
            return
        if mgr is not None:
            # Freeze, signal every pid in the cgroup, thaw (runc signalAllProcesses).
            mgr.signal_all(sig)
            return
    if st == state.STOPPED:
        raise ContainerNotRunning()
    try:
        posix.kill(int(saved["pid"]), sig)
    except ProcessLookupError:
        raise ContainerNotRunning() from None
    if sig == SIGKILL and st == state.PAUSED:
        mgr = cgroup_manager(saved)
        if mgr is not None:
            mgr.thaw()  # a frozen process can not die until it is thawed


def pause(root: str, container_id: str) -> None:
    """Freeze every process of the container (v1 freezer, v2 cgroup.freeze)."""
    saved, _, st = load(root, container_id)
    if st not in (state.RUNNING, state.CREATED):
        raise ContainerNotRunning()
    mgr = cgroup_manager(saved)
    if mgr is None:
        raise OCIRuntimeError("container has no cgroup to freeze")
    mgr.freeze()


def resume(root: str, container_id: str) -> None:
    """Thaw a paused container."""
    saved, _, st = load(root, container_id)
    if st != state.PAUSED:
        raise InvalidStatus("container not paused")
    mgr = cgroup_manager(saved)
    if mgr is not None:
        mgr.thaw()


def update(root: str, container_id: str, flags: dict[str, Any]) -> None:
    """``update``: merge the flags (or ``--resources``) into the limits, apply, save."""
    from ociruntime import cgroups

    saved, state_dir, st = load(root, container_id)
    if st == state.STOPPED:
        raise ContainerNotRunning()
    mgr = cgroup_manager(saved)
    if mgr is None:
        raise OCIRuntimeError("container has no cgroup to update")
    cgroups.check_intel_rdt(flags)
    lx = (saved.get("config") or {}).get("linux") or {}
    old = saved.get("resources", lx.get("resources")) or {}
    new = cgroups.update_resources(old, flags)
    try:
        mgr.set(new, skip_devices=True)
    except Exception:
        mgr.set(old, skip_devices=True)  # runc re-applies the previous limits
        raise
    saved["resources"] = new
    state.save(state_dir, saved)


def events(root: str, container_id: str, interval: float, stats_only: bool,
           emit: Any, log: Logger) -> None:
    """``events``: one stats record (``--stats``), or stats every interval plus OOM events."""
    from ociruntime import cgroups

    saved, _, st = load(root, container_id)
    if st == state.STOPPED:
        raise OCIRuntimeError(f"container with id {container_id} is not running")
    mgr = cgroup_manager(saved)
    if mgr is None:
        raise OCIRuntimeError(f"container with id {container_id} has no cgroup")
    if stats_only:
        emit(cgroups.format_event("stats", container_id, mgr.stats()))
        return
    if interval <= 0:
        raise OCIRuntimeError("duration interval must be greater than 0")
    import gc

    gc.enable()  # a watch can last for days (cli.run starts with the collector off)
    cgroups.watch_events(mgr, container_id, interval, emit, log.warning)


def ps(root: str, container_id: str, fmt: str, ps_args: list[str]) -> str:
    """``ps``: the container's processes as a JSON array or the host's ps table."""
    from ociruntime import cgroups

    saved, _, st = load(root, container_id)
    mgr = cgroup_manager(saved)
    pids = mgr.pids() if mgr is not None and mgr.exists() else []
    if fmt == "json":
        return str(cgroups.ps_json(pids))
    if fmt != "table":
        raise OCIRuntimeError(f"invalid format option {fmt!r}")
    return str(cgroups.ps_table(pids, ps_args))


def _wait_gone(saved: dict[str, Any], timeout: float = 10.0) -> bool:
    """Wait until the init has exited (a zombie counts), up to ``timeout`` seconds.

    A pidfd becomes readable the moment the process exits, so there is no polling delay
    after the SIGKILL. It is opened before the identity check (pid and start time): if
    that still finds our init alive, the pidfd is the init's, whatever happens after.
    Without one (an old kernel) the status is polled every 5 ms.
    """
    import select

    deadline = time.monotonic() + timeout
    pid = int(saved["pid"])
    try:
        pidfd = posix.pidfd_open(pid)
    except OSError:
        pidfd = -1
    try:
        while time.monotonic() < deadline:
            if not state.init_alive(saved):
                return True
            try:
                posix.waitpid(pid, posix.WNOHANG)  # ours to reap after a foreground run
            except ChildProcessError:
                pass
            if pidfd >= 0:
                select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
                posix.close(pidfd)
                pidfd = -1
            else:
                time.sleep(0.005)
        return not state.init_alive(saved)
    finally:
        if pidfd >= 0:
            posix.close(pidfd)


def destroy(saved: dict[str, Any], state_dir: str, log: Logger, mgr: Any = None) -> None:
    """Remove what the container owned, then run the poststop hooks (config.md#poststop)."""
    if mgr is not None:
        mgr.destroy()
    state.remove_dir(state_dir)
    post = (saved.get("config", {}).get("hooks") or {}).get("poststop")
    if post:
        from ociruntime import hooks

        hooks.run_hooks_warn(post, state.hook_state(saved, "stopped", None),
                             lambda m: log.warning(f"poststop hook: {m}"),
                             saved.get("bundle"))


def delete(root: str, container_id: str, force: bool, log: Logger) -> None:
    """Delete a stopped container; ``--force`` kills a live one first (runtime.md#delete)."""
    state.check_id(container_id)
    state_dir = f"{root}/{container_id}"
    try:
        saved = state.load(root, container_id)
    except ContainerNotFound:
        # A create that died half-way leaves a directory without state.json, perhaps with
        # the processes and cgroups it had made by then (creating.json).
        if state.isdir(state_dir):
            _destroy_partial(state_dir, log)
            state.remove_dir(state_dir)
        if force:
            return
        raise
    st = state.status(saved, state_dir)
    if st in (state.RUNNING, state.PAUSED) and not force:
        raise InvalidStatus(f"cannot delete container {container_id} that is not stopped: {st}")
    # The common case (own pid namespace, cgroupfs driver, not paused) only has to rmdir
    # the saved cgroup paths: the driver is loaded only when more is needed.
    light = (_private_pidns(saved) and st != state.PAUSED
             and not (saved.get("cgroup") or {}).get("systemd"))
    mgr = None if light else cgroup_manager(saved)
    if st != state.STOPPED:
        # created containers are always killed (runc); running/paused only with --force.
        try:
            posix.kill(int(saved["pid"]), SIGKILL)
        except ProcessLookupError:
            pass
        if st == state.PAUSED and mgr is not None:
            mgr.thaw()
        if not _wait_gone(saved):
            raise OCIRuntimeError("container init still running")
    if mgr is not None and mgr.exists() and not _private_pidns(saved):
        # Without a pid namespace of its own, the init's death does not take the other
        # processes with it: kill everything left in the cgroup (runc destroy()).
        mgr.signal_all(SIGKILL)
    if light and saved.get("cgroup_paths"):
        from ociruntime.cgroups_remove import remove_paths

        remove_paths(saved["cgroup_paths"])
    destroy(saved, state_dir, log, mgr)


def _destroy_partial(state_dir: str, log: Logger) -> None:
    try:
        with open(f"{state_dir}/{state.PARTIAL_FILE}", "rb") as f:
            partial = json.loads(f.read())
    except (OSError, ValueError):
        return
    # The pid alone is not trusted (no start time yet: it may have been reused); the init
    # and the intermediate were born in the container's cgroups, so those are emptied.
    try:
        mgr = cgroup_manager(partial)
        if mgr is not None and mgr.exists():
            mgr.signal_all(SIGKILL)
            mgr.destroy()
    except OCIRuntimeError as exc:
        log.warning(f"cleaning up a half-created container: {exc}")


def list_containers(root: str) -> list[dict[str, Any]]:
    """Every container under ``root`` with its status and owner, sorted by id."""
    import pwd

    out = []
    for cid in state.list_ids(root):
        state_dir = f"{root}/{cid}"
        try:
            saved = state.load(root, cid)
        except ContainerNotFound:
            continue
        st = state.status(saved, state_dir)
        item = state.oci_state(saved, st)
        try:
            uid = posix.stat(state_dir).st_uid
            try:
                item["owner"] = pwd.getpwuid(uid).pw_name
            except KeyError:
                item["owner"] = f"#{uid}"
        except OSError:
            item["owner"] = ""
        out.append(item)
    return out
