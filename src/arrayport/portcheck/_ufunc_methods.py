"""NumPy's ufunc methods (``np.add.at``, ``np.add.reduce``, ``np.multiply.outer``): what
port-check reports for them, and what to write instead.

The standard's functions are plain functions, with no ``at``, ``reduce``,
``accumulate``, ``outer`` or ``reduceat``; :func:`ufunc_method_finding` gives the name,
message and hint for such a use of a ufunc the standard also has (``np.add`` is
standard, ``np.add.at`` is not).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ufunc_method_finding"]

#: ufunc -> the standard's reduction that ``ufunc.reduce`` is (along axis 0 by default).
_REDUCTIONS = {
    "add": "sum",
    "multiply": "prod",
    "logical_and": "all",
    "logical_or": "any",
    "maximum": "max",
    "minimum": "min",
}
#: ufunc -> the standard's cumulative function that ``ufunc.accumulate`` is.
_ACCUMULATIONS = {"add": "cumulative_sum", "multiply": "cumulative_prod"}
#: ufunc -> the array-api-extra ``at`` method doing the same update (once per index).
_AT_METHODS = {
    "add": "add",
    "subtract": "subtract",
    "multiply": "multiply",
    "divide": "divide",
    "power": "power",
    "maximum": "max",
    "minimum": "min",
}


def _hint(ufunc: str, method: str, extra: frozenset[str]) -> str | None:
    if method == "reduce" and ufunc in _REDUCTIONS:
        return f"xp.{_REDUCTIONS[ufunc]}(x, axis=0) (ufunc.reduce's default axis is 0)"
    if method == "accumulate" and ufunc in _ACCUMULATIONS:
        return f"xp.{_ACCUMULATIONS[ufunc]}(x, axis=0)"
    if method == "outer":
        return (
            f"xp.{ufunc}(a[:, None], b[None, :]) for 1-D a and b (broadcasting; N-D: "
            f"xp.{ufunc}(xp.reshape(a, (*a.shape, *(1,) * b.ndim)), b))"
        )
    if method == "at" and ufunc in _AT_METHODS and "at" in extra:
        return (
            f"x = xpx.at(x, idx).{_AT_METHODS[ufunc]}(v) (array-api-extra) only where idx "
            f"has no repeated index: np.{ufunc}.at applies a repeated index once per "
            "repeat, xpx.at once (repeats: no standard equivalent); an integer-array idx "
            "also needs a library that assigns through one (the standard does not)"
        )
    return None


def ufunc_method_finding(
    ufunc: str, attribute: str, extra: frozenset[str]
) -> tuple[str, str, str | None] | None:
    """(name, message, hint) for ``numpy.<ufunc>.<attribute>``, where ``ufunc`` is a
    standard function's name; None when ``numpy.<ufunc>`` is not a ufunc. ``extra`` is the
    installed array-api-extra's function list."""
    if not isinstance(getattr(np, ufunc, None), np.ufunc):
        return None
    name = f"numpy.{ufunc}.{attribute}"
    why = f"ufunc methods and attributes are NumPy's; the standard's {ufunc} is a plain function"
    return name, why, _hint(ufunc, attribute, extra)
