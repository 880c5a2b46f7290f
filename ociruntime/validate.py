"""Semantic validation of a bundle's config.json (the second validation layer).

The first layer checks the document against the runtime-spec JSON Schema; this one checks
what a schema cannot express: cross-field rules, host facts and the file system.  The checks
follow runc 1.1.5 (``libcontainer/configs/validate/validator.go``, ``rootless.go``,
``utils_linux.go: validateProcessSpec``, ``libcontainer/specconv/spec_linux.go``) and the
MUST clauses of runtime-spec v1.3.0.  Where runc has a message, it is kept word for word
(lowercased where newer runc lowercased it) because callers match on substrings.

Each check is a small function in :data:`CHECKS`; :func:`validate_config` runs them in order,
raises :class:`~ociruntime.errors.ConfigError` on the first error and returns the warnings.
The input passed the schema already, but every access here is defensive.
"""

from __future__ import annotations

import os
import stat

from ociruntime.errors import ConfigError, EmptyIDError
from ociruntime.hooks import HOOK_KINDS
from ociruntime.record import dataclass, field
from ociruntime.state import check_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, TypeGuard

__all__ = [
    "AUTO",
    "CAPABILITIES",
    "CHECKS",
    "EmptyIDError",
    "HostInfo",
    "RLIMITS",
    "ValidationContext",
    "validate_config",
    "validate_id",
]

#: Highest valid uid/gid: ``(uid_t)-1`` means "no change" to the kernel.
MAX_ID = 2**32 - 2

#: runc's ``rlimitMap`` (utils_linux.go / specconv): the only rlimit names it maps.
RLIMITS: frozenset[str] = frozenset(
    "RLIMIT_" + n
    for n in (
        "CPU FSIZE DATA STACK CORE RSS NPROC NOFILE MEMLOCK AS LOCKS SIGPENDING "
        "MSGQUEUE NICE RTPRIO RTTIME"
    ).split()
)

#: Capability name -> number (linux/capability.h, up to CAP_CHECKPOINT_RESTORE).
CAPABILITIES: dict[str, int] = {
    "CAP_" + n: i
    for i, n in enumerate(
        (
            "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
            "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK "
            "IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN "
            "SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE "
            "AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND "
            "AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE"
        ).split()
    )
}

#: runtime-spec namespace type -> entry name under /proc/self/ns.
NAMESPACE_PROC_NAMES: dict[str, str] = {
    "pid": "pid",
    "network": "net",
    "mount": "mnt",
    "ipc": "ipc",
    "uts": "uts",
    "user": "user",
    "cgroup": "cgroup",
    "time": "time",
}

#: runc specconv ``mountPropagationMapping`` keys.
ROOTFS_PROPAGATIONS = frozenset(
    ("rprivate", "private", "rslave", "slave", "rshared", "shared", "runbindable", "unbindable")
)

SECCOMP_ACTIONS = frozenset(
    (
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",
    )
)
SECCOMP_ERRNO_ACTIONS = frozenset(("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"))
#: runc's ``archs`` map plus the PA-RISC names runtime-spec lists.
SECCOMP_ARCHS = frozenset(
    "SCMP_ARCH_" + a
    for a in (
        "X86 X86_64 X32 ARM AARCH64 MIPS MIPS64 MIPS64N32 MIPSEL MIPSEL64 MIPSEL64N32 PPC "
        "PPC64 PPC64LE RISCV64 S390 S390X LOONGARCH64 PARISC PARISC64"
    ).split()
)
SECCOMP_OPERATORS = frozenset(
    "SCMP_CMP_" + o for o in ("NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ")
)
SECCOMP_FLAGS = frozenset(
    (
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    )
)

SCHED_POLICIES = frozenset(
    "SCHED_" + p for p in ("OTHER", "FIFO", "RR", "BATCH", "ISO", "IDLE", "DEADLINE")
)
SCHED_FLAGS = frozenset(
    "SCHED_FLAG_" + f
    for f in (
        "RESET_ON_FORK",
        "RECLAIM",
        "DL_OVERRUN",
        "KEEP_POLICY",
        "KEEP_PARAMS",
        "UTIL_CLAMP_MIN",
        "UTIL_CLAMP_MAX",
    )
)
IOPRIO_CLASSES = frozenset(("IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"))

#: runc specconv ``mpolModeMap`` / ``mpolModeFMap`` keys.
MPOL_MODES = frozenset(
    "MPOL_" + m
    for m in (
        "DEFAULT",
        "PREFERRED",
        "BIND",
        "INTERLEAVE",
        "LOCAL",
        "PREFERRED_MANY",
        "WEIGHTED_INTERLEAVE",
    )
)
MPOL_FLAGS = frozenset(("MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES", "MPOL_F_NUMA_BALANCING"))
#: Modes for which set_mempolicy(2) rejects an empty nodemask.
MPOL_NEED_NODES = frozenset(
    ("MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED_MANY")
)
#: Modes for which set_mempolicy(2) rejects a non-empty nodemask.
MPOL_NO_NODES = frozenset(("MPOL_DEFAULT", "MPOL_LOCAL"))

HOOK_NAMES = HOOK_KINDS

#: What may follow the ``-`` or ``+`` of a version (pre-release and build metadata).
_VERSION_SUFFIX = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.+-")
#: Kernel ``isspace()`` characters, rejected in interface names by ``dev_valid_name()``.
_KERNEL_SPACE = frozenset(" \t\n\v\f\r")
IFNAMSIZ = 16


# --------------------------------------------------------------------------------------------
# container id


def validate_id(container_id: str) -> None:
    """Reject ids runc rejects (the check lives in ``state.check_id``, on the light path).

    runc ``utils_linux.go``: an empty id is ``errEmptyID`` ("container id cannot be empty").
    runc ``factory_linux.go: validateID``: the id must match ``^[\\w+-\\.]+$`` (ASCII word
    characters plus ``+``, ``,``, ``-``, ``.``) and ``"/" + id`` must be its own clean path,
    which rules out ``.`` and ``..``; otherwise ``ErrInvalidID`` ("invalid container ID
    format").
    """
    check_id(container_id)


# --------------------------------------------------------------------------------------------
# host facts


class _Auto:
    """Marker for a :class:`HostInfo` fact that is read from the host on first use."""

    def __repr__(self) -> str:
        return "AUTO"


#: Default of every :class:`HostInfo` fact: probe the host lazily.
AUTO = _Auto()


@dataclass
class HostInfo:
    """Facts about the host the checks depend on, each read lazily on first use.

    Tests inject values instead of :data:`AUTO`:

    * ``namespaces``: names of the entries in ``/proc/self/ns`` (``net``, ``mnt``, ...).
    * ``cap_last_cap``: ``/proc/sys/kernel/cap_last_cap``, or ``None`` when unknown.
    * ``selinux_enabled``: whether selinuxfs is mounted (go-selinux ``GetEnabled``).
    * ``resctrl``: entries of ``<resctrl mount>/info`` (``L3``, ``MB``, ...), or ``None``
      when no resctrl file system is mounted.
    * ``host_netns``: ``(st_dev, st_ino)`` of ``/proc/self/ns/net``.
    """

    namespaces: frozenset[str] | _Auto = AUTO
    cap_last_cap: int | None | _Auto = AUTO
    selinux_enabled: bool | _Auto = AUTO
    resctrl: frozenset[str] | None | _Auto = AUTO
    host_netns: tuple[int, int] | _Auto = AUTO
    proc: str = "/proc"
    sys: str = "/sys"

    def supports_namespace(self, ns_type: str) -> bool:
        """Whether the kernel has namespaces of runtime-spec type ``ns_type``."""
        if isinstance(self.namespaces, _Auto):
            try:
                self.namespaces = frozenset(os.listdir(os.path.join(self.proc, "self", "ns")))
            except OSError:
                # Cannot tell (odd sandbox): do not fail what the kernel may well support.
                self.namespaces = frozenset(NAMESPACE_PROC_NAMES.values())
        return NAMESPACE_PROC_NAMES.get(ns_type, ns_type) in self.namespaces

    def last_cap(self) -> int | None:
        """The highest capability number the running kernel knows, if readable."""
        if isinstance(self.cap_last_cap, _Auto):
            try:
                path = os.path.join(self.proc, "sys", "kernel", "cap_last_cap")
                with open(path, encoding="ascii") as f:
                    self.cap_last_cap = int(f.read().strip())
            except (OSError, ValueError):
                self.cap_last_cap = None
        return self.cap_last_cap

    def selinux(self) -> bool:
        """Whether SELinux is enabled (selinuxfs mounted with an ``enforce`` file)."""
        if isinstance(self.selinux_enabled, _Auto):
            self.selinux_enabled = os.path.exists(os.path.join(self.sys, "fs/selinux/enforce"))
        return self.selinux_enabled

    def resctrl_info(self) -> frozenset[str] | None:
        """Entries of the resctrl ``info`` directory, or ``None`` if resctrl is not mounted."""
        if isinstance(self.resctrl, _Auto):
            self.resctrl = _probe_resctrl(self.proc)
        return self.resctrl

    def is_host_netns(self, path: str) -> bool:
        """Whether ``path`` is the runtime's own network namespace (runc ``isHostNetNS``).

        Raises ``OSError`` when either file cannot be stat'ed.
        """
        if isinstance(self.host_netns, _Auto):
            st = os.stat(os.path.join(self.proc, "self", "ns", "net"))
            self.host_netns = (st.st_dev, st.st_ino)
        st = os.stat(path)
        return (st.st_dev, st.st_ino) == self.host_netns


def _probe_resctrl(proc: str) -> frozenset[str] | None:
    """Find a mounted resctrl file system in mountinfo and list its ``info`` directory."""
    try:
        with open(os.path.join(proc, "self", "mountinfo"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or right.split()[:1] != ["resctrl"]:
            continue
        mountpoint = fields[4].replace("\\040", " ")
        try:
            return frozenset(os.listdir(os.path.join(mountpoint, "info")))
        except OSError:
            return frozenset()
    return None


# --------------------------------------------------------------------------------------------
# context and helpers


@dataclass
class ValidationContext:
    """What every check sees: the config, the bundle, the mode, the host and the warnings."""

    config: dict[str, Any]
    bundle: str
    rootless: bool
    host: HostInfo
    warnings: list[str] = field(default_factory=list)

    @property
    def process(self) -> dict[str, Any]:
        """``process`` or an empty dict."""
        return _obj(self.config.get("process"))

    @property
    def linux(self) -> dict[str, Any]:
        """``linux`` or an empty dict."""
        return _obj(self.config.get("linux"))

    @property
    def namespaces(self) -> dict[str, str]:
        """Namespace type -> path (``""`` for a new namespace), first entry of each type."""
        out: dict[str, str] = {}
        for ns in _objs(self.linux.get("namespaces")):
            t = ns.get("type")
            if isinstance(t, str) and t not in out:
                out[t] = _str(ns.get("path"))
        return out

    def has_ns(self, ns_type: str) -> bool:
        """Whether the container gets (creates or joins) a namespace of this type."""
        return ns_type in self.namespaces

    def warn(self, message: str) -> None:
        """Record a warning for the caller to log."""
        self.warnings.append(message)


if TYPE_CHECKING:
    Check = Callable[[ValidationContext], None]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _objs(value: Any) -> Iterator[dict[str, Any]]:
    for item in _list(value):
        if isinstance(item, dict):
            yield item


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _q(value: Any) -> str:
    """Go's ``%q`` for the strings these messages quote."""
    s = str(value)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\x00") + '"'


def _go_list(items: list[str]) -> str:
    """Go's ``%v`` of a ``[]string``: ``[a b c]``."""
    return "[" + " ".join(items) + "]"


def _oserror(op: str, path: str, exc: OSError) -> str:
    """Go's ``*PathError`` text: ``stat /x: no such file or directory``."""
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return f"{op} {path}: {reason}"


def _clean(path: str) -> str:
    """Go's ``filepath.Clean`` for an absolute path (``normpath`` keeps a leading ``//``)."""
    p = os.path.normpath(path)
    return "/" + p.lstrip("/") if p.startswith("//") else p


def _check_id(value: Any, where: str, what: str = "id") -> None:
    if value is None:
        return
    if not _is_int(value) or not 0 <= value <= MAX_ID:
        raise ConfigError(f"{what} {value} is out of range (0-{MAX_ID})", field=where)


def _parse_list_set(text: str) -> set[int]:
    """Parse a cpuset-style list (``0-3,7``); raise ``ValueError`` when malformed."""
    out: set[int] = set()
    if text.strip() == "":
        return out
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise ValueError(f"invalid range {part!r}")
        a, b = int(lo), int(hi) if dash else int(lo)
        if a > b:
            raise ValueError(f"invalid range {part!r}")
        out.update(range(a, b + 1))
    return out


def _check_mappings(maps: Any, where: str) -> None:
    for i, m in enumerate(_list(maps)):
        here = f"{where}[{i}]"
        if not isinstance(m, dict):
            raise ConfigError("mapping must be an object", field=here)
        cid, hid, size = m.get("containerID"), m.get("hostID"), m.get("size")
        _check_id(cid, f"{here}.containerID", "containerID")
        _check_id(hid, f"{here}.hostID", "hostID")
        if not _is_int(size) or size < 1:
            raise ConfigError(f"size {size} must be at least 1", field=f"{here}.size")
        for name, start in (("containerID", cid), ("hostID", hid)):
            if _is_int(start) and start + size > 2**32:
                raise ConfigError(
                    f"{name} {start} + size {size} exceeds the 32-bit id space", field=here
                )


def _mapped(maps: Any, container_id: int) -> bool:
    for m in _objs(maps):
        cid, size = m.get("containerID"), m.get("size")
        if _is_int(cid) and _is_int(size) and cid <= container_id < cid + size:
            return True
    return False


# --------------------------------------------------------------------------------------------
# checks


def check_oci_version(ctx: ValidationContext) -> None:
    """``ociVersion`` must be a 1.x version.

    runtime-spec config.md: ``ociVersion`` is SemVer, compatibility holds within a major
    version, and a runtime MAY reject what it does not support.  runc 1.1.5 does not check;
    this runtime implements 1.x and rejects other majors (``0.x`` pre-1.0 drafts, ``2.x``).
    """
    version = ctx.config.get("ociVersion")
    if version is None:
        return
    major = _version_major(_str(version))
    if major is None:
        raise ConfigError(f"invalid spec version {_q(version)}", field="ociVersion")
    if major != "1":
        raise ConfigError(f"unsupported spec version {_q(version)}", field="ociVersion")


def _version_major(version: str) -> str | None:
    """The major of ``N.N[.N]``, optionally followed by ``-`` or ``+`` and a suffix of
    ``[0-9A-Za-z.+-]``; None for anything else (``re`` would cost ~5 ms to import)."""
    cut = min((i for i in (version.find("-"), version.find("+")) if i >= 0), default=-1)
    core, suffix = (version, "") if cut < 0 else (version[:cut], version[cut + 1:])
    parts = core.split(".")
    if len(parts) not in (2, 3) or not all(p.isdecimal() for p in parts):
        return None
    if not all(c in _VERSION_SUFFIX for c in suffix):
        return None
    return parts[0]


def check_process_present(ctx: ValidationContext) -> None:
    """runc ``validateProcessSpec``: ``process property must not be empty`` (create/run)."""
    if not isinstance(ctx.config.get("process"), dict):
        raise ConfigError("process property must not be empty", field="process")


def check_process_cwd(ctx: ValidationContext) -> None:
    """runc ``validateProcessSpec``; runtime-spec: ``cwd`` MUST be an absolute path."""
    cwd = ctx.process.get("cwd")
    if not cwd:
        raise ConfigError("cwd property must not be empty", field="process.cwd")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise ConfigError("cwd must be an absolute path", field="process.cwd")
    if "\x00" in cwd:
        raise ConfigError("cwd contains nul byte (\\x00)", field="process.cwd")


def check_process_args(ctx: ValidationContext) -> None:
    """runc ``validateProcessSpec``: ``args must not be empty``; no NUL byte in any arg.

    runtime-spec: at least one entry is REQUIRED on non-Windows platforms.  An argument with a
    NUL byte cannot be passed to execve(2).
    """
    args = ctx.process.get("args")
    if not isinstance(args, list) or not args:
        raise ConfigError("args must not be empty", field="process.args")
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            raise ConfigError("argument must be a string", field=f"process.args[{i}]")
        if "\x00" in arg:
            raise ConfigError(
                f"argument {_q(arg)} contains nul byte (\\x00)", field=f"process.args[{i}]"
            )
    if args[0] == "":
        raise ConfigError("args[0] must not be empty", field="process.args[0]")


def check_process_env(ctx: ValidationContext) -> None:
    """runc ``prepareEnv``/``populateProcessEnvironment``: every entry is ``KEY=VALUE``.

    Wording from runc: ``invalid environment variable: missing '='``, ``... name cannot be
    empty`` and ``invalid environment variable "K": contains nul byte (\\x00)``.
    """
    for i, kv in enumerate(_list(ctx.process.get("env"))):
        where = f"process.env[{i}]"
        if not isinstance(kv, str):
            raise ConfigError("invalid environment variable: not a string", field=where)
        key, sep, _ = kv.partition("=")
        if not sep:
            raise ConfigError("invalid environment variable: missing '='", field=where)
        if not key:
            raise ConfigError("invalid environment variable: name cannot be empty", field=where)
        if "\x00" in kv:
            raise ConfigError(
                f"invalid environment variable {_q(key)}: contains nul byte (\\x00)", field=where
            )


def check_process_user(ctx: ValidationContext) -> None:
    """uid, gid and additionalGids in ``0..2^32-2``; an odd ``umask`` is a warning.

    ``(uid_t)-1`` means "unchanged" to setresuid(2), so it cannot name a user.  The kernel
    keeps only ``umask & 0777``; runc passes the value through, so extra bits only warn.
    """
    user = _obj(ctx.process.get("user"))
    _check_id(user.get("uid"), "process.user.uid", "uid")
    _check_id(user.get("gid"), "process.user.gid", "gid")
    for i, gid in enumerate(_list(user.get("additionalGids"))):
        _check_id(gid, f"process.user.additionalGids[{i}]", "gid")
    umask = user.get("umask")
    if umask is None:
        return
    if not _is_int(umask) or umask < 0:
        raise ConfigError(f"invalid umask {umask}", field="process.user.umask")
    if umask > 0o777:
        ctx.warn(f"process.user.umask {umask:#o} has bits outside 0777 which are ignored")


def check_rlimits(ctx: ValidationContext) -> None:
    """Rlimit types known, not duplicated, soft not above hard.

    runc ``strToRlimit``: ``wrong rlimit value: RLIMIT_X``.  runtime-spec: duplicated
    ``type`` entries MUST be an error, and ``rlim_cur``/``rlim_max`` MUST match the config,
    which setrlimit(2) refuses (EINVAL) when soft exceeds hard.
    """
    seen: set[str] = set()
    for i, rl in enumerate(_objs(ctx.process.get("rlimits"))):
        where = f"process.rlimits[{i}]"
        t = _str(rl.get("type"))
        if t not in RLIMITS:
            raise ConfigError(f"wrong rlimit value: {t}", field=f"{where}.type")
        if t in seen:
            raise ConfigError(f"duplicate rlimit type {t}", field=f"{where}.type")
        seen.add(t)
        soft, hard = rl.get("soft"), rl.get("hard")
        if _is_int(soft) and _is_int(hard) and soft > hard:
            raise ConfigError(f"{t}: soft limit {soft} is greater than hard limit {hard}", where)


def check_capabilities(ctx: ValidationContext) -> None:
    """Unknown or unavailable capabilities are a warning, never an error.

    runc ``capabilities.New``: ``ignoring unknown or unavailable capabilities: [...]``
    (sorted, de-duplicated, all sets together).  runtime-spec: such values MUST be logged as
    a warning and runtimes SHOULD NOT fail.
    """
    caps = _obj(ctx.process.get("capabilities"))
    last = ctx.host.last_cap()
    unknown: set[str] = set()
    for kind in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        for name in _list(caps.get(kind)):
            num = CAPABILITIES.get(name) if isinstance(name, str) else None
            if num is None or (last is not None and num > last):
                unknown.add(str(name))
    if unknown:
        ctx.warn(f"ignoring unknown or unavailable capabilities: {_go_list(sorted(unknown))}")


def check_scheduler(ctx: ValidationContext) -> None:
    """runc ``scheduler`` check (validator.go) plus the runtime-spec policy and flag lists."""
    s = ctx.process.get("scheduler")
    if s is None:
        return
    s = _obj(s)
    where = "process.scheduler"
    policy = s.get("policy")
    if not policy:
        raise ConfigError("scheduler policy is required", field=f"{where}.policy")
    if policy not in SCHED_POLICIES:
        raise ConfigError(f"invalid scheduler policy {_q(policy)}", field=f"{where}.policy")
    nice = s.get("nice", 0)
    if not _is_int(nice) or not -20 <= nice <= 19:
        raise ConfigError(f"invalid scheduler.nice: {nice}", field=f"{where}.nice")
    if s.get("priority", 0) and policy not in ("SCHED_FIFO", "SCHED_RR"):
        raise ConfigError(
            "scheduler.priority can only be specified for SchedFIFO or SchedRR policy",
            field=f"{where}.priority",
        )
    if policy != "SCHED_DEADLINE" and any(s.get(k) for k in ("runtime", "deadline", "period")):
        raise ConfigError(
            "scheduler runtime/deadline/period can only be specified for SchedDeadline policy",
            field=where,
        )
    for i, flag in enumerate(_list(s.get("flags"))):
        if flag not in SCHED_FLAGS:
            raise ConfigError(f"invalid scheduler flag {_q(flag)}", field=f"{where}.flags[{i}]")


def check_io_priority(ctx: ValidationContext) -> None:
    """runtime-spec ``ioPriority``: class RT/BE/IDLE, priority 0..7 (runc ``ioPriority``)."""
    io = ctx.process.get("ioPriority")
    if io is None:
        return
    io = _obj(io)
    cls = io.get("class")
    if cls not in IOPRIO_CLASSES:
        raise ConfigError(f"invalid io priority class: {cls}", field="process.ioPriority.class")
    prio = io.get("priority")
    if not _is_int(prio) or not 0 <= prio <= 7:
        raise ConfigError(
            f"invalid ioPriority.Priority: {prio}", field="process.ioPriority.priority"
        )


def check_exec_cpu_affinity(ctx: ValidationContext) -> None:
    """runtime-spec ``execCPUAffinity``: ``initial``/``final`` are CPU lists like ``0-3,7``."""
    aff = _obj(ctx.process.get("execCPUAffinity"))
    for key in ("initial", "final"):
        value = aff.get(key)
        if value is None:
            continue
        try:
            _parse_list_set(_str(value))
        except ValueError as exc:
            raise ConfigError(
                f"invalid CPU list {_q(value)}: {exc}", field=f"process.execCPUAffinity.{key}"
            ) from None


def check_selinux_label(ctx: ValidationContext) -> None:
    """runc ``validateProcessSpec``/``security``: a label needs SELinux enabled."""
    if ctx.process.get("selinuxLabel") and not ctx.host.selinux():
        raise ConfigError(
            "selinux label is specified in config, but selinux is disabled or not supported",
            field="process.selinuxLabel",
        )


def check_apparmor_profile(ctx: ValidationContext) -> None:
    """A profile needs AppArmor: runc would fail writing ``attr/exec``; this runtime does not
    load profiles, so a config that asks for one is refused instead of run unconfined."""
    if ctx.process.get("apparmorProfile"):
        raise ConfigError(
            "apparmor profile is specified in config, but AppArmor is not supported by this "
            "runtime or not enabled on this host",
            field="process.apparmorProfile",
        )


def check_root(ctx: ValidationContext) -> None:
    """runc specconv: ``root must be specified``; runtime-spec: ``root.path`` is REQUIRED."""
    root = ctx.config.get("root")
    if not isinstance(root, dict):
        raise ConfigError("root must be specified", field="root")
    if not root.get("path") or not isinstance(root.get("path"), str):
        raise ConfigError("path must not be empty", field="root.path")


def check_rootfs(ctx: ValidationContext) -> None:
    """The rootfs exists, is a directory and no component of its path is a symlink.

    runc ``rootfs`` check: the path is joined to the bundle (runc's cwd, as the kernel
    reports it), stat'ed (``invalid rootfs: stat ...``) and compared to its symlink-free
    form (``invalid rootfs: not an absolute path, or a symlink``).  runtime-spec: "A
    directory MUST exist at the path declared by the field".
    """
    path = _str(_obj(ctx.config.get("root")).get("path"))
    if not path.startswith("/"):
        path = os.path.join(os.path.realpath(ctx.bundle), path)
    path = _clean(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(
            f"invalid rootfs: {_oserror('stat', path, exc)}", field="root.path"
        ) from None
    if os.path.realpath(path) != path:
        raise ConfigError("invalid rootfs: not an absolute path, or a symlink", field="root.path")
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"invalid rootfs: {path}: not a directory", field="root.path")


def check_namespaces(ctx: ValidationContext) -> None:
    """Namespace types known and unique, paths absolute, kernel support present.

    runc specconv: ``namespace %q does not exist``, ``malformed spec file: duplicated ns
    %q``.  runtime-spec: duplicated types MUST be an error; ``path`` MUST be absolute.  runc
    validator ``namespaces``: ``user namespaces aren't enabled in the kernel`` (likewise
    cgroup and time; applied here to every type via ``/proc/self/ns``).
    """
    seen: set[str] = set()
    for i, ns in enumerate(_objs(ctx.linux.get("namespaces"))):
        where = f"linux.namespaces[{i}]"
        t = ns.get("type")
        if t not in NAMESPACE_PROC_NAMES:
            raise ConfigError(f"namespace {_q(t)} does not exist", field=f"{where}.type")
        if t in seen:
            raise ConfigError(f"malformed spec file: duplicated ns {_q(t)}", field=f"{where}.type")
        seen.add(t)
        path = ns.get("path")
        if path and (not isinstance(path, str) or not path.startswith("/")):
            raise ConfigError(
                f"namespace path {_q(path)} must be an absolute path", field=f"{where}.path"
            )
        if not ctx.host.supports_namespace(t):
            raise ConfigError(f"{t} namespaces aren't enabled in the kernel", field=where)


def check_user_namespace(ctx: ValidationContext) -> None:
    """User namespace and id mappings go together; ids are in range and mapped.

    runc validator ``usernamespace``: ``user namespaces enabled, but no namespace path to
    join nor mappings to apply specified`` and ``user namespace mappings specified, but user
    namespace isn't enabled in the config``.  runc init: ``cannot set uid to unmapped user in
    user namespace`` (and gid), caught here before any process exists.
    """
    linux = ctx.linux
    uid_maps, gid_maps = linux.get("uidMappings"), linux.get("gidMappings")
    has_maps = bool(_list(uid_maps) or _list(gid_maps))
    _check_mappings(uid_maps, "linux.uidMappings")
    _check_mappings(gid_maps, "linux.gidMappings")
    if not ctx.has_ns("user"):
        if has_maps:
            raise ConfigError(
                "user namespace mappings specified, but user namespace isn't enabled in the config",
                field="linux.uidMappings" if _list(uid_maps) else "linux.gidMappings",
            )
        return
    if ctx.namespaces["user"]:
        return  # joining: the mappings are the namespace's own
    if not has_maps:
        raise ConfigError(
            "user namespaces enabled, but no namespace path to join nor mappings to apply "
            "specified",
            field="linux.namespaces",
        )
    user = _obj(ctx.process.get("user"))
    checks = [("uid", user.get("uid"), uid_maps, "process.user.uid")]
    checks.append(("gid", user.get("gid"), gid_maps, "process.user.gid"))
    for i, g in enumerate(_list(user.get("additionalGids"))):
        checks.append(("gid", g, gid_maps, f"process.user.additionalGids[{i}]"))
    for what, value, maps, where in checks:
        if _is_int(value) and _list(maps) and not _mapped(maps, value):
            raise ConfigError(f"cannot set {what} to unmapped user in user namespace", where)


def check_rootless(ctx: ValidationContext) -> None:
    """runc ``rootlessEUIDMappings``: a rootless container needs its own mapped userns."""
    if not ctx.rootless:
        return
    if not ctx.has_ns("user"):
        raise ConfigError("rootless container requires user namespaces", field="linux.namespaces")
    if ctx.namespaces["user"]:
        return
    if not _list(ctx.linux.get("uidMappings")):
        raise ConfigError(
            "rootless containers requires at least one UID mapping", field="linux.uidMappings"
        )
    if not _list(ctx.linux.get("gidMappings")):
        raise ConfigError(
            "rootless containers requires at least one GID mapping", field="linux.gidMappings"
        )


def check_time_namespace(ctx: ValidationContext) -> None:
    """runc validator ``namespaces``: offsets need a time namespace; clocks and ranges valid.

    Wording: ``time namespace offsets specified, but time namespace isn't enabled in the
    config``.  time_namespaces(7): only ``monotonic`` and ``boottime`` can be offset, and
    nanoseconds must be below one second.
    """
    offsets = ctx.linux.get("timeOffsets")
    if offsets is None:
        return
    if offsets and not ctx.has_ns("time"):
        raise ConfigError(
            "time namespace offsets specified, but time namespace isn't enabled in the config",
            field="linux.timeOffsets",
        )
    for clock, off in _obj(offsets).items():
        where = f"linux.timeOffsets.{clock}"
        if clock not in ("monotonic", "boottime"):
            raise ConfigError(f"unknown clock {_q(clock)}, want monotonic or boottime", where)
        nsec = _obj(off).get("nanosecs", 0)
        if not _is_int(nsec) or not 0 <= nsec < 10**9:
            raise ConfigError(f"nanosecs {nsec} out of range (0-999999999)", where)


def check_uts(ctx: ValidationContext) -> None:
    """runc validator ``uts``: hostname and domainname need a private UTS namespace.

    Wording: ``unable to set hostname without a private UTS namespace`` (and domainname).
    sethostname(2)/setdomainname(2) refuse more than 64 bytes.
    """
    for key in ("hostname", "domainname"):
        value = ctx.config.get(key)
        if not value:
            continue
        if not ctx.has_ns("uts"):
            raise ConfigError(f"unable to set {key} without a private UTS namespace", field=key)
        if not isinstance(value, str) or len(value.encode()) > 64:
            raise ConfigError(f"{key} must be at most 64 bytes", field=key)


def _sysctl_dots(name: str) -> str:
    """runc ``convertSysctlVariableToDotsSeparator``: ``a/b.c`` -> ``a.b/c``."""
    first = min((i for i in (name.find("."), name.find("/")) if i >= 0), default=-1)
    if first == -1 or name[first] == ".":
        return name
    return name.translate(str.maketrans("./", "/."))


_IPC_SYSCTLS = frozenset(
    (
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    )
)


def check_sysctl(ctx: ValidationContext) -> None:
    """runc validator ``sysctl``: only namespaced sysctls, each with its namespace.

    IPC sysctls (``kernel.msg*``, ``kernel.sem``, ``kernel.shm*``, ``fs.mqueue.*``) need an
    ipc namespace; ``net.*`` needs a network namespace that is not the runtime's own;
    ``kernel.domainname`` needs a uts namespace; ``kernel.hostname`` conflicts with the
    ``hostname`` field; everything else is not namespaced.  Wording is runc's.
    """
    sysctl = _obj(ctx.linux.get("sysctl"))
    hostnet: bool | None = None
    for raw in sysctl:
        s = _sysctl_dots(raw)
        where = f"linux.sysctl.{raw}"
        if s in _IPC_SYSCTLS or s.startswith("fs.mqueue."):
            if ctx.has_ns("ipc"):
                continue
            raise ConfigError(f"sysctl {_q(s)} is not allowed in the hosts ipc namespace", where)
        if s.startswith("net."):
            if hostnet is None:
                if not ctx.has_ns("network"):
                    hostnet = True
                elif not (path := ctx.namespaces["network"]):
                    hostnet = False
                else:
                    try:
                        hostnet = ctx.host.is_host_netns(path)
                    except OSError as exc:
                        name = exc.filename if isinstance(exc.filename, str) else path
                        raise ConfigError(
                            f"invalid netns path: {_oserror('stat', name, exc)}", where
                        ) from None
            if hostnet:
                raise ConfigError(f"sysctl {_q(s)} not allowed in host network namespace", where)
            continue
        if ctx.has_ns("uts"):
            if s == "kernel.domainname":
                continue
            if s == "kernel.hostname":
                raise ConfigError(
                    f'sysctl {_q(s)} is not allowed as it conflicts with the OCI "hostname" field',
                    where,
                )
        raise ConfigError(f"sysctl {_q(s)} is not in a separate kernel namespace", where)


def check_masked_readonly_paths(ctx: ValidationContext) -> None:
    """runc validator ``security`` and runtime-spec: absolute paths in a private mount ns.

    Wording: ``unable to restrict sys entries without a private MNT namespace``.
    runtime-spec: ``maskedPaths``/``readonlyPaths`` values MUST be absolute paths.
    """
    for key in ("maskedPaths", "readonlyPaths"):
        paths = _list(ctx.linux.get(key))
        for i, p in enumerate(paths):
            if not isinstance(p, str) or not p.startswith("/"):
                raise ConfigError(f"path {_q(p)} must be absolute", field=f"linux.{key}[{i}]")
        if paths and not ctx.has_ns("mount"):
            raise ConfigError(
                "unable to restrict sys entries without a private MNT namespace",
                field=f"linux.{key}",
            )


def check_mounts(ctx: ValidationContext) -> None:
    """Mount entries: destinations, NUL bytes, id-mapped mounts, rootless uid=/gid=.

    runc 1.1.5 specconv warns ``mount destination %s is not absolute...`` and runtime-spec
    v1.3.0 allows a relative Linux destination (deprecated, relative to ``/``): a warning.
    runc: ``mount field contains null byte``.  runtime-spec: mount ``uidMappings`` and
    ``gidMappings`` MUST come together, and ``idmap``/``ridmap`` without mappings and without
    a user namespace MUST be an error.  runc ``checkIDMapMounts``: id-mapped mounts must be
    bind mounts and are not supported rootless.  runc ``rootlessEUIDMount``: ``uid=``/``gid=``
    options must be mapped (``cannot specify uid=N mount option for rootless container``).
    """
    for i, m in enumerate(_list(ctx.config.get("mounts"))):
        where = f"mounts[{i}]"
        if not isinstance(m, dict):
            raise ConfigError("mount must be an object", field=where)
        dest, src, typ = m.get("destination"), m.get("source"), m.get("type")
        if not isinstance(dest, str) or not dest:
            raise ConfigError("mount destination must not be empty", field=f"{where}.destination")
        if any(isinstance(v, str) and "\x00" in v for v in (dest, src, typ)):
            raise ConfigError("mount field contains null byte", field=where)
        if not dest.startswith("/"):
            ctx.warn(
                f"mount destination {dest} is not absolute. Support for non-absolute mount "
                "destinations will be removed in a future release."
            )
        options = [o for o in _list(m.get("options")) if isinstance(o, str)]
        _check_idmap_mount(ctx, m, options, where)
        if ctx.rootless and ctx.has_ns("user") and not ctx.namespaces["user"]:
            _check_rootless_mount_ids(ctx, options, where)


def _check_idmap_mount(
    ctx: ValidationContext, m: dict[str, Any], options: list[str], where: str
) -> None:
    uid_maps, gid_maps = m.get("uidMappings"), m.get("gidMappings")
    if (uid_maps is None) != (gid_maps is None):
        raise ConfigError("uidMappings and gidMappings must be specified together", where)
    _check_mappings(uid_maps, f"{where}.uidMappings")
    _check_mappings(gid_maps, f"{where}.gidMappings")
    idmap_opt = "idmap" in options or "ridmap" in options
    if not idmap_opt and uid_maps is None:
        return
    if "bind" not in options and "rbind" not in options:
        raise ConfigError(
            "gidMappings/uidMappings is supported only for mounts with the option 'bind'", where
        )
    if ctx.rootless:
        raise ConfigError(
            "gidMappings/uidMappings is not supported when runc is being launched with "
            "EUID != 0, needs CAP_SYS_ADMIN on the runc parent's user namespace",
            where,
        )
    if uid_maps is None and not ctx.has_ns("user"):
        raise ConfigError(
            "idmap mount needs uidMappings/gidMappings or a user namespace", field=where
        )


def _check_rootless_mount_ids(ctx: ValidationContext, options: list[str], where: str) -> None:
    for opt in options:
        for what, maps in (("uid", "uidMappings"), ("gid", "gidMappings")):
            value = opt.removeprefix(what + "=")
            if value == opt or not value.isdigit():
                continue
            if not _mapped(ctx.linux.get(maps), int(value)):
                raise ConfigError(
                    f"cannot specify {what}={int(value)} mount option for rootless container: "
                    "user namespaces enabled, but no user mapping found",
                    field=f"{where}.options",
                )


def check_rootfs_propagation(ctx: ValidationContext) -> None:
    """runc specconv: ``rootfsPropagation=%v is not supported`` outside its mapping."""
    prop = ctx.linux.get("rootfsPropagation")
    if prop and prop not in ROOTFS_PROPAGATIONS:
        raise ConfigError(
            f"rootfsPropagation={prop} is not supported", field="linux.rootfsPropagation"
        )


def check_devices(ctx: ValidationContext) -> None:
    """``linux.devices``: type c/b/u/p, absolute path, major/minor unless ``p``, ids.

    runc specconv ``stringToDeviceRune``: ``invalid device type %q``.  runtime-spec:
    ``path`` is the full path inside the container; ``major``/``minor`` are REQUIRED unless
    the type is ``p``.
    """
    for i, d in enumerate(_objs(ctx.linux.get("devices"))):
        where = f"linux.devices[{i}]"
        t = d.get("type")
        if t not in ("c", "b", "u", "p"):
            raise ConfigError(f"invalid device type {_q(t)}", field=f"{where}.type")
        path = d.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError(f"device path {_q(path)} must be absolute", field=f"{where}.path")
        if t != "p":
            for key in ("major", "minor"):
                if not _is_int(d.get(key)):
                    raise ConfigError(f"{key} is required for device type {t}", f"{where}.{key}")
        _check_id(d.get("uid"), f"{where}.uid", "uid")
        _check_id(d.get("gid"), f"{where}.gid", "gid")


def check_cgroup_device_rules(ctx: ValidationContext) -> None:
    """``linux.resources.devices``: runc ``CreateCgroupConfig`` rules.

    Wording: ``device access at %d field cannot be empty`` and ``invalid cgroup device type
    %q``; access is a combination of ``r``, ``w`` and ``m`` (runtime-spec).
    """
    rules = _obj(ctx.linux.get("resources")).get("devices")
    for i, r in enumerate(_objs(rules)):
        where = f"linux.resources.devices[{i}]"
        access = r.get("access")
        if not access:
            raise ConfigError(f"device access at {i} field cannot be empty", f"{where}.access")
        if not isinstance(access, str) or set(access) - set("rwm"):
            raise ConfigError(f"invalid device access {_q(access)}", field=f"{where}.access")
        t = r.get("type") or "a"
        if t not in ("a", "b", "c"):
            raise ConfigError(f"invalid cgroup device type {_q(t)}", field=f"{where}.type")


def check_seccomp(ctx: ValidationContext) -> None:
    """``linux.seccomp``: runtime-spec MUSTs with runc's conversion and init wording.

    ``defaultAction`` is REQUIRED; actions, architectures and operators must be known (runc:
    ``string X is not a valid action for seccomp``, ...); ``names`` MUST have an entry; an
    errno is only valid for actions that take one (spec: MUST fail); ``listenerMetadata``
    MUST NOT be set without ``listenerPath``; runc refuses SCMP_ACT_NOTIFY as default action
    or on ``write``.
    """
    sec = ctx.linux.get("seccomp")
    if sec is None:
        return
    sec = _obj(sec)
    base = "linux.seccomp"
    default = sec.get("defaultAction")
    if not default:
        raise ConfigError("defaultAction is required", field=f"{base}.defaultAction")
    _seccomp_action(default, f"{base}.defaultAction")
    if default == "SCMP_ACT_NOTIFY":
        raise ConfigError(
            "SCMP_ACT_NOTIFY cannot be used as default action", field=f"{base}.defaultAction"
        )
    if sec.get("defaultErrnoRet") is not None and default not in SECCOMP_ERRNO_ACTIONS:
        raise ConfigError(
            f"defaultErrnoRet is not supported by action {default}", f"{base}.defaultErrnoRet"
        )
    for i, arch in enumerate(_list(sec.get("architectures"))):
        if arch not in SECCOMP_ARCHS:
            raise ConfigError(
                f"string {arch} is not a valid arch for seccomp", f"{base}.architectures[{i}]"
            )
    for i, flag in enumerate(_list(sec.get("flags"))):
        if flag not in SECCOMP_FLAGS:
            raise ConfigError(f"seccomp flag {_q(flag)} is unknown", f"{base}.flags[{i}]")
    if sec.get("listenerMetadata") and not sec.get("listenerPath"):
        raise ConfigError(
            "listenerMetadata must not be set without listenerPath", f"{base}.listenerMetadata"
        )
    for i, call in enumerate(_objs(sec.get("syscalls"))):
        where = f"{base}.syscalls[{i}]"
        names = _list(call.get("names"))
        if not names:
            raise ConfigError("names must contain at least one entry", field=f"{where}.names")
        action = call.get("action")
        _seccomp_action(action, f"{where}.action")
        if call.get("errnoRet") is not None and action not in SECCOMP_ERRNO_ACTIONS:
            raise ConfigError(f"errnoRet is not supported by action {action}", f"{where}.errnoRet")
        if action == "SCMP_ACT_NOTIFY":
            if "write" in names:
                raise ConfigError("SCMP_ACT_NOTIFY cannot be used for the write syscall", where)
            if not sec.get("listenerPath"):
                raise ConfigError("SCMP_ACT_NOTIFY requires listenerPath", f"{base}.listenerPath")
        for j, arg in enumerate(_objs(call.get("args"))):
            op = arg.get("op")
            if op not in SECCOMP_OPERATORS:
                raise ConfigError(
                    f"string {op} is not a valid operator for seccomp", f"{where}.args[{j}].op"
                )
            index = arg.get("index")
            if not _is_int(index) or not 0 <= index < 6:
                raise ConfigError(f"argument index {index} out of range (0-5)", f"{where}.args")


def _seccomp_action(action: Any, where: str) -> None:
    if action not in SECCOMP_ACTIONS:
        raise ConfigError(f"string {action} is not a valid action for seccomp", field=where)


def check_intel_rdt(ctx: ValidationContext) -> None:
    """runc validator ``intelrdt`` plus runtime-spec ``intelRdt`` MUSTs.

    ``closID`` may not be ``.``/``..`` or contain ``/`` (runc: ``invalid intelRdt.ClosID
    %q``); ``memBwSchema`` MUST start with ``MB:`` and have no newline; a resctrl file system
    MUST be mounted (older runc wording); CAT/MBA schemas need those features (runc).
    """
    rdt = ctx.linux.get("intelRdt")
    if rdt is None:
        return
    rdt = _obj(rdt)
    base = "linux.intelRdt"
    clos = _str(rdt.get("closID"))
    if clos in (".", "..") or "/" in clos:
        raise ConfigError(f"invalid intelRdt.ClosID {_q(clos)}", field=f"{base}.closID")
    mb = _str(rdt.get("memBwSchema"))
    if mb and (not mb.startswith("MB:") or "\n" in mb):
        raise ConfigError(
            "memBwSchema must start with MB: and not contain newlines", f"{base}.memBwSchema"
        )
    info = ctx.host.resctrl_info()
    if info is None:
        raise ConfigError(
            "intelRdt is specified in config, but Intel RDT is not supported or enabled", base
        )
    if rdt.get("l3CacheSchema") and "L3" not in info:
        raise ConfigError(
            "intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled",
            field=f"{base}.l3CacheSchema",
        )
    if mb and "MB" not in info:
        raise ConfigError(
            "intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled",
            field=f"{base}.memBwSchema",
        )


def check_personality(ctx: ValidationContext) -> None:
    """runc specconv: ``invalid personality domain %s``; flags are ignored with a warning."""
    pers = ctx.linux.get("personality")
    if pers is None:
        return
    pers = _obj(pers)
    domain = pers.get("domain")
    if domain not in ("LINUX", "LINUX32"):
        raise ConfigError(f"invalid personality domain {domain}", field="linux.personality.domain")
    flags = [str(f) for f in _list(pers.get("flags"))]
    if flags:
        ctx.warn(
            f"ignoring unsupported personality flags: {_go_list(flags)} because personality "
            "flag has not supported at this time"
        )


def _dev_valid_name(name: str) -> bool:
    """Linux ``dev_valid_name()`` (net/core/dev.c)."""
    return (
        bool(name)
        and len(name.encode()) < IFNAMSIZ
        and name not in (".", "..")
        and not any(c in "/:" or c in _KERNEL_SPACE for c in name)
    )


def check_net_devices(ctx: ValidationContext) -> None:
    """``linux.netDevices`` (runtime-spec v1.3.0): movable into a new network namespace.

    runc: ``unable to move network devices without a private NET namespace`` (the runtime's
    own network namespace included).  Host and container names must pass the kernel's
    ``dev_valid_name()`` (non-empty, < IFNAMSIZ bytes, not ``.``/``..``, no ``/``, ``:`` or
    whitespace).  Two devices may not get the same container name (runtime-spec: a name clash
    MUST be an error unless the name is a ``%d`` template).  Rootless runtimes cannot move
    host devices.
    """
    devices = ctx.linux.get("netDevices")
    if not devices:
        return
    base = "linux.netDevices"
    path = ctx.namespaces.get("network")
    private = path is not None
    if private and path:
        try:
            private = not ctx.host.is_host_netns(path)
        except OSError as exc:
            raise ConfigError(f"invalid netns path: {_oserror('stat', path, exc)}", base) from None
    if not private:
        raise ConfigError(
            "unable to move network devices without a private NET namespace", field=base
        )
    if ctx.rootless:
        raise ConfigError("network devices cannot be moved by a rootless runtime", field=base)
    targets: dict[str, str] = {}
    for host_name, dev in _obj(devices).items():
        where = f"{base}.{host_name}"
        if not _dev_valid_name(host_name):
            raise ConfigError(f"invalid network device name {_q(host_name)}", field=where)
        name = _obj(dev).get("name") or host_name
        if not isinstance(name, str) or not _dev_valid_name(name):
            raise ConfigError(f"invalid network device name {_q(name)}", field=f"{where}.name")
        if "%d" not in name and name in targets:
            raise ConfigError(
                f"network devices {_q(targets[name])} and {_q(host_name)} are both named "
                f"{_q(name)} in the container",
                field=f"{where}.name",
            )
        targets[name] = host_name


def check_memory_policy(ctx: ValidationContext) -> None:
    """``linux.memoryPolicy``: runc specconv names plus set_mempolicy(2) rules.

    runc: ``invalid memory policy mode %q``, ``invalid memory policy flag %q``, ``invalid
    memory policy nodes %q``.  The kernel refuses STATIC with RELATIVE nodes, NUMA_BALANCING
    outside BIND/PREFERRED_MANY, an empty nodemask for BIND/INTERLEAVE/WEIGHTED_INTERLEAVE/
    PREFERRED_MANY and a non-empty one for DEFAULT/LOCAL.
    """
    mp = ctx.linux.get("memoryPolicy")
    if mp is None:
        return
    mp = _obj(mp)
    base = "linux.memoryPolicy"
    mode = mp.get("mode")
    if mode not in MPOL_MODES:
        raise ConfigError(f"invalid memory policy mode {_q(mode)}", field=f"{base}.mode")
    nodes_text = mp.get("nodes") or ""
    try:
        nodes = _parse_list_set(_str(nodes_text))
    except ValueError as exc:
        raise ConfigError(
            f"invalid memory policy nodes {_q(nodes_text)}: {exc}", f"{base}.nodes"
        ) from None
    flags = _list(mp.get("flags"))
    for i, flag in enumerate(flags):
        if flag not in MPOL_FLAGS:
            raise ConfigError(f"invalid memory policy flag {_q(flag)}", f"{base}.flags[{i}]")
    if "MPOL_F_STATIC_NODES" in flags and "MPOL_F_RELATIVE_NODES" in flags:
        raise ConfigError(
            "memory policy flags MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES are exclusive",
            field=f"{base}.flags",
        )
    if "MPOL_F_NUMA_BALANCING" in flags and mode not in ("MPOL_BIND", "MPOL_PREFERRED_MANY"):
        raise ConfigError(
            f"memory policy flag MPOL_F_NUMA_BALANCING is not supported with {mode}",
            field=f"{base}.flags",
        )
    if mode in MPOL_NEED_NODES and not nodes:
        raise ConfigError(f"memory policy mode {mode} requires nodes", field=f"{base}.nodes")
    if mode in MPOL_NO_NODES and nodes:
        raise ConfigError(f"memory policy mode {mode} does not take nodes", f"{base}.nodes")


def check_hooks(ctx: ValidationContext) -> None:
    """runtime-spec hooks: ``path`` MUST be absolute; ``timeout`` MUST be greater than zero."""
    hooks = _obj(ctx.config.get("hooks"))
    for name in HOOK_NAMES:
        for i, hook in enumerate(_objs(hooks.get(name))):
            where = f"hooks.{name}[{i}]"
            path = hook.get("path")
            if not isinstance(path, str) or not path.startswith("/"):
                raise ConfigError(f"hook path {_q(path)} must be absolute", f"{where}.path")
            timeout = hook.get("timeout")
            if timeout is not None and (not _is_int(timeout) or timeout <= 0):
                raise ConfigError(
                    f"hook timeout {timeout} must be greater than zero", f"{where}.timeout"
                )


#: The checks, in the order they run (runc's order where it has one).
CHECKS: list[Check] = [
    check_oci_version,
    check_process_present,
    check_process_cwd,
    check_process_args,
    check_process_env,
    check_process_user,
    check_rlimits,
    check_capabilities,
    check_scheduler,
    check_io_priority,
    check_exec_cpu_affinity,
    check_selinux_label,
    check_apparmor_profile,
    check_root,
    check_rootfs,
    check_namespaces,
    check_user_namespace,
    check_rootless,
    check_time_namespace,
    check_uts,
    check_sysctl,
    check_masked_readonly_paths,
    check_mounts,
    check_rootfs_propagation,
    check_devices,
    check_cgroup_device_rules,
    check_seccomp,
    check_intel_rdt,
    check_personality,
    check_net_devices,
    check_memory_policy,
    check_hooks,
]


def validate_config(
    config: dict[str, Any],
    bundle: str,
    *,
    rootless: bool = False,
    host: HostInfo | None = None,
) -> list[str]:
    """Run :data:`CHECKS` on a schema-valid config; return the warnings.

    ``bundle`` is the bundle directory (``root.path`` is relative to it); ``rootless`` is
    runc's ``RootlessEUID``.  Raises :class:`~ociruntime.errors.ConfigError` naming the
    field on the first error.
    """
    if not isinstance(config, dict):
        raise ConfigError("config must be a JSON object")
    ctx = ValidationContext(config, bundle, rootless, host if host is not None else HostInfo())
    for check in CHECKS:
        check(ctx)
    return ctx.warnings
