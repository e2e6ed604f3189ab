"""backends/pyclesperanto (on PoCL here)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport.devices import CPU, Device
from tests.conftest import INSTALLED, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.PYCLESPERANTO)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import pyclesperanto as backend

    backend.load()
    return backend


def test_to_host_is_aligned_and_exact(be) -> None:
    import pyclesperanto as cle

    for dtype in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "float32"]:
        a = np.arange(3 * 50 * 7).reshape(3, 50, 7).astype(dtype)
        out = be.to_numpy(cle.push(a))
        assert out.dtype == dtype
        assert out.ctypes.data % 64 == 0
        np.testing.assert_array_equal(out, a)


def test_to_host_any_is_a_fresh_exact_copy_and_the_unaligned_targets_take_it(be) -> None:
    import pyclesperanto as cle

    import arrayport as ap

    for dtype in ["int8", "uint16", "int32", "float32"]:
        a = np.arange(4 * 9 * 5).reshape(4, 9, 5).astype(dtype)
        c = cle.push(a)
        out = be.to_numpy_any(c)
        assert out.dtype == dtype
        assert out.flags.writeable
        assert out.flags.c_contiguous
        np.testing.assert_array_equal(out, a)
        out[0, 0, 0] = 99  # a copy: the device array is untouched
        np.testing.assert_array_equal(cle.pull(c), a)
        for target in ("numpy", "jax"):  # the pull (numpy) and the aligned slabs (jax)
            if MemoryType(target) in ap.available_memory_types():
                np.testing.assert_array_equal(np.asarray(ap.convert(c, target)), a)
    route = ap.plan(cle.push(np.ones(3, np.float32)), "numpy")
    assert route.steps[-1] == "numpy adopts that buffer (shared)"


def test_check_dtype_and_shape(be) -> None:
    assert be.check_dtype(np.dtype("float32"), "float32") is None
    assert be.check_dtype(np.dtype("bool"), "bool") is None  # widened
    assert "float32" in be.check_dtype(np.dtype("float64"), "float64")
    # The advice names the dtype the values most likely fit: int32 clips uint64's values
    # from 2**31, float32 rounds integers above 2**24.
    assert "convert_dtype(x, 'uint32')" in be.check_dtype(np.dtype("uint64"), "uint64")
    assert "convert_dtype(x, 'int32')" in be.check_dtype(np.dtype("int64"), "int64")
    from arrayport._host import ArrayInfo

    def info(shape):
        return ArrayInfo(shape, np.dtype("float32"), "float32", CPU, None, None, True)

    assert be.shape_refusal(info((2, 3))) is None
    assert "0-d" in be.shape_refusal(info(()))
    assert "empty" in be.shape_refusal(info((0, 2)))
    four = be.shape_refusal(info((1, 1, 1, 1)))
    assert "not 4-D; reshape it to 3-D" in four  # and what to do


def test_max_buffer_bytes_parsed(be) -> None:
    from arrayport.backends._cle_transfer import info_bytes

    info = be._device_info(0)
    limit = be.max_buffer_bytes(Device("opencl", 0))
    if "Maximum Buffer Size" not in info:  # a platform that does not say: nothing to check
        assert limit is None
        return
    # None here would switch off the size check that keeps PoCL from aborting the process.
    assert limit is not None
    assert limit == info_bytes(info, "Maximum Buffer Size")
    assert limit >= 1 << 20
    assert limit % (1 << 20) == 0  # PoCL states it in MB


def test_no_namespace_and_no_dlpack(be) -> None:
    assert be.namespace() is None  # arrayport.namespace raises for it (test_registry)
    assert not be.HAS_DLPACK
    assert be.COPIES_HOST


def test_oom_recognition(be) -> None:
    assert be.is_oom(
        RuntimeError("Failed to allocate buffer memory. OpenCL error: CL_INVALID_BUFFER_SIZE (-61)")
    )
    assert be.is_oom(MemoryError())
    assert not be.is_oom(RuntimeError("CL_INVALID_VALUE"))
    be.release_memory()
    assert be.memory_info()[0]["device"].startswith("opencl")


def test_release_leaves_kernel_launches_asynchronous(be, monkeypatch) -> None:
    # cle.wait_for_kernel_to_finish() does not wait: it switches the device to blocking
    # launches for good. The OOM policy's release must not touch that switch.
    import pyclesperanto as cle

    switched: list[Any] = []
    monkeypatch.setattr(cle, "wait_for_kernel_to_finish", lambda *a, **k: switched.append(a))
    be.release_memory()
    with ap.testing.inject_oom("pyclesperanto", 1):
        out = ap.memory_type("pyclesperanto")(lambda x: x)(np.ones(3, dtype=np.float32))
    assert np.array_equal(out, np.ones(3))
    assert switched == []


@pytest.mark.parametrize("dtype", ["uint8", "int32", "uint32", "float32"])
def test_take_gives_arrays_where_indexing_gives_numbers(be, dtype: str) -> None:
    import pyclesperanto as cle

    top = np.iinfo(dtype).max if dtype != "float32" else 2.0**24 + 2
    stack = cle.push(np.array([[[1]], [[top]], [[3]]], dtype=dtype))  # (3, 1, 1)
    assert not be.is_array(stack[1])  # pyclesperanto's own indexing: a number
    plane = be.take(stack, (1,))
    assert be.is_array(plane)
    assert tuple(plane.shape) == (1, 1)
    assert np.dtype(plane.dtype) == dtype
    assert be.to_numpy(plane).tolist() == [[top]]  # exact, beyond float32's 2**24
    line = be.take(cle.push(np.array([5, top], dtype=dtype)), (slice(1, 2),))
    assert tuple(line.shape) == (1,)
    assert be.to_numpy(line).tolist() == [top]
    rows = be.take(stack, (slice(0, 2),))  # an array already: pyclesperanto's own
    assert be.to_numpy(rows).tolist() == [[[1]], [[top]]]


def test_joins_on_host(be) -> None:
    # No concatenation or n-D stack of its own: the split and the slice helpers join
    # through numpy and convert back (tests/test_split.py, tests/test_stack.py).
    assert be.JOINS_ON_HOST
    assert not hasattr(be, "concat")
    assert not hasattr(be, "stack")


@pytest.mark.parametrize("dtype", ["uint8", "int32", "uint32", "float32"])
def test_stack_planes_from_device_and_host_planes_is_exact(be, dtype: str) -> None:
    import pyclesperanto as cle

    top = np.iinfo(dtype).max if dtype != "float32" else 2.0**24 + 2
    planes = np.array([[[top, 1]], [[2, top - 1]], [[3, 4]], [[top, 0]]], dtype)  # (4, 1, 2)
    on_device = [cle.push(p) for p in planes]
    device = be.device_of(on_device[0])
    mixed = [planes[0], on_device[1], planes[2], on_device[3]]  # host planes written in
    out = be.stack_planes(iter(mixed), on_device[1], len(mixed), device)
    assert be.is_array(out)
    assert tuple(out.shape) == (4, 1, 2)
    assert np.dtype(out.dtype) == dtype
    assert be.to_numpy(out).tolist() == planes.tolist()  # exact, beyond float32's 2**24


def test_the_remedy_named_for_complex_arrays_works() -> None:
    # The general remedy (convert_dtype to float32) refuses complex input without
    # discard_imaginary=True: the message names the call that works, and it does.
    import arrayport as ap
    from arrayport.errors import UnsupportedDtypeError

    x = np.array([1 + 2j, 3 - 1j], np.complex64)
    remedy = "arrayport.convert_dtype(x, 'float32', discard_imaginary=True)"
    with pytest.raises(UnsupportedDtypeError) as info:
        ap.convert(x, "pyclesperanto")
    assert remedy in str(info.value)
    real = ap.convert_dtype(x, "float32", discard_imaginary=True)
    back = ap.convert(ap.convert(real, "pyclesperanto"), "numpy")
    np.testing.assert_array_equal(back, [1.0, 3.0])


def test_bfloat16_is_widened_to_float32_losslessly() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    import arrayport as ap

    a = np.array([1.5, -0.0, 3.0e38, np.nan, 1e-39], ml_dtypes.bfloat16)
    assert "bfloat16 is widened losslessly to float32" in ap.plan(a, "pyclesperanto").reason
    back = ap.convert(ap.convert(a, "pyclesperanto"), "numpy")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back.view(np.uint32), a.astype(np.float32).view(np.uint32))

    @ap.memory_type("pyclesperanto")
    def same(x):
        return x

    out = same(a)  # PRESERVE_INPUT gives the bfloat16 back, bit for bit
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out.view(np.uint16), a.view(np.uint16))


def test_take_of_buffers_with_a_length_one_middle_axis_is_exact() -> None:
    # PoCL refused the 3-D rectangular copy out of a (z, 1, x) buffer wider than half a row
    # (CL_INVALID_VALUE), so an OOM split along the last axis always gave up.
    from arrayport.backends import pyclesperanto as backend
    from arrayport.testing import inject_oom

    a = np.full((3, 1, 6), 2**31 - 1, np.int32)
    a[:, :, ::2] = 2**24 + 1
    x = ap.convert(a, "pyclesperanto")
    for index in [(slice(None), slice(None), slice(1, 5)), (slice(1, 3), 0), (0,)]:
        got = np.asarray(ap.convert(backend.take(x, index), "numpy"))
        np.testing.assert_array_equal(got, a[index])
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=2)
    with inject_oom("pyclesperanto", times=1):
        out = policy.run(lambda v: v, x)
    np.testing.assert_array_equal(np.asarray(ap.convert(out, "numpy")), a)


@pytest.mark.parametrize("shape", [(3, 5, 1), (3, 1, 5), (3, 1, 1), (2, 3, 4)])
def test_slices_of_opencl_images_are_exact(shape: tuple[int, ...]) -> None:
    # take() dropped length-1 axes with a reshape, which an image (mtype="image") cannot
    # do: unstack_slices, slice_by_slice and the OOM split raised pyclesperanto's
    # RuntimeError (CL_INVALID_VALUE).
    import pyclesperanto as cle

    from arrayport.backends import pyclesperanto as backend
    from arrayport.testing import inject_oom

    a = (2**31 - 1 - np.arange(int(np.prod(shape)))).astype(np.int32).reshape(shape)
    image = cle.push(a, mtype="image")
    for index in [(1,), (slice(0, 2), 0), (slice(None), slice(None), slice(0, 1)), (0, 0)]:
        got = np.asarray(ap.convert(backend.take(image, index), "numpy"))
        np.testing.assert_array_equal(got, a[index])
    slices = ap.unstack_slices(image)
    assert len(slices) == shape[0]
    for i, plane in enumerate(slices):
        np.testing.assert_array_equal(np.asarray(ap.convert(plane, "numpy")), a[i])
    # Each slice as the function gets it (cle's own kernels compute through float32).
    same = ap.memory_type("pyclesperanto", slice_by_slice=True)(lambda s: s)
    np.testing.assert_array_equal(cle.pull(same(image)), a)
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=2 if shape[2] > 1 else 0)
    with inject_oom("pyclesperanto", times=1):
        out = policy.run(lambda v: v, image)
    np.testing.assert_array_equal(np.asarray(ap.convert(out, "numpy")), a)


def test_the_buffer_size_limit_is_not_retried_as_out_of_memory(monkeypatch: Any) -> None:
    # A fixed per-buffer limit was released for and retried (three attempts), and the
    # final message told the user to free memory held elsewhere.
    from arrayport.backends import pyclesperanto as backend

    monkeypatch.setattr(backend, "max_buffer_bytes", lambda device: 4096)

    @ap.memory_type("pyclesperanto")
    def same(v: Any) -> Any:
        return v

    with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size") as info:
        same(np.zeros((4, 512), np.float32))  # 8 KiB
    assert info.value.attempts == 1
    split = same.options(oom=ap.OOMPolicy(retries=2, split_axis=0))
    np.testing.assert_array_equal(
        np.asarray(ap.convert(split(np.ones((4, 512), np.float32)), "numpy")), 1.0
    )


def test_a_raw_buffer_size_error_is_a_fixed_limit_not_retried(be) -> None:
    # CL_INVALID_BUFFER_SIZE from an allocation inside the function was run three times,
    # with a full garbage collection between runs, though no memory freed lifts it; only
    # arrayport's own check before a push marked it a fixed limit.
    raw = RuntimeError(
        "Error: Failed to allocate buffer memory. OpenCL error: CL_INVALID_BUFFER_SIZE (-61)"
    )
    assert be.is_oom(raw)
    assert raw.fixed_limit is True  # type: ignore[attr-defined]
    other = RuntimeError("OpenCL error: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)")
    assert be.is_oom(other)
    assert not hasattr(other, "fixed_limit")  # memory freed may lift that one
    import pyclesperanto as cle

    runs = []

    @ap.memory_type("pyclesperanto")
    def big(x: Any) -> Any:
        runs.append(1)
        return cle.create((2**20, 2**20, 2**12), dtype=np.uint8)  # 4 PiB

    with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size") as info:
        big(np.ones((2, 2), np.float32))
    assert len(runs) == 1
    assert info.value.attempts == 1
    assert "gave up after 1 attempt, an array exceeds the device's maximum buffer size" in str(
        info.value
    )
    assert "releasing cached memory" not in str(info.value)
    assert "freeing memory held elsewhere" not in str(info.value)  # it lifts no such limit
    assert "freeing memory does not lift that limit" in str(info.value)


def test_buffer_identity_names_the_opencl_buffer(be) -> None:
    import pyclesperanto as cle

    buf = cle.create((1, 4, 5), dtype=np.float32)
    key = be.buffer_identity(buf)
    assert key is not None
    views = (buf.squeeze(), buf.reshape((20,)), buf.ravel(), buf.reshape((2, 10)))
    assert [be.buffer_identity(v) for v in views] == [key] * 4
    assert be.buffer_identity(buf.copy()) != key
    assert be.buffer_identity(cle.create((1, 4, 5), dtype=np.float32)) != key
    assert be.buffer_identity(cle.create((4, 5), dtype=np.float32, mtype="image")) is None


def test_a_fixed_limit_split_does_not_claim_memory_was_released(be) -> None:
    # Under OOMPolicy(split_axis=0) the message said "gave up after 2 attempts, releasing
    # cached memory between them", though no release runs for a fixed limit.
    import pyclesperanto as cle

    released: list[object] = []

    @ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(split_axis=0))
    def big(x: Any) -> Any:
        return cle.create((2**20, 2**20, 2**12), dtype=np.uint8)  # 4 PiB: every piece

    release = be.release_memory

    def counted(*args: Any, **kwargs: Any) -> Any:
        released.append(args)
        return release(*args, **kwargs)

    be.release_memory = counted
    try:
        with pytest.raises(ap.OutOfMemoryError) as info:
            big(np.ones((4, 2), np.float32))
    finally:
        be.release_memory = release
    assert info.value.attempts > 1
    assert not released
    assert "releasing cached memory" not in str(info.value)


def test_an_image_reshaped_to_other_extents_is_refused_with_a_remedy_that_works(be) -> None:
    # OpenCL refuses to read it (CL_INVALID_VALUE, cle.pull too): pyclesperanto's raw
    # RuntimeError came out of convert. reshape() rewrites the extents the image reports,
    # so only the failed read tells.
    import pyclesperanto as cle

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    image = cle.push(a, mtype="image")
    flat = image.reshape((12,))
    for read in (be.to_numpy, be.to_numpy_any):
        with pytest.raises(ap.ConversionError, match="reshape it back to the shape"):
            read(flat)
    for target in ("numpy", "torch", "jax"):
        if MemoryType(target) not in INSTALLED:
            continue
        with pytest.raises(ap.ConversionError, match=r"mtype='buffer'") as info:
            ap.convert(flat, target)
        assert (info.value.source, info.value.target) == (MemoryType.PYCLESPERANTO, target)
    # The remedies: the shape it was created with, or a buffer.
    np.testing.assert_array_equal(ap.convert(flat.reshape((3, 4)), "numpy"), a)
    buffer = cle.push(a).reshape((12,))
    np.testing.assert_array_equal(ap.convert(buffer, "numpy"), a.reshape(12))
