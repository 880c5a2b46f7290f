"""Typed errors of the library.

Only ``ociruntime.cli`` turns these into stderr text, ``--log`` records and exit codes.
Messages reuse runc's exact wording where callers (podman, conmon, containerd, go-runc)
match on substrings: ``container does not exist``, ``container not running``, ...
"""

from __future__ import annotations

import errno as _errno
import posix  # not os: the light commands never import it (cli.py says why)


class OCIRuntimeError(Exception):
    """Base of every error the runtime raises on purpose; ``str()`` is the user message."""

    #: Exit status the CLI uses for this error (runc uses 1 for every fatal error).
    exit_code = 1


class UsageError(OCIRuntimeError):
    """Wrong command-line usage (runc: ``Incorrect Usage.``)."""


class ConfigError(OCIRuntimeError):
    """The bundle's config.json is missing, malformed or semantically invalid."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class InvalidIDError(OCIRuntimeError):
    """A container id outside ``[A-Za-z0-9_+,.-]`` or equal to ``.``/``..``."""

    def __init__(self) -> None:
        super().__init__("invalid container ID format")


class EmptyIDError(InvalidIDError):
    """An empty container id (runc: ``container id cannot be empty``)."""

    def __init__(self) -> None:
        OCIRuntimeError.__init__(self, "container id cannot be empty")


class ContainerNotFound(OCIRuntimeError):
    """No container of that id under the state root."""

    def __init__(self) -> None:
        super().__init__("container does not exist")


class ContainerExists(OCIRuntimeError):
    """``create`` of an id that is already taken."""

    def __init__(self) -> None:
        super().__init__("container with given ID already exists")


class ContainerNotRunning(OCIRuntimeError):
    """An operation that needs a live init found it stopped."""

    def __init__(self) -> None:
        super().__init__("container not running")


class InvalidStatus(OCIRuntimeError):
    """The container's status forbids the operation (message names the status)."""


class SyscallError(OCIRuntimeError):
    """A system call failed: keeps the operation, the path and the errno."""

    def __init__(self, op: str, err: int, path: str | None = None) -> None:
        self.op = op
        self.errno = err
        self.path = path
        where = f" {path}" if path else ""
        super().__init__(f"{op}{where}: {posix.strerror(err).lower()}")

    @classmethod
    def from_oserror(cls, op: str, exc: OSError, path: str | None = None) -> SyscallError:
        """Wrap an ``OSError`` raised by the stdlib, keeping its errno."""
        return cls(op, exc.errno or _errno.EIO, path if path is not None else exc.filename)


class HookError(OCIRuntimeError):
    """A lifecycle hook failed or timed out."""


class CgroupError(OCIRuntimeError):
    """The cgroup layer could not place or limit the container."""


class InitError(OCIRuntimeError):
    """The container's init reported a failure over the parent/child channel."""


class ExecError(OCIRuntimeError):
    """``exec`` failed inside the runtime (runc exits 255 for these)."""

    exit_code = 255
