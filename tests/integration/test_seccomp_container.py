"""linux.seccomp through the runtime: real containers under podman's and Docker's profiles,
custom rules, exec'd processes and an SCMP_ACT_NOTIFY agent (config-linux.md#seccomp).
"""

from __future__ import annotations

import copy
import errno
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration._probe import detached, parse_status, unquote_log
from tests.integration.test_seccomp_kernel import Agent, notify_profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "seccomp"
T = 30


def _with(base: dict[str, Any], seccomp: dict[str, Any], args: list[str]) -> dict[str, Any]:
    cfg = copy.deepcopy(base)
    cfg["linux"]["seccomp"] = seccomp
    cfg["process"]["args"] = args
    return cfg


@pytest.mark.parametrize("profile", ["podman-default", "docker-default"])
def test_default_profiles_run_a_shell(rt, make_bundle, cid, base_config, profile):
    """The engines' default profiles: a busybox shell works, Seccomp: 2 inside, and the
    syscalls they block fail with EPERM (unshare, mount, reboot via busybox)."""
    sec = json.loads((FIXTURES / f"{profile}.oci.json").read_text())
    script = ("grep -E '^Seccomp:' /proc/self/status; echo ok; "
              "unshare -r true 2>&1; echo unshare=$?; "
              "mount -t tmpfs none /mnt 2>&1; echo mount=$?")
    b = make_bundle(_with(base_config, sec, ["sh", "-c", script]))
    p = rt("run", "--bundle", str(b), cid, timeout=T)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert parse_status(out)["Seccomp"] == "2"
    assert "ok" in out.splitlines()
    assert "unshare=1" in out and "Operation not permitted" in out
    assert "mount=" in out and "mount=0" not in out


def test_errno_ret_and_argument_filter(rt, make_bundle, cid, base_config):
    """errnoRet is the errno the process sees; conditions on arguments select the call
    (personality(8) denied, personality(0xffffffff) - a query - allowed)."""
    sec = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EDQUOT},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        ],
    }
    script = "mkdir /tmp/x 2>&1; echo mkdir=$?; setarch linux32 true 2>&1; echo arch=$?; " \
             "uname -m"
    cfg = _with(base_config, sec, ["sh", "-c", script])
    b = make_bundle(cfg, own_rootfs=True)
    p = rt("run", "--bundle", str(b), cid, timeout=T)
    assert p.returncode == 0, p.stderr
    assert "Disk quota exceeded" in p.stdout and "mkdir=1" in p.stdout
    assert "arch=0" not in p.stdout  # personality(PER_LINUX32) refused
    assert p.stdout.split()[-1] == "x86_64"  # the query form still works


def test_kill_action_kills(rt, make_bundle, cid, base_config):
    """SCMP_ACT_KILL_PROCESS: the process dies of SIGSYS (exit 128+31 from run)."""
    sec = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL_PROCESS"}]}
    b = make_bundle(_with(base_config, sec, ["pwd"]))
    p = rt("run", "--bundle", str(b), cid, timeout=T)
    assert p.returncode == 128 + 31, (p.returncode, p.stderr)


def test_exec_gets_the_filter(rt, make_bundle, cid, base_config, tmp_path):
    """Processes started with exec run under the container's filter too."""
    sec = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                         "errnoRet": errno.EROFS}]}
    b = make_bundle(_with(base_config, sec, ["sleep", "100"]))
    assert detached(rt, "run", "-d", "--bundle", str(b), cid,
                    out=tmp_path / "run.out").returncode == 0
    p = rt("exec", cid, "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/y 2>&1",
           timeout=T)
    assert parse_status(p.stdout)["Seccomp"] == "2"
    assert "Read-only file system" in p.stdout


def test_notify_agent_answers_through_the_runtime(rt, make_bundle, cid, base_config, tmp_path):
    """SCMP_ACT_NOTIFY: the runtime hands the listener and the container process state to
    the agent at listenerPath during create; the agent's answer is what mkdir returns."""
    sock = tmp_path / "agent.sock"
    agent = Agent(sock, [{"errno": errno.EDQUOT}])
    agent.thread.start()
    try:
        sec = notify_profile(sock)
        b = make_bundle(_with(base_config, sec, ["sh", "-c", "mkdir /tmp/z 2>&1; echo rc=$?"]))
        p = rt("run", "--bundle", str(b), cid, timeout=T)
        assert p.returncode == 0, p.stderr
        assert "Disk quota exceeded" in p.stdout and "rc=1" in p.stdout
    finally:
        agent.close()
    assert agent.error is None, agent.error
    st = agent.state
    assert st is not None
    assert st["metadata"] == "test-metadata" and st["fds"] == ["seccompFd"]
    assert st["state"]["id"] == cid and st["state"]["status"] == "creating"


def test_notify_without_agent_fails_create_cleanly(rt, make_bundle, cid, base_config,
                                                   tmp_path):
    """An absent agent is a clear create error and nothing is left behind."""
    sec = notify_profile(tmp_path / "nobody-listens.sock")
    b = make_bundle(_with(base_config, sec, ["true"]))
    p = rt("create", "--bundle", str(b), cid, timeout=T, stdin=None)
    assert p.returncode == 1
    assert "seccomp agent" in unquote_log(p.stderr)
    assert rt("state", cid).returncode == 1
    assert not (rt.root / cid).exists()
