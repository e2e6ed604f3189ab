"""Which dtypes arrayport moves between frameworks (ADR 0054), named in one place.

:data:`EXCHANGED_DTYPES` is checked by every conversion between two frameworks;
:func:`holds_numbers` is what a numpy or dask array must hold to be an array at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["EXCHANGED_DTYPES", "STANDARD_DTYPES", "holds_numbers"]

#: The dtypes of the array API standard (their names match NumPy's): bool, signed and
#: unsigned integers of 8 to 64 bits, float32, float64, complex64, complex128.
STANDARD_DTYPES = frozenset(
    (
        "bool",
        *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)),
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
)

#: The dtypes arrayport moves between frameworks: the standard's plus float16 and bfloat16.
#: Other dtypes (numpy's longdouble, ml_dtypes' float8 and int4 families, jax's sub-byte
#: types, torch's complex32) stay within their framework: an identity or a same-framework
#: copy works, a conversion elsewhere is refused by name.
EXCHANGED_DTYPES = STANDARD_DTYPES | {"float16", "bfloat16"}


def holds_numbers(dtype: np.dtype[Any]) -> bool:
    """Whether a numpy dtype holds numbers: numpy's own numeric and bool types and
    ml_dtypes' (bfloat16, float8, int4, ...), recognised by module so that ml_dtypes is not
    imported to look. Which of them may leave their framework is
    :data:`EXCHANGED_DTYPES`' question."""
    if dtype.isbuiltin == 2:  # user-defined: ml_dtypes' are numbers, anything else is not
        return dtype.type.__module__ == "ml_dtypes"
    return dtype.kind in "biufc"
