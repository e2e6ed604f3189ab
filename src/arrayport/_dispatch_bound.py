"""A dispatched method bound to its instance (or a classmethod's class): what
``obj.method`` is when ``method`` was decorated with :func:`arrayport.memory_type`.

Python's own bound method (``types.MethodType``) hands every attribute to its function,
``options`` included: ``obj.method.options(...)`` made an unbound variant, the instance was
lost and the arguments shifted by one (``x`` became ``self``). :class:`BoundDispatched`
binds the variant again; otherwise it is what a bound method is: ``__self__`` and
``__func__``, the function's attributes (``__wrapped__``, ``__name__``, ``__qualname__``,
``__doc__``, ``contract``; not ``__module__``, which stays this module's), a signature
without ``self``, equality and hashing by instance and function, and pickling as the
function's binding to the instance.

It is a :class:`functools.partial` of the function and the instance, so that its call
puts the instance first in C, as a bound method's does, and the dispatched call then
runs as it would for ``Cls.method(obj, ...)``.
"""

from __future__ import annotations

import functools
import sys
from types import MethodType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

from arrayport._dispatch_callables import Signature, as_given, classmethod_owner

if TYPE_CHECKING:
    from arrayport.dispatch import DispatchedFunction
    from arrayport.memory_types import MemoryType

__all__ = ["BoundDispatched", "options_of"]

R = TypeVar("R")

#: Python 3.13 dropped classmethod's call of the inner ``__get__``: ``Cls.method`` of a
#: classmethod over a dispatched function is a ``types.MethodType``, which hands
#: ``.options`` to the function without the class.
_PLAIN_CLASSMETHODS = sys.version_info >= (3, 13)


def variant(base: DispatchedFunction[Any, Any], overrides: dict[str, Any]) -> Any:
    """``base``'s function (as decorated) with some of its options replaced, unbound."""
    from arrayport.dispatch import DispatchedFunction

    return DispatchedFunction(as_given(base), base.contract.replace(**overrides))


def options_of(base: DispatchedFunction[Any, Any], overrides: dict[str, Any]) -> Any:
    """``base.options(**overrides)``: the variant; on Python 3.13+, of a classmethod's
    function (below ``@classmethod``), bound to the class that defines the classmethod
    (:func:`~arrayport._dispatch_callables.classmethod_owner`), since ``Cls.method`` gave
    no class (on earlier Pythons it is a :class:`BoundDispatched`, whose options bind it).
    ``Sub.method.options()`` binds the defining class too, not ``Sub``, and a class defined
    in a function is not found: above ``@classmethod``, the class read from is bound."""
    made = variant(base, overrides)
    owner = classmethod_owner(base) if _PLAIN_CLASSMETHODS and base._binds else None
    return made if owner is None else BoundDispatched(made, owner)


class _FunctionDoc:
    """``__doc__``: the bound function's docstring, the class's on the class."""

    def __get__(self, obj: Any, owner: Any = None) -> str | None:
        if obj is None:
            return "A dispatched method bound to its instance (obj.method)."
        doc: str | None = obj.func.__doc__
        return doc


class BoundDispatched(functools.partial[R]):
    """``obj.method`` for a dispatched ``method``: call it as the method; ``options(...)``
    gives the variant bound to the same instance. For a type checker, a call returns what
    the function does (``R``); its parameters are not checked."""

    __slots__ = ()

    @property
    def __func__(self) -> DispatchedFunction[..., R]:
        return cast("DispatchedFunction[..., R]", self.func)

    @property
    def __self__(self) -> Any:
        return self.args[0]

    # As DispatchedFunction.options: a variant that puts its result elsewhere returns Any.
    @overload
    def options(self, *, output: Literal["declared"], **overrides: Any) -> BoundDispatched[R]: ...
    @overload
    def options(self, *, output: MemoryType | str, **overrides: Any) -> BoundDispatched[Any]: ...
    @overload
    def options(self, **overrides: Any) -> BoundDispatched[R]: ...
    def options(self, **overrides: Any) -> BoundDispatched[R]:
        """The method's variant with some options replaced, bound to the same instance."""
        base = cast("DispatchedFunction[..., R]", self.func)
        return BoundDispatched(variant(base, overrides), self.args[0])

    def __getattr__(self, name: str) -> Any:
        # As a bound method: the function's attributes (contract, __wrapped__, __name__, ...).
        return getattr(self.func, name)

    # The function's docstring (help(obj.method)); the class's own on the class. Not
    # __module__: the type's must stay its module's name, a string (type(x).__module__ is
    # read of every argument), so it is this module's, not the function's.
    __doc__ = _FunctionDoc()

    # A bound method's: the function's without its first parameter.
    __signature__ = Signature(lambda bound: MethodType(bound.func, bound.args[0]))

    def __get__(self, obj: Any, objtype: Any = None) -> BoundDispatched[R]:
        # Already bound, as a bound method is: kept as a class attribute, it binds no second
        # instance (functools.partial warns that it will on 3.13 and does on 3.14).
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoundDispatched):
            return NotImplemented
        return self.args[0] is other.args[0] and self.func == other.func

    def __hash__(self) -> int:
        return hash((id(self.args[0]), self.func))

    def __reduce__(self) -> tuple[Any, ...]:
        # The function (by reference, or a variant as its base and contract) bound again:
        # __get__(obj, obj), where a function above @classmethod binds its second (objtype).
        return (self.func.__get__, (self.args[0], self.args[0]))

    def __repr__(self) -> str:
        name = getattr(self.func, "__qualname__", None) or repr(self.func)
        return f"<bound method {name} of {self.args[0]!r}>"
