"""Tests of arrayport.backends._torch_copy: torch's multi-threaded copy into an aligned numpy
buffer, taken only where it holds the same values a numpy copy would."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport._host import ALIGNMENT, aligned_empty
from tests.conftest import python_c, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TORCH)

BIG = 1 << 18  # bytes: PARALLEL_BYTES, checked below


@pytest.fixture(scope="module")
def torch() -> Any:
    from arrayport.backends import torch as backend

    return backend.load()


class _EverySizeSeen(dict):  # type: ignore[type-arg]
    """A reference for every size: the first copy of a size is torch's too."""

    def get(self, key: object, default: object = None) -> object:
        return super().get(key, float("inf"))


@pytest.fixture(autouse=True)
def never_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether torch makes a copy must not depend on how busy the machine is (the stall
    guard, tested on its own below, would hand copies to numpy under load), nor on
    whether a copy of that size was made before (the first is numpy's, timed)."""
    from arrayport.backends import _torch_copy

    monkeypatch.setattr(_torch_copy, "SLOW_FACTOR", float("inf"))
    monkeypatch.setattr(_torch_copy, "_fastest", _EverySizeSeen())
    monkeypatch.setattr(_torch_copy, "_seeds_left", {}, raising=False)
    monkeypatch.setattr(_torch_copy, "_numpy_until", 0.0)
    monkeypatch.setattr(_torch_copy, "_backoff", _torch_copy.BACKOFF_SECONDS)
    monkeypatch.setattr(_torch_copy, "_warm_up_due", False)


def _parallel_copy(torch: Any, view: np.ndarray) -> Any:
    from arrayport.backends._torch_copy import parallel_copy

    return parallel_copy(torch, view)


def test_threshold_is_the_documented_size() -> None:
    from arrayport.backends._torch_copy import PARALLEL_BYTES

    assert PARALLEL_BYTES == BIG


@pytest.mark.parametrize(
    "dtype",
    ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
     "float16", "float32", "float64"],
)  # fmt: skip
@pytest.mark.parametrize("writable", [True, False], ids=["writable", "read-only"])
def test_large_arrays_are_copied_exactly_into_a_private_aligned_buffer(
    torch: Any, dtype: str, writable: bool
) -> None:
    rng = np.random.default_rng(7)
    n = BIG // np.dtype(dtype).itemsize + 3
    source = rng.integers(0, 256, n).astype(dtype)
    if dtype.startswith("float"):
        source[:4] = [np.nan, -0.0, np.inf, -np.inf]
    source = source.reshape(-1, 1) if n % 2 else source
    view = source.view()
    view.flags.writeable = writable
    out = _parallel_copy(torch, view)
    if not writable and np.lib.NumpyVersion(np.__version__) < "2.1.0":
        assert out is None  # no read-only DLPack export before numpy 2.1: numpy copies
        return
    assert out is not None
    held = out.numpy()
    assert held.dtype == source.dtype
    assert held.shape == source.shape
    assert held.ctypes.data % ALIGNMENT == 0
    assert not np.shares_memory(held, source)
    np.testing.assert_array_equal(held, source)
    # bit for bit (NaN payloads, -0.0)
    assert held.tobytes() == source.tobytes()
    assert view.flags.writeable is writable  # the source's flags are left alone


def test_small_arrays_are_left_to_numpy(torch: Any) -> None:
    small = np.zeros(BIG // 4 - 1, dtype="float32")
    assert _parallel_copy(torch, small) is None
    assert _parallel_copy(torch, np.zeros(BIG // 4, dtype="float32")) is not None


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a[::2],  # strided
        lambda a: a[::-1],  # negative stride
        lambda a: a.reshape(1, -1)[::-1],  # "contiguous" to numpy, a negative stride to torch
        lambda a: a.astype(">f4"),  # big-endian
        lambda a: a.astype("complex64"),  # numpy aligns complex to half its size
        lambda a: np.frombuffer(aligned_empty((a.nbytes + 1,), np.dtype("uint8"))[1:], "f4"),
    ],
    ids=["strided", "reversed", "reversed-length-1", "big-endian", "complex", "misaligned"],
)
def test_other_layouts_and_dtypes_are_left_to_numpy(torch: Any, make: Any) -> None:
    a = np.arange(2 * BIG // 4 + 2, dtype="float32")
    assert _parallel_copy(torch, make(a)) is None


def test_convert_into_torch_uses_it_and_keeps_values() -> None:
    """A read-only numpy array (torch cannot wrap it) is copied into torch, with exact
    values, an honest route and a buffer the caller may write."""
    source = np.arange(BIG // 2, dtype="float64") / 7
    source.flags.writeable = False
    route = ap.plan(source, "torch")
    assert route.method == "host-copy"
    assert not route.zero_copy
    out = ap.convert(source, "torch")
    held = out.numpy()
    assert held.ctypes.data % ALIGNMENT == 0
    assert not np.shares_memory(held, source)
    np.testing.assert_array_equal(held, source)
    out[0] = 5.0  # the copy is the caller's to write
    assert source[0] == 0.0


@pytest.mark.parametrize("error", [TypeError, BufferError, RuntimeError])
def test_read_only_views_fall_back_to_numpy_without_versioned_dlpack(
    torch: Any, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    """numpy < 2.1 (no ``max_version``) or a torch that refuses versioned capsules: the
    copy is left to numpy, and the conversion still holds the values."""

    def refuse(*args: object, **kwargs: object) -> Any:
        raise error("no versioned DLPack here")

    monkeypatch.setattr(torch, "from_dlpack", refuse)
    source = np.arange(BIG // 4, dtype="float32")
    source.flags.writeable = False
    assert _parallel_copy(torch, source) is None
    out = ap.convert(source, "torch")
    np.testing.assert_array_equal(out.numpy(), source)
    assert not np.shares_memory(out.numpy(), source)


@pytest.mark.parametrize("writable", [True, False], ids=["writable", "read-only"])
def test_reversed_axis_of_length_one_converts_exactly(writable: bool) -> None:
    """numpy flags it C-contiguous, torch.from_numpy refuses it and torch's DLPack import
    aborts the process on it: run in a subprocess, it must convert with exact values."""
    code = (
        "import numpy as np, arrayport as ap\n"
        "a = np.arange(70000, dtype=np.float32).reshape(1, 70000)[::-1]\n"
        f"a.flags.writeable = {writable}\n"
        "assert a.flags.c_contiguous and a.strides[0] < 0\n"
        "t = ap.convert(a, 'torch')\n"
        "assert (t.numpy() == a).all() and t.numpy().shape == a.shape\n"
        "print('ok')\n"
    )
    done = python_c(code, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "ok"


def test_other_threads_copy_with_numpy(torch: Any) -> None:
    """torch's copy is taken on the main thread only (measured slower from others)."""
    from concurrent.futures import ThreadPoolExecutor

    source = np.arange(BIG // 4, dtype="float32")
    assert _parallel_copy(torch, source) is not None
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(_parallel_copy, torch, source).result() is None


def test_copies_from_several_threads_at_once_keep_their_values() -> None:
    """Conversions into torch from several threads, alongside the main thread's own."""
    from concurrent.futures import ThreadPoolExecutor

    def work(seed: int) -> bool:
        source = np.random.default_rng(seed).random(BIG // 2, dtype=np.float32)
        source.flags.writeable = seed % 2 == 0  # both the from_numpy and the DLPack reads
        return all(np.array_equal(ap.convert(source, "torch").numpy(), source) for _ in range(8))

    with ThreadPoolExecutor(4) as pool:
        results = pool.map(work, range(8))
        assert work(99)  # the main thread, with torch's copy, meanwhile
        assert all(results)


def test_a_stalled_copy_leaves_the_next_ones_to_numpy_for_a_while(
    torch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every core busy, torch's copy waits for its threads (1 MiB: a median 5.3 ms
    against numpy's 0.27 ms): one copy slower than SLOW_FACTOR times the fastest of its
    size hands the copies to numpy for BACKOFF_SECONDS, then torch is tried again."""
    from arrayport.backends import _torch_copy

    source = np.arange(BIG // 4, dtype="float32")
    size_class = source.nbytes.bit_length()
    now = [100.0]
    step = [0.0]

    def clock() -> float:  # each read moves the clock on by step[0]
        now[0] += step[0]
        return now[0]

    monkeypatch.setattr(_torch_copy.time, "perf_counter", clock)
    monkeypatch.setattr(_torch_copy, "SLOW_FACTOR", 4.0)
    monkeypatch.setattr(_torch_copy, "_fastest", {size_class: 1e-9 / source.nbytes})
    step[0] = 1e-3  # this copy "takes" 1 ms, a million times the fastest: a stall
    first = _parallel_copy(torch, source)
    assert first is not None  # torch made it; the next ones are numpy's
    np.testing.assert_array_equal(first.numpy(), source)
    stalled_at = _torch_copy._numpy_until - _torch_copy.BACKOFF_SECONDS
    assert 100.0 < stalled_at < 100.01
    assert _torch_copy._fastest[size_class] == 1e-9 / source.nbytes  # a stall is no record
    step[0] = 0.0
    now[0] = stalled_at + _torch_copy.BACKOFF_SECONDS / 2
    assert _parallel_copy(torch, source) is None
    np.testing.assert_array_equal(ap.convert(source.copy(), "torch").numpy(), source)
    now[0] = stalled_at + _torch_copy.BACKOFF_SECONDS
    assert _parallel_copy(torch, source) is not None  # torch again


def test_copies_at_the_fastest_rate_seen_keep_torch(
    torch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrayport.backends import _torch_copy

    monkeypatch.setattr(_torch_copy, "SLOW_FACTOR", 4.0)
    source = np.arange(BIG // 4, dtype="float32")
    now = [0.0]

    def clock() -> float:  # two reads per copy: every copy takes 1 us
        now[0] += 0.5e-6
        return now[0]

    monkeypatch.setattr(_torch_copy.time, "perf_counter", clock)
    for _ in range(5):
        assert _parallel_copy(torch, source) is not None
    assert _torch_copy._numpy_until == 0.0
    fastest = _torch_copy._fastest[source.nbytes.bit_length()]
    assert fastest == pytest.approx(0.5e-6 / source.nbytes)


def test_a_process_whose_torch_copies_all_stall_still_backs_off(
    torch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference was the fastest copy by torch seen so far: in a process started on
    busy cores every copy by torch stalled, the first stall was the record, and none
    backed off (0.5 MiB jax -> torch at a median 8 ms against numpy's 0.05 ms). The first
    copy of a size is numpy's, timed, and torch's are held to that."""
    from arrayport.backends import _torch_copy

    source = np.arange(BIG // 4, dtype="float32")
    now = [0.0]

    def clock() -> float:  # every copy takes 1 ms of reads ...
        now[0] += 0.5e-3
        return now[0]

    real_copy = torch.Tensor.copy_

    def stalled_copy(self: Any, *args: Any, **kwargs: Any) -> Any:  # ... torch's 10 ms more
        now[0] += 10e-3
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(_torch_copy.time, "perf_counter", clock)
    monkeypatch.setattr(torch.Tensor, "copy_", stalled_copy)
    monkeypatch.setattr(_torch_copy, "SLOW_FACTOR", 4.0)
    monkeypatch.setattr(_torch_copy, "_fastest", {})  # a fresh process
    for _ in range(_torch_copy.SEED_COPIES):
        first = _parallel_copy(torch, source)  # numpy's, timed: the reference
        assert first is not None
        np.testing.assert_array_equal(first.numpy(), source)
    assert _torch_copy._numpy_until == 0.0
    warm_up = _parallel_copy(torch, source)  # torch's first, 11 times slower: not judged
    assert warm_up is not None
    np.testing.assert_array_equal(warm_up.numpy(), source)
    assert _torch_copy._numpy_until == 0.0
    second = _parallel_copy(torch, source)  # torch's, 11 times slower again: back off
    assert second is not None
    np.testing.assert_array_equal(second.numpy(), source)
    assert _torch_copy._numpy_until > now[0]
    assert _parallel_copy(torch, source) is None  # numpy's for a while


def test_the_reference_is_the_fastest_of_several_numpy_copies(
    torch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One numpy copy was the reference: into fresh pages, or itself stalled, it took 0.5-3
    ms at 1 MiB against 20-30 us warm, and torch's stalls of 7-12 ms stayed within the
    factor: nothing backed off."""
    from arrayport.backends import _torch_copy

    source = np.arange(BIG // 4, dtype="float32")
    now = [0.0]
    costs = [3e-3, 20e-6, 25e-6]  # numpy's copies: a cold first, then warm ones
    real_copyto, real_copy = np.copyto, torch.Tensor.copy_

    def numpy_copy(*args: Any, **kwargs: Any) -> Any:
        now[0] += costs.pop(0) if costs else 20e-6
        return real_copyto(*args, **kwargs)

    def stalled_copy(self: Any, *args: Any, **kwargs: Any) -> Any:  # torch's: 8 ms each
        now[0] += 8e-3
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(_torch_copy.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(_torch_copy.np, "copyto", numpy_copy)
    monkeypatch.setattr(torch.Tensor, "copy_", stalled_copy)
    monkeypatch.setattr(_torch_copy, "SLOW_FACTOR", 4.0)
    monkeypatch.setattr(_torch_copy, "_fastest", {})  # a fresh process
    # 3 numpy's, then torch's warm-up (not judged) and its next copy, which backs off
    copies = [_parallel_copy(torch, source) for _ in range(5)]
    for out in copies:
        assert out is not None
        np.testing.assert_array_equal(out.numpy(), source)
    assert _torch_copy._numpy_until > 0.0  # torch's stall, 400 times the fastest
    assert _parallel_copy(torch, source) is None  # numpy's for a while


def _stalling_clock(
    torch: Any, monkeypatch: pytest.MonkeyPatch, source: np.ndarray
) -> tuple[list[float], list[float]]:
    """A clock ``now`` that torch's copies move on by ``cost[0]`` seconds each (numpy's by
    nothing), against a reference of 1 ns for ``source``'s size."""
    from arrayport.backends import _torch_copy

    now, cost = [100.0], [0.0]
    real_copy = torch.Tensor.copy_

    def timed_copy(self: Any, *args: Any, **kwargs: Any) -> Any:
        now[0] += cost[0]
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(_torch_copy.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(torch.Tensor, "copy_", timed_copy)
    monkeypatch.setattr(_torch_copy, "SLOW_FACTOR", 4.0)
    monkeypatch.setattr(_torch_copy, "_fastest", {source.nbytes.bit_length(): 1e-9 / source.nbytes})
    return now, cost


def test_the_first_copy_by_torch_after_numpys_is_a_warm_up(
    torch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch's threads sleep while numpy copies: the copy that wakes them took 0.4-0.6 ms
    at 1 MiB against 19-25 us for the next ones. Judged, it backed off every time, and
    torch never copied at 1 MiB after the seeds."""
    from arrayport.backends import _torch_copy

    source = np.arange(BIG // 4, dtype="float32")
    _, cost = _stalling_clock(torch, monkeypatch, source)
    _torch_copy._warm_up_due = True  # as after the seeds, or a back-off
    cost[0] = 1e-3  # the warm-up: a million times the reference
    assert _parallel_copy(torch, source) is not None
    assert _torch_copy._numpy_until == 0.0  # not judged
    cost[0] = 2e-9  # warm: twice the reference, within the factor
    for _ in range(3):
        out = _parallel_copy(torch, source)
        assert out is not None
        np.testing.assert_array_equal(out.numpy(), source)
    assert _torch_copy._numpy_until == 0.0


def test_back_offs_in_a_row_double_up_to_the_cap_and_a_good_copy_resets_them(
    torch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrayport.backends import _torch_copy

    source = np.arange(BIG // 4, dtype="float32")
    now, cost = _stalling_clock(torch, monkeypatch, source)
    lengths = []
    for _ in range(6):  # every copy by torch stalls: a busy machine
        cost[0] = 1e-3
        started = now[0]
        assert _parallel_copy(torch, source) is not None  # judged: backs off
        lengths.append(_torch_copy._numpy_until - started)
        cost[0] = 0.0
        now[0] = _torch_copy._numpy_until - 1e-6
        assert _parallel_copy(torch, source) is None  # numpy's until the end ...
        now[0] = _torch_copy._numpy_until
        cost[0] = 1e-3
        assert _parallel_copy(torch, source) is not None  # ... then torch's warm-up
        assert _torch_copy._numpy_until < now[0]  # not judged
    first = _torch_copy.BACKOFF_SECONDS
    assert lengths == [min(first * 2**i, _torch_copy.MAX_BACKOFF_SECONDS) for i in range(6)]
    assert lengths[-1] == _torch_copy.MAX_BACKOFF_SECONDS
    cost[0] = 2e-9  # the machine is idle again: a copy at the reference rate
    assert _parallel_copy(torch, source) is not None
    cost[0] = 1e-3
    started = now[0]
    assert _parallel_copy(torch, source) is not None
    assert _torch_copy._numpy_until - started == first


def test_the_testing_switch_has_torch_make_every_copy_and_leaves_the_timing_alone(
    torch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``torch_copies_only`` (for conformance.large_arrays): with the seed copies still to
    make and a back-off running, each copy is torch's all the same; the timing state is
    untouched, and the heuristics are back once the switch is left, even by an error."""
    from arrayport.backends import _torch_copy

    copies = []
    real_copy = torch.Tensor.copy_

    def counted_copy(self: Any, *args: Any, **kwargs: Any) -> Any:
        copies.append(tuple(self.shape))
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "copy_", counted_copy)
    monkeypatch.setattr(_torch_copy, "_fastest", {})  # a fresh process: seeds to make
    monkeypatch.setattr(_torch_copy, "_numpy_until", float("inf"))  # and backing off
    writable = np.arange(BIG // 2, dtype="uint16").reshape(-1, 8)
    read_only = np.linspace(-1, 1, BIG // 8 + 8).reshape(-1, 8)
    read_only[0, :2] = [np.nan, -0.0]
    read_only.flags.writeable = False
    with _torch_copy.torch_copies_only():
        for source in (writable, read_only, writable, read_only):
            out = _parallel_copy(torch, source)
            assert out is not None
            assert out.numpy().tobytes() == source.tobytes()
            assert not np.shares_memory(out.numpy(), source)
        # what torch cannot take stays numpy's: a small array, another thread
        assert _parallel_copy(torch, writable[:8]) is None
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(_parallel_copy, torch, writable).result() is None
    assert copies == [writable.shape, read_only.shape] * 2
    assert _torch_copy._fastest == {}
    assert _torch_copy._numpy_until == float("inf")
    assert _parallel_copy(torch, writable) is None  # backing off again: numpy's
    with pytest.raises(KeyError), _torch_copy.torch_copies_only():
        raise KeyError("a failing test inside the switch")
    assert _torch_copy._torch_only is False
    assert _parallel_copy(torch, writable) is None
