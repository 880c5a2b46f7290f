"""Keeping the host's interpreter out of a container's reach (CVE-2019-5736).

The process that becomes a container's init (or enters it for ``exec``) is a fork of the
runtime, so until it execs the user's program its ``/proc/<pid>/exe`` is the host's Python.
Three layers keep a container from reopening that file for writing:

1. The forked process is made non-dumpable before it joins or creates any namespace; its
   memory map belongs to the host user namespace, so ``/proc/<pid>/exe`` (and
   ``map_files``) of it can only be opened with CAP_SYS_PTRACE in the *host* user namespace.
2. ``init.guard_exe`` refuses to exec ``args[0]`` or a ``#!`` interpreter that leads back to
   the runtime through a magic link such as ``/proc/self/exe``: that would make the host
   interpreter run, dumpable, inside the container.
3. When a process of the container could hold CAP_SYS_PTRACE in the host user namespace
   (the capability is in one of its sets and there is no user namespace), layer 1 is not
   enough: the runtime then re-executes itself from a sealed memfd copy of the
   interpreter before doing anything, so the exe a container could reach is an immutable
   anonymous copy (runc's ``cloned_binary``/``exeseal``; security.md Appendix B).

Layer 3 costs a copy of the interpreter and a second interpreter start, so it is paid only
where it protects something.
"""

from __future__ import annotations

import fcntl
import os
import sys

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any, NoReturn

_MEMFD_PREFIX = "/memfd:ociruntime-sealed"


def exe_is_sealed() -> bool:
    """Is this process running from the sealed memfd copy?"""
    try:
        return os.readlink("/proc/self/exe").startswith(_MEMFD_PREFIX)
    except OSError:
        return False


def needs_seal(process: dict[str, Any], userns: bool) -> bool:
    """Could a process with these capabilities reach a non-dumpable host-owned process?"""
    if userns:
        return False
    caps = process.get("capabilities") or {}
    return any("CAP_SYS_PTRACE" in (caps.get(k) or []) for k in
               ("bounding", "effective", "permitted", "inheritable", "ambient"))


def sealed_copy() -> int:
    """A memfd holding a copy of our interpreter, sealed against every write."""
    src = os.open("/proc/self/exe", os.O_RDONLY | os.O_CLOEXEC)
    try:
        mfd = os.memfd_create(_MEMFD_PREFIX[len("/memfd:"):],
                              os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        size = os.fstat(src).st_size
        off = 0
        while off < size:
            n = os.sendfile(mfd, src, off, size - off)
            if n == 0:
                break
            off += n
    finally:
        os.close(src)
    fcntl.fcntl(mfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK
                | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    return mfd


def reexec_sealed() -> NoReturn:
    """Restart this same command line from a sealed copy of the interpreter."""
    mfd = sealed_copy()
    # -S drops site-packages hooks (editable installs): name the package's parent too.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    boot = (
        "import sys; sys.path[:0] = " + repr([here, *(p for p in sys.path if p)]) + "; "
        "from ociruntime.cli import main; sys.exit(main())"
    )
    argv = [sys.executable or "python3", "-I", "-S", "-X", "frozen_modules=on", "-c", boot,
            *sys.argv[1:]]
    os.execve(mfd, argv, dict(os.environ))
