"""The exact roundings the dtype policy (:mod:`arrayport._dtype_policy`) needs where float
types end or run out of bits.

Exactness at the integer extremes: a float cannot always hold an integer type's maximum
(float32 holds no 2**32-1, float64 no 2**63-1), so clipping happens at the largest float
not above it (:func:`float_bounds`) and the values beyond it are then set to the exact
maximum in the integer domain (:func:`float_to_int`; see docs/decisions/0010).

One rounding into 16-bit floats (docs/decisions/0056): float64 goes to float16/bfloat16
through float32 rounded to odd (:func:`narrow`), and 64-bit integers reach float64 with a
sticky bit instead of a rounding of their own (:func:`sticky_float64`).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from arrayport._dtype_kinds import DTYPES, Kind, scalar, xp_dtype

__all__ = ["float_bounds", "float_to_int", "float_value", "narrow", "sticky_float64"]


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


def float_to_int(xp: Any, x: Any, fname: str, dst: Kind, dst_work: str) -> Any:
    """Round half to even, NaN to 0, clip to ``dst``'s range exactly: float ``x`` (of
    dtype ``fname``, float32 or float64) to integer dtype ``dst_work``."""
    lo_f, hi_f = float_bounds(fname, int(dst.lo), int(dst.hi))
    r = xp.round(x)
    r = xp.where(xp.isnan(r), scalar(xp, 0.0, fname, x), r)  # a bare 0.0: standard 2024.12+
    r = xp.clip(r, lo_f, hi_f)
    y = xp.astype(r, xp_dtype(xp, dst_work))
    # The float nearest below the maximum may be far below it (float32: 2**32-256 for
    # uint32): values beyond it are set to the exact maximum in the integer domain.
    if hi_f < dst.hi:
        y = xp.where(x > hi_f, scalar(xp, dst.hi, dst_work, x), y)
    if lo_f > dst.lo:
        y = xp.where(x < lo_f, scalar(xp, dst.lo, dst_work, x), y)
    return y


def float_value(xp: Any, x: Any, fname: str, dst: Kind) -> Any:
    """Float to float VALUE: exact when wider; narrower rounds to nearest and clips finite
    values beyond the target's range to its largest finite value (inf and NaN stay)."""
    if dst.hi >= DTYPES[fname].hi:
        return xp.astype(x, xp_dtype(xp, dst.name))
    c = xp.clip(x, float(dst.lo), float(dst.hi))
    c = xp.where(xp.isinf(x), x, c)
    return narrow(xp, c, fname, dst.name)


#: The 16-bit float targets that frameworks reach from float64 through float32, rounding
#: twice (torch, jax and ml_dtypes' bfloat16 do; numpy's float16 does not).
_HALF_FLOATS = ("float16", "bfloat16")


def narrow(xp: Any, x: Any, fname: str, dst: str) -> Any:
    """``x`` (dtype ``fname``) rounded to nearest-even into float ``dst``, once.

    float64 -> float16/bfloat16 goes through float32 in most frameworks: two roundings,
    which can differ from one (``1 + 2**-8 + 2**-30`` to bfloat16 gives 1.0, not
    1.0078125). Rounding to float32 *to odd* first keeps the information the second
    rounding needs (float32 has at least two more bits than either), so the result is
    the correctly rounded one."""
    if fname == "float64" and dst in _HALF_FLOATS:
        x = _float32_round_to_odd(xp, x)
    return xp.astype(x, xp_dtype(xp, dst))


def sticky_float64(xp: Any, x: Any, work: str) -> Any:
    """64-bit integers as float64 without a rounding of their own: beyond 2**53 the bits
    below the top 31 are replaced by one "sticky" bit that is set when any of them was.
    Exact in float64 (at most 32 significant bits), and a later rounding to 24 bits or
    fewer sees the same value as it would see in ``x`` (the bits that decide it, and
    whether anything below them is non-zero). A plain conversion rounds to nearest at 53
    bits first and can turn a value just below a bfloat16 tie into the tie itself."""
    itype = xp_dtype(xp, work)
    low = int(DTYPES[work].lo)
    # The magnitude; the minimum of int64 (-2**63, exact in float64) is set aside.
    is_min = x == scalar(xp, low, work, x) if low < 0 else None
    m = x if low == 0 else xp.where(is_min | (x >= 0), xp.where(is_min, 0 * x, x), -x)
    a = xp.abs(xp.astype(m, xp_dtype(xp, "float64")))
    top = xp.floor(xp.log2(xp.maximum(a, xp.ones_like(a))))  # no bare 1.0: standard 2023.12
    # Bits to drop: all but the top 31 (an estimate of the top bit one too high keeps 30).
    s = xp.astype(xp.clip(top - 30.0, 0.0, 62.0), itype)
    one = xp.ones_like(m)
    kept = xp.bitwise_left_shift(xp.bitwise_right_shift(m, s), s)
    sticky = xp.where(kept != m, one, 0 * one)
    # max(s, 1) - 1: s - 1 for s == 0 would wrap in uint64 (a numpy overflow warning on
    # 0-d dask blocks, which are scalars), however where() then threw it away.
    below = xp.maximum(s, xp.ones_like(s)) - xp.ones_like(s)
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
