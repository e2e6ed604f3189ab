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
from typing import cast

import numpy as np

from arrayport.portcheck._call_hints import argument
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
_BROADCAST_NUMBER = frozenset({("diff", "prepend"), ("diff", "append")})
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


def _call_text(node: ast.Call, name: str, place: int, fixed: str) -> str:
    """``xp.name(...)`` with the arguments of ``node``, ``fixed`` at ``place``."""
    args = [ast.unparse(a) for a in node.args]
    args[place] = fixed
    keywords = [ast.unparse(kw) for kw in node.keywords]
    return f"xp.{name}({', '.join([*args, *keywords])})"


def tuple_fix(arg: ast.expr, takes: str) -> str | None:
    """``arg`` as the tuple the standard takes for a parameter that ``takes`` ``"tuple"``
    (an int or a list given) or ``"int_or_tuple"`` (a list given), or None if it is fine."""
    if takes == "tuple" or (takes == "int_or_tuple" and isinstance(arg, (ast.List, ast.ListComp))):
        return _as_tuple(arg)
    return None


def _all_tuples(node: ast.Call, name: str, sig: Signature, params: tuple[str, ...]) -> str | None:
    """``xp.name(...)`` with every int or list of ``node`` made the tuple the standard takes
    and the keywords it takes by position only passed by position, where two or more
    arguments are fixed so (``np.moveaxis(x, [0, 1], [1, 0])``: one hint fixes both), else
    None."""
    if any(isinstance(a, ast.Starred) for a in node.args):
        return None
    args = list(node.args)
    keywords = []
    for kw in node.keywords:  # np.moveaxis(x, s, destination=d): by position (NumPy's place)
        place = params.index(kw.arg) if kw.arg in params else -1
        if kw.arg in sig.positional_only:
            place = sig.positional_only.index(kw.arg)
        if kw.arg is None or not 0 <= place < len(sig.positional_only):
            keywords.append(kw)  # a keyword it takes, or **kwargs
        elif place == len(args):
            args.append(kw.value)
        else:
            return None  # not next in line: no one call to give
    texts = [ast.unparse(a) for a in args]
    fixed = 0
    for i, arg in enumerate(args[: len(sig.takes)]):
        tuple_text = tuple_fix(arg, sig.takes[i])
        if tuple_text is not None:
            texts[i], fixed = tuple_text, fixed + 1
    for kw in keywords:
        tuple_text = tuple_fix(kw.value, sig.named_takes.get(kw.arg or "", ""))
        fixed += tuple_text is not None
        texts.append(f"{kw.arg}={tuple_text}" if tuple_text else ast.unparse(kw))
    moved = len(args) > len(node.args)
    return f"xp.{name}({', '.join(texts)})" if fixed >= 2 or (fixed and moved) else None


def _passed(path: str, place: int | None, param: str | None) -> str:
    """`` for <param>``: the parameter an argument is passed for, by keyword or at NumPy's
    ``place`` (its name there), or nothing where NumPy does not say."""
    if param is None:
        params = numpy_parameters(path) or ()
        param = params[place] if place is not None and place < len(params) else None
    return "" if param is None else f" for {param}"


def _list_finding(
    node: ast.Call, path: str, arg: ast.expr, where: tuple[int | None, str | None, str]
) -> _Found | None:
    """A list where the standard's function takes an int or a tuple of ints (``np.roll(x,
    [1, 1], axis=(0, 1))``, ``np.sum(x, axis=[0, 1])``): array-api-strict refuses it for
    roll's shift and a reduction's axis (where NumPy 2 refuses it too)."""
    if not isinstance(arg, (ast.List, ast.ListComp)):
        return None
    place, param, name = where
    fixed = cast(str, _as_tuple(arg))
    hint = f"{param}={fixed}" if place is None else _call_text(node, name, place, fixed)
    passed = _passed(path, place, param)
    message = (
        f"the standard's {name} takes an int or a tuple of ints{passed}, not a list ({_shown(arg)})"
    )
    return f"{path}(not a tuple)", message, hint


def _number_finding(
    node: ast.Call, path: str, arg: ast.expr, where: tuple[int | None, str | None, str]
) -> _Found | None:
    """A list or tuple where the standard's function takes a Python number (``np.full((2,
    2), [1, 2])``): NumPy broadcasts it, array-api-strict and torch refuse it."""
    if not isinstance(arg, (ast.List, ast.Tuple, ast.ListComp)):
        return None
    place, param, name = where
    passed = _passed(path, place, param)
    message = (
        f"the standard's {name} takes a Python number{passed}, not a list or tuple "
        f"({_shown(arg)}); NumPy broadcasts it"
    )
    return f"{path}(not a number)", message, _filled(node, name, arg)


def _filled(node: ast.Call, name: str, values: ast.expr) -> str | None:
    """What ``np.full(shape, values)`` or ``np.full_like(x, values)`` gives, in the
    standard: ``values`` broadcast to the shape (copied: a broadcast may be read-only)."""
    if (
        name not in ("full", "full_like")
        or any(isinstance(a, ast.Starred) for a in node.args)
        or any(kw.arg is None for kw in node.keywords)
    ):
        return None
    dtype = argument(node, 2, "dtype")
    shown = None if dtype is None else ast.unparse(dtype)
    if name == "full":
        shape = argument(node, 0, "shape")
        if shape is None:
            return None
        size = _as_tuple(shape) if _is_int_literal(shape) or isinstance(shape, ast.List) else None
        shape_text = size or ast.unparse(shape)
    else:
        x = argument(node, 0, "a")
        if x is None or argument(node, 5, "shape") is not None:  # another shape than x.shape
            return None
        shape_text = f"{ast.unparse(x)}.shape"
        shown = shown or f"{ast.unparse(x)}.dtype"  # NumPy's default: x's dtype
    typed = "" if shown is None else f", dtype={shown}"
    return (
        f"xp.asarray(xp.broadcast_to(xp.asarray({ast.unparse(values)}{typed}), "
        f"{shape_text}), copy=True)"
    )


def _along_axis(node: ast.Call, v: str) -> str:
    """The array diff's ``prepend=v`` or ``append=v`` stands for in call ``node``: ``x``'s
    shape with length 1 along the call's axis (NumPy's ``axis``, third; -1 when not given)."""
    x = node.args[0] if node.args and not isinstance(node.args[0], ast.Starred) else None
    shown = ast.unparse(x) if isinstance(x, (ast.Name, ast.Attribute)) else "x"
    opaque = any(isinstance(a, ast.Starred) for a in node.args[:3]) or any(
        kw.arg is None for kw in node.keywords
    )
    axis = None if opaque else argument(node, 2, "axis")
    a: int = -1 if axis is None or not _is_int_literal(axis) else ast.literal_eval(axis)
    if axis is not None and not _is_int_literal(axis):  # x.shape[a:][1:] skips axis a
        name = ast.unparse(axis)
        shape = f"(*{shown}.shape[:{name}], 1, *{shown}.shape[{name}:][1:])"
    elif a == -1:
        shape = f"(*{shown}.shape[:-1], 1)"
    elif a == 0:
        shape = f"(1, *{shown}.shape[1:])"
    else:
        shape = f"(*{shown}.shape[:{a}], 1, *{shown}.shape[{a + 1}:])"
    full = f"xp.full({shape}, {v}, dtype={shown}.dtype)"
    return full + " for axis=-1" if opaque else full


def _value_finding(
    node: ast.Call,
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
    if value == "number" and (name, param or "") in _BROADCAST_NUMBER:
        hint = _along_axis(node, shown) + _BROADCAST_NOTE
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
    if takes == "int_or_tuple":
        return _list_finding(node, path, arg, where)
    if takes == "number":
        return _number_finding(node, path, arg, where)
    value = _python_value(arg, numbers)
    if value is None or takes not in ("array", "scalar"):
        return None
    if takes == "scalar" and value == "number":
        return None
    return _value_finding(node, path, arg, value, where, numbers)


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
    checked: list[tuple[ast.expr, str, tuple[int | None, str | None, str]]] = []
    for i, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            break
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
        checked.append((arg, takes, (i if param is None else None, param, name)))
    else:  # no *args: the keywords too
        for kw in node.keywords:
            if kw.arg is not None and kw.arg in sig.named_takes:
                checked.append((kw.value, sig.named_takes[kw.arg], (None, kw.arg, name)))
    tuples: list[int] = []  # where in found the ints and lists for tuples are
    for arg, takes, where in checked:
        tuples += [len(found)] if takes in ("tuple", "int_or_tuple") else []
        found.append(_checked(node, path, arg, takes, where, numbers))
    whole = None if not any(found[i] for i in tuples) else _all_tuples(node, name, sig, params)
    for i in tuples if whole is not None else ():
        finding = found[i]
        found[i] = None if finding is None else (*finding[:2], whole)  # each fixes them all
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        return [f for f in found if f is not None]
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
