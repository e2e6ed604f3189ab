"""Dtypes compared with strings or Python types: true under NumPy, silently false under
the standard, whose dtypes compare equal only to dtypes.

``x.dtype == "float32"``, ``x.dtype in ("float32", "float64")`` and ``str(x.dtype) ==
"float16"`` hold for NumPy; array-api-strict's ``str(x.dtype)`` is
``'array_api_strict.float32'`` and torch's ``'torch.float32'``, so each is False there.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import cast

from arrayport.portcheck._hints import hint_for_dtype

__all__ = ["dtype_comparison_findings", "kind_comparison_hints"]

#: One finding on the comparison: (name, message, replacement).
_Found = tuple[str, str, str | None]

_WHY = (
    "a dtype compared with a string or a Python type: NumPy says equal, the standard's "
    "dtypes equal only dtypes (False there, silently)"
)
_WHY_STR = (
    "str() of a dtype compared with a string: NumPy's str(dtype) is its name, the "
    "standard's is the library's own ('array_api_strict.float32', 'torch.float32'), so the "
    "comparison is False there, silently"
)


def _spelling(node: ast.expr) -> tuple[str, bool] | None:
    """How ``node`` spells a dtype, and whether as a string: a string literal, or a Python
    type the standard has a dtype for (``float``); else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, True
    if isinstance(node, ast.Name) and hint_for_dtype(node.id, False) is not None:
        return node.id, False
    return None


def _standard_dtype(spelling: str, is_string: bool) -> str | None:
    """``xp.float32`` for ``"float32"`` (without the notes of the dtype hint), or None."""
    hint = hint_for_dtype(spelling, is_string)
    return None if hint is None else hint.removeprefix("dtype=").partition(" ")[0]


#: NumPy's dtype kinds the standard has, and the name xp.isdtype gives each.
_KINDS = {
    "b": "bool",
    "i": "signed integer",
    "u": "unsigned integer",
    "f": "real floating",
    "c": "complex floating",
}
#: Kinds in the order port-check names them, and the name of a set of them.
_KIND_ORDER = "biufc"
_KIND_GROUPS = {"iufc": "numeric", "iu": "integral"}
#: The dtype kind of each standard dtype's name (``xp.uint8`` is "u").
_DTYPE_PREFIXES: tuple[tuple[str, str], ...] = (("xp.bool", "b"), ("xp.uint", "u"))
_DTYPE_PREFIXES += (("xp.int", "i"), ("xp.float", "f"), ("xp.complex", "c"))


def _kind_names(kinds: str) -> list[str]:
    """xp.isdtype's names for NumPy's kind letters ``kinds`` it has ("iu" is "integral")."""
    letters = "".join(k for k in _KIND_ORDER if k in kinds)
    for group, name in _KIND_GROUPS.items():
        if group in letters:
            letters = letters.replace(group, "")
            return (
                [_KINDS[k] for k in letters if k == "b"]
                + [name]
                + [_KINDS[k] for k in letters if k != "b"]
            )
    return [_KINDS[k] for k in letters]


def _isdtype(dtype: str, names: list[str]) -> str:
    kinds = f'"{names[0]}"' if len(names) == 1 else "(" + ", ".join(f'"{n}"' for n in names) + ")"
    return f"xp.isdtype({dtype}, {kinds})"


def _kind_note(dtypes: list[str]) -> str:
    """``(or xp.isdtype(...))`` naming the kinds of the standard dtypes ``dtypes``."""
    kinds = "".join(
        next((k for prefix, k in _DTYPE_PREFIXES if d.startswith(prefix)), "") for d in dtypes
    )
    names = _kind_names(kinds)
    if not names:
        return ""
    every = "every dtype of those kinds" if len(names) > 1 else f"every {names[0]} dtype"
    return f" (or {_isdtype('x.dtype', names)} for {every})"


def _kind_hint(dtype: str, letters: str, negated: bool) -> str:
    """The replacement for ``dtype.kind`` compared with NumPy's kind ``letters`` (``== "f"``,
    ``in "iu"``; ``negated`` for ``!=`` and ``not in``)."""
    names = _kind_names(letters)
    others = ", ".join(repr(k) for k in sorted({k for k in letters if k not in _KINDS}))
    if not names:
        verdict = "True" if negated else "False"
        return (
            f"{verdict}: no standard dtype has NumPy's kind {others} (datetime, object, "
            "bytes, string or void)"
        )
    note = f" (no standard dtype has NumPy's kind {others})" if others else ""
    return ("not " if negated else "") + _isdtype(dtype, names) + note


def kind_comparison_hints(
    node: ast.Compare, is_kind: Callable[[ast.expr], bool]
) -> list[tuple[ast.Attribute, str]]:
    """For each ``<dtype>.kind`` of comparison ``node`` compared with NumPy's kind letters
    (``x.dtype.kind == "f"``, ``t.kind in "iu"``, ``x.dtype.kind not in ("f", "c")``), the
    attribute and its replacement by xp.isdtype; ``is_kind`` says whether an operand is
    the kind of a dtype. Only equality and membership are read: an ordering of kind
    letters (``kind >= "f"``) selects no kind of xp.isdtype's, and gets none."""
    operands = [node.left, *node.comparators]
    found: list[tuple[ast.Attribute, str]] = []
    for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
        if not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
            continue  # kind >= "f" orders letters (f, i, u): the attribute's generic hint
        pairs = [(left, right)]
        if isinstance(op, (ast.Eq, ast.NotEq)):
            pairs.append((right, left))
        for kind, other in pairs:
            if not is_kind(kind):
                continue
            strings = other.elts if isinstance(other, (ast.Tuple, ast.List, ast.Set)) else [other]
            if not strings or not all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in strings
            ):
                continue
            letters = "".join(str(cast(ast.Constant, e).value) for e in strings)
            if isinstance(op, (ast.Eq, ast.NotEq)) and len(letters) != 1:
                continue  # never equal: a kind is one letter
            attr = cast(ast.Attribute, kind)
            negated = isinstance(op, (ast.NotEq, ast.NotIn))
            found.append((attr, _kind_hint(ast.unparse(attr.value), letters, negated)))
    return found


def _in_finding(container: ast.expr, is_str: bool) -> _Found | None:
    """``x.dtype in ("float32", float)`` (or ``str(x.dtype) in (...)``, strings only)."""
    if not isinstance(container, (ast.Tuple, ast.List, ast.Set)) or not container.elts:
        return None
    spellings = [_spelling(e) for e in container.elts]
    if is_str:
        spellings = [s if s is not None and s[1] else None for s in spellings]
    found = [s for s in spellings if s is not None]
    if not found:
        return None
    dtypes = [_standard_dtype(*s) for s in found]
    shown = ast.unparse(container)
    shown = shown if len(shown) <= 40 else "(...)"
    name = f"str(dtype) in {shown}" if is_str else f"dtype in {shown}"
    hint = None
    if len(found) == len(container.elts) and None not in dtypes:
        options = ", ".join(cast(list[str], dtypes))
        hint = f"x.dtype in ({options},)" if len(dtypes) == 1 else f"x.dtype in ({options})"
        hint += _kind_note(cast(list[str], dtypes))
    return name, _WHY_STR if is_str else _WHY, hint


def dtype_comparison_findings(
    node: ast.Compare, is_dtype: Callable[[ast.expr], bool], str_shadowed: bool
) -> list[_Found]:
    """The findings for comparison ``node``; ``is_dtype`` says whether an operand is a
    dtype of NumPy's (``x.dtype``, not ``df["a"].dtype``), ``str_shadowed`` whether ``str``
    is not the builtin there."""

    def stringified(o: ast.expr) -> bool:  # str(x.dtype)
        return (
            not str_shadowed
            and isinstance(o, ast.Call)
            and isinstance(o.func, ast.Name)
            and o.func.id == "str"
            and len(o.args) == 1
            and not o.keywords
            and is_dtype(o.args[0])
        )

    operands = [node.left, *node.comparators]
    found: list[_Found] = []
    if all(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
        if any(is_dtype(o) for o in operands):
            for o in operands:
                spelling = _spelling(o)
                if spelling is None:
                    continue
                text, is_string = spelling
                hint = hint_for_dtype(text, is_string)
                found.append(
                    (
                        f"dtype == {text!r}" if is_string else f"dtype == {text}",
                        _WHY,
                        None if hint is None else "x.dtype == " + hint.removeprefix("dtype="),
                    )
                )
        elif any(stringified(o) for o in operands):
            for o in operands:
                spelling = _spelling(o)
                if spelling is None or not spelling[1]:
                    continue
                dtype = _standard_dtype(*spelling)
                hint = None if dtype is None else f"x.dtype == {dtype}"
                found.append((f"str(dtype) == {spelling[0]!r}", _WHY_STR, hint))
    for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
        if isinstance(op, (ast.In, ast.NotIn)) and (is_dtype(left) or stringified(left)):
            finding = _in_finding(right, not is_dtype(left))
            if finding is not None:
                found.append(finding)
    return found
