"""The memory types arrayport knows: one per array framework."""

from __future__ import annotations

import enum

from arrayport.errors import InvalidOptionError

__all__ = ["MemoryType", "as_memory_type"]


class MemoryType(str, enum.Enum):
    """A framework whose arrays arrayport can convert to and dispatch on.

    The members compare equal to their string values, so ``MemoryType.TORCH == "torch"``.
    """

    NUMPY = "numpy"
    CUPY = "cupy"
    TORCH = "torch"
    JAX = "jax"
    TENSORFLOW = "tensorflow"
    PYCLESPERANTO = "pyclesperanto"
    DASK = "dask"

    def __str__(self) -> str:
        return self.value


def as_memory_type(value: MemoryType | str) -> MemoryType:
    """Return ``value`` as a :class:`MemoryType`.

    Raises
    ------
    InvalidOptionError
        If ``value`` names no memory type; the message lists the valid names.
    """
    if isinstance(value, MemoryType):
        return value
    if isinstance(value, str):
        try:
            return MemoryType(value.lower())
        except ValueError:
            pass
    names = ", ".join(repr(m.value) for m in MemoryType)
    msg = f"{value!r} is not a memory type; use one of {names}"
    raise InvalidOptionError(msg)
