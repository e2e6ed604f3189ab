"""What travels to dask workers: Slot/fill, and Call's lazy pickled payload."""

from __future__ import annotations

import pickle
from collections import namedtuple
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)

Pair = namedtuple("Pair", ["a", "b"])


def test_fill_replaces_slots_at_the_top_and_one_level_down() -> None:
    from arrayport._dask_worker import Slot, fill

    blocks, whole = ("B0", "B1"), ("W0",)
    assert fill(Slot("block", 1), blocks, whole) == "B1"
    assert fill(Slot("whole", 0), blocks, whole) == "W0"
    assert fill([Slot("block", 0), 3], blocks, whole) == ["B0", 3]
    assert fill(Pair(Slot("whole", 0), "x"), blocks, whole) == Pair("W0", "x")
    deeper = [[Slot("block", 0)]]
    assert fill(deeper, blocks, whole) == deeper  # two levels down stays as it is


@ap.memory_type("numpy")
def _plus_one(x: np.ndarray, k: int = 1) -> np.ndarray:
    return x + k


def test_call_pickles_as_bytes_and_resolves_in_a_fresh_cache() -> None:
    from arrayport import _dask_worker as worker

    call = worker.Call(
        "key-1",
        1,
        np.dtype("float64"),
        "plus_one",
        objects=(_plus_one, (worker.Slot("block", 0),), {"k": 1}),
    )
    blob = pickle.dumps(call)
    worker._resolved.clear()
    again = pickle.loads(blob)
    assert again.resolve()[0] is _plus_one  # a module-level function travels by reference
    out = worker.run_block(np.zeros(3), call=again)
    np.testing.assert_array_equal(out, np.ones(3))


def test_dispatched_functions_of_main_travel_by_value_at_any_depth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A script's dispatched function calling another one decorated in __main__: the inner
    # one pickled by reference to a __main__ that process workers do not have.
    import sys

    from arrayport import _dask_worker as worker

    def inner_fn(x: np.ndarray) -> np.ndarray:
        return x * 2

    def outer_fn(x: np.ndarray) -> np.ndarray:
        return inner(x) + 1

    for fn in (inner_fn, outer_fn):
        fn.__module__ = "__main__"
        fn.__qualname__ = fn.__name__.removesuffix("_fn")
    inner = ap.memory_type("numpy")(inner_fn)
    outer = ap.memory_type("numpy")(outer_fn)
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "inner", inner, raising=False)  # where a script has them
    monkeypatch.setattr(main, "outer", outer, raising=False)
    call = worker.Call("key-main", 1, np.dtype("float64"), "outer", objects=(outer, (), {}))
    blob = pickle.dumps(call)
    monkeypatch.delattr(main, "inner")  # a worker process: another __main__
    monkeypatch.delattr(main, "outer")
    worker._resolved.clear()
    again = pickle.loads(blob)
    fn, _, _ = again.resolve()
    np.testing.assert_array_equal(fn(np.arange(3.0)), [1.0, 3.0, 5.0])


def test_run_block_refuses_a_changed_dtype_with_the_remedy() -> None:
    from arrayport import _dask_worker as worker

    call = worker.Call(
        "key-2",
        1,
        np.dtype("int8"),
        "plus_one",
        objects=(_plus_one, (worker.Slot("block", 0),), {}),
    )
    with pytest.raises(ap.ArrayportError, match="dtype"):
        worker.run_block(np.zeros(3), call=call)


@ap.memory_type("numpy")
def _double(x: np.ndarray) -> np.ndarray:
    return x * 2  # on a 0-d array numpy returns a scalar (np.float64), not a 0-d array


def test_run_block_turns_a_numpy_scalar_result_into_a_0d_block() -> None:
    """A numpy scalar counts as the 0-d array it stands for (ADR 0016), and dask needs an
    array back for every block: numpy's own 0-d arithmetic must not read as "not an array"."""
    from arrayport import _dask_worker as worker

    call = worker.Call(
        "key-3",
        1,
        np.dtype("float64"),
        "double",
        objects=(_double, (worker.Slot("block", 0),), {}),
    )
    out = worker.run_block(np.array(3.0), call=call)
    assert type(out) is np.ndarray
    assert out.shape == ()
    assert out == 6.0


def test_run_block_checks_a_numpy_scalar_result_like_a_0d_array() -> None:
    """A reduction's scalar on a 1-d block is a 0-d array of the wrong shape: the error
    names the shape rule, not "not an array"."""
    from arrayport import _dask_worker as worker

    total = ap.memory_type("numpy")(lambda x: x.sum())
    call = worker.Call(
        "key-4",
        1,
        np.dtype("float64"),
        "total",
        objects=(total, (worker.Slot("block", 0),), {}),
    )
    with pytest.raises(ap.ArrayportError, match="keep its input's shape"):
        worker.run_block(np.ones(3), call=call)


@skip_unless_installed(MemoryType.TORCH)
def test_a_block_that_is_not_numpy_or_cupy_is_refused_by_name() -> None:
    # A meta saying numpy over torch blocks: np.dtype(torch.float64) raised a raw TypeError.
    import dask
    import dask.array as da
    import torch

    inc = ap.memory_type("numpy", blockwise=True)(lambda x: x + 1)
    x = da.from_array(np.arange(4.0), chunks=2)
    lying = x.map_blocks(torch.from_numpy, dtype=np.float64, meta=np.empty((0,)))
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(
            ap.UnsupportedArrayError, match=r"got a dask array with torch\.Tensor chunks"
        ),
    ):
        inc(lying).compute()


# --- from the OOM audit of dask (a20) ----------------------------------------------------------


@skip_unless_installed(MemoryType.TORCH)
def test_a_block_that_fell_back_to_another_dtype_says_so() -> None:
    # A block recovered on numpy returned numpy's float64 where the sample (on torch) said
    # float32: the error blamed the function and named no out-of-memory error. This
    # function's fallback fails on the two-row sample, so the call cannot refuse it first.
    import dask
    import dask.array as da

    from arrayport.testing import inject_oom

    @ap.memory_type(
        "torch",
        blockwise=True,
        oom=ap.OOMPolicy(retries=0, release=False, fallback="numpy"),
        dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT,
    )
    def half(x: Any) -> Any:
        if isinstance(x, np.ndarray) and x.shape[0] < 3:
            raise ValueError("needs three rows on numpy")
        return x / 2

    a = np.arange(24, dtype=np.int32).reshape(6, 4)
    with dask.config.set(scheduler="synchronous"):
        lazy = half(da.from_array(a, chunks=(3, 4)))
        assert lazy.dtype == np.float32
        np.testing.assert_array_equal(lazy.compute(), a / 2)  # nothing ran out
        with (
            inject_oom("torch", times=1),
            pytest.raises(
                ap.ArrayportError,
                match=r"returned float64 for a dask block that ran out of memory and fell back "
                r"to numpy \(its OOMPolicy's fallback\), but its dask result was declared "
                r"float32.*or a fallback that returns float32",
            ),
        ):
            lazy.compute()


def _runs_out_on_the_last_row(x: np.ndarray) -> np.ndarray:
    if x.max() >= 12:  # the blocks holding the last row only
        raise MemoryError
    return x


@pytest.mark.parametrize(
    ("rule", "remedy"),
    [
        ({"blockwise": True}, "rechunk the dask input (x.rechunk(...))"),
        ({"depth": (1, 0)}, "rechunk the dask input (x.rechunk(...))"),
        ({"whole_array": True}, "that block is the whole array: declare depth= instead"),
    ],
)
def test_a_blocks_final_out_of_memory_error_names_the_block(
    rule: dict[str, Any], remedy: str
) -> None:
    import dask
    import dask.array as da

    f = ap.memory_type("numpy", oom=ap.OOMPolicy(retries=0, release=False), **rule)(
        _runs_out_on_the_last_row
    )
    x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=(2, 4))
    with dask.config.set(scheduler="synchronous"), pytest.raises(ap.OutOfMemoryError) as info:
        f(x).compute()
    (note,) = info.value.__notes__
    at = (0, 0) if rule.get("whole_array") else (1, 0)
    shape = {"depth": (3, 4), "whole_array": (4, 4)}.get(next(iter(rule)), (2, 4))
    assert f"ran out of memory on the dask block at index {at} (shape {shape})" in note
    assert remedy in note
    # With the policy disabled the function's own error comes as it is, with no note.
    off = f.options(oom=ap.OOMPolicy.disabled())
    with dask.config.set(scheduler="synchronous"), pytest.raises(MemoryError) as raw:
        off(x).compute()
    assert type(raw.value) is MemoryError
    assert not hasattr(raw.value, "__notes__")


# --- from a dask audit (session 22) ----------------------------------------------------------


@ap.memory_type("numpy", output="declared", dtype_conversion="native_output")
def _masked_if_nan(a: Any) -> Any:
    return np.ma.masked_invalid(a) if np.isnan(a).any() else a


def test_a_block_returning_a_masked_array_the_sample_did_not_is_refused_as_masked() -> None:
    import dask
    import dask.array as da

    x = da.from_array(np.array([1.0, 2.0, np.nan, 4.0]), chunks=2)
    out = _masked_if_nan.options(blockwise=True)(x)  # the sample of ones is not masked
    # It passed: a masked block under a dask result whose meta says plain numpy chunks.
    refusal = "returned a masked array on a dask block: on dask input no option keeps a masked"
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(ap.UnsupportedArrayError, match=refusal),  # as masked input is refused
    ):
        out.compute()
