"""Tests of arrayport.oom: OOMPolicy's options, its fast path, and what it leaves alone.

The recovery steps are tested in test_oom_recovery.py and test_split.py, recognition in
test_oom_recognition.py; shared helpers are in tests/_oom_support.py.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport.errors import InvalidOptionError
from arrayport.testing import inject_oom
from tests._oom_support import GRID, Calls, make
from tests.conftest import CPU_TYPES, skip_unless_installed


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


def test_numpy_integers_are_accepted_as_ints() -> None:
    p = OOMPolicy(retries=np.int64(1), split_axis=np.int32(-1), min_split=np.uint8(4))
    assert (p.retries, p.split_axis, p.min_split) == (1, -1, 4)
    assert all(type(v) is int for v in (p.retries, p.split_axis, p.min_split))


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


def test_disabled_policy_stays_disabled_through_replace() -> None:
    # dataclasses.replace rebuilds through __init__: a disabled policy must not come
    # back as an active OOMPolicy(retries=0, release=False) that maps errors.
    policy = dataclasses.replace(OOMPolicy.disabled())
    assert policy == OOMPolicy.disabled()
    assert repr(policy) == "OOMPolicy.disabled()"
    with pytest.raises(MemoryError) as info:
        policy.run(Calls(lambda x: np.empty(1 << 62, dtype=np.uint8)), np.zeros(2))
    assert not isinstance(info.value, OutOfMemoryError)
    # Options on a disabled policy would be ignored: refused, saying what to build.
    expected = (
        r"^OOMPolicy\(retries=3, .*\) was asked of OOMPolicy.disabled\(\), which .*OOMPolicy\(...\)"
    )
    with pytest.raises(InvalidOptionError, match=expected):
        dataclasses.replace(OOMPolicy.disabled(), retries=3)


def test_run_refuses_a_function_that_is_not_callable() -> None:
    expected = r"^OOMPolicy.run\(fn, ...\): fn must be callable, not 5 \(int\)$"
    for policy in (OOMPolicy(), OOMPolicy.disabled()):
        with pytest.raises(InvalidOptionError, match=expected):
            policy.run(5, np.zeros(2))  # type: ignore[arg-type]
    with inject_oom("numpy"), pytest.raises(InvalidOptionError, match=expected):
        OOMPolicy().run(5, np.zeros(2))  # type: ignore[arg-type]


@skip_unless_installed(MemoryType.TENSORFLOW)
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_not_retried_as_out_of_memory() -> None:
    # tensorflow raises ResourceExhaustedError for a full disk too: the function ran
    # 6 times under OOMPolicy(retries=2, split_axis=0) and the caller was told memory ran out.
    import tensorflow as tf

    runs = []

    def save_then_double(x: Any) -> Any:
        runs.append(1)
        tf.io.write_file("/dev/full", "data")
        return x * 2

    with pytest.raises(tf.errors.ResourceExhaustedError, match="No space left on device"):
        OOMPolicy(retries=2, split_axis=0, release=False).run(save_then_double, tf.ones((4, 3)))
    assert runs == [1]


@pytest.mark.parametrize("fallback", ["dask", MemoryType.DASK])
def test_a_dask_fallback_is_refused_with_the_reason_and_the_remedy(fallback: Any) -> None:
    # Its lazy result was computed after the policy had returned: an out-of-memory error
    # there escaped the policy, told to use the split it had already declared.
    with pytest.raises(InvalidOptionError) as info:
        OOMPolicy(fallback=fallback)
    text = str(info.value)
    assert text.startswith("OOMPolicy(fallback=")
    assert "lazy" in text
    assert "fallback='numpy'" in text


def test_a_write_into_a_read_only_argument_says_why_it_is_read_only() -> None:
    # numpy's "assignment destination is read-only" named no cause, where arrayport had
    # handed an immutable (jax) or read-only source over as a read-only view on purpose.
    def clip_(x: Any) -> Any:
        x[...] = np.clip(x, -1, 1)
        return x

    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only") as info:
        OOMPolicy().run(clip_, frozen)
    assert "return a new array instead of writing into the argument" in str(info.value.__notes__)
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(ValueError, match="read-only") as info:
        ap.memory_type("numpy")(clip_)(jnp.arange(3.0))
    assert "converted from a jax or tensorflow array" in str(info.value.__notes__)
    # A read-only view the function made itself, of writable arguments: no such note.

    def into_own_view(x: Any) -> Any:
        np.broadcast_to(x, (2, 3))[...] = 0
        return x

    with pytest.raises(ValueError, match="read-only") as info:
        OOMPolicy().run(into_own_view, np.arange(3.0))
    assert not getattr(info.value, "__notes__", None)


def test_torch_arithmetic_on_its_storage_only_unsigned_types_says_what_to_do() -> None:
    # torch's own "add_stub" not implemented for 'UInt16' named neither cause nor remedy.
    pytest.importorskip("torch")

    @ap.memory_type("torch")
    def plus_one(x: Any) -> Any:
        return x + 1

    for dtype in (np.uint16, np.uint32, np.uint64):
        with pytest.raises(NotImplementedError, match="UInt") as info:
            plus_one(np.arange(3, dtype=dtype))
        assert "xp.astype(x, xp.int64)" in str(info.value.__notes__)
    # Another NotImplementedError is left as it is.

    def unfinished(x: Any) -> Any:
        raise NotImplementedError("later")

    with pytest.raises(NotImplementedError, match="later") as info:
        OOMPolicy().run(unfinished, np.arange(3))
    assert not getattr(info.value, "__notes__", None)
