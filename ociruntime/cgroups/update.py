"""``runc update``: flags (or ``--resources`` JSON) -> the new ``linux.resources``.

runc 1.1.5 (``update.go``) builds a request ``r`` whose every field starts at zero, fills
it from the flags (or decodes the JSON over it), then *overwrites* a fixed set of fields of
the container's resources with it: blkio weight, cpu shares/rt/cpus/mems, memory
limit/reservation/swap, pids limit and ``unified``. A zero means "not given", and a zero
is never written to a cgroup file, so the cgroup keeps its old value ("a zero value means
unchanged"). Quota and period are the exception: when only one is given the other keeps
its old value, so the drivers (and systemd) see both. Everything else (devices, blkio
per-device, hugepages, network, rdma) is left as it was; device rules are never
re-applied (``skip_devices``).
"""

from __future__ import annotations

import copy
import json
import re

from ociruntime.errors import CgroupError

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

#: The ``runc update`` flags, with how each is parsed.
UINT_FLAGS = ("cpu-period", "cpu-rt-period", "cpu-share")
INT_FLAGS = ("cpu-quota", "cpu-rt-runtime")
SIZE_FLAGS = ("memory", "memory-swap", "kernel-memory", "kernel-memory-tcp",
              "memory-reservation")
FLAGS = ("blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period",
         "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory", "memory-reservation",
         "memory-swap", "pids-limit", "l3-cache-schema", "mem-bw-schema", "kernel-memory",
         "kernel-memory-tcp")

_SIZE_RE = re.compile(r"^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$", re.ASCII)
_BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """go-units v0.4.0 ``RAMInBytes``: ``100M``, ``1.5g``, ``512KiB``, ``42`` (binary units)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"invalid size: '{text}'")
    size = float(m.group(1))
    unit = (m.group(3) or "").lower()
    size *= _BINARY.get(unit, 1)
    return int(size)


def _parse_uint(name: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text, re.ASCII):
        raise CgroupError(f'invalid value for {name}: strconv.ParseUint: parsing "{text}": '
                          f"invalid syntax")
    v = int(text)
    if v >= 2**64:
        raise CgroupError(f'invalid value for {name}: strconv.ParseUint: parsing "{text}": '
                          f"value out of range")
    return v


def _parse_int(name: str, text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text, re.ASCII):
        raise CgroupError(f'invalid value for {name}: strconv.ParseInt: parsing "{text}": '
                          f"invalid syntax")
    v = int(text)
    if not -(2**63) <= v < 2**63:
        raise CgroupError(f'invalid value for {name}: strconv.ParseInt: parsing "{text}": '
                          f"value out of range")
    return v


def _empty_request() -> dict[str, Any]:
    return {
        "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
        "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0,
                "realtimePeriod": 0, "cpus": "", "mems": ""},
        "blockIO": {"weight": 0},
        "pids": {"limit": 0},
    }


def _merge_json(dst: dict[str, Any], src: dict[str, Any]) -> None:
    # Go decodes JSON over the prefilled struct: objects merge, values replace.
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge_json(dst[k], v)
        else:
            dst[k] = v


def update_request(flags: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """runc's request ``r`` (OCI LinuxResources, zeros where not given) and warnings.

    ``flags`` maps flag names without dashes' prefix (``"memory": "100M"``,
    ``"pids-limit": 20``) to their command-line strings (or ints for ``blkio-weight`` and
    ``pids-limit``); ``"resources"`` may hold the already-decoded ``--resources`` JSON,
    in which case every other flag is ignored, as in runc.
    """
    r = _empty_request()
    warnings: list[str] = []
    if flags.get("resources") is not None:
        data = flags["resources"]
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise CgroupError(str(exc)) from None
        if not isinstance(data, dict):
            raise CgroupError("json: cannot unmarshal into Go value of type "
                              "specs.LinuxResources")
        _merge_json(r, copy.deepcopy(data))
        for key in ("memory", "cpu", "blockIO", "pids"):
            if r.get(key) is None:  # JSON null replaces runc's prefilled pointer
                r[key] = _empty_request()[key]
    else:
        if flags.get("blkio-weight"):
            r["blockIO"]["weight"] = int(flags["blkio-weight"])
        if flags.get("cpuset-cpus"):
            r["cpu"]["cpus"] = str(flags["cpuset-cpus"])
        if flags.get("cpuset-mems"):
            r["cpu"]["mems"] = str(flags["cpuset-mems"])
        dest = {"cpu-period": ("cpu", "period"), "cpu-rt-period": ("cpu", "realtimePeriod"),
                "cpu-share": ("cpu", "shares"), "cpu-quota": ("cpu", "quota"),
                "cpu-rt-runtime": ("cpu", "realtimeRuntime"), "memory": ("memory", "limit"),
                "memory-swap": ("memory", "swap"), "kernel-memory": ("memory", "kernel"),
                "kernel-memory-tcp": ("memory", "kernelTCP"),
                "memory-reservation": ("memory", "reservation")}
        for name in UINT_FLAGS + INT_FLAGS + SIZE_FLAGS:
            val = flags.get(name)
            if val is None or val == "":
                continue
            val = str(val)
            if name in UINT_FLAGS:
                v = _parse_uint(name, val)
            elif name in INT_FLAGS:
                v = _parse_int(name, val)
            elif val == "-1":
                v = -1
            else:
                try:
                    v = ram_in_bytes(val)
                except ValueError as exc:
                    raise CgroupError(f"invalid value for {name}: {exc}") from None
            sect, key = dest[name]
            r[sect][key] = v
        r["pids"]["limit"] = int(flags.get("pids-limit") or 0)
    mem = r.get("memory") or {}
    if (mem.get("kernel") or 0) != 0 or (mem.get("kernelTCP") or 0) != 0:
        warnings.append("Kernel memory settings are ignored and will be removed")
    return r, warnings


def check_intel_rdt(flags: dict[str, Any], *, cat_enabled: bool = False,
                    mba_enabled: bool = False) -> None:
    """runc's refusal of RDT schemata the host cannot apply (``--l3-cache-schema``,
    ``--mem-bw-schema``); applying them is not part of the cgroup layer."""
    if flags.get("resources") is not None:
        return
    if flags.get("l3-cache-schema") and not cat_enabled:
        raise CgroupError("Intel RDT/CAT: l3 cache schema is not enabled")
    if flags.get("mem-bw-schema") and not mba_enabled:
        raise CgroupError("Intel RDT/MBA: memory bandwidth schema is not enabled")


def update_resources(current: dict[str, Any] | None, flags: dict[str, Any]) -> dict[str, Any]:
    """The container's new ``linux.resources`` after ``runc update`` (pure).

    Pass the result to ``manager.set(result, skip_devices=True)`` and save it in the
    state. The fields runc overwrites take the request's value (zeros included: a zero is
    not written, so that cgroup file keeps its value); quota/period keep their old value
    when only the other is given; all other fields are kept.
    """
    req, _ = update_request(flags)
    new = copy.deepcopy(current) if current else {}
    cur_cpu = (current or {}).get("cpu") or {}
    rcpu = req.get("cpu") or {}
    rmem = req.get("memory") or {}
    cpu = dict(new.get("cpu") or {})
    mem = dict(new.get("memory") or {})
    bio = dict(new.get("blockIO") or {})
    pids = dict(new.get("pids") or {})

    bio["weight"] = (req.get("blockIO") or {}).get("weight") or 0
    p, q = rcpu.get("period") or 0, rcpu.get("quota") or 0
    if (p == 0 and q == 0) or (p != 0 and q != 0):
        cpu["period"], cpu["quota"] = p, q
    elif p != 0:
        cpu["period"] = p
        cpu.setdefault("quota", cur_cpu.get("quota", 0))
    else:
        cpu["quota"] = q
        cpu.setdefault("period", cur_cpu.get("period", 0))
    cpu["shares"] = rcpu.get("shares") or 0
    cpu["realtimePeriod"] = rcpu.get("realtimePeriod") or 0
    cpu["realtimeRuntime"] = rcpu.get("realtimeRuntime") or 0
    cpu["cpus"] = rcpu.get("cpus") or ""
    cpu["mems"] = rcpu.get("mems") or ""
    mem["limit"] = rmem.get("limit") or 0
    mem["reservation"] = rmem.get("reservation") or 0
    mem["swap"] = rmem.get("swap") or 0
    mem.pop("kernel", None)
    mem.pop("kernelTCP", None)
    pids["limit"] = (req.get("pids") or {}).get("limit") or 0

    new["cpu"], new["memory"], new["blockIO"], new["pids"] = cpu, mem, bio, pids
    unified = req.get("unified")
    if unified:
        new["unified"] = dict(unified)
    else:
        new.pop("unified", None)
    return new


def update_warnings(flags: dict[str, Any]) -> list[str]:
    """The warnings runc logs for an update (kernel memory flags)."""
    return update_request(flags)[1]


__all__ = ["update_resources", "update_request", "ram_in_bytes", "check_intel_rdt",
           "update_warnings"]
