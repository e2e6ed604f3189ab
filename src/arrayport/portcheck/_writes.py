"""Writes into an ndarray through its attributes, which the standard's arrays do not take.

NumPy lets code change an array in place through ``x.shape = ...``, ``x.flat = v``,
``x.real += 1``, and through an index of ``x.flat``, ``x.real`` or ``x.imag`` (``x.flat[::n
+ 1] = 1``, ``z.real[:] = 2``). The standard's attributes are read-only, it has no ``flat``,
and its ``xp.real(z)`` is a new array: a write into it is lost, silently (on torch
``t.flat = 7`` sets a new Python attribute and leaves ``t`` as it was). The hints assign
the new array back to the name written through, keeping the index and value written.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

__all__ = ["ASSIGNED", "WRITTEN_THROUGH", "subscript_targets", "subscript_write"]

#: One finding: (message, replacement).
_Message = tuple[str, str | None]

#: ndarray attributes NumPy lets code assign, changing the array in place: (message, hint).
ASSIGNED: dict[str, _Message] = {
    "shape": (
        "assigning ndarray.shape reshapes in place; the standard's shape is read-only",
        "x = xp.reshape(x, shape, copy=False)",
    ),
    "dtype": (
        "assigning ndarray.dtype reinterprets the bytes in place; the standard's dtype is "
        "read-only (no standard equivalent)",
        None,
    ),
    "strides": ("assigning ndarray.strides is NumPy's (no standard equivalent)", None),
    "real": (
        "writing through ndarray.real changes x in place; the standard's xp.real(x) is a new array",
        "x = r + 1j * xp.imag(x) for complex x, with r the new real part (x.real += v: "
        "r = xp.real(x) + v; an infinite part turns the other part into NaN there); real "
        "x: x = r",
    ),
    "imag": (
        "writing through ndarray.imag changes x in place; the standard's xp.imag(x) is a new array",
        "x = xp.real(x) + 1j * i for complex x, with i the new imaginary part (x.imag += v: "
        "i = xp.imag(x) + v; an infinite part turns the other part into NaN there)",
    ),
    "flat": (
        "assigning ndarray.flat fills x in place (repeating the values given); the standard "
        "has no flat (torch sets a new attribute and leaves x unchanged, silently)",
        "x = xp.full_like(x, v) for a number v (an array of x.size values: x = "
        "xp.reshape(xp.asarray(v, dtype=x.dtype), x.shape))",
    ),
}

#: Attributes whose index NumPy writes through to the array (``x.flat[i] = v``).
WRITTEN_THROUGH = frozenset({"flat", "real", "imag"})

#: Attributes that are views of an array, not names a hint can assign to (``a.T = ...``).
_VIEWS = frozenset({"T", "mT", "real", "imag", "flat"})

#: Where a complex array is rebuilt from its parts: ``1j * inf`` is ``nan+infj``.
_INF = " (an infinite part turns the other part into NaN there)"

#: Augmented assignments and the method of ``xpx.at`` that does each.
_AT_METHODS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}
_AT_METHODS[ast.Pow] = "power"
#: The other augmented assignments' operators (``x.flat[i] //= 2``).
_SYMBOLS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<"}
_SYMBOLS.update({ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"})


def subscript_targets(
    target: ast.expr,
) -> Iterator[tuple[ast.Attribute, ast.Subscript, bool]]:
    """Each ``x.flat[i]``, ``x.real[i]`` or ``x.imag[i]`` assignment target ``target`` writes
    through (``x.real[0], x.imag[0] = a, b``: both), as the attribute, its index, and
    whether the index is nested (``z.real[m][0] = 1`` writes through too)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from subscript_targets(elt.value if isinstance(elt, ast.Starred) else elt)
    elif isinstance(target, ast.Subscript):
        inner = target
        while isinstance(inner.value, ast.Subscript):
            inner = inner.value
        if isinstance(inner.value, ast.Attribute) and inner.value.attr in WRITTEN_THROUGH:
            yield inner.value, inner, inner is not target


def _shown(node: ast.expr | None, default: str) -> str:
    """``node`` as written, or ``default`` for none or a long expression."""
    if node is None:
        return default
    text = ast.unparse(node)
    return text if len(text) <= 40 else default


def _update(read: str, index: str, value: str, op: ast.operator | None) -> str:
    """``xpx.at(read)[index]`` set to ``value`` (``op``: updated by it, as ``+=`` does)."""
    at = f"xpx.at({read})[{index}]"
    if op is None:
        return f"{at}.set({value})"
    method = _AT_METHODS.get(type(op))
    if method is not None:
        return f"{at}.{method}({value})"
    operand = value if value.isidentifier() or value.replace(".", "").isdigit() else f"({value})"
    return f"{at}.set({read}[{index}] {_SYMBOLS.get(type(op), '?')} {operand})"


def subscript_write(
    attr: str, receiver: ast.expr, index: ast.expr, value: ast.expr | None, op: ast.operator | None
) -> _Message:
    """The message and hint for ``receiver.attr[index] = value`` (``op``: ``+=`` and the
    like; ``value`` None where the statement does not show it), ``attr`` one of
    :data:`WRITTEN_THROUGH`."""
    x = ast.unparse(receiver) if isinstance(receiver, (ast.Name, ast.Attribute)) else "x"
    i, v = _shown(index, "i"), _shown(value, "v")
    if isinstance(receiver, ast.Attribute) and receiver.attr in _VIEWS:
        # a.T.flat[1] = 7: a.T cannot be assigned, and a hint on it would write elsewhere.
        return (
            f"writing through {x}.{attr}[...] changes the array {x} views in place; the "
            f"standard has no such write (compute the new array and assign it to the name)",
            None,
        )
    if attr == "flat":
        flat = f"xp.reshape({x}, (-1,))"
        return (
            "writing through ndarray.flat[...] changes x in place; the standard has no flat, "
            "and xp.reshape(x, (-1,)) may be a copy, which the write does not reach",
            f"{x} = xp.reshape({_update(flat, i, v, op)}, {x}.shape) (an integer-array index "
            "also needs a library that assigns through one: the standard does not)",
        )
    message = (
        f"writing through ndarray.{attr}[...] changes x in place; the standard's "
        f"xp.{attr}(x) is a new array, so a write into it is lost (silently)"
    )
    if attr == "real":
        new = _update(f"xp.real({x})", i, v, op)
        real = _update(x, i, v, op)
        hint = f"{x} = {new} + 1j * xp.imag({x}) for complex {x}{_INF} (real {x}: {x} = {real})"
        return message, hint
    new = _update(f"xp.imag({x})", i, v, op)
    return message, f"{x} = xp.real({x}) + 1j * {new} for complex {x}{_INF}"
