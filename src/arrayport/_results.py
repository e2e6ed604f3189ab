"""Where a call's results go: what dispatch's placement (:mod:`arrayport._placement`) and
the OOM recovery (:mod:`arrayport._oom_recovery`) both need to know about results.

* :func:`widenings`: the dtypes a memory type holds only widened (pyclesperanto's bool as
  uint8), which a result must not be moved into before the dtype policy has seen it;
* :func:`moved` and :func:`each_array`: a recovered result moved back where the call's
  result goes, unless that would change or refuse its dtype (ADR 0068); :func:`kept`, the
  same for a piece of a recovery that is placed before it is joined;
* :func:`collecting` and :func:`leave`: the record, for one dispatched call, of results its
  OOM fallback left in their own memory type for that reason, which the call then takes
  back (ADR 0068's amendment).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from arrayport._arguments import array_type, rebuild
from arrayport.backends import get_backend
from arrayport.convert import convert
from arrayport.devices import Device
from arrayport.dtypes import dtype_name
from arrayport.errors import ConversionError
from arrayport.memory_types import MemoryType

__all__ = ["Left", "collecting", "each_array", "kept", "leave", "moved", "placeable", "widenings"]

# Each memory type's WIDENINGS (empty for most), read once.
_widenings: dict[MemoryType, dict[str, str]] = {}


def widenings(kind: MemoryType) -> dict[str, str]:
    """The dtypes ``kind`` holds only widened (its backend's ``WIDENINGS``: name -> name)."""
    found = _widenings.get(kind)
    if found is None:
        found = _widenings[kind] = getattr(get_backend(kind), "WIDENINGS", None) or {}
    return found


class Left:
    """The arrays OOM fallbacks left in their own memory type during one dispatched call
    (``output="declared"`` with a fallback), because the declared type would widen or
    refuse their dtype (:func:`moved`): each with the memory type and device it came back
    for. Opened by :func:`collecting` around the call; the call's own recovery
    (``fn`` its function) adds to it, nested calls of other functions do not."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.items: list[tuple[Any, MemoryType, Device | None]] = []

    def where(self, value: Any) -> tuple[MemoryType, Device | None] | None:
        """Where ``value`` (by identity) belongs, if a fallback of this call left it."""
        for item, kind, device in self.items:
            if item is value:
                return kind, device
        return None


_scopes = threading.local()


@contextlib.contextmanager
def collecting(fn: Callable[..., Any]) -> Iterator[Left]:
    """A :class:`Left` record for the dispatched call of ``fn`` running in this thread."""
    stack: list[Left] | None = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    left = Left(fn)
    stack.append(left)
    try:
        yield left
    finally:
        stack.pop()


def leave(value: Any, kind: MemoryType, device: Device | None, fn: Callable[..., Any]) -> None:
    """Record that an OOM fallback of ``fn`` left ``value`` outside ``kind``, where it
    belongs, if a dispatched call of ``fn`` collects such results in this thread."""
    stack: list[Left] | None = getattr(_scopes, "stack", None)
    if not stack:
        return
    left = stack[-1]
    if left.fn is fn or left.fn is getattr(fn, "__wrapped__", None):
        left.items.append((value, kind, device))


def each_array(value: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` applied to every array in a result, numpy scalars included (what numpy's
    reductions return): an array, or tuples, lists and dicts of them at any depth (a
    result is looked into further than the arguments are)."""
    if array_type(value) is not None or isinstance(value, np.generic):
        return fn(value)
    if isinstance(value, (tuple, list)):  # namedtuples and torch's named results rebuilt
        return rebuild(value, [each_array(v, fn) for v in value])
    if isinstance(value, dict):
        return _same_dict(value, {k: each_array(v, fn) for k, v in value.items()})
    return value


def _same_dict(value: dict[Any, Any], items: dict[Any, Any]) -> dict[Any, Any]:
    """``items`` in a dict of ``value``'s type (an ``OrderedDict``; a ``defaultdict`` with
    its ``default_factory``), as the function returned it; a plain dict where that type
    cannot be copied."""
    if type(value) is dict:
        return items
    try:
        same = copy.copy(value)  # the type and what it holds besides items
        for k, v in items.items():  # every key is there already: the order stays
            dict.__setitem__(same, k, v)  # not update(): a Counter's adds
    except Exception:  # a subclass that cannot be copied or updated: its items at least
        return items
    return same


def moved(r: Any, mt: MemoryType, device: Device | None) -> Any:
    """A result ``r`` converted to ``mt``; it stays as it is where that would change its
    dtype (pyclesperanto holds bool as uint8) or ``mt`` cannot hold it (float64 in jax
    without 64-bit mode; a 0-d or 4-D array in pyclesperanto), so that a dispatched call's
    dtype policy sees the dtype the function made (ADR 0068), and its placement refuses
    what cannot go there in the call's words; and when it is a numpy scalar."""
    if isinstance(r, np.generic):
        return r
    if dtype_name(r.dtype) in widenings(mt):
        return r
    try:
        return convert(r, mt, device=device)
    except ConversionError:  # a dtype or shape mt refuses (UnsupportedDtypeError is one)
        return r


def placeable(r: Any, mt: MemoryType) -> bool:
    """Whether ``mt`` holds an array of ``r``'s shape (pyclesperanto: 1- to 3-D, not
    empty)."""
    refusal = getattr(get_backend(mt), "shape_refusal", None)
    kind = array_type(r)
    return refusal is None or kind is None or refusal(get_backend(kind).describe(r)) is None


def kept(r: Any, mt: MemoryType, device: Device | None) -> Any:
    """:func:`moved`, for a piece of an OOM recovery that is placed before the pieces are
    joined (ADR 0072): a dispatched call's dtype policy must see the joined result, not
    each piece (``Scaling.MINMAX`` stretches by the data), so a piece stays where moving
    it would widen or refuse its dtype, or where ``mt`` refuses its shape (the joined
    result is placed, or refused, as a whole). A lazy one (a dask graph) is computed now all the
    same: computing it is what may run out of memory, and that must happen in the piece's
    attempt, where the policy can retry or split it."""
    there = moved(r, mt, device)
    kind = array_type(there)
    if kind is not mt and kind is not None and getattr(get_backend(kind), "LAZY", False):
        return get_backend(kind).copy(there)  # computed, in its own memory type
    return there
