"""Hints in the code's own names: the array a method is called on, the dtype, the shape.

The hint tables write the array an attribute is read from as ``x`` (``xp.astype(x,
dtype)``, ``xp.reshape(x, (-1,))``) and a dtype as ``dtype``. :func:`with_receiver` and
:func:`with_dtype` put in the names the code uses where it uses a name or a dotted name
(``img.flatten()``: ``xp.reshape(img, (-1,), copy=True)``; ``self.data.itemsize``:
``xp.finfo(self.data.dtype)``); anything else (a call, an index) keeps the placeholder.
"""

from __future__ import annotations

import ast
import re

__all__ = ["shape_assignment_hint", "with_dtype", "with_receiver"]

#: The placeholder array: ``x`` as a word of its own, not in a quoted string or a name.
_X = re.compile(r"(?<![\w.'\"])x(?![\w'\"])")
#: The placeholder dtype: ``dtype`` or ``x.dtype``, not a keyword (``dtype=``) nor a part
#: of a name (``isdtype``, ``a.dtype``).
_DTYPE = re.compile(r"(?<![\w.'\"])(?:x\.)?dtype(?![\w='\"])")


def named(node: ast.expr) -> str | None:
    """``node`` as written if it is a name or a dotted name (``img``, ``self.data``)."""
    chain = node
    while isinstance(chain, ast.Attribute):
        chain = chain.value
    return ast.unparse(node) if isinstance(chain, ast.Name) else None


def with_receiver(hint: str | None, receiver: ast.expr) -> str | None:
    """``hint`` with its placeholder array ``x`` named as the code names ``receiver``,
    where that is a name or a dotted name; else ``hint`` as it is."""
    name = named(receiver)
    if hint is None or name is None:
        return hint
    return _X.sub(lambda _: name, hint)


def with_dtype(hint: str | None, dtype: ast.expr) -> str | None:
    """``hint`` for an attribute of the dtype ``dtype`` (``x.dtype`` or a name holding a
    dtype) with its placeholder dtype named as the code names it."""
    name = named(dtype)
    if hint is None or name is None:
        return hint
    return _DTYPE.sub(lambda _: name, hint)


def _is_int(node: ast.expr) -> bool:
    """Whether ``node`` is an int literal (``6``, ``-1``)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def shape_assignment_hint(receiver: ast.expr, value: ast.expr | None) -> str | None:
    """The hint for ``receiver.shape = value``, with the code's names (``a = xp.reshape(a,
    (3, 2), copy=False)``; a list or an int given as the tuple the standard takes), or
    None where the receiver is not a name, or the value is not a literal tuple, list or
    int: ``xp.reshape`` takes a tuple only, and ``a.shape = n`` may hold an int."""
    name = named(receiver)
    if name is None or value is None:
        return None
    if isinstance(value, (ast.Tuple, ast.List)):
        shape = ast.unparse(ast.Tuple(elts=value.elts, ctx=ast.Load()))
    elif _is_int(value):
        shape = f"({ast.unparse(value)},)"
    else:
        return None
    return f"{name} = xp.reshape({name}, {shape}, copy=False)"
