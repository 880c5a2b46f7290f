"""File descriptors: ``--preserve-fds`` and the fd inventory of the container (security.md D1-D4).

runtime.md says nothing about fds, runc does (runc-behavior.md 2.1 step 5, 2.3 step 15):
the container gets fds 0-2, plus exactly fds 3..3+N-1 with ``--preserve-fds N``; anything
else the caller leaked is closed before the user process runs.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import time
from contextlib import ExitStack

from _probe import detached, ok, unquote_log, wait_status

# No pipeline: ash would hold the pipe's fds itself while ``ls`` looks at them.
FD_SCRIPT = "ls /proc/$$/fd; echo END"


def _fds(out: str) -> list[str]:
    """The fd numbers listed before END."""
    return sorted(out.split("END")[0].split(), key=int)


def _high_fd(fd: int) -> int:
    """A close-on-exec copy of ``fd`` numbered >= 50 (so dup2 targets never collide)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 50)
    os.close(fd)
    return new


def _pass(fds: dict[int, int]) -> dict:
    """subprocess kwargs making ``fds[target] = source`` open (not close-on-exec) in the
    runtime process, the way a caller (conmon, a shell) leaks or passes them."""

    def pre() -> None:
        for target, src in fds.items():
            os.dup2(src, target, inheritable=True)

    return {"pass_fds": tuple(fds), "preexec_fn": pre}


def test_preserve_fds_one(rt, make_bundle, cid, tmp_path):
    """runc --preserve-fds 1 (security.md D3): fd 3 reaches the process and reads the
    caller's file; the process has exactly fds 0 1 2 3."""
    f = tmp_path / "passed.txt"
    f.write_text("through fd 3\n")
    with ExitStack() as stack:
        src = _high_fd(os.open(f, os.O_RDONLY))
        stack.callback(os.close, src)
        b = make_bundle(args=["sh", "-c", f"{FD_SCRIPT}; cat <&3"])
        p = rt("run", "--preserve-fds", "1", "--bundle", str(b), cid, timeout=30,
               **_pass({3: src}))
    out = ok(p)
    assert _fds(out) == ["0", "1", "2", "3"]
    assert out.split("END\n")[1] == "through fd 3\n"


def test_preserve_fds_two_writable(rt, make_bundle, cid, tmp_path):
    """runc --preserve-fds 2: fds 3 and 4 both pass, keeping their access mode (the
    container writes into the caller's file through fd 4)."""
    r = tmp_path / "r.txt"
    r.write_text("read me\n")
    w = tmp_path / "w.txt"
    w.write_text("")
    with ExitStack() as stack:
        rs = _high_fd(os.open(r, os.O_RDONLY))
        ws = _high_fd(os.open(w, os.O_WRONLY | os.O_APPEND))
        stack.callback(os.close, rs)
        stack.callback(os.close, ws)
        b = make_bundle(args=["sh", "-c", f"{FD_SCRIPT}; cat <&3 >&4"])
        p = rt("run", "--preserve-fds", "2", "--bundle", str(b), cid, timeout=30,
               **_pass({3: rs, 4: ws}))
    assert _fds(ok(p)) == ["0", "1", "2", "3", "4"]
    assert w.read_text() == "read me\n"


def test_leaked_fds_closed(rt, make_bundle, cid, tmp_path):
    """security.md D1: a caller that leaks non-CLOEXEC fds (a file, the host's / directory,
    a high number) gets none of them into the container: only 0 1 2."""
    f = tmp_path / "leak.txt"
    f.write_text("secret\n")
    with ExitStack() as stack:
        a = _high_fd(os.open(f, os.O_RDONLY))
        d = _high_fd(os.open("/", os.O_RDONLY | os.O_DIRECTORY))
        stack.callback(os.close, a)
        stack.callback(os.close, d)
        b = make_bundle(args=["sh", "-c", FD_SCRIPT])
        p = rt("run", "--bundle", str(b), cid, timeout=30, **_pass({3: a, 4: d, 9: a}))
    assert _fds(ok(p)) == ["0", "1", "2"]


def test_preserve_fds_only_the_listed_ones(rt, make_bundle, cid, tmp_path):
    """runc --preserve-fds N (security.md D3): exactly 3..3+N-1 pass; leaked fds above that
    are closed."""
    f = tmp_path / "leak.txt"
    f.write_text("x\n")
    with ExitStack() as stack:
        a = _high_fd(os.open(f, os.O_RDONLY))
        stack.callback(os.close, a)
        b = make_bundle(args=["sh", "-c", FD_SCRIPT])
        p = rt("run", "--preserve-fds", "1", "--bundle", str(b), cid, timeout=30,
               **_pass({3: a, 4: a, 5: a}))
    assert _fds(ok(p)) == ["0", "1", "2", "3"]


def test_cwd_through_leaked_fd_refused(rt, make_bundle, cid, tmp_path):
    """config.md#process cwd + security.md D2 (CVE-2024-21626 shape): ``cwd=/proc/self/fd/3``
    with fd 3 a leaked host directory must not start the process in that directory."""
    hostdir = tmp_path / "hostdir"
    hostdir.mkdir()
    (hostdir / "HOST-MARKER").write_text("x")
    with ExitStack() as stack:
        d = _high_fd(os.open(hostdir, os.O_RDONLY | os.O_DIRECTORY))
        stack.callback(os.close, d)
        b = make_bundle(args=["sh", "-c", "pwd; ls"], cwd="/proc/self/fd/3")
        p = rt("run", "--bundle", str(b), cid, timeout=30, **_pass({3: d}))
    assert "HOST-MARKER" not in p.stdout
    assert p.returncode != 0, p.stdout
    assert rt("state", cid).returncode != 0


def test_cwd_through_preserved_fd_refused(rt, make_bundle, cid, tmp_path):
    """config.md#process cwd + security.md D2: same with the directory passed on purpose by
    ``--preserve-fds 1``: still refused (the cwd must be inside the container root)."""
    hostdir = tmp_path / "hostdir"
    hostdir.mkdir()
    (hostdir / "HOST-MARKER").write_text("x")
    with ExitStack() as stack:
        d = _high_fd(os.open(hostdir, os.O_RDONLY | os.O_DIRECTORY))
        stack.callback(os.close, d)
        b = make_bundle(args=["sh", "-c", "pwd; ls"], cwd="/proc/self/fd/3")
        p = rt("run", "--preserve-fds", "1", "--bundle", str(b), cid, timeout=30,
               **_pass({3: d}))
    assert "HOST-MARKER" not in p.stdout
    assert p.returncode != 0, p.stdout
    err = unquote_log(p.stderr)
    assert "outside" in err or "not a directory" in err, err


def test_created_init_holds_no_host_paths(rt, make_bundle, cid, tmp_path):
    """security.md D4/F5: while ``created``, the init holds only its stdio, the exec fifo
    (which it closes before exec) and anonymous pipes/sockets: no host file or directory
    (not the bundle, the rootfs, the state dir or /)."""
    b = make_bundle(args=["true"])
    out = tmp_path / "c.out"
    p = detached(rt, "create", "--bundle", str(b), cid, out=out)
    assert p.returncode == 0, p.stderr
    pid = rt.state(cid)["pid"]
    allowed = {str(out), str(out.with_suffix(".err")), "/dev/null",
               str(rt.root / cid / "exec.fifo")}
    bad = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        if target.startswith("/") and target not in allowed:
            bad[fd] = target
    assert bad == {}
    assert rt("start", cid, timeout=30).returncode == 0
    wait_status(rt, cid, "stopped")


def test_socket_activation_fds(rt, make_bundle, cid, tmp_path):
    """LISTEN_FDS handed to the runtime (LISTEN_PID = its pid) reach the init as fds 3.. with
    LISTEN_FDS=n and LISTEN_PID=1, as runc does; exec'd processes do not inherit them."""
    data = tmp_path / "activated.txt"
    data.write_text("socket-activated\n")
    b = make_bundle(args=["sh", "-c", 'echo "$LISTEN_FDS $LISTEN_PID"; cat <&3; sleep 100'])
    cmd = " ".join(shlex.quote(c) for c in [*rt.cmd, "--root", str(rt.root), "run", "-d",
                                            "--bundle", str(b), cid])
    out = tmp_path / "out.txt"
    with open(data) as f, open(out, "w") as o:
        src = f.fileno()
        p = subprocess.run(["sh", "-c", f"LISTEN_PID=$$ LISTEN_FDS=1 exec {cmd}"], stdout=o,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30,
                           pass_fds=(3, src), preexec_fn=lambda: os.dup2(src, 3))
    assert p.returncode == 0, out.read_text()
    for _ in range(100):
        if "socket-activated" in out.read_text():
            break
        time.sleep(0.05)
    assert out.read_text().splitlines()[:2] == ["1 1", "socket-activated"]
    e = rt("exec", cid, "sh", "-c", 'echo "[$LISTEN_FDS]"', timeout=30)
    assert e.stdout == "[]\n", e.stdout
