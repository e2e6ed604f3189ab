"""The general path of a dispatched call: every call the fast paths of
:class:`arrayport.dispatch.DispatchedFunction` do not take.

:func:`call_general` scans the arguments (:mod:`arrayport._arguments`), runs a call with
nothing to convert where it is, hands dask input to :mod:`arrayport._dask_dispatch`, takes
the backends' quick shares for a whole argument list (ADR 0048), else converts the
arguments onto one device (:mod:`arrayport._placement`; :func:`recover` when that runs out
of memory), and runs the function in the stream its first argument needs, slice by slice
when asked, under the contract's OOM policy. The result is placed by the dispatched
callable's own ``_place``/``_placed_back``, which its fast paths share (and which call
:func:`recover` when placing runs out of memory).

The fast paths call :func:`call_general` only when they cannot answer, so nothing here is on
the path a no-conversion call takes (``docs/decisions/0015-dispatch-fast-path.md``).
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from arrayport._argument_context import about_an_argument, of_argument
from arrayport._arguments import (
    DASK_INPUT,
    KINDS,
    NO_CONVERSION,
    array_type,
    arrays,
    is_container,
    scan,
)
from arrayport._dtype_policy import DTYPES
from arrayport._metrics import metrics
from arrayport._oom_recognition import Site, oom_memory_type
from arrayport._placement import (
    call,
    convert_arguments,
    device_of_or_none,
    place,
    quick_arguments,
    resolve_device,
    taken_back,
)
from arrayport._result_hint import result_hint, result_where
from arrayport._results import collecting
from arrayport._slicing import sliced, sliced_policy
from arrayport._stack_host import kept
from arrayport.errors import (
    BackendUnavailableError,
    ConversionError,
    DeviceError,
    DtypeConversionError,
    UnsupportedArrayError,
    UnsupportedDtypeError,
    in_context,
)

if TYPE_CHECKING:
    from arrayport.dispatch import DispatchedFunction
    from arrayport.memory_types import MemoryType

__all__ = [
    "array_defaults",
    "call_general",
    "of_result",
    "recover",
    "with_array_defaults",
]

#: A parameter whose default is an array (or a list or tuple holding one): its position
#: (None for a keyword-only one, which no positional argument fills, however many a
#: ``*args`` call passes), its name (None when positional-only), and the defaults of the
#: parameters up to it (a positional-only one is filled in with those before it;
#: ``inspect.Parameter.empty`` where there is none).
ArrayDefault = tuple[int | None, str | None, tuple[Any, ...]]

# Bound by assignment, not by import, as in arrayport.dispatch (see the note there): the
# ``_KINDS.get`` below runs on every general call.
_KINDS = KINDS


def array_defaults(fn: Callable[..., Any]) -> tuple[ArrayDefault, ...]:
    """The parameters of ``fn`` whose default is an array (``kernel=np.ones(3)``), or a
    list or tuple holding one (``kernels=(k1, k2)``: moved as such an argument is).

    The defaults are read where ``functools.wraps`` points (a wrapper ``(*args,
    **kwargs)`` passes them on), but one is added to a call only where ``fn`` itself
    takes it: a wrapper that fixes a parameter (``def wrapper(image)``) is called as it is.
    """
    try:
        parameters = list(inspect.signature(fn).parameters.values())
        own = inspect.signature(fn, follow_wrapped=False).parameters.values()
    except (TypeError, ValueError):  # builtins and callables without a signature
        return ()
    kinds = {p.kind for p in own}
    named = {p.name for p in own if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in own)
    found: list[ArrayDefault] = []
    for i, p in enumerate(parameters):
        if p.default is p.empty or not _holds_an_array(p.default):
            continue
        if p.kind is p.POSITIONAL_ONLY:
            if i < positional or p.VAR_POSITIONAL in kinds:
                found.append((i, None, tuple(q.default for q in parameters[: i + 1])))
        elif p.name in named or p.VAR_KEYWORD in kinds:
            index = None if p.kind is p.KEYWORD_ONLY else i
            found.append((index, p.name, (p.default,)))
    return tuple(found)


def _holds_an_array(value: Any) -> bool:
    if array_type(value) is not None:
        return True
    return is_container(value) and any(array_type(v) is not None for v in value)


def with_array_defaults(
    defaults: tuple[ArrayDefault, ...], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``args`` and ``kwargs`` with each array default that was not given added: by
    keyword, or positionally (after the defaults before it) for a positional-only one."""
    for index, name, values in defaults:
        if (index is not None and index < len(args)) or name in kwargs:
            continue
        if name is not None:
            kwargs = {**kwargs, name: values[0]}
            continue
        fill = values[len(args) :]
        # A required parameter before it is missing: the call fails as Python says.
        if not any(v is inspect.Parameter.empty for v in fill):
            args = (*args, *fill)
    return args, kwargs


#: Each function's parameter names -> their place in its signature (for in_signature_order).
_PLACES: weakref.WeakKeyDictionary[Callable[..., Any], dict[str, int]] = weakref.WeakKeyDictionary()


def in_signature_order(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the parameters ``fn`` names in the order its signature gives them,
    then any others (``**kwargs``) as given: "the first array argument" is then the same
    whatever order the call writes keywords in (``f(image=x, weights=w)`` and
    ``f(weights=w, image=x)``). Which keyword came first is not something ``fn`` can
    observe, except among its ``**kwargs``, which keep their order."""
    try:
        places = _PLACES.get(fn)
    except TypeError:  # not weakly referable (a builtin): asked each time
        places = None
    if places is None:
        try:
            names = inspect.signature(fn).parameters
        except (TypeError, ValueError):  # no signature: the call's own order
            return kwargs
        # Only the parameters a keyword can name: a **kwargs entry called like *args, the
        # **kwargs parameter itself or a positional-only parameter keeps its given order.
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        places = {name: i for i, (name, p) in enumerate(names.items()) if p.kind in named}
        with contextlib.suppress(TypeError):
            _PLACES[fn] = places
    last = sys.maxsize  # after every parameter
    return dict(sorted(kwargs.items(), key=lambda item: places.get(item[0], last)))


def call_general(
    dispatched: DispatchedFunction[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, Any, Any]:
    """Any call: ``(first array argument, its kind, placed result)``; the kind is None
    when there is no array argument (the result is then the function's own)."""
    if not dispatched._collects:
        return _general(dispatched, args, kwargs)
    # output="declared" with a fallback: what the fallback leaves in its own memory type
    # for the dtype policy comes back to the declared type (ADR 0068's amendment).
    with collecting(dispatched._fn) as left:
        first, first_kind, result = _general(dispatched, args, kwargs)
    if left.items and first_kind is not None:
        c = dispatched._contract
        result = taken_back(result, left, c, first, dispatched._bool_stand_in)
    return first, first_kind, result


def _first_given(
    dispatched: DispatchedFunction[Any, Any],
    target: MemoryType,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, Any]:
    first, first_kind, _ = scan(args, target, False)
    if first_kind is None and kwargs:
        ordered = in_signature_order(dispatched._fn, kwargs)
        first, first_kind, _ = scan(ordered.values(), target, False)
    return first, first_kind


def _general(
    dispatched: DispatchedFunction[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, Any, Any]:
    c = dispatched._contract
    target = c.memory_type
    given, added = (args, kwargs), False
    if dispatched._array_defaults:
        args, kwargs = with_array_defaults(dispatched._array_defaults, args, kwargs)
        added = args is not given[0] or kwargs is not given[1]
    if len(kwargs) > 1:
        kwargs = in_signature_order(dispatched._fn, kwargs)
    first, first_kind, needs = scan(args, target, False)
    if kwargs:
        f, fk, n = scan(kwargs.values(), target, False)
        needs = max(needs, n)
        if first_kind is None:
            first, first_kind = f, fk
    if added:
        # The reference for output="input" and the dtype policy is the first array the
        # caller gave; an array default only where the call gave none.
        f, fk = _first_given(dispatched, target, *given)
        if fk is not None:
            first, first_kind = f, fk
    if first_kind is None:
        return None, None, c.oom.run(dispatched._fn, *args, **kwargs)
    if needs == NO_CONVERSION and c.device is None:
        if not dispatched._slices and (dispatched._hook is None or dispatched._hook(first) is None):
            result = c.oom.run(dispatched._fn, *args, **kwargs)
        else:
            result = _run(dispatched, args, kwargs, first, None)
        if not dispatched._to_input or _KINDS.get(type(result)) is not first_kind:
            result = dispatched._place(result, first, first_kind, moved=False, call=(args, kwargs))
        return first, first_kind, result
    if needs == DASK_INPUT:
        reference = first if added else None  # the caller's first array, not a default
        return first, None, _run_on_dask(dispatched, args, kwargs, reference, given)
    quick = None
    if dispatched._quick and not kwargs and not metrics.enabled:
        quick = quick_arguments(args, target)
    if quick is not None:
        # Quick shares are CPU arrays: there is no CUDA stream to enter.
        return (
            first,
            first_kind,
            dispatched._placed_back(
                c.oom.run(dispatched._fn, *quick), first, first_kind, call=(args, {})
            ),
        )
    failed: Exception | None = None
    try:
        cargs, ckwargs, cfirst, dev = convert_arguments(args, kwargs, first, target, c.device)
    except Exception as exc:  # moving the inputs can run out of memory (on a GPU, often)
        failed = exc
    if about_an_argument(failed, c.device):
        name = getattr(dispatched, "__qualname__", None) or repr(dispatched._fn)
        call = (args, kwargs)
        raise of_argument(failed, dispatched._fn, name, call, given, target, c.device) from failed
    if failed is not None:  # the recovery places its result itself
        return first, first_kind, recover(dispatched, failed, args, kwargs, first, first_kind)
    result = _run(dispatched, cargs, ckwargs, cfirst, dev)
    call = (args, kwargs)
    return first, first_kind, dispatched._place(result, first, first_kind, moved=True, call=call)


# What a result's conversion or dtype policy raises, said again of the dispatched call.
_Refusal = ConversionError | UnsupportedArrayError | DtypeConversionError | DeviceError


def of_result(
    dispatched: DispatchedFunction[Any, Any],
    exc: _Refusal,
    *,
    policy: bool = False,
    result: Any = None,
) -> _Refusal:
    """``exc`` (convert's words, or the dtype policy's: ``policy``) said of ``result``, of
    ``dispatched``, with the options that keep such a result as the function made it."""
    name = getattr(dispatched, "__qualname__", None) or repr(dispatched._fn)
    where = f"the result of {name}{result_where(dispatched)}"
    # A dtype the policy has no rule for (float128, float8, complex32), wherever raised.
    policy = policy or isinstance(exc, DtypeConversionError)
    policy = policy or (isinstance(exc, UnsupportedDtypeError) and exc.dtype not in DTYPES)
    native = policy or isinstance(exc, UnsupportedArrayError)  # masked, object, float128
    hint = result_hint(dispatched, exc, native)  # none keeps a masked result on dask
    fixed = getattr(dispatched._contract.dtype_conversion, "value", None)
    if isinstance(exc, UnsupportedDtypeError) and exc.dtype == fixed:  # the declared dtype
        holder = getattr(exc.target, "value", exc.target)
        hint = (
            f"declare a dtype {holder} holds (.options(dtype_conversion=...)), or "
            f"output='numpy' for {fixed} in host memory; {hint}"
        )
    if kept(result):  # a sliced stack its memory type cannot hold: output='declared' refuses it
        hint = "output='numpy' returns the stack in host memory, where it is kept"
    return in_context(exc, where, hint)


def recover(
    dispatched: DispatchedFunction[Any, Any],
    exc: Exception,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    first: Any,
    first_kind: Any,
) -> Any:
    """The OOM policy for a call whose arguments ran out of memory on their way to the
    declared memory type (ADR 0055) or whose result did on its way back (ADR 0072); ``exc``
    again when it is not out-of-memory. Each attempt and each piece of a split converts,
    runs (without a policy of its own) and places again, so that a piece's result leaves
    the memory that ran out before the next piece runs; the fallback runs the function
    elsewhere, and its result goes straight to where the call's result goes. The dtype
    policy is applied once, to the whole recovered result, as it is to an unfailed run's:
    never to a piece (``Scaling.MINMAX`` stretches by the data)."""
    c = dispatched._contract
    target = c.memory_type
    if not c.oom._active or oom_memory_type(exc, target) is None:
        # Not out-of-memory: the conversion's own error, before anything below asks the
        # input for its device (a jax tracer would answer with jax's ConcretizationTypeError).
        raise exc

    def convert_and_run(*a: Any, **k: Any) -> Any:
        ca, ck, cf, dev = convert_arguments(a, k, next(arrays(a, k))[0], target, c.device)
        result = _run(dispatched, ca, ck, cf, dev, plain=True)  # the policy is the recovery's
        try:  # where the call's result goes, but in the dtype the function made
            return place(result, c.output, first, first_kind, moved=True, keep=True)
        except (ConversionError, UnsupportedArrayError) as err:
            raise of_result(dispatched, err, result=result) from err

    fn, policy = dispatched._fn, c.oom
    if c.slice_by_slice:  # the fallback runs slice by slice too, as retries do
        fn = sliced(fn)
        policy = sliced_policy(policy, args, kwargs)
    site = Site(target, resolve_device(c.device))
    if c.output == "input":
        # None for a jax tracer or sharded array (ADR 0075): its result stays as made.
        result_site = Site(first_kind, device_of_or_none(first_kind, first))
    elif c.output == "declared":
        result_site = site
    else:
        result_site = Site(cast("MemoryType", c.output), None)
    result = policy.recover_conversion(exc, convert_and_run, fn, args, kwargs, site, result_site)
    # Placed as an unfailed run's result is (a sliced call's marked per-slice lists too:
    # _stack_rows), the dtype policy included; an error here (running out of memory
    # again) is raised, not recovered twice.
    return dispatched._place(result, first, first_kind, moved=True, call=False)


def _run(
    dispatched: DispatchedFunction[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    first: Any,
    dev: Any,
    *,
    plain: bool = False,
) -> Any:
    """Run the function on converted arguments, in the stream the first one needs,
    under the OOM policy (``plain``: without it, for a recovery already running, and with
    a sliced call's per-slice lists still marked for its split: :class:`_split.Rows`)."""
    hook = dispatched._hook
    stream = hook(first) if hook is not None else None
    if stream is None:
        return _run_here(dispatched, args, kwargs, first, dev, plain)
    with stream:
        return _run_here(dispatched, args, kwargs, first, dev, plain)


def _run_here(
    dispatched: DispatchedFunction[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    first: Any,
    dev: Any,
    plain: bool,
) -> Any:
    c = dispatched._contract
    # slice_by_slice: the policy runs the sliced function, so that a retry, a split (of
    # the stack) and a fallback each run every slice of what they are given.
    sliced_fn = dispatched._sliced_fn
    if plain:
        return call(sliced_fn or dispatched._fn, *args, **kwargs)
    if sliced_fn is None:
        return c.oom.run(dispatched._fn, *args, **kwargs)
    # Per-slice lists stay marked (_split.Rows) for placement, which unmarks them.
    return sliced_policy(c.oom, args, kwargs).run(sliced_fn, *args, **kwargs)


def _run_on_dask(
    fn: DispatchedFunction[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], *ref: Any
) -> Any:
    """:func:`_dask_dispatch.run_on_dask`'s answer (``ref``: its reference and given)."""
    try:
        from arrayport._dask_dispatch import run_on_dask
    except ModuleNotFoundError as exc:
        if not (exc.name == "arrayport._dask_dispatch" or (exc.name or "").startswith("dask")):
            raise
        msg = (
            f"{getattr(fn, '__qualname__', repr(fn))} got a dask array, and dask dispatch is "
            f"not available here ({exc}); install it with: pip install 'arrayport[dask]'"
        )
        raise BackendUnavailableError(msg) from exc
    return run_on_dask(fn, args, kwargs, *ref)
