"""Warnings silenced around arrayport's own calls, one thread at a time.

``warnings.catch_warnings`` saves and restores the process's filter list: two threads in
such a block at once restore each other's saved lists, and an "ignore everything" filter
can stay installed for good, turning off the program's ``-W error`` or its own filters in
every thread. The blocks here share one lock, so arrayport's threads never interleave
them; another library's ``catch_warnings`` in another thread still can, so arrayport keeps
such blocks to port-check's parsing and name lookups, which are short and run no user code.
(While one runs, other threads' warnings are silenced too: Python 3.11's filters are
process-wide.)
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

__all__ = ["quiet"]

_lock = threading.RLock()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Every warning ignored within the block (see the module's docstring)."""
    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
