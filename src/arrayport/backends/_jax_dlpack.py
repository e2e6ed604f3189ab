"""jaxlib's own DLPack import, verified before use (ADR 0046 for the CPU, 0063 for GPUs).

``jax.dlpack.from_dlpack`` wraps jaxlib's import in 25-50 us of Python (a backend and
device lookup, and a ``jnp.asarray`` that re-canonicalises the dtype). For a source on the
target device none of that work changes the result: a dtype the jax backend's
``check_dtype`` admitted is canonical, and on a GPU the stream jax hands the producer is
the one :func:`gpu_importer` hands it too. The call is private to jaxlib, so an importer is
handed out only if the call exists with the signature of jaxlib extension version 467 or
later and a probe import shares memory with the same dtype, shape and values; otherwise
the jax backend uses the public call.

Onto a GPU, :func:`gpu_import` takes the direct import for cupy and torch memory on that
GPU and the public call otherwise, with the producer's own GPU entered either way: torch
refuses to export a tensor off its current device, and cupy orders the current device's
stream, not the array's.

An imported array is committed to its device. jax has no public call that leaves the
same buffer uncommitted (as ``jnp.asarray`` leaves host data it copies): :func:`uncommitter`
hands out ``jax.Array``'s own constructor for that, after the same kind of probe.
:func:`host_import` puts both together for host memory, where ``host_device`` says.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._host import aligned_empty
from arrayport.backends import _torch_cuda
from arrayport.backends._jax_devices import cuda_gpu, device_of, host_device, to_jax_device
from arrayport.devices import Device

__all__ = [
    "DL_CPU",
    "DL_CUDA",
    "cpu_importer",
    "gpu_import",
    "gpu_importer",
    "gpu_importer_on",
    "host_import",
    "importer_on",
    "placed",
    "uncommitter",
]

#: kDLCPU and kDLCUDA in DLPack's device-type enumeration.
DL_CPU = 1
DL_CUDA = 2
# Each probe's result keeps its buffer alive as long as its importer exists.
_probes: list[Any] = []


def _private_call() -> Any:
    """jaxlib's ``dlpack_managed_tensor_to_buffer`` with the extension-467 signature, or
    None."""
    try:
        lib = importlib.import_module("jax._src.lib")
    except ImportError:
        return None
    call = getattr(getattr(lib, "_jax", None), "dlpack_managed_tensor_to_buffer", None)
    if call is None or getattr(lib, "jaxlib_extension_version", 0) < 467:
        return None
    return call


def _shares(jax: ModuleType, out: Any, pointer: int, expected: np.ndarray) -> bool:
    """Whether ``out`` is a plain jax array at ``pointer`` equal to ``expected``."""
    return (
        isinstance(out, jax.Array)
        and out.dtype == expected.dtype
        and out.shape == expected.shape
        and not out.weak_type
        and int(out.unsafe_buffer_pointer()) == pointer
        and bool(np.array_equal(np.asarray(out), expected))
    )


def cpu_importer(jax: ModuleType, cpu: Any) -> Any:
    """A ``capsule -> jax.Array`` call on device ``cpu`` that shares memory, or None."""
    call = _private_call()
    if call is None:
        return None

    def importer(capsule: Any) -> Any:
        return call(capsule, cpu, None, None, DL_CPU)

    probe = aligned_empty((4, 4), np.dtype("float32"))
    probe[...] = np.arange(16, dtype="float32").reshape(4, 4)
    try:
        out = importer(probe.__dlpack__())
        out.block_until_ready()  # unsafe_buffer_pointer can hang on a pending array
        ok = _shares(jax, out, int(probe.__array_interface__["data"][0]), probe)
    # A changed private signature raises TypeError; an XLA refusal JaxRuntimeError (a
    # RuntimeError); a later jaxlib may raise anything else. Whatever it is, the public
    # from_dlpack is used instead: the probe never fails a conversion.
    except Exception:
        return None
    if not ok:
        return None
    _probes.append((probe, out))
    return importer


def gpu_importer(jax: ModuleType, gpu: Any) -> Any:
    """A ``producer -> jax.Array`` call onto jax GPU device ``gpu`` for producers on that
    device, sharing their memory, or None.

    As in ``jax.dlpack.from_dlpack``, the producer's ``__dlpack__`` is handed jax's stream
    for external ready events, so that it orders its pending work before that stream, and
    jaxlib is handed the same stream, so that jax's own work waits for it. ``export(x,
    stream)``, where given, stands for ``x.__dlpack__(stream=stream)`` (torch's is
    ``_torch_cuda.dlpack_for_stream``). The probe is a jax GPU array exported and imported
    again.
    """
    call = _private_call()
    if call is None:
        return None
    try:
        gpu.get_stream_for_external_ready_events()
    except (AttributeError, RuntimeError):  # jax says UNIMPLEMENTED on a platform without
        return None

    def importer(x: Any, export: Any = None) -> Any:
        stream = gpu.get_stream_for_external_ready_events()
        capsule = x.__dlpack__(stream=stream) if export is None else export(x, stream)
        return call(capsule, gpu, stream, None, DL_CUDA)

    expected = np.arange(16, dtype="float32").reshape(4, 4)
    try:
        probe = jax.device_put(expected, gpu).block_until_ready()
        out = importer(probe)
        out.block_until_ready()
        ok = _shares(jax, out, int(probe.unsafe_buffer_pointer()), expected)
    # A changed private signature raises TypeError; an XLA refusal JaxRuntimeError (a
    # RuntimeError); a later jaxlib may raise anything else (BufferError, ValueError).
    # Whatever it is, the public from_dlpack is used instead: the probe never fails a
    # conversion. (Cached: a failed probe is not retried in this process.)
    except Exception:
        return None
    if not ok:
        return None
    _probes.append((probe, out))
    return importer


@functools.cache
def gpu_importer_on(index: int) -> Any:
    """:func:`gpu_importer` onto jax's GPU with CUDA ordinal ``index`` (the DLPack device id
    of the sources it takes), made once per GPU; None without one (see gpu_importer)."""
    gpu = cuda_gpu(index)
    return None if gpu is None else gpu_importer(sys.modules["jax"], gpu)


# The producers the direct GPU import takes: their __dlpack__ orders their pending work
# before the stream it is handed (tensorflow's takes no stream: the public call knows).
_STREAM_PRODUCERS = frozenset({"cupy", "torch"})


def _torch_export(x: Any, stream: int) -> Any:
    """torch's ``x.__dlpack__(stream=stream)``, 8 us less per call (ADR 0066), on the
    tensor's own GPU."""
    return _torch_cuda.dlpack_for_stream(sys.modules["torch"], x, stream)


def _cupy_export(x: Any, stream: int) -> Any:
    """cupy's ``x.__dlpack__(stream=stream)`` with the array's GPU entered: cupy orders
    the current device's current stream before ``stream``, not the array's device's."""
    with x.device:
        return x.__dlpack__(stream=stream)


def _producer_gpu(x: Any, producer: str) -> Any:
    """A context entering the GPU of ``x`` (a torch or cupy array) for its export."""
    if producer == "cupy":
        return x.device
    if x.is_cuda:
        return sys.modules["torch"].cuda.device(x.device.index)
    return contextlib.nullcontext()


def gpu_import(jax: ModuleType, x: Any, device: Device) -> Any:
    """``x`` (with ``__dlpack__``) in jax on GPU ``device``: cupy and torch memory on that
    GPU by the verified direct import, anything else by the public call (then moved to
    ``device`` where it lands elsewhere)."""
    producer = type(x).__module__.partition(".")[0]
    if producer not in _STREAM_PRODUCERS:
        out = jax.dlpack.from_dlpack(x)
    else:
        importer = gpu_importer_on(device.index)
        if importer is not None and x.__dlpack_device__() == (DL_CUDA, device.index):
            return importer(x, _torch_export if producer == "torch" else _cupy_export)
        with _producer_gpu(x, producer):  # jax hands the producer its stream itself
            out = jax.dlpack.from_dlpack(x)
    return out if device_of(out) == device else jax.device_put(out, to_jax_device(device))


def uncommitter(jax: ModuleType, cpu: Any) -> Any:
    """A ``jax.Array -> jax.Array`` call that gives a single-device array's buffer as an
    uncommitted array (no copy), or None. The probe is an array committed to ``cpu``."""
    try:
        impl = importlib.import_module("jax._src.array").ArrayImpl
    except (ImportError, AttributeError):
        return None

    def uncommit(x: Any) -> Any:
        return impl(x.aval, x.sharding, [x], committed=False, _skip_checks=True)

    expected = np.arange(16, dtype="float32").reshape(4, 4)
    try:
        probe = jax.device_put(expected, cpu).block_until_ready()
        out = uncommit(probe)
        out.block_until_ready()
        ok = (
            probe.committed
            and not out.committed
            and out.devices() == {cpu}
            and _shares(jax, out, int(probe.unsafe_buffer_pointer()), expected)
        )
    # A changed private constructor raises TypeError; a later jax may raise anything else.
    # Whatever it is, arrays stay committed: the probe never fails a conversion.
    except Exception:
        return None
    return uncommit if ok else None


@functools.cache
def importer_on(cpu: Any) -> Any:
    """:func:`cpu_importer` for jax CPU device ``cpu``, made once per device."""
    return cpu_importer(sys.modules["jax"], cpu)


@functools.cache
def _uncommit_call() -> Any:
    jax = sys.modules["jax"]
    return uncommitter(jax, jax.devices("cpu")[0])


def placed(out: Any, loose: bool) -> Any:
    """``out``, a jax array on the CPU, uncommitted where ``loose`` (``host_device``'s
    answer) and the private constructor passed its probe; else as it is.

    ``loose`` means several jax devices, where arrayport makes no array in a custom memory
    order (ADR 0082): jax 0.10 computes one made uncommitted so as if it were row-major.
    A caller's own such array moved here (:func:`arrayport.backends.jax.move`) is kept
    committed by the caller."""
    uncommit = _uncommit_call() if loose else None
    return out if uncommit is None else uncommit(out)


def host_import(x: Any) -> Any:
    """``x`` (with ``__dlpack__``) in jax on the CPU device ``host_device`` names, sharing
    host memory where jax can: by the verified direct import, else the public call."""
    cpu, loose = host_device()  # loads jax
    importer = importer_on(cpu) if x.__dlpack_device__()[0] == DL_CPU else None
    if importer is not None:
        out = importer(x.__dlpack__())
    else:
        jax = sys.modules["jax"]
        out = jax.dlpack.from_dlpack(x)
        # The public import lands on CPU 0 (or a GPU): moved to the CPU device asked for
        # (another of several CPU devices: a copy, which the direct import avoids).
        if not device_of(out).is_cpu or out.devices() != {cpu}:
            out = jax.device_put(out, cpu)
    return placed(out, loose) if loose else out  # one call fewer on the common path
