"""The host copies into torch: torch's multi-threaded copy into an aligned numpy buffer.

A conversion into torch that must copy (a jax or tensorflow source, a read-only numpy
array, ...) makes one copy into a 64-byte-aligned buffer from
:func:`arrayport._host.aligned_empty`, which torch then wraps. numpy copies on one thread;
torch's ``Tensor.copy_`` splits a large copy over its intra-op threads. For arrays of
:data:`PARALLEL_BYTES` or more, on the main thread, the copy is therefore made by torch,
into the same numpy-allocated buffer (numpy's allocator keeps large buffers on huge pages
and reuses freed ones; torch's own allocator maps fresh pages for every large tensor, which
made ``torch.asarray(copy=True)`` 3-5x slower than numpy from 32 MiB up: ADR 0051). Below
that size torch's extra calls cost more than its threads save. From any other thread,
torch's copy measured 2-3.5x slower than numpy's at 0.5-1 MiB and never faster (its OpenMP
team then wakes for every copy), so other threads copy with numpy. ADR 0052 has the figures.

On a machine whose cores are all busy (other processes, a test runner, a thread pool per
process), torch's copy waits for an intra-op thread to be scheduled: at 1 MiB it took a
median 5.3 ms against numpy's 0.27 ms, at 8 MiB 11 ms against 0.85 ms. So each copy by
torch is timed; one that ran :data:`SLOW_FACTOR` times slower per byte than the fastest
seen for its size hands the copies to numpy for :data:`BACKOFF_SECONDS`, after which torch
is tried again (at most one slow copy per interval; ADR 0052's amendment). The first
:data:`SEED_COPIES` copies of each size are numpy's, timed, so that the fastest seen starts
at numpy's rate: a process started on busy cores took its first, stalled copy by torch as
the fastest and never backed off (0.5 MiB jax -> torch: a median 8 ms against numpy's
0.05 ms); and a single numpy copy, into fresh pages or itself stalled (0.5-3 ms at 1 MiB
against 20-30 us warm), left torch's stalls of 7-12 ms within the factor.

The first copy by torch after numpy's (the seeds, a back-off) wakes torch's idle threads:
0.4-0.6 ms at 1 MiB on an idle machine, against 19-25 us for the copies after it. It is a
warm-up, not judged; judging it backed off every time, so that torch never copied at 1 MiB
again. Back-offs in a row double, up to :data:`MAX_BACKOFF_SECONDS`: a machine that stays
busy (or a program converting now and then, whose every copy meets sleeping threads) pays
two slow copies per interval, the warm-up and the one that backs off, and the intervals
grow; a copy by torch at the reference rate resets the interval to :data:`BACKOFF_SECONDS`.

Testing switch (private): inside ``with torch_copies_only():`` every copy that
:func:`parallel_copy` takes (main thread, large, a layout and dtype torch wraps) is torch's,
untimed: no numpy seed copies, no back-off, and the timing state is left as it was. Which
copier makes a copy otherwise depends on the copies made before in the process and on
how busy the cores are; a test of torch's branch (the conformance law
``conversion.large_arrays``) needs it reached every time. Not for programs: under load it
brings back the stalls the back-off avoids.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from arrayport._host import aligned_empty
from arrayport.backends._torch_quick import WRAPPED_DTYPES, as_wrapped

__all__ = [
    "BACKOFF_SECONDS",
    "MAX_BACKOFF_SECONDS",
    "PARALLEL_BYTES",
    "SEED_COPIES",
    "SLOW_FACTOR",
    "parallel_copy",
]

#: Copies of at least this many bytes are made by torch's multi-threaded copy.
PARALLEL_BYTES = 1 << 18
#: A copy by torch this many times slower per byte than the fastest of its size class ...
SLOW_FACTOR = 4.0
#: ... leaves the copies to numpy for this many seconds, doubled for each back-off in a
#: row up to MAX_BACKOFF_SECONDS.
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 8.0
#: The first copies of each size class made by numpy, timed: the fastest is the reference.
SEED_COPIES = 3

# Main thread only (below), so plain module state: the fastest seconds per byte seen, by
# size class (``nbytes.bit_length()``: a 1 MiB copy runs from cache, a 64 MiB one from
# memory), and the ``perf_counter`` time before which numpy makes the copies.
_fastest: dict[int, float] = {}
_seeds_left: dict[int, int] = {}  # numpy copies still to make, by size class
_numpy_until = 0.0
_backoff = BACKOFF_SECONDS  # the next back-off's length
_warm_up_due = True  # the next copy by torch follows numpy's: torch's threads may sleep
_torch_only = False  # the testing switch: see torch_copies_only

# numpy's C_CONTIGUOUS and ALIGNED flag bits (``ndarray.flags.num``): ALIGNED is element
# alignment for WRAPPED_DTYPES, whose numpy alignment is their size.
_CONTIGUOUS_ALIGNED = 0x0001 | 0x0100
_WRITEABLE = 0x0400
_MAIN_THREAD = threading.main_thread().ident


@contextmanager
def torch_copies_only() -> Iterator[None]:
    """Testing switch (private, main thread): within it every copy :func:`parallel_copy`
    takes is made by torch, untimed (no seed copies by numpy, no back-off)."""
    global _torch_only
    before, _torch_only = _torch_only, True
    try:
        yield
    finally:
        _torch_only = before


def parallel_copy(torch: Any, view: np.ndarray) -> Any:
    """A torch tensor holding a copy of ``view`` in a fresh aligned buffer, or None.

    None unless called on the main thread and ``view`` is large, C-contiguous with no
    negative stride (numpy calls an array with a reversed axis of length 1 contiguous;
    torch refuses it, and its DLPack import aborts the process on it), element-aligned and
    of a native dtype ``torch.from_numpy`` wraps as it is (the caller then copies with
    numpy). The source is
    read through ``torch.from_numpy`` when writable, else through a DLPack capsule that
    carries numpy's read-only flag (``torch.from_numpy`` warns on read-only arrays; older
    numpy or torch without versioned DLPack give None); the tensor reading it lives only
    for the copy.
    """
    global _numpy_until, _backoff, _warm_up_due
    flags = view.flags.num
    if (
        threading.get_ident() != _MAIN_THREAD
        or view.nbytes < PARALLEL_BYTES
        or flags & _CONTIGUOUS_ALIGNED != _CONTIGUOUS_ALIGNED
        or view.dtype not in WRAPPED_DTYPES
        or min(view.strides, default=0) < 0
    ):
        return None
    if _torch_only:  # the testing switch: torch's copy, whatever came before
        return _copy_by_torch(torch, as_wrapped(view), flags)
    start = time.perf_counter()
    if start < _numpy_until:  # a recent copy by torch stalled: the cores are busy
        _warm_up_due = True
        return None
    view = as_wrapped(view)  # only for copies torch makes: numpy's need no view
    size_class = view.nbytes.bit_length()
    fastest = _fastest.get(size_class)
    seeds = SEED_COPIES - 1 if fastest is None else _seeds_left.get(size_class, 0)
    if fastest is None or seeds:
        held = aligned_empty(view.shape, view.dtype)
        np.copyto(held, view)
        per_byte = (time.perf_counter() - start) / view.nbytes
        _fastest[size_class] = per_byte if fastest is None else min(fastest, per_byte)
        _seeds_left[size_class] = seeds - (fastest is not None)
        _warm_up_due = True
        return torch.from_numpy(held)
    out = _copy_by_torch(torch, view, flags)
    if out is None:
        return None
    per_byte = (time.perf_counter() - start) / view.nbytes
    warm_up, _warm_up_due = _warm_up_due, False
    if per_byte > SLOW_FACTOR * fastest:
        if not warm_up:  # a stall: numpy's for a while, longer each time in a row
            _numpy_until = start + _backoff
            _backoff = min(2 * _backoff, MAX_BACKOFF_SECONDS)
    else:
        _backoff = BACKOFF_SECONDS
        if per_byte < fastest:
            _fastest[size_class] = per_byte
    return out


def _copy_by_torch(torch: Any, view: np.ndarray, flags: int) -> Any:
    """torch's copy of ``view`` (wrapped as it is, ``flags`` its ``flags.num``) into a fresh
    aligned buffer, or None where torch cannot read it without a copy of its own."""
    if flags & _WRITEABLE:
        source = torch.from_numpy(view)
    else:
        try:
            source = torch.from_dlpack(view.__dlpack__(max_version=(1, 0)))
        # numpy < 2.1 has no max_version, and torch before versioned DLPack refuses the
        # capsule: numpy makes the copy then.
        except (TypeError, BufferError, RuntimeError):
            return None
    out = torch.from_numpy(aligned_empty(view.shape, view.dtype))
    out.copy_(source)
    return out
