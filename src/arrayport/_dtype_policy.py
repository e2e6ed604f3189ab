"""The dtype conversion policy, written once against the array API.

:func:`convert_block` maps one array (or one chunk of it) to the target dtype with calls
every array API namespace has (``round``, ``clip``, ``where``, ``astype``, ...), so numpy,
cupy, torch and jax share one implementation. numpy runs it chunk by chunk into a
preallocated output (:mod:`arrayport._dtype_numpy`).

Exactness at the integer extremes: a float cannot always hold an integer type's maximum
(float32 holds no 2**32-1, float64 no 2**63-1), so clipping happens at the largest float
not above it and the values beyond it are then set to the exact maximum in the integer
domain (see docs/decisions/0010).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

__all__ = [
    "DTYPES",
    "Kind",
    "Plan",
    "convert_block",
    "finite_range",
    "float_bounds",
    "prepare",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    """What the policy needs to know about a dtype.

    ``kind`` is ``"b"``, ``"u"``, ``"i"``, ``"f"`` or ``"c"``. For bool and integers ``lo``
    and ``hi`` are the exact range (bool counts as the range 0..1); for floats they are
    minus and plus the largest finite value; for complex types those of the component.
    """

    name: str
    kind: str
    bits: int
    lo: int | float
    hi: int | float

    @property
    def component(self) -> str:
        """The real dtype of a complex type's parts (the name itself otherwise)."""
        return {"complex64": "float32", "complex128": "float64"}.get(self.name, self.name)


def _int(name: str, bits: int, signed: bool) -> Kind:
    if signed:
        return Kind(name, "i", bits, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return Kind(name, "u", bits, 0, (1 << bits) - 1)


_F16_MAX = 65504.0
_BF16_MAX = float.fromhex("0x1.fep127")
_F32_MAX = float.fromhex("0x1.fffffep127")
_F64_MAX = float.fromhex("0x1.fffffffffffffp1023")

#: Every dtype convert_dtype knows, by canonical name.
DTYPES: dict[str, Kind] = {
    "bool": Kind("bool", "b", 1, 0, 1),
    **{f"int{b}": _int(f"int{b}", b, True) for b in (8, 16, 32, 64)},
    **{f"uint{b}": _int(f"uint{b}", b, False) for b in (8, 16, 32, 64)},
    "float16": Kind("float16", "f", 16, -_F16_MAX, _F16_MAX),
    "bfloat16": Kind("bfloat16", "f", 16, -_BF16_MAX, _BF16_MAX),
    "float32": Kind("float32", "f", 32, -_F32_MAX, _F32_MAX),
    "float64": Kind("float64", "f", 64, -_F64_MAX, _F64_MAX),
    "complex64": Kind("complex64", "c", 64, -_F32_MAX, _F32_MAX),
    "complex128": Kind("complex128", "c", 128, -_F64_MAX, _F64_MAX),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """One conversion, decided before any data is touched.

    Attributes
    ----------
    src, dst : Kind
        The source and target dtypes (what the values mean).
    scaling : str
        ``"value"``, ``"unit"`` or ``"minmax"`` (the :class:`~arrayport.Scaling` value).
    src_work : str
        The dtype the source is computed in: its own, float32 for float16/bfloat16, the
        real component for complex input whose imaginary part is discarded, or int64 for
        an unsigned type the framework stores but cannot compute with (torch uint16/32).
    dst_work : str
        The dtype the policy produces before the final exact cast to ``dst`` (int64 for
        targets the framework cannot compute with).
    compute : str
        The float dtype UNIT and MINMAX arithmetic runs in (float64 unless the framework
        cannot hold it, as jax without 64-bit mode).
    lo, hi : float or int or None
        MINMAX only: the finite minimum and maximum of the input.
    """

    src: Kind
    dst: Kind
    scaling: str
    src_work: str
    dst_work: str
    compute: str
    lo: int | float | None = None
    hi: int | float | None = None


def xp_dtype(xp: Any, name: str) -> Any:
    """The namespace's dtype object called ``name`` (float16/bfloat16 are not in the
    standard but numpy, torch, jax and cupy all expose them under that name)."""
    found = getattr(xp, name, None)
    if found is None and name == "bfloat16":
        import ml_dtypes  # numpy's bfloat16; installed with jax and tensorflow

        return np.dtype(ml_dtypes.bfloat16)
    if found is None and name == "float16" and "dask" in getattr(xp, "__name__", ""):
        # array-api-compat's dask namespace leaves out float16, but dask arrays hold numpy
        # dtypes, float16 included.
        return np.dtype(np.float16)
    if found is None:
        msg = f"the array namespace {getattr(xp, '__name__', xp)!r} has no dtype {name}"
        raise TypeError(msg)
    return found


@functools.lru_cache(maxsize=64)
def float_bounds(fname: str, lo: int, hi: int) -> tuple[float, float]:
    """The smallest value of float type ``fname`` (float32 or float64) at or above ``lo``
    and the largest at or below ``hi``: exact, as Python compares floats with ints exactly."""
    ftype = np.float64 if fname == "float64" else np.float32
    up, down = ftype(math.inf), ftype(-math.inf)

    def below(v: int) -> float:
        f = ftype(float(v))  # nearest, possibly above v (or off by a step: double rounding)
        while float(f) > v:
            f = np.nextafter(f, down)
        while float(np.nextafter(f, up)) <= v:
            f = np.nextafter(f, up)
        return float(f)

    def above(v: int) -> float:
        f = ftype(float(v))
        while float(f) < v:
            f = np.nextafter(f, up)
        while float(np.nextafter(f, down)) >= v:
            f = np.nextafter(f, down)
        return float(f)

    return above(lo), below(hi)


def _scalar(xp: Any, value: int | float, dtype: str, like: Any) -> Any:
    """A 0-d array of ``dtype`` on ``like``'s device: exact even for 2**64-1, which a bare
    Python int in ``where`` is not for every namespace."""
    import array_api_compat

    return xp.asarray(value, dtype=xp_dtype(xp, dtype), device=array_api_compat.device(like))


def float_to_int(xp: Any, x: Any, fname: str, dst: Kind, dst_work: str) -> Any:
    """Round half to even, NaN to 0, clip to ``dst``'s range exactly: float ``x`` (of
    dtype ``fname``, float32 or float64) to integer dtype ``dst_work``."""
    lo_f, hi_f = float_bounds(fname, int(dst.lo), int(dst.hi))
    r = xp.round(x)
    r = xp.where(xp.isnan(r), _scalar(xp, 0.0, fname, x), r)  # a bare 0.0: standard 2024.12+
    r = xp.clip(r, lo_f, hi_f)
    y = xp.astype(r, xp_dtype(xp, dst_work))
    # The float nearest below the maximum may be far below it (float32: 2**32-256 for
    # uint32): values beyond it are set to the exact maximum in the integer domain.
    if hi_f < dst.hi:
        y = xp.where(x > hi_f, _scalar(xp, dst.hi, dst_work, x), y)
    if lo_f > dst.lo:
        y = xp.where(x < lo_f, _scalar(xp, dst.lo, dst_work, x), y)
    return y


def _clip_int(xp: Any, x: Any, work: str, lo: int, hi: int) -> Any:
    """Clip integers of dtype ``work`` to ``lo..hi`` with bounds of that same dtype: a bare
    Python int bound goes through float64 in some namespaces (array-api-compat's dask
    ``clip`` turns 2**63-1 into 2**63), which is not exact at 64 bits."""
    k = DTYPES[work]
    if lo > k.lo:
        x = xp.maximum(x, _scalar(xp, lo, work, x))
    if hi < k.hi:
        x = xp.minimum(x, _scalar(xp, hi, work, x))
    return x


def _float_value(xp: Any, x: Any, fname: str, dst: Kind) -> Any:
    """Float to float VALUE: exact when wider; narrower rounds to nearest and clips finite
    values beyond the target's range to its largest finite value (inf and NaN stay)."""
    if dst.hi >= DTYPES[fname].hi:
        return xp.astype(x, xp_dtype(xp, dst.name))
    c = xp.clip(x, float(dst.lo), float(dst.hi))
    c = xp.where(xp.isinf(x), x, c)
    return _narrow(xp, c, fname, dst.name)


#: The 16-bit float targets that frameworks reach from float64 through float32, rounding
#: twice (torch, jax and ml_dtypes' bfloat16 do; numpy's float16 does not).
_HALF_FLOATS = ("float16", "bfloat16")


def _narrow(xp: Any, x: Any, fname: str, dst: str) -> Any:
    """``x`` (dtype ``fname``) rounded to nearest-even into float ``dst``, once.

    float64 -> float16/bfloat16 goes through float32 in most frameworks: two roundings,
    which can differ from one (``1 + 2**-8 + 2**-30`` to bfloat16 gives 1.0, not
    1.0078125). Rounding to float32 *to odd* first keeps the information the second
    rounding needs (float32 has at least two more bits than either), so the result is
    the correctly rounded one."""
    if fname == "float64" and dst in _HALF_FLOATS:
        x = _float32_round_to_odd(xp, x)
    return xp.astype(x, xp_dtype(xp, dst))


def _sticky_float64(xp: Any, x: Any, work: str) -> Any:
    """64-bit integers as float64 without a rounding of their own: beyond 2**53 the bits
    below the top 31 are replaced by one "sticky" bit that is set when any of them was.
    Exact in float64 (at most 32 significant bits), and a later rounding to 24 bits or
    fewer sees the same value as it would see in ``x`` (the bits that decide it, and
    whether anything below them is non-zero). A plain conversion rounds to nearest at 53
    bits first and can turn a value just below a bfloat16 tie into the tie itself."""
    itype = xp_dtype(xp, work)
    low = int(DTYPES[work].lo)
    # The magnitude; the minimum of int64 (-2**63, exact in float64) is set aside.
    is_min = x == _scalar(xp, low, work, x) if low < 0 else None
    m = x if low == 0 else xp.where(is_min | (x >= 0), xp.where(is_min, 0 * x, x), -x)
    a = xp.abs(xp.astype(m, xp_dtype(xp, "float64")))
    top = xp.floor(xp.log2(xp.maximum(a, xp.ones_like(a))))  # no bare 1.0: standard 2023.12
    # Bits to drop: all but the top 31 (an estimate of the top bit one too high keeps 30).
    s = xp.astype(xp.clip(top - 30.0, 0.0, 62.0), itype)
    one = xp.ones_like(m)
    kept = xp.bitwise_left_shift(xp.bitwise_right_shift(m, s), s)
    sticky = xp.where(kept != m, one, 0 * one)
    below = xp.where(s > 0, s - 1, 0 * s)
    w = xp.bitwise_or(kept, xp.bitwise_left_shift(sticky, below))
    f = xp.astype(w, xp_dtype(xp, "float64"))
    if low == 0:
        return f
    f = xp.where(x < 0, -f, f)
    return xp.where(is_min, xp.full_like(f, float(low)), f)


def _float32_round_to_odd(xp: Any, x: Any) -> Any:
    """float64 ``x`` to float32, rounding inexact values to the neighbour whose last
    significand bit is 1 (round to odd); exact values, infinities and NaN as they are.

    Written with array API calls only (no bit view): the float32 at or below ``|x|`` in
    magnitude is ``t``; with ``gap`` the distance to the next float32 toward zero,
    ``t / gap`` is an exact integer whose parity is the last significand bit (at a power
    of two the gap below is half the one above, and the significand is even anyway)."""
    f32 = xp_dtype(xp, "float32")
    f = xp.astype(x, f32)
    back = xp.astype(f, xp_dtype(xp, "float64"))
    inexact = xp.isfinite(x) & (back != x)
    zero = xp.zeros_like(f)
    away = xp.where(x < 0, xp.full_like(f, -math.inf), xp.full_like(f, math.inf))
    # t: the float32 at or toward zero from x (RNE may have rounded away from zero).
    t = xp.where(xp.abs(back) > xp.abs(x), xp.nextafter(f, zero), f)
    t = xp.where(xp.isfinite(t), t, zero)  # inf, NaN: exact, unused here (and no warnings)
    gap = xp.abs(t - xp.nextafter(t, zero))
    units = xp.abs(t) / xp.where(gap == 0.0, xp.ones_like(gap), gap)
    even = units % 2.0 == 0.0  # 0 included (an operator: a Python float is standard there)
    # Stepping away from an even t never overflows: the largest float32 is odd.
    step = xp.nextafter(xp.where(even, t, zero), away)
    return xp.where(inexact, xp.where(even, step, t), f)


def _value(xp: Any, x: Any, p: Plan, work: str) -> Any:
    """VALUE scaling of ``x`` (dtype ``work``, meaning ``p.src``) to ``p.dst_work``."""
    s, d = p.src, p.dst
    wk = DTYPES[work].kind
    if d.kind == "c":
        part = DTYPES[d.component]
        y = (
            x
            if wk == "b"
            else _value(xp, x, dataclasses.replace(p, dst=part, dst_work=part.name), work)
        )
        return xp.astype(y, xp_dtype(xp, d.name))
    if d.kind == "b":
        if wk == "b":
            return x
        # bool is the integer range 0..1: round half to even, clip; NaN is 0 (False).
        return (xp.round(x) if wk == "f" else x) >= 1
    if d.kind in "ui":
        if wk == "b":
            return xp.astype(x, xp_dtype(xp, p.dst_work))
        if wk in "ui":
            # Clip in the integer domain, never through a float: exact at every width.
            x = _clip_int(xp, x, work, max(int(s.lo), int(d.lo)), min(int(s.hi), int(d.hi)))
            return xp.astype(x, xp_dtype(xp, p.dst_work))
        return float_to_int(xp, x, work, d, p.dst_work)
    # Float target.
    if wk in "ui":  # e.g. int32 into float16 (max 65504)
        x = _clip_int(
            xp, x, work, max(int(s.lo), math.ceil(d.lo)), min(int(s.hi), math.floor(d.hi))
        )
    if wk in "bui":
        if d.name == "bfloat16" and DTYPES[work].bits > 16:
            # Through float64 and one rounding (see _narrow); 64-bit integers first lose
            # only bits that cannot change that rounding (see _sticky_float64).
            wide = _sticky_float64(xp, x, work) if DTYPES[work].bits == 64 else None
            f = wide if wide is not None else xp.astype(x, xp_dtype(xp, "float64"))
            return _narrow(xp, f, "float64", d.name)
        return xp.astype(x, xp_dtype(xp, d.name))
    return _float_value(xp, x, work, d)


def _to_unit(xp: Any, x: Any, p: Plan, work: str) -> Any:
    """The input as floats of ``p.compute``: UNIT maps integers to [0, 1] (unsigned) or
    [-1, 1] (signed, ``x / max`` with the minimum clipped to -1); MINMAX maps the finite
    ``lo..hi`` to [0, 1]."""
    compute = xp_dtype(xp, p.compute)
    if p.scaling == "minmax" and DTYPES[work].kind in "ui":
        first, span = int(p.lo), int(p.hi) - int(p.lo)  # type: ignore[arg-type]
        if span <= DTYPES[work].hi:
            # Subtract in the integers, exactly: in floats, int64 values that differ only
            # beyond float64's 53 bits (int32 beyond float32's 24) round to one value, and
            # their stretch cancels to 0 / 0 (ADR 0011).
            return xp.astype(x - _scalar(xp, first, work, x), compute) / float(span)
    u = xp.astype(x, compute)
    if p.scaling == "unit":
        if DTYPES[work].kind in "ui" and p.src.hi != 1:
            u = u / float(p.src.hi)
            if p.src.kind == "i":
                u = xp.clip(u, -1.0, None)
        return u
    lo, hi = float(p.lo), float(p.hi)  # type: ignore[arg-type]
    if hi - lo > _HUGE_SPAN:
        # Scale both sides by 2**-64 (exact) first: in float32, hi - lo can overflow to inf,
        # and XLA divides by multiplying with the reciprocal, which flushes 1 / 1e38 to 0.
        return (u * _SPAN_SCALE - lo * _SPAN_SCALE) / (hi * _SPAN_SCALE - lo * _SPAN_SCALE)
    return (u - lo) / (hi - lo)


# Significand bits of the float dtypes UNIT and MINMAX arithmetic runs in (Plan.compute).
_MANTISSA = {"float64": 53, "float32": 24}
_HUGE_SPAN = 2.0**100
_SPAN_SCALE = 2.0**-64


def prepare(xp: Any, x: Any, p: Plan) -> Any:
    """``x`` in the dtype the policy computes with (``p.src_work``): the real part of
    discarded complex input, float16/bfloat16 widened to float32, storage-only unsigned
    types widened to int64. Every step is exact."""
    if p.src.kind == "c" and DTYPES[p.src_work].kind != "c":
        x = xp.real(x)  # the caller checked discard_imaginary
    if p.src_work not in (p.src.name, p.src.component):
        x = xp.astype(x, xp_dtype(xp, p.src_work))
    return x


def convert_block(xp: Any, x: Any, p: Plan) -> Any:
    """Convert ``x`` (a whole array, or one chunk of it) by plan ``p``, in namespace ``xp``.

    For MINMAX, ``p.lo < p.hi`` must already be set (a constant or non-finite input is
    converted with VALUE instead, decided by the caller).
    """
    x = prepare(xp, x, p)
    work = p.src_work
    if DTYPES[work].kind == "c":  # complex to complex, imaginary part kept
        y = xp.astype(x, xp_dtype(xp, p.dst.name))  # the caller refused overflowing narrowing
    elif p.scaling == "value" or (
        p.scaling == "unit" and DTYPES[work].kind == "f" and p.dst.kind == "f"
    ):
        y = _value(xp, x, p, work)
    else:
        u = _to_unit(xp, x, p, work)
        d = p.dst
        if d.kind in "fc":
            if p.scaling == "minmax":  # infinities to the ends of [0, 1]; NaN stays
                u = xp.where(xp.isnan(u), u, xp.clip(u, 0.0, 1.0))
            y = _value(xp, u, dataclasses.replace(p, scaling="value"), p.compute)
        else:
            scale = float(d.hi) if p.scaling == "unit" else float(d.hi) - float(d.lo)
            if p.scaling == "unit":
                # Beyond +-1 every value clips to an end of the range anyway; bounded, the
                # product stays finite (1.7e308 * 255 overflowed, with a RuntimeWarning).
                u = xp.clip(u, -2.0, 2.0)
            v = u * scale
            if p.scaling == "minmax" and d.lo != 0:
                v = v + float(d.lo)
            y = _value(xp, v, dataclasses.replace(p, scaling="value"), p.compute)
            if p.scaling == "unit" and d.kind == "i" and d.bits > _MANTISSA[p.compute]:
                # -1 maps to -max (symmetric), but -float(2**63 - 1) rounds to -2**63, the
                # minimum (in float32 arithmetic -float(2**31 - 1) does); only inputs below
                # -1 reach the minimum, as at every other width.
                low = _scalar(xp, int(d.lo), p.dst_work, y)
                y = xp.where((u >= -1.0) & (y == low), low + 1, y)
    if p.dst_work != p.dst.name:
        y = xp.astype(y, xp_dtype(xp, p.dst.name))  # values already in range: exact
    return y


def finite_range(xp: Any, x: Any, kind: str) -> tuple[int | float, int | float] | None:
    """The finite minimum and maximum of ``x`` (None when it has no finite value)."""
    if kind in "bui":
        if kind == "b":
            x = xp.astype(x, xp.uint8)
        return int(xp.min(x)), int(xp.max(x))
    finite = xp.isfinite(x)
    if not bool(xp.any(finite)):
        return None
    # 0-d fills of x's dtype, not Python floats (in where only from the 2024.12 standard).
    import array_api_compat

    device = array_api_compat.device(x)
    lo = xp.min(xp.where(finite, x, xp.asarray(math.inf, dtype=x.dtype, device=device)))
    hi = xp.max(xp.where(finite, x, xp.asarray(-math.inf, dtype=x.dtype, device=device)))
    return float(lo), float(hi)
