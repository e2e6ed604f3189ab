"""Out-of-memory laws, with the frameworks' real OOM exception types (``inject_oom``).

* Any injected sequence of out-of-memory errors, under any policy (retries, split,
  fallback), ends in the right result or in exactly one :class:`OutOfMemoryError`, chained
  to the framework's own error and naming the input's device. Without split and fallback:
  success exactly when there were no more errors than retries.
* The policy's steps run in the contract's order, as the function and the garbage
  collector see them: memory is released before each new attempt, the split runs where
  retries cannot help (the function sees pieces, never the whole input again), and the
  fallback runs only after the split failed.
* Errors that are not out-of-memory, even of the very type a framework uses for OOM,
  propagate untouched after a single run: never retried.
* No memory or thread is leaked: arrays made by failed attempts are freed once the call
  is over, and the set of live threads is unchanged.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import arrayport as ap
from arrayport.backends import detect_memory_type, get_backend
from arrayport.memory_types import MemoryType
from arrayport.testing import arrays, as_numpy, inject_oom
from arrayport.testing.plugin import selected_memory_types
from conformance._support import device_name
from conformance.conftest import MEMORY_TYPES, law, scaled

pytestmark = pytest.mark.parametrize("memory_type", MEMORY_TYPES)

_FALLBACKS = [
    m
    for m in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX)
    if m in selected_memory_types() and m in ap.available_memory_types()
]


def _input(mt: MemoryType) -> st.SearchStrategy[Any]:
    return arrays(
        mt,
        dtype="float32",
        layout=(),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
        elements=st.floats(-100, 100, width=32),
    )


def _affine(x: Any) -> Any:
    return x * 2 + 1  # operators only: runs on every memory type, pyclesperanto included


def _call(mt: MemoryType, policy: ap.OOMPolicy, fn: Callable[[Any], Any], x: Any) -> Any:
    if mt is MemoryType.DASK:
        return policy.run(fn, x)  # a dispatched call on dask input runs lazily, per block
    dispatched = ap.memory_type(mt, oom=policy, dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)(
        fn
    )
    return dispatched(x)


def _policies(mt: MemoryType) -> st.SearchStrategy[ap.OOMPolicy]:
    fallbacks = [None, *(f for f in _FALLBACKS if f is not mt)]
    return st.builds(
        ap.OOMPolicy,
        retries=st.integers(0, 3),
        release=st.booleans(),
        split_axis=st.sampled_from([None, 0]),
        min_split=st.integers(1, 3),
        fallback=st.sampled_from(fallbacks),
    )


def _real_oom(mt: MemoryType, x: Any) -> BaseException:
    """A fresh instance of the framework's own OOM error, as inject_oom makes it."""
    with inject_oom(mt, 1):
        try:
            ap.OOMPolicy.disabled().run(lambda a: a, x)  # a disabled policy re-raises it raw
        except BaseException as exc:
            return exc
    msg = f"inject_oom({mt.value}) raised nothing"
    raise AssertionError(msg)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


class _Trace:
    """What a policy's call did, in order: each run of the function (its arrays' memory
    type and length along axis 0) and each full garbage collection, the step every
    backend's release begins with (seen through the interpreter's own ``gc.callbacks``),
    tagged with the number of out-of-memory errors injected so far. Automatic collections
    are off inside (a lazy import's would pass for a release); an explicit ``gc.collect()``
    still runs and is seen. (CPython's ``gc.collect()`` skips the callbacks when another
    thread is collecting: no thread runs inside the trace today.)"""

    def __init__(self) -> None:
        self.events: list[tuple[str, MemoryType | None, int]] = []
        self.injection: Any = None
        self._was_enabled = True

    def __enter__(self) -> _Trace:
        self._was_enabled = gc.isenabled()
        gc.disable()
        gc.callbacks.append(self._collected)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._collected)
        if self._was_enabled:
            gc.enable()

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info.get("generation") == 2:
            self.events.append(("release", None, self.injection.raised if self.injection else -1))

    def traced(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def run(a: Any) -> Any:
            self.events.append(("run", detect_memory_type(a), int(a.shape[0])))
            self.events.append(("after", None, self.injection.raised if self.injection else -1))
            return fn(a)

        return run

    @property
    def runs(self) -> list[tuple[MemoryType, int]]:
        return [(mt, rows) for kind, mt, rows in self.events if kind == "run" and mt]


def _traced_call(
    mt: MemoryType, policy: ap.OOMPolicy, times: int, x: Any
) -> tuple[_Trace, int, Any, ap.OutOfMemoryError | None]:
    """The affine function called on ``x`` under ``policy`` with ``times`` out-of-memory
    errors injected, traced: the trace, the errors raised, the result (None if it failed)
    and the OutOfMemoryError that ended it (None if it recovered)."""
    got: Any = None
    error: ap.OutOfMemoryError | None = None
    with _Trace() as trace:
        try:
            with inject_oom(mt, times) as injected:
                trace.injection = injected
                got = _call(mt, policy, trace.traced(_affine), x)
        except ap.OutOfMemoryError as exc:
            error = exc
    return trace, injected.raised, got, error


def _check_steps(
    trace: _Trace,
    memory_type: MemoryType,
    policy: ap.OOMPolicy,
    rows: int,
    raised: int,
    succeeded: bool,
) -> None:
    """The steps a call took (``trace``; ``raised``: injections consumed) against the
    policy's order: retries, then the split, then the fallback (DESIGN's "OOM" semantics)."""
    runs = trace.runs
    shown = [(mt.value, n) for mt, n in runs]
    what = f"{policy} on {memory_type.value}, {rows} rows, {raised} OOMs, runs {shown}"
    attempts = policy.retries + 1
    here = [n for mt, n in runs if mt is memory_type]
    elsewhere = [(mt, n) for mt, n in runs if mt is not memory_type]
    if policy.release and runs:  # every run after an out-of-memory error follows a release
        first = next(i for i, e in enumerate(trace.events) if e[0] == "run")
        assert any(e[0] == "release" for e in trace.events[:first]), (
            f"no memory was released before the run after the first OOM: {what}"
        )
    if policy.release:
        # every injected OOM that something followed (a later injection or a run) is
        # followed by a release before that next attempt
        followed = set(range(1, raised))
        if any(e[0] == "after" for e in trace.events):
            followed |= {e[2] for e in trace.events if e[0] == "after" and e[2] >= 1}
        released = {e[2] for e in trace.events if e[0] == "release"}
        missing = sorted(k for k in followed if k not in released and k >= 1)
        assert not missing, f"no release after OOM(s) {missing}: {what} events {trace.events}"
    if raised < attempts:  # the retries were enough: one run of the whole input, no more
        assert succeeded, f"the retries should have recovered: {what}"
        assert runs == [(memory_type, rows)], f"more than one run of the whole input: {what}"
        return
    assert rows not in here, f"the whole input ran again after {attempts} attempts: {what}"
    # Where the input can be split, the split comes next: a piece ran, or ran out of memory
    # too (only runs here are injected into; the fallback's are elsewhere).
    if policy.split_axis is not None and rows >= 2 * policy.min_split:
        assert here or raised > attempts, (
            f"no split was tried after {attempts} attempts"
            + (" (the fallback ran first)" if elsewhere else "")
            + f": {what}"
        )
    # The fallback: one run of the whole input, last of all.
    assert len(elsewhere) <= 1, f"more than one fallback run: {what}"
    if elsewhere:
        assert policy.fallback is not None, f"a run on another memory type: {what}"
        assert elsewhere == [(policy.fallback, rows)], f"not the fallback's run: {what}"
        assert runs[-1] == elsewhere[0], f"a run on {memory_type.value} after the fallback: {what}"
    elif succeeded:  # recovered by the split: pieces covering the input once
        assert policy.split_axis is not None, f"recovered without a step that helps: {what}"
        assert len(here) >= 2, f"recovered by a split, yet no pieces ran: {what}"
        assert sum(here) == rows, f"the pieces do not cover the input once: {what}"


@law(
    "oom.result_or_one_error",
    "injected OOMs end in the right result or exactly one OutOfMemoryError",
)
@scaled(0.4)
@given(data=st.data(), times=st.integers(1, 8))
def test_result_or_exactly_one_error(
    memory_type: MemoryType, data: st.DataObject, times: int
) -> None:
    x = data.draw(_input(memory_type), label="x")
    policy = data.draw(_policies(memory_type), label="policy")
    want = as_numpy(x) * 2 + 1
    trace, raised, got, error = _traced_call(memory_type, policy, times, x)
    # The steps too, not only the outcome (the oom.policy_steps law's checks, on every draw).
    _check_steps(trace, memory_type, policy, int(x.shape[0]), raised, error is None)
    if error is not None:
        _check_one_error(error, memory_type, policy, times, x)
        return
    if policy.split_axis is None and policy.fallback is None:
        assert times <= policy.retries, f"{times} injected errors but {policy} succeeded"
    got_mt = detect_memory_type(got)
    assert got_mt is memory_type, f"the result came back as {got_mt.value}"
    np.testing.assert_allclose(as_numpy(got), want, rtol=1e-6, err_msg=f"{policy}, {times} OOMs")


def _check_one_error(
    exc: ap.OutOfMemoryError, memory_type: MemoryType, policy: ap.OOMPolicy, times: int, x: Any
) -> None:
    assert policy.fallback is None, f"{policy} with a fallback still failed: {exc}"
    chain = _chain(exc)
    assert not any(isinstance(e, ap.OutOfMemoryError) for e in chain[1:]), (
        f"more than one OutOfMemoryError in the chain: {[type(e).__name__ for e in chain]}"
    )
    cause = exc.__cause__
    assert cause is not None, "OutOfMemoryError must be chained to the framework's error"
    assert get_backend(memory_type).is_oom(cause), (
        f"OutOfMemoryError must be chained to {memory_type.value}'s own error, got {cause!r}"
    )
    assert str(exc.memory_type) == memory_type.value
    # DESIGN: OutOfMemoryError(.memory_type, .device, ...): where it ran out, as the input's
    # framework reports the input's device.
    where = device_name(x)
    assert exc.device is not None, f"OutOfMemoryError.device is None, the input is on {where}"
    assert str(exc.device) == where, f"OutOfMemoryError.device is {exc.device}, not {where}"
    if policy.split_axis is None:
        assert times > policy.retries, f"{times} injected errors beat {policy}"
        assert exc.attempts == policy.retries + 1


def _other_fallback(mt: MemoryType) -> MemoryType | None:
    return next((f for f in _FALLBACKS if f is not mt), None)


@law(
    "oom.policy_steps",
    "release before each retry, split where retries cannot help, fallback only after the "
    "split failed, and OutOfMemoryError.device set",
)
def test_policy_steps_in_order(memory_type: MemoryType) -> None:
    # Each step forced by the number of injected errors, on 5 rows (cut into pieces of
    # different lengths, whose results are joined), with the framework's real OOM errors.
    x = ap.convert(np.arange(10, dtype=np.float32).reshape(5, 2), memory_type)
    want = np.arange(10, dtype=np.float32).reshape(5, 2) * 2 + 1
    fallback = _other_fallback(memory_type)
    cases = [
        # The whole call fails on both attempts: only the split can help, and it does
        # (the pieces get no error); a fallback is there, but must not run.
        (ap.OOMPolicy(retries=1, release=False, split_axis=0, fallback=fallback), 2, "split"),
        # Every run here fails: the split is tried down to one row, then the fallback runs.
        (ap.OOMPolicy(retries=0, release=False, split_axis=0, fallback=fallback), 64, "fallback"),
        # One error, one retry, after a release.
        (ap.OOMPolicy(retries=1, release=True), 1, "retry"),
        # Nothing helps: one OutOfMemoryError naming the device.
        (ap.OOMPolicy(retries=0, release=False), 1, "error"),
    ]
    for policy, times, outcome in cases:
        if outcome == "fallback" and fallback is None:
            continue
        what = f"{policy} on {memory_type.value}, {times} OOMs"
        trace, raised, got, error = _traced_call(memory_type, policy, times, x)
        _check_steps(trace, memory_type, policy, 5, raised, error is None)
        if outcome == "error":
            assert error is not None, f"{what}: no OutOfMemoryError"
            _check_one_error(error, memory_type, policy, times, x)
            continue
        assert error is None, f"{what}: {error}"
        np.testing.assert_allclose(as_numpy(got), want, rtol=1e-6, err_msg=what)
        kinds = {mt for mt, _ in trace.runs}
        shown = [(mt.value, n) for mt, n in trace.runs]
        if outcome == "split":
            assert kinds == {memory_type}, f"{what}: runs {shown}: no split"
            assert len(trace.runs) >= 2, f"{what}: runs {shown}: no split"
        elif outcome == "fallback":
            assert trace.runs[-1] == (fallback, 5), f"{what}: runs {shown}: no fallback"
            assert raised > 1, f"{what}: the fallback ran after {raised} OOM: no split first"


def _lookalikes(mt: MemoryType) -> list[Callable[[], BaseException]]:
    """Errors that are not out-of-memory, some of the very type the framework uses for it."""
    found: list[Callable[[], BaseException]] = [
        lambda: ValueError("offset out of memory bounds"),
        lambda: RuntimeError("index out of range while allocating the output"),
        lambda: KeyError("memory"),
    ]
    if mt is MemoryType.JAX:
        jax = sys.modules["jax"]
        found.append(
            lambda: jax.errors.JaxRuntimeError("INVALID_ARGUMENT: bad shape for allocation")
        )
    if mt is MemoryType.TENSORFLOW:
        tf = sys.modules["tensorflow"]
        found.append(
            lambda: tf.errors.InvalidArgumentError(None, None, "cannot allocate: bad shape")
        )
    if mt is MemoryType.TORCH:
        found.append(lambda: RuntimeError("DefaultCPUAllocator: not enough arguments"))
    if mt is MemoryType.PYCLESPERANTO:
        found.append(lambda: RuntimeError("OpenCL error: CL_INVALID_KERNEL_ARGS (-52)"))
    return found


@law(
    "oom.non_oom_untouched",
    "an error that is not out-of-memory propagates untouched, never retried",
)
@given(data=st.data())
def test_non_oom_errors_are_not_retried(memory_type: MemoryType, data: st.DataObject) -> None:
    x = data.draw(_input(memory_type), label="x")
    policy = data.draw(_policies(memory_type), label="policy")
    get_backend(memory_type).load()
    make = data.draw(st.sampled_from(_lookalikes(memory_type)), label="error")
    error = make()
    calls: list[int] = []

    def fails(a: Any) -> Any:
        calls.append(1)
        raise error

    with pytest.raises(BaseException) as caught:  # noqa: PT011  (checked just below)
        _call(memory_type, policy, fails, x)
    assert caught.value is error, f"{error!r} came back as {caught.value!r}"
    assert len(calls) == 1, f"{error!r} was run {len(calls)} times under {policy}"


@law("oom.no_leaks", "arrays of failed attempts are freed and no thread is left behind")
@scaled(0.25)
@given(data=st.data(), failures=st.integers(0, 4))
def test_no_memory_or_thread_leaked(
    memory_type: MemoryType, data: st.DataObject, failures: int
) -> None:
    x = data.draw(_input(memory_type), label="x")
    retries = data.draw(st.integers(0, 3), label="retries")
    policy = ap.OOMPolicy(retries=retries, release=data.draw(st.booleans(), label="release"))
    errors = [_real_oom(memory_type, x) for _ in range(failures)]
    _call(memory_type, ap.OOMPolicy(), _affine, x)  # warm up: frameworks start their pools once
    threads = set(threading.enumerate())
    temporaries: list[weakref.ref[Any]] = []

    def allocates_then_fails(a: Any) -> Any:
        tmp = a * 3  # an allocation the failed attempt must not keep alive
        # dask 2024.8's arrays take no weak reference: only threads and results checked then.
        with contextlib.suppress(TypeError):
            temporaries.append(weakref.ref(tmp))
        if errors:
            raise errors.pop()
        return a * 2 + 1

    try:
        out = _call(memory_type, policy, allocates_then_fails, x)
    except ap.OutOfMemoryError:
        assert failures > retries
        out = None
    gc.collect()
    alive = [r for r in temporaries if r() is not None]
    assert not alive, (
        f"{len(alive)} of {len(temporaries)} temporaries of failed attempts still alive"
    )
    assert set(threading.enumerate()) <= threads, (
        f"threads left behind: {set(threading.enumerate()) - threads}"
    )
    if out is not None:
        np.testing.assert_allclose(as_numpy(out), as_numpy(x) * 2 + 1, rtol=1e-6)


@law("oom.result_or_one_error")
def test_split_of_1d_pyclesperanto_down_to_length_one(memory_type: MemoryType) -> None:
    if memory_type is not MemoryType.PYCLESPERANTO:
        pytest.skip("a pyclesperanto regression")
    # 3 elements are cut into 1 and 2: a piece of length one among them.
    x = ap.convert(np.zeros(3, np.float32), memory_type)
    with inject_oom(memory_type, 1):
        got = _call(memory_type, ap.OOMPolicy(retries=0, release=False, split_axis=0), _affine, x)
    np.testing.assert_array_equal(as_numpy(got), [1.0, 1.0, 1.0])
