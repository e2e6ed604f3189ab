"""Dispatch on dask input: lazy, block by block, with halo or whole array, on a real cluster.

The first part runs on dask's synchronous scheduler (in this process, so that counters and
OOM injection are visible); the ``cluster`` part starts a ``dask.distributed.LocalCluster``
of two worker processes once for the module and always closes it.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import arrayport as ap  # tests/conftest.py imported it before any framework
from arrayport import DtypeConversion, MemoryType, Scaling, WholeArrayWarning
from tests.conftest import skip_unless_installed

pytestmark = [
    skip_unless_installed(MemoryType.DASK),
    # distributed serves HTTP on 8787 even with the dashboard off; another cluster on this
    # shared machine may hold that port, and it then picks a free one and warns.
    pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning"),
]

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

needs_torch = skip_unless_installed(MemoryType.TORCH)


# --- functions under test (module level: the workers import them by reference) ---------


def smooth_numpy(x: Any) -> Any:
    """Mean of each element and its axis neighbours; edges repeat the edge value."""
    p = np.pad(x, 1, mode="edge")
    out = p[1:-1, 1:-1].copy()
    out += p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
    return out / 5.0


@ap.memory_type("numpy", depth=1)
def smooth(x: Any) -> Any:
    return smooth_numpy(x)


@ap.memory_type("numpy", depth=(1, 0))
def smooth_rows(x: Any) -> Any:
    p = np.pad(x, ((1, 1), (0, 0)), mode="edge")
    return (p[:-2] + p[1:-1] + p[2:]) / 3.0


@ap.memory_type("numpy", blockwise=True)
def smooth_blockwise(x: Any) -> Any:
    return smooth_numpy(x)


@ap.memory_type("torch", blockwise=True)
def scale_on_torch(x: Any, factor: float = 2.0) -> Any:
    import torch

    assert isinstance(x, torch.Tensor)  # the block really was moved to torch
    return x * factor + 1


@ap.memory_type("numpy", whole_array=True)
def centre(x: Any) -> Any:
    return x - x.mean()


@ap.memory_type("numpy", blockwise=True)
def brighten(x: Any) -> Any:
    return x.astype(np.float64) * 1.5 + 10.0  # float: PRESERVE_INPUT brings the dtype back


@ap.memory_type("numpy", dtype_conversion=DtypeConversion.NATIVE_OUTPUT, blockwise=True)
def halve(x: Any) -> Any:
    return x.astype(np.float32) / 2


@ap.memory_type("numpy", blockwise=True)
def double(x: Any) -> Any:
    return x * 2  # on a 0-d array numpy returns a scalar (np.float64), not a 0-d array


@ap.memory_type("numpy", dtype_conversion=DtypeConversion.UINT8, blockwise=True)
def as_uint8(x: Any) -> Any:
    return x * 1.0


@ap.memory_type("numpy", blockwise=True)
def weighted(x: Any, w: Any, *, offset: float = 0.0) -> Any:
    return x * w + offset


@ap.memory_type("numpy", blockwise=True)
def add(x: Any, y: Any) -> Any:
    return x + y


@ap.memory_type("numpy", blockwise=True)
def add_all(arrays: list[Any]) -> Any:
    return sum(arrays[1:], arrays[0])


@ap.memory_type("numpy", blockwise=True)
def pair(x: Any) -> Any:
    return x, x


@ap.memory_type("numpy", blockwise=True)
def shrink(x: Any) -> Any:
    return x[:1]


@ap.memory_type("numpy", dtype_conversion=DtypeConversion.NATIVE_OUTPUT, blockwise=True)
def picky(x: Any) -> Any:
    if x.size < 9:  # the sample of its 5 x 5 blocks has 2 x 2
        raise ValueError("needs at least 9 elements")
    return x


@ap.memory_type("numpy", slice_by_slice=True)
def per_slice(x: Any) -> Any:
    assert x.ndim == 2
    return x - x.min()


CALLS = {"n": 0}


@ap.memory_type("numpy", blockwise=True)
def counted(x: Any) -> Any:
    CALLS["n"] += 1
    return x + 1


@ap.memory_type("numpy", blockwise=True)
def scaled_in_place(x: Any, gains: Any) -> Any:
    gains *= 2  # numpy code updating its parameter in place (the caller's copy, unsplit)
    return x * gains


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).random((30, 40))


@pytest.fixture
def sync() -> Iterator[None]:
    with dask.config.set(scheduler="synchronous"):
        yield


# --- laziness and the three block shapes -------------------------------------------------


@pytest.mark.usefixtures("sync")
def test_the_result_is_lazy_and_computes_block_by_block(image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(10, 20))
    CALLS["n"] = 0
    out = counted(x)
    assert ap.detect_memory_type(out) is MemoryType.DASK
    assert CALLS["n"] == 0  # PRESERVE_INPUT: the dtype is known without running anything
    assert out.chunks == x.chunks
    np.testing.assert_array_equal(out.compute(), image + 1)
    assert CALLS["n"] == x.npartitions


@needs_torch
@pytest.mark.usefixtures("sync")
def test_blockwise_on_another_memory_type_equals_the_numpy_run(image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(7, 9))
    out = scale_on_torch(x, factor=3.0)
    assert out.dtype == image.dtype
    assert type(out._meta) is np.ndarray
    np.testing.assert_array_equal(out.compute(), scale_on_torch(image, factor=3.0))


@pytest.mark.usefixtures("sync")
def test_depth_gives_each_block_a_halo(image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(8, 11))
    expected = smooth(image)
    np.testing.assert_allclose(smooth(x).compute(), expected, rtol=0, atol=1e-15)
    # Without the halo the block edges come out wrong: the halo is what makes it right.
    assert not np.allclose(smooth_blockwise(x).compute(), expected)


@pytest.mark.usefixtures("sync")
def test_depth_per_axis(image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(8, 11))
    np.testing.assert_allclose(smooth_rows(x).compute(), smooth_rows(image), atol=1e-15)


@pytest.mark.usefixtures("sync")
def test_depth_of_the_wrong_length_is_refused() -> None:
    x = da.ones((4, 4, 4), chunks=2)
    with pytest.raises(ap.InvalidOptionError, match="depth"):
        smooth_rows(x)


@pytest.mark.usefixtures("sync")
def test_whole_array_sees_everything(image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(10, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error", WholeArrayWarning)  # small: no warning
        out = centre(x)
    assert out.npartitions == 1
    np.testing.assert_allclose(out.compute(), image - image.mean(), atol=1e-15)


@pytest.mark.usefixtures("sync")
def test_whole_array_warns_when_the_chunk_is_large(image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(10, 10))
    with (
        dask.config.set({"array.chunk-size": "1KiB"}),
        pytest.warns(WholeArrayWarning, match="one chunk") as record,
    ):
        centre(x)
    assert record[0].filename == __file__  # points at the caller, not arrayport


# --- dtype policy per block --------------------------------------------------------------


@pytest.mark.usefixtures("sync")
def test_preserve_input_converts_each_block_like_the_numpy_run() -> None:
    a = np.arange(0, 250, dtype=np.uint8).reshape(10, 25)
    x = da.from_array(a, chunks=(3, 7))
    out = brighten(x)
    assert out.dtype == np.uint8
    expected = brighten(a)  # VALUE scaling: rounded, clipped at 255
    assert expected.max() == 255
    np.testing.assert_array_equal(out.compute(), expected)


@pytest.mark.usefixtures("sync")
def test_fixed_output_dtype(image: np.ndarray) -> None:
    x = da.from_array(image * 300, chunks=(10, 10))
    out = as_uint8(x)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out.compute(), as_uint8(image * 300))


@pytest.mark.usefixtures("sync")
def test_native_output_dtype_comes_from_a_sample_block() -> None:
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    out = halve(da.from_array(a, chunks=2))
    assert out.dtype == np.float32  # known before computing
    np.testing.assert_array_equal(out.compute(), a.astype(np.float32) / 2)


@pytest.mark.usefixtures("sync")
@pytest.mark.parametrize(
    "conversion", [DtypeConversion.PRESERVE_INPUT, DtypeConversion.NATIVE_OUTPUT]
)
def test_a_numpy_scalar_result_counts_as_a_0d_array(conversion: DtypeConversion) -> None:
    """numpy's arithmetic on a 0-d array returns a scalar; as on non-dask input (ADR 0016)
    it is the 0-d array it stands for, both in the NATIVE_OUTPUT sample run (which learns
    the dtype from it) and on the blocks (which dask needs as arrays)."""
    x = da.from_array(np.array(3.0))
    out = double.options(dtype_conversion=conversion)(x)
    assert out.dtype == np.float64
    result = out.compute()
    assert type(result) is np.ndarray
    assert result.shape == ()
    assert result == 6.0


@pytest.mark.usefixtures("sync")
def test_a_failing_sample_run_names_the_remedy() -> None:
    with pytest.raises(ap.ArrayportError, match="dtype_conversion") as info:
        picky(da.ones((10, 10), chunks=5))
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.usefixtures("sync")
def test_minmax_scaling_is_refused_block_by_block_but_allowed_on_the_whole_array() -> None:
    a = np.linspace(0.0, 1000.0, 60).reshape(6, 10)
    x = da.from_array(a, chunks=3)
    stretch = ap.memory_type(
        "numpy", dtype_conversion=DtypeConversion.UINT8, scaling=Scaling.MINMAX
    )(smooth_numpy)
    with pytest.raises(ap.InvalidOptionError, match="MINMAX"):
        stretch(x)
    whole = stretch.options(whole_array=True)
    np.testing.assert_array_equal(whole(x).compute(), stretch(a))


# --- other arguments ------------------------------------------------------------------------


@pytest.mark.usefixtures("sync")
def test_non_dask_arrays_go_whole_to_every_block() -> None:
    a = np.arange(24.0).reshape(4, 6)
    w = np.arange(6.0)
    x = da.from_array(a, chunks=(2, 6))  # axis 1 is one chunk: w lines up unambiguously
    out = weighted(x, w, offset=0.5)
    np.testing.assert_array_equal(out.compute(), a * w + 0.5)


@needs_torch
@pytest.mark.usefixtures("sync")
def test_other_memory_types_are_converted_to_numpy_for_the_blocks() -> None:
    import torch

    a = np.arange(24.0).reshape(4, 6)
    out = weighted(da.from_array(a, chunks=2), torch.tensor(3.0, dtype=torch.float64))
    np.testing.assert_array_equal(out.compute(), a * 3.0)


@pytest.mark.usefixtures("sync")
def test_whole_arguments_are_a_snapshot_at_call_time() -> None:
    w = np.full(6, 2.0)
    out = weighted(da.ones((4, 6), chunks=(2, 6)), w)
    w[:] = 100.0
    np.testing.assert_array_equal(out.compute(), np.full((4, 6), 2.0))


@pytest.mark.usefixtures("sync")
def test_an_argument_lining_up_with_a_split_axis_is_ambiguous() -> None:
    x = da.ones((4, 6), chunks=(2, 3))
    with pytest.raises(ap.InvalidOptionError, match=r"ambiguous.*rechunk\(\{1: -1\}\)") as info:
        weighted(x, np.arange(6.0))
    np.testing.assert_array_equal(
        weighted(x.rechunk({1: -1}), np.arange(6.0)).compute(), np.ones((4, 6)) * np.arange(6.0)
    )
    # The other remedy the message names, run as written (it said from_array(arg,
    # chunks=x.chunks), which dask refuses for an argument of another shape).
    remedy = "dask.array.broadcast_to(arg, x.shape).rechunk(x.chunks)"
    assert remedy in str(info.value)
    part = eval(remedy, {"dask": dask, "arg": np.arange(6.0), "x": x})  # noqa: S307
    np.testing.assert_array_equal(weighted(x, part).compute(), np.ones((4, 6)) * np.arange(6.0))


@pytest.mark.usefixtures("sync")
def test_several_dask_arguments_are_split_together() -> None:
    a = np.arange(30.0).reshape(5, 6)
    b = np.ones((5, 6))
    out = add(da.from_array(a, chunks=(2, 3)), da.from_array(b, chunks=(3, 2)))
    np.testing.assert_array_equal(out.compute(), a + b)
    listed = add_all([da.from_array(a, chunks=2), b[:1, :1], da.from_array(a, chunks=3)])
    np.testing.assert_array_equal(listed.compute(), a + 1 + a)


@pytest.mark.usefixtures("sync")
def test_dask_arguments_of_different_shapes_are_refused() -> None:
    with pytest.raises(ap.InvalidOptionError, match="same shape"):
        add(da.ones((4, 4), chunks=2), da.ones((4, 2), chunks=2))


# --- results the block mapping cannot hold -------------------------------------------------


@pytest.mark.usefixtures("sync")
def test_tuple_results_and_shape_changes_fail_clearly_on_compute() -> None:
    x = da.ones((4, 4), chunks=2)
    with pytest.raises(ap.ArrayportError, match="one array"):
        pair(x).compute()
    with pytest.raises(ap.ArrayportError, match="keep its input's shape"):
        shrink(x).compute()


@pytest.mark.usefixtures("sync")
def test_output_options() -> None:
    a = np.arange(6.0)
    x = da.from_array(a, chunks=2)
    declared = counted.options(output="declared")(x)
    assert ap.detect_memory_type(declared) is MemoryType.DASK
    computed = counted.options(output="numpy")(x)
    assert isinstance(computed, np.ndarray)
    np.testing.assert_array_equal(computed, a + 1)


@pytest.mark.usefixtures("sync")
def test_unknown_chunk_sizes_work_blockwise_but_not_with_a_halo() -> None:
    x = da.arange(20.0, chunks=5)
    y = x[x > 3]
    np.testing.assert_array_equal(counted(y).compute(), np.arange(4.0, 20.0) + 1)
    y2 = da.stack([y, y])
    with pytest.raises(ap.InvalidOptionError, match="compute_chunk_sizes"):
        smooth(y2)


@pytest.mark.usefixtures("sync")
def test_masked_chunks_are_refused_with_a_remedy_that_keeps_the_mask() -> None:
    masked = da.ma.masked_equal(da.arange(6, chunks=2), 3)
    with pytest.raises(ap.UnsupportedArrayError, match=r"mask would be lost.*getmaskarray"):
        counted(masked)


# --- OOM policy, slices, threads ---------------------------------------------------------------


@pytest.mark.usefixtures("sync")
def test_the_oom_policy_runs_per_block() -> None:
    from arrayport.testing import inject_oom

    a = np.arange(12.0).reshape(3, 4)
    x = da.from_array(a, chunks=2)
    out = counted(x)
    with inject_oom("numpy", times=2) as injection:
        result = out.compute()  # two blocks fail once each and are retried
    assert injection.raised == 2
    np.testing.assert_array_equal(result, a + 1)


@pytest.mark.usefixtures("sync")
def test_slice_by_slice_runs_within_each_block() -> None:
    a = np.random.default_rng(1).random((4, 6, 6))
    x = da.from_array(a, chunks=(2, 6, 6))
    np.testing.assert_array_equal(per_slice(x).compute(), per_slice(a))


def test_threaded_scheduler(image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(5, 5))
    with dask.config.set(scheduler="threads", num_workers=2):
        np.testing.assert_allclose(smooth(x).compute(), smooth(image), atol=1e-15)


@ap.memory_type("numpy", blockwise=True)
def negate(x: Any) -> Any:
    return -x


@ap.memory_type("numpy", dtype_conversion=DtypeConversion.FLOAT64, blockwise=True)
def as_float64(x: Any) -> Any:
    return x


@ap.memory_type("numpy", dtype_conversion=DtypeConversion.NATIVE_OUTPUT, blockwise=True)
def next_day(x: Any) -> Any:
    return x + np.timedelta64(1, "D")


@ap.memory_type("numpy", depth=8)
def neighbours_mean(x: Any) -> Any:
    p = np.pad(x, 1, mode="edge")
    return (p[:-2] + p[1:-1] + p[2:]) / 3.0


@pytest.mark.usefixtures("sync")
def test_big_endian_dask_input_comes_back_native_with_its_values() -> None:
    # The contract declared '>f8' while the policy (comparing by name) returned native
    # blocks: every block was refused.
    big = np.array([1.5, -2.0, 3.25, 4.0], dtype=">f8")
    x = da.from_array(big, chunks=2)
    np.testing.assert_array_equal(negate(x).compute(), -big)
    got = as_float64(x).compute()
    assert got.dtype == np.dtype("float64")
    np.testing.assert_array_equal(got, big)


@pytest.mark.usefixtures("sync")
def test_native_output_keeps_numpy_dtypes_dask_holds() -> None:
    # A datetime64 result of the sample block was "not an array".
    days = np.array(["2020-01-01", "2021-06-01", "2022-01-01", "2023-01-01"], "datetime64[D]")
    got = next_day(da.from_array(days, chunks=2)).compute()
    np.testing.assert_array_equal(got, days + np.timedelta64(1, "D"))


@pytest.mark.usefixtures("sync")
@pytest.mark.parametrize("chunks", [6, 3])
def test_a_depth_beyond_the_array_borrows_all_of_it(chunks: int) -> None:
    # dask's overlap raised "The overlapping depth 8 is larger than your array 6".
    values = np.arange(6.0) ** 2
    got = neighbours_mean(da.from_array(values, chunks=chunks)).compute()
    np.testing.assert_allclose(got, neighbours_mean(values))


@pytest.mark.usefixtures("sync")
def test_a_whole_argument_that_fits_only_one_block_is_refused() -> None:
    # Without dask, x (8,) + w (4,) does not broadcast; block by block it silently did.
    x = da.from_array(np.arange(8.0), chunks=4)
    with pytest.raises(ap.InvalidOptionError, match="does not broadcast"):
        add(x, np.full(4, 100.0))
    np.testing.assert_array_equal(add(x, np.float64(1.0)).compute(), np.arange(8.0) + 1)


@ap.memory_type("numpy", blockwise=True)
def _weighted(x: Any, *, w: Any = np.ones(4)) -> Any:  # noqa: B008
    return x * w


@pytest.mark.usefixtures("sync")
def test_a_refused_whole_argument_is_named_as_the_call_has_it() -> None:
    # It was "non-dask array argument #1", counted among the non-dask arrays only: the
    # dask input x reads as #1, and a default the caller never passed was not said to be.
    x = da.from_array(np.arange(8.0), chunks=4)
    with pytest.raises(ap.InvalidOptionError, match=r"^argument 'w' of _weighted \(its default"):
        _weighted(x)
    with pytest.raises(ap.InvalidOptionError, match=r"^argument 'w' of _weighted, a non-dask"):
        _weighted(x, w=np.ones(8))  # as long as the split axis: ambiguous
    with pytest.raises(ap.InvalidOptionError, match=r"^argument 'y' of add, a non-dask"):
        add(x, np.full(4, 100.0))


@ap.memory_type("numpy", blockwise=True)
def _scale(w: Any = np.array([1.5, 2.5, 3.5], np.float32), x: Any = None) -> Any:  # noqa: B008
    return x * w


def test_an_array_default_is_not_the_dtype_reference_of_dask_input() -> None:
    # PRESERVE_INPUT follows the first array the caller gave (ADR 0069): an earlier
    # parameter's float32 default must not make an int16 dask input's result float32.
    a = np.arange(12, dtype=np.int16).reshape(4, 3)
    expected = _scale(x=a)
    assert expected.dtype == np.int16
    lazy = _scale(x=da.from_array(a, chunks=(2, -1)))
    assert lazy.dtype == np.int16
    np.testing.assert_array_equal(lazy.compute(scheduler="sync"), expected)


@pytest.mark.usefixtures("sync")
def test_array_defaults_on_dask_input_are_checked_and_shared_read_only() -> None:
    # Defaults get what given non-dask arguments get: the ambiguity check at the call,
    # one read-only snapshot for every block, and a dask default is split with the input.
    @ap.memory_type("numpy", blockwise=True)
    def weighted(x: Any, w: Any = np.arange(1.0, 5.0)) -> Any:  # noqa: B008
        return x * w[: x.shape[0]]

    with pytest.raises(ap.InvalidOptionError, match="ambiguous"):
        weighted(da.ones(4, chunks=2))

    @ap.memory_type("numpy", blockwise=True)
    def bump(x: Any, buf: Any = np.zeros(1)) -> Any:  # noqa: B008
        buf += 1
        return x + buf[0]

    with pytest.raises(ValueError, match="read-only"):
        bump(da.zeros(4, chunks=1)).compute()
    mask = da.from_array(np.array([0.0, 0.0, 1.0, 0.0]), chunks=2)

    @ap.memory_type("numpy", blockwise=True)
    def masked(x: Any, m: Any = mask) -> Any:
        return x * m

    out = masked(da.from_array(np.arange(4.0), chunks=2)).compute()
    np.testing.assert_array_equal(out, [0.0, 0.0, 2.0, 0.0])


# --- on a real cluster ---------------------------------------------------------------------------


_WORKER_LIMIT = 3 << 30


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            # A worker imports this module to run its functions: on a CUDA image (torch 512
            # MiB, plus jax, cupy, scipy, pandas) that alone took 978 MiB on an H100
            # machine, and 1 GiB workers were restarted until the tasks failed.
            memory_limit=_WORKER_LIMIT,
            dashboard_address=None,
            preload=["arrayport"],
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _worker_modules() -> dict[str, int]:
    order = list(sys.modules)
    return {name: order.index(name) for name in ("arrayport", "torch") if name in sys.modules}


@needs_torch
@pytest.mark.cluster
def test_cluster_blocks_move_to_torch_on_the_workers(client: Any, image: np.ndarray) -> None:
    x = da.from_array(image, chunks=(10, 10))
    out = scale_on_torch(x, factor=0.5)
    np.testing.assert_array_equal(out.compute(), scale_on_torch(image, factor=0.5))
    loaded = client.run(_worker_modules)
    assert any("torch" in m for m in loaded.values())
    for modules in loaded.values():
        if "torch" in modules:
            assert modules["arrayport"] < modules["torch"]  # arrayport came first


@pytest.mark.cluster
def test_cluster_halo_whole_array_and_dtypes_equal_the_numpy_run(
    client: Any, image: np.ndarray
) -> None:
    x = da.from_array(image, chunks=(8, 11))
    u8 = da.from_array((image * 200).astype(np.uint8), chunks=(8, 11))
    got = dask.compute(smooth(x), centre(x), brighten(u8))
    np.testing.assert_allclose(got[0], smooth(image), atol=1e-15)
    np.testing.assert_allclose(got[1], image - image.mean(), atol=1e-15)
    np.testing.assert_array_equal(got[2], brighten((image * 200).astype(np.uint8)))
    assert len(client.scheduler_info()["workers"]) == 2


@pytest.mark.cluster
def test_cluster_function_defined_locally_travels_by_value(client: Any) -> None:
    @ap.memory_type("numpy", depth=2)
    def local_diff(x: Any) -> Any:
        return x - np.roll(x, 2, axis=0)

    a = np.arange(40.0).reshape(10, 4) ** 2
    out = local_diff(da.from_array(a, chunks=(3, 4))).compute()
    # Away from the wrap-around rows, the halo makes each row see two rows up.
    np.testing.assert_array_equal(out[2:], local_diff(a)[2:])


@pytest.mark.cluster
def test_cluster_blocks_keep_the_callers_dtype_reference_after_an_array_default(
    client: Any,
) -> None:
    a = np.arange(12, dtype=np.int16).reshape(4, 3)
    out = _scale(x=da.from_array(a, chunks=(2, -1))).compute()
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, _scale(x=a))


@pytest.mark.cluster
def test_cluster_out_of_memory_reaches_the_client_as_out_of_memory_error(client: Any) -> None:
    # distributed pickles a worker's exception with tblib, which rebuilds it with
    # cls.__new__: OutOfMemoryError (a MemoryError) once arrived as a bare Exception.
    @ap.memory_type("numpy", oom=ap.OOMPolicy(retries=1), blockwise=True)
    def runs_out(x: Any) -> Any:
        raise MemoryError

    with pytest.raises(ap.OutOfMemoryError) as info:
        runs_out(da.from_array(np.zeros((4, 4)), chunks=(2, 4))).compute()
    assert isinstance(info.value, MemoryError)
    assert info.value.attempts == 2
    assert info.value.memory_type == "numpy"


@pytest.mark.cluster
def test_cluster_memory_info_lists_the_workers(client: Any) -> None:
    from arrayport.backends import get_backend

    info = get_backend(MemoryType.DASK).memory_info()
    assert len(info) == 2
    assert all(r["device"].startswith("dask-worker tcp://") for r in info)
    assert all(r["free"] is None or 0 <= r["free"] <= _WORKER_LIMIT for r in info)


_EXAMPLE = Path(__file__).parents[1] / "examples" / "dask_out_of_core.py"


def _load_example() -> Any:
    """examples/dask_out_of_core.py as the module ``dask_out_of_core`` (the caller removes
    it from ``sys.modules``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dask_out_of_core", _EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    sys.modules["dask_out_of_core"] = example
    spec.loader.exec_module(example)
    return example


@pytest.mark.cluster
def test_out_of_core_example_grows_crowded_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Where the workers' imports fill their limit (dask.array imports cupy where it is
    # installed: ~300 MiB at start on a GPU machine), the example picks a limit they hold
    # at most a third of, instead of letting dask restart them until it gives up.
    import dask
    import distributed  # noqa: F401  (its defaults join dask.config before the set below)

    try:
        example = _load_example()
        monkeypatch.setattr(example, "CHOSEN_LIMIT", None)
        monkeypatch.setattr(example, "MEMORY_LIMIT", 64 << 20)  # crowded by any imports
        # The nannies must not restart the 64 MiB workers while their memory is read.
        with dask.config.set({"distributed.worker.memory.terminate": False}):
            cluster, limit = example.sized_cluster()
        with cluster:
            given = {w["memory_limit"] for w in cluster.scheduler_info["workers"].values()}
    finally:
        del sys.modules["dask_out_of_core"]
    assert limit % (256 << 20) == 0
    assert given == {limit}
    assert limit >= 256 << 20


@pytest.mark.cluster
@pytest.mark.slow
def test_out_of_core_example_four_times_the_worker_memory() -> None:
    from distributed import Client

    path = _EXAMPLE
    try:
        example = _load_example()
        cluster, limit = example.sized_cluster()
        with cluster, Client(cluster) as c:
            c.upload_file(str(path))  # the workers import the example's function from it
            found = example.run(c, limit)
    finally:
        del sys.modules["dask_out_of_core"]
    assert found["array_bytes"] >= 4 * limit
    assert found["workers_before"] == found["workers_after"]  # nobody died and restarted
    assert len(found["workers_after"]) == 2
    np.testing.assert_allclose(found["mean"], found["reference"], rtol=1e-12)
    peaks = {a: r // (1 << 20) for a, r in found["peak_memory"].items()}
    assert all(peak < limit for peak in found["peak_memory"].values()), peaks


# --- from a dask audit (session 10) ----------------------------------------------------------


@ap.memory_type("numpy", slice_by_slice=True)
def _smooth_rows(s):
    """Needs the whole 2-D slice: each row mixes with its neighbours."""
    out = s.copy()
    out[1:] += s[:-1]
    out[:-1] += s[1:]
    return out / 3


@pytest.mark.usefixtures("sync")
def test_slice_by_slice_blocks_hold_whole_slices() -> None:
    a = np.random.default_rng(0).random((4, 16, 16)).astype(np.float32)
    x = da.from_array(a, chunks=(1, 8, 8))  # blocks cut across every slice
    out = _smooth_rows(x)
    assert out.chunks[1:] == ((16,), (16,))
    np.testing.assert_allclose(out.compute(), _smooth_rows(a), rtol=1e-6)
    plane = da.from_array(a[0], chunks=4)  # a 2-D array is one slice
    np.testing.assert_allclose(_smooth_rows(plane).compute(), _smooth_rows(a[0]), rtol=1e-6)


@ap.memory_type("numpy", slice_by_slice=True)
def _masked_centre(p: Any, mask: Any) -> Any:
    return np.where(mask, p - p.mean(), 0).astype(p.dtype)


@pytest.mark.usefixtures("sync")
def test_slice_by_slice_gives_a_mask_of_another_dtype_the_same_blocks() -> None:
    # Rechunked each on its own toward dask's chunk size in bytes, the bool mask got other
    # blocks along axis 0 than the float32 data: dask broadcast a 6-slice block of it
    # against a 2-slice block, and arrayport refused the blocks' shapes at compute time.
    a = np.random.default_rng(0).standard_normal((6, 64, 64)).astype(np.float32)
    m = a > 0
    x, mask = da.from_array(a, chunks=(6, 32, 64)), da.from_array(m, chunks=(6, 32, 64))
    with dask.config.set({"array.chunk-size": "40KiB"}):
        out = _masked_centre(x, mask)
        assert len(out.chunks[0]) > 1  # still split along the stack
        np.testing.assert_array_equal(out.compute(), _masked_centre(a, m))


@pytest.mark.usefixtures("sync")
def test_slice_by_slice_answers_an_empty_block_of_a_stack() -> None:
    # Frames dropped by a boolean mask leave an empty block; the stack is not empty.
    a = np.random.default_rng(1).random((4, 8, 8)).astype(np.float32)
    keep = da.from_array(np.array([True, True, False, False]), chunks=2)
    frames = da.from_array(a, chunks=(2, 8, 8))[keep]
    out = _smooth_rows(frames).compute()
    np.testing.assert_allclose(out, _smooth_rows(a[:2]), rtol=1e-6)


@ap.memory_type("numpy", blockwise=True)
def _add(p, q):
    return p + q


@pytest.mark.usefixtures("sync")
def test_dask_arguments_of_unknown_sizes_that_do_not_line_up_are_refused() -> None:
    x = da.arange(8, chunks=4).astype(np.float32)
    everything, every_fourth = x[x < 100], x[x % 4 == 0]  # (nan,) both: really 8 and 2
    with pytest.raises(ap.ArrayportError, match="do not line up"):
        _add(everything, every_fourth).compute()
    # numpy raises on the computed data: a whole argument cannot be checked against an
    # axis of unknown size, so it is refused up front.
    with pytest.raises(ap.InvalidOptionError, match="compute_chunk_sizes"):
        _add(everything, np.array([10, 20, 30, 40], np.float32))
    np.testing.assert_array_equal(_add(everything, np.float32(1)).compute(), np.arange(1, 9))


@ap.memory_type("numpy", depth=2)
def _convolve(img, k):
    """A 'same' convolution, edges repeated: the kernel fits neither a block nor the image."""
    r = k.shape[0] // 2
    padded = np.pad(img, r, mode="edge")
    out = np.zeros_like(img)
    for i in range(k.shape[0]):
        for j in range(k.shape[1]):
            out += k[i, j] * padded[i : i + img.shape[0], j : j + img.shape[1]]
    return out


@pytest.mark.usefixtures("sync")
def test_a_kernel_argument_goes_whole_to_every_block(image: np.ndarray) -> None:
    kernel = np.ones((5, 5)) / 25
    out = _convolve(da.from_array(image, chunks=10), kernel).compute()
    np.testing.assert_allclose(out, _convolve(image, kernel), rtol=1e-12)
    # One that fits a block but not the whole image is still refused.
    with pytest.raises(ap.InvalidOptionError, match="does against a block"):
        _add(da.from_array(image, chunks=10), np.ones(10))


@ap.memory_type("numpy", depth=3)
def _weigh(a, w):
    return a * w


@ap.memory_type("numpy", slice_by_slice=True)
def _minus_background(s, background):
    return s - background


@pytest.mark.usefixtures("sync")
def test_whole_arguments_are_judged_on_the_blocks_the_function_gets() -> None:
    x = np.arange(8.0)
    # dask merges chunks narrower than the halo: the blocks are 7 long, and a (7,) weight
    # fits them but not the array (numpy raises on the whole): refused, not computed.
    with pytest.raises(ap.InvalidOptionError, match="does against a block"):
        _weigh(da.from_array(x, chunks=2), np.arange(7.0))
    # With unknown rows, a weight along the known columns is still checked.
    table = da.from_array(np.arange(40.0).reshape(4, 10), chunks=(2, 5))
    rows = table[da.from_array(np.array([True, False, True, False]), chunks=2)]
    with pytest.raises(ap.InvalidOptionError, match="does against a block"):
        _add(rows, np.arange(5.0))
    # slice_by_slice makes slices whole before the check: a (Y, X) background is fine.
    stack = np.random.default_rng(2).random((4, 8, 8)).astype(np.float32)
    background = np.full((8, 8), 0.5, np.float32)
    out = _minus_background(da.from_array(stack, chunks=(2, 4, 4)), background).compute()
    np.testing.assert_allclose(out, stack - background, rtol=1e-6)


@pytest.mark.usefixtures("sync")
def test_blocks_of_whole_slices_larger_than_the_chunk_size_warn() -> None:
    chunk_size = dask.config.set({"array.chunk-size": "1KiB"})
    with chunk_size, pytest.warns(WholeArrayWarning, match="whole slices"):
        _smooth_rows(da.zeros((2, 64, 64), chunks=(1, 16, 16), dtype=np.float32))


# --- from a dask audit (session 12) ----------------------------------------------------------


@ap.memory_type("numpy", slice_by_slice=True)
def _centred(a: Any) -> Any:
    """Looks at the whole of what it gets: wrong wherever it gets a piece."""
    if isinstance(a, list):
        a = a[0]
    return a - a.mean()


@pytest.mark.usefixtures("sync")
@pytest.mark.parametrize(
    ("shape", "chunks", "in_list"),
    [((4, 3, 5, 6), (1, 3, 5, 6), False), ((4, 8, 10), (1, 8, 10), True), ((12,), 4, False)],
    ids=["4-D", "stack in a list", "1-D"],
)
def test_slice_by_slice_calls_it_does_not_slice_get_the_whole_array(
    shape: tuple[int, ...], chunks: Any, in_list: bool
) -> None:
    # stack.run_slices slices only a 3-D first argument given as itself: the dask path
    # split 4-D input and stacks in a list along axis 0 (a 1-D one blockwise), and joined
    # per-block answers (`a - a.mean()` off by up to 0.04).
    a = np.random.default_rng(0).random(shape)
    x = da.from_array(a, chunks=chunks)
    out = _centred([x] if in_list else x)
    np.testing.assert_allclose(out.compute(), _centred([a] if in_list else a))


@ap.memory_type("numpy", blockwise=True)
def _doubled(x: Any) -> Any:
    assert isinstance(x, np.ndarray)
    return x * 2


@pytest.mark.usefixtures("sync")
def test_a_0d_dask_array_reaches_the_function_as_a_0d_array() -> None:
    # A 0-d dask array's block is a numpy scalar: the call raised "is a numpy scalar: make
    # a 0-d array" at compute time for x.sum(), x.mean(), x[0].
    x = da.from_array(np.arange(8.0).reshape(2, 4), chunks=1)
    for lazy in (x.sum(), x.mean(), x[0, 1]):
        np.testing.assert_array_equal(_doubled(lazy).compute(), lazy.compute() * 2)


@needs_torch
@pytest.mark.usefixtures("sync")
def test_output_to_another_memory_type_moves_the_whole_result_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every block's result was converted to the output type and back to numpy in its task,
    # then the whole result converted once more: two transfers per block on a device.
    import torch

    from arrayport import _dask_worker

    moved_back: list[str] = []
    original = _dask_worker._to_block_type

    def spy(out: Any, like: Any, call: Any) -> Any:
        moved_back.append(type(out).__module__.partition(".")[0])
        return original(out, like, call)

    monkeypatch.setattr(_dask_worker, "_to_block_type", spy)
    a = np.arange(16.0).reshape(4, 4)
    out = _doubled.options(output="torch")(da.from_array(a, chunks=2))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), a * 2)
    assert moved_back == []  # each block's numpy result stayed numpy


@pytest.mark.usefixtures("sync")
def test_an_input_whose_blocks_are_not_its_declared_dtype_is_named_as_the_cause() -> None:
    # A from_delayed array declared float32 that computes int64: the error blamed the
    # function ("returned int64 ... declare a fixed output dtype"), which had run on int64.
    lying = da.from_delayed(
        dask.delayed(np.ones)((2, 3), dtype=np.int64), shape=(2, 3), dtype=np.float32
    )
    with pytest.raises(ap.ConversionError, match="declares dtype float32 but computes to int64"):
        _doubled(lying).compute()


# --- second-round audit -------------------------------------------------------------------


def _mutation_refused(x: Any, gains: np.ndarray) -> None:
    with pytest.raises(ValueError, match="read-only"):
        scaled_in_place(x, gains).compute()
    np.testing.assert_array_equal(gains, [1.0, 2.0, 3.0])  # the caller's own never changes


@pytest.mark.usefixtures("sync")
def test_a_whole_argument_written_into_by_a_block_is_refused_not_shared() -> None:
    # One snapshot served every block: each saw the doubling of the blocks before it
    # (rows 2, 2, 8, 8, 4, 4 for a function giving 2 without dask), in an order dask chose.
    x = da.from_array(np.ones((6, 3)), chunks=(2, 3))
    gains = np.array([1.0, 2.0, 3.0])
    _mutation_refused(x, gains)
    native = scaled_in_place.options(dtype_conversion=DtypeConversion.NATIVE_OUTPUT)
    with pytest.raises(ap.ArrayportError, match="read-only"):  # its sample run, at the call
        native(x, gains)


@pytest.mark.cluster
def test_cluster_a_whole_argument_is_read_only_on_the_workers(client: Any) -> None:
    x = da.from_array(np.ones((6, 3)), chunks=(2, 3))
    _mutation_refused(x, np.array([1.0, 2.0, 3.0]))


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.usefixtures("sync")
def test_empty_blocks_are_answered_without_the_call() -> None:
    # pyclesperanto holds no empty array: the empty first block of x[x > 4] failed the whole
    # computation, which runs without dask.
    @ap.memory_type("pyclesperanto", blockwise=True)
    def inc(v: Any) -> Any:
        import pyclesperanto as cle

        return cle.add_image_and_scalar(v, scalar=1)

    x = da.arange(10, chunks=3).astype(np.float32)
    y = x[x > 4]
    np.testing.assert_array_equal(inc(y).compute(), inc(y.compute()))
    z = da.from_array(np.arange(6, dtype=np.float32), chunks=((0, 3, 3),))
    np.testing.assert_array_equal(inc(z).compute(), np.arange(1, 7, dtype=np.float32))


@pytest.mark.usefixtures("sync")
def test_native_output_samples_keep_axes_held_in_one_chunk() -> None:
    # The sample was one element along every axis: a colour transform's pixels (n, 3) @ m.T
    # failed on a (1, 1) sample, with a matmul shape error.
    m = np.eye(3, dtype=np.float32)[::-1]

    @ap.memory_type("numpy", blockwise=True, dtype_conversion=DtypeConversion.NATIVE_OUTPUT)
    def recolour(pixels: Any, m: Any) -> Any:
        return pixels @ m.T

    pixels = np.arange(18, dtype=np.float32).reshape(6, 3)
    out = recolour(da.from_array(pixels, chunks=(2, 3)), m)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.compute(), pixels @ m.T)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_bare_device_word_is_settled_when_the_function_is_called() -> None:
    # The blocks read "opencl" when they were computed: on opencl:0 after use_device(1)
    # had closed, or on a worker.
    from tests.conftest import python_c

    code = """
import os
os.environ["POCL_DEVICES"] = "pthread pthread"
import numpy as np, arrayport as ap, pyclesperanto as cle, dask, dask.array as da
backend = ap.backends.get_backend("pyclesperanto")
seen = set()

@ap.memory_type("pyclesperanto", device="opencl", blockwise=True)
def inc(x):
    seen.add(str(backend.device_of(x)))
    return cle.add_image_and_scalar(x, scalar=1)

if len(backend.devices()) < 2:
    print("ONE DEVICE")
else:
    d = da.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), chunks=(2, 4))
    with ap.use_device(1):
        r = inc(d)
    with dask.config.set(scheduler="synchronous"):
        out = r.compute()
    assert (out == np.arange(16).reshape(4, 4) + 1).all()
    print(sorted(seen))
"""
    done = python_c(code)
    assert done.returncode == 0, done.stderr[-2000:]
    if "ONE DEVICE" in done.stdout:
        pytest.skip("PoCL gave one OpenCL device for POCL_DEVICES='pthread pthread'")
    assert done.stdout.strip().splitlines()[-1] == "['opencl:1']"


@skip_unless_installed(MemoryType.JAX)
@pytest.mark.usefixtures("sync")
def test_a_whole_argument_stays_shared_with_functions_that_cannot_write_into_it() -> None:
    # The read-only snapshot made every block copy it into jax (host-copy), where jax,
    # which cannot write into its arrays, shared it before.
    @ap.memory_type("jax", blockwise=True)
    def scaled(b: Any, w: Any) -> Any:
        return b * w

    x = da.ones((8, 1000), chunks=(2, 1000), dtype="float32")
    w = np.ones(1000, np.float32)
    with ap.metrics.collecting() as m:
        np.testing.assert_array_equal(scaled(x, w).compute(), np.ones((8, 1000)))
    routes = m.snapshot()["routes"]
    assert routes.get("host-copy", 0) == 4  # the results back to numpy, one per block
    assert routes.get("host-share", 0) == 8  # each block and the shared argument into jax


# --- the NATIVE_OUTPUT sample (session 17's audit) ------------------------------------------


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.usefixtures("sync")
def test_the_native_output_sample_runs_as_the_blocks_do_without_the_output_s_widening() -> None:
    # The sample ran with output="pyclesperanto", which widened bool to uint8: the dask
    # result was declared uint8 and every bool block was refused at compute.
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    f = ap.memory_type(
        "numpy",
        blockwise=True,
        dtype_conversion=DtypeConversion.NATIVE_OUTPUT,
        output="pyclesperanto",
    )(lambda a: a > 3)
    expected = np.asarray(ap.convert(f(x), "numpy"))
    out = f(da.from_array(x, chunks=(2, 3)))
    np.testing.assert_array_equal(np.asarray(ap.convert(out, "numpy")), expected)


@pytest.mark.usefixtures("sync")
def test_the_native_output_sample_warns_nothing_of_its_own_data() -> None:
    # A block of ones made a normalisation divide 0 by 0: a RuntimeWarning at the call,
    # an ArrayportError under -W error, though the caller's data never divides by zero.
    @ap.memory_type("numpy", whole_array=True, dtype_conversion=DtypeConversion.NATIVE_OUTPUT)
    def normalise(a: Any) -> Any:
        return (a - a.min()) / (a.max() - a.min())

    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = normalise(da.from_array(x, chunks=(2, 3)))
        np.testing.assert_allclose(out.compute(), normalise(x))


@pytest.mark.usefixtures("sync")
def test_a_tuple_result_of_the_native_output_sample_is_refused_at_the_call() -> None:
    # The sample's first element was taken quietly: the call passed, and computing failed.
    pair = ap.memory_type("numpy", blockwise=True, dtype_conversion=DtypeConversion.NATIVE_OUTPUT)(
        lambda a: (a, a)
    )
    with pytest.raises(ap.ArrayportError, match="returned a tuple on a sample dask block"):
        pair(da.from_array(np.ones((4, 4)), chunks=2))


# --- the OOM policy on dask (audit a20) ------------------------------------------------------


@ap.memory_type("numpy", blockwise=True, oom=ap.OOMPolicy(retries=0, release=False))
def _runs_out_on_the_last_row(x: Any) -> Any:
    if x.max() >= 12:  # the blocks holding the last row of a 4 x 4 arange
        raise MemoryError
    return x


@pytest.mark.usefixtures("sync")
def test_a_disabled_policy_s_own_error_reaches_the_caller_also_with_output() -> None:
    # output="numpy" computed the result inside convert, which took the function's own
    # MemoryError for the conversion's: "out of host memory computing a dask array ... to
    # numpy", advising to decorate the (decorated) function. OOMPolicy.disabled() promises
    # the framework's own error, as it is.
    off = _runs_out_on_the_last_row.options(oom=ap.OOMPolicy.disabled(), output="numpy")
    x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=(2, 4))
    with pytest.raises(MemoryError) as info:
        off(x)
    assert type(info.value) is MemoryError
    with pytest.raises(MemoryError) as raw:
        off(np.arange(16.0).reshape(4, 4))  # as without dask
    assert type(raw.value) is type(info.value)
    # An enabled policy's own OutOfMemoryError passes as it is, naming the block.
    with pytest.raises(ap.OutOfMemoryError) as gave_up:
        _runs_out_on_the_last_row.options(output="numpy")(x)
    assert gave_up.value.attempts == 1
    assert "dask block at index (1, 0)" in gave_up.value.__notes__[0]


_ARMED: list[Any] = []  # a worker's inject_oom blocks, entered by client.run(_arm, ...)


def _arm(memory_type: str, times: int) -> None:
    from arrayport.testing import inject_oom

    block = inject_oom(memory_type, times=times)
    block.__enter__()
    _ARMED.append(block)


def _disarm() -> None:
    while _ARMED:
        _ARMED.pop().__exit__(None, None, None)


@ap.memory_type(
    "torch",
    blockwise=True,
    oom=ap.OOMPolicy(retries=0, release=False, fallback="numpy"),
    dtype_conversion=DtypeConversion.NATIVE_OUTPUT,
)
def _half_with_fallback(x: Any) -> Any:
    if isinstance(x, np.ndarray) and x.shape[0] < 3:
        raise ValueError("needs three rows on numpy")  # so the sample cannot tell the dtype
    return x / 2


@needs_torch
@pytest.mark.cluster
def test_cluster_a_block_that_fell_back_to_another_dtype_says_so(client: Any) -> None:
    a = np.arange(24, dtype=np.int32).reshape(6, 4)
    lazy = _half_with_fallback(da.from_array(a, chunks=(3, 4)))  # a sample of 2 rows
    assert lazy.dtype == np.float32
    client.run(_arm, "torch", 1)  # the first block on each worker runs out on torch
    try:
        with pytest.raises(ap.ArrayportError, match=r"ran out of memory and fell back to numpy"):
            lazy.compute()
    finally:
        client.run(_disarm)
    np.testing.assert_array_equal(lazy.compute(), a / 2)


@pytest.mark.cluster
def test_cluster_block_out_of_memory_errors_come_as_the_policy_left_them(client: Any) -> None:
    x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=(2, 4))
    off = _runs_out_on_the_last_row.options(oom=ap.OOMPolicy.disabled(), output="numpy")
    with pytest.raises(MemoryError) as raw:
        off(x)
    assert type(raw.value) is MemoryError  # pickled across, without arrayport's wrapping
    with pytest.raises(ap.OutOfMemoryError) as info:
        _runs_out_on_the_last_row(x).compute()
    (note,) = info.value.__notes__
    assert "ran out of memory on the dask block at index (1, 0) (shape (2, 4))" in note
    assert "x.rechunk(...)" in note


_FAILED_ONCE: dict[str, bool] = {}  # per process: each worker's first block runs out once


@ap.memory_type("numpy", blockwise=True, oom=ap.OOMPolicy(retries=1, release=False))
def _runs_out_once_per_process(x: Any) -> Any:
    if not _FAILED_ONCE.get("yes"):
        _FAILED_ONCE["yes"] = True
        raise MemoryError
    return x + 1


@pytest.mark.cluster
def test_cluster_metrics_recipe_of_the_dask_page_reads_the_workers_counters(client: Any) -> None:
    # The client's ap.metrics saw none of the blocks' OOM episodes, and the docs did not
    # say so: the dask page's recipe reads them on the workers. It runs here as written.
    page = (Path(__file__).parents[1] / "docs" / "memory-types" / "dask.md").read_text()
    recipe = next(
        textwrap.dedent(block.split("```", 1)[0])
        for block in page.split("```python\n")[1:]
        if "ap.metrics.snapshot()" in block
    )
    x = da.from_array(np.zeros((4, 4)), chunks=(2, 4))
    found: dict[str, Any] = {"client": client, "f": _runs_out_once_per_process, "x": x}
    client.run(lambda: ap.metrics.reset())
    try:
        with ap.metrics.collecting() as here:
            exec(compile(recipe, "dask.md", "exec"), found)  # noqa: S102
        np.testing.assert_array_equal(found["result"], np.ones((4, 4)))
        assert found["outcomes"]["retry"] >= 1  # each worker's first block, retried
        assert here.snapshot()["oom_outcomes"] == {}  # the client's own: none of them
    finally:
        client.run(lambda: (ap.metrics.disable(), ap.metrics.reset()))


# --- from a dask audit (session 22) ----------------------------------------------------------


@ap.memory_type("numpy", slice_by_slice=True, oom=ap.OOMPolicy(retries=0))
def _doubled_slices(s: Any) -> Any:
    return s * 2


def _oom_note(x: Any) -> str:
    from arrayport.testing import inject_oom

    with inject_oom("numpy", times=1), pytest.raises(ap.OutOfMemoryError) as caught:
        _doubled_slices(x).compute()
    return caught.value.__notes__[-1]


@pytest.mark.usefixtures("sync")
def test_the_slice_by_slice_oom_note_s_remedy_gives_smaller_blocks() -> None:
    # whole_slices rechunked axis 0 to "auto", merging x.rechunk({0: 1})'s one-slice blocks
    # back into one block of 8: following the note gave the same block, and the same note.
    x = da.zeros((8, 4, 4), chunks=(8, 2, 2))
    assert _doubled_slices(x).chunks == ((8,), (4,), (4,))
    note = _oom_note(x)
    assert "(shape (8, 4, 4))" in note
    assert "fewer slices per block need less memory (x.rechunk({0: 1})" in note
    followed = x.rechunk({0: 1})
    assert _doubled_slices(followed).chunks == ((1,) * 8, (4,), (4,))
    note = _oom_note(followed)
    assert "(shape (1, 4, 4))" in note
    assert "holds one whole slice, the least slice_by_slice runs on" in note
    assert "rechunk" not in note
    np.testing.assert_array_equal(_doubled_slices(followed).compute(), np.zeros((8, 4, 4)))


def _masked_invalid(a: Any) -> Any:
    return np.ma.masked_invalid(a)


_NO_OPTION = "on dask input no option keeps a masked result"


@pytest.mark.usefixtures("sync")
@pytest.mark.parametrize(
    "options",
    [
        {"dtype_conversion": "float64"},
        {"dtype_conversion": "float64", "output": "declared"},
        {"dtype_conversion": "float64", "output": "numpy"},
        {"dtype_conversion": "native_output"},
    ],
)
def test_a_masked_result_on_dask_is_refused_without_the_options_that_cannot_keep_it(
    options: dict[str, Any],
) -> None:
    # The refusal said "output='declared' with dtype_conversion=NATIVE_OUTPUT returns
    # results as the function makes them", which on dask failed in the sample run.
    f = ap.memory_type("numpy", blockwise=True, **options)(_masked_invalid)
    a = np.array([1.0, np.nan, 3.0, 4.0])
    with pytest.raises(ap.UnsupportedArrayError, match="returns results as the function makes"):
        f(a)  # without dask the hint holds
    with pytest.raises(ap.UnsupportedArrayError) as caught:
        f(da.from_array(a, chunks=2)).compute()
    message = str(caught.value)
    assert message.startswith("the result of _masked_invalid ")
    # Each block runs with output='input', whatever was declared: that is not named.
    assert "output='input'" not in message
    assert _NO_OPTION in message
    assert "x.filled(fill_value)" in message
    assert "returns results as the function makes them" not in message


@ap.memory_type("numpy", dtype_conversion="float64")
def _inner_masked(a: Any) -> Any:
    return np.ma.masked_invalid(a)


@pytest.mark.usefixtures("sync")
def test_a_nested_call_s_masked_result_keeps_its_own_hint_on_a_dask_block() -> None:
    # The dask wording is the blocked function's: a numpy call it makes inside a block
    # can still keep its masked result with output='declared' and NATIVE_OUTPUT.
    outer = ap.memory_type("numpy", blockwise=True)(lambda a: _inner_masked(a))
    with pytest.raises(ap.UnsupportedArrayError) as caught:
        outer(da.from_array(np.array([1.0, np.nan]), chunks=1)).compute()
    message = str(caught.value)
    assert message.startswith("the result of _inner_masked (output='input')")
    assert "output='declared' with dtype_conversion=DtypeConversion.NATIVE_OUTPUT" in message
    assert _NO_OPTION not in message
