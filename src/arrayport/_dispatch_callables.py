"""What :func:`arrayport.memory_type` accepts, and how a dispatched function of a script
travels to other processes (decision record 0069).

* :func:`unwrapped`: a staticmethod's or classmethod's function (the dispatched function
  binds the class itself: Python 3.13's classmethod no longer asks it to), non-callables
  refused; :func:`classmethod_owner`: the class of a classmethod over a dispatched function.
* :func:`refuse_deferred_bodies`: generator and coroutine functions are refused when
  decorating; their bodies run after the call has returned, outside the dispatch. One
  that hides under a decorator is refused by its result (:func:`deferred_result`).
* :func:`adopt_identity`: the wrapper's name and docstring, and whether it binds.
* :func:`reduction`: how a dispatched function pickles: by reference like a plain
  function, an ``.options()`` variant as its base and contract (:func:`with_contract`),
  anything else by value.
* :func:`main_payload` and :func:`from_main`: a dispatched function defined in
  ``__main__`` pickles to ``from_main(qualname, payload)``, which takes the loading
  process's own ``__main__`` definition when there is one (a spawned process runs the same
  script), else the plain function and contract the payload carries by value (a dask
  worker, a notebook's kernel elsewhere).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from functools import partial, update_wrapper
from types import AsyncGeneratorType, CoroutineType, FunctionType, GeneratorType
from typing import TYPE_CHECKING, Any

from arrayport.errors import InvalidOptionError

if TYPE_CHECKING:
    from arrayport._contract import FunctionContract
    from arrayport.dispatch import DispatchedFunction

__all__ = [
    "DEFERRED",
    "Signature",
    "adopt_identity",
    "as_given",
    "classmethod_owner",
    "deferred_result",
    "from_main",
    "main_payload",
    "reduction",
    "refuse_deferred_bodies",
    "unwrapped",
    "with_contract",
]


def unwrapped(fn: Any) -> tuple[Any, bool, bool]:
    """The function :func:`arrayport.memory_type` dispatches, and whether it is a
    staticmethod's and a classmethod's (also: a dispatched classmethod's, decorated again);
    anything that is not callable is refused."""
    from arrayport.dispatch import DispatchedFunction

    static, cls = isinstance(fn, staticmethod), isinstance(fn, classmethod)
    if static or cls:
        fn = fn.__func__
    if not callable(fn):
        msg = (
            f"memory_type decorates functions and methods, not {fn!r}; with @staticmethod "
            "or @classmethod, put @memory_type(...) above it"
        )
        raise InvalidOptionError(msg)
    return fn, static, cls or (isinstance(fn, DispatchedFunction) and fn._class)


def refuse_deferred_bodies(fn: Any) -> None:
    """Refuse functions whose body runs after the call returns: a coroutine or generator
    function returns a coroutine or generator at once, so its arrays would never be
    placed, converted by the dtype policy, or run under the OOM policy.

    What a call of ``fn`` runs is asked too: a ``functools.partial``'s callable, a callable
    instance's ``__call__``. A ``functools.wraps`` wrapper is not unwrapped: it may run
    what it wraps to the end (``asyncio.run``), so only its result tells
    (:func:`deferred_result`)."""
    seen = 0
    while seen < 100:  # a partial of a partial of ...: each its own inner callable
        kind = _deferred_kind(fn)
        if kind is not None:
            name = getattr(fn, "__qualname__", None) or repr(fn)
            raise InvalidOptionError(_refusal(name, kind))
        if not isinstance(fn, partial):
            return
        fn, seen = fn.func, seen + 1


def _deferred_kind(fn: Any) -> str | None:
    """What kind of deferred body ``fn`` (or, for a callable instance, its class's
    ``__call__``) has, or None."""
    # A callable instance runs its class's __call__ (inspect looks at the instance only).
    instance = not (inspect.isroutine(fn) or inspect.isclass(fn) or isinstance(fn, partial))
    body = type(fn).__call__ if instance else fn
    # Either may say so (an AsyncMock is marked a coroutine function itself).
    return (
        _KINDS[CoroutineType]
        if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(body)
        else _KINDS[AsyncGeneratorType]
        if inspect.isasyncgenfunction(fn) or inspect.isasyncgenfunction(body)
        else _KINDS[GeneratorType]
        if inspect.isgeneratorfunction(fn) or inspect.isgeneratorfunction(body)
        else None
    )


#: What a call returns when its body runs later, and what that makes the function.
_KINDS: dict[type, str] = {
    CoroutineType: "a coroutine function (async def)",
    AsyncGeneratorType: "an async generator function",
    GeneratorType: "a generator function",
}
DEFERRED = frozenset(_KINDS)


def _refusal(name: str, kind: str) -> str:
    return (
        f"memory_type cannot dispatch {name}: it is {kind}, whose body runs after the "
        "call returns, outside the dispatch (its arrays would not be moved back, "
        "converted or covered by the OOM policy); decorate the plain function it "
        "calls for each array instead"
    )


def deferred_result(dispatched: DispatchedFunction[Any, Any], result: Any) -> Any:
    """``result`` itself, unless it is a coroutine, generator or async generator (a function
    :func:`refuse_deferred_bodies` could not see as one: under a ``functools.wraps``
    decorator): then it is closed, its body never run, and the refusal raised. Asked only
    of results that are not arrays, where the call would return them as they are."""
    kind = _KINDS.get(type(result))
    if kind is None:
        return result
    close = getattr(result, "close", None)  # an async generator, never started, has none
    if close is not None:
        close()  # (a coroutine never awaited would warn so)
    name = getattr(dispatched, "__qualname__", None) or repr(dispatched._fn)
    what = type(result).__name__.replace("_", " ")  # "generator", "async generator", ...
    article = "an" if what[0] in "aeiou" else "a"
    msg = (
        f"memory_type cannot dispatch {name}: it returned {article} {what}, whose body runs after "
        "the call returns, outside the dispatch (its arrays would not be moved back, "
        "converted or covered by the OOM policy); return a list or tuple of the results "
        "instead, or, for a coroutine, decorate the plain function it calls"
    )
    raise InvalidOptionError(msg)


class Signature:
    """The ``__signature__`` of a callable object standing for another: the signature
    ``of(obj)`` gives (for a dispatched function, its ``__wrapped__``'s). ``inspect.signature``
    follows ``__wrapped__`` by itself, but ``inspect.getfullargspec`` does not (Keras's
    ``Lambda`` layer asks it) and found no signature. A descriptor, not a property: on the
    class it is None, so that ``inspect.signature`` of the class itself still works."""

    def __init__(self, of: Callable[[Any], Any]) -> None:
        self._of = of

    def __get__(self, obj: Any, owner: Any = None) -> inspect.Signature | None:
        if obj is None:
            return None
        try:
            return inspect.signature(self._of(obj))
        except (ValueError, TypeError) as exc:
            try:  # a method whose function takes no self: inspect's own error
                inspect.signature(obj.__wrapped__)
            except (ValueError, TypeError):  # a builtin without one: as if not there
                raise AttributeError("__signature__") from exc
            raise


def adopt_identity(wrapper: Any, fn: Any, static: bool) -> bool:
    """Give ``wrapper`` the name, docstring and ``__wrapped__`` of ``fn`` and say whether
    it binds as a method where ``fn`` would (functions and dispatched functions; not a
    callable instance, a ``functools.partial`` or a staticmethod's function).

    A plain function's own attributes are copied, as ``functools.wraps`` copies them;
    another callable's are not: a dispatched function's private state (its slicing, a
    staticmethod) or an instance's fields (``self.options``) would override the wrapper's.
    """
    from arrayport.dispatch import DispatchedFunction

    update_wrapper(wrapper, fn, updated=())
    dispatched = isinstance(fn, DispatchedFunction)
    if isinstance(fn, FunctionType) or dispatched:
        # A dispatched function's: the ones it took from its function, not its own state.
        own = [(k, v) for k, v in vars(fn).items() if not (dispatched and k.startswith("_"))]
        # One setattr each, not vars(wrapper).update(): reading an instance's __dict__
        # gives it a dict of its own, and CPython 3.11 then reads every attribute the
        # call path reads (self._fn, ...) through a dict lookup (about 15 ns each).
        for k, v in own:
            if not hasattr(type(wrapper), k):
                setattr(wrapper, k, v)
        wrapper.__wrapped__ = fn  # not a __wrapped__ fn carries (as update_wrapper does)
    if dispatched:  # binds where the function inside binds (not a staticmethod's)
        return not static and bool(fn._binds)
    return not static and hasattr(type(fn), "__get__") and not isinstance(fn, partial)


def reduction(
    dispatched: DispatchedFunction[Any, Any], fn: Any, contract: FunctionContract
) -> str | tuple[Any, ...]:
    """``dispatched.__reduce__()``: ``fn`` and ``contract`` are its function and contract."""
    from arrayport.dispatch import DispatchedFunction

    # By value (a functools.partial or a callable instance has no __qualname__ to copy),
    # with its contract; a staticmethod's or classmethod's function with its kind as state
    # (pickle takes neither wrapper; cloudpickle, for main_payload, takes both).
    by_value: tuple[Any, ...] = (DispatchedFunction, (fn, contract))
    if dispatched._static or dispatched._class:
        by_value += ({"_static": dispatched._static, "_class": dispatched._class, "_binds": False},)
    qualname = getattr(dispatched, "__qualname__", None)
    if qualname is None:
        return by_value
    module = getattr(dispatched, "__module__", None)
    found, bound = lookup(sys.modules.get(module or ""), qualname)
    if found is dispatched:
        if module == "__main__":  # a script's or notebook's: see from_main
            return (from_main, (qualname, main_payload(as_given(dispatched), contract)))
        if bound:  # a classmethod's: getattr gives it bound, which pickle finds unequal
            return (by_name, (module, qualname))
        return str(qualname)  # pickled by reference, like a plain function
    if isinstance(found, DispatchedFunction) and found._fn is fn:
        return (with_contract, (found, contract))  # an .options() variant
    return by_value


def lookup(root: Any, qualname: str) -> tuple[Any, bool]:
    """What ``qualname`` names in ``root`` (a module), a classmethod's function unbound,
    and whether it was bound there (a classmethod's: ``getattr`` binds it to the class)."""
    from arrayport.dispatch import DispatchedFunction

    *outer, last = qualname.split(".")
    for part in outer:
        root = getattr(root, part, None)
    found = getattr(root, last, None)
    if isinstance(found, DispatchedFunction) or not isinstance(root, type):
        return found, False
    static = inspect.getattr_static(root, last, None)
    if isinstance(static, DispatchedFunction):  # above @classmethod: getattr binds it
        return static, True
    inner = getattr(static, "__func__", None)
    return (inner, True) if isinstance(inner, DispatchedFunction) else (found, False)


def classmethod_owner(dispatched: Any) -> type | None:
    """The class whose classmethod's function ``dispatched`` is (below ``@classmethod``),
    found by its module and qualified name; None for any other, or a class not found so (one
    defined in a function)."""
    *outer, last = (getattr(dispatched, "__qualname__", None) or "").split(".")
    root: Any = sys.modules.get(getattr(dispatched, "__module__", None) or "")
    for part in outer:
        root = getattr(root, part, None)
    if not isinstance(root, type):
        return None
    static = inspect.getattr_static(root, last, None)
    return root if isinstance(static, classmethod) and static.__func__ is dispatched else None


def as_given(dispatched: DispatchedFunction[Any, Any]) -> Any:
    """``dispatched``'s function as it was decorated: a staticmethod's or classmethod's
    wrapped again."""
    fn = dispatched._fn
    return staticmethod(fn) if dispatched._static else classmethod(fn) if dispatched._class else fn


def by_name(module: str, qualname: str) -> Any:
    """The dispatched function ``qualname`` of ``module`` (a classmethod's), unpickled."""
    return lookup(importlib.import_module(module), qualname)[0]


def with_contract(
    base: DispatchedFunction[Any, Any], contract: FunctionContract
) -> DispatchedFunction[Any, Any]:
    """``base``'s function with ``contract``: an ``.options()`` variant unpickled."""
    from arrayport.dispatch import DispatchedFunction

    return DispatchedFunction(as_given(base), contract)


def main_payload(fn: Callable[..., Any], contract: FunctionContract) -> bytes | None:
    """A dispatched function's plain ``fn`` and ``contract`` pickled by value (cloudpickle),
    for a process whose ``__main__`` does not define it (a dask worker, a notebook's
    elsewhere): None when cloudpickle was not imported (nothing sends functions to such
    processes then) or cannot pickle them."""
    if "cloudpickle" not in sys.modules:
        return None
    from arrayport._dask_worker import dumps_by_value

    try:
        return dumps_by_value((fn, contract))
    except Exception:  # unpicklable globals: the reference alone, as before
        return None


def from_main(qualname: str, payload: bytes | None) -> DispatchedFunction[Any, Any]:
    """A ``__main__`` dispatched function unpickled: the one ``__main__`` defines here
    (a spawned process runs the same script), else the one its payload carries."""
    from arrayport.dispatch import DispatchedFunction

    found = lookup(sys.modules.get("__main__"), qualname)[0]
    if isinstance(found, DispatchedFunction):
        return found
    if payload is None:
        msg = (
            f"the dispatched function {qualname} was defined in another process's __main__ "
            "(a script or notebook) and is not defined here; define it in a module both "
            "can import, or import cloudpickle before pickling it so that it travels by value"
        )
        raise AttributeError(msg)
    import cloudpickle  # type: ignore[import-untyped, unused-ignore]

    fn, contract = cloudpickle.loads(payload)
    return DispatchedFunction(fn, contract)


# Pickles name it where arrayport.dispatch imports it (as FunctionContract, ADR 0042):
# no private module path is stored in a pickle.
by_name.__module__ = from_main.__module__ = with_contract.__module__ = "arrayport.dispatch"
