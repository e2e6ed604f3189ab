"""Stacks of 2-D planes built in one pyclesperanto buffer.

pyclesperanto has no n-D stack, and stacking by pairwise ``concatenate_along_z`` copies
O(n²) bytes (ADR 0017). :func:`stack_planes` allocates the 3-D buffer once, after checking
its size, and copies each plane into it once: a rectangular buffer copy for a plane already
on the device, one host-to-device write for a plane on the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from arrayport.devices import Device


def stack_planes(
    planes: Iterable[Any],
    like: Any,
    count: int,
    device: Device,
    create: Callable[..., Any],
    check_size: Callable[[int, np.dtype[Any], Device], None],
) -> Any:
    """The ``count`` 2-D ``planes``, in order, in one new 3-D array of ``like``'s dtype.

    Parameters
    ----------
    planes : iterable
        Each plane: a pyclesperanto array on ``device``, or a numpy array (taken one at a
        time, so a lazy iterable holds one host plane at most).
    like : pyclesperanto array
        A 2-D plane on ``device``: the stack takes its shape, dtype and device handle.
    count : int
        How many planes there are.
    device : Device
        The OpenCL device, for the buffer-size check.
    create : callable
        ``pyclesperanto.create``.
    check_size : callable
        ``check_size(nbytes, dtype, device)`` raises for a buffer beyond the device's
        maximum.

    Returns
    -------
    pyclesperanto array
        Of shape ``(count, height, width)``.
    """
    height, width = (int(n) for n in like.shape)
    # The limit convert's push checks, for the whole stack, before allocating it.
    dtype = np.dtype(like.dtype)
    check_size(count * height * width * dtype.itemsize, dtype, device)
    out = create((count, height, width), dtype=like.dtype, device=like.device)
    for i, plane in enumerate(planes):
        if isinstance(plane, np.ndarray):
            # One host-to-device write into the plane (origin and region are z, y, x).
            out.set(plane, origin=(i, 0, 0), region=(1, height, width))
        else:
            # A rectangular buffer copy: cle.copy_slice runs a kernel through float32,
            # which changes int32/uint32 values beyond 2**24.
            source = plane.reshape((1, height, width))
            source.copy(out, (0, 0, 0), (i, 0, 0), (1, height, width))
    return out
