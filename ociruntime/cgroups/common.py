"""What every driver shares: path safety, /proc parsing, cgroupfs file access, removal.

Everything here takes its roots (the cgroupfs root, ``/proc``) as arguments, so the drivers
can be run against a fake tree under ``tmp_path`` (peers-and-style.md B.7 rule 8).

Messages follow runc 1.1.5's wording (``libcontainer/cgroups/{file,utils,v1_utils}.go``):
``failed to write "VALUE": open PATH: no such file or directory``,
``mountpoint for hugetlb not found``, ``Failed to remove paths: map[...]``.
"""

from __future__ import annotations

import errno as _errno
import os
import posixpath
import time

from ociruntime.errors import CgroupError
from ociruntime.record import dataclass

DEFAULT_ROOT = "/sys/fs/cgroup"
DEFAULT_PROC = "/proc"
HUGEPAGES_DIR = "/sys/kernel/mm/hugepages"

CGROUP_SUPER_MAGIC = 0x27E0EB
CGROUP2_SUPER_MAGIC = 0x63677270
TMPFS_MAGIC = 0x01021994

#: Freezer states, as runc's ``configs.FreezerState`` (``""`` is ``Undefined``).
FROZEN = "FROZEN"
THAWED = "THAWED"
UNDEFINED = ""

CGROUP_PROCS = "cgroup.procs"


def strerror(err: int) -> str:
    """Go's wording of an errno: lower case (``no such file or directory``)."""
    return os.strerror(err).lower()


class CgroupFileError(CgroupError):
    """A cgroupfs file could not be opened, read or written; keeps the errno."""

    def __init__(self, message: str, err: int) -> None:
        self.errno = err
        super().__init__(message)


class NotFoundError(CgroupError):
    """runc's ``NotFoundError``: the hierarchy of a subsystem is not mounted."""

    def __init__(self, subsystem: str) -> None:
        self.subsystem = subsystem
        super().__init__(f"mountpoint for {subsystem} not found")


# --- paths ------------------------------------------------------------------------------------


def clean_path(path: str) -> str:
    """runc's ``utils.CleanPath``: lexical clean; a relative path can never climb out."""
    if path == "":
        return ""
    path = posixpath.normpath(path)
    if path.startswith("//") and not path.startswith("///"):
        path = path[1:]  # normpath keeps a leading "//" (POSIX); Go's Clean does not
    if not path.startswith("/"):
        path = posixpath.normpath("/" + path)
        path = posixpath.relpath(path, "/")
    return posixpath.normpath(path)


def safe_inner_path(field: str, path: str) -> str:
    """Clean a cgroup path from the config, refusing any ``..`` that climbs above its base.

    runc silently turns ``../x`` into ``x`` and ``/../x`` into ``/x``; we refuse both, so
    a path never means something other than what it says: an absolute path stays inside
    the hierarchy root, a relative one inside the caller's cgroup. ``..`` that stays inside
    (``a/../b``) is cleaned as runc does.
    """
    if "\x00" in path:
        raise CgroupError(f"{field}: invalid cgroup path {path!r}: contains a NUL byte")
    if path == "":
        return ""
    depth = 0
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                raise CgroupError(
                    f"{field}: cgroup path {path!r} escapes its base with \"..\"")
        else:
            depth += 1
    return clean_path(path)


def check_file_name(field: str, name: str) -> None:
    """A file name taken from the config (``unified`` keys, hugepage sizes) must name a
    file inside the container's cgroup directory: no ``/``, no NUL, not ``.``/``..``."""
    if name in ("", ".", "..") or "/" in name or "\x00" in name:
        raise CgroupError(f"{field}: {name!r} is not a cgroup file name inside the "
                          f"container's cgroup")


def is_within(path: str, root: str) -> bool:
    """Is the clean absolute ``path`` ``root`` or below it (lexically)?"""
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"


def statfs_type(path: str) -> int | None:
    """The filesystem magic of ``path``, or None if it cannot be opened."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        from ociruntime import linux as L

        return L.fs_type(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


# --- /proc parsing ----------------------------------------------------------------------------


def parse_cgroup_text(text: str) -> dict[str, str]:
    """runc's ``parseCgroupFromReader``: ``{"memory": "/a", "name=systemd": "/", "": "/"}``."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line:
            continue
        parts = line.split(":", 2)
        if len(parts) < 3:
            raise CgroupError(
                f"invalid cgroup entry: must contain at least two colons: {line}")
        for sub in parts[1].split(","):
            out[sub] = parts[2]
    return out


def parse_cgroup_file(path: str) -> dict[str, str]:
    """Parse ``/proc/<pid>/cgroup``."""
    try:
        with open(path) as f:
            return parse_cgroup_text(f.read())
    except OSError as exc:
        raise CgroupError(f"open {path}: {strerror(exc.errno or _errno.EIO)}") from None


@dataclass(frozen=True)
class Mount:
    """One cgroup mount from mountinfo."""

    mountpoint: str
    root: str
    fstype: str
    options: tuple[str, ...]


def _unescape(s: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


_MOUNTS: dict[str, list[Mount]] = {}


def cgroup_mounts(proc: str) -> list[Mount]:
    """Every ``cgroup``/``cgroup2`` mount of the calling process, in mountinfo order.

    The real ``/proc`` is read once per process (runc caches it too): a create looks up
    every subsystem, and the runtime's own mount table does not change meanwhile.
    """
    cached = _MOUNTS.get(proc) if proc == "/proc" else None
    if cached is None:
        cached = _read_cgroup_mounts(proc)
        if proc == "/proc":
            _MOUNTS[proc] = cached
    return cached


def _read_cgroup_mounts(proc: str) -> list[Mount]:
    try:
        with open(os.path.join(proc, "self", "mountinfo")) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        fields = line.split(" ")
        try:
            sep = fields.index("-")
        except ValueError:
            continue
        if len(fields) < sep + 4 or len(fields) < 5:
            continue
        fstype = fields[sep + 1]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        mounts.append(Mount(mountpoint=_unescape(fields[4]), root=_unescape(fields[3]),
                            fstype=fstype, options=tuple(fields[sep + 3].split(","))))
    return mounts


def find_mount(root: str, proc: str, subsystem: str) -> tuple[str, str]:
    """(mountpoint, mount root) of a v1 ``subsystem`` under ``root``.

    runc's ``FindCgroupMountpointAndRoot``: the first cgroup v1 mount under ``root`` whose
    super options name the subsystem; a fake tree (no mountinfo entry) falls back to
    ``root/<subsystem>`` without its ``name=`` prefix, as runc's ``tryDefaultPath``.
    ``""`` is the hybrid unified hierarchy, always ``root/unified`` in runc.
    """
    if subsystem == "":
        path = os.path.join(root, "unified")
        if os.path.isdir(path):
            return path, "/"
        raise NotFoundError(subsystem)
    for m in cgroup_mounts(proc):
        if m.fstype == "cgroup" and is_within(m.mountpoint, root) and subsystem in m.options:
            return m.mountpoint, m.root
    name = subsystem.removeprefix("name=")
    path = os.path.join(root, name)
    if os.path.isdir(path) and not os.path.islink(path):
        return path, "/"
    if os.path.islink(path):  # cpu -> cpu,cpuacct
        target = os.path.realpath(path)
        if is_within(target, os.path.realpath(root)) and os.path.isdir(target):
            return os.path.join(root, os.path.basename(target)), "/"
    raise NotFoundError(subsystem)


# --- cgroupfs file access ---------------------------------------------------------------------


class CgroupFS:
    """Reads and writes cgroupfs files the way runc does.

    ``check_fs`` (real hierarchies) makes every open verify the file is on cgroupfs, as
    runc's ``openAndCheck``; a fake tree (tests) instead creates and truncates files on
    write, as runc's ``TestMode``, and records every write in ``writes`` so a test can
    compare the sequence with what runc writes.
    """

    def __init__(self, check_fs: bool = True) -> None:
        self.check_fs = check_fs
        self.writes: list[tuple[str, str]] = []
        #: fake trees only: what a missing file reads as (the kernel creates every file of
        #: a new cgroup; a test tree names the ones it needs, e.g. ``cpuset.cpus: ""``)
        self.missing: dict[str, str] = {}

    def open(self, directory: str, name: str, flags: int) -> int:
        if directory == "":
            raise CgroupFileError(f"no directory specified for {name}", _errno.ENOENT)
        path = os.path.join(directory, name)
        mode = 0
        if not self.check_fs and flags & os.O_WRONLY:  # as runc's TestMode (not O_RDWR)
            flags |= os.O_TRUNC | os.O_CREAT
            mode = 0o600
        try:
            fd = os.open(path, flags | os.O_CLOEXEC | os.O_NOFOLLOW, mode)
        except OSError as exc:
            err = exc.errno or _errno.EIO
            raise CgroupFileError(f"open {path}: {strerror(err)}", err) from None
        if self.check_fs:
            try:
                from ociruntime import linux as L

                magic = L.fs_type(fd)
            except OSError as exc:
                os.close(fd)
                err = exc.errno or _errno.EIO
                raise CgroupFileError(f"statfs {path}: {strerror(err)}", err) from None
            if magic not in (CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC):
                os.close(fd)
                raise CgroupFileError(f"open {path}: not a cgroup file", _errno.EINVAL)
        return fd

    def read(self, directory: str, name: str) -> str:
        try:
            fd = self.open(directory, name, os.O_RDONLY)
        except CgroupFileError as exc:
            if exc.errno == _errno.ENOENT and name in self.missing and directory:
                return self.missing[name]
            raise
        try:
            chunks = []
            while True:
                try:
                    b = os.read(fd, 65536)
                except OSError as exc:
                    err = exc.errno or _errno.EIO
                    raise CgroupFileError(
                        f"read {os.path.join(directory, name)}: {strerror(err)}", err) from None
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks).decode(errors="replace")
        finally:
            os.close(fd)

    def write(self, directory: str, name: str, data: str) -> None:
        """runc's ``cgroups.WriteFile``: one write(2) of ``data``, retried on EINTR."""
        fd = self.open(directory, name, os.O_WRONLY)
        try:
            self.write_fd(fd, os.path.join(directory, name), data)
        finally:
            os.close(fd)

    def write_fd(self, fd: int, path: str, data: str) -> None:
        self.writes.append((path, data))
        while True:
            try:
                os.write(fd, data.encode())
                return
            except InterruptedError:
                continue
            except OSError as exc:
                err = exc.errno or _errno.EIO
                raise CgroupFileError(
                    f'failed to write "{data}": write {path}: {strerror(err)}', err) from None

    def param_string(self, directory: str, name: str) -> str:
        return self.read(directory, name).strip()

    def param_uint(self, directory: str, name: str) -> int:
        """runc's ``GetCgroupParamUint``: ``max`` is 2^64-1, negative values are 0."""
        text = self.param_string(directory, name)
        if text == "max":
            return 2**64 - 1
        try:
            return parse_uint(text)
        except ValueError as exc:
            raise CgroupError(
                f"unable to parse {os.path.join(directory, name)}: {exc}") from None

    def param_int(self, directory: str, name: str) -> int:
        text = self.param_string(directory, name)
        if text == "max":
            return 2**63 - 1
        try:
            return int(text)
        except ValueError:
            raise CgroupError(
                f"unable to parse {os.path.join(directory, name)}: invalid syntax") from None

    def value_by_key(self, directory: str, name: str, key: str) -> int:
        """runc's ``GetValueByKey``: the value of ``key value`` line, 0 if absent."""
        for line in self.read(directory, name).split("\n"):
            parts = line.split(" ")
            if len(parts) == 2 and parts[0] == key:
                try:
                    return parse_uint(parts[1])
                except ValueError as exc:
                    raise CgroupError(
                        f"unable to parse {os.path.join(directory, name)}: {exc}") from None
        return 0


def parse_uint(text: str) -> int:
    """runc's ``fscommon.ParseUint``: a negative number reads as 0."""
    try:
        value = int(text, 10)
    except ValueError:
        raise ValueError(f"invalid syntax: {text!r}") from None
    if value < 0:
        return 0
    if value >= 2**64:
        raise ValueError(f"value out of range: {text!r}")
    return value


def parse_key_value(line: str) -> tuple[str, int]:
    """runc's ``ParseKeyValue`` (``key value``)."""
    parts = line.split(" ", 2)
    if len(parts) != 2:
        raise ValueError(f"line {line!r} is not in key value format")
    return parts[0], parse_uint(parts[1])


# --- procs ------------------------------------------------------------------------------------


def write_cgroup_proc(fs: CgroupFS, directory: str, pid: int) -> None:
    """runc's ``WriteCgroupProc``: EINVAL (a task still in TASK_NEW) is retried 5 times."""
    if directory == "":
        raise CgroupError(f"no such directory for {CGROUP_PROCS}")
    if pid == -1:
        return
    fd = fs.open(directory, CGROUP_PROCS, os.O_WRONLY)
    try:
        err: CgroupFileError | None = None
        for _ in range(5):
            try:
                fs.write_fd(fd, os.path.join(directory, CGROUP_PROCS), str(pid))
                return
            except CgroupFileError as exc:
                err = exc
                if exc.errno == _errno.EINVAL:
                    time.sleep(0.03)
                    continue
                raise CgroupFileError(
                    f"failed to write {pid}: {exc}", exc.errno) from None
        assert err is not None
        raise CgroupFileError(f"failed to write {pid}: {err}", err.errno)
    finally:
        os.close(fd)


def read_procs(fs: CgroupFS, directory: str) -> list[int]:
    text = fs.read(directory, CGROUP_PROCS)
    return [int(t) for t in text.split("\n") if t]


def get_all_pids(fs: CgroupFS, directory: str) -> list[int]:
    """runc's ``GetAllPids``: the pids of ``directory`` and of every sub-cgroup (top-down)."""
    if directory == "":
        raise CgroupFileError(f"no directory specified for {CGROUP_PROCS}", _errno.ENOENT)
    pids: list[int] = []
    stack = [directory]
    while stack:
        d = stack.pop(0)
        pids.extend(read_procs(fs, d))
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            err = exc.errno or _errno.EIO
            raise CgroupFileError(f"open {d}: {strerror(err)}", err) from None
        subdirs = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        stack[0:0] = subdirs
    return pids


# --- creation and removal ---------------------------------------------------------------------


def make_dirs(path: str, created: list[str] | None = None, mode: int = 0o755) -> None:
    """``os.MkdirAll``, recording each directory it made in ``created`` (outermost first)."""
    missing = []
    p = path
    while p and p != "/" and not os.path.isdir(p):
        missing.append(p)
        p = os.path.dirname(p)
    for d in reversed(missing):
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            continue
        except OSError as exc:
            err = exc.errno or _errno.EIO
            raise CgroupFileError(f"mkdir {d}: {strerror(err)}", err) from None
        if created is not None:
            created.append(d)


# --- misc -------------------------------------------------------------------------------------


def huge_page_sizes(directory: str = HUGEPAGES_DIR) -> list[str]:
    """runc's ``HugePageSizes``: ``hugepages-2048kB`` -> ``2MB`` (kernel's naming)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    sizes = []
    for name in names:
        if not name.startswith("hugepages-") or not name.endswith("kB"):
            continue
        try:
            size = int(name[len("hugepages-"):-2])
        except ValueError:
            continue
        if size >= 1 << 20:
            sizes.append(f"{size >> 20}GB")
        elif size >= 1 << 10:
            sizes.append(f"{size >> 10}MB")
        else:
            sizes.append(f"{size}KB")
    return sizes
