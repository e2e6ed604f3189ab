"""arrayport's pytest plugin: a ``memory_type`` fixture and the conformance report.

Registered through the ``pytest11`` entry point, so it loads in every pytest run where
arrayport is installed. It therefore does little on its own: it imports arrayport (numpy
only, and before any test can import a framework: importing tensorflow before
pyclesperanto kills the process on PoCL), offers fixtures a project may use or override,
and writes a report only when asked. ``pytest -p no:arrayport`` turns it off.

Environment:

``ARRAYPORT_MEMORY_TYPES``
    Comma-separated memory types the ``memory_type`` fixture runs over (default: every
    installed one), read when tests are collected (a ``conftest.py`` may set it). A named
    type that is not installed shows up as skipped.
``ARRAYPORT_DEVICE``
    ``cpu`` (default) or ``cuda``: with ``cuda``, memory types that cannot hold data on
    a CUDA GPU (numpy, pyclesperanto, dask) are skipped, and so are frameworks that see
    no GPU.
"""

from __future__ import annotations

from typing import Any

import pytest

import arrayport  # noqa: F401  (first: before any test module imports a framework)
from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType, as_memory_type
from arrayport.testing._selection import device_kind, selected_memory_types, unusable_reason
from arrayport.testing.report import ANY, LawOutcome, LawReport, environment

__all__ = ["device_kind", "selected_memory_types", "unusable_reason"]

_PARAM_NAMES = ("memory_type", "source", "target")


def _params() -> list[Any]:
    """One parameter per selected memory type, read when tests are collected: a
    ``conftest.py`` may set ``ARRAYPORT_MEMORY_TYPES`` before."""
    try:
        device_kind()
        chosen = selected_memory_types()
    except InvalidOptionError as exc:  # set (wrongly) by a conftest.py after pytest_configure
        raise pytest.UsageError(str(exc)) from exc
    return [pytest.param(mt, id=mt.value) for mt in chosen]


@pytest.fixture(scope="session")
def _arrayport_memory_type_fixture() -> None:
    """Requested by the plugin's ``memory_type`` fixture only: its presence among a test's
    fixtures says that the plugin's ``memory_type`` (not a project's own) is in use."""


# Session scope: the value is an immutable enum member, and hypothesis' @given tests
# refuse function-scoped fixtures (their value would be shared by every example). Its
# parameters are given in pytest_generate_tests, when tests are collected, not here: a
# fixture's params are read when this module is imported, before any conftest.py runs.
@pytest.fixture(scope="session")
def memory_type(request: pytest.FixtureRequest, _arrayport_memory_type_fixture: None) -> MemoryType:
    """Each selected memory type in turn (skipped where it cannot run here).

    A project's own ``memory_type`` fixture takes precedence over this one.
    """
    if not hasattr(request, "param"):  # not among the test's arguments when collected
        msg = (
            "the memory_type fixture is parametrized when tests are collected: name it "
            "among the test's arguments (or a fixture's), not in request.getfixturevalue"
        )
        raise pytest.UsageError(msg)
    mt = as_memory_type(request.param)  # a test's own indirect parameter may be a name
    reason = unusable_reason(mt)
    if reason is not None:
        pytest.skip(reason)
    return mt


def _parametrized_by_the_test(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the plugin's ``memory_type`` fixture over the selected memory types, as
    ``ARRAYPORT_MEMORY_TYPES`` says when the test is collected (ids: their names)."""
    if "_arrayport_memory_type_fixture" not in metafunc.fixturenames:
        return  # the test does not use the plugin's memory_type (a project's own, or none)
    if _parametrized_by_the_test(metafunc, "memory_type"):
        return  # the test's own parametrize mark takes precedence, as for any fixture
    metafunc.parametrize("memory_type", _params(), indirect=True, scope="session")


@pytest.fixture(scope="session")
def arrayport_device() -> str:
    """``"cpu"`` or ``"cuda"``, from ``ARRAYPORT_DEVICE``."""
    return device_kind()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("arrayport")
    group.addoption(
        "--arrayport-report",
        metavar="PATH",
        default=None,
        help="write a laws x memory types table to PATH (Markdown) and PATH with an "
        ".html suffix (a coloured grid); a PATH ending in .html gets the grid, and the "
        "Markdown goes beside it with a .md suffix",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "arrayport_law(name, description=None): the conformance law a test checks (a row "
        "of the --arrayport-report table)",
    )
    try:
        device_kind()
        selected_memory_types()
    except InvalidOptionError as exc:
        raise pytest.UsageError(str(exc)) from exc
    path = config.getoption("arrayport_report", default=None)
    if path:
        if config.getoption("numprocesses", default=None) or hasattr(config, "workerinput"):
            # Each xdist process sees only part of the run, and the controller, which
            # writes last, collects nothing: the report would be empty.
            msg = "--arrayport-report needs a run without pytest-xdist's -n"
            raise pytest.UsageError(msg)
        config.pluginmanager.register(_ReportCollector(str(path)), "arrayport-report")


def _memory_types_of(item: pytest.Item) -> tuple[str, ...]:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return (ANY,)
    found: list[str] = []
    for key, value in callspec.params.items():
        if isinstance(value, MemoryType) or (key in _PARAM_NAMES and isinstance(value, str)):
            try:
                name = as_memory_type(value).value
            except InvalidOptionError:
                continue
            if name not in found:
                found.append(name)
    return tuple(found) or (ANY,)


def _law_name(marker: pytest.Mark) -> str | None:
    """The law an ``arrayport_law`` marker names (first argument or ``name=``), if any."""
    name = marker.args[0] if marker.args else marker.kwargs.get("name")
    return None if name is None or str(name) == "" else str(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse an ``arrayport_law`` marker that names no law, report or not: the marker's
    signature is ``arrayport_law(name, description=None)``, and a law's row gathers its
    tests across memory types under that name."""
    nameless: list[str] = []
    for item in items:
        marker = item.get_closest_marker("arrayport_law")
        if marker is not None and _law_name(marker) is None:
            nameless.append(item.nodeid)
    if nameless:
        more = f" and {len(nameless) - 3} more" if len(nameless) > 3 else ""
        msg = (
            f"@pytest.mark.arrayport_law on {', '.join(nameless[:3])}{more} names no law: "
            'give the law\'s name first, arrayport_law("name", description=None)'
        )
        raise pytest.UsageError(msg)


def _law_of(item: pytest.Item) -> tuple[str, str] | None:
    marker = item.get_closest_marker("arrayport_law")
    function = getattr(item, "function", None)
    doc = (getattr(function, "__doc__", None) or "").strip().splitlines()
    description = doc[0] if doc else ""
    if marker is not None:
        name = _law_name(marker) or item.name  # nameless: refused when collected
        description = str(
            marker.kwargs.get("description")
            or (marker.args[1] if len(marker.args) > 1 else description)
        )
        return name, description
    if _memory_types_of(item) != (ANY,):
        return getattr(function, "__name__", item.name), description
    return None


class _ReportCollector:
    """Collects one outcome per test and writes the report at the end of the session."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.collection_errors: dict[str, str] = {}
        self.written: tuple[Any, ...] = ()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            law = _law_of(item)
            if law is not None:
                self.items[item.nodeid] = (law[0], law[1], _memory_types_of(item))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A law module that fails to import has no items: without this, its laws would
        # leave no trace in the report.
        if report.failed:
            self.collection_errors[report.nodeid or "(session)"] = _message(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.items:
            return
        xfail = hasattr(report, "wasxfail")
        outcome: str | None = None
        if report.when == "call":
            if report.passed:
                outcome = "xpassed" if xfail else "passed"
            elif report.failed:
                outcome = "failed"
            else:
                outcome = "xfailed" if xfail else "skipped"
        elif report.failed:
            outcome = "error"
        elif report.skipped:
            outcome = "xfailed" if xfail else "skipped"
        if outcome is None:
            return
        previous = self.outcomes.get(report.nodeid)
        if previous is not None and previous[0] in ("failed", "error"):
            return  # a teardown after a failed call does not hide the failure
        self.outcomes[report.nodeid] = (outcome, _message(report))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        report = LawReport(environment=environment())
        for nodeid, (law, description, mts) in self.items.items():
            outcome, message = self.outcomes.get(nodeid, ("skipped", "not run"))
            report.add(LawOutcome(law, description, mts, outcome, nodeid, message))
        for nodeid, message in self.collection_errors.items():
            law = f"(collection) {nodeid}"
            report.add(LawOutcome(law, "failed to collect", (ANY,), "error", nodeid, message))
        self.written = report.write(self.path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written:
            names = " and ".join(str(p) for p in self.written)
            terminalreporter.write_line(f"arrayport report written to {names}")


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    if hasattr(report, "wasxfail"):  # xfailed (skipped) or xpassed (passed): the reason
        return str(report.wasxfail)
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    if report.passed:
        return ""
    text = report.longreprtext.strip().splitlines()
    errors = [line for line in text if line.startswith("E ")]
    return "\n".join(errors[:20]) if errors else "\n".join(text[-5:])
