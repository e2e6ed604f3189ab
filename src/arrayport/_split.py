"""Halving array arguments along an axis and joining the pieces' results, for the OOM
policy's split step (:mod:`arrayport.oom`).

Joining is written once against the array API (``xp.concat``); the two storage-only
frameworks join with their own call (tensorflow: ``tf.concat``) or through numpy
(pyclesperanto has no concatenation of its own arrays).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from arrayport.backends import detect_memory_type, get_backend, namespace
from arrayport.convert import convert
from arrayport.errors import UnsupportedArrayError
from arrayport.memory_types import MemoryType

__all__ = ["NotSplittable", "concat", "halve", "map_arrays"]

_Call = tuple[tuple[Any, ...], dict[str, Any]]


class NotSplittable(Exception):
    """The pieces' results cannot be joined; the message says why."""


def _memory_type(x: object) -> MemoryType | None:
    if isinstance(x, (type(None), bool, int, float, complex, str, bytes)):
        return None
    try:
        return detect_memory_type(x)
    except UnsupportedArrayError:
        return None


def _axis(x: Any, axis: int) -> int | None:
    """``axis`` as a non-negative index into ``x``'s dimensions, or None if it has none."""
    ndim = len(x.shape)
    ax = axis + ndim if axis < 0 else axis
    return ax if 0 <= ax < ndim else None


def _take(x: Any, ax: int, lo: int, hi: int) -> Any:
    return x[(slice(None),) * ax + (slice(lo, hi),)]


def halve(
    args: tuple[Any, ...], kwargs: dict[str, Any], axis: int, min_split: int
) -> list[_Call] | None:
    """The call split into two halves along ``axis``, or None if it cannot be split.

    The first array argument having ``axis`` sets the length ``n``; every array argument
    of that same length along ``axis`` is halved (``[0, n//2)`` and ``[n//2, n)``), the
    others are passed whole. None when no argument has the axis, or when a half would be
    shorter than ``min_split``.
    """
    length: int | None = None
    for value in (*args, *kwargs.values()):
        if _memory_type(value) is not None:
            ax = _axis(value, axis)
            if ax is not None:
                length = int(value.shape[ax])
                break
    if length is None or length < 2 * min_split:
        return None
    mid = length // 2

    def piece(value: Any, lo: int, hi: int) -> Any:
        if _memory_type(value) is None:
            return value
        ax = _axis(value, axis)
        if ax is None or int(value.shape[ax]) != length:
            return value
        return _take(value, ax, lo, hi)

    return [
        (tuple(piece(a, lo, hi) for a in args), {k: piece(v, lo, hi) for k, v in kwargs.items()})
        for lo, hi in ((0, mid), (mid, length))
    ]


def _describe(value: object) -> str:
    return f"a {type(value).__module__}.{type(value).__qualname__}"


def concat(parts: list[Any], axis: int) -> Any:
    """Join the results of the pieces, in order, along ``axis``.

    Arrays are concatenated; tuples and lists (namedtuples too) are joined element by
    element. Anything else raises :class:`NotSplittable`.
    """
    first = parts[0]
    if _memory_type(first) is not None:
        return _concat_arrays(parts, axis)
    if isinstance(first, (tuple, list)):
        if any(type(p) is not type(first) or len(p) != len(first) for p in parts):
            msg = "the pieces returned sequences of different types or lengths"
            raise NotSplittable(msg)
        items = [concat([p[i] for p in parts], axis) for i in range(len(first))]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*items)
        return type(first)(items)
    raise NotSplittable(f"a piece returned {_describe(first)}, not an array")


def _concat_arrays(parts: list[Any], axis: int) -> Any:
    mt = detect_memory_type(parts[0])
    for p in parts:
        if _memory_type(p) is not mt:
            msg = f"the pieces returned {mt.value} arrays and {_describe(p)}"
            raise NotSplittable(msg)
        if _axis(p, axis) is None:
            msg = f"a piece returned an array of shape {tuple(p.shape)}, which has no axis {axis}"
            raise NotSplittable(msg)
    if mt is MemoryType.TENSORFLOW:
        tf = get_backend(mt).load()
        return tf.concat(parts, axis=axis)
    if mt is MemoryType.PYCLESPERANTO:
        device = get_backend(mt).device_of(parts[0])
        joined = np.concatenate([convert(p, MemoryType.NUMPY) for p in parts], axis=axis)
        return convert(joined, mt, device=device)
    xp = namespace(mt)
    join = getattr(xp, "concat", None) or xp.concatenate
    return join(parts, axis=axis)


def map_arrays(value: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` applied to every array in ``value`` (an array, or a tuple/list/dict of them)."""
    if _memory_type(value) is not None:
        return fn(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(map_arrays(v, fn) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(map_arrays(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_arrays(v, fn) for k, v in value.items()}
    return value
