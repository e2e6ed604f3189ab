"""Tests of arrayport.testing.inject_oom (src/arrayport/testing/_oom.py).

Each injected error must be the framework's real out-of-memory type and be recognised by
that framework's backend, and by no backend of another framework with a type of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport.backends import get_backend
from arrayport.errors import InvalidOptionError
from arrayport.testing import inject_oom
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed, torch_oom_type


def injected_error(mt: MemoryType, nbytes: int = 1 << 20) -> BaseException:
    with inject_oom(mt, nbytes=nbytes) as injection:
        error = injection.make(None)  # no device: torch's of this machine
    return error


def real_type(mt: MemoryType) -> type[BaseException]:
    if mt is MemoryType.NUMPY:
        from numpy._core._exceptions import _ArrayMemoryError

        return _ArrayMemoryError
    if mt is MemoryType.TORCH:
        import torch

        # The error torch raises here: its CPU allocator's plain RuntimeError without CUDA.
        return torch_oom_type(torch) if torch.cuda.is_available() else RuntimeError
    if mt is MemoryType.JAX:
        import jax

        return jax.errors.JaxRuntimeError
    if mt is MemoryType.TENSORFLOW:
        import tensorflow as tf

        return tf.errors.ResourceExhaustedError
    if mt is MemoryType.CUPY:
        import cupy

        return cupy.cuda.memory.OutOfMemoryError  # type: ignore[no-any-return]
    return RuntimeError  # pyclesperanto: OpenCL status codes in a RuntimeError


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_injected_error_is_the_real_type_and_recognised(mt: MemoryType) -> None:
    error = injected_error(mt)
    assert type(error) is real_type(mt)
    assert get_backend(mt).is_oom(error)
    assert isinstance(error, get_backend(mt).oom_error_types())


@skip_unless_installed(MemoryType.CUPY)
def test_injected_cupy_error() -> None:
    error = injected_error(MemoryType.CUPY)
    assert type(error) is real_type(MemoryType.CUPY)
    assert get_backend(MemoryType.CUPY).is_oom(error)


TYPED = [mt for mt in (MemoryType.TORCH, MemoryType.JAX, MemoryType.TENSORFLOW) if mt in INSTALLED]


@pytest.mark.parametrize("source", TYPED)
@pytest.mark.parametrize("judge", TYPED)
def test_typed_frameworks_do_not_claim_each_others_errors(
    source: MemoryType, judge: MemoryType
) -> None:
    assert get_backend(judge).is_oom(injected_error(source)) is (source is judge)


NOT_OOM = [
    ValueError("offset out of memory bounds"),
    RuntimeError("out of memory"),
    RuntimeError("CUDA error: an illegal memory access was encountered"),
    RuntimeError("RESOURCE_EXHAUSTED: but not a jax error"),
    OSError("Cannot allocate memory"),
    KeyError("memory"),
]


@pytest.mark.parametrize("error", NOT_OOM, ids=lambda e: f"{type(e).__name__}:{e}")
@pytest.mark.parametrize(
    "mt", [*CPU_TYPES, *([MemoryType.DASK] if MemoryType.DASK in INSTALLED else [])]
)
def test_other_errors_are_never_oom(mt: MemoryType, error: Exception) -> None:
    backend = get_backend(mt)
    backend.load()
    assert not backend.is_oom(error)


@skip_unless_installed(MemoryType.JAX)
def test_jax_needs_its_type_not_only_the_message() -> None:
    import jax

    backend = get_backend(MemoryType.JAX)
    assert backend.is_oom(jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory"))
    assert not backend.is_oom(jax.errors.JaxRuntimeError("INVALID_ARGUMENT: bad shape"))


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_pyclesperanto_recognises_opencl_allocation_codes_only() -> None:
    backend = get_backend(MemoryType.PYCLESPERANTO)
    backend.load()
    assert backend.is_oom(
        RuntimeError("Failed to allocate buffer memory. OpenCL error: CL_INVALID_BUFFER_SIZE (-61)")
    )
    assert backend.is_oom(RuntimeError("OpenCL error: CL_OUT_OF_RESOURCES (-5)"))
    assert not backend.is_oom(RuntimeError("OpenCL error: CL_INVALID_KERNEL_ARGS (-52)"))
    assert not backend.is_oom(ValueError("CL_MEM_OBJECT_ALLOCATION_FAILURE"))  # not RuntimeError


@skip_unless_installed(MemoryType.TORCH)
def test_torch_cpu_allocator_message_is_recognised_only_on_plain_runtime_error() -> None:
    backend = get_backend(MemoryType.TORCH)
    text = "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: 8 bytes"
    assert backend.is_oom(RuntimeError(text))
    assert not backend.is_oom(ValueError(text))
    assert not backend.is_oom(RuntimeError("can't allocate memory"))


# --------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("times", [0, -1, True, 1.5, "2"])
def test_times_is_validated(times: Any) -> None:
    with pytest.raises(InvalidOptionError, match="times"), inject_oom("numpy", times=times):
        pass


def test_memory_type_and_nbytes_are_validated() -> None:
    with pytest.raises(InvalidOptionError, match="memory type"), inject_oom("numpyy"):
        pass
    with pytest.raises(InvalidOptionError, match="nbytes"), inject_oom("numpy", nbytes=-1):
        pass


def test_counts_and_cancellation() -> None:
    policy = OOMPolicy(retries=0, release=False)
    with inject_oom("numpy", times=3) as injection:
        with pytest.raises(OutOfMemoryError):
            policy.run(np.negative, np.ones(2))
        assert (injection.raised, injection.remaining) == (1, 2)
    # Leaving the block cancels the two left: none remains (it read 2 once cancelled).
    np.testing.assert_array_equal(policy.run(np.negative, np.ones(2)), -np.ones(2))
    assert (injection.raised, injection.remaining) == (1, 0)


def test_numpy_integers_are_counts_and_sizes() -> None:
    # OOMPolicy takes numpy integers; inject_oom refused np.int64(2).
    policy = OOMPolicy(retries=0, release=False)
    with inject_oom("numpy", times=np.int64(2), nbytes=np.uint32(640)) as injection:
        with pytest.raises(OutOfMemoryError) as info:
            policy.run(np.negative, np.ones(2))
        assert injection.remaining == 1
    assert info.value.requested_bytes == 640
    with pytest.raises(InvalidOptionError, match="times"), inject_oom("numpy", times=np.bool_(1)):
        pass


def test_block_left_by_an_exception_is_cancelled() -> None:
    with pytest.raises(ZeroDivisionError), inject_oom("numpy", times=5):
        1 / 0  # noqa: B018
    OOMPolicy(retries=0, release=False).run(np.negative, np.ones(2))


def test_nested_blocks_add_up() -> None:
    policy = OOMPolicy(retries=3, release=False)
    with inject_oom("numpy", times=1) as outer:
        with inject_oom("numpy", times=2) as inner:
            policy.run(np.negative, np.ones(2))  # 3 injected attempts, the 4th runs
        assert (outer.raised, inner.raised) == (1, 2)


@skip_unless_installed(MemoryType.TORCH)
def test_other_memory_types_are_not_affected() -> None:
    import torch

    with inject_oom("torch", times=1) as injection:
        OOMPolicy(retries=0).run(np.negative, np.ones(2))
        assert injection.remaining == 1
        with pytest.raises(OutOfMemoryError):
            OOMPolicy(retries=0).run(torch.neg, torch.ones(2))
    assert injection.raised == 1


@skip_unless_installed(MemoryType.TORCH)
def test_dispatched_calls_are_injected() -> None:
    import torch

    calls = []

    @ap.memory_type("torch", oom=OOMPolicy(retries=1, release=False))
    def double(x: Any) -> Any:
        calls.append(type(x))
        return x * 2

    with inject_oom("torch", times=1) as injection:
        out = double(np.arange(3.0))
    assert injection.raised == 1
    assert calls == [torch.Tensor]
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])
    with inject_oom("torch", times=2), pytest.raises(OutOfMemoryError) as info:
        double(np.arange(3.0))
    assert info.value.memory_type is MemoryType.TORCH
    assert info.value.attempts == 2


@skip_unless_installed(MemoryType.DASK)
def test_the_native_output_sample_on_dask_input_is_not_injected_into() -> None:
    # arrayport's own sample run (at the call, to learn a NATIVE_OUTPUT function's dtype on
    # dask input) took the injection meant for a block, and failed the call.
    import dask
    import dask.array as da

    @ap.memory_type(
        "numpy",
        blockwise=True,
        oom=OOMPolicy(retries=0, release=False, split_axis=0),
        dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT,
    )
    def half(x: Any) -> Any:
        return x / 2

    a = np.arange(32, dtype=np.int32).reshape(8, 4)
    with dask.config.set(scheduler="synchronous"), inject_oom("numpy", times=1) as injection:
        lazy = half(da.from_array(a, chunks=(4, 4)))
        assert injection.raised == 0
        out = lazy.compute()  # the first block runs out, and the split recovers it
    assert injection.raised == 1
    np.testing.assert_array_equal(out, a / 2)


def test_exported_from_arrayport_testing() -> None:
    import arrayport.testing

    assert arrayport.testing.inject_oom is inject_oom
    assert "inject_oom" in arrayport.testing.__all__


@skip_unless_installed(MemoryType.TORCH)
def test_injected_torch_error_is_the_one_torch_raises_on_the_call_s_device() -> None:
    # inject_oom("torch") raised CUDA's OutOfMemoryError for a call on the CPU, while
    # arrayport said "ran out of memory on cpu": a CPU recovery test met another error
    # than the DefaultCPUAllocator RuntimeError torch raises there.
    import torch

    @ap.memory_type("torch", device="cpu", oom=OOMPolicy(retries=0))
    def f(x: Any) -> Any:
        return x + 1

    with inject_oom("torch", times=1, nbytes=4096), pytest.raises(OutOfMemoryError) as info:
        f(np.ones(3, np.float32))
    cause = info.value.__cause__
    assert info.value.requested_bytes == 4096
    assert str(info.value.device) == "cpu"
    assert type(cause) is RuntimeError
    assert "DefaultCPUAllocator: can't allocate memory: you tried to allocate 4096 bytes" in (
        str(cause)
    )
    # The same text as torch's own CPU allocator error.
    with pytest.raises(RuntimeError) as real:
        torch.empty(1 << 62, dtype=torch.uint8)
    real_words = str(real.value).split("DefaultCPUAllocator")[1].split(str(1 << 62))[0]
    assert real_words == str(cause).split("DefaultCPUAllocator")[1].split("4096")[0]
    # On a CUDA device, CUDA's error (built without a GPU too: only its type and text).
    with inject_oom("torch", times=1, nbytes=4096) as injection:
        cuda = injection.make(ap.Device("cuda", 0))
    assert type(cuda) is torch_oom_type(torch)
    assert str(cuda).startswith("CUDA out of memory. Tried to allocate 4096 bytes")
