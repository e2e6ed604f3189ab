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

from arrayport.backends._torch_data import holds_elements

__all__ = [
    "make_read_only",
    "CONTIGUOUS_OWNDATA",
    "C_CONTIGUOUS",
    "WRAPPED_DTYPES",
    "bind",
    "checked_view",
    "quick_from_numpy",
    "quick_to_numpy",
]

# numpy's ALIGNED (pointer and strides multiples of the dtype's alignment) and WRITEABLE
# flag bits (``ndarray.flags.num``), and WARN_ON_WRITE (np.broadcast_arrays' views, which
# numpy will make read-only). A read-only array is never wrapped: torch has no read-only
# tensors (as _host.writes_allowed says).
_ALIGNED_WRITEABLE = 0x0100 | 0x0400
_CHECKED = _ALIGNED_WRITEABLE | 1 << 31
# numpy's C_CONTIGUOUS and OWNDATA flag bits: what one read of ``Tensor.numpy()``'s flags
# must show for the view to be handed out as it is (see :func:`checked_view`).
C_CONTIGUOUS = 0x0001
_OWNDATA = 0x0004
CONTIGUOUS_OWNDATA = C_CONTIGUOUS | _OWNDATA

# Native-order dtypes ``torch.from_numpy`` wraps as they are, whose numpy alignment is the
# item size (so ALIGNED means what torch needs: element-aligned pointer and strides): bool,
# the signed and unsigned integers of every width, float16/32/64 by numpy type code. Complex
# dtypes are left to the planner: numpy aligns them to half their size.
WRAPPED_DTYPES = frozenset(
    dt for dt in map(np.dtype, "?bhilqBHILQefd") if dt.alignment == dt.itemsize
)


def as_wrapped(a: np.ndarray) -> np.ndarray:
    """``a`` in a dtype ``torch.from_numpy`` takes: numpy's ulonglong ('Q', another type
    code for uint64 where uint64 is 'L') is refused by torch, so it is viewed as uint64."""
    return a.view(np.uint64) if a.dtype.char == "Q" else a


# Bound when torch is imported (:func:`bind`): a module attribute read per call counts here.
_from_numpy: Any = None
_Tensor: Any = None
_ndarray = np.ndarray
_compiling: Any = bool  # torch.compiler.is_dynamo_compiling once bound: False until then


def bind(torch: Any) -> None:
    """Called by the torch backend once torch is imported."""
    global _from_numpy, _Tensor, _compiling
    _from_numpy, _Tensor = torch.from_numpy, torch.Tensor
    # Not is_compiling(): one flag for the whole process, true in every thread while any
    # thread compiles (or torch.export runs), so eager calls there would get writable views.
    _compiling = getattr(getattr(torch, "compiler", None), "is_dynamo_compiling", bool)


def make_read_only(view: np.ndarray) -> None:
    """``view.flags.writeable = False``, except while dynamo (``torch.compile``) traces it:
    dynamo stands a tensor in for the ndarray, which has no such flag (its trace failed
    with an AssertionError), and ignores numpy's read-only flag anyway."""
    if not _compiling():
        view.flags.writeable = False


def quick_from_numpy(x: Any) -> Any:
    """``torch.from_numpy(x)`` for a plain, writable, element-aligned ndarray of a dtype
    torch holds, else None. Negative strides (which torch refuses) give None too."""
    if (
        type(x) is not _ndarray
        or x.flags.num & _CHECKED != _ALIGNED_WRITEABLE
        or x.dtype not in WRAPPED_DTYPES
    ):
        return None
    try:
        return _from_numpy(x)
    except (ValueError, TypeError):  # a negative stride, or ulonglong: the planner's
        return None


def quick_to_numpy(x: Any) -> Any:
    """``x.numpy()`` for a plain dense CPU tensor of a dtype numpy holds, else None.

    ``Tensor.numpy`` itself refuses everything the planner treats otherwise (autograd,
    lazy conj/neg bits, sparse and other layouts, meta and GPU devices, bfloat16 and
    other dtypes numpy lacks, wrappers without storage such as ZeroTensor, vmap's and
    grad's), with RuntimeError or TypeError, and more than 64 dimensions with ValueError.
    A view :func:`checked_view` rejects (a tensor without memory), and the view of a
    storage that no longer holds the elements (:func:`holds_elements`), are left to the
    planner too, which refuses them; an expanded tensor's view comes back read-only.
    """
    if type(x) is not _Tensor:
        return None
    try:
        view = x.numpy()
    except (RuntimeError, TypeError, ValueError):
        return None
    # One flag read for the common case; the rest only for other layouts. A storage freed
    # or shrunk under the view (it still points there) is left to the planner, which
    # refuses it: for a compact view, the storage must hold the view's bytes past its
    # offset (three reads, about 0.2 us).
    flags = view.flags.num
    if flags & CONTIGUOUS_OWNDATA != C_CONTIGUOUS:
        return checked_view(view, flags) if holds_elements(x) else None
    if x.untyped_storage().nbytes() < view.nbytes + x.storage_offset() * view.itemsize:
        return None
    return view


def checked_view(view: np.ndarray, flags: int) -> np.ndarray | None:
    """``view``, what ``Tensor.numpy()`` returned, as arrayport hands it out, or None when
    torch had no memory behind it. ``flags`` is ``view.flags.num``: callers test
    ``flags & CONTIGUOUS_OWNDATA == C_CONTIGUOUS`` (the view as it is) before calling.

    torch gives numpy its data pointer. A null one (storage freed with
    ``x.untyped_storage().resize_(0)``, a functional or zero tensor) makes numpy allocate an
    uninitialised buffer of its own, so a non-empty view that owns its data holds garbage,
    not the tensor's values. A view with stride 0 on an axis longer than 1 (an
    ``expand()``ed tensor) is made read-only, as numpy makes its own ``broadcast_to``
    views: one write through it would change several elements. Other overlapping layouts
    (``as_strided``) stay as torch gives them, writable like numpy's ``as_strided``.
    """
    if flags & _OWNDATA:
        return None if view.size else view
    strides = view.strides
    if 0 in strides:
        for step, n in zip(strides, view.shape, strict=True):
            if step == 0 and n > 1:
                make_read_only(view)
                break
    return view
