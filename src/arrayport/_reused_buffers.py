"""One output buffer returned for several slices: refused before results are restacked
(:func:`arrayport.stack.restack`, for :func:`arrayport.process_slices` and
``slice_by_slice`` dispatch)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

from arrayport._host import writes_allowed
from arrayport.backends import detect_memory_type, get_backend
from arrayport.errors import InvalidOptionError, UnsupportedArrayError
from arrayport.memory_types import MemoryType

__all__ = ["refuse_reused", "refuse_reused_within"]

# The effort numpy's overlap solver may spend on two views (numpy takes any int; its stubs
# only its -1 and 0): a few thousand steps settle any strides results have.
_MAX_WORK: Any = 1 << 16

#: Memory types whose arrays a function can write into and return again (``out=``,
#: pyclesperanto's ``output_image=``); jax, tensorflow and dask arrays are immutable.
_MUTABLE = frozenset(
    {MemoryType.NUMPY, MemoryType.CUPY, MemoryType.TORCH, MemoryType.PYCLESPERANTO}
)


def refuse_reused(
    results: list[Any], caller: str, inputs: Iterable[Any] = (), offset: int = 0
) -> None:
    """Refuse results of which two are one writable buffer (the same array object,
    numpy, torch or cupy arrays whose memory overlaps: views of one buffer, whatever their
    start, shape and strides, or pyclesperanto arrays over one OpenCL buffer: its reshape
    and squeeze): a function that writes each slice into one output buffer returns it (or
    a view of it: a crop of a data-dependent size) for every slice, and the earlier
    slices' values are gone, overwritten by the later ones, before they can be stacked.
    Costs a sort of the results' byte ranges (and, for pyclesperanto results, a wait for
    the kernels queued on their device, which reading them waits for anyway).
    ``inputs``: the arrays the slices were cut from; views of one of their slices (which
    share no memory, though the byte ranges of a Fortran-ordered stack's slices
    interleave) are compared by their start, shape and strides only (a plane given to
    every slice and returned is refused); torch and cupy results over the memory of one
    with stride 0 along axis 0 pass (an identity function on an expanded stack returns
    aliased slices), as numpy's read-only views of a broadcast stack do; a writable
    stride-0 numpy stack's aliased results are refused (a function writing into its slices
    would give every slice the last one's values). ``offset``: the first result's slice
    number (a piece of an OOM split)."""
    _refuse(list(enumerate(results, offset)), caller, tuple(inputs), "")


def refuse_reused_within(
    results: list[Any], caller: str, inputs: Iterable[Any] = (), offset: int = 0
) -> None:
    """:func:`refuse_reused` for per-slice results that are not all arrays (one list per
    slice, a dict, arrays and None): the arrays at each place (the result itself, an item
    of a tuple or list, a dict's value, at any depth) are compared across slices, the
    place named by its path (``result[0]['a']``)."""
    places: dict[tuple[Any, ...], list[tuple[int, Any]]] = {}
    for i, r in enumerate(results, offset):
        _walk(r, (), i, places, set())
    found = tuple(inputs)
    for place, arrays in places.items():
        if len(arrays) > 1:
            _refuse(arrays, caller, found, "".join(f"[{p!r}]" for p in place))


def _walk(
    value: Any,
    path: tuple[Any, ...],
    i: int,
    places: dict[tuple[Any, ...], list[tuple[int, Any]]],
    open_: set[int],
) -> None:
    """Every array in ``value`` (slice ``i``'s result) filed under its path; tuples, lists
    and dicts are walked into (a container holding itself is walked once)."""
    if isinstance(value, (tuple, list, dict)):
        if id(value) in open_:
            return
        open_.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for place, v in items:
            _walk(v, (*path, place), i, places, open_)
        open_.discard(id(value))
    elif _kind(value) is not None:
        places.setdefault(path, []).append((i, value))


def _refuse(items: list[tuple[int, Any]], caller: str, inputs: tuple[Any, ...], at: str) -> None:
    """Refuse two of ``items`` (slice number, array) of different slices over one memory:
    one buffer where arrays have no address (pyclesperanto's: :func:`_identity`), the same
    object (what has no memory to compare: empty arrays, meta tensors), the same view of a
    stack the slices were cut from, or views of any other buffer whose memory overlaps
    (found by sorting their byte ranges, so that views of one buffer that differ in start
    or shape are caught too)."""
    stacks = _stacks(inputs)
    seen: dict[object, int] = {}
    spans: list[_Span] = []
    for i, r in items:
        mt = detect_memory_type(r)
        # Read-only numpy memory cannot have been written again (a broadcast stack's
        # views, a frozen constant returned for several slices).
        if mt not in _MUTABLE or (mt is MemoryType.NUMPY and not writes_allowed(r.flags.num)):
            continue
        span = _span(i, r, mt)
        if span is not None:
            stride_0 = _within(span, stacks)
            # Views of a stack repeating its memory along the slice axis (torch's expand)
            # are its planes, returned as they are; a writable numpy one is refused, as a
            # function writing into its slices would give each the last one's values.
            if stride_0 == 0 and mt is not MemoryType.NUMPY:
                continue
            if not stride_0:  # fn's own memory, or a buffer it keeps: compared by range
                spans.append(span)
                continue
            # A stack's slices share no memory: what lies in one is a view of the slice
            # fn was given, compared whole (the stack's plane given to every slice).
            key: object = (span.place, span.shape, span.strides)
        else:
            key = _identity(r, mt)
        j = seen.setdefault(key, i)
        if j != i:
            _raise(j, i, mt, caller, at)
    _refuse_overlaps(spans, caller, at)


def _refuse_overlaps(spans: list[_Span], caller: str, at: str) -> None:
    """Refuse two ``spans`` of different slices that share memory. Byte ranges sorted by
    start form groups whose ranges chain into one another; a small group is compared pair
    by pair where ranges overlap (exactly, by numpy's solver: the rows of a strided view
    interleave with others'), a large one (planes of a channel-last buffer, whose ranges
    all overlap) by marking which slice owns each element, linear in their size."""
    spans.sort(key=lambda s: (s.domain, s.lo))
    group: list[_Span] = []
    end = 0
    for s in spans:
        if group and (s.domain != group[0].domain or s.lo >= end):
            _refuse_group(group, end, caller, at)
            group = []
        end = max(end, s.hi) if group else s.hi
        group.append(s)
    if group:
        _refuse_group(group, end, caller, at)


# Spans of one group compared pair by pair; beyond, marked (when the range is not huge).
_PAIRWISE = 32


def _refuse_group(group: list[_Span], end: int, caller: str, at: str) -> None:
    if len(group) > _PAIRWISE and _marked(group, end, caller, at):
        return
    open_: list[_Span] = []
    for s in group:
        open_ = [o for o in open_ if o.hi > s.lo]
        for o in open_:
            if o.index != s.index and _shares(o, s):
                first, then = sorted((o.index, s.index))
                _raise(first, then, s.mt, caller, at)
        open_.append(s)


def _marked(group: list[_Span], end: int, caller: str, at: str) -> bool:
    """Refuse two of ``group`` sharing an element, found by writing each one's slice
    number over the elements it covers in an array spanning the group's range; False
    (nothing decided) where element sizes or offsets differ, or the range is too large
    to mark for the results' size."""
    size = group[0].itemsize
    lo = group[0].lo  # sorted by it
    if any(
        s.itemsize != size or (s.place - lo) % size or any(n % size for n in s.strides)
        for s in group
    ):
        return False
    length = (end - lo) // size
    covered = sum(int(np.prod(s.shape)) for s in group)
    pairs = len(group) * (len(group) - 1) // 2
    # Marking costs ~50 ns an element, the pairwise solver ~20 us a pair: mark only where cheaper.
    if length > min(1 << 25, max(1 << 20, 4 * covered), 400 * pairs):
        return False
    owner = np.full(length, -1, np.int32 if max(s.index for s in group) < 2**31 else np.int64)
    item = owner.itemsize
    for s in group:
        at_place = owner[(s.place - lo) // size :]
        strides = tuple(n // size * item for n in s.strides)
        view = np.lib.stride_tricks.as_strided(at_place, s.shape, strides, writeable=True)
        others = view[(view != -1) & (view != s.index)]
        if others.size:
            first, then = sorted((int(others.min()), s.index))
            _raise(first, then, s.mt, caller, at)
        view[...] = s.index
    return True


def _identity(r: Any, mt: MemoryType) -> object:
    """What names ``r``'s memory where it has no address to compare: the buffer its backend
    names (``buffer_identity``: pyclesperanto's OpenCL buffer, which its ``reshape`` and
    ``squeeze`` wrap in new objects), else the object itself."""
    identify = getattr(get_backend(mt), "buffer_identity", None)
    found = None if identify is None else identify(r)
    return id(r) if found is None else found


def _raise(j: int, i: int, mt: MemoryType, caller: str, at: str) -> None:
    where = f" (at result{at})" if at else ""
    # numpy arrays can be made read-only; tensors cannot, only copied.
    constant = (
        "a copy, or read-only with x.flags.writeable = False"
        if mt is MemoryType.NUMPY
        else "a copy each time (x.clone(), x.copy())"
    )
    msg = (
        f"{caller}: fn returned the same array (one buffer, or views of it that share "
        f"memory) for slice {j} and slice {i}{where}: an output buffer written again for "
        "each slice (out=, output_image=) holds only the last slice's values by the time "
        "the results are stacked; return a new array for each slice (a copy of the "
        f"buffer; a constant returned for several slices: {constant})"
    )
    raise InvalidOptionError(msg)


def _kind(x: object) -> MemoryType | None:
    """``x``'s memory type, None for what is not an array (None, a number, a string)."""
    if x is None or isinstance(x, (int, float, complex, str, bytes, np.generic)):
        return None  # (numpy scalars too: per-slice lists of label ids are common)
    try:
        return detect_memory_type(x)
    except UnsupportedArrayError:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class _Span:
    """Where an array's elements lie: ``domain`` (host or a device), the first element's
    address ``place``, its shape, strides in bytes and item size, and the byte range
    ``lo``..``hi`` that holds them all."""

    index: int
    mt: MemoryType
    domain: str
    place: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    itemsize: int
    lo: int
    hi: int


def _span(i: int, r: Any, mt: MemoryType) -> _Span | None:
    """``r``'s :class:`_Span` (slice ``i``'s); None for what has no address to compare
    (pyclesperanto: :func:`_identity`; empty arrays, meta, sparse or nested tensors)."""
    try:
        if mt is MemoryType.NUMPY:
            if not r.size:
                return None
            place, domain = r.__array_interface__["data"][0], "cpu"
            shape, strides, itemsize = r.shape, r.strides, r.itemsize
        elif mt is MemoryType.TORCH:
            place = r.data_ptr()  # the storage's pointer plus the offset: 0 on meta tensors
            if not place or not r.numel():
                return None
            itemsize = r.element_size()
            shape, strides = tuple(r.shape), tuple(n * itemsize for n in r.stride())
            domain = str(r.device)
        elif mt is MemoryType.CUPY:
            place = r.data.ptr
            if not place or not r.size:
                return None
            shape, strides, itemsize = r.shape, r.strides, r.itemsize
            domain = f"cuda:{r.device.id}"
        else:
            return None
    except Exception:  # sparse, nested or wrapped tensors: no pointer to compare
        return None
    lo = place + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0)
    hi = place + itemsize + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0)
    return _Span(i, mt, domain, place, tuple(shape), tuple(strides), itemsize, lo, hi)


def _stacks(inputs: tuple[Any, ...]) -> list[tuple[_Span, int]]:
    """The spans of ``inputs`` (the arrays the slices were cut from) of more than one
    slice, each with its stride along the slice axis."""
    found = []
    for i, x in enumerate(inputs):
        mt = _kind(x)
        if mt not in _MUTABLE or len(x.shape) < 1 or x.shape[0] < 2:
            continue
        span = _span(i, x, mt)
        if span is not None:
            found.append((span, span.strides[0]))
    return found


def _within(span: _Span, stacks: list[tuple[_Span, int]]) -> int | None:
    """The slice-axis stride of the first of ``stacks`` whose byte range holds ``span``'s,
    None if none does."""
    for stack, stride_0 in stacks:
        if stack.domain == span.domain and stack.lo <= span.lo and span.hi <= stack.hi:
            return stride_0
    return None


def _shares(a: _Span, b: _Span) -> bool:
    """Whether two spans share a byte (numpy's exact solver on the addresses alone; an
    overlap too hard to decide counts as shared)."""
    try:
        return bool(np.shares_memory(_view(a), _view(b), max_work=_MAX_WORK))
    except np.exceptions.TooHardError:
        return True


def _view(s: _Span) -> np.ndarray:
    """A numpy array over ``s``'s addresses, for numpy's overlap solver: never read."""
    interface = {
        "data": (s.place, True),
        "shape": s.shape,
        "strides": s.strides,
        "typestr": f"|V{s.itemsize}",
        "version": 3,
    }
    return np.asarray(_Interface(interface))


class _Interface:
    __slots__ = ("__array_interface__",)

    def __init__(self, interface: dict[str, Any]) -> None:
        self.__array_interface__ = interface
