"""``linux.namespaces``, id mappings, ``timeOffsets``, ``hostname``/``domainname``.

config-linux.md#namespaces: a namespace without ``path`` is new, one with ``path`` is joined,
an omitted type is shared with the runtime. Inside, ``/proc/self/ns/*`` must differ from the
host's exactly for the new and joined types.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from _probe import config, detached, host_ns, ok, runc_lacks, sh, wait_status

NS_NAMES = ("pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time")
CONFIG_TYPE = {"pid": "pid", "net": "network", "ipc": "ipc", "uts": "uts", "mnt": "mount",
               "cgroup": "cgroup", "user": "user", "time": "time"}

_NS_SCRIPT = "for n in " + " ".join(NS_NAMES) + "; do echo $n $(readlink /proc/self/ns/$n); done"


def _ns_inside(out: str) -> dict[str, str]:
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in NS_NAMES:
            got[parts[0]] = parts[1]
    return got


def _with_namespaces(base, types, **top):
    cfg = config(base, **top)
    cfg["linux"]["namespaces"] = [{"type": t} for t in types]
    return cfg


def test_new_namespaces_differ_from_host(rt, make_bundle, cid, base_config):
    """config-linux.md#namespaces: every configured type without a path is a new namespace;
    the types not listed (user, time) are the runtime's."""
    inside = _ns_inside(ok(sh(rt, make_bundle, cid, _NS_SCRIPT)))
    configured = {t["type"] for t in base_config["linux"]["namespaces"]}
    for name in NS_NAMES:
        if not os.path.exists(f"/proc/self/ns/{name}"):
            continue
        if CONFIG_TYPE[name] in configured:
            assert inside[name] != host_ns(name), name
        else:
            assert inside[name] == host_ns(name), name


def test_omitted_namespaces_are_shared(rt, make_bundle, cid, base_config):
    """config-linux.md#namespaces: a type missing from the list is not created (only pid
    and mount here: net, ipc, uts, cgroup are the host's)."""
    cfg = _with_namespaces(base_config, ["pid", "mount"])
    cfg.pop("hostname", None)
    inside = _ns_inside(ok(sh(rt, make_bundle, cid, _NS_SCRIPT, cfg=cfg)))
    for name in ("net", "ipc", "uts", "cgroup", "user"):
        assert inside[name] == host_ns(name), name
    for name in ("pid", "mnt"):
        assert inside[name] != host_ns(name), name


def test_pid_namespace_view(rt, make_bundle, cid):
    """config-linux.md#namespaces pid: the process is pid 1 and only container processes
    are in /proc (security.md D14)."""
    out = ok(sh(rt, make_bundle, cid,
                "echo $$; ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; "
                "tr '\\0' ' ' < /proc/1/cmdline; exit 0"))
    lines = out.split("\n")
    assert lines[0] == "1"
    pids = [int(x) for x in lines[1].split()]
    assert pids[0] == 1 and len(pids) < 10, pids  # sh and its pipeline, nothing else
    assert lines[2].startswith("sh -c echo $$;")


def test_network_namespace_loopback_up(rt, make_bundle, cid):
    """config-linux.md#network (runc: a new netns gets lo up): only ``lo``, and it is UP."""
    out = ok(sh(rt, make_bundle, cid,
                "ip link show; echo ---; tail -n +3 /proc/net/dev | cut -d: -f1; "
                "cat /sys/class/net/lo/flags"))
    links, _, rest = out.partition("---\n")
    devs = rest.split()
    assert devs[:-1] == ["lo"], out
    assert int(devs[-1], 16) & 0x1, out  # IFF_UP
    assert "<LOOPBACK,UP,LOWER_UP>" in links, out


def test_join_network_namespace_of_other_container(rt, make_bundle, cid, base_config,
                                                    tmp_path):
    """config-linux.md#namespaces path: joining the network namespace of a running
    container by ``/proc/<pid>/ns/net`` (both see the same inode)."""
    first = make_bundle(args=["sleep", "60"])
    p = detached(rt, "run", "-d", "--bundle", str(first), cid, out=tmp_path / "first.out")
    assert p.returncode == 0, p.stderr
    pid = rt.state(cid)["pid"]
    want = os.readlink(f"/proc/{pid}/ns/net")
    cfg = config(base_config)
    cfg["linux"]["namespaces"] = [
        ns if ns["type"] != "network" else {"type": "network", "path": f"/proc/{pid}/ns/net"}
        for ns in cfg["linux"]["namespaces"]
    ]
    inside = _ns_inside(ok(sh(rt, make_bundle, cid + "-2", _NS_SCRIPT, cfg=cfg)))
    assert inside["net"] == want
    assert inside["net"] != host_ns("net")
    assert inside["uts"] != os.readlink(f"/proc/{pid}/ns/uts")  # still a new one
    assert rt("kill", cid, "KILL").returncode == 0
    wait_status(rt, cid, "stopped")


def test_join_namespaces_by_path(rt, make_bundle, cid, base_config):
    """config-linux.md#namespaces path: net, uts and ipc namespaces made by ``unshare`` are
    joined; the joined UTS namespace's hostname is seen inside."""
    helper = subprocess.Popen(
        ["unshare", "--net", "--uts", "--ipc", "sh", "-c",
         "hostname joined-by-path && echo ready && exec sleep 60"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert helper.stdout is not None and helper.stdout.readline().strip() == "ready"
        links = {n: os.readlink(f"/proc/{helper.pid}/ns/{n}") for n in ("net", "uts", "ipc")}
        cfg = config(base_config)
        cfg.pop("hostname", None)
        paths = {"network": "net", "uts": "uts", "ipc": "ipc"}
        cfg["linux"]["namespaces"] = [
            {"type": ns["type"], "path": f"/proc/{helper.pid}/ns/{paths[ns['type']]}"}
            if ns["type"] in paths else ns
            for ns in cfg["linux"]["namespaces"]
        ]
        out = ok(sh(rt, make_bundle, cid, _NS_SCRIPT + "; hostname", cfg=cfg))
        inside = _ns_inside(out)
        for n in ("net", "uts", "ipc"):
            assert inside[n] == links[n], n
        assert out.split()[-1] == "joined-by-path"
    finally:
        helper.kill()
        helper.wait(timeout=10)


def test_join_nonexistent_namespace_path(rt, make_bundle, cid, base_config, tmp_path):
    """config-linux.md#namespaces path: a path that is not a namespace is an error, and
    nothing is left."""
    cfg = config(base_config)
    cfg["linux"]["namespaces"] = [
        ns if ns["type"] != "network" else {"type": "network", "path": str(tmp_path / "nope")}
        for ns in cfg["linux"]["namespaces"]
    ]
    p = sh(rt, make_bundle, cid, "true", cfg=cfg)
    assert p.returncode != 0
    assert str(tmp_path / "nope") in p.stderr
    assert rt("state", cid).returncode != 0


def _chown_tree(root, uid, gid):
    for dirpath, dirnames, filenames in os.walk(root):
        os.lchown(dirpath, uid, gid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


@contextlib.contextmanager
def _userns_bundle(rootfs, base_config, args, **process):
    """A bundle whose rootfs copy is owned by host 100000 (container root), in a directory
    that host uid 100000 can reach (pytest's tmp_path is under a 0700 directory)."""
    d = Path(tempfile.mkdtemp(prefix="ociruntime-userns-", dir="/tmp"))
    try:
        os.chmod(d, 0o711)
        cfg = config(base_config)
        cfg["linux"]["namespaces"] = cfg["linux"]["namespaces"] + [{"type": "user"}]
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["root"] = {"path": "rootfs", "readonly": False}
        cfg["process"]["args"] = args
        cfg["process"].update(process)
        shutil.copytree(rootfs, d / "rootfs", symlinks=True)
        _chown_tree(d / "rootfs", 100000, 100000)
        (d / "config.json").write_text(json.dumps(cfg))
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_user_namespace_mappings(rt, rootfs, cid, base_config):
    """config-linux.md#user-namespace-mappings: uid_map/gid_map show the mappings; container
    root is host uid 100000, so files it makes are owned by 100000 on the host and the image
    (chowned to 100000) appears owned by root inside."""
    script = ("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
              "stat -c '%u %g' /bin/busybox; touch /tmp/made-inside; "
              "readlink /proc/self/ns/user")
    with _userns_bundle(rootfs, base_config, ["sh", "-c", script]) as b:
        out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
        lines = out.splitlines()
        assert lines[0].split() == ["0", "100000", "65536"]
        assert lines[1].split() == ["0", "100000", "65536"]
        assert lines[2:5] == ["0", "0", "0 0"]
        assert lines[5] != host_ns("user")
        st = os.stat(b / "rootfs" / "tmp" / "made-inside")
        assert (st.st_uid, st.st_gid) == (100000, 100000)


def test_user_namespace_non_root_user(rt, rootfs, cid, base_config):
    """config-linux.md#user-namespace-mappings + config.md#user: uid 1000 inside a mapped
    namespace; its files are host uid 101000."""
    script = "id -u; id -g; touch /home/user/f; exit 0"
    with _userns_bundle(rootfs, base_config, ["sh", "-c", script],
                        user={"uid": 1000, "gid": 1000}) as b:
        os.lchown(b / "rootfs" / "home" / "user", 101000, 101000)
        out = ok(rt("run", "--bundle", str(b), cid, timeout=30))
        assert out.split() == ["1000", "1000"]
        st = os.stat(b / "rootfs" / "home" / "user" / "f")
        assert (st.st_uid, st.st_gid) == (101000, 101000)


@runc_lacks("ignores the time namespace and timeOffsets")
def test_time_namespace_offsets(rt, make_bundle, cid, base_config):
    """config-linux.md#namespaces time + timeOffsets: a new time namespace whose monotonic
    and boottime offsets are the configured ones."""
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("no time namespaces in this kernel")
    cfg = config(base_config)
    cfg["linux"]["namespaces"] = cfg["linux"]["namespaces"] + [{"type": "time"}]
    cfg["linux"]["timeOffsets"] = {"monotonic": {"secs": 864000, "nanosecs": 0},
                                   "boottime": {"secs": 172800, "nanosecs": 5}}
    host_uptime = float(open("/proc/uptime").read().split()[0])
    out = ok(sh(rt, make_bundle, cid,
                "cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime; "
                "readlink /proc/self/ns/time", cfg=cfg))
    lines = out.splitlines()
    offsets = {ln.split()[0]: ln.split()[1:] for ln in lines[:2]}
    assert offsets == {"monotonic": ["864000", "0"], "boottime": ["172800", "5"]}
    assert float(lines[2]) >= host_uptime + 172800
    assert lines[3] != host_ns("time")


def test_cgroup_namespace_root(rt, make_bundle, cid):
    """config-linux.md#namespaces cgroup: in a new cgroup namespace every hierarchy's path
    in /proc/self/cgroup is ``/``."""
    out = ok(sh(rt, make_bundle, cid, "cat /proc/self/cgroup"))
    lines = [ln for ln in out.splitlines() if ln]
    assert lines
    assert all(ln.split(":", 2)[2] == "/" for ln in lines), out


def _host_v1_hierarchies() -> dict[str, str]:
    """Our v1 hierarchies mounted under /sys/fs/cgroup: directory name -> a control file."""
    files = {"pids": "pids.max", "memory": "memory.limit_in_bytes", "devices": "devices.list",
             "freezer": "freezer.state", "cpuset": "cpuset.cpus"}
    out = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        name = os.path.basename(fields[4])
        if fstype == "cgroup" and fields[4].startswith("/sys/fs/cgroup/") and name in files:
            out[name] = files[name]
    return out


@pytest.mark.parametrize("cgroupns", [True, False], ids=["cgroupns", "host-cgroupns"])
def test_cgroup_mount_holds_the_containers_cgroups(rt, make_bundle, cid, base_config,
                                                   cgroupns):
    """The ``cgroup`` mount on a v1 host (runc's ``mountCgroupV1``): a tmpfs at
    /sys/fs/cgroup with one read-only directory per hierarchy, each the container's own
    cgroup (a cgroup mount in a cgroup namespace, else a bind of it), where the init is."""
    hier = _host_v1_hierarchies()
    if not hier:
        pytest.skip("needs cgroup v1 hierarchies under /sys/fs/cgroup")
    cfg = config(base_config)
    types = [n for n in cfg["linux"]["namespaces"] if n["type"] != "cgroup"]
    cfg["linux"]["namespaces"] = types + ([{"type": "cgroup"}] if cgroupns else [])
    script = "; ".join(
        f"echo {name} $(test -f /sys/fs/cgroup/{name}/{f} && echo file) "
        f"$(grep -qx 1 /sys/fs/cgroup/{name}/cgroup.procs && echo init)"
        for name, f in sorted(hier.items()))
    script += "; grep ' /sys/fs/cgroup/' /proc/self/mountinfo | cut -d' ' -f5,6"
    out = ok(sh(rt, make_bundle, cid, script, cfg=cfg)).splitlines()
    assert out[:len(hier)] == [f"{name} file init" for name in sorted(hier)]
    mounts = dict(line.split() for line in out[len(hier):])
    for name in hier:
        assert mounts[f"/sys/fs/cgroup/{name}"].split(",")[0] == "ro", mounts


# --- hostname / domainname -------------------------------------------------------------------


def test_hostname(rt, make_bundle, cid, base_config):
    """config.md#hostname: set in the container's UTS namespace; the host's is untouched."""
    before = socket.gethostname()
    cfg = config(base_config, hostname="box-1")
    out = ok(sh(rt, make_bundle, cid, "hostname; cat /proc/sys/kernel/hostname", cfg=cfg))
    assert out.split() == ["box-1", "box-1"]
    assert socket.gethostname() == before


@runc_lacks("does not implement domainname")
def test_domainname(rt, make_bundle, cid, base_config):
    """config.md#domainname: set in the container's UTS namespace; the host's is untouched."""
    before = open("/proc/sys/kernel/domainname").read()
    cfg = config(base_config, hostname="box-2", domainname="example.org")
    out = ok(sh(rt, make_bundle, cid, "cat /proc/sys/kernel/domainname; hostname", cfg=cfg))
    assert out.split() == ["example.org", "box-2"]
    assert open("/proc/sys/kernel/domainname").read() == before


def _without_uts(base):
    cfg = config(base)
    cfg["linux"]["namespaces"] = [ns for ns in cfg["linux"]["namespaces"]
                                  if ns["type"] != "uts"]
    return cfg


def test_hostname_without_uts_namespace(rt, make_bundle, cid, base_config):
    """config.md#hostname: setting it needs a private UTS namespace: a config error that
    names the field, nothing created, host hostname unchanged."""
    before = socket.gethostname()
    cfg = _without_uts(base_config)
    cfg["hostname"] = "nope"
    p = sh(rt, make_bundle, cid, "hostname", cfg=cfg)
    assert p.returncode != 0
    assert "unable to set hostname without a private UTS namespace" in p.stderr
    assert rt("state", cid).returncode != 0
    assert not (rt.root / cid).exists()
    assert socket.gethostname() == before


@runc_lacks("does not implement domainname")
def test_domainname_without_uts_namespace(rt, make_bundle, cid, base_config):
    """config.md#domainname: needs a private UTS namespace: an error naming the field."""
    cfg = _without_uts(base_config)
    cfg.pop("hostname", None)
    cfg["domainname"] = "nope.example"
    p = sh(rt, make_bundle, cid, "true", cfg=cfg)
    assert p.returncode != 0
    assert "domainname" in p.stderr and "UTS namespace" in p.stderr
    assert rt("state", cid).returncode != 0


def test_no_hostname_keeps_host_name_in_new_uts(rt, make_bundle, cid, base_config):
    """config.md#hostname: when unset, a new UTS namespace keeps the runtime's hostname."""
    cfg = config(base_config)
    cfg.pop("hostname", None)
    host = open("/proc/sys/kernel/hostname").read()
    assert ok(sh(rt, make_bundle, cid, "cat /proc/sys/kernel/hostname", cfg=cfg)) == host

