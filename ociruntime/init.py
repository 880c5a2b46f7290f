"""The container's init: one ordered function that turns a forked runtime into the container.

``run_init`` runs in the process that becomes the container (pid 1 of a new pid namespace),
forked from the runtime without re-executing the interpreter. It follows runc's order
(``linuxStandardInit.Init``, runc-behavior.md 2.3); each step says why it is where it is.

Rule for everything after ``pivot_root``: nothing may import, look up users through NSS or
load codecs, because Python would read those files from the *container's* root and run
them inside the runtime (security.md F1/F2). Every module used here is imported at the
top, users were resolved before the pivot, and only raw ``os`` calls remain.
"""

from __future__ import annotations

import _signal as signal  # the C module: signal.py would import enum
import _socket as socket  # the C module: socket.py pulls in enum and selectors
import errno
import fcntl
import gc
import os
import stat
import struct

from ociruntime import (
    capabilities,
    console,
    hooks,
    namespaces,
    paths,
    rootfs,
    sched,
    user,
)
from ociruntime import fastjson as json
from ociruntime import linux as L
from ociruntime.channel import GO, HOOKS, HOOKS_DONE, READY, RUN, Channel
from ociruntime.errors import InitError
from ociruntime.record import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from ociruntime import seccomp


@dataclass
class InitPlan:
    """Everything the init needs, computed by the runtime before the fork."""

    config: dict[str, Any]
    container_id: str
    rootfs: str
    ns: namespaces.NamespacePlan
    fifo_fd: int
    console_fd: int | None
    no_pivot: bool
    no_new_keyring: bool
    preserve_fds: int
    caps: capabilities.CapSets
    last_cap: int
    #: ``mounts[]`` index -> O_PATH fd of its bind source, opened by the runtime (user
    #: namespaces only; filled in by the intermediate)
    mount_sources: dict[int, int] = field(default_factory=dict)
    #: variables added to ``process.env`` for the init only (socket activation)
    extra_env: list[str] = field(default_factory=list)
    #: the compiled seccomp filter (compiled by the runtime before the fork)
    seccomp: seccomp.CompiledFilter | None = None
    #: the state given to createContainer/startContainer hooks; ``pid`` and ``status`` are
    #: filled in by the init (its pid as seen inside the container)
    hook_state: dict[str, Any] = field(default_factory=dict)

    @property
    def process(self) -> dict[str, Any]:
        """``process`` of the config."""
        return self.config.get("process") or {}

    @property
    def linux(self) -> dict[str, Any]:
        """``linux`` of the config."""
        return self.config.get("linux") or {}


class ExecLookupError(Exception):
    """``args[0]`` could not be found or run; message in Go's ``exec:`` wording."""


def run_init(plan: InitPlan, chan: Channel) -> NoReturn:
    """Become the container. Never returns: execs the user process or exits with status 1."""
    gc.disable()  # a collected file object could close a reused fd number
    try:
        _init_sequence(plan, chan)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        chan.send_error(error_message(exc))
    os._exit(1)


def error_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename and str(exc.filename) not in text:
            text = f"{exc.filename}: {text}"
        return text.lower() if text[:1].isupper() and " " not in text.split(":")[0] else text
    return str(exc) or type(exc).__name__


def _init_sequence(plan: InitPlan, chan: Channel) -> None:
    proc = plan.process
    lx = plan.linux
    ns = plan.ns
    mount_ns = ns.has("mount")

    # Wait until the runtime has seen our pid: from then on it can kill us on any failure.
    chan.expect(GO)

    # The seccomp loader is bound here, in the host's root: nothing is imported after
    # pivot_root (the runtime already imported the module to compile the filter).
    if plan.seccomp is not None:
        from ociruntime.seccomp import load_and_report

    # A new session: the init must be a session leader to take a controlling terminal.
    os.setsid()

    # The cgroup namespace is created only now, after the runtime placed us in the
    # container's cgroup, so that the namespace's root is that cgroup (runc nsexec stage-2).
    if "cgroup" in ns.new:
        L.unshare(L.CLONE_NEWCGROUP)

    # Session keyring: a container must not share the host's (runc; --no-new-keyring).
    if not plan.no_new_keyring:
        _join_keyring(plan.container_id, ns.has("user"))

    # A new network namespace starts with lo down (config-linux.md#network).
    if "network" in ns.new:
        _loopback_up()

    # --- the root filesystem (config.md#mounts, runc prepareRootfs) ---
    rootfd = os.open(plan.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    mounts = plan.config.get("mounts") or []
    ctx = rootfs.RootfsContext(
        rootfs=plan.rootfs,
        userns=ns.has("user"),
        cgroupns=ns.has("cgroup"),
        mount_label=lx.get("mountLabel") or "",
        mount_sources=plan.mount_sources,
    )
    if mount_ns:
        # Slave (or the configured propagation) first, so nothing we mount leaks to the host.
        rootfs.set_root_propagation(lx.get("rootfsPropagation"))
        if lx.get("rootfsPropagation") == "rshared":
            # pivot_root refuses a shared parent mount. Only rshared leaves one: a
            # recursive slave or private change leaves no mount shared, so runc's
            # mountinfo scan for it is skipped then.
            rootfs.make_parent_private(plan.rootfs)
        rootfs.bind_rootfs(plan.rootfs)
        os.close(rootfd)
        rootfd = os.open(plan.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        for index, entry in enumerate(mounts):
            rootfs.mount_one(rootfd, entry, ctx, index)
        if not rootfs.has_dev_bind(mounts):
            rootfs.create_devices(rootfd, lx.get("devices") or [], ctx)
            rootfs.setup_ptmx_and_symlinks(rootfd)

    # Users are resolved now, from the image's /etc/passwd read through the rootfs fd:
    # after pivot_root nothing may parse or look up anything (no NSS, no imports).
    uid, gid, home = _resolve_user(rootfd, proc)
    os.close(rootfd)

    # The runtime applies cgroup limits and runs prestart + createRuntime hooks now:
    # after the mounts, before pivot_root (config.md#createruntime-hooks).
    chan.send(HOOKS)
    chan.expect(HOOKS_DONE)

    # createContainer hooks run in the container's namespaces before pivot_root, with the
    # rootfs as cwd (config.md#createcontainer-hooks).
    os.chdir(plan.rootfs)
    hooks.run_hooks((plan.config.get("hooks") or {}).get("createContainer"),
                    _hook_state(plan, "creating"))

    # --- the jail ---
    if mount_ns and not plan.no_pivot:
        rootfs.pivot_root(plan.rootfs)
    elif mount_ns:
        rootfs.move_root(plan.rootfs)
    else:
        rootfs.chroot_root(plan.rootfs)

    # From here on the host filesystem is out of reach; see the module docstring.

    _reopen_dev_null()

    cwd = proc.get("cwd") or "/"
    _mkdir_cwd(cwd)

    # Terminal: the pty comes from the container's /dev/ptmx, its slave becomes
    # /dev/console and fds 0-2, and the master goes to the caller (runc console protocol).
    if proc.get("terminal") and plan.console_fd is not None:
        setup_console(plan.console_fd, proc.get("consoleSize"), mount_ns)

    if mount_ns:
        # tmpfs and /dev mounts asking for ro were mounted rw to be filled; seal them now,
        # then the root itself (config.md#root readonly).
        rootfs.finalize_ro_mounts(mounts)
        if (plan.config.get("root") or {}).get("readonly"):
            rootfs.readonly_root()
    os.umask(int((proc.get("user") or {}).get("umask", 0o022)))

    if plan.config.get("hostname") is not None and ns.has("uts"):
        L.sethostname(plan.config["hostname"])
    if plan.config.get("domainname") is not None and ns.has("uts"):
        L.setdomainname(plan.config["domainname"])

    # sysctls go through the container's own /proc/sys, checked to be a real procfs.
    _write_sysctls(lx.get("sysctl") or {})

    # readonlyPaths, then maskedPaths (config-linux.md), after the pivot, as runc does.
    for path in lx.get("readonlyPaths") or []:
        rootfs.readonly_path(path)
    for path in lx.get("maskedPaths") or []:
        rootfs.mask_path(path, lx.get("mountLabel") or "")
    # rootfsPropagation shared/unbindable, on the container's finished tree: an unbindable
    # "/" would refuse the binds of the steps above.
    if mount_ns:
        rootfs.finish_root_propagation(lx.get("rootfsPropagation"))

    if lx.get("personality"):
        _set_personality(lx["personality"])

    if proc.get("noNewPrivileges"):
        L.prctl(L.PR_SET_NO_NEW_PRIVS, 1)

    # The runtime sets rlimits with prlimit (it can raise hard limits; we may not be able
    # to inside a user namespace) and writes state.json; then tells us to go on.
    chan.send(READY)
    chan.expect(RUN)

    # I/O priority, scheduling policy and NUMA memory policy are inherited across execve;
    # set while we still hold CAP_SYS_NICE and before a seccomp filter could refuse them.
    sched.apply(proc, lx)
    mark_fds_cloexec(3 + plan.preserve_fds)

    # Seccomp without noNewPrivileges: loading a filter then needs CAP_SYS_ADMIN, so it
    # happens now, before the capabilities are dropped (runc standard_init_linux.go).
    if plan.seccomp is not None and not proc.get("noNewPrivileges"):
        load_and_report(plan.seccomp, chan.fileno())

    # --- finalizeNamespace: capabilities and user, in runc's order ---
    preserve_end = 3 + plan.preserve_fds
    try:
        os.chdir(cwd)
        cwd_done = True
    except PermissionError:
        cwd_done = False  # retried after the uid change (root may be denied on NFS etc.)
    capabilities.drop_bounding(plan.caps, plan.last_cap)
    L.prctl(L.PR_SET_KEEPCAPS, 1)
    set_user(proc, uid, gid)
    if not cwd_done:
        os.chdir(cwd)
    # CVE-2024-21626: the cwd must be inside the container, not a leaked host directory
    # (a cwd reached through an fd of the host reads as unreachable).
    try:
        here = os.getcwd()
    except OSError:
        here = ""
    if not here.startswith("/"):
        raise InitError("current working directory is outside of container mount namespace root"
                        " -- possible container breakout detected")
    L.prctl(L.PR_SET_KEEPCAPS, 0)
    capabilities.apply(plan.caps, plan.last_cap)

    env = environment(proc, home) + plan.extra_env
    path = look_path(proc["args"][0], env)
    # CVE-2019-5736: the init is still the host's interpreter. If args[0] (or a #! line)
    # led back to it through /proc/self/exe, the container would run - and could later
    # rewrite - the host's python. Refuse magic links and our own executable.
    guard_exe(path, proc["args"][0])

    # Seccomp with noNewPrivileges: as late as possible, so that the fewest of our own
    # syscalls run under the container's filter (only the fifo handshake and execve).
    if plan.seccomp is not None and proc.get("noNewPrivileges"):
        load_and_report(plan.seccomp, chan.fileno())

    # Setup is complete: closing the channel is the signal `create` returns on.
    chan.close()

    # Block until `start` opens the fifo for reading (runtime.md#start).
    fifo = os.open(f"/proc/self/fd/{plan.fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
    os.write(fifo, b"0")
    os.close(plan.fifo_fd)
    # The write end stays open until execve closes it (O_CLOEXEC): `start` reads that EOF
    # as "the user process has started" before it runs the poststart hooks.

    def report(msg: str) -> None:
        # `start` reads what follows the "0" as the failure (runtime.md lifecycle step 7).
        os.write(fifo, b"E" + msg.encode())

    try:
        hooks.run_hooks((plan.config.get("hooks") or {}).get("startContainer"),
                        _hook_state(plan, "created"))
        exec_user_process(path, proc["args"], env, preserve_end, on_error=report)
    except BaseException as exc:  # noqa: BLE001 - the channel is closed: report on the fifo
        report(error_message(exc))
        os._exit(1)


def _hook_state(plan: InitPlan, status: str) -> bytes:
    state = dict(plan.hook_state, status=status, pid=os.getpid())
    return json.dumps(state).encode()


def mark_fds_cloexec(preserve_end: int) -> None:
    """Keep fds 3..preserve_end-1 across exec, mark every later one close-on-exec.

    Marked rather than closed, so a failing execve can still be reported; done before the
    seccomp filter is loaded, since a profile may refuse close_range (CVE-2024-21626: no
    host fd may survive into the container).
    """
    for fd in range(3, preserve_end):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    L.close_range(preserve_end, 0xFFFFFFFF, L.CLOSE_RANGE_CLOEXEC)


def exec_user_process(
    path: str,
    args: list[str],
    env: list[str],
    preserve_end: int,
    on_error: Callable[[str], None] | None = None,
) -> NoReturn:
    """Reset signals, make sure every fd but stdio and --preserve-fds closes at exec, and
    execve (``mark_fds_cloexec`` already ran before any seccomp filter; this repeats it for
    fds opened since, and a filter that refuses close_range is fine then)."""
    try:
        mark_fds_cloexec(preserve_end)
    except OSError:
        pass
    # Python ignores SIGPIPE/SIGXFSZ and handles SIGINT; the container gets defaults and an
    # empty signal mask (runc 1.1.5 leaks a blocked mask; crun clears it: security.md D8).
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        os.execve(path, args, _env_dict(env))
    except OSError as exc:
        msg = f'exec: "{args[0]}": {(exc.strerror or "exec failed").lower()}'
        if on_error is not None:
            on_error(msg)
        else:
            os.write(2, (msg + "\n").encode())
    os._exit(255)


def _env_dict(env: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _join_keyring(container_id: str, userns: bool) -> None:
    try:
        serial = L.join_session_keyring(f"_ses.{container_id}")
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EPERM, errno.EACCES):
            return
        raise
    # Possessor may do anything; the owner (uid) only view/search in a user namespace.
    perm = 0x3F3F0000 | (0x8 if userns else 0x80000)
    try:
        L.keyctl(L.KEYCTL_SETPERM, serial, perm & 0xFFFFFFFF)
    except OSError:
        pass


def _loopback_up() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        ifr = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), 0x8913, ifr))[1]  # SIOCGIFFLAGS
        ifr = struct.pack("16sH22x", b"lo", flags | 0x1)  # IFF_UP
        fcntl.ioctl(s.fileno(), 0x8914, ifr)  # SIOCSIFFLAGS
    finally:
        s.close()


def _resolve_user(rootfd: int, proc: dict[str, Any]) -> tuple[int, int, str | None]:
    u = proc.get("user") or {}
    uid = int(u.get("uid", 0))
    gid = int(u.get("gid", 0))
    home = user.home_for_uid(user.read_passwd(rootfd), uid)
    return uid, gid, home


def _reopen_dev_null() -> None:
    """stdio fds that were the host's /dev/null are reopened on the container's /dev/null."""
    try:
        host_null = os.stat("/dev/null")
    except OSError:
        return
    for fd in (0, 1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == host_null.st_rdev and (
            st.st_dev != host_null.st_dev or st.st_ino != host_null.st_ino
        ):
            nfd = os.open("/dev/null", os.O_RDWR)
            os.dup2(nfd, fd)
            os.close(nfd)


def _mkdir_cwd(cwd: str) -> None:
    try:
        os.makedirs(cwd, 0o755, exist_ok=True)
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise


def setup_console(sock_fd: int, size: dict[str, Any] | None, mount_ns: bool) -> None:
    master, slave, slave_path = console.open_pty()
    if size:
        console.set_size(master, int(size.get("height", 0)), int(size.get("width", 0)))
    if mount_ns:
        console.bind_console(slave_path)
    console.send_master(sock_fd, master)
    os.close(master)
    os.close(sock_fd)
    console.make_controlling(slave)
    if slave > 2:
        os.close(slave)


def _write_sysctls(sysctls: dict[str, str]) -> None:
    if not sysctls:
        return
    procfd = paths.verified_proc("/proc")
    try:
        for key, value in sysctls.items():
            rel = "sys/" + key.replace(".", "/")
            paths.write_proc(procfd, rel, value.encode())
    finally:
        os.close(procfd)


_PERSONALITIES = {"LINUX": 0x0000, "LINUX32": 0x0008}


def _set_personality(pers: dict[str, Any]) -> None:
    L.personality(_PERSONALITIES[pers.get("domain", "LINUX")])


def set_user(proc: dict[str, Any], uid: int, gid: int) -> None:
    u = proc.get("user") or {}
    groups = [int(g) for g in u.get("additionalGids") or []]
    # Supplementary groups are exactly additionalGids (runc: a group is always given, so
    # /etc/group is not consulted); skipped when setgroups is denied in a user namespace.
    try:
        with open("/proc/self/setgroups", "rb") as f:
            deny = f.read().strip() == b"deny"
    except OSError:
        deny = False
    if not deny:
        os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def environment(proc: dict[str, Any], home: str | None) -> list[str]:
    env = list(proc.get("env") or [])
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={home or '/'}")
    return env


def look_path(name: str, env: list[str]) -> str:
    """Go's exec.LookPath with the container's PATH, after pivot, setuid and chdir."""
    if "/" in name:
        _check_executable(name, name)
        return name
    path_var = ""
    for item in env:
        if item.startswith("PATH="):
            path_var = item[5:]
    for d in path_var.split(":"):
        candidate = (d or ".") + "/" + name
        try:
            _check_executable(candidate, name)
            return candidate
        except ExecLookupError:
            continue
    raise ExecLookupError(f'exec: "{name}": executable file not found in $PATH')


def guard_exe(path: str, name: str, depth: int = 0) -> None:
    """Refuse to exec the runtime's own interpreter, directly or as a script interpreter."""
    try:
        fd = L.openat2(-100, path, os.O_RDONLY, L.RESOLVE_NO_MAGICLINKS)  # AT_FDCWD
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ExecLookupError(
                f'exec: "{name}": refusing to execute through a magic link') from None
        return  # execve reports other errors itself
    try:
        st = os.fstat(fd)
        try:
            own = os.stat("/proc/self/exe")
        except OSError:
            own = None
        if own is not None and (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            raise ExecLookupError(f'exec: "{name}": refusing to execute the runtime itself')
        head = os.pread(fd, 256, 0)
    finally:
        os.close(fd)
    if head.startswith(b"#!") and depth < 4:
        line = head[2:].split(b"\n", 1)[0].strip()
        interp = line.split()[0].decode("utf-8", "replace") if line else ""
        if interp.startswith("/"):
            guard_exe(interp, name, depth + 1)


def _check_executable(path: str, name: str) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ExecLookupError(
            f'exec: "{name}": stat {path}: {(exc.strerror or "error").lower()}'
        ) from None
    if stat.S_ISDIR(st.st_mode) or not st.st_mode & 0o111:
        raise ExecLookupError(f'exec: "{name}": permission denied')
    if not os.access(path, os.X_OK, effective_ids=True):
        raise ExecLookupError(f'exec: "{name}": permission denied')
