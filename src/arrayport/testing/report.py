"""The laws x memory types report: what passed where, as Markdown and as an HTML grid.

:class:`LawReport` collects one :class:`LawOutcome` per test and renders a table whose rows
are laws (from the ``arrayport_law`` marker) and whose columns are memory types (from the
test's parameters). A test that involves two memory types (a conversion from A to B)
counts in both columns. The pytest plugin fills it in and writes it for
``--arrayport-report PATH``.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ANY", "LawOutcome", "LawReport", "cell_status", "environment", "hypothesis_profile"]

#: The column of tests that involve no particular memory type.
ANY = "(any)"

# Worst first: a cell shows the worst outcome among its tests.
_RANK = ("failed", "error", "xpassed", "xfailed", "passed", "skipped")
_SYMBOL = {
    "failed": "FAIL",
    "error": "ERROR",
    "xpassed": "XPASS",
    "xfailed": "known bug",
    "passed": "pass",
    "skipped": "skipped",
}
_COLOUR = {
    "failed": "#e57373",
    "error": "#e57373",
    "xpassed": "#ffb74d",
    "xfailed": "#ffe082",
    "passed": "#81c784",
    "skipped": "#e0e0e0",
    "n/a": "#fafafa",
}
_MEMORY_TYPE_ORDER = ("numpy", "cupy", "torch", "jax", "tensorflow", "pyclesperanto", "dask")


@dataclasses.dataclass(frozen=True)
class LawOutcome:
    """The outcome of one test of one law.

    Attributes
    ----------
    law : str
        The law's id, e.g. ``"conversion.round_trip"``.
    description : str
        One line saying what the law asserts.
    memory_types : tuple of str
        The memory types the test involves (``(ANY,)`` when none).
    outcome : str
        ``"passed"``, ``"failed"``, ``"error"``, ``"skipped"``, ``"xfailed"`` or ``"xpassed"``.
    nodeid : str
        The pytest node id.
    message : str
        For anything but a pass: the failure's last line, the skip or xfail reason.
    """

    law: str
    description: str
    memory_types: tuple[str, ...]
    outcome: str
    nodeid: str
    message: str = ""


def cell_status(outcomes: Iterable[str]) -> str:
    """The status of a cell: its worst outcome, ``"n/a"`` when it has none."""
    found = set(outcomes)
    for status in _RANK:
        if status in found:
            return status
    return "n/a"


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: a ``|`` would end the cell and a line
    break the row, so pipes are escaped and line breaks become spaces."""
    return " ".join(text.replace("|", "\\|").splitlines())


def _order(mt: str) -> tuple[int, str]:
    if mt in _MEMORY_TYPE_ORDER:
        return (_MEMORY_TYPE_ORDER.index(mt), mt)
    return (len(_MEMORY_TYPE_ORDER) + (1 if mt == ANY else 0), mt)


@dataclasses.dataclass
class LawReport:
    """Outcomes of laws by memory type, renderable as Markdown or HTML."""

    outcomes: list[LawOutcome] = dataclasses.field(default_factory=list)
    environment: dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, outcome: LawOutcome) -> None:
        """Record one test's outcome."""
        self.outcomes.append(outcome)

    def laws(self) -> list[tuple[str, str]]:
        """``(law, description)`` pairs, sorted by law id."""
        seen: dict[str, str] = {}
        for o in self.outcomes:
            seen.setdefault(o.law, o.description)
        return sorted(seen.items())

    def memory_types(self) -> list[str]:
        """The columns: every memory type any test involved, in a fixed order."""
        return sorted({m for o in self.outcomes for m in o.memory_types}, key=_order)

    def cell(self, law: str, memory_type: str) -> list[LawOutcome]:
        """The outcomes of ``law``'s tests that involve ``memory_type``."""
        return [o for o in self.outcomes if o.law == law and memory_type in o.memory_types]

    def _cell_text(self, law: str, mt: str) -> tuple[str, str]:
        found = self.cell(law, mt)
        status = cell_status(o.outcome for o in found)
        if status == "n/a":
            return status, "-"
        ran = [o for o in found if o.outcome != "skipped"]
        good = sum(o.outcome == "passed" for o in found)
        if status in ("passed", "skipped"):
            return status, f"{_SYMBOL[status]} {good}/{len(ran)}" if ran else _SYMBOL[status]
        return status, f"{_SYMBOL[status]} {good}/{len(ran)}"

    def totals(self) -> dict[str, int]:
        """How many tests ended in each outcome."""
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.outcome] = counts.get(o.outcome, 0) + 1
        return counts

    def _problems(self) -> list[LawOutcome]:
        return [o for o in self.outcomes if o.outcome in ("failed", "error", "xpassed", "xfailed")]

    def to_markdown(self) -> str:
        """The report as a Markdown document."""
        mts = self.memory_types()
        lines = ["# arrayport conformance report", ""]
        lines += [f"- {k}: {v}" for k, v in self.environment.items()]
        totals = ", ".join(f"{n} {k}" for k, n in sorted(self.totals().items()))
        lines += [f"- tests: {totals or 'none'}", ""]
        lines.append("| law | " + " | ".join(_cell(mt) for mt in mts) + " |")
        lines.append("|---|" + "---|" * len(mts))
        for law, description in self.laws():
            cells = [self._cell_text(law, mt)[1] for mt in mts]
            row = f"| **{_cell(law)}**<br>{_cell(description)} | "
            lines.append(row + " | ".join(cells) + " |")
        lines += [
            "",
            "Cells: passing tests / tests run; `known bug` is an xfail naming the bug "
            "(its deterministic regression test is the strict one); `-` means the law has "
            "no test for that memory type.",
            "",
        ]
        problems = self._problems()
        if problems:
            lines += ["## Failures and known bugs", ""]
            for o in problems:
                text = o.message.replace("\n", " ")[:300]
                lines.append(f"- **{o.outcome}** `{o.nodeid}`: {text}")
            lines.append("")
        return "\n".join(lines)

    def to_html(self) -> str:
        """The report as a self-contained HTML page with a coloured grid."""
        esc = html.escape
        mts = self.memory_types()
        rows = []
        for law, description in self.laws():
            cells = []
            for mt in mts:
                status, text = self._cell_text(law, mt)
                tip = "; ".join(
                    f"{o.outcome}: {o.nodeid}" for o in self.cell(law, mt) if o.outcome != "passed"
                )[:1000]
                cells.append(
                    f'<td class="{esc(status)}" style="background:{_COLOUR[status]}" '
                    f'title="{esc(tip)}">{esc(text)}</td>'
                )
            rows.append(
                f'<tr><th scope="row"><code>{esc(law)}</code><br>'
                f'<span class="d">{esc(description)}</span></th>{"".join(cells)}</tr>'
            )
        env = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in self.environment.items())
        totals = ", ".join(f"{n} {esc(k)}" for k, n in sorted(self.totals().items()))
        legend = "".join(
            f'<span style="background:{_COLOUR[s]}">{esc(s)}</span> ' for s in (*_RANK, "n/a")
        )
        problems = "".join(
            f"<li><b>{esc(o.outcome)}</b> <code>{esc(o.nodeid)}</code><pre>"
            f"{esc(o.message[:2000])}</pre></li>"
            for o in self._problems()
        )
        head = "".join(f'<th scope="col">{esc(mt)}</th>' for mt in mts)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>arrayport conformance report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #bbb; padding: .35em .6em; text-align: center; }}
th[scope=row] {{ text-align: left; font-weight: normal; }}
.d {{ color: #555; font-size: .85em; }}
.legend span {{ padding: .2em .5em; margin-right: .3em; border: 1px solid #bbb; }}
pre {{ white-space: pre-wrap; font-size: .8em; }}
</style></head><body>
<h1>arrayport conformance report</h1>
<ul>{env}<li>tests: {totals or "none"}</li></ul>
<p class="legend">{legend}</p>
<table><thead><tr><th>law</th>{head}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<p>Cells: passing tests / tests run; hover a cell for the tests that did not pass.</p>
{"<h2>Failures and known bugs</h2><ul>" + problems + "</ul>" if problems else ""}
</body></html>
"""

    def write(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write the Markdown report and the HTML page, one beside the other.

        ``report.md`` (any suffix but ``.html``) gets the Markdown and ``report.html`` the
        page; ``report.html`` gets the page and ``report.md`` the Markdown.

        Returns
        -------
        tuple of Path
            The Markdown and HTML files written.
        """
        given = Path(path)
        if given.suffix.lower() == ".html":
            md, page = given.with_suffix(".md"), given
        else:
            md, page = given, given.with_suffix(".html")
        given.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(self.to_markdown(), encoding="utf-8")
        page.write_text(self.to_html(), encoding="utf-8")
        return md, page


def hypothesis_profile() -> str:
    """The hypothesis settings profile in effect now, with the settings that decide what a
    run draws: ``ci (max_examples=25, derandomize=True, deadline=None)``; ``n/a`` when
    hypothesis was not imported (no test used it). The profile hypothesis itself has
    loaded (by a ``conftest.py``, ``--hypothesis-profile``, or its ``default``), whatever
    ``ARRAYPORT_HYPOTHESIS_PROFILE`` says: only the conformance suite's conftest reads
    that."""
    module = sys.modules.get("hypothesis")
    if module is None:
        return "n/a (hypothesis was not imported)"
    current = module.settings()  # the loaded profile's values
    name_of = getattr(module.settings, "get_current_profile_name", None)  # hypothesis 6.123+
    name = name_of() if name_of is not None else module.settings._current_profile
    deadline = current.deadline
    shown = None if deadline is None else f"{deadline.total_seconds() * 1000:g} ms"
    return (
        f"{name} (max_examples={current.max_examples}, derandomize={current.derandomize}, "
        f"deadline={shown})"
    )


def environment() -> dict[str, str]:
    """What the report was run with: versions of loaded frameworks, the hypothesis profile
    in effect (:func:`hypothesis_profile`), device, date."""
    import arrayport

    env = {
        "arrayport": arrayport.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "hypothesis profile": hypothesis_profile(),
        "device": os.environ.get("ARRAYPORT_DEVICE", "cpu"),
    }
    for name in ("numpy", "torch", "jax", "tensorflow", "pyclesperanto", "cupy", "dask"):
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None)
        if version is not None:
            env[name] = str(version)
    return env
