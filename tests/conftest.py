"""Shared fixtures: the runtime command, a private state root, bundles on a busybox rootfs.

Every test that makes containers gets its own ``--root`` and unique ids, and the ``root``
fixture force-deletes whatever is left there even when the test fails, then checks that
no process of those containers survived.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def runtime_cmd() -> list[str]:
    """The runtime under test: ``$RUNTIME`` (any runc-compatible binary) or ociruntime."""
    env = os.environ.get("RUNTIME")
    if env:
        return shlex.split(env)
    return [sys.executable, "-I", "-m", "ociruntime"]


def is_root() -> bool:
    return os.geteuid() == 0


needs_root = pytest.mark.skipif(not is_root(), reason="needs root to create containers")


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs built once per session with bundles/build-rootfs.sh."""
    if shutil.which("busybox") is None and not Path("/bin/busybox").exists():
        pytest.skip("needs busybox-static (apt-get install busybox-static)")
    path = tmp_path_factory.mktemp("rootfs") / "rootfs"
    subprocess.run(["bash", str(REPO / "bundles" / "build-rootfs.sh"), str(path)], check=True,
                   stdout=subprocess.DEVNULL)
    return path


@pytest.fixture(scope="session")
def base_config() -> dict[str, Any]:
    """The default bundle's config (runc spec shape), with a short-lived process."""
    with open(REPO / "bundles" / "busybox" / "config.json") as f:
        cfg = json.load(f)
    cfg["process"]["args"] = ["true"]
    cfg["process"]["terminal"] = False
    return cfg


class Runtime:
    """Runs the runtime CLI with a private ``--root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cmd = runtime_cmd()

    def __call__(self, *args: str, check: bool = False, timeout: float = 30,
                 global_args: tuple[str, ...] = (), **kw: Any) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        proc = subprocess.run([*self.cmd, "--root", str(self.root), *global_args, *args],
                              timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{args} failed ({proc.returncode}): stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc

    def state(self, cid: str) -> dict[str, Any]:
        out = self("state", cid, check=True).stdout
        return json.loads(out)


def _pids_of_root(root: Path) -> list[int]:
    pids = []
    if not root.exists():
        return pids
    for d in root.iterdir():
        try:
            st = json.loads((d / "state.json").read_text())
            pids.append(int(st.get("pid") or 0))
        except (OSError, ValueError):
            continue
    return [p for p in pids if p > 0]


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime with its own state root; everything left in it is force-deleted."""
    if not is_root():
        pytest.skip("needs root to create containers")
    root = tmp_path / "state"
    r = Runtime(root)
    yield r
    pids = _pids_of_root(root)
    if root.exists():
        for d in list(root.iterdir()):
            if d.is_dir() and not d.name.startswith("."):
                r("delete", "--force", d.name)
    for pid in pids:
        # Only processes we started, by pid: a leftover init means delete failed.
        try:
            os.kill(pid, 9)
        except (ProcessLookupError, PermissionError):
            continue
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def make_bundle(tmp_path: Path, rootfs: Path,
                base_config: dict[str, Any]) -> Callable[..., Path]:
    """``make_bundle(**changes)``: a bundle dir whose config is the base config changed."""
    counter = [0]

    def make(config: dict[str, Any] | None = None, *, args: list[str] | None = None,
             own_rootfs: bool = False, **process: Any) -> Path:
        counter[0] += 1
        b = tmp_path / f"bundle{counter[0]}"
        b.mkdir()
        cfg = copy.deepcopy(config if config is not None else base_config)
        if own_rootfs:
            shutil.copytree(rootfs, b / "rootfs", symlinks=True)
            cfg["root"]["path"] = "rootfs"
        else:
            cfg["root"]["path"] = str(rootfs)
        if args is not None:
            cfg["process"]["args"] = args
        cfg["process"].update(process)
        (b / "config.json").write_text(json.dumps(cfg))
        return b

    return make


@pytest.fixture
def cid() -> str:
    """A unique container id."""
    return "t-" + uuid.uuid4().hex[:12]
