"""What a parameter or variable annotation says it holds: an ndarray, or an instance of a
class the file defines.

``x: np.ndarray`` and ``x: npt.NDArray[np.float64]`` are arrays, and so are the optional
forms, ``np.ndarray | None``, ``Optional[np.ndarray]``, ``Union[np.ndarray, None]``, and an
annotation written as a string (``"np.ndarray"``, the form for a name imported only under
``TYPE_CHECKING``). Under ``from __future__ import annotations`` no annotation is
evaluated (:func:`lazy_annotations`), and port-check reports none there.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Iterator

from arrayport._quiet import quiet
from arrayport.portcheck._results import _ARRAY_ANNOTATIONS

__all__ = ["annotation_kind", "lazy_annotations"]

#: typing's forms that take the types a value may have (``Optional[T]`` is T or None).
_UNIONS = frozenset({"Optional", "Union"})


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _members(node: ast.expr, strings: int = 1) -> Iterator[ast.expr | None]:
    """The types the annotation ``node`` allows (``A | B``, ``Optional[A]``, ``Union[A,
    B]``, ``"A"``), None for one that cannot be read (a string that is not an expression)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if not strings:
            yield None
            return
        try:
            with quiet():  # "\d" in the annotation: the file's
                parsed = ast.parse(node.value.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            yield None
            return
        yield from _members(parsed, strings - 1)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        yield from _members(node.left, strings)
        yield from _members(node.right, strings)
    elif isinstance(node, ast.Subscript) and _typing_name(node.value) in _UNIONS:
        index = node.slice
        for item in index.elts if isinstance(index, ast.Tuple) else [index]:
            yield from _members(item, strings)
    else:
        yield node


def _typing_name(node: ast.expr) -> str:
    """``Optional`` for ``Optional``, ``typing.Optional`` or ``t.Optional``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def annotation_kind(
    node: ast.expr | None, resolve: Callable[[ast.AST], str | None], classes: Collection[str]
) -> str | None:
    """ "array" where ``node`` annotates an ndarray (or None), "object" an instance of one of
    ``classes`` (or None), else None. ``resolve`` gives the numpy name an expression names."""
    if node is None:
        return None
    kinds = set()
    for member in _members(node):
        if member is None:
            return None
        if _is_none(member):
            continue
        generic = member.value if isinstance(member, ast.Subscript) else member
        if resolve(generic) in _ARRAY_ANNOTATIONS:
            kinds.add("array")
        elif isinstance(generic, ast.Name) and generic.id in classes:
            kinds.add("object")
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


def lazy_annotations(tree: ast.AST) -> bool:
    """Whether the module ``tree`` starts with ``from __future__ import annotations``, under
    which no annotation is evaluated."""
    body = tree.body if isinstance(tree, ast.Module) else []
    return any(
        isinstance(n, ast.ImportFrom)
        and n.module == "__future__"
        and any(a.name == "annotations" for a in n.names)
        for n in body
    )
