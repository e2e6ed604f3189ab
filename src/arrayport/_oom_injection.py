"""The registry that :func:`arrayport.testing.inject_oom` fills and every OOM attempt reads.

It lives outside :mod:`arrayport.testing` (whose package may import test-only packages),
so that each attempt of an :class:`~arrayport.OOMPolicy` (every retry, every piece of a
split, the fallback run) checks it before calling the function
(``docs/decisions/0022-oom-injection.md``). :mod:`arrayport.oom` keeps its historical
private names for these (``_Injection``, ``_register``, ``_unregister``, ``_inject``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from arrayport.devices import Device
from arrayport.memory_types import MemoryType

__all__ = ["Injection", "inject", "injections", "register", "suspended", "unregister"]


class Injection:
    """One ``inject_oom`` block: raise ``make(device)`` on the next ``remaining`` attempts
    (``device``: the attempt's, where known: torch's error differs on the CPU and on CUDA)."""

    def __init__(
        self,
        memory_type: MemoryType,
        times: int,
        make: Callable[[Device | None], BaseException],
    ):
        self.memory_type = memory_type
        self.remaining = times
        self.raised = 0
        self.make = make


_lock = threading.Lock()
#: Active injections, oldest first (consumed newest first: an inner ``inject_oom`` block's
#: count applies to its own body before an enclosing block's). Read without the lock as a
#: cheap "any at all?" test; only ever changed in place, so that modules holding it by name
#: see every change.
injections: list[Injection] = []


#: Per thread: a positive depth while arrayport runs a function for its own purposes (the
#: NATIVE_OUTPUT sample on dask input), whose runs are not the calls a test injects into.
_suspended = threading.local()


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """No injection is raised (or counted) in this thread inside the block."""
    _suspended.depth = getattr(_suspended, "depth", 0) + 1
    try:
        yield
    finally:
        _suspended.depth -= 1


def register(injection: Injection) -> None:
    """Make ``injection`` active (after the ones already active)."""
    with _lock:
        injections.append(injection)


def unregister(injection: Injection) -> None:
    """Cancel what is left of ``injection`` (its ``remaining`` becomes 0)."""
    with _lock:
        if injection in injections:
            injections.remove(injection)
        injection.remaining = 0


def inject(memory_type: MemoryType | None, device: Device | None = None) -> None:
    """Raise an injected out-of-memory error if one is pending for ``memory_type`` (on
    ``device``, where known).

    The newest active injection for ``memory_type`` with attempts left is consumed first,
    so that nested blocks add up with each block's count applying to its own body first.
    """
    depth: int = getattr(_suspended, "depth", 0)
    if memory_type is None or depth:
        return
    with _lock:
        for injection in reversed(injections):
            if injection.memory_type is memory_type and injection.remaining > 0:
                injection.remaining -= 1
                injection.raised += 1
                break
        else:
            return
    raise injection.make(device)
