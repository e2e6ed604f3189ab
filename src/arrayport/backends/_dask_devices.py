"""dask devices: where a dask array's chunks live (the host, or a GPU for cupy chunks).

Importing this module imports no framework: cupy is reached only through arrayport's cupy
backend, asked when a device list or a CUDA device is wanted. The dask backend re-exports
:func:`devices`, :func:`device_of` and :func:`resolve_device` as they are, with no wrapper.

* A dask array's devices are its chunks': numpy chunks are on the CPU, cupy chunks on a
  CUDA device, which needs cupy and a GPU here (:func:`devices`).
* :func:`device_of` reads the meta array (``x._meta``), which says what the chunks are
  without computing one.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from arrayport.devices import CPU, Device
from arrayport.errors import BackendUnavailableError, DeviceError
from arrayport.memory_types import MemoryType

__all__ = ["device_of", "devices", "resolve_device"]


def _cupy_backend() -> ModuleType | None:
    """arrayport's cupy backend when cupy can reach a GPU here, else None."""
    from arrayport.backends import get_backend

    backend = get_backend(MemoryType.CUPY)
    if not backend.is_installed():
        return None
    try:
        backend.load()
    except BackendUnavailableError:  # cupy installed, but no driver or no device
        return None
    return backend  # type: ignore[return-value]


def devices() -> tuple[Device, ...]:
    cp = _cupy_backend()
    return (CPU,) if cp is None else (CPU, *cp.devices())


def _is_cupy(a: object) -> bool:
    return type(a).__module__.partition(".")[0] == "cupy"


def device_of(x: Any) -> Device:
    # The meta array says what the chunks are. cupy chunks may sit on any GPU; the meta's
    # device is the best answer available without computing a chunk.
    meta = getattr(x, "_meta", None)
    if _is_cupy(meta):
        return Device("cuda", int(meta.device.id))  # type: ignore[union-attr]
    return CPU


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None:
        requested = source if source.kind == "cuda" else CPU
    if requested.is_cpu:
        return CPU
    available = devices()
    if requested in available:
        return requested
    msg = (
        f"dask arrays hold numpy chunks (device 'cpu') or cupy chunks (a CUDA device, with "
        f"cupy installed); {requested} is not available here (devices: "
        f"{', '.join(map(str, available))}). Use device='cpu'"
    )
    raise DeviceError(msg)
