"""backends/numpy: the host hub."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport.backends import numpy as be
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError, UnsupportedArrayError


def test_is_array_and_plain() -> None:
    assert be.is_array(np.zeros(2))
    assert not be.is_array([1])
    assert be.is_plain(np.zeros(2))
    assert not be.is_plain(np.ma.masked_array([1]))
    assert not be.is_plain(np.array(["a"]))


def test_describe_refuses_masks_and_non_numbers() -> None:
    with pytest.raises(UnsupportedArrayError, match="mask"):
        be.describe(np.ma.masked_array([1.0]))
    with pytest.raises(UnsupportedArrayError, match="numeric"):
        be.describe(np.array([b"x"]))
    # jax's float0 gradients come as plain ndarrays from older jax (0.4.34): the generic
    # advice, x.astype('float64'), raises on them.
    with pytest.raises(UnsupportedArrayError, match=r"float0.*gradient of an integer input"):
        be.describe(np.zeros(2, dtype=[("float0", "V")]))


def test_argument_refusal_names_masked_arrays_and_matrices_only() -> None:
    assert "mask" in (be.argument_refusal(np.ma.MaskedArray) or "")
    assert "np.asarray" in (be.argument_refusal(np.matrix) or "")
    assert be.argument_refusal(np.ndarray) is None
    assert be.argument_refusal(np.memmap) is None


def test_bfloat16_is_exchangeable() -> None:
    import ml_dtypes

    a = np.zeros(2, ml_dtypes.bfloat16)
    assert be.describe(a).dtype_name == "bfloat16"
    assert be.dlpack_export_refusal(be.describe(a)) is not None
    assert be.dlpack_refusal(be.describe(a), False) is not None
    assert be.is_plain(a)


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "int4"])
def test_ml_dtypes_arrays_hold_numbers_and_describe_without_the_buffer_protocol(
    name: str,
) -> None:
    # float8_e5m2 has kind "f" but numpy's buffer protocol refuses it: the address is read
    # another way. Such arrays stay numpy's (identity); leaving numpy is refused by name.
    import ml_dtypes

    a = np.zeros(4, getattr(ml_dtypes, name))
    info = be.describe(a)
    assert info.dtype_name == name
    assert info.pointer == a.__array_interface__["data"][0]
    assert be.is_plain(a)
    assert be.route_key(a, True) is not None
    assert not be.is_plain(np.zeros(2, [("a", "f4")]))  # structured: no numbers to move


def test_export_refuses_read_only_and_big_endian() -> None:
    ro = np.zeros(2)
    ro.flags.writeable = False
    assert "read-only" in be.dlpack_export_refusal(be.describe(ro))
    assert be.dlpack_export_refusal(be.describe(np.zeros(2, ">f4"))) is not None
    assert be.dlpack_export_refusal(be.describe(np.zeros(2))) is None


def test_devices() -> None:
    assert be.devices() == (CPU,)
    assert be.resolve_device(None, CPU) == CPU
    with pytest.raises(DeviceError, match="device='cpu'"):
        be.resolve_device(Device("cuda", 0), CPU)


def test_from_dlpack_read_only_flag() -> None:
    out = be.from_dlpack(np.arange(3.0), CPU, read_only=True)
    assert not out.flags.writeable


def test_copy_is_fresh_and_aligned() -> None:
    a = np.arange(5.0)[1:]
    c = be.copy_within(a)
    assert not np.shares_memory(a, c)
    assert c.ctypes.data % 64 == 0


def test_oom_and_memory() -> None:
    assert be.is_oom(MemoryError())
    assert not be.is_oom(ValueError())
    assert MemoryError in be.oom_error_types()
    be.release_memory()
    (row,) = be.memory_info()
    assert row["device"] == "cpu"
    assert row["free"] is None or row["free"] > 0


def test_release_frees_arrays_only_a_reference_cycle_holds() -> None:
    """The OOM policy's release between attempts: numpy caches nothing, but an array in a
    reference cycle stays until the garbage collector runs (it freed nothing before)."""

    class Node:
        pass

    freed: list[str] = []
    enabled = gc.isenabled()
    gc.disable()  # no automatic collection may free the cycle before release does
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        a.buffer = np.ones(1024)
        weakref.finalize(a, freed.append, "node")
        weakref.finalize(a.buffer, freed.append, "array")
        del a, b
        assert freed == []  # unreachable, but not freed by reference counting
        be.release_memory()
        assert sorted(freed) == ["array", "node"]
    finally:
        if enabled:
            gc.enable()


def test_route_key_declines_what_describe_refuses_or_subclasses(tmp_path) -> None:
    from arrayport._host import route_key_of

    a = np.arange(6.0).reshape(2, 3)
    assert be.route_key(a, True) == route_key_of(be.describe(a), True)
    assert be.route_key(np.ma.masked_array([1, 2]), False) is None
    assert be.route_key(np.array(["a"]), False) is None
    m = np.memmap(tmp_path / "m.dat", dtype="float32", mode="w+", shape=(3,))
    assert be.route_key(m, False) is None
    assert be.HOST_MEMORY


def test_the_dtype_cache_does_not_grow_with_every_string_length() -> None:
    # Each `<U{n}` (and record) dtype stayed cached: 50,000 lengths, about 11 MB.
    from arrayport.backends import numpy as backend

    for n in range(1, 600):
        assert not backend.is_plain(np.array(["x" * n]))
    assert len(backend._exchangeable_dtypes) <= 256
    assert backend.is_plain(np.zeros(2))


@pytest.mark.parametrize("dtype", ["datetime64[D]", "O", "U3", "S2", "i4,f8", "V3"])
def test_dtypes_that_hold_no_numbers_are_described_within_numpy_only(dtype: str) -> None:
    a = np.zeros(3, dtype)
    with pytest.raises(UnsupportedArrayError, match="hold no numbers"):
        be.describe(a)
    info = be.describe_within(a)
    assert (info.shape, info.dtype, info.dtype_name) == ((3,), a.dtype, a.dtype.name)
    assert info.writable
    assert info.device == CPU
    a.flags.writeable = False
    assert not be.describe_within(a).writable
    with pytest.raises(UnsupportedArrayError, match="mask"):
        be.describe_within(np.ma.array(np.zeros(2, dtype)))


def test_a_copy_of_an_object_array_is_a_fresh_array_of_the_same_references() -> None:
    # aligned_copy raised numpy's TypeError "Cannot change data-type for array of
    # references".
    item = [1]
    a = np.array([item, "x", None], object)
    c = be.copy_within(a)
    assert c is not a
    assert c.dtype == object
    assert c[0] is item
    c[1] = "y"
    assert a[1] == "x"


@pytest.mark.parametrize("dtype", ["V0", []], ids=["V0", "no-fields"])
def test_a_copy_of_zero_byte_items_is_a_copy_not_out_of_memory(dtype: Any) -> None:
    # The aligned copy could not lay out 0-byte items and called that out of memory.
    a = np.zeros(2, dtype=dtype)
    out = ap.convert(a, "numpy", copy=True)
    assert out is not a
    assert out.shape == (2,)
    assert out.dtype == a.dtype
