"""Dtype laws for :func:`arrayport.convert_dtype`, on every memory type.

The expected values are computed element by element in exact Python arithmetic (ints and
floats compare exactly in Python; :class:`fractions.Fraction` for rounding bounds), not
with numpy casts, which wrap.

* VALUE leaves every value the target can represent unchanged; is monotone; is
  idempotent; into an integer type it is exactly "round half to even, clip, NaN -> 0";
  into a float type it rounds to nearest and clips finite values to the largest finite.
  So no result ever wraps around.
* UNIT round-trips integers through floats (the signed minimum maps to -max, by design);
  any float into an integer type is NaN -> 0, else ``v * max`` rounded half to even and
  clipped (infinities and values beyond [0, 1] / [-1, 1] included).
* UNIT between integer types goes through the unit value (uint8 255 -> uint16 65535).
* MINMAX stretches the finite min..max to the whole integer range (or [0, 1]); NaN -> 0 and
  +-inf -> the ends of an integer range, NaN stays NaN and +-inf -> 1 / 0 in a float one.
  With no range to stretch (constant, empty, no finite value) it is VALUE.
* complex -> complex rounds each part to nearest; complex -> real needs
  ``discard_imaginary=True`` and then converts the real part.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import arrayport as ap
from arrayport.backends import detect_memory_type
from arrayport.errors import DtypeConversionError
from arrayport.memory_types import MemoryType
from arrayport.testing import arrays, as_numpy, dtypes_for
from conformance._support import (
    device_name,
    int_range,
    minmax_float_ok,
    minmax_int_ok,
    nearest_ok,
    unit_between_ints_ok,
    unit_int_ok,
    value_int,
)
from conformance.conftest import MEMORY_TYPES, law

pytestmark = pytest.mark.parametrize("memory_type", MEMORY_TYPES)

VALUE, UNIT, MINMAX = ap.Scaling.VALUE, ap.Scaling.UNIT, ap.Scaling.MINMAX


def _real(mt: MemoryType) -> list[str]:
    return [d for d in dtypes_for(mt) if not d.startswith("complex")]


def _shapes(mt: MemoryType) -> st.SearchStrategy[tuple[int, ...]]:
    low = 1 if mt is MemoryType.PYCLESPERANTO else 0
    return hnp.array_shapes(min_dims=low, max_dims=2, min_side=low, max_side=4)


def _values(x: Any) -> list[Any]:
    return np.asarray(as_numpy(x)).reshape(-1).tolist()


def _convert_dtype(x: Any, dtype: Any, **kwargs: Any) -> Any:
    """``convert_dtype(x, dtype, **kwargs)``, checked to be where ``x`` is (DESIGN: "same
    memory type and device as x"), as the frameworks report it, under every scaling."""
    y = ap.convert_dtype(x, dtype, **kwargs)
    want, got = detect_memory_type(x), detect_memory_type(y)
    here, there = device_name(x), device_name(y)
    if got is not want or there != here:
        how = "".join(f", {k}={getattr(v, 'name', v)}" for k, v in kwargs.items())
        msg = (
            f"convert_dtype({want.value} {as_numpy(x).dtype} on {here} -> {dtype}{how}): the "
            f"result is {got.value} on {there}"
        )
        raise AssertionError(msg)
    return y


def _in_int_range(v: Any, dtype: np.dtype[Any]) -> bool:
    lo, hi = int_range(dtype)
    return lo <= v <= hi


@law("dtypes.value", "VALUE keeps representable values, rounds half to even, clips: never wraps")
@given(data=st.data())
def test_value_scaling(memory_type: MemoryType, data: st.DataObject) -> None:
    src = data.draw(st.sampled_from(_real(memory_type)), label="source dtype")
    dst = np.dtype(data.draw(st.sampled_from(_real(memory_type)), label="target dtype"))
    x = data.draw(arrays(memory_type, dtype=src, shape=_shapes(memory_type)), label="x")
    y = _convert_dtype(x, dst.name)
    assert detect_memory_type(y) is memory_type
    got = as_numpy(y)
    assert got.dtype.name == dst.name  # a byte-swapped input of the dtype comes back as it is
    assert got.shape == tuple(x.shape)
    for v, r in zip(_values(x), got.reshape(-1).tolist(), strict=True):
        if dst.kind in "biu":
            lo, hi = int_range(dst)
            assert int(r) == value_int(v, lo, hi), f"{src} {v!r} -> {dst}: {r!r}"
        else:
            assert nearest_ok(v, r, dst), f"{src} {v!r} -> {dst}: {r!r} is not the nearest value"
        if (
            ((isinstance(v, float) and math.isfinite(v) and v.is_integer()) or isinstance(v, int))
            and dst.kind in "biu"
            and _in_int_range(v, dst)
        ):
            assert r == v, f"{src} {v!r} fits {dst} but became {r!r}"


_OUT_OF_RANGE = [-1e10, -129.5, -1.0, -0.5, 0.5, 127.5, 255.6, 300.0, 65536.5, 1e10]


@law("dtypes.value", "VALUE keeps representable values, rounds half to even, clips: never wraps")
def test_value_clips_out_of_range_floats_into_every_integer_type(memory_type: MemoryType) -> None:
    # Every float -> integer pair, with values beyond each small type's range: the drawn law
    # above reaches a given pair with such values rarely (a wrap into uint8 alone survived).
    ints = [np.dtype(d) for d in _real(memory_type) if np.dtype(d).kind in "iu"]
    for src in (d for d in _real(memory_type) if np.dtype(d).kind == "f"):
        values = [v for v in _OUT_OF_RANGE if abs(v) < float(np.finfo(src).max)]
        x = ap.convert(np.array([*values, math.nan, math.inf, -math.inf], dtype=src), memory_type)
        for dst in ints:
            lo, hi = int_range(dst)
            got = as_numpy(_convert_dtype(x, dst.name)).tolist()
            want = [value_int(v, lo, hi) for v in _values(x)]
            assert got == want, f"{src} -> {dst}: {got} != {want}"


_HALVES = [-3.5, -2.5, -1.5, -0.7, -0.5, -0.3, -0.0, 0.3, 0.5, 0.7, 1.5, 2.5, 3.5]


@law("dtypes.value", "VALUE keeps representable values, rounds half to even, clips: never wraps")
def test_value_rounds_halves_to_even_into_every_integer_type(memory_type: MemoryType) -> None:
    # Fractions and exact ties for every float -> integer pair: the drawn law rarely draws
    # an in-range fraction for a given pair, and ties almost never (a conversion that
    # truncated, or rounded halves away from zero, passed it under the ci profile).
    ints = [np.dtype(d) for d in _real(memory_type) if np.dtype(d).kind in "iu"]
    for src in (d for d in _real(memory_type) if np.dtype(d).kind == "f"):
        x = ap.convert(np.array(_HALVES, dtype=src), memory_type)
        for dst in ints:
            lo, hi = int_range(dst)
            got = as_numpy(_convert_dtype(x, dst.name)).tolist()
            want = [value_int(v, lo, hi) for v in _values(x)]
            assert got == want, f"{src} -> {dst}: {got} != {want}"


_SIGNED = [-0.0, 0.0, -1.5, 1.5, math.nan]


@law("dtypes.value", "VALUE keeps representable values, rounds half to even, clips: never wraps")
def test_value_keeps_the_sign_of_zero(memory_type: MemoryType) -> None:
    # -0.0 is a value every float type holds: float -> float VALUE (and UNIT, which is
    # VALUE between float types), complex parts, and the real part kept by
    # discard_imaginary keep it. The drawn laws meet -0.0 only when they draw it.
    assert nearest_ok(-0.0, -0.0, np.dtype("float32"))
    assert not nearest_ok(-0.0, 0.0, np.dtype("float32"))  # the oracle sees the sign
    assert not nearest_ok(0.0, -0.0, np.dtype("float16"))
    floats = [d for d in _real(memory_type) if np.dtype(d).kind == "f"]
    for src, dst, scaling in itertools.product(floats, floats, (VALUE, UNIT)):
        x = ap.convert(np.array(_SIGNED, dtype=src), memory_type)
        got = as_numpy(_convert_dtype(x, dst, scaling=scaling)).tolist()
        for v, r in zip(_SIGNED, got, strict=True):
            assert nearest_ok(v, r, np.dtype(dst)), (
                f"{scaling.name} {src} -> {dst}: {_SIGNED} became {got}"
            )
    held = _complex(memory_type)
    values = [complex(-0.0, -0.0), complex(0.0, -0.0), complex(-0.0, 1.5), complex(1.5, 0.0)]
    for src, dst in itertools.product(held, [*held, *floats]):
        x = ap.convert(np.array(values, dtype=src), memory_type)
        got = as_numpy(_convert_dtype(x, dst, discard_imaginary=True)).tolist()
        part = np.dtype(np.dtype(dst).char.lower())  # float32 for complex64
        for c, r in zip(values, got, strict=True):
            pairs = [(c.real, r.real), (c.imag, r.imag)] if dst in held else [(c.real, r)]
            assert all(nearest_ok(a, b, part) for a, b in pairs), (
                f"{src} -> {dst}: {values} became {got}"
            )


@law("dtypes.value_monotone", "VALUE is monotone and idempotent")
@given(data=st.data())
def test_value_monotone_and_idempotent(memory_type: MemoryType, data: st.DataObject) -> None:
    src = data.draw(st.sampled_from(_real(memory_type)), label="source dtype")
    dst = data.draw(st.sampled_from(_real(memory_type)), label="target dtype")
    x = data.draw(arrays(memory_type, dtype=src, shape=_shapes(memory_type)), label="x")
    y = _convert_dtype(x, dst)
    pairs = [
        (v, r)
        for v, r in zip(_values(x), _values(y), strict=True)
        if not (isinstance(v, float) and math.isnan(v))
    ]
    pairs.sort(key=lambda p: p[0])
    for (v1, r1), (v2, r2) in itertools.pairwise(pairs):
        assert r1 <= r2, f"{src} -> {dst} is not monotone: {v1!r} -> {r1!r} but {v2!r} -> {r2!r}"
    back = _convert_dtype(y, src)
    twice = _convert_dtype(_convert_dtype(back, dst), src)
    assert np.array_equal(as_numpy(twice), as_numpy(back), equal_nan=src.startswith("f")), (
        f"{src} -> {dst} -> {src} is not idempotent"
    )


_UNIT_PAIRS = [
    (i, f)
    for i in ("uint8", "int8", "uint16", "int16", "uint32", "int32")
    for f in ("float16", "float32", "float64")
    if np.finfo(f).nmant + 1 >= np.iinfo(i).bits + (0 if i.startswith("u") else -1) + 1
    or (np.iinfo(i).bits == 8 and f == "float16")
]


@law("dtypes.unit_round_trip", "UNIT maps integers to floats in range and back unchanged")
@given(data=st.data())
def test_unit_round_trip(memory_type: MemoryType, data: st.DataObject) -> None:
    held = set(dtypes_for(memory_type))
    pairs = [(i, f) for i, f in _UNIT_PAIRS if i in held and f in held]
    if not pairs:
        pytest.skip(f"{memory_type.value} holds no integer/float pair for UNIT")
    i, f = data.draw(st.sampled_from(pairs), label="integer, float")
    x = data.draw(arrays(memory_type, dtype=i, shape=_shapes(memory_type)), label="x")
    y = _convert_dtype(x, f, scaling=UNIT)
    floats = as_numpy(y)
    low = 0.0 if i.startswith("u") else -1.0
    assert floats.dtype == np.dtype(f)
    assert np.all((floats >= low) & (floats <= 1.0)), f"{i} -> {f} UNIT left [{low}, 1]: {floats}"
    # The unit values themselves: v / max (signed: at least -1), within one step of the
    # float type of the exact quotient, and exact at the ends (a division by max + 1
    # round-tripped too, giving 255 -> 0.99609375).
    top = int(np.iinfo(i).max)
    exact = np.array([max(float(Fraction(int(v), top)), -1.0) for v in as_numpy(x).reshape(-1)])
    near = exact.astype(f)
    assert np.all(np.abs(floats.reshape(-1) - near) <= np.abs(np.spacing(near))), (
        f"{i} -> {f} UNIT: {floats.reshape(-1)} is not v / {top}"
    )
    ends = np.array([0, top] if i.startswith("u") else [0, top, -top, -top - 1], dtype=i)
    got_ends = as_numpy(_convert_dtype(ap.convert(ends, memory_type), f, scaling=UNIT))
    assert got_ends.tolist() == [0.0, 1.0] + ([] if i.startswith("u") else [-1.0, -1.0]), (
        f"{i} -> {f} UNIT ends: {ends.tolist()} -> {got_ends.tolist()}"
    )
    back = as_numpy(_convert_dtype(y, i, scaling=UNIT))
    want = as_numpy(x).copy()
    if not i.startswith("u"):
        info = np.iinfo(i)
        want[want == info.min] = -info.max  # the signed minimum maps to -1, so to -max
    np.testing.assert_array_equal(back, want, err_msg=f"{i} -> {f} -> {i} under UNIT")


@law(
    "dtypes.unit_between_integers",
    "UNIT between integer types goes through the unit value: uint8 255 -> uint16 65535",
)
@given(data=st.data())
def test_unit_between_integer_types(memory_type: MemoryType, data: st.DataObject) -> None:
    ints = [d for d in _real(memory_type) if np.dtype(d).kind in "iu"]
    src = np.dtype(data.draw(st.sampled_from(ints), label="source dtype"))
    dst = np.dtype(data.draw(st.sampled_from(ints), label="target dtype"))
    x = data.draw(arrays(memory_type, dtype=src, shape=_shapes(memory_type)), label="x")
    got = as_numpy(_convert_dtype(x, dst.name, scaling=UNIT))
    assert got.dtype.name == dst.name, f"UNIT {src} -> {dst}: dtype {got.dtype}"
    assert got.shape == tuple(x.shape)
    src_lo, src_hi = int_range(src)
    lo, hi = int_range(dst)
    # The ends of the source's range (and 0) always, whatever was drawn: a UNIT that kept
    # values (VALUE) sends 255 to 255 in uint16, not to 65535.
    ends = ap.convert(np.array([0, src_hi, src_lo], dtype=src), memory_type)
    got_ends = as_numpy(_convert_dtype(ends, dst.name, scaling=UNIT)).tolist()
    pairs = [
        *zip(_values(x), got.reshape(-1).tolist(), strict=True),
        *zip([0, src_hi, src_lo], got_ends, strict=True),
    ]
    for v, r in pairs:
        # UNIT from a type to itself is VALUE (ADR 0011): nothing changes.
        ok = r == v if src == dst else unit_between_ints_ok(v, src_hi, r, lo, hi)
        assert ok, f"UNIT {src} {v!r} -> {dst}: {r!r}"


def _float_elements(dtype: str) -> st.SearchStrategy[float]:
    """Any value of float ``dtype``, weighted towards the unit range, its edges and beyond,
    and the non-finite values (NaN, +-inf)."""
    width = np.dtype(dtype).itemsize * 8
    return st.one_of(
        st.floats(-2.5, 2.5, width=width),
        st.floats(width=width),
        st.sampled_from(
            [math.nan, math.inf, -math.inf, 0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5]
        ),
    )


@law(
    "dtypes.unit_from_float",
    "UNIT maps any float to an integer: NaN -> 0, v * max rounded, clipped",
)
@given(data=st.data())
def test_unit_from_float(memory_type: MemoryType, data: st.DataObject) -> None:
    floats = [d for d in _real(memory_type) if np.dtype(d).kind == "f"]
    ints = [d for d in _real(memory_type) if np.dtype(d).kind in "iu"]
    src = data.draw(st.sampled_from(floats), label="source dtype")
    dst = np.dtype(data.draw(st.sampled_from(ints), label="target dtype"))
    x = data.draw(
        arrays(memory_type, dtype=src, shape=_shapes(memory_type), elements=_float_elements(src)),
        label="x",
    )
    got = as_numpy(_convert_dtype(x, dst.name, scaling=UNIT))
    assert got.dtype.name == dst.name, f"UNIT {src} -> {dst}: dtype {got.dtype}"
    assert got.shape == tuple(x.shape)
    lo, hi = int_range(dst)
    for v, r in zip(_values(x), got.reshape(-1).tolist(), strict=True):
        assert unit_int_ok(v, r, lo, hi), f"UNIT {src} {v!r} -> {dst}: {r!r}"


@law("dtypes.minmax_ends", "MINMAX stretches the finite min..max to the ends of the range")
@given(data=st.data())
def test_minmax_hits_the_ends(memory_type: MemoryType, data: st.DataObject) -> None:
    dst = np.dtype(
        data.draw(
            st.sampled_from([d for d in _real(memory_type) if d != "bool"]), label="target dtype"
        )
    )
    src = data.draw(
        st.sampled_from([d for d in _real(memory_type) if d != "bool"]), label="source dtype"
    )
    x = data.draw(arrays(memory_type, dtype=src, shape=_shapes(memory_type)), label="x")
    values = as_numpy(x).reshape(-1)
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    # No range to stretch: VALUE applies (the value law covers it); hypothesis draws again.
    assume(finite.size >= 2 and finite.min() != finite.max())
    got = as_numpy(_convert_dtype(x, dst, scaling=MINMAX)).reshape(-1)
    lo, hi = int_range(dst) if dst.kind in "iu" else (0.0, 1.0)
    at_min = got[values == finite.min()]
    at_max = got[values == finite.max()]
    assert np.all(at_min == lo), f"MINMAX {src} -> {dst}: the minimum went to {at_min}, not {lo}"
    assert np.all(at_max == hi), (
        f"MINMAX {src} -> {dst}: min -> {at_min}, max -> {at_max}, expected {lo} and {hi}"
    )
    keep = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    assert np.all((got[keep] >= lo) & (got[keep] <= hi))
    order = np.argsort(values[keep], kind="stable")
    assert np.all(np.diff(got[keep][order].astype(np.float64)) >= 0), "MINMAX is not monotone"
    # Every value against the exact stretch (ADR 0011): NaN -> 0 and +-inf -> the ends in
    # integer targets; NaN stays NaN and +-inf -> 1 and 0 in float targets.
    vmin, vmax = finite.min().item(), finite.max().item()
    for v, r in zip(values.tolist(), got.tolist(), strict=True):
        if dst.kind in "iu":
            ok = minmax_int_ok(v, vmin, vmax, r, int(lo), int(hi))
        else:
            ok = minmax_float_ok(v, vmin, vmax, r, dst)
        assert ok, f"MINMAX {src} {v!r} (range {vmin!r}..{vmax!r}) -> {dst}: {r!r}"


@law("dtypes.minmax_ends")
def test_minmax_non_finite_values(memory_type: MemoryType) -> None:
    # The drawn law above sees NaN and infinities only when it draws them; here every
    # float source and every target meets them (DESIGN: NaN -> 0 in integer targets).
    for src in (d for d in _real(memory_type) if np.dtype(d).kind == "f"):
        x = ap.convert(np.array([math.nan, -2.0, 0.0, 2.0, math.inf, -math.inf], src), memory_type)
        for dst in (np.dtype(d) for d in _real(memory_type) if d != "bool"):
            got = as_numpy(_convert_dtype(x, dst.name, scaling=MINMAX)).tolist()
            if dst.kind in "iu":
                lo, hi = int_range(dst)
                assert got[0] == 0, f"MINMAX {src} -> {dst}: NaN became {got[0]}, not 0"
                assert got[4:] == [hi, lo], f"MINMAX {src} -> {dst}: inf, -inf -> {got[4:]}"
                for v, r in zip([-2.0, 0.0, 2.0], got[1:4], strict=True):
                    assert minmax_int_ok(v, -2.0, 2.0, r, lo, hi), f"MINMAX {src} -> {dst}: {got}"
            else:
                assert math.isnan(got[0]), f"MINMAX {src} -> {dst}: NaN became {got[0]}"
                assert got[1:] == [0.0, 0.5, 1.0, 1.0, 0.0], f"MINMAX {src} -> {dst}: {got}"


_NO_RANGE = ("constant", "constant", "empty", "non-finite")


def _minmax_without_range(x: Any, dst: str, what: str) -> Any:
    """MINMAX of an array with no range to stretch: valid input, so a refusal fails the law
    (with the law's own message, not as an error of the test)."""
    try:
        return _convert_dtype(x, dst, scaling=MINMAX)
    except ap.ArrayportError as exc:
        msg = f"{what} -> {dst} refused: {exc}"
        raise AssertionError(msg) from exc


@law("dtypes.minmax_ends")
@given(data=st.data())
def test_minmax_without_a_range_is_value(memory_type: MemoryType, data: st.DataObject) -> None:
    # DESIGN: "Empty and constant arrays are valid"; ADR 0011: with no range to stretch
    # (constant, empty, or no finite value) MINMAX is VALUE. Drawn on purpose: the law
    # above skips such arrays, and chance alone rarely draws a constant one.
    real = [d for d in _real(memory_type) if d != "bool"]
    src = np.dtype(data.draw(st.sampled_from(real), label="source dtype"))
    dst = np.dtype(data.draw(st.sampled_from(real), label="target dtype"))
    kind = data.draw(st.sampled_from(_NO_RANGE), label="kind")
    if kind == "empty" and memory_type is MemoryType.PYCLESPERANTO:
        kind = "constant"  # pyclesperanto holds no empty array
    if kind == "non-finite" and src.kind != "f":
        kind = "constant"
    shape = _shapes(memory_type)
    value = data.draw(hnp.from_dtype(src), label="value")
    elements: st.SearchStrategy[Any] = st.just(value)
    if kind == "empty":
        shape = st.sampled_from([(0,), (0, 3), (2, 0)])
    elif kind == "non-finite":  # one finite value at most, among NaN and the infinities
        elements = st.sampled_from([value, math.nan, math.inf, -math.inf])
    x = data.draw(arrays(memory_type, dtype=src, shape=shape, elements=elements), label="x")
    values = _values(x)
    finite = [v for v in values if not (isinstance(v, float) and not math.isfinite(v))]
    assert len(set(finite)) <= 1, f"drew a range: {values}"
    got = as_numpy(_minmax_without_range(x, dst.name, f"MINMAX {src} {values} (no range)"))
    assert got.dtype.name == dst.name, f"MINMAX {src} -> {dst}: dtype {got.dtype}"
    assert got.shape == tuple(x.shape), f"MINMAX {src} -> {dst}: shape {got.shape}"
    for v, r in zip(values, got.reshape(-1).tolist(), strict=True):
        ok = int(r) == value_int(v, *int_range(dst)) if dst.kind in "iu" else nearest_ok(v, r, dst)
        assert ok, f"MINMAX {src} {values} (no range) -> {dst}: {v!r} became {r!r}, not VALUE"


@law("dtypes.minmax_ends")
def test_minmax_of_constant_and_empty_arrays(memory_type: MemoryType) -> None:
    # The drawn law's cases that must never depend on a draw: a constant image of 7s stays
    # 7s (not the bottom of the range), and an empty or all-non-finite array converts.
    cases = [np.full((2, 3), 7, np.uint8), np.array([np.nan, np.inf, -np.inf], np.float32)]
    if memory_type is not MemoryType.PYCLESPERANTO:
        cases.append(np.zeros((0, 3), np.float32))
    for host in cases:
        x = ap.convert(host, memory_type)
        for dst in ("uint8", "float32"):
            got = as_numpy(_minmax_without_range(x, dst, f"MINMAX of {host.tolist()} (no range)"))
            want = [value_int(v, 0, 255) for v in host.reshape(-1).tolist()]
            if dst == "float32":
                want = host.astype(np.float32).reshape(-1).tolist()
            assert got.shape == host.shape, f"MINMAX of {host.tolist()} -> {dst}: {got.shape}"
            assert np.array_equal(got.reshape(-1), np.array(want, dst), equal_nan=True), (
                f"MINMAX of {host.tolist()} (no range) -> {dst}: {got.tolist()}, not VALUE"
            )


def _complex(mt: MemoryType) -> list[str]:
    return [d for d in dtypes_for(mt) if d.startswith("complex")]


def _complex_elements(dtype: str) -> st.SearchStrategy[complex]:
    part = np.dtype(dtype).itemsize * 4
    return st.complex_numbers(width=np.dtype(dtype).itemsize * 8) | st.builds(
        complex, st.floats(-4.0, 4.0, width=part), st.floats(-4.0, 4.0, width=part)
    )


def _overflows(part: float, dtype: np.dtype[Any]) -> bool | None:
    """Whether a finite ``part`` becomes inf in ``dtype`` (at or past the half-way point to
    the next power of two); None in between the largest finite value and that point, where
    clipping and refusing are both allowed (ADR 0014: "beyond float32's range")."""
    if not math.isfinite(part):
        return False
    info = np.finfo(dtype)
    top = Fraction(float(info.max))
    step = top - Fraction(float(np.nextafter(info.max, dtype.type(0))))
    size = abs(Fraction(part))
    if size >= top + step / 2:
        return True
    return None if size > top else False


@law("dtypes.complex", "complex -> complex rounds each part to nearest (VALUE and UNIT cast)")
@given(data=st.data())
def test_complex_to_complex(memory_type: MemoryType, data: st.DataObject) -> None:
    held = _complex(memory_type)
    if not held:
        pytest.skip(f"{memory_type.value} holds no complex dtype")
    src = data.draw(st.sampled_from(held), label="source dtype")
    dst = np.dtype(data.draw(st.sampled_from(held), label="target dtype"))
    scaling = data.draw(st.sampled_from([VALUE, UNIT]), label="scaling")
    x = data.draw(
        arrays(memory_type, dtype=src, shape=_shapes(memory_type), elements=_complex_elements(src)),
        label="x",
    )
    part = np.dtype(dst.char.lower())  # float32 for complex64
    values = _values(x)
    flags = {_overflows(p, part) for v in values for p in (v.real, v.imag)}
    if True in flags:
        with pytest.raises(DtypeConversionError):
            ap.convert_dtype(x, dst.name, scaling=scaling)
        return
    try:
        y = _convert_dtype(x, dst.name, scaling=scaling)
    except DtypeConversionError:
        assert None in flags, f"{src} -> {dst} refused values within range: {values}"
        return
    got = as_numpy(y)
    assert detect_memory_type(y) is memory_type
    assert got.dtype.name == dst.name, f"{src} -> {dst}: dtype {got.dtype}"  # any byte order
    assert got.shape == tuple(x.shape)
    for v, r in zip(values, got.reshape(-1).tolist(), strict=True):
        for name, a, b in (("real", v.real, r.real), ("imaginary", v.imag, r.imag)):
            assert nearest_ok(a, b, part), f"{src} {v!r} -> {dst}: {r!r} ({name} part)"


@law("dtypes.complex_needs_consent", "complex -> real raises unless discard_imaginary=True")
@given(data=st.data())
def test_complex_to_real_needs_consent(memory_type: MemoryType, data: st.DataObject) -> None:
    held = _complex(memory_type)
    if not held:
        pytest.skip(f"{memory_type.value} holds no complex dtype")
    src = data.draw(st.sampled_from(held), label="source dtype")
    dst = np.dtype(data.draw(st.sampled_from(_real(memory_type)), label="target dtype"))
    scaling = data.draw(st.sampled_from([VALUE, UNIT, MINMAX]), label="scaling")
    x = data.draw(
        arrays(memory_type, dtype=src, shape=_shapes(memory_type), elements=_complex_elements(src)),
        label="x",
    )
    with pytest.raises(DtypeConversionError):
        ap.convert_dtype(x, dst.name, scaling=scaling)
    # With consent: the real part, by the usual rules (VALUE here).
    y = _convert_dtype(x, dst.name, discard_imaginary=True)
    got = as_numpy(y)
    assert detect_memory_type(y) is memory_type
    assert got.dtype.name == dst.name, f"{src} -> {dst}: dtype {got.dtype}"  # any byte order
    for v, r in zip(_values(x), got.reshape(-1).tolist(), strict=True):
        if dst.kind in "biu":
            lo, hi = int_range(dst)
            assert int(r) == value_int(v.real, lo, hi), f"{src} {v!r} -> {dst}: {r!r}"
        else:
            assert nearest_ok(v.real, r, dst), f"{src} {v!r} -> {dst}: {r!r} is not its real part"


@law("dtypes.value")
def test_value_rounds_up_to_the_largest_finite_float(memory_type: MemoryType) -> None:
    # Values just below a float type's largest finite value round up to it (int32 65500 ->
    # float16 is 65504): correct, and the oracle must say so (its neighbour above is inf).
    top16 = float(np.finfo(np.float16).max)
    assert nearest_ok(65500, top16, np.dtype("float16"))
    assert nearest_ok(-65500.0, -top16, np.dtype("float16"))
    assert not nearest_ok(65000, top16, np.dtype("float16"))  # 65504 is 65472's neighbour
    assert not nearest_ok(-65000.0, -top16, np.dtype("float16"))
    held = set(_real(memory_type))
    cases = [
        ("int32", [65500, 65519, 65520, 70000, -65500, -65519], "float16"),
        ("float32", [65500.0, -65500.0, 65519.0, -1e6], "float16"),
        ("float64", [3.4028234e38, -3.4028234e38, 3.40282356e38, -1e300], "float32"),
    ]
    for src, values, dst in cases:
        if src not in held or dst not in held:
            continue
        x = ap.convert(np.array(values, src), memory_type)
        got = as_numpy(_convert_dtype(x, dst)).tolist()
        for v, r in zip(_values(x), got, strict=True):
            assert nearest_ok(v, r, np.dtype(dst)), f"{src} {v!r} -> {dst}: {r!r}"


# Regressions of bugs these laws found (fixed in dtypes.py since); deterministic, so they
# hold whatever examples hypothesis happens to draw.


@law("dtypes.minmax_ends")
def test_regression_minmax_wide_float32_range(memory_type: MemoryType) -> None:
    # jax without x64 once computed max - min in float32, which overflowed to inf:
    # float32 [0, 8.5e37] -> int8 gave [-128, -128].
    if "int8" not in dtypes_for(memory_type):
        pytest.skip(f"{memory_type.value} cannot hold this case")
    x = ap.convert(np.array([0, 8.50706e37], np.float32), memory_type)
    assert as_numpy(_convert_dtype(x, "int8", scaling=MINMAX)).tolist() == [-128, 127]
    x = ap.convert(np.array([-3.4e38, 3.4e38], np.float32), memory_type)
    assert as_numpy(_convert_dtype(x, "float32", scaling=MINMAX)).tolist() == [0.0, 1.0]


@law("dtypes.unit_round_trip")
def test_regression_float16_targets(memory_type: MemoryType) -> None:
    # dask once raised a bare TypeError for float16 (array-api-compat's dask namespace
    # has no float16 attribute).
    if "float16" not in dtypes_for(memory_type):
        pytest.skip(f"{memory_type.value} holds no float16")
    x = ap.convert(np.array([0, 51, 255], np.uint8), memory_type)
    y = _convert_dtype(x, "float16", scaling=UNIT)
    assert as_numpy(y).dtype == np.float16
    assert as_numpy(_convert_dtype(y, "uint8", scaling=UNIT)).tolist() == [0, 51, 255]
