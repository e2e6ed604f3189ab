"""A ``slice_by_slice`` call's stack that the function's memory type cannot hold, kept on
the host (:func:`arrayport.stack.restack`), for placement to convert where the call's
``output`` asks for another memory type.

pyclesperanto holds 1- to 3-D arrays and stacks on the host (``JOINS_ON_HOST``): a
function returning a 3-D pyclesperanto array per slice gives a 4-D stack, which could not
be pushed back, whatever ``output`` said. It is kept as the numpy stack; ``output="numpy"``
(or ``"input"`` for a numpy caller) returns it, another memory type gets it converted.
``output="declared"`` promises the memory type the function returned, which cannot hold
it: :func:`refuse_declared` says so, and what to do, by name.

Also remembered of a numpy stack of per-slice results: which slices were numpy scalars
(numpy's reductions return them; stacked as the 0-d arrays they stand for), so that an
OOM split's join cutting the stack back into its slices' results gives those slices
numpy scalars and the others 0-d arrays, as the unsplit call's list per slice holds them
(:func:`remember_scalars`, :func:`scalar_slices`, :func:`joined_scalars`).

And the two other ways a stack is joined where :func:`arrayport.stack.restack` needs one:
a backend's own stack of 2-D planes on its device (:func:`stack_on_device`); and what
:func:`arrayport.process_slices` says when the stack's memory type cannot hold the stack
of fn's results (:func:`not_restacked`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from arrayport.backends import get_backend
from arrayport.convert import convert, plan
from arrayport.devices import Device
from arrayport.errors import ConversionError, InvalidOptionError, in_context
from arrayport.memory_types import MemoryType

__all__ = [
    "PER_SLICE",
    "joined_scalars",
    "keep_on_host",
    "kept",
    "kept_join",
    "not_restacked",
    "refuse_declared",
    "remember_scalars",
    "scalar_slices",
    "stack_on_device",
]

#: How a function gets one result per slice back instead of a stack (a refusal's remedy).
PER_SLICE = (
    "for one result per slice instead, return it inside a list, `return [crop]`, which comes "
    "back as one list per slice while the shapes differ: crops of one "
    "shape in every slice are restacked, `[stack]`; a dict, `return {'crop': crop}`, always "
    "comes back one per slice, its arrays as the function made them"
)

# id of a kept host stack -> (a weak reference to it, the memory type that cannot hold
# it, the shape of each slice's result, why not: said of the stack's own shape).
_KEPT: dict[int, tuple[weakref.ref[Any], tuple[MemoryType, tuple[int, ...], str]]] = {}
# id of a numpy stack -> (a weak reference to it, which of its slices were numpy scalars).
_SCALARS: dict[int, tuple[weakref.ref[Any], tuple[bool, ...]]] = {}


def keep_on_host(stack: np.ndarray, mt: MemoryType, item_shape: tuple[int, ...]) -> bool:
    """Whether the host ``stack`` of per-slice results of ``mt`` (of ``item_shape`` each)
    stays on the host, because ``mt`` cannot hold its shape (it is then remembered)."""
    backend = get_backend(mt)
    refusal = getattr(backend, "shape_refusal", None)
    if refusal is None:
        return False
    why = refusal(get_backend(MemoryType.NUMPY).describe(stack))
    if why is None:
        return False
    _remember(stack, (mt, item_shape, why))
    return True


def _remember(stack: Any, kept: tuple[MemoryType, tuple[int, ...], str]) -> None:
    key = id(stack)
    _KEPT[key] = (weakref.ref(stack, lambda _: _KEPT.pop(key, None)), kept)


def _kept(value: Any) -> tuple[MemoryType, tuple[int, ...], str] | None:
    found = _KEPT.get(id(value))
    return found[1] if found is not None and found[0]() is value else None


def _why(value: Any) -> str | None:
    """What ``output="declared"`` is told of the kept stack ``value`` (its own shape: the
    whole stack's where an OOM split joined pieces)."""
    found = _kept(value)
    if found is None:
        return None
    mt, item_shape, why = found
    return (
        f"slice_by_slice: fn returned {mt.value} arrays of shape {item_shape} per slice, and "
        f"their stack of shape {tuple(value.shape)} cannot be a {mt.value} array ({why}); "
        "with output='declared' the stack would have that memory type: return numpy "
        "arrays from fn, or declare output='numpy' (or another memory type that holds it)"
    )


def kept(result: Any) -> bool:
    """Whether ``result``, or an item of a tuple or list result, is a stack
    :func:`keep_on_host` kept on the host."""
    if not _KEPT:
        return False
    values = result if isinstance(result, (tuple, list)) else (result,)
    return any(_why(value) is not None for value in values)


def kept_join(joined: Any, parts: list[Any]) -> Any:
    """``joined``, the split pieces' ``parts`` concatenated (a stack, or a tuple or list
    of them), remembered as kept on the host where the pieces' stacks were."""
    if not _KEPT:
        return joined
    sequence = isinstance(joined, (tuple, list))
    for i, value in enumerate(joined if sequence else (joined,)):
        for part in parts:
            piece = part[i] if sequence and isinstance(part, (tuple, list)) else part
            found = _kept(piece)
            if found is not None and isinstance(value, np.ndarray):
                _remember(value, found)
                break
    return joined


def refuse_declared(result: Any) -> None:
    """Raise :class:`InvalidOptionError` if ``result`` (an ``output="declared"`` sliced
    call's result), or an item of a tuple or list result, is a stack :func:`keep_on_host`
    kept on the host."""
    if not _KEPT:
        return
    for value in result if isinstance(result, (tuple, list)) else (result,):
        why = _why(value)
        if why is not None:
            raise InvalidOptionError(why)


def remember_scalars(stack: Any, scalars: list[bool]) -> None:
    """Remember which slices of the numpy ``stack`` were numpy scalars (if any were)."""
    if isinstance(stack, np.ndarray) and any(scalars):
        key = id(stack)
        _SCALARS[key] = (weakref.ref(stack, lambda _: _SCALARS.pop(key, None)), tuple(scalars))


def scalar_slices(stack: Any) -> tuple[bool, ...] | None:
    """Which slices of ``stack`` were numpy scalars; None: none (or not remembered)."""
    found = _SCALARS.get(id(stack))
    return found[1] if found is not None and found[0]() is stack else None


def joined_scalars(joined: Any, parts: list[Any], lengths: list[int]) -> Any:
    """``joined``, the split pieces' ``parts`` (of ``lengths`` slices) concatenated (a
    stack, or a tuple or list of them), with which of its slices were numpy scalars
    remembered from the pieces' stacks."""
    if not _SCALARS:
        return joined
    sequence = isinstance(joined, (tuple, list))
    for i, value in enumerate(joined if sequence else (joined,)):
        pieces = [part[i] if sequence else part for part in parts]
        found = [scalar_slices(p) or (False,) * n for p, n in zip(pieces, lengths, strict=True)]
        remember_scalars(value, [flag for flags in found for flag in flags])
    return joined


def stack_on_device(
    items: list[Any],
    kinds: list[MemoryType],
    mt: MemoryType,
    device: Device | None,
    stack_planes: Callable[[Iterable[Any], Any, int, Device], Any],
) -> Any:
    """2-D ``items`` (of ``kinds``) stacked by the backend's ``stack_planes`` on one
    device of ``mt``."""
    backend = get_backend(mt)
    # plan() refuses, before anything moves, any slice whose dtype the memory type cannot
    # hold exactly, and settles the device.
    dev = plan(items[0], mt, device=device).device
    for s in items[1:]:
        plan(s, mt, device=dev)
    sources = list(items)
    on_device = [kinds[i] is mt and backend.device_of(s) == dev for i, s in enumerate(items)]
    if not any(on_device):
        # One slice converted alone gives the device handle and the (possibly widened) dtype.
        sources[0] = convert(items[0], mt, device=dev)
        on_device[0] = True
    like = sources[on_device.index(True)]
    # Each other slice is copied to the host only as its plane is written: one at a time.
    planes = (
        s if own else convert(s, MemoryType.NUMPY)
        for s, own in zip(sources, on_device, strict=True)
    )
    return stack_planes(planes, like, len(sources), dev)


def not_restacked(exc: ConversionError, fn: Callable[..., Any], mt: MemoryType) -> Exception:
    """``exc``, the refusal of the stack of ``fn``'s per-slice results in ``mt`` (where
    :func:`arrayport.process_slices` restacks them: every slice has run), said of
    process_slices and ``fn``, with what to do; of ``exc``'s class and attributes."""
    name = getattr(fn, "__qualname__", None) or repr(fn)
    where = (
        f"process_slices: the results of {name} (fn) cannot be restacked as {mt.value}, the "
        "memory type of the stack it was given, where process_slices restacks them"
    )
    hint = (
        f"return from fn what {mt.value} holds: a dtype it holds, e.g. "
        "arrayport.convert_dtype(result, 'float32') inside fn where every value fits, and a "
        "shape it holds; or have them restacked in another memory type: process_slices("
        f"arrayport.convert(stack, 'numpy'), lambda s: fn(arrayport.convert(s, '{mt.value}')))"
    )
    return in_context(exc, where, hint)
