"""The per-slice lists in a ``slice_by_slice`` call's result, placed as the unsliced
results they hold would be (:func:`arrayport._placement.place_with_policy`).

A sliced call restacks its slices' results (:func:`arrayport.stack.restack`); what it
cannot stack (crops of data-dependent sizes, None beside arrays, lists of those) comes
back as a list of one result per slice, the whole result or one item of a tuple result.
Placement moves the arrays at the top level of a result only, so the arrays inside those
per-slice results stayed in the function's memory type, where an unsliced call's result
of the same shape would have been placed. Here each per-slice result is placed as the
unsliced call's result (a per-slice list at the top) or as an item of it (a per-slice list
inside a tuple result) would be.

Which list holds per-slice results is told by its shape: a list of as many values as the
stack has slices, not all of them arrays (the restacked lists of arrays hold only stacks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrayport._arguments import kind_of, rebuild
from arrayport._stack_host import refuse_declared
from arrayport.devices import as_index
from arrayport.memory_types import MemoryType

__all__ = ["place_rows", "place_sliced"]


def place_sliced(result: Any, output: Any, first: Any, put: Callable[[Any], Any]) -> Any:
    """A ``slice_by_slice`` call's ``result`` before it is placed: with
    ``output="declared"``, a stack kept on the host refused
    (:func:`arrayport._stack_host.refuse_declared`); else :func:`place_rows`."""
    if output == "declared":
        refuse_declared(result)
        return result
    if isinstance(result, (list, tuple)):
        return place_rows(result, first, put)
    return result


def place_rows(result: Any, first: Any, put: Callable[[Any], Any]) -> Any:
    """``result`` (a sliced call's tuple or list result; ``first``: the stack) with each
    per-slice result placed by ``put`` (:func:`arrayport._placement.place` with the
    call's output): as a whole result where ``result`` itself is one per slice, as an item
    of one (its arrays placed, containers left) inside a tuple result."""
    shape = getattr(first, "shape", None)
    if shape is None or len(shape) != 3:
        return result  # not sliced: the function ran once
    n = as_index(shape[0])
    if n is None:
        return result
    if _per_slice(result, n):
        return [put(row) for row in result]
    if not any(_per_slice(v, n) for v in result):
        return result
    items = [[put([row])[0] for row in v] if _per_slice(v, n) else v for v in result]
    return rebuild(result, items)


def _per_slice(value: Any, n: int) -> bool:
    """Whether ``value`` is a list of ``n`` slices' results (not all arrays: a list of
    stacks is restacked, and placed as an unsliced list of arrays)."""
    return (
        type(value) is list
        and len(value) == n
        and not all(isinstance(kind_of(v), MemoryType) for v in value)
    )
