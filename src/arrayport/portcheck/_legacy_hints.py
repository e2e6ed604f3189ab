"""What to write instead of NumPy spellings NumPy itself has since replaced.

Names NumPy 2 removed or deprecated (``np.product``, ``np.asfarray``, ``np.in1d``,
``np.alltrue``, ``np.NaN``; ``np.round_``'s hint is with ``np.around``'s) and
keywords it renamed (``np.clip``'s ``a_min`` and ``a_max``, which NumPy 2.1 also takes as
``min`` and ``max``, the standard's names) still turn up in code being ported. Their hints
are merged into :data:`arrayport.portcheck._hints.FUNCTION_HINTS` and
:data:`~arrayport.portcheck._hints.ARGUMENT_HINTS`; ``xp`` is the array's namespace.
``np.in1d``'s hint here is the standard's (integer arrays only); where the installed
array-api-extra has ``isin``, :mod:`arrayport.portcheck._extra_hints` offers ``xpx.isin``.
"""

from __future__ import annotations

__all__ = ["LEGACY_ARGUMENT_HINTS", "LEGACY_FUNCTION_HINTS"]

#: The standard's clip with its keywords (``clip(x, /, min=None, max=None)``).
_CLIP = "xp.clip(x, min=..., max=...) (min= and max= are the standard's names for a_min, a_max)"

#: NumPy's cumprod as the standard spells it (np.cumproduct is NumPy 1's alias of it).
_CUMPROD = (
    "xp.cumulative_prod(x, axis=...) (no axis: xp.reshape(x, (-1,)) first; bool x: "
    "xp.astype(x, xp.int64) first)"
)

#: numpy name (without the ``numpy.`` prefix) -> standard replacement.
LEGACY_FUNCTION_HINTS: dict[str, str] = {
    "alltrue": "xp.all(x, axis=...)",
    "sometrue": "xp.any(x, axis=...)",
    "cumproduct": _CUMPROD,
    "NaN": "xp.nan",
    "Inf": "xp.inf",
    "Infinity": "xp.inf",
    "infty": "xp.inf",
    "PINF": "xp.inf",
    "NINF": "-xp.inf",
    "PZERO": "0.0",
    "NZERO": "-0.0",
    "complex_": "xp.complex128",
    "cfloat": "xp.complex128",
    "singlecomplex": "xp.complex64",
    "msort": "xp.sort(x, axis=0)",
    "asfarray": (
        "xp.asarray(a, dtype=xp.float64) (np.asfarray's default dtype; a floating or complex "
        "dtype= given to it is kept, any other becomes float64; on a device without float64, "
        "its default floating dtype: "
        "xp.__array_namespace_info__().default_dtypes(device=device)['real floating'])"
    ),
    "in1d": (
        "xp.isin(xp.reshape(ar1, (-1,)), ar2) for integer arrays, the only ones the "
        "standard's isin takes (np.in1d flattens ar1; invert= is the standard's too; "
        "assume_unique= and kind= only choose the algorithm)"
    ),
    "product": "xp.prod(x, axis=...) (bool x: xp.astype(x, xp.int64) first)",
}

#: (standard function, NumPy parameter it lacks) -> replacement.
LEGACY_ARGUMENT_HINTS: dict[tuple[str, str], str] = {
    ("clip", "a_min"): _CLIP,
    ("clip", "a_max"): _CLIP,
}
