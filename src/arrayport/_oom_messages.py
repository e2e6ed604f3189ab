"""What :class:`~arrayport.OOMPolicy` says when it cannot recover: the
:class:`~arrayport.errors.OutOfMemoryError` it raises in the end (what was tried, and what to
try instead), why a call cannot be split, and the refusal of a split whose pieces' results
cannot be joined. The steps themselves are in :mod:`arrayport._oom_recovery`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from arrayport._oom_recognition import Site, format_bytes, requested_bytes
from arrayport.errors import OutOfMemoryError
from arrayport.memory_types import MemoryType

if TYPE_CHECKING:
    from arrayport._oom_recovery import Execution
    from arrayport._split import Cut

__all__ = [
    "dask_block",
    "gave_up",
    "lines_up",
    "more_dimensions",
    "name",
    "not_first",
    "not_row_by_row",
    "origin",
    "other_axes",
    "other_shape",
    "piece_note",
    "unjoinable",
    "unknown_length",
]


def name(fn: Callable[..., Any]) -> str:
    """``fn``'s name for a message."""
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def piece_note(
    fn: Callable[..., Any], rows: int, axis: int | None, whole: list[Any], cut: Cut | None = None
) -> str:
    """The note on ``fn``'s own error raised on a split piece of ``rows`` rows; ``whole``:
    the arrays passed whole to every piece (a per-row ``(n,)`` weight beside an ``(n, m)``
    image is one: it lines up with the last axis, so the cut leaves it), named by shape.
    ``cut``: the split's, naming the arrays cut by the shapes the call gave them."""
    shapes = cut.shapes if cut is not None else ()
    listed = ", ".join(str(s) for s in shapes)
    cutting = f", cutting the array{'s' if len(shapes) > 1 else ''} of shape {listed}"
    note = (
        f"arrayport: raised on a piece of {rows} row{'s' if rows != 1 else ''} along axis "
        f"{axis}: OOMPolicy(split_axis={axis}) split the call of {name(fn)} after it ran "
        f"out of memory{cutting if shapes else ''}"
    )
    said = cut.origin if cut is not None else ""
    if said:
        note += f" ({said})"
    if not whole:
        return note
    kept = ", ".join(str(tuple(getattr(v, "shape", ()))) for v in whole)
    return (
        f"{note}; passed whole to every piece: the array{'s' if len(whole) > 1 else ''} of "
        f"shape {kept} (an array read row by row is cut only where it has as many "
        f"dimensions as the one split and broadcasts along axis {axis}: give a per-row "
        "weight the shape (n, 1))"
    )


def lines_up(
    i: int, other: tuple[Any, ...], head: int, shape: tuple[Any, ...], axis: int, n: int
) -> str:
    """Why a call is not split: array argument ``i`` (from 0), of shape ``other``, has
    fewer dimensions than argument ``head``, of ``shape``, which sets the split, and the
    same length ``n`` where broadcasting puts the split axis: a ``(256,)`` lookup table
    beside a ``(k, 256)`` image split along its last axis (ADR 0067's amendment)."""
    padded = (1,) * (len(shape) - len(other)) + other
    return (
        f"could not split: array argument {i + 1}, of shape {other}, has fewer dimensions "
        f"than array argument {head + 1}, of shape {shape}, which sets the split, and "
        f"broadcasting lines its {n} up with the split axis (axis {axis}): it may hold a "
        "value per position along that axis (to be cut) or be a table the function indexes "
        "(to be passed whole), and a wrong guess gives wrong values. Give it the shape "
        f"{padded} if it runs along the axis; a table is passed whole only with another "
        f"length than {n}, or with another split_axis"
    )


def not_first(
    i: int, other: tuple[Any, ...], head: int, shape: tuple[Any, ...], axis: int, sliced: bool
) -> str:
    """Why a call is not split: array argument ``i`` (from 0), of shape ``other``, has the
    split axis but no more than 1 along it, before argument ``head``, of ``shape``, the
    first longer than 1 there, which a ``slice_by_slice`` call's stack must be, and
    another call's such array must broadcast to."""
    if sliced:
        return (
            f"could not split: the stack of this slice_by_slice call, array argument {i + 1}, "
            f"of shape {other}, has {other[0]} slice{'s' if other[0] != 1 else ''}"
        )
    return (
        f"could not split: array argument {i + 1}, of shape {other}, has no more than 1 "
        f"along axis {axis} and does not broadcast to the shape {shape} of array argument "
        f"{head + 1}, the first longer than 1 there: arrayport cannot tell which array the "
        "function maps along the axis"
    )


def other_shape(i: int, other: tuple[Any, ...], head: int, shape: tuple[Any, ...], n: int) -> str:
    """Why a call is not split: array argument ``i`` (from 0) has ``n`` along the split
    axis like argument ``head``, which sets the split, but does not broadcast to its
    ``shape`` (a ``(256, 3)`` colour table beside a ``(256, 256)`` image: ADR 0067)."""
    msg = (
        f"could not split: array argument {i + 1} has shape {other}, with {n} along the "
        f"split axis like array argument {head + 1}'s {shape}, which sets the split, but "
        "another shape: arrayport cannot tell whether it runs along that axis (halved) or "
        "not (a table, passed whole), and guessing wrong gives wrong values"
    )
    if len(other) == len(shape) and all(f in (1, o) for o, f in zip(other, shape, strict=True)):
        msg += f"; pass array argument {i + 1} first if the function maps it along the axis"
    return msg


def more_dimensions(
    i: int, other: tuple[Any, ...], head: int, shape: tuple[Any, ...], axis: int
) -> str:
    """Why a call is not split: array argument ``i`` (from 0) has more dimensions than
    argument ``head``, which sets the split (a ``(3,)`` weight before a ``(6, 4, 3)``
    image), and lines up with it where broadcasting puts the axis: the array meant to be
    cut is likely ``i``, passed after ``head``."""
    return (
        f"could not split: array argument {head + 1}, of shape {shape}, sets the split "
        f"(the first array argument longer than 1 along axis {axis}), and array argument "
        f"{i + 1}, of shape {other}, has more dimensions; pass first the array the function "
        f"maps along axis {axis}"
    )


def unknown_length(i: int, shape: tuple[Any, ...], axis: int, sets: bool) -> str:
    """Why a call is not split: array argument ``i`` (from 0; ``sets``: the one that sets
    the split) has an unknown length along the split axis."""
    which = ", which sets the split," if sets else ""
    return (
        f"could not split: array argument {i + 1}, of shape {shape}{which} has an unknown "
        f"length along axis {axis} (a dask array after boolean indexing: call "
        "x.compute_chunk_sizes() first)"
    )


def origin(head: int, shape: tuple[Any, ...], axis: int, whole: list[tuple[int, Any]]) -> str:
    """What a split's messages add when arrays passed whole (``whole``: their positions,
    from 0, and shapes) have the split axis and more dimensions than the array that set
    its length (``head``, of ``shape``): one of them may be the array meant to be cut (a
    kernel passed before the image)."""
    listed = " and ".join(f"array argument {j + 1}, of shape {s}," for j, s in whole)
    return (
        f"the length along axis {axis} came from array argument {head + 1}, of shape "
        f"{shape}, the first array argument longer than 1 there, and {listed} "
        f"{'were' if len(whole) > 1 else 'was'} passed whole: pass first the array the "
        "function maps along the axis"
    )


def not_row_by_row(length: int, axis: int, shape: str, got: int | None) -> str:
    """Why a piece's result is not joined: an array in it, of ``shape`` (and where in the
    result), has ``got`` (None: unknown) along the split axis, not the piece's ``length``."""
    had = "an unknown length" if got is None else f"{got}"
    return (
        f"a piece of {length} row{'s' if length != 1 else ''} along axis {axis} returned an "
        f"array of shape {shape}, which has {had} along that axis, not {length}: a result "
        "that does not run along the split axis row for row (a reduction over it, rows "
        "dropped or added) cannot be joined"
    )


def other_axes(shapes: list[tuple[Any, ...]], unknown: bool) -> str:
    """Why the pieces' results are not joined: arrays of ``shapes`` that differ on axes
    other than the split axis, or (``unknown``) whose lengths there are unknown."""
    listed = " and ".join(str(s) for s in shapes)
    if unknown:
        why = "whose lengths on the other axes are unknown (a dask array after boolean indexing)"
    else:
        why = "which differ on axes other than the split axis"
    return (
        f"the pieces returned arrays of shapes {listed}, {why}: a result whose other axes "
        "depend on the piece (a product of the rows with each other, pairwise distances) "
        "has no row-by-row join"
    )


def unjoinable(why: object, axis: int, fn: Callable[..., Any]) -> str:
    """Why the split pieces' results of ``fn`` cannot be joined (``why``), and what to do."""
    return (
        f"OOMPolicy(split_axis={axis}) split the call of {name(fn)} after running out of "
        f"memory, but cannot join the pieces' results: {why}. Split needs a function that "
        f"maps axis {axis} row by row and returns arrays (or a tuple/list of arrays) with one "
        "row along that axis per input row; declare split_axis on an axis the function maps "
        "row by row, or use split_axis=None for this function"
    )


def dask_block(name: str, contract: Any, block_id: Any, shape: tuple[int, ...]) -> str:
    """The note on a dask block's final OutOfMemoryError: which block ran out of memory (a
    dask error names the task's key at best), and the remedy that fits dask, smaller blocks
    (``contract``: the function's; ``block_id``: dask's index of the block, if known)."""
    at = "" if block_id is None else f" at index {tuple(block_id)}"
    if contract.whole_array:
        remedy = (
            "with whole_array=True that block is the whole array: declare depth= instead if "
            "the function only needs a halo, or give the workers more memory"
        )
    elif contract.slice_by_slice and len(shape) == 3 and shape[0] > 1:
        # Followed as it is: slice_by_slice keeps the input's chunks along axis 0.
        remedy = (
            "a block holds whole slices: fewer slices per block need less memory "
            "(x.rechunk({0: 1}) on the dask input)"
        )
    elif contract.slice_by_slice and len(shape) == 3:
        remedy = (
            "that block holds one whole slice, the least slice_by_slice runs on: give the "
            "workers more memory"
        )
    elif contract.slice_by_slice:
        remedy = (
            "slice_by_slice slices a 3-D stack only, so that block is the whole array: "
            "give the workers more memory, or pass the slices as a 3-D stack"
        )
    else:
        remedy = "smaller blocks need less memory: rechunk the dask input (x.rechunk(...))"
    return (
        f"arrayport: {name} ran out of memory on the dask block{at} (shape {tuple(shape)}) "
        f"of the blocks it was mapped over; {remedy}"
    )


def gave_up(execution: Execution, site: Site, last: BaseException | None) -> OutOfMemoryError:
    """The error ``execution`` raises when nothing recovered (``last``: its last
    out-of-memory error): what ran out of memory and where, each step taken, and the
    remedies that were not already tried."""
    ex, policy = execution, execution.policy
    mt = ex.last_type or site.memory_type
    device = ex.last_device if last is not None else site.device
    requested = None if last is None else requested_bytes(last)
    if isinstance(last, OutOfMemoryError) and last.requested_bytes is not None:
        requested = last.requested_bytes
    where = "" if device is None else f" on {device}"
    size = "" if requested is None else f" (it asked for {format_bytes(requested)})"
    steps = [f"{ex.attempts} attempt{'s' if ex.attempts != 1 else ''}"]
    fixed = getattr(last, "fixed_limit", False)  # no release lifts it: none was made
    if policy.release and ex.attempts > 1 and not fixed:
        steps.append("releasing cached memory between them")
    if ex.split_used:
        steps.append(f"splitting along axis {policy.split_axis}")
    steps += ex.notes
    # A slice_by_slice call that is not sliced keeps no split (_slicing.Unsplit): why.
    dropped = getattr(policy, "dropped", "")
    if dropped:
        steps.append(f"no split ({dropped})")
    remedies = []
    if policy.split_axis is None and not dropped:
        remedies.append("OOMPolicy(split_axis=...) if the function works slice by slice")
    elif ex.unchecked and policy.min_split > 1:
        # Equal pieces cannot be checked (ADR 0062's amendment); with min_split=1 the cut
        # gives pieces of different lengths wherever it can.
        remedies.append(
            f"OOMPolicy(min_split=1) rather than {policy.min_split}: it cuts pieces of "
            "different lengths, whose results can be checked and joined"
        )
    on_host = device is None or device.kind == "cpu"
    runs_on_numpy = MemoryType.NUMPY in (mt, site.memory_type)  # a numpy fallback is no help
    if policy.fallback is None and not runs_on_numpy and not on_host:
        remedies.append("OOMPolicy(fallback='numpy') to run on the host")
    if fixed:  # a buffer over the device's maximum
        remedies.append("smaller inputs (freeing memory does not lift that limit)")
    else:
        remedies.append("smaller inputs, or freeing memory held elsewhere")
    framework = "an unknown framework" if mt is None else mt.value
    msg = (
        f"{framework} ran out of memory{where} in {name(ex.user_fn)}{size}; gave up after "
        f"{', '.join(steps)}. Try {'; '.join(remedies)}"
    )
    return OutOfMemoryError(
        msg, memory_type=mt, device=device, attempts=ex.attempts, requested_bytes=requested
    )
