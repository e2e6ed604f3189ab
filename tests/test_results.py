"""_results: what placement and the OOM recovery share about results: dtype widenings,
moving recovered results back, and the record of results a fallback left."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType, detect_memory_type
from arrayport._results import collecting, each_array, leave, left_here, moved, widenings
from arrayport.devices import CPU
from tests.conftest import skip_unless_installed


def test_widenings_are_read_from_the_backend() -> None:
    assert widenings(MemoryType.NUMPY) == {}


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_result_the_target_would_widen_is_not_moved() -> None:
    assert widenings(MemoryType.PYCLESPERANTO)["bool"] == "uint8"
    mask = np.array([True, False])
    assert moved(mask, MemoryType.PYCLESPERANTO, None) is mask
    values = np.array([1.5, 2.5], np.float32)
    assert moved(values, MemoryType.PYCLESPERANTO, None) is not values


@skip_unless_installed(MemoryType.TORCH)
def test_moved_converts_and_leaves_numpy_scalars() -> None:
    import torch

    assert isinstance(moved(np.ones(2), MemoryType.TORCH, CPU), torch.Tensor)
    scalar = np.float64(2.0)
    assert moved(scalar, MemoryType.TORCH, CPU) is scalar


def test_each_array_reaches_arrays_in_nested_results_only() -> None:
    seen: list[Any] = []

    def record(a: Any) -> str:
        seen.append(a)
        return "seen"

    a, b = np.ones(1), np.zeros(1)
    out = each_array((a, [b, 3], {"k": np.float32(1)}, "text"), record)
    assert out == ("seen", ["seen", 3], {"k": "seen"}, "text")
    assert len(seen) == 3


def test_what_a_fallback_leaves_is_recorded_only_for_the_collecting_call() -> None:
    # A process-wide record, keyed by id, outlived its call: an array an OOMPolicy.run
    # fallback returned was later moved into jax by an unrelated numpy-declared function
    # that returned it unchanged.
    def fn(x: Any) -> Any:
        return x

    def other(x: Any) -> Any:
        return x

    kept = np.ones(3)
    leave(kept, MemoryType.TORCH, CPU, fn)  # no call collecting: not recorded anywhere
    with collecting(fn) as left:
        assert left.where(kept) is None
        leave(kept, MemoryType.TORCH, CPU, other)  # a nested call of another function
        assert left.items == []
        with collecting(other) as inner:  # its own record, if it collects
            leave(kept, MemoryType.JAX, None, other)
        assert inner.where(kept) == (MemoryType.JAX, None)
        assert left.items == []
        leave(kept, MemoryType.TORCH, CPU, fn)
        assert left.where(kept) == (MemoryType.TORCH, CPU)
        assert left.where(np.ones(3)) is None  # by identity, not by value
    import functools

    @functools.wraps(fn)
    def sliced(x: Any) -> Any:  # a wrapper of the call's function (slice by slice)
        return fn(x)

    with collecting(fn) as left:
        leave(kept, MemoryType.TORCH, CPU, sliced)
    assert left.where(kept) == (MemoryType.TORCH, CPU)


def test_left_here_is_the_innermost_collecting_calls_record() -> None:
    # What a sliced call's per-slice results are taken back from, one by one (audit of
    # stacks, finding 1): the record of the call being placed, none outside any call.
    def fn(x: Any) -> Any:
        return x

    assert left_here() is None
    with collecting(fn) as outer:
        assert left_here() is outer
        with collecting(fn) as inner:
            assert left_here() is inner
        assert left_here() is outer
    assert left_here() is None


def test_each_array_rebuilds_dicts_as_their_own_type() -> None:
    # A fallback's OrderedDict came back a plain dict, a defaultdict without its factory.
    import collections

    ordered = collections.OrderedDict([("b", np.ones(1)), ("a", 2)])
    out = each_array(ordered, lambda a: "seen")
    assert type(out) is collections.OrderedDict
    assert list(out.items()) == [("b", "seen"), ("a", 2)]
    counts: collections.defaultdict[str, Any] = collections.defaultdict(int, k=np.ones(1))
    out = each_array(counts, lambda a: "seen")
    assert type(out) is collections.defaultdict
    assert out.default_factory is int
    assert out == {"k": "seen"}
    assert counts["k"] is not out["k"]  # the result is a new dict, the original untouched

    class Strict(dict):  # type: ignore[type-arg]
        def __init__(self, required: int) -> None:  # cannot be rebuilt from items
            super().__init__()

        def __reduce__(self) -> Any:
            raise TypeError("not copyable")

    strict = Strict(1)
    strict["k"] = np.ones(1)
    assert each_array(strict, lambda a: "seen") == {"k": "seen"}  # a plain dict then
    # A Counter's update() adds: its counts came back doubled.
    tally = collections.Counter({"above": 3, "below": 3})
    out = each_array(tally, lambda a: a)
    assert type(out) is collections.Counter
    assert out == {"above": 3, "below": 3}


@skip_unless_installed(MemoryType.DASK)
@skip_unless_installed(MemoryType.JAX)
def test_kept_leaves_what_the_target_refuses_but_computes_it_if_lazy() -> None:
    # A piece of a recovery is placed without the dtype policy: a dask piece whose float64
    # jax refuses stays dask, but computed: its computation is what may run out of memory,
    # and that must happen in the piece's attempt, where the policy can split it.
    import dask.array as da
    import jax

    from arrayport._results import kept

    if jax.config.jax_enable_x64:
        pytest.skip("needs jax without 64-bit mode")
    runs: list[int] = []

    def block(b: np.ndarray) -> np.ndarray:
        runs.append(b.size)
        return b / 2

    lazy = da.from_array(np.arange(4, dtype=np.int32)).map_blocks(block, dtype=np.float64)
    runs.clear()
    out = kept(lazy, MemoryType.JAX, None)
    assert detect_memory_type(out) is MemoryType.DASK
    assert runs == [4]  # computed here
    np.testing.assert_array_equal(out.compute(), np.arange(4) / 2)
    assert runs == [4]  # and not again
    refused = np.arange(3.0)
    assert kept(refused, MemoryType.JAX, None) is refused  # not lazy: left as it is
    assert detect_memory_type(kept(np.arange(3.0, dtype=np.float32), MemoryType.JAX, None)) is (
        MemoryType.JAX
    )


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_fallbacks_result_its_memory_type_cannot_hold_is_refused_in_the_calls_words() -> None:
    # A numpy fallback's 0-d result for a pyclesperanto caller: moved() let the shape
    # refusal escape bare ("cannot convert ... pyclesperanto cannot hold 0-d arrays"),
    # where an unfailed call says whose result it is and what to do (audit a20).
    import pyclesperanto as cle

    import arrayport as ap
    from arrayport.testing import inject_oom

    assert moved(np.float32(1.0).reshape(()), MemoryType.PYCLESPERANTO, None).ndim == 0

    def total(x: Any) -> Any:
        return np.float32(ap.convert(x, "numpy").sum())

    x = cle.push(np.ones((4, 3), np.float32))
    policy = ap.OOMPolicy(retries=0, fallback="numpy")
    summed = ap.memory_type("pyclesperanto", oom=policy)(total)
    with pytest.raises(ap.ConversionError) as plain:
        summed(x)
    with inject_oom("pyclesperanto", times=1), pytest.raises(ap.ConversionError) as fell_back:
        summed(x)
    assert str(fell_back.value) == str(plain.value)
    assert str(plain.value).startswith("the result of ")
    assert summed.options(output="declared")(x) == 12.0
    with inject_oom("pyclesperanto", times=1):
        assert summed.options(output="declared")(x) == 12.0


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@skip_unless_installed(MemoryType.TORCH)
def test_the_inputs_bool_as_a_fallback_holds_it_is_not_moved() -> None:
    # pyclesperanto holds a bool input as uint8 0 and 1: moving that back to torch made it
    # a uint8 the dtype policy read under Scaling.UNIT as 0 and 1/255 (all False).
    import pyclesperanto as cle

    from arrayport._results import bool_reference, held_bool

    widened = cle.push(np.array([[1, 0, 1]], np.uint8))
    assert held_bool(widened) == "uint8"
    assert held_bool(cle.push(np.ones((1, 3), np.float32))) is None
    assert held_bool(np.array([1, 0], np.uint8)) is None  # numpy holds bool as bool
    assert moved(widened, MemoryType.TORCH, CPU, bool_input=True) is widened
    assert detect_memory_type(moved(widened, MemoryType.TORCH, CPU)) is MemoryType.TORCH
    mask, counts = np.array([True, False]), np.array([1, 0], np.uint8)
    assert bool_reference((mask, counts), {})
    assert bool_reference((3,), {"image": [mask]})
    assert not bool_reference((counts, mask), {})
    assert not bool_reference((), {})
