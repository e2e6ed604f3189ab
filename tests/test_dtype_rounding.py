"""Tests of arrayport._dtype_rounding: the exact roundings at the ends of the float types,
called directly (numpy, and array-api-strict where it holds the dtypes involved). The policy
that uses them is tested in test_dtype_policy.py and, end to end, in test_dtypes.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arrayport import _dtype_rounding as rounding
from arrayport._dtype_kinds import DTYPES


def test_float_bounds_are_the_floats_nearest_inside_the_integer_range() -> None:
    # float32 holds no 2**32-1: the largest float32 below it is 2**32-256.
    assert rounding.float_bounds("float32", 0, 2**32 - 1) == (0.0, 2.0**32 - 256)
    assert rounding.float_bounds("float32", -(2**31), 2**31 - 1) == (-(2.0**31), 2.0**31 - 128)
    assert rounding.float_bounds("float64", -(2**63), 2**63 - 1) == (-(2.0**63), 2.0**63 - 1024)
    assert rounding.float_bounds("float64", 0, 255) == (0.0, 255.0)  # exact when it can be


def test_float_to_int_rounds_half_to_even_zeroes_nan_and_reaches_the_exact_maximum() -> None:
    x = np.array([2.0**32 - 256, 4.3e9, math.inf, -5.0, math.nan, 2.5, 3.5], dtype=np.float32)
    got = rounding.float_to_int(np, x, "float32", DTYPES["uint32"], "uint32")
    assert got.dtype == np.uint32
    assert got.tolist() == [2**32 - 256, 2**32 - 1, 2**32 - 1, 0, 0, 2, 4]
    x = np.array([2.0**63, -(2.0**63), -math.inf])
    got = rounding.float_to_int(np, x, "float64", DTYPES["int64"], "int64")
    assert got.tolist() == [2**63 - 1, -(2**63), -(2**63)]


def test_float_value_clips_finite_values_and_keeps_inf_and_nan() -> None:
    x = np.array([1e300, -1e300, math.inf, -math.inf, math.nan, 1.5])
    got = rounding.float_value(np, x, "float64", DTYPES["float32"])
    f32_max = float(np.finfo(np.float32).max)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [f32_max, -f32_max, math.inf, -math.inf, math.nan, 1.5])
    wider = rounding.float_value(np, x[2:].astype(np.float32), "float32", DTYPES["float64"])
    np.testing.assert_array_equal(wider, x[2:])  # wider: exact


def test_narrow_rounds_once_into_bfloat16() -> None:
    pytest.importorskip("ml_dtypes")
    # Through float32 by round to nearest, 1 + 2**-8 + 2**-30 becomes the tie 1 + 2**-8,
    # which rounds to even (1.0); rounded once it is just above the tie: 1 + 2**-7.
    x = np.array([1 + 2**-8 + 2**-30, -(1 + 2**-8 + 2**-30), 1.0, math.inf, math.nan])
    got = rounding.narrow(np, x, "float64", "bfloat16")
    assert got.dtype == np.dtype("bfloat16")
    np.testing.assert_array_equal(
        got.astype(np.float64), [1 + 2**-7, -(1 + 2**-7), 1.0, math.inf, math.nan]
    )


def test_float32_round_to_odd_keeps_exact_values_and_picks_the_odd_neighbour() -> None:
    x = np.array([1 + 2**-30, 1 + 2**-23 + 2**-30, 1.0, 0.0, -math.inf, 2.0**-149 / 4])
    got = rounding._float32_round_to_odd(np, x)
    assert got.dtype == np.float32
    expected = [1 + 2**-23, 1 + 2**-23, 1.0, 0.0, -math.inf, 2.0**-149]
    np.testing.assert_array_equal(got.astype(np.float64), expected)


def test_sticky_float64_keeps_the_standard_2023_12() -> None:
    xps = pytest.importorskip("array_api_strict")
    flags = getattr(xps, "ArrayAPIStrictFlags", None)
    if flags is None:
        pytest.skip("this array-api-strict cannot select a standard version")
    with flags(api_version="2023.12"):
        # The sticky-bit reduction of wide integers bound for 16-bit floats (which
        # array-api-strict lacks, so called directly): it once passed xp.maximum a 1.0.
        # 2**62 + 2**33 + 5: the top 31 bits kept, the 5 below them become one bit (2**31).
        x = xps.asarray([2**62 + 2**33 + 5, -(2**63), -3, 0], dtype=xps.int64)
        got = np.asarray(rounding.sticky_float64(xps, x, "int64")).tolist()
        assert got == [2.0**62 + 2.0**33 + 2.0**31, -(2.0**63), -3.0, 0.0]


def test_0d_uint64_rounding_warns_of_no_overflow() -> None:
    # s - 1 was computed for s == 0 too, wrapping in uint64: on 0-d dask blocks (numpy
    # scalars) numpy warned, and under -W error a correct conversion raised.
    da = pytest.importorskip("dask.array")
    import warnings

    import arrayport as ap

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = ap.convert_dtype(da.from_array(np.array(5, np.uint64)), "bfloat16").compute()
    assert float(out) == 5.0
