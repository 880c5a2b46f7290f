"""containerd 1.6 (runc shim v2) driving the runtime under test: issue 6 scenarios.

A private containerd (own root, state, sockets and namespace; started with ``env -i`` so the
shim and the runtime get a minimal environment) runs the busybox image imported from the
locally built OCI archive. ``ctr run --runc-binary`` sets the shim's ``BinaryName`` option;
``--runc-root`` keeps the runtime's state private.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from .engines import Containerd, cgroup_of, wait_for

IMG = "localhost/e2e/busybox:latest"


def test_run_rm_leaves_nothing(ctr: Containerd) -> None:
    r = ctr("run", "--rm", *ctr.run_args(), IMG, "e2e-rm", "echo", "hello from e2e")
    assert r.stdout == "hello from e2e\n", r
    assert ctr("container", "ls", "-q").stdout == ""
    assert ctr("snapshot", "ls").stdout.count("\n") <= 2  # header + the image's layer
    assert not ctr.bundle("e2e-rm").exists()
    assert ctr.runtime.containers_under(ctr.state, ctr.runc_root / ctr.ns) == []


def test_exit_codes(ctr: Containerd) -> None:
    for code in (0, 3, 255):
        r = ctr("run", "--rm", *ctr.run_args(), IMG, f"e2e-ec{code}", "sh", "-c",
                f"echo out; echo err >&2; exit {code}", check=False)
        assert r.returncode == code, r
        assert r.stdout == "out\n" and "err" in r.stderr, r


def test_failed_create_reports_runtime_error(ctr: Containerd) -> None:
    r = ctr("run", "--rm", *ctr.run_args(), IMG, "e2e-bad", "nosuchcmd", check=False)
    assert r.returncode != 0, r
    assert "OCI runtime create failed" in r.stderr, r
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr, r
    assert "Traceback" not in r.stderr, r
    r = ctr("run", "--rm", *ctr.run_args(), IMG, "e2e-bad2", "/etc/passwd", check=False)
    assert r.returncode != 0 and "permission denied" in r.stderr, r
    # the failed create left no runtime state and no task
    assert ctr.runtime.containers_under(ctr.state, ctr.runc_root / ctr.ns) == []
    assert ctr.tasks() == {}


def test_tty(ctr: Containerd) -> None:
    rc, out = ctr.pty("run", "--rm", "-t", *ctr.run_args(), IMG, "e2e-tty", "sh", "-c",
                      "test -t 0 && test -t 1 && tty && exit 4")
    assert rc == 4, out
    assert re.search(rb"/dev/pts/\d+\r+\n", out), out  # the pty made the CR


def test_interactive_tty(ctr: Containerd) -> None:
    rc, out = ctr.pty("run", "--rm", "-t", *ctr.run_args(), IMG, "e2e-itty", "sh",
                      send=[(b"# ", b"echo $((6*7))\r"), (b"42", b"exit 5\r")])
    assert rc == 5, out
    assert b"42" in out, out


def test_detached_task_and_exec(ctr: Containerd) -> None:
    ctr("run", "-d", *ctr.run_args(), "--env", "FOO=bar", IMG, "e2e-d", "sleep", "1000")
    ctr.wait_status("e2e-d", "RUNNING")
    fifo = ["--fifo-dir", str(ctr.fifo)]
    r = ctr("task", "exec", *fifo, "--exec-id", "x1", "e2e-d", "sh", "-c",
            "echo $FOO; id -u; pwd")
    assert r.stdout == "bar\n0\n/\n", r
    r = ctr("task", "exec", *fifo, "--exec-id", "x2", "e2e-d", "sh", "-c", "exit 7",
            check=False)
    assert r.returncode == 7, r
    r = ctr("task", "exec", *fifo, "--exec-id", "x3", "--user", "1000", "--cwd", "/tmp",
            "e2e-d", "sh", "-c", 'echo "$(id -u) $PWD"')
    assert r.stdout == "1000 /tmp\n", r
    r = ctr("task", "exec", *fifo, "--exec-id", "x4", "e2e-d", "nosuchcmd", check=False)
    assert r.returncode != 0 and "executable file not found" in r.stderr, r
    # the exec id can be reused once the earlier exec is gone
    r = ctr("task", "exec", *fifo, "--exec-id", "x1", "e2e-d", "true")
    assert r.returncode == 0, r
    assert ctr.task_status("e2e-d") == "RUNNING"


def test_exec_joins_container_cgroups(ctr: Containerd) -> None:
    ctr("run", "-d", *ctr.run_args(), IMG, "e2e-xcg", "sleep", "1000")
    ctr.wait_status("e2e-xcg", "RUNNING")
    r = ctr("task", "exec", "--fifo-dir", str(ctr.fifo), "--exec-id", "c1", "e2e-xcg",
            "sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup")
    mine, pid1 = r.stdout.split("--\n")
    assert mine == pid1, r


def test_exec_tty(ctr: Containerd) -> None:
    ctr("run", "-d", *ctr.run_args(), IMG, "e2e-xt", "sleep", "1000")
    ctr.wait_status("e2e-xt", "RUNNING")
    rc, out = ctr.pty("task", "exec", "-t", "--fifo-dir", str(ctr.fifo), "--exec-id", "t1",
                      "e2e-xt", "sh", send=[(b"# ", b"tty; echo $((7*6))\r"),
                                            (b"42", b"exit 3\r")])
    assert rc == 3, out
    assert b"42" in out and b"/dev/pts/" in out, out


def _foreground(ctr: Containerd, cid: str, script: str) -> subprocess.Popen:
    """ctr run in the foreground (its exit status is the task's), started in the background."""
    p = subprocess.Popen(ctr.ctr_argv("run", "--rm", *ctr.run_args(), IMG, cid, "sh", "-c",
                                      script),
                         env=ctr.env, cwd=ctr.state, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ctr.wait_status(cid, "RUNNING")
    except BaseException:
        p.kill()
        p.wait()
        raise
    return p


def test_kill_sigterm_trapped(ctr: Containerd) -> None:
    p = _foreground(ctr, "e2e-term", "trap 'echo got TERM; exit 0' TERM; echo ready; "
                    "while :; do sleep 0.1; done")
    try:
        time.sleep(0.5)  # the trap is installed before "ready" is printed
        ctr("task", "kill", "-s", "SIGTERM", "e2e-term")
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, (out, err)
        assert b"got TERM" in out, out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_kill_sigkill_and_all(ctr: Containerd) -> None:
    p = _foreground(ctr, "e2e-kill", "trap '' TERM; sleep 1000 & sleep 1000 & "
                    "while :; do sleep 0.1; done")
    try:
        time.sleep(0.3)
        ctr("task", "kill", "-s", "SIGTERM", "e2e-kill")
        time.sleep(0.5)
        assert ctr.task_status("e2e-kill") == "RUNNING", "TERM is ignored by the trap"
        ctr("task", "kill", "--all", "-s", "SIGKILL", "e2e-kill")
        p.communicate(timeout=20)
        assert p.returncode == 137, p.returncode
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_ps(ctr: Containerd) -> None:
    ctr("run", "-d", *ctr.run_args(), IMG, "e2e-ps", "sh", "-c",
        "sleep 1000 & sleep 1000 & wait")
    ctr.wait_status("e2e-ps", "RUNNING")
    init_pid = ctr.tasks()["e2e-ps"][0]

    def pids() -> list[int]:
        out = ctr("task", "ps", "e2e-ps").stdout.splitlines()[1:]
        return [int(line.split()[0]) for line in out if line.strip()]

    got = wait_for(lambda: (lambda p: p if len(p) == 3 else None)(pids()), 10,
                   what="three processes")
    assert init_pid in got, got
    for pid in got:
        assert Path(f"/proc/{pid}").exists()


def test_pause_resume(ctr: Containerd, tmp_path: Path) -> None:
    tick = tmp_path / "tick"
    ctr("run", "-d", *ctr.run_args(), "--mount",
        f"type=bind,src={tmp_path},dst=/out,options=rbind:rw", IMG, "e2e-p", "sh", "-c",
        "i=0; while :; do i=$((i+1)); echo $i > /out/tick; sleep 0.05; done")
    ctr.wait_status("e2e-p", "RUNNING")
    wait_for(lambda: tick.exists() and tick.read_text().strip(), what="counter")
    ctr("task", "pause", "e2e-p")
    assert ctr.task_status("e2e-p") == "PAUSED"
    st = json.loads(ctr.runtime("state", "e2e-p", root=ctr.runc_root / ctr.ns,
                                check=True).stdout)
    assert st["status"] == "paused", st
    time.sleep(0.3)
    frozen = tick.read_text()
    time.sleep(0.5)
    assert tick.read_text() == frozen, "counter moved while paused"
    ctr("task", "resume", "e2e-p")
    assert ctr.task_status("e2e-p") == "RUNNING"
    wait_for(lambda: tick.read_text() != frozen, what="counter to move again")


def test_metrics(ctr: Containerd) -> None:
    ctr("run", "-d", *ctr.run_args(), "--memory-limit", str(64 << 20), IMG, "e2e-m",
        "sh", "-c", "sleep 1000 & wait")
    ctr.wait_status("e2e-m", "RUNNING")
    m = json.loads(ctr("task", "metrics", "--format", "json", "e2e-m").stdout)
    data = m.get("Data") or m.get("data") or m
    text = json.dumps(data)
    assert str(64 << 20) in text, m  # the memory limit
    pids = data.get("pids") or data.get("Pids")
    assert pids and (pids.get("current") or pids.get("Current")) >= 2, m
    mem = data.get("memory") or data.get("Memory")
    usage = (mem.get("usage") or mem.get("Usage"))
    assert (usage.get("usage") or usage.get("Usage")) > 0, m
    table = ctr("task", "metrics", "e2e-m").stdout
    assert "memory.usage_in_bytes" in table and "pids.current" in table, table


def test_resource_limits_in_cgroup(ctr: Containerd) -> None:
    ctr("run", "-d", *ctr.run_args(), "--memory-limit", str(48 << 20), "--cpus", "0.5",
        IMG, "e2e-lim", "sleep", "1000")
    ctr.wait_status("e2e-lim", "RUNNING")
    pid = ctr.tasks()["e2e-lim"][0]
    mem = cgroup_of(pid, "memory")
    assert mem.name == "e2e-lim" and mem.parent.name == ctr.ns, mem
    assert (mem / "memory.limit_in_bytes").read_text().strip() == str(48 << 20)
    assert (cgroup_of(pid, "cpu") / "cpu.cfs_quota_us").read_text().strip() == "50000"


def test_delete(ctr: Containerd) -> None:
    ctr("run", "-d", *ctr.run_args(), IMG, "e2e-del", "sh", "-c", "exit 9")
    wait_for(lambda: ctr.task_status("e2e-del") == "STOPPED", what="task to exit")
    r = ctr("task", "delete", "e2e-del", check=False)
    assert "exit code 9" in r.stderr, r
    assert "e2e-del" not in ctr.tasks()
    ctr("run", "-d", *ctr.run_args(), IMG, "e2e-del2", "sleep", "1000")
    ctr.wait_status("e2e-del2", "RUNNING")
    r = ctr("task", "delete", "e2e-del2", check=False)
    assert r.returncode != 0, "deleting a running task must be refused"
    assert ctr.task_status("e2e-del2") == "RUNNING"
    pid = ctr.tasks()["e2e-del2"][0]
    ctr("task", "delete", "-f", "e2e-del2")
    assert "e2e-del2" not in ctr.tasks()
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), what="process gone")
    for cid in ("e2e-del", "e2e-del2"):
        ctr("container", "delete", cid)
        assert not ctr.bundle(cid).exists()
    assert ctr.runtime.containers_under(ctr.state, ctr.runc_root / ctr.ns) == []


def test_binary_name_option(ctr: Containerd) -> None:
    """ctr's --runc-binary is the shim's BinaryName option: recorded and used for every call."""
    ctr("run", "-d", *ctr.run_args(), IMG, "e2e-bn", "sleep", "1000")
    ctr.wait_status("e2e-bn", "RUNNING")
    opts = json.loads((ctr.bundle("e2e-bn") / "options.json").read_text())
    assert opts.get("binary_name") == str(ctr.runtime.path), opts
    assert (ctr.bundle("e2e-bn") / "runtime").read_text() == str(ctr.runtime.path)
    # the runtime under test holds the container (its own state root)
    st = json.loads(ctr.runtime("state", "e2e-bn", root=ctr.runc_root / ctr.ns,
                                check=True).stdout)
    assert st["status"] == "running" and st["pid"] == ctr.tasks()["e2e-bn"][0], st


def test_container_create_task_start_uses_path_runtime(ctr: Containerd) -> None:
    """No BinaryName: the shim runs `runc` from containerd's PATH (-> the runtime under test)."""
    ctr("container", "create", IMG, "e2e-cc", "--", "sh", "-c", "echo from path runtime")
    r = ctr("task", "start", "--fifo-dir", str(ctr.fifo), "e2e-cc")
    assert r.stdout == "from path runtime\n", r
    ctr("task", "delete", "e2e-cc", check=False)
    ctr("container", "delete", "e2e-cc")
    ctr("container", "create", IMG, "e2e-cc2", "--", "sleep", "1000")
    ctr("task", "start", "-d", "--fifo-dir", str(ctr.fifo), "e2e-cc2")
    ctr.wait_status("e2e-cc2", "RUNNING")
    # the runtime under test holds it, in its default root for containerd
    st = json.loads(ctr.runtime("state", "e2e-cc2", root=ctr.default_runc_root,
                                check=True).stdout)
    assert st["status"] == "running" and st["pid"] == ctr.tasks()["e2e-cc2"][0], st


def test_env_cwd_readonly_mounts(ctr: Containerd, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("host data\n")
    r = ctr("run", "--rm", *ctr.run_args(), "--env", "A=1", "--cwd", "/tmp", "--read-only",
            "--mount", f"type=bind,src={tmp_path},dst=/data,options=rbind:rw",
            IMG, "e2e-misc", "sh", "-c",
            'echo "$A $PWD"; cat /data/in.txt; echo out > /data/out.txt; '
            "touch /x 2>/dev/null || echo ro")
    assert r.stdout == "1 /tmp\nhost data\nro\n", r
    assert (tmp_path / "out.txt").read_text() == "out\n"


# --- beyond the list: security and namespace options --------------------------------


def test_seccomp_caps_privileged(ctr: Containerd) -> None:
    r = ctr("run", "--rm", *ctr.run_args(), IMG, "e2e-nosec", "grep", "Seccomp:",
            "/proc/self/status")
    assert r.stdout.split() == ["Seccomp:", "0"], r  # ctr: no seccomp unless asked
    r = ctr("run", "--rm", *ctr.run_args(), "--seccomp", "--cap-add", "CAP_SYS_ADMIN", IMG,
            "e2e-sec", "sh", "-c", "grep Seccomp: /proc/self/status; swapoff /nonexistent",
            check=False)
    assert "Seccomp:\t2" in r.stdout and "Operation not permitted" in r.stderr, r
    r = ctr("run", "--rm", *ctr.run_args(), "--cap-drop", "CAP_CHOWN", IMG, "e2e-cap",
            "chown", "1", "/tmp", check=False)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
    r = ctr("run", "--rm", *ctr.run_args(), "--privileged", IMG, "e2e-priv", "sh", "-c",
            "grep CapEff /proc/self/status; test -e /dev/loop-control && echo host-devices")
    host_bnd = re.search(r"^CapBnd:\s*(\S+)", Path("/proc/self/status").read_text(), re.M)
    assert r.stdout.split()[:2] == ["CapEff:", host_bnd.group(1)], r
    assert "host-devices" in r.stdout, r


def test_device_and_host_network(ctr: Containerd) -> None:
    r = ctr("run", "--rm", *ctr.run_args(), "--device", "/dev/loop-control", IMG, "e2e-dev",
            "ls", "-l", "/dev/loop-control")
    assert re.search(r"^c.* 10,\s+237 ", r.stdout), r
    r = ctr("run", "--rm", *ctr.run_args(), IMG, "e2e-net", "sh", "-c", "ls /sys/class/net")
    assert r.stdout.split() == ["lo"], r
    r = ctr("run", "--rm", *ctr.run_args(), "--net-host", IMG, "e2e-hnet", "sh", "-c",
            "ls /sys/class/net")
    assert len(r.stdout.split()) > 1, r
