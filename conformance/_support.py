"""Helpers shared by the laws: comparing arrays exactly, writability, dtype tables."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from arrayport.backends import detect_memory_type
from arrayport.memory_types import MemoryType
from arrayport.testing import as_numpy, dtypes_for
from arrayport.testing.strategies import ALL_DTYPES


def native(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """``dtype`` in native byte order (a big-endian source comes back native)."""
    return dtype if dtype.isnative else dtype.newbyteorder("=")


def common_dtypes(*mts: MemoryType) -> list[str]:
    """The dtypes every one of ``mts`` holds exactly."""
    return [d for d in ALL_DTYPES if all(d in dtypes_for(mt) for mt in mts)]


def assert_identical(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Same dtype (up to byte order), shape and values: NaN where NaN, -0.0 where -0.0."""
    assert native(got.dtype) == native(want.dtype), f"{what}: dtype {got.dtype} != {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype.kind in "fc":
        # Part by part: numpy's equal_nan takes two complex values with a NaN in any part
        # as equal, whatever the other part holds and wherever the NaN is.
        parts = (np.real, np.imag) if want.dtype.kind == "c" else (np.asarray,)
        for part in parts:
            g, w = part(got), part(want)
            assert np.array_equal(g, w, equal_nan=True), f"{what}: values differ\n{got!r}\n{want!r}"
            same_sign = np.signbit(g) == np.signbit(w)
            assert np.all(same_sign | np.isnan(w)), (
                f"{what}: signs of zeros differ\n{got!r}\n{want!r}"
            )
    else:
        assert np.array_equal(got, want), f"{what}: values differ\n{got!r}\n{want!r}"


def snapshot(x: Any) -> np.ndarray:
    """A private copy of ``x``'s values, read with the framework's own calls."""
    return np.array(as_numpy(x), copy=True)


def is_writable(x: Any) -> bool:
    """Whether ``x`` can be written in place through its own framework."""
    if isinstance(x, np.ndarray):
        return bool(x.flags.writeable)
    return detect_memory_type(x) in (MemoryType.TORCH, MemoryType.CUPY, MemoryType.PYCLESPERANTO)


def size_of(x: Any) -> int:
    return int(np.prod(tuple(x.shape), dtype=np.int64))


# Exact references for the dtype policy's VALUE scaling, in Python arithmetic: written
# apart from arrayport's own code, for the dtype and dispatch laws (ADR 0035).


def int_range(dtype: np.dtype[Any]) -> tuple[int, int]:
    """The values of an integer (or bool) dtype."""
    if dtype.kind == "b":
        return 0, 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def value_int(v: Any, lo: int, hi: int) -> int:
    """VALUE into an integer range, exactly: NaN -> 0, round half to even, clip."""
    if isinstance(v, float):
        if math.isnan(v):
            return 0
        if math.isinf(v):
            return hi if v > 0 else lo
        v = round(v)  # Python rounds floats half to even, exactly
    return min(max(int(v), lo), hi)


def nearest_ok(v: Any, r: float, dtype: np.dtype[Any]) -> bool:
    """Whether float ``r`` of ``dtype`` is a correctly rounded (or clipped) image of ``v``."""
    if isinstance(v, float) and math.isnan(v):
        return math.isnan(r)
    if isinstance(v, float) and math.isinf(v):
        return r == v
    if not math.isfinite(r):
        return False  # a finite value never becomes inf or NaN
    top = float(np.finfo(dtype).max)
    exact = Fraction(v)
    if exact >= top:
        return r == top
    if exact <= -top:
        return r == -top
    t = dtype.type
    below = Fraction(float(np.nextafter(t(r), t(-np.inf))))
    above = Fraction(float(np.nextafter(t(r), t(np.inf))))
    here = Fraction(r)
    return (below + here) / 2 <= exact <= (here + above) / 2
