"""_oom_release: what the OOM policy frees between attempts (cached memory, the frames a
failed attempt's error keeps)."""

from __future__ import annotations

import gc
import warnings
import weakref
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport._oom_release import drop_frames, release
from arrayport.devices import CPU, Device
from tests._subprocess import python_words
from tests.conftest import torch_oom_type


def _fails_holding(big: list[Any]) -> None:
    temporary = np.ones(1000)
    big.append(weakref.ref(temporary))
    raise MemoryError("no memory")


def test_drop_frames_clears_the_failed_call_s_locals_only() -> None:
    refs: list[Any] = []
    mine = np.zeros(3)  # a local of this (running) frame
    try:
        _fails_holding(refs)
    except MemoryError as exc:
        error = exc
    gc.collect()
    assert refs[0]() is not None  # the traceback keeps the failed frame's temporary
    drop_frames(error)
    gc.collect()
    assert refs[0]() is None
    assert mine.tolist() == [0.0, 0.0, 0.0]  # a running frame keeps its locals


def test_drop_frames_spares_an_error_a_running_frame_handles() -> None:
    refs: list[Any] = []
    try:
        _fails_holding(refs)
    except MemoryError:  # the caller is handling this one while the next call fails
        try:
            raise ValueError("inside the handler")
        except ValueError as inner:
            drop_frames(inner)
        gc.collect()
        assert refs[0]() is not None  # the caller's error: its frames are the caller's


def test_release_asks_the_backend_and_escalates_on_gpus_only(monkeypatch) -> None:
    from arrayport.backends import get_backend

    asked: list[tuple[str, Any]] = []
    backend = get_backend(MemoryType.NUMPY)
    monkeypatch.setattr(backend, "release_memory", lambda device: asked.append(("numpy", device)))
    release(None, CPU, escalate=True)  # no memory type known: nothing to release
    assert asked == []
    release(MemoryType.NUMPY, CPU, escalate=True)
    assert asked == [("numpy", CPU)]
    # On a GPU, a repeated failure also releases the other imported frameworks' caches
    # there (numpy is not one: it has no device memory).
    asked.clear()
    torch_backend = pytest.importorskip("torch") and get_backend(MemoryType.TORCH)
    monkeypatch.setattr(
        torch_backend, "release_memory", lambda device: asked.append(("torch", device))
    )
    gpu = Device("cuda", 0)
    release(MemoryType.NUMPY, gpu, escalate=False)
    assert asked == [("numpy", gpu)]
    asked.clear()
    release(MemoryType.NUMPY, gpu, escalate=True)
    assert asked == [("numpy", gpu), ("torch", gpu)]


def test_release_imports_no_framework_the_process_never_imported() -> None:
    # An OutOfMemoryError from a dask worker names the worker's framework; the client,
    # which never imported it, has nothing of it to release: the retry runs, and nothing
    # is imported (cupy, not installed here, raised BackendUnavailableError instead).
    script = """
import sys
import numpy as np
import arrayport as ap

for name in ("torch", "cupy"):
    runs = []

    def fn(x):
        runs.append(1)
        if len(runs) == 1:
            raise ap.OutOfMemoryError("a worker ran out", memory_type=name)
        return x + 1

    print(ap.OOMPolicy(retries=1).run(fn, np.arange(3.0)).tolist() == [1.0, 2.0, 3.0])
    print(name not in sys.modules)
"""
    assert python_words(script) == ["True"] * 4


def test_drop_frames_leaves_closures_the_failed_call_stored_intact() -> None:
    # A first version emptied the closure cells a failed attempt made (so that arrays its
    # lambdas read were freed); a closure it had stored (a cache, a callback) then failed
    # with NameError on the retry or later. Cells are left alone: such arrays live until
    # the error is dropped (documented in OOMPolicy).
    cache: list[Any] = []

    def fn(x: np.ndarray) -> None:
        factor = 3.0
        cache.append(lambda y: y * factor)
        np.empty(1 << 62, np.uint8)

    with pytest.raises(MemoryError) as info:
        fn(np.ones(3))
    drop_frames(info.value)
    assert cache[0](np.ones(2)).tolist() == [3.0, 3.0]


def test_a_release_with_no_device_goes_only_to_gpus_with_a_context() -> None:
    # (ADR 0092) With no device known, every GPU was entered and synchronised, creating a
    # CUDA context (hundreds of MiB) on each that had none. The values are those torch's
    # _cuda_hasPrimaryContext and cupy's driver query give (None: the driver unreadable).
    from arrayport._oom_release import gpus_to_release

    contexts = {0: True, 1: False, 2: False, 3: True}
    assert gpus_to_release(4, None, contexts.get) == [0, 3]
    assert gpus_to_release(4, 2, contexts.get) == [2]  # the GPU named, whatever it says
    assert gpus_to_release(2, None, {0: None, 1: False}.get) == [0]  # cannot tell: as before
    assert gpus_to_release(3, None, None) == [0, 1, 2]  # no such call: as before
    assert gpus_to_release(0, None, contexts.get) == []


def _failing_release(device: Any) -> None:
    raise RuntimeError("CUDA error: CUDA-capable device(s) is/are busy or unavailable")


def test_a_failed_release_is_handed_to_the_note(monkeypatch) -> None:
    # A CUDA error from a GPU another process holds (exclusive mode) replaced the
    # out-of-memory handling: the policy neither retried nor raised OutOfMemoryError.
    from arrayport.backends import get_backend

    pytest.importorskip("torch")
    released: list[Any] = []
    monkeypatch.setattr(get_backend(MemoryType.TORCH), "release_memory", _failing_release)
    monkeypatch.setattr(get_backend(MemoryType.NUMPY), "release_memory", released.append)
    notes: list[str] = []
    gpu = Device("cuda", 1)
    release(MemoryType.TORCH, gpu, escalate=False, note=notes.append)
    release(MemoryType.NUMPY, gpu, escalate=True, note=notes.append)  # torch's after numpy's
    assert released == [gpu]
    note = (
        "arrayport: releasing torch's cached memory on cuda:1 failed, and was skipped: "
        "RuntimeError: CUDA error: CUDA-capable device(s) is/are busy or unavailable"
    )
    assert notes == [note, note]
    with pytest.warns(RuntimeWarning, match="releasing torch's cached memory failed"):
        release(MemoryType.TORCH, None, escalate=False)  # no error to note it on


def test_a_failed_release_leaves_the_oom_policy_going(monkeypatch) -> None:
    # A numpy function running out of torch memory: released with no device known.
    from arrayport.backends import get_backend

    torch = pytest.importorskip("torch")
    oom = torch_oom_type(torch)
    monkeypatch.setattr(get_backend(MemoryType.TORCH), "release_memory", _failing_release)
    runs: list[int] = []

    def once(a: np.ndarray) -> np.ndarray:
        runs.append(1)
        if len(runs) == 1:
            raise oom("CUDA out of memory. Tried to allocate 2.00 GiB")
        return a + 1

    def always(a: np.ndarray) -> np.ndarray:
        raise oom("CUDA out of memory. Tried to allocate 2.00 GiB")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the failure goes to the policy's notes, unwarned
        assert ap.OOMPolicy(retries=1).run(once, np.zeros(3)).tolist() == [1.0, 1.0, 1.0]
        with pytest.raises(ap.OutOfMemoryError) as info:
            ap.OOMPolicy(retries=1).run(always, np.zeros(3))
    assert info.value.memory_type is MemoryType.TORCH
    assert info.value.attempts == 2
    assert "releasing torch's cached memory failed, and was skipped: RuntimeError" in str(
        info.value
    )
