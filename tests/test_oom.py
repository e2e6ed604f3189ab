"""Tests of arrayport.oom: OOMPolicy's release/retry, split, fallback and final error.

Out-of-memory errors come from two sources here: ``inject_oom`` (the frameworks' real
exception types, raised before a dispatched call) and real allocations that fail at once
without touching memory (sizes beyond the address space). Nothing here exhausts the
machine's memory, and PoCL never allocates a large buffer.
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import threading
import weakref
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport.devices import CPU, Device
from arrayport.errors import InvalidOptionError
from arrayport.oom import _requested_bytes
from arrayport.testing import inject_oom
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed

# Most tests do not release: a full gc.collect() with torch, jax and tensorflow imported
# takes about half a second. The release step has tests of its own.
NO_RELEASE = {"release": False}
PI_B = 1 << 50  # 1 PiB: beyond the address space, so the allocation fails at once


def make(mt: MemoryType, a: np.ndarray) -> Any:
    return ap.convert(a, mt)


def as_np(x: Any) -> np.ndarray:
    return np.asarray(ap.convert(x, "numpy"))


def device_of(x: Any) -> Device:
    from arrayport.backends import get_backend

    return get_backend(ap.detect_memory_type(x)).device_of(x)


class Calls:
    """A function that counts its calls (and the lengths it saw along axis 0)."""

    def __init__(self, fn: Any = None) -> None:
        self.fn = fn or (lambda x, *a, **k: x * 2 + 1)
        self.count = 0
        self.lengths: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.count += 1
            self.lengths.append(int(x.shape[0]))
        return self.fn(x, *args, **kwargs)


GRID = np.arange(8 * 5, dtype=np.float32).reshape(8, 5)


# ---------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retries": -1},
        {"retries": True},
        {"retries": 1.0},
        {"release": 1},
        {"split_axis": 0.0},
        {"split_axis": True},
        {"min_split": 0},
        {"min_split": -2},
        {"fallback": "numpyy"},
        {"fallback": 3},
    ],
)
def test_invalid_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError, match=next(iter(kwargs))):
        OOMPolicy(**kwargs)


def test_defaults_and_normalised_fallback() -> None:
    p = OOMPolicy()
    assert (p.retries, p.release, p.split_axis, p.min_split, p.fallback) == (2, True, None, 1, None)
    q = OOMPolicy(fallback="NumPy")
    assert q.fallback is MemoryType.NUMPY
    assert q == OOMPolicy(fallback=MemoryType.NUMPY)
    assert "fallback='numpy'" in repr(q)
    assert repr(OOMPolicy.disabled()) == "OOMPolicy.disabled()"
    assert OOMPolicy.disabled() != OOMPolicy(retries=0, release=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.retries = 3  # type: ignore[misc]
    assert hash(p) == hash(OOMPolicy())


def test_success_runs_once_and_passes_arguments() -> None:
    seen = []

    def fn(x: np.ndarray, k: int, *, scale: float = 1.0) -> np.ndarray:
        seen.append((k, scale))
        return x * scale + k

    out = OOMPolicy().run(fn, np.arange(3.0), 2, scale=3.0)
    np.testing.assert_array_equal(out, [2.0, 5.0, 8.0])
    assert seen == [(2, 3.0)]


# --------------------------------------------------------------- every CPU framework


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_recovers_by_release_and_retry(mt: MemoryType) -> None:
    x = make(mt, GRID)
    fn = Calls()
    with inject_oom(mt, times=1) as injected:
        out = OOMPolicy(retries=1).run(fn, x)
    assert injected.raised == 1
    assert fn.count == 1  # the injected attempts never reached fn
    assert ap.detect_memory_type(out) is mt
    np.testing.assert_array_equal(as_np(out), GRID * 2 + 1)


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_gives_up_with_out_of_memory_error(mt: MemoryType) -> None:
    x = make(mt, GRID)
    fn = Calls()
    with (
        inject_oom(mt, times=3, nbytes=123_456) as injected,
        pytest.raises(OutOfMemoryError) as info,
    ):
        OOMPolicy(retries=2, **NO_RELEASE).run(fn, x)
    err = info.value
    assert injected.raised == 3
    assert fn.count == 0
    assert err.memory_type is mt
    assert err.device == device_of(x)
    assert err.attempts == 3
    assert err.requested_bytes == 123_456
    assert isinstance(err, MemoryError)
    assert isinstance(err, ap.ArrayportError)
    from arrayport.backends import get_backend

    assert get_backend(mt).is_oom(err.__cause__)  # the framework's own error
    assert not isinstance(err.__cause__, OutOfMemoryError)
    assert mt.value in str(err)
    assert "Calls" in str(err)
    assert "split_axis" in str(err)


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_split_is_identical_to_unsplit(mt: MemoryType) -> None:
    x = make(mt, GRID)
    unsplit = OOMPolicy().run(Calls(), x)
    fn = Calls()
    # The whole call fails on both attempts; the halves then run.
    with inject_oom(mt, times=2):
        out = OOMPolicy(retries=1, split_axis=0, **NO_RELEASE).run(fn, x)
    assert fn.lengths == [4, 4]
    assert ap.detect_memory_type(out) is mt
    assert device_of(out) == device_of(x)
    np.testing.assert_array_equal(as_np(out), as_np(unsplit))
    assert as_np(out).dtype == as_np(unsplit).dtype


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_fallback_result_lands_where_an_unfailed_run_would(mt: MemoryType) -> None:
    target = MemoryType.TORCH if mt is MemoryType.NUMPY else MemoryType.NUMPY
    if target not in INSTALLED:
        pytest.skip(f"{target.value} is not installed")
    x = make(mt, GRID)
    ran_on = []

    def fn(a: Any) -> Any:
        ran_on.append(ap.detect_memory_type(a))
        return a * 2 + 1

    with inject_oom(mt, times=10) as injected:
        out = OOMPolicy(retries=1, fallback=target, **NO_RELEASE).run(fn, x)
    assert injected.raised == 2
    assert ran_on == [target]
    assert ap.detect_memory_type(out) is mt
    assert device_of(out) == device_of(x)
    np.testing.assert_array_equal(as_np(out), GRID * 2 + 1)


# ------------------------------------------------------------------------ real errors


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
    # A broadcast view: 8 GiB long, no memory behind it. The backend refuses it against
    # the device's maximum buffer size before allocating anything.
    huge = np.broadcast_to(np.float32(1), (1 << 31,))
    small = ap.convert(np.ones(4, np.float32), "pyclesperanto")
    fn = Calls(lambda a: ap.convert(huge, "pyclesperanto"))
    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=1, **NO_RELEASE).run(fn, small)
    assert fn.count == 2
    assert info.value.memory_type is MemoryType.PYCLESPERANTO
    assert info.value.requested_bytes == 1 << 33
    assert isinstance(info.value.__cause__, OutOfMemoryError)


@skip_unless_installed(MemoryType.TORCH)
def test_real_oom_then_recovery() -> None:
    import torch

    state = {"n": 0}

    def fn(x: Any) -> Any:
        state["n"] += 1
        if state["n"] == 1:
            torch.empty(1 << 62, dtype=torch.uint8)
        return x + 1

    out = OOMPolicy(retries=1).run(fn, torch.zeros(3))
    assert state["n"] == 2
    assert torch.equal(out, torch.ones(3))


def test_release_frees_what_the_failed_attempt_held() -> None:
    refs: list[weakref.ref[np.ndarray]] = []
    alive_at_retry: list[bool] = []

    def fn(x: np.ndarray) -> np.ndarray:
        if refs:
            alive_at_retry.append(refs[0]() is not None)
            return x
        big = np.ones(1000)
        refs.append(weakref.ref(big))
        np.empty(1 << 62, dtype=np.uint8)  # raises: big stays in this frame's locals
        return big

    OOMPolicy(retries=1, release=True).run(fn, np.zeros(1))
    assert alive_at_retry == [False]


# ----------------------------------------------------------------- errors untouched


@pytest.mark.parametrize(
    "error",
    [
        ValueError("offset out of memory bounds"),
        RuntimeError("CUDA out of memory"),  # a plain RuntimeError is no torch OOM type
        RuntimeError("RESOURCE_EXHAUSTED: not a JaxRuntimeError"),
        TypeError("bad"),
    ],
)
@pytest.mark.parametrize("mt", CPU_TYPES)
def test_non_oom_errors_propagate_untouched_and_unretried(mt: MemoryType, error: Exception) -> None:
    fn = Calls(lambda x: (_ for _ in ()).throw(error))
    policy = OOMPolicy(retries=3, split_axis=0, fallback="numpy")
    with pytest.raises(type(error)) as info:
        policy.run(fn, make(mt, GRID))
    assert info.value is error
    assert fn.count == 1


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupts_are_untouched(error: type[BaseException]) -> None:
    fn = Calls(lambda x: (_ for _ in ()).throw(error()))
    with pytest.raises(error):
        OOMPolicy(retries=3, split_axis=0, fallback="numpy").run(fn, GRID)
    assert fn.count == 1


def test_attempts_are_bounded() -> None:
    def always(x: np.ndarray) -> np.ndarray:
        raise MemoryError("no memory at all")

    fn = Calls(always)
    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=3, split_axis=0, **NO_RELEASE).run(fn, np.zeros((64, 2)))
    # 4 attempts at each of the lengths 64, 32, 16, 8, 4, 2, 1 (the first half each time).
    assert fn.count == 28
    assert fn.lengths == [n for n in (64, 32, 16, 8, 4, 2, 1) for _ in range(4)]
    assert info.value.attempts == 28
    assert "could not split further" in str(info.value)


def test_disabled_policy_stays_out_of_the_way() -> None:
    policy = OOMPolicy.disabled()
    fn = Calls(lambda x: np.empty(1 << 62, dtype=np.uint8))
    with pytest.raises(MemoryError) as info:
        policy.run(fn, np.zeros(2))
    assert not isinstance(info.value, OutOfMemoryError)
    assert fn.count == 1
    with inject_oom("numpy") as injected, pytest.raises(MemoryError) as info2:
        policy.run(Calls(), np.zeros(2))
    assert injected.raised == 1
    assert not isinstance(info2.value, OutOfMemoryError)


def test_oom_of_another_imported_framework_is_recognised() -> None:
    torch = pytest.importorskip("torch")

    def fn(x: np.ndarray) -> np.ndarray:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

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


# ------------------------------------------------------------------------------ split


def test_split_halves_only_arguments_of_the_same_length() -> None:
    kernel = np.arange(3.0)  # different length along axis 0: passed whole
    weights = np.arange(8.0)[:, None]  # same length: halved

    def fn(x: np.ndarray, k: np.ndarray, scale: float, *, w: np.ndarray) -> np.ndarray:
        assert k.shape == (3,)
        assert w.shape[0] == x.shape[0]
        return x * scale + w + k.sum()

    expected = fn(GRID, kernel, 2.0, w=weights)
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID, kernel, 2.0, w=weights)
    np.testing.assert_array_equal(out, expected)


def test_split_recurses_and_keeps_order() -> None:
    fn = Calls()
    with inject_oom("numpy", times=3):  # the whole (8), its first half (4), first quarter (2)
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID)
    assert fn.lengths == [1, 1, 2, 4]
    np.testing.assert_array_equal(out, GRID * 2 + 1)


def test_split_respects_min_split_and_negative_axis() -> None:
    fn = Calls(lambda x: x.T)  # lengths recorded along axis 0 of x.T below
    x = np.arange(2 * 7, dtype=np.int64).reshape(2, 7)
    seen: list[int] = []

    def g(a: np.ndarray) -> np.ndarray:
        seen.append(a.shape[-1])
        return fn(a).T * 3

    with inject_oom("numpy", times=10), pytest.raises(OutOfMemoryError):
        OOMPolicy(retries=0, split_axis=-1, min_split=3, **NO_RELEASE).run(g, x)
    assert seen == []  # every attempt injected: nothing ran
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=-1, min_split=3, **NO_RELEASE).run(g, x)
    assert seen == [3, 4]
    np.testing.assert_array_equal(out, x * 3)
    seen.clear()
    with inject_oom("numpy", times=2), pytest.raises(OutOfMemoryError) as info:
        # 7 -> 3 + 4; the piece of 3 cannot be halved without going under min_split
        OOMPolicy(retries=0, split_axis=-1, min_split=3, **NO_RELEASE).run(g, x)
    assert "min_split=3" in str(info.value)


def test_split_joins_tuples_and_namedtuples() -> None:
    Pair = collections.namedtuple("Pair", "a b")

    def fn(x: np.ndarray) -> tuple[Any, ...]:
        return (x + 1, Pair(x * 2, x[:, :2]))

    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID)
    assert isinstance(out, tuple)
    assert isinstance(out[1], Pair)
    np.testing.assert_array_equal(out[0], GRID + 1)
    np.testing.assert_array_equal(out[1].a, GRID * 2)
    np.testing.assert_array_equal(out[1].b, GRID[:, :2])


@pytest.mark.parametrize("result", [1.5, None, np.float64(2.0), "text"])
def test_split_needs_array_results(result: Any) -> None:
    with inject_oom("numpy", times=1), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(lambda x: result, GRID)
    assert "split" in str(info.value)
    assert isinstance(info.value.__cause__, MemoryError)


def test_no_split_without_the_axis() -> None:
    fn = Calls()
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError):
        OOMPolicy(retries=0, split_axis=2, **NO_RELEASE).run(fn, GRID)
    assert fn.count == 0


@pytest.mark.parametrize("mt", [m for m in CPU_TYPES if m is not MemoryType.PYCLESPERANTO])
def test_split_through_the_array_api(mt: MemoryType) -> None:
    def fn(x: Any) -> Any:
        xp = ap.namespace(x) if mt is not MemoryType.TENSORFLOW else None
        if xp is None:
            import tensorflow as tf

            return tf.cumsum(x, axis=1)
        return (
            xp.cumulative_sum(x, axis=1) if hasattr(xp, "cumulative_sum") else xp.cumsum(x, axis=1)
        )

    x = make(mt, GRID)
    unsplit = as_np(fn(x))
    with inject_oom(mt, times=3):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, x)
    np.testing.assert_array_equal(as_np(out), unsplit)


# --------------------------------------------------------------------------- fallback


@skip_unless_installed(MemoryType.TORCH)
def test_fallback_after_split_and_tuple_results() -> None:
    import torch

    x = torch.arange(8.0).reshape(4, 2)
    fn = Calls(lambda a: (a + 1, 7))
    with inject_oom("torch", times=100) as injected:
        out = OOMPolicy(retries=0, split_axis=0, fallback="numpy", **NO_RELEASE).run(fn, x)
    # torch: the whole call, then halves of 2 and 1 of the first half, down the left branch.
    assert injected.raised == 3
    assert isinstance(out[0], torch.Tensor)
    assert out[1] == 7
    assert torch.equal(out[0], x + 1)
    assert fn.count == 1


def test_fallback_that_also_fails_raises_with_both_in_the_message() -> None:
    torch = pytest.importorskip("torch")
    with (
        inject_oom("torch", times=5),
        inject_oom("numpy", times=5),
        pytest.raises(OutOfMemoryError) as info,
    ):
        OOMPolicy(retries=1, fallback="numpy", **NO_RELEASE).run(Calls(), torch.zeros(2))
    err = info.value
    assert err.attempts == 4
    assert err.memory_type is MemoryType.NUMPY  # the last error was the fallback's
    assert "fallback to numpy ran out of memory too" in str(err)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_fallback_that_cannot_hold_the_input_says_so() -> None:
    x = np.arange(4.0)  # float64: pyclesperanto would change values, so convert refuses
    with inject_oom("numpy", times=5), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, fallback="pyclesperanto", **NO_RELEASE).run(Calls(), x)
    assert "fallback to pyclesperanto failed" in str(info.value)
    assert info.value.memory_type is MemoryType.NUMPY


# ------------------------------------------------------------------- threads, metrics


def test_injection_is_thread_safe() -> None:
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            try:
                OOMPolicy(retries=0, **NO_RELEASE).run(np.negative, np.ones(2))
                outcome = "ok"
            except OutOfMemoryError:
                outcome = "oom"
            with lock:
                results.append(outcome)

    with inject_oom("numpy", times=37) as injected:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert injected.raised == 37
    assert injected.remaining == 0
    assert results.count("oom") == 37
    assert results.count("ok") == 43


def test_metrics_count_oom_outcomes() -> None:
    with ap.metrics.collecting() as m:
        with inject_oom("numpy", times=1):
            OOMPolicy(retries=1, **NO_RELEASE).run(np.negative, GRID)
        with inject_oom("numpy", times=1):
            OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(np.negative, GRID)
        with inject_oom("numpy", times=2), pytest.raises(OutOfMemoryError):
            OOMPolicy(retries=1, **NO_RELEASE).run(np.negative, GRID)
        OOMPolicy().run(np.negative, GRID)  # no OOM: no event
        snap = m.snapshot()
    assert snap["oom_events"] == {"numpy": 3}
    assert snap["oom_outcomes"] == {"release": 1, "split": 1, "raised": 1}
    assert snap["oom_errors"] == 4
    assert snap["oom_recoveries"] == 2
    ap.metrics.reset()
    with inject_oom("numpy", times=1):
        OOMPolicy(retries=1, **NO_RELEASE).run(np.negative, GRID)
    assert ap.metrics.snapshot()["oom_events"] == {}  # off: nothing counted


# ------------------------------------------------------------------- requested bytes


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
    ],
)
def test_requested_bytes_from_messages(message: str, expected: int | None) -> None:
    assert _requested_bytes(RuntimeError(message)) == expected


def test_gc_is_not_left_disabled() -> None:
    assert gc.isenabled()
