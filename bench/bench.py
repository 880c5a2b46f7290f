#!/usr/bin/env python3
"""Side-by-side latency benchmark of ociruntime, runc and crun (stdlib only, run as root).

    sudo python3 bench/bench.py [--iterations N] [--runtimes ociruntime,runc,crun]
                                [--batch 100] [--seccomp] [--cgroups] [--json-only]

It builds a busybox bundle in a temp dir (rootfs from bundles/build-rootfs.sh, config from
`runc spec`), then, N times and round-robin over the runtimes (each with its own --root),
times every lifecycle operation as a whole process: `run` of /bin/true (foreground, the
runtime deletes the container afterwards) and the split `create`, `start`, `state`,
`exec` of /bin/true (an engine's health check or probe), `kill KILL`, `delete` of a
`sleep 1000` container. A batch of containers run back to back
gives containers per second. It prints a table (median, p90, ratios of the medians) and
then exactly one JSON line with every number, so `tail -1` parses it.

The whole run happens in a private mount namespace (the script re-executes itself under
`unshare -m --propagation private`) where an empty tmpfs covers /sys/fs/cgroup/unified:
crun 1.8.1 refuses a hybrid cgroup v1/v2 host, and running every runtime there keeps the
comparison fair. Nothing outside the namespace changes. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_OCIRUNTIME = REPO / ".venv" / "bin" / "ociruntime"
DEFAULT_SECCOMP = HERE / "seccomp.json"
BUILD_ROOTFS = REPO / "bundles" / "build-rootfs.sh"

#: Lifecycle operations, in table order.
OPS = ("run", "create", "start", "state", "exec", "kill", "delete")
#: Runtimes the ratios are computed against.
BASELINES = ("runc", "crun")
SUBJECT = "ociruntime"

#: Set in the environment of the re-executed benchmark inside the private mount namespace.
NS_ENV = "OCIRUNTIME_BENCH_IN_NS"
UNIFIED = "/sys/fs/cgroup/unified"
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PR_SET_CHILD_SUBREAPER = 36
MIB = 1024 * 1024

#: --cgroups: the limits added to linux.resources.
CGROUP_RESOURCES: dict[str, Any] = {
    "memory": {"limit": 256 * MIB},
    "cpu": {"shares": 512},
    "pids": {"limit": 1024},
}


# --- pure helpers (unit-tested in tests/unit/test_bench.py) --------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100), linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} out of 0..100")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def p90(values: Sequence[float]) -> float:
    return percentile(values, 90)


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def fmt_num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def first_line(text: str, limit: int = 0) -> str:
    """The first non-blank line of text, stripped (cut to limit characters if limit)."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            if limit and len(line) > limit:
                line = line[: limit - 3] + "..."
            return line
    return ""


_LOGFMT_MSG = re.compile(r'(?:^|\s)msg="((?:[^"\\]|\\.)*)"')


def error_message(stderr: str) -> str:
    """The first line of a failed command's stderr; of a runc-style logfmt record
    (time="..." level=error msg="..."), just the msg."""
    line = first_line(stderr)
    m = _LOGFMT_MSG.search(line)
    if m and "level=" in line:
        return re.sub(r"\\(.)", r"\1", m.group(1))
    return line


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/PID/cgroup as {controller: path}; cgroup v2's line is under the key ""."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else [""]:
            out[ctrl.removeprefix("name=")] = parts[2]
    return out


def error_cell(message: str, limit: int = 60) -> str:
    return first_line("error: " + (first_line(message) or "failed"), limit)


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first left-aligned, the others right."""
    table = [list(header)] + [list(r) for r in rows]
    ncols = max(len(r) for r in table)
    for r in table:
        r.extend([""] * (ncols - len(r)))
    widths = [max(len(r[c]) for r in table) for c in range(ncols)]

    def line(cells: list[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [cells[c].rjust(widths[c]) for c in range(1, ncols)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(table[0]), rule] + [line(r) for r in table[1:]])


def summarize_samples(samples_ns: Sequence[int], errors: Sequence[str]) -> dict[str, Any]:
    """Median/p90 in ms of the successful samples, and the errors of the failed ones."""
    ms = [s / 1e6 for s in samples_ns]
    return {
        "median_ms": round(median(ms), 3) if ms else None,
        "p90_ms": round(p90(ms), 3) if ms else None,
        "n": len(ms),
        "errors": len(errors),
        "error": errors[0] if errors else None,
        "samples_ms": [round(x, 3) for x in ms],
    }


def cell(stat: dict[str, Any], key: str, fmt: Callable[[float], str] = fmt_ms) -> str:
    """A table cell: the value, or "error: <message>" when nothing succeeded."""
    value = stat.get(key)
    if value is None:
        return error_cell(stat["error"]) if stat.get("error") else "-"
    text = fmt(float(value))
    if stat.get("errors"):
        text += f" ({stat['errors']} err)"
    return text


def ratios_for(values: dict[str, float | None], runtimes: Sequence[str]) -> dict[str, float | None]:
    """ociruntime/<baseline> for each baseline present (None when a side is missing)."""
    out: dict[str, float | None] = {}
    if SUBJECT not in runtimes:
        return out
    for base in BASELINES:
        if base in runtimes:
            r = ratio(values.get(SUBJECT), values.get(base))
            out[f"{SUBJECT}/{base}"] = None if r is None else round(r, 4)
    return out


def render_report(summary: dict[str, Any]) -> str:
    """The human-readable table of a summary (the dict printed as the JSON line)."""
    runtimes: list[str] = list(summary["runtimes"])
    ratio_keys = [f"{SUBJECT}/{b}" for b in BASELINES if SUBJECT in runtimes and b in runtimes]
    header = ["operation (ms)"]
    for rt in runtimes:
        header += [f"{rt} median", "p90"]
    header += ratio_keys
    rows: list[list[str]] = []
    for op in OPS:
        per = summary["ops"][op]
        row = [op]
        for rt in runtimes:
            ok = per[rt].get("median_ms") is not None
            row += [cell(per[rt], "median_ms"), cell(per[rt], "p90_ms") if ok else ""]
        row += [fmt_ratio(per["ratios"].get(k)) for k in ratio_keys]
        rows.append(row)
    rss = summary["rss_create"]
    row = ["create peak RSS (MiB)"]
    for rt in runtimes:
        row += [cell(rss[rt], "max_mib", lambda v: f"{v:.1f}"), ""]
    row += [fmt_ratio(rss["ratios"].get(k)) for k in ratio_keys]
    rows.append(row)
    batch = summary["batch"]
    if batch["n"]:
        row = [f"batch run x{batch['n']} (containers/s)"]
        for rt in runtimes:
            row += [cell(batch[rt], "containers_per_s"), ""]
        row += [fmt_ratio(batch["ratios"].get(k)) for k in ratio_keys]
        rows.append(row)
    return render_table(header, rows)


# --- processes ------------------------------------------------------------------------------

class Interrupted(BaseException):
    """SIGINT/SIGTERM/SIGHUP: stop, clean up, exit."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class OpTimeout(Exception):
    """SIGALRM: an operation ran over --timeout."""


def _on_signal(signum: int, _frame: Any) -> None:
    raise Interrupted(signum)


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise OpTimeout()


@dataclass
class Result:
    ns: int = 0
    status: int = 0           # exit code; negative: killed by that signal
    maxrss_kib: int = 0
    stdout: str = ""
    stderr: str = ""
    error: str | None = None  # set when the operation failed

    @property
    def ok(self) -> bool:
        return self.error is None


class Spawner:
    """Runs one command at a time with posix_spawn + wait4 and times it as a whole process.

    stdin is /dev/null; stdout and stderr go to two O_APPEND files that are truncated before
    each command (a pipe would never see EOF: a created container keeps the runtime's stdio).
    Each command gets its own process group so a terminal's Ctrl-C reaches only us, and so a
    timed-out command can be killed with everything it started.
    """

    def __init__(self, workdir: Path, timeout: float) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
        self.out_fd = os.open(workdir / "op.stdout", flags, 0o600)
        self.err_fd = os.open(workdir / "op.stderr", flags, 0o600)
        self.null_fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.timeout = timeout
        self.env = {"PATH": PATH_ENV}
        self.file_actions = [
            (os.POSIX_SPAWN_DUP2, self.null_fd, 0),
            (os.POSIX_SPAWN_DUP2, self.out_fd, 1),
            (os.POSIX_SPAWN_DUP2, self.err_fd, 2),
        ]
        # Python ignores SIGPIPE and SIGXFSZ, and cleanup ignores SIGINT/SIGTERM; children
        # start with the defaults, as from a shell.
        self.sigdef = [signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM,
                       signal.SIGHUP]

    def close(self) -> None:
        for fd in (self.out_fd, self.err_fd, self.null_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def _read(self, fd: int) -> str:
        chunks = []
        offset = 0
        while True:
            chunk = os.pread(fd, 65536, offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def run(self, argv: Sequence[str], timeout: float | None = None) -> Result:
        os.ftruncate(self.out_fd, 0)
        os.ftruncate(self.err_fd, 0)
        pid: int | None = None
        reaped = False
        status = 0
        ru: Any = None
        t0 = t1 = 0
        signal.setitimer(signal.ITIMER_REAL, timeout or self.timeout)
        try:
            t0 = time.perf_counter_ns()
            pid = os.posix_spawn(argv[0], list(argv), self.env, file_actions=self.file_actions,
                                 setpgroup=0, setsigdef=self.sigdef)
            _, status, ru = os.wait4(pid, 0)
            t1 = time.perf_counter_ns()
            reaped = True
        except OpTimeout:
            pass
        except Interrupted:
            # Let the operation in flight finish (a runtime killed halfway may leave state
            # or cgroups that `delete --force` no longer finds), then clean up.
            signal.setitimer(signal.ITIMER_REAL, 0)
            if pid is not None and not reaped:
                self._finish(pid)
            raise
        except BaseException:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if pid is not None and not reaped:
                self._kill_and_reap(pid)
            raise
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if not reaped:
            if pid is not None:
                self._kill_and_reap(pid)
            return Result(error=f"timeout after {timeout or self.timeout:g}s",
                          stderr=self._read(self.err_fd))
        res = Result(ns=t1 - t0, status=os.waitstatus_to_exitcode(status),
                     maxrss_kib=ru.ru_maxrss, stdout=self._read(self.out_fd),
                     stderr=self._read(self.err_fd))
        if res.status != 0:
            how = (f"killed by {signal.Signals(-res.status).name}" if res.status < 0
                   else f"exit status {res.status}")
            res.error = error_message(res.stderr) or how
        return res

    def _finish(self, pid: int, grace: float = 15.0) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        signal.setitimer(signal.ITIMER_REAL, grace)
        try:
            os.wait4(pid, 0)
        except OpTimeout:
            self._kill_and_reap(pid)
        except ChildProcessError:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    @staticmethod
    def _kill_and_reap(pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.wait4(pid, 0)
        except ChildProcessError:
            pass


def reap_orphans() -> None:
    """Reap the zombies of orphans we inherited as a subreaper (never a pending command)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wait_exit(pid: int, timeout: float = 10.0) -> bool:
    """Wait until pid has exited: reap it if it is our child (we are a subreaper), else poll."""
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        os.waitpid(pid, 0)
        return True
    except ChildProcessError:
        pass
    except OpTimeout:
        return False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.001)
    return False


def applied_settings(pid: int, seccomp: bool, cgroups: bool) -> dict[str, Any]:
    """What the kernel says the running container got: its seccomp mode and cgroup limits.

    A runtime that silently ignores linux.seccomp or linux.resources would look fast; the
    report shows these next to the table.
    """
    out: dict[str, Any] = {}
    if seccomp:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            m = re.search(r"^Seccomp:\s*(\d+)", status, re.M)
            out["seccomp_filter"] = m is not None and m.group(1) == "2"
        except OSError as e:
            out["seccomp_filter"] = f"unreadable: {e}"
    if cgroups:
        try:
            cg = parse_proc_cgroup(Path(f"/proc/{pid}/cgroup").read_text())
        except OSError as e:
            return {**out, "cgroups": f"unreadable: {e}"}
        want = {"memory_limit": str(CGROUP_RESOURCES["memory"]["limit"]),
                "cpu_shares": str(CGROUP_RESOURCES["cpu"]["shares"]),
                "pids_limit": str(CGROUP_RESOURCES["pids"]["limit"])}
        if "" in cg and len(cg) == 1:  # cgroup v2: cpu.weight is a conversion, not checked
            files = {"memory_limit": ("", "memory.max"), "pids_limit": ("", "pids.max")}
        else:
            files = {"memory_limit": ("memory", "memory.limit_in_bytes"),
                     "cpu_shares": ("cpu", "cpu.shares"), "pids_limit": ("pids", "pids.max")}
        for key, (ctrl, name) in files.items():
            try:
                base = Path("/sys/fs/cgroup", ctrl) if ctrl else Path("/sys/fs/cgroup")
                value = (base / cg[ctrl].lstrip("/") / name).read_text().strip()
                out[key] = value == want[key]
            except (KeyError, OSError):
                out[key] = False
    return out


def remove_cgroups(prefix: str) -> list[str]:
    """rmdir the cgroups named after our container ids that a runtime left behind (a
    cgroup directory with processes or children cannot be removed: those stay)."""
    removed: list[str] = []
    top = Path("/sys/fs/cgroup")
    try:
        bases = [top] + [d for d in top.iterdir() if d.is_dir() and not d.is_symlink()]
    except OSError:
        return removed
    for base in bases:
        # Relative cgroup paths land below the caller's own cgroup, which may be nested
        # (e.g. memory/<slice>/<id>): look a few levels down.
        found = [*base.glob(f"{prefix}-*"), *base.glob(f"*/{prefix}-*"),
                 *base.glob(f"*/*/{prefix}-*")]
        for d in found:
            try:
                d.rmdir()
                removed.append(str(d))
            except OSError:
                pass
    return removed


def set_child_subreaper() -> bool:
    """Become a child subreaper, as conmon and the containerd shim are: container inits
    whose runtime exited become our children, and we reap them."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


# --- environment -----------------------------------------------------------------------------

def mount_fstype(path: str) -> str | None:
    """The filesystem type mounted at path (the topmost mount), or None."""
    fstype = None
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        pre, _, post = line.partition(" - ")
        fields = pre.split()
        if len(fields) > 4 and fields[4] == path and post:
            fstype = post.split()[0]
    return fstype


def prepare_namespace(in_ns: bool) -> str:
    """Inside the private mount namespace, hide the cgroup2 half of a hybrid layout."""
    if not in_ns:
        return "none (--no-unshare): runtimes see the host's mounts"
    note = "private mount namespace (unshare -m --propagation private)"
    if mount_fstype(UNIFIED) == "cgroup2":
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755",
                        "ociruntime-bench", UNIFIED], check=True)
        note += (f" with an empty tmpfs over {UNIFIED}: crun 1.8.1 refuses this host's hybrid"
                 " cgroup layout, so every runtime runs on cgroup v1 only; nothing outside"
                 " the namespace changes")
    else:
        note += f"; {UNIFIED} is not a cgroup2 mount here, left as is"
    return note


def reexec_in_namespace(argv: Sequence[str]) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        sys.exit("bench: needs unshare (util-linux), or --no-unshare")
    env = dict(os.environ, **{NS_ENV: "1"})
    cmd = [unshare, "-m", "--propagation", "private",
           sys.executable, "-I", str(Path(__file__).resolve()), *argv]
    os.execve(unshare, cmd, env)


def rss_wrapper(workdir: Path) -> tuple[list[str], float, str, Path] | None:
    """A small parent for the RSS-measuring create, its correction factor, and its name.

    wait4's ru_maxrss of a child we spawn includes the benchmark's own RSS: exec records the
    high-water mark of the old address space, and posix_spawn's vfork child runs in ours (a
    fork child in a copy). So the create whose peak RSS is reported runs under a small C
    parent that forks it and reports its rusage: GNU time, else busybox time (whose %M is
    ru_maxrss multiplied by pagesize/1024, corrected here).
    """
    out = workdir / "rss.out"
    gnu = shutil.which("time", path=PATH_ENV)
    if gnu:
        try:
            v = subprocess.run([gnu, "--version"], capture_output=True, text=True, timeout=10)
            if "GNU" in v.stdout + v.stderr:
                return [gnu, "-f", "%M", "-o", str(out)], 1.0, "GNU time", out
        except (OSError, subprocess.SubprocessError):
            pass
    bb = shutil.which("busybox", path=PATH_ENV)
    if bb:
        factor = 1024 / os.sysconf("SC_PAGE_SIZE")
        return [bb, "time", "-f", "%M", "-o", str(out)], factor, "busybox time", out
    return None


def runtime_version(path: str) -> str:
    try:
        p = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                           env={"PATH": PATH_ENV})
        return first_line(p.stdout) or first_line(p.stderr)
    except (OSError, subprocess.SubprocessError) as e:
        return f"unknown ({e})"


# --- the benchmark ---------------------------------------------------------------------------

@dataclass
class Runtime:
    name: str
    path: str
    root: Path
    version: str = ""
    #: ids that may exist in root: deleted by cleanup.
    live: dict[str, None] = field(default_factory=dict)
    #: init pids of the split-lifecycle containers, killed by cleanup if still alive.
    pids: set[int] = field(default_factory=set)

    def cmd(self, *args: str) -> list[str]:
        return [self.path, "--root", str(self.root), *args]


class Bench:
    def __init__(self, args: argparse.Namespace, ns_note: str) -> None:
        self.args = args
        self.ns_note = ns_note
        self.tmp = Path(tempfile.mkdtemp(prefix="ociruntime-bench-"))
        self.spawner = Spawner(self.tmp, args.timeout)
        self.prefix = f"bench-{os.getpid()}-{os.urandom(2).hex()}"
        self.runtimes: list[Runtime] = []
        self.samples: dict[str, dict[str, list[int]]] = {op: {} for op in OPS}
        self.errors: dict[str, dict[str, list[str]]] = {op: {} for op in OPS}
        self.rss_kib: dict[str, list[int]] = {}
        self.rss_errors: dict[str, list[str]] = {}
        self.batch: dict[str, dict[str, Any]] = {}
        self.leftovers: dict[str, list[str]] = {}
        self.applied: dict[str, dict[str, Any]] = {}
        self.wrapper: tuple[list[str], float, str, Path] | None = None
        self.config_info = ""
        self.quiet = args.json_only or not sys.stderr.isatty()

    # -- setup

    def resolve_runtimes(self) -> None:
        for name in self.args.runtimes:
            if name == SUBJECT:
                path = str(Path(self.args.ociruntime).resolve())
                if not os.access(path, os.X_OK):
                    raise SystemExit(f"bench: {path} is not executable: run ./install.sh or"
                                     " pass --ociruntime PATH")
            else:
                found = shutil.which(name, path=PATH_ENV)
                if found is None:
                    raise SystemExit(f"bench: runtime {name!r} not found in {PATH_ENV}")
                path = found
            root = self.tmp / f"root-{name}"
            root.mkdir(mode=0o700)
            rt = Runtime(name, path, root, runtime_version(path))
            self.runtimes.append(rt)
            for op in OPS:
                self.samples[op][name] = []
                self.errors[op][name] = []
            self.rss_kib[name] = []
            self.rss_errors[name] = []

    def build_bundles(self) -> None:
        self.progress("building the busybox rootfs")
        rootfs = self.tmp / "rootfs"
        subprocess.run(["bash", str(BUILD_ROOTFS), str(rootfs)], check=True,
                       stdout=subprocess.DEVNULL)
        spec_dir = self.tmp / "spec"
        spec_dir.mkdir()
        runc = shutil.which("runc", path=PATH_ENV)
        if runc:
            subprocess.run([runc, "spec", "--bundle", str(spec_dir)], check=True)
            source = "runc spec"
        else:  # no runc: ociruntime's spec is the same document, pinned to runc's version
            subprocess.run([str(Path(self.args.ociruntime).resolve()), "spec", "--bundle",
                            str(spec_dir)], check=True)
            source = "ociruntime spec (no runc)"
        config = json.loads((spec_dir / "config.json").read_text())
        if not runc:
            config["ociVersion"] = "1.0.2-dev"
        config["root"]["path"] = str(rootfs)
        config["process"]["terminal"] = False
        linux = config.setdefault("linux", {})
        extras = []
        if self.args.seccomp:
            linux["seccomp"] = json.loads(Path(self.args.seccomp_profile).read_text())
            n = sum(len(r.get("names", [])) for r in linux["seccomp"].get("syscalls", [])
                    if r.get("action") == "SCMP_ACT_ALLOW")
            extras.append(f"seccomp {Path(self.args.seccomp_profile).name}"
                          f" (default {linux['seccomp'].get('defaultAction')}, {n} allowed)")
        if self.args.cgroups:
            linux.setdefault("resources", {}).update(json.loads(json.dumps(CGROUP_RESOURCES)))
            extras.append("cgroups (memory 256 MiB, cpu shares 512, pids 1024)")
        self.variant = ", ".join(extras) or "default"
        per = "one config for all" if self.args.same_config else "a new config per container"
        self.config_info = (f"{source}, ociVersion {config.get('ociVersion')}, terminal false,"
                            f" {self.variant}, {per}")
        self.bundles = {}
        self.configs: dict[str, dict[str, Any]] = {}
        for kind, args in (("true", ["/bin/true"]), ("sleep", ["/bin/sleep", "1000"])):
            bundle = self.tmp / f"bundle-{kind}"
            bundle.mkdir()
            config["process"]["args"] = args
            (bundle / "config.json").write_text(json.dumps(config, indent=2))
            self.bundles[kind] = str(bundle)
            self.configs[kind] = json.loads(json.dumps(config))

    def bundle_for(self, kind: str, cid: str) -> str:
        """The bundle of container ``cid``: as an engine writes one, its own config (here
        the hostname differs), unless --same-config. Written before the timed operation."""
        if self.args.same_config:
            return self.bundles[kind]
        bundle = self.tmp / "per-container" / cid
        bundle.mkdir(parents=True)
        config = dict(self.configs[kind], hostname=cid[-63:])
        (bundle / "config.json").write_text(json.dumps(config, indent=2))
        return str(bundle)

    def progress(self, text: str) -> None:
        if not self.quiet:
            print(f"\r\x1b[K{text}", end="", file=sys.stderr, flush=True)

    # -- operations

    def op(self, rt: Runtime, *args: str) -> Result:
        return self.spawner.run(rt.cmd(*args))

    def force_delete(self, rt: Runtime, cid: str) -> None:
        res = self.spawner.run(rt.cmd("delete", "--force", cid), timeout=30)
        if res.ok or "not exist" in (res.stderr or "") or "does not exist" in (res.error or ""):
            rt.live.pop(cid, None)

    def record(self, op: str, rt: Runtime, res: Result, timed: bool) -> bool:
        if res.ok:
            if timed:
                self.samples[op][rt.name].append(res.ns)
            return True
        if timed:
            self.errors[op][rt.name].append(res.error or "failed")
        return False

    def lifecycle(self, rt: Runtime, it: str, timed: bool) -> None:
        """One iteration for one runtime: run, create..delete, and the RSS-measuring create."""
        cid = f"{self.prefix}-{it}-r-{rt.name}"
        rt.live[cid] = None
        res = self.op(rt, "run", "--bundle", self.bundle_for("true", cid), cid)
        if self.record("run", rt, res, timed):
            rt.live.pop(cid, None)
        else:
            self.force_delete(rt, cid)

        cid = f"{self.prefix}-{it}-s-{rt.name}"
        rt.live[cid] = None
        ok = self.record("create", rt, self.op(rt, "create", "--bundle",
                                                self.bundle_for("sleep", cid), cid), timed)
        ok = ok and self.record("start", rt, self.op(rt, "start", cid), timed)
        pid = None
        if ok:
            res = self.op(rt, "state", cid)
            ok = self.record("state", rt, res, timed)
            try:
                pid = int(json.loads(res.stdout)["pid"]) if ok else None
            except (ValueError, KeyError, TypeError):
                pid = None
            if pid:
                rt.pids.add(pid)
                if (self.args.seccomp or self.args.cgroups) and rt.name not in self.applied:
                    self.applied[rt.name] = applied_settings(pid, self.args.seccomp,
                                                             self.args.cgroups)
        # exec: a health check or probe, a foreground /bin/true in the running container
        ok = ok and self.record("exec", rt, self.op(rt, "exec", cid, "/bin/true"), timed)
        ok = ok and self.record("kill", rt, self.op(rt, "kill", cid, "KILL"), timed)
        if ok:
            if pid:
                wait_exit(pid)  # untimed: the engine reaps the init before it deletes
                rt.pids.discard(pid)
            else:
                time.sleep(0.05)
            ok = self.record("delete", rt, self.op(rt, "delete", cid), timed)
        if ok:
            rt.live.pop(cid, None)
        else:
            self.force_delete(rt, cid)

        if self.wrapper is not None:
            argv, factor, _, out = self.wrapper
            cid = f"{self.prefix}-{it}-m-{rt.name}"
            rt.live[cid] = None
            try:
                out.unlink()
            except FileNotFoundError:
                pass
            res = self.spawner.run([*argv, *rt.cmd("create", "--bundle",
                                                   self.bundle_for("sleep", cid), cid)])
            if timed:
                if res.ok:
                    try:
                        kib = int(out.read_text().split()[-1])
                        self.rss_kib[rt.name].append(round(kib * factor))
                    except (OSError, ValueError, IndexError) as e:
                        self.rss_errors[rt.name].append(f"cannot read the RSS: {e}")
                else:
                    self.rss_errors[rt.name].append(res.error or "failed")
            self.force_delete(rt, cid)
        reap_orphans()

    def run_batch(self, rt: Runtime, n: int) -> None:
        ids = [f"{self.prefix}-b{j}-{rt.name}" for j in range(n)]
        failed: list[tuple[str, str]] = []
        bundles = {cid: self.bundle_for("true", cid) for cid in ids}
        for cid in ids:
            rt.live[cid] = None
        t0 = time.perf_counter_ns()
        for cid in ids:
            res = self.op(rt, "run", "--bundle", bundles[cid], cid)
            if res.ok:
                rt.live.pop(cid, None)
            else:
                failed.append((cid, res.error or "failed"))
        elapsed = (time.perf_counter_ns() - t0) / 1e9
        for cid, _ in failed:
            self.force_delete(rt, cid)
        reap_orphans()
        self.batch[rt.name] = {
            "containers_per_s": round(n / elapsed, 2) if not failed else None,
            "seconds": round(elapsed, 3),
            "errors": len(failed),
            "error": failed[0][1] if failed else None,
        }

    def list_ids(self, rt: Runtime) -> list[str]:
        res = self.spawner.run(rt.cmd("list", "--quiet"), timeout=30)
        return [line.strip() for line in res.stdout.splitlines() if line.strip()] if res.ok else []

    def run_all(self) -> None:
        self.wrapper = rss_wrapper(self.tmp)
        n = self.args.iterations
        for w in range(self.args.warmup):
            for rt in self.runtimes:
                self.progress(f"warmup {w + 1}/{self.args.warmup}: {rt.name}")
                self.lifecycle(rt, f"w{w}", timed=False)
        for i in range(n):
            for rt in self.runtimes:
                self.progress(f"iteration {i + 1}/{n}: {rt.name}")
                self.lifecycle(rt, str(i), timed=True)
        for rt in self.runtimes:
            if self.args.batch:
                self.progress(f"batch of {self.args.batch}: {rt.name}")
                self.run_batch(rt, self.args.batch)
        for rt in self.runtimes:  # a foreground run deletes its container: nothing may remain
            left = [c for c in self.list_ids(rt) if c not in rt.live]
            if left:
                self.leftovers[rt.name] = left
            for c in left:
                rt.live[c] = None
        self.progress("")

    # -- results

    def summary(self) -> dict[str, Any]:
        names = [rt.name for rt in self.runtimes]
        ops: dict[str, Any] = {}
        for op in OPS:
            per: dict[str, Any] = {
                name: summarize_samples(self.samples[op][name], self.errors[op][name])
                for name in names}
            per["ratios"] = ratios_for({n: per[n]["median_ms"] for n in names}, names)
            ops[op] = per
        rss: dict[str, Any] = {}
        for name in names:
            kib = self.rss_kib[name]
            errs = self.rss_errors[name]
            rss[name] = {
                "max_mib": round(max(kib) / 1024, 2) if kib else None,
                "median_mib": round(median(kib) / 1024, 2) if kib else None,
                "n": len(kib),
                "errors": len(errs),
                "error": errs[0] if errs else (None if kib or not self.wrapper
                                               else "no sample"),
            }
            if self.wrapper is None:
                rss[name]["error"] = "no GNU time or busybox to measure it"
        rss["ratios"] = ratios_for({n: rss[n]["max_mib"] for n in names}, names)
        rss["method"] = (f"max ru_maxrss of `create` run under {self.wrapper[2]}"
                         if self.wrapper else None)
        batch: dict[str, Any] = {"n": self.args.batch}
        if self.args.batch:
            for name in names:
                batch[name] = self.batch.get(name, {"containers_per_s": None, "error": "not run"})
            batch["ratios"] = ratios_for(
                {n: batch[n].get("containers_per_s") for n in names}, names)
        return {
            "tool": "ociruntime-bench",
            "iterations": self.args.iterations,
            "warmup": self.args.warmup,
            "variant": {"seccomp": self.args.seccomp, "cgroups": self.args.cgroups},
            "bundle": self.config_info,
            "mount_namespace": self.ns_note,
            "host": {"kernel": platform.release(), "cpus": os.cpu_count()},
            "runtimes": {rt.name: {"path": rt.path, "version": rt.version}
                         for rt in self.runtimes},
            "ops": ops,
            "rss_create": rss,
            "batch": batch,
            "applied": self.applied,
            "leftover_containers": self.leftovers,
        }

    def report(self, summary: dict[str, Any]) -> str:
        lines = [
            f"ociruntime bench: {summary['iterations']} iterations (+{summary['warmup']} warmup),"
            f" round-robin {', '.join(summary['runtimes'])}; each op timed as a whole process",
            f"bundle: busybox rootfs, config from {summary['bundle']}",
            f"mount namespace: {summary['mount_namespace']}",
            f"host: Linux {summary['host']['kernel']}, {summary['host']['cpus']} CPUs",
        ]
        for name, info in summary["runtimes"].items():
            lines.append(f"  {name}: {info['version']} ({info['path']})")
        lines += ["", render_report(summary), ""]
        if SUBJECT in summary["runtimes"] and set(BASELINES) & set(summary["runtimes"]):
            lines.append("ratios are ociruntime/<runtime> of the medians (of the max for RSS):"
                         " below 1 is better for times and RSS, above 1 for containers/s.")
        if summary["rss_create"]["method"]:
            lines.append(f"peak RSS: {summary['rss_create']['method']} (KiB -> MiB), an extra"
                         " untimed create per iteration.")
        if any(summary["ops"][op][name]["errors"] for op in OPS for name in summary["runtimes"]):
            lines.append('"-": not run, an earlier operation of the same container failed.')
        for op in OPS:
            for name in summary["runtimes"]:
                st = summary["ops"][op][name]
                if st["errors"]:
                    lines.append(f"{name} {op}: {st['errors']} of"
                                 f" {st['errors'] + st['n']} failed; first: {st['error']}")
        for name, got in summary["applied"].items():
            missing = [k for k, v in got.items() if v is not True]
            lines.append(f"{name}: applied in the running container: "
                         + ", ".join(f"{k} {'yes' if v is True else 'NO'}"
                                     for k, v in got.items())
                         + ("" if not missing else "  <- not comparable"))
        for name, ids in summary["leftover_containers"].items():
            lines.append(f"{name}: {len(ids)} container(s) left in its root after the"
                         f" benchmark (e.g. {ids[0]}); deleted by cleanup")
        return "\n".join(lines)

    # -- cleanup

    def cleanup(self) -> None:
        """Force-delete every container we may have left, kill their inits, remove the dirs."""
        for rt in self.runtimes:
            ids = dict(rt.live)
            if rt.root.exists():
                ids.update(dict.fromkeys(self.list_ids(rt)))
            for cid in ids:
                try:
                    self.force_delete(rt, cid)
                except OSError:
                    pass
            for pid in rt.pids:  # inits we saw: kill them if delete could not
                try:
                    if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
                        os.kill(pid, signal.SIGKILL)
                except (OSError, IndexError):
                    pass
        reap_orphans()
        remove_cgroups(self.prefix)
        self.spawner.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench.py",
        description="Time ociruntime, runc and crun side by side (run as root).")
    p.add_argument("--iterations", "-n", type=int, default=20,
                   help="timed iterations, round-robin over the runtimes (default 20)")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed iterations first (default 1)")
    p.add_argument("--runtimes", default="ociruntime,runc,crun",
                   help="comma-separated, in round-robin order (default ociruntime,runc,crun)")
    p.add_argument("--ociruntime", default=str(DEFAULT_OCIRUNTIME),
                   help=f"the ociruntime launcher (default {DEFAULT_OCIRUNTIME})")
    p.add_argument("--batch", type=int, default=100,
                   help="containers run back to back per runtime, 0 to skip (default 100)")
    p.add_argument("--seccomp", action="store_true",
                   help="add a podman-like default seccomp profile to the config")
    p.add_argument("--seccomp-profile", default=str(DEFAULT_SECCOMP),
                   help=f"the linux.seccomp object used by --seccomp (default {DEFAULT_SECCOMP})")
    p.add_argument("--cgroups", action="store_true",
                   help="add linux.resources limits: memory, cpu shares, pids")
    p.add_argument("--same-config", action="store_true",
                   help="one config.json for every container (engines write a new one for"
                        " each; ociruntime caches the check of a config it has seen)")
    p.add_argument("--json-only", action="store_true", help="print only the JSON line")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds before an operation is killed and counted as an error")
    p.add_argument("--no-unshare", action="store_true",
                   help="do not re-execute in a private mount namespace (crun may then fail)")
    args = p.parse_args(argv)
    args.runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    if not args.runtimes:
        p.error("--runtimes is empty")
    if len(set(args.runtimes)) != len(args.runtimes):
        p.error("--runtimes lists a runtime twice")
    if args.iterations < 1 or args.warmup < 0 or args.batch < 0:
        p.error("--iterations must be >= 1, --warmup and --batch >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    if os.geteuid() != 0:
        print("bench: must run as root (containers with namespaces, cgroups)", file=sys.stderr)
        return 1
    in_ns = os.environ.get(NS_ENV) == "1"
    if not in_ns and not args.no_unshare:
        reexec_in_namespace(raw)  # does not return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    signal.signal(signal.SIGALRM, _on_alarm)
    set_child_subreaper()

    bench: Bench | None = None
    code = 0
    try:
        ns_note = prepare_namespace(in_ns)
        bench = Bench(args, ns_note)
        bench.resolve_runtimes()
        bench.build_bundles()
        bench.run_all()
        summary = bench.summary()
        if not args.json_only:
            print(bench.report(summary), flush=True)
        print(json.dumps(summary, separators=(",", ":")), flush=True)
    except Interrupted as e:
        print(f"\nbench: interrupted ({e}); cleaning up", file=sys.stderr)
        code = 128 + e.signum
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if bench is not None:
            bench.cleanup()
    return code


if __name__ == "__main__":
    sys.exit(main())
