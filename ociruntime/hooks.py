"""Lifecycle hooks (config.md#posix-platform-hooks), run as runc runs them.

Each hook is exec'd with ``path``, ``args`` exactly as given (``args[0]`` is argv[0]), ``env``
exactly as given (nothing inherited) and the state JSON on stdin; stdout and stderr are
captured and only shown in the error. A ``timeout`` SIGKILLs the hook. Hooks of one kind run
in order and the first failure stops the list.

This module uses only ``os``/``select``/``time`` with no lazy imports, because the init runs
``startContainer`` hooks after ``pivot_root``, where importing would load container files.
"""

from __future__ import annotations

import _signal as signal  # the C module: signal.py would import enum
import os
import select
import time

from ociruntime.errors import HookError

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

HOOK_KINDS = (
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
)


def _drain(fd: int, sink: bytearray) -> bool:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return True
    if not chunk:
        return False
    if len(sink) < 1 << 20:
        sink += chunk
    return True


def run_hook(hook: dict[str, Any], state_json: bytes, cwd: str | None = None) -> None:
    """Run one hook to completion; raise ``HookError`` on failure or timeout.

    ``cwd`` is the hook's working directory (the bundle for hooks run by the runtime).
    """
    path = hook["path"]
    args = list(hook.get("args") or [path])
    env = list(hook.get("env") or [])
    timeout = hook.get("timeout")
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            if cwd:
                os.chdir(cwd)
            for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.execve(path, args, dict(e.split("=", 1) for e in env if "=" in e))
        except BaseException as exc:  # noqa: BLE001 - report anything to the hook's stderr
            try:
                os.write(2, f"exec {path}: {exc}".encode())
            finally:
                os._exit(127)
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    out, err = bytearray(), bytearray()
    # Feed stdin (state JSON, no trailing newline) without blocking on a hook that ignores it.
    os.set_blocking(in_w, False)
    os.set_blocking(out_r, False)
    os.set_blocking(err_r, False)
    pending = memoryview(state_json)
    deadline = None if not timeout else time.monotonic() + float(timeout)
    open_fds = {out_r, err_r}
    status = None
    try:
        while True:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status = st
                break
            if deadline is not None and time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise HookError(f"hook ran past specified timeout of {float(timeout or 0):.1f}s")
            wfds = [in_w] if pending and in_w >= 0 else []
            r, w, _ = select.select(list(open_fds), wfds, [], 0.01)
            if w:
                try:
                    n = os.write(in_w, pending)
                    pending = pending[n:]
                except (BlockingIOError, BrokenPipeError):
                    pending = pending[:0]
                if not pending:
                    os.close(in_w)
                    in_w = -1
            for fd in r:
                if not _drain(fd, out if fd == out_r else err):
                    open_fds.discard(fd)
            if not pending and in_w >= 0:
                os.close(in_w)
                in_w = -1
        for fd in list(open_fds):
            while _drain(fd, out if fd == out_r else err):
                r, _, _ = select.select([fd], [], [], 0)
                if not r:
                    break
    finally:
        for fd in (in_w, out_r, err_r):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return
    if os.WIFSIGNALED(status):
        why = f"signal: {(signal.strsignal(os.WTERMSIG(status)) or '?').lower()}"
    else:
        why = f"exit status {os.WEXITSTATUS(status)}"
    raise HookError(
        f"error running hook: {why}, stdout: {out.decode(errors='replace')}, "
        f"stderr: {err.decode(errors='replace')}"
    )


def run_hooks(hooks: list[dict[str, Any]] | None, state_json: bytes) -> None:
    """Run a list of hooks in order; the first failure stops it (``error running hook #i``)."""
    for i, hook in enumerate(hooks or []):
        try:
            run_hook(hook, state_json)
        except HookError as exc:
            raise HookError(f"error running hook #{i}: {exc}") from None
        except OSError as exc:
            raise HookError(f"error running hook #{i}: {exc.strerror}") from None


def run_hooks_warn(hooks: list[dict[str, Any]] | None, state_json: bytes,
                   warn: Callable[[str], None], cwd: str | None = None) -> None:
    """poststart/poststop: a failing hook is a warning and the rest still run (config.md)."""
    for i, hook in enumerate(hooks or []):
        try:
            run_hook(hook, state_json, cwd)
        except (HookError, OSError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            warn(f"error running hook #{i}: {why}")
