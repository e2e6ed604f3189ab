"""One output buffer returned for several slices: refused before results are restacked
(:func:`arrayport.stack.restack`, for :func:`arrayport.process_slices` and
``slice_by_slice`` dispatch)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from arrayport._host import writes_allowed
from arrayport.backends import detect_memory_type
from arrayport.errors import InvalidOptionError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

__all__ = ["refuse_reused", "refuse_reused_within"]

#: Memory types whose arrays a function can write into and return again (``out=``,
#: pyclesperanto's ``output_image=``); jax, tensorflow and dask arrays are immutable.
_MUTABLE = frozenset(
    {MemoryType.NUMPY, MemoryType.CUPY, MemoryType.TORCH, MemoryType.PYCLESPERANTO}
)


def refuse_reused(results: list[Any], caller: str, inputs: Iterable[Any] = ()) -> None:
    """Refuse results of which two are one writable buffer (the same array object, or
    numpy, torch or cupy arrays over the same memory with one shape and strides): a
    function that writes each slice into one output buffer returns it (or a new view of
    it) for every slice, and the earlier slices' values are gone, overwritten by the later
    ones, before they can be stacked. ``inputs``: the arrays the slices were cut from;
    torch and cupy results over the memory of one with stride 0 along axis 0 pass (an
    identity function on an expanded stack returns aliased slices), as numpy's read-only
    views of a broadcast stack do; a writable stride-0 numpy stack's aliased results are
    refused (a function writing into its slices would give every slice the last one's
    values)."""
    _refuse(list(enumerate(results)), caller, tuple(inputs), "")


def refuse_reused_within(results: list[Any], caller: str, inputs: Iterable[Any] = ()) -> None:
    """:func:`refuse_reused` for per-slice results that are not all arrays (one list per
    slice, a dict, arrays and None): the arrays at each place (the result itself, an item
    of a tuple or list, a dict's value, at any depth) are compared across slices, the
    place named by its path (``result[0]['a']``)."""
    places: dict[tuple[Any, ...], list[tuple[int, Any]]] = {}
    for i, r in enumerate(results):
        _walk(r, (), i, places, set())
    found = tuple(inputs)
    for place, arrays in places.items():
        if len(arrays) > 1:
            _refuse(arrays, caller, found, "".join(f"[{p!r}]" for p in place))


def _walk(
    value: Any,
    path: tuple[Any, ...],
    i: int,
    places: dict[tuple[Any, ...], list[tuple[int, Any]]],
    open_: set[int],
) -> None:
    """Every array in ``value`` (slice ``i``'s result) filed under its path; tuples, lists
    and dicts are walked into (a container holding itself is walked once)."""
    if isinstance(value, (tuple, list, dict)):
        if id(value) in open_:
            return
        open_.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for place, v in items:
            _walk(v, (*path, place), i, places, open_)
        open_.discard(id(value))
    elif _kind(value) is not None:
        places.setdefault(path, []).append((i, value))


def _refuse(items: list[tuple[int, Any]], caller: str, inputs: tuple[Any, ...], at: str) -> None:
    seen: dict[object, int] = {}
    for i, r in items:
        mt = detect_memory_type(r)
        # Read-only numpy memory cannot have been written again (a broadcast stack's
        # views, a frozen constant returned for several slices).
        if mt not in _MUTABLE or (mt is MemoryType.NUMPY and not writes_allowed(r.flags.num)):
            continue
        key = _memory(r, mt)
        j = seen.setdefault(key, i)
        if j == i or (mt is not MemoryType.NUMPY and _inside(r, mt, inputs)):
            continue
        where = f" (at result{at})" if at else ""
        # numpy arrays can be made read-only; tensors cannot, only copied.
        constant = (
            "a copy, or read-only with x.flags.writeable = False"
            if mt is MemoryType.NUMPY
            else "a copy each time (x.clone(), x.copy())"
        )
        msg = (
            f"{caller}: fn returned the same array (one buffer) for slice {j} and "
            f"slice {i}{where}: an output buffer written again for each slice (out=, "
            "output_image=) holds only the last slice's values by the time the "
            "results are stacked; return a new array for each slice (a copy of the "
            f"buffer; a constant returned for several slices: {constant})"
        )
        raise InvalidOptionError(msg)


def _kind(x: object) -> MemoryType | None:
    """``x``'s memory type, None for what is not an array (None, a number, a string)."""
    if x is None or isinstance(x, (int, float, complex, str, bytes, np.generic)):
        return None  # (numpy scalars too: per-slice lists of label ids are common)
    try:
        return detect_memory_type(x)
    except UnsupportedArrayError:
        return None


def _memory(r: Any, mt: MemoryType | None) -> object:
    """What identifies ``r``'s elements: where its first element lies, its shape and its
    strides (numpy, torch, cupy: two views of one buffer that look alike are one), else
    the object itself (pyclesperanto; empty arrays; tensors without a data pointer)."""
    try:
        if mt is MemoryType.NUMPY:
            if r.size:
                return (r.__array_interface__["data"][0], r.shape, r.strides)
        elif mt is MemoryType.TORCH:
            ptr = r.data_ptr()  # the storage's pointer plus the offset: 0 on meta tensors
            if ptr and r.numel():
                return (ptr, r.shape, r.stride())  # torch.Size: a tuple
        elif mt is MemoryType.CUPY:
            ptr = r.data.ptr
            if ptr and r.size:
                return (ptr, r.shape, r.strides)
    except Exception:  # sparse, nested or wrapped tensors: no pointer to compare
        pass
    return id(r)


def _inside(r: Any, mt: MemoryType | None, inputs: tuple[Any, ...]) -> bool:
    """Whether ``r`` lies in the memory of one of ``inputs`` that repeats its memory along
    the slice axis (an expanded or broadcast stack, writable or not: every slice is one
    plane, and an identity function returns it for each). A writable plane given to every
    slice (a ``(1, H, W)`` argument) is not such an input: a function writing into it and
    returning it is the reused buffer this check is for."""
    for x in inputs:
        if _kind(x) is not mt or len(x.shape) < 1 or x.shape[0] < 2:
            continue
        try:
            if mt is MemoryType.TORCH:
                if x.stride(0) == 0 and (
                    r.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
                ):
                    return True
            elif mt is MemoryType.CUPY and x.strides[0] == 0 and r.data.mem.ptr == x.data.mem.ptr:
                return True
        except Exception:  # no storage to compare: not the input's
            continue
    return False
