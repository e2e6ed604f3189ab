"""_host: ArrayInfo layout properties and aligned buffers."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport._host import ALIGNMENT, ArrayInfo, aligned_copy, aligned_empty, dtype_name, host_info
from arrayport.devices import CPU


@pytest.mark.parametrize("shape", [(), (0,), (3,), (5, 7), (2, 0, 4), (1024, 1024)])
@pytest.mark.parametrize("dtype", ["uint8", "float32", "complex128"])
def test_aligned_empty_is_aligned_contiguous_and_writable(shape, dtype) -> None:
    a = aligned_empty(shape, np.dtype(dtype))
    assert a.shape == shape
    assert a.dtype == dtype
    assert a.flags.c_contiguous
    assert a.flags.writeable
    if a.size:
        assert a.ctypes.data % ALIGNMENT == 0


def test_aligned_copy_converts_big_endian_and_layout() -> None:
    src = np.arange(24, dtype=">i4").reshape(4, 6)[::-1, ::2]
    out = aligned_copy(src)
    assert out.dtype.isnative
    assert out.dtype.name == "int32"
    assert out.flags.c_contiguous
    assert out.ctypes.data % ALIGNMENT == 0
    np.testing.assert_array_equal(out, src)
    assert not np.shares_memory(out, src)


def test_host_info_describes_numpy_layouts() -> None:
    a = aligned_empty((4, 6), np.dtype("float32"))
    info = host_info(a, CPU)
    assert info.shape == (4, 6)
    assert info.strides == (24, 4)
    assert info.c_contiguous
    assert info.positive_strides
    assert info.aligned
    assert info.element_aligned
    assert info.writable
    assert info.native_order
    assert info.nbytes == 96
    assert info.size == 24
    assert info.itemsize == 4
    assert not host_info(a.T, CPU).c_contiguous
    assert not host_info(a[::-1], CPU).positive_strides
    assert not host_info(a[:, 1:], CPU).aligned
    assert not host_info(a.astype(">f4"), CPU).native_order
    ro = a.view()
    ro.flags.writeable = False
    assert not host_info(ro, CPU).writable
    assert host_info(ro, CPU, writable=True).writable


def test_size_one_axes_may_have_any_stride() -> None:
    a = aligned_empty((4, 16), np.dtype("float32"))[:1, :]
    assert host_info(a, CPU).c_contiguous


def test_element_alignment() -> None:
    info = ArrayInfo((2,), np.dtype("float32"), "float32", CPU, (6,), 64, True)
    assert not info.element_aligned
    info = ArrayInfo((2,), np.dtype("float32"), "float32", CPU, (4,), 66, True)
    assert not info.element_aligned


def test_unknown_layout_counts_as_contiguous_and_empty_as_aligned() -> None:
    info = ArrayInfo((0, 3), np.dtype("float32"), "float32", CPU, None, None, False)
    assert info.c_contiguous
    assert info.aligned
    assert info.nbytes == 0
    info = ArrayInfo((3,), None, "bfloat16", CPU, None, None, False)
    assert info.itemsize == 0
    assert not info.aligned


def test_dtype_name_is_cached_and_ignores_byte_order() -> None:
    assert dtype_name(np.dtype(">f8")) == "float64" == dtype_name(np.dtype("<f8"))
