"""Out-of-memory recovery: :class:`OOMPolicy`.

Mechanism apart from policy: each backend says whether an exception is its framework's
out-of-memory error (``is_oom``) and how to free what the framework caches
(``release_memory``); this module decides what to do about it, once, for every framework:

1. run the function; an error that no backend calls out-of-memory propagates untouched;
2. on out-of-memory, release the framework's cached memory on that device and retry, up to
   ``retries`` times;
3. then, with ``split_axis``, halve the inputs along that axis and run the halves (each with
   the same retries, recursively, down to pieces of ``min_split``), concatenating the
   results in order;
4. then run the whole call on the ``fallback`` memory type and convert the results back to
   where an unfailed run would have put them;
5. then raise :class:`~arrayport.errors.OutOfMemoryError` chained to the last framework error.

Every step is bounded: at most ``retries + 1`` runs per piece, and a split goes at most
``log2(length / min_split)`` levels deep, stopping at the first piece that cannot recover.

The registry that :func:`arrayport.testing.inject_oom` fills lives here (not in
``arrayport.testing``, which imports test-only packages), so that every attempt checks it.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

from arrayport import _split
from arrayport._metrics import metrics
from arrayport.backends import detect_memory_type, get_backend
from arrayport.convert import convert
from arrayport.devices import CPU, Device
from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    InvalidOptionError,
    OutOfMemoryError,
    UnsupportedArrayError,
)
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["OOMPolicy"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class OOMPolicy:
    """What to do when a function runs out of memory.

    Parameters
    ----------
    retries : int
        How many times to run a call (or a piece of a split call) again after an
        out-of-memory error, releasing cached memory before each new attempt.
    release : bool
        Release the framework's cached memory (its memory pool, unreachable buffers) on
        that device after each out-of-memory error.
    split_axis : int or None
        When retries do not help, halve the array arguments along this axis and run the
        halves, down to pieces of ``min_split``, concatenating the results along the same
        axis. Only for functions that treat slices along that axis independently and
        return arrays (or tuples of arrays) with that axis: the concatenated result is then
        identical to an unsplit run. The first array argument that has the axis sets the
        length; array arguments of another length along it (a kernel, say) are passed
        whole to every piece.
    min_split : int
        The smallest piece length along ``split_axis``: a piece is halved only while both
        halves keep at least ``min_split``.
    fallback : MemoryType, str or None
        Where to run the call when everything else failed, e.g. ``"numpy"`` (host memory).
        The array arguments are converted to it (on the CPU where the fallback can live
        there), the same retries and split apply, and the array results are converted back
        to the memory type and device of the original call.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> policy = ap.OOMPolicy(retries=1, split_axis=0)
    >>> policy.run(np.negative, np.arange(3))
    array([ 0, -1, -2])
    """

    retries: int = 2
    release: bool = True
    split_axis: int | None = None
    min_split: int = 1
    fallback: MemoryType | str | None = None
    _active: bool = dataclasses.field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            msg = f"OOMPolicy(retries={self.retries!r}): retries must be an int >= 0"
            raise InvalidOptionError(msg)
        if not isinstance(self.release, bool):
            msg = f"OOMPolicy(release={self.release!r}): release must be True or False"
            raise InvalidOptionError(msg)
        axis = self.split_axis
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
            msg = f"OOMPolicy(split_axis={axis!r}): split_axis must be None or an int axis"
            raise InvalidOptionError(msg)
        ms = self.min_split
        if isinstance(ms, bool) or not isinstance(ms, int) or ms < 1:
            msg = f"OOMPolicy(min_split={ms!r}): min_split must be an int >= 1"
            raise InvalidOptionError(msg)
        if self.fallback is not None:
            try:
                fallback = as_memory_type(self.fallback)
            except InvalidOptionError as exc:
                msg = f"OOMPolicy(fallback={self.fallback!r}): {exc}"
                raise InvalidOptionError(msg) from None
            object.__setattr__(self, "fallback", fallback)

    @classmethod
    def disabled(cls) -> OOMPolicy:
        """A policy that stays out of the way: one run, every error raised as it is.

        The framework's own out-of-memory exception reaches the caller unchanged (not
        mapped to :class:`~arrayport.errors.OutOfMemoryError`); nothing is released,
        retried, split or run elsewhere. :func:`arrayport.testing.inject_oom` still
        applies, so tests see what users would.
        """
        policy = cls(retries=0, release=False)
        object.__setattr__(policy, "_active", False)
        return policy

    def __repr__(self) -> str:
        if not self._active:
            return "OOMPolicy.disabled()"
        fallback = None if self.fallback is None else str(self.fallback)
        return (
            f"OOMPolicy(retries={self.retries}, release={self.release}, "
            f"split_axis={self.split_axis}, min_split={self.min_split}, fallback={fallback!r})"
        )

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call ``fn(*args, **kwargs)`` under this policy.

        The memory type and device come from the first array argument. Each run of ``fn``
        (every attempt, every piece of a split, the fallback run) counts as one dispatched
        call for :func:`arrayport.testing.inject_oom`, whether the call came through the
        :func:`arrayport.memory_type` decorator or straight to ``run``.

        Raises
        ------
        OutOfMemoryError
            When release, retries, split and fallback could not recover; ``__cause__`` is
            the last framework error.
        InvalidOptionError
            When a split was needed but ``fn`` returned something that is not an array or
            a tuple/list of arrays with ``split_axis``.
        Exception
            Any error that is not out-of-memory, untouched, after a single run.
        """
        if _injections:
            site = _find_site(args, kwargs)
            if not self._active:
                _inject(site.memory_type)
                return fn(*args, **kwargs)
            return cast(T, _Execution(self, fn).run(args, kwargs, site, done=0))
        if not self._active:
            return fn(*args, **kwargs)
        # The fast path: one plain call; the policy's machinery is built only on failure.
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # out-of-memory is decided by the backends
            site = _find_site(args, kwargs)
            mt = _oom_memory_type(exc, site.memory_type)
            if mt is None:
                raise
            execution = _Execution(self, fn)
            execution.attempts = 1
            execution.remember(exc, mt, site)
        return cast(T, execution.run(args, kwargs, site, done=1))


# --------------------------------------------------------------------------- injection


class _Injection:
    """One ``inject_oom`` block: raise ``make()`` on the next ``remaining`` attempts."""

    def __init__(self, memory_type: MemoryType, times: int, make: Callable[[], BaseException]):
        self.memory_type = memory_type
        self.remaining = times
        self.raised = 0
        self.make = make


_injection_lock = threading.Lock()
#: Active injections, oldest first. Read without the lock as a cheap "any at all?" test.
_injections: list[_Injection] = []


def _register(injection: _Injection) -> None:
    with _injection_lock:
        _injections.append(injection)


def _unregister(injection: _Injection) -> None:
    with _injection_lock:
        if injection in _injections:
            _injections.remove(injection)


def _inject(memory_type: MemoryType | None) -> None:
    """Raise an injected out-of-memory error if one is pending for ``memory_type``."""
    if memory_type is None:
        return
    with _injection_lock:
        for injection in _injections:
            if injection.memory_type is memory_type and injection.remaining > 0:
                injection.remaining -= 1
                injection.raised += 1
                break
        else:
            return
    raise injection.make()


# ------------------------------------------------------------------------- recognition


@dataclasses.dataclass(frozen=True, slots=True)
class _Site:
    """Where a call runs: the memory type and device of its first array argument."""

    memory_type: MemoryType | None
    device: Device | None


def _find_site(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Site:
    for value in (*args, *kwargs.values()):
        mt = _memory_type_or_none(value)
        if mt is None:
            continue
        try:
            device: Device | None = get_backend(mt).device_of(value)
        except ArrayportError:
            # e.g. a sharded jax array: no single device, so release targets all devices.
            device = None
        return _Site(mt, device)
    return _Site(None, None)


_NOT_ARRAYS = (type(None), bool, int, float, complex, str, bytes)


def _memory_type_or_none(value: object) -> MemoryType | None:
    if isinstance(value, _NOT_ARRAYS):
        return None
    try:
        return detect_memory_type(value)
    except UnsupportedArrayError:
        return None


def _loaded(mt: MemoryType) -> bool:
    try:
        return get_backend(mt).IMPORT_NAME in sys.modules
    except BackendUnavailableError:
        return False


def _oom_memory_type(exc: BaseException, site: MemoryType | None) -> MemoryType | None:
    """The memory type whose backend calls ``exc`` out-of-memory, or None.

    The call's own framework is asked first, then numpy (a ``MemoryError`` from any host
    allocation), then the other frameworks already imported (a function declared on one
    framework may use another inside). Frameworks not yet imported cannot have raised.
    """
    if isinstance(exc, OutOfMemoryError):  # arrayport's own (nested call, buffer limits)
        try:
            return as_memory_type(exc.memory_type)
        except InvalidOptionError:
            return site or MemoryType.NUMPY
    first = [MemoryType.NUMPY] if site in (None, MemoryType.NUMPY) else [site, MemoryType.NUMPY]
    for mt in (*first, *(m for m in MemoryType if m not in first)):
        if mt is not MemoryType.NUMPY and not _loaded(mt):
            continue
        try:
            if get_backend(mt).is_oom(exc):
                return mt
        except BackendUnavailableError:  # imported but unusable here (cupy without a GPU)
            continue
    return None


_EXACT = re.compile(r"allocat(?:e|ing)\s+([\d,]+)\s*bytes", re.IGNORECASE)
_UNITS = re.compile(r"allocate\s+(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB|TiB)\b", re.IGNORECASE)
_TENSOR = re.compile(r"shape\s*\[([\d,\s]*)\]\s+and type (\w+)")
_UNIT_BYTES = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
# Element sizes of the type names in "OOM when allocating tensor with shape[...] and type T".
_TYPE_BYTES = {
    "bool": 1,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "uint16": 2,
    "half": 2,
    "bfloat16": 2,
    "int32": 4,
    "uint32": 4,
    "float": 4,
    "int64": 8,
    "uint64": 8,
    "double": 8,
    "complex64": 8,
    "complex128": 16,
}


def _requested_bytes(exc: BaseException) -> int | None:
    """The allocation size an out-of-memory error reports, when it reports one.

    Exact from numpy's error object and from messages giving a byte count; from a message
    giving "2.00 GiB" it is as precise as the message (three significant digits).
    """
    total = getattr(exc, "_total_size", None)
    if isinstance(total, int):
        return total
    text = str(exc)
    found = _EXACT.search(text)
    if found:
        return int(found.group(1).replace(",", ""))
    found = _UNITS.search(text)
    if found:
        return round(float(found.group(1)) * _UNIT_BYTES[found.group(2).lower()])
    found = _TENSOR.search(text)
    if found and found.group(2) in _TYPE_BYTES:
        n = _TYPE_BYTES[found.group(2)]
        for dim in found.group(1).split(","):
            n *= int(dim) if dim.strip() else 1
        return n
    return None


def _drop_frames(exc: BaseException) -> None:
    """Clear the local variables of the frames an error's traceback keeps alive.

    A traceback holds the frames of ``fn``, and so every intermediate array ``fn`` had
    made: kept, they would block the very release we are about to do. The traceback stays
    printable (file and line are kept); only the locals go.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


# --------------------------------------------------------------------------- execution


_FAILED: Any = object()  # a sentinel result: the piece ran out of memory


class _Exhausted(Exception):
    """Raised inside the policy when a piece ran out of memory on every attempt."""


class _Execution:
    """One call of :meth:`OOMPolicy.run`: its counters and the last out-of-memory error."""

    def __init__(self, policy: OOMPolicy, fn: Callable[..., Any]) -> None:
        self.policy = policy
        self.fn = fn
        self.attempts = 0
        self.oom_errors = 0
        self.last: BaseException | None = None
        self.last_type: MemoryType | None = None
        self.last_device: Device | None = None
        self.split_used = False
        self.notes: list[str] = []

    # The entry point: steps 1-5 of the module docstring. Recovery runs outside the
    # ``except`` blocks, so that errors raised during it carry no internal context.
    def run(self, args: tuple[Any, ...], kwargs: dict[str, Any], site: _Site, done: int) -> Any:
        """``done``: attempts of the whole call already made (and failed) by the caller."""
        try:
            result = self.piece(args, kwargs, site, self.policy, done)
        except _Exhausted:
            result = _FAILED
        if result is not _FAILED:
            if self.oom_errors:
                self.record(site, "split" if self.split_used else "release")
            return result
        if self.policy.fallback is None:
            self.fail(site)
        result = self.on_fallback(args, kwargs, site)
        self.record(site, "fallback")
        return result

    def piece(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        site: _Site,
        policy: OOMPolicy,
        done: int = 0,
    ) -> Any:
        """Run one piece with retries; split it if that is allowed and needed."""
        try:
            return self.attempt(args, kwargs, site, policy, done)
        except _Exhausted:
            if policy.split_axis is None:
                raise
        halves = _split.halve(args, kwargs, policy.split_axis, policy.min_split)
        if halves is None:
            self.notes.append(
                f"could not split further along axis {policy.split_axis} "
                f"(min_split={policy.min_split})"
            )
            raise _Exhausted
        self.split_used = True
        parts = [self.piece(a, k, site, policy) for a, k in halves]
        return self.concat(parts, policy.split_axis, site)

    def attempt(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        site: _Site,
        policy: OOMPolicy,
        done: int = 0,
    ) -> Any:
        """Up to ``retries + 1`` runs of ``fn`` (the first ``done`` already made), releasing
        memory after each out-of-memory error."""
        for attempt in range(policy.retries + 1):
            if attempt >= done:
                self.attempts += 1
                try:
                    if _injections:
                        _inject(site.memory_type)
                    return self.fn(*args, **kwargs)
                except Exception as exc:  # out-of-memory is decided by the backends below
                    mt = _oom_memory_type(exc, site.memory_type)
                    if mt is None:
                        raise
                    self.remember(exc, mt, site)
            # Outside the except block, so that the error's frames are already gone. No
            # release when nothing follows: it costs a full garbage collection.
            follows = attempt < policy.retries or policy.split_axis is not None
            if policy.release and (follows or policy.fallback is not None):
                _release(self.last_type, self.last_device, escalate=attempt > 0)
        raise _Exhausted

    def remember(self, exc: BaseException, mt: MemoryType, site: _Site) -> None:
        _drop_frames(exc)
        self.oom_errors += 1
        self.last = exc
        self.last_type = mt
        if isinstance(exc, OutOfMemoryError) and exc.device is not None:
            self.last_device = exc.device
        else:
            self.last_device = site.device if mt is site.memory_type else None

    def concat(self, parts: list[Any], axis: int, site: _Site) -> Any:
        try:
            return _split.concat(parts, axis)
        except _split.NotSplittable as exc:
            msg = (
                f"OOMPolicy(split_axis={axis}) split the call of {_name(self.fn)} after "
                f"running out of memory, but cannot join the pieces' results: {exc}. Split "
                "needs a function that returns arrays (or a tuple/list of arrays) having that "
                "axis; use split_axis=None for this function"
            )
            raise InvalidOptionError(msg) from self.last
        except Exception as exc:  # joining can itself run out of memory
            mt = _oom_memory_type(exc, site.memory_type)
            if mt is None:
                raise
            self.remember(exc, mt, site)
            self.notes.append("joining the split results ran out of memory")
            raise _Exhausted from None

    def on_fallback(self, args: tuple[Any, ...], kwargs: dict[str, Any], site: _Site) -> Any:
        target = as_memory_type(self.policy.fallback)  # type: ignore[arg-type]
        device = None if target is MemoryType.PYCLESPERANTO else CPU
        converted = True
        try:
            f_args = tuple(_convert_array(a, target, device) for a in args)
            f_kwargs = {k: _convert_array(v, target, device) for k, v in kwargs.items()}
        except Exception as exc:  # converting can run out of memory, or be refused
            mt = _oom_memory_type(exc, target)
            if mt is not None:
                self.remember(exc, mt, _Site(target, device))
            elif isinstance(exc, ArrayportError):
                self.notes.append(f"the fallback to {target.value} failed: {exc}")
            else:
                raise
            converted = False
        if not converted:
            self.fail(site)
        f_site = _find_site(f_args, f_kwargs)
        if f_site.memory_type is None:
            f_site = _Site(target, device)
        policy = dataclasses.replace(self.policy, fallback=None)
        try:
            result = self.piece(f_args, f_kwargs, f_site, policy)
        except _Exhausted:
            result = _FAILED
        if result is _FAILED:
            self.notes.append(f"the fallback to {target.value} ran out of memory too")
            self.fail(site)
        if site.memory_type is None:
            return result
        return _split.map_arrays(
            result,
            lambda r: _convert_back(r, site.memory_type, site.device),  # type: ignore[arg-type]
        )

    def record(self, site: _Site, outcome: str) -> None:
        if metrics.enabled:
            mt = site.memory_type or self.last_type or MemoryType.NUMPY
            metrics.record_oom(mt.value, outcome, errors=self.oom_errors)

    def fail(self, site: _Site) -> NoReturn:
        """Raise OutOfMemoryError chained to the last framework error (never returns)."""
        self.record(site, "raised")
        mt = self.last_type or site.memory_type
        device = self.last_device if self.last is not None else site.device
        requested = None if self.last is None else _requested_bytes(self.last)
        if isinstance(self.last, OutOfMemoryError) and self.last.requested_bytes is not None:
            requested = self.last.requested_bytes
        where = "" if device is None else f" on {device}"
        size = "" if requested is None else f" (it asked for {_format_bytes(requested)})"
        steps = [f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"]
        if self.policy.release:
            steps.append("releasing cached memory after each")
        if self.split_used:
            steps.append(f"splitting along axis {self.policy.split_axis}")
        steps += self.notes
        remedies = []
        if self.policy.split_axis is None:
            remedies.append("OOMPolicy(split_axis=...) if the function works slice by slice")
        if self.policy.fallback is None:
            remedies.append("OOMPolicy(fallback='numpy') to run on the host")
        remedies.append("smaller inputs, or freeing memory held elsewhere")
        name = "an unknown framework" if mt is None else mt.value
        msg = (
            f"{name} ran out of memory{where} in {_name(self.fn)}{size}; gave up after "
            f"{', '.join(steps)}. Try {'; '.join(remedies)}"
        )
        raise OutOfMemoryError(
            msg, memory_type=mt, device=device, attempts=self.attempts, requested_bytes=requested
        ) from self.last


def _release(mt: MemoryType | None, device: Device | None, *, escalate: bool) -> None:
    """Release ``mt``'s cached memory on ``device``; on a repeated failure on a GPU, also
    every other imported framework's cache on that GPU (their pools block this one)."""
    if mt is None:
        return
    get_backend(mt).release_memory(device)
    if not escalate or device is None or device.kind != "cuda":
        return
    for other in MemoryType:
        if other is not mt and other is not MemoryType.NUMPY and _loaded(other):
            try:
                get_backend(other).release_memory(device)
            except BackendUnavailableError:  # imported but without a usable GPU here
                continue


def _convert_array(value: Any, target: MemoryType, device: Device | None) -> Any:
    if _memory_type_or_none(value) is None:
        return value
    return convert(value, target, device=device)


def _convert_back(value: Any, mt: MemoryType, device: Device | None) -> Any:
    return convert(value, mt, device=device)


def _name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def _format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover  (the loop always returns)
