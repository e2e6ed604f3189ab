"""backends/_torch_describe: a torch tensor's device, description and routing summary."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU
from arrayport.errors import DeviceError, UnsupportedArrayError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TORCH)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import torch as backend

    backend.load()
    return backend


@pytest.fixture(scope="module")
def desc():
    from arrayport.backends import _torch_describe

    return _torch_describe


def test_the_backend_describes_through_it(be, desc) -> None:
    import torch

    # No wrapper for device_of: dispatch reads it on every call with a tensor.
    assert be.device_of is desc.device_of
    t = torch.arange(12.0).reshape(3, 4)[:, 1:]
    assert be.describe(t) == desc.describe_tensor(torch, t)
    assert be.route_key(t, True) == desc.tensor_route_key(torch, t, True)


def test_device_of_names_cpu_and_refuses_meta(desc) -> None:
    import torch

    assert desc.device_of(torch.zeros(2)) is CPU
    with pytest.raises(
        DeviceError, match=r"meta device has a shape and a dtype but no data.*empty_like"
    ):
        desc.device_of(torch.zeros(2, device="meta"))


def test_dtype_of_gives_numpy_s_dtype_or_none_with_torch_s_name(desc) -> None:
    import torch

    assert desc.dtype_of(torch.zeros(2, dtype=torch.uint16)) == (np.dtype("uint16"), "uint16")
    assert desc.dtype_of(torch.zeros(2, dtype=torch.complex64))[1] == "complex64"
    _dtype, name = desc.dtype_of(torch.zeros(2, dtype=torch.float8_e5m2))
    assert name == "float8_e5m2"
    # Cached by torch dtype: the second answer is the same object.
    x = torch.zeros(2)
    assert desc.dtype_of(x) is desc.dtype_of(x)


def test_refusals_name_the_call_that_makes_a_plain_tensor(desc) -> None:
    import warnings

    import torch

    with pytest.raises(UnsupportedArrayError, match=r"x\.to_dense\(\)"):
        desc.describe_tensor(torch, torch.eye(2).to_sparse())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: quantized dtypes are deprecated
        q = torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8)
    with pytest.raises(UnsupportedArrayError, match=r"x\.dequantize\(\)"):
        desc.describe_tensor(torch, q)
    with pytest.raises(DeviceError, match="meta"):
        desc.describe_tensor(torch, torch.ones(2, device="meta"))
    for t in (torch.eye(2).to_sparse(), q, torch.ones(2, device="meta")):
        assert desc.tensor_route_key(torch, t, False) is None


def test_route_keys_are_for_plain_tensors_and_parameters_only(desc) -> None:
    import torch

    class Mine(torch.Tensor):
        pass

    base = torch.ones(3)
    assert desc.tensor_route_key(torch, base, False) is not None
    assert desc.tensor_route_key(torch, torch.nn.Parameter(base.clone()), False) is not None
    assert desc.tensor_route_key(torch, base.as_subclass(Mine), False) is None


def test_route_key_matches_describe_for_torch_layouts(be) -> None:
    import torch

    from arrayport._host import route_key_of

    base = torch.arange(48, dtype=torch.float32).reshape(6, 8)
    tensors = [
        base,
        base.T,
        base[::2, 1::3],
        base[:1],
        base[2:2],
        torch.empty(0, 3).T,
        torch.tensor([1 + 2j]).conj(),
        torch.nn.Parameter(base.clone()),
        base.to(torch.bfloat16),
    ]
    for t in tensors:
        for address in (False, True):
            assert be.route_key(t, address) == route_key_of(be.describe(t), address)
    assert be.route_key(torch.eye(2).to_sparse(), False) is None


def test_nested_tensors_are_refused_with_a_remedy(be) -> None:
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: nested tensors are a prototype
        strided = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])
    jagged = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)], layout=torch.jagged)
    for nested in (strided, jagged):
        assert be.route_key(nested, True) is None
        with pytest.raises(UnsupportedArrayError, match="to_padded_tensor"):
            be.describe(nested)


def _own_kinds():
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.nested's prototype warning
        rows = [torch.ones(2), torch.ones(3)]
        return {
            "jagged": torch.nested.nested_tensor(rows, layout=torch.jagged),
            "strided-nested": torch.nested.nested_tensor(rows),
            "quantized": torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.quint8),
            "sparse": torch.eye(3).to_sparse(),
        }


@pytest.mark.parametrize("kind", ["jagged", "strided-nested", "quantized", "sparse"])
def test_torch_s_own_kinds_are_described_within_torch_only(desc, kind) -> None:
    import torch

    x = _own_kinds()[kind]
    with pytest.raises(UnsupportedArrayError, match="not converted"):
        desc.describe_tensor(torch, x)
    info = desc.describe_within_torch(torch, x)
    assert info.device is CPU
    assert info.dtype_name == str(x.dtype).removeprefix("torch.")
    # Anything else is described (and refused) as describe_tensor does.
    t = torch.arange(4.0)
    assert desc.describe_within_torch(torch, t) == desc.describe_tensor(torch, t)
    with pytest.raises(DeviceError, match="meta"):
        desc.describe_within_torch(torch, torch.empty(2, device="meta"))
