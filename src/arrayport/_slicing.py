"""``slice_by_slice`` dispatch: a 2-D function run on each slice of a 3-D stack.

:func:`sliced` wraps the function so that the OOM policy runs the whole sliced call (a
retry, a split of the stack and a fallback each run every slice of what they get), and
:func:`sliced_policy` keeps the policy's split to the stack's axis 0 of calls that are
sliced (ADR 0016's amendment). The results are restacked by :func:`arrayport.stack.restack`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from arrayport._arguments import arrays, kind_of, rebuild
from arrayport._oom_recovery import JOIN
from arrayport._split import NotSplittable, Rows, concat
from arrayport._stack_host import joined_scalars, kept_join, scalar_slices
from arrayport.backends import detect_memory_type, get_backend
from arrayport.devices import as_index
from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType
from arrayport.oom import OOMPolicy
from arrayport.stack import _plane, restack

__all__ = ["Split", "Unsplit", "join_slices", "run_slices", "sliced", "sliced_policy"]

T = TypeVar("T")


def sliced(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run slice by slice (:func:`run_slices`) on whatever memory type its arguments
    have: what a ``slice_by_slice`` function's OOM policy runs, so that a retry, a split
    (of the 3-D arguments) and a fallback each run every slice of what they are given.
    Results that are not stacked come back one per slice in a :class:`_split.Rows`, which a
    split joins in order; whoever runs it takes the mark off (:func:`_split.unmarked`).
    A split's pieces are joined by :func:`join_slices` (the policy reads it as
    :data:`arrayport._oom_recovery.JOIN`)."""

    @functools.wraps(fn)
    def run_sliced(*args: Any, **kwargs: Any) -> Any:
        first = next(arrays(args, kwargs), None)
        if first is None:
            return fn(*args, **kwargs)
        rows = _ROWS.get()
        if rows is None:
            return run_slices(fn, args, kwargs, first[0])
        # A piece of a split call: its slices numbered within the whole stack in errors.
        n = first[0].shape[0] if len(first[0].shape) == 3 else None
        if n == rows.total:  # the whole stack: the first run, a retry or the fallback
            rows.done = 0
        offset = rows.done
        token = _ROWS.set(None)  # not for calls fn makes itself
        try:
            result = run_slices(fn, args, kwargs, first[0], offset)
        finally:
            _ROWS.reset(token)
        if n is not None and n < rows.total:
            rows.done += n  # the next piece starts where this one ends
        return result

    setattr(run_sliced, JOIN, join_slices)
    return run_sliced


def join_slices(
    parts: list[Any], axis: int, lengths: list[int], inputs: tuple[Any, ...] = ()
) -> Any:
    """The results of a sliced call's split pieces (``lengths`` slices each), joined as
    the unsplit call restacks them. Each piece decided alone whether to stack its slices'
    results (a list per slice: one stack per place where every slice agrees, else one list
    per slice); pieces that decided alike are concatenated, and otherwise every piece is
    cut back into its slices' results and those are restacked once, for all of them, as
    the unsplit call does (crops that agree in one piece and not in another, arrays in one
    piece and None in another). Every joined piece has one row per slice by construction,
    which is why the policy does not refuse pieces that all had one length (ADR 0062)."""
    if not any(_marked(p) for p in parts):
        try:
            return joined_scalars(kept_join(concat(parts, axis, lengths), parts), parts, lengths)
        except NotSplittable:
            pass  # the pieces decided differently (other shapes, dtypes or lengths)
    rows = [row for part, n in zip(parts, lengths, strict=True) for row in _rows(part, n)]
    # The pieces joined run from where the joined piece starts (a piece split again).
    state = _ROWS.get()
    offset = 0 if state is None else max(state.done - len(rows), 0)
    # ``inputs``, the call's arrays: slices of an expanded torch stack returned as they are
    # are not one reused buffer (as in run_slices).
    return restack(rows, None, None, "slice_by_slice", Rows, inputs, offset)


def _marked(value: Any) -> bool:
    """Whether a piece's result holds a :class:`Rows` (one list per slice) anywhere."""
    if isinstance(value, Rows):
        return True
    return isinstance(value, (tuple, list)) and any(_marked(v) for v in value)


def _rows(part: Any, n: int) -> list[Any]:
    """A piece's restacked result as its ``n`` slices' results again: stacks cut into
    their planes, tuples and lists of them rebuilt per slice."""
    if isinstance(part, Rows):
        return list(part)
    if isinstance(part, (tuple, list)):  # restacked place by place
        columns = [_rows(p, n) for p in part]
        return [rebuild(part, [c[i] for c in columns]) for i in range(n)]
    planes = [_plane(part, i) for i in range(n)]
    # A numpy 1-D stack is cut into numpy scalars: what slices that returned numpy scalars
    # gave (kept as they are, unsplit, in a list per slice); the others' 0-d arrays again.
    scalars = scalar_slices(part) or (False,) * n
    return [
        np.asarray(p) if isinstance(p, np.generic) and not s else p
        for p, s in zip(planes, scalars, strict=True)
    ]


@dataclasses.dataclass(frozen=True, slots=True, repr=False, eq=False)
class Unsplit(OOMPolicy):
    """The policy of a ``slice_by_slice`` call that :func:`sliced_policy` does not split
    although its declaration does: ``dropped`` says why, which the out-of-memory error
    says instead of suggesting ``split_axis`` (declared already)."""

    dropped: str = ""


@dataclasses.dataclass(slots=True)
class _Rows:
    """How far a split sliced call got: ``done`` slices of its ``total`` ran in the pieces
    that returned (the next piece's first slice)."""

    total: int
    done: int = 0


# The split sliced call running in this context (None: none, or inside its function).
_ROWS: contextvars.ContextVar[_Rows | None] = contextvars.ContextVar("arrayport_rows", default=None)


@dataclasses.dataclass(frozen=True, slots=True, repr=False, eq=False)
class Split(OOMPolicy):
    """The policy of a ``slice_by_slice`` call that :func:`sliced_policy` splits (along
    the stack's axis 0, of ``rows`` slices): while it runs, each piece knows where its
    slices lie in the stack, so that errors name them as the unsplit call would."""

    rows: int = 0

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        token = _ROWS.set(_Rows(self.rows))
        try:
            return OOMPolicy.run(self, fn, *args, **kwargs)
        finally:
            _ROWS.reset(token)

    def recover_conversion(self, *args: Any, **kwargs: Any) -> Any:
        token = _ROWS.set(_Rows(self.rows))
        try:
            return OOMPolicy.recover_conversion(self, *args, **kwargs)
        finally:
            _ROWS.reset(token)


def _unsplit(policy: OOMPolicy, why: str) -> OOMPolicy:
    return Unsplit(
        retries=policy.retries,
        release=policy.release,
        min_split=policy.min_split,
        fallback=policy.fallback,
        dropped=f"the declared split_axis={policy.split_axis} was not used: {why}",
    )


def sliced_policy(policy: OOMPolicy, args: tuple[Any, ...], kwargs: dict[str, Any]) -> OOMPolicy:
    """The OOM policy of a ``slice_by_slice`` call: its split cuts the stack into fewer
    slices (``split_axis`` 0, as the contract requires), which only a call that is sliced
    has (a top-level 3-D first array argument); any other call is not split, since a
    split would cut the rows of the one slice the function gets (an :class:`Unsplit`
    policy, which says why)."""
    if policy.split_axis is None:
        return policy
    first = next(arrays(args, kwargs), (None, None))[0]
    values = (*args, *kwargs.values())
    once = "so the call is not sliced, and a split would cut the one slice the function gets"
    if first is None:
        return _unsplit(policy, "the call has no array argument")
    if not any(v is first for v in values):
        return _unsplit(policy, f"the stack is inside a list or tuple argument, {once}")
    if len(first.shape) != 3:
        dims = f"{len(first.shape)}-D"
        return _unsplit(policy, f"the first array argument is {dims}, not a 3-D stack, {once}")
    if any(as_index(n) is None for n in first.shape):  # refused by run_slices
        return _unsplit(policy, "the stack's extents are unknown")
    # The split cuts arrays inside list and tuple arguments too, which the slices get
    # whole: a volume there having the stack's length would be cut in a split run and not
    # in an unsplit one (other values), so such a call is not split.
    nested = (v for c in values if isinstance(c, (list, tuple)) for v in c)
    if any(_paired(v, tuple(first.shape)) == "each" for v in nested):
        why = (
            "a list or tuple argument holds an array of the stack's length along axis 0, "
            "which the slices get whole and a split would cut (other values than unsplit)"
        )
        return _unsplit(policy, why)
    # -3 is the stack's axis 0 in the call, but the split's checks apply it to the restacked
    # result too, whose slices may have other than 2 dimensions.
    return Split(
        retries=policy.retries,
        release=policy.release,
        split_axis=0,
        min_split=policy.min_split,
        fallback=policy.fallback,
        rows=cast(int, as_index(first.shape[0])),
    )


def run_slices(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    first: Any,
    offset: int = 0,
) -> Any:
    """``slice_by_slice``: ``fn`` on each slice along axis 0 of ``first`` (the first array
    argument, 3-D), restacked in the memory type ``fn`` returned (where its results are),
    for the dtype policy and the placement of the result to take as they would take an
    unsliced result.

    Every other top-level 3-D array argument that broadcasts against ``first`` is sliced
    with it, as broadcasting pairs them: one of ``first``'s length along axis 0 (a mask, a
    weights volume, per-slice factors of shape ``(n, 1, 1)``) gives slice ``i`` its ``i``-th
    plane, one of length 1 gives every slice its only plane. Anything else is passed whole;
    a ``first`` that is not 3-D, or sits inside a list, runs once. ``offset``: the number
    of the stack's first slice in the whole stack (an OOM split's piece), for errors."""
    shape = tuple(first.shape)
    if len(shape) != 3:
        return fn(*args, **kwargs)
    if any(as_index(n) is None for n in shape):
        # Symbolic tensors (tf.function with unknown dimensions) are refused by name; a dask
        # stack after boolean indexing needs its sizes first.
        get_backend(detect_memory_type(first)).describe(first)
        msg = (
            f"slice_by_slice got a stack of unknown extents {shape} (dask after boolean "
            "indexing, say): call x.compute_chunk_sizes() first"
        )
        raise InvalidOptionError(msg)
    planes = {id(v): which for v in (*args, *kwargs.values()) if (which := _paired(v, shape))}
    if id(first) not in planes:
        return fn(*args, **kwargs)
    if shape[0] == 0:
        msg = (
            f"slice_by_slice got a stack of shape {shape}: no slice to run on (the result's "
            "shape and dtype would be unknown); skip the call for empty stacks"
        )
        raise InvalidOptionError(msg)

    def plane(v: Any, i: int) -> Any:
        which = planes.get(id(v))
        return v if which is None else _plane(v, i if which == "each" else 0)

    results = []
    for i in range(shape[0]):
        a_i = tuple(plane(v, i) for v in args)
        k_i = {k: plane(v, i) for k, v in kwargs.items()}
        results.append(fn(*a_i, **k_i))
    sliced = tuple(v for v in (*args, *kwargs.values()) if id(v) in planes)
    return restack(results, None, None, "slice_by_slice", Rows, sliced, offset)


def _paired(v: Any, shape: tuple[int, ...]) -> str | None:
    """How a top-level argument pairs with a 3-D stack of ``shape``: ``"each"`` (a plane
    per slice), ``"one"`` (its only plane for every slice) or None (passed whole)."""
    if not isinstance(kind_of(v), MemoryType) or len(v.shape) != 3:
        return None
    extents = [as_index(n) for n in v.shape]
    if None in extents:  # unknown extents: passed whole
        return None
    own = tuple(cast(int, n) for n in extents)
    try:
        if np.broadcast_shapes(own, shape) != shape:
            return None
    except ValueError:  # not broadcastable: a 3-D kernel, say
        return None
    return "each" if own[0] == shape[0] else "one"
