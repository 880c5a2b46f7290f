"""A minimal D-Bus client: enough to ask systemd for transient units.

Wire format (D-Bus specification, "Message Protocol"): little endian, a 16-byte fixed
header (``l``, type, flags, version 1, body length, serial), the header fields
``a(yv)`` padded to 8, then the body. Authentication is ``EXTERNAL`` with our uid over a
unix socket. Values are marshalled from Python with an explicit signature::

    marshal("sa(sv)", ["x.scope", [("Delegate", ("b", True))]])

Variants are ``(signature, value)`` pairs; structs are tuples; arrays are lists (``a{..}``
dicts). Only what systemd's Manager API needs is here; no fd passing, no introspection.
"""

from __future__ import annotations

import os
import socket
import struct

from ociruntime.errors import CgroupError

TYPE_CHECKING = False  # typing costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
NO_REPLY_EXPECTED = 0x1

# header field codes
F_PATH, F_INTERFACE, F_MEMBER, F_ERROR_NAME, F_REPLY_SERIAL = 1, 2, 3, 4, 5
F_DESTINATION, F_SENDER, F_SIGNATURE = 6, 7, 8
_FIELD_SIGS = {F_PATH: "o", F_INTERFACE: "s", F_MEMBER: "s", F_ERROR_NAME: "s",
               F_REPLY_SERIAL: "u", F_DESTINATION: "s", F_SENDER: "s", F_SIGNATURE: "g"}

_FIXED = {"y": ("B", 1), "b": ("I", 4), "n": ("h", 2), "q": ("H", 2), "i": ("i", 4),
          "u": ("I", 4), "x": ("q", 8), "t": ("Q", 8), "d": ("d", 8), "h": ("I", 4)}


class DBusError(CgroupError):
    """An error reply (``name`` is the D-Bus error name) or a protocol failure."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}" if message else name)


def split_signature(sig: str) -> list[str]:
    """``"sa(sv)u"`` -> ``["s", "a(sv)", "u"]``."""
    out, i = [], 0
    while i < len(sig):
        j = _one_type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _one_type_end(sig: str, i: int) -> int:
    c = sig[i]
    if c == "a":
        return _one_type_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        depth, j = 0, i
        while j < len(sig):
            if sig[j] in "({":
                depth += 1
            elif sig[j] in ")}":
                depth -= 1
                if depth == 0:
                    if sig[j] != close:
                        break
                    return j + 1
            j += 1
        raise ValueError(f"bad signature {sig!r}")
    if c in _FIXED or c in "sogv":
        return i + 1
    raise ValueError(f"bad signature {sig!r}")


def _alignment(t: str) -> int:
    c = t[0]
    if c in "({":
        return 8
    if c in _FIXED:
        return _FIXED[c][1]
    return {"s": 4, "o": 4, "g": 1, "v": 1, "a": 4}[c]


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def pad(self, n: int) -> None:
        self.buf += b"\0" * (-len(self.buf) % n)

    def value(self, t: str, v: Any) -> None:
        c = t[0]
        if c in _FIXED:
            fmt, size = _FIXED[c]
            self.pad(size)
            self.buf += struct.pack("<" + fmt, int(v) if c != "d" else float(v))
        elif c in "so":
            b = v.encode()
            self.pad(4)
            self.buf += struct.pack("<I", len(b)) + b + b"\0"
        elif c == "g":
            b = v.encode()
            self.buf += struct.pack("<B", len(b)) + b + b"\0"
        elif c == "v":
            sig, inner = v
            self.value("g", sig)
            self.value(sig, inner)
        elif c == "a":
            elem = t[1:]
            self.pad(4)
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            self.pad(_alignment(elem))
            start = len(self.buf)
            items = v.items() if elem[0] == "{" else v
            for item in items:
                self.value(elem, item)
            struct.pack_into("<I", self.buf, at, len(self.buf) - start)
        elif c in "({":
            self.pad(8)
            for sub, item in zip(split_signature(t[1:-1]), v, strict=True):
                self.value(sub, item)
        else:
            raise ValueError(f"cannot marshal type {t!r}")


def marshal(signature: str, values: list[Any]) -> bytes:
    """The body bytes for ``values`` of ``signature`` (offsets from 0)."""
    w = _Writer()
    for t, v in zip(split_signature(signature), values, strict=True):
        w.value(t, v)
    return bytes(w.buf)


class _Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def pad(self, n: int) -> None:
        self.pos += -self.pos % n

    def value(self, t: str) -> Any:
        c = t[0]
        if c in _FIXED:
            fmt, size = _FIXED[c]
            self.pad(size)
            (v,) = struct.unpack_from("<" + fmt, self.data, self.pos)
            self.pos += size
            return bool(v) if c == "b" else v
        if c in "so":
            self.pad(4)
            (n,) = struct.unpack_from("<I", self.data, self.pos)
            s = self.data[self.pos + 4:self.pos + 4 + n].decode(errors="replace")
            self.pos += 4 + n + 1
            return s
        if c == "g":
            n = self.data[self.pos]
            s = self.data[self.pos + 1:self.pos + 1 + n].decode()
            self.pos += 1 + n + 1
            return s
        if c == "v":
            sig = self.value("g")
            return (sig, self.value(sig))
        if c == "a":
            elem = t[1:]
            self.pad(4)
            (n,) = struct.unpack_from("<I", self.data, self.pos)
            self.pos += 4
            self.pad(_alignment(elem))
            end = self.pos + n
            items = []
            while self.pos < end:
                items.append(self.value(elem))
            if elem[0] == "{":
                return dict(items)
            return items
        if c in "({":
            self.pad(8)
            return tuple(self.value(sub) for sub in split_signature(t[1:-1]))
        raise ValueError(f"cannot unmarshal type {t!r}")


def unmarshal(signature: str, data: bytes) -> list[Any]:
    r = _Reader(data)
    return [r.value(t) for t in split_signature(signature)]


def build_message(msg_type: int, serial: int, fields: dict[int, Any], signature: str = "",
                  body_values: list[Any] | None = None, flags: int = 0) -> bytes:
    """One complete message: fixed header, ``a(yv)`` fields, padding, body."""
    body = marshal(signature, body_values or []) if signature else b""
    hf = dict(fields)
    if signature:
        hf[F_SIGNATURE] = signature
    w = _Writer()
    w.buf += struct.pack("<cBBBII", b"l", msg_type, flags, 1, len(body), serial)
    w.value("a(yv)", [(code, (_FIELD_SIGS[code], hf[code])) for code in sorted(hf)])
    w.pad(8)
    return bytes(w.buf) + body


def parse_message(data: bytes) -> tuple[dict[str, Any], int]:
    """(message, total length) of the first complete message in ``data``; length 0 if
    more bytes are needed."""
    if len(data) < 16:
        return {}, 0
    endian = data[0:1]
    if endian != b"l":
        raise DBusError("org.freedesktop.DBus.Error.InvalidArgs", "big-endian peer")
    msg_type, flags, _ver, body_len, serial, fields_len = struct.unpack_from(
        "<BBBIII", data, 1)
    header_end = 16 + fields_len
    total = header_end + (-header_end % 8) + body_len
    if len(data) < total:
        return {}, 0
    r = _Reader(data, 12)
    fields = {code: v[1] for code, v in r.value("a(yv)")}
    body_start = header_end + (-header_end % 8)
    sig = fields.get(F_SIGNATURE, "")
    body = unmarshal(sig, data[body_start:total]) if sig else []
    return {"type": msg_type, "flags": flags, "serial": serial, "fields": fields,
            "signature": sig, "body": body}, total


class Connection:
    """One authenticated connection to a bus (or to systemd's private socket)."""

    def __init__(self, path: str, *, hello: bool = True, timeout: float = 30.0) -> None:
        self.path = path
        self.serial = 0
        self.buf = b""
        self.pending: list[dict[str, Any]] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
            self._auth()
            if hello:
                self.unique_name = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "Hello")[0]
        except OSError as exc:
            self.sock.close()
            raise CgroupError(f"dbus: connect {path}: {os.strerror(exc.errno or 0).lower()}"
                              ) from None
        except BaseException:
            self.sock.close()
            raise

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _auth(self) -> None:
        uid = str(os.geteuid()).encode().hex()
        self.sock.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
        line = self._readline()
        if not line.startswith(b"OK "):
            raise DBusError("org.freedesktop.DBus.Error.AuthFailed", line.decode(errors="replace"))
        self.sock.sendall(b"BEGIN\r\n")

    def _readline(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise DBusError("org.freedesktop.DBus.Error.NoReply", "connection closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def send(self, msg_type: int, fields: dict[int, Any], signature: str = "",
             body: list[Any] | None = None, flags: int = 0) -> int:
        self.serial += 1
        self.sock.sendall(build_message(msg_type, self.serial, fields, signature, body, flags))
        return self.serial

    def receive(self) -> dict[str, Any]:
        while True:
            msg, n = parse_message(self.buf)
            if n:
                self.buf = self.buf[n:]
                return msg
            chunk = self.sock.recv(65536)
            if not chunk:
                raise DBusError("org.freedesktop.DBus.Error.NoReply", "connection closed")
            self.buf += chunk

    def call(self, destination: str, path: str, interface: str, member: str,
             signature: str = "", body: list[Any] | None = None) -> list[Any]:
        """A method call; returns the reply body, raises ``DBusError`` on an error reply.
        Signals that arrive meanwhile are kept for ``wait_signal``."""
        fields = {F_PATH: path, F_INTERFACE: interface, F_MEMBER: member}
        if destination:
            fields[F_DESTINATION] = destination
        serial = self.send(METHOD_CALL, fields, signature, body)
        while True:
            msg = self.receive()
            if msg["fields"].get(F_REPLY_SERIAL) == serial:
                if msg["type"] == ERROR:
                    text = msg["body"][0] if msg["body"] and isinstance(msg["body"][0], str) \
                        else ""
                    raise DBusError(msg["fields"].get(F_ERROR_NAME, "error"), text)
                return list(msg["body"])
            if msg["type"] == SIGNAL:
                self.pending.append(msg)

    def wait_signal(self, interface: str, member: str, match: Any) -> dict[str, Any]:
        """The first signal ``interface.member`` for which ``match(body)`` is true."""
        while True:
            if self.pending:
                msg = self.pending.pop(0)
            else:
                msg = self.receive()
            if (msg["type"] == SIGNAL and msg["fields"].get(F_INTERFACE) == interface
                    and msg["fields"].get(F_MEMBER) == member and match(msg["body"])):
                return msg
