"""arrayport: write an array function once, run it on numpy, cupy, torch, jax, tensorflow,
pyclesperanto and dask.

``import arrayport`` imports numpy and nothing else: a framework is imported only when an
array of it is seen or it is asked for by name.
"""

from __future__ import annotations

from arrayport._autograph import run_as_written
from arrayport._metrics import metrics
from arrayport.backends import available_memory_types, detect_memory_type, namespace
from arrayport.backends._pocl import install_tensorflow_import_guard
from arrayport.convert import Route, convert, plan
from arrayport.devices import Device, use_device
from arrayport.dispatch import DispatchedFunction as _DispatchedFunction
from arrayport.dispatch import FunctionContract, memory_type
from arrayport.dtypes import DtypeConversion, Scaling, convert_dtype
from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    BlockRuleError,
    ConversionError,
    CopyRequiredError,
    DeviceError,
    DtypeConversionError,
    InvalidOptionError,
    NoNamespaceError,
    OutOfMemoryError,
    UnsupportedArrayError,
    UnsupportedDtypeError,
    WholeArrayWarning,
)
from arrayport.memory import memory_report
from arrayport.memory_types import MemoryType
from arrayport.oom import OOMPolicy
from arrayport.stack import process_slices, stack_slices, unstack_slices

__version__ = "0.1.0"

__all__ = [
    "ArrayportError",
    "BackendUnavailableError",
    "BlockRuleError",
    "ConversionError",
    "CopyRequiredError",
    "Device",
    "DeviceError",
    "DtypeConversion",
    "DtypeConversionError",
    "FunctionContract",
    "InvalidOptionError",
    "NoNamespaceError",
    "MemoryType",
    "OOMPolicy",
    "OutOfMemoryError",
    "Route",
    "Scaling",
    "UnsupportedArrayError",
    "UnsupportedDtypeError",
    "WholeArrayWarning",
    "__version__",
    "available_memory_types",
    "convert",
    "convert_dtype",
    "detect_memory_type",
    "memory_report",
    "memory_type",
    "metrics",
    "namespace",
    "plan",
    "process_slices",
    "stack_slices",
    "unstack_slices",
    "use_device",
]

install_tensorflow_import_guard()
run_as_written(
    convert,
    plan,
    convert_dtype,
    detect_memory_type,
    namespace,
    stack_slices,
    unstack_slices,
    process_slices,
    memory_type,
    OOMPolicy.run,
    OOMPolicy.recover,
    _DispatchedFunction.options,
)
