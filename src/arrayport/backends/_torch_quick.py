"""The torch <-> numpy shares a dispatched call takes without planning (ADR 0048).

A torch-declared function called with numpy arrays converts each argument in and the
result back out. Planning those conversions (:func:`arrayport.convert`'s route key and
cache lookup) costs several times the share itself, so :mod:`arrayport._placement` asks
these two functions first. Each answers only when a few flag reads prove that
:func:`arrayport.convert` would choose exactly this zero-copy host share (the same call on
the same memory), and returns None otherwise, for the full planner to route or refuse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["WRAPPED_DTYPES", "bind", "quick_from_numpy", "quick_to_numpy"]

# numpy's ALIGNED (pointer and strides multiples of the dtype's alignment) and WRITEABLE
# flag bits (``ndarray.flags.num``). A read-only array is never wrapped: torch has no
# read-only tensors.
_ALIGNED_WRITEABLE = 0x0100 | 0x0400

# Native-order dtypes ``torch.from_numpy`` wraps as they are, whose numpy alignment is the
# item size (so ALIGNED means what torch needs: element-aligned pointer and strides): bool,
# the signed and unsigned integers of every width, float16/32/64 by numpy type code. Complex
# dtypes are left to the planner: numpy aligns them to half their size.
WRAPPED_DTYPES = frozenset(
    dt for dt in map(np.dtype, "?bhilqBHILQefd") if dt.alignment == dt.itemsize
)

# Bound when torch is imported (:func:`bind`): a module attribute read per call counts here.
_from_numpy: Any = None
_Tensor: Any = None
_ndarray = np.ndarray


def bind(torch: Any) -> None:
    """Called by the torch backend once torch is imported."""
    global _from_numpy, _Tensor
    _from_numpy, _Tensor = torch.from_numpy, torch.Tensor


def quick_from_numpy(x: Any) -> Any:
    """``torch.from_numpy(x)`` for a plain, writable, element-aligned ndarray of a dtype
    torch holds, else None. Negative strides (which torch refuses) give None too."""
    if (
        type(x) is not _ndarray
        or x.flags.num & _ALIGNED_WRITEABLE != _ALIGNED_WRITEABLE
        or x.dtype not in WRAPPED_DTYPES
    ):
        return None
    try:
        return _from_numpy(x)
    except ValueError:  # a negative stride: the planner copies
        return None


def quick_to_numpy(x: Any) -> Any:
    """``x.numpy()`` for a plain dense CPU tensor of a dtype numpy holds, else None.

    ``Tensor.numpy`` itself refuses everything the planner treats otherwise (autograd,
    lazy conj/neg bits, sparse and other layouts, meta and GPU devices, bfloat16 and
    other dtypes numpy lacks), with RuntimeError or TypeError.
    """
    if type(x) is not _Tensor:
        return None
    try:
        return x.numpy()
    except (RuntimeError, TypeError):
        return None
