"""What a NumPy call means by its arguments, or by their absence, where the hint or the
finding depends on them.

:func:`call_hint` turns the table's hint for a function into the one for this call
(``np.size(x, 0)`` is ``x.shape[0]``, not ``x.size``; ``np.ptp(x, axis=0)`` keeps its
axis; ``np.pad`` in another mode than "constant" has no array-api-extra equivalent).
:func:`default_findings` reports a call whose NumPy default differs from the standard's
(``np.linalg.pinv(a)`` cuts singular values at ``1e-15 * smax``, the standard at
``max(M, N) * eps * smax``).
"""

from __future__ import annotations

import ast

__all__ = ["argument", "call_hint", "default_findings"]

#: One finding on the call: (name, message, replacement).
_Found = tuple[str, str, str | None]

_PINV = (
    "numpy.linalg.pinv(default rtol)",
    "np.linalg.pinv without rcond or rtol cuts singular values below 1e-15 times the "
    "largest; the standard's default cutoff is max(M, N) * eps times it, which gives other "
    "values for ill-conditioned matrices",
    "xp.linalg.pinv(a, rtol=1e-15) (NumPy's default cutoff)",
)


def argument(node: ast.Call, place: int, name: str) -> ast.expr | None:
    """The argument of ``node`` for NumPy's parameter ``name`` at ``place``, or None when
    it is not given (or given as None)."""
    given = [kw.value for kw in node.keywords if kw.arg == name]
    if (
        not given
        and place < len(node.args)
        and not any(isinstance(a, ast.Starred) for a in node.args[: place + 1])
    ):
        given = [node.args[place]]
    if not given or (isinstance(given[0], ast.Constant) and given[0].value is None):
        return None
    return given[0]


def _opaque(node: ast.Call) -> bool:
    """Whether ``node`` passes ``*args`` or ``**kwargs``, hiding what it gives."""
    return any(isinstance(a, ast.Starred) for a in node.args) or any(
        kw.arg is None for kw in node.keywords
    )


def default_findings(node: ast.Call, path: str) -> list[_Found]:
    """A call that relies on a NumPy default the standard's function does not share."""
    if path != "numpy.linalg.pinv" or _opaque(node):
        return []
    rtol = any(kw.arg == "rtol" for kw in node.keywords)
    if rtol or argument(node, 1, "rcond") is not None:
        return []  # rcond is reported as an argument; rtol is the standard's
    return [_PINV]


def _size_hint(node: ast.Call) -> str:
    axis = argument(node, 1, "axis")
    if axis is None:
        return "x.size"
    if isinstance(axis, ast.Tuple):
        return f"math.prod(x.shape[i] for i in {ast.unparse(axis)})"
    return f"x.shape[{ast.unparse(axis)}]"


def ptp_hint(node: ast.Call) -> str:
    """``np.ptp(x, axis, out, keepdims)`` in the standard (also for ``x.ptp(...)``, given
    as the function's call with ``x`` first)."""
    options = [
        f"{name}={ast.unparse(value)}"
        for place, name in ((1, "axis"), (3, "keepdims"))
        if (value := argument(node, place, name)) is not None
    ]
    keywords = "".join(f", {o}" for o in options)
    hint = f"xp.max(x{keywords}) - xp.min(x{keywords})"
    if argument(node, 2, "out") is not None:
        hint += " (out= has no standard equivalent: assign the result)"
    return hint


def _pad_hint(node: ast.Call, hint: str) -> tuple[str | None, str]:
    """``hint`` (array-api-extra's pad) for ``np.pad`` call ``node`` and what to add to the
    message: xpx.pad supports mode="constant" only, so another mode gets no hint."""
    modes = [kw.value for kw in node.keywords if kw.arg == "mode"] + node.args[2:3]
    if not modes:
        return hint, ""
    mode = modes[0]
    if not isinstance(mode, ast.Constant):
        return f"{hint}, if mode is 'constant' (the only mode it supports)", ""
    if mode.value == "constant":
        return hint, ""
    return None, (
        f"; array-api-extra's pad supports mode='constant' only, not mode={mode.value!r} "
        "(no standard equivalent)"
    )


def call_hint(key: str, node: ast.Call, hint: str | None) -> tuple[str | None, str]:
    """The hint for call ``node`` of numpy function ``key`` (``"pad"``, ``"size"``) whose
    table hint is ``hint``, and what to add to the message."""
    if key == "pad" and hint is not None:
        return _pad_hint(node, hint)
    if key in ("size", "ptp") and _opaque(node):  # an axis may hide in *args/**kwargs
        if key == "size":
            return "x.shape[axis]", ""
        return "xp.max(x, axis=...) - xp.min(x, axis=...)", ""
    if key == "size":
        return _size_hint(node), ""
    if key == "ptp":
        return ptp_hint(node), ""
    return hint, ""
