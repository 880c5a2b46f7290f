"""The container's root filesystem: ``root``, /dev and ``linux.devices``, ``maskedPaths``,
``readonlyPaths``, ``sysctl``, ``personality``, pivot_root vs ``--no-pivot``.

config.md#root, runtime-linux.md#default-devices and #dev-symbolic-links,
config-linux.md#devices/#masked-paths/#readonly-paths/#sysctl/#personality.
"""

from __future__ import annotations

import os
import platform
import stat
from pathlib import Path

import pytest
from _probe import config, mount_at, ok, parse_mountinfo, runc_lacks, sh, unquote_log

# --- /dev ----------------------------------------------------------------------------------

DEFAULT_DEVICES = {
    # name: (major, minor), runtime-linux.md#default-devices
    "null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9),
    "tty": (5, 0),
}
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}


def _stat_lines(out: str) -> dict[str, list[str]]:
    res = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) > 1:
            res[parts[0]] = parts[1:]
    return res


_STAT = "stat -c '%n|%F|%t|%T|%a|%u|%g' "


def test_default_dev_contents(rt, make_bundle, cid):
    """runtime-linux.md#default-devices + #dev-symbolic-links: exactly the default nodes
    (char devices, 0666, root), the fd/stdio/ptmx symlinks and the configured mounts."""
    names = " ".join(f"/dev/{n}" for n in DEFAULT_DEVICES)
    script = (f"ls -A /dev | tr '\\n' ' '; echo; {_STAT}{names}; "
              + "; ".join(f"echo /dev/{n}={'$'}(readlink /dev/{n})" for n in DEV_LINKS)
              + "; stat -c '%F' /dev/pts /dev/shm /dev/mqueue")
    out = ok(sh(rt, make_bundle, cid, script))
    lines = out.splitlines()
    want = set(DEFAULT_DEVICES) | set(DEV_LINKS) | {"pts", "shm", "mqueue"}
    if os.path.exists("/proc/kcore"):
        want.add("core")
    assert set(lines[0].split()) == want
    st = _stat_lines(out)
    for name, (major, minor) in DEFAULT_DEVICES.items():
        assert st[f"/dev/{name}"] == ["character special file", f"{major:x}", f"{minor:x}",
                                      "666", "0", "0"], name
    for name, target in DEV_LINKS.items():
        assert f"/dev/{name}={target}" in lines, name
    assert lines[-3:] == ["directory"] * 3


def test_default_devices_work(rt, make_bundle, cid):
    """runtime-linux.md#default-devices: the nodes are usable (null swallows, zero reads
    zeros, full gives ENOSPC, urandom gives bytes)."""
    out = ok(sh(rt, make_bundle, cid,
                "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1; "
                "echo x > /dev/full 2>&1 || echo full-enospc; head -c 16 /dev/urandom | wc -c"))
    lines = [ln.strip() for ln in out.splitlines()]
    assert lines[0] == "null-ok"
    assert lines[1] == "00 00 00 00"
    assert "full-enospc" in lines or any("No space left" in ln for ln in lines)
    assert lines[-1] == "16"


def test_linux_devices(rt, make_bundle, cid, base_config):
    """config-linux.md#devices: extra nodes with type, major/minor, fileMode, uid, gid;
    parent directories are created; a device at a default path replaces the default."""
    cfg = config(base_config)
    cfg["linux"]["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 5},
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666,
         "uid": 0, "gid": 0},
        {"path": "/dev/sub/dir/zero2", "type": "c", "major": 1, "minor": 5},
        {"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 0o600},
        {"path": "/dev/myloop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o660},
        {"path": "/dev/mypipe", "type": "p"},
    ]
    out = ok(sh(rt, make_bundle, cid,
                _STAT + "/dev/mynull /dev/fuse /dev/sub/dir/zero2 /dev/full /dev/myloop "
                "/dev/mypipe; cat /dev/mynull; head -c 2 /dev/sub/dir/zero2 | od -An -tx1",
                cfg=cfg))
    st = _stat_lines(out)
    assert st["/dev/mynull"] == ["character special file", "1", "3", "640", "1000", "5"]
    assert st["/dev/fuse"] == ["character special file", "a", "e5", "666", "0", "0"]
    assert st["/dev/sub/dir/zero2"][:4] == ["character special file", "1", "5", "666"]
    assert st["/dev/full"] == ["character special file", "1", "7", "600", "0", "0"]
    assert st["/dev/myloop"][:5] == ["block special file", "7", "0", "660", "0"]
    assert st["/dev/mypipe"][0] == "fifo"
    assert out.splitlines()[-1].strip() == "00 00"


def test_dev_bind_mount_gets_no_device_nodes(rt, make_bundle, cid, base_config, tmp_path):
    """runtime-linux.md#default-devices + runc (``/dev`` setup is skipped when /dev is a bind
    mount): the runtime must not create nodes or symlinks in the bound *host* directory."""
    hostdev = tmp_path / "hostdev"
    hostdev.mkdir()
    (hostdev / "keep").write_text("x")
    os.mknod(hostdev / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    cfg = config(base_config)
    cfg["mounts"] = [m for m in cfg["mounts"] if not m["destination"].startswith("/dev")]
    cfg["mounts"].append({"destination": "/dev", "type": "bind", "source": str(hostdev),
                          "options": ["rbind"]})
    p = sh(rt, make_bundle, cid, "ls -A /dev", cfg=cfg)
    assert sorted(os.listdir(hostdev)) == ["keep", "null"]
    assert ok(p).split() == ["keep", "null"]


# --- root ----------------------------------------------------------------------------------


def test_readonly_root(rt, make_bundle, cid):
    """config.md#root readonly: true → the root is read-only (EROFS), shown ro in
    mountinfo."""
    out = ok(sh(rt, make_bundle, cid, "touch /x 2>&1; mkdir /y 2>&1; cat /proc/self/mountinfo; "
                "exit 0"))
    assert out.count("Read-only file system") == 2
    assert "ro" in mount_at(parse_mountinfo(out), "/").options


def test_writable_root(rt, make_bundle, cid, base_config):
    """config.md#root readonly: false → the container writes into the rootfs."""
    cfg = config(base_config)
    cfg["root"]["readonly"] = False
    b = make_bundle(cfg, args=["sh", "-c", "echo hi > /written && cat /written"],
                    own_rootfs=True)
    assert ok(rt("run", "--bundle", str(b), cid, timeout=30)) == "hi\n"
    assert (b / "rootfs" / "written").read_text() == "hi\n"


def test_root_path_relative_to_bundle(rt, make_bundle, cid):
    """config.md#root path: a relative path is relative to the bundle."""
    b = make_bundle(args=["sh", "-c", "cat /etc/marker"], own_rootfs=True)
    (b / "rootfs" / "etc" / "marker").write_text("own rootfs\n")
    assert ok(rt("run", "--bundle", str(b), cid, timeout=30)) == "own rootfs\n"


def _expected_mountpoints(cfg) -> set[str]:
    lx = cfg.get("linux") or {}
    return ({"/"} | {m["destination"] for m in cfg["mounts"]}
            | set(lx.get("maskedPaths") or []) | set(lx.get("readonlyPaths") or []))


@pytest.mark.parametrize("no_pivot", [False, True], ids=["pivot_root", "no-pivot"])
def test_host_root_not_visible(rt, make_bundle, cid, base_config, no_pivot):
    """config.md#root + runc (pivot_root, or MS_MOVE+chroot with --no-pivot): the root is
    the bundle's rootfs; no host mount and no host file is visible."""
    script = ("ls -A / | tr '\\n' ' '; echo; [ -e /etc/os-release ] && echo LEAK; "
              "cat /proc/self/mountinfo")
    b = make_bundle(args=["sh", "-c", script])
    rootfs_entries = sorted(os.listdir(json_root(b)))
    args = ("--no-pivot",) if no_pivot else ()
    out = ok(rt("run", *args, "--bundle", str(b), cid, timeout=30))
    lines = out.splitlines()
    assert sorted(lines[0].split()) == rootfs_entries
    assert "LEAK" not in out
    allowed = _expected_mountpoints(base_config)
    for m in parse_mountinfo(out):
        assert (m.mountpoint in allowed or m.mountpoint.startswith("/sys/fs/cgroup/")), m


def json_root(bundle: Path) -> str:
    import json

    p = json.loads((bundle / "config.json").read_text())["root"]["path"]
    return p if os.path.isabs(p) else str(bundle / p)


def test_no_pivot_with_private_propagation_refused(rt, make_bundle, cid, base_config):
    """config-linux.md#rootfs-mount-propagation + runc: --no-pivot with [r]private root
    propagation is refused (the host mounts could not be detached safely)."""
    cfg = config(base_config)
    cfg["linux"]["rootfsPropagation"] = "rprivate"
    b = make_bundle(cfg, args=["true"])
    p = rt("run", "--no-pivot", "--bundle", str(b), cid, timeout=30)
    assert p.returncode != 0
    assert "rootfsPropagation of [r]private is not safe without pivot_root" in p.stderr


# --- maskedPaths / readonlyPaths --------------------------------------------------------------


def test_masked_paths(rt, make_bundle, cid, base_config):
    """config-linux.md#masked-paths: a file reads empty (/dev/null over it), a directory is
    an empty read-only tmpfs, a missing path is skipped."""
    cfg = config(base_config)
    cfg["linux"]["maskedPaths"] = ["/etc/secret", "/srv/secretdir", "/proc/keys",
                                   "/proc/acpi", "/does/not/exist"]
    script = ("echo [$(cat /etc/secret)]; stat -c '%F %t,%T' /etc/secret; "
              "echo [$(ls -A /srv/secretdir)]; touch /srv/secretdir/x 2>&1; "
              "echo [$(cat /proc/keys)]; echo [$(ls -A /proc/acpi)]; "
              "echo leak > /etc/secret && echo wrote; "
              "grep -E ' /srv/secretdir | /proc/acpi ' /proc/self/mountinfo; exit 0")
    b = make_bundle(cfg, args=["sh", "-c", script], own_rootfs=True)
    (b / "rootfs" / "etc" / "secret").write_text("topsecret\n")
    (b / "rootfs" / "srv" / "secretdir").mkdir(parents=True)
    (b / "rootfs" / "srv" / "secretdir" / "inner").write_text("hidden\n")
    out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
    lines = out.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "character special file 1,3"
    assert lines[2] == "[]"
    assert "Read-only file system" in lines[3]
    assert lines[4] == "[]"
    assert lines[5] == "[]"
    assert lines[6] == "wrote"  # into /dev/null, not the file
    for m in parse_mountinfo(out):
        assert m.fstype == "tmpfs" and "ro" in m.options, m
    assert (b / "rootfs" / "etc" / "secret").read_text() == "topsecret\n"


def test_masked_paths_cannot_be_unmounted(rt, make_bundle, cid):
    """config-linux.md#masked-paths + security.md E5: without CAP_SYS_ADMIN the mask stays."""
    out = ok(sh(rt, make_bundle, cid, "umount /proc/keys 2>&1; umount /proc/acpi 2>&1; "
                "echo [$(cat /proc/keys)]; exit 0"))
    assert out.splitlines()[-1] == "[]"


def test_readonly_paths(rt, make_bundle, cid, base_config):
    """config-linux.md#readonly-paths: listed paths are read-only (EROFS), others stay
    writable, a missing path is skipped."""
    cfg = config(base_config)
    cfg["root"]["readonly"] = False
    cfg["linux"]["readonlyPaths"] = ["/srv/rodir", "/proc/sys", "/does/not/exist"]
    script = ("touch /srv/rodir/x 2>&1; touch /srv/rwdir/x && echo rw-ok; "
              "{ echo x > /proc/sys/kernel/domainname; } 2>&1; "
              "grep ' /srv/rodir ' /proc/self/mountinfo; exit 0")
    b = make_bundle(cfg, args=["sh", "-c", script], own_rootfs=True)
    (b / "rootfs" / "srv" / "rodir").mkdir(parents=True)
    (b / "rootfs" / "srv" / "rwdir").mkdir(parents=True)
    out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
    lines = out.splitlines()
    assert "Read-only file system" in lines[0]
    assert lines[1] == "rw-ok"
    assert "Read-only file system" in lines[2]
    assert "ro" in mount_at(parse_mountinfo(out), "/srv/rodir").options
    assert not (b / "rootfs" / "srv" / "rodir" / "x").exists()


# --- sysctl ------------------------------------------------------------------------------------


def test_sysctl_namespaced(rt, make_bundle, cid, base_config):
    """config-linux.md#sysctl: values are written in the container's namespaces (net, ipc)
    and the host's stay as they were."""
    keys = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "12345678",
            "net.core.somaxconn": "1234"}
    before = {k: Path("/proc/sys/" + k.replace(".", "/")).read_text() for k in keys}
    cfg = config(base_config)
    cfg["linux"]["sysctl"] = keys
    out = ok(sh(rt, make_bundle, cid, "cat " + " ".join(
        "/proc/sys/" + k.replace(".", "/") for k in keys), cfg=cfg))
    assert out.split() == list(keys.values())
    for k, v in before.items():
        assert Path("/proc/sys/" + k.replace(".", "/")).read_text() == v


def test_sysctl_not_namespaced_refused(rt, make_bundle, cid, base_config):
    """config-linux.md#sysctl (runc validation): a sysctl outside the container's
    namespaces is refused before anything is made; the host's value is unchanged."""
    before = Path("/proc/sys/vm/swappiness").read_text()
    cfg = config(base_config)
    cfg["linux"]["sysctl"] = {"vm.swappiness": "13"}
    p = sh(rt, make_bundle, cid, "true", cfg=cfg)
    assert p.returncode != 0
    assert ('sysctl "vm.swappiness" is not in a separate kernel namespace'
            in unquote_log(p.stderr))
    assert Path("/proc/sys/vm/swappiness").read_text() == before
    assert rt("state", cid).returncode != 0


def test_sysctl_net_without_netns_refused(rt, make_bundle, cid, base_config):
    """config-linux.md#sysctl: a net.* sysctl with the host network namespace is refused."""
    cfg = config(base_config)
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                  if n["type"] != "network"]
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    p = sh(rt, make_bundle, cid, "true", cfg=cfg)
    assert p.returncode != 0
    assert "net.ipv4.ip_forward" in p.stderr
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == before


# --- personality ------------------------------------------------------------------------------


@runc_lacks("ignores linux.personality")
def test_personality_linux32(rt, make_bundle, cid, base_config):
    """config-linux.md#personality: domain LINUX32 → ``uname -m`` reports i686."""
    if platform.machine() != "x86_64":
        pytest.skip("LINUX32 check written for x86_64 hosts")
    cfg = config(base_config)
    cfg["linux"]["personality"] = {"domain": "LINUX32"}
    assert ok(sh(rt, make_bundle, cid, "uname -m", cfg=cfg)) == "i686\n"


def test_personality_linux(rt, make_bundle, cid, base_config):
    """config-linux.md#personality: domain LINUX leaves the native machine name."""
    cfg = config(base_config)
    cfg["linux"]["personality"] = {"domain": "LINUX"}
    assert ok(sh(rt, make_bundle, cid, "uname -m", cfg=cfg)) == platform.machine() + "\n"
