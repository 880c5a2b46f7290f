"""``process.terminal``, ``consoleSize`` and the ``--console-socket`` protocol.

config.md#process terminal/consoleSize; the socket protocol is runc's (runc-behavior.md 2.7):
the runtime connects to an AF_UNIX SOCK_STREAM socket, and the container sends one message
whose payload is ``/dev/ptmx`` with exactly one SCM_RIGHTS fd, the pty master.
"""

from __future__ import annotations

import os
import socket

from _probe import ConsoleReceiver, detached, wait_status


def _terminal_bundle(make_bundle, script, **process):
    return make_bundle(args=["sh", "-c", script], terminal=True, **process)


def test_terminal_console_socket(rt, make_bundle, cid, tmp_path):
    """config.md#process terminal + consoleSize: the master arrives over --console-socket
    (payload ``/dev/ptmx``, one SCM_RIGHTS fd), has the configured size, and the process
    has the slave as stdio and controlling terminal."""
    script = ("tty; stty size; for f in 0 1 2; do readlink /proc/self/fd/$f; done; "
              "cut -d' ' -f7 /proc/self/stat; stat -c '%F %t' /dev/console; exit 3")
    b = _terminal_bundle(make_bundle, script, consoleSize={"height": 40, "width": 120})
    recv = ConsoleReceiver(tmp_path / "console.sock")
    try:
        p = detached(rt, "create", "--bundle", str(b), "--console-socket",
                     str(recv.path), cid, out=tmp_path / "create.out")
        assert p.returncode == 0, p.stderr
        master = recv.master()
        assert recv.payload == b"/dev/ptmx"
        assert len(recv.ancillary) == 1 and len(recv.fds) == 1
        assert recv.ancillary[0][:2] == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
        assert ConsoleReceiver.winsize(master) == (40, 120)
        assert os.readlink(f"/proc/self/fd/{master}").endswith("ptmx")
        assert rt.state(cid)["status"] == "created"
        s = rt("start", cid, timeout=30)
        assert s.returncode == 0, s.stderr
        out = ConsoleReceiver.read_all(master).decode(errors="replace")
        wait_status(rt, cid, "stopped")
        lines = out.replace("\r\n", "\n").split("\n")
        assert lines[0] in ("/dev/pts/0", "/dev/console"), out
        assert lines[1] == "40 120", out
        assert lines[2:5] == ["/dev/pts/0"] * 3, out
        assert int(lines[5]) == (136 << 8) | 0, out  # tty_nr: the controlling terminal
        assert lines[6] == "character special file 88", out  # /dev/console is the pty slave
        assert "\r\n" in out  # ONLCR left on for the caller to handle
    finally:
        recv.close()
    assert rt("delete", cid, timeout=30).returncode == 0


def test_terminal_without_console_size(rt, make_bundle, cid, tmp_path):
    """config.md#process consoleSize: optional; without it the container still gets a
    working terminal (input typed on the master reaches the process)."""
    b = _terminal_bundle(make_bundle, "read line; echo got:$line")
    recv = ConsoleReceiver(tmp_path / "c.sock")
    try:
        p = detached(rt, "create", "--bundle", str(b), "--console-socket", str(recv.path), cid,
                     out=tmp_path / "create.out")
        assert p.returncode == 0, p.stderr
        master = recv.master()
        assert rt("start", cid, timeout=30).returncode == 0
        os.write(master, b"hello\n")
        out = ConsoleReceiver.read_all(master).decode(errors="replace")
        assert "got:hello" in out
        wait_status(rt, cid, "stopped")
    finally:
        recv.close()
    assert rt("delete", cid, timeout=30).returncode == 0


def test_terminal_create_without_console_socket(rt, make_bundle, cid):
    """config.md#process terminal (runc checkTerminal): create cannot detach a terminal it
    has nowhere to send: exact runc error, nothing created."""
    b = _terminal_bundle(make_bundle, "true")
    p = rt("create", "--bundle", str(b), cid, timeout=30)
    assert p.returncode != 0
    assert "cannot allocate tty if runc will detach without setting console socket" in p.stderr
    assert rt("state", cid).returncode != 0
    assert not (rt.root / cid).exists()


def test_console_socket_without_terminal(rt, make_bundle, cid, tmp_path):
    """config.md#process terminal false + --console-socket: runc's error, nothing created."""
    b = make_bundle(args=["true"])
    recv = ConsoleReceiver(tmp_path / "c.sock")
    try:
        p = rt("create", "--bundle", str(b), "--console-socket", str(recv.path), cid,
               timeout=30)
    finally:
        recv.close()
    assert p.returncode != 0
    assert "cannot use console socket if runc will not detach or allocate tty" in p.stderr
    assert rt("state", cid).returncode != 0


def test_terminal_dev_console_absent_without_terminal(rt, make_bundle, cid):
    """runtime-linux.md#dev-symbolic-links / runc: /dev/console exists only with a terminal."""
    b = make_bundle(args=["sh", "-c", "ls /dev/console || echo absent"])
    p = rt("run", "--bundle", str(b), cid, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith("absent")
