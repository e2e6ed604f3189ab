"""What to write instead of ``x.astype(dtype)``: the standard dtype meant, or that there is
none (``x.astype(object)``, ``x.astype("U10")``, a structured dtype)."""

from __future__ import annotations

import ast
from collections.abc import Callable

from arrayport.portcheck._hints import STANDARD_DTYPES, hint_for_dtype

__all__ = ["astype_hint"]

#: Python types and NumPy scalar types with no standard dtype.
_NO_DTYPE_TYPES = frozenset({"object", "str", "bytes"})
_NO_DTYPE_NUMPY = frozenset({"numpy.object_", "numpy.str_", "numpy.bytes_", "numpy.void"})
#: Appended to the message where the dtype has no standard equivalent (as the function
#: form's, ``np.astype(x, object)``, says).
_NO_DTYPE = (
    "; it has no dtype for {shown} (no standard equivalent: its dtypes are bool and numeric only)"
)


def astype_hint(
    call: ast.Call, resolve: Callable[[ast.expr], str | None]
) -> tuple[str | None, str] | None:
    """For ``x.astype(...)``: (replacement, note for the message). The replacement names
    the standard dtype meant (``x.astype(float)``, ``"f4"``, ``np.float32``), or is None
    with a note where the standard has no such dtype (``object``, ``str``, ``"U10"``,
    ``np.str_``, a structured dtype literal). None when the dtype is not spelled so
    (``x.astype(t)``)."""
    given = call.args[0] if call.args else None
    given = next((kw.value for kw in call.keywords if kw.arg == "dtype"), given)
    if given is None:
        return None
    path = resolve(given)
    if path is not None and path.count(".") == 1 and path.partition(".")[2] in STANDARD_DTYPES:
        return f"xp.astype(x, xp.{path.partition('.')[2]})", ""
    if isinstance(given, (ast.List, ast.Tuple, ast.Dict)) or path in _NO_DTYPE_NUMPY:
        shown = path or "a structured dtype"
        return None, _NO_DTYPE.format(shown=shown)
    if isinstance(given, ast.Constant) and isinstance(given.value, str):
        dtype = hint_for_dtype(given.value, True)
        if dtype is None:  # a string naming no standard dtype: "U10", "O", "float16"
            return None, _NO_DTYPE.format(shown=repr(given.value))
    elif isinstance(given, ast.Name) and path is None:
        if given.id in _NO_DTYPE_TYPES:
            return None, _NO_DTYPE.format(shown=given.id)
        dtype = hint_for_dtype(given.id, False)
    else:
        return None
    if dtype is None:
        return None
    meant, _, note = dtype.removeprefix("dtype=").partition(" (")
    return f"xp.astype(x, {meant})" + (f" ({note}" if note else ""), ""
