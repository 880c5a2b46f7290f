"""``hooks`` (config.md#posix-platform-hooks) and the state they get (runtime.md#state).

Every hook here is ``/bin/sh -c SCRIPT``: on the host that is the host's shell, after
pivot_root it is the image's busybox, which shows where the path was resolved. The script
appends one tab-separated line per call to a log that the host and the container share (a
bind mount at /hooklog): kind, the state JSON from stdin, its own argv and environ, cwd,
exe, mount/net/pid namespace, hostname, and the cmdline of the state's pid.

This runtime runs poststart hooks in ``start``, as the spec says; runc 1.1.5 runs them at
the end of ``create`` (runc-behavior.md 2.5), so the ordering test is spec-only.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from _probe import config, detached, procs_in_ns, runc_lacks, wait_status

HOOK_SCRIPT = r"""
kind=$1; log=$2
exec 3< /proc/self/cmdline 4< /proc/self/environ 5< /proc/self/exe
state=$(cat)
argv=$(tr '\0\n' ' ~' <&3)
envs=$(tr '\0' ',' <&4)
pid=$(echo "$state" | sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
target=$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$state" "$argv" "$envs" \
  "$(pwd)" "$(readlink /proc/self/fd/5)" "$(readlink /proc/self/ns/mnt)" \
  "$(readlink /proc/self/ns/net)" "$(readlink /proc/self/ns/pid)" \
  "$(cat /proc/sys/kernel/hostname)" "$target" >> "$log"
"""

FIELDS = ("kind", "state", "argv", "env", "cwd", "exe", "mnt", "net", "pidns", "hostname",
          "target")
ANNOTATIONS = {"org.example.key": "value", "com.example/other": "x y"}


def _hook(kind: str, log: str, tag: str | None = None, timeout: int | None = None) -> dict:
    # busybox picks its applet by argv[0]: inside the container argv[0] must be "sh"
    argv0 = "sh" if kind == "startContainer" else "hook-argv0"
    h = {"path": "/bin/sh",
         "args": [argv0, "-c", HOOK_SCRIPT, "sh", tag or kind, log],
         "env": ["PATH=/bin:/usr/bin", f"HOOK_KIND={tag or kind}", "SPACED=a b"]}
    if timeout is not None:
        h["timeout"] = timeout
    return h


def _read_log(path) -> list[dict]:
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path).read().splitlines():
        parts = line.split("\t")
        rec = dict(zip(FIELDS, parts, strict=False))
        rec["state"] = json.loads(rec["state"])
        out.append(rec)
    return out


@pytest.fixture
def hooklog(tmp_path):
    d = tmp_path / "hooklog"
    d.mkdir()
    os.chmod(d, 0o777)
    return d


def _hooks_config(base, hooklog, **hooks):
    cfg = config(base, annotations=ANNOTATIONS, hostname="hooked")
    cfg["mounts"] = cfg["mounts"] + [{"destination": "/run", "type": "bind",
                                      "source": str(hooklog), "options": ["rbind"]}]
    cfg["hooks"] = hooks
    return cfg


def test_hooks_order_state_and_namespaces(rt, make_bundle, cid, base_config, hooklog,
                                          tmp_path):
    """config.md#posix-platform-hooks + runtime.md#lifecycle: the hooks run once each, in
    lifecycle order across create/start/delete, each with the state on stdin (status
    creating/created/stopped, id, bundle, annotations, pid), args and env exactly as
    given; prestart/createRuntime/poststop in the runtime's namespaces,
    createContainer in the container's before pivot_root (path resolved on the host),
    startContainer in the container after pivot_root (path resolved in the rootfs).
    poststart has its own (spec-only) tests below."""
    host = str(hooklog / "log")
    inside = "/run/log"
    cfg = _hooks_config(
        base_config, hooklog,
        prestart=[_hook("prestart", host)],
        createRuntime=[_hook("createRuntime", host, "createRuntime-1"),
                       _hook("createRuntime", host, "createRuntime-2")],
        createContainer=[_hook("createContainer", host)],
        startContainer=[_hook("startContainer", inside)],
        poststop=[_hook("poststop", host)],
    )
    b = make_bundle(cfg, args=["sleep", "30"])
    p = detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out")
    assert p.returncode == 0, p.stderr
    st = rt.state(cid)
    pid = st["pid"]
    c_mnt = os.readlink(f"/proc/{pid}/ns/mnt")
    c_net = os.readlink(f"/proc/{pid}/ns/net")
    c_pid = os.readlink(f"/proc/{pid}/ns/pid")
    h_mnt, h_net = os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/net")

    recs = _read_log(hooklog / "log")
    assert [r["kind"] for r in recs] == ["prestart", "createRuntime-1", "createRuntime-2",
                                         "createContainer"]
    s = rt("start", cid, timeout=30)
    assert s.returncode == 0, s.stderr
    # startContainer runs in the init after `start` released it: wait for the exec
    _wait_for(lambda: _target_of(pid) == "sleep 30 ")
    recs = _read_log(hooklog / "log")
    assert [r["kind"] for r in recs][4:] == ["startContainer"]
    assert rt("kill", cid, "KILL").returncode == 0
    wait_status(rt, cid, "stopped")
    assert rt("delete", cid, timeout=30).returncode == 0
    recs = _read_log(hooklog / "log")
    assert [r["kind"] for r in recs] == ["prestart", "createRuntime-1", "createRuntime-2",
                                         "createContainer", "startContainer", "poststop"]
    by = {r["kind"]: r for r in recs}

    want_status = {"prestart": "creating", "createRuntime-1": "creating",
                   "createRuntime-2": "creating", "createContainer": "creating",
                   "startContainer": "created", "poststop": "stopped"}
    for kind, rec in by.items():
        state = rec["state"]
        assert state["status"] == want_status[kind], (kind, state)
        assert state["id"] == cid and state["bundle"] == str(b), (kind, state)
        assert state.get("annotations") == ANNOTATIONS, (kind, state)
        assert isinstance(state["ociVersion"], str) and state["ociVersion"], (kind, state)
        script = HOOK_SCRIPT.replace("\n", "~")
        argv0 = "sh" if kind == "startContainer" else "hook-argv0"
        assert rec["argv"] == f"{argv0} -c {script} sh {kind} " + (
            inside if kind == "startContainer" else host) + " ", kind
        assert rec["env"] == f"PATH=/bin:/usr/bin,HOOK_KIND={kind},SPACED=a b,", kind

    for kind in ("prestart", "createRuntime-1", "createRuntime-2"):
        rec = by[kind]
        assert rec["state"]["pid"] == pid, kind
        assert (rec["mnt"], rec["net"]) == (h_mnt, h_net), kind
        assert rec["cwd"] == str(b), kind
        assert rec["exe"] != "/bin/busybox", kind
    assert (by["poststop"]["mnt"], by["poststop"]["net"]) == (h_mnt, h_net)

    cc = by["createContainer"]
    assert (cc["mnt"], cc["net"], cc["pidns"]) == (c_mnt, c_net, c_pid)
    assert cc["exe"] != "/bin/busybox"          # the host's /bin/sh: resolved before pivot
    assert cc["cwd"] == json_rootfs(b)
    assert cc["state"]["pid"] == 1              # the pid as seen in the container, as runc

    sc = by["startContainer"]
    assert (sc["mnt"], sc["net"], sc["pidns"]) == (c_mnt, c_net, c_pid)
    assert sc["exe"] == "/bin/busybox"          # the image's /bin/sh: resolved after pivot
    assert sc["cwd"] == "/"
    assert sc["hostname"] == "hooked"
    assert sc["state"]["pid"] == 1


def _target_of(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
    except OSError:
        return ""


def _wait_for(cond, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def json_rootfs(bundle) -> str:
    p = json.loads((bundle / "config.json").read_text())["root"]["path"]
    return os.path.normpath(p if os.path.isabs(p) else os.path.join(str(bundle), p))


@runc_lacks("runs poststart at the end of create, before the user process runs")
def test_poststart_after_user_process_started(rt, make_bundle, cid, base_config, hooklog,
                                              tmp_path):
    """config.md#poststart + runtime.md#lifecycle step 7: poststart runs in the runtime
    namespace after the user-specified process is executed and before ``start`` returns,
    with status running and the host pid; startContainer (which must finish before that
    exec) comes first, even when it is slow."""
    host = str(hooklog / "log")
    slow = _hook("startContainer", "/run/log")
    slow["args"][2] = "sleep 1\n" + HOOK_SCRIPT
    cfg = _hooks_config(base_config, hooklog, startContainer=[slow],
                        poststart=[_hook("poststart", host)])
    b = make_bundle(cfg, args=["sleep", "30"])
    p = detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out")
    assert p.returncode == 0, p.stderr
    assert _read_log(hooklog / "log") == []  # poststart does not run in create
    s = rt("start", cid, timeout=30)
    assert s.returncode == 0, s.stderr
    recs = _read_log(hooklog / "log")
    assert [r["kind"] for r in recs] == ["startContainer", "poststart"]
    # the container process had already been exec'd when poststart ran
    assert recs[1]["target"] == "sleep 30 "
    post = recs[1]
    pid = rt.state(cid)["pid"]
    assert post["state"]["status"] == "running"
    assert post["state"]["pid"] == pid
    assert post["state"]["id"] == cid and post["state"]["annotations"] == ANNOTATIONS
    assert post["mnt"] == os.readlink("/proc/self/ns/mnt")
    assert post["cwd"] == str(b)
    assert rt.state(cid)["status"] == "running"


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create(rt, make_bundle, cid, base_config, hooklog,
                                          tmp_path, kind):
    """config.md#posix-platform-hooks: a failing prestart/createRuntime/createContainer hook
    fails ``create`` with runc's ``error running hook #0: ... exit status N, stdout: ...,
    stderr: ...``, the later hooks do not run, and nothing is left (no state, no process in
    the container's pid namespace)."""
    nsfile = hooklog / "pidns"
    marker = hooklog / "second-ran"
    script = (f"state=$(cat); pid=$(echo \"$state\" | sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p');"
              f" if [ \"$pid\" = 1 ]; then readlink /proc/self/ns/pid > {nsfile};"
              f" else readlink /proc/$pid/ns/pid > {nsfile}; fi;"
              " echo out-text; echo err-text >&2; exit 3")
    cfg = config(base_config)
    cfg["hooks"] = {kind: [
        {"path": "/bin/sh", "args": ["sh", "-c", script]},
        {"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]},
    ]}
    b = make_bundle(cfg, args=["true"])
    p = detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out")
    assert p.returncode != 0
    err = p.stderr.replace("\\n", "\n")
    assert "error running hook #0:" in err
    assert "exit status 3" in err
    assert "stdout: out-text" in err and "stderr: err-text" in err
    assert not marker.exists()
    assert rt("state", cid).returncode != 0
    assert not (rt.root / cid).exists()
    link = nsfile.read_text().strip()
    assert link and link != os.readlink("/proc/self/ns/pid")
    deadline = time.monotonic() + 5
    while procs_in_ns("pid", link) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procs_in_ns("pid", link) == []


def test_hook_timeout(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#posix-platform-hooks timeout: a hook still running after ``timeout``
    seconds is killed (no such process is left) and create fails with runc's message."""
    cfg = config(base_config)
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", SLEEP_ARG],
                                       "timeout": 1}]}
    b = make_bundle(cfg, args=["true"])
    t0 = time.monotonic()
    p = detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out")
    elapsed = time.monotonic() - t0
    assert p.returncode != 0
    assert "hook ran past specified timeout of 1.0s" in p.stderr
    assert elapsed < 10
    assert rt("state", cid).returncode != 0
    assert _pids_with_cmdline(f"sleep\0{SLEEP_ARG}\0") == []  # the hook was killed


SLEEP_ARG = "20.4321"


def _pids_with_cmdline(cmdline: str) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if open(f"/proc/{name}/cmdline").read() == cmdline:
                    out.append(int(name))
            except OSError:
                continue
    return out


def test_hook_path_not_found(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#posix-platform-hooks path: a hook that cannot be executed fails create."""
    cfg = config(base_config)
    cfg["hooks"] = {"prestart": [{"path": str(tmp_path / "no-such-hook")}]}
    b = make_bundle(cfg, args=["true"])
    p = detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out")
    assert p.returncode != 0
    assert "error running hook #0" in p.stderr
    assert rt("state", cid).returncode != 0


def test_poststop_failure_only_warns(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#poststop: a failing poststop hook is a warning; delete still succeeds and
    removes the container."""
    cfg = config(base_config)
    cfg["hooks"] = {"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]}
    b = make_bundle(cfg, args=["true"])
    p = detached(rt, "create", "--bundle", str(b), cid, out=tmp_path / "c.out")
    assert p.returncode == 0, p.stderr
    assert rt("start", cid, timeout=30).returncode == 0
    wait_status(rt, cid, "stopped")
    d = rt("delete", cid, timeout=30)
    assert d.returncode == 0, d.stderr
    assert rt("state", cid).returncode != 0


@runc_lacks("RunHooks stops at the first failing poststop hook")
def test_poststop_failure_remaining_hooks_run(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#poststop: "If any poststop hook fails, the runtime MUST log a warning, but
    the remaining hooks and lifecycle continue as if the hook had succeeded"."""
    marker = tmp_path / "second-poststop"
    cfg = config(base_config)
    cfg["hooks"] = {"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]},
                                 {"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]}]}
    b = make_bundle(cfg, args=["true"])
    assert detached(rt, "create", "--bundle", str(b), cid,
                    out=tmp_path / "c.out").returncode == 0
    assert rt("start", cid, timeout=30).returncode == 0
    wait_status(rt, cid, "stopped")
    assert rt("delete", cid, timeout=30).returncode == 0
    assert marker.exists()


@runc_lacks("runs poststart in create and kills the container when it fails")
def test_poststart_failure_only_warns(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#poststart: "If any poststart hook fails, the runtime MUST log a warning, but
    the remaining hooks and lifecycle continue as if the hook had succeeded"."""
    marker = tmp_path / "second-poststart"
    cfg = config(base_config)
    cfg["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]},
                                  {"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]}]}
    b = make_bundle(cfg, args=["sleep", "30"])
    assert detached(rt, "create", "--bundle", str(b), cid,
                    out=tmp_path / "c.out").returncode == 0
    s = rt("start", cid, timeout=30)
    assert s.returncode == 0, s.stderr
    assert rt.state(cid)["status"] == "running"
    assert marker.exists()


def test_hooks_without_annotations_have_none(rt, make_bundle, cid, base_config, hooklog,
                                             tmp_path):
    """runtime.md#state annotations: OPTIONAL; absent (or empty) when the config has none."""
    host = str(hooklog / "log")
    cfg = config(base_config)
    cfg.pop("annotations", None)
    cfg["hooks"] = {"createRuntime": [_hook("createRuntime", host)]}
    b = make_bundle(cfg, args=["true"])
    assert detached(rt, "create", "--bundle", str(b), cid,
                    out=tmp_path / "c.out").returncode == 0
    state = _read_log(hooklog / "log")[0]["state"]
    assert not state.get("annotations")
    assert set(state) >= {"ociVersion", "id", "status", "pid", "bundle"}
