"""What to write instead of a non-standard NumPy name: a table of hints.

The table only suggests replacements. Whether a name is standard is decided by
:mod:`arrayport.portcheck._standard` from the standard itself; a name missing here is
still reported, just without a hint. ``xp`` is the array's namespace
(``xp = array_api_compat.array_namespace(x)``), ``xpx`` is ``array_api_extra``.
"""

from __future__ import annotations

import warnings

import numpy as np

from arrayport._exchange import STANDARD_DTYPES

__all__ = [
    "ARGUMENT_HINTS",
    "ATTRIBUTE_HINTS",
    "EXTRA_HINTS",
    "STANDARD_DTYPES",
    "EXTRA_USAGE",
    "FUNCTION_HINTS",
    "MISSING_ARGUMENT_HINTS",
    "ROUND_DECIMALS",
    "hint_for_attribute",
    "hint_for_dtype",
    "hint_for_function",
    "hint_for_method_call",
]

#: The flat reshape in column order (``ravel(order="F")``), which the standard spells out.
F_ORDER_FLAT = "xp.reshape(xp.permute_dims(x, tuple(reversed(range(x.ndim)))), (-1,))"
#: The standard's ``round`` rounds to integers only: what replaces NumPy's ``decimals``.
ROUND_DECIMALS = (
    "xp.round(x * 10**decimals) / 10**decimals (the standard's round has no decimals argument)"
)

#: numpy name (without the ``numpy.`` prefix) -> standard replacement.
FUNCTION_HINTS: dict[str, str] = {
    "absolute": "xp.abs",
    "amax": "xp.max",
    "amin": "xp.min",
    "arccos": "xp.acos",
    "arccosh": "xp.acosh",
    "arcsin": "xp.asin",
    "arcsinh": "xp.asinh",
    "arctan": "xp.atan",
    "arctan2": "xp.atan2",
    "arctanh": "xp.atanh",
    "around": "xp.round (it has no decimals argument: xp.round(x * 10**decimals) / 10**decimals)",
    "argwhere": "xp.stack(xp.nonzero(x), axis=-1)",
    "array": (
        "xp.asarray(x, copy=True) (np.array copies; xp.asarray may share memory with an "
        "array argument)"
    ),
    "array_equal": "x.shape == y.shape and bool(xp.all(x == y))",
    "asanyarray": "xp.asarray",
    "ascontiguousarray": "xp.asarray",
    "atleast_3d": (
        "xp.reshape(x, (*x.shape, 1)) for 2-D, (1, n, 1) for 1-D (np.atleast_3d appends an "
        "axis; xpx.atleast_nd prepends them)"
    ),
    "bitwise_not": "xp.bitwise_invert",
    "bool_": "xp.bool",
    "column_stack": "xp.stack(..., axis=1) for 1-D arrays, xp.concat(..., axis=1) for 2-D",
    "complexfloating": 'xp.isdtype(dtype, "complex floating")',
    "concatenate": "xp.concat",
    "conjugate": "xp.conj",
    "copy": "xp.asarray(x, copy=True)",
    "cumprod": "xp.cumulative_prod(x, axis=...) (no axis: xp.reshape(x, (-1,)) first)",
    "cumsum": "xp.cumulative_sum(x, axis=...) (no axis: xp.reshape(x, (-1,)) first)",
    "diag": "xp.linalg.diagonal (or xpx.create_diagonal to build one)",
    "dot": "xp.matmul, xp.vecdot or xp.tensordot",
    "double": "xp.float64",
    "dstack": (
        "xp.concat(..., axis=2) of arrays made 3-D as np.atleast_3d does (appending axes: "
        "xp.reshape(a, (*a.shape, 1)) for 2-D)"
    ),
    "fliplr": "xp.flip(x, axis=1)",
    "flipud": "xp.flip(x, axis=0)",
    "float_": "xp.float64",
    "floating": 'xp.isdtype(dtype, "real floating")',
    "fmax": (
        "xp.maximum, which propagates NaN where fmax ignores it (NaN-aware: "
        "xp.where(xp.isnan(x1), x2, xp.where(xp.isnan(x2), x1, xp.maximum(x1, x2))))"
    ),
    "fmin": (
        "xp.minimum, which propagates NaN where fmin ignores it (NaN-aware: "
        "xp.where(xp.isnan(x1), x2, xp.where(xp.isnan(x2), x1, xp.minimum(x1, x2))))"
    ),
    "hstack": "xp.concat(..., axis=1) (axis=0 for 1-D arrays)",
    "identity": "xp.eye",
    "inexact": 'xp.isdtype(dtype, ("real floating", "complex floating"))',
    "inner": "xp.vecdot(xp.conj(a), b) for 1-D (vecdot conjugates its first argument)",
    "int_": "xp.int64",
    "integer": 'xp.isdtype(dtype, "integral")',
    "intp": "xp.int64 (or the default index dtype from xp.__array_namespace_info__())",
    "invert": "xp.bitwise_invert",
    "iscomplexobj": 'xp.isdtype(x.dtype, "complex floating")',
    "issubdtype": "xp.isdtype",
    "left_shift": "xp.bitwise_left_shift",
    "mod": "xp.remainder",
    "ndarray": "array_api_compat.is_array_api_obj(x) for isinstance checks",
    "ndim": "x.ndim",
    "number": 'xp.isdtype(dtype, "numeric")',
    "outer": (
        "xp.linalg.outer, which takes 1-D arrays only (np.outer flattens its inputs: "
        "xp.linalg.outer(xp.reshape(a, (-1,)), xp.reshape(b, (-1,))))"
    ),
    "power": "xp.pow",
    "promote_types": "xp.result_type",
    "ptp": "xp.max(x) - xp.min(x)",
    "ravel": f"xp.reshape(x, (-1,)) (order='F': {F_ORDER_FLAT})",
    "right_shift": "xp.bitwise_right_shift",
    "rollaxis": "xp.moveaxis(x, axis, start) for start <= axis, start - 1 otherwise",
    "row_stack": "xp.concat(..., axis=0) for 2-D arrays, xp.stack(..., axis=0) for 1-D",
    "shape": "x.shape",
    "signedinteger": 'xp.isdtype(dtype, "signed integer")',
    "size": "x.size",
    "swapaxes": "xp.permute_dims(x, axes) with the two axes exchanged in range(x.ndim)",
    "transpose": (
        "xp.permute_dims(x, axes) (without axes: tuple(reversed(range(x.ndim))), NumPy's default)"
    ),
    "true_divide": "xp.divide",
    "unique": (
        "xp.unique_values (or unique_counts, unique_inverse, unique_all), whose order the "
        "standard leaves unspecified (xp.sort the values if order matters) and which counts "
        "each NaN as distinct (np.unique keeps one); with axis= there is no standard "
        "equivalent (unique_values flattens)"
    ),
    "unsignedinteger": 'xp.isdtype(dtype, "unsigned integer")',
    "vstack": "xp.concat(..., axis=0) for 2-D arrays, xp.stack(..., axis=0) for 1-D",
    "linalg.norm": "xp.linalg.vector_norm or xp.linalg.matrix_norm",
    "linalg.multi_dot": "xp.linalg.matmul, twice",
}

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
    "nan_to_num": "xpx.nan_to_num(x, fill_value=...) (np.nan_to_num's nan=)",
    "tril_indices": "xpx.tril_indices(n, offset=k, m=m, xp=xp) (NumPy's k; xp= is required)",
    "triu_indices": "xpx.triu_indices(n, offset=k, m=m, xp=xp) (NumPy's k; xp= is required)",
}

#: (standard function, NumPy parameter it lacks) -> replacement, for NumPy's argument
#: given by keyword or by position (``np.linalg.matrix_rank(A, 1e-3)`` passes ``tol``).
ARGUMENT_HINTS: dict[tuple[str, str], str] = {
    ("std", "ddof"): "correction= (the standard's name for ddof)",
    ("var", "ddof"): "correction= (the standard's name for ddof)",
    ("round", "decimals"): ROUND_DECIMALS,
    ("linalg.matrix_rank", "tol"): (
        "rtol=tol / xp.max(xp.linalg.svdvals(A), axis=-1) (NumPy's tol is an absolute "
        "threshold; the standard's rtol is relative to the largest singular value)"
    ),
    ("linalg.pinv", "rcond"): "rtol= (the same relative cutoff, under the standard's name)",
    ("linalg.svd", "compute_uv"): "xp.linalg.svdvals(x) for compute_uv=False",
    ("reshape", "order"): (
        "xp.reshape(x, shape) for order='C', the standard's only order (order='F' has no "
        "direct equivalent)"
    ),
    ("isin", "assume_unique"): (
        "xp.isin(x1, x2) without it (NumPy's assume_unique only lets it skip a step)"
    ),
    ("sort", "kind"): "stable= (the standard's sort is stable unless stable=False)",
    ("argsort", "kind"): "stable= (the standard's argsort is stable unless stable=False)",
}

#: standard function -> replacement, where NumPy's call lacks arguments the standard
#: requires; without an entry the hint spells out the standard's required arguments.
MISSING_ARGUMENT_HINTS: dict[str, str] = {
    "where": "xp.nonzero(condition) for one-argument where (or xp.where(condition, x1, x2))",
    "permute_dims": "xp.permute_dims(x, axes) (NumPy's default reverses the axes)",
}

#: ndarray attribute -> replacement (``None``: no standard equivalent).
ATTRIBUTE_HINTS: dict[str, str | None] = {
    "astype": "xp.astype(x, dtype)",
    "flatten": "xp.reshape(x, (-1,))",
    "ravel": "xp.reshape(x, (-1,))",
    "reshape": "xp.reshape(x, shape)",
    "transpose": (
        "xp.permute_dims(x, axes) (without axes: tuple(reversed(range(x.ndim)))), or x.T "
        "for 2-D only"
    ),
    "swapaxes": "xp.permute_dims(x, axes) with the two axes exchanged in range(x.ndim)",
    "copy": "xp.asarray(x, copy=True)",
    "tolist": None,
    "tobytes": None,
    "item": "float(x) or int(x) on a 0-d array",
    "dot": "xp.matmul or xp.vecdot",
    "cumsum": "xp.cumulative_sum(x, axis=...) (no axis: xp.reshape(x, (-1,)) first)",
    "cumprod": "xp.cumulative_prod(x, axis=...) (no axis: xp.reshape(x, (-1,)) first)",
    "conjugate": "xp.conj(x)",
    "real": "xp.real(x)",
    "imag": "xp.imag(x)",
    "nbytes": "x.size * (xp.finfo(x.dtype).bits // 8) (xp.iinfo for integers)",
    "itemsize": "xp.finfo(dtype).bits // 8 (xp.iinfo for integers)",
    "kind": 'xp.isdtype(dtype, "real floating") and the other dtype kinds',
    "fill": "x[...] = value (or xp.full)",
    "flat": (
        "xp.reshape(x, (-1,)) to read it (maybe a copy: writes through x.flat[i] = v must "
        "index x itself, e.g. xpx.at(x, idx).set(v) with idx from xpx.unravel_index)"
    ),
    "diagonal": "xp.linalg.diagonal(x) for 2-D (with more axes: the last two; NumPy: 0 and 1)",
    "trace": "xp.linalg.trace(x) for 2-D (with more axes: the last two; NumPy: 0 and 1)",
    "partition": "x = xpx.partition(x, kth) (ndarray.partition works in place)",
    "sort": "x = xp.sort(x) (ndarray.sort sorts in place; xp.sort returns a sorted copy)",
    "argpartition": "xpx.argpartition(x, kth)",
    "ptp": "xp.max(x) - xp.min(x)",
}


def hint_for_function(name: str, extra: frozenset[str]) -> str | None:
    """The replacement for numpy name ``name`` (dotted below ``numpy``), if any.

    ``extra`` is the installed array-api-extra's function list: an array-api-extra hint is
    given only when that function exists there.
    """
    found = FUNCTION_HINTS.get(name)
    if found is not None:
        return found
    extra_name = EXTRA_HINTS.get(name)
    if extra_name is not None:
        top = extra_name.partition(".")[0]
        if top in extra:
            return f"{EXTRA_USAGE.get(name, 'xpx.' + extra_name)} (array-api-extra)"
    return None


def hint_for_attribute(name: str, standard_names: frozenset[str]) -> str | None:
    """The replacement for ndarray attribute ``name`` (``x.sum()`` -> ``xp.sum(x, ...)``)."""
    if name in ATTRIBUTE_HINTS:
        return ATTRIBUTE_HINTS[name]
    if name in standard_names:
        return f"xp.{name}(x, ...)"
    return None


def hint_for_method_call(name: str, n_args: int, keywords: frozenset[str]) -> str | None:
    """The replacement for ``x.name(...)`` that depends on the arguments given, if any.

    ``x.round(2)`` needs more than ``xp.round``; ``x.std(ddof=1)`` is spelled with
    ``correction=`` in the standard.
    """
    if name == "round" and (n_args or "decimals" in keywords):
        return ROUND_DECIMALS
    if name in ("ravel", "flatten") and (n_args or "order" in keywords):
        return f"xp.reshape(x, (-1,)) for order='C' (order='F': {F_ORDER_FLAT})"
    if name == "reshape" and "order" in keywords:
        return (
            "xp.reshape(x, shape) for order='C' (order='F' has no direct equivalent: reverse "
            "the axes with xp.permute_dims before and after)"
        )
    if name in ("std", "var") and "ddof" in keywords:
        return f"xp.{name}(x, ..., correction=...) (the standard's name for ddof)"
    return None


#: Spellings whose size NumPy takes from the platform's C long or pointer.
_PLATFORM_INTEGERS = frozenset({"int", "int_", "intp", "l", "long", "p", "q", "longlong"})
_PLATFORM_UNSIGNED = frozenset({"uint", "uintp", "L", "ulong", "P", "Q", "ulonglong"})
_PYTHON_TYPES = {
    "bool": "dtype=xp.bool",
    "float": "dtype=xp.float64 (Python's float; or the xp floating dtype meant)",
    "complex": "dtype=xp.complex128 (Python's complex; or the xp complex dtype meant)",
    "int": "dtype=xp.int64 (or the xp integer dtype meant)",
}


def hint_for_dtype(spelling: str, is_string: bool) -> str | None:
    """The standard dtype for a dtype spelled as a string (``"float32"``, ``"d"``) or as a
    Python type (``float``, ``int``), or None when the standard has none (``"U10"``)."""
    if not is_string:
        return _PYTHON_TYPES.get(spelling)
    try:
        with warnings.catch_warnings():  # np.dtype("a") warns that "a" is deprecated
            warnings.simplefilter("ignore")
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
