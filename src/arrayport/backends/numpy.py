"""numpy backend: host memory, the hub every copying route passes through.

numpy is arrayport's only hard dependency, so this module imports it at the top.

Quirks routed around here:

* numpy has no DLPack for bfloat16 (ml_dtypes' dtype): it neither exports nor imports it
  (BufferError / "Unsupported dtype in DLTensor"), so bfloat16 crosses by host views.
* Masked arrays would lose their mask, and object, string, datetime and structured dtypes
  hold nothing other frameworks can store: :func:`describe` refuses them by name.
* Read-only arrays (including memory maps opened with ``mode="r"``) are never exported
  as writable memory: numpy's own DLPack export refuses them, and :mod:`arrayport.convert`
  copies them for frameworks without read-only arrays.

numpy arrays *are* host memory (:data:`HOST_MEMORY`): a CPU conversion to or from numpy is
a host share by the other framework's own call (``torch.from_numpy``, ``t.numpy()``,
``np.asarray(jax_array)``), tried before DLPack because it is as zero-copy and cheaper.
"""

from __future__ import annotations

import gc
import importlib.metadata
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._exchange import holds_numbers
from arrayport._host import (
    ArrayInfo,
    RouteKey,
    aligned_copy,
    host_info,
    host_route_key,
)
from arrayport.backends._util import allocation_failed
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.NUMPY
MODULE_ROOTS = ("numpy",)
IMPORT_NAME = "numpy"
EXTRA = ""
IMMUTABLE = False
HAS_DLPACK = True
WRITABLE_ONLY = False
COPIES_HOST = False
WIDENINGS: dict[str, str] = {}
#: numpy arrays are host memory: CPU routes to and from numpy share by host views first.
HOST_MEMORY = True


def is_installed() -> bool:
    return True


def load() -> ModuleType:
    return np


def version() -> str:
    return importlib.metadata.version("numpy")


def is_array(x: object) -> bool:
    return isinstance(x, np.ndarray)


def non_array_hint(x: object) -> str | None:
    if isinstance(x, np.generic):
        return "it is a numpy scalar: make a 0-d array with numpy.asarray(x)"
    return None


# dtype -> whether it holds exchangeable numbers (dtype.name costs about 1 us in numpy).
_exchangeable_dtypes: dict[np.dtype[Any], bool] = {}


def _exchangeable_cached(dtype: np.dtype[Any]) -> bool:
    found = _exchangeable_dtypes.get(dtype)
    if found is None:
        # Emptied at 256 entries: string and record dtypes come in endless variety
        # (`<U7`, `<U8`, ...), and each would be kept for good.
        if len(_exchangeable_dtypes) >= 256:
            _exchangeable_dtypes.clear()
        found = _exchangeable_dtypes[dtype] = holds_numbers(dtype)
    return found


def is_plain(x: Any) -> bool:
    return type(x) is np.ndarray and _exchangeable_cached(x.dtype)


def route_key(x: Any, address: bool) -> RouteKey | None:
    """The routing summary of a plain ndarray (subclasses such as masked arrays and memory
    maps, and dtypes :func:`describe` refuses, take the full plan: None)."""
    if type(x) is not np.ndarray:
        return None
    dtype = x.dtype
    if not (_exchangeable_dtypes.get(dtype) or _exchangeable_cached(dtype)):
        return None
    return host_route_key(x, CPU, address)


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


_MASKED = (
    "masked arrays are not converted: the mask would be lost. Pass "
    "x.filled(fill_value) for the values, or x.data and x.mask separately"
)


def describe(x: Any) -> ArrayInfo:
    if isinstance(x, np.ma.MaskedArray):
        raise UnsupportedArrayError(_MASKED)
    if not holds_numbers(x.dtype):
        if x.dtype.names == ("float0",):  # jax's float0: a plain ndarray in older jax (0.4.34)
            msg = (
                "numpy arrays of jax's dtype float0 (jax's gradient of an integer input) "
                "hold no numbers: drop it, or take gradients of float inputs only"
            )
            raise UnsupportedArrayError(msg)
        msg = (
            f"numpy arrays of dtype {x.dtype} hold no numbers arrayport can move between "
            "frameworks; convert to a numeric or bool dtype first (e.g. x.astype('float64'), "
            "or for datetimes x.astype('int64'))"
        )
        raise UnsupportedArrayError(msg)
    return host_info(x, CPU)


def describe_within(x: Any) -> ArrayInfo:
    """:func:`describe` for a route within numpy (an identity, a copy): dtypes that hold no
    numbers (datetimes, strings, objects, records) stay numpy's own; a mask is still lost."""
    if isinstance(x, np.ma.MaskedArray):
        raise UnsupportedArrayError(_MASKED)
    # The name as it is: dtype_name's cache would keep every `<U7`, `<U8`, ...
    return host_info(x, CPU, name=x.dtype.name)


def argument_refusal(t: type) -> str | None:
    """Why a dispatched function must not be handed an array of ndarray subclass ``t``
    even when it declares numpy (where nothing is converted), or None.

    A function written against the array API computes on plain arrays: a masked array's
    mask would be dropped by it, and ``np.matrix`` turns ``*`` and ``**`` into matrix
    products, so the same function would give other values on numpy than elsewhere.
    """
    if issubclass(t, np.ma.MaskedArray):
        return _MASKED
    if issubclass(t, np.matrix):
        return (
            "np.matrix is not passed to array functions: its * and ** are matrix products, "
            "elementwise on every other array, so results would differ by framework. "
            "Pass np.asarray(x) (a plain ndarray view, no copy)"
        )
    return None


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype is None:
        return f"numpy has no {dtype_name} dtype; install ml_dtypes (it comes with jax)"
    return None


def host_view(x: Any) -> np.ndarray | None:
    return np.asarray(x)  # drops an ndarray subclass (memmap) but keeps its memory and flags


def to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x)


def share_refusal(info: ArrayInfo) -> str | None:
    return None


def from_numpy(a: np.ndarray, device: Device) -> Any:
    return a


def copy(x: Any) -> Any:
    return aligned_copy(x)


def copy_within(x: Any) -> Any:
    """:func:`copy` of an array only :func:`describe_within` describes (datetimes, strings,
    objects, records): objects are references, which no raw aligned buffer may hold, and a
    dtype of 0-byte items (``V0``, a record of no fields) has no buffer to align."""
    plain = x.dtype.hasobject or x.dtype.itemsize == 0
    return np.array(x, copy=True) if plain else aligned_copy(x)


def move(x: Any, device: Device) -> Any:
    resolve_device(device, CPU)
    return x


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (MemoryError,)


#: is_oom calls any MemoryError numpy's (its _ArrayMemoryError, or the host allocator's):
#: asked after the frameworks with error types of their own (cupy's is a MemoryError too).
CLAIMS_MEMORY_ERROR = True


def is_oom(exc: BaseException) -> bool:
    # numpy raises numpy._core._exceptions._ArrayMemoryError, a MemoryError subclass; a
    # bare MemoryError from Python's own allocator means the same thing. A program's own
    # MemoryError subclass does not (ADR 0020).
    return allocation_failed(exc)


def release_memory(device: Device | None = None) -> None:
    """Collect unreachable arrays, which frees their buffers.

    numpy caches nothing: an array's buffer goes back to the C allocator with its last
    reference. An array held only by a reference cycle waits for the garbage collector,
    so a full collection, as in every other backend, is what releasing means here.
    """
    gc.collect()


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


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    if info.dtype_name == "bfloat16":
        return "numpy cannot import bfloat16 over DLPack"
    return None


def dlpack_export_refusal(info: ArrayInfo) -> str | None:
    if info.dtype_name == "bfloat16":
        return "numpy cannot export bfloat16 over DLPack"
    if not info.writable:
        return "numpy does not export read-only memory over DLPack"
    if not info.native_order:
        return "DLPack has no big-endian dtypes"
    return None


def dlpack_source(x: Any) -> Any:
    return x


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    out = np.from_dlpack(x)
    if read_only:
        out.flags.writeable = False  # the source is immutable: no writable alias of it
    return out
