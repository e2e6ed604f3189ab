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

Which list holds per-slice results is told by its mark: the sliced call returns them as
:class:`arrayport._split.Rows` (the mark its OOM split joins by), taken off here once
they are placed, so that a call that ran once (a stack inside a list argument) is never
mistaken for a sliced one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrayport._arguments import rebuild
from arrayport._split import Rows, unmarked
from arrayport._stack_host import refuse_declared

__all__ = ["place_rows", "place_sliced"]


def place_sliced(result: Any, output: Any, put: Callable[[Any], Any]) -> Any:
    """A ``slice_by_slice`` call's ``result`` before it is placed, its per-slice lists
    unmarked: with ``output="declared"``, a stack kept on the host refused
    (:func:`arrayport._stack_host.refuse_declared`); else :func:`place_rows`."""
    if output == "declared":
        refuse_declared(result)
    elif isinstance(result, (list, tuple)):
        result = place_rows(result, put)
    return unmarked(result)


def place_rows(result: Any, put: Callable[[Any], Any]) -> Any:
    """``result`` (a sliced call's tuple or list result) with each per-slice result placed
    by ``put`` (:func:`arrayport._placement.place` with the call's output): as a whole
    result where ``result`` itself is one per slice, as an item of one (its arrays placed,
    containers left) inside a tuple result."""
    if isinstance(result, Rows):
        return [put(row) for row in result]
    if not any(isinstance(v, Rows) for v in result):
        return result
    items = [[put([row])[0] for row in v] if isinstance(v, Rows) else v for v in result]
    return rebuild(result, items)
