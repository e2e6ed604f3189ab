"""What to write instead of a NumPy name that array-api-extra replaces: its hint table.

Offered by :func:`arrayport.portcheck._hints.hint_for_function` only where the installed
array-api-extra has the function (``xpx`` is ``array_api_extra``).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect

__all__ = ["EXTRA_HINTS", "EXTRA_USAGE", "assert_close_hint"]

#: numpy name -> array-api-extra function, offered only when the installed
#: array-api-extra has it (checked at run time).
EXTRA_HINTS: dict[str, str] = {
    "allclose": "isclose",
    "angle": "angle",
    "argpartition": "argpartition",
    "atleast_1d": "atleast_nd",
    "atleast_2d": "atleast_nd",
    "cov": "cov",
    "deg2rad": "deg2rad",
    "diag_indices": "diag_indices",
    "in1d": "isin",
    "isclose": "isclose",
    "kron": "kron",
    "nan_to_num": "nan_to_num",
    "nanmax": "nanmax",
    "nanmean": "nanmean",
    "nanmin": "nanmin",
    "nansum": "nansum",
    "pad": "pad",
    "partition": "partition",
    "rad2deg": "rad2deg",
    "radians": "deg2rad",
    "degrees": "rad2deg",
    "setdiff1d": "setdiff1d",
    "sinc": "sinc",
    "tril_indices": "tril_indices",
    "triu_indices": "triu_indices",
    "union1d": "union1d",
    "unravel_index": "unravel_index",
    "testing.assert_allclose": "testing.assert_close",
    "testing.assert_array_equal": "testing.assert_equal",
    "testing.assert_equal": "testing.assert_equal",
}

#: numpy name -> how to call the array-api-extra function of :data:`EXTRA_HINTS`, where it
#: is not a drop-in replacement (``xpx.isclose`` returns an array, ``allclose`` a bool).
EXTRA_USAGE: dict[str, str] = {
    "allclose": "xp.all(xpx.isclose(a, b))",
    "atleast_1d": "xpx.atleast_nd(x, ndim=1)",
    "atleast_2d": "xpx.atleast_nd(x, ndim=2)",
    "cov": (
        "xpx.cov(m), one array with a variable per row (np.cov's rowvar=True): for "
        "rowvar=False pass the transpose, and stack np.cov's second array into m first"
    ),
    "diag_indices": "xpx.diag_indices(n, ndim=ndim, xp=xp) (xp= is required)",
    "in1d": (
        "xpx.isin(xp.reshape(ar1, (-1,)), ar2) (np.in1d flattens ar1; assume_unique=, "
        "invert= and kind= as in NumPy; for integer arrays the standard's xp.isin also does)"
    ),
    "nan_to_num": (
        "xpx.nan_to_num(x, fill_value=...) for floating x (np.nan_to_num's nan=; NumPy "
        "returns an integer x unchanged)"
    ),
    "nanmax": "xpx.nanmax(x, axis=...) (bool x: xp.any(x, axis=...))",
    "nanmean": (
        "xpx.nanmean(x, axis=...) for floating x (an integer or bool x has no NaN: "
        "xp.mean(xp.astype(x, xp.float64), axis=...))"
    ),
    "nanmin": "xpx.nanmin(x, axis=...) (bool x: xp.all(x, axis=...))",
    "nansum": "xpx.nansum(x, axis=...) (bool x: xp.sum(xp.astype(x, xp.int64), axis=...))",
    "partition": (
        "xpx.partition(a, kth, axis=...) for one int kth, 0 <= kth < a.shape[axis] (NumPy's "
        "negative kth: a.shape[axis] + kth; a sequence of kth: xp.sort(a, axis=...), a "
        "partition at every kth)"
    ),
    "argpartition": (
        "xpx.argpartition(a, kth, axis=...) for one int kth, 0 <= kth < a.shape[axis] "
        "(NumPy's negative kth: a.shape[axis] + kth; a sequence of kth: xp.argsort(a, "
        "axis=...), a partition at every kth)"
    ),
    "pad": (
        "xpx.pad(x, pad_width) (an int, a (before, after) pair or a pair per axis; "
        "constant_values= a scalar)"
    ),
    "setdiff1d": "xpx.setdiff1d(a, b) (each NaN stays distinct; np.setdiff1d keeps one)",
    "sinc": "xpx.sinc(x) (integer x: xp.astype(x, xp.float64) first)",
    "tril_indices": "xpx.tril_indices(n, offset=k, m=m, xp=xp) (NumPy's k; xp= is required)",
    "triu_indices": "xpx.triu_indices(n, offset=k, m=m, xp=xp) (NumPy's k; xp= is required)",
    "union1d": "xpx.union1d(a, b) (each NaN stays distinct; np.union1d keeps one)",
    "unravel_index": (
        "xpx.unravel_index(xp.asarray(i), shape) (indices an array; out-of-range ones wrap "
        "where NumPy raises)"
    ),
    "testing.assert_allclose": (
        "xpx.testing.assert_close(actual, desired, rtol=1e-7) with the call's atol=, "
        "equal_nan= and err_msg= (rtol=1e-7 is NumPy's default; assert_close's depends on the "
        "dtype, ~1e-3 for float32), which also checks dtype and shape (check_dtype=False, "
        "check_shape=False to relax)"
    ),
}

#: np.testing.assert_allclose's parameters in order; assert_close has them by keyword.
_ALLCLOSE = ("actual", "desired", "rtol", "atol", "equal_nan", "err_msg", "verbose")


@functools.cache
def _assert_close_keywords() -> frozenset[str]:
    """The parameters of the installed array-api-extra's testing.assert_close."""
    try:
        testing = importlib.import_module("array_api_extra.testing")
        return frozenset(inspect.signature(testing.assert_close).parameters)
    except (ImportError, AttributeError, TypeError, ValueError):
        return frozenset()


def assert_close_hint(node: ast.Call, hint: str) -> tuple[str | None, str]:
    """``hint`` (array-api-extra's assert_close) for ``np.testing.assert_allclose`` call
    ``node``, keeping its rtol, atol, equal_nan, err_msg and verbose (a dropped
    ``equal_nan=False`` or ``atol`` makes the test pass where NumPy's failed), and what to
    add to the message; no hint where the installed assert_close lacks one of them."""
    if any(isinstance(a, ast.Starred) for a in node.args) or any(
        kw.arg is None for kw in node.keywords
    ):
        return hint, ""
    given = {k: ast.unparse(v) for k, v in zip(_ALLCLOSE, node.args, strict=False)}
    given.update((kw.arg, ast.unparse(kw.value)) for kw in node.keywords if kw.arg is not None)
    strict = given.pop("strict", "False")
    actual, desired = given.pop("actual", None), given.pop("desired", None)
    if actual is None or desired is None:
        return hint, ""
    notes = []
    if "rtol" not in given:  # assert_close's default is not NumPy's
        given = {"rtol": "1e-7", **given}
        notes.append("rtol=1e-7 is NumPy's default; assert_close's depends on the dtype")
    lacking = sorted(set(given) - _assert_close_keywords())
    if lacking:
        names = ", ".join(f"{k}=" for k in lacking)
        return None, (
            f"; the installed array-api-extra's testing.assert_close has no {names}, which "
            "this call needs"
        )
    if strict != "True":  # NumPy's strict=True checks them too
        notes.append(
            "it also checks dtype and shape: check_dtype=False, check_shape=False to relax"
        )
    options = "".join(f", {k}={v}" for k, v in given.items())
    notes.insert(0, "array-api-extra")
    return f"xpx.testing.assert_close({actual}, {desired}{options}) ({'; '.join(notes)})", ""
