"""``runc ps``: the host's ``ps`` output, filtered to the container's processes.

runc (``ps.go``) runs ``ps`` with the user's arguments (default ``-ef``), finds the
``PID`` column in the header, and prints the header plus every line whose pid is one of
the container's (``GetAllPids`` of its cgroup). ``--format json`` prints the pid list
instead (``null`` when there is none, as Go encodes a nil slice).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence

from ociruntime.errors import OCIRuntimeError


def pid_index(header: str) -> int:
    """Index of the ``PID`` field in the header (runc's ``getPidIndex``)."""
    for i, name in enumerate(header.split()):
        if name == "PID":
            return i
    raise OCIRuntimeError("couldn't find PID field in ps output")


def filter_ps_output(output: str, pids: Sequence[int]) -> str:
    """Keep the header and the lines of ``pids`` (pure; each line ends in a newline)."""
    lines = output.split("\n")
    idx = pid_index(lines[0])
    wanted = set(pids)
    out = [lines[0]]
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split()
        try:
            pid = int(fields[idx])
        except (IndexError, ValueError):
            value = fields[idx] if idx < len(fields) else ""
            raise OCIRuntimeError(f'unable to parse pid: strconv.Atoi: parsing "{value}": '
                                  f"invalid syntax") from None
        if pid in wanted:
            out.append(line)
    return "".join(line + "\n" for line in out)


def ps_table(pids: Sequence[int], ps_args: Sequence[str] = ()) -> str:
    """Run the host's ``ps`` (``-ef`` by default) and filter it to ``pids``."""
    args = list(ps_args) or ["-ef"]
    try:
        proc = subprocess.run(["ps", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              check=False)
    except OSError as exc:
        raise OCIRuntimeError(f'exec: "ps": {exc.strerror.lower() if exc.strerror else exc}'
                              ) from None
    text = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise OCIRuntimeError(f"exit status {proc.returncode}: {text}")
    return filter_ps_output(text, pids)


def ps_json(pids: Sequence[int] | None) -> str:
    """``ps --format json``: ``[1,2]``, or ``null`` when there is none (runc's nil slice:
    ``GetAllPids`` only appends), newline-terminated as Go's encoder writes it."""
    if not pids:
        return "null\n"
    return json.dumps(list(pids), separators=(",", ":")) + "\n"
