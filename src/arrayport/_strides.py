"""Memory-order tests on strides: row-major and compact, or compact in another axis order.

A *compact* array fills its memory without gaps or overlaps: sorted by stride, each axis
steps over exactly the elements of the faster axes. Row-major (C) order is one such order;
a transposed or Fortran-ordered array, or a torch ``channels_last`` tensor, is compact in
another. jax's DLPack import shares any compact order on the CPU (ADR 0082) and refuses
gaps, steps and broadcasts; every other framework here shares only what it already did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ORDERED_MIN_BYTES", "c_contiguous", "compact", "inverse_order", "memory_order"]

#: Below this many bytes a host copy of an array compact in another axis order than
#: row-major is made row-major: the transposing copy then costs less than the few
#: microseconds of keeping the order (and jax's import of a custom layout). Measured
#: crossover on 2-D and 3-D float32: ADR 0082's amendment.
ORDERED_MIN_BYTES = 1 << 16


def c_contiguous(shape: tuple[int, ...], strides: tuple[int, ...], unit: int) -> bool | None:
    """Whether ``strides`` (in units of ``unit``) are row-major and compact for ``shape``:
    True; None where they are compact in another axis order (read only then); else False.
    None is falsy: ``if c_contiguous(...)`` still means row-major.

    Size-1 axes may have any stride, and an empty array is contiguous whatever its
    strides (numpy's rule; jax and tensorflow import empty arrays of any strides).
    """
    if 0 in shape:
        return True
    expected = unit
    for extent, stride in zip(reversed(shape), reversed(strides), strict=True):
        if extent != 1 and stride != expected:
            # (a compact layout steps by `unit` on its fastest axis: most others fail here)
            return None if unit in strides and _permuted(shape, strides, unit) else False
        expected *= extent
    return True


def compact(shape: tuple[int, ...], strides: tuple[int, ...], unit: int) -> bool:
    """Whether ``strides`` (in units of ``unit``) lay ``shape`` out without gaps or
    overlaps in some axis order (row-major included): taken from the smallest stride up,
    each axis longer than 1 steps by ``unit`` times the product of the extents before it
    (size-1 axes may have any stride; a negative or zero stride on a longer axis is not
    compact)."""
    return c_contiguous(shape, strides, unit) is not False


def _permuted(shape: tuple[int, ...], strides: tuple[int, ...], unit: int) -> bool:
    """:func:`compact` for a non-empty array that is not row-major."""
    if unit <= 0:
        return False
    # Column-major first (any transposed row-major array), without a sort: 0.4 us of the
    # 1 us a sort costs, on a cached conversion's key of such an array.
    expected = unit
    for extent, stride in zip(shape, strides, strict=True):
        if extent != 1 and stride != expected:
            break
        expected *= extent
    else:
        return True
    if len(shape) < 3:  # two axes have two orders, and neither fits
        return False
    expected = unit
    for stride, extent in sorted(zip(strides, shape, strict=True)):
        if extent != 1:
            if stride != expected:
                return False
            expected *= extent
    return True


def memory_order(a: np.ndarray, min_bytes: int = ORDERED_MIN_BYTES) -> list[int] | None:
    """The axes of ``a`` from the slowest-stepping to the fastest where ``a`` is compact in
    another order than row-major and at least ``min_bytes`` long, else None.

    ``a.transpose(order)`` is then row-major: copying it is a straight copy of ``a``'s
    memory (about 1 ms for 16 MiB) where copying ``a`` row-major transposes (about 25 ms),
    and the copy transposed back by :func:`inverse_order` holds ``a``'s values in ``a``'s
    own layout."""
    if (
        a.nbytes < min_bytes
        or a.ndim < 2
        or a.flags.c_contiguous
        or not compact(a.shape, a.strides, a.itemsize)
    ):
        return None
    strides = a.strides
    return sorted(range(a.ndim), key=strides.__getitem__, reverse=True)


def inverse_order(order: list[int]) -> list[int]:
    """The permutation that undoes ``order`` (``x.transpose(order).transpose(inverse)``
    is ``x``)."""
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return inverse
