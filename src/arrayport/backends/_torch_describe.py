"""What a torch tensor is, as arrayport sees it: its device, its full description, and the
cheap routing summary of a plain tensor.

Importing this module imports no framework and nothing from the torch backend: torch is
passed in by the backend, which has loaded it. The backend re-exports :func:`device_of` as
it is (dispatch reads it on every call with a tensor); its ``describe`` and ``route_key``
call :func:`describe_tensor` and :func:`tensor_route_key`.

Quirks routed around here:

* Sparse, quantized and meta tensors are refused with the call that makes them dense.
* Tensors whose memory does not hold their values are refused by :func:`describe_tensor`,
  with the call that gives a plain tensor: subclasses with their own dispatch (DTensor,
  MaskedTensor, FakeTensor) and uninitialized lazy parameters (on every route, torch ->
  torch too), and tensors without readable data for their elements (storage freed by
  ``untyped_storage().resize_(0)``, ZeroTensor, functional tensors, the wrappers of vmap
  and grad; a plain tensor's torch -> torch identity is returned as it is, undescribed):
  :mod:`arrayport.backends._torch_data`. Cached routes skip
  describe(): :func:`tensor_route_key` sends a null data pointer back to it, and the quick
  share to numpy leaves a view without torch's memory to the planner.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import ArrayInfo, RouteKey, c_contiguous
from arrayport.backends._torch_data import holds_elements, readable_pointer, subclass_refusal
from arrayport.backends._util import numpy_dtype_or_none
from arrayport.devices import CPU, Device, cuda_device
from arrayport.errors import DeviceError, UnsupportedArrayError

__all__ = [
    "describe_tensor",
    "describe_within_torch",
    "device_of",
    "dtype_of",
    "tensor_route_key",
]


def device_of(x: Any) -> Device:
    dev = x.device
    if dev.type == "cpu":
        return CPU
    if dev.type == "cuda":
        return cuda_device(dev.index or 0)
    if dev.type == "meta":
        msg = (
            "a torch tensor on the meta device has a shape and a dtype but no data to "
            "convert; convert the tensor it stands for, or make one with torch.empty_like("
            "x, device='cpu')"
        )
    else:
        msg = (
            f"torch device {dev} is not supported by arrayport (cpu and cuda are); move "
            "the tensor first, e.g. x.cpu()"
        )
    raise DeviceError(msg)


# torch dtype -> (the numpy dtype holding the same values or None, its name).
_dtypes: dict[Any, tuple[np.dtype[Any] | None, str]] = {}


def dtype_of(x: Any) -> tuple[np.dtype[Any] | None, str]:
    found = _dtypes.get(x.dtype)
    if found is None:
        name = str(x.dtype).removeprefix("torch.")
        found = _dtypes[x.dtype] = (numpy_dtype_or_none(name), name)
    return found


def tensor_route_key(torch: ModuleType, x: Any, address: bool) -> RouteKey | None:
    """The routing summary of a dense CPU or CUDA tensor (anything else takes the full plan).

    Plain tensors and parameters only: a subclass may override the layout queries.
    """
    if type(x) is not torch.Tensor and type(x) is not torch.nn.Parameter:
        return None
    if x.layout is not torch.strided or x.is_quantized or x.is_nested:
        return None
    if x.is_cpu:
        device = CPU
    elif x.is_cuda:
        device = device_of(x)
    else:
        return None
    dtype, name = dtype_of(x)
    if dtype is None:  # no numpy dtype: describe() reports itemsize 0, keep its rules
        return None
    shape = x.shape
    strides = x.stride()  # in elements: always multiples of the item size
    n = x.numel()
    try:
        pointer = x.data_ptr()
    except (RuntimeError, NotImplementedError):  # vmap's and grad's wrappers: no storage
        return None
    if not pointer and n:  # no memory behind its elements: describe() refuses it
        return None
    contiguous = n != 0 and x.is_contiguous()
    # A slice of a freed or shrunk storage keeps a non-null pointer (its offset): a cached
    # route would import freed memory. describe() refuses it with the reason.
    if contiguous:
        if x.untyped_storage().nbytes() < (x.storage_offset() + n) * dtype.itemsize:
            return None
    elif n and not holds_elements(x):
        return None
    return (
        device,
        dtype,
        name,
        not (x.is_conj() or x.is_neg()),
        True,
        # torch's own flag follows the same rule for non-empty tensors (size-1 axes may
        # have any stride) and is kept by the tensor; empty ones follow ours exactly.
        contiguous or c_contiguous(shape, strides, 1),
        min(strides, default=0) >= 0,
        n == 0 or pointer % dtype.itemsize == 0,
        (n == 0 or pointer % 64 == 0) if address else None,
        len(shape),
        n == 0,
    )


def describe_tensor(torch: ModuleType, x: Any) -> ArrayInfo:
    if x.is_nested:
        msg = (
            "nested torch tensors are not converted (their rows differ in length): pad "
            "them with x.to_padded_tensor(0.0), or convert x.unbind() row by row"
        )
        raise UnsupportedArrayError(msg)
    if type(x) is not torch.Tensor:  # after nested: torch.nested's jagged layout is one
        refusal = subclass_refusal(torch, x)
        if refusal is not None:
            raise UnsupportedArrayError(refusal)
    if x.layout is not torch.strided:
        msg = (
            f"torch tensors with layout {x.layout} are not converted (only dense, strided "
            "ones are): call x.to_dense() first"
        )
        raise UnsupportedArrayError(msg)
    if x.is_quantized:
        msg = "quantized torch tensors are not converted: call x.dequantize() first"
        raise UnsupportedArrayError(msg)
    dtype, name = dtype_of(x)
    itemsize = x.element_size()
    # A lazily conjugated/negated view cannot be shared: its memory holds other values.
    lazy = bool(x.is_conj() or x.is_neg())
    device = device_of(x)  # before the data: a meta tensor is refused for its device
    strides = x.stride()
    pointer = readable_pointer(torch, x, strides, itemsize)
    return ArrayInfo(
        shape=tuple(x.shape),
        dtype=dtype,
        dtype_name=name,
        device=device,
        strides=tuple(s * itemsize for s in strides),
        pointer=pointer,
        writable=not lazy,
    )


def describe_within_torch(torch: ModuleType, x: Any) -> ArrayInfo:
    """:func:`describe_tensor` for a route within torch (an identity, a copy, a device
    move): torch's own kinds that no other framework holds (nested tensors of either
    layout, quantized ones, sparse and other non-strided layouts) are described for that
    only, so that one tensor gets one answer whatever its Python type (a jagged nested
    tensor is a subclass, a strided one is not). Anything else as :func:`describe_tensor`."""
    own = x.is_nested or (
        type(x) is torch.Tensor and (x.is_quantized or x.layout is not torch.strided)
    )
    if not own:
        return describe_tensor(torch, x)
    dtype, name = dtype_of(x)
    return ArrayInfo(
        shape=() if x.is_nested else tuple(x.shape),  # a nested tensor has no one shape
        dtype=dtype,
        dtype_name=name,
        device=device_of(x),
        strides=None,
        pointer=None,
        writable=True,
    )
