"""Drivers for the real engines (podman, containerd) around the runtime under test.

Everything an engine run creates lives under one private state directory: podman gets
generated ``containers.conf``/``storage.conf`` files (``CONTAINERS_CONF``/
``CONTAINERS_STORAGE_CONF``, so no host configuration is read), containerd its own config,
root, state and sockets. ``cleanup()`` stops and removes whatever is left (containers,
engine processes, mounts, runtime state, cgroups) and returns a list of what it had to clean
so that a leak fails the run. See ../../../shared/reference/engines-here.md for why each
setting is there.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import termios
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.wait import wait_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# podman's built-in runtime_supports_json list (podman 4.3, containers/common).
SUPPORTS_JSON_DEFAULT = ["crun", "runc", "kata", "runsc", "youki", "krun"]
CAP_SYS_RESOURCE = 24
CGROUP_ROOT = Path("/sys/fs/cgroup")


# ---------------------------------------------------------------------------------------------
# generic helpers


class Result(subprocess.CompletedProcess):
    """A CompletedProcess whose text output is always str, with a readable repr for asserts."""

    def __str__(self) -> str:  # shown by pytest when an assertion on it fails
        return (f"$ {' '.join(map(str, self.args))}\n-> rc={self.returncode}\n"
                f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}")


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 60, input: str | None = None, check: bool = True) -> Result:
    """Run argv, capture text output; ``check`` raises with the full output on failure."""
    # bytes, decoded here: text mode would turn a pty's \r\n into \n
    p = subprocess.run([str(a) for a in argv], env=env, cwd=cwd, timeout=timeout,
                       input=input.encode() if input is not None else None,
                       stdin=None if input is not None else subprocess.DEVNULL,
                       capture_output=True)
    res = Result(p.args, p.returncode, p.stdout.decode(errors="replace"),
                 p.stderr.decode(errors="replace"))
    if check and p.returncode != 0:
        raise AssertionError(f"command failed:\n{res}")
    return res



def run_pty(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 60, send: list[tuple[bytes | None, bytes]] = ()) -> tuple[int, bytes]:
    """Run argv on a new pseudo-terminal (its stdin, stdout, stderr and controlling tty).

    ``send`` is a list of ``(wait_for, data)``: once ``wait_for`` (or nothing, if None) has
    appeared in the output seen so far, ``data`` is written to the terminal. Returns the exit
    status and everything the program wrote.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x18\x00\x50\x00\x00\x00\x00\x00")  # 24x80

    def setctty() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=slave, stderr=slave,
                         env=env, cwd=cwd, preexec_fn=setctty, close_fds=True)
    os.close(slave)
    out = b""
    pending = list(send)
    deadline = time.monotonic() + timeout
    try:
        while True:
            while pending and (pending[0][0] is None or pending[0][0] in out):
                os.write(master, pending.pop(0)[1])
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{argv} on a pty: timed out after {timeout}s; "
                                     f"output so far: {out!r}")
            r, _, _ = select.select([master], [], [], min(left, 0.2))
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every slave fd is closed
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None and not pending:
                # the program is gone; drain what is left without blocking
                try:
                    while select.select([master], [], [], 0.2)[0]:
                        chunk = os.read(master, 65536)
                        if not chunk:
                            break
                        out += chunk
                except OSError:
                    pass
                break
        return p.wait(timeout=max(1.0, deadline - time.monotonic())), out
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()


def has_cap(bit: int) -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> bit & 1)
    return False


def mounts_under(prefix: Path) -> list[str]:
    """Mount points at or below prefix, deepest first."""
    found = []
    p = str(prefix)
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].replace("\\040", " ")
        if mp == p or mp.startswith(p + "/"):
            found.append(mp)
    return sorted(found, key=lambda m: m.count("/"), reverse=True)


def umount_all(prefix: Path) -> list[str]:
    left = mounts_under(prefix)
    for mp in left:
        subprocess.run(["umount", "-l", mp], capture_output=True)
    return left


def processes_using(prefix: Path, exclude: Iterable[int] = ()) -> list[tuple[int, str]]:
    """Processes whose command line mentions prefix or whose root/cwd is below it."""
    p = str(prefix)
    me = {os.getpid(), *exclude}
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) in me:
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not cmd:  # kernel thread or zombie
                continue
            hit = p in cmd
            for link in ("root", "cwd"):
                try:
                    target = os.readlink(d / link)
                except OSError:
                    continue
                if target == p or target.startswith(p + "/"):
                    hit = True
            if hit:
                found.append((int(d.name), cmd.strip()))
        except OSError:
            continue
    return found


def kill_processes(procs: list[tuple[int, str]]) -> None:
    for pid, _ in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    # Our own children (engine daemons) are reaped here; others go to their parent or init.
    for pid, _ in procs:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def remove_cgroups(rel: str, keep_top: bool = False) -> list[str]:
    """rmdir ``<every hierarchy>/<rel>`` (children first); returns the cgroups that existed.

    With keep_top, ``rel`` itself is an expected parent (e.g. containerd's ``/<namespace>``):
    only its children count (and are removed), the parent is removed quietly.
    """
    found = []
    for hier in sorted(CGROUP_ROOT.iterdir()):
        top = hier / rel.strip("/")
        if not top.is_dir():
            continue
        dirs = [Path(dp) for dp, _, _ in os.walk(top)]
        found += [str(d) for d in dirs if not (keep_top and d == top)]
        for d in sorted(dirs, key=lambda x: len(x.parts), reverse=True):
            try:
                d.rmdir()
            except OSError:
                pass
    return found


def cgroup_of(pid: int, controller: str) -> Path:
    """The host path of pid's cgroup in a v1 controller (or v2 when controller is '')."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(",") or (controller == "" and ctrls == ""):
            base = CGROUP_ROOT / (controller or "unified")
            return base / path.lstrip("/")
    raise LookupError(f"pid {pid} has no {controller!r} cgroup")


# ---------------------------------------------------------------------------------------------
# the runtime under test


class RuntimeUnderTest:
    """The runtime binary the engines are pointed at: ``$E2E_RUNTIME`` or .venv/bin/ociruntime.

    With ``$E2E_TRACE=FILE`` the engines get a wrapper of the same basename that appends every
    call (argv, the environment the engine gave, exit status) to FILE and then runs the
    runtime: what the engines really invoke, for diagnosis.
    """

    def __init__(self, workdir: Path) -> None:
        path = os.environ.get("E2E_RUNTIME") or str(REPO / ".venv" / "bin" / "ociruntime")
        resolved = shutil.which(path) or path
        self.real = Path(resolved)
        if not self.real.is_absolute():
            self.real = self.real.resolve()
        #: the name podman knows it by, and its basename (podman picks behaviour by basename)
        self.name = self.real.name
        self.trace = os.environ.get("E2E_TRACE")
        self.path = self.real
        if self.trace:
            wrapper = workdir / "trace-bin" / self.name
            wrapper.parent.mkdir(parents=True, exist_ok=True)
            wrapper.write_text(
                "#!/bin/sh\n"
                f"log={shq(self.trace)}\n"
                "{ printf '%s pid=%s argv:' \"$(date +%T.%N)\" $$; for a; do printf ' %s' \"$a\";"
                " done; printf '\\n  env: %s\\n' \"$(env | tr '\\n' ' ')\"; } >>\"$log\"\n"
                f"{shq(str(self.real))} \"$@\"\n"
                "rc=$?\n"
                "printf '%s pid=%s rc=%s\\n' \"$(date +%T.%N)\" $$ $rc >>\"$log\"\n"
                "exit $rc\n")
            wrapper.chmod(0o755)
            self.path = wrapper

    def __call__(self, *args: str, root: Path | None = None, check: bool = False,
                 timeout: float = 30) -> Result:
        g = ["--root", str(root)] if root else []
        return run([str(self.real), *g, *args], check=check, timeout=timeout)

    def containers_under(self, prefix: Path, root: Path | None = None) -> list[dict[str, Any]]:
        """The runtime's containers (``list``) whose bundle is below prefix."""
        r = self("list", "--format", "json", root=root)
        if r.returncode != 0 or not r.stdout.strip():
            return []
        try:
            entries = json.loads(r.stdout) or []
        except ValueError:
            return []
        return [e for e in entries if str(e.get("bundle", "")).startswith(str(prefix) + "/")]

    def remove_under(self, prefix: Path, root: Path | None = None) -> list[str]:
        left = self.containers_under(prefix, root)
        for e in left:
            self("delete", "--force", e["id"], root=root)
        return [f"{e['id']} ({e.get('status')}, bundle {e.get('bundle')})" for e in left]


def shq(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------------------------------------
# podman


class Podman:
    """podman (conmon, buildah) with private configuration and storage under ``state``."""

    def __init__(self, state: Path, runtime: RuntimeUnderTest, archive: Path) -> None:
        self.state = state
        self.runtime = runtime
        self.image = "localhost/e2e/busybox:latest"
        self.archive = archive
        self.graphroot = state / "storage"
        self.runroot = state / "run"
        self.tmp = state / "tmp"
        for d in (self.graphroot, self.runroot, self.tmp, state / "netconf", state / "volumes"):
            d.mkdir(parents=True, exist_ok=True)
        self.conf = state / "containers.conf"
        self.storage_conf = state / "storage.conf"
        self.events = state / "events.log"
        self.conf.write_text(self.containers_conf())
        self.storage_conf.write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{self.graphroot}"\n'
            f'runroot = "{self.runroot}"\n')
        self.env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "CONTAINERS_CONF": str(self.conf),
            "CONTAINERS_STORAGE_CONF": str(self.storage_conf),
            # buildah puts its RUN bundles in $TMPDIR (default /var/tmp)
            "TMPDIR": str(self.tmp),
        }
        self.netns_before = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
        #: podman's cgroupfs parent (libpod_parent, with conmon's cgroup below it) is made on
        #: first use and never removed by podman: removed at the end if this run made it
        self.libpod_parent_existed = any((h / "libpod_parent").is_dir()
                                         for h in CGROUP_ROOT.iterdir())
        # Host-global paths podman uses whatever the configuration: containers/image's blob
        # info cache (podman load/build/commit write it) and netavark's state directory.
        # Removed at the end if this run created them (directories only when empty).
        self.global_created = [p for p in (Path("/var/lib/containers/cache"),
                                           Path("/var/lib/containers"),
                                           Path("/run/containers/networks"),
                                           Path("/run/containers")) if not p.exists()]

    def containers_conf(self) -> str:
        """The containers.conf of the run: README's lines plus the test isolation."""
        ulimits = ""
        if not has_cap(CAP_SYS_RESOURCE):
            # engines-here.md problem 1: podman's default rlimits (nofile 1048576) can not be
            # set by any runtime without CAP_SYS_RESOURCE; stay within the hard limits.
            import resource
            nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
            ulimits = (f'default_ulimits = ["nofile={nofile}:{nofile}", '
                       f'"nproc={nproc}:{nproc}"]\n')
        supports = SUPPORTS_JSON_DEFAULT + ([self.runtime.name]
                                            if self.runtime.name not in SUPPORTS_JSON_DEFAULT
                                            else [])
        s = self.state
        return (
            "[containers]\n"
            'log_driver = "k8s-file"\n'
            'netns = "none"\n'
            f"{ulimits}"
            "\n[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'events_logfile_path = "{self.events}"\n'
            f'tmp_dir = "{self.tmp}"\n'
            f'network_config_dir = "{s / "netconf"}"\n'
            f'volume_path = "{s / "volumes"}"\n'
            'lock_type = "file"\n'
            f'runtime = "{self.runtime.name}"\n'
            f"runtime_supports_json = {json.dumps(supports)}\n"
            "\n[engine.runtimes]\n"
            f'{self.runtime.name} = ["{self.runtime.path}"]\n')

    def __call__(self, *args: str, check: bool = True, timeout: float = 60,
                 input: str | None = None) -> Result:
        return run(["podman", "--runtime", self.runtime.name, *args], env=self.env,
                   cwd=self.state, timeout=timeout, input=input, check=check)

    def pty(self, *args: str, timeout: float = 60,
            send: list[tuple[bytes | None, bytes]] = ()) -> tuple[int, bytes]:
        return run_pty(["podman", "--runtime", self.runtime.name, *args], env=self.env,
                       cwd=self.state, timeout=timeout, send=send)

    def load_image(self) -> None:
        self("load", "-i", str(self.archive), timeout=120)
        imgs = self("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        if self.image not in imgs:
            self("tag", imgs[0], self.image)

    def inspect(self, name: str, fmt: str) -> str:
        return self("inspect", "--format", fmt, name).stdout.strip()

    def pid_of(self, name: str) -> int:
        return int(self.inspect(name, "{{.State.Pid}}"))

    def wait_running(self, name: str, timeout: float = 20) -> None:
        wait_for(lambda: self.inspect(name, "{{.State.Status}}") == "running", timeout,
                 what=f"container {name} running")

    def container_ids_seen(self) -> set[str]:
        """Every container id podman wrote an event for (incl. run --rm ones)."""
        ids = set()
        if self.events.exists():
            ids.update(re.findall(r'"ID":"([0-9a-f]{64})"', self.events.read_text()))
        return ids

    def remove_containers(self) -> list[str]:
        """Remove every container (after a test); returns runtime state that outlived it."""
        self("rm", "-af", "-t", "0", check=False, timeout=120)
        self("pod", "rm", "-af", "-t", "0", check=False, timeout=60)
        return self.runtime.remove_under(self.state)

    def cleanup(self) -> list[str]:
        """Stop and remove everything; returns the leaks it had to clean up by force."""
        leaks: list[str] = []
        try:
            leaks += [f"runtime state left: {x}" for x in self.remove_containers()]
            self("rmi", "-af", check=False, timeout=60)
            self("system", "reset", "-f", check=False, timeout=120)
        except Exception as e:  # noqa: BLE001 - keep cleaning
            leaks.append(f"podman cleanup raised {e!r}")
        leaks += [f"runtime state left: {x}" for x in self.runtime.remove_under(self.state)]
        procs = processes_using(self.state)
        kill_processes(procs)
        leaks += [f"process left: {pid} {cmd}" for pid, cmd in procs]
        leaks += [f"mount left: {m}" for m in umount_all(self.state)]
        for cid in self.container_ids_seen():
            for rel in (f"libpod_parent/libpod-{cid}", f"libpod_parent/libpod-conmon-{cid}"):
                leaks += [f"cgroup left: {c}" for c in remove_cgroups(rel)]
        if not self.libpod_parent_existed:
            remove_cgroups("libpod_parent/conmon")
            remove_cgroups("libpod_parent")
        if os.path.isdir("/run/netns"):
            new = set(os.listdir("/run/netns")) - self.netns_before
            leaks += [f"netns left: /run/netns/{n}" for n in sorted(new)]
        shutil.rmtree(self.state, ignore_errors=True)
        for p in self.global_created:
            if p == Path("/var/lib/containers/cache"):
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    p.rmdir()  # only if nothing else was put there meanwhile
                except OSError:
                    pass
        return leaks


# ---------------------------------------------------------------------------------------------
# containerd


class Containerd:
    """A private containerd (own root, state, sockets, namespace) started with a minimal env."""

    def __init__(self, state: Path, runtime: RuntimeUnderTest, archive: Path) -> None:
        self.state = state
        self.runtime = runtime
        self.archive = archive
        self.image = "localhost/e2e/busybox:latest"
        self.ns = "e2e-" + uuid.uuid4().hex[:8]
        self.sock = state / "containerd.sock"
        self.fifo = state / "fifo"
        #: the runtime's --root for ctr run (--runc-root); the shim appends the namespace
        self.runc_root = state / "runc-root"
        #: where the shim's runtime keeps state when ctr gives no --runc-root
        self.default_runc_root = Path("/run/containerd/runc") / self.ns
        self.bin = state / "bin"
        for d in (self.fifo, self.runc_root, self.bin, state / "root", state / "state",
                  state / "logs"):
            d.mkdir(parents=True, exist_ok=True)
        # `ctr container create` has no --runc-binary: the shim then runs `runc` from PATH.
        (self.bin / "runc").symlink_to(runtime.path)
        self.config = state / "config.toml"
        self.config.write_text(
            "version = 2\n"
            f'root = "{state / "root"}"\n'
            f'state = "{state / "state"}"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            "[grpc]\n"
            f'  address = "{self.sock}"\n'
            "[ttrpc]\n"
            f'  address = "{self.sock}.ttrpc"\n'
            "[debug]\n"
            f'  address = "{state / "debug.sock"}"\n'
            "[metrics]\n"
            '  address = ""\n')
        self.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME": "/root"}
        self.proc: subprocess.Popen | None = None
        self.log = state / "containerd.log"
        # containerd 1.6 keeps shim sockets in /run/containerd/s whatever its state dir, and
        # the shim's default runtime root is /run/containerd/runc: removed at the end (when
        # empty) if this run created them.
        self.global_created = [p for p in (Path("/run/containerd/s"), Path("/run/containerd/runc"),
                                           Path("/run/containerd")) if not p.exists()]

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["env", "-i", "HOME=/root",
                 f"PATH={self.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 "containerd", "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.state,
                start_new_session=True)
        wait_for(lambda: self.sock.exists() and self("version", check=False).returncode == 0,
                 timeout=30, what="containerd to serve")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __call__(self, *args: str, check: bool = True, timeout: float = 60,
                 input: str | None = None) -> Result:
        return run(["ctr", "--address", str(self.sock), "--namespace", self.ns, *args],
                   env=self.env, cwd=self.state, timeout=timeout, input=input, check=check)

    def ctr_argv(self, *args: str) -> list[str]:
        return ["ctr", "--address", str(self.sock), "--namespace", self.ns, *args]

    def run_args(self) -> list[str]:
        """ctr run options that select the runtime under test and keep state private."""
        return ["--fifo-dir", str(self.fifo), "--runc-binary", str(self.runtime.path),
                "--runc-root", str(self.runc_root)]

    def pty(self, *args: str, timeout: float = 60,
            send: list[tuple[bytes | None, bytes]] = ()) -> tuple[int, bytes]:
        return run_pty(self.ctr_argv(*args), env=self.env, cwd=self.state, timeout=timeout,
                       send=send)

    def import_image(self) -> None:
        self("image", "import", str(self.archive), timeout=120)
        refs = self("image", "ls", "-q").stdout.split()
        assert self.image in refs, refs

    def tasks(self) -> dict[str, tuple[int, str]]:
        """``ctr task ls``: id -> (pid, status)."""
        out = self("task", "ls").stdout.splitlines()[1:]
        return {f[0]: (int(f[1]), f[2]) for f in (line.split() for line in out) if len(f) >= 3}

    def task_status(self, cid: str) -> str | None:
        t = self.tasks().get(cid)
        return t[1] if t else None

    def wait_status(self, cid: str, status: str, timeout: float = 20) -> None:
        wait_for(lambda: self.task_status(cid) == status, timeout,
                 what=f"task {cid} {status}")

    def bundle(self, cid: str) -> Path:
        return self.state / "state" / "io.containerd.runtime.v2.task" / self.ns / cid

    def shim_pids(self) -> list[int]:
        return [pid for pid, cmd in processes_using(self.sock)
                if "containerd-shim" in cmd]

    def remove_containers(self) -> list[str]:
        """Kill and delete every task and container (after a test); returns leaked state."""
        leaks = []
        try:
            for cid in self.tasks():
                self("task", "kill", "--all", "-s", "SIGKILL", cid, check=False)
            for cid in self.tasks():
                wait_for(lambda c=cid: self.task_status(c) in (None, "STOPPED", "UNKNOWN"), 10,
                         what=f"task {cid} to stop")
                self("task", "delete", "-f", cid, check=False)
            for cid in self("container", "ls", "-q").stdout.split():
                self("container", "delete", cid, check=False)
        except Exception as e:  # noqa: BLE001 - keep cleaning
            leaks.append(f"ctr cleanup raised {e!r}")
        for root in (self.runc_root / self.ns, self.default_runc_root):
            leaks += [f"runtime state left: {x}" for x in self.runtime.remove_under(self.state,
                                                                                    root)]
        return leaks

    def cleanup(self) -> list[str]:
        leaks: list[str] = []
        if self.proc and self.proc.poll() is None:
            leaks += self.remove_containers()
            self("image", "rm", self.image, check=False)
            # The shims exit on their own once their last task is deleted.
            try:
                wait_for(lambda: not self.shim_pids(), 10, what="shims to exit")
            except AssertionError:
                pass
        shims = [(p, "containerd-shim") for p in self.shim_pids()]
        self.stop()
        procs = processes_using(self.state)
        kill_processes(procs)
        leaks += [f"process left: {pid} {cmd}" for pid, cmd in procs]
        leaks += [f"mount left: {m}" for m in umount_all(self.state)]
        for root in (self.runc_root / self.ns, self.default_runc_root):
            leaks += [f"runtime state left: {x}" for x in self.runtime.remove_under(self.state,
                                                                                    root)]
        # The shim's default runtime root for our namespace: only dot-files (a runtime's
        # caches) may be left in it once every container is gone.
        if self.default_runc_root.is_dir() and all(
                e.name.startswith(".") for e in self.default_runc_root.iterdir()):
            shutil.rmtree(self.default_runc_root, ignore_errors=True)
        leaks += [f"cgroup left: {c}" for c in remove_cgroups(self.ns, keep_top=True)]
        if shims:  # a killed shim leaves its socket in /run/containerd/s (engines-here 11)
            leaks += [f"shim left: {p}" for p, _ in shims]
        shutil.rmtree(self.state, ignore_errors=True)
        for p in self.global_created:
            try:
                p.rmdir()
            except OSError:
                pass
        return leaks
