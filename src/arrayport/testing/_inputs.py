"""The arguments each run of :func:`arrayport.testing.assert_equivalent` gets, and the check
that a run left them unchanged.

Every run, the numpy reference included, gets arrays of its own: a function that writes into
its input must change neither the caller's arrays nor what later runs get or are compared
with. Copies are made only where a run could otherwise write into shared memory: numpy
arguments (the reference and the numpy run) and conversions arrayport makes without a copy
(``arrayport.plan(...).zero_copy``: a torch tensor made from numpy shares its memory). A
copy keeps the original's strides, byte order, alignment and read-only flag, so that the
function sees the layout the caller (or :func:`~arrayport.testing.arrays`) chose.

Each run gets its arrays in its memory type where arrayport's dispatch would convert them
(top-level arguments, and one level down in list, tuple and namedtuple arguments); arrays in
dicts or deeper stay numpy copies. Lists, tuples and dicts are rebuilt with their own type
(namedtuples, OrderedDicts and other subclasses too). A dask run gets its arrays split into
at least two blocks along every axis that allows it (:mod:`arrayport.testing._splits`), so
that a function computed block by block where it should see the whole array gives a wrong
answer there, not a false pass.
"""

from __future__ import annotations

import copy
import inspect
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import byte_bounds

import arrayport
from arrayport._arguments import is_container
from arrayport.backends import get_backend
from arrayport.errors import UnsupportedArrayError, UnsupportedDtypeError
from arrayport.memory_types import MemoryType
from arrayport.testing._memory_readers import as_numpy
from arrayport.testing._results import first_difference, is_array
from arrayport.testing._selection import default_device
from arrayport.testing._splits import block_chunks

__all__ = [
    "check_unchanged",
    "kept",
    "private",
    "replica",
    "run_arguments",
    "snapshot",
    "to_host",
    "walk",
    "warn_shadowed_options",
]

_ALIGN = 64  # arrayport's host buffers are 64-byte aligned; a copy keeps the offset from that


def replica(a: np.ndarray) -> np.ndarray:
    """A fresh copy of ``a`` with its strides (negative and zero ones too), byte order,
    alignment modulo 64 bytes and writeable flag."""
    # Subclasses keep their own copy (a mask); object arrays too (copyto into uninitialised
    # bytes would release garbage pointers).
    out: np.ndarray
    if type(a) is not np.ndarray or a.size == 0 or a.dtype.hasobject:
        out = a.copy(order="K")
    else:
        low, high = byte_bounds(a)
        buf = np.empty(high - low + _ALIGN, np.uint8)
        start = (low - buf.ctypes.data) % _ALIGN
        offset = start + a.__array_interface__["data"][0] - low
        out = np.ndarray(a.shape, a.dtype, buffer=buf, offset=offset, strides=a.strides)
        np.copyto(out, a)
    out.flags.writeable = a.flags.writeable
    return out


def _differs(value: Any, default: Any) -> bool:
    if value is default:
        return False
    try:
        return not bool(value == default)
    except Exception:  # an object whose == is no truth value
        return True


def warn_shadowed_options(fn: Callable[..., Any], **options: tuple[Any, Any]) -> None:
    """Warn when ``fn`` has a parameter named like one of assert_equivalent's ``options``
    (name: (value, default)) given another value than its default: that value configures
    the check and never reaches ``fn`` (a value equal to the default cannot be told from
    none given)."""
    given = {n: v for n, (v, default) in options.items() if _differs(v, default)}
    if not given:
        return
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no signature to read (some builtins)
        return
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [n for n in given if n in params and params[n].kind in keyword]
    if not names:
        return
    name = getattr(fn, "__name__", "fn")
    shown = ", ".join(f"{n}={given[n]!r}" for n in names)
    msg = (
        f"assert_equivalent({shown}): {', '.join(names)} configured the check, not "
        f"{name}, which has a parameter of that name and ran with its own default. To pass "
        f"it to {name}, bind it: assert_equivalent(functools.partial({name}, {shown}), ...)"
    )
    warnings.warn(msg, UserWarning, stacklevel=3)


def _rebuild(value: Any, items: list[Any]) -> Any:
    """A sequence of ``value``'s type (list, tuple, namedtuple, struct sequence or another
    subclass) holding ``items``; a plain list or tuple where the type cannot be rebuilt."""
    t = type(value)
    if t is list or t is tuple:
        return t(items)
    if isinstance(value, tuple):
        make = getattr(t, "_make", None)  # a namedtuple
        try:
            return make(items) if make is not None else t(items)
        except Exception:  # a tuple subclass with a constructor of its own
            return tuple(items)
    try:  # a list subclass: a shallow copy keeps its attributes, then the items are set
        out = copy.copy(value)
        out[:] = items
    except Exception:
        return list(items)
    return out


def _rebuild_dict(value: Any, items: dict[Any, Any]) -> Any:
    """A mapping of ``value``'s type (dict, OrderedDict, defaultdict, ...) holding ``items``."""
    if type(value) is dict:
        return items
    try:  # a shallow copy keeps the subclass and its state (a defaultdict's factory)
        out = copy.copy(value)
        for k, v in items.items():
            out[k] = v
    except Exception:
        return dict(items)
    return out


def walk(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """``value`` with ``leaf`` applied to everything that is not a list, tuple or dict
    (their subclasses included), at any depth; containers are rebuilt with their type."""
    if isinstance(value, (list, tuple)):
        return _rebuild(value, [walk(v, leaf) for v in value])
    if isinstance(value, dict):
        return _rebuild_dict(value, {k: walk(v, leaf) for k, v in value.items()})
    return leaf(value)


def private(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``value`` with every numpy array in it (top level, or in lists, tuples and dicts and
    their subclasses) replaced by a :func:`replica`; the same array twice becomes the same
    replica twice."""
    memo = {} if memo is None else memo

    def leaf(v: Any) -> Any:
        if not isinstance(v, np.ndarray):
            return v
        if id(v) not in memo:
            memo[id(v)] = replica(v)
        return memo[id(v)]

    return walk(value, leaf)


def kept(value: Any) -> Any:
    """``value`` (a reference result) with every array in it, of any memory type and at any
    depth, replaced by a numpy copy that nothing else holds: a later run cannot change it
    through memory ``fn`` keeps (a cache, an output buffer) or a lazy graph."""
    memo: dict[int, Any] = {}

    def leaf(v: Any) -> Any:
        if id(v) in memo:
            return memo[id(v)]
        if isinstance(v, np.ndarray):
            memo[id(v)] = replica(v)
        elif is_array(v):
            memo[id(v)] = np.array(as_numpy(v), copy=True)
        else:
            return v
        return memo[id(v)]

    return walk(value, leaf)


def to_host(value: Any, memo: dict[int, Any]) -> Any:
    """``value`` with every array in it, at any depth, read as numpy (:func:`as_numpy`: a
    view where the framework gives one); the same array twice gives the same host array."""

    def leaf(v: Any) -> Any:
        if not is_array(v):
            return v
        if id(v) not in memo:
            memo[id(v)] = as_numpy(v)
        return memo[id(v)]

    return walk(value, leaf)


#: The array types array-api-strict has (it refuses float16, bfloat16, strings, ...).
_STRICT_KINDS = frozenset("biufc")


def _to_strict(h: np.ndarray, place: Any) -> Any:
    """``h`` as an array-api-strict array on device ``place``, in native byte order."""
    xps = sys.modules["array_api_strict"]
    if h.dtype.kind in "OSU":
        msg = f"array_api_strict arrays hold numbers, not {h.dtype.name}"
        raise UnsupportedArrayError(msg)
    if h.dtype.kind not in _STRICT_KINDS or (h.dtype.kind in "fc" and h.dtype.itemsize < 4):
        msg = (
            f"array_api_strict has no {h.dtype.name} dtype (it holds bool, the 8- to 64-bit "
            "integers, float32, float64, complex64 and complex128)"
        )
        raise UnsupportedDtypeError(msg, dtype=h.dtype, target="array_api_strict")
    native = h.dtype.newbyteorder("=")  # asarray shares: this copies
    return xps.asarray(np.array(h, dtype=native, order="C"), device=place)


def _dtype_name(x: Any, place: MemoryType) -> str:
    """The name of the dtype ``x`` (an array of ``place``) holds, in numpy's terms."""
    return get_backend(place).describe(x).dtype_name


def _convert(h: np.ndarray, place: Any, memo: dict[int, Any], widen: bool) -> Any:
    """``h`` (a host array) as an array of ``place``, sharing no memory with ``h``.

    A target that holds ``h``'s dtype only widened (pyclesperanto: bool as uint8, float16 as
    float32) does not hold it: :class:`~arrayport.UnsupportedDtypeError`, unless ``widen``."""
    if not isinstance(place, MemoryType):  # an array-api-strict device
        return _to_strict(h, place)
    device = default_device(place)
    if arrayport.plan(h, place, device=device).zero_copy:
        h = private(h, memo)
    out = arrayport.convert(h, place, device=device)
    given, held = h.dtype.name, _dtype_name(out, place)  # names say no byte order
    if held != given and not widen:
        msg = (
            f"{place.value} holds {given} only widened to {held} (arrayport.plan(...).reason "
            f"says so): fn would get {held} where numpy's reference got {given}. Name "
            f"{place.value} in memory_types with check_dtype=False to run fn on the widened "
            "values"
        )
        raise UnsupportedDtypeError(msg, dtype=given, source=MemoryType.NUMPY, target=place)
    return out


def run_arguments(
    host_args: Sequence[Any], host_kwargs: Mapping[str, Any], place: Any, *, widen: bool = False
) -> tuple[list[Any], dict[str, Any], list[Any]]:
    """The arguments of one run on ``place`` (a MemoryType or an array-api-strict device),
    and the arrays among them that were converted to ``place``, each once, in argument
    order (positional, then keyword; a list's items in their order).

    The arrays arrayport's dispatch converts are converted to ``place``: top-level ones and
    those one level down in a list, tuple or namedtuple argument
    (:mod:`arrayport._arguments`); one of those that holds no numbers (strings, objects)
    stays numpy. Arrays in dicts or deeper are handed over as numpy copies, and are not
    among the converted ones. On dask, an array of another shape than the first of the most
    dimensions stays numpy (dispatch refuses dask arguments of different shapes; a smaller
    operand goes whole to every block), and the dask arrays are split into the blocks
    :func:`~arrayport.testing._splits.block_chunks` chooses beside those whole ones (one
    block where no axis can be split). An array ``place`` holds only in a wider dtype
    raises :class:`~arrayport.UnsupportedDtypeError` unless ``widen``."""
    memo: dict[int, Any] = {}
    converted: dict[int, Any] = {}  # the same host array twice is converted once
    placed: list[int] = []  # what reached place: its first one says the inputs' device
    whole: list[tuple[int, ...]] = []  # on dask: the shapes dispatch gives every block whole

    # On dask, the first array of the most dimensions sets the shape the dask arguments
    # share (a 0-d threshold before the image, a 1-D lookup table after it: whole, numpy).
    given = [
        v
        for a in (*host_args, *host_kwargs.values())
        for v in (a if is_container(a) else (a,))
        if isinstance(v, np.ndarray)
    ]
    split_shape = max(given, key=lambda v: v.ndim).shape if given else None

    def as_given(v: Any) -> Any:  # handed over as numpy: dispatch gives it whole
        if id(v) not in converted:
            converted[id(v)] = private(v, memo)
            whole.append(v.shape)
        return converted[id(v)]

    def one(v: Any, top: bool) -> Any:
        if isinstance(v, np.ndarray):
            if place is MemoryType.DASK and v.shape != split_shape:
                # Dispatch maps over dask arguments of the first one's shape only: another
                # (a lookup table, per-slice factors) is given whole, as numpy, as a user
                # of dask passes it.
                return as_given(v)
            if id(v) not in converted:
                try:
                    converted[id(v)] = _convert(v, place, memo, widen)
                except UnsupportedArrayError:
                    if top:
                        raise
                    return as_given(v)  # labels of strings, objects: as given
                placed.append(id(v))
            return converted[id(v)]
        if top and is_container(v):
            return _rebuild(v, [one(item, False) for item in v])
        return private(v, memo)

    args = [one(a, True) for a in host_args]
    kwargs = {k: one(v, True) for k, v in host_kwargs.items()}
    if place is MemoryType.DASK and placed and split_shape is not None:
        # Split once every whole argument is known, as dispatch will check it against the
        # blocks; then the arguments are gathered again from the (now split) conversions.
        chunks = block_chunks(split_shape, whole)
        for key in placed:
            x = converted[key]
            converted[key] = x if x.chunks == chunks else x.rechunk(chunks)
        args = [one(a, True) for a in host_args]
        kwargs = {k: one(v, True) for k, v in host_kwargs.items()}
    return args, kwargs, [converted[key] for key in placed]


def snapshot(value: Any) -> Any:
    """``value`` with every array in it (at any depth of lists, tuples and dicts and their
    subclasses) replaced by a numpy copy of its values, as it is before a run."""
    return walk(value, lambda v: np.array(as_numpy(v), copy=True) if is_array(v) else v)


def _arrays_in(value: Any, label: str) -> Iterator[tuple[str, Any]]:
    if is_array(value):
        yield label, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _arrays_in(v, f"{label}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _arrays_in(v, f"{label}[{k!r}]")


def _positional_names(fn: Callable[..., Any], n: int) -> list[str]:
    """``x (args[0])`` for the first ``n`` positional arguments, or ``args[0]`` when ``fn``
    has no signature to read (numpy's ufuncs) or takes ``*args``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins and ufuncs without a signature
        params = []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in params if p.kind in kinds]
    return [f"{names[i]} (args[{i}])" if i < len(names) else f"args[{i}]" for i in range(n)]


def check_unchanged(
    fn: Callable[..., Any],
    run_args: Sequence[Any],
    run_kwargs: Mapping[str, Any],
    host_args: Sequence[Any],
    host_kwargs: Mapping[str, Any],
    *,
    where: str,
) -> None:
    """Raise an AssertionError naming the argument if a run's array arguments no longer
    hold the values (exactly; NaN equal to NaN, -0.0 not equal to 0.0) the caller gave."""
    labels = _positional_names(fn, len(run_args))
    pairs = [*zip(labels, run_args, host_args, strict=True)]
    pairs += [(f"{k}=", run_kwargs[k], host_kwargs[k]) for k in run_kwargs]
    for label, run_value, host_value in pairs:
        given = dict(_arrays_in(host_value, label))
        for part, arr in _arrays_in(run_value, label):
            if part not in given:  # fn put an array into a list it got (a copy of the caller's)
                continue
            before = as_numpy(given[part])
            after = as_numpy(arr)
            found = first_difference(after, before)
            if found is None:
                continue
            msg = (
                f"{where}: fn wrote into its argument {part} "
                f"({before.dtype.name}{list(before.shape)}): {found}. A function meant to "
                "leave its inputs alone must not write into them (on jax and tensorflow, "
                "whose arrays are immutable, it cannot); pass check_inputs_unchanged=False "
                "if working in place is intended"
            )
            raise AssertionError(msg)
