"""The numpy chunked path (arrayport._dtype_numpy) against the array API policy."""

from __future__ import annotations

import array_api_compat.numpy as anp
import numpy as np
import pytest

from arrayport import MemoryType, Scaling
from arrayport import _dtype_numpy as dn
from arrayport import _dtype_policy as policy
from arrayport.backends import get_backend
from arrayport.dtypes import _plan, _with_range


def _plan_for(x: np.ndarray, dtype: str, scaling: Scaling) -> policy.Plan:
    p = _plan(
        policy.DTYPES[x.dtype.name], policy.DTYPES[dtype], scaling, get_backend(MemoryType.NUMPY)
    )
    if scaling is Scaling.MINMAX:
        p = _with_range(p, dn.numpy_finite_range(x, policy.DTYPES[x.dtype.name].kind))
    return p


@pytest.mark.parametrize("src", ["float32", "float64", "float16"])
@pytest.mark.parametrize("dst", ["uint8", "int16", "uint32", "int64", "uint64"])
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
