"""backends/torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError
from tests.conftest import skip_unless_installed, torch_oom_type

pytestmark = skip_unless_installed(MemoryType.TORCH)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import torch as backend

    backend.load()
    return backend


def test_describe_and_refusals(be) -> None:
    import torch

    t = torch.zeros(4, 6)
    info = be.describe(t)
    assert info.shape == (4, 6)
    assert info.strides == (24, 4)
    assert info.writable
    assert be.dlpack_refusal(info, False) is None
    assert be.dlpack_export_refusal(be.describe(torch.tensor([1j]).conj())) is not None
    assert not be.describe(torch._neg_view(torch.ones(2))).writable
    assert be.describe(torch.zeros(2, dtype=torch.bfloat16)).dtype_name == "bfloat16"


def test_share_refusals_for_numpy_layouts(be) -> None:
    from arrayport._host import host_info

    a = np.zeros((3, 4), "float32")
    assert be.share_refusal(host_info(a[::-1], CPU)) is not None
    assert be.share_refusal(host_info(a.astype(">f4"), CPU)) is not None
    ro = a.view()
    ro.flags.writeable = False
    assert "read-only" in be.share_refusal(host_info(ro, CPU))
    packed = np.zeros(9, np.uint8)[1:].view(np.float32)
    assert be.share_refusal(host_info(packed, CPU)) is not None


def test_adopt_host_bfloat16_shares(be) -> None:
    import ml_dtypes

    a = np.arange(4).astype(ml_dtypes.bfloat16)
    t = be.from_numpy(a, CPU)
    assert str(t.dtype) == "torch.bfloat16"
    assert t.data_ptr() == a.ctypes.data


def test_copy_resolves_conj_and_detaches(be) -> None:
    import torch

    c = torch.tensor([1 + 1j], requires_grad=False).conj()
    out = be.copy(c)
    assert not out.is_conj()
    assert out.item() == 1 - 1j
    g = torch.ones(2, requires_grad=True)
    assert not be.copy(g).requires_grad


def test_devices_and_resolution(be) -> None:
    assert be.devices()[0] == CPU
    assert be.resolve_device(None, CPU) == CPU
    with pytest.raises(DeviceError, match="cannot place data on cuda:99: it sees"):
        be.resolve_device(Device("cuda", 99), CPU)


def test_oom_recognition_without_torch_2_5_s_top_level_name(
    be, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch.OutOfMemoryError appeared in torch 2.5; arrayport declares torch >= 2.3, where
    # reading it raised AttributeError for every exception once torch was imported.
    import torch

    error = torch.cuda.OutOfMemoryError("CUDA out of memory")
    monkeypatch.delattr(torch, "OutOfMemoryError", raising=False)  # as torch 2.3 and 2.4 are
    assert be.is_oom(error)
    assert not be.is_oom(ValueError("not memory"))
    assert torch.cuda.OutOfMemoryError in be.oom_error_types()


def test_oom_recognition(be) -> None:
    import torch

    assert be.is_oom(torch_oom_type(torch)("x"))
    assert be.is_oom(RuntimeError("[enforce fail] DefaultCPUAllocator: can't allocate memory"))
    assert not be.is_oom(RuntimeError("shape mismatch"))
    assert not be.is_oom(ValueError("DefaultCPUAllocator: can't allocate memory"))
    be.release_memory()
    assert be.memory_info()[0]["device"] == "cpu"


def test_cpu_allocator_oom_is_recognised_in_both_of_torchs_wordings(be) -> None:
    """c10/core/impl/alloc_cpu.cpp: "can't allocate memory" where posix_memalign failed
    (Linux, macOS), "not enough memory" where _aligned_malloc or memalign did (Windows,
    Android). Only the first can be raised here."""
    import torch

    from arrayport._oom_recognition import requested_bytes

    with pytest.raises(RuntimeError, match="DefaultCPUAllocator") as real:
        torch.empty(1 << 62, dtype=torch.uint8)  # beyond the address space: fails at once
    assert type(real.value) is RuntimeError
    assert be.is_oom(real.value)
    assert requested_bytes(real.value) == 1 << 62
    windows = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
        "you tried to allocate 911360 bytes."
    )
    assert be.is_oom(windows)
    assert requested_bytes(windows) == 911360
    assert not be.is_oom(ValueError(str(windows)))
    assert not be.is_oom(RuntimeError("DefaultCPUAllocator: not enough arguments"))


def test_adopt_host_shares_or_copies_like_share_refusal(be) -> None:
    from arrayport._host import aligned_empty, host_info

    a = aligned_empty((4, 6), np.dtype("float32"))
    ro = a.view()
    ro.flags.writeable = False
    for v in (a, a.T, a[::-1], ro, a.astype(">f4")):
        t = be.from_numpy(v, CPU)
        shared = t.data_ptr() == host_info(v, CPU).pointer
        assert shared == (be.share_refusal(host_info(v, CPU)) is None)
        np.testing.assert_array_equal(t.numpy(), v)


def test_the_module_is_published_only_with_its_quick_shares_bound() -> None:
    # Another thread that sees the module loaded takes the quick shares at once; published
    # before bind_quick, they were still None there ("'NoneType' object is not callable").
    script = textwrap.dedent(
        """
        import arrayport
        from arrayport.backends import torch as backend

        bind = backend.bind_quick
        seen = []

        def checked(module):
            seen.append(backend._module)
            bind(module)

        backend.bind_quick = checked
        backend.load()
        assert seen == [None], seen
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ok" in proc.stdout


@pytest.mark.parametrize("name", ["uint1", "uint4", "int2", "int7"])
def test_sub_byte_dtypes_copy(be, name: str) -> None:
    # convert(x, "torch", copy=True) raised torch's NotImplementedError ("copy_kernel").
    import torch

    import arrayport as ap

    x = torch.arange(6, dtype=torch.uint8).view(getattr(torch, name)).reshape(2, 3).T
    out = ap.convert(x, "torch", copy=True)
    assert out.dtype == x.dtype
    assert out.shape == x.shape
    assert out.data_ptr() != x.data_ptr()
    assert out.view(torch.uint8).tolist() == x.view(torch.uint8).tolist()


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(256 * 128, dtype=np.float32).reshape(256, 128).T,  # 128 KiB
        lambda: np.asfortranarray(np.arange(32 * 40 * 16, dtype=np.float64).reshape(32, 40, 16)),
        lambda: (
            np.arange(2 * 32 * 32 * 8, dtype=np.float32).reshape(2, 32, 32, 8).transpose(0, 3, 1, 2)
        ),
        lambda: np.arange(64 * 512, dtype=np.int16).reshape(64, 512).T,  # 64 KiB exactly
    ],
)
def test_adopt_copy_keeps_a_compact_source_s_axis_order(be, make) -> None:
    # A read-only transposed array (or a jax array in a custom layout) was copied
    # row-major: a transposing copy, several times a straight one (ADR 0084). The copy
    # now has the source's strides, as the route that shares gives a writable one.
    import arrayport as ap

    a = make()
    a.flags.writeable = False
    out = be.adopt_copy(a, CPU)
    assert out.stride() == tuple(s // a.itemsize for s in a.strides)
    assert not np.shares_memory(out.numpy(), a)
    np.testing.assert_array_equal(out.numpy(), a)
    via = ap.convert(a, "torch")  # the host-copy route takes it
    assert via.stride() == out.stride()
    np.testing.assert_array_equal(via.numpy(), a)


def test_adopt_copy_is_row_major_below_64_kib_and_for_gapped_views(be) -> None:
    small = np.arange(64 * 64, dtype=np.float32).reshape(64, 64).T  # 16 KiB
    gapped = np.arange(512 * 256, dtype=np.float32).reshape(512, 256).T[:, ::2]
    for a in (small, gapped):
        out = be.adopt_copy(a, CPU)
        assert out.is_contiguous()
        np.testing.assert_array_equal(out.numpy(), a)


@skip_unless_installed(MemoryType.JAX)
def test_a_custom_layout_jax_array_reaches_torch_in_its_own_order(be) -> None:
    import arrayport as ap
    from arrayport.backends._jax_devices import custom_layouts_safe

    if not custom_layouts_safe():
        pytest.skip("jax has several devices here: arrayport makes no custom layouts")
    t = be.load().arange(256 * 128, dtype=be.load().float32).reshape(256, 128).T
    j = ap.convert(t, "jax")  # shared in torch's order (ADR 0082)
    out = ap.convert(j, "torch")  # jax arrays are immutable: a copy
    assert out.stride() == t.stride() == (1, 128)
    assert be.load().equal(out, t)
    assert out.data_ptr() != t.data_ptr()


@pytest.mark.parametrize("kind", ["jagged", "strided-nested", "quantized", "sparse"])
def test_torch_s_own_kinds_are_their_own_identity_and_copy_and_go_nowhere_else(kind) -> None:
    # A jagged nested tensor (a subclass) was refused as its own identity, a strided one
    # (a plain Tensor) returned; copy=True of either, and of quantized and sparse
    # tensors, was refused, though a torch-declared function passes them through.
    import torch

    import arrayport as ap
    from tests.backends.test_torch_describe import _own_kinds

    x = _own_kinds()[kind]
    assert ap.convert(x, "torch") is x
    assert ap.plan(x, "torch").method == "identity"
    assert ap.plan(x, "torch", copy=True).method == "copy"
    c = ap.convert(x, "torch", copy=True)
    assert c is not x
    assert type(c) is type(x)
    assert (c.is_nested, c.is_quantized, c.layout) == (x.is_nested, x.is_quantized, x.layout)
    if x.is_nested:
        assert all(torch.equal(a, b) for a, b in zip(c.unbind(), x.unbind(), strict=True))
    elif x.is_quantized:
        assert torch.equal(c.dequantize(), x.dequantize())
        assert c.int_repr().data_ptr() != x.int_repr().data_ptr()
    else:
        assert torch.equal(c.to_dense(), x.to_dense())
        c.values()[0] = 7.0
        assert x.to_dense()[0, 0] == 1.0
    with pytest.raises(ap.UnsupportedArrayError, match="not converted"):
        ap.convert(x, "numpy")
