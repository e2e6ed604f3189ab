"""torch backend.

torch is imported only by :func:`load`, which the registry calls when a tensor is already
in hand (so torch is in ``sys.modules``) or when torch is asked for by name.

Quirks routed around here:

* ``torch.from_dlpack`` on an array with negative strides aborts the process ("Storage size
  calculation overflowed", pytorch issue 188023): :func:`dlpack_refusal` refuses such input.
* torch has no read-only tensors, so immutable sources (jax, tensorflow, read-only numpy)
  are never wrapped, only copied.
* uint16/32/64 are storage types in torch: exact through DLPack, but most arithmetic on
  them raises NotImplementedError. Conversion keeps them exact.
* Lazily conjugated or negated tensors (``x.conj()``, ``x.neg()`` views) hold other values
  in memory than they show: they are resolved (copied), never shared.
* Autograd history does not cross frameworks: tensors are exported with ``detach()``.
* More than 64 dimensions: ``Tensor.numpy()`` raises ValueError; the quick share to numpy
  leaves such a tensor to the planner, which refuses it between frameworks.

The rest lives in private modules, with the quirks their code routes around: what a tensor
is (:func:`device_of`, :func:`describe`, :func:`route_key`; sparse, quantized, meta and
data-less tensors refused) in :mod:`arrayport.backends._torch_describe`, which asks
:mod:`arrayport.backends._torch_data` whether a tensor's memory holds its values; the host
view and copy for numpy (:func:`host_view`, :func:`to_numpy`; expanded tensors shared
read-only) in :mod:`arrayport.backends._torch_host`; the shares dispatch takes without
planning in :mod:`arrayport.backends._torch_quick`; torch's multi-threaded host copies in
:mod:`arrayport.backends._torch_copy`; CUDA streams and memory in
:mod:`arrayport.backends._torch_cuda`.

CUDA paths ran on an H100 (ADR 0057); CI has no GPU, and ``tests/test_gpu.py`` runs them
with ``ARRAYPORT_DEVICE=cuda``.
"""

from __future__ import annotations

import functools
import gc
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import (
    ArrayInfo,
    RouteKey,
    aligned_copy,
    dtype_name,
    host_layout,
    writes_allowed,
)
from arrayport._strides import inverse_order, memory_order
from arrayport.backends._torch_copy import parallel_copy
from arrayport.backends._torch_cuda import (
    ThreadStream,
    memory_rows,
    move_on_thread_stream,
    release_cuda,
)
from arrayport.backends._torch_describe import (
    describe_tensor,
    describe_within_torch,
    tensor_route_key,
)
from arrayport.backends._torch_describe import device_of as device_of
from arrayport.backends._torch_host import plain, tensor_host_view, tensor_to_numpy
from arrayport.backends._torch_quick import WRAPPED_DTYPES, as_wrapped
from arrayport.backends._torch_quick import bind as bind_quick
from arrayport.backends._torch_quick import quick_from_numpy as quick_from_numpy
from arrayport.backends._torch_quick import quick_to_numpy as quick_to_numpy
from arrayport.backends._util import (
    default_from_elsewhere,
    find_spec,
    import_framework,
    message_has,
    unplaceable,
)
from arrayport.devices import CPU, Device
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.TORCH
MODULE_ROOTS = ("torch",)
IMPORT_NAME = "torch"
EXTRA = "torch"
IMMUTABLE = False
HAS_DLPACK = True
WRITABLE_ONLY = True
COPIES_HOST = False
WIDENINGS: dict[str, str] = {}
#: Dtypes torch stores but cannot compute with (comparisons, clamp, min/max raise
#: NotImplementedError; casts work): arrayport.dtypes widens them before any arithmetic.
STORAGE_ONLY_DTYPES = frozenset({"uint16", "uint32", "uint64"})


def is_installed() -> bool:
    return find_spec("torch")


_module: ModuleType | None = None


def load() -> ModuleType:
    # Cached: importlib.import_module costs about 0.5 us, and load() is on every path.
    global _module
    if _module is None:
        torch = import_framework("torch", EXTRA)
        bind_quick(torch)  # before publishing: another thread may use the quick shares then
        _module = torch
    return _module


def version() -> str:
    return str(load().__version__)


def is_array(x: object) -> bool:
    torch = load()
    return isinstance(x, torch.Tensor)


def non_array_hint(x: object) -> str | None:
    return None


def is_plain(x: Any) -> bool:
    return type(x) is load().Tensor


def namespace() -> Any:
    import array_api_compat.torch as xp

    return xp


@functools.cache
def _cuda_count() -> int:
    # The visible CUDA devices are fixed when the CUDA runtime starts, so this is cached.
    torch = load()
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def devices() -> tuple[Device, ...]:
    return (CPU, *(Device("cuda", i) for i in range(_cuda_count())))


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None:
        if source.kind in ("cpu", "cuda"):
            requested = source
        else:  # an OpenCL source: torch cannot live there
            requested = default_from_elsewhere(source, _cuda_count() > 0)
    if requested.kind == "cpu":
        return CPU
    if requested.kind == "cuda" and requested.index < _cuda_count():
        return requested
    raise unplaceable("torch", requested, _cuda_count())


def route_key(x: Any, address: bool) -> RouteKey | None:
    return tensor_route_key(load(), x, address)


def _torch_device(device: Device) -> Any:
    torch = load()
    return torch.device("cpu") if device.is_cpu else torch.device("cuda", device.index)


def describe(x: Any) -> ArrayInfo:
    return describe_tensor(load(), x)


def describe_within(x: Any) -> ArrayInfo:
    return describe_within_torch(load(), x)


def copy_within(x: Any) -> Any:
    """A copy of a tensor only :func:`describe_within` describes (nested, quantized,
    sparse): ``clone`` keeps its kind, which :func:`copy`'s contiguous format would not."""
    return x.detach().clone()


_DTYPES = frozenset(
    "bool uint8 int8 int16 uint16 int32 uint32 int64 uint64 float16 bfloat16 float32 float64"  # noqa: SIM905
    " complex64 complex128".split()
)


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype_name in _DTYPES:
        return None
    return f"torch has no {dtype_name} dtype"


def host_view(x: Any) -> np.ndarray | None:
    return tensor_host_view(load(), x)


def to_numpy(x: Any) -> np.ndarray:
    return tensor_to_numpy(load(), x)


def share_refusal(info: ArrayInfo) -> str | None:
    return _share_refusal(
        info.writable, info.positive_strides, info.native_order, info.element_aligned
    )


def _share_refusal(writable: bool, positive: bool, native: bool, element: bool) -> str | None:
    if not writable:
        return "torch has no read-only tensors, so a read-only source is copied"
    return _layout_refusal(positive, native, element)


def _layout_refusal(positive: bool, native: bool, element: bool) -> str | None:
    if not positive:
        # torch.from_dlpack aborts the process on negative strides (pytorch issue 188023),
        # and torch.from_numpy refuses them.
        return "torch cannot wrap negative strides"
    if not native:
        return "torch cannot wrap big-endian memory"
    if not element:
        return "torch needs strides and an address that are multiples of the item size"
    return None


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    return _layout_refusal(info.positive_strides, info.native_order, info.element_aligned)


def dlpack_export_refusal(info: ArrayInfo) -> str | None:
    if not info.writable:
        return "a lazily conjugated or negated tensor holds other values in memory"
    return None


def dlpack_source(x: Any) -> Any:
    return x.detach()


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    torch = load()
    out = torch.from_dlpack(x)  # hands torch's current stream to the producer
    return out if device_of(out) == device else move(out, device)


#: torch's sub-byte dtypes (one byte per element in memory): clone() has no kernel for them.
_SUB_BYTE = frozenset({*(f"uint{n}" for n in range(1, 8)), *(f"int{n}" for n in range(1, 8))})


def from_numpy(a: np.ndarray, device: Device) -> Any:
    torch = load()
    _contiguous, positive, element, _aligned = host_layout(a, False)
    if _share_refusal(writes_allowed(a.flags.num), positive, a.dtype.isnative, element) is not None:
        a = aligned_copy(a)
    if dtype_name(a.dtype) == "bfloat16":
        t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(as_wrapped(a))
    return t if device.is_cpu else t.to(_torch_device(device))


def adopt_copy(view: np.ndarray, device: Device) -> Any:
    """The host-copy route's one copy of ``view``, adopted: torch's multi-threaded copy
    into an aligned numpy buffer for large arrays, numpy's copy otherwise (ADR 0052). The
    copy is private, writable and native. A ``view`` compact in another axis order (a
    read-only transposed numpy array, a jax array in a custom layout) of 64 KiB or more
    keeps that order, as torch's ``clone`` and the route that shares do: a straight copy of
    its memory, not a transposing one (ADR 0084). The host-copy route calls this for CPU
    targets only."""
    order = memory_order(view)
    if order is not None:
        return adopt_copy(view.transpose(order), device).permute(inverse_order(order))
    if device.is_cpu:
        out = parallel_copy(load(), view)
        if out is not None:
            return out
        if view.dtype in WRAPPED_DTYPES:
            return load().from_numpy(as_wrapped(aligned_copy(view)))
    return from_numpy(aligned_copy(view), device)


def copy(x: Any) -> Any:
    torch = load()
    x = plain(x)
    if str(x.dtype).removeprefix("torch.") in _SUB_BYTE:  # torch has no copy kernel for them
        out = x.view(torch.uint8).clone(memory_format=torch.contiguous_format).view(x.dtype)
    else:
        out = x.clone(memory_format=torch.contiguous_format)
    if out.is_cuda:
        # The clone is queued; ``x`` may be a DLPack alias of another framework's buffer,
        # dropped (and that buffer freed by its owner, which knows nothing of this stream)
        # as soon as this returns. Unverified on a GPU.
        torch.cuda.current_stream(out.device).synchronize()
    return out


def move(x: Any, device: Device) -> Any:
    target = _torch_device(device)
    if target.type == "cuda":
        return move_on_thread_stream(load(), plain(x), target, device.index)
    return plain(x).to(target)


#: What torch's CPU allocator says when an allocation fails, by platform (see is_oom).
_CPU_ALLOCATOR_OOM = (
    "DefaultCPUAllocator: can't allocate memory",
    "DefaultCPUAllocator: not enough memory",
)


def _oom_type(torch: Any) -> type[BaseException]:
    # torch.OutOfMemoryError is torch 2.5's name (pytorch PR 121702); before it, the same
    # class is torch.cuda.OutOfMemoryError only (arrayport declares torch >= 2.3).
    found: type[BaseException] = getattr(torch, "OutOfMemoryError", None) or (
        torch.cuda.OutOfMemoryError
    )
    return found


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (_oom_type(load()), RuntimeError)


def is_oom(exc: BaseException) -> bool:
    torch = load()
    if isinstance(exc, _oom_type(torch)):
        return True
    # torch's CPU allocator has no exception type of its own: it raises a plain
    # RuntimeError "[enforce fail at alloc_cpu.cpp] ... DefaultCPUAllocator: can't
    # allocate memory: you tried to allocate N bytes" where posix_memalign failed (Linux,
    # macOS), "... DefaultCPUAllocator: not enough memory: you tried to allocate N bytes."
    # where _aligned_malloc or memalign did (Windows, Android; c10/core/impl/alloc_cpu.cpp).
    # Only those exact phrases count.
    return type(exc) is RuntimeError and message_has(exc, *_CPU_ALLOCATOR_OOM)


def release_memory(device: Device | None = None) -> None:
    gc.collect()
    release_cuda(load(), device)


def memory_info() -> list[dict[str, Any]]:
    return memory_rows(load())


def shape_refusal(info: ArrayInfo) -> str | None:
    return None


def call_stream(x: Any) -> Any:
    """A context manager running a dispatched call on the calling thread's own CUDA stream
    on ``x``'s device, or ``None`` when ``x`` is on the CPU (nothing to enter)."""
    if not x.is_cuda:  # an attribute read: x.device builds an object on every call
        return None
    return ThreadStream(load(), int(x.device.index or 0))
