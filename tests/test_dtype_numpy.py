"""The numpy chunked path (arrayport._dtype_numpy) against the array API policy and against
exact Python arithmetic."""

from __future__ import annotations

import math

import array_api_compat.numpy as anp
import numpy as np
import pytest

from arrayport import MemoryType, Scaling
from arrayport import _dtype_numpy as dn
from arrayport import _dtype_policy as policy
from arrayport.backends import get_backend
from arrayport.dtypes import _plan, _with_range

#: (source, target) pairs that take the narrow (magic number) kernel.
NARROW = [("float32", d) for d in ("int8", "uint8", "int16", "uint16")] + [
    ("float64", d) for d in ("int8", "uint8", "int16", "uint16", "int32", "uint32")
]
WIDE = [("float32", d) for d in ("int32", "uint32", "int64", "uint64")] + [
    ("float64", d) for d in ("int64", "uint64")
]
_KEY = {"float32": np.uint32, "float64": np.uint64}
#: NaN of both signs, quiet and signalling, with payloads whose low bits are not 0: the
#: default NaN's low bits are 0, so it alone would not notice a missing NaN step.
_NAN_BITS = {
    "float32": [
        *(0x7FC00000, 0xFFC00000, 0x7FC0FFFF, 0xFFC01234, 0x7F800001, 0xFFBFFFFF),
        *(0x7FFFFFFF, 0xFFFFFFFF, 0x7FC000FF),
    ],
    "float64": [
        *(0x7FF8000000000000, 0xFFF8000000000000, 0x7FF80000FFFFFFFF, 0xFFF0000000000001),
        *(0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0x7FF8000012345678),
    ],
}


def _plan_for(x: np.ndarray, dtype: str, scaling: Scaling) -> policy.Plan:
    p = _plan(
        policy.DTYPES[x.dtype.name], policy.DTYPES[dtype], scaling, get_backend(MemoryType.NUMPY)
    )
    if scaling is Scaling.MINMAX:
        p = _with_range(p, dn.numpy_finite_range(x, policy.DTYPES[x.dtype.name].kind))
    return p


def _exact(v: float, dst: str) -> int:
    """VALUE in exact Python arithmetic (round() on a float is half to even)."""
    k = policy.DTYPES[dst]
    if math.isnan(v):
        return 0
    if math.isinf(v):
        return int(k.hi) if v > 0 else int(k.lo)
    return min(max(round(v), int(k.lo)), int(k.hi))


def _nans(src: str, n: int) -> np.ndarray:
    bits = np.array(_NAN_BITS[src], dtype=_KEY[src])
    return np.resize(bits, n).view(src)


def _hard_values(src: str, dst: str) -> np.ndarray:
    """Every boundary the kernels could get wrong, with NaN payloads and random values."""
    k = policy.DTYPES[dst]
    lo, hi = int(k.lo), int(k.hi)
    info = np.finfo(src)
    m = info.nmant
    edges = [lo, hi, lo - 1, hi + 1, 2 * hi + 2, 2 * lo - 2, 0, 1, -1]
    halves = [e + d for e in (lo, hi, 0, 1, 2, -1, -2) for d in (-0.5, 0.5, -0.25, 0.75)]
    powers = [s * f * 2.0**e for s in (1, -1) for f in (1.0, 1.5) for e in (m - 1, m, m + 1)]
    special = [-0.0, float(info.smallest_subnormal), float(info.max), -float(info.max)]
    special += [math.inf, -math.inf, math.nan]
    rng = np.random.default_rng(3)
    spread = rng.uniform(2 * lo - 10, 2 * hi + 10, 500)
    rounded = np.round(spread) + rng.choice([-0.5, 0.5], 500)  # ties on both sides
    values = np.concatenate(
        [np.array(edges + halves + powers + special, dtype=np.float64), spread, rounded]
    ).astype(src)
    x = np.concatenate([values, _nans(src, 40)])
    return x[rng.permutation(x.size)]


def _convert(x: np.ndarray, dst: str) -> np.ndarray:
    return dn.convert_numpy(x, _plan_for(x, dst, Scaling.VALUE), np.dtype(dst))


@pytest.mark.parametrize(("src", "dst"), NARROW + WIDE)
def test_float_to_int_value_is_exact_at_every_boundary_and_nan(src: str, dst: str) -> None:
    x = _hard_values(src, dst)
    kernel = dn._float_to_int_kernel(_plan_for(x, dst, Scaling.VALUE), 1)
    assert isinstance(kernel, dn._NarrowKernel if (src, dst) in NARROW else dn._WideKernel)
    expected = [_exact(float(v), dst) for v in x]
    assert _convert(x, dst).tolist() == expected
    assert _convert(x[::-1], dst).tolist() == expected[::-1]  # nditer's buffered chunks


@pytest.mark.parametrize(("src", "dst"), [*NARROW[:4], *WIDE[:2]])
def test_nan_runs_end_and_restart(src: str, dst: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """NaN in the first chunk starts a run of chunks taken as NaN-holding; the chunks after
    it are searched again, and NaN found there starts a new run."""
    monkeypatch.setattr(dn, "CHUNK", 64)
    k = policy.DTYPES[dst]
    rng = np.random.default_rng(5)
    x = rng.uniform(2 * float(k.lo) - 10, 2 * float(k.hi) + 10, 64 * (2 * dn.NAN_RUN + 3))
    x = x.astype(src)
    x[3] = x[-2] = _nans(src, 3)[2]
    x[64 * (dn.NAN_RUN + 1) + 5] = _nans(src, 4)[3]
    x[64 * dn.NAN_RUN + 7] = math.inf
    assert _convert(x, dst).tolist() == [_exact(float(v), dst) for v in x]


def test_clip_keeps_nan_and_the_keys_of_nan_lie_above_every_value() -> None:
    """What the narrow kernel relies on: clip passes NaN through; NaN's bits, of either
    sign, lie above CAP, every value's below it, and CAP's low bits are 0."""
    for src in ("float32", "float64"):
        nans = _nans(src, len(_NAN_BITS[src]))
        assert np.isnan(dn._clip(nans, -1.0, 1.0)).all()
        for s, dst in NARROW:
            if s != src:
                continue
            x = np.zeros(1, dtype=src)
            kernel = dn._float_to_int_kernel(_plan_for(x, dst, Scaling.VALUE), 1)
            assert isinstance(kernel, dn._NarrowKernel)
            top = np.iinfo(_KEY[src]).max
            k = policy.DTYPES[dst]
            ends = (kernel.magic + np.array([k.lo, k.hi], dtype=src)).view(_KEY[src])
            assert 0 < kernel.key_lo < int(ends[0]) <= int(ends[1]) < kernel.key_nan < top
            assert kernel.key_nan % (1 << k.bits) == 0
            assert int(nans.view(_KEY[src]).min() & (top >> 1)) > kernel.key_nan


@pytest.mark.parametrize("src", ["float32", "float64", "float16"])
@pytest.mark.parametrize("dst", ["uint8", "int16", "uint16", "uint32", "int64", "uint64"])
@pytest.mark.parametrize("scaling", list(Scaling))
def test_chunked_numpy_equals_the_array_api_policy(src: str, dst: str, scaling: Scaling) -> None:
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(dn.CHUNK + 1001) * 1e4).astype(src)
    x[::97] = np.nan
    x[5], x[6] = np.inf, -np.inf
    if scaling is Scaling.UNIT:
        x = np.clip(x / 1e4, -1, 1).astype(src)
    p = _plan_for(x, dst, scaling)
    out = dn.convert_numpy(x, p, np.dtype(dst))
    assert out.ctypes.data % 64 == 0
    np.testing.assert_array_equal(out, np.asarray(policy.convert_block(anp, x, p)))


def test_numpy_finite_range_ignores_non_finite_and_spans_chunks() -> None:
    x = np.zeros(dn.CHUNK * 2 + 3, np.float32)
    x[1], x[-1] = -5.0, 7.0
    x[2], x[3] = np.nan, np.inf
    assert dn.numpy_finite_range(x, "f") == (-5.0, 7.0)
    assert dn.numpy_finite_range(x[::-3], "f") == dn.numpy_finite_range(x[::-3].copy(), "f")
    assert dn.numpy_finite_range(np.array([np.nan, np.inf]), "f") is None


def test_empty_input_gives_an_empty_aligned_output() -> None:
    x = np.empty((0, 3), np.float32)
    out = dn.convert_numpy(x, _plan_for(x, "uint8", Scaling.VALUE), np.dtype("uint8"))
    assert out.shape == (0, 3)
    assert out.dtype == np.uint8
