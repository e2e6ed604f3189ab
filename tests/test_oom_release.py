"""_oom_release: what the OOM policy frees between attempts (cached memory, the frames a
failed attempt's error keeps)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport._oom_release import drop_frames, release
from arrayport.devices import CPU, Device
from tests._subprocess import python_words


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
