"""What the dtype policy knows about each dtype, and how it names them in a namespace.

:data:`DTYPES` maps every dtype name :func:`arrayport.convert_dtype` knows to its
:class:`Kind` (kind letter, bits, exact range); :func:`xp_dtype` finds the dtype object of
that name in an array API namespace, and :func:`scalar` makes an exact 0-d array of it. The
policy itself is :mod:`arrayport._dtype_policy`; its exact roundings are
:mod:`arrayport._dtype_rounding`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["DTYPES", "Kind", "is_value", "scalar", "xp_dtype"]


@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    """What the policy needs to know about a dtype.

    ``kind`` is ``"b"``, ``"u"``, ``"i"``, ``"f"`` or ``"c"``. For bool and integers ``lo``
    and ``hi`` are the exact range (bool counts as the range 0..1); for floats they are
    minus and plus the largest finite value; for complex types those of the component.
    """

    name: str
    kind: str
    bits: int
    lo: int | float
    hi: int | float

    @property
    def component(self) -> str:
        """The real dtype of a complex type's parts (the name itself otherwise)."""
        return {"complex64": "float32", "complex128": "float64"}.get(self.name, self.name)


def _int(name: str, bits: int, signed: bool) -> Kind:
    if signed:
        return Kind(name, "i", bits, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return Kind(name, "u", bits, 0, (1 << bits) - 1)


_F16_MAX = 65504.0
_BF16_MAX = float.fromhex("0x1.fep127")
_F32_MAX = float.fromhex("0x1.fffffep127")
_F64_MAX = float.fromhex("0x1.fffffffffffffp1023")

#: Every dtype convert_dtype knows, by canonical name.
DTYPES: dict[str, Kind] = {
    "bool": Kind("bool", "b", 1, 0, 1),
    **{f"int{b}": _int(f"int{b}", b, True) for b in (8, 16, 32, 64)},
    **{f"uint{b}": _int(f"uint{b}", b, False) for b in (8, 16, 32, 64)},
    "float16": Kind("float16", "f", 16, -_F16_MAX, _F16_MAX),
    "bfloat16": Kind("bfloat16", "f", 16, -_BF16_MAX, _BF16_MAX),
    "float32": Kind("float32", "f", 32, -_F32_MAX, _F32_MAX),
    "float64": Kind("float64", "f", 64, -_F64_MAX, _F64_MAX),
    "complex64": Kind("complex64", "c", 64, -_F32_MAX, _F32_MAX),
    "complex128": Kind("complex128", "c", 128, -_F64_MAX, _F64_MAX),
}


def xp_dtype(xp: Any, name: str) -> Any:
    """The namespace's dtype object called ``name`` (float16/bfloat16 are not in the
    standard but numpy, torch, jax and cupy all expose them under that name)."""
    found = getattr(xp, name, None)
    if found is None and name == "bfloat16":
        import ml_dtypes  # numpy's bfloat16; installed with jax and tensorflow

        return np.dtype(ml_dtypes.bfloat16)
    if found is None and name == "float16" and "dask" in getattr(xp, "__name__", ""):
        # array-api-compat's dask namespace leaves out float16, but dask arrays hold numpy
        # dtypes, float16 included.
        return np.dtype(np.float16)
    if found is None:
        msg = f"the array namespace {getattr(xp, '__name__', xp)!r} has no dtype {name}"
        raise TypeError(msg)
    return found


def scalar(xp: Any, value: int | float, dtype: str, like: Any) -> Any:
    """A 0-d array of ``dtype`` on ``like``'s device: exact even for 2**64-1, which a bare
    Python int in ``where`` is not for every namespace."""
    import array_api_compat

    return xp.asarray(value, dtype=xp_dtype(xp, dtype), device=array_api_compat.device(like))


def is_value(x: Any) -> bool:
    """Whether ``x`` is an array or a scalar value rather than a dtype: numpy reads such a
    value's ``.dtype`` as a dtype (``np.dtype(jnp.zeros(2))``), which no dtype option
    should take (dtypes and scalar types, ``np.float32``, are not values)."""
    if isinstance(x, np.generic):
        return True
    return not isinstance(x, (type, np.dtype)) and hasattr(x, "shape")
