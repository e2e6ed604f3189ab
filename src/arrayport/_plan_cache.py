"""The loaded backends and the route cache of :mod:`arrayport.convert`.

Holds what :func:`arrayport.convert` reads on every call before any route is chosen: the
``to`` argument resolved to a :class:`~arrayport.MemoryType`, each backend loaded once with
its optional protocol members read once, and the plan cache: ``(Route, runner)`` pairs
keyed by everything the route decision reads (``docs/decisions/0045-plan-cache-and-host-first.md``).
:mod:`arrayport._planning` fills the cache; this module only keys and clears it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from arrayport._host import RouteKey
from arrayport._routes import _Runner
from arrayport.backends import get_backend
from arrayport.backends._protocol import Backend
from arrayport.devices import CPU, Device, DeviceLike, parse_device
from arrayport.memory_types import MemoryType, as_memory_type

if TYPE_CHECKING:
    from arrayport.convert import Route

# `to` as users pass it (a MemoryType or its string value) -> MemoryType, filled lazily.
_targets: dict[object, MemoryType] = {mt: mt for mt in MemoryType}
_targets.update({mt.value: mt for mt in MemoryType})
# Backends whose load() succeeded: load() is not repeated on every call. A backend whose
# load() failed is not recorded, so it is retried (and fails again with its message).
_loaded: dict[MemoryType, Backend] = {}
# Per loaded backend, its optional protocol members (read once, not by getattr per call):
# as a source, its cheap `route_key`; as a target, whether its refusals read the 64-byte
# alignment (`SHARE_ALIGNMENT`) and the global settings its dtype checks read
# (`route_state`, e.g. jax's x64 flag).
_route_keys: dict[MemoryType, Callable[[Any, bool], RouteKey | None] | None] = {}
_addresses: dict[MemoryType, bool] = {}
_states: dict[MemoryType, Callable[[], Hashable] | None] = {}
_host_memory: dict[MemoryType, bool] = {}

# (type(x), target, copy, target device, target state, source device, the rest of the
# RouteKey). A device is None for the CPU: Device's dataclass hash runs in Python (0.2 us).
# (source type, target, copy, target device, target state, source device, the source's
# route key past its device, whose last entry says whether the array is empty).
_PlanKey = tuple[
    type, MemoryType, "bool | None", "Device | None", Hashable, "Device | None", tuple[Any, ...]
]
# Routes (and their runners) already planned, by everything the decision depends on. The
# keys are few (dtypes x layout classes x devices); the bound only guards against a
# pathological stream of distinct ones. Whole entries only: safe without a lock.
_plans: dict[_PlanKey, tuple[Route, _Runner]] = {}
_MAX_PLANS = 4096


def _target(to: object) -> MemoryType:
    try:
        return _targets[to]
    except (KeyError, TypeError):  # TypeError: an unhashable `to`
        return as_memory_type(to)  # type: ignore[arg-type]  # raises with the valid names


def _backend(mt: MemoryType) -> Backend:
    found = _loaded.get(mt)
    if found is None:
        found = get_backend(mt)
        found.load()
        # Optional members (ADR 0045): absent means "no cheap key", "no address needed",
        # "no global state", "not host memory".
        _route_keys[mt] = getattr(found, "route_key", None)
        _addresses[mt] = getattr(found, "SHARE_ALIGNMENT", 0) > 1
        _states[mt] = getattr(found, "route_state", None)
        _host_memory[mt] = bool(getattr(found, "HOST_MEMORY", False))
        _loaded[mt] = found
    return found


def clear_plan_cache() -> None:
    """Forget every cached route (for tests that change a backend's behaviour)."""
    _plans.clear()


def _plan_key(
    x: Any, source: MemoryType, target: MemoryType, device: DeviceLike, copy: bool | None
) -> _PlanKey | None:
    """The cache key of this conversion, or None when it must be planned in full (a source
    without a cheap key, an array its key does not cover, a backend not loaded yet)."""
    key_of = _route_keys.get(source)
    t = _loaded.get(target)
    if key_of is None or t is None:
        return None
    rkey = key_of(x, _addresses[target])
    if rkey is None:
        return None
    requested = None if device is None else parse_device(device)
    # Resolved on every call: it may read the thread's current device (use_device) or a
    # framework's selected device; rkey[0] is the source's device.
    dev = t.resolve_device(requested, rkey[0])
    state = _states[target]
    src = rkey[0]
    return (
        type(x),
        target,
        copy,
        None if dev is CPU else dev,
        None if state is None else state(),
        None if src is CPU else src,
        rkey[1:],
    )
