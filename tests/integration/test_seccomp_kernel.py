"""Compiled filters in the kernel, without containers: a forked child loads one and probes it.

Each test forks a child that sets no_new_privs (unless the test is about not having it),
calls :func:`ociruntime.seccomp.load` with the compiled program, makes raw system calls and
reports the results as JSON over a pipe; the parent waits with a timeout and kills the
child if it hangs. Syscalls and arguments are chosen so that the kernel itself would answer
differently from the filter (``unshare(0)`` succeeds, ``reboot`` with bad magic is EINVAL
for root, ``mount`` on a missing target is ENOENT), so a passing test cannot be a filter
that did nothing.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ociruntime import linux as L
from ociruntime import seccomp as S
from ociruntime import seccomp_notify as N
from ociruntime.channel import SECCOMP_LISTENER, SECCOMP_LISTENER_DONE

pyseccomp = pytest.importorskip("pyseccomp")

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "seccomp"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (kernel answers differ)")

AT_FDCWD = -100
X32_BIT = 0x40000000


def nr(name: str) -> int:
    n = pyseccomp.resolve_syscall(0, name)
    assert n >= 0, name
    return int(n)


NR = {name: nr(name) for name in (
    "unshare", "reboot", "mount", "personality", "socket", "getppid", "getpid", "mkdir",
    "mkdirat", "rmdir", "clone3", "chmod", "sethostname", "getuid",
)}


def sys(name_or_nr: str | int, *args: int) -> int:
    """A raw syscall in the child: the result, or -errno."""
    n = NR[name_or_nr] if isinstance(name_or_nr, str) else name_or_nr
    cargs = [ctypes.c_long(a) if a < 1 << 63 else ctypes.c_ulong(a) for a in args]
    ctypes.set_errno(0)
    ret = _libc.syscall(ctypes.c_long(n), *cargs)
    return -ctypes.get_errno() if ret == -1 else int(ret)


def fixture(name: str) -> dict[str, Any]:
    with open(FIXTURES / f"{name}.oci.json") as f:
        data: dict[str, Any] = json.load(f)
    return data


def compiled(cfg: dict[str, Any]) -> S.CompiledFilter:
    c = S.compile_filter(cfg)
    assert c is not None
    return c


class Child:
    """The outcome of :func:`in_child`."""

    def __init__(self, status: int, result: Any) -> None:
        self.status = status
        self.result = result

    @property
    def signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None

    @property
    def exit_code(self) -> int | None:
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else None


def in_child(body: Callable[[], Any], *, nnp: bool = True, timeout: float = 20,
             setup: Callable[[int], None] | None = None, execs: bool = False) -> Child:
    """Fork; the child sets NNP, runs ``body`` and writes its JSON result to a pipe.

    ``setup(pid)`` runs in the parent after the fork (e.g. to serve a notify agent). The
    child is always reaped; one that outlives ``timeout`` is killed. With ``execs`` the
    body execs another program, which reports nothing.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(r)
            L.prctl(L.PR_SET_DUMPABLE, 0)  # a SIGSYS death leaves no core file
            if nnp:
                L.prctl(L.PR_SET_NO_NEW_PRIVS, 1)
            out = json.dumps({"ok": body()}).encode()
        except BaseException as exc:  # noqa: BLE001
            out = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
            code = 3
        os.write(w, out)
        os._exit(code)
    os.close(w)
    status = None
    try:
        if setup is not None:
            setup(pid)
        deadline = time.monotonic() + timeout
        chunks = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([r], [], [], left)
            if not ready:
                break
            data = os.read(r, 65536)
            if not data:
                break
            chunks.append(data)
        while time.monotonic() < deadline:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
                break
            time.sleep(0.01)
    finally:
        os.close(r)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    raw = b"".join(chunks)
    result = json.loads(raw) if raw else None
    if status is None or (result is None and not os.WIFSIGNALED(status) and not execs):
        pytest.fail(f"child hung or died without a result (status {status})")
    if result is not None and "error" in result:
        pytest.fail(f"child failed: {result['error']}")
    return Child(status, result["ok"] if result else None)


def loaded_then(c: S.CompiledFilter, probe: Callable[[], Any]) -> Callable[[], Any]:
    def body() -> Any:
        S.load(c.bpf, c.flags)
        return probe()

    return body


# --- blocked syscalls ----------------------------------------------------------------------


@needs_root
def test_docker_profile_blocks_with_eperm() -> None:
    c = compiled(fixture("docker-default"))

    def probe() -> dict[str, int]:
        return {
            "unshare": sys("unshare", 0),
            "reboot": sys("reboot", 0, 0, 0, 0),
            "mount": sys("mount", 0, 0, 0, 0, 0),
            "sethostname": sys("sethostname", 0, 0),
            "getpid": sys("getpid"),
            "clone3": sys("clone3", 0, 0),
            "personality_query": sys("personality", 0xFFFFFFFF),
            "personality_bad": sys("personality", 0x1234),
            "newer": sys(1000),
            "newer_x32": sys(X32_BIT | 600),
        }

    # without the filter the kernel answers differently (so the filter did the blocking)
    bare = in_child(probe)
    assert bare.result["unshare"] == 0
    assert bare.result["reboot"] == -errno.EINVAL
    assert bare.result["mount"] in (-errno.EFAULT, -errno.ENOENT)
    got = in_child(loaded_then(c, probe))
    assert got.exit_code == 0
    r = got.result
    assert r["unshare"] == r["reboot"] == r["mount"] == r["sethostname"] == -errno.EPERM
    assert r["getpid"] > 0
    assert r["clone3"] == -errno.ENOSYS  # errnoRet 38 in the profile
    assert r["personality_query"] >= 0
    assert r["personality_bad"] == -errno.EPERM
    assert r["newer"] == -errno.ENOSYS  # the -ENOSYS stub
    assert r["newer_x32"] == -errno.ENOSYS


def test_custom_errno_ret() -> None:
    c = compiled({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EROFS},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
        ],
    })
    got = in_child(loaded_then(c, lambda: [sys("unshare", 0), sys("getppid"),
                                           sys("rmdir", 0)]))
    assert got.result == [-errno.EROFS, -errno.EPERM, 0]


def test_argument_filters() -> None:
    c = compiled({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 0xFFFFFFFF, "op": "SCMP_CMP_NE"}]},
            # AND: socket(AF_UNIX, SOCK_DGRAM, *) only
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES,
             "args": [{"index": 0, "value": socket.AF_UNIX, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": socket.SOCK_DGRAM, "op": "SCMP_CMP_EQ"}]},
            # the same index twice: runc makes two rules (OR)
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.E2BIG,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EBADE,
             "args": [{"index": 0, "value": 0xF0, "valueTwo": 0x30,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EDOM,
             "args": [{"index": 2, "value": 1 << 40, "op": "SCMP_CMP_GE"}]},
        ],
    })

    def probe() -> dict[str, Any]:
        def sock(*a: int) -> int:
            fd = sys("socket", *a)
            if fd >= 0:
                os.close(fd)
                return 0
            return fd

        return {
            "pers_query": sys("personality", 0xFFFFFFFF),
            "pers_32": sys("personality", 8),
            "unix_dgram": sock(socket.AF_UNIX, socket.SOCK_DGRAM, 0),
            "unix_stream": sock(socket.AF_UNIX, socket.SOCK_STREAM, 0),
            "inet_dgram": sock(socket.AF_INET, socket.SOCK_DGRAM, 0),
            "getpid": [sys("getpid", 1) < 0, sys("getpid", 2) < 0, sys("getpid", 3) > 0],
            "masked": [sys("getppid", 0x31), sys("getppid", 0x21) > 0],
            "ge64": [sys("getuid", 0, 0, 1 << 40), sys("getuid", 0, 0, (1 << 40) - 1) >= 0],
        }

    r = in_child(loaded_then(c, probe)).result
    assert r["pers_query"] >= 0
    assert r["pers_32"] == -errno.EPERM
    assert r["unix_dgram"] == -errno.EACCES
    assert r["unix_stream"] == 0 and r["inet_dgram"] == 0
    assert r["getpid"] == [True, True, True]
    assert r["masked"] == [-errno.EBADE, True]
    assert r["ge64"] == [-errno.EDOM, True]


def test_interpreter_agrees_with_the_kernel() -> None:
    """evaluate() (used by the unit tests) predicts what the kernel answers."""
    c = compiled(fixture("docker-default"))
    calls: list[tuple[str | int, tuple[int, ...]]] = [
        ("unshare", (0,)), ("personality", (0x1234,)), ("personality", (0xFFFFFFFF,)),
        ("personality", (1 << 32 | 0xFFFFFFFF,)), ("clone3", (0, 0)), (1000, ()),
        ("socket", (40, 1, 0)), ("getpid", ()), (X32_BIT | 600, ()), (460, ()),
    ]
    got = in_child(loaded_then(c, lambda: [sys(n, *a) for n, a in calls])).result
    for (name, args), observed in zip(calls, got, strict=True):
        n = NR[name] if isinstance(name, str) else name
        verdict = S.evaluate(c.bpf, n, args)
        if verdict & S.SECCOMP_RET_ACTION_FULL == S.SECCOMP_RET_ERRNO:
            assert observed == -(verdict & S.SECCOMP_RET_DATA), (name, args)
        else:
            assert verdict == S.SECCOMP_RET_ALLOW
            assert observed >= 0, (name, args, observed)


def test_loading_imports_nothing(tmp_path: Path) -> None:
    """After pivot_root the init may not import: load() and load_and_report() do not."""
    import builtins
    import sys as _sys

    plain = compiled({"defaultAction": "SCMP_ACT_ALLOW",
                      "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})

    def body() -> Any:
        before = set(_sys.modules)
        real_import = builtins.__import__

        def no_import(*args: Any, **kwargs: Any) -> Any:
            raise ImportError(f"import after the pivot: {args[0]}")

        builtins.__import__ = no_import
        try:
            S.load(plain.bpf, plain.flags)
            S.load_and_report(plain, -1)  # no listener: the channel is not touched
            try:
                S.load(b"\0" * 7, 0)  # the error path too
            except S.SeccompError:
                pass
        finally:
            builtins.__import__ = real_import
        return {"new_modules": sorted(set(_sys.modules) - before), "ret": sys("getppid")}

    got = in_child(body).result
    assert got == {"new_modules": [], "ret": -errno.EPERM}


# --- kill, trap, log -------------------------------------------------------------------


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
def test_kill_actions_kill(action: str) -> None:
    c = compiled({"defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["getppid"], "action": action}]})
    got = in_child(loaded_then(c, lambda: sys("getppid")))
    assert got.signal == signal.SIGSYS
    assert got.result is None


def test_default_kill_action() -> None:
    c = compiled({"defaultAction": "SCMP_ACT_KILL_PROCESS",
                  "syscalls": [{"names": ["write", "exit_group", "getpid", "rt_sigprocmask",
                                          "rt_sigaction", "munmap", "mmap", "brk", "close",
                                          "exit"], "action": "SCMP_ACT_ALLOW"}]})
    got = in_child(loaded_then(c, lambda: sys("getppid")))
    assert got.signal == signal.SIGSYS


def test_trap_can_be_handled() -> None:
    c = compiled({"defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_TRAP"}]})
    seen: list[int] = []

    def body() -> Any:
        signal.signal(signal.SIGSYS, lambda signum, frame: seen.append(signum))
        S.load(c.bpf, c.flags)
        ret = sys("getppid")
        return {"ret": ret, "seen": seen}

    got = in_child(body)
    assert got.exit_code == 0
    assert got.result["seen"] == [signal.SIGSYS]  # and the syscall did not run


def test_log_and_trace_let_the_call_through_or_not() -> None:
    c = compiled({"defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_LOG"},
                               {"names": ["getpid"], "action": "SCMP_ACT_TRACE"}]})
    got = in_child(loaded_then(c, lambda: [sys("getppid"), sys("getpid")]))
    assert got.result[0] == os.getpid()  # LOG: allowed (and logged)
    assert got.result[1] == -errno.ENOSYS  # TRACE without a tracer


# --- the state of the process ----------------------------------------------------------


def test_status_shows_filter_mode() -> None:
    c = compiled(fixture("docker-default"))

    def probe() -> list[str]:
        with open("/proc/self/status") as f:
            return [ln.strip() for ln in f if ln.startswith(("Seccomp", "NoNewPrivs"))]

    lines = in_child(loaded_then(c, probe)).result
    assert "Seccomp:\t2" in lines
    assert "Seccomp_filters:\t1" in lines
    assert "NoNewPrivs:\t1" in lines


BUSYBOX = "/bin/busybox"


@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="needs busybox-static")
@pytest.mark.parametrize("name", ["docker-default", "podman-default"])
def test_exec_keeps_the_filter_and_busybox_works(tmp_path: Path, name: str) -> None:
    """The engines' profiles run a busybox shell normally, the exec'd program keeps the
    filter, and what the profile refuses stays refused."""
    c = compiled(fixture(name))
    out = tmp_path / "out"
    script = (
        "grep ^Seccomp /proc/self/status; "
        "ls / > /dev/null && echo ls=ok; "
        "echo hi | busybox sed s/hi/sed=ok/; "
        "busybox mkdir d && busybox rmdir d && echo mkdir=ok; "
        "(sleep 0; echo subshell=ok) & wait; "
        "busybox unshare -U true 2>/dev/null; echo unshare=$?; "
        "busybox mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?; "
    )

    def body() -> Any:
        os.chdir(tmp_path)
        S.load(c.bpf, c.flags)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        env = {"PATH": "/nonexistent"}  # busybox applets only
        os.execve(BUSYBOX, ["sh", "-c", script], env)

    child = in_child(body, execs=True)
    text = out.read_text()
    assert child.exit_code == 0, text
    for line in ("Seccomp:\t2", "ls=ok", "sed=ok", "mkdir=ok", "subshell=ok"):
        assert line in text, text
    assert "unshare=0" not in text and "unshare=" in text
    assert "mount=0" not in text and "mount=" in text


@needs_root
def test_without_no_new_privs_needs_cap_sys_admin() -> None:
    c = compiled({"defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})

    def with_cap() -> Any:
        S.load(c.bpf, c.flags)
        return sys("getppid")

    assert in_child(with_cap, nnp=False).result == -errno.EPERM

    def without_cap() -> Any:
        eff, perm, inh = L.capget()
        L.capset(eff & ~(1 << 21), perm, inh)  # drop CAP_SYS_ADMIN from the effective set
        try:
            S.load(c.bpf, c.flags)
        except S.SeccompError as exc:
            return str(exc)
        return "loaded"

    assert in_child(without_cap, nnp=False).result == (
        "error loading seccomp filter into kernel: error loading seccomp filter: "
        "permission denied")


@pytest.mark.parametrize("flag", ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])
def test_flags_load(flag: str) -> None:
    if flag not in S.features_seccomp()["supportedFlags"]:
        pytest.skip(f"{flag} not supported here")
    c = compiled({"defaultAction": "SCMP_ACT_ALLOW", "flags": [flag],
                  "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})
    assert c.flags == S.KNOWN_FLAGS[flag]
    assert in_child(loaded_then(c, lambda: sys("getppid"))).result == -errno.EPERM


def test_tsync_reaches_other_threads() -> None:
    c = compiled({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
                  "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})

    def body() -> Any:
        go, done = threading.Event(), threading.Event()
        seen: list[int] = []

        def other() -> None:
            go.wait()
            seen.append(sys("getppid"))
            done.set()

        t = threading.Thread(target=other)
        t.start()
        S.load(c.bpf, c.flags)
        go.set()
        done.wait(5)
        t.join()
        return seen

    assert in_child(body).result == [-errno.EPERM]


# --- SCMP_ACT_NOTIFY -----------------------------------------------------------------------


class Agent:
    """A seccomp agent: takes the listener from the runtime and answers mkdir calls."""

    def __init__(self, path: Path, answers: list[dict[str, Any]]) -> None:
        self.path = str(path)
        self.answers = answers
        self.state: dict[str, Any] | None = None
        self.seen: list[tuple[int, tuple[int, ...]]] = []
        self.error: BaseException | None = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(15)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                listener, self.state = N.receive_listener(conn)
            try:
                for answer in self.answers:
                    if not N.wait(listener, 15):
                        raise TimeoutError("no notification")
                    note = N.receive(listener)
                    self.seen.append((note.nr, note.args))
                    assert N.still_valid(listener, note.id)
                    N.respond(listener, note.id, **answer)
            finally:
                os.close(listener)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def close(self) -> None:
        self.thread.join(20)
        self.sock.close()


def notify_profile(listener: Path, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": str(listener),
        "listenerMetadata": "test-metadata",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
    }
    cfg.update(extra)
    return cfg


@pytest.mark.parametrize("flags", [[], ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                                   ["SECCOMP_FILTER_FLAG_TSYNC"]])
def test_notify_agent_answers(tmp_path: Path, flags: list[str]) -> None:
    needed = [f for f in flags if f not in S.features_seccomp()["supportedFlags"]]
    if needed:
        pytest.skip(f"{needed} not supported here")
    sock_path = tmp_path / "agent.sock"
    cfg = notify_profile(sock_path, flags=flags)
    c = compiled(cfg)
    assert c.notify and c.flags & S.FLAG_NEW_LISTENER
    agent = Agent(sock_path, [{"errno": errno.EROFS}, {"val": 0}, {"continue_": True}])
    fd_r, fd_w = os.pipe()
    target = tmp_path / "made-by-agent"
    real = tmp_path / "made-for-real"

    def body() -> Any:
        os.close(fd_r)
        listener = S.load(c.bpf, c.flags)
        # what the init does: report the fd number with a plain write
        os.write(fd_w, str(listener).encode())
        os.close(fd_w)
        out = []
        for path in (target, target, real):
            try:
                os.mkdir(path)
                out.append(0)
            except OSError as exc:
                out.append(-(exc.errno or 0))
        return out

    def runtime_side(pid: int) -> None:
        # what the runtime does: fetch the fd with pidfd_getfd, send it to the agent
        os.close(fd_w)
        number = int(os.read(fd_r, 32))
        os.close(fd_r)
        agent.thread.start()
        listener = S.fetch_listener(pid, number)
        try:
            state = {"ociVersion": "1.2.0", "id": "ctr", "status": "creating", "pid": pid,
                     "bundle": "/bundle"}
            S.send_listener(str(sock_path), listener,
                            S.container_process_state(state, pid, cfg["listenerMetadata"]))
        finally:
            os.close(listener)

    try:
        got = in_child(body, setup=runtime_side)
    finally:
        agent.close()
    assert agent.error is None, agent.error
    assert got.result == [-errno.EROFS, 0, 0]
    assert not target.exists()  # the "success" was the agent's answer
    assert real.is_dir()  # CONTINUE: the kernel ran it
    assert [nr in (NR["mkdir"], NR["mkdirat"]) for nr, _ in agent.seen] == [True] * 3
    assert agent.state is not None
    assert agent.state["fds"] == ["seccompFd"]
    assert agent.state["metadata"] == "test-metadata"
    assert agent.state["state"]["id"] == "ctr"
    assert agent.state["pid"] == agent.state["state"]["pid"]


def test_notify_over_the_init_channel(tmp_path: Path) -> None:
    """load_and_report / serve_listener: the hand-over the init and create will use."""
    sock_path = tmp_path / "agent.sock"
    cfg = notify_profile(sock_path)
    c = compiled(cfg)
    agent = Agent(sock_path, [{"errno": errno.EDQUOT}])
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def body() -> Any:
        parent_end.close()
        S.load_and_report(c, child_end.fileno())
        try:
            os.mkdir(tmp_path / "quota")
        except OSError as exc:
            return -(exc.errno or 0)
        return 0

    def runtime_side(pid: int) -> None:
        child_end.close()
        agent.thread.start()
        frame = json.loads(parent_end.recv(4096))
        assert frame["type"] == SECCOMP_LISTENER
        state = {"ociVersion": "1.2.0", "id": "ctr", "status": "creating", "pid": pid,
                 "bundle": "/bundle"}
        S.serve_listener(frame, pid, cfg, state)
        parent_end.send(json.dumps({"type": SECCOMP_LISTENER_DONE}).encode())

    try:
        got = in_child(body, setup=runtime_side)
    finally:
        agent.close()
        parent_end.close()
        child_end.close()
    assert agent.error is None, agent.error
    assert got.result == -errno.EDQUOT
    assert agent.state is not None and agent.state["metadata"] == "test-metadata"


def test_serve_listener_agent_absent(tmp_path: Path) -> None:
    """The runtime side fails with runc's message; the child is then killed by the runtime."""
    cfg = notify_profile(tmp_path / "nobody.sock")
    c = compiled(cfg)
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    errors: list[str] = []

    def body() -> Any:
        parent_end.close()
        S.load_and_report(c, child_end.fileno())
        return "not reached"

    def runtime_side(pid: int) -> None:
        child_end.close()
        frame = json.loads(parent_end.recv(4096))
        try:
            S.serve_listener(frame, pid, cfg, {"id": "ctr"})
        except S.SeccompError as exc:
            errors.append(str(exc))
            os.kill(pid, signal.SIGKILL)

    try:
        got = in_child(body, setup=runtime_side)
    finally:
        parent_end.close()
        child_end.close()
    assert got.signal == signal.SIGKILL
    assert errors == [
        "failed to connect with seccomp agent specified in the seccomp profile: dial unix "
        f"{tmp_path / 'nobody.sock'}: connect: no such file or directory"]


def test_notify_without_agent_fails_the_syscall(tmp_path: Path) -> None:
    """If nobody holds the listener, notified syscalls fail with ENOSYS (kernel)."""
    c = compiled(notify_profile(tmp_path / "nobody.sock"))

    def body() -> Any:
        listener = S.load(c.bpf, c.flags)
        os.close(listener)
        try:
            os.mkdir(tmp_path / "x")
        except OSError as exc:
            return -(exc.errno or 0)
        return 0

    assert in_child(body).result == -errno.ENOSYS
    assert not (tmp_path / "x").exists()


def test_send_listener_agent_absent(tmp_path: Path) -> None:
    c = compiled(notify_profile(tmp_path / "nobody.sock"))
    assert c.notify
    r, w = os.pipe()
    try:
        with pytest.raises(S.SeccompError, match="failed to connect with seccomp agent"):
            S.send_listener(str(tmp_path / "nobody.sock"), r, {})
    finally:
        os.close(r)
        os.close(w)


# --- the same verdicts as runc 1.1.5 ------------------------------------------------------

RUNC = "/usr/bin/runc"
_PTRACE_SEIZE = 0x4206
_PTRACE_INTERRUPT = 0x4207
_PTRACE_DETACH = 17
_PTRACE_SECCOMP_GET_FILTER = 0x420C


def _filter_of(pid: int) -> bytes:
    """The first seccomp filter of ``pid`` (PTRACE_SECCOMP_GET_FILTER; needs root)."""
    ptrace = _libc.ptrace
    ptrace.restype = ctypes.c_long
    ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    assert ptrace(_PTRACE_SEIZE, pid, None, None) == 0, os.strerror(ctypes.get_errno())
    try:
        ptrace(_PTRACE_INTERRUPT, pid, None, None)
        os.waitpid(pid, 0x40000000)  # __WALL
        count = ptrace(_PTRACE_SECCOMP_GET_FILTER, pid, None, None)
        assert count > 0, os.strerror(ctypes.get_errno())
        buf = ctypes.create_string_buffer(count * 8)
        assert ptrace(_PTRACE_SECCOMP_GET_FILTER, pid, None, buf) == count
        return buf.raw
    finally:
        ptrace(_PTRACE_DETACH, pid, None, None)


@needs_root
@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(RUNC), reason="needs runc")
@pytest.mark.parametrize("name", ["docker-default", "podman-default"])
def test_same_verdicts_as_runc(name: str, tmp_path: Path, rootfs: Path,
                               base_config: dict[str, Any]) -> None:
    """Run the profile under runc, read back the program runc loaded, and compare its
    answers with ours over every syscall number, several arguments and architectures."""
    import subprocess

    cfg = json.loads(json.dumps(base_config))
    cfg["root"]["path"] = str(rootfs)
    cfg["process"]["args"] = ["sleep", "30"]
    cfg["linux"]["seccomp"] = fixture(name)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(cfg))
    root = str(tmp_path / "runc-root")
    cid = f"sc-{os.getpid()}-{name}"
    # the detached container inherits stdio: no pipes, or run() waits for it to exit
    with open(tmp_path / "runc.log", "w") as log:
        subprocess.run([RUNC, "--root", root, "run", "-d", "--bundle", str(bundle), cid],
                       check=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                       timeout=30)
    try:
        state = json.loads(subprocess.run([RUNC, "--root", root, "state", cid], check=True,
                                          capture_output=True, timeout=30).stdout)
        theirs = _filter_of(int(state["pid"]))
    finally:
        subprocess.run([RUNC, "--root", root, "delete", "--force", cid],
                       capture_output=True, timeout=30)
        # runc 1.1.5 can leave the (empty) cgroups of a force-deleted container behind.
        for d in Path("/sys/fs/cgroup").glob(f"**/{cid}"):
            try:
                d.rmdir()
            except OSError:
                pass
    ours = compiled(fixture(name)).bpf
    numbers = [*range(0, 1100), *(X32_BIT | n for n in range(0, 700)), 0x7FFFFFFF, 0xFFFFFFFF]
    argsets: list[tuple[int, ...]] = [(), (0xFFFFFFFF,), (8,), (0x10000000,), (40,),
                                      (16, 3, 9), (1 << 33,), (0x7E020000,)]
    diffs = []
    for arch in (S.AUDIT_ARCH_X86_64, S.AUDIT_ARCH_I386, S.ARCHS["SCMP_ARCH_AARCH64"]):
        for n in numbers:
            for args in argsets:
                a = S.evaluate(ours, n, args, arch=arch)
                b = S.evaluate(theirs, n, args, arch=arch)
                if a != b:
                    diffs.append((hex(arch), n, args, S.action_name(a), S.action_name(b)))
    assert not diffs, diffs[:20]
