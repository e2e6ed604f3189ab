"""pyclesperanto devices: the OpenCL device list, the device of an array, where one can go.

Importing this module imports no framework: pyclesperanto is imported only by the first
device lookup, through :func:`arrayport.backends._cle_load.load` (the lists and device
objects are cached, as the OpenCL platform's devices are fixed for the life of the
process). The pyclesperanto backend re-exports :func:`devices`, :func:`device_of`,
:func:`resolve_device` and :func:`cpu_index` as they are, with no wrapper.

* On PoCL the OpenCL device *is* the host CPU: ``device="cpu"`` means that device
  (:func:`cpu_index`, ADR 0008).
* Devices are told apart by *object*, never by name: two identical GPUs share a name, and
  pyclesperanto selects a name by substring. pyclesperanto (0.25.1 measured) keeps one device
  object per device for the life of the process (``select_device(i)``, ``get_device()``
  and an array's ``.device`` all give that object), so an array's device is found by
  identity among the objects :func:`_handles` keeps; the objects define no ``__eq__``, and
  their ``index`` attribute counts within one OpenCL platform, not in the device list.
* pyclesperanto hands out device objects only by selecting them, a global setting:
  :func:`_handles` selects each by index, keeps the objects and puts the user's choice back.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

from arrayport.backends._cle_load import _cle, load
from arrayport.devices import Device
from arrayport.errors import DeviceError

__all__ = ["cpu_index", "device_of", "device_of_object", "devices", "resolve_device"]


@functools.cache
def _device_names() -> tuple[str, ...]:
    # The OpenCL platform's device list is fixed for the life of the process.
    return tuple(load().list_available_devices())


def devices() -> tuple[Device, ...]:
    return tuple(Device("opencl", i) for i in range(len(_device_names())))


# Two threads building the handles at once would each take the other's temporary selection
# for the user's choice, and put that back.
_select_lock = threading.Lock()


@functools.cache
def _handles() -> tuple[Any, ...]:
    """pyclesperanto's device objects in device-list order, kept alive (which keeps their
    ``id`` valid for :func:`_by_id`), selected without changing the current device."""
    cle = load()
    with _select_lock:
        current = cle.get_device()
        # pyclesperanto hands out device objects only by selecting them (a global setting):
        # select each by index, keep the objects, and put the user's choice back.
        found = tuple(cle.select_device(i) for i in range(len(_device_names())))
        index = _position(current, found)
        # None: a pyclesperanto that makes a new object on each lookup, and a name that
        # several devices share; its name is then the best left to select by.
        cle.select_device(index if index is not None else current.name)
    return found


@functools.cache
def _by_id() -> dict[int, Device]:
    return {id(handle): Device("opencl", i) for i, handle in enumerate(_handles())}


def _position(device: Any, handles: tuple[Any, ...]) -> int | None:
    """The index of pyclesperanto's device object ``device``: by identity; else by its name
    where that names exactly one device (for a pyclesperanto that makes a new object on
    each lookup); else None."""
    for i, handle in enumerate(handles):
        if handle is device:
            return i
    names = _device_names()
    return names.index(device.name) if names.count(device.name) == 1 else None


def device_of_object(obj: Any) -> Device:
    """The device of pyclesperanto's device object ``obj`` (an array's ``.device``)."""
    found = _by_id().get(id(obj))
    if found is not None:
        return found
    index = _position(obj, _handles())
    if index is not None:
        return Device("opencl", index)
    names = ", ".join(map(repr, _device_names()))
    msg = (
        f"arrayport cannot tell which OpenCL device pyclesperanto's device {obj.name!r} is: "
        f"it is none of the device objects pyclesperanto listed ({names}), and its name "
        "does not single one out. Use a pyclesperanto that keeps one object per device "
        "(0.25.1 does), or hand arrayport the data as numpy (pyclesperanto.pull(x))"
    )
    raise DeviceError(msg)


def device_of(x: Any) -> Device:
    return device_of_object(x.device)


def _current() -> Device:
    """pyclesperanto's current device: read after the handles are built and under their lock,
    never while :func:`_handles` has another device selected for a moment."""
    _by_id()
    with _select_lock:
        current = _cle().get_device()
    return device_of_object(current)


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
        return source if source.kind == "opencl" else _current()
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


def _cle_device(device: Device) -> Any:
    """pyclesperanto's device object for ``device``, without changing its current device."""
    return _handles()[device.index]
