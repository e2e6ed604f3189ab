"""arrayport.testing._values: two numpy arrays' values compared, numpy's the reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport.testing._values import compare_values, first_index


def _values(a: Any, e: Any, rtol: float = 0.0, atol: float = 0.0) -> None:
    compare_values(
        np.asarray(a),
        np.asarray(e),
        where="f on torch",
        what="the result",
        rtol=rtol,
        atol=atol,
        check_signed_zeros=False,
    )


def test_an_integer_reference_is_compared_exactly_with_a_float_result() -> None:
    # Compared in float64, int64 2**53 + 1 equalled float64 2**53, and uint64 2**64 - 1
    # equalled float64 2**64 (which no uint64 holds).
    with pytest.raises(
        AssertionError,
        match=r"^f on torch: the result has 9007199254740992\.0 at index \(0,\), numpy gave "
        r"9007199254740993 \(numpy's result is int64: compared exactly",
    ):
        _values(np.float64([2.0**53]), np.int64([2**53 + 1]))
    with pytest.raises(AssertionError, match=r"1\.8446744073709552e\+19 at index \(1,\), numpy"):
        _values(np.float64([1.0, 2.0**64]), np.uint64([1, 2**64 - 1]))
    # Tolerances do not apply to an integer reference, as between two integer arrays.
    with pytest.raises(AssertionError, match=r"has 3\.0 at index \(\), numpy gave 2"):
        _values(np.float64(3.0), np.int64(2), rtol=1.0, atol=5.0)
    # The same integers held as floats pass, bools as 0 and 1 too; -0.0 is the integer 0.
    _values(np.float64([2.0**53, -3.0, -0.0]), np.int64([2**53, -3, 0]))
    _values(np.float32([1.0, 0.0]), np.array([True, False]))
    _values(np.complex64([2 + 0j]), np.uint8([2]))


@pytest.mark.parametrize(
    ("value", "shown"),
    [(np.nan, "nan"), (np.inf, "inf"), (2.5, "2.5"), (complex(2, 1), r"\(2\+1j\)")],
)
def test_a_float_result_must_hold_a_finite_integer_for_an_integer_reference(
    value: Any, shown: str
) -> None:
    dtype = np.complex128 if isinstance(value, complex) else np.float64
    with pytest.raises(AssertionError, match=rf"has {shown} at index \(1,\), numpy gave 2 "):
        _values(np.array([0, value], dtype), np.int32([0, 2]))


def test_floats_keep_their_tolerances() -> None:
    _values(np.float64([1.0 + 1e-9]), np.float64([1.0]), rtol=1e-6)
    _values(np.int64([2]), np.float64([2.0 + 1e-9]), rtol=1e-6)  # a float reference
    with pytest.raises(AssertionError, match="differs from numpy's"):
        _values(np.float64([1.1]), np.float64([1.0]), rtol=1e-6)


def test_first_index() -> None:
    assert first_index(np.array([False, True, True])) == (1,)
    assert first_index(np.array(True)) == ()
    assert first_index(np.zeros((2, 2), bool)) is None
