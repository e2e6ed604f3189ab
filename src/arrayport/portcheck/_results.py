"""What NumPy calls return, as far as port-check's name tracking needs to know.

:class:`~arrayport.portcheck._scopes.ScopeTracker` records a name assigned from NumPy as
an "array" unless the call is known to return something else: an object, a string, a shape
or None (``np.array2string(x)``, ``np.shape(x)``, ``x.tolist()``, ``x.sort()``), or a tuple
or list of arrays (``np.split(x, 3)``), whose elements are arrays when unpacked.
"""

from __future__ import annotations

import ast

__all__ = ["call_result"]

#: numpy callables that return something other than an array (so their result is not a
#: "known array" for the ambiguous attributes): objects, strings, shapes and axes (a tuple
#: of ints, an int: normalize_axis_tuple), bools, None.
_NOT_ARRAY_FACTORIES = frozenset(
    {
        *("default_rng", "RandomState", "Generator", "errstate", "vectorize", "nditer"),
        *("dtype", "finfo", "iinfo", "printoptions", "get_printoptions", "set_printoptions"),
        *("geterr", "seterr", "geterrcall", "seterrcall", "poly1d", "ndindex", "ndenumerate"),
        *("array2string", "array_repr", "array_str", "binary_repr", "base_repr"),
        *("format_float_positional", "format_float_scientific", "mintypecode", "typename"),
        *("shape", "ndim", "size", "broadcast_shapes", "einsum_path", "get_include"),
        *("isscalar", "iterable", "may_share_memory", "shares_memory", "array_equal"),
        *("array_equiv", "allclose", "can_cast", "issubdtype", "isdtype", "isrealobj"),
        *("iscomplexobj", "copyto", "place", "putmask", "fill_diagonal", "shuffle", "seed"),
        *("get_state", "set_state", "save", "savez", "savez_compressed", "savetxt", "info"),
        *("show_config", "normalize_axis_tuple", "normalize_axis_index", "byte_bounds"),
    }
)
#: numpy callables that return a tuple or list of arrays: unpacked, each name holds an
#: array (``q, r = ...``); kept whole, the name holds a sequence ("arrays").
_ARRAYS_FACTORIES = frozenset(
    {
        *("split", "array_split", "hsplit", "vsplit", "dsplit", "unstack", "meshgrid"),
        *("broadcast_arrays", "nonzero", "histogram", "histogram2d", "histogramdd", "ix_"),
        *("tril_indices", "triu_indices", "diag_indices", "unravel_index", "modf", "frexp"),
        *("divmod", "eig", "eigh", "slogdet", "lstsq", "unique_all", "unique_counts"),
        *("unique_inverse", "svd", "qr"),
    }
)
#: ndarray methods whose result is not an array (a list, a Python scalar, bytes, None)...
_NOT_ARRAY_METHODS = frozenset(
    {
        *("tolist", "item", "tobytes", "tostring", "tofile", "dump", "dumps", "fill"),
        *("sort", "partition", "put", "resize", "setfield", "setflags", "itemset"),
    }
)
#: ...a tuple of arrays, whatever the receiver (only ndarrays have these methods)...
_ARRAYS_METHODS = frozenset({"nonzero"})
#: ...or an array, whatever the receiver: only ndarrays have these methods.
_ARRAY_ONLY_RESULTS = frozenset(
    {
        *("astype", "flatten", "ravel", "reshape", "transpose", "swapaxes", "squeeze"),
        *("take", "repeat", "clip", "cumsum", "cumprod", "conj", "diagonal", "byteswap"),
    }
)
_DTYPE_FACTORIES = frozenset({"numpy.dtype", "numpy.promote_types", "numpy.result_type"})
_ARRAY_ANNOTATIONS = frozenset({"numpy.ndarray", "numpy.typing.NDArray", "numpy.typing.ArrayLike"})


def _given(node: ast.Call, keyword: str) -> ast.expr | None:
    return next((kw.value for kw in node.keywords if kw.arg == keyword), None)


def call_result(name: str, node: ast.Call) -> str | None:
    """What numpy function ``name`` returns for call ``node`` where its arguments decide:
    ``"arrays"`` (a tuple or list of arrays: ``np.where(c)``, ``np.unique(x,
    return_counts=True)``, ``np.atleast_2d(a, b)``), ``"unknown"`` (``np.gradient(f)`` is
    an array for 1-D ``f``, a tuple of arrays beyond), or None (the array it returns
    otherwise)."""
    starred = any(isinstance(a, ast.Starred) for a in node.args) or any(
        kw.arg is None for kw in node.keywords
    )
    if name == "where" and len(node.args) == 1 and not node.keywords:
        return "unknown" if starred else "arrays"
    if name == "gradient":
        axis = _given(node, "axis")
        one_axis = isinstance(axis, ast.Constant) and type(axis.value) is int
        return None if one_axis and not starred else "unknown"
    if name == "unique":
        returns = [kw.value for kw in node.keywords if (kw.arg or "").startswith("return_")]
        if any(isinstance(v, ast.Constant) and v.value is True for v in returns):
            return "arrays"
        if starred or any(not (isinstance(v, ast.Constant) and v.value is False) for v in returns):
            return "unknown"
        return None
    if name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        if starred:
            return "unknown"
        return "arrays" if len(node.args) > 1 else None
    return None
