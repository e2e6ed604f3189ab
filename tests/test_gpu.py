"""GPU conversions: run only with ARRAYPORT_DEVICE=cuda on a machine with an NVIDIA GPU.

Unverified here: this repository's CI has no GPU, so these tests are skipped (cleanly) by
tests/conftest.py. They check DLPack zero-copy between cupy, torch, jax and tensorflow on
cuda:0, copies made on the device (never through the host) for immutable sources and
copy=True, and host <-> device round trips.
"""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap
from tests.conftest import INSTALLED

MT = ap.MemoryType
pytestmark = pytest.mark.gpu
GPU_TYPES = [mt for mt in (MT.CUPY, MT.TORCH, MT.JAX, MT.TENSORFLOW) if mt in INSTALLED]


def on_gpu(mt: MT, a: np.ndarray):
    return ap.convert(a, mt, device="cuda:0")


def device_pointer(x) -> int:
    mod = type(x).__module__.partition(".")[0]
    if mod == "cupy":
        return int(x.data.ptr)
    if mod == "torch":
        return int(x.data_ptr())
    if mod in ("jax", "jaxlib"):
        x.block_until_ready()
        return int(x.unsafe_buffer_pointer())
    import tensorflow as tf
    import torch  # tensorflow: read the pointer through torch's DLPack import

    return int(torch.from_dlpack(tf.experimental.dlpack.to_dlpack(x)).data_ptr())


@pytest.mark.parametrize("source", GPU_TYPES)
@pytest.mark.parametrize("target", GPU_TYPES)
def test_gpu_pairs(source: MT, target: MT) -> None:
    a = np.arange(64 * 64, dtype="float32").reshape(64, 64)
    x = on_gpu(source, a)
    assert ap.plan(x, source).device == ap.Device("cuda", 0)
    r = ap.plan(x, target)
    y = ap.convert(x, target)
    assert r.device == ap.Device("cuda", 0)
    np.testing.assert_array_equal(ap.convert(y, "numpy"), a)
    if source is target:
        assert y is x
        return
    assert r.method == "dlpack"
    assert r.zero_copy == (device_pointer(x) == device_pointer(y))
    if source in (MT.JAX, MT.TENSORFLOW) and target in (MT.TORCH, MT.CUPY):
        assert not r.zero_copy  # immutable source: copied on the device
    fresh = ap.convert(x, target, copy=True)
    assert device_pointer(fresh) != device_pointer(x)
    np.testing.assert_array_equal(ap.convert(fresh, "numpy"), a)


@pytest.mark.parametrize("target", GPU_TYPES)
def test_host_to_gpu_and_back(target: MT) -> None:
    a = np.arange(10, dtype="float32")[::-1]
    y = ap.convert(a, target, device="cuda:0")
    assert ap.plan(y, "numpy").method == "host-copy"
    np.testing.assert_array_equal(ap.convert(y, "numpy"), a)


def test_missing_gpu_index_is_a_device_error() -> None:
    for target in GPU_TYPES:
        with pytest.raises(ap.DeviceError):
            ap.convert(np.zeros(2, "float32"), target, device="cuda:999")
