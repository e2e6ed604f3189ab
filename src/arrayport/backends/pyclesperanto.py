"""pyclesperanto backend (OpenCL buffers; storage only, no array API namespace).

pyclesperanto never shares host memory: every route in or out is a copy (push/pull).

Importing pyclesperanto (once, and never after tensorflow on PoCL) is done in
:mod:`arrayport.backends._cle_load`, whose :func:`is_installed` and :func:`load` are this
module's own; OpenCL devices (:func:`devices`, :func:`device_of`, :func:`resolve_device`,
:func:`cpu_index`) in :mod:`arrayport.backends._cle_devices`. Slab reads and the buffer-size
texts are in :mod:`arrayport.backends._cle_transfer`, stacks in
:mod:`arrayport.backends._cle_stack`.

Quirks routed around here (measured with pyclesperanto 0.25.1 on PoCL 3.1):

* It stores int64→int32, uint64→uint32, float64→float32 and complex64→float32 without a
  word: :func:`check_dtype` refuses those dtypes. bool, float16 and bfloat16 are widened
  losslessly to uint8 and float32 (:data:`WIDENINGS`); the route's reason says so.
* 0-d, empty and more-than-3-D arrays raise or come back with other values:
  :func:`shape_refusal` refuses them first.
* A PoCL allocation beyond the device's maximum buffer size "succeeds" and the next push
  aborts the process: :func:`from_numpy` checks the size first.
* ``cle.pull`` returns unaligned memory: :func:`to_numpy` reads in slabs into an aligned
  buffer instead (:mod:`arrayport.backends._cle_transfer`).
* An image (``mtype="image"``) reshaped to other extents cannot be read (OpenCL's
  CL_INVALID_VALUE): the read's failure is refused with the remedy, not before it (the
  reshape rewrites the extents the array reports).
* It has no concatenation or n-D stack: arrays are joined on the host (:data:`JOINS_ON_HOST`),
  2-D slices stacked in one buffer (:func:`stack_planes`, :mod:`arrayport.backends._cle_stack`).
"""

from __future__ import annotations

import functools
import gc
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from arrayport._host import ArrayInfo, RouteKey, dtype_name
from arrayport.backends import _cle_stack
from arrayport.backends._cle_buffers import buffer_handle
from arrayport.backends._cle_devices import _cle_device, _device_info
from arrayport.backends._cle_devices import cpu_index as cpu_index
from arrayport.backends._cle_devices import device_of as device_of
from arrayport.backends._cle_devices import devices as devices
from arrayport.backends._cle_devices import resolve_device as resolve_device
from arrayport.backends._cle_load import EXTRA as EXTRA
from arrayport.backends._cle_load import _cle
from arrayport.backends._cle_load import is_installed as is_installed
from arrayport.backends._cle_load import load as load
from arrayport.backends._cle_transfer import (
    OOM_CODES,
    OVERSIZE_CODE,
    info_bytes,
    oversize_error,
    read_to_host,
)
from arrayport.backends._util import allocation_failed, message_has
from arrayport.devices import Device
from arrayport.errors import ConversionError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.PYCLESPERANTO
MODULE_ROOTS = ("pyclesperanto", "pyclesperanto_opencl", "pyclesperanto_cuda")
IMPORT_NAME = "pyclesperanto"
IMMUTABLE = False
HAS_DLPACK = False  # its __dlpack__ is kDLOpenCL, which no other framework imports
WRITABLE_ONLY = False
COPIES_HOST = True
#: No concatenation or n-D stack of its own: the split and the slice helpers join on the host.
JOINS_ON_HOST = True

_DTYPES = frozenset({"int8", "uint8", "int16", "uint16", "int32", "uint32", "float32"})
#: Dtypes pyclesperanto cannot hold but can hold exactly in a wider type.
WIDENINGS = {"bool": "uint8", "float16": "float32", "bfloat16": "float32"}


def version() -> str:
    return str(load().__version__)


def is_array(x: object) -> bool:
    cle = _cle()
    return isinstance(x, cle.Array) or type(x).__name__ == "_Array"


def non_array_hint(x: object) -> str | None:
    return None


def is_plain(x: Any) -> bool:
    return True


def namespace() -> None:
    return None  # no array API: functions use cle calls (pyclesperanto.gaussian_blur, ...)


def route_key(x: Any, address: bool) -> RouteKey | None:
    """The routing summary of an OpenCL array: no host address, compact, writable."""
    dtype = np.dtype(x.dtype)
    shape = x.shape
    empty = 0 in shape
    return (
        device_of(x),
        dtype,
        dtype_name(dtype),
        True,
        True,
        True,
        True,
        True,
        empty if address else None,  # no address: only an empty array counts as aligned
        len(shape),
        empty,
    )


def describe(x: Any) -> ArrayInfo:
    dtype = np.dtype(x.dtype)
    return ArrayInfo(
        shape=tuple(x.shape),
        dtype=dtype,
        dtype_name=dtype_name(dtype),
        device=device_of(x),
        strides=None,
        pointer=None,
        writable=True,
    )


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype_name in _DTYPES or dtype_name in WIDENINGS:
        return None
    if dtype is not None and dtype.kind == "c":
        return (
            f"pyclesperanto has no complex dtype ({dtype_name}): convert the real part "
            "(arrayport.convert_dtype(x, 'float32', discard_imaginary=True)), or the "
            "magnitude (arrayport.convert_dtype(abs(x), 'float32') for complex128) first"
        )
    fitting = _NARROWER.get(dtype_name, "float32")
    return (
        f"pyclesperanto cannot hold {dtype_name} (it would store a narrower type and change "
        f"values); convert to {fitting} first, e.g. arrayport.convert_dtype(x, "
        f"'{fitting}'), if every value fits"
    )


#: The dtype pyclesperanto holds that the values of a dtype it cannot hold most likely fit.
_NARROWER = {"int64": "int32", "uint64": "uint32", "float64": "float32"}


def shape_refusal(info: ArrayInfo) -> str | None:
    if len(info.shape) == 0:
        return "pyclesperanto cannot hold 0-d arrays; reshape to (1,) first"
    if info.size == 0:
        return "pyclesperanto cannot hold empty arrays"
    if len(info.shape) > 3:
        return (
            f"pyclesperanto holds 1-, 2- and 3-D arrays, not {len(info.shape)}-D; reshape it "
            "to 3-D (merging leading axes), or run the function on each 3-D part in a loop"
        )
    return None


def take(x: Any, index: tuple[int | slice, ...]) -> Any:
    """``x[index]`` as a pyclesperanto array, on ``x``'s device.

    Copied buffer to buffer, not by pyclesperanto's indexing, which runs a kernel through
    float32 (int32 2**31 - 1 comes back as -2**31, 2**24 + 1 as 2**24) and returns a
    Python number for a one-element result. Indexes other than integers and unit-step
    slices go through a host copy.
    """
    shape = tuple(int(n) for n in x.shape)
    region = _region(index, shape)
    if region is None:
        return from_numpy(np.ascontiguousarray(to_numpy(x)[index]), device_of(x))
    origin, extent, kept = region
    # Length-1 axes are left out of the copy (a view of the same buffer): PoCL refuses a
    # 3-D rectangular copy from a (z, 1, x) buffer wider than half a row, CL_INVALID_VALUE.
    # An OpenCL image (mtype="image") has no such view, and copies in full dimensions.
    axes = [i for i, n in enumerate(shape) if n != 1] or [len(shape) - 1]
    if len(axes) < len(shape) and getattr(x, "mtype", "buffer") != "image":
        x = x.reshape(tuple(shape[i] for i in axes))
        origin, extent = tuple(origin[i] for i in axes), tuple(extent[i] for i in axes)
    out = _cle().create(extent, dtype=x.dtype, device=x.device)
    x.copy(out, origin, (0,) * len(extent), extent)  # a rectangular buffer copy
    return out if kept == extent else out.reshape(kept)


def stack_planes(planes: Iterable[Any], like: Any, count: int, device: Device) -> Any:
    """The 2-D ``planes`` (arrays on ``device`` or numpy arrays) in one new 3-D array of
    ``like``'s dtype, each copied in once (:mod:`arrayport.backends._cle_stack`)."""
    return _cle_stack.stack_planes(planes, like, count, device, _cle().create, check_buffer_size)


def _region(
    index: tuple[int | slice, ...], shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """The origin and extent of ``index`` in ``shape`` and the shape of its result, for
    integers and unit-step slices selecting something; None for anything else."""
    if len(index) > len(shape):
        return None
    origin, extent, kept = [], [], []
    for i, n in enumerate(shape):
        s = index[i] if i < len(index) else slice(None)
        if isinstance(s, slice):
            start, stop, step = s.indices(n)
            if step != 1 or stop <= start:
                return None
            origin.append(start)
            extent.append(stop - start)
            kept.append(stop - start)
        elif isinstance(s, (int, np.integer)) and -n <= int(s) < n:
            origin.append(int(s) % n)
            extent.append(1)
        else:
            return None
    if not kept:
        return None  # a single element: pyclesperanto holds no 0-d arrays
    return tuple(origin), tuple(extent), tuple(kept)


def host_view(x: Any) -> np.ndarray | None:
    return None


def to_numpy(x: Any) -> np.ndarray:
    """Read ``x`` into a fresh 64-byte-aligned host array, in cache-sized slabs."""
    try:
        return read_to_host(x, _cle().pull)
    except RuntimeError as exc:
        _refuse_unreadable_image(x, exc)
        raise


def to_numpy_any(x: Any) -> np.ndarray:
    """Read ``x`` into a fresh host array with pyclesperanto's own pull (not 64-byte
    aligned: for targets that do not need it, where the pull is cheaper than slabs)."""
    try:
        out: np.ndarray = _cle().pull(x)
    except RuntimeError as exc:
        _refuse_unreadable_image(x, exc)
        raise
    return out


def _refuse_unreadable_image(x: Any, exc: RuntimeError) -> None:
    """Raise arrayport's error for an OpenCL image that OpenCL refuses to read: one
    reshaped to other extents than it was created with (``cle.pull`` and ``x.copy()`` fail
    alike). Known only when the read fails: ``reshape`` sets the image's width, height and
    depth to the new shape, so ``describe`` and ``plan`` cannot tell it."""
    if getattr(x, "mtype", None) != "image" or not message_has(exc, "CL_INVALID_VALUE"):
        return
    msg = (
        f"OpenCL refuses to read this pyclesperanto image (mtype='image') of shape "
        f"{tuple(x.shape)}, as it does an image reshaped to other extents than it was "
        "created with (cle.pull(x) and x.copy() fail alike); reshape it back to the shape "
        "it was created with and convert that, or create it as a buffer (mtype='buffer')"
    )
    raise ConversionError(msg, source=MEMORY_TYPE) from exc


def buffer_identity(x: Any) -> object | None:
    """What names ``x``'s memory for :mod:`arrayport._reused_buffers`: its OpenCL buffer,
    which ``reshape`` and ``squeeze`` wrap in new objects (None for an image: compared as
    an object). Waits for the kernels queued on its device (:mod:`._cle_buffers`)."""
    handle = buffer_handle(x)
    return None if handle is None else (MEMORY_TYPE, handle)


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
    return _max_buffer_bytes(device.index)


def check_buffer_size(nbytes: int, stored: np.dtype[Any], device: Device) -> None:
    """Raise arrayport's OutOfMemoryError, with its remedy, for a buffer of ``nbytes``
    beyond the device's maximum. Checked before allocating: PoCL "allocates" an oversized
    buffer and then aborts the process on the push; other platforms raise a bare
    CL_INVALID_BUFFER_SIZE."""
    limit = max_buffer_bytes(device)
    if limit is not None and nbytes > limit:
        raise oversize_error(nbytes, stored.name, limit, MEMORY_TYPE, device)


def check_size(info: ArrayInfo, device: Device) -> None:
    """:func:`check_buffer_size` for an array described by ``info`` (for ``plan``)."""
    if any(n < 0 for n in info.shape):  # dask: extents not computed yet (-1)
        return
    stored = np.dtype(WIDENINGS.get(info.dtype_name, info.dtype_name))
    check_buffer_size(math.prod(info.shape) * stored.itemsize, stored, device)


@functools.cache
def _max_buffer_bytes(index: int) -> int | None:
    # The device info is fixed (and cached); parsing it costs about 1 us per call.
    return info_bytes(_device_info(index), "Maximum Buffer Size")


def from_numpy(a: np.ndarray, device: Device) -> Any:
    cle = _cle()
    widened = WIDENINGS.get(dtype_name(a.dtype))
    stored = np.dtype(widened) if widened is not None else a.dtype
    check_buffer_size(a.size * stored.itemsize, stored, device)
    if widened is not None:
        a = a.astype(widened)
    elif not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return cle.push(np.ascontiguousarray(a), device=_cle_device(device))


def dlpack_export_refusal(info: ArrayInfo) -> str | None:
    return "pyclesperanto exports OpenCL DLPack, which no other framework imports"


def copy(x: Any) -> Any:
    return x.copy()


def move(x: Any, device: Device) -> Any:
    return from_numpy(to_numpy(x), device)


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (RuntimeError, MemoryError)


#: is_oom calls any MemoryError pyclesperanto's (its host-side buffers'): asked after the
#: frameworks with error types of their own (cupy's is a MemoryError too).
CLAIMS_MEMORY_ERROR = True


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is pyclesperanto's out-of-memory; a buffer beyond the device's
    maximum (``CL_INVALID_BUFFER_SIZE``, raised inside a function) is marked as the fixed
    limit it is, as arrayport's own check marks it: the OOM policy neither releases nor
    retries for it, but splits or falls back at once."""
    if allocation_failed(exc):
        return True
    if type(exc) is not RuntimeError or not message_has(exc, *OOM_CODES):
        return False
    if message_has(exc, OVERSIZE_CODE):
        exc.fixed_limit = True  # type: ignore[attr-defined]
    return True


def release_memory(device: Device | None = None) -> None:
    """Free unreachable OpenCL buffers (pyclesperanto frees a buffer with its last reference;
    OpenCL holds the memory until the kernels using it are done).

    Not ``cle.wait_for_kernel_to_finish()``: it waits for nothing but switches the device
    to blocking kernel launches for the rest of the process (a debugging aid), a change
    of the user's state that pyclesperanto gives no way to read back and restore.
    """
    gc.collect()


def memory_info() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for device in devices():
        total = info_bytes(_device_info(device.index), "Global Memory Size")
        rows.append(
            {"device": str(device), "in_use": None, "cached": None, "free": None, "total": total}
        )
    return rows
