"""The blocks :func:`arrayport.testing.assert_equivalent` splits a dask run's arrays into.

A dask run gets its arrays in at least two blocks along every axis that allows it, so that
a function computed block by block where it should see the whole array gives a wrong
answer there, not a false pass. Which axes allow it depends on the arguments handed to
every block whole (numpy arrays of another shape: a bias, a lookup table, a kernel), as
arrayport's dispatch on dask checks them (``arrayport._dask_checks.check_whole_args``):

* an axis as long as such an argument's matching axis (a ``(4,)`` bias beside a ``(4, 4)``
  image: axis 1) stays one block: split, it is ambiguous whether every block gets the
  argument whole or its matching part, and dispatch refuses the call;
* an argument that does not broadcast against the whole array (a ``(3, 3)`` kernel beside
  a ``(6, 6)`` image) must not broadcast against a block either, whatever halo a
  ``depth=`` adds to it: one axis it does not fit stays one block, unless that axis is
  split into blocks that can never have its extent (blocks of 2 or more, all shorter than
  the argument: a ``(256,)`` lookup table beside a ``(4, 5)`` image).

Where no axis is left, the dask run gets one block, which dispatch takes for any function.
Imports no framework.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["block_chunks"]


def _halves(n: int) -> tuple[int, ...]:
    return (n - n // 2, n // 2) if n >= 2 else (n,)


def _misfits(shape: Sequence[int], other: Sequence[int]) -> list[int]:
    """The axes of ``shape`` that ``other`` (aligned at the trailing axes, as numpy
    broadcasts) does not broadcast against, the last axis first."""
    ndim = len(shape)
    return [
        ndim - k
        for k in range(1, min(len(other), ndim) + 1)
        if other[-k] != 1 and shape[-k] not in (1, other[-k])
    ]


def _never_its_extent(n: int, size: int) -> bool:
    """Whether an axis of length ``n`` split in two halves can never give a block (with any
    halo, which keeps a block within the axis) of extent ``size``, or of extent 1, which
    every size broadcasts against."""
    return n >= 4 and (size > n or size == 0)


def block_chunks(
    shape: Sequence[int], whole: Sequence[Sequence[int]]
) -> tuple[tuple[int, ...], ...]:
    """The chunks (halves along each axis that may be split, one block along the others)
    for the dask arrays of ``shape`` in a call whose arrays of the shapes ``whole`` are
    handed to every block whole; see the module's docstring for the rules."""
    ndim = len(shape)
    split = [n >= 2 for n in shape]
    for other in whole:  # an axis as long as a whole argument's: ambiguous when split
        for k in range(1, min(len(other), ndim) + 1):
            if other[-k] > 1 and other[-k] == shape[-k]:
                split[ndim - k] = False
    for other in whole:  # one that fits no whole array must fit no block either
        misfits = _misfits(shape, other)
        if not misfits:
            continue
        size = {a: other[a - ndim] for a in misfits}
        if any(not split[a] or _never_its_extent(shape[a], size[a]) for a in misfits):
            continue
        # The last axis it does not fit stays whole (rows stay split, as dask users split
        # them); this only ever unsplits, so the arguments before stay served.
        split[misfits[0]] = False
    return tuple(_halves(n) if s else (n,) for n, s in zip(shape, split, strict=True))
