"""The agent side of ``SCMP_ACT_NOTIFY``: receive a listener, answer notified syscalls.

The runtime (:func:`ociruntime.seccomp.send_listener`) connects to the agent's unix socket at
``listenerPath`` and sends one message: the container process state as JSON
(runtime-spec runtime.md, ``ContainerProcessState``) with the listener fd in SCM_RIGHTS.
:func:`receive_listener` is the other end. The agent then reads notifications
(:func:`receive`), and answers each one (:func:`respond`): a return value, an errno, or
"continue" (let the kernel run the syscall). Used by the tests; small enough to base an
agent on.
"""

from __future__ import annotations

import json
import os
import select
import socket

from ociruntime import linux as L
from ociruntime.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: SECCOMP_USER_NOTIF_FLAG_CONTINUE
FLAG_CONTINUE = 1


@dataclass(frozen=True)
class Notification:
    """One ``struct seccomp_notif``."""

    id: int
    pid: int
    flags: int
    nr: int
    arch: int
    instruction_pointer: int
    args: tuple[int, ...]


def receive_listener(conn: socket.socket, max_size: int = 1 << 20) -> tuple[int, dict[str, Any]]:
    """Read the runtime's message on an accepted connection: ``(listener fd, state)``.

    The fd named ``seccompFd`` in the state's ``fds`` is returned; any other fds are closed.
    The JSON may arrive in several reads; the runtime closes the connection after it.
    """
    msg, fds, _flags, _addr = socket.recv_fds(conn, max_size, 8)
    chunks = [msg]
    while True:
        more = conn.recv(max_size)
        if not more:
            break
        chunks.append(more)
    state = json.loads(b"".join(chunks))
    names = state.get("fds") or []
    try:
        index = names.index("seccompFd")
    except ValueError:
        index = -1
    if not 0 <= index < len(fds):
        for fd in fds:
            _close(fd)
        raise ValueError("the runtime's message carries no seccompFd")
    for i, fd in enumerate(fds):
        if i != index:
            _close(fd)
    return fds[index], state


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def wait(listener: int, timeout: float | None) -> bool:
    """Whether a notification is pending within ``timeout`` seconds (None: forever).

    Returns False on timeout; raises EOFError when every filtered process is gone.
    """
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    events = poller.poll(None if timeout is None else int(timeout * 1000))
    for _fd, ev in events:
        if ev & select.POLLIN:
            return True
        if ev & (select.POLLHUP | select.POLLERR):
            raise EOFError("no process uses this seccomp filter any more")
    return False


def receive(listener: int) -> Notification:
    """SECCOMP_IOCTL_NOTIF_RECV: the next notification (blocks until there is one)."""
    nid, pid, flags, nr, arch, ip, args = L.seccomp_notif_recv(listener)
    return Notification(nid, pid, flags, nr, arch, ip, args)


def respond(listener: int, notif_id: int, val: int = 0, errno: int = 0,
            continue_: bool = False) -> None:
    """SECCOMP_IOCTL_NOTIF_SEND: the syscall returns ``val``, or fails with ``errno`` (> 0),
    or with ``continue_`` is run by the kernel as if there were no filter."""
    if continue_:
        L.seccomp_notif_send(listener, notif_id, 0, 0, FLAG_CONTINUE)
    else:
        L.seccomp_notif_send(listener, notif_id, 0 if errno else val, -abs(errno), 0)


def still_valid(listener: int, notif_id: int) -> bool:
    """SECCOMP_IOCTL_NOTIF_ID_VALID: the notifying task still waits (check after reading
    its memory, before acting on it)."""
    return L.seccomp_notif_id_valid(listener, notif_id)
