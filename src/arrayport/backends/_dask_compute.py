"""Reading a dask array out: computing its graph into one fresh host array, checked.

Importing this module imports no framework: it works on the dask array it is handed. The
dask backend re-exports :func:`to_numpy` as it is.

* Computed results are fresh memory: :func:`to_numpy` copies a result that could alias a
  chunk held in the graph, so "host-copy" routes never hand out a writable alias.
* Routes are planned from the graph's metadata (``x.dtype``, ``x.shape``, ``x._meta``),
  which the user declares and dask does not verify (``from_delayed(..., dtype=...)``,
  ``map_blocks(..., dtype=...)``). :func:`to_numpy` checks the computed array against it, so
  that a conversion never hands out a dtype, shape or mask its route did not report.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from arrayport._host import aligned_copy
from arrayport.backends._dask_devices import _is_cupy
from arrayport.errors import ConversionError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

__all__ = ["dtype_lie", "to_numpy"]


def _known_shape(x: Any) -> tuple[int, ...]:
    # Chunks of unknown size (after boolean indexing, say) make dask report NaN extents;
    # -1 stands for them. A target's shape refusal cannot judge them when planning
    # (pyclesperanto's "no empty arrays"): arrayport._routes checks the computed array.
    return tuple(-1 if isinstance(s, float) and math.isnan(s) else int(s) for s in x.shape)


#: Why masked dask arrays are refused, and what to pass instead (numpy's refusal, in dask terms).
_MASKED = (
    "dask arrays with masked chunks are not converted: the mask would be lost. Pass "
    "dask.array.ma.filled(x, fill_value) for the values, or dask.array.ma.getdata(x) and "
    "dask.array.ma.getmaskarray(x) separately"
)


def to_numpy(x: Any) -> np.ndarray:
    """Compute ``x`` on the active scheduler into one fresh host array.

    The result is checked against what the route was planned from (``x``'s declared
    dtype, shape and chunk type): dask takes them on trust from whoever built the graph,
    and the tasks may return something else.
    """
    if x.npartitions > 1:
        # dask joins blocks into an array of the first one's dtype: a later block of
        # another dtype would be cast on the way (2**40 into int32 wraps to 0) before the
        # joined result could be checked. Each block is checked where it is computed.
        declared = np.dtype(x.dtype).name
        x = x.map_blocks(_checked_block, declared=declared, dtype=x.dtype, meta=x._meta)
    out = x.compute()
    # describe() refused a masked meta; this catches masked chunks under a plain meta
    # (from_delayed of a masked array, say), whose mask np.asarray would drop.
    if isinstance(out, np.ma.MaskedArray):
        raise UnsupportedArrayError(_MASKED)
    # One block of torch tensors or sparse matrices, say (a 0-d graph may compute to a
    # Python number, which np.asarray takes exactly).
    if not (numpy_or_cupy(out) or type(out) in (bool, int, float, complex)):
        raise UnsupportedArrayError(foreign_chunks("arrayport", out))
    # cupy's get() is a fresh host copy.
    out = np.asarray(out.get()) if _is_cupy(out) else np.asarray(out)
    _check_computed(x, out)
    # A single-chunk graph may hand back the very buffer it holds (a view of the array it
    # was made from, or a read-only view of jax memory): copy so that the result is ours.
    if not (out.flags.owndata and out.flags.writeable):
        out = aligned_copy(out)
    return out


def numpy_or_cupy(chunk: Any) -> bool:
    """Whether ``chunk`` (a dask array's meta or a computed block) is a plain numpy array
    (or numpy scalar) or a cupy array: the chunks arrayport moves and maps over."""
    return type(chunk) is np.ndarray or isinstance(chunk, np.generic) or _is_cupy(chunk)


def foreign_chunks(what: str, chunk: Any) -> str:
    """Why a dask array with ``chunk``'s type of chunks (torch tensors, scipy.sparse
    matrices) is refused, and the remedy."""
    t = type(chunk)
    return (
        f"{what} got a dask array with {t.__module__}.{t.__name__} chunks; arrayport moves "
        "and maps over numpy or cupy chunks only (convert the chunks first, e.g. "
        "x.map_blocks(numpy.asarray))"
    )


def _checked_block(block: Any, declared: str) -> Any:
    """``block``, a computed chunk, if it is unmasked and of the ``declared`` dtype."""
    if isinstance(block, np.ma.MaskedArray):
        raise UnsupportedArrayError(_MASKED)
    if not numpy_or_cupy(block):
        raise UnsupportedArrayError(foreign_chunks("arrayport", block))
    name = np.dtype(block.dtype).name
    if name != declared:
        raise ConversionError(dtype_lie(declared, name), source=MemoryType.DASK)
    return block


def dtype_lie(declared: str, computed: str) -> str:
    return (
        f"the dask array declares dtype {declared} but computes to {computed}: the "
        f"conversion was checked and reported for {declared} and would not give it. "
        "Declare the dtype its tasks return where the array is built (dtype= or meta= in "
        "dask.array.from_delayed, map_blocks or blockwise), or cast the blocks in the "
        f"graph, e.g. x.map_blocks(lambda b: b.astype('{declared}'), dtype='{declared}'), "
        "if every value fits"
    )


def _check_computed(x: Any, out: np.ndarray) -> None:
    """Refuse a computed array whose dtype or shape is not the one ``x`` declares.

    The route (and the target's dtype and shape refusals) was decided from the declared
    ones, so a mismatch would hand the target a dtype it was never checked for
    (pyclesperanto stores int64 as int32, jax without x64 narrows) or return one the
    route never reported. Extents dask does not know (NaN chunks) are not compared:
    :mod:`arrayport._routes` checks the target's refusals again on the computed array.
    """
    declared = np.dtype(x.dtype)
    # By name: a byte order other than the declared one holds the same values.
    if out.dtype.name != declared.name:
        raise ConversionError(dtype_lie(declared.name, out.dtype.name), source=MemoryType.DASK)
    shape = _known_shape(x)
    if len(shape) != out.ndim or any(
        d not in (-1, n) for d, n in zip(shape, out.shape, strict=True)
    ):
        msg = (
            f"the dask array declares shape {tuple(x.shape)} but computes to shape "
            f"{out.shape}: the conversion was planned for the declared shape. Declare the "
            "shape its tasks return where the array is built (shape= in "
            "dask.array.from_delayed, chunks= in map_blocks)"
        )
        raise ConversionError(msg, source=MemoryType.DASK)
