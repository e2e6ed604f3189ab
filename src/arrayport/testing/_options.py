"""Checks of :func:`arrayport.testing.strategies.arrays`' options, made when the strategy is
built, and the element strategy it draws values from by default.

Apart from :mod:`arrayport.testing.strategies` so that module stays small; it needs
hypothesis, which only the strategies import.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis.extra import numpy as hnp

from arrayport.devices import parse_device
from arrayport.errors import DeviceError, InvalidOptionError
from arrayport.memory_types import MemoryType

__all__ = ["checked_device", "checked_flag", "default_elements"]


def checked_flag(name: str, value: Any) -> bool | None:
    """``value`` as a bool (a numpy bool taken as one), or ``None`` (hypothesis decides),
    else an :class:`InvalidOptionError` naming ``arrays(name=)``: refused when the strategy
    is built, whatever dtypes it draws, not only once a float dtype is drawn."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    msg = f"arrays({name}={value!r}): {name} takes True, False or None, not {type(value).__name__}"
    raise InvalidOptionError(msg)


def default_elements(
    dtype: np.dtype[Any],
    allow_nan: bool | None,
    allow_infinity: bool | None,
    allow_subnormal: bool | None,
) -> Any:
    """Every value of ``dtype`` as hypothesis draws them; the flags narrow float and complex
    values (``None``: hypothesis' default) and mean nothing for integers and bool."""
    if dtype.kind in "fc":
        return hnp.from_dtype(
            dtype,
            allow_nan=allow_nan,
            allow_infinity=allow_infinity,
            allow_subnormal=allow_subnormal,
        )
    return hnp.from_dtype(dtype)


def checked_device(memory_type: MemoryType, device: Any) -> Any:
    """``device`` itself if it is a device (:func:`arrayport.devices.parse_device`) an
    array of ``memory_type`` may be placed on as far as can be told without a framework
    (numpy: only the CPU), else an :class:`InvalidOptionError` naming ``arrays(device=)``."""
    try:
        parsed = parse_device(device)
    except DeviceError as exc:
        msg = f"arrays({memory_type.value!r}, device={device!r}): {exc}"
        raise InvalidOptionError(msg) from exc
    if memory_type is MemoryType.NUMPY and parsed is not None and not parsed.is_cpu:
        msg = (
            f"arrays('numpy', device={device!r}): numpy arrays live in host memory, not on "
            f"{parsed}; use device='cpu' or None"
        )
        raise InvalidOptionError(msg)
    return device
