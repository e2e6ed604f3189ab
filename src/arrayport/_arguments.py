"""Finding the arrays among a call's arguments, the one way every part of arrayport does.

An array argument is one at the top level of the positional or keyword arguments, or one
level down inside a list, tuple or namedtuple argument; dicts and deeper nesting are not
looked into, so the scan stays cheap and predictable (``docs/decisions/0015`` and
``0041``). :mod:`arrayport.dispatch` converts exactly these arrays, and the OOM policy
(:mod:`arrayport.oom`) finds its memory type, splits and falls back over exactly these.

What a type of object is (an array of some memory type, a container to look inside, or
neither) is decided once per type and cached in :data:`KINDS`, so that a call's scan costs
one dict lookup per argument. Entries are written once, with a single dict store (atomic
under the GIL): the cache needs no lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from arrayport.backends import array_like_refusal, detect_memory_type, get_backend
from arrayport.errors import UnsupportedArrayError
from arrayport.memory_types import MemoryType

__all__ = [
    "CONTAINER",
    "CONVERT",
    "DASK_INPUT",
    "KINDS",
    "NO_CONVERSION",
    "UNSEEN",
    "array_type",
    "arrays",
    "classify",
    "is_container",
    "is_tuple",
    "kind_of",
    "map_arrays",
    "rebuild",
    "scan",
]

#: The kind of list, tuple and namedtuple types: look inside (one level only).
CONTAINER = "container"
#: A sentinel for "not looked up yet" in :data:`KINDS` and similar caches.
UNSEEN: Any = object()
#: type -> its kind: a MemoryType (an array), :data:`CONTAINER`, or None (passed through).
#: Emptied when it reaches :data:`MAX_TYPES` entries: types made at run time (a class
#: defined in a function called again and again, a namedtuple per call) would otherwise
#: be kept alive for good, with all they reference. A missing entry is worked out again.
KINDS: dict[type, MemoryType | str | None] = {}
MAX_TYPES = 1024

# What :func:`scan` says a call's arrays need, in increasing order.
NO_CONVERSION, CONVERT, DASK_INPUT = 0, 1, 2


def _is_record(t: type) -> bool:
    """Whether ``t`` is a namedtuple, or a struct sequence with no fields beyond its items
    (torch's ``torch.return_types.max``, ...): tuples with names, rebuilt from their items."""
    if not issubclass(t, tuple):
        return False
    if hasattr(t, "_fields"):
        return True
    fields = getattr(t, "n_fields", None)
    if fields is None or fields != getattr(t, "n_sequence_fields", None):
        return False
    return not t.__flags__ & _DISALLOW_INSTANTIATION  # sys.version_info cannot be rebuilt


#: CPython's Py_TPFLAGS_DISALLOW_INSTANTIATION (Python 3.10+).
_DISALLOW_INSTANTIATION = 1 << 7


def is_tuple(value: object) -> bool:
    """Whether ``value`` is a tuple, a namedtuple or a struct sequence (see ``_is_record``)."""
    t = type(value)
    return t is tuple or _is_record(t)


def is_container(value: object) -> bool:
    """Whether ``value`` is a list, a tuple, a namedtuple or a struct sequence (not a
    subclass of list)."""
    t = type(value)
    return t is list or t is tuple or _is_record(t)


def classify(x: object) -> MemoryType | str | None:
    """The kind of ``x``'s type, computed and cached (see :data:`KINDS`)."""
    t = type(x)
    kind: MemoryType | str | None
    if is_container(x):
        kind = CONTAINER
    elif t.__module__.partition(".")[0] == "dask" and hasattr(t, "chunks"):
        # Recognised by module, without the dask backend: dask input is handed to the
        # dask helper, never converted, so it needs no backend here.
        kind = MemoryType.DASK
    else:
        try:
            kind = detect_memory_type(x)
        except UnsupportedArrayError:
            # Not an array: passed through as it is, unless it holds array data a function
            # would compute with (a tf.Variable, a ragged tensor): refused on every call.
            why = array_like_refusal(x)
            if why is not None:
                raise UnsupportedArrayError(why) from None
            kind = None
        else:
            # Some arrays of a memory type must not reach a function even where nothing is
            # converted (numpy's masked arrays and np.matrix). Refused on every call, as
            # they are never cached: the fast paths see no entry and take this scan.
            refusal = getattr(get_backend(kind), "argument_refusal", None)
            why = None if refusal is None else refusal(t)
            if why is not None:
                raise UnsupportedArrayError(why)
    if len(KINDS) >= MAX_TYPES:
        KINDS.clear()
    KINDS[t] = kind  # one atomic dict store; a race only computes the same value twice
    return kind


def kind_of(x: object) -> MemoryType | str | None:
    """The kind of ``x``: its MemoryType, :data:`CONTAINER`, or None."""
    kind = KINDS.get(type(x), UNSEEN)
    if kind is UNSEEN:
        return classify(x)
    return cast("MemoryType | str | None", kind)


def array_type(x: object) -> MemoryType | None:
    """``x``'s memory type if it is an array, else None (containers included)."""
    kind = kind_of(x)
    return kind if isinstance(kind, MemoryType) else None


def rebuild(container: Any, items: list[Any]) -> Any:
    """A container of ``container``'s type (list, tuple, namedtuple or struct sequence)
    holding ``items``."""
    t = type(container)
    if t is list:
        return items
    if t is tuple:
        return tuple(items)
    if hasattr(t, "_fields"):
        return t(*items)  # a namedtuple
    return t(items)  # a struct sequence


def arrays(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[tuple[Any, MemoryType]]:
    """Every array argument and its memory type, positional first, in order.

    An array inside a list or tuple argument comes at that argument's place.
    """
    for value in (*args, *kwargs.values()):
        kind = kind_of(value)
        if kind is CONTAINER:
            for item in value:
                item_type = array_type(item)
                if item_type is not None:
                    yield item, item_type
        elif kind is not None:
            yield value, cast(MemoryType, kind)


def _map_value(value: Any, fn: Callable[[Any], Any]) -> Any:
    kind = kind_of(value)
    if kind is None:
        return value
    if kind is CONTAINER:
        items = [v if array_type(v) is None else fn(v) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value  # nothing converted: the caller's own list, which the function may fill
        return rebuild(value, items)
    return fn(value)


def map_arrays(
    args: tuple[Any, ...], kwargs: dict[str, Any], fn: Callable[[Any], Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments with ``fn`` applied to every array argument (see :func:`arrays`).

    Lists, tuples and namedtuples holding an array that ``fn`` replaced are rebuilt with
    their own type; every other argument is passed on as the same object.
    """
    return (
        tuple([_map_value(a, fn) for a in args]),
        {k: _map_value(v, fn) for k, v in kwargs.items()},
    )


def scan(values: Iterable[Any], target: MemoryType, nested: bool) -> tuple[Any, Any, int]:
    """The first array among ``values`` (or None), its kind, and what the arrays need:
    :data:`NO_CONVERSION`, a :data:`CONVERT` to ``target``, or :data:`DASK_INPUT` (a dask
    array for a non-dask function).

    The same walk as :func:`arrays`, written out for the dispatch fast path: an array that
    already has ``target`` costs one dict lookup and one identity test.
    """
    first: Any = None
    first_kind: Any = None
    needs = NO_CONVERSION
    for a in values:
        kind = KINDS.get(type(a), UNSEEN)
        if kind is target:  # the common case first: an array that needs nothing
            if first_kind is None:
                first, first_kind = a, kind
            continue
        if kind is None:
            continue
        if kind is UNSEEN:
            kind = classify(a)
            if kind is None:
                continue
        if kind is CONTAINER:
            if nested:
                continue  # only one level down
            f, fk, n = scan(a, target, True)
            needs = max(needs, n)
            if first_kind is None and fk is not None:
                first, first_kind = f, fk
            continue
        if kind is not target:
            needs = DASK_INPUT if kind is MemoryType.DASK else max(needs, CONVERT)
        if first_kind is None:
            first, first_kind = a, kind
    return first, first_kind, needs
