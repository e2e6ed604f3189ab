"""Tests of ``arrayport bench``'s measurements (structure and sanity, never speed)."""

from __future__ import annotations

from typing import Any

import pytest

import arrayport._bench
from arrayport import MemoryType
from arrayport._bench import check_size, max_size_mib, run_bench
from arrayport.errors import InvalidOptionError
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


@pytest.mark.parametrize("size", [float("nan"), float("inf"), float("-inf"), 0.0, -1.0])
def test_sizes_that_are_not_finite_and_positive_are_refused(size: float) -> None:
    with pytest.raises(InvalidOptionError, match="must be a finite positive number of MiB"):
        check_size(size)
    with pytest.raises(InvalidOptionError):
        run_bench(size_mib=size, repeats=1, calls=20)


def test_sizes_beyond_physical_memory_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrayport._bench, "_physical_memory", lambda: 8 * 2**30)
    held = arrayport._bench._arrays_held()
    assert held >= 2 + (MemoryType.NUMPY in INSTALLED)
    limit = max_size_mib()
    assert limit is not None
    assert limit == pytest.approx(8 * 2**10 / held)
    check_size(limit)
    with pytest.raises(
        InvalidOptionError, match=r"--size 1e\+09 MiB does not fit in memory"
    ) as exc:
        check_size(1e9, "--size")
    assert f"the most is {int(limit):,} MiB" in str(exc.value)
    with pytest.raises(InvalidOptionError, match="does not fit"):
        run_bench(size_mib=1e9)  # refused before anything is allocated


def test_limit_follows_the_machine() -> None:
    limit = max_size_mib()
    if limit is None:
        pytest.skip("this system does not report its physical memory")
    assert 1 <= limit < 2**40
    check_size(1.0)


def test_no_limit_where_memory_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrayport._bench, "_physical_memory", lambda: None)
    assert max_size_mib() is None
    check_size(1e9)  # only finiteness and sign are checked then
