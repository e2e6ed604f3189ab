"""The hints for NumPy spellings NumPy itself replaced (np.product, np.asfarray, np.in1d,
np.clip's a_min and a_max) name what exists and compute what NumPy computed."""

from __future__ import annotations

import array_api_extra as xpx
import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import check_source
from arrayport.portcheck._hints import hint_for_function


def _hints(source: str) -> dict[str, str | None]:
    return {f.name: f.replacement for f in check_source(source)}


def test_the_tables_are_merged_into_the_hint_tables() -> None:
    from arrayport.portcheck._hints import ARGUMENT_HINTS, FUNCTION_HINTS
    from arrayport.portcheck._legacy_hints import LEGACY_ARGUMENT_HINTS, LEGACY_FUNCTION_HINTS

    assert LEGACY_FUNCTION_HINTS.items() <= FUNCTION_HINTS.items()
    assert LEGACY_ARGUMENT_HINTS.items() <= ARGUMENT_HINTS.items()


def test_product_is_the_standards_prod() -> None:
    hint = _hints("import numpy as np\np = np.product(x, 0)\n")["numpy.product"]
    assert hint is not None
    assert hint.startswith("xp.prod(x, axis=...) (")
    x = np.arange(1, 7).reshape(2, 3)
    got = xp.prod(xp.asarray(x), axis=0)
    np.testing.assert_array_equal(np.asarray(got), np.prod(x, axis=0))
    with pytest.raises(TypeError):  # bool x: the standard's prod takes numbers only
        xp.prod(xp.asarray([True, False]))


def test_asfarray_is_asarray_with_a_floating_dtype() -> None:
    hint = _hints("import numpy as np\na = np.asfarray(x)\n")["numpy.asfarray"]
    assert hint is not None
    assert hint.startswith("xp.asarray(a, dtype=xp.float64) (")
    assert "default_dtypes(device=device)['real floating']" in hint
    # np.asfarray made an integer list float64; so does the hint, on the standard.
    got = xp.asarray([2, 3], dtype=xp.float64)
    assert got.dtype == xp.float64
    info = xp.__array_namespace_info__()
    assert info.default_dtypes(device=info.default_device())["real floating"] == xp.float64


def test_in1d_is_isin_of_the_flattened_first_array() -> None:
    hint = _hints("import numpy as np\nm = np.in1d(a, b)\n")["numpy.in1d"]
    assert hint is not None
    assert hint.startswith("xpx.isin(xp.reshape(ar1, (-1,)), ar2) (")
    assert hint.endswith(" (array-api-extra)")
    a = np.array([[1.0, 2.5], [np.nan, 4.0]])
    b = np.array([[2.5, np.nan], [4.0, 7.0]])
    want = np.isin(a, b).ravel()  # np.in1d(a, b), removed from NumPy 2.4
    got = xpx.isin(xp.reshape(xp.asarray(a), (-1,)), xp.asarray(b))
    np.testing.assert_array_equal(np.asarray(got), want)


def test_in1d_without_array_api_extras_isin_is_the_standards_for_integers() -> None:
    hint = hint_for_function("in1d", frozenset())
    assert hint is not None
    assert hint.startswith("xp.isin(xp.reshape(ar1, (-1,)), ar2) for integer arrays")
    a, b = np.array([[1, 2], [3, 4]]), np.array([[2, 9], [4, 7]])
    got = xp.isin(xp.reshape(xp.asarray(a), (-1,)), xp.asarray(b))
    np.testing.assert_array_equal(np.asarray(got), np.isin(a, b).ravel())
    with pytest.raises(TypeError):  # as the hint says: the standard's isin takes integers
        xp.isin(xp.asarray([1.0]), xp.asarray([1.0]))


def test_aliases_numpy_2_removed_have_their_replacement() -> None:
    # np.round_, np.alltrue, np.cumproduct, np.NaN and np.uint were reported with no hint.
    source = (
        "import numpy as np\n"
        "a = [np.round_(x), np.alltrue(x), np.sometrue(x), np.cumproduct(x), np.NaN, np.uint]\n"
        "b = [np.Inf, np.Infinity, np.infty, np.PINF, np.NINF, np.PZERO, np.NZERO]\n"
        "c = [np.complex_, np.cfloat, np.singlecomplex, np.msort(x)]\n"
    )
    hints = _hints(source)
    assert (hints["numpy.round_"] or "").startswith("xp.round without decimals; with decimals")
    assert hints["numpy.alltrue"] == "xp.all(x, axis=...)"
    assert hints["numpy.sometrue"] == "xp.any(x, axis=...)"
    assert (hints["numpy.cumproduct"] or "").startswith("xp.cumulative_prod(x, axis=...) (")
    assert hints["numpy.NaN"] == "xp.nan"
    assert (hints["numpy.uint"] or "").startswith("xp.uint64 (")
    for name in ("Inf", "Infinity", "infty", "PINF"):
        assert hints[f"numpy.{name}"] == "xp.inf"
    assert hints["numpy.NINF"] == "-xp.inf"
    assert (hints["numpy.PZERO"], hints["numpy.NZERO"]) == ("0.0", "-0.0")
    assert hints["numpy.complex_"] == hints["numpy.cfloat"] == "xp.complex128"
    assert hints["numpy.singlecomplex"] == "xp.complex64"
    assert hints["numpy.msort"] == "xp.sort(x, axis=0)"
    # The replacements compute what NumPy 1's aliases did.
    v = np.array([[3.0, 1.0], [1.5, 2.0]])
    x = xp.asarray(v)
    assert np.array_equal(np.asarray(xp.round(x)), np.round(v))
    assert bool(xp.all(x > 0)) == bool(np.all(v > 0))
    assert bool(xp.any(x > 2)) == bool(np.any(v > 2))
    got = xp.cumulative_prod(xp.reshape(x, (-1,)), axis=0)
    assert np.array_equal(np.asarray(got), np.cumprod(v))
    assert np.array_equal(np.asarray(xp.sort(x, axis=0)), np.sort(v, axis=0))
    assert np.isnan(xp.nan)
    assert (xp.inf, -xp.inf) == (np.inf, -np.inf)
    assert xp.asarray(1, dtype=xp.complex128).dtype == xp.complex128
    assert xp.asarray(1, dtype=xp.uint64).dtype == xp.uint64
