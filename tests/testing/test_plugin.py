"""Tests of the pytest plugin, run as real pytest sessions in subprocesses.

Subprocesses, not pytester in-process: the plugin is loaded from the installed entry point
exactly as in a user's project, and the import-order guard gets a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arrayport import MemoryType
from tests.conftest import INSTALLED, skip_unless_installed

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, source: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(source), encoding="utf-8")
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ARRAYPORT_MEMORY_TYPES", "ARRAYPORT_DEVICE", "PYTEST_ADDOPTS")
    }
    environ.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            *args,
            str(tmp_path / "test_user.py"),
        ],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


_USES_FIXTURE = """
    def test_it(memory_type):
        assert memory_type.value
"""


def test_memory_type_fixture_runs_over_installed_types(tmp_path: Path) -> None:
    done = _run(tmp_path, _USES_FIXTURE, "--collect-only")
    assert done.returncode == 0, done.stdout + done.stderr
    for mt in INSTALLED:
        assert f"test_it[{mt.value}]" in done.stdout
    n = len(INSTALLED)
    assert f"{n} {'test' if n == 1 else 'tests'} collected" in done.stdout


def test_environment_narrows_the_memory_types(tmp_path: Path) -> None:
    done = _run(tmp_path, _USES_FIXTURE, ARRAYPORT_MEMORY_TYPES="numpy, torch")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout or ("1 passed" in done.stdout and "1 skipped" in done.stdout)


def test_named_but_missing_type_is_skipped_with_the_extra(tmp_path: Path) -> None:
    if MemoryType.CUPY in INSTALLED:
        pytest.skip("cupy is installed here")
    done = _run(tmp_path, _USES_FIXTURE, ARRAYPORT_MEMORY_TYPES="numpy,cupy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 skipped" in done.stdout
    assert "arrayport[cupy-cuda12]" in done.stdout  # the extras that exist
    assert "arrayport[cupy]" not in done.stdout


def test_bad_settings_are_usage_errors(tmp_path: Path) -> None:
    done = _run(tmp_path, _USES_FIXTURE, ARRAYPORT_MEMORY_TYPES="numpy,nupmy")
    assert done.returncode == 4
    assert "'nupmy' is not a memory type" in done.stderr
    done = _run(tmp_path, _USES_FIXTURE, ARRAYPORT_DEVICE="tpu")
    assert done.returncode == 4
    assert "ARRAYPORT_DEVICE='tpu'" in done.stderr
    done = _run(tmp_path, _USES_FIXTURE, ARRAYPORT_DEVICE="cuda:x")
    assert done.returncode == 4
    assert "ARRAYPORT_DEVICE='cuda:x'" in done.stderr
    done = _run(tmp_path, _USES_FIXTURE, ARRAYPORT_MEMORY_TYPES=" , ")
    assert done.returncode == 4  # not an empty run that skips everything
    assert "names no memory type" in done.stderr


def test_cuda_device_skips_what_cannot_be_on_cuda(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        _USES_FIXTURE,
        ARRAYPORT_MEMORY_TYPES="numpy,pyclesperanto",
        ARRAYPORT_DEVICE="cuda",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 skipped" in done.stdout
    assert "numpy cannot hold data on a CUDA GPU" in done.stdout


def test_projects_own_fixture_wins(tmp_path: Path) -> None:
    source = """
        import pytest

        @pytest.fixture
        def memory_type():
            return "mine"

        def test_it(memory_type):
            assert memory_type == "mine"
    """
    done = _run(tmp_path, source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_plugin_leaves_other_tests_alone(tmp_path: Path) -> None:
    done = _run(tmp_path, "def test_plain():\n    assert True\n", "-p", "no:randomly")
    assert done.returncode == 0
    assert "1 passed" in done.stdout


@skip_unless_installed(MemoryType.TORCH)  # its torch case fails on purpose
def test_report_option_writes_markdown_and_html(tmp_path: Path) -> None:
    source = """
        import pytest

        @pytest.mark.arrayport_law("demo.law", description="a demo law")
        def test_law(memory_type):
            assert memory_type.value != "torch"

        @pytest.mark.arrayport_law("demo.known")
        @pytest.mark.xfail(strict=True, reason="known bug 42")
        def test_known():
            raise AssertionError

        def test_unrelated():
            pass
    """
    out = tmp_path / "out" / "report.md"
    done = _run(
        tmp_path,
        source,
        f"--arrayport-report={out}",
        "--strict-markers",
        ARRAYPORT_MEMORY_TYPES="numpy,torch",
    )
    assert done.returncode == 1  # the torch case fails on purpose
    assert "arrayport report written to" in done.stdout
    md = out.read_text(encoding="utf-8")
    assert "| law | numpy | torch | (any) |" in md
    assert "| **demo.law**<br>a demo law | pass 1/1 | FAIL 0/1 | - |" in md
    assert "known bug 42" in md
    assert "test_unrelated" not in md
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert "#e57373" in html
    assert "#81c784" in html


def test_the_report_records_a_module_that_fails_to_collect(tmp_path: Path) -> None:
    # A law module that failed to import left no trace: the report showed only what ran.
    (tmp_path / "test_broken.py").write_text(
        "import module_that_does_not_exist\n", encoding="utf-8"
    )
    source = """
        import pytest

        @pytest.mark.arrayport_law("demo.ok")
        def test_ok(memory_type):
            pass
    """
    out = tmp_path / "report.md"
    done = _run(
        tmp_path,
        source,
        str(tmp_path / "test_broken.py"),
        "--continue-on-collection-errors",
        f"--arrayport-report={out}",
        ARRAYPORT_MEMORY_TYPES="numpy",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    md = out.read_text(encoding="utf-8")
    assert "- tests: 1 error, 1 passed" in md
    assert "| **(collection) test_broken.py**<br>failed to collect | - | ERROR 0/1 |" in md
    assert "No module named 'module_that_does_not_exist'" in md


@skip_unless_installed(MemoryType.TENSORFLOW)
@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_plugin_imports_arrayport_before_any_framework(tmp_path: Path) -> None:
    # tensorflow then pyclesperanto kills the process on PoCL unless arrayport (loaded by
    # the plugin before this module is imported) got there first.
    source = """
        import tensorflow
        import pyclesperanto as cle

        def test_both():
            assert cle.pull(cle.push([1, 2, 3])).tolist() == [1, 2, 3]
    """
    done = _run(tmp_path, source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_report_refuses_xdist_rather_than_writing_an_empty_table(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    out = tmp_path / "report.md"
    done = _run(tmp_path, "def test_a():\n    pass\n", "-n", "2", f"--arrayport-report={out}")
    assert done.returncode == 4  # a usage error
    assert "--arrayport-report needs a run without pytest-xdist" in done.stderr
    assert not out.exists()


# --- from an audit of the testing helpers (session 14) ---


def test_memory_types_set_by_a_conftest_reach_the_fixture(tmp_path: Path) -> None:
    # The fixture's parameters were read when the plugin was imported, before any
    # conftest.py ran: one setting ARRAYPORT_MEMORY_TYPES narrowed assert_equivalent but
    # not the fixture. A conftest.py loaded during collection (a subdirectory's) too.
    setting = "import os\nos.environ['ARRAYPORT_MEMORY_TYPES'] = 'numpy,{}'\n"
    (tmp_path / "conftest.py").write_text(setting.format("cupy"), encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "conftest.py").write_text(setting.format("cupy,numpy"), encoding="utf-8")
    (sub / "test_sub.py").write_text(textwrap.dedent(_USES_FIXTURE), encoding="utf-8")
    done = _run(tmp_path, _USES_FIXTURE, str(sub), "--collect-only")
    assert done.returncode == 0, done.stdout + done.stderr
    for test in ("test_user.py::test_it", "sub/test_sub.py::test_it"):
        assert f"{test}[numpy]" in done.stdout
        assert f"{test}[cupy]" in done.stdout
    assert "4 tests collected" in done.stdout
    assert "[torch]" not in done.stdout


def test_a_bad_setting_from_a_late_conftest_is_named(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "conftest.py").write_text(
        "import os\nos.environ['ARRAYPORT_MEMORY_TYPES'] = 'numpy,nupmy'\n", encoding="utf-8"
    )
    (sub / "test_sub.py").write_text(textwrap.dedent(_USES_FIXTURE), encoding="utf-8")
    done = _run(tmp_path, _USES_FIXTURE, str(sub))
    assert done.returncode != 0
    assert "'nupmy' is not a memory type" in done.stdout + done.stderr


def test_a_tests_own_parametrization_of_memory_type_wins(tmp_path: Path) -> None:
    source = """
        import pytest

        @pytest.mark.parametrize("memory_type", ["numpy"], indirect=True)
        def test_indirect(memory_type):
            assert memory_type.value == "numpy"

        @pytest.mark.parametrize("memory_type", ["mine"])
        def test_direct(memory_type):
            assert memory_type == "mine"
    """
    done = _run(tmp_path, source, "-v")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_report_names_the_hypothesis_profile_the_run_loaded(tmp_path: Path) -> None:
    # It named ARRAYPORT_HYPOTHESIS_PROFILE (default "ci"), which only the conformance
    # suite's conftest reads: a project's run reported "ci" whatever profile it loaded.
    (tmp_path / "conftest.py").write_text(
        "from hypothesis import settings\n"
        # Every setting shown is given: a new profile inherits the loaded one's (hypothesis
        # loads its "ci" profile, derandomized, where CI is set).
        "settings.register_profile('mine', max_examples=5, derandomize=False, deadline=None)\n"
        "settings.load_profile('mine')\n",
        encoding="utf-8",
    )
    source = """
        from hypothesis import given, strategies as st

        @given(st.integers())
        def test_drawn(memory_type, n):
            pass
    """
    out = tmp_path / "report.md"
    done = _run(
        tmp_path,
        source,
        f"--arrayport-report={out}",
        ARRAYPORT_MEMORY_TYPES="numpy",
        ARRAYPORT_HYPOTHESIS_PROFILE="thorough",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    md = out.read_text(encoding="utf-8")
    assert "- hypothesis profile: mine (max_examples=5, derandomize=False, deadline=None)" in md


# --- from an audit of the testing kit (session 19) ---


def test_a_law_marker_without_a_name_is_a_usage_error(tmp_path: Path) -> None:
    # The registered signature is arrayport_law(name, description=None): a marker with only
    # a description made one report row per memory type, named test_bare[numpy], ...
    source = """
        import pytest

        @pytest.mark.arrayport_law(description="bare marker")
        def test_bare(memory_type):
            pass
    """
    out = tmp_path / "report.md"
    for args in ((), (f"--arrayport-report={out}",)):  # refused with or without a report
        done = _run(tmp_path, source, *args, ARRAYPORT_MEMORY_TYPES="numpy,torch")
        assert done.returncode == 4, done.stdout + done.stderr
        assert "@pytest.mark.arrayport_law on test_user.py::test_bare[numpy]" in done.stderr
        assert 'give the law\'s name first, arrayport_law("name"' in done.stderr


@skip_unless_installed(MemoryType.TORCH)
def test_a_law_named_by_keyword_is_one_row_across_memory_types(tmp_path: Path) -> None:
    # name= was ignored: each memory type made its own row, named test_keyword[numpy], ...
    source = """
        import pytest

        @pytest.mark.arrayport_law(name="demo.keyword", description="named by keyword")
        def test_keyword(memory_type):
            pass
    """
    out = tmp_path / "report.md"
    done = _run(tmp_path, source, f"--arrayport-report={out}", ARRAYPORT_MEMORY_TYPES="numpy,torch")
    assert done.returncode == 0, done.stdout + done.stderr
    md = out.read_text(encoding="utf-8")
    assert "| **demo.keyword**<br>named by keyword | pass 1/1 | pass 1/1 |" in md
    assert "test_keyword" not in md


def test_an_xpass_in_the_report_names_the_xfail_reason(tmp_path: Path) -> None:
    # An XPASS was listed under "Failures and known bugs" with an empty message: the
    # reason (the known bug that seems fixed) was kept for xfailed tests only.
    source = """
        import pytest

        @pytest.mark.xfail(reason="known thing")
        def test_xf(memory_type):
            assert memory_type.value == "numpy"
    """
    out = tmp_path / "report.md"
    done = _run(tmp_path, source, f"--arrayport-report={out}", ARRAYPORT_MEMORY_TYPES="numpy")
    assert done.returncode == 0, done.stdout + done.stderr
    md = out.read_text(encoding="utf-8")
    assert "- **xpassed** `test_user.py::test_xf[numpy]`: known thing" in md
    assert "known thing" in out.with_suffix(".html").read_text(encoding="utf-8")


def test_the_message_of_an_xfailed_or_xpassed_report_is_the_reason() -> None:
    from arrayport.testing.plugin import _message

    for outcome in ("skipped", "passed"):  # xfailed, xpassed
        report = pytest.TestReport("t.py::f", ("t.py", 0, "f"), {}, outcome, None, "call")
        report.wasxfail = "bug 7"  # type: ignore[attr-defined]
        assert _message(report) == "bug 7"
