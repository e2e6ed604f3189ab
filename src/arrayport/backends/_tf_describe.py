"""What a tensorflow tensor is, as arrayport sees it: its dtype and device, its full
description, the cheap routing summary of a CPU tensor, and the numpy view of its buffer
they read the address from.

Importing this module imports no framework: tensorflow is loaded through the backend's
``load()`` (which loads PoCL's library first), and only by :func:`raw_view` for a bfloat16
tensor. The backend re-exports :func:`device_of`, :func:`describe` and :func:`route_key`
as they are, with no wrapper: dispatch reads ``device_of`` on every call with a tensor.

Quirks routed around here:

* String, resource, variant and quantized dtypes are refused with what to do instead;
  numeric ones other frameworks are not given (float8, int4) by dtype, with a ``tf.cast``.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from arrayport._host import ArrayInfo, RouteKey, host_layout
from arrayport.backends._util import numpy_dtype_or_none
from arrayport.devices import CPU, Device
from arrayport.errors import BackendUnavailableError, DeviceError, UnsupportedArrayError

__all__ = [
    "DTYPES",
    "describe",
    "device_of",
    "dtype_of",
    "export_dtype_refusal",
    "raw_view",
    "refuse_graph_mode",
    "route_key",
]

#: tf dtypes that hold numbers other frameworks can store exactly.
DTYPES = frozenset(
    {
        "bool",
        "int8",
        "uint8",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "int64",
        "uint64",
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)

# Device strings seen -> Device (parsing them costs more than a dict lookup).
_device_names: dict[str, Device] = {}


def device_of(x: Any) -> Device:
    found = _device_names.get(x.device)
    if found is not None:
        return found
    name = str(x.device).upper()
    kind, _, index = name.rpartition("DEVICE:")[2].partition(":")
    if kind == "CPU" or not name:
        found = CPU
    elif kind == "GPU":
        found = Device("cuda", int(index or 0))
    else:
        msg = (
            f"tensorflow device {x.device!r} is not supported by arrayport (CPU and GPU "
            "are); copy the tensor first, e.g. inside with tf.device('/CPU:0'): tf.identity(x)"
        )
        raise DeviceError(msg)
    if isinstance(x.device, str):
        _device_names[x.device] = found
    return found


# tf DType -> (the numpy dtype holding the same values or None, its name).
_dtypes: dict[Any, tuple[np.dtype[Any] | None, str]] = {}


def dtype_of(x: Any) -> tuple[np.dtype[Any] | None, str]:
    # Keyed by the dtype's enum value: hashing the DType object runs Python (0.4 us).
    key = x._datatype_enum()
    found = _dtypes.get(key)
    if found is None:
        name = x.dtype.name
        found = _dtypes[key] = (numpy_dtype_or_none(name), name)
    return found


def is_symbolic(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor (inside ``tf.function`` or a graph): no data."""
    return type(x).__name__ != "EagerTensor"


SYMBOLIC = (
    "symbolic tensors (inside tf.function or graph mode) hold no data: functions declared "
    "on tensorflow take them as they are, anything that reads or moves them refuses them; "
    "call it outside tf.function (or run functions eagerly while debugging: "
    "tf.config.run_functions_eagerly(True))"
)


def route_key(x: Any, address: bool) -> RouteKey | None:
    """The routing summary of an eager CPU tensor of a supported dtype (anything else
    takes the full plan)."""
    if is_symbolic(x):
        return None  # the full plan refuses it
    dtype, name = dtype_of(x)
    if name not in DTYPES or dtype is None or not device_of(x).is_cpu:
        return None
    shape = x._shape_tuple()
    if not address:
        # tensorflow keeps CPU buffers on a 64-byte boundary (it copies unaligned memory it
        # is given): elements are aligned without reading the address (tests check it).
        return (CPU, dtype, name, False, True, True, True, True, None, len(shape), 0 in shape)
    # No numpy view beyond 64 dimensions, nor of an empty tensor whose other extents pass
    # numpy's byte limit: the full plan refuses both by their shape.
    if len(shape) > 64 or (0 in shape and not _numpy_describes(shape, dtype.itemsize)):
        return None
    view = raw_view(x, name)  # compact row-major; its address is the tensor's
    _contiguous, _positive, element, aligned = host_layout(view, address)
    if dtype.itemsize != view.dtype.itemsize:  # pragma: no cover - bfloat16 is viewed as uint16
        return None
    return (CPU, dtype, name, False, True, True, True, element, aligned, view.ndim, view.size == 0)


def _numpy_describes(shape: tuple[int, ...], itemsize: int) -> bool:
    """Whether numpy can describe an array of this shape (``np.empty`` refuses more than
    ``sys.maxsize`` bytes in the non-zero extents, even with an extent of 0)."""
    return math.prod(n for n in shape if n) * itemsize <= sys.maxsize


#: tf dtypes that hold no numbers (strings, handles) or codes standing for other values
#: (quantized): refused as arrays. Other dtypes outside DTYPES (float8, int4, ...) are
#: numbers: described, and refused by dtype, with a cast (export_dtype_refusal).
_NOT_NUMBERS = ("string", "resource", "variant", "qint", "quint")


def export_dtype_refusal(info: ArrayInfo) -> str | None:
    """Why a tensor of a numeric dtype other frameworks are not given leaves tensorflow
    only after a cast, with that cast (float8 and int4 tensors hold numbers; jax and torch
    have some of these dtypes, but arrayport moves them between no frameworks)."""
    name = info.dtype_name
    if name in DTYPES:
        return None
    cast = "tf.uint8" if name.startswith("uint") else "tf.int8" if "int" in name else "tf.float32"
    return (
        f"arrayport moves no {name} between frameworks; cast it in tensorflow first to a "
        f"dtype that holds every value: tf.cast(x, {cast})"
    )


def _unstorable(name: str) -> str:
    """Why a tensor of dtype ``name`` is refused, with the remedy its kind takes (tf.cast
    gives a quantized tensor's raw codes, and casts no string or resource)."""
    if name.startswith(("qint", "quint")):
        remedy = (
            "dequantize it first (tf.quantization.dequantize(x, min_range, max_range)); "
            "tf.cast would give its raw quantized codes, not the values they stand for"
        )
    elif name == "string":
        remedy = "parse it into numbers first (tf.strings.to_number(x, out_type=tf.float32))"
    elif name == "resource":
        remedy = "pass the variable's value (v.read_value()), not its handle"
    else:
        remedy = "it holds no array data"  # variant: a tensor of other objects
    return f"tensorflow tensors of dtype {name} hold nothing other frameworks can store; {remedy}"


def describe(x: Any) -> ArrayInfo:
    if is_symbolic(x):
        raise UnsupportedArrayError(SYMBOLIC)
    dtype, name = dtype_of(x)
    numbers = name in DTYPES
    if not numbers and name.startswith(_NOT_NUMBERS):
        raise UnsupportedArrayError(_unstorable(name))
    device = device_of(x)
    pointer: int | None = None
    # Beyond 64 dimensions numpy cannot view the buffer (tensorflow's DLPack export raises
    # a RuntimeError); convert refuses such arrays by their shape, float8 and int4 ones
    # (no DLPack) by their dtype.
    if numbers and device.is_cpu and x.shape.num_elements() and x.shape.rank <= 64:
        pointer = int(raw_view(x, name).__array_interface__["data"][0])
    return ArrayInfo(
        shape=tuple(int(n) for n in x.shape),
        dtype=dtype,
        dtype_name=name,
        device=device,
        strides=None,
        pointer=pointer,
        writable=False,
        framework_aligned=not device.is_cpu,  # tensorflow <-> jax on a GPU share by DLPack
    )


def raw_view(x: Any, name: str) -> np.ndarray:
    """A numpy view of a CPU tensor's buffer, given its dtype name (bfloat16 as uint16:
    numpy has no bf16 DLPack)."""
    if name == "bfloat16":
        # Imported here, not at the top: the backend imports this module.
        from arrayport.backends.tensorflow import load

        tf = load()
        x = tf.bitcast(x, tf.uint16)  # a view: the same buffer
    return np.from_dlpack(x)


def refuse_graph_mode(tf: Any) -> None:
    """Refuse tensorflow with eager execution disabled (TF1's graph mode): the tensors
    arrayport makes are eager, and graph code fails where it uses one ("Attempting to
    capture an EagerTensor without building a function"), not where it was made."""
    v1 = getattr(getattr(tf, "compat", None), "v1", None)
    eager = getattr(v1, "executing_eagerly_outside_functions", None)
    if eager is not None and not eager():
        msg = (
            "tensorflow runs with eager execution disabled "
            "(tf.compat.v1.disable_eager_execution()): arrayport moves data as eager "
            "tensors, which graph-mode code cannot use; run tensorflow eagerly (the "
            "default since 2.0) and use tf.function for graphs"
        )
        raise BackendUnavailableError(msg)
