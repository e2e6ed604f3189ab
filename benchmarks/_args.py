"""What the benchmarks share: command-line values that must be positive (a run that times
nothing must not print targets as met), and result checks that ``python -O`` keeps.

The checks are explicit (:func:`require`), not ``assert`` statements: Python drops those
under ``-O`` or ``PYTHONOPTIMIZE``, and a wrong fast path would then be timed and read
well.
"""

from __future__ import annotations

import argparse


class CheckFailed(Exception):
    """A candidate's result is wrong: it must not be timed, and the run must fail."""


def require(ok: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``ok`` (kept under ``-O``)."""
    if not ok:
        raise CheckFailed(message)


def positive_int(text: str) -> int:
    """``text`` as an int of at least 1, else argparse's usage error naming it."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
