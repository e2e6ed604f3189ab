"""tensorflow's memory figures, for :func:`arrayport.memory_report` (``memory_info``).

Importing this module imports no framework: tensorflow is reached through the backend's
``load()`` (imported when asked, as the backend imports this module).

Quirks routed around here:

* Asking tensorflow for memory (``tf.config.experimental.get_memory_info``), or for its
  logical devices, starts its runtime: on a GPU that maps nearly all of its memory, and
  afterwards ``tf.config.set_visible_devices``, ``set_memory_growth`` and the threading
  settings raise. A report is not a reason to start it: until tensorflow has started,
  the report's row says so and asks nothing (ADR 0079). tensorflow has no public call
  that tells whether it has started; its context's private state is read, and where a
  version lacks it nothing is asked.
* The CPU figure is tensorflow's CPU allocator's: tensors over memory it did not allocate
  (imported from numpy by DLPack, as arrayport's conversions make them) are not counted.
  The row's note says so, rather than offering the figure as everything held.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

__all__ = ["CPU_NOTE", "memory_info"]

#: The note of the CPU row whose ``in_use`` tensorflow's allocator gives.
CPU_NOTE = (
    "in use: tensorflow's CPU allocator only; tensors over memory it did not allocate "
    "(imported from numpy, as arrayport's conversions make them) are not counted"
)
_NOT_STARTED = (
    "tensorflow has not started its runtime (no tensor made yet): nothing of tensorflow's "
    "is allocated. Not started here, as that takes most of a GPU's memory and fixes its "
    "settings (tf.config); make a tensor first for figures"
)
_CANNOT_TELL = (
    "not asked: this tensorflow version does not tell (its eager context's _initialized "
    "is gone) whether its runtime has started, and asking would start it; "
    "tf.config.experimental.get_memory_info('GPU:0') gives the figures"
)


def _backend() -> Any:
    # Imported here, not at the top: the backend imports this module.
    from arrayport.backends import tensorflow

    return tensorflow


def memory_info() -> list[dict[str, Any]]:
    """The CPU, then each GPU, once tensorflow's runtime has started."""
    backend = _backend()
    tf = backend.load()
    why = _not_started()
    if why:
        return [{"device": "-", "in_use": None, "cached": None, "free": None, "note": why}]
    in_use = _cpu_in_use(tf)
    cpu = {"device": "cpu", "in_use": in_use, "cached": None, "free": None}
    if in_use is not None:
        cpu["note"] = CPU_NOTE
    rows: list[dict[str, Any]] = [cpu]
    for i in range(len(backend.devices()) - 1):
        info = tf.config.experimental.get_memory_info(f"GPU:{i}")
        rows.append(
            {"device": f"cuda:{i}", "in_use": int(info["current"]), "cached": None, "free": None}
        )
    return rows


def _not_started() -> str:
    """Why tensorflow is not asked for figures (a row's note); empty once it has started.

    Its eager context is made, empty, at import; ``ensure_initialized`` starts the runtime
    and sets ``_initialized``. Both are private: where either is missing nothing is asked.
    """
    context = sys.modules.get("tensorflow.python.eager.context")
    current = getattr(context, "context_safe", None)
    if current is None:
        return _CANNOT_TELL
    ctx = current()
    if ctx is None:  # no context made at all: nothing started
        return _NOT_STARTED
    started = getattr(ctx, "_initialized", None)
    if not isinstance(started, bool):
        return _CANNOT_TELL
    return "" if started else _NOT_STARTED


def _cpu_in_use(tf: ModuleType) -> int | None:
    """Bytes of tensors on the CPU, where tensorflow's CPU allocator tracks them (it says
    ValueError "not tracked" where it does not)."""
    try:
        return int(tf.config.experimental.get_memory_info("CPU:0")["current"])
    except ValueError:
        return None
