"""What travels to the dask workers for a dispatched call, and what runs there per block.

:func:`arrayport._dask_dispatch.run_on_dask` builds the graph; every block task calls
:func:`run_block` with a :class:`Call`, which carries the dispatched callable and the
call's non-block arguments. See ``docs/decisions/0027-dask-worker-transport.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

import numpy as np

from arrayport._arguments import is_container, rebuild
from arrayport._oom_messages import dask_block
from arrayport._oom_messages import name as fn_name
from arrayport._oom_recognition import find_site
from arrayport._oom_recovery import JOIN
from arrayport._result_hint import MASKED_ON_DASK, running
from arrayport.backends import detect_memory_type, get_backend
from arrayport.backends._dask_compute import dtype_lie, foreign_chunks, numpy_or_cupy
from arrayport.convert import RAISED_IN_BLOCK, convert
from arrayport.dtypes import DtypeConversion
from arrayport.errors import (
    ArrayportError,
    ConversionError,
    OutOfMemoryError,
    UnsupportedArrayError,
    add_note,
)
from arrayport.memory_types import MemoryType, as_memory_type
from arrayport.oom import OOMPolicy

__all__ = [
    "Call",
    "Referenced",
    "Slot",
    "Traced",
    "dumps_by_value",
    "fill",
    "run_block",
    "traced_policy",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """Where a block (``"block"``: the i-th dask argument) or a whole argument goes."""

    source: Literal["block", "whole"]
    index: int


@dataclasses.dataclass(frozen=True, slots=True)
class Referenced:
    """A block's call whose dtype reference is not its first array argument: the call's
    first array is a parameter's array default, which each block is given as an argument,
    and the reference is the first array the caller gave (ADR 0069). ``native`` (the
    dispatched callable with ``NATIVE_OUTPUT``) runs; ``dispatched``'s dtype policy then
    applies, against the argument at ``reference``."""

    dispatched: Any
    native: Any
    reference: Slot

    @property
    def contract(self) -> Any:
        return self.dispatched.contract

    def call(self, blocks: tuple[Any, ...], whole: tuple[Any, ...], *a: Any, **k: Any) -> Any:
        out = self.native(*a, **k)
        return self.dispatched._dtype_policy(out, fill(self.reference, blocks, whole))


def fill(value: Any, blocks: tuple[Any, ...], whole: tuple[Any, ...], *, top: bool = True) -> Any:
    """``value`` with every :class:`Slot` (top level, or one level down in a list or tuple)
    replaced by its block or whole argument."""
    if isinstance(value, Slot):
        return blocks[value.index] if value.source == "block" else whole[value.index]
    if top and is_container(value):
        return rebuild(value, [fill(v, blocks, whole, top=False) for v in value])
    return value


_resolved: OrderedDict[str, tuple[Any, tuple[Any, ...], dict[str, Any]]] = OrderedDict()
_resolved_lock = threading.Lock()
_RESOLVED_MAX = 16


class Call:
    """The dispatched callable and the call's non-block arguments, for every block.

    In this process (dask's local schedulers) the objects are used as they are. Pickled
    (for ``dask.distributed``), they travel as one cloudpickle payload that is unpickled
    lazily, on first use in a worker process, and then cached per process: the scheduler
    only ever holds bytes, so it never imports the user's module or its framework, and a
    worker imports them only after this module (hence arrayport, whose import guard must
    come before any framework) is loaded.
    """

    __slots__ = ("_objects", "_payload", "dtype", "in_dtypes", "key", "n_blocks", "name")

    def __init__(
        self,
        key: str,
        n_blocks: int,
        dtype: np.dtype[Any],
        name: str,
        objects: tuple[Any, tuple[Any, ...], dict[str, Any]] | None = None,
        payload: bytes | None = None,
        in_dtypes: tuple[str, ...] = (),
    ) -> None:
        self.key = key
        self.n_blocks = n_blocks
        self.dtype = dtype
        self.name = name
        self._objects = objects
        self._payload = payload
        # The dtype names the dask arguments declare: a block of another dtype is the
        # input's fault (a wrong dtype= where it was built), not the function's.
        self.in_dtypes = in_dtypes

    def resolve(self) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        if self._objects is not None:
            return self._objects
        with _resolved_lock:
            found = _resolved.get(self.key)
            if found is None:
                import cloudpickle  # type: ignore[import-untyped, unused-ignore]

                dispatched, targs, tkwargs = cloudpickle.loads(self._payload)
                found = (dispatched, targs, tkwargs)
                _resolved[self.key] = found
                while len(_resolved) > _RESOLVED_MAX:
                    _resolved.popitem(last=False)
            return found

    def __reduce__(self) -> tuple[Any, ...]:
        if self._payload is None:
            assert self._objects is not None  # one of the two is always set
            # Made once (a racing thread at worst makes the same bytes twice).
            self._payload = dumps_by_value(self._objects)
        return (
            Call,
            (self.key, self.n_blocks, self.dtype, self.name, None, self._payload, self.in_dtypes),
        )


def dumps_by_value(objects: Any) -> bytes:
    """``objects`` pickled by cloudpickle, with every dispatched function defined in
    ``__main__`` (a script's or notebook's) by value: its plain function and contract.

    A dispatched function pickles by reference to where it was defined, and a ``__main__``
    that workers in other processes do not have; cloudpickle sends ``__main__`` functions
    by value, so the plain function travels instead. This covers the dispatched function
    itself and every one it reaches (another decorated function it calls), at any depth.
    """
    import io

    import cloudpickle  # type: ignore[import-untyped, unused-ignore]

    from arrayport.dispatch import DispatchedFunction

    class _Pickler(cloudpickle.CloudPickler):  # type: ignore[misc, unused-ignore]
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, DispatchedFunction) and obj.__module__ == "__main__":
                return (DispatchedFunction, (obj.__wrapped__, obj.contract))
            return super().reducer_override(obj)

    buffer = io.BytesIO()
    _Pickler(buffer).dump(objects)
    return buffer.getvalue()


#: Per thread: the memory type of the arrays the last completed run of a traced function got
#: (see Traced; run_block reads it).
_ran = threading.local()


def _traced(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, noting the memory type each run of it got once the run has returned."""

    def traced(*args: Any, **kwargs: Any) -> Any:
        on = find_site(args, kwargs).memory_type
        out = fn(*args, **kwargs)
        _ran.on = on
        return out

    # What the policy reads of the function it runs: its name, how its pieces' results
    # join (slice_by_slice), and the function a fallback's result is left for (ADR 0068).
    traced.__name__ = getattr(fn, "__name__", "function")
    traced.__qualname__ = fn_name(fn)
    setattr(traced, "__wrapped__", getattr(fn, "__wrapped__", fn))  # noqa: B010
    if hasattr(fn, JOIN):
        setattr(traced, JOIN, getattr(fn, JOIN))
    return traced


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class Traced(OOMPolicy):
    """A NATIVE_OUTPUT contract's policy on dask blocks, where it has a fallback: the same
    policy, whose runs of the function note their memory type, so that a block whose dtype
    is not the declared one can say that it fell back (ADR 0077)."""

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return cast(T, OOMPolicy.run(self, _traced(fn), *args, **kwargs))

    def recover(
        self, exc: Exception, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return OOMPolicy.recover(self, exc, _traced(fn), args, kwargs)

    def recover_conversion(
        self, exc: Exception, call: Callable[..., Any], fn: Callable[..., Any], *rest: Any
    ) -> Any:
        return OOMPolicy.recover_conversion(self, exc, call, _traced(fn), *rest)


def traced_policy(contract: Any) -> OOMPolicy | None:
    """The :class:`Traced` policy for ``contract``'s blocks, or None where its blocks keep
    their own (no fallback elsewhere, or a fixed output dtype the dtype policy gives)."""
    p = contract.oom
    if contract.dtype_conversion is not DtypeConversion.NATIVE_OUTPUT or type(p) is not OOMPolicy:
        return None
    if p.fallback is None or as_memory_type(p.fallback) is contract.memory_type:
        return None
    return Traced(p.retries, p.release, p.split_axis, p.min_split, p.fallback)


def writes_through(declared: MemoryType) -> bool:
    """Whether a function declared on ``declared`` could write into a numpy argument it is
    given (shared with it: numpy, torch; cupy for a host-memory test), so that a snapshot
    every block shares must be read-only (torch then gets a private copy per block). jax
    and tensorflow cannot write into their arrays, and pyclesperanto always copies: they
    keep sharing it."""
    return declared in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.CUPY)


def run_block(*parts: Any, call: Call, block_id: tuple[int, ...] | None = None) -> Any:
    """One block: the dispatched callable on numpy (or cupy) blocks, a block back.
    ``block_id``: the block's index among the blocks the call was mapped over (dask's)."""
    dispatched, targs, tkwargs = call.resolve()
    blocks, whole = parts[: call.n_blocks], parts[call.n_blocks :]
    if writes_through(dispatched.contract.memory_type):
        for w in whole:
            # Shared by every block this worker runs (a copy unpickled from the client's
            # read-only snapshot can come back writable): never written into by one block.
            w.flags.writeable = False
    # The block of a 0-d dask array (x.sum(), x[0]) is a numpy scalar: the 0-d array it
    # stands for (ADR 0016), as the function would get without dask.
    blocks = tuple(np.asarray(b) if isinstance(b, np.generic) else b for b in blocks)
    for b in blocks:
        # A meta that said numpy, and torch tensors computed (masked blocks: refused with
        # their own remedy by the dispatched call's argument checks).
        if not (numpy_or_cupy(b) or isinstance(b, np.ma.MaskedArray)):
            raise UnsupportedArrayError(foreign_chunks(call.name, b))
    for block, declared in zip(blocks, call.in_dtypes, strict=False):
        # By name: another byte order holds the same values.
        computed = getattr(getattr(block, "dtype", None), "name", declared)
        if computed != declared:
            raise ConversionError(dtype_lie(declared, computed), source=MemoryType.DASK)
    like = blocks[0]
    for other in blocks[1:]:
        # Chunks of unknown size (after boolean indexing) compare equal while planning;
        # the blocks themselves must still line up, or values would pair up wrongly.
        if other.shape != like.shape:
            msg = (
                f"{call.name} got dask blocks of shapes {tuple(like.shape)} and "
                f"{tuple(other.shape)} at the same place: its dask arguments do not line up "
                "(chunks of unknown size, after boolean indexing, hide that until they "
                "run); call x.compute_chunk_sizes() on each and check their shapes"
            )
            raise ArrayportError(msg)
    if 0 in like.shape:
        # An empty block (rows dropped by a boolean mask, a chunk of length 0): its result
        # is known without the call (the block's shape, the declared dtype), and a call
        # could fail where the whole array would not (pyclesperanto holds no empty array).
        return _as_block(np.empty(like.shape, call.dtype), like, call)
    args = tuple(fill(a, blocks, whole) for a in targs)
    kwargs = {k: fill(v, blocks, whole) for k, v in tkwargs.items()}
    policy = dispatched.contract.oom
    _ran.on = None
    # What a refusal of its result reads: on a dask block (a masked result: no option keeps it).
    before, running.on = getattr(running, "on", None), dispatched
    try:
        if type(dispatched) is Referenced:
            out = dispatched.call(blocks, whole, *args, **kwargs)
        else:
            out = dispatched(*args, **kwargs)
    except MemoryError as exc:
        if not policy._active:
            # OOMPolicy.disabled(): the function's own error, which converting the dask
            # result (output=) passes on as it is, not as the conversion's.
            with contextlib.suppress(AttributeError, TypeError):  # one without a __dict__
                setattr(exc, RAISED_IN_BLOCK, True)
        elif isinstance(exc, OutOfMemoryError):
            add_note(exc, dask_block(call.name, dispatched.contract, block_id, like.shape))
        raise
    finally:
        running.on = before
    # Whether the last run of the function was its fallback's (Traced policies only).
    fallback = policy.fallback if type(policy) is Traced else None
    fell = fallback if isinstance(fallback, MemoryType) and _ran.on is fallback else None
    return _as_block(out, blocks[0], call, fell)


def _as_block(out: Any, like: Any, call: Call, fell: MemoryType | None = None) -> Any:
    """``out`` as a block of ``like``'s type and device, checked against the contract
    (``fell``: the memory type the block's OOM fallback ran it on, if it did)."""
    if not (type(out) is np.ndarray and type(like) is np.ndarray):  # else: numpy, as is
        out = _to_block_type(out, like, call)
    if out.shape != like.shape:
        msg = (
            f"{call.name} returned shape {tuple(out.shape)} for a dask block of shape "
            f"{tuple(like.shape)}: on dask input a function must keep its input's shape "
            "(blockwise, with depth=, whole_array=True or slice_by_slice=True); compute the "
            "input first "
            "(.compute()) to call a shape-changing function"
        )
        raise ArrayportError(msg)
    if out.dtype != call.dtype and isinstance(out, np.ndarray) and not out.dtype.isnative:
        # Declared in native byte order (the policy compares dtypes by name and never
        # swaps bytes): a big-endian block the function handed back is swapped, exactly.
        out = out.astype(out.dtype.newbyteorder("="))
    if out.dtype != call.dtype and fell is not None:
        msg = (
            f"{call.name} returned {np.dtype(out.dtype).name} for a dask block that ran out "
            f"of memory and fell back to {fell.value} (its OOMPolicy's fallback), but its "
            f"dask result was declared {call.dtype} (a sample run's dtype, as "
            "NATIVE_OUTPUT asks); declare a fixed output dtype (e.g. dtype_conversion="
            f"DtypeConversion.FLOAT32), or a fallback that returns {call.dtype}"
        )
        raise ArrayportError(msg)
    if out.dtype != call.dtype:
        msg = (
            f"{call.name} returned {np.dtype(out.dtype).name} for a dask block, but its "
            f"dask result was declared {call.dtype} (from its contract, or a sample run); "
            "declare a fixed output dtype, e.g. dtype_conversion=DtypeConversion.FLOAT32"
        )
        raise ArrayportError(msg)
    return out


def _to_block_type(out: Any, like: Any, call: Call) -> Any:
    if is_container(out):
        msg = (
            f"{call.name} returned a {type(out).__name__} on a dask block: on dask input a "
            "function must return one array (call it once per output, or compute the input "
            "first with .compute())"
        )
        raise ArrayportError(msg)
    if isinstance(out, np.ma.MaskedArray):  # NATIVE_OUTPUT: kept as the function made it
        raise UnsupportedArrayError(
            f"{call.name} returned a masked array on a dask block: {MASKED_ON_DASK}"
        )
    if isinstance(out, np.generic):
        # A numpy scalar counts as the 0-d numpy array it stands for (ADR 0016): numpy's
        # arithmetic on a 0-d block and its reductions return np.float64, not a 0-d array,
        # and a dask block must be an array.
        out = np.asarray(out)
    try:
        mt = detect_memory_type(out)
    except UnsupportedArrayError as exc:
        msg = (
            f"{call.name} returned {type(out).__name__} on a dask block, not an array: on "
            "dask input a function must return an array of its block's shape"
        )
        raise ArrayportError(msg) from exc
    block_mt = detect_memory_type(like)
    backend = get_backend(block_mt)
    if mt is not block_mt or get_backend(mt).device_of(out) != backend.device_of(like):
        out = convert(out, block_mt, device=backend.device_of(like))
    return out
