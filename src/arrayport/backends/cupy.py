"""cupy backend (CUDA device memory).

Runs only when cupy imports and sees a CUDA device. CI has no GPU: the GPU tests
(``tests/test_gpu.py``, with ``ARRAYPORT_DEVICE=cuda``) ran on an H100 (ADR 0057), and
``scripts/gpu_check.sh`` runs them on any GPU machine.

Every cupy copy arrayport makes runs on the calling thread's own stream
(:func:`arrayport.devices.thread_stream`), after that stream waits for the current one, and
is finished before it is handed back, so concurrent dispatch never serialises on the
legacy default stream. A DLPack import copies nothing and hands the producer cupy's
current stream, the one the caller's next cupy work runs on.
"""

from __future__ import annotations

import ctypes.util
import functools
import gc
import os
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import (
    ALIGNMENT,
    ArrayInfo,
    RouteKey,
    aligned_copy,
    c_contiguous,
    dtype_name,
)
from arrayport.backends._util import find_spec, import_framework
from arrayport.devices import Device, cuda_device, current_device_index, thread_stream
from arrayport.errors import BackendUnavailableError, DeviceError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.CUPY
MODULE_ROOTS = ("cupy", "cupy_backends")
IMPORT_NAME = "cupy"
EXTRA = "cupy-cuda12"
IMMUTABLE = False
HAS_DLPACK = True
WRITABLE_ONLY = True
COPIES_HOST = True
WIDENINGS: dict[str, str] = {}


def is_installed() -> bool:
    driver = os.path.exists("/dev/nvidiactl") or ctypes.util.find_library("cuda") is not None
    return driver and find_spec("cupy")


_module: ModuleType | None = None
_count = 0  # CUDA devices, read once: the visible devices are fixed when CUDA starts


def load() -> ModuleType:
    # Cached once a device is found: every cupy path calls load(), and asking CUDA for the
    # device count each time costs microseconds per conversion.
    global _module, _count
    if _module is not None:
        return _module
    cp = import_framework("cupy", EXTRA)
    try:
        count = int(cp.cuda.runtime.getDeviceCount())
    # CUDARuntimeError without a driver or device; ImportError/OSError when the CUDA
    # libraries themselves cannot be loaded.
    except (cp.cuda.runtime.CUDARuntimeError, RuntimeError, ImportError, OSError) as exc:
        msg = f"cupy is installed but cannot reach a CUDA device ({exc}); use another memory type"
        raise BackendUnavailableError(msg) from exc
    if count == 0:
        msg = "cupy is installed but this machine has no CUDA device"
        raise BackendUnavailableError(msg)
    _module, _count = cp, count
    return cp


def version() -> str:
    return str(load().__version__)


def is_array(x: object) -> bool:
    return isinstance(x, load().ndarray)


def non_array_hint(x: object) -> str | None:
    return None


def is_plain(x: Any) -> bool:
    return type(x) is load().ndarray


def namespace() -> Any:
    import array_api_compat.cupy as xp

    return xp


def devices() -> tuple[Device, ...]:
    load()
    return tuple(Device("cuda", i) for i in range(_count))


def device_of(x: Any) -> Device:
    return cuda_device(int(x.device.id))


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None:
        requested = source if source.kind == "cuda" else cuda_device(current_device_index())
    load()
    n = _count
    if requested.kind == "cuda" and requested.index < n:
        return requested
    msg = f"cupy places data on CUDA devices (cuda:0..cuda:{n - 1}), not on {requested}"
    raise DeviceError(msg)


def _stream(index: int) -> Any:
    cp = load()

    def factory() -> Any:
        with cp.cuda.Device(index):
            return cp.cuda.Stream(non_blocking=True)

    return thread_stream("cupy", index, factory)


def route_key(x: Any, address: bool) -> RouteKey | None:
    """The routing summary of a plain cupy array: what ``route_key_of(describe(x))`` gives,
    read straight from the array (describe's ArrayInfo and its properties cost about 18 us
    a conversion on a GPU machine; tests on a GPU check the two agree)."""
    if type(x) is not load().ndarray:
        return None
    dtype = x.dtype
    shape = x.shape
    strides = x.strides
    data = x.data
    pointer = int(data.ptr)
    size = dtype.itemsize
    empty = 0 in shape
    element = size <= 1 or ((empty or pointer % size == 0) and all(s % size == 0 for s in strides))
    return (
        cuda_device(int(data.device_id)),
        dtype,
        dtype_name(dtype),
        True,  # writable: cupy has no read-only arrays
        True,  # native byte order: cupy has no other
        c_contiguous(shape, strides, size),
        min(strides, default=0) >= 0,
        element,
        (empty or pointer % ALIGNMENT == 0) if address else None,
        len(shape),
        empty,
    )


def describe(x: Any) -> ArrayInfo:
    return ArrayInfo(
        shape=tuple(x.shape),
        dtype=np.dtype(x.dtype),
        dtype_name=np.dtype(x.dtype).name,
        device=device_of(x),
        strides=tuple(x.strides),
        pointer=int(x.data.ptr),
        writable=True,
    )


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype is not None and dtype.kind in "biufc":
        return None
    return f"cupy has no {dtype_name} dtype"


def host_view(x: Any) -> np.ndarray | None:
    return None


def to_numpy(x: Any) -> np.ndarray:
    with _ThreadStream(device_of(x).index) as stream:
        out = x.get(stream=stream)
    return np.asarray(out)


def share_refusal(info: ArrayInfo) -> str | None:
    return "cupy arrays live in GPU memory: host data is copied to the device"


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    if info.device.kind != "cuda":
        return "cupy imports DLPack only from CUDA memory"
    if info.dtype_name == "bfloat16":
        return "cupy has no bfloat16"
    return None


def dlpack_export_refusal(info: ArrayInfo) -> str | None:
    return None


def dlpack_source(x: Any) -> Any:
    return x


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    cp = load()
    # On cupy's current stream, not this thread's own: the producer orders its pending
    # work before the stream it is handed, and the caller's next cupy work runs on the
    # current stream (inside a dispatched call, that is the call's stream). No kernel runs.
    with cp.cuda.Device(device.index):
        out = cp.from_dlpack(x)
    return out if device_of(out) == device else move(out, device)


def from_numpy(a: np.ndarray, device: Device) -> Any:
    if a.dtype.name == "bfloat16":
        msg = "cupy has no bfloat16 dtype"
        raise UnsupportedArrayError(msg)
    if not a.dtype.isnative:  # cupy arrays are native-endian: swap once, on the host
        a = aligned_copy(a)
    with _ThreadStream(device.index):
        return load().asarray(a)


def copy(x: Any) -> Any:
    with _ThreadStream(device_of(x).index):
        return x.copy()


def move(x: Any, device: Device) -> Any:
    cp = load()
    with x.device:  # the source's pending work, on its own device's current stream
        if not (x.flags.c_contiguous or x.flags.f_contiguous):
            # cupy copies between devices only compact memory (else NotImplementedError):
            # compacted here, on that stream, so that `ready` orders this copy too (the
            # compact copy is freed only after _ThreadStream's exit has synchronised the
            # copy between the devices that reads it).
            x = cp.ascontiguousarray(x)
        ready = cp.cuda.get_current_stream().record()
    with _ThreadStream(device.index) as stream:
        stream.wait_event(ready)
        return cp.asarray(x)  # a peer-to-peer copy from the other device


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (load().cuda.memory.OutOfMemoryError,)


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, load().cuda.memory.OutOfMemoryError)


def release_memory(device: Device | None = None) -> None:
    """Free the memory pools' unused blocks on ``device``; with no GPU named, on each GPU
    with a CUDA context (ADR 0092), as told by the driver (:func:`_has_context`)."""
    from arrayport._oom_release import gpus_to_release  # only when memory is released

    gc.collect()
    cp = load()
    index = device.index if device is not None and device.kind == "cuda" else None
    for i in gpus_to_release(len(devices()), index, _has_context):
        with cp.cuda.Device(i):
            cp.cuda.Device(i).synchronize()
            cp.get_default_memory_pool().free_all_blocks()
    cp.get_default_pinned_memory_pool().free_all_blocks()


def memory_info() -> list[dict[str, Any]]:
    """Each GPU this process has a CUDA context on (ADR 0079): asking a device for its free
    memory creates one there (hundreds of MiB of that GPU), so devices without one, which
    hold nothing of cupy's, are left out, as torch's are."""
    cp = load()
    pool = cp.get_default_memory_pool()
    rows: list[dict[str, Any]] = []
    for d in devices():
        started = _has_context(d.index)
        if started is None:
            return [
                {"device": "-", "in_use": None, "cached": None, "free": None, "note": _CANNOT_TELL}
            ]
        if not started:
            continue
        with cp.cuda.Device(d.index):
            free, total = cp.cuda.runtime.memGetInfo()
            used = int(pool.used_bytes())
            rows.append(
                {
                    "device": str(d),
                    "in_use": used,
                    "cached": int(pool.total_bytes()) - used,
                    "free": int(free),
                    "total": int(total),
                }
            )
    return rows or [
        {"device": "-", "in_use": None, "cached": None, "free": None, "note": _NO_CONTEXT}
    ]


_NO_CONTEXT = (
    "no GPU has a CUDA context in this process yet: nothing of cupy's is allocated. None is "
    "made here, as that takes GPU memory; make a cupy array first for figures"
)
_CANNOT_TELL = (
    "not asked: the CUDA driver (cuDevicePrimaryCtxGetState) could not be read to tell "
    "which GPUs have a context, and asking a GPU without one creates one; "
    "cupy.cuda.runtime.memGetInfo() gives the figures"
)


def _has_context(index: int) -> bool | None:
    """Whether CUDA device ``index`` has its primary context (the one cupy uses), asked
    from the driver without creating one, as torch does; None where it cannot be read."""
    lib = _driver()
    if lib is None:
        return None
    device, flags, active = ctypes.c_int(), ctypes.c_uint(), ctypes.c_int()
    status = lib.cuDeviceGet(ctypes.byref(device), ctypes.c_int(index))
    if status == 3:  # CUDA_ERROR_NOT_INITIALIZED: the driver has no context anywhere
        return False
    if status != 0 or lib.cuDevicePrimaryCtxGetState(
        device, ctypes.byref(flags), ctypes.byref(active)
    ):
        return None
    return bool(active.value)


@functools.cache
def _driver() -> Any:
    """The CUDA driver library (loaded by cupy already; None where it cannot be)."""
    for name in ("libcuda.so.1", "nvcuda.dll"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def shape_refusal(info: ArrayInfo) -> str | None:
    return None


class _ThreadStream:
    """Enter device ``index`` and the calling thread's own stream on it, for a dispatched
    call and for every copy arrayport makes (ADR 0019, ADR 0060).

    On entry the stream waits for the device's current stream: the work that produced the
    arrays it reads, and the work still reading memory that was freed and may be reused
    for what this stream allocates. On exit it is synchronised: what it made is complete
    before any other stream, or the caller, touches it.
    """

    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> Any:
        cp = load()
        self.device = cp.cuda.Device(self.index)
        self.device.__enter__()
        self.stream = _stream(self.index)
        self.stream.wait_event(cp.cuda.get_current_stream().record())
        self.stream.__enter__()
        return self.stream

    def __exit__(self, *exc: object) -> None:
        self.stream.__exit__(*exc)
        self.stream.synchronize()
        self.device.__exit__(*exc)


def call_stream(x: Any) -> Any:
    """A context manager running a dispatched call on the calling thread's own stream on
    ``x``'s device (cupy arrays always live on a CUDA device)."""
    return _ThreadStream(int(x.device.id))
