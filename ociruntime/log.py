"""The ``--log`` / ``--log-format`` contract of runc.

* Without ``--log``, records go to stderr as logrus text: ``time="..." level=error msg="..."``.
* With ``--log PATH`` the file is opened ``O_APPEND`` (never truncated) and gets the records
  (text, or JSON ``{"level","msg","time"}`` one per line, keys sorted, RFC 3339 time); on a
  failure the bare message also goes to stderr, because conmon and go-runc read it there.
* On a failed command the error is the *only* record written to the file: podman decodes
  the whole file as one JSON object, so warnings of that run are dropped when an error
  follows (they are written only when the command succeeds).
"""

from __future__ import annotations

import posix  # not os: the light commands never import it (cli.py says why)
import sys
import time

from ociruntime import fastjson as json


def _now_rfc3339() -> str:
    t = time.time()
    lt = time.localtime(t)
    off = lt.tm_gmtoff
    if off == 0:
        zone = "Z"
    else:
        sign = "+" if off > 0 else "-"
        off = abs(off)
        zone = f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + zone


class Logger:
    """Collects warnings and writes runc-shaped records to the ``--log`` target."""

    def __init__(self, path: str | None, fmt: str = "text", debug: bool = False) -> None:
        self.path = path or None
        self.fmt = fmt
        self.debug_enabled = debug
        self._pending: list[tuple[str, str]] = []

    def _record(self, level: str, msg: str) -> bytes:
        if self.fmt == "json":
            record = {"level": level, "msg": msg, "time": _now_rfc3339()}
            return (json.dumps(record, sort_keys=True, compact=True) + "\n").encode()
        return f'time="{_now_rfc3339()}" level={level} msg={json.dumps(msg)}\n'.encode()

    def _write(self, data: bytes) -> None:
        if self.path is None:
            try:
                posix.write(2, data)
            except OSError:
                pass
            return
        try:
            flags = posix.O_CREAT | posix.O_WRONLY | posix.O_APPEND | posix.O_CLOEXEC
            fd = posix.open(self.path, flags, 0o644)
        except OSError:
            return
        try:
            posix.write(fd, data)
        finally:
            posix.close(fd)

    def warning(self, msg: str) -> None:
        """Remember a warning; it is written only if the command ends without an error."""
        self._pending.append(("warning", msg))

    def debug(self, msg: str) -> None:
        """A debug record, written at once when ``--debug`` is on."""
        if self.debug_enabled:
            self._write(self._record("debug", msg))

    def flush(self) -> None:
        """Write the remembered warnings (called when the command succeeded).

        Without ``--log`` they go to stderr only under ``--debug``: on success stderr must
        stay empty, since conmon's stderr pipe is also the container's stderr.
        """
        if self.path is not None or self.debug_enabled:
            for level, msg in self._pending:
                self._write(self._record(level, msg))
        self._pending.clear()

    def error(self, msg: str) -> None:
        """The fatal record: to the log, and the bare message to stderr when logging elsewhere."""
        self._pending.clear()
        self._write(self._record("error", msg))
        if self.path is not None:
            try:
                sys.stderr.write(msg + "\n")
                sys.stderr.flush()
            except OSError:
                pass
