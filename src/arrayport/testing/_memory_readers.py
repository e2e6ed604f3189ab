"""Reading arrays through each framework's own calls: their values and their memory.

:func:`as_numpy` reads values, :func:`memory_bounds` the byte range an array occupies and
:func:`shares_memory` whether two arrays overlap. Each uses the framework's *own* calls
(``Tensor.numpy``, ``data_ptr``, ``unsafe_buffer_pointer``, ...), not arrayport's conversion
code, so that tests using them check arrayport against an independent path.

Importing this module imports no framework: an array is read through the framework it
came from, already imported (ml_dtypes is imported only to read a torch bfloat16 tensor).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from arrayport.backends import detect_memory_type
from arrayport.memory_types import MemoryType

__all__ = ["as_numpy", "is_strict", "memory_bounds", "shares_memory"]


def is_strict(x: object) -> bool:
    """Whether ``x`` is an array-api-strict array (which arrayport itself does not handle)."""
    return type(x).__module__.partition(".")[0] == "array_api_strict"


def as_numpy(x: Any) -> np.ndarray:
    """A numpy array with the values of ``x``, read with the framework's own calls.

    Parameters
    ----------
    x : array
        A numpy, cupy, torch, jax, tensorflow, pyclesperanto, dask or array-api-strict array.

    Returns
    -------
    numpy.ndarray
        A view where the framework gives one, else a copy. arrayport's conversion code is
        not used, so tests can compare :func:`arrayport.convert` against it.
    """
    if isinstance(x, np.ndarray):
        return x
    if is_strict(x):
        xps = sys.modules["array_api_strict"]
        return np.asarray(np.from_dlpack(x.to_device(xps.Device("CPU_DEVICE"))))
    mt = detect_memory_type(x)
    if mt is MemoryType.TORCH:
        t = x.detach().cpu().resolve_conj().resolve_neg()
        if str(t.dtype) == "torch.bfloat16":  # torch's numpy() has no bfloat16
            import ml_dtypes

            return np.asarray(t.float().numpy().astype(ml_dtypes.bfloat16))  # exact
        return np.asarray(t.numpy())
    if mt is MemoryType.TENSORFLOW:
        return np.asarray(x.numpy())
    if mt is MemoryType.PYCLESPERANTO:
        return np.asarray(sys.modules["pyclesperanto"].pull(x))
    if mt is MemoryType.CUPY:
        return np.asarray(x.get())
    if mt is MemoryType.DASK:
        computed = x.compute()  # numpy or cupy chunks; a 0-d result may be a numpy scalar
        return np.asarray(computed) if isinstance(computed, np.generic) else as_numpy(computed)
    return np.asarray(x)  # jax: np.asarray shares its host buffer, read-only


def memory_bounds(x: Any) -> tuple[int, int] | None:
    """The byte range ``[low, high)`` of host or device memory ``x`` occupies, if known.

    Read through the framework's own pointers (``data_ptr``, ``unsafe_buffer_pointer``,
    numpy's byte bounds of a DLPack view; for dask, the span of the chunks its graph
    holds). ``None`` for pyclesperanto, which exposes no address (its OpenCL buffers never
    share host memory).
    """
    if isinstance(x, np.ndarray):
        from numpy.lib.array_utils import byte_bounds

        low, high = byte_bounds(x)
        return int(low), int(high)
    mt = detect_memory_type(x)
    if mt is MemoryType.TORCH:
        if x.numel() == 0:
            return (int(x.data_ptr()), int(x.data_ptr()))
        start = int(x.data_ptr())
        item = int(x.element_size())
        low = start + item * sum(
            s * (n - 1) for s, n in zip(x.stride(), x.shape, strict=False) if s < 0
        )
        high = start + item * (
            1 + sum(s * (n - 1) for s, n in zip(x.stride(), x.shape, strict=False) if s > 0)
        )
        return low, high
    if mt is MemoryType.JAX:
        if x.size == 0:
            return None
        x.block_until_ready()  # unsafe_buffer_pointer can hang on a pending array
        start = int(x.unsafe_buffer_pointer())
        return start, start + int(x.nbytes)
    if mt is MemoryType.TENSORFLOW:
        d = x.dtype
        if d.name == "bfloat16" or not (d.is_bool or d.is_integer or d.is_floating or d.is_complex):
            return None  # tensorflow's DLPack export aborts the process on strings
        return memory_bounds(np.from_dlpack(x))
    if mt is MemoryType.CUPY:
        return int(x.data.ptr), int(x.data.ptr) + int(x.nbytes)
    if mt is MemoryType.DASK:
        # A graph has no memory of its own: it holds its input chunks as arrays in the
        # graph (dask's compute copies them out, so the chunks are what can alias).
        found = [
            memory_bounds(v)
            for v in dict(x.__dask_graph__()).values()
            if isinstance(v, np.ndarray) and v.size
        ]
        spans = [b for b in found if b is not None]
        return (min(b[0] for b in spans), max(b[1] for b in spans)) if spans else None
    return None


def shares_memory(a: Any, b: Any) -> bool:
    """Whether arrays ``a`` and ``b`` (of any memory types) overlap in memory.

    Conservative for strided arrays: interleaved views of one buffer count as sharing. An
    empty array shares memory with nothing, itself included (as ``numpy.shares_memory``).

    Raises
    ------
    UnsupportedArrayError
        If ``a`` or ``b`` is not an array (``None``, a list, a scalar, ...).
    """
    for x in (a, b):  # checked first: two non-arrays must not pass as the same array
        if not (isinstance(x, np.ndarray) or is_strict(x)):
            detect_memory_type(x)
    if a is b:  # known even where memory_bounds is not (pyclesperanto)
        return not any(n == 0 for n in tuple(a.shape))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.shares_memory(a, b))  # exact; the arrays tests draw are small
    ra, rb = memory_bounds(a), memory_bounds(b)
    if ra is None or rb is None:
        return False
    return ra[0] < rb[1] and rb[0] < ra[1] and ra[0] < ra[1] and rb[0] < rb[1]
