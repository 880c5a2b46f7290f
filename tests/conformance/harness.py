"""The conformance harness: drive any runc-compatible runtime through the spec's operations.

Everything here is runtime-neutral: it only uses the command line that runc defines
(``--root``, ``create --bundle [--console-socket]``, ``start``, ``state``, ``kill``, ``delete``)
and looks at the result from the host (``/proc``) or from inside with the probe
(``helper/probe.c``). Nothing reads the runtime's private state files.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCHEMA_DIR = REPO.parent / "shared" / "runtime-spec-schema"
BASE_CONFIG = REPO / "bundles" / "busybox" / "config.json"

# Where the probe lives inside every test rootfs (also linked as /bin/probe for PATH lookups).
PROBE = "/probe"
# The host directory bound at /shared in bundles made with shared=True (hook logs, outputs).
SHARED = "/shared"

CAP_NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON",
    "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]


def runtime_cmd() -> list[str]:
    """``$RUNTIME`` (split like a shell word list), else the installed launcher, else -m."""
    env = os.environ.get("RUNTIME")
    if env:
        return shlex.split(env)
    launcher = REPO / ".venv" / "bin" / "ociruntime"
    if launcher.exists():
        return [str(launcher)]
    return [sys.executable, "-I", "-m", "ociruntime"]


def runtime_name(cmd: list[str] | None = None) -> str:
    cmd = cmd or runtime_cmd()
    if cmd[-2:] == ["-m", "ociruntime"]:
        return "ociruntime"
    return os.path.basename(cmd[0])


def caps_from_hex(text: str) -> set[str]:
    """``CapEff`` etc. of /proc/PID/status as a set of names (unknown bits as CAP_<n>)."""
    value = int(text, 16)
    out = set()
    for bit in range(64):
        if value >> bit & 1:
            out.add(CAP_NAMES[bit] if bit < len(CAP_NAMES) else f"CAP_{bit}")
    return out


def base_config() -> dict[str, Any]:
    """The default bundle's config (``runc spec`` shape) running the probe once."""
    cfg = json.loads(BASE_CONFIG.read_text())
    cfg["process"]["args"] = [PROBE, "all"]
    cfg["process"]["terminal"] = False
    cfg["root"]["path"] = "rootfs"
    if os.environ.get("OCI_VERSION"):
        cfg["ociVersion"] = os.environ["OCI_VERSION"]
    return cfg


# ---- /proc helpers -------------------------------------------------------------------------

def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state letter, ppid, starttime) of a pid, or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def alive(pid: int) -> bool:
    """True if the pid exists and is neither a zombie nor dead."""
    st = proc_stat(pid)
    return st is not None and st[0] not in "ZX"


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def live_children() -> set[int]:
    """Live (non-zombie) processes whose parent is this test process."""
    me = os.getpid()
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[1] == me and st[0] not in "ZX":
                out.add(int(d))
    return out


def host_ns(kind: str, pid: int | str = "self") -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def set_subreaper(on: bool) -> None:
    """PR_SET_CHILD_SUBREAPER: container inits orphaned by `create` become ours to reap.

    The host's PID 1 here does not reap orphans; without this every container that exits
    after `create` has returned would stay a zombie until the machine reboots.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1 if on else 0, 0, 0, 0)


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def reap_zombie_children() -> None:
    """Reap zombies reparented to us (never a pid a live Popen object still waits for)."""
    me = os.getpid()
    busy = {p.pid for p in getattr(subprocess, "_active", []) or []}
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in busy:
            st = proc_stat(int(d))
            if st and st[1] == me and st[0] == "Z":
                reap(int(d))


# ---- results ---------------------------------------------------------------------------------

@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    started: int  # time.monotonic_ns() before the call
    ended: int  # ... and after it

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        return (f"`{' '.join(self.args)}` exited {self.returncode}; stdout={self.stdout!r} "
                f"stderr={self.stderr!r}")


class Bundle:
    """A bundle directory with a private rootfs copy (probe included) and its config."""

    def __init__(self, path: Path, config: dict[str, Any], shared: Path | None) -> None:
        self.path = path
        self.config = config
        self.shared = shared

    @property
    def rootfs(self) -> Path:
        p = Path(self.config["root"]["path"])
        return p if p.is_absolute() else self.path / p

    @property
    def hook_log(self) -> Path:
        assert self.shared is not None, "bundle made without shared=True"
        return self.shared / "hooks.log"

    def write(self) -> None:
        (self.path / "config.json").write_text(json.dumps(self.config, indent=1))

    def hook_entries(self) -> list[dict[str, Any]]:
        try:
            text = self.hook_log.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]


class ConsoleSocket:
    """The receiving end of ``--console-socket``: gets the pty master, reads everything."""

    def __init__(self) -> None:
        # AF_UNIX paths are limited to 108 bytes: keep it short, outside tmp_path.
        self.dir = tempfile.mkdtemp(prefix="oci-cs-", dir="/tmp")
        self.path = os.path.join(self.dir, "s")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.master: int | None = None
        self.payload = b""
        self.output = bytearray()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
            self.payload = msg
            if not fds:
                raise RuntimeError("no fd received on the console socket")
            self.master = fds[0]
            for extra in fds[1:]:
                os.close(extra)
            while True:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO once every slave fd is closed
                    break
                if not chunk:
                    break
                self.output += chunk
        except BaseException as exc:  # noqa: BLE001 - reported by wait()
            self.error = exc

    def wait(self, timeout: float = 5) -> bytes:
        """Everything read from the master: until EIO (every slave closed) or ``timeout``."""
        self.thread.join(timeout)
        if self.error:
            raise self.error
        if self.master is None:
            raise AssertionError(f"no pty master arrived on --console-socket in {timeout}s")
        return bytes(self.output)

    def close(self) -> None:
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = None
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Harness:
    """One test's view of the runtime: a private ``--root``, unique ids, bundles, cleanup."""

    def __init__(self, tmp_path: Path, probe: Path, rootfs: Path) -> None:
        self.tmp = tmp_path
        self.root = tmp_path / "state"
        self.cmd = runtime_cmd()
        self.probe_host = probe  # the probe on the host: path of runtime-namespace hooks
        self.base_rootfs = rootfs
        self.ids: list[str] = []
        self.pids: dict[int, int] = {}  # pid -> starttime, every container process seen
        self.consoles: list[ConsoleSocket] = []
        self.cgroups: list[str] = []
        self.cgroup_dirs: list[Path] = []  # host cgroup directories to remove (deepest first)
        self.public_dirs: list[Path] = []
        self.children_before = live_children()
        self._n = 0

    # -- ids, configs, bundles --------------------------------------------------------------

    def new_id(self) -> str:
        cid = "conf-" + uuid.uuid4().hex[:12]
        self.ids.append(cid)
        return cid

    def cgroup_path(self, cid: str) -> str:
        """A ``linux.cgroupsPath`` of its own for ``cid`` (removed on cleanup if left)."""
        path = f"/oci-conformance-{cid}"
        self.cgroups.append(path)
        return path

    def bundle(self, config: dict[str, Any] | None = None, *, shared: bool = False,
               args: list[str] | None = None, public: bool = False) -> Bundle:
        """A bundle with its own copy of the rootfs; ``shared`` binds a host dir at /shared.

        ``public`` puts the bundle in a directory of its own under /tmp that every uid may
        traverse (mode 0711), for containers whose root is an unprivileged host uid (user
        namespaces): pytest's tmp_path is 0700. It is removed on cleanup.
        """
        self._n += 1
        if public:
            top = Path(tempfile.mkdtemp(prefix="oci-conf-", dir="/tmp"))
            top.chmod(0o711)
            self.public_dirs.append(top)
            path = top / f"bundle{self._n}"
        else:
            path = self.tmp / f"bundle{self._n}"
        path.mkdir()
        if public:
            path.chmod(0o711)
        cfg = copy.deepcopy(config if config is not None else base_config())
        shutil.copytree(self.base_rootfs, path / "rootfs", symlinks=True)
        shared_dir = None
        if shared:
            shared_dir = path / "shared"
            shared_dir.mkdir()
            shared_dir.chmod(0o777)
            cfg.setdefault("mounts", []).append({
                "destination": SHARED, "type": "bind", "source": str(shared_dir),
                "options": ["rbind", "rw"]})
        if args is not None:
            cfg["process"]["args"] = args
        b = Bundle(path, cfg, shared_dir)
        b.write()
        return b

    def marker_bundle(self, sleep: int | None = 60, **kw: Any) -> Bundle:
        """A shared bundle whose user program logs a ``process`` entry, then sleeps."""
        b = self.bundle(shared=True, args=marker_args(), **kw)
        if sleep is not None:
            b.config["process"]["env"].append(f"PROBE_HOOK_SLEEP={sleep}")
            b.write()
        return b

    def hook(self, bundle: Bundle, name: str, *, exit_code: int = 0, sleep: int | None = None,
             in_container: bool = False, timeout: int | None = None,
             env: Iterable[str] = ()) -> dict[str, Any]:
        """A hook entry that runs the probe in ``hook`` mode, logging to the bundle's log."""
        if in_container:
            path, log = PROBE, f"{SHARED}/hooks.log"
        else:
            path, log = str(self.probe_host), str(bundle.hook_log)
        h: dict[str, Any] = {"path": path, "args": ["probe", "hook", log, name],
                             "env": [f"PROBE_HOOK_EXIT={exit_code}", *env]}
        if sleep is not None:
            h["env"].append(f"PROBE_HOOK_SLEEP={sleep}")
        if timeout is not None:
            h["timeout"] = timeout
        return h

    # -- running the runtime ------------------------------------------------------------------

    def rt(self, *args: str, timeout: float = 60, cwd: str | Path | None = None,
           stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE,
           preexec_fn: Callable[[], None] | None = None,
           global_args: Iterable[str] = ()) -> Result:
        argv = [*self.cmd, "--root", str(self.root), *global_args, *args]
        t0 = time.monotonic_ns()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                           timeout=timeout, cwd=cwd, text=True, preexec_fn=preexec_fn)
        t1 = time.monotonic_ns()
        return Result(argv, p.returncode, p.stdout or "", p.stderr or "", t0, t1)

    def create(self, bundle: Bundle | Path | str | None, cid: str | None = None, *,
               console: ConsoleSocket | None = None, cwd: str | Path | None = None,
               extra: Iterable[str] = (), check: bool = False,
               preexec_fn: Callable[[], None] | None = None) -> Result:
        """``create``; the container inherits its stdio, so that goes to files, not pipes."""
        cid = cid or self.new_id()
        if cid not in self.ids:
            self.ids.append(cid)
        args = ["create"]
        if bundle is not None:
            args += ["--bundle", str(bundle.path if isinstance(bundle, Bundle) else bundle)]
        if console is not None:
            args += ["--console-socket", console.path]
        args += [*extra, cid]
        out_path, err_path = self._stdio(cid)
        with open(out_path, "w") as out, open(err_path, "w") as err:
            r = self.rt(*args, stdout=out, stderr=err, cwd=cwd, preexec_fn=preexec_fn)
        r.stdout, r.stderr = out_path.read_text(), err_path.read_text()
        r.cid = cid  # type: ignore[attr-defined]
        if r.ok:
            st = self.state_or_none(cid)
            if st and st.get("pid"):
                self.track(int(st["pid"]))
        if check:
            assert r.ok, f"create failed: {r}"
        return r

    def _stdio(self, cid: str) -> tuple[Path, Path]:
        d = self.tmp / "stdio"
        d.mkdir(exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else f"%{ord(c):02x}" for c in cid)
        return d / f"{safe}.out", d / f"{safe}.err"

    def output(self, cid: str) -> str:
        """What the container wrote to its stdout (inherited from `create`)."""
        return self._stdio(cid)[0].read_text()

    def errput(self, cid: str) -> str:
        return self._stdio(cid)[1].read_text()

    def track(self, pid: int) -> None:
        st = proc_stat(pid)
        if st and pid not in self.pids:
            self.pids[pid] = st[2]

    def start(self, cid: str, check: bool = False) -> Result:
        r = self.rt("start", cid)
        if check:
            assert r.ok, f"start failed: {r}\ncontainer stderr: {self.errput(cid)!r}"
        return r

    def state_raw(self, cid: str) -> Result:
        return self.rt("state", cid)

    def state(self, cid: str) -> dict[str, Any]:
        r = self.state_raw(cid)
        assert r.ok, f"state failed: {r}"
        return json.loads(r.stdout)

    def state_or_none(self, cid: str) -> dict[str, Any] | None:
        r = self.state_raw(cid)
        return json.loads(r.stdout) if r.ok else None

    def kill(self, cid: str, sig: str = "KILL") -> Result:
        return self.rt("kill", cid, sig)

    def delete(self, cid: str, force: bool = False) -> Result:
        return self.rt("delete", *(["--force"] if force else []), cid)

    def wait_exit(self, pid: int, timeout: float = 15) -> None:
        """Wait until the process is gone or a zombie (the runtime then reports stopped)."""
        deadline = time.monotonic() + timeout
        while alive(pid):
            if time.monotonic() > deadline:
                raise AssertionError(f"container process {pid} still running after {timeout}s")
            time.sleep(0.01)

    def wait_stopped(self, cid: str, timeout: float = 15) -> dict[str, Any]:
        st = self.state(cid)
        if st.get("pid"):
            self.wait_exit(int(st["pid"]), timeout)
        return self.state(cid)

    def run(self, bundle: Bundle, *, console: ConsoleSocket | None = None,
            delete: bool = True) -> str:
        """create + start + wait for the exit + delete; returns the container's stdout."""
        cid = self.new_id()
        r = self.create(bundle, cid, console=console)
        assert r.ok, f"create failed: {r}"
        pid = int(self.state(cid)["pid"])
        s = self.start(cid)
        assert s.ok, f"start failed: {s}\ncontainer stderr: {self.errput(cid)!r}"
        self.wait_exit(pid)
        if console is not None:
            out = console.wait().decode(errors="replace")
        else:
            out = self.output(cid)
        if delete:
            d = self.delete(cid)
            assert d.ok, f"delete of a stopped container failed: {d}"
        return out

    def created(self, bundle: Bundle, check: bool = True) -> tuple[str, int]:
        """``create`` only; returns the id and the container process's pid."""
        cid = self.new_id()
        r = self.create(bundle, cid)
        assert r.ok or not check, f"create failed: {r}"
        if not r.ok:
            return cid, 0
        return cid, int(self.state(cid)["pid"])

    def running(self, bundle: Bundle) -> tuple[str, int]:
        """create + start of a bundle whose program stays up; returns the id and pid."""
        cid, pid = self.created(bundle)
        self.start(cid, check=True)
        return cid, pid

    def expect_error(self, bundle: Bundle) -> Result:
        """``create`` and, if that succeeded, ``start``: one of them MUST fail, and the user
        program MUST NOT have run (checked with a marker bundle, ``shared=True``, whose
        program logs a ``process`` entry). Returns the failing call's result."""
        cid = self.new_id()
        r = self.create(bundle, cid)
        if r.ok:
            s = self.start(cid)
            time.sleep(0.2)
            assert not s.ok, ("an error was expected, but create and start succeeded; "
                              f"container stderr: {self.errput(cid)[-500:]!r}")
            r = s
        if bundle.shared is not None:
            assert "process" not in names(bundle.hook_entries()), \
                f"the runtime errored ({r.stderr.strip()[-300:]!r}) but the user program ran"
        return r

    def exec(self, cid: str, args: list[str] | None = None, *,
             process: dict[str, Any] | None = None, timeout: float = 60) -> Result:
        """``exec [--process FILE] ID [ARGS...]`` with captured stdout/stderr."""
        extra: list[str] = []
        if process is not None:
            self._n += 1
            pf = self.tmp / f"process{self._n}.json"
            pf.write_text(json.dumps(process))
            extra = ["--process", str(pf)]
        return self.rt("exec", *extra, cid, *(args or []), timeout=timeout)

    def probe(self, bundle: Bundle | None = None, *, console: ConsoleSocket | None = None,
              **kw: Any) -> dict[str, Any]:
        """Run the probe in a container (``bundle`` or one made from ``kw``); parsed JSON."""
        b = bundle or self.bundle(**kw)
        out = self.run(b, console=console)
        text = out.strip()
        if not text:
            raise AssertionError(f"the probe printed nothing; container stderr: "
                                 f"{self.errput(self.ids[-1])!r}")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise AssertionError(f"probe output is not JSON ({exc}): {text[:2000]!r}") from None

    def console(self) -> ConsoleSocket:
        c = ConsoleSocket()
        self.consoles.append(c)
        return c

    # -- cleanup ---------------------------------------------------------------------------------

    def cleanup(self) -> list[str]:
        """delete -f every container of this test; kill (by pid) what survived; reap.

        Returns complaints (containers the runtime could not delete, processes that survived a
        forced delete) so the fixture can report them without hiding the test's own result.
        """
        problems = []
        names = set(self.ids)
        if self.root.exists():
            names |= {d.name for d in self.root.iterdir() if d.is_dir()}
        for cid in sorted(names):
            st = self.state_or_none(cid)
            if st and st.get("pid"):
                self.track(int(st["pid"]))
            if st is not None or (self.root / cid).exists():
                r = self.delete(cid, force=True)
                if not r.ok and self.state_or_none(cid) is not None:
                    problems.append(f"delete --force {cid}: {r}")
        for pid, start in self.pids.items():
            st = proc_stat(pid)
            if st and st[2] == start and st[0] not in "ZX":
                problems.append(f"container process {pid} survived delete --force")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        for pid, start in self.pids.items():
            while True:
                st = proc_stat(pid)
                if not st or st[2] != start:
                    break
                if st[0] in "ZX":
                    reap(pid)
                    if st[1] != os.getpid():
                        break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        # Whatever else the test started that is still alive (an init whose state the runtime
        # lost, a stuck `create`): it became our child (we are a subreaper) during the test.
        for pid in sorted(live_children() - self.children_before):
            problems.append(f"process {pid} ({comm(pid)}) outlived the test's containers")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        reap_zombie_children()
        for cg in self.cgroups:
            for base in Path("/sys/fs/cgroup").iterdir():
                for d in (base / cg.lstrip("/"), Path("/sys/fs/cgroup") / cg.lstrip("/")):
                    try:
                        d.rmdir()
                    except OSError:
                        pass
        for d in sorted(self.cgroup_dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                d.rmdir()
            except OSError:
                pass
        for c in self.consoles:
            c.close()
        for d in self.public_dirs:
            shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)
        return problems


# ---- cgroups as the host sees them -------------------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_mounts() -> dict[str, Path]:
    """Controller (or ``name=...``) -> mount point of its hierarchy; ``""`` is cgroup2."""
    out: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        mp = Path(fields[4].replace("\\040", " "))
        if rest[0] == "cgroup2":
            out.setdefault("", mp)
        elif rest[0] == "cgroup":
            for opt in rest[2].split(","):
                if opt in ("rw", "ro") or opt.startswith(("release_agent=", "clone_children")):
                    continue
                out.setdefault(opt, mp)
    return out


def proc_cgroups(pid: int | str) -> dict[str, str]:
    """``/proc/PID/cgroup`` as controller -> path (``""`` for the cgroup2 line)."""
    out: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _hid, ctrls, path = line.split(":", 2)
        for c in ctrls.split(",") if ctrls else [""]:
            out[c] = path
    return out


def cgroup_dir(pid: int | str, controller: str) -> Path | None:
    """The host directory of ``pid``'s cgroup in ``controller``'s hierarchy (None if the
    controller is not mounted)."""
    mp = cgroup_mounts().get(controller)
    path = proc_cgroups(pid).get(controller)
    if mp is None or path is None:
        return None
    return mp / path.lstrip("/")


def cgroup_v2_controllers() -> set[str]:
    """Controllers available in the cgroup2 hierarchy (hybrid: often none or hugetlb)."""
    mp = cgroup_mounts().get("")
    if mp is None:
        return set()
    try:
        return set((mp / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


# ---- the official state schema ---------------------------------------------------------------

_state_validator = None


def state_schema_errors(state: dict[str, Any]) -> list[str] | None:
    """Errors of ``state`` against the runtime-spec's state-schema.json; None if unavailable."""
    global _state_validator
    if _state_validator is None:
        if not (SCHEMA_DIR / "state-schema.json").exists():
            return None
        from jsonschema import Draft4Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        schema = json.loads((SCHEMA_DIR / "state-schema.json").read_text())
        defs = json.loads((SCHEMA_DIR / "defs.json").read_text())
        registry = Registry().with_resource(
            "defs.json", Resource.from_contents(defs, default_specification=DRAFT4))
        _state_validator = Draft4Validator(schema, registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _state_validator.iter_errors(state)]


def marker_args(name: str = "process") -> list[str]:
    """Container args that append a ``name`` entry to /shared/hooks.log when the user program
    runs (the same record a hook writes), then stay up for ``PROBE_HOOK_SLEEP`` seconds."""
    return [PROBE, "hook", f"{SHARED}/hooks.log", name]


def names(entries: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in entries]
