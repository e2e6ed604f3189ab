"""Tests of arrayport._oom_injection: the registry inject_oom fills, counted under a lock.

The public inject_oom is tested in tests/testing/test_oom.py.
"""

from __future__ import annotations

import threading

import numpy as np

from arrayport import OOMPolicy, OutOfMemoryError
from arrayport.testing import inject_oom
from tests._oom_support import NO_RELEASE


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
