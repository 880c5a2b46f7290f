"""The ``runc events`` loop (``events.go``), minus the CLI.

``--stats`` is one ``format_event("stats", id, mgr.stats())`` line. Without it runc prints
a stats record every ``--interval`` and an ``oom`` record whenever the OOM notifier fires,
until the notifier ends (the cgroup was removed, or on v2 has no process left); a failure
to read the stats is logged and the loop goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ociruntime.errors import CgroupError

from .base import Manager
from .stats import format_event


def watch(mgr: Manager, container_id: str, interval: float, emit: Callable[[str], None],
          warn: Callable[[str], None] | None = None) -> None:
    """Emit event lines (``emit`` gets each newline-terminated JSON line) until the
    container's cgroup goes away. ``interval`` is in seconds and must be > 0."""
    if interval <= 0:
        raise CgroupError("duration interval must be greater than 0")
    notifier = mgr.oom_notifier()
    try:
        next_tick = time.monotonic() + interval
        while True:
            n = notifier.wait(max(0.0, next_tick - time.monotonic()))
            if n is None:
                return
            if n > 0:  # one record per wake-up, as runc's channel delivers them
                emit(format_event("oom", container_id))
            now = time.monotonic()
            if now >= next_tick:
                # like Go's time.Tick, a slow reader drops ticks rather than bursting
                next_tick = max(next_tick + interval, now)
                try:
                    emit(format_event("stats", container_id, mgr.stats()))
                except CgroupError as exc:
                    if warn is not None:
                        warn(str(exc))
    finally:
        notifier.close()
