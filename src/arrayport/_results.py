"""Where a call's results go: what dispatch's placement (:mod:`arrayport._placement`) and
the OOM recovery (:mod:`arrayport._oom_recovery`) both need to know about results.

* :func:`widenings`: the dtypes a memory type holds only widened (pyclesperanto's bool as
  uint8), which a result must not be moved into before the dtype policy has seen it;
* :func:`moved` and :func:`each_array`: a recovered result moved back where the call's
  result goes, unless that would change or refuse its dtype (ADR 0068);
* :func:`leave` and :func:`take_left`: the record of results an OOM fallback left in its
  own memory type for that reason, which the placement of the dispatched call takes back
  (ADR 0068's amendment).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from arrayport._arguments import array_type, rebuild
from arrayport.backends import get_backend
from arrayport.convert import convert
from arrayport.devices import Device
from arrayport.dtypes import dtype_name
from arrayport.errors import UnsupportedDtypeError
from arrayport.memory_types import MemoryType

__all__ = ["LEFT", "each_array", "leave", "moved", "take_left", "widenings"]

# Each memory type's WIDENINGS (empty for most), read once.
_widenings: dict[MemoryType, dict[str, str]] = {}


def widenings(kind: MemoryType) -> dict[str, str]:
    """The dtypes ``kind`` holds only widened (its backend's ``WIDENINGS``: name -> name)."""
    found = _widenings.get(kind)
    if found is None:
        found = _widenings[kind] = getattr(get_backend(kind), "WIDENINGS", None) or {}
    return found


# Array results an OOM fallback left in its own memory type because the declared one would
# widen or refuse their dtype (:func:`moved`): id -> (a weak reference to the array, the
# memory type and device it came back for). The placement of the dispatched
# call that fell back takes them (ADR 0068's amendment).
LEFT: dict[int, tuple[weakref.ReferenceType[Any], MemoryType, Device | None]] = {}
_LOCK = threading.Lock()


def leave(value: Any, kind: MemoryType, device: Device | None) -> None:
    """Record that an OOM fallback left ``value`` outside ``kind``, where it belongs."""
    try:
        ref = weakref.ref(value)
    except TypeError:  # not weakly referable: it stays where it is
        return
    with _LOCK:
        for key in [k for k, (r, _, _) in LEFT.items() if r() is None]:
            del LEFT[key]
        LEFT[id(value)] = (ref, kind, device)


def take_left(value: Any) -> tuple[MemoryType, Device | None] | None:
    with _LOCK:
        entry = LEFT.get(id(value))
        if entry is None or entry[0]() is not value:
            return None
        del LEFT[id(value)]
    return entry[1], entry[2]


def each_array(value: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` applied to every array in a result, numpy scalars included (what numpy's
    reductions return): an array, or tuples, lists and dicts of them at any depth (a
    result is looked into further than the arguments are)."""
    if array_type(value) is not None or isinstance(value, np.generic):
        return fn(value)
    if isinstance(value, (tuple, list)):  # namedtuples and torch's named results rebuilt
        return rebuild(value, [each_array(v, fn) for v in value])
    if isinstance(value, dict):
        return {k: each_array(v, fn) for k, v in value.items()}
    return value


def moved(r: Any, mt: MemoryType, device: Device | None) -> Any:
    """A result ``r`` converted to ``mt``; it stays as it is where that would change its
    dtype (pyclesperanto holds bool as uint8) or ``mt`` cannot hold it (float64 in jax
    without 64-bit mode), so that a dispatched call's dtype policy sees the dtype the
    function made (ADR 0068), and when it is a numpy scalar."""
    if isinstance(r, np.generic):
        return r
    if dtype_name(r.dtype) in widenings(mt):
        return r
    try:
        return convert(r, mt, device=device)
    except UnsupportedDtypeError:
        return r
