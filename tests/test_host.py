"""_host: ArrayInfo layout properties and aligned buffers."""

from __future__ import annotations

import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest

import arrayport as ap
from arrayport._host import (
    ALIGNMENT,
    ArrayInfo,
    _pointer,
    aligned_copy,
    aligned_empty,
    dtype_name,
    host_info,
    host_layout,
    host_route_key,
    route_key_of,
)
from arrayport.devices import CPU


@pytest.mark.parametrize("shape", [(), (0,), (3,), (5, 7), (2, 0, 4), (1024, 1024)])
@pytest.mark.parametrize(
    "dtype", ["bool", "uint8", "float16", "float32", "complex128", "S3", "V24"]
)
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


# --- cheap route keys ---------------------------------------------------------------------


def _view(base: np.ndarray, data: st.DataObject) -> np.ndarray:
    """A view of ``base`` with any strides numpy allows: offsets, steps, negative steps,
    transposes, size-1 axes with odd strides, broadcast (zero) strides, read-only."""
    v = base
    if v.ndim:
        start = data.draw(st.integers(0, 3), label="start")
        step = data.draw(st.sampled_from([1, 1, 2, -1, -3]), label="step")
        v = v[start::step] if step > 0 else v[::step]
    if v.ndim > 1 and data.draw(st.booleans(), label="transpose"):
        v = v.T
    if data.draw(st.booleans(), label="odd size-1 strides") and v.ndim:
        v = np.lib.stride_tricks.as_strided(
            v[:1], shape=(1, *v.shape[1:]), strides=(data.draw(st.integers(-9, 9)), *v.strides[1:])
        )
    if data.draw(st.booleans(), label="broadcast"):
        v = np.broadcast_to(v, (2, *v.shape))  # read-only, zero stride
    if data.draw(st.booleans(), label="read-only"):
        v = v.view()
        v.flags.writeable = False
    return v


DTYPES = [
    "bool",
    "uint8",
    "int16",
    "<u2",
    ">i4",
    "float16",
    "float32",
    ">f8",
    "complex64",
    "complex128",
]


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    data=st.data(),
    dtype=st.sampled_from(DTYPES),
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple),
    byte_offset=st.integers(0, 17),
)
def test_host_route_key_equals_the_key_of_the_full_description(
    data: st.DataObject, dtype: str, shape: tuple[int, ...], byte_offset: int
) -> None:
    dt = np.dtype(dtype)
    n = int(np.prod(shape)) * dt.itemsize
    raw = aligned_empty((n + 64,), np.dtype("uint8"))
    base = raw[byte_offset : byte_offset + n].view(dt).reshape(shape)
    a = _view(base, data)
    for address in (False, True):
        assert host_route_key(a, CPU, address) == route_key_of(host_info(a, CPU), address), (
            a.strides
        )
    assert _pointer(a) == a.__array_interface__["data"][0]


@pytest.mark.parametrize("writable", [None, False, True])
@pytest.mark.parametrize("dtype", ["float32", ">f4", "bool", "complex64"])
def test_host_route_key_override_of_writability_matches_the_description(
    dtype: str, writable: bool | None
) -> None:
    # host_route_key's one-flags-read common case and its general case, each with the
    # override a backend passes for memory it must not write (and a read-only array,
    # whose address is read without the buffer protocol).
    base = aligned_empty((4, 8), np.dtype(dtype))
    read_only, strided = base[1:], base[:, 1:]
    read_only.flags.writeable = False
    for a in (base, base[1:], read_only, strided, base[:1], base[:0]):
        for address in (False, True):
            expected = route_key_of(host_info(a, CPU, writable=writable), address)
            assert host_route_key(a, CPU, address, writable=writable) == expected


def test_host_layout_reads_numpy_flags_like_array_info() -> None:
    a = aligned_empty((4, 6), np.dtype("complex128"))
    # complex: ALIGNED checks 8 bytes, element alignment needs 16; the address is read.
    odd = np.frombuffer(aligned_empty((8 * 9,), np.dtype("uint8"))[8:].data, "complex128")
    assert odd.flags.aligned
    assert not host_layout(odd, False)[2]
    assert host_layout(a, False) == (True, True, True, None)
    assert host_layout(a[:, 1:], True) == (False, True, True, False)
    assert host_layout(a[::-1], True)[1] is False


def test_buffers_a_framework_aligns_are_aligned_without_an_address() -> None:
    from arrayport.devices import Device

    gpu = Device("cuda", 0)

    def info(**extra: bool) -> ArrayInfo:
        fields = {"shape": (4,), "dtype": np.dtype("float32"), "dtype_name": "float32"}
        return ArrayInfo(**fields, device=gpu, strides=None, pointer=None, writable=False, **extra)

    # A jax or tensorflow GPU buffer has no address here: unknown counted as unaligned,
    # which refused jax <-> tensorflow DLPack on GPUs (a host round trip instead).
    assert not info().aligned
    assert info(framework_aligned=True).aligned


def test_views_numpy_warns_about_writing_count_as_read_only_without_a_warning() -> None:
    # np.broadcast_arrays' views carry numpy's WARN_ON_WRITE bit: reading flags.writeable
    # on them emitted numpy's FutureWarning at arrayport's lines (an error under -W error),
    # and they counted as writable.
    import warnings

    from arrayport._host import writes_allowed

    view, _ = np.broadcast_arrays(np.arange(3.0), np.zeros((2, 3)))
    plain = np.zeros((2, 3))
    ro = np.zeros(3)
    ro.flags.writeable = False
    assert writes_allowed(plain.flags.num)
    assert not writes_allowed(ro.flags.num)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not writes_allowed(view.flags.num)
        assert not host_info(view, CPU).writable
        for address in (False, True):
            assert host_route_key(view, CPU, address) == route_key_of(host_info(view, CPU), address)


def test_a_buffer_past_numpys_largest_size_is_a_memory_error() -> None:
    # The padding to the boundary pushed a request near numpy's limit past it: numpy
    # says ValueError ("array is too big"), which convert did not take for out-of-memory.
    for shape, dtype in (((2**61 - 1,), "float32"), ((2**63 - 10,), "uint8")):
        with pytest.raises(MemoryError, match="cannot allocate a host buffer of shape"):
            aligned_empty(shape, np.dtype(dtype))
    view = np.broadcast_to(np.zeros((), np.float32), (2**61 - 1,))
    with pytest.raises(ap.OutOfMemoryError, match="out of host memory converting"):
        ap.convert(view, "numpy", copy=True)


def test_route_keys_tell_compact_memory_in_another_order_from_memory_with_gaps() -> None:
    # Both are "not row-major"; jax shares the first on the CPU and copies the second, so
    # a route cached for one must not be found for the other (ADR 0082).
    base = aligned_empty((8, 16), np.dtype("float32"))
    cube = aligned_empty((2, 4, 6), np.dtype("float32"))
    cases = [
        (base, True),
        (base.T, None),
        (base[:, ::2], False),
        (base[:, :8].T, False),
        (cube.transpose(0, 2, 1), None),  # neither C nor F order: sorted by stride
        (cube.T, None),
        (cube[:, :, ::2].transpose(2, 0, 1), False),
        (cube[:, :1].transpose(2, 1, 0), False),  # a gap of 3 rows between its blocks
        (aligned_empty((2, 1, 6), np.dtype("float32")).transpose(1, 2, 0), None),  # size 1
    ]
    for a, contiguity in cases:
        info = host_info(a, CPU)
        assert info.contiguity is contiguity, a.strides
        assert info.c_contiguous is (contiguity is True)
        for address in (False, True):
            key = host_route_key(a, CPU, address)
            assert key[5] is contiguity, a.strides
            assert key == route_key_of(info, address)
