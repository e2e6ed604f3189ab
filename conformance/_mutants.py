"""Deliberate breakage, for proving that the conformance suite can fail.

Loaded only on request (``pytest -p conformance._mutants``) with ``ARRAYPORT_MUTATION`` set
to one of :data:`MUTATIONS`; it monkeypatches arrayport in the test process before any
test runs. Nothing in ``src/`` knows about it. :mod:`conformance.mutations` runs each
mutation against the laws that should catch it.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import _dtype_policy
from arrayport._host import aligned_copy
from arrayport.backends import get_backend

# Modules by name: ``arrayport.convert`` is also the name of the function re-exported on
# the package, which ``from arrayport import convert`` would give.
_planning = importlib.import_module("arrayport._planning")
_recovery = importlib.import_module("arrayport._oom_recovery")


def _wrong_value() -> None:
    """One route returns a wrong value: tensorflow's host adoption bumps the last element."""
    tf_backend = get_backend("tensorflow")
    original = tf_backend.from_numpy

    def from_numpy(a: np.ndarray, device: Any) -> Any:
        if a.size:
            a = np.array(a, copy=True)
            flat = a.reshape(-1)
            with np.errstate(all="ignore"):
                flat[-1] = ~flat[-1] if a.dtype.kind == "b" else flat[-1] + 1
        return original(a, device)

    def adopt_copy(view: np.ndarray, device: Any) -> Any:  # the host copies too
        return from_numpy(aligned_copy(view), device)

    tf_backend.from_numpy = from_numpy  # type: ignore[attr-defined]
    tf_backend.adopt_copy = adopt_copy  # type: ignore[attr-defined]


def _lying_zero_copy() -> None:
    """Host copies claim to be zero-copy."""
    original = _planning._host_copy_route

    def host_copy_route(*args: Any, **kwargs: Any) -> Any:
        route, run = original(*args, **kwargs)
        return dataclasses.replace(route, zero_copy=True), run

    _planning._host_copy_route = host_copy_route


def _wrapping_cast() -> None:
    """Integer-to-integer VALUE conversion forgets to clip: int16 300 -> int8 44."""
    _dtype_policy._clip_int = lambda xp, x, work, lo, hi: x  # type: ignore[assignment]


def _retried_non_oom() -> None:
    """The numpy backend calls ValueError out-of-memory, so such errors get retried."""
    np_backend = get_backend("numpy")
    original = np_backend.is_oom
    np_backend.is_oom = lambda exc: isinstance(exc, ValueError) or original(exc)  # type: ignore[attr-defined]


def _writable_alias() -> None:
    """torch wraps read-only numpy memory: every guard (convert's and torch's) switched off."""
    torch_backend: Any = get_backend("torch")
    torch_backend.WRITABLE_ONLY = False
    original = torch_backend._share_refusal
    torch_backend._share_refusal = lambda writable, *rest: original(True, *rest)


def _silent_downcast() -> None:
    """pyclesperanto's dtype check lets 64-bit dtypes through (it stores them as 32-bit)."""
    cle_backend = get_backend("pyclesperanto")
    original = cle_backend.check_dtype

    def check_dtype(dtype: Any, name: str) -> str | None:
        return None if name in ("int64", "uint64", "float64") else original(dtype, name)

    cle_backend.check_dtype = check_dtype  # type: ignore[attr-defined]


_KEPT: list[BaseException] = []


def _leaked_attempts() -> None:
    """Failed attempts' errors are kept (with their frames, and so their arrays)."""
    _recovery._drop_frames = _KEPT.append


#: name -> (what it breaks, how)
def _quick_writable_alias() -> None:
    """Dispatch's quick torch share forgets numpy's WRITEABLE flag."""
    quick = importlib.import_module("arrayport.backends._torch_quick")
    quick._ALIGNED_WRITEABLE = 0x0100  # ALIGNED only


def _torch_copy_short() -> None:
    """torch's multi-threaded host copy leaves the last row of large arrays at zero."""
    torch_copy = importlib.import_module("arrayport.backends._torch_copy")
    original = torch_copy.parallel_copy

    def parallel_copy(torch: Any, view: np.ndarray) -> Any:
        out = original(torch, view)
        if out is not None and out.ndim:
            out[-1] = 0
        return out

    torch_copy.parallel_copy = parallel_copy
    get_backend("torch").parallel_copy = parallel_copy  # type: ignore[attr-defined]


MUTATIONS: dict[str, tuple[str, Callable[[], None]]] = {
    "wrong-value": ("a wrong value in one route (tensorflow host adoption)", _wrong_value),
    "lying-zero-copy": ("host-copy routes report zero_copy=True", _lying_zero_copy),
    "wrapping-cast": ("integer VALUE conversion without clipping (wraps)", _wrapping_cast),
    "retried-non-oom": ("ValueError recognised as out-of-memory (retried)", _retried_non_oom),
    "writable-alias": ("torch wraps read-only numpy memory (a writable alias)", _writable_alias),
    "silent-downcast": (
        "pyclesperanto accepts 64-bit dtypes (stores them as 32-bit)",
        _silent_downcast,
    ),
    "leaked-attempts": ("failed OOM attempts' errors and frames are kept alive", _leaked_attempts),
    "quick-writable-alias": (
        "dispatch's quick torch share wraps read-only numpy memory",
        _quick_writable_alias,
    ),
    "torch-copy-short": (
        "torch's multi-threaded host copy misses the last row of large arrays",
        _torch_copy_short,
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    name = os.environ.get("ARRAYPORT_MUTATION", "")
    if not name:
        return
    if name not in MUTATIONS:
        msg = f"ARRAYPORT_MUTATION={name!r}: use one of {', '.join(MUTATIONS)}"
        raise pytest.UsageError(msg)
    MUTATIONS[name][1]()
    assert ap  # arrayport was imported (and patched) before any test module
