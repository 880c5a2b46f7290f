"""``ociruntime.specgen``: the ``spec`` command must write what ``runc spec`` writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import ociruntime
from ociruntime import specgen
from ociruntime.errors import OCIRuntimeError, SyscallError

RUNC = "/usr/bin/runc"
needs_runc = pytest.mark.skipif(not os.path.exists(RUNC), reason="needs runc")

_VERSION_RE = re.compile(rb'"ociVersion": "[^"]*"')


def _runc_spec(directory: Path, rootless: bool) -> bytes:
    """Run ``runc spec`` in ``directory`` and return config.json with our ociVersion."""
    cmd = [RUNC, "spec"] + (["--rootless"] if rootless else [])
    subprocess.run(cmd, cwd=directory, check=True, capture_output=True)
    data = (directory / "config.json").read_bytes()
    ours = f'"ociVersion": "{ociruntime.SPEC_VERSION}"'.encode()
    return _VERSION_RE.sub(ours, data, count=1)


@needs_runc
@pytest.mark.parametrize("rootless", [False, True], ids=["default", "rootless"])
def test_bytes_match_runc(tmp_path: Path, rootless: bool) -> None:
    ref_dir = tmp_path / "runc"
    our_dir = tmp_path / "ours"
    ref_dir.mkdir()
    our_dir.mkdir()
    expected = _runc_spec(ref_dir, rootless)
    specgen.write_spec(str(our_dir), rootless)
    assert (our_dir / "config.json").read_bytes() == expected


@needs_runc
def test_exists_message_matches_runc(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    proc = subprocess.run([RUNC, "spec"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1
    with pytest.raises(OCIRuntimeError) as info:
        specgen.write_spec(str(tmp_path), False)
    assert str(info.value) in proc.stderr
    assert info.value.exit_code == proc.returncode


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text("keep me")
    with pytest.raises(OCIRuntimeError, match="^File config.json exists. Remove it first$"):
        specgen.write_spec(str(tmp_path), rootless=True)
    assert cfg.read_text() == "keep me"


def test_missing_bundle(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SyscallError) as info:
        specgen.write_spec(str(missing), False)
    assert str(info.value) == f"chdir {missing}: no such file or directory"
    assert info.value.exit_code == 1


def test_empty_bundle_is_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    specgen.write_spec("", False)
    assert json.loads((tmp_path / "config.json").read_text())["hostname"] == "runc"


def test_format_tabs_no_trailing_newline(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        specgen.write_spec(str(tmp_path), False)
    finally:
        os.umask(old)
    path = tmp_path / "config.json"
    data = path.read_bytes()
    assert data.startswith(b'{\n\t"ociVersion": "1.3.0",\n\t"process": {\n\t\t"terminal": true,')
    assert data.endswith(b"\n\t}\n}")
    assert b"    " not in data
    assert path.stat().st_mode & 0o777 == 0o644


def test_key_order_and_version() -> None:
    spec = specgen.default_spec(cgroupns=False)
    assert list(spec) == ["ociVersion", "process", "root", "hostname", "mounts", "linux"]
    assert spec["ociVersion"] == ociruntime.SPEC_VERSION == "1.3.0"
    assert list(spec["process"]) == [
        "terminal",
        "user",
        "args",
        "env",
        "cwd",
        "capabilities",
        "rlimits",
        "noNewPrivileges",
    ]
    assert list(spec["process"]["capabilities"]) == [
        "bounding",
        "effective",
        "permitted",
        "ambient",
    ]
    assert list(spec["linux"]) == ["resources", "namespaces", "maskedPaths", "readonlyPaths"]
    assert [m["destination"] for m in spec["mounts"]] == [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/sys/fs/cgroup",
    ]
    assert "options" not in spec["mounts"][0]
    assert [n["type"] for n in spec["linux"]["namespaces"]] == [
        "pid",
        "network",
        "ipc",
        "uts",
        "mount",
    ]


def test_cgroupns_only_when_asked() -> None:
    with_ns = specgen.default_spec(cgroupns=True)
    assert with_ns["linux"]["namespaces"][-1] == {"type": "cgroup"}
    rootless = specgen.default_spec(rootless=True, cgroupns=True)
    assert [n["type"] for n in rootless["linux"]["namespaces"]] == [
        "pid",
        "ipc",
        "uts",
        "mount",
        "cgroup",
        "user",
    ]


def test_rootless_transform() -> None:
    spec = specgen.default_spec(rootless=True, cgroupns=False)
    linux = spec["linux"]
    assert list(linux) == [
        "uidMappings",
        "gidMappings",
        "namespaces",
        "maskedPaths",
        "readonlyPaths",
    ]
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    sys_mount = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert sys_mount == {
        "destination": "/sys",
        "type": "none",
        "source": "/sys",
        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"],
    }
    pts = next(m for m in spec["mounts"] if m["destination"] == "/dev/pts")
    assert "gid=5" not in pts["options"]


def test_default_spec_is_fresh() -> None:
    a = specgen.default_spec()
    a["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    a["mounts"][1]["options"].append("x")
    b = specgen.default_spec()
    assert "CAP_SYS_ADMIN" not in b["process"]["capabilities"]["bounding"]
    assert "x" not in b["mounts"][1]["options"]
