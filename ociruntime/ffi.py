"""The few ctypes types and helpers this runtime uses, declared straight on ``_ctypes``.

Why not ``import ctypes``: its ``__init__`` builds some forty types and imports ``os``,
``types`` and ``struct``, 1.5-2 ms in every process that loads it, and ``create``,
``run`` and ``exec`` run once per container. ``_ctypes`` is the C half of the same module
and does all the work; the classes below are declared exactly as ``ctypes/__init__.py``
declares them (a ``_type_`` code on ``_SimpleCData``, a ``CFuncPtr`` subclass per
library), so they behave the same. Use them together: a ``ctypes.c_int`` is not an
``ffi.c_int`` where a Structure field or a pointer type is checked.

Type checkers see ctypes' own declarations (the runtime ones are the same API).
"""

from __future__ import annotations

__all__ = [
    "Array",
    "CDLL",
    "POINTER",
    "PyDLL",
    "Structure",
    "addressof",
    "byref",
    "c_byte",
    "c_char",
    "c_char_p",
    "c_int",
    "c_int32",
    "c_int64",
    "c_long",
    "c_size_t",
    "c_uint",
    "c_uint32",
    "c_uint64",
    "c_ulong",
    "c_ushort",
    "c_void_p",
    "create_string_buffer",
    "get_errno",
    "set_errno",
    "sizeof",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ctypes import (
        CDLL,
        POINTER,
        Array,
        PyDLL,
        Structure,
        addressof,
        byref,
        c_byte,
        c_char,
        c_char_p,
        c_int,
        c_int32,
        c_int64,
        c_long,
        c_size_t,
        c_uint,
        c_uint32,
        c_uint64,
        c_ulong,
        c_ushort,
        c_void_p,
        create_string_buffer,
        get_errno,
        set_errno,
        sizeof,
    )
else:
    from _ctypes import (
        FUNCFLAG_CDECL,
        FUNCFLAG_PYTHONAPI,
        FUNCFLAG_USE_ERRNO,
        POINTER,
        RTLD_LOCAL,
        Array,
        CFuncPtr,
        Structure,
        _SimpleCData,
        addressof,
        byref,
        dlopen,
        get_errno,
        set_errno,
        sizeof,
    )

    def _simple(name: str, code: str) -> type:
        # How ctypes/__init__.py declares each of them: a _SimpleCData with a struct code.
        return type(name, (_SimpleCData,), {"_type_": code, "__module__": __name__})

    c_byte = _simple("c_byte", "b")
    c_char = _simple("c_char", "c")
    c_ushort = _simple("c_ushort", "H")
    c_int = _simple("c_int", "i")
    c_uint = _simple("c_uint", "I")
    c_long = _simple("c_long", "l")
    c_ulong = _simple("c_ulong", "L")
    c_char_p = _simple("c_char_p", "z")
    c_void_p = _simple("c_void_p", "P")

    # LP64 (x86_64, the architecture this runtime ships for): long is 64 bits.
    if sizeof(c_ulong) != 8 or sizeof(c_uint) != 4:
        raise ImportError("ociruntime.ffi: an LP64 platform is required")
    c_int32 = c_int
    c_uint32 = c_uint
    c_int64 = c_long
    c_uint64 = c_ulong
    c_size_t = c_ulong

    def create_string_buffer(init: bytes | int, size: int | None = None) -> Array:
        """A mutable ``char[]``: ``init`` bytes (plus a NUL unless ``size`` says) or zeros."""
        if isinstance(init, int):
            return (c_char * init)()
        buf = (c_char * (len(init) + 1 if size is None else size))()
        buf.value = init
        return buf

    class CDLL:
        """A loaded library: attribute access gives its C functions, returning int."""

        _func_flags_ = FUNCFLAG_CDECL

        def __init__(self, name: str | None, use_errno: bool = False) -> None:
            flags = self._func_flags_ | (FUNCFLAG_USE_ERRNO if use_errno else 0)

            class _FuncPtr(CFuncPtr):
                _flags_ = flags
                _restype_ = c_int

            self._FuncPtr = _FuncPtr
            self._handle = dlopen(name, RTLD_LOCAL)

        def __getattr__(self, name: str) -> CFuncPtr:
            if name.startswith("__") and name.endswith("__"):
                raise AttributeError(name)
            func = self._FuncPtr((name, self))
            setattr(self, name, func)
            return func

    class PyDLL(CDLL):
        """Like CDLL, but calls hold the GIL (for the interpreter's own C API)."""

        _func_flags_ = FUNCFLAG_CDECL | FUNCFLAG_PYTHONAPI
