"""jaxlib's own DLPack import, verified before use (ADR 0046, ADR 0058).

``jax.dlpack.from_dlpack`` wraps jaxlib's import in about 25 us of Python (a backend and
device lookup, and a ``jnp.asarray`` that re-canonicalises the dtype). For a source already
on the target device none of that work changes the result: a dtype the jax backend's
``check_dtype`` admitted is canonical, and the stream jax hands the producer is the one
:func:`gpu_importer` hands it too. The call is private to jaxlib, so an importer is handed
out only if the call exists with the signature of jaxlib extension version 467 or later and
a probe import shares memory with the same dtype, shape and values; otherwise the jax
backend uses the public call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import aligned_empty

__all__ = ["DL_CPU", "DL_CUDA", "cpu_importer", "gpu_importer"]

#: kDLCPU and kDLCUDA in DLPack's device-type enumeration.
DL_CPU = 1
DL_CUDA = 2
#: An importer: the producer (an object with ``__dlpack__``) -> a jax.Array sharing it.
Importer = Callable[[Any], Any]
# Each probe's result keeps its buffer alive as long as its importer exists.
_probes: list[Any] = []


def _private_call() -> Any:
    try:
        lib = importlib.import_module("jax._src.lib")
    except ImportError:
        return None
    call = getattr(getattr(lib, "_jax", None), "dlpack_managed_tensor_to_buffer", None)
    if call is None or getattr(lib, "jaxlib_extension_version", 0) < 467:
        return None
    return call


def _verified(jax: ModuleType, importer: Importer, probe: Any, pointer: int) -> Importer | None:
    """``importer`` if importing ``probe`` (a float32 4x4 arange at ``pointer``) gives a
    jax array that shares that memory with the same dtype, shape and values."""
    try:
        out = importer(probe)
        out.block_until_ready()
    # A changed private signature raises TypeError; an XLA refusal JaxRuntimeError (a
    # RuntimeError). Either way the public from_dlpack is used instead.
    except (TypeError, RuntimeError, AttributeError):
        return None
    expected = np.arange(16, dtype="float32").reshape(4, 4)
    ok = (
        isinstance(out, jax.Array)
        and out.dtype == expected.dtype
        and out.shape == expected.shape
        and not out.weak_type
        and int(out.unsafe_buffer_pointer()) == pointer
        and np.array_equal(np.asarray(out), expected)
    )
    if not ok:
        return None
    _probes.append((probe, out))
    return importer


def cpu_importer(jax: ModuleType, cpu: Any) -> Importer | None:
    """An importer of CPU producers onto jax device ``cpu`` that shares memory, or None."""
    call = _private_call()
    if call is None:
        return None

    def importer(x: Any) -> Any:
        return call(x.__dlpack__(), cpu, None, None, DL_CPU)

    probe = aligned_empty((4, 4), np.dtype("float32"))
    probe[...] = np.arange(16, dtype="float32").reshape(4, 4)
    return _verified(jax, importer, probe, int(probe.__array_interface__["data"][0]))


def _is_tensorflow(x: Any) -> bool:
    return type(x).__module__.startswith("tensorflow")


def gpu_importer(jax: ModuleType, gpu: Any) -> Importer | None:
    """An importer of producers on CUDA device ``gpu`` (a jax GPU device) onto it that
    shares memory, or None. As in ``jax.dlpack.from_dlpack``, the producer is handed jax's
    stream for external ready events (tensorflow takes no stream), so it orders its pending
    work before jax reads the memory."""
    call = _private_call()
    if call is None:
        return None
    try:
        gpu.get_stream_for_external_ready_events()
    except (AttributeError, RuntimeError):  # UNIMPLEMENTED on this platform
        return None

    def importer(x: Any) -> Any:
        if _is_tensorflow(x):
            return call(x.__dlpack__(), gpu, None, None, DL_CUDA)
        stream = gpu.get_stream_for_external_ready_events()
        return call(x.__dlpack__(stream=stream), gpu, stream, None, DL_CUDA)

    host = np.arange(16, dtype="float32").reshape(4, 4)
    probe = jax.device_put(host, gpu).block_until_ready()
    return _verified(jax, importer, probe, int(probe.unsafe_buffer_pointer()))
