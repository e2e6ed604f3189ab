"""Helpers shared by the laws: comparing arrays exactly, writability, dtype tables."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
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


#: How each memory type's arrays say whether they can be written in place through their
#: own framework, from the frameworks' documented behaviour (not from arrayport). A memory
#: type missing here fails the law that asks (:func:`is_writable`), rather than passing as
#: read-only: a read-only law would then never see a writable alias of it.
_WRITABILITY: dict[MemoryType, Callable[[Any], bool]] = {
    MemoryType.NUMPY: lambda x: bool(x.flags.writeable),
    # torch has no read-only tensors (torch.from_numpy of a read-only array warns and
    # gives a writable one); cupy arrays and pyclesperanto's OpenCL buffers neither.
    MemoryType.TORCH: lambda x: True,
    MemoryType.CUPY: lambda x: True,
    MemoryType.PYCLESPERANTO: lambda x: True,
    # Immutable: no in-place update (x[0] = 0 raises; x += 1 makes a new array).
    MemoryType.JAX: lambda x: False,
    MemoryType.TENSORFLOW: lambda x: False,
    # A graph: x[0] = 0 gives the dask array a new graph, never writes the chunks it reads.
    MemoryType.DASK: lambda x: False,
}


def is_writable(x: Any) -> bool:
    """Whether ``x`` can be written in place through its own framework (see
    :data:`_WRITABILITY`); an AssertionError for a memory type the table does not know."""
    mt = detect_memory_type(x)
    reads = _WRITABILITY.get(mt)
    assert reads is not None, (
        f"is_writable does not know whether {mt.value} arrays can be written in place: "
        "add the memory type to conformance._support._WRITABILITY"
    )
    return reads(x)


def device_name(x: Any) -> str:
    """The device ``x`` is on, read through its framework's own attributes (not arrayport's
    ``device_of``), spelt as arrayport spells devices: ``cpu``, ``cuda:N``, ``opencl:N``.
    An AssertionError for a memory type it has no reader for."""
    if isinstance(x, np.ndarray):
        return "cpu"
    mt = detect_memory_type(x)
    if mt is MemoryType.TORCH:
        return "cpu" if x.device.type == "cpu" else f"{x.device.type}:{x.device.index or 0}"
    if mt is MemoryType.CUPY:
        return f"cuda:{x.device.id}"
    if mt is MemoryType.JAX:
        (d,) = x.devices()
        return "cpu" if d.platform == "cpu" else f"cuda:{d.id}"
    if mt is MemoryType.TENSORFLOW:  # "/job:localhost/replica:0/task:0/device:GPU:1"
        kind, _, index = x.device.rpartition("/device:")[2].partition(":")
        return "cpu" if kind.upper() == "CPU" else f"cuda:{index}"
    if mt is MemoryType.PYCLESPERANTO:  # pyclesperanto's own device list, by name
        cle = sys.modules["pyclesperanto"]
        names = list(cle.list_available_devices())
        if names.count(x.device.name) == 1:
            return f"opencl:{names.index(x.device.name)}"
        # Devices sharing a name (two identical GPUs): pyclesperanto keeps one object per
        # device, handed out by selecting it; x's is found by identity, the current put back.
        current = cle.get_device()
        found = [cle.select_device(i) for i in range(len(names))]
        cle.select_device(next((i for i, d in enumerate(found) if d is current), current.name))
        index = next((i for i, d in enumerate(found) if d is x.device), None)
        assert index is not None, f"{x.device!r} is none of pyclesperanto's devices {names}"
        return f"opencl:{index}"
    if mt is MemoryType.DASK:  # its meta array's device: what arrayport reads too
        return device_name(x._meta)
    msg = f"device_name has no reader for {mt.value}: add one in conformance._support"
    raise AssertionError(msg)


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


def _rounding_interval(r: float, dtype: np.dtype[Any]) -> tuple[Fraction, Fraction]:
    """The exact values that round to the finite float ``r`` of ``dtype``: from the
    half-way point to its neighbour below to the one to its neighbour above. Past the
    largest finite value the neighbour is inf: the gap on the other side, mirrored, stands
    in for it (65500 -> float16 is 65504, its largest finite value)."""
    t = dtype.type
    here = Fraction(r)
    with np.errstate(over="ignore"):  # the neighbour of the largest finite value is inf
        down = float(np.nextafter(t(r), t(-np.inf)))
        up = float(np.nextafter(t(r), t(np.inf)))
    # Only one neighbour can be infinite (r is finite): mirror the other one's gap.
    below = Fraction(down) if math.isfinite(down) else here - (Fraction(up) - here)
    above = Fraction(up) if math.isfinite(up) else here + (here - below)
    return (below + here) / 2, (here + above) / 2


def nearest_ok(v: Any, r: float, dtype: np.dtype[Any]) -> bool:
    """Whether float ``r`` of ``dtype`` is a correctly rounded (or clipped) image of ``v``.

    A float zero keeps its sign (-0.0 -> -0.0): every float type represents it, and VALUE
    keeps representable values (so does UNIT between float types, which is VALUE).
    ``Fraction(-0.0) == 0``, so the rounding test alone would take +0.0 for it. Only
    MINMAX maps -0.0 to +0.0 (the bottom of [0, 1]); its oracle is ``minmax_float_ok``."""
    if isinstance(v, float) and math.isnan(v):
        return math.isnan(r)
    if isinstance(v, float) and math.isinf(v):
        return r == v
    if isinstance(v, float) and v == 0.0:
        return r == 0.0 and math.copysign(1.0, r) == math.copysign(1.0, v)
    return near_ok(Fraction(v), Fraction(v), r, dtype)


def near_ok(low: Fraction, high: Fraction, r: float, dtype: np.dtype[Any]) -> bool:
    """Whether float ``r`` of ``dtype`` is the rounded (or clipped) image of some exact
    value in ``low..high``: a computation in float64 may land anywhere in that interval."""
    if not math.isfinite(r):
        return False  # a finite value never becomes inf or NaN
    top = Fraction(float(np.finfo(dtype).max))
    if low >= top or high <= -top:
        return r == (top if low >= top else -top)
    start, end = _rounding_interval(r, dtype)
    # Finite values beyond the largest finite value clip to it, however far beyond.
    return (r == -top or start <= high) and (r == top or low <= end)


def round_even(v: Fraction) -> int:
    """``v`` rounded half to even, exactly."""
    return round(v)


def ints_ok(low: Fraction, high: Fraction, r: int, lo: int, hi: int) -> bool:
    """Whether integer ``r`` is the rounded (half to even), clipped image of some exact
    value in ``low..high`` (rounding and clipping are monotone: the ends bound it)."""
    first = min(max(round_even(low), lo), hi)
    last = min(max(round_even(high), lo), hi)
    return first <= r <= last


#: How far from the exact value float64 arithmetic may put a UNIT or MINMAX result, as a
#: fraction of the target's range (docs/concepts.md: "within about 2**-50 of the target's
#: range of a half-way point"; 64-bit integers "within 2**-50 of the range").
SLACK = Fraction(1, 2**50)


def unit_int_ok(v: float, r: int, lo: int, hi: int) -> bool:
    """Scaling.UNIT of float ``v`` into the integer range lo..hi (ADR 0011): NaN -> 0,
    +-inf -> the ends, else ``v * max`` rounded half to even and clipped to the range (so a
    signed target maps [-1, 1] onto -max..max, and only values below -1 reach the minimum).
    Exact in Python arithmetic, with float64's slack."""
    if math.isnan(v):
        return r == 0
    if math.isinf(v):
        return r == (hi if v > 0 else lo)
    exact = Fraction(v) * hi
    slack = (hi - lo) * SLACK
    return ints_ok(exact - slack, exact + slack, r, lo, hi)


def unit_between_ints_ok(v: int, src_hi: int, r: int, lo: int, hi: int) -> bool:
    """Scaling.UNIT from an integer type (top ``src_hi``) into another, lo..hi (ADR 0011):
    through the unit value ``v / src_hi`` (a signed source's minimum reads as -1), times
    the target's maximum, rounded half to even and clipped: uint8 255 -> uint16 65535,
    every uint8 ``x`` -> ``x * 257`` exactly. Exact in Python arithmetic, with float64's
    slack."""
    exact = max(Fraction(v, src_hi), Fraction(-1)) * hi
    slack = (hi - lo) * SLACK
    return ints_ok(exact - slack, exact + slack, r, lo, hi)


def minmax_int_ok(v: float, vmin: float, vmax: float, r: int, lo: int, hi: int) -> bool:
    """Scaling.MINMAX of ``v`` (finite range vmin < vmax) into lo..hi (ADR 0011): the exact
    stretch rounded half to even, within float64's slack; NaN -> 0, +-inf -> the ends."""
    if math.isnan(v):
        return r == 0
    if math.isinf(v):
        return r == (hi if v > 0 else lo)
    u = (Fraction(v) - Fraction(vmin)) / (Fraction(vmax) - Fraction(vmin))
    exact = lo + u * (hi - lo)
    slack = (hi - lo) * SLACK
    return ints_ok(exact - slack, exact + slack, r, lo, hi)


def minmax_float_ok(v: float, vmin: float, vmax: float, r: float, dtype: np.dtype[Any]) -> bool:
    """Scaling.MINMAX of ``v`` into a float dtype: the exact stretch onto [0, 1], rounded
    to nearest within float64's slack; NaN stays NaN, +inf -> 1 and -inf -> 0 (ADR 0011)."""
    if math.isnan(v):
        return math.isnan(r)
    if math.isinf(v):
        return r == (1.0 if v > 0 else 0.0)
    u = (Fraction(v) - Fraction(vmin)) / (Fraction(vmax) - Fraction(vmin))
    return near_ok(u - SLACK, u + SLACK, r, dtype)
