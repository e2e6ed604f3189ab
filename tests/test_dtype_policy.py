"""The dtype policy itself (arrayport._dtype_policy), run on array-api-strict: proof that it
uses nothing outside the array API standard. The dtype table and names are tested in
test_dtype_kinds.py, the exact roundings in test_dtype_rounding.py."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType, Scaling
from arrayport import _dtype_policy as policy
from arrayport.backends import get_backend
from arrayport.dtypes import _plan

xps = pytest.importorskip("array_api_strict")


def _convert(values: list[float], src: str, dst: str, scaling: Scaling = Scaling.VALUE) -> list:
    p = _plan(policy.DTYPES[src], policy.DTYPES[dst], scaling, get_backend(MemoryType.NUMPY))
    x = xps.asarray(values, dtype=getattr(xps, src))
    out = policy.convert_block(xps, policy.prepare(xps, x, p), p)
    assert out.dtype == getattr(xps, dst)
    return np.asarray(out).tolist()


def test_value_rounds_half_to_even_clips_and_zeroes_nan() -> None:
    got = _convert([0.5, 1.5, 2.5, -1.0, 300.0, float("nan"), float("inf")], "float64", "uint8")
    assert got == [0, 2, 2, 0, 255, 0, 255]
    # NaN into wider integers too (a bare cast gives the minimum there on x86, not 0).
    for name in ("int32", "int64", "uint32"):
        assert _convert([float("nan"), -2.5, 3.5], "float64", name)[0] == 0, name
    assert _convert([0.5, 1.5, float("nan"), -0.5], "float64", "bool") == [
        False,
        True,
        False,
        False,
    ]


def test_value_is_exact_at_the_64_bit_extremes() -> None:
    assert _convert([2.0**63, -(2.0**63), 1e300], "float64", "int64") == [
        2**63 - 1,
        -(2**63),
        2**63 - 1,
    ]
    assert _convert([2.0**64, -1.0], "float64", "uint64") == [2**64 - 1, 0]


def test_integer_to_integer_clips_in_the_integer_domain() -> None:
    assert _convert([-1, 2**63 - 1], "int64", "uint8") == [0, 255]
    assert _convert([2**63 - 1], "int64", "int32") == [2**31 - 1]


def test_unit_maps_the_unit_interval_to_the_full_range() -> None:
    assert _convert([0.0, 0.5, 1.0], "float32", "uint8", Scaling.UNIT) == [0, 128, 255]
    assert _convert([-1.0, 0.0, 1.0], "float32", "int16", Scaling.UNIT) == [-32767, 0, 32767]
    # From signed integers, the minimum is clipped to -1 first: symmetric, -max not -max-1.
    assert _convert([-128, 127], "int8", "int16", Scaling.UNIT) == [-32767, 32767]


def test_the_policy_keeps_to_the_2023_12_standard() -> None:
    # Python scalars in where() are allowed only from the 2024.12 standard: the policy
    # once passed a bare 0.0 for NaN, which array-api-strict 2.2 (2023.12) refused.
    flags = getattr(xps, "ArrayAPIStrictFlags", None)
    if flags is None:
        pytest.skip("this array-api-strict cannot select a standard version")
    with flags(api_version="2023.12"):
        assert _convert([float("nan"), 2.5, 300.0], "float64", "uint8") == [0, 2, 255]
        assert _convert([float("nan"), -1.0], "float32", "int16", Scaling.UNIT) == [0, -32767]
        finite = xps.asarray([float("-inf"), -2.5, 7.0, float("nan")], dtype=xps.float64)
        assert policy.finite_range(xps, finite, "f") == (-2.5, 7.0)  # MINMAX's range
    # The sticky-bit reduction of wide integers under the same standard version is tested
    # in test_dtype_rounding.py.


def test_unit_keeps_minus_one_symmetric_in_float32_arithmetic() -> None:
    # The arithmetic runs in float32 where a framework holds no float64 (jax on a GPU
    # without 64-bit mode): -float32(2**31 - 1) rounds to -2**31, so -1.0 gave int32's
    # minimum, which only inputs below -1 may reach. The fix-up ran for 64-bit targets only.
    import dataclasses

    p = _plan(
        policy.DTYPES["float32"],
        policy.DTYPES["int32"],
        Scaling.UNIT,
        get_backend(MemoryType.NUMPY),
    )
    p = dataclasses.replace(p, compute="float32")
    x = xps.asarray([-2.0, -1.0, 1.0], dtype=xps.float32)
    got = np.asarray(policy.convert_block(xps, policy.prepare(xps, x, p), p)).tolist()
    assert got == [-(2**31), -(2**31 - 1), 2**31 - 1]


@pytest.mark.parametrize(
    ("values", "target"),
    [([1.0, -0.0, 0.0], "float16"), ([32896.0, 0.0, -0.0], "float32")],
)
def test_minmax_into_floats_gives_positive_zero_on_every_framework(
    values: list[float], target: str
) -> None:
    # numpy gave -0.0 where torch gave +0.0: which zero min() picked as the lower bound.
    import arrayport as ap
    from tests.conftest import INSTALLED

    x = np.array(values, np.float32)
    kinds = [MemoryType.NUMPY] + [mt for mt in (MemoryType.TORCH,) if mt in INSTALLED]
    for mt in kinds:
        out = ap.testing.as_numpy(
            ap.convert_dtype(ap.convert(x, mt), target, scaling=Scaling.MINMAX)
        )
        assert out.tolist() == [1.0, 0.0, 0.0]
        assert not np.signbit(out).any(), mt


def test_finite_range_of_a_lazy_array_is_one_compute_with_the_eager_answer() -> None:
    # dask: any-finite, min and max were three computes, three passes over the graph.
    da = pytest.importorskip("dask.array")
    import array_api_compat.dask.array as dxp
    import array_api_compat.numpy as nxp
    from dask.callbacks import Callback

    class Computes(Callback):  # type: ignore[misc]
        count = 0

        def _start(self, dsk: object) -> None:
            self.count += 1

    nan, inf = float("nan"), float("inf")
    cases = [
        (np.array([nan, -inf, 2.5, -7.0, inf, 0.0]), "f"),
        (np.array([nan, inf, -inf, nan]), "f"),  # no finite value
        (np.array([-(2**63), 3, 2**63 - 1], np.int64), "i"),
        (np.array([2**64 - 1, 0, 5], np.uint64), "u"),
        (np.array([False, True, False]), "b"),
    ]
    for values, kind in cases:
        with Computes() as computes:
            got = policy.finite_range(dxp, da.from_array(values, chunks=2), kind, True)
        assert computes.count == 1, kind
        want = policy.finite_range(nxp, values, kind)
        assert got == want, (values, got, want)
        assert type(got) is type(want)
        if got is not None:
            assert [type(v) for v in got] == [type(v) for v in want]
