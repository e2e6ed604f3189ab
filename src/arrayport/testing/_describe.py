"""A function call described in :func:`arrayport.testing.assert_equivalent`'s failure
messages: ``f(float32[3, 4], [float64[3], str32[2]], w=float64[3])``. Arrays are shown as
their dtype and shape, keyword arguments by name, arrays in a list, tuple or dict argument
one level down too; anything else by its ``repr``, cut short."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arrayport.testing._memory_readers import as_numpy
from arrayport.testing._results import is_array

__all__ = ["describe_call"]

#: How many characters of an argument's ``repr`` are shown, and how many items of a list,
#: tuple or dict argument.
_REPR_CHARS = 40
_ITEMS = 6


def _array(x: Any) -> str:
    h = as_numpy(x)
    return f"{h.dtype.name}{list(h.shape)}"


def _leaf(x: Any) -> str:
    """An array as ``dtype[shape]``, anything else by its ``repr`` cut short."""
    return _array(x) if is_array(x) else repr(x)[:_REPR_CHARS]


def _items(shown: list[str], total: int) -> str:
    more = f", ... ({total} items)" if total > len(shown) else ""
    return ", ".join(shown) + more


def _argument(x: Any) -> str:
    """``x`` described; a list, tuple or dict item by item (one level down)."""
    if is_array(x):
        return _array(x)
    if isinstance(x, (list, tuple)):
        shown = [_leaf(v) for v in list(x)[:_ITEMS]]
        if isinstance(x, list):
            return f"[{_items(shown, len(x))}]"
        return f"({_items(shown, len(x))}{',' if len(x) == 1 else ''})"
    if isinstance(x, dict):
        shown = [f"{k!r}: {_leaf(v)}" for k, v in list(x.items())[:_ITEMS]]
        return f"{{{_items(shown, len(x))}}}"
    return repr(x)[:_REPR_CHARS]


def describe_call(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The arguments of a call, as they go between its parentheses: positional ones, then
    keyword ones as ``name=...``."""
    parts = [_argument(a) for a in args]
    parts += [f"{name}={_argument(v)}" for name, v in kwargs.items()]
    return ", ".join(parts)
