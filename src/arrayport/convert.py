"""Choosing and running a conversion route: :func:`plan` and :func:`convert`.

Routes, in order of preference:

1. **identity**: same memory type and device; nothing moves.
2. **device-move**: same framework, another device.
3. **dlpack**: the target imports the source's memory through DLPack (zero-copy on the
   same device), when the source can export and the target can take that dtype, layout,
   alignment and mutability.
4. **host-share**: the target wraps a host view of the source (zero-copy).
5. **host-copy**: one copy into a fresh 64-byte-aligned host buffer the target adopts as
   it is (jax and tensorflow would copy again otherwise); devices copy in and out.

Every refusal that pushes a conversion down this list is a named reason, collected into
``Route.reason``: the route says why it is not a faster one, before any data moves.

Read-only sources (read-only numpy arrays, memory maps opened read-only, jax and
tensorflow arrays, which are immutable) are never handed to a framework as writable
memory: numpy gets a read-only view, torch and cupy a copy (or ``CopyRequiredError`` when
``copy=False``). On a GPU that copy is made by the target on the device after a DLPack
import, never through the host (unverified on hardware here: no GPU in CI).

On the CPU, when numpy is one side, the host share comes before DLPack: numpy arrays *are*
host memory, and the other framework's own wrap or view (``torch.from_numpy``,
``t.numpy()``, ``np.asarray(jax_array)``) is as zero-copy and several times cheaper.

The per-call cost matters (dispatch converts every argument): identity is decided from a
per-type cache without describing the array, backends are loaded once, and routes are
cached by a :data:`~arrayport._host.RouteKey` (everything the route decision reads: dtype,
device, layout, alignment, writability, ...) that the source backend reads cheaply, so a
repeated conversion skips the description and the refusal checks
(``docs/decisions/0045-plan-cache-and-host-first.md``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable
from typing import Any

from arrayport._host import ArrayInfo, RouteKey, aligned_copy, host_info, route_key_of
from arrayport._metrics import metrics
from arrayport.backends import cached_memory_type, detect_memory_type, get_backend
from arrayport.backends._protocol import Backend
from arrayport.devices import CPU, Device, DeviceLike, parse_device
from arrayport.errors import (
    ConversionError,
    CopyRequiredError,
    InvalidOptionError,
    UnsupportedDtypeError,
)
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["Route", "convert", "plan"]


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
        True exactly when the result shares memory with the input.
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


_Runner = Callable[[Any], Any]
_NONE: dict[str, str] = {}

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


def _plan(
    x: Any, to: MemoryType | str, device: DeviceLike, copy: bool | None
) -> tuple[Route, _Runner]:
    copy = _check_copy(copy)
    target = _target(to)
    source = cached_memory_type(type(x))
    pkey = None if source is None else _plan_key(x, source, target, device, copy)
    if pkey is not None:
        found = _plans.get(pkey)
        if found is not None:
            return found
    route, run, info = _make_plan(x, target, device, copy)
    if pkey is None:  # the first conversion of this type or to this target: now loaded
        pkey = _plan_key(x, route.source, target, device, copy)
    # Stored only when the cheap key equals the key of the full description (so a key
    # never stands for arrays it was not computed from) and names the planned device.
    if (
        pkey is not None
        and (pkey[5] or CPU, *pkey[6]) == route_key_of(info, _addresses[target])
        and (pkey[3] or CPU) == route.device
    ):
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[pkey] = (route, run)
    return route, run


def _check_copy(copy: object) -> bool | None:
    if copy is None or isinstance(copy, bool):
        return copy
    msg = f"copy must be None, True or False, not {copy!r}"
    raise InvalidOptionError(msg)


def _check_dtype(s: Backend, t: Backend, info: ArrayInfo) -> str | None:
    """Refuse dtypes and shapes the target cannot hold; note lossless widenings."""
    refusal = t.check_dtype(info.dtype, info.dtype_name)
    if refusal is not None:
        msg = (
            f"cannot convert {info.dtype_name} from {s.MEMORY_TYPE.value} to "
            f"{t.MEMORY_TYPE.value}: {refusal}"
        )
        raise UnsupportedDtypeError(
            msg, dtype=info.dtype_name, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE
        )
    shape = t.shape_refusal(info)
    if shape is not None:
        msg = (
            f"cannot convert a {info.dtype_name} array of shape {info.shape} from "
            f"{s.MEMORY_TYPE.value} to {t.MEMORY_TYPE.value}: {shape}"
        )
        raise ConversionError(msg, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE)
    # WIDENINGS may be left out by a backend that has none.
    widened = getattr(t, "WIDENINGS", _NONE).get(info.dtype_name)
    if widened is not None:
        return (
            f"{info.dtype_name} is widened losslessly to {widened} "
            f"({t.MEMORY_TYPE.value} has no {info.dtype_name})"
        )
    return None


def _make_plan(
    x: Any, target: MemoryType, device: DeviceLike, copy: bool | None
) -> tuple[Route, _Runner, ArrayInfo]:
    """Plan in full from ``describe(x)``: the route, its runner and the description."""
    source = cached_memory_type(type(x)) or detect_memory_type(x)
    s = _backend(source)
    t = _backend(target)
    info = s.describe(x)
    dev = t.resolve_device(parse_device(device), info.device)
    note = _check_dtype(s, t, info)

    def route(method: str, zero_copy: bool, steps: tuple[str, ...], reason: str) -> Route:
        if note:
            reason = f"{reason}; {note}"
        lazy = _lazy_note(s, t)
        if lazy:
            reason = f"{reason}; {lazy}"
        return Route(source, target, dev, method, zero_copy, steps, reason)

    if source is target:
        if dev != info.device:
            if copy is False:
                _refuse_copy(source, target, f"moving from {info.device} to {dev} copies")
            steps: tuple[str, ...] = (f"{source.value} moves the array {info.device} -> {dev}",)
            moved = route("device-move", False, steps, "the array is on another device")
            return moved, (lambda a: t.move(a, dev)), info
        if copy:
            steps = (f"{source.value} copies the array on {dev}",)
            return route("copy", False, steps, "copy=True asks for a fresh buffer"), t.copy, info
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
        if read_only_conflict:
            why_not.append(f"no DLPack share: {_ro_reason(s, t)}")
        else:
            why_not.append(f"no DLPack share: {dl_refusal}")
        if not host_first:
            share = _share_route(s, t, x, info, dev, read_only_conflict, route)
            if isinstance(share, str):
                why_not.append(f"no host share: {share}")
            else:
                return (*share, info)
    if copy is False:
        _refuse_copy(source, target, "; ".join(why_not))
    return (*_host_copy_route(s, t, info, dev, route, why_not), info)


def _share_route(
    s: Backend,
    t: Backend,
    x: Any,
    info: ArrayInfo,
    dev: Device,
    read_only_conflict: bool,
    route: Callable[..., Route],
) -> tuple[Route, _Runner] | str:
    """The host-share route, or why there is none."""
    refusal = _host_share_refusal(s, t, x, info, dev, read_only_conflict)
    if refusal is not None:
        return refusal
    source, target = s.MEMORY_TYPE, t.MEMORY_TYPE

    def run_share(a: Any) -> Any:
        view = s.host_view(a)
        if view is None:  # checked at plan time; a concurrent change is a bug upstream
            msg = f"{source.value} stopped exposing host memory during the conversion"
            raise ConversionError(msg, source=source, target=target, method="host-share")
        return t.adopt_host(view, dev)

    steps = (
        f"{source.value} exposes its host memory (shared)",
        f"{target.value} wraps it (shared)",
    )
    reason = "zero-copy: the target wraps the source's host memory"
    return route("host-share", True, steps, reason), run_share


def _lazy_note(s: Backend, t: Backend) -> str | None:
    # dask (LAZY = True in its backend) holds task graphs, not memory: say so, since a
    # lazy result computes nothing yet and reading a lazy source computes all of it.
    if getattr(t, "LAZY", False):
        return (
            f"the result is lazy: a {t.MEMORY_TYPE.value} task graph, computed only when "
            "asked (.compute(), or converting it to another memory type)"
        )
    if getattr(s, "LAZY", False):
        return f"{s.MEMORY_TYPE.value} computes its task graph (every chunk) to produce the result"
    return None


def _ro_reason(s: Backend, t: Backend) -> str:
    what = "immutable" if s.IMMUTABLE else "read-only (or lazily conjugated/negated)"
    return (
        f"the {s.MEMORY_TYPE.value} source is {what} and {t.MEMORY_TYPE.value} has no "
        "read-only arrays"
    )


def _dlpack_refusal(
    s: Backend, t: Backend, info: ArrayInfo, dev: Device, source_immutable: bool
) -> str | None:
    if not (s.HAS_DLPACK and t.HAS_DLPACK):
        missing = s if not s.HAS_DLPACK else t
        return f"{missing.MEMORY_TYPE.value} has no DLPack the other side can use"
    if info.device != dev:
        return f"the source is on {info.device}, the target on {dev}"
    return s.dlpack_export_refusal(info) or t.dlpack_refusal(info, source_immutable)


def _host_share_refusal(
    s: Backend, t: Backend, x: Any, info: ArrayInfo, dev: Device, read_only_conflict: bool
) -> str | None:
    if not (info.device.is_cpu and dev.is_cpu):
        return f"{info.device} -> {dev} is not host memory on both sides"
    if read_only_conflict:
        return _ro_reason(s, t)
    view = s.host_view(x)
    if view is None:
        return f"{s.MEMORY_TYPE.value} exposes no host view of this array"
    return t.share_refusal(host_info(view, CPU))


def _host_copy_route(
    s: Backend,
    t: Backend,
    info: ArrayInfo,
    dev: Device,
    route: Callable[..., Route],
    why_not: list[str],
) -> tuple[Route, _Runner]:
    source, target = s.MEMORY_TYPE, t.MEMORY_TYPE
    # The target keeps a host buffer as it is only on the CPU; pyclesperanto and GPU
    # targets copy it into their own memory anyway, so alignment does not matter there.
    adopts_host = dev.is_cpu and not t.COPIES_HOST
    steps: list[str] = []
    if getattr(s, "LAZY", False):
        steps.append(f"{source.value} computes the task graph into one fresh host array")
    elif info.device.is_cpu and not s.COPIES_HOST:
        steps.append(f"{source.value} exposes its host memory (shared)")
    else:
        steps.append(f"{source.value} copies {info.device} -> host")
    if adopts_host:
        steps.append("one copy into a fresh 64-byte aligned buffer")
        steps.append(f"{target.value} adopts that buffer (shared)")
    else:
        steps.append(f"{target.value} copies it to {dev}")

    def run_copy(a: Any) -> Any:
        view = s.host_view(a)
        if view is None:
            # A fresh private copy: aligned by the backend where the target needs it.
            fresh = s.to_host(a)
            if adopts_host and t.share_refusal(host_info(fresh, CPU)) is not None:
                fresh = aligned_copy(fresh)
            return t.adopt_host(fresh, dev)
        if not adopts_host:
            return t.adopt_host(view, dev)
        return t.adopt_host(aligned_copy(view), dev)

    return route("host-copy", False, tuple(steps), "; ".join(why_not)), run_copy


def _identity(a: Any) -> Any:
    return a


def _refuse_copy(source: MemoryType, target: MemoryType, why: str) -> None:
    msg = (
        f"copy=False but {source.value} -> {target.value} cannot share memory here ({why}); "
        "pass copy=None to allow a copy"
    )
    raise CopyRequiredError(msg, source=source, target=target)


def plan(
    x: Any, to: MemoryType | str, *, device: DeviceLike = None, copy: bool | None = None
) -> Route:
    """Decide how :func:`convert` would move ``x`` to memory type ``to``, moving no data.

    Parameters
    ----------
    x : array
        An array of any supported memory type.
    to : MemoryType or str
        The target memory type.
    device : None, "cpu", int, "cuda:N", "opencl:N" or Device
        ``None`` stays on the same physical device when the target can hold data there,
        else uses the thread's current accelerator.
    copy : None, True or False
        ``None`` shares memory when possible, ``True`` always copies, ``False`` must share
        (else :class:`CopyRequiredError`).

    Returns
    -------
    Route
        The route, with ``zero_copy`` telling whether the result will share memory.

    Raises
    ------
    The same errors as :func:`convert`, before any data moves.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> ap.plan(np.zeros(3), "numpy").method
    'identity'
    """
    return _plan(x, to, device, copy)[0]


def convert(
    x: Any, to: MemoryType | str, *, device: DeviceLike = None, copy: bool | None = None
) -> Any:
    """Convert ``x`` to memory type ``to``, sharing memory when possible.

    The result is equal to ``x`` in value, shape and dtype (or a lossless widening the
    target needs, named in ``plan(...).reason``), or an arrayport error says why not.

    Parameters
    ----------
    x, to, device, copy
        As for :func:`plan`.

    Raises
    ------
    UnsupportedArrayError
        ``x`` is not an array of a supported framework.
    UnsupportedDtypeError
        The target cannot hold ``x``'s dtype exactly; the message names the remedy.
    ConversionError
        The target cannot hold an array of that shape (pyclesperanto: 0-d, empty, >3-D).
    CopyRequiredError
        ``copy=False`` and the route must copy.
    DeviceError
        The device does not exist or the target cannot use it.
    OutOfMemoryError
        pyclesperanto: the array exceeds the OpenCL device's maximum buffer size.
    BackendUnavailableError
        The target framework is not installed (the message names the extra).

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> a = np.arange(3.0)
    >>> ap.convert(a, "numpy") is a
    True
    """
    if not metrics.enabled:
        # The hot path, for arrays of a known type and a `to` given as a memory type or its
        # value: an identity answered without describing the array, else a cached route.
        source = cached_memory_type(type(x))
        target = _targets.get(to) if isinstance(to, str) else None
        if source is not None and target is not None and (copy is None or type(copy) is bool):
            same = device is None and copy is not True and target is source
            if same and _backend(source).is_plain(x):
                return x
            pkey = _plan_key(x, source, target, device, copy)
            if pkey is not None:
                found = _plans.get(pkey)
                if found is not None:
                    return found[1](x)
        return _plan(x, to, device, copy)[1](x)
    route, run = _plan(x, to, device, copy)
    start = time.perf_counter()
    out = run(x)
    metrics.record_conversion(
        route.source.value,
        route.target.value,
        route.method,
        route.zero_copy,
        _nbytes(x),
        time.perf_counter() - start,
    )
    return out


def _nbytes(x: Any) -> int:
    n = getattr(x, "nbytes", None)
    return int(n) if isinstance(n, int) else 0
