"""Helpers shared by the OOM policy's tests (test_oom, test_oom_recognition,
test_oom_recovery, test_split): inputs, conversions and a call-counting function.

Out-of-memory errors in those tests come from two sources: ``inject_oom`` (the frameworks'
real exception types, raised before a dispatched call) and real allocations that fail at
once without touching memory (sizes beyond the address space). Nothing exhausts the
machine's memory, and PoCL never allocates a large buffer.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

import arrayport as ap
from arrayport import MemoryType
from arrayport.devices import Device

# Most tests do not release: a full gc.collect() with torch, jax and tensorflow imported
# takes about half a second. The release step has tests of its own.
NO_RELEASE = {"release": False}
PI_B = 1 << 50  # 1 PiB: beyond the address space, so the allocation fails at once
GRID = np.arange(8 * 5, dtype=np.float32).reshape(8, 5)


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


def fail_first_move(monkeypatch: Any) -> list[bool]:
    """Make moving a dispatched call's inputs run out of memory once, from now on (numpy's
    real allocation error, nothing allocated); the list empties when it has."""
    from arrayport import _dispatch_general

    real = _dispatch_general.convert_arguments
    failing = [True]

    def first_move_fails(*args: Any, **kwargs: Any) -> Any:
        if failing:
            failing.clear()
            np.empty(1 << 60, dtype=np.uint8)  # numpy's _ArrayMemoryError
        return real(*args, **kwargs)

    monkeypatch.setattr(_dispatch_general, "convert_arguments", first_move_fails)
    return failing
