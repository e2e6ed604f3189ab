"""_routes: the refusal reasons and runners behind the routes (through plan and convert)."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap
from tests.conftest import INSTALLED, skip_unless_installed
from tests.test_convert import MT, numpy_layout, to_numpy


@skip_unless_installed(MT.JAX)
def test_unaligned_numpy_to_jax_copies_once_into_aligned_buffer() -> None:
    a = numpy_layout(np.dtype("float32"), "unaligned")
    r = ap.plan(a, "jax")
    assert r.method == "host-copy"
    assert not r.zero_copy
    assert "64-byte" in r.reason
    y = ap.convert(a, "jax")
    y.block_until_ready()
    assert y.unsafe_buffer_pointer() % 64 == 0


@skip_unless_installed(MT.TORCH)
def test_negative_strides_to_torch_copies_instead_of_crashing() -> None:
    a = np.arange(12.0).reshape(3, 4)[::-1]
    r = ap.plan(a, "torch")
    assert not r.zero_copy
    assert "negative strides" in r.reason
    np.testing.assert_array_equal(ap.convert(a, "torch").numpy(), a)
    with pytest.raises(ap.CopyRequiredError, match="negative strides") as info:
        ap.convert(a, "torch", copy=False)
    # The error says which copying route the conversion needs, and between what.
    assert (info.value.method, info.value.source, info.value.target) == (
        "host-copy",
        MT.NUMPY,
        MT.TORCH,
    )


@skip_unless_installed(MT.TORCH)
def test_readonly_numpy_never_becomes_a_writable_torch_alias() -> None:
    a = np.arange(4.0)
    a.flags.writeable = False
    t = ap.convert(a, "torch")
    t += 1
    np.testing.assert_array_equal(a, np.arange(4.0))
    with pytest.raises(ap.CopyRequiredError, match="read-only"):
        ap.convert(a, "torch", copy=False)


@skip_unless_installed(MT.PYCLESPERANTO)
def test_pyclesperanto_widenings_are_reported() -> None:
    r = ap.plan(np.array([True, False]), "pyclesperanto")
    assert "bool is widened losslessly to uint8" in r.reason
    y = ap.convert(np.array([1.5, -2.25], dtype="float16"), "pyclesperanto")
    assert str(y.dtype) == "float32"
    np.testing.assert_array_equal(to_numpy(y), [1.5, -2.25])


@skip_unless_installed(MT.PYCLESPERANTO)
@pytest.mark.parametrize("name", ["int64", "uint64", "float64", "complex64", "complex128"])
def test_pyclesperanto_refuses_narrowing_dtypes(name: str) -> None:
    with pytest.raises(ap.UnsupportedDtypeError, match="convert_dtype"):
        ap.convert(np.zeros(3, name), "pyclesperanto")


@skip_unless_installed(MT.PYCLESPERANTO)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1, 2, 2, 2)])
def test_pyclesperanto_refuses_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ap.ConversionError, match="pyclesperanto"):
        ap.convert(np.zeros(shape, "float32"), "pyclesperanto")


@skip_unless_installed(MT.PYCLESPERANTO)
@skip_unless_installed(MT.DASK)
def test_lazy_source_of_unknown_shape_is_checked_again_once_computed() -> None:
    # dask after boolean indexing: the extent is unknown when planning, so pyclesperanto's
    # "no empty arrays" can only be checked on the computed array (it raised a bare
    # IndexError from the push).
    da = pytest.importorskip("dask.array")
    d = da.arange(10, chunks=3).astype(np.float32)
    empty = d[d > 100]
    assert ap.plan(empty, "pyclesperanto").method == "host-copy"
    with pytest.raises(ap.ConversionError, match="pyclesperanto cannot hold empty arrays"):
        ap.convert(empty, "pyclesperanto")
    np.testing.assert_array_equal(to_numpy(ap.convert(d[d > 6], "pyclesperanto")), [7, 8, 9])


def _zeros_65d(source: MT) -> object:
    if source is MT.TORCH:
        return pytest.importorskip("torch").zeros((1,) * 65)
    if source is MT.JAX:
        return pytest.importorskip("jax.numpy").zeros((1,) * 65)
    return pytest.importorskip("tensorflow").zeros((1,) * 65)


@pytest.mark.parametrize("source", [MT.TORCH, MT.JAX, MT.TENSORFLOW])
def test_more_than_64_dimensions_are_refused_between_frameworks(source: MT) -> None:
    # numpy holds at most 64 dimensions and the frameworks' DLPack likewise: torch's
    # .numpy(), np.asarray(jax) and tensorflow's DLPack export raised raw errors.
    big = _zeros_65d(source)
    for target in (MT.NUMPY, MT.TORCH, MT.JAX):
        if target is source or target not in INSTALLED:
            continue
        for _ in range(2):  # the second call asks the plan cache first
            with pytest.raises(ap.ConversionError, match=r"65-dimensional.*at most 64"):
                ap.convert(big, target)
    assert ap.convert(big, source) is big  # within its framework nothing is refused


@skip_unless_installed(MT.TORCH)
def test_steps_of_a_copy_read_without_a_host_view_say_so() -> None:
    # The steps said "torch exposes its host memory (shared)" where the reason said torch
    # exposes no host view (a lazily conjugated tensor is read by a copy).
    import torch

    route = ap.plan(torch.tensor([1 + 2j]).conj(), "numpy")
    assert route.steps[0] == "torch reads it into a fresh host array (no view of this array)"
    assert "exposes no host view" in route.reason
    # A copy read through a host view (numpy is always installed; jax may not be).
    plain = ap.plan(torch.ones(3), "numpy", copy=True)
    assert plain.steps[0] == "torch exposes its host memory (shared)"


@skip_unless_installed(ap.MemoryType.PYCLESPERANTO)
@skip_unless_installed(ap.MemoryType.DASK)
def test_a_lazy_source_meets_the_targets_size_limit_before_it_is_computed(monkeypatch) -> None:
    # convert() computed the whole dask graph into host memory, then refused it for
    # pyclesperanto's maximum buffer size (plan() refused before anything ran).
    import dask
    import dask.array as da

    from arrayport.backends import pyclesperanto as backend

    monkeypatch.setattr(backend, "max_buffer_bytes", lambda device: 4096)
    computed: list[tuple[int, ...]] = []

    def mark(block: np.ndarray) -> np.ndarray:
        computed.append(block.shape)
        return block

    x = da.ones((4, 1024), dtype=np.float32, chunks=(1, 1024)).map_blocks(mark)  # 16 KiB
    with dask.config.set(scheduler="synchronous"):
        meta_calls = len(computed)  # map_blocks' own metadata runs
        with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size"):
            ap.convert(x, "pyclesperanto")
    assert len(computed) == meta_calls  # no block computed


@skip_unless_installed(MT.PYCLESPERANTO)
def test_pyclesperanto_routes_give_its_own_reason_for_no_host_share() -> None:
    # On PoCL opencl:0 is the host CPU, yet the reason said "cpu -> opencl:0 is not host
    # memory on both sides"; pyclesperanto's own reason was never reached.
    import pyclesperanto as cle

    own = "no host share: pyclesperanto always copies host memory into OpenCL buffers"
    into = ap.plan(np.ones((2, 2), np.float32), "pyclesperanto")
    out = ap.plan(cle.push(np.ones((2, 2), np.float32)), "numpy")
    for route in (into, out):
        assert route.method == "host-copy"
        assert own in route.reason
        assert "not host memory" not in route.reason
    with pytest.raises(ap.CopyRequiredError, match=own) as info:
        ap.convert(np.ones((2, 2), np.float32), "pyclesperanto", copy=False)
    assert "not host memory" not in str(info.value)
    with pytest.raises(ap.CopyRequiredError, match=own):
        ap.convert(cle.push(np.ones((2, 2), np.float32)), "numpy", copy=False)


@skip_unless_installed(MT.TORCH)
@skip_unless_installed(MT.PYCLESPERANTO)
def test_a_source_without_a_host_view_is_read_by_a_copy_into_pyclesperanto_too() -> None:
    # A tensor with torch's lazy negation bit has no host view: into numpy the steps said
    # torch reads it into a fresh array, into pyclesperanto they said torch "exposes its
    # host memory (shared)", as pyclesperanto's own refusal hid the missing view.
    import torch

    t = torch.tensor([[1 + 2j, 3 + 4j]], dtype=torch.complex64).conj().imag
    assert t.is_neg()
    for target in ("numpy", "pyclesperanto"):
        route = ap.plan(t, target)
        assert route.method == "host-copy"
        assert route.steps[0] == "torch reads it into a fresh host array (no view of this array)"
        assert not any("exposes its host memory" in step for step in route.steps)
    np.testing.assert_array_equal(ap.convert(ap.convert(t, "pyclesperanto"), "numpy"), [[-2, -4]])


@skip_unless_installed(MT.JAX)
def test_a_custom_layout_jax_source_is_read_in_place_by_the_copy_and_the_steps_say_so() -> None:
    # The copy reads a jax array in a custom layout in place (strided_view), but the steps
    # into pyclesperanto and tensorflow said jax "reads it into a fresh host array (no view
    # of this array)", and copy=False's error gave that reason instead of the target's.
    from arrayport.backends._jax_devices import custom_layouts_safe

    if not custom_layouts_safe():
        pytest.skip("jax has several devices here: arrayport makes no custom layouts")
    a = np.asfortranarray(np.arange(300 * 400, dtype=np.float32).reshape(300, 400))
    j = ap.convert(a, "jax")
    for target in ("pyclesperanto", "tensorflow"):
        if MT(target) not in INSTALLED:
            continue
        route = ap.plan(j, target)
        assert route.method == "host-copy"
        assert route.steps[0] == "jax exposes its host memory (shared)", route.steps
        assert "no host view" not in route.reason
        np.testing.assert_array_equal(to_numpy(ap.convert(j, target)), a)
    if MT.PYCLESPERANTO in INSTALLED:
        own = "pyclesperanto always copies host memory into OpenCL buffers"
        with pytest.raises(ap.CopyRequiredError, match=own):
            ap.convert(j, "pyclesperanto", copy=False)


def test_a_gpu_source_s_reason_is_the_device_check_not_the_host_to_device_text() -> None:
    # cupy's own refusal speaks of host data copied onto the device: for a read from a GPU
    # into numpy the reason became that text, which describes the other direction.
    from arrayport._host import host_info
    from arrayport._routes import _host_share_refusal
    from arrayport.backends import get_backend
    from arrayport.devices import CPU, Device

    info = host_info(np.ones(3), Device("cuda", 0))
    why = _host_share_refusal(get_backend(MT.CUPY), get_backend(MT.NUMPY), None, info, CPU, False)
    assert why == "cuda:0 -> cpu is not host memory on both sides"


def _empty_beyond_numpy(source: MT, dtype: str = "float32"):
    shape = (2**40, 0, 2**40)  # float32: 2**82 bytes in the non-zero extents
    if source is MT.TORCH:
        torch = pytest.importorskip("torch")
        return torch.zeros(shape, dtype=getattr(torch, dtype))
    if source is MT.JAX:
        return pytest.importorskip("jax.numpy").zeros(shape, dtype)
    return pytest.importorskip("tensorflow").zeros(list(shape), dtype)


@pytest.mark.parametrize("source", [MT.TORCH, MT.JAX, MT.TENSORFLOW])
def test_an_empty_array_numpy_cannot_describe_is_refused_between_frameworks(source: MT) -> None:
    # np.empty((2**40, 0, 2**40), "f4") raises "array is too big"; torch, jax and
    # tensorflow hold it. Host views and copies raised numpy's raw ValueError, and plan
    # promised routes (host-copy into torch, DLPack into jax) that convert could not run.
    if source not in INSTALLED:
        pytest.skip(f"{source.value} is not installed")
    big = _empty_beyond_numpy(source)
    for target in (MT.NUMPY, MT.TORCH, MT.JAX, MT.TENSORFLOW, MT.DASK):
        if target is source or target not in INSTALLED:
            continue
        for copy in (None, True, False):
            for call in (ap.plan, ap.convert, ap.plan, ap.convert):  # then from the cache
                with pytest.raises(ap.ConversionError, match=r"even though the array is empty"):
                    call(big, target, copy=copy)
    for copy in (None, True, False):  # within its framework nothing is refused
        assert tuple(ap.convert(big, source, copy=copy).shape) == (2**40, 0, 2**40)


@skip_unless_installed(MT.TORCH)
def test_an_empty_array_within_numpy_s_byte_limit_still_converts() -> None:
    import torch

    fits = torch.zeros((2**31, 0, 2**31), dtype=torch.uint8)  # 2**62 bytes: numpy's too
    assert ap.convert(fits, "numpy").shape == (2**31, 0, 2**31)
    with pytest.raises(ap.ConversionError, match="numpy's limit"):
        ap.convert(fits.to(torch.int16), "numpy")  # 2**63 bytes: one past it


@skip_unless_installed(MT.DASK)
def test_a_task_graph_of_more_bytes_than_numpy_holds_is_refused_before_computing() -> None:
    # plan promised a host copy; convert computed, and numpy raised "iterator is too large".
    import dask.array as da

    x = da.broadcast_to(da.zeros(1), (2**61, 4), chunks=(2**61, 4))
    for target in (MT.NUMPY, MT.TORCH):
        if target not in INSTALLED:
            continue
        for call in (ap.plan, ap.convert):
            with pytest.raises(ap.ConversionError, match=r"numpy cannot hold it.*in parts"):
                call(x, target)
