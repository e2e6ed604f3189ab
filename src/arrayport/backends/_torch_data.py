"""Whether a torch tensor's memory holds its values: the refusals of subclasses with their
own dispatch and of tensors without readable data.

Importing this module imports no framework: torch is passed in by the backend, which has
loaded it. :func:`subclass_refusal` is asked only for subclasses of ``torch.Tensor`` and
:func:`readable_pointer` only by ``describe``: plain tensors on the cached and quick paths
never pay for them.
"""

from __future__ import annotations

import sys
from typing import Any

from arrayport.errors import UnsupportedArrayError

__all__ = ["holds_elements", "readable_pointer", "subclass_refusal"]


def subclass_refusal(torch: Any, x: Any) -> str | None:
    """Why a tensor of a subclass of ``torch.Tensor`` is not converted, or None (plain
    subclasses over their own storage: ``nn.Parameter``, ``as_subclass`` types)."""
    if torch.nn.parameter.is_lazy(x):  # its data, even element_size(), raises ValueError
        return (
            "an uninitialized lazy torch parameter or buffer (of a torch.nn.Lazy* module "
            "before its first call) holds no data yet: run the module once on an input "
            "(that dry run materialises it), then convert the parameter"
        )
    # The test for a wrapper subclass. torch sets the Python dispatch key on a tensor whose
    # class overrides __torch_dispatch__ (TensorImpl::is_python_dispatch): the wrapper
    # subclasses made by Tensor._make_wrapper_subclass (DTensor, MaskedTensor, FakeTensor)
    # all have it, over a placeholder storage (data_ptr() is 0), and it is what torch's
    # own Tensor.numpy() refuses ("not supported for tensor subclasses",
    # torch/csrc/utils/tensor_numpy.cpp). torch 2.13 has no torch._C._is_wrapper_subclass;
    # torch._C._dispatch_isTensorSubclassLike is broader (also meta tensors, and every
    # tensor while a TorchDispatchMode is active), and
    # torch.utils._python_dispatch.is_traceable_wrapper_subclass misses MaskedTensor and
    # FakeTensor (no __tensor_flatten__). Plain subclasses have real storage and no
    # Python key. Asked only for subclasses: plain tensors never pay for it.
    if not torch._C._dispatch_keys(x).has(torch._C.DispatchKey.Python):
        return None
    # DTensor is public in torch.distributed.tensor from torch 2.4 (2.3 has a package of
    # that name without it, and the class in torch.distributed._tensor).
    dtensors = tuple(
        cls
        for module in ("torch.distributed.tensor", "torch.distributed._tensor")
        if (cls := getattr(sys.modules.get(module), "DTensor", None)) is not None
    )
    fake = sys.modules.get("torch._subclasses.fake_tensor")
    masked = getattr(getattr(torch, "masked", None), "MaskedTensor", None)
    if dtensors and isinstance(x, dtensors):
        remedy = (
            "gather it into a plain tensor with x.full_tensor() (or take this rank's "
            "shard with x.to_local()) and convert that"
        )
    elif masked is not None and isinstance(x, masked):
        remedy = (
            "convert x.get_data() and x.get_mask() separately (the data alone would lose the mask)"
        )
    elif fake is not None and isinstance(x, fake.FakeTensor):
        remedy = (
            "a FakeTensor has a shape and a dtype but no values: convert the real "
            "tensor, outside FakeTensorMode and torch.compile tracing"
        )
    else:
        remedy = "make a plain torch.Tensor of it first with the subclass's own method"
    kind = f"{type(x).__module__}.{type(x).__qualname__}"
    return (
        f"{kind} is a torch tensor subclass with its own dispatch (__torch_dispatch__): "
        f"its memory does not hold its values, so it is not converted; {remedy}"
    )


def readable_pointer(torch: Any, x: Any, strides: tuple[int, ...], itemsize: int) -> int:
    """The tensor's data pointer, after checking that its storage holds every element:
    else UnsupportedArrayError with the reason (a freed or shrunk storage, a ZeroTensor, a
    functional tensor, a torch.func wrapper without storage)."""
    try:
        pointer = int(x.data_ptr())
        n = x.numel()
        if not n:
            return pointer
        held = x.untyped_storage().nbytes()
        end = _end(x, n, strides)
    except (RuntimeError, NotImplementedError) as exc:
        msg = (
            f"this torch tensor has no storage arrayport can read ({exc}); inside torch.func "
            "transforms (vmap, grad, ...) tensors are such wrappers: convert outside the "
            "transform"
        )
        raise UnsupportedArrayError(msg) from exc
    if pointer and held >= end * itemsize:
        return pointer
    raise UnsupportedArrayError(_no_data_message(torch, x, n, held, end * itemsize))


def _end(x: Any, n: int, strides: tuple[int, ...]) -> int:
    """Past the furthest of the ``n`` (> 0) elements of ``x``, in elements from its
    storage's start (torch has no negative strides)."""
    if x.is_contiguous():
        return int(x.storage_offset()) + n
    furthest = sum((int(size) - 1) * step for size, step in zip(x.shape, strides, strict=True))
    return int(x.storage_offset()) + 1 + furthest


def holds_elements(x: Any) -> bool:
    """Whether the storage of ``x`` (a tensor that has one) holds every element ``x``
    addresses. A freed or shrunk storage (``x.untyped_storage().resize_(0)``, as FSDP
    does) does not, and ``Tensor.numpy()`` still gives a view of its address: reading it
    reads freed memory. About 0.6 us; the shares to numpy and the route key ask it (or a
    cheaper test for compact tensors) before handing a view out, and
    :func:`readable_pointer` refuses such a tensor with the reason."""
    try:
        n = x.numel()
        if not n:
            return True
        return bool(x.untyped_storage().nbytes() >= _end(x, n, x.stride()) * x.element_size())
    except (RuntimeError, NotImplementedError):  # no storage at all (torch.func wrappers)
        return False


def _no_data_message(torch: Any, x: Any, n: int, held: int, needed: int) -> str:
    is_zero = getattr(x, "_is_zerotensor", None)
    if is_zero is not None and is_zero():
        return (
            "a torch ZeroTensor (torch._efficientzerotensor, as autograd makes for zero "
            "gradients) has no memory for its zeros: materialise it with x.clone() first"
        )
    is_functional = getattr(torch, "_is_functional_tensor", None)
    if is_functional is not None and is_functional(x):
        return (
            "a functional torch tensor (a wrapper made by functionalization: "
            "torch.func.functionalize, torch.compile tracing) has no data of its own: "
            "convert the tensor outside the functionalization that made it"
        )
    return (
        f"this torch tensor's storage holds {held} bytes, but its {n} elements need "
        f"{needed} (the storage was freed or shrunk, e.g. by "
        "x.untyped_storage().resize_(0), as FSDP does to release parameters): resize the "
        "storage back and fill it, or convert a tensor that holds its data"
    )
