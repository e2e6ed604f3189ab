"""The per-slice lists in a ``slice_by_slice`` call's result, placed and given the dtype
policy as the unsliced results they hold would be
(:func:`arrayport._placement.place_with_policy`).

A sliced call restacks its slices' results (:func:`arrayport.stack.restack`); what it
cannot stack (crops of data-dependent sizes, None beside arrays, lists of those) comes
back as a list of one result per slice, the whole result or one item of a tuple result.
Placement moves the arrays at the top level of a result only, and the dtype policy sees
its primary output only, so the arrays inside those per-slice results would stay as the
function made them, where an unsliced call's result of the same shape would have been
placed and converted. Here each per-slice result goes through exactly what an unsliced
call's result (a per-slice list at the top) or an item of it (a per-slice list inside a
tuple result) goes through: placed with the policy (:func:`place_with_policy`: placed
first where its memory type cannot hold the policy's dtype, pyclesperanto's bool
stand-in read by value), then the policy, under every ``output`` (``"declared"``
included, as a manual loop of the unsliced function over the slices gives).

Which list holds per-slice results is told by its mark: the sliced call returns them as
:class:`arrayport._split.Rows` (the mark its OOM split joins by), taken off here once
they are placed, so that a call that ran once (a stack inside a list argument) is never
mistaken for a sliced one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from arrayport._arguments import is_tuple, kind_of, rebuild
from arrayport._exchange import holds_numbers
from arrayport._results import left_here
from arrayport._split import Rows, unmarked
from arrayport._stack_host import refuse_declared
from arrayport.dtypes import DtypeConversion, Scaling
from arrayport.errors import DtypeConversionError
from arrayport.memory_types import MemoryType

if TYPE_CHECKING:
    from arrayport._contract import FunctionContract

__all__ = ["place_rows", "place_sliced"]

_Fn = Callable[[Any], Any]


def place_sliced(
    result: Any,
    contract: FunctionContract,
    first: Any,
    first_kind: MemoryType,
    *,
    moved: bool,
    bool_stand_in: str | None,
) -> Any:
    """A ``slice_by_slice`` call's ``result`` before it is placed as a whole, its
    per-slice lists placed and given the policy (:func:`place_rows`) and unmarked; with
    ``output="declared"``, a stack kept on the host is refused first
    (:func:`arrayport._stack_host.refuse_declared`). The arguments are
    :func:`arrayport._placement.place_with_policy`'s."""
    output, policy, scaling = contract.output, contract.dtype_conversion, contract.scaling
    if output == "declared":
        refuse_declared(result)
    if not isinstance(result, (list, tuple)):
        return result
    # arrayport._placement imports this module: its functions are looked up when needed.
    from arrayport._placement import convert_dtype, place, place_with_policy, taken_back

    native = policy is DtypeConversion.NATIVE_OUTPUT
    # output="declared" with an OOM fallback: a per-slice result the fallback left in its
    # own memory type is taken back (the policy first) as an unsliced result is.
    own = output == "declared" and contract.oom.fallback is not None and contract.oom._active
    left = left_here() if own else None  # its own record only (call_general opens it)

    def whole(value: Any) -> Any:  # as an unsliced call's result: dispatch's steps
        if left is not None and left.items:
            value = taken_back(value, left, contract, first, bool_stand_in)
        placed = place_with_policy(
            value,
            contract,
            first,
            first_kind,
            moved=moved,
            bool_stand_in=bool_stand_in,
            one_slice=True,
        )
        return placed if native else convert_dtype(placed, first, policy, scaling, bool_stand_in)

    def put(value: Any) -> Any:  # as an unsliced call's tuple or list of items: placed
        return place(value, output, first, first_kind, moved=moved)

    return unmarked(place_rows(result, whole, put, stretch=scaling is Scaling.MINMAX))


def place_rows(result: Any, whole: _Fn, put: _Fn, *, stretch: bool = False) -> Any:
    """``result`` (a sliced call's tuple or list result) with each per-slice result given
    what an unsliced call's result of its place would get: ``whole`` (placed, with the
    call's dtype policy) where ``result`` itself is one per slice, and for the first item
    of a tuple result (as the primary output of a tuple); ``put`` (its arrays placed,
    containers left, no policy) as any other item of a tuple or list result. ``stretch``:
    the policy is ``Scaling.MINMAX``, refused for per-slice primary outputs
    (:func:`_refuse_stretch`)."""
    if isinstance(result, Rows):
        if stretch:
            _refuse_stretch([row[0] if is_tuple(row) and row else row for row in result])
        return [whole(row) for row in result]
    if not any(isinstance(v, Rows) for v in result):
        return result
    items = []
    for place, v in enumerate(result):
        if isinstance(v, Rows):
            if place == 0 and is_tuple(result):
                if stretch:
                    _refuse_stretch(v)
                v = [whole((row,))[0] for row in v]  # as the first item of a tuple
            else:
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
