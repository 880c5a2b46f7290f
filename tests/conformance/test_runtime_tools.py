"""The runtime-tools cross-check: the runtime's acceptance of configs agrees with
runtime-tools' own validation, and configs made by runtime-tools' generator run.

``rtcheck`` (runtime_tools/main.go, built by the session fixture in conftest.py against
Debian's golang-github-opencontainers-runtime-tools-dev) runs runtime-tools' ``validate``
checks on a bundle (all of CheckAll but the JSON-schema step, which fetches the schema over
the network) and its ``generate`` package.

* Each case of CASES edits a base config into one that runtime-tools finds valid or not, on
  a rule the runtime-spec states; the test first checks runtime-tools' verdict (so that the
  case exercises the rule it names), then that the runtime agrees: a valid config is created,
  started and its program runs; an invalid one fails create or start and its program does
  not run.
* runtime-tools 0.9 (Debian 12) predates runtime-spec v1.3: its validator knows the types of
  spec 1.0.2-dev and refuses other versions (RT_LIMITATIONS filters that one finding). Rules
  where it disagrees with v1.3 are not cases (README.md lists them).
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from .harness import PROBE, caps_from_hex, cgroup_dir, host_ns, names

clause = pytest.mark.clause

MiB = 1 << 20

# Findings that say what runtime-tools cannot do, not what is wrong with the config.
RT_LIMITATIONS = [
    # CheckSemVer: the validator only handles configs of its own spec version (1.0.2-dev).
    ("CheckSemVer", "validate currently only handles version"),
]


def rt_validate(rtcheck: Path, bundle: Path) -> dict:
    p = subprocess.run([str(rtcheck), "validate", str(bundle)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"rtcheck validate failed: {p.stderr}"
    rep = json.loads(p.stdout)
    rep["errors"] = [e for e in rep["errors"]
                     if not any(e["check"] == c and m in e["message"]
                                for c, m in RT_LIMITATIONS)]
    return rep


def rt_valid(rep: dict) -> bool:
    return not rep.get("load_error") and not rep["errors"]


def runtime_tools_base(c: dict) -> None:
    """The suite's base config made clean for runtime-tools: it requires ambient
    capabilities to be permitted and inheritable (the kernel does too), and the default
    bundle has no inheritable set."""
    caps = c["process"]["capabilities"]
    caps["inheritable"] = list(caps.get("ambient", []))


# (id, clauses, valid per runtime-tools, edit(config, bundle))
CASES = [
    ("base", ["config.md#valid-values"], True, lambda c, b: None),
    ("devices", ["config-linux.md#devices"], True, lambda c, b: c["linux"].update(devices=[
        {"path": "/dev/conf-rt-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666,
         "uid": 0, "gid": 0}])),
    ("sysctl-in-own-namespaces", ["config-linux.md#sysctl"], True,
     lambda c, b: c["linux"].update(sysctl={"net.ipv4.ip_forward": "1",
                                            "fs.mqueue.msg_max": "20"})),
    ("rlimits", ["config.md#posix-process"], True, lambda c, b: c["process"].update(rlimits=[
        {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}])),
    ("memory", ["config-linux.md#memory"], True, lambda c, b: c["linux"]["resources"].update(
        memory={"limit": 64 * MiB, "reservation": 32 * MiB, "swap": 128 * MiB})),
    ("masked-readonly-absolute", ["config-linux.md#masked-paths",
                                  "config-linux.md#readonly-paths"], True,
     lambda c, b: c["linux"].update(maskedPaths=["/etc/passwd"], readonlyPaths=["/etc"])),
    ("poststop-hook", ["config.md#posix-platform-hooks"], True,
     lambda c, b: c.update(hooks={"poststop": [{"path": "/bin/true", "args": ["true"]}]})),
    ("annotations", ["config.md#annotations"], True,
     lambda c, b: c.update(annotations={"org.example.conformance": "yes"})),
    # invalid
    ("namespace-duplicated", ["config-linux.md#namespaces"], False,
     lambda c, b: c["linux"]["namespaces"].append({"type": "pid"})),
    ("namespace-path-relative", ["config-linux.md#namespaces"], False,
     lambda c, b: c["linux"]["namespaces"].__setitem__(
         slice(None), [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
         + [{"type": "network", "path": "proc/self/ns/net"}])),
    ("mappings-without-user-namespace", ["config-linux.md#user-namespace-mappings"], False,
     lambda c, b: c["linux"].update(
         uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
         gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}])),
    ("hostname-without-uts-namespace", ["config.md#hostname"], False,
     lambda c, b: c["linux"]["namespaces"].__setitem__(
         slice(None), [n for n in c["linux"]["namespaces"] if n["type"] != "uts"])),
    ("sysctl-net-without-network-namespace", ["config-linux.md#sysctl"], False,
     lambda c, b: (c["linux"]["namespaces"].__setitem__(
         slice(None), [n for n in c["linux"]["namespaces"] if n["type"] != "network"]),
         c["linux"].update(sysctl={"net.ipv4.ip_forward": Path(
             "/proc/sys/net/ipv4/ip_forward").read_text().strip()}))),
    ("sysctl-mqueue-without-ipc-namespace", ["config-linux.md#sysctl"], False,
     lambda c, b: (c["linux"]["namespaces"].__setitem__(
         slice(None), [n for n in c["linux"]["namespaces"] if n["type"] != "ipc"]),
         c["linux"].update(sysctl={"fs.mqueue.msg_max": Path(
             "/proc/sys/fs/mqueue/msg_max").read_text().strip()}))),
    ("cwd-relative", ["config.md#process"], False,
     lambda c, b: c["process"].update(cwd="tmp")),
    ("args-empty", ["config.md#process"], False, lambda c, b: c["process"].update(args=[])),
    ("env-without-equals", ["config.md#process"], False,
     lambda c, b: c["process"]["env"].append("NOT_KEY_VALUE")),
    ("rlimit-duplicated", ["config.md#posix-process"], False,
     lambda c, b: c["process"].update(rlimits=[
         {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
         {"type": "RLIMIT_NOFILE", "soft": 128, "hard": 128}])),
    ("effective-not-permitted", ["config.md#linux-process"], False,
     lambda c, b: c["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")),
    ("device-type-invalid", ["config-linux.md#devices"], False,
     lambda c, b: c["linux"].update(devices=[
         {"path": "/dev/conf-bad", "type": "x", "major": 1, "minor": 3}])),
    ("device-path-taken", ["config-linux.md#devices"], False,
     lambda c, b: ((b.rootfs / "conf-existing").write_text("a file"), c["linux"].update(
         devices=[{"path": "/conf-existing", "type": "c", "major": 1, "minor": 3}]))),
    ("device-rule-type-invalid", ["config-linux.md#allowed-device-list"], False,
     lambda c, b: c["linux"]["resources"]["devices"].append(
         {"allow": True, "type": "x", "major": 1, "minor": 3, "access": "rwm"})),
    ("device-rule-access-invalid", ["config-linux.md#allowed-device-list"], False,
     lambda c, b: c["linux"]["resources"]["devices"].append(
         {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwx"})),
    ("memory-swap-below-limit", ["config-linux.md#memory"], False,
     lambda c, b: c["linux"]["resources"].update(
         memory={"limit": 64 * MiB, "swap": 32 * MiB})),
    ("weight-device-without-weights", ["config-linux.md#block-io"], False,
     lambda c, b: c["linux"]["resources"].update(
         blockIO={"weightDevice": [{"major": 8, "minor": 0}]})),
    ("masked-path-relative", ["config-linux.md#masked-paths"], False,
     lambda c, b: c["linux"]["maskedPaths"].append("etc/passwd")),
    ("readonly-path-relative", ["config-linux.md#readonly-paths"], False,
     lambda c, b: c["linux"]["readonlyPaths"].append("etc")),
    ("hook-path-relative", ["config.md#posix-platform-hooks"], False,
     lambda c, b: c.update(hooks={"prestart": [{"path": "bin/true"}]})),
    ("version-not-semver", ["config.md#specification-version"], False,
     lambda c, b: c.update(ociVersion="1.3")),
    ("root-missing", ["config.md#root"], False, lambda c, b: c.pop("root")),
    ("root-path-missing", ["config.md#root"], False,
     lambda c, b: c["root"].update(path="no-such-rootfs")),
    ("mount-type-unknown", ["config.md#mounts"], False, lambda c, b: c["mounts"].append(
        {"destination": "/mnt/x", "type": "conformancefs", "source": "none"})),
]


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=case[0], marks=pytest.mark.clause(*case[1]))
             for case in CASES])
def test_runtime_agrees_with_runtime_tools(oci, rtcheck, case):
    """runtime-tools' validation and the runtime agree on this config."""
    name, _clauses, valid, edit = case
    b = oci.marker_bundle(sleep=None)
    runtime_tools_base(b.config)
    edit(b.config, b)
    b.write()
    rep = rt_validate(rtcheck, b.path)
    assert rt_valid(rep) == valid, \
        f"runtime-tools' verdict on {name!r} is not the one the case is about: {rep}"
    if valid:
        cid = oci.new_id()
        r = oci.create(b, cid)
        assert r.ok, f"runtime-tools finds the config valid, the runtime refused it: {r}"
        s = oci.start(cid)
        assert s.ok, f"runtime-tools finds the config valid, start failed: {s}"
        deadline = time.monotonic() + 10
        while "process" not in names(b.hook_entries()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "process" in names(b.hook_entries()), "the user program did not run"
    else:
        errors = "; ".join(e["message"] for e in rep["errors"]) or rep.get("load_error")
        try:
            oci.expect_error(b)
        except AssertionError as exc:
            raise AssertionError(f"runtime-tools: {errors}; the runtime: {exc}") from None


# ---- generated configs --------------------------------------------------------------------

def generated_bundle(oci, rtcheck, recipe: str, cgroups_path: str | None = None):
    b = oci.bundle()
    cmd = [str(rtcheck), "generate", recipe, str(b.path / "config.json")]
    if cgroups_path:
        cmd.append(cgroups_path)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"rtcheck generate {recipe}: {p.stderr}"
    b.config = json.loads((b.path / "config.json").read_text())
    rep = rt_validate(rtcheck, b.path)
    assert rt_valid(rep), f"runtime-tools rejects its own generated config: {rep}"
    return b


def run_generated(oci, b) -> dict:
    return oci.probe(b)


GENERATED_CAPS = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                  "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                  "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}


@clause("config.md#valid-values", "config.md#process", "config-linux.md#namespaces",
        "config-linux.md#seccomp")
def test_generated_default_config_runs(oci, rtcheck):
    """runtime-tools' default config (generate.New): hostname, the default capabilities,
    rlimit, seccomp profile (its default action is an errno for every syscall it does not
    list) and namespaces are in effect."""
    b = generated_bundle(oci, rtcheck, "default")
    out = run_generated(oci, b)
    assert out["hostname"] == "mrsdalloway"
    assert caps_from_hex(out["status"]["CapBnd"]) == GENERATED_CAPS
    assert out["rlimits"]["RLIMIT_NOFILE"] == {"soft": 1024, "hard": 1024}
    assert out["status"]["Seccomp"] == "2"
    for ns in ("pid", "net", "ipc", "uts", "mnt"):
        assert out["ns"][ns] != host_ns(ns), f"{ns} namespace not new"


@clause("config.md#process", "config.md#posix-platform-user", "config.md#linux-process")
def test_generated_process_config_runs(oci, rtcheck):
    b = generated_bundle(oci, rtcheck, "process")
    out = run_generated(oci, b)
    assert (out["uid"], out["gid"]) == (1000, 1000)
    assert 10 in out["groups"]
    assert out["umask"] == 0o027
    assert out["cwd"] == "/tmp"
    assert "GENERATED_BY=runtime-tools" in out["env"]
    assert out["rlimits"]["RLIMIT_NOFILE"] == {"soft": 256, "hard": 512}
    assert out["no_new_privs"] == 1
    assert out["oom_score_adj"] == "300"


@clause("config.md#hostname", "config-linux.md#sysctl", "config-linux.md#masked-paths",
        "config-linux.md#readonly-paths", "config-linux.md#devices",
        "config-linux.md#namespaces")
def test_generated_linux_config_runs(oci, rtcheck):
    b = generated_bundle(oci, rtcheck, "linux")
    b.config["process"]["args"] = [
        PROBE, "all", "--sysctl", "net.ipv4.ip_forward", "--read", "/etc/conformance-masked",
        "--write", "/etc/conformance-ro", "--stat", "/dev/generated-null"]
    b.write()
    (b.rootfs / "etc" / "conformance-masked").write_text("secret")
    (b.rootfs / "etc" / "conformance-ro").mkdir()
    out = run_generated(oci, b)
    assert out["hostname"] == "generated"
    assert out["sysctl"]["net.ipv4.ip_forward"] == "1"
    masked = out["read"]["/etc/conformance-masked"]
    assert masked["errno"] != 0 or masked["size"] == 0, masked
    assert out["write"]["/etc/conformance-ro"]["error"] == "EROFS"
    st = out["stat"]["/dev/generated-null"]
    assert (st.get("type"), st.get("major"), st.get("minor"), st.get("mode")) == \
        ("char", 1, 3, 0o640), st
    assert out["ns"]["cgroup"] != host_ns("cgroup")


@clause("config-linux.md#memory", "config-linux.md#cpu", "config-linux.md#pids")
def test_generated_resources_config_runs(oci, rtcheck):
    b = generated_bundle(oci, rtcheck, "resources",
                         cgroups_path=oci.cgroup_path(uuid.uuid4().hex[:12]))
    _cid, pid = oci.created(b)
    want = {("memory", "memory.limit_in_bytes"): str(64 * MiB),
            ("memory", "memory.soft_limit_in_bytes"): str(32 * MiB),
            ("cpu", "cpu.shares"): "512", ("cpu", "cpu.cfs_quota_us"): "50000",
            ("cpu", "cpu.cfs_period_us"): "100000", ("pids", "pids.max"): "42"}
    got = {}
    for (ctl, f) in want:
        d = cgroup_dir(pid, ctl)
        got[(ctl, f)] = (d / f).read_text().strip() if d is not None else None
    assert got == {k: v for k, v in want.items() if got[k] is not None}


@clause("config.md#linux-process")
def test_generated_capabilities_config_runs(oci, rtcheck):
    """generate's AddProcessCapability puts a capability in all five sets."""
    b = generated_bundle(oci, rtcheck, "capabilities")
    out = run_generated(oci, b)
    want = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
    for s in ("Bnd", "Eff", "Prm", "Inh", "Amb"):
        assert caps_from_hex(out["status"][f"Cap{s}"]) == want, s
