"""The dtype policy on numpy, chunk by chunk into a preallocated output.

:func:`convert_numpy` runs :func:`arrayport._dtype_policy.convert_block` on cache-sized
chunks, which keeps the extra memory at the size of the output; the hottest case, float to
integer with VALUE scaling, has numpy kernels with ``out=`` arguments that the tests hold
equal to the array API policy (docs/decisions/0013 and 0050).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport._dtype_policy import Plan, convert_block, finite_range, float_bounds
from arrayport._host import aligned_empty

__all__ = ["CHUNK", "NAN_RUN", "convert_numpy", "numpy_finite_range"]

#: Elements per chunk on the numpy path: 256 Ki float32 (1 MiB). 64 and 128 Ki measured
#: slower (more Python-level calls); 512 Ki and 1 Mi within the noise of 256 Ki (a few
#: percent) for 2-4x the scratch memory.
CHUNK = 1 << 18


def _find_clip() -> Any:
    """numpy's ``clip`` ufunc itself: np.clip reaches it through three Python-level calls
    that cost 2-5 us per call, about 0.1x a memcpy over the 2-3 clips of each of 256 chunks.
    np.clip with a bound at the dtype's own limit calls the slower minimum/maximum instead:
    the ufunc does exactly what np.clip does for the two-sided bounds used here."""
    core = getattr(np, "_core", None)  # numpy 2; numpy 1.26 names it np.core
    umath = getattr(core if core is not None else np.core, "umath", None)
    return getattr(umath, "clip", np.clip)


_clip = _find_clip()

#: After a chunk that holds NaN, this many chunks in all take the NaN step without looking
#: for NaN first: NaN comes in runs, and looking costs about as much as the step.
NAN_RUN = 8


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


class _NanRuns:
    """Whether a chunk may hold NaN: ``np.minimum.reduce`` propagates NaN, and a chunk with
    NaN starts a run of :data:`NAN_RUN` chunks that are not searched."""

    def __init__(self) -> None:
        self._left = 0

    def __call__(self, c: np.ndarray) -> bool:
        if self._left:
            self._left -= 1
            return True
        if np.isnan(np.minimum.reduce(c)):
            self._left = NAN_RUN - 1
            return True
        return False


#: Mantissa bits of float32 and float64, and the unsigned type of the same size.
_FLOAT_BITS = {"float32": (23, np.uint32), "float64": (52, np.uint64)}


def _magic_fits(p: Plan) -> bool:
    """Whether :class:`_NarrowKernel` applies: the target's range within 2**(m-1), m the
    source's mantissa bits (float32 to 8 and 16 bits, float64 to 8, 16 and 32 bits)."""
    return p.dst.bits < _FLOAT_BITS[p.src_work][0]


class _NarrowKernel:
    """Float to an integer of fewer bits than the float's mantissa, VALUE, exact
    (docs/decisions/0050).

    1. ``clip`` to the target's range (NaN passes through; +-inf clip).
    2. ``+ M``, ``M = 1.5 * 2**m`` (m the mantissa bits): every sum lies in ``[2**m,
       2**(m+1))``, where the float's step is 1, so the addition rounds half to even, as
       ``rint`` does, and the float's bits are ``bits(M) + v``. ``bits(M)`` ends in m-1
       zero bits, so the low bits of the sum are ``v`` (two's complement where v < 0).
    3. Only where NaN may be: the bits, as unsigned integers, are clipped to ``CAP =
       bits(M) + 2**bits``. Every value's bits lie below ``CAP`` and NaN's, of either sign
       and any payload, above it: NaN becomes ``CAP``, whose low bits are 0.
    4. A cast of the bits to the unsigned type of the target's width keeps the low bits
       (C's unsigned conversion is modular), written into the output viewed as unsigned.

    Four passes over the chunk plus a NaN search (a read) without NaN, four with NaN, where
    ``rint``, ``clip``, the search, a NaN mask, ``copyto`` with it and the cast were six.
    """

    def __init__(self, p: Plan, size: int) -> None:
        mant, key = _FLOAT_BITS[p.src_work]
        ftype = np.dtype(p.src_work).type
        self.lo, self.hi = float(p.dst.lo), float(p.dst.hi)  # exact in float32 and float64
        self.magic = ftype(1.5 * 2.0**mant)
        bits_m = int(self.magic.view(key))
        # Both key bounds strictly inside the unsigned type: np.clip (_clip's fallback)
        # turns a bound at the type's own limit into a minimum, whose loop is 3x slower.
        self.key_lo = int(ftype(2.0**mant).view(key))
        self.key_nan = bits_m + (1 << p.dst.bits)
        self.key = np.dtype(key)
        self.out_view = np.dtype(f"uint{p.dst.bits}")
        self.buf = np.empty(size, dtype=p.src_work)
        self.may_have_nan = _NanRuns()

    def __call__(self, c: np.ndarray, o: np.ndarray) -> None:
        b = self.buf[: c.shape[0]]
        _clip(c, self.lo, self.hi, out=b)
        nan = self.may_have_nan(b)  # clip keeps NaN; b is in cache, c may not be
        np.add(b, self.magic, out=b)  # rounds half to even (see the class docstring)
        k = b.view(self.key)
        if nan:
            _clip(k, self.key_lo, self.key_nan, out=k)  # NaN to CAP (low bits 0)
        np.copyto(o.view(self.out_view), k, casting="unsafe")  # the low bits: exact


class _WideKernel:
    """Float to a 32- or 64-bit integer, VALUE: :func:`~arrayport._dtype_rounding.float_to_int`
    with ``out=`` steps (np.clip, np.rint and a NaN test are 2-4x faster than the allocating
    array API calls). Values beyond the largest float below the type's maximum (float32:
    2**32-256 for uint32) are set to the exact maximum in the integer domain."""

    def __init__(self, p: Plan, size: int) -> None:
        self.lo, self.hi = int(p.dst.lo), int(p.dst.hi)
        self.lo_f, self.hi_f = float_bounds(p.src_work, self.lo, self.hi)
        self.buf = np.empty(size, dtype=p.src_work)
        self.mask = np.empty(size, dtype=bool)
        self.may_have_nan = _NanRuns()

    def __call__(self, c: np.ndarray, o: np.ndarray) -> None:
        n = c.shape[0]
        b, m = self.buf[:n], self.mask[:n]
        np.rint(c, out=b)  # round half to even
        _clip(b, self.lo_f, self.hi_f, out=b)  # NaN passes through clip...
        if self.may_have_nan(b):
            np.isnan(b, out=m)
            np.copyto(b, 0, where=m)  # ...and becomes 0 here
        np.copyto(o, b, casting="unsafe")  # integral and in range: exact
        if self.hi_f < self.hi:
            np.greater(c, self.hi_f, out=m)
            np.copyto(o, np.asarray(self.hi, dtype=o.dtype), where=m)
        if self.lo_f > self.lo:
            np.less(c, self.lo_f, out=m)
            np.copyto(o, np.asarray(self.lo, dtype=o.dtype), where=m)


def _float_to_int_kernel(p: Plan, size: int) -> _NarrowKernel | _WideKernel | None:
    """The numpy kernel for ``p``, or None where the array API policy runs per chunk."""
    if not (
        p.scaling == "value"
        and p.src.name in ("float32", "float64")  # float16 chunks would compare in float16
        and p.dst.kind in "ui"
        and p.dst_work == p.dst.name
    ):
        return None
    return _NarrowKernel(p, size) if _magic_fits(p) else _WideKernel(p, size)


def convert_numpy(x: np.ndarray, p: Plan, out_dtype: np.dtype[Any]) -> np.ndarray:
    """Convert a numpy array chunk by chunk into a fresh 64-byte aligned output.

    Extra memory beyond the output: one or two chunk-sized buffers (at most 2.25 MiB).
    """
    import array_api_compat.numpy as xp

    out = aligned_empty(tuple(x.shape), out_dtype)
    if x.size == 0:
        return out
    if x.flags.c_contiguous:
        flat_x, flat_o = x.reshape(-1), out.reshape(-1)
        pairs: Any = (
            (flat_x[i : i + CHUNK], flat_o[i : i + CHUNK]) for i in range(0, x.size, CHUNK)
        )
        it = None
    else:
        it = _chunks(x, out)
        pairs = it
    kernel = _float_to_int_kernel(p, min(CHUNK, x.size))
    # Big-endian chunks are made native first: array-api-compat's clip refuses to cast
    # them (casting="no"). One chunk-sized copy each, in cache.
    native = None if x.dtype.isnative else x.dtype.newbyteorder("=")
    try:
        # Signalling NaN (and NaN in the policy's own arithmetic) is handled, not an error:
        # numpy would warn "invalid value", which filterwarnings=error turns into one.
        with np.errstate(invalid="ignore"):
            if kernel is None:
                for c, o in pairs:
                    o[...] = convert_block(xp, c if native is None else c.astype(native), p)
            else:
                for c, o in pairs:
                    kernel(c, o)
    finally:
        if it is not None:
            it.close()  # flushes nditer's last output buffer
    return out
