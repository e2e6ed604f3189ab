"""Warnings silenced around arrayport's own calls, one thread at a time.

``warnings.catch_warnings`` saves and restores the process's filter list: two threads in
such a block at once restore each other's saved lists, and an "ignore everything" filter
can stay installed for good, turning off the program's ``-W error`` or its own filters in
every thread. The blocks here share one lock, so arrayport's threads never interleave
them. (While one runs, other threads' warnings are silenced too: Python 3.11's filters
are process-wide; arrayport keeps such blocks to port-check's parsing and name lookups,
and the dask NATIVE_OUTPUT sample run on its own block of ones, which runs user code: it
does not wait for the lock, see :func:`quiet`'s ``wait``.)
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

__all__ = ["quiet"]

_lock = threading.RLock()


@contextlib.contextmanager
def quiet(*, wait: bool = True) -> Iterator[None]:
    """Every warning ignored within the block (see the module's docstring).

    ``wait=False`` for a block that runs user code: where another thread's block holds the
    lock, this one runs without silencing (that thread's filter is in force meanwhile)
    instead of waiting, so user code waiting on another thread's sample cannot deadlock.
    """
    if not _lock.acquire(blocking=wait):
        yield
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        _lock.release()
