"""Recognising out-of-memory errors and reading them, for :class:`~arrayport.OOMPolicy`.

Mechanism apart from policy: whether an exception is out-of-memory is each backend's
``is_oom`` to say (``docs/decisions/0020-oom-recognition.md``); this module asks the right
backends in the right order, finds where a call runs (its first array argument, by
:mod:`arrayport._arguments`' rule), and reads the requested size from an error.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from typing import Any, TypeVar

from arrayport._arguments import arrays
from arrayport.backends import get_backend
from arrayport.backends import jax as _jax_backend
from arrayport.devices import Device
from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    InvalidOptionError,
    OutOfMemoryError,
)
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = [
    "Site",
    "find_site",
    "format_bytes",
    "loaded",
    "oom_memory_type",
    "requested_bytes",
    "settled",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Site:
    """Where a call runs: the memory type and device of its first array argument."""

    memory_type: MemoryType | None
    device: Device | None


def find_site(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Site:
    """The call's :class:`Site`, from its first array argument (``Site(None, None)`` if it
    has none). Arrays one level down in list and tuple arguments count, as in dispatch."""
    for argument in (*args, *kwargs.values()):
        try:
            found = next(arrays((argument,), {}), None)
        except ArrayportError:
            # One that dispatch refuses (a masked array): it has no site, and the policy
            # must not raise that refusal in place of the function's own error or result.
            continue
        if found is None:
            continue
        value, mt = found
        try:
            device: Device | None = get_backend(mt).device_of(value)
        except Exception:  # the site must never replace the call's own error
            # A sharded jax array has no single device: release targets all devices. A jax
            # tracer (inside jax.jit) answers with jax's ConcretizationTypeError.
            device = None
        return Site(mt, device)
    return Site(None, None)


def loaded(mt: MemoryType) -> bool:
    """Whether ``mt``'s framework is imported (its errors can only come from then on).

    A ``None`` entry in ``sys.modules`` blocks an import: not imported."""
    try:
        return sys.modules.get(get_backend(mt).IMPORT_NAME) is not None
    except BackendUnavailableError:
        return False


def oom_memory_type(exc: BaseException, site: MemoryType | None) -> MemoryType | None:
    """The memory type whose backend calls ``exc`` out-of-memory, or None.

    The frameworks already imported that recognise their own error types are asked first,
    the call's own among them first; then the backends that claim any ``MemoryError``
    (``CLAIMS_MEMORY_ERROR``: numpy, for any host allocation, then pyclesperanto and
    dask), the call's own among them first. A function declared on one framework may use
    another inside: cupy's ``OutOfMemoryError`` is a ``MemoryError``, and in a numpy
    function too its pool must be the one released. Frameworks not yet imported cannot
    have raised.
    """
    if isinstance(exc, OutOfMemoryError):  # arrayport's own (nested call, buffer limits)
        try:
            if exc.memory_type is not None:
                return as_memory_type(exc.memory_type)
        except InvalidOptionError:
            pass
        return site or MemoryType.NUMPY
    for mt in _asking_order(site):
        if mt is not MemoryType.NUMPY and not loaded(mt):
            continue
        try:
            if get_backend(mt).is_oom(exc):
                return mt
        except BackendUnavailableError:  # imported but unusable here (cupy without a GPU)
            continue
    return None


@functools.cache
def _asking_order(site: MemoryType | None) -> tuple[MemoryType, ...]:
    """Every memory type in the order :func:`oom_memory_type` asks them (stable sorts:
    ``site`` first, then MemoryType's order, within each group)."""
    order = sorted(MemoryType, key=lambda m: m is not site)
    return tuple(sorted(order, key=lambda m: _claims_memory_error(m)))


def _claims_memory_error(mt: MemoryType) -> bool:
    return bool(getattr(get_backend(mt), "CLAIMS_MEMORY_ERROR", False))


_EXACT = re.compile(r"allocat(?:e|ing)\s+([\d,]+)\s*bytes", re.IGNORECASE)
# XLA words sizes as tensorflow's HumanReadableNumBytes does: "4.00PiB", "512B".
_UNITS = re.compile(r"allocate\s+(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|PiB|EiB)\b", re.IGNORECASE)
_TENSOR = re.compile(r"shape\s*\[([\d,\s]*)\]\s+and type (\w+)")
_UNIT_BYTES = {
    "b": 1,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
    "pib": 1 << 50,
    "eib": 1 << 60,
}
# Element sizes of the type names in "OOM when allocating tensor with shape[...] and type T".
_TYPE_BYTES = {
    "bool": 1,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "uint16": 2,
    "half": 2,
    "bfloat16": 2,
    "int32": 4,
    "uint32": 4,
    "float": 4,
    "int64": 8,
    "uint64": 8,
    "double": 8,
    "complex64": 8,
    "complex128": 16,
}


def requested_bytes(exc: BaseException) -> int | None:
    """The allocation size an out-of-memory error reports, when it reports one.

    Exact from numpy's error object and from messages giving a byte count; from a message
    giving "2.00 GiB" it is as precise as the message (three significant digits).
    """
    total = getattr(exc, "_total_size", None)
    if isinstance(total, int):
        return total
    text = str(exc)
    found = _EXACT.search(text)
    if found:
        return int(found.group(1).replace(",", ""))
    found = _UNITS.search(text)
    if found:
        return round(float(found.group(1)) * _UNIT_BYTES[found.group(2).lower()])
    found = _TENSOR.search(text)
    if found and found.group(2) in _TYPE_BYTES:
        n = _TYPE_BYTES[found.group(2)]
        for dim in found.group(1).split(","):
            n *= int(dim) if dim.strip() else 1
        return n
    return None


def settled(result: T) -> T:
    """``result`` once every jax array in it is computed, so that an out-of-memory error
    from jax's asynchronous execution is raised inside the policy's attempt that caused it
    and can be recovered (ADR 0059). Without jax loaded there is nothing to wait for."""
    if "jax" in sys.modules:
        _jax_backend.settle(result)
    return result


def format_bytes(n: int) -> str:
    """``n`` bytes for a message: "512 bytes", "1.5 GiB"."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if size < 1024 or unit == "EiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover  (the loop always returns)
