"""The runtime called the way conmon and the containerd shim call it: a minimal environment.

conmon and the shim pass little more than PATH and HOME (no activated virtualenv, no
PYTHONPATH), and run it from a directory that is not the repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .engines import REPO, RuntimeUnderTest, run, wait_for

MINIMAL = {"PATH": "/usr/bin:/bin", "HOME": "/root"}


@pytest.fixture
def bundle(tmp_path: Path, rootfs: Path) -> Path:
    b = tmp_path / "bundle"
    b.mkdir()
    cfg = json.loads((REPO / "bundles" / "busybox" / "config.json").read_text())
    cfg["root"]["path"] = str(rootfs)
    cfg["root"]["readonly"] = True
    cfg["process"]["args"] = ["sh", "-c", "echo minimal env ok; exit 3"]
    cfg["process"]["terminal"] = False
    cfg["linux"].pop("cgroupsPath", None)
    (b / "config.json").write_text(json.dumps(cfg))
    return b


def test_lifecycle_with_minimal_env(runtime: RuntimeUnderTest, bundle: Path,
                                    tmp_path: Path) -> None:
    root = tmp_path / "state"
    rt = [str(runtime.real), "--root", str(root)]

    def call(*args: str, check: bool = True) -> object:
        # env -i: nothing but PATH and HOME; cwd / (not the repository)
        return run(["env", "-i", *(f"{k}={v}" for k, v in MINIMAL.items()), *rt, *args],
                   cwd=Path("/"), check=check, timeout=30)

    try:
        r = call("run", "--bundle", str(bundle), "e2e-min-run", check=False)
        assert r.returncode == 3 and r.stdout == "minimal env ok\n", r
        assert r.stderr == "", r
        cfg = json.loads((bundle / "config.json").read_text())
        cfg["process"]["args"] = ["sleep", "1000"]
        (bundle / "config.json").write_text(json.dumps(cfg))
        log = tmp_path / "log.json"
        # the container inherits create's stdio: files, not pipes we would wait on
        with open(tmp_path / "out", "wb") as out:
            p = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in MINIMAL.items()), *rt,
                                "--log", str(log), "--log-format", "json", "create",
                                "--bundle", str(bundle), "--pid-file", str(tmp_path / "pid"),
                                "e2e-min"], cwd="/", stdin=subprocess.DEVNULL, stdout=out,
                               stderr=out, timeout=30)
        assert p.returncode == 0, (tmp_path / "out").read_text()
        assert int((tmp_path / "pid").read_text()) > 0
        assert json.loads(call("state", "e2e-min").stdout)["status"] == "created"
        call("start", "e2e-min")
        wait_for(lambda: json.loads(call("state", "e2e-min").stdout)["status"] == "running")
        r = call("exec", "e2e-min", "sh", "-c", "echo exec ok; env | sort")
        assert r.stdout.startswith("exec ok\n"), r
        # an error is one JSON record in --log, the message on stderr
        r = call("--log", str(log), "--log-format", "json", "exec", "e2e-min", "nosuchcmd",
                 check=False)
        assert r.returncode != 0 and "executable file not found in $PATH" in r.stderr, r
        last = json.loads(log.read_text().splitlines()[-1])
        assert last["level"] == "error" and "executable file not found" in last["msg"], last
        call("kill", "e2e-min", "9")
        wait_for(lambda: json.loads(call("state", "e2e-min").stdout)["status"] == "stopped")
        call("delete", "e2e-min")
        assert call("state", "e2e-min", check=False).returncode != 0
    finally:
        for cid in ("e2e-min", "e2e-min-run"):
            run([*rt, "delete", "--force", cid], check=False)
        shutil.rmtree(root, ignore_errors=True)
