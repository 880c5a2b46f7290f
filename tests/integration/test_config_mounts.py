"""``mounts`` of config.json (config.md#mounts) and the adversarial mount cases of
security.md E: destinations through symlinks, mounts inside /proc.

Mount targets that must be created are made in a private copy of the rootfs
(``own_rootfs=True``); tests that only mount over existing directories (/run, /tmp) use the
shared one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from _probe import (
    config,
    detached,
    is_runc,
    mount_at,
    ok,
    parse_mountinfo,
    sh,
    wait_status,
)


def _with_mounts(base, *extra, **top):
    cfg = config(base, **top)
    cfg["mounts"] = cfg["mounts"] + list(extra)
    return cfg


def _host_mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, timeout=30)


def _host_umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], timeout=30, check=False)


def _host_mountpoints() -> list[str]:
    return [e.mountpoint for e in parse_mountinfo(Path("/proc/self/mountinfo").read_text())]


@pytest.fixture
def shared_src(tmp_path):
    """A host tmpfs made ``shared`` (this VM's mounts are all private), with a file in it."""
    src = tmp_path / "shared-src"
    src.mkdir()
    _host_mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(src))
    try:
        _host_mount("--make-shared", str(src))
        (src / "hello").write_text("from host\n")
        (src / "sub").mkdir()
        yield src
    finally:
        _host_umount(src / "sub")
        _host_umount(src)


# --- tmpfs ---------------------------------------------------------------------------------


def test_tmpfs_with_options(rt, make_bundle, cid, base_config):
    """config.md#mounts options: flags (nosuid,nodev,noexec) become mount flags, the rest
    (size, mode) is filesystem data; the size is enforced."""
    cfg = _with_mounts(base_config, {"destination": "/scratch", "type": "tmpfs",
                                     "source": "tmpfs",
                                     "options": ["nosuid", "nodev", "noexec", "size=1m",
                                                 "mode=1770"]})
    b = make_bundle(cfg, args=["sh", "-c",
                               "cat /proc/self/mountinfo; echo ---; stat -c %a /scratch; "
                               "dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>&1; exit 0"],
                    own_rootfs=True)
    info, _, rest = ok(rt("run", "--bundle", str(b), cid, timeout=30)).partition("---\n")
    m = mount_at(parse_mountinfo(info), "/scratch")
    assert m.fstype == "tmpfs"
    assert {"nosuid", "nodev", "noexec", "rw"} <= set(m.options), m
    assert "size=1024k" in m.super_options and "mode=1770" in m.super_options, m
    assert rest.splitlines()[0] == "1770"
    assert "No space left on device" in rest


def test_tmpfs_read_only(rt, make_bundle, cid, base_config):
    """config.md#mounts options ro: a read-only tmpfs (runc mounts it rw, then remounts)."""
    cfg = _with_mounts(base_config, {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                                     "options": ["ro", "size=64k"]})
    p = sh(rt, make_bundle, cid, "cat /proc/self/mountinfo; touch /run/x 2>&1; exit 0",
           cfg=cfg)
    out = ok(p)
    assert "Read-only file system" in out
    m = mount_at(parse_mountinfo(out), "/run")
    assert "ro" in m.options and m.fstype == "tmpfs"


def test_mount_destination_created(rt, make_bundle, cid, base_config):
    """config.md#mounts destination: a missing destination is created inside the rootfs."""
    cfg = _with_mounts(base_config, {"destination": "/new/deep/dir", "type": "tmpfs",
                                     "source": "tmpfs", "options": ["size=64k"]})
    b = make_bundle(cfg, args=["sh", "-c", "cat /proc/self/mountinfo"], own_rootfs=True)
    out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
    assert mount_at(parse_mountinfo(out), "/new/deep/dir").fstype == "tmpfs"
    assert (b / "rootfs" / "new" / "deep" / "dir").is_dir()


def test_mount_destination_mode_kept(rt, make_bundle, cid, base_config):
    """config.md#mounts (runc): a tmpfs without ``mode=`` over an existing directory takes
    that directory's mode (/tmp is 1777)."""
    cfg = _with_mounts(base_config, {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                     "options": ["size=64k"]})
    assert ok(sh(rt, make_bundle, cid, "stat -c %a /tmp", cfg=cfg)) == "1777\n"


# --- bind mounts -----------------------------------------------------------------------------


def test_bind_mount_rw(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#mounts bind: a host directory appears at the destination; what the
    container writes appears on the host."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello").write_text("from host\n")
    cfg = _with_mounts(base_config, {"destination": "/run", "type": "bind", "source": str(src),
                                     "options": ["rbind", "rw"]})
    out = ok(sh(rt, make_bundle, cid, "cat /run/hello; echo from container > /run/new",
                cfg=cfg))
    assert out == "from host\n"
    assert (src / "new").read_text() == "from container\n"


def test_bind_mount_ro(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#mounts bind + ro: readable, not writable (bind then remount ro)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello").write_text("from host\n")
    cfg = _with_mounts(base_config, {"destination": "/run", "type": "bind", "source": str(src),
                                     "options": ["bind", "ro", "nosuid"]})
    out = ok(sh(rt, make_bundle, cid,
                "cat /run/hello; touch /run/new 2>&1; grep ' /run ' /proc/self/mountinfo; "
                "exit 0", cfg=cfg))
    assert out.startswith("from host\n")
    assert "Read-only file system" in out
    m = mount_at(parse_mountinfo(out), "/run")
    assert "ro" in m.options and "nosuid" in m.options
    assert not (src / "new").exists()


def test_bind_mount_file(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#mounts bind: a file source is bound onto a file created at the
    destination."""
    src = tmp_path / "file.txt"
    src.write_text("single file\n")
    cfg = _with_mounts(base_config, {"destination": "/etc/bound.txt", "type": "bind",
                                     "source": str(src), "options": ["bind", "ro"]})
    b = make_bundle(cfg, args=["sh", "-c", "cat /etc/bound.txt; stat -c %F /etc/bound.txt"],
                    own_rootfs=True)
    out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
    assert out.splitlines() == ["single file", "regular file"]


def test_bind_mount_missing_source(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#mounts source: a missing bind source fails create and leaves nothing."""
    cfg = _with_mounts(base_config, {"destination": "/run", "type": "bind",
                                     "source": str(tmp_path / "absent"), "options": ["bind"]})
    p = sh(rt, make_bundle, cid, "true", cfg=cfg)
    assert p.returncode != 0
    assert str(tmp_path / "absent") in p.stderr
    assert rt("state", cid).returncode != 0


@pytest.mark.parametrize("opt,seen", [("bind", False), ("rbind", True)])
def test_bind_vs_rbind_submounts(rt, make_bundle, cid, base_config, tmp_path, opt, seen):
    """config.md#mounts options bind/rbind: only rbind carries the source's submounts."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    _host_mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(src / "sub"))
    try:
        (src / "sub" / "marker").write_text("in submount\n")
        cfg = _with_mounts(base_config, {"destination": "/run", "type": "bind",
                                         "source": str(src), "options": [opt]})
        out = ok(sh(rt, make_bundle, cid, "cat /run/sub/marker 2>/dev/null || echo absent",
                    cfg=cfg))
    finally:
        _host_umount(src / "sub")
    assert out == ("in submount\n" if seen else "absent\n")


@pytest.mark.parametrize("root_prop,options,want", [
    (None, [], "master"),            # the default rslave: a slave of the host's peer group
    ("rslave", ["rprivate"], ""),    # the mount's own option wins
    ("rprivate", [], ""),
    ("rshared", [], "shared"),
    ("rslave", ["shared"], "shared master"),
])
def test_mount_propagation(rt, make_bundle, cid, base_config, shared_src, root_prop, options,
                           want):
    """config-linux.md#rootfs-mount-propagation and config.md#mounts propagation options:
    the propagation of a bind of a shared host mount, as mountinfo's optional fields show."""
    cfg = _with_mounts(base_config, {"destination": "/run", "type": "bind",
                                     "source": str(shared_src), "options": ["rbind", *options]})
    if root_prop:
        cfg["linux"]["rootfsPropagation"] = root_prop
    out = ok(sh(rt, make_bundle, cid, "cat /proc/self/mountinfo", cfg=cfg))
    m = mount_at(parse_mountinfo(out), "/run")
    assert " ".join(t.split(":")[0] for t in m.optional) == want, m


@pytest.mark.parametrize("root_prop,seen", [("rslave", True), ("rprivate", False)])
def test_rootfs_propagation_host_mount_reaches_container(rt, make_bundle, cid, base_config,
                                                         shared_src, tmp_path, root_prop, seen):
    """config-linux.md#rootfs-mount-propagation: with rslave a mount the host makes later
    under a shared source shows up in the running container; with rprivate it does not."""
    cfg = _with_mounts(base_config, {"destination": "/run", "type": "bind",
                                     "source": str(shared_src), "options": ["rbind"]})
    cfg["linux"]["rootfsPropagation"] = root_prop
    script = ("for i in $(seq 30); do [ -e /run/sub/marker ] && echo seen && exit 0; "
              "sleep 0.1; done; echo unseen")
    b = make_bundle(cfg, args=["sh", "-c", script])
    out = tmp_path / "c.out"
    p = detached(rt, "create", "--bundle", str(b), cid, out=out)
    assert p.returncode == 0, p.stderr
    assert rt("start", cid, timeout=30).returncode == 0
    _host_mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(shared_src / "sub"))
    (shared_src / "sub" / "marker").write_text("x")
    wait_status(rt, cid, "stopped", timeout=20)
    assert out.read_text().strip() == ("seen" if seen else "unseen")


@pytest.mark.parametrize("root_prop", [None, "rslave", "rprivate", "rshared"])
def test_rootfs_on_a_shared_host_mount(rt, make_bundle, cid, base_config, rootfs, tmp_path,
                                       root_prop):
    """pivot_root refuses a rootfs whose parent mount is shared: a recursive slave or
    private change leaves no mount shared, and with rshared the runtime makes that one
    mount private (runc's rootfsParentMountPrivate). The host's mount stays shared."""
    shared = tmp_path / "shared-root"
    shared.mkdir()
    _host_mount("-t", "tmpfs", "-o", "size=32m", "tmpfs", str(shared))
    try:
        _host_mount("--make-shared", str(shared))
        subprocess.run(["cp", "-a", str(rootfs), str(shared / "rootfs")], check=True,
                       timeout=60)
        cfg = _with_mounts(base_config)
        if root_prop:
            cfg["linux"]["rootfsPropagation"] = root_prop
        b = make_bundle(cfg, args=["echo", "ok"])
        conf = json.loads((b / "config.json").read_text())
        conf["root"]["path"] = str(shared / "rootfs")
        (b / "config.json").write_text(json.dumps(conf))
        assert ok(rt("run", "--bundle", str(b), cid, timeout=30)) == "ok\n"
        m = mount_at(parse_mountinfo(Path("/proc/self/mountinfo").read_text()), str(shared))
        assert [t.split(":")[0] for t in m.optional] == ["shared"]
    finally:
        _host_umount(shared)


def test_container_mounts_do_not_reach_host(rt, make_bundle, cid, base_config, shared_src):
    """config-linux.md#rootfs-mount-propagation (default rslave) / security.md D15: a mount
    made inside the container, even on a bind of a shared host mount, is not seen on the
    host."""
    cfg = _with_mounts(base_config, {"destination": "/run", "type": "bind",
                                     "source": str(shared_src), "options": ["rbind"]})
    caps = ["CAP_SYS_ADMIN"]
    b = make_bundle(cfg, args=["sh", "-c", "mount -t tmpfs tmpfs /run/sub && "
                                           "mount -t tmpfs tmpfs /tmp && echo mounted"],
                    capabilities={k: caps for k in ("bounding", "effective", "permitted")})
    assert ok(rt("run", "--bundle", str(b), cid, timeout=30)) == "mounted\n"
    host = _host_mountpoints()
    assert str(shared_src / "sub") not in host
    assert not any(mp.endswith("/rootfs/tmp") for mp in host)


# --- adversarial destinations (security.md E) -------------------------------------------------


def _escape_bundle(make_bundle, base_config, tmp_path):
    decoy = tmp_path / "host-decoy"
    decoy.mkdir()
    (decoy / "keep").write_text("decoy\n")
    src = tmp_path / "bindsrc"
    src.mkdir()
    cfg = _with_mounts(
        base_config,
        {"destination": "/evil-abs/sub", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=64k"]},
        {"destination": "/evil-rel/sub2", "type": "bind", "source": str(src),
         "options": ["bind"]},
    )
    b = make_bundle(cfg, args=["sh", "-c", "cat /proc/self/mountinfo"], own_rootfs=True)
    root = b / "rootfs"
    os.symlink(str(decoy), root / "evil-abs")
    os.symlink("../" * 12 + str(decoy).lstrip("/"), root / "evil-rel")
    return b, decoy


def test_destination_symlink_escape_decoy_untouched(rt, make_bundle, cid, base_config,
                                                    tmp_path):
    """config.md#mounts destination + security.md E1: destinations through rootfs symlinks
    pointing outside (absolute and ``../..`` forms) never reach the host: the decoy keeps
    its content and gets no mount, whether the runtime mounts inside the rootfs or
    refuses."""
    b, decoy = _escape_bundle(make_bundle, base_config, tmp_path)
    before_host = set(_host_mountpoints())
    p = rt("run", "--bundle", str(b), cid, timeout=30)
    assert sorted(os.listdir(decoy)) == ["keep"]
    assert (decoy / "keep").read_text() == "decoy\n"
    assert set(_host_mountpoints()) <= before_host
    if p.returncode != 0:
        assert rt("state", cid).returncode != 0


def test_destination_through_dangling_symlink_lands_in_rootfs(rt, make_bundle, cid,
                                                              base_config, tmp_path):
    """config.md#mounts destination (runc securejoin, security.md E1 "runc observed"): the
    symlinks are followed *inside* the rootfs, the missing directories are created there
    and the mounts land at ``<rootfs>/<decoy path>/sub``."""
    b, decoy = _escape_bundle(make_bundle, base_config, tmp_path)
    out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
    inside = parse_mountinfo(out)
    assert mount_at(inside, f"{decoy}/sub").fstype == "tmpfs"
    assert mount_at(inside, f"{decoy}/sub2")
    assert (b / "rootfs" / str(decoy).lstrip("/") / "sub").is_dir()
    assert sorted(os.listdir(decoy)) == ["keep"]


@pytest.mark.parametrize("mount", [
    {"destination": "/proc/sys", "type": "bind", "source": "/proc/sys", "options": ["rbind"]},
    {"destination": "/proc/self/attr", "type": "tmpfs", "source": "tmpfs"},
    {"destination": "/proc", "type": "tmpfs", "source": "tmpfs"},
], ids=["bind-proc-sys", "tmpfs-proc-self-attr", "tmpfs-over-proc"])
def test_mounts_inside_proc_rejected(rt, make_bundle, cid, base_config, mount):
    """config.md#mounts + security.md E3 (runc checkProcMount): only /proc itself (as procfs)
    and a short allow list under /proc may be mount targets; create fails, nothing left."""
    if mount["destination"] == "/proc/self/attr" and is_runc():
        pytest.skip("runc 1.1.5 accepts a tmpfs on /proc/self/attr (security.md E3)")
    cfg = _with_mounts(base_config, mount)
    p = sh(rt, make_bundle, cid, "grep ' /proc' /proc/self/mountinfo", cfg=cfg)
    assert p.returncode != 0, p.stdout
    assert rt("state", cid).returncode != 0
    assert not (rt.root / cid).exists()


def test_mount_inside_proc_allow_list(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#mounts + runc checkProcMount: a file bound over /proc/meminfo (lxcfs
    style) is allowed."""
    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal: 1 kB\n")
    cfg = _with_mounts(base_config, {"destination": "/proc/meminfo", "type": "bind",
                                     "source": str(fake), "options": ["bind", "ro"]})
    assert ok(sh(rt, make_bundle, cid, "cat /proc/meminfo", cfg=cfg)) == "MemTotal: 1 kB\n"


def test_proc_symlink_refused(rt, make_bundle, cid, base_config, tmp_path):
    """config.md#mounts + security.md E2: procfs must be mounted on a real directory; a
    rootfs whose /proc is a symlink (to a host decoy) is refused and the decoy untouched."""
    decoy = tmp_path / "proc-decoy"
    decoy.mkdir()
    b = make_bundle(args=["true"], own_rootfs=True)
    os.rmdir(b / "rootfs" / "proc")
    os.symlink(str(decoy), b / "rootfs" / "proc")
    p = rt("run", "--bundle", str(b), cid, timeout=30)
    assert p.returncode != 0
    assert os.listdir(decoy) == []
    assert str(decoy) not in _host_mountpoints()
    assert rt("state", cid).returncode != 0


def test_dev_symlink_decoy_untouched(rt, make_bundle, cid, base_config, tmp_path):
    """runtime-linux.md#default-devices + security.md E4: a rootfs whose /dev is a symlink
    to a host decoy: the decoy must not get device nodes or symlinks (runc 1.1.5 is
    vulnerable here), whether the container is refused or /dev is resolved in the rootfs."""
    decoy = tmp_path / "dev-decoy"
    decoy.mkdir()
    (decoy / "ptmx").write_text("decoy ptmx\n")
    b = make_bundle(args=["true"], own_rootfs=True)
    os.rmdir(b / "rootfs" / "dev")
    os.symlink(str(decoy), b / "rootfs" / "dev")
    if is_runc():
        pytest.skip("runc 1.1.5 writes into the decoy (security.md E4)")
    rt("run", "--bundle", str(b), cid, timeout=30)
    assert sorted(os.listdir(decoy)) == ["ptmx"]
    assert (decoy / "ptmx").read_text() == "decoy ptmx\n"
    assert str(decoy) not in _host_mountpoints()

