"""config.md: root, mounts, process, hostname, domainname, extensibility and valid values.

Hooks (also config.md) are in test_hooks.py; annotations in state in test_runtime.py.
"""

from __future__ import annotations

import json
import resource
import time

import pytest

from .harness import PROBE, caps_from_hex, names

clause = pytest.mark.clause


def probe(oci, *more: str, config_edit=None, **kw):
    """Run ``probe all MORE...`` in a fresh bundle after ``config_edit(config)``."""
    b = oci.bundle(args=[PROBE, "all", *more], **kw)
    if config_edit:
        config_edit(b.config)
        b.write()
    return oci.probe(b), b


def top_mounts(out) -> dict[str, dict]:
    """mount point -> the mount visible there (the last one in mountinfo)."""
    return {m["mount_point"]: m for m in out["mounts"]}


# ---- root -----------------------------------------------------------------------------------

@clause("config.md#root")
def test_root_path_relative_to_bundle(oci):
    b = oci.bundle(args=[PROBE, "stat", "/marker"])
    assert b.config["root"]["path"] == "rootfs"
    (b.rootfs / "marker").write_text("x")
    out = oci.probe(b)
    assert out["stat"]["/marker"].get("type") == "file"


@clause("config.md#root")
def test_root_path_absolute(oci):
    b = oci.bundle(args=[PROBE, "stat", "/marker"])
    b.config["root"]["path"] = str(b.rootfs)
    b.write()
    (b.rootfs / "marker").write_text("x")
    out = oci.probe(b)
    assert out["stat"]["/marker"].get("type") == "file"


@clause("config.md#root")
def test_root_readonly_true(oci):
    out, _ = probe(oci, "--write", "/", "--write", "/etc/passwd",
                   config_edit=lambda c: c["root"].update(readonly=True))
    assert {p: r["error"] for p, r in out["write"].items()} == \
        {"/": "EROFS", "/etc/passwd": "EROFS"}


@clause("config.md#root")
@pytest.mark.parametrize("readonly", [False, None], ids=["false", "unset"])
def test_root_writable_unless_readonly(oci, readonly):
    def edit(c):
        c["root"].pop("readonly", None)
        if readonly is not None:
            c["root"]["readonly"] = readonly
    out, _ = probe(oci, "--write", "/", config_edit=edit)
    assert out["write"]["/"]["error"] == "OK"


# ---- mounts ---------------------------------------------------------------------------------

@clause("config.md#mounts")
def test_mounts_in_listed_order(oci):
    def edit(c):
        c["mounts"] += [
            {"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
            {"destination": "/mnt/a/b", "type": "tmpfs", "source": "tmpfs",
             "options": ["size=2m"]},
            {"destination": "/mnt/c", "type": "tmpfs", "source": "tmpfs", "options": ["size=3m"]},
            {"destination": "/mnt/c", "type": "tmpfs", "source": "tmpfs", "options": ["size=4m"]},
        ]
    out, _ = probe(oci, config_edit=edit)
    mine = [(m["mount_point"], m["super_options"], m["id"], m["parent"]) for m in out["mounts"]
            if m["mount_point"].startswith("/mnt/")]
    sizes = [(p, dict(kv.partition("=")[::2] for kv in o.split(",")).get("size"))
             for p, o, _, _ in mine]
    assert sizes == [("/mnt/a", "1024k"), ("/mnt/a/b", "2048k"), ("/mnt/c", "3072k"),
                     ("/mnt/c", "4096k")], "mounts (in mountinfo order) differ from the config"
    assert mine[1][3] == mine[0][2], "/mnt/a/b is not mounted on top of the /mnt/a tmpfs"
    assert "size=4096k" in top_mounts(out)["/mnt/c"]["super_options"], "the later mount must win"


@clause("config.md#mounts")
def test_mount_options_applied(oci):
    def edit(c):
        c["mounts"].append({"destination": "/mnt/opts", "type": "tmpfs", "source": "tmpfs",
                            "options": ["ro", "nosuid", "nodev", "noexec", "noatime",
                                        "mode=0710", "size=2m"]})
    out, _ = probe(oci, "--stat", "/mnt/opts", "--write", "/mnt/opts", config_edit=edit)
    m = top_mounts(out)["/mnt/opts"]
    assert m["fstype"] == "tmpfs"
    assert set(m["options"].split(",")) >= {"ro", "nosuid", "nodev", "noexec", "noatime"}, m
    assert "size=2048k" in m["super_options"], m
    assert out["stat"]["/mnt/opts"]["mode"] == 0o710
    assert out["write"]["/mnt/opts"]["error"] == "EROFS"


@clause("config.md#mounts")
@pytest.mark.parametrize("options", [["bind"], ["rbind"], ["rbind", "rw"]])
def test_bind_mount(oci, options):
    b = oci.bundle(args=[PROBE, "all", "--stat", "/mnt/data/file", "--write", "/mnt/data"])
    src = oci.tmp / "data"
    src.mkdir()
    (src / "file").write_text("hello")
    b.config["mounts"].append({"destination": "/mnt/data", "type": "bind", "source": str(src),
                               "options": options})
    b.write()
    out = oci.probe(b)
    assert out["stat"]["/mnt/data/file"].get("type") == "file"
    assert out["write"]["/mnt/data"]["error"] == "OK"


@clause("config.md#mounts")
def test_bind_mount_read_only(oci):
    b = oci.bundle(args=[PROBE, "all", "--stat", "/mnt/data/file", "--write", "/mnt/data",
                         "--write", "/mnt/data/file"])
    src = oci.tmp / "data"
    src.mkdir()
    (src / "file").write_text("hello")
    b.config["mounts"].append({"destination": "/mnt/data", "type": "bind", "source": str(src),
                               "options": ["rbind", "ro", "nosuid", "nodev"]})
    b.write()
    out = oci.probe(b)
    assert out["stat"]["/mnt/data/file"].get("type") == "file"
    assert {p: r["error"] for p, r in out["write"].items()} == \
        {"/mnt/data": "EROFS", "/mnt/data/file": "EROFS"}
    assert set(top_mounts(out)["/mnt/data"]["options"].split(",")) >= {"ro", "nosuid", "nodev"}


@clause("config.md#mounts")
def test_bind_mount_source_relative_to_bundle(oci):
    b = oci.bundle(args=[PROBE, "stat", "/mnt/rel/file"])
    (b.path / "reldata").mkdir()
    (b.path / "reldata" / "file").write_text("x")
    b.config["mounts"].append({"destination": "/mnt/rel", "type": "bind", "source": "reldata",
                               "options": ["rbind"]})
    b.write()
    assert oci.probe(b)["stat"]["/mnt/rel/file"].get("type") == "file"


@clause("config.md#mounts")
def test_bind_mount_of_a_file(oci):
    b = oci.bundle(args=[PROBE, "stat", "/etc/conformance"])
    src = oci.tmp / "single"
    src.write_text("x")
    b.config["mounts"].append({"destination": "/etc/conformance", "type": "bind",
                               "source": str(src), "options": ["bind", "ro"]})
    b.write()
    st = oci.probe(b)["stat"]["/etc/conformance"]
    assert st.get("type") == "file" and st.get("size") == 1


@clause("config.md#mounts")
def test_mount_relative_destination_is_relative_to_root(oci):
    """Linux: destination MAY be relative (deprecated); it MUST be taken relative to "/"."""
    def edit(c):
        c["mounts"].append({"destination": "mnt/relative", "type": "tmpfs", "source": "tmpfs",
                            "options": ["size=1m"]})
    out, _ = probe(oci, config_edit=edit)
    assert top_mounts(out).get("/mnt/relative", {}).get("fstype") == "tmpfs"


# ---- process ---------------------------------------------------------------------------------

@clause("config.md#process")
def test_process_args(oci):
    args = [PROBE, "all", "--", "two words", "", "$HOME *", "ünïcødé", "-x=1"]
    out = oci.probe(oci.bundle(args=args))
    assert out["argv"] == args


@clause("config.md#process")
def test_process_args0_found_in_path(oci):
    """args[0] has execvp's file semantics: a bare name is looked up in process.env PATH."""
    b = oci.bundle(args=["probe", "all"])
    b.config["process"]["env"] = ["PATH=/usr/bin:/bin"]
    b.write()
    out = oci.probe(b)
    assert out["exe"] == "/bin/probe" and out["argv"][0] == "probe"


@clause("config.md#process")
def test_process_env(oci):
    env = ["PATH=/bin", "HOME=/home/user", "A=1", "WITH_SPACE=a b", "EMPTY=", "EQ=x=y"]
    b = oci.bundle()
    b.config["process"]["env"] = env
    b.write()
    out = oci.probe(b)
    assert sorted(out["env"]) == sorted(env)


@clause("config.md#process")
@pytest.mark.parametrize("cwd", ["/home/user", "/tmp"])
def test_process_cwd(oci, cwd):
    b = oci.bundle()
    b.config["process"]["cwd"] = cwd
    b.write()
    assert oci.probe(b)["cwd"] == cwd


@clause("config.md#posix-platform-user")
def test_process_user_ids(oci):
    b = oci.bundle()
    b.config["process"]["user"] = {"uid": 1000, "gid": 100, "additionalGids": [10, 5]}
    b.write()
    out = oci.probe(b)
    assert (out["uid"], out["euid"], out["gid"], out["egid"]) == (1000, 1000, 100, 100)
    assert set(out["groups"]) >= {10, 5}, f"additional gids missing: {out['groups']}"


@clause("config.md#posix-platform-user")
@pytest.mark.parametrize("umask", [0o027, 0o077, 0])
def test_process_user_umask(oci, umask):
    b = oci.bundle()
    b.config["process"]["user"]["umask"] = umask
    b.write()
    assert oci.probe(b)["umask"] == umask


@clause("config.md#posix-process")
def test_process_rlimits(oci):
    rlimits = [
        {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
        {"type": "RLIMIT_CORE", "soft": 4096, "hard": 8192},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 1000},
        {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192},
        {"type": "RLIMIT_CPU", "soft": 100, "hard": 200},
    ]
    b = oci.bundle()
    b.config["process"]["rlimits"] = rlimits
    b.write()
    got = oci.probe(b)["rlimits"]
    assert {r["type"]: got[r["type"]] for r in rlimits} == \
        {r["type"]: {"soft": r["soft"], "hard": r["hard"]} for r in rlimits}


@clause("config.md#posix-process")
def test_process_rlimits_duplicate_type_errors(oci):
    b = oci.marker_bundle()
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
                                      {"type": "RLIMIT_NOFILE", "soft": 128, "hard": 128}]
    b.write()
    cid = oci.new_id()
    r = oci.create(b, cid)
    if r.ok:
        s = oci.start(cid)
        time.sleep(0.3)
        assert not s.ok, "duplicate rlimit types must generate an error"
    assert "process" not in names(b.hook_entries())


def _caps(c, bounding, effective, permitted, inheritable, ambient):
    c["process"]["capabilities"] = {"bounding": bounding, "effective": effective,
                                    "permitted": permitted, "inheritable": inheritable,
                                    "ambient": ambient}


def _observed_caps(out):
    st = out["status"]
    return {k: caps_from_hex(st[f"Cap{abbr}"]) for k, abbr in
            [("bounding", "Bnd"), ("effective", "Eff"), ("permitted", "Prm"),
             ("inheritable", "Inh"), ("ambient", "Amb")]}


@clause("config.md#linux-process")
def test_process_capabilities_root(oci):
    """For uid 0 the kernel recomputes permitted = bounding | inheritable at exec; the sets
    are chosen so that the config is exactly what exec must leave in place."""
    bnd = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID",
           "CAP_SETGID"]
    inh = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    amb = ["CAP_NET_BIND_SERVICE"]
    out, _ = probe(oci, config_edit=lambda c: _caps(c, bnd, bnd, bnd, inh, amb))
    assert _observed_caps(out) == {"bounding": set(bnd), "effective": set(bnd),
                                   "permitted": set(bnd), "inheritable": set(inh),
                                   "ambient": set(amb)}


@clause("config.md#linux-process")
def test_process_capabilities_non_root(oci):
    """uid 1000: only ambient capabilities survive exec into permitted/effective, so the
    config keeps effective = permitted = ambient; all five sets differ from each other."""
    bnd = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT"]
    inh = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]
    amb = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]

    def edit(c):
        _caps(c, bnd, amb, amb, inh, amb)
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
    out, _ = probe(oci, config_edit=edit)
    assert _observed_caps(out) == {"bounding": set(bnd), "effective": set(amb),
                                   "permitted": set(amb), "inheritable": set(inh),
                                   "ambient": set(amb)}


@clause("config.md#linux-process")
def test_process_unknown_capability_is_not_fatal(oci):
    """Caps that cannot be mapped MUST be logged as a warning; runtimes SHOULD NOT fail."""
    caps = ["CAP_KILL", "CAP_NOT_A_CAPABILITY"]
    out, _ = probe(oci, config_edit=lambda c: _caps(c, caps, caps, caps, [], []))
    assert _observed_caps(out)["bounding"] == {"CAP_KILL"}


@clause("config.md#linux-process")
@pytest.mark.parametrize("nnp", [True, False])
def test_process_no_new_privileges(oci, nnp):
    out, _ = probe(oci, config_edit=lambda c: c["process"].update(noNewPrivileges=nnp))
    assert out["no_new_privs"] == int(nnp)
    assert out["status"]["NoNewPrivs"] == str(int(nnp))


@clause("config.md#linux-process")
def test_process_oom_score_adj_set(oci):
    out, _ = probe(oci, config_edit=lambda c: c["process"].update(oomScoreAdj=500))
    assert out["oom_score_adj"] == "500"


@clause("config.md#linux-process")
def test_process_oom_score_adj_unset_is_not_changed(oci):
    """Unset: the runtime MUST NOT change oom_score_adj (the caller's value is inherited)."""
    def raise_own_score() -> None:  # raising needs no privilege; lowering would
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("123")
    b = oci.bundle()
    b.config["process"].pop("oomScoreAdj", None)
    b.write()
    cid = oci.new_id()
    oci.create(b, cid, check=True, preexec_fn=raise_own_score)
    pid = oci.state(cid)["pid"]
    oci.start(cid, check=True)
    oci.wait_exit(pid)
    assert json.loads(oci.output(cid))["oom_score_adj"] == "123"


@clause("config.md#process")
def test_process_terminal_and_console_size(oci):
    b = oci.bundle()
    b.config["process"]["terminal"] = True
    b.config["process"]["consoleSize"] = {"height": 33, "width": 111}
    b.write()
    con = oci.console()
    out = oci.probe(b, console=con)
    ttys = out["tty"]
    assert all(ttys[fd]["isatty"] for fd in "012"), ttys
    assert len({ttys[fd]["target"] for fd in "012"}) == 1, "stdio is not one pty"
    assert (ttys["0"].get("rows"), ttys["0"].get("cols")) == (33, 111)
    assert out["ctty_pgrp"] == out["pgid"], "the pty is not the process's controlling terminal"


@clause("config.md#process")
def test_process_console_size_ignored_without_terminal(oci):
    b = oci.bundle()
    b.config["process"]["terminal"] = False
    b.config["process"]["consoleSize"] = {"height": 33, "width": 111}
    b.write()
    out = oci.probe(b)
    assert not any(out["tty"][fd]["isatty"] for fd in "012")


# ---- hostname, domainname -------------------------------------------------------------------

@clause("config.md#hostname")
def test_hostname(oci):
    out, _ = probe(oci, config_edit=lambda c: c.update(hostname="conformance-host"))
    assert out["hostname"] == "conformance-host"


@clause("config.md#domainname")
def test_domainname(oci):
    out, _ = probe(oci, config_edit=lambda c: c.update(domainname="conformance.example"))
    assert out["domainname"] == "conformance.example"


# ---- extensibility, valid values -------------------------------------------------------------

@clause("config.md#extensibility")
def test_unknown_properties_are_ignored(oci):
    def edit(c):
        c["org.example.unknown"] = {"nested": [1, 2]}
        c["process"]["org.example.unknownProcessField"] = True
        c["root"]["org.example.unknownRootField"] = "x"
    out, _ = probe(oci, config_edit=edit)
    assert out["argv"] == [PROBE, "all"]


@clause("config.md#valid-values")
def test_unsupported_value_errors(oci):
    b = oci.marker_bundle()
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOT_A_LIMIT", "soft": 1, "hard": 1}]
    b.write()
    cid = oci.new_id()
    r = oci.create(b, cid)
    if r.ok:
        assert not oci.start(cid).ok, "an unknown rlimit type must generate an error"
    time.sleep(0.2)
    assert "process" not in names(b.hook_entries())



@clause("config.md#posix-process")
def test_process_rlimit_above_the_callers_hard_limit(oci):
    """rlimits are applied as configured even above the caller's hard limit (root may)."""
    with open("/proc/self/status") as f:
        bnd = next(line.split()[1] for line in f if line.startswith("CapBnd:"))
    if "CAP_SYS_RESOURCE" not in caps_from_hex(bnd):
        pytest.skip("CAP_SYS_RESOURCE is not in this host's bounding set: nothing here can "
                    "raise a hard rlimit above the caller's")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard + 1024
    b = oci.bundle()
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": want, "hard": want}]
    b.write()
    assert oci.probe(b)["rlimits"]["RLIMIT_NOFILE"] == {"soft": want, "hard": want}
