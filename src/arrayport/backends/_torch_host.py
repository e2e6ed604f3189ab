"""A torch tensor's values on the host for numpy: a view of a CPU tensor's memory where
one exists (:func:`tensor_host_view`), a copy otherwise (:func:`tensor_to_numpy`), and the
plain tensor every copy out of a tensor starts from (:func:`plain`, which the backend's
``copy`` and ``move`` use too).

Importing this module imports no framework and nothing from the torch backend: torch is
passed in by the backend, which has loaded it; its ``host_view`` and ``to_numpy`` call
:func:`tensor_host_view` and :func:`tensor_to_numpy`.

Quirks routed around here:

* An ``expand()``ed tensor (stride 0 on an axis longer than 1) is shared with numpy as a
  read-only view, as numpy's ``broadcast_to`` marks its own
  (:func:`arrayport.backends._torch_quick.checked_view`, which the quick share to numpy
  uses too).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from arrayport.backends._torch_data import holds_elements
from arrayport.backends._torch_describe import describe_tensor
from arrayport.backends._torch_quick import (
    C_CONTIGUOUS,
    CONTIGUOUS_OWNDATA,
    checked_view,
    make_read_only,
)
from arrayport.backends._util import numpy_dtype_or_none
from arrayport.errors import UnsupportedArrayError

__all__ = ["plain", "tensor_host_view", "tensor_to_numpy"]


def plain(x: Any) -> Any:
    """The tensor without autograd history and with lazy conj/neg bits resolved."""
    return x.detach().resolve_conj().resolve_neg()


def tensor_host_view(torch: ModuleType, x: Any) -> np.ndarray | None:
    """The tensor's CPU memory as a numpy view, or None (no such view: a copy is read).

    Read-only where torch's view would have stride 0 on an axis longer than 1
    (:func:`checked_view`), and for a leaf tensor that requires grad while grad mode is on
    (a parameter, an input being differentiated), or a view of one (``w.T``, ``w[0]``):
    a write through numpy does not bump
    torch's version counter, so autograd would compute gradients from the changed values
    without a word, where torch refuses its own in-place writes. Results of computations
    (not leaves: nothing outside holds their graph once handed over) and tensors under
    ``torch.no_grad()`` (an optimizer's in-place update) stay writable."""
    if not x.is_cpu or x.is_conj() or x.is_neg():
        return None
    grad = x.requires_grad
    # A view of a leaf (w.T, w[0]) writes into the leaf as much as the leaf itself does.
    root = x._base if grad and x._is_view() else x
    guarded = grad and root.is_leaf and torch.is_grad_enabled()
    t = x.detach() if grad else x  # .numpy() refuses tensors with autograd
    if t.dtype is torch.bfloat16:
        bf16 = numpy_dtype_or_none("bfloat16")
        if bf16 is None:
            return None
        raw = _checked(torch, x, t.view(torch.int16).numpy())
        view = None if raw is None else raw.view(bf16)
    else:
        view = _checked(torch, x, t.numpy())
    if guarded and view is not None:
        make_read_only(view)
    return view


def _checked(torch: ModuleType, x: Any, view: np.ndarray) -> np.ndarray | None:
    """``view``, what ``Tensor.numpy()`` gave for ``x``, as arrayport hands it out, or None
    where ``x`` has no memory behind its elements (describe() then refuses it, saying why).
    A storage freed or shrunk under the view (it still points there) is such a case: for a
    compact view, the storage must hold the view's bytes past its offset."""
    # One flag read for the common case (as in quick_to_numpy), the rest for other layouts.
    flags = view.flags.num
    if flags & CONTIGUOUS_OWNDATA == C_CONTIGUOUS:
        if x.untyped_storage().nbytes() >= view.nbytes + x.storage_offset() * view.itemsize:
            return view
        describe_tensor(torch, x)
        return None
    if not holds_elements(x):
        describe_tensor(torch, x)
        return None
    checked = checked_view(view, flags)
    if checked is None:  # no memory behind the elements: describe() refuses it with why
        describe_tensor(torch, x)
    return checked


def tensor_to_numpy(torch: ModuleType, x: Any) -> np.ndarray:
    """The tensor's values in a numpy array: its host view, else a copy on the host."""
    view = tensor_host_view(torch, x)
    if view is not None:
        return view
    t = plain(x).cpu()
    if t.dtype == torch.bfloat16:
        bf16 = numpy_dtype_or_none("bfloat16")
        if bf16 is None:
            msg = "torch bfloat16 needs ml_dtypes on the numpy side: pip install ml_dtypes"
            raise UnsupportedArrayError(msg)
        return np.asarray(t.view(torch.int16).numpy().view(bf16))
    return np.asarray(t.numpy())
