"""A function call described in :func:`arrayport.testing.assert_equivalent`'s failure
messages: ``f(float32[3, 4], [float64[3], str32[2]], w=float64[3])``. Arrays are shown as
their dtype and shape, keyword arguments by name, arrays in a list, tuple or dict argument
one level down too; anything else by its ``repr``, cut short. Also why a memory type got
no array argument (:func:`unconverted_reason`), the note on an error from the numpy
reference run (:func:`reference_note`), the hint for a function that asks for an array
API namespace on a memory type with none (:func:`no_namespace_hint`), and the one for a
dispatched function whose result cannot go back to the run's memory type
(:func:`result_back_hint`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from arrayport._arguments import is_container
from arrayport.backends import get_backend
from arrayport.errors import ArrayportError, ConversionError, NoNamespaceError
from arrayport.memory_types import MemoryType
from arrayport.testing._memory_readers import as_numpy
from arrayport.testing._results import is_array

__all__ = [
    "cause_of",
    "describe_call",
    "no_namespace_hint",
    "reference_note",
    "result_back_hint",
    "unconverted_reason",
]

#: How many characters of an argument's ``repr`` are shown, and how many items of a list,
#: tuple or dict argument.
_REPR_CHARS = 40
_ITEMS = 6


def _array(x: Any) -> str:
    h = as_numpy(x)
    return f"{h.dtype.name}{list(h.shape)}"


def _leaf(x: Any) -> str:
    """An array as ``dtype[shape]``, anything else by its ``repr`` cut short."""
    return _array(x) if is_array(x) else repr(x)[:_REPR_CHARS]


def _items(shown: list[str], total: int) -> str:
    more = f", ... ({total} items)" if total > len(shown) else ""
    return ", ".join(shown) + more


def _argument(x: Any) -> str:
    """``x`` described; a list, tuple or dict item by item (one level down)."""
    if is_array(x):
        return _array(x)
    if isinstance(x, (list, tuple)):
        shown = [_leaf(v) for v in list(x)[:_ITEMS]]
        if isinstance(x, list):
            return f"[{_items(shown, len(x))}]"
        return f"({_items(shown, len(x))}{',' if len(x) == 1 else ''})"
    if isinstance(x, dict):
        shown = [f"{k!r}: {_leaf(v)}" for k, v in list(x.items())[:_ITEMS]]
        return f"{{{_items(shown, len(x))}}}"
    return repr(x)[:_REPR_CHARS]


def describe_call(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The arguments of a call, as they go between its parentheses: positional ones, then
    keyword ones as ``name=...``."""
    parts = [_argument(a) for a in args]
    parts += [f"{name}={_argument(v)}" for name, v in kwargs.items()]
    return ", ".join(parts)


def _converted_places(args: Sequence[Any], kwargs: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each value where dispatch would convert an array, with its label (``args[0]``,
    ``w=``, ``args[1][2]``): top-level arguments, and items of list or tuple ones."""
    tops = [(f"args[{i}]", a) for i, a in enumerate(args)]
    tops += [(f"{name}=", v) for name, v in kwargs.items()]
    for label, value in tops:
        yield label, value
        if is_container(value):
            for i, item in enumerate(value):
                yield f"{label}[{i}]", item


def unconverted_reason(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """Why no argument of a call was converted to a memory type: a numpy scalar where an
    array would be converted (``x[0]``, a hypothesis ``from_dtype`` draw) is no array, and
    neither dispatch nor the kit converts it; otherwise the arrays are where dispatch does
    not look, or there are none."""
    scalars = [
        f"{label} ({type(v).__name__})"
        for label, v in _converted_places(args, kwargs)
        if isinstance(v, np.generic)
    ]
    if scalars:
        one = len(scalars) == 1
        what = "is a numpy scalar, not an array" if one else "are numpy scalars, not arrays"
        return (
            f"no array argument was converted to it: {', '.join(scalars[:_ITEMS])} {what}; "
            "numpy scalars are not converted (dispatch passes them as they are): pass "
            "np.asarray(x), a 0-d array"
        )
    return (
        "no array argument was converted to it: only arrays at the top level or one level "
        "down in a list or tuple are; those in dicts or deeper reach fn as numpy copies"
    )


def reference_note(name: str, call: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The note on an exception from :func:`~arrayport.testing.assert_equivalent`'s numpy
    reference run (raised as it is, before any memory type ran): which run it was, the
    arguments' dtypes and shapes, and, where an array argument is empty or 0-d, that
    :func:`~arrayport.testing.arrays` draws such shapes unless given ``shape=``."""
    note = (
        f"assert_equivalent: raised by the numpy reference run, {name}({call}), before any "
        "other memory type ran: fn fails on these arguments in numpy itself"
    )
    odd = [
        label
        for label, v in _converted_places(args, kwargs)
        if is_array(v) and (as_numpy(v).ndim == 0 or as_numpy(v).size == 0)
    ]
    if odd:
        note += (
            f"; {', '.join(odd[:_ITEMS])} {'is' if len(odd) == 1 else 'are'} empty or 0-d: "
            "arrays() draws empty and 0-d shapes unless given shape= (a fixed shape such as "
            "shape=(4, 4), or a strategy of non-empty ones such as hypothesis.extra.numpy."
            "array_shapes(min_dims=1, min_side=1))"
        )
    return note


def no_namespace_hint(exc: BaseException, target: Any, targets: Sequence[Any]) -> str:
    """For a run on a memory type with no array API namespace (tensorflow, pyclesperanto)
    that failed because fn asked for one: how to leave such types out (``memory_types=``
    with the others asked for) or declare fn on one that has a namespace; "" otherwise."""
    if not isinstance(target, MemoryType) or cause_of(exc, NoNamespaceError) is None:
        return ""
    if not _lacks_namespace(target):
        return ""
    others = [
        t.value if isinstance(t, MemoryType) else str(t)
        for t in targets
        if not (isinstance(t, MemoryType) and _lacks_namespace(t))
    ]
    keep = f"memory_types={others!r}" if others else "memory_types=[...]"
    return (
        f". In a test, leave out the memory types without a namespace: "
        f"assert_equivalent(..., {keep}); or declare fn with @ap.memory_type(...) on one "
        "that has a namespace (fn then computes there, and only the conversions are checked)"
    )


def result_back_hint(exc: BaseException, target: Any, targets: Sequence[Any]) -> str:
    """For a run whose dispatched function's result could not go back to the run's memory
    type ``target`` (``output='input'``: a 0-d reduction on pyclesperanto), how to leave
    ``target`` out or keep the result elsewhere; "" otherwise."""
    if not isinstance(target, MemoryType) or not isinstance(exc, ConversionError):
        return ""
    text = str(exc)  # said of the result going back to the input's memory type (of_result)
    back = text.startswith("the result of ") and "(output='input')" in text
    if exc.target != target or not back:
        return ""
    others = [t.value if isinstance(t, MemoryType) else str(t) for t in targets if t != target]
    keep = f"memory_types={others!r}" if others else "memory_types=[...]"
    return (
        f". The result of a dispatched function goes back to its input's memory type "
        f"(output='input'), and {target.value} cannot hold this one: in a test, leave "
        f"{target.value} out, assert_equivalent(..., {keep}); or declare the function with "
        "output='numpy' and pass check_memory_type=False (its result is then numpy on every run)"
    )


def cause_of(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The exception of type ``kind`` that ``exc`` is or was raised from, if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def _lacks_namespace(mt: MemoryType) -> bool:
    """Whether ``mt``'s framework has no array API namespace (arrayport.namespace refuses)."""
    try:  # torch's, jax's, dask's and cupy's import their framework: absent, it raises
        return get_backend(mt).namespace() is None
    except (ArrayportError, ImportError):  # not installed or not loadable: not why fn failed
        return False
