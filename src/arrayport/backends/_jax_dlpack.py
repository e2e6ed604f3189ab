"""jaxlib's own DLPack import for CPU memory, verified before use (ADR 0046).

``jax.dlpack.from_dlpack`` wraps jaxlib's import in about 25 us of Python; for a CPU source
on a CPU target none of that work changes the result (no stream to hand over, a dtype the
jax backend's ``check_dtype`` already admitted is canonical). The call is private to
jaxlib, so :func:`cpu_importer` hands it out only if it exists with the signature of jaxlib
extension version 467 or later and a probe import shares memory with the same dtype and
shape; otherwise the backend uses the public call.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import aligned_empty

__all__ = ["DL_CPU", "cpu_importer"]

#: kDLCPU in DLPack's device-type enumeration.
DL_CPU = 1
# The probe's result keeps its buffer alive as long as the importer exists.
_probes: list[Any] = []


def cpu_importer(jax: ModuleType, cpu: Any) -> Any:
    """A ``capsule -> jax.Array`` call on device ``cpu`` that shares memory, or None."""
    try:
        lib = importlib.import_module("jax._src.lib")
    except ImportError:
        return None
    call = getattr(getattr(lib, "_jax", None), "dlpack_managed_tensor_to_buffer", None)
    if call is None or getattr(lib, "jaxlib_extension_version", 0) < 467:
        return None

    def importer(capsule: Any) -> Any:
        return call(capsule, cpu, None, None, DL_CPU)

    probe = aligned_empty((4, 4), np.dtype("float32"))
    probe[...] = np.arange(16, dtype="float32").reshape(4, 4)
    try:
        out = importer(probe.__dlpack__())
    # A changed private signature raises TypeError; an XLA refusal JaxRuntimeError (a
    # RuntimeError). Either way the public from_dlpack is used instead.
    except (TypeError, RuntimeError):
        return None
    ok = (
        isinstance(out, jax.Array)
        and out.dtype == probe.dtype
        and out.shape == probe.shape
        and not out.weak_type
        and int(out.unsafe_buffer_pointer()) == int(probe.__array_interface__["data"][0])
    )
    if not ok:
        return None
    _probes.append((probe, out))
    return importer
