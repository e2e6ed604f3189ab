"""Halving array arguments along an axis and joining the pieces' results, for the OOM
policy's split step (:mod:`arrayport._oom_recovery`).

The array arguments are those dispatch converts (:mod:`arrayport._arguments`).

A split is right only for a function that maps the split axis row by row: each piece's
result runs along that axis, with one row per row of the piece of input it was computed
from. arrayport cannot see what a function does, but it checks what that rule implies
before joining (:func:`check`): every array in a piece's result (in a tuple, list or
namedtuple too) must have the axis, with exactly the piece's length along it, at every
level of a recursive split. A result that fails (a reduction over the axis, rows dropped
or added, a scalar) raises :class:`NotSplittable` instead of being joined into wrong values
(``docs/decisions/0062-split-checks-result-extents.md``). Lengths are cut into pieces of
different lengths where they can be (:func:`_cut`), so that a result whose length does not
follow its piece's fails on one of them; when every piece that ran had the same length
anyway (pieces of one row), the policy refuses to join (:mod:`arrayport._oom_recovery`).
The check sees shapes only: a function that keeps the shape but mixes rows (a cumulative
sum along the axis) passes it.

Arrays are joined only where they agree on every other axis (a product of the rows with
each other gives ``(3, 3)`` and ``(5, 5)`` pieces, which no concatenation makes the
unsplit ``(8, 8)``). A list of one value per row (:class:`Rows`: a ``slice_by_slice``
call's results that are not stacked, one per slice) is joined by concatenating the lists.

Joining is written once against the array API (``xp.concat``); a backend without a
namespace gives its own ``concat``, or says it cannot join its arrays (``JOINS_ON_HOST``):
they are then joined on the host and converted back.
"""

from __future__ import annotations

import operator
from typing import Any, cast

import numpy as np

from arrayport import _oom_messages as says
from arrayport._arguments import array_type, arrays, map_arrays, rebuild
from arrayport.backends import get_backend, namespace
from arrayport.convert import convert
from arrayport.dtypes import dtype_name
from arrayport.memory_types import MemoryType

__all__ = [
    "Cut",
    "NotSplittable",
    "Rows",
    "check",
    "concat",
    "halve",
    "piece_lengths",
    "unmarked",
]

_Call = tuple[tuple[Any, ...], dict[str, Any]]


class NotSplittable(Exception):
    """The pieces' results cannot be joined; the message says why."""


class Rows(list[Any]):
    """A list of one value per row along the split axis, whatever the values are (numbers,
    crops of data-dependent sizes): a ``slice_by_slice`` call's results that are not
    stacked, one per slice (:func:`arrayport.stack.restack`). Its length is its piece's by
    construction, and the pieces' lists joined in order are exactly the unsplit call's.
    The mark lives only while the OOM policy runs: :func:`unmarked` takes it off."""


def unmarked(value: Any) -> Any:
    """``value`` with every :class:`Rows` in it (at any depth of tuples and lists) a plain
    list again, as the unsplit call returns it."""
    if isinstance(value, Rows):
        return [unmarked(v) for v in value]
    if isinstance(value, (tuple, list)):
        items = [unmarked(v) for v in value]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return rebuild(value, items)
    return value


def _axis(x: Any, axis: int) -> int | None:
    """``axis`` as a non-negative index into ``x``'s dimensions, or None if it has none."""
    ndim = len(x.shape)
    ax = axis + ndim if axis < 0 else axis
    return ax if 0 <= ax < ndim else None


def _take(x: Any, ax: int, lo: int, hi: int) -> Any:
    return index_array(x, (slice(None),) * ax + (slice(lo, hi),))


def index_array(x: Any, index: tuple[int | slice, ...]) -> Any:
    """``x[index]``, an array of ``x``'s memory type, for arrayport's own slicing (the
    split here, the slice helpers in :mod:`arrayport.stack`). A backend whose own indexing
    is unfit says how to index (``take``): pyclesperanto's runs a float32 kernel (int32
    beyond 2**24 changes) and gives a Python number for one-element results."""
    mt = array_type(x)
    take = None if mt is None else getattr(get_backend(mt), "take", None)
    return x[index] if take is None else take(x, index)


class Cut(frozenset[int]):
    """The positions :func:`halve` halves, with the shapes the call gave them (``shapes``)
    and, where an array passed whole may be the one meant to be cut, where the length came
    from (``origin``): for the messages on the split's pieces (:func:`check`,
    :func:`~arrayport._oom_messages.piece_note`)."""

    shapes: tuple[tuple[Any, ...], ...] = ()
    origin: str = ""


def halve(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    axis: int,
    min_split: int,
    which: Cut | None = None,
) -> tuple[list[_Call], Cut]:
    """The call split into two halves along ``axis`` and the positions of the arrays it
    halved; :class:`NotSplittable` says why it cannot be split.

    The first array argument longer than 1 along ``axis`` sets the shape (:func:`_first`).
    An array argument is cut (at :func:`_cut`) when it has as many dimensions and
    broadcasts to that shape with the same length along the axis (a ``(n, 1)`` column
    beside a ``(n, m)`` image); arrays without that length where broadcasting puts the
    axis are passed whole (a kernel, a ``(1, m)`` row, a ``(n,)`` table beside a 2-D
    image split along axis 0); any other with that length stops the split (:func:`_halved`).
    A piece is split again by passing the positions returned (``which``, in
    :func:`~arrayport._arguments.arrays`' order): only those arrays are halved, the first
    setting the length, never an argument passed whole. Not splittable either when a half
    would be shorter than ``min_split``.
    """
    found = list(arrays(args, kwargs))
    first = which is None
    which = _halved(found, _first(found, axis), axis) if which is None else which
    head = min(which)
    n = _length(found[head][0], axis)
    if n is None or n < 2 * min_split:
        where = f"array argument {head + 1}, of shape {tuple(found[head][0].shape)}, has {n}"
        said = f"{where} there" if first else which.origin
        msg = f"could not split{'' if first else ' further'} along axis {axis}"
        raise NotSplittable(f"{msg} (min_split={min_split}{'; ' + said if said else ''})")
    cut = _cut(n, min_split)
    ax = cast(int, _axis(found[head][0], axis))  # every array halved has its dimensions

    def halves(lo: int, hi: int) -> _Call:
        position = -1

        def piece(value: Any) -> Any:
            nonlocal position
            position += 1
            return _take(value, ax, lo, hi) if position in which else value

        return map_arrays(args, kwargs, piece)

    return [halves(0, cut), halves(cut, n)], which


def _cut(n: int, min_split: int) -> int:
    """Where a length ``n`` is cut: near the middle, into pieces of different lengths where
    ``min_split`` allows (``n // 2 - 1`` when ``n`` is even). A result whose length along
    the axis does not follow its piece's (a reduction over the axis, a row of a fixed
    length) then fails :func:`check` on one piece at least, where equal halves could both
    pass (``x.sum(0)`` of a ``(4, 2)`` array: halves of 2 rows, results of 2 columns).

    Equal halves where the uneven cut's longer piece could not be cut again (shorter than
    ``2 * min_split``) yet is longer than the halves' own such pieces: 10 rows with
    ``min_split=4`` are cut into 5 and 5, both of which may fit where 6 does not. The
    shorter piece does not count: where a half fits, it fits too (8 rows with
    ``min_split=2`` are cut into 3 and 5; equal halves of 4, cut into 2 and 2, gave pieces
    of one length only, whose results are never joined)."""
    half = n // 2
    if n % 2 or half - 1 < min_split:
        return half
    uneven = half - 1
    if _stuck(n - uneven, min_split) > _stuck(half, min_split):
        return half
    return uneven


def _stuck(rows: int, min_split: int) -> int:
    """``rows`` if a piece of that length cannot be cut again although longer than the
    shortest piece there may be (``min_split``), else 0."""
    return rows if min_split < rows < 2 * min_split else 0


def _first(found: list[tuple[Any, Any]], axis: int) -> int:
    """The position of the array that sets a split's shape: the first array argument
    longer than 1 along ``axis`` (or of unknown length there). One of length 1 there (a
    ``(1, m)`` bias before the image) is passed whole where it broadcasts to that shape;
    otherwise, and in a ``slice_by_slice`` call (its stack comes first), not split."""
    from arrayport._slicing import _ROWS  # here: arrayport._slicing imports this module

    having = [i for i, (value, _) in enumerate(found) if _axis(value, axis) is not None]
    if not having:
        msg = f"could not split: no array argument has axis {axis} (OOMPolicy's split_axis)"
        raise NotSplittable(msg)
    longer = [i for i in having if _length(found[i][0], axis) not in (0, 1)]
    if not longer:
        msg = f"could not split: no array argument is longer than 1 along axis {axis}"
        raise NotSplittable(msg)
    head = longer[0]
    shape = tuple(found[head][0].shape)
    sliced = _ROWS.get() is not None  # a slice_by_slice call's split is running
    for i in having[: having.index(head)]:
        other = tuple(found[i][0].shape)
        if sliced or not _broadcasts(other, shape):
            raise NotSplittable(says.not_first(i, other, head, shape, axis, sliced))
    return head


def _broadcasts(other: tuple[Any, ...], shape: tuple[Any, ...]) -> bool:
    """Whether ``other`` broadcasts to ``shape`` (right-aligned, each dimension 1 or equal)."""
    tail = shape[len(shape) - len(other) :]
    return len(other) <= len(shape) and all(o in (1, f) for o, f in zip(other, tail, strict=True))


def _halved(found: list[tuple[Any, Any]], head: int, axis: int) -> Cut:
    """The positions :func:`halve` cuts, the array ``found[head]`` setting the shape.
    :class:`NotSplittable` for an array with the same length where broadcasting puts the
    axis but another shape or fewer dimensions (ADR 0067): a ``(n, 3)`` colour table
    beside a ``(n, n)`` image, a ``(m,)`` one beside a ``(k, m)`` image split along axis
    -1, may run along the axis or be a table the function indexes (jax clamps the indices
    it lacks: wrong values)."""
    shape = tuple(found[head][0].shape)
    ax = cast(int, _axis(found[head][0], axis))  # _first found the axis
    n = _extent(shape[ax])
    if n is None:
        raise NotSplittable(says.unknown_length(head, shape, axis, sets=True))
    which: list[int] = []
    whole: list[tuple[int, tuple[Any, ...]]] = []  # more dimensions: perhaps the one meant
    for i, (value, _) in enumerate(found):
        other = tuple(value.shape)
        at = len(other) - (len(shape) - ax)  # where broadcasting puts the axis
        if at >= 0 and _extent(other[at]) is None:
            raise NotSplittable(says.unknown_length(i, other, axis, sets=False))
        if at < 0 or other[at] != n:  # passed whole: no such axis, or a length of its own
            if len(other) > len(shape) and (_length(value, axis) or 0) > 1:
                whole.append((i, other))
            continue
        if len(other) > len(shape):  # the head lines up with its other axes: not first?
            raise NotSplittable(says.more_dimensions(i, other, head, shape, axis))
        if not _broadcasts(other, shape):
            raise NotSplittable(says.other_shape(i, other, head, shape, n))
        if len(other) < len(shape):  # a table, or a value per position? (ADR 0067)
            raise NotSplittable(says.lines_up(i, other, head, shape, axis, n))
        which.append(i)
    cut = Cut(which)
    cut.shapes = tuple(tuple(found[i][0].shape) for i in which)
    cut.origin = says.origin(head, shape, axis, whole) if whole else ""
    return cut


def _length(value: Any, axis: int) -> int | None:
    ax = _axis(value, axis)
    return None if ax is None else _extent(value.shape[ax])


def piece_lengths(halves: list[_Call], axis: int, which: frozenset[int]) -> list[int]:
    """The length along ``axis`` of each piece :func:`halve` made (``which``: the
    positions it halved): what each piece's result must have along that axis."""
    lengths: list[int] = []
    for args, kwargs in halves:
        n = _length(list(arrays(args, kwargs))[min(which)][0], axis)
        assert n is not None  # the head has the axis, of a known length
        lengths.append(n)
    return lengths


def check(part: Any, axis: int, length: int, cut: Cut | None = None) -> None:
    """Raise :class:`NotSplittable` unless ``part``, the result of a piece of ``length``
    rows along ``axis``, can be joined: an array, or tuples and lists (namedtuples too) of
    them at any depth, each having ``axis`` with exactly ``length`` along it (``cut``: the
    split's, whose ``origin`` the refusal names)."""
    said = cut.origin if cut is not None else ""
    try:
        _check(part, axis, length, "")
    except NotSplittable as exc:
        raise NotSplittable(f"{exc} ({said})" if said else str(exc)) from None


def _check(value: Any, axis: int, length: int, at: str) -> None:
    where = f" (at result{at})" if at else ""
    if isinstance(value, Rows):  # one value per row: nothing in it runs along the axis
        if len(value) != length:
            rows = f"{length} row{'s' if length != 1 else ''}"
            msg = f"a piece of {rows} returned a list of {len(value)} values{where}"
            raise NotSplittable(msg)
        return
    if array_type(value) is None:
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                _check(item, axis, length, f"{at}[{i}]")
            return
        raise NotSplittable(f"a piece returned {_describe(value)}{where}, not an array")
    shape = tuple(value.shape)
    ax = _axis(value, axis)
    if ax is None:
        msg = f"a piece returned an array of shape {shape}{where}, which has no axis {axis}"
        raise NotSplittable(msg)
    got = _extent(value.shape[ax])
    if got != length:
        raise NotSplittable(says.not_row_by_row(length, axis, f"{shape}{where}", got))


def _extent(n: Any) -> int | None:
    """A shape entry as an int; None when unknown (dask's nan, tensorflow's None)."""
    try:
        return operator.index(n)
    except TypeError:
        return None


def _describe(value: object) -> str:
    return f"a {type(value).__module__}.{type(value).__qualname__}"


def concat(parts: list[Any], axis: int, lengths: list[int]) -> Any:
    """Join the results of the pieces, in order, along ``axis``; ``lengths``: the length
    of each piece along ``axis`` (:func:`piece_lengths`).

    Arrays are concatenated; tuples and lists (namedtuples too) are joined element by
    element. Anything else, and any array without exactly its piece's length along
    ``axis`` (:func:`check`), raises :class:`NotSplittable`: nothing is joined then.
    """
    if len(parts) != len(lengths):
        msg = f"concat: {len(parts)} parts but {len(lengths)} lengths"
        raise ValueError(msg)
    for part, length in zip(parts, lengths, strict=True):
        check(part, axis, length)
    return _join(parts, axis)


def _join(parts: list[Any], axis: int) -> Any:
    first = parts[0]
    if array_type(first) is not None:
        return _concat_arrays(parts, axis)
    if isinstance(first, Rows):
        if not all(isinstance(p, Rows) for p in parts):
            raise NotSplittable("the pieces returned lists of one value per row and others")
        return Rows(v for p in parts for v in p)
    if isinstance(first, (tuple, list)):
        if any(type(p) is not type(first) or len(p) != len(first) for p in parts):
            msg = "the pieces returned sequences of different types or lengths"
            raise NotSplittable(msg)
        items = [_join([p[i] for p in parts], axis) for i in range(len(first))]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*items)
        return type(first)(items)
    raise NotSplittable(f"a piece returned {_describe(first)}, not an array")


def _concat_arrays(parts: list[Any], axis: int) -> Any:
    mt = array_type(parts[0])
    assert mt is not None  # _join only calls this for an array; check() saw the axis
    for p in parts:
        if array_type(p) is not mt:
            msg = f"the pieces returned {mt.value} arrays and {_describe(p)}"
            raise NotSplittable(msg)
    _same_other_axes(parts, axis)
    backend = get_backend(mt)
    # Pieces whose result dtype depends on their data (int64 here, uint64 there) are not
    # joined: concatenation would promote (int64 with uint64 to float64 in numpy, uint32
    # with int32 to int32 in jax without 64-bit mode) and change values.
    # By name, not describe(): a piece of a call inside jax.vmap or grad is a tracer, and
    # one of a sharded array is sharded; jax joins both.
    dtypes = [dtype_name(p.dtype) or str(p.dtype) for p in parts]
    if len(set(dtypes)) > 1:
        msg = (
            f"the pieces returned arrays of different dtypes ({', '.join(dtypes)}): joining "
            "them would promote and may change values"
        )
        raise NotSplittable(msg)
    if getattr(backend, "JOINS_ON_HOST", False):
        # Converted back by convert, whose refusals then apply (a dtype numpy promoted to).
        device = backend.device_of(parts[0])
        joined = np.concatenate([convert(p, MemoryType.NUMPY) for p in parts], axis=axis)
        return convert(joined, mt, device=device)
    join = getattr(backend, "concat", None)
    if join is None:
        xp = namespace(mt)
        join = getattr(xp, "concat", None) or xp.concatenate
    return join(parts, axis=axis)


def _same_other_axes(parts: list[Any], axis: int) -> None:
    """Raise :class:`NotSplittable` unless the arrays ``parts`` have one number of
    dimensions and one known length on every axis but ``axis``: the framework's
    concatenation would refuse them with its own error, which says nothing of the split,
    or (lengths unknown until computed: dask's nan) join them lazily into a result an
    unsplit run does not give."""
    shapes = [tuple(p.shape) for p in parts]
    ax = _axis(parts[0], axis)
    assert ax is not None  # check() saw the axis in every part
    others = [tuple(_extent(n) for n in s[:ax] + s[ax + 1 :]) for s in shapes]  # None: unknown
    same = len({len(s) for s in shapes}) == 1 and len(set(others)) == 1
    if same and None not in others[0]:
        return
    raise NotSplittable(says.other_axes(list(dict.fromkeys(shapes)), unknown=same))
