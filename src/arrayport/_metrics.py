"""Opt-in counters: conversions per route, bytes moved, time, zero-copy share, OOM events.

Off by default. When off, every recording call returns after one attribute check (and
:func:`arrayport.convert` does not even read the clock), so the counters cost nothing
measurable; :meth:`Metrics.enable` turns them on. ``benchmarks/bench_oom.py`` measures the
cost when off.

Examples
--------
>>> import arrayport as ap
>>> ap.metrics.enable()
>>> ap.metrics.reset()
>>> ap.metrics.snapshot()["conversions"]
0
>>> ap.metrics.disable()
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from arrayport.errors import InvalidOptionError

__all__ = ["OOM_OUTCOMES", "Metrics", "metrics"]

#: How an out-of-memory episode ended: recovered by a retry after releasing cached memory
#: ("release"), by a plain retry (``OOMPolicy(release=False)``: "retry"), by splitting, by
#: the fallback memory type, or not at all: OutOfMemoryError raised ("raised"), or another
#: error ("error": a split whose results could not be joined refused with
#: InvalidOptionError, or an error that is not out-of-memory on a later attempt, a piece of
#: a split or the fallback).
OOM_OUTCOMES = ("release", "retry", "split", "fallback", "raised", "error")
#: The outcomes of episodes that ended without recovering.
_UNRECOVERED = frozenset({"raised", "error"})


class Metrics:
    """Thread-safe counters of what arrayport did, recorded only while enabled."""

    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self._holders = 0  # open collecting() blocks, in any thread
        self._enabled_outside = False  # enabled as it was before the first of them
        self._clear()

    def _clear(self) -> None:
        self._routes: Counter[str] = Counter()
        self._pairs: Counter[str] = Counter()
        self._bytes = 0
        self._shared_bytes = 0
        self._seconds = 0.0
        self._zero_copy = 0
        self._conversions = 0
        self._oom: Counter[str] = Counter()
        self._outcomes: Counter[str] = Counter()
        self._oom_errors = 0

    def enable(self) -> None:
        """Start counting (for good: also after open :meth:`collecting` blocks close)."""
        self._set(True)

    def disable(self) -> None:
        """Stop counting (the counts so far are kept), also after open :meth:`collecting`
        blocks close."""
        self._set(False)

    def _set(self, on: bool) -> None:
        with self._lock:
            self.enabled = on
            if self._holders:  # what the last open block restores when it closes
                self._enabled_outside = on

    @contextlib.contextmanager
    def collecting(self, *, reset: bool = True) -> Iterator[Metrics]:
        """Count inside a ``with`` block only (resetting first unless ``reset=False``).

        The counters are the process's: blocks open at the same time in several threads
        count together (and a block's reset clears them for all). Counting stops when the
        last open block closes, and ``enabled`` is then as it was before the first, or as
        the last :meth:`enable` or :meth:`disable` made while blocks were open set it.

        Examples
        --------
        >>> import numpy as np, arrayport as ap
        >>> with ap.metrics.collecting() as m:
        ...     _ = ap.convert(np.zeros(3), "numpy")
        >>> m.snapshot()["routes"]
        {'identity': 1}
        """
        if not isinstance(reset, (bool, np.bool_)):
            msg = f"metrics.collecting(reset={reset!r}): reset takes True or False"
            raise InvalidOptionError(msg)
        with self._lock:
            if reset:
                self._clear()
            if self._holders == 0:
                self._enabled_outside = self.enabled
            self._holders += 1
            self.enabled = True
        try:
            yield self
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self.enabled = self._enabled_outside

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._clear()

    def record_conversion(
        self, source: str, target: str, method: str, zero_copy: bool, nbytes: int, seconds: float
    ) -> None:
        """Count one conversion (called by :func:`arrayport.convert`)."""
        if not self.enabled:
            return
        with self._lock:
            self._conversions += 1
            self._routes[method] += 1
            self._pairs[f"{source}->{target}"] += 1
            self._seconds += seconds
            if zero_copy:
                self._zero_copy += 1
                self._shared_bytes += nbytes
            else:
                self._bytes += nbytes

    def record_oom(self, memory_type: str, outcome: str, *, errors: int = 1) -> None:
        """Count one out-of-memory episode of a call on ``memory_type``.

        ``outcome`` is one of :data:`OOM_OUTCOMES`; ``errors`` is how many out-of-memory
        errors the episode met (one per failed attempt).
        """
        if not self.enabled:
            return
        with self._lock:
            self._oom[memory_type] += 1
            self._outcomes[outcome] += 1
            self._oom_errors += errors

    def snapshot(self) -> dict[str, Any]:
        """The counters as a plain dictionary.

        Keys: ``enabled``; ``conversions``; ``routes`` (count per route method);
        ``pairs`` (count per ``"source->target"``); ``bytes_copied`` (bytes written by
        copying routes: the target's, which a widening such as float16 to float32 makes
        larger than the source's) and ``bytes_shared`` (bytes handed over by zero-copy
        ones); ``seconds`` (time spent converting); ``zero_copy_share`` (fraction of
        conversions that shared memory, None before the first); ``oom_events`` (episodes
        per memory type);
        ``oom_outcomes`` (episodes per outcome, one of :data:`OOM_OUTCOMES`: ``"release"``,
        ``"retry"``, ``"split"``, ``"fallback"``, ``"raised"``, ``"error"``); ``oom_errors``
        (out-of-memory errors met, in every episode whatever its outcome);
        ``oom_recoveries`` (episodes that ended in a result: neither ``"raised"`` nor
        ``"error"``).
        """
        with self._lock:
            share = self._zero_copy / self._conversions if self._conversions else None
            return {
                "enabled": self.enabled,
                "conversions": self._conversions,
                "routes": dict(self._routes),
                "pairs": dict(self._pairs),
                "bytes_copied": self._bytes,
                "bytes_shared": self._shared_bytes,
                "seconds": self._seconds,
                "zero_copy_share": share,
                "oom_events": dict(self._oom),
                "oom_outcomes": dict(self._outcomes),
                "oom_errors": self._oom_errors,
                "oom_recoveries": sum(
                    n for k, n in self._outcomes.items() if k not in _UNRECOVERED
                ),
            }

    def __repr__(self) -> str:
        return f"Metrics({self.snapshot()!r})"


metrics = Metrics()
