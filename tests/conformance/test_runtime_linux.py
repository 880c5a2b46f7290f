"""runtime-linux.md (file descriptors, /dev symlinks) and the default filesystems and devices
that config-linux.md asks of every Linux container (#default-filesystems, #default-devices)."""

from __future__ import annotations

import pytest

from .harness import PROBE

clause = pytest.mark.clause

DEVICES = {  # path: (major, minor)
    "/dev/null": (1, 3),
    "/dev/zero": (1, 5),
    "/dev/full": (1, 7),
    "/dev/random": (1, 8),
    "/dev/urandom": (1, 9),
    "/dev/tty": (5, 0),
}
SYMLINKS = {
    "/dev/fd": "/proc/self/fd",
    "/dev/stdin": "/proc/self/fd/0",
    "/dev/stdout": "/proc/self/fd/1",
    "/dev/stderr": "/proc/self/fd/2",
}


def probe_args(*more: str) -> list[str]:
    return [PROBE, "all", *more]


def stat_args(paths) -> list[str]:
    return [a for p in paths for a in ("--stat", p)]


@clause("runtime-linux.md#file-descriptors")
def test_only_stdio_is_open_in_the_process(oci):
    out = oci.probe()
    assert sorted(out["fds"], key=int) == ["0", "1", "2"], f"open fds: {out['fds']}"


@clause("runtime-linux.md#dev-symbolic-links")
def test_dev_symlinks(oci):
    out = oci.probe(args=probe_args(*stat_args(SYMLINKS)))
    wrong = {}
    for link, target in SYMLINKS.items():
        st = out["stat"][link]
        if st.get("type") != "symlink" or st.get("target") != target:
            wrong[link] = st
    assert not wrong, f"expected symlinks {SYMLINKS}, got {wrong}"


@clause("config-linux.md#default-filesystems")
def test_default_filesystems(oci):
    """SHOULD: /proc proc, /sys sysfs, /dev/pts devpts, /dev/shm tmpfs (the default config
    lists them as mounts; this checks they arrive with those types)."""
    out = oci.probe()
    top = {m["mount_point"]: m["fstype"] for m in out["mounts"]}  # last mount on a path wins
    want = {"/proc": "proc", "/sys": "sysfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs"}
    got = {p: top.get(p) for p in want}
    assert got == want


@clause("config-linux.md#default-devices")
def test_default_devices(oci):
    out = oci.probe(args=probe_args(*stat_args(DEVICES)))
    wrong = {}
    for path, (major, minor) in DEVICES.items():
        st = out["stat"][path]
        if (st.get("type"), st.get("major"), st.get("minor")) != ("char", major, minor):
            wrong[path] = st
    assert not wrong, f"wrong or missing default devices: {wrong}"


@clause("config-linux.md#default-devices")
def test_default_devices_mode_0666(oci):
    """SHOULD (the spec's device example and every runtime use 0666)."""
    out = oci.probe(args=probe_args(*stat_args(DEVICES)))
    modes = {p: oct(out["stat"][p].get("mode", 0)) for p in DEVICES}
    assert modes == {p: "0o666" for p in DEVICES}


@clause("config-linux.md#default-devices")
def test_default_devices_usable_by_non_root(oci):
    paths = [p for p in DEVICES if p != "/dev/tty"]  # /dev/tty needs a controlling terminal
    b = oci.bundle(args=[PROBE, "write", *paths])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.write()
    out = oci.probe(b)
    errors = {p: r["error"] for p, r in out["write"].items() if r["errno"]}
    assert not errors, f"not writable by uid 1000: {errors}"


@clause("config-linux.md#default-devices")
def test_dev_ptmx_is_the_containers_ptmx(oci):
    """/dev/ptmx: "a bind-mount or symlink of the container's ptmx" (/dev/pts/ptmx)."""
    out = oci.probe(args=probe_args("--stat", "/dev/ptmx", "--stat", "/dev/pts/ptmx"))
    st = out["stat"]["/dev/ptmx"]
    if st.get("type") == "symlink":
        assert st["target"] in ("pts/ptmx", "/dev/pts/ptmx"), st
    else:
        top = {m["mount_point"]: m for m in out["mounts"]}
        assert "/dev/ptmx" in top and top["/dev/ptmx"]["fstype"] == "devpts", \
            f"/dev/ptmx is neither a symlink to pts/ptmx nor a bind of it: {st}"
    pts = out["stat"]["/dev/pts/ptmx"]
    assert (pts.get("type"), pts.get("major"), pts.get("minor")) == ("char", 5, 2)


@clause("config-linux.md#default-devices", "config.md#process")
def test_dev_console_with_terminal(oci):
    """/dev/console is set up with terminal: true, by bind mounting the process's pty."""
    b = oci.bundle(args=probe_args("--stat", "/dev/console"))
    b.config["process"]["terminal"] = True
    b.write()
    out = oci.probe(b, console=oci.console())
    st = out["stat"]["/dev/console"]
    tty = out["tty"]["0"]
    assert tty["isatty"], "stdin is not a terminal"
    assert st.get("type") == "char", f"/dev/console: {st}"
    assert (st["major"], st["minor"]) == (tty["major"], tty["minor"]), \
        f"/dev/console {st} is not the process's pty {tty}"
