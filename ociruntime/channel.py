"""The parent/child protocol of ``create``: typed JSON frames over a SOCK_SEQPACKET pair.

Three processes take part: the runtime (P), the intermediate child (C) that creates the
namespaces, and the container's init (I), which C forks into the new pid namespace. Every
frame is one datagram ``{"type": ..., ...}``; a frame of type ``error`` can come from C or
I at any point and ends the exchange (``{"type": "error", "message": str}``)::

    P                                C (intermediate)                 I (init)
    | mkdir the cgroups              |
    |-- fork (into the cgroup2 one) >|
    |  [or: place C in the cgroups]  |
    |-- go ------------------------->|
    |                                | join its v1 cgroups ("0" > tasks)
    |                                | join namespaces by path (runc order)
    |                                | unshare(CLONE_NEWUSER)
    |<------------------- usermap ---|
    | write uid_map/gid_map          |
    |-- usermap-done --------------->|
    |                                | unshare(remaining namespaces)
    |<-------------- mountsources ---|   (user + mount namespaces, bind mounts only)
    | setns into C's mount namespace,|
    | open each bind source O_PATH   |
    |-- mountsources-done {fds} ---->|
    |                                |-- fork ------------------------->|
    |<------------------- pid {pid} -|                                  |
    | reap C (exit 0); I is now P's  |  exit                            |
    | child (P is a subreaper)       |                                  |
    |-- go ------------------------------------------------------------>|
    |                                            unshare(cgroupns), mounts, devices
    |<------------------------------------------------------- hooks ---|
    | cgroup limits, prestart + createRuntime hooks                     |
    |-- hooks-done ---------------------------------------------------->|
    |                                   createContainer hooks, pivot_root, console,
    |                                   hostname, sysctls, masked/readonly paths, NNP
    |<------------------------------------------------------- ready ---|
    | prlimit(rlimits)                                                  |
    |-- run ----------------------------------------------------------->|
    | state.json                        seccomp filter (without noNewPrivileges)
    |<-------------------------------------------- seccomp {fd} -------|  (notify only)
    | pidfd_getfd, send the listener to the agent at listenerPath       |
    |-- seccomp-done -------------------------------------------------->|
    |                                   caps, user, cwd, PATH lookup,
    |                                   seccomp filter (with noNewPrivileges)
    |<------------------------------------------------------ (EOF) ----|
    | create returns; I blocks opening exec.fifo for writing until ``start``

The ``usermap`` exchange happens only when a new user namespace is created, and the
``seccomp`` one only for a filter with SCMP_ACT_NOTIFY rules (seccomp.load_and_report).
Cgroup placement is done by C itself where the driver allows (``Manager.self_join_dirs``,
process.join_cgroups_self: no RCU grace period), else by P writing C's pid (rootless,
systemd). When every namespace is new and none is a user or time namespace, there is no
C at all: P clone3s I straight into its namespaces (and cgroup2 cgroup), I does C's first
steps itself, and the exchange starts at P's ``go`` to I (process._spawn_direct).
"""

from __future__ import annotations

import _socket as socket  # the C module: socket.py pulls in enum and selectors
import struct

from ociruntime import fastjson as json
from ociruntime.errors import InitError

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

# Frame types, in protocol order.
GO = "go"
USERMAP = "usermap"
USERMAP_DONE = "usermap-done"
MOUNTSOURCES = "mountsources"
MOUNTSOURCES_DONE = "mountsources-done"
PID = "pid"
HOOKS = "hooks"
HOOKS_DONE = "hooks-done"
READY = "ready"
RUN = "run"
ERROR = "error"
# SCMP_ACT_NOTIFY: the init hands its seccomp listener fd over, the runtime answers when
# the agent at listenerPath has it (seccomp.load_and_report / seccomp.serve_listener).
SECCOMP_LISTENER = "seccomp"
SECCOMP_LISTENER_DONE = "seccomp-done"

_MAX_FRAME = 1 << 20


def send_fds(sock: socket.socket, data: bytes, fds: list[int]) -> int:
    """One sendmsg carrying ``data`` and ``fds`` as a single SCM_RIGHTS message."""
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
    return sock.sendmsg([data], anc)


def recv_fds(sock: socket.socket, size: int, maxfds: int) -> tuple[bytes, list[int]]:
    """One recvmsg: the data and the fds of its SCM_RIGHTS messages."""
    data, anc, _flags, _addr = sock.recvmsg(size, socket.CMSG_SPACE(maxfds * 4))
    fds: list[int] = []
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
    return data, fds


class Channel:
    """One end of the SOCK_SEQPACKET socketpair."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @staticmethod
    def pair() -> tuple[Channel, Channel]:
        """A (parent, child) pair; both ends are close-on-exec."""
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        return Channel(a), Channel(b)

    def fileno(self) -> int:
        """The socket's fd."""
        return self.sock.fileno()

    def send(self, frame_type: str, **fields: Any) -> None:
        """Send one frame."""
        fields["type"] = frame_type
        self.sock.send(json.dumps(fields).encode())

    def send_with_fds(self, frame_type: str, fds: list[int], **fields: Any) -> None:
        """Send one frame carrying ``fds`` as SCM_RIGHTS."""
        fields["type"] = frame_type
        send_fds(self.sock, json.dumps(fields).encode(), fds)

    def expect_with_fds(self, frame_type: str) -> tuple[dict[str, Any], list[int]]:
        """Receive a frame with fds; errors and EOF raise ``InitError`` as in ``expect``."""
        data, fds = recv_fds(self.sock, _MAX_FRAME, 64)
        if not data:
            raise InitError(f"init channel closed while waiting for {frame_type!r}")
        frame = json.loads(data)
        if frame.get("type") == ERROR:
            raise InitError(str(frame.get("message", "unknown error")))
        if frame.get("type") != frame_type:
            raise InitError(f"unexpected frame {frame.get('type')!r}, wanted {frame_type!r}")
        return frame, list(fds)

    def send_error(self, message: str) -> None:
        """Report a failure to the parent; never raises (the peer may be gone)."""
        try:
            self.send(ERROR, message=message)
        except OSError:
            pass

    def recv(self) -> dict[str, Any] | None:
        """The next frame, or ``None`` at EOF (the peer closed its end)."""
        data = self.sock.recv(_MAX_FRAME)
        if not data:
            return None
        frame = json.loads(data)
        if not isinstance(frame, dict) or "type" not in frame:
            raise InitError(f"malformed frame on the init channel: {data[:80]!r}")
        return frame

    def expect(self, frame_type: str) -> dict[str, Any]:
        """Receive a frame that must be ``frame_type``; errors and EOF raise ``InitError``."""
        frame = self.recv()
        if frame is None:
            raise InitError(f"init channel closed while waiting for {frame_type!r}")
        if frame["type"] == ERROR:
            raise InitError(str(frame.get("message", "unknown error")))
        if frame["type"] != frame_type:
            raise InitError(f"unexpected frame {frame['type']!r}, wanted {frame_type!r}")
        return frame

    def close(self) -> None:
        """Close this end."""
        self.sock.close()

