"""runtime.md: the state, the operations (state, create, start, kill, delete) and errors.

The hook steps of the lifecycle are in test_hooks.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from .harness import (
    PROBE,
    SHARED,
    alive,
    host_ns,
    live_children,
    names,
    state_schema_errors,
)

clause = pytest.mark.clause

SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def sleeper(oci, **kw):
    """A bundle whose process reports once and then stays up (until SIGKILL)."""
    return oci.bundle(args=[PROBE, "all", "--sleep", "0"], **kw)


def host_mounts_under(path: Path) -> list[str]:
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4]
        if mp.startswith(str(path)):
            out.append(mp)
    return out


def cgroup_dirs(cg_path: str) -> list[Path]:
    """Every existing directory for a cgroupsPath in the host's hierarchies (v1 and v2)."""
    found = []
    for ctl in Path("/sys/fs/cgroup").iterdir():
        d = ctl / cg_path.lstrip("/")
        if d.is_dir():
            found.append(d)
    d = Path("/sys/fs/cgroup") / cg_path.lstrip("/")
    if d.is_dir() and d not in found:
        found.append(d)
    return found


def listed(oci) -> list[str]:
    r = oci.rt("list", "-q")
    return r.stdout.split()


# ---- state ----------------------------------------------------------------------------------

@clause("runtime.md#state")
def test_state_of_created_container(oci):
    b = sleeper(oci)
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    st = oci.state(cid)
    assert SEMVER.match(st.get("ociVersion", "")), f"ociVersion is not SemVer: {st}"
    assert st["id"] == cid
    assert st["status"] == "created"
    assert isinstance(st.get("pid"), int) and st["pid"] > 0, f"pid required when created: {st}"
    assert alive(st["pid"]), "state pid is not a live process"
    assert host_ns("pid", st["pid"]) != host_ns("pid"), "pid is not the container's process"
    assert st.get("bundle") == str(b.path), f"bundle must be the bundle's absolute path: {st}"


@clause("runtime.md#state", "runtime.md#start")
def test_state_of_running_container(oci):
    b = sleeper(oci)
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    oci.start(cid, check=True)
    st = oci.state(cid)
    assert st["status"] == "running"
    assert st["pid"] == pid, "the container process must keep its pid across start"
    assert alive(pid)


@clause("runtime.md#state", "runtime.md#kill")
def test_state_of_stopped_container(oci):
    b = oci.bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    oci.start(cid, check=True)
    st = oci.wait_stopped(cid)
    assert st["status"] == "stopped"
    assert st["id"] == cid and st["bundle"] == str(b.path)


@clause("runtime.md#state")
def test_state_bundle_is_absolute_for_relative_bundle_argument(oci):
    b = sleeper(oci)
    cid = oci.new_id()
    oci.create(b.path.name, cid, cwd=b.path.parent, check=True)
    assert oci.state(cid)["bundle"] == str(b.path)


@clause("runtime.md#state", "config.md#annotations")
def test_state_annotations(oci):
    annotations = {"org.opencontainers.conformance": "yes", "com.example.text": "a b=c,d"}
    b = sleeper(oci)
    b.config["annotations"] = annotations
    b.write()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    assert oci.state(cid).get("annotations") == annotations


@clause("runtime.md#state")
def test_state_without_annotations_is_absent_or_empty(oci):
    cid = oci.new_id()
    oci.create(sleeper(oci), cid, check=True)
    assert oci.state(cid).get("annotations", {}) == {}


@clause("runtime.md#state")
def test_state_matches_schema_in_each_status(oci):
    if state_schema_errors({}) is None:
        pytest.skip("the runtime-spec state schema is not at ../shared/runtime-spec-schema")
    b = oci.bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    seen = {}
    st = oci.state(cid)
    seen[st["status"]] = st
    pid = st["pid"]
    oci.start(cid, check=True)
    st = oci.state(cid)  # may already be stopped: the probe exits at once
    seen[st["status"]] = st
    oci.wait_exit(pid)
    st = oci.state(cid)
    seen[st["status"]] = st
    assert "created" in seen and "stopped" in seen, seen
    for status, st in seen.items():
        assert state_schema_errors(st) == [], f"{status}: {st}"


# ---- query state --------------------------------------------------------------------------

@clause("runtime.md#query-state")
def test_state_without_id_errors(oci):
    assert not oci.rt("state").ok


@clause("runtime.md#query-state")
def test_state_of_unknown_container_errors(oci):
    assert not oci.state_raw(oci.new_id()).ok


# ---- create -------------------------------------------------------------------------------

@clause("runtime.md#create")
def test_create_without_id_errors(oci):
    b = sleeper(oci)
    # DEVNULL: a runtime that wrongly made a container must not hold our pipes open.
    r = oci.rt("create", "--bundle", str(b.path), stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
    assert not r.ok
    assert listed(oci) == []


@clause("runtime.md#create")
def test_create_with_missing_bundle_errors(oci):
    cid = oci.new_id()
    r = oci.create(oci.tmp / "no-such-bundle", cid)
    assert not r.ok
    assert not oci.state_raw(cid).ok


@clause("runtime.md#create")
def test_create_with_existing_id_errors_and_creates_nothing(oci):
    first = oci.marker_bundle()
    cid = oci.new_id()
    oci.create(first, cid, check=True)
    before = oci.state(cid)
    children = live_children()
    second = oci.marker_bundle()
    r = oci.create(second, cid)
    assert not r.ok, "a second create with the same id must fail"
    after = oci.state(cid)
    assert after["status"] == "created" and after["pid"] == before["pid"]
    assert after["bundle"] == str(first.path)
    assert alive(before["pid"])
    assert live_children() <= children, "the failed create left a process behind"
    assert listed(oci) == [cid]


@clause("runtime.md#create")
@pytest.mark.parametrize("bad_id", ["../escape", "a/b", ".."])
def test_create_with_invalid_id_errors(oci, bad_id):
    r = oci.create(sleeper(oci), bad_id)
    assert not r.ok, f"id {bad_id!r} was accepted"
    assert listed(oci) == []
    assert not (oci.tmp / "escape").exists(), "the id escaped the state root"


@clause("runtime.md#create", "runtime.md#lifecycle")
def test_create_does_not_run_the_user_program(oci):
    b = oci.marker_bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    time.sleep(0.5)
    assert "process" not in names(b.hook_entries()), "user program ran before start"
    assert Path(f"/proc/{pid}/comm").read_text().strip() != "probe"
    oci.start(cid, check=True)
    deadline = time.monotonic() + 10
    while "process" not in names(b.hook_entries()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert names(b.hook_entries()) == ["process"]


@clause("runtime.md#create", "runtime.md#lifecycle")
def test_create_applies_the_configuration(oci):
    b = sleeper(oci)
    b.config["hostname"] = "applied-at-create"
    b.write()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    kinds = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
             "cgroup": "cgroup"}
    for ns in b.config["linux"]["namespaces"]:
        k = kinds[ns["type"]]
        assert host_ns(k, pid) != host_ns(k), f"{k} namespace not created by create"
    mounts = [line.split()[4] for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
    for m in b.config["mounts"]:
        assert m["destination"] in mounts, f"mount {m['destination']} missing after create"
    hostname = subprocess.run(["nsenter", "-t", str(pid), "-u", "cat",
                               "/proc/sys/kernel/hostname"], capture_output=True, text=True)
    assert hostname.stdout.strip() == "applied-at-create"


@clause("runtime.md#create", "runtime.md#lifecycle")
def test_config_changes_after_create_have_no_effect(oci):
    b = oci.bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    changed = json.loads((b.path / "config.json").read_text())
    changed["process"]["args"] = [PROBE, "all", "--changed"]
    changed["hostname"] = "changed"
    (b.path / "config.json").write_text(json.dumps(changed))
    oci.start(cid, check=True)
    oci.wait_exit(pid)
    out = json.loads(oci.output(cid))
    assert out["argv"] == [PROBE, "all"]
    assert out["hostname"] == b.config["hostname"]


def _broken_bind(oci, b):
    b.config["mounts"].append({"destination": "/mnt/missing", "type": "bind",
                               "source": str(oci.tmp / "does-not-exist"),
                               "options": ["rbind"]})
    b.write()


def _bad_json(oci, b):
    (b.path / "config.json").write_text(json.dumps(b.config)[:-10])


def _bad_rlimit(oci, b):
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOT_A_LIMIT", "soft": 1, "hard": 1}]
    b.write()


@clause("runtime.md#errors", "runtime.md#create")
@pytest.mark.parametrize("breakage", [_broken_bind, _bad_json, _bad_rlimit],
                         ids=["missing-bind-source", "invalid-json", "unknown-rlimit"])
def test_failed_create_leaves_nothing(oci, breakage):
    b = oci.marker_bundle()
    cid = oci.new_id()
    cg = oci.cgroup_path(cid)
    b.config["linux"]["cgroupsPath"] = cg
    b.write()
    good = json.loads((b.path / "config.json").read_text())
    breakage(oci, b)
    children = live_children()
    mounts = host_mounts_under(oci.tmp)
    r = oci.create(b, cid)
    assert not r.ok, "create must fail"
    assert not oci.state_raw(cid).ok, "the failed container still has a state"
    assert listed(oci) == []
    assert live_children() <= children, "a process of the failed create survived"
    assert host_mounts_under(oci.tmp) == mounts
    assert cgroup_dirs(cg) == [], "the failed create left its cgroup"
    assert names(b.hook_entries()) == []
    # The id is free again: a good config with the same id works.
    (b.path / "config.json").write_text(json.dumps(good))
    oci.create(b, cid, check=True)


# ---- start ----------------------------------------------------------------------------------

@clause("runtime.md#start")
def test_start_runs_the_user_program(oci):
    b = oci.marker_bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    oci.start(cid, check=True)
    assert oci.state(cid)["status"] == "running"
    deadline = time.monotonic() + 10
    while not b.hook_entries() and time.monotonic() < deadline:
        time.sleep(0.02)
    entries = b.hook_entries()
    assert names(entries) == ["process"]
    assert entries[0]["argv"] == b.config["process"]["args"]


@clause("runtime.md#start")
def test_start_without_id_errors(oci):
    assert not oci.rt("start").ok


@clause("runtime.md#start")
def test_start_unknown_container_errors(oci):
    assert not oci.start(oci.new_id()).ok


@clause("runtime.md#start")
def test_start_of_running_container_errors_without_effect(oci):
    b = oci.marker_bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    oci.start(cid, check=True)
    before = oci.state(cid)
    r = oci.start(cid)
    assert not r.ok, "starting a running container must fail"
    time.sleep(0.3)
    after = oci.state(cid)
    assert after["status"] == "running" and after["pid"] == before["pid"]
    assert names(b.hook_entries()) == ["process"], "the user program ran twice"


@clause("runtime.md#start")
def test_start_of_stopped_container_errors_without_effect(oci):
    b = oci.bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    oci.start(cid, check=True)
    oci.wait_stopped(cid)
    first = oci.output(cid)
    r = oci.start(cid)
    assert not r.ok, "starting a stopped container must fail"
    assert oci.state(cid)["status"] == "stopped"
    time.sleep(0.2)
    assert oci.output(cid) == first, "the user program ran again"


@clause("runtime.md#start")
def test_start_without_process_errors(oci):
    b = oci.bundle()
    del b.config["process"]
    b.write()
    cid = oci.new_id()
    r = oci.create(b, cid)
    if not r.ok:
        pytest.skip("the runtime refuses a config without process at create "
                    f"({r.stderr.strip()[:120]}), so start's error cannot be reached")
    assert not oci.start(cid).ok, "start must fail when process was not set"


# ---- kill -----------------------------------------------------------------------------------

def _signal_bundle(oci):
    return oci.bundle(shared=True, args=[PROBE, "signal", "-o", f"{SHARED}/signal.json"])


def _wait_file(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


@clause("runtime.md#kill", "runtime.md#state")
@pytest.mark.parametrize("sig", ["SIGUSR1", "USR1", "10"])
def test_kill_sends_the_signal(oci, sig):
    b = _signal_bundle(oci)
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    oci.start(cid, check=True)
    _wait_file(b.shared / "signal.json.ready")
    r = oci.kill(cid, sig)
    assert r.ok, str(r)
    oci.wait_exit(pid)
    assert json.loads((b.shared / "signal.json").read_text())["signal"] == 10
    assert oci.state(cid)["status"] == "stopped"


@clause("runtime.md#kill", "runtime.md#state")
def test_kill_created_container(oci):
    b = oci.marker_bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    r = oci.kill(cid, "KILL")
    assert r.ok, f"kill of a created container must send the signal: {r}"
    oci.wait_exit(pid)
    assert oci.state(cid)["status"] == "stopped"
    assert names(b.hook_entries()) == []


@clause("runtime.md#kill")
def test_kill_stopped_container_errors(oci):
    b = oci.bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    oci.start(cid, check=True)
    oci.wait_stopped(cid)
    r = oci.kill(cid, "KILL")
    assert not r.ok, "kill of a stopped container must fail"
    assert oci.state(cid)["status"] == "stopped"


@clause("runtime.md#kill")
def test_kill_without_id_errors(oci):
    assert not oci.rt("kill").ok


@clause("runtime.md#kill")
def test_kill_unknown_container_errors(oci):
    assert not oci.kill(oci.new_id(), "KILL").ok


# ---- delete ---------------------------------------------------------------------------------

@clause("runtime.md#delete")
def test_delete_stopped_container_removes_it(oci):
    b = oci.bundle()
    cid = oci.new_id()
    cg = oci.cgroup_path(cid)
    b.config["linux"]["cgroupsPath"] = cg
    b.write()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    ns = {k: host_ns(k, pid) for k in ("mnt", "net", "ipc", "uts", "pid")}
    oci.start(cid, check=True)
    oci.wait_stopped(cid)
    r = oci.delete(cid)
    assert r.ok, str(r)
    assert not oci.state_raw(cid).ok
    assert listed(oci) == []
    assert cgroup_dirs(cg) == [], "delete left the container's cgroup"
    # No process is left in the container's namespaces.
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                assert os.readlink(f"/proc/{d}/ns/mnt") != ns["mnt"], f"pid {d} still in it"
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass
    # Once deleted its id may be used again.
    oci.create(b, cid, check=True)


@clause("runtime.md#delete")
def test_delete_running_container_errors_without_effect(oci):
    b = sleeper(oci)
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    oci.start(cid, check=True)
    pid = oci.state(cid)["pid"]
    r = oci.delete(cid)
    assert not r.ok, "delete of a running container must fail"
    st = oci.state(cid)
    assert st["status"] == "running" and st["pid"] == pid and alive(pid)


@clause("runtime.md#delete")
def test_delete_created_container_errors_without_effect(oci):
    b = oci.marker_bundle()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    r = oci.delete(cid)
    st = oci.state_or_none(cid)
    assert not r.ok, (f"delete of a created (not stopped) container must fail; it returned 0 "
                      f"and the container is now {st and st['status'] or 'gone'}")
    assert st is not None and st["status"] == "created" and alive(pid)
    oci.start(cid, check=True)


@clause("runtime.md#delete")
def test_delete_without_id_errors(oci):
    assert not oci.rt("delete").ok


@clause("runtime.md#delete")
def test_delete_unknown_container_errors(oci):
    assert not oci.delete(oci.new_id()).ok


@clause("runtime.md#delete")
def test_delete_keeps_what_the_container_did_not_create(oci):
    keep = oci.tmp / "keep"
    keep.mkdir()
    (keep / "file").write_text("data")
    helper = subprocess.Popen(["unshare", "--net", "sleep", "60"], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while host_ns("net", helper.pid) == host_ns("net"):
            assert time.monotonic() < deadline, "unshare did not make a network namespace"
            time.sleep(0.01)
        netns = host_ns("net", helper.pid)
        b = oci.bundle()
        b.config["mounts"].append({"destination": "/keep", "type": "bind", "source": str(keep),
                                   "options": ["rbind", "rw"]})
        b.config["linux"]["namespaces"] = [
            ns if ns["type"] != "network" else {"type": "network",
                                                "path": f"/proc/{helper.pid}/ns/net"}
            for ns in b.config["linux"]["namespaces"]]
        b.write()
        cid = oci.new_id()
        oci.create(b, cid, check=True)
        assert host_ns("net", oci.state(cid)["pid"]) == netns, "did not join the given netns"
        oci.start(cid, check=True)
        oci.wait_stopped(cid)
        assert oci.delete(cid).ok
        assert (keep / "file").read_text() == "data", "delete removed a bind source"
        assert (b.path / "config.json").exists() and (b.rootfs / "probe").exists()
        assert helper.poll() is None and host_ns("net", helper.pid) == netns, \
            "delete destroyed a namespace the container only joined"
    finally:
        helper.kill()
        helper.wait()


@clause("runtime.md#scope-of-a-container", "runtime.md#operations")
def test_all_operations_on_one_container(oci):
    b = sleeper(oci)
    cid = oci.new_id()
    assert oci.create(b, cid).ok
    assert oci.state(cid)["status"] == "created"
    assert oci.start(cid).ok
    assert oci.state(cid)["status"] == "running"
    assert oci.kill(cid, "KILL").ok
    oci.wait_stopped(cid)
    assert oci.state(cid)["status"] == "stopped"
    assert oci.delete(cid).ok
    assert not oci.state_raw(cid).ok


@clause("runtime.md#create", "config.md#process")
def test_create_without_process_creates_the_container(oci):
    """process is OPTIONAL in config.md ("REQUIRED when start is called"): create must work."""
    b = oci.bundle()
    del b.config["process"]
    b.write()
    cid = oci.new_id()
    r = oci.create(b, cid)
    assert r.ok, f"create refused a config without process: {r.stderr.strip()}"
    assert oci.state(cid)["status"] == "created"
