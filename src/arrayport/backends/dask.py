"""dask backend: lazy, chunked arrays whose chunks are numpy (host) or cupy (CUDA) arrays.

dask is imported only by :func:`load`, which the registry calls when a dask array is already
in hand (so dask is in ``sys.modules``) or when dask is asked for by name.

What is special about dask, and how this module says so to :mod:`arrayport.convert`:

* A dask array is a task graph, not memory. It has no DLPack and no host view: converting
  one to another memory type *computes* it (:func:`to_numpy`), on whatever scheduler is
  active (a ``distributed.Client`` when one is the default). ``LAZY = True`` tells
  :mod:`arrayport.convert` to say so in the route's steps and reason.
* Converting *to* dask wraps host memory without copying (:func:`from_numpy`): the chunks
  are views of the source, cut with dask's ``"auto"`` chunk size (``array.chunk-size`` in
  dask's config, 128 MiB by default). ``dask.array.from_array`` is not used because it copies
  numpy input since dask 2025 and hashes all the data to name the graph.
* A device other than the CPU means cupy-backed chunks: host data is moved to the GPU chunk
  by chunk, lazily (:func:`from_numpy`, :func:`move`).
* Computed results are fresh memory: :func:`to_numpy` copies a result that could alias a
  chunk held in the graph, so "host-copy" routes never hand out a writable alias.
* Routes are planned from the graph's metadata (``x.dtype``, ``x.shape``, ``x._meta``),
  which the user declares and dask does not verify (``from_delayed(..., dtype=...)``,
  ``map_blocks(..., dtype=...)``). :func:`to_numpy` checks the computed array against it, so
  that a conversion never hands out a dtype, shape or mask its route did not report.
* Masked chunks (``dask.array.ma``) are refused like numpy's masked arrays (ADR 0005):
  every conversion would drop the mask.
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import sys
import uuid
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._exchange import holds_numbers
from arrayport._host import ArrayInfo, aligned_copy
from arrayport.backends._util import find_spec, import_framework
from arrayport.devices import CPU, Device
from arrayport.errors import (
    BackendUnavailableError,
    ConversionError,
    DeviceError,
    UnsupportedArrayError,
)
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
    return (
        type(x) is load().Array
        and holds_numbers(np.dtype(x.dtype))
        and not isinstance(getattr(x, "_meta", None), np.ma.MaskedArray)
    )


def namespace() -> Any:
    import array_api_compat.dask.array as xp

    return xp


def _cupy_backend() -> ModuleType | None:
    """arrayport's cupy backend when cupy can reach a GPU here, else None."""
    from arrayport.backends import get_backend

    backend = get_backend(MemoryType.CUPY)
    if not backend.is_installed():
        return None
    try:
        backend.load()
    except BackendUnavailableError:  # cupy installed, but no driver or no device
        return None
    return backend  # type: ignore[return-value]


def devices() -> tuple[Device, ...]:
    cp = _cupy_backend()
    return (CPU,) if cp is None else (CPU, *cp.devices())


def _is_cupy(a: object) -> bool:
    return type(a).__module__.partition(".")[0] == "cupy"


def device_of(x: Any) -> Device:
    # The meta array says what the chunks are. cupy chunks may sit on any GPU; the meta's
    # device is the best answer available without computing a chunk.
    meta = getattr(x, "_meta", None)
    if _is_cupy(meta):
        return Device("cuda", int(meta.device.id))  # type: ignore[union-attr]
    return CPU


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None:
        requested = source if source.kind == "cuda" else CPU
    if requested.is_cpu:
        return CPU
    available = devices()
    if requested in available:
        return requested
    msg = (
        f"dask arrays hold numpy chunks (device 'cpu') or cupy chunks (a CUDA device, with "
        f"cupy installed); {requested} is not available here (devices: "
        f"{', '.join(map(str, available))}). Use device='cpu'"
    )
    raise DeviceError(msg)


def _known_shape(x: Any) -> tuple[int, ...]:
    # Chunks of unknown size (after boolean indexing, say) make dask report NaN extents;
    # -1 stands for them. A target's shape refusal cannot judge them when planning
    # (pyclesperanto's "no empty arrays"): arrayport._routes checks the computed array.
    return tuple(-1 if isinstance(s, float) and math.isnan(s) else int(s) for s in x.shape)


#: Why masked dask arrays are refused, and what to pass instead (numpy's refusal, in dask terms).
_MASKED = (
    "dask arrays with masked chunks are not converted: the mask would be lost. Pass "
    "dask.array.ma.filled(x, fill_value) for the values, or dask.array.ma.getdata(x) and "
    "dask.array.ma.getmaskarray(x) separately"
)


def describe(x: Any) -> ArrayInfo:
    # The meta array says what the chunks are: masked chunks would lose their mask in
    # every conversion (np.asarray, cupy.asarray, a target's host adoption all drop it).
    if isinstance(getattr(x, "_meta", None), np.ma.MaskedArray):
        raise UnsupportedArrayError(_MASKED)
    dtype = np.dtype(x.dtype)
    if not holds_numbers(dtype):
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


def to_numpy(x: Any) -> np.ndarray:
    """Compute ``x`` on the active scheduler into one fresh host array.

    The result is checked against what the route was planned from (``x``'s declared
    dtype, shape and chunk type): dask takes them on trust from whoever built the graph,
    and the tasks may return something else.
    """
    out = x.compute()
    # describe() refused a masked meta; this catches masked chunks under a plain meta
    # (from_delayed of a masked array, say), whose mask np.asarray would drop.
    if isinstance(out, np.ma.MaskedArray):
        raise UnsupportedArrayError(_MASKED)
    # cupy's get() is a fresh host copy.
    out = np.asarray(out.get()) if _is_cupy(out) else np.asarray(out)
    _check_computed(x, out)
    # A single-chunk graph may hand back the very buffer it holds (a view of the array it
    # was made from, or a read-only view of jax memory): copy so that the result is ours.
    if not (out.flags.owndata and out.flags.writeable):
        out = aligned_copy(out)
    return out


def _check_computed(x: Any, out: np.ndarray) -> None:
    """Refuse a computed array whose dtype or shape is not the one ``x`` declares.

    The route (and the target's dtype and shape refusals) was decided from the declared
    ones, so a mismatch would hand the target a dtype it was never checked for
    (pyclesperanto stores int64 as int32, jax without x64 narrows) or return one the
    route never reported. Extents dask does not know (NaN chunks) are not compared:
    :mod:`arrayport._routes` checks the target's refusals again on the computed array.
    """
    declared = np.dtype(x.dtype)
    # By name: a byte order other than the declared one holds the same values.
    if out.dtype.name != declared.name:
        msg = (
            f"the dask array declares dtype {declared.name} but computes to "
            f"{out.dtype.name}: the conversion was checked and reported for "
            f"{declared.name} and would not give it. Declare the dtype its tasks return "
            "where the array is built (dtype= or meta= in dask.array.from_delayed, "
            "map_blocks or blockwise), or cast the blocks in the graph, e.g. "
            f"x.map_blocks(lambda b: b.astype('{declared.name}'), dtype='{declared.name}'), "
            "if every value fits"
        )
        raise ConversionError(msg, source=MEMORY_TYPE)
    shape = _known_shape(x)
    if len(shape) != out.ndim or any(
        d not in (-1, n) for d, n in zip(shape, out.shape, strict=True)
    ):
        msg = (
            f"the dask array declares shape {tuple(x.shape)} but computes to shape "
            f"{out.shape}: the conversion was planned for the declared shape. Declare the "
            "shape its tasks return where the array is built (shape= in "
            "dask.array.from_delayed, chunks= in map_blocks)"
        )
        raise ConversionError(msg, source=MEMORY_TYPE)


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


def _chunk_slices(chunks: tuple[tuple[int, ...], ...]) -> list[tuple[slice, ...]]:
    per_axis = []
    for sizes in chunks:
        starts = itertools.accumulate(sizes, initial=0)
        per_axis.append([slice(s, s + n) for s, n in zip(starts, sizes, strict=False)])
    return list(itertools.product(*per_axis))


def _block_to_cupy(block: Any, index: int) -> Any:
    import cupy

    with cupy.cuda.Device(index):
        return cupy.asarray(block)


def _block_to_numpy(block: Any) -> Any:
    return block.get() if _is_cupy(block) else np.asarray(block)


def _meta(like: Any, dtype: np.dtype[Any], ndim: int) -> Any:
    """An empty array of the chunk type dask needs as ``meta`` (numpy or cupy)."""
    if _is_cupy(like):
        import cupy

        return cupy.empty((0,) * ndim, dtype=dtype)
    return np.empty((0,) * ndim, dtype=dtype)


def from_numpy(a: np.ndarray, device: Device) -> Any:
    """Wrap host array ``a`` as a dask array whose chunks are views of it (no copy).

    Chunks follow dask's ``"auto"`` rule (``array.chunk-size``, 128 MiB by default). On a
    CUDA device every chunk is moved to the GPU when it is computed.
    """
    da = load()
    from dask.array.core import normalize_chunks

    chunks = normalize_chunks("auto", a.shape, dtype=a.dtype)  # type: ignore[no-untyped-call]
    # A random name: dask would otherwise hash every byte to name the graph.
    name = f"arrayport-host-{uuid.uuid4().hex}"
    keys = itertools.product([name], *(range(len(c)) for c in chunks))
    # A 0-d array indexed by () gives a scalar, not a view: view() keeps it an array.
    dsk = {k: (a[s] if s else a.view()) for k, s in zip(keys, _chunk_slices(chunks), strict=True)}
    out = da.Array(dsk, name, chunks, dtype=a.dtype, meta=_meta(a, a.dtype, a.ndim))
    return out if device.is_cpu else move(out, device)


def copy(x: Any) -> Any:
    """A dask array over a fresh host copy of ``x``'s values, computed now.

    A lazy copy (``map_blocks`` of a block copy) would still read ``x``'s source chunks when
    it is finally computed, so a later write to memory the graph wraps (a numpy array it was
    made from) would show through the "copy". ``copy=True`` asks for a fresh buffer, so the
    graph is computed here.
    """
    return from_numpy(to_numpy(x), device_of(x))


def move(x: Any, device: Device) -> Any:
    if device == device_of(x):
        return x
    if device.is_cpu:
        return x.map_blocks(_block_to_numpy, dtype=x.dtype, meta=_meta(None, x.dtype, x.ndim))
    cp = _cupy_backend()
    if cp is None:
        resolve_device(device, CPU)  # raises the DeviceError naming what is missing
    import cupy

    meta = cupy.empty((0,) * x.ndim, dtype=x.dtype)
    to_gpu = functools.partial(_block_to_cupy, index=device.index)
    return x.map_blocks(to_gpu, dtype=x.dtype, meta=meta)


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
    return isinstance(exc, MemoryError)


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
        used = worker.get("metrics", {}).get("memory")
        free = None if limit is None or used is None else max(int(limit) - int(used), 0)
        rows.append(
            {"device": f"dask-worker {address}", "in_use": used, "cached": None, "free": free}
        )
    return rows
