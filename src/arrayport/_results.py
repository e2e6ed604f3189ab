"""Where a call's results go: what dispatch's placement (:mod:`arrayport._placement`) and
the OOM recovery (:mod:`arrayport._oom_recovery`) both need to know about results.

* :func:`widenings`: the dtypes a memory type holds only widened (pyclesperanto's bool as
  uint8), which a result must not be moved into before the dtype policy has seen it;
* :func:`moved` and :func:`each_array`: a recovered result moved back where the call's
  result goes, unless that would change or refuse its dtype (ADR 0068); :func:`kept`, the
  same for a piece of a recovery that is placed before it is joined;
* :func:`collecting` and :func:`leave`: the record, for one dispatched call, of results its
  OOM fallback left in their own memory type for that reason, which the call then takes
  back (ADR 0068's amendment);
* :func:`returned`: an OOM fallback's result on its way back, which leaves the input's bool
  as the fallback's memory type holds it (pyclesperanto's uint8) where it is, and
  :data:`OF_THE_RESULT` and :func:`held_bool`, by which the dtype policy reads it by value
  (ADR 0068's amendment of session 23).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from arrayport._arguments import array_type, arrays, is_tuple, kind_of, rebuild
from arrayport.backends import get_backend
from arrayport.convert import convert
from arrayport.devices import Device
from arrayport.dtypes import dtype_name
from arrayport.errors import ConversionError
from arrayport.memory_types import MemoryType

__all__ = [
    "OF_THE_RESULT",
    "Left",
    "bool_reference",
    "collecting",
    "each_array",
    "held_bool",
    "keeps_widened_bool",
    "kept",
    "leave",
    "left_here",
    "moved",
    "placeable",
    "reads_widened_bool",
    "result_kind",
    "returned",
    "widened_there",
    "widenings",
]

#: ``DispatchedFunction._bool_stand_in`` of a function whose declared memory type holds
#: bool as bool and whose OOM fallback's holds it widened (pyclesperanto: uint8 0 and 1),
#: under ``PRESERVE_INPUT``: the stand-in is then that of the memory type a result is in
#: (:func:`held_bool`), where the fallback leaves the input's bool widened (:func:`moved`).
OF_THE_RESULT = "<the bool stand-in of the result's memory type>"

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


def left_here() -> Left | None:
    """The :class:`Left` record of the innermost dispatched call collecting in this thread
    (None: none), for a sliced call's per-slice results (:mod:`arrayport._stack_rows`),
    which are taken back one by one: only an array a fallback of that call left is in it."""
    stack: list[Left] | None = getattr(_scopes, "stack", None)
    return stack[-1] if stack else None


def _own(fn: Callable[..., Any]) -> Left | None:
    """The innermost :class:`Left` record in this thread if it is ``fn``'s call's."""
    stack: list[Left] | None = getattr(_scopes, "stack", None)
    if not stack:
        return None
    left = stack[-1]
    return left if left.fn is fn or left.fn is getattr(fn, "__wrapped__", None) else None


def leave(value: Any, kind: MemoryType, device: Device | None, fn: Callable[..., Any]) -> None:
    """Record that an OOM fallback of ``fn`` left ``value`` outside ``kind``, where it
    belongs, if a dispatched call of ``fn`` collects such results in this thread."""
    left = _own(fn)
    if left is not None:
        left.items.append((value, kind, device))


#: The functions whose dispatched calls read an OOM fallback's widened bool by value
#: (``DispatchedFunction._bool_stand_in`` is :data:`OF_THE_RESULT`), noted when decorating.
#: A registry, not a scope opened per call: a scope would cost such functions the
#: dispatch quick paths (a general-path call, about 10x the time).
_READS_WIDENED_BOOL: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def reads_widened_bool(fn: Callable[..., Any]) -> None:
    """Note that the dispatched calls of ``fn`` read a fallback's widened bool by value."""
    with contextlib.suppress(TypeError):  # not weakly referable (a builtin): never kept
        _READS_WIDENED_BOOL.add(fn)


def keeps_widened_bool(fn: Callable[..., Any]) -> bool:
    """Whether an OOM fallback of ``fn`` leaves the input's bool widened where it made it
    (pyclesperanto's uint8), for the dispatched call's dtype policy to read by value: for
    a function decorated so (:func:`reads_widened_bool`; a sliced call's wrapper counts as
    its function). ``OOMPolicy.run`` called directly with another function gets it back
    in the caller's memory type; with the same function object, as its dispatched calls."""
    try:
        return inspect.unwrap(fn) in _READS_WIDENED_BOOL
    except (TypeError, ValueError):  # unhashable, or an unwrap cycle
        return False


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


def moved(r: Any, mt: MemoryType, device: Device | None, bool_input: bool = False) -> Any:
    """A result ``r`` converted to ``mt``; it stays as it is where that would change its
    dtype (pyclesperanto holds bool as uint8) or ``mt`` cannot hold it (float64 in jax
    without 64-bit mode; a 0-d or 4-D array in pyclesperanto), so that a dispatched call's
    dtype policy sees the dtype the function made (ADR 0068), and its placement refuses
    what cannot go there in the call's words; and when it is a numpy scalar. With
    ``bool_input`` (the call's first array argument is bool) it also stays where it has
    the dtype its memory type holds bool in (:func:`held_bool`): the input's bool, widened
    there, which the dtype policy reads by value (:data:`OF_THE_RESULT`)."""
    if isinstance(r, np.generic):
        return r
    if dtype_name(r.dtype) in widenings(mt):
        return r
    if bool_input and held_bool(r) is not None and array_type(r) is not mt:
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


def returned(
    made: Any,
    target: MemoryType,
    mt: MemoryType,
    device: Device | None,
    fn: Callable[..., Any],
    bool_input: bool,
) -> Any:
    """An array (or numpy scalar) of what an OOM fallback of ``fn`` on ``target`` returned,
    moved back to ``mt`` on ``device``, where the call's result goes, as :func:`moved`
    says (``bool_input``: for the primary output of a call whose first array argument is
    bool); one that stays is recorded (:func:`leave`) for ``output="declared"``.

    Only what the fallback made: an array the function returned in another memory type on
    purpose would have been returned so by an unfailed run too. A numpy scalar from a
    numpy fallback (``x.sum()``) is the 0-d array an unfailed run returns elsewhere;
    another's 0-d result is, in numpy, the scalar numpy's reductions give."""
    if isinstance(made, np.generic) and mt is MemoryType.NUMPY:
        return made  # a numpy call's: what its unfailed run gives
    scalar = isinstance(made, np.generic) and target is MemoryType.NUMPY
    r = np.asarray(made) if scalar else made
    if array_type(r) is not target:
        return r
    there = moved(r, mt, device, bool_input)
    if there is r and not placeable(r, mt):  # as made: the placement says why not
        return made
    if mt is MemoryType.NUMPY and target is not mt and there.ndim == 0:
        return there[()]
    if there is r and target is not mt:
        leave(r, mt, device, fn)  # output="declared" takes it back
    return there


def bool_reference(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether the first array argument of a call is bool (the dtype policy's reference)."""
    first = next(arrays(args, kwargs), None)
    return first is not None and dtype_name(getattr(first[0], "dtype", None)) == "bool"


def held_bool(value: Any) -> str | None:
    """The dtype ``value``'s memory type holds bool in (pyclesperanto: ``"uint8"``) if
    ``value`` is an array of that dtype, else None."""
    kind = array_type(value)
    found = None if kind is None else widenings(kind).get("bool")
    if found is None or dtype_name(getattr(value, "dtype", None)) != found:
        return None
    return found


def result_kind(value: Any) -> MemoryType | str | None:
    """:func:`kind_of` a result, where a numpy scalar (what numpy's reductions return,
    ``x.sum()``) counts as the 0-d numpy array it stands for: placed and given the dtype
    policy like one, and left a scalar where nothing is done to it."""
    kind = kind_of(value)
    if kind is None and isinstance(value, np.generic):
        return MemoryType.NUMPY
    return kind


def widened_there(result: Any, kind: MemoryType) -> bool:
    """Whether placing ``result``'s primary output into ``kind`` widens its dtype."""
    widened = widenings(kind)
    if not widened:
        return False
    primary = result[0] if is_tuple(result) and result else result
    found = result_kind(primary)
    if not isinstance(found, MemoryType) or found is kind:
        return False
    return dtype_name(getattr(primary, "dtype", None)) in widened
