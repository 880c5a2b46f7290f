"""Tests of ociruntime.schema: our runtime-spec v1.3.0 JSON schemas and the validation API.

The official v1.3.0 schema and test vectors in ``../shared/runtime-spec-schema`` serve as an
oracle: our schema must accept every ``good`` and reject every ``bad`` vector, and the official
schema must agree with ours on those inputs and on the generated configs below (except where
ours is deliberately stricter, which each such case states).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from ociruntime import schema
from ociruntime.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
OFFICIAL = REPO.parent / "shared" / "runtime-spec-schema"
VECTORS = OFFICIAL / "test"
NEEDS_SHARED = "needs ../shared/runtime-spec-schema"

VALIDATE = {
    "config": schema.validate_config,
    "state": schema.validate_state,
    "features": schema.validate_features,
}
OFFICIAL_ENTRY = {
    "config": "config-schema.json",
    "state": "state-schema.json",
    "features": "features-schema.json",
}

needs_shared = pytest.mark.skipif(not OFFICIAL.is_dir(), reason=NEEDS_SHARED)


#: Where our error points for the official bad vectors known at v1.3.0.
BAD_VECTOR_FIELDS = {
    "config/freebsd-vnet-disable.json": "freebsd.jail.vnet",
    "config/linux-hugepage.json": "linux.resources.hugepageLimits[0].pageSize",
    "config/linux-netdevice.json": "linux.netDevices.eth0.name",
    "config/linux-rdma.json": "linux.resources.rdma.mlx5_1.hcaHandles",
    "features/missing-ociVersionMax.json": "ociVersionMax",
}


# --- helpers -----------------------------------------------------------------------------------

_official_cache: dict[str, Any] = {}


def official_validator(kind: str) -> Any:
    """A draft-04 validator of the official schema, its files loaded into a registry (offline)."""
    if kind not in _official_cache:
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        registry: Registry[Any] = Registry().with_resources(
            (p.name, Resource.from_contents(json.loads(p.read_bytes()), DRAFT4))
            for p in OFFICIAL.glob("*.json")
        )
        _official_cache[kind] = jsonschema.Draft4Validator(
            {"$ref": OFFICIAL_ENTRY[kind]}, registry=registry
        )
    return _official_cache[kind]


def official_accepts(kind: str, doc: Any) -> bool:
    return not any(True for _ in official_validator(kind).iter_errors(doc))


def ours_accepts(kind: str, doc: Any) -> bool:
    try:
        VALIDATE[kind](doc)
    except ConfigError:
        return False
    return True


def vector_params() -> list[Any]:
    if not VECTORS.is_dir():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=NEEDS_SHARED))]
    params = []
    for kind in ("config", "state", "features"):
        for verdict in ("good", "bad"):
            for path in sorted((VECTORS / kind / verdict).glob("*.json")):
                params.append(pytest.param(kind, verdict, path, id=f"{kind}/{verdict}/{path.name}"))
    return params


_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_path(field: str) -> list[str | int]:
    """Inverse of the dotted form used in ConfigError.field."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(field):
        m = _TOKEN.match(field, pos)
        assert m, f"bad path {field!r} at {pos}"
        name, index, quoted = m.groups()
        parts.append(name if name is not None else int(index) if index else json.loads(quoted))
        pos = m.end()
    return parts


DELETE = object()


def mutate(doc: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = parse_path(field)
    node: Any = doc
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


# --- generated configs -------------------------------------------------------------------------


def runc_spec() -> dict[str, Any]:
    """What ``runc spec`` writes (rootful), with ociVersion 1.3.0."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.3.0",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
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
                "options": [
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
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
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }


def full_config() -> dict[str, Any]:
    """A runc-spec config with every v1.3.0 Linux field set to a valid value."""
    doc = runc_spec()
    process = doc["process"]
    process.update(
        {
            "args": ["sh", "-c", "echo hello"],
            "consoleSize": {"height": 25, "width": 80},
            "user": {
                "uid": 1000,
                "gid": 1000,
                "umask": 18,
                "additionalGids": [5, 6],
                "username": "app",
            },
            "apparmorProfile": "acme_secure_profile",
            "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
            "oomScoreAdj": 100,
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
            "scheduler": {
                "policy": "SCHED_DEADLINE",
                "nice": -5,
                "priority": 0,
                "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"],
                "runtime": 10_000_000,
                "deadline": 20_000_000,
                "period": 30_000_000,
            },
            "execCPUAffinity": {"initial": "0", "final": "0-3,7"},
        }
    )
    process["capabilities"]["inheritable"] = []
    process["capabilities"]["ambient"] = ["CAP_NET_BIND_SERVICE"]
    process["rlimits"].append({"type": "RLIMIT_CORE", "hard": 0, "soft": 0})
    doc["domainname"] = "example.test"
    doc["annotations"] = {"com.example.key": "value", "org.example.empty": ""}
    doc["mounts"].append(
        {
            "destination": "/data",
            "type": "bind",
            "source": "/srv/data",
            "options": ["rbind", "rw", "idmap"],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        }
    )
    hook = {"path": "/usr/bin/hook", "args": ["hook", "arg"], "env": ["K=v"], "timeout": 5}
    doc["hooks"] = {
        kind: [copy.deepcopy(hook)]
        for kind in (
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop",
        )
    }
    linux = doc["linux"]
    linux["namespaces"] += [
        {"type": "user"},
        {"type": "time"},
    ]
    linux["namespaces"][1]["path"] = "/var/run/netns/neta"
    linux.update(
        {
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "timeOffsets": {
                "monotonic": {"secs": 172800, "nanosecs": 0},
                "boottime": {"secs": -3600, "nanosecs": 500},
            },
            "devices": [
                {
                    "path": "/dev/fuse",
                    "type": "c",
                    "major": 10,
                    "minor": 229,
                    "fileMode": 438,
                    "uid": 0,
                    "gid": 0,
                },
                {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 432},
                {"path": "/run/fifo", "type": "p"},
            ],
            "netDevices": {"eth0": {"name": "container_eth0"}, "ens4": {}},
            "cgroupsPath": "/myRuntime/myContainer",
            "intelRdt": {
                "closID": "guaranteed_group",
                "l3CacheSchema": "L3:0=7f0;1=1f",
                "memBwSchema": "MB:0=20;1=70",
                "schemata": ["L2:0=f;1=f"],
                "enableMonitoring": True,
            },
            "sysctl": {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "256"},
            "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "listenerPath": "/run/seccomp-agent.sock",
                "listenerMetadata": "opaque",
                "syscalls": [
                    {"names": ["getcwd", "chmod"], "action": "SCMP_ACT_ALLOW"},
                    {
                        "names": ["personality"],
                        "action": "SCMP_ACT_ALLOW",
                        "args": [
                            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                            {
                                "index": 0,
                                "value": 0xFFFF,
                                "valueTwo": 8,
                                "op": "SCMP_CMP_MASKED_EQ",
                            },
                        ],
                    },
                    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                    {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"},
                    {"names": ["kexec_load"], "action": "SCMP_ACT_KILL_THREAD"},
                    {"names": ["reboot"], "action": "SCMP_ACT_KILL"},
                    {"names": ["acct"], "action": "SCMP_ACT_TRAP"},
                    {"names": ["swapon"], "action": "SCMP_ACT_TRACE", "errnoRet": 1},
                    {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"},
                    {"names": ["umount2"], "action": "SCMP_ACT_LOG"},
                ],
            },
            "rootfsPropagation": "slave",
            "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
            "personality": {"domain": "LINUX32", "flags": []},
            "memoryPolicy": {
                "mode": "MPOL_BIND",
                "nodes": "0-1",
                "flags": ["MPOL_F_STATIC_NODES"],
            },
        }
    )
    linux["resources"].update(
        {
            "memory": {
                "limit": 536870912,
                "reservation": 536870912,
                "swap": -1,
                "kernel": -1,
                "kernelTCP": -1,
                "swappiness": 0,
                "disableOOMKiller": False,
                "useHierarchy": False,
                "checkBeforeUpdate": True,
            },
            "cpu": {
                "shares": 1024,
                "quota": 1000000,
                "burst": 1000000,
                "period": 500000,
                "realtimeRuntime": 950000,
                "realtimePeriod": 1000000,
                "cpus": "2-3",
                "mems": "0-7",
                "idle": 0,
            },
            "pids": {"limit": -1},
            "blockIO": {
                "weight": 10,
                "leafWeight": 10,
                "weightDevice": [
                    {"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                    {"major": 8, "minor": 16, "weight": 500},
                ],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}],
            },
            "hugepageLimits": [
                {"pageSize": "2MB", "limit": 209715200},
                {"pageSize": "1GB", "limit": 18446744073709551615},
            ],
            "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "mlx4_0": {"hcaObjects": 1}},
            "unified": {"memory.high": "1073741824", "io.max": "259:0 rbps=2097152"},
        }
    )
    linux["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}
    )
    return doc


# (id, field to change, new value or DELETE, expected ConfigError.field, message fragment,
#  whether the official schema also rejects it; False marks where ours is stricter)
MUTATIONS: list[tuple[str, str, Any, str | None, str, bool]] = [
    ("missing-ociVersion", "ociVersion", DELETE, "ociVersion", "is a required property", True),
    ("ociVersion-not-string", "ociVersion", 1, "ociVersion", "must be a string", True),
    ("ociVersion-not-semver", "ociVersion", "1.0", "ociVersion", "SemVer", False),
    ("root-not-object", "root", "rootfs", "root", "must be an object, not a string", True),
    ("root-missing-path", "root.path", DELETE, "root.path", "is a required property", True),
    ("args-not-list", "process.args", "sh", "process.args", "must be an array", True),
    ("args-empty", "process.args", [], "process.args", "must not be empty", False),
    ("args-item-not-string", "process.args[1]", 1, "process.args[1]", "must be a string", True),
    ("missing-cwd", "process.cwd", DELETE, "process.cwd", "is a required property", True),
    ("env-not-string", "process.env[1]", 42, "process.env[1]", "must be a string", True),
    ("env-without-equals", "process.env[0]", "PATH", "process.env[0]", "NAME=value", False),
    ("terminal-not-bool", "process.terminal", "yes", "process.terminal", "a boolean", True),
    ("negative-uid", "process.user.uid", -1, "process.user.uid", "at least 0", True),
    ("uid-too-big", "process.user.uid", 2**32, "process.user.uid", "at most 4294967295", True),
    ("uid-float", "process.user.uid", 1.0, "process.user.uid", "an integer, not a number", True),
    ("uid-bool", "process.user.uid", True, "process.user.uid", "not a boolean", True),
    ("negative-gid-extra", "process.user.additionalGids[1]", -5, None, "at least 0", True),
    ("umask-string", "process.user.umask", "022", "process.user.umask", "an integer", True),
    ("rlimit-type", "process.rlimits[0].type", "NOFILE", None, "RLIMIT_", True),
    ("rlimit-no-soft", "process.rlimits[0].soft", DELETE, None, "required", True),
    ("rlimit-negative", "process.rlimits[1].hard", -1, None, "at least 0", True),
    ("caps-not-list", "process.capabilities.bounding", "CAP_KILL", None, "an array", True),
    ("console-no-width", "process.consoleSize.width", DELETE, None, "required", True),
    ("ioprio-class", "process.ioPriority.class", "RT", None, "IOPRIO_CLASS_RT", True),
    ("sched-policy", "process.scheduler.policy", "SCHED_FAST", None, "SCHED_OTHER", True),
    ("sched-flag", "process.scheduler.flags[0]", "SCHED_FLAG_X", None, "one of", True),
    ("cpu-affinity", "process.execCPUAffinity.final", "all", None, "CPU list", True),
    ("oom-score-adj-range", "process.oomScoreAdj", 5000, None, "at most 1000", False),
    ("nnp-not-bool", "process.noNewPrivileges", "yes", None, "a boolean", True),
    ("hostname-not-string", "hostname", 7, "hostname", "a string", True),
    ("mount-no-destination", "mounts[1].destination", DELETE, None, "required", True),
    ("mount-options-string", "mounts[1].options", "ro", None, "an array", True),
    ("mount-idmap-no-size", "mounts[7].uidMappings[0].size", DELETE, None, "required", True),
    ("hook-no-path", "hooks.prestart[0].path", DELETE, None, "required", True),
    ("hook-timeout-zero", "hooks.poststart[0].timeout", 0, None, "at least 1", True),
    ("hook-env-not-string", "hooks.poststop[0].env[0]", 3, None, "a string", True),
    ("hooks-not-list", "hooks.createRuntime", {}, None, "an array", True),
    ("annotation-value", 'annotations["com.example.key"]', 1, None, "a string", True),
    ("annotation-empty-key", 'annotations[""]', "x", "annotations", "empty key", False),
    ("bad-namespace-type", "linux.namespaces[2].type", "bogus", None, '"bogus"', True),
    ("namespace-no-type", "linux.namespaces[1].type", DELETE, None, "required", True),
    ("namespaces-not-list", "linux.namespaces", {"type": "pid"}, None, "an array", True),
    ("idmap-negative", "linux.uidMappings[0].hostID", -1, None, "at least 0", True),
    ("idmap-no-size", "linux.gidMappings[0].size", DELETE, None, "required", True),
    ("time-offset-ns", "linux.timeOffsets.monotonic.nanosecs", -1, None, "at least 0", True),
    ("device-type", "linux.devices[0].type", "x", None, "one of", True),
    ("device-no-path", "linux.devices[1].path", DELETE, None, "required", True),
    ("device-no-major", "linux.devices[0].major", DELETE, None, "required", False),
    ("cgroups-path-int", "linux.cgroupsPath", 1, None, "a string", True),
    ("devcg-no-allow", "linux.resources.devices[0].allow", DELETE, None, "required", True),
    ("devcg-access", "linux.resources.devices[1].access", "rwx", None, "r, w and m", False),
    ("devcg-type", "linux.resources.devices[1].type", "p", None, "one of", False),
    ("memory-limit-str", "linux.resources.memory.limit", "1G", None, "an integer", True),
    ("memory-swappiness", "linux.resources.memory.swappiness", -1, None, "at least 0", True),
    ("cpu-burst-negative", "linux.resources.cpu.burst", -1, None, "at least 0", True),
    ("cpu-cpus-int", "linux.resources.cpu.cpus", 3, None, "a string", True),
    ("pids-no-limit", "linux.resources.pids.limit", DELETE, None, "required", True),
    ("blkio-weight", "linux.resources.blockIO.weight", 70000, None, "at most 65535", True),
    (
        "blkio-weightdevice-empty",
        "linux.resources.blockIO.weightDevice[1].weight",
        DELETE,
        "linux.resources.blockIO.weightDevice[1]",
        "weight or leafWeight",
        False,
    ),
    (
        "blkio-throttle-no-rate",
        "linux.resources.blockIO.throttleReadBpsDevice[0].rate",
        DELETE,
        None,
        "required",
        False,
    ),
    ("hugepage-size", "linux.resources.hugepageLimits[0].pageSize", "2mb", None, "2MB", True),
    ("hugepage-newline", "linux.resources.hugepageLimits[0].pageSize", "2MB\n", None, "", False),
    ("hugepage-no-limit", "linux.resources.hugepageLimits[1].limit", DELETE, None, "", True),
    ("net-prio-name", "linux.resources.network.priorities[0].name", DELETE, None, "", True),
    ("rdma-type", "linux.resources.rdma.mlx4_0.hcaObjects", "x", None, "an integer", True),
    (
        "rdma-empty",
        "linux.resources.rdma.mlx4_0",
        {},
        "linux.resources.rdma.mlx4_0",
        "hcaHandles or hcaObjects",
        False,
    ),
    ("unified-int", 'linux.resources.unified["memory.high"]', 1, None, "a string", True),
    ("sysctl-int", 'linux.sysctl["net.ipv4.ip_forward"]', 1, None, "a string", True),
    ("netdev-name-int", "linux.netDevices.eth0.name", 23, None, "a string", True),
    ("rdt-membw", "linux.intelRdt.memBwSchema", "L3:0=f", None, '"MB:"', True),
    ("seccomp-no-default", "linux.seccomp.defaultAction", DELETE, None, "required", True),
    ("seccomp-default", "linux.seccomp.defaultAction", "ALLOW", None, "SCMP_ACT_ALLOW", True),
    ("bad-seccomp-action", "linux.seccomp.syscalls[0].action", "SCMP_ACT_BOGUS", None, "", True),
    ("seccomp-no-names", "linux.seccomp.syscalls[0].names", [], None, "must not be empty", True),
    ("seccomp-op", "linux.seccomp.syscalls[1].args[0].op", "SCMP_CMP_XX", None, "one of", True),
    ("seccomp-arg-no-value", "linux.seccomp.syscalls[1].args[1].value", DELETE, None, "", True),
    ("seccomp-errno", "linux.seccomp.syscalls[2].errnoRet", -1, None, "at least 0", True),
    ("seccomp-arch", "linux.seccomp.architectures[0]", "SCMP_ARCH_Z80", None, "one of", True),
    ("seccomp-flag", "linux.seccomp.flags[1]", "SECCOMP_FILTER_FLAG_X", None, "one of", True),
    (
        "seccomp-metadata-without-listener",
        "linux.seccomp.listenerPath",
        DELETE,
        "linux.seccomp.listenerPath",
        "is required when listenerMetadata is set",
        False,
    ),
    ("bad-rootfs-propagation", "linux.rootfsPropagation", "sideways", None, "slave", True),
    ("masked-paths-str", "linux.maskedPaths", "/proc/kcore", None, "an array", True),
    ("readonly-path-int", "linux.readonlyPaths[0]", 0, None, "a string", True),
    ("personality-domain", "linux.personality.domain", "BSD", None, "LINUX32", True),
    ("personality-no-domain", "linux.personality.domain", DELETE, None, "required", False),
    ("mempolicy-mode", "linux.memoryPolicy.mode", "MPOL_FAST", None, "MPOL_BIND", True),
    ("mempolicy-flag", "linux.memoryPolicy.flags[0]", "MPOL_F_X", None, "one of", True),
]


@pytest.fixture(scope="module")
def full() -> dict[str, Any]:
    return full_config()


# --- the schema files --------------------------------------------------------------------------


def test_schema_files_are_valid_draft_2020_12() -> None:
    import jsonschema

    directory = schema.schema_dir()
    assert directory == REPO / "spec"
    for name in schema.SCHEMA_FILES:
        doc = json.loads((directory / name).read_bytes())
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(doc)


def test_schema_refs_are_local() -> None:
    """Every $ref points into one of our own files (resolvable offline)."""
    names = set(schema.SCHEMA_FILES)

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for name in names:
        doc = json.loads((schema.schema_dir() / name).read_bytes())
        for ref in refs(doc):
            target, _, _ = ref.partition("#")
            assert target == "" or target in names, f"{name}: {ref}"


def test_importing_module_does_not_import_jsonschema() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); import ociruntime.schema; "
        "assert 'jsonschema' not in sys.modules and 'referencing' not in sys.modules"
    )
    subprocess.run([sys.executable, "-I", "-c", code], check=True)


# --- the official vectors ----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "verdict", "path"), vector_params())
def test_official_vector(kind: str, verdict: str, path: Path) -> None:
    try:
        doc = json.loads(path.read_bytes())
    except ValueError:
        assert verdict == "bad", "a good vector must be valid JSON"
        return  # not even JSON: rejected before any schema is involved
    ours = ours_accepts(kind, doc)
    assert ours == (verdict == "good")
    if verdict == "bad":
        with pytest.raises(ConfigError) as info:
            VALIDATE[kind](doc)
        assert info.value.field == BAD_VECTOR_FIELDS.get(f"{kind}/{path.name}", info.value.field)
    assert official_accepts(kind, doc) == ours, "the official schema disagrees with ours"


# --- generated configs -------------------------------------------------------------------------


def test_runc_spec_is_valid() -> None:
    schema.validate_config(runc_spec())


def test_full_config_is_valid(full: dict[str, Any]) -> None:
    schema.validate_config(full)


@needs_shared
def test_official_accepts_generated_configs(full: dict[str, Any]) -> None:
    assert official_accepts("config", runc_spec())
    assert official_accepts("config", full)


@pytest.mark.parametrize(
    ("field", "value", "expected_field", "fragment", "official_rejects"),
    [pytest.param(*m[1:], id=m[0]) for m in MUTATIONS],
)
def test_mutation_is_rejected(
    full: dict[str, Any],
    field: str,
    value: Any,
    expected_field: str | None,
    fragment: str,
    official_rejects: bool,
) -> None:
    doc = mutate(full, field, value)
    with pytest.raises(ConfigError) as info:
        schema.validate_config(doc)
    want = expected_field or field
    assert info.value.field == want
    assert str(info.value).startswith(f"{want}: ")
    assert fragment in str(info.value)
    if OFFICIAL.is_dir():
        assert official_accepts("config", doc) != official_rejects


def test_error_message_format() -> None:
    doc = runc_spec()
    del doc["process"]["cwd"]
    with pytest.raises(ConfigError) as info:
        schema.validate_config(doc)
    assert info.value.field == "process.cwd"
    assert str(info.value) == "process.cwd: is a required property"


def test_document_not_an_object() -> None:
    with pytest.raises(ConfigError) as info:
        schema.validate_config([])
    assert info.value.field is None
    assert str(info.value) == "config must be an object, not an array"


def test_shallowest_error_wins() -> None:
    doc = mutate(runc_spec(), "linux.namespaces[0].type", "bogus")
    del doc["ociVersion"]
    with pytest.raises(ConfigError) as info:
        schema.validate_config(doc)
    assert info.value.field == "ociVersion"


@pytest.mark.parametrize("value", ["rprivate", "rshared", "rslave", "runbindable"])
def test_recursive_rootfs_propagation_is_accepted(value: str) -> None:
    """runc, runtime-tools and moby/containerd use the r* forms, which the prose omits."""
    schema.validate_config(mutate(runc_spec(), "linux.rootfsPropagation", value))


def test_other_platform_sections() -> None:
    base: dict[str, Any] = {"ociVersion": "1.3.0", "root": {"path": "rootfs"}}
    good: list[dict[str, Any]] = [
        {
            "windows": {
                "layerFolders": ["C:\\layers\\1"],
                "devices": [{"id": "x", "idType": "class"}],
            }
        },
        {"solaris": {"milestone": "svc:/milestone/container:default", "anet": [{"linkname": "n"}]}},
        {"vm": {"kernel": {"path": "/vmlinuz"}, "hwConfig": {"irqs": [1, 2], "iomems": []}}},
        {"zos": {"namespaces": [{"type": "pid"}]}},
        {"freebsd": {"jail": {"vnet": "new", "ip4": "disable"}}},
    ]
    for extra in good:
        schema.validate_config({**base, **extra})
    bad: list[tuple[dict[str, Any], str]] = [
        ({"windows": {}}, "windows.layerFolders"),
        ({"vm": {"hwConfig": {}}}, "vm.kernel"),
        ({"vm": {"kernel": {"path": "k"}, "hwConfig": {"irqs": [-1]}}}, "vm.hwConfig.irqs[0]"),
        ({"zos": {"namespaces": [{"type": "network"}]}}, "zos.namespaces[0].type"),
    ]
    for extra, field in bad:
        with pytest.raises(ConfigError) as info:
            schema.validate_config({**base, **extra})
        assert info.value.field == field


@needs_shared
def test_official_arrayofuint32_ref_is_broken() -> None:
    """Finding: v1.3.0 defs.json has ``"$ref": "#definitions/uint32"`` (no slash), so the
    official schema cannot check a non-empty vm.hwConfig.irqs at all; ours can."""
    import referencing.exceptions

    doc = {"ociVersion": "1.3.0", "vm": {"kernel": {"path": "k"}, "hwConfig": {"irqs": [1]}}}
    with pytest.raises(referencing.exceptions.Unresolvable):
        official_accepts("config", doc)
    schema.validate_config(doc)


# --- state and features ------------------------------------------------------------------------

STATE = {
    "ociVersion": "1.3.0",
    "id": "oci-container1",
    "status": "running",
    "pid": 4422,
    "bundle": "/containers/redis",
    "annotations": {"myKey": "myValue"},
}


def test_state() -> None:
    schema.validate_state(STATE)
    schema.validate_state({k: v for k, v in STATE.items() if k not in ("pid", "annotations")})
    cases = [
        (mutate(STATE, "status", DELETE), "status", "is a required property"),
        (mutate(STATE, "status", "paused"), "status", '"creating"'),
        (mutate(STATE, "pid", -1), "pid", "at least 0"),
        (mutate(STATE, "bundle", DELETE), "bundle", "required"),
        (mutate(STATE, "id", 5), "id", "a string"),
    ]
    for doc, field, fragment in cases:
        with pytest.raises(ConfigError) as info:
            schema.validate_state(doc)
        assert info.value.field == field
        assert fragment in str(info.value)


def test_features() -> None:
    doc = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.3.0",
        "hooks": ["prestart", "poststop"],
        "mountOptions": ["ro", "rbind"],
        "potentiallyUnsafeConfigAnnotations": ["org.systemd.property."],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"],
            "capabilities": ["CAP_CHOWN", "CAP_BPF"],
            "cgroup": {"v1": False, "v2": True, "systemd": True, "systemdUser": True, "rdma": True},
            "seccomp": {
                "enabled": True,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_NOTIFY"],
                "operators": ["SCMP_CMP_EQ"],
                "archs": ["SCMP_ARCH_X86_64"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC"],
            },
            "apparmor": {"enabled": True},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": True}},
            "netDevices": {"enabled": True},
        },
        "annotations": {"org.opencontainers.runc.version": "1.3.0"},
    }
    schema.validate_features(doc)
    cases = [
        (mutate(doc, "ociVersionMax", DELETE), "ociVersionMax"),
        (mutate(doc, "linux.namespaces[0]", "bogus"), "linux.namespaces[0]"),
        (mutate(doc, "linux.capabilities[1]", "chown"), "linux.capabilities[1]"),
        (mutate(doc, "linux.seccomp.actions[0]", "ALLOW"), "linux.seccomp.actions[0]"),
        (mutate(doc, "linux.cgroup.v2", "yes"), "linux.cgroup.v2"),
    ]
    for bad, field in cases:
        with pytest.raises(ConfigError) as info:
            schema.validate_features(bad)
        assert info.value.field == field


# --- what a check loads -------------------------------------------------------------------------


def raw_config() -> bytes:
    return json.dumps(runc_spec(), indent="\t").encode()


def _run_isolated(config: Path) -> set[str]:
    """Validate *config* in a fresh ``python -I`` and return which heavy modules it imported
    (``re`` included: the quick check reads the schema's patterns without it)."""
    code = "\n".join(
        [
            "import sys",  # not json: it imports re
            f"sys.path.insert(0, {str(REPO)!r})",
            f"sys.path.append({sysconfig.get_paths()['purelib']!r})",
            "from ociruntime import fastjson as json",
            "from ociruntime.errors import ConfigError",
            "from ociruntime.schema import validate_config",
            f"raw = open({str(config)!r}, 'rb').read()",
            "try:",
            "    validate_config(json.loads(raw))",
            "except ConfigError:",
            "    pass",
            "print(json.dumps(sorted({'jsonschema', 'referencing', 're'} & set(sys.modules))))",
        ]
    )
    out = subprocess.run(
        # -S as the launcher: site's .pth processing imports re
        [sys.executable, "-I", "-S", "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out))


def test_valid_config_never_imports_jsonschema(tmp_path: Path) -> None:
    """A config never seen before (what engines pass on every create) is checked by
    schema_check alone."""
    config = tmp_path / "config.json"
    config.write_bytes(raw_config())
    assert _run_isolated(config) == set()


def test_invalid_config_is_worded_by_jsonschema(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(json.dumps(mutate(runc_spec(), "process.args", "sh")).encode())
    assert {"jsonschema", "referencing"} <= _run_isolated(config)
    with pytest.raises(ConfigError, match="process.args"):
        schema.validate_config(json.loads(config.read_bytes()))


def test_schema_dir_env_independent() -> None:
    """The schema files are found relative to the package, not the working directory."""
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); from ociruntime import schema; "
        "print(schema.schema_dir())"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(REPO),
    ).stdout.strip()
    assert Path(out) == REPO / "spec"
