"""``slice_by_slice`` dispatch: a 2-D function run on each slice of a 3-D stack.

:func:`sliced` wraps the function so that the OOM policy runs the whole sliced call (a
retry, a split of the stack and a fallback each run every slice of what they get), and
:func:`sliced_policy` keeps the policy's split to the stack's axis 0 of calls that are
sliced (ADR 0016's amendment). The results are restacked by :func:`arrayport.stack.restack`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from arrayport._arguments import arrays, kind_of
from arrayport._split import Rows
from arrayport.backends import detect_memory_type, get_backend
from arrayport.devices import as_index
from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType
from arrayport.oom import OOMPolicy
from arrayport.stack import _plane, restack

__all__ = ["run_slices", "sliced", "sliced_policy"]


def sliced(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run slice by slice (:func:`run_slices`) on whatever memory type its arguments
    have: what a ``slice_by_slice`` function's OOM policy runs, so that a retry, a split
    (of the 3-D arguments) and a fallback each run every slice of what they are given.
    Results that are not stacked come back one per slice in a :class:`_split.Rows`, which a
    split joins in order; whoever runs it takes the mark off (:func:`_split.unmarked`)."""

    @functools.wraps(fn)
    def run_sliced(*args: Any, **kwargs: Any) -> Any:
        first = next(arrays(args, kwargs), None)
        if first is None:
            return fn(*args, **kwargs)
        return run_slices(fn, args, kwargs, first[0])

    return run_sliced


def sliced_policy(policy: OOMPolicy, args: tuple[Any, ...], kwargs: dict[str, Any]) -> OOMPolicy:
    """The OOM policy of a ``slice_by_slice`` call: its split cuts the stack into fewer
    slices (``split_axis`` 0, as the contract requires), which only a call that is sliced
    has (a top-level 3-D first array argument); any other call is not split, since a
    split would cut the rows of the one slice the function gets."""
    if policy.split_axis is None:
        return policy
    first = next(arrays(args, kwargs), (None, None))[0]
    values = (*args, *kwargs.values())
    if first is None or not any(v is first for v in values) or len(first.shape) != 3:
        return dataclasses.replace(policy, split_axis=None)  # not sliced (or in a list)
    if any(as_index(n) is None for n in first.shape):
        return dataclasses.replace(policy, split_axis=None)  # refused by run_slices
    # The split cuts arrays inside list and tuple arguments too, which the slices get
    # whole: a volume there having the stack's length would be cut in a split run and not
    # in an unsplit one (other values), so such a call is not split.
    nested = (v for c in values if isinstance(c, (list, tuple)) for v in c)
    if any(_paired(v, tuple(first.shape)) == "each" for v in nested):
        return dataclasses.replace(policy, split_axis=None)
    # -3 is the stack's axis 0 in the call, but the split's checks apply it to the restacked
    # result too, whose slices may have other than 2 dimensions.
    return dataclasses.replace(policy, split_axis=0) if policy.split_axis != 0 else policy


def run_slices(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], first: Any
) -> Any:
    """``slice_by_slice``: ``fn`` on each slice along axis 0 of ``first`` (the first array
    argument, 3-D), restacked in the memory type ``fn`` returned (where its results are),
    for the dtype policy and the placement of the result to take as they would take an
    unsliced result.

    Every other top-level 3-D array argument that broadcasts against ``first`` is sliced
    with it, as broadcasting pairs them: one of ``first``'s length along axis 0 (a mask, a
    weights volume, per-slice factors of shape ``(n, 1, 1)``) gives slice ``i`` its ``i``-th
    plane, one of length 1 gives every slice its only plane. Anything else is passed whole;
    a ``first`` that is not 3-D, or sits inside a list, runs once."""
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
    return restack(results, None, None, "slice_by_slice", Rows)


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
