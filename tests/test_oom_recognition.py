"""Tests of arrayport._oom_recognition: which errors are out-of-memory, where a call runs,
and the requested size read from an error (through OOMPolicy.run, with real allocations
that fail at once)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport._oom_recognition import Site, find_site, requested_bytes
from arrayport.devices import CPU
from tests._oom_support import NO_RELEASE, PI_B, Calls
from tests.conftest import INSTALLED, skip_unless_installed, torch_oom_type


def test_real_numpy_oom_is_recognised_with_its_size() -> None:
    def fn(x: np.ndarray) -> np.ndarray:
        return np.empty(1 << 62, dtype=np.uint8)

    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=1, **NO_RELEASE).run(fn, np.zeros(2))
    assert info.value.memory_type is MemoryType.NUMPY
    assert info.value.requested_bytes == 1 << 62
    assert info.value.attempts == 2
    from numpy._core._exceptions import _ArrayMemoryError

    assert type(info.value.__cause__) is _ArrayMemoryError


@skip_unless_installed(MemoryType.TORCH)
def test_real_torch_cpu_allocator_oom_is_recognised() -> None:
    import torch

    def fn(x: Any) -> Any:
        return torch.empty(1 << 62, dtype=torch.uint8)

    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0).run(fn, torch.zeros(2))
    assert info.value.memory_type is MemoryType.TORCH
    assert info.value.device == CPU
    assert info.value.requested_bytes == 1 << 62
    assert "DefaultCPUAllocator" in str(info.value.__cause__)


@skip_unless_installed(MemoryType.JAX)
def test_real_jax_oom_is_recognised() -> None:
    import jax.numpy as jnp

    def fn(x: Any) -> Any:
        return jnp.zeros((1 << 20, 1 << 20, 1 << 10), dtype=jnp.uint8).block_until_ready()

    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0).run(fn, jnp.zeros(2))
    assert info.value.memory_type is MemoryType.JAX
    assert info.value.requested_bytes == PI_B
    assert "RESOURCE_EXHAUSTED" in str(info.value.__cause__)


@pytest.mark.slow  # tensorflow's CPU allocator waits ~10 s before it raises
@skip_unless_installed(MemoryType.TENSORFLOW)
def test_real_tensorflow_oom_is_recognised() -> None:
    import tensorflow as tf

    def fn(x: Any) -> Any:
        return tf.zeros((1 << 20, 1 << 20, 1 << 10), dtype=tf.uint8)

    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0).run(fn, tf.zeros(2))
    assert info.value.memory_type is MemoryType.TENSORFLOW
    assert info.value.requested_bytes == PI_B
    assert isinstance(info.value.__cause__, tf.errors.ResourceExhaustedError)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_opencl_buffer_limit_is_out_of_memory() -> None:
    # A broadcast view one element beyond the device's maximum buffer size, no memory
    # behind it. The backend refuses it before allocating anything. (PoCL derives the
    # maximum from the free host memory: 4096 MB in one process, 8192 MB in another; a
    # fixed 8 GiB view was pushed, copying 8 GiB, whenever the maximum was 8192 MB.)
    from arrayport.backends import pyclesperanto as cle_backend

    small = ap.convert(np.ones(4, np.float32), "pyclesperanto")
    limit = cle_backend.max_buffer_bytes(cle_backend.device_of(small))
    assert limit is not None
    assert limit % 4 == 0
    huge = np.broadcast_to(np.float32(1), (limit // 4 + 1,))
    fn = Calls(lambda a: ap.convert(huge, "pyclesperanto"))
    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=1, **NO_RELEASE).run(fn, small)
    assert fn.count == 1  # recognised, and not retried: no release lifts a fixed limit
    assert info.value.memory_type is MemoryType.PYCLESPERANTO
    assert info.value.requested_bytes == limit + 4
    assert isinstance(info.value.__cause__, OutOfMemoryError)


def test_oom_of_another_imported_framework_is_recognised() -> None:
    torch = pytest.importorskip("torch")

    def fn(x: np.ndarray) -> np.ndarray:
        raise torch_oom_type(torch)("CUDA out of memory. Tried to allocate 2.00 GiB")

    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0).run(fn, np.zeros(2))
    assert info.value.memory_type is MemoryType.TORCH
    assert info.value.device is None  # not the numpy call's device: torch's is unknown
    assert info.value.requested_bytes == 2 << 30


def test_no_array_arguments() -> None:
    fn = Calls(lambda n: np.empty(1 << 62, dtype=np.uint8))
    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=1, **NO_RELEASE).run(lambda n: fn(np.zeros(n)), 3)
    assert info.value.memory_type is MemoryType.NUMPY
    assert info.value.attempts == 2


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)", 2 << 30),
        ("CUDA out of memory. Tried to allocate 20.00 MiB", 20 << 20),
        ("Out of memory allocating 1,073,741,824 bytes (allocated so far: 0 bytes).", 1 << 30),
        ("RESOURCE_EXHAUSTED: Out of memory allocating 4096 bytes.", 4096),
        ("DefaultCPUAllocator: can't allocate memory: you tried to allocate 64 bytes.", 64),
        ("OOM when allocating tensor with shape[2,3] and type float on CPU", 24),
        ("OOM when allocating tensor with shape[10] and type strange on CPU", None),
        ("CL_MEM_OBJECT_ALLOCATION_FAILURE", None),
        # tensorflow's XLA (jit_compile=True), as a real 1 PiB tf.zeros words it:
        ("Out of memory while trying to allocate 4.00PiB. [Op:__inference_f_9]", 4 << 50),
        ("Out of memory while trying to allocate 512B.", 512),
    ],
)
def test_requested_bytes_from_messages(message: str, expected: int | None) -> None:
    assert requested_bytes(RuntimeError(message)) == expected


@skip_unless_installed(MemoryType.TORCH)
def test_the_site_is_the_first_array_found_as_dispatch_finds_arrays() -> None:
    import torch

    t = torch.zeros(3)
    # Top level and one level down in lists, tuples and namedtuples, positional first.
    assert find_site((1, [None, t], np.zeros(2)), {}) == Site(MemoryType.TORCH, CPU)
    assert find_site(("a",), {"images": (t,)}) == Site(MemoryType.TORCH, CPU)
    assert find_site((np.zeros(2),), {"t": t}) == Site(MemoryType.NUMPY, CPU)
    # Dicts and deeper nesting are not looked into.
    assert find_site(({"x": t}, [[t]]), {}) == Site(None, None)


@skip_unless_installed(MemoryType.TORCH)
def test_a_call_whose_arrays_come_in_a_list_is_recognised_and_recovered() -> None:
    import torch

    from arrayport.testing import inject_oom

    t = torch.zeros(3)
    ran: list[int] = []

    def fn(images: list[Any]) -> Any:
        ran.append(len(images))
        return images[0] + 1

    with inject_oom("torch", times=1) as injected:
        out = OOMPolicy(retries=1, **NO_RELEASE).run(fn, [t])
    assert injected.raised == 1  # the call runs on torch: its tensor is inside the list
    assert ran == [1]
    assert torch.equal(out, torch.ones(3))


def test_settled_returns_the_result_and_imports_no_framework() -> None:
    # Waiting is for jax's asynchronous results; without jax loaded it must not load it.
    code = (
        "import sys, numpy as np\n"
        "from arrayport._oom_recognition import settled\n"
        "r = (np.ones(2), [np.zeros(1)])\n"
        "assert settled(r) is r\n"
        "assert 'jax' not in sys.modules, 'settled imported jax'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_backends_that_call_any_memory_error_theirs_say_so() -> None:
    # They are asked last, so that a framework whose own error type is a MemoryError
    # (cupy's OutOfMemoryError) is recognised, and its memory released, first.
    from arrayport.backends import get_backend

    for mt in INSTALLED:
        backend = get_backend(mt)
        claims = bool(getattr(backend, "CLAIMS_MEMORY_ERROR", False))
        assert backend.is_oom(MemoryError("out of memory")) is claims, mt


@pytest.mark.parametrize("site", [None, *MemoryType], ids=str)
def test_frameworks_with_their_own_errors_are_asked_before_any_memory_error_claimer(
    site: MemoryType | None,
) -> None:
    # cupy's OutOfMemoryError is a MemoryError: in a numpy function, numpy (the call's
    # site) was asked first and claimed it, so cupy's pool was never released (found on
    # an H100). The site goes first only among backends of its own kind.
    from arrayport._oom_recognition import _asking_order, _claims_memory_error

    order = _asking_order(site)
    assert sorted(order) == sorted(MemoryType)
    claims = [_claims_memory_error(m) for m in order]
    assert claims == sorted(claims)  # every False before every True
    assert _claims_memory_error(MemoryType.NUMPY)
    assert not _claims_memory_error(MemoryType.CUPY)
    if site is not None:
        group = [m for m in order if _claims_memory_error(m) == _claims_memory_error(site)]
        assert group[0] is site


class _QuotaExceeded(MemoryError):
    """A program's own condition: no allocation failed."""


def test_a_program_s_own_memory_error_subclass_is_no_backend_s_oom() -> None:
    # ADR 0020: a non-OOM error is never retried. numpy's real allocation error is OOM.
    from arrayport._oom_recognition import oom_memory_type

    for site in [None, *INSTALLED]:
        assert oom_memory_type(_QuotaExceeded("quota of 10 entries"), site) is None, site
    with pytest.raises(MemoryError) as real:
        np.empty(1 << 60, dtype=np.uint8)  # 1 EiB: numpy's _ArrayMemoryError
    assert type(real.value) is not MemoryError
    assert oom_memory_type(real.value, MemoryType.NUMPY) is MemoryType.NUMPY

    runs = []

    @ap.memory_type("numpy")
    def f(x):
        runs.append(1)
        raise _QuotaExceeded("quota of 10 entries")

    with pytest.raises(_QuotaExceeded):
        f(np.ones(3))
    assert len(runs) == 1  # not retried, not turned into OutOfMemoryError


def test_an_argument_dispatch_refuses_has_no_site_and_changes_nothing() -> None:
    # A masked array has no site: the policy raised "masked arrays are not converted" in
    # place of the function's own error, and, under any injection, of its result.
    from arrayport.testing import inject_oom

    masked = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    assert find_site((masked,), {}) == Site(None, None)
    site = find_site((masked, np.zeros(2)), {})
    assert site.memory_type is MemoryType.NUMPY

    def fails(x: Any) -> Any:
        raise ValueError("the function's own")

    with pytest.raises(ValueError, match="the function's own"):
        ap.OOMPolicy().run(fails, masked)
    with inject_oom("numpy"):
        assert ap.OOMPolicy().run(lambda x: int(x.sum()), masked) == 4


def test_a_framework_blocked_in_sys_modules_is_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    from arrayport._oom_recognition import loaded

    # A None entry is how an import is blocked: the framework is not there to raise.
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    assert loaded(MemoryType.TENSORFLOW) is False
    monkeypatch.setitem(sys.modules, "tensorflow", sys)  # any module object: imported
    assert loaded(MemoryType.TENSORFLOW) is True


def test_sizes_read_in_the_largest_unit_up_to_exbibytes() -> None:
    from arrayport._oom_recognition import format_bytes

    assert format_bytes(512) == "512 bytes"
    assert format_bytes(3 << 29) == "1.5 GiB"
    assert format_bytes(1 << 62) == "4.0 EiB"  # was "4096.0 PiB"


@skip_unless_installed(MemoryType.JAX)
def test_a_jax_declared_functions_own_error_under_jit_reaches_the_caller() -> None:
    # The policy asked the tracer for its device on the way out, and jax's
    # ConcretizationTypeError replaced the function's own error.
    import jax
    import jax.numpy as jnp

    @ap.memory_type("jax")
    def checked(p: Any) -> Any:
        if p.shape[0] > 2:
            raise ValueError("expected at most 2 rows")
        return p * 2

    with pytest.raises(ValueError, match=r"^expected at most 2 rows"):
        jax.jit(checked)(jnp.ones((3, 3)))
    site = jax.jit(
        lambda t: (
            jnp.zeros(()) if find_site((t,), {}) == Site(MemoryType.JAX, None) else jnp.ones(())
        )
    )
    assert float(site(jnp.ones(2))) == 0.0
