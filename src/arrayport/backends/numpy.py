"""numpy backend: host memory, the hub every copying route passes through.

numpy is arrayport's only hard dependency, so this module imports it at the top.
"""

from __future__ import annotations

import importlib.metadata
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import ArrayInfo, host_info
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.NUMPY
MODULE_ROOTS = ("numpy",)
IMPORT_NAME = "numpy"
EXTRA = ""
IMMUTABLE = False


def is_installed() -> bool:
    return True


def load() -> ModuleType:
    return np


def version() -> str:
    return importlib.metadata.version("numpy")


def is_array(x: object) -> bool:
    return isinstance(x, np.ndarray)


def namespace() -> Any:
    import array_api_compat.numpy as xp

    return xp


def devices() -> tuple[Device, ...]:
    return (CPU,)


def device_of(x: Any) -> Device:
    return CPU


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None or requested.is_cpu:
        return CPU
    msg = f"numpy arrays live in host memory; cannot place one on {requested}: use device='cpu'"
    raise DeviceError(msg)


def describe(x: Any) -> ArrayInfo:
    if isinstance(x, np.ma.MaskedArray):
        msg = (
            "masked arrays are not converted: the mask would be lost. Pass "
            "x.filled(fill_value) for the values, or x.data and x.mask separately"
        )
        raise UnsupportedArrayError(msg)
    if x.dtype.hasobject or x.dtype.kind in "OUSVMm" or x.dtype.fields is not None:
        msg = (
            f"numpy arrays of dtype {x.dtype} hold no numbers arrayport can move between "
            "frameworks; convert to a numeric or bool dtype first"
        )
        raise UnsupportedArrayError(msg)
    return host_info(x, CPU)


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype is None:
        return f"numpy has no {dtype_name} dtype; install ml_dtypes (it comes with jax)"
    return None


def host_view(x: Any) -> np.ndarray | None:
    return np.asarray(x)


def to_host(x: Any) -> np.ndarray:
    return np.asarray(x)


def share_refusal(info: ArrayInfo) -> str | None:
    return None


def adopt_host(a: np.ndarray, device: Device) -> Any:
    return a


def copy(x: Any) -> Any:
    from arrayport._host import aligned_copy

    return aligned_copy(x)


def move(x: Any, device: Device) -> Any:
    resolve_device(device, CPU)
    return x


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (MemoryError,)


def is_oom(exc: BaseException) -> bool:
    # numpy raises numpy._core._exceptions._ArrayMemoryError, a MemoryError subclass; a
    # bare MemoryError from Python's own allocator means the same thing.
    return isinstance(exc, MemoryError)


def release_memory(device: Device | None = None) -> None:
    """numpy caches nothing: freed arrays go straight back to the C allocator."""


def memory_info() -> list[dict[str, Any]]:
    free: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        pass
    return [{"device": str(CPU), "in_use": None, "cached": 0, "free": free}]


def shape_refusal(info: ArrayInfo) -> str | None:
    return None


HAS_DLPACK = True


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    if info.dtype_name == "bfloat16":
        return "numpy cannot import bfloat16 over DLPack"
    return None


def dlpack_source(x: Any) -> Any:
    return x


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    out = np.from_dlpack(x)
    if read_only:
        out.flags.writeable = False  # the source is immutable: no writable alias of it
    return out
