"""PoCL (OpenCL on the CPU) process-level guards for the pyclesperanto backend.

Importing tensorflow and *then* pyclesperanto on PoCL kills the process (TF's LLVM symbols
clash with PoCL's). Loading PoCL's library before tensorflow is imported avoids it:
:func:`preload_opencl_platform` does that, called by the tensorflow backend before it
imports tensorflow and by an import hook (:func:`install_tensorflow_import_guard`) that
``import arrayport`` installs for users who import tensorflow themselves.

The PoCL library must be loaded with ``RTLD_LOCAL`` (ctypes' default): loaded with
``RTLD_GLOBAL`` its LLVM symbols make the later ``import tensorflow`` itself segfault.

The same guard preloads triton's library, which tensorflow breaks likewise
(:mod:`arrayport.backends._triton`).

Nothing here imports a Python framework, so every function is safe to call at any time.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.abc
import os
import sys
import threading
from typing import Any

from arrayport.backends._triton import preload_triton, triton_library
from arrayport.backends._util import find_spec, probing

_POCL_LIBRARY = "libpocl.so.2"
#: Held by the tensorflow and pyclesperanto backends while they import their framework:
#: two threads loading both at once otherwise let pyclesperanto start PoCL after
#: tensorflow's LLVM was loaded (a segfault, seen with two threads converting). The import
#: guard below never takes it: Python calls a finder holding its global import lock, which
#: a thread holding this lock needs for its import (a deadlock, seen by a review).
import_lock = threading.RLock()
# The preload's own lock, held only around loading the library: never across an import.
_preload_lock = threading.Lock()
_preloaded = False


def pocl_icd_installed() -> bool:
    """Whether an OpenCL ICD file for PoCL is installed."""
    vendors = os.environ.get("OCL_ICD_VENDORS", "/etc/OpenCL/vendors")
    return bool(glob.glob(os.path.join(vendors, "*pocl*.icd")))


def opencl_icd_installed() -> bool:
    """Whether any OpenCL ICD file is installed."""
    vendors = os.environ.get("OCL_ICD_VENDORS", "/etc/OpenCL/vendors")
    return bool(glob.glob(os.path.join(vendors, "*.icd")))


def pocl_mapped() -> bool:
    """Whether PoCL's library is loaded in this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            return "libpocl" in f.read()
    except OSError:
        return _preloaded


def preload_opencl_platform() -> None:
    """Load PoCL's shared library now, so a later tensorflow import cannot break it.

    Does nothing unless pyclesperanto and PoCL are both installed and PoCL's library is not
    loaded yet (asked of the process's memory map, not of ``sys.modules``: pyclesperanto is
    there from the start of its import, before it loads PoCL). Importing no Python
    framework, it is safe to call at any time.
    """
    global _preloaded
    if _preloaded or not pocl_icd_installed() or not find_spec("pyclesperanto"):
        return
    with _preload_lock:
        if _preloaded:
            return
        if pocl_mapped():
            _preloaded = True
            return
        try:
            # RTLD_LOCAL (the default) on purpose: RTLD_GLOBAL crashes tensorflow's import.
            ctypes.CDLL(_POCL_LIBRARY)
        except OSError:
            return
        _preloaded = True


class _TensorflowImportGuard(importlib.abc.MetaPathFinder):
    """Loads PoCL's library (and triton's) just before the first ``import tensorflow``, then
    steps aside.

    It finds nothing itself (``find_spec`` returns None), so the import proceeds as usual.
    Once tensorflow's import has passed it stays in ``sys.meta_path``, inert: removing it
    there shifted the list under another thread's import, which then skipped the finder
    after it (seen once: "No module named 'pyclesperanto._array'").
    """

    def __init__(self) -> None:
        self.done = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        # arrayport's own "is tensorflow installed?" probe imports nothing: not yet.
        if fullname == "tensorflow" and not self.done and not probing():
            preload_opencl_platform()
            preload_triton()
            self.done = True
        return None


def install_tensorflow_import_guard() -> None:
    """Make a later ``import tensorflow`` (by anyone) safe for pyclesperanto on PoCL and
    for triton.

    Installed by ``import arrayport`` only when tensorflow is not imported yet and either
    pyclesperanto (not yet imported) and PoCL, or triton, are installed; costs nothing until
    tensorflow is imported.
    """
    if "tensorflow" in sys.modules:
        return
    if any(isinstance(f, _TensorflowImportGuard) for f in sys.meta_path):
        return
    pocl = (
        "pyclesperanto" not in sys.modules
        and pocl_icd_installed()
        and bool(find_spec("pyclesperanto"))
    )
    if pocl or ("triton" not in sys.modules and triton_library() is not None):
        sys.meta_path.insert(0, _TensorflowImportGuard())
