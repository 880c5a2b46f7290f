"""config-linux.md: namespaces, user namespace mappings, time offsets, devices, network
devices, sysctl, seccomp, rootfs propagation, masked and read-only paths, mount label,
personality and memory policy.

Control groups (cgroupsPath, linux.resources, intelRdt) are in test_config_linux_cgroups.py,
the v1.3 process fields (ioPriority, scheduler, execCPUAffinity) in
test_config_process_linux.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from .harness import PROBE, comm, host_ns, proc_stat

clause = pytest.mark.clause

NS_TYPES = ["pid", "network", "ipc", "uts", "mount", "cgroup", "user", "time"]
PROC_NS = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
           "cgroup": "cgroup", "user": "user", "time": "time"}
UNSHARE = {"pid": "--pid", "network": "--net", "ipc": "--ipc", "uts": "--uts",
           "mount": "--mount", "cgroup": "--cgroup", "user": "--user", "time": "--time"}
USERNS_HOST_ID = 100000
USERNS_SIZE = 65536


def bundle_with(oci, *more: str, edit=None, args=None, **kw):
    """A bundle running ``probe all MORE...`` (or ``args``), after ``edit(config)``."""
    b = oci.bundle(args=args or [PROBE, "all", *more], **kw)
    if edit:
        edit(b.config)
        b.write()
    return b


def probe(oci, *more: str, edit=None, **kw) -> dict:
    return oci.probe(bundle_with(oci, *more, edit=edit, **kw))


def marker(oci, edit=None, **kw):
    """A marker bundle (its program logs a ``process`` entry) for expect_error, after edit."""
    b = oci.marker_bundle(**kw)
    if edit:
        edit(b.config)
        b.write()
    return b


def set_ns(cfg, kind: str, path: str | None = None, present: bool = True) -> None:
    """Replace, add or (present=False) remove the namespace entry of ``kind``."""
    nss = [n for n in cfg["linux"]["namespaces"] if n["type"] != kind]
    if present:
        entry = {"type": kind}
        if path:
            entry["path"] = path
        nss.append(entry)
    cfg["linux"]["namespaces"] = nss


def has_kernel_ns(kind: str) -> bool:
    return os.path.exists(f"/proc/self/ns/{PROC_NS[kind]}")


def chown_tree(root: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.lchown(dirpath, uid, gid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def userns_bundle(oci, *more: str, mappings=None, args=None):
    """A bundle with a new user namespace whose root is host uid 100000: the bundle lives in
    a directory every uid can traverse and its rootfs copy is chowned to the mapped range
    (the suite does that, not the runtime: it SHOULD NOT change ownership itself)."""
    b = oci.bundle(args=args or [PROBE, "all", *more], public=True)
    uid = mappings or [{"containerID": 0, "hostID": USERNS_HOST_ID, "size": USERNS_SIZE}]
    set_ns(b.config, "user")
    b.config["linux"]["uidMappings"] = uid
    b.config["linux"]["gidMappings"] = uid
    b.config["root"]["readonly"] = False
    chown_tree(b.rootfs, uid[0]["hostID"], uid[0]["hostID"])
    b.write()
    return b


# ---- namespace holders: processes in new namespaces of one type, to join by path -----------

@pytest.fixture
def ns_holder(oci):
    """``make(kind)`` starts ``unshare --<kind> sleep`` and returns the path of its new
    namespace (``/proc/PID/ns/X``; a user namespace gets the identity mapping of ids
    0-65535); the processes are killed when the test ends."""
    procs: list[tuple[subprocess.Popen, int]] = []

    def make(kind: str) -> str:
        if not has_kernel_ns(kind):
            pytest.skip(f"this kernel has no {kind} namespaces")
        fork = kind in ("pid", "time")  # these apply to the children of the caller
        argv = ["unshare", UNSHARE[kind]]
        if fork:
            argv += ["--fork", "--kill-child"]
        argv += ["sleep", "300"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        target = 0
        procs.append((p, 0))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited: {p.stderr.read().decode()}")
            target = p.pid
            if fork:
                try:
                    kids = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
                except OSError:
                    kids = []
                target = int(kids[0]) if kids else 0
            if target and comm(target) == "sleep":
                try:
                    link = os.readlink(f"/proc/{target}/ns/{PROC_NS[kind]}")
                except OSError:
                    link = ""
                if link and link != host_ns(PROC_NS[kind]):
                    procs[-1] = (p, target)
                    if kind == "user":  # ids 0-65535 map to themselves (devpts gid=5 etc.)
                        for f in ("uid_map", "gid_map"):
                            Path(f"/proc/{target}/{f}").write_text("0 0 65536\n")
                    return f"/proc/{target}/ns/{PROC_NS[kind]}"
            time.sleep(0.01)
        raise RuntimeError(f"{' '.join(argv)}: no new {kind} namespace after 10 s")

    yield make
    for p, child in procs:
        for pid in (child, p.pid):
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        p.wait()
        if child:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                st = proc_stat(child)
                if st is None:
                    break
                if st[0] in "ZX":
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(child, os.WNOHANG)
                    if st[1] != os.getpid():
                        break
                time.sleep(0.01)


# ---- namespaces -----------------------------------------------------------------------------

@clause("config-linux.md#namespaces")
@pytest.mark.parametrize("kind", NS_TYPES)
def test_namespace_without_path_is_new(oci, kind):
    """No ``path``: the runtime MUST create a new container namespace of that type."""
    if not has_kernel_ns(kind):
        pytest.skip(f"this kernel has no {kind} namespaces")
    if kind == "user":
        b = userns_bundle(oci)
    else:
        b = bundle_with(oci, edit=lambda c: set_ns(c, kind))
    out = oci.probe(b)
    assert out["ns"][PROC_NS[kind]] != host_ns(PROC_NS[kind]), \
        f"the container's {kind} namespace is the runtime's"


@clause("config-linux.md#namespaces")
@pytest.mark.parametrize("kind", NS_TYPES)
def test_namespace_path_is_joined(oci, ns_holder, kind):
    """With ``path``: the runtime MUST place the container process in that namespace."""
    path = ns_holder(kind)
    want = os.readlink(path)

    def edit(c):
        set_ns(c, kind, path)
        if kind == "uts":
            c.pop("hostname", None)  # leave the holder's hostname alone
    out = probe(oci, edit=edit)
    assert out["ns"][PROC_NS[kind]] == want, \
        f"the container's {kind} namespace is {out['ns'][PROC_NS[kind]]}, not {path} ({want})"


@clause("config-linux.md#namespaces")
@pytest.mark.parametrize("kind", NS_TYPES)
def test_namespace_not_listed_is_inherited(oci, kind):
    """A type missing from ``namespaces``: the container MUST inherit the runtime's."""
    if not has_kernel_ns(kind):
        pytest.skip(f"this kernel has no {kind} namespaces")

    def edit(c):
        set_ns(c, kind, present=False)
        if kind == "uts":
            c.pop("hostname", None)  # a hostname needs a UTS namespace of its own
    out = probe(oci, edit=edit)
    assert out["ns"][PROC_NS[kind]] == host_ns(PROC_NS[kind]), \
        f"the container got a {kind} namespace of its own"


@clause("config-linux.md#namespaces", "runtime.md#errors")
def test_namespace_path_not_a_namespace_errors(oci, tmp_path):
    """``path`` not associated with a namespace: the runtime MUST generate an error."""
    not_ns = tmp_path / "not-a-namespace"
    not_ns.write_text("x")
    oci.expect_error(marker(oci, edit=lambda c: set_ns(c, "network", str(not_ns))))


@clause("config-linux.md#namespaces", "runtime.md#errors")
def test_namespace_path_of_another_type_errors(oci, ns_holder):
    """``path`` of a namespace of another type (a UTS namespace given as ``network``): the
    runtime MUST generate an error."""
    uts = ns_holder("uts")
    oci.expect_error(marker(oci, edit=lambda c: set_ns(c, "network", uts)))


@clause("config-linux.md#namespaces", "runtime.md#errors")
def test_namespace_duplicated_type_errors(oci):
    """Duplicated namespaces with the same ``type``: the runtime MUST generate an error."""
    def edit(c):
        c["linux"]["namespaces"].append({"type": "ipc"})
    oci.expect_error(marker(oci, edit=edit))


# ---- user namespace mappings ----------------------------------------------------------------

def _map_lines(text: str) -> list[list[int]]:
    return [[int(x) for x in line.split()] for line in text.splitlines() if line.strip()]


@clause("config-linux.md#user-namespace-mappings")
def test_uid_gid_mappings_are_written(oci):
    """uidMappings/gidMappings (two ranges each) are the user namespace's uid_map/gid_map,
    and container root is the mapped host uid."""
    maps = [{"containerID": 0, "hostID": USERNS_HOST_ID, "size": 1000},
            {"containerID": 1000, "hostID": USERNS_HOST_ID + 5000, "size": 2000}]
    b = userns_bundle(oci, mappings=maps, args=[PROBE, "all", "--sleep", "0"])
    cid, pid = oci.running(b)
    want = [[m["containerID"], m["hostID"], m["size"]] for m in maps]
    assert _map_lines(Path(f"/proc/{pid}/uid_map").read_text()) == want
    assert _map_lines(Path(f"/proc/{pid}/gid_map").read_text()) == want
    status = Path(f"/proc/{pid}/status").read_text()
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids == [str(USERNS_HOST_ID)] * 4, f"host view of container root's uids: {uids}"
    out = json.loads(_wait_output(oci, cid))
    assert (out["uid"], out["gid"]) == (0, 0)
    assert _map_lines(out["idmap"]["uid_map"]) == want


def _wait_output(oci, cid: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = oci.output(cid)
        if text.endswith("\n"):
            return text
        time.sleep(0.02)
    raise AssertionError(f"no output from the container: {oci.errput(cid)!r}")


@clause("config-linux.md#user-namespace-mappings")
def test_mappings_do_not_change_rootfs_ownership(oci):
    """SHOULD NOT: the runtime does not chown the referenced filesystems to realize the
    mapping (the rootfs here is owned by the mapped root; a file owned by another host uid
    keeps its owner)."""
    b = userns_bundle(oci)
    odd = b.rootfs / "etc" / "owned-by-4242"
    odd.write_text("x")
    os.lchown(odd, 4242, 4242)
    before = {p: (p.lstat().st_uid, p.lstat().st_gid)
              for p in [b.rootfs, b.rootfs / "probe", b.rootfs / "etc", odd]}
    oci.probe(b)
    after = {p: (p.lstat().st_uid, p.lstat().st_gid) for p in before}
    assert after == before


# ---- time offsets ---------------------------------------------------------------------------

@clause("config-linux.md#offset-for-time-namespace")
def test_time_offsets(oci):
    """timeOffsets are the new time namespace's offsets: /proc/self/timens_offsets shows them
    and the container's CLOCK_MONOTONIC / CLOCK_BOOTTIME are the host's plus the offset."""
    if not has_kernel_ns("time"):
        pytest.skip("this kernel has no time namespaces")
    mono = {"secs": 7 * 86400, "nanosecs": 250_000_000}
    boot = {"secs": 3 * 86400, "nanosecs": 0}

    def edit(c):
        set_ns(c, "time")
        c["linux"]["timeOffsets"] = {"monotonic": mono, "boottime": boot}
    b = bundle_with(oci, "--read", "/proc/self/timens_offsets", edit=edit)
    t0 = {k: time.clock_gettime_ns(v) for k, v in
          (("monotonic", time.CLOCK_MONOTONIC), ("boottime", time.CLOCK_BOOTTIME))}
    out = oci.probe(b)
    t1 = {k: time.clock_gettime_ns(v) for k, v in
          (("monotonic", time.CLOCK_MONOTONIC), ("boottime", time.CLOCK_BOOTTIME))}
    offsets = {line.split()[0]: [int(x) for x in line.split()[1:]]
               for line in out["read"]["/proc/self/timens_offsets"]["head"].splitlines()}
    assert offsets.get("monotonic") == [mono["secs"], mono["nanosecs"]], offsets
    assert offsets.get("boottime") == [boot["secs"], boot["nanosecs"]], offsets
    for name, off in (("monotonic", mono), ("boottime", boot)):
        off_ns = off["secs"] * 10**9 + off["nanosecs"]
        assert t0[name] + off_ns <= out["clocks"][name] <= t1[name] + off_ns, \
            f"{name}: container {out['clocks'][name]}, host {t0[name]}..{t1[name]}, " \
            f"offset {off_ns}"


# ---- devices --------------------------------------------------------------------------------

def _device_stat(oci, devices, *paths, edit=None):
    def ed(c):
        c["linux"]["devices"] = devices
        if edit:
            edit(c)
    out = probe(oci, *[a for p in paths for a in ("--stat", p)], edit=ed)
    return out


@clause("config-linux.md#devices")
@pytest.mark.parametrize("dev,want", [
    ({"path": "/dev/conf-char", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
      "uid": 1000, "gid": 100}, {"type": "char", "major": 1, "minor": 3, "mode": 0o640,
                                 "uid": 1000, "gid": 100}),
    ({"path": "/dev/conf-block", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600,
      "uid": 0, "gid": 6}, {"type": "block", "major": 7, "minor": 0, "mode": 0o600, "uid": 0,
                            "gid": 6}),
    ({"path": "/dev/conf-unbuffered", "type": "u", "major": 1, "minor": 5, "fileMode": 0o666,
      "uid": 0, "gid": 0}, {"type": "char", "major": 1, "minor": 5, "mode": 0o666, "uid": 0,
                            "gid": 0}),
    ({"path": "/dev/conf-fifo", "type": "p", "fileMode": 0o620, "uid": 5, "gid": 5},
     {"type": "fifo", "mode": 0o620, "uid": 5, "gid": 5}),
], ids=["char", "block", "unbuffered", "fifo"])
def test_device_is_created_exactly(oci, dev, want):
    """Each listed device MUST be available: its type, major/minor, fileMode, uid and gid are
    exactly the configured ones."""
    st = _device_stat(oci, [dev], dev["path"])["stat"][dev["path"]]
    got = {k: st.get(k) for k in want}
    assert got == want, f"{dev['path']}: {st}"


@clause("config-linux.md#devices")
def test_device_is_usable(oci):
    """A listed device (allowed in the device cgroup) can be opened in the container."""
    dev = {"path": "/dev/conf-zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666}

    def edit(c):
        c["linux"]["devices"] = [dev]
        c["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    out = probe(oci, "--read", "/dev/conf-zero", "--write", "/dev/conf-zero", edit=edit)
    assert out["write"]["/dev/conf-zero"]["error"] == "OK"
    assert out["read"]["/dev/conf-zero"]["error"] == "OK"
    assert out["read"]["/dev/conf-zero"]["head"] == "\0" * 64


@clause("config-linux.md#devices")
def test_device_outside_dev(oci):
    """The path MAY be anywhere in the container filesystem, notably outside of /dev."""
    dev = {"path": "/conf-devices/null", "type": "c", "major": 1, "minor": 3,
           "fileMode": 0o666, "uid": 0, "gid": 0}
    st = _device_stat(oci, [dev], dev["path"])["stat"][dev["path"]]
    assert (st.get("type"), st.get("major"), st.get("minor")) == ("char", 1, 3), st


@clause("config-linux.md#devices", "runtime.md#errors")
def test_device_path_with_a_different_file_errors(oci):
    """A file already at ``path`` that does not match the requested device: the runtime MUST
    generate an error."""
    b = marker(oci, edit=lambda c: c["linux"].update(devices=[
        {"path": "/conf-existing", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]))
    (b.rootfs / "conf-existing").write_text("a regular file, not a device")
    oci.expect_error(b)


@clause("config-linux.md#devices", "config-linux.md#default-devices")
def test_listed_default_device_is_not_duplicated(oci):
    """A default device also listed in ``devices`` is supplied once, as listed (the
    listed fileMode/uid/gid), and the container starts. (Access is the device cgroup's
    business, so the config allows c 1:3 explicitly: runc drops its default rule for a
    default device the config lists.)"""
    dev = {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666,
           "uid": 1000, "gid": 100}
    out = _device_stat(oci, [dev], "/dev/null", edit=lambda c: c["linux"]["resources"][
        "devices"].append({"allow": True, "type": "c", "major": 1, "minor": 3,
                           "access": "rwm"}))
    st = out["stat"]["/dev/null"]
    assert {k: st.get(k) for k in ("type", "major", "minor", "mode", "uid", "gid")} == \
        {"type": "char", "major": 1, "minor": 3, "mode": 0o666, "uid": 1000, "gid": 100}
    on_null = [m for m in out["mounts"] if m["mount_point"] == "/dev/null"]
    assert len(on_null) <= 1, f"/dev/null is mounted {len(on_null)} times: {on_null}"


# ---- network devices ------------------------------------------------------------------------

def _ip(*args: str, netns_pid: int | None = None, check: bool = True):
    argv = ["ip", *args]
    if netns_pid:
        argv = ["nsenter", f"--net=/proc/{netns_pid}/ns/net", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=check)


def _links(netns_pid: int | None = None) -> dict[str, dict]:
    out = _ip("-j", "addr", "show", netns_pid=netns_pid).stdout
    return {link["ifname"]: link for link in json.loads(out or "[]")}


@pytest.fixture
def dummy_link():
    """``make(address=None)``: a virtual interface on the host with a unique name (optionally
    with a permanent global IPv4 address from TEST-NET-1; nothing is sent), removed from the
    host when the test ends, whatever happened. A ``dummy`` interface where the kernel has
    the driver, else one end of a ``veth`` pair (this host's kernel has no dummy driver), whose
    peer stays on the host."""
    if shutil.which("ip") is None or shutil.which("nsenter") is None:
        pytest.skip("iproute2 (ip) and util-linux (nsenter) are needed")
    made: list[str] = []

    def make(address: str | None = None) -> str:
        name = "cf" + uuid.uuid4().hex[:10]
        p = _ip("link", "add", name, "type", "dummy", check=False)
        if p.returncode != 0:
            p = _ip("link", "add", name, "type", "veth", "peer", "name", name + "p", check=False)
            if p.returncode == 0:
                made.append(name + "p")
        if p.returncode != 0:
            pytest.skip(f"cannot create a dummy or veth interface here: {p.stderr.strip()}")
        made.append(name)
        if address:
            _ip("addr", "add", address, "dev", name)
        return name

    yield make
    for name in made:
        _ip("link", "del", name, check=False)


@clause("config-linux.md#network-devices")
def test_net_device_is_moved_by_name(oci, dummy_link):
    """A host device listed in netDevices MUST be made available in the container (under
    the host name when no ``name`` is given): it is in the container's network namespace and
    no longer on the host."""
    name = dummy_link()
    b = bundle_with(oci, "--sleep", "0",
                    edit=lambda c: c["linux"].update(netDevices={name: {}}))
    cid, pid = oci.running(b)
    inside = _links(pid)
    assert name in inside, f"{name} is not in the container: {sorted(inside)}"
    assert name not in _links(), f"{name} is still on the host"


@clause("config-linux.md#network-devices")
def test_net_device_is_renamed(oci, dummy_link):
    """``name``: the device's name inside the container namespace."""
    name = dummy_link()
    b = bundle_with(oci, "--sleep", "0",
                    edit=lambda c: c["linux"].update(netDevices={name: {"name": "ctr0"}}))
    cid, pid = oci.running(b)
    inside = _links(pid)
    assert "ctr0" in inside and name not in inside, sorted(inside)
    assert name not in _links(), f"{name} is still on the host"


@clause("config-linux.md#network-devices")
def test_net_device_is_up_with_its_addresses(oci, dummy_link):
    """The runtime MUST set the device up after moving it and MUST preserve its permanent
    global-scope addresses."""
    name = dummy_link(address="192.0.2.77/24")
    b = bundle_with(oci, "--sleep", "0",
                    edit=lambda c: c["linux"].update(netDevices={name: {"name": "ctr1"}}))
    cid, pid = oci.running(b)
    link = _links(pid).get("ctr1")
    assert link is not None, "the device is not in the container"
    assert "UP" in link.get("flags", []), f"the device is not up: {link.get('flags')}"
    addrs = [(a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
             if a.get("family") == "inet"]
    assert addrs == [("192.0.2.77", 24)], f"addresses inside: {link.get('addr_info')}"


@clause("config-linux.md#network-devices", "runtime.md#errors")
def test_net_device_name_taken_in_container_errors(oci, dummy_link):
    """A device with the requested name already exists in the container namespace (``lo``):
    the runtime MUST generate an error."""
    name = dummy_link()
    oci.expect_error(marker(oci, edit=lambda c: c["linux"].update(
        netDevices={name: {"name": "lo"}})))


@clause("config-linux.md#network-devices")
def test_net_device_name_template(oci, dummy_link):
    """A ``name`` ending in ``%d`` is a template: the runtime MUST allow the move and the
    kernel picks a free name (``ctr0`` in a fresh namespace)."""
    name = dummy_link()
    b = bundle_with(oci, "--sleep", "0",
                    edit=lambda c: c["linux"].update(netDevices={name: {"name": "ctr%d"}}))
    cid, pid = oci.running(b)
    inside = sorted(_links(pid))
    assert any(n.startswith("ctr") and n[3:].isdigit() for n in inside), inside
    assert name not in _links(), f"{name} is still on the host"


@clause("config-linux.md#network-devices", "runtime.md#errors")
def test_net_device_missing_on_host_errors(oci):
    """The runtime MUST check that the move is possible: a device the host does not have is
    an error."""
    missing = "cfno" + uuid.uuid4().hex[:8]
    oci.expect_error(marker(oci, edit=lambda c: c["linux"].update(
        netDevices={missing: {}})))


# ---- sysctl ---------------------------------------------------------------------------------

@clause("config-linux.md#sysctl")
def test_sysctl_applied(oci):
    """Kernel parameters in ``sysctl`` are set for the container (namespaced ones: net.* in
    its network namespace, kernel.msg*/shm* in its IPC namespace, kernel.domainname in its
    UTS namespace)."""
    want = {"net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "40000\t50000",
            "kernel.msgmax": "4096", "kernel.shmmni": "1234"}

    def edit(c):
        c["linux"]["sysctl"] = {k: v.replace("\t", " ") for k, v in want.items()}
    out = probe(oci, *[a for k in want for a in ("--sysctl", k)], edit=edit)
    assert out["sysctl"] == want


@clause("config-linux.md#sysctl", "runtime.md#errors")
def test_sysctl_not_namespaced_errors(oci):
    """A sysctl that no container namespace isolates (vm.swappiness) would change the host:
    the runtime refuses it (runc's rule; the spec's sysctl text has no MUST, so this is the
    safe behaviour checked, with the host's own value so that nothing changes either way)."""
    current = Path("/proc/sys/vm/swappiness").read_text().strip()
    oci.expect_error(marker(oci, edit=lambda c: c["linux"].update(
        sysctl={"vm.swappiness": current})))
    assert Path("/proc/sys/vm/swappiness").read_text().strip() == current


@clause("config-linux.md#sysctl", "runtime.md#errors")
def test_sysctl_of_a_shared_namespace_errors(oci):
    """A net.* sysctl while the container shares the host's network namespace would change
    the host: the runtime refuses it (runc's rule; checked with the host's own value)."""
    current = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()

    def edit(c):
        set_ns(c, "network", present=False)
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": current}
    oci.expect_error(marker(oci, edit=edit))
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == current


# ---- seccomp --------------------------------------------------------------------------------

def _seccomp(c, *rules, default="SCMP_ACT_ALLOW", **extra):
    c["linux"]["seccomp"] = {"defaultAction": default,
                             "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                               "SCMP_ARCH_X32"],
                             "syscalls": list(rules), **extra}


@clause("config-linux.md#seccomp")
def test_seccomp_filter_is_installed(oci):
    """With ``seccomp`` the process runs under a seccomp filter (Seccomp: 2)."""
    out = probe(oci, edit=lambda c: _seccomp(
        c, {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 74}))
    assert out["status"]["Seccomp"] == "2"


@clause("config-linux.md#seccomp")
def test_seccomp_rule_with_errno_ret(oci):
    """A matched syscall gets the rule's action; ``errnoRet`` is the errno returned."""
    out = probe(oci, "--syscall", "getppid", "--syscall", "getpid", edit=lambda c: _seccomp(
        c, {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 74}))
    assert out["syscall"]["getppid"]["errno"] == 74, out["syscall"]
    assert out["syscall"]["getpid"]["errno"] == 0, out["syscall"]


@clause("config-linux.md#seccomp")
def test_seccomp_errno_defaults_to_eperm(oci):
    """``errnoRet`` not specified: its default value is EPERM."""
    out = probe(oci, "--syscall", "getppid", edit=lambda c: _seccomp(
        c, {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}))
    assert out["syscall"]["getppid"]["errno"] == 1, out["syscall"]


@clause("config-linux.md#seccomp")
def test_seccomp_argument_filter(oci):
    """``args``: the rule matches only when the argument comparison holds
    (getpriority(PRIO_PROCESS, 0) is refused, getpriority(PRIO_PGRP, 0) is not)."""
    out = probe(oci, "--syscall", "getpriority0", "--syscall", "getpriority1",
                edit=lambda c: _seccomp(c, {
                    "names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 74,
                    "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}))
    assert out["syscall"]["getpriority0"]["errno"] == 74, out["syscall"]
    assert out["syscall"]["getpriority1"]["errno"] == 0, out["syscall"]


@clause("config-linux.md#seccomp", "runtime.md#errors")
def test_seccomp_errno_ret_on_an_action_without_errno_errors(oci):
    """``errnoRet`` on an action that does not support an errno (SCMP_ACT_ALLOW): the runtime
    MUST print an error and fail."""
    oci.expect_error(marker(oci, edit=lambda c: _seccomp(
        c, {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5},
        default="SCMP_ACT_ALLOW")))


# ---- rootfs mount propagation ---------------------------------------------------------------

def _host_mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, timeout=30, capture_output=True)


def _host_umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], timeout=30, check=False, capture_output=True)


def _mountinfo(path: str) -> list[dict]:
    out = []
    for line in Path(path).read_text().splitlines():
        left, _, right = line.partition(" - ")
        f = left.split()
        out.append({"mount_point": f[4].replace("\\040", " "), "optional": f[6:],
                    "fstype": right.split()[0]})
    return out


@pytest.fixture
def shared_mount(tmp_path):
    """A host tmpfs made shared (this host's mounts are private), with a ``sub`` directory;
    everything mounted under it is unmounted when the test ends."""
    src = tmp_path / "shared-src"
    src.mkdir()
    _host_mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(src))
    try:
        _host_mount("--make-shared", str(src))
        (src / "sub").mkdir()
        (src / "sub2").mkdir()
        yield src
    finally:
        _host_umount(src / "sub")
        _host_umount(src / "sub2")
        _host_umount(src)


def _propagation_container(oci, shared_mount, prop):
    def edit(c):
        c["linux"]["rootfsPropagation"] = prop
        c["mounts"].append({"destination": "/mnt/shared", "type": "bind",
                            "source": str(shared_mount), "options": ["rbind"]})
    b = bundle_with(oci, "--sleep", "0", edit=edit)
    return oci.running(b)


def _sees_host_mount(pid: int, shared_mount: Path) -> bool:
    _host_mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(shared_mount / "sub"))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if any(m["mount_point"] == "/mnt/shared/sub" for m in _mountinfo(f"/proc/{pid}/mountinfo")):
            return True
        time.sleep(0.05)
    return False


@clause("config-linux.md#rootfs-mount-propagation")
def test_rootfs_propagation_slave(oci, shared_mount):
    """``slave``: a mount the host makes (under a shared host mount bound into the container)
    appears in the container, and a mount made in the container does not reach the host."""
    cid, pid = _propagation_container(oci, shared_mount, "slave")
    assert _sees_host_mount(pid, shared_mount), "the host's mount did not reach the container"
    p = subprocess.run(["nsenter", f"--mount=/proc/{pid}/ns/mnt", "mount", "-t", "tmpfs",
                        "tmpfs", "/mnt/shared/sub2"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, f"mounting inside the container failed: {p.stderr}"
    time.sleep(0.2)
    host = [m["mount_point"] for m in _mountinfo("/proc/self/mountinfo")]
    assert str(shared_mount / "sub2") not in host, "the container's mount reached the host"


@clause("config-linux.md#rootfs-mount-propagation")
def test_rootfs_propagation_private(oci, shared_mount):
    """``private``: the rootfs does not receive mount events from the host."""
    cid, pid = _propagation_container(oci, shared_mount, "private")
    assert not _sees_host_mount(pid, shared_mount), "the host's mount reached the container"


@clause("config-linux.md#rootfs-mount-propagation")
def test_rootfs_propagation_shared(oci, shared_mount):
    """``shared``: the rootfs mount belongs to a peer group (its mountinfo has ``shared:N``),
    so mounts under it propagate within that group."""
    cid, pid = _propagation_container(oci, shared_mount, "shared")
    root = [m for m in _mountinfo(f"/proc/{pid}/mountinfo") if m["mount_point"] == "/"][-1]
    assert any(t.startswith("shared:") for t in root["optional"]), root


@clause("config-linux.md#rootfs-mount-propagation")
def test_rootfs_propagation_unbindable(oci, shared_mount):
    """``unbindable``: the rootfs mount is a private mount that cannot be bind-mounted."""
    cid, pid = _propagation_container(oci, shared_mount, "unbindable")
    root = [m for m in _mountinfo(f"/proc/{pid}/mountinfo") if m["mount_point"] == "/"][-1]
    assert "unbindable" in root["optional"], root
    assert not any(t.startswith(("shared:", "master:")) for t in root["optional"]), root


# ---- masked and read-only paths -------------------------------------------------------------

@clause("config-linux.md#masked-paths")
def test_masked_paths_cannot_be_read(oci):
    """maskedPaths: the file's content and the directory's entries cannot be read (a path
    that does not exist is no error)."""
    def edit(c):
        c["linux"]["maskedPaths"] = ["/etc/conf-secret", "/etc/conf-secret-dir",
                                     "/etc/conf-not-there"]
    b = bundle_with(oci, "--read", "/etc/conf-secret", "--ls", "/etc/conf-secret-dir",
                    "--read", "/etc/conf-secret-dir/inner", "--read", "/etc/conf-visible",
                    edit=edit)
    (b.rootfs / "etc" / "conf-secret").write_text("secret file")
    (b.rootfs / "etc" / "conf-secret-dir").mkdir()
    (b.rootfs / "etc" / "conf-secret-dir" / "inner").write_text("secret in a dir")
    (b.rootfs / "etc" / "conf-visible").write_text("visible")
    out = oci.probe(b)
    f = out["read"]["/etc/conf-secret"]
    assert f["errno"] != 0 or f["size"] == 0, f"masked file readable: {f}"
    d = out["ls"]["/etc/conf-secret-dir"]
    assert not isinstance(d, list) or d == [], f"masked directory lists {d}"
    inner = out["read"]["/etc/conf-secret-dir/inner"]
    assert inner["errno"] != 0, f"a file in a masked directory is readable: {inner}"
    assert out["read"]["/etc/conf-visible"]["head"] == "visible"


@clause("config-linux.md#readonly-paths")
def test_readonly_paths(oci):
    """readonlyPaths: files and directories there cannot be written (EROFS) and stay
    readable; the rest of a writable rootfs stays writable."""
    def edit(c):
        c["root"]["readonly"] = False
        c["linux"]["readonlyPaths"] = ["/etc/conf-ro-dir", "/etc/conf-ro-file"]
    b = bundle_with(oci, "--write", "/etc/conf-ro-dir", "--write", "/etc/conf-ro-dir/f",
                    "--write", "/etc/conf-ro-file", "--write", "/etc",
                    "--read", "/etc/conf-ro-file", edit=edit)
    (b.rootfs / "etc" / "conf-ro-dir").mkdir()
    (b.rootfs / "etc" / "conf-ro-dir" / "f").write_text("x")
    (b.rootfs / "etc" / "conf-ro-file").write_text("read me")
    out = oci.probe(b)
    assert {p: r["error"] for p, r in out["write"].items()} == {
        "/etc/conf-ro-dir": "EROFS", "/etc/conf-ro-dir/f": "EROFS",
        "/etc/conf-ro-file": "EROFS", "/etc": "OK"}
    assert out["read"]["/etc/conf-ro-file"]["head"] == "read me"


# ---- mount label ----------------------------------------------------------------------------

@clause("config-linux.md#mount-label")
def test_mount_label(oci):
    """mountLabel sets the SELinux context of the container's mounts."""
    if not os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("mountLabel: SELinux is not enabled on this host (no /sys/fs/selinux)")
    label = "system_u:object_r:container_file_t:s0:c1,c2"

    def edit(c):
        c["linux"]["mountLabel"] = label
        c["mounts"].append({"destination": "/mnt/labeled", "type": "tmpfs",
                            "source": "tmpfs", "options": ["size=1m"]})
    out = probe(oci, edit=edit)
    m = [m for m in out["mounts"] if m["mount_point"] == "/mnt/labeled"][-1]
    assert f'context="{label}"' in m["super_options"] or label in m["super_options"], m


# ---- personality ----------------------------------------------------------------------------

@clause("config-linux.md#personality")
@pytest.mark.parametrize("domain,machine,persona", [("LINUX32", "i686", 0x0008),
                                                    ("LINUX", os.uname().machine, 0)])
def test_personality(oci, domain, machine, persona):
    """``domain`` LINUX32 makes uname show a 32-bit CPU type (i686); LINUX is the native
    execution domain."""
    if os.uname().machine != "x86_64":
        pytest.skip("the expected machine names are those of x86_64")
    out = probe(oci, edit=lambda c: c["linux"].update(personality={"domain": domain}))
    assert out["sched"]["machine"] == machine
    assert out["sched"]["personality"] & 0xFF == persona


@clause("config-linux.md#personality", "config.md#valid-values")
def test_personality_unknown_domain_errors(oci):
    """An unsupported ``domain`` value: the runtime MUST generate an error."""
    oci.expect_error(marker(oci, edit=lambda c: c["linux"].update(
        personality={"domain": "LINUX64"})))


# ---- memory policy --------------------------------------------------------------------------

MPOL = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
        "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
MPOL_FLAGS = {"MPOL_F_STATIC_NODES": 1 << 15, "MPOL_F_RELATIVE_NODES": 1 << 14,
              "MPOL_F_NUMA_BALANCING": 1 << 13}


@clause("config-linux.md#memory-policy")
@pytest.mark.parametrize("mode,nodes,flags", [
    ("MPOL_BIND", "0", []),
    ("MPOL_INTERLEAVE", "0", ["MPOL_F_STATIC_NODES"]),
    ("MPOL_PREFERRED", "0", []),
    ("MPOL_PREFERRED_MANY", "0", []),
    ("MPOL_WEIGHTED_INTERLEAVE", "0", []),
    ("MPOL_LOCAL", None, []),
], ids=lambda v: v if isinstance(v, str) else "-".join(v) if v else "none")
def test_memory_policy(oci, mode, nodes, flags):
    """memoryPolicy is the process's NUMA policy (set_mempolicy): get_mempolicy returns the
    mode with its flags and the node mask of ``nodes``."""
    if not Path("/sys/devices/system/node/node0").exists():
        pytest.skip("no NUMA node 0 in sysfs")
    pol = {"mode": mode}
    if nodes is not None:
        pol["nodes"] = nodes
    if flags:
        pol["flags"] = flags
    out = probe(oci, edit=lambda c: c["linux"].update(memoryPolicy=pol))
    got = out["sched"]["mempolicy"]
    want_mode = MPOL[mode] | sum(MPOL_FLAGS[f] for f in flags)
    assert got.get("mode") == want_mode, f"get_mempolicy: {got}, want mode {want_mode}"
    if nodes is not None:
        assert got.get("nodes") == [0], got


@clause("config-linux.md#memory-policy", "config.md#valid-values")
def test_memory_policy_unknown_mode_errors(oci):
    """An unsupported ``mode``: the runtime MUST generate an error."""
    oci.expect_error(marker(oci, edit=lambda c: c["linux"].update(
        memoryPolicy={"mode": "MPOL_NOT_A_MODE", "nodes": "0"})))
