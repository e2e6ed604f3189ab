"""Which argument of a dispatched call could not be moved to the declared memory type.

A conversion's own message names the data (``cannot convert float64 from numpy to jax``)
but not the call: with several array arguments, or an array default the caller never
passed, it does not say which one to fix. :func:`of_argument` says it again of the
argument, found again only once the call has failed (nothing here runs on a call that
succeeds).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, TypeGuard, TypeVar

from arrayport._arguments import array_type, is_container
from arrayport.convert import plan
from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    DeviceError,
    OutOfMemoryError,
    in_context,
)
from arrayport.memory_types import MemoryType

__all__ = ["about_an_argument", "describe", "of_argument"]

_E = TypeVar("_E", bound=ArrayportError)


def about_an_argument(exc: Exception | None, device: Any) -> TypeGuard[ArrayportError]:
    """Whether ``exc``, raised moving the arguments of a call declaring ``device``, is about
    one of them: not running out of memory (the OOM policy's), nor the declared memory type
    or device."""
    if not isinstance(exc, ArrayportError):
        return False
    if isinstance(exc, (OutOfMemoryError, BackendUnavailableError)):
        return False
    return device is None or not isinstance(exc, DeviceError)


def of_argument(
    exc: _E,
    fn: Callable[..., Any],
    name: str,
    call: tuple[tuple[Any, ...], dict[str, Any]],
    given: tuple[tuple[Any, ...], dict[str, Any]],
    target: MemoryType,
    device: Any,
) -> _E:
    """``exc``, raised moving the arguments of ``call`` (``given`` by the caller, plus the
    array defaults of ``fn``) to ``target``, said of the argument that raised it: the
    first whose conversion, planned again, raises the same class of error."""
    args, kwargs = call
    places: Iterator[tuple[int | str, Any]] = chain(enumerate(args), kwargs.items())
    for place, value in places:
        for item in _arrays_in(value):
            try:
                plan(item, target, device=device)
            except type(exc):
                return in_context(exc, _describe(fn, name, place, call, given), _hint(target, name))
            except Exception:  # another error of another argument: not this one
                continue
    return in_context(exc, f"an argument of {name}", _hint(target, name))


def _arrays_in(value: Any) -> Iterator[Any]:
    for item in value if is_container(value) else (value,):
        if array_type(item) is not None:
            yield item


def describe(
    fn: Callable[..., Any],
    name: str,
    place: int | str,
    inner: bool,
    call: tuple[tuple[Any, ...], dict[str, Any]],
    given: tuple[tuple[Any, ...], dict[str, Any]],
) -> str:
    """The argument at ``place`` of ``call`` (``inner``: an item of it), said as
    ``argument 'k' of f (its default value)``: by name where the signature tells it."""
    said = _describe(fn, name, place, call, given)
    return f"an item of {said}" if inner else said


def _describe(
    fn: Callable[..., Any],
    name: str,
    place: int | str,
    call: tuple[tuple[Any, ...], dict[str, Any]],
    given: tuple[tuple[Any, ...], dict[str, Any]],
) -> str:
    default = place not in given[1] if isinstance(place, str) else place >= len(given[0])
    label = repr(place) if isinstance(place, str) else f"#{place + 1}"
    if isinstance(place, int):  # its parameter's name, where the signature tells it
        try:
            bound = inspect.signature(fn).bind_partial(*call[0])
        except (TypeError, ValueError):
            pass
        else:
            names = list(bound.arguments)
            if place < len(names) and names[place] in bound.signature.parameters:
                kind = bound.signature.parameters[names[place]].kind
                if kind is not inspect.Parameter.VAR_POSITIONAL:
                    label = repr(names[place])
    return f"argument {label} of {name}" + (" (its default value)" if default else "")


def _hint(target: MemoryType, name: str) -> str:
    return f"every array argument is moved to {target.value} before {name} runs"
