"""The standard dtype meant by a dtype spelled as a string or a Python type (``"f4"``,
``"float32"``, ``float``); re-exported by :mod:`arrayport.portcheck._hints`."""

from __future__ import annotations

import numpy as np

from arrayport._exchange import STANDARD_DTYPES
from arrayport._quiet import quiet

__all__ = ["DTYPE_ALIAS_HINTS", "hint_for_dtype"]

#: Spellings whose size NumPy takes from the platform's C long or pointer.
_PLATFORM_INTEGERS = frozenset({"int", "int_", "intp", "l", "long", "p", "q", "longlong"})
_PLATFORM_UNSIGNED = frozenset({"uint", "uintp", "L", "ulong", "P", "Q", "ulonglong"})
_PYTHON_TYPES = {
    "bool": "dtype=xp.bool",
    "float": "dtype=xp.float64 (Python's float; or the xp floating dtype meant)",
    "complex": "dtype=xp.complex128 (Python's complex; or the xp complex dtype meant)",
    "int": "dtype=xp.int64 (or the xp integer dtype meant)",
}


#: NumPy's C-named scalar types (``np.single``) and the standard dtype each is.
DTYPE_ALIAS_HINTS = {
    "single": "xp.float32",
    "csingle": "xp.complex64",
    "cdouble": "xp.complex128",
    "byte": "xp.int8",
    "ubyte": "xp.uint8",
    "short": "xp.int16",
    "ushort": "xp.uint16",
    "intc": "xp.int32",
    "uintc": "xp.uint32",
    "longlong": "xp.int64",
    "ulonglong": "xp.uint64",
    "long": "xp.int64 (np.long is C's long, 32-bit on Windows; or the xp integer dtype meant)",
    "ulong": "xp.uint64 (np.ulong is C's unsigned long, 32-bit on Windows)",
}


def hint_for_dtype(spelling: str, is_string: bool) -> str | None:
    """The standard dtype for a dtype spelled as a string (``"float32"``, ``"d"``) or as a
    Python type (``float``, ``int``), or None when the standard has none (``"U10"``)."""
    if not is_string:
        return _PYTHON_TYPES.get(spelling)
    try:
        with quiet():  # np.dtype("a") warns that "a" is deprecated
            name = np.dtype(spelling).name
    except (TypeError, ValueError):
        return None
    if name not in STANDARD_DTYPES:
        return None
    code = spelling.lstrip("<>=|")
    if code in _PLATFORM_INTEGERS:
        return "dtype=xp.int64 (or the xp integer dtype meant)"
    if code in _PLATFORM_UNSIGNED:
        return "dtype=xp.uint64 (or the xp unsigned integer dtype meant)"
    return f"dtype=xp.{name}"
