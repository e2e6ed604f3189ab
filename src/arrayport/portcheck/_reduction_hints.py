"""Replacements for the arguments of NumPy's reductions that the standard's lack: where=,
initial= and, for mean, std and var, dtype=.

Each is reported on the function (``np.sum(x, where=m)``) and on the method
(``x.sum(where=m)``), which port-check checks as the function with the array first.
"""

from __future__ import annotations

__all__ = ["REDUCTION_ARGUMENT_HINTS"]

_IN_DTYPE = "xp.{f}(xp.astype(x, dtype), axis=...) (NumPy computes in dtype)"
_EXTREME = (
    "xp.{m}(xp.{f}(x, axis=...), initial) for non-empty x (NumPy's initial also is the "
    "result for an empty x)"
)
_EXTREME_WHERE = (
    "xp.{m}(xp.{f}(xp.where(where, x, initial), axis=...), initial) (NumPy requires "
    "initial= with where=)"
)

#: (standard function, NumPy keyword it lacks) -> replacement.
REDUCTION_ARGUMENT_HINTS: dict[tuple[str, str], str] = {
    **{(f, "dtype"): _IN_DTYPE.format(f=f) for f in ("mean", "std", "var")},
    ("sum", "where"): "xp.sum(xp.where(where, x, 0), axis=...)",
    ("prod", "where"): "xp.prod(xp.where(where, x, 1), axis=...)",
    ("all", "where"): "xp.all(xp.where(where, x, True), axis=...)",
    ("any", "where"): "xp.any(xp.where(where, x, False), axis=...)",
    ("mean", "where"): (
        "xp.sum(xp.where(where, x, 0), axis=...) / xp.sum(xp.astype(xp.broadcast_to("
        "where, x.shape), x.dtype), axis=...) for floating x"
    ),
    ("sum", "initial"): "xp.sum(x, axis=...) + initial",
    ("prod", "initial"): "xp.prod(x, axis=...) * initial",
    ("max", "initial"): _EXTREME.format(m="maximum", f="max"),
    ("min", "initial"): _EXTREME.format(m="minimum", f="min"),
    ("max", "where"): _EXTREME_WHERE.format(m="maximum", f="max"),
    ("min", "where"): _EXTREME_WHERE.format(m="minimum", f="min"),
}
