"""podman 4.3 (with conmon and buildah) driving the runtime under test: issue 6 scenarios.

podman is told nothing but the runtime's registered name (containers.conf
``[engine.runtimes]``, ``runtime_supports_json``: see README "Using it with podman and
containerd"); conmon runs the runtime with podman's minimal environment.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from .engines import Podman, cgroup_of, run, wait_for

IMG = "localhost/e2e/busybox:latest"


def status_caps(text: str, field: str) -> int:
    m = re.search(rf"^{field}:\s*([0-9a-f]+)", text, re.M)
    assert m, text
    return int(m.group(1), 16)


CAP_CHOWN, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_NET_RAW = 0, 12, 21, 13


# --- run, exit codes, errors -----------------------------------------------------------------


def test_run_rm_leaves_nothing(podman: Podman) -> None:
    r = podman("run", "--rm", "--name", "e2e-rm", IMG, "echo", "hello from e2e")
    assert r.stdout == "hello from e2e\n", r
    assert r.stderr == "", r
    assert podman("ps", "-aq").stdout == ""
    assert podman.runtime.containers_under(podman.state) == []


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_code_propagates(podman: Podman, code: int) -> None:
    r = podman("run", "--rm", IMG, "sh", "-c", f"echo out; echo err >&2; exit {code}",
               check=False)
    assert r.returncode == code, r
    assert r.stdout == "out\n" and "err" in r.stderr, r


def test_runtime_by_absolute_path(podman: Podman) -> None:
    """`podman --runtime /path/to/ociruntime` (the issue's form) works as the name does."""
    r = run(["podman", "--runtime", str(podman.runtime.path), "run", "--rm", IMG,
             "sh", "-c", "exit 4"], env=podman.env, cwd=podman.state, check=False)
    assert r.returncode == 4, r


def test_missing_executable_is_127_with_message(podman: Podman) -> None:
    r = podman("run", "--rm", IMG, "nosuchcmd", check=False)
    assert r.returncode == 127, r
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr, r
    r = podman("run", "--rm", IMG, "/nonexistent/bin", check=False)
    assert r.returncode == 127, r
    assert "/nonexistent/bin" in r.stderr and "no such file or directory" in r.stderr, r


def test_not_executable_is_126_with_message(podman: Podman) -> None:
    r = podman("run", "--rm", IMG, "/etc/passwd", check=False)
    assert r.returncode == 126, r
    assert 'exec: "/etc/passwd": permission denied' in r.stderr, r


def test_error_reaches_podman_as_json_log(podman: Podman) -> None:
    """podman passes --log-format=json --log to the registered runtime; the error's last JSON
    record is what podman shows (not a traceback or conmon's capture)."""
    cid = podman("create", "--name", "e2e-jsonlog", IMG, "nosuchcmd").stdout.strip()
    r = podman("start", "e2e-jsonlog", check=False)
    assert r.returncode != 0, r
    assert "executable file not found in $PATH" in r.stderr, r
    oci_log = podman.runroot / "overlay-containers" / cid / "userdata" / "oci-log"
    assert oci_log.exists(), "the runtime got no --log (runtime_supports_json)"
    import json
    lines = [json.loads(x) for x in oci_log.read_text().splitlines() if x.strip()]
    assert lines and lines[-1]["level"] == "error", lines
    assert "executable file not found in $PATH" in lines[-1]["msg"], lines
    assert "Traceback" not in r.stderr, r


# --- terminals ----------------------------------------------------------------------------


def test_tty(podman: Podman) -> None:
    r = podman("run", "--rm", "-t", IMG, "sh", "-c",
               "test -t 0 && test -t 1 && tty", check=False)
    assert r.returncode == 0, r
    assert re.search(r"/dev/pts/\d+\r\n", r.stdout), r  # CRLF: the output went through a pty


def test_interactive_tty(podman: Podman) -> None:
    rc, out = podman.pty("run", "--rm", "-it", IMG, "sh", timeout=60,
                         send=[(b"# ", b"echo $((6*7)); tty\r"), (b"42", b"exit 5\r")])
    assert rc == 5, out
    assert b"42" in out and b"/dev/pts/" in out, out


def test_stdin_without_tty(podman: Podman) -> None:
    r = podman("run", "--rm", "-i", IMG, "sh", "-c", "tr a-z A-Z", input="piped\n")
    assert r.stdout == "PIPED\n", r


# --- detached lifecycle ----------------------------------------------------------------------


def test_detached_ps_logs_stop_rm(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-d", IMG, "sh", "-c",
           "trap 'echo got TERM; exit 0' TERM; echo started; while :; do sleep 0.1; done")
    podman.wait_running("e2e-d")
    wait_for(lambda: "started" in podman("logs", "e2e-d").stdout, what="log line")
    ps = podman("ps", "--format", "{{.Names}} {{.Status}}").stdout
    assert re.search(r"^e2e-d Up", ps, re.M), ps
    t0 = time.monotonic()
    podman("stop", "-t", "10", "e2e-d")
    assert time.monotonic() - t0 < 8, "SIGTERM should have stopped it at once"
    assert podman.inspect("e2e-d", "{{.State.ExitCode}}") == "0"
    assert "got TERM" in podman("logs", "e2e-d").stdout
    assert podman("ps", "-q").stdout == ""
    podman("rm", "e2e-d")
    assert podman("ps", "-aq").stdout == ""


def test_stop_escalates_to_sigkill(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-k", IMG, "sh", "-c",
           "trap '' TERM; echo ready; while :; do sleep 0.1; done")
    podman.wait_running("e2e-k")
    wait_for(lambda: "ready" in podman("logs", "e2e-k").stdout, what="trap installed")
    t0 = time.monotonic()
    podman("stop", "-t", "2", "e2e-k")
    took = time.monotonic() - t0
    assert took >= 1.9, took
    assert podman.inspect("e2e-k", "{{.State.ExitCode}}") == "137"


def test_kill_signals(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-sig", IMG, "sh", "-c",
           "trap 'echo got USR1' USR1; trap 'echo got HUP' HUP; echo ready; "
           "while :; do sleep 0.1; done")
    podman.wait_running("e2e-sig")
    wait_for(lambda: "ready" in podman("logs", "e2e-sig").stdout, what="traps installed")
    podman("kill", "-s", "USR1", "e2e-sig")
    wait_for(lambda: "got USR1" in podman("logs", "e2e-sig").stdout, what="USR1 trapped")
    podman("kill", "-s", "HUP", "e2e-sig")
    wait_for(lambda: "got HUP" in podman("logs", "e2e-sig").stdout, what="HUP trapped")
    assert podman.inspect("e2e-sig", "{{.State.Status}}") == "running"
    podman("kill", "-s", "KILL", "e2e-sig")
    wait_for(lambda: podman.inspect("e2e-sig", "{{.State.Status}}") == "exited",
             what="exit after SIGKILL")
    assert podman.inspect("e2e-sig", "{{.State.ExitCode}}") == "137"


def test_rm_force_running(podman: Podman) -> None:
    cid = podman("run", "-d", IMG, "sleep", "1000").stdout.strip()
    wait_for(lambda: podman.inspect(cid, "{{.State.Status}}") == "running")
    pid = podman.pid_of(cid)
    podman("rm", "-f", "-t", "0", cid)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), what="container process gone")
    assert podman.runtime.containers_under(podman.state) == []


# --- exec --------------------------------------------------------------------------------


def test_exec(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-x", "--env", "FOO=bar", IMG, "sleep", "1000")
    podman.wait_running("e2e-x")
    r = podman("exec", "e2e-x", "sh", "-c", "echo $FOO; id -u; pwd; test -t 0 || echo notty")
    assert r.stdout == "bar\n0\n/\nnotty\n", r
    r = podman("exec", "e2e-x", "sh", "-c", "exit 7", check=False)
    assert r.returncode == 7, r
    r = podman("exec", "-i", "e2e-x", "cat", input="via stdin\n")
    assert r.stdout == "via stdin\n", r
    r = podman("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "X=y", "e2e-x",
               "sh", "-c", 'echo "$(id -u):$(id -g) $PWD $X"')
    assert r.stdout == "1000:1000 /tmp y\n", r
    r = podman("exec", "e2e-x", "nosuchcmd", check=False)
    assert r.returncode == 127, r
    assert "executable file not found" in r.stderr, r
    # the container's PID 1 is untouched by the execs
    assert podman.inspect("e2e-x", "{{.State.Status}}") == "running"


def test_exec_tty(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-xt", IMG, "sleep", "1000")
    podman.wait_running("e2e-xt")
    r = podman("exec", "-t", "e2e-xt", "sh", "-c", "test -t 1 && tty")
    assert re.search(r"/dev/pts/\d+\r\n", r.stdout), r
    rc, out = podman.pty("exec", "-it", "e2e-xt", "sh",
                         send=[(b"# ", b"echo $((7*6))\r"), (b"42", b"exit 3\r")])
    assert rc == 3 and b"42" in out, out


# --- process settings --------------------------------------------------------------------


def test_env_workdir_user(podman: Podman) -> None:
    r = podman("run", "--rm", "--env", "A=1", "--env", "B=two words", "--workdir", "/tmp",
               "--user", "1000:1000", IMG, "sh", "-c",
               'echo "$A|$B|$PWD|$(id -u):$(id -g)|$HOME"')
    assert r.stdout == "1|two words|/tmp|1000:1000|/home/user\n", r
    r = podman("run", "--rm", "--user", "user", IMG, "id")
    assert r.stdout.startswith("uid=1000(user) gid=1000(user)"), r


def test_hostname(podman: Podman) -> None:
    r = podman("run", "--rm", "--hostname", "e2e-host", IMG, "hostname")
    assert r.stdout == "e2e-host\n", r
    cid = podman("run", "-d", IMG, "sleep", "1000").stdout.strip()
    r = podman("exec", cid, "hostname")
    assert r.stdout == cid[:12] + "\n", r


def test_init(podman: Podman) -> None:
    r = podman("run", "--rm", "--init", IMG, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; "
               "echo; echo $$")
    pid1, me = r.stdout.splitlines()
    assert "init" in pid1 or "catatonit" in pid1, r
    assert me != "1", r
    # the init forwards SIGTERM to its child, so stop is fast with no trap
    podman("run", "-d", "--init", "--name", "e2e-init", IMG, "sleep", "1000")
    podman.wait_running("e2e-init")
    t0 = time.monotonic()
    podman("stop", "-t", "10", "e2e-init")
    assert time.monotonic() - t0 < 8


# --- filesystem --------------------------------------------------------------------------


def test_read_only(podman: Podman) -> None:
    r = podman("run", "--rm", "--read-only", IMG, "sh", "-c",
               "touch /x 2>&1; echo rc=$?; touch /tmp/y && echo tmp-ok")
    assert "Read-only file system" in r.stdout and "rc=1" in r.stdout, r
    assert "tmp-ok" in r.stdout, r


def test_bind_mount(podman: Podman, tmp_path: Path) -> None:
    host = tmp_path / "data"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    r = podman("run", "--rm", "-v", f"{host}:/data", IMG, "sh", "-c",
               "cat /data/in.txt; echo from container > /data/out.txt")
    assert r.stdout == "from host\n", r
    assert (host / "out.txt").read_text() == "from container\n"
    r = podman("run", "--rm", "-v", f"{host}:/data:ro", IMG, "sh", "-c",
               "echo x > /data/ro.txt", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr, r
    assert not (host / "ro.txt").exists()


def test_tmpfs(podman: Podman) -> None:
    r = podman("run", "--rm", "--tmpfs", "/scratch:rw,size=1m,mode=1770", IMG, "sh", "-c",
               "grep ' /scratch ' /proc/mounts; stat -c %a /scratch; "
               "dd if=/dev/zero of=/scratch/f bs=1k count=2048 2>&1; echo rc=$?")
    assert re.search(r"^tmpfs /scratch tmpfs rw,.*size=1024k", r.stdout, re.M), r
    assert "\n1770\n" in r.stdout, r
    assert "No space left on device" in r.stdout, r


def test_device(podman: Podman) -> None:
    r = podman("run", "--rm", "--device", "/dev/zero:/dev/e2ezero", IMG, "sh", "-c",
               "ls -l /dev/e2ezero; head -c 4 /dev/e2ezero | od -An -tx1")
    assert re.search(r"^c.* 1,\s+5 .*/dev/e2ezero", r.stdout, re.M), r
    assert "00 00 00 00" in r.stdout, r
    # read-only access (":r"): the device cgroup refuses opening it for writing.
    # /dev/loop-control (10:237) is not among podman's default allowed devices.
    r = podman("run", "--rm", "--device", "/dev/loop-control:/dev/e2elc:r", IMG, "sh", "-c",
               ": < /dev/e2elc && echo read-ok; : > /dev/e2elc", check=False)
    assert "read-ok" in r.stdout, r
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r


# --- resources ---------------------------------------------------------------------------


def test_memory_cpus_pids_limits(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-res", "--memory", "64m", "--cpus", "0.5",
           "--pids-limit", "20", IMG, "sleep", "1000")
    podman.wait_running("e2e-res")
    r = podman("exec", "e2e-res", "sh", "-c",
               "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
               "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us "
               "/sys/fs/cgroup/pids/pids.max")
    assert r.stdout.split() == [str(64 << 20), "50000", "100000", "20"], r
    # the same values on the host, in the cgroup the container's process is in
    pid = podman.pid_of("e2e-res")
    assert (cgroup_of(pid, "memory") / "memory.limit_in_bytes").read_text().strip() == \
        str(64 << 20)
    assert (cgroup_of(pid, "pids") / "pids.max").read_text().strip() == "20"
    assert f"libpod-{podman.inspect('e2e-res', '{{.Id}}')}" in str(cgroup_of(pid, "memory"))
    # the pids limit is enforced: fork fails past 20
    r = podman("run", "--rm", "--pids-limit", "20", IMG, "sh", "-c",
               "for i in $(seq 30); do sleep 100 & done 2>&1; echo done", check=False)
    assert "can't fork" in r.stdout or "Resource temporarily unavailable" in r.stdout, r


def test_exec_joins_container_cgroups(podman: Podman) -> None:
    """An exec'd process is in the container's cgroups (limits, freezer, stats apply)."""
    podman("run", "-d", "--name", "e2e-xcg", "--pids-limit", "20", IMG, "sleep", "1000")
    podman.wait_running("e2e-xcg")
    r = podman("exec", "e2e-xcg", "sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup")
    mine, pid1 = r.stdout.split("--\n")
    assert mine == pid1, r
    # pause freezes exec'd processes too
    podman("exec", "-d", "e2e-xcg", "sleep", "777")

    def exec_hpid() -> int | None:
        for line in podman("top", "e2e-xcg", "hpid", "args").stdout.splitlines()[1:]:
            if "sleep 777" in line:
                return int(line.split()[0])
        return None

    hpid = wait_for(exec_hpid, what="the exec'd sleep")
    podman("pause", "e2e-xcg")
    try:
        state = Path(f"/proc/{hpid}/status").read_text().split("State:")[1].split()[0]
        assert state == "D", f"exec'd process {hpid} not frozen: state {state}"
    finally:
        podman("unpause", "e2e-xcg")
    # the pids limit counts exec'd processes
    r = podman("exec", "e2e-xcg", "sh", "-c",
               "for i in $(seq 30); do sleep 100 & done 2>&1; echo done", check=False)
    assert "can't fork" in r.stdout or "Resource temporarily unavailable" in r.stdout, r


def test_memory_limit_oom_kills(podman: Podman) -> None:
    r = podman("run", "--rm", "--memory", "16m", "--memory-swap", "16m", IMG, "sh", "-c",
               "x=$(head -c 64m /dev/zero | tr '\\0' a); echo survived", check=False,
               timeout=60)
    assert r.returncode == 137, r
    assert "survived" not in r.stdout, r


def test_update(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-up", "--memory", "64m", IMG, "sleep", "1000")
    podman.wait_running("e2e-up")
    podman("update", "--memory", "96m", "--cpus", "0.25", "e2e-up")  # 4.3: no --pids-limit
    pid = podman.pid_of("e2e-up")
    assert (cgroup_of(pid, "memory") / "memory.limit_in_bytes").read_text().strip() == \
        str(96 << 20)
    assert (cgroup_of(pid, "cpu") / "cpu.cfs_quota_us").read_text().strip() == "25000"
    assert podman.inspect("e2e-up", "{{.State.Status}}") == "running"


def test_top_and_stats(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-top", IMG, "sleep", "1000")
    podman.wait_running("e2e-top")
    top = podman("top", "e2e-top").stdout
    assert re.search(r"sleep 1000", top), top
    stats = podman("stats", "--no-stream", "--format",
                   "{{.Name}} {{.MemUsage}} {{.PIDs}}", "e2e-top", timeout=60).stdout
    m = re.search(r"^e2e-top (\S+) / (\S+) (\d+)$", stats.strip(), re.M)
    assert m, stats
    assert m.group(1) not in ("0B", "--"), stats
    assert int(m.group(3)) >= 1, stats


# --- security ----------------------------------------------------------------------------


def test_cap_add_drop(podman: Podman) -> None:
    base = podman("run", "--rm", IMG, "cat", "/proc/self/status").stdout
    eff = status_caps(base, "CapEff")
    assert eff >> CAP_CHOWN & 1 and not eff >> CAP_NET_ADMIN & 1, hex(eff)
    st = podman("run", "--rm", "--cap-drop", "CHOWN", "--cap-add", "NET_ADMIN", IMG,
                "cat", "/proc/self/status").stdout
    eff2 = status_caps(st, "CapEff")
    assert eff2 == (eff & ~(1 << CAP_CHOWN)) | (1 << CAP_NET_ADMIN), (hex(eff), hex(eff2))
    assert status_caps(st, "CapBnd") == eff2
    r = podman("run", "--rm", "--cap-drop", "CHOWN", IMG, "chown", "1000", "/tmp",
               check=False)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
    r = podman("run", "--rm", "--cap-drop", "all", "--user", "0", IMG, "sh", "-c",
               "grep CapEff /proc/self/status")
    assert r.stdout.split() == ["CapEff:", "0000000000000000"], r


def test_seccomp_default_profile(podman: Podman) -> None:
    r = podman("run", "--rm", IMG, "grep", "Seccomp:", "/proc/self/status")
    assert r.stdout.split() == ["Seccomp:", "2"], r
    # swapoff is not in the default profile: EPERM from the filter even with CAP_SYS_ADMIN
    r = podman("run", "--rm", "--cap-add", "SYS_ADMIN", IMG, "swapoff", "/nonexistent",
               check=False)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
    r = podman("run", "--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
               IMG, "swapoff", "/nonexistent", check=False)
    assert "No such file or directory" in r.stderr, r
    r = podman("run", "--rm", "--security-opt", "seccomp=unconfined", IMG,
               "grep", "Seccomp:", "/proc/self/status")
    assert r.stdout.split() == ["Seccomp:", "0"], r


# --- pause, restart ----------------------------------------------------------------------


def test_pause_unpause(podman: Podman, tmp_path: Path) -> None:
    tick = tmp_path / "tick"
    tmp_path.chmod(0o777)
    podman("run", "-d", "--name", "e2e-p", "-v", f"{tmp_path}:/out", IMG, "sh", "-c",
           "i=0; while :; do i=$((i+1)); echo $i > /out/tick; sleep 0.05; done")
    podman.wait_running("e2e-p")
    wait_for(lambda: tick.exists() and tick.read_text().strip(), what="counter")
    podman("pause", "e2e-p")
    assert podman.inspect("e2e-p", "{{.State.Status}}") == "paused"
    time.sleep(0.3)
    frozen = tick.read_text()
    time.sleep(0.5)
    assert tick.read_text() == frozen, "counter moved while paused"
    pid = podman.pid_of("e2e-p")
    assert (cgroup_of(pid, "freezer") / "freezer.state").read_text().strip() == "FROZEN"
    podman("unpause", "e2e-p")
    assert podman.inspect("e2e-p", "{{.State.Status}}") == "running"
    wait_for(lambda: tick.read_text() != frozen, what="counter to move again")


def test_restart(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-rs", IMG, "sleep", "1000")
    podman.wait_running("e2e-rs")
    pid1 = podman.pid_of("e2e-rs")
    podman("restart", "-t", "1", "e2e-rs")
    podman.wait_running("e2e-rs")
    pid2 = podman.pid_of("e2e-rs")
    assert pid2 != pid1 and pid2 > 0
    assert not Path(f"/proc/{pid1}").exists() or \
        "sleep" not in Path(f"/proc/{pid1}/cmdline").read_text(errors="replace")
    # an exited container restarts too
    podman("stop", "-t", "0", "e2e-rs")
    podman("restart", "e2e-rs")
    podman.wait_running("e2e-rs")


def test_restart_policy(podman: Podman) -> None:
    podman("run", "-d", "--name", "e2e-rp", "--restart", "on-failure:2", IMG, "sh", "-c",
           "echo run; exit 1")
    wait_for(lambda: podman("logs", "e2e-rp").stdout.count("run") == 3 and
             podman.inspect("e2e-rp", "{{.State.Status}}") == "exited", timeout=40,
             what="two restarts")
    assert podman.inspect("e2e-rp", "{{.RestartCount}}") == "2"
    assert podman.inspect("e2e-rp", "{{.State.ExitCode}}") == "1"


# --- build (buildah) ---------------------------------------------------------------------


def test_build_dockerfile_with_run_steps(podman: Podman, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "greeting.txt").write_text("hi from the context\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {IMG}\n"
        "COPY greeting.txt /greeting.txt\n"
        "RUN echo built > /built.txt && id -u >> /built.txt\n"
        'RUN ["sh", "-c", "cat /greeting.txt >> /built.txt; test -f /built.txt"]\n'
        "ENV STAGE=final\n"
        "WORKDIR /work\n"
        "RUN pwd > /work/where && echo $STAGE >> /work/where\n"
        'CMD ["sh", "-c", "cat /built.txt /work/where"]\n')
    try:
        r = podman("build", "--network", "none", "-t", "localhost/e2e/built", str(ctx),
                   timeout=120)
        assert "Successfully tagged localhost/e2e/built:latest" in r.stdout, r
        r = podman("run", "--rm", "localhost/e2e/built")
        assert r.stdout == "built\n0\nhi from the context\n/work\nfinal\n", r
        # a failing RUN step fails the build with its exit code
        (ctx / "Dockerfile").write_text(f"FROM {IMG}\nRUN exit 3\n")
        r = podman("build", "--network", "none", "-t", "localhost/e2e/bad", str(ctx),
                   check=False, timeout=120)
        assert r.returncode != 0 and "exit status 3" in r.stderr, r
    finally:
        podman("rmi", "-f", "localhost/e2e/built", check=False)


def test_buildah_run(podman: Podman) -> None:
    """buildah itself (from, run, rm) with the runtime under test."""
    import shutil
    if shutil.which("buildah") is None:
        pytest.skip("needs buildah")

    def buildah(*a: str, check: bool = True) -> object:
        return run(["buildah", *a], env=podman.env, cwd=podman.state, check=check)

    name = buildah("from", "--pull-never", IMG).stdout.strip()
    try:
        r = buildah("run", "--runtime", str(podman.runtime.path), "--network", "none", name,
                    "--", "sh", "-c", "echo in buildah; id -u")
        assert r.stdout == "in buildah\n0\n", r
        r = buildah("run", "--runtime", str(podman.runtime.path), "--network", "none", name,
                    "--", "sh", "-c", "exit 6", check=False)
        assert r.returncode != 0, r
    finally:
        buildah("rm", name, check=False)


# --- sanity: nothing left on the host after a container ---------------------------------


def test_no_leftovers_after_run(podman: Podman) -> None:
    cid = podman("run", "-d", IMG, "sleep", "1000").stdout.strip()
    wait_for(lambda: podman.inspect(cid, "{{.State.Status}}") == "running")
    pid = podman.pid_of(cid)
    cg = cgroup_of(pid, "memory")
    assert podman.runtime.containers_under(podman.state), "runtime list shows the container"
    podman("rm", "-f", "-t", "0", cid)
    wait_for(lambda: not cg.exists(), what=f"cgroup {cg} removed")
    assert podman.runtime.containers_under(podman.state) == []
    merged = [m for m in open("/proc/self/mountinfo").read().split("\n") if cid in m]
    assert merged == [], merged
    assert os.path.exists(f"/proc/{pid}") is False


# --- beyond the list: other everyday options ------------------------------------


def test_create_start_attach_wait(podman: Podman) -> None:
    podman("create", "--name", "e2e-csa", IMG, "sh", "-c", "echo once; exit 4")
    r = podman("start", "-a", "e2e-csa", check=False)
    assert r.returncode == 4 and r.stdout == "once\n", r
    assert podman("wait", "e2e-csa").stdout.strip() == "4"
    r = podman("start", "-a", "e2e-csa", check=False)  # an exited container starts again
    assert r.returncode == 4 and r.stdout == "once\n", r


def test_exec_detached_cp_commit(podman: Podman, tmp_path: Path) -> None:
    podman("run", "-d", "--name", "e2e-cc", IMG, "sleep", "1000")
    podman.wait_running("e2e-cc")
    podman("exec", "-d", "e2e-cc", "sh", "-c", "echo bg > /tmp/bg")
    wait_for(lambda: podman("exec", "e2e-cc", "cat", "/tmp/bg", check=False).stdout == "bg\n",
             what="detached exec output")
    podman("cp", "e2e-cc:/tmp/bg", str(tmp_path / "bg"))
    assert (tmp_path / "bg").read_text() == "bg\n"
    # commit --pause pauses and resumes the container through the runtime
    podman("commit", "--pause=true", "e2e-cc", "localhost/e2e/committed")
    try:
        assert podman.inspect("e2e-cc", "{{.State.Status}}") == "running"
        r = podman("run", "--rm", "localhost/e2e/committed", "cat", "/tmp/bg")
        assert r.stdout == "bg\n", r
    finally:
        podman("rmi", "-f", "localhost/e2e/committed", check=False)
    r = podman("exec", "--privileged", "e2e-cc", "grep", "CapEff", "/proc/self/status")
    assert r.stdout.split()[1] != "00000000a80425fb", r


def test_privileged(podman: Podman) -> None:
    r = podman("run", "--rm", "--privileged", IMG, "sh", "-c",
               "grep -E 'CapEff|Seccomp:' /proc/self/status; test -e /dev/loop-control && "
               "echo host-devices")
    host_bnd = status_caps(Path("/proc/self/status").read_text(), "CapBnd")
    assert status_caps(r.stdout, "CapEff") == host_bnd, r
    assert re.search(r"^Seccomp:\s+0$", r.stdout, re.M) and "host-devices" in r.stdout, r


def _uidmap_run(podman: Podman, host_dir: Path) -> None:
    host_dir.chmod(0o777)
    r = podman("run", "--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536",
               "-v", f"{host_dir}:/out", IMG, "sh", "-c",
               "cat /proc/self/uid_map; id -u; touch /out/f")
    assert r.stdout.split() == ["0", "100000", "65536", "0"], r
    assert (host_dir / "f").stat().st_uid == 100000


def test_uidmap(podman: Podman) -> None:
    d = podman.state / "uidmap-out"  # every parent is 0755
    d.mkdir()
    _uidmap_run(podman, d)


def test_uidmap_bind_source_below_private_dir(podman: Podman, tmp_path: Path) -> None:
    """The bind source's parents are 0700 root (pytest's tmp dir): container root (uid 100000
    on the host) can not reach it, so the runtime must open it before joining the user
    namespace (runc 1.1 does: mount fds from nsexec)."""
    d = tmp_path / "out"
    d.mkdir()
    _uidmap_run(podman, d)


def test_namespaces_options(podman: Podman) -> None:
    r = podman("run", "--rm", "--cgroupns", "private", IMG, "grep", "memory", "/proc/self/cgroup")
    assert r.stdout.strip().endswith(":memory:/"), r
    r = podman("run", "--rm", "--pid", "host", IMG, "sh", "-c", "test $$ != 1 && echo host-pid")
    assert r.stdout == "host-pid\n", r
    r = podman("run", "--rm", "--network", "host", IMG, "ls", "/sys/class/net")
    assert sorted(r.stdout.split()) == sorted(os.listdir("/sys/class/net")), r


def test_named_volume_and_ulimit(podman: Podman) -> None:
    podman("volume", "create", "e2evol")
    try:
        podman("run", "--rm", "-v", "e2evol:/vol", IMG, "sh", "-c", "echo kept > /vol/f")
        r = podman("run", "--rm", "-v", "e2evol:/vol", IMG, "cat", "/vol/f")
        assert r.stdout == "kept\n", r
    finally:
        podman("volume", "rm", "-f", "e2evol", check=False)
    r = podman("run", "--rm", "--ulimit", "nofile=1000:1000", "--ulimit", "nproc=500:500", IMG,
               "sh", "-c", "ulimit -n; ulimit -u")
    assert r.stdout.split() == ["1000", "500"], r


def test_parallel_runs(podman: Podman) -> None:
    import subprocess
    procs = [subprocess.Popen(["podman", "--runtime", podman.runtime.name, "run", "--rm", IMG,
                               "sh", "-c", f"echo par{i}; exit {i}"], env=podman.env,
                              cwd=podman.state, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL)
             for i in range(6)]
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=60)
        assert p.returncode == i and out == f"par{i}\n".encode(), (i, out, err)
