"""``process.terminal`` and the ``--console-socket`` protocol (runc-behavior.md 2.7).

The init opens the container's ``/dev/ptmx``, binds the slave over ``/dev/console`` and sends
the master over the console socket as exactly one ``SCM_RIGHTS`` fd with the payload
``/dev/ptmx`` (conmon, go-runc and runc's recvtty all demand exactly that shape).
"""

from __future__ import annotations

import _socket as socket  # the C module: socket.py pulls in enum and selectors
import fcntl
import os
import struct

from ociruntime import linux as L
from ociruntime.channel import send_fds

TIOCSCTTY = 0x540E
TIOCSWINSZ = 0x5414
TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441


def open_pty() -> tuple[int, int, str]:
    """(master, slave, slave path) from the container's ``/dev/ptmx`` (after pivot_root)."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    num = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0\0\0\0"))[0]
    # TIOCGPTPEER opens the slave from the master itself: no path lookup to race.
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    return master, slave, f"/dev/pts/{num}"


def set_size(fd: int, height: int, width: int) -> None:
    """TIOCSWINSZ: ``process.consoleSize``."""
    fcntl.ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def bind_console(slave_path: str) -> None:
    """Create ``/dev/console`` (an empty file) and bind the pty slave onto it."""
    old = os.umask(0)
    try:
        fd = os.open("/dev/console", os.O_CREAT | os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW,
                     0o600)
        os.close(fd)
    finally:
        os.umask(old)
    L.mount(slave_path, "/dev/console", None, L.MS_BIND)


def send_master(sock_fd: int, master: int) -> None:
    """One sendmsg: payload ``/dev/ptmx``, one SCM_RIGHTS fd (the master)."""
    sock = socket.socket(fileno=sock_fd)
    try:
        send_fds(sock, b"/dev/ptmx", [master])
    finally:
        sock.detach()


def make_controlling(slave: int) -> None:
    """dup the slave to 0, 1, 2 and make it the controlling terminal (init is a session leader)."""
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    fcntl.ioctl(0, TIOCSCTTY, 0)


def connect_socket(path: str) -> socket.socket:
    """Connect to the caller's console socket, in the parent, before the init starts."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock
