"""Helpers for the ``test_config_*`` integration tests.

Most tests run a busybox shell script inside a container and parse what it prints
(``/proc/self/status``, ``/proc/self/mountinfo``, ``ls -l /dev`` …). These helpers build the
configs, run the container with a timeout, parse those files, and do the fiddly host-side
parts: the console-socket receiver, waiting for a detached container to stop, finding
processes left in a pid namespace.
"""

from __future__ import annotations

import array
import copy
import fcntl
import json
import os
import shlex
import socket
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.wait import wait_for  # noqa: F401 - re-exported for the tests here

#: Linux capability numbers (include/uapi/linux/capability.h).
CAPS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}

LAST_CAP = int(Path("/proc/sys/kernel/cap_last_cap").read_text())


def _own_bounding() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    return 0


#: The capabilities the caller (the test, so the runtime) holds in its bounding set: a
#: sandboxed host may lack some (CAP_SYS_RESOURCE on this VM).
HOST_BOUNDING = _own_bounding()
#: Every capability the kernel knows and the host may hand out (for "all caps" configs).
ALL_CAPS = [name for name, n in CAPS.items() if n <= LAST_CAP and HOST_BOUNDING >> n & 1]


def host_has_cap(name: str) -> bool:
    """Is ``name`` in the caller's bounding set?"""
    return bool(HOST_BOUNDING >> CAPS[name] & 1)


def unquote_log(text: str) -> str:
    """runc-style logfmt stderr with the ``\\"`` escapes undone."""
    return text.replace('\\"', '"')


def cap_mask(names: list[str]) -> int:
    """The bit mask of capability names, as /proc/self/status shows it (hex)."""
    m = 0
    for n in names:
        m |= 1 << CAPS[n]
    return m


def is_runc() -> bool:
    """Is the runtime under test runc (``RUNTIME=/usr/bin/runc``)?"""
    env = os.environ.get("RUNTIME", "")
    return bool(env) and os.path.basename(shlex.split(env)[0]) == "runc"


def runc_lacks(reason: str) -> pytest.MarkDecorator:
    """Skip on runc 1.1.5 where it is known not to implement the spec clause tested."""
    return pytest.mark.skipif(is_runc(), reason=f"runc 1.1.5: {reason}")


def config(base: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level keys replaced."""
    cfg = copy.deepcopy(base)
    cfg.update(copy.deepcopy(top))
    return cfg


def sh(rt: Any, make_bundle: Any, cid: str, script: str, cfg: dict[str, Any] | None = None,
       timeout: float = 30, run_args: tuple[str, ...] = (), own_rootfs: bool = False,
       **process: Any) -> subprocess.CompletedProcess:
    """``run`` a busybox ``sh -c script`` in a container; returns the finished process."""
    b = make_bundle(cfg, args=["sh", "-c", script], own_rootfs=own_rootfs, **process)
    return rt("run", *run_args, "--bundle", str(b), cid, timeout=timeout)


def ok(p: subprocess.CompletedProcess) -> str:
    """The stdout of a run that must have succeeded."""
    assert p.returncode == 0, f"rc={p.returncode} stdout={p.stdout!r} stderr={p.stderr!r}"
    return p.stdout


def parse_status(text: str) -> dict[str, str]:
    """``/proc/<pid>/status`` as a dict (values stripped)."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


def parse_limits(text: str) -> dict[str, tuple[str, str]]:
    """``/proc/<pid>/limits`` as name -> (soft, hard)."""
    out = {}
    for line in text.splitlines()[1:]:
        name = line[:26].strip()
        parts = line[26:].split()
        if name and len(parts) >= 2:
            out[name] = (parts[0], parts[1])
    return out


class MountEntry:
    """One line of ``/proc/<pid>/mountinfo``."""

    def __init__(self, line: str) -> None:
        f = line.split()
        sep = f.index("-")
        self.mount_id = f[0]
        self.root = _unescape(f[3])
        self.mountpoint = _unescape(f[4])
        self.options = f[5].split(",")
        self.optional = f[6:sep]
        self.fstype = f[sep + 1]
        self.source = f[sep + 2]
        self.super_options = f[sep + 3].split(",") if len(f) > sep + 3 else []

    def __repr__(self) -> str:
        return (f"<{self.mountpoint} {self.fstype} {','.join(self.options)} "
                f"{' '.join(self.optional)} {','.join(self.super_options)} root={self.root}>")


def _unescape(s: str) -> str:
    return (s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def parse_mountinfo(text: str) -> list[MountEntry]:
    """Every mountinfo line of ``text`` (other lines are ignored)."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) > 6 and "-" in f and f[0].isdigit():
            out.append(MountEntry(line))
    return out


def mount_at(entries: list[MountEntry], mountpoint: str) -> MountEntry:
    """The topmost mount at ``mountpoint`` (the last one listed)."""
    found = [e for e in entries if e.mountpoint == mountpoint]
    assert found, f"nothing mounted at {mountpoint}: {entries}"
    return found[-1]


def host_ns(kind: str) -> str:
    """``net:[4026531840]`` style link of this (host) process."""
    return os.readlink(f"/proc/self/ns/{kind}")


def procs_in_ns(kind: str, link: str) -> list[int]:
    """Pids of every host process whose ``ns/<kind>`` is ``link``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/{kind}") == link:
                    out.append(int(name))
            except OSError:
                continue
    return out


def wait_status(rt: Any, cid: str, want: str, timeout: float = 15) -> dict[str, Any]:
    """Poll ``state`` until the container's status is ``want``."""
    deadline = time.monotonic() + timeout
    st: dict[str, Any] = {}
    while time.monotonic() < deadline:
        p = rt("state", cid, timeout=10)
        if p.returncode == 0:
            st = json.loads(p.stdout)
            if st.get("status") == want:
                return st
        time.sleep(0.05)
    raise AssertionError(f"{cid} never became {want}: last state {st}")


def detached(rt: Any, *args: str, out: Path, timeout: float = 30, **kw: Any
             ) -> subprocess.CompletedProcess:
    """``create`` (or ``run -d``) with the container's stdio going to files, not pipes.

    A detached init inherits the runtime's stdio; with pipes, waiting for the runtime to
    finish would wait for the container too.
    """
    with open(out, "ab") as o, open(out.with_suffix(".err"), "ab") as e:
        p = rt(*args, capture_output=False, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
               timeout=timeout, **kw)
    p.stdout = out.read_text()
    p.stderr = out.with_suffix(".err").read_text()
    return p


class ConsoleReceiver:
    """The caller side of ``--console-socket``: receive the pty master, read the output.

    Listens on an AF_UNIX SOCK_STREAM socket; a thread accepts one connection and
    ``recvmsg``s one message, which must carry one SCM_RIGHTS fd and the payload
    ``/dev/ptmx``. ``read_all`` then reads the master until every slave fd is closed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.payload = b""
        self.fds: list[int] = []
        self.ancillary: list[tuple[int, int, bytes]] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(30)
                fds = array.array("i")
                msg, anc, _flags, _addr = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
                self.payload = msg
                for level, typ, data in anc:
                    self.ancillary.append((level, typ, data))
                    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                        got = array.array("i")
                        got.frombytes(data[: len(data) - (len(data) % got.itemsize)])
                        self.fds.extend(got)
        except BaseException as exc:  # noqa: BLE001 - reported by master()
            self.error = exc

    def master(self, timeout: float = 30) -> int:
        """The received master fd (waits for the message)."""
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.fds, f"no fd received (payload {self.payload!r}, anc {self.ancillary})"
        return self.fds[0]

    @staticmethod
    def winsize(fd: int) -> tuple[int, int]:
        """(rows, cols) of the pty, by TIOCGWINSZ."""
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        return rows, cols

    @staticmethod
    def read_all(fd: int, timeout: float = 20) -> bytes:
        """Read the master until EIO (no slave left open) or the timeout."""
        import select

        out = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def close(self) -> None:
        """Close the listening socket and every received fd."""
        self.sock.close()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []



def cgroup_dirs_with_prefix(prefix: str) -> list[str]:
    """Cgroup directories (4 levels deep at most) whose name starts with ``prefix``."""
    found = []
    base = "/sys/fs/cgroup"
    for top, dirs, _ in os.walk(base):
        if top.count("/") - base.count("/") >= 4:
            dirs[:] = []
            continue
        found += [os.path.join(top, d) for d in dirs if d.startswith(prefix)]
    return found


def remove_cgroup_dirs(dirs: list[str]) -> None:
    """rmdir ``dirs``, deepest first: an empty cgroup goes, a populated one stays."""
    for d in sorted(dirs, key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            pass


def assert_no_cgroup_left(prefix: str) -> None:
    """security.md section 2 (d): no cgroup named after the test's containers is left
    (polled for a second, as runc retries rmdir too); leftovers are removed, then fail."""
    left: list[str] = []
    for _ in range(20):
        left = cgroup_dirs_with_prefix(prefix)
        if not left:
            break
        time.sleep(0.05)
    remove_cgroup_dirs(left)  # keep the VM clean either way
    assert left == [], f"cgroup dirs left behind: {left}"
