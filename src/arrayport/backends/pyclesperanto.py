"""pyclesperanto backend (OpenCL buffers; storage only, no array API namespace).

pyclesperanto never shares host memory: every route in or out is a copy (push/pull).

Quirks routed around here (measured with pyclesperanto 0.25.1 on PoCL 3.1):

* It stores int64→int32, uint64→uint32, float64→float32 and complex64→float32 without a
  word: :func:`check_dtype` refuses those dtypes. bool and float16 are widened losslessly
  to uint8 and float32 (:data:`WIDENINGS`); the route's reason says so.
* 0-d, empty and more-than-3-D arrays raise or come back with other values:
  :func:`shape_refusal` refuses them first.
* Importing tensorflow and *then* pyclesperanto on PoCL kills the process (TF's LLVM
  symbols clash with PoCL's). Loading PoCL's library before tensorflow is imported avoids
  it: :func:`preload_opencl_platform` does that, called by the tensorflow backend before
  it imports tensorflow and by an import hook arrayport installs for users who import
  tensorflow themselves. When tensorflow came first anyway, :func:`load` refuses with an
  explanation instead of crashing.
* A PoCL allocation beyond the device's maximum buffer size "succeeds" and the next push
  aborts the process: :func:`adopt_host` checks the size first.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import glob
import importlib.abc
import os
import re
import sys
import threading
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import ArrayInfo
from arrayport.backends._util import find_spec, import_framework, message_has
from arrayport.devices import Device
from arrayport.errors import BackendUnavailableError, DeviceError, OutOfMemoryError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.PYCLESPERANTO
MODULE_ROOTS = ("pyclesperanto", "pyclesperanto_opencl", "pyclesperanto_cuda")
IMPORT_NAME = "pyclesperanto"
EXTRA = "pyclesperanto"
IMMUTABLE = False
HAS_DLPACK = False

_DTYPES = frozenset({"int8", "uint8", "int16", "uint16", "int32", "uint32", "float32"})
#: Dtypes pyclesperanto cannot hold but can hold exactly in a wider type.
WIDENINGS = {"bool": "uint8", "float16": "float32"}

_POCL_LIBRARY = "libpocl.so.2"
_preload_lock = threading.Lock()
_preloaded = False


def _pocl_icd_installed() -> bool:
    vendors = os.environ.get("OCL_ICD_VENDORS", "/etc/OpenCL/vendors")
    return bool(glob.glob(os.path.join(vendors, "*pocl*.icd")))


def _opencl_icd_installed() -> bool:
    vendors = os.environ.get("OCL_ICD_VENDORS", "/etc/OpenCL/vendors")
    return bool(glob.glob(os.path.join(vendors, "*.icd")))


def _pocl_mapped() -> bool:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            return "libpocl" in f.read()
    except OSError:
        return _preloaded


def preload_opencl_platform() -> None:
    """Load PoCL's shared library now, so a later tensorflow import cannot break it.

    Does nothing unless pyclesperanto and PoCL are both installed and pyclesperanto is not
    imported yet. Importing no Python framework, it is safe to call at any time.
    """
    global _preloaded
    with _preload_lock:
        if _preloaded or "pyclesperanto" in sys.modules or not _pocl_icd_installed():
            return
        if not find_spec("pyclesperanto"):
            return
        try:
            ctypes.CDLL(_POCL_LIBRARY)
        except OSError:
            return
        _preloaded = True


def is_installed() -> bool:
    return find_spec("pyclesperanto") and _opencl_icd_installed()


def load() -> ModuleType:
    if "pyclesperanto" not in sys.modules:
        if "tensorflow" in sys.modules and _pocl_icd_installed() and not _pocl_mapped():
            msg = (
                "pyclesperanto cannot be imported after tensorflow on PoCL: the two "
                "libraries' LLVM copies clash and the process would crash. Import arrayport "
                "or pyclesperanto before tensorflow"
            )
            raise BackendUnavailableError(msg)
    cle = import_framework("pyclesperanto", EXTRA)
    if not hasattr(cle, "push"):
        msg = (
            "pyclesperanto found no OpenCL platform; on a machine without a GPU install "
            "PoCL: apt-get install pocl-opencl-icd ocl-icd-libopencl1"
        )
        raise BackendUnavailableError(msg)
    return cle


def version() -> str:
    return str(load().__version__)


def is_array(x: object) -> bool:
    cle = load()
    return isinstance(x, cle.Array) or type(x).__name__ == "_Array"


def namespace() -> Any:
    msg = (
        "pyclesperanto has no array API namespace; write the function with cle calls "
        "(pyclesperanto.gaussian_blur, ...), or declare it on numpy, torch, jax or cupy"
    )
    raise UnsupportedArrayError(msg)


def devices() -> tuple[Device, ...]:
    return tuple(Device("opencl", i) for i in range(len(load().list_available_devices())))


def device_of(x: Any) -> Device:
    names = load().list_available_devices()
    name = x.device.name
    return Device("opencl", names.index(name) if name in names else 0)


def _current_index() -> int:
    cle = load()
    names = cle.list_available_devices()
    name = cle.get_device().name
    return names.index(name) if name in names else 0


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None:
        return source if source.kind == "opencl" else Device("opencl", _current_index())
    n = len(devices())
    if requested.kind == "opencl" and requested.index < n:
        return requested
    msg = (
        f"pyclesperanto holds data on OpenCL devices (opencl:0..opencl:{n - 1}), not on "
        f"{requested}: pass device=None or 'opencl:N'"
    )
    raise DeviceError(msg)


def _cle_device(device: Device) -> Any:
    cle = load()
    if device.index == _current_index():
        return cle.get_device()
    # pyclesperanto selects devices globally; there is no per-call device handle.
    return cle.select_device(device.index)


def describe(x: Any) -> ArrayInfo:
    dtype = np.dtype(x.dtype)
    return ArrayInfo(
        shape=tuple(x.shape),
        dtype=dtype,
        dtype_name=dtype.name,
        device=device_of(x),
        strides=None,
        pointer=None,
        writable=True,
    )


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype_name in _DTYPES or dtype_name in WIDENINGS:
        return None
    return (
        f"pyclesperanto cannot hold {dtype_name} (it would store a narrower type and change "
        "values); convert to float32 or int32 first, e.g. arrayport.convert_dtype(x, "
        "'float32'), if every value fits"
    )


def shape_refusal(info: ArrayInfo) -> str | None:
    if len(info.shape) == 0:
        return "pyclesperanto cannot hold 0-d arrays; reshape to (1,) first"
    if info.size == 0:
        return "pyclesperanto cannot hold empty arrays"
    if len(info.shape) > 3:
        return f"pyclesperanto holds 1-, 2- and 3-D arrays, not {len(info.shape)}-D"
    return None


def host_view(x: Any) -> np.ndarray | None:
    return None


def to_host(x: Any) -> np.ndarray:
    return np.asarray(load().pull(x))


def share_refusal(info: ArrayInfo) -> str | None:
    return "pyclesperanto always copies host memory into OpenCL buffers"


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    return share_refusal(info)


def dlpack_source(x: Any) -> Any:
    return None


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    msg = "pyclesperanto cannot import DLPack"
    raise UnsupportedArrayError(msg)


def max_buffer_bytes(device: Device) -> int | None:
    """The device's maximum buffer size, parsed from pyclesperanto's device info."""
    match = re.search(r"Maximum Buffer Size:\s*(\d+)\s*MB", str(_cle_device(device).info))
    return int(match.group(1)) * 1024 * 1024 if match else None


def adopt_host(a: np.ndarray, device: Device) -> Any:
    cle = load()
    widened = WIDENINGS.get(a.dtype.name)
    if widened is not None:
        a = a.astype(widened)
    elif not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    limit = max_buffer_bytes(device)
    if limit is not None and a.nbytes > limit:
        msg = (
            f"{a.nbytes} bytes exceed the OpenCL device's maximum buffer size of {limit} "
            "bytes; split the array (OOMPolicy(split_axis=0)) or use another memory type"
        )
        raise OutOfMemoryError(msg, memory_type=MEMORY_TYPE, device=device, requested_bytes=a.nbytes)
    return cle.push(np.ascontiguousarray(a), device=_cle_device(device))


def copy(x: Any) -> Any:
    return x.copy()


def move(x: Any, device: Device) -> Any:
    return adopt_host(to_host(x), device)


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (RuntimeError, MemoryError)


# OpenCL reports allocation failures only as status codes inside pyclesperanto's
# RuntimeError text; these are the codes that mean "no memory for this buffer".
_OOM_CODES = (
    "CL_MEM_OBJECT_ALLOCATION_FAILURE",
    "CL_OUT_OF_RESOURCES",
    "CL_OUT_OF_HOST_MEMORY",
    "CL_INVALID_BUFFER_SIZE",
    "Failed to allocate buffer memory",
)


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    return type(exc) is RuntimeError and message_has(exc, *_OOM_CODES)


def release_memory(device: Device | None = None) -> None:
    """Free unreachable OpenCL buffers (pyclesperanto frees a buffer with its last reference)."""
    gc.collect()
    if "pyclesperanto" in sys.modules:
        load().wait_for_kernel_to_finish()


def memory_info() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for device in devices():
        limit = re.search(r"Global Memory Size:\s*(\d+)\s*MB", str(_cle_device(device).info))
        total = int(limit.group(1)) * 1024 * 1024 if limit else None
        rows.append({"device": str(device), "in_use": None, "cached": None, "free": None, "total": total})
    return rows


class _TensorflowImportGuard(importlib.abc.MetaPathFinder):
    """Loads PoCL's library just before the first ``import tensorflow``, then steps aside.

    It finds nothing itself (``find_spec`` returns None), so the import proceeds as usual.
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == "tensorflow":
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self)
            preload_opencl_platform()
        return None


def install_tensorflow_import_guard() -> None:
    """Make a later ``import tensorflow`` (by anyone) safe for pyclesperanto on PoCL.

    Installed by ``import arrayport`` only when tensorflow is not imported yet and both
    pyclesperanto and PoCL are installed; costs nothing until tensorflow is imported.
    """
    if "tensorflow" in sys.modules or "pyclesperanto" in sys.modules:
        return
    if any(isinstance(f, _TensorflowImportGuard) for f in sys.meta_path):
        return
    if _pocl_icd_installed() and find_spec("pyclesperanto"):
        sys.meta_path.insert(0, _TensorflowImportGuard())
