"""_results: what placement and the OOM recovery share about results: dtype widenings,
moving recovered results back, and the record of results a fallback left."""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport import MemoryType
from arrayport._results import collecting, each_array, leave, moved, widenings
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
