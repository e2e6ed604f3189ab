"""jax backend.

jax is imported only by :func:`load` (``jax.numpy`` after it), which the registry calls
when a jax array is already in hand (so jax is in ``sys.modules``) or when jax is asked for
by name, and which the first device lookup calls. Devices, and the deleted and sharded
arrays that have no single one, are handled in :mod:`arrayport.backends._jax_devices`; its
:func:`device_of`, :func:`devices` and :func:`resolve_device` are this module's own.

Quirks routed around here:

* With 64-bit mode off (jax's default), jax silently turns int64→int32, uint64→uint32,
  float64→float32 and complex128→complex64, through ``jnp.asarray`` and DLPack alike.
  :func:`check_dtype` refuses those dtypes instead, naming the remedy.
* jax adopts a host buffer without copying only when it is compact (row-major, or on the
  CPU any axis order: ADR 0082) and 64-byte aligned; otherwise it copies silently, so
  :func:`share_refusal` says so at plan time.
* jax arrays are immutable: they are never handed to a framework that could write them.
* Arrays made on the CPU are left uncommitted where jax's default device is a CPU device,
  as ``jnp.asarray`` leaves them, so that they meet arrays on any of several CPU devices
  (``_jax_devices.host_device``).
* ``unsafe_buffer_pointer()`` can hang unless the array is ready: we block first.
* numpy cannot import bfloat16 over DLPack, but ``np.asarray`` of a jax bfloat16 array is
  a (read-only) view, so bfloat16 reaches numpy by host share.
* Traced arrays (inside ``jit``/``grad``/``vmap``) have no memory: refused by name.
  Deleted arrays (``x.delete()``, or donated to a jitted call) have none left: refused
  by name, by an identity too (:func:`is_plain` asks ``is_deleted()``, about 30 ns) and
  by :func:`device_of` (jax's own answer is a bare ``RuntimeError``; ``_jax_devices``).
* Typed PRNG key arrays (``key<fry>``) have a dtype numpy and the other frameworks lack:
  they stay in jax (identity, copy, device move, :func:`stack`); to leave it they are
  refused with the remedy ``jax.random.key_data`` (:func:`export_dtype_refusal`).
* ``jax.dlpack.from_dlpack`` spends about 25 us in Python around a 3 us import (a device
  lookup, a stream query and a ``jnp.asarray`` that re-canonicalises the dtype). CPU
  imports call jaxlib's own ``dlpack_managed_tensor_to_buffer`` directly instead, after a
  self-check that it shares memory (``_jax_dlpack.host_import``, ADR 0046); the public
  call is the fallback. Imports of cupy and torch GPU memory onto its own GPU do the same
  (``_jax_dlpack.gpu_import``, ADR 0063), handing the producer jax's stream as the public
  call does (torch's export keeps its stream object between calls, ADR 0066), with the
  producer's GPU entered (torch refuses to export from another, cupy would order the
  wrong stream).
* jax computes asynchronously: an out-of-memory error surfaces when a result is waited
  for, so :func:`settle` waits inside the OOM policy (ADR 0059). Out-of-memory recognition,
  waiting and memory figures are in :mod:`arrayport.backends._jax_memory`.

GPU paths ran on an H100 (ADR 0057); CI has no GPU.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from arrayport._exchange import EXCHANGED_DTYPES
from arrayport._host import (
    ArrayInfo,
    RouteKey,
    aligned_copy,
    aligned_empty,
    c_contiguous,
    dtype_name,
    host_layout,
    writes_allowed,
)
from arrayport.backends import _jax_dlpack
from arrayport.backends._jax_devices import (
    deleted_error,
    host_device,
    single_device,
    to_jax_device,
)
from arrayport.backends._jax_devices import device_of as device_of
from arrayport.backends._jax_devices import devices as devices
from arrayport.backends._jax_devices import placement_device as placement_device
from arrayport.backends._jax_devices import resolve_device as resolve_device
from arrayport.backends._jax_layouts import layout_contiguity, ordered_copy, row_major, strides_of
from arrayport.backends._jax_layouts import strided_view as strided_view
from arrayport.backends._jax_memory import is_oom as is_oom
from arrayport.backends._jax_memory import memory_info as memory_info
from arrayport.backends._jax_memory import oom_error_types as oom_error_types
from arrayport.backends._jax_memory import release_memory as release_memory
from arrayport.backends._jax_memory import settle as settle
from arrayport.backends._jax_refusals import array_like_refusal as array_like_refusal
from arrayport.backends._jax_refusals import dlpack_refusal as dlpack_refusal
from arrayport.backends._jax_refusals import export_dtype_refusal as export_dtype_refusal
from arrayport.backends._jax_refusals import share_refusal as share_refusal
from arrayport.backends._jax_refusals import share_refusal_of
from arrayport.backends._util import find_spec, import_framework
from arrayport.devices import CPU, Device
from arrayport.errors import UnsupportedArrayError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.JAX
MODULE_ROOTS = ("jax", "jaxlib")
IMPORT_NAME = "jax"
EXTRA = "jax"
IMMUTABLE = True
HAS_DLPACK = True
WRITABLE_ONLY = False
COPIES_HOST = False
WIDENINGS: dict[str, str] = {}
#: jax shares host memory only when it starts on a 64-byte boundary (else it copies).
SHARE_ALIGNMENT = 64

_X64 = frozenset({"int64", "uint64", "float64", "complex128"})


def is_installed() -> bool:
    # jax alone: a jax without its jaxlib is installed but broken, which doctor reports and
    # the first use explains (it was left out, and doctor said OK).
    return find_spec("jax")


_module: ModuleType | None = None


def load() -> ModuleType:
    # Cached: importlib.import_module costs about 0.5 us, and load() is on every path.
    global _module
    if _module is None:
        _module = import_framework("jax", EXTRA)
    return _module


def version() -> str:
    return str(load().__version__)


def is_array(x: object) -> bool:
    return isinstance(x, load().Array)


non_array_hint = array_like_refusal


def is_plain(x: Any) -> bool:
    # Concrete arrays and typed PRNG key arrays only; tracers and deleted arrays go through
    # describe(), which refuses them. is_deleted() is a C++ call (about 30 ns): a deleted
    # array returned as it is would fail later in jax with a raw RuntimeError, and plan()
    # would disagree with convert() (ADR 0054).
    name = type(x).__name__
    return (name == "ArrayImpl" or name == "PRNGKeyArray") and not x.is_deleted()


def namespace() -> Any:
    import jax.numpy as jnp

    return jnp


def route_key(x: Any, address: bool) -> RouteKey | None:
    """The routing summary of a concrete single-device CPU or GPU array (tracers, deleted
    and sharded arrays take the full plan, which refuses them)."""
    if type(x).__name__ != "ArrayImpl" or x.is_deleted():
        return None
    devs = x.devices()
    if len(devs) != 1:
        return None
    dtype = x.dtype
    shape = x.shape  # read once: jax's size and ndim properties are Python code
    empty = 0 in shape
    platform = next(iter(devs)).platform
    element = aligned = True
    contiguity: bool | None = True
    if platform == "cpu":
        device = CPU
        # jax keeps every CPU buffer on a 64-byte boundary (it copies host memory that is
        # not), so the address is read only for targets that need the boundary (tests check
        # the key against describe).
        if len(shape) > 1 and not row_major(x, len(shape)):
            # A custom layout (jax makes them from permuted shares, ADR 0082): keyed by
            # describe's contiguity, None. One that differs from row-major only in size-1
            # axes (True) takes the full plan: unlike row-major, it has no host view.
            contiguity = layout_contiguity(x, shape, dtype.itemsize)
            if contiguity is not None:
                return None
        if address and not empty:
            x.block_until_ready()  # unsafe_buffer_pointer can hang on a pending array
            pointer = int(x.unsafe_buffer_pointer())
            element = pointer % dtype.itemsize == 0
            aligned = pointer % 64 == 0
    elif platform in ("gpu", "cuda"):
        # No address on a GPU (describe reads none): aligned by jax's allocator, as
        # describe says (ArrayInfo.framework_aligned).
        device = device_of(x)
    else:
        return None
    # Compact buffers here (row-major, or a CPU custom layout), immutable.
    layout = (device, dtype, dtype_name(dtype), False, True, contiguity, True, element)
    return (*layout, aligned if address else None, len(shape), empty)


def route_state() -> bool:
    """The global setting :func:`check_dtype` reads: whether 64-bit mode is on."""
    return x64_enabled()


def describe(x: Any) -> ArrayInfo:
    jax = load()
    if isinstance(x, jax.core.Tracer):
        msg = (
            "cannot convert a traced jax array (inside jax.jit, grad or vmap): call the "
            "arrayport function outside the transformation, or make it pure jax"
        )
        raise UnsupportedArrayError(msg)
    if x.is_deleted():
        raise deleted_error()
    device = device_of(x)
    if not isinstance(x.dtype, np.dtype):
        # An extended dtype (typed PRNG keys, key<fry>): numpy has no counterpart and the
        # buffer is opaque key data. Described so that jax -> jax routes (identity, copy,
        # device move) work; export_dtype_refusal refuses it to other frameworks.
        return ArrayInfo(
            shape=tuple(x.shape),
            dtype=None,
            dtype_name=str(x.dtype),
            device=device,
            strides=None,
            pointer=None,
            writable=False,
        )
    pointer: int | None = None
    if device.is_cpu and x.size:
        x.block_until_ready()  # unsafe_buffer_pointer can hang on a pending array
        pointer = int(x.unsafe_buffer_pointer())
    dtype = np.dtype(x.dtype)
    return ArrayInfo(
        shape=tuple(x.shape),
        dtype=dtype,
        dtype_name=dtype_name(dtype),
        device=device,
        strides=strides_of(x, dtype.itemsize) if device.is_cpu else None,
        pointer=pointer,
        writable=False,
        framework_aligned=not device.is_cpu,  # jax <-> tensorflow on a GPU share by DLPack
    )


def x64_enabled() -> bool:
    return bool(load().config.jax_enable_x64)


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype is None:
        return f"jax has no {dtype_name} dtype"
    if dtype_name in _X64 and not x64_enabled():
        return (
            f"jax would silently store {dtype_name} as a 32-bit type because 64-bit mode is "
            "off; enable it with jax.config.update('jax_enable_x64', True) before creating "
            "arrays, or convert to a 32-bit dtype yourself"
        )
    if dtype.kind not in "biufc" and dtype_name != "bfloat16":
        return f"jax has no {dtype_name} dtype"
    return None


def dtype_setting(dtype_name: str) -> str | None:
    """The setting that lets jax hold ``dtype_name``, where one would."""
    if dtype_name in _X64 and not x64_enabled():
        return (
            "enable jax's 64-bit mode before creating arrays: "
            "jax.config.update('jax_enable_x64', True)"
        )
    return None


def host_view(x: Any) -> np.ndarray | None:
    if single_device(x).platform != "cpu":  # no Device object built: on every copy
        return None
    ndim = len(x.shape)
    if ndim > 1 and not row_major(x, ndim):
        return None  # np.asarray would copy a custom layout into row-major order
    return cpu_view(x)


def cpu_view(x: Any) -> np.ndarray:
    """:func:`host_view` of an array the plan found on the CPU and row-major (routes call
    it: the device and layout lookups cost more than the view). A custom layout reaches it
    only in a host copy, where ``np.asarray``'s row-major copy is what is read."""
    view: np.ndarray = np.asarray(x)  # read-only, sharing jax's buffer on CPU
    return view


def to_numpy(x: Any) -> np.ndarray:
    out = np.asarray(x)  # jax.device_get's copy without its pytree walk (30 us on a GPU)
    if not out.flags.writeable and not device_of(x).is_cpu:
        # Off the CPU, jax hands out (and keeps) its own read-only cached host copy: the
        # same object on every call. A copy asked for is the caller's, fresh and writable.
        out = out.copy()
    return out


def dlpack_export_refusal(info: ArrayInfo) -> str | None:
    return None


def dlpack_source(x: Any) -> Any:
    return x


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    if device.is_cpu:
        return _jax_dlpack.host_import(x)
    return _jax_dlpack.gpu_import(load(), x, device)


def from_numpy(a: np.ndarray, device: Device) -> Any:
    jax = load()
    if not device.is_cpu:
        if not a.dtype.isnative:  # jax refuses big-endian arrays with a TypeError
            a = aligned_copy(a)
        # device_put may still read `a` after returning; `a` can be the caller's memory.
        return jax.device_put(a, to_jax_device(device)).block_until_ready()
    name = dtype_name(a.dtype)
    if name == "bfloat16" or name not in EXCHANGED_DTYPES:  # no DLPack: int4, float8 stacks
        cpu, loose = host_device()
        return jax.device_put(a, None if loose else cpu)
    contiguous, _positive, _element, aligned = host_layout(a, True)
    contiguity = contiguous or c_contiguous(a.shape, a.strides, a.dtype.itemsize)
    if share_refusal_of(writes_allowed(a.flags.num), name, a.dtype.isnative, contiguity, aligned):
        a = ordered_copy(a)  # in a's own axis order where it is compact (ADR 0082)
    elif contiguous and 1 in a.shape:
        # numpy calls an array contiguous whatever the strides of its length-1 axes (x[None]
        # has stride 0): jax's import would copy it, though planned shared; row-major is not.
        a = a.reshape(-1).reshape(a.shape)
    return from_dlpack(a, device)


def adopt_copy(view: np.ndarray, device: Device) -> Any:
    """The host-copy route's one copy of ``view`` (private, writable, native, 64-byte
    aligned; in ``view``'s own axis order where it is compact, ``ordered_copy``: a plain
    copy, not a transposing one), imported with no layout checks."""
    # bfloat16 (kind V) takes from_numpy's path: numpy cannot hand it over DLPack.
    if device.is_cpu and view.dtype.kind != "V":
        return _jax_dlpack.host_import(ordered_copy(view))
    return from_numpy(aligned_copy(view), device)


def stack(arrays: list[Any]) -> Any:
    """Arrays stacked along a new first axis: on a GPU with ``jnp.stack``, on the CPU
    through numpy (onto the host device), keys as their key data. XLA compiles ``jnp.stack``
    for every number of operands: 3,000 slices took 5.7 s, numpy and one import 0.05 s."""
    jax = load()
    places = {device_of(a) for a in arrays}
    if not all(p.is_cpu for p in places):
        return jax.numpy.stack(arrays)
    if not isinstance(arrays[0].dtype, np.dtype):  # typed PRNG keys
        data = stack([jax.random.key_data(a) for a in arrays])
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(arrays[0]))
    views = [np.asarray(a) for a in arrays]
    out = aligned_empty((len(views), *views[0].shape), views[0].dtype)
    np.stack(views, out=out)  # one copy, into a buffer jax then shares
    return from_numpy(out, CPU)


def copy(x: Any) -> Any:
    import jax.numpy as jnp

    return jnp.array(x, copy=True)


def move(x: Any, device: Device) -> Any:
    if not device.is_cpu:
        return load().device_put(x, to_jax_device(device))
    cpu, loose = host_device()
    out = load().device_put(x, cpu)  # a custom layout stays committed (ADR 0082)
    return out if x.ndim > 1 and not row_major(x, x.ndim) else _jax_dlpack.placed(out, loose)


def shape_refusal(info: ArrayInfo) -> str | None:
    return None
