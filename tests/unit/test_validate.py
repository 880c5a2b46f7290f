"""Tests of the semantic config validation (``ociruntime.validate``)."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ociruntime import validate as v
from ociruntime.errors import ConfigError, InvalidIDError
from ociruntime.validate import HostInfo, validate_config, validate_id

Mutator = Callable[[dict[str, Any]], None]

BASE_CONFIG: dict[str, Any] = {
    "ociVersion": "1.2.0",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0, "additionalGids": [10]},
        "args": ["sh"],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "EMPTY="],
        "cwd": "/",
        "capabilities": {
            "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "runc",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]},
    ],
    "linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [
            {"type": "pid"},
            {"type": "network"},
            {"type": "ipc"},
            {"type": "uts"},
            {"type": "mount"},
            {"type": "cgroup"},
        ],
        "maskedPaths": ["/proc/kcore", "/sys/firmware"],
        "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
    },
}

USERNS_MAPS = {
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A bundle directory with an empty ``rootfs``."""
    (tmp_path / "rootfs").mkdir()
    return tmp_path


@pytest.fixture
def host(tmp_path: Path) -> HostInfo:
    """A host with every namespace, 41 capabilities, no SELinux, RDT with CAT and MBA.

    The runtime's own network namespace is the file ``hostnet`` in ``tmp_path``.
    """
    netns = tmp_path / "hostnet"
    netns.touch()
    st = netns.stat()
    return HostInfo(
        namespaces=frozenset(v.NAMESPACE_PROC_NAMES.values()),
        cap_last_cap=40,
        selinux_enabled=False,
        resctrl=frozenset({"L3", "MB", "last_cmd_status"}),
        host_netns=(st.st_dev, st.st_ino),
    )


@pytest.fixture
def config() -> dict[str, Any]:
    """A fresh copy of the busybox-like base config."""
    return copy.deepcopy(BASE_CONFIG)


def run(config: dict[str, Any], bundle: Path, host: HostInfo, **kw: Any) -> list[str]:
    return validate_config(config, str(bundle), host=host, **kw)


# --- mutators -------------------------------------------------------------------------------


def _walk(config: dict[str, Any], path: str) -> tuple[Any, str | int]:
    keys: list[str | int] = [int(k) if k.isdigit() else k for k in path.split(".")]
    node: Any = config
    for k in keys[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(k, {})
        else:
            node = node[k]
    return node, keys[-1]


def set_(path: str, value: Any) -> Mutator:
    """Set a dotted path (numeric parts index lists)."""

    def mutate(config: dict[str, Any]) -> None:
        node, key = _walk(config, path)
        node[key] = copy.deepcopy(value)

    return mutate


def del_(path: str) -> Mutator:
    """Delete a dotted path."""

    def mutate(config: dict[str, Any]) -> None:
        node, key = _walk(config, path)
        del node[key]

    return mutate


def no_ns(*types: str) -> Mutator:
    """Drop namespaces of these types."""

    def mutate(config: dict[str, Any]) -> None:
        nss = config["linux"]["namespaces"]
        config["linux"]["namespaces"] = [n for n in nss if n["type"] not in types]

    return mutate


def add_ns(ns_type: str, path: str | None = None) -> Mutator:
    """Append a namespace entry (after removing one of the same type)."""

    def mutate(config: dict[str, Any]) -> None:
        no_ns(ns_type)(config)
        entry = {"type": ns_type} | ({"path": path} if path is not None else {})
        config["linux"]["namespaces"].append(entry)

    return mutate


def userns(config: dict[str, Any]) -> None:
    """Give the container a new user namespace with a 65536-id mapping."""
    add_ns("user")(config)
    config["linux"].update(copy.deepcopy(USERNS_MAPS))


def chain(*mutators: Mutator) -> Mutator:
    def mutate(config: dict[str, Any]) -> None:
        for m in mutators:
            m(config)

    return mutate


# --- the base config ------------------------------------------------------------------------


def test_base_config_is_valid(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    assert run(config, bundle, host) == []


def test_checks_are_documented_and_listed() -> None:
    names = [c.__name__ for c in v.CHECKS]
    assert len(names) == len(set(names))
    for check in v.CHECKS:
        assert check.__name__.startswith("check_")
        assert check.__doc__ and check.__doc__.strip()


def test_error_message_names_field(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["process"]["cwd"] = "relative"
    with pytest.raises(ConfigError) as ei:
        run(config, bundle, host)
    assert ei.value.field == "process.cwd"
    assert str(ei.value) == "process.cwd: cwd must be an absolute path"


def test_non_dict_config_rejected(bundle: Path, host: HostInfo) -> None:
    with pytest.raises(ConfigError):
        validate_config([], str(bundle), host=host)  # type: ignore[arg-type]


# --- container id ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cid", ["a", "abc-123", "A_b.c", "x+y", "comma,ok", "...", "..a", "a..", "0" * 1024]
)
def test_validate_id_ok(cid: str) -> None:
    validate_id(cid)


@pytest.mark.parametrize(
    "cid", [".", "..", "a/b", "/abs", "sp ace", "tab\t", "nl\n", "a\nb", "é", "ü1", "a*", "a:b"]
)
def test_validate_id_invalid(cid: str) -> None:
    with pytest.raises(InvalidIDError, match="invalid container ID format"):
        validate_id(cid)


def test_validate_id_trailing_newline_invalid() -> None:
    with pytest.raises(InvalidIDError):
        validate_id("abc\n")


def test_validate_id_empty() -> None:
    with pytest.raises(InvalidIDError, match="container id cannot be empty") as ei:
        validate_id("")
    assert isinstance(ei.value, v.EmptyIDError)


# --- one failing case (at least) per check --------------------------------------------------

FAILING: list[tuple[str, Mutator, str, str]] = [
    # (id, mutator, field, substring of the message)
    ("version-2", set_("ociVersion", "2.0.0"), "ociVersion", "unsupported spec version"),
    ("version-0", set_("ociVersion", "0.5.0-dev"), "ociVersion", "unsupported spec version"),
    ("version-garbage", set_("ociVersion", "latest"), "ociVersion", "invalid spec version"),
    ("no-process", del_("process"), "process", "process property must not be empty"),
    ("cwd-empty", set_("process.cwd", ""), "process.cwd", "cwd property must not be empty"),
    ("cwd-missing", del_("process.cwd"), "process.cwd", "cwd property must not be empty"),
    ("cwd-relative", set_("process.cwd", "tmp"), "process.cwd", "cwd must be an absolute path"),
    ("cwd-nul", set_("process.cwd", "/a\x00b"), "process.cwd", "nul byte"),
    ("args-empty", set_("process.args", []), "process.args", "args must not be empty"),
    ("args-missing", del_("process.args"), "process.args", "args must not be empty"),
    ("args-nul", set_("process.args", ["sh", "a\x00"]), "process.args[1]", "nul byte"),
    ("args0-empty", set_("process.args", [""]), "process.args[0]", "must not be empty"),
    ("env-no-eq", set_("process.env", ["A=1", "B"]), "process.env[1]", "missing '='"),
    ("env-no-key", set_("process.env", ["=x"]), "process.env[0]", "name cannot be empty"),
    ("env-nul", set_("process.env", ["A=x\x00y"]), "process.env[0]", 'variable "A": contains nul'),
    ("uid-max", set_("process.user.uid", 2**32 - 1), "process.user.uid", "out of range"),
    ("gid-neg", set_("process.user.gid", -1), "process.user.gid", "out of range"),
    (
        "addgid-big",
        set_("process.user.additionalGids", [1, 2**32]),
        "process.user.additionalGids[1]",
        "out of range",
    ),
    ("umask-neg", set_("process.user.umask", -1), "process.user.umask", "invalid umask"),
    (
        "rlimit-type",
        set_("process.rlimits", [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]),
        "process.rlimits[0].type",
        "wrong rlimit value: RLIMIT_FOO",
    ),
    (
        "rlimit-dup",
        set_(
            "process.rlimits",
            [
                {"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1},
                {"type": "RLIMIT_NOFILE", "hard": 2, "soft": 2},
            ],
        ),
        "process.rlimits[1].type",
        "duplicate rlimit type RLIMIT_NOFILE",
    ),
    (
        "rlimit-soft-gt-hard",
        set_("process.rlimits", [{"type": "RLIMIT_CORE", "hard": 1, "soft": 2}]),
        "process.rlimits[0]",
        "soft limit 2 is greater than hard limit 1",
    ),
    (
        "sched-no-policy",
        set_("process.scheduler", {"nice": 1}),
        "process.scheduler.policy",
        "scheduler policy is required",
    ),
    (
        "sched-bad-policy",
        set_("process.scheduler", {"policy": "SCHED_FOO"}),
        "process.scheduler.policy",
        "invalid scheduler policy",
    ),
    (
        "sched-nice",
        set_("process.scheduler", {"policy": "SCHED_OTHER", "nice": 20}),
        "process.scheduler.nice",
        "invalid scheduler.nice: 20",
    ),
    (
        "sched-priority",
        set_("process.scheduler", {"policy": "SCHED_OTHER", "priority": 5}),
        "process.scheduler.priority",
        "can only be specified for SchedFIFO or SchedRR",
    ),
    (
        "sched-deadline",
        set_("process.scheduler", {"policy": "SCHED_FIFO", "runtime": 5}),
        "process.scheduler",
        "can only be specified for SchedDeadline",
    ),
    (
        "sched-flag",
        set_("process.scheduler", {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_X"]}),
        "process.scheduler.flags[0]",
        "invalid scheduler flag",
    ),
    (
        "ioprio-class",
        set_("process.ioPriority", {"class": "IOPRIO_CLASS_NONE", "priority": 0}),
        "process.ioPriority.class",
        "invalid io priority class",
    ),
    (
        "ioprio-prio",
        set_("process.ioPriority", {"class": "IOPRIO_CLASS_BE", "priority": 8}),
        "process.ioPriority.priority",
        "invalid ioPriority.Priority: 8",
    ),
    (
        "cpu-affinity",
        set_("process.execCPUAffinity", {"initial": "3-1"}),
        "process.execCPUAffinity.initial",
        "invalid CPU list",
    ),
    (
        "cpu-affinity-syntax",
        set_("process.execCPUAffinity", {"final": "a,b"}),
        "process.execCPUAffinity.final",
        "invalid CPU list",
    ),
    (
        "selinux",
        set_("process.selinuxLabel", "system_u:system_r:container_t:s0"),
        "process.selinuxLabel",
        "selinux label is specified in config, but selinux is disabled or not supported",
    ),
    ("no-root", del_("root"), "root", "root must be specified"),
    ("root-path-empty", set_("root.path", ""), "root.path", "path must not be empty"),
    (
        "rootfs-missing",
        set_("root.path", "nope"),
        "root.path",
        "invalid rootfs: stat ",
    ),
    (
        "ns-unknown",
        set_("linux.namespaces", [{"type": "foo"}]),
        "linux.namespaces[0].type",
        'namespace "foo" does not exist',
    ),
    (
        "ns-duplicate",
        set_("linux.namespaces", [{"type": "pid"}, {"type": "pid", "path": "/proc/1/ns/pid"}]),
        "linux.namespaces[1].type",
        'malformed spec file: duplicated ns "pid"',
    ),
    (
        "ns-relative-path",
        add_ns("pid", "proc/1/ns/pid"),
        "linux.namespaces[5].path",
        "must be an absolute path",
    ),
    (
        "userns-no-maps",
        add_ns("user"),
        "linux.namespaces",
        "user namespaces enabled, but no namespace path to join nor mappings to apply specified",
    ),
    (
        "maps-without-userns",
        set_("linux.uidMappings", USERNS_MAPS["uidMappings"]),
        "linux.uidMappings",
        "user namespace mappings specified, but user namespace isn't enabled in the config",
    ),
    (
        "map-size-zero",
        chain(userns, set_("linux.uidMappings.0.size", 0)),
        "linux.uidMappings[0].size",
        "must be at least 1",
    ),
    (
        "map-hostid-range",
        chain(userns, set_("linux.gidMappings.0.hostID", 2**32 - 1)),
        "linux.gidMappings[0].hostID",
        "out of range",
    ),
    (
        "map-overflow",
        chain(userns, set_("linux.uidMappings.0.hostID", 2**32 - 10)),
        "linux.uidMappings[0]",
        "exceeds the 32-bit id space",
    ),
    (
        "userns-unmapped-uid",
        chain(userns, set_("process.user.uid", 70000)),
        "process.user.uid",
        "cannot set uid to unmapped user in user namespace",
    ),
    (
        "userns-unmapped-addgid",
        chain(userns, set_("process.user.additionalGids", [65536])),
        "process.user.additionalGids[0]",
        "cannot set gid to unmapped user in user namespace",
    ),
    (
        "time-offsets-no-ns",
        set_("linux.timeOffsets", {"monotonic": {"secs": 1}}),
        "linux.timeOffsets",
        "time namespace offsets specified, but time namespace isn't enabled in the config",
    ),
    (
        "time-offsets-clock",
        chain(add_ns("time"), set_("linux.timeOffsets", {"realtime": {"secs": 1}})),
        "linux.timeOffsets.realtime",
        "unknown clock",
    ),
    (
        "time-offsets-nsec",
        chain(add_ns("time"), set_("linux.timeOffsets", {"boottime": {"nanosecs": 10**9}})),
        "linux.timeOffsets.boottime",
        "nanosecs 1000000000 out of range",
    ),
    (
        "hostname-no-uts",
        no_ns("uts"),
        "hostname",
        "unable to set hostname without a private UTS namespace",
    ),
    (
        "domainname-no-uts",
        chain(no_ns("uts"), del_("hostname"), set_("domainname", "example.org")),
        "domainname",
        "unable to set domainname without a private UTS namespace",
    ),
    ("hostname-long", set_("hostname", "h" * 65), "hostname", "at most 64 bytes"),
    (
        "sysctl-ipc-host",
        chain(no_ns("ipc"), set_("linux.sysctl", {"kernel.shmmax": "1"})),
        "linux.sysctl.kernel.shmmax",
        'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace',
    ),
    (
        "sysctl-mqueue-host",
        chain(no_ns("ipc"), set_("linux.sysctl", {"fs/mqueue/msg_max": "1"})),
        "linux.sysctl.fs/mqueue/msg_max",
        'sysctl "fs.mqueue.msg_max" is not allowed in the hosts ipc namespace',
    ),
    (
        "sysctl-net-host",
        chain(no_ns("network"), set_("linux.sysctl", {"net.ipv4.ip_forward": "1"})),
        "linux.sysctl.net.ipv4.ip_forward",
        'sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
    ),
    (
        "sysctl-not-namespaced",
        set_("linux.sysctl", {"vm.swappiness": "1"}),
        "linux.sysctl.vm.swappiness",
        'sysctl "vm.swappiness" is not in a separate kernel namespace',
    ),
    (
        "sysctl-hostname",
        set_("linux.sysctl", {"kernel.hostname": "x"}),
        "linux.sysctl.kernel.hostname",
        'conflicts with the OCI "hostname" field',
    ),
    (
        "sysctl-domainname-no-uts",
        chain(no_ns("uts"), del_("hostname"), set_("linux.sysctl", {"kernel.domainname": "x"})),
        "linux.sysctl.kernel.domainname",
        "is not in a separate kernel namespace",
    ),
    (
        "sysctl-netns-missing-path",
        chain(add_ns("network", "/nonexistent/netns"), set_("linux.sysctl", {"net.core.x": "1"})),
        "linux.sysctl.net.core.x",
        "invalid netns path: stat /nonexistent/netns: no such file or directory",
    ),
    (
        "masked-no-mntns",
        no_ns("mount"),
        "linux.maskedPaths",
        "unable to restrict sys entries without a private MNT namespace",
    ),
    (
        "readonly-no-mntns",
        chain(no_ns("mount"), del_("linux.maskedPaths")),
        "linux.readonlyPaths",
        "unable to restrict sys entries without a private MNT namespace",
    ),
    (
        "masked-relative",
        set_("linux.maskedPaths", ["/ok", "proc/kcore"]),
        "linux.maskedPaths[1]",
        "must be absolute",
    ),
    (
        "readonly-relative",
        set_("linux.readonlyPaths", ["proc/sys"]),
        "linux.readonlyPaths[0]",
        "must be absolute",
    ),
    (
        "mount-nul",
        set_("mounts.0.source", "pr\x00oc"),
        "mounts[0]",
        "mount field contains null byte",
    ),
    (
        "mount-dest-empty",
        set_("mounts.0.destination", ""),
        "mounts[0].destination",
        "must not be empty",
    ),
    (
        "mount-uidmap-alone",
        set_(
            "mounts.0",
            {
                "destination": "/data",
                "source": "/srv",
                "options": ["rbind", "idmap"],
                "uidMappings": USERNS_MAPS["uidMappings"],
            },
        ),
        "mounts[0]",
        "uidMappings and gidMappings must be specified together",
    ),
    (
        "mount-idmap-not-bind",
        chain(
            userns,
            set_(
                "mounts.0",
                {"destination": "/data", "type": "tmpfs", "source": "t", "options": ["idmap"]},
            ),
        ),
        "mounts[0]",
        "supported only for mounts with the option 'bind'",
    ),
    (
        "mount-idmap-no-userns",
        set_("mounts.0", {"destination": "/data", "source": "/srv", "options": ["bind", "idmap"]}),
        "mounts[0]",
        "idmap mount needs uidMappings/gidMappings or a user namespace",
    ),
    (
        "propagation",
        set_("linux.rootfsPropagation", "rshared-ish"),
        "linux.rootfsPropagation",
        "rootfsPropagation=rshared-ish is not supported",
    ),
    (
        "device-type",
        set_("linux.devices", [{"type": "x", "path": "/dev/x", "major": 1, "minor": 1}]),
        "linux.devices[0].type",
        'invalid device type "x"',
    ),
    (
        "device-path",
        set_("linux.devices", [{"type": "c", "path": "dev/x", "major": 1, "minor": 1}]),
        "linux.devices[0].path",
        "must be absolute",
    ),
    (
        "device-major",
        set_("linux.devices", [{"type": "b", "path": "/dev/sda", "minor": 1}]),
        "linux.devices[0].major",
        "major is required for device type b",
    ),
    (
        "device-uid",
        set_(
            "linux.devices",
            [{"type": "c", "path": "/dev/x", "major": 1, "minor": 1, "uid": 2**32 - 1}],
        ),
        "linux.devices[0].uid",
        "out of range",
    ),
    (
        "cgroup-device-access-empty",
        set_("linux.resources.devices", [{"allow": False}]),
        "linux.resources.devices[0].access",
        "device access at 0 field cannot be empty",
    ),
    (
        "cgroup-device-access",
        set_("linux.resources.devices", [{"allow": True, "access": "rwx"}]),
        "linux.resources.devices[0].access",
        'invalid device access "rwx"',
    ),
    (
        "cgroup-device-type",
        set_("linux.resources.devices", [{"allow": True, "type": "p", "access": "r"}]),
        "linux.resources.devices[0].type",
        'invalid cgroup device type "p"',
    ),
    (
        "seccomp-no-default",
        set_("linux.seccomp", {"syscalls": []}),
        "linux.seccomp.defaultAction",
        "defaultAction is required",
    ),
    (
        "seccomp-bad-default",
        set_("linux.seccomp", {"defaultAction": "SCMP_ACT_NOPE"}),
        "linux.seccomp.defaultAction",
        "string SCMP_ACT_NOPE is not a valid action for seccomp",
    ),
    (
        "seccomp-notify-default",
        set_("linux.seccomp", {"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/s"}),
        "linux.seccomp.defaultAction",
        "SCMP_ACT_NOTIFY cannot be used as default action",
    ),
    (
        "seccomp-default-errno",
        set_("linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}),
        "linux.seccomp.defaultErrnoRet",
        "not supported by action SCMP_ACT_ALLOW",
    ),
    (
        "seccomp-arch",
        set_("linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["X"]}),
        "linux.seccomp.architectures[0]",
        "string X is not a valid arch for seccomp",
    ),
    (
        "seccomp-flag",
        set_("linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["F"]}),
        "linux.seccomp.flags[0]",
        'seccomp flag "F" is unknown',
    ),
    (
        "seccomp-metadata",
        set_("linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"}),
        "linux.seccomp.listenerMetadata",
        "must not be set without listenerPath",
    ),
    (
        "seccomp-names-empty",
        set_(
            "linux.seccomp",
            {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "X"}]},
        ),
        "linux.seccomp.syscalls[0].names",
        "names must contain at least one entry",
    ),
    (
        "seccomp-bad-action",
        set_(
            "linux.seccomp",
            {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], "action": "X"}]},
        ),
        "linux.seccomp.syscalls[0].action",
        "string X is not a valid action for seccomp",
    ),
    (
        "seccomp-errno-kill",
        set_(
            "linux.seccomp",
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["a"], "action": "SCMP_ACT_KILL", "errnoRet": 1}],
            },
        ),
        "linux.seccomp.syscalls[0].errnoRet",
        "errnoRet is not supported by action SCMP_ACT_KILL",
    ),
    (
        "seccomp-notify-write",
        set_(
            "linux.seccomp",
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": "/run/agent.sock",
                "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}],
            },
        ),
        "linux.seccomp.syscalls[0]",
        "SCMP_ACT_NOTIFY cannot be used for the write syscall",
    ),
    (
        "seccomp-notify-no-listener",
        set_(
            "linux.seccomp",
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mknod"], "action": "SCMP_ACT_NOTIFY"}],
            },
        ),
        "linux.seccomp.listenerPath",
        "SCMP_ACT_NOTIFY requires listenerPath",
    ),
    (
        "seccomp-op",
        set_(
            "linux.seccomp",
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    {
                        "names": ["a"],
                        "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}],
                    }
                ],
            },
        ),
        "linux.seccomp.syscalls[0].args[0].op",
        "string SCMP_CMP_XX is not a valid operator for seccomp",
    ),
    (
        "seccomp-arg-index",
        set_(
            "linux.seccomp",
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    {
                        "names": ["a"],
                        "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}],
                    }
                ],
            },
        ),
        "linux.seccomp.syscalls[0].args",
        "argument index 6 out of range",
    ),
    (
        "rdt-closid-dotdot",
        set_("linux.intelRdt", {"closID": ".."}),
        "linux.intelRdt.closID",
        'invalid intelRdt.ClosID ".."',
    ),
    (
        "rdt-closid-slash",
        set_("linux.intelRdt", {"closID": "a/b"}),
        "linux.intelRdt.closID",
        'invalid intelRdt.ClosID "a/b"',
    ),
    (
        "rdt-membw-prefix",
        set_("linux.intelRdt", {"memBwSchema": "L3:0=1"}),
        "linux.intelRdt.memBwSchema",
        "must start with MB:",
    ),
    (
        "rdt-membw-newline",
        set_("linux.intelRdt", {"memBwSchema": "MB:0=20\nMB:1=70"}),
        "linux.intelRdt.memBwSchema",
        "not contain newlines",
    ),
    (
        "personality-domain",
        set_("linux.personality", {"domain": "LINUX64"}),
        "linux.personality.domain",
        "invalid personality domain LINUX64",
    ),
    (
        "netdev-no-netns",
        chain(no_ns("network"), set_("linux.netDevices", {"eth0": {}})),
        "linux.netDevices",
        "unable to move network devices without a private NET namespace",
    ),
    (
        "netdev-bad-host-name",
        set_("linux.netDevices", {"eth0:1": {}}),
        "linux.netDevices.eth0:1",
        'invalid network device name "eth0:1"',
    ),
    (
        "netdev-long-name",
        set_("linux.netDevices", {"eth0": {"name": "a" * 16}}),
        "linux.netDevices.eth0.name",
        "invalid network device name",
    ),
    (
        "netdev-space",
        set_("linux.netDevices", {"eth0": {"name": "a b"}}),
        "linux.netDevices.eth0.name",
        "invalid network device name",
    ),
    (
        "netdev-dot",
        set_("linux.netDevices", {"eth0": {"name": ".."}}),
        "linux.netDevices.eth0.name",
        "invalid network device name",
    ),
    (
        "netdev-clash",
        set_("linux.netDevices", {"eth0": {"name": "ctr0"}, "eth1": {"name": "ctr0"}}),
        "linux.netDevices.eth1.name",
        'are both named "ctr0"',
    ),
    (
        "mempolicy-mode",
        set_("linux.memoryPolicy", {"mode": "MPOL_FOO"}),
        "linux.memoryPolicy.mode",
        'invalid memory policy mode "MPOL_FOO"',
    ),
    (
        "mempolicy-flag",
        set_("linux.memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_X"]}),
        "linux.memoryPolicy.flags[0]",
        'invalid memory policy flag "MPOL_F_X"',
    ),
    (
        "mempolicy-nodes-syntax",
        set_("linux.memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0-"}),
        "linux.memoryPolicy.nodes",
        'invalid memory policy nodes "0-"',
    ),
    (
        "mempolicy-static-relative",
        set_(
            "linux.memoryPolicy",
            {
                "mode": "MPOL_INTERLEAVE",
                "nodes": "0-1",
                "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"],
            },
        ),
        "linux.memoryPolicy.flags",
        "are exclusive",
    ),
    (
        "mempolicy-numa-balancing",
        set_(
            "linux.memoryPolicy",
            {"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]},
        ),
        "linux.memoryPolicy.flags",
        "MPOL_F_NUMA_BALANCING is not supported with MPOL_INTERLEAVE",
    ),
    (
        "mempolicy-bind-no-nodes",
        set_("linux.memoryPolicy", {"mode": "MPOL_BIND"}),
        "linux.memoryPolicy.nodes",
        "memory policy mode MPOL_BIND requires nodes",
    ),
    (
        "mempolicy-local-nodes",
        set_("linux.memoryPolicy", {"mode": "MPOL_LOCAL", "nodes": "0"}),
        "linux.memoryPolicy.nodes",
        "memory policy mode MPOL_LOCAL does not take nodes",
    ),
    (
        "hook-relative",
        set_("hooks", {"createRuntime": [{"path": "bin/hook"}]}),
        "hooks.createRuntime[0].path",
        'hook path "bin/hook" must be absolute',
    ),
    (
        "hook-timeout",
        set_("hooks", {"poststop": [{"path": "/bin/true", "timeout": 0}]}),
        "hooks.poststop[0].timeout",
        "hook timeout 0 must be greater than zero",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [pytest.param(m, f, msg, id=i) for i, m, f, msg in FAILING],
)
def test_invalid_config(
    config: dict[str, Any],
    bundle: Path,
    host: HostInfo,
    mutate: Mutator,
    field: str,
    message: str,
) -> None:
    mutate(config)
    with pytest.raises(ConfigError) as ei:
        run(config, bundle, host)
    assert ei.value.field == field
    assert message in str(ei.value)
    assert str(ei.value).startswith(f"{field}: ")
    assert not str(ei.value).endswith(".")


# --- passing variants of the checks ---------------------------------------------------------

PASSING: list[tuple[str, Mutator]] = [
    ("version-1.0.0", set_("ociVersion", "1.0.0")),
    ("version-prerelease", set_("ociVersion", "1.0.2-dev")),
    ("version-1.3.0", set_("ociVersion", "1.3.0")),
    ("version-two-part", set_("ociVersion", "1.1")),
    ("cwd-deep", set_("process.cwd", "/home/user/../work")),
    ("args-abs", set_("process.args", ["/bin/sh", "-c", "echo hi"])),
    ("env-absent", del_("process.env")),
    ("env-equals-in-value", set_("process.env", ["A=b=c", "B=", "_X=1"])),
    ("uid-max", set_("process.user.uid", 2**32 - 2)),
    ("umask", set_("process.user.umask", 0o22)),
    (
        "rlimits-many",
        set_(
            "process.rlimits",
            [
                {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512},
                {"type": "RLIMIT_CORE", "hard": 0, "soft": 0},
                {"type": "RLIMIT_RTTIME", "hard": 5, "soft": 5},
            ],
        ),
    ),
    ("no-rlimits", del_("process.rlimits")),
    (
        "sched-fifo",
        set_("process.scheduler", {"policy": "SCHED_FIFO", "priority": 10, "nice": -5}),
    ),
    (
        "sched-deadline",
        set_(
            "process.scheduler",
            {
                "policy": "SCHED_DEADLINE",
                "runtime": 10,
                "deadline": 20,
                "period": 30,
                "flags": ["SCHED_FLAG_RECLAIM"],
            },
        ),
    ),
    ("ioprio", set_("process.ioPriority", {"class": "IOPRIO_CLASS_IDLE", "priority": 7})),
    ("cpu-affinity", set_("process.execCPUAffinity", {"initial": "7", "final": "0-3,7"})),
    ("sysctl-ipc", set_("linux.sysctl", {"kernel.shmmax": "1", "fs.mqueue.msg_max": "10"})),
    ("sysctl-net-private", set_("linux.sysctl", {"net.ipv4.ip_forward": "1"})),
    ("sysctl-slash-form", set_("linux.sysctl", {"net/ipv4/conf/eno2.100/rp_filter": "1"})),
    ("sysctl-domainname", set_("linux.sysctl", {"kernel.domainname": "x"})),
    (
        "sysctl-netns-other",
        chain(add_ns("network", "/proc/self/ns/net"), set_("linux.sysctl", {"net.core.x": "1"})),
    ),
    ("userns", userns),
    ("userns-join", add_ns("user", "/proc/1/ns/user")),
    ("userns-mapped-ids", chain(userns, set_("process.user", {"uid": 1000, "gid": 1000}))),
    (
        "time-offsets",
        chain(
            add_ns("time"),
            set_("linux.timeOffsets", {"monotonic": {"secs": 10}, "boottime": {"nanosecs": 5}}),
        ),
    ),
    ("no-hostname-no-uts", chain(no_ns("uts"), del_("hostname"))),
    ("domainname", set_("domainname", "example.org")),
    (
        "no-masked-no-mntns",
        chain(no_ns("mount"), del_("linux.maskedPaths"), del_("linux.readonlyPaths")),
    ),
    ("no-linux", chain(del_("linux"), del_("hostname"))),
    (
        "mount-idmap-userns",
        chain(
            userns,
            set_(
                "mounts.0",
                {"destination": "/data", "source": "/srv", "options": ["rbind", "ridmap"]},
            ),
        ),
    ),
    (
        "mount-idmap-explicit",
        set_(
            "mounts.0",
            {
                "destination": "/data",
                "source": "/srv",
                "options": ["bind", "idmap"],
                "uidMappings": USERNS_MAPS["uidMappings"],
                "gidMappings": USERNS_MAPS["gidMappings"],
            },
        ),
    ),
    ("propagation", set_("linux.rootfsPropagation", "rslave")),
    (
        "devices",
        set_(
            "linux.devices",
            [
                {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "uid": 0},
                {"type": "p", "path": "/dev/fifo"},
                {"type": "u", "path": "/dev/u", "major": 1, "minor": 2},
            ],
        ),
    ),
    (
        "cgroup-devices",
        set_(
            "linux.resources.devices",
            [
                {"allow": False, "access": "rwm"},
                {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                {"allow": True, "type": "b", "access": "m"},
            ],
        ),
    ),
    (
        "seccomp",
        set_(
            "linux.seccomp",
            {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "listenerPath": "/run/agent.sock",
                "listenerMetadata": "meta",
                "syscalls": [
                    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["mknod"], "action": "SCMP_ACT_NOTIFY"},
                    {
                        "names": ["personality"],
                        "action": "SCMP_ACT_ALLOW",
                        "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}],
                    },
                    {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 38},
                ],
            },
        ),
    ),
    (
        "intel-rdt",
        set_(
            "linux.intelRdt",
            {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0", "memBwSchema": "MB:0=20"},
        ),
    ),
    ("personality", set_("linux.personality", {"domain": "LINUX32"})),
    ("netdev", set_("linux.netDevices", {"eth0": {"name": "ctr_eth0"}, "dummy0": {}})),
    (
        "netdev-template",
        set_("linux.netDevices", {"eth0": {"name": "c%d"}, "eth1": {"name": "c%d"}}),
    ),
    (
        "netdev-netns-path",
        chain(add_ns("network", "/proc/self/ns/net"), set_("linux.netDevices", {"eth0": {}})),
    ),
    (
        "mempolicy-bind",
        set_(
            "linux.memoryPolicy",
            {"mode": "MPOL_BIND", "nodes": "0-3,7", "flags": ["MPOL_F_STATIC_NODES"]},
        ),
    ),
    ("mempolicy-default", set_("linux.memoryPolicy", {"mode": "MPOL_DEFAULT"})),
    (
        "mempolicy-preferred-empty",
        set_("linux.memoryPolicy", {"mode": "MPOL_PREFERRED", "nodes": ""}),
    ),
    (
        "mempolicy-balancing",
        set_(
            "linux.memoryPolicy",
            {"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]},
        ),
    ),
    (
        "hooks",
        set_(
            "hooks",
            {
                "prestart": [{"path": "/bin/true"}],
                "createRuntime": [{"path": "/usr/bin/hook", "args": ["hook", "x"], "timeout": 5}],
                "poststop": [{"path": "/bin/true", "env": ["A=b"]}],
            },
        ),
    ),
]


@pytest.mark.parametrize("mutate", [pytest.param(m, id=i) for i, m in PASSING])
def test_valid_config(
    config: dict[str, Any], bundle: Path, host: HostInfo, mutate: Mutator
) -> None:
    mutate(config)
    assert run(config, bundle, host) == []


# --- checks that need the file system or produce warnings -----------------------------------


def test_rootfs_absolute_path(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["root"]["path"] = os.path.realpath(bundle / "rootfs")
    assert run(config, bundle, host) == []


def test_rootfs_dotdot_path(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    (bundle / "sub").mkdir()
    config["root"]["path"] = "sub/../rootfs"
    assert run(config, bundle, host) == []


def test_rootfs_through_symlinked_bundle(
    config: dict[str, Any], bundle: Path, host: HostInfo, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # runc's cwd is the kernel's view of the bundle, so a symlinked bundle path is fine.
    link = tmp_path_factory.mktemp("links") / "bundle"
    link.symlink_to(bundle)
    assert validate_config(config, str(link), host=host) == []


def test_rootfs_relative_bundle(
    config: dict[str, Any], bundle: Path, host: HostInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(bundle)
    assert validate_config(config, ".", host=host) == []


def test_rootfs_missing_message(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["root"]["path"] = "missing"
    with pytest.raises(ConfigError) as ei:
        run(config, bundle, host)
    path = os.path.join(os.path.realpath(bundle), "missing")
    assert str(ei.value) == f"root.path: invalid rootfs: stat {path}: no such file or directory"


def test_rootfs_is_symlink(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    (bundle / "link").symlink_to(bundle / "rootfs")
    config["root"]["path"] = "link"
    with pytest.raises(ConfigError) as ei:
        run(config, bundle, host)
    assert ei.value.field == "root.path"
    assert "invalid rootfs: not an absolute path, or a symlink" in str(ei.value)


def test_rootfs_under_symlinked_dir(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    (bundle / "real").mkdir()
    (bundle / "real" / "rootfs").mkdir()
    (bundle / "alias").symlink_to(bundle / "real")
    config["root"]["path"] = "alias/rootfs"
    with pytest.raises(ConfigError, match="or a symlink"):
        run(config, bundle, host)


def test_rootfs_not_a_directory(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    (bundle / "file").write_text("x")
    config["root"]["path"] = "file"
    with pytest.raises(ConfigError) as ei:
        run(config, bundle, host)
    assert ei.value.field == "root.path"
    assert str(ei.value).endswith("/file: not a directory")


def test_sysctl_net_in_host_netns_path(
    config: dict[str, Any], bundle: Path, host: HostInfo
) -> None:
    hostnet = str(bundle / "hostnet")  # the fixture's "runtime network namespace"
    add_ns("network", hostnet)(config)
    config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    with pytest.raises(ConfigError, match="not allowed in host network namespace"):
        run(config, bundle, host)


def test_netdev_in_host_netns_path(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    add_ns("network", str(bundle / "hostnet"))(config)
    config["linux"]["netDevices"] = {"eth0": {}}
    with pytest.raises(ConfigError, match="without a private NET namespace"):
        run(config, bundle, host)


def test_netdev_rootless(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    userns(config)
    config["linux"]["netDevices"] = {"eth0": {}}
    with pytest.raises(ConfigError, match="rootless") as ei:
        run(config, bundle, host, rootless=True)
    assert ei.value.field == "linux.netDevices"


@pytest.mark.parametrize("ns_type", ["user", "cgroup", "time", "network"])
def test_namespace_not_in_kernel(
    config: dict[str, Any], bundle: Path, host: HostInfo, ns_type: str
) -> None:
    add_ns(ns_type, "/proc/1/ns/x")(config)  # a path: no mapping/offset rules involved
    proc_name = v.NAMESPACE_PROC_NAMES[ns_type]
    host.namespaces = frozenset(v.NAMESPACE_PROC_NAMES.values()) - {proc_name}
    with pytest.raises(ConfigError, match=f"{ns_type} namespaces aren't enabled in the kernel"):
        run(config, bundle, host)


def test_capabilities_unknown_warn(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    caps = config["process"]["capabilities"]
    caps["bounding"] += ["CAP_FOO", "CAP_BPF"]
    caps["ambient"] = ["CAP_FOO", "CAP_BAR"]
    host.cap_last_cap = 38  # CAP_BPF (39) unavailable on this "kernel"
    warnings = run(config, bundle, host)
    assert warnings == ["ignoring unknown or unavailable capabilities: [CAP_BAR CAP_BPF CAP_FOO]"]


def test_capabilities_unknown_kernel_limit(
    config: dict[str, Any], bundle: Path, host: HostInfo
) -> None:
    config["process"]["capabilities"]["effective"] = ["CAP_CHECKPOINT_RESTORE"]
    host.cap_last_cap = None
    assert run(config, bundle, host) == []


def test_umask_warning(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["process"]["user"]["umask"] = 0o1022
    assert run(config, bundle, host) == [
        "process.user.umask 0o1022 has bits outside 0777 which are ignored"
    ]


def test_relative_mount_destination_warns(
    config: dict[str, Any], bundle: Path, host: HostInfo
) -> None:
    config["mounts"].append({"destination": "data", "type": "tmpfs", "source": "tmpfs"})
    warnings = run(config, bundle, host)
    assert warnings == [
        "mount destination data is not absolute. Support for non-absolute mount destinations "
        "will be removed in a future release."
    ]


def test_personality_flags_warn(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["linux"]["personality"] = {"domain": "LINUX", "flags": ["A", "B"]}
    assert run(config, bundle, host) == [
        "ignoring unsupported personality flags: [A B] because personality flag has not "
        "supported at this time"
    ]


def test_selinux_enabled(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0"
    host.selinux_enabled = True
    assert run(config, bundle, host) == []


def test_intel_rdt_without_resctrl(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["linux"]["intelRdt"] = {"closID": "g"}
    host.resctrl = None
    with pytest.raises(ConfigError, match="Intel RDT is not supported or enabled"):
        run(config, bundle, host)


@pytest.mark.parametrize(
    ("key", "value", "feature", "message"),
    [
        ("l3CacheSchema", "L3:0=f", "L3", "Intel RDT/CAT is not enabled"),
        ("memBwSchema", "MB:0=20", "MB", "Intel RDT/MBA is not enabled"),
    ],
)
def test_intel_rdt_feature_missing(
    config: dict[str, Any],
    bundle: Path,
    host: HostInfo,
    key: str,
    value: str,
    feature: str,
    message: str,
) -> None:
    config["linux"]["intelRdt"] = {key: value}
    host.resctrl = frozenset({"L3", "MB"}) - {feature}
    with pytest.raises(ConfigError, match=message) as ei:
        run(config, bundle, host)
    assert ei.value.field == f"linux.intelRdt.{key}"


# --- rootless -------------------------------------------------------------------------------


def test_rootless_ok(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    userns(config)
    assert run(config, bundle, host, rootless=True) == []


def test_rootless_join_userns_ok(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    add_ns("user", "/proc/1/ns/user")(config)
    assert run(config, bundle, host, rootless=True) == []


def test_rootless_requires_userns(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    with pytest.raises(ConfigError, match="rootless container requires user namespaces"):
        run(config, bundle, host, rootless=True)


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("uidMappings", "rootless containers requires at least one UID mapping"),
        ("gidMappings", "rootless containers requires at least one GID mapping"),
    ],
)
def test_rootless_requires_both_mappings(
    config: dict[str, Any], bundle: Path, host: HostInfo, drop: str, message: str
) -> None:
    userns(config)
    del config["linux"][drop]
    with pytest.raises(ConfigError, match=message) as ei:
        run(config, bundle, host, rootless=True)
    assert ei.value.field == f"linux.{drop}"


def test_rootless_unmapped_mount_gid(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    userns(config)
    config["process"]["user"]["additionalGids"] = []
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    with pytest.raises(ConfigError) as ei:
        run(config, bundle, host, rootless=True)
    assert ei.value.field == "mounts[2].options"
    assert "cannot specify gid=5 mount option for rootless container" in str(ei.value)


def test_rootless_idmap_mount(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    userns(config)
    config["mounts"].append({"destination": "/d", "source": "/s", "options": ["bind", "idmap"]})
    with pytest.raises(ConfigError, match="EUID != 0"):
        run(config, bundle, host, rootless=True)


# --- HostInfo -------------------------------------------------------------------------------


def test_hostinfo_probes_lazily() -> None:
    info = HostInfo()
    assert info.namespaces is v.AUTO
    assert info.supports_namespace("mount")  # every Linux has mount namespaces
    assert isinstance(info.namespaces, frozenset)
    last = info.last_cap()
    assert last is None or last >= 30
    assert isinstance(info.selinux(), bool)
    info.resctrl_info()
    assert info.resctrl is not v.AUTO


def test_hostinfo_host_netns() -> None:
    info = HostInfo()
    assert info.is_host_netns("/proc/self/ns/net")
    with pytest.raises(OSError):
        info.is_host_netns("/nonexistent")


def test_hostinfo_unreadable_proc(tmp_path: Path) -> None:
    info = HostInfo(proc=str(tmp_path))
    assert info.supports_namespace("time")  # unknown: assume supported
    assert info.last_cap() is None
    assert info.resctrl_info() is None


def test_hostinfo_resctrl_from_mountinfo(tmp_path: Path) -> None:
    mnt = tmp_path / "resctrl"
    (mnt / "info" / "L3").mkdir(parents=True)
    (mnt / "info" / "MB").mkdir()
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(
        "22 1 0:21 / /proc rw - proc proc rw\n"
        f"40 22 0:40 / {mnt} rw,relatime shared:20 - resctrl resctrl rw\n"
    )
    assert HostInfo(proc=str(tmp_path)).resctrl_info() == frozenset({"L3", "MB"})


def test_default_host_is_used(config: dict[str, Any], bundle: Path) -> None:
    # No HostInfo given: the real host is probed; the base config needs nothing exotic.
    config["linux"]["namespaces"] = [{"type": "mount"}, {"type": "uts"}]
    assert validate_config(config, str(bundle)) == []


def test_apparmor_profile_refused(config: dict[str, Any], bundle: Path, host: HostInfo) -> None:
    config["process"]["apparmorProfile"] = "docker-default"
    with pytest.raises(ConfigError) as ei:
        run(config, bundle, host)
    assert ei.value.field == "process.apparmorProfile"
