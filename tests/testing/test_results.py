"""arrayport.testing._results: one result compared with numpy's, part by part."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU
from arrayport.testing._results import (
    compare_results,
    default_tolerance,
    first_difference,
    is_array,
    signed_zero_mismatch,
)


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


def test_nan_equals_nan_but_never_a_number() -> None:
    nan = np.float32([np.nan, 1.0])
    _compare(nan.copy(), nan)
    # Said with the index and both values (assert_allclose's "nan location mismatch" has
    # no index), however large the tolerances.
    with pytest.raises(AssertionError, match=r"has nan at index \(0,\), numpy gave 2\.0"):
        _compare(np.float32([np.nan, 1.0]), np.float32([2.0, 1.0]), rtol=1e9, atol=1e9)
    with pytest.raises(AssertionError, match=r"has 2\.0 at index \(0,\), numpy gave nan"):
        _compare(np.float32([2.0, 1.0]), nan, rtol=1e9, atol=1e9)
    with pytest.raises(AssertionError, match=r"has \(nan\+0j\) at index \(0,\), numpy gave"):
        _compare(np.complex64([np.nan]), np.complex64([1.0]), rtol=1e9, atol=1e9)
    with pytest.raises(AssertionError, match=r"has inf at index \(0,\), numpy gave -inf"):
        _compare(np.float64([np.inf]), np.float64([-np.inf]))


def test_signed_zeros_are_compared_only_when_asked() -> None:
    pos, neg = np.float32([1.0, 0.0, 0.0]), np.float32([1.0, 0.0, -0.0])
    _compare(neg, pos, atol=1.0)
    with pytest.raises(
        AssertionError,
        match=r"the result has -0\.0 at index \(2,\), numpy gave 0\.0 \(the sign of a zero",
    ):
        _compare(neg, pos, check_signed_zeros=True, atol=1.0)
    _compare(neg.copy(), neg, check_signed_zeros=True)
    _compare(np.float32([-1e-30]), np.float32([0.0]), check_signed_zeros=True, atol=1e-6)
    with pytest.raises(AssertionError, match=r"\(1-0j\) at index \(\), numpy gave \(1\+0j\)"):
        _compare(np.complex128(complex(1, -0.0)), np.complex128(1), check_signed_zeros=True)
    _compare(np.int32([0]), np.int32([0]), check_signed_zeros=True)


def test_first_difference_is_exact_about_nan_and_zeros() -> None:
    a = np.array([np.nan, 0.0, 2.0])
    assert first_difference(a.copy(), a) is None
    assert first_difference(np.array([np.nan, -0.0, 2.0]), a) == (
        "at index (1,) it holds -0.0, it held 0.0"
    )
    assert first_difference(np.array([1.0, 0.0, 2.0]), a) == (
        "at index (0,) it holds 1.0, it held nan"
    )
    assert first_difference(np.arange(3), np.arange(3)[::-1]) == (
        "at index (0,) it holds 0, it held 2"
    )
    assert first_difference(np.zeros(2), np.zeros(3)) == "it became float64[2], was float64[3]"
    assert first_difference(np.zeros(3, ">f8"), np.zeros(3)) is None  # byte order only
    assert signed_zero_mismatch(np.zeros(3), -np.zeros(3)) == (0,)


def test_complex_nan_is_compared_in_each_part() -> None:
    # numpy's assert_allclose calls any complex with a NaN part equal to any other: NaN in
    # the imaginary part passed for numpy's NaN in the real part.
    nan = float("nan")
    _compare(np.complex64([complex(nan, 1.0), 2]), np.complex64([complex(nan, 1.0), 2]))
    with pytest.raises(AssertionError, match=r"nanj at index \(0,\), numpy gave \(nan\+0j\)"):
        _compare(np.complex64([complex(0.0, nan)]), np.complex64([complex(nan, 0.0)]))
    with pytest.raises(AssertionError, match=r"real and the imaginary part apart"):
        _compare(np.complex128([complex(nan, 1.0)]), np.complex128([complex(nan, 2.0)]))
    with pytest.raises(AssertionError, match=r"real and the imaginary part apart"):
        _compare(np.complex128([complex(np.inf, nan)]), np.complex128([complex(nan, np.inf)]))


# --- from an audit of the testing helpers (session 14) ---


def test_with_check_dtype_container_and_python_scalar_types_must_be_numpys() -> None:
    # A list for numpy's tuple, True for 1 and 1 for 1.0 passed with check_dtype on.
    import collections

    pair = collections.namedtuple("pair", "lo hi")
    other = collections.namedtuple("other", "lo hi")  # another class, the same fields
    renamed = collections.namedtuple("renamed", "low high")
    x = np.ones(2)
    with pytest.raises(AssertionError, match=r"the result is a list, numpy gave a tuple"):
        _compare([x, x], (x, x))
    with pytest.raises(AssertionError, match=r"the result\[0\] is a tuple, numpy gave a list"):
        _compare([(x,)], [[x]])
    with pytest.raises(AssertionError, match=r"is a list, numpy gave a named tuple of \('lo'"):
        _compare([x, x], pair(x, x))
    with pytest.raises(AssertionError, match=r"named tuple of \('low', 'high'\), numpy gave"):
        _compare(renamed(x, x), pair(x, x))
    _compare(other(x, x), pair(x, x))
    for actual, expected in [(1, True), (1, 1.0), (1.0, 1), (True, 1), (1.0, 1 + 0j)]:
        with pytest.raises(AssertionError, match=r"check_dtype=True"):
            _compare(actual, expected)
        _compare(actual, expected, check_dtype=False)
    _compare(True, True)
    _compare((x, 2.5), (x, 2.5))
    _compare([x, x], (x, x), check_dtype=False)  # values, not types


def test_masks_are_compared() -> None:
    # np.asarray drops a mask: results differing only in their mask passed.
    data = np.array([1.0, 2.0, 3.0])
    masked = np.ma.masked_array(data, mask=[True, False, False])
    with pytest.raises(
        AssertionError, match=r"is not masked at index \(0,\), numpy's is \(masks are compared"
    ):
        _compare(np.ma.masked_array(data, mask=False), masked, check_dtype=False)
    with pytest.raises(AssertionError, match="is a plain array, numpy gave a masked array"):
        _compare(data.copy(), masked)
    with pytest.raises(AssertionError, match="is a masked array, numpy gave a plain array"):
        _compare(masked, data.copy())
    # The same mask: the values under it are not compared, the others are.
    _compare(np.ma.masked_array([9.0, 2.0, 3.0], mask=[True, False, False]), masked)
    with pytest.raises(AssertionError, match="differs from numpy's"):
        _compare(np.ma.masked_array([1.0, 2.0, 4.0], mask=[True, False, False]), masked)


def test_none_against_an_array_is_an_assertion_naming_where() -> None:
    # With check_dtype=False, None against a 0-d array raised a bare TypeError.
    for actual, expected in [(np.array(0.0), None), (None, np.array(0.0))]:
        with pytest.raises(AssertionError, match=r"^f on numpy: the result is"):
            _compare(actual, expected, check_dtype=False)
    with pytest.raises(AssertionError, match=r"^f on numpy: the result is .*numpy gave"):
        _compare(np.array(0.0), None)
    _compare(None, None)


def test_values_numpy_cannot_compare_are_an_assertion() -> None:
    odd = np.array([object()], dtype=object)
    with pytest.raises(AssertionError, match=r"^f on numpy: the result .* cannot be compared"):
        _compare(np.array([1.0]), odd, check_dtype=False)


@pytest.mark.parametrize("check_dtype", [True, False])
def test_an_error_computing_a_dask_result_comes_first_and_chained(check_dtype: bool) -> None:
    da = pytest.importorskip("dask.array")

    def fails(block: np.ndarray) -> np.ndarray:
        raise ValueError("block failed")

    lazy = da.ones(4, chunks=2).map_blocks(fails, dtype=np.float32)  # reports float32
    with pytest.raises(
        AssertionError, match=r"^f on dask: raised ValueError computing the result \(dask"
    ) as caught:
        _compare(
            lazy,
            np.ones(4),
            where="f on dask",
            target=MemoryType.DASK,
            device=None,
            check_dtype=check_dtype,
        )
    assert isinstance(caught.value.__cause__, ValueError)


# --- from an audit of the testing helpers (2026-11-28) ---


def test_an_integer_reference_is_exact_against_a_float_result() -> None:
    # check_dtype=False compared int64 2**53 + 1 with float64 2**53 in float64: equal.
    with pytest.raises(AssertionError, match=r"numpy's result is int64: compared exactly"):
        _compare(np.float64([2.0**53]), np.int64([2**53 + 1]), check_dtype=False)
    with pytest.raises(AssertionError, match=r"numpy's result is uint64: compared exactly"):
        _compare(2.0**64, np.uint64(2**64 - 1), check_dtype=False)
    _compare(np.float64([2.0**53]), np.int64([2**53]), check_dtype=False)


def test_a_numpy_scalar_reference_is_named_and_a_python_scalar_compared_by_value() -> None:
    # "the result is float, not an array (numpy gave an array)" for numpy's np.float64(1.0);
    # and check_dtype=False refused a Python scalar for a numpy scalar.
    with pytest.raises(
        AssertionError,
        match=r"^f on numpy: the result is a Python float 1\.0, numpy gave a numpy scalar "
        r"np\.float64\(1\.0\) \(check_dtype=True; with check_dtype=False",
    ):
        _compare(1.0, np.float64(1.0))
    _compare(1.0, np.float64(1.0), check_dtype=False)
    _compare(3, np.int64(3), check_dtype=False)
    _compare(True, np.bool_(True), check_dtype=False)
    with pytest.raises(AssertionError, match="differs from numpy's"):
        _compare(1.5, np.float64(1.0), check_dtype=False)
    with pytest.raises(AssertionError, match=r"has 3\.5 at index \(\), numpy gave 3 "):
        _compare(3.5, np.int64(3), check_dtype=False)
    with pytest.raises(
        AssertionError,
        match=r"the result is str 'x', not an array \(numpy gave a numpy scalar, float64\)",
    ):
        _compare("x", np.float64(1.0), check_dtype=False)
    with pytest.raises(AssertionError, match=r"is float 1\.0, not an array \(numpy gave an arr"):
        _compare(1.0, np.array(1.0), check_dtype=False)


# --- from an audit of the testing kit (a21_kit, finding 3) ---


def test_a_dask_array_for_a_structured_result_is_computed_before_the_structure() -> None:
    da = pytest.importorskip("dask.array")

    def refuse(block: Any) -> Any:
        raise ValueError("returned a tuple on a dask block")

    failing = da.map_blocks(refuse, da.ones((4,), chunks=2), dtype=np.float64)
    # It said "the result is Array, numpy gave a tuple of 2", hiding fn's own error.
    with pytest.raises(
        AssertionError,
        match=r"^f on dask: raised ValueError computing the result .*: returned a tuple on a "
        r"dask block$",
    ) as caught:
        _compare(failing, (np.ones(4), np.ones(4)), where="f on dask", target=MemoryType.DASK)
    assert isinstance(caught.value.__cause__, ValueError)
    # One that computes is still the wrong structure.
    with pytest.raises(AssertionError, match=r"the result is Array, numpy gave a dict of \['a'\]"):
        _compare(da.ones((4,), chunks=2), {"a": np.ones(4)}, target=MemoryType.DASK)


@pytest.mark.parametrize(("got", "gave"), [("uint8", "bool"), ("float32", "float16")])
def test_a_dtype_pyclesperanto_holds_only_widened_is_named_with_the_remedy(
    got: str, gave: str
) -> None:
    # "the result has dtype uint8, numpy gave bool" said nothing of the widening or of
    # what to do (audit a22 #6).
    options = {"target": MemoryType.PYCLESPERANTO, "check_memory_type": False}
    with pytest.raises(AssertionError) as info:
        _compare(np.ones(2, got), np.ones(2, gave), where="f on pyclesperanto", **options)
    assert str(info.value) == (
        f"f on pyclesperanto: the result has dtype {got}, numpy gave {gave} (pyclesperanto "
        f"holds {gave} as {got}: pass check_dtype=False or leave pyclesperanto out of "
        "memory_types)"
    )
    _compare(np.ones(2, got), np.ones(2, gave), check_dtype=False, **options)
    # Elsewhere, or for another pair of dtypes, no such hint: it would be wrong there.
    for actual, expected, target in [
        (np.ones(2, "uint8"), np.ones(2, "bool"), MemoryType.TORCH),
        (np.ones(2, "int32"), np.ones(2, "bool"), MemoryType.PYCLESPERANTO),
        (np.ones(2, "float16"), np.ones(2, "float32"), MemoryType.PYCLESPERANTO),
    ]:
        with pytest.raises(AssertionError) as info:
            _compare(actual, expected, target=target, check_memory_type=False)
        assert str(info.value).endswith(f"numpy gave {expected.dtype.name}")
