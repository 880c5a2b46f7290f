"""The syscall seam's pure parts, checked against the kernel and the stdlib."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from ociruntime import linux as L


def test_rlimit_numbers_match_the_stdlib() -> None:
    for name, number in L.RLIMITS.items():
        if hasattr(resource, name):
            assert getattr(resource, name) == number, name
    assert len(L.RLIMITS) == 16


def test_prlimit_sets_both_limits_of_another_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        L.prlimit(child.pid, L.RLIMITS["RLIMIT_NOFILE"], 123, 456)
        assert resource.prlimit(child.pid, resource.RLIMIT_NOFILE) == (123, 456)
        L.prlimit(child.pid, L.RLIMITS["RLIMIT_CORE"], 0, resource.RLIM_INFINITY)
        assert resource.prlimit(child.pid, resource.RLIMIT_CORE) == (0, resource.RLIM_INFINITY)
        with pytest.raises(OSError) as info:  # soft above hard: the kernel's EINVAL
            L.prlimit(child.pid, L.RLIMITS["RLIMIT_NOFILE"], 10, 5)
        assert info.value.strerror == os.strerror(22)
    finally:
        child.kill()
        child.wait()
