"""Device laws, checkable on a CPU-only machine.

* Conversions land on the device their route names and the caller asked for, as the
  framework's own device attribute reports it (on a CPU-only machine every memory type has
  one device, so this law can only catch a misplacement on a GPU machine), and a device
  that does not exist is a :class:`DeviceError`, never a crash or a silent fallback to
  another device.
* Device *moves* need two devices. Without a GPU, array-api-strict's fake devices
  (``device1``, ``device2``) stand in: every write-once function the dispatch laws use
  must keep its result on its input's device there, and
  :func:`arrayport.testing.assert_equivalent` must notice a function that does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport.backends import get_backend
from arrayport.memory_types import MemoryType
from arrayport.testing import ARRAY_API_STRICT, assert_equivalent
from conformance import _functions
from conformance._support import device_name
from conformance.conftest import MEMORY_TYPES, law

_X = np.linspace(-2, 2, 24, dtype=np.float32).reshape(2, 3, 4)


@law("devices.fake_devices_kept", "write-once functions keep results on the input's device")
@pytest.mark.parametrize("fn", [*_functions.GALLERY, _functions.half], ids=lambda f: f.__name__)
def test_functions_keep_the_device(fn: Any) -> None:
    checked = assert_equivalent(fn, _X, memory_types=[ARRAY_API_STRICT])
    assert any("device1" in c for c in checked)
    assert any("device2" in c for c in checked)


@law("devices.fake_devices_kept")
def test_a_device_dropping_function_is_caught() -> None:
    from array_api_compat import array_namespace

    def drops(x: Any) -> Any:
        xp = array_namespace(x)
        return x * xp.asarray(2.0)  # no device=: lands on the default device

    with pytest.raises(AssertionError, match="device1"):
        assert_equivalent(drops, _X, memory_types=[ARRAY_API_STRICT])


@law(
    "devices.route_device",
    "the result is on the device the route names and the caller asked for, as its framework "
    "reports it",
)
@pytest.mark.parametrize("memory_type", MEMORY_TYPES)
def test_result_is_on_the_route_device(memory_type: MemoryType) -> None:
    # The oracle is the framework's own device attribute (device_name), never arrayport's
    # device_of. Every device arrayport lists for the memory type is asked for by name:
    # on a CPU-only machine that is the CPU (pyclesperanto: opencl:0), on a GPU machine
    # (ARRAYPORT_DEVICE=cuda) the GPUs too, where a misplacement can show.
    asked = [str(d) for d in get_backend(memory_type).devices()]
    for source in (_X, ap.convert(_X, memory_type)):
        for device in (None, *asked):
            route = ap.plan(source, memory_type, device=device)
            y = ap.convert(source, memory_type, device=device)
            there = device_name(y)
            what = f"{type(source).__name__} -> {memory_type.value} (device={device!r})"
            assert there == str(route.device), (
                f"{what}: the route names {route.device}, {memory_type.value} says {there}"
            )
            if device is not None:
                assert there == device, f"{what}: {memory_type.value} says it is on {there}"


@law("devices.missing_device", "a device that does not exist is a DeviceError, not a crash")
@pytest.mark.parametrize("memory_type", MEMORY_TYPES)
def test_missing_device_is_refused(memory_type: MemoryType) -> None:
    missing = "opencl:64" if memory_type is MemoryType.PYCLESPERANTO else "cuda:64"
    with pytest.raises(ap.DeviceError, match="64"):
        ap.convert(_X, memory_type, device=missing)
    with pytest.raises(ap.DeviceError):
        ap.plan(_X, memory_type, device=missing)
