"""Tests of arrayport._oom_recovery: release and retry, fallback, the final
OutOfMemoryError, and the metrics of each outcome (through OOMPolicy.run). The split step
is tested in test_split.py.
"""

from __future__ import annotations

import dataclasses
import gc
import weakref
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport.errors import InvalidOptionError
from arrayport.testing import inject_oom
from tests._oom_support import (
    GRID,
    NO_RELEASE,
    PI_B,
    Calls,
    as_np,
    device_of,
    fail_first_move,
    make,
)
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed, torch_oom_type


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


def test_release_frees_what_an_error_the_function_handled_held() -> None:
    # The out-of-memory error raised while fn handled its own error chains to it: the
    # frames of that error are fn's, and are cleared too.
    refs: list[weakref.ref[np.ndarray]] = []
    alive_at_retry: list[bool] = []

    def helper() -> None:
        big = np.ones(1000)
        refs.append(weakref.ref(big))
        raise ValueError("fn handles this")

    def fn(x: np.ndarray) -> np.ndarray:
        if refs:
            alive_at_retry.append(refs[0]() is not None)
            return x
        try:
            helper()
        except ValueError:
            np.empty(1 << 62, dtype=np.uint8)  # raises while handling
        return x

    OOMPolicy(retries=1, release=True).run(fn, np.zeros(1))
    assert alive_at_retry == [False]


def test_recovery_keeps_the_callers_own_error_and_generators() -> None:
    # A call recovering inside the caller's `except` block cleared the locals of the
    # caller's error's frames (followed through __context__), and closed a generator
    # suspended in its own handler that the chain reached.
    def parse(record: str) -> None:
        important = {"record": record}  # noqa: F841  (read back through the frame)
        raise ValueError("bad record")

    def validator() -> Any:
        while True:
            try:
                raise KeyError("item")
            except KeyError as e:
                yield e

    def fn(x: np.ndarray) -> np.ndarray:
        if not calls:
            calls.append(1)
            np.empty(1 << 62, dtype=np.uint8)
        return x + 1

    calls: list[int] = []
    g = validator()
    suspended = next(g)
    try:
        try:
            parse("abc")
        except ValueError:
            raise RuntimeError("batch failed") from suspended
    except RuntimeError as outer:
        out = OOMPolicy(retries=1, **NO_RELEASE).run(fn, np.zeros(1))
        frame = outer.__context__.__traceback__.tb_next.tb_frame  # parse's frame
        assert frame.f_locals["important"] == {"record": "abc"}
    assert out.tolist() == [1.0]
    assert isinstance(next(g), KeyError)  # still alive


def test_attempts_are_bounded() -> None:
    def always(x: np.ndarray) -> np.ndarray:
        raise MemoryError("no memory at all")

    fn = Calls(always)
    with pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=3, split_axis=0, **NO_RELEASE).run(fn, np.zeros((64, 2)))
    # 4 attempts at each of the lengths 64, 31, 15, 7, 3, 1 (the first piece each time:
    # 64 is cut into 31 and 33, 31 into 15 and 16, ...).
    assert fn.count == 24
    assert fn.lengths == [n for n in (64, 31, 15, 7, 3, 1) for _ in range(4)]
    assert info.value.attempts == 24
    assert "could not split further" in str(info.value)


@skip_unless_installed(MemoryType.TORCH)
def test_fallback_after_split_and_tuple_results() -> None:
    import torch

    x = torch.arange(8.0).reshape(4, 2)
    fn = Calls(lambda a: (a + 1, 7))
    with inject_oom("torch", times=100) as injected:
        out = OOMPolicy(retries=0, split_axis=0, fallback="numpy", **NO_RELEASE).run(fn, x)
    # torch: the whole call, then its first piece (4 rows are cut into 1 and 3), which
    # cannot be cut again.
    assert injected.raised == 2
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
    assert snap["oom_outcomes"] == {"retry": 1, "split": 1, "raised": 1}
    assert snap["oom_errors"] == 4
    assert snap["oom_recoveries"] == 2
    ap.metrics.reset()
    with inject_oom("numpy", times=1):
        OOMPolicy(retries=1, **NO_RELEASE).run(np.negative, GRID)
    assert ap.metrics.snapshot()["oom_events"] == {}  # off: nothing counted


def test_a_plain_retry_is_not_counted_as_a_release() -> None:
    # OOMPolicy(release=False) recovered by retrying was counted as "release".
    with ap.metrics.collecting() as m:
        with inject_oom("numpy", times=1):
            OOMPolicy(retries=1, release=False).run(np.negative, GRID)
        assert m.snapshot()["oom_outcomes"] == {"retry": 1}
        with inject_oom("numpy", times=1):
            OOMPolicy(retries=1, release=True).run(np.negative, GRID)
        snap = m.snapshot()
    assert snap["oom_outcomes"] == {"retry": 1, "release": 1}
    assert (snap["oom_errors"], snap["oom_recoveries"]) == (2, 2)


def test_gc_is_not_left_disabled() -> None:
    assert gc.isenabled()


@skip_unless_installed(MemoryType.TORCH)
def test_fallback_converts_arrays_inside_list_arguments() -> None:
    import torch

    t = torch.arange(4.0)
    ran_on: list[MemoryType] = []

    def fn(pair: list[Any], scale: float) -> Any:
        ran_on.extend(ap.detect_memory_type(v) for v in pair)
        return pair[0] * scale + pair[1], [pair[0]]

    with inject_oom("torch", times=10) as injected:
        out, rest = OOMPolicy(retries=0, fallback="numpy", **NO_RELEASE).run(fn, [t, t + 1], 2.0)
    assert injected.raised == 1
    assert ran_on == [MemoryType.NUMPY, MemoryType.NUMPY]
    assert isinstance(out, torch.Tensor)
    assert torch.equal(out, t * 3 + 1)
    assert isinstance(rest, list)
    assert isinstance(rest[0], torch.Tensor)


def _always_out_of_memory(x: Any) -> Any:
    raise MemoryError


def test_the_give_up_message_says_only_what_was_done() -> None:
    once = ap.memory_type("numpy", oom=OOMPolicy(retries=0))(_always_out_of_memory)
    with pytest.raises(OutOfMemoryError) as info:
        once(np.ones((4, 4)))
    text = str(info.value)
    assert "1 attempt" in text
    assert "releasing" not in text  # one attempt: nothing was released between attempts
    assert "fallback='numpy'" not in text  # numpy itself ran out: no numpy fallback to offer
    twice = ap.memory_type("numpy", oom=OOMPolicy(retries=1))(_always_out_of_memory)
    with pytest.raises(OutOfMemoryError, match="2 attempts, releasing cached memory between"):
        twice(np.ones((4, 4)))


@skip_unless_installed(MemoryType.TORCH)
def test_the_give_up_message_offers_the_host_only_off_the_host() -> None:
    import torch

    def torch_out_of_memory(x: Any) -> Any:
        raise torch_oom_type(torch)("CUDA out of memory. Tried to allocate 2.00 GiB")

    on_cpu = ap.memory_type("torch", oom=OOMPolicy(retries=0))(torch_out_of_memory)
    with pytest.raises(OutOfMemoryError) as info:
        on_cpu(np.ones((4, 4)))
    assert info.value.device == ap.Device("cpu", 0)
    assert "fallback='numpy'" not in str(info.value)  # it already ran on the host


def test_a_split_axis_no_argument_has_is_named() -> None:
    beyond = ap.memory_type("numpy", oom=OOMPolicy(retries=0, split_axis=5))(_always_out_of_memory)
    with pytest.raises(OutOfMemoryError, match="no array argument has axis 5") as info:
        beyond(np.ones((4, 4)))
    assert "min_split" not in str(info.value)
    along_rows = ap.memory_type("numpy", oom=OOMPolicy(retries=0, split_axis=0))(
        _always_out_of_memory
    )
    with pytest.raises(OutOfMemoryError, match="could not split further along axis 0"):
        along_rows(np.ones((4, 4)))


@pytest.mark.parametrize("failures", [1, 2])
def test_inputs_are_freed_when_the_call_returns_without_a_garbage_collection(
    failures: int,
) -> None:
    # The remembered error's frames reach the policy's own frames (f_back): kept by the
    # policy too, that was a cycle holding the inputs (device memory) until gc ran.
    calls = {"n": 0}

    def flaky(z: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise MemoryError
        return z + 1

    policy = OOMPolicy(retries=2, **NO_RELEASE)
    gc.disable()
    try:
        for outcome in ("returns", "raises"):
            calls["n"] = -10 if outcome == "raises" else 0
            a = np.ones(1000)
            alive = weakref.ref(a)
            try:
                out = policy.run(flaky, a)
                del out
            except OutOfMemoryError:
                assert outcome == "raises"
            del a
            assert alive() is None, outcome
    finally:
        gc.enable()


@skip_unless_installed(MemoryType.TORCH)
@skip_unless_installed(MemoryType.JAX)
def test_fallback_converts_back_only_what_the_fallback_made() -> None:
    # A torch function that returns a jax array on purpose returns one in the fallback run
    # too: only the fallback's own (numpy) arrays go back to torch.
    import jax.numpy as jnp
    import torch

    def two(a: Any) -> Any:
        return a + 1, jnp.zeros(2)

    with inject_oom("torch", times=100):
        out = OOMPolicy(retries=0, fallback="numpy", **NO_RELEASE).run(two, torch.ones(3))
    assert isinstance(out[0], torch.Tensor)
    assert torch.equal(out[0], torch.full((3,), 2.0))
    assert ap.detect_memory_type(out[1]) is MemoryType.JAX


def test_release_asks_the_backend_and_escalates_on_a_repeated_gpu_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arrayport.backends import get_backend
    from arrayport.devices import Device

    gpu = Device("cuda", 0)
    released: list[tuple[str, Any]] = []
    watched = [mt for mt in (MemoryType.TORCH, MemoryType.JAX) if mt in INSTALLED]
    if MemoryType.TORCH not in watched:
        pytest.skip("needs torch")
    for mt in watched:
        get_backend(mt).load()
        monkeypatch.setattr(
            get_backend(mt), "release_memory", lambda d, name=mt.value: released.append((name, d))
        )

    def on_gpu(x: Any) -> Any:
        raise OutOfMemoryError("cuda out of memory", memory_type="torch", device=gpu)

    with pytest.raises(OutOfMemoryError):
        OOMPolicy(retries=2).run(on_gpu, np.zeros(2))
    # After the 1st failure torch's cache on that GPU; after the 2nd every imported
    # framework's too; none after the last (nothing follows it).
    others = [(mt.value, gpu) for mt in watched if mt is not MemoryType.TORCH]
    assert released == [("torch", gpu), ("torch", gpu), *others]
    released.clear()
    with pytest.raises(OutOfMemoryError):
        OOMPolicy(retries=2, release=False).run(on_gpu, np.zeros(2))
    assert released == []


class ArrayImpl:
    """A jax array whose computation failed with jax's own out-of-memory error, raised
    only when it is waited for: what jax's asynchronous execution does on a GPU (found on
    an H100, ADR 0059). The jax backend knows concrete jax arrays by this type name and
    waits with ``block_until_ready``."""

    def __init__(self, fails: bool) -> None:
        self.fails = fails

    def block_until_ready(self) -> ArrayImpl:
        if self.fails:
            import jax

            raise jax.errors.JaxRuntimeError(
                "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 3.00GiB"
            )
        return self

    def is_deleted(self) -> bool:  # asked when waiting failed: a failed array is not deleted
        return False


class _Count:
    n = 0


def _async_oom_once() -> tuple[_Count, Any]:
    calls = _Count()

    def fn(x: Any) -> tuple[Any, ArrayImpl]:
        calls.n += 1
        return x * 2, ArrayImpl(fails=calls.n == 1)

    return calls, fn


@pytest.mark.skipif(MemoryType.JAX not in INSTALLED, reason="jax is not installed")
def test_an_oom_raised_only_when_waited_for_is_recovered_by_the_policy() -> None:
    import jax.numpy as jnp

    calls, fn = _async_oom_once()
    with ap.metrics.collecting() as m:
        out, pending = OOMPolicy(retries=1).run(fn, jnp.arange(4.0))
        snap = m.snapshot()
    assert calls.n == 2
    assert not pending.fails
    np.testing.assert_array_equal(np.asarray(out), [0.0, 2.0, 4.0, 6.0])
    assert snap["oom_errors"] == 1


@pytest.mark.skipif(MemoryType.JAX not in INSTALLED, reason="jax is not installed")
@pytest.mark.parametrize("source", ["numpy", "jax"])
def test_dispatched_jax_functions_wait_for_their_results(source: str) -> None:
    # Through the decorator: the general path on the first call; on the second, the quick
    # share of a numpy input, or the fast path of an input already in jax.
    calls, fn = _async_oom_once()
    wrapped = ap.memory_type("jax", oom=OOMPolicy(retries=1))(fn)
    x = ap.convert(np.arange(4.0, dtype=np.float32), source)
    for round_ in range(2):
        if round_:
            calls.n = 0  # the next first attempt fails again
        out, pending = wrapped(x)
        assert calls.n == 2
        assert not pending.fails
        np.testing.assert_array_equal(np.asarray(out), [0.0, 2.0, 4.0, 6.0])


@pytest.mark.skipif(MemoryType.JAX not in INSTALLED, reason="jax is not installed")
def test_a_disabled_policy_does_not_wait() -> None:
    calls, fn = _async_oom_once()
    _out, pending = OOMPolicy.disabled().run(fn, np.arange(3.0))
    assert calls.n == 1
    assert pending.fails


@pytest.mark.skipif(MemoryType.JAX not in INSTALLED, reason="jax is not installed")
def test_the_fast_paths_wait_for_a_single_jax_result(monkeypatch) -> None:
    # A numpy input reaches jax by dispatch's quick share from the second call on; the
    # wait fails once per call, as jax's would on a GPU that ran out of memory.
    from arrayport.backends import jax as jax_backend

    waits = _Count()
    real_settle = jax_backend.settle

    def settle(value: Any) -> None:
        waits.n += 1
        if waits.n % 2:
            ArrayImpl(fails=True).block_until_ready()
        real_settle(value)

    monkeypatch.setattr(jax_backend, "settle", settle)
    calls = _Count()

    def double(x: Any) -> Any:
        calls.n += 1
        return x * 2

    wrapped = ap.memory_type("jax", oom=OOMPolicy(retries=1))(double)
    x = np.arange(4.0, dtype=np.float32)
    for expected_calls in (2, 4, 6):
        np.testing.assert_array_equal(wrapped(x), [0.0, 2.0, 4.0, 6.0])
        assert (calls.n, waits.n) == (expected_calls, expected_calls)


@pytest.mark.skipif(MemoryType.TORCH not in INSTALLED, reason="torch is not installed")
def test_a_numpy_scalar_from_the_fallback_comes_back_as_the_calls_array() -> None:
    # numpy's reductions return numpy scalars, which the fallback's way back did not see as
    # arrays: a torch call returned numpy.float32 after falling back (a 0-d tensor without
    # the error), in a dict result too.
    import torch

    t = torch.arange(6.0).reshape(2, 3)

    def sums(a: Any) -> Any:
        return {"s": a.sum(), "rows": (a.sum(axis=1) if isinstance(a, np.ndarray) else a.sum(1))}

    with inject_oom("torch", times=1):
        got = ap.OOMPolicy(retries=0, fallback="numpy").run(sums, t)
    want = sums(t)
    assert type(got["s"]) is torch.Tensor
    assert got["s"].shape == want["s"].shape == ()
    assert float(got["s"]) == float(want["s"]) == 15.0
    assert type(got["rows"]) is torch.Tensor
    torch.testing.assert_close(got["rows"], want["rows"])


@pytest.mark.skipif(MemoryType.TORCH not in INSTALLED, reason="torch is not installed")
def test_an_error_in_the_fallback_says_it_came_from_the_fallback() -> None:
    # A torch-only function given numpy arrays by the fallback raised a bare TypeError,
    # with nothing saying an out-of-memory error and a fallback came first.
    import torch

    t = torch.arange(6.0).reshape(2, 3)
    with inject_oom("torch", times=1), pytest.raises(TypeError) as info:
        ap.OOMPolicy(retries=0, fallback="numpy").run(lambda a: torch.relu(a), t)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "fallback" in notes
    assert "numpy" in notes
    assert "torch" in notes


def _column_totals(x: Any) -> Any:
    return ap.namespace(x).sum(x, axis=0)


def test_a_split_that_cannot_be_joined_says_why_and_what_to_do() -> None:
    # A reduction over the split axis: each half gives partial totals of shape (5,), which
    # were joined into a (10,) result of wrong values (ADR 0062).
    totals = ap.memory_type("numpy", oom=OOMPolicy(retries=0, split_axis=0))(_column_totals)
    with inject_oom("numpy", times=1), pytest.raises(InvalidOptionError) as info:
        totals(GRID)
    text = str(info.value)
    assert "OOMPolicy(split_axis=0) split the call of _column_totals" in text
    assert "cannot join the pieces' results" in text
    assert "a piece of 3 rows along axis 0 returned an array of shape (5,)" in text
    assert "which has 5 along that axis, not 3" in text
    assert "declare split_axis on an axis the function maps row by row" in text
    assert "split_axis=None" in text
    assert isinstance(info.value.__cause__, MemoryError)  # the out-of-memory that split it


@skip_unless_installed(MemoryType.TORCH)
def test_a_split_that_cannot_be_joined_is_refused_before_the_fallback() -> None:
    # The declaration is wrong for this function: the policy says so rather than trying
    # the fallback (as for every result a split cannot join, ADR 0021), and never returns
    # the joined partial totals.

    ran_on: list[MemoryType] = []

    def totals(x: Any) -> Any:
        ran_on.append(ap.detect_memory_type(x))
        return _column_totals(x)

    policy = OOMPolicy(retries=0, split_axis=0, fallback="numpy", **NO_RELEASE)
    with inject_oom("torch", times=1), pytest.raises(InvalidOptionError) as info:
        ap.memory_type("torch", oom=policy)(totals)(GRID)
    assert ran_on == [MemoryType.TORCH]  # the first piece only
    assert "not 3" in str(info.value)
    from arrayport.backends import get_backend

    assert get_backend(MemoryType.TORCH).is_oom(info.value.__cause__)  # torch's, on the CPU
    # Declared on the axis the function maps one by one (the columns: the last axis of the
    # input and of the result), the same split is right.
    along_columns = dataclasses.replace(policy, split_axis=-1)
    with inject_oom("torch", times=1):
        out = ap.memory_type("torch", oom=along_columns)(totals)(GRID)
    np.testing.assert_array_equal(out, GRID.sum(axis=0))


# --- results of a recovery get the call's dtype policy (ADR 0068) ----------------------------


@skip_unless_installed(MemoryType.JAX)
def test_a_fallback_result_jax_cannot_hold_gets_the_dtype_policy() -> None:
    # numpy's float64 result cannot go back into jax without 64-bit mode: it stays numpy
    # until the decorator's PRESERVE_INPUT makes it float32, as an unfailed run's is.
    import jax
    import jax.numpy as jnp

    if jax.config.jax_enable_x64:
        pytest.skip("needs jax without 64-bit mode")

    @ap.memory_type("jax", oom=OOMPolicy(retries=0, fallback="numpy", release=False))
    def centre(x: Any) -> Any:
        xp = ap.namespace(x)
        return x - xp.linspace(0.0, 1.0, x.shape[0])  # float64 in numpy, float32 in jax

    x = jnp.ones(4, dtype=jnp.float32)
    plain = centre(x)
    with inject_oom("jax", times=1):
        recovered = centre(x)
    assert type(recovered) is type(plain)
    assert recovered.dtype == plain.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(recovered), np.asarray(plain), rtol=1e-6)


@pytest.mark.parametrize(
    ("mt", "fn", "dtype"),
    [
        pytest.param(
            MemoryType.PYCLESPERANTO,
            lambda a: a > 2,
            np.uint8,
            id="pyclesperanto-mask",
            marks=skip_unless_installed(MemoryType.PYCLESPERANTO),
        ),
        pytest.param(
            MemoryType.JAX,
            lambda a: a / 2,
            np.int32,
            id="jax-float64",
            marks=skip_unless_installed(MemoryType.JAX),
        ),
    ],
)
def test_a_declared_output_recovered_by_a_fallback_comes_back_declared(
    mt: MemoryType, fn: Any, dtype: Any
) -> None:
    # The fallback's bool (pyclesperanto would widen it) or float64 (jax without 64-bit
    # mode refuses it) stayed numpy for the dtype policy, and output="declared" then
    # returned it as numpy, where an unfailed run returns the declared type.
    if mt is MemoryType.JAX:
        import jax

        if jax.config.jax_enable_x64:
            pytest.skip("needs jax without 64-bit mode")
    policy = OOMPolicy(retries=0, fallback="numpy", release=False)
    f = ap.memory_type(mt, output="declared", oom=policy)(fn)
    x = np.arange(6, dtype=dtype)
    plain = f(x)
    with inject_oom(mt, times=1):
        recovered = f(x)
    assert ap.detect_memory_type(recovered) is mt
    assert as_np(recovered).dtype == as_np(plain).dtype
    np.testing.assert_array_equal(as_np(recovered), as_np(plain))
    # What a fallback of OOMPolicy.run leaves is no later declared call's to move: a
    # numpy-declared function returning it unchanged returns numpy.
    with inject_oom(mt, times=1):
        direct = policy.run(fn, ap.convert(x, mt))
    assert type(direct) is np.ndarray
    passthrough = ap.memory_type("numpy", output="declared", oom=policy)(lambda a: a)
    assert type(passthrough(direct)) is np.ndarray


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize("step", ["split", "fallback"])
def test_a_mask_recovered_after_its_input_ran_out_of_memory_is_scaled_once(
    step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Moving a pyclesperanto image to the host runs out of memory (numpy's real allocation
    # error, forced on the first move); the pieces' bool masks must reach the UNIT scaling
    # as bool, not as pyclesperanto's uint8 0/1 (read as 1/255).
    import pyclesperanto as cle

    policy = (
        OOMPolicy(retries=0, split_axis=0, release=False)
        if step == "split"
        else OOMPolicy(retries=0, fallback="numpy", release=False)
    )

    @ap.memory_type("numpy", scaling=ap.Scaling.UNIT, oom=policy)
    def bright(img: Any) -> Any:
        return img > 0.5

    values = np.array([[0.2, 0.9], [0.7, 0.1], [0.9, 0.9], [0.0, 0.6]], np.float32)
    x = cle.push(values)
    plain = cle.pull(bright(x))
    failing = fail_first_move(monkeypatch)
    recovered = cle.pull(bright(x))
    assert not failing  # the forced error happened
    np.testing.assert_array_equal(recovered, plain)
    np.testing.assert_array_equal(plain, (values > 0.5).astype(np.float32))


def _copy_anywhere(x: Any) -> Any:
    """A copy of ``x`` in its own framework: a numpy or torch function whose OOM fallback
    runs it on pyclesperanto, which holds a bool input as uint8 0 and 1."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if type(x).__module__.startswith("torch"):
        return x.clone()
    import pyclesperanto as cle

    return cle.copy(x)


_MASK = np.array([[True, False, True], [False, True, True], [True, True, False]])


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@skip_unless_installed(MemoryType.TORCH)
@pytest.mark.parametrize("source", ["numpy", "torch"])
@pytest.mark.parametrize("output", ["input", "declared", "numpy"])
@pytest.mark.parametrize("declared", ["torch", "numpy"])
def test_a_mask_whose_fallback_ran_on_pyclesperanto_is_read_as_the_bool_it_was(
    declared: str, output: str, source: str
) -> None:
    # The fallback moved the bool input into pyclesperanto, which holds it as uint8 0/1,
    # and the function returned that; PRESERVE_INPUT with Scaling.UNIT read 1 as 1/255
    # (all False), where a pyclesperanto-declared function's result is read by value.
    policy = OOMPolicy(retries=0, fallback="pyclesperanto", release=False)
    f = ap.memory_type(declared, scaling=ap.Scaling.UNIT, output=output, oom=policy)(_copy_anywhere)
    x = ap.convert(_MASK, source)
    plain = f(x)
    with inject_oom(declared, times=5) as injected:
        recovered = f(x)
    assert injected.raised == 1
    assert type(recovered) is type(plain)
    assert as_np(recovered).dtype == as_np(plain).dtype == np.bool_
    np.testing.assert_array_equal(as_np(recovered), _MASK)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@skip_unless_installed(MemoryType.TORCH)
@pytest.mark.parametrize("how", ["split", "sliced", "inputs", "inputs-split"])
def test_a_mask_whose_fallback_ran_on_pyclesperanto_comes_back_whole_after_any_recovery(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A split that ran out of memory too before the fallback, and a fallback that splits
    # (three rows: pieces of 1 and 2, joined on pyclesperanto); a slice_by_slice call,
    # whose fallback restacks the slices on pyclesperanto; a call whose inputs ran out of
    # memory on their way to torch (ADR 0055), with and without the fallback's split.
    split = 0 if how != "inputs" else None
    policy = OOMPolicy(
        retries=0, release=False, split_axis=split, min_split=1, fallback="pyclesperanto"
    )
    sliced = how == "sliced"
    f = ap.memory_type("torch", scaling=ap.Scaling.UNIT, slice_by_slice=sliced, oom=policy)(
        _copy_anywhere
    )
    x = np.stack([_MASK, ~_MASK]) if sliced else _MASK
    plain = f(x=x)  # a keyword argument: the general path, which moves the inputs itself
    assert plain.dtype == np.bool_
    failing = fail_first_move(monkeypatch) if how.startswith("inputs") else []
    with inject_oom("torch", times=50):
        if split is None:
            recovered = f(x=x)
        else:  # the fallback's first run too: it splits (pieces joined on pyclesperanto)
            with inject_oom("pyclesperanto", times=1):
                recovered = f(x=x)
    assert not failing
    assert type(recovered) is np.ndarray
    assert recovered.dtype == np.bool_
    np.testing.assert_array_equal(recovered, x)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@skip_unless_installed(MemoryType.TORCH)
def test_a_fallbacks_widened_bool_is_scaled_as_a_pyclesperanto_functions_is() -> None:
    # The fallback's uint8 0/1 stays pyclesperanto's until the dispatched call's dtype
    # policy has seen it: PRESERVE_INPUT reads it as the bool it stands for, a fixed dtype
    # scales the uint8 as it is, as for a function declared on pyclesperanto (1/255 under
    # UNIT, where the unfailed torch run gives 1.0), and NATIVE_OUTPUT returns the uint8.
    import torch

    policy = OOMPolicy(retries=0, fallback="pyclesperanto", release=False)
    unit = {"scaling": ap.Scaling.UNIT, "oom": policy}
    to_float = ap.memory_type("torch", dtype_conversion="float32", **unit)(_copy_anywhere)
    on_cle = ap.memory_type("pyclesperanto", dtype_conversion="float32", **unit)(_copy_anywhere)
    np.testing.assert_array_equal(to_float(_MASK), _MASK.astype(np.float32))
    with inject_oom("torch", times=5):
        recovered = to_float(_MASK)
    np.testing.assert_allclose(recovered, on_cle(_MASK))
    np.testing.assert_allclose(recovered, _MASK / np.float32(255), rtol=1e-6)
    native = ap.memory_type("torch", oom=policy, dtype_conversion="native_output")
    with inject_oom("torch", times=5):
        assert native(_copy_anywhere)(_MASK).dtype == np.uint8
    # OOMPolicy.run called directly (with a function no dispatched call reads so) has no
    # dtype policy to read it: the result comes back to the caller's memory type, as any
    # other (a review found it left in pyclesperanto).
    with inject_oom("torch", times=5):
        direct = policy.run(lambda a: _copy_anywhere(a), torch.from_numpy(_MASK))
    assert isinstance(direct, torch.Tensor)
    np.testing.assert_array_equal(direct.numpy(), _MASK.astype(np.uint8))
    # Only the primary output is read as the bool: a second output goes back as it is.
    pair = ap.memory_type("torch", oom=policy)(lambda a: (_copy_anywhere(a), _copy_anywhere(a)))
    with inject_oom("torch", times=5):
        mask, other = pair(_MASK)
    np.testing.assert_array_equal(mask, _MASK)
    assert isinstance(other, np.ndarray)
    np.testing.assert_array_equal(other, _MASK.astype(np.uint8))
    # And only for bool input: uint8 numbers are numbers.
    with inject_oom("torch", times=5):
        numbers = ap.memory_type("torch", oom=policy)(_copy_anywhere)(_MASK.astype(np.uint8))
    assert numbers.dtype == np.uint8
    np.testing.assert_array_equal(numbers, _MASK.astype(np.uint8))


def _mask_or_none(s: Any) -> Any:
    """A per-slice result that is not restacked: None for an empty slice, else its copy."""
    return None if not bool(ap.convert(s, "numpy").any()) else _copy_anywhere(s)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@skip_unless_installed(MemoryType.TORCH)
@pytest.mark.parametrize("output", ["input", "declared", "numpy"])
def test_per_slice_masks_whose_fallback_ran_on_pyclesperanto_are_read_as_bools(
    output: str,
) -> None:
    # A sliced call's per-slice list (None beside masks) is its primary output slice by
    # slice: the fallback moved each widened mask back as uint8, which UNIT read as 1/255
    # (all False), where the unfailed run and a loop give the masks.
    policy = OOMPolicy(retries=0, fallback="pyclesperanto", release=False)
    f = ap.memory_type(
        "torch", slice_by_slice=True, output=output, scaling=ap.Scaling.UNIT, oom=policy
    )(_mask_or_none)
    stack = np.stack([np.zeros_like(_MASK), _MASK])
    unfailed = f(stack)
    with inject_oom("torch", times=1):
        recovered = f(stack)
    assert recovered[0] is None
    assert type(recovered[1]) is type(unfailed[1])
    np.testing.assert_array_equal(as_np(recovered[1]), _MASK)
    np.testing.assert_array_equal(as_np(unfailed[1]), _MASK)


def _keepdims_total(x: Any) -> Any:
    return x.sum(axis=0, keepdims=True)


def _mean_of_one_row_at_most(x: Any) -> Any:
    if x.shape[0] > 1:
        raise MemoryError("only one row fits")
    return x.mean(axis=0, keepdims=True)


@pytest.mark.parametrize(
    ("fn", "rows"),
    [
        pytest.param(_keepdims_total, 2, id="keepdims-reduction"),
        pytest.param(lambda x: x[:1], 2, id="first-row"),
        # 5 -> 2 + 3, 2 -> 1 + 1, 3 -> 1 + 2, 2 -> 1 + 1: every piece that ran had 1 row.
        pytest.param(_mean_of_one_row_at_most, 5, id="keepdims-mean-deeper"),
    ],
)
def test_pieces_of_one_row_only_are_not_joined(fn: Any, rows: int) -> None:
    # A piece of one row cannot tell a row-by-row result from a reduction that keeps the
    # axis: both give one row. When every piece that ran had one row, their results were
    # joined into the input's rows unchanged ([[0, 1, 2], [3, 4, 5]] for a sum).
    x = np.arange(rows * 3.0).reshape(rows, 3)
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, x)
    assert "the pieces that fitted all had 1 row along axis 0" in str(info.value)
    assert isinstance(info.value.__cause__, MemoryError)
    if fn is _mean_of_one_row_at_most:
        return  # no fallback fits it either
    # The fallback, if there is one, runs then, on the whole input.
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, fallback="numpy", **NO_RELEASE).run(fn, x)
    np.testing.assert_array_equal(out, fn(x))


def test_a_reduction_whose_length_matches_equal_halves_is_refused() -> None:
    # x.sum(0) of a (4, 2) array: halves of 2 rows gave 2 values each, and were joined.
    with inject_oom("numpy", times=1), pytest.raises(InvalidOptionError, match="cannot join"):
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(lambda a: a.sum(0), np.ones((4, 2)))


def test_pieces_of_one_row_beside_longer_ones_are_joined() -> None:
    # 3 rows are cut into 1 and 2: the piece of 2 rows checks what the function does.
    fn = Calls()
    x = np.arange(9.0).reshape(3, 3)
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, x)
    assert fn.lengths == [1, 2]
    np.testing.assert_array_equal(out, x * 2 + 1)


def test_running_out_of_memory_while_cutting_the_inputs_is_recovered_from(monkeypatch) -> None:
    # Slicing allocates in jax, tensorflow and pyclesperanto: the framework's error escaped
    # the policy (and its fallback never ran).
    from arrayport import _split

    real_take = _split._take
    failures = [MemoryError("cannot allocate the piece")]

    def take_once_failing(*args: Any) -> Any:
        if failures:
            raise failures.pop()
        return real_take(*args)

    monkeypatch.setattr(_split, "_take", take_once_failing)
    policy = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE)
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        policy.run(Calls(), GRID)
    assert "cutting the inputs into pieces ran out of memory" in str(info.value)
    failures.append(MemoryError("cannot allocate the piece"))
    with inject_oom("numpy", times=1):
        out = dataclasses.replace(policy, fallback="numpy").run(Calls(), GRID)
    np.testing.assert_array_equal(out, GRID * 2 + 1)


def test_an_error_on_a_piece_says_the_call_was_split() -> None:
    def gradient(x: np.ndarray) -> np.ndarray:
        return np.gradient(x, axis=0)  # needs 2 rows

    with inject_oom("numpy", times=1), pytest.raises(ValueError, match="too small") as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(gradient, np.ones((3, 3)))
    notes = getattr(info.value, "__notes__", [])
    assert any("raised on a piece of 1 row along axis 0" in n for n in notes), notes
    assert any("split the call of test_an_error_on_a_piece" in n for n in notes), notes


# --- from an audit of the policy used on its own ------------------------------------------


@skip_unless_installed(MemoryType.TORCH)
def test_an_input_the_split_cannot_cut_goes_on_to_the_fallback() -> None:
    # A sparse tensor cannot be sliced: torch's NotImplementedError replaced the
    # out-of-memory error, and the fallback never ran.
    import torch

    def real_oom_on_torch(t: Any) -> Any:
        if isinstance(t, torch.Tensor):
            torch.empty(PI_B, dtype=torch.uint8)  # a real torch CPU out-of-memory
        return t * 2

    x = torch.eye(4).to_sparse()
    policy = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE)
    with pytest.raises(OutOfMemoryError, match="could not be cut along axis 0") as info:
        policy.run(real_oom_on_torch, x)
    assert info.value.attempts == 1
    dense = OOMPolicy(retries=0, split_axis=0, fallback="numpy", **NO_RELEASE)
    with pytest.raises(OutOfMemoryError, match=r"fallback to numpy failed.*to_dense"):
        dense.run(real_oom_on_torch, x)  # the fallback is tried: it refuses sparse input


@skip_unless_installed(MemoryType.TORCH)
def test_a_split_refusal_in_the_fallback_is_not_blamed_on_the_fallback() -> None:
    import torch

    def colsum(x: Any) -> Any:
        if isinstance(x, torch.Tensor) or x.shape[0] > 2:
            np.empty(PI_B, np.uint8)  # a real numpy out-of-memory
        return x.sum(axis=0)  # reduces the split axis: the split must refuse to join

    policy = OOMPolicy(retries=0, split_axis=0, fallback="numpy", **NO_RELEASE)
    with pytest.raises(InvalidOptionError, match="cannot join") as info:
        policy.run(colsum, torch.ones((8, 3)))
    assert not getattr(info.value, "__notes__", [])


def test_an_error_on_a_retry_says_the_function_ran_again() -> None:
    runs = []

    def in_place(x: np.ndarray) -> np.ndarray:
        runs.append(1)
        if (x < 1).any():
            raise ValueError("input must be >= 1")
        x -= 1  # changes its argument, then runs out of memory the first time
        if len(runs) == 1:
            np.empty(PI_B, np.uint8)
        return x * 2

    with pytest.raises(ValueError, match="must be >= 1") as info:
        OOMPolicy(retries=1, **NO_RELEASE).run(in_place, np.ones(3))
    assert len(runs) == 2
    (note,) = info.value.__notes__
    assert "in_place again (attempt 2)" in note
    assert "retries=0" in note


@skip_unless_installed(MemoryType.TORCH)
def test_a_fallbacks_zero_d_result_is_a_numpy_scalar_as_numpy_gives() -> None:
    import torch

    def total(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            np.empty(PI_B, np.uint8)
        return x.sum()

    x = np.arange(6)
    assert type(x.sum()) is np.int64  # what an unfailed numpy run gives
    out = OOMPolicy(retries=0, fallback="torch", **NO_RELEASE).run(total, x)
    assert type(out) is np.int64
    assert out == 15
    assert not isinstance(out, torch.Tensor)


def test_an_error_on_a_piece_names_the_arrays_passed_whole() -> None:
    # A (n,) per-row weight beside an (n, m) image goes whole to every piece (it lines up
    # with the last axis): the function's broadcasting error on the first piece said only
    # that the call was split.
    x = np.arange(64.0).reshape(8, 8)
    weight = np.arange(8.0)

    def per_row(a: Any, w: Any) -> Any:
        return a * w[:, None]

    with inject_oom("numpy", times=1), pytest.raises(ValueError, match="broadcast") as info:
        OOMPolicy(retries=0, split_axis=0).run(per_row, x, weight)
    (note,) = info.value.__notes__
    assert "passed whole to every piece: the array of shape (8,)" in note
    assert "give a per-row weight the shape (n, 1)" in note
    # Given as (n, 1), it is cut with the rows, and the split gives the unsplit answer.

    def per_row_column(a: Any, w: Any) -> Any:
        return a * w

    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0).run(per_row_column, x, weight[:, None])
    np.testing.assert_array_equal(out, x * weight[:, None])


def test_a_numpy_fallback_of_a_numpy_call_keeps_its_numpy_scalar() -> None:
    # One policy for every function (fallback="numpy"), numpy ones included: the fallback's
    # numpy scalar came back a 0-d array, where the unfailed run gives the scalar.
    x = np.arange(6.0)
    policy = OOMPolicy(retries=0, fallback="numpy")
    assert type(policy.run(np.sum, x)) is np.float64
    with inject_oom("numpy", times=1):
        out = policy.run(np.sum, x)
    assert type(out) is np.float64
    assert out == 15.0


def test_a_disabled_policys_recover_raises_the_error_as_it_is() -> None:
    err = MemoryError("the first call failed")
    with pytest.raises(MemoryError) as info:
        OOMPolicy.disabled().recover(err, lambda x: x, (np.ones(2),), {})
    assert info.value is err


def test_a_split_refusal_keeps_no_cycle_holding_the_arguments() -> None:
    # The refusal kept on the policy's execution would be a cycle (error -> traceback ->
    # frames -> execution -> error) holding the call's arrays until a garbage collection.
    def colsum(x: np.ndarray) -> np.ndarray:
        if x.shape[0] > 2:
            np.empty(PI_B, np.uint8)
        return x.sum(axis=0)

    x = np.ones((8, 3))
    alive = weakref.ref(x)
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        with pytest.raises(InvalidOptionError, match="cannot join"):
            OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(colsum, x)
        del x
        assert alive() is None
    finally:
        if enabled:
            gc.enable()


# --- episodes that end in another error, min_split's remedy, dict results -------------------


def test_metrics_count_episodes_that_end_in_a_refusal_or_another_error() -> None:
    # Only episodes that recovered or raised OutOfMemoryError were counted: a split's
    # refusal and an error on a retry left oom_events and oom_errors at 0.
    runs = {"n": 0}

    def fails_again_otherwise(a: Any) -> Any:
        runs["n"] += 1
        if runs["n"] == 1:
            raise MemoryError  # the host's out-of-memory error
        raise ValueError("not out of memory")

    with ap.metrics.collecting() as m:
        with inject_oom("numpy", times=1), pytest.raises(InvalidOptionError):
            OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(lambda a: a.sum(0), GRID)
        with pytest.raises(ValueError, match="not out of memory"):
            OOMPolicy(retries=1, **NO_RELEASE).run(fails_again_otherwise, GRID)
        snap = m.snapshot()
    assert snap["oom_events"] == {"numpy": 2}
    assert snap["oom_outcomes"] == {"error": 2}
    assert snap["oom_errors"] == 2
    assert snap["oom_recoveries"] == 0


def test_pieces_equal_because_of_min_split_suggest_min_split_1() -> None:
    # 8 rows with min_split=4 are cut into 4 and 4 (3 + 5 would leave a piece under
    # min_split), both fit, and equal pieces are not joined (ADR 0062's amendment): the
    # message offered only smaller inputs, where min_split=1 (3 and 5 rows) recovers.
    x = np.arange(24.0).reshape(8, 3)
    policy = OOMPolicy(retries=0, split_axis=0, min_split=4, **NO_RELEASE)
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        policy.run(np.negative, x)
    assert "the pieces that fitted all had 4 rows" in str(info.value)
    assert "Try OOMPolicy(min_split=1) rather than 4" in str(info.value)
    with inject_oom("numpy", times=1):
        out = dataclasses.replace(policy, min_split=1).run(np.negative, x)
    np.testing.assert_array_equal(out, -x)
    # Pieces of one row are equal whatever min_split: nothing to suggest there.
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(_keepdims_total, x[:2])
    assert "min_split" not in str(info.value)


@skip_unless_installed(MemoryType.TORCH)
def test_a_fallbacks_dict_results_keep_their_type() -> None:
    import collections

    import torch

    def named(a: Any) -> Any:
        totals: collections.defaultdict[str, Any] = collections.defaultdict(list)
        totals["twice"] = a * 2
        return collections.OrderedDict(y=a + 1, x=a), totals

    x = torch.ones(3)
    with inject_oom("torch", times=1):
        ordered, totals = OOMPolicy(retries=0, fallback="numpy", **NO_RELEASE).run(named, x)
    assert type(ordered) is collections.OrderedDict
    assert list(ordered) == ["y", "x"]
    assert isinstance(ordered["y"], torch.Tensor)
    assert type(totals) is collections.defaultdict
    assert totals.default_factory is list
    assert isinstance(totals["twice"], torch.Tensor)


def test_pieces_of_one_length_of_a_sliced_call_are_joined() -> None:
    # The guard of ADR 0062's amendment (pieces of one row cannot tell a row from a
    # reduction keeping the axis) refused them; a sliced call's pieces have one row per
    # slice by construction, and each piece's length is still checked.
    from arrayport._oom_recovery import Execution, _Exhausted
    from arrayport._slicing import sliced

    policy = OOMPolicy(retries=0, split_axis=0)
    execution = Execution(policy, sliced(lambda p: p))
    execution.rows = {1}
    execution.checked()  # not refused
    plain = Execution(policy, lambda p: p)
    plain.rows = {1}
    with pytest.raises(_Exhausted):
        plain.checked()


@skip_unless_installed(MemoryType.JAX)
def test_a_split_under_jax_vmap_joins_its_traced_pieces() -> None:
    # The join read each piece's dtype with describe(), which refuses tracers: every piece
    # ran, then "cannot convert a traced jax array", and the fallback was never tried.
    import jax
    import jax.numpy as jnp

    from arrayport.testing import inject_oom

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)
    f = ap.memory_type("jax", oom=policy)(lambda a: a * 2 + 1)
    x = jnp.arange(24.0, dtype=jnp.float32).reshape(4, 3, 2)
    want = np.asarray(jax.vmap(f)(x))
    with inject_oom("jax", times=1):
        got = np.asarray(jax.vmap(f)(x))
    np.testing.assert_array_equal(got, want)


@skip_unless_installed(MemoryType.TORCH)
def test_a_split_sliced_call_on_an_expanded_torch_stack_joins_as_unsplit() -> None:
    # The sliced join restacked without the call's arrays, so slices of the expanded input
    # returned as they are counted as one reused buffer.
    import torch

    from arrayport.testing import inject_oom

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)

    @ap.memory_type("torch", slice_by_slice=True, oom=policy)
    def as_dict(img: Any) -> Any:
        return {"img": img, "total": float(img.sum())}

    stack = torch.arange(12, dtype=torch.float32).reshape(4, 3).expand(5, 4, 3)
    want = as_dict(stack)
    with inject_oom("torch", times=1):
        got = as_dict(stack)
    assert len(got) == len(want) == 5
    for a, b in zip(got, want, strict=True):
        assert a["total"] == b["total"]
        torch.testing.assert_close(a["img"], b["img"])


@skip_unless_installed(MemoryType.TORCH)
def test_a_fallback_result_that_cannot_move_back_is_the_policys_out_of_memory_error() -> None:
    # The way back from the fallback ran out too: the bare conversion error reached the
    # caller (attempts=0), and the metrics said "error" where it is "raised".
    import torch

    def f(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            torch.empty(1 << 62, dtype=torch.uint8)  # a real allocation failure
        return np.broadcast_to(x[:, :1], (x.shape[0], 1 << 40))  # 16 TiB to copy back

    with ap.metrics.collecting() as m, pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=1, fallback="numpy").run(f, torch.ones(4, 2))
    assert "the fallback's result could not be moved back to torch" in str(info.value)
    assert info.value.attempts == 3
    assert m.snapshot()["oom_outcomes"] == {"raised": 1}
