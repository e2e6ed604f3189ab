"""backends/_torch_cuda (CUDA streams and memory of the torch backend)."""

from __future__ import annotations

import pytest

from arrayport import MemoryType
from arrayport.backends import _torch_cuda
from arrayport.devices import CPU, Device
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TORCH)


def test_memory_rows_start_with_the_cpu_row() -> None:
    import torch

    rows = _torch_cuda.memory_rows(torch)
    assert rows[0] == {"device": "cpu", "in_use": None, "cached": None, "free": None}
    initialized = torch.cuda.is_available() and torch.cuda.is_initialized()
    assert len(rows) == 1 + (torch.cuda.device_count() if initialized else 0)


def test_release_cuda_ignores_cpu_devices() -> None:
    import torch

    initialized = torch.cuda.is_initialized()
    _torch_cuda.release_cuda(torch, CPU)  # no CUDA work for a CPU device: returns quietly
    _torch_cuda.release_cuda(torch, None)
    # Releasing never starts CUDA (that alone would take memory on every GPU).
    assert torch.cuda.is_initialized() == initialized


@pytest.mark.gpu
def test_thread_stream_runs_on_its_own_stream() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    x = torch.arange(4, device="cuda")
    with _torch_cuda.ThreadStream(torch, 0) as stream:
        assert torch.cuda.current_stream(0) == stream
        y = x * 2
    assert torch.equal(y.cpu(), torch.arange(0, 8, 2))
    moved = _torch_cuda.move_on_thread_stream(torch, x.cpu(), torch.device("cuda", 0), 0)
    assert torch.equal(moved, x)
    assert Device("cuda", 0).kind == "cuda"


@pytest.mark.gpu
def test_dlpack_for_stream_exports_a_tensor_off_the_current_device() -> None:
    # torch's own export refuses a tensor on another GPU than its current device (a
    # BufferError): torch -> jax failed for cuda:1 tensors while device 0 was current.
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs")
    t = torch.arange(8.0, device="cuda:1")
    consumer = torch.cuda.Stream(device=1)
    with torch.cuda.device(0):
        for stream in (consumer.cuda_stream, -1, None):
            back = torch.from_dlpack(_torch_cuda.dlpack_for_stream(torch, t, stream))
            assert back.device == t.device
            assert back.data_ptr() == t.data_ptr()
        assert torch.cuda.current_device() == 0
    consumer.synchronize()
    assert back.tolist() == list(range(8))
