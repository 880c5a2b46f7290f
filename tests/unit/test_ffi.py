"""``ociruntime.ffi`` must behave as the ctypes it stands in for."""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
import sys

import pytest

from ociruntime import ffi

SIMPLE = ["c_byte", "c_char", "c_ushort", "c_int", "c_uint", "c_long", "c_ulong",
          "c_char_p", "c_void_p", "c_int32", "c_uint32", "c_int64", "c_uint64", "c_size_t"]


@pytest.mark.parametrize("name", SIMPLE)
def test_types_match_ctypes(name: str) -> None:
    ours, theirs = getattr(ffi, name), getattr(ctypes, name)
    assert ffi.sizeof(ours) == ctypes.sizeof(theirs)
    assert ours._type_ == theirs._type_  # type: ignore[attr-defined]


def test_integer_values_wrap_as_in_c() -> None:
    assert ffi.c_uint(-1).value == 2**32 - 1
    assert ffi.c_int(2**31).value == -(2**31)
    assert ffi.c_ulong(-1).value == 2**64 - 1


def test_create_string_buffer_like_ctypes() -> None:
    for args in ((b"abc",), (b"a\0b", 3), (8,)):
        assert ffi.create_string_buffer(*args).raw == ctypes.create_string_buffer(*args).raw


def test_structure_and_byref() -> None:
    class Pair(ffi.Structure):
        _fields_ = [("a", ffi.c_uint32), ("b", ffi.c_uint64)]

    p = Pair(1, 2)
    assert ffi.sizeof(p) == 16
    assert ffi.addressof(p) != 0
    libc = ffi.CDLL(None)
    # memset through byref: the Structure is really passed by address
    libc.memset(ffi.byref(p), 0, ffi.c_size_t(ffi.sizeof(p)))
    assert (p.a, p.b) == (0, 0)


def test_cdll_calls_and_errno() -> None:
    libc = ffi.CDLL(None, use_errno=True)
    assert libc.getpid() == os.getpid()
    assert libc.getpid is libc.getpid  # looked up once, like ctypes
    ffi.set_errno(0)
    assert libc.close(-1) == -1
    assert ffi.get_errno() == errno.EBADF
    libc.syscall.restype = ffi.c_long
    assert libc.syscall(ffi.c_long(39)) == os.getpid()  # __NR_getpid on x86_64


def test_missing_symbol_is_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = ffi.CDLL(None).no_such_function_here


def test_pydll_holds_the_gil() -> None:
    api = ffi.PyDLL(None)
    api.Py_IsInitialized.restype = ffi.c_int
    assert api.Py_IsInitialized() == 1


def test_runtime_path_does_not_import_ctypes() -> None:
    repo = os.path.dirname(os.path.dirname(ffi.__file__))
    code = (f"import sys; sys.path.insert(0, {repo!r}); import ociruntime.linux; "
            "print('ctypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "False"
