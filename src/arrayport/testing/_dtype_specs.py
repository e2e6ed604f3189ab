"""The dtypes :func:`arrayport.testing.strategies.arrays` is asked for: each read as a numpy
dtype, kept as given (byte order included), refused where the memory type cannot hold it
exactly, and marked where it names its byte order (``"<f2"``, ``"=f4"``, ``">f8"``), which
the drawn layouts must then leave alone.

Apart from :mod:`arrayport.testing.strategies` so that module stays small; the dtype names
each memory type holds come from there (``dtypes_for``), passed in as ``held``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType
from arrayport.testing._options import dtype_of

__all__ = ["ANY_BYTE_ORDER", "Asked", "asked_dtype", "fixed_dtypes", "keeps_byte_order"]

#: Memory types whose arrays keep a non-native byte order (dask's chunks are numpy arrays).
ANY_BYTE_ORDER = frozenset({MemoryType.NUMPY, MemoryType.DASK})

#: The characters that open a dtype string naming its byte order.
_ORDERS = ("<", ">", "=")

#: The dtypes jax holds only in 64-bit mode.
_JAX_X64 = frozenset({"int64", "uint64", "float64", "complex128"})

_X64_HINT = (
    " (jax holds 64-bit dtypes only in 64-bit mode: set JAX_ENABLE_X64=1 before jax is "
    "imported, or call jax.config.update('jax_enable_x64', True) before building the strategy)"
)


class Asked(NamedTuple):
    """A dtype asked for: the numpy dtype, and whether the spec named its byte order."""

    dtype: np.dtype[Any]
    pinned: bool


def _names_byte_order(spec: Any) -> bool:
    """Whether a dtype spec names its byte order: a string opening with ``<``, ``>`` or
    ``=``, or a numpy dtype of non-native order (``np.dtype("<f4")`` is native, and cannot
    be told from ``np.dtype("f4")``)."""
    if isinstance(spec, str):
        return spec.strip()[:1] in _ORDERS
    return isinstance(spec, np.dtype) and spec.byteorder in _ORDERS[:2]


def keeps_byte_order(memory_type: MemoryType, asked: Asked) -> bool:
    """Whether arrays of ``memory_type`` drawn for ``asked`` must keep its byte order, so
    that no drawn layout may turn it big-endian (other memory types hold native order)."""
    return asked.pinned and memory_type in ANY_BYTE_ORDER


def _held(memory_type: MemoryType, dt: np.dtype[Any], given: Any, held: tuple[str, ...]) -> None:
    """Refuse ``dt`` with an :class:`InvalidOptionError` unless an array of
    ``memory_type`` holds it exactly: a draw never quietly becomes another dtype
    (pyclesperanto would store bool as uint8, torch a big-endian dtype in native order)."""
    if memory_type is MemoryType.NUMPY:
        return
    if dt.newbyteorder("=").name not in held:
        x64 = memory_type is MemoryType.JAX and dt.name in _JAX_X64
        msg = (
            f"arrays({memory_type.value!r}, dtype={given!r}): {memory_type.value} cannot hold "
            f"{dt.name} exactly; it holds {', '.join(held)}{_X64_HINT if x64 else ''}"
        )
        raise InvalidOptionError(msg)
    if not dt.isnative and memory_type not in ANY_BYTE_ORDER:
        msg = (
            f"arrays({memory_type.value!r}, dtype={given!r}): {memory_type.value} arrays have "
            f"native byte order, not {dt.str}; ask for {dt.newbyteorder('=').name} with "
            "layout='bigendian' to start from a big-endian numpy array"
        )
        raise InvalidOptionError(msg)


def asked_dtype(memory_type: MemoryType, spec: Any, given: Any, held: tuple[str, ...]) -> Asked:
    """``spec`` (one dtype-like; ``given``: as the caller wrote it, for messages) as the
    dtype it asks for, held by ``memory_type``, else an :class:`InvalidOptionError`."""
    dt = dtype_of(spec, given, held)
    _held(memory_type, dt, given, held)
    return Asked(dt, _names_byte_order(spec))


def fixed_dtypes(memory_type: MemoryType, dtype: Any, held: tuple[str, ...]) -> list[Asked]:
    """The dtypes a dtype or a sequence of them asks for, each kept as given (byte order
    included) and held by ``memory_type``; an empty sequence is refused."""
    if not isinstance(dtype, (list, tuple, set, frozenset)):
        return [asked_dtype(memory_type, dtype, dtype, held)]
    if not dtype:
        msg = (
            f"arrays(dtype={dtype!r}): no dtype to draw from; name at least one, or pass None "
            f"for every dtype {memory_type.value} holds"
        )
        raise InvalidOptionError(msg)
    found: list[Asked] = []
    for d in dtype:
        asked = asked_dtype(memory_type, d, dtype, held)
        if asked not in found:
            found.append(asked)
    if isinstance(dtype, (set, frozenset)):  # no order of their own: a fixed one
        found.sort(key=lambda a: (a.dtype.str, a.pinned))
    return found
