"""The dtype conversion policy, written once against the array API.

:func:`convert_block` maps one array (or one chunk of it) to the target dtype with calls
every array API namespace has (``round``, ``clip``, ``where``, ``astype``, ...), so numpy,
cupy, torch and jax share one implementation. numpy runs it chunk by chunk into a
preallocated output (:mod:`arrayport._dtype_numpy`).

What the policy knows about each dtype (:data:`DTYPES`, :class:`Kind`) is
:mod:`arrayport._dtype_kinds`; the exact roundings at the ends of the float types (integer
extremes, one rounding into 16-bit floats) are :mod:`arrayport._dtype_rounding`. Both are
re-exported here, where the rest of arrayport reads them.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from arrayport._dtype_kinds import DTYPES as DTYPES
from arrayport._dtype_kinds import Kind as Kind
from arrayport._dtype_kinds import scalar
from arrayport._dtype_kinds import xp_dtype as xp_dtype
from arrayport._dtype_rounding import float_bounds as float_bounds
from arrayport._dtype_rounding import float_to_int as float_to_int
from arrayport._dtype_rounding import float_value, narrow, sticky_float64

__all__ = [
    "DTYPES",
    "Kind",
    "Plan",
    "convert_block",
    "finite_range",
    "float_bounds",
    "prepare",
    "rounded_in_float64",
]


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


def _clip_int(xp: Any, x: Any, work: str, lo: int, hi: int) -> Any:
    """Clip integers of dtype ``work`` to ``lo..hi`` with bounds of that same dtype: a bare
    Python int bound goes through float64 in some namespaces (array-api-compat's dask
    ``clip`` turns 2**63-1 into 2**63), which is not exact at 64 bits."""
    k = DTYPES[work]
    if lo > k.lo:
        x = xp.maximum(x, scalar(xp, lo, work, x))
    if hi < k.hi:
        x = xp.minimum(x, scalar(xp, hi, work, x))
    return x


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
        if wk == "b":  # MINMAX of bool into bool (VALUE and UNIT return x before this)
            return xp.asarray(x, copy=True)  # a new array, as every other conversion
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
            # Through float64 and one rounding (see narrow); 64-bit integers first lose
            # only bits that cannot change that rounding (see sticky_float64).
            wide = sticky_float64(xp, x, work) if DTYPES[work].bits == 64 else None
            f = wide if wide is not None else xp.astype(x, xp_dtype(xp, "float64"))
            return narrow(xp, f, "float64", d.name)
        return xp.astype(x, xp_dtype(xp, d.name))
    return float_value(xp, x, work, d)


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
            return xp.astype(x - scalar(xp, first, work, x), compute) / float(span)
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
                # + 0.0: -0.0 (x - lo with x = -0.0, lo = +0.0) becomes +0.0, the same in
                # every framework whichever zero its min picked as the lower bound.
                u = xp.where(xp.isnan(u), u, xp.clip(u, 0.0, 1.0) + 0.0)
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
                low = scalar(xp, int(d.lo), p.dst_work, y)
                y = xp.where((u >= -1.0) & (y == low), low + 1, y)
    if p.dst_work != p.dst.name:
        y = xp.astype(y, xp_dtype(xp, p.dst.name))  # values already in range: exact
    return y


def finite_range(
    xp: Any, x: Any, kind: str, lazy: bool = False
) -> tuple[int | float, int | float] | None:
    """The finite minimum and maximum of ``x`` (None when it has no finite value).

    ``lazy`` (a dask array): the reductions are evaluated together in one ``dask.compute``,
    one pass over ``x``'s graph, not one pass each (numpy, torch, jax read each on its own).
    """
    if kind in "bui":
        if kind == "b":
            x = xp.astype(x, xp.uint8)
        if lazy:
            ilo, ihi = _compute_together(xp.min(x), xp.max(x))
            return int(ilo), int(ihi)
        return int(xp.min(x)), int(xp.max(x))
    finite = xp.isfinite(x)
    if not lazy and not bool(xp.any(finite)):
        return None
    # 0-d fills of x's dtype, not Python floats (in where only from the 2024.12 standard).
    import array_api_compat

    device = array_api_compat.device(x)
    lo = xp.min(xp.where(finite, x, xp.asarray(math.inf, dtype=x.dtype, device=device)))
    hi = xp.max(xp.where(finite, x, xp.asarray(-math.inf, dtype=x.dtype, device=device)))
    if lazy:
        any_finite, lo, hi = _compute_together(xp.any(finite), lo, hi)
        if not bool(any_finite):
            return None
    return float(lo), float(hi)


def _compute_together(*arrays: Any) -> tuple[Any, ...]:
    """dask arrays evaluated in one compute: one pass over the graph they share."""
    from dask.base import compute

    return tuple(compute(*arrays))  # type: ignore[no-untyped-call]


def rounded_in_float64(p: Plan, dst: Kind) -> bool:
    """Whether the VALUE conversion rounds through float64 (32-bit integers into bfloat16,
    once: ADR 0056), which a framework computing in float32 would round twice."""
    work = DTYPES[p.src_work]
    return dst.name == "bfloat16" and work.kind in "ui" and work.bits > 16
