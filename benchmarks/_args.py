"""Command-line values the benchmarks share: counts that must be positive (a run that
times nothing must not print targets as met)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """``text`` as an int of at least 1, else argparse's usage error naming it."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
