"""The shapes :func:`arrayport.testing.arrays` is given: checked, made Python ints, and
refused where the memory type cannot hold them (pyclesperanto: 1- to 3-D, non-empty)."""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType

__all__ = ["CLE_MAX_DIMS", "check_held_shape", "check_shape", "fixed_shape"]

#: The most dimensions a pyclesperanto array has (it holds no 0-d or empty arrays either).
CLE_MAX_DIMS = 3


def check_shape(shape: tuple[Any, ...], given: Any) -> tuple[int, ...]:
    """``shape`` as Python ints (numpy integers are taken), or an :class:`InvalidOptionError`."""
    for n in shape:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
            msg = f"arrays(shape={given!r}): sizes must be ints >= 0"
            raise InvalidOptionError(msg)
    return tuple(int(n) for n in shape)


def fixed_shape(shape: Any) -> tuple[int, ...]:
    """A shape given as a value (an int, a numpy integer or a sequence of them) as a tuple
    of Python ints, or an :class:`InvalidOptionError`."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        return check_shape((shape,), shape)
    sizes: tuple[Any, ...]
    try:
        sizes = tuple(shape)
    except TypeError:
        sizes = (shape,)  # not a sequence: refused below
    return check_shape(sizes, shape)


def check_held_shape(memory_type: MemoryType, shape: tuple[int, ...], given: Any) -> None:
    """An :class:`InvalidOptionError` naming ``arrays(shape=)`` when an array of
    ``memory_type`` cannot have ``shape``: a shape is refused, never drawn and then failed
    by the conversion (pyclesperanto holds 1- to 3-D arrays with no empty axis)."""
    if memory_type is not MemoryType.PYCLESPERANTO:
        return
    if 1 <= len(shape) <= CLE_MAX_DIMS and all(shape):
        return
    msg = (
        f"arrays({memory_type.value!r}, shape={given!r}): pyclesperanto holds 1- to "
        f"{CLE_MAX_DIMS}-D arrays with no empty axis, not shape {shape}; draw shapes it "
        "holds with shapes_for('pyclesperanto')"
    )
    raise InvalidOptionError(msg)
