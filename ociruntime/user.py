"""``process.user``: the container's passwd/group files, parsed by us, never through NSS.

NSS would load libraries named by the image's /etc/nsswitch.conf into the runtime
(security.md F1), so /etc/passwd is read from the rootfs through an fd resolved inside it,
before pivot_root, and parsed here.
"""

from __future__ import annotations

import os

from ociruntime import paths


def read_passwd(rootfd: int) -> bytes:
    """The rootfs's /etc/passwd (empty if missing), resolved inside the rootfs."""
    try:
        fd = paths.open_in_root(rootfd, "/etc/passwd", os.O_RDONLY)
    except OSError:
        return b""
    try:
        chunks: list[bytes] = []
        total = 0
        while total <= 1 << 22:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def home_for_uid(passwd: bytes, uid: int) -> str | None:
    """The home directory of the first passwd entry with ``uid``."""
    for line in passwd.splitlines():
        fields = line.split(b":")
        if len(fields) >= 7 and fields[2].strip().isdigit() and int(fields[2]) == uid:
            return fields[5].decode("utf-8", "replace") or None
    return None
