"""config.md#linux-process, the fields added in runtime-spec v1.2/v1.3: ``ioPriority``,
``scheduler`` and ``execCPUAffinity``, checked with the probe's raw ioprio_get,
sched_getattr and sched_getaffinity (helper/probe.c, "sched" section)."""

from __future__ import annotations

import copy
import json
import os
import uuid
from pathlib import Path

import pytest

from .harness import PROBE

clause = pytest.mark.clause

IOPRIO_CLASS = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
SCHED = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3, "SCHED_IDLE": 5,
         "SCHED_DEADLINE": 6}
SCHED_FLAG_RESET_ON_FORK = 0x01


def sched_of(oci, edit, **create_kw) -> dict:
    b = oci.bundle(args=[PROBE, "sched"])
    edit(b.config)
    b.write()
    if not create_kw:
        return oci.probe(b)["sched"]
    cid = oci.new_id()
    oci.create(b, cid, check=True, **create_kw)
    pid = oci.state(cid)["pid"]
    oci.start(cid, check=True)
    oci.wait_exit(pid)
    return json.loads(oci.output(cid))["sched"]


# ---- ioPriority -----------------------------------------------------------------------------

@clause("config.md#linux-process")
@pytest.mark.parametrize("cls,level", [("IOPRIO_CLASS_BE", 6), ("IOPRIO_CLASS_RT", 3),
                                       ("IOPRIO_CLASS_IDLE", 7)])
def test_io_priority(oci, cls, level):
    """``ioPriority``: the process's I/O scheduling class and level (ioprio_get)."""
    got = sched_of(oci, lambda c: c["process"].update(
        ioPriority={"class": cls, "priority": level}))["ioprio"]
    assert got >= 0, f"ioprio_get failed: {got}"
    assert got >> 13 == IOPRIO_CLASS[cls], f"class {got >> 13}, level {got & 0x1FFF}"
    if cls != "IOPRIO_CLASS_IDLE":  # the idle class has no levels
        assert got & 0x1FFF == level, f"class {got >> 13}, level {got & 0x1FFF}"


@clause("config.md#linux-process", "config.md#valid-values")
def test_io_priority_unknown_class_errors(oci):
    b = oci.marker_bundle()
    b.config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_NOT_A_CLASS", "priority": 1}
    b.write()
    oci.expect_error(b)


# ---- scheduler ------------------------------------------------------------------------------

@clause("config.md#linux-process")
@pytest.mark.parametrize("sched,want", [
    ({"policy": "SCHED_BATCH", "nice": 5}, {"policy": SCHED["SCHED_BATCH"], "nice": 5}),
    ({"policy": "SCHED_IDLE"}, {"policy": SCHED["SCHED_IDLE"]}),
    ({"policy": "SCHED_OTHER", "nice": -5}, {"policy": SCHED["SCHED_OTHER"], "nice": -5}),
], ids=["batch-nice", "idle", "other-negative-nice"])
def test_scheduler(oci, sched, want):
    """``scheduler``: the policy and nice value of the process (sched_getattr)."""
    attr = sched_of(oci, lambda c: c["process"].update(scheduler=sched))["attr"]
    assert {k: attr.get(k) for k in want} == want, attr


@clause("config.md#linux-process")
def test_scheduler_flags(oci):
    """``flags``: SCHED_FLAG_RESET_ON_FORK is in the process's sched_flags."""
    attr = sched_of(oci, lambda c: c["process"].update(scheduler={
        "policy": "SCHED_BATCH", "nice": 1, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}))["attr"]
    assert attr.get("policy") == SCHED["SCHED_BATCH"], attr
    assert attr.get("flags", 0) & SCHED_FLAG_RESET_ON_FORK, attr


@clause("config.md#linux-process")
def test_scheduler_realtime_priority(oci):
    """SCHED_FIFO with ``priority`` (the container's cpu cgroup is given realtime time so
    that a realtime task may run in it)."""
    def edit(c):
        c["process"]["scheduler"] = {"policy": "SCHED_FIFO", "priority": 10}
        c["linux"]["cgroupsPath"] = oci.cgroup_path(uuid.uuid4().hex[:12])
        c["linux"]["resources"]["cpu"] = {"realtimeRuntime": 100000,
                                          "realtimePeriod": 1000000}
    attr = sched_of(oci, edit)["attr"]
    assert (attr.get("policy"), attr.get("priority")) == (SCHED["SCHED_FIFO"], 10), attr


@clause("config.md#linux-process")
def test_scheduler_nice_defaults_to_zero(oci):
    """``nice`` not set: "the runtime must use the value 0", even when the runtime itself
    runs at nice 3."""
    attr = sched_of(oci, lambda c: c["process"].update(scheduler={"policy": "SCHED_OTHER"}),
                    preexec_fn=lambda: os.nice(3))["attr"]
    assert (attr.get("policy"), attr.get("nice")) == (SCHED["SCHED_OTHER"], 0), attr


@clause("config.md#linux-process", "config.md#valid-values")
def test_scheduler_unknown_policy_errors(oci):
    b = oci.marker_bundle()
    b.config["process"]["scheduler"] = {"policy": "SCHED_NOT_A_POLICY"}
    b.write()
    oci.expect_error(b)


# ---- execCPUAffinity ------------------------------------------------------------------------

def _cpus_allowed(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split()[1]
    return "?"


def _need_two_cpus():
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        pytest.skip("execCPUAffinity checks need CPUs 0 and 1")


@clause("config.md#linux-process")
def test_exec_cpu_affinity_from_config(oci):
    """``execCPUAffinity.final`` in config.json: a process started with ``exec`` runs on
    those CPUs; the setting does not apply to the container's init process."""
    _need_two_cpus()
    b = oci.bundle(args=[PROBE, "all", "--sleep", "0"])
    b.config["process"]["execCPUAffinity"] = {"final": "1"}
    b.write()
    cid, pid = oci.running(b)
    r = oci.exec(cid, [PROBE, "sched"])
    assert r.ok, f"exec failed: {r}"
    assert json.loads(r.stdout)["sched"]["affinity"] == [1]
    host = sorted(os.sched_getaffinity(0))
    assert _cpus_allowed(pid) == f"{host[0]}-{host[-1]}" or \
        len(host) == 1, f"the init process's CPUs: {_cpus_allowed(pid)}"


@clause("config.md#linux-process")
def test_exec_cpu_affinity_of_the_exec_process(oci):
    """``execCPUAffinity.final`` of the process given to ``exec --process``."""
    _need_two_cpus()
    b = oci.bundle(args=[PROBE, "all", "--sleep", "0"])
    b.write()
    cid, _pid = oci.running(b)
    proc = copy.deepcopy(b.config["process"])
    proc["args"] = [PROBE, "sched"]
    proc["execCPUAffinity"] = {"final": "0"}
    r = oci.exec(cid, process=proc)
    assert r.ok, f"exec failed: {r}"
    assert json.loads(r.stdout)["sched"]["affinity"] == [0]
