"""Foreground ``run``: create, start, forward signals, proxy the tty, return the exit status.

As runc's ``run`` (runc-behavior.md 2.9): the runtime is a child subreaper, forwards every
signal but SIGCHLD (and SIGWINCH, which resizes the pty instead) to the init, reaps
orphans, and exits with the init's status, 128+N when it was killed by signal N. Without a
terminal the init simply inherits our stdio; with one, we receive the pty master over a
private socketpair and copy both directions with the host terminal in raw mode.
"""

from __future__ import annotations

import _signal as signal  # the C modules: signal.py and socket.py pull in enum
import _socket as socket
import gc
import os
import select

from ociruntime import container, create
from ociruntime.log import Logger

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

_NOT_FORWARDED = {signal.SIGCHLD, signal.SIGKILL, signal.SIGSTOP, signal.SIGWINCH}


def _status_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def run(opts: create.CreateOptions, log: Logger, keep: bool = False) -> int:
    """``run`` in the foreground (``opts.detach`` false) or detached; returns the exit code."""
    pending: list[int] = []
    target = {"pid": 0}

    def forward(signum: int, _frame: Any) -> None:
        if target["pid"]:
            try:
                os.kill(target["pid"], signum)
            except ProcessLookupError:
                pass
        else:
            pending.append(signum)

    terminal = _wants_terminal(opts)
    ours = theirs = None
    if terminal:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        opts.console_fd = theirs.fileno()
    if not opts.detach:
        _forward_signals(forward)
    try:
        pid = create.create(opts, log)
    finally:
        if theirs is not None:
            theirs.close()
    master = -1
    if ours is not None:
        from ociruntime.channel import recv_fds

        _, fds = recv_fds(ours, 4096, 1)
        ours.close()
        master = fds[0] if fds else -1
    try:
        container.start(opts.root, opts.container_id, log)
    except BaseException:
        container.delete(opts.root, opts.container_id, True, log)
        raise
    if opts.detach:
        return 0
    target["pid"] = pid
    for signum in pending:
        forward(signum, None)
    status = _wait_or_proxy(pid, master)
    if not keep:
        try:
            container.delete(opts.root, opts.container_id, True, log)
        except Exception as exc:  # noqa: BLE001 - the exit status matters more
            log.warning(f"delete after run: {exc}")
    return _status_code(status)


def _wait_or_proxy(pid: int, master: int) -> int:
    # A foreground container can run for days: the cyclic collector comes back on
    # (cli.run starts without it, to start faster).
    gc.enable()
    if master >= 0:
        return _proxy_tty(master, pid)
    return _wait(pid)


def wait_foreground(pid: int, master: int = -1) -> int:
    """Forward signals to ``pid`` (our child), proxy its tty, return its exit code."""

    def forward(signum: int, _frame: Any) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    _forward_signals(forward)
    return _status_code(_wait_or_proxy(pid, master))


def _forward_signals(handler: Any) -> None:
    """Install ``handler`` for every signal runc forwards (all but SIGCHLD and SIGWINCH)."""
    for sig in range(1, signal.NSIG):
        if sig in _NOT_FORWARDED:
            continue
        try:
            signal.signal(sig, handler)
        except (OSError, ValueError):
            pass


def _wants_terminal(opts: create.CreateOptions) -> bool:
    """Whether a foreground run must proxy a pty: ``process.terminal`` of the config.

    The bytes read here are handed to ``create`` (``opts.config_bytes``), so the decision
    and the container come from one read of config.json. A missing or broken file is
    left for ``create`` to report.
    """
    if opts.detach or opts.console_socket:
        return False
    from ociruntime import bundle
    from ociruntime import fastjson as json
    from ociruntime.errors import ConfigError

    try:
        raw = bundle.read_config(os.path.abspath(opts.bundle or "."))
    except ConfigError:
        return False
    opts.config_bytes = raw
    try:
        cfg = json.loads(raw)
        return bool((cfg.get("process") or {}).get("terminal"))
    except (ValueError, AttributeError):
        return False


def _wait(pid: int) -> int:
    """Reap children (we are a subreaper) until the init exits; its wait status."""
    while True:
        try:
            wpid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if wpid == pid:
            return status


def _reap_nohang(pid: int) -> int | None:
    """Reap whatever exited; the init's wait status if it was among them."""
    while True:
        try:
            wpid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0
        if wpid == 0:
            return None
        if wpid == pid:
            return st


def _proxy_tty(master: int, pid: int) -> int:
    import termios
    import tty

    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        _copy_winsize(0, master)
        signal.signal(signal.SIGWINCH, lambda *_: _copy_winsize(0, master))
    status: int | None = None
    stdin_open = True
    try:
        while status is None:
            fds = [master] + ([0] if stdin_open else [])
            try:
                r, _, _ = select.select(fds, [], [], 0.1)
            except InterruptedError:
                r = []
            if master in r:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if data:
                    os.write(1, data)
            if 0 in r:
                data = os.read(0, 65536)
                if data:
                    os.write(master, data)
                else:
                    stdin_open = False
            status = _reap_nohang(pid)
        # drain what the container wrote last
        while True:
            r, _, _ = select.select([master], [], [], 0)
            if not r:
                break
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            os.write(1, data)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        os.close(master)
    return status


def _copy_winsize(src: int, dst: int) -> None:
    import fcntl
    import termios

    try:
        ws = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, termios.TIOCSWINSZ, ws)
    except OSError:
        pass
