"""What :class:`~arrayport.OOMPolicy` says when it cannot recover: the
:class:`~arrayport.errors.OutOfMemoryError` it raises in the end (what was tried, and what to
try instead) and the refusal of a split whose pieces' results cannot be joined. The steps
themselves are in :mod:`arrayport._oom_recovery`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from arrayport._oom_recognition import Site, format_bytes, requested_bytes
from arrayport.errors import OutOfMemoryError
from arrayport.memory_types import MemoryType

if TYPE_CHECKING:
    from arrayport._oom_recovery import Execution

__all__ = ["dask_block", "gave_up", "name", "piece_note", "unjoinable"]


def name(fn: Callable[..., Any]) -> str:
    """``fn``'s name for a message."""
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def piece_note(fn: Callable[..., Any], rows: int, axis: int | None, whole: list[Any]) -> str:
    """The note on ``fn``'s own error raised on a split piece of ``rows`` rows; ``whole``:
    the arrays passed whole to every piece (a per-row ``(n,)`` weight beside an ``(n, m)``
    image is one: it lines up with the last axis, so the cut leaves it), named by shape."""
    note = (
        f"arrayport: raised on a piece of {rows} row{'s' if rows != 1 else ''} along axis "
        f"{axis}: OOMPolicy(split_axis={axis}) split the call of {name(fn)} after it ran "
        "out of memory"
    )
    if not whole:
        return note
    shapes = ", ".join(str(tuple(getattr(v, "shape", ()))) for v in whole)
    return (
        f"{note}; passed whole to every piece: the array{'s' if len(whole) > 1 else ''} of "
        f"shape {shapes} (one read row by row is cut with the rows only where it "
        f"broadcasts along axis {axis}: give a per-row weight the shape (n, 1))"
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
