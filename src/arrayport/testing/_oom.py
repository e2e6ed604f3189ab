"""Out-of-memory injection for tests: :func:`inject_oom`.

Each injected error is an instance of the framework's *real* out-of-memory exception type,
with a message in the framework's own form, so the backend recognises it exactly as it
would recognise the real thing, and code under test sees what it would see on a full GPU.
:func:`inject_oom` checks that before the block starts.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from types import ModuleType

from arrayport import oom as _oom
from arrayport.backends import get_backend
from arrayport.devices import Device, as_index
from arrayport.errors import ArrayportError, InvalidOptionError
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["Injection", "inject_oom"]

Injection = _oom._Injection

_NOTE = "(injected by arrayport.testing.inject_oom)"


def _numpy(np: ModuleType, nbytes: int, device: Device | None) -> BaseException:
    # numpy's own allocation error (a MemoryError subclass) where this numpy has it.
    for path in ("numpy._core._exceptions", "numpy.core._exceptions"):
        try:
            module = importlib.import_module(path)
            return module._ArrayMemoryError((nbytes,), np.dtype("uint8"))  # type: ignore[no-any-return]
        except (ImportError, AttributeError, TypeError):
            continue
    return MemoryError(f"Unable to allocate {nbytes} bytes {_NOTE}")


def _torch(torch: ModuleType, nbytes: int, device: Device | None) -> BaseException:
    on_cpu = device.is_cpu if device is not None else not torch.cuda.is_available()
    if on_cpu:
        # torch's CPU allocator raises a plain RuntimeError (c10/core/impl/alloc_cpu.cpp),
        # recognised by this phrase (backends/torch.py).
        return RuntimeError(
            f"[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't "
            f"allocate memory: you tried to allocate {nbytes} bytes. Error code 12 (Cannot "
            f"allocate memory) {_NOTE}"
        )
    # torch.cuda.OutOfMemoryError: the same class as torch 2.5's torch.OutOfMemoryError.
    return torch.cuda.OutOfMemoryError(  # type: ignore[no-any-return]
        f"CUDA out of memory. Tried to allocate {nbytes} bytes {_NOTE}"
    )


def _jax(jax: ModuleType, nbytes: int, device: Device | None) -> BaseException:
    return jax.errors.JaxRuntimeError(  # type: ignore[no-any-return]
        f"RESOURCE_EXHAUSTED: Out of memory allocating {nbytes} bytes. {_NOTE}"
    )


def _tensorflow(tf: ModuleType, nbytes: int, device: Device | None) -> BaseException:
    return tf.errors.ResourceExhaustedError(  # type: ignore[no-any-return]
        None, None, f"OOM when allocating tensor with shape[{nbytes}] and type uint8 {_NOTE}"
    )


def _pyclesperanto(cle: ModuleType, nbytes: int, device: Device | None) -> BaseException:
    # pyclesperanto reports OpenCL allocation failures as RuntimeError with the CL status.
    return RuntimeError(
        f"Failed to allocate buffer memory while allocating {nbytes} bytes. OpenCL error: "
        f"CL_MEM_OBJECT_ALLOCATION_FAILURE (-4) {_NOTE}"
    )


def _cupy(cp: ModuleType, nbytes: int, device: Device | None) -> BaseException:
    return cp.cuda.memory.OutOfMemoryError(nbytes, 0)  # type: ignore[no-any-return]


def _dask(da: ModuleType, nbytes: int, device: Device | None) -> BaseException:
    # A dask computation that runs out of memory re-raises the chunk library's error.
    return MemoryError(f"Unable to allocate {nbytes} bytes {_NOTE}")


_FACTORIES: dict[MemoryType, Callable[[ModuleType, int, Device | None], BaseException]] = {
    MemoryType.NUMPY: _numpy,
    MemoryType.TORCH: _torch,
    MemoryType.JAX: _jax,
    MemoryType.TENSORFLOW: _tensorflow,
    MemoryType.PYCLESPERANTO: _pyclesperanto,
    MemoryType.CUPY: _cupy,
    MemoryType.DASK: _dask,
}


@contextlib.contextmanager
def inject_oom(
    memory_type: MemoryType | str, times: int = 1, *, nbytes: int = 1 << 30
) -> Iterator[_oom._Injection]:
    """Make the next ``times`` dispatched calls on ``memory_type`` run out of memory.

    A dispatched call is one run of a function under an :class:`~arrayport.OOMPolicy`:
    each attempt of a call of a :func:`~arrayport.memory_type`-decorated function, each
    attempt of ``policy.run(fn, ...)`` called directly, each piece of a split call and the
    fallback run, on arrays of ``memory_type``. Instead of running, it raises the
    framework's real out-of-memory exception (torch's: see below;
    ``jax.errors.JaxRuntimeError`` with ``RESOURCE_EXHAUSTED``,
    ``tf.errors.ResourceExhaustedError``, numpy's ``MemoryError``, cupy's
    ``OutOfMemoryError``, pyclesperanto's OpenCL ``RuntimeError``), as if allocating
    ``nbytes``. The whole recovery policy can so be tested without a GPU. Runs arrayport
    makes for its own purposes are not calls: the sample block a ``NATIVE_OUTPUT`` function
    runs on at a call on dask input (to learn its result's dtype) is neither injected into
    nor counted, so the count reaches the blocks it was meant for.

    Injections are process-wide (every thread sees them) and thread-safe; nested blocks
    add up, the innermost block's count consumed first (so an inner block fails the calls
    in its own body before an enclosing block's count is touched). Leaving the block
    cancels what is left of it. Other processes do not see them: a function running on
    dask.distributed workers is not injected into (dispatch on dask input runs the
    function on the blocks, in the workers' processes), and ``inject_oom("dask")`` has no
    dask-declared call to count in that case.

    torch's error is the one torch raises on the device of the attempt it fails: on the
    CPU the ``RuntimeError`` of its CPU allocator (``"DefaultCPUAllocator: can't allocate
    memory: you tried to allocate N bytes..."``), on a CUDA device
    ``torch.OutOfMemoryError`` (``"CUDA out of memory..."``).

    Parameters
    ----------
    memory_type : MemoryType or str
        The memory type whose calls fail.
    times : int
        How many calls fail (>= 1).
    nbytes : int
        The allocation size the error reports.

    Yields
    ------
    Injection
        ``.remaining`` (injections left; 0 once the block is left) and ``.raised``
        (injections made).

    Raises
    ------
    BackendUnavailableError
        The framework is not installed or not usable here (cupy without a GPU).

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> from arrayport.testing import inject_oom
    >>> with inject_oom("numpy", times=1) as injected:
    ...     out = ap.OOMPolicy(retries=1).run(np.negative, np.ones(2))
    >>> injected.raised
    1
    """
    mt = as_memory_type(memory_type)
    # Integers of any kind (numpy's too) are taken, as OOMPolicy takes them; bools are not.
    count, size = as_index(times), as_index(nbytes)
    if count is None or count < 1:
        msg = f"inject_oom(times={times!r}): times must be an int >= 1"
        raise InvalidOptionError(msg)
    if size is None or size < 0:
        msg = f"inject_oom(nbytes={nbytes!r}): nbytes must be an int >= 0"
        raise InvalidOptionError(msg)
    backend = get_backend(mt)
    module = backend.load()
    factory = _FACTORIES[mt]
    probe = factory(module, size, None)
    if not backend.is_oom(probe):  # the backend and this factory must never drift apart
        msg = (
            f"inject_oom cannot build an out-of-memory error that the {mt.value} backend "
            f"recognises (it built {type(probe).__qualname__}: {probe}); this is an "
            "arrayport bug: please report it with your framework versions"
        )
        raise ArrayportError(msg)

    injection = _oom._Injection(mt, count, lambda device: factory(module, size, device))
    _oom._register(injection)
    try:
        yield injection
    finally:
        _oom._unregister(injection)
