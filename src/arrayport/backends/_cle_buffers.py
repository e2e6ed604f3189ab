"""The OpenCL buffer a pyclesperanto array is over, for telling two arrays over one buffer
from arrays over two (:mod:`arrayport._reused_buffers`).

pyclesperanto's ``reshape``, ``squeeze`` and ``ravel`` return a new array object over the
same buffer; its slicing copies, so every array covers its whole buffer, and arrays over
one buffer have one handle. pyclesperanto names the buffer nowhere but in its DLPack
export: ``x.__dlpack__()`` is a ``dltensor_versioned`` capsule whose
``DLManagedTensorVersioned.dl_tensor.data`` is the ``cl_mem`` handle (a device pointer
with pyclesperanto's CUDA backend). Measured with pyclesperanto 0.25.1 on PoCL 3.1:

* An export costs about 0.5 us, but first waits for the kernels already queued on the
  array's device (pyclesperanto's binding calls the device's ``finish()``): asked after a
  function's last kernel, it waits for what reading the results would wait for anyway.
* The capsule is read, never consumed, and dropped at once: pyclesperanto's destructor
  frees it (100000 exports leave the process's memory as it was; a 256 MiB buffer whose
  capsule was dropped is freed with its array), and nothing else refers to the buffer.
* Images (``mtype="image"``) have no DLPack export: no handle, compared as objects.
"""

from __future__ import annotations

import ctypes
from typing import Any

__all__ = ["buffer_handle"]

_get_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
    ("PyCapsule_GetName", ctypes.pythonapi)
)
_get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi)
)
# Own prototypes, not ctypes.pythonapi's shared attributes (whose restype other code sets).


class _Version(ctypes.Structure):
    _fields_ = (("major", ctypes.c_uint32), ("minor", ctypes.c_uint32))


class _Versioned(ctypes.Structure):
    """The head of DLPack 1.x's ``DLManagedTensorVersioned``, up to ``dl_tensor.data``."""

    _fields_ = (
        ("version", _Version),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", ctypes.c_void_p),
        ("flags", ctypes.c_uint64),
        ("data", ctypes.c_void_p),
    )


class _Unversioned(ctypes.Structure):
    """The head of DLPack 0.x's ``DLManagedTensor``: ``dl_tensor.data`` comes first."""

    _fields_ = (("data", ctypes.c_void_p),)


def buffer_handle(x: Any) -> int | None:
    """The handle of the OpenCL buffer ``x`` is over (the same for every array
    ``reshape``/``squeeze``/``ravel`` give of it), None where it names none (an image, or
    an export of a DLPack version not known here)."""
    if getattr(x, "mtype", "buffer") != "buffer":
        return None  # pyclesperanto exports no DLPack of an image (a RuntimeError)
    try:
        capsule = x.__dlpack__()
        name = _get_name(capsule)
        if name == b"dltensor_versioned":
            head = _Versioned.from_address(_get_pointer(capsule, name))
            handle = head.data if head.version.major == 1 else None
        elif name == b"dltensor":
            handle = _Unversioned.from_address(_get_pointer(capsule, name)).data
        else:
            return None
    except Exception:  # no export of this array: compared as an object
        return None
    return handle or None
