"""Tests of arrayport._metrics (ap.metrics). The cost when off is measured in
benchmarks/bench_oom.py, not here."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import arrayport as ap
from arrayport._metrics import OOM_OUTCOMES, Metrics
from arrayport.errors import InvalidOptionError


@pytest.fixture
def m() -> Metrics:
    return Metrics()


def test_off_by_default_and_records_nothing(m: Metrics) -> None:
    assert not m.enabled
    m.record_conversion("numpy", "torch", "dlpack", True, 100, 0.1)
    m.record_oom("torch", "release")
    snap = m.snapshot()
    assert snap["conversions"] == 0
    assert snap["oom_events"] == {}
    assert snap["oom_errors"] == 0
    assert snap["zero_copy_share"] is None


def test_counts_routes_bytes_time_and_share(m: Metrics) -> None:
    m.enable()
    m.record_conversion("numpy", "torch", "dlpack", True, 100, 0.5)
    m.record_conversion("numpy", "jax", "host-copy", False, 40, 0.25)
    m.record_conversion("numpy", "jax", "host-copy", False, 60, 0.25)
    snap = m.snapshot()
    assert snap["conversions"] == 3
    assert snap["routes"] == {"dlpack": 1, "host-copy": 2}
    assert snap["pairs"] == {"numpy->torch": 1, "numpy->jax": 2}
    assert snap["bytes_copied"] == 100
    assert snap["bytes_shared"] == 100
    assert snap["seconds"] == pytest.approx(1.0)
    assert snap["zero_copy_share"] == pytest.approx(1 / 3)
    m.disable()
    m.record_conversion("numpy", "torch", "dlpack", True, 100, 0.5)
    assert m.snapshot()["conversions"] == 3  # kept, not counting
    m.reset()
    assert m.snapshot()["conversions"] == 0


def test_oom_counters(m: Metrics) -> None:
    m.enable()
    m.record_oom("torch", "release", errors=2)
    m.record_oom("torch", "raised", errors=3)
    m.record_oom("jax", "split")
    snap = m.snapshot()
    assert snap["oom_events"] == {"torch": 2, "jax": 1}
    assert snap["oom_outcomes"] == {"release": 1, "raised": 1, "split": 1}
    assert snap["oom_errors"] == 6
    assert snap["oom_recoveries"] == 2


def test_an_episode_that_ended_in_another_error_is_counted_but_not_as_recovered(
    m: Metrics,
) -> None:
    m.enable()
    m.record_oom("numpy", "error", errors=2)
    m.record_oom("numpy", "fallback")
    snap = m.snapshot()
    assert snap["oom_events"] == {"numpy": 2}
    assert snap["oom_outcomes"] == {"error": 1, "fallback": 1}
    assert snap["oom_errors"] == 3
    assert snap["oom_recoveries"] == 1  # the fallback only
    # Every outcome is named in the snapshot's documentation.
    doc = Metrics.snapshot.__doc__ or ""
    assert all(f'``"{outcome}"``' in doc for outcome in OOM_OUTCOMES)


def test_collecting_restores_the_previous_state(m: Metrics) -> None:
    m.record_oom("torch", "release")
    with m.collecting() as same:
        assert same is m
        assert m.enabled
        m.record_oom("torch", "release")
    assert not m.enabled
    assert m.snapshot()["oom_events"] == {"torch": 1}


def test_collecting_takes_a_bool_reset(m: Metrics) -> None:
    # reset="no" is truthy: it cleared the counters it was meant to keep.
    with m.collecting():
        m.record_oom("torch", "release")
    refused = pytest.raises(InvalidOptionError, match=r"reset='no'\): reset takes True or False")
    with refused, m.collecting(reset="no"):  # type: ignore[arg-type]
        pass
    with m.collecting(reset=np.False_):
        m.record_oom("torch", "release")
    assert m.snapshot()["oom_events"] == {"torch": 2}


def test_enable_inside_an_open_block_lasts_after_it(m: Metrics) -> None:
    # The block's close restored the state from before it: a user's enable() (or disable())
    # made meanwhile, in this thread or another, was undone.
    with m.collecting():
        m.enable()
    assert m.enabled
    m.record_oom("torch", "release")
    assert m.snapshot()["oom_events"] == {"torch": 1}
    with m.collecting(), m.collecting():
        m.disable()
        assert not m.enabled
    assert not m.enabled
    m.record_oom("torch", "release")
    assert m.snapshot()["oom_events"] == {}


def test_enable_in_another_thread_survives_a_block_closing(m: Metrics) -> None:
    opened, enabled = threading.Event(), threading.Event()

    def holder() -> None:
        with m.collecting():
            opened.set()
            enabled.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    opened.wait(10)
    m.enable()
    enabled.set()
    t.join(10)
    assert m.enabled


def test_outcomes_name_a_plain_retry_apart_from_a_release() -> None:
    assert OOM_OUTCOMES == ("release", "retry", "split", "fallback", "raised", "error")


def test_thread_safe_counts(m: Metrics) -> None:
    m.enable()

    def work() -> None:
        for _ in range(2000):
            m.record_conversion("numpy", "torch", "dlpack", True, 1, 0.0)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.snapshot()["conversions"] == 8000
    assert m.snapshot()["bytes_shared"] == 8000


def test_convert_feeds_the_global_metrics() -> None:
    with ap.metrics.collecting() as metrics:
        ap.convert(np.zeros(3), "numpy")
        ap.convert(np.zeros(4, dtype=np.float32), "numpy", copy=True)
        snap = metrics.snapshot()
    assert snap["conversions"] == 2
    assert snap["routes"] == {"identity": 1, "copy": 1}
    assert snap["bytes_copied"] == 16
    assert snap["bytes_shared"] == 24
    assert snap["zero_copy_share"] == 0.5
    assert not ap.metrics.enabled


def test_tensorflow_sources_count_their_bytes() -> None:
    # tf.Tensor has no nbytes: its conversions were counted as 0 bytes.
    pytest.importorskip("tensorflow")
    t = ap.convert(np.ones((64, 64), np.float32), "tensorflow")
    with ap.metrics.collecting() as metrics:
        ap.convert(t, "numpy")  # a share: the source's bytes
        ap.convert(t, "tensorflow", copy=True)  # a copy: the target's (a tf.Tensor too)
        snap = metrics.snapshot()
    assert snap["conversions"] == 2
    assert snap["bytes_copied"] + snap["bytes_shared"] == 2 * 64 * 64 * 4


def test_a_widening_copy_counts_the_bytes_it_wrote() -> None:
    # pyclesperanto has no float16 or bool: 512 bytes of float16 went to the device as
    # 1024 bytes of float32, and bytes_copied said 512.
    from tests.conftest import INSTALLED

    if ap.MemoryType.PYCLESPERANTO not in INSTALLED:
        pytest.skip("pyclesperanto is not installed")
    with ap.metrics.collecting() as metrics:
        wide = ap.convert(np.ones((16, 16), np.float16), "pyclesperanto")
        flags = ap.convert(np.ones(100, np.bool_), "pyclesperanto")
        snap = metrics.snapshot()
    assert (str(wide.dtype), str(flags.dtype)) == ("float32", "uint8")
    assert snap["conversions"] == 2
    assert snap["bytes_copied"] == 16 * 16 * 4 + 100
    assert snap["bytes_shared"] == 0


def test_overlapping_blocks_in_two_threads_end_with_counting_off() -> None:
    # A saved-and-restored flag left counting on for good when blocks overlapped (A opens,
    # B opens, A closes, B closes: B restored A's True), and A's exit stopped B's counting.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    counted_after_a_left: list[int] = []

    def a() -> None:
        with ap.metrics.collecting():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b() -> None:
        a_in.wait(10)
        with ap.metrics.collecting(reset=False) as m:
            b_in.set()
            a_out.wait(10)
            ap.convert(np.zeros(3), "numpy")  # A has left: B still counts
            counted_after_a_left.append(m.snapshot()["conversions"])

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert counted_after_a_left == [1]
    assert not ap.metrics.enabled
    ap.metrics.reset()
    ap.convert(np.zeros(3), "numpy")
    assert ap.metrics.snapshot()["conversions"] == 0
