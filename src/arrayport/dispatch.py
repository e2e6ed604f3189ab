"""The :func:`memory_type` decorator and its dispatched callable, with the fast paths.

A decorated function declares the memory type it computes on. Each call finds the array
arguments (top level, and one level down in lists and tuples), converts them with
:func:`arrayport.convert` onto one device of that memory type, runs the function through
the contract's :class:`~arrayport.OOMPolicy` (on the thread's own CUDA stream for torch and
cupy, slice by slice when asked), places the result as ``output`` says and applies the
dtype policy to the primary output. Dask arrays are mapped over instead
(:mod:`arrayport._dask_dispatch`).

The call path keeps no shared mutable state beyond caches written whole, atomically, so
dispatch is thread-safe. When every array argument already has the declared memory type,
no conversion machinery runs (ADR 0015); one numpy argument of a torch function (or the
reverse) is shared in and out without planning (ADR 0048). Other calls take
:mod:`arrayport._dispatch_general`; bound methods are :mod:`arrayport._dispatch_bound`'s,
the options :mod:`arrayport._contract`'s, the slow path :mod:`arrayport._placement`'s;
the decorator itself, with its typing overloads, is :mod:`arrayport._dispatch_decorator`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, Literal, ParamSpec, TypeVar, cast, overload

from arrayport import _dispatch_decorator
from arrayport._arguments import KINDS, UNSEEN
from arrayport._contract import FunctionContract
from arrayport._dispatch_bound import BoundDispatched, options_of

# by_name, from_main, with_contract: named in pickles as arrayport.dispatch's (ADR 0069).
from arrayport._dispatch_callables import (  # noqa: F401
    DEFERRED,
    Signature,
    adopt_identity,
    by_name,
    deferred_result,
    from_main,
    reduction,
    refuse_deferred_bodies,
    unwrapped,
    with_contract,
)
from arrayport._dispatch_decorator import memory_type
from arrayport._dispatch_general import array_defaults, call_general, of_result, recover
from arrayport._dispatch_policy import dtype_policy
from arrayport._metrics import metrics
from arrayport._oom_injection import injections
from arrayport._oom_recognition import settled
from arrayport._placement import (
    _QUICK,
    _Quick,
    place_with_policy,
    quick_share,
    stream_hook,
)
from arrayport._results import OF_THE_RESULT, reads_widened_bool, widenings
from arrayport._slicing import sliced

# Device and OOMPolicy: FunctionContract's annotations name them, and the class says it is
# this module's (ADR 0042): typing.get_type_hints(FunctionContract) reads them here.
from arrayport.devices import Device  # noqa: F401
from arrayport.dtypes import DtypeConversion, Scaling
from arrayport.errors import (
    ConversionError,
    DeviceError,
    DtypeConversionError,
    UnsupportedArrayError,
)
from arrayport.memory_types import MemoryType
from arrayport.oom import OOMPolicy  # noqa: F401

__all__ = ["DispatchedFunction", "FunctionContract", "memory_type"]

P = ParamSpec("P")
R = TypeVar("R")

# Bound by assignment, not by import: CPython 3.11 compiles a method call on a name that an
# import bound as an attribute load (it expects a module), which makes a bound method on
# every call; the fast path's ``_KINDS.get`` would pay for it.
_KINDS = KINDS


class DispatchedFunction(Generic[P, R]):
    """A function with a memory-type contract: what :func:`memory_type` returns.

    Call it like the original. ``f.contract`` holds the options, ``f.options(...)`` makes
    a variant, ``f.__wrapped__`` is the original; ``inspect.signature(f)`` is the original
    signature. It binds as a method, and a module-level one pickles by reference.
    """

    __wrapped__: Callable[P, R]
    __signature__ = Signature(lambda dispatched: dispatched.__wrapped__)
    __name__: str
    __qualname__: str
    autograph_info__: ClassVar[dict[str, object]] = {}  # run as written: see _autograph
    _sliced_fn: Callable[..., Any] | None = None

    def __init__(self, fn: Callable[P, R], contract: FunctionContract) -> None:
        # Above @staticmethod: the function inside, never bound (_binds). Above @classmethod:
        # bound to the class by __get__ itself, on every Python (see options()).
        fn, self._static, self._class = unwrapped(fn)
        refuse_deferred_bodies(fn)
        self._binds = adopt_identity(self, fn, self._static or self._class)
        self._fn: Callable[..., Any] = fn  # a classmethod's takes the class: not P
        self._contract = contract
        self._oom = contract.oom
        self._oom_active = contract.oom._active  # fixed for the (frozen) policy's life
        # The contract's answers the fast path asks on every call, read once: slicing,
        # the declared framework's per-thread stream hook (torch, cupy), output, dtype.
        self._slices = contract.slice_by_slice
        if contract.slice_by_slice:  # else the class's None: one entry fewer per instance
            self._sliced_fn = sliced(fn)
        self._hook = stream_hook(contract.memory_type)
        self._to_input = contract.output == "input"
        # Arguments may take the backends' quick shares (ADR 0048) only when nothing else
        # about the call needs the planner: no declared device, no slicing.
        self._quick = contract.device is None and not contract.slice_by_slice
        # Array defaults: the general path moves them as if given (ADR 0069).
        self._array_defaults = array_defaults(fn)
        # (The types as Any: a type test against one would narrow the arguments for mypy.)
        self._round_trip: tuple[Any, _Quick, Any, _Quick, MemoryType] | None = None
        self._native = contract.dtype_conversion is DtypeConversion.NATIVE_OUTPUT
        # A result already of the input's dtype needs no policy, unless MINMAX asks for a
        # stretch whatever the dtype (ADR 0016).
        self._preserve = (
            contract.dtype_conversion is DtypeConversion.PRESERVE_INPUT
            and contract.scaling is not Scaling.MINMAX
        )
        # The dtype the declared framework holds bool in (pyclesperanto: uint8 0 and 1);
        # where it holds bool itself and the OOM fallback's does not, the stand-in of the
        # memory type a result is in, where the fallback leaves the input's bool widened
        # for PRESERVE_INPUT to read by value (ADR 0068's amendment of session 23).
        self._bool_stand_in: str | None = widenings(contract.memory_type).get("bool")
        fallback = contract.oom.fallback
        if (
            self._bool_stand_in is None
            and fallback is not None
            and contract.dtype_conversion is DtypeConversion.PRESERVE_INPUT
            and "bool" in widenings(MemoryType(fallback))
        ):
            self._bool_stand_in = OF_THE_RESULT
            reads_widened_bool(fn)  # its fallback leaves that bool for the policy to read
        # output="declared" with a fallback: the general path collects what the fallback
        # leaves for the dtype policy and takes it back to the declared type (ADR 0068).
        self._collects = (
            contract.output == "declared" and fallback is not None and contract.oom._active
        )
        if self._array_defaults or self._collects:
            self._quick = False

    @property
    def contract(self) -> FunctionContract:
        """The frozen :class:`FunctionContract` with every option."""
        return self._contract

    # Typed as memory_type is: a variant that puts its result elsewhere returns Any.
    @overload
    def options(
        self, *, output: Literal["declared"], **overrides: Any
    ) -> DispatchedFunction[P, R]: ...
    @overload
    def options(
        self, *, output: MemoryType | str, **overrides: Any
    ) -> DispatchedFunction[P, Any]: ...
    @overload
    def options(self, **overrides: Any) -> DispatchedFunction[P, R]: ...
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

        Put ``@memory_type(...)`` above ``@classmethod``: below it, Python 3.13+ hands
        ``Cls.method.options`` no class, and the variant binds the class that defines the
        method (by module and qualified name: never a subclass, none for a local class).
        """
        return cast("DispatchedFunction[P, R]", options_of(self, overrides))

    # Read from the class: the function (bound to the class above @classmethod, whose
    # parameters a type checker sees with ``cls``: hence ``...``); from an instance, bound.
    @overload
    def __get__(self, obj: None, objtype: Any = None) -> DispatchedFunction[..., R]: ...
    @overload
    def __get__(self, obj: object, objtype: Any = None) -> BoundDispatched[R]: ...
    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # A method receives ``self`` (as a function would; adopt_identity), its .options() too;
        # above @classmethod (never _binds) the class, read from the class or an instance.
        if obj is None or not self._binds:
            if self._class:
                return BoundDispatched(self, objtype if objtype is not None else type(obj))
            return self
        return BoundDispatched(self, obj)

    def __reduce__(self) -> str | tuple[Any, ...]:
        return reduction(self, self._fn, self._contract)

    def __repr__(self) -> str:
        c = self._contract
        name = getattr(self, "__qualname__", None) or repr(self._fn)
        return f"<dispatched {name} on {c.memory_type.value}, output={c.output!r}>"

    # -- the call ------------------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        # The fast paths (one array argument already of the declared memory type, or one
        # a backend's quick share moves: ADR 0015, 0048) take no helper call beyond the
        # OOM policy: most calls take them, and each call costs a share of the budget.
        result: Any
        first: Any
        first_kind: Any
        # The quick round trip this function last took (ADR 0048): the input's type, its
        # quick share, the result's type and its quick share back. Asked first: it is the
        # path with the most work to do, so every read saved before it counts most.
        q = self._round_trip
        if q is not None and len(args) == 1 and not kwargs:
            first = args[0]
            if type(first) is q[0] and not metrics.enabled:
                shared = q[1](first)
                if shared is not None:  # a CPU array: no CUDA stream to enter
                    fn: Any = self._fn  # called with the one argument it was given
                    if injections or not self._oom_active:
                        out = self._oom.run(fn, shared)
                        ours = type(out) is q[2]
                    else:  # OOMPolicy.run's first call, inlined: a method call saved
                        try:
                            out = fn(shared)
                            ours = type(out) is q[2]  # q[2] is never a jax array type
                            if not ours:
                                out = settled(out)
                        except Exception as exc:
                            out = self._oom.recover(exc, fn, (shared,), {})
                            ours = type(out) is q[2]
                    if ours and (result := q[3](out)) is not None:
                        # Shared back quickly: of first's own type, q[0] (a quick share
                        # gives its framework's plain array; remembered only so, below).
                        if self._preserve:
                            dtype = result.dtype
                            if dtype is first.dtype or dtype == first.dtype:
                                return result  # type: ignore[no-any-return]
                        elif self._native:
                            return result  # type: ignore[no-any-return]
                        return self._dtype_policy(result, first)  # type: ignore[no-any-return]
                    result = self._placed_back(out, first, q[4])
                    if self._native:
                        return result  # type: ignore[no-any-return]
                    if self._preserve and type(result) is type(first):
                        dtype = result.dtype
                        if dtype is first.dtype or dtype == first.dtype:
                            return result  # type: ignore[no-any-return]
                    return self._dtype_policy(result, first)  # type: ignore[no-any-return]
        result = UNSEEN
        c = self._contract
        target = c.memory_type
        if self._quick and len(args) == 1 and not kwargs:
            first = args[0]
            first_kind = _KINDS.get(type(first))
            if first_kind is target:
                if self._hook is None or self._hook(first) is None:
                    result = c.oom.run(self._fn, first)
                    if not self._to_input or _KINDS.get(type(result)) is not first_kind:
                        result = self._place(result, first, first_kind, moved=False)
            else:
                # Filled by the general path's first call of this pair.
                quick = _QUICK.get((first_kind, target))
                if quick is not None and not metrics.enabled:
                    shared = quick(first)
                    if shared is not None:
                        out = c.oom.run(self._fn, shared)
                        result = self._placed_back(out, first, first_kind)
                        back = _QUICK.get((_KINDS.get(type(out)), first_kind))
                        # Remembered only where the share back gives first's own type,
                        # which the round trip's return then takes for granted.
                        if back is not None and self._to_input and type(result) is type(first):
                            self._round_trip = (type(first), quick, type(out), back, first_kind)
        if result is UNSEEN:
            first, first_kind, result = call_general(self, args, kwargs)
            if first_kind is None:  # no array argument (a coroutine, refused: see _place)
                return deferred_result(self, result)  # type: ignore[no-any-return]
        # (Returned without typing.cast: a function call, on the path every call takes.)
        if self._native:
            return result  # type: ignore[no-any-return]
        if self._preserve and type(result) is type(first):
            dtype = result.dtype
            if dtype is first.dtype or dtype == first.dtype:
                return result  # type: ignore[no-any-return]
        return self._dtype_policy(result, first)  # type: ignore[no-any-return]

    _dtype_policy = dtype_policy  # (result, first): with the dtype policy applied

    def _place(
        self, result: Any, first: Any, first_kind: Any, *, moved: bool, call: Any = None
    ) -> Any:
        """``result`` where the contract puts it. Placing can run out of memory (a GPU
        result to the host, a dask graph computed): the policy then runs the call ``call``
        (its arguments and keyword arguments; None: ``first`` alone; False: none, within
        that recovery) again (ADR 0072). A coroutine or generator is refused."""
        result = deferred_result(self, result) if type(result) in DEFERRED else result
        try:
            return place_with_policy(
                result,
                self._contract,
                first,
                first_kind,
                moved=moved,
                bool_stand_in=self._bool_stand_in,
            )
        except (ConversionError, UnsupportedArrayError, DtypeConversionError, DeviceError) as exc:
            raise of_result(self, exc, result=result) from exc
        except Exception as exc:  # out-of-memory is decided by the backends
            if call is False:
                raise
            failed = exc
        args, kwargs = ((first,), {}) if call is None else call
        return recover(self, failed, args, kwargs, first, first_kind)

    def _placed_back(self, result: Any, first: Any, first_kind: Any, call: Any = None) -> Any:
        """The result of a quick-shared call, shared back quickly or else placed."""
        if self._to_input:
            quick = quick_share(_KINDS.get(type(result)), first_kind)
            if quick is not None:
                back = quick(result)
                if back is not None:
                    return back
        return self._place(result, first, first_kind, moved=True, call=call)


# The decorator's annotations name DispatchedFunction, imported there only for type
# checkers (a runtime import would be circular): given here, typing.get_type_hints of
# arrayport.memory_type resolves it at run time too.
_dispatch_decorator.DispatchedFunction = DispatchedFunction  # type: ignore[attr-defined]
