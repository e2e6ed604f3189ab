"""backends/_dask_devices: where a dask array's chunks live, and where they can go."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap  # tests/conftest.py imported it before any framework
from arrayport import MemoryType
from arrayport.backends import _dask_devices as dev
from arrayport.backends import get_backend
from arrayport.devices import CPU, Device
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)

da = pytest.importorskip("dask.array")


def test_the_backend_exports_the_same_functions() -> None:
    from arrayport.backends import dask as backend

    for name in ("devices", "device_of", "resolve_device"):
        assert getattr(backend, name) is getattr(dev, name), name


def test_the_cpu_is_always_a_device_and_the_default_for_host_sources() -> None:
    assert dev.devices()[0] == CPU
    assert dev.resolve_device(None, CPU) == CPU
    assert dev.resolve_device(None, Device("opencl", 0)) == CPU
    assert dev.resolve_device(CPU, Device("cuda", 0)) == CPU
    assert not dev._is_cupy(np.ones(1))
    assert not dev._is_cupy(None)


@pytest.mark.skipif(MemoryType.CUPY in ap.available_memory_types(), reason="cupy is usable here")
def test_a_cuda_device_without_cupy_is_refused_naming_cupy() -> None:
    assert dev._cupy_backend() is None
    assert dev.devices() == (CPU,)
    with pytest.raises(ap.DeviceError, match=r"cupy installed\); cuda:0 is not available"):
        dev.resolve_device(Device("cuda", 0), CPU)


@pytest.mark.skipif(MemoryType.CUPY in ap.available_memory_types(), reason="cupy is usable here")
def test_cuda_target_without_cupy_is_a_device_error() -> None:
    with pytest.raises(ap.DeviceError, match="cupy"):
        ap.convert(np.ones(3), "dask", device="cuda:0")


def test_device_is_cpu_for_numpy_chunks() -> None:
    backend = get_backend(MemoryType.DASK)
    assert str(backend.device_of(da.ones(3))) == "cpu"
    assert str(ap.plan(np.ones(3), "dask").device) == "cpu"
