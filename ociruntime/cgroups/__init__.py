"""Cgroups: one ``Manager`` interface, one driver per hierarchy kind (runc 1.1.5's
``libcontainer/cgroups``).

* ``v1.FsManager``: cgroup v1 files, one hierarchy per controller (also the hybrid
  layout, where the unified hierarchy is joined too);
* ``v2.Fs2Manager``: cgroup v2 files in the unified hierarchy; device rules as eBPF;
* ``systemd.SystemdManager``: a transient systemd unit around either.

Entry points::

    mgr = new_manager(container_id, config["linux"].get("cgroupsPath"),
                      config["linux"].get("resources"), systemd=..., rootless=...,
                      linux_devices=config["linux"].get("devices"))
    mgr.apply(pid)            # right after the init is forked, or: apply(-1) (directories
                              # only), then the new process joins self_join_dirs() itself
                              # and is born in birth_dir() (process.py)
    mgr.set()                 # after the mounts (the resources given above)
    state["cgroup_paths"] = mgr.paths()
    ...
    mgr = load_manager(state["cgroup_paths"], container_id=..., cgroups_path=...)
    mgr.freeze() / mgr.thaw() / mgr.freezer_state() / mgr.pids() / mgr.signal_all(sig)
    mgr.stats() / mgr.oom_notifier() / mgr.set(new, skip_devices=True) / mgr.destroy()
    watch_events(mgr, id, interval, emit)   # runc events (format_event for --stats)

Every root (``/sys/fs/cgroup``, ``/proc``) is a parameter, so all of it runs on a fake tree.
"""

from __future__ import annotations

import os

from ociruntime.errors import CgroupError

from .common import (
    CGROUP2_SUPER_MAGIC,
    DEFAULT_PROC,
    DEFAULT_ROOT,
    FROZEN,
    THAWED,
    UNDEFINED,
    CgroupFS,
    clean_path,
    is_within,
    safe_inner_path,
    statfs_type,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .base import Manager

#: Names re-exported from the submodules, imported on first use (PEP 562): every runtime
#: call that touches a cgroup loads only the driver it needs, not stats/events/systemd.
_LAZY = {
    "Manager": "base", "OOMNotifier": "base",
    "watch_events": ("events", "watch"),
    "filter_ps_output": "ps", "ps_json": "ps", "ps_table": "ps",
    "DEFAULT_DEVICE_RULES": "resources", "DeviceRule": "resources", "Resources": "resources",
    "convert_blkio_to_io_weight": "resources", "convert_cpu_shares_to_v2": "resources",
    "convert_memory_swap_to_v2": "resources", "default_device_rules": "resources",
    "events_data": "stats", "format_event": "stats",
    "new_systemd_manager": "systemd",
    "check_intel_rdt": "update", "ram_in_bytes": "update", "update_request": "update",
    "update_resources": "update",
    "FsManager": "v1", "init_paths": "v1",
    "Fs2Manager": "v2", "default_dir_path": "v2",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod_name, attr = (target, name) if isinstance(target, str) else target
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod_name}"), attr)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_DEVICE_RULES", "FROZEN", "THAWED", "UNDEFINED", "DeviceRule", "Fs2Manager",
    "FsManager", "Manager", "OOMNotifier", "Resources", "check_intel_rdt",
    "convert_blkio_to_io_weight", "convert_cpu_shares_to_v2", "convert_memory_swap_to_v2",
    "default_device_rules", "detect", "events_data", "filter_ps_output", "format_event",
    "load_manager", "new_manager", "ps_json", "ps_table", "ram_in_bytes", "update_request",
    "update_resources", "watch_events",
]

SYSTEMD_RUN_DIR = "/run/systemd/system"


def detect(root: str = DEFAULT_ROOT) -> str:
    """``"v2"`` (cgroup2 at ``root``), ``"hybrid"`` (v1 plus cgroup2 at ``root/unified``)
    or ``"v1"`` (runc's ``IsCgroup2UnifiedMode``/``IsCgroup2HybridMode``).

    A fake tree (tests) is recognised by ``cgroup.controllers`` at the root (v2) or in
    ``unified/`` (hybrid).
    """
    if statfs_type(root) == CGROUP2_SUPER_MAGIC:
        return "v2"
    unified = os.path.join(root, "unified")
    if statfs_type(unified) == CGROUP2_SUPER_MAGIC:
        return "hybrid"
    if os.path.isfile(os.path.join(root, "cgroup.controllers")):
        return "v2"
    if os.path.isfile(os.path.join(unified, "cgroup.controllers")):
        return "hybrid"
    return "v1"


def _is_real(root: str) -> bool:
    real = os.path.realpath(root)
    return real == DEFAULT_ROOT or real.startswith(DEFAULT_ROOT + "/")


def _inner(container_id: str, cgroups_path: str | None) -> str:
    if cgroups_path:
        inner = safe_inner_path("linux.cgroupsPath", cgroups_path)
        # runc would place the container in the hierarchy root (or the caller's own
        # cgroup) and later try to remove it: refused.
        if inner in ("/", "."):
            raise CgroupError(f"linux.cgroupsPath: {cgroups_path!r} names no cgroup of its "
                              f"own (the hierarchy root or the caller's cgroup)")
        return inner
    # runc: Name = the id, Path = "" -> CleanPath(id), relative to the caller's cgroup.
    if not container_id or "/" in container_id or container_id in (".", ".."):
        raise CgroupError(f"invalid container id {container_id!r} for a cgroup name")
    return clean_path(container_id)


def new_manager(container_id: str, cgroups_path: str | None,
                resources: dict[str, Any] | None, *, systemd: bool = False,
                rootless: bool = False, root: str = DEFAULT_ROOT, proc: str = DEFAULT_PROC,
                linux_devices: list[dict[str, Any]] | None = None,
                annotations: dict[str, str] | None = None, mode: str | None = None,
                check_fs: bool | None = None, systemd_run_dir: str = SYSTEMD_RUN_DIR,
                hugepages_dir: str | None = None) -> Manager:
    """The manager for a new container (nothing is created until ``apply``).

    ``cgroups_path`` is ``linux.cgroupsPath``: absolute = from each hierarchy's root,
    relative = below the caller's cgroup (v1: its cgroup in each hierarchy; v2: the parent
    of its cgroup), empty = the container id there; with ``systemd``, ``slice:prefix:name``.
    ``resources`` is ``linux.resources``; runc's default device rules are appended after
    its own (minus defaults whose path ``linux_devices`` redefines). ``annotations`` give
    ``org.systemd.property.*`` unit properties. ``mode`` forces ``v1``/``hybrid``/``v2``
    instead of detecting the host.
    """
    from .resources import Resources, convert_memory_swap_to_v2, default_device_rules

    mode = mode or detect(root)
    defaults = default_device_rules(linux_devices)
    r = Resources.from_oci(resources, default_devices=defaults)
    fs = CgroupFS(_is_real(root) if check_fs is None else check_fs)
    version = "v2" if mode == "v2" else "v1"
    if systemd:
        from .systemd import new_systemd_manager

        return new_systemd_manager(container_id, cgroups_path, r, version=version,
                                   hybrid=mode == "hybrid", rootless=rootless, root=root,
                                   proc=proc, fs=fs, default_devices=defaults,
                                   annotations=annotations, run_dir=systemd_run_dir)
    inner = _inner(container_id, cgroups_path)
    if version == "v1":
        from .v1 import FsManager, init_paths

        if r.unified is not None:
            raise CgroupError("invalid configuration: cannot use unified on cgroup v1")
        paths = init_paths(inner, root=root, proc=proc, hybrid=mode == "hybrid",
                           skip_devices=r.skip_devices)
        return FsManager(r, paths, root=root, proc=proc, fs=fs, rootless=rootless,
                         explicit_path=bool(cgroups_path), default_devices=defaults,
                         hugepages_dir=hugepages_dir)
    convert_memory_swap_to_v2(r.memory_swap, r.memory)  # runc's validator refuses it early
    from .v2 import Fs2Manager, default_dir_path

    return Fs2Manager(r, default_dir_path(inner, root=root, proc=proc), root=root, proc=proc,
                      fs=fs, rootless=rootless, explicit_path=bool(cgroups_path),
                      default_devices=defaults, hugepages_dir=hugepages_dir)


def load_manager(paths: dict[str, str], *, container_id: str = "",
                 cgroups_path: str | None = None, resources: dict[str, Any] | None = None,
                 systemd: bool = False, rootless: bool = False, root: str = DEFAULT_ROOT,
                 proc: str = DEFAULT_PROC, linux_devices: list[dict[str, Any]] | None = None,
                 annotations: dict[str, str] | None = None, mode: str | None = None,
                 check_fs: bool | None = None, systemd_run_dir: str = SYSTEMD_RUN_DIR,
                 hugepages_dir: str | None = None) -> Manager:
    """Rebuild a container's manager from the ``paths()`` saved in its state.

    Every saved path must be absolute, clean and inside ``root``. ``resources`` (the
    saved ``linux.resources``) is what ``set()`` without arguments re-applies; the systemd
    driver also needs ``container_id`` and ``cgroups_path`` to name its unit.
    """
    for key, p in paths.items():
        if not isinstance(p, str) or (p and (not p.startswith("/") or os.path.normpath(p) != p
                                             or not is_within(p, root))):
            raise CgroupError(f"invalid cgroup path {p!r} for {key!r} in the saved state")
    from .resources import Resources, default_device_rules

    mode = mode or detect(root)
    defaults = default_device_rules(linux_devices)
    r = Resources.from_oci(resources, default_devices=defaults)
    fs = CgroupFS(_is_real(root) if check_fs is None else check_fs)
    version = "v2" if mode == "v2" else "v1"
    if systemd:
        from .systemd import new_systemd_manager

        return new_systemd_manager(container_id, cgroups_path, r, version=version,
                                   hybrid=mode == "hybrid", rootless=rootless, root=root,
                                   proc=proc, fs=fs, default_devices=defaults,
                                   annotations=annotations, run_dir=systemd_run_dir,
                                   paths=paths)
    if version == "v1":
        from .v1 import FsManager

        return FsManager(r, paths, root=root, proc=proc, fs=fs, rootless=rootless,
                         explicit_path=bool(cgroups_path), default_devices=defaults,
                         hugepages_dir=hugepages_dir)
    from .v2 import Fs2Manager, default_dir_path

    if set(paths) - {""}:
        raise CgroupError(f"inconsistent paths: expected a single path, got {paths}")
    dir_path = paths.get("", "")
    if not dir_path:
        dir_path = default_dir_path(_inner(container_id, cgroups_path), root=root, proc=proc)
    return Fs2Manager(r, dir_path, root=root, proc=proc, fs=fs, rootless=rootless,
                      explicit_path=bool(cgroups_path), default_devices=defaults,
                      hugepages_dir=hugepages_dir)
