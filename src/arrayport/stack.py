"""Stacks of 2-D slices: :func:`stack_slices`, :func:`unstack_slices`, :func:`process_slices`.

Stacking is strict: every slice must have the same shape and the same dtype (a stack that
silently promoted int64 and uint64 slices to float64 would change values). Slices of
several memory types are converted, each once, to one memory type and one device.

Stacking is written once against the array API (``xp.stack``); a backend without a
namespace gives its own ``stack``, or says it cannot join its arrays (``JOINS_ON_HOST``):
they are then stacked on the host and converted back. A backend with ``stack_planes``
builds a stack of 2-D slices on its device itself, from slices already there and host
copies of the others, each copied into its plane once (never pairwise concatenation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, cast

import numpy as np

from arrayport._arguments import array_type, rebuild
from arrayport._exchange import holds_numbers
from arrayport._reused_buffers import refuse_reused, refuse_reused_within
from arrayport._split import index_array
from arrayport._stack_host import (
    PER_SLICE,
    keep_on_host,
    not_restacked,
    remember_scalars,
    stack_on_device,
)
from arrayport.backends import detect_memory_type, get_backend, namespace
from arrayport.convert import convert
from arrayport.devices import Device, DeviceLike, as_index, parse_device
from arrayport.errors import (
    ConversionError,
    DtypeConversionError,
    InvalidOptionError,
    UnsupportedArrayError,
)
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["process_slices", "stack_slices", "unstack_slices"]

P = ParamSpec("P")


def stack_slices(
    slices: Iterable[Any], memory_type: MemoryType | str | None = None, *, device: DeviceLike = None
) -> Any:
    """Stack 2-D arrays along a new first axis into one 3-D array.

    Parameters
    ----------
    slices : iterable of 2-D arrays
        Arrays of any memory types, all of one shape and one dtype. An iterator is read
        to its end before stacking (as ``np.stack`` reads it): one that hands out the
        same buffer refilled gives that buffer's last contents in every plane.
    memory_type : MemoryType, str or None
        The memory type of the stack; ``None`` = that of the first slice.
    device : None, "cpu", int, "cuda:N", "opencl:N" or Device
        Where the stack lives; ``None`` = where the first slice lands.

    Returns
    -------
    array
        A 3-D array of shape ``(len(slices), height, width)``, of the slices' dtype or the
        lossless widening the memory type needs, as :func:`arrayport.convert` makes it
        (pyclesperanto holds bool as uint8 and float16 as float32).

    Raises
    ------
    InvalidOptionError
        No slices, a slice that is not 2-D, or slices of different shapes.
    DtypeConversionError
        Slices of different dtypes (convert them first with :func:`arrayport.convert_dtype`).
    UnsupportedArrayError
        A slice that is not an array.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> ap.stack_slices([np.zeros((2, 3)), np.ones((2, 3))]).shape
    (2, 2, 3)
    """
    mt = array_type(slices)
    if mt is not None:
        msg = (
            f"stack_slices takes a list of 2-D arrays, got one {mt.value} array of shape "
            f"{tuple(cast(Any, slices).shape)}; pass [x], or use it as it is if it is "
            "already a 3-D stack"
        )
        raise InvalidOptionError(msg)
    try:
        items = iter(slices)
    except TypeError:
        msg = f"stack_slices takes a list of 2-D arrays, not {type(slices).__name__} {slices!r}"
        raise InvalidOptionError(msg) from None
    return _stack(list(items), memory_type, device, ndim=2, what="stack_slices")


def unstack_slices(stack: Any) -> list[Any]:
    """Split a 3-D array along its first axis into a list of 2-D arrays.

    The slices are views of ``stack`` where the framework gives views (numpy, cupy,
    torch: writing to a slice writes to the stack) and copies where it does not (jax,
    tensorflow, pyclesperanto; dask slices are lazy).

    Raises
    ------
    InvalidOptionError
        ``stack`` is not 3-D.
    UnsupportedArrayError
        ``stack`` is not an array.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> [s.shape for s in ap.unstack_slices(np.zeros((2, 3, 4)))]
    [(3, 4), (3, 4)]
    """
    return _unstack(stack, "unstack_slices")


def _unstack(stack: Any, caller: str) -> list[Any]:
    mt = detect_memory_type(stack)
    shape = tuple(stack.shape)
    if len(shape) != 3:
        msg = f"{caller} takes a 3-D array; got a {mt.value} array of shape {shape}"
        raise InvalidOptionError(msg)
    n = as_index(shape[0])
    if n is None:
        # Symbolic tensors (tf.function, unknown extents) are refused by name; a dask stack
        # after boolean indexing needs its sizes first.
        get_backend(mt).describe(stack)
        msg = (
            f"{caller}: the stack has a number of slices dask does not know yet (shape "
            f"{shape}): call x.compute_chunk_sizes() first"
        )
        raise InvalidOptionError(msg)
    return [_plane(stack, i) for i in range(n)]


def _plane(x: Any, i: int) -> Any:
    """``x[i]``, an array of ``x``'s memory type (2-D for a 3-D ``x``)."""
    return index_array(x, (i,))


def process_slices(
    stack: Any, fn: Callable[Concatenate[Any, P], Any], /, *args: P.args, **kwargs: P.kwargs
) -> Any:
    """Run ``fn(slice, *args, **kwargs)`` on each 2-D slice of a 3-D array and restack.

    The results are stacked in ``stack``'s memory type and on its device, whatever memory
    type ``fn`` returns. A tuple result gives a tuple of stacks; results that are not
    arrays (a Python number per slice, say) come back as a list, one per slice; a list of
    arrays per slice gives a list of stacks where each place has one shape and dtype in
    every slice (else one list per slice); numpy scalars of numbers (numpy's reductions
    return them) are stacked as the 0-d arrays they stand for.

    ``fn`` must return a new array for each slice: one writable output buffer written
    again for every slice (``out=``, pyclesperanto's ``output_image=``) would hold only the
    last slice's values by the time the results are stacked, and is refused (a constant
    returned for several slices must be read-only, or copied). Under
    ``jax.jit`` the results are tracers arrayport cannot stack (refused by name): use
    ``jax.vmap`` there.

    Raises
    ------
    InvalidOptionError
        ``stack`` is not 3-D, or has no slices, or ``fn`` returned one buffer for two
        slices.
    ConversionError
        ``stack``'s memory type cannot hold the stack of ``fn``'s results (float64 or
        4-D in pyclesperanto; ``UnsupportedDtypeError`` for a dtype).

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> ap.process_slices(np.ones((2, 3, 3)), lambda s, k: s * k, 3).sum()
    np.float64(54.0)
    """
    if not callable(fn):
        msg = (
            "process_slices(stack, fn): fn must be callable (it is called on each 2-D slice), "
            f"not {fn!r} ({type(fn).__name__})"
        )
        raise InvalidOptionError(msg)
    mt = detect_memory_type(stack)
    slices = _unstack(stack, "process_slices")
    if not slices:
        msg = f"process_slices got a stack of shape {tuple(stack.shape)}: no slice to run on"
        raise InvalidOptionError(msg)
    # describe, not device_of: it refuses by name what holds no data to restack into (jax
    # tracers inside jax.jit, symbolic tensorflow tensors).
    device = get_backend(mt).describe(stack).device
    results = [fn(s, *args, **kwargs) for s in slices]
    try:
        return restack(results, mt, device, "process_slices", inputs=(stack,))
    except ConversionError as exc:  # mt cannot hold what fn returned (float64, 4-D)
        raise not_restacked(exc, fn, mt) from exc


def restack(
    results: list[Any],
    memory_type: MemoryType | None,
    device: Device | None,
    caller: str,
    listed: type[list[Any]] = list,
    inputs: tuple[Any, ...] = (),
    offset: int = 0,
) -> Any:
    """Stack per-slice results (arrays, tuples of arrays, or anything else as a list).

    Used by :func:`process_slices` and by ``slice_by_slice`` dispatch; ``caller`` names
    which in the errors. ``memory_type`` None: the first result's (and its device).
    ``listed``: the type of a list of one result per slice (``slice_by_slice`` under an
    OOM policy: :class:`arrayport._split.Rows`, which the policy's split joins in order).
    ``inputs``: the arrays the slices were cut from, whose memory a result may share
    (:func:`arrayport._reused_buffers.refuse_reused`). ``offset``: the first result's
    slice number in the whole stack (a piece of an OOM split), for errors.
    """
    # numpy's reductions return numpy scalars: stacked as the 0-d arrays they stand for,
    # as every other framework's 0-d results are (numbers only: an np.str_ is a string);
    # results that are not stacked come back as fn returned them.
    scalars = [_numeric_scalar(r) for r in results]
    stackable = [np.asarray(r) if s else r for r, s in zip(results, scalars, strict=True)]
    first = results[0]
    same = isinstance(first, (tuple, list)) and all(
        type(r) is type(first) and len(r) == len(first) for r in results
    )
    # A list per slice is restacked as a tuple is when each place holds arrays of one
    # shape and dtype in every slice (placed as an unsliced call's list of arrays is);
    # else one list per slice (crops whose sizes depend on the data, numbers).
    if (isinstance(first, tuple) and same) or (
        isinstance(first, list) and same and _uniform(results)
    ):
        each = [[r[j] for r in results] for j in range(len(first))]
        parts = [
            restack(items, memory_type, device, caller, listed, inputs, offset) for items in each
        ]
        return rebuild(first, parts)  # lists, tuples, namedtuples, torch's named results
    if all(_is_array(r) for r in stackable):
        refuse_reused(stackable, caller, inputs, offset)
        stack = _stack(stackable, memory_type, device, ndim=None, what=caller, per_slice=offset)
        remember_scalars(stack, scalars)  # for an OOM split's join, cutting it up again
        return stack
    # Not stacked: a buffer returned again (alone beside None, in a list or a dict) would
    # hold the last slice's values in every entry all the same.
    refuse_reused_within(results, caller, inputs, offset)
    return listed(results)


def _numeric_scalar(x: object) -> bool:
    return isinstance(x, np.generic) and holds_numbers(x.dtype)  # bfloat16 too


def _uniform(results: list[Any]) -> bool:
    """Whether lists of one length hold, at each place, arrays of one shape and dtype."""
    for column in zip(*results, strict=True):
        # numpy scalars count as the 0-d arrays restack stacks them as (numpy's reductions).
        items = [np.asarray(v) if _numeric_scalar(v) else v for v in column]
        if not all(_is_array(v) for v in items):
            return False
        if len({(tuple(v.shape), str(v.dtype)) for v in items}) > 1:
            return False
    return True


def _is_array(x: object) -> bool:
    try:
        detect_memory_type(x)
    except UnsupportedArrayError:
        return False
    return True


def _stack(
    items: list[Any],
    memory_type: MemoryType | str | None,
    device: DeviceLike,
    *,
    ndim: int | None,
    what: str,
    per_slice: int | None = None,
) -> Any:
    # per_slice: the items are fn's results, one per slice (restack), and the errors say so,
    # numbering the slices from per_slice (a piece of an OOM split starts further on).
    base = per_slice or 0
    if not items:
        msg = (
            f"{what} got no arrays: there is no shape, dtype or memory type to stack; pass "
            "at least one 2-D array"
        )
        raise InvalidOptionError(msg)
    kinds = []
    for i, s in enumerate(items):
        try:
            kind = detect_memory_type(s)
        except UnsupportedArrayError as exc:
            msg = f"{what}: item {i} is not an array ({exc})"
            raise UnsupportedArrayError(msg) from exc
        # np.matrix and masked arrays: refused as a dispatched function's arguments are
        # (np.stack kept np.matrix and failed with numpy's own "shape too large").
        refusal = getattr(get_backend(kind), "argument_refusal", None)
        why = None if refusal is None else refusal(type(s))
        if why is not None:
            which = f"fn's result for slice {base + i}" if per_slice is not None else f"item {i}"
            raise UnsupportedArrayError(f"{what}: {which}: {why}")
        kinds.append(kind)
    dtypes: list[str] = []
    for i, s in enumerate(items):
        which = f"fn's result for slice {base + i}" if per_slice is not None else f"item {i}"
        # Described before any use (the shape checks, the dtypes compared): what holds no
        # data is refused by name (symbolic tensorflow tensors, jax tracers, np.str_ data).
        try:
            infos = get_backend(kinds[i]).describe(s)
        except UnsupportedArrayError as exc:
            raise UnsupportedArrayError(f"{what}: {which}: {exc}") from exc
        if any(as_index(n) is None for n in s.shape):  # dask after boolean indexing
            remedy = "the stack" if per_slice is not None else "each item"
            msg = (
                f"{what}: {which} has a shape dask does not know yet ({s.shape}, after "
                f"boolean indexing, say): call x.compute_chunk_sizes() on {remedy} first"
            )
            raise InvalidOptionError(msg)
        dtypes.append(infos.dtype_name)
    shape = tuple(int(n) for n in items[0].shape)
    dtype = dtypes[0]
    if ndim is not None and len(shape) != ndim:
        msg = f"{what} takes {ndim}-D arrays; item 0 ({kinds[0].value}) has shape {shape}"
        raise InvalidOptionError(msg)
    for i in range(1, len(items)):
        s, kind = items[i], kinds[i]
        other = tuple(int(n) for n in s.shape)
        if other != shape and per_slice is not None:
            msg = (
                f"{what}: fn returned shape {shape} for slice {base} but {other} for slice "
                f"{base + i}; it must return one shape for every slice to be restacked "
                f"({PER_SLICE})"
            )
            raise InvalidOptionError(msg)
        if other != shape:
            msg = f"{what}: item {i} ({kind.value}) has shape {other}, item 0 has {shape}"
            raise InvalidOptionError(msg)
        other_dtype = dtypes[i]
        if other_dtype != dtype and per_slice is not None:
            msg = (
                f"{what}: fn returned {dtype} for slice {base} but {other_dtype} for slice "
                f"{base + i}; "
                "it must return one dtype for every slice to be restacked (stacking would "
                "promote and may change values)"
            )
            raise DtypeConversionError(msg)
        if other_dtype != dtype:
            msg = (
                f"{what}: item {i} ({kind.value}) is {other_dtype}, item 0 is {dtype}; "
                "stacking would promote and may change values: convert them to one dtype "
                "first (arrayport.convert_dtype)"
            )
            raise DtypeConversionError(msg)
    mt = kinds[0] if memory_type is None else as_memory_type(memory_type)
    dev = parse_device(device)
    backend = get_backend(mt)
    stack_planes = getattr(backend, "stack_planes", None)
    if stack_planes is not None and len(shape) == 2:
        return stack_on_device(items, kinds, mt, dev, stack_planes)
    if getattr(backend, "JOINS_ON_HOST", False):
        # No n-D stack on the device: every slice to the host (not through the device:
        # a 0-d slice, which the device cannot hold, still stacks to a 1-D array), one
        # stack, one push; the push refuses what the memory type cannot hold.
        if dev is None and kinds[0] is mt:
            dev = backend.device_of(items[0])
        host = [convert(s, MemoryType.NUMPY) for s in items]
        joined = namespace(MemoryType.NUMPY).stack(host, axis=0)
        # A sliced call's stack its memory type cannot hold (4-D, of pyclesperanto): kept
        # on the host, for placement to convert (ADR 0017's amendment of 2026-11-29).
        if memory_type is None and per_slice is not None and keep_on_host(joined, mt, shape):
            return joined
        return convert(joined, mt, device=dev)
    first = convert(items[0], mt, device=dev)
    if dev is None:
        dev = backend.device_of(first)
    converted = [first, *(convert(s, mt, device=dev) for s in items[1:])]
    stack = getattr(backend, "stack", None)
    return namespace(mt).stack(converted, axis=0) if stack is None else stack(converted)
