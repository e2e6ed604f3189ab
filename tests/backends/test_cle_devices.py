"""backends/_cle_devices: pyclesperanto's OpenCL devices (on PoCL here)."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.PYCLESPERANTO)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import _cle_devices

    return _cle_devices


def test_the_backend_exports_the_same_functions(be) -> None:
    from arrayport.backends import pyclesperanto as backend

    for name in ("devices", "device_of", "resolve_device", "cpu_index"):
        assert getattr(backend, name) is getattr(be, name), name


def test_devices_and_cpu_alias(be) -> None:
    devs = be.devices()
    assert devs
    assert all(d.kind == "opencl" for d in devs)
    resolved = be.resolve_device(CPU, CPU)  # PoCL: the OpenCL device is the CPU
    assert resolved.kind == "opencl"
    with pytest.raises(DeviceError, match=r"holds data on OpenCL devices \(opencl:0"):
        be.resolve_device(Device("cuda", 0), CPU)


def test_device_handle_does_not_change_the_current_device(be) -> None:
    import pyclesperanto as cle

    before = cle.get_device().name
    be._cle_device(Device("opencl", 0))
    assert cle.get_device().name == before


def test_an_array_is_on_a_listed_device_and_stays_there_by_default(be) -> None:
    import pyclesperanto as cle

    source = be.device_of(cle.push(np.ones(3, np.float32)))
    assert source in be.devices()
    assert be.resolve_device(None, source) == source
    assert be.resolve_device(source, CPU) == source
    # From elsewhere, device=None means pyclesperanto's current device.
    assert be.resolve_device(None, CPU) == Device("opencl", be._current_index())


def test_the_cpu_index_is_the_device_whose_info_says_cpu(be) -> None:
    index = be.cpu_index()
    if index is None:
        pytest.skip("no OpenCL device here is the host CPU")
    assert "CPU" in be._device_info(index)
    assert be.resolve_device(CPU, CPU) == Device("opencl", index)
    assert be._cle_device(Device("opencl", index)) is be._cle_device(Device("opencl", index))
