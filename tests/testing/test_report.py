"""Tests of arrayport.testing.report: the laws x memory types table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arrayport.testing.report import (
    ANY,
    LawOutcome,
    LawReport,
    cell_status,
    environment,
    hypothesis_profile,
)


def _report() -> LawReport:
    r = LawReport(environment={"numpy": "2.x"})
    r.add(
        LawOutcome(
            "conversion.round_trip", "A->B->A", ("numpy", "torch"), "passed", "t::a[numpy-torch]"
        )
    )
    r.add(
        LawOutcome(
            "conversion.round_trip",
            "A->B->A",
            ("torch", "jax"),
            "failed",
            "t::a[torch-jax]",
            "E   AssertionError: values <differ>",
        )
    )
    r.add(
        LawOutcome("dtypes.value", "VALUE keeps values", ("jax",), "xfailed", "t::b[jax]", "bug #1")
    )
    r.add(
        LawOutcome(
            "dtypes.value", "VALUE keeps values", ("numpy",), "skipped", "t::b[numpy]", "n/a"
        )
    )
    r.add(LawOutcome("devices.strict", "keeps the device", (ANY,), "passed", "t::c"))
    return r


def test_cell_status_is_the_worst_outcome() -> None:
    assert cell_status(["passed", "failed", "xfailed"]) == "failed"
    assert cell_status(["passed", "xfailed"]) == "xfailed"
    assert cell_status(["passed", "skipped"]) == "passed"
    assert cell_status(["skipped"]) == "skipped"
    assert cell_status([]) == "n/a"


def test_pairs_count_in_both_columns() -> None:
    r = _report()
    assert [o.nodeid for o in r.cell("conversion.round_trip", "torch")] == [
        "t::a[numpy-torch]",
        "t::a[torch-jax]",
    ]
    assert r.memory_types() == ["numpy", "torch", "jax", ANY]
    assert [law for law, _ in r.laws()] == [
        "conversion.round_trip",
        "devices.strict",
        "dtypes.value",
    ]


def test_markdown_table() -> None:
    md = _report().to_markdown()
    assert "| law | numpy | torch | jax | (any) |" in md
    row = next(line for line in md.splitlines() if line.startswith("| **conversion.round_trip**"))
    assert row.split(" | ")[1:] == ["pass 1/1", "FAIL 1/2", "FAIL 0/1", "- |"]
    assert "known bug 0/1" in md
    assert "- **failed** `t::a[torch-jax]`" in md
    assert "- numpy: 2.x" in md


def test_html_grid_is_coloured_and_escaped() -> None:
    page = _report().to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert 'class="failed" style="background:#e57373"' in page
    assert 'class="passed" style="background:#81c784"' in page
    assert 'class="xfailed"' in page
    assert "&lt;differ&gt;" in page
    assert "<differ>" not in page


def test_write_makes_markdown_and_html(tmp_path: Path) -> None:
    md, page = _report().write(tmp_path / "sub" / "report.md")
    assert md.read_text(encoding="utf-8").startswith("# arrayport conformance report")
    assert page == tmp_path / "sub" / "report.html"
    assert "<table>" in page.read_text(encoding="utf-8")


def test_write_to_an_html_path_puts_the_page_there(tmp_path: Path) -> None:
    # The page goes where it was asked for, the Markdown beside it (not Markdown in a file
    # named .html and the page in .html.html).
    md, page = _report().write(tmp_path / "report.html")
    assert page == tmp_path / "report.html"
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert md == tmp_path / "report.md"
    assert md.read_text(encoding="utf-8").startswith("# arrayport conformance report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.md"]


def test_environment_names_versions() -> None:
    env = environment()
    assert {"arrayport", "python", "numpy", "hypothesis profile", "device"} <= set(env)


def test_markdown_cells_escape_pipes_and_line_breaks() -> None:
    # A '|' or a line break in a law's name or description split the row.
    r = LawReport()
    r.add(LawOutcome("abs|law", "abs(x) | x >= 0\nholds", ("numpy",), "passed", "t::a[numpy]"))
    md = r.to_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| **abs"))
    assert row == "| **abs\\|law**<br>abs(x) \\| x >= 0 holds | pass 1/1 |"
    header = md.splitlines().index("| law | numpy |")
    assert md.splitlines()[header + 2] == row  # the row right after the rule: not split


# --- from an audit of the testing kit (testing3, 2026-11-28) ---


@pytest.fixture
def _restored_profile() -> Iterator[None]:
    from hypothesis import settings

    before = settings._current_profile
    yield
    settings.load_profile(before or "default")


@pytest.mark.usefixtures("_restored_profile")
def test_the_report_names_the_hypothesis_profile_in_effect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It said ARRAYPORT_HYPOTHESIS_PROFILE's value (default "ci"), which only the
    # conformance suite's conftest reads: every other run reported "ci" whatever ran.
    from hypothesis import settings

    monkeypatch.setenv("ARRAYPORT_HYPOTHESIS_PROFILE", "thorough")
    # Every setting shown is given: a new profile inherits the loaded one's (CI's, say).
    settings.register_profile(
        "arrayport-test-report", max_examples=7, derandomize=True, deadline=200
    )
    settings.load_profile("arrayport-test-report")
    shown = "arrayport-test-report (max_examples=7, derandomize=True, deadline=200 ms)"
    assert hypothesis_profile() == shown
    assert environment()["hypothesis profile"] == shown
    settings.register_profile("arrayport-test-none", deadline=None)
    settings.load_profile("arrayport-test-none")
    assert hypothesis_profile().endswith(", deadline=None)")


def test_without_hypothesis_imported_the_profile_is_not_applicable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "hypothesis", raising=False)
    assert hypothesis_profile() == "n/a (hypothesis was not imported)"
