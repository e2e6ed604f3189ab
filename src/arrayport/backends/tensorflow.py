"""tensorflow backend.

tensorflow has no array API namespace: :func:`namespace` says so. Functions written with
``tf`` calls work with the decorator all the same.

Quirks routed around here:

* ``tf.experimental.dlpack.from_dlpack`` aborts the process on a buffer that is not
  64-byte aligned, and raises on strided or read-only memory: :func:`share_refusal` checks
  all three before any call, and copies go into aligned buffers.
* It takes only an unversioned "dltensor" capsule, and no stream: a GPU producer's queued
  work is finished first (``stream_free_capsule``).
* Importing tensorflow and then pyclesperanto (PoCL) kills the process; :func:`load`
  loads PoCL's library first (see :mod:`arrayport.backends.pyclesperanto`).
* Tensors are immutable: torch gets a copy (numpy gets a read-only view).
* numpy has no bfloat16 DLPack: ``tf.bitcast`` to uint16 (which keeps the buffer) is
  the zero-copy bridge both ways (in: :func:`from_numpy`; out:
  :func:`arrayport.backends._tf_describe.raw_view`).
* Variables are refused with what to do instead. Symbolic tensors (inside
  ``tf.function``) hold no data: they reach tensorflow-declared functions as they are,
  and everything that would read or move them refuses them by name
  (:func:`arrayport.backends._tf_describe.describe`).

The rest lives in private modules, with the quirks their code routes around: what a tensor
is (:func:`device_of`, :func:`describe`, :func:`route_key`, the dtypes it holds; string,
resource, variant and quantized dtypes refused, float8 and int4 refused to other frameworks
with a cast, :func:`export_dtype_refusal`) in :mod:`arrayport.backends._tf_describe`; the
host view and copy for numpy (:func:`host_view`, :func:`to_numpy`; views marked read-only) in
:mod:`arrayport.backends._tf_host`; the memory figures (:func:`memory_info`, asked only
once tensorflow's runtime has started) in :mod:`arrayport.backends._tf_memory`; the PoCL
import order in :mod:`arrayport.backends._pocl`.

GPU paths are unverified on hardware (the GPU machine of ADR 0057 had no tensorflow).
"""

from __future__ import annotations

import errno
import functools
import gc
import os
import sys
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import ArrayInfo, aligned_copy, dtype_name, host_layout, writes_allowed
from arrayport.backends._pocl import import_lock, preload_opencl_platform
from arrayport.backends._tf_describe import DTYPES as _DTYPES
from arrayport.backends._tf_describe import describe as describe
from arrayport.backends._tf_describe import device_of as device_of
from arrayport.backends._tf_describe import export_dtype_refusal as export_dtype_refusal
from arrayport.backends._tf_describe import is_symbolic, refuse_graph_mode
from arrayport.backends._tf_describe import route_key as route_key
from arrayport.backends._tf_host import host_view as host_view
from arrayport.backends._tf_host import to_numpy as to_numpy
from arrayport.backends._tf_memory import memory_info as memory_info
from arrayport.backends._triton import preload_triton
from arrayport.backends._util import (
    default_from_elsewhere,
    find_spec,
    import_framework,
    message_has,
    stream_free_capsule,
    unplaceable,
)
from arrayport.devices import CPU, Device
from arrayport.errors import ConversionError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.TENSORFLOW
MODULE_ROOTS = ("tensorflow",)
IMPORT_NAME = "tensorflow"
EXTRA = "tensorflow"
IMMUTABLE = True
HAS_DLPACK = True
WRITABLE_ONLY = False
COPIES_HOST = False
WIDENINGS: dict[str, str] = {}
#: tensorflow shares host memory only when it starts on a 64-byte boundary (an unaligned
#: DLPack import aborts the process).
SHARE_ALIGNMENT = 64


def is_installed() -> bool:
    return find_spec("tensorflow")


_module: ModuleType | None = None


def load() -> ModuleType:
    # Cached once imported: importlib.import_module costs about 0.5 us per call.
    global _module
    if _module is not None:
        return _module
    with import_lock:  # not while pyclesperanto's import starts PoCL (backends/_pocl.py)
        if "tensorflow" not in sys.modules:
            preload_opencl_platform()
            preload_triton()  # tensorflow then triton segfaults too (backends/_triton.py)
            # tensorflow logs its CPU feature banner at import; keep a user's setting if any.
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        tf = import_framework("tensorflow", EXTRA)
        refuse_graph_mode(tf)
        _module = tf
    return _module


def version() -> str:
    return str(load().__version__)


def is_array(x: object) -> bool:
    return isinstance(x, load().Tensor)  # eager, and symbolic ones (see describe)


def array_like_refusal(x: object) -> str | None:
    """Why a tensorflow object holding array data is not an array arrayport moves, with the
    remedy (None for other objects: dtypes, devices, models)."""
    tf = load()
    if isinstance(x, tf.Variable):
        return "tf.Variable is mutable state, not an array: pass tf.convert_to_tensor(v)"
    if isinstance(x, tf.RaggedTensor):
        return (
            "tf.RaggedTensor has rows of different lengths, not a rectangular array: pass "
            "x.to_tensor(default_value=...) (padded) or x.flat_values"
        )
    if isinstance(x, tf.SparseTensor):
        return "tf.SparseTensor is not a dense array: pass tf.sparse.to_dense(x)"
    if isinstance(x, tf.IndexedSlices):
        return (
            "tf.IndexedSlices (a sparse gradient) is not a dense array: pass "
            "tf.convert_to_tensor(x)"
        )
    return None


non_array_hint = array_like_refusal


def is_plain(x: Any) -> bool:
    return not is_symbolic(x)  # symbolic ones go through describe's refusal


def namespace() -> None:
    return None  # array-api-compat does not wrap tensorflow: functions use tf calls


@functools.cache
def _gpu_count() -> int:
    # Listing logical devices initialises tensorflow's runtime, after which the device
    # list is fixed: asked once (it costs microseconds per call).
    return len(load().config.list_logical_devices("GPU"))


def devices() -> tuple[Device, ...]:
    return (CPU, *(Device("cuda", i) for i in range(_gpu_count())))


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None and source.is_cpu:
        return CPU
    n_gpu = _gpu_count()
    if requested is None:
        if source.kind in ("cpu", "cuda"):
            requested = source
        else:  # an OpenCL source: tensorflow cannot live there
            requested = default_from_elsewhere(source, n_gpu > 0)
    if requested.is_cpu or (requested.kind == "cuda" and requested.index < n_gpu):
        return requested
    raise unplaceable("tensorflow", requested, n_gpu)


def _tf_device(device: Device) -> str:
    return "/CPU:0" if device.is_cpu else f"/GPU:{device.index}"


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype_name in _DTYPES:
        return None
    return f"tensorflow has no {dtype_name} dtype"


def share_refusal(info: ArrayInfo) -> str | None:
    return _share_refusal(info.writable, info.native_order, info.c_contiguous, info.aligned)


def _share_refusal(
    writable: bool, native: bool, contiguous: bool, aligned: bool | None
) -> str | None:
    if not writable:
        return "tensorflow cannot import read-only memory through DLPack"
    return _layout_refusal(native, contiguous, aligned)


def _layout_refusal(native: bool, contiguous: bool, aligned: bool | None) -> str | None:
    if not native:
        return "tensorflow cannot import big-endian memory"
    if not contiguous:
        return "tensorflow imports only compact row-major memory"
    if not aligned:
        # An unaligned import aborts the process (SIGABRT) instead of raising.
        return "tensorflow needs 64-byte aligned memory to share it"
    return None


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    return _layout_refusal(info.native_order, info.c_contiguous, info.aligned)


def dlpack_export_refusal(info: ArrayInfo) -> str | None:
    return None


def dlpack_source(x: Any) -> Any:
    # On a GPU, tensorflow's __dlpack__ refuses any stream ("does not support DLPack export
    # with a non-None stream"), and torch and cupy always pass one for CUDA memory. Its
    # export waits for the device itself (TFE_TensorHandleDevicePointer syncs), so the
    # consumer's stream may be dropped. Unverified on a GPU (tensorflow never ran on one).
    return x if device_of(x).is_cpu else _StreamlessExport(x)


class _StreamlessExport:
    """A GPU tensor offered over DLPack to consumers that pass a stream."""

    def __init__(self, x: Any) -> None:
        self._x = x

    def __dlpack__(self, **_ignored: Any) -> Any:
        return load().experimental.dlpack.to_dlpack(self._x)  # an unversioned capsule

    def __dlpack_device__(self) -> Any:
        return self._x.__dlpack_device__()


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    tf = load()
    try:
        out = tf.experimental.dlpack.from_dlpack(stream_free_capsule(x))
    except tf.errors.InvalidArgumentError as exc:
        if "strides" not in str(exc):
            raise
        # tensorflow takes only row-major DLPack tensors; a jax array placed with another
        # layout (jax.device_put(x, Format(Layout(...)))) is described as row-major.
        msg = (
            "tensorflow cannot import this array without a copy: its memory is not in "
            "row-major order (a jax array placed with a custom Layout, say). Convert it with "
            "copy=True, or give it the default layout first (jax.numpy.copy(x))"
        )
        raise ConversionError(msg, target=MemoryType.TENSORFLOW, method="dlpack") from exc
    return out if device_of(out) == device else move(out, device)


def from_numpy(a: np.ndarray, device: Device) -> Any:
    tf = load()
    if not device.is_cpu:
        if not a.dtype.isnative:  # swapped once on the host, as for the CPU
            a = aligned_copy(a)
        with tf.device(_tf_device(device)):
            return tf.identity(tf.convert_to_tensor(a))
    if dtype_name(a.dtype) == "bfloat16":
        raw = from_numpy(a.view(np.uint16), device)
        return tf.bitcast(raw, tf.bfloat16)  # keeps the buffer: no copy
    contiguous, _positive, _element, aligned = host_layout(a, True)
    if _share_refusal(writes_allowed(a.flags.num), a.dtype.isnative, contiguous, aligned):
        a = aligned_copy(a)
    return tf.experimental.dlpack.from_dlpack(a.__dlpack__())


def adopt_copy(view: np.ndarray, device: Device) -> Any:
    """The host-copy route's one copy of ``view`` (``aligned_copy``: private, writable,
    native, C-contiguous, 64-byte aligned, which tensorflow's DLPack import needs to not
    abort), imported with no layout checks."""
    a = aligned_copy(view)
    if device.is_cpu and a.dtype.kind != "V":  # bfloat16 (kind V) takes from_numpy's path
        return load().experimental.dlpack.from_dlpack(a.__dlpack__())
    return from_numpy(a, device)


def copy(x: Any) -> Any:
    device = device_of(x)
    if device.is_cpu:
        try:
            view = to_numpy(x)
        except (ValueError, load().errors.InvalidArgumentError):
            # No numpy view: of float8 and int4 (no DLPack), or of an empty tensor whose
            # other extents pass numpy's byte limit. Such a tensor is copied in tensorflow
            # (DeepCopy has no float8 kernel; nothing is shared by an empty tensor).
            tf = load()
            with tf.device(_tf_device(device)):
                return tf.identity(x) if x.shape.num_elements() == 0 else tf.constant(x.numpy())
        return from_numpy(aligned_copy(view), CPU)
    # Not move(): tf.identity on the same device forwards the input's buffer (an alias).
    # DeepCopy allocates a new one. Unverified on a GPU (tensorflow never ran on one).
    tf = load()
    with tf.device(_tf_device(device)):
        out = tf.raw_ops.DeepCopy(x=x)
        if device_of(out) != device:
            # DeepCopy has GPU kernels for a few dtypes only (float, double, half, bfloat16,
            # int64); for others soft placement ran it on the CPU: copy that to the device.
            out = tf.identity(out)
    return out


def move(x: Any, device: Device) -> Any:
    tf = load()
    with tf.device(_tf_device(device)):
        return tf.identity(x)


def concat(parts: list[Any], axis: int) -> Any:
    """``tf.concat`` (no array API namespace to ask), for the OOM policy's split."""
    return load().concat(parts, axis=axis)


def stack(arrays: list[Any]) -> Any:
    """``tf.stack`` along a new first axis (no array API namespace to ask)."""
    return load().stack(arrays, axis=0)


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (load().errors.ResourceExhaustedError,)


#: The errno conditions tensorflow reports as ``RESOURCE_EXHAUSTED`` that are not memory
#: (``tsl::errors::ErrnoToCode``): a full disk, a disk quota, too many open files or links,
#: socket buffers, STREAM resources, users. ``ENOMEM`` maps there too and is memory.
_NOT_MEMORY_ERRNOS = (
    "ENOSPC",
    "EDQUOT",
    "EMFILE",
    "ENFILE",
    "EMLINK",
    "ENOBUFS",
    "ENODATA",
    "ENOSR",
    "EUSERS",
)


@functools.cache
def _not_memory_texts() -> tuple[str, ...]:
    # tensorflow words an errno failure "<context>; <strerror(errno)>" (tsl::errors::IOError),
    # so the C library's own text for each errno is what to look for: os.strerror asks the
    # same library. An errno this platform lacks, or one it has no text for ("Unknown
    # error 123"), is left out.
    texts = []
    for name in _NOT_MEMORY_ERRNOS:
        code = getattr(errno, name, None)
        text = os.strerror(code) if code is not None else ""
        if text and not text.startswith("Unknown error"):
            texts.append(text)
    return tuple(texts)


def is_oom(exc: BaseException) -> bool:
    # tensorflow has one type, ResourceExhaustedError, for every exhausted resource: its
    # allocators' out-of-memory ("OOM when allocating tensor with shape[...]", "failed to
    # allocate memory", XLA's "Out of memory while trying to allocate 4.00PiB") and file-
    # system exhaustion alike ("/dev/full; No space left on device", "path; Too many open
    # files"). Memory failures are worded in many ways (on GPUs too), file-system ones in
    # one: the errno texts above are refused, everything else of the type counts (ADR 0020).
    if not isinstance(exc, load().errors.ResourceExhaustedError):
        return False
    return not message_has(exc, *_not_memory_texts())


def release_memory(device: Device | None = None) -> None:
    """Collect unreachable tensors, which frees their buffers.

    tensorflow frees a tensor's buffer when its last reference goes; its allocator keeps
    the freed memory for reuse and offers no call to return it to the system. Keras'
    ``clear_session()`` is not called: it resets the user's global Keras state (models,
    layer names, the graph), and tensorflow 2.21 imports Keras itself, so "Keras is
    imported" does not mean the user chose to have it reset.
    """
    gc.collect()


def shape_refusal(info: ArrayInfo) -> str | None:
    return None
