"""The refusal checks and runners behind the routes :mod:`arrayport.convert` chooses.

:func:`arrayport._planning._make_plan` decides the order of the routes; this module answers
each question it asks (can the target hold this dtype and shape, why not DLPack, why not a
host share) as a named reason, and builds the runners of the host-share and host-copy
routes. ``Route`` is only a type here: the routes are made by the caller's ``route``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from arrayport._exchange import EXCHANGED_DTYPES
from arrayport._host import ArrayInfo, aligned_copy, host_info
from arrayport.backends._protocol import Backend
from arrayport.devices import CPU, Device
from arrayport.errors import ConversionError, CopyRequiredError, UnsupportedDtypeError
from arrayport.memory_types import MemoryType

if TYPE_CHECKING:
    from arrayport.convert import Route

_Runner = Callable[[Any], Any]
#: The most dimensions an array may have to leave its framework (numpy's NPY_MAXDIMS).
MAX_DIMS = 64
_NONE: dict[str, str] = {}


def _check_dtype(s: Backend, t: Backend, info: ArrayInfo) -> str | None:
    """Refuse dtypes and shapes the target cannot hold; note lossless widenings.

    Within one framework (identity, copy, device move) the framework holds its own dtypes
    and nothing is checked."""
    if s is t:
        return None
    if len(info.shape) > MAX_DIMS:
        msg = (
            f"cannot convert a {len(info.shape)}-dimensional array from {s.MEMORY_TYPE.value} "
            f"to {t.MEMORY_TYPE.value}: arrays move between frameworks with at most {MAX_DIMS} "
            "dimensions (numpy's limit, and that of the frameworks' DLPack); reshape it first"
        )
        raise ConversionError(msg, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE)
    # Only an empty array or a task graph can have more bytes than numpy can count: any
    # other array holds them in memory.
    if 0 in info.shape or getattr(s, "LAZY", False):
        _check_extents(s, t, info.shape, info.dtype_name, info.itemsize)
    name = info.dtype_name
    # A source may name dtypes of its own that cannot leave it, with its own remedy
    # (optional ``export_dtype_refusal``: jax's typed PRNG keys, ``jax.random.key_data``);
    # asked first, as the generic remedy below would point to a cast such a dtype refuses.
    export_refusal = getattr(s, "export_dtype_refusal", None)
    refusal = None if export_refusal is None else export_refusal(info)
    if refusal is None and name not in EXCHANGED_DTYPES:
        msg = (
            f"cannot convert {name} from {s.MEMORY_TYPE.value} to {t.MEMORY_TYPE.value}: "
            "arrayport moves bool, int8-int64, uint8-uint64, float16, bfloat16, float32, "
            f"float64, complex64 and complex128 between frameworks; convert in "
            f"{s.MEMORY_TYPE.value} first to one of them that holds the values"
        )
        raise UnsupportedDtypeError(msg, dtype=name, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE)
    if refusal is None:
        refusal = t.check_dtype(info.dtype, info.dtype_name)
    if refusal is not None:
        msg = (
            f"cannot convert {info.dtype_name} from {s.MEMORY_TYPE.value} to "
            f"{t.MEMORY_TYPE.value}: {refusal}"
        )
        raise UnsupportedDtypeError(
            msg, dtype=info.dtype_name, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE
        )
    shape = t.shape_refusal(info)
    if shape is not None:
        msg = (
            f"cannot convert a {info.dtype_name} array of shape {info.shape} from "
            f"{s.MEMORY_TYPE.value} to {t.MEMORY_TYPE.value}: {shape}"
        )
        raise ConversionError(msg, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE)
    # WIDENINGS may be left out by a backend that has none.
    widened = getattr(t, "WIDENINGS", _NONE).get(info.dtype_name)
    if widened is not None:
        return (
            f"{info.dtype_name} is widened losslessly to {widened} "
            f"({t.MEMORY_TYPE.value} has no {info.dtype_name})"
        )
    return None


def _check_extents(
    s: Backend, t: Backend, shape: tuple[int, ...], dtype_name: str, itemsize: int
) -> None:
    """Refuse a shape numpy cannot describe: its non-zero extents times the item size
    beyond ``sys.maxsize`` bytes (``np.empty`` raises "array is too big" for it, even with
    an extent of 0). torch, jax and tensorflow hold such an empty array; its host view,
    host copy and dask wrap cannot (the plan cache checks the cached plans of empty arrays
    here too: their key does not tell the extents)."""
    # No numpy dtype: a bfloat16 without ml_dtypes, 2 bytes (others are refused by dtype).
    if math.prod(n for n in shape if n) * (itemsize or 2) <= sys.maxsize:
        return
    source, target = s.MEMORY_TYPE, t.MEMORY_TYPE
    limit = f"more than {sys.maxsize} bytes, numpy's limit"
    if 0 in shape:
        why = (
            f"numpy cannot describe this shape even though the array is empty (its non-zero "
            f"extents make {limit}), and arrays move between frameworks in shapes numpy can "
            "describe; reshape it first (it holds no values: any shape with a 0 extent, "
            "such as (0,), holds the same)"
        )
    else:
        why = f"numpy cannot hold it ({limit}); convert it in parts (x[i:j])"
    msg = (
        f"cannot convert a {dtype_name} array of shape {tuple(shape)} from {source.value} to "
        f"{target.value}: {why}"
    )
    raise ConversionError(msg, source=source, target=target)


def _share_route(
    s: Backend,
    t: Backend,
    x: Any,
    info: ArrayInfo,
    dev: Device,
    read_only_conflict: bool,
    route: Callable[..., Route],
) -> tuple[Route, _Runner] | str:
    """The host-share route, or why there is none."""
    refusal = _host_share_refusal(s, t, x, info, dev, read_only_conflict)
    if refusal is not None:
        return refusal
    source, target = s.MEMORY_TYPE, t.MEMORY_TYPE
    # Planned on the CPU (both sides): a source's view of CPU memory need not ask again.
    view_of = getattr(s, "cpu_view", s.host_view)

    def run_share(a: Any) -> Any:
        view = view_of(a)
        if view is None:  # checked at plan time; a concurrent change is a bug upstream
            msg = f"{source.value} stopped exposing host memory during the conversion"
            raise ConversionError(msg, source=source, target=target, method="host-share")
        return t.from_numpy(view, dev)

    steps = (
        f"{source.value} exposes its host memory (shared)",
        f"{target.value} wraps it (shared)",
    )
    reason = "zero-copy: the target wraps the source's host memory"
    return route("host-share", True, steps, reason), run_share


def _lazy_note(s: Backend, t: Backend, method: str = "") -> str | None:
    # dask (LAZY = True in its backend) holds task graphs, not memory: say so, since a
    # lazy result computes nothing yet and reading a lazy source computes all of it, as
    # its copy does (a lazy copy would still read memory the graph wraps: backends.dask).
    if method == "copy" and getattr(s, "LAZY", False):
        return (
            f"{s.MEMORY_TYPE.value} computes its task graph (every chunk) now, into one "
            "fresh host array; the result is a task graph over that copy (in the source's "
            "chunks where their sizes are known)"
        )
    if getattr(t, "LAZY", False):
        return (
            f"the result is lazy: a {t.MEMORY_TYPE.value} task graph, computed only when "
            "asked (.compute(), or converting it to another memory type)"
        )
    if getattr(s, "LAZY", False):
        return f"{s.MEMORY_TYPE.value} computes its task graph (every chunk) to produce the result"
    return None


def _ro_reason(s: Backend, t: Backend) -> str:
    what = "immutable" if s.IMMUTABLE else "read-only (or lazily conjugated/negated)"
    return (
        f"the {s.MEMORY_TYPE.value} source is {what} and {t.MEMORY_TYPE.value} has no "
        "read-only arrays"
    )


def _dlpack_refusal(
    s: Backend, t: Backend, info: ArrayInfo, dev: Device, source_immutable: bool
) -> str | None:
    if not (s.HAS_DLPACK and t.HAS_DLPACK):
        missing = s if not s.HAS_DLPACK else t
        return f"{missing.MEMORY_TYPE.value} has no DLPack the other side can use"
    if info.device != dev:
        return f"the source is on {info.device}, the target on {dev}"
    return s.dlpack_export_refusal(info) or t.dlpack_refusal(info, source_immutable)


def _host_share_refusal(
    s: Backend, t: Backend, x: Any, info: ArrayInfo, dev: Device, read_only_conflict: bool
) -> str | None:
    # A framework that always copies host memory into its own (pyclesperanto, cupy) gives
    # its own reason first: on PoCL its device is the host CPU, and "not host memory on
    # both sides" would be false there. (A GPU source's reason speaks of copies onto the
    # device: the device check below says why a read from it is no share.)
    for side in (t, s):
        if not side.COPIES_HOST or (side is s and info.device.kind == "cuda"):
            continue
        refusal = side.share_refusal(info)
        if refusal is not None:
            if side is t and info.device.is_cpu and _copy_reads(s, info)(x) is None:
                # The host-copy route's steps read this: the source is read by a copy.
                return f"{s.MEMORY_TYPE.value} {NO_HOST_VIEW}"
            return refusal
    if not (info.device.is_cpu and dev.is_cpu):
        return f"{info.device} -> {dev} is not host memory on both sides"
    # The structural reason first: a read-only source is the reason only where a view
    # exists to share (a dask graph has none, whatever its mutability).
    view = s.host_view(x)
    if view is None:
        inside = _copy_reads(s, info)(x) if info.strides is not None else None
        if inside is None:
            return f"{s.MEMORY_TYPE.value} {NO_HOST_VIEW}"
        # A custom layout (jax's) the copy reads in place: the target's reason, if any.
        refusal = t.share_refusal(host_info(inside, CPU))
        return refusal or f"{s.MEMORY_TYPE.value} shares this layout by DLPack only"
    if read_only_conflict:
        return _ro_reason(s, t)
    return t.share_refusal(host_info(view, CPU))


#: Why a CPU array is not shared by host view (read back by the host-copy route's steps).
NO_HOST_VIEW = "exposes no host view of this array"


def _copy_reads(s: Backend, info: ArrayInfo) -> Callable[[Any], Any]:
    """How the host-copy route reads a CPU source's memory in place (None: by a copy)."""
    view_of = getattr(s, "cpu_view", s.host_view)
    if info.strides is not None:  # jax's custom layouts: in place, with their strides
        view_of = getattr(s, "strided_view", view_of)
    return view_of


def _host_copy_route(
    s: Backend,
    t: Backend,
    info: ArrayInfo,
    dev: Device,
    route: Callable[..., Route],
    why_not: list[str],
) -> tuple[Route, _Runner]:
    source, target = s.MEMORY_TYPE, t.MEMORY_TYPE
    # The target keeps a host buffer as it is only on the CPU; pyclesperanto and GPU
    # targets copy it into their own memory anyway, so alignment does not matter there.
    adopts_host = dev.is_cpu and not t.COPIES_HOST
    # The copies arrayport makes are 64-byte aligned, so that a later conversion into jax
    # or tensorflow can share them. A source's own read (pyclesperanto's pull) is taken
    # as it comes where the target does not need the boundary: aligning it would cost a
    # second copy (ADR 0049).
    read = s.to_numpy
    adopt_copy = getattr(t, "adopt_copy", None)
    if adopt_copy is None:

        def adopt_copy(view: Any, device: Device) -> Any:
            return t.from_numpy(aligned_copy(view), device)

    # The plan was made for this device: a source's view of CPU memory need not ask again.
    view_of = _copy_reads(s, info) if info.device.is_cpu else s.host_view
    if getattr(t, "SHARE_ALIGNMENT", 0) <= 1:
        read = getattr(s, "to_numpy_any", s.to_numpy)
    steps: list[str] = []
    lazy = getattr(s, "LAZY", False)
    # A CPU array the source gives no view of (torch's lazy conj/neg bits) is read by a copy.
    no_view = any(w.endswith(NO_HOST_VIEW) for w in why_not)
    exposes = info.device.is_cpu and not s.COPIES_HOST and not lazy and not no_view
    if lazy:
        steps.append(f"{source.value} computes the task graph into one fresh host array")
    elif exposes:
        steps.append(f"{source.value} exposes its host memory (shared)")
    elif no_view and info.device.is_cpu:
        steps.append(f"{source.value} reads it into a fresh host array (no view of this array)")
    else:
        steps.append(f"{source.value} copies {info.device} -> host")
    if adopts_host:
        if exposes:
            steps.append("one copy into a fresh 64-byte aligned buffer")
        steps.append(f"{target.value} adopts that buffer (shared)")
    else:
        steps.append(f"{target.value} copies it to {dev}")

    # A lazy source is computed before the target sees it: the target's size limit
    # (pyclesperanto's maximum buffer) is met first, not after gigabytes were computed.
    check_size = getattr(t, "check_size", None) if lazy else None

    def run_copy(a: Any) -> Any:
        view = view_of(a)
        if view is None:
            if check_size is not None:
                check_size(s.describe(a), dev)
            # A fresh private copy: aligned by the backend where the target needs it.
            fresh = read(a)
            computed = host_info(fresh, CPU)
            if lazy:
                # The plan checked a task graph's metadata, where extents may be unknown
                # (dask after boolean indexing: an empty result passed pyclesperanto's
                # "no empty arrays"). The computed array is what moves: check it again.
                _check_dtype(s, t, computed)
            if adopts_host and t.share_refusal(computed) is not None:
                fresh = aligned_copy(fresh)
            return t.from_numpy(fresh, dev)
        if not adopts_host:
            return t.from_numpy(view, dev)
        return adopt_copy(view, dev)

    return route("host-copy", False, tuple(steps), "; ".join(why_not)), run_copy


def _identity(a: Any) -> Any:
    return a


def _refuse_copy(source: MemoryType, target: MemoryType, why: str, method: str) -> None:
    """Raise for ``copy=False``; ``method`` is the copying route the conversion needs."""
    msg = (
        f"copy=False but {source.value} -> {target.value} cannot share memory here ({why}); "
        "pass copy=None to allow a copy"
    )
    raise CopyRequiredError(msg, source=source, target=target, method=method)
