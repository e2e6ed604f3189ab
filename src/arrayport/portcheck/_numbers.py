"""Python numbers computed in place: ``2 * np.pi``, ``len(x)``, ``x.size``, ``-1.0 / 3``.

NumPy converts a Python number to an array wherever it takes one (``np.sqrt(2 * np.pi)``,
``np.log2(len(x))``); the standard's functions take arrays, and array-api-strict and torch
refuse a number there, computed or written out. :func:`number_kind` says whether an
expression certainly evaluates to a Python number, and which: numbers written out,
NumPy's float constants (``np.pi``, which is a Python float, as the standard's ``xp.pi``
is), ``len()``, ``int()`` and ``float()`` of anything, the ``ndim`` and ``shape[i]`` of
anything, the ``size`` of an array or of a name of unknown kind (ndarray's size is an int;
not ``self.size``, nor ``img.size`` of an image), and arithmetic on those.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

__all__ = ["number_kind"]

#: numpy's constants that are Python floats.
_NUMPY_FLOATS = frozenset({"numpy.pi", "numpy.e", "numpy.inf", "numpy.nan", "numpy.euler_gamma"})
#: Builtins whose call gives a number of this kind, whatever the argument.
_BUILTINS = {"len": "int", "int": "int", "float": "float"}
#: Operators that keep two ints an int (``2 ** -1`` and ``1 / 2`` are floats).
_INT_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
_LITERALS = {int: "int", float: "float", complex: "number"}


def number_kind(
    node: ast.expr,
    resolve: Callable[[ast.AST], str | None],
    builtin: Callable[[str], bool],
    sized: Callable[[ast.expr], bool],
) -> str | None:
    """``"int"``, ``"float"`` or ``"number"`` (complex, or not known which) if ``node``
    certainly is a Python number, else None. ``resolve`` gives the numpy name an expression
    refers to, ``builtin`` whether a name is the builtin there (not shadowed), and
    ``sized`` whether an expression's ``size`` is an int (it is an array's)."""

    def kind(n: ast.expr) -> str | None:
        return number_kind(n, resolve, builtin, sized)

    if isinstance(node, ast.Constant):
        return _LITERALS.get(type(node.value))  # not bool: True is no number to port
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return kind(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = kind(node.left), kind(node.right)
        if left is None or right is None:
            return None
        if "number" in (left, right):
            return "number"
        if isinstance(node.op, ast.Div) or "float" in (left, right):
            return "float"
        return "int" if isinstance(node.op, _INT_OPERATORS) else "number"
    if isinstance(node, ast.Attribute):
        if resolve(node) in _NUMPY_FLOATS:
            return "float"
        if node.attr == "ndim" or (node.attr == "size" and sized(node.value)):
            return "int"
        return None
    if isinstance(node, ast.Subscript):
        shape = node.value
        one = not isinstance(node.slice, (ast.Slice, ast.Tuple))
        return "int" if one and isinstance(shape, ast.Attribute) and shape.attr == "shape" else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _BUILTINS
        and len(node.args) == 1
        and not isinstance(node.args[0], ast.Starred)
        and not node.keywords
        and builtin(node.func.id)
    ):
        return _BUILTINS[node.func.id]
    return None
