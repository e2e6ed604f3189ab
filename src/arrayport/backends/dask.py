"""dask backend: lazy, chunked arrays whose chunks are numpy (host) or cupy (CUDA) arrays.

dask is imported only by :func:`load`, which the registry calls when a dask array is already
in hand (so dask is in ``sys.modules``) or when dask is asked for by name.

Where the rest lives, each re-exported here as it is: devices (:func:`devices`,
:func:`device_of`, :func:`resolve_device`) in :mod:`arrayport.backends._dask_devices`;
reading a dask array out (:func:`to_numpy`) in :mod:`arrayport.backends._dask_compute`;
wrapping host memory and moving chunks (:func:`from_numpy`, :func:`move`) in
:mod:`arrayport.backends._dask_chunks`.

What is special about dask, and how this module says so to :mod:`arrayport.convert`:

* A dask array is a task graph, not memory. It has no DLPack and no host view: converting
  one to another memory type *computes* it (:func:`to_numpy`), on whatever scheduler is
  active (a ``distributed.Client`` when one is the default). ``LAZY = True`` tells
  :mod:`arrayport.convert` to say so in the route's steps and reason.
* Converting *to* dask wraps host memory without copying, on a CUDA device in cupy-backed
  chunks (:mod:`arrayport.backends._dask_chunks`).
* Computed results are fresh memory, checked against the dtype and shape the graph
  declares (:mod:`arrayport.backends._dask_compute`).
* Masked chunks (``dask.array.ma``) are refused like numpy's masked arrays (ADR 0005):
  every conversion would drop the mask.
"""

from __future__ import annotations

import gc
import sys
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._exchange import holds_numbers
from arrayport._host import ArrayInfo
from arrayport.backends._dask_chunks import _meta as _meta
from arrayport.backends._dask_chunks import from_numpy as from_numpy
from arrayport.backends._dask_chunks import from_numpy_chunked
from arrayport.backends._dask_chunks import move as move
from arrayport.backends._dask_compute import (
    _MASKED,
    _checked_block,
    _known_shape,
    foreign_chunks,
    numpy_or_cupy,
)
from arrayport.backends._dask_compute import to_numpy as to_numpy
from arrayport.backends._dask_devices import device_of as device_of
from arrayport.backends._dask_devices import devices as devices
from arrayport.backends._dask_devices import resolve_device as resolve_device
from arrayport.backends._util import allocation_failed, find_spec, import_framework
from arrayport.devices import Device
from arrayport.errors import ConversionError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

MEMORY_TYPE = MemoryType.DASK
MODULE_ROOTS = ("dask",)
IMPORT_NAME = "dask"
EXTRA = "dask"
# dask arrays are never written in place: ``x[i] = v`` builds a new graph, and the chunks
# arrayport hands over are never mutated by dask.
IMMUTABLE = True
HAS_DLPACK = False
WRITABLE_ONLY = False
# from_numpy wraps host memory as it is, so host copies made for dask must be aligned
# like any other; reading a dask array out computes it (said through LAZY, not here).
COPIES_HOST = False
WIDENINGS: dict[str, str] = {}
#: Read by arrayport.convert: results are task graphs, and reading one computes it.
LAZY = True


def is_installed() -> bool:
    return find_spec("dask")


def load() -> ModuleType:
    return import_framework("dask.array", EXTRA)


def version() -> str:
    load()
    return str(sys.modules["dask"].__version__)


def is_array(x: object) -> bool:
    return isinstance(x, load().Array)


def non_array_hint(x: object) -> str | None:
    if hasattr(x, "__dask_graph__"):
        return (
            "it is a dask collection but not a dask array: use .to_dask_array() for "
            "dataframes or dask.array.from_delayed(...) for delayed values"
        )
    return None


def is_plain(x: Any) -> bool:
    # Masked chunks take the full plan, where describe() refuses them (as numpy's
    # is_plain leaves masked arrays to its describe()).
    # Chunks other than numpy's take the full plan too (describe() refuses all but cupy's).
    return (
        type(x) is load().Array
        and type(getattr(x, "_meta", None)) is np.ndarray
        and holds_numbers(np.dtype(x.dtype))
    )


def namespace() -> Any:
    import array_api_compat.dask.array as xp

    return xp


def describe(x: Any) -> ArrayInfo:
    return _describe(x, numbers=True)


def describe_within(x: Any) -> ArrayInfo:
    """:func:`describe` for a route within dask (an identity, a copy): dtypes that hold no
    numbers (datetimes, strings, objects, records) stay dask's own."""
    return _describe(x, numbers=False)


def _describe(x: Any, numbers: bool) -> ArrayInfo:
    # The meta array says what the chunks are: masked chunks would lose their mask in
    # every conversion (np.asarray, cupy.asarray, a target's host adoption all drop it).
    meta = getattr(x, "_meta", None)
    if isinstance(meta, np.ma.MaskedArray):
        raise UnsupportedArrayError(_MASKED)
    if not numpy_or_cupy(meta):  # torch tensors, scipy.sparse matrices: no numpy dtype
        raise UnsupportedArrayError(foreign_chunks("arrayport", meta))
    dtype = np.dtype(x.dtype)
    if numbers and not holds_numbers(dtype):
        msg = (
            f"dask arrays of dtype {dtype} hold no numbers arrayport can move between "
            "frameworks; convert to a numeric or bool dtype first (x.astype(...))"
        )
        raise UnsupportedArrayError(msg)
    return ArrayInfo(
        shape=_known_shape(x),
        dtype=dtype,
        dtype_name=dtype.name,
        device=device_of(x),
        strides=None,
        pointer=None,
        writable=False,
    )


def checked_blocks(x: Any) -> Any:
    """``x`` with each block checked where it is computed: unmasked and of the dtype ``x``
    declares (dask takes both on trust). For conversions that stay lazy, such as
    :func:`arrayport.convert_dtype`, where a block of another dtype would be cast (2**40
    into int32 wraps to 0) or a mask dropped before anything could be checked."""
    declared = np.dtype(x.dtype).name
    return x.map_blocks(_checked_block, declared=declared, dtype=x.dtype, meta=x._meta)


def check_dtype(dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
    if dtype is None:
        return (
            f"dask chunks are numpy (or cupy) arrays and numpy has no {dtype_name} dtype here; "
            "install ml_dtypes (it comes with jax) for bfloat16"
        )
    return None


def shape_refusal(info: ArrayInfo) -> str | None:
    return None


def host_view(x: Any) -> np.ndarray | None:
    return None  # a task graph has no memory to view


def share_refusal(info: ArrayInfo) -> str | None:
    return None  # dask never writes its chunks, so any host array can be wrapped


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    return "dask arrays are task graphs and have no DLPack"


def dlpack_export_refusal(info: ArrayInfo) -> str | None:
    return "dask arrays are task graphs and have no DLPack"


def dlpack_source(x: Any) -> Any:
    return None


def from_dlpack(x: Any, device: Device, *, read_only: bool = False) -> Any:
    msg = "dask has no DLPack import: convert through the host (arrayport.convert does)"
    raise ConversionError(msg, target=MEMORY_TYPE, method="dlpack")


def copy(x: Any) -> Any:
    """A dask array over a fresh host copy of ``x``'s values, computed now.

    A lazy copy (``map_blocks`` of a block copy) would still read ``x``'s source chunks when
    it is finally computed, so a later write to memory the graph wraps (a numpy array it was
    made from) would show through the "copy". ``copy=True`` asks for a fresh buffer, so the
    graph is computed here, into chunks as ``x``'s along each axis whose sizes are known
    (an axis of unknown sizes, after boolean indexing, gets dask's "auto" chunks; one chunk
    for dtypes "auto" cannot size, object ones).
    """
    computed = to_numpy(x)
    unsized = "auto" if computed.dtype.kind != "O" else -1
    chunks = tuple(unsized if any(np.isnan(n) for n in c) else c for c in x.chunks)
    return from_numpy_chunked(computed, device_of(x), chunks)


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (MemoryError,)


#: is_oom calls any MemoryError dask's (its chunks', whichever framework holds them):
#: asked after the frameworks with error types of their own (cupy's is a MemoryError too).
CLAIMS_MEMORY_ERROR = True


def is_oom(exc: BaseException) -> bool:
    # A task's own OOM reaches the caller as the chunk framework's exception (numpy's
    # _ArrayMemoryError, cupy's OutOfMemoryError: both MemoryError subclasses). A worker
    # killed for exceeding its memory limit surfaces as distributed.KilledWorker, which
    # also means segfaults and lost machines, so it is not called OOM here.
    return allocation_failed(exc)


def release_memory(device: Device | None = None) -> None:
    """dask caches no chunks itself; collect garbage so dropped graphs free their chunks."""
    gc.collect()


def memory_info() -> list[dict[str, Any]]:
    """Per worker of the default ``distributed.Client``, if there is one; else nothing."""
    if "distributed" not in sys.modules:
        return []
    import distributed

    try:
        client = distributed.default_client()  # type: ignore[no-untyped-call]
    except ValueError:  # distributed raises ValueError when no client exists
        return []
    rows: list[dict[str, Any]] = []
    for address, worker in client.scheduler_info(n_workers=-1)["workers"].items():
        limit = worker.get("memory_limit") or None
        metrics = worker.get("metrics", {})
        # In use: the bytes of the chunks the worker holds (its process also holds Python,
        # libraries and unmanaged memory); free: the limit less the whole process.
        process = metrics.get("memory")
        free = None if limit is None or process is None else max(int(limit) - int(process), 0)
        rows.append(
            {
                "device": f"dask-worker {address}",
                "in_use": metrics.get("managed_bytes"),
                "cached": None,
                "free": free,
                "total": limit,
            }
        )
    return rows
