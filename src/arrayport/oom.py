"""Out-of-memory recovery: :class:`OOMPolicy`.

Mechanism apart from policy: each backend says whether an exception is its framework's
out-of-memory error (``is_oom``) and how to free what the framework caches
(``release_memory``); this module decides what to do about it, once, for every framework:

1. run the function; an error that no backend calls out-of-memory propagates untouched;
2. on out-of-memory, release the framework's cached memory on that device and retry, up to
   ``retries`` times;
3. then, with ``split_axis``, cut the inputs in two along that axis and run the pieces
   (each with the same retries, recursively, down to pieces of ``min_split``),
   concatenating the results in order;
4. then run the whole call on the ``fallback`` memory type and convert the results back to
   where an unfailed run would have put them;
5. then raise :class:`~arrayport.errors.OutOfMemoryError` chained to the last framework error.

Every step is bounded: at most ``retries + 1`` runs per piece, and a split goes at most
about ``log2(length / min_split)`` levels deep, stopping at the first piece that cannot recover.
Each run's jax results are waited for before the run counts as done: jax computes
asynchronously, and its out-of-memory error surfaces only then (ADR 0059).

Arrays are found as dispatch finds them (:mod:`arrayport._arguments`): top-level arguments,
and one level down inside list and tuple arguments; they set the call's memory type and
device, are split, and are converted for the fallback.

This module holds the policy and its fast path. Recognising errors is in
:mod:`arrayport._oom_recognition`, the recovery steps in :mod:`arrayport._oom_recovery`, and
the registry that :func:`arrayport.testing.inject_oom` fills in
:mod:`arrayport._oom_injection` (its names stay reachable here).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar, cast

import numpy as np

from arrayport import _oom_injection
from arrayport._oom_injection import inject, injections
from arrayport._oom_recognition import Site, find_site, settled
from arrayport._oom_recovery import Execution
from arrayport.devices import as_index
from arrayport.errors import InvalidOptionError, add_note
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["OOMPolicy"]

T = TypeVar("T")
P = ParamSpec("P")

# The injection registry's historical names here (arrayport.testing uses them).
_Injection = _oom_injection.Injection
_register = _oom_injection.register
_unregister = _oom_injection.unregister
_inject = _oom_injection.inject


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
        When retries do not help, cut the array arguments in two along this axis (near
        the middle, into pieces of different lengths where ``min_split`` allows) and run
        the pieces, down to pieces of ``min_split``, concatenating the results along the
        same axis. Only for functions that treat slices along that axis independently and
        return arrays (or tuples of arrays) with that axis: the concatenated result is then
        identical to an unsplit run. Each piece's result must have the piece's own length
        along the axis, and the other pieces' lengths on every other axis, or it is not
        joined (``InvalidOptionError``): a reduction over the axis (or ``x @ x.T``) is
        refused, not concatenated; so are results when every piece that ran had the
        same length (pieces of one row cannot tell a row from a reduction keeping the axis):
        the fallback runs, or ``OutOfMemoryError`` says so. The first array argument
        longer than 1 along the axis sets the shape (in a ``slice_by_slice`` call, the
        stack always); arrays with as many dimensions that broadcast to it with the same
        length along the axis (a ``(n, 1)`` column) are cut with it; arrays without that
        length where broadcasting puts the axis are passed whole to every piece (a kernel,
        a ``(1, m)`` row, a 1-D lookup table beside a 2-D image split along axis 0). Any
        other array with that length there is ambiguous and the call is not split: one of
        another shape, or of fewer dimensions (a ``(256,)`` table beside a ``(k, 256)``
        image split along axis -1; give values per column the shape ``(1, 256)``).
        Array arguments are those the decorator converts: top-level ones and arrays inside
        list and tuple arguments. A ``slice_by_slice`` call's results that are one list
        entry per slice (a number per slice) are joined in order.
        Retries, split and fallback run the function again: for functions that leave their
        array arguments unchanged (``docs/concepts.md``). A recognised out-of-memory
        error's frames are cleared (their locals can hold device memory): debug with
        :meth:`disabled`. Arrays a failed attempt's lambdas, nested functions or (before
        Python 3.12) comprehensions read stay alive until the policy returns: a cleared
        frame keeps its closures, which the attempt may also have stored elsewhere.
    min_split : int
        The smallest piece length along ``split_axis``: a piece is cut only while both
        pieces keep at least ``min_split``. Above 1 it can make the pieces equal (a call of
        ``2 * min_split`` rows), and results of pieces that all had the same length are
        not joined (see ``split_axis``); ``min_split=1`` cuts pieces of different lengths.
    fallback : MemoryType, str or None
        Where to run the call when everything else failed, e.g. ``"numpy"`` (host memory);
        not ``"dask"``, whose lazy results would be computed after the policy has returned.
        The array arguments are converted to it (on the CPU where the fallback can live
        there), the same retries and split apply, and the array results are converted back
        to the memory type and device of the original call, except one that memory type
        would hold in another dtype (bool in pyclesperanto) or cannot hold (float64 in jax
        without 64-bit mode), and, in a dispatched call whose dtype policy reads it, a
        primary output in the dtype the fallback holds bool in where the first array
        argument is bool (pyclesperanto's uint8 of a bool input): it
        stays in the fallback's, for a dispatched call's dtype
        policy to convert as it converts an unfailed run's result, and then, with
        ``output="declared"``, to move to the declared memory type (ADR 0068).

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
        # Integers of any kind (numpy's included) are stored as Python ints; bools are not
        # integers here.
        for name in ("retries", "split_axis", "min_split"):
            index = as_index(getattr(self, name))
            if index is not None:  # else refused below, with its own message
                object.__setattr__(self, name, index)
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
            if fallback is MemoryType.DASK:
                # A dask result is a graph: the computation, where memory runs out, would
                # run after the policy has returned, out of its reach.
                msg = (
                    f"OOMPolicy(fallback={self.fallback!r}): dask cannot be a fallback: its "
                    "results are lazy, so their computation (where memory runs out) would "
                    "run only after the policy has returned, with nothing left to recover "
                    "it; use fallback='numpy' to compute in host memory"
                )
                raise InvalidOptionError(msg)
            object.__setattr__(self, "fallback", fallback)

    @classmethod
    def disabled(cls) -> OOMPolicy:
        """A policy that stays out of the way: one run, every error raised as it is.

        The framework's own out-of-memory exception reaches the caller unchanged (not
        mapped to :class:`~arrayport.errors.OutOfMemoryError`); nothing is released,
        retried, split or run elsewhere. :func:`arrayport.testing.inject_oom` still
        applies, so tests see what users would.
        """
        return _DisabledPolicy()

    def __repr__(self) -> str:
        if not self._active:
            return "OOMPolicy.disabled()"
        fallback = None if self.fallback is None else str(self.fallback)
        return (
            f"OOMPolicy(retries={self.retries}, release={self.release}, "
            f"split_axis={self.split_axis}, min_split={self.min_split}, fallback={fallback!r})"
        )

    def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
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
            a tuple/list of arrays with ``split_axis``, arrays whose length along it is
            not their piece's (a reduction over the split axis, rows dropped or added), or
            arrays whose other axes differ from piece to piece.
        Exception
            Any error that is not out-of-memory, untouched, after a single run.
        """
        if injections:
            if not callable(fn):
                _refuse_uncallable(fn)
            site = find_site(args, kwargs)
            if not self._active:
                inject(site.memory_type, site.device)
                return fn(*args, **kwargs)
            return cast(T, Execution(self, fn).run(args, kwargs, site, done=0))
        # The fast paths: one plain call; a fn that is not callable is told apart only once
        # the call failed (it fails before anything runs), so a good call pays nothing.
        if not self._active:
            try:
                return fn(*args, **kwargs)
            except TypeError:
                if not callable(fn):
                    _refuse_uncallable(fn)
                raise
        # The policy's machinery is built only on failure.
        try:
            return settled(fn(*args, **kwargs))
        except Exception as exc:  # out-of-memory is decided by the backends
            if not callable(fn):
                _refuse_uncallable(fn)
            return cast(T, self.recover(exc, fn, args, kwargs))

    def recover(
        self, exc: Exception, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """What :meth:`run` does once the first plain call of ``fn(*args, **kwargs)``
        raised ``exc``: ``exc`` again when it is not out-of-memory, else the recovery.

        For callers that make that first call themselves (the dispatch fast paths, where a
        method call is a noticeable share of the cost); only while no injection is active
        (see :meth:`run`) and the policy is not disabled.
        """
        if not self._active:
            raise exc
        site = find_site(args, kwargs)
        execution = Execution(self, fn, attempts=1)
        if not execution.absorbed(exc, site):
            hint = _hint(exc, args, kwargs)
            if hint:
                add_note(exc, hint)
            raise exc
        return execution.run(args, kwargs, site, done=1)

    def recover_conversion(
        self,
        exc: Exception,
        call: Callable[..., Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        site: Site,
        result_site: Site,
    ) -> Any:
        """The recovery for a dispatched call whose argument conversion raised ``exc``
        (copying inputs to a device is where memory often runs out): ``exc`` again when it
        is not out-of-memory. Each attempt and each piece of a split runs ``call``, which
        converts its arguments and runs ``fn``; the fallback runs ``fn`` on the fallback
        memory type. ``site``: the declared memory type and device; ``result_site``: where
        the call's result goes in the end (a fallback's result goes straight there: back
        through the memory that ran out would fail again)."""
        if not self._active:
            raise exc
        execution = Execution(self, call, attempts=1, user_fn=fn, result_site=result_site)
        if not execution.absorbed(exc, site):
            raise exc
        return execution.run(args, kwargs, site, done=1)


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class _DisabledPolicy(OOMPolicy):
    """:meth:`OOMPolicy.disabled`'s policy: its own type, so that ``dataclasses.replace``
    and ``copy`` keep it disabled (they rebuild through ``__init__``, which a flag set
    after construction would not survive)."""

    retries: int = 0
    release: bool = False
    _active: bool = dataclasses.field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        OOMPolicy.__post_init__(self)
        options = (self.retries, self.release, self.split_axis, self.min_split, self.fallback)
        if options != (0, False, None, 1, None):
            msg = (
                f"{OOMPolicy(*options)!r} was asked of OOMPolicy.disabled(), which "
                "recovers nothing: build that policy with OOMPolicy(...) instead"
            )
            raise InvalidOptionError(msg)


#: What a function writing into a read-only argument is told (numpy's own message names
#: no cause): arrayport hands immutable and read-only sources over read-only on purpose.
_READ_ONLY = (
    "arrayport: an argument converted from a jax or tensorflow array, or from a read-only "
    "numpy array, is a read-only view of that memory (docs/concepts.md): return a new "
    "array instead of writing into the argument, or pass a writable copy"
)


_TORCH_UNSIGNED = (
    "arrayport: torch keeps uint16, uint32 and uint64 as storage types, with little "
    "arithmetic on them (docs/memory-types/torch.md): cast in the function first "
    "(xp.astype(x, xp.int64)), or declare another memory type"
)


def _hint(exc: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """A note for an error the function raised that arrayport's conversion explains: a write
    into a read-only view it handed over, torch arithmetic on its storage-only unsigned types."""
    if type(exc) is ValueError and "read-only" in str(exc) and _read_only_given(args, kwargs):
        return _READ_ONLY
    if type(exc) is NotImplementedError and any(f"'UInt{n}'" in str(exc) for n in (16, 32, 64)):
        return _TORCH_UNSIGNED
    return None


def _read_only_given(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a top-level argument is a read-only numpy array (what a jax or tensorflow
    array, or a read-only source, becomes for a numpy-declared function)."""
    given = (*args, *kwargs.values())
    return any(isinstance(a, np.ndarray) and not a.flags.writeable for a in given)


def _refuse_uncallable(fn: object) -> NoReturn:
    msg = f"OOMPolicy.run(fn, ...): fn must be callable, not {fn!r} ({type(fn).__name__})"
    raise InvalidOptionError(msg) from None
