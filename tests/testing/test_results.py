"""arrayport.testing._results: one result compared with numpy's, part by part."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU
from arrayport.testing._results import compare_results, default_tolerance, is_array


def _compare(actual: Any, expected: Any, **options: Any) -> None:
    settings: dict[str, Any] = {
        "where": "f on numpy",
        "what": "the result",
        "target": MemoryType.NUMPY,
        "device": CPU,
        "rtol": None,
        "atol": 0.0,
        "check_dtype": True,
        "check_memory_type": True,
    }
    settings.update(options)
    compare_results(actual, expected, **settings)


def test_structures_are_compared_part_by_part_with_the_part_named() -> None:
    _compare({"a": (np.ones(2), [np.zeros(1)])}, {"a": (np.ones(2), [np.zeros(1)])})
    with pytest.raises(AssertionError, match=r"the result\['a'\]\[1\]\[0\] differs"):
        _compare({"a": (np.ones(2), [np.ones(1)])}, {"a": (np.ones(2), [np.zeros(1)])})
    with pytest.raises(AssertionError, match=r"numpy gave a dict of \['a', 'b'\]"):
        _compare({"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(AssertionError, match="numpy gave a tuple of 2"):
        _compare((np.ones(1),), (np.ones(1), np.ones(1)))


def test_dtype_shape_and_tolerance() -> None:
    with pytest.raises(AssertionError, match="dtype float32, numpy gave float64"):
        _compare(np.ones(2, np.float32), np.ones(2))
    with pytest.raises(AssertionError, match=r"shape \(3,\), numpy gave \(2,\)"):
        _compare(np.ones(3), np.ones(2))
    tol = default_tolerance("float32")
    _compare(np.float32([1 + tol / 2]), np.float32([1.0]))
    with pytest.raises(AssertionError, match="differs"):
        _compare(np.float32([1 + 4 * tol]), np.float32([1.0]))
    assert default_tolerance("int32") == 0.0
    assert is_array(np.ones(1))
    assert not is_array([1.0])
