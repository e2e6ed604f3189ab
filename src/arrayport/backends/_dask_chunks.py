"""Into dask: host memory wrapped as chunk views, and chunks moved between host and GPU.

Importing this module imports no framework: dask is imported by the backend's ``load()``,
which :func:`from_numpy` calls, and cupy only where chunks go to a GPU. The dask backend
re-exports :func:`from_numpy` and :func:`move` as they are.

* Converting *to* dask wraps host memory without copying (:func:`from_numpy`): the chunks
  are views of the source, cut with dask's ``"auto"`` chunk size (``array.chunk-size`` in
  dask's config, 128 MiB by default). ``dask.array.from_array`` is not used because it copies
  numpy input since dask 2025 and hashes all the data to name the graph.
* A device other than the CPU means cupy-backed chunks: host data is moved to the GPU chunk
  by chunk, lazily (:func:`from_numpy`, :func:`move`).
"""

from __future__ import annotations

import functools
import itertools
import uuid
from typing import Any

import numpy as np

from arrayport.backends._dask_devices import _cupy_backend, _is_cupy, device_of, resolve_device
from arrayport.devices import CPU, Device

__all__ = ["from_numpy", "from_numpy_chunked", "move"]


def _chunk_slices(chunks: tuple[tuple[int, ...], ...]) -> list[tuple[slice, ...]]:
    per_axis = []
    for sizes in chunks:
        starts = itertools.accumulate(sizes, initial=0)
        per_axis.append([slice(s, s + n) for s, n in zip(starts, sizes, strict=False)])
    return list(itertools.product(*per_axis))


def _block_to_cupy(block: Any, index: int) -> Any:
    import cupy

    with cupy.cuda.Device(index):
        return cupy.asarray(block)


def _block_to_numpy(block: Any) -> Any:
    return block.get() if _is_cupy(block) else np.asarray(block)


def _meta(like: Any, dtype: np.dtype[Any], ndim: int) -> Any:
    """An empty array of the chunk type dask needs as ``meta`` (numpy or cupy)."""
    if _is_cupy(like):
        import cupy

        return cupy.empty((0,) * ndim, dtype=dtype)
    return np.empty((0,) * ndim, dtype=dtype)


def from_numpy(a: np.ndarray, device: Device) -> Any:
    """Wrap host array ``a`` as a dask array whose chunks are views of it (no copy).

    Chunks follow dask's ``"auto"`` rule (``array.chunk-size``, 128 MiB by default). On a
    CUDA device every chunk is moved to the GPU when it is computed.
    """
    return from_numpy_chunked(a, device, "auto")


def from_numpy_chunked(a: np.ndarray, device: Device, chunks: Any) -> Any:
    """:func:`from_numpy` in ``chunks`` (a dask array's copy keeps its own)."""
    # Imported here, not at the top: the backend imports this module.
    from arrayport.backends.dask import load

    da = load()
    from dask.array.core import normalize_chunks

    if not a.size and isinstance(chunks, str):
        chunks = a.shape  # one empty chunk: dask's "auto" divides by the zero size
    chunks = normalize_chunks(chunks, a.shape, dtype=a.dtype)  # type: ignore[no-untyped-call]
    # A random name: dask would otherwise hash every byte to name the graph.
    name = f"arrayport-host-{uuid.uuid4().hex}"
    keys = itertools.product([name], *(range(len(c)) for c in chunks))
    # A 0-d array indexed by () gives a scalar, not a view: view() keeps it an array.
    dsk = {k: (a[s] if s else a.view()) for k, s in zip(keys, _chunk_slices(chunks), strict=True)}
    out = da.Array(dsk, name, chunks, dtype=a.dtype, meta=_meta(a, a.dtype, a.ndim))
    return out if device.is_cpu else move(out, device)


def move(x: Any, device: Device) -> Any:
    if device == device_of(x):
        return x
    if device.is_cpu:
        return x.map_blocks(_block_to_numpy, dtype=x.dtype, meta=_meta(None, x.dtype, x.ndim))
    cp = _cupy_backend()
    if cp is None:
        resolve_device(device, CPU)  # raises the DeviceError naming what is missing
    import cupy

    meta = cupy.empty((0,) * x.ndim, dtype=x.dtype)
    to_gpu = functools.partial(_block_to_cupy, index=device.index)
    return x.map_blocks(to_gpu, dtype=x.dtype, meta=meta)
