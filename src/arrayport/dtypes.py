"""Dtype conversion policy, written once in array-API terms (skeleton: being implemented)."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["DtypeConversion", "Scaling", "convert_dtype"]


class DtypeConversion(enum.Enum):
    """What dtype a dispatched function's primary output gets."""

    PRESERVE_INPUT = "preserve_input"
    NATIVE_OUTPUT = "native_output"
    UINT8 = "uint8"
    UINT16 = "uint16"
    INT16 = "int16"
    INT32 = "int32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"


class Scaling(enum.Enum):
    """How values are mapped when the dtype changes."""

    VALUE = "value"
    UNIT = "unit"
    MINMAX = "minmax"


def convert_dtype(x: Any, dtype: Any, *, scaling: Scaling = Scaling.VALUE) -> Any:
    raise NotImplementedError
