"""``ociruntime.seccomp``: compiling profiles (checked with the BPF interpreter), the cache,
flags, errors, features and the agent hand-over. Nothing here loads a filter; the kernel
side is tests/integration/test_seccomp.py."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ociruntime import seccomp as S
from ociruntime import seccomp_notify as N
from ociruntime.errors import ConfigError

pyseccomp = pytest.importorskip("pyseccomp")

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "seccomp"

X86_64 = S.AUDIT_ARCH_X86_64
I386 = S.AUDIT_ARCH_I386
X32_BIT = 0x40000000


def _flatten_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seccomp_flatten", FIXTURES / "flatten.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fixture(name: str) -> dict[str, Any]:
    with open(FIXTURES / f"{name}.oci.json") as f:
        data: dict[str, Any] = json.load(f)
    return data


def nr_of(name: str, arch: int = X86_64) -> int:
    token = S.ARCHS["SCMP_ARCH_X32"] if arch == -1 else arch
    nr = pyseccomp.resolve_syscall(S._s32(token), name)
    assert nr >= 0, name
    return int(nr)


class Verdicts:
    """Ask a compiled filter what it answers, by syscall name or number."""

    def __init__(self, compiled: S.CompiledFilter) -> None:
        self.c = compiled

    def __call__(self, syscall: str | int, *args: int, arch: int = X86_64) -> str:
        nr = nr_of(syscall, arch) if isinstance(syscall, str) else syscall
        return S.action_name(S.evaluate(self.c.bpf, nr, args, arch=arch))


def compile_ok(cfg: dict[str, Any]) -> Verdicts:
    c = S.compile_filter(cfg)
    assert c is not None
    assert len(c.bpf) % 8 == 0 and c.bpf
    return Verdicts(c)


def profile(default: str = "SCMP_ACT_ALLOW", syscalls: list[dict[str, Any]] | None = None,
            **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"defaultAction": default, "syscalls": syscalls or []}
    cfg.update(extra)
    return cfg


# --- the engines' default profiles ------------------------------------------------------


def test_fixtures_are_flattened_from_the_engine_profiles() -> None:
    flatten = _flatten_module()
    for name, doc in flatten.generated().items():
        with open(FIXTURES / name) as f:
            assert json.load(f) == doc, f"{name} is stale: run {FIXTURES / 'flatten.py'}"


def test_engine_profiles_have_the_real_shape() -> None:
    flatten = _flatten_module()
    for name in ("docker-default", "podman-default"):
        raw = flatten.load_profile(name)
        assert raw["defaultAction"] == "SCMP_ACT_ERRNO"
        assert any(m["architecture"] == "SCMP_ARCH_X86_64" for m in raw["archMap"])
        names = {n for call in raw["syscalls"] for n in call["names"]}
        assert len(names) > 300
        assert any((c.get("includes") or {}).get("caps") for c in raw["syscalls"])
        assert any((c.get("excludes") or {}).get("caps") for c in raw["syscalls"])
    docker = fixture("docker-default")
    assert docker["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    # CAP_SYS_ADMIN is not a default capability: its rules were flattened away
    assert not any("mount" in c["names"] and c["action"] == "SCMP_ACT_ALLOW"
                   for c in docker["syscalls"])


def test_docker_default_profile() -> None:
    v = compile_ok(fixture("docker-default"))
    assert v.c.flags == 0 and not v.c.notify
    for name in ("read", "write", "execve", "openat", "getpid", "capset",
                 "arch_prctl", "rt_sigaction", "exit_group", "setresuid"):
        assert v(name) == "ALLOW", name
    for name in ("reboot", "mount", "umount2", "unshare", "setns", "pivot_root", "kexec_load",
                 "init_module", "bpf", "kcmp", "acct", "swapon"):
        assert v(name) == "ERRNO(1)", name
    assert v("chroot") == "ALLOW"  # CAP_SYS_CHROOT is a default capability
    # argument filters
    assert v("personality", 0xFFFFFFFF) == "ALLOW"
    assert v("personality", 0) == "ALLOW"
    assert v("personality", 8) == "ALLOW"
    assert v("personality", 0x1234) == "ERRNO(1)"
    assert v("personality", 0x1_0000_0000) == "ERRNO(1)"  # 64-bit compare, not 32
    assert v("clone", 0x01200011) == "ALLOW"  # fork()-style flags
    assert v("clone", 0x10000000) == "ERRNO(1)"  # CLONE_NEWUSER
    assert v("clone", 0x20000000 | 17) == "ERRNO(1)"  # CLONE_NEWPID
    assert v("clone3") == "ERRNO(38)"  # errnoRet
    assert v("socket", 40) == "ERRNO(1)"  # AF_VSOCK
    assert v("socket", 2, 1) == "ALLOW"
    # newer than anything in the profile: ENOSYS (runc's stub), on every listed arch
    assert v(1000) == "ERRNO(38)"
    assert v(1000, arch=I386) == "ERRNO(38)"
    assert v(X32_BIT | 1000) == "ERRNO(38)"
    # the sub-architectures are in the filter
    assert v("read", arch=I386) == "ALLOW"
    assert v("socketcall", arch=I386) == "ALLOW"
    assert v("reboot", arch=I386) == "ERRNO(1)"
    assert v(X32_BIT | 0) == "ALLOW"  # x32 read
    # an architecture not listed: libseccomp's bad-arch action
    assert v(0, arch=S.ARCHS["SCMP_ARCH_AARCH64"]) == "KILL_THREAD"


def test_podman_default_profile() -> None:
    v = compile_ok(fixture("podman-default"))
    assert v("read") == "ALLOW"
    # known but refused: EPERM spelled out; everything else ENOSYS (the default)
    for name in ("reboot", "mount", "unshare", "kexec_load", "userfaultfd", "swapoff"):
        assert v(name) == "ERRNO(1)", name
    assert v("personality", 0x1234) == "ERRNO(38)"
    assert v(1000) == "ERRNO(38)"
    assert v("clone3") == "ERRNO(38)"
    # socket(AF_NETLINK, *, NETLINK_AUDIT): both conditions of one rule must match (AND)
    assert v("socket", 16, 3, 9) == "ERRNO(22)"
    assert v("socket", 16, 3, 0) == "ALLOW"
    assert v("socket", 2, 1, 9) == "ALLOW"
    assert v("socket", 2, 1, 0) == "ALLOW"


# --- rules -------------------------------------------------------------------------------


def test_disabled_sections() -> None:
    assert S.compile_filter(None) is None
    assert S.compile_filter({}) is None
    assert S.compile_filter({"defaultAction": "", "syscalls": []}) is None
    assert not S.enabled({"architectures": ["SCMP_ARCH_X86_64"]})
    with pytest.raises(ConfigError, match="string  is not a valid action for seccomp"):
        S.compile_filter({"defaultAction": "", "syscalls": [{"names": ["read"],
                                                              "action": "SCMP_ACT_ALLOW"}]})


def test_unknown_syscall_names_are_ignored() -> None:
    v = compile_ok(profile("SCMP_ACT_ERRNO", [
        {"names": ["no_such_syscall_at_all", "openat", "another_fake_one"],
         "action": "SCMP_ACT_ALLOW"},
    ], architectures=["SCMP_ARCH_X86_64"]))
    assert v("openat") == "ALLOW"
    assert v("read") == "ERRNO(1)"
    # the stub's limit comes from the names libseccomp knows: openat (257)
    assert v(257) == "ALLOW" and v(258) == "ERRNO(38)"


def test_only_unknown_names() -> None:
    v = compile_ok(profile("SCMP_ACT_ERRNO", [
        {"names": ["no_such_syscall_at_all"], "action": "SCMP_ACT_ALLOW"}]))
    assert v("read") == "ERRNO(1)"


def test_errno_ret() -> None:
    v = compile_ok(profile("SCMP_ACT_ERRNO", [
        {"names": ["read", "write", "close"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EROFS},
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["unlink"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
        {"names": ["chmod"], "action": "SCMP_ACT_TRACE", "errnoRet": 77},
        {"names": ["chown"], "action": "SCMP_ACT_TRACE"},
    ], defaultErrnoRet=errno.EACCES))
    assert v("mkdir") == f"ERRNO({errno.EROFS})"
    assert v("rmdir") == "ERRNO(1)"  # EPERM when errnoRet is not given
    assert v("unlink") == "ERRNO(0)"  # an explicit 0 is kept (runc: pointer, not zero value)
    assert v("chmod") == "TRACE(77)"
    assert v("chown") == "TRACE(1)"
    assert v("getpid") == f"ERRNO({errno.EACCES})"  # defaultErrnoRet


def test_default_trace_errno() -> None:
    v = compile_ok(profile("SCMP_ACT_TRACE", [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}],
                           defaultErrnoRet=5))
    assert v("getpid") == "TRACE(5)"


@pytest.mark.parametrize(
    ("op", "value", "value_two", "true_for", "false_for"),
    [
        ("SCMP_CMP_EQ", 8, 0, [8], [0, 9, 8 | 1 << 32]),
        ("SCMP_CMP_NE", 8, 0, [0, 9, 8 | 1 << 32], [8]),
        ("SCMP_CMP_LT", 8, 0, [0, 7], [8, 9, 1 << 40]),
        ("SCMP_CMP_LE", 8, 0, [0, 8], [9, 1 << 33]),
        ("SCMP_CMP_GT", 8, 0, [9, 1 << 32, 2**64 - 1], [0, 8]),
        ("SCMP_CMP_GE", 8, 0, [8, 1 << 32], [0, 7]),
        ("SCMP_CMP_GT", 1 << 35, 0, [(1 << 35) + 1, 1 << 36], [1 << 35, 5]),
        ("SCMP_CMP_EQ", 0xFFFF_FFFF_0000_0001, 0, [0xFFFF_FFFF_0000_0001], [1, 0xFFFF_FFFF]),
        ("SCMP_CMP_MASKED_EQ", 0x7E020000, 0, [0, 17, 0x01200011], [0x10000000, 0x00020000]),
        ("SCMP_CMP_MASKED_EQ", 0xF0, 0x30, [0x30, 0x3F, 0x131], [0x20, 0xF0, 0]),
    ],
)
def test_arg_operators(op: str, value: int, value_two: int, true_for: list[int],
                       false_for: list[int]) -> None:
    v = compile_ok(profile("SCMP_ACT_ALLOW", [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33,
         "args": [{"index": 0, "value": value, "valueTwo": value_two, "op": op}]},
    ]))
    for arg in true_for:
        assert v("personality", arg) == "ERRNO(33)", hex(arg)
    for arg in false_for:
        assert v("personality", arg) == "ALLOW", hex(arg)


def test_conditions_on_different_arguments_are_anded() -> None:
    """CVE-2017-18367: one rule, several args: all must match."""
    v = compile_ok(profile("SCMP_ACT_ALLOW", [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"},
                  {"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]},
    ]))
    assert v("socket", 1, 2, 0) == "ERRNO(13)"
    assert v("socket", 1, 2, 1) == "ALLOW"
    assert v("socket", 1, 1, 0) == "ALLOW"
    assert v("socket", 2, 2, 0) == "ALLOW"


def test_conditions_on_the_same_argument_are_separate_rules() -> None:
    """runc: two conditions on one index become one rule each (ORed)."""
    v = compile_ok(profile("SCMP_ACT_ALLOW", [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 0x20008, "op": "SCMP_CMP_EQ"}]},
    ]))
    assert v("personality", 8) == "ERRNO(1)"
    assert v("personality", 0x20008) == "ERRNO(1)"
    assert v("personality", 0) == "ALLOW"


@pytest.mark.parametrize(
    ("action", "verdict"),
    [
        ("SCMP_ACT_KILL", "KILL_THREAD"),
        ("SCMP_ACT_KILL_THREAD", "KILL_THREAD"),
        ("SCMP_ACT_KILL_PROCESS", "KILL_PROCESS"),
        ("SCMP_ACT_TRAP", "TRAP"),
        ("SCMP_ACT_ERRNO", "ERRNO(1)"),
        ("SCMP_ACT_TRACE", "TRACE(1)"),
        ("SCMP_ACT_LOG", "LOG"),
        ("SCMP_ACT_ALLOW", "ALLOW"),
    ],
)
def test_actions(action: str, verdict: str) -> None:
    default = "SCMP_ACT_ERRNO" if action == "SCMP_ACT_ALLOW" else "SCMP_ACT_ALLOW"
    v = compile_ok(profile(default, [{"names": ["getppid"], "action": action}]))
    assert v("getppid") == verdict
    assert v("getpid") == ("ERRNO(1)" if default == "SCMP_ACT_ERRNO" else "ALLOW")
    d = compile_ok(profile(action, [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                                     "errnoRet": 99}]))
    assert d("getppid") == verdict
    assert d("getpid") == "ERRNO(99)"


def test_rule_with_the_default_action_is_skipped() -> None:
    v = compile_ok(profile("SCMP_ACT_ERRNO", [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},  # == default: libseccomp refuses
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    ]))
    assert v("getpid") == "ERRNO(1)"
    assert v("read") == "ALLOW"


def test_notify() -> None:
    v = compile_ok(profile("SCMP_ACT_ALLOW", [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
        listenerPath="/run/agent.sock", listenerMetadata="hello"))
    assert v.c.notify
    assert v.c.flags == S.FLAG_NEW_LISTENER
    assert v("mkdir") == "NOTIFY"
    assert v("rmdir") == "ALLOW"


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (profile("SCMP_ACT_NOTIFY", listenerPath="/x"),
         "SCMP_ACT_NOTIFY cannot be used as default action"),
        (profile("SCMP_ACT_ALLOW", [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}],
                 listenerPath="/x"), "SCMP_ACT_NOTIFY cannot be used for the write syscall"),
        (profile("SCMP_ACT_ALLOW", [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]),
         "listenerPath is not set"),
        (profile("SCMP_ACT_NOPE"), "string SCMP_ACT_NOPE is not a valid action for seccomp"),
        (profile(architectures=["SCMP_ARCH_VAX"]),
         "string SCMP_ARCH_VAX is not a valid arch for seccomp"),
        (profile(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]),
         "string SCMP_CMP_ABOUT is not a valid operator for seccomp"),
        (profile(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                            "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]),
         "argument index 6 out of range"),
        (profile(syscalls=[{"names": [], "action": "SCMP_ACT_ERRNO"}]),
         "names must contain at least one entry"),
        (profile(flags=["SECCOMP_FILTER_FLAG_BOGUS"]), "is not known"),
    ],
)
def test_invalid_profiles(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        S.compile_filter(cfg)
    assert message in str(info.value)
    assert info.value.field and info.value.field.startswith("linux.seccomp")


def test_unsupported_architecture_is_an_error() -> None:
    if "SCMP_ARCH_LOONGARCH64" in S.features_seccomp().get("archs", []):
        pytest.skip("this libseccomp knows loongarch64")
    with pytest.raises(S.SeccompError, match="error adding architecture to seccomp filter"):
        S.compile_filter(profile(architectures=["SCMP_ARCH_LOONGARCH64"]))


# --- flags ---------------------------------------------------------------------------------


def test_flags() -> None:
    base = [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]
    notify = [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]

    def flags(syscalls: list[dict[str, Any]], **extra: Any) -> int:
        c = S.compile_filter(profile("SCMP_ACT_ALLOW", syscalls, **extra))
        assert c is not None
        return c.flags

    assert flags(base) == 0  # no flags key: runc 1.1.5 sets none
    assert flags(base, flags=[]) == 0
    assert flags(base, flags=["SECCOMP_FILTER_FLAG_LOG"]) == S.FLAG_LOG
    assert flags(base, flags=["SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG",
                              "SECCOMP_FILTER_FLAG_TSYNC"]) == (
        S.FLAG_SPEC_ALLOW | S.FLAG_LOG | S.FLAG_TSYNC)
    # WAIT_KILLABLE_RECV only means something with a listener
    assert flags(base, flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]) == 0
    assert flags(notify, flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                 listenerPath="/x") == S.FLAG_NEW_LISTENER | S.FLAG_WAIT_KILLABLE_RECV
    # TSYNC with a listener needs TSYNC_ESRCH
    assert flags(notify, flags=["SECCOMP_FILTER_FLAG_TSYNC"], listenerPath="/x") == (
        S.FLAG_TSYNC | S.FLAG_NEW_LISTENER | S.FLAG_TSYNC_ESRCH)


def test_unsupported_flag_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(S.L, "seccomp_flag_supported", lambda bits: bits != S.FLAG_LOG)
    with pytest.raises(S.SeccompError, match="SECCOMP_FILTER_FLAG_LOG is not supported"):
        S.compile_filter(profile(flags=["SECCOMP_FILTER_FLAG_LOG"]))


# --- the -ENOSYS stub ----------------------------------------------------------------------


def test_enosys_stub_only_where_runc_adds_it() -> None:
    calls = [{"names": ["read", "write", "openat"], "action": "SCMP_ACT_ALLOW"}]
    archs = {"architectures": ["SCMP_ARCH_X86_64"]}
    v = compile_ok(profile("SCMP_ACT_ERRNO", calls, **archs))
    assert v(257) == "ALLOW" and v(200) == "ERRNO(1)" and v(258) == "ERRNO(38)"
    assert v(0x3FFF_FFFF) == "ERRNO(38)"
    assert v(X32_BIT | 500) == "KILL_THREAD"  # x32 not listed: the filter's bad-arch action
    # kill and trap defaults get it too
    assert compile_ok(profile("SCMP_ACT_KILL_PROCESS", calls, **archs))(300) == "ERRNO(38)"
    assert compile_ok(profile("SCMP_ACT_TRAP", calls, **archs))(200) == "TRAP"
    # permissive defaults do not
    for default in ("SCMP_ACT_LOG", "SCMP_ACT_TRACE"):
        assert compile_ok(profile(default, [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}],
                                  **archs))(300).split("(")[0] == default[9:]
    # no architectures listed: runc patches nothing
    assert compile_ok(profile("SCMP_ACT_ERRNO", calls))(300) == "ERRNO(1)"
    # default already ENOSYS: no stub needed, same answer
    c = S.compile_filter(profile("SCMP_ACT_ERRNO", calls, defaultErrnoRet=38, **archs))
    assert c is not None
    plain = S.compile_filter(profile("SCMP_ACT_ERRNO", calls, defaultErrnoRet=38))
    assert plain is not None and c.bpf == plain.bpf
    assert Verdicts(c)(300) == "ERRNO(38)"


def test_enosys_stub_per_architecture() -> None:
    v = compile_ok(profile("SCMP_ACT_ERRNO", [
        {"names": ["read", "openat", "socketcall"], "action": "SCMP_ACT_ALLOW"}],
        architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]))
    assert v(258) == "ERRNO(38)" and v(200) == "ERRNO(1)"
    # i386: openat is 295, socketcall 102
    assert v(295, arch=I386) == "ALLOW" and v(296, arch=I386) == "ERRNO(38)"
    assert v(102, arch=I386) == "ALLOW" and v(200, arch=I386) == "ERRNO(1)"
    # x32 numbers carry the x32 bit
    assert v(X32_BIT | 257) == "ALLOW"
    assert v(X32_BIT | 258) == "ERRNO(38)"
    assert v(X32_BIT | 200) == "ERRNO(1)"


def test_enosys_stub_program() -> None:
    limits = {X86_64: {"SCMP_ARCH_X86_64": 300, "SCMP_ARCH_X32": X32_BIT | 500},
              I386: {"SCMP_ARCH_X86": 400},
              S.ARCHS["SCMP_ARCH_S390X"]: {"SCMP_ARCH_S390X": 450}}
    marker = S.SECCOMP_RET_ERRNO | 99
    prog = S.enosys_stub(limits) + S._INSN.pack(0x06, 0, 0, marker)  # "the filter"
    enosys = S.SECCOMP_RET_ERRNO | errno.ENOSYS

    def ev(nr: int, arch: int) -> int:
        return S.evaluate(prog, nr, arch=arch)

    assert ev(300, X86_64) == marker and ev(301, X86_64) == enosys
    assert ev(X32_BIT | 500, X86_64) == marker and ev(X32_BIT | 501, X86_64) == enosys
    assert ev(400, I386) == marker and ev(401, I386) == enosys
    s390x = S.ARCHS["SCMP_ARCH_S390X"]
    assert ev(0, s390x) == enosys and ev(1, s390x) == marker and ev(451, s390x) == enosys
    assert ev(10_000, S.ARCHS["SCMP_ARCH_AARCH64"]) == marker
    assert S.enosys_stub({}) == b""
    only_x32 = S.enosys_stub({X86_64: {"SCMP_ARCH_X32": X32_BIT | 10}}) + S._INSN.pack(
        0x06, 0, 0, marker)
    assert S.evaluate(only_x32, 5000) == marker  # x86_64 call: not this section
    assert S.evaluate(only_x32, X32_BIT | 11) == enosys


# --- the interpreter -----------------------------------------------------------------------


def test_evaluate_basic_programs() -> None:
    ins = S._INSN.pack
    # A = nr; A &= 0xf; X = A; A = arch-word; if A == X goto ret 1 else ret 2
    prog = (ins(0x20, 0, 0, 0) + ins(0x54, 0, 0, 0xF) + ins(0x07, 0, 0, 0) + ins(0x20, 0, 0, 16)
            + ins(0x1D, 0, 1, 0) + ins(0x06, 0, 0, 1) + ins(0x06, 0, 0, 2))
    assert S.evaluate(prog, 0x13, args=[3]) == 1
    assert S.evaluate(prog, 0x13, args=[4]) == 2
    with pytest.raises(ValueError):
        S.evaluate(ins(0x20, 0, 0, 0), 1)  # no return


# --- the cache -----------------------------------------------------------------------------


def test_cache_round_trip(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cfg = fixture("docker-default")
    first = S.compile_filter(cfg, str(cache))
    files = list(cache.iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert S.compile_filter(cfg, str(cache)) == first
    # a different profile is a different entry
    other = dict(cfg, defaultErrnoRet=13)
    second = S.compile_filter(other, str(cache))
    assert second is not None and first is not None and second.bpf != first.bpf
    assert len(list(cache.iterdir())) == 2
    # dict key order does not matter, list order does
    assert S.cache_key(dict(reversed(list(cfg.items())))) == S.cache_key(cfg)


def test_cache_hit_does_not_import_pyseccomp(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cfg_path = FIXTURES / "docker-default.oci.json"
    code = (
        "import json, sys\n"
        "from ociruntime import seccomp\n"
        f"cfg = json.load(open({str(cfg_path)!r}))\n"
        f"c = seccomp.compile_filter(cfg, {str(cache)!r})\n"
        "print(json.dumps({'pyseccomp': 'pyseccomp' in sys.modules, 'n': len(c.bpf)}))\n"
    )
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(2)]
    assert runs[0]["pyseccomp"] is True  # miss: compiled
    assert runs[1] == {"pyseccomp": False, "n": runs[0]["n"]}  # hit: not even imported


def test_cache_ignores_foreign_or_broken_entries(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cfg = profile("SCMP_ACT_ERRNO", [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}])
    good = S.compile_filter(cfg, str(cache))
    assert good is not None
    (entry,) = cache.iterdir()
    # a permissive program planted in a group-writable entry must not be loaded
    planted = S._CACHE_HEADER.pack(S._CACHE_MAGIC, 0, 0) + S._INSN.pack(
        0x06, 0, 0, S.SECCOMP_RET_ALLOW)
    entry.write_bytes(planted)
    entry.chmod(0o620)
    assert S.compile_filter(cfg, str(cache)) == good
    # garbage is recompiled and replaced
    entry.write_bytes(b"not a filter")
    entry.chmod(0o600)
    assert S.compile_filter(cfg, str(cache)) == good
    assert entry.read_bytes().endswith(good.bpf)
    # a cache directory others can write to is not used at all
    cache.chmod(0o777)
    entry.write_bytes(planted)
    entry.chmod(0o600)
    assert S.compile_filter(cfg, str(cache)) == good
    assert entry.read_bytes() == planted  # and not written either


def test_cache_eviction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(S, "CACHE_MAX_ENTRIES", 3)
    cache = tmp_path / "cache"
    for i in range(6):
        S.compile_filter(profile("SCMP_ACT_ERRNO", [{"names": ["read"], "action":
                                                      "SCMP_ACT_ALLOW"}], defaultErrnoRet=i + 1),
                         str(cache))
    assert len(list(cache.iterdir())) == 3


# --- features --------------------------------------------------------------------------


def test_features_seccomp() -> None:
    f = S.features_seccomp()
    assert list(f) == ["enabled", "actions", "operators", "archs", "knownFlags",
                       "supportedFlags"]
    assert f["enabled"] is True
    assert f["operators"] == sorted(S.OPERATORS)
    assert set(f["actions"]) <= set(S.ACTIONS) and f["actions"] == sorted(f["actions"])
    for must in ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"):
        assert must in f["actions"]
    assert "SCMP_ARCH_X86_64" in f["archs"] and "SCMP_ARCH_X86" in f["archs"]
    assert set(f["archs"]) <= set(S.ARCHS)
    assert f["knownFlags"] == list(S.KNOWN_FLAGS)
    assert set(f["supportedFlags"]) <= set(f["knownFlags"])


def test_features_seccomp_without_libseccomp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(S.L, "libseccomp_version", lambda: None)
    assert S.features_seccomp() == {"enabled": False}


# --- the agent hand-over ----------------------------------------------------------------


def test_container_process_state() -> None:
    state = {"ociVersion": "1.2.0", "id": "c1", "status": "creating", "pid": 42,
             "bundle": "/b", "annotations": {"a": "b"}}
    doc = S.container_process_state(state, 42, "meta")
    assert doc == {"ociVersion": "1.2.0", "fds": ["seccompFd"], "pid": 42, "metadata": "meta",
                   "state": state}
    assert "metadata" not in S.container_process_state(state, 42, "")


def test_send_listener_without_agent(tmp_path: Path) -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(S.SeccompError) as info:
            S.send_listener(str(tmp_path / "nobody.sock"), r, {"ociVersion": "1"})
    finally:
        os.close(r)
        os.close(w)
    assert str(info.value) == (
        "failed to connect with seccomp agent specified in the seccomp profile: dial unix "
        f"{tmp_path / 'nobody.sock'}: connect: no such file or directory")


def test_send_listener_to_an_agent(tmp_path: Path) -> None:
    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got: dict[str, Any] = {}

    def agent() -> None:
        conn, _ = srv.accept()
        with conn:
            fd, state = N.receive_listener(conn)
        got["state"] = state
        got["data"] = os.read(fd, 100)
        os.close(fd)

    t = threading.Thread(target=agent)
    t.start()
    r, w = os.pipe()
    try:
        big = {"x" * 10: "y" * 300_000}  # bigger than one socket buffer
        doc = S.container_process_state({"id": "c", "annotations": big}, 7, "m")
        S.send_listener(path, r, doc)
        os.write(w, b"through the fd")
    finally:
        os.close(r)
        os.close(w)
        t.join(10)
        srv.close()
    assert got["state"] == doc
    assert got["data"] == b"through the fd"


def test_load_errors_use_runc_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_bpf: bytes, _flags: int) -> int:
        raise OSError(errno.EACCES, "seccomp: Permission denied")

    monkeypatch.setattr(S.L, "seccomp_set_mode_filter", fail)
    with pytest.raises(S.SeccompError, match="^error loading seccomp filter into kernel: error "
                       "loading seccomp filter: permission denied$"):
        S.load(b"\0" * 8, 0)
