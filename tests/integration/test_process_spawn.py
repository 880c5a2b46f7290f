"""process.spawn's two shapes: the init born straight into its namespaces (clone3), or
through the intermediate when namespaces are joined (or a user namespace is made)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest

from ociruntime import namespaces, process
from ociruntime.channel import GO, Channel

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")


@pytest.fixture(autouse=True)
def not_a_subreaper_afterwards() -> Iterator[None]:
    """spawn makes its caller a child subreaper (the runtime adopts the init). Here the
    caller is pytest: left on, every later orphan of the session (an exec'd process whose
    intermediate exited) would become an unreaped child of pytest, and a zombie in a
    container's pid namespace keeps its dying init from ever exiting."""
    from ociruntime import linux as L

    yield
    L.prctl(L.PR_SET_CHILD_SUBREAPER, 0)


def _probe_main(plan: Any, chan: Channel) -> NoReturn:  # pragma: no cover - child
    chan.expect(GO)
    with open("/proc/self/status") as f:
        nspid = next(line.split()[1:] for line in f if line.startswith("NSpid:"))
    chan.send("probe", pid=os.getpid(), nspid=nspid,
              mnt=os.readlink("/proc/self/ns/mnt"), dumpable=_dumpable())
    os._exit(0)


def _dumpable() -> int:
    from ociruntime import linux as L

    return L.prctl(3)  # PR_GET_DUMPABLE


def _spawn(ns: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> tuple[dict, int]:
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(process.os, "fork", counting_fork)
    plan = SimpleNamespace(ns=namespaces.plan(ns), config={"process": {}}, linux={})
    pid, chan = process.spawn(plan, child_main=_probe_main)
    try:
        frame = chan.expect("probe")
    finally:
        chan.close()
        _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert frame["pid"] == 1 and frame["nspid"] == [str(pid), "1"]
    assert frame["dumpable"] == 0  # set before the init does anything else
    return frame, len(forks)


def test_new_namespaces_only_the_init_is_born_in_them(monkeypatch: pytest.MonkeyPatch) -> None:
    frame, forks = _spawn([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}], monkeypatch)
    assert forks == 0  # clone3, no intermediate process
    assert frame["mnt"] != os.readlink("/proc/self/ns/mnt")


def test_a_joined_namespace_goes_through_the_intermediate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    frame, forks = _spawn([{"type": "pid"}, {"type": "mount"},
                           {"type": "uts", "path": "/proc/self/ns/uts"}], monkeypatch)
    assert forks == 1  # the intermediate (which forks the init into the pid namespace)
    assert frame["mnt"] != os.readlink("/proc/self/ns/mnt")


def test_a_kernel_without_clone3_falls_back_to_the_intermediate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from ociruntime import linux as L

    def no_clone3(flags: int = 0, cgroup_fd: int = -1) -> int:
        raise OSError(errno.ENOSYS, "clone3: Function not implemented")

    monkeypatch.setattr(L, "clone_fork", no_clone3)
    _, forks = _spawn([{"type": "pid"}, {"type": "mount"}], monkeypatch)
    assert forks == 1  # the intermediate, forked the old way
