"""testing/_layouts: the layouts and dask chunkings arrays() draws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from arrayport.testing._layouts import _chunks, _lay_out
from arrayport.testing.strategies import LAYOUTS

FEW = settings(max_examples=15, deadline=None)


@FEW
@given(values=st.data(), layout=st.frozensets(st.sampled_from(LAYOUTS), max_size=3))
def test_layout_keeps_values(values: st.DataObject, layout: frozenset[str]) -> None:
    from hypothesis.extra import numpy as hnp

    v = values.draw(hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0)))
    a = _lay_out(v, layout)
    assert a.shape == v.shape
    assert np.array_equal(a, v, equal_nan=True)


@pytest.mark.parametrize(
    ("layout", "check"),
    [
        ("transposed", lambda a: a.flags.f_contiguous and not a.flags.c_contiguous),
        ("strided", lambda a: not a.flags.c_contiguous and not a.flags.f_contiguous),
        ("negative", lambda a: all(s < 0 for s in a.strides)),
        ("offset", lambda a: a.ctypes.data % 64 != 0 and a.flags.aligned),
        ("unaligned", lambda a: not a.flags.aligned),
        ("bigendian", lambda a: a.dtype.byteorder == ">"),
        ("readonly", lambda a: not a.flags.writeable),
    ],
)
def test_each_layout_does_what_it_says(layout: str, check: object) -> None:
    a = _lay_out(np.arange(12, dtype=np.float32).reshape(3, 4), {layout})
    assert check(a)  # type: ignore[operator]
    assert np.array_equal(a, np.arange(12, dtype=np.float32).reshape(3, 4))


def test_plain_layout_is_contiguous_and_writable() -> None:
    a = _lay_out(np.ones((2, 3), np.int16), frozenset())
    assert a.flags.c_contiguous
    assert a.flags.writeable


def test_zero_d_layouts() -> None:
    for layout in LAYOUTS:
        a = _lay_out(np.array(3.5, np.float64), {layout})
        assert a.shape == ()
        assert a == 3.5


def test_offset_layout_is_never_64_byte_aligned() -> None:
    # One element into the allocation was 64-byte aligned for complex128 (16-byte items)
    # whenever the allocator's block started 48 bytes past a boundary.
    kept = []
    for dtype in ("complex128", "float64", "uint8", ">i2"):
        for n in range(1, 120):
            a = _lay_out(np.ones(n, dtype), {"offset"})
            kept.append(a)
            assert a.ctypes.data % 64 != 0
            assert a.flags.aligned
            assert a.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(a, 1)


def test_offset_with_negative_strides_is_never_64_byte_aligned_where_it_starts() -> None:
    # A negative-stride view starts at its last element in memory: the offset is placed
    # there, not at the lowest address (which left the data pointer 64-byte aligned).
    kept = []
    for layout in ({"offset", "negative"}, {"offset", "negative", "strided"}):
        for dtype in ("float32", "complex128", "int16"):
            for shape in ((16,), (4, 4), (3, 5), (1,)):
                values = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
                a = _lay_out(values, layout)
                kept.append(a)
                assert all(s < 0 for s in a.strides)
                assert a.ctypes.data % 64 != 0, (layout, dtype, shape)
                assert a.flags.aligned
                np.testing.assert_array_equal(a, values)


def test_dask_chunkings_cover_the_axis_in_unequal_blocks_too() -> None:
    assert find(_chunks(5), lambda c: len(set(c)) > 1)  # unequal blocks
    for n in (1, 2, 5, 9):
        chunking = find(_chunks(n), lambda c: True)
        assert sum(chunking) == n
