"""CLI surface: error strings and exit codes, ids, --log, state/list output, spec/features.

runc-behavior.md sections 1 and 3, Appendix A; security.md section 2 B/C. Every test also
passes against ``RUNTIME=/usr/bin/runc`` except the ociruntime-only ones (marked).
Commands that leave a container behind run with stdio in files, never pipes: a detached
container inherits the runtime's stdio.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import runtime_cmd

from tests.integration._probe import assert_no_cgroup_left, wait_for

T = 10  # timeout of every runtime call, seconds
IS_RUNC = os.path.basename(runtime_cmd()[0]) == "runc"
ociruntime_only = pytest.mark.skipif(IS_RUNC, reason="ociruntime's own identity")

RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")
RFC3339NANO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z")


def parse_rfc3339(text: str) -> datetime.datetime:
    """Parse RFC 3339 (any fraction length; Go trims trailing zeros of RFC3339Nano)."""
    m = RFC3339.fullmatch(text)
    assert m, text
    head, frac, zone = m.groups()
    frac = (frac or ".0")[:7]  # microseconds at most
    zone = "+00:00" if zone == "Z" else zone
    return datetime.datetime.fromisoformat(head + frac + zone)


def call(rt, *args: str, timeout: float = T, **kw: Any) -> subprocess.CompletedProcess:
    """Run the runtime with stdio in files (safe for commands that detach a container)."""
    with tempfile.TemporaryFile("w+") as o, tempfile.TemporaryFile("w+") as e:
        p = rt(*args, capture_output=False, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
               timeout=timeout, **kw)
        o.seek(0)
        e.seek(0)
        return subprocess.CompletedProcess(p.args, p.returncode, o.read(), e.read())


def root_entries(rt) -> list[str]:
    return sorted(os.listdir(rt.root)) if rt.root.exists() else []


@pytest.fixture(autouse=True)
def no_cgroup_left(cid):
    """security.md section 2 (d): after the test and the ``rt`` cleanup (which runs first,
    as this fixture is set up before it), no cgroup of the test's containers is left."""
    yield
    assert_no_cgroup_left(cid)


# ---------------------------------------------------------------- unknown ids


@pytest.mark.parametrize("args", [
    ("state",), ("start",), ("kill",), ("kill", "--all"), ("delete",),
], ids=lambda a: " ".join(a))
def test_unknown_id(rt, cid, args):
    p = rt(*args, cid, timeout=T)
    assert p.returncode == 1
    assert p.stdout == ""
    assert "container does not exist" in p.stderr
    assert not (rt.root / cid).exists()


def test_delete_force_unknown_id_is_success(rt, cid):
    p = rt("delete", "--force", cid, timeout=T)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    p = rt("delete", "-f", cid, timeout=T)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")


def test_delete_removes_half_created_dir(rt, cid):
    """A create that died half-way leaves <root>/<id> without state.json: delete removes it."""
    (rt.root / cid).mkdir(parents=True)
    assert rt("state", cid, timeout=T).returncode == 1
    p = rt("delete", "--force", cid, timeout=T)
    assert p.returncode == 0, p.stderr
    assert not (rt.root / cid).exists()


# ---------------------------------------------------------------- container ids


BAD_IDS = ["a/b", "../x", "..", ".", "a b", "é", "a:b", "a\nb", "a\\b", "~home", "$HOME",
           "x/../y"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_invalid_id_creates_nothing(rt, make_bundle, bad, tmp_path):
    b = make_bundle(args=["sleep", "100"])
    for cmd in ("create", "run"):
        p = call(rt, cmd, "--bundle", str(b), bad)
        assert p.returncode == 1, (cmd, p.stderr)
        assert "invalid container ID format" in p.stderr, p.stderr
        assert [e for e in root_entries(rt) if not e.startswith(".")] == [], root_entries(rt)
    # nothing made outside the root either
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert not (rt.root.parent / "x").exists()


@pytest.mark.parametrize("bad", ["a/b", "../x", "..", ".", "a b", "é"], ids=repr)
@pytest.mark.parametrize("cmd", ["state", "start", "kill", "delete", "delete -f"])
def test_invalid_id_other_commands(rt, bad, cmd):
    p = rt(*cmd.split(), bad, timeout=T)
    assert p.returncode == 1
    assert "invalid container ID format" in p.stderr


def test_empty_id(rt, make_bundle):
    b = make_bundle()
    p = call(rt, "create", "--bundle", str(b), "")
    assert p.returncode == 1
    assert "container id cannot be empty" in p.stderr
    assert root_entries(rt) == [] or all(e.startswith(".") for e in root_entries(rt))


def test_comma_and_other_allowed_chars_in_id(rt, make_bundle, cid):
    """runc 1.1.5's regex ``^[\\w+-\\.]+$`` allows A-Za-z0-9_+,-. (``+-.`` is a range)."""
    b = make_bundle(args=["sleep", "100"])
    id_ = f"{cid}_A+b,c-d.e"
    p = call(rt, "create", "--bundle", str(b), id_)
    assert p.returncode == 0, p.stderr
    st = rt.state(id_)
    assert st["id"] == id_ and st["status"] == "created"
    assert (rt.root / id_).is_dir()
    assert rt("list", "-q", timeout=T).stdout == id_ + "\n"
    p = call(rt, "delete", id_)
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------- usage


def test_unknown_command_exits_3(rt):
    p = rt("bogus", timeout=T)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert "No help topic for 'bogus'" in p.stderr


def test_unknown_command_without_root_flag_exits_3(tmp_path):
    # same, without any global flag before the command
    p = subprocess.run([*runtime_cmd(), "bogus"], capture_output=True, text=True, timeout=T)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert "No help topic for 'bogus'" in p.stderr


@pytest.mark.parametrize("args", [
    ("state",), ("state", "a", "b"), ("start",), ("start", "a", "b"), ("delete",),
    ("delete", "a", "b"), ("create",), ("create", "a", "b"), ("run",), ("kill",),
    ("kill", "a", "KILL", "c"),
], ids=lambda a: " ".join(a))
def test_wrong_argument_count(rt, args):
    p = rt(*args, timeout=T)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stdout.startswith("Incorrect Usage.\n"), p.stdout
    assert "argument(s)" in p.stderr, p.stderr


def test_wrong_argument_count_message(rt):
    p = rt("state", timeout=T)
    assert '\\"state\\" requires exactly 1 argument(s)' in p.stderr, p.stderr


def test_bogus_log_format(rt, cid):
    p = rt("--log-format", "bogus", "state", cid, timeout=T)
    assert p.returncode == 1
    assert "invalid log-format: bogus" in p.stderr
    assert p.stdout == ""


# ---------------------------------------------------------------- --log / --log-format


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def test_json_log_on_failure_is_one_error_line(rt, cid, tmp_path):
    log = tmp_path / "log.json"
    p = rt("--log", str(log), "--log-format", "json", "state", cid, timeout=T)
    assert p.returncode == 1
    assert p.stderr == "container does not exist\n"  # the bare message on stderr
    assert p.stdout == ""
    text = log.read_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 1, lines
    rec = json.loads(lines[0])
    assert isinstance(rec, dict)
    assert sorted(rec) == ["level", "msg", "time"]
    assert rec["level"] == "error"
    assert rec["msg"] == "container does not exist"
    t = parse_rfc3339(rec["time"])
    assert abs(t.timestamp() - time.time()) < 120


def test_json_log_on_create_failure(rt, make_bundle, cid, tmp_path):
    b = make_bundle(args=["/nonexistent"])
    log = tmp_path / "log.json"
    p = call(rt, "create", "--bundle", str(b), cid,
             global_args=("--log", str(log), "--log-format", "json"))
    assert p.returncode == 1
    recs = _records(log)
    assert len(recs) == 1, recs
    assert sorted(recs[0]) == ["level", "msg", "time"] and recs[0]["level"] == "error"
    assert "no such file or directory" in recs[0]["msg"]
    assert p.stderr == recs[0]["msg"] + "\n"
    parse_rfc3339(recs[0]["time"])


def test_log_file_is_appended_never_truncated(rt, cid, tmp_path):
    log = tmp_path / "log.json"
    log.write_text("previous line\n")
    for command in ("state", "start"):
        p = rt("--log", str(log), "--log-format", "json", command, cid, timeout=T)
        assert p.returncode == 1
    lines = log.read_text().splitlines()
    assert lines[0] == "previous line"
    assert len(lines) == 3, lines
    for ln in lines[1:]:
        rec = json.loads(ln)
        assert rec["level"] == "error" and rec["msg"] == "container does not exist"


def test_log_on_success_is_quiet(rt, make_bundle, cid, tmp_path):
    b = make_bundle(args=["sleep", "100"])
    log = tmp_path / "log.json"
    g = ("--log", str(log), "--log-format", "json")
    for args in (("create", "--bundle", str(b), cid), ("start", cid), ("state", cid),
                 ("kill", cid, "KILL")):
        p = call(rt, *args, global_args=g)
        assert p.returncode == 0, (args, p.stderr)
        assert p.stderr == "", (args, p.stderr)
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    p = call(rt, "delete", cid, global_args=g)
    assert (p.returncode, p.stderr) == (0, "")
    recs = _records(log) if log.exists() else []
    assert [r for r in recs if r.get("level") == "error"] == []


def test_text_log_on_stderr(rt, cid):
    p = rt("state", cid, timeout=T)
    assert p.returncode == 1
    m = re.fullmatch(r'time="([^"]+)" level=error msg="container does not exist"\n', p.stderr)
    assert m, p.stderr
    parse_rfc3339(m.group(1))


def test_text_log_to_file(rt, cid, tmp_path):
    log = tmp_path / "log.txt"
    p = rt("--log", str(log), "kill", cid, timeout=T)
    assert p.returncode == 1
    assert p.stderr == "container does not exist\n"
    assert re.fullmatch(r'time="[^"]+" level=error msg="container does not exist"\n',
                        log.read_text()), log.read_text()


# ---------------------------------------------------------------- state and list


STATE_KEYS = ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"]


def test_state_json_shape(rt, make_bundle, cid, rootfs):
    b = make_bundle(args=["sleep", "100"])
    before = time.time()
    assert call(rt, "create", "--bundle", str(b), cid).returncode == 0
    p = rt("state", cid, timeout=T)
    assert p.returncode == 0 and p.stderr == ""
    out = p.stdout
    assert not out.endswith("\n")  # no trailing newline
    st = json.loads(out)
    assert out == json.dumps(st, indent=2)  # 2-space indent, runc's key order
    assert list(st) == STATE_KEYS  # no annotations key when there are none
    assert st["id"] == cid
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert st["bundle"] == str(b)
    assert st["rootfs"] == str(rootfs)
    assert st["owner"] == ""
    assert isinstance(st["ociVersion"], str) and st["ociVersion"]
    assert RFC3339NANO_UTC.fullmatch(st["created"]), st["created"]
    created = parse_rfc3339(st["created"]).timestamp()
    assert before - 1 <= created <= time.time() + 1


def test_state_json_with_annotations(rt, make_bundle, base_config, cid):
    cfg = copy.deepcopy(base_config)
    cfg["annotations"] = {"org.example.key": "value", "b.other": "2"}
    b = make_bundle(cfg, args=["sleep", "100"])
    assert call(rt, "create", "--bundle", str(b), cid).returncode == 0
    out = rt("state", cid, timeout=T).stdout
    st = json.loads(out)
    assert out == json.dumps(st, indent=2)
    assert list(st) == STATE_KEYS[:7] + ["annotations", "owner"]
    assert st["annotations"] == cfg["annotations"]


def test_state_relative_bundle_is_absolute(rt, make_bundle, cid):
    b = make_bundle(args=["sleep", "100"])
    p = call(rt, "create", "--bundle", os.path.relpath(b), cid)
    assert p.returncode == 0, p.stderr
    assert rt.state(cid)["bundle"] == str(b)


def test_state_bundle_defaults_to_cwd(rt, make_bundle, cid):
    b = make_bundle(args=["sleep", "100"])
    p = call(rt, "create", cid, cwd=str(b))
    assert p.returncode == 0, p.stderr
    assert rt.state(cid)["bundle"] == str(b)


def test_list_empty(rt):
    p = rt("list", timeout=T)
    assert p.returncode == 0
    assert p.stdout.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert p.stdout.count("\n") == 1
    p = rt("list", "--format", "json", timeout=T)
    assert (p.returncode, p.stdout) == (0, "null\n")
    p = rt("list", "-f", "json", timeout=T)
    assert (p.returncode, p.stdout) == (0, "null\n")
    p = rt("list", "-q", timeout=T)
    assert (p.returncode, p.stdout) == (0, "")


def test_list_formats(rt, make_bundle, cid):
    b = make_bundle(args=["sleep", "100"])
    ids = [f"{cid}-c", f"{cid}-a", f"{cid}-b"]
    for i in ids:
        assert call(rt, "create", "--bundle", str(b), i).returncode == 0
    assert call(rt, "start", f"{cid}-b").returncode == 0
    want = sorted(ids)
    states = {i: rt.state(i) for i in ids}

    p = rt("list", "-q", timeout=T)
    assert p.returncode == 0 and p.stdout == "".join(i + "\n" for i in want)

    p = rt("list", "--format", "json", timeout=T)
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.endswith("\n") and p.stdout.count("\n") == 1
    items = json.loads(p.stdout)
    assert p.stdout == json.dumps(items, separators=(",", ":")) + "\n"  # compact
    assert [it["id"] for it in items] == want
    for it in items:
        st = states[it["id"]]
        assert list(it) == STATE_KEYS
        assert it["owner"] == "root"
        assert it["pid"] == st["pid"] and it["created"] == st["created"]
        assert it["status"] == ("running" if it["id"] == f"{cid}-b" else "created")
        assert it["bundle"] == str(b)

    p = rt("list", timeout=T)
    lines = p.stdout.splitlines()
    header = lines[0]
    assert header.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = [ln.split() for ln in lines[1:]]
    assert [r[0] for r in rows] == want
    for r in rows:
        st = states[r[0]]
        assert r[1:] == [str(st["pid"]), "running" if r[0] == f"{cid}-b" else "created",
                         str(b), st["created"], "root"]
    # columns line up under the header (tabwriter)
    starts = [header.index(h) for h in ("PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
    for ln in lines[1:]:
        for s in starts:
            assert ln[s - 1] == " " and ln[s] != " ", (ln, s)


def test_list_stopped_container_pid_zero(rt, make_bundle, cid):
    b = make_bundle(args=["true"])
    assert call(rt, "run", "-d", "--bundle", str(b), cid).returncode == 0
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    items = json.loads(rt("list", "-f", "json", timeout=T).stdout)
    assert [(it["id"], it["pid"], it["status"]) for it in items] == [(cid, 0, "stopped")]


# ---------------------------------------------------------------- spec / features / version


def test_spec_writes_config_and_refuses_to_overwrite(rt, tmp_path):
    d = tmp_path / "specdir"
    d.mkdir()
    p = rt("spec", "--bundle", str(d), timeout=T)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    text = (d / "config.json").read_text()
    cfg = json.loads(text)
    assert text.startswith("{\n\t\"ociVersion\": ")  # tab indentation
    assert text == json.dumps(cfg, indent="\t")
    assert cfg["process"]["args"] and cfg["root"]["path"] == "rootfs"
    p = rt("spec", "-b", str(d), timeout=T)
    assert p.returncode == 1
    assert "File config.json exists. Remove it first" in p.stderr
    assert (d / "config.json").read_text() == text


def test_spec_in_cwd(rt, tmp_path):
    p = rt("spec", timeout=T, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "config.json").is_file()


def test_features(rt):
    p = rt("features", timeout=T)
    assert p.returncode == 0 and p.stderr == ""
    f = json.loads(p.stdout)
    assert p.stdout.startswith('{\n    "ociVersionMin": ')  # 4-space indent
    assert f["ociVersionMin"] == "1.0.0"
    assert isinstance(f["ociVersionMax"], str) and f["ociVersionMax"]
    assert set(f["hooks"]) == {"prestart", "createRuntime", "createContainer",
                               "startContainer", "poststart", "poststop"}
    assert "mountOptions" in f and "linux" in f


@ociruntime_only
def test_version():
    p = subprocess.run([*runtime_cmd(), "--version"], capture_output=True, text=True, timeout=T)
    assert p.returncode == 0 and p.stderr == ""
    lines = p.stdout.splitlines()
    assert lines[0].startswith("ociruntime version ")
    assert "spec: 1.3.0" in lines
    assert any(ln.startswith("commit: ") for ln in lines)
    p2 = subprocess.run([*runtime_cmd(), "-v"], capture_output=True, text=True, timeout=T)
    assert p2.stdout == p.stdout


def test_version_shape():
    """go-runc's Version(): first line ``<name> version X``, then ``commit:`` and ``spec:``."""
    p = subprocess.run([*runtime_cmd(), "--version"], capture_output=True, text=True, timeout=T)
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"\S+ version \S+", lines[0]), lines
    assert lines[1].startswith("commit: ") and lines[2].startswith("spec: ")


# ---------------------------------------------------------------- argv as the callers build it


def test_podman_conmon_argv(rt, make_bundle, cid, tmp_path):
    """runc-behavior 4.1: conmon's create line, then podman's start/kill/delete."""
    b = make_bundle(args=["sleep", "100"])
    oci_log = tmp_path / "oci-log"
    pid_file = tmp_path / "pidfile"
    p = call(rt, "create", "--bundle", str(b), "--pid-file", str(pid_file), cid,
             global_args=("--log-format=json", "--log", str(oci_log)))
    assert (p.returncode, p.stdout, p.stderr) == (0, "", ""), p.stderr
    pid = int(pid_file.read_bytes())  # conmon: atoi
    assert call(rt, "start", cid).returncode == 0
    st = rt.state(cid)
    assert (st["status"], st["pid"]) == ("running", pid)
    assert call(rt, "kill", cid, "15").returncode == 0  # ignored by a pid-1 sleep
    assert call(rt, "kill", cid, "9").returncode == 0
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    p = call(rt, "delete", "--force", cid)
    assert (p.returncode, p.stderr) == (0, "")
    recs = _records(oci_log) if oci_log.exists() else []
    assert [r for r in recs if r["level"] == "error"] == [], recs


def test_podman_reads_the_whole_oci_log_as_one_object(rt, make_bundle, cid, tmp_path):
    b = make_bundle(args=["nosuchbinary"])
    oci_log = tmp_path / "oci-log"
    p = call(rt, "create", "--bundle", str(b), "--pid-file", str(tmp_path / "pidfile"), cid,
             global_args=("--log-format=json", "--log", str(oci_log)))
    assert p.returncode == 1
    rec = json.loads(oci_log.read_text())  # json.Unmarshal of the whole file
    assert "executable file not found in" in rec["msg"]
    assert not (tmp_path / "pidfile").exists()


def test_containerd_shim_argv(rt, make_bundle, cid, tmp_path):
    """runc-behavior 4.2: go-runc's global args on every call; stderr stays empty."""
    b = make_bundle(args=["sleep", "100"])
    log = b / "log.json"
    g = ("--log", str(log), "--log-format", "json")
    p = call(rt, "create", "--bundle", str(b), "--pid-file", str(b / "init.pid"), cid,
             global_args=g)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert int((b / "init.pid").read_bytes()) == rt.state(cid)["pid"]  # no trimming
    for args in (("start", cid), ("kill", cid, "10"), ("kill", "--all", cid, "9")):
        p = call(rt, *args, global_args=g)
        assert (p.returncode, p.stderr) == (0, ""), (args, p.stderr)
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    # kill after exit: containerd's checkKillError needs "container not running"
    p = call(rt, "kill", cid, "9", global_args=g)
    assert p.returncode == 1 and p.stderr == "container not running\n"
    assert call(rt, "delete", cid, global_args=g).returncode == 0
    # the shim's cleanup delete --force of a gone container succeeds; a plain delete says
    # "does not exist" (containerd ignores that)
    p = call(rt, "delete", "--force", cid, global_args=g)
    assert (p.returncode, p.stderr) == (0, "")
    p = call(rt, "delete", cid, global_args=g)
    assert p.returncode == 1 and p.stderr == "container does not exist\n"
    for ln in log.read_text().splitlines():  # every line decodes, time is RFC 3339
        rec = json.loads(ln)
        parse_rfc3339(rec["time"])
    assert [json.loads(ln)["msg"] for ln in log.read_text().splitlines()
            if json.loads(ln)["level"] == "error"] == ["container not running",
                                                       "container does not exist"]


def test_flag_syntax_variants(rt, make_bundle, cid, tmp_path):
    """urfave/cli forms runc accepts: --flag=value, flags after the id, global flags."""
    b = make_bundle(args=["sleep", "100"])
    pid_file = tmp_path / "p.pid"
    p = call(rt, "create", f"--bundle={b}", f"--pid-file={pid_file}", cid,
             global_args=("--log-format=text", "--rootless=false"))
    assert p.returncode == 0, p.stderr
    assert pid_file.read_text() == str(rt.state(cid)["pid"])
    p = rt(f"--root={rt.root}", "state", cid, timeout=T)  # the root given twice, last wins
    assert p.returncode == 0 and json.loads(p.stdout)["id"] == cid
    p = call(rt, "kill", cid, "KILL", "--all")  # flags after the arguments
    assert p.returncode == 0, p.stderr
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    p = call(rt, "delete", cid, "--force")
    assert p.returncode == 0, p.stderr
    assert rt("state", cid, timeout=T).returncode == 1


def test_kill_signal_zero_probes_liveness(rt, make_bundle, cid):
    """`kill <id> 0` is accepted (a number) and only checks the init exists."""
    b = make_bundle(args=["sleep", "100"])
    assert call(rt, "create", "--bundle", str(b), cid).returncode == 0
    p = call(rt, "kill", cid, "0")
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert rt.state(cid)["status"] == "created"


def test_overlong_id_fails_cleanly(rt, make_bundle):
    """security.md B2: a 300-character id fails with ENAMETOOLONG, no traceback, nothing made."""
    b = make_bundle(args=["sleep", "100"])
    long_id = "a" * 300
    p = call(rt, "create", "--bundle", str(b), long_id)
    assert p.returncode == 1
    assert "file name too long" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert [e for e in root_entries(rt) if not e.startswith(".")] == []
