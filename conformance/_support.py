"""Helpers shared by the laws: comparing arrays exactly, writability, dtype tables."""

from __future__ import annotations

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
        assert np.array_equal(got, want, equal_nan=True), (
            f"{what}: values differ\n{got!r}\n{want!r}"
        )
        parts = (np.real, np.imag) if want.dtype.kind == "c" else (np.asarray,)
        for part in parts:
            same_sign = np.signbit(part(got)) == np.signbit(part(want))
            nan = np.isnan(part(want))
            assert np.all(same_sign | nan), f"{what}: signs of zeros differ\n{got!r}\n{want!r}"
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
