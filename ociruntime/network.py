"""``linux.netDevices`` (config-linux.md, runtime-spec v1.3): host network devices moved into
the container's network namespace, through netlink (pyroute2).

Each device is moved and renamed in one RTM_NEWLINK (IFLA_NET_NS_PID with IFLA_IFNAME), so it
never shows up under a name that might collide; its permanent addresses, which the kernel
drops on the move, are added again inside the namespace. pyroute2 is imported only when a
config has netDevices (it costs ~200 ms).
"""

from __future__ import annotations

import os

from ociruntime import linux as L
from ociruntime.errors import OCIRuntimeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IFA_F_PERMANENT = 0x80


def move_devices(devices: dict[str, dict[str, Any]], init_pid: int) -> None:
    """Move every ``netDevices`` entry into ``init_pid``'s network namespace."""
    from pyroute2 import IPRoute

    with IPRoute() as ip:
        for host_name, dev in devices.items():
            found = ip.link_lookup(ifname=host_name)
            if not found:
                raise OCIRuntimeError(
                    f"linux.netDevices: network device {host_name!r} not found on the host")
            index = found[0]
            addrs = []
            for msg in ip.get_addr(index=index):
                flags = msg.get_attr("IFA_FLAGS") or msg["flags"]
                if flags & IFA_F_PERMANENT:
                    addrs.append((msg.get_attr("IFA_ADDRESS"), msg["prefixlen"]))
            name = (dev or {}).get("name") or host_name
            links = ip.get_links(index)
            mac = links[0].get_attr("IFLA_ADDRESS") if links else None
            try:
                ip.link("set", index=index, net_ns_pid=init_pid, ifname=name)
            except Exception as exc:  # noqa: BLE001 - pyroute2's NetlinkError and friends
                raise OCIRuntimeError(
                    f"linux.netDevices: move {host_name!r} into the container as {name!r}: "
                    f"{exc}") from None
            # The move leaves the device down and without addresses: the spec wants it up
            # with its permanent addresses (config-linux.md#network-devices).
            _configure_inside(init_pid, name, mac, addrs)


def _configure_inside(init_pid: int, name: str, mac: str | None,
                      addrs: list[tuple[str, int]]) -> None:
    """Re-add ``addrs`` to ``name`` and set it up, inside the container's netns, from a
    forked child (setns must not move the runtime itself)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            fd = os.open(f"/proc/{init_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            L.setns(fd, L.CLONE_NEWNET)
            from pyroute2 import IPRoute

            with IPRoute() as ip:
                # A name with a template (``eth%d``) is only known after the move: the
                # device is found by its hardware address then.
                found = ip.link_lookup(ifname=name) if "%" not in name else []
                if not found and mac:
                    found = [link["index"] for link in ip.get_links()
                             if link.get_attr("IFLA_ADDRESS") == mac]
                index = found[0]
                for address, prefixlen in addrs:
                    ip.addr("add", index=index, address=address, prefixlen=prefixlen)
                ip.link("set", index=index, state="up")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        raise OCIRuntimeError(f"linux.netDevices: configuring {name!r} in the container failed")
