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


def test_nested_blocks_consume_the_innermost_first() -> None:
    policy = OOMPolicy.disabled()

    def outcome() -> str:
        try:
            policy.run(np.negative, np.ones(2))
        except MemoryError:
            return "oom"
        return "ok"

    with inject_oom("numpy", times=1) as outer:
        with inject_oom("numpy", times=1) as inner:
            assert outcome() == "oom"
            assert (inner.raised, inner.remaining) == (1, 0)
            assert (outer.raised, outer.remaining) == (0, 1)
        # The inner block's count went to its own body; the outer block's is still pending.
        assert outcome() == "oom"
        assert (outer.raised, outer.remaining) == (1, 0)
        assert outcome() == "ok"
    assert inner.raised + outer.raised == 2
