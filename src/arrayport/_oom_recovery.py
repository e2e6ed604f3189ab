"""What :class:`~arrayport.OOMPolicy` does after an out-of-memory error: release and retry,
split, fall back, and in the end raise :class:`~arrayport.errors.OutOfMemoryError`.

:meth:`OOMPolicy.run <arrayport.OOMPolicy.run>` calls the function once by itself; only
when that fails with out-of-memory (or an injection is active) does it build an
:class:`Execution`, which runs steps 2-5 of :mod:`arrayport.oom`'s docstring and keeps the
call's counters and its last out-of-memory error (``docs/decisions/0021-oom-policy-steps.md``).
What it says when it cannot recover is in :mod:`arrayport._oom_messages`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from arrayport import _split
from arrayport._arguments import array_type, arrays, is_container, is_tuple, map_arrays, rebuild
from arrayport._metrics import metrics
from arrayport._oom_injection import inject, injections
from arrayport._oom_messages import gave_up, name, piece_note, unjoinable
from arrayport._oom_recognition import Site, find_site, oom_memory_type, settled
from arrayport._oom_release import drop_frames, release
from arrayport._results import bool_reference, each_array, keeps_widened_bool, moved, returned
from arrayport.convert import convert
from arrayport.devices import CPU, Device
from arrayport.errors import ArrayportError, InvalidOptionError, OutOfMemoryError, add_note
from arrayport.memory_types import MemoryType, as_memory_type

if TYPE_CHECKING:
    from arrayport.oom import OOMPolicy

__all__ = ["JOIN", "Execution"]

#: The attribute by which a function tells the policy how its split pieces' results join
#: (``join(parts, axis, lengths, inputs)``, ``inputs`` the call's arrays), in place of
#: :func:`_split.concat`: a ``slice_by_slice`` call's (:func:`arrayport._slicing.sliced`),
#: whose results have one row per slice by construction and are restacked once for the
#: whole call.
JOIN = "_arrayport_join"


_FAILED: Any = object()  # a sentinel result: the piece ran out of memory


def _primaries(result: Any) -> tuple[Any, ...]:
    """The primary output of ``result`` (itself, or a tuple's first item), or of each
    slice where it is a sliced call's per-slice list (:class:`_split.Rows`)."""
    primary = result[0] if is_tuple(result) and result else result
    if isinstance(primary, _split.Rows):
        return tuple(row[0] if is_tuple(row) and row else row for row in primary)
    return (primary,)


class _Exhausted(Exception):
    """Raised inside the policy when a piece ran out of memory on every attempt."""


class Execution:
    """One call of :meth:`OOMPolicy.run`: its counters and the last out-of-memory error."""

    def __init__(
        self,
        policy: OOMPolicy,
        fn: Callable[..., Any],
        attempts: int = 0,
        *,
        user_fn: Callable[..., Any] | None = None,
        result_site: Site | None = None,
    ) -> None:
        """``fn`` is what each attempt runs; ``user_fn`` (default ``fn``) the function
        itself, which the fallback runs and messages name. They differ for a dispatched
        call whose argument conversion ran out of memory: then ``fn`` converts the (piece
        of the) arguments and runs ``user_fn``. ``result_site``: where a fallback's result
        goes (default: the call's site, where an unfailed run's result would be)."""
        self.policy = policy
        self.fn = fn
        self.user_fn = fn if user_fn is None else user_fn
        self.result_site = result_site
        self.attempts = attempts
        self.oom_errors = 0
        self.last: BaseException | None = None
        self.last_type: MemoryType | None = None
        self.last_device: Device | None = None
        self.split_used = False
        self.rows: set[int] = set()  # the lengths of the split pieces that ran
        self.notes: list[str] = []
        self.refused = False  # unjoinable() raised (a flag: the error would be a cycle)
        self.unchecked = False  # checked() refused pieces that all had one length
        self.recorded = False  # the episode is counted in the metrics
        self.join: Callable[..., Any] | None = getattr(self.user_fn, JOIN, None)  # see JOIN
        self.inputs: tuple[Any, ...] = ()  # the call's arrays, for a JOIN of its own
        self.bool_input = False  # the fallback's: its first array argument is bool

    def run(self, args: tuple[Any, ...], kwargs: dict[str, Any], site: Site, done: int) -> Any:
        """Steps 1-5 of arrayport.oom's docstring; ``done``: attempts already made (and
        failed) by the caller. An episode that ends in another error (the split's refusal,
        an error that is not out-of-memory on a later attempt, a piece or the fallback)
        is counted too, as ``"error"``."""
        try:
            return self.steps(args, kwargs, site, done)
        except Exception:
            if self.oom_errors and not self.recorded:
                self.record(site, "error")
            self.last = None  # see fail()
            raise

    def steps(self, args: tuple[Any, ...], kwargs: dict[str, Any], site: Site, done: int) -> Any:
        """:meth:`run`'s steps, outside ``except`` blocks (no internal context on errors)."""
        if self.join is not None:
            self.inputs = tuple(a for a, _ in arrays(args, kwargs))
        try:
            result = self.piece(args, kwargs, site, self.policy, done)
            self.checked()
        except _Exhausted:
            result = _FAILED
        if result is not _FAILED:
            if self.oom_errors:
                retried = "release" if self.policy.release else "retry"
                self.record(site, "split" if self.split_used else retried)
            self.last = None  # see fail()
            return result
        if self.policy.fallback is None:
            self.fail(site)
        result = self.on_fallback(args, kwargs, site)
        self.record(site, "fallback")
        self.last = None  # see fail()
        return result

    def piece(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        site: Site,
        policy: OOMPolicy,
        done: int = 0,
        which: _split.Cut | None = None,
        rows: int | None = None,
    ) -> Any:
        """Run one piece with retries; split it if that is allowed and needed (``which``:
        the positions of the arrays an earlier split halved, see :func:`_split.halve`;
        ``rows``: a split piece's length along the split axis)."""
        try:
            result = self.attempt(args, kwargs, site, policy, done)
        except _Exhausted:
            if policy.split_axis is None:
                raise
        except Exception as exc:  # the function's own error, on a piece it was not given
            if rows is not None:
                whole = [
                    v for i, (v, _) in enumerate(arrays(args, kwargs)) if i not in (which or ())
                ]
                note = piece_note(self.user_fn, rows, policy.split_axis, whole, which)
                add_note(exc, note)
            raise
        else:
            if rows is not None:
                self.rows.add(rows)
            return result
        axis = policy.split_axis
        try:
            halves, which = _split.halve(args, kwargs, axis, policy.min_split, which)
        except _split.NotSplittable as exc:
            self.note(str(exc))
            raise _Exhausted from None
        except Exception as exc:  # cutting allocates (jax, tensorflow, pyclesperanto slices)
            if self.absorbed(exc, site):
                self.note("cutting the inputs into pieces ran out of memory")
            else:  # an input that cannot be sliced (a sparse or nested torch tensor)
                why = str(exc).strip().partition("\n")[0]
                why = why if len(why) <= 120 else why[:117] + "..."
                self.note(f"the inputs could not be cut along axis {axis} ({why})")
            raise _Exhausted from None
        self.split_used = True
        lengths = _split.piece_lengths(halves, axis, which)
        parts = []
        for (a, k), length in zip(halves, lengths, strict=True):
            part = self.piece(a, k, site, policy, which=which, rows=length)
            # A result that cannot be joined is refused before the next piece runs
            # (ADR 0062). Each piece's result goes where the call's result goes before the
            # next piece runs, so that the memory that ran out holds one at a time, not all.
            self.joinable(part, axis, length, which)
            parts.append(self.placed(part, site))
        return self.concat(parts, axis, lengths, site)

    def note(self, text: str) -> None:
        """Add ``text`` to what the final error says was tried, once."""
        if text not in self.notes:
            self.notes.append(text)

    def checked(self) -> None:
        """Raise :class:`_Exhausted` when every split piece that ran had the same length:
        the check of their results (:func:`_split.check`) could not then tell a result of
        that length whatever the input (a reduction keeping the axis gives one row, as a
        piece of one row does) from a row-by-row one (ADR 0062's amendment). Not for a
        function with its own join (:data:`JOIN`: slice by slice, one row per slice)."""
        if len(self.rows) != 1 or self.join is not None:
            return
        (rows,) = self.rows
        self.unchecked = True
        self.note(
            f"the pieces that fitted all had {rows} row{'s' if rows != 1 else ''} along axis "
            f"{self.policy.split_axis}, so whether the function maps that axis row by row "
            f"(or reduces it to {rows} row{'s' if rows != 1 else ''}) could not be checked: "
            "their results were not joined"
        )
        raise _Exhausted

    def attempt(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        site: Site,
        policy: OOMPolicy,
        done: int = 0,
    ) -> Any:
        """Up to ``retries + 1`` runs of ``fn`` (the first ``done`` already made), releasing
        memory after each out-of-memory error."""
        for attempt in range(policy.retries + 1):
            if attempt >= done:
                self.attempts += 1
                try:
                    if injections:
                        inject(site.memory_type, site.device)
                    return settled(self.fn(*args, **kwargs))
                except Exception as exc:  # out-of-memory is decided by the backends
                    if not self.absorbed(exc, site):
                        if attempt > 0 and not isinstance(exc, OutOfMemoryError):
                            add_note(
                                exc,
                                f"arrayport: raised when OOMPolicy ran {name(self.user_fn)} "
                                f"again (attempt {attempt + 1}) after it ran out of memory; "
                                "a function that changes its array arguments cannot be run "
                                "again (OOMPolicy(retries=0))",
                            )
                        raise
            if getattr(self.last, "fixed_limit", False):  # a device's maximum buffer size
                self.note("an array exceeds the device's maximum buffer size (no retry lifts it)")
                raise _Exhausted
            # Outside the except block, so that the error's frames are already gone. No
            # release when nothing follows: it costs a full garbage collection.
            follows = attempt < policy.retries or policy.split_axis is not None
            if policy.release and (follows or policy.fallback is not None):
                release(self.last_type, self.last_device, escalate=attempt > 0, note=self.note)
        raise _Exhausted

    def absorbed(self, exc: BaseException, site: Site) -> bool:
        """Whether ``exc`` is out-of-memory; if so it becomes the call's last such error."""
        mt = oom_memory_type(exc, site.memory_type)
        if mt is None:
            return False
        self.remember(exc, mt, site)
        return True

    def remember(self, exc: BaseException, mt: MemoryType, site: Site) -> None:
        drop_frames(exc)
        self.oom_errors += 1
        self.last = exc
        self.last_type = mt
        if isinstance(exc, OutOfMemoryError) and exc.device is not None:
            self.last_device = exc.device
        else:
            self.last_device = site.device if mt is site.memory_type else None

    def placed(self, part: Any, site: Site) -> Any:
        """A piece's result where the call's result goes in the end (a call whose inputs
        ran out of memory on the way: ADR 0055), else as it is. As placement places an
        unfailed run's result: an array, and each array at the top level of a tuple or list
        (arrays deeper in stay where the function made them, as they do unfailed)."""
        to = self.result_site
        if to is None or to.memory_type is None:
            return part
        mt = to.memory_type
        primary = _primaries(part) if self.bool_input else ()

        def move(r: Any) -> Any:  # a fallback's widened bool stays (see on_fallback)
            keep = any(r is p for p in primary)
            return r if array_type(r) is None else moved(r, mt, to.device, keep)

        try:
            return rebuild(part, [move(r) for r in part]) if is_container(part) else move(part)
        except Exception as exc:  # moving a result can itself run out of memory
            if not self.absorbed(exc, site):
                raise
            self.note("moving a piece's result ran out of memory")
            raise _Exhausted from None

    def joinable(self, part: Any, axis: int, length: int, cut: _split.Cut) -> None:
        """Raise :meth:`unjoinable`'s error unless a piece's result can be joined."""
        try:
            _split.check(part, axis, length, cut)
        except _split.NotSplittable as exc:
            self.unjoinable(exc, axis)

    def concat(self, parts: list[Any], axis: int, lengths: list[int], site: Site) -> Any:
        """The pieces' results joined (each already :meth:`placed`), not in the memory that
        ran out where the result goes elsewhere."""
        try:
            if self.join is None:
                return _split.concat(parts, axis, lengths)
            return self.join(parts, axis, lengths, self.inputs)
        except _split.NotSplittable as exc:
            self.unjoinable(exc, axis)
        except Exception as exc:  # joining can itself run out of memory
            if not self.absorbed(exc, site):
                raise
            self.note("joining the split results ran out of memory")
            raise _Exhausted from None

    def unjoinable(self, exc: _split.NotSplittable, axis: int) -> NoReturn:
        """Raise InvalidOptionError: the split pieces' results cannot be joined (``exc``
        says why), chained to the out-of-memory error that led to the split."""
        msg = unjoinable(exc, axis, self.user_fn)
        last, self.last = self.last, None  # see fail()
        self.refused = True
        raise InvalidOptionError(msg) from last

    def on_fallback(self, args: tuple[Any, ...], kwargs: dict[str, Any], site: Site) -> Any:
        target = as_memory_type(self.policy.fallback)  # type: ignore[arg-type]
        device = None if target is MemoryType.PYCLESPERANTO else CPU
        converted = True
        try:
            f_args, f_kwargs = map_arrays(args, kwargs, lambda a: convert(a, target, device=device))
        except Exception as exc:  # converting can run out of memory, or be refused
            mt = oom_memory_type(exc, target)
            if mt is not None:
                self.remember(exc, mt, Site(target, device))
            elif isinstance(exc, ArrayportError):
                self.note(f"the fallback to {target.value} failed: {exc}")
            else:
                raise
            converted = False
        if not converted:
            self.fail(site)
        f_site = find_site(f_args, f_kwargs)
        if f_site.memory_type is None:
            f_site = Site(target, device)
        policy = dataclasses.replace(self.policy, fallback=None)
        self.fn = self.user_fn  # the fallback's arguments are converted already
        self.bool_input = keeps_widened_bool(self.user_fn) and bool_reference(args, kwargs)
        self.rows = set()
        try:
            result = self.piece(f_args, f_kwargs, f_site, policy)
            self.checked()
        except _Exhausted:
            result = _FAILED
        except Exception as exc:  # not out-of-memory: the function's own error, told where
            if isinstance(exc, OutOfMemoryError) or self.refused:
                raise  # a nested call's own (it says where), or the split's refusal
            add_note(
                exc,
                f"arrayport: raised in OOMPolicy's fallback, {name(self.user_fn)} run on "
                f"{target.value} arrays after running out of memory on "
                f"{site.memory_type.value if site.memory_type else 'its inputs'}; a function "
                f"written for one framework's API needs a fallback it runs on (or none)",
            )
            raise
        if result is _FAILED:
            self.note(f"the fallback to {target.value} ran out of memory too")
            self.fail(site)
        to = self.result_site or site
        mt = to.memory_type
        if mt is None:
            return result

        # The input's bool, widened by the fallback (pyclesperanto's uint8), stays there
        # for the dtype policy to read by value (OF_THE_RESULT), in the primary output only.
        primary = _primaries(result) if self.bool_input else ()

        def back(made: Any) -> Any:
            keep = any(made is p for p in primary)
            return returned(made, target, mt, to.device, self.user_fn, keep)

        try:
            return each_array(result, back)
        except Exception as exc:  # the way back can run out of memory too (ADR 0055)
            if not self.absorbed(exc, to):
                raise
        self.note(f"the fallback's result could not be moved back to {mt.value}")
        self.fail(to)

    def record(self, site: Site, outcome: str) -> None:
        self.recorded = True
        if metrics.enabled:
            mt = site.memory_type or self.last_type or MemoryType.NUMPY
            metrics.record_oom(mt.value, outcome, errors=self.oom_errors)

    def fail(self, site: Site) -> NoReturn:
        """Raise OutOfMemoryError chained to the last framework error (never returns)."""
        self.record(site, "raised")
        # The last error's traceback holds its frames, whose f_back chain reaches the
        # policy's own frames and so this Execution: holding the error here too would be a
        # cycle keeping the call's arguments (device memory) alive until a garbage
        # collection. The error is handed on instead (also when run() succeeds). Nor is
        # the new error held in a local: its traceback holds this frame.
        last, self.last = self.last, None
        raise gave_up(self, site, last) from last
