"""The cgroup drivers against fake cgroupfs trees (no root needed).

Each driver takes its root and /proc as parameters; on a fake tree files are created on
write and every write is recorded (``mgr.fs.writes``), so the tests compare the exact
sequence of (file, value) writes with what runc 1.1.5 writes for the same resources
(read from its ``libcontainer/cgroups/fs``, ``fs2`` and ``ebpf/devicefilter``, and from
its own tests' expected values).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ociruntime import cgroups as C
from ociruntime.cgroups import ebpf, v2
from ociruntime.cgroups.common import CgroupFileError, CgroupFS
from ociruntime.cgroups.devices import Emulator
from ociruntime.cgroups.resources import DeviceRule, Resources
from ociruntime.errors import CgroupError

V1_SUBSYSTEMS = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
                 "systemd", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma"]
M = 1024 * 1024

FULL_RESOURCES: dict[str, Any] = {
    "devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
    ],
    "memory": {"limit": 100 * M, "reservation": 50 * M, "swap": 200 * M, "swappiness": 10,
               "disableOOMKiller": True},
    "cpu": {"shares": 512, "quota": 20000, "period": 100000, "realtimeRuntime": 950,
            "realtimePeriod": 1000, "cpus": "0-1", "mems": "0", "burst": 1000, "idle": 0},
    "pids": {"limit": 32},
    "blockIO": {
        "weight": 300, "leafWeight": 200,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 400, "leafWeight": 100}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 2097152}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 200}],
    },
    "hugepageLimits": [{"pageSize": "2MB", "limit": 2 * M}],
    "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
    "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    _write(proc / "self" / "uid_map", "         0          0 4294967295\n")
    _write(proc / "self" / "mountinfo", "")
    lines = [f"{i + 1}:{'name=systemd' if s == 'systemd' else s}:/"
             for i, s in enumerate(V1_SUBSYSTEMS)]
    lines[V1_SUBSYSTEMS.index("memory")] = "5:memory:/user.slice/session-1"
    _write(proc / "self" / "cgroup", "\n".join(lines + ["0::/caller/leaf"]) + "\n")
    _write(proc / "1" / "cgroup", "\n".join(
        [f"{i + 1}:{'name=systemd' if s == 'systemd' else s}:/init.scope"
         for i, s in enumerate(V1_SUBSYSTEMS)]) + "\n")
    return proc


@pytest.fixture
def v1_root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup"
    for s in V1_SUBSYSTEMS:
        (root / s).mkdir(parents=True)
    _write(root / "cpuset" / "cpuset.cpus", "0-3\n")
    _write(root / "cpuset" / "cpuset.mems", "0\n")
    return root


@pytest.fixture
def v2_root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup2"
    _write(root / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n")
    return root


def v1_manager(root: Path, proc: Path, resources: dict[str, Any] | None = None,
               path: str | None = "/c1", **kw: Any) -> C.Manager:
    m = C.new_manager("c1", path, resources, root=str(root), proc=str(proc),
                      mode=kw.pop("mode", "v1"), hugepages_dir=kw.pop("hugepages_dir", "/x"),
                      **kw)
    # a new cpuset cgroup starts with empty cpus/mems
    m.fs.missing = {"cpuset.cpus": "", "cpuset.mems": ""}
    return m


def rel_writes(mgr: C.Manager, base: Path) -> list[tuple[str, str]]:
    return [(os.path.relpath(p, base), v) for p, v in mgr.fs.writes]


# --- v1: paths --------------------------------------------------------------------------------


def test_detect_fake_trees(v1_root: Path, v2_root: Path) -> None:
    assert C.detect(str(v1_root)) == "v1"
    assert C.detect(str(v2_root)) == "v2"
    _write(v1_root / "unified" / "cgroup.controllers", "")
    assert C.detect(str(v1_root)) == "hybrid"


def test_v1_absolute_path_from_each_hierarchy_root(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc, path="/a/b/../c")
    paths = m.paths()
    assert paths["memory"] == str(v1_root / "memory" / "a" / "c")
    assert paths["name=systemd"] == str(v1_root / "systemd" / "a" / "c")
    assert set(paths) == {"cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio",
                          "hugetlb", "net_cls", "net_prio", "perf_event", "freezer", "rdma",
                          "name=systemd"}


def test_v1_relative_and_default_paths_under_caller(v1_root: Path, fake_proc: Path) -> None:
    rel = v1_manager(v1_root, fake_proc, path="pod/ctr").paths()
    assert rel["memory"] == str(v1_root / "memory/user.slice/session-1/pod/ctr")
    assert rel["cpu"] == str(v1_root / "cpu/pod/ctr")
    default = v1_manager(v1_root, fake_proc, path=None).paths()
    assert default["memory"] == str(v1_root / "memory/user.slice/session-1/c1")
    assert default["pids"] == str(v1_root / "pids/c1")


def test_v1_hybrid_joins_unified_like_runc(v1_root: Path, fake_proc: Path) -> None:
    (v1_root / "unified").mkdir()
    _write(v1_root / "unified" / "cgroup.controllers", "")
    # runc's GetOwnCgroupPath("") is the hybrid mount itself, not the caller's cgroup
    m = v1_manager(v1_root, fake_proc, path="rel", mode=None)
    assert m.paths()[""] == str(v1_root / "unified" / "rel")
    m = v1_manager(v1_root, fake_proc, path="/abs", mode=None)
    assert m.paths()[""] == str(v1_root / "unified" / "abs")


@pytest.mark.parametrize("bad", ["../x", "/../x", "a/../../x", "/a/../../b", "/", ".", "a/..",
                                 "/a/.."])
def test_cgroups_path_cannot_escape(v1_root: Path, fake_proc: Path, bad: str) -> None:
    with pytest.raises(CgroupError, match="linux.cgroupsPath"):
        v1_manager(v1_root, fake_proc, path=bad)


def test_devices_hierarchy_is_mandatory(v1_root: Path, fake_proc: Path) -> None:
    (v1_root / "devices").rmdir()
    with pytest.raises(CgroupError, match="mountpoint for devices not found"):
        v1_manager(v1_root, fake_proc)
    (v1_root / "hugetlb").rmdir()  # any other missing one is skipped
    (v1_root / "devices").mkdir()
    assert "hugetlb" not in v1_manager(v1_root, fake_proc).paths()


def test_mountinfo_is_used_for_real_mounts(tmp_path: Path, v1_root: Path,
                                           fake_proc: Path) -> None:
    (v1_root / "cpu,cpuacct").mkdir()
    _write(fake_proc / "self" / "mountinfo",
           f"32 31 0:29 / {v1_root}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n")
    paths = v1_manager(v1_root, fake_proc).paths()
    assert paths["cpu"] == paths["cpuacct"] == str(v1_root / "cpu,cpuacct" / "c1")


def test_unified_refused_on_v1(v1_root: Path, fake_proc: Path) -> None:
    with pytest.raises(CgroupError, match="cannot use unified on cgroup v1"):
        v1_manager(v1_root, fake_proc, {"unified": {"memory.max": "1"}})


# --- v1: apply and set ------------------------------------------------------------------------


def test_v1_apply_places_pid_everywhere(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc, {"cpu": {"realtimePeriod": 1000,
                                                "realtimeRuntime": 900}})
    m.apply(4242)
    w = rel_writes(m, v1_root)
    procs = [f for f, v in w if f.endswith("cgroup.procs")]
    assert all(v == "4242" for f, v in w if f.endswith("cgroup.procs"))
    assert [p.split("/")[0] for p in procs] == [
        "cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb",
        "net_cls", "net_prio", "perf_event", "freezer", "rdma", "systemd"]
    # cpuset: the parent's cpus/mems are copied before the pid moves in
    assert w[:3] == [("cpuset/c1/cpuset.cpus", "0-3\n"), ("cpuset/c1/cpuset.mems", "0\n"),
                     ("cpuset/c1/cgroup.procs", "4242")]
    # cpu: real-time bandwidth before the pid (a SCHED_RR task needs it to join)
    i = w.index(("cpu/c1/cgroup.procs", "4242"))
    assert w[i - 2:i] == [("cpu/c1/cpu.rt_period_us", "1000"), ("cpu/c1/cpu.rt_runtime_us", "900")]
    assert m.created_dirs[0] == str(v1_root / "cpuset" / "c1")


def test_v1_cpuset_parents_inherit(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc, {"cpu": {"cpus": "1"}}, path="/p/q/c")
    m.apply(7)
    w = [x for x in rel_writes(m, v1_root) if x[0].startswith("cpuset/")]
    assert w == [("cpuset/p/cpuset.cpus", "0-3\n"), ("cpuset/p/cpuset.mems", "0\n"),
                 ("cpuset/p/q/cpuset.cpus", "0-3\n"), ("cpuset/p/q/cpuset.mems", "0\n"),
                 ("cpuset/p/q/c/cpuset.cpus", "1"), ("cpuset/p/q/c/cpuset.mems", "0\n"),
                 ("cpuset/p/q/c/cgroup.procs", "7")]
    assert [os.path.relpath(d, v1_root) for d in m.created_dirs[:3]] == [
        "cpuset/p", "cpuset/p/q", "cpuset/p/q/c"]


def _prepare_v1_files(m: C.Manager) -> None:
    p = m.paths()
    _write(Path(p["devices"]) / "devices.list", "a *:* rwm\n")
    _write(Path(p["memory"]) / "memory.limit_in_bytes", "9223372036854771712\n")
    _write(Path(p["memory"]) / "memory.memsw.limit_in_bytes", "9223372036854771712\n")


def test_v1_set_writes_what_runc_writes(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc, FULL_RESOURCES)
    m.apply(1)
    _prepare_v1_files(m)
    m.fs.writes.clear()
    m.set()
    assert rel_writes(m, v1_root) == [
        ("cpuset/c1/cpuset.cpus", "0-1"),
        ("cpuset/c1/cpuset.mems", "0"),
        # devices: the black-list default goes with one disruptive deny, then the allow list
        ("devices/c1/devices.deny", "a *:* rwm"),
        ("devices/c1/devices.allow", "b *:* m"),
        ("devices/c1/devices.allow", "c *:* m"),
        ("devices/c1/devices.allow", "c 1:3 rwm"),
        ("devices/c1/devices.allow", "c 1:5 rwm"),
        ("devices/c1/devices.allow", "c 1:7 rwm"),
        ("devices/c1/devices.allow", "c 1:8 rwm"),
        ("devices/c1/devices.allow", "c 1:9 rwm"),
        ("devices/c1/devices.allow", "c 5:0 rwm"),
        ("devices/c1/devices.allow", "c 5:2 rwm"),
        ("devices/c1/devices.allow", "c 10:200 rwm"),
        ("devices/c1/devices.allow", "c 10:229 rw"),
        ("devices/c1/devices.allow", "c 136:* rwm"),
        ("memory/c1/memory.limit_in_bytes", str(100 * M)),
        ("memory/c1/memory.memsw.limit_in_bytes", str(200 * M)),
        ("memory/c1/memory.soft_limit_in_bytes", str(50 * M)),
        ("memory/c1/memory.oom_control", "1"),
        ("memory/c1/memory.swappiness", "10"),
        ("cpu/c1/cpu.shares", "512"),
        ("cpu/c1/cpu.cfs_period_us", "100000"),
        ("cpu/c1/cpu.cfs_burst_us", "1000"),
        ("cpu/c1/cpu.cfs_quota_us", "20000"),
        ("cpu/c1/cpu.idle", "0"),
        ("cpu/c1/cpu.rt_period_us", "1000"),
        ("cpu/c1/cpu.rt_runtime_us", "950"),
        ("pids/c1/pids.max", "32"),
        # no blkio.weight file: runc falls back to the BFQ names
        ("blkio/c1/blkio.bfq.weight", "300"),
        ("blkio/c1/blkio.leaf_weight", "200"),
        ("blkio/c1/blkio.bfq.weight_device", "8:0 400"),
        ("blkio/c1/blkio.leaf_weight_device", "8:0 100"),
        ("blkio/c1/blkio.throttle.read_bps_device", "8:0 1048576"),
        ("blkio/c1/blkio.throttle.write_bps_device", "8:16 2097152"),
        ("blkio/c1/blkio.throttle.read_iops_device", "8:0 100"),
        ("blkio/c1/blkio.throttle.write_iops_device", "8:16 200"),
        ("hugetlb/c1/hugetlb.2MB.limit_in_bytes", str(2 * M)),
        ("net_cls/c1/net_cls.classid", "1048577"),
        ("net_prio/c1/net_prio.ifpriomap", "eth0 5"),
        ("rdma/c1/rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
    ]


def test_v1_device_rules_share_one_open_per_file(v1_root: Path, fake_proc: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    m = v1_manager(v1_root, fake_proc, FULL_RESOURCES)
    m.apply(1)
    _prepare_v1_files(m)
    opened: list[str] = []
    real_open = m.fs.open

    def counting_open(directory: str, name: str, flags: int) -> int:
        opened.append(name)
        return real_open(directory, name, flags)

    monkeypatch.setattr(m.fs, "open", counting_open)
    m.fs.writes.clear()
    m.set()
    device_writes = [w for w in rel_writes(m, v1_root) if w[0].startswith("devices/")]
    assert len(device_writes) == 13  # one deny, twelve allows (the test above)
    assert [n for n in opened if n in ("devices.allow", "devices.deny")] == [
        "devices.deny", "devices.allow"]


def test_v1_blkio_weight_file_when_cfq(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc, {"blockIO": {"weight": 300}})
    m.apply(1)
    _write(Path(m.path("blkio")) / "blkio.weight", "500\n")
    m.fs.writes.clear()
    m.set(skip_devices=True)
    assert [x for x in rel_writes(m, v1_root) if "blkio" in x[0]] == [
        ("blkio/c1/blkio.weight", "300")]


def test_v1_memory_and_swap_order(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc, {"memory": {"limit": 300 * M, "swap": 400 * M}})
    m.apply(1)
    _prepare_v1_files(m)
    _write(Path(m.path("memory")) / "memory.limit_in_bytes", str(100 * M))
    m.fs.writes.clear()
    m.set(skip_devices=True)
    # raising the limit above the current one: memsw first, or the kernel says EINVAL
    assert [x[0].rsplit("/", 1)[1] for x in rel_writes(m, v1_root) if "memory/" in x[0]] == [
        "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    # -1 with no swap: swap unlimited too (swap accounting present)
    m.fs.writes.clear()
    m.set({"memory": {"limit": -1}}, skip_devices=True)
    assert [x for x in rel_writes(m, v1_root) if "memory/" in x[0]] == [
        ("memory/c1/memory.memsw.limit_in_bytes", "-1"),
        ("memory/c1/memory.limit_in_bytes", "-1")]


def test_v1_pids_unlimited_and_swappiness_range(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc)
    m.apply(1)
    m.fs.writes.clear()
    m.set({"pids": {"limit": -1}}, skip_devices=True)
    assert ("pids/c1/pids.max", "max") in rel_writes(m, v1_root)
    with pytest.raises(CgroupError, match=r"invalid memory swappiness value: 101 \(valid "):
        m.set({"memory": {"swappiness": 101}}, skip_devices=True)


def test_v1_cpu_period_einval_is_retried_after_quota(v1_root: Path, fake_proc: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    m = v1_manager(v1_root, fake_proc, {"cpu": {"quota": 5000, "period": 10000}})
    m.apply(1)
    m.fs.writes.clear()
    real = CgroupFS.write
    calls = []

    def flaky(self: CgroupFS, d: str, name: str, data: str) -> None:
        calls.append((name, data))
        if name == "cpu.cfs_period_us" and len(calls) == 1:
            raise CgroupFileError("invalid argument", 22)
        real(self, d, name, data)

    monkeypatch.setattr(CgroupFS, "write", flaky)
    m.set(skip_devices=True)
    assert [c for c in calls if c[0].startswith("cpu.cfs")] == [
        ("cpu.cfs_period_us", "10000"), ("cpu.cfs_quota_us", "5000"),
        ("cpu.cfs_period_us", "10000")]


def test_v1_limit_for_unmounted_controller_fails(v1_root: Path, fake_proc: Path) -> None:
    (v1_root / "hugetlb").rmdir()
    m = v1_manager(v1_root, fake_proc, {"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]})
    m.apply(1)
    _prepare_v1_files(m)
    with pytest.raises(CgroupError, match="^cannot set hugetlb limit: container could not "
                                          "join or create cgroup$"):
        m.set()


def test_v1_devices_transition_is_minimal(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc, {})
    m.apply(1)
    # already a white-list with the defaults plus c 10:229 rw: only the difference is written
    current = Emulator.from_rules(m.resources.devices + [DeviceRule("c", 10, 229, "rw", True)])
    _write(Path(m.path("devices")) / "devices.list",
           "\n".join(r.cgroup_string() for r in current.minimal_rules()) + "\n")
    m.fs.writes.clear()
    m.set()
    assert [x for x in rel_writes(m, v1_root) if "devices" in x[0]] == [
        ("devices/c1/devices.deny", "c 10:229 rw")]


def test_v1_freezer(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc)
    m.apply(1)
    m.freeze()  # the fake file reads back FROZEN at once
    assert rel_writes(m, v1_root)[-1] == ("freezer/c1/freezer.state", "FROZEN")
    _write(Path(m.path("freezer")) / "freezer.self_freezing", "1\n")
    assert m.freezer_state() == "FROZEN"
    _write(Path(m.path("freezer")) / "freezer.self_freezing", "0\n")
    assert m.freezer_state() == "THAWED"  # frozen only through an ancestor
    m.thaw()
    assert m.freezer_state() == "THAWED"


def test_v1_pids_come_from_devices_and_subcgroups(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc)
    m.apply(10)
    sub = Path(m.path("devices")) / "sub"
    _write(sub / "cgroup.procs", "11\n12\n")
    assert m.pids() == [10, 11, 12]
    assert m.pids(recursive=False) == [10]


def test_v1_destroy_removes_subcgroups(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc)
    m.apply(1)
    for p in m.paths().values():
        for f in Path(p).iterdir():
            f.unlink()  # a fake tree has real files; cgroupfs directories are rmdir-able
    (Path(m.path("memory")) / "child").mkdir()
    m.destroy()
    assert not any(os.path.exists(p) for p in m.paths().values())


def test_load_manager_checks_saved_paths(v1_root: Path, fake_proc: Path) -> None:
    m = v1_manager(v1_root, fake_proc)
    again = C.load_manager(m.paths(), root=str(v1_root), proc=str(fake_proc), mode="v1")
    assert again.paths() == m.paths()
    with pytest.raises(CgroupError, match="invalid cgroup path"):
        C.load_manager({"memory": "/etc"}, root=str(v1_root), proc=str(fake_proc), mode="v1")
    with pytest.raises(CgroupError, match="invalid cgroup path"):
        C.load_manager({"memory": str(v1_root / "memory/../../x")}, root=str(v1_root),
                       proc=str(fake_proc), mode="v1")


# --- v1: stats --------------------------------------------------------------------------------


def test_v1_stats_shape(v1_root: Path, fake_proc: Path, tmp_path: Path) -> None:
    hp = tmp_path / "hugepages"
    (hp / "hugepages-2048kB").mkdir(parents=True)
    m = v1_manager(v1_root, fake_proc, hugepages_dir=str(hp))
    m.apply(1)
    p = {k: Path(v) for k, v in m.paths().items()}
    files = {
        p["cpuacct"]: {"cpuacct.stat": "user 10\nsystem 20\n", "cpuacct.usage": "300000000\n",
                       "cpuacct.usage_percpu": "100 200 \n",
                       "cpuacct.usage_all": "cpu user system\n0 60 40\n1 0 200\n"},
        p["cpu"]: {"cpu.stat": "nr_periods 5\nnr_throttled 1\nthrottled_time 77\n"},
        p["cpuset"]: {"cpuset.cpus": "0-1,3\n", "cpuset.mems": "0\n",
                      "cpuset.sched_load_balance": "1\n",
                      "cpuset.sched_relax_domain_level": "-1\n"},
        p["memory"]: {"memory.stat": "cache 4096\nrss 8192\n",
                      "memory.usage_in_bytes": "12288\n", "memory.max_usage_in_bytes": "20000\n",
                      "memory.failcnt": "0\n", "memory.limit_in_bytes": "104857600\n",
                      "memory.use_hierarchy": "1\n"},
        p["pids"]: {"pids.current": "3\n", "pids.max": "max\n"},
        p["blkio"]: {"blkio.throttle.io_service_bytes_recursive":
                     "254:0 Read 4096\n254:0 Write 0\nTotal 4096\n",
                     "blkio.throttle.io_serviced_recursive": "254:0 Read 1\nTotal 1\n"},
        p["hugetlb"]: {"hugetlb.2MB.usage_in_bytes": "0\n",
                       "hugetlb.2MB.max_usage_in_bytes": "0\n", "hugetlb.2MB.failcnt": "2\n"},
    }
    for d, fs in files.items():
        for name, text in fs.items():
            _write(d / name, text)
    data = m.stats()
    assert json.dumps(data, separators=(",", ":")) == json.dumps({
        "cpu": {"usage": {"total": 300000000, "percpu": [100, 200], "percpu_kernel": [40, 200],
                          "percpu_user": [60, 0], "kernel": 200000000, "user": 100000000},
                "throttling": {"periods": 5, "throttledPeriods": 1, "throttledTime": 77}},
        "cpuset": {"cpus": [0, 1, 3], "cpu_exclusive": 0, "mems": [0], "mem_hardwall": 0,
                   "mem_exclusive": 0, "memory_migrate": 0, "memory_spread_page": 0,
                   "memory_spread_slab": 0, "memory_pressure": 0, "sched_load_balance": 1,
                   "sched_relax_domain_level": -1},
        "memory": {"cache": 4096,
                   "usage": {"limit": 104857600, "usage": 12288, "max": 20000, "failcnt": 0},
                   "swap": {"limit": 0, "failcnt": 0}, "kernel": {"limit": 0, "failcnt": 0},
                   "kernelTCP": {"limit": 0, "failcnt": 0},
                   "raw": {"cache": 4096, "rss": 8192}},
        "pids": {"current": 3},
        "blkio": {"ioServiceBytesRecursive": [
            {"major": 254, "op": "Read", "value": 4096}, {"major": 254, "op": "Write"}],
            "ioServicedRecursive": [{"major": 254, "op": "Read", "value": 1}]},
        "hugetlb": {"2MB": {"failcnt": 2}},
        "intel_rdt": {},
        "network_interfaces": None,
    }, separators=(",", ":"))
    line = C.format_event("stats", "c1", data)
    assert line.startswith('{"type":"stats","id":"c1","data":{"cpu":') and line.endswith("}\n")
    assert C.format_event("oom", "c1") == '{"type":"oom","id":"c1"}\n'


# --- v2 ---------------------------------------------------------------------------------------


def v2_manager(root: Path, proc: Path, resources: dict[str, Any] | None = None,
               path: str | None = "/c1", **kw: Any) -> C.Manager:
    return C.new_manager("c1", path, resources, root=str(root), proc=str(proc), mode="v2",
                         hugepages_dir="/x", **kw)


def test_v2_paths(v2_root: Path, fake_proc: Path) -> None:
    assert v2_manager(v2_root, fake_proc, path="/a/b").paths() == {"": str(v2_root / "a/b")}
    # relative: below the *parent* of the caller's cgroup (0::/caller/leaf)
    assert v2_manager(v2_root, fake_proc, path="x").paths() == {"": str(v2_root / "caller/x")}
    assert v2_manager(v2_root, fake_proc, path=None).paths() == {"": str(v2_root / "caller/c1")}
    with pytest.raises(CgroupError, match="linux.cgroupsPath"):
        v2_manager(v2_root, fake_proc, path="../../x")


def test_v2_apply_enables_controllers_in_ancestors(v2_root: Path, fake_proc: Path) -> None:
    m = v2_manager(v2_root, fake_proc, path="/a/b")
    m.apply(99)
    assert rel_writes(m, v2_root) == [
        ("cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +rdma"),
        ("a/cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +rdma"),
        ("a/b/cgroup.procs", "99"),
    ]
    assert m.created_dirs == [str(v2_root / "a"), str(v2_root / "a/b")]


def test_v2_apply_refuses_threaded_parent_with_domain_controllers(v2_root: Path,
                                                                   fake_proc: Path) -> None:
    _write(v2_root / "t" / "cgroup.type", "threaded\n")
    m = v2_manager(v2_root, fake_proc, {"memory": {"limit": M}}, path="/t/c")
    with pytest.raises(CgroupError, match="with domain controllers -- it is in threaded mode"):
        m.apply(1)
    assert not (v2_root / "t" / "c").exists()


def test_v2_set_writes_what_runc_writes(v2_root: Path, fake_proc: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    attached: list[bytes] = []
    monkeypatch.setattr(ebpf, "load_attach_device_filter",
                        lambda code, fd, license="Apache": attached.append(code))
    res = dict(FULL_RESOURCES, unified={"memory.high": "max", "cgroup.max.depth": "3"})
    m = v2_manager(v2_root, fake_proc, res)
    m.apply(1)
    _write(Path(m.path("")) / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n")
    m.fs.writes.clear()
    m.set()
    assert rel_writes(m, v2_root) == [
        ("c1/pids.max", "32"),
        ("c1/memory.swap.max", str(100 * M)),  # memory+swap 200M - memory 100M
        ("c1/memory.max", str(100 * M)),
        ("c1/memory.low", str(50 * M)),
        ("c1/io.weight", "2930"),  # blkio weight 300 -> 1 + (300-10)*9999/990
        ("c1/io.max", "8:0 rbps=1048576"),
        ("c1/io.max", "8:16 wbps=2097152"),
        ("c1/io.max", "8:0 riops=100"),
        ("c1/io.max", "8:16 wiops=200"),
        ("c1/cpu.idle", "0"),
        ("c1/cpu.weight", "20"),  # shares 512 -> 1 + (512-2)*9999/262142
        ("c1/cpu.max.burst", "1000"),
        ("c1/cpu.max", "20000 100000"),
        ("c1/cpuset.cpus", "0-1"),
        ("c1/cpuset.mems", "0"),
        ("c1/hugetlb.2MB.max", str(2 * M)),
        ("c1/rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
        ("c1/memory.high", "max"),
        ("c1/cgroup.max.depth", "3"),
    ]
    assert attached == [ebpf.assemble(ebpf.device_filter(m.resources.devices))]


def test_v2_memory_swap_special_cases(v2_root: Path, fake_proc: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    m = v2_manager(v2_root, fake_proc)
    m.apply(1)
    _write(Path(m.path("")) / "cgroup.controllers", "memory\n")

    def writes(res: dict[str, Any]) -> list[tuple[str, str]]:
        m.fs.writes.clear()
        m.set(res, skip_devices=True)
        return rel_writes(m, v2_root)

    assert writes({"memory": {"limit": -1}}) == [("c1/memory.swap.max", "max"),
                                                  ("c1/memory.max", "max")]
    assert writes({"memory": {"limit": M, "swap": M}}) == [("c1/memory.swap.max", "0"),
                                                            ("c1/memory.max", str(M))]
    with pytest.raises(CgroupError, match="unable to set swap limit without memory limit"):
        writes({"memory": {"swap": M}})
    _write(Path(m.path("")) / "memory.current", str(2 * M))
    with pytest.raises(CgroupError, match="rejecting memory limit 1048576 below usage"):
        writes({"memory": {"limit": M, "checkBeforeUpdate": True}})


def test_v2_cpu_quota_without_period_uses_default(v2_root: Path, fake_proc: Path) -> None:
    m = v2_manager(v2_root, fake_proc)
    m.apply(1)
    _write(Path(m.path("")) / "cgroup.controllers", "cpu\n")
    m.fs.writes.clear()
    m.set({"cpu": {"quota": -1}}, skip_devices=True)
    assert rel_writes(m, v2_root) == [("c1/cpu.max", "max 100000")]


@pytest.mark.parametrize("key", ["../cgroup.procs", "a/b", "..", ".", ""])
def test_v2_unified_keys_stay_inside(v2_root: Path, fake_proc: Path, key: str) -> None:
    with pytest.raises(CgroupError, match=r"linux.resources.unified"):
        v2_manager(v2_root, fake_proc, {"unified": {key: "1"}})


def test_hugepage_size_cannot_name_another_file(v1_root: Path, fake_proc: Path) -> None:
    with pytest.raises(CgroupError, match=r"hugepageLimits\[0\].pageSize"):
        v1_manager(v1_root, fake_proc, {"hugepageLimits": [{"pageSize": "../../x",
                                                            "limit": 1}]})


def test_v2_unified_unknown_controller_message(v2_root: Path, fake_proc: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    m = v2_manager(v2_root, fake_proc, {"unified": {"nosuch.knob": "1", "memory.x": "2"}})
    m.apply(1)
    _write(Path(m.path("")) / "cgroup.controllers", "memory\n")
    real = CgroupFS.write

    def write(self: CgroupFS, d: str, name: str, data: str) -> None:
        if name in ("nosuch.knob", "memory.x"):  # what cgroupfs says for an unknown file
            raise CgroupFileError(f"open {d}/{name}: no such file or directory", 2)
        real(self, d, name, data)

    monkeypatch.setattr(CgroupFS, "write", write)
    with pytest.raises(CgroupError, match='^unified resource "nosuch.knob" can\'t be set: '
                                          'controller "nosuch" not available$'):
        m.set(skip_devices=True)
    with pytest.raises(CgroupError, match='^unable to set unified resource "memory.x": open '):
        m.set({"unified": {"memory.x": "2"}}, skip_devices=True)


def test_v2_freezer_state(v2_root: Path, fake_proc: Path) -> None:
    m = v2_manager(v2_root, fake_proc)
    m.apply(1)
    d = Path(m.path(""))
    assert m.freezer_state() == ""  # no cgroup.freeze: undefined
    _write(d / "cgroup.freeze", "1\n")
    _write(d / "cgroup.events", "populated 1\nfrozen 1\n")
    assert m.freezer_state() == "FROZEN"
    _write(d / "cgroup.freeze", "0\n")
    assert m.freezer_state() == "THAWED"


def test_v2_stats(v2_root: Path, fake_proc: Path) -> None:
    m = v2_manager(v2_root, fake_proc)
    m.apply(1)
    d = Path(m.path(""))
    for name, text in {"pids.current": "2\n", "pids.max": "100\n",
                       "memory.stat": "anon 100\nfile 4096\n", "memory.current": "8192\n",
                       "memory.max": "max\n", "memory.swap.current": "0\n",
                       "memory.swap.max": "max\n", "io.stat": "254:0 rbytes=10 wbytes=20 "
                       "rios=1 wios=2 dbytes=0 dios=0\n",
                       "cpu.stat": "usage_usec 5\nuser_usec 3\nsystem_usec 2\n"
                       "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"}.items():
        _write(d / name, text)
    data = m.stats()
    assert data["cpu"] == {"usage": {"total": 5000, "kernel": 2000, "user": 3000},
                           "throttling": {}}
    assert data["pids"] == {"current": 2, "limit": 100}
    assert data["memory"]["cache"] == 4096
    assert data["memory"]["usage"] == {"limit": 2**64 - 1, "usage": 8192, "failcnt": 0}
    assert data["memory"]["swap"] == {"limit": 2**64 - 1, "usage": 8192, "failcnt": 0}
    assert data["blkio"] == {
        "ioServiceBytesRecursive": [{"major": 254, "op": "Read", "value": 10},
                                    {"major": 254, "op": "Write", "value": 20}],
        "ioServicedRecursive": [{"major": 254, "op": "Read", "value": 1},
                                {"major": 254, "op": "Write", "value": 2}]}


# --- devices and eBPF -------------------------------------------------------------------------


def _hash(text: str) -> str:
    # runc's devicefilter_test.go comparison: trimmed lines, no blanks, no comments
    return "\n".join(line.strip() for line in text.splitlines()
                     if line.strip() and not line.strip().startswith("//"))


PROLOGUE = """
        0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
        1: And32Imm dst: r2 imm: 65535
        2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
        3: RSh32Imm dst: r3 imm: 16
        4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
        5: LdXMemW dst: r5 src: r1 off: 8 imm: 0
"""


def test_ebpf_nil_is_deny_all() -> None:
    got = ebpf.listing(ebpf.device_filter([]))
    assert _hash(got) == _hash(PROLOGUE + """
block-0:
        6: Mov32Imm dst: r0 imm: 0
        7: Exit""")


def test_ebpf_builtin_allow_list_matches_runc() -> None:
    rules = [r for _, r in C.DEFAULT_DEVICE_RULES]
    expected = PROLOGUE + """
block-0:
        6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
        7: Mov32Reg dst: r1 src: r3
        8: And32Imm dst: r1 imm: 1
        9: JNEReg dst: r1 off: -1 src: r3 <block-1>
        10: Mov32Imm dst: r0 imm: 1
        11: Exit
block-1:
        12: JNEImm dst: r2 off: -1 imm: 2 <block-2>
        13: Mov32Reg dst: r1 src: r3
        14: And32Imm dst: r1 imm: 1
        15: JNEReg dst: r1 off: -1 src: r3 <block-2>
        16: Mov32Imm dst: r0 imm: 1
        17: Exit
"""
    n = 18
    for block, minor in enumerate([3, 5, 7, 8, 9], start=2):
        expected += f"""block-{block}:
        {n}: JNEImm dst: r2 off: -1 imm: 2 <block-{block + 1}>
        {n + 1}: JNEImm dst: r4 off: -1 imm: 1 <block-{block + 1}>
        {n + 2}: JNEImm dst: r5 off: -1 imm: {minor} <block-{block + 1}>
        {n + 3}: Mov32Imm dst: r0 imm: 1
        {n + 4}: Exit
"""
        n += 5
    for block, (major, minor) in enumerate([(5, 0), (5, 2), (10, 200)], start=7):
        expected += f"""block-{block}:
        {n}: JNEImm dst: r2 off: -1 imm: 2 <block-{block + 1}>
        {n + 1}: JNEImm dst: r4 off: -1 imm: {major} <block-{block + 1}>
        {n + 2}: JNEImm dst: r5 off: -1 imm: {minor} <block-{block + 1}>
        {n + 3}: Mov32Imm dst: r0 imm: 1
        {n + 4}: Exit
"""
        n += 5
    expected += """block-10:
        58: JNEImm dst: r2 off: -1 imm: 2 <block-11>
        59: JNEImm dst: r4 off: -1 imm: 136 <block-11>
        60: Mov32Imm dst: r0 imm: 1
        61: Exit
block-11:
        62: Mov32Imm dst: r0 imm: 0
        63: Exit
"""
    assert _hash(ebpf.listing(ebpf.device_filter(rules))) == _hash(expected)


def test_ebpf_privileged_except_one_device() -> None:
    rules = [DeviceRule("a", -1, -1, "rwm", True), DeviceRule("b", 8, 0, "rwm", False)]
    assert _hash(ebpf.listing(ebpf.device_filter(rules))) == _hash(PROLOGUE + """
block-0:
        6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
        7: JNEImm dst: r4 off: -1 imm: 8 <block-1>
        8: JNEImm dst: r5 off: -1 imm: 0 <block-1>
        9: Mov32Imm dst: r0 imm: 0
        10: Exit
block-1:
        11: Mov32Imm dst: r0 imm: 1
        12: Exit""")
    # runc's "Weird" case: rules before the allow-all are forgotten (8/1 allowed, 8/2 not)
    weird = [DeviceRule("b", 8, 1, "rwm", False), DeviceRule("a", -1, -1, "rwm", True),
             DeviceRule("b", 8, 2, "rwm", False)]
    assert _hash(ebpf.listing(ebpf.device_filter(weird))) == _hash(PROLOGUE + """
block-0:
        6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
        7: JNEImm dst: r4 off: -1 imm: 8 <block-1>
        8: JNEImm dst: r5 off: -1 imm: 2 <block-1>
        9: Mov32Imm dst: r0 imm: 0
        10: Exit
block-1:
        11: Mov32Imm dst: r0 imm: 1
        12: Exit""")


def test_ebpf_instruction_bytes() -> None:
    code = ebpf.assemble(ebpf.device_filter([DeviceRule("c", 1, 3, "r", True)]))
    insns = [code[i:i + 8] for i in range(0, len(code), 8)]
    assert insns[:6] == [
        bytes.fromhex("6112000000000000"),  # r2 = *(u32 *)(r1 + 0)
        bytes.fromhex("54020000ffff0000"),  # w2 &= 0xffff
        bytes.fromhex("6113000000000000"),  # r3 = *(u32 *)(r1 + 0)
        bytes.fromhex("7403000010000000"),  # w3 >>= 16
        bytes.fromhex("6114040000000000"),  # r4 = *(u32 *)(r1 + 4)
        bytes.fromhex("6115080000000000"),  # r5 = *(u32 *)(r1 + 8)
    ]
    assert insns[6:] == [
        bytes.fromhex("5502070002000000"),  # if r2 != 2 (char) goto +7 (the default block)
        bytes.fromhex("bc31000000000000"),  # w1 = w3
        bytes.fromhex("5401000002000000"),  # w1 &= 2 (read)
        bytes.fromhex("5d31040000000000"),  # if r1 != r3 goto +4
        bytes.fromhex("5504030001000000"),  # if r4 != 1 goto +3
        bytes.fromhex("5505020003000000"),  # if r5 != 3 goto +2
        bytes.fromhex("b400000001000000"),  # w0 = 1
        bytes.fromhex("9500000000000000"),  # exit
        bytes.fromhex("b400000000000000"),  # w0 = 0
        bytes.fromhex("9500000000000000"),  # exit
    ]


def test_emulator_refuses_holes_in_wildcards() -> None:
    with pytest.raises(CgroupError, match="cannot punch hole in existing wildcard rule"):
        Emulator.from_rules([DeviceRule("c", -1, -1, "rwm", True),
                             DeviceRule("c", 1, 3, "w", False)])


def test_emulator_parses_devices_list() -> None:
    emu = Emulator.from_list("c 1:3 rwm\nb *:* m\nc 136:* rw\n")
    assert not emu.is_blacklist()
    assert [r.cgroup_string() for r in emu.minimal_rules()] == ["b *:* m", "c 1:3 rwm",
                                                                 "c 136:* rw"]
    assert Emulator.from_list("a *:* rwm\n").is_allow_all()
    with pytest.raises(CgroupError, match="malformed"):
        Emulator.from_list("c 1:3\n")


def test_default_device_rules_dedup_by_linux_devices() -> None:
    rules = C.default_device_rules([{"path": "/dev/null", "type": "c", "major": 1,
                                     "minor": 3}])
    assert DeviceRule("c", 1, 3, "rwm", True) not in rules
    assert len(rules) == len(C.DEFAULT_DEVICE_RULES) - 1
    r = Resources.from_oci({"devices": [{"allow": True, "access": "rwm"}]},
                           default_devices=rules)
    assert r.devices[0] == DeviceRule("a", -1, -1, "rwm", True)
    assert r.devices[1:] == rules


@pytest.mark.parametrize("dev,field", [
    ({"allow": True, "access": ""}, "devices[0].access"),
    ({"allow": True, "access": "rwx"}, "devices[0].access"),
    ({"allow": True, "type": "p", "access": "r"}, "devices[0].type"),
    ({"allow": "yes", "access": "r"}, "devices[0].allow"),
])
def test_device_rule_errors_name_the_field(dev: dict[str, Any], field: str) -> None:
    with pytest.raises(CgroupError, match=r"linux\.resources\." + field.replace("[", r"\[")
                       .replace("]", r"\]")):
        Resources.from_oci({"devices": [dev]})


def test_v2_cannot_skip_ebpf_error_for_restrictive_rules(v2_root: Path,
                                                         fake_proc: Path) -> None:
    m = v2_manager(v2_root, fake_proc, {})
    m.apply(1)
    _write(Path(m.path("")) / "cgroup.controllers", "")
    assert isinstance(m, v2.Fs2Manager)
    # a fake directory is no cgroup: attaching fails, and the defaults are not all rwm
    with pytest.raises(CgroupError):
        m.set_devices(m.resources)
    allow_all = Resources.from_oci({"devices": [{"allow": True, "access": "rwm"}]})
    m.set_devices(allow_all)  # bpf(2) failure is fine when everything is allowed anyway


# --- placement without the runtime: self-join and birth in a cgroup2 directory ---------------


def test_v1_hybrid_self_placement(v1_root: Path, fake_proc: Path) -> None:
    (v1_root / "unified").mkdir()
    _write(v1_root / "unified" / "cgroup.controllers", "")
    m = v1_manager(v1_root, fake_proc, path="/c1", mode=None)
    dirs = m.self_join_dirs()
    assert dirs is not None
    # every hierarchy, name=systemd and the hybrid one flagged as ignorable (runc's NameGroup)
    assert sorted(dirs) == sorted((p, k in ("name=systemd", "")) for k, p in m.paths().items())
    assert dirs[-1] == (str(v1_root / "unified" / "c1"), True)  # the slow one last
    assert m.birth_dir() == str(v1_root / "unified" / "c1")


def test_v1_without_hybrid_has_no_birth_dir_and_rootless_places_nothing(
        v1_root: Path, fake_proc: Path) -> None:
    assert v1_manager(v1_root, fake_proc).birth_dir() is None
    rootless = v1_manager(v1_root, fake_proc, rootless=True)
    assert rootless.self_join_dirs() is None and rootless.birth_dir() is None


def test_v2_self_placement_is_its_directory(v2_root: Path, fake_proc: Path) -> None:
    m = v2_manager(v2_root, fake_proc)
    assert m.self_join_dirs() == [(str(v2_root / "c1"), False)]
    assert m.birth_dir() == str(v2_root / "c1")
    rootless = v2_manager(v2_root, fake_proc, rootless=True)
    assert rootless.self_join_dirs() is None and rootless.birth_dir() is None
