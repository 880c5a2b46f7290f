"""The light lifecycle operations (runtime.md#operations): start, state, kill, delete, list.

Each verb loads the saved state, derives the status, checks that the operation is allowed
in it, acts, and saves. ``create`` is the long path and has its own module, create.py.
These run on every engine call, so this module imports little.
"""

from __future__ import annotations

import os
import select
import time

from ociruntime import SPEC_VERSION, state
from ociruntime import fastjson as json
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


def hook_state(saved: dict[str, Any], status: str, pid: int | None) -> bytes:
    """The state JSON a hook gets on stdin (runtime.md#state; no pid once stopped)."""
    out: dict[str, Any] = {"ociVersion": SPEC_VERSION, "id": saved["id"], "status": status}
    if pid is not None:
        out["pid"] = pid
    out["bundle"] = saved["bundle"]
    if saved.get("annotations"):
        out["annotations"] = saved["annotations"]
    return json.dumps(out).encode()


def write_pid_file(path: str, pid: int) -> None:
    """Digits only, no newline, atomically (go-runc parses it without trimming)."""
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, "." + os.path.basename(path))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        os.write(fd, str(pid).encode())
    finally:
        os.close(fd)
    os.rename(tmp, path)


def load(root: str, container_id: str) -> tuple[dict[str, Any], str, str]:
    state.check_id(container_id)
    saved = state.load(root, container_id)
    state_dir = os.path.join(root, container_id)
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
    fifo = os.path.join(state_dir, state.EXEC_FIFO)
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidStatus("cannot start an already running container") from None
    try:
        data = b""
        while True:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(fd, 16)
                except BlockingIOError:
                    data = b""
                if data:
                    break
            if not os.path.lexists(fifo):
                # A concurrent `start` took the byte and removed the fifo.
                raise InvalidStatus("cannot start an already running container")
            if not state.init_alive(saved):
                try:
                    data = os.read(fd, 16)
                except BlockingIOError:
                    data = b""
                if not data:
                    raise InvalidStatus("container process is already dead")
                break
    finally:
        os.close(fd)
    if not data:
        raise InvalidStatus("cannot start an already running container")
    os.unlink(fifo)
    # poststart hooks run after the user process is started, before `start` returns
    # (config.md#poststart). A failing poststart hook is only a warning (config.md).
    post = (saved.get("config", {}).get("hooks") or {}).get("poststart")
    if post:
        try:
            from ociruntime import hooks

            hooks.run_hooks(post, hook_state(saved, "running", int(saved["pid"])))
        except HookError as exc:
            log.warning(f"poststart hook: {exc}")


def _pidns_members(init_pid: int) -> list[int]:
    """Every process in the init's pid namespace (for ``kill --all`` without cgroups)."""
    try:
        target = os.readlink(f"/proc/{init_pid}/ns/pid")
    except OSError:
        return []
    if target == os.readlink("/proc/self/ns/pid"):
        return [init_pid]
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/pid") == target:
                    out.append(int(name))
            except OSError:
                continue
    return out


def kill(root: str, container_id: str, sig: int, all_procs: bool = False) -> None:
    """Send ``sig`` to the init (runtime.md#kill), or to every process with ``--all``."""
    saved, _, st = load(root, container_id)
    if st == state.STOPPED:
        if all_procs:
            return
        raise ContainerNotRunning()
    pid = int(saved["pid"])
    targets = _pidns_members(pid) if all_procs else [pid]
    for p in targets:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            if p == pid and not all_procs:
                raise ContainerNotRunning() from None


def _wait_gone(saved: dict[str, Any], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not state.init_alive(saved):
            return True
        try:
            os.waitpid(int(saved["pid"]), os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.005)
    return not state.init_alive(saved)


def destroy(saved: dict[str, Any], state_dir: str, log: Logger) -> None:
    """Remove what the container owned, then run the poststop hooks (config.md#poststop)."""
    state.remove_dir(state_dir)
    post = (saved.get("config", {}).get("hooks") or {}).get("poststop")
    if post:
        try:
            from ociruntime import hooks

            hooks.run_hooks(post, hook_state(saved, "stopped", None))
        except HookError as exc:
            log.warning(f"poststop hook: {exc}")


def delete(root: str, container_id: str, force: bool, log: Logger) -> None:
    """Delete a stopped container; ``--force`` kills a live one first (runtime.md#delete)."""
    state.check_id(container_id)
    state_dir = os.path.join(root, container_id)
    try:
        saved = state.load(root, container_id)
    except ContainerNotFound:
        # A create that died half-way leaves a directory without state.json.
        if os.path.isdir(state_dir):
            state.remove_dir(state_dir)
        if force:
            return
        raise
    st = state.status(saved, state_dir)
    if st in (state.RUNNING, state.PAUSED) and not force:
        raise InvalidStatus(f"cannot delete container {container_id} that is not stopped: {st}")
    if st != state.STOPPED:
        # created containers are always killed (runc); running/paused only with --force.
        try:
            os.kill(int(saved["pid"]), SIGKILL)
        except ProcessLookupError:
            pass
        if not _wait_gone(saved):
            raise OCIRuntimeError("container init still running")
    destroy(saved, state_dir, log)


def list_containers(root: str) -> list[dict[str, Any]]:
    """Every container under ``root`` with its status and owner, sorted by id."""
    import pwd

    out = []
    for cid in state.list_ids(root):
        state_dir = os.path.join(root, cid)
        try:
            saved = state.load(root, cid)
        except ContainerNotFound:
            continue
        st = state.status(saved, state_dir)
        item = state.oci_state(saved, st)
        try:
            uid = os.stat(state_dir).st_uid
            try:
                item["owner"] = pwd.getpwuid(uid).pw_name
            except KeyError:
                item["owner"] = f"#{uid}"
        except OSError:
            item["owner"] = ""
        out.append(item)
    return out
