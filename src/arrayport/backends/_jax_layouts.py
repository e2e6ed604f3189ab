"""The memory order of a jax buffer: row-major, or a custom layout placed on purpose.

jax can hold an array in another order than row-major
(``jax.device_put(x, Format(Layout(major_to_minor=(1, 0)), sharding))``). Its host view
(``np.asarray``) then copies into row-major order, and its DLPack export carries the real
strides, which tensorflow refuses. So such an array has no zero-copy host share: the
backend describes it with its real strides and gives it no host view, and the planner
copies it (``copy=False`` raises ``CopyRequiredError``) where it used to claim a share that
copied.

The order is read from the buffer's PJRT layout, about 0.3 us (jax's public
``x.format.layout`` costs 1.4 us, which every conversion of a jax array would pay), with the
public property as the fallback where the private one is spelled otherwise. Arrays of
fewer than two dimensions have one order only and are not asked.

jax makes such arrays itself on the CPU from compact host memory in another axis order
(a transposed numpy array, a torch ``channels_last`` tensor), which it imports with its
strides (ADR 0082); :func:`ordered_copy` is the host copy that keeps that order (from 64
KiB: below it, row-major). Their route key carries :func:`layout_contiguity` (None), so
their conversions are cached apart from row-major ones' (ADR 0082's amendment).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport._host import aligned_copy
from arrayport._strides import ORDERED_MIN_BYTES, c_contiguous, inverse_order, memory_order
from arrayport.backends._jax_devices import custom_layouts_safe

__all__ = [
    "ORDERED_MIN_BYTES",
    "layout_contiguity",
    "major_to_minor",
    "ordered_copy",
    "row_major",
    "strides_of",
]


def major_to_minor(x: Any) -> tuple[int, ...] | None:
    """The axes of ``x``'s buffer from the slowest-varying to the fastest, or None where
    jax does not say (a deleted array, a platform without layouts)."""
    try:
        return tuple(reversed(x._pjrt_layout._xla_layout().minor_to_major()))
    except Exception:  # another jaxlib's spelling: the public property
        pass
    try:
        layout = x.format.layout
    except Exception:  # no layouts in this jax, or none for this array
        return None
    order = getattr(layout, "major_to_minor", None)
    return None if order is None else tuple(order)


# Row-major's minor-to-major order by number of dimensions: (1, 0), (2, 1, 0), ...
_ROW_MAJOR: dict[int, tuple[int, ...]] = {}


def row_major(x: Any, ndim: int) -> bool:
    """Whether ``x``'s buffer, of ``ndim`` >= 2 dimensions, is in row-major order (True
    where jax does not say)."""
    expected = _ROW_MAJOR.get(ndim)
    if expected is None:
        expected = _ROW_MAJOR[ndim] = tuple(range(ndim - 1, -1, -1))
    try:  # the common case in one comparison
        if x._pjrt_layout._xla_layout().minor_to_major() == expected:
            return True
    except Exception:  # another jaxlib's spelling: read below
        pass
    order = major_to_minor(x)
    return order is None or order == expected[::-1]


def strides_of(x: Any, itemsize: int) -> tuple[int, ...] | None:
    """The byte strides of ``x``'s buffer: None for row-major (the compact default, as
    ``ArrayInfo`` spells it), else the strides its layout gives each axis."""
    shape = tuple(x.shape)
    if len(shape) < 2:
        return None
    order = major_to_minor(x)
    if order is None or order == tuple(range(len(shape))):
        return None
    strides = [0] * len(shape)
    step = itemsize
    for axis in reversed(order):  # the fastest-varying axis first
        strides[axis] = step
        step *= max(shape[axis], 1)
    return tuple(strides)


def layout_contiguity(x: Any, shape: tuple[int, ...], itemsize: int) -> bool | None:
    """``ArrayInfo.contiguity`` of ``x`` (of ``shape``, not in row-major order), as
    :func:`describe` gives it: None (a layout is always compact), or True where the order
    differs from row-major only in size-1 axes or the array is empty (numpy's rule, which
    ``c_contiguous`` applies to the strides). For the route key: without those axes the
    answer is None at once (0.06 us; the strides cost 2.5 us)."""
    if 0 not in shape and 1 not in shape:
        return None
    strides = strides_of(x, itemsize)
    return True if strides is None else c_contiguous(shape, strides, itemsize)


def ordered_copy(a: np.ndarray) -> np.ndarray:
    """``aligned_copy(a)`` (fresh, writable, native byte order, 64-byte aligned), laid out in
    ``a``'s own axis order where ``a`` is compact in another order than row-major and at
    least :data:`ORDERED_MIN_BYTES` long: a plain copy of its memory (about 1 ms for 16 MiB),
    not a transposing one (about 25 ms), which jax's CPU import shares with its strides.
    Any other ``a`` is copied row-major."""
    order = memory_order(a, ORDERED_MIN_BYTES)
    if order is None or not custom_layouts_safe():  # several jax devices: row-major only
        return aligned_copy(a)
    out = aligned_copy(a.transpose(order))  # row-major in memory order: a straight copy
    shaped: np.ndarray = out.transpose(inverse_order(order))
    return shaped


def strided_view(x: Any) -> np.ndarray:
    """What a host copy reads of a CPU array in a custom layout: its buffer in place,
    read-only, with its strides (``np.from_dlpack``). ``np.asarray`` would make jax's
    row-major copy (a transposing copy, kept on the array: stale after a write to numpy
    memory the array shares, ADR 0082). Where numpy cannot take it by DLPack (bfloat16),
    a copy made now."""
    try:
        view: np.ndarray = np.from_dlpack(x)
    except (BufferError, TypeError, ValueError, RuntimeError):
        # numpy takes no bfloat16 by DLPack: a fresh jax copy's host view, made now (not
        # the copy jax keeps on ``x``, which holds the values of its first read).
        view = np.asarray(x.copy())
    return view
