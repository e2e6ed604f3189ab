"""What to write instead of ``x.astype(dtype)``: the standard dtype meant, or that there is
none (``x.astype(object)``, ``x.astype("U10")``, a structured dtype); and what becomes of
ndarray.astype's other arguments (``casting=``, ``order=``, ``subok=``), which the standard's
``astype(x, dtype, /, *, copy=True, device=None)`` lacks."""

from __future__ import annotations

import ast
from collections.abc import Callable

from arrayport.portcheck._hints import STANDARD_DTYPES, hint_for_dtype

__all__ = ["astype_argument_findings", "astype_hint"]

#: One finding on the call: (name, message, replacement).
_Found = tuple[str, str, str | None]
#: ndarray.astype's parameters after dtype, in order.
_PARAMETERS = ("order", "casting", "subok", "copy")
_CASTING = (
    "the standard's astype has no casting parameter: it casts whatever the dtypes, as "
    "casting='unsafe' does, where NumPy raises for a cast the rule forbids (casting='safe' "
    "refuses float to int; xp.astype truncates 1.7 to 1)"
)
_UNSAFE = "the standard's astype has no casting parameter (it casts as casting='unsafe' does)"
#: casting= value -> what to check before xp.astype to keep NumPy's refusal.
_CASTING_HINTS = {
    "unsafe": "xp.astype(x, dtype) without it",
    "safe": (
        "if not xp.can_cast(x.dtype, dtype): raise TypeError(...), then xp.astype(x, dtype) "
        "(can_cast follows the standard's promotion rules: stricter than NumPy's 'safe' "
        "across kinds, int to float and bool to int are False there)"
    ),
    "same_kind": (
        "a check that raises unless xp.can_cast(x.dtype, dtype) or both dtypes are of one "
        "kind (xp.isdtype), then xp.astype(x, dtype)"
    ),
    "no": "x itself, after a check that raises unless x.dtype == dtype",
    "equiv": "x itself, after a check that raises unless x.dtype == dtype",
}
_OTHERS: dict[str, _Found] = {
    "order": (
        ".astype(order=)",
        "the standard's astype has no order parameter (the standard has no memory layout)",
        "xp.astype(x, dtype) without it (the values are the same in any order)",
    ),
    "subok": (
        ".astype(subok=)",
        "the standard's astype has no subok parameter (the standard has no array subclasses)",
        "xp.astype(x, dtype) without it",
    ),
    "copy": (
        ".astype(positional)",
        "the standard's astype takes copy by keyword only",
        "xp.astype(x, dtype, copy=...)",
    ),
}


def astype_argument_findings(call: ast.Call) -> list[_Found]:
    """What ``x.astype(dtype, ...)`` passes that the standard's astype lacks: ``casting=``
    (whose refusals xp.astype does not make), ``order=`` and ``subok=``, by keyword or at
    NumPy's place for them (and a positional ``copy``)."""
    given: dict[str, ast.expr] = {}
    for param, arg in zip(_PARAMETERS, call.args[1:], strict=False):
        if isinstance(arg, ast.Starred):
            break
        given[param] = arg
    given.update((kw.arg, kw.value) for kw in call.keywords if kw.arg in _PARAMETERS[:3])
    found: list[_Found] = []
    for param, value in given.items():
        if param != "casting":
            found.append(_OTHERS[param])
            continue
        rule = value.value if isinstance(value, ast.Constant) else None
        hint = _CASTING_HINTS.get(rule) if isinstance(rule, str) else None
        if hint is None:
            hint = "; ".join(
                f"casting={k!r}: {v}" for k, v in _CASTING_HINTS.items() if k != "unsafe"
            )
        why = _UNSAFE if rule == "unsafe" else _CASTING
        found.append((".astype(casting=)", why, hint))
    return found


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
    ``np.str_``, a structured dtype literal), or is the call's own dtype where it is not
    spelled so (``x.astype(t)``: ``xp.astype(x, t)``). None for another numpy name or no
    dtype."""
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
        dtype = None
    if dtype is None:  # x.astype(t), x.astype(y.dtype): that dtype (not a numpy one)
        return None if path is not None else (f"xp.astype(x, {ast.unparse(given)})", "")
    meant, _, note = dtype.removeprefix("dtype=").partition(" (")
    return f"xp.astype(x, {meant})" + (f" ({note}" if note else ""), ""
