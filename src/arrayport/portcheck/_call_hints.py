"""What a NumPy call means by its arguments, or by their absence, where the hint or the
finding depends on them.

:func:`call_hint` turns the table's hint for a function into the one for this call
(``np.size(x, 0)`` is ``x.shape[0]``, not ``x.size``; ``np.ptp(x, axis=0)`` keeps its
axis; ``np.pad`` in another mode than "constant" has no array-api-extra equivalent;
``np.partition(a, -2)`` counts kth from the end, which ``xpx.partition`` does not;
``np.ndarray(shape)`` builds an array, where ``isinstance(x, np.ndarray)`` tests one).
:func:`default_findings` reports a call whose NumPy default differs from the standard's
(``np.linalg.pinv(a)`` cuts singular values at ``1e-15 * smax``, the standard at
``max(M, N) * eps * smax``).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect

from arrayport._exchange import STANDARD_DTYPES
from arrayport.portcheck._dtype_hints import hint_for_dtype
from arrayport.portcheck._extra_hints import assert_close_hint

__all__ = ["argument", "call_hint", "default_findings", "partition_hint"]

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


@functools.cache
def _xpx_cov_keywords() -> frozenset[str]:
    """The parameters of the installed array-api-extra's cov (axis=, correction=, fweights=
    and aweights= came after its first releases, which took only m)."""
    try:
        cov = importlib.import_module("array_api_extra").cov
        return frozenset(inspect.signature(cov).parameters)
    except (ImportError, AttributeError, TypeError, ValueError):
        return frozenset()


def _flag(node: ast.expr) -> bool | None:
    """The truth of ``node`` if it is a literal (``True``, ``1``), else None."""
    return bool(node.value) if isinstance(node, ast.Constant) else None


def _cov_hint(node: ast.Call, hint: str) -> tuple[str | None, str]:
    """``hint`` (array-api-extra's cov) for ``np.cov`` call ``node``, keeping its rowvar=,
    bias=, ddof=, fweights= and aweights= under xpx.cov's names; or none, with a note, where
    the installed array-api-extra's cov lacks the keyword they need. NumPy ignores rowvar
    for a 1-D array (one variable, never transposed): ``axis=-2`` is for a 2-D m, and
    ``np.cov(x, y)`` of 1-D arrays is ``xpx.cov(xp.stack((x, y)))`` whatever rowvar says."""
    mapping = (
        "rowvar=False is axis=-2 for a 2-D m, bias=True is correction=0, ddof=k is "
        "correction=k; fweights= and aweights= keep their names"
    )
    if _opaque(node):
        return f"xpx.cov(m, axis=..., correction=...) (array-api-extra; {mapping})", ""
    m, y = argument(node, 0, "m"), argument(node, 1, "y")
    rowvar, bias, ddof = (
        argument(node, i, n) for i, n in ((2, "rowvar"), (3, "bias"), (4, "ddof"))
    )
    options: dict[str, str] = {}
    along = "0"  # the axis a pair's variables are joined along (x, y given)
    if rowvar is not None and _flag(rowvar) is not True:
        shown = ast.unparse(rowvar)
        options["axis"] = "-2" if _flag(rowvar) is False else f"-1 if {shown} else -2"
        along = "1" if _flag(rowvar) is False else f"0 if {shown} else 1"
    if ddof is not None:  # NumPy's ddof overrides bias
        options["correction"] = ast.unparse(ddof)
    elif bias is not None and _flag(bias) is not False:
        options["correction"] = "0" if _flag(bias) else f"0 if {ast.unparse(bias)} else 1"
    for place, name in ((5, "fweights"), (6, "aweights")):
        weights = argument(node, place, name)
        if weights is not None:
            options[name] = ast.unparse(weights)
    dtype = next((kw.value for kw in node.keywords if kw.arg == "dtype"), None)
    if not options and y is None and dtype is None:
        return hint, ""
    lacking = sorted(set(options) - _xpx_cov_keywords())
    if lacking:
        names = ", ".join(f"{k}=" for k in lacking)
        return None, (
            f"; the installed array-api-extra's cov has no {names} (newer releases have "
            f"it): without it, xpx.cov gives other values for this call ({mapping})"
        )
    data = "m" if m is None else ast.unparse(m)
    axis = options.pop("axis", None)
    rest = "".join(f", {k}={v}" for k, v in options.items())
    notes = []
    if y is not None:  # the pair's variables: rows of both (columns of both for rowvar=False)
        pair = f"{data}, {ast.unparse(y)}"
        joined = f"xp.concat(({pair}), axis={along})"
        notes.append(
            f"xp.stack(({pair})) is for 1-D arrays, whatever rowvar says; 2-D ones: "
            f"xpx.cov({joined}{'' if axis is None else f', axis={axis}'}{rest})"
        )
        data, axis = f"xp.stack(({pair}))", None
    elif axis is not None:
        notes.append(f"axis={axis} is for a 2-D {data}; NumPy ignores rowvar for a 1-D one")
    if dtype is not None:
        notes.append(f"np.cov's dtype=: xp.astype({data}, dtype) first")
    given = ("" if axis is None else f", axis={axis}") + rest
    return f"xpx.cov({data}{given}) (array-api-extra{''.join('; ' + n for n in notes)})", ""


def _operand(node: ast.expr) -> str:
    """``node`` as written, in parentheses where a subtraction would split it."""
    simple = (ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Call)
    return ast.unparse(node) if isinstance(node, simple) else f"({ast.unparse(node)})"


def partition_hint(key: str, node: ast.Call, hint: str | None) -> tuple[str | None, str]:
    """``hint`` (array-api-extra's) for ``np.partition(a, kth, axis)`` or ``argpartition``
    call ``node``, and what to add to the message. xpx's kth is one int in [0, n): NumPy's
    negative kth (``-2``, ``-k``: from the end) is written ``n - 2``, and a sequence of kth
    gets ``xp.sort`` or ``xp.argsort``, which put every element where a partition at any
    kth does (and without array-api-extra)."""
    kth = argument(node, 1, "kth")
    if _opaque(node) or kth is None or not node.args:
        return hint, ""
    a = _operand(node.args[0])
    axes = [kw.value for kw in node.keywords if kw.arg == "axis"] + node.args[2:3]
    flat = bool(axes) and isinstance(axes[0], ast.Constant) and axes[0].value is None
    axis = ast.unparse(axes[0]) if axes else "-1"
    if isinstance(kth, (ast.List, ast.Tuple, ast.ListComp, ast.Set)):
        sort = "xp.sort" if key == "partition" else "xp.argsort"
        whole = f"{sort}(xp.reshape({a}, (-1,)))" if flat else f"{sort}({a}, axis={axis})"
        note = f"; array-api-extra's {key} takes one int kth, not a sequence"
        return f"{whole} (a full sort is a partition at every kth)", note
    if hint is None or not (isinstance(kth, ast.UnaryOp) and isinstance(kth.op, ast.USub)):
        return hint, ""
    n = f"{a}.size" if flat else f"{a}.shape[{axis}]"
    keyword = f", axis={axis}" if axes else ""
    return (
        f"xpx.{key}({a}, {n} - {_operand(kth.operand)}{keyword}) (array-api-extra; its kth "
        "is in [0, n): NumPy's negative kth counts from the end)"
    ), ""


def _ndarray_hint(node: ast.Call) -> tuple[str | None, str]:
    """``np.ndarray(shape, dtype, buffer, offset, strides, order)`` called: an uninitialised
    array (xp.empty), not the isinstance check the name's hint is for."""
    if _opaque(node):
        return "xp.empty(shape, dtype=...) (np.ndarray(shape) is uninitialised, as is xp.empty)", ""
    if argument(node, 2, "buffer") is not None:
        return None, (
            "; np.ndarray(shape, buffer=...) views the buffer's memory (no standard equivalent)"
        )
    shape, dtype = argument(node, 0, "shape"), argument(node, 1, "dtype")
    if isinstance(shape, ast.List):  # np.ndarray([]): the standard's shape is a tuple
        shape = ast.Tuple(elts=shape.elts, ctx=ast.Load())
    shown = "xp.float64" if dtype is None else ast.unparse(dtype)  # NumPy's default
    loose = None  # "f4", float: the standard dtype meant
    if isinstance(dtype, ast.Constant) and isinstance(dtype.value, str):
        loose = hint_for_dtype(dtype.value, True)
    elif isinstance(dtype, ast.Name):
        loose = hint_for_dtype(dtype.id, False)
    elif isinstance(dtype, ast.Attribute) and dtype.attr in STANDARD_DTYPES:
        shown = f"xp.{dtype.attr}"  # np.float32
    if loose is not None:
        shown = loose.removeprefix("dtype=").partition(" (")[0]
    return (
        f"xp.empty({'shape' if shape is None else ast.unparse(shape)}, dtype={shown}) "
        "(np.ndarray(shape) is uninitialised memory, as is xp.empty's; order= and strides= "
        "only lay it out in memory, which the standard leaves to the library)"
    ), ""


def call_hint(key: str, node: ast.Call, hint: str | None) -> tuple[str | None, str]:
    """The hint for call ``node`` of numpy function ``key`` (``"pad"``, ``"size"``) whose
    table hint is ``hint``, and what to add to the message."""
    if key == "pad" and hint is not None:
        return _pad_hint(node, hint)
    if key == "cov" and hint is not None:
        return _cov_hint(node, hint)
    if key == "testing.assert_allclose" and hint is not None:
        return assert_close_hint(node, hint)
    if key in ("partition", "argpartition"):
        return partition_hint(key, node, hint)
    if key == "ndarray":
        return _ndarray_hint(node)
    if key in ("size", "ptp") and _opaque(node):  # an axis may hide in *args/**kwargs
        if key == "size":
            return "x.shape[axis]", ""
        return "xp.max(x, axis=...) - xp.min(x, axis=...)", ""
    if key == "size":
        return _size_hint(node), ""
    if key == "ptp":
        return ptp_hint(node), ""
    return hint, ""
