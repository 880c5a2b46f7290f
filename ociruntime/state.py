"""The state directory of a container and how its status is derived.

Layout (as runc's, ``<root>`` defaults to ``/run/ociruntime``)::

    <root>/                  0700
    <root>/<id>/             0711, claimed with an atomic mkdir by ``create``
    <root>/<id>/state.json   0600, replaced atomically (temp file + rename)
    <root>/<id>/exec.fifo    0622, exists only while the status is ``created``

``state.json`` is our own format (no caller reads it; they use the CLI). The status is never
stored: it is derived each time from the init process (its pid *and* its start time, so a
reused pid reads as stopped), the exec fifo and the freezer, in runc's order.
"""

from __future__ import annotations

import posix  # not os: the light commands never import it (cli.py says why)
from _stat import S_ISDIR

from ociruntime import SPEC_VERSION
from ociruntime import fastjson as json
from ociruntime.errors import ContainerExists, ContainerNotFound, EmptyIDError, InvalidIDError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATE_FILE = "state.json"
#: Written by ``create`` once processes and cgroups exist, before ``state.json``.
PARTIAL_FILE = "creating.json"
EXEC_FIFO = "exec.fifo"

CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"


_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+,-.")


def check_id(container_id: str) -> None:
    """runc's ``^[\\w+-\\.]+$`` (``+-\\.`` is a range: ``+ , - .``), not ``.`` or ``..``."""
    if not container_id:
        raise EmptyIDError()
    if container_id in (".", "..") or not _ID_CHARS.issuperset(container_id):
        raise InvalidIDError()


def default_root() -> str:
    """runc's rule: ``$XDG_RUNTIME_DIR/ociruntime`` for non-root, else ``/run/ociruntime``."""
    if posix.geteuid() == 0:
        return "/run/ociruntime"
    import os  # only a non-root caller without --root needs os.environ

    xdg = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(xdg, "ociruntime") if xdg else "/run/ociruntime"


def absolute(path: str) -> str:
    """``os.path.abspath(path)``. A path that is already absolute and normal, as engines
    pass ``--root``, is returned as it is, without importing ``os``."""
    if (path[:1] == "/" and path[-1:] != "/" and "//" not in path
            and {".", ".."}.isdisjoint(path.split("/"))):
        return path
    import os

    return os.path.abspath(path)


def lexists(path: str) -> bool:
    """``os.path.lexists``: does ``path`` exist (a dangling symlink counts)?"""
    try:
        posix.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def isdir(path: str) -> bool:
    """``os.path.isdir``: is ``path`` a directory (following symlinks)?"""
    try:
        return S_ISDIR(posix.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def ensure_root(root: str) -> str:
    """Create the state root (0700) if needed and return it as an absolute path."""
    root = absolute(root)
    try:
        posix.mkdir(root, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        import os

        os.makedirs(root, 0o700, exist_ok=True)
    return root


def claim(root: str, container_id: str) -> str:
    """Atomically create ``<root>/<id>``; a concurrent or earlier create of the id loses.

    ``mkdir`` is the lock: only one caller can create the directory, and the loser touches
    nothing of the winner's (runc 1.1.5 gets this wrong; security.md #B3).
    """
    path = f"{root}/{container_id}"
    try:
        posix.mkdir(path, 0o711)
    except FileExistsError:
        raise ContainerExists() from None
    posix.chmod(path, 0o711)  # mkdir's mode is filtered by the umask
    return path


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and a rename."""
    head = path[: path.rfind("/") + 1]
    tmp = f"{head}.{path[len(head):]}.{posix.getpid()}.tmp"
    fd = posix.open(tmp, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            n = posix.write(fd, view)
            view = view[n:]
    finally:
        posix.close(fd)
    try:
        posix.rename(tmp, path)
    except BaseException:
        posix.unlink(tmp)
        raise


def prune_dir(directory: str, keep: int, suffix: str = "", spare: str = "") -> None:
    """Remove the oldest files of ``directory`` (by mtime) whose names end with ``suffix``,
    beyond the newest ``keep``, never the one named ``spare`` (just written: mtimes are
    coarse): the bound of the caches under the root. Errors are ignored (a cache is
    optional); only a directory over the bound has its entries stat'ed."""
    try:
        entries = [e for e in posix.scandir(directory) if e.name.endswith(suffix)]
        if len(entries) <= keep:
            return
        old = [e for e in entries if e.name != spare]
        old.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns)
        for e in old[: len(entries) - keep]:
            posix.unlink(e.path)
    except OSError:
        pass


def save(state_dir: str, state: dict[str, Any]) -> None:
    """Persist ``state`` as ``<state_dir>/state.json``, atomically."""
    write_atomic(f"{state_dir}/{STATE_FILE}", json.dumps(state).encode())


def load(root: str, container_id: str) -> dict[str, Any]:
    """Read a container's saved state; ``container does not exist`` when there is none.

    While ``create`` is still running the directory exists without ``state.json``: that
    container does not exist yet, as in runc.
    """
    try:
        with open(f"{root}/{container_id}/{STATE_FILE}", "rb") as f:
            data = json.loads(f.read())
    except (FileNotFoundError, NotADirectoryError):
        raise ContainerNotFound() from None
    except ValueError:
        raise ContainerNotFound() from None
    if not isinstance(data, dict):
        raise ContainerNotFound()
    return data


def proc_start_time(pid: int, proc: str = "/proc") -> tuple[int, str] | None:
    """(start time in clock ticks, state letter) of ``pid`` from ``/proc/<pid>/stat``."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = raw[raw.rfind(b")") + 2 :].split()
    # rest[0] is field 3 (state); field 22 (starttime) is rest[19].
    return int(rest[19]), rest[0].decode()


def init_alive(state: dict[str, Any], proc: str = "/proc") -> bool:
    """Is the saved init process still the same live process (not a zombie, not reused)?"""
    pid = int(state.get("pid") or 0)
    if pid <= 0:
        return False
    info = proc_start_time(pid, proc)
    if info is None:
        return False
    start, letter = info
    return start == state.get("init_process_start") and letter not in ("Z", "X")


def freezer_state(state: dict[str, Any]) -> str | None:
    """The freezer's view (``FROZEN``, ``THAWED``...) when the container has a freezer cgroup."""
    path = (state.get("cgroup_paths") or {}).get("freezer")
    if path:
        try:
            with open(f"{path}/freezer.state") as f:
                return f.read().strip()
        except OSError:
            return None
    unified = (state.get("cgroup_paths") or {}).get("")
    if unified:
        try:
            with open(f"{unified}/cgroup.freeze") as f:
                return "FROZEN" if f.read().strip() == "1" else "THAWED"
        except OSError:
            return None
    return None


def status(state: dict[str, Any], state_dir: str, proc: str = "/proc") -> str:
    """Derive the status in runc's order: frozen, then init gone, then the exec fifo."""
    if not init_alive(state, proc):
        return STOPPED
    if freezer_state(state) == "FROZEN":
        return PAUSED
    if lexists(f"{state_dir}/{EXEC_FIFO}"):
        return CREATED
    return RUNNING


def remove_dir(path: str) -> None:
    """Remove a state directory and what it holds (files, the fifo, small subdirs)."""
    try:
        entries = list(posix.scandir(path))
    except FileNotFoundError:
        return
    except NotADirectoryError:
        posix.unlink(path)
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            remove_dir(e.path)
        else:
            try:
                posix.unlink(e.path)
            except FileNotFoundError:
                pass
    try:
        posix.rmdir(path)
    except FileNotFoundError:
        pass


def list_ids(root: str) -> list[str]:
    """Container ids under ``root``, sorted like runc (``os.ReadDir`` order)."""
    try:
        names = posix.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if not n.startswith(".") and isdir(f"{root}/{n}"))


def oci_state(state: dict[str, Any], st: str) -> dict[str, Any]:
    """The runtime-spec state object (runtime.md#state) for ``state`` in status ``st``."""
    out: dict[str, Any] = {
        "ociVersion": state.get("ociVersion", ""),
        "id": state["id"],
        "pid": 0 if st == STOPPED else int(state.get("pid") or 0),
        "status": st,
        "bundle": state.get("bundle", ""),
        "rootfs": state.get("rootfs", ""),
        "created": state.get("created", ""),
    }
    if state.get("annotations"):
        out["annotations"] = state["annotations"]
    out["owner"] = ""
    return out


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
    head = path[: path.rfind("/") + 1]
    tmp = f"{head}.{path[len(head):]}"
    flags = posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_TRUNC | posix.O_CLOEXEC
    fd = posix.open(tmp, flags, 0o666)
    try:
        posix.write(fd, str(pid).encode())
    finally:
        posix.close(fd)
    posix.rename(tmp, path)
