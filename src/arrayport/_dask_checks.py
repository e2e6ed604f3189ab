"""The checks :func:`arrayport._dask_dispatch.run_on_dask` makes at call time, before any
block runs: what the dask input and the other arguments must be for the function to run
block by block exactly as it would on the whole array, and the rechunking that
``slice_by_slice`` needs (whole slices in every block).

Importing this module imports no framework: it reads the dask arrays it is handed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arrayport._exchange import holds_numbers
from arrayport.backends._dask_compute import numpy_or_cupy
from arrayport.dtypes import DtypeConversion, Scaling
from arrayport.errors import (
    ArrayportError,
    BlockRuleError,
    InvalidOptionError,
    UnsupportedArrayError,
    UnsupportedDtypeError,
)
from arrayport.memory_types import MemoryType

__all__ = [
    "check_block_rule",
    "check_inputs",
    "check_scaling",
    "check_whole_args",
    "declared_depth",
    "refuse",
    "unknown",
    "whole_slices",
]


def refuse(message: str) -> None:
    raise InvalidOptionError(message)


def unknown(x: Any) -> bool:
    return any(isinstance(s, float) and math.isnan(s) for s in x.shape)


def check_inputs(name: str, dask_args: list[Any], said: Callable[[int], str] | None = None) -> None:
    """Refuse a dask argument whose chunks are masked or neither numpy's nor cupy's (every
    one, before anything reads their dtypes: a torch chunk's dtype is not numpy's), or one
    that does not line up with the first. ``said(i)`` says which argument the ``i``-th dask
    argument is (``argument 'y' of f``), asked only for a refusal."""
    for i, x in enumerate(dask_args):
        meta = getattr(x, "_meta", None)
        if not numpy_or_cupy(meta):  # masked chunks too
            which = f"{name}: dask argument #{i + 1}" if said is None else said(i)
            raise UnsupportedArrayError(_chunks_refused(which, meta))
    first = dask_args[0]
    for other in dask_args[1:]:
        same = other.chunks == first.chunks if unknown(first) else other.shape == first.shape
        if not same and (unknown(first) or unknown(other)):
            refuse(
                f"{name} got dask arrays whose chunks of unknown size (after boolean "
                "indexing) differ, so whether they line up cannot be told; call "
                "x.compute_chunk_sizes() on each first"
            )
        if not same:
            refuse(
                f"{name} got dask arrays of shapes {first.shape} and {other.shape}: dask "
                "arguments are split block by block and must have the same shape; pass a "
                "smaller operand as a numpy array to give it whole to every block, or "
                "broadcast it (dask.array.broadcast_to(arg, x.shape).rechunk(x.chunks)) "
                "to give each block its matching part"
            )


def _chunks_refused(which: str, meta: Any) -> str:
    if isinstance(meta, np.ma.MaskedArray):
        return (
            f"{which} is a dask array with masked chunks: the mask would be lost. Pass "
            "dask.array.ma.filled(x, fill_value) for the values, or dask.array.ma.getdata(x) "
            "and dask.array.ma.getmaskarray(x) separately"
        )
    t = type(meta)
    return (
        f"{which} is a dask array with {t.__module__}.{t.__name__} chunks; arrayport moves "
        "and maps over numpy or cupy chunks only (convert the chunks first, e.g. "
        "x.map_blocks(numpy.asarray))"
    )


def check_dtypes(name: str, memory_type: Any, dask_args: list[Any]) -> None:
    """Refuse at the call a dask argument whose blocks the declared memory type cannot hold
    (complex into pyclesperanto, uint64 into jax without 64-bit mode): without this the
    lazy call succeeds and ``compute()`` fails. Blocks of dtypes that hold no numbers
    (datetime64, object, str, structured) leave numpy for no framework, whatever is
    imported. Any other dtype is asked of this process's framework, and only where it is
    already imported here: a lazy call does not import a framework the client never uses
    (seconds for tensorflow), and the workers may have it when the client does not. A
    refusal of anything but the dtype is left to the workers. Every argument's dtype is
    checked."""
    from arrayport._oom_recognition import loaded
    from arrayport.convert import plan

    dtypes = dict.fromkeys(np.dtype(x.dtype) for x in dask_args)
    if memory_type not in (MemoryType.NUMPY, MemoryType.DASK):
        for dtype in dtypes:
            if not holds_numbers(dtype):
                raise UnsupportedArrayError(
                    f"{name} runs in {memory_type.value}, and its dask argument's {dtype} "
                    "blocks cannot move there: they hold no numbers arrayport can move "
                    "between frameworks; convert to a numeric or bool dtype first "
                    "(x.astype(...), for datetimes x.astype('int64'))"
                )
    if not loaded(memory_type):
        return
    for dtype in dtypes:
        try:
            plan(np.zeros((1,), dtype), memory_type)
        except UnsupportedDtypeError as exc:
            msg = (
                f"{name} runs in {memory_type.value}, and its dask argument's {dtype} "
                f"blocks cannot move there: {exc}"
            )
            raise UnsupportedDtypeError(
                msg, dtype=exc.dtype, source=MemoryType.DASK, target=exc.target, method=exc.method
            ) from None
        except ArrayportError:
            continue  # not about the dtype: the workers' frameworks decide


def declared_depth(depth: Any, ndim: int, name: str) -> dict[int, int] | None:
    if depth is None:
        return None
    per_axis = (depth,) * ndim if isinstance(depth, int) else tuple(depth)
    if len(per_axis) != ndim:
        refuse(
            f"{name} declares depth={depth!r} (one halo per axis) but got a {ndim}-d dask "
            f"array; give {ndim} values or one int for every axis"
        )
    found = dict(enumerate(per_axis))
    return found if any(found.values()) else None


def check_block_rule(name: str, contract: Any, first: Any) -> None:
    """Refuse dask input split into several blocks for a function whose contract does not
    say how its blocks relate (ADR 0071): mapped block by block, a function that looks
    across the array (``x - x.mean()``, ``x / x.sum()``) gives each block its own answer,
    and the joined result is wrong with no error. One block is the whole array."""
    if contract.block_rule or math.prod(first.numblocks) <= 1:
        return
    blocks = " x ".join(str(n) for n in first.numblocks)
    sizes = (
        " (its chunk sizes are unknown, after boolean indexing: depth= and whole_array=True "
        "need x.compute_chunk_sizes() first)"
        if unknown(first)
        else ""
    )
    raise BlockRuleError(
        f"{name} got a dask array split into {blocks} blocks, and its contract does not say "
        "how they relate: run block by block, a function that looks across the array "
        "(x - x.mean(), a blur) gives each block its own answer. Declare one of: "
        "blockwise=True (element by element: each block on its own), depth=N (a halo of N "
        "from the neighbouring blocks: filters), whole_array=True (one block: normalisations, "
        "anything that reads the whole array; a reduction needs x.compute() first), "
        "slice_by_slice=True (whole 2-D slices of a 3-D stack); for a "
        f"function you did not write, call f.options(blockwise=True)(x) and so on{sizes}"
    )


def check_scaling(name: str, contract: Any) -> None:
    if (
        contract.scaling is Scaling.MINMAX
        and contract.dtype_conversion is not DtypeConversion.NATIVE_OUTPUT
        and not contract.whole_array
    ):
        refuse(
            f"{name} scales its output by Scaling.MINMAX, which stretches the whole "
            "array's min..max: applied block by block it would give every block its own "
            "scale. On dask input use whole_array=True, Scaling.VALUE or Scaling.UNIT, or "
            "dtype_conversion=NATIVE_OUTPUT and scale the result afterwards"
        )


def check_whole_args(
    name: str,
    first: Any,
    whole: list[np.ndarray],
    split: Any,
    blocks: Any,
    said: Callable[[int], str] | None = None,
) -> None:
    """Refuse a whole (non-dask) argument that the blocks would decide about.

    ``first`` is the dask input as given, ``split`` the same array as it is split (after
    ``slice_by_slice`` made its slices whole) and ``blocks`` the arrays the function will
    get (with their halos). Without dask the function would see ``first`` whole, so an
    argument must broadcast against ``first``, or against no block either (a kernel or a
    weight matrix, the function's own business): one that broadcasts against a block but
    not against the whole array would run where numpy raises. Blocks form a grid, so an
    argument broadcasts against some block when each of its trailing axes fits one of that
    axis's real block extents. An argument meeting an axis of unknown size (after boolean
    indexing) cannot be checked; one as long as a split axis is ambiguous. ``said(i)``
    says which argument the ``i``-th is (``argument 'k' of f``; else by its number among
    them), asked only for a refusal (naming by the signature costs about 30 us).
    """

    def which(i: int, w: np.ndarray) -> str:
        if said is None:
            return f"{name}: non-dask array argument #{i + 1} (shape {w.shape})"
        return f"{said(i)}, a non-dask array of shape {w.shape},"

    for i, w in enumerate(whole):
        fits_whole = fits_a_block = True
        clash: list[str] = []  # the axes where it is a block's extent but not the array's
        for k in range(1, min(w.ndim, first.ndim) + 1):
            axis, extent, size = first.ndim - k, first.shape[first.ndim - k], w.shape[-k]
            if size == 1:
                continue
            if isinstance(extent, float) and math.isnan(extent):
                refuse(
                    f"{which(i, w)} meets an "
                    f"axis of the dask input (shape {first.shape}) whose size dask does not "
                    "know yet (after boolean indexing), so whether it broadcasts cannot be "
                    "checked: call x.compute_chunk_sizes() first"
                )
            fits_whole = fits_whole and extent in (1, size)
            extents = set(blocks.chunks[axis])
            fits_a_block = fits_a_block and (1 in extents or size in extents)
            if extent not in (1, size):
                clash.append(_clash(axis, size, split.chunks[axis], blocks.chunks[axis]))
        if fits_a_block and not fits_whole:
            refuse(
                f"{which(i, w)} does not "
                f"broadcast against the dask input (shape {first.shape}), as the function "
                "would see them without dask, but it does against a block: a block's shape "
                f"must not decide whether it fits ({'; '.join(clash)}). A kernel or lookup "
                "table whose size only happens to equal a block's: rechunk the dask input "
                "so that no block, halo included, has that extent, or declare "
                "whole_array=True; otherwise pass an argument shaped for the whole array"
            )
        for k in range(1, min(w.ndim, first.ndim) + 1):
            axis = first.ndim - k
            extent = first.shape[axis]
            if w.shape[-k] > 1 and w.shape[-k] == extent and len(split.chunks[axis]) > 1:
                refuse(
                    f"{which(i, w)} has the "
                    f"extent of the dask input (shape {first.shape}) along axis {axis}, "
                    "which is split into blocks. It is ambiguous whether every block should "
                    "get it whole or only its matching part. For its matching part, pass it "
                    "as a dask array with the input's shape and chunks (dask.array."
                    "broadcast_to(arg, x.shape).rechunk(x.chunks)); for all of it, make that "
                    f"axis one chunk (x.rechunk({{{axis}: -1}}))"
                )


def _clash(axis: int, size: int, chunks: tuple[int, ...], got: tuple[int, ...]) -> str:
    """Which blocks along ``axis`` are ``size`` long (``got``: the blocks the function
    gets, ``chunks``: the input's as split, before any halo), for a refusal."""
    if size in got:
        how = f"a block is {size} long along axis {axis}"
    else:
        how = f"blocks are 1 long along axis {axis}"
    if got == chunks:
        return f"{how} (chunks {chunks})"
    return f"{how}, halo included (chunks {chunks}, with their halos {got})"


def whole_slices(
    name: str, arrays: list[Any], sliced: bool, whole: Sequence[np.ndarray] = ()
) -> list[Any]:
    """``arrays`` rechunked for a function declared ``slice_by_slice``: it needs each slice
    entire (a block cut across a slice would give it a piece and join wrong values). Where
    the call is ``sliced`` (a 3-D stack, as :func:`arrayport.stack.run_slices` slices),
    blocks keep the caller's chunks along axis 0 (never merged: a caller may have chosen
    them for memory), except that a chunk whose whole slices would hold more than dask's
    ``array.chunk-size`` is split along axis 0; otherwise the call runs once on the whole
    array, as without dask, and gets it in one block.

    A ``whole`` (non-dask) argument as long as the stack needs every block to hold all its
    slices (:func:`check_whole_args` refuses a split there), so a stack the caller holds in
    one block along axis 0 stays so: splitting it would refuse the caller's own remedy."""
    first = arrays[0]
    axes = range(1, first.ndim) if sliced else range(first.ndim)
    if all(len(first.chunks[axis]) == 1 for axis in axes):
        return arrays
    if any(_unknown_axis(first.chunks[axis]) for axis in axes):
        refuse(
            f"{name} runs slice by slice and needs whole slices, but its dask input has "
            "slices of unknown size (after boolean indexing); call x.compute_chunk_sizes() "
            "first"
        )
    chunks: dict[int, Any] = dict.fromkeys(axes, -1)
    if sliced and not _unknown_axis(first.chunks[0]) and not _held_whole(first, whole):
        chunks[0] = _split_to_fit(first)
    head = first.rechunk(chunks)
    # The others (of the first's chunks) get the first's blocks: they may hold another
    # dtype (a bool mask beside float32 data), and blocks that did not line up would be
    # broadcast by dask.
    return [head, *(x.rechunk(head.chunks) for x in arrays[1:])]


def _split_to_fit(first: Any) -> tuple[int, ...]:
    """``first``'s chunks along axis 0, each split into near-equal parts of at most as many
    whole slices as dask's ``array.chunk-size`` holds (one at least)."""
    import dask
    from dask.utils import parse_bytes

    limit = parse_bytes(dask.config.get("array.chunk-size"))
    per_slice = math.prod(int(s) for s in first.shape[1:]) * first.dtype.itemsize
    fits = max(1, limit // per_slice) if per_slice else None
    out: list[int] = []
    for c in first.chunks[0]:
        parts = 1 if fits is None else max(1, -(-int(c) // fits))
        small, extra = divmod(int(c), parts)
        out += [small + 1] * extra + [small] * (parts - extra)
    return tuple(out)


def _held_whole(first: Any, whole: Sequence[np.ndarray]) -> bool:
    """Whether ``first`` is one block along axis 0 and some whole argument spans that axis."""
    return len(first.chunks[0]) == 1 and any(
        w.ndim >= first.ndim and w.shape[w.ndim - first.ndim] > 1 for w in whole
    )


def _unknown_axis(chunks: tuple[Any, ...]) -> bool:
    return any(isinstance(c, float) and math.isnan(c) for c in chunks)
