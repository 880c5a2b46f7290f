"""``ociruntime.features`` and ``ociruntime.capnames``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import ociruntime
from ociruntime import capnames, features

RUNC = "/usr/bin/runc"
needs_runc = pytest.mark.skipif(not os.path.exists(RUNC), reason="needs runc")

#: Options runc lists that our mount table deliberately does not claim.
RUNC_ONLY_MOUNT_OPTIONS: set[str] = set()


def _fake_proc(tmp_path: Path, last: str) -> str:
    kernel = tmp_path / "sys" / "kernel"
    kernel.mkdir(parents=True)
    (kernel / "cap_last_cap").write_text(last)
    return str(tmp_path)


# --- capnames -----------------------------------------------------------------------------


def test_capability_table() -> None:
    caps = capnames.CAPABILITIES
    assert len(caps) == 41
    assert len(set(caps)) == 41
    assert caps[0] == "CAP_CHOWN"
    assert caps[5] == "CAP_KILL"
    assert caps[10] == "CAP_NET_BIND_SERVICE"
    assert caps[21] == "CAP_SYS_ADMIN"
    assert caps[29] == "CAP_AUDIT_WRITE"
    assert caps[37] == "CAP_AUDIT_READ"
    assert caps[40] == "CAP_CHECKPOINT_RESTORE"
    assert all(c.startswith("CAP_") and c == c.upper() for c in caps)


def test_cap_number() -> None:
    assert capnames.cap_number("CAP_CHOWN") == 0
    assert capnames.cap_number("CAP_BPF") == 39
    assert capnames.cap_number("CAP_NOPE") is None
    assert capnames.cap_number("cap_chown") is None
    assert capnames.cap_number("CHOWN") is None
    for i, name in enumerate(capnames.CAPABILITIES):
        assert capnames.cap_number(name) == i


def test_last_cap(tmp_path: Path) -> None:
    assert capnames.last_cap(_fake_proc(tmp_path, "37\n")) == 37
    assert capnames.last_cap(str(tmp_path / "missing")) == 40
    assert capnames.last_cap() >= 0


def test_last_cap_garbage(tmp_path: Path) -> None:
    assert capnames.last_cap(_fake_proc(tmp_path, "x")) == 40


# --- features -----------------------------------------------------------------------------


def test_shape() -> None:
    doc = features.features()
    assert list(doc) == [
        "ociVersionMin",
        "ociVersionMax",
        "hooks",
        "mountOptions",
        "linux",
        "annotations",
    ]
    assert doc["ociVersionMin"] == "1.0.0"
    assert doc["ociVersionMax"] == ociruntime.SPEC_VERSION == "1.3.0"
    assert doc["hooks"] == [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ]
    linux = doc["linux"]
    assert list(linux) == [
        "namespaces",
        "capabilities",
        "cgroup",
        "seccomp",
        "apparmor",
        "selinux",
        "intelRdt",
        "mountExtensions",
        "netDevices",
    ]
    assert linux["netDevices"] == {"enabled": True}
    assert linux["namespaces"] == [
        "cgroup",
        "ipc",
        "mount",
        "network",
        "pid",
        "time",
        "user",
        "uts",
    ]
    assert linux["cgroup"] == {
        "v1": True,
        "v2": True,
        "systemd": False,
        "systemdUser": False,
        "rdma": False,
    }
    for key in ("apparmor", "selinux", "intelRdt"):
        assert linux[key] == {"enabled": False}
    # seccomp reports what libseccomp and this kernel really support
    from ociruntime import seccomp

    assert linux["seccomp"] == seccomp.features_seccomp()
    assert linux["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in linux["seccomp"]["actions"]
    assert linux["mountExtensions"] == {"idmap": {"enabled": False}}
    assert "potentiallyUnsafeConfigAnnotations" not in doc


def test_annotations() -> None:
    ann = features.features()["annotations"]
    assert list(ann) == sorted(ann)
    assert ann["io.github.ociruntime.version"] == ociruntime.__version__
    assert isinstance(ann["io.github.ociruntime.commit"], str)
    assert ann["io.github.ociruntime.commit"]


def test_mount_options() -> None:
    opts = features.features()["mountOptions"]
    assert opts == sorted(set(opts))
    for o in (
        "defaults",
        "ro",
        "rw",
        "nosuid",
        "bind",
        "rbind",
        "rprivate",
        "runbindable",
        "rro",
        "rnoatime",
        "ratime",
        "rnosymfollow",
        "nosymfollow",
        "lazytime",
        "silent",
        "loud",
        "tmpcopyup",
    ):
        assert o in opts
    # idmapped mounts are not implemented: not claimed (mountExtensions.idmap is false too)
    assert "idmap" not in opts and "ridmap" not in opts


def test_capabilities_follow_kernel(tmp_path: Path) -> None:
    doc = features.features(_fake_proc(tmp_path, "37"))
    assert doc["linux"]["capabilities"] == list(capnames.CAPABILITIES[:38])
    assert doc["linux"]["capabilities"][-1] == "CAP_AUDIT_READ"
    live = features.features()["linux"]["capabilities"]
    assert live == list(capnames.CAPABILITIES[: capnames.last_cap() + 1])


def test_newer_kernel_caps_are_capped(tmp_path: Path) -> None:
    doc = features.features(_fake_proc(tmp_path, "45"))
    assert doc["linux"]["capabilities"] == list(capnames.CAPABILITIES)


def test_json_format() -> None:
    text = features.features_json()
    assert text.endswith("}\n")
    assert text.startswith('{\n    "ociVersionMin": "1.0.0",\n    "ociVersionMax": "1.3.0",\n')
    assert json.loads(text) == features.features()


@needs_runc
def test_compare_with_runc() -> None:
    proc = subprocess.run([RUNC, "features"], capture_output=True, text=True, check=True)
    ref = json.loads(proc.stdout)
    ours = features.features()
    # Top-level and linux keys: ours follow the same order (runc may have fewer or more).
    assert [k for k in ours if k in ref] == [k for k in ref if k in ours]
    assert [k for k in ours["linux"] if k in ref["linux"]] == [
        k for k in ref["linux"] if k in ours["linux"]
    ]
    assert ours["ociVersionMin"] == ref["ociVersionMin"]
    assert ours["hooks"] == ref["hooks"]
    assert set(ref["linux"]["namespaces"]) <= set(ours["linux"]["namespaces"])
    assert set(ref["mountOptions"]) - RUNC_ONLY_MOUNT_OPTIONS <= set(ours["mountOptions"])
    # runc lists the capabilities both it and the kernel know, in number order.
    n = min(len(ref["linux"]["capabilities"]), len(ours["linux"]["capabilities"]))
    assert ours["linux"]["capabilities"][:n] == ref["linux"]["capabilities"][:n]
    # runc's text layout: 4-space indentation and a trailing newline.
    assert proc.stdout.startswith('{\n    "ociVersionMin"')
    assert proc.stdout.endswith("}\n")
