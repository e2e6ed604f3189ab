"""Laying out the arrays :func:`arrayport.testing.arrays` draws: the numpy layouts
(:data:`arrayport.testing.LAYOUTS`) and dask's block sizes."""

from __future__ import annotations

import itertools
from collections.abc import Collection
from typing import Any

import numpy as np
from hypothesis import strategies as st

__all__ = ["_chunks", "_lay_out"]

_ALIGN = 64  # the alignment "offset" avoids (arrayport's and most allocators' boundary)


def _off_64(count: int, dtype: np.dtype[Any], *, last: bool = False) -> np.ndarray:
    """``count`` zeros of ``dtype`` whose first element (``last``: last element, where a
    view with negative strides starts) sits at an address aligned for ``dtype`` but not to
    64 bytes (``dtype.alignment`` bytes past a 64-byte boundary): one element past the
    allocator's start is 64-byte aligned whenever the allocation happens to be
    ``64 - itemsize`` past one."""
    align = max(dtype.alignment, 1)
    lead = max(count - 1, 0) * dtype.itemsize if last else 0
    raw = np.zeros(count * dtype.itemsize + 2 * _ALIGN, dtype=np.uint8)
    start = (align - lead - raw.ctypes.data) % _ALIGN
    return raw[start : start + count * dtype.itemsize].view(dtype)


def _lay_out(values: np.ndarray, layout: Collection[str]) -> np.ndarray:
    """A numpy array equal to ``values`` whose memory is laid out as ``layout`` asks."""
    shape = values.shape
    dtype = values.dtype
    if "bigendian" in layout and dtype.itemsize > 1:
        dtype = dtype.newbyteorder(">")
    ndim = len(shape)
    # Build the container's base shape backwards from the transformations applied to it.
    base_shape = tuple(shape)
    if "transposed" in layout:
        base_shape = base_shape[::-1]
    step = 2 if "strided" in layout else 1
    if "negative" in layout:
        step = -step
    grown = tuple(n * abs(step) for n in base_shape)
    count = int(np.prod(grown, dtype=np.int64))
    if "unaligned" in layout:
        raw = np.zeros(count * dtype.itemsize + 1, dtype=np.uint8)
        flat = raw[1:].view(dtype)
    elif "offset" in layout:
        flat = _off_64(count, dtype, last=step < 0)
    else:
        flat = np.zeros(count, dtype=dtype)
    base = flat.reshape(grown)
    # ``base[()]`` of a 0-d array is a scalar; ``base[...]`` is the 0-d view we need.
    container = base[tuple(slice(None, None, step) for _ in range(ndim))] if ndim else base[...]
    if "transposed" in layout:
        container = container.T
    container[...] = values
    if "readonly" in layout:
        container.flags.writeable = False
    return container


def _chunks(n: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Block sizes along an axis of length ``n``: one block (what hypothesis shrinks to) or
    several, of equal or unequal sizes."""
    if n < 2:
        return st.just((n,))

    def sizes(cuts: frozenset[int]) -> tuple[int, ...]:
        edges = [0, *sorted(cuts), n]
        return tuple(b - a for a, b in itertools.pairwise(edges))

    return st.frozensets(st.integers(1, n - 1), max_size=n - 1).map(sizes)
