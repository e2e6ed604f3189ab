"""backends/_dask_compute: a dask array computed into fresh host memory, checked against
what its graph declares (on dask's synchronous scheduler, in this process)."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap  # tests/conftest.py imported it before any framework
from arrayport import MemoryType
from arrayport.backends import _dask_compute as compute
from tests.conftest import CPU_TYPES, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

# Every other CPU type (CPU_TYPES leaves dask itself out).
OTHER = list(CPU_TYPES)


@pytest.fixture(autouse=True)
def _synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


def test_the_backend_exports_the_same_function() -> None:
    from arrayport.backends import dask as backend

    assert backend.to_numpy is compute.to_numpy


def test_a_one_chunk_graph_computes_into_fresh_writable_memory() -> None:
    a = np.arange(12.0).reshape(3, 4)
    readonly = a.copy()
    readonly.flags.writeable = False
    for source in (a, readonly):
        x = ap.convert(source, "dask")  # one chunk: its block is a view of the source
        out = compute.to_numpy(x)
        np.testing.assert_array_equal(out, source)
        # Fresh memory (not owndata: where dask computes a one-chunk graph into a view of
        # the source, as dask 2024.8 does, to_numpy's copy is a view of an aligned buffer).
        assert not np.shares_memory(out, source)
        assert out.flags.writeable


def test_unknown_extents_are_minus_one() -> None:
    x = da.arange(10, chunks=3)
    assert compute._known_shape(x) == (10,)
    assert compute._known_shape(x[x > 6]) == (-1,)


def test_the_check_names_the_declared_and_the_computed_dtype_and_shape() -> None:
    x = da.zeros((2, 3), chunks=2, dtype=np.float32)
    compute._check_computed(x, np.zeros((2, 3), np.dtype(">f4")))  # byte order: same values
    with pytest.raises(ap.ConversionError, match="declares dtype float32 but computes to int64"):
        compute._check_computed(x, np.zeros((2, 3), np.int64))
    with pytest.raises(ap.ConversionError, match=r"declares shape \(2, 3\) but computes"):
        compute._check_computed(x, np.zeros((3, 2), np.float32))
    with pytest.raises(ap.ConversionError, match="declares shape"):
        compute._check_computed(x, np.zeros(6, np.float32))


def test_masked_chunks_under_a_plain_meta_are_refused_when_computed() -> None:
    # The meta says numpy, the task returns a masked array: to_numpy sees the mask.
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    x = da.from_delayed(dask.delayed(lambda: masked)(), shape=(2,), dtype=np.float64)
    assert type(x._meta) is np.ndarray
    with pytest.raises(ap.UnsupportedArrayError, match="mask would be lost"):
        ap.convert(x, "numpy")


def _lying_dtype() -> object:
    # Declared float32; the task returns int64 values float32 cannot hold (2**40 + 1).
    values = dask.delayed(lambda: np.array([2**40 + 1, 3], np.int64))()
    return da.from_delayed(values, shape=(2,), dtype=np.float32)


@pytest.mark.parametrize("mt", OTHER, ids=str)
def test_a_declared_dtype_the_tasks_do_not_return_is_refused(mt: MemoryType) -> None:
    # pyclesperanto stored the int64 as int32 ([1, 3]); numpy, torch, jax and tensorflow
    # returned int64 where the route was checked and reported for float32.
    with pytest.raises(ap.ConversionError, match="declares dtype float32 but computes to int64"):
        ap.convert(_lying_dtype(), mt)


def test_a_dask_copy_checks_the_declared_dtype_too() -> None:
    with pytest.raises(ap.ConversionError, match="declares dtype float32 but computes to int64"):
        ap.convert(_lying_dtype(), "dask", copy=True)


def test_a_declared_shape_the_tasks_do_not_return_is_refused() -> None:
    values = dask.delayed(lambda: np.arange(2, dtype=np.float32))()
    x = da.from_delayed(values, shape=(3,), dtype=np.float32)
    with pytest.raises(ap.ConversionError, match=r"declares shape \(3,\) but computes to shape"):
        ap.convert(x, "numpy")


def test_unknown_extents_are_not_compared_and_byte_order_is_not_a_mismatch() -> None:
    x = da.arange(10, chunks=3).astype(np.float32)
    np.testing.assert_array_equal(ap.convert(x[x > 100], "numpy"), np.zeros(0, np.float32))
    big = da.from_array(np.arange(4, dtype=">f4"), chunks=2)
    np.testing.assert_array_equal(ap.convert(big, "numpy"), np.arange(4, dtype=np.float32))


def _declared(values: np.ndarray, dtype: str):
    import dask
    import dask.array as da

    return da.from_delayed(dask.delayed(lambda: values)(), shape=values.shape, dtype=dtype)


def test_a_later_block_of_another_dtype_is_refused_not_cast() -> None:
    # dask joins blocks into the first one's dtype: 2**40 in an int32-declared second block
    # became 0 before the joined result could be checked.
    import dask.array as da

    x = da.concatenate(
        [_declared(np.array([1], np.int32), "int32"), _declared(np.array([2**40]), "int32")]
    )
    for target in ("numpy", "torch"):
        if MemoryType(target) in CPU_TYPES:
            with pytest.raises(ap.ConversionError, match="declares dtype int32 but computes"):
                ap.convert(x, target)


def test_a_later_masked_block_is_refused() -> None:
    import dask.array as da

    masked = np.ma.masked_array([2.0], mask=[True])
    x = da.concatenate([_declared(np.array([1.0]), "float64"), _declared(masked, "float64")])
    with pytest.raises(ap.UnsupportedArrayError, match="masked"):
        ap.convert(x, "numpy")


@skip_unless_installed(MemoryType.TORCH)
def test_chunks_that_are_not_numpy_or_cupy_are_refused_by_name() -> None:
    # describe() and the computed blocks read np.dtype(torch.float64): a raw TypeError; a
    # scipy.sparse meta was blamed on a declared dtype.
    import torch

    base = da.from_array(np.arange(4.0), chunks=2)
    torch_meta = base.map_blocks(torch.from_numpy, meta=torch.empty(0, dtype=torch.float64))
    for call in (
        lambda: ap.plan(torch_meta, "numpy"),
        lambda: ap.convert(torch_meta, "numpy"),
        lambda: ap.convert_dtype(torch_meta, "float32"),
    ):
        with pytest.raises(ap.UnsupportedArrayError, match=r"torch\.Tensor chunks; .*map_blocks"):
            call()
    numpy_meta = base.map_blocks(torch.from_numpy, dtype=np.float64, meta=np.empty((0,)))
    with pytest.raises(ap.UnsupportedArrayError, match=r"torch\.Tensor chunks"):
        ap.convert(numpy_meta, "numpy")
    # One block too (its check skipped the per-block map: a tensor passed np.asarray).
    one = da.from_array(np.arange(4.0), chunks=4)
    one = one.map_blocks(torch.from_numpy, dtype=np.float64, meta=np.empty((0,)))
    with pytest.raises(ap.UnsupportedArrayError, match=r"torch\.Tensor chunks"):
        ap.convert(one, "numpy")
    # A 0-d graph computing to a Python number is not a foreign chunk.
    number = da.from_delayed(dask.delayed(lambda: 2.0)(), shape=(), dtype=float)
    assert ap.convert(number, "numpy") == 2.0


def test_scipy_sparse_chunks_are_refused_by_name() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    x = da.from_array(np.eye(4), chunks=2).map_blocks(sparse.csr_matrix)
    with pytest.raises(ap.UnsupportedArrayError, match=r"csr_matrix chunks"):
        ap.convert(x, "numpy")
