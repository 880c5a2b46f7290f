"""Removing a container's cgroup directories: runc's ``RemovePath`` and ``RemovePaths``.

Outside the ``cgroups`` package on purpose: ``delete`` of a container whose processes are
all gone needs only these rmdirs, and importing anything under ``ociruntime.cgroups`` first
runs the package, which loads ``cgroups.common`` (~0.5 ms; engines delete every container).
``cgroups.common`` re-exports both names for the drivers.
"""

from __future__ import annotations

import errno as _errno
import posix  # not os: ``delete`` never imports it (cli.py says why)
import time

from ociruntime.errors import CgroupError


def _rmdir(path: str) -> None:
    try:
        posix.rmdir(path)
    except FileNotFoundError:
        return


def remove_path(path: str) -> None:
    """runc's ``RemovePath``: rmdir, sub-cgroups first (deepest first)."""
    try:
        _rmdir(path)
        return
    except OSError:
        pass
    try:
        entries = list(posix.scandir(path))
    except FileNotFoundError:
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            remove_path(e.path)
    _rmdir(path)


def _gone(path: str) -> bool:
    """runc's check after a failed ``RemovePath``: ``os.Stat`` says it does not exist
    (any other error leaves the path counted as there)."""
    try:
        posix.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def remove_paths(paths: dict[str, str], retries: int = 5, delay: float = 0.01) -> None:
    """runc's ``RemovePaths``: up to 5 rounds, 10 ms doubling between them.

    A path counts as removed once it no longer exists. Processes are never killed here;
    a cgroup that still has tasks stays and the error names it.
    """
    left = {k: v for k, v in paths.items() if v}
    last: dict[str, str] = {}
    for i in range(retries):
        if i:
            time.sleep(delay)
            delay *= 2
        for key in sorted(left):
            p = left[key]
            try:
                remove_path(p)
            except OSError as exc:
                # Go's wording of the errno: lower case ("device or resource busy")
                last[key] = f"rmdir {p}: {posix.strerror(exc.errno or _errno.EIO).lower()}"
                if not _gone(p):
                    continue
            # remove_path returns only once the directory is gone
            del left[key]
            last.pop(key, None)
        if not left:
            return
    shown = " ".join(f"{k}:{left[k]}" for k in sorted(left))
    detail = "; ".join(last[k] for k in sorted(last))
    raise CgroupError(f"Failed to remove paths: map[{shown}]"
                      + (f" ({detail})" if detail else ""))
