"""The arguments each run of :func:`arrayport.testing.assert_equivalent` gets, and the check
that a run left them unchanged.

Every run, the numpy reference included, gets arrays of its own: a function that writes into
its input must change neither the caller's arrays nor what later runs get or are compared
with. Copies are made only where a run could otherwise write into shared memory: numpy
arguments (the reference and the numpy run) and conversions arrayport makes without a copy
(``arrayport.plan(...).zero_copy``: a torch tensor made from numpy shares its memory). A
copy keeps the original's strides, byte order, alignment and read-only flag, so that the
function sees the layout the caller (or :func:`~arrayport.testing.arrays`) chose.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import byte_bounds

import arrayport
from arrayport.memory_types import MemoryType
from arrayport.testing._memory_readers import as_numpy
from arrayport.testing._results import first_difference, is_array

__all__ = ["check_unchanged", "private", "replica", "run_arguments", "snapshot"]

_ALIGN = 64  # arrayport's host buffers are 64-byte aligned; a copy keeps the offset from that


def replica(a: np.ndarray) -> np.ndarray:
    """A fresh copy of ``a`` with its strides (negative and zero ones too), byte order,
    alignment modulo 64 bytes and writeable flag."""
    # Subclasses keep their own copy (a mask); object arrays too (copyto into uninitialised
    # bytes would release garbage pointers).
    if type(a) is not np.ndarray or a.size == 0 or a.dtype.hasobject:
        out = a.copy(order="K")
    else:
        low, high = byte_bounds(a)
        buf = np.empty(high - low + _ALIGN, np.uint8)
        start = (low - buf.ctypes.data) % _ALIGN
        offset = start + a.__array_interface__["data"][0] - low
        out = np.ndarray(a.shape, a.dtype, buffer=buf, offset=offset, strides=a.strides)
        np.copyto(out, a)
    out.flags.writeable = a.flags.writeable
    return out


def private(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``value`` with every numpy array in it (top level, or in a list, tuple or dict)
    replaced by a :func:`replica`; the same array twice becomes the same replica twice."""
    memo = {} if memo is None else memo
    if isinstance(value, np.ndarray):
        if id(value) not in memo:
            memo[id(value)] = replica(value)
        return memo[id(value)]
    if type(value) in (list, tuple):
        return type(value)(private(v, memo) for v in value)
    if type(value) is dict:
        return {k: private(v, memo) for k, v in value.items()}
    return value


def _convert(h: np.ndarray, place: Any, memo: dict[int, Any]) -> Any:
    """``h`` (a host array) as an array of ``place``, sharing no memory with ``h``."""
    if not isinstance(place, MemoryType):  # an array-api-strict device: asarray shares
        xps = sys.modules["array_api_strict"]
        return xps.asarray(np.array(h, order="C"), device=place)
    from arrayport.testing.strategies import default_device

    device = default_device(place)
    if arrayport.plan(h, place, device=device).zero_copy:
        h = private(h, memo)
    return arrayport.convert(h, place, device=device)


def run_arguments(
    host_args: Sequence[Any], host_kwargs: Mapping[str, Any], place: Any
) -> tuple[list[Any], dict[str, Any]]:
    """The arguments of one run on ``place`` (a MemoryType or an array-api-strict device):
    top-level arrays converted to it, arrays in lists, tuples and dicts copied as numpy."""
    memo: dict[int, Any] = {}
    converted: dict[int, Any] = {}  # the same host array twice is converted once

    def one(v: Any) -> Any:
        if not isinstance(v, np.ndarray):
            return private(v, memo)
        if id(v) not in converted:
            converted[id(v)] = _convert(v, place, memo)
        return converted[id(v)]

    return [one(a) for a in host_args], {k: one(v) for k, v in host_kwargs.items()}


def snapshot(value: Any) -> Any:
    """``value`` with every array in it (top level, or in a list, tuple or dict) replaced by
    a numpy copy of its values, as it is before a run."""
    if is_array(value):
        return np.array(as_numpy(value), copy=True)
    if type(value) in (list, tuple):
        return type(value)(snapshot(v) for v in value)
    if type(value) is dict:
        return {k: snapshot(v) for k, v in value.items()}
    return value


def _arrays_in(value: Any, label: str) -> Iterator[tuple[str, Any]]:
    if is_array(value):
        yield label, value
    elif type(value) in (list, tuple):
        for i, v in enumerate(value):
            yield from _arrays_in(v, f"{label}[{i}]")
    elif type(value) is dict:
        for k, v in value.items():
            yield from _arrays_in(v, f"{label}[{k!r}]")


def _positional_names(fn: Callable[..., Any], n: int) -> list[str]:
    """``x (args[0])`` for the first ``n`` positional arguments, or ``args[0]`` when ``fn``
    has no signature to read (numpy's ufuncs) or takes ``*args``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins and ufuncs without a signature
        params = []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in params if p.kind in kinds]
    return [f"{names[i]} (args[{i}])" if i < len(names) else f"args[{i}]" for i in range(n)]


def check_unchanged(
    fn: Callable[..., Any],
    run_args: Sequence[Any],
    run_kwargs: Mapping[str, Any],
    host_args: Sequence[Any],
    host_kwargs: Mapping[str, Any],
    *,
    where: str,
) -> None:
    """Raise an AssertionError naming the argument if a run's array arguments no longer
    hold the values (exactly; NaN equal to NaN, -0.0 not equal to 0.0) the caller gave."""
    labels = _positional_names(fn, len(run_args))
    pairs = [*zip(labels, run_args, host_args, strict=True)]
    pairs += [(f"{k}=", run_kwargs[k], host_kwargs[k]) for k in run_kwargs]
    for label, run_value, host_value in pairs:
        given = dict(_arrays_in(host_value, label))
        for part, arr in _arrays_in(run_value, label):
            if part not in given:  # fn put an array into a list it got (a copy of the caller's)
                continue
            before = as_numpy(given[part])
            after = as_numpy(arr)
            found = first_difference(after, before)
            if found is None:
                continue
            msg = (
                f"{where}: fn wrote into its argument {part} "
                f"({before.dtype.name}{list(before.shape)}): {found}. A function meant to "
                "leave its inputs alone must not write into them (on jax and tensorflow, "
                "whose arrays are immutable, it cannot); pass check_inputs_unchanged=False "
                "if working in place is intended"
            )
            raise AssertionError(msg)
