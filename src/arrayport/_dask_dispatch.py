"""Running a dispatched function on dask arrays: lazily, block by block, where the blocks are.

:mod:`arrayport.dispatch` hands a call to :func:`run_on_dask` when an argument is a dask
array. The call returns a lazy dask array at once; nothing runs until it is computed. Then,
on whichever worker holds a block (a ``dask.distributed`` worker, or a thread of dask's
local scheduler), the *dispatched callable itself* is called on the numpy (or cupy) block:
it converts the block to the declared memory type and device, runs the function under its
OOM policy, applies the dtype policy, and hands back a numpy (or cupy) block.

The function's contract says how blocks are formed (input split into several blocks is
refused unless it says, ADR 0071):

* ``blockwise=True``: ``dask.array.map_blocks`` on the existing chunks;
* ``depth=``: each block carries a halo of that many elements from its neighbours
  (``dask.array.overlap`` with ``boundary="none"``, so the array's outer edges are the
  function's own business, exactly as on the whole array), trimmed afterwards;
* ``whole_array=True``: the array is rechunked to one chunk (a
  :class:`WholeArrayWarning` says so when that chunk is large);
* ``slice_by_slice=True``: blocks are rechunked to hold whole 2-D slices (a 3-D stack stays
  split along axis 0; a 2-D array becomes one block), since the function needs each slice
  entire.

Arguments that are arrays but not dask arrays are converted to numpy (a snapshot, copied at
call time) and passed whole to every block; a dask array argument is split alongside the
first. An argument whose shape lines up with a split axis of the dask input is refused as
ambiguous. See ``docs/decisions/0026-dask-dispatch.md``.

The output dtype is known without running the function when the contract fixes it
(``PRESERVE_INPUT`` or a fixed dtype); with ``NATIVE_OUTPUT`` the function runs once in
the calling process on a tiny sample block of ones (two elements per split axis where
the blocks have two, else one; one plus the halo on each side with a halo).
"""

from __future__ import annotations

import math
import sys
import uuid
import warnings
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from arrayport._argument_context import describe
from arrayport._arguments import is_container, rebuild
from arrayport._dask_checks import (
    check_block_rule,
    check_dtypes,
    check_inputs,
    check_scaling,
    check_whole_args,
    declared_depth,
    refuse,
    unknown,
    whole_slices,
)
from arrayport._dask_sample import sampled_dtype
from arrayport._dask_worker import (
    Call,
    Referenced,
    Slot,
    run_block,
    traced_policy,
    writes_through,
)
from arrayport._exchange import holds_numbers
from arrayport._host import aligned_copy
from arrayport._placement import resolve_device
from arrayport.backends import detect_memory_type, get_backend
from arrayport.backends.dask import _meta
from arrayport.convert import convert
from arrayport.dtypes import DtypeConversion
from arrayport.errors import UnsupportedArrayError, WholeArrayWarning
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["run_on_dask"]


# --- the call's structure -------------------------------------------------------------


class _Collector:
    """Replaces array arguments by slots, in dispatch's order (positional, then keyword)."""

    def __init__(self, array_type: type) -> None:
        self.array_type = array_type
        self.dask: list[Any] = []
        self.whole: list[Any] = []
        self.places: list[tuple[int | str, bool]] = []  # each whole one's argument, if inner
        self.dask_places: list[tuple[int | str, bool]] = []  # ... and each dask one's
        self.first: Any = None  # the call's first array argument, dask or not
        self.first_on_top = False  # ... and whether it is an argument itself (not in a list)

    def template(self, value: Any, place: int | str, *, top: bool = True) -> Any:
        if isinstance(value, self.array_type):
            self.dask.append(value)
            self.dask_places.append((place, not top))
            if self.first is None:
                self.first, self.first_on_top = value, top
            return Slot("block", len(self.dask) - 1)
        if top and is_container(value):  # arrays one level down, as dispatch looks
            return rebuild(value, [self.template(v, place, top=False) for v in value])
        try:
            detect_memory_type(value)
        except UnsupportedArrayError:
            return value  # not an array: passed through as it is
        self.whole.append(value)
        self.places.append((place, not top))
        if self.first is None:
            self.first, self.first_on_top = value, top
        return Slot("whole", len(self.whole) - 1)


def _slot_of(col: _Collector, reference: Any) -> Slot | None:
    """Where ``reference`` (the caller's first array, after an array default) is among
    the collected arguments; None without one, or where it is the first anyway."""
    if reference is None or reference is col.first:
        return None
    for source, found in (("block", col.dask), ("whole", col.whole)):
        for i, value in enumerate(found):
            if value is reference:
                return Slot(source, i)  # type: ignore[arg-type]
    return None


def _snapshot(w: Any) -> np.ndarray:
    """A private copy of a non-dask argument: a numpy one as it is (a string or object
    array too, as the call without dask passes it), 64-byte aligned where it holds numbers
    in native order (jax and tensorflow then share it); others' arrays converted."""
    if type(w) is not np.ndarray:
        return cast(np.ndarray, convert(w, MemoryType.NUMPY, copy=True))
    if w.dtype.isnative and holds_numbers(w.dtype):
        return aligned_copy(w)
    return np.array(w, copy=True)


def _output_dtype(
    dispatched: Any,
    name: str,
    targs: tuple[Any, ...],
    tkwargs: dict[str, Any],
    col: _Collector,
    whole: list[np.ndarray],
    depth: dict[int, int] | None,
    blocks: list[Any],
) -> np.dtype[Any]:
    """The dtype of the dask result: the contract's, or (NATIVE_OUTPUT) what the function
    returns on a sample cut from ``blocks``, the dask arguments as their blocks will be
    (rechunked whole for ``whole_array`` or ``slice_by_slice``: _dask_sample)."""
    conversion = dispatched.contract.dtype_conversion
    if conversion is DtypeConversion.PRESERVE_INPUT:
        # In native byte order: the policy compares dtypes by name and never byte-swaps,
        # so a big-endian input's blocks come back native (as a whole numpy run does).
        if any(col.first is x for x in col.dask):
            first: np.dtype[Any] = np.dtype(col.first.dtype).newbyteorder("=")
            return first
        native: np.dtype[Any] = _first_whole_dtype(col, whole).newbyteorder("=")
        return native
    if conversion is not DtypeConversion.NATIVE_OUTPUT:
        return np.dtype(str(conversion.value))
    return sampled_dtype(dispatched, name, targs, tkwargs, whole, depth, blocks)


def _first_whole_dtype(col: _Collector, whole: list[np.ndarray]) -> np.dtype[Any]:
    for original, converted in zip(col.whole, whole, strict=True):
        if original is col.first:
            return np.dtype(converted.dtype)
    raise AssertionError("the first array argument is either dask or whole")  # pragma: no cover


def _user_stacklevel() -> int:
    """The warnings stacklevel of the first frame outside arrayport."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("arrayport"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _whole_warning(name: str, dask_args: list[Any]) -> None:
    import dask
    from dask.utils import format_bytes, parse_bytes

    limit = parse_bytes(dask.config.get("array.chunk-size"))
    nbytes = sum(int(x.nbytes) for x in dask_args)
    if nbytes > limit:
        msg = (
            f"{name} declares whole_array=True: its dask input ({format_bytes(nbytes)}) is "
            f"gathered into one chunk, larger than dask's array.chunk-size "
            f"({format_bytes(limit)}), and must fit in one worker's memory. Declare "
            "depth= instead if the function only needs a halo"
        )
        warnings.warn(msg, WholeArrayWarning, stacklevel=_user_stacklevel())


def _slices_warning(name: str, x: Any, sliced: bool) -> None:
    """Warn when a block of whole slices (or the whole array, where the call is not
    sliced) is larger than dask's array.chunk-size."""
    import dask
    from dask.utils import format_bytes, parse_bytes

    limit = parse_bytes(dask.config.get("array.chunk-size"))
    sizes = [max(c) for c in x.chunks]
    if any(isinstance(s, float) and math.isnan(s) for s in sizes):
        return
    nbytes = math.prod(int(s) for s in sizes) * x.dtype.itemsize
    if nbytes > limit:
        held = (
            "runs slice by slice, so each dask block holds whole slices: blocks of"
            if sliced
            else "runs once on its whole input (slice_by_slice slices a 3-D first argument "
            "only), so its dask input is gathered into one block of"
        )
        msg = (
            f"{name} {held} {format_bytes(nbytes)}, larger than dask's array.chunk-size "
            f"({format_bytes(limit)}), which must fit in one worker's memory"
        )
        warnings.warn(msg, WholeArrayWarning, stacklevel=_user_stacklevel())


# --- the entry point ------------------------------------------------------------------


def run_on_dask(
    dispatched: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    reference: Any = None,
    given: tuple[tuple[Any, ...], dict[str, Any]] | None = None,
) -> Any:
    """Map a dispatched function lazily over the blocks of its dask array arguments.

    Parameters
    ----------
    dispatched : DispatchedFunction
        The decorated callable: called on numpy (or cupy) blocks it converts, runs and
        applies the dtype and OOM policies. Its ``contract`` chooses blockwise,
        ``depth`` (halo) or ``whole_array``.
    args, kwargs
        The call's arguments, array defaults filled in; at least one is a dask array.
    reference
        The first array the caller gave, where the first array argument is a parameter's
        array default (ADR 0069): the reference of the dtype policy. None: the first.
    given
        The arguments as the caller gave them, without array defaults (None: ``args``
        and ``kwargs``), for messages to say which argument was a default.

    Returns
    -------
    dask.array.Array
        Lazy, of the first dask argument's shape, chunks and chunk type (``slice_by_slice``:
        rechunked so that each block holds whole slices; ``depth`` wider than a block:
        rechunked by dask; ``whole_array``: one chunk). With ``output``
        set to a memory type other than dask, the result is computed and converted.

    Raises
    ------
    InvalidOptionError
        The contract cannot be honoured block by block (MINMAX scaling, a depth of the
        wrong length, ``NATIVE_OUTPUT`` with an OOM fallback returning another dtype) or
        an argument is ambiguous; the message names the remedy.
    UnsupportedArrayError
        The dask array's chunks are neither numpy nor cupy arrays.
    ArrayportError
        ``NATIVE_OUTPUT`` and the function fails on a sample block.
    """
    contract = dispatched.contract
    name = getattr(dispatched, "__qualname__", type(dispatched).__name__)
    if contract.memory_type is MemoryType.DASK:
        return dispatched(*args, **kwargs)  # written for dask arrays: nothing to map
    backend = get_backend(MemoryType.DASK)
    da = backend.load()
    col = _Collector(da.Array)
    targs = tuple(col.template(a, i) for i, a in enumerate(args))
    tkwargs = {k: col.template(v, k) for k, v in kwargs.items()}
    slot = _slot_of(col, reference)
    if slot is not None:
        col.first = reference
        col.first_on_top = any(a is reference for a in (*args, *kwargs.values()))
    asked = (args, kwargs)

    def said(places: list[tuple[int | str, bool]]) -> Callable[[int], str]:
        """Which argument the i-th of ``places`` is: asked only for a refusal."""
        return lambda i: describe(dispatched, name, *places[i], asked, given or asked)

    check_inputs(name, col.dask, said(col.dask_places))
    check_dtypes(name, contract.memory_type, col.dask)
    check_scaling(name, contract)
    first = col.dask[0]
    check_block_rule(name, contract, first)
    depth = None if contract.whole_array else declared_depth(contract.depth, first.ndim, name)
    if (depth or contract.whole_array) and any(unknown(x) for x in col.dask):
        refuse(
            f"{name} needs neighbouring blocks (depth= or whole_array=True) but its dask "
            "input has chunks of unknown size; call x.compute_chunk_sizes() first"
        )
    if depth and 0 in first.shape:
        depth = None  # an empty array has no neighbours to borrow from
    if depth:
        # A neighbourhood wider than the array borrows all of it (dask refuses the depth).
        depth = {a: min(d, int(first.shape[a])) for a, d in depth.items()}
    # A snapshot: the lazy result must not change if the caller later writes the array.
    whole = [_snapshot(w) for w in col.whole]
    if writes_through(contract.memory_type):
        # Every block (and a NATIVE_OUTPUT sample run) gets this one snapshot: a function
        # writing into it would hand each block the edits of the blocks before it.
        for w in whole:
            w.flags.writeable = False
    arrays = [x if x.chunks == first.chunks else x.rechunk(first.chunks) for x in col.dask]
    # The blocks the function will see, built lazily before anything runs: the checks of
    # the whole arguments read their real extents (dask rechunks where a halo is wider
    # than a chunk; slice_by_slice makes slices whole).
    if contract.slice_by_slice and not contract.whole_array:
        # Sliced as stack.run_slices slices: a 3-D first array argument given as itself;
        # any other call runs once, on the whole array (4-D, 2-D, a stack in a list).
        sliced = first.ndim == 3 and col.first is first and col.first_on_top
        arrays = whole_slices(name, arrays, sliced, whole)
        _slices_warning(name, arrays[0], sliced)
    split = arrays[0]
    sampled = arrays  # what a NATIVE_OUTPUT sample is cut from: the blocks, before halos
    if contract.whole_array:
        _whole_warning(name, arrays)
        arrays = sampled = [x.rechunk(-1) for x in arrays]
    elif depth:
        from dask.array.overlap import overlap

        arrays = [
            overlap(x, depth=depth, boundary="none")  # type: ignore[no-untyped-call]
            for x in arrays
        ]
    if not contract.whole_array:
        check_whole_args(name, first, whole, split, arrays[0], said(col.places))
    per_block = dispatched
    if isinstance(contract.device, str):
        # A bare "cuda"/"opencl": the calling thread's current accelerator, now; a block
        # would read it wherever and whenever it is computed (a worker: its device 0).
        per_block = per_block.options(device=resolve_device(contract.device))
    if contract.output not in ("input", "declared"):
        # Each block comes back to its own type (numpy) and the whole result moves to
        # `output` once (_place): moving every block there and back doubled the transfers.
        per_block = per_block.options(output="input")
    # The sample runs as the blocks do (each to its own type: output= would widen a bool
    # into pyclesperanto's uint8 and declare a dtype no block returns).
    dtype = _output_dtype(per_block, name, targs, tkwargs, col, whole, depth, sampled)
    traced = traced_policy(contract)
    if traced is not None:  # a block that fell back says so if its dtype is not `dtype`
        per_block = per_block.options(oom=traced)
    if slot is not None and contract.dtype_conversion is not DtypeConversion.NATIVE_OUTPUT:
        native = per_block.options(dtype_conversion="native_output", scaling="value")
        per_block = Referenced(per_block, native, slot)
    from dask.delayed import delayed

    token = uuid.uuid4().hex
    in_dtypes = tuple(np.dtype(x.dtype).name for x in arrays)
    call = Call(
        token, len(arrays), dtype, name, objects=(per_block, targs, tkwargs), in_dtypes=in_dtypes
    )
    held = [delayed(w, name=f"arrayport-arg-{i}-{token}") for i, w in enumerate(whole)]
    out = da.map_blocks(
        run_block,
        *arrays,
        *held,
        dtype=dtype,
        meta=_meta(first._meta, dtype, first.ndim),
        name=f"arrayport-{getattr(dispatched, '__name__', 'call')}-{token}",
        call=call,
    )
    if depth:
        from dask.array.overlap import trim_internal

        none = dict.fromkeys(depth, "none")
        out = trim_internal(out, depth, boundary=none)  # type: ignore[no-untyped-call]
    return _place(out, contract)


def _place(out: Any, contract: Any) -> Any:
    """The lazy result, unless ``output`` names a memory type other than dask."""
    output = contract.output
    if output in ("input", "declared"):
        # "declared" cannot leave blocks in the declared framework (dask holds numpy or
        # cupy chunks); the function did run there, block by block.
        return out
    target = as_memory_type(output)
    return out if target is MemoryType.DASK else convert(out, target)
