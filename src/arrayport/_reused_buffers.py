"""One output buffer returned for several slices: refused before results are restacked
(:func:`arrayport.stack.restack`, for :func:`arrayport.process_slices` and
``slice_by_slice`` dispatch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport._host import writes_allowed
from arrayport.backends import detect_memory_type
from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType

__all__ = ["refuse_reused"]

#: Memory types whose arrays a function can write into and return again (``out=``,
#: pyclesperanto's ``output_image=``); jax, tensorflow and dask arrays are immutable.
_MUTABLE = frozenset(
    {MemoryType.NUMPY, MemoryType.CUPY, MemoryType.TORCH, MemoryType.PYCLESPERANTO}
)


def refuse_reused(results: list[Any], caller: str) -> None:
    """Refuse results of which two are one writable buffer (the same array object, or
    numpy arrays over the same memory): a function that writes each slice into one output
    buffer returns it for every slice, and the earlier slices' values are gone, overwritten
    by the later ones, before they can be stacked."""
    seen: dict[object, int] = {}
    for i, r in enumerate(results):
        # Read-only numpy memory cannot have been written again (a broadcast stack's
        # views, a frozen constant returned for several slices).
        frozen = isinstance(r, np.ndarray) and not writes_allowed(r.flags.num)
        if frozen or detect_memory_type(r) not in _MUTABLE:
            continue
        keys: list[object] = [id(r)]
        if isinstance(r, np.ndarray) and r.size:
            keys.append((r.__array_interface__["data"][0], r.shape, r.strides))
        for key in keys:
            j = seen.setdefault(key, i)
            if j != i:
                msg = (
                    f"{caller}: fn returned the same array (one buffer) for slice {j} and "
                    f"slice {i}: an output buffer written again for each slice (out=, "
                    "output_image=) holds only the last slice's values by the time the "
                    "results are stacked; return a new array for each slice (a copy of the "
                    "buffer; a constant returned for several slices: a copy, or read-only "
                    "with x.flags.writeable = False)"
                )
                raise InvalidOptionError(msg)
