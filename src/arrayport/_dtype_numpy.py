"""The dtype policy on numpy, chunk by chunk into a preallocated output.

:func:`convert_numpy` runs :func:`arrayport._dtype_policy.convert_block` on cache-sized
chunks, which keeps the extra memory at the size of the output; the hottest case, float to
integer with VALUE scaling, has a numpy kernel with ``out=`` arguments that the tests hold
equal to the array API policy (docs/decisions/0013).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport._dtype_policy import Plan, convert_block, finite_range, float_bounds
from arrayport._host import aligned_empty

__all__ = ["CHUNK", "convert_numpy", "numpy_finite_range"]

#: Elements per chunk on the numpy path: 256 Ki float32 (1 MiB) stays in a core's L2
#: cache here; measured fastest among 32, 64, 128 and 256 Ki (fewer Python-level calls).
CHUNK = 1 << 18


def _chunks(x: np.ndarray, out: np.ndarray) -> Any:
    """Matching chunks of at most CHUNK elements of ``x`` and ``out`` (views for contiguous
    arrays; nditer's small buffers for any other layout)."""
    return np.nditer(
        [x, out],
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=[["readonly"], ["writeonly"]],
        buffersize=CHUNK,
        order="C",
    )


def numpy_finite_range(x: np.ndarray, kind: str) -> tuple[int | float, int | float] | None:
    """:func:`finite_range` chunk by chunk: no full-size temporaries."""
    import array_api_compat.numpy as xp

    flat = x.reshape(-1) if x.flags.c_contiguous else None
    los: list[int | float] = []
    his: list[int | float] = []
    parts: Any
    if flat is None:
        parts = np.nditer(x, flags=["external_loop", "buffered", "zerosize_ok"], buffersize=CHUNK)
    else:
        parts = (flat[i : i + CHUNK] for i in range(0, flat.size, CHUNK))
    for c in parts:
        found = finite_range(xp, c, kind)
        if found is not None:
            los.append(found[0])
            his.append(found[1])
    return (min(los), max(his)) if los else None


def _numpy_float_to_int(
    c: np.ndarray, o: np.ndarray, p: Plan, buf: np.ndarray, mask: np.ndarray
) -> None:
    """:func:`float_to_int` for one numpy chunk, in place: the same steps with ``out=``
    (np.clip, np.rint and a NaN test are 2-4x faster than the allocating array API calls,
    and this is the benchmarked path). Held equal to the array API policy by the tests."""
    n = c.shape[0]
    b, m = buf[:n], mask[:n]
    lo_f, hi_f = float_bounds(p.src_work, int(p.dst.lo), int(p.dst.hi))
    np.rint(c, out=b)  # round half to even
    np.clip(b, lo_f, hi_f, out=b)  # NaN passes through clip...
    if np.isnan(np.minimum.reduce(b)):  # cheaper than a mask where there is no NaN
        np.isnan(b, out=m)
        np.copyto(b, 0, where=m)  # ...and becomes 0 here
    np.copyto(o, b, casting="unsafe")  # integral and in range: exact
    if hi_f < p.dst.hi:
        np.greater(c, hi_f, out=m)
        np.copyto(o, np.asarray(p.dst.hi, dtype=o.dtype), where=m)
    if lo_f > p.dst.lo:
        np.less(c, lo_f, out=m)
        np.copyto(o, np.asarray(p.dst.lo, dtype=o.dtype), where=m)


def convert_numpy(x: np.ndarray, p: Plan, out_dtype: np.dtype[Any]) -> np.ndarray:
    """Convert a numpy array chunk by chunk into a fresh 64-byte aligned output.

    Extra memory beyond the output: a few chunk-sized temporaries (under 2 MiB).
    """
    import array_api_compat.numpy as xp

    out = aligned_empty(tuple(x.shape), out_dtype)
    if x.size == 0:
        return out
    fast = (
        p.scaling == "value"
        and p.src.name in ("float32", "float64")  # float16 chunks would compare in float16
        and p.dst.kind in "ui"
        and p.dst_work == p.dst.name
    )
    if x.flags.c_contiguous:
        flat_x, flat_o = x.reshape(-1), out.reshape(-1)
        pairs: Any = (
            (flat_x[i : i + CHUNK], flat_o[i : i + CHUNK]) for i in range(0, x.size, CHUNK)
        )
        it = None
    else:
        it = _chunks(x, out)
        pairs = it
    buf = np.empty(CHUNK, dtype=p.src_work) if fast else None
    mask = np.empty(CHUNK, dtype=bool) if fast else None
    try:
        for c, o in pairs:
            if fast:
                _numpy_float_to_int(c, o, p, buf, mask)  # type: ignore[arg-type]
            else:
                o[...] = convert_block(xp, c, p)
    finally:
        if it is not None:
            it.close()  # flushes nditer's last output buffer
    return out
