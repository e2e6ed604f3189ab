"""Tests of ``arrayport bench``'s measurements (structure and sanity, never speed)."""

from __future__ import annotations

from typing import Any

import pytest

from arrayport import MemoryType
from arrayport._bench import run_bench
from tests.conftest import INSTALLED


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return run_bench(size_mib=1, repeats=1, calls=20)


def test_every_ordered_pair_of_timed_types(result: dict[str, Any]) -> None:
    types = [mt.value for mt in INSTALLED if mt is not MemoryType.DASK]
    pairs = [(c["source"], c["target"]) for c in result["conversions"]]
    assert pairs == [(s, t) for s in types for t in types if s != t]
    for c in result["conversions"]:
        assert c["error"] is None, c
        assert c["ratio"] > 0
        assert c["ms"] == pytest.approx(c["ratio"] * c["copy_ms"])
        assert c["copy_ms"] >= result["memcpy_ms"]  # the run's best copy


def test_size_and_reference(result: dict[str, Any]) -> None:
    assert result["size_mib"] == 1
    assert result["memcpy_ms"] > 0


def test_zero_copy_routes_are_reported_as_such(result: dict[str, Any]) -> None:
    cells = {(c["source"], c["target"]): c for c in result["conversions"]}
    if ("numpy", "torch") in cells:
        assert cells["numpy", "torch"]["method"] in ("dlpack", "host-share")
        assert cells["numpy", "torch"]["zero_copy"] is True


def test_dispatch_overhead_rows(result: dict[str, Any]) -> None:
    pytest.importorskip("arrayport.dispatch")
    cases = [d["case"] for d in result["dispatch"]]
    assert cases[0] == "numpy function, numpy input"
    for d in result["dispatch"]:
        assert d["us"] > 0
        assert d["ratio"] >= 1 or d["us"] < 1  # a wrapper cannot be faster than no wrapper
