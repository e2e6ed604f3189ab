"""Placing a dispatched call's arrays: the arguments onto the declared memory type and one
device; the result where the contract's ``output`` says, its primary output with the dtype
the contract's ``dtype_conversion`` says.

Only the dispatch slow path comes here (:mod:`arrayport.dispatch`): when every array
argument already has the declared memory type and no device is declared, nothing in this
module runs (``docs/decisions/0015-dispatch-fast-path.md``). The backends' quick shares
between numpy and another framework (:func:`quick_share`, :func:`quick_arguments`) are
looked up here once per pair and then called by dispatch directly
(``docs/decisions/0048-dispatch-quick-shares.md``), as is each memory type's stream hook
(:func:`stream_hook`). Which arrays count as
arguments is :mod:`arrayport._arguments`' rule; how results are placed is
``docs/decisions/0016-dispatch-output-placement-and-dtype.md``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from arrayport import dtypes as _dtypes
from arrayport._arguments import (
    CONTAINER,
    KINDS,
    UNSEEN,
    is_tuple,
    kind_of,
    map_arrays,
    rebuild,
)
from arrayport._plan_cache import _loaded
from arrayport._results import (
    OF_THE_RESULT,
    Left,
    each_array,
    held_bool,
    kept,
    result_kind,
    widened_there,
)
from arrayport._stack_rows import place_sliced
from arrayport.backends import get_backend
from arrayport.convert import convert
from arrayport.devices import Device, current_device_index
from arrayport.dtypes import DtypeConversion, Scaling
from arrayport.errors import BackendUnavailableError, UnsupportedDtypeError
from arrayport.memory_types import MemoryType

if TYPE_CHECKING:
    from arrayport._contract import FunctionContract

__all__ = [
    "call",
    "convert_arguments",
    "device_of_or_none",
    "convert_dtype",
    "place",
    "place_with_policy",
    "quick_arguments",
    "quick_share",
    "resolve_device",
    "stream_hook",
    "taken_back",
]

_Quick = Callable[[Any], Any]
# (source, target) -> the backends' quick share between them, or None (ADR 0048). Decided
# once both backends are loaded; whole entries only, so no lock is needed.
_QUICK: dict[tuple[Any, Any], _Quick | None] = {}


def quick_share(source: Any, target: MemoryType) -> _Quick | None:
    """The backends' quick share from ``source`` to ``target`` (None: plan in full)."""
    found = _QUICK.get((source, target), UNSEEN)
    if found is not UNSEEN:
        return cast("_Quick | None", found)
    s, t = _loaded.get(source), _loaded.get(target)
    if s is None or t is None:
        return None  # asked again once convert() has loaded both
    quick: _Quick | None = None
    if source is MemoryType.NUMPY:
        quick = getattr(t, "quick_from_numpy", None)
    elif target is MemoryType.NUMPY:
        quick = getattr(s, "quick_to_numpy", None)
    _QUICK[source, target] = quick
    return quick


# The per-thread stream hook of each declared memory type, looked up once (ADR 0019).
_StreamHook = Callable[[Any], "AbstractContextManager[Any] | None"]
_STREAM_HOOKS: dict[MemoryType, _StreamHook | None] = {}


def stream_hook(mt: MemoryType) -> _StreamHook | None:
    """The backend's ``call_stream`` (CUDA frameworks only: the thread's own stream)."""
    hook = _STREAM_HOOKS.get(mt, UNSEEN)
    if hook is UNSEEN:
        try:
            hook = getattr(get_backend(mt), "call_stream", None)
        except BackendUnavailableError:  # no backend module for it in this version
            hook = None
        _STREAM_HOOKS[mt] = cast("_StreamHook | None", hook)
    return cast("_StreamHook | None", hook)


def quick_arguments(args: tuple[Any, ...], target: MemoryType) -> tuple[Any, ...] | None:
    """The positional arguments with every array shared onto ``target`` by the backends'
    quick shares (CPU arrays, exactly what :func:`arrayport.convert` would return), or
    None when any array needs the planner (then nothing was converted that matters).

    Each distinct array is shared once, however often it is passed, as
    :func:`convert_arguments` does.
    """
    out = []
    done: dict[int, Any] | None = {} if len(args) > 1 else None
    for a in args:
        # The dispatch scan has classified every argument; another thread may have
        # emptied the type cache since (at its size limit): classified again then.
        kind = KINDS.get(type(a), UNSEEN)
        if kind is UNSEEN:
            kind = kind_of(a)
        if kind is None or kind is target:
            out.append(a)
            continue
        if kind is CONTAINER:
            return None
        if done is not None and id(a) in done:
            out.append(done[id(a)])
            continue
        quick = quick_share(kind, target)
        shared = None if quick is None else quick(a)
        if shared is None:
            return None
        if done is not None:
            done[id(a)] = shared
        out.append(shared)
    return tuple(out)


def resolve_device(device: Device | str | None) -> Device | None:
    """The contract's device for this call: a bare ``"cuda"``/``"opencl"`` becomes the
    calling thread's current accelerator (:func:`arrayport.use_device`)."""
    if isinstance(device, str):
        return Device(device, current_device_index())  # type: ignore[arg-type]
    return device


def _to_target(a: Any, target: MemoryType, dev: Device | None) -> Any:
    """``a`` as ``target`` on ``dev`` (None: where ``target`` puts it)."""
    if kind_of(a) is target:
        here = device_of_or_none(target, a)
        if dev is None or here is None or here == dev:
            return a
    return convert(a, target, device=dev)


def device_of_or_none(mt: MemoryType, x: Any) -> Device | None:
    """The device of ``x``, an array of ``mt``; None where its framework places it itself
    (a jax tracer inside ``jit``, a sharded jax array: ``placement_device``)."""
    backend = get_backend(mt)
    placement = getattr(backend, "placement_device", None)
    return placement(x) if placement is not None else backend.device_of(x)


def convert_arguments(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    first: Any,
    target: MemoryType,
    device: Device | str | None,
) -> tuple[tuple[Any, ...], dict[str, Any], Any, Device | None]:
    """Every array argument converted to ``target`` on one device.

    The device is the declared one, else the one where ``first`` (the first array
    argument) lands. Each distinct array is converted once, however often it is passed.
    An argument whose framework places it itself (a jax tracer or sharded array) stays as
    it is; where ``first`` is one, the others go where ``target`` puts them (device None).
    Returns the new arguments, the converted ``first`` and the device.
    """
    dev = resolve_device(device)
    if dev is None:
        cfirst = first if kind_of(first) is target else convert(first, target)
        dev = device_of_or_none(target, cfirst)
    else:
        cfirst = _to_target(first, target, dev)
    done: dict[int, Any] = {id(first): cfirst}
    on = dev

    def put(a: Any) -> Any:
        key = id(a)
        out = done.get(key, UNSEEN)
        if out is UNSEEN:
            out = _to_target(a, target, on)
            done[key] = out
        return out

    try:
        cargs, ckwargs = map_arrays(args, kwargs, put)
    except BaseException:
        # A move that ran out of memory: the error's frames keep `put`, and so `done`,
        # with the inputs already moved; a retry would hold them beside its own copies.
        done.clear()
        raise
    return cargs, ckwargs, cfirst, dev


def call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``: a plain run where a run under a policy could be passed."""
    return fn(*args, **kwargs)


def place(
    result: Any,
    output: str | MemoryType,
    first: Any,
    first_kind: MemoryType,
    *,
    moved: bool,
    keep: bool = False,
) -> Any:
    """``result`` where ``output`` says: ``"declared"`` leaves it, ``"input"`` sends it to
    ``first``'s memory type and device (unless nothing was ``moved`` on the way in and it
    already has that memory type), a memory type converts it there.

    An array result, and every array at the top level of a tuple or list result, is placed;
    anything else passes through. ``keep``: an array whose dtype that memory type would
    widen or refuse stays where it is, for the dtype policy to see later (a piece of an OOM
    recovery, ADR 0072: :func:`arrayport._results.kept`).
    """
    if output == "declared":
        return result
    if output == "input":
        kind = result_kind(result)
        if not moved and (
            kind is first_kind or (kind is CONTAINER and _all_of(result, first_kind))
        ):
            return result  # nothing was moved, so nothing is moved back
        if kind is None:
            return result
        dev = device_of_or_none(first_kind, first)  # None: a jax tracer's result stays as made
        return _place_value(result, first_kind, dev, top=True, keep=keep)
    return _place_value(result, cast(MemoryType, output), None, top=True, keep=keep)


def _all_of(result: Any, kind: MemoryType) -> bool:
    """Whether every array at the top level of the container ``result`` is of ``kind``."""
    return all(result_kind(v) in (kind, None, CONTAINER) for v in result)


def place_with_policy(
    result: Any,
    contract: FunctionContract,
    first: Any,
    first_kind: MemoryType,
    *,
    moved: bool,
    bool_stand_in: str | None,
    one_slice: bool = False,
) -> Any:
    """:func:`place`, with the dtype policy applied first where placing the primary output
    would change or refuse its dtype (ADR 0016's amendment): pyclesperanto holds a bool
    result as uint8 0 and 1, which ``Scaling.UNIT`` would then read as 0 and 1/255; jax
    without 64-bit mode and pyclesperanto refuse a float64 result whose policy dtype
    (float32 input, ``PRESERVE_INPUT``) they hold. The policy then runs again on the placed
    result, where it changes nothing (its dtype is already the policy's). A sliced call's
    per-slice results are each placed so, then given the policy, as an unsliced result
    (:mod:`arrayport._stack_rows`, ``one_slice``; ``Scaling.MINMAX`` refused there). With
    ``bool_stand_in`` :data:`~arrayport._results.OF_THE_RESULT`, a primary output an OOM
    fallback left in its memory type as the input's bool widened there is placed, then
    read by value (as for a function declared there)."""
    output, policy, scaling = contract.output, contract.dtype_conversion, contract.scaling
    if contract.slice_by_slice and not one_slice:
        result = place_sliced(
            result, contract, first, first_kind, moved=moved, bool_stand_in=bool_stand_in
        )
    if output == "declared" or policy is DtypeConversion.NATIVE_OUTPUT:
        return place(result, output, first, first_kind, moved=moved)
    if bool_stand_in is OF_THE_RESULT:  # a fallback's widened bool: placed, read by value
        found = held_bool(result[0] if is_tuple(result) and result else result)
        if found is not None:
            placed = place(result, output, first, first_kind, moved=moved)
            return convert_dtype(placed, first, policy, scaling, found)
    kind = first_kind if output == "input" else cast(MemoryType, output)
    if not widened_there(result, kind):
        try:
            return place(result, output, first, first_kind, moved=moved)
        except UnsupportedDtypeError:
            pass  # the policy may give it a dtype ``kind`` holds: tried below
    converted = convert_dtype(result, first, policy, scaling, bool_stand_in)
    return place(converted, output, first, first_kind, moved=moved)


def taken_back(
    result: Any, left: Left, contract: FunctionContract, first: Any, bool_stand_in: str | None
) -> Any:
    """An ``output="declared"`` call's result with the arrays its OOM fallback left in the
    fallback's memory type (``left``) taken back: the dtype policy applied to the primary
    output first, as for an unfailed run, then each moved to the declared memory type,
    at any depth of the result (the input's bool, widened by the fallback: moved, then read
    by value). One the declared type cannot hold even then (float64 into jax without
    64-bit mode under ``NATIVE_OUTPUT``) stays where the fallback made it."""
    policy, scaling = contract.dtype_conversion, contract.scaling
    primary = result[0] if is_tuple(result) and result else result
    spot = left.where(primary)
    # A fallback's widened bool (OF_THE_RESULT) is moved back first, then read by value.
    found = held_bool(primary) if spot is not None and bool_stand_in is OF_THE_RESULT else None
    if spot is not None and found is None:
        converted = convert_dtype(result, first, policy, scaling, bool_stand_in)
        if converted is not result:  # the primary output in the policy's dtype, left too
            new = converted[0] if is_tuple(converted) and converted else converted
            left.items.append((new, *spot))
            result = converted

    def back(value: Any) -> Any:
        where = left.where(value)
        if where is None:
            return value
        with contextlib.suppress(UnsupportedDtypeError):
            return convert(value, where[0], device=where[1])
        return value

    result = each_array(result, back)
    return result if found is None else convert_dtype(result, first, policy, scaling, found)


def _place_value(
    value: Any, kind: MemoryType, dev: Device | None, *, top: bool, keep: bool = False
) -> Any:
    k = result_kind(value)
    if k is CONTAINER and top:
        return rebuild(value, [_place_value(v, kind, dev, top=False, keep=keep) for v in value])
    if not isinstance(k, MemoryType):
        return value
    if k is kind and (dev is None or get_backend(k).device_of(value) == dev):
        return value
    if isinstance(value, np.generic):
        value = np.asarray(value)
    return kept(value, kind, dev) if keep else convert(value, kind, device=dev)


def convert_dtype(
    result: Any,
    first: Any,
    dtype_conversion: DtypeConversion,
    scaling: Scaling,
    bool_stand_in: str | None = None,
) -> Any:
    """``result`` with the dtype policy applied to its primary output (the result, or the
    first element of a tuple result), against ``first``, the first array argument;
    ``bool_stand_in``: the declared framework's dtype for bool, or that of the primary
    output's memory type (:data:`~arrayport._results.OF_THE_RESULT`; see
    :func:`arrayport.dtypes.apply_dtype_conversion`)."""
    tuple_result = is_tuple(result)
    primary = result[0] if tuple_result and result else result
    if not isinstance(result_kind(primary), MemoryType):
        return result  # not an array: nothing to convert
    # The input's dtype needs no policy, unless MINMAX asks for a stretch whatever the
    # dtype (ADR 0016); other dtypes are compared by name in the policy.
    done_if_same = (
        dtype_conversion is DtypeConversion.PRESERVE_INPUT and scaling is not Scaling.MINMAX
    )
    if isinstance(primary, np.generic):
        if done_if_same and type(first) is np.ndarray and primary.dtype == first.dtype:
            return result
        primary = np.asarray(primary)
    if done_if_same and (
        (type(primary) is type(first) and primary.dtype == first.dtype)
        or _same_dtype_name(primary, first)  # tf symbolic of numpy input; Parameter input
    ):
        return result
    if scaling is not Scaling.MINMAX and dtype_conversion.value == _dtypes.dtype_name(
        getattr(primary, "dtype", None)
    ):
        return result  # a fixed dtype it already has (a symbolic tensor cannot be asked)
    if bool_stand_in is OF_THE_RESULT:  # see place_with_policy
        bool_stand_in = held_bool(primary)
    converted = _dtypes.apply_dtype_conversion(
        primary, dtype_conversion, scaling, first, bool_stand_in=bool_stand_in
    )
    if not tuple_result:
        return converted
    return rebuild(result, [converted, *result[1:]])


def _same_dtype_name(a: Any, b: Any) -> bool:
    """Whether two arrays have dtypes of one name (``tf.float32`` and numpy's ``float32``;
    a ``torch.nn.Parameter`` and a plain tensor): the policy, which compares dtypes by
    name, has nothing to do, and the result stays as made (autograd included)."""
    name = _dtypes.dtype_name(getattr(a, "dtype", None))
    return name is not None and name == _dtypes.dtype_name(getattr(b, "dtype", None))
