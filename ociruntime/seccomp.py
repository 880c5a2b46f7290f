"""``linux.seccomp``: compiled in the runtime, loaded by the init (config-linux.md#seccomp).

Three phases, in three places:

1. **compile** (runtime process, before the fork): :func:`compile_filter` turns the config's
   ``linux.seccomp`` into a raw classic-BPF program with pyseccomp (libseccomp), adds runc's
   ``-ENOSYS`` stub in front of it, and works out the ``seccomp(2)`` flags. The result is
   cached in a directory keyed by the profile's content, the libseccomp version and the
   kernel, so a create with a profile seen before neither imports pyseccomp (~40 ms) nor
   compiles anything: it reads a few kilobytes.
2. **load** (the init, after pivot_root): :func:`load` hands the bytes to ``seccomp(2)``
   through :mod:`ociruntime.linux`; nothing is imported or read from disk at that point.
3. **notify** (runtime process again): with ``SCMP_ACT_NOTIFY`` the kernel gives the init a
   listener fd; the runtime fetches it (:func:`fetch_listener`) and sends it with the
   container process state to the agent at ``listenerPath`` (:func:`send_listener`).

Semantics follow runc 1.1.5 (``libcontainer/seccomp/seccomp_linux.go``, ``config.go``,
``patchbpf/enosys_linux.go``, ``specconv``):

* every ``names`` entry becomes its own rule; names libseccomp does not know are ignored;
  a rule whose action equals the default action is skipped;
* several ``args`` on one rule are ANDed in a single libseccomp rule (CVE-2017-18367), except
  when two conditions test the same argument index: then, as runc does, each condition
  becomes a rule of its own (so they are ORed);
* ``SCMP_ACT_KILL`` is ``KILL_THREAD``; ``SCMP_ACT_ERRNO`` and ``SCMP_ACT_TRACE`` return
  ``errnoRet`` (default ``EPERM``); ``defaultErrnoRet`` applies to the default action;
* ``SCMP_ACT_NOTIFY`` needs libseccomp API level 6, may not be the default action nor be
  used for ``write`` (the init reports the listener fd with ``write``);
* **the -ENOSYS stub** (runc patchbpf): libseccomp 2.5 has no "unknown syscall" action, so
  a profile written before a syscall existed would answer it with the default action
  (usually EPERM), and glibc only falls back to older syscalls on ENOSYS (clone3, faccessat2,
  ...). Like runc we prepend a small BPF program (:func:`enosys_stub`): for each architecture
  listed in ``architectures``, a syscall number above the highest one the profile names for
  that architecture returns ``ENOSYS``. It is skipped when the default action already lets
  syscalls through (ALLOW, LOG, TRACE) or returns ENOSYS, and, as in runc, when the profile
  lists no architectures. These few instructions are the only BPF written by hand here;
  every rule of the profile is compiled by libseccomp.

Flags: runc 1.1.5 refuses every ``flags`` entry; we implement them as the runtime-spec (and
runc 1.2 / crun) do: ``SECCOMP_FILTER_FLAG_TSYNC``, ``_LOG``, ``_SPEC_ALLOW`` and
``_WAIT_KILLABLE_RECV`` are passed to ``seccomp(2)``; each is probed when compiling and an
unsupported one is an error. ``NEW_LISTENER`` is added when a rule notifies (``TSYNC`` then
also gets ``TSYNC_ESRCH``, which the kernel requires); ``WAIT_KILLABLE_RECV`` without a
listener means nothing and is dropped (the kernel would refuse it). A profile without
``flags`` gets none (runc 1.1.5; runc 1.2 and crun default to ``SPEC_ALLOW``:
:data:`DEFAULT_FLAGS`).
"""

from __future__ import annotations

import errno
import os
import stat
import struct

import ociruntime
from ociruntime import fastjson as json
from ociruntime import linux as L
from ociruntime.channel import SECCOMP_LISTENER, SECCOMP_LISTENER_DONE
from ociruntime.errors import ConfigError, OCIRuntimeError
from ociruntime.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

__all__ = [
    "ACTIONS",
    "ARCHS",
    "CompiledFilter",
    "KNOWN_FLAGS",
    "OPERATORS",
    "SeccompError",
    "compile_filter",
    "container_process_state",
    "enabled",
    "evaluate",
    "features_seccomp",
    "fetch_listener",
    "load",
    "load_and_report",
    "send_listener",
    "serve_listener",
]

# --- kernel ABI (linux/seccomp.h, linux/audit.h) ----------------------------------------

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_KILL_THREAD = 0x00000000
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_USER_NOTIF = 0x7FC00000
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_RET_LOG = 0x7FFC0000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ACTION_FULL = 0xFFFF0000
SECCOMP_RET_DATA = 0x0000FFFF

FLAG_TSYNC = 1 << 0
FLAG_LOG = 1 << 1
FLAG_SPEC_ALLOW = 1 << 2
FLAG_NEW_LISTENER = 1 << 3
FLAG_TSYNC_ESRCH = 1 << 4
FLAG_WAIT_KILLABLE_RECV = 1 << 5

#: The ``flags`` a profile may name, in runc's ``KnownFlags`` order, with their bits.
KNOWN_FLAGS: dict[str, int] = {
    "SECCOMP_FILTER_FLAG_TSYNC": FLAG_TSYNC,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": FLAG_SPEC_ALLOW,
    "SECCOMP_FILTER_FLAG_LOG": FLAG_LOG,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": FLAG_WAIT_KILLABLE_RECV,
}

#: Flags used when a profile has no ``flags`` at all (an empty list means none either).
#: runc 1.1.5 uses none; runc 1.2 and crun use ``("SECCOMP_FILTER_FLAG_SPEC_ALLOW",)``.
DEFAULT_FLAGS: tuple[str, ...] = ()

#: Action name -> filter return value (errno/trace data is added separately).
ACTIONS: dict[str, int] = {
    "SCMP_ACT_KILL": SECCOMP_RET_KILL_THREAD,
    "SCMP_ACT_KILL_THREAD": SECCOMP_RET_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": SECCOMP_RET_KILL_PROCESS,
    "SCMP_ACT_TRAP": SECCOMP_RET_TRAP,
    "SCMP_ACT_ERRNO": SECCOMP_RET_ERRNO,
    "SCMP_ACT_TRACE": SECCOMP_RET_TRACE,
    "SCMP_ACT_ALLOW": SECCOMP_RET_ALLOW,
    "SCMP_ACT_LOG": SECCOMP_RET_LOG,
    "SCMP_ACT_NOTIFY": SECCOMP_RET_USER_NOTIF,
}
_ERRNO_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")
#: Default actions after which runc adds no -ENOSYS stub (patchbpf ``isAllowAction``).
_PERMISSIVE_ACTIONS = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")

#: Operator name -> ``enum scmp_compare``.
OPERATORS: dict[str, int] = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}

_LE = 0x40000000  # __AUDIT_ARCH_LE
_64 = 0x80000000  # __AUDIT_ARCH_64BIT
_N32 = 0x20000000  # __AUDIT_ARCH_CONVENTION_MIPS64_N32

#: ``SCMP_ARCH_*`` name -> libseccomp arch token (the AUDIT_ARCH value, except x32).
ARCHS: dict[str, int] = {
    "SCMP_ARCH_X86": 3 | _LE,
    "SCMP_ARCH_X86_64": 62 | _64 | _LE,
    "SCMP_ARCH_X32": 62 | _LE,  # libseccomp's own token; the kernel sees AUDIT_ARCH_X86_64
    "SCMP_ARCH_ARM": 40 | _LE,
    "SCMP_ARCH_AARCH64": 183 | _64 | _LE,
    "SCMP_ARCH_MIPS": 8,
    "SCMP_ARCH_MIPS64": 8 | _64,
    "SCMP_ARCH_MIPS64N32": 8 | _64 | _N32,
    "SCMP_ARCH_MIPSEL": 8 | _LE,
    "SCMP_ARCH_MIPSEL64": 8 | _64 | _LE,
    "SCMP_ARCH_MIPSEL64N32": 8 | _64 | _LE | _N32,
    "SCMP_ARCH_PPC": 20,
    "SCMP_ARCH_PPC64": 21 | _64,
    "SCMP_ARCH_PPC64LE": 21 | _64 | _LE,
    "SCMP_ARCH_S390": 22,
    "SCMP_ARCH_S390X": 22 | _64,
    "SCMP_ARCH_PARISC": 15,
    "SCMP_ARCH_PARISC64": 15 | _64,
    "SCMP_ARCH_RISCV64": 243 | _64 | _LE,
    "SCMP_ARCH_LOONGARCH64": 258 | _64 | _LE,
}
AUDIT_ARCH_X86_64 = ARCHS["SCMP_ARCH_X86_64"]
AUDIT_ARCH_I386 = ARCHS["SCMP_ARCH_X86"]
_X32_SYSCALL_BIT = 0x40000000
_S390 = (ARCHS["SCMP_ARCH_S390"], ARCHS["SCMP_ARCH_S390X"])

#: ``specs.SeccompFdName``: the name of the listener fd in ContainerProcessState.fds.
SECCOMP_FD_NAME = "seccompFd"

_BPF_MAXINSNS = 4096
_NR_SCMP_ERROR = -1

# Cache file: magic, then flags and notify as two native uint32, then the program.
_CACHE_MAGIC = b"OCIRTSC\x01"
_CACHE_HEADER = struct.Struct("=8sII")
_CACHE_FORMAT = 1
#: Entries kept in a cache directory; on a miss beyond this, the oldest are removed.
CACHE_MAX_ENTRIES = 128


class SeccompError(OCIRuntimeError):
    """The seccomp filter could not be compiled, loaded or handed to the agent."""


@dataclass(frozen=True)
class CompiledFilter:
    """A filter ready for :func:`load`: raw ``struct sock_filter`` bytes and seccomp flags."""

    #: the whole program (-ENOSYS stub + libseccomp's export), 8 bytes per instruction
    bpf: bytes
    #: ``SECCOMP_FILTER_FLAG_*`` bits for seccomp(2), NEW_LISTENER included when notifying
    flags: int
    #: some rule uses SCMP_ACT_NOTIFY: :func:`load` returns a listener fd
    notify: bool


# --- the init side: load ----------------------------------------------------------------


def load(bpf: bytes, flags: int) -> int:
    """Install ``bpf`` on the calling process with ``seccomp(SECCOMP_SET_MODE_FILTER)``.

    Returns the listener fd when ``flags`` has SECCOMP_FILTER_FLAG_NEW_LISTENER, else -1.
    Needs no_new_privs or CAP_SYS_ADMIN (else EACCES). Safe after pivot_root: no import, no
    file access. Raises :class:`SeccompError` (runc's wording) on failure.
    """
    try:
        ret = L.seccomp_set_mode_filter(bpf, flags)
    except OSError as exc:
        raise SeccompError(
            "error loading seccomp filter into kernel: error loading seccomp filter: "
            + os.strerror(exc.errno or errno.EINVAL).lower()
        ) from None
    return ret if flags & FLAG_NEW_LISTENER else -1




def load_and_report(compiled: CompiledFilter, chan_fd: int) -> None:
    """In the init (or an exec'd process): :func:`load`, then hand a listener to the runtime.

    With a listener, write ``{"type": "seccomp", "fd": N}`` on the channel and wait for the
    runtime's ``{"type": "seccomp-done"}`` (it takes the fd with pidfd_getfd and sends it to
    the agent meanwhile), then close our copy. Only write(2), read(2) and close(2) follow
    the load (runc's ``syncParentSeccomp``), so the profile cannot block the hand-over with
    a sendmsg; ``write`` itself may not notify (refused when compiling). Safe after
    pivot_root.
    """
    listener = load(compiled.bpf, compiled.flags)
    if listener < 0:
        return
    try:
        os.write(chan_fd, b'{"type":"%s","fd":%d}' % (SECCOMP_LISTENER.encode(), listener))
        reply = os.read(chan_fd, 1 << 16)
        if not reply:
            raise SeccompError("seccomp: the runtime closed the channel before the listener "
                               "reached the agent")
        frame = json.loads(reply)
        if frame.get("type") != SECCOMP_LISTENER_DONE:
            raise SeccompError(str(frame.get("message") or f"seccomp: unexpected {frame!r}"))
    finally:
        os.close(listener)


def serve_listener(frame: Mapping[str, Any], pid: int, seccomp_config: Mapping[str, Any],
                   state: Mapping[str, Any]) -> None:
    """In the runtime, on a ``seccomp`` frame from process ``pid``: give its listener to the
    agent at ``listenerPath`` with the ContainerProcessState built from ``state`` (status
    ``creating`` in create, ``running`` in exec). Reply ``seccomp-done`` afterwards."""
    listener = fetch_listener(pid, int(frame["fd"]))
    try:
        send_listener(str(seccomp_config.get("listenerPath") or ""), listener,
                      container_process_state(state, pid, seccomp_config.get("listenerMetadata")))
    finally:
        os.close(listener)


# --- the runtime side: compile, with a cache -----------------------------------------------


def enabled(seccomp_config: Mapping[str, Any] | None) -> bool:
    """Whether the section asks for a filter (runc: no defaultAction and no syscalls = off)."""
    if not seccomp_config:
        return False
    return bool(seccomp_config.get("defaultAction") or seccomp_config.get("syscalls"))


def compile_filter(
    seccomp_config: Mapping[str, Any] | None, cache_dir: str | None = None
) -> CompiledFilter | None:
    """Compile ``linux.seccomp`` into a :class:`CompiledFilter`; None when there is none.

    With ``cache_dir`` the result is looked up first under a key made of the section's
    canonical JSON, the libseccomp version, the kernel (uname) and this module; a hit
    imports nothing. Compiled filters are stored there (best effort, mode 0600 in a 0700
    directory owned by us; entries with other owners or modes are ignored).
    Raises :class:`~ociruntime.errors.ConfigError` for an invalid section and
    :class:`SeccompError` when libseccomp refuses it.
    """
    if not enabled(seccomp_config):
        return None
    assert seccomp_config is not None
    key = cache_key(seccomp_config)
    if cache_dir is not None:
        hit = _cache_read(cache_dir, key)
        if hit is not None:
            return hit
    compiled = _compile(seccomp_config)
    if cache_dir is not None:
        _cache_write(cache_dir, key, compiled)
    return compiled


def cache_key(seccomp_config: Mapping[str, Any]) -> str:
    """The cache key of a section: sha256 over everything that decides the compiled bytes."""
    try:
        from _sha256 import sha256
    except ImportError:  # pragma: no cover
        from hashlib import sha256
    h = sha256()
    h.update(b"ociruntime-seccomp/%d\n" % _CACHE_FORMAT)
    h.update(repr(L.libseccomp_version()).encode() + b"\n")
    uts = os.uname()
    h.update(f"{uts.release}\n{uts.version}\n{uts.machine}\n".encode())
    try:
        st = os.stat(__file__)
        h.update(f"{st.st_size}:{st.st_mtime_ns}\n".encode())
    except OSError:
        pass
    h.update(json.dumps(seccomp_config, sort_keys=True, compact=True).encode())
    return h.hexdigest()


def _private_dir(path: str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022
    )


def _cache_read(cache_dir: str, key: str) -> CompiledFilter | None:
    if not _private_dir(cache_dir):
        return None
    try:
        fd = os.open(os.path.join(cache_dir, key + ".bpf"),
                     os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                or st.st_mode & 0o022 or st.st_size > _CACHE_HEADER.size + 8 * _BPF_MAXINSNS):
            return None
        data = os.read(fd, st.st_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) <= _CACHE_HEADER.size:
        return None
    magic, flags, notify = _CACHE_HEADER.unpack_from(data)
    bpf = data[_CACHE_HEADER.size:]
    if magic != _CACHE_MAGIC or len(bpf) % 8 or notify not in (0, 1):
        return None
    return CompiledFilter(bpf=bpf, flags=flags, notify=bool(notify))


def _cache_write(cache_dir: str, key: str, compiled: CompiledFilter) -> None:
    try:
        os.makedirs(cache_dir, 0o700, exist_ok=True)
    except OSError:
        return
    if not _private_dir(cache_dir):
        return
    path = os.path.join(cache_dir, key + ".bpf")
    tmp = f"{path}.{os.getpid()}.tmp"
    data = _CACHE_HEADER.pack(_CACHE_MAGIC, compiled.flags, int(compiled.notify)) + compiled.bpf
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW,
                     0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    from ociruntime.state import prune_dir

    prune_dir(cache_dir, CACHE_MAX_ENTRIES, ".bpf", spare=os.path.basename(path))


def _s32(value: int) -> int:
    """An arch token as the signed C int pyseccomp's untyped resolver passes."""
    return value - (1 << 32) if value >= 1 << 31 else value


@dataclass
class _Rule:
    name: str
    action_name: str
    action: int
    args: list[tuple[int, int, int, int]]  # (index, op, value, valueTwo)


def _action(name: Any, errno_ret: Any, where: str) -> int:
    if name not in ACTIONS:
        raise ConfigError(f"string {name} is not a valid action for seccomp", field=where)
    base = ACTIONS[name]
    if name in _ERRNO_ACTIONS:
        # runc getAction: errnoRet if given (even 0), else EPERM; 16 bits reach the kernel
        ret = errno.EPERM if errno_ret is None else _uint(errno_ret, where, 32)
        return base | (ret & SECCOMP_RET_DATA)
    return base


def _uint(value: Any, where: str, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise ConfigError(f"{value!r} is not a valid {bits}-bit unsigned value", field=where)
    return value


def _rules(cfg: Mapping[str, Any]) -> list[_Rule]:
    """Flatten ``syscalls`` to one rule per name (runc specconv), checking every field."""
    out: list[_Rule] = []
    for i, call in enumerate(cfg.get("syscalls") or []):
        where = f"linux.seccomp.syscalls[{i}]"
        if not isinstance(call, dict):
            raise ConfigError("must be an object", field=where)
        action_name = call.get("action")
        action = _action(action_name, call.get("errnoRet"), f"{where}.action")
        args: list[tuple[int, int, int, int]] = []
        for j, arg in enumerate(call.get("args") or []):
            aw = f"{where}.args[{j}]"
            if not isinstance(arg, dict):
                raise ConfigError("must be an object", field=aw)
            op = arg.get("op")
            if op not in OPERATORS:
                raise ConfigError(f"string {op} is not a valid operator for seccomp",
                                  field=f"{aw}.op")
            index = arg.get("index")
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 6:
                raise ConfigError(f"argument index {index} out of range (0-5)",
                                  field=f"{aw}.index")
            args.append((index, OPERATORS[op], _uint(arg.get("value", 0), f"{aw}.value", 64),
                         _uint(arg.get("valueTwo", 0) or 0, f"{aw}.valueTwo", 64)))
        names = call.get("names") or []
        if not names:
            raise ConfigError("names must contain at least one entry", field=f"{where}.names")
        for name in names:
            if not isinstance(name, str) or not name:
                raise ConfigError("empty string is not a valid syscall", field=f"{where}.names")
            out.append(_Rule(name, str(action_name), action, args))
    return out


def _arch_names(cfg: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for i, arch in enumerate(cfg.get("architectures") or []):
        if arch not in ARCHS:
            raise ConfigError(f"string {arch} is not a valid arch for seccomp",
                              field=f"linux.seccomp.architectures[{i}]")
        if arch not in names:
            names.append(arch)
    return names


def _flag_bits(cfg: Mapping[str, Any], notify: bool) -> int:
    flags = cfg.get("flags")
    names = DEFAULT_FLAGS if flags is None else flags
    bits = 0
    for i, name in enumerate(names):
        if name not in KNOWN_FLAGS:
            raise ConfigError(f"seccomp flag {name!r} is not known to ociruntime",
                              field=f"linux.seccomp.flags[{i}]")
        bit = KNOWN_FLAGS[name]
        probe = bit | FLAG_NEW_LISTENER if bit == FLAG_WAIT_KILLABLE_RECV else bit
        if not L.seccomp_flag_supported(probe):
            raise SeccompError(f"seccomp flag {name} is not supported by this kernel")
        bits |= bit
    if notify:
        bits |= FLAG_NEW_LISTENER
        if bits & FLAG_TSYNC:
            bits |= FLAG_TSYNC_ESRCH  # TSYNC with a listener needs it (kernel >= 5.7)
    else:
        bits &= ~FLAG_WAIT_KILLABLE_RECV  # only meaningful (and accepted) with a listener
    return bits


def _compile(cfg: Mapping[str, Any]) -> CompiledFilter:
    default_name = cfg.get("defaultAction")
    default = _action(default_name, cfg.get("defaultErrnoRet"), "linux.seccomp.defaultAction")
    if default_name == "SCMP_ACT_NOTIFY":
        raise ConfigError("SCMP_ACT_NOTIFY cannot be used as default action",
                          field="linux.seccomp.defaultAction")
    arch_names = _arch_names(cfg)
    rules = _rules(cfg)
    notify = any(r.action_name == "SCMP_ACT_NOTIFY" for r in rules)
    if notify:
        if any(r.name == "write" and r.action_name == "SCMP_ACT_NOTIFY" for r in rules):
            raise ConfigError("SCMP_ACT_NOTIFY cannot be used for the write syscall",
                              field="linux.seccomp.syscalls")
        if not cfg.get("listenerPath"):
            raise ConfigError("listenerPath is not set", field="linux.seccomp.listenerPath")
    flags = _flag_bits(cfg, notify)

    try:
        import pyseccomp  # 40 ms: imported only when the cache misses
    except (ImportError, RuntimeError, OSError) as exc:
        raise SeccompError(f"seccomp: cannot use libseccomp (pyseccomp): {exc}") from None

    if notify:
        api = pyseccomp.get_api()
        if api < 6:
            raise SeccompError(
                f"seccomp notify unsupported: API level: got {api}, want at least 6. Please "
                "try with libseccomp >= 2.5.0 and Linux >= 5.7")

    try:
        filt = pyseccomp.SyscallFilter(default)
    except OSError as exc:
        raise SeccompError(f"error creating filter: {_oserr(exc)}") from None
    for name in arch_names:
        token = ARCHS[name]
        try:
            if not filt.exist_arch(token):
                filt.add_arch(token)
        except OSError as exc:
            raise SeccompError(
                f"error adding architecture to seccomp filter: {name}: {_oserr(exc)}"
            ) from None
    if len(rules) > 32:
        try:  # libseccomp's binary tree, as runc enables it for long rule sets
            filt.set_attr(pyseccomp.Attr.CTL_OPTIMIZE, 2)
        except OSError:
            pass
    filt.set_attr(pyseccomp.Attr.CTL_NNP, 0)

    for rule in rules:
        if rule.action == default:
            continue  # redundant; libseccomp would refuse it
        nr = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, rule.name)
        if nr == _NR_SCMP_ERROR:
            continue  # unknown to libseccomp: ignored, as runc does
        conds = [pyseccomp.Arg(i, op, a, b) for i, op, a, b in rule.args]
        indexes = [i for i, _, _, _ in rule.args]
        try:
            if not conds:
                filt.add_rule(rule.action, nr)
            elif len(set(indexes)) < len(indexes):
                # runc: conditions sharing an argument index become separate (ORed) rules
                for cond in conds:
                    filt.add_rule(rule.action, nr, cond)
            else:
                filt.add_rule(rule.action, nr, *conds)  # ANDed (CVE-2017-18367)
        except OSError as exc:
            what = "filter rule" if not conds else "rule"
            raise SeccompError(
                f"error adding seccomp {what} for syscall {rule.name}: {_oserr(exc)}"
            ) from None

    program = _export(filt)
    stub = b""
    if _wants_stub(cfg):
        last = _last_syscalls(pyseccomp, arch_names, [r.name for r in rules])
        stub = enosys_stub(last)
    bpf = stub + program
    if len(bpf) // 8 > _BPF_MAXINSNS:
        raise SeccompError(
            f"seccomp filter is too long: {len(bpf) // 8} instructions (max {_BPF_MAXINSNS})")
    return CompiledFilter(bpf=bpf, flags=flags, notify=notify)


def _oserr(exc: OSError) -> str:
    return os.strerror(exc.errno).lower() if exc.errno else str(exc)


def _export(filt: Any) -> bytes:
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:

        class _File:
            def fileno(self) -> int:
                return fd

        try:
            filt.export_bpf(_File())
        except OSError as exc:
            raise SeccompError(f"error exporting seccomp filter: {_oserr(exc)}") from None
        size = os.lseek(fd, 0, os.SEEK_CUR)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def _wants_stub(cfg: Mapping[str, Any]) -> bool:
    """runc patchbpf ``generatePatch``: no stub after a permissive or ENOSYS default."""
    if cfg.get("defaultAction") in _PERMISSIVE_ACTIONS:
        return False
    return not (cfg.get("defaultAction") == "SCMP_ACT_ERRNO"
                and cfg.get("defaultErrnoRet") == errno.ENOSYS)


def _last_syscalls(
    pyseccomp: Any, arch_names: Sequence[str], names: Iterable[str]
) -> dict[int, dict[str, int]]:
    """runc ``findLastSyscalls``: per AUDIT_ARCH, the highest syscall number the profile names.

    Only the architectures listed in the profile; x32 shares AUDIT_ARCH_X86_64 with x86_64
    and is kept apart (its numbers carry __X32_SYSCALL_BIT). Unknown names are ignored.
    """
    unique = list(dict.fromkeys(names))
    out: dict[int, dict[str, int]] = {}
    for arch in arch_names:
        token = ARCHS[arch]
        audit = AUDIT_ARCH_X86_64 if arch == "SCMP_ARCH_X32" else token
        largest = 0
        for name in unique:
            nr = pyseccomp.resolve_syscall(_s32(token), name)
            if nr > largest:
                largest = nr
        if largest:
            out.setdefault(audit, {})[arch] = largest
    return out


# --- the -ENOSYS stub: a few hand-written classic BPF instructions, as runc's patchbpf ---

_LD_W_ABS = 0x20
_JMP_JA = 0x05
_JMP_JEQ_K = 0x15
_JMP_JGT_K = 0x25
_JMP_JSET_K = 0x45
_RET_K = 0x06
_INSN = struct.Struct("=HBBI")


def enosys_stub(last_syscalls: Mapping[int, Mapping[str, int]]) -> bytes:
    """BPF that returns ENOSYS for syscalls above each architecture's highest known one.

    ``last_syscalls`` maps an AUDIT_ARCH to ``{SCMP_ARCH name: highest syscall number}``
    (two entries only for x86_64 + x32). Syscalls of other architectures, and every syscall
    at or below the limit, fall through to the program that follows the stub. Conditional
    jumps only ever skip one instruction; every real jump is a 32-bit ``ja``, so the stub
    has no 255-instruction jump limits to care about.
    """
    if not last_syscalls:
        return b""
    code: list[tuple[int, int, int, int | str]] = []  # (op, jt, jf, k or label)
    labels: dict[str, int] = {}

    def emit(op: int, k: int | str = 0, jt: int = 0, jf: int = 0) -> None:
        code.append((op, jt, jf, k))

    def label(name: str) -> None:
        labels[name] = len(code)

    def goto_if(op: int, k: int, target: str) -> None:
        emit(op, k, 0, 1)  # true: the ja below; false: skip it
        emit(_JMP_JA, target)

    def goto_unless(op: int, k: int, target: str) -> None:
        emit(op, k, 1, 0)  # true: skip the ja; false: take it
        emit(_JMP_JA, target)

    arches = sorted(last_syscalls)
    emit(_LD_W_ABS, 4)  # seccomp_data.arch
    for i, audit in enumerate(arches):
        goto_if(_JMP_JEQ_K, audit, f"arch{i}")
    emit(_JMP_JA, "filter")
    for i, audit in enumerate(arches):
        limits = last_syscalls[audit]
        label(f"arch{i}")
        emit(_LD_W_ABS, 0)  # seccomp_data.nr
        if audit in _S390:
            # s390 multiplexes unknown large syscall numbers onto setup(2) = 0 (runc)
            goto_if(_JMP_JEQ_K, 0, "enosys")
        if audit == AUDIT_ARCH_X86_64:
            x64 = limits.get("SCMP_ARCH_X86_64")
            x32 = limits.get("SCMP_ARCH_X32")
            if x64 is not None and x32 is not None:
                goto_if(_JMP_JSET_K, _X32_SYSCALL_BIT, f"x32_{i}")
                goto_if(_JMP_JGT_K, x64, "enosys")
                emit(_JMP_JA, "filter")
                label(f"x32_{i}")
                goto_if(_JMP_JGT_K, x32, "enosys")
            elif x64 is not None:
                goto_if(_JMP_JSET_K, _X32_SYSCALL_BIT, "filter")
                goto_if(_JMP_JGT_K, x64, "enosys")
            elif x32 is not None:
                goto_unless(_JMP_JSET_K, _X32_SYSCALL_BIT, "filter")
                goto_if(_JMP_JGT_K, x32, "enosys")
        else:
            if len(limits) != 1:
                raise SeccompError(f"unknown architecture overlap on native arch {audit:#x}")
            (limit,) = limits.values()
            goto_if(_JMP_JGT_K, limit, "enosys")
        emit(_JMP_JA, "filter")
    label("enosys")
    emit(_RET_K, SECCOMP_RET_ERRNO | errno.ENOSYS)
    label("filter")

    out = bytearray()
    for pc, (op, jt, jf, k) in enumerate(code):
        if isinstance(k, str):
            k = labels[k] - (pc + 1)
        out += _INSN.pack(op, jt, jf, k)
    return bytes(out)


# --- a classic BPF interpreter (tests and diagnostics: what would the kernel answer?) ---


_DECODED: dict[bytes, tuple[tuple[int, int, int, int], ...]] = {}


def _decode(bpf: bytes) -> tuple[tuple[int, int, int, int], ...]:
    prog = _DECODED.get(bpf)
    if prog is None:
        if len(_DECODED) >= 8:
            _DECODED.clear()
        prog = _DECODED[bpf] = tuple(_INSN.iter_unpack(bpf))
    return prog


def evaluate(
    bpf: bytes,
    nr: int,
    args: Sequence[int] = (),
    arch: int = AUDIT_ARCH_X86_64,
    ip: int = 0,
) -> int:
    """Run a seccomp program on one ``struct seccomp_data``; returns the filter's verdict.

    Implements the classic BPF the seccomp verifier accepts (loads from the data, scratch
    memory, ALU, jumps, returns). ``args`` are 64-bit values (missing ones are 0).
    """
    full = [a & 0xFFFFFFFFFFFFFFFF for a in args] + [0] * (6 - len(args))
    data = struct.pack("=IIQ6Q", nr & 0xFFFFFFFF, arch, ip & 0xFFFFFFFFFFFFFFFF, *full[:6])
    insns = _decode(bpf)
    a = x = 0
    mem = [0] * 16
    pc = 0
    mask = 0xFFFFFFFF
    while 0 <= pc < len(insns):
        op, jt, jf, k = insns[pc]
        pc += 1
        cls = op & 0x07
        if cls in (0x00, 0x01):  # LD, LDX
            mode = op & 0xE0
            if mode == 0x20 and cls == 0 and op & 0x18 == 0:  # W ABS
                if k % 4 or k + 4 > len(data):
                    raise ValueError(f"bad load offset {k} at {pc - 1}")
                val = struct.unpack_from("=I", data, k)[0]
            elif mode == 0x00:
                val = k
            elif mode == 0x60:
                val = mem[k]
            elif mode == 0x80:
                val = len(data)
            else:
                raise ValueError(f"unsupported load {op:#x} at {pc - 1}")
            if cls == 0:
                a = val
            else:
                x = val
        elif cls == 0x02:  # ST
            mem[k] = a
        elif cls == 0x03:  # STX
            mem[k] = x
        elif cls == 0x04:  # ALU
            src = x if op & 0x08 else k
            alu = op & 0xF0
            if alu == 0x00:
                a = (a + src) & mask
            elif alu == 0x10:
                a = (a - src) & mask
            elif alu == 0x20:
                a = (a * src) & mask
            elif alu == 0x30:
                a = a // src if src else 0
            elif alu == 0x40:
                a |= src
            elif alu == 0x50:
                a &= src
            elif alu == 0x60:
                a = (a << src) & mask if src < 32 else 0
            elif alu == 0x70:
                a = a >> src if src < 32 else 0
            elif alu == 0x80:
                a = -a & mask
            elif alu == 0x90:
                a = a % src if src else 0
            elif alu == 0xA0:
                a ^= src
            else:
                raise ValueError(f"unsupported alu {op:#x} at {pc - 1}")
        elif cls == 0x05:  # JMP
            jop = op & 0xF0
            if jop == 0x00:
                pc += k
                continue
            src = x if op & 0x08 else k
            if jop == 0x10:
                cond = a == src
            elif jop == 0x20:
                cond = a > src
            elif jop == 0x30:
                cond = a >= src
            elif jop == 0x40:
                cond = bool(a & src)
            else:
                raise ValueError(f"unsupported jump {op:#x} at {pc - 1}")
            pc += jt if cond else jf
        elif cls == 0x06:  # RET
            return a if op & 0x18 == 0x10 else k
        else:  # MISC
            if op & 0xF8 == 0x00:
                x = a
            else:
                a = x
    raise ValueError("program fell off its end")


def action_name(verdict: int) -> str:
    """A verdict as text: ``ALLOW``, ``ERRNO(1)``, ``KILL_PROCESS``, ..."""
    act = verdict & SECCOMP_RET_ACTION_FULL
    data = verdict & SECCOMP_RET_DATA
    names = {
        SECCOMP_RET_KILL_PROCESS: "KILL_PROCESS",
        SECCOMP_RET_KILL_THREAD: "KILL_THREAD",
        SECCOMP_RET_TRAP: "TRAP",
        SECCOMP_RET_ERRNO: "ERRNO",
        SECCOMP_RET_USER_NOTIF: "NOTIFY",
        SECCOMP_RET_TRACE: "TRACE",
        SECCOMP_RET_LOG: "LOG",
        SECCOMP_RET_ALLOW: "ALLOW",
    }
    name = names.get(act, f"{act:#x}")
    return f"{name}({data})" if act in (SECCOMP_RET_ERRNO, SECCOMP_RET_TRACE) else name


# --- SCMP_ACT_NOTIFY: hand the listener to the agent ---------------------------------------


def fetch_listener(pid: int, fd: int) -> int:
    """Duplicate the listener fd number ``fd`` of process ``pid`` into this process.

    runc's ``recvSeccompFd``: the init only writes the number (so its profile cannot block
    the hand-over with a sendmsg), the runtime takes the fd with pidfd_getfd(2) (Linux 5.6).
    The result is close-on-exec; the caller closes it.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as exc:
        raise SeccompError(f"failed to get seccomp fd: pidfd_open: {_oserr(exc)}") from None
    try:
        return L.pidfd_getfd(pidfd, fd)
    except OSError as exc:
        raise SeccompError(f"failed to get seccomp fd: pidfd_getfd: {_oserr(exc)}") from None
    finally:
        os.close(pidfd)


def container_process_state(
    state: Mapping[str, Any], pid: int, metadata: str | None = None,
    oci_version: str | None = None,
) -> dict[str, Any]:
    """runtime-spec ``ContainerProcessState`` (runtime.md): what the agent receives.

    ``state`` is the container's state (``ociVersion``, ``id``, ``status`` - ``creating``
    from create, ``running`` from exec -, ``pid``, ``bundle``, ``annotations``); ``pid`` is
    the process the filter was loaded in; ``metadata`` is ``listenerMetadata``.
    """
    if oci_version is None:
        oci_version = str(state.get("ociVersion") or ociruntime.SPEC_VERSION)
    out: dict[str, Any] = {"ociVersion": oci_version, "fds": [SECCOMP_FD_NAME], "pid": pid}
    if metadata:
        out["metadata"] = metadata
    out["state"] = dict(state)
    return out


def send_listener(
    listener_path: str, fd: int, container_process_state: Mapping[str, Any],
    timeout: float = 10.0,
) -> None:
    """Send the listener ``fd`` and the state to the agent at ``listener_path`` (runc).

    One SOCK_STREAM connection, one message whose payload is the state's JSON and whose
    SCM_RIGHTS carry the fd, then close. ``fd`` stays open (the caller closes it). An absent
    or failing agent raises :class:`SeccompError` with runc's wording.
    """
    payload = json.dumps(container_process_state, compact=True).encode()
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(listener_path)
        except OSError as exc:
            reason = _oserr(exc) if exc.errno else "timed out"
            raise SeccompError(
                "failed to connect with seccomp agent specified in the seccomp profile: "
                f"dial unix {listener_path}: connect: {reason}") from None
        try:
            sent = socket.send_fds(sock, [payload], [fd])
            if sent < len(payload):
                sock.sendall(payload[sent:])
        except OSError as exc:
            reason = _oserr(exc) if exc.errno else "timed out"
            raise SeccompError(f"cannot send seccomp fd to {listener_path}: {reason}") from None
    finally:
        sock.close()


# --- features ---------------------------------------------------------------------------


def features_seccomp() -> dict[str, Any]:
    """``linux.seccomp`` of the ``features`` document: only what works on this host.

    Actions are probed with SECCOMP_GET_ACTION_AVAIL (NOTIFY also needs libseccomp API
    level 6), architectures with libseccomp, flags with a NULL-program seccomp(2) call.
    ``{"enabled": false}`` when libseccomp or pyseccomp is missing.
    """
    if L.libseccomp_version() is None:
        return {"enabled": False}
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError):
        return {"enabled": False}
    try:
        api = pyseccomp.get_api()
    except (NotImplementedError, OSError):
        api = 0
    actions = []
    for name, value in sorted(ACTIONS.items()):
        if not L.seccomp_get_action_avail(value):
            continue
        if name == "SCMP_ACT_NOTIFY" and api < 6:
            continue
        actions.append(name)
    archs = []
    probe = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name, token in sorted(ARCHS.items()):
        try:
            if not probe.exist_arch(token):
                probe.add_arch(token)
        except OSError:
            continue
        archs.append(name)
    supported = []
    for name, bit in KNOWN_FLAGS.items():
        probe_bits = bit | FLAG_NEW_LISTENER if bit == FLAG_WAIT_KILLABLE_RECV else bit
        if L.seccomp_flag_supported(probe_bits):
            supported.append(name)
    return {
        "enabled": True,
        "actions": actions,
        "operators": sorted(OPERATORS),
        "archs": archs,
        "knownFlags": list(KNOWN_FLAGS),
        "supportedFlags": supported,
    }
