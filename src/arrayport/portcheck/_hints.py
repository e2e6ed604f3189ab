"""What to write instead of a non-standard NumPy name: a table of hints.

The table only suggests replacements. Whether a name is standard is decided by
:mod:`arrayport.portcheck._standard` from the standard itself; a name missing here is
still reported, just without a hint. ``xp`` is the array's namespace
(``xp = array_api_compat.array_namespace(x)``), ``xpx`` is ``array_api_extra``.
"""

from __future__ import annotations

from arrayport._exchange import STANDARD_DTYPES
from arrayport.portcheck._dtype_hints import DTYPE_ALIAS_HINTS, hint_for_dtype
from arrayport.portcheck._extra_hints import EXTRA_HINTS, EXTRA_USAGE
from arrayport.portcheck._legacy_hints import LEGACY_ARGUMENT_HINTS, LEGACY_FUNCTION_HINTS
from arrayport.portcheck._reduction_hints import REDUCTION_ARGUMENT_HINTS

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

#: The reversed axes of ``x``: NumPy's default transpose, and what column order reverses.
_REVERSED = "tuple(reversed(range(x.ndim)))"
#: The flat reshape in column order (``ravel(order="F")``), which the standard spells out.
F_ORDER_FLAT = f"xp.reshape(xp.permute_dims(x, {_REVERSED}), (-1,))"
#: ``reshape(x, shape, order="F")``: reshape the reversed axes to the reversed shape.
F_ORDER_RESHAPE = (
    f"xp.permute_dims(xp.reshape(xp.permute_dims(x, {_REVERSED}), tuple(reversed(shape))), "
    "tuple(reversed(range(len(shape)))))"
)
#: ``flatten`` always copies; ``xp.reshape`` may return a view that writes go through.
FLATTEN = "xp.reshape(x, (-1,), copy=True) (flatten copies; xp.reshape may return a view of x)"
_FLATTEN_F = f"xp.reshape(xp.permute_dims(x, {_REVERSED}), (-1,), copy=True)"
#: The standard's ``round`` rounds to integers only: what replaces NumPy's ``decimals``.
#: NumPy returns an integer array unchanged for ``decimals >= 0`` and rounds it in float64
#: below, keeping its dtype (``x * 10**decimals / ...`` makes it float, or raises).
ROUND_DECIMALS = (
    "floating x: xp.round(x * 10**decimals) / 10**decimals (the standard's round has no "
    "decimals argument); integer x: x for decimals >= 0, else xp.astype(xp.round("
    "xp.astype(x, xp.float64) / 10**-decimals) * 10**-decimals, x.dtype)"
)
#: The size of one element: finfo of a complex dtype describes its real part; bool has
#: neither finfo nor iinfo.
_ITEMSIZE = (
    "xp.finfo({d}).bits // 8 for real floating (2 * that for complex), "
    "xp.iinfo({d}).bits // 8 for integers, 1 for bool"
)
#: ``np.squeeze(x)`` and ``x.squeeze()``: the standard requires the axes.
SQUEEZE = (
    "xp.squeeze(x, axis=tuple(i for i, n in enumerate(x.shape) if n == 1)) (the standard "
    "requires axis; NumPy's default removes every length-1 axis)"
)
#: ``np.dot`` and ``x.dot``: a product with a 0-d array, matmul for 1-D and 2-D ``b``
#: (``b`` broadcast over ``a``'s leading axes is what np.dot does), a tensordot beyond;
#: vecdot conjugates its first argument.
_DOT = (
    "{a} * b if either is 0-d; else xp.matmul({a}, b) if b is 1-D or 2-D, "
    "xp.tensordot({a}, b, axes=([-1], [-2])) if b has more axes (not xp.vecdot: it "
    "conjugates a complex {a})"
)
#: Integer and bool arrays NumPy's mean, std and var compute in float64; the standard's
#: take floating arrays only, and its std and var real ones.
_TO_FLOAT = "integer or bool x: xp.astype(x, xp.float64) first"
#: What NumPy's sum of bools counts, and what the standard's refuses.
_BOOL_TO_INT = "bool x: xp.astype(x, xp.int64) first"


def _spread(name: str, *, ddof: bool) -> str:
    """The hint for ``x.std()`` or ``x.var()`` (``ddof``: with NumPy's ``ddof=``)."""
    spread = "xp.var(xp.real(x), ...) + xp.var(xp.imag(x), ...)"
    if name == "std":
        spread = f"xp.sqrt({spread})"
    args, ddof_note = (
        ("axis=..., correction=...", "correction= is ddof; ") if ddof else ("axis=...", "")
    )
    return f"xp.{name}(x, {args}) for real floating x ({ddof_note}{_TO_FLOAT}; complex x: {spread})"


#: numpy name (without the ``numpy.`` prefix) -> standard replacement.
FUNCTION_HINTS: dict[str, str] = {
    **LEGACY_FUNCTION_HINTS,  # np.product, np.asfarray, np.in1d
    **DTYPE_ALIAS_HINTS,  # np.single, np.cdouble, np.byte
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
    "around": f"xp.round without decimals; with decimals, {ROUND_DECIMALS}",
    "round_": f"xp.round without decimals; with decimals, {ROUND_DECIMALS}",
    "argwhere": "xp.stack(xp.nonzero(x), axis=-1) for x of 1 or more axes",
    "array": (
        "xp.asarray(x, copy=True) (np.array copies; xp.asarray may share memory with an "
        "array argument)"
    ),
    "array_equal": (
        "x.shape == y.shape and bool(xp.all(x == y)) (equal_nan=True: x == y replaced by "
        "(x == y) | (xp.isnan(x) & xp.isnan(y)))"
    ),
    "asanyarray": "xp.asarray",
    "ascontiguousarray": (
        "xpx.atleast_nd(xp.asarray(x), ndim=1) (np.ascontiguousarray makes a 0-d array 1-D)"
    ),
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
    "cumprod": (
        f"xp.cumulative_prod(x, axis=...) (no axis: xp.reshape(x, (-1,)) first; {_BOOL_TO_INT})"
    ),
    "cumsum": (
        f"xp.cumulative_sum(x, axis=...) (no axis: xp.reshape(x, (-1,)) first; {_BOOL_TO_INT})"
    ),
    "diag": "xp.linalg.diagonal (or xpx.create_diagonal to build one)",
    "dot": _DOT.format(a="a"),
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
    "ndarray": (
        "array_api_compat.is_array_api_obj(x) for isinstance checks (also True for NumPy "
        "scalars such as np.float64(1.0), which are not ndarrays)"
    ),
    "ndim": "x.ndim",
    "number": 'xp.isdtype(dtype, "numeric")',
    "outer": (
        "xp.linalg.outer, which takes 1-D arrays only (np.outer flattens its inputs: "
        "xp.linalg.outer(xp.reshape(a, (-1,)), xp.reshape(b, (-1,))))"
    ),
    "power": "xp.pow",
    "promote_types": (
        "xp.result_type for dtypes of one kind (it raises for bool with numbers, integers with "
        "floats, and int64 with uint64, where np.promote_types returns a dtype)"
    ),
    "ptp": "xp.max(x) - xp.min(x)",
    "ravel": f"xp.reshape(x, (-1,)) (order='F': {F_ORDER_FLAT})",
    "right_shift": "xp.bitwise_right_shift",
    "rollaxis": (
        "xp.moveaxis(x, a, s if s <= a else s - 1) with a = axis % x.ndim and "
        "s = start + x.ndim if start < 0 else start (start defaults to 0)"
    ),
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
    "uint": (
        "xp.uint64 (np.uint is uintp in NumPy 2, 32-bit on 32-bit platforms; NumPy 1's is C's "
        "unsigned long, 32-bit on Windows)"
    ),
    "unsignedinteger": 'xp.isdtype(dtype, "unsigned integer")',
    "vstack": "xp.concat(..., axis=0) for 2-D arrays, xp.stack(..., axis=0) for 1-D",
    "linalg.norm": (
        "xp.linalg.vector_norm(x, axis=axis) if ord is None (no ord=; its default is 2), "
        "xp.linalg.vector_norm(x, axis=axis, ord=ord) for a numeric ord with 1-D x or an int "
        "axis; else "
        "a matrix norm: xp.linalg.matrix_norm(x, ord=ord) (a 2-tuple axis: "
        "xp.moveaxis(x, axis, (-2, -1)) first); integer x: xp.astype(x, xp.float64) first"
    ),
    "linalg.multi_dot": "a @ b @ c ... (xp.linalg.matmul once per array after the first)",
}

#: (standard function, NumPy parameter it lacks) -> replacement, for NumPy's argument
#: given by keyword or by position (``np.linalg.matrix_rank(A, 1e-3)`` passes ``tol``).
ARGUMENT_HINTS: dict[tuple[str, str], str] = {
    **LEGACY_ARGUMENT_HINTS,  # np.clip's a_min and a_max
    **REDUCTION_ARGUMENT_HINTS,  # where=, initial=, mean's dtype=
    ("std", "ddof"): f"correction= (the standard's name for ddof; {_TO_FLOAT})",
    ("var", "ddof"): f"correction= (the standard's name for ddof; {_TO_FLOAT})",
    ("round", "decimals"): ROUND_DECIMALS,
    ("linalg.matrix_rank", "tol"): (
        "rtol=tol / xp.max(xp.linalg.svdvals(A), axis=-1) (NumPy's tol is an absolute "
        "threshold; the standard's rtol is relative to the largest singular value; integer "
        "A: xp.astype(A, xp.float64) first)"
    ),
    ("linalg.pinv", "rcond"): "rtol= (the same relative cutoff, under the standard's name)",
    ("linalg.svd", "compute_uv"): "xp.linalg.svdvals(x) for compute_uv=False",
    ("reshape", "order"): (
        f"xp.reshape(x, shape) for order='C', the standard's only order (order='F': "
        f"{F_ORDER_RESHAPE})"
    ),
    ("isin", "assume_unique"): (
        "xp.isin(x1, x2) without it (NumPy's assume_unique only lets it skip a step)"
    ),
    ("concat", "dtype"): (
        "xp.concat([xp.astype(a, dtype) for a in arrays], axis=...) (NumPy casts each array "
        "to dtype first)"
    ),
    ("sort", "kind"): "stable= (the standard's sort is stable unless stable=False)",
    ("argsort", "kind"): "stable= (the standard's argsort is stable unless stable=False)",
}

#: standard function -> replacement, where NumPy's call lacks arguments the standard
#: requires; without an entry the hint spells out the standard's required arguments.
MISSING_ARGUMENT_HINTS: dict[str, str] = {
    "where": "xp.nonzero(condition) for one-argument where (or xp.where(condition, x1, x2))",
    "permute_dims": "xp.permute_dims(x, axes) (NumPy's default reverses the axes)",
    "squeeze": SQUEEZE,
    "linspace": "xp.linspace(start, stop, 50) (NumPy's default num)",
}

#: ndarray attribute -> replacement (``None``: no standard equivalent).
ATTRIBUTE_HINTS: dict[str, str | None] = {
    "astype": "xp.astype(x, dtype)",
    "flatten": FLATTEN,
    "ravel": "xp.reshape(x, (-1,))",
    "reshape": "xp.reshape(x, shape) with shape a tuple (x.reshape(-1) is xp.reshape(x, (-1,)))",
    "transpose": (
        "xp.permute_dims(x, axes) (without axes: tuple(reversed(range(x.ndim)))), or x.T "
        "for 2-D only"
    ),
    "swapaxes": "xp.permute_dims(x, axes) with the two axes exchanged in range(x.ndim)",
    "copy": "xp.asarray(x, copy=True)",
    "tolist": None,
    "tobytes": None,
    "item": "float(x), int(x), bool(x) or complex(x) (matching x.dtype) on a 0-d array",
    "dot": _DOT.format(a="x"),
    "cumsum": (
        f"xp.cumulative_sum(x, axis=...) (no axis: xp.reshape(x, (-1,)) first; {_BOOL_TO_INT})"
    ),
    "cumprod": (
        f"xp.cumulative_prod(x, axis=...) (no axis: xp.reshape(x, (-1,)) first; {_BOOL_TO_INT})"
    ),
    "conj": "xp.conj(x) (bool x: x itself)",
    "conjugate": "xp.conj(x) (bool x: x itself)",
    "real": "xp.real(x)",
    "imag": "xp.imag(x) for complex x (real x: xp.zeros_like(x), NumPy's result)",
    "nbytes": "x.size * the item size: " + _ITEMSIZE.format(d="x.dtype"),
    "itemsize": _ITEMSIZE.format(d="x.dtype"),
    "kind": (
        'xp.isdtype(dtype, kind) with the kind meant: "bool", "signed integer", "unsigned '
        'integer", "integral", "real floating", "complex floating" or "numeric" (NumPy\'s '
        "kinds b, i, u, iu, f, c, iufc)"
    ),
    "fill": "x[...] = value (or xp.full); integer x: x[...] = int(value) (NumPy truncates)",
    "flat": (
        "xp.reshape(x, (-1,)) to read it (maybe a copy: a write x.flat[i] = v is x = "
        "xp.reshape(xpx.at(xp.reshape(x, (-1,)))[i].set(v), x.shape))"
    ),
    "diagonal": "xp.linalg.diagonal(x) for 2-D (with more axes: the last two; NumPy: 0 and 1)",
    "trace": (
        f"xp.linalg.trace(x) for 2-D (with more axes: the last two; NumPy: 0 and 1; {_BOOL_TO_INT})"
    ),
    "mean": f"xp.mean(x, axis=...) for floating x ({_TO_FLOAT})",
    "std": _spread("std", ddof=False),
    "var": _spread("var", ddof=False),
    "sum": f"xp.sum(x, axis=...) ({_BOOL_TO_INT})",
    "prod": f"xp.prod(x, axis=...) ({_BOOL_TO_INT})",
    "max": "xp.max(x, axis=...) (bool x: xp.any(x, axis=...))",
    "min": "xp.min(x, axis=...) (bool x: xp.all(x, axis=...))",
    "argmax": f"xp.argmax(x, axis=...) ({_BOOL_TO_INT})",
    "argmin": f"xp.argmin(x, axis=...) ({_BOOL_TO_INT})",
    "argsort": f"xp.argsort(x, axis=...) ({_BOOL_TO_INT})",
    "squeeze": SQUEEZE,
    "all": "xp.all(x, axis=...)",
    "any": "xp.any(x, axis=...)",
    "repeat": "xp.repeat(x, repeats, axis=...)",
    "searchsorted": "xp.searchsorted(x, v, side=...)",
    "take": (
        "xp.take(x, indices, axis=...) (without axis NumPy flattens: "
        "xp.take(xp.reshape(x, (-1,)), indices))"
    ),
    "clip": (
        "xp.clip(x, min, max) (integer x with float bounds: xp.astype(x, xp.float64) first; "
        "min > max: xp.minimum(xp.maximum(x, min), max), NumPy's result)"
    ),
    "partition": (
        "x = xpx.partition(x, kth) (ndarray.partition works in place; xpx's kth is one int in "
        "[0, n): a negative kth is x.shape[axis] + kth, and a sequence needs x = xp.sort(x, "
        "axis=...))"
    ),
    "sort": "x = xp.sort(x, axis=...) (ndarray.sort sorts in place; xp.sort returns a copy)",
    "argpartition": (
        "xpx.argpartition(x, kth) (its kth is one int in [0, n): a negative kth is "
        "x.shape[axis] + kth, and a sequence needs xp.argsort(x, axis=...))"
    ),
    "ptp": "xp.max(x) - xp.min(x)",
}
FUNCTION_HINTS.update(
    trace=ATTRIBUTE_HINTS["trace"] or "", diagonal=ATTRIBUTE_HINTS["diagonal"] or ""
)


def hint_for_function(name: str, extra: frozenset[str]) -> str | None:
    """The replacement for numpy name ``name`` (dotted below ``numpy``), if any.

    ``extra`` is the installed array-api-extra's function list: an array-api-extra hint is
    given only when that function exists there, and then before a standard one (np.in1d:
    xpx.isin takes any dtype, the standard's isin integers only).
    """
    extra_name = EXTRA_HINTS.get(name)
    if extra_name is not None and extra_name.partition(".")[0] in extra:
        return f"{EXTRA_USAGE.get(name, 'xpx.' + extra_name)} (array-api-extra)"
    return FUNCTION_HINTS.get(name)


def hint_for_attribute(name: str, standard_names: frozenset[str]) -> str | None:
    """The replacement for ndarray attribute ``name`` (``x.nonzero()`` ->
    ``xp.nonzero(x, ...)``); the methods whose standard function takes ``axis`` by keyword
    only have their own hint, which says ``axis=`` (``x.sum(0)`` is ``xp.sum(x, axis=0)``)."""
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
    if name == "round":  # the standard's round(x, /) takes nothing else
        return ROUND_DECIMALS if n_args or "decimals" in keywords else "xp.round(x)"
    if name == "ravel" and (n_args or "order" in keywords):
        return f"xp.reshape(x, (-1,)) for order='C' (order='F': {F_ORDER_FLAT})"
    if name == "flatten" and (n_args or "order" in keywords):
        return f"xp.reshape(x, (-1,), copy=True) for order='C' (order='F': {_FLATTEN_F})"
    if name == "reshape" and "order" in keywords:
        return f"xp.reshape(x, shape) for order='C' (order='F': {F_ORDER_RESHAPE})"
    if name in ("std", "var") and "ddof" in keywords:
        return _spread(name, ddof=True)
    if name == "squeeze" and (n_args or "axis" in keywords):
        return "xp.squeeze(x, axis)"
    if name == "take" and (n_args > 1 or "axis" in keywords):
        return "xp.take(x, indices, axis=...)"
    return None
