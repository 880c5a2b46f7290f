"""config-linux.md control groups: cgroupsPath, every linux.resources field as the host's
cgroup files show it for the container process, unified, and intelRdt.

Everything is checked on a ``created`` container (its process is in its cgroups and the
limits are set by then): the host-side files of the hierarchies the process is in
(``/proc/PID/cgroup`` + the hierarchy's mount point). A resource whose controller this host
does not have must not be dropped silently: config.md#valid-values asks for an error for a
value the runtime cannot support, so such tests accept either the limit in place or a
refused create.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from .harness import PROBE, cgroup_dir, cgroup_mounts, cgroup_v2_controllers, proc_cgroups

clause = pytest.mark.clause

MiB = 1 << 20


def cg_bundle(oci, resources: dict | None = None, *, edit=None, path: str | None = None):
    """A bundle with its own absolute cgroupsPath and ``resources`` merged into the default
    ones (the device rules stay), its process a probe that stays up."""
    b = oci.bundle(args=[PROBE, "all", "--sleep", "0"])
    b.config["linux"]["cgroupsPath"] = path or oci.cgroup_path(uuid.uuid4().hex[:12])
    if resources:
        b.config["linux"].setdefault("resources", {}).update(resources)
    if edit:
        edit(b.config)
    b.write()
    return b


def created(oci, resources=None, **kw) -> int:
    """create a container with ``resources``; its pid."""
    _cid, pid = oci.created(cg_bundle(oci, resources, **kw))
    return pid


def read_cg(pid: int, controller: str, name: str) -> str:
    d = cgroup_dir(pid, controller)
    if d is None:
        pytest.skip(f"the {controller} controller is not mounted on this host")
    return (d / name).read_text().strip()


def need_file(controller: str, name: str, at_root: bool = True) -> None:
    """Skip unless ``controller`` is mounted and (``at_root``: the root cgroup shows it) the
    kernel has ``name``."""
    mp = cgroup_mounts().get(controller)
    if mp is None:
        pytest.skip(f"the {controller} controller is not mounted on this host")
    if at_root and not (mp / name).exists():
        pytest.skip(f"{controller}: this kernel has no {name}")


def applied_or_refused(oci, resources: dict, check) -> None:
    """The resource is either in place (``check(pid)``) or create/start errors; silently
    running without it is the failure."""
    b = cg_bundle(oci, resources)
    cid = oci.new_id()
    r = oci.create(b, cid)
    if r.ok:
        pid = int(oci.state(cid)["pid"])
        check(pid)
    else:
        assert r.stderr.strip(), "create failed without an error message"


# ---- cgroupsPath ----------------------------------------------------------------------------

V1_CONTROLLERS = ["memory", "pids", "cpu", "cpuset", "devices", "blkio", "freezer"]


def _joined(pid: int) -> dict[str, str]:
    mounted = cgroup_mounts()
    return {c: p for c, p in proc_cgroups(pid).items() if c in V1_CONTROLLERS and c in mounted}


@clause("config-linux.md#cgroups-path")
def test_cgroups_path_absolute(oci):
    """An absolute cgroupsPath is relative to the cgroups mount point: the process is at
    exactly that path in each hierarchy it uses for resources, the directory having been
    created ("The cgroups will be created if they don't exist")."""
    path = oci.cgroup_path(uuid.uuid4().hex[:12])
    assert not any((mp / path.lstrip("/")).exists() for mp in cgroup_mounts().values())
    pid = created(oci, {"memory": {"limit": 64 * MiB}, "pids": {"limit": 100}}, path=path)
    joined = _joined(pid)
    for ctl in ("memory", "pids"):
        assert joined.get(ctl) == path, f"/proc/{pid}/cgroup: {proc_cgroups(pid)}"
        procs = (cgroup_mounts()[ctl] / path.lstrip("/") / "cgroup.procs").read_text().split()
        assert str(pid) in procs, f"{ctl}: {pid} not in {path}/cgroup.procs"
    wrong = {c: p for c, p in joined.items() if p not in (path, "/")}
    assert not wrong, f"controllers at another place than {path}: {wrong}"


def _relative_container(oci, rel: str) -> tuple[str, int, dict[str, str]]:
    b = cg_bundle(oci, {"memory": {"limit": 64 * MiB}}, path=rel)
    cid, pid = oci.created(b)
    joined = _joined(pid)
    for ctl, p in joined.items():
        if p.endswith("/" + rel):
            oci.cgroup_dirs.append(cgroup_mounts()[ctl] / p.lstrip("/"))
    return cid, pid, joined


@clause("config-linux.md#cgroups-path")
def test_cgroups_path_relative(oci):
    """A relative cgroupsPath MAY be taken relative to a runtime-determined place: the
    memory cgroup of the process ends with the path, and the host directory holds it."""
    rel = "oci-conformance-rel-" + uuid.uuid4().hex[:10]
    cid, pid, joined = _relative_container(oci, rel)
    mem = joined.get("memory", "")
    assert mem.endswith("/" + rel), f"memory cgroup {mem!r} does not end with {rel}"
    procs = (cgroup_mounts()["memory"] / mem.lstrip("/") / "cgroup.procs").read_text().split()
    assert str(pid) in procs


@clause("config-linux.md#cgroups-path")
def test_cgroups_path_same_value_same_place(oci):
    """The same cgroupsPath value MUST attach to the same place in the hierarchy (two
    containers, one after the other, with one relative value)."""
    rel = "oci-conformance-rel-" + uuid.uuid4().hex[:10]
    cid1, _pid1, first = _relative_container(oci, rel)
    assert oci.delete(cid1, force=True).ok
    _cid2, _pid2, second = _relative_container(oci, rel)
    assert first == second


# ---- memory ---------------------------------------------------------------------------------

@clause("config-linux.md#memory")
@pytest.mark.parametrize("field,value,file,want", [
    ("limit", 64 * MiB, "memory.limit_in_bytes", str(64 * MiB)),
    ("reservation", 32 * MiB, "memory.soft_limit_in_bytes", str(32 * MiB)),
    ("swappiness", 10, "memory.swappiness", "10"),
])
def test_memory(oci, field, value, file, want):
    need_file("memory", file)
    mem = {field: value}
    if field == "reservation":
        mem["limit"] = 64 * MiB
    assert read_cg(created(oci, {"memory": mem}), "memory", file) == want


@clause("config-linux.md#memory")
def test_memory_limit_unlimited(oci):
    """``-1`` is unlimited (the kernel's "max" value for memory.limit_in_bytes)."""
    root = cgroup_mounts().get("memory")
    if root is None:
        pytest.skip("the memory controller is not mounted on this host")
    unlimited = (root / "memory.limit_in_bytes").read_text().strip()
    assert read_cg(created(oci, {"memory": {"limit": -1}}), "memory",
                   "memory.limit_in_bytes") == unlimited


@clause("config-linux.md#memory")
def test_memory_swap(oci):
    """``swap`` is the memory+swap limit (memory.memsw.limit_in_bytes)."""
    need_file("memory", "memory.memsw.limit_in_bytes")
    pid = created(oci, {"memory": {"limit": 64 * MiB, "swap": 128 * MiB}})
    assert read_cg(pid, "memory", "memory.memsw.limit_in_bytes") == str(128 * MiB)
    assert read_cg(pid, "memory", "memory.limit_in_bytes") == str(64 * MiB)


@clause("config-linux.md#memory")
@pytest.mark.parametrize("disable", [True, False])
def test_memory_disable_oom_killer(oci, disable):
    need_file("memory", "memory.oom_control")
    pid = created(oci, {"memory": {"limit": 64 * MiB, "disableOOMKiller": disable}})
    ctl = dict(line.split() for line in read_cg(pid, "memory", "memory.oom_control")
               .splitlines())
    assert ctl["oom_kill_disable"] == str(int(disable))


# ---- cpu ------------------------------------------------------------------------------------

@clause("config-linux.md#cpu")
@pytest.mark.parametrize("cpu,controller,files", [
    ({"shares": 512}, "cpu", {"cpu.shares": "512"}),
    ({"quota": 50000, "period": 100000}, "cpu",
     {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"}),
    ({"quota": 50000, "period": 100000, "burst": 10000}, "cpu", {"cpu.cfs_burst_us": "10000"}),
    ({"realtimeRuntime": 10000, "realtimePeriod": 1000000}, "cpu",
     {"cpu.rt_runtime_us": "10000", "cpu.rt_period_us": "1000000"}),
    ({"idle": 1}, "cpu", {"cpu.idle": "1"}),
    ({"cpus": "0", "mems": "0"}, "cpuset", {"cpuset.cpus": "0", "cpuset.mems": "0"}),
], ids=["shares", "quota-period", "burst", "realtime", "idle", "cpus-mems"])
def test_cpu(oci, cpu, controller, files):
    for f in files:
        need_file(controller, f)
    pid = created(oci, {"cpu": cpu})
    assert {f: read_cg(pid, controller, f) for f in files} == files


@clause("config-linux.md#cpu")
def test_cpus_other_than_the_first(oci):
    """``cpus`` "1" (a set the parent's default would not give)."""
    need_file("cpuset", "cpuset.cpus")
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    pid = created(oci, {"cpu": {"cpus": "1", "mems": "0"}})
    assert read_cg(pid, "cpuset", "cpuset.cpus") == "1"


# ---- pids -----------------------------------------------------------------------------------

@clause("config-linux.md#pids")
def test_pids_limit(oci):
    need_file("pids", "pids.max", at_root=False)  # the root cgroup has no pids.max
    assert read_cg(created(oci, {"pids": {"limit": 42}}), "pids", "pids.max") == "42"


# ---- block IO -------------------------------------------------------------------------------

def _block_device() -> tuple[int, int]:
    for d in sorted(Path("/sys/block").iterdir()):
        if d.name.startswith(("loop", "ram", "zram")):
            continue
        major, minor = (d / "dev").read_text().strip().split(":")
        return int(major), int(minor)
    pytest.skip("no block device in /sys/block")


@clause("config-linux.md#block-io")
@pytest.mark.parametrize("field,file", [
    ("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
    ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
    ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
    ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"),
])
def test_blockio_throttle(oci, field, file):
    need_file("blkio", file)
    major, minor = _block_device()
    pid = created(oci, {"blockIO": {field: [{"major": major, "minor": minor,
                                             "rate": 1048576}]}})
    assert f"{major}:{minor} 1048576" in read_cg(pid, "blkio", file).splitlines()


@clause("config-linux.md#block-io", "config.md#valid-values")
def test_blockio_weight(oci):
    """``weight``: blkio.weight (or blkio.bfq.weight) of the container's cgroup; a host whose
    blkio controller has neither file (no CFQ/BFQ scheduler) cannot apply it, so the runtime
    errors rather than dropping it. (BFQ's weight files exist only below the root cgroup, so
    they are looked for in the container's own cgroup.)"""
    if cgroup_mounts().get("blkio") is None:
        pytest.skip("the blkio controller is not mounted on this host")

    def check(pid):
        d = cgroup_dir(pid, "blkio")
        files = [f for f in ("blkio.weight", "blkio.bfq.weight") if d and (d / f).exists()]
        assert files, "this host has no blkio weight file, yet the weight was accepted"
        got = {f: read_cg(pid, "blkio", f) for f in files}
        assert any(v.split()[-1] == "300" for v in got.values()), got
    applied_or_refused(oci, {"blockIO": {"weight": 300}}, check)


# ---- hugepage limits, network ---------------------------------------------------------------

@clause("config-linux.md#huge-page-limits", "config-linux.md#unified")
def test_hugepage_limits(oci):
    """``hugepageLimits``: hugetlb.<size>.limit_in_bytes (v1), or on a host whose hugetlb
    controller is only on the cgroup v2 hierarchy (hybrid) either the converted
    hugetlb.<size>.max there ("the runtime MAY attempt a conversion") or an error ("If the
    conversion is not possible the runtime MUST generate an error")."""
    if not Path("/sys/kernel/mm/hugepages/hugepages-2048kB").exists():
        pytest.skip("this kernel has no 2MB huge pages")
    limit = 20 * 2 * MiB
    v1 = cgroup_mounts().get("hugetlb")
    if v1 is None and "hugetlb" not in cgroup_v2_controllers():
        pytest.skip("this host has no hugetlb controller")

    def check(pid):
        if v1 is not None:
            got = read_cg(pid, "hugetlb", "hugetlb.2MB.limit_in_bytes")
        else:
            d = cgroup_dir(pid, "")
            assert d is not None and (d / "hugetlb.2MB.max").exists(), \
                f"the limit was accepted but the process's cgroup2 ({d}) has no hugetlb.2MB.max"
            got = (d / "hugetlb.2MB.max").read_text().strip()
        assert got == str(limit)
    applied_or_refused(oci, {"hugepageLimits": [{"pageSize": "2MB", "limit": limit}]}, check)


@clause("config-linux.md#network", "config.md#valid-values")
@pytest.mark.parametrize("network,controller,file,want", [
    ({"classID": 0x100001}, "net_cls", "net_cls.classid", str(0x100001)),
    ({"priorities": [{"name": "lo", "priority": 5}]}, "net_prio", "net_prio.ifpriomap",
     "lo 5"),
], ids=["classID", "priorities"])
def test_network(oci, network, controller, file, want):
    """net_cls classID / net_prio priorities in the container's cgroup; where the controller
    is not mounted (this host) the runtime cannot apply them and must error."""
    mounted = controller in cgroup_mounts()

    def check(pid):
        assert mounted, f"{controller} is not mounted here, yet {network} was accepted"
        got = read_cg(pid, controller, file)
        assert want in got.splitlines(), got
    applied_or_refused(oci, {"network": network}, check)


@clause("config-linux.md#rdma", "config.md#valid-values")
def test_rdma(oci):
    """``rdma`` limits; this kernel has no rdma controller, so the runtime must error."""
    mounted = "rdma" in cgroup_mounts() or "rdma" in cgroup_v2_controllers()
    if mounted:
        pytest.skip("an rdma controller exists but no RDMA device to limit")

    def check(pid):
        raise AssertionError("no rdma controller on this host, yet rdma limits were accepted")
    applied_or_refused(oci, {"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}, check)


# ---- device allow list ----------------------------------------------------------------------

KMSG = {"path": "/dev/conf-kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o666}


def _device_rules(oci, rules):
    """A container with /dev/conf-kmsg (c 1:11, opened write-only: nothing is written) and
    the given rules after the default deny-all; (write errno name, devices.list lines)."""
    b = oci.bundle(args=[PROBE, "write", "/dev/conf-kmsg"])
    b.config["linux"]["devices"] = [KMSG]
    b.config["linux"]["resources"]["devices"] = [{"allow": False, "access": "rwm"}, *rules]
    b.config["linux"]["cgroupsPath"] = oci.cgroup_path(uuid.uuid4().hex[:12])
    b.write()
    cid, pid = oci.created(b)
    lst = read_cg(pid, "devices", "devices.list").splitlines() \
        if "devices" in cgroup_mounts() else None
    oci.start(cid, check=True)
    oci.wait_exit(pid)
    return json.loads(oci.output(cid))["write"]["/dev/conf-kmsg"]["error"], lst


@clause("config-linux.md#allowed-device-list")
def test_device_allowed(oci):
    err, lst = _device_rules(oci, [{"allow": True, "type": "c", "major": 1, "minor": 11,
                                    "access": "rwm"}])
    assert err == "OK"
    if lst is not None:
        assert "c 1:11 rwm" in lst, lst


@clause("config-linux.md#allowed-device-list")
def test_device_denied(oci):
    """A device that no rule allows (after deny-all) cannot be opened."""
    err, lst = _device_rules(oci, [])
    assert err == "EPERM"
    if lst is not None:
        assert not any(line.startswith(("c 1:11 ", "a ")) for line in lst), lst


@clause("config-linux.md#allowed-device-list")
@pytest.mark.parametrize("order,want", [("allow-then-deny-w", "EPERM"),
                                        ("deny-w-then-allow", "OK")])
def test_device_rules_in_listed_order(oci, order, want):
    """The runtime MUST apply entries in the listed order: allow rwm then deny w leaves the
    device not writable; deny w then allow rwm leaves it writable."""
    allow = {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rwm"}
    deny_w = {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "w"}
    rules = [allow, deny_w] if order == "allow-then-deny-w" else [deny_w, allow]
    err, _lst = _device_rules(oci, rules)
    assert err == want


# ---- unified --------------------------------------------------------------------------------

@clause("config-linux.md#unified")
def test_unified_for_a_controller_not_present_errors(oci):
    """``unified`` naming a controller that the cgroup v2 hierarchy does not have here (memory
    is on v1 on this host): the runtime MUST generate an error."""
    if "memory" in cgroup_v2_controllers():
        pytest.skip("the memory controller is on cgroup v2 here")
    b = oci.marker_bundle()
    b.config["linux"]["cgroupsPath"] = oci.cgroup_path(uuid.uuid4().hex[:12])
    b.config["linux"]["resources"]["unified"] = {"memory.max": str(64 * MiB)}
    b.write()
    oci.expect_error(b)


# ---- intelRdt -------------------------------------------------------------------------------

def _resctrl_mounted() -> bool:
    return any(line.split(" - ")[1].startswith("resctrl ")
               for line in Path("/proc/self/mountinfo").read_text().splitlines()
               if " - " in line)


@clause("config-linux.md#intelrdt", "runtime.md#errors")
def test_intel_rdt_without_resctrl_errors(oci):
    """``intelRdt`` set and no resctrl filesystem mounted in the runtime mount namespace: the
    runtime MUST generate an error."""
    if _resctrl_mounted():
        pytest.skip("resctrl is mounted on this host")
    b = oci.marker_bundle()
    b.config["linux"]["intelRdt"] = {"closID": "conformance"}
    b.write()
    oci.expect_error(b)


@clause("config-linux.md#intelrdt")
def test_intel_rdt_tasks(oci):
    """With resctrl: ``closID`` naming a pre-configured group (no schemata given): the
    runtime MUST assign the container to it, i.e. write its pid to that group's ``tasks``."""
    if not _resctrl_mounted():
        pytest.skip("intelRdt: no resctrl filesystem on this host (no Intel RDT)")
    mp = next(Path(line.split()[4]) for line in
              Path("/proc/self/mountinfo").read_text().splitlines()
              if " - resctrl " in line)
    group = mp / ("oci-conf-" + uuid.uuid4().hex[:8])
    group.mkdir()
    try:
        b = oci.bundle(args=[PROBE, "all", "--sleep", "0"])
        b.config["linux"]["intelRdt"] = {"closID": group.name}
        b.write()
        _cid, pid = oci.created(b)
        assert str(pid) in (group / "tasks").read_text().split()
    finally:
        oci.cleanup()
        group.rmdir()
