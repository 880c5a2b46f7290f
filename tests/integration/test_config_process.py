"""``process`` of config.json, checked from inside the container (config.md#process).

Every test runs a busybox shell in a container and compares what the kernel reports
(``/proc/<pid>/{cmdline,environ,status,limits}``, ``umask``, ``pwd`` …) with the config.
The same tests pass on ``RUNTIME=/usr/bin/runc`` unless marked otherwise.
"""

from __future__ import annotations

import os
import signal

import pytest
from _probe import (
    ALL_CAPS,
    cap_mask,
    config,
    host_has_cap,
    ok,
    parse_limits,
    parse_status,
    runc_lacks,
    sh,
    unquote_log,
)


def _fields(text: str, key: str) -> list[str]:
    return parse_status(text)[key].split()


# --- args, env, cwd ---------------------------------------------------------------------


def test_args_exactly(rt, make_bundle, cid):
    """config.md#process args: argv of the container process is exactly ``process.args``."""
    args = ["sh", "-c", "tr '\\0' '\\n' < /proc/$$/cmdline; exit 0",
            "zero", "a b", "", "*", "$HOME"]
    b = make_bundle(args=args)
    out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
    assert out.split("\n")[:-1] == args


def test_env_exactly(rt, make_bundle, cid):
    """config.md#process env: the environment is exactly ``process.env`` (nothing inherited)."""
    env = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "WITH_EQ=a=b", "HOME=/custom"]
    p = sh(rt, make_bundle, cid, "tr '\\0' '\\n' < /proc/$$/environ; exit 0", env=env)
    assert ok(p).split("\n")[:-1] == env


@pytest.mark.parametrize("uid,home", [(0, "/root"), (1000, "/home/user"), (4242, "/")])
def test_env_home_from_passwd(rt, make_bundle, cid, uid, home):
    """config.md#process env + runc setupUser: HOME comes from the image's /etc/passwd when
    unset (``/`` for a uid without an entry); the rest of env is unchanged."""
    env = ["PATH=/bin", "A=1"]
    p = sh(rt, make_bundle, cid, "tr '\\0' '\\n' < /proc/$$/environ; exit 0", env=env,
           user={"uid": uid, "gid": uid})
    assert ok(p).split("\n")[:-1] == env + [f"HOME={home}"]


def test_cwd_existing(rt, make_bundle, cid):
    """config.md#process cwd: the process starts in ``cwd``."""
    assert ok(sh(rt, make_bundle, cid, "pwd", cwd="/etc")) == "/etc\n"


def test_cwd_created_if_missing(rt, make_bundle, cid):
    """config.md#process cwd (runc prepareRootfs): a missing cwd is created (0755, root)."""
    p = sh(rt, make_bundle, cid, "pwd; stat -c '%a %u %g' .", own_rootfs=True,
           cwd="/does/not/exist")
    assert ok(p).split("\n")[:2] == ["/does/not/exist", "755 0 0"]


def test_args0_resolved_through_env_path(rt, make_bundle, cid):
    """config.md#process args[0]: a bare name is looked up in ``PATH`` from ``process.env``."""
    b = make_bundle(args=["busybox", "echo", "via-path"], env=["PATH=/nowhere:/bin"])
    assert ok(rt("run", "--bundle", str(b), cid, timeout=30)) == "via-path\n"


def test_args0_relative_to_cwd(rt, make_bundle, cid):
    """config.md#process args[0]: a relative path with a slash resolves against ``cwd``."""
    b = make_bundle(args=["./busybox", "echo", "relative"], cwd="/bin", env=["PATH=/nowhere"])
    assert ok(rt("run", "--bundle", str(b), cid, timeout=30)) == "relative\n"


def test_args0_not_found(rt, make_bundle, cid):
    """config.md#process args[0]: a name not in PATH fails create with Go's LookPath error."""
    b = make_bundle(args=["no-such-binary"], env=["PATH=/bin"])
    p = rt("run", "--bundle", str(b), cid, timeout=30)
    assert p.returncode != 0
    assert 'exec: "no-such-binary": executable file not found in $PATH' in unquote_log(p.stderr)
    assert rt("state", cid).returncode != 0


# --- user ---------------------------------------------------------------------------------


def test_user_uid_gid_additional_gids(rt, make_bundle, cid):
    """config.md#user: uid, gid and additionalGids exactly (the Groups line is exactly
    additionalGids: /etc/group is not consulted when a gid is given)."""
    p = sh(rt, make_bundle, cid, "cat /proc/self/status; id",
           user={"uid": 1000, "gid": 1000, "additionalGids": [5, 100, 4242]})
    st = parse_status(ok(p))
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1000"] * 4
    assert sorted(int(g) for g in st["Groups"].split()) == [5, 100, 4242]


def test_user_root_has_no_supplementary_groups(rt, make_bundle, cid):
    """config.md#user: without additionalGids no supplementary group is left (none of the
    runtime's own groups leak in)."""
    st = parse_status(ok(sh(rt, make_bundle, cid, "cat /proc/self/status",
                            user={"uid": 0, "gid": 0})))
    assert st["Uid"].split() == ["0"] * 4
    assert st["Gid"].split() == ["0"] * 4
    assert st["Groups"] == ""


def test_user_gid_differs_from_uid(rt, make_bundle, cid):
    """config.md#user: gid is applied independently of uid (uid 1000, gid 100)."""
    st = parse_status(ok(sh(rt, make_bundle, cid, "cat /proc/self/status",
                            user={"uid": 1000, "gid": 100})))
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["100"] * 4


# --- umask ---------------------------------------------------------------------------------


def test_umask_default_0022(rt, make_bundle, cid):
    """config.md#user umask: unset means 0022, whatever the caller's umask (security.md D9)."""
    b = make_bundle(args=["sh", "-c", "umask"])
    old = os.umask(0o077)
    try:
        p = rt("run", "--bundle", str(b), cid, timeout=30)
    finally:
        os.umask(old)
    assert ok(p) == "0022\n"


def test_umask_configured(rt, make_bundle, cid):
    """config.md#user umask: the configured umask (0o027)."""
    p = sh(rt, make_bundle, cid, "umask", user={"uid": 0, "gid": 0, "umask": 0o027})
    assert ok(p) == "0027\n"


# --- rlimits ---------------------------------------------------------------------------------


def test_rlimits(rt, make_bundle, cid):
    """config.md#posix-process rlimits: soft and hard of each type exactly."""
    rl = [{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
          {"type": "RLIMIT_NPROC", "soft": 333, "hard": 444},
          {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    p = sh(rt, make_bundle, cid, "cat /proc/self/limits; ulimit -n", rlimits=rl)
    out = ok(p)
    lim = parse_limits(out)
    assert lim["Max open files"] == ("1000", "2000")
    assert lim["Max processes"] == ("333", "444")
    assert lim["Max core file size"] == ("0", "0")
    assert out.rstrip().splitlines()[-1] == "1000"


def test_rlimit_nofile_hard_raised_above_callers(rt, make_bundle, cid):
    """config.md#posix-process rlimits: a hard limit above the caller's own is set when the
    runtime has CAP_SYS_RESOURCE; otherwise create fails with runc's error."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard * 2, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
    if target <= hard:
        pytest.skip("caller's hard NOFILE limit is already the maximum")
    rl = [{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": target}]
    p = sh(rt, make_bundle, cid, "cat /proc/self/limits", rlimits=rl)
    if host_has_cap("CAP_SYS_RESOURCE"):
        assert parse_limits(ok(p))["Max open files"] == ("4096", str(target))
    else:
        # this VM's root lacks CAP_SYS_RESOURCE: runc's exact error, nothing left behind
        assert p.returncode != 0
        assert "error setting rlimit type 7: operation not permitted" in p.stderr
        assert rt("state", cid).returncode != 0
        assert not (rt.root / cid).exists()


# --- capabilities ----------------------------------------------------------------------------

_CAP_KEYS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def _caps_of(out: str) -> dict[str, int]:
    st = parse_status(out)
    return {k: int(st[k], 16) for k in _CAP_KEYS}


def test_capabilities_default_root(rt, make_bundle, cid, base_config):
    """config.md#linux-process capabilities: the runc-spec default set for root with
    noNewPrivileges (no inheritable, so ambient stays empty)."""
    names = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    caps = {k: list(names) for k in ("bounding", "effective", "permitted", "ambient")}
    got = _caps_of(ok(sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
                         noNewPrivileges=True)))
    m = cap_mask(names)
    assert got == {"CapInh": 0, "CapPrm": m, "CapEff": m, "CapBnd": m, "CapAmb": 0}


def test_capabilities_five_sets_non_root(rt, make_bundle, cid):
    """config.md#linux-process capabilities: uid 1000 with all five sets survives execve
    through ambient (security.md D6 iii)."""
    names = ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]
    caps = {k: list(names) for k in ("bounding", "effective", "permitted", "inheritable",
                                     "ambient")}
    caps["bounding"] = names + ["CAP_KILL"]
    got = _caps_of(ok(sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
                         user={"uid": 1000, "gid": 1000}, noNewPrivileges=True)))
    m = cap_mask(names)
    assert got == {"CapInh": m, "CapPrm": m, "CapEff": m,
                   "CapBnd": cap_mask(names + ["CAP_KILL"]), "CapAmb": m}


def test_capabilities_non_root_without_ambient(rt, make_bundle, cid):
    """config.md#linux-process capabilities: without ambient a non-root process loses
    permitted/effective at execve; inheritable and bounding stay as configured."""
    names = ["CAP_CHOWN", "CAP_KILL"]
    caps = {"bounding": names, "effective": names, "permitted": names, "inheritable": names}
    got = _caps_of(ok(sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
                         user={"uid": 1000, "gid": 1000})))
    m = cap_mask(names)
    assert got == {"CapInh": m, "CapPrm": 0, "CapEff": 0, "CapBnd": m, "CapAmb": 0}


def test_capabilities_all_empty(rt, make_bundle, cid):
    """config.md#linux-process capabilities: empty lists give empty sets, even for root."""
    caps = {k: [] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    got = _caps_of(ok(sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
                         noNewPrivileges=True)))
    assert got == dict.fromkeys(_CAP_KEYS, 0)


def test_capabilities_root_without_nnp_full_bounding(rt, make_bundle, cid):
    """config.md#linux-process capabilities: root without noNewPrivileges gets the kernel's
    root rule at execve: permitted = effective = bounding (security.md D6 ii)."""
    bnd = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW"]
    caps = {"bounding": bnd, "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
    got = _caps_of(ok(sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
                         noNewPrivileges=False)))
    m = cap_mask(bnd)
    assert got == {"CapInh": 0, "CapPrm": m, "CapEff": m, "CapBnd": m, "CapAmb": 0}


def test_capabilities_all_known(rt, make_bundle, cid):
    """config.md#linux-process capabilities: every capability the kernel knows."""
    caps = {k: list(ALL_CAPS) for k in ("bounding", "effective", "permitted")}
    got = _caps_of(ok(sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
                         noNewPrivileges=True)))
    m = cap_mask(ALL_CAPS)
    assert got == {"CapInh": 0, "CapPrm": m, "CapEff": m, "CapBnd": m, "CapAmb": 0}


def test_capabilities_with_sys_ptrace(rt, make_bundle, cid):
    """config.md#linux-process capabilities: CAP_SYS_PTRACE is granted like any other
    (it makes ociruntime re-exec from a sealed interpreter copy first: that must work)."""
    names = ["CAP_SYS_PTRACE", "CAP_KILL"]
    caps = {k: list(names) for k in ("bounding", "effective", "permitted")}
    got = _caps_of(ok(sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
                         noNewPrivileges=True)))
    m = cap_mask(names)
    assert got == {"CapInh": 0, "CapPrm": m, "CapEff": m, "CapBnd": m, "CapAmb": 0}


def test_capabilities_unknown_name_ignored_with_warning(rt, make_bundle, cid, tmp_path):
    """config.md#linux-process capabilities (runc): an unknown name is ignored with a
    warning that names it, and the container still runs with the known ones."""
    names = ["CAP_KILL", "CAP_NOT_A_REAL_ONE"]
    caps = {k: list(names) for k in ("bounding", "effective", "permitted")}
    log = tmp_path / "runtime.log"
    p = sh(rt, make_bundle, cid, "cat /proc/self/status", capabilities=caps,
           noNewPrivileges=True)
    got = _caps_of(ok(p))
    m = cap_mask(["CAP_KILL"])
    assert got == {"CapInh": 0, "CapPrm": m, "CapEff": m, "CapBnd": m, "CapAmb": 0}
    # the warning goes to --log (stderr stays clean on success: it is the container's too)
    b = make_bundle(args=["true"], capabilities=caps, noNewPrivileges=True)
    p = rt("run", "--bundle", str(b), cid + "-2", global_args=("--log", str(log)), timeout=30)
    assert p.returncode == 0, p.stderr
    text = log.read_text()
    assert "CAP_NOT_A_REAL_ONE" in text
    assert "level=warning" in text and "ignoring unknown or unavailable capabilities" in text


# --- noNewPrivileges, oomScoreAdj -----------------------------------------------------------


@pytest.mark.parametrize("nnp,want", [(True, "1"), (False, "0")])
def test_no_new_privileges(rt, make_bundle, cid, nnp, want):
    """config.md#linux-process noNewPrivileges: NoNewPrivs in /proc/self/status."""
    st = parse_status(ok(sh(rt, make_bundle, cid, "cat /proc/self/status",
                            noNewPrivileges=nnp)))
    assert st["NoNewPrivs"] == want


@pytest.mark.parametrize("adj", [123, 1000])
def test_oom_score_adj(rt, make_bundle, cid, adj):
    """config.md#linux-process oomScoreAdj: written to the container's oom_score_adj."""
    assert ok(sh(rt, make_bundle, cid, "cat /proc/self/oom_score_adj",
                 oomScoreAdj=adj)) == f"{adj}\n"


def test_oom_score_adj_negative(rt, make_bundle, cid, tmp_path):
    """config.md#linux-process oomScoreAdj: a negative value needs CAP_SYS_RESOURCE; with it
    the value is set, without it create fails cleanly and leaves nothing."""
    p = sh(rt, make_bundle, cid, "cat /proc/self/oom_score_adj", oomScoreAdj=-500)
    if host_has_cap("CAP_SYS_RESOURCE"):
        assert ok(p) == "-500\n"
    else:
        assert p.returncode != 0
        assert "permission denied" in p.stderr.lower()
        assert rt("state", cid).returncode != 0
        assert not (rt.root / cid).exists()


def test_oom_score_adj_unset_inherits(rt, make_bundle, cid):
    """config.md#linux-process oomScoreAdj: unset leaves the caller's value alone."""
    b = make_bundle(args=["sh", "-c", "cat /proc/self/oom_score_adj"])

    def pre() -> None:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("77")

    assert ok(rt("run", "--bundle", str(b), cid, timeout=30, preexec_fn=pre)) == "77\n"


# --- signals ----------------------------------------------------------------------------------


@runc_lacks("leaks the caller's blocked signal mask into the container (security.md D8)")
def test_signal_mask_and_dispositions_reset(rt, make_bundle, cid):
    """runtime.md#start (process starts clean) / security.md D8: a caller that blocks SIGUSR1
    and SIGTERM and ignores SIGHUP must not pass that on: SigBlk and SigIgn are 0."""
    # a child of sh: sh itself ignores SIGQUIT, and an exec'd last command would inherit it
    b = make_bundle(args=["sh", "-c", "cat /proc/self/status; exit 0"])

    def pre() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    st = parse_status(ok(rt("run", "--bundle", str(b), cid, timeout=30, preexec_fn=pre)))
    assert int(st["SigBlk"], 16) == 0
    assert int(st["SigIgn"], 16) == 0


def test_process_is_pid1(rt, make_bundle, cid):
    """config-linux.md#namespaces pid: the container process is pid 1 of its namespace."""
    out = ok(sh(rt, make_bundle, cid, "echo $$; cat /proc/1/comm; exit 0"))
    pid, comm = out.split()
    assert pid == "1"
    assert comm == "sh"


def test_run_exit_status_propagates(rt, make_bundle, cid):
    """runtime.md (runc run): the foreground run exits with the process's status."""
    p = sh(rt, make_bundle, cid, "exit 42")
    assert p.returncode == 42


def test_config_with_all_caps_and_uid_user_mix(rt, make_bundle, cid, base_config):
    """config.md#process: several process fields together (user, env, cwd, caps, rlimit,
    umask, NNP) are all applied in one container."""
    cfg = config(base_config)
    p = sh(rt, make_bundle, cid,
           "pwd; umask; id -u; id -g; ulimit -n; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status;"
           " echo $FOO",
           cfg=cfg, cwd="/tmp", env=["PATH=/bin", "FOO=foo"],
           user={"uid": 1000, "gid": 1000, "umask": 0o077},
           rlimits=[{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}],
           capabilities={k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted",
                                                  "inheritable", "ambient")},
           noNewPrivileges=True)
    lines = ok(p).split("\n")
    assert lines[:5] == ["/tmp", "0077", "1000", "1000", "512"]
    st = parse_status("\n".join(lines[5:7]))
    assert int(st["CapEff"], 16) == cap_mask(["CAP_KILL"])
    assert st["NoNewPrivs"] == "1"
    assert lines[7] == "foo"

