"""Tests of what ``arrayport doctor`` gathers, on every installed memory type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arrayport._doctor import diagnose
from tests.conftest import INSTALLED


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return diagnose()


def test_every_installed_memory_type_is_listed_and_loads(report: dict[str, Any]) -> None:
    assert [m["name"] for m in report["memory_types"]] == [mt.value for mt in INSTALLED]
    for m in report["memory_types"]:
        assert m["error"] is None, m
        assert m["version"]
        assert m["devices"]
    assert report["ok"] is True


def test_the_memory_types_not_installed_are_named_with_their_install_command(
    report: dict[str, Any],
) -> None:
    from arrayport import MemoryType

    missing = [mt.value for mt in MemoryType if mt not in INSTALLED]
    assert [m["name"] for m in report["not_installed"]] == missing
    for m in report["not_installed"]:
        assert m["install"].startswith("pip install 'arrayport[")


def test_matrix_has_every_ordered_pair_with_a_route(report: dict[str, Any]) -> None:
    pairs = [(c["source"], c["target"]) for c in report["matrix"]]
    names = [mt.value for mt in INSTALLED]
    assert pairs == [(s, t) for s in names for t in names]
    for c in report["matrix"]:
        assert c["error"] is None, c
        assert isinstance(c["zero_copy"], bool)
        if c["source"] == c["target"]:
            assert (c["method"], c["zero_copy"]) == ("identity", True)


def test_known_routes(report: dict[str, Any]) -> None:
    cells = {(c["source"], c["target"]): c for c in report["matrix"]}
    if ("numpy", "torch") in cells:
        assert cells["numpy", "torch"]["zero_copy"] is True
    if ("pyclesperanto", "numpy") in cells:  # OpenCL buffers never share host memory
        assert cells["pyclesperanto", "numpy"]["zero_copy"] is False


def test_report_is_json_serialisable(report: dict[str, Any]) -> None:
    again = json.loads(json.dumps(report))
    assert again["matrix"] == report["matrix"]
    if report["memory"] is not None:
        assert {"device"} <= set(report["memory"][0])
