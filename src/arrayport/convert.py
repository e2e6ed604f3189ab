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
import, never through the host.

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
import math
import time
from typing import Any

from arrayport._host import ArrayInfo, route_key_of
from arrayport._metrics import metrics
from arrayport._oom_recognition import requested_bytes
from arrayport._plan_cache import (
    _MAX_PLANS,
    _addresses,
    _backend,
    _host_memory,
    _plan_key,
    _plans,
    _states,
    _target,
    _targets,
)
from arrayport._plan_cache import clear_plan_cache as clear_plan_cache  # tests import it here
from arrayport._routes import (
    _check_dtype,
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
from arrayport.errors import (
    DeviceError,
    InvalidOptionError,
    OutOfMemoryError,
    UnsupportedArrayError,
)
from arrayport.memory_types import MemoryType

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
        _plans[pkey] = (route, run)
    return route, run


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
                _refuse_copy(
                    source, target, f"moving from {info.device} to {dev} copies", "device-move"
                )
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
        _refuse_copy(source, target, "; ".join(why_not), "host-copy")
    return (*_host_copy_route(s, t, info, dev, route, why_not), info)


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
    route = _plan(x, to, device, copy)[0]
    if route.source is not route.target:
        # A size limit convert meets only when it allocates (pyclesperanto's maximum
        # buffer): asked here too, from the full description, so that plan raises it.
        check_size = getattr(_backend(route.target), "check_size", None)
        if check_size is not None:
            check_size(_backend(route.source).describe(x), route.device)
    return route


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
        A copy route's host buffer could not be allocated (chained to numpy's
        ``MemoryError``); pyclesperanto: the array exceeds the OpenCL device's maximum
        buffer size.
    BackendUnavailableError
        The target framework is not installed (the message names the extra).

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> a = np.arange(3.0)
    >>> ap.convert(a, "numpy") is a
    True
    """
    try:
        if not metrics.enabled:
            # The hot path, for arrays of a known type and a `to` given as a memory type or
            # its value: an identity answered without describing the array, else a cached
            # route.
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
    except MemoryError as exc:  # free in 3.11+ until raised (zero-cost exceptions)
        if isinstance(exc, OutOfMemoryError):
            raise  # arrayport's own, with its remedy (pyclesperanto's buffer limit)
        raise _host_oom(exc, x, to) from exc
    metrics.record_conversion(
        route.source.value,
        route.target.value,
        route.method,
        route.zero_copy,
        _nbytes(x),
        time.perf_counter() - start,
    )
    return out


def _host_oom(exc: MemoryError, x: Any, to: object) -> OutOfMemoryError:
    """numpy's MemoryError from a route's host buffer, as arrayport's OutOfMemoryError: it
    names the conversion rather than the staging buffer's internal shape."""
    name = getattr(to, "value", to)
    size = requested_bytes(exc)
    asked = "" if size is None else f" ({size / 2**30:.2f} GiB asked for)"
    msg = (
        f"out of host memory converting an array of shape {tuple(getattr(x, 'shape', ()))} "
        f"to {name}{asked}; free memory held elsewhere, convert it in parts, or let a "
        "decorated function's OOMPolicy(split_axis=...) split it"
    )
    return OutOfMemoryError(msg, memory_type=MemoryType.NUMPY, device=CPU, requested_bytes=size)


def _nbytes(x: Any) -> int:
    n = getattr(x, "nbytes", None)
    if isinstance(n, int):
        return n
    # tensorflow tensors have no nbytes: elements times tf.DType.size (bytes per element).
    per: Any = getattr(getattr(x, "dtype", None), "size", None)
    try:
        return math.prod(int(d) for d in x.shape) * int(per)
    except (TypeError, ValueError, AttributeError):
        return 0
