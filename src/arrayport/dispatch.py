"""The :func:`memory_type` decorator and its frozen :class:`FunctionContract`.

A decorated function declares the memory type it computes on. Each call:

1. finds the array arguments (top-level positional and keyword arguments, and arrays one
   level down inside list and tuple arguments); anything else passes through untouched;
2. converts them with :func:`arrayport.convert` to the declared memory type, all onto one
   device (the declared one, else the device where the first array argument lands);
3. runs the function through the contract's :class:`~arrayport.OOMPolicy`, on the calling
   thread's own CUDA stream for torch and cupy, slice by slice when asked;
4. places the result as ``output`` says (by default back to the memory type and device of
   the first array argument) and applies the dtype policy to the primary output.

Dask arrays are not converted: the call is handed to :mod:`arrayport._dask_dispatch`, which
maps this same dispatched callable over the blocks.

The call path keeps no shared mutable state beyond a per-type classification cache whose
entries are written once, atomically; so dispatch is thread-safe. When every array argument
already has the declared memory type, no conversion machinery runs at all (see
``docs/decisions/0015-dispatch-fast-path.md``).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import types
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Generic, ParamSpec, TypeVar, cast

from arrayport import dtypes as _dtypes
from arrayport.backends import detect_memory_type, get_backend
from arrayport.convert import convert
from arrayport.devices import Device, current_device_index, parse_device
from arrayport.dtypes import DtypeConversion, Scaling
from arrayport.errors import (
    BackendUnavailableError,
    DeviceError,
    InvalidOptionError,
    UnsupportedArrayError,
)
from arrayport.memory_types import MemoryType, as_memory_type
from arrayport.oom import OOMPolicy
from arrayport.stack import restack

__all__ = ["DispatchedFunction", "FunctionContract", "memory_type"]

P = ParamSpec("P")
R = TypeVar("R")

# --- classification of argument types -------------------------------------------------

# What a type of object is to dispatch: a MemoryType (an array), _CONTAINER (list, tuple
# or namedtuple: look inside) or None (pass through). Cached per type: a dict lookup per
# argument is the whole cost for known types.
_CONTAINER = "container"
_UNSEEN = object()
_KINDS: dict[type, MemoryType | str | None] = {}

# Which memory types can hold data on which kind of device. Checked when decorating, so
# that ``device="cuda:0"`` on a numpy function fails at import, not at the first call.
_DEVICE_KINDS: dict[MemoryType, frozenset[str]] = {
    MemoryType.NUMPY: frozenset({"cpu"}),
    MemoryType.CUPY: frozenset({"cuda"}),
    MemoryType.TORCH: frozenset({"cpu", "cuda"}),
    MemoryType.JAX: frozenset({"cpu", "cuda"}),
    MemoryType.TENSORFLOW: frozenset({"cpu", "cuda"}),
    MemoryType.PYCLESPERANTO: frozenset({"opencl"}),
    MemoryType.DASK: frozenset({"cpu", "cuda"}),
}


def _classify(x: object) -> MemoryType | str | None:
    t = type(x)
    kind: MemoryType | str | None
    if t is list or t is tuple or (issubclass(t, tuple) and hasattr(t, "_fields")):
        kind = _CONTAINER
    elif t.__module__.partition(".")[0] == "dask" and hasattr(x, "chunks"):
        # Recognised by module, without the dask backend: dask input is handed to the
        # dask helper, never converted, so it needs no backend here.
        kind = MemoryType.DASK
    else:
        try:
            kind = detect_memory_type(x)
        except UnsupportedArrayError:
            kind = None
    _KINDS[t] = kind  # one atomic dict store; a race only computes the same value twice
    return kind


def _kind_of(x: object) -> MemoryType | str | None:
    kind = _KINDS.get(type(x), _UNSEEN)
    if kind is _UNSEEN:
        return _classify(x)
    return cast("MemoryType | str | None", kind)


def _rebuild(container: Any, items: list[Any]) -> Any:
    t = type(container)
    if t is list:
        return items
    if t is tuple:
        return tuple(items)
    return t(*items)  # a namedtuple


# --- the contract ---------------------------------------------------------------------

_OUTPUT_WORDS = ("input", "declared")


def _as_enum(value: Any, enum_type: Any, name: str) -> Any:
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        for member in enum_type:
            if value.lower() in (member.value, member.name.lower()):
                return member
    names = ", ".join(f"{enum_type.__name__}.{m.name}" for m in enum_type)
    msg = f"{name}={value!r} is not valid; use one of {names}"
    raise InvalidOptionError(msg)


def _check_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    msg = f"{name} must be True or False, not {value!r}"
    raise InvalidOptionError(msg)


def _check_depth(depth: Any) -> int | tuple[int, ...] | None:
    def ok(n: Any) -> bool:
        return isinstance(n, int) and not isinstance(n, bool) and n >= 0

    if depth is None or ok(depth):
        return cast("int | None", depth)
    if isinstance(depth, (tuple, list)) and depth and all(ok(n) for n in depth):
        return tuple(depth)
    msg = (
        f"depth={depth!r} is not valid: use None, a non-negative int (the same halo on "
        "every axis) or a tuple of non-negative ints, one per axis"
    )
    raise InvalidOptionError(msg)


def _check_device(device: Any, mt: MemoryType) -> Device | str | None:
    if device is None:
        return None
    try:
        parsed = parse_device(device)
    except DeviceError as exc:
        raise InvalidOptionError(str(exc)) from exc
    assert parsed is not None  # only None parses to None
    allowed = _DEVICE_KINDS[mt]
    if parsed.kind not in allowed:
        kinds = " or ".join(sorted(allowed))
        msg = (
            f"device={device!r} is not valid for memory type {mt.value}: its arrays live "
            f"on {kinds} devices"
        )
        raise InvalidOptionError(msg)
    # A bare "cuda"/"opencl" means the calling thread's current accelerator, decided at
    # each call (arrayport.use_device), so it is kept as the word, not frozen to an index.
    if isinstance(device, str) and ":" not in device and parsed.kind != "cpu":
        return parsed.kind
    return parsed


@dataclasses.dataclass(frozen=True, slots=True)
class FunctionContract:
    """Every option of a dispatched function, validated and frozen.

    Built by :func:`memory_type` (and by ``f.options(...)``); read it as ``f.contract``.
    Invalid values raise :class:`~arrayport.InvalidOptionError` when the contract is built,
    that is when the function is decorated.

    Attributes
    ----------
    memory_type : MemoryType
        The memory type the function computes on.
    output : {"input", "declared"} or MemoryType
        Where the result goes: ``"input"`` = the memory type and device of the first array
        argument, ``"declared"`` = left where the function made it, or a memory type.
    dtype_conversion : DtypeConversion
        The dtype policy applied to the primary output.
    scaling : Scaling
        How values map when the dtype policy changes the dtype.
    oom : OOMPolicy
        The out-of-memory recovery policy the function runs under.
    device : Device, "cuda", "opencl" or None
        Where the function computes: ``None`` = where the first array argument lands,
        ``"cuda"``/``"opencl"`` = the calling thread's current accelerator.
    slice_by_slice : bool
        Run a 2-D function over each slice (axis 0) of a 3-D first array argument.
    depth : int, tuple of int or None
        For dask input: the halo each block needs from its neighbours (``map_overlap``).
    whole_array : bool
        For dask input: the function needs the whole array at once (no block mapping).
    """

    memory_type: MemoryType
    output: str | MemoryType = "input"
    dtype_conversion: DtypeConversion = DtypeConversion.PRESERVE_INPUT
    scaling: Scaling = Scaling.VALUE
    oom: OOMPolicy = dataclasses.field(default_factory=OOMPolicy)
    device: Device | str | None = None
    slice_by_slice: bool = False
    depth: int | tuple[int, ...] | None = None
    whole_array: bool = False

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        mt = as_memory_type(self.memory_type)
        set_("memory_type", mt)
        output = self.output
        if not (isinstance(output, str) and output in _OUTPUT_WORDS):
            try:
                output = as_memory_type(output)
            except InvalidOptionError:
                names = ", ".join(repr(m.value) for m in MemoryType)
                msg = (
                    f"output={output!r} is not valid; use 'input' (the memory type and "
                    f"device of the first array argument), 'declared', or one of {names}"
                )
                raise InvalidOptionError(msg) from None
        set_("output", output)
        set_(
            "dtype_conversion", _as_enum(self.dtype_conversion, DtypeConversion, "dtype_conversion")
        )
        set_("scaling", _as_enum(self.scaling, Scaling, "scaling"))
        oom = OOMPolicy.disabled() if self.oom is None else self.oom
        if not isinstance(oom, OOMPolicy):
            msg = f"oom must be an arrayport.OOMPolicy (or None to disable it), not {oom!r}"
            raise InvalidOptionError(msg)
        set_("oom", oom)
        set_("device", _check_device(self.device, mt))
        set_("slice_by_slice", _check_bool(self.slice_by_slice, "slice_by_slice"))
        set_("depth", _check_depth(self.depth))
        set_("whole_array", _check_bool(self.whole_array, "whole_array"))
        if self.whole_array and self.depth is not None:
            msg = "depth and whole_array=True exclude each other: a whole array needs no halo"
            raise InvalidOptionError(msg)

    def replace(self, **overrides: Any) -> FunctionContract:
        """A new contract with some options replaced (validated like the original)."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            msg = f"unknown option(s) {', '.join(unknown)}; the options are {', '.join(names)}"
            raise InvalidOptionError(msg)
        return dataclasses.replace(self, **overrides)


# --- the dispatched callable ----------------------------------------------------------

_StreamHook = Callable[[Any], "AbstractContextManager[Any] | None"]
_STREAM_HOOKS: dict[MemoryType, _StreamHook | None] = {}


def _stream_hook(mt: MemoryType) -> _StreamHook | None:
    """The backend's ``call_stream`` (CUDA frameworks only: the thread's own stream)."""
    hook = _STREAM_HOOKS.get(mt, _UNSEEN)
    if hook is _UNSEEN:
        try:
            hook = getattr(get_backend(mt), "call_stream", None)
        except BackendUnavailableError:  # no backend module for it in this version
            hook = None
        _STREAM_HOOKS[mt] = cast("_StreamHook | None", hook)
    return cast("_StreamHook | None", hook)


_NO_CONVERSION, _CONVERT, _DASK_INPUT = 0, 1, 2


def _scan(values: Iterable[Any], target: MemoryType, nested: bool) -> tuple[Any, Any, int]:
    """The first array (or None), its kind, and what the arrays need: nothing (0), a
    conversion (1), or the dask helper (2: a dask array for a non-dask function)."""
    first: Any = None
    first_kind: Any = None
    needs = _NO_CONVERSION
    for a in values:
        kind = _KINDS.get(type(a), _UNSEEN)
        if kind is target:  # the common case first: an array that needs nothing
            if first_kind is None:
                first, first_kind = a, kind
            continue
        if kind is None:
            continue
        if kind is _UNSEEN:
            kind = _classify(a)
            if kind is None:
                continue
        if kind is _CONTAINER:
            if nested:
                continue  # only one level down
            f, fk, n = _scan(a, target, True)
            needs = max(needs, n)
            if first_kind is None and fk is not None:
                first, first_kind = f, fk
            continue
        if kind is not target:
            needs = _DASK_INPUT if kind is MemoryType.DASK else max(needs, _CONVERT)
        if first_kind is None:
            first, first_kind = a, kind
    return first, first_kind, needs


class DispatchedFunction(Generic[P, R]):
    """A function with a memory-type contract: what :func:`memory_type` returns.

    Call it like the original. ``f.contract`` holds the options, ``f.options(...)`` makes
    a variant, ``f.__wrapped__`` is the original; ``inspect.signature(f)`` is the original
    signature. It binds as a method, and a module-level one pickles by reference.
    """

    __wrapped__: Callable[P, R]
    __qualname__: str

    def __init__(self, fn: Callable[P, R], contract: FunctionContract) -> None:
        if isinstance(fn, classmethod) or not callable(fn):
            msg = (
                f"memory_type decorates functions and methods, not {fn!r}; with "
                "@classmethod, put @memory_type(...) below it"
            )
            raise InvalidOptionError(msg)
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._contract = contract
        # The contract's answers the fast path asks on every call, read once: slicing,
        # the declared framework's per-thread stream hook (torch, cupy), output, dtype.
        self._slices = contract.slice_by_slice
        self._hook = _stream_hook(contract.memory_type)
        self._to_input = contract.output == "input"
        self._native = contract.dtype_conversion is DtypeConversion.NATIVE_OUTPUT
        self._preserve = contract.dtype_conversion is DtypeConversion.PRESERVE_INPUT

    @property
    def contract(self) -> FunctionContract:
        """The frozen :class:`FunctionContract` with every option."""
        return self._contract

    def options(self, **overrides: Any) -> DispatchedFunction[P, R]:
        """A new dispatched callable of the same function with some options replaced.

        Examples
        --------
        >>> import arrayport as ap
        >>> @ap.memory_type("numpy")
        ... def double(x):
        ...     return x * 2
        >>> double.options(output="declared").contract.output
        'declared'
        """
        return DispatchedFunction(self._fn, self._contract.replace(**overrides))

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # Functions bind as methods through this protocol; without it a decorated method
        # would not receive ``self``.
        return self if obj is None else types.MethodType(self, obj)

    def __reduce__(self) -> str | tuple[Any, ...]:
        found: Any = sys.modules.get(self.__module__)
        for part in self.__qualname__.split("."):
            found = getattr(found, part, None)
        if found is self:
            return str(self.__qualname__)  # pickled by reference, like a plain function
        if isinstance(found, DispatchedFunction) and found._fn is self._fn:
            return (_with_contract, (found, self._contract))  # an .options() variant
        return (DispatchedFunction, (self._fn, self._contract))

    def __repr__(self) -> str:
        c = self._contract
        return f"<dispatched {self.__qualname__} on {c.memory_type.value}, output={c.output!r}>"

    # -- the call ------------------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        # The fast path (every array argument already has the declared memory type, no
        # declared device) takes no helper call beyond the scan and the OOM policy: it is
        # what most calls take, and each call would be a noticeable share of the budget.
        c = self._contract
        target = c.memory_type
        first, first_kind, needs = _scan(args, target, False)
        if kwargs:
            f, fk, n = _scan(kwargs.values(), target, False)
            needs = max(needs, n)
            if first_kind is None:
                first, first_kind = f, fk
        if first_kind is None:
            # No array argument: nothing to convert or place.
            return c.oom.run(self._fn, *args, **kwargs)
        moved = needs != _NO_CONVERSION or c.device is not None
        if moved:
            if needs == _DASK_INPUT:
                return _run_on_dask(self, args, kwargs)  # type: ignore[no-any-return]
            cargs, ckwargs, cfirst, dev = self._convert_arguments(args, kwargs, first)
            result = self._run(cargs, ckwargs, cfirst, dev)
        elif not self._slices and (self._hook is None or self._hook(first) is None):
            result = c.oom.run(self._fn, *args, **kwargs)
        else:
            result = self._run(args, kwargs, first, None)
        if moved or not self._to_input or _KINDS.get(type(result)) is not first_kind:
            result = self._place(result, first, first_kind, moved=moved)
        if self._native:
            return result  # type: ignore[no-any-return]
        if self._preserve and type(result) is type(first):
            dtype = result.dtype
            if dtype is first.dtype or dtype == first.dtype:
                return result  # type: ignore[no-any-return]
        return self._convert_dtype(result, first)  # type: ignore[no-any-return]

    def _convert_arguments(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], first: Any
    ) -> tuple[tuple[Any, ...], dict[str, Any], Any, Device]:
        c = self._contract
        target = c.memory_type
        dev = _resolve_device(c.device)
        if dev is None:
            # Every argument goes to the device where the first one lands.
            cfirst = first if _kind_of(first) is target else convert(first, target)
            dev = get_backend(target).device_of(cfirst)
        else:
            cfirst = _to_target(first, target, dev)
        done: dict[int, Any] = {id(first): cfirst}

        def put(a: Any) -> Any:
            key = id(a)
            out = done.get(key, _UNSEEN)
            if out is _UNSEEN:
                out = _to_target(a, target, dev)
                done[key] = out
            return out

        cargs = tuple([_map_arrays(a, put) for a in args])
        ckwargs = {k: _map_arrays(v, put) for k, v in kwargs.items()}
        return cargs, ckwargs, cfirst, dev

    def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any], first: Any, dev: Any) -> Any:
        hook = self._hook
        stream = hook(first) if hook is not None else None
        if stream is None:
            return self._run_here(args, kwargs, first, dev)
        with stream:
            return self._run_here(args, kwargs, first, dev)

    def _run_here(self, args: tuple[Any, ...], kwargs: dict[str, Any], first: Any, dev: Any) -> Any:
        c = self._contract
        if not c.slice_by_slice or len(first.shape) != 3:
            return c.oom.run(self._fn, *args, **kwargs)
        # The first top-level array argument is sliced along axis 0, and so is every other
        # top-level array argument of exactly its shape (a mask or weights volume).
        shape = tuple(first.shape)
        sliced = {
            id(v)
            for v in (*args, *kwargs.values())
            if isinstance(_kind_of(v), MemoryType) and tuple(v.shape) == shape
        }
        if id(first) not in sliced:  # the first array sits inside a list: run once
            return c.oom.run(self._fn, *args, **kwargs)
        if dev is None:
            dev = get_backend(c.memory_type).device_of(first)
        results = []
        for i in range(shape[0]):
            a_i = tuple(v[i] if id(v) in sliced else v for v in args)
            k_i = {k: v[i] if id(v) in sliced else v for k, v in kwargs.items()}
            results.append(c.oom.run(self._fn, *a_i, **k_i))
        return restack(results, c.memory_type, dev)

    def _place(self, result: Any, first: Any, first_kind: MemoryType, *, moved: bool) -> Any:
        output = self._contract.output
        if output == "declared":
            return result
        if output == "input":
            kind = _kind_of(result)
            if kind is first_kind and not moved:
                return result  # nothing was moved, so nothing is moved back
            if kind is None:
                return result
            dev = get_backend(first_kind).device_of(first)
            return _place_value(result, first_kind, dev, top=True)
        return _place_value(result, cast(MemoryType, output), None, top=True)

    def _convert_dtype(self, result: Any, first: Any) -> Any:
        c = self._contract
        t = type(result)
        is_tuple = t is tuple or (issubclass(t, tuple) and hasattr(t, "_fields"))
        primary = result[0] if is_tuple and result else result
        if not isinstance(_kind_of(primary), MemoryType):
            return result  # not an array: nothing to convert
        if (
            c.dtype_conversion is DtypeConversion.PRESERVE_INPUT
            and type(primary) is type(first)
            and primary.dtype == first.dtype
        ):
            return result
        converted = _dtypes.apply_dtype_conversion(primary, c.dtype_conversion, c.scaling, first)
        if not is_tuple:
            return converted
        return _rebuild(result, [converted, *result[1:]])


def _with_contract(
    base: DispatchedFunction[P, R], contract: FunctionContract
) -> DispatchedFunction[P, R]:
    return DispatchedFunction(base._fn, contract)


def _resolve_device(device: Device | str | None) -> Device | None:
    if isinstance(device, str):
        return Device(device, current_device_index())  # type: ignore[arg-type]
    return device


def _to_target(a: Any, target: MemoryType, dev: Device) -> Any:
    if _kind_of(a) is target and get_backend(target).device_of(a) == dev:
        return a
    return convert(a, target, device=dev)


def _map_arrays(value: Any, put: Callable[[Any], Any]) -> Any:
    kind = _kind_of(value)
    if kind is None:
        return value
    if kind is _CONTAINER:
        items = [put(v) if isinstance(_kind_of(v), MemoryType) else v for v in value]
        return _rebuild(value, items)
    return put(value)


def _place_value(value: Any, kind: MemoryType, dev: Device | None, *, top: bool) -> Any:
    k = _kind_of(value)
    if k is _CONTAINER and top:
        return _rebuild(value, [_place_value(v, kind, dev, top=False) for v in value])
    if not isinstance(k, MemoryType):
        return value
    if k is kind and (dev is None or get_backend(k).device_of(value) == dev):
        return value
    return convert(value, kind, device=dev)


def _run_on_dask(
    fn: DispatchedFunction[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        from arrayport._dask_dispatch import run_on_dask
    except ModuleNotFoundError as exc:
        if exc.name is None or not (
            exc.name == "arrayport._dask_dispatch" or exc.name.startswith("dask")
        ):
            raise
        msg = (
            f"{fn.__qualname__} got a dask array, and dask dispatch is not available here "
            f"({exc}); install it with: pip install 'arrayport[dask]'"
        )
        raise BackendUnavailableError(msg) from exc
    return run_on_dask(fn, args, kwargs)


_DEFAULT_OOM = OOMPolicy()


def memory_type(
    memory_type: MemoryType | str,
    /,
    *,
    output: str | MemoryType = "input",
    dtype_conversion: DtypeConversion = DtypeConversion.PRESERVE_INPUT,
    scaling: Scaling = Scaling.VALUE,
    oom: OOMPolicy | None = _DEFAULT_OOM,
    device: Device | str | int | None = None,
    slice_by_slice: bool = False,
    depth: int | tuple[int, ...] | None = None,
    whole_array: bool = False,
) -> Callable[[Callable[P, R]], DispatchedFunction[P, R]]:
    """Declare the memory type a function computes on; arrays are moved there and back.

    Parameters
    ----------
    memory_type : MemoryType or str
        ``"numpy"``, ``"cupy"``, ``"torch"``, ``"jax"``, ``"tensorflow"``,
        ``"pyclesperanto"`` or ``"dask"``. It need not be installed when decorating: a
        call raises :class:`~arrayport.BackendUnavailableError` naming the extra to install.
    output : {"input", "declared"} or MemoryType
        ``"input"`` (default): the result goes back to the memory type and device of the
        first array argument. ``"declared"``: the result stays as the function made it.
        A memory type: the result is converted to it.
    dtype_conversion : DtypeConversion
        The dtype of the primary output (the result, or the first element of a tuple
        result). ``PRESERVE_INPUT`` (default) gives it the first array argument's dtype.
    scaling : Scaling
        How values map when the dtype changes (``VALUE`` keeps every value that fits).
    oom : OOMPolicy or None
        Out-of-memory recovery (default ``OOMPolicy()``); ``None`` or
        ``OOMPolicy.disabled()`` turns recovery off.
    device : None, "cpu", int, "cuda", "cuda:N", "opencl:N" or Device
        Where to compute. ``None``: where the first array argument lands (its own device
        when the declared memory type can hold data there).
    slice_by_slice : bool
        Run a 2-D function on each slice along axis 0 of a 3-D first array argument, and
        restack the results; 2-D input runs once.
    depth : int, tuple of int or None
        Dask input only: the halo each block needs (``dask.array.map_overlap``).
    whole_array : bool
        Dask input only: the function needs the whole array at once.

    Returns
    -------
    callable
        A decorator returning a :class:`DispatchedFunction`.

    Raises
    ------
    InvalidOptionError
        When decorating, for any invalid option value.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> @ap.memory_type("numpy")
    ... def smooth(image, k=1):
    ...     xp = ap.namespace(image)
    ...     return (image + xp.roll(image, k, axis=0)) / 2
    >>> smooth(np.arange(4.0))
    array([1.5, 0.5, 1.5, 2.5])
    """
    if callable(memory_type) and not isinstance(memory_type, str):
        msg = "write @memory_type('torch') (with the memory type), not a bare @memory_type"
        raise InvalidOptionError(msg)
    contract = FunctionContract(
        cast(MemoryType, memory_type),
        output=output,
        dtype_conversion=dtype_conversion,
        scaling=scaling,
        oom=cast(OOMPolicy, oom),
        device=cast("Device | str | None", device),
        slice_by_slice=slice_by_slice,
        depth=depth,
        whole_array=whole_array,
    )

    def decorate(fn: Callable[P, R]) -> DispatchedFunction[P, R]:
        return DispatchedFunction(fn, contract)

    return decorate
