"""Tests of arrayport._dask_sample: the sample a NATIVE_OUTPUT function runs on before its
dask result is built, shaped like the blocks the function will really get."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import DtypeConversion, MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)

NATIVE = DtypeConversion.NATIVE_OUTPUT


@pytest.fixture(autouse=True)
def _sync() -> Any:
    import dask

    with dask.config.set(scheduler="synchronous"):
        yield


def test_a_whole_array_function_is_sampled_with_its_blocks_whole() -> None:
    # The sample was cut from the caller's chunks (a (1, 1) block), not the whole array the
    # function gets: a @ m with a (6, 6) matrix was refused at the call.
    import dask.array as da

    project = ap.memory_type("numpy", whole_array=True, dtype_conversion=NATIVE)(lambda a, m: a @ m)
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    m = np.eye(6, dtype=np.float32) * 2
    out = project(da.from_array(x, chunks=(2, 3)), m)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.compute(), x @ m)


def test_a_slice_by_slice_function_is_sampled_with_whole_slices() -> None:
    import dask.array as da

    weigh = ap.memory_type("numpy", slice_by_slice=True, dtype_conversion=NATIVE)(
        lambda plane, w: plane @ w
    )
    stack = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    w = np.ones((4, 4), np.float32)  # a (1, 1, 1) sample of the caller's chunks refused
    out = weigh(da.from_array(stack, chunks=(1, 2, 3)), w)
    np.testing.assert_array_equal(out.compute(), stack @ w)


def test_an_axis_held_in_one_chunk_is_sampled_whole_where_16_elements_fail() -> None:
    # Per-column weights of 20 beside an axis of 20 in one chunk: the sample held 16.
    import dask.array as da

    scale = ap.memory_type("numpy", blockwise=True, dtype_conversion=NATIVE)(lambda a, w: a * w)
    x = np.arange(80, dtype=np.float32).reshape(4, 20)
    w = np.arange(20, dtype=np.float64)
    out = scale(da.from_array(x, chunks=(1, 20)), w)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.compute(), x * w)


def test_a_function_that_fails_on_every_sample_is_named_with_the_sample() -> None:
    import dask.array as da

    def broken(a: Any) -> Any:
        raise ValueError("no")

    f = ap.memory_type("numpy", blockwise=True, dtype_conversion=NATIVE)(broken)
    with pytest.raises(ap.ArrayportError, match=r"sample block .* raised ValueError: no"):
        f(da.from_array(np.ones((4, 20)), chunks=(1, 20)))


def test_a_function_that_changes_the_sample_blocks_shape_is_refused_at_the_call() -> None:
    # The sample ran at the call and its shape was not read: the lazy result reported the
    # input's shape, and only compute() said the function must keep it.
    import dask.array as da

    means = ap.memory_type("numpy", slice_by_slice=True, dtype_conversion=NATIVE)(
        lambda plane: plane.mean(keepdims=True)
    )
    stack = da.from_array(np.arange(48, dtype=np.float32).reshape(3, 4, 4), chunks=(1, 4, 4))
    with pytest.raises(ap.ArrayportError, match=r"returned shape \(1, 1, 1\) .*keep its input's"):
        means(stack)
    # One that keeps the shape is built as before.
    same = ap.memory_type("numpy", slice_by_slice=True, dtype_conversion=NATIVE)(lambda p: p * 2)
    assert same(stack).shape == (3, 4, 4)


def test_the_sample_run_warns_of_nothing_and_leaves_the_filters_as_they_were() -> None:
    # The sample is arrayport's data: a 1 x 1 block of blocks of 2 x 2 gave std(correction=1)
    # no degrees of freedom, whose warning (an error under -W error) was not the caller's.
    # The sample now has two elements along each split axis whose blocks have two.
    da = pytest.importorskip("dask.array")
    import warnings

    @ap.memory_type("numpy", blockwise=True, dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    def spread(x: np.ndarray) -> np.ndarray:
        return x - np.std(x, ddof=1)

    before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside = list(warnings.filters)
        out = spread(da.ones((4, 4), chunks=2))
        assert warnings.filters == inside
    assert warnings.filters == before
    assert out.dtype == np.float64


def test_the_sample_run_leaves_the_process_s_warning_filters_alone() -> None:
    # It ran under an "ignore everything" filter installed in the process's filter list:
    # another thread saving and restoring that list meanwhile (dask's chunk functions do)
    # could leave it installed for good, turning off the program's -W error everywhere.
    da = pytest.importorskip("dask.array")
    import warnings

    seen: list[list[Any]] = []

    @ap.memory_type("numpy", blockwise=True, dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    def look(x: np.ndarray) -> np.ndarray:
        seen.append(list(warnings.filters))
        return x / x  # 0/0 nowhere, 1/1: numpy's errstate covers a block of zeros

    caller = list(warnings.filters)
    look(da.ones((4, 4), chunks=2))
    assert seen  # the sample ran
    assert seen[0] == caller


def test_a_sample_has_one_element_along_an_axis_whose_blocks_have_one() -> None:
    # Two elements only where every block has two: the sample is shaped like the blocks.
    da = pytest.importorskip("dask.array")
    shapes: list[tuple[int, ...]] = []

    @ap.memory_type("numpy", blockwise=True, dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    def note(x: np.ndarray) -> np.ndarray:
        shapes.append(x.shape)
        return x

    note(da.ones((4, 6, 4), chunks=(1, 3, 2)))
    assert shapes[0] == (1, 2, 2)
    shapes.clear()
    note(da.ones((5, 6), chunks=((2, 3), (1, 5))))
    assert shapes[0] == (2, 1)


# --- from the OOM audit of dask (a20) ----------------------------------------------------------


def test_a_wider_sample_grows_in_steps_and_stops_at_one_mebibyte() -> None:
    # A whole_array function failing on the 16-element sample was run on the whole array:
    # built of ones in the calling process at the call (256 MiB for the audit's image).
    import dask.array as da

    shapes: list[tuple[int, ...]] = []

    def kernel(rows: int) -> Any:
        def filt(x: Any) -> Any:
            shapes.append(x.shape)
            if x.shape[0] < rows:
                raise ValueError("image too small for the kernel")
            return x * 0.5

        return ap.memory_type("numpy", whole_array=True, dtype_conversion=NATIVE)(filt)

    image = da.zeros((2048, 2048), chunks=(512, 2048))  # 32 MiB, never computed
    assert kernel(32)(image).dtype == np.float64
    assert shapes == [(16, 16), (64, 64)]  # wide enough for the kernel, not whole
    shapes.clear()
    with pytest.raises(
        ap.ArrayportError,
        match=r"\(256, 256\) float64 sample .* image too small.*A wider sample, of shape "
        r"\(1024, 1024\) \(8\.0 MiB of ones\), would be larger than the 1\.0 MiB.*"
        r"Declare the output dtype",
    ):
        kernel(2000)(image)
    assert shapes == [(16, 16), (64, 64), (256, 256)]  # the 8 MiB one was never made


def test_an_out_of_memory_error_of_the_sample_run_says_it_came_from_the_sample() -> None:
    import dask.array as da

    @ap.memory_type(
        "numpy",
        blockwise=True,
        dtype_conversion=NATIVE,
        oom=ap.OOMPolicy(retries=0, release=False),
    )
    def hungry(x: Any) -> Any:
        raise MemoryError  # the calling process's memory is full

    with pytest.raises(ap.OutOfMemoryError) as info:
        hungry(da.ones((8, 4), chunks=(2, 4)))
    (note,) = info.value.__notes__
    assert "raised by the NATIVE_OUTPUT sample run, at the call" in note
    assert "(2, 4) float64 sample block of ones" in note
    assert "declare the output dtype" in note


@skip_unless_installed(MemoryType.TORCH)
def test_a_fallback_returning_another_dtype_is_refused_at_the_call() -> None:
    # torch's int32 / 2 is float32, numpy's float64: a block recovered on numpy failed the
    # whole compute, with a dtype error that did not mention the fallback.
    import dask.array as da

    policy = ap.OOMPolicy(retries=0, release=False, fallback="numpy")
    half = ap.memory_type("torch", blockwise=True, oom=policy, dtype_conversion=NATIVE)(
        lambda x: x / 2
    )
    x = da.from_array(np.arange(16, dtype=np.int32).reshape(4, 4), chunks=(2, 4))
    with pytest.raises(
        ap.InvalidOptionError,
        match=r"returns float32 on torch but float64 on numpy, so a dask block that ran out "
        r"of memory and fell back to numpy would not match.*"
        r"dtype_conversion=DtypeConversion\.FLOAT32\) with the default Scaling\.VALUE \(under "
        r"UNIT the blocks that fell back are scaled from the fallback's dtype: one array of "
        r"two scales\), or a fallback that returns float32",
    ):
        half(x)
    # Declared dtypes, and fallbacks that return the sample's dtype, are built as before.
    assert half.options(dtype_conversion="float32")(x).dtype == np.float32
    double = ap.memory_type("torch", blockwise=True, oom=policy, dtype_conversion=NATIVE)(
        lambda x: x * 2
    )
    np.testing.assert_array_equal(double(x).compute(), np.arange(16).reshape(4, 4) * 2)


# --- from a dask audit (session 22) ----------------------------------------------------------


def test_the_native_output_sample_refuses_a_masked_result_as_masked() -> None:
    # "returned MaskedArray, not an array, on a sample dask block".
    import dask.array as da

    f = ap.memory_type(
        "numpy", blockwise=True, output="declared", dtype_conversion="native_output"
    )(np.ma.masked_invalid)
    a = np.array([1.0, np.nan, 3.0, 4.0])
    assert isinstance(f(a), np.ma.MaskedArray)  # the remedy without dask
    with pytest.raises(ap.UnsupportedArrayError) as caught:  # as masked input is refused
        f(da.from_array(a, chunks=2))
    message = str(caught.value)
    assert message.startswith("masked_invalid returned a masked array on a sample dask block: ")
    assert "on dask input no option keeps a masked result" in message
    assert "not an array" not in message
