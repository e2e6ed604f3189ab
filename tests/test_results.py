"""_results: what placement and the OOM recovery share about results: dtype widenings,
moving recovered results back, and the record of results a fallback left."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np

from arrayport import MemoryType
from arrayport._results import LEFT, each_array, leave, moved, take_left, widenings
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


def test_a_left_result_is_taken_once_and_its_record_dies_with_it() -> None:
    kept = np.ones(3)
    leave(kept, MemoryType.TORCH, CPU)
    other = np.ones(3)
    assert take_left(other) is None  # another array, even an equal one
    assert take_left(kept) == (MemoryType.TORCH, CPU)
    assert take_left(kept) is None  # taken: nothing left
    # A record whose array is gone is dropped at the next record (not at one that cannot
    # be recorded: a numpy scalar is not weakly referable).
    gone = np.ones(3)
    leave(gone, MemoryType.TORCH, CPU)
    del gone
    gc.collect()
    leave(np.float64(1.0), MemoryType.TORCH, CPU)
    assert any(r() is None for r, _, _ in LEFT.values())
    fresh = np.ones(3)
    leave(fresh, MemoryType.TORCH, CPU)
    assert all(r() is not None for r, _, _ in LEFT.values())
    assert take_left(fresh) == (MemoryType.TORCH, CPU)
