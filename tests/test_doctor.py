"""Tests of what ``arrayport doctor`` gathers, on every installed memory type."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import arrayport._doctor
from arrayport import MemoryType
from arrayport._doctor import describe_error, diagnose
from arrayport.backends import get_backend
from arrayport.errors import BackendUnavailableError
from tests.conftest import INSTALLED, python_c


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
    missing = [mt.value for mt in MemoryType if mt not in INSTALLED]
    named = [m["name"] for m in report["not_installed"] + report["not_usable"]]
    assert sorted(named) == sorted(missing)
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


def _run_with(
    tmp_path: Path, module: str, types: tuple[str, ...], argv: list[str]
) -> subprocess.CompletedProcess[str]:
    """``arrayport ARGV`` in a fresh process whose working directory is ``tmp_path`` (first
    on ``sys.path``, as for ``python -m``), with ``module`` (``arrayport._doctor`` or
    ``arrayport._bench``) seeing only ``types`` as installed (quick: nothing else loads)."""
    names = ", ".join(f"MemoryType({t!r})" for t in types)
    script = (
        "import sys, arrayport, importlib\n"
        "from arrayport import MemoryType\n"
        f"m = importlib.import_module({module!r})\n"
        f"m.installed_memory_types = lambda: ({names},)\n"
        "from arrayport.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def test_a_users_module_that_shadows_a_framework_is_reported_in_place(tmp_path: Path) -> None:
    # A one-line jax.py in the working directory: doctor died with an AttributeError
    # traceback, and --json printed nothing. What the module prints must not reach stdout.
    (tmp_path / "jax.py").write_text('print("my own jax.py")\n')
    done = _run_with(tmp_path, "arrayport._doctor", ("numpy", "jax"), ["doctor", "--json"])
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is False
    numpy_row, jax_row = data["memory_types"]
    assert numpy_row["error"] is None
    assert jax_row["error"].startswith("AttributeError: ")
    assert f"jax imported from {tmp_path / 'jax.py'}" in jax_row["error"]
    assert data["matrix"][0]["method"] == "identity"  # numpy -> numpy still planned
    assert [r["memory_type"] for r in data["memory"]] == ["numpy", "jax"]
    assert "AttributeError" in data["memory"][1]["note"]
    assert "my own jax.py" in done.stderr
    text = _run_with(tmp_path, "arrayport._doctor", ("numpy", "jax"), ["doctor"])
    assert text.returncode == 1
    assert "Traceback" not in text.stderr
    assert "BROKEN" in text.stdout


def test_a_framework_that_fails_to_import_names_where_it_came_from(tmp_path: Path) -> None:
    # A torch package on the path whose import fails (a missing shared library).
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text('raise ImportError("libc10.so: missing")\n')
    done = _run_with(tmp_path, "arrayport._doctor", ("numpy", "torch"), ["doctor", "--json"])
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)["memory_types"][1]["error"]
    assert "libc10.so: missing" in error
    assert f"torch imported from {tmp_path / 'torch' / '__init__.py'}" in error


def test_an_error_raised_in_another_frameworks_shadowing_module_names_that_file(
    tmp_path: Path,
) -> None:
    # tensorflow imports jax: a user's jax.py that raises broke tensorflow's row too, which
    # blamed tensorflow ("upgrade or reinstall tensorflow") and named no file (audit a22).
    (tmp_path / "jax.py").write_text('raise RuntimeError("boom from my jax")\n')
    script = (
        "from arrayport import MemoryType\n"
        "from arrayport._doctor import describe_error\n"
        "try:\n"
        "    import jax\n"
        "except RuntimeError as exc:\n"
        "    print(describe_error(MemoryType.TORCH, exc))\n"
        "    print(describe_error(MemoryType.JAX, exc))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,  # first on sys.path: its jax.py shadows jax
    )
    assert done.returncode == 0, done.stderr
    other, own = done.stdout.splitlines()
    path = tmp_path / "jax.py"
    assert other == (
        f"RuntimeError: boom from my jax (raised in {path}, imported as jax but not from an "
        "installed jax: rename or move that file)"
    )
    # jax's own row says where jax came from, once.
    assert (
        own
        == f"RuntimeError: boom from my jax (jax imported from {path}, not from an installed jax)"
    )


@pytest.mark.slow
def test_tensorflow_broken_by_a_users_jax_py_names_that_file(tmp_path: Path) -> None:
    if MemoryType.TENSORFLOW not in INSTALLED or MemoryType.JAX not in INSTALLED:
        pytest.skip("needs tensorflow and jax")
    (tmp_path / "jax.py").write_text('raise RuntimeError("boom from my jax")\n')
    types = ("numpy", "jax", "tensorflow")
    done = _run_with(tmp_path, "arrayport._doctor", types, ["doctor", "--json"])
    assert done.returncode == 1, done.stderr[-3000:]
    rows = {m["name"]: m["error"] for m in json.loads(done.stdout)["memory_types"]}
    if rows["tensorflow"] is None:
        pytest.skip("this tensorflow does not import jax")
    assert "boom from my jax" in rows["tensorflow"]
    assert f"(raised in {tmp_path / 'jax.py'}, imported as jax" in rows["tensorflow"]


def test_installed_frameworks_are_not_said_to_come_from_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for mt in INSTALLED:
        assert arrayport._doctor.foreign_origin(mt) is None, mt
    # Python 3.10's packages_distributions() reads only top_level.txt, which numpy and
    # pyclesperanto do not ship: both were said to be imported from elsewhere there.
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {})
    for mt in INSTALLED:
        if get_backend(mt).IMPORT_NAME in ("numpy", "pyclesperanto"):
            assert arrayport._doctor.foreign_origin(mt) is None, mt


def test_a_memory_type_that_cannot_load_has_a_memory_row_with_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It had none: the memory report covered only the frameworks already imported.
    if MemoryType.CUPY in INSTALLED:
        pytest.skip("cupy works here")
    types = (MemoryType.NUMPY, MemoryType.CUPY)
    monkeypatch.setattr(arrayport._doctor, "installed_memory_types", lambda: types)
    found = diagnose()
    assert found["ok"] is False
    assert [r["memory_type"] for r in found["memory"]] == ["numpy", "cupy"]
    assert found["memory"][1]["note"].startswith("not usable: BackendUnavailableError")


class _NoDriver:
    """A backend whose framework is installed (its module is found) but cannot be used here,
    as cupy's without a CUDA driver."""

    MEMORY_TYPE = MemoryType.CUPY
    IMPORT_NAME = "numpy"  # found by find_spec, and the installed one
    EXTRA = "cupy-cuda12"

    @staticmethod
    def is_installed() -> bool:
        return False

    @staticmethod
    def load() -> None:
        raise BackendUnavailableError("cupy is installed but cannot reach a CUDA device")


def _no_driver_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    real = arrayport._doctor.get_backend
    monkeypatch.setattr(
        arrayport._doctor,
        "get_backend",
        lambda mt: _NoDriver if mt is MemoryType.CUPY else real(mt),
    )


def test_a_framework_installed_but_not_usable_is_not_called_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pyclesperanto without an OpenCL platform (or after tensorflow), cupy without a CUDA
    # driver: "not installed", with a pip command that would change nothing.
    _no_driver_cupy(monkeypatch)
    monkeypatch.setattr(arrayport._doctor, "installed_memory_types", lambda: (MemoryType.NUMPY,))
    found = diagnose()
    assert found["not_usable"] == [
        {
            "name": "cupy",
            "error": "BackendUnavailableError: cupy is installed but cannot reach a CUDA device",
        }
    ]
    assert "cupy" not in [m["name"] for m in found["not_installed"]]
    assert found["ok"] is True  # the machine lacks a driver; the installation is sound
    assert [m["name"] for m in found["memory_types"]] == ["numpy"]


def test_pyclesperanto_without_an_opencl_platform_says_so(tmp_path: Path) -> None:
    if importlib.util.find_spec("pyclesperanto") is None:
        pytest.skip("pyclesperanto is not installed")
    vendors = tmp_path / "vendors"  # no ICD file: no OpenCL platform
    vendors.mkdir()
    script = (
        "import json, sys\n"
        "from arrayport import MemoryType, _doctor\n"
        "print(json.dumps(_doctor.not_usable((MemoryType.NUMPY,))), file=sys.stderr)\n"
    )
    done = python_c(script, env={**os.environ, "OCL_ICD_VENDORS": str(vendors)}, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stderr.splitlines()[-1])
    assert found["pyclesperanto"].startswith("BackendUnavailableError: pyclesperanto found no ")
    assert "apt-get install pocl-opencl-icd" in found["pyclesperanto"]


def test_an_error_without_a_message_is_named_with_where_it_was_raised() -> None:
    # JAX_PLATFORMS=cuda without jax's CUDA: the row said only "AssertionError: ".
    def backends() -> None:
        raise AssertionError  # as jax 0.10's `assert _default_backend is not None`

    try:
        backends()
    except AssertionError as exc:
        text = describe_error(MemoryType.NUMPY, exc)
    assert text == (
        f"AssertionError: (no message) raised at {__file__}:"
        f"{backends.__code__.co_firstlineno + 1} in backends: "
        "raise AssertionError  # as jax 0.10's `assert _default_backend is not None`"
    )


def test_an_import_failure_without_a_message_is_named_with_where_it_was_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bare `assert` failing while jax was imported: the backend wraps it in a
    # BackendUnavailableError whose message is never empty, so the row said only
    # "... importing it failed (AssertionError: ); ...", with no file or line.
    module = tmp_path / "arrayport_test_bare_assert.py"
    module.write_text("x = 1\nassert x == 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for explicit in (True, False):  # `raise ... from exc`, and raised while handling it
        try:
            try:
                importlib.import_module(module.stem)
            except AssertionError as exc:
                wrapper = BackendUnavailableError(f"importing it failed ({exc!r})")
                if explicit:
                    raise wrapper from exc
                raise wrapper  # noqa: B904 -- the implicit chain is what is tested
        except BackendUnavailableError as exc:
            text = describe_error(MemoryType.NUMPY, exc)
        assert text == (
            "BackendUnavailableError: importing it failed (AssertionError()) (AssertionError "
            f"(no message) raised at {module}:2 in <module>: assert x == 2)"
        ), explicit


def test_a_cause_with_a_message_or_a_suppressed_one_adds_nothing() -> None:
    def wrapped(inner: BaseException, suppress: bool) -> BaseException:
        try:
            try:
                raise inner
            except BaseException:
                if suppress:
                    raise BackendUnavailableError("gone") from None
                raise BackendUnavailableError("gone")  # noqa: B904
        except BackendUnavailableError as exc:
            return exc

    assert describe_error(MemoryType.NUMPY, wrapped(ValueError("x"), False)) == (
        "BackendUnavailableError: gone"
    )
    assert describe_error(MemoryType.NUMPY, wrapped(AssertionError(), True)) == (
        "BackendUnavailableError: gone"
    )
