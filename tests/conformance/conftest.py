"""Fixtures, clause markers and the skip list of the conformance suite (see README.md).

* ``RUNTIME`` selects the runtime under test (any runc-compatible command line); the default
  is the installed launcher ``.venv/bin/ociruntime``, else ``python -I -m ociruntime``.
* The session builds ``helper/probe.c`` with ``gcc -static -O2`` into a temp dir and a busybox
  rootfs with ``bundles/build-rootfs.sh`` that carries it as ``/probe`` (and ``/bin/probe``);
  every bundle gets a private copy of that rootfs.
* ``rtcheck`` (session) builds ``runtime_tools/main.go`` against Debian's runtime-tools with
  ``GO111MODULE=off GOPATH=/usr/share/gocode go build`` (test_runtime_tools.py).
* ``oci`` (a ``harness.Harness``) gives each test a private ``--root`` and unique ids, and on
  teardown force-deletes everything, kills by pid only container processes that survived, and
  reaps them (the test process is a child subreaper while a test runs).
* Every test names its clause with ``@pytest.mark.clause("runtime.md#state")``; a test without
  one is a collection error. ``skiplist.txt`` lines ``<pattern> | <reason>`` skip tests whose
  node id, name or clause matches the pattern (fnmatch), with that reason.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import HERE, REPO, Harness, runtime_cmd, runtime_name, set_subreaper

SKIPLIST = HERE / "skiplist.txt"
_UNUSED = pytest.StashKey[list]()
_SUITE = pytest.StashKey[set]()


def _in_suite(item: pytest.Item) -> bool:
    return HERE in Path(str(item.fspath)).resolve().parents


def _clauses(item: pytest.Item) -> list[str]:
    return [a for m in item.iter_markers("clause") for a in m.args]


def load_skiplist(path: Path = SKIPLIST, runtime: str | None = None) -> list[tuple[str, str, int]]:
    """``(pattern, reason, line number)`` for the skip list entries that apply to ``runtime``.

    A line is ``<pattern> | <reason>``; ``[name] <pattern> | <reason>`` applies only when the
    runtime under test is called ``name`` (the basename of ``$RUNTIME``).
    """
    runtime = runtime or runtime_name()
    entries = []
    if not path.exists():
        return entries
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition("|")
        pattern, reason = pattern.strip(), reason.strip()
        only = None
        if pattern.startswith("["):
            only, _, pattern = pattern[1:].partition("]")
            pattern = pattern.strip()
        if not sep or not pattern or not reason:
            raise pytest.UsageError(f"{path}:{n}: expected '[runtime] <test id or clause> | "
                                    "<reason>' ([runtime] optional)")
        if only is None or only.strip() == runtime:
            entries.append((pattern, reason, n))
    return entries


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "clause(name, ...): the spec clause(s) a conformance test checks, "
        "e.g. runtime.md#state")
    if os.environ.get("RUNTIME"):
        cmd = runtime_cmd()
        if not (shutil.which(cmd[0]) or Path(cmd[0]).exists()):
            raise pytest.UsageError(f"RUNTIME={os.environ['RUNTIME']!r}: {cmd[0]} not found")


def pytest_report_header(config: pytest.Config) -> str:
    cmd = runtime_cmd()
    try:
        version = subprocess.run([*cmd, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        version = "version unknown"
    return f"conformance runtime: {' '.join(cmd)} ({version})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    entries = load_skiplist()
    used: set[int] = set()
    unmarked = []
    for item in items:
        if not _in_suite(item):
            continue
        clauses = _clauses(item)
        if not clauses:
            unmarked.append(item.nodeid)
        item.user_properties.append(("clause", " ".join(clauses)))
        keys = [item.nodeid, item.name, getattr(item, "originalname", item.name), *clauses]
        for pattern, reason, n in entries:
            if any(fnmatch.fnmatchcase(k, pattern) for k in keys):
                item.add_marker(pytest.mark.skip(reason=f"skiplist.txt:{n}: {reason}"))
                used.add(n)
                break
    if unmarked:
        raise pytest.UsageError("conformance tests without a clause marker: " + ", ".join(unmarked))
    config.stash[_UNUSED] = [e for e in entries if e[2] not in used]
    config.stash[_SUITE] = {item.nodeid for item in items if _in_suite(item)}


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    """Counts and the failing clauses of the suite, for the README's results table."""
    rows = []
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            if rep.nodeid not in config.stash.get(_SUITE, set()):
                continue
            if outcome == "error" or rep.when == "call" or (rep.when == "setup" and rep.skipped):
                counts[outcome] = counts.get(outcome, 0) + 1
                clause = dict(rep.user_properties).get("clause", "")
                if outcome in ("failed", "error"):
                    msg = rep.longrepr.reprcrash.message if hasattr(rep.longrepr, "reprcrash") \
                        and rep.longrepr.reprcrash else str(rep.longrepr).splitlines()[-1]
                    rows.append(f"{outcome.upper():7} {clause:40} {rep.nodeid.split('::')[-1]}: "
                                f"{msg.splitlines()[0][:160]}")
    if not counts:
        return
    tr = terminalreporter
    tr.section(f"conformance: {runtime_name()}")
    tr.write_line(", ".join(f"{v} {k}" for k, v in counts.items()))
    for row in rows:
        tr.write_line(row)
    for pattern, _reason, n in config.stash.get(_UNUSED, []):
        tr.write_line(f"skiplist.txt:{n}: entry {pattern!r} matched no test")


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def probe_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """helper/probe.c built with ``gcc -static -O2`` (never committed)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found: the probe (helper/probe.c) cannot be built "
                    "(apt-get install gcc libc6-dev)")
    out = tmp_path_factory.mktemp("probe") / "probe"
    p = subprocess.run([gcc, "-static", "-O2", "-Wall", "-o", str(out),
                        str(HERE / "helper" / "probe.c")], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"building the probe failed:\n{p.stderr}")
    return out


@pytest.fixture(scope="session")
def probe_rootfs(tmp_path_factory: pytest.TempPathFactory, probe_bin: Path) -> Path:
    """A busybox rootfs (bundles/build-rootfs.sh) with the probe at /probe and /bin/probe."""
    if shutil.which("busybox") is None and not Path("/bin/busybox").exists():
        pytest.skip("busybox-static is not installed (apt-get install busybox-static)")
    path = tmp_path_factory.mktemp("rootfs") / "rootfs"
    subprocess.run(["bash", str(REPO / "bundles" / "build-rootfs.sh"), str(path)], check=True,
                   stdout=subprocess.DEVNULL)
    for dest in (path / "probe", path / "bin" / "probe"):
        if dest.is_symlink():
            dest.unlink()
        shutil.copy2(probe_bin, dest)
        dest.chmod(0o755)
    return path


RUNTIME_TOOLS_GOPATH = Path("/usr/share/gocode")
RUNTIME_TOOLS_SRC = RUNTIME_TOOLS_GOPATH / "src/github.com/opencontainers/runtime-tools"
RUNTIME_TOOLS_MISSING = (
    "runtime-tools cross-check: Debian's golang-go and golang-github-opencontainers-runtime-"
    "tools-dev are not installed (./install.sh installs them)")


@pytest.fixture(scope="session")
def rtcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runtime_tools/main.go built against Debian's runtime-tools in GOPATH mode
    (``GO111MODULE=off GOPATH=/usr/share/gocode go build``) into a temp dir, never committed.
    The build cache is kept in /tmp between runs (a cold build takes ~10 s)."""
    go = shutil.which("go")
    if go is None or not (RUNTIME_TOOLS_SRC / "validate").is_dir():
        pytest.skip(RUNTIME_TOOLS_MISSING)
    out = tmp_path_factory.mktemp("rtcheck") / "rtcheck"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(GO111MODULE="off", GOPATH=str(RUNTIME_TOOLS_GOPATH),
               GOCACHE=os.environ.get("GOCACHE", "/tmp/oci-conformance-gocache"))
    p = subprocess.run([go, "build", "-o", str(out), "main.go"], cwd=HERE / "runtime_tools",
                       env=env, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"building runtime_tools/main.go failed:\n{p.stderr}")
    return out


@pytest.fixture
def oci(tmp_path: Path, probe_bin: Path, probe_rootfs: Path) -> Iterator[Harness]:
    """The runtime under test with a private --root; everything is cleaned up afterwards."""
    if os.geteuid() != 0:
        pytest.skip("creating containers needs root")
    set_subreaper(True)
    h = Harness(tmp_path, probe_bin, probe_rootfs)
    try:
        yield h
    finally:
        problems = h.cleanup()
        set_subreaper(False)
    assert not problems, "cleanup: " + "; ".join(problems)
