"""The cgroup drivers on this host's real hierarchies (root; no containers needed).

Each test forks its own children with subprocess and places them with ``apply``. Every
test kills the processes it started (by pid) and removes every cgroup directory it made,
in a ``finally`` (the ``tracker`` fixture); the module checks at the end that no
directory with this run's prefix is left anywhere under /sys/fs/cgroup.

v1: every hierarchy is a separate mount here, plus the hybrid cgroup2 at
/sys/fs/cgroup/unified (no controllers enabled in it), which is where the v2 driver and
the eBPF device filter are tested for real.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ociruntime import cgroups as C
from ociruntime.cgroups import ebpf
from ociruntime.errors import CgroupError

ROOT = "/sys/fs/cgroup"
UNIFIED = "/sys/fs/cgroup/unified"
PREFIX = f"ocitest-cg-{os.getpid()}-"
M = 1024 * 1024

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for real cgroups"),
    pytest.mark.skipif(not os.path.isdir(f"{ROOT}/devices/") or C.detect(ROOT) == "v2",
                       reason="needs the cgroup v1 hierarchies of this host"),
]
needs_unified = pytest.mark.skipif(C.detect(UNIFIED) != "v2",
                                   reason="needs a cgroup2 mount at /sys/fs/cgroup/unified")

# A child that waits for a line on stdin (so it is placed before it does anything), then
# runs the code given in argv[1].
WAITER = "import sys, os, time\nsys.stdin.readline()\nexec(sys.argv[1])\n"


def _leftovers() -> list[str]:
    found = []
    for top in os.listdir(ROOT):
        base = os.path.join(ROOT, top)
        if os.path.islink(base) or not os.path.isdir(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            found += [os.path.join(dirpath, d) for d in dirnames if d.startswith(PREFIX)]
            if dirpath.count("/") - base.count("/") >= 3:
                dirnames[:] = []
    return found


@pytest.fixture(scope="module", autouse=True)
def no_leftover_cgroups() -> Iterator[None]:
    yield
    assert _leftovers() == []


class Tracker:
    """Processes and cgroups a test made; ``cleanup`` kills and removes them all."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[Any]] = []
        self.managers: list[C.Manager] = []
        self.restore: list[tuple[str, str]] = []

    def name(self) -> str:
        return PREFIX + uuid.uuid4().hex[:8]

    def manager(self, resources: dict[str, Any] | None = None, *, default_path: bool = False,
                **kw: Any) -> C.Manager:
        """A manager for ``/<unique name>``, or with ``default_path`` runc's default (the
        id, below the caller's own cgroup)."""
        name = self.name()
        m = C.new_manager(name, None if default_path else "/" + name, resources, **kw)
        self.managers.append(m)
        return m

    def spawn(self, code: str = "time.sleep(100)", **kw: Any) -> subprocess.Popen[Any]:
        p = subprocess.Popen([sys.executable, "-c", WAITER, code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, **kw)
        self.procs.append(p)
        return p

    def cleanup(self) -> None:
        for m in self.managers:
            try:
                if m.freezer_state() == C.FROZEN:
                    m.thaw()
            except CgroupError:
                pass
        for m in self.managers:  # processes our children forked inside the cgroup
            try:
                for pid in m.pids():
                    if pid in {p.pid for p in self.procs} or _is_descendant(pid, self.procs):
                        os.kill(pid, signal.SIGKILL)
            except (CgroupError, ProcessLookupError):
                pass
        for p in self.procs:
            try:
                p.kill()
            except ProcessLookupError:
                pass
            p.wait()
        for m in self.managers:
            for _ in range(100):
                try:
                    if not any(m.pids()):
                        break
                except CgroupError:
                    break
                time.sleep(0.02)
            try:
                m.destroy()
            except CgroupError:
                pass
            for d in reversed(m.created_dirs + sorted(m.paths().values())):
                if d and os.path.isdir(d):
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass
        for path, value in self.restore:
            with open(path) as f:
                now = f.read().split()
            for ctrl in now:
                if ctrl not in value.split():
                    with open(path, "w") as f:
                        f.write("-" + ctrl)


def _is_descendant(pid: int, procs: list[subprocess.Popen[Any]]) -> bool:
    roots = {p.pid for p in procs}
    for _ in range(20):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
        if ppid in roots:
            return True
        if ppid <= 1:
            return False
        pid = ppid
    return False


@pytest.fixture
def tracker() -> Iterator[Tracker]:
    t = Tracker()
    try:
        yield t
    finally:
        t.cleanup()


def go(p: subprocess.Popen[Any]) -> None:
    assert p.stdin is not None
    p.stdin.write("\n")
    p.stdin.flush()


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def first_disk() -> tuple[int, int] | None:
    for line in read("/proc/partitions").splitlines()[2:]:
        major, minor, _, name = line.split()
        if os.path.exists(f"/sys/block/{name}"):
            return int(major), int(minor)
    return None


# --- v1 ----------------------------------------------------------------------------------------


def test_v1_every_controller_reads_back(tracker: Tracker) -> None:
    disk = first_disk()
    res: dict[str, Any] = {
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
        "memory": {"limit": 64 * M, "reservation": 32 * M, "swap": 128 * M,
                   "swappiness": 30},
        "cpu": {"shares": 512, "quota": 25000, "period": 100000, "burst": 5000,
                "realtimePeriod": 1000000, "realtimeRuntime": 10000, "cpus": "0",
                "mems": "0"},
        "pids": {"limit": 50},
    }
    if disk:
        res["blockIO"] = {"throttleReadBpsDevice": [{"major": disk[0], "minor": disk[1],
                                                     "rate": M}],
                          "throttleWriteIOPSDevice": [{"major": disk[0], "minor": disk[1],
                                                       "rate": 500}]}
    m = tracker.manager(res)
    p = tracker.spawn()
    m.apply(p.pid)
    m.set()
    paths = m.paths()
    name = os.path.basename(paths["devices"])
    own = read(f"/proc/{p.pid}/cgroup")
    for line in own.splitlines():  # every hierarchy, the unified one included
        assert line.endswith("/" + name), line
    assert "0::/" + name in own.splitlines()
    mem, cpu = paths["memory"], paths["cpu"]
    assert read(f"{mem}/memory.limit_in_bytes") == f"{64 * M}\n"
    assert read(f"{mem}/memory.soft_limit_in_bytes") == f"{32 * M}\n"
    assert read(f"{mem}/memory.memsw.limit_in_bytes") == f"{128 * M}\n"
    assert read(f"{mem}/memory.swappiness") == "30\n"
    assert read(f"{cpu}/cpu.shares") == "512\n"
    assert read(f"{cpu}/cpu.cfs_quota_us") == "25000\n"
    assert read(f"{cpu}/cpu.cfs_period_us") == "100000\n"
    assert read(f"{cpu}/cpu.cfs_burst_us") == "5000\n"
    assert read(f"{cpu}/cpu.rt_period_us") == "1000000\n"
    assert read(f"{cpu}/cpu.rt_runtime_us") == "10000\n"
    assert read(f"{paths['cpuset']}/cpuset.cpus") == "0\n"
    assert read(f"{paths['cpuset']}/cpuset.mems") == "0\n"
    assert read(f"{paths['pids']}/pids.max") == "50\n"
    if disk:
        d = f"{disk[0]}:{disk[1]}"
        assert read(f"{paths['blkio']}/blkio.throttle.read_bps_device") == f"{d} {M}\n"
        assert read(f"{paths['blkio']}/blkio.throttle.write_iops_device") == f"{d} 500\n"
    assert sorted(read(f"{paths['devices']}/devices.list").splitlines()) == sorted([
        "b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
        "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 10:229 rw",
        "c 136:* rwm"])
    assert m.pids() == [p.pid]
    assert read(f"{paths['freezer']}/freezer.state") == "THAWED\n"
    # set() again is idempotent: the device cgroup is already right, nothing is rewritten
    m.fs.writes.clear()
    m.set()
    assert not [w for w in m.fs.writes if "devices." in w[0]]


def test_v1_device_rules_are_enforced(tracker: Tracker) -> None:
    m = tracker.manager({"devices": [{"allow": False, "access": "rwm"}]},
                        linux_devices=[{"path": "/dev/null", "type": "c", "major": 1,
                                        "minor": 3}])
    p = tracker.spawn(_OPEN_DEVICES)
    m.apply(p.pid)
    m.set()
    go(p)
    out, _ = p.communicate(timeout=10)
    assert out.split("\n")[:2] == ["/dev/null err 1", "/dev/zero ok"]


def test_v1_pids_limit_makes_fork_fail(tracker: Tracker) -> None:
    m = tracker.manager({"pids": {"limit": 4}})
    code = """
ok = failed = 0
for _ in range(8):
    try:
        pid = os.fork()
    except OSError as e:
        assert e.errno == 11, e
        failed += 1
        continue
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    ok += 1
print(ok, failed, flush=True)
time.sleep(60)
"""
    p = tracker.spawn(code)
    m.apply(p.pid)
    m.set()
    go(p)
    assert p.stdout is not None
    ok, failed = map(int, p.stdout.readline().split())
    assert (ok, failed) == (3, 5)  # the child itself is the 4th task
    assert m.stats()["pids"] == {"current": 4, "limit": 4}
    assert len(m.pids()) == 4
    m.signal_all(signal.SIGKILL, reap=False)
    p.wait(timeout=10)
    for _ in range(100):
        if not m.pids():
            break
        time.sleep(0.02)
    assert m.pids() == []


def test_v1_memory_limit_oom_kills_and_is_reported(tracker: Tracker) -> None:
    m = tracker.manager({"memory": {"limit": 48 * M, "swap": 48 * M}})
    p = tracker.spawn("chunks = []\nwhile True:\n    chunks.append(bytearray(8 << 20))\n")
    m.apply(p.pid)
    m.set()
    before = m.oom_kill_count()
    with m.oom_notifier() as oom:
        go(p)
        assert p.wait(timeout=30) == -signal.SIGKILL
        events = 0
        deadline = time.monotonic() + 10
        while events == 0 and time.monotonic() < deadline:
            events = oom.wait(timeout=1) or 0
        assert events >= 1
    assert m.oom_kill_count() == before + 1
    stats = m.stats()["memory"]
    assert stats["usage"]["limit"] == 48 * M and stats["usage"]["max"] > 40 * M
    assert C.format_event("oom", "c1") == '{"type":"oom","id":"c1"}\n'


def test_v1_events_loop_reports_stats_and_oom(tracker: Tracker) -> None:
    m = tracker.manager({"memory": {"limit": 48 * M}})
    m.apply(-1)
    m.set()
    lines: list[str] = []
    t = threading.Thread(target=C.watch_events, args=(m, "c1", 0.2, lines.append))
    t.start()
    try:
        p = tracker.spawn("chunks = []\nwhile True:\n    chunks.append(bytearray(8 << 20))\n")
        m.apply(p.pid)
        go(p)
        assert p.wait(timeout=30) == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while '{"type":"oom","id":"c1"}\n' not in lines and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        m.destroy()  # the notifier sees the cgroup go and the loop ends, as runc's
        t.join(timeout=10)
    assert not t.is_alive()
    assert '{"type":"oom","id":"c1"}\n' in lines
    stats = [json.loads(x) for x in lines if x.startswith('{"type":"stats"')]
    assert len(stats) >= 2 and stats[0]["data"]["memory"]["usage"]["limit"] == 48 * M


def test_v1_oom_notifier_ends_when_cgroup_is_removed(tracker: Tracker) -> None:
    m = tracker.manager({})
    m.apply(-1)  # create only
    oom = m.oom_notifier()
    try:
        m.destroy()
        assert oom.wait(timeout=5) is None
    finally:
        oom.close()


_TICKER = "while True:\n    os.write(1, b'x')\n    time.sleep(0.01)\n"


def _drain(fd: int) -> int:
    n = 0
    while True:
        try:
            n += len(os.read(fd, 65536))
        except BlockingIOError:
            return n


def _assert_freezes(m: C.Manager, p: subprocess.Popen[Any], frozen_state: str | None) -> None:
    assert p.stdout is not None
    fd = p.stdout.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    time.sleep(0.2)
    assert _drain(fd) > 0
    m.freeze()
    assert m.freezer_state() == C.FROZEN
    if frozen_state:
        status = read(f"/proc/{p.pid}/status")
        assert f"State:\t{frozen_state}" in status
    time.sleep(0.05)
    _drain(fd)
    time.sleep(0.3)
    assert _drain(fd) == 0  # no progress while frozen
    m.thaw()
    assert m.freezer_state() == C.THAWED
    time.sleep(0.2)
    assert _drain(fd) > 0


def test_v1_freezer_pauses_and_resumes(tracker: Tracker) -> None:
    m = tracker.manager({})
    p = tracker.spawn(_TICKER)
    m.apply(p.pid)
    m.set()
    go(p)
    _assert_freezes(m, p, "D (disk sleep)")
    assert read(m.path("freezer") + "/freezer.state") == "THAWED\n"


def test_v1_signal_all_kills_the_whole_tree(tracker: Tracker) -> None:
    m = tracker.manager({})
    p = tracker.spawn("for _ in range(3):\n    subprocess = __import__('subprocess')\n"
                      "    subprocess.Popen(['sleep', '100'])\nprint('ready', flush=True)\n"
                      "time.sleep(100)\n")
    m.apply(p.pid)
    m.set()
    go(p)
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    assert len(m.pids()) == 4
    m.signal_all(signal.SIGKILL, reap=False)
    assert p.wait(timeout=10) == -signal.SIGKILL
    for _ in range(100):
        if not m.pids():
            break
        time.sleep(0.02)
    assert m.pids() == []
    assert m.freezer_state() == C.THAWED


def test_v1_destroy_removes_every_directory_and_kills_nothing(tracker: Tracker) -> None:
    m = tracker.manager({"pids": {"limit": 10}}, default_path=True)
    own_memory = C.common.parse_cgroup_file("/proc/self/cgroup")["memory"]
    assert m.path("memory") == os.path.normpath(f"{ROOT}/memory{own_memory}/"
                                                + os.path.basename(m.path("devices")))
    p = tracker.spawn()
    m.apply(p.pid)
    m.set()
    sub = os.path.join(m.path("cpu"), "child")
    os.mkdir(sub)
    with pytest.raises(CgroupError, match="Failed to remove paths"):
        m.destroy()  # a process is still inside: nothing is killed
    assert p.poll() is None
    assert os.path.isdir(m.path("cpu")) and not os.path.exists(sub)  # sub-cgroups went first
    p.kill()
    p.wait()
    m.destroy()
    assert [d for d in m.paths().values() if os.path.exists(d)] == []
    assert not m.exists()


def test_v1_stats_of_a_live_cgroup(tracker: Tracker) -> None:
    m = tracker.manager({"memory": {"limit": 128 * M}, "cpu": {"cpus": "0"},
                         "pids": {"limit": 20}})
    # Anonymous memory written after joining is charged to the new memcg (rss); CPU work too.
    p = tracker.spawn("buf = bytearray(b'x') * (8 << 20)\nx = 0\nfor i in range(2000000):\n"
                      "    x += i\nprint(x, flush=True)\ntime.sleep(100)")
    m.apply(p.pid)
    m.set()
    go(p)
    assert p.stdout is not None
    p.stdout.readline()
    data = m.stats()
    assert list(data) == ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
                          "network_interfaces"]
    assert data["cpu"]["usage"]["total"] > 0
    assert len(data["cpu"]["usage"]["percpu"]) == os.cpu_count()
    assert data["cpuset"]["cpus"] == [0]
    assert data["memory"]["usage"]["limit"] == 128 * M and data["memory"]["usage"]["usage"] > 0
    assert data["memory"]["raw"]["rss"] > 0
    assert data["pids"] == {"current": 1, "limit": 20}
    line = C.format_event("stats", "x", data)
    assert line.startswith('{"type":"stats","id":"x","data":{"cpu":{"usage":{"total":')


def test_v1_update_keeps_what_is_not_given(tracker: Tracker) -> None:
    res = {"memory": {"limit": 64 * M}, "pids": {"limit": 30}, "cpu": {"shares": 256}}
    m = tracker.manager(res)
    p = tracker.spawn()
    m.apply(p.pid)
    m.set()
    new = C.update_resources(res, {"pids-limit": 20})
    again = C.load_manager(m.paths(), resources=new)
    tracker.managers.append(again)
    again.set(skip_devices=True)
    assert read(m.path("pids") + "/pids.max") == "20\n"
    assert read(m.path("memory") + "/memory.limit_in_bytes") == f"{64 * M}\n"
    assert read(m.path("cpu") + "/cpu.shares") == "256\n"
    again.set(C.update_resources(new, {"memory": "100M"}), skip_devices=True)
    assert read(m.path("memory") + "/memory.limit_in_bytes") == f"{100 * M}\n"


# --- v2 (the hybrid host's unified hierarchy) -------------------------------------------------


_OPEN_DEVICES = """
for dev in ('/dev/null', '/dev/zero'):
    try:
        os.close(os.open(dev, os.O_RDONLY))
        print(dev, 'ok', flush=True)
    except OSError as e:
        print(dev, 'err', e.errno, flush=True)
"""


def _v2_manager(tracker: Tracker, resources: dict[str, Any] | None = None,
                **kw: Any) -> C.Manager:
    tracker.restore.append((f"{UNIFIED}/cgroup.subtree_control",
                            read(f"{UNIFIED}/cgroup.subtree_control")))
    m = tracker.manager(resources, root=UNIFIED, **kw)
    assert isinstance(m, C.Fs2Manager)
    return m


@needs_unified
def test_v2_placement_and_freeze(tracker: Tracker) -> None:
    m = _v2_manager(tracker, {})
    p = tracker.spawn(_TICKER)
    m.apply(p.pid)
    m.set(skip_devices=True)
    name = os.path.basename(m.path(""))
    assert f"0::/{name}" in read(f"/proc/{p.pid}/cgroup").splitlines()
    assert m.pids() == [p.pid]
    go(p)
    _assert_freezes(m, p, None)
    assert "frozen 0" in read(m.path("") + "/cgroup.events")


@needs_unified
def test_v2_ebpf_device_filter_denies(tracker: Tracker) -> None:
    # /dev/null redefined in linux.devices: runc drops its default allow rule
    m = _v2_manager(tracker, {"devices": [{"allow": False, "access": "rwm"}]},
                    linux_devices=[{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}])
    p = tracker.spawn(_OPEN_DEVICES)
    m.apply(p.pid)
    m.set()
    fd = os.open(m.path(""), os.O_DIRECTORY | os.O_RDONLY)
    try:
        assert len(ebpf.query_programs(fd)) == 1
        go(p)
        out, _ = p.communicate(timeout=10)
        assert out.split("\n")[:2] == [f"/dev/null err {errno.EPERM}", "/dev/zero ok"]
        # a new rule set replaces the program (BPF_F_REPLACE), it does not stack
        q = tracker.spawn(_OPEN_DEVICES)
        m.apply(q.pid)
        m.set({"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3,
                            "access": "rwm"}]})
        assert len(ebpf.query_programs(fd)) == 1
        go(q)
        out, _ = q.communicate(timeout=10)
        assert out.split("\n")[:2] == ["/dev/null ok", "/dev/zero ok"]
    finally:
        os.close(fd)


@needs_unified
def test_v2_signal_all_and_destroy(tracker: Tracker) -> None:
    m = _v2_manager(tracker, {})
    p = tracker.spawn()
    m.apply(p.pid)
    m.signal_all(signal.SIGKILL, reap=False)
    assert p.wait(timeout=10) == -signal.SIGKILL
    for _ in range(100):
        if not m.pids():
            break
        time.sleep(0.02)
    m.destroy()
    assert not m.exists()


def _self_join_child(dirs: list[tuple[str, bool]]) -> tuple[int, int, str]:
    """Fork a single-threaded child that joins ``dirs`` by itself and reports; returns
    (pid, status, what it wrote back: its /proc/self/cgroup or the error)."""
    from ociruntime.process import join_cgroups_self

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        try:
            join_cgroups_self(dirs)
            with open("/proc/self/cgroup") as f:
                os.write(w, f.read().encode())
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001
            os.write(w, f"{type(exc).__name__}: {exc}".encode())
            os._exit(1)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return pid, status, b"".join(chunks).decode()


def test_v1_self_join_places_the_process_without_the_runtime(tracker: Tracker) -> None:
    # create's cheap placement: the runtime makes the directories (apply(-1)), the
    # intermediate writes 0 to each tasks file (cgroup.procs on cgroup2) by itself.
    m = tracker.manager({"pids": {"limit": 10}})
    m.apply(-1)
    dirs = m.self_join_dirs()
    assert dirs is not None and len(dirs) == len(m.paths())
    _, status, text = _self_join_child(dirs)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, text
    name = os.path.basename(m.path("pids"))
    joined = {line.split(":", 2)[1] for line in text.splitlines() if line.endswith("/" + name)}
    assert {"pids", "memory", "devices", "freezer"} <= joined
    if C.detect(UNIFIED) == "v2":
        assert "" in joined  # the hybrid cgroup2 line 0::/<name>, joined via cgroup.procs
    assert m.pids() == []  # the child has exited: nothing is left inside


def test_self_join_error_names_the_directory_and_ignored_ones_are_skipped(
        tracker: Tracker) -> None:
    missing = f"{ROOT}/pids/{tracker.name()}"
    _, status, text = _self_join_child([(missing, False)])
    assert os.WEXITSTATUS(status) == 1
    assert text == (f"CgroupError: unable to apply cgroup configuration: failed to join "
                    f"{missing}: no such file or directory")
    _, status, text = _self_join_child([(missing, True)])
    assert os.WEXITSTATUS(status) == 0, text


def test_rootless_v1_manager_is_placed_by_the_runtime(tracker: Tracker) -> None:
    # Rootless join errors drop a hierarchy from the state, which only the runtime can do.
    assert tracker.manager({}, rootless=True).self_join_dirs() is None


def _child_cgroup_line(fork: Any) -> tuple[int, str]:
    """Run ``fork()`` (a fork-like call); the child sends its cgroup2 line and exits 0."""
    r, w = os.pipe()
    pid = fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        with open("/proc/self/cgroup") as f:
            line = [x for x in f.read().splitlines() if x.startswith("0::")]
        os.write(w, (line[0] if line else "").encode())
        os._exit(0)
    os.close(w)
    text = os.read(r, 4096).decode()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return pid, text


@needs_unified
def test_clone_fork_gives_birth_inside_the_cgroup2_directory(tracker: Tracker) -> None:
    from ociruntime import linux as L

    name = tracker.name()
    d = f"{UNIFIED}/{name}"
    os.mkdir(d)
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _, line = _child_cgroup_line(lambda: L.clone_fork(cgroup_fd=fd))
        finally:
            os.close(fd)
        assert line == f"0::/{name}"
        assert read(f"/proc/{os.getpid()}/cgroup").splitlines()[-1] != line  # parent stays
    finally:
        os.rmdir(d)


def test_fork_into_a_v1_directory_is_refused_and_falls_back(tracker: Tracker) -> None:
    from ociruntime import linux as L
    from ociruntime.process import _fork

    d = f"{ROOT}/pids"
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError):
            L.clone_fork(cgroup_fd=fd)  # not a cgroup2 directory: no child is made
    finally:
        os.close(fd)
    born: list[bool] = []

    def fork() -> int:
        pid, ok = _fork(d)
        born.append(ok)
        return pid

    _child_cgroup_line(fork)
    assert born == [False]
