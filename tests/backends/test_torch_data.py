"""backends/_torch_data: tensors whose memory does not hold their values are refused on
every route (wrapper subclasses, lazy parameters, tensors without readable data)."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.errors import UnsupportedArrayError
from tests.conftest import INSTALLED, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TORCH)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import torch as backend

    backend.load()
    return backend


@pytest.fixture
def safe_repr(monkeypatch):
    """A failure's traceback shows the arguments of each frame, and torch's repr of a tensor
    without memory reads through its null pointer: the test run would die of a segfault
    instead of reporting the failure. Only the repr is replaced."""
    import torch

    monkeypatch.setattr(torch.Tensor, "__repr__", lambda self: f"<tensor {tuple(self.shape)}>")


def _refused_everywhere(x, match: str, targets=("numpy", "jax", "torch")) -> None:
    """plan, convert and a dispatched call refuse ``x`` with an arrayport error naming
    ``match``, for every installed target (never a raw error or garbage values)."""
    import arrayport as ap

    for target in targets:
        if MemoryType(target) not in INSTALLED:
            continue
        with pytest.raises(UnsupportedArrayError, match=match):
            ap.plan(x, target)
        with pytest.raises(UnsupportedArrayError, match=match):
            ap.convert(x, target)
        if target != "torch":
            with pytest.raises(UnsupportedArrayError, match=match):
                ap.memory_type(target)(lambda a: a)(x)


def test_wrapper_subclasses_are_refused_with_their_remedy(safe_repr) -> None:
    # DTensor, MaskedTensor and FakeTensor keep their values outside their own storage
    # (data_ptr() is 0): they were shared through DLPack as garbage memory, zero_copy=True,
    # or failed with torch's raw ".numpy() is not supported for tensor subclasses".
    import warnings

    import torch
    import torch.distributed as dist
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed.device_mesh import init_device_mesh

    try:
        from torch.distributed.tensor import Shard, distribute_tensor
    except ImportError:  # torch 2.3: DTensor lives in torch.distributed._tensor
        from torch.distributed._tensor import Shard, distribute_tensor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: MaskedTensor is a prototype
        masked = torch.masked.masked_tensor(
            torch.arange(4.0), torch.tensor([True, False, True, False])
        )
    _refused_everywhere(masked, r"MaskedTensor .*x\.get_data\(\) and x\.get_mask\(\)")
    with FakeTensorMode():
        fake = torch.empty(4)
    _refused_everywhere(fake, "FakeTensor .*no values.*outside FakeTensorMode")

    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1,))
        dtensor = distribute_tensor(torch.arange(4.0), mesh, [Shard(0)])
        _refused_everywhere(dtensor, r"DTensor .*x\.full_tensor\(\)")
        import arrayport as ap

        np.testing.assert_array_equal(ap.convert(dtensor.full_tensor(), "numpy"), np.arange(4.0))
    finally:
        dist.destroy_process_group()


def test_plain_subclasses_over_their_own_storage_still_share() -> None:
    import torch

    import arrayport as ap

    class Image(torch.Tensor):  # a torchvision-style subclass: __torch_function__ only
        pass

    for t in (torch.nn.Parameter(torch.arange(6.0)), torch.arange(6.0).as_subclass(Image)):
        route = ap.plan(t, "numpy")
        out = ap.convert(t, "numpy")
        assert route.zero_copy
        assert out.ctypes.data == t.data_ptr()
        np.testing.assert_array_equal(out, np.arange(6.0))


def test_tensors_without_data_are_refused_on_every_route(safe_repr) -> None:
    # Plain torch.Tensor objects whose elements have no memory behind them: numpy made an
    # uninitialised buffer of its own for .numpy(), and DLPack exported a null pointer.
    import torch

    import arrayport as ap

    ap.convert(torch.ones(4), "numpy")  # a healthy tensor of the same route key first
    if MemoryType.JAX in INSTALLED:
        ap.convert(torch.ones(4), "jax")
    freed = torch.ones(4)
    freed.untyped_storage().resize_(0)
    zero = torch._efficientzerotensor(4)
    functional = torch._to_functional_tensor(torch.arange(4.0))
    out = ("numpy", "jax")  # a plain tensor's identity is returned as it is, undescribed
    _refused_everywhere(freed, r"storage holds 0 bytes, but its 4 elements need 16.*resize", out)
    _refused_everywhere(zero, r"ZeroTensor .*x\.clone\(\)", out)
    _refused_everywhere(functional, "functional torch tensor", out)
    for x in (freed, zero, functional):
        assert ap.convert(x, "torch") is x
        with pytest.raises(UnsupportedArrayError):
            ap.convert(x, "torch", copy=True)  # torch's own clone read freed memory


def test_a_shrunk_storage_is_refused_by_describe(be, safe_repr) -> None:
    import torch

    t = torch.arange(8.0)[2:]
    t.untyped_storage().resize_(16)  # data pointer still set, but 4 of the 32 bytes
    with pytest.raises(UnsupportedArrayError, match="holds 16 bytes, but its 6 elements need 32"):
        be.describe(t)
    assert be.describe(torch.arange(8.0)[2:]).shape == (6,)
    assert be.describe(torch.empty(0)).shape == (0,)


def test_a_dispatched_result_without_data_is_refused(safe_repr) -> None:
    # The quick share back to numpy took .numpy()'s buffer of numpy's own as the result.
    import torch

    import arrayport as ap

    @ap.memory_type("torch")
    def freed(a):
        out = a.clone()
        out.untyped_storage().resize_(0)
        return out

    @ap.memory_type("torch")
    def zeros(a):
        return torch._efficientzerotensor(a.shape)

    for f in (freed, zeros):
        with pytest.raises(UnsupportedArrayError):
            f(np.ones(4, np.float32))


def test_wrappers_of_torch_func_transforms_are_refused(safe_repr) -> None:
    # vmap's and grad's tensors have no storage: data_ptr() raised a raw RuntimeError.
    import torch

    import arrayport as ap

    seen = []

    def probe(t):
        with pytest.raises(UnsupportedArrayError, match="outside the transform"):
            ap.convert(t, "numpy")
        seen.append(t.shape)
        return t

    torch.func.vmap(probe)(torch.ones(3, 4))
    torch.func.grad(lambda t: probe(t).sum())(torch.ones(3))
    assert seen == [(4,), (3,)]


def test_uninitialized_lazy_parameters_are_refused_with_the_remedy() -> None:
    # element_size() raised torch's raw ValueError on every route.
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: lazy modules are in development
        module = torch.nn.LazyLinear(3)
    _refused_everywhere(module.weight, "uninitialized lazy torch parameter.*run the module once")
    module(torch.ones(2, 5))
    import arrayport as ap

    assert ap.convert(module.weight, "numpy").shape == (3, 5)


def test_more_dimensions_than_numpy_holds_give_an_arrayport_error() -> None:
    # The quick share of a dispatched call raised numpy's raw ValueError.
    import torch

    import arrayport as ap
    from arrayport.errors import ArrayportError

    x = torch.arange(2.0).reshape((2,) + (1,) * 64)
    assert ap.convert(x, "torch") is x
    with pytest.raises(ArrayportError, match="64 dimensions"):
        ap.memory_type("numpy")(lambda a: a)(x)

    @ap.memory_type("torch")
    def deep(a):
        return a.reshape((2,) + (1,) * 64)

    with pytest.raises(ArrayportError, match="64 dimensions"):
        deep(np.arange(2.0))


def test_holds_elements_sees_freed_and_shrunk_storage() -> None:
    import torch

    from arrayport.backends._torch_data import holds_elements

    assert holds_elements(torch.arange(8.0)[2:])
    assert holds_elements(torch.arange(12.0).reshape(3, 4)[:, 1:3])  # non-contiguous
    assert holds_elements(torch.empty(0))
    sliced = torch.arange(8.0)[2:]
    sliced.untyped_storage().resize_(0)  # the view's pointer is 8, not 0
    assert not holds_elements(sliced)
    shrunk = torch.arange(12.0).reshape(3, 4)[:, 1:3]
    shrunk.untyped_storage().resize_(32)  # 8 of the 12 floats: the last row is gone
    assert not holds_elements(shrunk)


# Run in a child interpreter: before the fix, reading such a view crashed the process.
_FREED_VIEWS = """
import torch, arrayport as ap
from arrayport.errors import UnsupportedArrayError
from arrayport.backends import torch as be

@ap.memory_type("numpy")
def total(x):
    return x.sum()

for size in (0, 8):
    t = torch.ones(6)[2:]
    t.untyped_storage().resize_(size)
    for call in (lambda: total(t), lambda: be.host_view(t), lambda: ap.convert(t, "numpy")):
        try:
            call()
        except UnsupportedArrayError as exc:
            assert "storage holds" in str(exc), exc
        else:
            raise SystemExit("a view of freed memory was handed out")
    assert be.quick_to_numpy(t) is None
print("refused")
"""


def test_views_of_a_freed_or_shrunk_offset_storage_are_refused_on_quick_paths() -> None:
    # A sliced tensor's view of a freed storage points at its offset, not at 0.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _FREED_VIEWS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "refused"


def test_a_cached_route_does_not_take_a_slice_of_a_freed_storage(be) -> None:
    # The route key would match a live tensor's (its pointer is the offset, not 0), and the
    # cached route imported freed memory; the key now leaves it to the full plan.
    import torch

    import arrayport as ap

    targets = [mt for mt in ("numpy", "jax") if MemoryType(mt) in INSTALLED]
    for target in targets:
        live = torch.arange(64.0)
        for _ in range(2):  # planned, then cached
            ap.convert(live[16:], target)
        owner = torch.arange(64.0)
        t = owner[16:]
        owner.untyped_storage().resize_(0)
        assert be.route_key(t, True) is None
        with pytest.raises(UnsupportedArrayError, match="storage holds 0 bytes"):
            ap.convert(t, target)
    shrunk = torch.arange(12.0).reshape(3, 4)[:, 1:3]  # not contiguous
    shrunk.untyped_storage().resize_(32)
    assert be.route_key(shrunk, True) is None


def test_a_torch_distributed_tensor_package_without_dtensor_is_no_obstacle(monkeypatch) -> None:
    # torch 2.3 has a torch.distributed.tensor package without DTensor (the class is in
    # torch.distributed._tensor): once imported, every wrapper subclass's refusal raised
    # AttributeError: module 'torch.distributed.tensor' has no attribute 'DTensor'.
    import sys
    import types
    import warnings

    import torch

    import arrayport as ap

    monkeypatch.setitem(sys.modules, "torch.distributed.tensor", types.ModuleType("old"))
    monkeypatch.delitem(sys.modules, "torch.distributed._tensor", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: MaskedTensor is a prototype
        masked = torch.masked.masked_tensor(torch.arange(2.0), torch.tensor([True, False]))
    with pytest.raises(ap.UnsupportedArrayError, match="MaskedTensor"):
        ap.convert(masked, "numpy")
