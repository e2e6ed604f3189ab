"""pyclesperanto devices: the OpenCL device list, the device of an array, where one can go.

Importing this module imports no framework: pyclesperanto is imported only by the first
device lookup, through :func:`arrayport.backends._cle_load.load` (the lists and device
objects are cached, as the OpenCL platform's devices are fixed for the life of the
process). The pyclesperanto backend re-exports :func:`devices`, :func:`device_of`,
:func:`resolve_device` and :func:`cpu_index` as they are, with no wrapper.

* On PoCL the OpenCL device *is* the host CPU: ``device="cpu"`` means that device
  (:func:`cpu_index`, ADR 0008).
* pyclesperanto hands out device objects only by selecting them, a global setting:
  :func:`_cle_device` selects, keeps the handle and puts the user's choice back.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from arrayport.backends._cle_load import _cle, load
from arrayport.devices import Device
from arrayport.errors import DeviceError

__all__ = ["cpu_index", "device_of", "devices", "resolve_device"]


@functools.cache
def _device_names() -> tuple[str, ...]:
    # The OpenCL platform's device list is fixed for the life of the process.
    return tuple(load().list_available_devices())


def devices() -> tuple[Device, ...]:
    return tuple(Device("opencl", i) for i in range(len(_device_names())))


def _index_of(name: str) -> int:
    names = _device_names()
    return names.index(name) if name in names else 0


def device_of(x: Any) -> Device:
    return Device("opencl", _index_of(x.device.name))


def _current_index() -> int:
    return _index_of(_cle().get_device().name)


@functools.cache
def _device_info(index: int) -> str:
    return str(_cle_device(Device("opencl", index)).info)


@functools.cache
def cpu_index() -> int | None:
    """The index of an OpenCL device that is the host CPU (PoCL's pthread device), if any."""
    for i in range(len(_device_names())):
        if re.search(r"Device Type:\s*CPU", _device_info(i)):
            return i
    return None


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None:
        return source if source.kind == "opencl" else Device("opencl", _current_index())
    n = len(_device_names())
    if requested.kind == "opencl" and requested.index < n:
        return requested
    if requested.is_cpu:
        # On PoCL the OpenCL device *is* the CPU: device="cpu" means that device.
        index = cpu_index()
        if index is not None:
            return Device("opencl", index)
    where = "opencl:0 only" if n == 1 else f"opencl:0..opencl:{n - 1}"
    msg = (
        f"pyclesperanto holds data on OpenCL devices ({where} here), not on {requested}: "
        "pass device=None or one of those"
    )
    raise DeviceError(msg)


_handles: dict[int, Any] = {}


def _cle_device(device: Device) -> Any:
    """pyclesperanto's device object for ``device``, without changing its current device."""
    found = _handles.get(device.index)
    if found is not None:
        return found
    cle = load()
    current = cle.get_device()
    if _index_of(current.name) == device.index:
        found = current
    else:
        # pyclesperanto hands out device objects only by selecting them (a global
        # setting): select, keep the handle, and put the user's choice back.
        found = cle.select_device(_device_names()[device.index])
        cle.select_device(current.name)
    _handles[device.index] = found
    return found
