"""arrayport.testing._values: two numpy arrays' values compared, numpy's the reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.testing import assert_equivalent
from arrayport.testing._values import compare_values, first_index
from tests.conftest import INSTALLED, skip_unless_installed


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


# --- from an audit of the testing kit (testing3, 2026-11-28) ---

_INF, _NAN = float("inf"), float("nan")


def _c64(*values: complex) -> np.ndarray:
    return np.array(values, np.complex64)


def test_a_complex_value_with_an_infinite_part_is_compared_part_by_part() -> None:
    # numpy's isclose asks a complex value with an infinite part to match exactly: inf+1j
    # against inf+(1+1e-12)j failed, and so did a correct complex64 sum on torch (1 ulp).
    _values(_c64(complex(_INF, 479.51053), 1 + 1j), _c64(complex(_INF, 479.51044), 1 + 1j), 1.4e-3)
    _values(np.complex128([complex(_INF, 1.0)]), np.complex128([complex(_INF, 1 + 1e-12)]), 1e-7)
    _values(_c64(complex(-_INF, _NAN)), _c64(complex(-_INF, _NAN)))
    _values(_c64(complex(_INF, 1e-40)), _c64(complex(_INF, 0.0)))  # and flushed parts
    _values(np.float64([_INF, 2.0]), np.complex128([complex(_INF, 0.0), 2.0]), 1e-7)
    # Still failing: a part outside the tolerance, the wrong infinity, NaN for a number.
    for actual, expected in [
        (complex(_INF, 1.0), complex(_INF, 2.0)),
        (complex(_INF, 1.0), complex(-_INF, 1.0)),
        (complex(1.0, _INF), complex(_INF, 1.0)),
        (complex(_INF, _NAN), complex(_INF, 3.0)),
        (complex(_INF, _NAN), complex(-_INF, _NAN)),
        (complex(_NAN, _INF), complex(_NAN, -_INF)),
        (complex(_NAN, _INF), complex(_NAN, 5.0)),
    ]:
        with pytest.raises(AssertionError, match=r"^f on torch: the result"):
            _values(_c64(actual, 1 + 1j), _c64(expected, 1 + 1j), 1.4e-3)


def test_values_both_below_the_smallest_normal_number_count_as_equal() -> None:
    # jax and tensorflow flush subnormals to zero, numpy does not: 1e-40 + 1e-40 failed
    # there with atol=0, though arrays() draws subnormals by default.
    _values(np.float32([0.0, -0.0, 1.0]), np.float32([2e-40, 3e-39, 1.0]), 1e-6)
    _values(np.float64([0.0]), np.float64([1e-310]))
    _values(np.complex64([complex(0.0, 2.0)]), np.complex64([complex(-1e-40, 2.0)]), 1e-6)
    _values(np.float32([0.0]), np.float64([1e-40]))  # float32's tiny for a float32 result
    # Above the smallest normal number (float32: 1.18e-38) a difference still fails.
    # (numpy's own words differ by version: "Mismatch at index" came with numpy 2.3.)
    with pytest.raises(AssertionError, match=r"Mismatched elements: 1 / 2") as info:
        _values(np.float32([0.0, 0.0]), np.float32([1e-40, 2e-38]), 1e-6)
    assert "2.e-38" in str(info.value)
    with pytest.raises(AssertionError, match=r"Mismatched elements: 1 / 1"):
        _values(np.float32([2e-38]), np.float32([3e-38]), 1e-6)
    with pytest.raises(AssertionError, match="both below the smallest normal number"):
        _values(np.float32([0.0, 1.0]), np.float32([1e-40, 2.0]), 1e-6)  # noted, not hidden


def _signed(a: Any, e: Any) -> None:
    compare_values(
        np.asarray(a),
        np.asarray(e),
        where="f on jax",
        what="the result",
        rtol=1e-6,
        atol=0.0,
        check_signed_zeros=True,
    )


def test_signs_below_the_smallest_normal_number_are_checked_when_asked() -> None:
    _signed(np.float32([-0.0, 0.0]), np.float32([-1e-40, 1e-40]))  # flushed, sign kept
    with pytest.raises(
        AssertionError,
        match=r"has 0\.0 at index \(1,\), numpy gave -9\.99\d*e-41 \(both are below the "
        r"smallest normal number, 1\.1754944e-38, and count as equal, but their signs differ",
    ):
        _signed(np.float32([-0.0, 0.0]), np.float32([-1e-40, -1e-40]))
    with pytest.raises(
        AssertionError, match=r"\(9\.99\d*e-41-1j\) at index \(\), numpy gave \(-9\.99"
    ):
        _signed(np.complex64(complex(1e-40, -1.0)), np.complex64(complex(-1e-40, -1.0)))
    with pytest.raises(AssertionError, match="the sign of a zero differs"):
        _signed(np.float32([-0.0]), np.float32([0.0]))


@skip_unless_installed(MemoryType.TORCH)
def test_a_correct_complex_sum_with_an_infinite_part_passes() -> None:
    x = (np.random.default_rng(0).random(100) * (1 + 1j)).astype(np.complex64)
    x[3] = complex(_INF, 0.5)

    def total(v: Any) -> Any:
        return v.sum()

    mts = [mt for mt in (MemoryType.TORCH, MemoryType.DASK) if mt in INSTALLED]
    assert assert_equivalent(total, x, memory_types=["numpy", *mts])[0] == "numpy"

    def wrong(v: Any) -> Any:
        return v.sum() + (1j if "torch" in type(v).__module__ else 0)  # off in one part

    with pytest.raises(AssertionError, match=r"wrong.* on torch: the result"):
        assert_equivalent(wrong, x, memory_types=["torch"])


_FLUSHING = [mt for mt in (MemoryType.JAX, MemoryType.TENSORFLOW) if mt in INSTALLED]


@pytest.mark.skipif(not _FLUSHING, reason="neither jax nor tensorflow is installed")
@pytest.mark.parametrize("fn", [lambda x: x + x, lambda x: x * 0.5], ids=["double", "half"])
def test_subnormals_flushed_to_zero_by_jax_and_tensorflow_pass(fn: Any) -> None:
    x = np.array([1e-40, -3e-39, 1.0], np.float32)
    assert assert_equivalent(fn, x, memory_types=_FLUSHING) == tuple(m.value for m in _FLUSHING)
    assert_equivalent(fn, x, memory_types=_FLUSHING, check_signed_zeros=True)

    def lifted(v: Any) -> Any:  # a real difference just above the smallest normal number
        lift = 2e-38 if "numpy" not in type(v).__module__ else 0.0
        return fn(v) + np.float32(lift)

    with pytest.raises(AssertionError, match=rf"on {_FLUSHING[0].value}: the result differs"):
        assert_equivalent(lifted, x, memory_types=_FLUSHING)


# --- from an audit of the testing kit (a21_kit, finding 1) ---


@pytest.mark.parametrize(
    ("bad", "shown"),
    [(_NAN, "nan"), (_INF, "inf"), (-_INF, "-inf")],
)
def test_a_misplaced_nan_or_infinity_is_reported_with_its_index(bad: float, shown: str) -> None:
    # assert_allclose said only "nan location mismatch" (or "inf"), with no index, and the
    # truncated printout did not show the element.
    expected = np.linspace(1, 2, 40 * 40, dtype=np.float32).reshape(40, 40)
    actual = expected.copy()
    actual[17, 23] = bad
    want = float(expected[17, 23])
    with pytest.raises(
        AssertionError,
        match=rf"^f on torch: the result has {shown} at index \(17, 23\), numpy gave "
        rf"{want!r} \(NaN and infinities must be where numpy has them\)$",
    ):
        _values(actual, expected, rtol=1e-3)
    # And numpy's NaN or infinity where the result has a number, or the other infinity.
    with pytest.raises(AssertionError, match=rf"has {want!r} at index \(17, 23\), numpy gave "):
        _values(expected, actual, rtol=1e-3)
    with pytest.raises(AssertionError, match=r"has -?inf at index \(\), numpy gave -?inf "):
        _values(np.float64(-_INF), np.float64(_INF))


def test_nan_and_infinities_where_numpy_has_them_still_pass() -> None:
    _values(np.float32([_NAN, _INF, -_INF, 1.0]), np.float32([_NAN, _INF, -_INF, 1.0 + 1e-7]), 1e-6)


def test_a_complex_part_nan_for_a_number_is_reported_with_its_index() -> None:
    # assert_allclose raised first, "nan location mismatch" with no index.
    with pytest.raises(
        AssertionError, match=r"^f on torch: the result has \(nan\+1j\) at index \(1,\), numpy gave"
    ):
        _values(_c64(1 + 1j, complex(_NAN, 1.0)), _c64(1 + 1j, 2 + 1j), 1e-3)
