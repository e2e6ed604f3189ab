"""What a ``NATIVE_OUTPUT`` function returns on dask input, learned before any block is
computed (:mod:`arrayport._dask_dispatch` declares its result's dtype with it): the function
is run once on a small block of ones shaped like the blocks it will get (ADR 0026)."""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport._arguments import is_container
from arrayport._dask_worker import fill
from arrayport._quiet import quiet
from arrayport.backends import detect_memory_type, get_backend
from arrayport.backends._dask_devices import _is_cupy
from arrayport.errors import ArrayportError, UnsupportedArrayError

__all__ = ["sampled_dtype"]

#: A NATIVE_OUTPUT sample keeps an axis held in one chunk whole up to this extent (colour
#: channels, a 3x3 matrix's axis): a function pairing it with a whole argument then fits.
_SAMPLE_WHOLE_AXIS = 16


def _sample(x: Any, depth: dict[int, int] | None, cap: int | None = _SAMPLE_WHOLE_AXIS) -> Any:
    """A block of ones like ``x``'s: one element along each split axis (plus the halo),
    axes held in one chunk kept whole up to ``cap`` elements (None: whole)."""
    shape = []
    for axis, extent in enumerate(x.shape):
        want = 1 + 2 * (depth or {}).get(axis, 0)
        if len(x.chunks[axis]) == 1 and not isinstance(extent, float):
            whole = int(extent)
            want = max(want, whole if cap is None else min(whole, cap))
        shape.append(want if isinstance(extent, float) else min(int(extent), want))
    if _is_cupy(x._meta):
        import cupy

        return cupy.ones(tuple(shape), dtype=x.dtype)
    return np.ones(tuple(shape), dtype=x.dtype)


def _run_sample(
    dispatched: Any,
    targs: tuple[Any, ...],
    tkwargs: dict[str, Any],
    samples: tuple[Any, ...],
    whole: list[np.ndarray],
) -> Any:
    args = tuple(fill(a, samples, tuple(whole)) for a in targs)
    kwargs = {k: fill(v, samples, tuple(whole)) for k, v in tkwargs.items()}
    # Arrayport's data, not the caller's: a block of ones makes a normalisation divide 0 by
    # 0, and a 1 x 1 sample gives std(correction=1) no degrees of freedom, whose warnings
    # (errors under -W error) would not come from the input. The warning filters are the
    # process's: quiet() holds one lock, so two threads' samples cannot leave its filter
    # installed for good (other threads' warnings are silenced while a sample runs).
    with quiet(), np.errstate(all="ignore"):
        return dispatched(*args, **kwargs)


def sampled_dtype(
    dispatched: Any,
    name: str,
    targs: tuple[Any, ...],
    tkwargs: dict[str, Any],
    whole: list[np.ndarray],
    depth: dict[int, int] | None,
    blocks: list[Any],
) -> np.dtype[Any]:
    """The dtype ``dispatched`` returns on a sample cut from ``blocks`` (the dask arguments
    as their blocks will be), its other arguments ``targs``/``tkwargs`` filled in with the
    samples and the ``whole`` (non-dask) arguments. An axis held in one chunk is sampled up
    to 16 elements, then, where the function fails on that, whole (a whole argument of that
    extent, a matrix multiplied by it, needs it whole)."""
    samples = tuple(_sample(x, depth) for x in blocks)
    try:
        try:
            out = _run_sample(dispatched, targs, tkwargs, samples, whole)
        except ArrayportError:
            raise
        except Exception:
            wider = tuple(_sample(x, depth, cap=None) for x in blocks)
            if all(w.shape == s.shape for w, s in zip(wider, samples, strict=True)):
                raise
            samples = wider  # an axis held in one chunk, whole this time
            out = _run_sample(dispatched, targs, tkwargs, samples, whole)
    except ArrayportError:
        raise
    except Exception as exc:  # the user's function failed on the sample: say what we did
        msg = (
            f"{name} has dtype_conversion=NATIVE_OUTPUT, so arrayport ran it on a "
            f"{samples[0].shape} {samples[0].dtype} sample block to learn the dtype of its "
            f"dask result, and it raised {type(exc).__name__}: {exc}. Declare the output "
            "dtype instead (dtype_conversion=DtypeConversion.FLOAT32, UINT16, ..., or "
            "PRESERVE_INPUT)"
        )
        raise ArrayportError(msg) from exc
    if is_container(out):  # refused now, not when the blocks are computed
        msg = (
            f"{name} returned a {type(out).__name__} on a sample dask block: on dask input a "
            "function must return one array (call it once per output, or compute the input "
            "first with .compute())"
        )
        raise ArrayportError(msg)
    if isinstance(out, np.generic):
        out = np.asarray(out)  # a numpy scalar is the 0-d array it stands for (ADR 0016)
    shape = getattr(out, "shape", None)
    if shape is not None and tuple(shape) != tuple(samples[0].shape):
        # Refused now, as each block would be (_dask_worker._as_block) at compute(): the
        # lazy result would report the input's shape meanwhile.
        msg = (
            f"{name} returned shape {tuple(shape)} for a sample dask block of shape "
            f"{tuple(samples[0].shape)}: on dask input a function must keep its input's "
            "shape (blockwise, with depth=, whole_array=True or slice_by_slice=True); "
            "compute the input first (.compute()) to call a shape-changing function"
        )
        raise ArrayportError(msg)
    if type(out) is np.ndarray:
        # A numpy block as it is: dask holds any numpy dtype (datetime64, str, ...), which
        # arrayport would refuse to move between frameworks but need not move here.
        native: np.dtype[Any] = out.dtype
        return native
    try:
        info = get_backend(detect_memory_type(out)).describe(out)
    except UnsupportedArrayError as exc:
        msg = f"{name} returned {type(out).__name__}, not an array, on a sample dask block"
        raise ArrayportError(msg) from exc
    if info.dtype is None:
        msg = f"{name} returns {info.dtype_name}, which numpy (and so dask) cannot hold"
        raise ArrayportError(msg)
    return info.dtype
