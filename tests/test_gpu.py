"""GPU conversions: run only with ARRAYPORT_DEVICE=cuda on a machine with an NVIDIA GPU.

CI has no GPU, so these tests are skipped (cleanly) by tests/conftest.py; they ran on an
H100 (ADR 0057, ``scripts/gpu_check.sh``). They check DLPack zero-copy between cupy, torch,
jax and tensorflow on cuda:0, copies made on the device (never through the host) for
immutable sources and copy=True, host <-> device round trips, a round-trip property over
every dtype and layout, and the plan cache's keys of GPU arrays.
"""

from __future__ import annotations

import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest

import arrayport as ap
from tests._subprocess import python_words
from tests.conftest import INSTALLED
from tests.test_convert import DTYPES, LAYOUTS, X64, np_dtype, numpy_layout

MT = ap.MemoryType
pytestmark = pytest.mark.gpu
GPU_TYPES = [mt for mt in (MT.CUPY, MT.TORCH, MT.JAX, MT.TENSORFLOW) if mt in INSTALLED]


def on_gpu(mt: MT, a: np.ndarray):
    return ap.convert(a, mt, device="cuda:0")


def device_pointer(x) -> int:
    mod = type(x).__module__.partition(".")[0]
    if mod == "cupy":
        return int(x.data.ptr)
    if mod == "torch":
        return int(x.data_ptr())
    if mod in ("jax", "jaxlib"):
        x.block_until_ready()
        return int(x.unsafe_buffer_pointer())
    import tensorflow as tf
    import torch  # tensorflow: read the pointer through torch's DLPack import

    return int(torch.from_dlpack(tf.experimental.dlpack.to_dlpack(x)).data_ptr())


@pytest.mark.parametrize("source", GPU_TYPES)
@pytest.mark.parametrize("target", GPU_TYPES)
def test_gpu_pairs(source: MT, target: MT) -> None:
    a = np.arange(64 * 64, dtype="float32").reshape(64, 64)
    x = on_gpu(source, a)
    assert ap.plan(x, source).device == ap.Device("cuda", 0)
    r = ap.plan(x, target)
    y = ap.convert(x, target)
    assert r.device == ap.Device("cuda", 0)
    np.testing.assert_array_equal(ap.convert(y, "numpy"), a)
    if source is target:
        assert y is x
        return
    assert r.method == "dlpack"
    assert r.zero_copy == (device_pointer(x) == device_pointer(y))
    if source in (MT.JAX, MT.TENSORFLOW) and target in (MT.TORCH, MT.CUPY):
        assert not r.zero_copy  # immutable source: copied on the device
    fresh = ap.convert(x, target, copy=True)
    assert device_pointer(fresh) != device_pointer(x)
    np.testing.assert_array_equal(ap.convert(fresh, "numpy"), a)


@pytest.mark.parametrize("target", GPU_TYPES)
def test_host_to_gpu_and_back(target: MT) -> None:
    a = np.arange(10, dtype="float32")[::-1]
    y = ap.convert(a, target, device="cuda:0")
    assert ap.plan(y, "numpy").method == "host-copy"
    np.testing.assert_array_equal(ap.convert(y, "numpy"), a)


def test_missing_gpu_index_is_a_device_error() -> None:
    for target in GPU_TYPES:
        with pytest.raises(ap.DeviceError):
            ap.convert(np.zeros(2, "float32"), target, device="cuda:999")


# --- every dtype and layout, on the device and to and from the host --------------------

GPU_AND_HOST = ["numpy", *(mt.value for mt in GPU_TYPES)]
ZERO_COPY_IMPOSSIBLE = ("jax", "tensorflow")  # immutable: shared only with each other


def host_values(y) -> np.ndarray:
    """y's values on the host, by the frameworks' own calls (not through arrayport)."""
    from tests.test_convert import to_numpy

    mod = type(y).__module__.partition(".")[0]
    if mod == "cupy":
        return y.get()
    if mod == "torch":
        return to_numpy(y.cpu())
    return to_numpy(y)


def gpu_refuses(target: str, dtype: str) -> bool:
    """The dtypes a GPU memory type cannot hold, which arrayport must refuse by name."""
    if target == "jax":
        import jax

        return dtype in X64 and not jax.config.jax_enable_x64
    return target == "cupy" and dtype == "bfloat16"  # cupy has no bfloat16


def device_source(source: str, a: np.ndarray, view: bool):
    """``a`` on cuda:0 as ``source``; with ``view``, a strided view made on the device."""
    if source == "numpy":
        return a
    x = ap.convert(np.ascontiguousarray(a), source, device="cuda:0")
    if view and source in ("torch", "cupy") and x.ndim >= 1:
        x = x[..., ::2]
    return x


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    source=st.sampled_from(GPU_AND_HOST),
    target=st.sampled_from(GPU_AND_HOST),
    dtype=st.sampled_from(DTYPES),
    layout=st.sampled_from(LAYOUTS),
    view=st.booleans(),
    copy=st.sampled_from([None, True, False]),
)
def test_round_trip_property_on_the_gpu(source, target, dtype, layout, view, copy) -> None:
    """Any pair among the GPU memory types and the host, any dtype and layout: exact values,
    dtype and shape on cuda:0; zero_copy true exactly when the device pointer is shared;
    refusals only where the target cannot hold the dtype."""
    hypothesis.assume(not (source == "numpy" and target == "numpy"))
    a = numpy_layout(np_dtype(dtype), layout)
    if source != "numpy" and (a.dtype.byteorder == ">" or gpu_refuses(source, dtype)):
        return
    x = device_source(source, a, view)
    want = np.array(host_values(x)) if source != "numpy" else np.array(a)
    kw = {"device": "cuda:0"} if source == "numpy" else {}
    if gpu_refuses(target, dtype):
        with pytest.raises(ap.UnsupportedDtypeError, match=dtype):
            ap.convert(x, target, copy=copy, **kw)
        return
    try:
        route = ap.plan(x, target, copy=copy, **kw)
    except ap.CopyRequiredError:
        assert copy is False
        with pytest.raises(ap.CopyRequiredError):
            ap.convert(x, target, copy=copy, **kw)
        return
    y = ap.convert(x, target, copy=copy, **kw)
    assert ap.detect_memory_type(y) == MT(target)
    got = host_values(y)
    assert got.dtype.name == want.dtype.name
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want.astype(want.dtype.newbyteorder("=")))
    if target != "numpy":
        assert ap.plan(y, target).device == ap.Device("cuda", 0)
    if "numpy" in (source, target):
        assert not route.zero_copy  # host <-> device always copies
        return
    if want.size:
        shared = device_pointer(x) == device_pointer(y)
        assert shared == route.zero_copy, route
        if source in ZERO_COPY_IMPOSSIBLE and target not in ZERO_COPY_IMPOSSIBLE:
            assert not shared, "writable alias of an immutable device buffer"
    if copy is True:
        assert y is not x
        assert not route.zero_copy
    if copy is False:
        assert route.zero_copy


def test_route_keys_of_gpu_arrays_match_their_descriptions() -> None:
    """The plan cache keys GPU arrays too: each cheap key equals the full description's."""
    from arrayport._host import route_key_of
    from arrayport.backends import get_backend

    a = np.arange(48, dtype=np.float32).reshape(6, 8)
    for mt in GPU_TYPES:
        backend = get_backend(mt)
        if getattr(backend, "route_key", None) is None:
            continue
        x = ap.convert(a, mt, device="cuda:0")
        arrays = [x, ap.convert(np.zeros((0, 3), np.int16), mt, device="cuda:0")]
        arrays.append(ap.convert(np.array(2.0, np.float32), mt, device="cuda:0"))  # 0-d
        if mt in (MT.TORCH, MT.CUPY):
            arrays += [x[:, ::2], x.T, x[1:, 1:]]
        for y in arrays:
            for address in (True, False):
                key = backend.route_key(y, address)
                if key is None:  # tensorflow keys CPU tensors only: GPU ones are planned in full
                    assert mt is MT.TENSORFLOW, (mt, y.shape)
                    continue
                assert key == route_key_of(backend.describe(y), address), (mt, y.shape)


@pytest.mark.parametrize("target", GPU_TYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_host_layout_reaches_the_gpu_exactly(target: MT, layout: str) -> None:
    """Every numpy layout (unaligned, strided, reversed, read-only, big-endian, 0-d, empty)
    and a spread of dtypes, to each GPU memory type and back: exact, or refused by name."""
    for dtype in ("bool", "int16", "uint32", "float32", "bfloat16", "complex64"):
        a = numpy_layout(np_dtype(dtype), layout)
        if gpu_refuses(target.value, dtype):
            with pytest.raises(ap.UnsupportedDtypeError, match=dtype):
                ap.convert(a, target, device="cuda:0")
            continue
        y = ap.convert(a, target, device="cuda:0")
        assert ap.plan(y, target).device == ap.Device("cuda", 0)
        got = host_values(y)
        assert (got.dtype.name, got.shape) == (a.dtype.name, a.shape)
        np.testing.assert_array_equal(got, a.astype(a.dtype.newbyteorder("=")))
        back = ap.convert(y, "numpy")
        np.testing.assert_array_equal(back, a.astype(a.dtype.newbyteorder("=")))


@pytest.mark.parametrize("target", GPU_TYPES)
def test_big_endian_host_arrays_reach_the_gpu_exactly(target: MT) -> None:
    """Found on an H100: numpy '>i2' -> jax on cuda:0 raised jax's own TypeError."""
    for dtype in (">i2", ">f4", ">c8"):
        a = np.arange(12).reshape(3, 4).astype(dtype)
        y = ap.convert(a, target, device="cuda:0")
        got = host_values(y)
        assert got.dtype == a.dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, a)


def test_as_numpy_reads_cupy_backed_dask_arrays() -> None:
    """Found on an H100: as_numpy called np.asarray on the computed cupy chunks."""
    pytest.importorskip("cupy")
    if MT.DASK not in INSTALLED:
        pytest.skip("dask is not installed")
    from arrayport.testing import as_numpy

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(as_numpy(ap.convert(a, "dask", device="cuda:0")), a)


def _side_stream(mt: MT):
    """A context in which ``mt``'s work runs on a fresh non-default stream of cuda:0."""
    if mt is MT.TORCH:
        import torch

        return torch.cuda.stream(torch.cuda.Stream(device=0))
    import cupy as cp

    return cp.cuda.Stream(non_blocking=True)


def _min_max(y) -> tuple[float, float]:
    """Read on the consumer's current stream (cupy, torch) or its own (jax, tensorflow)."""
    if type(y).__module__.startswith("tensorflow"):
        import tensorflow as tf

        return float(tf.reduce_min(y)), float(tf.reduce_max(y))
    return float(y.min()), float(y.max())


STREAM_PAIRS = [
    (s, t)
    for s in (MT.TORCH, MT.CUPY)
    for t in (MT.CUPY, MT.TORCH, MT.JAX, MT.TENSORFLOW)
    if s is not t and s in GPU_TYPES and t in GPU_TYPES
]


@pytest.mark.parametrize(("source", "target"), STREAM_PAIRS)
def test_a_dlpack_import_waits_for_the_producers_pending_work(source: MT, target: MT) -> None:
    """Kernels the producer still has queued on its (non-default) current stream finish
    before the consumer reads, on the stream the consumer's next work runs on: cupy's and
    torch's current streams, jax's own; tensorflow takes no stream, so the producer is
    finished first. (Passed on an H100 and an H200 for every pair but tensorflow's, which
    is not in the GPU image.)"""
    n = 1 << 26  # 256 MiB of float32: the adds are still running when convert returns
    with _side_stream(source):
        x = on_gpu(source, np.zeros(n, np.float32))
        for _ in range(8):
            x += 1
        y = ap.convert(x, target)
    assert ap.plan(x, target).method == "dlpack"
    assert _min_max(y) == (8.0, 8.0)


# torch copies (on the device, and to the host) on the current stream itself, behind the
# queued adds by construction: its "copy" case checked nothing (audit a24) and is left out;
# its "numpy" case only guards that the host copy stays there. torch's own per-thread
# stream (ThreadStream) runs dispatched calls: the "dispatch" cases check that one waits.
READS_OF_PENDING_WORK = [
    (source, to)
    for source in (MT.CUPY, MT.TORCH)
    if source in GPU_TYPES
    for to in ("numpy", "copy", "dispatch")
    if not (source is MT.TORCH and to == "copy")
]


@pytest.mark.parametrize(("source", "to"), READS_OF_PENDING_WORK)
def test_copies_wait_for_the_current_streams_pending_work(source: MT, to: str) -> None:
    """arrayport copies (cupy) and runs dispatched calls (cupy, torch) on the thread's own
    stream, which must first wait for the kernels still queued on the current stream: a
    host copy, an on-device copy or a dispatched call reading an array being written sees
    the finished values (ADR 0019, ADR 0060; the copies passed on an H100 and an H200)."""
    n = 1 << 26  # 256 MiB of float32: the adds are still running when convert starts
    x = on_gpu(source, np.zeros(n, np.float32))
    for _ in range(8):
        x += 1
    if to == "dispatch":

        @ap.memory_type(source.value)
        def doubled(a):  # runs on the thread's own stream, not the adds' one
            return a * 2

        assert _min_max(doubled(x)) == (16.0, 16.0)
        return
    y = ap.convert(x, "numpy") if to == "numpy" else ap.convert(x, source, copy=True)
    assert _min_max(y) == (8.0, 8.0)


# --- from a by-documentation review of the GPU paths (session 8); tensorflow's not yet run ---


@pytest.mark.skipif(MT.TENSORFLOW not in GPU_TYPES, reason="tensorflow is not installed")
def test_copy_true_into_tensorflow_on_the_gpu_is_a_fresh_buffer() -> None:
    # tf.identity on the same device forwards its input's buffer: copy=True used it.
    x = on_gpu(MT.TENSORFLOW, np.arange(16, dtype=np.float32))
    y = ap.convert(x, MT.TENSORFLOW, copy=True)
    assert device_pointer(y) != device_pointer(x)
    np.testing.assert_array_equal(ap.convert(y, MT.NUMPY), np.arange(16, dtype=np.float32))


@pytest.mark.skipif(MT.TENSORFLOW not in GPU_TYPES, reason="tensorflow is not installed")
@pytest.mark.parametrize("target", [mt for mt in (MT.TORCH, MT.CUPY) if mt in GPU_TYPES])
def test_tensorflow_gpu_tensors_reach_stream_passing_consumers(target: MT) -> None:
    # tensorflow's __dlpack__ refuses any stream; torch and cupy always pass one on CUDA.
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = on_gpu(MT.TENSORFLOW, values)
    np.testing.assert_array_equal(ap.convert(ap.convert(x, target), MT.NUMPY), values)


@pytest.mark.skipif(MT.CUPY not in GPU_TYPES, reason="cupy is not installed")
def test_a_cupy_oom_inside_a_numpy_function_is_cupy_s_and_releases_its_pool() -> None:
    # cupy's OutOfMemoryError is a MemoryError: numpy, asked first, claimed it, so cupy's
    # pool was never released and the error named numpy.
    import cupy as cp

    def fn(a: np.ndarray) -> np.ndarray:
        raise cp.cuda.memory.OutOfMemoryError(1 << 30, 0)

    with pytest.raises(ap.OutOfMemoryError) as info:
        ap.OOMPolicy(retries=0).run(fn, np.zeros(2))
    assert info.value.memory_type is MT.CUPY


# --- jaxlib's direct DLPack import on the GPU (ADR 0063) ---

JAX_SOURCES = [mt for mt in (MT.CUPY, MT.TORCH) if mt in GPU_TYPES] if MT.JAX in GPU_TYPES else []


@pytest.mark.parametrize("source", JAX_SOURCES)
def test_direct_jax_import_on_the_gpu_matches_the_public_call(source: MT) -> None:
    """Into jax on cuda:0, jaxlib's import is called directly: it shares the source's
    memory and gives what ``jax.dlpack.from_dlpack`` gives, for every dtype."""
    import jax

    from arrayport.backends import _jax_dlpack

    assert _jax_dlpack.gpu_importer_on(0) is not None, "no direct GPU import on this jax"
    for dtype in ("bool", "uint8", "int16", "float16", "int32", "float32", "complex64"):
        if gpu_refuses(source.value, dtype):
            continue
        a = np.arange(24).reshape(4, 6).astype(dtype)
        x = on_gpu(source, a)
        y = ap.convert(x, MT.JAX)
        ref = jax.dlpack.from_dlpack(on_gpu(source, a))
        assert device_pointer(y) == device_pointer(x), (source, dtype)
        assert (y.dtype, y.shape, y.weak_type) == (ref.dtype, ref.shape, ref.weak_type)
        assert y.devices() == ref.devices()
        np.testing.assert_array_equal(np.asarray(y), np.asarray(ref))


@pytest.mark.parametrize("source", JAX_SOURCES)
def test_direct_jax_import_waits_for_default_stream_work(source: MT) -> None:
    """Kernels still queued on the producer's default stream finish before jax reads
    (the side-stream case is test_a_dlpack_import_waits_for_the_producers_pending_work)."""
    import jax.numpy as jnp

    n = 1 << 26  # 256 MiB of float32: the adds are still running when convert returns
    x = on_gpu(source, np.zeros(n, np.float32))
    for _ in range(8):
        x += 1
    y = ap.convert(x, MT.JAX)
    assert (float(jnp.min(y)), float(jnp.max(y))) == (8.0, 8.0)


@pytest.mark.skipif(MT.JAX not in GPU_TYPES, reason="jax is not installed")
def test_jax_unit_and_minmax_on_the_gpu_are_exact_without_x64() -> None:
    """jax on a GPU without 64-bit mode would compute the stretch in float32 (int16 128
    -> 128 under MINMAX, 129 exactly): arrayport computes it on the host instead."""
    import jax

    if jax.config.jax_enable_x64:
        pytest.skip("64-bit mode is on: jax computes in float64 itself")
    values = np.array([128, 1, -32768, 32766], np.int16)
    x = ap.convert(values, MT.JAX, device="cuda:0")
    out = ap.convert_dtype(x, "int16", scaling="minmax")
    assert ap.detect_memory_type(out) is MT.JAX
    np.testing.assert_array_equal(np.asarray(out), [129, 2, -32768, 32767])
    big = ap.convert(
        np.array([4294967294, 127, 4294967295, 2147483647], np.uint32), MT.JAX, device="cuda:0"
    )
    np.testing.assert_array_equal(
        np.asarray(ap.convert_dtype(big, "uint32", scaling="minmax")),
        np.asarray(ap.convert_dtype(np.asarray(big), "uint32", scaling="minmax")),
    )


@pytest.mark.skipif(MT.TORCH not in JAX_SOURCES, reason="needs torch and jax on the GPU")
def test_torch_exports_into_jax_order_each_current_streams_work() -> None:
    """torch -> jax keeps jax's stream object between calls (ADR 0066): whichever torch
    stream is current (a side stream, the default, another side stream, the first again),
    its queued work finishes before jax reads, and jax's values are those of the source."""
    import jax.numpy as jnp
    import torch

    n = 1 << 26  # 256 MiB of float32: the adds are still running when convert returns
    first, second = torch.cuda.Stream(device=0), torch.cuda.Stream(device=0)
    for step, stream in enumerate((first, torch.cuda.default_stream(0), second, first)):
        with torch.cuda.stream(stream):
            x = torch.zeros(n, device="cuda:0")
            for _ in range(step + 2):
                x += 1
            y = ap.convert(x, MT.JAX)
        assert ap.plan(x, MT.JAX).zero_copy
        assert (float(jnp.min(y)), float(jnp.max(y))) == (step + 2.0, step + 2.0), stream


@pytest.mark.parametrize("mt", [mt for mt in (MT.CUPY, MT.TORCH) if mt in INSTALLED])
def test_memory_report_gives_the_gpus_capacity(mt: MT) -> None:
    # Kept until the report: an array dropped at once was freed, and "in use" read 0 unless
    # an earlier test had left 4 KiB alive (it failed when run alone; audit a24).
    kept = on_gpu(mt, np.ones(1024, np.float32))
    rows = [row for row in ap.memory_report([mt]).rows if row.device == "cuda:0"]
    assert len(rows) == 1
    (row,) = rows
    assert row.total is not None
    assert row.free is not None
    assert 0 < row.free <= row.total
    assert row.in_use is not None
    assert row.in_use >= kept.nbytes == 4096


@pytest.mark.skipif(MT.JAX not in INSTALLED, reason="jax is not installed")
@pytest.mark.parametrize("copy", [None, True])
def test_jax_gpu_arrays_reach_numpy_as_fresh_writable_copies(copy: bool | None) -> None:
    # np.asarray of a jax GPU array is jax's read-only host copy, kept on the array: a
    # copy=True conversion returned it, the same object on every call.
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = on_gpu(MT.JAX, a)
    first = ap.convert(x, "numpy", copy=copy)
    second = ap.convert(x, "numpy", copy=copy)
    assert first is not second
    assert first.flags.writeable
    assert not np.shares_memory(first, second)
    first[0, 0] = -1.0
    np.testing.assert_array_equal(second, a)


# --- two GPUs (audit a24): the GPU image has one GPU, so these skip there. They cover a
# GPU that is not the current device, moves between GPUs, and how jax numbers its GPUs.


def _two_gpus(*mts: MT) -> None:
    """Skip unless each of ``mts`` sees two GPUs or more."""
    for mt in mts:
        if mt is MT.TORCH:
            import torch

            n = torch.cuda.device_count()
        elif mt is MT.CUPY:
            import cupy as cp

            n = cp.cuda.runtime.getDeviceCount()
        else:
            import jax

            try:
                n = len(jax.local_devices(backend="gpu"))
            except RuntimeError:  # a jax without a GPU platform
                n = 0
        if n < 2:
            pytest.skip(f"needs two GPUs; {mt.value} sees {n}")


def _jax_values(y) -> tuple[float, float]:
    import jax.numpy as jnp

    return float(jnp.min(y)), float(jnp.max(y))


@pytest.mark.skipif(MT.TORCH not in JAX_SOURCES, reason="needs torch and jax on the GPU")
def test_torch_tensors_on_a_gpu_that_is_not_current_reach_jax() -> None:
    """torch exports only from its current device (else a BufferError): a cuda:1 tensor
    reached jax only inside torch.cuda.device(1). Both jax imports: the direct one onto
    the tensor's GPU, the public one (then moved) onto another."""
    import torch

    from arrayport.backends import jax as be

    _two_gpus(MT.TORCH, MT.JAX)
    with torch.cuda.device(0):
        t = torch.zeros(1 << 26, device="cuda:1")  # 256 MiB: the adds are still running
        for _ in range(8):
            t += 1
        y = ap.convert(t, MT.JAX)
        assert ap.plan(y, MT.JAX).device == ap.Device("cuda", 1)
        assert device_pointer(y) == device_pointer(t)
        assert _jax_values(y) == (8.0, 8.0)
        moved = be.from_dlpack(t, ap.Device("cuda", 0))
        assert ap.plan(moved, MT.JAX).device == ap.Device("cuda", 0)
        assert _jax_values(moved) == (8.0, 8.0)
        assert torch.cuda.current_device() == 0  # left as it was


@pytest.mark.skipif(MT.CUPY not in JAX_SOURCES, reason="needs cupy and jax on the GPU")
def test_cupy_work_queued_on_a_gpu_that_is_not_current_finishes_before_jax_reads() -> None:
    """cupy orders the current device's stream before jax's: cuda:1's queued adds were
    not waited for while device 0 was current."""
    import cupy as cp

    from arrayport.backends import jax as be

    _two_gpus(MT.CUPY, MT.JAX)
    with cp.cuda.Device(1):
        x = cp.zeros(1 << 26, cp.float32)  # 256 MiB: the adds are still running
        for _ in range(8):
            x += 1
    assert cp.cuda.runtime.getDevice() == 0
    y = ap.convert(x, MT.JAX)
    assert ap.plan(y, MT.JAX).device == ap.Device("cuda", 1)
    assert device_pointer(y) == device_pointer(x)
    assert _jax_values(y) == (8.0, 8.0)
    with cp.cuda.Device(1):
        x += 1
    moved = be.from_dlpack(x, ap.Device("cuda", 0))
    assert ap.plan(moved, MT.JAX).device == ap.Device("cuda", 0)
    assert _jax_values(moved) == (9.0, 9.0)
    assert cp.cuda.runtime.getDevice() == 0


@pytest.mark.skipif(MT.CUPY not in GPU_TYPES, reason="cupy is not installed")
def test_strided_cupy_arrays_move_between_gpus_after_their_pending_work() -> None:
    """cupy copies between GPUs only compact memory: a strided slice raised cupy's
    NotImplementedError; it is made compact on its own GPU first, behind the adds."""
    import cupy as cp

    _two_gpus(MT.CUPY)
    with cp.cuda.Device(1):
        base = cp.zeros((4096, 8192), cp.float32)  # 128 MiB: the adds are still running
        for _ in range(8):
            base += 1
        base[:, 1::2] = -1  # the columns the slice leaves out
        x = base[:, ::2]
    y = ap.convert(x, MT.CUPY, device="cuda:0")
    assert y.device.id == 0
    assert y.shape == (4096, 4096)
    with cp.cuda.Device(0):
        assert (float(y.min()), float(y.max())) == (8.0, 8.0)
    assert cp.cuda.runtime.getDevice() == 0


@pytest.mark.skipif(MT.JAX not in GPU_TYPES, reason="jax is not installed")
def test_jax_gpus_are_named_by_their_cuda_ordinal() -> None:
    """cuda:N is the jax GPU whose DLPack device id (local_hardware_id) is N."""
    import jax
    import jax.numpy as jnp

    for gpu in jax.local_devices(backend="gpu"):
        x = jax.device_put(jnp.arange(3.0), gpu)
        assert ap.plan(x, MT.JAX).device == ap.Device("cuda", gpu.local_hardware_id)
        assert x.__dlpack_device__()[1] == gpu.local_hardware_id


@pytest.mark.skipif(MT.TORCH not in JAX_SOURCES, reason="needs torch and jax on the GPU")
def test_jax_restricted_to_the_second_gpu_calls_it_cuda_1() -> None:
    """With jax_cuda_visible_devices="1" jax's one GPU is CUDA's device 1: it was called
    cuda:0, so jax -> torch landed on GPU 1 and was then moved to GPU 0, and torch's
    cuda:1 was refused as a device jax did not see."""
    _two_gpus(MT.TORCH, MT.JAX)
    script = """
import jax
jax.config.update("jax_cuda_visible_devices", "1")
import numpy as np, torch, arrayport as ap
(gpu,) = jax.local_devices(backend="gpu")
x = jax.device_put(np.arange(6, dtype=np.float32), gpu)
t = ap.convert(x, "torch")
print(gpu.local_hardware_id, ap.plan(x, "jax").device, ap.plan(x, "torch").device, t.device)
print(t.tolist() == list(range(6)))
y = ap.convert(torch.arange(4.0, device="cuda:1"), "jax")
print(y.devices() == {gpu}, np.asarray(y).tolist() == [0.0, 1.0, 2.0, 3.0])
try:
    ap.convert(torch.ones(2, device="cuda:0"), "jax")
except ap.DeviceError as exc:
    print("refused", "sees only cuda:1" in str(exc))
"""
    words = ["1", "cuda:1", "cuda:1", "cuda:1", "True", "True", "True", "refused", "True"]
    assert python_words(script) == words


@pytest.mark.parametrize("mt", [mt for mt in (MT.CUPY, MT.TORCH) if mt in GPU_TYPES])
def test_a_release_with_no_device_leaves_gpus_without_a_context_alone(mt: MT) -> None:
    """The OOM policy releases with no device when the error's framework is not the
    call's: every GPU was entered and synchronised, creating a CUDA context (hundreds of
    MiB) on each that had none (ADR 0092). A fresh process uses GPU 0 only."""
    _two_gpus(mt)
    script = f"""
import numpy as np, arrayport as ap
from arrayport.backends import get_backend
name = {mt.value!r}
x = ap.convert(np.ones(1 << 20, np.float32), name, device="cuda:0")
if name == "torch":
    import torch
    has = torch._C._cuda_hasPrimaryContext
else:
    from arrayport.backends.cupy import _has_context as has
print(has(0), has(1))
get_backend(ap.MemoryType(name)).release_memory(None)
print(has(0), has(1))
"""
    assert python_words(script) == ["True", "False", "True", "False"]
