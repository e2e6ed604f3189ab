"""Choosing a route: the :class:`~arrayport.Route` record and the planner behind
:func:`arrayport.plan` and :func:`arrayport.convert`.

:func:`_plan` answers a conversion from, in turn, the plain identity (an array
``convert`` returns as it is, not described), the plan cache (``_plan_cache.py``: keyed by
everything the decision reads), or a full plan, which it stores when the key is sound
(ADR 0045). :func:`_make_plan` plans in full from the source's description, trying the
routes in the order :mod:`arrayport.convert` documents; the refusal checks it asks and the
runners of the host routes are in :mod:`arrayport._routes`. ``convert``'s hot path does
not come here: it reads the plan cache itself and calls :func:`_plan` only on a miss.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

from arrayport._host import ArrayInfo, route_key_of
from arrayport._plan_cache import (
    _MAX_PLANS,
    _addresses,
    _backend,
    _host_memory,
    _plan_key,
    _PlanKey,
    _plans,
    _states,
    _target,
)
from arrayport._routes import (
    _check_dtype,
    _check_extents,
    _dlpack_refusal,
    _host_copy_route,
    _identity,
    _lazy_note,
    _refuse_copy,
    _ro_reason,
    _Runner,
    _share_route,
)
from arrayport.backends import cached_memory_type, detect_memory_type
from arrayport.backends._protocol import Backend
from arrayport.devices import CPU, Device, DeviceLike, parse_device
from arrayport.errors import DeviceError, InvalidOptionError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

__all__ = ["Route"]


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """How :func:`convert` will move an array, decided without moving data.

    Attributes
    ----------
    source, target : MemoryType
        The memory types converted from and to.
    device : Device
        The device the result will be on.
    method : str
        ``"identity"``, ``"copy"``, ``"device-move"``, ``"dlpack"``, ``"host-share"`` or
        ``"host-copy"``.
    zero_copy : bool
        True exactly when the result shares memory with the input (for an empty array,
        which has no memory to share: whether the route would share it).
    steps : tuple of str
        What happens, in order.
    reason : str
        Why this route and not a faster one (and any lossless dtype widening).
    """

    source: MemoryType
    target: MemoryType
    device: Device
    method: str
    zero_copy: bool
    steps: tuple[str, ...]
    reason: str

    def __str__(self) -> str:
        share = "zero-copy" if self.zero_copy else "copies"
        return (
            f"{self.source.value} -> {self.target.value} on {self.device}: {self.method} ({share})"
        )


# Public home: pickles, reprs and docs name arrayport.convert.Route, as before the class
# moved here (it is built by the planner, which arrayport.convert imports), so no private
# module path is ever stored in a pickle (as FunctionContract, ADR 0042).
Route.__module__ = "arrayport.convert"


def _plan(
    x: Any, to: MemoryType | str, device: DeviceLike, copy: bool | None
) -> tuple[Route, _Runner]:
    copy = _check_copy(copy)
    target = _target(to)
    source = cached_memory_type(type(x)) or detect_memory_type(x)
    if source is target and device is None and copy is not True:
        s = _backend(target)
        if s.is_plain(x):  # what convert returns as it is, without describing it
            return _plain_identity(s, x), _identity
    pkey = _plan_key(x, source, target, device, copy)
    if pkey is not None:
        found = _plans.get(pkey)
        if found is not None:
            return found
        if pkey[6][-1]:  # an empty array: its plan between frameworks is kept aside
            found = _plans.get(_empty_key(pkey))
            if found is not None:
                _check_empty(x, found[0], pkey[6])
                return found
    route, run, info = _make_plan(x, target, device, copy)
    if pkey is None:
        # The first conversion of this type or to this target: not stored, as the target
        # state the plan read (jax's x64 flag) was not read before it. The next one is.
        return route, run
    # Stored only when the cheap key equals the key of the full description (so a key
    # never stands for arrays it was not computed from), names the planned device, and
    # the target's state is still the key's: another thread flipping jax's x64 flag
    # while this plan was made would otherwise leave a 64-bit route cached for 32-bit
    # mode, and later int64 arrays imported into jax unrefused (a thread audit's find).
    state = _states[target]
    if (
        (pkey[5] or CPU, *pkey[6]) == route_key_of(info, _addresses[target])
        and (pkey[3] or CPU) == route.device
        and pkey[4] == (None if state is None else state())
    ):
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        aside = pkey[6][-1] and route.source is not route.target
        _plans[_empty_key(pkey) if aside else pkey] = (route, run)
    return route, run


def _empty_key(pkey: _PlanKey) -> _PlanKey:
    """Where the plan of an empty array between frameworks is cached: not under its own
    key, which ``convert``'s hot path answers from without a check. That key does not tell
    an empty array's extents, and one whose extents numpy cannot describe is refused
    (``_check_extents``): :func:`_plan` checks them before answering from this entry.
    Arrays with no 0 extent pay nothing for it; an empty one, a second key."""
    return (pkey[0], pkey[1], pkey[2], pkey[3], (_EMPTY, pkey[4]), pkey[5], pkey[6])


_EMPTY = object()


def _check_empty(x: Any, route: Route, rkey: tuple[Any, ...]) -> None:
    """``_check_extents`` for an empty array answered from the plan cache (``rkey``: its
    route key past the device, whose first entries are the dtype and its name)."""
    dtype = rkey[0]
    itemsize = 2 if dtype is None else dtype.itemsize  # None: bfloat16 without ml_dtypes
    if math.prod(filter(None, x.shape)) * itemsize > sys.maxsize:
        s, t = _backend(route.source), _backend(route.target)
        _check_extents(s, t, tuple(int(n) for n in x.shape), rkey[1], itemsize)


def _plain_identity(s: Backend, x: Any) -> Route:
    """The identity route of an array :func:`convert` returns as it is (``is_plain``), on
    the device the full plan would resolve, with the same reason.

    ``convert``'s hot path returns a plain array without looking at its device, so an
    array on no single device arrayport names (a torch meta tensor, a jax array sharded
    over several devices) is an identity here too, not the device error the full plan
    would raise: plan and convert agree, on the first call and every later one (ADR 0054).
    Its ``Route.device`` cannot say where it lives; it is the device arrayport would use
    for the framework's data by default, and the reason says so.
    """
    lazy = _lazy_note(s, s)
    try:
        source = s.device_of(x)
    except (DeviceError, UnsupportedArrayError) as exc:
        dev = s.resolve_device(None, CPU)
        reason = (
            f"same memory type: returned as it is, on no device arrayport can name ({exc}); "
            f"Route.device ({dev}) is only the framework's default"
        )
    else:
        dev = s.resolve_device(None, source)
        reason = "same memory type and device"
    reason += f"; {lazy}" if lazy else ""
    return Route(s.MEMORY_TYPE, s.MEMORY_TYPE, dev, "identity", True, (), reason)


def _check_copy(copy: object) -> bool | None:
    if copy is None or isinstance(copy, bool):
        return copy
    msg = f"copy must be None, True or False, not {copy!r}"
    raise InvalidOptionError(msg)


def _make_plan(
    x: Any, target: MemoryType, device: DeviceLike, copy: bool | None
) -> tuple[Route, _Runner, ArrayInfo]:
    """Plan in full from ``describe(x)``: the route, its runner and the description."""
    source = cached_memory_type(type(x)) or detect_memory_type(x)
    s = _backend(source)
    t = _backend(target)
    within = None
    try:
        info = s.describe(x)
    except UnsupportedArrayError:
        # Within one framework (identity, copy) its own kinds stay: numpy's datetimes and
        # strings, nested torch tensors. A backend describes them for that only.
        within = getattr(s, "describe_within", None) if source is target else None
        if within is None:
            raise
    if within is not None:
        info = within(x)  # its own refusal (a mask, foreign chunks) unchained
    dev = t.resolve_device(parse_device(device), info.device)
    note = _check_dtype(s, t, info)

    def route(method: str, zero_copy: bool, steps: tuple[str, ...], reason: str) -> Route:
        if note:
            reason = f"{reason}; {note}"
        lazy = _lazy_note(s, t, method)
        if lazy:
            reason = f"{reason}; {lazy}"
        return Route(source, target, dev, method, zero_copy, steps, reason)

    if source is target:
        if dev != info.device:
            if copy is False:
                _refuse_copy(
                    source, target, f"moving from {info.device} to {dev} copies", "device-move"
                )
            steps: tuple[str, ...] = (f"{source.value} moves the array {info.device} -> {dev}",)
            moved = route("device-move", False, steps, "the array is on another device")
            return moved, (lambda a: t.move(a, dev)), info
        if copy:
            steps = (f"{source.value} copies the array on {dev}",)
            # A kind described for routes within the framework only is copied as itself.
            run = t.copy if within is None else getattr(t, "copy_within", t.copy)
            return route("copy", False, steps, "copy=True asks for a fresh buffer"), run, info
        return route("identity", True, (), "same memory type and device"), _identity, info

    why_not: list[str] = []
    # Torch and cupy have no read-only arrays: wrapping an immutable source would hand out
    # a writable alias. numpy marks its view read-only; jax and tensorflow are immutable.
    source_immutable = s.IMMUTABLE or not info.writable
    read_only_conflict = source_immutable and t.WRITABLE_ONLY
    on_host = info.device.is_cpu and dev.is_cpu
    # numpy is host memory: with numpy on one side on the CPU, the other framework's own
    # wrap/view call is the share, as zero-copy as DLPack and cheaper (ADR 0045).
    host_first = on_host and (_host_memory[source] or _host_memory[target])
    if host_first and copy is not True:
        share = _share_route(s, t, x, info, dev, read_only_conflict, route)
        if isinstance(share, str):
            why_not.append(f"no host share: {share}")
        else:
            return (*share, info)
    dl_refusal = _dlpack_refusal(s, t, info, dev, source_immutable)
    if copy is not True and dl_refusal is None and not read_only_conflict:

        def run_dlpack(a: Any) -> Any:
            return t.from_dlpack(s.dlpack_source(a), dev, read_only=source_immutable)

        steps = (f"{target.value} imports the {source.value} memory through DLPack",)
        reason = "zero-copy: DLPack on the same device"
        return route("dlpack", True, steps, reason), run_dlpack, info
    if dl_refusal is None and not on_host and copy is not False:
        # On an accelerator a copy is made by the target on the device after a zero-copy
        # import, never by a round trip through the host.
        why = "copy=True asks for a fresh buffer" if copy else f"no share: {_ro_reason(s, t)}"

        def run_dlpack_copy(a: Any) -> Any:
            return t.copy(t.from_dlpack(s.dlpack_source(a), dev, read_only=False))

        steps = (
            f"{target.value} imports the {source.value} memory through DLPack",
            f"{target.value} copies it on {dev}",
        )
        return route("dlpack", False, steps, why), run_dlpack_copy, info
    if copy is True:
        why_not.append("copy=True asks for a fresh buffer")
    else:
        # The structural refusal first (dask has no DLPack, whatever its mutability): the
        # read-only source is the reason only where DLPack would otherwise share.
        why_not.append(f"no DLPack share: {dl_refusal or _ro_reason(s, t)}")
        if not host_first:
            share = _share_route(s, t, x, info, dev, read_only_conflict, route)
            if isinstance(share, str):
                why_not.append(f"no host share: {share}")
            else:
                return (*share, info)
    if copy is False:
        _refuse_copy(source, target, "; ".join(why_not), "host-copy")
    return (*_host_copy_route(s, t, info, dev, route, why_not), info)
