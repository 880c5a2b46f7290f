"""The one syscall seam: every kernel call Python 3.11's ``os`` lacks goes through here.

Each wrapper is a thin ctypes call (through ``ffi``, the slice of ctypes we use) that
raises ``OSError`` with the kernel's errno; callers turn that into ``SyscallError`` with
the operation and path. Nothing else in the package loads libc. Syscall numbers are
x86_64's (the only architecture this runtime ships for); ``SYSCALLS`` maps the names so
tests can check them.
"""

from __future__ import annotations

import os

from ociruntime import ffi

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

_libc = ffi.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ffi.c_long
# The same syscall(3), called without releasing the GIL (clone_fork needs that).
_pythonapi = ffi.PyDLL(None, use_errno=True)
_syscall_gil = _pythonapi.syscall
_syscall_gil.restype = ffi.c_long

# --- clone / namespace flags (linux/sched.h) ---------------------------------------------
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_INTO_CGROUP = 0x200000000  # clone3 only (Linux 5.7)

# --- mount flags (linux/mount.h) ------------------------------------------------------------
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000
MNT_DETACH = 0x2

# mount_setattr(2) attributes
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_IDMAP = 0x100000
MOUNT_ATTR_NOSYMFOLLOW = 0x200000
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
AT_SYMLINK_NOFOLLOW = 0x100

# open_tree / move_mount
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4

# openat2 resolve flags
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

# --- prctl (linux/prctl.h) ------------------------------------------------------------------
PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_LOWER = 3
PR_CAP_AMBIENT_CLEAR_ALL = 4

# --- keyctl -------------------------------------------------------------------------------
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SETPERM = 5

PROC_SUPER_MAGIC = 0x9FA0

SYSCALLS = {
    "pivot_root": 155,
    "setns": 308,
    "unshare": 272,
    "keyctl": 250,
    "capget": 125,
    "capset": 126,
    "pidfd_send_signal": 424,
    "clone3": 435,
    "open_tree": 428,
    "move_mount": 429,
    "close_range": 436,
    "openat2": 437,
    "mount_setattr": 442,
    "personality": 135,
}


def _check(ret: int, what: str, path: str | bytes | None = None) -> int:
    if ret < 0:
        err = ffi.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return ret


def _b(s: str | bytes | None) -> bytes | None:
    if s is None:
        return None
    return os.fsencode(s)


def unshare(flags: int) -> None:
    """unshare(2): leave the namespaces named by ``flags`` (CLONE_NEW*)."""
    _check(_libc.unshare(ffi.c_int(flags)), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    """setns(2): join the namespace behind ``fd``."""
    _check(_libc.setns(ffi.c_int(fd), ffi.c_int(nstype)), "setns")


def mount(
    source: str | bytes | None,
    target: str | bytes,
    fstype: str | bytes | None,
    flags: int = 0,
    data: str | bytes | None = None,
) -> None:
    """mount(2). ``target`` is usually ``/proc/self/fd/N`` of a safely resolved fd."""
    _check(
        _libc.mount(_b(source), _b(target), _b(fstype), ffi.c_ulong(flags), _b(data)),
        "mount",
        target,
    )


def umount2(target: str | bytes, flags: int = 0) -> None:
    """umount2(2)."""
    _check(_libc.umount2(_b(target), ffi.c_int(flags)), "umount2", target)


def pivot_root(new_root: str | bytes, put_old: str | bytes) -> None:
    """pivot_root(2); runc's form is ``pivot_root(".", ".")`` after fchdir to the new root."""
    _check(_syscall(SYSCALLS["pivot_root"], _b(new_root), _b(put_old)), "pivot_root", new_root)


class _MountAttr(ffi.Structure):
    _fields_ = [
        ("attr_set", ffi.c_uint64),
        ("attr_clr", ffi.c_uint64),
        ("propagation", ffi.c_uint64),
        ("userns_fd", ffi.c_uint64),
    ]


def mount_setattr(
    dirfd: int,
    path: str,
    flags: int,
    attr_set: int = 0,
    attr_clr: int = 0,
    propagation: int = 0,
    userns_fd: int = 0,
) -> None:
    """mount_setattr(2): change mount attributes, recursively with ``AT_RECURSIVE``."""
    attr = _MountAttr(attr_set, attr_clr, propagation, userns_fd)
    _check(
        _syscall(
            SYSCALLS["mount_setattr"],
            ffi.c_int(dirfd),
            _b(path),
            ffi.c_uint(flags),
            ffi.byref(attr),
            ffi.c_size_t(ffi.sizeof(attr)),
        ),
        "mount_setattr",
        path,
    )


class _OpenHow(ffi.Structure):
    _fields_ = [("flags", ffi.c_uint64), ("mode", ffi.c_uint64), ("resolve", ffi.c_uint64)]


def openat2(dirfd: int, path: str | bytes, flags: int, resolve: int, mode: int = 0) -> int:
    """openat2(2) with ``O_CLOEXEC`` always added; returns the new fd."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return _check(
        _syscall(
            SYSCALLS["openat2"],
            ffi.c_int(dirfd),
            _b(path),
            ffi.byref(how),
            ffi.c_size_t(ffi.sizeof(how)),
        ),
        "openat2",
        path,
    )


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2); returns the kernel's non-negative result."""
    return _check(
        _libc.prctl(
            ffi.c_int(option),
            ffi.c_ulong(arg2),
            ffi.c_ulong(arg3),
            ffi.c_ulong(arg4),
            ffi.c_ulong(arg5),
        ),
        "prctl",
    )


class _CapHeader(ffi.Structure):
    _fields_ = [("version", ffi.c_uint32), ("pid", ffi.c_int)]


class _CapData(ffi.Structure):
    _fields_ = [
        ("effective", ffi.c_uint32),
        ("permitted", ffi.c_uint32),
        ("inheritable", ffi.c_uint32),
    ]


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def capget(pid: int = 0) -> tuple[int, int, int]:
    """capget(2): (effective, permitted, inheritable) as 64-bit masks."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, pid)
    data = (_CapData * 2)()
    _check(_syscall(SYSCALLS["capget"], ffi.byref(hdr), ffi.byref(data)), "capget")
    return (
        data[0].effective | (data[1].effective << 32),
        data[0].permitted | (data[1].permitted << 32),
        data[0].inheritable | (data[1].inheritable << 32),
    )


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) of the calling thread's three sets (64-bit masks)."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in (0, 1):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_syscall(SYSCALLS["capset"], ffi.byref(hdr), ffi.byref(data)), "capset")


def sethostname(name: str) -> None:
    """sethostname(2)."""
    raw = name.encode()
    _check(_libc.sethostname(raw, ffi.c_size_t(len(raw))), "sethostname")


def setdomainname(name: str) -> None:
    """setdomainname(2)."""
    raw = name.encode()
    _check(_libc.setdomainname(raw, ffi.c_size_t(len(raw))), "setdomainname")


def clone_fork(flags: int = 0, cgroup_fd: int = -1) -> int:
    """fork(2) through clone3(2): the child is born in new namespaces (``CLONE_NEW*`` in
    ``flags``) and, with ``cgroup_fd``, inside that cgroup2 directory
    (``CLONE_INTO_CGROUP``). Returns 0 in the child, its pid in the parent.

    Why: born inside, a process costs no move. Moving one into a cgroup2 cgroup afterwards
    (``cgroup.procs``) takes the kernel's global threadgroup lock, whose write side waits
    for an RCU grace period (~15 ms per container here); being born there takes only its
    read side. Born in its namespaces, the init needs no intermediate process to unshare
    them first. crun starts its containers the same way.

    It is ``os.fork`` with another syscall: the interpreter's own fork bookkeeping
    (``PyOS_BeforeFork``/``PyOS_AfterFork_*``: the import lock, the GIL, at-fork hooks)
    runs around it, and the syscall is made holding the GIL, as ``os.fork`` makes fork(2).
    Only for a single-threaded runtime (the rule for every fork here). OSError (ENOSYS
    before 5.7; EINVAL, EBUSY or EOPNOTSUPP for a cgroup that cannot take processes)
    leaves no child: the callers fall back to fork.
    """
    if cgroup_fd >= 0:
        flags |= CLONE_INTO_CGROUP
    # struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal (SIGCHLD), stack,
    # stack_size, tls, set_tid, set_tid_size, cgroup
    args = (ffi.c_uint64 * 11)(flags, 0, 0, 0, 17, 0, 0, 0, 0, 0, max(cgroup_fd, 0))
    api = _pythonapi
    api.PyOS_BeforeFork()
    pid = _syscall_gil(SYSCALLS["clone3"], ffi.byref(args),
                       ffi.c_size_t(ffi.sizeof(args)))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ffi.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone3: {os.strerror(err)}")
    return int(pid)


#: resource limits (asm-generic/resource.h), the names runtime-spec's process.rlimits uses
RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}


def prlimit(pid: int, resource: int, soft: int, hard: int) -> None:
    """prlimit(2) setting both limits of ``pid`` (the ``resource`` module would cost a
    shared-library load on every create)."""
    new = (ffi.c_uint64 * 2)(soft, hard)
    if _libc.prlimit(ffi.c_int(pid), ffi.c_int(resource), new, None) < 0:
        err = ffi.get_errno()
        raise OSError(err, os.strerror(err))


def personality(persona: int) -> int:
    """personality(2); returns the previous persona."""
    return _check(_syscall(SYSCALLS["personality"], ffi.c_ulong(persona)), "personality")


def keyctl(op: int, arg2: Any = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """keyctl(2)."""
    return _check(
        _syscall(
            SYSCALLS["keyctl"],
            ffi.c_int(op),
            arg2,
            ffi.c_ulong(arg3),
            ffi.c_ulong(arg4),
            ffi.c_ulong(arg5),
        ),
        "keyctl",
    )


def join_session_keyring(name: str) -> int:
    """KEYCTL_JOIN_SESSION_KEYRING with ``name``; returns the keyring serial."""
    return keyctl(KEYCTL_JOIN_SESSION_KEYRING, ffi.c_char_p(name.encode()))


def pidfd_send_signal(pidfd: int, sig: int) -> None:
    """pidfd_send_signal(2): signal the process behind a pidfd (no pid-reuse race)."""
    _check(
        _syscall(SYSCALLS["pidfd_send_signal"], ffi.c_int(pidfd), ffi.c_int(sig), None, 0),
        "pidfd_send_signal",
    )


class _Statfs(ffi.Structure):
    _fields_ = [
        ("f_type", ffi.c_long),
        ("f_bsize", ffi.c_long),
        ("rest", ffi.c_byte * 120),
    ]


def fs_type(fd: int) -> int:
    """fstatfs(2)'s ``f_type``: the filesystem magic (``os.statvfs`` lacks it)."""
    st = _Statfs()
    _check(_libc.fstatfs(ffi.c_int(fd), ffi.byref(st)), "fstatfs")
    return int(st.f_type)


def close_range(first: int, last: int = 0xFFFFFFFF, flags: int = 0) -> None:
    """close_range(2); ``flags=CLOSE_RANGE_CLOEXEC`` (4) marks instead of closing."""
    _check(
        _syscall(SYSCALLS["close_range"], ffi.c_uint(first), ffi.c_uint(last),
                 ffi.c_uint(flags)),
        "close_range",
    )


CLOSE_RANGE_CLOEXEC = 4


SYSCALLS["bpf"] = 321  # x86_64


def bpf(cmd: int, attr: Any) -> int:
    """bpf(2): ``attr`` is a mutable ctypes buffer holding ``union bpf_attr`` (the kernel
    may write results into it, as BPF_PROG_QUERY does); returns the kernel's result."""
    return _check(
        _syscall(ffi.c_long(SYSCALLS["bpf"]), ffi.c_int(cmd), ffi.byref(attr),
                 ffi.c_uint(ffi.sizeof(attr))),
        "bpf",
    )


IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
IN_MODIFY = 0x00000002


def inotify_init1(flags: int = IN_CLOEXEC) -> int:
    """inotify_init1(2); returns the inotify fd."""
    return _check(_libc.inotify_init1(ffi.c_int(flags)), "inotify_init1")


def inotify_add_watch(fd: int, path: str, mask: int) -> int:
    """inotify_add_watch(2); returns the watch descriptor."""
    return _check(
        _libc.inotify_add_watch(ffi.c_int(fd), _b(path), ffi.c_uint32(mask)),
        "inotify_add_watch",
        path,
    )


# --- seccomp(2), its notification fd, pidfd_getfd (issue 4; used by ociruntime.seccomp) ----


def seccomp_set_mode_filter(program: bytes, flags: int) -> int:
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, &fprog) for raw ``struct sock_filter`` bytes.

    Returns the kernel's result: the listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else
    0. Everything is built before the one system call and nothing is imported, so the init
    can call it after pivot_root, as its last step before exec.
    """

    class _SockFprog(ffi.Structure):
        _fields_ = [("len", ffi.c_ushort), ("filter", ffi.c_void_p)]

    buf = ffi.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ffi.addressof(buf))
    ret = _syscall(
        ffi.c_long(317),  # __NR_seccomp (x86_64)
        ffi.c_ulong(1),  # SECCOMP_SET_MODE_FILTER
        ffi.c_ulong(flags),
        ffi.byref(fprog),
    )
    return _check(ret, "seccomp(SECCOMP_SET_MODE_FILTER)")


def seccomp_get_action_avail(action: int) -> bool:
    """SECCOMP_GET_ACTION_AVAIL: whether the kernel knows the filter return ``action``."""
    value = ffi.c_uint32(action)
    ret = _syscall(
        ffi.c_long(317), ffi.c_ulong(2), ffi.c_ulong(0), ffi.byref(value)
    )
    return ret == 0


def seccomp_flag_supported(flags: int) -> bool:
    """Whether SECCOMP_SET_MODE_FILTER accepts ``flags``, probed with a NULL program.

    The kernel checks the flags before it reads the program: EFAULT means they were
    accepted (nothing is installed), EINVAL that a flag or combination is unknown.
    """
    ret = _syscall(ffi.c_long(317), ffi.c_ulong(1), ffi.c_ulong(flags), None)
    return ret < 0 and ffi.get_errno() == 14  # EFAULT


def seccomp_notif_recv(fd: int) -> tuple[int, int, int, int, int, int, tuple[int, ...]]:
    """SECCOMP_IOCTL_NOTIF_RECV on a listener fd (blocks; ctypes releases the GIL).

    Returns ``(id, pid, flags, nr, arch, instruction_pointer, args)``.
    """
    buf = (ffi.c_uint64 * 10)()  # struct seccomp_notif, 80 bytes, must be zeroed
    _check(
        _libc.ioctl(ffi.c_int(fd), ffi.c_ulong(0xC0502100), ffi.byref(buf)),
        "ioctl(SECCOMP_IOCTL_NOTIF_RECV)",
    )
    nr = buf[2] & 0xFFFFFFFF
    if nr >= 1 << 31:
        nr -= 1 << 32
    return (
        int(buf[0]),
        int(buf[1] & 0xFFFFFFFF),
        int(buf[1] >> 32),
        nr,
        int(buf[2] >> 32),
        int(buf[3]),
        tuple(int(a) for a in buf[4:10]),
    )


def seccomp_notif_send(fd: int, notif_id: int, val: int, error: int, flags: int) -> None:
    """SECCOMP_IOCTL_NOTIF_SEND: answer notification ``notif_id``.

    ``error`` is 0 or a negative errno; ``flags`` may be SECCOMP_USER_NOTIF_FLAG_CONTINUE (1).
    """

    class _NotifResp(ffi.Structure):
        _fields_ = [
            ("id", ffi.c_uint64),
            ("val", ffi.c_int64),
            ("error", ffi.c_int32),
            ("flags", ffi.c_uint32),
        ]

    resp = _NotifResp(notif_id, val, error, flags)
    _check(
        _libc.ioctl(ffi.c_int(fd), ffi.c_ulong(0xC0182101), ffi.byref(resp)),
        "ioctl(SECCOMP_IOCTL_NOTIF_SEND)",
    )


def seccomp_notif_id_valid(fd: int, notif_id: int) -> bool:
    """SECCOMP_IOCTL_NOTIF_ID_VALID: whether the notifying task still waits for an answer."""
    value = ffi.c_uint64(notif_id)
    return _libc.ioctl(ffi.c_int(fd), ffi.c_ulong(0x40082102), ffi.byref(value)) == 0


def pidfd_getfd(pidfd: int, targetfd: int) -> int:
    """pidfd_getfd(2): a close-on-exec duplicate of fd ``targetfd`` of the process ``pidfd``."""
    return _check(
        _syscall(ffi.c_long(438), ffi.c_int(pidfd), ffi.c_int(targetfd),
                 ffi.c_uint(0)),
        "pidfd_getfd",
    )


def libseccomp_version() -> tuple[int, int, int] | None:
    """``seccomp_version()`` of the system's libseccomp.so.2, or None when it cannot be loaded.

    Loaded here (not through pyseccomp) so that a cached filter can be checked against the
    library without importing pyseccomp.
    """
    try:
        lib = ffi.CDLL("libseccomp.so.2")
    except OSError:
        return None
    fn = lib.seccomp_version
    fn.restype = ffi.POINTER(ffi.c_uint * 3)
    ver = fn()
    if not ver:
        return None
    return int(ver.contents[0]), int(ver.contents[1]), int(ver.contents[2])


# --- process scheduling and memory placement (runtime-spec v1.3 process fields) ----------------

IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_SHIFT = 13


def ioprio_set(which: int, who: int, ioprio: int) -> None:
    """ioprio_set(2)."""
    _check(_syscall(251, ffi.c_int(which), ffi.c_int(who), ffi.c_int(ioprio)),
           "ioprio_set")


class _SchedAttr(ffi.Structure):
    _fields_ = [
        ("size", ffi.c_uint32),
        ("sched_policy", ffi.c_uint32),
        ("sched_flags", ffi.c_uint64),
        ("sched_nice", ffi.c_int32),
        ("sched_priority", ffi.c_uint32),
        ("sched_runtime", ffi.c_uint64),
        ("sched_deadline", ffi.c_uint64),
        ("sched_period", ffi.c_uint64),
    ]


def sched_setattr(policy: int, flags: int = 0, nice: int = 0, priority: int = 0,
                  runtime: int = 0, deadline: int = 0, period: int = 0, pid: int = 0) -> None:
    """sched_setattr(2) of ``pid`` (0: the caller)."""
    attr = _SchedAttr(ffi.sizeof(_SchedAttr), policy, flags, nice, priority, runtime,
                      deadline, period)
    _check(_syscall(314, ffi.c_int(pid), ffi.byref(attr), ffi.c_uint(0)),
           "sched_setattr")


def set_mempolicy(mode: int, nodes: list[int]) -> None:
    """set_mempolicy(2) with a node mask built from ``nodes``."""
    words = (ffi.c_ulong * 16)()
    for n in nodes:
        if not 0 <= n < 16 * 64:
            raise OSError(22, f"set_mempolicy: node {n} out of range")
        words[n // 64] |= 1 << (n % 64)
    mask = ffi.byref(words) if nodes else None
    _check(_syscall(238, ffi.c_int(mode), mask, ffi.c_ulong(16 * 64 + 1 if nodes else 0)),
           "set_mempolicy")
