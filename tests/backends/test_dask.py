"""The dask backend: detection, namespace, routes and conversions to and from every type.

These run on dask's synchronous scheduler (in this process); the distributed cluster tests
are in tests/test_dask_dispatch.py. Devices, reading out and wrapping in are tested with
their modules: tests/backends/test_dask_devices.py, test_dask_compute.py, test_dask_chunks.py.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import numpy as np
import pytest

import arrayport as ap  # tests/conftest.py imported it before any framework
from arrayport import MemoryType
from arrayport.backends import get_backend
from tests.conftest import CPU_TYPES, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(autouse=True)
def _synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


# --- detection and namespace ----------------------------------------------------------


def test_dask_arrays_are_detected_and_get_the_array_api_compat_namespace() -> None:
    x = da.ones((4, 3), chunks=2)
    assert ap.detect_memory_type(x) is MemoryType.DASK
    xp = ap.namespace(x)
    assert xp.__name__ == "array_api_compat.dask.array"
    total = xp.sum(xp.ones((4, 3)))
    assert ap.detect_memory_type(total) is MemoryType.DASK
    assert float(total.compute()) == 12.0
    assert MemoryType.DASK in ap.available_memory_types()


def test_other_dask_collections_are_refused_with_a_hint() -> None:
    with pytest.raises(ap.UnsupportedArrayError, match="not a dask array"):
        ap.detect_memory_type(dask.delayed(np.ones(3)))


def test_object_dtype_dask_arrays_are_refused() -> None:
    x = da.from_array(np.array(["a", "b"], dtype=object), chunks=1)
    with pytest.raises(ap.UnsupportedArrayError, match="object"):
        ap.convert(x, "numpy")


def test_import_arrayport_and_numpy_work_do_not_import_dask() -> None:
    code = (
        "import sys, arrayport as ap, numpy as np\n"
        "ap.convert(np.ones(3), 'numpy'); ap.plan(np.ones(3), 'numpy')\n"
        "assert 'dask' not in sys.modules, sorted(m for m in sys.modules if 'dask' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- routes: honest about copies and laziness ------------------------------------------


def test_numpy_to_dask_wraps_host_memory_lazily() -> None:
    a = np.arange(12.0).reshape(3, 4)
    route = ap.plan(a, "dask")
    assert route.method == "host-share"
    assert route.zero_copy
    assert "lazy" in route.reason
    x = ap.convert(a, "dask")
    assert ap.detect_memory_type(x) is MemoryType.DASK
    a[0, 0] = 99.0  # shared: the lazy result reads the source when computed
    assert x.compute()[0, 0] == 99.0


def test_numpy_to_dask_with_copy_true_is_a_snapshot() -> None:
    a = np.arange(12.0).reshape(3, 4)
    route = ap.plan(a, "dask", copy=True)
    assert route.method == "host-copy"
    assert not route.zero_copy
    x = ap.convert(a, "dask", copy=True)
    a[0, 0] = 99.0
    assert x.compute()[0, 0] == 0.0


def test_dask_to_numpy_computes_into_fresh_memory() -> None:
    a = np.arange(12.0).reshape(3, 4)
    x = ap.convert(a, "dask")  # one chunk: its block is a view of ``a``
    route = ap.plan(x, "numpy")
    assert route.method == "host-copy"
    assert not route.zero_copy
    assert "computes" in route.reason
    assert any("computes" in step for step in route.steps)
    out = ap.convert(x, "numpy")
    np.testing.assert_array_equal(out, a)
    assert not np.shares_memory(out, a)
    assert out.flags.writeable


def test_dask_to_numpy_with_copy_false_is_refused() -> None:
    with pytest.raises(ap.CopyRequiredError, match="dask"):
        ap.convert(da.ones(3, chunks=1), "numpy", copy=False)


def test_dask_to_dask_is_identity_and_copy_is_a_fresh_graph() -> None:
    x = da.arange(6, chunks=2)
    assert ap.convert(x, "dask") is x
    route = ap.plan(x, "dask", copy=True)
    assert route.method == "copy"
    y = ap.convert(x, "dask", copy=True)
    assert y is not x
    np.testing.assert_array_equal(y.compute(), np.arange(6))
    # The copy computes the graph now (a lazy copy would read memory the graph wraps): the
    # route says so, where it said "the result is lazy ... computed only when asked", and
    # the copy keeps the source's three chunks (it had dask's "auto" ones: one chunk).
    assert "computes its task graph (every chunk) now" in route.reason
    assert "computed only when asked" not in route.reason
    assert y.chunks == x.chunks
    unknown = x[x > 1]
    assert ap.convert(unknown, "dask", copy=True).compute().tolist() == [2, 3, 4, 5]


# --- conversions to and from every other CPU type ---------------------------------------

# float32: every framework holds it exactly (jax without x64 and pyclesperanto refuse
# float64). CPU_TYPES leaves dask itself out.
OTHER = list(CPU_TYPES)


@pytest.mark.parametrize("mt", OTHER, ids=str)
def test_round_trip_from_every_cpu_type_through_dask(mt: MemoryType) -> None:
    a = (np.arange(24, dtype=np.float32).reshape(4, 6) - 5) / 4
    source = ap.convert(a, mt)
    x = ap.convert(source, "dask")
    assert ap.detect_memory_type(x) is MemoryType.DASK
    assert x.dtype == a.dtype
    back = ap.convert(x, mt)
    assert ap.detect_memory_type(back) is mt
    out = ap.convert(back, "numpy")
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("mt", OTHER, ids=str)
def test_multi_chunk_dask_converts_to_every_cpu_type(mt: MemoryType) -> None:
    a = np.arange(60, dtype=np.float32).reshape(6, 10)
    x = da.from_array(a, chunks=(4, 3))
    out = ap.convert(x, mt)
    assert ap.detect_memory_type(out) is mt
    assert not ap.plan(x, mt).zero_copy
    np.testing.assert_array_equal(ap.convert(out, "numpy"), a)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int16", "int64", "float16", "complex128"])
def test_dtypes_survive_numpy_dask_numpy(dtype: str) -> None:
    a = (np.arange(10) % 3).astype(dtype)
    out = ap.convert(ap.convert(a, "dask"), "numpy")
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out, a)


def test_immutable_sources_stay_unwritable_until_copied_out() -> None:
    jnp = pytest.importorskip("jax.numpy")
    j = jnp.arange(6.0, dtype=jnp.float32)
    x = ap.convert(j, "dask")
    assert ap.plan(j, "dask").zero_copy
    for block in dask.compute(*x.to_delayed().ravel()):
        assert not block.flags.writeable  # dask's chunks are views of jax's memory
    out = ap.convert(x, "numpy")
    assert out.flags.writeable
    np.testing.assert_array_equal(out, np.arange(6.0, dtype=np.float32))


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (1,)])
def test_zero_d_and_empty_arrays_round_trip(shape: tuple[int, ...]) -> None:
    a = np.full(shape, 7, dtype=np.int32)
    x = ap.convert(a, "dask")
    assert x.shape == shape
    out = ap.convert(x, "numpy")
    assert out.shape == shape
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, a)


def test_unknown_chunk_sizes_convert_after_computing() -> None:
    x = da.arange(10, chunks=3)
    y = x[x > 6]
    info = get_backend(MemoryType.DASK).describe(y)
    assert info.shape == (-1,)
    np.testing.assert_array_equal(ap.convert(y, "numpy"), [7, 8, 9])


# --- masks ----------------------------------------------------------------------------

# Every memory type a dask array can be converted to here, dask itself included.
TARGETS = [*OTHER, MemoryType.DASK]


def _masked_sources() -> list[object]:
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    return [
        da.ma.masked_greater(da.arange(6, chunks=3, dtype=np.float32), 3),
        da.from_array(masked, chunks=2),
    ]


@pytest.mark.parametrize("mt", TARGETS, ids=str)
def test_masked_dask_arrays_are_refused_like_numpy_ones(mt: MemoryType) -> None:
    # As numpy's masked arrays (ADR 0005): every conversion would drop the mask.
    for x in _masked_sources():
        with pytest.raises(ap.UnsupportedArrayError, match="mask would be lost"):
            ap.plan(x, mt)
        with pytest.raises(ap.UnsupportedArrayError, match=r"dask\.array\.ma\.filled"):
            ap.convert(x, mt)
    x = _masked_sources()[0]
    with pytest.raises(ap.UnsupportedArrayError, match="mask would be lost"):
        ap.convert(x, "dask", copy=True)


# --- OOM, memory ----------------------------------------------------------------------


def test_only_memory_errors_are_oom() -> None:
    backend = get_backend(MemoryType.DASK)
    assert backend.is_oom(MemoryError("numpy could not allocate"))
    assert not backend.is_oom(RuntimeError("out of memory"))
    assert MemoryError in backend.oom_error_types()


def test_memory_info_without_a_client_is_empty_and_release_runs() -> None:
    backend = get_backend(MemoryType.DASK)
    if "distributed" in sys.modules:
        distributed = sys.modules["distributed"]
        with pytest.raises(ValueError):  # noqa: PT011  (distributed's own "no client")
            distributed.default_client()
    assert backend.memory_info() == []
    backend.release_memory()


def test_memory_info_counts_the_chunks_a_worker_holds_not_its_process() -> None:
    distributed = pytest.importorskip("distributed")
    backend = get_backend(MemoryType.DASK)
    limit = 2 << 30
    with (
        distributed.LocalCluster(
            n_workers=1,
            processes=False,
            memory_limit=limit,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
        dask.config.set(scheduler=client.get),
    ):
        held = da.arange(5_000_000, chunks=1_000_000, dtype=np.float64).persist()  # 40 MB
        distributed.wait(held)
        deadline = time.monotonic() + 30
        while True:  # the figures reach the scheduler with the worker's heartbeats
            (row,) = backend.memory_info()
            if row["in_use"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        process = client.scheduler_info()["workers"][row["device"].split()[1]]["metrics"]
        assert row["device"].startswith("dask-worker ")
        assert row["in_use"] == 40_000_000  # the chunks; the process holds far more
        assert process["memory"] > 100_000_000
        assert row["total"] == limit
        assert 0 < row["free"] < limit - 100_000_000
        del held


def test_a_copy_keeps_the_chunks_of_every_axis_whose_sizes_are_known() -> None:
    # One axis of unknown sizes (after boolean indexing) made every axis "auto".
    d = da.from_array(np.arange(48.0).reshape(8, 6), chunks=(3, 4))
    m = d[d[:, 0] > 10]
    assert m.chunks[1] == (4, 2)
    y = ap.convert(m, "dask", copy=True)
    assert y.chunks == ((6,), (4, 2))
    np.testing.assert_array_equal(y.compute(), m.compute())
    # Objects: dask's "auto" cannot size them, the unknown axis becomes one chunk.
    o = da.from_array(np.array([1, "a", 2, "b"], object), chunks=2)
    om = o[da.from_array(np.array([True, False, True, True]), chunks=2)]
    assert ap.convert(om, "dask", copy=True).chunks == ((3,),)


@pytest.mark.parametrize("dtype", ["datetime64[s]", "O", "U3", "i4,f8"])
def test_dask_arrays_that_hold_no_numbers_are_their_own_identity_and_copy(dtype: str) -> None:
    # Refused before: "hold no numbers arrayport can move between frameworks" for a route
    # that moves nothing between frameworks.
    a = np.zeros(4, dtype)
    x = da.from_array(a, chunks=2)
    assert ap.convert(x, "dask") is x
    assert ap.plan(x, "dask").method == "identity"
    assert ap.plan(x, "dask", copy=True).method == "copy"
    y = ap.convert(x, "dask", copy=True)
    assert y is not x
    assert y.chunks == x.chunks
    assert y.dtype == x.dtype
    assert y.compute().tolist() == a.tolist()
    with pytest.raises(ap.UnsupportedArrayError, match="hold no numbers"):
        ap.convert(x, "numpy")
