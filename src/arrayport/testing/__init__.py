"""Helpers for users' tests: strategies, assertions, OOM injection and a pytest plugin.

* :func:`arrays` - a hypothesis strategy for arrays of any memory type, dtype, shape and
  layout (needs hypothesis); :func:`dtypes_for` and :func:`shapes_for` - the dtypes and
  shapes a memory type holds (pyclesperanto: 1- to 3-D, no empty axis).
* :func:`assert_equivalent` - run a function on every memory type and compare with numpy.
* :func:`as_numpy`, :func:`memory_bounds`, :func:`shares_memory` - read an array's values
  and memory through its framework's own calls, independently of arrayport's conversions.
* :func:`inject_oom` - make the next dispatched calls on a memory type raise that
  framework's real out-of-memory error.
* The pytest plugin (loaded automatically): a ``memory_type`` fixture over installed
  memory types, narrowed by ``ARRAYPORT_MEMORY_TYPES`` and ``ARRAYPORT_DEVICE``, and
  ``--arrayport-report PATH``.

Importing this package imports neither hypothesis nor any framework: the strategies are
loaded the first time one is used, so the pytest plugin costs projects without
hypothesis nothing.

Examples
--------
>>> import numpy as np
>>> from arrayport.testing import assert_equivalent
>>> assert_equivalent(np.negative, np.arange(3.0), memory_types=["numpy"])
('numpy',)
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from arrayport.testing._memory_readers import as_numpy, memory_bounds, shares_memory
from arrayport.testing._oom import inject_oom
from arrayport.testing.assertions import ARRAY_API_STRICT, assert_equivalent, default_tolerance

if TYPE_CHECKING:
    from arrayport.testing.strategies import ALL_DTYPES, LAYOUTS, arrays, dtypes_for, shapes_for

__all__ = [
    "ALL_DTYPES",
    "ARRAY_API_STRICT",
    "LAYOUTS",
    "arrays",
    "as_numpy",
    "assert_equivalent",
    "default_tolerance",
    "dtypes_for",
    "inject_oom",
    "memory_bounds",
    "shapes_for",
    "shares_memory",
]
_STRATEGIES = ("ALL_DTYPES", "LAYOUTS", "arrays", "dtypes_for", "shapes_for")
if importlib.util.find_spec("hypothesis") is None:  # star imports then skip the strategies
    __all__ = [n for n in __all__ if n not in _STRATEGIES]

# Loaded on first use: the strategies need hypothesis, which projects may not have.
_LAZY = dict.fromkeys(_STRATEGIES, "arrayport.testing.strategies")


# Hidden from type checkers, which read a module __getattr__ as "any name exists": a typo
# in `from arrayport.testing import ...` would pass; they see the imports above instead.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            msg = f"module 'arrayport.testing' has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
