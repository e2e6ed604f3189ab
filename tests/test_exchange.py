"""arrayport._exchange: the dtypes arrayport moves between frameworks (ADR 0054)."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport._exchange import EXCHANGED_DTYPES, holds_numbers


def test_the_standards_dtypes_plus_float16_and_bfloat16() -> None:
    ints = {f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)}
    floats = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128"}
    expected = {"bool"} | ints | floats
    assert expected == EXCHANGED_DTYPES


@pytest.mark.parametrize(
    ("dtype", "numbers"),
    [
        ("bool", True),
        ("int8", True),
        (">f8", True),
        ("longdouble", True),  # numbers, though they never leave numpy
        ("complex64", True),
        ("U3", False),
        ("O", False),
        ("datetime64[D]", False),
        ("V8", False),
        ([("a", "f4")], False),
    ],
)
def test_holds_numbers(dtype: object, numbers: bool) -> None:
    assert holds_numbers(np.dtype(dtype)) is numbers


def test_ml_dtypes_are_numbers_by_module() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    for name in ("bfloat16", "float8_e5m2", "float8_e4m3fn", "int4"):
        assert holds_numbers(np.dtype(getattr(ml_dtypes, name))), name
