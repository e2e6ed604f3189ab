"""backends/cupy: detection without a GPU here; the CUDA paths run in tests/test_gpu.py."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from arrayport.backends import cupy as be
from arrayport.devices import Device
from arrayport.errors import BackendUnavailableError
from tests.conftest import ON_GPU


def test_constants() -> None:
    assert be.HAS_DLPACK
    assert be.WRITABLE_ONLY
    assert be.COPIES_HOST
    assert not be.IMMUTABLE


def test_is_installed_does_not_import_cupy() -> None:
    was = "cupy" in sys.modules
    be.is_installed()
    assert ("cupy" in sys.modules) == was


@pytest.mark.skipif(ON_GPU, reason="checks the no-GPU behaviour")
def test_load_without_gpu_says_why() -> None:
    if be.is_installed():
        pytest.skip("cupy and a CUDA driver are present")
    with pytest.raises(BackendUnavailableError):
        be.load()


class _Driver:
    """The CUDA driver's two calls the report makes, with a primary context on ``active``."""

    def __init__(self, active: set[int], get_status: int = 0) -> None:
        self.active = active
        self.get_status = get_status

    def cuDeviceGet(self, device: Any, ordinal: Any) -> int:
        device._obj.value = ordinal.value
        return self.get_status

    def cuDevicePrimaryCtxGetState(self, device: Any, flags: Any, active: Any) -> int:
        active._obj.value = int(device.value in self.active)
        return 0


class _Cupy:
    """cupy as memory_info uses it, recording the devices it enters."""

    def __init__(self) -> None:
        self.entered: list[int] = []
        pool = SimpleNamespace(used_bytes=lambda: 4096, total_bytes=lambda: 8192)
        self.get_default_memory_pool = lambda: pool
        runtime = SimpleNamespace(memGetInfo=lambda: (1 << 30, 2 << 30))
        self.cuda = SimpleNamespace(Device=self._device, runtime=runtime)

    @contextlib.contextmanager
    def _device(self, index: int) -> Iterator[None]:
        self.entered.append(index)
        yield


@pytest.mark.parametrize(
    ("driver", "entered", "devices"),
    [
        (_Driver({1}), [1], ["cuda:1"]),
        (_Driver(set()), [], ["-"]),
        (_Driver({0}, get_status=3), [], ["-"]),  # the driver not initialised: no context
        (_Driver({0}, get_status=101), [], ["-"]),  # another failure: cannot tell
        (None, [], ["-"]),  # no driver library to ask
    ],
)
def test_memory_info_asks_only_gpus_with_a_context(
    monkeypatch: pytest.MonkeyPatch, driver: _Driver | None, entered: list[int], devices: list[str]
) -> None:
    # Every GPU was entered and asked for its free memory, creating a context (hundreds of
    # MiB) on each one that had none.
    cp = _Cupy()
    monkeypatch.setattr(be, "load", lambda: cp)
    monkeypatch.setattr(be, "devices", lambda: (Device("cuda", 0), Device("cuda", 1)))
    monkeypatch.setattr(be, "_driver", lambda: driver)
    rows = be.memory_info()
    assert cp.entered == entered
    assert [row["device"] for row in rows] == devices
    if entered:
        assert rows[0] == {
            "device": "cuda:1",
            "in_use": 4096,
            "cached": 4096,
            "free": 1 << 30,
            "total": 2 << 30,
        }
    elif driver is not None and driver.get_status != 101:
        assert rows[0]["note"].startswith("no GPU has a CUDA context in this process yet")
    else:
        assert rows[0]["note"].startswith("not asked: the CUDA driver")
