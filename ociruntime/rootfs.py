"""The container's filesystem: root propagation, mounts, /dev, pivot_root, masked paths.

Runs in the init process, inside the new mount namespace, in the order of runc's
``prepareRootfs``/``finalizeRootfs`` (runc-behavior.md 2.6). Every target inside the rootfs
is resolved with ``ociruntime.paths`` (openat2 ``RESOLVE_IN_ROOT``) and mounted through
``/proc/self/fd/N``; no string join of rootfs + destination ever reaches a syscall.
"""

from __future__ import annotations

import errno
import os
import stat

from ociruntime import linux as L
from ociruntime import mounts as M
from ociruntime import paths
from ociruntime.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_DEVICES = (
    # path, type, major, minor (runtime-linux.md#default-devices)
    ("/dev/null", "c", 1, 3),
    ("/dev/zero", "c", 1, 5),
    ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8),
    ("/dev/urandom", "c", 1, 9),
    ("/dev/tty", "c", 5, 0),
)

DEV_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
)

#: Paths under /proc that may be mount targets besides /proc itself (runc checkProcMount).
PROC_ALLOWED = (
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
)


class MountError(OSError):
    """A mount step failed; the message names the destination."""


@dataclass
class RootfsContext:
    """What the mount steps need to know about the container."""

    rootfs: str
    userns: bool
    cgroupns: bool
    mount_label: str = ""
    #: host uid/gid that container root maps to (device ownership under a user namespace)
    root_uid: int = 0
    root_gid: int = 0
    #: ``mounts[]`` index -> O_PATH fd of a bind source opened by the runtime
    mount_sources: dict[int, int] | None = None


def _clean(path: str) -> str:
    """An absolute, normalised container path (``//x`` and ``..`` above / folded away)."""
    return os.path.normpath("/" + path.lstrip("/"))


def set_root_propagation(propagation: str | None) -> None:
    """Before any container mount: the whole tree recursively slave (the default, and for
    ``slave``/``shared``/``unbindable``) or private (``private``).

    Without this, mounts made for the container would propagate back to the host
    (config-linux.md#rootfs-mount-propagation; runc prepareRoot). ``shared`` and
    ``unbindable`` are applied to the new root after pivot_root (``finish_root_propagation``):
    done here they would make the host's tree shared, or the rootfs impossible to bind.
    """
    if propagation in ("private", "rprivate"):
        L.mount(None, "/", None, L.MS_PRIVATE | L.MS_REC)
    elif propagation == "rshared":
        # runc's extension value, applied as runc applies it: the whole tree shared, so the
        # container's mounts and the host's propagate both ways.
        L.mount(None, "/", None, L.MS_SHARED | L.MS_REC)
    else:
        L.mount(None, "/", None, L.MS_SLAVE | L.MS_REC)


def finish_root_propagation(propagation: str | None) -> None:
    """After pivot_root: ``shared`` or ``unbindable`` on the container's own tree."""
    if propagation == "shared":
        L.mount(None, "/", None, L.MS_SHARED | L.MS_REC)
    elif propagation in ("unbindable", "runbindable"):
        L.mount(None, "/", None, L.MS_UNBINDABLE | L.MS_REC)


def _mountinfo() -> list[list[str]]:
    with open("/proc/self/mountinfo", "rb") as f:
        return [line.decode("utf-8", "surrogateescape").split() for line in f]


def _unescape(s: str) -> str:
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace(
        "\\134", "\\")


def make_parent_private(rootfs: str) -> None:
    """If the mount holding the rootfs is shared, make it private (pivot_root needs that)."""
    best, best_opts = "", ""
    for fields in _mountinfo():
        mp = _unescape(fields[4])
        if (rootfs == mp or rootfs.startswith(mp.rstrip("/") + "/")) and len(mp) >= len(best):
            best = mp
            best_opts = " ".join(fields[6 : fields.index("-")])
    if "shared:" in best_opts:
        L.mount(None, best, None, L.MS_PRIVATE)


def bind_rootfs(rootfs: str) -> None:
    """Bind the rootfs onto itself so it is a mount point (pivot_root requires one)."""
    L.mount(rootfs, rootfs, "bind", L.MS_BIND | L.MS_REC)


def _check_proc_target(dest: str, m: M.MountSpec) -> None:
    if dest == "/proc":
        if m.type != "proc" and not m.is_bind:
            raise MountError(errno.EINVAL, f"{dest} cannot be mounted as {m.type}")
        return
    if dest.startswith("/proc/") and dest not in PROC_ALLOWED:
        raise MountError(errno.EPERM, f"{dest} cannot be mounted because it is inside /proc")


def _apply_after(fdname: str, m: M.MountSpec) -> None:
    for prop in m.propagation:
        L.mount(None, fdname, None, prop)
    if m.attr_set or m.attr_clr:
        fd = os.open(fdname, os.O_PATH | os.O_CLOEXEC)
        try:
            L.mount_setattr(fd, "", L.AT_EMPTY_PATH | L.AT_RECURSIVE, m.attr_set, m.attr_clr)
        finally:
            os.close(fd)


def _bind(rootfd: int, m: M.MountSpec, dest: str, src_fd: int | None = None) -> None:
    src = m.source if src_fd is None else paths.fd_path(src_fd)
    try:
        st = os.stat(src)
    except OSError as exc:
        raise MountError(exc.errno, f"bind source {m.source}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        fd = paths.mkdir_all(rootfd, dest)
    else:
        fd = paths.create_file(rootfd, dest)
    try:
        L.mount(src, paths.fd_path(fd), None, m.flags & (L.MS_BIND | L.MS_REC))
    finally:
        os.close(fd)
    # Re-resolve: the old fd names the covered inode, not the new mount.
    fd = paths.open_in_root(rootfd, dest, os.O_PATH)
    try:
        other = m.flags & ~(L.MS_BIND | L.MS_REC | L.MS_REMOUNT)
        if other:
            _remount_bind(paths.fd_path(fd), other)
        _apply_after(paths.fd_path(fd), m)
    finally:
        os.close(fd)


def _remount_bind(target: str, flags: int) -> None:
    """Bind-remount ``target`` with ``flags``, keeping flags the kernel has locked on it."""
    try:
        L.mount(None, target, None, L.MS_BIND | L.MS_REMOUNT | flags)
    except PermissionError:
        # Under a user namespace nosuid/nodev/noexec/atime flags of the source are locked:
        # the remount must repeat them (runc does the same).
        locked = os.statvfs(target).f_flag & (
            L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC | L.MS_NOATIME | L.MS_NODIRATIME
            | L.MS_RELATIME | L.MS_RDONLY
        )
        L.mount(None, target, None, L.MS_BIND | L.MS_REMOUNT | flags | locked)


def _own_cgroups() -> dict[str, str]:
    out: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


def _cgroup_mount(rootfd: int, m: M.MountSpec, dest: str, ctx: RootfsContext) -> None:
    """``type: cgroup``: v1 as runc does it (tmpfs + the container's own cgroup per hierarchy),
    or a real cgroup2 mount on a unified host."""
    hierarchies = []
    for fields in _mountinfo():
        sep = fields.index("-")
        fstype = fields[sep + 1]
        mp = _unescape(fields[4])
        if fstype in ("cgroup", "cgroup2") and mp.startswith("/sys/fs/cgroup"):
            hierarchies.append((mp, fields[3], fstype, fields[sep + 3]))
    if any(h[0] == "/sys/fs/cgroup" and h[2] == "cgroup2" for h in hierarchies):
        fd = paths.mkdir_all(rootfd, dest)
        try:
            try:
                L.mount("cgroup2", paths.fd_path(fd), "cgroup2", m.flags)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EBUSY):
                    raise
                L.mount("/sys/fs/cgroup", paths.fd_path(fd), None, L.MS_BIND | L.MS_REC)
        finally:
            os.close(fd)
        return
    # cgroup v1 or hybrid: a tmpfs holding one bind per hierarchy.
    fd = paths.mkdir_all(rootfd, dest)
    try:
        L.mount("tmpfs", paths.fd_path(fd), "tmpfs", L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV,
                "mode=755")
    finally:
        os.close(fd)
    # The hierarchies' directories are made in that tmpfs through one handle of it: it is
    # ours and new (no container process exists yet to race a symlink into it), and each
    # name is one component, a host mount point's last one, opened with O_NOFOLLOW anyway.
    base = paths.open_in_root(rootfd, dest, os.O_PATH | os.O_DIRECTORY)
    try:
        _cgroup_v1_dirs(base, hierarchies, m.flags & ~(L.MS_BIND | L.MS_REC | L.MS_REMOUNT),
                        ctx.cgroupns)
    finally:
        os.close(base)


def _cgroup_v1_dirs(base: int, hierarchies: list[tuple[str, str, str, str]], sub_flags: int,
                    cgroupns: bool) -> None:
    """One directory per hierarchy of ours under ``base``: a cgroup mount of it (in a cgroup
    namespace) or a bind of our own cgroup in it, as runc does."""
    own = _own_cgroups()
    flags = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    for mp, _root, fstype, super_opts in hierarchies:
        name = os.path.basename(mp)
        if fstype == "cgroup2":
            key = ""
        else:
            ctrls = [o for o in super_opts.split(",") if o not in ("rw", "ro")]
            key = ",".join(ctrls)
        cpath = own.get(key)
        if cpath is None or not name:
            continue
        try:
            os.mkdir(name, 0o755, dir_fd=base)
        except FileExistsError:
            pass
        tfd = os.open(name, flags, dir_fd=base)
        try:
            if cgroupns:
                opts = "" if fstype == "cgroup2" else ",".join(
                    o for o in super_opts.split(",") if o not in ("rw", "ro"))
                L.mount("cgroup", paths.fd_path(tfd), fstype, sub_flags, opts or None)
            else:
                L.mount(mp.rstrip("/") + cpath, paths.fd_path(tfd), None, L.MS_BIND | L.MS_REC)
        finally:
            os.close(tfd)
        if not cgroupns and sub_flags:
            tfd = os.open(name, flags, dir_fd=base)  # the bind mounted over it
            try:
                _remount_bind(paths.fd_path(tfd), sub_flags)
            finally:
                os.close(tfd)


def _tmpcopyup(rootfd: int, dest: str, mounted_fd: int) -> None:
    """Copy what the image had at ``dest`` into the fresh tmpfs (``tmpcopyup`` option)."""
    import shutil  # only for this rare option, before pivot_root

    src = paths.open_in_root(rootfd, dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        shutil.copytree(paths.fd_path(src), paths.fd_path(mounted_fd), symlinks=True,
                        dirs_exist_ok=True)
    finally:
        os.close(src)


def mount_one(rootfd: int, entry: dict[str, Any], ctx: RootfsContext, index: int = -1) -> None:
    """Mount one ``mounts[]`` entry inside the rootfs (config.md#mounts, in config order)."""
    m = M.parse(entry)
    dest = _clean(m.destination)
    _check_proc_target(dest, m)
    if m.is_bind:
        _bind(rootfd, m, dest, (ctx.mount_sources or {}).get(index))
        return
    if m.type == "cgroup":
        _cgroup_mount(rootfd, m, dest, ctx)
        return
    data = m.data
    labelled = m.type in ("tmpfs", "mqueue", "devpts", "shm")
    if ctx.mount_label and labelled and "context=" not in data:
        data = ",".join(x for x in (data, f'context="{ctx.mount_label}"') if x)
    flags = m.flags
    if m.type == "tmpfs":
        # ro is applied in finalize (runc mounts tmpfs rw first so it can be filled).
        flags &= ~L.MS_RDONLY
    existed_mode = None
    try:
        # Not following a final symlink: proc and sysfs go on an ordinary directory only
        # (runc: "filesystem must be mounted on ordinary directory"; security.md E2).
        ofd = paths.open_in_root(rootfd, dest, os.O_PATH | os.O_NOFOLLOW)
        st = os.fstat(ofd)
        os.close(ofd)
        if m.type in ("proc", "sysfs") and not stat.S_ISDIR(st.st_mode):
            raise MountError(errno.ENOTDIR,
                             f"filesystem {m.type!r} must be mounted on ordinary directory")
        existed_mode = stat.S_IMODE(st.st_mode)
    except FileNotFoundError:
        pass
    fd = paths.mkdir_all(rootfd, dest)
    try:
        L.mount(m.source or m.type, paths.fd_path(fd), m.type, flags, data or None)
    finally:
        os.close(fd)
    fd = paths.open_in_root(rootfd, dest, os.O_PATH | os.O_DIRECTORY)
    try:
        if m.type == "tmpfs":
            if m.tmpcopyup:
                _tmpcopyup(rootfd, dest, fd)
            if existed_mode is not None and "mode=" not in data:
                os.chmod(paths.fd_path(fd), existed_mode)
        _apply_after(paths.fd_path(fd), m)
    finally:
        os.close(fd)


def has_dev_bind(mounts: list[dict[str, Any]]) -> bool:
    """runc skips its /dev setup when /dev itself is a bind mount."""
    for entry in mounts:
        if _clean(entry.get("destination", "")) == "/dev" and M.parse(entry).is_bind:
            return True
    return False


def create_devices(rootfd: int, devices: list[dict[str, Any]], ctx: RootfsContext) -> None:
    """The default devices, then ``linux.devices`` (runtime-linux.md#default-devices).

    Nodes are made with mknod (umask 0); under a user namespace mknod is not allowed, so
    as runc does, an empty file is bind-mounted over by the host's node.
    """
    wanted: dict[str, dict[str, Any]] = {}
    for path, typ, major, minor in DEFAULT_DEVICES:
        wanted[path] = {"path": path, "type": typ, "major": major, "minor": minor,
                        "fileMode": 0o666, "uid": 0, "gid": 0}
    for dev in devices:
        _check_existing(rootfd, _clean(dev["path"]), dev)
        wanted[_clean(dev["path"])] = dev
    old = os.umask(0)
    try:
        for path, dev in wanted.items():
            if path == "/dev/ptmx":
                continue
            _make_device(rootfd, path, dev, ctx)
    finally:
        os.umask(old)


def _check_existing(rootfd: int, path: str, dev: dict[str, Any]) -> None:
    """config-linux.md#devices: a file already at ``path`` that is not the requested device
    is an error (never silently replaced)."""
    try:
        fd = paths.open_in_root(rootfd, path, os.O_PATH | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
    same_type = stat.S_IFMT(st.st_mode) == kind.get(dev.get("type", ""))
    same_dev = dev.get("type") == "p" or st.st_rdev == os.makedev(
        int(dev.get("major", 0)), int(dev.get("minor", 0)))
    if not (same_type and same_dev):
        raise MountError(errno.EEXIST, f"linux.devices: {path} already exists and is not the "
                         "requested device")


def _make_device(rootfd: int, path: str, dev: dict[str, Any], ctx: RootfsContext) -> None:
    parent, _, name = path.rpartition("/")
    kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[dev["type"]]
    mode = dev.get("fileMode")
    if mode is None:
        mode = 0o666
    pfd = paths.mkdir_all(rootfd, parent or "/")
    try:
        try:
            os.unlink(name, dir_fd=pfd)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise MountError(errno.EISDIR, f"device {path} is a directory") from None
        rdev = os.makedev(int(dev.get("major", 0)), int(dev.get("minor", 0)))
        try:
            if ctx.userns:
                raise PermissionError(errno.EPERM, "mknod in a user namespace")
            os.mknod(name, kind | (mode & 0o7777), rdev if kind != stat.S_IFIFO else 0,
                     dir_fd=pfd)
            os.chown(name, int(dev.get("uid", 0) or 0) + 0, int(dev.get("gid", 0) or 0),
                     dir_fd=pfd, follow_symlinks=False)
        except PermissionError:
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_CLOEXEC, 0o000,
                         dir_fd=pfd)
            os.close(fd)
            tfd = paths.open_in_root(rootfd, path, os.O_PATH)
            try:
                L.mount(path, paths.fd_path(tfd), "bind", L.MS_BIND)
            finally:
                os.close(tfd)
    finally:
        os.close(pfd)


def setup_ptmx_and_symlinks(rootfd: int) -> None:
    """``/dev/ptmx -> pts/ptmx`` and the /dev/fd, stdin, stdout, stderr (and core) links."""
    dfd = paths.mkdir_all(rootfd, "/dev")
    try:
        try:
            os.unlink("ptmx", dir_fd=dfd)
        except FileNotFoundError:
            pass
        os.symlink("pts/ptmx", "ptmx", dir_fd=dfd)
        links = list(DEV_SYMLINKS)
        if os.path.exists("/proc/kcore"):
            links.append(("/proc/kcore", "/dev/core"))
        for target, link in links:
            try:
                os.symlink(target, link.rpartition("/")[2], dir_fd=dfd)
            except FileExistsError:
                pass
    finally:
        os.close(dfd)


def pivot_root(rootfs: str) -> None:
    """Make the rootfs ``/`` and detach the old root (runc's ``pivot_root(".", ".")``).

    The old root is stacked under the new one, made slave so the unmount does not
    propagate to the host, then lazily detached: nothing of the host tree stays reachable.
    """
    oldroot = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    newroot = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(newroot)
        L.pivot_root(".", ".")
        os.fchdir(oldroot)
        L.mount(None, ".", None, L.MS_SLAVE | L.MS_REC)
        L.umount2(".", L.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(oldroot)
        os.close(newroot)


def move_root(rootfs: str) -> None:
    """``--no-pivot``: move the rootfs mount over ``/`` and chroot into it."""
    os.chdir(rootfs)
    L.mount(rootfs, "/", None, L.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def chroot_root(rootfs: str) -> None:
    """Without a mount namespace the only jail is chroot."""
    os.chdir(rootfs)
    os.chroot(".")
    os.chdir("/")


def finalize_ro_mounts(mounts: list[dict[str, Any]]) -> None:
    """Remount read-only the tmpfs (and /dev) mounts that asked for ``ro`` (runc finalizeRootfs).

    Runs after pivot_root, so destinations are container paths.
    """
    for entry in mounts:
        m = M.parse(entry)
        dest = _clean(m.destination)
        if not (m.flags & L.MS_RDONLY) or m.is_bind:
            continue
        if m.type == "tmpfs" or dest == "/dev":
            L.mount(None, dest, None, L.MS_REMOUNT | (m.flags & ~L.MS_BIND))


def readonly_root() -> None:
    """``root.readonly``: bind-remount ``/`` read-only, keeping its locked flags."""
    _remount_bind("/", L.MS_RDONLY)


def readonly_path(path: str) -> None:
    """``linux.readonlyPaths``: bind the path on itself, then remount it read-only."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    try:
        target = paths.fd_path(fd)
        L.mount(target, target, None, L.MS_BIND | L.MS_REC)
    finally:
        os.close(fd)
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        target = paths.fd_path(fd)
        flags = os.statvfs(target).f_flag & (L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC)
        L.mount(None, target, None, L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | L.MS_REC | flags)
    finally:
        os.close(fd)


def mask_path(path: str, mount_label: str = "") -> None:
    """``linux.maskedPaths``: /dev/null over a file, a read-only tmpfs over a directory."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    try:
        target = paths.fd_path(fd)
        if paths.is_dir_fd(fd):
            data = f'context="{mount_label}"' if mount_label else None
            L.mount("tmpfs", target, "tmpfs", L.MS_RDONLY, data)
        else:
            L.mount("/dev/null", target, None, L.MS_BIND)
    finally:
        os.close(fd)
