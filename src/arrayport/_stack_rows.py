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

import numpy as np

from arrayport._arguments import is_tuple, kind_of, rebuild
from arrayport._exchange import holds_numbers
from arrayport._split import Rows, unmarked
from arrayport._stack_host import refuse_declared
from arrayport.errors import DtypeConversionError
from arrayport.memory_types import MemoryType

__all__ = ["place_rows", "place_sliced"]

_Fn = Callable[[Any], Any]


def place_sliced(
    result: Any, output: Any, put: _Fn, policy: _Fn | None = None, *, stretch: bool = False
) -> Any:
    """A ``slice_by_slice`` call's ``result`` before it is placed, its per-slice lists
    unmarked: with ``output="declared"``, a stack kept on the host refused
    (:func:`arrayport._stack_host.refuse_declared`); else :func:`place_rows`."""
    if output == "declared":
        refuse_declared(result)
    elif isinstance(result, (list, tuple)):
        result = place_rows(result, put, policy, stretch=stretch)
    return unmarked(result)


def place_rows(result: Any, put: _Fn, policy: _Fn | None = None, *, stretch: bool = False) -> Any:
    """``result`` (a sliced call's tuple or list result) with each per-slice result placed
    by ``put`` (:func:`arrayport._placement.place` with the call's output): as a whole
    result where ``result`` itself is one per slice, as an item of one (its arrays placed,
    containers left) inside a tuple result. ``policy``: the call's dtype policy
    (:func:`arrayport._placement.convert_dtype`; None for ``NATIVE_OUTPUT``), given to
    each per-slice result of the primary output (the result, or the first item of a tuple
    result) before it is placed, as to an unsliced call's result; ``stretch``: the policy
    is ``Scaling.MINMAX``, refused for per-slice results (:func:`_refuse_stretch`)."""
    if isinstance(result, Rows):
        if policy is None:
            return [put(row) for row in result]
        if stretch:
            _refuse_stretch([row[0] if is_tuple(row) and row else row for row in result])
        return [put(policy(row)) for row in result]
    if not any(isinstance(v, Rows) for v in result):
        return result
    items = []
    for place, v in enumerate(result):
        if isinstance(v, Rows):
            if policy is not None and place == 0 and is_tuple(result):
                if stretch:
                    _refuse_stretch(v)
                v = [policy((row,))[0] for row in v]  # as the first item of a tuple
            v = [put([row])[0] for row in v]
        items.append(v)
    return rebuild(result, items)


def _refuse_stretch(primaries: list[Any]) -> None:
    """Raise :class:`DtypeConversionError` if any per-slice primary output is an array
    (a numpy scalar of a number too) that ``Scaling.MINMAX`` would stretch: a restacked
    stack is stretched by one range, its slices' together; results that could not be
    restacked would each be stretched by their own, on scales that differ from slice to
    slice and from the restacked call's, depending on the data."""
    for i, v in enumerate(primaries):
        if isinstance(kind_of(v), MemoryType) or (
            isinstance(v, np.generic) and holds_numbers(v.dtype)
        ):
            msg = (
                "Scaling.MINMAX stretches a slice_by_slice call's result by the range of "
                "all its slices, which needs one stack of them; these per-slice results "
                f"could not be restacked (arrays beside None, crops of other shapes; slice "
                f"{i} gave {type(v).__name__}), and stretching each slice by its own range "
                "would put the slices on different scales: declare scaling=Scaling.VALUE "
                "or Scaling.UNIT, or dtype_conversion=DtypeConversion.NATIVE_OUTPUT and "
                "stretch the results yourself (arrayport.convert_dtype)"
            )
            raise DtypeConversionError(msg)
