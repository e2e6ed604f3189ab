"""A tensorflow tensor's values on the host for numpy: a view of a CPU tensor's buffer
(:func:`host_view`), a copy otherwise (:func:`to_numpy`).

Importing this module imports no framework: tensorflow is loaded through the backend's
``load()``, and only for bfloat16 tensors (the bitcast of
:func:`arrayport.backends._tf_describe.raw_view`, and :func:`to_numpy`'s copy off the
CPU). The backend re-exports both functions as they are.

Quirks routed around here:

* Tensors are immutable: numpy views of them are marked read-only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport.backends._tf_describe import device_of, dtype_of, raw_view
from arrayport.backends._util import numpy_dtype_or_none
from arrayport.errors import UnsupportedArrayError

__all__ = ["host_view", "to_numpy"]


def host_view(x: Any) -> np.ndarray | None:
    if not device_of(x).is_cpu:
        return None
    name = dtype_of(x)[1]
    view = raw_view(x, name)
    if name == "bfloat16":
        bf16 = numpy_dtype_or_none("bfloat16")
        if bf16 is None:
            return None
        view = view.view(bf16)
    view.flags.writeable = False  # tensors are immutable: never hand out a writable alias
    return view


def to_numpy(x: Any) -> np.ndarray:
    view = host_view(x)
    if view is not None:
        return view
    if x.dtype.name == "bfloat16":
        bf16 = numpy_dtype_or_none("bfloat16")
        if bf16 is None:
            msg = "tensorflow bfloat16 needs ml_dtypes on the numpy side: pip install ml_dtypes"
            raise UnsupportedArrayError(msg)
        # Imported here, not at the top: the backend imports this module.
        from arrayport.backends.tensorflow import load

        tf = load()
        return np.asarray(tf.bitcast(x, tf.uint16).numpy()).view(bf16)
    return np.asarray(x.numpy())
