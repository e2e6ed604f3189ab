"""How many axes an array expression has at least, as far as the source shows.

The standard defines iteration for 1-D arrays only (since 2024.12: ``x[0], x[1], ...``, each
a 0-D array); iterating over an array of two or more axes is unspecified, and
array-api-strict refuses it. port-check reports iteration only where it knows the array
has two or more axes: :func:`min_axes` gives a lower bound on the number of axes, read
from the shapes written in the source (``np.zeros((n, 3))``, ``x.reshape(-1, 1)``,
``x[:, None]``, ``np.eye(n)``) and kept through the operations that never remove an axis
(broadcasting arithmetic, ``astype``, ``.T``, elementwise functions). 0 means unknown.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np

from arrayport.portcheck._bindings import _Scope
from arrayport.portcheck._numpy_signatures import numpy_attribute

__all__ = ["TRANSPOSE_OF_3D", "ArrayAxes", "min_axes"]

#: numpy functions whose result has at least this many axes, whatever the arguments.
_AT_LEAST = {
    **dict.fromkeys(("eye", "identity", "tri", "vander", "outer", "argwhere"), 2),
    **dict.fromkeys(("column_stack", "vstack", "row_stack", "indices", "diagflat"), 2),
    "dstack": 3,
}
#: numpy functions whose result has the axes of their first argument, or more.
_SAME_AXES = frozenset(
    {
        *("asarray", "array", "asanyarray", "ascontiguousarray", "copy", "astype", "sort"),
        *("zeros_like", "ones_like", "empty_like", "full_like", "transpose", "permute_dims"),
        *("moveaxis", "swapaxes", "flip", "roll", "conj", "conjugate", "round", "around"),
        *("nan_to_num", "argsort", "real", "imag"),
    }
)
#: ndarray methods whose result has the axes of the array, or more.
_SAME_AXES_METHODS = frozenset(
    {"astype", "copy", "conj", "conjugate", "clip", "round", "transpose", "swapaxes", "argsort"}
)
_CREATION = frozenset({"zeros", "ones", "empty", "full"})
#: Functions and methods whose ``axis=None`` flattens the array: one axis, not its own.
_FLATTENED_BY_NONE = frozenset({"sort", "argsort"})
_ATTRIBUTES = frozenset({"T", "mT", "real", "imag"})
#: ``x.T`` of an array known to have three or more axes: (message, hint).
TRANSPOSE_OF_3D = (
    "ndarray.T of an array of 3 or more axes reverses them all in NumPy; the standard's .T "
    "is for 2-D arrays only (array-api-strict raises)",
    "xp.permute_dims(x, tuple(reversed(range(x.ndim)))) (x.mT swaps only the last two axes)",
)


def _literal_axes(node: ast.expr) -> int:
    """The nesting depth of a list or tuple literal (``[[1, 2], [3, 4]]`` is 2)."""
    depth = 0
    while isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        depth += 1
        node = node.elts[0]
    return depth


def _shape_length(node: ast.expr | None) -> int:
    """The number of axes a shape written in place gives (``(n, 3)`` 2, ``5`` 1), or 0."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return 0 if any(isinstance(e, ast.Starred) for e in node.elts) else len(node.elts)
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return 1 if isinstance(node, ast.Constant) and type(node.value) is int else 0


def _is_none(node: ast.expr, resolve: Callable[[ast.AST], str | None]) -> bool:
    return (isinstance(node, ast.Constant) and node.value is None) or resolve(
        node
    ) == "numpy.newaxis"


def _subscript_axes(
    node: ast.Subscript, base: int, resolve: Callable[[ast.AST], str | None]
) -> int:
    """A lower bound on the axes of ``x[...]`` for an ``x`` of ``base`` axes or more: slices
    keep an axis, None adds one, an int literal removes one; anything else is unknown."""
    index = node.slice
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    slices = added = removed = 0
    for part in parts:
        if isinstance(part, ast.Slice):
            slices += 1
        elif _is_none(part, resolve):
            added += 1
        elif isinstance(part, ast.Constant) and part.value is Ellipsis:
            continue
        elif _shape_length(part) == 1 and not isinstance(part, (ast.Tuple, ast.List)):
            removed += 1  # an int
        else:
            return 0  # an array, a mask or a name: the axes it leaves are unknown
    return max(base - removed, slices) + added


def _call_axes(
    node: ast.Call, resolve: Callable[[ast.AST], str | None], axes: Callable[[ast.expr], int]
) -> int:
    func = node.func
    path = resolve(func)
    args = node.args
    starred = any(isinstance(a, ast.Starred) for a in args)
    keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
    first = args[0] if args and not starred else None
    if path is not None:
        name = path.rpartition(".")[2]
        if name == "indices" and not _literal(_argument(node, "sparse", 2), False):
            return 0  # sparse=True: a tuple of arrays
        if name in _AT_LEAST:
            return _AT_LEAST[name]
        if name in _FLATTENED_BY_NONE and _argument(node, "axis", 1) is not None:
            return _axis_bound(_argument(node, "axis", 1), axes(first) if first else 0)
        if name in ("atleast_2d", "atleast_3d") and len(args) == 1 and not starred:
            return int(name[-2])
        if name in _CREATION:
            return _shape_length(first if first is not None else keywords.get("shape"))
        if name in ("reshape", "broadcast_to") and not starred and len(args) > 1:
            return _shape_length(args[1])
        if name == "expand_dims" and not starred and len(args) > 1 and first is not None:
            return axes(first) + _shape_length(args[1])
        if name in _SAME_AXES and first is not None:
            return max(axes(first), _literal_axes(first))
        ufunc = numpy_attribute(path)
        # Not a generalized ufunc (matmul, vecdot, matvec: a signature), which drops axes.
        elementwise = isinstance(ufunc, np.ufunc) and ufunc.nout == 1 and ufunc.signature is None
        if (elementwise or name == "clip" or (name == "where" and len(args) == 3)) and not starred:
            # Broadcast: the result has the most axes of any argument.
            return max((max(axes(a), _literal_axes(a)) for a in args), default=0)
        return 0
    if not isinstance(func, ast.Attribute):
        return 0
    if func.attr == "reshape" and not starred and not keywords and args:
        return _shape_length(args[0]) if len(args) == 1 else len(args)
    if func.attr in _FLATTENED_BY_NONE and _argument(node, "axis", 0) is not None:
        return _axis_bound(_argument(node, "axis", 0), axes(func.value))
    if func.attr in _SAME_AXES_METHODS:
        return axes(func.value)
    return 0


def _argument(node: ast.Call, name: str, position: int) -> ast.expr | None:
    """The argument ``name`` (or the one at ``position``) of a call, or None if absent."""
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    args = node.args
    if any(isinstance(a, ast.Starred) for a in args[: position + 1]):
        return ast.Name("unknown")  # unknown, not absent
    return args[position] if len(args) > position else None


def _literal(node: ast.expr | None, value: object) -> bool:
    """Whether ``node`` is absent or the literal ``value`` (an absent default is it)."""
    return node is None or (isinstance(node, ast.Constant) and node.value is value)


def _axis_bound(axis: ast.expr | None, base: int) -> int:
    """The axes of ``sort``/``argsort`` of an array of ``base`` axes along ``axis``: one for
    ``axis=None`` (flattened), ``base`` for an int, unknown (0) for anything else."""
    if isinstance(axis, ast.Constant) and axis.value is None:
        return 1
    return base if isinstance(axis, (ast.Constant, ast.UnaryOp)) else 0


def min_axes(
    node: ast.expr,
    resolve: Callable[[ast.AST], str | None],
    of_name: Callable[[str], int],
) -> int:
    """A lower bound on the number of axes of the array ``node`` evaluates to (0: unknown).
    ``resolve`` gives the numpy name an expression refers to, ``of_name`` the bound recorded
    for a name where the walk is."""

    def axes(n: ast.expr) -> int:
        return min_axes(n, resolve, of_name)

    if isinstance(node, ast.Name):
        return of_name(node.id)
    if isinstance(node, ast.NamedExpr):
        return axes(node.value)
    if isinstance(node, ast.UnaryOp):
        return axes(node.operand)
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
        return max(axes(node.left), axes(node.right))  # broadcasting keeps the most axes
    if isinstance(node, ast.Subscript):
        return _subscript_axes(node, axes(node.value), resolve)
    if isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
        return axes(node.value)
    if isinstance(node, ast.Call):
        return _call_axes(node, resolve, axes)
    return 0


class ArrayAxes:
    """The axes of arrays where the walk is: a mixin of
    :class:`~arrayport.portcheck._scopes.ScopeTracker`, which supplies ``scopes`` (whose
    ``axes`` record the names bound to arrays of known axes) and :meth:`resolve`."""

    scopes: list[_Scope]

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted numpy name ``node`` refers to, or None."""
        raise NotImplementedError

    def _min_axes(self, node: ast.expr) -> int:
        """A lower bound on the axes of the array ``node`` evaluates to (0: unknown)."""
        return min_axes(node, self.resolve, self._axes_of_name)

    def _axes_of_name(self, name: str) -> int:
        for depth, scope in enumerate(reversed(self.scopes)):
            if depth and scope.kind == "class":
                continue  # a class body's names are not visible in its methods
            if name in scope.declared_global:
                return self.scopes[0].axes.get(name, 0)
            if name in scope.names and name not in scope.declared_nonlocal:
                return scope.axes.get(name, 0)
        return 0
