"""Memory-order tests on strides: row-major and compact, or compact in another axis order.

A *compact* array fills its memory without gaps or overlaps: sorted by stride, each axis
steps over exactly the elements of the faster axes. Row-major (C) order is one such order;
a transposed or Fortran-ordered array, or a torch ``channels_last`` tensor, is compact in
another. jax's DLPack import shares any compact order on the CPU (ADR 0082) and refuses
gaps, steps and broadcasts; every other framework here shares only what it already did.
"""

from __future__ import annotations

__all__ = ["c_contiguous", "compact"]


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
