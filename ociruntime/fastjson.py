"""JSON for the hot path, straight from the ``_json`` C accelerator.

``import json`` pulls in ``re``, ``enum`` and friends (several ms per call of the runtime,
and engines call it for every state/start/kill/delete). The C scanner and encoder that
``json`` itself uses need none of that, so the light commands use them through this
module. Output is byte-for-byte what ``json.dumps`` gives for the same arguments.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from typing import Any


class _ScanContext:
    """The attributes ``_json.make_scanner`` reads from a decoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


_scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]
_WS = " \t\n\r"


def loads(data: str | bytes) -> Any:
    """Parse one JSON document (ValueError if it is not exactly one)."""
    s = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    if s.startswith("\ufeff"):
        raise ValueError("unexpected UTF-8 BOM")
    i = len(s) - len(s.lstrip(_WS))
    try:
        obj, end = _scan(s, i)
    except StopIteration as exc:
        raise ValueError(f"expecting value at char {exc.value}") from None
    if s[end:].strip(_WS):
        raise ValueError(f"extra data at char {end}")
    return obj


def _encoder(item_sep: str, key_sep: str, sort_keys: bool) -> Any:
    def default(o: Any) -> Any:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    return _json.make_encoder(
        {}, default, _json.encode_basestring_ascii, None, key_sep, item_sep, sort_keys,
        False, True,
    )


def _pretty(obj: Any, indent: str, level: int, out: list[str]) -> None:
    pad = "\n" + indent * (level + 1)
    if isinstance(obj, dict) and obj:
        out.append("{")
        for n, (k, v) in enumerate(obj.items()):
            out.append(("," if n else "") + pad + _json.encode_basestring_ascii(str(k)) + ": ")
            _pretty(v, indent, level + 1, out)
        out.append("\n" + indent * level + "}")
    elif isinstance(obj, list) and obj:
        out.append("[")
        for n, v in enumerate(obj):
            out.append(("," if n else "") + pad)
            _pretty(v, indent, level + 1, out)
        out.append("\n" + indent * level + "]")
    else:
        out.append("".join(_encoder(", ", ": ", False)(obj, 0)))


def dumps(obj: Any, *, indent: int | None = None, compact: bool = False,
          sort_keys: bool = False) -> str:
    """``json.dumps(obj)``; ``compact`` is ``separators=(",", ":")``; ``indent`` pretty-prints."""
    if indent is not None:
        out: list[str] = []
        _pretty(obj, " " * indent, 0, out)
        return "".join(out)
    item_sep, key_sep = (",", ":") if compact else (", ", ": ")
    return "".join(_encoder(item_sep, key_sep, sort_keys)(obj, 0))
