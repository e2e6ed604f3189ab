"""Set-up of the conformance suite: hypothesis profiles and memory-type parameters.

arrayport is imported first on purpose (its import guard loads PoCL before anything can
import tensorflow; tensorflow then pyclesperanto kills the process on PoCL). The pytest
plugin has already imported it; this import documents the rule.

Hypothesis profiles, chosen by ``ARRAYPORT_HYPOTHESIS_PROFILE``:

``ci`` (default)
    Few examples per parametrized test (per memory type, or per ordered pair of them),
    derandomized (every run draws the same examples, so CI is reproducible), no deadline
    (first calls into a framework compile).
``thorough``
    Many more examples, random: run it before a release or after touching convert.py,
    dtypes.py or oom.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import arrayport  # noqa: F401  (must precede any framework import)
from arrayport.memory_types import MemoryType
from arrayport.testing.plugin import selected_memory_types, unusable_reason

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_OK,
)
PROFILE = os.environ.get("ARRAYPORT_HYPOTHESIS_PROFILE", "ci").strip() or "ci"
if PROFILE not in ("ci", "thorough"):
    msg = f"ARRAYPORT_HYPOTHESIS_PROFILE={PROFILE!r}: use 'ci' or 'thorough'"
    raise pytest.UsageError(msg)
settings.load_profile(PROFILE)


def scaled(fraction: float) -> settings:
    """The active profile with ``fraction`` of its examples (at least 3).

    For laws whose every example is expensive (an out-of-memory release runs a garbage
    collection, 0.2-1 s with every framework loaded).
    """
    return settings(max_examples=max(3, int(settings().max_examples * fraction)))


def _param(*mts: MemoryType) -> object:
    reasons = [r for r in (unusable_reason(mt) for mt in mts) if r is not None]
    marks = [pytest.mark.skip(reason=reasons[0])] if reasons else []
    return pytest.param(*mts, id="-".join(mt.value for mt in mts), marks=marks)


#: Memory types under test, one pytest param each (skipped where unusable here).
MEMORY_TYPES = [_param(mt) for mt in selected_memory_types()]
#: Ordered (source, target) pairs, identity pairs included.
PAIRS = [_param(a, b) for a in selected_memory_types() for b in selected_memory_types()]


def law(name: str, description: str | None = None) -> pytest.MarkDecorator:
    """Mark a test as checking conformance law ``name`` (a row of the report)."""
    return pytest.mark.arrayport_law(name, description=description)


#: Laws that fail because of a real bug elsewhere: (law, test id) -> the bug. The law's test
#: for that memory type becomes a *non-strict* xfail: hypothesis draws differ with the set of
#: modules loaded (it mines their constants), so whether a run reaches the bug depends on
#: which tests ran. Each bug also has a deterministic regression test next to its law
#: (``test_bug_*``), xfailed with ``strict=True``: when the bug is fixed that test XPASSes,
#: fails the suite, and both marks must go.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("arrayport_law")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None:
            continue
        reason = KNOWN_BUGS.get((str(marker.args[0]), callspec.id))
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=False, reason=reason))
