"""Hooks: runtime.md#lifecycle (steps 3-13) and config.md#posix-platform-hooks.

Every hook is the probe in ``hook`` mode: it appends one JSON line (its name, the state it got
on stdin, its argv, env, namespaces, a CLOCK_MONOTONIC timestamp, the comm of the state's pid)
to the bundle's hooks.log, which is bound into the container at /shared. Runtime-namespace hooks
and createContainer use the probe's host path (which does not exist in the rootfs);
startContainer uses /probe (which does not exist on the host). The user program is the probe
too: it logs a "process" entry and sleeps, so poststart can see it running.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from .harness import Bundle, alive, host_ns, names, state_schema_errors

clause = pytest.mark.clause

ALL = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
IN_CONTAINER_PATH = {"startContainer"}  # path resolves in the container namespace
CONTAINER_NS = {"createContainer", "startContainer"}  # executed in the container namespace
NS_KINDS = ("mnt", "net", "ipc", "uts", "pid")
ANNOTATIONS = {"org.opencontainers.conformance.hooks": "yes"}


def hooked_bundle(oci, kinds=ALL, *, fail=(), slow=()) -> Bundle:
    """A marker bundle with one logging hook of each kind in ``kinds`` (those in ``fail``
    exit 1, those in ``slow`` take a second after logging)."""
    b = oci.marker_bundle()
    b.config["annotations"] = dict(ANNOTATIONS)
    b.config["hooks"] = {}
    for k in kinds:
        b.config["hooks"].setdefault(k, []).append(
            oci.hook(b, k, in_container=k in IN_CONTAINER_PATH, exit_code=1 if k in fail else 0,
                     sleep=1 if k in slow else None))
    b.write()
    return b


def wait_for(b: Bundle, name: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while name not in names(b.hook_entries()):
        assert time.monotonic() < deadline, f"no {name!r} entry in {names(b.hook_entries())}"
        time.sleep(0.02)


def lifecycle(oci, b: Bundle) -> SimpleNamespace:
    """create, start, wait for the user program, kill, delete; with timings and namespaces."""
    cid = oci.new_id()
    c = oci.create(b, cid)
    assert c.ok, f"create failed: {c}"
    st = oci.state(cid)
    pid = st["pid"]
    ns = {k: host_ns(k, pid) for k in NS_KINDS}
    s = oci.start(cid)
    assert s.ok, f"start failed: {s}"
    wait_for(b, "process")
    time.sleep(0.1)  # a late poststart (if any) gets its chance to log
    assert oci.kill(cid, "KILL").ok
    oci.wait_exit(pid)
    d = oci.delete(cid)
    assert d.ok, f"delete failed: {d}"
    entries = b.hook_entries()
    return SimpleNamespace(cid=cid, bundle=b, create=c, start=s, delete=d, pid=pid, ns=ns,
                           entries=entries, by_name={e["name"]: e for e in entries})


def entry_state(e: dict) -> dict:
    return json.loads(e["stdin"])


# ---- when hooks run ---------------------------------------------------------------------------

@clause("runtime.md#lifecycle", "config.md#prestart", "config.md#createruntime-hooks",
        "config.md#createcontainer-hooks")
def test_create_hooks_run_in_order_during_create(oci):
    lc = lifecycle(oci, hooked_bundle(oci))
    during = [e["name"] for e in lc.entries
              if lc.create.started <= e["time_ns"] <= lc.create.ended]
    assert during[:3] == ["prestart", "createRuntime", "createContainer"], \
        f"hooks during create: {during}; all: {names(lc.entries)}"


@clause("runtime.md#lifecycle", "config.md#startcontainer-hooks")
def test_start_container_hook_runs_after_start_before_the_user_program(oci):
    lc = lifecycle(oci, hooked_bundle(oci))
    sc, proc = lc.by_name["startContainer"], lc.by_name["process"]
    assert sc["time_ns"] >= lc.start.started, "startContainer ran before start was called"
    assert sc["time_ns"] <= proc["time_ns"], "startContainer ran after the user program"


@clause("runtime.md#lifecycle", "config.md#poststart")
def test_poststart_hook_runs_after_the_user_program_and_before_start_returns(oci):
    """A slow startContainer hook (1s) makes a poststart that does not wait for the user
    program's exec show up deterministically."""
    lc = lifecycle(oci, hooked_bundle(oci, slow={"startContainer"}))
    ps = lc.by_name["poststart"]
    window = (lc.start.started, lc.start.ended)
    assert window[0] <= ps["time_ns"] <= window[1], (
        f"poststart ran {'before' if ps['time_ns'] < window[0] else 'after'} `start`: "
        f"at {ps['time_ns']}, create ended {lc.create.ended}, start window {window}")
    assert ps.get("state_pid_comm") == "probe", \
        f"at poststart the container process is {ps.get('state_pid_comm')!r}, not the user program"


@clause("runtime.md#lifecycle", "config.md#poststop")
def test_poststop_hook_runs_during_delete(oci):
    lc = lifecycle(oci, hooked_bundle(oci))
    ps = lc.by_name["poststop"]
    assert lc.delete.started <= ps["time_ns"] <= lc.delete.ended


@clause("config.md#posix-platform-hooks")
def test_hooks_called_in_listed_order(oci):
    b = oci.marker_bundle()
    b.config["hooks"] = {
        "createRuntime": [oci.hook(b, f"createRuntime-{i}") for i in range(3)],
        "startContainer": [oci.hook(b, f"startContainer-{i}", in_container=True)
                           for i in range(3)],
        "poststop": [oci.hook(b, f"poststop-{i}") for i in range(3)],
    }
    b.write()
    lc = lifecycle(oci, b)
    got = [n for n in names(lc.entries) if n != "process"]
    assert got == [f"{k}-{i}" for k in ("createRuntime", "startContainer", "poststop")
                   for i in range(3)]


# ---- what hooks get --------------------------------------------------------------------------

@clause("config.md#posix-platform-hooks", "runtime.md#state")
def test_hooks_get_the_state_on_stdin(oci):
    lc = lifecycle(oci, hooked_bundle(oci))
    check_schema = state_schema_errors({}) is not None
    problems = {}
    for kind in ALL:
        e = lc.by_name.get(kind)
        if e is None:
            problems[kind] = "did not run"
            continue
        try:
            st = entry_state(e)
        except ValueError:
            problems[kind] = f"stdin is not JSON: {e['stdin']!r}"
            continue
        errs = state_schema_errors(st) if check_schema else []
        wrong = {k: st.get(k) for k, v in
                 {"id": lc.cid, "bundle": str(lc.bundle.path), "annotations": ANNOTATIONS}.items()
                 if st.get(k) != v}
        if errs or wrong:
            problems[kind] = {"schema": errs, "wrong": wrong}
    assert not problems, problems


@clause("runtime.md#state", "config.md#posix-platform-hooks")
def test_hook_state_pid_is_seen_from_the_hooks_namespace(oci):
    """pid: for runtime-namespace hooks as the runtime sees it, for container-namespace hooks
    as the container sees it (1: the container has its own pid namespace)."""
    lc = lifecycle(oci, hooked_bundle(oci))
    got = {k: entry_state(lc.by_name[k]).get("pid") for k in ALL[:5] if k in lc.by_name}
    want = {k: (1 if k in CONTAINER_NS else lc.pid) for k in ALL[:5]}
    assert got == want, "(observed, expected): " + str(
        {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v})


@clause("runtime.md#state", "config.md#posix-platform-hooks")
def test_hook_state_status(oci):
    """Before create finished: creating; before the user program: created; after it was
    executed (poststart, step 9): running; poststop (after delete): stopped."""
    lc = lifecycle(oci, hooked_bundle(oci))
    got = {k: entry_state(lc.by_name[k]).get("status") for k in ALL if k in lc.by_name}
    want = {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
            "startContainer": "created", "poststart": "running", "poststop": "stopped"}
    assert got == want, "(observed, expected): " + str(
        {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v})


@clause("config.md#posix-platform-hooks")
def test_hook_args_and_env(oci):
    b = oci.marker_bundle()
    h = oci.hook(b, "createRuntime", env=["FOO=bar baz", "EMPTY="])
    h["args"] = [*h["args"], "extra argument", ""]
    b.config["hooks"] = {"createRuntime": [h]}
    b.write()
    e = lifecycle(oci, b).by_name["createRuntime"]
    assert e["argv"] == h["args"]
    assert sorted(e["env"]) == sorted(h["env"])


@clause("config.md#prestart", "config.md#createruntime-hooks", "config.md#createcontainer-hooks",
        "config.md#startcontainer-hooks", "config.md#poststart", "config.md#poststop")
def test_hooks_run_in_their_namespaces(oci):
    lc = lifecycle(oci, hooked_bundle(oci))
    ours = {k: host_ns(k) for k in NS_KINDS}
    wrong = {}
    for kind in ALL:
        e = lc.by_name[kind]
        want = lc.ns if kind in CONTAINER_NS else ours
        got = {k: e["ns"][k] for k in NS_KINDS}
        if got != want:
            wrong[kind] = {k: (got[k], want[k]) for k in NS_KINDS if got[k] != want[k]}
    assert not wrong, f"(observed, expected) namespaces: {wrong}"


@clause("config.md#createcontainer-hooks", "config.md#startcontainer-hooks")
def test_hook_paths_resolve_in_the_right_namespace(oci):
    """createContainer's path resolves in the runtime namespace, startContainer's in the
    container: each hook's probe exists only where its path must be resolved."""
    b = hooked_bundle(oci, ["createContainer", "startContainer"])
    assert not Path("/probe").exists(), "the host has a /probe: this test cannot discriminate"
    assert not (b.rootfs / str(oci.probe_host).lstrip("/")).exists()
    assert names(lifecycle(oci, b).entries) == ["createContainer", "startContainer", "process"]


@clause("config.md#posix-platform-hooks")
def test_hook_timeout(oci):
    b = oci.marker_bundle()
    b.config["hooks"] = {"createRuntime": [oci.hook(b, "createRuntime", sleep=30, timeout=1)]}
    b.write()
    cid = oci.new_id()
    r = oci.create(b, cid)
    took = (r.ended - r.started) / 1e9
    assert not r.ok, "a hook past its timeout must fail create"
    assert took < 15, f"create took {took:.1f}s with a 1s hook timeout"
    assert oci.state_or_none(cid) is None


# ---- failures ----------------------------------------------------------------------------------

def failing_bundle(oci, kind: str) -> Bundle:
    """``kind`` fails; a prestart recorder (unless prestart itself fails) logs the host pid of
    the container process, and a poststop hook shows whether step 13 ran."""
    b = oci.marker_bundle()
    hooks: dict[str, list] = {}
    if kind != "prestart":
        hooks["prestart"] = [oci.hook(b, "recorder")]
    hooks.setdefault(kind, []).append(
        oci.hook(b, kind, exit_code=1, in_container=kind in IN_CONTAINER_PATH))
    hooks["poststop"] = [oci.hook(b, "poststop")]
    b.config["hooks"] = hooks
    b.write()
    return b


def run_until_failure(oci, kind: str) -> SimpleNamespace:
    b = failing_bundle(oci, kind)
    cid = oci.new_id()
    c = oci.create(b, cid)
    failed = c
    if kind == "startContainer":
        assert c.ok, f"create failed: {c}"
        failed = oci.start(cid)
    time.sleep(0.3)
    by_name = {e["name"]: e for e in b.hook_entries()}
    recorder = "recorder" if kind != "prestart" else kind
    assert recorder in by_name, f"the {recorder} hook did not run: {list(by_name)}; {failed}"
    host_pid = int(entry_state(by_name[recorder])["pid"])
    oci.track(host_pid)
    return SimpleNamespace(cid=cid, bundle=b, result=failed, host_pid=host_pid,
                           names=names(b.hook_entries()))


FAILING = ["prestart", "createRuntime", "createContainer", "startContainer"]


@clause("runtime.md#lifecycle", "config.md#posix-platform-hooks")
@pytest.mark.parametrize("kind", FAILING)
def test_failing_hook_errors_and_stops_the_container(oci, kind):
    f = run_until_failure(oci, kind)
    op = "start" if kind == "startContainer" else "create"
    assert not f.result.ok, f"{op} must fail when a {kind} hook fails"
    assert "process" not in f.names, "the user program ran"
    deadline = time.monotonic() + 5
    while alive(f.host_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(f.host_pid), "the container process is still alive"
    st = oci.state_or_none(f.cid)
    assert st is None or st["status"] == "stopped", st


@clause("runtime.md#lifecycle", "config.md#poststop")
@pytest.mark.parametrize("kind", FAILING)
def test_failing_hook_destroys_the_container_and_runs_poststop(oci, kind):
    """Steps 3/4/5/7: "... stop the container, and continue the lifecycle at step 12" (destroy),
    then step 13: poststop hooks MUST be invoked."""
    f = run_until_failure(oci, kind)
    st = oci.state_or_none(f.cid)
    assert st is None, f"the container was not destroyed: {st}"
    assert "poststop" in f.names, f"poststop did not run; hooks that ran: {f.names}"


@clause("runtime.md#lifecycle", "config.md#poststart")
def test_poststart_failure_is_only_a_warning(oci):
    b = oci.marker_bundle()
    b.config["hooks"] = {"poststart": [oci.hook(b, "poststart-fail", exit_code=1),
                                       oci.hook(b, "poststart-ok")]}
    b.write()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    s = oci.start(cid)
    assert s.ok, f"a failing poststart hook must not fail start: {s}"
    wait_for(b, "process")
    assert oci.state(cid)["status"] == "running"
    assert "poststart-ok" in names(b.hook_entries()), "the remaining poststart hooks did not run"


@clause("runtime.md#lifecycle", "config.md#poststop")
def test_poststop_failure_is_only_a_warning(oci):
    b = oci.marker_bundle()
    b.config["hooks"] = {"poststop": [oci.hook(b, "poststop-fail", exit_code=1),
                                      oci.hook(b, "poststop-ok")]}
    b.write()
    cid = oci.new_id()
    oci.create(b, cid, check=True)
    pid = oci.state(cid)["pid"]
    oci.start(cid, check=True)
    wait_for(b, "process")
    assert oci.kill(cid, "KILL").ok
    oci.wait_exit(pid)
    d = oci.delete(cid)
    assert d.ok, f"a failing poststop hook must not fail delete: {d}"
    assert oci.state_or_none(cid) is None
    ran = names(b.hook_entries())
    assert ran[-2:] == ["poststop-fail", "poststop-ok"], \
        f"the remaining poststop hooks did not run: hooks that ran {ran}"
