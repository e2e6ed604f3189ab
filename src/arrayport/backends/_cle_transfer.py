"""Slab reads of a pyclesperanto array into aligned host memory.

``cle.pull`` returns a buffer that is not 64-byte aligned, which jax and tensorflow then
copy again (a naive pull-then-import costs about 10x the pull). :func:`read_to_host` reads
the array in slabs of 1-4 MiB straight into an aligned buffer instead: one pass, each slab
copied while still in cache, about as fast as ``pull`` itself.

Also here: the device-info sizes and the allocation-failure texts that guard pushes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from arrayport._host import aligned_empty
from arrayport.devices import Device
from arrayport.errors import OutOfMemoryError
from arrayport.memory_types import MemoryType

#: Bytes read per slab by :func:`read_to_host`: a quarter of the array, within these bounds.
#: Each read costs about 70 us however small (PoCL), so large arrays take large slabs; a
#: slab stays small enough to be copied from cache. Measured against ``pull`` (ratio of
#: times, side by side): 16/32/64/256 MiB in 4 MiB slabs 1.24/1.20/1.09/1.00x, in 1 MiB
#: slabs 1.64/1.32/1.43/1.48x.
MIN_SLAB_BYTES = 1 << 20
MAX_SLAB_BYTES = 4 << 20


def read_to_host(x: Any, pull: Callable[[Any], Any]) -> np.ndarray:
    """Read ``x`` into a fresh 64-byte-aligned host array, in cache-sized slabs.

    Parameters
    ----------
    x : pyclesperanto array
        The array to read.
    pull : callable
        ``pyclesperanto.pull``, used whole when the array has no typed slab reader.

    Returns
    -------
    numpy.ndarray
        A new aligned array equal to ``x``.
    """
    shape = tuple(x.shape)
    dtype = np.dtype(x.dtype)
    out = aligned_empty(shape, dtype)
    read = getattr(x, f"_read_{dtype.name}", None)
    if read is None or len(shape) == 0 or out.size == 0:
        out[...] = pull(x)
        return out
    row_bytes = out[0].nbytes if out.ndim > 1 else dtype.itemsize
    slab = min(MAX_SLAB_BYTES, max(MIN_SLAB_BYTES, out.nbytes // 4))
    step = max(1, slab // max(1, row_bytes))
    rest = shape[1:]
    zeros = (0,) * len(rest)
    for start in range(0, shape[0], step):
        n = min(step, shape[0] - start)
        # origin and region are in numpy axis order here (pyclesperanto 0.25).
        out[start : start + n] = read((start, *zeros), (n, *rest))
    return out


#: OpenCL reports allocation failures only as status codes inside pyclesperanto's
#: RuntimeError text ("Error: Failed to allocate buffer memory. OpenCL error:
#: CL_INVALID_BUFFER_SIZE (-61)"); these are the codes that mean "no memory for this
#: buffer". The text before the code is not enough: pyclesperanto gives the same
#: "Failed to allocate buffer memory" for every code, CL_INVALID_VALUE (a bad flag or
#: argument) too.
OOM_CODES = (
    "CL_MEM_OBJECT_ALLOCATION_FAILURE",
    "CL_OUT_OF_RESOURCES",
    "CL_OUT_OF_HOST_MEMORY",
    "CL_INVALID_BUFFER_SIZE",
)
#: The code of a buffer beyond the device's maximum buffer size: a fixed limit, which no
#: memory freed lifts (the OOM policy neither releases nor retries for it).
OVERSIZE_CODE = "CL_INVALID_BUFFER_SIZE"


def info_bytes(info: str, field: str) -> int | None:
    """The size ``field`` (given in MB) in pyclesperanto's device info text, in bytes."""
    match = re.search(rf"{field}:\s*(\d+)\s*MB", info)
    return int(match.group(1)) * 1024 * 1024 if match else None


def oversize_error(
    nbytes: int, dtype_name: str, limit: int, memory_type: MemoryType, device: Device
) -> OutOfMemoryError:
    """The error for a push of ``nbytes`` beyond the device's maximum buffer size."""
    msg = (
        f"{nbytes} bytes of {dtype_name} exceed the OpenCL device's maximum buffer "
        f"size of {limit} bytes; split the array (OOMPolicy(split_axis=0)) or use "
        "another memory type"
    )
    error = OutOfMemoryError(msg, memory_type=memory_type, device=device, requested_bytes=nbytes)
    # A fixed limit: the OOM policy skips release and retries (no memory freed lifts it).
    error.fixed_limit = True  # type: ignore[attr-defined]
    return error
