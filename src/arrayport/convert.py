"""Choosing and running a conversion route: :func:`plan` and :func:`convert`.

Routes, in order of preference:

1. **identity**: same memory type and device; nothing moves.
2. **device-move**: same framework, another device.
3. **dlpack**: the target imports the source's memory through DLPack (zero-copy on the
   same device), when the target can take that layout and mutability.
4. **host-share**: the target wraps a host view of the source (zero-copy).
5. **host-copy**: one copy into a fresh 64-byte-aligned host buffer the target adopts as
   it is (jax and tensorflow would copy again otherwise); devices copy in and out.

Every refusal that pushes a conversion down this list is a named reason, collected into
``Route.reason``: the route says why it is not a faster one, before any data moves.

Read-only sources (read-only numpy arrays, memory maps opened read-only, jax and
tensorflow arrays, which are immutable) are never handed to a framework as writable
memory: numpy gets a read-only view, torch and cupy a copy (or ``CopyRequiredError`` when
``copy=False``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from arrayport._host import ArrayInfo, aligned_copy, host_info
from arrayport._metrics import metrics
from arrayport.backends import detect_memory_type, get_backend
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
        return f"{self.source.value} -> {self.target.value} on {self.device}: {self.method} ({share})"


_Runner = Callable[[Any], Any]


def _check_copy(copy: object) -> bool | None:
    if copy is None or isinstance(copy, bool):
        return copy
    msg = f"copy must be None, True or False, not {copy!r}"
    raise InvalidOptionError(msg)


def _check_dtype(s: Backend, t: Backend, info: ArrayInfo) -> str | None:
    """Refuse dtypes the target cannot hold; return a note for lossless widenings."""
    refusal = t.check_dtype(info.dtype, info.dtype_name)
    if refusal is not None:
        msg = f"cannot convert {info.dtype_name} from {s.MEMORY_TYPE.value} to {t.MEMORY_TYPE.value}: {refusal}"
        raise UnsupportedDtypeError(
            msg, dtype=info.dtype_name, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE
        )
    shape = t.shape_refusal(info)
    if shape is not None:
        msg = f"cannot convert an array of shape {info.shape} to {t.MEMORY_TYPE.value}: {shape}"
        raise ConversionError(msg, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE)
    widened = getattr(t, "WIDENINGS", {}).get(info.dtype_name)
    if widened is not None:
        return f"{info.dtype_name} is widened losslessly to {widened} ({t.MEMORY_TYPE.value} has no {info.dtype_name})"
    return None


def _make_plan(x: Any, to: MemoryType | str, device: DeviceLike, copy: bool | None) -> tuple[Route, _Runner]:
    copy = _check_copy(copy)
    source = detect_memory_type(x)
    target = as_memory_type(to)
    s = get_backend(source)
    t = get_backend(target)
    s.load()
    t.load()
    info = s.describe(x)
    dev = t.resolve_device(parse_device(device), info.device)
    note = _check_dtype(s, t, info)

    def route(method: str, zero_copy: bool, steps: tuple[str, ...], reason: str) -> Route:
        if note:
            reason = f"{reason}; {note}"
        return Route(source, target, dev, method, zero_copy, steps, reason)

    if source is target:
        if dev != info.device:
            if copy is False:
                _refuse_copy(source, target, f"moving from {info.device} to {dev} copies")
            return route("device-move", False, (f"{source.value} move {info.device} -> {dev}",),
                         "the array is on another device"), lambda a: t.move(a, dev)
        if copy:
            return route("copy", False, (f"{source.value} copy",), "copy=True asks for a fresh buffer"), t.copy
        return route("identity", True, (), "same memory type and device"), _identity

    why_not: list[str] = []
    source_immutable = s.IMMUTABLE or not info.writable
    if copy is not True:
        # 3. DLPack, same physical device.
        refusal = _dlpack_refusal(s, t, info, dev, source_immutable)
        if refusal is None:
            def run_dlpack(a: Any) -> Any:
                return t.from_dlpack(s.dlpack_source(a), dev, read_only=source_immutable)

            return route("dlpack", True, (f"{target.value} imports {source.value} memory through DLPack",),
                         "zero-copy: DLPack on the same device"), run_dlpack
        why_not.append(f"no DLPack share: {refusal}")
        # 4. host share.
        if info.device.is_cpu and dev.is_cpu:
            view = s.host_view(x)
            if view is None:
                why_not.append(f"no host share: {source.value} exposes no host view")
            else:
                refusal = t.share_refusal(host_info(view, CPU))
                if refusal is None:
                    def run_share(a: Any) -> Any:
                        v = s.host_view(a)
                        return t.adopt_host(v, dev)

                    return route("host-share", True,
                                 (f"{source.value} host view (shared)", f"{target.value} wraps it (shared)"),
                                 "zero-copy: the target wraps the source's host memory"), run_share
                why_not.append(f"no host share: {refusal}")
        else:
            why_not.append(f"no host share: {info.device} -> {dev} crosses devices")
    else:
        why_not.append("copy=True asks for a fresh buffer")
    if copy is False:
        _refuse_copy(source, target, "; ".join(why_not))
    return _host_copy_route(s, t, info, dev, route, why_not)


def _dlpack_refusal(s: Backend, t: Backend, info: ArrayInfo, dev: Device, source_immutable: bool) -> str | None:
    if not (s.HAS_DLPACK and t.HAS_DLPACK):
        missing = s if not s.HAS_DLPACK else t
        return f"{missing.MEMORY_TYPE.value} has no usable DLPack"
    if info.device != dev:
        return f"the source is on {info.device}, the target on {dev}"
    if not s.IMMUTABLE and not info.writable:
        return f"{s.MEMORY_TYPE.value} cannot export read-only or lazily conjugated memory"
    if info.size == 0 or not info.shape:
        # Empty and 0-d arrays are cheap to copy and the frameworks disagree on their
        # DLPack strides; a copy is exact.
        return "0-d and empty arrays are copied (no memory worth sharing)"
    return t.dlpack_refusal(info, source_immutable)


def _host_copy_route(s: Backend, t: Backend, info: ArrayInfo, dev: Device,
                     route: Callable[..., Route], why_not: list[str]) -> tuple[Route, _Runner]:
    source, target = s.MEMORY_TYPE, t.MEMORY_TYPE
    cpu_target = dev.is_cpu and target is not MemoryType.PYCLESPERANTO
    steps = []
    if info.device.is_cpu and source is not MemoryType.PYCLESPERANTO:
        steps.append(f"{source.value} host view (shared)")
    else:
        steps.append(f"{source.value} {info.device} -> host copy")
    if cpu_target:
        steps.append("copy into a 64-byte aligned buffer (skipped when a fresh copy already fits)")
        steps.append(f"{target.value} adopts it (shared)")
    else:
        steps.append(f"{target.value} copies it to {dev}")

    def run_copy(a: Any) -> Any:
        view = s.host_view(a)
        host = view if view is not None else s.to_host(a)
        if not cpu_target:
            return t.adopt_host(host, dev)
        if view is None and host.flags.writeable and t.share_refusal(host_info(host, CPU)) is None:
            return t.adopt_host(host, dev)  # a fresh private copy the target can keep as is
        return t.adopt_host(aligned_copy(host), dev)

    return route("host-copy", False, tuple(steps), "; ".join(why_not)), run_copy


def _identity(a: Any) -> Any:
    return a


def _refuse_copy(source: MemoryType, target: MemoryType, why: str) -> None:
    msg = (
        f"copy=False but {source.value} -> {target.value} cannot share memory here ({why}); "
        "pass copy=None to allow a copy"
    )
    raise CopyRequiredError(msg, source=source, target=target)


def plan(x: Any, to: MemoryType | str, *, device: DeviceLike = None, copy: bool | None = None) -> Route:
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

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> ap.plan(np.zeros(3), "numpy").method
    'identity'
    """
    return _make_plan(x, to, device, copy)[0]


def convert(x: Any, to: MemoryType | str, *, device: DeviceLike = None, copy: bool | None = None) -> Any:
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
    CopyRequiredError
        ``copy=False`` and the route must copy.
    DeviceError
        The device does not exist or the target cannot use it.
    BackendUnavailableError
        The target framework is not installed (the message names the extra).

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> a = np.arange(3.0)
    >>> ap.convert(a, "numpy") is a
    True
    """
    route, run = _make_plan(x, to, device, copy)
    if not metrics.enabled:
        return run(x)
    start = time.perf_counter()
    out = run(x)
    info_bytes = _nbytes(x)
    metrics.record_conversion(route.source.value, route.target.value, route.method,
                              route.zero_copy, info_bytes, time.perf_counter() - start)
    return out


def _nbytes(x: Any) -> int:
    n = getattr(x, "nbytes", None)
    return int(n) if isinstance(n, int) else 0
