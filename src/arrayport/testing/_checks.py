"""Checks of the testing kit's options that need neither pytest nor hypothesis:
:func:`arrayport.testing.assert_equivalent`'s, and the bool check
:func:`arrayport.testing.strategies.arrays`' flags share.

Apart from :mod:`arrayport.testing.assertions` so that module stays small. Every check
raises :class:`~arrayport.errors.InvalidOptionError` naming the call, the argument and the
value given, before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType

__all__ = ["check_bool", "check_tolerance", "memory_types_given"]


def check_bool(call: str, name: str, value: Any, takes: str = "True or False") -> None:
    """Refuse ``value`` unless it is a bool (a numpy bool counts as one): ``None``, ``"no"``
    or ``0`` would otherwise be read as a truth value and quietly turn a check off or on."""
    if not isinstance(value, (bool, np.bool_)):
        msg = f"{call}({name}={value!r}): {name} takes {takes}, not {type(value).__name__}"
        raise InvalidOptionError(msg)


def check_tolerance(name: str, value: Any) -> None:
    """Refuse an ``assert_equivalent`` tolerance that is not a real number >= 0 (NaN too)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not value >= 0:  # NaN fails too
        msg = f"assert_equivalent({name}={value!r}): tolerances must be numbers >= 0" + (
            " (or None for default_tolerance)" if name == "rtol" else ""
        )
        raise InvalidOptionError(msg)


def memory_types_given(memory_types: Any) -> list[Any]:
    """``assert_equivalent(memory_types=)`` (not ``None``) as a list of what it names, each
    still to be checked: one name or MemoryType is a list of one (not its letters); bytes
    and what is not iterable are refused, as :func:`arrayport.memory_report` refuses them,
    and so is an empty iterable (a check on nothing), as ``arrays(dtype=[])`` is."""
    if isinstance(memory_types, (str, MemoryType)):
        return [memory_types]
    if isinstance(memory_types, (bytes, bytearray)) or not isinstance(memory_types, Iterable):
        msg = (
            f"assert_equivalent(memory_types={memory_types!r}): pass a memory type name such "
            "as 'torch', a list of them, or None"
        )
        raise InvalidOptionError(msg)
    names = list(memory_types)
    if not names:
        msg = (
            f"assert_equivalent(memory_types={memory_types!r}): no memory type to check on; "
            "name at least one memory type, or pass None for those the memory_type fixture "
            "runs on"
        )
        raise InvalidOptionError(msg)
    return names
