"""triton (torch's compiler, part of PyPI's CUDA builds of torch) beside tensorflow.

Importing tensorflow and *then* triton kills the process: loading triton's
``libtriton.so`` segfaults (measured with tensorflow-cpu 2.20 and 2.21 and triton 3.7.1,
the triton of torch 2.13's CUDA wheel; torch 2.3's triton 2.3.1 loads). torch imports
triton for ``torch.compile``, ``FakeTensorMode`` and more, long after tensorflow may have
been imported. Loading the library first (``RTLD_LOCAL``, as for PoCL) avoids it:
:func:`preload_triton` does that, called by the tensorflow backend before it imports
tensorflow and by the import guard of :mod:`arrayport.backends._pocl` for users who import
tensorflow themselves. Loading the 440 MB library takes 30-60 ms and about 75 MB of memory,
paid only where triton is installed and tensorflow is imported.

Nothing here imports a Python framework.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
import threading

__all__ = ["preload_triton", "triton_library"]

_lock = threading.Lock()
_preloaded = False


def triton_library() -> str | None:
    """The path of triton's ``libtriton.so`` if triton is installed, found without
    importing it; None otherwise."""
    try:
        spec = importlib.util.find_spec("triton")
    except (ImportError, ValueError):  # a broken installation: nothing to preload
        return None
    locations = None if spec is None else spec.submodule_search_locations
    if not locations:
        return None
    path = os.path.join(next(iter(locations)), "_C", "libtriton.so")
    return path if os.path.isfile(path) else None


def preload_triton() -> None:
    """Load ``libtriton.so`` now, so that a later ``import triton`` survives tensorflow.

    Does nothing when triton is not installed or already imported. Safe to call at any
    time; a library that fails to load is left to triton's own import."""
    global _preloaded
    if _preloaded or "triton" in sys.modules:
        return
    with _lock:
        if _preloaded:
            return
        path = triton_library()
        if path is None:
            return
        try:
            ctypes.CDLL(path)  # RTLD_LOCAL: its symbols stay out of tensorflow's way
        except OSError:
            return
        _preloaded = True
