"""Choosing and running a conversion route: :func:`plan` and :func:`convert`.

Routes, in order of preference:

1. **identity**: same memory type and device; nothing moves.
2. **device-move**: same framework, another device.
3. **dlpack**: the target imports the source's memory through DLPack (zero-copy on the
   same device), when the source can export and the target can take that dtype, layout,
   alignment and mutability.
4. **host-share**: the target wraps a host view of the source (zero-copy).
5. **host-copy**: one copy into a fresh 64-byte-aligned host buffer the target adopts as
   it is (jax and tensorflow would copy again otherwise); devices copy in and out.

Every refusal that pushes a conversion down this list is a named reason, collected into
``Route.reason``: the route says why it is not a faster one, before any data moves.

Read-only sources (read-only numpy arrays, memory maps opened read-only, jax and
tensorflow arrays, which are immutable) are never handed to a framework as writable
memory: numpy gets a read-only view, torch and cupy a copy (or ``CopyRequiredError`` when
``copy=False``). On a GPU that copy is made by the target on the device after a DLPack
import, never through the host.

On the CPU, when numpy is one side, the host share comes before DLPack: numpy arrays *are*
host memory, and the other framework's own wrap or view (``torch.from_numpy``,
``t.numpy()``, ``np.asarray(jax_array)``) is as zero-copy and several times cheaper.

The per-call cost matters (dispatch converts every argument): identity is decided from a
per-type cache without describing the array, backends are loaded once, and routes are
cached by a :data:`~arrayport._host.RouteKey` (everything the route decision reads: dtype,
device, layout, alignment, writability, ...) that the source backend reads cheaply, so a
repeated conversion skips the description and the refusal checks
(``docs/decisions/0045-plan-cache-and-host-first.md``).

This module holds the public functions, :func:`convert`'s hot path and its out-of-memory
mapping. :class:`Route` and the planner are in :mod:`arrayport._planning`, the refusal
checks and host-route runners in :mod:`arrayport._routes`, the loaded backends and the
plan cache in :mod:`arrayport._plan_cache`.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from typing import Any

from arrayport._metrics import metrics
from arrayport._oom_recognition import format_bytes, requested_bytes
from arrayport._plan_cache import _backend, _plan_key, _plans, _targets
from arrayport._plan_cache import clear_plan_cache as clear_plan_cache  # tests import it here
from arrayport._planning import Route as Route  # defined there, public here
from arrayport._planning import _plan
from arrayport.backends import cached_memory_type, detect_memory_type
from arrayport.backends._util import allocation_failed

# Device: Route's annotations name it, and Route says it is this module's (typing reads it).
from arrayport.devices import CPU, Device, DeviceLike  # noqa: F401
from arrayport.errors import ArrayportError, ConversionError, OutOfMemoryError
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["RAISED_IN_BLOCK", "Route", "convert", "plan"]

#: Set (to True) by :mod:`arrayport._dask_worker` on a ``MemoryError`` that a dispatched
#: function with ``OOMPolicy.disabled()`` raised in a dask block: the function's own error,
#: which converting (computing) the dask array passes on as it is, as a call of the function
#: without dask would.
RAISED_IN_BLOCK = "_arrayport_raised_in_block"


def plan(
    x: Any, to: MemoryType | str, *, device: DeviceLike = None, copy: bool | None = None
) -> Route:
    """Decide how :func:`convert` would move ``x`` to memory type ``to``, moving no data.

    Parameters
    ----------
    x : array
        An array of any supported memory type.
    to : MemoryType or str
        The target memory type.
    device : None, "cpu", int, "cuda", "cuda:N", "gpu:N", "opencl:N", Device or torch.device
        ``None`` stays on the same physical device when the target can hold data there
        (numpy to torch stays on the CPU). Else: numpy takes it to the CPU; cupy, and
        torch, jax or tensorflow given data on an OpenCL device, to the thread's current
        accelerator (:func:`~arrayport.use_device`, default 0; the CPU for a framework
        without a GPU, or from PoCL's CPU device); pyclesperanto to its own selected
        device (``pyclesperanto.select_device``). An int ``N`` is ``"cuda:N"``; a bare
        ``"cuda"`` (``"gpu"``, ``"opencl"``) is the thread's current accelerator.
    copy : None, True or False
        ``None`` shares memory when possible, ``True`` always copies, ``False`` must share
        (else :class:`CopyRequiredError`).

    Returns
    -------
    Route
        The route, with ``zero_copy`` telling whether the result will share memory.

    Raises
    ------
    The same errors as :func:`convert`, before any data moves.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> ap.plan(np.zeros(3), "numpy").method
    'identity'
    """
    route = _plan(x, to, device, copy)[0]
    if route.source is not route.target:
        # A size limit convert meets only when it allocates (pyclesperanto's maximum
        # buffer): asked here too, from the full description, so that plan raises it.
        check_size = getattr(_backend(route.target), "check_size", None)
        if check_size is not None:
            check_size(_backend(route.source).describe(x), route.device)
    return route


def convert(
    x: Any, to: MemoryType | str, *, device: DeviceLike = None, copy: bool | None = None
) -> Any:
    """Convert ``x`` to memory type ``to``, sharing memory when possible.

    The result is equal to ``x`` in value, shape and dtype (or a lossless widening the
    target needs, named in ``plan(...).reason``), or an arrayport error says why not.

    Parameters
    ----------
    x, to, device, copy
        As for :func:`plan`.

    Raises
    ------
    UnsupportedArrayError
        ``x`` is not an array of a supported framework.
    UnsupportedDtypeError
        The target cannot hold ``x``'s dtype exactly; the message names the remedy.
    ConversionError
        The target cannot hold an array of that shape (pyclesperanto: 0-d, empty, >3-D;
        between frameworks: an empty array whose other extents make more bytes than numpy
        can count), or the source cannot be read (a reshaped pyclesperanto image).
    CopyRequiredError
        ``copy=False`` and the route must copy.
    DeviceError
        The device does not exist or the target cannot use it.
    OutOfMemoryError
        A copy route's host buffer could not be allocated (chained to numpy's
        ``MemoryError``); pyclesperanto: the array exceeds the OpenCL device's maximum
        buffer size.
    BackendUnavailableError
        The target framework is not installed (the message names the extra).

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> a = np.arange(3.0)
    >>> ap.convert(a, "numpy") is a
    True
    """
    try:
        if not metrics.enabled:
            # The hot path, for arrays of a known type and a `to` given as a memory type or
            # its value: an identity answered without describing the array, else a cached
            # route.
            source = cached_memory_type(type(x))
            target = _targets.get(to) if isinstance(to, str) else None
            if source is not None and target is not None and (copy is None or type(copy) is bool):
                same = device is None and copy is not True and target is source
                if same and _backend(source).is_plain(x):
                    return x
                pkey = _plan_key(x, source, target, device, copy)
                if pkey is not None:
                    found = _plans.get(pkey)
                    if found is not None:
                        return found[1](x)
            return _plan(x, to, device, copy)[1](x)
        route, run = _plan(x, to, device, copy)
        start = time.perf_counter()
        out = run(x)
    except MemoryError as exc:  # free in 3.11+ until raised (zero-cost exceptions)
        # arrayport's own (with its remedy: pyclesperanto's buffer limit), a program's own
        # MemoryError subclass (a quota in a dask graph: not out of memory), cupy's device
        # error (its pool, not the host), a disabled policy's in a dask block: as they are.
        if (
            not allocation_failed(exc)
            or type(exc).__module__.startswith("cupy")
            or getattr(exc, RAISED_IN_BLOCK, False)
        ):
            raise
        raise _host_oom(exc, x, to) from exc
    except ConversionError as exc:  # a backend that knows one side only: named here
        _name_sides(exc, x, to)
        raise
    seconds = time.perf_counter() - start
    # A copy counts the bytes it wrote, the target's (a widening writes more than the
    # source holds); a share, the bytes handed over. Where one side does not tell (a dask
    # array with chunks of unknown size), the other says.
    first, second = (x, out) if route.zero_copy else (out, x)
    nbytes = _nbytes(first)
    if nbytes is None:
        nbytes = _nbytes(second) or 0
    metrics.record_conversion(
        route.source.value, route.target.value, route.method, route.zero_copy, nbytes, seconds
    )
    return out


def _name_sides(exc: ConversionError, x: Any, to: Any) -> None:
    """Fill in the source and target memory types a backend's error left unset (tensorflow
    refusing a jax layout knows only itself), so that every ConversionError has them."""
    if exc.source is None:
        with contextlib.suppress(ArrayportError):
            exc.source = detect_memory_type(x)
    if exc.target is None:
        with contextlib.suppress(ArrayportError):
            exc.target = as_memory_type(to)


def _host_oom(exc: MemoryError, x: Any, to: object) -> OutOfMemoryError:
    """numpy's MemoryError from a route's host buffer, as arrayport's OutOfMemoryError: it
    names the conversion rather than the staging buffer's internal shape. From a dask array
    it names where its computation ran out: a task's function, dask's own work, or the copy."""
    name = getattr(to, "value", to)
    size = requested_bytes(exc)
    asked = "" if size is None else f" ({format_bytes(size)} asked for)"
    shape = tuple(getattr(x, "shape", ()))
    if str(getattr(type(x), "__module__", "")).partition(".")[0] == "dask":
        msg = f"out of host memory computing a dask array of shape {shape} to {name}{asked}"
        msg += _in_graph(exc)
    else:
        msg = (
            f"out of host memory converting an array of shape {shape} to {name}{asked}; free "
            "memory held elsewhere, convert it in parts, or let a decorated function's "
            "OOMPolicy(split_axis=...) split it"
        )
    return OutOfMemoryError(msg, memory_type=MemoryType.NUMPY, device=CPU, requested_bytes=size)


def _in_graph(exc: BaseException) -> str:
    """Where a dask array's computation ran out of host memory, and what to do: read from
    ``exc``'s traceback (a worker's, rebuilt by distributed), whose innermost frame outside
    numpy raised it. Without a frame of dask's, the graph was computed: the copy ran out."""
    where, computing = None, False
    tb = exc.__traceback__
    while tb is not None:
        top = str(tb.tb_frame.f_globals.get("__name__", "")).partition(".")[0]
        computing = computing or top in ("dask", "distributed")
        if top != "numpy":
            code = tb.tb_frame.f_code
            where = top, code.co_name, f"{os.path.basename(code.co_filename)}:{tb.tb_lineno}"
        tb = tb.tb_next
    if not computing and where is not None:
        return (
            ": its computed result did not fit in the conversion's copy; free memory held "
            "elsewhere, or convert it in parts (x[i:j])"
        )
    if where is None or where[0] in ("dask", "distributed"):
        return (
            ": a task of its graph ran out (dask's own work, joining or rechunking blocks, or "
            "a function it maps); use smaller chunks (x.rechunk(...)), convert it in parts "
            "(x[i:j]), or free memory held elsewhere"
        )
    return (
        f": raised in {where[1]} ({where[2]}), a function its graph runs on the blocks, not "
        "by the conversion; run it on smaller chunks (x.rechunk(...)), give it an OOMPolicy "
        "(ap.memory_type(..., oom=ap.OOMPolicy(...))), or free memory held elsewhere"
    )


def _nbytes(x: Any) -> int | None:
    """The bytes of ``x``, or None where it does not tell them (a dask array with chunks
    of unknown size has ``nbytes`` and a shape of nan)."""
    n = getattr(x, "nbytes", None)
    if isinstance(n, int):
        return n
    # tensorflow tensors have no nbytes: elements times tf.DType.size (bytes per element).
    per: Any = getattr(getattr(x, "dtype", None), "size", None)
    try:
        return math.prod(int(d) for d in x.shape) * int(per)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None
