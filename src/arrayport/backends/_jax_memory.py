"""jax memory: recognising its out-of-memory errors, waiting for results, memory figures.

jax computes asynchronously: an error while computing, out-of-memory above all, surfaces
only when a result is waited for, so :func:`settle` waits for a dispatched function's jax
results inside the OOM policy (ADR 0059). jax is not imported here: the backend's ``load``
is asked for it, only when an error is examined.
"""

from __future__ import annotations

import gc
import sys
from types import ModuleType
from typing import Any

from arrayport.backends._jax_devices import deleted_error, from_jax_device, jax_devices
from arrayport.backends._util import message_has
from arrayport.devices import Device

__all__ = ["is_oom", "memory_info", "oom_error_types", "release_memory", "settle"]


def _jax() -> ModuleType:
    # Imported here, not at the top: the backend imports this module.
    from arrayport.backends.jax import load

    return load()


def oom_error_types() -> tuple[type[BaseException], ...]:
    return (_jax().errors.JaxRuntimeError,)


def is_oom(exc: BaseException) -> bool:
    # jax has one exception type for every XLA runtime failure; out-of-memory is the
    # status code RESOURCE_EXHAUSTED at the start of the message ("RESOURCE_EXHAUSTED: Out
    # of memory allocating 4398046511104 bytes.", eager and under jit alike), or, when an
    # eager operation's input failed to allocate, "INTERNAL: Error dispatching
    # computation: Out of memory allocating N bytes." (seen on the CPU under a memory
    # limit). Only at the start: a status code quoted further on is another failure's (a
    # host callback's own exception: "INTERNAL: CpuCallback error calling callback:
    # Traceback ... RuntimeError: RESOURCE_EXHAUSTED: ...").
    return isinstance(exc, _jax().errors.JaxRuntimeError) and (
        str(exc).startswith("RESOURCE_EXHAUSTED") or message_has(exc, "Out of memory allocating")
    )


def settle(value: Any) -> None:
    """Wait for the jax arrays in ``value`` (an array, or tuples, lists and dicts of them)
    to be computed. jax dispatches asynchronously: an error while computing, out-of-memory
    above all, surfaces only when the result is waited for (ADR 0059)."""
    if type(value).__name__ == "ArrayImpl":  # a concrete jax array (tracers have no data)
        try:  # inline, not a call: this runs on every dispatched jax result
            value.block_until_ready()
        except RuntimeError as exc:
            _refuse_if_deleted(value, exc)
            raise
    elif isinstance(value, (tuple, list, dict)):
        # Walked here, not by jax.block_until_ready: that flattens the result as a pytree,
        # which sorts dict keys (enum keys, or 0 and "a", raise) and calls
        # block_until_ready on any object that has one.
        pending: list[Any] = [value]
        seen: set[int] = set()
        while pending:
            item = pending.pop()
            if type(item).__name__ == "ArrayImpl":
                try:
                    item.block_until_ready()
                except RuntimeError as exc:
                    _refuse_if_deleted(item, exc)
                    raise
            elif isinstance(item, (tuple, list, dict)) and id(item) not in seen:
                seen.add(id(item))
                pending.extend(item.values() if isinstance(item, dict) else item)


def _refuse_if_deleted(x: Any, exc: RuntimeError) -> None:
    """Waiting for ``x`` failed: a deleted array handed back by the function (a jax-declared
    identity given one) is named, as everywhere else, instead of jax's "Array has been
    deleted"; any other failure (out-of-memory above all) is left to the caller."""
    if x.is_deleted():
        raise deleted_error() from exc


def release_memory(device: Device | None = None) -> None:
    """Drop unreachable arrays so XLA can reuse their buffers.

    jax frees a buffer as soon as its last Python reference goes; arrayport keeps no jax
    buffers of its own alive between calls, so a garbage collection is what is left to do.
    ``jax.clear_caches()`` is not called: it frees only compiled code and costs recompiles.
    """
    gc.collect()


def memory_info() -> list[dict[str, Any]]:
    """The CPU (no figures) and each GPU, once jax has started its devices (ADR 0079)."""
    why = _not_started()
    if why:
        return [{"device": "-", "in_use": None, "cached": None, "free": None, "note": why}]
    rows: list[dict[str, Any]] = []
    for d in jax_devices("cuda"):
        stats = d.memory_stats() or {}
        in_use = stats.get("bytes_in_use")
        limit = stats.get("bytes_limit")
        free = None if in_use is None or limit is None else int(limit) - int(in_use)
        # Named by CUDA ordinal, as arrays on it are (not by its place in jax's list).
        device = str(from_jax_device(d))
        rows.append({"device": device, "in_use": in_use, "cached": None, "free": free})
    rows.insert(0, {"device": "cpu", "in_use": None, "cached": None, "free": None})
    return rows


_NOT_STARTED = (
    "jax has not started its devices (no jax array made yet): nothing of jax's is "
    "allocated. Not started here, as that takes most of a GPU's memory; make a jax array "
    "(or call jax.devices()) first for figures"
)
_CANNOT_TELL = (
    "not asked: this jax version does not tell (jax._src.xla_bridge."
    "backends_are_initialized is gone) whether its devices are started, and asking them "
    "would start them; jax.devices()[i].memory_stats() gives the figures"
)


def _not_started() -> str:
    """Why jax is not asked for figures (a row's note); empty once it has started.

    jax has no public call that tells without starting them (``jax.devices()`` and
    ``jax.extend.backend.backends()`` start them): its private ``backends_are_initialized``
    is read, and where a jax version lacks it nothing is asked (ADR 0079).
    """
    bridge = sys.modules.get("jax._src.xla_bridge")
    check = getattr(bridge, "backends_are_initialized", None)
    if check is None:
        return _CANNOT_TELL
    return "" if check() else _NOT_STARTED
