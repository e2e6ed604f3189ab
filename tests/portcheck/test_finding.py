"""Tests of arrayport.portcheck._finding: one finding of port-check."""

from __future__ import annotations

from arrayport.portcheck import Finding
from arrayport.portcheck._checker import Finding as CheckerFinding
from arrayport.portcheck._finding import Finding as OwnFinding


def test_a_finding_orders_by_path_line_and_name_and_gives_its_json_dict() -> None:
    assert Finding is OwnFinding is CheckerFinding
    a = Finding("a.py", 3, "numpy.amax", "why", "xp.max")
    b = Finding("a.py", 3, ".astype", "why", None)
    c = Finding("a.py", 1, "numpy.pad", "why", None)
    assert sorted([a, b, c]) == [c, b, a]
    assert a.as_dict() == {
        "path": "a.py",
        "line": 3,
        "name": "numpy.amax",
        "message": "why",
        "replacement": "xp.max",
    }
    assert len({a, Finding("a.py", 3, "numpy.amax", "why", "xp.max")}) == 1
