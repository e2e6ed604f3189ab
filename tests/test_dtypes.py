"""Tests for arrayport.dtypes (and the policy in arrayport._dtype_policy)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import array_api_compat.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import arrayport as ap
from arrayport import MemoryType, _dtype_numpy
from arrayport import _dtype_policy as policy
from arrayport.backends import get_backend
from arrayport.backends._util import numpy_dtype_or_none
from arrayport.dtypes import (
    DtypeConversion,
    Scaling,
    apply_dtype_conversion,
    convert_dtype,
    dtype_name,
)
from arrayport.errors import (
    DtypeConversionError,
    InvalidOptionError,
    UnsupportedArrayError,
    UnsupportedDtypeError,
)
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed

MT = ap.MemoryType
DASK_TYPES = tuple(mt for mt in INSTALLED if mt is MemoryType.DASK)
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
NAN, INF = math.nan, math.inf
VALUE, UNIT, MINMAX = Scaling.VALUE, Scaling.UNIT, Scaling.MINMAX


def _range(name: str) -> tuple[int, int]:
    k = policy.DTYPES[name]
    return int(k.lo), int(k.hi)


def ref_value(v: float, name: str) -> int:
    """VALUE into an integer type, computed exactly with Python numbers."""
    lo, hi = _range(name)
    if math.isnan(v):
        return 0
    if math.isinf(v):
        return hi if v > 0 else lo
    return min(max(round(v), lo), hi)  # round() on a float is exact, half to even


def generic(x: np.ndarray, dtype: str, scaling: Scaling = VALUE) -> np.ndarray:
    """The array API policy on the whole numpy array (no chunks, no numpy kernel)."""
    from arrayport.dtypes import _plan, _with_range

    src = policy.DTYPES[x.dtype.name]
    p = _plan(src, policy.DTYPES[dtype], scaling, get_backend(MT.NUMPY))
    if scaling is MINMAX:
        p = _with_range(p, policy.finite_range(anp, policy.prepare(anp, x, p), src.kind))
    return np.asarray(policy.convert_block(anp, x, p))


def to_numpy(a: Any) -> np.ndarray:
    return np.asarray(ap.convert(a, MT.NUMPY))


def holds(mt: MT, name: str) -> bool:
    backend = get_backend(mt)
    backend.load()
    if name in getattr(backend, "WIDENINGS", {}):
        return False
    return backend.check_dtype(numpy_dtype_or_none(name), name) is None


def make(mt: MT, values: list[Any], dtype: str) -> Any:
    a = np.array(values, dtype=object).astype(numpy_dtype_or_none(dtype))
    return ap.convert(a, mt)


# --------------------------------------------------------------------------- dtype argument


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("uint16", "uint16"),
        (" Float32 ", "float32"),
        (np.dtype("int8"), "int8"),
        (np.float64, "float64"),
        (np.dtype(">f4"), "float32"),
        (bool, "bool"),
        (DtypeConversion.UINT8, "uint8"),
        ("f4", None),
        ("float", None),
        (DtypeConversion.PRESERVE_INPUT, None),
        ("S3", None),
        (object(), None),
        (None, None),
        # Python's number types: numpy and torch read float as float64, jax and tensorflow
        # as float32 (ADR 0014), so they are refused as "float" is.
        (float, None),
        (int, None),
        (complex, None),
    ],
)
def test_dtype_name(given: Any, expected: str | None) -> None:
    assert dtype_name(given) == expected


def test_python_number_types_are_refused_as_target_with_the_reason() -> None:
    for builtin in (float, int, complex):
        with pytest.raises(InvalidOptionError, match="width that differs by framework"):
            convert_dtype(np.ones(2), builtin)
    assert convert_dtype(np.ones(2), np.dtype(float)).dtype == np.float64  # numpy's own


def test_framework_dtype_objects_as_target() -> None:
    x = np.array([1.5, 300.0])
    for mt, dtypes in _framework_dtypes().items():
        arr = ap.convert(x.astype(np.float32), mt)
        for dt, name in dtypes:
            out = convert_dtype(arr, dt)
            assert ap.detect_memory_type(out) is mt
            assert dtype_name(out.dtype) == name


def test_an_array_or_a_scalar_value_is_not_a_target_dtype() -> None:
    # numpy reads an array's (or a scalar's) .dtype as a dtype: convert_dtype(y, an_array)
    # converted to the array's dtype for some frameworks and refused others.
    x = np.array([1.5, 300.0])
    values: list[Any] = [np.zeros(2, np.uint8), np.uint8(7)]
    if MT.JAX in CPU_TYPES:
        import jax.numpy as jnp

        values.append(jnp.zeros(2, jnp.int32))
    for value in values:
        with pytest.raises(InvalidOptionError, match="is not a dtype convert_dtype knows"):
            convert_dtype(x, value)
    assert convert_dtype(x, np.uint8).dtype == np.uint8  # scalar types are dtypes
    assert convert_dtype(x, np.dtype("int16")).dtype == np.int16


def _framework_dtypes() -> dict[MT, list[tuple[Any, str]]]:
    found: dict[MT, list[tuple[Any, str]]] = {}
    if MT.TORCH in CPU_TYPES:
        import torch

        found[MT.TORCH] = [
            (torch.uint8, "uint8"),
            (torch.float64, "float64"),
            (torch.bfloat16, "bfloat16"),
            (torch.uint16, "uint16"),
        ]
    if MT.JAX in CPU_TYPES:
        import jax.numpy as jnp

        found[MT.JAX] = [(jnp.uint8, "uint8"), (jnp.int16, "int16"), (jnp.bfloat16, "bfloat16")]
    if MT.TENSORFLOW in CPU_TYPES:
        import tensorflow as tf

        found[MT.TENSORFLOW] = [
            (tf.uint8, "uint8"),
            (tf.float16, "float16"),
            (tf.bfloat16, "bfloat16"),
        ]
    return found


def test_invalid_dtype_and_scaling() -> None:
    x = np.zeros(3)
    with pytest.raises(InvalidOptionError, match="uint16"):
        convert_dtype(x, "float")
    with pytest.raises(InvalidOptionError, match="scaling"):
        convert_dtype(x, "uint8", scaling="percentile")  # type: ignore[arg-type]
    assert convert_dtype(x, "uint8", scaling="unit").dtype == np.uint8  # type: ignore[arg-type]
    with pytest.raises(UnsupportedArrayError):
        convert_dtype([1.0, 2.0], "uint8")
    with pytest.raises(UnsupportedArrayError, match="mask"):
        convert_dtype(np.ma.masked_array([1.0, 2.0], mask=[True, False]), "uint8")
    with pytest.raises(UnsupportedArrayError, match="datetime64"):
        convert_dtype(np.array(["2020-01-01"], dtype="datetime64[D]"), "uint8")


# --------------------------------------------------------------- what ArrayBridge gets wrong


def test_identity_as_float_preserves_uint8_values() -> None:
    image = np.array([10, 20, 30], dtype=np.uint8)
    result = image.astype(np.float32)  # an identity function computed in float
    out = apply_dtype_conversion(result, DtypeConversion.PRESERVE_INPUT, VALUE, image)
    assert out.dtype == np.uint8
    assert out.tolist() == [10, 20, 30]


def test_one_nan_does_not_zero_an_image() -> None:
    image = np.array([[10.0, 20.0], [NAN, 250.0]], dtype=np.float32)
    assert convert_dtype(image, "uint8").tolist() == [[10, 20], [0, 250]]
    stretched = convert_dtype(image, "uint8", scaling=MINMAX)
    assert stretched.tolist() == [[0, 11], [0, 255]]


def test_float32_to_uint32_maximum_does_not_wrap() -> None:
    top = np.float32(2**32 - 1)  # float32 cannot hold it: this is 2**32
    x = np.array([top, np.float32(4294967040.0), 1e20, INF], dtype=np.float32)
    expected = [2**32 - 1, 4294967040, 2**32 - 1, 2**32 - 1]
    assert convert_dtype(x, "uint32").tolist() == expected
    assert generic(x, "uint32").tolist() == expected
    assert convert_dtype(np.array([1.0], np.float32), "uint32", scaling=UNIT).tolist() == [
        2**32 - 1
    ]


def test_int16_reaches_32767() -> None:
    assert convert_dtype(np.array([32767.0, 40000.0]), "int16").tolist() == [32767, 32767]
    assert convert_dtype(np.array([1.0, -1.0]), "int16", scaling=UNIT).tolist() == [32767, -32767]
    assert convert_dtype(np.array([0.0, 1.0]), "int16", scaling=MINMAX).tolist() == [
        -32768,
        32767,
    ]


@pytest.mark.parametrize("name", ["int8", "int64", "uint64"])
def test_wide_and_narrow_types_keep_their_values(name: str) -> None:
    lo, hi = _range(name)
    values = [0.0, 3.0, 100.0, 127.0] + ([-5.0, -128.0] if lo < 0 else [])
    out = convert_dtype(np.array(values), name)
    assert out.tolist() == [int(v) for v in values]
    assert convert_dtype(np.array([0.0, 1.0]), name, scaling=UNIT).tolist() == [0, hi]


# ---------------------------------------------------------------------- extremes, exactly


@pytest.mark.parametrize("src", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("dst", INTS)
def test_float_to_int_extremes(src: str, dst: str) -> None:
    lo, hi = _range(dst)
    candidates = [lo, hi, lo - 1, hi + 1, 2 * hi + 2, lo * 2 - 2, 0.5, -0.5, 1.5, 2.5, 0]
    values = [float(v) for v in candidates] + [NAN, INF, -INF, 1e300]
    with np.errstate(over="ignore"):  # float32 rounds some of them, 1e300 becomes inf: fine
        x = np.array(values, dtype=np.float64).astype(numpy_dtype_or_none(src))
    expected = [ref_value(float(v), dst) for v in x]
    assert convert_dtype(x, dst).tolist() == expected
    assert generic(x, dst).tolist() == expected


@pytest.mark.parametrize("src", INTS)
@pytest.mark.parametrize("dst", INTS)
def test_int_to_int_is_exact_clipping(src: str, dst: str) -> None:
    slo, shi = _range(src)
    dlo, dhi = _range(dst)
    values = sorted(
        {slo, slo + 1, max(slo, -1), 0, 1, shi - 1, shi}
        | {v for v in (dlo, dlo - 1, dhi, dhi + 1) if slo <= v <= shi}
    )
    x = np.array(values, dtype=src)
    expected = [min(max(v, dlo), dhi) for v in values]
    assert convert_dtype(x, dst).tolist() == expected
    assert generic(x, dst).tolist() == expected


@pytest.mark.parametrize("dst", INTS)
def test_minmax_hits_exact_ends_at_every_width(dst: str) -> None:
    lo, hi = _range(dst)
    for src in ("float32", "float64", "int64", "uint8"):
        x = np.array([3, 7, 5], dtype=src)
        out = convert_dtype(x, dst, scaling=MINMAX)
        assert out.tolist()[:2] == [lo, hi], (src, dst)


_CLUSTERED = [
    # Integers that differ only beyond the float the stretch is computed in: float64
    # rounds each int64/uint64 list to one value, float32 (jax without x64) the int32 one.
    ("int64", [2**60 - 3, 2**60, 2**60 + 1, 2**60 + 4]),
    ("int64", [-(2**62) - 5, -(2**62) + 2, -(2**62)]),
    ("uint64", [2**63 + 7, 2**63, 2**63 + 1]),
    ("int32", [2**30 - 3, 2**30, 2**30 + 1, 2**30 + 4]),
]


@pytest.mark.parametrize("mt", [*CPU_TYPES, *DASK_TYPES], ids=lambda m: m.value)
@pytest.mark.parametrize(("src", "values"), _CLUSTERED)
@pytest.mark.parametrize("dst", ["uint8", "int16", "int64", "float32"])
def test_minmax_stretches_integers_that_differ_beyond_float_precision(
    mt: MT, src: str, values: list[int], dst: str
) -> None:
    # These once cancelled to 0 / 0 in floats: every value came back as 0 (or NaN).
    if not holds(mt, src) or not holds(mt, dst):
        pytest.skip(f"{mt.value} cannot hold {src} and {dst}")
    lo, span = min(values), max(values) - min(values)
    got = to_numpy(convert_dtype(make(mt, values, src), dst, scaling=MINMAX)).tolist()
    if dst == "float32":
        want = [float(Fraction(v - lo, span)) for v in values]
        np.testing.assert_allclose(got, want, rtol=2**-22)
        return
    dlo, dhi = _range(dst)
    want_int = [dlo + round(Fraction(v - lo, span) * (dhi - dlo)) for v in values]
    if dst == "int64":  # the stretch runs in float64: within 2**-50 of the range
        assert max(abs(g - w) for g, w in zip(got, want_int, strict=True)) <= 2**14
        assert got[values.index(lo)] == dlo
    else:
        assert got == want_int


@pytest.mark.parametrize("dst", INTS)
def test_unit_ends_at_every_width(dst: str) -> None:
    lo, hi = _range(dst)
    u = np.array([0.0, 1.0, 2.0, -2.0, NAN, INF, -INF])
    expected = [0, hi, hi, lo, 0, hi, lo]  # below -1 (or 0) clips to the minimum
    assert convert_dtype(u, dst, scaling=UNIT).tolist() == expected
    back = convert_dtype(np.array([lo, 0, hi], dtype=dst), "float64", scaling=UNIT)
    assert back.tolist() == [-1.0 if lo else 0.0, 0.0, 1.0]


def test_int_into_float16_clips_instead_of_inf() -> None:
    x = np.array([70000, -70000, 65504, 12], dtype=np.int32)
    assert convert_dtype(x, "float16").tolist() == [65504.0, -65504.0, 65504.0, 12.0]


def test_float_narrowing_clips_finite_and_keeps_inf_nan() -> None:
    x = np.array([1e300, -1e300, INF, -INF, NAN, 0.1])
    out = convert_dtype(x, "float32")
    f32max = float(np.finfo(np.float32).max)
    assert out.dtype == np.float32
    assert out[:4].tolist() == [f32max, -f32max, INF, -INF]
    assert math.isnan(out[4])
    assert out[5] == np.float32(0.1)


def test_int64_to_float32_rounds_to_nearest() -> None:
    x = np.array([2**24 + 1, 2**63 - 1, -(2**63)], dtype=np.int64)
    assert convert_dtype(x, "float32").tolist() == [2.0**24, 2.0**63, -(2.0**63)]


# ----------------------------------------------------------------------- bool and complex


def test_bool_rules() -> None:
    f = np.array([0.5, 1.5, 0.49, 2.0, -1.0, NAN, INF])
    assert convert_dtype(f, "bool").tolist() == [False, True, False, True, False, False, True]
    assert convert_dtype(np.array([-3, 0, 1, 9]), "bool").tolist() == [False, False, True, True]
    b = np.array([True, False])
    assert convert_dtype(b, "uint8").tolist() == [1, 0]
    assert convert_dtype(b, "uint8", scaling=UNIT).tolist() == [255, 0]
    assert convert_dtype(b, "int16", scaling=MINMAX).tolist() == [32767, -32768]
    assert convert_dtype(np.array([0, 128, 255], np.uint8), "bool", scaling=UNIT).tolist() == [
        False,
        True,
        True,
    ]


def test_complex_needs_consent() -> None:
    z = np.array([1.5 + 2j, -3 + 0j])
    with pytest.raises(DtypeConversionError, match="discard_imaginary"):
        convert_dtype(z, "float32")
    with pytest.raises(DtypeConversionError, match="discard_imaginary"):
        convert_dtype(z, "complex64", scaling=MINMAX)
    assert convert_dtype(z, "float32", discard_imaginary=True).tolist() == [1.5, -3.0]
    assert convert_dtype(z, "uint8", discard_imaginary=True).tolist() == [2, 0]
    assert convert_dtype(z, "complex64").tolist() == [1.5 + 2j, -3 + 0j]
    with pytest.raises(DtypeConversionError, match="complex64"):
        convert_dtype(np.array([1e300 + 0j]), "complex64")
    assert convert_dtype(np.array([2.0]), "complex128").tolist() == [2 + 0j]


@pytest.mark.parametrize("mt", [*CPU_TYPES, *DASK_TYPES], ids=lambda m: m.value)
def test_minmax_of_complex_with_consent_stretches_the_real_part(mt: MT) -> None:
    # The refusal above says to pass discard_imaginary=True; that call once cast without
    # stretching (numpy, jax, tensorflow) or crashed inside torch and dask.
    if not holds(mt, "complex128") or not holds(mt, "complex64"):
        pytest.skip(f"{mt.value} holds no complex128")
    z = make(mt, [2 + 1j, 4 + 5j, 6 - 2j], "complex128")
    got = to_numpy(convert_dtype(z, "complex64", scaling=MINMAX, discard_imaginary=True))
    assert got.dtype == np.complex64
    assert got.tolist() == [0j, 0.5 + 0j, 1 + 0j]
    # The imaginary parts are dropped, so they cannot overflow complex64.
    huge = make(mt, [1e300j, 2 + 0j, 4 + 0j], "complex128")
    got = to_numpy(convert_dtype(huge, "complex64", scaling=MINMAX, discard_imaginary=True))
    assert got.tolist() == [0j, 0.5 + 0j, 1 + 0j]


@pytest.mark.parametrize(
    ("src", "dst"),
    [(">f8", "float32"), (">f4", "float16"), (">f8", "bfloat16"), (">c16", "float32")],
)
def test_big_endian_floats_narrow_like_native_ones(src: str, dst: str) -> None:
    # Once a numpy error: array-api-compat's clip refused the non-native chunks.
    if dst == "bfloat16":
        pytest.importorskip("ml_dtypes")
    x = np.array([1.5, -2.25, 70000.0, NAN], dtype=src)
    native = x.astype(x.dtype.newbyteorder("="))
    got = convert_dtype(x, dst, discard_imaginary=True)
    want = convert_dtype(native, dst, discard_imaginary=True)
    assert got.dtype == want.dtype
    # (through float64: numpy's NaN test does not take bfloat16)
    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("bits", "view", "dst", "scaling"),
    [
        (np.uint16(0x7C01), np.float16, "uint8", VALUE),
        (np.uint32(0x7F800001), np.float32, "bool", VALUE),
        (np.uint64(0x7FF0000000000001), np.float64, "uint8", UNIT),
        (np.uint64(0x7FF0000000000001), np.float64, "float32", MINMAX),
    ],
)
def test_signalling_nan_converts_without_a_warning(
    bits: Any, view: Any, dst: str, scaling: Scaling
) -> None:
    x = np.array([bits, 0, 0], dtype=bits.dtype).view(view)
    x[1:] = [1.0, 3.0]
    got = convert_dtype(x, dst, scaling=scaling).tolist()
    if dst == "float32":  # MINMAX into floats keeps NaN
        assert math.isnan(got[0])
        assert got[1:] == [0.0, 1.0]
    else:  # NaN is 0 (False) in integer and bool targets
        assert got[0] == 0


# ------------------------------------------------------------- empty, constant, 0-d, layout


@pytest.mark.parametrize("scaling", list(Scaling))
def test_empty_constant_and_nonfinite_inputs(scaling: Scaling) -> None:
    empty = convert_dtype(np.zeros((0, 3), np.float32), "uint8", scaling=scaling)
    assert empty.shape == (0, 3)
    assert empty.dtype == np.uint8
    const = convert_dtype(np.full(4, 7.0), "uint8", scaling=scaling)
    assert const.tolist() == ([255] * 4 if scaling is UNIT else [7] * 4)
    allnan = convert_dtype(np.array([NAN, INF, -INF]), "int8", scaling=scaling)
    assert allnan.tolist() == [0, 127, -128]


def test_zero_d_array() -> None:
    out = convert_dtype(np.array(3.5), "uint8")
    assert out.shape == ()
    assert int(out) == 4


def test_same_dtype_returns_input() -> None:
    x = np.array([1.0, 2.0])
    assert convert_dtype(x, "float64") is x
    assert convert_dtype(x, "float64", scaling=UNIT) is x
    assert convert_dtype(np.array([10, 20, 30], np.uint8), "uint8", scaling=MINMAX).tolist() == [
        0,
        128,
        255,
    ]


def test_layouts_and_chunk_boundaries_match_the_contiguous_result() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(-100, 400, size=(_dtype_numpy.CHUNK // 256 + 3, 260)).astype(np.float32)
    base[::7, ::13] = NAN
    expected = generic(base, "uint8")
    assert np.array_equal(convert_dtype(base, "uint8"), expected)
    for view in (base.T, base[::-1, ::2], np.asfortranarray(base)):
        assert np.array_equal(
            convert_dtype(view, "uint8"), generic(np.ascontiguousarray(view), "uint8")
        )
    big_endian = base.astype(">f4")
    assert np.array_equal(convert_dtype(big_endian, "uint8"), expected)
    readonly = base.copy()
    readonly.flags.writeable = False
    assert np.array_equal(convert_dtype(readonly, "uint8"), expected)
    for scaling in (UNIT, MINMAX):
        assert np.array_equal(
            convert_dtype(base.T, "int16", scaling=scaling),
            generic(np.ascontiguousarray(base.T), "int16", scaling),
        )


def test_numpy_output_is_aligned_and_fresh() -> None:
    x = np.linspace(0, 300, 1000, dtype=np.float32)
    out = convert_dtype(x, "uint16")
    assert out.ctypes.data % 64 == 0
    assert out.flags.writeable
    assert out.flags.c_contiguous


def test_float16_and_bfloat16_are_floats() -> None:
    h = np.array([1.5, 2.5, 65504.0, -1.0], dtype=np.float16)
    assert convert_dtype(h, "uint8").tolist() == [2, 2, 255, 0]
    assert convert_dtype(h, "float32").tolist() == [1.5, 2.5, 65504.0, -1.0]
    bf = convert_dtype(np.array([1.0, 3.0, 1e39, -INF]), "bfloat16")  # 1e39: beyond bfloat16
    assert bf.dtype.name == "bfloat16"
    assert bf.astype(np.float64).tolist() == [1.0, 3.0, policy.DTYPES["bfloat16"].hi, -INF]
    assert convert_dtype(bf, "uint16", scaling=MINMAX).tolist() == [0, 0, 65535, 0]


# ---------------------------------------------------------------------- hypothesis laws

_float_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=2, max_side=40),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64)
    | st.integers(-(2**65), 2**65).map(float),
)


@settings(max_examples=60, deadline=None)
@given(x=_float_arrays, dst=st.sampled_from(INTS))
def test_value_law_clip_round_never_wraps(x: np.ndarray, dst: str) -> None:
    out = convert_dtype(x, dst)
    flat = out.ravel().tolist()
    assert flat == [ref_value(float(v), dst) for v in x.ravel()]
    assert np.array_equal(out, generic(x, dst))  # the numpy kernel is the array API policy


@settings(max_examples=60, deadline=None)
@given(x=_float_arrays, dst=st.sampled_from(INTS), src=st.sampled_from(["float32", "float64"]))
def test_value_is_monotone_and_idempotent(x: np.ndarray, dst: str, src: str) -> None:
    with np.errstate(over="ignore"):
        x = np.sort(x[np.isfinite(x)].astype(src))
    out = convert_dtype(x, dst)
    as_int = [int(v) for v in out]
    assert as_int == sorted(as_int)
    again = convert_dtype(convert_dtype(out, "float64"), dst)
    if policy.DTYPES[dst].bits < 64:  # float64 holds every value of narrower types
        assert np.array_equal(again, out)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), dst=st.sampled_from(INTS))
def test_value_leaves_representable_values_unchanged(data: st.DataObject, dst: str) -> None:
    lo, hi = _range(dst)
    values = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=30))
    as_float = np.array([float(v) for v in values])
    exact = [v for v, f in zip(values, as_float, strict=True) if int(f) == v]
    out = convert_dtype(as_float, dst).tolist()
    assert [o for o, v, f in zip(out, values, as_float, strict=True) if int(f) == v] == exact
    assert convert_dtype(np.array(values, dtype=dst), "int64" if lo < 0 else "uint64").tolist() == (
        values
    )


@settings(max_examples=60, deadline=None)
@given(
    u=hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(0.0, 1.0)),
    dst=st.sampled_from(["uint8", "uint16", "uint32", "int8", "int16", "int32"]),
)
def test_unit_round_trip_within_one_step(u: np.ndarray, dst: str) -> None:
    hi = _range(dst)[1]
    back = convert_dtype(convert_dtype(u, dst, scaling=UNIT), "float64", scaling=UNIT)
    assert np.all(np.abs(back - u) <= 0.5 / hi + 1e-12)
    ints = np.arange(0, hi, max(1, hi // 1000), dtype=dst)
    twice = convert_dtype(convert_dtype(ints, "float64", scaling=UNIT), dst, scaling=UNIT)
    assert np.array_equal(twice, ints)


@settings(max_examples=60, deadline=None)
@given(x=_float_arrays, dst=st.sampled_from([*INTS, "float32"]))
def test_minmax_hits_both_ends(x: np.ndarray, dst: str) -> None:
    finite = x[np.isfinite(x)]
    out = convert_dtype(x, dst, scaling=MINMAX)
    assert np.array_equal(out, generic(x, dst, MINMAX), equal_nan=True)
    if finite.size and finite.min() < finite.max():
        lo, hi = (0.0, 1.0) if dst == "float32" else _range(dst)
        ends = out[np.isfinite(x)]
        assert ends.min() == lo
        assert ends.max() == hi


# ------------------------------------------------------------------ every memory type

# (source dtype, values, target, scaling, expected)
CASES: list[tuple[str, list[Any], str, Scaling, list[Any]]] = [
    (
        "float32",
        [0.4, 1.5, 2.5, 70000, -5, NAN, INF, -INF],
        "uint16",
        VALUE,
        [0, 2, 2, 65535, 0, 0, 65535, 0],
    ),
    (
        "float32",
        [0.4, 1.5, 2.5, 70000, -5, NAN, INF, -INF],
        "uint8",
        VALUE,
        [0, 2, 2, 255, 0, 0, 255, 0],
    ),
    (
        "float32",
        [0.4, 1.5, 2.5, 70000, -5, NAN, INF, -INF],
        "int16",
        VALUE,
        [0, 2, 2, 32767, -5, 0, 32767, -32768],
    ),
    (
        "float32",
        [2.0**32, 4294967040.0, -1.0, INF],
        "uint32",
        VALUE,
        [2**32 - 1, 4294967040, 0, 2**32 - 1],
    ),
    ("float32", [0.0, 0.5, 1.0, 2.0, -1.0, NAN], "uint8", UNIT, [0, 128, 255, 255, 0, 0]),
    ("float32", [1.0, 2.0, 3.0, NAN, INF], "uint8", MINMAX, [0, 128, 255, 0, 255]),
    ("float32", [1.0, 2.0, 3.0, NAN, INF], "float32", MINMAX, [0.0, 0.5, 1.0, NAN, 1.0]),
    ("uint8", [10, 20, 30], "float32", VALUE, [10.0, 20.0, 30.0]),
    ("uint8", [0, 255, 51], "float32", UNIT, [0.0, 1.0, 0.2]),
    ("uint8", [1, 0, 5], "bool", VALUE, [True, False, True]),
    ("int16", [-32768, 0, 32767], "uint8", VALUE, [0, 0, 255]),
    ("int16", [-32768, 0, 32767], "float32", UNIT, [-1.0, 0.0, 1.0]),
    ("uint16", [0, 65535, 257], "uint8", UNIT, [0, 255, 1]),
    ("uint16", [65535, 3], "int8", VALUE, [127, 3]),
    ("uint16", [3, 9, 5], "uint8", MINMAX, [0, 255, 85]),
    ("int32", [-(2**31), 2**31 - 1], "int16", VALUE, [-32768, 32767]),
    ("uint32", [2**32 - 1, 7], "uint16", VALUE, [65535, 7]),
    ("uint32", [2**32 - 1, 0], "float32", UNIT, [1.0, 0.0]),
    ("uint8", [255, 1], "uint16", UNIT, [65535, 257]),
    ("bool", [True, False], "uint8", UNIT, [255, 0]),
    ("float32", [1e5, 1.0, INF], "float16", VALUE, [65504.0, 1.0, INF]),
    ("float32", [1.0, 3.0, -2.0], "bfloat16", VALUE, [1.0, 3.0, -2.0]),
    ("float16", [1.5, 2.5, 300.0], "uint8", VALUE, [2, 2, 255]),
    ("int64", [2**63 - 1, -(2**63)], "int8", VALUE, [127, -128]),
    ("int64", [2**63 - 1, -(2**63)], "uint64", VALUE, [2**63 - 1, 0]),
    ("uint64", [2**64 - 1, 0, 12], "int64", VALUE, [2**63 - 1, 0, 12]),
    ("uint64", [2**64 - 1, 0], "uint8", VALUE, [255, 0]),
    ("uint64", [2**64 - 1, 0], "float64", UNIT, [1.0, 0.0]),
    ("float64", [2.0**64, -1.0, 1e300, NAN], "uint64", VALUE, [2**64 - 1, 0, 2**64 - 1, 0]),
    ("float64", [2.0**63, -(2.0**63), -1e300], "int64", VALUE, [2**63 - 1, -(2**63), -(2**63)]),
    ("uint64", [5, 2**64 - 1, 9], "uint16", MINMAX, [0, 65535, 0]),
]


def _case_id(case: tuple[Any, ...]) -> str:
    return f"{case[0]}-{case[2]}-{case[3].value}"


@pytest.mark.parametrize("mt", CPU_TYPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_every_memory_type(mt: MT, case: tuple[str, list[Any], str, Scaling, list[Any]]) -> None:
    src, values, dst, scaling, expected = case
    if not holds(mt, src) or not holds(mt, dst):
        pytest.skip(f"{mt.value} cannot hold {src} or {dst}")
    x = make(mt, values, src)
    before = to_numpy(x).copy()
    out = convert_dtype(x, dst, scaling=scaling)
    assert ap.detect_memory_type(out) is mt
    backend = get_backend(mt)
    assert backend.device_of(out) == backend.device_of(x)
    assert dtype_name(out.dtype) == dst
    got = to_numpy(out)
    if dst in ("bfloat16", "float16"):
        got = got.astype(np.float32)
    if policy.DTYPES[dst].kind == "f":
        np.testing.assert_allclose(got, np.array(expected, dtype=np.float64), rtol=1e-6)
    else:
        assert got.tolist() == expected
    assert np.array_equal(to_numpy(x), before, equal_nan=True)  # the input is untouched


@pytest.mark.parametrize("mt", CPU_TYPES, ids=str)
def test_every_memory_type_empty_constant_refusals(mt: MT) -> None:
    if mt is not MT.PYCLESPERANTO:  # pyclesperanto holds no empty arrays
        empty = convert_dtype(make(mt, [], "float32"), "uint8", scaling=MINMAX)
        assert tuple(empty.shape) == (0,)
        assert dtype_name(empty.dtype) == "uint8"
    const = convert_dtype(make(mt, [4.0, 4.0], "float32"), "uint8", scaling=MINMAX)
    assert to_numpy(const).tolist() == [4, 4]
    if not holds(mt, "float64"):
        with pytest.raises(UnsupportedDtypeError, match="float64"):
            convert_dtype(make(mt, [1.0], "float32"), "float64")


@skip_unless_installed(MT.PYCLESPERANTO)
def test_pyclesperanto_refuses_bool_it_would_widen() -> None:
    with pytest.raises(UnsupportedDtypeError, match="uint8"):
        convert_dtype(make(MT.PYCLESPERANTO, [1.0], "float32"), "bool")


@skip_unless_installed(MT.JAX)
def test_jax_result_is_a_new_array() -> None:
    import jax

    x = make(MT.JAX, [1.5, 300.0], "float32")
    out = convert_dtype(x, "uint8")
    assert isinstance(out, jax.Array)
    assert out is not x
    assert to_numpy(x).tolist() == [1.5, 300.0]


@skip_unless_installed(MT.TORCH)
@pytest.mark.parametrize("storage", ["uint16", "uint32", "uint64"])
def test_torch_storage_only_unsigned(storage: str) -> None:
    import torch

    hi = _range(storage)[1]
    x = make(MT.TORCH, [0, hi, 7], storage)
    for dst, expected in [
        ("uint8", [0, 255, 7]),
        ("int16", [0, 32767, 7]),
        ("float64", [0, float(hi), 7]),
    ]:
        out = convert_dtype(x, dst)
        assert isinstance(out, torch.Tensor)
        assert to_numpy(out).tolist() == expected
    back = convert_dtype(torch.tensor([-1.0, 1e30, 7.4], dtype=torch.float64), storage)
    assert str(back.dtype) == f"torch.{storage}"
    assert to_numpy(back).tolist() == [0, hi, 7]
    unit = convert_dtype(torch.tensor([1.0]), storage, scaling=UNIT)
    assert to_numpy(unit).tolist() == [hi]


@skip_unless_installed(MT.TORCH)
def test_torch_complex_and_bfloat16() -> None:
    import torch

    z = torch.tensor([1.5 + 2j])
    with pytest.raises(DtypeConversionError):
        convert_dtype(z, "float32")
    assert convert_dtype(z, "float32", discard_imaginary=True).tolist() == [1.5]
    bf = torch.tensor([1.5, 2.5, 300.0], dtype=torch.bfloat16)
    assert convert_dtype(bf, "uint8").tolist() == [2, 2, 255]


@pytest.mark.gpu
@skip_unless_installed(MT.TORCH)
def test_torch_cuda_stays_on_its_device() -> None:
    import torch

    x = torch.tensor([0.4, 70000.0, float("nan")], device="cuda")
    for dst in ("uint16", "uint64", "int16"):
        out = convert_dtype(x, dst)
        assert out.device == x.device
        assert out.cpu().tolist() == [0, ref_value(70000.0, dst), 0]


# ---------------------------------------------------------------- apply_dtype_conversion


def test_apply_dtype_conversion() -> None:
    ref = np.array([1, 2], dtype=np.uint8)
    result = np.array([1.4, 300.0])
    assert apply_dtype_conversion(result, DtypeConversion.NATIVE_OUTPUT, VALUE, ref) is result
    assert apply_dtype_conversion(result, DtypeConversion.PRESERVE_INPUT, VALUE, ref).tolist() == [
        1,
        255,
    ]
    fixed = apply_dtype_conversion(result, DtypeConversion.INT16, VALUE, ref)
    assert fixed.dtype == np.int16
    assert fixed.tolist() == [1, 300]
    f32 = apply_dtype_conversion(result, DtypeConversion.FLOAT32, VALUE, ref)
    assert f32.dtype == np.float32
    with pytest.raises(InvalidOptionError, match="PRESERVE_INPUT"):
        apply_dtype_conversion(result, "sometimes", VALUE, ref)  # type: ignore[arg-type]
    assert "apply_dtype_conversion" not in ap.__all__


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="longdouble is float64 here")
def test_preserve_input_of_a_dtype_outside_the_policy_says_what_to_declare() -> None:
    # Said "'float128' is not a dtype convert_dtype knows; pass one of ...", about a dtype
    # argument the caller never passed.
    ref = np.array([1.0, 3.0], dtype=np.longdouble)
    with pytest.raises(UnsupportedDtypeError, match=r"its input's dtype float128.*NATIVE_OUTPUT"):
        apply_dtype_conversion(np.array([0.5, 1.5]), DtypeConversion.PRESERVE_INPUT, VALUE, ref)


@skip_unless_installed(MT.TORCH)
def test_apply_dtype_conversion_reference_of_another_memory_type() -> None:
    import torch

    ref = torch.tensor([1, 2], dtype=torch.int16)
    out = apply_dtype_conversion(
        np.array([1.5, -40000.0]), DtypeConversion.PRESERVE_INPUT, VALUE, ref
    )
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.int16
    assert out.tolist() == [2, -32768]
    t = apply_dtype_conversion(
        torch.tensor([0.5]), DtypeConversion.PRESERVE_INPUT, UNIT, np.zeros(1, np.uint8)
    )
    assert t.dtype == torch.uint8
    assert t.tolist() == [128]


@skip_unless_installed(MT.DASK)
def test_dask_stays_lazy_and_exact() -> None:
    import dask.array as da

    x = da.from_array(np.array([0.4, 2.5, 70000.0, NAN, -INF], np.float32), chunks=2)
    out = convert_dtype(x, "uint16")
    assert isinstance(out, da.Array)
    assert out.compute().tolist() == [0, 2, 65535, 0, 0]
    for src in INTS:
        slo, shi = _range(src)
        values = [slo, 0, shi]
        for dst in INTS:
            dlo, dhi = _range(dst)
            got = convert_dtype(da.from_array(np.array(values, dtype=src)), dst).compute()
            assert got.tolist() == [min(max(v, dlo), dhi) for v in values], (src, dst)


@skip_unless_installed(MT.DASK)
@pytest.mark.parametrize(
    ("values", "dst"),
    [
        (np.array([[NAN, 1.5, -INF, 7.0], [2.0, INF, -3.25, NAN]]), "uint8"),
        (np.array([[NAN, 1.5, -INF, 7.0], [2.0, INF, -3.25, NAN]], np.float32), "float32"),
        (np.array([[NAN, 1.5, -INF, 7.0], [2.0, INF, -3.25, NAN]], np.float16), "int16"),
        (np.full((2, 4), NAN), "uint8"),  # no finite value: VALUE
        (np.array([[INF, -INF, NAN, INF], [NAN, NAN, -INF, INF]]), "int8"),
        (np.full((2, 4), 4.0), "uint8"),  # constant: VALUE
        (np.array([[-(2**62), 5, 0, 2**62 + 1], [7, -9, 3, 1]], np.int64), "uint16"),
        (np.array([[0, 2**64 - 1, 9, 5], [1, 2, 3, 4]], np.uint64), "int32"),
        (np.array([[True, False, True, True], [False, False, True, False]]), "uint8"),
        (np.array([[1 + 2j, NAN, 3 - 1j, 0j], [5j, -2, INF, 7]]), "float64"),
    ],
)
def test_dask_minmax_finds_its_range_in_one_pass_over_the_graph(
    values: np.ndarray, dst: str
) -> None:
    # The range took one full compute per reduction (any finite, min, max: every upstream
    # task ran three times at the call, then again at compute()). Now one compute, and the
    # values are numpy's.
    import threading

    import dask.array as da
    from dask.callbacks import Callback

    runs, lock = [0], threading.Lock()

    def counted(b: np.ndarray) -> np.ndarray:
        with lock:
            runs[0] += 1
        return b

    class Computes(Callback):  # type: ignore[misc]
        count = 0

        def _start(self, dsk: Any) -> None:
            self.count += 1

    x = da.from_array(values, chunks=(1, 2)).map_blocks(counted, dtype=values.dtype)  # 4
    runs[0] = 0
    with Computes() as computes:
        out = convert_dtype(x, dst, scaling=MINMAX, discard_imaginary=True)
    assert isinstance(out, da.Array)
    assert (computes.count, runs[0]) == (1, 4)
    want = convert_dtype(values, dst, scaling=MINMAX, discard_imaginary=True)
    got = out.compute()
    assert got.dtype == want.dtype
    assert got.tobytes() == want.tobytes()


@skip_unless_installed(MT.DASK)
def test_dask_declared_minmax_output_computes_its_range_once() -> None:
    import dask.array as da
    from dask.callbacks import Callback

    class Computes(Callback):  # type: ignore[misc]
        count = 0

        def _start(self, dsk: Any) -> None:
            self.count += 1

    @ap.memory_type("dask", dtype_conversion="uint8", scaling="minmax", output="declared")
    def double(a: Any) -> Any:
        return a * 2.0

    values = np.array([[NAN, 1.0, 3.0], [INF, 0.5, -2.0]])
    with Computes() as computes:
        out = double(da.from_array(values, chunks=1))
    assert computes.count == 1
    want = convert_dtype(values * 2.0, "uint8", scaling=MINMAX)
    assert out.compute().tolist() == want.tolist()


@skip_unless_installed(MT.DASK)
def test_dask_blocks_that_differ_from_what_the_array_declares_are_refused() -> None:
    # convert_dtype took the declared dtype and meta on trust: int64 blocks declared int32
    # wrapped 2**40 to 0, and masked chunks lost their mask (the masked value set MINMAX's
    # range). convert() refused both; convert_dtype now does too, when computed.
    import dask.array as da

    values = np.array([2**40, 3, -5, 2**33], np.int64)
    lying = da.from_array(values, chunks=2).map_blocks(lambda b: b, dtype=np.int32)
    with pytest.raises(ap.ConversionError, match="declares dtype int32 but computes to int64"):
        convert_dtype(lying, "int16").compute()
    masked = da.from_array(np.ma.masked_array([1.0, 1e9, 2.0], mask=[0, 1, 0]), chunks=3)
    masked = masked.map_blocks(lambda b: b, meta=np.empty((0,)))  # a plain meta
    with pytest.raises(ap.UnsupportedArrayError, match="masked chunks"):
        convert_dtype(masked, "uint8", scaling=ap.Scaling.MINMAX).compute()
    honest = da.from_array(values, chunks=2)
    assert convert_dtype(honest, "int16").compute().tolist() == [32767, 3, -5, 32767]


@skip_unless_installed(MemoryType.DASK)
def test_dask_float16_target_uses_numpy_dtype() -> None:
    # array-api-compat's dask namespace has no float16 attribute; dask arrays hold it.
    import dask.array as da

    x = da.from_array(np.array([True, False, True]))
    y = ap.convert_dtype(x, "float16")
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.compute(), np.array([1, 0, 1], dtype=np.float16))
    big = ap.convert_dtype(da.from_array(np.array([70000.0, -1.5], dtype=np.float32)), "float16")
    np.testing.assert_array_equal(big.compute(), np.array([65504.0, -1.5], dtype=np.float16))


@pytest.mark.parametrize("mt", [m for m in CPU_TYPES if m is not MemoryType.PYCLESPERANTO])
@pytest.mark.parametrize(
    ("values", "target", "expected"),
    [
        ([0.0, 8.5e37], "int8", [-128, 127]),
        ([0.0, 3.4e38], "uint8", [0, 255]),
        ([-3.4e38, 0.0, 3.4e38], "uint8", [0, 128, 255]),
        ([-3.4e38, 3.4e38], "float32", [0.0, 1.0]),
    ],
)
def test_minmax_over_the_widest_float32_ranges(
    mt: MemoryType, values: list[float], target: str, expected: list[float]
) -> None:
    # float32 frameworks (jax without x64): hi - lo overflows, and 1 / 1e38 flushes to 0.
    x = ap.convert(np.array(values, dtype=np.float32), mt)
    got = ap.convert(ap.convert_dtype(x, target, scaling=ap.Scaling.MINMAX), "numpy")
    np.testing.assert_array_equal(got, np.array(expected, dtype=target))


@skip_unless_installed(MemoryType.DASK)
def test_dask_bfloat16_and_unknown_chunk_sizes() -> None:
    import dask.array as da

    pytest.importorskip("ml_dtypes")
    x = da.from_array(np.arange(6.0, dtype=np.float32), chunks=2)
    b = ap.convert_dtype(x, "bfloat16")
    assert b.dtype.name == "bfloat16"
    # A bfloat16 dask array is an array arrayport moves and converts back.
    np.testing.assert_array_equal(ap.convert(b, "numpy").astype(np.float32), np.arange(6.0))
    np.testing.assert_array_equal(ap.convert_dtype(b, "float32").compute(), np.arange(6.0))
    # Boolean indexing leaves chunk sizes unknown: a remedy, not a TypeError from inside.
    y = x[x > 1]
    with pytest.raises(ap.UnsupportedArrayError, match="compute_chunk_sizes"):
        ap.convert_dtype(y, "uint8")
    y.compute_chunk_sizes()
    np.testing.assert_array_equal(ap.convert_dtype(y, "uint8").compute(), [2, 3, 4, 5])


# ------------------------------------------------- one rounding, the same on every framework


@pytest.mark.parametrize("mt", CPU_TYPES, ids=lambda m: m.value)
@pytest.mark.parametrize("scaling", ["unit", "minmax"])
def test_unit_and_minmax_into_float32_round_exactly_everywhere(mt: MT, scaling: str) -> None:
    # jax on the CPU once divided by an approximate reciprocal: 126 of these 256 values
    # were 1 ulp off numpy's (and the exact) result.
    if not holds(mt, "uint8") or not holds(mt, "float32"):
        pytest.skip(f"{mt.value} cannot hold uint8 and float32")
    values = np.arange(256, dtype=np.uint8)
    got = ap.convert(ap.convert_dtype(ap.convert(values, mt), "float32", scaling=scaling), "numpy")
    # Both scalings give v / 255 here (MINMAX: the range is 0..255), rounded once.
    want = np.array([_nearest_float32(Fraction(v, 255)) for v in range(256)], np.float32)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def _nearest_float32(q: Fraction) -> np.float32:
    """The float32 nearest to ``q`` (ties to even), found exactly with Python fractions."""
    guess = np.float32(float(q))
    candidates = [
        np.nextafter(guess, np.float32(-np.inf)),
        guess,
        np.nextafter(guess, np.float32(np.inf)),
    ]
    best = min(candidates, key=lambda c: (abs(Fraction(float(c)) - q), int(c.view(np.uint32)) & 1))
    return np.float32(best)


_ONE_ROUNDING = [
    # (source dtype, values, target, exactly rounded results)
    ("float64", [1 + 2**-8 + 2**-30, -128.50000000000003], "bfloat16", [1.0078125, -129.0]),
    ("float64", [1 + 2**-11 + 2**-40], "float16", [1.0009765625]),
    ("int64", [2**31 + 2**23 + 1], "bfloat16", [2164260864.0]),
    ("uint32", [2**31 + 2**23 + 1], "bfloat16", [2164260864.0]),
    # Just below a tie beyond 2**53: a conversion to float64 first rounds onto the tie.
    ("int64", [2**62 + 2**55 + 2**54 - 1, -(2**63)], "bfloat16", [2.0**62 + 2.0**55, -(2.0**63)]),
    ("uint64", [2**63 + 2**56 + 2**55 - 1], "bfloat16", [2.0**63 + 2.0**56]),
]


@pytest.mark.parametrize("mt", CPU_TYPES, ids=lambda m: m.value)
@pytest.mark.parametrize(("src", "values", "dst", "want"), _ONE_ROUNDING)
def test_narrowing_to_16_bit_floats_rounds_once(
    mt: MT, src: str, values: list[Any], dst: str, want: list[float]
) -> None:
    # Through float32 with round-to-nearest twice, these give 1.0, -128, 1.0 and 2**31.
    pytest.importorskip("ml_dtypes")
    if not holds(mt, src) or not holds(mt, dst):
        pytest.skip(f"{mt.value} cannot hold {src} and {dst}")
    got = ap.convert(ap.convert_dtype(make(mt, values, src), dst), "numpy")
    assert got.dtype.name == dst
    np.testing.assert_array_equal(got.astype(np.float64), want)


def _bfloat16_exact(v: np.ndarray) -> np.ndarray:
    """float64 -> bfloat16 rounded once, to nearest even, from float64's bits (normal
    bfloat16 range only): the reference the policy is held to."""
    bits = v.view(np.uint64)
    drop = 52 - 7
    half = np.uint64(1 << (drop - 1))
    odd = (bits >> np.uint64(drop)) & np.uint64(1)
    rounded = (bits + half - np.uint64(1) + odd) >> np.uint64(drop) << np.uint64(drop)
    return rounded.view(np.float64)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 64),
        elements=st.floats(2.0**-120, 3.0e38) | st.floats(-3.0e38, -(2.0**-120)),
    )
)
def test_float64_to_bfloat16_is_correctly_rounded(v: np.ndarray) -> None:
    pytest.importorskip("ml_dtypes")
    got = ap.convert_dtype(v, "bfloat16").astype(np.float64)
    np.testing.assert_array_equal(got, _bfloat16_exact(v))


@pytest.mark.parametrize("mt", CPU_TYPES, ids=lambda m: m.value)
@pytest.mark.parametrize("dst", ["int8", "int16", "int32", "int64"])
def test_unit_maps_minus_one_to_minus_max_at_every_signed_width(mt: MT, dst: str) -> None:
    # int64 once gave its minimum: -float(2**63 - 1) rounds to -2**63.
    if not holds(mt, "float64") or not holds(mt, dst):
        pytest.skip(f"{mt.value} cannot hold float64 and {dst}")
    top = int(np.iinfo(dst).max)
    got = ap.convert(
        ap.convert_dtype(make(mt, [-1.0, 1.0, -2.0], "float64"), dst, scaling="unit"), "numpy"
    )
    assert got.tolist() == [-top, top, -top - 1]  # below -1: clipped to the minimum


def test_no_warnings_leak_from_the_policy() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # UNIT of a huge float: u * 255 overflowed inside (the result was right).
        got = ap.convert_dtype(np.array([1.7e308, 0.5, -1.7e308, np.nan]), "uint8", scaling="unit")
        assert got.tolist() == [255, 128, 0, 0]
        if MT.TORCH in CPU_TYPES:
            import torch

            # MINMAX read the range of a tensor that requires grad through float().
            t = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
            out = ap.convert_dtype(t, "uint8", scaling="minmax")
            assert out.tolist() == [0, 128, 255]
            assert not out.requires_grad


def _bfloat16_of_int(n: int) -> float:
    """An integer rounded once to bfloat16 (8 significant bits, ties to even)."""
    a = abs(n)
    if a.bit_length() > 8:
        ulp = 1 << (a.bit_length() - 8)
        low, rest = divmod(a, ulp)
        if rest * 2 > ulp or (rest * 2 == ulp and low % 2):
            low += 1
        a = low * ulp
    return float(-a if n < 0 else a)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda p, top, k: max(-(2**63), min(2**63 - 1, (top << (p - 8)) + (1 << (p - 9)) + k)),
            st.integers(9, 63),
            st.integers(128, 255),
            st.integers(-3, 3),
        )
        | st.integers(-(2**63), 2**63 - 1),
        min_size=1,
        max_size=32,
    )
)
def test_int64_to_bfloat16_is_correctly_rounded(values: list[int]) -> None:
    # Values around the ties between bfloat16 neighbours, at every magnitude.
    pytest.importorskip("ml_dtypes")
    got = ap.convert_dtype(np.array(values, dtype=np.int64), "bfloat16").astype(np.float64)
    assert got.tolist() == [_bfloat16_of_int(v) for v in values]


def test_array_api_strict_dtypes_are_accepted() -> None:
    xps = pytest.importorskip("array_api_strict")
    assert dtype_name(xps.uint8) == "uint8"
    assert dtype_name(xps.float64) == "float64"
    np.testing.assert_array_equal(ap.convert_dtype(np.array([1.5, 300.0]), xps.uint8), [2, 255])


def test_discard_imaginary_takes_true_or_false_only() -> None:
    z = np.array([1 + 2j])
    with pytest.raises(ap.InvalidOptionError, match="discard_imaginary must be True or False"):
        convert_dtype(z, "float64", discard_imaginary="no")  # was read as True
    assert convert_dtype(z, "float64", discard_imaginary=np.True_).tolist() == [1.0]


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_minmax_of_bool_into_bool_is_a_new_array(mt: MT) -> None:
    # torch handed back its input: writing into the result changed it.
    if mt in (MT.PYCLESPERANTO,):
        pytest.skip("pyclesperanto stores bool as uint8")
    x = ap.convert(np.array([True, True]), mt)
    out = convert_dtype(x, "bool", scaling=ap.Scaling.MINMAX)
    assert out is not x
    host = ap.convert(out, "numpy")
    assert host.tolist() == [True, True]
    if mt is MT.TORCH:
        out[0] = False
        assert bool(x[0])


@pytest.mark.skipif(MT.TORCH not in CPU_TYPES, reason="needs torch")
def test_a_tensor_whose_dtype_stays_keeps_its_autograd_history() -> None:
    # convert_dtype detached every tensor that required grad, even when it returned it
    # unchanged: a dispatched torch function given a Parameter lost autograd on its result.
    import torch

    t = torch.tensor([0.0, 1.0, 2.0], requires_grad=True) * 2
    same = ap.convert_dtype(t, "float32")
    assert same is t
    assert same.requires_grad
    changed = ap.convert_dtype(t, "float64")
    assert not changed.requires_grad  # converted: values, not history (as convert)
    assert changed.tolist() == [0.0, 2.0, 4.0]


@skip_unless_installed(MT.JAX)
@pytest.mark.parametrize("source", ["int32", "uint32"])
def test_jax_off_the_cpu_rounds_32_bit_integers_into_bfloat16_once(
    monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    # Off the CPU, jax without 64-bit mode computed the float64 step in float32 (with a
    # jax warning): 33685505 rounded to 24 bits, then to bfloat16, 33554432 not 33816576.
    # Here jax's CPU array is described as on cuda:0, the branch a GPU array takes.
    import dataclasses

    import jax

    from arrayport import dtypes
    from arrayport.backends import jax as jax_backend
    from arrayport.devices import CPU, Device

    if jax.config.read("jax_enable_x64"):
        pytest.skip("jax computes float64 in 64-bit mode")
    gpu = Device("cuda", 0)
    describe = jax_backend.describe
    monkeypatch.setattr(
        jax_backend, "describe", lambda x: dataclasses.replace(describe(x), device=gpu)
    )
    hosted: list[object] = []
    via_host = dtypes._via_host

    def on_the_host(x, mt, device, *rest):
        hosted.append(device)
        return via_host(x, mt, CPU, *rest)

    monkeypatch.setattr(dtypes, "_via_host", on_the_host)
    values = [2**25 + 2**17 + 1, 2**24 + 2**16 + 1, 2**24 + 2**16 + 2**8 + 1]
    x = ap.convert(np.array(values, source), "jax")
    got = ap.convert(ap.convert_dtype(x, "bfloat16"), "numpy")
    assert hosted == [gpu]
    want = ap.convert_dtype(np.array(values, source), "bfloat16")
    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))
    assert got.astype(np.float64).tolist() == [33816576.0, 16908288.0, 16908288.0]
