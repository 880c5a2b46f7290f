"""The pure parts of the cgroup layer: path cleaning, runc's conversions, ``update`` merge,
``ps`` filtering, the systemd driver's unit and properties, and the D-Bus wire format."""

from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from ociruntime import cgroups as C
from ociruntime.cgroups import dbus
from ociruntime.cgroups import systemd as SD
from ociruntime.cgroups.common import clean_path, parse_cgroup_text, safe_inner_path
from ociruntime.cgroups.resources import Resources
from ociruntime.cgroups.update import ram_in_bytes, update_request
from ociruntime.errors import CgroupError, OCIRuntimeError

M = 1024 * 1024


# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("given,want", [
    ("", ""), ("/", "/"), ("a", "a"), ("/a/./b/", "/a/b"), ("//a//b", "/a/b"),
    ("../../x", "x"), ("/../../x", "/x"), ("a/../../b", "b"),
])
def test_clean_path_is_runcs(given: str, want: str) -> None:
    assert clean_path(given) == want


def test_safe_inner_path() -> None:
    assert safe_inner_path("f", "a/b/../c") == "a/c"
    assert safe_inner_path("f", "/a/../b") == "/b"
    for bad in ("..", "../a", "/..", "a/../..", "a\x00b"):
        with pytest.raises(CgroupError, match="^f: "):
            safe_inner_path("f", bad)


def test_parse_proc_cgroup() -> None:
    got = parse_cgroup_text("12:cpu,cpuacct:/a\n1:name=systemd:/init.scope\n0::/u\n")
    assert got == {"cpu": "/a", "cpuacct": "/a", "name=systemd": "/init.scope", "": "/u"}
    with pytest.raises(CgroupError, match="must contain at least two colons"):
        parse_cgroup_text("bad\n")


# --- conversions (runc libcontainer/cgroups/utils.go) -----------------------------------------


@pytest.mark.parametrize("shares,weight", [(0, 0), (2, 1), (512, 20), (1024, 39),
                                           (262144, 10000)])
def test_cpu_shares_to_weight(shares: int, weight: int) -> None:
    assert C.convert_cpu_shares_to_v2(shares) == weight


@pytest.mark.parametrize("blkio,io", [(0, 0), (10, 1), (300, 2930), (500, 4950), (1000, 10000)])
def test_blkio_weight_to_io_weight(blkio: int, io: int) -> None:
    assert C.convert_blkio_to_io_weight(blkio) == io


def test_memory_swap_to_v2() -> None:
    conv = C.convert_memory_swap_to_v2
    assert conv(0, -1) == -1  # unlimited memory, swap not given: unlimited swap too
    assert conv(-1, 100) == -1
    assert conv(0, 100) == 0
    assert conv(300, 100) == 200
    assert conv(100, 100) == 0
    for swap, mem, msg in ((100, 0, "unable to set swap limit without memory limit"),
                           (100, -1, "unable to set swap limit without memory limit"),
                           (100, -5, "invalid memory value: -5"),
                           (50, 100, r"memory\+swap limit should be >= memory limit")):
        with pytest.raises(CgroupError, match=msg):
            conv(swap, mem)


def test_resources_from_oci() -> None:
    r = Resources.from_oci({"memory": {"limit": 10, "kernel": 5, "swappiness": -1},
                            "cpu": {"shares": 1024, "cpus": "0-1"}, "pids": {"limit": 7}})
    assert (r.memory, r.memory_swappiness, r.cpu_weight, r.cpuset_cpus, r.pids_limit) == (
        10, -1, 39, "0-1", 7)
    assert r.warnings == ["Kernel memory settings are ignored and will be removed"]
    with pytest.raises(CgroupError, match=r"^linux\.resources\.memory\.limit: must be an "):
        Resources.from_oci({"memory": {"limit": "1G"}})
    with pytest.raises(CgroupError, match=r"linux\.resources\.cpu\.cpus: invalid value"):
        Resources.from_oci({"cpu": {"cpus": "0\n1"}})
    with pytest.raises(CgroupError, match=r"network\.priorities\[0\]\.name"):
        Resources.from_oci({"network": {"priorities": [{"name": "eth0 9\nlo", "priority": 1}]}})


# --- update -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,value", [("100M", 100 * M), ("1.5g", 1536 * M), ("512KiB", 524288),
                                        ("42", 42), ("1kb", 1024), ("2 GB", 2048 * M),
                                        ("1t", 1 << 40)])
def test_ram_in_bytes(text: str, value: int) -> None:
    assert ram_in_bytes(text) == value


@pytest.mark.parametrize("text", ["10X", "-5", "M", "1.5.5.x", ""])
def test_ram_in_bytes_invalid(text: str) -> None:
    with pytest.raises(ValueError, match=f"invalid size: '{text}'"):
        ram_in_bytes(text)


CURRENT: dict[str, Any] = {
    "devices": [{"allow": False, "access": "rwm"}],
    "memory": {"limit": 100 * M, "reservation": 10 * M, "swappiness": 5},
    "cpu": {"shares": 512, "quota": 20000, "period": 50000, "cpus": "0"},
    "pids": {"limit": 50},
    "blockIO": {"weight": 100, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
}


def test_update_zero_means_unchanged_in_the_cgroup() -> None:
    new = C.update_resources(CURRENT, {"pids-limit": 20})
    assert new["pids"] == {"limit": 20}
    # runc overwrites these with the request's zeros; a zero is never written to a file
    assert new["memory"] == {"limit": 0, "reservation": 0, "swap": 0, "swappiness": 5}
    assert new["cpu"] == {"shares": 0, "quota": 0, "period": 0, "realtimePeriod": 0,
                          "realtimeRuntime": 0, "cpus": "", "mems": ""}
    # everything else is kept as it was
    assert new["devices"] == CURRENT["devices"]
    assert new["hugepageLimits"] == CURRENT["hugepageLimits"]
    assert new["blockIO"] == {"weight": 0, "throttleReadBpsDevice": [{"major": 8, "minor": 0,
                                                                      "rate": 1}]}
    assert CURRENT["pids"] == {"limit": 50}  # pure
    r = Resources.from_oci(new)
    assert (r.memory, r.cpu_shares, r.cpu_weight, r.pids_limit) == (0, 0, 0, 20)


def test_update_quota_alone_keeps_the_old_period() -> None:
    new = C.update_resources(CURRENT, {"cpu-quota": "30000"})
    assert (new["cpu"]["quota"], new["cpu"]["period"]) == (30000, 50000)
    new = C.update_resources(CURRENT, {"cpu-period": "100000"})
    assert (new["cpu"]["quota"], new["cpu"]["period"]) == (20000, 100000)
    new = C.update_resources(CURRENT, {"cpu-period": "100000", "cpu-quota": "-1"})
    assert (new["cpu"]["quota"], new["cpu"]["period"]) == (-1, 100000)


def test_update_flags_units_and_unlimited() -> None:
    new = C.update_resources(CURRENT, {"memory": "200M", "memory-swap": "-1",
                                       "memory-reservation": "1g", "cpu-share": "1024",
                                       "cpuset-cpus": "0-1", "cpuset-mems": "0",
                                       "blkio-weight": 300, "cpu-rt-period": "1000",
                                       "cpu-rt-runtime": "500"})
    assert new["memory"] == {"limit": 200 * M, "reservation": 1024 * M, "swap": -1,
                             "swappiness": 5}
    assert new["cpu"]["shares"] == 1024 and new["cpu"]["cpus"] == "0-1"
    assert (new["cpu"]["realtimePeriod"], new["cpu"]["realtimeRuntime"]) == (1000, 500)
    assert new["blockIO"]["weight"] == 300


def test_update_resources_json_ignores_flags() -> None:
    new = C.update_resources(CURRENT, {"resources": '{"memory": {"limit": 1048576}, '
                                                    '"unified": {"pids.max": "9"}}',
                                       "pids-limit": 99})
    assert new["memory"]["limit"] == M and new["pids"]["limit"] == 0
    assert new["unified"] == {"pids.max": "9"}
    with pytest.raises(CgroupError):
        C.update_resources(CURRENT, {"resources": "{not json"})


def test_update_errors_and_warnings() -> None:
    with pytest.raises(CgroupError, match='^invalid value for cpu-period: strconv.ParseUint: '
                                          'parsing "abc": invalid syntax$'):
        C.update_resources(CURRENT, {"cpu-period": "abc"})
    with pytest.raises(CgroupError, match="^invalid value for memory: invalid size: '1Q'$"):
        C.update_resources(CURRENT, {"memory": "1Q"})
    _, warnings = update_request({"kernel-memory": "10M"})
    assert warnings == ["Kernel memory settings are ignored and will be removed"]
    with pytest.raises(CgroupError, match="Intel RDT/CAT: l3 cache schema is not enabled"):
        C.check_intel_rdt({"l3-cache-schema": "L3:0=f"})


# --- ps ---------------------------------------------------------------------------------------


PS_EF = """UID        PID  PPID  C STIME TTY          TIME CMD
root         1     0  0 07:00 ?        00:00:04 /sbin/init
root     12157     1  0 07:35 ?        00:00:00 runc init
root     12160 12157  0 07:35 ?        00:00:00 sleep 100
"""


def test_ps_filter_keeps_header_and_container_lines() -> None:
    assert C.filter_ps_output(PS_EF, [12157, 12160]) == (
        "UID        PID  PPID  C STIME TTY          TIME CMD\n"
        "root     12157     1  0 07:35 ?        00:00:00 runc init\n"
        "root     12160 12157  0 07:35 ?        00:00:00 sleep 100\n")
    out = C.filter_ps_output("  PID COMMAND\n12157 runc:[2:INIT]\n    1 init\n", [12157])
    assert out == "  PID COMMAND\n12157 runc:[2:INIT]\n"
    assert C.filter_ps_output(PS_EF, []) == PS_EF.splitlines()[0] + "\n"


def test_ps_filter_errors() -> None:
    with pytest.raises(OCIRuntimeError, match="couldn't find PID field in ps output"):
        C.filter_ps_output("USER CMD\nroot x\n", [1])
    with pytest.raises(OCIRuntimeError, match='unable to parse pid: strconv.Atoi: parsing "x"'):
        C.filter_ps_output("PID CMD\nx y\n", [1])


def test_ps_json() -> None:
    assert C.ps_json([1, 22]) == "[1,22]\n"
    assert C.ps_json([]) == "null\n"


def test_ps_table_runs_host_ps() -> None:
    out = C.ps_table([os.getpid()], ["-o", "pid,comm"])
    lines = out.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    assert [int(line.split()[0]) for line in lines[1:]] == [os.getpid()]


# --- systemd ----------------------------------------------------------------------------------


def test_systemd_cgroups_path_and_unit_names() -> None:
    assert SD.parse_cgroups_path("", "c1") == ("", "runc", "c1")
    assert SD.parse_cgroups_path("system.slice:docker:1234", "c1") == (
        "system.slice", "docker", "1234")
    with pytest.raises(CgroupError, match='^expected cgroupsPath to be of format '
                                          '"slice:prefix:name" for systemd cgroups, got '
                                          '"/a/b" instead$'):
        SD.parse_cgroups_path("/a/b", "c1")
    with pytest.raises(CgroupError, match="invalid systemd name"):
        SD.parse_cgroups_path("system.slice:x:..", "c1")
    assert SD.unit_name("docker", "1234") == "docker-1234.scope"
    assert SD.unit_name("runc", "my.slice") == "my.slice"


@pytest.mark.parametrize("name,path", [
    ("-.slice", "/"), ("system.slice", "/system.slice"),
    ("test-a-b.slice", "/test.slice/test-a.slice/test-a-b.slice"),
])
def test_expand_slice(name: str, path: str) -> None:
    assert SD.expand_slice(name) == path


@pytest.mark.parametrize("bad", ["foo", ".slice", "a/b.slice", "test--a.slice", "-test.slice"])
def test_expand_slice_invalid(bad: str) -> None:
    with pytest.raises(CgroupError, match=f"invalid slice name: {bad}"):
        SD.expand_slice(bad)


def test_range_to_bits() -> None:
    assert SD.range_to_bits("0") == b"\x01"
    assert SD.range_to_bits("1,3-5") == bytes([0b111010])
    assert SD.range_to_bits("0-3, 8") == b"\x01\x0f"
    with pytest.raises(CgroupError, match="empty value"):
        SD.range_to_bits(",")


def test_cpu_quota_properties() -> None:
    assert SD.cpu_quota_properties(50000, 100000, 250) == [
        ("CPUQuotaPeriodUSec", "t", 100000), ("CPUQuotaPerSecUSec", "t", 500000)]
    # rounded up to whole percents, as systemd stores CPUQuota
    assert SD.cpu_quota_properties(33333, 0, 250) == [("CPUQuotaPerSecUSec", "t", 340000)]
    assert SD.cpu_quota_properties(-1, 100000, 240) == [
        ("CPUQuotaPerSecUSec", "t", 2**64 - 1)]
    assert SD.cpu_quota_properties(0, 0, 250) == []


def test_unit_properties_v1_and_v2() -> None:
    common = [("MemoryAccounting", "b", True), ("CPUAccounting", "b", True)]
    v1 = SD.unit_properties(name="c1", unit="runc-c1.scope", parent="", pid=42, version="v1")
    assert v1 == [("Description", "s", "libcontainer container c1"),
                  ("Slice", "s", "system.slice"), ("Delegate", "b", True),
                  ("PIDs", "au", [42]), *common, ("BlockIOAccounting", "b", True),
                  ("TasksAccounting", "b", True), ("DefaultDependencies", "b", False)]
    v2 = SD.unit_properties(name="x.slice", unit="x.slice", parent="machine.slice", pid=-1,
                            version="v2")
    assert v2[:2] == [("Description", "s", "libcontainer container x.slice"),
                      ("Wants", "as", ["machine.slice"])]
    assert ("IOAccounting", "b", True) in v2 and not any(p[0] == "PIDs" for p in v2)


def test_resources_properties() -> None:
    r = Resources.from_oci({"memory": {"limit": 100 * M, "reservation": M, "swap": 200 * M},
                            "cpu": {"shares": 1024, "quota": 50000, "period": 100000,
                                    "cpus": "0-1"},
                            "pids": {"limit": 10}, "blockIO": {"weight": 500},
                            "devices": [{"allow": False, "access": "rwm"},
                                        {"allow": True, "type": "c", "major": 1, "minor": 3,
                                         "access": "rwm"},
                                        {"allow": True, "type": "c", "major": 136,
                                         "access": "rw"}]})
    kw = {"proc_devices": "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n",
          "exists": lambda p: True}
    devices = [("DevicePolicy", "s", "strict"), ("DeviceAllow", "a(ss)", []),
               ("DeviceAllow", "a(ss)", [("/dev/char/1:3", "rwm"), ("char-pts", "rw")])]
    assert SD.resources_properties(r, "v1", 250, **kw) == devices + [
        ("MemoryLimit", "t", 100 * M), ("CPUShares", "t", 1024),
        ("CPUQuotaPeriodUSec", "t", 100000), ("CPUQuotaPerSecUSec", "t", 500000),
        ("BlockIOWeight", "t", 500), ("TasksMax", "t", 10), ("AllowedCPUs", "ay", b"\x03")]
    assert SD.resources_properties(r, "v2", 243, **kw) == devices + [
        ("MemoryMax", "t", 100 * M), ("MemoryLow", "t", M), ("MemorySwapMax", "t", 100 * M),
        ("CPUWeight", "t", 39), ("CPUQuotaPeriodUSec", "t", 100000),
        ("CPUQuotaPerSecUSec", "t", 500000), ("TasksMax", "t", 10)]  # no AllowedCPUs < 244
    allow_all = Resources.from_oci({"devices": [{"allow": True, "access": "rwm"}]})
    assert SD.device_properties(allow_all) == [("DevicePolicy", "s", "auto"),
                                               ("DeviceAllow", "a(ss)", [])]


def test_unified_and_annotation_properties() -> None:
    props = SD.unified_properties({"memory.max": "max", "pids.max": "5", "cpu.weight": "7",
                                   "io.max": "8:0 rbps=1"}, 250)
    assert props == [("MemoryMax", "t", 2**64 - 1), ("TasksMax", "t", 5),
                     ("CPUWeight", "t", 7)]
    assert SD.annotation_properties({"org.systemd.property.TimeoutStopSec": "10",
                                     "org.systemd.property.CollectMode": "'inactive-or-failed'",
                                     "other": "x"}) == [
        ("CollectMode", "s", "inactive-or-failed"), ("TimeoutStopUSec", "t", 10000000)]
    with pytest.raises(CgroupError, match="name incorrect"):
        SD.annotation_properties({"org.systemd.property.bad-name": "1"})


def test_systemd_absent_refused_before_anything(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    (root / "devices").mkdir(parents=True)
    with pytest.raises(CgroupError, match="^systemd not running on this host, cannot use "
                                          "systemd cgroups manager$"):
        C.new_manager("c1", "system.slice:runc:c1", {}, systemd=True, root=str(root),
                      proc=str(tmp_path / "proc"), mode="v1",
                      systemd_run_dir=str(tmp_path / "no-systemd"))
    assert sorted(os.listdir(root)) == ["devices"]
    assert not os.listdir(root / "devices")
    assert not SD.is_running_systemd(str(tmp_path / "no-systemd"))


# --- D-Bus ------------------------------------------------------------------------------------


def test_dbus_marshal_bytes() -> None:
    assert dbus.marshal("s", ["abc"]) == b"\x03\x00\x00\x00abc\x00"
    assert dbus.marshal("a(sv)", [[("Delegate", ("b", True))]]) == (
        b"\x14\x00\x00\x00" + b"\x00" * 4 + b"\x08\x00\x00\x00Delegate\x00"
        + b"\x01b\x00" + b"\x01\x00\x00\x00")
    assert dbus.marshal("yt", [1, 2]) == b"\x01" + b"\x00" * 7 + struct.pack("<Q", 2)
    assert dbus.marshal("au", [[]]) == b"\x00\x00\x00\x00"
    sig = "ssa(sv)a(sa(sv))"
    body = ["runc-c1.scope", "replace",
            [("PIDs", ("au", [1, 2])), ("AllowedCPUs", ("ay", b"\x03")),
             ("DeviceAllow", ("a(ss)", [("/dev/char/1:3", "rwm")]))], []]
    assert dbus.unmarshal(sig, dbus.marshal(sig, body)) == [
        "runc-c1.scope", "replace",
        [("PIDs", ("au", [1, 2])), ("AllowedCPUs", ("ay", [3])),
         ("DeviceAllow", ("a(ss)", [("/dev/char/1:3", "rwm")]))], []]


def test_dbus_message_roundtrip() -> None:
    raw = dbus.build_message(dbus.METHOD_CALL, 7, {
        dbus.F_PATH: "/org/freedesktop/DBus", dbus.F_INTERFACE: "org.freedesktop.DBus",
        dbus.F_MEMBER: "Hello", dbus.F_DESTINATION: "org.freedesktop.DBus"})
    assert raw[:12] == b"l\x01\x00\x01" + struct.pack("<II", 0, 7)
    assert len(raw) % 8 == 0
    msg, n = dbus.parse_message(raw + b"extra")
    assert n == len(raw)
    assert msg["fields"][dbus.F_MEMBER] == "Hello" and msg["body"] == []
    assert dbus.parse_message(raw[:-1]) == ({}, 0)


class FakeSystemd(threading.Thread):
    """A D-Bus peer on a unix socket that answers like dbus-daemon + systemd."""

    def __init__(self, path: str, result: str = "done") -> None:
        super().__init__(daemon=True)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(8)
        self.result = result
        self.calls: list[tuple[str, list[Any]]] = []
        self.serial = 100

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            with conn:
                self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        while b"BEGIN\r\n" not in buf:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
            if b"AUTH EXTERNAL" in buf and b"OK" not in buf:
                conn.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
                buf += b"OK"
        buf = buf.split(b"BEGIN\r\n", 1)[1]
        while True:
            msg, n = dbus.parse_message(buf)
            if not n:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                continue
            buf = buf[n:]
            member = msg["fields"][dbus.F_MEMBER]
            self.calls.append((member, msg["body"]))
            reply: tuple[str, list[Any]] = ("", [])
            if member == "Hello":
                reply = ("s", [":1.42"])
            elif member == "Get":
                reply = ("v", [("s", "252")])
            elif member in ("StartTransientUnit", "StopUnit"):
                reply = ("o", ["/org/freedesktop/systemd1/job/7"])
            self._send(conn, dbus.METHOD_RETURN, {dbus.F_REPLY_SERIAL: msg["serial"]}, *reply)
            if member in ("StartTransientUnit", "StopUnit"):
                self._send(conn, dbus.SIGNAL, {
                    dbus.F_PATH: "/org/freedesktop/systemd1",
                    dbus.F_INTERFACE: "org.freedesktop.systemd1.Manager",
                    dbus.F_MEMBER: "JobRemoved"}, "uoss",
                    [7, "/org/freedesktop/systemd1/job/7", msg["body"][0], self.result])

    def _send(self, conn: socket.socket, kind: int, fields: dict[int, Any], sig: str = "",
              body: list[Any] | None = None) -> None:
        self.serial += 1
        conn.sendall(dbus.build_message(kind, self.serial, fields, sig, body))


def test_systemd_client_against_a_fake_bus(tmp_path: Path) -> None:
    sock = str(tmp_path / "bus")
    fake = FakeSystemd(sock)
    fake.start()
    client = SD.SystemdClient(bus_path=sock)
    assert client.version() == 252
    client.start_transient_unit("runc-c1.scope", [("Delegate", "b", True),
                                                  ("PIDs", "au", [5])])
    assert client.stop_unit("runc-c1.scope") == "done"
    start = [b for m, b in fake.calls if m == "StartTransientUnit"][0]
    assert start == ["runc-c1.scope", "replace", [("Delegate", ("b", True)),
                                                  ("PIDs", ("au", [5]))], []]
    assert [m for m, _ in fake.calls].count("AddMatch") == 3
    fake.result = "failed"
    with pytest.raises(CgroupError, match="error creating systemd unit `x.scope`: got `failed`"):
        client.start_transient_unit("x.scope", [])
    fake.srv.close()


def test_systemd_manager_paths_and_apply(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    for s in ("cpu", "devices", "memory", "systemd", "cpuset"):
        (root / s).mkdir(parents=True)
    proc = tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "1" / "cgroup").write_text("1:cpu:/init.scope\n2:devices:/\n3:memory:/\n"
                                       "4:name=systemd:/init.scope\n5:cpuset:/\n")
    (proc / "self").mkdir()
    (proc / "self" / "mountinfo").write_text("")
    run_dir = tmp_path / "run-systemd"
    run_dir.mkdir()
    sock = str(tmp_path / "bus")
    fake = FakeSystemd(sock)
    fake.start()
    try:
        m = C.new_manager("c1", "machine.slice:libpod:abc", {"pids": {"limit": 9}},
                          systemd=True, root=str(root), proc=str(proc), mode="v1",
                          systemd_run_dir=str(run_dir))
        assert isinstance(m, SD.SystemdManager)
        m.client = SD.SystemdClient(bus_path=sock)
        assert m.paths()["memory"] == str(root / "memory/machine.slice/libpod-abc.scope")
        assert m.paths()["name=systemd"] == str(root / "systemd/machine.slice/libpod-abc.scope")
        m.fs.missing = {"cpuset.cpus": "", "cpuset.mems": ""}
        (root / "cpuset" / "cpuset.cpus").write_text("0\n")
        (root / "cpuset" / "cpuset.mems").write_text("0\n")
        m.apply(77)
        props = dict((k, v) for k, (_, v) in
                     [b[2] for n, b in fake.calls if n == "StartTransientUnit"][0])
        assert props["Slice"] == "machine.slice" and props["PIDs"] == [77]
        # systemd itself places the pid in name=systemd; the driver joins the rest
        assert (root / "memory/machine.slice/libpod-abc.scope/cgroup.procs").read_text() == "77"
        assert not (root / "systemd/machine.slice").exists()
    finally:
        fake.srv.close()
