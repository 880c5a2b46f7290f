"""``exec``: another process in a live container (runc-behavior.md 2.8, security.md).

Every test starts its own detached container (``run -d`` with stdio in files) and runs
``exec`` against it; the ``rt`` fixture force-deletes the container afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration._probe import (
    ConsoleReceiver,
    detached,
    is_runc,
    parse_status,
    unquote_log,
)

T = 20


def _start(rt, make_bundle, cid, tmp_path, **process) -> str:
    b = make_bundle(args=["sleep", "1000"], **process)
    p = detached(rt, "run", "-d", "--bundle", str(b), cid, out=tmp_path / "run.out")
    assert p.returncode == 0, p.stderr
    return str(b)


def test_exit_status_and_signal(rt, make_bundle, cid, tmp_path):
    """The exec'd process's status is the exit code; killed by signal N gives 128+N."""
    _start(rt, make_bundle, cid, tmp_path)
    assert rt("exec", cid, "sh", "-c", "exit 3", timeout=T).returncode == 3
    assert rt("exec", cid, "sh", "-c", "kill -9 $$", timeout=T).returncode == 137
    p = rt("exec", cid, "echo", "hello", timeout=T)
    assert (p.returncode, p.stdout, p.stderr) == (0, "hello\n", "")


def test_env_cwd_user_groups(rt, make_bundle, cid, tmp_path):
    """--env, --cwd, --user UID:GID and --additional-gids take effect exactly."""
    _start(rt, make_bundle, cid, tmp_path)
    p = rt("exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000",
           "--additional-gids", "10", "--additional-gids", "20", cid,
           "sh", "-c", 'echo "$FOO"; pwd; id -u; id -g; grep ^Groups /proc/self/status',
           timeout=T)
    assert p.returncode == 0, p.stderr
    foo, cwd, uid, gid, groups = p.stdout.splitlines()
    assert (foo, cwd, uid, gid) == ("bar", "/tmp", "1000", "1000")
    assert groups.split()[1:] == ["10", "20"]


def test_cap_flag_never_inheritable(rt, make_bundle, cid, tmp_path):
    """--cap adds to bounding/effective/permitted/ambient, never inheritable
    (CVE-2022-29162)."""
    _start(rt, make_bundle, cid, tmp_path)
    p = rt("exec", "--cap", "CAP_SYS_ADMIN", cid, "cat", "/proc/self/status", timeout=T)
    assert p.returncode == 0, p.stderr
    st = parse_status(p.stdout)
    admin = 1 << 21
    assert int(st["CapEff"], 16) & admin and int(st["CapBnd"], 16) & admin
    assert int(st["CapInh"], 16) == 0


def test_process_json_taken_as_is(rt, make_bundle, cid, tmp_path):
    """-p process.json: args, env, cwd and user come from the file (conmon, the shim)."""
    _start(rt, make_bundle, cid, tmp_path)
    proc = {"args": ["sh", "-c", 'echo "$X $(id -u) $(pwd)"'], "env": ["X=from-json",
            "PATH=/bin"], "cwd": "/etc", "user": {"uid": 65534, "gid": 65534}}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    p = rt("exec", "--process", str(f), cid, timeout=T)
    assert (p.returncode, p.stdout) == (0, "from-json 65534 /etc\n"), p.stderr


def test_detached_with_pid_file(rt, make_bundle, cid, tmp_path):
    """-d returns 0 at once and writes the pid file: digits only, no newline."""
    _start(rt, make_bundle, cid, tmp_path)
    pidfile = tmp_path / "exec.pid"
    p = detached(rt, "exec", "-d", "--pid-file", str(pidfile), cid, "sleep", "30",
                 out=tmp_path / "exec.out")
    assert p.returncode == 0, p.stderr
    raw = pidfile.read_text()
    assert raw.isdigit()
    with open(f"/proc/{raw}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"30"]
    init = rt.state(cid)["pid"]
    assert os.readlink(f"/proc/{raw}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")


def test_tty_through_console_socket(rt, make_bundle, cid, tmp_path):
    """-t with --console-socket: one SCM_RIGHTS fd with payload /dev/ptmx (conmon's way)."""
    _start(rt, make_bundle, cid, tmp_path)
    recv = ConsoleReceiver(tmp_path / "console.sock")
    try:
        p = detached(rt, "exec", "-t", "-d", "--console-socket", str(recv.path), cid,
                     "sh", "-c", "tty; echo on-the-tty", out=tmp_path / "tty.out")
        assert p.returncode == 0, p.stderr
        master = recv.master()
        assert recv.payload == b"/dev/ptmx"
        out = ConsoleReceiver.read_all(master).decode()
        assert "/dev/pts/" in out and "on-the-tty" in out
    finally:
        recv.close()


def test_preserve_fds(rt, make_bundle, cid, tmp_path):
    """--preserve-fds 1 passes fd 3; no other fd of the runtime reaches the process."""
    _start(rt, make_bundle, cid, tmp_path)
    data = tmp_path / "fd3.txt"
    data.write_text("through fd 3\n")
    with open(data) as f:
        src = f.fileno()
        # fd 3 of this process belongs to pytest: only the child gets the file there.
        p = rt("exec", "--preserve-fds", "1", cid, "sh", "-c", "cat <&3; ls /proc/self/fd",
               timeout=T, pass_fds=(3, src), preexec_fn=lambda: os.dup2(src, 3))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "through fd 3"
    # 0-2, 3, and the fd ls itself opens for /proc/self/fd
    assert set(lines[1:]) <= {"0", "1", "2", "3", "4"}


def test_fd_inventory_points_nowhere_on_the_host(rt, make_bundle, cid, tmp_path):
    """security.md F5 / CVE-2024-21626: the exec'd process holds no host fd and its cwd
    is inside the container."""
    b = _start(rt, make_bundle, cid, tmp_path)
    p = rt("exec", cid, "sh", "-c", "for f in /proc/self/fd/*; do readlink $f; done; "
           "readlink /proc/self/cwd", timeout=T, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    for target in p.stdout.split():
        assert b not in target and "/work/" not in target and "/tmp/" not in target, target


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/pids"), reason="needs the v1 pids hierarchy")
def test_cgroup_sub_path(rt, make_bundle, cid, tmp_path):
    """--cgroup ctrl:path puts the process in an existing sub-cgroup of the container;
    a path leaving the container's cgroup is refused."""
    _start(rt, make_bundle, cid, tmp_path)
    saved = json.loads((rt.root / cid / "state.json").read_text()) if not is_runc() else None
    if saved is None:
        pytest.skip("reads ociruntime's state.json for the cgroup path")
    base = Path(saved["cgroup_paths"]["pids"])
    sub = base / "sub"
    sub.mkdir()
    try:
        p = rt("exec", "--cgroup", "pids:sub", cid, "sh", "-c", "cat /proc/self/cgroup",
               timeout=T)
        assert p.returncode == 0, p.stderr
        assert any(line.split(":", 2)[1] == "pids" and line.endswith("/sub")
                   for line in p.stdout.splitlines()), p.stdout
        bad = rt("exec", "--cgroup", "pids:../../escape", cid, "true", timeout=T)
        assert bad.returncode == 255
        assert "leaves the container's cgroup" in bad.stderr
    finally:
        sub.rmdir()


def test_exec_is_in_every_cgroup_of_the_init(rt, make_bundle, cid, tmp_path):
    """The exec'd process is in the init's cgroup in every hierarchy (the intermediate
    moves itself into the v1 ones and is born in the cgroup2 one), seen from the host."""
    _start(rt, make_bundle, cid, tmp_path)
    pid = json.loads(rt("state", cid).stdout)["pid"]
    pid_file = tmp_path / "exec.pid"
    p = detached(rt, "exec", "-d", "--pid-file", str(pid_file), cid, "sleep", "100",
                 out=tmp_path / "exec.out", timeout=T)
    assert p.returncode == 0, p.stderr
    exec_pid = int(pid_file.read_text())
    try:
        assert (sorted(Path(f"/proc/{exec_pid}/cgroup").read_text().splitlines())
                == sorted(Path(f"/proc/{pid}/cgroup").read_text().splitlines()))
    finally:
        os.kill(exec_pid, 9)


def test_paused_and_stopped(rt, make_bundle, cid, tmp_path):
    """Exec into a paused container fails unless --ignore-paused; into a stopped one
    fails; both exit 255 with runc's wording."""
    _start(rt, make_bundle, cid, tmp_path)
    assert rt("pause", cid, timeout=T).returncode == 0
    p = rt("exec", cid, "true", timeout=T)
    assert p.returncode == 255
    assert "cannot exec in a paused container (use --ignore-paused to override)" in p.stderr
    p = detached(rt, "exec", "-d", "--ignore-paused", cid, "true", out=tmp_path / "ip.out")
    assert p.returncode == 0, p.stderr
    assert rt("resume", cid, timeout=T).returncode == 0
    assert rt("kill", cid, "KILL", timeout=T).returncode == 0
    for _ in range(100):
        if rt.state(cid)["status"] == "stopped":
            break
    p = rt("exec", cid, "true", timeout=T)
    assert p.returncode == 255
    assert "cannot exec in a stopped container" in p.stderr


def test_missing_executable(rt, make_bundle, cid, tmp_path):
    """A missing binary: exit 255 and Go's wording (podman maps it to 127)."""
    _start(rt, make_bundle, cid, tmp_path)
    p = rt("exec", cid, "nosuchbinary", timeout=T)
    assert p.returncode == 255
    assert 'exec: "nosuchbinary": executable file not found in $PATH' in unquote_log(p.stderr)


@pytest.mark.skipif(is_runc(), reason="ociruntime's own guard against its interpreter")
def test_runtime_interpreter_not_executable_through_proc_self_exe(rt, make_bundle, cid,
                                                                   tmp_path):
    """CVE-2019-5736 shape: exec of /proc/self/exe (the runtime's interpreter while it is
    joining) is refused instead of running the host's python inside the container."""
    _start(rt, make_bundle, cid, tmp_path)
    p = rt("exec", cid, "/proc/self/exe", "-c", "print(1)", timeout=T)
    assert p.returncode == 255
    assert "refusing to execute through a magic link" in p.stderr


@pytest.mark.skipif(is_runc(), reason="checks ociruntime's sealed interpreter copy")
def test_ptrace_capable_container_never_sees_the_host_interpreter(rt, make_bundle, cid,
                                                                   base_config, tmp_path):
    """With CAP_SYS_PTRACE and no user namespace, the process waiting in the container runs
    from a sealed memfd copy: opening its exe for writing and writing fails, and the host's
    interpreter file is unchanged (tested on the copy, never on the host's file)."""
    import copy

    cfg = copy.deepcopy(base_config)
    for kind in ("bounding", "effective", "permitted"):
        cfg["process"]["capabilities"][kind].append("CAP_SYS_PTRACE")
    b = make_bundle(cfg, args=["sleep", "100"])
    p = detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out")
    assert p.returncode == 0, p.stderr
    pid = rt.state(cid)["pid"]
    exe = os.readlink(f"/proc/{pid}/exe")
    assert exe.startswith("/memfd:ociruntime-sealed"), exe
    host_python = os.path.realpath("/proc/self/exe")
    before = hashlib.sha256(Path(host_python).read_bytes()).hexdigest()
    import errno

    try:
        fd = os.open(f"/proc/{pid}/exe", os.O_WRONLY)
    except OSError as exc:  # ETXTBSY while it is being executed
        assert exc.errno in (errno.ETXTBSY, errno.EPERM, errno.EACCES), exc
    else:
        try:
            with pytest.raises(PermissionError):  # F_SEAL_WRITE
                os.write(fd, b"\x7fELF-overwritten")
        finally:
            os.close(fd)
    assert hashlib.sha256(Path(host_python).read_bytes()).hexdigest() == before


@pytest.mark.skipif(is_runc(), reason="ociruntime's guard for its unsealed waiting init")
def test_ptrace_exec_into_a_created_container_refused(rt, make_bundle, cid, tmp_path):
    """A CAP_SYS_PTRACE process could reach the created (not yet started) init, which is
    still the host's interpreter: refused until the container is started."""
    b = make_bundle(args=["sleep", "100"])
    assert detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out").returncode == 0
    p = rt("exec", "--cap", "CAP_SYS_PTRACE", cid, "true", timeout=T)
    assert p.returncode == 255
    assert "CVE-2019-5736" in unquote_log(p.stderr)
    assert rt("start", cid, timeout=T).returncode == 0
    assert rt("exec", "--cap", "CAP_SYS_PTRACE", cid, "true", timeout=T).returncode == 0
