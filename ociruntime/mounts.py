"""Mount options of config.json (config.md#mounts) turned into mount(2) arguments.

The table is runc's (``specconv.parseMountOptions``): flag options set or clear ``MS_*``
bits, propagation options become separate ``mount`` calls made after the mount itself,
recursive ``r*`` options become ``mount_setattr(AT_RECURSIVE)`` attributes, and everything
else is passed to the filesystem as data.
"""

from __future__ import annotations

from ociruntime import linux as L
from ociruntime.record import dataclass, field

# option -> (clear?, flag)
FLAGS: dict[str, tuple[bool, int]] = {
    "acl": (False, 1 << 16),
    "async": (True, L.MS_SYNCHRONOUS),
    "atime": (True, L.MS_NOATIME),
    "bind": (False, L.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, L.MS_NODEV),
    "diratime": (True, L.MS_NODIRATIME),
    "dirsync": (False, L.MS_DIRSYNC),
    "exec": (True, L.MS_NOEXEC),
    "iversion": (False, 1 << 23),
    "lazytime": (False, L.MS_LAZYTIME),
    "loud": (True, L.MS_SILENT),
    "mand": (False, L.MS_MANDLOCK),
    "noacl": (True, 1 << 16),
    "noatime": (False, L.MS_NOATIME),
    "nodev": (False, L.MS_NODEV),
    "nodiratime": (False, L.MS_NODIRATIME),
    "noexec": (False, L.MS_NOEXEC),
    "noiversion": (True, 1 << 23),
    "nolazytime": (True, L.MS_LAZYTIME),
    "nomand": (True, L.MS_MANDLOCK),
    "norelatime": (True, L.MS_RELATIME),
    "nostrictatime": (True, L.MS_STRICTATIME),
    "nosuid": (False, L.MS_NOSUID),
    "nosymfollow": (False, L.MS_NOSYMFOLLOW),
    "rbind": (False, L.MS_BIND | L.MS_REC),
    "relatime": (False, L.MS_RELATIME),
    "remount": (False, L.MS_REMOUNT),
    "ro": (False, L.MS_RDONLY),
    "rw": (True, L.MS_RDONLY),
    "silent": (False, L.MS_SILENT),
    "strictatime": (False, L.MS_STRICTATIME),
    "suid": (True, L.MS_NOSUID),
    "symfollow": (True, L.MS_NOSYMFOLLOW),
    "sync": (False, L.MS_SYNCHRONOUS),
}

PROPAGATION: dict[str, int] = {
    "private": L.MS_PRIVATE,
    "rprivate": L.MS_PRIVATE | L.MS_REC,
    "shared": L.MS_SHARED,
    "rshared": L.MS_SHARED | L.MS_REC,
    "slave": L.MS_SLAVE,
    "rslave": L.MS_SLAVE | L.MS_REC,
    "unbindable": L.MS_UNBINDABLE,
    "runbindable": L.MS_UNBINDABLE | L.MS_REC,
}

# recursive option -> (clear?, MOUNT_ATTR_*)
RECURSIVE: dict[str, tuple[bool, int]] = {
    "rro": (False, L.MOUNT_ATTR_RDONLY),
    "rrw": (True, L.MOUNT_ATTR_RDONLY),
    "rnosuid": (False, L.MOUNT_ATTR_NOSUID),
    "rsuid": (True, L.MOUNT_ATTR_NOSUID),
    "rnodev": (False, L.MOUNT_ATTR_NODEV),
    "rdev": (True, L.MOUNT_ATTR_NODEV),
    "rnoexec": (False, L.MOUNT_ATTR_NOEXEC),
    "rexec": (True, L.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (False, L.MOUNT_ATTR_NODIRATIME),
    "rdiratime": (True, L.MOUNT_ATTR_NODIRATIME),
    "rrelatime": (False, L.MOUNT_ATTR_RELATIME),
    "rnorelatime": (True, L.MOUNT_ATTR_RELATIME),  # clears the atime field; see parse
    "rnoatime": (False, L.MOUNT_ATTR_NOATIME),
    "ratime": (True, L.MOUNT_ATTR_NOATIME),
    "rstrictatime": (False, L.MOUNT_ATTR_STRICTATIME),
    "rnostrictatime": (True, L.MOUNT_ATTR_STRICTATIME),
    "rnosymfollow": (False, L.MOUNT_ATTR_NOSYMFOLLOW),
    "rsymfollow": (True, L.MOUNT_ATTR_NOSYMFOLLOW),
}

#: Options understood by this runtime, as reported by ``features``.
EXTRA = ("tmpcopyup",)


@dataclass
class MountSpec:
    """One ``mounts[]`` entry, parsed."""

    destination: str
    type: str
    source: str
    flags: int = 0
    propagation: list[int] = field(default_factory=list)
    attr_set: int = 0
    attr_clr: int = 0
    data: str = ""
    tmpcopyup: bool = False

    @property
    def is_bind(self) -> bool:
        """A bind mount, whatever its ``type`` (runc's rule)."""
        return bool(self.flags & L.MS_BIND)


def parse(entry: dict) -> MountSpec:
    """Parse one config ``mounts[]`` entry."""
    m = MountSpec(
        destination=entry["destination"],
        type=entry.get("type") or "",
        source=entry.get("source") or "",
    )
    data: list[str] = []
    for opt in entry.get("options") or []:
        if opt in FLAGS:
            clear, flag = FLAGS[opt]
            if clear:
                m.flags &= ~flag
            else:
                m.flags |= flag
        elif opt in PROPAGATION:
            m.propagation.append(PROPAGATION[opt])
        elif opt in RECURSIVE:
            clear, attr = RECURSIVE[opt]
            if attr in (L.MOUNT_ATTR_NOATIME, L.MOUNT_ATTR_STRICTATIME, L.MOUNT_ATTR_RELATIME):
                # The atime attributes are one field: setting one means clearing the field.
                m.attr_clr |= L.MOUNT_ATTR__ATIME
                if not clear:
                    m.attr_set |= attr
            elif clear:
                m.attr_clr |= attr
            else:
                m.attr_set |= attr
        elif opt == "tmpcopyup":
            m.tmpcopyup = True
        else:
            data.append(opt)
    if m.type == "bind":
        m.flags |= L.MS_BIND
    m.data = ",".join(data)
    return m


def all_options() -> list[str]:
    """Every mount option this runtime understands, sorted (for ``features``)."""
    return sorted({*FLAGS, *PROPAGATION, *RECURSIVE, *EXTRA})
