"""backends/_dask_chunks: host memory wrapped as dask chunk views, and chunks moved between
host and GPU (on dask's synchronous scheduler, in this process)."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap  # tests/conftest.py imported it before any framework
from arrayport import MemoryType
from arrayport.backends import _dask_chunks as chunks
from arrayport.backends import get_backend
from arrayport.devices import CPU
from tests.conftest import ON_GPU, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(autouse=True)
def _synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


def test_the_backend_exports_the_same_functions() -> None:
    from arrayport import _dask_dispatch
    from arrayport.backends import dask as backend

    for name in ("from_numpy", "move", "_meta"):
        assert getattr(backend, name) is getattr(chunks, name), name
    assert _dask_dispatch._meta is chunks._meta


def test_chunk_slices_cover_the_array_in_block_order() -> None:
    assert chunks._chunk_slices(((2, 1), (3,))) == [
        (slice(0, 2), slice(0, 3)),
        (slice(2, 3), slice(0, 3)),
    ]
    assert chunks._chunk_slices(()) == [()]


def test_from_numpy_wraps_views_of_the_host_array_under_a_fresh_name() -> None:
    a = np.arange(24.0).reshape(4, 6)
    with dask.config.set({"array.chunk-size": "64B"}):
        x = chunks.from_numpy(a, CPU)
    assert x.npartitions > 1
    assert x.name.startswith("arrayport-host-")
    assert x.name != chunks.from_numpy(a, CPU).name  # random, not a hash of the data
    blocks = [v for k, v in dict(x.__dask_graph__()).items() if k[0] == x.name]
    assert len(blocks) == x.npartitions
    assert all(np.shares_memory(b, a) for b in blocks)
    assert type(x._meta) is np.ndarray
    np.testing.assert_array_equal(x.compute(), a)


def test_a_zero_d_array_stays_an_array_chunk() -> None:
    a = np.array(7, np.int32)
    x = chunks.from_numpy(a, CPU)
    (block,) = (v for k, v in dict(x.__dask_graph__()).items() if k[0] == x.name)
    assert isinstance(block, np.ndarray)
    assert np.shares_memory(block, a)
    assert x.compute() == 7


@pytest.mark.parametrize("shape", [(0, 4096), (4096, 0), (0, 0, 10**6)])
def test_an_empty_array_with_a_long_axis_is_one_empty_chunk(shape: tuple[int, ...]) -> None:
    # dask's "auto" chunking divided by the zero size: a bare ZeroDivisionError where
    # plan() promised a share.
    for copy in (None, True):
        x = ap.convert(np.empty(shape), "dask", copy=copy)
        assert x.chunks == tuple((n,) for n in shape)
        assert x.compute().shape == shape


def test_moving_to_the_device_it_is_on_is_identity_and_meta_is_numpy_on_the_host() -> None:
    x = da.ones(3, chunks=2)
    assert chunks.move(x, CPU) is x
    meta = chunks._meta(None, np.dtype(np.int16), 2)
    assert type(meta) is np.ndarray
    assert meta.shape == (0, 0)
    assert meta.dtype == np.int16
    assert chunks._block_to_numpy(np.ones(2)).tolist() == [1.0, 1.0]


def test_auto_chunks_follow_dask_config() -> None:
    a = np.zeros((512, 512), dtype=np.float64)  # 2 MiB
    with dask.config.set({"array.chunk-size": "512KiB"}):
        x = ap.convert(a, "dask")
    assert x.npartitions > 1
    assert max(c for axis in x.chunks for c in axis) < 512
    np.testing.assert_array_equal(ap.convert(x, "numpy"), a)


@pytest.mark.gpu
@pytest.mark.skipif(not ON_GPU, reason="needs ARRAYPORT_DEVICE=cuda")
def test_cupy_backed_chunks_round_trip() -> None:
    cp = pytest.importorskip("cupy")
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = ap.convert(a, "dask", device="cuda:0")
    assert str(ap.plan(a, "dask", device="cuda:0").device) == "cuda:0"
    assert isinstance(x._meta, cp.ndarray)
    np.testing.assert_array_equal(ap.convert(x, "numpy"), a)
    c = ap.convert(x, "cupy")
    assert isinstance(c, cp.ndarray)
    y = ap.convert(c, "dask")
    assert str(get_backend(MemoryType.DASK).device_of(y)) == "cuda:0"
    np.testing.assert_array_equal(ap.convert(y, "numpy"), a)
    host = ap.convert(x, "dask", device="cpu")
    assert type(host._meta) is np.ndarray
    np.testing.assert_array_equal(host.compute(), a)
