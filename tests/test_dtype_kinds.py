"""Tests of arrayport._dtype_kinds: the dtype table the policy reads, and finding a dtype's
object (and exact 0-d values of it) in an array API namespace."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import _dtype_kinds as kinds


def test_integer_and_bool_ranges_are_exact() -> None:
    for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        info = np.iinfo(name)
        k = kinds.DTYPES[name]
        assert (k.kind, k.bits, k.lo, k.hi) == (info.kind, info.bits, info.min, info.max)
        assert type(k.hi) is int, "a Python int: 2**64-1 has no exact float"
    assert kinds.DTYPES["bool"] == kinds.Kind("bool", "b", 1, 0, 1)


def test_float_and_complex_ranges_are_the_largest_finite_values() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    for name, finfo in (
        ("float16", np.finfo(np.float16)),
        ("float32", np.finfo(np.float32)),
        ("float64", np.finfo(np.float64)),
        ("bfloat16", ml_dtypes.finfo(ml_dtypes.bfloat16)),
    ):
        k = kinds.DTYPES[name]
        assert (k.kind, k.lo, k.hi) == ("f", -float(finfo.max), float(finfo.max)), name
    # A complex type's range is that of its component.
    for name, part in (("complex64", "float32"), ("complex128", "float64")):
        k = kinds.DTYPES[name]
        assert k.kind == "c"
        assert k.component == part
        assert (k.lo, k.hi) == (kinds.DTYPES[part].lo, kinds.DTYPES[part].hi)
    assert kinds.DTYPES["int16"].component == "int16"


def test_xp_dtype_finds_names_outside_the_standard() -> None:
    assert kinds.xp_dtype(np, "uint16") is np.uint16
    pytest.importorskip("ml_dtypes")
    assert kinds.xp_dtype(np, "bfloat16") == np.dtype("bfloat16")  # numpy has no attribute
    dask_xp = pytest.importorskip("array_api_compat.dask.array")
    assert kinds.xp_dtype(dask_xp, "float16") == np.float16  # left out of that namespace


def test_xp_dtype_refuses_unknown_names() -> None:
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="no dtype"):
        kinds.xp_dtype(xps, "float128")


def test_scalar_is_exact_zero_d_and_of_the_dtype_asked_for() -> None:
    xps = pytest.importorskip("array_api_strict")
    like = xps.asarray([1], dtype=xps.uint64)
    s = kinds.scalar(xps, 2**64 - 1, "uint64", like)
    assert s.dtype == xps.uint64
    assert s.shape == ()
    assert s.device == like.device
    assert int(s) == 2**64 - 1  # not rounded through a float


def test_arrays_and_scalar_values_are_not_dtypes() -> None:
    from arrayport._dtype_kinds import is_value

    assert is_value(np.zeros(2))
    assert is_value(np.float32(1))
    assert not is_value(np.float32)
    assert not is_value(np.dtype("int16"))
    assert not is_value("float32")
