"""Resolve paths inside a rootfs through file descriptors, never by joining strings.

Every lookup is ``openat2(rootfd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)``: ``..``
and absolute symlinks are clamped to the rootfs, and ``/proc/self/...`` style magic links are
refused, so a hostile image can not point a mount target or a created file outside its root
(CVE-2021-30465, CVE-2024-21626 shapes). Mounts are then made on ``/proc/self/fd/N`` of the
resolved fd, which names exactly the inode that was checked.
"""

from __future__ import annotations

import errno
import os
import stat

from ociruntime import linux

_IN_ROOT = linux.RESOLVE_IN_ROOT | linux.RESOLVE_NO_MAGICLINKS


def fd_path(fd: int) -> str:
    """The ``/proc/self/fd/N`` name of ``fd``, for syscalls that take a path."""
    return f"/proc/self/fd/{fd}"


def open_in_root(rootfd: int, path: str, flags: int = os.O_PATH, mode: int = 0) -> int:
    """Open ``path`` resolved inside ``rootfd`` (absolute paths are relative to the root)."""
    return linux.openat2(rootfd, path.lstrip("/") or ".", flags, _IN_ROOT, mode)


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


def mkdir_all(rootfd: int, path: str, mode: int = 0o755) -> int:
    """``mkdir -p`` inside the root; returns an ``O_PATH`` fd of the final directory.

    Each component is created relative to the fd of its (already resolved) parent, then
    opened again through ``openat2`` in the root, so a symlink raced into place is still
    clamped to the rootfs. A dangling symlink is followed inside the rootfs and its
    missing target created, as runc's ``MkdirAllInRoot`` does.
    """
    pending = _components(path)
    done: list[str] = []
    cur = os.dup(rootfd)
    hops = 0
    try:
        while pending:
            part = pending.pop(0)
            sub = "/".join([*done, part])
            try:
                nxt = open_in_root(rootfd, sub, os.O_PATH | os.O_DIRECTORY)
            except FileNotFoundError:
                try:
                    target = os.readlink(part, dir_fd=cur)
                except OSError:
                    target = None
                if target is not None:
                    hops += 1
                    if hops > 40:
                        raise OSError(errno.ELOOP, "too many levels of symbolic links",
                                      path) from None
                    if target.startswith("/"):
                        done = []
                        os.close(cur)
                        cur = os.dup(rootfd)
                    pending = _components(target) + pending
                    continue
                try:
                    os.mkdir(part, mode, dir_fd=cur)
                except FileExistsError:
                    pass
                nxt = open_in_root(rootfd, sub, os.O_PATH | os.O_DIRECTORY)
            os.close(cur)
            cur = nxt
            done.append(part)
        return cur
    except BaseException:
        os.close(cur)
        raise


def create_file(rootfd: int, path: str, mode: int = 0o755) -> int:
    """Make sure ``path`` exists as a non-directory (for a file bind target); ``O_PATH`` fd."""
    parent, _, name = path.rstrip("/").rpartition("/")
    if not name:
        raise OSError(errno.EINVAL, "empty file name", path)
    try:
        fd = open_in_root(rootfd, path, os.O_PATH)
        return fd
    except FileNotFoundError:
        pass
    pfd = mkdir_all(rootfd, parent, 0o755)
    try:
        try:
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW,
                         mode, dir_fd=pfd)
            os.close(fd)
        except FileExistsError:
            pass
    finally:
        os.close(pfd)
    return open_in_root(rootfd, path, os.O_PATH)


def is_dir_fd(fd: int) -> bool:
    """Is the inode behind ``fd`` a directory?"""
    return stat.S_ISDIR(os.fstat(fd).st_mode)


def verified_proc(path: str = "/proc") -> int:
    """An ``O_PATH`` fd of a real procfs at ``path`` (checked with fstatfs), for /proc writes."""
    fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW)
    if linux.fs_type(fd) != linux.PROC_SUPER_MAGIC:
        os.close(fd)
        raise OSError(errno.EXDEV, f"{path} is not a procfs", path)
    return fd


def write_proc(procfd: int, rel: str, data: bytes) -> None:
    """Write ``data`` to ``<proc>/<rel>`` resolved beneath the verified proc handle."""
    fd = linux.openat2(procfd, rel, os.O_WRONLY,
                       linux.RESOLVE_BENEATH | linux.RESOLVE_NO_MAGICLINKS | linux.RESOLVE_NO_XDEV)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
