"""Importing pyclesperanto: once, and never after tensorflow on PoCL.

Importing this module imports no framework: pyclesperanto is imported only by :func:`load`,
which the registry calls when a pyclesperanto array is already in hand or when
pyclesperanto is asked for by name. The pyclesperanto backend re-exports
:func:`is_installed` and :func:`load` as they are.

Quirk routed around here (measured with pyclesperanto 0.25.1 on PoCL 3.1):

* Importing tensorflow and *then* pyclesperanto on PoCL kills the process (see ``_pocl``):
  when tensorflow came first anyway, :func:`load` refuses with an explanation instead,
  and :func:`is_installed` says no.
"""

from __future__ import annotations

import sys
from types import ModuleType

from arrayport.backends._pocl import (
    import_lock,
    opencl_icd_installed,
    pocl_icd_installed,
    pocl_mapped,
)
from arrayport.backends._util import find_spec, import_framework
from arrayport.errors import BackendUnavailableError

__all__ = ["is_installed", "load"]

EXTRA = "pyclesperanto"


def is_installed() -> bool:
    return find_spec("pyclesperanto") and opencl_icd_installed() and not _after_tensorflow()


def _after_tensorflow() -> bool:
    """Whether importing pyclesperanto now would crash: tensorflow came first on PoCL."""
    return (
        "pyclesperanto" not in sys.modules
        and "tensorflow" in sys.modules
        and pocl_icd_installed()
        and not pocl_mapped()
    )


# The imported module once load() succeeded: its checks are not repeated on every call.
_module: ModuleType | None = None


def load() -> ModuleType:
    global _module
    if _module is not None:
        return _module
    with import_lock:  # not while tensorflow's import runs (backends/_pocl.py)
        if _after_tensorflow():
            msg = (
                "pyclesperanto cannot be imported after tensorflow on PoCL: the two "
                "libraries' LLVM copies clash and the process would crash. Import "
                "arrayport or pyclesperanto before tensorflow"
            )
            raise BackendUnavailableError(msg)
        cle = import_framework("pyclesperanto", EXTRA)
    if not hasattr(cle, "push"):
        msg = (
            "pyclesperanto found no OpenCL platform; on a machine without a GPU install "
            "PoCL: apt-get install pocl-opencl-icd ocl-icd-libopencl1"
        )
        raise BackendUnavailableError(msg)
    _module = cle
    return cle


def _cle() -> ModuleType:
    return _module if _module is not None else load()
