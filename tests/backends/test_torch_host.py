"""backends/_torch_host: a torch tensor's values on the host for numpy (views and copies)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.errors import UnsupportedArrayError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TORCH)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import torch as backend

    backend.load()
    return backend


@pytest.fixture(scope="module")
def host():
    from arrayport.backends import _torch_host

    return _torch_host


def test_the_backend_reads_the_host_through_it(be, host) -> None:
    import torch

    t = torch.arange(6.0).reshape(2, 3)
    view = be.host_view(t)
    assert view.ctypes.data == host.tensor_host_view(torch, t).ctypes.data == t.data_ptr()
    np.testing.assert_array_equal(be.to_numpy(t), view)


def test_plain_drops_autograd_and_resolves_lazy_bits(host) -> None:
    import torch

    g = torch.ones(2, requires_grad=True)
    assert not host.plain(g).requires_grad
    c = host.plain(torch.tensor([1 + 2j]).conj())
    assert not c.is_conj()
    assert c.item() == 1 - 2j
    n = host.plain(torch._neg_view(torch.ones(2)))
    assert not n.is_neg()
    assert n.tolist() == [-1.0, -1.0]


def test_a_view_only_where_memory_holds_the_values(host) -> None:
    import torch

    g = torch.arange(3.0, requires_grad=True)
    view = host.tensor_host_view(torch, g)  # autograd history is no obstacle to reading
    assert view is not None
    assert view.ctypes.data == g.data_ptr()
    for lazy in (torch.tensor([1 + 2j]).conj(), torch._neg_view(torch.ones(2))):
        assert host.tensor_host_view(torch, lazy) is None
    assert host.tensor_host_view(torch, torch.ones(2, device="meta")) is None


def test_to_numpy_copies_where_there_is_no_view(host) -> None:
    import torch

    conj = torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64).conj()
    out = host.tensor_to_numpy(torch, conj)
    np.testing.assert_array_equal(out, [1 - 2j, 3 + 1j])
    assert out.dtype == np.complex64
    neg = host.tensor_to_numpy(torch, torch._neg_view(torch.arange(3.0)))
    np.testing.assert_array_equal(neg, [0.0, -1.0, -2.0])


def test_bfloat16_is_viewed_through_int16(host) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    import torch

    t = torch.arange(4.0).to(torch.bfloat16)
    view = host.tensor_host_view(torch, t)
    assert view.dtype == np.dtype(ml_dtypes.bfloat16)
    assert view.ctypes.data == t.data_ptr()
    np.testing.assert_array_equal(host.tensor_to_numpy(torch, t), view)


def test_a_view_without_torch_s_memory_is_refused_by_describe(host) -> None:
    import torch

    freed = torch.ones(4)  # a null data pointer: numpy makes a buffer of its own
    freed.untyped_storage().resize_(0)
    try:
        with pytest.raises(UnsupportedArrayError, match="storage holds 0 bytes"):
            host.tensor_host_view(torch, freed)
    finally:
        del freed  # never printed: torch's repr would read through the null pointer


def test_an_expanded_tensor_is_shared_with_numpy_read_only() -> None:
    # Stride 0 on an axis longer than 1: one write would change several elements, and
    # numpy marks its own broadcast_to views read-only.
    import ml_dtypes
    import torch

    import arrayport as ap

    x = torch.arange(3.0).expand(4, 3)
    route = ap.plan(x, "numpy")
    out = ap.convert(x, "numpy")
    assert route.zero_copy
    assert out.ctypes.data == x.data_ptr()
    assert not out.flags.writeable
    np.testing.assert_array_equal(out, np.broadcast_to(np.arange(3.0), (4, 3)))
    quick = ap.memory_type("numpy")(lambda a: a.flags.writeable)(x)
    assert quick is False
    half = torch.arange(3.0).to(torch.bfloat16).expand(2, 3)
    view = ap.convert(half, "numpy")
    assert view.dtype == ml_dtypes.bfloat16
    assert not view.flags.writeable
    # No overlap, so writable as before: a size-1 axis of stride 0, a transposed view.
    assert ap.convert(torch.arange(3.0).expand(1, 3), "numpy").flags.writeable
    assert ap.convert(torch.ones(2, 3).T, "numpy").flags.writeable
    assert ap.convert(torch.ones(2, 3), "numpy").flags.writeable


def test_views_of_a_leaf_that_requires_grad_are_shared_read_only(host) -> None:
    # w.T and w[0] came out writable: a write through numpy changed the parameter and
    # backward() gave a wrong gradient ([[0, 0], [0, 0]] for d(w*w).sum()/dw), silently.
    import torch

    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    for view in (w.T, w[0], w.view(-1), w.unsqueeze(0), w.T[1]):
        shared = host.tensor_host_view(torch, view)
        assert shared is not None
        assert not shared.flags.writeable
    assert host.tensor_host_view(torch, w * 2).flags.writeable  # not a view of the leaf
    y = (w * w).sum()
    with pytest.raises(ValueError, match="read-only"):
        host.tensor_host_view(torch, w.T)[0, 0] = 0.0
    y.backward()
    assert w.grad.tolist() == [[2.0, 4.0], [6.0, 8.0]]


def test_a_tensor_that_requires_grad_is_shared_read_only(host) -> None:
    # A numpy write does not bump torch's version counter: a numpy-declared function that
    # scaled its input in place made y.backward() give [20, 40, 60] for d(x*x).sum()/dx.
    import torch

    import arrayport as ap

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    view = host.tensor_host_view(torch, x)
    assert view.ctypes.data == x.data_ptr()
    assert not view.flags.writeable
    for bf in (torch.ones(2, dtype=torch.bfloat16, requires_grad=True),):
        bf_view = host.tensor_host_view(torch, bf)
        assert bf_view is None or not bf_view.flags.writeable
    assert host.tensor_host_view(torch, torch.ones(2)).flags.writeable  # no autograd: writable

    @ap.memory_type("numpy")
    def scale_in_place(a: np.ndarray) -> np.ndarray:
        a *= 10
        return a

    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        scale_in_place(x)
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    assert ap.plan(x, "numpy").zero_copy  # still shared, only not writable
    # What stays writable: a computation's result (nothing outside holds its graph once it
    # is handed to numpy: a torch function's result for a numpy caller), and a leaf under
    # torch.no_grad() (an optimizer's in-place update through numpy).
    w = torch.ones(3, requires_grad=True)
    assert host.tensor_host_view(torch, w * 2).flags.writeable

    @ap.memory_type("torch")
    def weigh(a: Any) -> Any:
        return a * w

    out = weigh(np.ones(3, np.float32))
    out[0] = 5.0  # a numpy caller's own result
    with torch.no_grad():
        scale_in_place(x)
    assert x.detach().tolist() == [10.0, 20.0, 30.0]
