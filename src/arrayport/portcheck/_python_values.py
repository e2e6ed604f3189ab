"""Python numbers, lists and ints written where the standard's function takes something else.

NumPy converts a Python number or list to an array wherever it takes one
(``np.sqrt(2.0)``, ``np.max([a, b])``, ``np.diff(x, prepend=0)``) and an int or a list to a
shape (``np.reshape(x, -1)``, ``np.tile(x, 2)``); the standard takes arrays and tuples
there, and array-api-strict and torch refuse the others. What each parameter takes is
read from array-api-strict's annotations (:class:`~arrayport.portcheck._standard.Signature`);
arguments are checked by position, by keyword, and, beyond the standard's positional
parameters, by the NumPy parameter they fill (``np.diff(x, 1, -1, 0.0)`` passes ``prepend``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np

from arrayport.portcheck._hints import ARGUMENT_HINTS
from arrayport.portcheck._numpy_signatures import numpy_attribute, numpy_parameters
from arrayport.portcheck._standard import Signature

__all__ = ["Numbers", "python_value_findings"]

#: One finding on the call: (name, message, replacement).
_Found = tuple[str, str, str | None]
#: What says which expressions are Python numbers, and which ("int", "float", "number").
Numbers = Callable[[ast.expr], str | None] | None

#: Standard functions whose NumPy counterpart computes an integer argument in float64,
#: besides the ufuncs without an integer loop (read from NumPy: ``np.sqrt``, ``np.exp``).
_FLOAT_OF_INT = frozenset({"mean", "std", "var", "linalg.vector_norm"})
#: Parameters NumPy broadcasts a number into (diff's prepend and append take the shape of
#: x with length 1 along axis; NumPy also promotes x with the number's int64 or float64).
_BROADCAST_NUMBER = {
    ("diff", "prepend"): "xp.full((*x.shape[:-1], 1), {v}, dtype=x.dtype) for axis=-1",
    ("diff", "append"): "xp.full((*x.shape[:-1], 1), {v}, dtype=x.dtype) for axis=-1",
}
_BROADCAST_NOTE = (
    " (NumPy broadcasts the number to x's shape with length 1 along axis, and its result has "
    "the dtype of x promoted with the number's int64 or float64: int8 x with 0 gives int64)"
)


def _computes_in_float(path: str, place: int) -> bool:
    """Whether NumPy's ``path`` computes an integer given at ``place`` in floating point
    (``np.sqrt(2)`` is float64; ``np.abs(2)`` stays an integer)."""
    if path.removeprefix("numpy.") in _FLOAT_OF_INT:
        return True
    ufunc = numpy_attribute(path)
    if not isinstance(ufunc, np.ufunc) or place >= ufunc.nin:
        return False
    integers = (np.dtype(np.int64),) * ufunc.nin + (None,) * ufunc.nout
    try:
        resolved = ufunc.resolve_dtypes(integers)
    except (TypeError, ValueError):  # no loop for integers: NumPy refuses them too
        return False
    return resolved[place].kind in "fc"


def _is_int_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _python_value(node: ast.expr, numbers: Numbers) -> str | None:
    """``"number"`` or ``"list"`` if ``node`` is a Python number or a list or tuple
    written in place (``2.0``, ``-1``, ``[a, b]``, ``(n, 1)``, a comprehension), or a number
    computed in place as ``numbers`` says (``2 * np.pi``, ``len(x)``), else None."""
    if numbers is not None and numbers(node) is not None:
        return "number"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)):
        return "number"
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return "list"
    return None


def _shown(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 24 else "..."


def _as_tuple(node: ast.expr) -> str | None:
    """``node`` (an int or a list written in place) as the tuple the standard takes, or
    None when it is already one or something else."""
    if _is_int_literal(node):
        return f"({ast.unparse(node)},)"
    if isinstance(node, ast.List):
        return ast.unparse(ast.Tuple(elts=node.elts, ctx=ast.Load()))
    if isinstance(node, ast.ListComp):
        return f"tuple({ast.unparse(node)})"
    return None


def _tuple_finding(
    node: ast.Call, path: str, arg: ast.expr, place: int | None, param: str | None, name: str
) -> _Found | None:
    """An int or a list where the standard's ``name`` takes a tuple of ints
    (``np.reshape(x, -1)``, ``np.tile(x, [2, 1])``), given at ``place`` or by keyword
    ``param``."""
    fixed = _as_tuple(arg)
    if fixed is None:
        return None
    what = "an int" if _is_int_literal(arg) else "a list"
    if place is not None:
        before = [ast.unparse(a) for a in node.args[:place]]
        hint = f"xp.{name}({', '.join([*before, fixed])})"
    else:
        hint = f"{param}={fixed}"
    message = f"the standard's {name} takes a tuple of ints, not {what} ({_shown(arg)})"
    return f"{path}(not a tuple)", message + "; NumPy converts it", hint


def _value_finding(
    path: str,
    arg: ast.expr,
    value: str,
    where: tuple[int | None, str | None, str],
    numbers: Numbers,
) -> _Found:
    """A Python number or list where the standard's function takes an array; ``where`` is
    its place, or the parameter it is passed for, and the standard function's name."""
    place, param, name = where
    shown = _shown(arg)
    broadcast = _BROADCAST_NUMBER.get((name, param or ""))
    if value == "number" and broadcast is not None:
        hint = broadcast.format(v=shown) + _BROADCAST_NOTE
    elif value == "number":
        # np.sqrt(2) is float64; xp.asarray(2) is an integer array (refused by sqrt, or
        # computed in float32 by torch).
        integer = _is_int_literal(arg) or (numbers is not None and numbers(arg) == "int")
        as_float = place is not None and integer and _computes_in_float(path, place)
        number = f"xp.asarray({shown}, dtype=xp.float64)" if as_float else f"xp.asarray({shown})"
        hint = f"{number} (or the math module)"
    else:
        hint = f"xp.asarray({shown}), or xp.stack for a list of arrays"
    what = {"number": "a Python number", "list": "a Python list or tuple"}[value]
    passed = "" if param is None else f" for {param}"
    message = f"the standard's {name} takes arrays{passed}, not {what} ({shown}); NumPy converts it"
    return f"{path}(Python {value})", message, hint


def _checked(
    node: ast.Call,
    path: str,
    arg: ast.expr,
    takes: str,
    where: tuple[int | None, str | None, str],
    numbers: Numbers,
) -> _Found | None:
    """The finding for ``arg`` passed where the standard's parameter takes ``takes``, at
    ``where`` (its place, or the keyword or NumPy parameter it is passed for, and the
    standard function's name)."""
    place, param, name = where
    if takes == "tuple":
        return _tuple_finding(node, path, arg, place, param, name)
    value = _python_value(arg, numbers)
    if value is None or takes not in ("array", "scalar"):
        return None
    if takes == "scalar" and value == "number":
        return None
    return _value_finding(path, arg, value, where, numbers)


def python_value_findings(
    node: ast.Call, path: str, sig: Signature, numbers: Numbers = None, *, name: str = ""
) -> list[_Found]:
    """Python numbers, lists and tuples passed where the standard's function takes arrays
    (``np.sqrt(2.0)``, ``np.max([a, b])``, ``np.take(x, [0, 2])``, ``np.diff(x,
    prepend=0)``), ints and lists where it takes a tuple (``np.reshape(x, -1)``), or numbers
    in every required place that takes an array or a number (``np.where(c, 1.0, 0.0)``,
    ``np.maximum(1, 2)``): NumPy converts them, the standard refuses them. ``numbers``
    says which other expressions are Python numbers (``2 * np.pi``, ``len(x)``; see
    :func:`arrayport.portcheck._numbers.number_kind`), if any. ``name`` is the standard
    function's (``sig``'s) where NumPy's ``path`` names it otherwise (``concat``)."""
    name = name or path.removeprefix("numpy.")
    found: list[_Found | None] = []
    required = sig.takes[: len(sig.required)]
    params = numpy_parameters(path) or ()
    count = 0  # numbers in required places that take an array or a number
    for i, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            return [f for f in found if f is not None]
        if i < len(sig.takes):
            takes, param = sig.takes[i], None
            number = _python_value(arg, numbers) == "number"
            count += i < len(required) and takes == "scalar" and number
        elif i < len(params) and (name, params[i]) not in ARGUMENT_HINTS:
            # Beyond the standard's positional parameters: NumPy's parameter at this place,
            # where the standard has a keyword of that name (np.diff(x, 1, -1, 0.0)).
            takes, param = sig.named_takes.get(params[i], ""), params[i]
        else:
            continue
        where = (i if param is None else None, param, name)
        found.append(_checked(node, path, arg, takes, where, numbers))
    for kw in node.keywords:
        if kw.arg is not None and kw.arg in sig.named_takes:
            takes = sig.named_takes[kw.arg]
            found.append(_checked(node, path, kw.value, takes, (None, kw.arg, name), numbers))
    if count >= 2 and count == required.count("scalar"):
        found.append(
            (
                f"{path}(Python numbers)",
                f"the standard's {name} refuses Python numbers in all of "
                f"{', '.join(sig.required[i] for i, t in enumerate(required) if t == 'scalar')}"
                "; NumPy converts them",
                "xp.asarray(value, dtype=...) for one of them",
            )
        )
    return [f for f in found if f is not None]
