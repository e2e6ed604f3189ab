"""Opt-in counters: conversions per route, bytes moved, time, zero-copy share, OOM events.

Off by default. When off, every recording call returns after one attribute check, so the
counters cost nothing measurable; :meth:`Metrics.enable` turns them on.

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

import threading
from collections import Counter
from typing import Any

__all__ = ["Metrics", "metrics"]


class Metrics:
    """Thread-safe counters of what arrayport did, recorded only while enabled."""

    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self.reset()

    def enable(self) -> None:
        """Start counting."""
        self.enabled = True

    def disable(self) -> None:
        """Stop counting (the counts so far are kept)."""
        self.enabled = False

    def reset(self) -> None:
        """Set every counter back to zero."""
        with getattr(self, "_lock", threading.Lock()):
            self._routes: Counter[str] = Counter()
            self._pairs: Counter[str] = Counter()
            self._bytes = 0
            self._seconds = 0.0
            self._zero_copy = 0
            self._conversions = 0
            self._oom: Counter[str] = Counter()
            self._recovered: Counter[str] = Counter()

    def record_conversion(self, source: str, target: str, method: str, zero_copy: bool, nbytes: int, seconds: float) -> None:
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
            else:
                self._bytes += nbytes

    def record_oom(self, memory_type: str, outcome: str) -> None:
        """Count an out-of-memory event and how it ended (``"release"``, ``"split"``,
        ``"fallback"``, ``"raised"``)."""
        if not self.enabled:
            return
        with self._lock:
            self._oom[memory_type] += 1
            self._recovered[outcome] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as a plain dictionary."""
        with self._lock:
            share = self._zero_copy / self._conversions if self._conversions else None
            return {
                "enabled": self.enabled,
                "conversions": self._conversions,
                "routes": dict(self._routes),
                "pairs": dict(self._pairs),
                "bytes_copied": self._bytes,
                "seconds": self._seconds,
                "zero_copy_share": share,
                "oom_events": dict(self._oom),
                "oom_outcomes": dict(self._recovered),
            }

    def __repr__(self) -> str:
        return f"Metrics({self.snapshot()!r})"


metrics = Metrics()
