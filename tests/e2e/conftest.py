"""Fixtures of the engine end-to-end tests (see README.md in this directory).

* ``E2E_RUNTIME`` selects the runtime the engines use (default: the installed launcher
  ``.venv/bin/ociruntime``; ``E2E_RUNTIME=/usr/bin/runc`` runs the same scenarios with runc).
* ``E2E_TIMEOUT`` bounds every scenario (seconds, default 90); ``E2E_TRACE=FILE`` records every
  runtime call the engines make.
* One busybox image (an OCI archive made by ``mkimage.py`` from ``bundles/build-rootfs.sh``
  output) per session, loaded into a private podman and imported into a private containerd.
* After each test every container is removed; at the end of the session the engines are
  stopped and their storage removed. Anything that had to be cleaned up by force (runtime
  state, processes, mounts, cgroups, netns) makes the session fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .engines import REPO, Containerd, Podman, RuntimeUnderTest

TIMEOUT = float(os.environ.get("E2E_TIMEOUT", "90"))
HERE = Path(__file__).resolve().parent


def _missing(*tools: str) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        if os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason="e2e: the engines need root"))


class ScenarioTimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Bound every scenario by E2E_TIMEOUT (SIGALRM in the test process)."""

    def expired(signum: int, frame: object) -> None:
        raise ScenarioTimeout(f"scenario exceeded E2E_TIMEOUT={TIMEOUT:g}s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def pytest_report_header(config: pytest.Config) -> str:
    return (f"e2e runtime: {os.environ.get('E2E_RUNTIME') or REPO / '.venv/bin/ociruntime'}"
            f" (E2E_RUNTIME), scenario timeout {TIMEOUT:g}s")


@pytest.fixture(scope="session")
def e2e_dir() -> Iterator[Path]:
    """The session's private directory (0755: user-namespaced containers must reach it)."""
    d = Path(tempfile.mkdtemp(prefix="ociruntime-e2e-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def runtime(e2e_dir: Path) -> RuntimeUnderTest:
    rt = RuntimeUnderTest(e2e_dir)
    if not rt.real.exists():
        pytest.fail(f"runtime under test {rt.real} does not exist (run ./install.sh, or set "
                    "E2E_RUNTIME)")
    return rt


@pytest.fixture(scope="session")
def rootfs(e2e_dir: Path) -> Path:
    if not Path("/bin/busybox").exists() and shutil.which("busybox") is None:
        pytest.skip("needs busybox-static")
    path = e2e_dir / "rootfs"
    subprocess.run(["bash", str(REPO / "bundles" / "build-rootfs.sh"), str(path)], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    return path


@pytest.fixture(scope="session")
def image_archive(e2e_dir: Path, rootfs: Path) -> Path:
    """The busybox image as an OCI archive (no registry is reachable here)."""
    archive = e2e_dir / "busybox.oci.tar"
    subprocess.run([sys.executable, str(HERE / "mkimage.py"), str(rootfs), str(archive)],
                   check=True, timeout=120)
    return archive


@pytest.fixture(scope="session")
def podman_session(e2e_dir: Path, runtime: RuntimeUnderTest,
                   image_archive: Path) -> Iterator[Podman]:
    missing = _missing("podman", "conmon")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install podman conmon)")
    p = Podman(e2e_dir / "podman", runtime, image_archive)
    try:
        p.load_image()
        yield p
    finally:
        leaks = p.cleanup()
    if leaks:
        pytest.fail("podman e2e left behind (cleaned up now):\n  " + "\n  ".join(leaks))


@pytest.fixture
def podman(podman_session: Podman) -> Iterator[Podman]:
    """The session's podman; every container is removed after the test."""
    yield podman_session
    leaks = podman_session.remove_containers()
    assert not leaks, f"runtime state outlived podman rm: {leaks}"


@pytest.fixture(scope="session")
def containerd_session(e2e_dir: Path, runtime: RuntimeUnderTest,
                       image_archive: Path) -> Iterator[Containerd]:
    missing = _missing("containerd", "ctr", "containerd-shim-runc-v2")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install containerd)")
    c = Containerd(e2e_dir / "containerd", runtime, image_archive)
    try:
        c.start()
        c.import_image()
        yield c
    finally:
        leaks = c.cleanup()
    if leaks:
        pytest.fail("containerd e2e left behind (cleaned up now):\n  " + "\n  ".join(leaks))


@pytest.fixture
def ctr(containerd_session: Containerd) -> Iterator[Containerd]:
    """The session's containerd; every task and container is removed after the test."""
    yield containerd_session
    leaks = containerd_session.remove_containers()
    assert not leaks, f"runtime state outlived ctr delete: {leaks}"
