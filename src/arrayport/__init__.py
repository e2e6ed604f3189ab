"""arrayport: write an array function once, run it on numpy, cupy, torch, jax, tensorflow,
pyclesperanto and dask.

``import arrayport`` imports numpy and nothing else: a framework is imported only when an
array of it is seen or it is asked for by name.
"""

from __future__ import annotations

from arrayport._metrics import metrics
from arrayport.backends import available_memory_types, detect_memory_type, namespace
from arrayport.backends.pyclesperanto import install_tensorflow_import_guard
from arrayport.convert import Route, convert, plan
from arrayport.devices import Device, use_device
from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    ConversionError,
    CopyRequiredError,
    DeviceError,
    DtypeConversionError,
    InvalidOptionError,
    OutOfMemoryError,
    UnsupportedArrayError,
    UnsupportedDtypeError,
)
from arrayport.memory_types import MemoryType

__version__ = "0.1.0"

__all__ = [
    "ArrayportError",
    "BackendUnavailableError",
    "ConversionError",
    "CopyRequiredError",
    "Device",
    "DeviceError",
    "DtypeConversionError",
    "InvalidOptionError",
    "MemoryType",
    "OutOfMemoryError",
    "Route",
    "UnsupportedArrayError",
    "UnsupportedDtypeError",
    "__version__",
    "available_memory_types",
    "convert",
    "detect_memory_type",
    "metrics",
    "namespace",
    "plan",
    "use_device",
]

install_tensorflow_import_guard()
