"""The engines' light commands (state, start, kill, delete) load no ``os`` (cli.py says
why), and the ``os.path`` helpers state.py has in its place behave as ``os.path``'s."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ociruntime import state

REPO = Path(state.__file__).resolve().parent.parent

#: every module a light command loads (cli dispatches to container; delete of a container
#: whose processes are gone adds cgroups_remove)
LIGHT = ("ociruntime.cli", "ociruntime.container", "ociruntime.state", "ociruntime.signals",
         "ociruntime.cgroups_remove", "ociruntime.log", "ociruntime.errors",
         "ociruntime.fastjson")
#: what they must not load: os (~1 ms), and the heavier modules it would stand for
HEAVY = ("os", "posixpath", "_collections_abc", "select", "typing", "ctypes", "argparse",
         "json", "enum", "re")


def test_light_commands_import_no_os() -> None:
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); "
            f"import {', '.join(LIGHT)}; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-S", "-X", "frozen_modules=on", "-c", code],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("path", [
    "/run/ociruntime", "/", "/run/x/", "/run//x", "/run/./x", "/run/x/..", "/run/../x",
    "relative/dir", "./x", "", "/run/.hidden", "/run/x..y",
])
def test_absolute_is_abspath(path: str) -> None:
    assert state.absolute(path) == os.path.abspath(path)


def test_absolute_keeps_a_normal_path_without_os() -> None:
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); from ociruntime import state; "
            "print(state.absolute('/run/containerd/runc/k8s.io'), 'os' in sys.modules)")
    out = subprocess.run([sys.executable, "-I", "-S", "-X", "frozen_modules=on", "-c", code],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["/run/containerd/runc/k8s.io", "False"]


def test_lexists_and_isdir_are_os_path(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "to-dir").symlink_to("dir")
    (tmp_path / "dangling").symlink_to("missing")
    names = ["dir", "file", "to-dir", "dangling", "missing", "file/below"]
    for name in names:
        p = str(tmp_path / name)
        assert state.lexists(p) == os.path.lexists(p), name
        assert state.isdir(p) == os.path.isdir(p), name
    assert not state.lexists("bad\0path") and not state.isdir("bad\0path")


def test_write_atomic_temp_file_is_beside_the_target(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    state.write_atomic(str(tmp_path / "state.json"), b"{}")
    assert (tmp_path / "state.json").read_bytes() == b"{}"
    monkeypatch.chdir(tmp_path)
    state.write_atomic("plain", b"1")  # a bare name: the temp file is in the cwd too
    state.write_pid_file("pid", 42)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pid", "plain", "state.json"]
    assert (tmp_path / "pid").read_bytes() == b"42"


def test_list_ids_and_remove_dir(tmp_path: Path) -> None:
    for name in ("b", "a", ".schema-cache"):
        (tmp_path / name).mkdir()
    (tmp_path / "a" / "sub").mkdir()
    (tmp_path / "a" / "sub" / "f").write_text("x")
    (tmp_path / "not-a-dir").write_text("x")
    assert state.list_ids(str(tmp_path)) == ["a", "b"]
    state.remove_dir(str(tmp_path / "a"))
    assert not (tmp_path / "a").exists()
    assert state.list_ids(str(tmp_path / "missing")) == []


def test_default_root_is_runcs_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    import posix

    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    monkeypatch.setattr(posix, "geteuid", lambda: 0)
    assert state.default_root() == "/run/ociruntime"
    monkeypatch.setattr(posix, "geteuid", lambda: 1000)
    assert state.default_root() == "/run/user/1000/ociruntime"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert state.default_root() == "/run/ociruntime"


def test_wait_gone_follows_the_init(tmp_path: Path) -> None:
    from ociruntime import container

    p = subprocess.Popen(["sleep", "30"])
    try:
        saved = {"pid": p.pid, "init_process_start": state.proc_start_time(p.pid)[0]}
        assert not container._wait_gone(saved, timeout=0.2)  # alive: the timeout wins
        # another process under the same pid (another start time) is not our init
        assert container._wait_gone({**saved, "init_process_start": 1}, timeout=5)
        p.kill()
        assert container._wait_gone(saved, timeout=5)  # exited: the pidfd wakes us
    finally:
        p.kill()
        p.wait()


def test_remove_paths_removes_trees_and_names_what_stays(tmp_path: Path) -> None:
    from ociruntime.cgroups_remove import remove_paths
    from ociruntime.errors import CgroupError

    (tmp_path / "cpu" / "sub" / "subsub").mkdir(parents=True)
    (tmp_path / "pids").mkdir()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "tasks").write_text("1\n")  # a file: rmdir says "not empty"
    remove_paths({"cpu": str(tmp_path / "cpu"), "pids": str(tmp_path / "pids"),
                  "gone": str(tmp_path / "never-made"), "none": ""})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    with pytest.raises(CgroupError) as err:
        remove_paths({"memory": str(tmp_path / "busy")}, retries=2, delay=0)
    assert str(err.value) == (f"Failed to remove paths: map[memory:{tmp_path / 'busy'}] "
                              f"(rmdir {tmp_path / 'busy'}: directory not empty)")


def test_prune_dir(tmp_path: Path) -> None:
    """The caches' bound: the newest ``keep`` by mtime stay, and the one just written."""
    for i in range(6):
        (tmp_path / f"{i}.bpf").write_text("x")
        os.utime(tmp_path / f"{i}.bpf", ns=(i * 10**9, i * 10**9))
    (tmp_path / "other").write_text("x")
    state.prune_dir(str(tmp_path), 4, ".bpf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.bpf", "3.bpf", "4.bpf", "5.bpf",
                                                          "other"]
    os.utime(tmp_path / "5.bpf", ns=(0, 0))  # the newest write, with an older (coarse) mtime
    state.prune_dir(str(tmp_path), 2, ".bpf", spare="5.bpf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["4.bpf", "5.bpf", "other"]
    state.prune_dir(str(tmp_path / "missing"), 1)  # errors are ignored
