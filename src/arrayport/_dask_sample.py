"""What a ``NATIVE_OUTPUT`` function returns on dask input, learned before any block is
computed (:mod:`arrayport._dask_dispatch` declares its result's dtype with it): the function
is run once on a small block of ones shaped like the blocks it will get (ADR 0026). The
sample is arrayport's own run, at the call and in the calling process: it stays small (ADR
0077), ``inject_oom`` does not count it, and an error from it says it came from the sample.
Where the function's OOM policy has a fallback, the sample also runs as that fallback would,
so that a fallback returning another dtype is refused at the call, not when a block runs out
of memory."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from arrayport._arguments import is_container
from arrayport._dask_worker import fill
from arrayport._oom_injection import suspended
from arrayport._oom_recognition import find_site, format_bytes
from arrayport._oom_recovery import Execution
from arrayport._result_hint import MASKED_ON_DASK, running
from arrayport.backends import detect_memory_type, get_backend
from arrayport.backends._dask_devices import _is_cupy
from arrayport.dtypes import DtypeConversion
from arrayport.errors import ArrayportError, InvalidOptionError, UnsupportedArrayError, add_note
from arrayport.memory_types import as_memory_type
from arrayport.oom import OOMPolicy

T = TypeVar("T")

__all__ = ["sampled_dtype"]

#: A NATIVE_OUTPUT sample keeps an axis held in one chunk whole up to this extent (colour
#: channels, a 3x3 matrix's axis): a function pairing it with a whole argument then fits.
_SAMPLE_WHOLE_AXIS = 16
#: Where the function fails on that, such axes are widened step by step (whole at last)...
_WIDER: tuple[int | None, ...] = (64, 256, 1024, None)
#: ... while the samples of ones hold at most this many bytes in all: they are made and run
#: in the calling process, at the call (ADR 0077).
_SAMPLE_MAX_BYTES = 1 << 20


def _shape(x: Any, depth: dict[int, int] | None, cap: int | None) -> tuple[int, ...]:
    """The shape of a sample block like ``x``'s: along each split axis, one element plus
    the halo on each side, and at least two where the blocks all have two; axes held in
    one chunk kept whole up to ``cap`` elements (None: whole). Not one where the blocks
    have more: a single element gives ``std(correction=1)`` no degrees of freedom, and its
    warning (an error under ``-W error``) would come from arrayport's sample, not from the
    input."""
    shape = []
    for axis, extent in enumerate(x.shape):
        smallest = min(x.chunks[axis], default=1)
        pair = 2 if not isinstance(smallest, float) and smallest >= 2 else 1
        want = max(pair, 1 + 2 * (depth or {}).get(axis, 0))
        if len(x.chunks[axis]) == 1 and not isinstance(extent, float):
            whole = int(extent)
            want = max(want, whole if cap is None else min(whole, cap))
        shape.append(want if isinstance(extent, float) else min(int(extent), want))
    return tuple(shape)


def _ones(x: Any, shape: tuple[int, ...]) -> Any:
    if _is_cupy(x._meta):
        import cupy

        return cupy.ones(shape, dtype=x.dtype)
    return np.ones(shape, dtype=x.dtype)


def _nbytes(blocks: list[Any], shapes: list[tuple[int, ...]]) -> int:
    return sum(
        math.prod(s) * np.dtype(x.dtype).itemsize for x, s in zip(blocks, shapes, strict=True)
    )


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
    # 0, whose floating-point warnings numpy's errstate (per thread) silences. The warning
    # filters are left alone: they are the process's, and another thread saving and
    # restoring them meanwhile (dask's own chunk functions do) could leave an "ignore" filter
    # installed for good. Nor is it a call a test's inject_oom counts (it would fail the
    # call, not a block). Run as on a block: a refusal of a masked result names the remedies
    # that work there.
    before, running.on = getattr(running, "on", None), dispatched
    try:
        with np.errstate(all="ignore"), suspended():
            return dispatched(*args, **kwargs)
    finally:
        running.on = before


def _failed(name: str, samples: tuple[Any, ...], exc: Exception, why: str = "") -> ArrayportError:
    """The user's function failed on the sample: say what arrayport did."""
    msg = (
        f"{name} has dtype_conversion=NATIVE_OUTPUT, so arrayport ran it on a "
        f"{samples[0].shape} {samples[0].dtype} sample block to learn the dtype of its "
        f"dask result, and it raised {type(exc).__name__}: {exc}.{why} Declare the output "
        "dtype instead (dtype_conversion=DtypeConversion.FLOAT32, UINT16, ..., or "
        "PRESERVE_INPUT)"
    )
    return ArrayportError(msg)


def _noted(exc: ArrayportError, name: str, samples: tuple[Any, ...]) -> None:
    """An arrayport error of the sample run (out of memory in this process, a refused
    dtype), told apart from one of the data: the sample is a tiny block of ones."""
    add_note(
        exc,
        f"arrayport: raised by the NATIVE_OUTPUT sample run, at the call: {name} ran in "
        f"this process on a {samples[0].shape} {samples[0].dtype} sample block of ones to "
        "learn the dtype of its dask result (no block of the input ran); declare the output "
        "dtype (dtype_conversion=DtypeConversion.FLOAT32, ..., PRESERVE_INPUT) to skip it",
    )


def _sampled(
    dispatched: Any,
    name: str,
    targs: tuple[Any, ...],
    tkwargs: dict[str, Any],
    whole: list[np.ndarray],
    depth: dict[int, int] | None,
    blocks: list[Any],
) -> tuple[Any, tuple[Any, ...]]:
    """The function's result on the first sample it runs on, and that sample: an axis held
    in one chunk up to 16 elements, then wider where the function fails on that, within
    ``_SAMPLE_MAX_BYTES``."""
    shapes = [_shape(x, depth, _SAMPLE_WHOLE_AXIS) for x in blocks]
    samples = tuple(_ones(x, s) for x, s in zip(blocks, shapes, strict=True))
    caps = iter(_WIDER)
    while True:
        try:
            return _run_sample(dispatched, targs, tkwargs, samples, whole), samples
        except ArrayportError as exc:
            _noted(exc, name, samples)
            raise
        except Exception as exc:  # the user's function failed on the sample
            failed = exc
        for cap in caps:
            wider = [_shape(x, depth, cap) for x in blocks]
            if wider != shapes:
                break
        else:  # nothing left to widen (an axis held in one chunk, 16 long at most)
            raise _failed(name, samples, failed) from failed
        nbytes = _nbytes(blocks, wider)
        if nbytes > _SAMPLE_MAX_BYTES:
            why = (
                f" A wider sample, of shape {wider[0]} ({format_bytes(nbytes)} of ones), "
                f"would be larger than the {format_bytes(_SAMPLE_MAX_BYTES)} arrayport runs "
                "a sample on in the calling process, at the call."
            )
            raise _failed(name, samples, failed, why) from failed
        shapes = wider  # an axis held in one chunk, wider (whole at last) this time
        samples = tuple(_ones(x, s) for x, s in zip(blocks, shapes, strict=True))


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
    to 16 elements, then, where the function fails on that, wider (64, 256, 1024, whole: a
    whole argument of that extent, a matrix multiplied by it, needs it whole) while the
    samples hold 1 MiB at most. Where the contract's OOM policy falls back to another
    memory type, and the function returns another dtype there, the call is refused."""
    out, samples = _sampled(dispatched, name, targs, tkwargs, whole, depth, blocks)
    native = _dtype_of(out, name, samples)
    contract = dispatched.contract
    fallback = contract.oom.fallback if contract.oom._active else None
    if fallback is not None and as_memory_type(fallback) is not contract.memory_type:
        there = _fallback_dtype(dispatched, targs, tkwargs, whole, samples)
        if there is not None and there != native:
            raise InvalidOptionError(_fallback_differs(name, contract, native, there))
    return native


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class _OnFallback(OOMPolicy):
    """A policy that runs the function as its fallback would, as if every attempt on the
    declared memory type had run out of memory: for the sample only."""

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        site = find_site(args, kwargs)
        return cast(T, Execution(self, fn).on_fallback(args, kwargs, site))


def _fallback_dtype(
    dispatched: Any,
    targs: tuple[Any, ...],
    tkwargs: dict[str, Any],
    whole: list[np.ndarray],
    samples: tuple[Any, ...],
) -> np.dtype[Any] | None:
    """The dtype a block recovered by the OOM fallback would have (the function run on the
    fallback's memory type, its result taken back as the policy takes it), or None where
    that run fails: the block's own fallback then says why, if it ever runs."""
    fallback = dispatched.contract.oom.fallback
    on_fallback = dispatched.options(oom=_OnFallback(retries=0, release=False, fallback=fallback))
    try:
        out = _run_sample(on_fallback, targs, tkwargs, samples, whole)
        return _dtype_of(out, "", samples)
    except Exception:  # not the call's business until a block runs out of memory
        return None


def _fallback_differs(name: str, contract: Any, native: np.dtype[Any], there: np.dtype[Any]) -> str:
    fallback = as_memory_type(contract.oom.fallback).value
    fixed = native.name if native.name in {c.value for c in DtypeConversion} else ""
    declare = f"DtypeConversion.{fixed.upper()}" if fixed else "DtypeConversion.FLOAT32, ..."
    return (
        f"{name} has dtype_conversion=NATIVE_OUTPUT and OOMPolicy(fallback={fallback!r}): on "
        f"a sample block it returns {native} on {contract.memory_type.value} but {there} on "
        f"{fallback}, so a dask block that ran out of memory and fell back to {fallback} "
        f"would not match the {native} its dask result is declared with. Declare a fixed "
        f"output dtype (dtype_conversion={declare}) with the default Scaling.VALUE (under "
        "UNIT the blocks that fell back are scaled from the fallback's dtype: one array of "
        f"two scales), or a fallback that returns {native}"
    )


def _dtype_of(out: Any, name: str, samples: tuple[Any, ...]) -> np.dtype[Any]:
    """The dtype of ``out``, the function's result on ``samples``, checked as a block's."""
    if is_container(out):  # refused now, not when the blocks are computed
        msg = (
            f"{name} returned a {type(out).__name__} on a sample dask block: on dask input a "
            "function must return one array (call it once per output, or compute the input "
            "first with .compute())"
        )
        raise ArrayportError(msg)
    if isinstance(out, np.ma.MaskedArray):  # NATIVE_OUTPUT keeps it as the function made it
        raise UnsupportedArrayError(
            f"{name} returned a masked array on a sample dask block: {MASKED_ON_DASK}"
        )
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
